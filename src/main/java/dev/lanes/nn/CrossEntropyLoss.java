package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * Cross-entropy of logits against int64 class indices, fused log-softmax + NLL, like {@code torch.nn.CrossEntropyLoss}:
 * optional per-class weight, ignore index (default -100), label smoothing and reduction. Scores {@code [N, C]}, {@code [C]}
 * or spatial {@code [N, C, d1, ..., dK]} against {@code [N, d1, ..., dK]} indices; a float target of the input's shape
 * holds class probabilities instead.
 */
public class CrossEntropyLoss extends Loss {
    private final Tensor weight;
    private final int ignoreIndex;
    private final double labelSmoothing;

    public CrossEntropyLoss() {
        this(null, F.IGNORE_INDEX, 0.0, "mean");
    }

    public CrossEntropyLoss(Tensor weight, int ignoreIndex, double labelSmoothing, String reduction) {
        super(reduction);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw new IllegalArgumentException("label_smoothing must be between 0.0 and 1.0. Got: " + labelSmoothing);
        }
        try (MemoryScope s = owned()) {
            this.weight = weight == null ? null : registerBuffer("weight", weight.clone());
        }
        this.ignoreIndex = ignoreIndex;
        this.labelSmoothing = labelSmoothing;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.crossEntropy(input, target, weight, ignoreIndex, labelSmoothing, reduction);
    }
}
