package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/** Negative log-likelihood of log-probabilities against int64 class indices, like {@code torch.nn.NLLLoss}. */
public class NLLLoss extends Loss {
    private final Tensor weight;
    private final int ignoreIndex;

    public NLLLoss() {
        this(null, F.IGNORE_INDEX, "mean");
    }

    public NLLLoss(Tensor weight, int ignoreIndex, String reduction) {
        super(reduction);
        try (MemoryScope s = owned()) {
            this.weight = weight == null ? null : registerBuffer("weight", weight.clone());
        }
        this.ignoreIndex = ignoreIndex;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.nllLoss(input, target, weight, ignoreIndex, reduction);
    }
}
