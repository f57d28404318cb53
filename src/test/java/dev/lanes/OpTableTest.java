package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Linear;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The op table's tests, like PyTorch's OpInfo tests: each test below runs on every row of {@link OpInfo#ROWS}, and
 * CI runs the whole suite at every vector width (natively, with {@code -XX:UseAVX=2} and with
 * {@code -XX:MaxVectorSize=16}), so one row tests an op everywhere.
 *
 * <p><b>Adding an op</b> (or a case of one: another shape, a dim, a keepdim):
 * <ol>
 *   <li>add a row to {@link OpInfo#ROWS}: its name, the call, its sample inputs (shape and domain), the tolerance
 *       against PyTorch and its flags (see {@link OpInfo});</li>
 *   <li>add its twin, with the same name and inputs, to ROWS in {@code src/test/python/gen_op_table_golden.py};</li>
 *   <li>run {@code /usr/bin/python3 src/test/python/gen_op_table_golden.py} (PyTorch 1.13) and commit the new
 *       {@code src/test/resources/golden/op_table.txt}.</li>
 * </ol>
 *
 * <p>Per row:
 * <ul>
 *   <li>{@link #forwardBackwardAndGradFnMatchPyTorch}: on PyTorch's inputs, the output (shape, dtype, values), its
 *       grad_fn name, and the gradient of {@code sum(y * g)} with respect to every input;</li>
 *   <li>{@link #gradcheck}: backward against finite differences, on fresh inputs from the row's domain;</li>
 *   <li>{@link #planMatchesEagerOrRefuses}: a traced {@link InferencePlan} (first input traced, the others
 *       constants) gives the eager bits; a row without a plan step is refused at trace time;</li>
 *   <li>{@link #pointwiseAfterALinearInAPlan}: pointwise rows after a Linear, where activations must fuse into the
 *       GEMM's epilogue (one plan step);</li>
 *   <li>{@link #badInputGetsAClearException}: an int64 input, a released input, and inputs whose shapes do not
 *       fit.</li>
 * </ul>
 */
class OpTableTest {
    private static final Map<String, Golden.Case> GOLDEN = Golden.read("op_table.txt").stream()
            .collect(Collectors.toMap(Golden.Case::name, c -> c));

    static Stream<OpInfo> rows() {
        return OpInfo.ROWS.stream();
    }

    static Stream<OpInfo> differentiableRows() {
        return rows().filter(r -> r.differentiable);
    }

    static Stream<OpInfo> pointwiseRows() {
        return rows().filter(r -> r.pointwise);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void forwardBackwardAndGradFnMatchPyTorch(OpInfo row) {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor[] in = goldenInputs(row);
            for (Tensor x : in) {
                x.requiresGrad(true);
            }
            Tensor y = row.op.apply(in);
            Golden.Case yc = golden(row, "y");
            if (!row.differentiable) {
                assertThat(yc.expr()).as("PyTorch's grad_fn of a forward-only row").isEqualTo("None");
                assertThat(y.requiresGrad()).as("%s of inputs that require grad", row).isFalse();
            } else if (row.lanesGradFn != null) {
                assertThat(y.gradFn().name()).as("grad_fn (PyTorch: %s; %s)", yc.expr(), row.lanesGradFnWhy).isEqualTo(row.lanesGradFn);
                assertThat(yc.expr()).as("PyTorch's grad_fn now equals Lanes': drop the row's lanesGradFn").isNotEqualTo(row.lanesGradFn);
            } else {
                assertThat(y.gradFn().name()).as("grad_fn").isEqualTo(yc.expr());
            }
            Tensor want = yc.tensor();
            assertThat(y.shape()).as("%s shape", row).containsExactly(want.shape());
            assertThat(y.dtype()).as("%s dtype", row).isEqualTo(want.dtype());
            Assertions2.assertClose(y, want, row.atol, row.rtol, row + " forward");
            if (!row.differentiable) {
                return;
            }
            y.backward(golden(row, "g").tensor());
            double atol = Math.max(row.atol, row.gradAtol);
            double rtol = Math.max(row.rtol, row.gradRtol);
            for (int k = 0; k < in.length; k++) {
                Tensor wantGrad = golden(row, "d" + k).tensor();
                Tensor grad = in[k].grad() == null ? Tensor.zeros(in[k].shape()) : in[k].grad();
                assertThat(grad.shape()).as("%s gradient of input %d: shape", row, k).containsExactly(wantGrad.shape());
                Assertions2.assertClose(grad, wantGrad, atol, rtol, row + " gradient of input " + k);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("differentiableRows")
    void gradcheck(OpInfo row) {
        Lanes.manualSeed(row.name.hashCode());
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor[] in = new Tensor[row.args.size()];
            for (int k = 0; k < in.length; k++) {
                in[k] = sample(row.args.get(k), row.kinks).requiresGrad(true);
            }
            Gradcheck.check(row.op, in);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void planMatchesEagerOrRefuses(OpInfo row) {
        try (MemoryScope scope = MemoryScope.open(); Autograd.Mode noGrad = Autograd.noGrad()) {
            Tensor[] in = goldenInputs(row);
            Function<Tensor, Tensor> forward = x -> {
                Tensor[] t = in.clone();
                t[0] = x;
                return row.op.apply(t);
            };
            int[] shape = in[0].shape();
            if (!row.traceable) {
                assertThatThrownBy(() -> InferencePlan.trace(forward, shape).close()).as("%s has no plan step", row)
                        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("InferencePlan.trace");
                return;
            }
            Tensor want = forward.apply(in[0]);
            try (InferencePlan plan = InferencePlan.trace(forward, shape)) {
                if (want.dtype() == DType.INT64) { // argmax/argmin: the plan returns the ids themselves
                    long[] ids = new long[want.numel()];
                    plan.run(in[0].toFloatArray(), ids);
                    assertThat(ids).as("plan of %s:\n%s", row, plan).containsExactly(want.toLongArray());
                    return;
                }
                float[] got = new float[want.numel()];
                plan.run(in[0].toFloatArray(), got);
                if (row.planSumsInAnotherOrder) {
                    Assertions2.assertClose(Tensor.of(got, want.shape()), want, row.atol, row.rtol, row + ", plan vs eager:\n" + plan);
                } else {
                    assertThat(got).as("plan of %s, bit for bit:\n%s", row, plan).containsExactly(want.toFloatArray());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pointwiseRows")
    void pointwiseAfterALinearInAPlan(OpInfo row) {
        Lanes.manualSeed(7);
        Linear linear = new Linear(24, 40);
        linear.eval();
        UnaryOperator<Tensor> model = in -> row.op.apply(new Tensor[] {linear.forward(in)});
        try (MemoryScope scope = MemoryScope.open(); Autograd.Mode noGrad = Autograd.noGrad();
             InferencePlan plan = InferencePlan.trace(model, 3, 24)) {
            Tensor in = Tensor.randn(3, 24);
            Tensor want = model.apply(in);
            float[] got = new float[3 * 40];
            plan.run(in.toFloatArray(), got);
            // the plan's GEMM may sum in another order than the eager one: close, not equal
            Assertions2.assertClose(Tensor.of(got, 3, 40), want, 1e-5, 1e-5, row + " after a Linear, plan vs eager:\n" + plan);
            if (row.fusesAs != null) {
                assertThat(plan.stepCount()).as("%s fused into the GEMM's epilogue:\n%s", row, plan).isEqualTo(1);
                assertThat(plan.toString()).contains("-> " + row.fusesAs.name().toLowerCase(Locale.ROOT));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void badInputGetsAClearException(OpInfo row) {
        try (MemoryScope scope = MemoryScope.open()) {
            for (int k = 0; k < row.args.size(); k++) {
                Tensor[] ints = zeros(row);
                ints[k] = Tensor.zerosLong(row.args.get(k).shape());
                if (row.acceptsInt64) {
                    assertThatCode(() -> row.op.apply(ints)).as("%s with input %d int64", row, k).doesNotThrowAnyException();
                } else {
                    assertThatThrownBy(() -> row.op.apply(ints)).as("%s with input %d int64", row, k)
                            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected a float32 tensor but got int64");
                }
                Tensor[] released = zeros(row);
                released[k].close();
                assertThatThrownBy(() -> row.op.apply(released)).as("%s with input %d released", row, k)
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
            }
            if (row.mismatchShapes != null) {
                // without a graph and with one: recording autograd must not change the check or its message
                for (boolean grad : new boolean[] {false, true}) {
                    Tensor[] misfit = Stream.of(row.mismatchShapes).map(s -> Tensor.zeros(s).requiresGrad(grad)).toArray(Tensor[]::new);
                    var thrown = assertThatThrownBy(() -> row.op.apply(misfit)).as("%s with shapes that do not fit (requires grad: %s)", row, grad)
                            .isInstanceOf(IllegalArgumentException.class);
                    if (grad && row.lanesMismatchWhenRecording != null) {
                        thrown.hasMessageContaining(row.lanesMismatchWhenRecording)
                                .as("%s: the recorded path's message is now the plain one: drop the row's lanesMismatchWhenRecording", row)
                                .hasMessageNotContaining(row.mismatchMessage);
                    } else {
                        thrown.hasMessageContaining(row.mismatchMessage);
                    }
                }
            }
        }
    }

    /** Every row has goldens, and every golden a row: a row renamed or dropped on one side only fails here. */
    @Test
    void goldensAndRowsMatchOneToOne() {
        Set<String> names = new LinkedHashSet<>();
        for (OpInfo row : OpInfo.ROWS) {
            assertThat(names.add(row.name)).as("duplicate row %s", row).isTrue();
        }
        Set<String> goldenRows = GOLDEN.keySet().stream().map(k -> k.substring(0, k.lastIndexOf('/'))).collect(Collectors.toSet());
        assertThat(goldenRows).containsExactlyInAnyOrderElementsOf(names);
    }

    // ---- inputs ----

    /** PyTorch's sample inputs of the row, checked against the row's shapes, in the row's layouts. */
    private static Tensor[] goldenInputs(OpInfo row) {
        assertThat(GOLDEN).as("%s has more golden inputs than the row has args", row).doesNotContainKey(row.name + "/in" + row.args.size());
        Tensor[] in = new Tensor[row.args.size()];
        for (int k = 0; k < in.length; k++) {
            OpInfo.Arg arg = row.args.get(k);
            Golden.Case c = golden(row, "in" + k);
            assertThat(c.shape()).as("%s input %d: the Java row's shape and the golden's", row, k).containsExactly(arg.shape());
            in[k] = arg.transposed() ? transposedLayout(c.tensor()) : c.tensor();
        }
        return in;
    }

    /** Fresh values from the arg's domain, at least 0.05 from every kink (gradcheck's step is 1e-3). */
    private static Tensor sample(OpInfo.Arg arg, double[] kinks) {
        Tensor x = arg.normal() ? Tensor.randn(arg.shape()) : Tensor.rand(arg.shape()).mul(arg.hi() - arg.lo()).add(arg.lo());
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            for (double k : kinks) {
                if (Math.abs(v[i] - k) < 0.05) {
                    v[i] = (float) (k + Math.copySign(0.05, v[i] - k));
                }
            }
        }
        Tensor t = Tensor.of(v, arg.shape());
        return arg.transposed() ? transposedLayout(t) : t;
    }

    /** The same values, stored column-major: strides (1, rows). */
    private static Tensor transposedLayout(Tensor m) {
        Tensor t = m.t().contiguous().t();
        assertThat(t.isContiguous()).isFalse();
        return t;
    }

    private static Tensor[] zeros(OpInfo row) {
        return row.args.stream().map(a -> Tensor.zeros(a.shape())).toArray(Tensor[]::new);
    }

    private static Golden.Case golden(OpInfo row, String part) {
        Golden.Case c = GOLDEN.get(row.name + "/" + part);
        if (c == null) {
            throw new IllegalStateException("no golden " + row.name + "/" + part + "; run src/test/python/gen_op_table_golden.py");
        }
        return c;
    }
}
