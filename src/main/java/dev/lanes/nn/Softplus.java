package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * {@code log(1 + e^(beta x)) / beta}, x itself where {@code beta x > threshold}, like {@code torch.nn.Softplus} (beta 1,
 * threshold 20 by default). The repr prints the arguments as Python would: {@code Softplus(beta=1, threshold=20)} for
 * the int constructor, {@code beta=2.0} for the double one. Fuses into a preceding Linear or Conv2d in an inference plan.
 */
public class Softplus extends Module {
    private final double beta;
    private final double threshold;
    private final String repr;

    public Softplus() {
        this(1, 20);
    }

    public Softplus(int beta, int threshold) {
        this.beta = beta;
        this.threshold = threshold;
        this.repr = "beta=" + beta + ", threshold=" + threshold;
    }

    public Softplus(double beta, double threshold) {
        this.beta = beta;
        this.threshold = threshold;
        this.repr = "beta=" + Repr.pyFloat(beta) + ", threshold=" + Repr.pyFloat(threshold);
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.softplus(beta, threshold);
    }

    @Override
    public String extraRepr() {
        return repr;
    }
}
