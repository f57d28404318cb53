package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.examples.SeedWalkthrough;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.Adam;
import dev.lanes.optim.AdamW;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.RMSprop;
import dev.lanes.optim.SGD;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The walkthrough, every loss and every optimizer against PyTorch 1.13 (golden/nn.txt, gen_nn_golden.py).
 * Tolerances: walkthrough outputs and gradients 1e-5 absolute + 1e-4 relative (float32 through five layers);
 * losses 1e-5 + 1e-5; optimizers after 5 steps 1e-6 + 1e-5 (same formula, rounding order may differ by an ulp).
 */
class NnGoldenTest {
    private static Map<String, TestGolden.Case> golden;

    @BeforeAll
    static void load() {
        golden = new LinkedHashMap<>();
        for (TestGolden.Case c : TestGolden.read("nn.txt")) {
            golden.put(c.name(), c);
        }
    }

    private static Tensor g(String name) {
        TestGolden.Case c = golden.get(name);
        assertThat(c).as("golden " + name).isNotNull();
        return c.tensor();
    }

    private static SeedWalkthrough.Net pytorchNet() {
        SeedWalkthrough.Net net = new SeedWalkthrough.Net();
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (String name : net.namedParameters().keySet()) {
            state.put(name, g("walk/param/" + name));
        }
        net.loadStateDict(state);
        return net;
    }

    @Test
    void walkthroughMatchesPyTorch() {
        SeedWalkthrough.Net net = pytorchNet();
        Tensor x = g("walk/input");
        Tensor out = net.forward(x);
        TestGolden.assertClose(out, g("walk/output"), 1e-5, 1e-4, "output");
        assertThat(out.toString()).isEqualTo(String.join("\n", golden.get("walk/output").repr()));

        net.zeroGrad();
        out.backward(Tensor.onesLike(out));
        for (var e : net.namedParameters().entrySet()) {
            TestGolden.assertClose(e.getValue().grad(), g("walk/ones_grad/" + e.getKey()), 1e-5, 1e-4, "ones grad " + e.getKey());
        }

        MSELoss criterion = new MSELoss();
        Tensor target = Tensor.arange(0, 10).view(1, 10).toFloat();
        Tensor loss = criterion.forward(net.forward(x), target);
        assertThat(loss.toString()).isEqualTo(String.join("\n", golden.get("walk/loss").repr()));
        net.zeroGrad();
        loss.backward();
        for (var e : net.namedParameters().entrySet()) {
            TestGolden.assertClose(e.getValue().grad(), g("walk/loss_grad/" + e.getKey()), 1e-5, 1e-4, "loss grad " + e.getKey());
        }

        SGD opt = new SGD(net.parameters(), 0.1, 0.5);
        for (int i = 0; i < 3; i++) {
            opt.zeroGrad();
            criterion.forward(net.forward(x), target).backward();
            opt.step();
        }
        for (var e : net.namedParameters().entrySet()) {
            TestGolden.assertClose(e.getValue(), g("walk/after_sgd/" + e.getKey()), 1e-5, 1e-4, "after 3 SGD steps " + e.getKey());
        }
    }

    static final Map<String, BiFunction<Tensor, Tensor, Tensor>> LOSSES = new LinkedHashMap<>();

    static {
        LOSSES.put("ce", (x, t) -> new CrossEntropyLoss().forward(x, t));
        LOSSES.put("ce_weight", (x, t) -> new CrossEntropyLoss(g("loss/class_weight"), -100, 0, "mean").forward(x, t));
        LOSSES.put("ce_ignore", (x, t) -> F.crossEntropy(x, t));
        LOSSES.put("ce_ignore7_weight", (x, t) -> new CrossEntropyLoss(g("loss/class_weight"), 7, 0, "mean").forward(x, t));
        LOSSES.put("ce_smooth", (x, t) -> new CrossEntropyLoss(null, -100, 0.2, "mean").forward(x, t));
        LOSSES.put("ce_smooth_weight_ignore", (x, t) -> new CrossEntropyLoss(g("loss/class_weight"), -100, 0.1, "mean").forward(x, t));
        LOSSES.put("ce_sum", (x, t) -> new CrossEntropyLoss(null, -100, 0, "sum").forward(x, t));
        LOSSES.put("ce_none_smooth", (x, t) -> new CrossEntropyLoss(null, -100, 0.3, "none").forward(x, t));
        LOSSES.put("nll", (x, t) -> new NLLLoss().forward(x.logSoftmax(1), t));
        LOSSES.put("nll_weight_ignore", (x, t) -> new NLLLoss(g("loss/class_weight"), -100, "mean").forward(x.logSoftmax(1), t));
        LOSSES.put("nll_none", (x, t) -> new NLLLoss(null, -100, "none").forward(x, t));
        LOSSES.put("mse", (x, t) -> new MSELoss().forward(x, t));
        LOSSES.put("mse_sum", (x, t) -> new MSELoss("sum").forward(x, t));
        LOSSES.put("mse_none", (x, t) -> new MSELoss("none").forward(x, t));
        LOSSES.put("l1", (x, t) -> new L1Loss().forward(x, t));
        LOSSES.put("l1_none", (x, t) -> new L1Loss("none").forward(x, t));
        LOSSES.put("bce", (x, t) -> new BCEWithLogitsLoss().forward(x, t));
        LOSSES.put("bce_weight_pos", (x, t) -> new BCEWithLogitsLoss(g("loss/elem_weight"), g("loss/pos_weight"), "mean").forward(x, t));
        LOSSES.put("bce_sum", (x, t) -> new BCEWithLogitsLoss(null, null, "sum").forward(x, t));
    }

    static Stream<String> lossCases() {
        return LOSSES.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lossCases")
    void lossesMatchPyTorch(String name) {
        Tensor x = g("loss/input").requiresGrad(true);
        Tensor loss = LOSSES.get(name).apply(x, g("loss/" + name + "/target"));
        TestGolden.assertClose(loss, g("loss/" + name + "/loss"), 1e-5, 1e-5, name + " loss");
        assertThat(loss.toString()).isEqualTo(String.join("\n", golden.get("loss/" + name + "/loss").repr()));
        loss.backward(g("loss/" + name + "/gy"));
        TestGolden.assertClose(x.grad(), g("loss/" + name + "/dx"), 1e-5, 1e-5, name + " grad");
    }

    @Test
    void everyGoldenLossIsMapped() {
        List<String> names = golden.keySet().stream().filter(k -> k.startsWith("loss/") && k.endsWith("/loss"))
                .map(k -> k.substring(5, k.length() - 5)).toList();
        assertThat(names).containsExactlyInAnyOrderElementsOf(LOSSES.keySet());
    }

    static final Map<String, Function<List<Tensor>, Optimizer>> OPTIMIZERS = new LinkedHashMap<>();

    static {
        OPTIMIZERS.put("sgd", p -> new SGD(p, 0.1));
        OPTIMIZERS.put("sgd_momentum", p -> new SGD(p, 0.1, 0.9));
        OPTIMIZERS.put("sgd_nesterov_wd", p -> new SGD(p, 0.05, 0.8, 0, 0.01, true));
        OPTIMIZERS.put("sgd_dampening", p -> new SGD(p, 0.05, 0.5, 0.3, 0, false));
        OPTIMIZERS.put("adam", p -> new Adam(p, 0.01));
        OPTIMIZERS.put("adam_amsgrad_wd", p -> new Adam(p, 0.02, 0.8, 0.99, 1e-6, 0.1, true));
        OPTIMIZERS.put("adamw", p -> new AdamW(p, 0.01));
        OPTIMIZERS.put("adamw_amsgrad", p -> new AdamW(p, 0.03, 0.9, 0.999, 1e-8, 0.05, true));
        OPTIMIZERS.put("rmsprop", p -> new RMSprop(p, 0.01));
        OPTIMIZERS.put("rmsprop_centered_momentum_wd", p -> new RMSprop(p, 0.01, 0.9, 1e-8, 0.1, 0.5, true));
    }

    static Stream<String> optimizerCases() {
        return OPTIMIZERS.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizerCases")
    void optimizersMatchPyTorchForFiveSteps(String name) {
        Tensor p = g("optim/start").requiresGrad(true);
        Optimizer opt = OPTIMIZERS.get(name).apply(List.of(p));
        for (int i = 0; i < 5; i++) {
            opt.zeroGrad();
            p.setGrad(g("optim/grad" + i));
            opt.step();
            TestGolden.assertClose(p, g("optim/" + name + "/step" + i), 1e-6, 1e-5, name + " step " + i);
        }
    }

    private static void checkSchedule(String name, Optimizer opt, java.util.function.Function<Optimizer, dev.lanes.optim.LRScheduler> make,
                                      int steps, java.util.function.ToDoubleFunction<Optimizer.ParamGroup> momentum) {
        dev.lanes.optim.LRScheduler sched = make.apply(opt);
        double[] lrs = new double[steps + 1];
        double[] moms = new double[steps + 1];
        lrs[0] = opt.paramGroups().get(0).lr();
        moms[0] = momentum == null ? 0 : momentum.applyAsDouble(opt.paramGroups().get(0));
        for (int s = 1; s <= steps; s++) {
            opt.step();
            sched.step();
            lrs[s] = opt.paramGroups().get(0).lr();
            moms[s] = momentum == null ? 0 : momentum.applyAsDouble(opt.paramGroups().get(0));
        }
        float[] want = g("sched/" + name + "/lr").toFloatArray();
        assertThat(want).hasSize(steps + 1);
        for (int s = 0; s <= steps; s++) {
            assertThat(lrs[s]).as("%s lr at step %d", name, s).isCloseTo(want[s], org.assertj.core.data.Offset.offset(1e-7 * Math.abs(want[s]) + 1e-12));
        }
        if (momentum != null) {
            float[] wm = g("sched/" + name + "/momentum").toFloatArray();
            for (int s = 0; s <= steps; s++) {
                assertThat(moms[s]).as("%s momentum at step %d", name, s).isCloseTo(wm[s], org.assertj.core.data.Offset.offset(1e-7));
            }
        }
    }

    private static SGD sgd() {
        return new SGD(List.of(Tensor.zeros(2).requiresGrad(true)), 0.1, 0.9);
    }

    @Test
    void lrSchedulesMatchPyTorch() {
        checkSchedule("step", sgd(), o -> new dev.lanes.optim.StepLR(o, 3, 0.5), 24, null);
        checkSchedule("multistep", sgd(), o -> new dev.lanes.optim.MultiStepLR(o, new int[] {2, 5, 5, 11}, 0.1), 24, null);
        checkSchedule("cosine", sgd(), o -> new dev.lanes.optim.CosineAnnealingLR(o, 5, 0.01), 24, null);
        checkSchedule("onecycle_sgd", sgd(), o -> new dev.lanes.optim.OneCycleLR(o, 0.1, 25), 24, gr -> gr.number("momentum"));
        checkSchedule("onecycle_adam", new Adam(List.of(Tensor.zeros(2).requiresGrad(true)), 0.01),
                o -> new dev.lanes.optim.OneCycleLR(o, 0.05, 30, 0.25, true, 0.85, 0.95, 25, 1e4), 24,
                gr -> ((double[]) gr.options().get("betas"))[0]);
    }

    @Test
    void oneCycleRefusesToStepPastItsEnd() {
        SGD opt = sgd();
        dev.lanes.optim.OneCycleLR s = new dev.lanes.optim.OneCycleLR(opt, 0.1, 3);
        s.step();
        s.step();
        s.step();
        // torch 1.13 counts the constructor's step too: "Tried to step 5 times" (Lanes said 4)
        org.assertj.core.api.Assertions.assertThatThrownBy(s::step).hasMessageContaining("Tried to step 5 times. The specified number of total steps is 3");
    }

    /** torch: a group added after StepLR was made decays too (get_lr runs over the optimizer's groups): [0.025, 0.0025]. */
    @Test
    void stepLrDecaysAGroupAddedAfterItWasMade() {
        SGD opt = sgd();
        dev.lanes.optim.StepLR s = new dev.lanes.optim.StepLR(opt, 2, 0.5);
        opt.addParamGroup(List.of(Tensor.zeros(1).requiresGrad(true)), java.util.Map.of("lr", 0.01));
        for (int i = 0; i < 4; i++) {
            s.step();
        }
        org.assertj.core.api.Assertions.assertThat(opt.paramGroups().get(1).lr()).isEqualTo(0.0025);
        org.assertj.core.api.Assertions.assertThat(s.getLastLr()).containsExactly(opt.paramGroups().get(0).lr(), 0.0025);
    }

    /**
     * A phase of no steps: PyTorch's float division raises; 0 / 0 made every rate NaN, and the next optimizer step every
     * weight. pct_start x total_steps = 1 (warm-up ends at step 0) at construction; pct_start = 1 at the last step.
     */
    @Test
    void oneCycleRefusesAPhaseWithoutSteps() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.lanes.optim.OneCycleLR(sgd(), 0.1, 10, 0.1, true, 0.85, 0.95, 25, 1e4))
                .isInstanceOf(ArithmeticException.class).hasMessageContaining("warm-up phase has no steps");
        dev.lanes.optim.OneCycleLR s = new dev.lanes.optim.OneCycleLR(sgd(), 0.1, 4, 1.0, true, 0.85, 0.95, 25, 1e4);
        for (int i = 0; i < 3; i++) {
            s.step();
            org.assertj.core.api.Assertions.assertThat(s.getLastLr()[0]).isFinite();
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(s::step).isInstanceOf(ArithmeticException.class).hasMessageContaining("annealing phase");
    }

    @Test
    void parameterGroupsKeepTheirOwnOptions() {
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(2).requiresGrad(true);
        SGD opt = new SGD(List.of(a), 0.1);
        opt.addParamGroup(List.of(b), Map.of("lr", 0.01));
        a.setGrad(Tensor.ones(2));
        b.setGrad(Tensor.ones(2));
        opt.step();
        assertThat(a.toFloatArray()).containsExactly(0.9f, 0.9f);
        assertThat(b.toFloatArray()).containsExactly(0.99f, 0.99f);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> opt.addParamGroup(List.of(a), Map.of()))
                .hasMessageContaining("some parameters appear in more than one parameter group");
    }

    @Test
    void batchNormMatchesPyTorchInTrainingAndEval() {
        for (String name : List.of("bn2d", "bn1d")) {
            BatchNorm bn = name.equals("bn2d") ? new BatchNorm2d(3, 1e-5, 0.2, true, true) : new BatchNorm1d(5, 1e-3, 0.1, true, true);
            Map<String, Tensor> state = new LinkedHashMap<>(bn.stateDict());
            state.put("weight", g(name + "/weight"));
            state.put("bias", g(name + "/bias"));
            bn.loadStateDict(state);
            for (int step = 0; step < 2; step++) {
                Tensor x = g(name + "/x" + step).requiresGrad(true);
                Tensor y = bn.forward(x);
                TestGolden.assertClose(y, g(name + "/y" + step), 1e-5, 1e-4, name + " y" + step);
                bn.zeroGrad();
                y.backward(g(name + "/gy" + step));
                TestGolden.assertClose(x.grad(), g(name + "/dx" + step), 1e-4, 1e-4, name + " dx" + step);
                TestGolden.assertClose(bn.weight.grad(), g(name + "/dweight" + step), 1e-4, 1e-4, name + " dweight" + step);
                TestGolden.assertClose(bn.bias.grad(), g(name + "/dbias" + step), 1e-4, 1e-4, name + " dbias" + step);
                TestGolden.assertClose(bn.runningMean, g(name + "/running_mean" + step), 1e-6, 1e-5, name + " running_mean" + step);
                TestGolden.assertClose(bn.runningVar, g(name + "/running_var" + step), 1e-6, 1e-5, name + " running_var" + step);
            }
            bn.eval();
            TestGolden.assertClose(bn.forward(g(name + "/x0")), g(name + "/eval_y"), 1e-5, 1e-4, name + " eval");
        }
    }
}
