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
}
