package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * cat, stack, split, chunk, tril, triu, masked_fill and where (issue 16): a case table like the op table's, each case
 * checked against PyTorch 1.13 (golden/shape_ops.txt, src/test/python/gen_shape_ops_golden.py: forward, grad_fn name,
 * gradients of {@code sum_j(out_j * g_j)}), by gradcheck, and through an {@link InferencePlan} against eager; then
 * masks of either dtype, the kernels against a scalar reference over random layouts, views, memory and bad input.
 */
class ShapeOpsTest {
    /**
     * torch: zeros(2, 3, 0) + zeros(2, 1, 0) -> Size([2, 3, 0]); a young process (the cold-start forms, which the test
     * JVMs turn off) threw IndexOutOfBounds: rows of 0 floats at offsets past an empty segment's end. Run in a child
     * JVM with cold start on, as a user's first calls run.
     */
    @Test
    void anEmptyTensorBroadcastsAgainstAnotherEmptyOne() throws Exception {
        assertThat(Tensor.zeros(2, 3, 0).add(Tensor.zeros(2, 1, 0)).shape()).containsExactly(2, 3, 0);
        String out = ChildJvm.lastLine(ShapeOpsTest.class, List.of("-Dlanes.coldStart=true"), List.of(), "empty ", 120);
        assertThat(out).isEqualTo("[2, 3, 0] [2, 3, 0]");
    }

    public static void main(String[] args) {
        System.out.println("empty " + Arrays.toString(Tensor.zeros(2, 3, 0).add(Tensor.zeros(2, 1, 0)).shape()) + " "
                + Arrays.toString(Tensor.zeros(2, 3, 0).mul(Tensor.zeros(1, 3, 0)).shape()));
    }

    @Test
    void anEmptyTensorMayHaveHugeOtherDimsWhileItsStridesFitAnInt() {
        // torch.zeros(65536, 65536, 0): Size([65536, 65536, 0]), stride (1, 1, 1); Lanes refused "more than 2^31 elements"
        Tensor e = Tensor.zeros(65536, 65536, 0);
        assertThat(e.shape()).containsExactly(65536, 65536, 0);
        assertThat(e.numel()).isZero();
        // torch's stride of zeros(0, 65536, 65536) is 2^32, past Lanes' int strides: refused by name (it was wrapped to 0)
        assertThatThrownBy(() -> Tensor.zeros(0, 65536, 65536)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("strides past").hasMessageContaining("[0, 65536, 65536]");
    }

    /**
     * One golden case: its name, the op over the inputs as recorded (a case may transpose an input first, as the
     * generator does), the input a plan takes ({@code -1}: no plan check; the other inputs are the plan's constants),
     * and the tolerance against PyTorch (0: the ops only move values; softmax's case computes).
     */
    record OpCase(String name, Function<List<Tensor>, List<Tensor>> op, int planInput, double tol) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static OpCase one(String name, Function<List<Tensor>, Tensor> op) {
        return new OpCase(name, in -> List.of(op.apply(in)), 0, 0);
    }

    private static OpCase many(String name, Function<Tensor, List<Tensor>> op) {
        return new OpCase(name, in -> op.apply(in.get(0)), 0, 0);
    }

    static final List<OpCase> CASES = List.of(
            one("cat_dim0", in -> Tensor.cat(List.of(in.get(0), in.get(1)), 0)),
            one("cat_neg_dim", in -> Tensor.cat(List.of(in.get(0), in.get(1), in.get(2).transpose(1, 2)), -2)),
            one("cat_last_dim", in -> Tensor.cat(new Tensor[] {in.get(0), in.get(1)}, -1)),
            new OpCase("cat_skips_empty", in -> List.of(Tensor.cat(List.of(in.get(0), in.get(1)), 1)), 1, 0),
            one("cat_one_input_no_grad", in -> Tensor.cat(List.of(in.get(0), in.get(1)), 1)),
            one("stack_dim0", in -> Tensor.stack(List.of(in.get(0), in.get(1), in.get(2)))),
            one("stack_last_dim", in -> Tensor.stack(List.of(in.get(0), in.get(1).t()), -1)),
            one("stack_middle", in -> Tensor.stack(new Tensor[] {in.get(0), in.get(1)}, 1)),
            many("split_2", x -> x.split(2)),
            many("split_sizes_dim1", x -> x.split(new int[] {2, 5}, 1)),
            many("split_larger_than_dim", x -> x.split(10, -1)),
            many("chunk_3_dim1", x -> x.chunk(3, 1)),
            many("chunk_more_than_size", x -> x.chunk(6)),
            one("tril", in -> in.get(0).tril()),
            one("tril_minus_1", in -> in.get(0).tril(-1)),
            one("tril_plus_2", in -> in.get(0).tril(2)),
            one("tril_wide_rows", in -> in.get(0).tril(1)),
            one("tril_transposed", in -> in.get(0).transpose(0, 1).tril()),
            one("triu", in -> in.get(0).triu()),
            one("triu_plus_1", in -> in.get(0).triu(1)),
            one("triu_minus_2", in -> in.get(0).triu(-2)),
            one("triu_wide_rows", in -> in.get(0).triu(-1)),
            one("triu_beyond", in -> in.get(0).triu(9)),
            one("masked_fill", in -> in.get(0).maskedFill(in.get(1), 2.5)),
            one("masked_fill_neg_inf", in -> in.get(0).maskedFill(in.get(1), Double.NEGATIVE_INFINITY)),
            new OpCase("masked_fill_causal", in -> List.of(in.get(0).maskedFill(in.get(1), Double.NEGATIVE_INFINITY).softmax(-1)), 0, 1e-6),
            one("masked_fill_broadcast_both", in -> in.get(0).maskedFill(in.get(1), -1.0)),
            new OpCase("where", in -> List.of(Tensor.where(in.get(0), in.get(1), in.get(2))), 1, 0),
            new OpCase("where_broadcast", in -> List.of(Tensor.where(in.get(0), in.get(1), in.get(2))), 2, 0),
            new OpCase("where_scalar_like", in -> List.of(Tensor.where(in.get(0), in.get(1), in.get(2))), 1, 0),
            new OpCase("where_row_condition", in -> List.of(Tensor.where(in.get(0), in.get(1), in.get(2))), 1, 0));

    /** The cases with a mask or condition input, and its index. */
    private static final Map<String, Integer> MASK_INPUT = Map.of("masked_fill", 1, "masked_fill_neg_inf", 1, "masked_fill_causal", 1,
            "masked_fill_broadcast_both", 1, "where", 0, "where_broadcast", 0, "where_scalar_like", 0, "where_row_condition", 0);

    private static final Map<String, Golden.Case> GOLDEN = new HashMap<>();

    static {
        for (Golden.Case c : Golden.read("shape_ops.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    static Stream<OpCase> cases() {
        return CASES.stream();
    }

    static Stream<OpCase> maskCases() {
        return CASES.stream().filter(c -> MASK_INPUT.containsKey(c.name()));
    }

    // ---- against PyTorch ----

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardBackwardAndGradFnMatchPyTorch(OpCase c) {
        try (MemoryScope s = MemoryScope.open()) {
            List<Tensor> in = inputs(c, true);
            List<Tensor> out = c.op().apply(in);
            checkAgainstGolden(c, in, out);
        }
    }

    /** The same goldens with the mask or condition as int64 tensors (0/1 and 0/-2: nonzero is true) and as 0/7 floats. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("maskCases")
    void masksOfEitherDtypeReadNonzeroAsTrue(OpCase c) {
        int m = MASK_INPUT.get(c.name());
        for (UnaryOperator<Tensor> asMask : List.<UnaryOperator<Tensor>>of(Tensor::toLong, t -> t.mul(-2).toLong(), t -> t.mul(7))) {
            try (MemoryScope s = MemoryScope.open()) {
                List<Tensor> in = new ArrayList<>(inputs(c, true));
                in.set(m, asMask.apply(in.get(m)));
                checkAgainstGolden(c, in, c.op().apply(in));
            }
        }
    }

    private static void checkAgainstGolden(OpCase c, List<Tensor> in, List<Tensor> out) {
        Tensor loss = null;
        for (int j = 0; j < out.size(); j++) {
            Golden.Case want = golden(c, "out" + j);
            Tensor y = out.get(j);
            assertThat(y.shape()).as("%s out%d shape", c, j).containsExactly(want.shape());
            Assertions2.assertClose(y, want.tensor(), c.tol(), c.tol(), c + " out" + j);
            assertThat(y.gradFn()).as("%s out%d grad_fn", c, j).isNotNull();
            assertThat(y.gradFn().name()).as("%s out%d grad_fn", c, j).isEqualTo(want.expr());
            Tensor term = y.mul(golden(c, "g" + j).tensor()).sum();
            loss = loss == null ? term : loss.add(term);
        }
        assertThat(out).as("%s: number of outputs", c).hasSize(countOutputs(c));
        loss.backward();
        for (int i = 0; i < in.size(); i++) {
            Golden.Case want = GOLDEN.get(c.name() + "/d" + i);
            if (want == null) {
                assertThat(in.get(i).grad()).as("%s: input %d gets no gradient", c, i).isNull();
                continue;
            }
            assertThat(in.get(i).grad()).as("%s: gradient of input %d", c, i).isNotNull();
            assertThat(in.get(i).grad().shape()).containsExactly(want.shape());
            Assertions2.assertClose(in.get(i).grad(), want.tensor(), Math.max(c.tol(), 1e-6), Math.max(c.tol(), 1e-6), c + " d" + i);
        }
    }

    // ---- gradcheck ----

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradcheck(OpCase c) {
        if (c.name().equals("masked_fill_neg_inf")) {
            return; // -inf outputs: finite differences of sum(y * v) are NaN; masked_fill_causal covers -inf fills
        }
        try (MemoryScope s = MemoryScope.open()) {
            List<Tensor> in = inputs(c, true);
            Tensor[] arr = in.toArray(Tensor[]::new);
            // several outputs: one vector of all of them
            Gradcheck.check(t -> {
                List<Tensor> out = c.op().apply(Arrays.asList(t));
                return Tensor.cat(out.stream().map(Tensor::flatten).toList());
            }, arr);
        }
    }

    // ---- inference plan ----

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void planEqualsEagerBitForBit(OpCase c) {
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            List<Tensor> in = inputs(c, false);
            int p = c.planInput();
            Function<Tensor, Tensor> fn = x -> {
                List<Tensor> args = new ArrayList<>(in);
                args.set(p, x);
                List<Tensor> out = c.op().apply(args);
                // several outputs (views at offsets): scaled differently, then joined, all inside the plan
                List<Tensor> scaled = new ArrayList<>();
                for (int j = 0; j < out.size(); j++) {
                    scaled.add(out.get(j).mul(j + 1).flatten());
                }
                return out.size() == 1 ? out.get(0) : Tensor.cat(scaled);
            };
            Tensor x = in.get(p);
            Tensor want = fn.apply(x);
            try (InferencePlan plan = InferencePlan.trace(fn, x.shape())) {
                float[] got = new float[want.numel()];
                plan.run(x.toFloatArray(), got);
                assertThat(got).as("plan of %s:\n%s", c, plan).containsExactly(want.contiguous().toFloatArray());
                String step = c.name().startsWith("masked_fill") ? "masked_fill" : c.name().startsWith("where") ? "where"
                        : c.name().startsWith("tril") ? "tril" : c.name().startsWith("triu") ? "triu" : "cat";
                if (countOutputs(c) > 1 || !step.equals("cat") || c.name().startsWith("cat") || c.name().startsWith("stack")) {
                    assertThat(plan.toString()).as("the plan of %s", c).contains(step);
                }
            }
        }
    }

    /** A causal self-attention block of the kind issue 16 is about, traced: the mask computed from a constant inside forward. */
    @Test
    void planOfCausalAttentionScoresWithMasksComputedInForward() {
        Lanes.manualSeed(16);
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            int t = 6;
            int d = 8;
            Tensor causal = Tensor.ones(t, t).tril();
            Tensor wqkv = Tensor.randn(d, 3 * d).mul(0.3);
            Function<Tensor, Tensor> attention = x -> {
                List<Tensor> qkv = x.matmul(wqkv).split(d, -1);
                Tensor scores = qkv.get(0).matmul(qkv.get(1).transpose(-2, -1)).div(Math.sqrt(d));
                Tensor att = scores.maskedFill(causal.eq(0), Double.NEGATIVE_INFINITY).softmax(-1);
                Tensor y = att.matmul(qkv.get(2));
                Tensor gated = Tensor.where(y.gt(0), y, y.mul(0.1)); // a mask computed from a traced value
                return Tensor.cat(List.of(gated, x.triu(1)), -1);
            };
            Tensor x = Tensor.randn(2, t, d);
            Tensor want = attention.apply(x);
            try (InferencePlan plan = InferencePlan.trace(attention, 2, t, d)) {
                float[] got = new float[want.numel()];
                plan.run(x.toFloatArray(), got);
                assertThat(got).as("plan:\n%s", plan).containsExactly(want.toFloatArray());
                assertThat(plan.toString()).contains("masked_fill", "where", "cat", "triu");
            }
        }
    }

    /** int64 cat has no plan step (int64 copies have none): refused while tracing, like other ops without one. */
    @Test
    void int64CatIsRefusedByTheTracerWithTheSupportedList() {
        assertThatThrownBy(() -> InferencePlan.trace(x -> Tensor.cat(List.of(x.toLong(), x.toLong())).toFloat(), 3))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("no plan step");
    }

    // ---- the kernels against a scalar reference over random layouts ----

    /** where and masked_fill with contiguous, broadcast (row, column, scalar) and transposed operands, both mask dtypes. */
    @Test
    void whereAndMaskedFillMatchAScalarReferenceOverLayouts() {
        Random rnd = new Random(16);
        int[][] shapes = {{37}, {3, 17}, {4, 1}, {1, 19}, {1}, {2, 3, 33}, {5, 7, 1}};
        try (MemoryScope s = MemoryScope.open()) {
            for (int trial = 0; trial < 200; trial++) {
                int[] cs = shapes[rnd.nextInt(shapes.length)];
                int[] xs = shapes[rnd.nextInt(shapes.length)];
                int[] ys = shapes[rnd.nextInt(shapes.length)];
                int[] out;
                try {
                    out = Shapes.broadcast(Shapes.broadcast(cs, xs), ys);
                } catch (IllegalArgumentException e) {
                    continue;
                }
                Tensor c = randomMask(rnd, cs, rnd.nextBoolean());
                Tensor x = randomLayout(rnd, xs);
                Tensor y = randomLayout(rnd, ys);
                float[] cv = c.toFloatArray();
                float[] xv = x.toFloatArray();
                float[] yv = y.toFloatArray();
                float[] want = new float[Shapes.checkedNumel(out)];
                float[] wantFill = new float[want.length];
                for (int i = 0; i < want.length; i++) {
                    boolean t = cv[index(i, out, cs)] != 0;
                    want[i] = t ? xv[index(i, out, xs)] : yv[index(i, out, ys)];
                }
                assertThat(Tensor.where(c, x, y).toFloatArray()).as("where %s %s %s (%s)", Arrays.toString(cs), Arrays.toString(xs),
                        Arrays.toString(ys), c.dtype()).containsExactly(want);
                int[] fillShape = Shapes.broadcast(xs, cs);
                wantFill = new float[Shapes.checkedNumel(fillShape)];
                for (int i = 0; i < wantFill.length; i++) {
                    wantFill[i] = cv[index(i, fillShape, cs)] != 0 ? -3.5f : xv[index(i, fillShape, xs)];
                }
                assertThat(x.maskedFill(c, -3.5).toFloatArray()).as("masked_fill %s %s (%s)", Arrays.toString(xs), Arrays.toString(cs),
                        c.dtype()).containsExactly(wantFill);
            }
        }
    }

    /** Float masks: NaN is true and -0.0 false (v != 0), in the vector body and in the scalar tail alike. */
    @Test
    void floatMaskNaNIsTrueAndNegativeZeroIsFalse() {
        int n = 41;
        float[] m = new float[n];
        for (int i = 0; i < n; i++) {
            m[i] = i % 3 == 0 ? Float.NaN : i % 3 == 1 ? -0.0f : 0.25f;
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor mask = Tensor.of(m);
            Tensor x = Tensor.zeros(n);
            Tensor y = Tensor.ones(n);
            float[] w = Tensor.where(mask, y, x).toFloatArray();
            float[] f = x.maskedFill(mask, 5).toFloatArray();
            for (int i = 0; i < n; i++) {
                boolean t = i % 3 != 1;
                assertThat(w[i]).as("where at %d", i).isEqualTo(t ? 1f : 0f);
                assertThat(f[i]).as("masked_fill at %d", i).isEqualTo(t ? 5f : 0f);
            }
        }
    }

    /** tril/triu at every diagonal (extreme ones included), batched, contiguous and transposed inputs, against a reference. */
    @Test
    void trilAndTriuMatchAScalarReference() {
        Random rnd = new Random(61);
        int[][] shapes = {{1, 1}, {4, 4}, {3, 37}, {37, 3}, {2, 5, 19}, {2, 1, 3, 4}, {0, 3}, {3, 0}, {2, 0, 4}};
        int[] diagonals = {0, 1, -1, 2, -2, 5, -5, 40, -40, Integer.MAX_VALUE, Integer.MIN_VALUE};
        try (MemoryScope s = MemoryScope.open()) {
            for (int[] shape : shapes) {
                for (int diag : diagonals) {
                    Tensor x = randomLayout(rnd, shape);
                    float[] xv = x.toFloatArray();
                    int rows = shape[shape.length - 2];
                    int cols = shape[shape.length - 1];
                    float[] lower = new float[xv.length];
                    float[] upper = new float[xv.length];
                    for (int i = 0; i < xv.length; i++) {
                        long r = (i / Math.max(cols, 1)) % Math.max(rows, 1);
                        long col = i % Math.max(cols, 1);
                        lower[i] = col - r <= diag ? xv[i] : 0f;
                        upper[i] = col - r >= diag ? xv[i] : 0f;
                    }
                    assertThat(x.tril(diag).toFloatArray()).as("tril(%d) of %s", diag, Arrays.toString(shape)).containsExactly(lower);
                    assertThat(x.triu(diag).toFloatArray()).as("triu(%d) of %s", diag, Arrays.toString(shape)).containsExactly(upper);
                }
            }
        }
    }

    /** cat and stack of many layouts and dims (odd sizes, strided and broadcast-expanded inputs) against a reference. */
    @Test
    void catAndStackMatchAReferenceOverLayouts() {
        Random rnd = new Random(7);
        try (MemoryScope s = MemoryScope.open()) {
            for (int trial = 0; trial < 60; trial++) {
                int nd = 1 + rnd.nextInt(3);
                int[] base = new int[nd];
                for (int k = 0; k < nd; k++) {
                    base[k] = 1 + rnd.nextInt(9);
                }
                int dim = rnd.nextInt(nd);
                int count = 1 + rnd.nextInt(4);
                List<Tensor> parts = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    int[] sh = base.clone();
                    sh[dim] = rnd.nextInt(6); // empty parts too
                    parts.add(rnd.nextInt(4) == 0 && sh[dim] > 0 ? Tensor.randn(withOne(sh, dim)).expand(sh) : randomLayout(rnd, sh));
                }
                Tensor got = Tensor.cat(parts, dim - nd * rnd.nextInt(2));
                assertThat(got.toFloatArray()).as("cat trial %d", trial).containsExactly(referenceCat(parts, dim));
                List<Tensor> same = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    same.add(randomLayout(rnd, base));
                }
                int sdim = rnd.nextInt(nd + 1);
                List<Tensor> unsqueezed = same.stream().map(t -> t.unsqueeze(sdim)).toList();
                assertThat(Tensor.stack(same, sdim).toFloatArray()).as("stack trial %d", trial)
                        .containsExactly(referenceCat(unsqueezed, sdim));
            }
        }
    }

    /** int64 lists stay int64 (copied without a plan step); int64 mixed with float32 gives float32, like PyTorch. */
    @Test
    void int64CatAndStackAndPromotion() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = Tensor.of(new long[] {1, 2, 3, 4}, 2, 2);
            Tensor b = Tensor.of(new long[] {5, 6}, 2, 1);
            Tensor c = Tensor.cat(List.of(a, b.t().t()), 1);
            assertThat(c.dtype()).isEqualTo(DType.INT64);
            assertThat(c.toLongArray()).containsExactly(1, 2, 5, 3, 4, 6);
            Tensor st = Tensor.stack(List.of(a, a.t()), 2);
            assertThat(st.dtype()).isEqualTo(DType.INT64);
            assertThat(st.shape()).containsExactly(2, 2, 2);
            assertThat(st.toLongArray()).containsExactly(1, 1, 2, 3, 3, 2, 4, 4);
            Tensor f = Tensor.of(new float[] {0.5f, 1.5f}, 2, 1).requiresGrad(true);
            Tensor mixed = Tensor.cat(List.of(a, f), 1);
            assertThat(mixed.dtype()).isEqualTo(DType.FLOAT32);
            assertThat(mixed.toFloatArray()).containsExactly(1, 2, 0.5f, 3, 4, 1.5f);
            Tensor mixedStack = Tensor.stack(List.of(b.t(), f.t()));
            assertThat(mixedStack.toFloatArray()).containsExactly(5, 6, 0.5f, 1.5f);
            Tensor scalars = Tensor.stack(List.of(Tensor.scalar(1), Tensor.scalar(2), Tensor.scalar(3))); // 0-d inputs stack to 1-d
            assertThat(scalars.shape()).containsExactly(3);
            assertThat(scalars.toFloatArray()).containsExactly(1, 2, 3);
            mixed.sum().backward();
            assertThat(f.grad().toFloatArray()).containsExactly(1, 1);
            Tensor twice = Tensor.cat(List.of(f, f.mul(3), f), 1); // one input twice: both slices' gradients add up
            twice.sum().backward();
            assertThat(f.grad().toFloatArray()).containsExactly(6, 6);
            assertThat(mixed.gradFn().nextFunctions().get(0).node()).isNull(); // the int64 input: (None, 0)
        }
    }

    // ---- views, gradients, memory ----

    @Test
    void splitAndChunkAreViewsAndGradientsFlowOnlyThroughTheUsedOnes() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.arange(0.0, 12.0, 1.0).view(3, 4).requiresGrad(true);
            List<Tensor> parts = x.split(3, 1);
            assertThat(parts).hasSize(2);
            assertThat(parts.get(0).sharesStorageWith(x)).isTrue();
            assertThat(parts.get(1).shape()).containsExactly(3, 1);
            assertThat(parts.get(1).toFloatArray()).containsExactly(3, 7, 11);
            assertThatThrownBy(() -> parts.add(x)).isInstanceOf(UnsupportedOperationException.class); // a tuple in PyTorch
            parts.get(1).mul(2).sum().backward();
            assertThat(x.grad().toFloatArray()).containsExactly(0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2);
            try (Autograd.Mode g = Autograd.noGrad()) {
                x.data().mul_(10); // a write to the base shows through the views
            }
            assertThat(parts.get(1).toFloatArray()).containsExactly(30, 70, 110);
            // chunk sizes like PyTorch: ceil(size / chunks) per piece, fewer pieces when that runs out
            assertThat(Tensor.zeros(5, 4).chunk(3).stream().map(t -> t.size(0)).toList()).containsExactly(2, 2, 1);
            assertThat(Tensor.zeros(5, 4).chunk(6).stream().map(t -> t.size(0)).toList()).containsExactly(1, 1, 1, 1, 1);
            assertThat(Tensor.zeros(5, 4).chunk(3, 1).stream().map(t -> t.size(1)).toList()).containsExactly(2, 2);
            assertThat(Tensor.zeros(5, 0).chunk(3, 1).stream().map(t -> t.size(1)).toList()).containsExactly(0, 0, 0);
            assertThat(Tensor.zeros(0, 3).split(0)).hasSize(1);
            assertThat(Tensor.zeros(0, 3).split(2).get(0).shape()).containsExactly(0, 3);
            assertThat(Tensor.zeros(5, 4).split(10)).hasSize(1);
            assertThat(Tensor.zeros(5, 4).split(new int[] {0, 5, 0}).stream().map(t -> t.size(0)).toList()).containsExactly(0, 5, 0);
            Tensor v = Tensor.randn(2, 6).requiresGrad(true);
            assertThat(v.chunk(2, -1).get(0).gradFn().name()).isEqualTo("SplitBackward0");
            assertThat(Tensor.zeros(0, 2).requiresGrad(true).chunk(2).get(1).gradFn().name()).isEqualTo("SplitWithSizesBackward0");
            // a view of a view: split of a transposed tensor
            Tensor tt = Tensor.arange(0.0, 6.0, 1.0).view(2, 3).t();
            assertThat(tt.split(2).get(1).toFloatArray()).containsExactly(2, 5);
        }
    }

    /** cat, stack, split, where, masked_fill and tril in a training-like loop return every temporary to the pool. */
    @Test
    void forwardAndBackwardReleaseTheirTemporaries() {
        MemoryPool pool = MemoryPool.global();
        Tensor w = Tensor.randn(4, 12).requiresGrad(true);
        Runnable step = () -> {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor x = Tensor.randn(3, 4);
                List<Tensor> qkv = x.mm(w).chunk(3, 1);
                Tensor scores = qkv.get(0).mm(qkv.get(1).t()).tril();
                Tensor masked = scores.maskedFill(scores.eq(0), -1e4).softmax(-1);
                Tensor gated = Tensor.where(masked.gt(0.3), masked, x.sum(1, true));
                Tensor tail = gated.split(new int[] {1, 2}, 1).get(1);
                Tensor joined = Tensor.cat(List.of(masked, qkv.get(2), tail), 1);
                Tensor.stack(List.of(joined, joined.mul(2))).sum().backward();
            }
            Tensor g = w.grad();
            w.setGrad(null);
            g.close();
        };
        for (int i = 0; i < 3; i++) {
            step.run();
        }
        long before = pool.bytesInUse();
        for (int i = 0; i < 20; i++) {
            step.run();
        }
        assertThat(pool.bytesInUse()).isLessThanOrEqualTo(before);
        w.close();
    }

    // ---- bad input ----

    @Test
    void badInputGetsPyTorchsMessagesBeforeAnythingIsAllocated() {
        Tensor a = Tensor.zeros(2, 3);
        Tensor b = Tensor.zeros(2, 4);
        assertThatThrownBy(() -> Tensor.cat(List.of(a, b), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1 in the list.");
        assertThatThrownBy(() -> Tensor.cat(List.of(), 0)).hasMessage("torch.cat(): expected a non-empty list of Tensors");
        assertThatThrownBy(() -> Tensor.cat((List<Tensor>) null, 0)).hasMessage("torch.cat(): expected a non-empty list of Tensors");
        assertThatThrownBy(() -> Tensor.cat(List.of(a, Tensor.zeros(2, 3, 1)), 0)).hasMessage("Tensors must have same number of dimensions: got 2 and 3");
        assertThatThrownBy(() -> Tensor.cat(List.of(Tensor.scalar(1), Tensor.scalar(2)))).hasMessage("zero-dimensional tensor (at position 0) cannot be concatenated");
        assertThatThrownBy(() -> Tensor.cat(List.of(a, b), 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
        assertThatThrownBy(() -> Tensor.cat(new Tensor[] {a, null}, 0)).hasMessageContaining("position 1");
        assertThatThrownBy(() -> Tensor.stack(List.of(a, b))).hasMessage("stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1");
        assertThatThrownBy(() -> Tensor.stack(List.of(), 0)).hasMessage("stack expects a non-empty TensorList");
        assertThatThrownBy(() -> Tensor.stack(List.of(a, a), 3)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-3, 2], but got 3)");
        Tensor x = Tensor.zeros(5, 4);
        assertThatThrownBy(() -> x.split(-1)).hasMessage("split expects split_size be non-negative, but got split_size=-1");
        assertThatThrownBy(() -> x.split(0)).hasMessage("split_size can only be 0 if dimension size is 0, but got dimension size of 5");
        assertThatThrownBy(() -> x.split(new int[] {1, 2})).hasMessage("split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at dimension 0), but got split_sizes=[1, 2]");
        assertThatThrownBy(() -> x.split(new int[] {-1, 6})).hasMessage("split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=[-1, 6]");
        assertThatThrownBy(() -> x.split(new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, 7})).hasMessageContaining("sum exactly to 5");
        assertThatThrownBy(() -> x.chunk(0)).hasMessage("chunk expects `chunks` to be greater than 0, got: 0");
        assertThatThrownBy(() -> Tensor.scalar(1).chunk(2)).hasMessage("chunk expects at least a 1-dimensional tensor");
        assertThatThrownBy(() -> Tensor.scalar(1).split(1)).hasMessage("split expects at least a 1-dimensional tensor");
        assertThatThrownBy(() -> x.split(2, 2)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("but got 2");
        assertThat(x.split(Integer.MAX_VALUE)).hasSize(1); // no overflow in ceil(size / split)
        assertThat(x.chunk(Integer.MAX_VALUE)).hasSize(5);
        assertThatThrownBy(() -> Tensor.zeros(3).tril()).hasMessage("tril: input tensor must have at least 2 dimensions (got shape [3])");
        assertThatThrownBy(() -> Tensor.zeros(3).triu(1)).hasMessage("triu: input tensor must have at least 2 dimensions (got shape [3])");
        assertThatThrownBy(() -> Tensor.of(new long[] {1, 2, 3, 4}, 2, 2).tril()).hasMessageContaining("int64");
        assertThatThrownBy(() -> x.maskedFill(Tensor.ones(3), 1)).hasMessageContaining("The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1");
        assertThatThrownBy(() -> Tensor.where(Tensor.ones(3), x, Tensor.zeros(4))).hasMessageContaining("The size of tensor a (3) must match the size of tensor b (4)");
        assertThatThrownBy(() -> Tensor.where(Tensor.ones(4), x, Tensor.of(new long[] {1, 2, 3, 4}))).hasMessageContaining("where").hasMessageContaining("int64");
        assertThatThrownBy(() -> Tensor.zerosLong(4).maskedFill(Tensor.ones(4), 1)).hasMessageContaining("masked_fill").hasMessageContaining("int64");
        Tensor closed = Tensor.ones(4);
        closed.close();
        assertThatThrownBy(() -> Tensor.cat(List.of(closed, closed))).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        assertThatThrownBy(() -> Tensor.where(closed, Tensor.ones(4), Tensor.ones(4))).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        assertThatThrownBy(() -> Tensor.ones(4).maskedFill(closed, 1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        assertThatThrownBy(() -> closed.split(2)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        // a result past Integer.MAX_VALUE elements along one dim is refused before allocating
        Tensor wide = Tensor.zeros(1).expand(Integer.MAX_VALUE - 8);
        assertThatThrownBy(() -> Tensor.cat(List.of(wide, wide))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Integer.MAX_VALUE");
        assertThatThrownBy(() -> Tensor.stack(List.of(wide, wide))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Integer.MAX_VALUE");
    }

    // ---- helpers ----

    /** The case's inputs from the golden file; those PyTorch differentiated require grad when {@code grad}. */
    private static List<Tensor> inputs(OpCase c, boolean grad) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; GOLDEN.containsKey(c.name() + "/in" + i); i++) {
            Tensor t = golden(c, "in" + i).tensor();
            if (grad && GOLDEN.containsKey(c.name() + "/d" + i)) {
                t.requiresGrad(true);
            }
            in.add(t);
        }
        return in;
    }

    private static int countOutputs(OpCase c) {
        int n = 0;
        while (GOLDEN.containsKey(c.name() + "/out" + n)) {
            n++;
        }
        return n;
    }

    private static Golden.Case golden(OpCase c, String part) {
        Golden.Case g = GOLDEN.get(c.name() + "/" + part);
        if (g == null) {
            throw new IllegalStateException("no golden " + c.name() + "/" + part + "; run src/test/python/gen_shape_ops_golden.py");
        }
        return g;
    }

    /** A tensor of {@code shape} with random values, contiguous or a transposed copy's transpose (strided). */
    private static Tensor randomLayout(Random rnd, int[] shape) {
        float[] v = new float[Shapes.checkedNumel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(v, shape.length == 0 ? new int[0] : shape);
        if (shape.length >= 2 && rnd.nextBoolean()) {
            int a = shape.length - 2;
            return t.transpose(a, a + 1).contiguous().transpose(a, a + 1);
        }
        return t;
    }

    private static Tensor randomMask(Random rnd, int[] shape, boolean int64) {
        long[] v = new long[Shapes.checkedNumel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(5) - 2;
        }
        Tensor m = Tensor.of(v, shape);
        return int64 ? m : m.toFloat();
    }

    /** The flat index into a (broadcast) operand of {@code shape} of output element {@code flat} of {@code out}. */
    private static int index(int flat, int[] out, int[] shape) {
        int idx = 0;
        int stride = 1;
        for (int d = out.length - 1, k = shape.length - 1; d >= 0; d--, k--) {
            int coord = flat % out[d];
            flat /= out[d];
            if (k >= 0) {
                idx += (shape[k] == 1 ? 0 : coord) * stride;
                stride *= shape[k];
            }
        }
        return idx;
    }

    private static int[] withOne(int[] shape, int dim) {
        int[] s = shape.clone();
        s[dim] = 1;
        return s;
    }

    private static float[] referenceCat(List<Tensor> parts, int dim) {
        int[] base = parts.get(0).shape();
        int outer = 1;
        for (int k = 0; k < dim; k++) {
            outer *= base[k];
        }
        List<Float> out = new ArrayList<>();
        List<float[]> values = parts.stream().map(Tensor::toFloatArray).toList();
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < parts.size(); i++) {
                float[] v = values.get(i);
                int block = v.length / Math.max(outer, 1);
                for (int j = 0; j < block; j++) {
                    out.add(v[o * block + j]);
                }
            }
        }
        float[] r = new float[out.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = out.get(i);
        }
        return r;
    }
}
