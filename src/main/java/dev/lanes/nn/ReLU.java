package dev.lanes.nn;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;

/** max(x, 0), like {@code torch.nn.ReLU}. */
public class ReLU extends Module {
    private final boolean inplace;

    public ReLU() {
        this(false);
    }

    /** {@code inplace}: the input itself is rewritten (out of place while a plan traces: {@link dev.lanes.InferencePlan#tracing}). */
    public ReLU(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor input) {
        return inplace && !InferencePlan.tracing() ? input.relu_() : input.relu();
    }

    @Override
    public String extraRepr() {
        return inplace ? "inplace=True" : "";
    }
}
