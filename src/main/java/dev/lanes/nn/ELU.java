package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/**
 * {@code x > 0 ? x : alpha * (e^x - 1)}, like {@code torch.nn.ELU} (alpha 1 by default). Fuses into a preceding Linear or
 * Conv2d in an inference plan.
 */
public class ELU extends Module {
    private final double alpha;

    public ELU() {
        this(1.0);
    }

    private final boolean inplace;

    public ELU(double alpha) {
        this(alpha, false);
    }

    /** {@code inplace}: the input itself is rewritten (EluBackward1; out of place while a plan traces). */
    public ELU(double alpha, boolean inplace) {
        this.alpha = alpha;
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.elu_(alpha) : input.elu(alpha);
    }

    @Override
    public String extraRepr() {
        return "alpha=" + Repr.pyFloat(alpha) + (inplace ? ", inplace=True" : "");
    }
}
