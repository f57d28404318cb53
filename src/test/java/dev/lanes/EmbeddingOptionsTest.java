package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Embedding;
import dev.lanes.nn.EmbeddingBag;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.SGD;
import dev.lanes.train.TrainStep;
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
 * nn.Embedding's max_norm / norm_type / scale_grad_by_freq / sparse and nn.EmbeddingBag against PyTorch 1.13
 * ({@code golden/embedding.txt} from {@code src/test/python/gen_embedding_golden.py}: forward values, the table after
 * max_norm's in-place renormalisation, and the gradients of the table and of per-sample weights, with repeated
 * indices, padding_idx, empty bags, include_last_offset); then tracing (scale_grad_by_freq replayed by a compiled
 * training step, max_norm refused), the weight's version, reprs and bad input. Tolerance 1e-5 absolute and relative
 * (norms and bag sums are summed in another order than PyTorch's); the renormalised table 1e-6.
 */
class EmbeddingOptionsTest {
    private static final Map<String, Golden.Case> GOLDEN = new HashMap<>();

    static {
        for (Golden.Case c : Golden.read("embedding.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    record Row(String name, List<String> floats, Function<Map<String, Tensor>, Tensor> op) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Row bag(String name, String mode, Integer pad, boolean last) {
        return new Row(name, List.of("w"), m -> F.embeddingBag(m.get("idx"), m.get("w"), m.get("off"), null, 2.0, false, mode, false, null, last, pad));
    }

    static Stream<Row> rows() {
        Stream<Row> emb = Stream.of(
                new Row("emb_freq", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), null, null, 2.0, true, false)),
                new Row("emb_freq_pad", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), 3, null, 2.0, true, false)),
                new Row("emb_max_norm", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), null, 1.2, 2.0, false, false)),
                new Row("emb_max_norm_p1", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), null, 6.0, 1.0, false, false)),
                new Row("emb_max_norm_p3", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), null, 0.8, 3.0, false, false)),
                new Row("emb_max_norm_pinf", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), null, 0.4, Double.POSITIVE_INFINITY, false, false)),
                new Row("emb_max_norm_freq_pad", List.of("w"), m -> F.embedding(m.get("idx"), m.get("w"), 1, 1.2, 2.0, true, false)));
        Stream<Row> bags = Stream.of(
                bag("bag_sum_2d", "sum", null, false), bag("bag_mean_2d", "mean", null, false), bag("bag_max_2d", "max", null, false),
                new Row("bag_sum_2d_psw", List.of("w", "psw"), m -> F.embeddingBag(m.get("idx"), m.get("w"), null, null, 2.0, false, "sum", false,
                        m.get("psw"), false, null)),
                new Row("bag_mean_2d_freq", List.of("w"), m -> F.embeddingBag(m.get("idx"), m.get("w"), null, null, 2.0, true, "mean", false, null,
                        false, null)),
                bag("bag_sum_2d_pad", "sum", 3, false), bag("bag_mean_2d_pad", "mean", 3, false), bag("bag_max_2d_pad", "max", 3, false),
                bag("bag_sum_off", "sum", null, false), bag("bag_mean_off", "mean", null, false), bag("bag_max_off", "max", null, false),
                bag("bag_sum_last", "sum", null, true), bag("bag_mean_last", "mean", null, true), bag("bag_max_last", "max", null, true),
                bag("bag_sum_off_pad", "sum", 3, false), bag("bag_mean_off_pad", "mean", 3, false), bag("bag_max_off_pad", "max", 3, false),
                new Row("bag_sum_off_psw", List.of("w", "psw"), m -> F.embeddingBag(m.get("idx"), m.get("w"), m.get("off"), null, 2.0, false, "sum",
                        false, m.get("psw"), false, null)),
                new Row("bag_sum_off_freq", List.of("w"), m -> F.embeddingBag(m.get("idx"), m.get("w"), m.get("off"), null, 2.0, true, "sum", false,
                        null, false, null)),
                new Row("bag_mean_off_max_norm", List.of("w"), m -> F.embeddingBag(m.get("idx"), m.get("w"), m.get("off"), 1.2, 2.0, false, "mean",
                        false, null, false, null)),
                new Row("bag_max_2d_max_norm", List.of("w"), m -> F.embeddingBag(m.get("idx"), m.get("w"), null, 1.2, 1.0, false, "max", false, null,
                        false, null)));
        return Stream.concat(emb, bags);
    }

    /** Every golden row of the generator has a Java row (a case added there without one here fails). */
    @Test
    void everyGoldenRowIsTested() {
        List<String> names = rows().map(Row::name).toList();
        for (String key : GOLDEN.keySet()) {
            if (key.endsWith("/y")) {
                assertThat(names).contains(key.substring(0, key.length() - 2));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void forwardRenormAndGradientsMatchPyTorch(Row row) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String part : List.of("w", "psw", "idx", "off")) {
            Golden.Case c = GOLDEN.get(row.name() + "/" + part);
            if (c != null) {
                Tensor t = c.tensor();
                in.put(part, row.floats().contains(part) ? t.requiresGrad(true) : t);
            }
        }
        int versionBefore = in.get("w").version();
        Tensor y = row.op().apply(in);
        Golden.Case want = GOLDEN.get(row.name() + "/y");
        try (Tensor w = want.tensor()) {
            assertThat(y.shape()).isEqualTo(w.shape());
            Assertions2.assertClose(y, w, 1e-5, 1e-5, row + " forward");
        }
        Golden.Case after = GOLDEN.get(row.name() + "/w_after");
        if (after != null) {
            try (Tensor w = after.tensor()) {
                Assertions2.assertClose(in.get("w"), w, 1e-6, 1e-6, row + " table after max_norm");
            }
            assertThat(in.get("w").version()).as("max_norm writes the table in place").isGreaterThan(versionBefore);
        } else {
            assertThat(in.get("w").version()).as("no max_norm: the table is not written").isEqualTo(versionBefore);
        }
        if (row.name().startsWith("emb")) {
            assertThat(y.gradFn().name()).isEqualTo(want.expr()); // EmbeddingBag is composed: its grad_fn is its last op's
        }
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
    void bagGradchecks() {
        Lanes.manualSeed(5);
        Tensor table = Tensor.randn(7, 5).requiresGrad(true);
        Tensor ids = Tensor.of(new long[] {1, 4, 4, 0, 6, 2, 3}, 7);
        Tensor off = Tensor.of(new long[] {0, 2, 2, 5}, 4);
        Tensor psw = Tensor.randn(7).requiresGrad(true);
        Gradcheck.check(t -> F.embeddingBag(ids, t[0], off, null, 2.0, false, "sum", false, t[1], false, 4), table, psw);
        Gradcheck.check(t -> F.embeddingBag(ids, t[0], off, "mean"), table);
        Gradcheck.check(t -> F.embeddingBag(ids, t[0], off, "max"), table);
        Gradcheck.check(t -> F.embeddingBag(ids.view(1, 7), t[0], null, "max"), table);
    }

    /**
     * scale_grad_by_freq's backward is a plan step: a compiled training step takes the same steps as eager training
     * (two SGD steps on a table looked up with repeated indices, one row padding).
     */
    @Test
    void scaleGradByFreqTrainsTheSameCompiledAsEager() {
        Lanes.manualSeed(6);
        Embedding eager = new Embedding(9, 11, 2, null, 2.0, true, false);
        Embedding compiled = Embedding.fromPretrained(eager.weight, false, 2, null, 2.0, true, false);
        Tensor ids = Tensor.of(new long[] {1, 5, 5, 2, 5, 0, 1, 8}, 2, 4);
        Tensor target = Tensor.randn(2, 4, 11);
        SGD eagerSgd = new SGD(eager.parameters(), 0.5);
        TrainStep step = TrainStep.compile(compiled::forward, (out, y) -> out.mul(y).sum(), new SGD(compiled.parameters(), 0.5));
        for (int i = 0; i < 2; i++) {
            try (MemoryScope s = MemoryScope.open()) {
                eagerSgd.zeroGrad();
                eager.forward(ids).mul(target).sum().backward();
                eagerSgd.step();
                step.run(ids, target);
            }
        }
        Assertions2.assertClose(compiled.weight, eager.weight, 1e-6, 1e-6, "compiled vs eager");
        // the scaled step: row 5 (3 occurrences) moved by a third of the summed gradient
        Tensor fresh = Tensor.randn(9, 11).requiresGrad(true);
        F.embedding(ids, fresh, null, null, 2.0, true, false).mul(target).sum().backward();
        float[] g = fresh.grad().toFloatArray();
        float[] t = target.contiguous().toFloatArray();
        assertThat(g[5 * 11]).isCloseTo((t[11] + t[2 * 11] + t[4 * 11]) / 3, org.assertj.core.data.Offset.offset(1e-6f));
        step.close();
    }

    /**
     * max_norm renormalises the table in place on every call: a plan would have to replay that write, so tracing
     * (inference and training) is refused and leaves the table as it was; eagerly the weight's version moves, so a
     * graph that saved the table before fails its backward like torch's.
     */
    @Test
    void maxNormRefusesTracingAndBumpsTheVersion() {
        Lanes.manualSeed(7);
        Embedding emb = new Embedding(6, 4, null, 0.5, 2.0, false, false);
        float[] before = emb.weight.toFloatArray();
        Tensor ids = Tensor.of(new long[] {0, 3, 3}, 1, 3);
        assertThatThrownBy(() -> InferencePlan.trace(emb::forward, ids)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("InferencePlan.trace").hasMessageContaining("max_norm");
        assertThat(emb.weight.toFloatArray()).containsExactly(before);
        TrainStep step = TrainStep.compile(emb::forward, (out, y) -> out.mul(y).sum(), new SGD(emb.parameters(), 0.1));
        assertThatThrownBy(() -> step.run(ids, Tensor.randn(1, 3, 4))).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("TrainStep.compile").hasMessageContaining("max_norm");
        step.close();
        assertThat(emb.weight.toFloatArray()).containsExactly(before);

        Tensor tied = emb.weight.mul(emb.weight).sum(); // saves the table
        int v = emb.weight.version();
        Tensor looked = emb.forward(ids);
        assertThat(emb.weight.version()).isGreaterThan(v);
        assertThatThrownBy(() -> tied.add(looked.sum()).backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("modified by an inplace operation");
        try (Autograd.Mode g = Autograd.noGrad()) {
            for (long r : new long[] {0, 3}) {
                try (Tensor row = emb.weight.select(0, (int) r)) {
                    assertThat(row.norm().item()).isLessThanOrEqualTo(0.5f);
                }
            }
        }
    }

    /**
     * A 2-d EmbeddingBag without padding, mode sum or mean, traces into a plan (its ops all have steps); max (max(dim)
     * has no step) and padding (bags laid out in Java) are refused with messages naming embedding_bag.
     */
    @Test
    void twoDimensionalBagsTraceIntoAPlan() {
        Lanes.manualSeed(8);
        for (String mode : List.of("sum", "mean")) {
            EmbeddingBag bag = new EmbeddingBag(10, 6, mode);
            long[] ids = {1, 4, 4, 9, 0, 2, 7, 7};
            try (InferencePlan plan = InferencePlan.trace(bag::forward, Tensor.of(ids, 2, 4))) {
                long[] other = {3, 3, 8, 1, 5, 6, 0, 9};
                float[] out = new float[plan.outputSize()];
                plan.run(other, out);
                try (Autograd.Mode g = Autograd.noGrad()) {
                    assertThat(out).as(mode).containsExactly(bag.forward(Tensor.of(other, 2, 4)).contiguous().toFloatArray());
                }
            }
        }
        EmbeddingBag max = new EmbeddingBag(10, 6, "max");
        assertThatThrownBy(() -> InferencePlan.trace(max::forward, Tensor.of(new long[] {1, 0}, 1, 2)))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("embedding_bag: mode max");
        EmbeddingBag padded = new EmbeddingBag(10, 6, null, 2.0, false, "sum", false, false, 0);
        assertThatThrownBy(() -> InferencePlan.trace(padded::forward, Tensor.of(new long[] {1, 0}, 1, 2)))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("embedding_bag");
    }

    @Test
    void reprsPrintLikeTorch() {
        assertThat(new Embedding(10, 3, 0, 1.0, 3.0, true, false).toString())
                .isEqualTo("Embedding(10, 3, padding_idx=0, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True)");
        assertThat(new Embedding(10, 3).toString()).isEqualTo("Embedding(10, 3)");
        assertThat(new EmbeddingBag(10, 3, 1.5, 3.0, true, "sum", false, true, 2).toString())
                .isEqualTo("EmbeddingBag(10, 3, max_norm=1.5, norm_type=3.0, scale_grad_by_freq=True, mode=sum, padding_idx=2)");
        assertThat(new EmbeddingBag(10, 3).toString()).isEqualTo("EmbeddingBag(10, 3, mode=mean)");
    }

    @Test
    void fromPretrainedKeepsTheTableAndOptions() {
        Tensor table = Tensor.of(new float[] {3, 4, 0.3f, 0.4f, 1, 1}, 3, 2);
        EmbeddingBag bag = EmbeddingBag.fromPretrained(table, true, 1.0, 2.0, false, "sum", false, false, null);
        assertThat(bag.weight.requiresGrad()).isFalse();
        Tensor out = bag.forward(Tensor.of(new long[] {0, 1}, 1, 2));
        assertThat(out.toFloatArray()).containsExactly(new float[] {(float) (3 / (5 + 1e-7) + 0.3), (float) (4 / (5 + 1e-7) + 0.4)},
                org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(table.toFloatArray()[0]).as("the given table is copied, not renormalised").isEqualTo(3f);
        Embedding emb = Embedding.fromPretrained(table, false, null, null, 2.0, true, false);
        assertThat(emb.scaleGradByFreq).isTrue();
        assertThat(emb.weight.requiresGrad()).isTrue();
        assertThat(EmbeddingBag.fromPretrained(table).mode).isEqualTo("mean");
        // bags of no index: zeros, as torch gives for offsets; a [B, 0] input torch 1.13 refuses by accident (its
        // arange(0, 0, step 0) for the offsets: "step must be nonzero"), Lanes gives B bags of zeros
        for (String mode : List.of("sum", "mean", "max")) {
            assertThat(F.embeddingBag(Tensor.of(new long[0], 2, 0), table, null, mode).toFloatArray()).containsExactly(0, 0, 0, 0);
            assertThat(F.embeddingBag(Tensor.of(new long[] {2}, 1), table, Tensor.of(new long[] {0, 0, 1}, 3), mode).toFloatArray())
                    .containsExactly(0, 0, 1, 1, 0, 0); // bags [0, 0), [0, 1), [1, 1)
        }
    }

    @Test
    void badInputIsRefusedWithTorchMessages() {
        Tensor w = Tensor.randn(6, 3);
        Tensor ids = Tensor.of(new long[] {0, 1, 2, 3}, 4);
        assertThatThrownBy(() -> F.embedding(ids, w, null, null, 2.0, false, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sparse");
        assertThatThrownBy(() -> new Embedding(6, 3, null, null, 2.0, false, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sparse");
        assertThatThrownBy(() -> new EmbeddingBag(6, 3, null, 2.0, false, "sum", true, false, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sparse");
        for (double bad : new double[] {0, -1, Double.NaN}) {
            assertThatThrownBy(() -> F.embedding(ids, w, null, bad, 2.0, false, false)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("max_norm must be positive");
            assertThatThrownBy(() -> new Embedding(6, 3, null, bad, 2.0, false, false)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("max_norm must be positive");
        }
        assertThatThrownBy(() -> F.embedding(ids, w, null, 1.0, -2.0, false, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("norm_type");
        float[] before = w.toFloatArray();
        assertThatThrownBy(() -> F.embedding(Tensor.of(new long[] {0, 6}, 2), w, null, 0.1, 2.0, false, false))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index 6 is out of bounds");
        assertThat(w.toFloatArray()).as("bad indices are refused before the table is renormalised").containsExactly(before);

        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {1, 3}, 2), "sum")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offsets[0] has to be 0");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0, 3, 2}, 3), "sum")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-decreasing");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0, 5}, 2), "sum")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offsets[-1] can not be greater than input's length 4");
        assertThatThrownBy(() -> F.embeddingBag(Tensor.of(new long[] {0, 9}, 2), w, Tensor.of(new long[] {0}, 1), "sum"))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index 9 is out of bounds");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0}, 1), null, 2.0, false, "max", false, Tensor.ones(4), false, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("per_sample_weights is only supported for mode='sum'");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0}, 1), null, 2.0, false, "sum", false, Tensor.ones(3), false, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must have the same shape as the input");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0}, 1), 0.0, 2.0, false, "sum", false, null, false, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_norm must be positive");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, null, "sum")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offsets has to be a 1D Tensor but got None");
        assertThatThrownBy(() -> F.embeddingBag(ids.view(2, 2), w, Tensor.of(new long[] {0}, 1), "sum")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("if input is 2D, then offsets has to be None");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0}, 1), "median")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mode has to be one of sum, mean or max");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0}, 1), null, 2.0, true, "max", false, null, false, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max mode does not support scaling the gradient");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[0], 0), null, 2.0, false, "sum", false, null, true, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("include_last_offset");
        assertThatThrownBy(() -> F.embeddingBag(ids, w, Tensor.of(new long[] {0, 2, 3}, 3), null, 2.0, false, "sum", false, null, true, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offsets[-1] has to be the input's length 4");
        assertThatThrownBy(() -> new EmbeddingBag(6, 3, null, 2.0, false, "sum", false, false, 6)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding_idx");
        // one long bag among many short ones: the padded [bags, longest, dim] layout would pass 2^31 floats
        long[] many = new long[70_000];
        long[] starts = new long[40_000];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = i;
        }
        assertThatThrownBy(() -> F.embeddingBag(Tensor.of(many, many.length), w, Tensor.of(starts, starts.length), "sum"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("40000 bags of up to 30001 rows of 3 floats exceed 2^31 - 1");
    }
}
