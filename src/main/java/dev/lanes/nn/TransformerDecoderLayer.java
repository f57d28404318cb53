package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * One transformer decoder block, like {@code torch.nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout,
 * activation, layer_norm_eps, batch_first, norm_first)}: self-attention over the target, cross-attention of the target
 * over the encoder's output ({@code memory}), and a two-layer feed-forward network, each with a residual connection and
 * a LayerNorm, before the sublayer ({@code normFirst}) or after it (the original post-norm), as PyTorch 1.13's. Inputs
 * are {@code [B, T, E]} and {@code [B, S, E]} when {@code batchFirst}, else {@code [T, B, E]} and {@code [S, B, E]}, or
 * unbatched {@code [T, E]} and {@code [S, E]}. Submodule names are PyTorch's (self_attn, multihead_attn, linear1,
 * dropout, linear2, norm1, norm2, norm3, dropout1, dropout2, dropout3), so a PyTorch state dict loads as it is.
 */
public class TransformerDecoderLayer extends Module {
    public final MultiheadAttention selfAttn;
    public final MultiheadAttention multiheadAttn;
    public final Linear linear1;
    public final Dropout dropout;
    public final Linear linear2;
    public final LayerNorm norm1;
    public final LayerNorm norm2;
    public final LayerNorm norm3;
    public final Dropout dropout1;
    public final Dropout dropout2;
    public final Dropout dropout3;
    public final boolean normFirst;
    private final int dimFeedforward;
    private final double dropoutP;
    private final String activation;

    /** PyTorch's defaults: dim_feedforward 2048, dropout 0.1, relu, eps 1e-5, [T, B, E] inputs, post-norm. */
    public TransformerDecoderLayer(int dModel, int nhead) {
        this(dModel, nhead, 2048, 0.1, "relu", 1e-5, false, false);
    }

    /** @param activation "relu" or "gelu" */
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward, double dropout, String activation, double layerNormEps,
                                   boolean batchFirst, boolean normFirst) {
        if (!"relu".equals(activation) && !"gelu".equals(activation)) {
            throw new IllegalArgumentException("TransformerDecoderLayer: activation should be relu/gelu, not " + activation);
        }
        if (dimFeedforward <= 0) {
            throw new IllegalArgumentException("TransformerDecoderLayer: dim_feedforward must be positive, got " + dimFeedforward);
        }
        this.selfAttn = register("self_attn", new MultiheadAttention(dModel, nhead, dropout, true, batchFirst));
        this.multiheadAttn = register("multihead_attn", new MultiheadAttention(dModel, nhead, dropout, true, batchFirst));
        this.linear1 = register("linear1", new Linear(dModel, dimFeedforward));
        this.dropout = register("dropout", new Dropout(dropout));
        this.linear2 = register("linear2", new Linear(dimFeedforward, dModel));
        this.norm1 = register("norm1", new LayerNorm(new int[] {dModel}, layerNormEps, true));
        this.norm2 = register("norm2", new LayerNorm(new int[] {dModel}, layerNormEps, true));
        this.norm3 = register("norm3", new LayerNorm(new int[] {dModel}, layerNormEps, true));
        this.dropout1 = register("dropout1", new Dropout(dropout));
        this.dropout2 = register("dropout2", new Dropout(dropout));
        this.dropout3 = register("dropout3", new Dropout(dropout));
        this.normFirst = normFirst;
        this.dimFeedforward = dimFeedforward;
        this.dropoutP = dropout;
        this.activation = activation;
    }

    /**
     * A deep copy, as {@code copy.deepcopy} (PyTorch's {@code _get_clones}): the same configuration, parameters of its
     * own with this layer's values, the same training mode.
     */
    public TransformerDecoderLayer copy() {
        TransformerDecoderLayer c = new TransformerDecoderLayer(selfAttn.embedDim, selfAttn.numHeads, dimFeedforward, dropoutP, activation, norm1.eps,
                selfAttn.batchFirst, normFirst);
        try (dev.lanes.memory.MemoryScope s = dev.lanes.memory.MemoryScope.open()) {
            c.loadStateDict(stateDict());
        }
        c.train(isTraining());
        return c;
    }

    /** A decoder layer needs the encoder's output too: call {@link #forward(Tensor, Tensor)}. */
    @Override
    public Tensor forward(Tensor tgt) {
        throw new IllegalArgumentException("TransformerDecoderLayer needs the memory too: call forward(tgt, memory)");
    }

    public Tensor forward(Tensor tgt, Tensor memory) {
        return forward(tgt, memory, null, null, null, null, false);
    }

    /** With a {@code tgtMask} ({@code [T, T]}) and a {@code memoryMask} ({@code [T, S]}); either may be null. */
    public Tensor forward(Tensor tgt, Tensor memory, Tensor tgtMask, Tensor memoryMask) {
        return forward(tgt, memory, tgtMask, memoryMask, null, null, false);
    }

    /**
     * PyTorch's {@code forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)}; any
     * mask may be null. Masks ({@code [T, T]} and {@code [T, S]}, or {@code [B * nhead, ., .]}) are float, added to the
     * scores, or bool, true = may not attend; key padding masks ({@code [B, T]}, {@code [B, S]}; {@code [T]}, {@code [S]}
     * unbatched) bool, true = that key is ignored, or float, added; see
     * {@link MultiheadAttention#attention(Tensor, Tensor, Tensor, Tensor, boolean, Tensor, boolean, boolean)}.
     */
    public Tensor forward(Tensor tgt, Tensor memory, Tensor tgtMask, Tensor memoryMask, Tensor tgtKeyPaddingMask, Tensor memoryKeyPaddingMask) {
        return forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, false);
    }

    /** As above, with the target's self-attention causal ({@code tgtIsCausal}, instead of a {@code tgtMask}: not both). */
    public Tensor forward(Tensor tgt, Tensor memory, Tensor tgtMask, Tensor memoryMask, Tensor tgtKeyPaddingMask, Tensor memoryKeyPaddingMask,
                          boolean tgtIsCausal) {
        checkShapes("TransformerDecoderLayer", tgt, memory, selfAttn.embedDim, selfAttn.batchFirst);
        Tensor x = tgt;
        if (normFirst) {
            x = x.add(selfAttentionBlock(norm1.forward(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal));
            x = x.add(crossAttentionBlock(norm2.forward(x), memory, memoryMask, memoryKeyPaddingMask));
            return x.add(feedForwardBlock(norm3.forward(x)));
        }
        x = norm1.forward(x.add(selfAttentionBlock(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal)));
        x = norm2.forward(x.add(crossAttentionBlock(x, memory, memoryMask, memoryKeyPaddingMask)));
        return norm3.forward(x.add(feedForwardBlock(x)));
    }

    /**
     * PyTorch-like checks of a target (or source) and the sequence it attends to: both batched ({@code 3-d}) or both
     * unbatched, the same batch, {@code dModel} features.
     */
    static void checkShapes(String who, Tensor tgt, Tensor memory, int dModel, boolean batchFirst) {
        if (!(tgt.dim() == 3 && memory.dim() == 3) && !(tgt.dim() == 2 && memory.dim() == 2)) {
            throw new IllegalArgumentException(who + ": expected tgt and memory both 3-d (" + (batchFirst ? "[B, T, E], [B, S, E]" : "[T, B, E], [S, B, E]")
                    + ") or both 2-d (unbatched, [T, E], [S, E]), got " + tgt.size() + " and " + memory.size());
        }
        int batchDim = batchFirst ? 0 : 1;
        if (tgt.dim() == 3 && tgt.size(batchDim) != memory.size(batchDim)) {
            throw new IllegalArgumentException(who + ": the batch number of tgt and memory must be equal, got " + tgt.size() + " and " + memory.size()
                    + " (batch_first=" + Repr.bool(batchFirst) + ")");
        }
        if (tgt.size(-1) != dModel || memory.size(-1) != dModel) {
            throw new IllegalArgumentException(who + ": the feature number of tgt and memory must be equal to d_model (" + dModel + "), got "
                    + tgt.size() + " and " + memory.size());
        }
    }

    private Tensor selfAttentionBlock(Tensor x, Tensor mask, Tensor keyPaddingMask, boolean isCausal) {
        return dropout1.forward(selfAttn.forward(x, x, x, keyPaddingMask, mask, isCausal));
    }

    private Tensor crossAttentionBlock(Tensor x, Tensor memory, Tensor mask, Tensor keyPaddingMask) {
        return dropout2.forward(multiheadAttn.forward(x, memory, memory, keyPaddingMask, mask, false));
    }

    private Tensor feedForwardBlock(Tensor x) {
        Tensor h = linear1.forward(x);
        h = "gelu".equals(activation) ? h.gelu() : h.relu();
        return dropout3.forward(linear2.forward(dropout.forward(h)));
    }
}
