package dev.lanes.nn;

import dev.lanes.Tensor;

/** Runs its modules in order, like {@code torch.nn.Sequential}; they are registered as "0", "1", ... */
public class Sequential extends Module {
    private final Module[] layers;

    public Sequential(Module... layers) {
        this.layers = layers.clone();
        for (int i = 0; i < layers.length; i++) {
            register(Integer.toString(i), layers[i]);
        }
    }

    public Module get(int index) {
        return layers[index];
    }

    public int size() {
        return layers.length;
    }

    @Override
    public Tensor forward(Tensor input) {
        Tensor x = input;
        for (Module m : layers) {
            x = m.forward(x);
        }
        return x;
    }
}
