package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/** Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100), like {@code torch.nn.BCELoss}. */
public class BCELoss extends Loss {
    private final Tensor weight;

    public BCELoss() {
        this(null, "mean");
    }

    public BCELoss(Tensor weight, String reduction) {
        super(reduction);
        try (MemoryScope s = owned()) {
            this.weight = weight == null ? null : registerBuffer("weight", weight.clone());
        }
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.binaryCrossEntropy(input, target, weight, reduction);
    }
}
