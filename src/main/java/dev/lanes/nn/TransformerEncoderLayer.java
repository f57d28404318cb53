package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * One transformer encoder block, like {@code torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward,
 * dropout, activation, layer_norm_eps, batch_first, norm_first)}: self-attention and a two-layer feed-forward network,
 * each with a residual connection and a LayerNorm, before the sublayer ({@code normFirst}, the pre-norm of GPT-style
 * models) or after it (the original post-norm). Inputs are {@code [B, L, E]} when {@code batchFirst}, else
 * {@code [L, B, E]}, or unbatched {@code [L, E]} either way (as PyTorch's). Submodule names are PyTorch's (self_attn, linear1, dropout, linear2,
 * norm1, norm2, dropout1, dropout2), so a PyTorch state dict loads as it is.
 */
public class TransformerEncoderLayer extends Module {
    public final MultiheadAttention selfAttn;
    public final Linear linear1;
    public final Dropout dropout;
    public final Linear linear2;
    public final LayerNorm norm1;
    public final LayerNorm norm2;
    public final Dropout dropout1;
    public final Dropout dropout2;
    public final boolean normFirst;
    private final int dimFeedforward;
    private final double dropoutP;
    private final String activation;

    /** PyTorch's defaults: dim_feedforward 2048, dropout 0.1, relu, eps 1e-5, [L, B, E] inputs, post-norm. */
    public TransformerEncoderLayer(int dModel, int nhead) {
        this(dModel, nhead, 2048, 0.1, "relu", 1e-5, false, false);
    }

    /** @param activation "relu" or "gelu" */
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward, double dropout, String activation, double layerNormEps,
                                   boolean batchFirst, boolean normFirst) {
        if (!"relu".equals(activation) && !"gelu".equals(activation)) {
            throw new IllegalArgumentException("TransformerEncoderLayer: activation should be relu/gelu, not " + activation);
        }
        if (dimFeedforward <= 0) {
            throw new IllegalArgumentException("TransformerEncoderLayer: dim_feedforward must be positive, got " + dimFeedforward);
        }
        this.selfAttn = register("self_attn", new MultiheadAttention(dModel, nhead, dropout, true, batchFirst));
        this.linear1 = register("linear1", new Linear(dModel, dimFeedforward));
        this.dropout = register("dropout", new Dropout(dropout));
        this.linear2 = register("linear2", new Linear(dimFeedforward, dModel));
        this.norm1 = register("norm1", new LayerNorm(new int[] {dModel}, layerNormEps, true));
        this.norm2 = register("norm2", new LayerNorm(new int[] {dModel}, layerNormEps, true));
        this.dropout1 = register("dropout1", new Dropout(dropout));
        this.dropout2 = register("dropout2", new Dropout(dropout));
        this.normFirst = normFirst;
        this.dimFeedforward = dimFeedforward;
        this.dropoutP = dropout;
        this.activation = activation;
    }

    /**
     * A deep copy, as {@code copy.deepcopy} (PyTorch's {@code _get_clones}): the same configuration, parameters of its
     * own with this layer's values, the same training mode.
     */
    public TransformerEncoderLayer copy() {
        TransformerEncoderLayer c = new TransformerEncoderLayer(selfAttn.embedDim, selfAttn.numHeads, dimFeedforward, dropoutP, activation, norm1.eps,
                selfAttn.batchFirst, normFirst);
        try (dev.lanes.memory.MemoryScope s = dev.lanes.memory.MemoryScope.open()) {
            c.loadStateDict(stateDict());
        }
        c.train(isTraining());
        return c;
    }

    @Override
    public Tensor forward(Tensor src) {
        return forward(src, null, null, false);
    }

    /**
     * With a {@code srcMask} ([L, L]: float, added to the scores, or bool, true = may not attend, as PyTorch's) or a
     * causal mask ({@code isCausal}: a decoder-only model), not both.
     */
    public Tensor forward(Tensor src, Tensor srcMask, boolean isCausal) {
        return forward(src, srcMask, null, isCausal);
    }

    /**
     * PyTorch's {@code forward(src, src_mask, src_key_padding_mask)}: {@code srcKeyPaddingMask} ([B, L], [L] for an
     * unbatched src; may be null) is bool, true = that position is not attended to, or float, added to the scores; see
     * {@link MultiheadAttention#attention(Tensor, Tensor, Tensor, Tensor, boolean, Tensor, boolean, boolean)}.
     */
    public Tensor forward(Tensor src, Tensor srcMask, Tensor srcKeyPaddingMask) {
        return forward(src, srcMask, srcKeyPaddingMask, false);
    }

    /** With a {@code srcMask} or {@code isCausal} (not both) and a {@code srcKeyPaddingMask}; any may be absent. */
    public Tensor forward(Tensor src, Tensor srcMask, Tensor srcKeyPaddingMask, boolean isCausal) {
        Tensor x = src;
        if (normFirst) {
            x = x.add(selfAttentionBlock(norm1.forward(x), srcMask, srcKeyPaddingMask, isCausal));
            return x.add(feedForwardBlock(norm2.forward(x)));
        }
        x = norm1.forward(x.add(selfAttentionBlock(x, srcMask, srcKeyPaddingMask, isCausal)));
        return norm2.forward(x.add(feedForwardBlock(x)));
    }

    private Tensor selfAttentionBlock(Tensor x, Tensor mask, Tensor keyPaddingMask, boolean isCausal) {
        return dropout1.forward(selfAttn.forward(x, x, x, keyPaddingMask, mask, isCausal));
    }

    private Tensor feedForwardBlock(Tensor x) {
        Tensor h = linear1.forward(x);
        h = "gelu".equals(activation) ? h.gelu() : h.relu();
        return dropout2.forward(linear2.forward(dropout.forward(h)));
    }
}
