package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/** Binary cross-entropy on logits (sigmoid fused, stable), like {@code torch.nn.BCEWithLogitsLoss}. */
public class BCEWithLogitsLoss extends Loss {
    private final Tensor weight;
    private final Tensor posWeight;

    public BCEWithLogitsLoss() {
        this(null, null, "mean");
    }

    public BCEWithLogitsLoss(Tensor weight, Tensor posWeight, String reduction) {
        super(reduction);
        try (MemoryScope s = owned()) {
            this.weight = weight == null ? null : registerBuffer("weight", weight.clone());
            this.posWeight = posWeight == null ? null : registerBuffer("pos_weight", posWeight.clone());
        }
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.binaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction);
    }
}
