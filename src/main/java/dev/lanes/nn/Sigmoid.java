package dev.lanes.nn;

import dev.lanes.Tensor;

/** 1 / (1 + exp(-x)), like {@code torch.nn.Sigmoid}. */
public class Sigmoid extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.sigmoid();
    }
}
