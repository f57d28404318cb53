package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code x <= 0 ? alpha (e^(x / alpha) - 1) : x}, like {@code torch.nn.CELU} (alpha 1 by default, 0 refused). */
public class CELU extends Module {
    private final double alpha;

    public CELU() {
        this(1.0);
    }

    public CELU(double alpha) {
        if (alpha == 0 || Double.isNaN(alpha)) {
            throw new IllegalArgumentException("CELU: alpha cannot be " + alpha);
        }
        this.alpha = alpha;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.celu(input, alpha);
    }

    @Override
    public String extraRepr() {
        return "alpha=" + Repr.pyFloat(alpha);
    }
}
