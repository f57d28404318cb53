package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code log(1 + exp(-y x))}, like {@code torch.nn.SoftMarginLoss(reduction)}. */
public class SoftMarginLoss extends Loss {
    public SoftMarginLoss() {
        this("mean");
    }

    public SoftMarginLoss(String reduction) {
        super(reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.softMarginLoss(input, target, reduction);
    }
}
