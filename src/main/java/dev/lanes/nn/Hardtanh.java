package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/**
 * x limited to {@code [min_val, max_val]}, like {@code torch.nn.Hardtanh} (-1, 1 by default); like PyTorch's module it
 * refuses {@code max_val <= min_val} (F.hardtanh does not: it clamps as torch.clamp does). Fuses into a preceding
 * Linear or Conv2d in an inference plan.
 */
public class Hardtanh extends Module {
    private final double minVal;
    private final double maxVal;
    private final String repr;
    private final boolean inplace;

    public Hardtanh() {
        this(-1.0, 1.0);
    }

    public Hardtanh(double minVal, double maxVal) {
        this(minVal, maxVal, false);
    }

    /** {@code inplace}: the input itself is rewritten (HardtanhBackward0 over a copy of it; out of place while a plan traces). */
    public Hardtanh(double minVal, double maxVal, boolean inplace) {
        this(minVal, maxVal, "min_val=" + Repr.pyFloat(minVal) + ", max_val=" + Repr.pyFloat(maxVal) + (inplace ? ", inplace=True" : ""), inplace);
    }

    public Hardtanh(int minVal, int maxVal, boolean inplace) {
        this(minVal, maxVal, "min_val=" + minVal + ", max_val=" + maxVal + (inplace ? ", inplace=True" : ""), inplace);
    }

    /** Python prints int bounds without a decimal point: {@code Hardtanh(min_val=-2, max_val=3)}. */
    public Hardtanh(int minVal, int maxVal) {
        this(minVal, maxVal, "min_val=" + minVal + ", max_val=" + maxVal);
    }

    Hardtanh(double minVal, double maxVal, String repr) {
        this(minVal, maxVal, repr, false);
    }

    Hardtanh(double minVal, double maxVal, String repr, boolean inplace) {
        if (!(maxVal > minVal)) {
            throw new IllegalArgumentException("Hardtanh: max_val must be greater than min_val, got min_val=" + Repr.pyFloat(minVal)
                    + ", max_val=" + Repr.pyFloat(maxVal));
        }
        this.minVal = minVal;
        this.maxVal = maxVal;
        this.repr = repr;
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.hardtanh_(minVal, maxVal) : input.hardtanh(minVal, maxVal);
    }

    @Override
    public String extraRepr() {
        return repr;
    }
}
