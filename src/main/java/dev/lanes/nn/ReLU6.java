package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** min(max(x, 0), 6), like {@code torch.nn.ReLU6}: hardtanh(x, 0, 6). Fuses into a preceding Linear or Conv2d in an inference plan. */
public class ReLU6 extends Module {
    private final boolean inplace;

    public ReLU6() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public ReLU6(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.relu6_() : input.relu6();
    }

    @Override
    public String extraRepr() {
        return inplace ? "inplace=True" : "";
    }
}
