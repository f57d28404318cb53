package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code max(0, d(a, p) - d(a, n) + margin)} with pairwise p-norm distances, like {@code torch.nn.TripletMarginLoss(margin=1, p=2, eps=1e-6, swap=False, reduction)}; call {@code forward(anchor, positive, negative)}. */
public class TripletMarginLoss extends Loss {
    private final double margin;
    private final double p;
    private final double eps;
    private final boolean swap;

    public TripletMarginLoss() {
        this(1.0, 2.0, 1e-6, false, "mean");
    }

    public TripletMarginLoss(double margin, double p, double eps, boolean swap, String reduction) {
        super(reduction);
        this.margin = margin;
        this.p = p;
        this.eps = eps;
        this.swap = swap;
    }

    public Tensor forward(Tensor anchor, Tensor positive, Tensor negative) {
        return F.tripletMarginLoss(anchor, positive, negative, margin, p, eps, swap, reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        throw new IllegalArgumentException("TripletMarginLoss takes three tensors: call forward(anchor, positive, negative)");
    }
}
