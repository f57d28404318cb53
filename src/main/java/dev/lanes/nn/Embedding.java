package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;

/**
 * A lookup table of {@code numEmbeddings} vectors of {@code embeddingDim} floats, like {@code torch.nn.Embedding}:
 * {@code forward(indices)} (int64, any shape) returns {@code indices.shape + [embeddingDim]}. Weights start as
 * N(0, 1), PyTorch's initialisation; the {@code paddingIdx} row starts at zero and gets no gradient. The backward
 * adds gradient rows at their indices (no dense product).
 */
public class Embedding extends Module {
    public final int numEmbeddings;
    public final int embeddingDim;
    /** The padding row (non-negative), or null. */
    public final Integer paddingIdx;
    public final Tensor weight;

    public Embedding(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, null);
    }

    /** @param paddingIdx a row that stays constant (its gradient is zero), negative counted from the end; null for none */
    public Embedding(int numEmbeddings, int embeddingDim, Integer paddingIdx) {
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException("Embedding: num_embeddings and embedding_dim must be positive, got " + numEmbeddings + ", "
                    + embeddingDim);
        }
        if (paddingIdx != null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)) {
            throw new IllegalArgumentException("Embedding: padding_idx must be within num_embeddings (" + numEmbeddings + "), got " + paddingIdx);
        }
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(numEmbeddings, embeddingDim));
        }
        resetParameters();
    }

    /** The table {@code weights} as it is (a copy; the padding row is not zeroed, as torch keeps a given weight). */
    private Embedding(Tensor weights, Integer paddingIdx, boolean freeze) {
        int n = weights.size(0);
        if (paddingIdx != null && (paddingIdx >= n || paddingIdx < -n)) {
            throw new IllegalArgumentException("Padding_idx must be within num_embeddings");
        }
        this.numEmbeddings = n;
        this.embeddingDim = weights.size(1);
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + n : paddingIdx;
        try (MemoryScope s = owned(); Autograd.Mode g = Autograd.noGrad()) {
            this.weight = registerParameter("weight", weights.detach().clone());
        }
        weight.requiresGrad(!freeze);
    }

    /**
     * {@code nn.Embedding.from_pretrained(embeddings, freeze, padding_idx)}: a 2-d float table {@code [num, dim]}
     * (copied); frozen tables get no gradient ({@code weight.requires_grad} false).
     */
    public static Embedding fromPretrained(Tensor embeddings, boolean freeze, Integer paddingIdx) {
        if (embeddings.dim() != 2) {
            throw new IllegalArgumentException("Embeddings parameter is expected to be 2-dimensional");
        }
        return new Embedding(embeddings, paddingIdx, freeze);
    }

    /** {@code nn.Embedding.from_pretrained(embeddings)}: frozen, no padding row. */
    public static Embedding fromPretrained(Tensor embeddings) {
        return fromPretrained(embeddings, true, null);
    }

    /** N(0, 1), the padding row zeroed, as PyTorch does. */
    public void resetParameters() {
        Init.normal_(weight, 0, 1);
        if (paddingIdx != null) {
            try (Autograd.Mode g = Autograd.noGrad(); Tensor row = weight.select(0, paddingIdx)) {
                row.zero_();
            }
        }
    }

    @Override
    public Tensor forward(Tensor indices) {
        return Tensor.embedding(indices, weight, paddingIdx);
    }

    @Override
    public String extraRepr() {
        return numEmbeddings + ", " + embeddingDim + (paddingIdx != null ? ", padding_idx=" + paddingIdx : "");
    }
}
