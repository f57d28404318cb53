package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code 1 - cos(x1, x2)} for y = 1, {@code max(0, cos(x1, x2) - margin)} for y = -1, like {@code torch.nn.CosineEmbeddingLoss(margin=0, reduction)}; call {@code forward(input1, input2, target)}. */
public class CosineEmbeddingLoss extends Loss {
    private final double margin;

    public CosineEmbeddingLoss() {
        this(0.0, "mean");
    }

    public CosineEmbeddingLoss(double margin, String reduction) {
        super(reduction);
        this.margin = margin;
    }

    public Tensor forward(Tensor input1, Tensor input2, Tensor target) {
        return F.cosineEmbeddingLoss(input1, input2, target, margin, reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        throw new IllegalArgumentException("CosineEmbeddingLoss takes three tensors: call forward(input1, input2, target)");
    }
}
