package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;

/**
 * A lookup table of {@code numEmbeddings} vectors of {@code embeddingDim} floats, like {@code torch.nn.Embedding}:
 * {@code forward(indices)} (int64, any shape) returns {@code indices.shape + [embeddingDim]}. Weights start as
 * N(0, 1), PyTorch's initialisation; the {@code paddingIdx} row starts at zero and gets no gradient. The backward
 * adds gradient rows at their indices (no dense product).
 *
 * <p>{@code maxNorm}: each forward first scales, in place and outside autograd, the referenced rows whose
 * {@code normType}-norm exceeds it down to {@code maxNorm} (torch's {@code embedding_renorm_}; the weight's version
 * changes, and tracing into a plan is refused). {@code scaleGradByFreq}: each row's gradient is divided by how often
 * its index occurs in the mini-batch. {@code sparse} gradients do not exist in Lanes: refused.
 */
public class Embedding extends Module {
    public final int numEmbeddings;
    public final int embeddingDim;
    /** The padding row (non-negative), or null. */
    public final Integer paddingIdx;
    /** The largest norm a referenced row keeps, or null for none. */
    public final Double maxNorm;
    /** The p of maxNorm's p-norm (2 by default). */
    public final double normType;
    public final boolean scaleGradByFreq;
    public final Tensor weight;

    public Embedding(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, null);
    }

    /** @param paddingIdx a row that stays constant (its gradient is zero), negative counted from the end; null for none */
    public Embedding(int numEmbeddings, int embeddingDim, Integer paddingIdx) {
        this(numEmbeddings, embeddingDim, paddingIdx, null, 2.0, false, false);
    }

    /**
     * {@code nn.Embedding(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)};
     * {@code maxNorm} null for none; {@code sparse} true is refused (Lanes has no sparse gradients).
     */
    public Embedding(int numEmbeddings, int embeddingDim, Integer paddingIdx, Double maxNorm, double normType, boolean scaleGradByFreq,
                     boolean sparse) {
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException("Embedding: num_embeddings and embedding_dim must be positive, got " + numEmbeddings + ", "
                    + embeddingDim);
        }
        if (paddingIdx != null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)) {
            throw new IllegalArgumentException("Embedding: padding_idx must be within num_embeddings (" + numEmbeddings + "), got " + paddingIdx);
        }
        checkOptions("Embedding", maxNorm, normType, sparse);
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
        this.maxNorm = maxNorm;
        this.normType = normType;
        this.scaleGradByFreq = scaleGradByFreq;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(numEmbeddings, embeddingDim));
        }
        resetParameters();
    }

    /** The table {@code weights} as it is (a copy; the padding row is not zeroed, as torch keeps a given weight). */
    private Embedding(Tensor weights, Integer paddingIdx, boolean freeze, Double maxNorm, double normType, boolean scaleGradByFreq, boolean sparse) {
        int n = weights.size(0);
        if (paddingIdx != null && (paddingIdx >= n || paddingIdx < -n)) {
            throw new IllegalArgumentException("Padding_idx must be within num_embeddings");
        }
        checkOptions("Embedding", maxNorm, normType, sparse);
        this.numEmbeddings = n;
        this.embeddingDim = weights.size(1);
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + n : paddingIdx;
        this.maxNorm = maxNorm;
        this.normType = normType;
        this.scaleGradByFreq = scaleGradByFreq;
        try (MemoryScope s = owned(); Autograd.Mode g = Autograd.noGrad()) {
            this.weight = registerParameter("weight", weights.detach().clone());
        }
        weight.requiresGrad(!freeze);
    }

    /** max_norm positive, norm_type p >= 0, sparse refused: checked when the module is made, not at its first forward. */
    static void checkOptions(String module, Double maxNorm, double normType, boolean sparse) {
        if (sparse) {
            throw new IllegalArgumentException(module + ": sparse=True is not supported: Lanes has no sparse gradients (sparse=False gives"
                    + " the same values as a dense weight gradient)");
        }
        if (maxNorm != null && !(maxNorm > 0)) {
            throw new IllegalArgumentException(module + ": max_norm must be positive, got " + maxNorm);
        }
        if (!(normType >= 0)) {
            throw new IllegalArgumentException(module + ": norm_type must be non-negative, got " + normType);
        }
    }

    /**
     * {@code nn.Embedding.from_pretrained(embeddings, freeze, padding_idx)}: a 2-d float table {@code [num, dim]}
     * (copied); frozen tables get no gradient ({@code weight.requires_grad} false).
     */
    public static Embedding fromPretrained(Tensor embeddings, boolean freeze, Integer paddingIdx) {
        return fromPretrained(embeddings, freeze, paddingIdx, null, 2.0, false, false);
    }

    /**
     * {@code nn.Embedding.from_pretrained(embeddings, freeze, padding_idx, max_norm, norm_type, scale_grad_by_freq,
     * sparse)}: the table copied; {@code maxNorm} renormalises the copy's rows as they are looked up.
     */
    public static Embedding fromPretrained(Tensor embeddings, boolean freeze, Integer paddingIdx, Double maxNorm, double normType,
                                           boolean scaleGradByFreq, boolean sparse) {
        if (embeddings.dim() != 2) {
            throw new IllegalArgumentException("Embeddings parameter is expected to be 2-dimensional");
        }
        return new Embedding(embeddings, paddingIdx, freeze, maxNorm, normType, scaleGradByFreq, sparse);
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
        return Tensor.embedding(indices, weight, paddingIdx, maxNorm, normType, scaleGradByFreq, false);
    }

    /** torch's extra_repr: the options that differ from their defaults, in torch's order. */
    @Override
    public String extraRepr() {
        return numEmbeddings + ", " + embeddingDim + (paddingIdx != null ? ", padding_idx=" + paddingIdx : "")
                + (maxNorm != null ? ", max_norm=" + Repr.pyFloat(maxNorm) : "") + (normType != 2 ? ", norm_type=" + Repr.pyFloat(normType) : "")
                + (scaleGradByFreq ? ", scale_grad_by_freq=True" : "");
    }
}
