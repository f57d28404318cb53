package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code max(0, -y (x1 - x2) + margin)}, like {@code torch.nn.MarginRankingLoss(margin=0, reduction)}; call {@code forward(input1, input2, target)}. */
public class MarginRankingLoss extends Loss {
    private final double margin;

    public MarginRankingLoss() {
        this(0.0, "mean");
    }

    public MarginRankingLoss(double margin, String reduction) {
        super(reduction);
        this.margin = margin;
    }

    public Tensor forward(Tensor input1, Tensor input2, Tensor target) {
        return F.marginRankingLoss(input1, input2, target, margin, reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        throw new IllegalArgumentException("MarginRankingLoss takes three tensors: call forward(input1, input2, target)");
    }
}
