package dev.lanes.nn;

import dev.lanes.InferencePlan;
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

    private final boolean inplace;

    public LeakyReLU(double negativeSlope) {
        this(negativeSlope, false);
    }

    /** {@code inplace}: the input itself is rewritten (LeakyReluBackward1; out of place while a plan traces). */
    public LeakyReLU(double negativeSlope, boolean inplace) {
        this.negativeSlope = negativeSlope;
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.leakyRelu_(negativeSlope) : input.leakyRelu(negativeSlope);
    }

    @Override
    public String extraRepr() {
        return "negative_slope=" + Repr.pyFloat(negativeSlope) + (inplace ? ", inplace=True" : "");
    }
}
