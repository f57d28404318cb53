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

    /** The layer at {@code index}; a negative one counts from the end, as PyTorch's {@code seq[-1]}. */
    public Module get(int index) {
        if (index < -layers.length || index >= layers.length) {
            throw new IndexOutOfBoundsException("index " + index + " is out of range for a Sequential of " + layers.length);
        }
        return layers[index < 0 ? index + layers.length : index];
    }

    public int size() {
        return layers.length;
    }

    /** In {@code Autograd.inferenceMode()} each intermediate output is released as soon as the next layer has used it. */
    @Override
    public Tensor forward(Tensor input) {
        boolean release = dev.lanes.autograd.Autograd.isInferenceMode();
        Tensor x = input;
        for (Module m : layers) {
            Tensor y = m.forward(x);
            if (release && x != input && x != y) {
                x.close(); // a view the layer returned keeps its own reference to the storage
            }
            x = y;
        }
        return x;
    }
}
