package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;

/**
 * Layer normalisation over the last dims, like {@code torch.nn.LayerNorm(normalized_shape, eps=1e-5,
 * elementwise_affine=True)}: each slice of {@code normalizedShape} elements is normalised with its own mean and
 * biased variance, then scaled by {@code weight} (ones) and shifted by {@code bias} (zeros). One fused kernel each
 * way; a plan step in an inference plan.
 */
public class LayerNorm extends Module {
    private final int[] normalizedShape;
    public final double eps;
    public final boolean elementwiseAffine;
    public final Tensor weight;
    public final Tensor bias;

    public LayerNorm(int... normalizedShape) {
        this(normalizedShape, 1e-5, true);
    }

    public LayerNorm(int[] normalizedShape, double eps, boolean elementwiseAffine) {
        if (normalizedShape.length == 0) {
            throw new IllegalArgumentException("LayerNorm: normalized_shape must have at least one dim");
        }
        for (int d : normalizedShape) {
            if (d <= 0) {
                throw new IllegalArgumentException("LayerNorm: normalized_shape must be positive, got " + java.util.Arrays.toString(normalizedShape));
            }
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("LayerNorm: eps must be a finite non-negative number, got " + eps);
        }
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.elementwiseAffine = elementwiseAffine;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", elementwiseAffine ? Tensor.ones(normalizedShape) : null);
            this.bias = registerParameter("bias", elementwiseAffine ? Tensor.zeros(normalizedShape) : null);
        }
    }

    public int[] normalizedShape() {
        return normalizedShape.clone();
    }

    @Override
    public Tensor forward(Tensor input) {
        return Tensor.layerNorm(input, normalizedShape, weight, bias, eps);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < normalizedShape.length; i++) {
            s.append(normalizedShape[i]).append(i == 0 && normalizedShape.length == 1 ? "," : i + 1 < normalizedShape.length ? ", " : "");
        }
        return s.append("), eps=").append(Repr.pyFloat(eps)).append(", elementwise_affine=").append(elementwiseAffine ? "True" : "False").toString();
    }
}
