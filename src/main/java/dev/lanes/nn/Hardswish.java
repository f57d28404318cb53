package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** x min(max(x + 3, 0), 6) / 6, like {@code torch.nn.Hardswish}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Hardswish extends Module {
    private final boolean inplace;

    public Hardswish() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public Hardswish(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.hardswish_() : input.hardswish();
    }

    // torch's Hardswish prints no inplace: "Hardswish()" either way
}
