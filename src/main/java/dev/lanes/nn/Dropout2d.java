package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * Channel dropout, like {@code torch.nn.Dropout2d}: while training each channel of each sample ({@code [N, C, H, W]})
 * is zeroed whole with probability p, the rest scaled by {@code 1 / (1 - p)}; the mask is drawn from Lanes' seed
 * ({@link dev.lanes.Lanes#manualSeed}) as Dropout's. See {@link F#dropout2d}.
 */
public class Dropout2d extends Module {
    private final double p;
    private final boolean inplace;

    public Dropout2d() {
        this(0.5);
    }

    public Dropout2d(double p) {
        this(p, false);
    }

    /** {@code inplace}: while training the input itself is multiplied by the mask (MulBackward0; out of place while a plan traces). */
    public Dropout2d(double p, boolean inplace) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        this.p = p;
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.dropout2d(input, p, isTraining(), inplace && !dev.lanes.InferencePlan.tracing());
    }

    @Override
    public String extraRepr() {
        return "p=" + Repr.pyFloat(p) + ", inplace=" + (inplace ? "True" : "False");
    }
}
