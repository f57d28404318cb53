package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Zeroes elements with probability p while training and scales the rest by 1 / (1 - p), like {@code torch.nn.Dropout}. */
public class Dropout extends Module {
    private final double p;
    private final boolean inplace;

    public Dropout() {
        this(0.5);
    }

    public Dropout(double p) {
        this(p, false);
    }

    /** {@code inplace}: while training the input itself is multiplied by the mask (MulBackward0; out of place while a plan traces). */
    public Dropout(double p, boolean inplace) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        this.p = p;
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.dropout(input, p, isTraining(), inplace && !dev.lanes.InferencePlan.tracing());
    }

    @Override
    public String extraRepr() {
        return "p=" + Repr.pyFloat(p) + ", inplace=" + (inplace ? "True" : "False");
    }
}
