package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** One-vs-all logistic loss averaged over the classes (last dim), like {@code torch.nn.MultiLabelSoftMarginLoss(weight=None, reduction)}. */
public class MultiLabelSoftMarginLoss extends Loss {
    private final Tensor weight;

    public MultiLabelSoftMarginLoss() {
        this(null, "mean");
    }

    public MultiLabelSoftMarginLoss(Tensor weight, String reduction) {
        super(reduction);
        this.weight = weight;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.multilabelSoftMarginLoss(input, target, weight, reduction);
    }
}
