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

    public Dropout2d() {
        this(0.5);
    }

    public Dropout2d(double p) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        this.p = p;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.dropout2d(input, p, isTraining());
    }

    @Override
    public String extraRepr() {
        return "p=" + Repr.pyFloat(p) + ", inplace=False";
    }
}
