package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** min(max(x + 3, 0), 6) / 6, like {@code torch.nn.Hardsigmoid}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Hardsigmoid extends Module {
    private final boolean inplace;

    public Hardsigmoid() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public Hardsigmoid(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.hardsigmoid_() : input.hardsigmoid();
    }

    // torch's Hardsigmoid prints no inplace: "Hardsigmoid()" either way
}
