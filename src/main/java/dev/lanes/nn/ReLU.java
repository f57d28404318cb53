package dev.lanes.nn;

import dev.lanes.Tensor;

/** max(x, 0), like {@code torch.nn.ReLU}. */
public class ReLU extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.relu();
    }
}
