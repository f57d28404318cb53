package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Cosine similarity along {@code dim} (1) with norms clamped at {@code eps} (1e-8), like {@code torch.nn.CosineSimilarity}; call {@code forward(x1, x2)}. */
public class CosineSimilarity extends Module {
    private final int dim;
    private final double eps;

    public CosineSimilarity() {
        this(1, 1e-8);
    }

    public CosineSimilarity(int dim, double eps) {
        this.dim = dim;
        this.eps = eps;
    }

    public Tensor forward(Tensor x1, Tensor x2) {
        return F.cosineSimilarity(x1, x2, dim, eps);
    }

    @Override
    public Tensor forward(Tensor input) {
        throw new IllegalArgumentException("CosineSimilarity takes two inputs: call forward(x1, x2)");
    }
}
