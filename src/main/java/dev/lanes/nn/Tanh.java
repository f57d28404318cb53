package dev.lanes.nn;

import dev.lanes.Tensor;

/** tanh(x), like {@code torch.nn.Tanh}. */
public class Tanh extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.tanh();
    }
}
