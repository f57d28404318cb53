package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rest of torch.nn's transformer family against PyTorch 1.13 ({@code golden/transformer.txt} from
 * {@code src/test/python/gen_transformer_golden.py}): MultiheadAttention with kdim / vdim, add_bias_kv and
 * add_zero_attn. PyTorch's state dict is loaded strictly (its keys, in its order, are the module's), then the output
 * and the gradients of {@code sum(y * g)} for every input and parameter are compared, in eval (dropout off).
 * Tolerance 2e-5 absolute and relative, as AttentionTest's.
 */
class TransformerTest {
    private static final GoldenRows GOLDEN = new GoldenRows("transformer.txt", "src/test/python/gen_transformer_golden.py", 2e-5);

    private static Tensor golden(String name) {
        return GOLDEN.get(name);
    }

    /** MultiheadAttention row {@code row}: query/key/value (or x, self-attention) with its masks, the weights if recorded. */
    private static void checkAttention(String row, MultiheadAttention m, String[] inputs, boolean average, boolean isCausal) {
        Tensor weights = GOLDEN.optional(row + "/weights");
        GOLDEN.check(row, m, inputs, in -> {
            Tensor q = in.getOrDefault("x", in.get("query"));
            Tensor k = in.getOrDefault("x", in.get("key"));
            Tensor v = in.getOrDefault("x", in.get("value"));
            MultiheadAttention.Output o = m.attention(q, k, v, GOLDEN.optional(row + "/kpm"), weights != null,
                    isCausal ? null : GOLDEN.optional(row + "/mask"), average, isCausal);
            if (weights != null) {
                GOLDEN.assertClose(o.weights(), weights, row + " weights");
            }
            return o.output();
        });
    }

    private static final String[] QKV = {"query", "key", "value"};
    private static final String[] X = {"x"};

    /**
     * kdim / vdim other than embed_dim: PyTorch's separate q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight
     * [E, vdim] (no in_proj_weight), batch_first or not, batched or not, with and without biases, masks and weights.
     */
    @Test
    void keysAndValuesOfOtherWidthsMatchPyTorch() {
        MultiheadAttention kv = new MultiheadAttention(8, 2, 0.0, true, false, false, 6, 5, true);
        assertThat(kv.inProjWeight).isNull();
        assertThat(kv.stateDict().keySet()).containsExactly("q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
                "out_proj.bias");
        assertThat(kv.kProjWeight.shape()).containsExactly(8, 6);
        assertThat(kv.vProjWeight.shape()).containsExactly(8, 5);
        checkAttention("mha_kvdim_bf", kv, QKV, true, false);
        checkAttention("mha_kvdim_unbatched", kv, QKV, false, false);
        MultiheadAttention noBias = new MultiheadAttention(8, 2, 0.0, false, false, false, 3, 8, false);
        checkAttention("mha_kvdim_sf_nobias", noBias, QKV, true, false);
        assertThat(noBias.stateDict().keySet()).containsExactly("q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight");

        // kdim == vdim == embed_dim is the packed in_proj_weight, as PyTorch's _qkv_same_embed_dim
        assertThat(new MultiheadAttention(8, 2, 0.0, true, false, false, 8, 8, true).stateDict().keySet())
                .containsExactly("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias");
        try (Tensor q = Tensor.randn(2, 4, 8); Tensor k = Tensor.randn(2, 6, 8); Tensor v = Tensor.randn(2, 6, 5)) {
            assertThatThrownBy(() -> kv.forward(q, k, v, null, false)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("key [B, S, 6]").hasMessageContaining("[2, 6, 8]");
            assertThatThrownBy(() -> kv.forward(q.select(0, 0), k.select(0, 0), v.select(0, 0), null, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key [S, 6]").hasMessageContaining("[6, 8]");
        }
        assertThatThrownBy(() -> new MultiheadAttention(8, 2, 0.0, true, false, false, 0, 8, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kdim");
    }

    /**
     * add_bias_kv (a learned key and value appended to every sequence) and add_zero_attn (a key and value of zeros per
     * head): the masks padded with a column not masked for each, the weights over S + 1 or S + 2 keys; with bool and
     * float masks, 2-d and 3-d, padding masks, unbatched, and the causal mask (Lanes' isCausal, PyTorch given the float
     * one).
     */
    @Test
    void addBiasKvAndAddZeroAttnMatchPyTorch() {
        MultiheadAttention both = new MultiheadAttention(8, 2, 0.0, true, true, true, 8, 8, false);
        assertThat(both.stateDict().keySet()).containsExactly("in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                "out_proj.bias");
        assertThat(both.biasK.shape()).containsExactly(1, 1, 8);
        assertThat(both.biasK.abs().sum().item()).as("bias_k xavier-normal, not zero").isPositive();
        checkAttention("mha_bias_kv_zero_attn", both, X, true, false);
        assertThat(golden("mha_bias_kv_zero_attn/weights").shape()).containsExactly(3, 5, 7);
        checkAttention("mha_bias_kv_unbatched", both, X, true, false);
        MultiheadAttention biasKv = new MultiheadAttention(8, 2, 0.0, true, true, false, 6, 6, true);
        checkAttention("mha_bias_kv_kvdim", biasKv, QKV, true, false);
        MultiheadAttention zero = new MultiheadAttention(8, 4, 0.0, true, false, true, 8, 8, true);
        checkAttention("mha_zero_attn_causal", zero, X, true, false);
        checkAttention("mha_zero_attn_causal", zero, X, true, true);
        GOLDEN.check("mha_zero_attn_causal", zero, X, in -> zero.forward(in.get("x"), in.get("x"), in.get("x"), null, true)); // no weights
    }

    private static final String[] TGT_MEMORY = {"tgt", "memory"};

    /** Decoder row {@code row}: forward(tgt, memory, masks) with the row's masks (absent ones null), in eval. */
    private static void checkDecoderLayer(String row, TransformerDecoderLayer layer) {
        layer.eval();
        GOLDEN.check(row, layer, TGT_MEMORY, in -> layer.forward(in.get("tgt"), in.get("memory"), GOLDEN.optional(row + "/tgt_mask"),
                GOLDEN.optional(row + "/memory_mask"), GOLDEN.optional(row + "/tgt_key_padding_mask"),
                GOLDEN.optional(row + "/memory_key_padding_mask")));
    }

    /**
     * TransformerDecoderLayer in eval (dropout 0.1 off): post-norm relu [T, B, E] with a causal float tgt_mask and a
     * float memory padding mask; pre-norm gelu batch_first with a bool tgt_mask, a float memory_mask and bool padding
     * masks; post-norm gelu batch_first with another eps and no masks; pre-norm relu unbatched with padding masks. Outputs
     * and the gradients of tgt, memory and every parameter (PyTorch's names: self_attn, multihead_attn, linear1/2,
     * norm1/2/3).
     */
    @Test
    void transformerDecoderLayersMatchPyTorch() {
        TransformerDecoderLayer post = new TransformerDecoderLayer(8, 2, 16, 0.1, "relu", 1e-5, false, false);
        checkDecoderLayer("decoder_postnorm_relu_sf", post);
        checkDecoderLayer("decoder_prenorm_gelu_bf", new TransformerDecoderLayer(8, 2, 16, 0.1, "gelu", 1e-5, true, true));
        checkDecoderLayer("decoder_postnorm_gelu_bf_nomask", new TransformerDecoderLayer(8, 4, 12, 0.1, "gelu", 1e-3, true, false));
        TransformerDecoderLayer preUnbatched = new TransformerDecoderLayer(8, 2, 16, 0.1, "relu", 1e-5, false, true);
        checkDecoderLayer("decoder_prenorm_relu_unbatched", preUnbatched);
        // tgtIsCausal is the causal float tgt_mask
        GOLDEN.check("decoder_prenorm_relu_unbatched", preUnbatched, TGT_MEMORY, in -> preUnbatched.forward(in.get("tgt"), in.get("memory"), null,
                null, golden("decoder_prenorm_relu_unbatched/tgt_key_padding_mask"),
                golden("decoder_prenorm_relu_unbatched/memory_key_padding_mask"), true));
        assertThat(post.stateDict().keySet()).startsWith("self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                "self_attn.out_proj.bias", "multihead_attn.in_proj_weight").endsWith("norm3.weight", "norm3.bias");
    }

    /** tgt and memory of other widths, batches or ranks, nhead not dividing d_model: PyTorch-like messages. */
    @Test
    void decoderLayerShapeErrors() {
        TransformerDecoderLayer bf = new TransformerDecoderLayer(8, 2, 16, 0.0, "relu", 1e-5, true, false);
        TransformerDecoderLayer sf = new TransformerDecoderLayer(8, 2, 16, 0.0, "relu", 1e-5, false, false);
        try (Tensor tgt = Tensor.randn(2, 4, 8); Tensor narrow = Tensor.randn(2, 6, 6); Tensor otherBatch = Tensor.randn(3, 6, 8);
             Tensor unbatched = Tensor.randn(6, 8)) {
            assertThatThrownBy(() -> bf.forward(tgt, narrow)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the feature number of tgt and memory must be equal to d_model (8)").hasMessageContaining("[2, 6, 6]");
            assertThatThrownBy(() -> bf.forward(narrow, tgt)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("d_model (8)");
            assertThatThrownBy(() -> bf.forward(tgt, otherBatch)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the batch number of tgt and memory must be equal").hasMessageContaining("[3, 6, 8]");
            assertThatThrownBy(() -> sf.forward(tgt, otherBatch)).isInstanceOf(IllegalArgumentException.class) // [T, B, E]: batches 4 and 6
                    .hasMessageContaining("the batch number of tgt and memory must be equal");
            assertThatThrownBy(() -> bf.forward(tgt, unbatched)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both 3-d")
                    .hasMessageContaining("[6, 8]");
            assertThatThrownBy(() -> bf.forward(tgt)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forward(tgt, memory)");
            assertThatThrownBy(() -> bf.forward(tgt, tgt, null, Tensor.zeros(4, 5), null, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("attn_mask is Size([4, 5])");
        }
        assertThatThrownBy(() -> new TransformerDecoderLayer(10, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embed_dim must be divisible by num_heads");
        assertThatThrownBy(() -> new TransformerDecoderLayer(8, 2, 16, 0.1, "tanh", 1e-5, true, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("relu/gelu");
    }

    /**
     * In training dropout (in both attentions, after each block and in the feed-forward network) draws from Lanes'
     * generator: the same seed gives the same output, another output than eval's; eval gives one output every time.
     */
    @Test
    void decoderLayerDropoutOnlyInTrainingAndSeeded() {
        Lanes.manualSeed(41);
        TransformerDecoderLayer layer = new TransformerDecoderLayer(8, 2, 16, 0.3, "gelu", 1e-5, true, true);
        try (Autograd.Mode g = Autograd.noGrad(); Tensor tgt = Tensor.randn(2, 4, 8); Tensor memory = Tensor.randn(2, 5, 8)) {
            layer.eval();
            float[] a = layer.forward(tgt, memory).toFloatArray();
            assertThat(layer.forward(tgt, memory).toFloatArray()).containsExactly(a);
            layer.train();
            Lanes.manualSeed(5);
            float[] t1 = layer.forward(tgt, memory).toFloatArray();
            Lanes.manualSeed(5);
            assertThat(layer.forward(tgt, memory).toFloatArray()).containsExactly(t1);
            assertThat(t1).isNotEqualTo(a);
            assertThat(layer.forward(tgt, memory).toFloatArray()).isNotEqualTo(t1);
        }
    }

    /**
     * TransformerEncoder in eval: three post-norm layers batch_first with a causal mask, a padding mask and a final
     * LayerNorm; two pre-norm gelu layers [S, B, E] with a padding mask and no final norm. The layers' parameters differ
     * (perturbed in PyTorch after the copies), so each layer's keys ({@code layers.i.*}) are checked to land in place.
     */
    @Test
    void transformerEncodersMatchPyTorch() {
        TransformerEncoder enc = new TransformerEncoder(new TransformerEncoderLayer(8, 2, 16, 0.1, "relu", 1e-5, true, false), 3, new LayerNorm(8));
        enc.eval();
        String row = "encoder_stack_bf_norm";
        GOLDEN.check(row, enc, new String[] {"src"}, in -> enc.forward(in.get("src"), golden(row + "/mask"), golden(row + "/src_key_padding_mask")));
        GOLDEN.check(row, enc, new String[] {"src"}, in -> enc.forward(in.get("src"), null, golden(row + "/src_key_padding_mask"), true));
        assertThat(enc.stateDict().keySet()).contains("layers.2.norm2.bias", "norm.weight").doesNotContain("layers.3.norm2.bias");
        TransformerEncoder pre = new TransformerEncoder(new TransformerEncoderLayer(8, 2, 16, 0.1, "gelu", 1e-5, false, true), 2);
        pre.eval();
        GOLDEN.check("encoder_stack_sf_prenorm", pre, new String[] {"src"},
                in -> pre.forward(in.get("src"), null, golden("encoder_stack_sf_prenorm/src_key_padding_mask")));
        assertThat(pre.norm).isNull();
    }

    /** TransformerDecoder in eval: two pre-norm layers batch_first with a final LayerNorm, causal tgt_mask, memory padding; two post-norm [T, B, E]. */
    @Test
    void transformerDecodersMatchPyTorch() {
        TransformerDecoder dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.1, "relu", 1e-5, true, true), 2, new LayerNorm(8));
        dec.eval();
        String row = "decoder_stack_bf_prenorm_norm";
        GOLDEN.check(row, dec, TGT_MEMORY, in -> dec.forward(in.get("tgt"), in.get("memory"), golden(row + "/tgt_mask"), null, null,
                golden(row + "/memory_key_padding_mask")));
        GOLDEN.check(row, dec, TGT_MEMORY, in -> dec.forward(in.get("tgt"), in.get("memory"), null, null, null,
                golden(row + "/memory_key_padding_mask"), true));
        TransformerDecoder post = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.1, "relu", 1e-5, false, false), 2);
        post.eval();
        GOLDEN.check("decoder_stack_sf", post, TGT_MEMORY, in -> post.forward(in.get("tgt"), in.get("memory"), null, null,
                golden("decoder_stack_sf/tgt_key_padding_mask"), null));
        assertThatThrownBy(() -> post.forward(Tensor.randn(4, 2, 8))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memory");
    }

    /**
     * nn.Transformer in eval: 2 encoder + 1 decoder layers batch_first with generate_square_subsequent_mask and padding
     * masks; 1 + 2 pre-norm gelu layers [S, B, E] with src, tgt and memory masks and a tgt padding mask. Every
     * parameter's gradient (encoder.*, decoder.*) and both inputs'.
     */
    @Test
    void transformersMatchPyTorch() {
        Transformer t = new Transformer(8, 2, 2, 1, 16, 0.1, "relu", 1e-5, true, false);
        t.eval();
        String row = "transformer_bf";
        GOLDEN.check(row, t, new String[] {"src", "tgt"}, in -> t.forward(in.get("src"), in.get("tgt"), null, golden(row + "/tgt_mask"), null,
                golden(row + "/src_key_padding_mask"), null, golden(row + "/memory_key_padding_mask")));
        Transformer sf = new Transformer(8, 4, 1, 2, 12, 0.1, "gelu", 1e-5, false, true);
        sf.eval();
        String r = "transformer_sf_prenorm_gelu";
        GOLDEN.check(r, sf, new String[] {"src", "tgt"}, in -> sf.forward(in.get("src"), in.get("tgt"), golden(r + "/src_mask"), golden(r + "/tgt_mask"),
                golden(r + "/memory_mask"), null, golden(r + "/tgt_key_padding_mask"), null));
    }

    @Test
    void generateSquareSubsequentMaskIsPyTorchs() {
        assertThat(Transformer.generateSquareSubsequentMask(5).toFloatArray()).containsExactly(golden("square_subsequent_mask_5").toFloatArray());
        assertThat(Transformer.generateSquareSubsequentMask(0).shape()).containsExactly(0, 0);
        assertThatThrownBy(() -> Transformer.generateSquareSubsequentMask(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The stacks hold deep copies (PyTorch's _get_clones): the layers start with the given layer's values and training
     * mode but own their parameters (a step on one changes neither the others nor the layer given, which is no
     * submodule). nn.Transformer re-initialises every matrix xavier-uniform, so its layers differ.
     */
    @Test
    void stacksHoldIndependentCopies() {
        Lanes.manualSeed(3);
        TransformerEncoderLayer layer = new TransformerEncoderLayer(8, 2, 16, 0.1, "relu", 1e-5, true, false);
        layer.eval();
        TransformerEncoder enc = new TransformerEncoder(layer, 2);
        assertThat(enc.layer(0).isTraining()).isFalse();
        float[] original = layer.linear1.weight.toFloatArray();
        assertThat(enc.layer(1).linear1.weight.toFloatArray()).containsExactly(original);
        assertThat(enc.layer(0).linear1.weight).isNotSameAs(enc.layer(1).linear1.weight);
        try (Autograd.Mode g = Autograd.noGrad()) {
            enc.layer(0).linear1.weight.add_(Tensor.ones(16, 8));
        }
        assertThat(enc.layer(1).linear1.weight.toFloatArray()).containsExactly(original);
        assertThat(layer.linear1.weight.toFloatArray()).containsExactly(original);
        assertThat(enc.parameters()).hasSize(2 * layer.parameters().size()).doesNotContain(layer.linear1.weight);
        assertThat(enc.layers.size()).isEqualTo(2);

        TransformerDecoderLayer decLayer = new TransformerDecoderLayer(8, 2, 16, 0.2, "gelu", 1e-4, false, true);
        TransformerDecoder dec = new TransformerDecoder(decLayer, 3);
        assertThat(dec.layer(2).multiheadAttn.inProjWeight.toFloatArray()).containsExactly(decLayer.multiheadAttn.inProjWeight.toFloatArray());
        assertThat(dec.layer(2).norm3.eps).isEqualTo(1e-4);
        assertThat(dec.layer(2).multiheadAttn.inProjWeight).isNotSameAs(dec.layer(1).multiheadAttn.inProjWeight);

        Transformer t = new Transformer(8, 2, 2, 2, 16, 0.1, "relu", 1e-5, true, false);
        Map<String, Tensor> state = t.stateDict();
        assertThat(state.get("encoder.layers.0.linear1.weight").toFloatArray()).isNotEqualTo(state.get("encoder.layers.1.linear1.weight").toFloatArray());
        double bound = Math.sqrt(6.0 / (8 + 16));
        for (float w : state.get("decoder.layers.1.linear2.weight").toFloatArray()) {
            assertThat(Math.abs(w)).isLessThanOrEqualTo((float) bound);
        }
        assertThat(state.keySet()).contains("encoder.norm.weight", "decoder.norm.bias", "decoder.layers.1.multihead_attn.out_proj.weight");
        assertThatThrownBy(() -> new TransformerEncoder(layer, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("num_layers");
    }

    /** nn.Transformer's PyTorch checks: src and tgt of one batch, both d_model wide; nhead dividing d_model. */
    @Test
    void transformerShapeErrors() {
        Transformer bf = new Transformer(8, 2, 1, 1, 16, 0.0, "relu", 1e-5, true, false);
        Transformer sf = new Transformer(8, 2, 1, 1, 16, 0.0, "relu", 1e-5, false, false);
        try (Tensor src = Tensor.randn(2, 5, 8); Tensor tgt = Tensor.randn(3, 4, 8); Tensor wide = Tensor.randn(2, 4, 6)) {
            assertThatThrownBy(() -> bf.forward(src, tgt)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the batch number of src and tgt must be equal").hasMessageContaining("[3, 4, 8]");
            assertThatThrownBy(() -> sf.forward(src, tgt)).isInstanceOf(IllegalArgumentException.class) // [S, B, E]: batches 5 and 4
                    .hasMessageContaining("the batch number of src and tgt must be equal");
            assertThatThrownBy(() -> bf.forward(src, wide)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the feature number of src and tgt must be equal to d_model (8)").hasMessageContaining("[2, 4, 6]");
            assertThatThrownBy(() -> bf.forward(src)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forward(src, tgt)");
        }
        assertThatThrownBy(() -> new Transformer(10, 4, 1, 1, 16, 0.1, "relu", 1e-5, true, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embed_dim must be divisible by num_heads");
    }

    /** A seq2seq Transformer in training: the same seed, the same output; eval's differs and repeats. */
    @Test
    void transformerDropoutOnlyInTrainingAndSeeded() {
        Lanes.manualSeed(8);
        Transformer t = new Transformer(8, 2, 2, 2, 16, 0.2, "relu", 1e-5, true, true);
        try (Autograd.Mode g = Autograd.noGrad(); Tensor src = Tensor.randn(2, 6, 8); Tensor tgt = Tensor.randn(2, 4, 8);
             Tensor causal = Transformer.generateSquareSubsequentMask(4)) {
            t.eval();
            float[] ev = t.forward(src, tgt, null, causal, null, null, null, null).toFloatArray();
            assertThat(t.forward(src, tgt, null, causal, null, null, null, null).toFloatArray()).containsExactly(ev);
            t.train();
            Lanes.manualSeed(17);
            float[] a = t.forward(src, tgt, null, causal, null, null, null, null).toFloatArray();
            Lanes.manualSeed(17);
            assertThat(t.forward(src, tgt, null, causal, null, null, null, null).toFloatArray()).containsExactly(a);
            assertThat(a).isNotEqualTo(ev);
        }
    }

    /**
     * A seq2seq Transformer in eval traces into a plan over the target (src a constant, the causal mask made inside
     * forward) that gives the eager output; so does MultiheadAttention with kdim / vdim, add_bias_kv and add_zero_attn.
     */
    @Test
    void transformersTraceIntoAPlan() {
        Lanes.manualSeed(13);
        Transformer t = new Transformer(16, 4, 2, 2, 32, 0.1, "gelu", 1e-5, true, true);
        t.eval();
        MultiheadAttention mha = new MultiheadAttention(16, 4, 0.1, true, true, true, 6, 10, true);
        mha.eval();
        try (Autograd.Mode g = Autograd.noGrad(); Tensor src = Tensor.randn(2, 7, 16); Tensor key = Tensor.randn(2, 7, 6);
             Tensor value = Tensor.randn(2, 7, 10); Tensor x = Tensor.randn(2, 5, 16)) {
            java.util.function.Function<Tensor, Tensor> seq2seq = tgt -> t.decoder.forward(tgt, t.encoder.forward(src), null, null, null, null, true);
            java.util.function.Function<Tensor, Tensor> cross = q -> mha.forward(q, key, value, null, true);
            for (java.util.function.Function<Tensor, Tensor> f : java.util.List.of(seq2seq, cross)) {
                try (Tensor want = f.apply(x); dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(f::apply, 2, 5, 16)) {
                    float[] got = new float[want.numel()];
                    plan.run(x.toFloatArray(), got);
                    float[] w = want.toFloatArray();
                    for (int i = 0; i < w.length; i++) {
                        assertThat(Math.abs(got[i] - w[i])).as("element %d of\n%s", i, plan).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(w[i]));
                    }
                }
            }
        }
    }
}
