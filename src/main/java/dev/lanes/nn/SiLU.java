package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** x * sigmoid(x), like {@code torch.nn.SiLU}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class SiLU extends Module {
    private final boolean inplace;

    public SiLU() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public SiLU(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.silu_() : input.silu();
    }

    @Override
    public String extraRepr() {
        return inplace ? "inplace=True" : "";
    }
}
