package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.nn.functional.F;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Scaled dot-product attention, MultiheadAttention and TransformerEncoderLayer against PyTorch 1.13
 * ({@code golden/attention.txt} from {@code src/test/python/gen_attention_golden.py}): PyTorch's initial weights are
 * loaded through the state dict (so its names and shapes are checked too), then the output and the gradients of
 * {@code sum(y * g)} for every input and parameter are compared. Tolerance 2e-5 absolute and relative: several
 * products and a softmax deep, summed in another order than PyTorch's.
 */
class AttentionTest {
    private static final double TOL = 2e-5;
    private static final Map<String, TestGolden.Case> GOLDEN = new HashMap<>();

    static {
        for (TestGolden.Case c : TestGolden.read("attention.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    private static Tensor golden(String name) {
        TestGolden.Case c = GOLDEN.get(name);
        if (c == null) {
            throw new IllegalStateException("no golden " + name + "; run src/test/python/gen_attention_golden.py");
        }
        return c.tensor();
    }

    /** Runs row {@code row}: loads the parameters into {@code module} (may be null), calls fn on the inputs, checks all. */
    private static void check(String row, Module module, String[] inputs, Function<Map<String, Tensor>, Tensor> fn) {
        if (module != null) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (String key : module.stateDict().keySet()) {
                state.put(key, golden(row + "/param/" + key));
            }
            module.loadStateDict(state);
            module.zeroGrad(true);
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String k : inputs) {
            in.put(k, golden(row + "/in/" + k).requiresGrad(true));
        }
        Tensor y = fn.apply(in);
        assertClose(y, golden(row + "/y"), row + " output");
        y.backward(golden(row + "/g"));
        for (String k : inputs) {
            assertClose(in.get(k).grad(), golden(row + "/d/" + k), row + " d" + k);
        }
        if (module != null) {
            for (Map.Entry<String, Tensor> p : module.namedParameters().entrySet()) {
                assertClose(p.getValue().grad(), golden(row + "/grad/" + p.getKey()), row + " grad of " + p.getKey());
            }
        }
    }

    private static void assertClose(Tensor got, Tensor want, String what) {
        assertThat(got).as(what + ": no gradient").isNotNull();
        assertThat(got.shape()).as(what).isEqualTo(want.shape());
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        for (int i = 0; i < g.length; i++) {
            if (Float.isNaN(w[i])) { // PyTorch's NaN (a query whose keys are all masked): NaN here too
                assertThat(g[i]).as("%s element %d: got %s want NaN", what, i, g[i]).isNaN();
                continue;
            }
            assertThat(Math.abs(g[i] - w[i])).as("%s element %d: got %s want %s", what, i, g[i], w[i]).isLessThanOrEqualTo((float) (TOL + TOL * Math.abs(w[i])));
        }
    }

    @Test
    void scaledDotProductAttentionMatchesItsDefinitionInPyTorch() {
        check("sdpa", null, new String[] {"q", "k", "v"}, m -> F.scaledDotProductAttention(m.get("q"), m.get("k"), m.get("v"), null, 0, false));
        check("sdpa_causal", null, new String[] {"q", "k", "v"}, m -> F.scaledDotProductAttention(m.get("q"), m.get("k"), m.get("v"), null, 0, true));
        Tensor mask = golden("sdpa_mask/mask");
        check("sdpa_mask", null, new String[] {"q", "k", "v"}, m -> F.scaledDotProductAttention(m.get("q"), m.get("k"), m.get("v"), mask, 0, false));
        assertThat(F.scaledDotProductAttention(Tensor.randn(2, 3, 4), Tensor.randn(2, 5, 4), Tensor.randn(2, 5, 6), null, 0, false).gradFn())
                .isNull();
    }

    /**
     * The tiled kernel against PyTorch's definition: several key blocks with a tail, causal square and tall (queries
     * past the last key see every key), an explicit scale. Forward and the three gradients.
     */
    @Test
    void flashAttentionMatchesPyTorch() {
        String[] qkv = {"q", "k", "v"};
        check("flash", null, qkv, m -> Tensor.flashAttention(m.get("q"), m.get("k"), m.get("v"), false, 1 / Math.sqrt(8)));
        check("flash_causal", null, qkv, m -> Tensor.flashAttention(m.get("q"), m.get("k"), m.get("v"), true, 1 / Math.sqrt(8)));
        check("flash_causal_tall", null, qkv, m -> Tensor.flashAttention(m.get("q"), m.get("k"), m.get("v"), true, 0.5));
        check("flash_scale", null, qkv, m -> F.scaledDotProductAttention(m.get("q"), m.get("k"), m.get("v"), null, 0, false, 0.3));
        assertThat(Tensor.flashAttention(Tensor.randn(2, 3, 4).requiresGrad(true), Tensor.randn(2, 5, 4), Tensor.randn(2, 5, 6), false, 0.5)
                .gradFn().name()).isEqualTo("ViewBackward0");
    }

    /** F picks the tiled kernel from FLASH_MIN_KEYS keys on (no mask, no dropout) and agrees with the simple path. */
    @Test
    void longContextsTakeTheTiledPathWithTheSameResults() {
        Lanes.manualSeed(21);
        int s = F.FLASH_MIN_KEYS + 37;
        Tensor q = Tensor.randn(2, 2, s, 8);
        Tensor k = Tensor.randn(2, 2, s, 8);
        Tensor v = Tensor.randn(2, 2, s, 4);
        Tensor g = Tensor.randn(2, 2, s, 4);
        for (boolean causal : new boolean[] {false, true}) {
            Tensor[] a = {q.detach().clone().requiresGrad(true), k.detach().clone().requiresGrad(true), v.detach().clone().requiresGrad(true)};
            Tensor tiled = F.scaledDotProductAttention(a[0], a[1], a[2], null, 0, causal);
            assertThat(nodeNames(tiled)).contains("ScaledDotProductFlashAttentionBackward0");
            tiled.backward(g);
            // a float mask forces the simple path (materialised scores)
            Tensor[] b = {q.detach().clone().requiresGrad(true), k.detach().clone().requiresGrad(true), v.detach().clone().requiresGrad(true)};
            Tensor simple = F.scaledDotProductAttention(b[0], b[1], b[2], causal ? F.causalMask(s, s) : Tensor.zeros(s, s), 0, false);
            assertThat(nodeNames(simple)).doesNotContain("ScaledDotProductFlashAttentionBackward0");
            simple.backward(g);
            assertClose(tiled, simple.detach(), "tiled vs simple, causal " + causal);
            for (int i = 0; i < 3; i++) {
                assertClose(a[i].grad(), b[i].grad(), "tiled vs simple gradient " + i + ", causal " + causal);
            }
        }
    }

    private static java.util.List<String> nodeNames(Tensor t) {
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.ArrayDeque<dev.lanes.autograd.Node> todo = new java.util.ArrayDeque<>();
        todo.add(t.gradFn());
        while (!todo.isEmpty()) {
            dev.lanes.autograd.Node n = todo.poll();
            names.add(n.name());
            for (dev.lanes.autograd.Node.Edge next : n.nextFunctions()) {
                if (next.node() != null) {
                    todo.add(next.node());
                }
            }
        }
        return names;
    }

    @Test
    void gradcheckThroughTheTiledKernel() {
        Lanes.manualSeed(10);
        for (boolean causal : new boolean[] {false, true}) {
            Tensor q = Tensor.randn(2, 6, 3).requiresGrad(true);
            Tensor k = Tensor.randn(1, 9, 3).requiresGrad(true); // broadcast over the batch
            Tensor v = Tensor.randn(2, 9, 2).requiresGrad(true);
            Gradcheck.check(t -> Tensor.flashAttention(t[0], t[1], t[2], causal, 0.7), q, k, v);
        }
    }

    /** Rows split across threads never change a bit; a plan replays the kernel bit for bit, allocation-free. */
    @Test
    void theTiledKernelGivesTheSameBitsOnOneOrTwoThreadsAndInAPlan() {
        Lanes.manualSeed(22);
        int saved = Lanes.numThreads();
        try (Autograd.Mode g = Autograd.noGrad(); Tensor q = Tensor.randn(3, 77, 16); Tensor k = Tensor.randn(3, 150, 16);
             Tensor v = Tensor.randn(3, 150, 12)) {
            Lanes.setNumThreads(1);
            float[] one = Tensor.flashAttention(q, k, v, true, 0.25).toFloatArray();
            Lanes.setNumThreads(2);
            float[] two = Tensor.flashAttention(q, k, v, true, 0.25).toFloatArray();
            assertThat(two).containsExactly(one);
            Function<Tensor, Tensor> f = x -> Tensor.flashAttention(x, k, v, true, 0.25);
            try (dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(f::apply, 3, 77, 16)) {
                assertThat(plan.toString()).contains("attention");
                float[] got = new float[one.length];
                plan.run(q.toFloatArray(), got);
                assertThat(got).containsExactly(one);
            }
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    /**
     * Dropout inside the tiled kernel equals its definition with the same mask: the mask is rebuilt from the kernel's
     * own hash and seed, then softmax(q k^T s + causal) * M / (1 - p) @ v and its gradients are computed with
     * ordinary ops. Also: about 1 - p of the weights are kept, p = 0 is no dropout, and gradcheck holds.
     */
    @Test
    void theTiledKernelsDropoutMatchesItsDefinition() {
        double p = 0.3;
        float scale = 0.4f;
        int b = 2;
        int l = 70;
        int s = 90;
        for (boolean causal : new boolean[] {false, true}) {
            Lanes.manualSeed(31);
            Tensor q = Tensor.randn(b, l, 8);
            Tensor k = Tensor.randn(b, s, 8);
            Tensor v = Tensor.randn(b, s, 5);
            Tensor g = Tensor.randn(b, l, 5);
            Lanes.manualSeed(99);
            // the kernel's seed is one draw of the global generator, seeded 99 below
            dev.lanes.kernels.Attention.Dropout mask = new dev.lanes.kernels.Attention.Dropout(p, new java.util.SplittableRandom(99).nextLong());
            float[] m = new float[b * l * s];
            int kept = 0;
            for (int i = 0; i < m.length; i++) {
                boolean keep = mask.kept(i);
                m[i] = keep ? (float) (1 / (1 - p)) : 0f;
                kept += keep ? 1 : 0;
            }
            assertThat(kept / (double) m.length).as("kept fraction").isBetween(1 - p - 0.02, 1 - p + 0.02);

            Tensor[] a = {q.detach().clone().requiresGrad(true), k.detach().clone().requiresGrad(true), v.detach().clone().requiresGrad(true)};
            Lanes.manualSeed(99);
            Tensor tiled = Tensor.flashAttention(a[0], a[1], a[2], causal, scale, p);
            tiled.backward(g);

            Tensor[] r = {q.detach().clone().requiresGrad(true), k.detach().clone().requiresGrad(true), v.detach().clone().requiresGrad(true)};
            Tensor scores = r[0].matmul(r[1].transpose(-2, -1)).mul(scale);
            if (causal) {
                scores = scores.add(F.causalMask(l, s));
            }
            Tensor reference = scores.softmax(-1).mul(Tensor.of(m, b, l, s)).matmul(r[2]);
            reference.backward(g);
            assertClose(tiled, reference.detach(), "dropout output, causal " + causal);
            for (int i = 0; i < 3; i++) {
                assertClose(a[i].grad(), r[i].grad(), "dropout gradient " + i + ", causal " + causal);
            }
        }
        try (Autograd.Mode g = Autograd.noGrad(); Tensor q = Tensor.randn(1, 5, 3); Tensor k = Tensor.randn(1, 70, 3); Tensor v = Tensor.randn(1, 70, 2)) {
            assertThat(Tensor.flashAttention(q, k, v, false, 1, 0).toFloatArray()).containsExactly(Tensor.flashAttention(q, k, v, false, 1).toFloatArray());
            assertThatThrownBy(() -> Tensor.flashAttention(q, k, v, false, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dropout");
        }
        Tensor q = Tensor.randn(1, 4, 3).requiresGrad(true);
        Tensor k = Tensor.randn(1, 6, 3).requiresGrad(true);
        Tensor v = Tensor.randn(1, 6, 2).requiresGrad(true);
        Gradcheck.check(t -> {
            Lanes.manualSeed(5); // the same mask for every evaluation
            return Tensor.flashAttention(t[0], t[1], t[2], true, 0.8, 0.25);
        }, q, k, v);
    }

    /** A plan cannot replay dropout (it would repeat one mask): tracing it is refused. */
    @Test
    void tracingTheTiledKernelWithDropoutIsRefused() {
        try (Tensor k = Tensor.randn(1, 70, 4); Tensor v = Tensor.randn(1, 70, 2)) {
            assertThatThrownBy(() -> dev.lanes.InferencePlan.trace(x -> Tensor.flashAttention(x, k, v, false, 1, 0.1), 1, 3, 4))
                    .isInstanceOf(RuntimeException.class);
        }
    }

    @Test
    void theTiledKernelHandlesEmptyAndDegenerateShapes() {
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertThat(Tensor.flashAttention(Tensor.randn(2, 3, 4), Tensor.randn(2, 0, 4), Tensor.randn(2, 0, 5), false, 1).toFloatArray())
                    .containsOnly(0f).hasSize(30);
            assertThat(Tensor.flashAttention(Tensor.randn(2, 0, 4), Tensor.randn(2, 7, 4), Tensor.randn(2, 7, 5), true, 1).shape())
                    .containsExactly(2, 0, 5);
            // one key: every query gets that key's value
            Tensor v = Tensor.randn(1, 1, 3);
            float[] y = Tensor.flashAttention(Tensor.randn(1, 4, 2), Tensor.randn(1, 1, 2), v, true, 1).toFloatArray();
            float[] want = v.toFloatArray();
            for (int i = 0; i < 4; i++) {
                assertThat(java.util.Arrays.copyOfRange(y, 3 * i, 3 * i + 3)).containsExactly(want);
            }
        }
    }

    @Test
    void theTiledKernelRejectsBadInput() {
        try (Tensor q = Tensor.randn(2, 3, 4); Tensor k = Tensor.randn(2, 5, 3); Tensor kb = Tensor.randn(3, 5, 4); Tensor i = Tensor.zeros(2, 3, 4).toType(
                dev.lanes.DType.INT64)) {
            assertThatThrownBy(() -> Tensor.flashAttention(q, k, k, false, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3, 4]").hasMessageContaining("[2, 5, 3]");
            assertThatThrownBy(() -> Tensor.flashAttention(q, kb, kb, false, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("broadcast").hasMessageContaining("[3, 5, 4]");
            assertThatThrownBy(() -> Tensor.flashAttention(q, q, q, false, Double.NaN)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("scale");
            assertThatThrownBy(() -> Tensor.flashAttention(i, q, q, false, 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> F.scaledDotProductAttention(q, q, q, null, 0, false, -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("scale");
        }
    }

    @Test
    void multiheadAttentionMatchesPyTorch() {
        MultiheadAttention mha = new MultiheadAttention(16, 4, 0.0, true, true);
        check("mha_causal", mha, new String[] {"x"}, m -> mha.forward(m.get("x"), m.get("x"), m.get("x"), null, true));
        check("mha_weights", mha, new String[] {"x"}, m -> {
            MultiheadAttention.Output o = mha.attention(m.get("x"), m.get("x"), m.get("x"), null, false, true);
            assertClose(o.weights(), golden("mha_weights/weights"), "averaged attention weights");
            return o.output();
        });
        MultiheadAttention cross = new MultiheadAttention(8, 2);
        check("mha_cross_seq_first", cross, new String[] {"query", "key", "value"},
                m -> cross.forward(m.get("query"), m.get("key"), m.get("value"), null, false));
        assertThat(cross.namedParameters().keySet()).containsExactly("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias");
        assertThat(cross.toString()).isEqualTo("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8,"
                + " bias=True)\n)");
    }

    @Test
    void transformerEncoderLayersMatchPyTorch() {
        TransformerEncoderLayer pre = new TransformerEncoderLayer(16, 4, 32, 0.0, "gelu", 1e-5, true, true);
        check("encoder_prenorm_gelu_causal", pre, new String[] {"x"}, m -> pre.forward(m.get("x"), null, true));
        TransformerEncoderLayer post = new TransformerEncoderLayer(16, 4, 32, 0.0, "relu", 1e-5, false, false);
        check("encoder_postnorm_relu", post, new String[] {"x"}, m -> post.forward(m.get("x")));
        assertThat(post.stateDict().keySet()).contains("self_attn.in_proj_weight", "linear1.weight", "norm2.bias");
    }

    @Test
    void gradcheckThroughAttention() {
        Lanes.manualSeed(9);
        Tensor q = Tensor.randn(2, 3, 4).requiresGrad(true);
        Tensor k = Tensor.randn(2, 3, 4).requiresGrad(true);
        Tensor v = Tensor.randn(2, 3, 2).requiresGrad(true);
        Gradcheck.check(t -> F.scaledDotProductAttention(t[0], t[1], t[2], null, 0, true), q, k, v);
    }

    /** Dropout on the weights only in training; eval gives the same output twice. */
    @Test
    void dropoutOnlyInTraining() {
        Lanes.manualSeed(4);
        MultiheadAttention mha = new MultiheadAttention(8, 2, 0.5, true, true);
        try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(2, 4, 8)) {
            mha.eval();
            float[] a = mha.forward(x).toFloatArray();
            float[] b = mha.forward(x).toFloatArray();
            assertThat(a).containsExactly(b);
            mha.train();
            assertThat(mha.forward(x).toFloatArray()).isNotEqualTo(a);
        }
    }

    /**
     * A GPT-style block in eval traces into a plan (the causal mask made inside forward is a constant of the plan) that
     * gives the eager output.
     */
    @Test
    void aCausalEncoderLayerTracesIntoAPlan() {
        Lanes.manualSeed(12);
        TransformerEncoderLayer block = new TransformerEncoderLayer(16, 4, 32, 0.1, "gelu", 1e-5, true, true);
        block.eval();
        Function<Tensor, Tensor> f = x -> block.forward(x, null, true);
        try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(2, 5, 16); Tensor want = f.apply(x);
             dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(f::apply, 2, 5, 16)) {
            float[] got = new float[want.numel()];
            plan.run(x.toFloatArray(), got);
            float[] w = want.toFloatArray();
            for (int i = 0; i < w.length; i++) {
                assertThat(Math.abs(got[i] - w[i])).as("element %d of\n%s", i, plan).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(w[i]));
            }
            assertThat(plan.toString()).contains("layer_norm").contains("softmax");
        }
    }

    @Test
    void badInputGetsAClearException() {
        assertThatThrownBy(() -> new MultiheadAttention(10, 3)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("divisible");
        MultiheadAttention mha = new MultiheadAttention(8, 2, 0, true, true);
        try (Tensor x = Tensor.randn(2, 4, 6); Tensor q = Tensor.randn(2, 3, 4); Tensor k = Tensor.randn(2, 5, 3)) {
            assertThatThrownBy(() -> mha.forward(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 4, 6]");
            assertThatThrownBy(() -> F.scaledDotProductAttention(q, k, k, null, 0, false)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3, 4]").hasMessageContaining("[2, 5, 3]");
            assertThatThrownBy(() -> F.scaledDotProductAttention(q, q, q, Tensor.zeros(3, 3), 0, true)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is_causal");
        }
        assertThatThrownBy(() -> new TransformerEncoderLayer(8, 2, 16, 0, "tanh", 1e-5, true, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("relu/gelu");
    }

    /**
     * In training with dropout the weights returned are the ones applied, dropped and rescaled by 1 / (1 - p), as
     * PyTorch's multi_head_attention_forward returns them (they were the weights before dropout: rows summing to 1).
     * The output is the dropped weights times the values either way.
     */
    @Test
    void returnedWeightsAreTheDroppedOnesInTraining() {
        dev.lanes.Lanes.manualSeed(7);
        MultiheadAttention mha = new MultiheadAttention(8, 2, 0.5, true, true);
        mha.train();
        Tensor x = Tensor.randn(1, 6, 8);
        MultiheadAttention.Output o = mha.attention(x, x, x, null, false, true);
        float[] w = o.weights().toFloatArray(); // [1, 6, 6], the mean of 2 heads' dropped rows
        boolean anyRowOff = false;
        for (int r = 0; r < 6; r++) {
            double sum = 0;
            for (int c = 0; c < 6; c++) {
                sum += w[r * 6 + c];
            }
            anyRowOff |= Math.abs(sum - 1) > 1e-3;
        }
        org.assertj.core.api.Assertions.assertThat(anyRowOff).as("some row of the dropped, rescaled weights no longer sums to 1").isTrue();
        mha.eval();
        float[] ev = mha.attention(x, x, x, null, false, true).weights().toFloatArray();
        for (int r = 0; r < 6; r++) {
            double sum = 0;
            for (int c = 0; c < 6; c++) {
                sum += ev[r * 6 + c];
            }
            org.assertj.core.api.Assertions.assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    /**
     * A bool attn_mask is read as PyTorch reads it: by F.scaled_dot_product_attention (PyTorch 2) true takes part, by
     * nn.MultiheadAttention true may NOT attend (-inf; it was read the other way round: a causal triu(1) mask let every
     * query see only the future). A mask of another shape, or a mask with isCausal, is refused as PyTorch refuses it.
     */
    @Test
    void aBoolMaskIsReadAsPyTorchReadsIt() {
        dev.lanes.Lanes.manualSeed(11);
        Tensor q = Tensor.randn(2, 5, 4);
        Tensor k = Tensor.randn(2, 7, 4);
        Tensor v = Tensor.randn(2, 7, 3);
        Tensor keep = Tensor.rand(5, 7).gt(0.4);
        Tensor additive = Tensor.zeros(5, 7).maskedFill(keep.eq(0), Double.NEGATIVE_INFINITY);
        float[] withBool = dev.lanes.nn.functional.F.scaledDotProductAttention(q, k, v, keep, 0, false).toFloatArray();
        float[] withFloat = dev.lanes.nn.functional.F.scaledDotProductAttention(q, k, v, additive, 0, false).toFloatArray();
        org.assertj.core.api.Assertions.assertThat(withBool).containsExactly(withFloat);
        MultiheadAttention mha = new MultiheadAttention(4, 2, 0.0, true, true);
        Tensor x = Tensor.randn(2, 5, 4);
        Tensor future = Tensor.ones(5, 5).triu(1).gt(0.5); // PyTorch's causal bool mask: true above the diagonal
        Tensor causalAdditive = Tensor.zeros(5, 5).maskedFill(future, Double.NEGATIVE_INFINITY);
        for (boolean needWeights : new boolean[] {false, true}) {
            org.assertj.core.api.Assertions.assertThat(mha.attention(x, x, x, future, false, needWeights).output().toFloatArray())
                    .containsExactly(mha.attention(x, x, x, causalAdditive, false, needWeights).output().toFloatArray());
        }
        float[] w = mha.attention(x, x, x, future, false, true).weights().toFloatArray(); // [2, 5, 5]: lower triangular
        for (int i = 0; i < w.length; i++) {
            int row = i / 5 % 5;
            int col = i % 5;
            if (col > row) {
                org.assertj.core.api.Assertions.assertThat(w[i]).as("weight %d (query %d, key %d)", i, row, col).isZero();
            } else {
                org.assertj.core.api.Assertions.assertThat(w[i]).as("weight %d", i).isPositive();
            }
        }
        org.assertj.core.api.Assertions.assertThat(mha.attention(x, x, x, Tensor.zeros(4, 5, 5).gt(0.5), false, true).output().toFloatArray())
                .containsExactly(mha.attention(x, x, x, null, false, true).output().toFloatArray()); // [B * H, L, S], nothing masked
        Tensor q2 = Tensor.randn(1, 2, 4);
        Tensor kv = Tensor.randn(1, 3, 4);
        for (Tensor bad : new Tensor[] {Tensor.zeros(2, 3, 2), Tensor.zeros(1, 3), Tensor.zeros(3, 2), Tensor.zeros(3), Tensor.zeros(1, 2, 2, 3)}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> mha.attention(q2, kv, kv, bad, false, true))
                    .as("mask %s", bad.size()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attn_mask is " + bad.size());
        }
        for (boolean needWeights : new boolean[] {false, true}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> mha.attention(x, x, x, causalAdditive, true, needWeights))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is_causal");
        }
    }

    /**
     * Unbatched input as PyTorch 1.13 takes it (it was refused: "expected 3-d query"): query, key and value [L, E]
     * whether batch_first or not, a 2-D [L, S] or 3-D [num_heads, L, S] attn_mask, the output [L, E] and the averaged
     * weights [L, S]; the encoder layer on [L, E] (post-norm relu, and pre-norm gelu causal), in training with dropout 0
     * (outputs and gradients) and in eval. A mask of a wrong shape for an unbatched query gets a clear exception.
     */
    @Test
    void unbatchedInputMatchesPyTorch() {
        MultiheadAttention mha = new MultiheadAttention(8, 2);
        Tensor mask = golden("mha_unbatched/mask");
        check("mha_unbatched", mha, new String[] {"x"}, m -> {
            MultiheadAttention.Output o = mha.attention(m.get("x"), m.get("x"), m.get("x"), mask, false, true);
            assertClose(o.weights(), golden("mha_unbatched/weights"), "unbatched averaged weights [L, S]");
            return o.output();
        });
        MultiheadAttention bf = new MultiheadAttention(8, 2, 0.0, true, true);
        Tensor boolMask = golden("mha_unbatched_cross/mask"); // [num_heads, L, S]
        check("mha_unbatched_cross", bf, new String[] {"query", "key", "value"},
                m -> bf.forward(m.get("query"), m.get("key"), m.get("value"), boolMask, false));
        TransformerEncoderLayer post = new TransformerEncoderLayer(8, 2, 16, 0.0, "relu", 1e-5, false, false);
        check("encoder_unbatched", post, new String[] {"x"}, m -> post.forward(m.get("x")));
        TransformerEncoderLayer pre = new TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", 1e-5, true, true);
        check("encoder_unbatched_prenorm_causal", pre, new String[] {"x"}, m -> pre.forward(m.get("x"), null, true));
        post.eval();
        pre.eval();
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertClose(post.forward(golden("encoder_unbatched/in/x")), golden("encoder_unbatched/y"), "post-norm in eval");
            assertClose(pre.forward(golden("encoder_unbatched_prenorm_causal/in/x"), null, true), golden("encoder_unbatched_prenorm_causal/y"),
                    "pre-norm in eval");
        }
        Tensor q = Tensor.randn(4, 8);
        Tensor kv = Tensor.randn(6, 8);
        for (Tensor bad : new Tensor[] {Tensor.zeros(4, 5), Tensor.zeros(6, 4), Tensor.zeros(1, 4, 6), Tensor.zeros(4, 4, 6), Tensor.zeros(2, 6, 4),
                Tensor.zeros(6), Tensor.zeros(1, 2, 4, 6)}) {
            for (MultiheadAttention m : new MultiheadAttention[] {mha, bf}) {
                assertThatThrownBy(() -> m.attention(q, kv, kv, bad, false, true)).as("mask %s", bad.size())
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attn_mask is " + bad.size()).hasMessageContaining("[2, 4, 6]");
            }
        }
        assertThatThrownBy(() -> mha.forward(q, Tensor.randn(6, 1, 8), Tensor.randn(6, 1, 8), null, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unbatched").hasMessageContaining("[6, 1, 8]");
        assertThatThrownBy(() -> mha.forward(Tensor.randn(4, 6))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[4, 6]");
        assertThatThrownBy(() -> mha.forward(Tensor.randn(8))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2-d");
    }

    /** {@link #check}, then the same row's output again in eval (dropout 0: the same) without autograd. */
    private static void checkTrainAndEval(String row, Module module, String[] inputs, Function<Map<String, Tensor>, Tensor> fn) {
        check(row, module, inputs, fn);
        module.eval();
        try (Autograd.Mode g = Autograd.noGrad()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            for (String k : inputs) {
                in.put(k, golden(row + "/in/" + k));
            }
            assertClose(fn.apply(in), golden(row + "/y"), row + " output in eval");
        } finally {
            module.train();
        }
    }

    /**
     * key_padding_mask / src_key_padding_mask ([B, S], [S] unbatched), which was missing: bool (true = ignore that key)
     * or float (added to the scores), alone or merged with a float or bool attn_mask ([L, S] or [B * H, L, S]) or the
     * causal mask, batch_first or not, through both paths (with the weights, averaged or per head, and without), against
     * PyTorch 1.13: outputs, weights, every input and parameter gradient, in training (dropout 0) and in eval. A float
     * key_padding_mask with an attn_mask is compared with PyTorch given their sum (1.13 mishandles that pair). A batch
     * whose keys are all masked gives NaN where PyTorch does (its outputs, weights and the gradients through them).
     */
    @Test
    void keyPaddingMasksMatchPyTorch() {
        MultiheadAttention bf = new MultiheadAttention(8, 2, 0.0, true, true);
        MultiheadAttention sf = new MultiheadAttention(8, 2);
        String[] x = {"x"};
        checkTrainAndEval("mha_kpm_bf", bf, x, m -> {
            MultiheadAttention.Output o = bf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_bf/kpm"), true, null, false, false);
            assertClose(o.weights(), golden("mha_kpm_bf/weights"), "weights per head [B, H, L, S]");
            return o.output();
        });
        checkTrainAndEval("mha_kpm_float_attn_sf", sf, new String[] {"query", "key", "value"}, m -> sf.forward(m.get("query"), m.get("key"),
                m.get("value"), golden("mha_kpm_float_attn_sf/kpm"), golden("mha_kpm_float_attn_sf/mask"), false));
        checkTrainAndEval("mha_kpm_bool_attn3d_sf", sf, x, m -> {
            MultiheadAttention.Output o = sf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_bool_attn3d_sf/kpm"), true,
                    golden("mha_kpm_bool_attn3d_sf/mask"), true, false);
            assertClose(o.weights(), golden("mha_kpm_bool_attn3d_sf/weights"), "averaged weights, bool [B * H, L, S] mask and bool padding");
            return o.output();
        });
        checkTrainAndEval("mha_kpm_float", bf, x, m -> bf.forward(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_float/kpm"), null, false));
        checkTrainAndEval("mha_kpm_float_float_attn", bf, x, m -> {
            MultiheadAttention.Output o = bf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_float_float_attn/kpm"), true,
                    golden("mha_kpm_float_float_attn/mask"), true, false);
            assertClose(o.weights(), golden("mha_kpm_float_float_attn/weights"), "averaged weights, float mask and float padding");
            return o.output();
        });
        for (boolean needWeights : new boolean[] {false, true}) {
            checkTrainAndEval("mha_kpm_causal", bf, x,
                    m -> bf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_causal/kpm"), needWeights, null, true, true).output());
        }
        checkTrainAndEval("mha_kpm_unbatched", sf, x, m -> {
            MultiheadAttention.Output o = sf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_unbatched/kpm"), true,
                    golden("mha_kpm_unbatched/mask"), false, false);
            assertClose(o.weights(), golden("mha_kpm_unbatched/weights"), "unbatched weights per head [H, L, S]");
            return o.output();
        });
        for (boolean needWeights : new boolean[] {false, true}) {
            checkTrainAndEval("mha_kpm_full", bf, x, m -> {
                MultiheadAttention.Output o = bf.attention(m.get("x"), m.get("x"), m.get("x"), golden("mha_kpm_full/kpm"), needWeights, null, true, false);
                if (needWeights) {
                    assertClose(o.weights(), golden("mha_kpm_full/weights"), "weights of a fully masked batch");
                }
                return o.output();
            });
        }
        float[] fullY = golden("mha_kpm_full/y").toFloatArray(); // [2, 4, 8]: batch 1 all NaN, batch 0 finite
        for (int i = 0; i < fullY.length; i++) {
            assertThat(Float.isNaN(fullY[i])).as("golden element %d", i).isEqualTo(i >= 32);
        }

        TransformerEncoderLayer preBf = new TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", 1e-5, true, true);
        checkTrainAndEval("encoder_kpm_bf_prenorm", preBf, x,
                m -> preBf.forward(m.get("x"), golden("encoder_kpm_bf_prenorm/mask"), golden("encoder_kpm_bf_prenorm/kpm")));
        TransformerEncoderLayer postSf = new TransformerEncoderLayer(8, 2, 16, 0.0, "relu", 1e-5, false, false);
        checkTrainAndEval("encoder_kpm_sf_float", postSf, x, m -> postSf.forward(m.get("x"), null, golden("encoder_kpm_sf_float/kpm")));
        checkTrainAndEval("encoder_kpm_unbatched", postSf, x, m -> postSf.forward(m.get("x"), null, golden("encoder_kpm_unbatched/kpm")));
        TransformerEncoderLayer postBf = new TransformerEncoderLayer(8, 2, 16, 0.0, "relu", 1e-5, true, false);
        checkTrainAndEval("encoder_kpm_causal", postBf, x, m -> postBf.forward(m.get("x"), null, golden("encoder_kpm_causal/kpm"), true));
    }

    /**
     * A padding mask of nothing changes nothing, through every overload; a float padding mask with a bool attn_mask is
     * the same as with its float form; bad padding masks (and an integer attn_mask) get clear exceptions.
     */
    @Test
    void keyPaddingMaskOverloadsAndBadMasks() {
        Lanes.manualSeed(21);
        MultiheadAttention mha = new MultiheadAttention(8, 2, 0.0, true, false);
        Tensor x = Tensor.randn(5, 3, 8); // [L, B, E]
        Tensor none = Tensor.zeros(3, 5).gt(0.5);
        float[] plain = mha.forward(x).toFloatArray();
        assertThat(mha.forward(x, x, x, none, null, false).toFloatArray()).containsExactly(plain);
        assertThat(mha.attention(x, x, x, none, true, null, true, false).output().toFloatArray())
                .containsExactly(mha.attention(x, x, x, null, false, true).output().toFloatArray());
        assertThat(mha.attention(x, x, x, none, true, null, true, true).weights().toFloatArray())
                .containsExactly(mha.attention(x, x, x, null, true, true).weights().toFloatArray());
        Tensor floatPadding = Tensor.randn(3, 5);
        Tensor future = Tensor.ones(5, 5).triu(1).gt(0.5);
        Tensor futureAdditive = Tensor.zeros(5, 5).maskedFill(future, Double.NEGATIVE_INFINITY);
        assertThat(mha.forward(x, x, x, floatPadding, future, false).toFloatArray())
                .containsExactly(mha.forward(x, x, x, floatPadding, futureAdditive, false).toFloatArray());
        assertThat(mha.forward(x, x, x, floatPadding, null, true).toFloatArray())
                .containsExactly(mha.forward(x, x, x, floatPadding, futureAdditive, false).toFloatArray());
        TransformerEncoderLayer layer = new TransformerEncoderLayer(8, 2, 16, 0.0, "relu", 1e-5, false, false);
        float[] layerPlain = layer.forward(x).toFloatArray();
        assertThat(layer.forward(x, null, none).toFloatArray()).containsExactly(layerPlain);
        assertThat(layer.forward(x, null, none, false).toFloatArray()).containsExactly(layerPlain);
        assertThat(layer.forward(x, null, false).toFloatArray()).containsExactly(layerPlain);

        for (Tensor bad : new Tensor[] {Tensor.zeros(3, 4).gt(0.5), Tensor.zeros(5, 3).gt(0.5), Tensor.zeros(5).gt(0.5), Tensor.zeros(1, 3, 5)}) {
            assertThatThrownBy(() -> mha.forward(x, x, x, bad, null, false)).as("padding %s", bad.size()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("key_padding_mask shape of [3, 5]").hasMessageContaining(bad.size().toString());
            assertThatThrownBy(() -> layer.forward(x, null, bad)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key_padding_mask");
        }
        Tensor x1 = Tensor.randn(5, 8); // unbatched: the padding mask is [S]
        for (Tensor bad : new Tensor[] {Tensor.zeros(1, 5).gt(0.5), Tensor.zeros(4).gt(0.5)}) {
            assertThatThrownBy(() -> mha.forward(x1, x1, x1, bad, null, false)).as("padding %s", bad.size()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("key_padding_mask shape of [5]").hasMessageContaining(bad.size().toString());
        }
        Tensor ints = Tensor.zeros(3, 5).toType(dev.lanes.DType.INT64);
        assertThatThrownBy(() -> mha.forward(x, x, x, ints, null, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only bool and floating types of key_padding_mask").hasMessageContaining("torch.int64");
        assertThatThrownBy(() -> mha.forward(x, x, x, null, Tensor.zeros(5, 5).toType(dev.lanes.DType.INT64), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attn_mask").hasMessageContaining("torch.int64");
        assertThatThrownBy(() -> mha.forward(x, x, x, none, futureAdditive, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is_causal");
    }
}
