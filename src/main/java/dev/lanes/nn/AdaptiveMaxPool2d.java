package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Adaptive max pooling to a fixed output size, like {@code torch.nn.AdaptiveMaxPool2d} (return_indices false). */
public class AdaptiveMaxPool2d extends Module {
    private final int[] outputSize;

    public AdaptiveMaxPool2d(int... outputSize) {
        if (outputSize.length != 1 && outputSize.length != 2) {
            throw new IllegalArgumentException("output_size must be one int or a pair");
        }
        this.outputSize = outputSize.clone();
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.adaptiveMaxPool2d(input, outputSize);
    }

    @Override
    public String extraRepr() {
        return "output_size=" + Repr.intOrTuple(outputSize);
    }
}
