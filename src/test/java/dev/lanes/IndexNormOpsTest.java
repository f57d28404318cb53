package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.nn.Embedding;
import dev.lanes.nn.LayerNorm;
import dev.lanes.nn.Linear;
import dev.lanes.nn.functional.F;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Indexing (index_select, embedding, gather, scatter_add, one_hot) and layer_norm beyond their rows in the op table
 * ({@link OpInfo}): the cases a row's float inputs cannot express, against PyTorch 1.13 ({@code golden/index_norm.txt}
 * from {@code src/test/python/gen_index_norm_golden.py}: padding_idx, indices smaller than the input, one_hot's int64
 * output, layer_norm with a bias only); then gradchecks with repeated and padded indices, the modules, the plan of a
 * Linear -> LayerNorm -> GELU block, and bad indices.
 * Tolerance 1e-5 absolute and relative (layer_norm's statistics are summed in another order than PyTorch's).
 */
class IndexNormOpsTest {
    private static final Map<String, Golden.Case> GOLDEN = new HashMap<>();

    static {
        for (Golden.Case c : Golden.read("index_norm.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    /** A row: its golden name, its float inputs (gradients checked, in this order), and the call. */
    record Row(String name, List<String> floats, Function<Map<String, Tensor>, Tensor> op) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Row> rows() {
        return Stream.of(
                new Row("layer_norm_plain", List.of("x"), m -> F.layerNorm(m.get("x"), new int[] {61}, null, null, 1e-3)),
                new Row("layer_norm_bias_only", List.of("x", "b"), m -> F.layerNorm(m.get("x"), new int[] {8}, null, m.get("b"), 1e-5)),
                new Row("embedding_padding", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), 3)),
                new Row("gather_smaller", List.of("x"), m -> m.get("x").gather(0, m.get("idx"))),
                new Row("scatter_add_smaller", List.of("x", "src"), m -> m.get("x").scatterAdd(0, m.get("idx"), m.get("src"))),
                new Row("one_hot", List.of(), m -> F.oneHot(m.get("idx"), 6)),
                new Row("one_hot_inferred", List.of(), m -> F.oneHot(m.get("idx"), -1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void forwardBackwardAndGradFnMatchPyTorch(Row row) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String part : List.of("x", "w", "b", "src", "idx")) {
            Golden.Case c = GOLDEN.get(row.name() + "/" + part);
            if (c != null) {
                Tensor t = c.tensor();
                in.put(part, row.floats().contains(part) ? t.requiresGrad(true) : t);
            }
        }
        Golden.Case want = GOLDEN.get(row.name() + "/y");
        Tensor y = row.op().apply(in);
        try (Tensor w = want.tensor()) {
            assertThat(y.dtype()).isEqualTo(w.dtype());
            assertThat(y.shape()).isEqualTo(w.shape());
            Assertions2.assertClose(y, w, 1e-5, 1e-5, row + " forward");
        }
        if (row.floats().isEmpty()) {
            assertThat(y.gradFn()).isNull();
            in.values().forEach(Tensor::close);
            return;
        }
        assertThat(y.gradFn().name()).as("grad_fn").isEqualTo(want.expr());
        try (Tensor g = GOLDEN.get(row.name() + "/g").tensor()) {
            y.backward(g);
        }
        for (String f : row.floats()) {
            try (Tensor d = GOLDEN.get(row.name() + "/d" + f).tensor()) {
                Assertions2.assertClose(in.get(f).grad(), d, 1e-5, 1e-5, row + " d" + f);
            }
        }
        in.values().forEach(Tensor::close);
    }

    @Test
    void gradchecks() {
        Lanes.manualSeed(11);
        Tensor x = Tensor.randn(3, 2, 9).mul(2).requiresGrad(true);
        Tensor w = Tensor.randn(2, 9).requiresGrad(true);
        Tensor b = Tensor.randn(2, 9).requiresGrad(true);
        Gradcheck.check(t -> F.layerNorm(t[0], new int[] {2, 9}, t[1], t[2], 1e-5), x, w, b);
        Tensor table = Tensor.randn(6, 5).requiresGrad(true);
        Tensor idx = Tensor.of(new long[] {5, 0, 0, 2}, 2, 2);
        Gradcheck.check(t -> F.embedding(idx, t[0]), table); // padding_idx makes its row constant on purpose: tested below
        Gradcheck.check(t -> t[0].indexSelect(0, Tensor.of(new long[] {1, 1, 4})), table);
        Tensor gi = Tensor.of(new long[] {0, 4, 4, 2, 1, 3}, 2, 3);
        Gradcheck.check(t -> t[0].gather(1, gi), table);
        Tensor src = Tensor.randn(2, 3).requiresGrad(true);
        Gradcheck.check(t -> t[0].scatterAdd(1, gi, t[1]), table, src);
    }

    /**
     * scatter_add with a src longer than the index along dim (PyTorch allows it) reads src at the index's positions, in
     * every image of the outer dims (it read the copy as laid out with the index's extent: torch 1.13 gives
     * [[0, 0, 0], [0, 3, 0]] and [[0, 1], [4, 3]] where Lanes gave [[0, 0, 0], [0, 1, 0]] and [[0, 1], [3, 2]]), with the
     * upstream gradient gathered at those positions and zeros elsewhere (torch 1.13's own backward refuses this case:
     * "ScatterAddBackward0 returned an invalid gradient"); a src of another rank than the index is refused, PyTorch's message. And
     * std/var along dim 0 of a 0-d tensor has a backward (it threw ArrayIndexOutOfBounds): torch 1.13, grad 0.
     */
    @Test
    void scatterAddReadsALongerSrcAtTheIndexPositions() {
        try (Tensor src = Tensor.arange(6).toFloat().view(2, 3).requiresGrad(true)) {
            Tensor narrow = Tensor.zeros(2, 3).scatterAdd(1, Tensor.of(new long[] {0, 1}, 2, 1), src);
            assertThat(narrow.toFloatArray()).containsExactly(0, 0, 0, 0, 3, 0);
            Tensor same = Tensor.zeros(2, 2).scatterAdd(1, Tensor.of(new long[] {0, 1, 1, 0}, 2, 2), src);
            assertThat(same.toFloatArray()).containsExactly(0, 1, 4, 3);
            same.mul(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)).sum().backward(); // src's gradient: the upstream at the index
            assertThat(src.grad().toFloatArray()).containsExactly(1, 2, 0, 4, 3, 0);
        }
        assertThatThrownBy(() -> Tensor.zeros(3).scatterAdd(0, Tensor.of(new long[] {0, 1, 2}, 3), Tensor.arange(12).toFloat().view(3, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("same number of dimensions as src");
        assertThatThrownBy(() -> Tensor.zeros(3, 3).scatterAdd(0, Tensor.of(new long[] {0, 1, 2}, 3, 1), Tensor.arange(3).toFloat()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("same number of dimensions as src");
        Tensor x = Tensor.scalar(2f).requiresGrad(true);
        x.std(0, false, false).backward();
        assertThat(x.grad().item()).isZero();
        Tensor y = Tensor.scalar(2f).requiresGrad(true);
        y.var(-1, false, true).backward();
        assertThat(y.grad().item()).isZero();
    }

    /** Gradients of repeated indices accumulate; the padding row gets none; the backward is sized like the table. */
    @Test
    void embeddingBackwardAddsRowsAtTheirIndices() {
        try (Tensor table = Tensor.zeros(4, 3).requiresGrad(true); Tensor idx = Tensor.of(new long[] {2, 2, 0, 1, 2}, 5)) {
            Tensor y = Tensor.embedding(idx, table, 1);
            y.sum().backward();
            assertThat(table.grad().toFloatArray()).containsExactly(1, 1, 1, 0, 0, 0, 3, 3, 3, 0, 0, 0);
        }
        Embedding e = new Embedding(5, 4, -1);
        assertThat(e.paddingIdx).isEqualTo(4);
        try (Tensor row = e.weight.select(0, 4)) {
            assertThat(row.toFloatArray()).containsOnly(0f);
        }
        assertThat(e.toString()).isEqualTo("Embedding(5, 4, padding_idx=4)");
        assertThat(new Embedding(10, 3).toString()).isEqualTo("Embedding(10, 3)");
        assertThat(e.parameters()).hasSize(1);
    }

    /** The parameter gradients alone (an input that needs none: a first layer) equal those computed beside dx. */
    @Test
    void normParameterGradientsWithoutAnInputGradient() {
        Lanes.manualSeed(21);
        try (Tensor x = Tensor.randn(4, 3, 5).mul(2)) {
            float[][] withDx = normGrads(x, true);
            float[][] alone = normGrads(x, false);
            for (int i = 0; i < withDx.length; i++) {
                for (int j = 0; j < withDx[i].length; j++) {
                    assertThat(alone[i][j]).as("gradient %d element %d", i, j).isCloseTo(withDx[i][j], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }

    /** dweight and dbias of batch_norm (training) and layer_norm on x, with or without x requiring grad. */
    private static float[][] normGrads(Tensor data, boolean inputGrad) {
        try (Tensor x = data.clone().requiresGrad(inputGrad); Tensor w = Tensor.ones(3).add(0.5).requiresGrad(true);
             Tensor b = Tensor.zeros(3).requiresGrad(true); Tensor lw = Tensor.ones(5).mul(0.7).requiresGrad(true);
             Tensor lb = Tensor.zeros(5).requiresGrad(true)) {
            Lanes.manualSeed(22); // the same upstream values and gradient for both calls
            Tensor up = Tensor.randn(4, 3, 5);
            Tensor g = Tensor.randn(4, 3, 5);
            Tensor y = Tensor.batchNorm(x, null, null, w, b, true, 0.1, 1e-5).mul(up);
            y = F.layerNorm(y, new int[] {5}, lw, lb, 1e-5);
            y.backward(g);
            return new float[][] {w.grad().toFloatArray(), b.grad().toFloatArray(), lw.grad().toFloatArray(), lb.grad().toFloatArray()};
        }
    }

    @Test
    void layerNormModuleMatchesTheFunctionalFormAndPrintsLikePyTorch() {
        LayerNorm ln = new LayerNorm(8);
        assertThat(ln.toString()).isEqualTo("LayerNorm((8,), eps=1e-05, elementwise_affine=True)");
        assertThat(new LayerNorm(new int[] {4, 5}, 1e-6, false).toString()).isEqualTo("LayerNorm((4, 5), eps=1e-06, elementwise_affine=False)");
        assertThat(ln.parameters()).hasSize(2);
        Lanes.manualSeed(3);
        try (Tensor x = Tensor.randn(3, 8); Tensor a = ln.forward(x); Tensor b = F.layerNorm(x, new int[] {8}, ln.weight, ln.bias, 1e-5);
             Tensor m = a.mean(1); Tensor v = a.var(1, false, false)) {
            assertThat(a.toFloatArray()).containsExactly(b.toFloatArray());
            for (float mean : m.toFloatArray()) {
                assertThat(mean).isCloseTo(0f, org.assertj.core.data.Offset.offset(1e-6f));
            }
            for (float var : v.toFloatArray()) {
                assertThat(var).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
    }

    /** A Linear -> LayerNorm -> GELU block: the plan replays layer_norm as one step, bit for bit. */
    @Test
    void layerNormIsAPlanStep() {
        Lanes.manualSeed(5);
        Linear lin = new Linear(16, 24);
        LayerNorm ln = new LayerNorm(24);
        try (Autograd.Mode g = Autograd.noGrad(); Tensor w = Tensor.randn(24); Tensor bias = Tensor.randn(24)) {
            ln.weight.copy_(w);
            ln.bias.copy_(bias);
        }
        Function<Tensor, Tensor> model = x -> ln.forward(lin.forward(x)).gelu();
        try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(5, 16); Tensor want = model.apply(x);
             InferencePlan plan = InferencePlan.trace(model::apply, 5, 16)) {
            assertThat(plan.toString()).contains("layer_norm");
            float[] got = new float[5 * 24];
            plan.run(x.toFloatArray(), got);
            assertThat(got).containsExactly(want.toFloatArray());
        }
    }

    /**
     * {@code x.index(dim, idx)} is PyTorch's {@code x[:, idx]}: negative indices count from the end, the index's shape
     * replaces the dim (a 0-d index drops it), repeated rows accumulate their gradient, [-size, size) is checked with
     * PyTorch's IndexError message; a plan wraps and checks the same way on every run (ONNX's Gather of run-time
     * indices takes this op: a plan used to refuse negative ones).
     */
    @Test
    void indexCountsNegativeIndicesFromTheEndLikeAdvancedIndexing() {
        float[] v = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
        Tensor x = Tensor.of(v, 3, 4);
        Tensor rows = x.index(0, Tensor.of(new long[] {-1, 0, 2, -3}, 4));
        assertThat(rows.shape()).containsExactly(4, 4);
        assertThat(rows.toFloatArray()).containsExactly(20, 21, 22, 23, 0, 1, 2, 3, 20, 21, 22, 23, 0, 1, 2, 3);
        Tensor cols = x.index(1, Tensor.of(new long[] {0, -1, 1, -2}, 2, 2));
        assertThat(cols.shape()).containsExactly(3, 2, 2);
        assertThat(cols.toFloatArray()).containsExactly(0, 3, 1, 2, 10, 13, 11, 12, 20, 23, 21, 22);
        Tensor last = x.index(-1, Tensor.scalarLong(-1));
        assertThat(last.shape()).containsExactly(3);
        assertThat(last.toFloatArray()).containsExactly(3, 13, 23);
        assertThatThrownBy(() -> x.index(0, Tensor.of(new long[] {0, -4}, 2))).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index -4 is out of bounds for dimension 0 with size 3");
        assertThatThrownBy(() -> x.index(1, Tensor.of(new long[] {4}, 1))).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index 4 is out of bounds for dimension 1 with size 4");
        assertThatThrownBy(() -> x.index(0, Tensor.of(new float[] {0f}, 1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int64");
        assertThatThrownBy(() -> x.index(0, Tensor.of(new long[] {Long.MIN_VALUE}, 1))).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(x.index(0, Tensor.of(new long[] {-3}, 1)).toFloatArray()).containsExactly(0, 1, 2, 3); // -size: the first
        assertThat(x.index(1, Tensor.of(new long[0], 0)).shape()).containsExactly(3, 0);
        assertThat(x.index(1, Tensor.of(new long[] {3, -4, 0, -1}, 2, 2).t()).toFloatArray()) // a non-contiguous index
                .containsExactly(3, 0, 0, 3, 13, 10, 10, 13, 23, 20, 20, 23);
        // the gradient: rows -1 and 2 are the same row, added twice; row 1 is never picked
        Tensor w = Tensor.of(v, 3, 4).requiresGrad(true);
        w.index(0, Tensor.of(new long[] {-1, 2, 0}, 3)).sum().backward();
        assertThat(w.grad().toFloatArray()).containsExactly(1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2);
        // along dim 1 by a 2-d index, then an in-place op on the result (not a view: PyTorch allows it too)
        Tensor w2 = Tensor.of(v, 3, 4).requiresGrad(true);
        Tensor picked = w2.index(1, Tensor.of(new long[] {-1, 3, 0, -4}, 2, 2));
        assertThat(picked.gradFn().name()).isEqualTo("IndexBackward0");
        picked.relu_().sum().backward(); // columns 3, 3, 0, 0 of each row; row 0's column 0 is 0: relu's gradient there is 0
        assertThat(w2.grad().toFloatArray()).containsExactly(0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2);
        // a plan: the indices are its input, wrapped and checked on every run
        try (InferencePlan plan = InferencePlan.trace(idx -> x.index(0, idx), Tensor.of(new long[] {-1, 0, 2, -3}, 4))) {
            float[] got = new float[plan.outputSize()];
            plan.run(new long[] {0, -2, 1, -1}, got);
            assertThat(got).containsExactly(x.index(0, Tensor.of(new long[] {0, -2, 1, -1}, 4)).toFloatArray());
            assertThatThrownBy(() -> plan.run(new long[] {0, 0, -4, 0}, got)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("-4");
            assertThatThrownBy(() -> plan.run(new long[] {3, 0, 0, 0}, got)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("3");
        }
    }

    @Test
    void badInputGetsAClearException() {
        try (Tensor table = Tensor.randn(5, 3); Tensor idx = Tensor.of(new long[] {0, 5}); Tensor neg = Tensor.of(new long[] {-1});
             Tensor fidx = Tensor.of(new float[] {0f, 1f}); Tensor x = Tensor.randn(2, 6)) {
            assertThatThrownBy(() -> F.embedding(idx, table)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("index 5 is out of bounds for dimension 0 with size 5");
            assertThatThrownBy(() -> table.indexSelect(0, neg)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index -1");
            assertThatThrownBy(() -> F.embedding(fidx, table)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int64");
            assertThatThrownBy(() -> F.embedding(idx, table, 7)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("padding_idx");
            assertThatThrownBy(() -> x.gather(1, Tensor.of(new long[] {0, 1}))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("same number of dimensions");
            assertThatThrownBy(() -> x.gather(1, Tensor.of(new long[] {0, 6}, 1, 2))).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("index 6 is out of bounds for dimension 1 with size 6");
            assertThatThrownBy(() -> F.layerNorm(x, 5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("normalized_shape=[5]").hasMessageContaining("[2, 6]");
            assertThatThrownBy(() -> F.layerNorm(x, new int[] {6}, Tensor.ones(5), null, 1e-5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[5]");
            assertThatThrownBy(() -> F.oneHot(idx, 3)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index 5");
            assertThatThrownBy(() -> F.oneHot(Tensor.of(new long[] {1L << 40}), -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("too large");
            assertThatThrownBy(() -> new LayerNorm(0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> new Embedding(0, 3)).isInstanceOf(IllegalArgumentException.class);
        }
        Tensor closed = Tensor.randn(3, 4);
        closed.close();
        assertThatThrownBy(() -> F.layerNorm(closed, 4)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
    }

    @Test
    void layerNormIsPyTorchsTwoFusedMultiplyAddsBitForBit() {
        // a row whose mean and variance are exact (torch's mean and rstd equal Lanes'), three copies of 8 so every width
        // runs vector bodies and tails; torch.native_layer_norm's output: fma(fma(x, rstd, -rstd mean), w, b), where
        // (x - mean) rstd w + b differed in 4 of 8
        float[] x8 = {5.5f, 1.625f, 2.5625f, 5.25f, -0.0625f, 1.375f, -0.0625f, 2.625f};
        float[] w8 = {1.90625f, -1.46875f, -0.46875f, -0.40625f, 1.59375f, -1.1875f, 0.0f, -0.96875f};
        float[] b8 = {-1.9375f, 1.0f, -1.78125f, -0.90625f, -0.03125f, -0.0625f, -1.5625f, 1.90625f};
        float[] affine = {1.0837265253067017f, 1.5371915102005005f, -1.831024169921875f, -1.4989919662475586f, -1.9680155515670776f,
                0.5212702751159668f, -1.5625f, 1.7729045152664185f};
        float[] plain = {1.584905743598938f, -0.3657474219799042f, 0.10618479549884796f, 1.459057092666626f, -1.2152254581451416f,
                -0.4915960133075714f, -1.2152254581451416f, 0.13764694333076477f}; // weight and bias None
        float[] x = new float[24];
        float[] w = new float[24];
        float[] b = new float[24];
        for (int i = 0; i < 24; i++) {
            x[i] = x8[i % 8];
            w[i] = w8[i % 8];
            b[i] = b8[i % 8];
        }
        float[] got = F.layerNorm(Tensor.of(x, 1, 24), new int[] {24}, Tensor.of(w, 24), Tensor.of(b, 24), 1e-5).toFloatArray();
        float[] gotPlain = F.layerNorm(Tensor.of(x, 1, 24), new int[] {24}, null, null, 1e-5).toFloatArray();
        for (int i = 0; i < 24; i++) {
            assertThat(Float.floatToIntBits(got[i])).as("y[%d] = %s, torch %s", i, got[i], affine[i % 8]).isEqualTo(Float.floatToIntBits(affine[i % 8]));
            assertThat(Float.floatToIntBits(gotPlain[i])).as("plain y[%d] = %s, torch %s", i, gotPlain[i], plain[i % 8])
                    .isEqualTo(Float.floatToIntBits(plain[i % 8]));
        }
    }
}
