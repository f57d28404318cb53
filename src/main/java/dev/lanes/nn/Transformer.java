package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * The encoder-decoder transformer, like {@code torch.nn.Transformer(d_model, nhead, num_encoder_layers,
 * num_decoder_layers, dim_feedforward, dropout, activation, custom_encoder, custom_decoder, layer_norm_eps,
 * batch_first, norm_first)}: a {@link TransformerEncoder} of {@code numEncoderLayers} layers and a final LayerNorm, a
 * {@link TransformerDecoder} of {@code numDecoderLayers} layers attending to the encoder's output and a final
 * LayerNorm. As PyTorch's, every parameter of more than one dimension is then re-initialised xavier-uniform. State dict
 * keys are PyTorch's ({@code encoder.layers.0.self_attn.in_proj_weight}, ..., {@code decoder.norm.bias}).
 */
public class Transformer extends Module {
    public final TransformerEncoder encoder;
    public final TransformerDecoder decoder;
    public final int dModel;
    public final int nhead;
    public final boolean batchFirst;

    /** PyTorch's defaults: d_model 512, 8 heads, 6 + 6 layers, dim_feedforward 2048, dropout 0.1, relu, [S, B, E]. */
    public Transformer() {
        this(512, 8, 6, 6, 2048, 0.1, "relu", 1e-5, false, false);
    }

    /** @param activation "relu" or "gelu" */
    public Transformer(int dModel, int nhead, int numEncoderLayers, int numDecoderLayers, int dimFeedforward, double dropout, String activation,
                       double layerNormEps, boolean batchFirst, boolean normFirst) {
        this(new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst),
                numEncoderLayers, new LayerNorm(new int[] {dModel}, layerNormEps, true)),
                new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst),
                        numDecoderLayers, new LayerNorm(new int[] {dModel}, layerNormEps, true)), dModel, nhead, batchFirst);
    }

    /** PyTorch's custom_encoder / custom_decoder: these two, as they are; their parameters are re-initialised too, as PyTorch's. */
    public Transformer(TransformerEncoder encoder, TransformerDecoder decoder, int dModel, int nhead, boolean batchFirst) {
        if (encoder == null || decoder == null) {
            throw new IllegalArgumentException("Transformer: encoder and decoder must not be null");
        }
        this.encoder = register("encoder", encoder);
        this.decoder = register("decoder", decoder);
        this.dModel = dModel;
        this.nhead = nhead;
        this.batchFirst = batchFirst;
        for (Tensor p : parameters()) { // PyTorch's _reset_parameters
            if (p.dim() > 1) {
                Init.xavierUniform_(p, 1.0);
            }
        }
    }

    /**
     * {@code [sz, sz]}: 0 on and below the diagonal, -inf above (PyTorch's float mask: each position may attend to
     * itself and the ones before it), for {@code tgt_mask}.
     */
    public static Tensor generateSquareSubsequentMask(int sz) {
        if (sz < 0) {
            throw new IllegalArgumentException("generateSquareSubsequentMask: size must be non-negative, got " + sz);
        }
        return F.causalMask(sz, sz);
    }

    /** A transformer needs the target too: call {@link #forward(Tensor, Tensor)}. */
    @Override
    public Tensor forward(Tensor src) {
        throw new IllegalArgumentException("Transformer needs the target too: call forward(src, tgt)");
    }

    public Tensor forward(Tensor src, Tensor tgt) {
        return forward(src, tgt, null, null, null, null, null, null);
    }

    /**
     * PyTorch's {@code forward(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask,
     * memory_key_padding_mask)}: the encoder's output of src (with src_mask and src_key_padding_mask) is the decoder's
     * memory; any mask may be null. Shapes: src {@code [S, B, E]} / {@code [B, S, E]} / {@code [S, E]}, tgt likewise with
     * T; src_mask {@code [S, S]}, tgt_mask {@code [T, T]}, memory_mask {@code [T, S]}; padding masks {@code [B, S]},
     * {@code [B, T]}, {@code [B, S]}.
     */
    public Tensor forward(Tensor src, Tensor tgt, Tensor srcMask, Tensor tgtMask, Tensor memoryMask, Tensor srcKeyPaddingMask, Tensor tgtKeyPaddingMask,
                          Tensor memoryKeyPaddingMask) {
        if (src.dim() == 3 && tgt.dim() == 3 && src.size(batchFirst ? 0 : 1) != tgt.size(batchFirst ? 0 : 1)) {
            throw new IllegalArgumentException("Transformer: the batch number of src and tgt must be equal, got " + src.size() + " and " + tgt.size()
                    + " (batch_first=" + Repr.bool(batchFirst) + ")");
        }
        if (src.size(-1) != dModel || tgt.size(-1) != dModel) {
            throw new IllegalArgumentException("Transformer: the feature number of src and tgt must be equal to d_model (" + dModel + "), got "
                    + src.size() + " and " + tgt.size());
        }
        Tensor memory = encoder.forward(src, srcMask, srcKeyPaddingMask);
        return decoder.forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask);
    }
}
