package dev.lanes.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LambdaLR, MultiplicativeLR, ExponentialLR, LinearLR, ConstantLR, CosineAnnealingWarmRestarts, SequentialLR and
 * ReduceLROnPlateau against torch 1.13 (golden/optim.txt, gen_optim_golden.py): both groups' lr (SGD with lr 0.1 and
 * 0.05) after construction and after each of 30 steps. Every sequence is compared as doubles with exact equality
 * (the same formulas in the same order; the cosines by StrictMath.cos gave glibc's bits here) unless a case says
 * otherwise.
 */
class LRSchedulerGoldenTest {
    private static SGD twoGroups() {
        SGD opt = new SGD(List.of(Tensor.zeros(2).requiresGrad(true)), 0.1, 0.9);
        opt.addParamGroup(List.of(Tensor.zeros(2).requiresGrad(true)), Map.of("lr", 0.05));
        return opt;
    }

    static final Map<String, Function<Optimizer, LRScheduler>> CASES = new LinkedHashMap<>();

    static {
        CASES.put("lambda", o -> new LambdaLR(o, List.of(e -> 1.0 / (1 + e), e -> e % 4 < 2 ? 0.5 : 1.0)));
        CASES.put("lambda_single", o -> new LambdaLR(o, e -> 1.0 / (1.0 + 0.1 * e)));
        CASES.put("multiplicative", o -> new MultiplicativeLR(o, e -> 0.95));
        CASES.put("multiplicative_groups", o -> new MultiplicativeLR(o, List.of(e -> 0.9, e -> 1.0 - 0.01 * e)));
        CASES.put("exponential", o -> new ExponentialLR(o, 0.9));
        CASES.put("linear", o -> new LinearLR(o, 0.25, 1.0, 8));
        CASES.put("linear_down", o -> new LinearLR(o, 1.0, 0.1, 10));
        CASES.put("linear_default", LinearLR::new);
        CASES.put("constant", o -> new ConstantLR(o, 0.5, 4));
        CASES.put("constant_default", ConstantLR::new);
        CASES.put("warm_restarts", o -> new CosineAnnealingWarmRestarts(o, 5, 1, 0.001));
        CASES.put("warm_restarts_mult", o -> new CosineAnnealingWarmRestarts(o, 3, 2, 0));
        CASES.put("sequential", o -> new SequentialLR(o, List.of(new ConstantLR(o, 0.1, 2), new ExponentialLR(o, 0.9)), new int[] {2}));
        CASES.put("sequential_warmup_cosine",
                o -> new SequentialLR(o, List.of(new LinearLR(o, 0.1, 1.0, 5), new CosineAnnealingLR(o, 10, 0.001)), new int[] {5}));
        CASES.put("sequential_three", o -> new SequentialLR(o,
                List.of(new LinearLR(o, 0.5, 1.0, 3), new StepLR(o, 4, 0.5), new CosineAnnealingWarmRestarts(o, 4, 1, 0.002)), new int[] {3, 10}));
        CASES.put("sequential_multistep",
                o -> new SequentialLR(o, List.of(new ExponentialLR(o, 0.8), new MultiStepLR(o, new int[] {3, 6}, 0.5)), new int[] {4}));
    }

    static Stream<String> cases() {
        return CASES.keySet().stream();
    }

    /**
     * The one inexact case: CosineAnnealingLR's recursive formula takes cos(12 pi / 10), where StrictMath.cos (fdlibm,
     * which Lanes' schedules use for the same bits on every JVM) is 1 ulp below glibc's; the rates after it differ in
     * the last bits (relative 1e-14 allowed).
     */
    private static final Map<String, Double> REL_TOLERANCE = Map.of("sequential_warmup_cosine", 1e-14);

    private static void assertLrs(String name, double[][] got) {
        double rel = REL_TOLERANCE.getOrDefault(name, 0.0);
        for (int g = 0; g < 2; g++) {
            double[] want = OptimGolden.lrs(name, g);
            assertThat(want).hasSize(31);
            for (int s = 0; s < want.length; s++) {
                if (rel == 0) {
                    assertThat(got[s][g]).as("%s group %d lr after %d steps", name, g, s).isEqualTo(want[s]);
                } else {
                    assertThat(got[s][g]).as("%s group %d lr after %d steps", name, g, s)
                            .isCloseTo(want[s], org.assertj.core.data.Offset.offset(rel * Math.abs(want[s])));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void schedulesMatchTorchExactly(String name) {
        SGD opt = twoGroups();
        LRScheduler s = CASES.get(name).apply(opt);
        double[][] got = new double[31][];
        got[0] = lrsOf(opt);
        assertThat(s.getLastLr()).containsExactly(got[0]);
        for (int i = 1; i <= 30; i++) {
            opt.step();
            s.step();
            got[i] = lrsOf(opt);
            assertThat(s.getLastLr()).as("%s get_last_lr after %d steps", name, i).containsExactly(got[i]);
        }
        assertLrs(name, got);
    }

    private static double[] lrsOf(Optimizer opt) {
        return opt.paramGroups().stream().mapToDouble(Optimizer.ParamGroup::lr).toArray();
    }

    /** step(epoch) with epoch = 0.25 k (0.75 k past k = 20): fractional epochs inside and across restarts. */
    @Test
    void warmRestartsTakeFractionalEpochs() {
        for (Object[] c : new Object[][] {{"warm_restarts_fractional", 2, 2}, {"warm_restarts_fractional_mult1", 3, 1}}) {
            SGD opt = twoGroups();
            CosineAnnealingWarmRestarts s = new CosineAnnealingWarmRestarts(opt, (int) c[1], (int) c[2], 0.01);
            double[][] got = new double[31][];
            got[0] = lrsOf(opt);
            for (int k = 1; k <= 30; k++) {
                s.step(0.25 * k * (k > 20 ? 3 : 1));
                got[k] = lrsOf(opt);
            }
            assertLrs((String) c[0], got);
        }
        assertThatThrownBy(() -> new CosineAnnealingWarmRestarts(twoGroups(), 2).step(-0.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Expected non-negative epoch, but got -0.5");
    }

    static final Map<String, Function<Optimizer, ReduceLROnPlateau>> PLATEAU = new LinkedHashMap<>();

    static {
        PLATEAU.put("plateau_default", ReduceLROnPlateau::new);
        PLATEAU.put("plateau_min_rel", o -> new ReduceLROnPlateau(o, "min", 0.5, 2, 0.01, "rel", 1, new double[] {0.01, 0.0}, 1e-8));
        PLATEAU.put("plateau_max_abs", o -> new ReduceLROnPlateau(o, "max", 0.3, 1, 0.05, "abs", 2, 0.005, 1e-8));
        PLATEAU.put("plateau_min_abs_eps", o -> new ReduceLROnPlateau(o, "min", 0.9, 0, 0.0, "abs", 0, 0.09, 0.004));
        PLATEAU.put("plateau_max_rel", o -> new ReduceLROnPlateau(o, "max", 0.5, 3, 0.1, "rel", 0, 0, 1e-8));
    }

    static Stream<String> plateauCases() {
        return PLATEAU.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plateauCases")
    void reduceOnPlateauMatchesTorchExactly(String name) {
        SGD opt = twoGroups();
        ReduceLROnPlateau s = PLATEAU.get(name).apply(opt);
        double[] metrics = OptimGolden.metrics();
        double[][] got = new double[31][];
        got[0] = lrsOf(opt);
        for (int i = 1; i <= 30; i++) {
            opt.step();
            s.step(metrics[i - 1]);
            got[i] = lrsOf(opt);
            assertThat(s.getLastLr()).containsExactly(got[i]);
        }
        assertThat(s.lastEpoch()).isEqualTo(30);
        assertLrs(name, got);
    }

    /** Stopped half-way, a new scheduler given the state dicts continues as the uninterrupted one (the optimizer's rates come with its own dict). */
    @Test
    void stateDictsContinueTheSchedules() {
        for (String name : List.of("warm_restarts_mult", "sequential_three", "linear", "constant", "multiplicative")) {
            SGD opt = twoGroups();
            LRScheduler s = CASES.get(name).apply(opt);
            for (int i = 0; i < 13; i++) {
                s.step();
            }
            SGD opt2 = twoGroups();
            LRScheduler resumed = CASES.get(name).apply(opt2);
            opt2.loadStateDict(opt.stateDict());
            resumed.loadStateDict(s.stateDict());
            assertThat(resumed.getLastLr()).containsExactly(s.getLastLr());
            for (int i = 13; i < 30; i++) {
                s.step();
                resumed.step();
                assertThat(lrsOf(opt2)).as("%s after %d steps", name, i + 1).containsExactly(lrsOf(opt));
            }
        }
        SGD opt = twoGroups();
        ReduceLROnPlateau s = PLATEAU.get("plateau_min_rel").apply(opt);
        double[] metrics = OptimGolden.metrics();
        for (int i = 0; i < 15; i++) {
            s.step(metrics[i]);
        }
        SGD opt2 = twoGroups();
        ReduceLROnPlateau resumed = PLATEAU.get("plateau_min_rel").apply(opt2);
        opt2.loadStateDict(opt.stateDict());
        resumed.loadStateDict(s.stateDict());
        for (int i = 15; i < 30; i++) {
            s.step(metrics[i]);
            resumed.step(metrics[i]);
            assertThat(lrsOf(opt2)).as("plateau after %d steps", i + 1).containsExactly(lrsOf(opt));
        }
    }

    /** torch's messages for bad arguments. */
    @Test
    void badArgumentsAreRefusedWithTorchsMessages() {
        assertThatThrownBy(() -> new LambdaLR(twoGroups(), List.of(e -> 1.0))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Expected 2 lr_lambdas, but got 1");
        assertThatThrownBy(() -> new ConstantLR(twoGroups(), 1.5, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Constant multiplicative factor expected to be between 0 and 1.");
        assertThatThrownBy(() -> new LinearLR(twoGroups(), -0.1, 1.0, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Starting multiplicative factor expected to be between 0 and 1.");
        assertThatThrownBy(() -> new LinearLR(twoGroups(), 0.1, 1.1, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Ending multiplicative factor expected to be between 0 and 1.");
        assertThatThrownBy(() -> new CosineAnnealingWarmRestarts(twoGroups(), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Expected positive integer T_0, but got 0");
        assertThatThrownBy(() -> new CosineAnnealingWarmRestarts(twoGroups(), 3, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Expected integer T_mult >= 1, but got 0");
        SGD o = twoGroups();
        assertThatThrownBy(() -> new SequentialLR(o, List.of(new ExponentialLR(o, 0.9), new ExponentialLR(o, 0.8)), new int[] {1, 2}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("number of schedulers 2 and the number of milestones to be equal to 2");
        SGD other = twoGroups();
        assertThatThrownBy(() -> new SequentialLR(o, List.of(new ExponentialLR(o, 0.9), new ExponentialLR(other, 0.8)), new int[] {1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schedulers at index 1 to be different than the optimizer passed in");
        assertThatThrownBy(() -> new ReduceLROnPlateau(o, "min", 1.0, 1, 0, "rel", 0, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Factor should be < 1.0.");
        assertThatThrownBy(() -> new ReduceLROnPlateau(o, "lowest", 0.1, 1, 0, "rel", 0, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mode lowest is unknown!");
        assertThatThrownBy(() -> new ReduceLROnPlateau(o, "min", 0.1, 1, 0, "relative", 0, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threshold mode relative is unknown!");
        assertThatThrownBy(() -> new ReduceLROnPlateau(o, "min", 0.1, 1, 0, "rel", 0, new double[] {0}, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected 2 min_lrs, got 1");
    }
}
