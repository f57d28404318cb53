package dev.lanes.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Adagrad, Adamax, NAdam and RAdam against torch 1.13 (foreach=False; golden/optim.txt, gen_optim_golden.py): a
 * 37-element parameter (vector bodies and tails at every width) and a 13-element one, in one group or two with other
 * options, after each of 8 steps, to the bit (float32 equality), as OptimizerStateTest's five-step check of the older
 * optimizers. p0[i] = ((i % 17) - 8) / 16, q0[j] = ((j % 5) - 2) / 4, gp_t[i] = (((7 i + 3 t) % 23) - 11) / 8,
 * gq_t[j] = (((5 j + 2 t) % 11) - 5) / 4: exact in float, the same inputs torch's script built.
 */
class OptimizerGoldenTest {
    static final Map<String, BiFunction<Tensor, Tensor, Optimizer>> CASES = new LinkedHashMap<>();

    private static Optimizer twoGroups(Optimizer opt, Tensor q, Map<String, Object> options) {
        opt.addParamGroup(List.of(q), options);
        return opt;
    }

    static {
        CASES.put("adagrad", (p, q) -> new Adagrad(List.of(p, q), 0.1));
        CASES.put("adagrad_full", (p, q) -> twoGroups(new Adagrad(List.of(p), 0.1, 0.01, 0.1, 0.5, 1e-6), q,
                Map.of("lr", 0.05, "weight_decay", 0.0, "lr_decay", 0.0)));
        CASES.put("adamax", (p, q) -> new Adamax(List.of(p, q), 0.01));
        CASES.put("adamax_full", (p, q) -> twoGroups(new Adamax(List.of(p), 0.01, 0.8, 0.95, 1e-3, 0.05), q, Map.of("lr", 0.02, "weight_decay", 0.0)));
        CASES.put("nadam", (p, q) -> new NAdam(List.of(p, q), 0.01));
        CASES.put("nadam_full", (p, q) -> twoGroups(new NAdam(List.of(p), 0.02, 0.85, 0.99, 1e-6, 0.02, 0.006), q,
                Map.of("lr", 0.005, "weight_decay", 0.0, "momentum_decay", 0.1)));
        CASES.put("radam", (p, q) -> new RAdam(List.of(p, q), 0.01));
        CASES.put("radam_full", (p, q) -> twoGroups(new RAdam(List.of(p), 0.01, 0.9, 0.99, 1e-6, 0.1), q,
                Map.of("lr", 0.03, "weight_decay", 0.0, "betas", new double[] {0.7, 0.9})));
    }

    static Stream<String> cases() {
        return CASES.keySet().stream();
    }

    static Tensor startP() {
        float[] v = new float[37];
        for (int i = 0; i < v.length; i++) {
            v[i] = ((i % 17) - 8) / 16f;
        }
        return Tensor.of(v, v.length).requiresGrad(true);
    }

    static Tensor startQ() {
        float[] v = new float[13];
        for (int j = 0; j < v.length; j++) {
            v[j] = ((j % 5) - 2) / 4f;
        }
        return Tensor.of(v, v.length).requiresGrad(true);
    }

    static void setGrads(Tensor p, Tensor q, int t) {
        float[] gp = new float[37];
        for (int i = 0; i < gp.length; i++) {
            gp[i] = (((7 * i + 3 * t) % 23) - 11) / 8f;
        }
        float[] gq = new float[13];
        for (int j = 0; j < gq.length; j++) {
            gq[j] = (((5 * j + 2 * t) % 11) - 5) / 4f;
        }
        p.setGrad(Tensor.of(gp, 37));
        q.setGrad(Tensor.of(gq, 13));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void eightStepsMatchTorchToTheBit(String name) {
        Tensor p = startP();
        Tensor q = startQ();
        Optimizer opt = CASES.get(name).apply(p, q);
        for (int t = 0; t < 8; t++) {
            setGrads(p, q, t);
            opt.step();
            assertThat(p.toFloatArray()).as("%s p after step %d", name, t + 1).containsExactly(OptimGolden.param(name, "p", t));
            assertThat(q.toFloatArray()).as("%s q after step %d", name, t + 1).containsExactly(OptimGolden.param(name, "q", t));
        }
    }

    /** Three steps, the state dict into a new optimizer over copies, five more: the same bits as eight uninterrupted steps. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void stateDictRoundTripContinuesTheSteps(String name) {
        Tensor p = startP();
        Tensor q = startQ();
        Optimizer opt = CASES.get(name).apply(p, q);
        for (int t = 0; t < 3; t++) {
            setGrads(p, q, t);
            opt.step();
        }
        Tensor p2 = Tensor.of(p.toFloatArray(), 37).requiresGrad(true);
        Tensor q2 = Tensor.of(q.toFloatArray(), 13).requiresGrad(true);
        Optimizer resumed = CASES.get(name).apply(p2, q2);
        Map<String, Object> saved = opt.stateDict();
        resumed.loadStateDict(saved);
        assertThat(resumed.stateDict().get("state").toString()).isNotEmpty();
        for (int t = 3; t < 8; t++) {
            setGrads(p2, q2, t);
            resumed.step();
        }
        assertThat(p2.toFloatArray()).as(name).containsExactly(OptimGolden.param(name, "p", 7));
        assertThat(q2.toFloatArray()).as(name).containsExactly(OptimGolden.param(name, "q", 7));
    }

    @Test
    @SuppressWarnings("unchecked")
    void stateHoldsTorchsNames() {
        Tensor p = startP();
        Tensor q = startQ();
        Map<String, List<String>> want = Map.of("adagrad", List.of("step", "sum"), "adamax", List.of("step", "exp_avg", "exp_inf"),
                "nadam", List.of("step", "mu_product", "exp_avg", "exp_avg_sq"), "radam", List.of("step", "exp_avg", "exp_avg_sq"));
        for (var e : want.entrySet()) {
            Optimizer opt = CASES.get(e.getKey()).apply(p, q);
            setGrads(p, q, 0);
            opt.step();
            Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) opt.stateDict().get("state");
            assertThat(st.get(0).keySet()).as(e.getKey()).containsExactlyElementsOf(e.getValue());
        }
        // NAdam's mu_product is a 0-d tensor; a parameter-shaped one is refused
        NAdam nadam = new NAdam(List.of(p), 0.01);
        setGrads(p, q, 0);
        nadam.step();
        Map<String, Object> dict = nadam.stateDict();
        Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) dict.get("state");
        assertThat(((Tensor) st.get(0).get("mu_product")).dim()).isZero();
        st.get(0).put("mu_product", Tensor.zeros(37));
        assertThatThrownBy(() -> nadam.loadStateDict(dict)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0-d");
    }

    @Test
    void badHyperParametersAreRefusedWithTorchsMessages() {
        List<Tensor> ps = List.of(startP());
        assertThatThrownBy(() -> new Adagrad(ps, -1.0)).isInstanceOf(IllegalArgumentException.class).hasMessage("Invalid learning rate: -1.0");
        assertThatThrownBy(() -> new Adagrad(ps, 0.1, -0.5, 0, 0, 1e-10)).hasMessage("Invalid lr_decay value: -0.5");
        assertThatThrownBy(() -> new Adagrad(ps, 0.1, 0, -0.1, 0, 1e-10)).hasMessage("Invalid weight_decay value: -0.1");
        assertThatThrownBy(() -> new Adagrad(ps, 0.1, 0, 0, -2, 1e-10)).hasMessage("Invalid initial_accumulator_value value: -2.0");
        assertThatThrownBy(() -> new Adagrad(ps, 0.1, 0, 0, 0, -1e-10)).hasMessage("Invalid epsilon value: -1.0E-10");
        assertThatThrownBy(() -> new Adamax(ps, -1.0)).isInstanceOf(IllegalArgumentException.class).hasMessage("Invalid learning rate: -1.0");
        assertThatThrownBy(() -> new Adamax(ps, 0.1, 1.0, 0.999, 1e-8, 0)).hasMessage("Invalid beta parameter at index 0: 1.0");
        assertThatThrownBy(() -> new NAdam(ps, 0.1, 0.9, -0.1, 1e-8, 0, 4e-3)).hasMessage("Invalid beta parameter at index 1: -0.1");
        assertThatThrownBy(() -> new NAdam(ps, 0.1, 0.9, 0.999, 1e-8, 0, -1)).hasMessage("Invalid momentum_decay value: -1.0");
        assertThatThrownBy(() -> new RAdam(ps, 0.1, 0.9, 0.999, -1, 0)).hasMessage("Invalid epsilon value: -1.0");
        assertThatThrownBy(() -> new RAdam(ps, 0.1, 0.9, 0.999, 1e-8, -1)).hasMessage("Invalid weight_decay value: -1.0");
        RAdam radam = new RAdam(ps, 0.1);
        assertThatThrownBy(() -> radam.addParamGroup(List.of(startQ()), Map.of("lr", -0.5))).hasMessage("Invalid learning rate: -0.5");
    }
}
