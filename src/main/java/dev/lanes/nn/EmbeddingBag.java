package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * {@code torch.nn.EmbeddingBag}: per bag of indices, the sum, mean or max of their rows of a {@code [numEmbeddings,
 * embeddingDim]} table, without materialising the bags' rows for the user. {@code forward(input)} takes a
 * {@code [B, N]} int64 input (B bags of N); {@code forward(input, offsets)} a 1-d input cut into bags at
 * {@code offsets}; {@code forward(input, offsets, perSampleWeights)} weights each index's row (mode "sum" only).
 * Empty bags give zeros, {@code paddingIdx} entries are left out of every mode (and the padding row gets no
 * gradient). {@code maxNorm} and {@code scaleGradByFreq} as in {@link Embedding} (the latter not with "max").
 * Weights start as N(0, 1), the padding row zeroed, like torch. The computation is {@link F#embeddingBag}.
 */
public class EmbeddingBag extends Module {
    public final int numEmbeddings;
    public final int embeddingDim;
    public final Double maxNorm;
    public final double normType;
    public final boolean scaleGradByFreq;
    /** "sum", "mean" (torch's default) or "max". */
    public final String mode;
    public final boolean includeLastOffset;
    public final Integer paddingIdx;
    public final Tensor weight;

    /** {@code nn.EmbeddingBag(num_embeddings, embedding_dim)}: mode "mean". */
    public EmbeddingBag(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, "mean");
    }

    public EmbeddingBag(int numEmbeddings, int embeddingDim, String mode) {
        this(numEmbeddings, embeddingDim, null, 2.0, false, mode, false, false, null);
    }

    /**
     * {@code nn.EmbeddingBag(num_embeddings, embedding_dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
     * include_last_offset, padding_idx)}; {@code sparse} true is refused (no sparse gradients).
     */
    public EmbeddingBag(int numEmbeddings, int embeddingDim, Double maxNorm, double normType, boolean scaleGradByFreq, String mode, boolean sparse,
                        boolean includeLastOffset, Integer paddingIdx) {
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException("EmbeddingBag: num_embeddings and embedding_dim must be positive, got " + numEmbeddings + ", "
                    + embeddingDim);
        }
        checkOptions(numEmbeddings, maxNorm, normType, scaleGradByFreq, mode, sparse, paddingIdx);
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.maxNorm = maxNorm;
        this.normType = normType;
        this.scaleGradByFreq = scaleGradByFreq;
        this.mode = mode;
        this.includeLastOffset = includeLastOffset;
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(numEmbeddings, embeddingDim));
        }
        resetParameters();
    }

    private EmbeddingBag(Tensor weights, boolean freeze, Double maxNorm, double normType, boolean scaleGradByFreq, String mode, boolean sparse,
                         boolean includeLastOffset, Integer paddingIdx) {
        int n = weights.size(0);
        checkOptions(n, maxNorm, normType, scaleGradByFreq, mode, sparse, paddingIdx);
        this.numEmbeddings = n;
        this.embeddingDim = weights.size(1);
        this.maxNorm = maxNorm;
        this.normType = normType;
        this.scaleGradByFreq = scaleGradByFreq;
        this.mode = mode;
        this.includeLastOffset = includeLastOffset;
        this.paddingIdx = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + n : paddingIdx;
        try (MemoryScope s = owned(); Autograd.Mode g = Autograd.noGrad()) {
            this.weight = registerParameter("weight", weights.detach().clone());
        }
        weight.requiresGrad(!freeze);
    }

    private static void checkOptions(int numEmbeddings, Double maxNorm, double normType, boolean scaleGradByFreq, String mode, boolean sparse,
                                     Integer paddingIdx) {
        if (!"sum".equals(mode) && !"mean".equals(mode) && !"max".equals(mode)) {
            throw new IllegalArgumentException("EmbeddingBag: mode has to be one of sum, mean or max, got " + mode);
        }
        if ("max".equals(mode) && scaleGradByFreq) {
            throw new IllegalArgumentException("EmbeddingBag: max mode does not support scaling the gradient by the frequency");
        }
        if (paddingIdx != null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)) {
            throw new IllegalArgumentException("EmbeddingBag: padding_idx must be within num_embeddings (" + numEmbeddings + "), got " + paddingIdx);
        }
        Embedding.checkOptions("EmbeddingBag", maxNorm, normType, sparse);
    }

    /**
     * {@code nn.EmbeddingBag.from_pretrained(embeddings, freeze, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
     * include_last_offset, padding_idx)}: a 2-d float table, copied; frozen tables get no gradient.
     */
    public static EmbeddingBag fromPretrained(Tensor embeddings, boolean freeze, Double maxNorm, double normType, boolean scaleGradByFreq, String mode,
                                              boolean sparse, boolean includeLastOffset, Integer paddingIdx) {
        if (embeddings.dim() != 2) {
            throw new IllegalArgumentException("Embeddings parameter is expected to be 2-dimensional");
        }
        return new EmbeddingBag(embeddings, freeze, maxNorm, normType, scaleGradByFreq, mode, sparse, includeLastOffset, paddingIdx);
    }

    /** {@code nn.EmbeddingBag.from_pretrained(embeddings)}: frozen, mode "mean". */
    public static EmbeddingBag fromPretrained(Tensor embeddings) {
        return fromPretrained(embeddings, true, null, 2.0, false, "mean", false, false, null);
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

    /** A {@code [B, N]} input: B bags of N indices each. */
    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null, null);
    }

    /** A 1-d input cut into bags at {@code offsets} (or a 2-d input with null offsets). */
    public Tensor forward(Tensor input, Tensor offsets) {
        return forward(input, offsets, null);
    }

    /** With per-sample weights of the input's shape (mode "sum" only). */
    public Tensor forward(Tensor input, Tensor offsets, Tensor perSampleWeights) {
        return F.embeddingBag(input, weight, offsets, maxNorm, normType, scaleGradByFreq, mode, false, perSampleWeights, includeLastOffset,
                paddingIdx);
    }

    /** torch's extra_repr: {@code 10, 3, mode=mean} plus the options that differ from their defaults, in torch's order. */
    @Override
    public String extraRepr() {
        return numEmbeddings + ", " + embeddingDim + (maxNorm != null ? ", max_norm=" + Repr.pyFloat(maxNorm) : "")
                + (normType != 2 ? ", norm_type=" + Repr.pyFloat(normType) : "") + (scaleGradByFreq ? ", scale_grad_by_freq=True" : "")
                + ", mode=" + mode + (paddingIdx != null ? ", padding_idx=" + paddingIdx : "");
    }
}
