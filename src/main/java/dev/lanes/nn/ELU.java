package dev.lanes.nn;

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

    public ELU(double alpha) {
        this.alpha = alpha;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.elu(alpha);
    }

    @Override
    public String extraRepr() {
        return "alpha=" + Repr.pyFloat(alpha);
    }
}
