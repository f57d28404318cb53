package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Gradcheck;
import dev.lanes.kernels.UnaryOp;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The test op table of the pointwise ops (like PyTorch's OpInfo): one row per op, and every test below runs on
 * every row, at every vector width CI runs. A new op of {@code Pointwise} is tested everywhere by one row here plus
 * its goldens ({@code src/test/python/gen_pointwise_golden.py}).
 *
 * <p>Per row: against PyTorch 1.13 (forward, backward of {@code sum(y * g)}, and the grad_fn name), a gradcheck
 * on the row's domain, the inference plan against eager (bit for bit alone; close when fused into a Linear's
 * epilogue, which must then hold no separate step), and bad input (int64, released tensors).
 */
class PointwiseOpTableTest {
    /**
     * One op: its golden key, how to call it, the domain its gradcheck samples, whether it is an activation (fuses into
     * a GEMM epilogue), and the tolerance against PyTorch (absolute + relative; a few float32 ulp of PyTorch's own
     * SLEEF/glibc results, whose rounding differs from VectorMath's).
     */
    record OpInfo(String name, UnaryOperator<Tensor> op, double lo, double hi, UnaryOp fusesAs, double atol, double rtol) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<OpInfo> OPS = List.of(
            new OpInfo("neg", Tensor::neg, -4, 4, null, 0, 0),
            new OpInfo("exp", Tensor::exp, -4, 4, null, 1e-6, 1e-6),
            new OpInfo("log", Tensor::log, 0.1, 4, null, 1e-6, 1e-6),
            new OpInfo("sqrt", Tensor::sqrt, 0.1, 4, null, 1e-6, 1e-6),
            new OpInfo("abs", Tensor::abs, -4, 4, null, 0, 0),
            new OpInfo("pow_2_5", x -> x.pow(2.5), 0.1, 4, null, 1e-6, 1e-6),
            new OpInfo("relu", Tensor::relu, -4, 4, UnaryOp.RELU, 0, 0),
            new OpInfo("sigmoid", Tensor::sigmoid, -4, 4, UnaryOp.SIGMOID, 1e-6, 1e-6),
            new OpInfo("tanh", Tensor::tanh, -4, 4, UnaryOp.TANH, 1e-6, 1e-6),
            // PyTorch computes 1 + erf(x / sqrt 2), which cancels in the negative tail (gelu(-5) is 4% off there):
            // the absolute tolerance covers its error, the relative one ours
            new OpInfo("gelu", Tensor::gelu, -6, 6, UnaryOp.GELU, 5e-7, 1e-6), // gelu(-3.283): PyTorch -0.001686104, exact -0.00168585982, ours -0.0016858602
            new OpInfo("gelu_tanh", x -> x.gelu("tanh"), -6, 6, UnaryOp.GELU_TANH, 5e-7, 1e-6),
            new OpInfo("silu", Tensor::silu, -6, 6, UnaryOp.SILU, 1e-6, 1e-6));

    private static final Map<String, Golden.Case> GOLDEN = new HashMap<>();

    static {
        for (Golden.Case c : Golden.read("pointwise.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    static Stream<OpInfo> ops() {
        return OPS.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void forwardBackwardAndGradFnMatchPyTorch(OpInfo info) {
        Golden.Case xc = golden(info, "x");
        try (Tensor x = xc.tensor().requiresGrad(true);
             Tensor g = golden(info, "g").tensor();
             Tensor wantY = golden(info, "y").tensor();
             Tensor wantDx = golden(info, "dx").tensor()) {
            Tensor y = info.op().apply(x);
            assertThat(y.gradFn().name()).as("grad_fn").isEqualTo(xc.expr());
            Assertions2.assertClose(y, wantY, info.atol(), info.rtol(), info + " forward");
            y.backward(g);
            Assertions2.assertClose(x.grad(), wantDx, Math.max(info.atol(), 1e-6), Math.max(info.rtol(), 1e-5), info + " backward");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void gradcheck(OpInfo info) {
        Lanes.manualSeed(info.name().hashCode());
        try (Tensor u = Tensor.rand(3, 7)) {
            // strictly inside the domain, away from relu's and abs's kink at 0
            Tensor x = u.mul(info.hi() - info.lo()).add(info.lo());
            if (info.name().equals("relu") || info.name().equals("abs")) {
                x = x.add(x.gt(0).sub(0.5).mul(0.2));
            }
            Gradcheck.check(t -> info.op().apply(t[0]), x.requiresGrad(true));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void planEqualsEagerAloneAndFusedIntoALinear(OpInfo info) {
        try (Tensor x = golden(info, "x").tensor().reshape(1, 61);
             Tensor want = info.op().apply(x);
             InferencePlan plan = InferencePlan.trace(info.op()::apply, 1, 61)) {
            float[] got = new float[61];
            plan.run(x.toFloatArray(), got);
            assertThat(got).as("plan of %s alone, bit for bit", info).containsExactly(want.toFloatArray());
        }
        Lanes.manualSeed(7);
        dev.lanes.nn.Linear linear = new dev.lanes.nn.Linear(24, 40);
        linear.eval();
        UnaryOperator<Tensor> model = in -> info.op().apply(linear.forward(in));
        try (var noGrad = dev.lanes.autograd.Autograd.noGrad();
             Tensor in = Tensor.randn(3, 24);
             Tensor want = model.apply(in);
             InferencePlan plan = InferencePlan.trace(model::apply, 3, 24)) {
            float[] got = new float[3 * 40];
            plan.run(in.toFloatArray(), got);
            try (Tensor gotT = Tensor.of(got, 3, 40)) {
                Assertions2.assertClose(gotT, want, 1e-5, 1e-5, info + " after a Linear, plan vs eager:\n" + plan);
            }
            if (info.fusesAs() != null) {
                assertThat(plan.stepCount()).as("%s fused into the GEMM's epilogue:\n%s", info, plan).isEqualTo(1);
                assertThat(plan.toString()).contains("-> " + info.fusesAs().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void badInputGetsAClearException(OpInfo info) {
        try (Tensor ints = Tensor.of(new long[] {1, 2, 3})) {
            assertThatThrownBy(() -> info.op().apply(ints)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int64");
        }
        Tensor closed = Tensor.ones(4);
        closed.close();
        assertThatThrownBy(() -> info.op().apply(closed)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
    }

    /** The module and functional forms of GELU, with PyTorch's repr and argument check. */
    @org.junit.jupiter.api.Test
    void geluModuleAndFunctional() {
        try (Tensor x = Tensor.of(new float[] {-2f, -0.5f, 0f, 0.5f, 2f});
             Tensor exact = x.gelu();
             Tensor tanh = x.gelu("tanh");
             Tensor m1 = new dev.lanes.nn.GELU().forward(x);
             Tensor m2 = new dev.lanes.nn.GELU("tanh").forward(x);
             Tensor f1 = dev.lanes.nn.functional.F.gelu(x);
             Tensor f2 = dev.lanes.nn.functional.F.gelu(x, "none")) {
            assertThat(m1.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(f1.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(f2.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(m2.toFloatArray()).containsExactly(tanh.toFloatArray());
            assertThat(tanh.toFloatArray()).isNotEqualTo(exact.toFloatArray());
        }
        try (Tensor x = Tensor.of(new float[] {-2f, 0f, 3f}); Tensor s = x.silu(); Tensor m = new dev.lanes.nn.SiLU().forward(x);
             Tensor f = dev.lanes.nn.functional.F.silu(x)) {
            assertThat(m.toFloatArray()).containsExactly(s.toFloatArray());
            assertThat(f.toFloatArray()).containsExactly(s.toFloatArray());
        }
        assertThat(new dev.lanes.nn.SiLU().toString()).isEqualTo("SiLU()");
        assertThat(new dev.lanes.nn.GELU().toString()).isEqualTo("GELU(approximate='none')");
        assertThat(new dev.lanes.nn.GELU("tanh").toString()).isEqualTo("GELU(approximate='tanh')");
        assertThatThrownBy(() -> new dev.lanes.nn.GELU("erf")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'erf'");
        try (Tensor x = Tensor.ones(2)) {
            assertThatThrownBy(() -> x.gelu("fast")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("approximate must be 'none' or 'tanh'");
        }
    }

    private static Golden.Case golden(OpInfo info, String part) {
        Golden.Case c = GOLDEN.get(info.name() + "/" + part);
        if (c == null) {
            throw new IllegalStateException("no golden " + info.name() + "/" + part + "; run src/test/python/gen_pointwise_golden.py");
        }
        return c;
    }
}
