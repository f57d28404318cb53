package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * KL divergence of log-probabilities from a target distribution, like {@code torch.nn.KLDivLoss}: reduction "mean"
 * (default, over every element, as PyTorch), "batchmean" (the sum over the batch size: the true KL mean), "sum" or
 * "none"; {@code logTarget} when the target holds log-probabilities.
 */
public class KLDivLoss extends Loss {
    private final boolean logTarget;

    public KLDivLoss() {
        this("mean", false);
    }

    public KLDivLoss(String reduction, boolean logTarget) {
        super(reduction, "batchmean");
        this.logTarget = logTarget;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.klDiv(input, target, reduction, logTarget);
    }
}
