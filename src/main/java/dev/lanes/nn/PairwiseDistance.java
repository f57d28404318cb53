package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code ||x1 - x2 + eps||_p} over the last dim, like {@code torch.nn.PairwiseDistance(p=2, eps=1e-6, keepdim=False)}; call {@code forward(x1, x2)}. */
public class PairwiseDistance extends Module {
    private final double p;
    private final double eps;
    private final boolean keepdim;

    public PairwiseDistance() {
        this(2.0, 1e-6, false);
    }

    public PairwiseDistance(double p, double eps, boolean keepdim) {
        this.p = p;
        this.eps = eps;
        this.keepdim = keepdim;
    }

    public Tensor forward(Tensor x1, Tensor x2) {
        return F.pairwiseDistance(x1, x2, p, eps, keepdim);
    }

    @Override
    public Tensor forward(Tensor input) {
        throw new IllegalArgumentException("PairwiseDistance takes two inputs: call forward(x1, x2)");
    }
}
