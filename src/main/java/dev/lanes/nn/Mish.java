package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** x * tanh(softplus(x)), like {@code torch.nn.Mish}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Mish extends Module {
    private final boolean inplace;

    public Mish() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public Mish(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.mish_() : input.mish();
    }

    @Override
    public String extraRepr() {
        return inplace ? "inplace=True" : "";
    }
}
