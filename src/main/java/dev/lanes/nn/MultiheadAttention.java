package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * Multi-head attention, like {@code torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first)}:
 * the query, key and value are projected by one packed {@code in_proj_weight [3E, E]} (and {@code in_proj_bias}),
 * split into {@code numHeads} heads of {@code E / numHeads}, attended ({@link F#scaledDotProductAttention}) and
 * projected back by {@code out_proj}. Parameter names, shapes and initialisation are PyTorch's (xavier-uniform
 * in_proj_weight, zero biases), so a PyTorch state dict loads as it is. Inputs are {@code [B, L, E]} when
 * {@code batchFirst}, else {@code [L, B, E]} (PyTorch's default), or unbatched {@code [L, E]} either way (the output
 * {@code [L, E]} and the weights {@code [L, S]}).
 *
 * <p>With {@code kdim} or {@code vdim} other than {@code embedDim} (keys and values of other widths, as a decoder's
 * cross-attention over an encoder of another width) the input projection is PyTorch's three separate weights instead:
 * {@code q_proj_weight [E, E]}, {@code k_proj_weight [E, kdim]}, {@code v_proj_weight [E, vdim]} (each xavier-uniform),
 * {@code in_proj_weight} absent, {@code in_proj_bias [3E]} as before. {@code addBiasKv} appends a learned key and value
 * ({@code bias_k}, {@code bias_v} {@code [1, 1, E]}, xavier-normal) to every sequence, {@code addZeroAttn} a key and
 * value of zeros per head after the projection; the masks get a column of zeros (not masked) for each, and the keys
 * counted by the weights ({@code S + 1} or {@code S + 2}) include them, as PyTorch's.
 */
public class MultiheadAttention extends Module {
    public final int embedDim;
    public final int numHeads;
    public final double dropout;
    public final boolean batchFirst;
    /** The width of the keys and of the values (embedDim unless given). */
    public final int kdim;
    public final int vdim;
    /** The packed {@code [3E, E]} input projection; null when kdim or vdim differs from embedDim (then the three below). */
    public final Tensor inProjWeight;
    /** The separate input projections {@code [E, E]}, {@code [E, kdim]}, {@code [E, vdim]}; null when inProjWeight is used. */
    public final Tensor qProjWeight;
    public final Tensor kProjWeight;
    public final Tensor vProjWeight;
    public final Tensor inProjBias;
    /** The learned key and value appended to every sequence ({@code [1, 1, E]}), with addBiasKv; else null. */
    public final Tensor biasK;
    public final Tensor biasV;
    public final boolean addZeroAttn;
    public final Linear outProj;

    /**
     * The attention output and, when asked for, the weights averaged over heads ({@code [B, L, S]}, or {@code [L, S]}
     * unbatched) or per head ({@code [B, numHeads, L, S]}, {@code [numHeads, L, S]}).
     */
    public record Output(Tensor output, Tensor weights) {
    }

    /** PyTorch's defaults: no dropout, biases, {@code [L, B, E]} inputs. */
    public MultiheadAttention(int embedDim, int numHeads) {
        this(embedDim, numHeads, 0.0, true, false);
    }

    public MultiheadAttention(int embedDim, int numHeads, double dropout, boolean bias, boolean batchFirst) {
        this(embedDim, numHeads, dropout, bias, false, false, embedDim, embedDim, batchFirst);
    }

    /**
     * PyTorch's full constructor, {@code MultiheadAttention(embed_dim, num_heads, dropout, bias, add_bias_kv,
     * add_zero_attn, kdim, vdim, batch_first)}; pass {@code embedDim} for kdim and vdim to keep PyTorch's default
     * (None).
     */
    public MultiheadAttention(int embedDim, int numHeads, double dropout, boolean bias, boolean addBiasKv, boolean addZeroAttn, int kdim,
                              int vdim, boolean batchFirst) {
        if (embedDim <= 0 || numHeads <= 0) {
            throw new IllegalArgumentException("MultiheadAttention: embed_dim and num_heads must be positive, got " + embedDim + ", " + numHeads);
        }
        if (embedDim % numHeads != 0) {
            throw new IllegalArgumentException("MultiheadAttention: embed_dim must be divisible by num_heads, got " + embedDim + " and " + numHeads);
        }
        if (!(dropout >= 0 && dropout <= 1)) {
            throw new IllegalArgumentException("MultiheadAttention: dropout must be in [0, 1], got " + dropout);
        }
        if (kdim <= 0 || vdim <= 0) {
            throw new IllegalArgumentException("MultiheadAttention: kdim and vdim must be positive, got " + kdim + ", " + vdim);
        }
        this.embedDim = embedDim;
        this.numHeads = numHeads;
        this.dropout = dropout;
        this.batchFirst = batchFirst;
        this.kdim = kdim;
        this.vdim = vdim;
        this.addZeroAttn = addZeroAttn;
        boolean packed = kdim == embedDim && vdim == embedDim; // PyTorch's _qkv_same_embed_dim
        try (MemoryScope s = owned()) { // PyTorch's order: the projection weights, in_proj_bias, bias_k, bias_v, out_proj
            if (packed) {
                this.inProjWeight = registerParameter("in_proj_weight", Tensor.empty(Math.multiplyExact(3, embedDim), embedDim));
                this.qProjWeight = null;
                this.kProjWeight = null;
                this.vProjWeight = null;
            } else {
                this.inProjWeight = null;
                this.qProjWeight = registerParameter("q_proj_weight", Tensor.empty(embedDim, embedDim));
                this.kProjWeight = registerParameter("k_proj_weight", Tensor.empty(embedDim, kdim));
                this.vProjWeight = registerParameter("v_proj_weight", Tensor.empty(embedDim, vdim));
            }
            this.inProjBias = registerParameter("in_proj_bias", bias ? Tensor.zeros(Math.multiplyExact(3, embedDim)) : null);
            this.biasK = registerParameter("bias_k", addBiasKv ? Tensor.empty(1, 1, embedDim) : null);
            this.biasV = registerParameter("bias_v", addBiasKv ? Tensor.empty(1, 1, embedDim) : null);
        }
        this.outProj = register("out_proj", new Linear(embedDim, embedDim, bias));
        if (packed) {
            Init.xavierUniform_(inProjWeight, 1.0);
        } else {
            Init.xavierUniform_(qProjWeight, 1.0);
            Init.xavierUniform_(kProjWeight, 1.0);
            Init.xavierUniform_(vProjWeight, 1.0);
        }
        if (bias) {
            Init.zeros_(outProj.bias);
        }
        if (addBiasKv) {
            Init.xavierNormal_(biasK, 1.0);
            Init.xavierNormal_(biasV, 1.0);
        }
    }

    /** Self-attention: {@code forward(x, x, x, null, false)}. */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, x, x, null, false);
    }

    /** The attention output only (PyTorch's {@code need_weights=False}). */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor attnMask, boolean isCausal) {
        return attention(query, key, value, null, false, attnMask, true, isCausal).output();
    }

    /**
     * The attention output only, with a {@code keyPaddingMask} (may be null): PyTorch's
     * {@code forward(query, key, value, key_padding_mask, need_weights=False, attn_mask)}; see
     * {@link #attention(Tensor, Tensor, Tensor, Tensor, boolean, Tensor, boolean, boolean)}.
     */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor keyPaddingMask, Tensor attnMask, boolean isCausal) {
        return attention(query, key, value, keyPaddingMask, false, attnMask, true, isCausal).output();
    }

    /**
     * The attention of {@code query} over {@code key}/{@code value}; {@code attnMask} ({@code [L, S]} or
     * {@code [B * numHeads, L, S]}, {@code [numHeads, L, S]} for an unbatched query: float, added to the scores, or bool
     * as nn.MultiheadAttention reads it, true = may not attend) or {@code isCausal}, not both; with {@code needWeights}
     * also the attention weights averaged over heads.
     * (F.scaledDotProductAttention reads a bool mask the other way, as PyTorch 2's: true = takes part.)
     */
    public Output attention(Tensor query, Tensor key, Tensor value, Tensor attnMask, boolean isCausal, boolean needWeights) {
        return attention(query, key, value, null, needWeights, attnMask, true, isCausal);
    }

    /**
     * PyTorch's {@code forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights)}, with
     * PyTorch 2's {@code is_causal}. {@code keyPaddingMask} ({@code [B, S]}, {@code [S]} for an unbatched query; may be
     * null): bool, true = that key is ignored (-inf), or float, added to the scores of every query and head; it is merged
     * with {@code attnMask} (as above) or the causal mask into one float mask per batch and head, their sum (PyTorch 2's
     * merge; 1.13's agrees except with a float key_padding_mask and an attn_mask, where it ignored the padding mask
     * under a float attn_mask and masked every nonzero entry under a bool one). A query whose keys are all masked gets
     * NaN, as PyTorch's softmax of -inf everywhere. The weights, with {@code needWeights}, are averaged over heads
     * ({@code [B, L, S]}) or with {@code averageAttnWeights} false per head ({@code [B, numHeads, L, S]}); unbatched
     * without the B.
     */
    public Output attention(Tensor query, Tensor key, Tensor value, Tensor keyPaddingMask, boolean needWeights, Tensor attnMask,
                            boolean averageAttnWeights, boolean isCausal) {
        if (query.dim() == 2) {
            return unbatched(query, key, value, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal);
        }
        if (query.dim() != 3 || key.dim() != 3 || value.dim() != 3) {
            throw new IllegalArgumentException("MultiheadAttention: expected 3-d query, key and value (" + (batchFirst ? "[B, L, E]" : "[L, B, E]")
                    + ") or 2-d ones (unbatched, [L, E]), got " + query.size() + ", " + key.size() + ", " + value.size());
        }
        Tensor q = batchFirst ? query : query.transpose(0, 1);
        Tensor k = batchFirst ? key : key.transpose(0, 1);
        Tensor v = batchFirst ? value : value.transpose(0, 1);
        int b = q.size(0);
        int l = q.size(1);
        int s = k.size(1);
        if (q.size(2) != embedDim || k.size(2) != kdim || v.size(2) != vdim || k.size(0) != b || v.size(0) != b || v.size(1) != s) {
            throw new IllegalArgumentException("MultiheadAttention: expected query [B, L, " + embedDim + "], key [B, S, " + kdim
                    + "] and value [B, S, " + vdim + "] (batch_first=" + Repr.bool(batchFirst) + "), got " + query.size() + ", " + key.size()
                    + ", " + value.size());
        }
        if (keyPaddingMask != null) {
            checkPaddingMaskType(keyPaddingMask);
            if (keyPaddingMask.dim() != 2 || keyPaddingMask.size(0) != b || keyPaddingMask.size(1) != s) {
                throw new IllegalArgumentException("MultiheadAttention: expecting key_padding_mask shape of [" + b + ", " + s + "] (batch, S), but got "
                        + keyPaddingMask.size());
            }
        }
        int d = embedDim / numHeads;
        Tensor qh = heads(project(q, 0), b, l, d);
        Tensor kp = project(k, 1);
        Tensor vp = project(v, 2);
        int extra = (biasK != null ? 1 : 0) + (addZeroAttn ? 1 : 0); // keys appended after the projection
        if (biasK != null) { // PyTorch's bias_k / bias_v: one more key and value for every batch
            kp = Tensor.cat(new Tensor[] {kp, biasK.expand(b, 1, embedDim)}, 1);
            vp = Tensor.cat(new Tensor[] {vp, biasV.expand(b, 1, embedDim)}, 1);
        }
        int sk = s + (biasK != null ? 1 : 0);
        Tensor kh = heads(kp, b, sk, d);
        Tensor vh = heads(vp, b, sk, d);
        if (addZeroAttn) { // and a key and value of zeros per head
            try (Tensor zeros = Tensor.zeros(b, numHeads, 1, d)) {
                kh = Tensor.cat(new Tensor[] {kh, zeros}, 2);
                vh = Tensor.cat(new Tensor[] {vh, zeros}, 2);
            }
        }
        Tensor mask = attnMask;
        if (mask != null) {
            boolean fits = mask.dim() == 2 ? mask.size(0) == l && mask.size(1) == s
                    : mask.dim() == 3 && mask.size(0) == (long) b * numHeads && mask.size(1) == l && mask.size(2) == s;
            if (!fits) { // PyTorch's check: a mask of another shape would be viewed or broadcast into a scrambled one
                throw new IllegalArgumentException("MultiheadAttention: the shape of the " + mask.dim() + "D attn_mask is " + mask.size()
                        + ", but should be [" + l + ", " + s + "] or [" + (long) b * numHeads + ", " + l + ", " + s + "] (L, S and batch * num_heads)");
            }
            if (mask.dtype() == dev.lanes.DType.INT64) {
                throw new IllegalArgumentException("MultiheadAttention: only float and bool types are supported for attn_mask, not " + mask.dtype().torchName());
            }
            if (isCausal) {
                throw new IllegalArgumentException("MultiheadAttention: explicit attn_mask should not be set when is_causal=True");
            }
            mask = additive(mask);
            if (mask.dim() == 3) { // [B * H, L, S] -> [B, H, L, S]
                mask = mask.view(b, numHeads, l, s);
            }
        }
        boolean causal = isCausal;
        if (extra > 0 && causal) { // the appended keys are seen by every query: the causal mask made explicit, then padded
            mask = F.causalMask(l, s);
            causal = false;
        }
        if (extra > 0 && mask != null) {
            mask = padKeys(mask, extra);
        }
        if (keyPaddingMask != null) { // one mask: attn_mask or the causal one [L, S] (or [B, H, L, S]) + padding [B, 1, 1, S]
            if (causal) {
                mask = F.causalMask(l, s);
                causal = false;
            }
            Tensor padding = additive(keyPaddingMask);
            if (extra > 0) {
                padding = padKeys(padding, extra);
            }
            padding = padding.reshape(b, 1, 1, s + extra);
            mask = mask == null ? padding : mask.add(padding);
        }
        double p = isTraining() ? dropout : 0.0;
        Tensor weights = null;
        Tensor attended;
        if (needWeights) {
            Tensor scores = qh.matmul(kh.transpose(-2, -1)).mul(1 / Math.sqrt(d));
            if (causal) {
                scores = scores.add(F.causalMask(l, s));
            } else if (mask != null) {
                scores = scores.add(mask);
            }
            Tensor w = scores.softmax(-1);
            Tensor dropped = p > 0 ? w.dropout(p, true) : w; // as PyTorch: the weights it returns are the ones it applied
            weights = averageAttnWeights ? dropped.mean(1) : dropped;
            attended = dropped.matmul(vh);
        } else {
            attended = F.scaledDotProductAttention(qh, kh, vh, mask, p, causal);
        }
        Tensor merged = attended.transpose(1, 2).reshape(b, l, embedDim);
        Tensor out = outProj.forward(merged);
        return new Output(batchFirst ? out : out.transpose(0, 1), weights);
    }

    /** The additive mask with {@code extra} columns of zeros (not masked) after its last, for the appended keys. */
    private static Tensor padKeys(Tensor mask, int extra) {
        int[] shape = mask.shape().clone();
        shape[shape.length - 1] = extra;
        try (Tensor zeros = Tensor.zeros(shape)) {
            return Tensor.cat(new Tensor[] {mask, zeros}, mask.dim() - 1);
        }
    }

    /** A float mask as it is; a bool one as nn.MultiheadAttention reads it: true = may NOT attend (-inf), false 0. */
    private static Tensor additive(Tensor mask) {
        if (mask.dtype() != dev.lanes.DType.BOOL) {
            return mask;
        }
        try (Tensor zeros = Tensor.zeros(mask.shape())) {
            return zeros.maskedFill(mask, Double.NEGATIVE_INFINITY);
        }
    }

    private static void checkPaddingMaskType(Tensor keyPaddingMask) {
        if (keyPaddingMask.dtype() != dev.lanes.DType.BOOL && keyPaddingMask.dtype() != dev.lanes.DType.FLOAT32) {
            throw new IllegalArgumentException("MultiheadAttention: only bool and floating types of key_padding_mask are supported, got "
                    + keyPaddingMask.dtype().torchName());
        }
    }

    /**
     * Unbatched input, as PyTorch runs it: query {@code [L, E]}, key and value {@code [S, E]}, attnMask {@code [L, S]} or
     * {@code [numHeads, L, S]}, keyPaddingMask {@code [S]}; a batch of one is added at the batch dim, attended, and
     * removed from the output ({@code [L, E]}) and the weights ({@code [L, S]} or {@code [numHeads, L, S]}).
     */
    private Output unbatched(Tensor query, Tensor key, Tensor value, Tensor keyPaddingMask, boolean needWeights, Tensor attnMask,
                             boolean averageAttnWeights, boolean isCausal) {
        if (key.dim() != 2 || value.dim() != 2) {
            throw new IllegalArgumentException("MultiheadAttention: for an unbatched (2-d) query, expected 2-d key and value, got "
                    + query.size() + ", " + key.size() + ", " + value.size());
        }
        int l = query.size(0);
        int s = key.size(0);
        if (query.size(1) != embedDim || key.size(1) != kdim || value.size(1) != vdim || value.size(0) != s) {
            throw new IllegalArgumentException("MultiheadAttention: expected an unbatched query [L, " + embedDim + "], key [S, " + kdim
                    + "] and value [S, " + vdim + "], got " + query.size() + ", " + key.size() + ", " + value.size());
        }
        if (attnMask != null) {
            boolean fits = attnMask.dim() == 2 ? attnMask.size(0) == l && attnMask.size(1) == s
                    : attnMask.dim() == 3 && attnMask.size(0) == numHeads && attnMask.size(1) == l && attnMask.size(2) == s;
            if (!fits) { // PyTorch's check: the 3-d mask is [num_heads, L, S] (a batch of one)
                throw new IllegalArgumentException("MultiheadAttention: the shape of the " + attnMask.dim() + "D attn_mask is " + attnMask.size()
                        + ", but should be [" + l + ", " + s + "] or [" + numHeads + ", " + l + ", " + s + "] (L, S and num_heads, for an unbatched query)");
            }
        }
        if (keyPaddingMask != null) {
            checkPaddingMaskType(keyPaddingMask);
            if (keyPaddingMask.dim() != 1 || keyPaddingMask.size(0) != s) {
                throw new IllegalArgumentException("MultiheadAttention: expecting key_padding_mask shape of [" + s + "] (S, for an unbatched query), but got "
                        + keyPaddingMask.size());
            }
        }
        int batchDim = batchFirst ? 0 : 1;
        Output o = attention(query.unsqueeze(batchDim), key.unsqueeze(batchDim), value.unsqueeze(batchDim),
                keyPaddingMask == null ? null : keyPaddingMask.unsqueeze(0), needWeights, attnMask, averageAttnWeights, isCausal);
        return new Output(o.output().squeeze(batchDim), o.weights() == null ? null : o.weights().squeeze(0));
    }

    /** The part {@code which} (0 query, 1 key, 2 value) of the packed input projection applied to x. */
    private Tensor project(Tensor x, int which) {
        Tensor w = inProjWeight != null ? inProjWeight.narrow(0, which * embedDim, embedDim)
                : which == 0 ? qProjWeight : which == 1 ? kProjWeight : vProjWeight;
        Tensor bias = inProjBias == null ? null : inProjBias.narrow(0, which * embedDim, embedDim);
        return F.linear(x, w, bias);
    }

    /** {@code [B, T, E]} -> {@code [B, H, T, D]}. */
    private Tensor heads(Tensor x, int b, int t, int d) {
        return x.view(b, t, numHeads, d).transpose(1, 2);
    }

    @Override
    public String toString() {
        return "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=" + embedDim + ", out_features=" + embedDim
                + ", bias=" + Repr.bool(outProj.bias != null) + ")\n)";
    }
}
