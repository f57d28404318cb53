package dev.lanes.nn;

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

    public Hardtanh() {
        this(-1.0, 1.0);
    }

    public Hardtanh(double minVal, double maxVal) {
        this(minVal, maxVal, "min_val=" + Repr.pyFloat(minVal) + ", max_val=" + Repr.pyFloat(maxVal));
    }

    /** Python prints int bounds without a decimal point: {@code Hardtanh(min_val=-2, max_val=3)}. */
    public Hardtanh(int minVal, int maxVal) {
        this(minVal, maxVal, "min_val=" + minVal + ", max_val=" + maxVal);
    }

    Hardtanh(double minVal, double maxVal, String repr) {
        if (!(maxVal > minVal)) {
            throw new IllegalArgumentException("Hardtanh: max_val must be greater than min_val, got min_val=" + Repr.pyFloat(minVal)
                    + ", max_val=" + Repr.pyFloat(maxVal));
        }
        this.minVal = minVal;
        this.maxVal = maxVal;
        this.repr = repr;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.hardtanh(minVal, maxVal);
    }

    @Override
    public String extraRepr() {
        return repr;
    }
}
