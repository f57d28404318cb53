package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * {@code x > 0 ? x : negative_slope * x}, like {@code torch.nn.LeakyReLU} (slope 0.01 by default). Fuses into a preceding
 * Linear or Conv2d in an inference plan.
 */
public class LeakyReLU extends Module {
    private final double negativeSlope;

    public LeakyReLU() {
        this(0.01);
    }

    public LeakyReLU(double negativeSlope) {
        this.negativeSlope = negativeSlope;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.leakyRelu(negativeSlope);
    }

    @Override
    public String extraRepr() {
        return "negative_slope=" + Repr.pyFloat(negativeSlope);
    }
}
