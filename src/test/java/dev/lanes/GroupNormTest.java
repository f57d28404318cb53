package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Flatten;
import dev.lanes.nn.GroupNorm;
import dev.lanes.nn.InstanceNorm1d;
import dev.lanes.nn.InstanceNorm2d;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
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
 * group_norm and instance_norm (functional and nn.GroupNorm / nn.InstanceNorm1d / nn.InstanceNorm2d) against PyTorch
 * 1.13 ({@code golden/group_norm.txt} from {@code src/test/python/gen_group_norm_golden.py}): forward, grad_fn and the
 * input, weight and bias gradients over several shapes and group counts, eps values, missing weight or bias; a
 * large-mean input against the float64 answer; InstanceNorm's running statistics over two training steps and its eval;
 * then gradchecks, thread-count independence, the inference plan and a compiled training step, and bad input.
 *
 * <p>Tolerances: 1e-5 absolute and relative on the outputs and 2e-5 on the gradients (the statistics and gradient sums
 * are added in Lanes' canonical order, not PyTorch's; PyTorch's backward uses {@code E[g x] - mean E[g]}, Lanes the
 * centred sums); the large-mean row against float64, 3e-3 on the output and 1.5e-2 on the gradients (the float32 mean
 * of values near 1e4 is itself rounded by up to 5e-4, which shifts every normalised value by that times 1/std, and
 * dweight, a sum of 50 of them times the upstream gradient, by up to 1e-2 here; torch's own float32 group_norm is off by
 * 2.2e-3 in the output and 2.1e-2 in dweight on this row).
 */
class GroupNormTest {
    private static final Map<String, Golden.Case> GOLDEN = new HashMap<>();

    static {
        for (Golden.Case c : Golden.read("group_norm.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    private static Tensor golden(String name) {
        Golden.Case c = GOLDEN.get(name);
        assertThat(c).as("golden case " + name).isNotNull();
        return c.tensor();
    }

    /** A row: its golden name, its float inputs (gradients checked, in this order), the call, the tolerances. */
    record Row(String name, List<String> floats, Function<Map<String, Tensor>, Tensor> op, double tol, double gradTol) {
        Row(String name, List<String> floats, Function<Map<String, Tensor>, Tensor> op) {
            this(name, floats, op, 1e-5, 2e-5);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static Row gn(String name, int groups) {
        return new Row(name, List.of("x", "w", "b"), m -> F.groupNorm(m.get("x"), groups, m.get("w"), m.get("b"), 1e-5));
    }

    static Stream<Row> rows() {
        return Stream.of(
                gn("gn_2x6x5x5_g1", 1), gn("gn_2x6x5x5_g2", 2), gn("gn_2x6x5x5_g3", 3), gn("gn_2x6x5x5_g6", 6),
                gn("gn_3x4x7_g2", 2), gn("gn_2x4_g2", 2),
                new Row("gn_2x6x61_g3_plain_eps1e-2", List.of("x"), m -> F.groupNorm(m.get("x"), 3, null, null, 1e-2)),
                new Row("gn_3x8x3x3_g4_bias_only_eps0.5", List.of("x", "b"), m -> F.groupNorm(m.get("x"), 4, null, m.get("b"), 0.5)),
                new Row("gn_2x4x2x3x5_g2_weight_only", List.of("x", "w"), m -> F.groupNorm(m.get("x"), 2, m.get("w"), null, 1e-5)),
                new Row("gn_large_mean_f64", List.of("x", "w", "b"), m -> F.groupNorm(m.get("x"), 3, m.get("w"), m.get("b"), 1e-5), 3e-3, 1.5e-2),
                new Row("in_3x4x7", List.of("x", "w", "b"), m -> F.instanceNorm(m.get("x"), null, null, m.get("w"), m.get("b"), true, 0.1, 1e-5)),
                new Row("in_2x3x5x5_plain", List.of("x"), m -> F.instanceNorm(m.get("x"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void forwardBackwardAndGradFnMatchPyTorch(Row row) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String part : row.floats()) {
            in.put(part, golden(row.name() + "/" + part).requiresGrad(true));
        }
        Golden.Case want = GOLDEN.get(row.name() + "/y");
        Tensor y = row.op().apply(in);
        try (Tensor w = want.tensor()) {
            assertThat(y.shape()).isEqualTo(w.shape());
            Assertions2.assertClose(y, w, row.tol(), row.tol(), row + " forward");
        }
        assertThat(y.gradFn().name()).as("grad_fn").isEqualTo(want.expr());
        try (Tensor g = golden(row.name() + "/g")) {
            y.backward(g);
        }
        for (String f : row.floats()) {
            try (Tensor d = golden(row.name() + "/d" + f)) {
                Assertions2.assertClose(in.get(f).grad(), d, row.gradTol(), row.gradTol(), row + " d" + f);
            }
        }
        in.values().forEach(Tensor::close);
    }

    /**
     * Values near 1e4 with a unit spread: two-pass statistics (mean, then squared deviations) keep the variance; one
     * pass of E[x^2] - E[x]^2 in float would lose it entirely. The row above checks against float64; here the
     * normalised output of each group has mean 0 and variance 1.
     */
    @Test
    void aLargeMeanKeepsItsVariance() {
        try (Tensor x = golden("gn_large_mean_f64/x"); Tensor y = F.groupNorm(x, 3); Tensor groups = y.reshape(2, 3, -1);
             Tensor m = groups.mean(2); Tensor v = groups.var(2, false, false)) {
            for (float mean : m.toFloatArray()) {
                assertThat(mean).isCloseTo(0f, org.assertj.core.data.Offset.offset(2e-3f));
            }
            for (float var : v.toFloatArray()) {
                assertThat(var).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-3f));
            }
        }
    }

    /** InstanceNorm2d(4, eps=1e-4, momentum=0.3, affine, tracked): two training steps, then eval, batched and not. */
    @Test
    void instanceNorm2dTrainsAndEvaluatesLikePyTorch() {
        InstanceNorm2d m = new InstanceNorm2d(4, 1e-4, 0.3, true, true);
        assertThat(m.toString()).isEqualTo("InstanceNorm2d(4, eps=0.0001, momentum=0.3, affine=True, track_running_stats=True)");
        assertThat(m.stateDict().keySet()).containsExactly("weight", "bias", "running_mean", "running_var", "num_batches_tracked");
        try (Autograd.Mode g = Autograd.noGrad(); Tensor w = golden("in2d/w"); Tensor b = golden("in2d/b")) {
            m.weight.copy_(w);
            m.bias.copy_(b);
        }
        m.train();
        for (int step = 0; step < 2; step++) {
            String at = "in2d/train" + step + "/";
            try (Tensor x = golden(at + "x").requiresGrad(true); Tensor want = golden(at + "y"); Tensor g = golden(at + "g")) {
                m.weight.setGrad(null);
                m.bias.setGrad(null);
                Tensor y = m.forward(x);
                Assertions2.assertClose(y, want, 1e-5, 1e-5, at + "y");
                assertThat(y.gradFn().name()).isEqualTo("ViewBackward0");
                y.backward(g);
                Assertions2.assertClose(x.grad(), golden(at + "dx"), 2e-5, 2e-5, at + "dx");
                Assertions2.assertClose(m.weight.grad(), golden(at + "dw"), 2e-5, 2e-5, at + "dw");
                Assertions2.assertClose(m.bias.grad(), golden(at + "db"), 2e-5, 2e-5, at + "db");
                Assertions2.assertClose(m.runningMean, golden(at + "running_mean"), 1e-6, 1e-5, at + "running_mean");
                Assertions2.assertClose(m.runningVar, golden(at + "running_var"), 1e-6, 1e-5, at + "running_var");
            }
        }
        assertThat(m.numBatchesTracked.toLongArray()).containsExactly(0L); // PyTorch's instance norm never counts
        m.eval();
        try (Autograd.Mode g = Autograd.noGrad(); Tensor x = golden("in2d/eval/x"); Tensor xu = golden("in2d/eval_unbatched/x")) {
            Assertions2.assertClose(m.forward(x), golden("in2d/eval/y"), 1e-5, 1e-5, "eval");
            Tensor yu = m.forward(xu);
            assertThat(yu.shape()).containsExactly(4, 5, 6);
            Assertions2.assertClose(yu, golden("in2d/eval_unbatched/y"), 1e-5, 1e-5, "eval unbatched");
        }
    }

    /** InstanceNorm1d(3, track_running_stats=True) on an unbatched [C, L] in training: output and running statistics. */
    @Test
    void instanceNorm1dTakesUnbatchedInput() {
        InstanceNorm1d m = new InstanceNorm1d(3, 1e-5, 0.1, false, true);
        assertThat(new InstanceNorm1d(3).toString()).isEqualTo("InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
        assertThat(new InstanceNorm1d(3).stateDict()).isEmpty();
        try (Tensor x = golden("in1d_unbatched/x")) {
            Tensor y = m.forward(x);
            assertThat(y.shape()).containsExactly(3, 9);
            Assertions2.assertClose(y, golden("in1d_unbatched/y"), 1e-5, 1e-5, "y");
            Assertions2.assertClose(m.runningMean, golden("in1d_unbatched/running_mean"), 1e-6, 1e-5, "running_mean");
            Assertions2.assertClose(m.runningVar, golden("in1d_unbatched/running_var"), 1e-6, 1e-5, "running_var");
        }
    }

    @Test
    void groupNormModuleMatchesTheFunctionalFormAndPrintsLikePyTorch() {
        GroupNorm gn = new GroupNorm(2, 8);
        assertThat(gn.toString()).isEqualTo("GroupNorm(2, 8, eps=1e-05, affine=True)");
        assertThat(new GroupNorm(4, 8, 1e-3, false).toString()).isEqualTo("GroupNorm(4, 8, eps=0.001, affine=False)");
        assertThat(new GroupNorm(4, 8, 1e-3, false).parameters()).isEmpty();
        assertThat(gn.stateDict().keySet()).containsExactly("weight", "bias");
        assertThat(gn.weight.toFloatArray()).containsOnly(1f);
        assertThat(gn.bias.toFloatArray()).containsOnly(0f);
        Lanes.manualSeed(3);
        try (Tensor x = Tensor.randn(3, 8, 4, 4); Tensor a = gn.forward(x); Tensor b = F.groupNorm(x, 2, gn.weight, gn.bias, 1e-5)) {
            assertThat(a.toFloatArray()).containsExactly(b.toFloatArray());
        }
    }

    @Test
    void gradchecks() {
        Lanes.manualSeed(11);
        Tensor x = Tensor.randn(3, 6, 5).mul(2).requiresGrad(true);
        Tensor w = Tensor.randn(6).requiresGrad(true);
        Tensor b = Tensor.randn(6).requiresGrad(true);
        Gradcheck.check(t -> F.groupNorm(t[0], 3, t[1], t[2], 1e-5), x, w, b);
        Gradcheck.check(t -> F.groupNorm(t[0], 2, t[1], null, 1e-5), x, w);
        Gradcheck.check(t -> F.instanceNorm(t[0], null, null, t[1], t[2], true, 0.1, 1e-5), x, w, b);
    }

    /**
     * The same bits with one thread and with four, forward and backward, on an input large enough to split (rows of
     * the forward and dx, channels of dw and db), with spatial sizes that leave vector tails.
     */
    @Test
    void theBitsDoNotDependOnTheThreadCount() {
        int saved = Lanes.numThreads();
        try {
            float[][] one = groupNormBits(1);
            float[][] four = groupNormBits(4);
            for (int i = 0; i < one.length; i++) {
                assertThat(four[i]).as("output %d", i).containsExactly(one[i]);
            }
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    private static float[][] groupNormBits(int threads) {
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(17);
        try (Tensor x = Tensor.randn(4, 16, 23, 29).mul(3).add(1).requiresGrad(true); Tensor w = Tensor.randn(16).requiresGrad(true);
             Tensor b = Tensor.randn(16).requiresGrad(true); Tensor g = Tensor.randn(4, 16, 23, 29)) {
            Tensor y = F.groupNorm(x, 4, w, b, 1e-5);
            y.backward(g);
            return new float[][] {y.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray(), b.grad().toFloatArray()};
        }
    }

    /** Conv -> GroupNorm -> ReLU and an InstanceNorm2d: the inference plan replays group_norm as one step, bit for bit. */
    @Test
    void groupNormIsAPlanStep() {
        Lanes.manualSeed(5);
        Conv2d conv = new Conv2d(3, 8, 3, 1, 1);
        GroupNorm gn = new GroupNorm(4, 8);
        InstanceNorm2d in = new InstanceNorm2d(8, 1e-5, 0.1, true, false);
        try (Autograd.Mode g = Autograd.noGrad()) {
            gn.weight.copy_(Tensor.randn(8));
            gn.bias.copy_(Tensor.randn(8));
            in.weight.copy_(Tensor.randn(8));
        }
        for (Module norm : new Module[] {gn, in}) {
            norm.eval();
            Function<Tensor, Tensor> model = x -> norm.forward(conv.forward(x)).relu();
            try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(2, 3, 9, 7); Tensor want = model.apply(x);
                 InferencePlan plan = InferencePlan.trace(model::apply, 2, 3, 9, 7)) {
                assertThat(plan.toString()).contains("group_norm");
                float[] got = new float[2 * 8 * 9 * 7];
                plan.run(x.toFloatArray(), got);
                assertThat(got).containsExactly(want.toFloatArray());
            }
        }
    }

    /** A compiled training step through GroupNorm (its backward a plan step too) gives the eager step's loss and parameters. */
    @Test
    void aCompiledTrainingStepThroughGroupNormMatchesEager() {
        float[][] eager = trainGroupNormNet(false);
        float[][] compiled = trainGroupNormNet(true);
        for (int i = 0; i < eager.length; i++) {
            assertThat(compiled[i]).as("losses, then parameter %d", i - 1).containsExactly(eager[i]);
        }
    }

    /**
     * InstanceNorm with tracked running statistics in training updates them outside a kernel step: a compiled training
     * step refuses it at capture, naming instance_norm, and leaves the statistics as they were (without tracking it
     * compiles: group_norm's steps).
     */
    @Test
    void aCompiledTrainingStepRefusesInstanceNormsRunningStatisticsClearly() {
        Lanes.manualSeed(29);
        InstanceNorm2d tracked = new InstanceNorm2d(6, 1e-5, 0.1, true, true);
        Sequential net = new Sequential(new Conv2d(2, 6, 3, 1, 1), tracked, new ReLU(), new Flatten(), new Linear(6 * 5 * 5, 3));
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        assertThatThrownBy(() -> step.prepare(new int[] {4, 2, 5, 5}, DType.FLOAT32, new int[] {4}, DType.INT64))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("TrainStep.compile").hasMessageContaining("instance_norm");
        assertThat(tracked.runningMean.toFloatArray()).containsOnly(0f);
        assertThat(tracked.runningVar.toFloatArray()).containsOnly(1f);
        step.close();
        Sequential plain = new Sequential(new Conv2d(2, 6, 3, 1, 1), new InstanceNorm2d(6), new ReLU(), new Flatten(), new Linear(6 * 5 * 5, 3));
        try (TrainStep ok = TrainStep.compile(plain, new CrossEntropyLoss(), new SGD(plain.parameters(), 0.1));
             MemoryScope scope = MemoryScope.open()) {
            assertThat(ok.run(Tensor.randn(4, 2, 5, 5), Tensor.of(new long[] {0, 1, 2, 1}, 4))).isFinite();
        }
    }

    private static float[][] trainGroupNormNet(boolean compiled) {
        Lanes.manualSeed(23);
        Sequential net = new Sequential(new Conv2d(2, 6, 3, 1, 1), new GroupNorm(3, 6), new ReLU(), new Flatten(), new Linear(6 * 5 * 5, 3));
        CrossEntropyLoss loss = new CrossEntropyLoss();
        SGD opt = new SGD(net.parameters(), 0.1);
        TrainStep step = compiled ? TrainStep.compile(net, loss, opt) : null;
        float[] losses = new float[3];
        for (int s = 0; s < 3; s++) {
            try (MemoryScope scope = MemoryScope.open()) {
                Lanes.manualSeed(100 + s);
                Tensor x = Tensor.randn(4, 2, 5, 5);
                Tensor y = Tensor.of(new long[] {0, 1, 2, 1}, 4);
                if (compiled) {
                    losses[s] = step.run(x, y);
                } else {
                    opt.zeroGrad();
                    Tensor l = loss.forward(net.forward(x), y);
                    l.backward();
                    opt.step();
                    losses[s] = l.item();
                }
            }
        }
        if (step != null) {
            step.close();
        }
        List<Tensor> ps = net.parameters();
        float[][] out = new float[ps.size() + 1][];
        out[0] = losses;
        for (int i = 0; i < ps.size(); i++) {
            out[i + 1] = ps.get(i).toFloatArray();
        }
        return out;
    }

    /** An empty batch gives an empty output and zero weight and bias gradients, as torch 1.13. */
    @Test
    void anEmptyBatchNormalisesNothing() {
        try (Tensor x = Tensor.zeros(0, 4, 3).requiresGrad(true); Tensor w = Tensor.ones(4).requiresGrad(true);
             Tensor b = Tensor.zeros(4).requiresGrad(true)) {
            Tensor y = F.groupNorm(x, 2, w, b, 1e-5);
            assertThat(y.shape()).containsExactly(0, 4, 3);
            y.sum().backward();
            assertThat(w.grad().toFloatArray()).containsOnly(0f);
            assertThat(b.grad().toFloatArray()).containsOnly(0f);
        }
    }

    @Test
    void badInputGetsAClearException() {
        try (Tensor x = Tensor.randn(2, 6, 5, 5); Tensor v = Tensor.randn(6)) {
            assertThatThrownBy(() -> F.groupNorm(x, 4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 5, 5] and num_groups=4");
            assertThatThrownBy(() -> F.groupNorm(x, 3, Tensor.ones(5), null, 1e-5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("weight of shape [5]").hasMessageContaining("[2, 6, 5, 5]");
            assertThatThrownBy(() -> F.groupNorm(x, 3, null, Tensor.ones(2, 3), 1e-5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bias of shape [2, 3]").hasMessageContaining("[2, 6, 5, 5]");
            assertThatThrownBy(() -> F.groupNorm(v, 2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 dims")
                    .hasMessageContaining("[6]");
            assertThatThrownBy(() -> F.groupNorm(x, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("num_groups");
            assertThatThrownBy(() -> F.groupNorm(x, 3, null, null, -1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps");
            assertThatThrownBy(() -> new GroupNorm(4, 6)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("divisible");
            assertThatThrownBy(() -> F.instanceNorm(Tensor.randn(2, 6, 1, 1))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Expected more than 1 spatial element when training, got input size [2, 6, 1, 1]");
            assertThatThrownBy(() -> F.instanceNorm(x, null, null, null, null, false, 0.1, 1e-5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("running_mean and running_var to be defined");
            assertThatThrownBy(() -> F.instanceNorm(x, Tensor.zeros(5), Tensor.ones(5), null, null, true, 0.1, 1e-5))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[5]").hasMessageContaining("[2, 6, 5, 5]");
            assertThatThrownBy(() -> new InstanceNorm2d(6).forward(v)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected 3D or 4D input (got 1D input");
            assertThatThrownBy(() -> new InstanceNorm2d(5, 1e-5, 0.1, true, false).forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("num_features (5), but got: 6");
        }
    }
}
