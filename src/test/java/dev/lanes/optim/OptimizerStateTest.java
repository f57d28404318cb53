package dev.lanes.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Optimizer and scheduler state as PyTorch keeps it (an audit found each of these otherwise; each test fails before). */
class OptimizerStateTest {
    private static void grad(Tensor p, float g) {
        try (var m = Autograd.noGrad()) {
            p.setGrad(Tensor.full(p.shape(), g));
        }
    }

    /**
     * Adam, AdamW and RMSprop make their scalars as PyTorch's do: 1 - beta, lr / (1 - beta1^t) and 1 - lr wd in double
     * from the options, rounded to float once (1f - 0.999f is 0.00099998713 where torch's is 0.001f: every exp_avg_sq
     * was 1.3e-5 off). Three steps of fixed gradients, torch 1.13's float32 values exactly.
     */
    @Test
    void adamAndRmspropMatchTorchToTheBit() {
        float[][] grads = {{1f, 0.3f, -2f, 1e-3f}, {0.5f, -0.7f, 0.1f, 2f}, {-1.5f, 0.2f, 0.9f, -0.4f}};
        Object[][] cases = {
            {"adam", new float[] {0.9981391429901123f, -2.000354766845703f, 0.5018097162246704f, 2.9977867603302f}, "exp_avg_sq",
                new float[] {0.0034980482887476683f, 0.0006285373237915337f, 0.004802139941602945f, 0.004254610743373632f}},
            {"adamw", new float[] {0.9981197714805603f, -2.0003678798675537f, 0.5018004775047302f, 2.9977264404296875f}, "exp_avg_sq",
                new float[] {0.0034977509640157223f, 0.0006193300941959023f, 0.004811994265764952f, 0.004156000912189484f}},
            {"rms", new float[] {0.9355348944664001f, -2.0335521697998047f, 0.553644061088562f, 2.819716691970825f}, "square_avg",
                new float[] {0.0347759984433651f, 0.0061330897733569145f, 0.0474030002951622f, 0.04120001196861267f}},
        };
        for (Object[] c : cases) {
            Tensor p = Tensor.of(new float[] {1f, -2f, 0.5f, 3f}, 4).requiresGrad(true);
            Optimizer opt = switch ((String) c[0]) {
                case "adam" -> new Adam(List.of(p), 1e-3, 0.9, 0.999, 1e-8, 0.01, false);
                case "adamw" -> new AdamW(List.of(p), 1e-3, 0.9, 0.999, 1e-8, 0.01, false);
                default -> new RMSprop(List.of(p), 1e-2, 0.99, 1e-8, 0, 0, false);
            };
            for (float[] g : grads) {
                try (var m = Autograd.noGrad()) {
                    p.setGrad(Tensor.of(g, 4));
                }
                opt.step();
            }
            assertThat(p.toFloatArray()).as("%s parameters", c[0]).containsExactly((float[]) c[1]);
            @SuppressWarnings("unchecked")
            Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) opt.stateDict().get("state");
            assertThat(((Tensor) st.get(0).get((String) c[2])).toFloatArray()).as("%s %s", c[0], c[2]).containsExactly((float[]) c[3]);
        }
    }

    /** A loaded state replaces the optimizer's: a parameter without an entry loses its momentum (it kept it: a rollback did not roll back). */
    @Test
    void loadingAStateDictReplacesTheState() {
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(2).requiresGrad(true);
        SGD opt = new SGD(List.of(a, b), 0.1, 0.9);
        grad(a, 1f);
        opt.step(); // only a has state
        Map<String, Object> early = opt.stateDict();
        grad(a, 1f);
        grad(b, 1f);
        opt.step(); // now b has a momentum buffer too
        opt.loadStateDict(early);
        @SuppressWarnings("unchecked")
        Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) opt.stateDict().get("state");
        assertThat(st).containsOnlyKeys(0);
        // b steps as a first step again: buffer = gradient, p -= lr * g
        float before = b.toFloatArray()[0];
        a.setGrad(null);
        grad(b, 2f);
        opt.step();
        assertThat(b.toFloatArray()[0]).isEqualTo(before - 0.1f * 2f);
    }

    /** Each group and each state dict has its own betas (one shared array: writing group 0's changed them all). */
    @Test
    void betasAreCopiedPerGroupAndPerStateDict() {
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(2).requiresGrad(true);
        Adam opt = new Adam(List.of(a), 0.01);
        opt.addParamGroup(List.of(b), Map.of());
        ((double[]) opt.paramGroups().get(0).options().get("betas"))[0] = 0.5;
        assertThat((double[]) opt.paramGroups().get(1).options().get("betas")).containsExactly(0.9, 0.999);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> groups = (List<Map<String, Object>>) opt.stateDict().get("param_groups");
        ((double[]) groups.get(0).get("betas"))[1] = 0.1;
        assertThat((double[]) opt.paramGroups().get(0).options().get("betas")).containsExactly(0.5, 0.999);
        assertThatThrownBy(() -> new SGD(List.of(a, a), 0.1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
    }

    /** A scheduler's state: a new StepLR given it decays at the same epochs as one never interrupted (it restarted its count). */
    @Test
    void schedulerStateContinuesTheSchedule() {
        Tensor p = Tensor.ones(1).requiresGrad(true);
        SGD opt = new SGD(List.of(p), 1.0);
        StepLR sched = new StepLR(opt, 30, 0.1);
        for (int e = 0; e < 45; e++) {
            sched.step();
        }
        Map<String, Object> saved = sched.stateDict();
        Map<String, Object> optSaved = opt.stateDict();
        SGD opt2 = new SGD(List.of(Tensor.ones(1).requiresGrad(true)), 1.0);
        opt2.loadStateDict(optSaved);
        StepLR resumed = new StepLR(opt2, 30, 0.1);
        resumed.loadStateDict(saved);
        for (int e = 45; e < 60; e++) {
            sched.step();
            resumed.step();
            assertThat(resumed.getLastLr()[0]).as("epoch %d", e + 1).isEqualTo(sched.getLastLr()[0]);
        }
        assertThat(resumed.getLastLr()[0]).isCloseTo(0.01, org.assertj.core.data.Offset.offset(1e-12)); // decayed twice by epoch 60
        assertThatThrownBy(() -> resumed.loadStateDict(Map.of("last_epoch", 3))).isInstanceOf(IllegalArgumentException.class);
    }

    /** CosineAnnealingLR's first step keeps the group's rate, as PyTorch's (it reset it to initial_lr). */
    @Test
    void cosineFirstStepKeepsTheCurrentRate() {
        Tensor p = Tensor.ones(1).requiresGrad(true);
        SGD opt = new SGD(List.of(p), 0.1);
        opt.paramGroups().get(0).options().put("initial_lr", 0.1);
        opt.paramGroups().get(0).setLr(0.05);
        new CosineAnnealingLR(opt, 10, 0.0);
        assertThat(opt.paramGroups().get(0).lr()).isEqualTo(0.05);
    }

    /**
     * A step refused for a bad gradient changes nothing (an int64, non-contiguous or released gradient): the step
     * count and the buffers were made before the check, so SGD's next real step found a zero momentum buffer instead
     * of taking buf = g (p went 1 -> 0.5, not 0), Adam counted one step too many for good, and the parameters before
     * the bad one in the same step were already updated.
     */
    @Test
    void aRefusedStepChangesNoState() {
        Tensor p = Tensor.ones(3).requiresGrad(true);
        SGD sgd = new SGD(List.of(p), 1.0, 0.9, 0.5, 0, false);
        // an int64 gradient is refused by setGrad itself now (torch: "assigned grad has data of a different type"); a
        // strided one (every other element of 6) reaches the step
        assertThatThrownBy(() -> p.setGrad(Tensor.zerosLong(3))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int64");
        p.setGrad(Tensor.ones(6).slice(0, 0, 6, 2));
        assertThatThrownBy(sgd::step).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3]");
        assertThat(sgd.stateDict().get("state")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP).isEmpty();
        grad(p, 1f);
        sgd.step();
        assertThat(p.toFloatArray()).containsExactly(0f, 0f, 0f); // buf = g = 1 on the first step, not 0.9 * 0 + 0.5 * 1

        // Adam, one parameter fine and one with a transposed (non-contiguous) gradient, then a released one: nothing moves
        Tensor a = Tensor.ones(2).requiresGrad(true);
        Tensor b = Tensor.ones(3, 2).requiresGrad(true);
        Adam adam = new Adam(List.of(a, b), 0.1);
        Tensor a2 = Tensor.ones(2).requiresGrad(true);
        Tensor b2 = Tensor.ones(3, 2).requiresGrad(true);
        Adam reference = new Adam(List.of(a2, b2), 0.1);
        grad(a, 1f);
        try (var m = Autograd.noGrad()) {
            b.setGrad(Tensor.ones(2, 3).t());
        }
        assertThatThrownBy(adam::step).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguous")
                .hasMessageContaining("[3, 2]");
        Tensor closed = Tensor.ones(3, 2);
        closed.close();
        b.setGrad(closed);
        assertThatThrownBy(adam::step).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        assertThat(a.toFloatArray()).as("the good parameter of a refused step").containsExactly(1f, 1f);
        assertThat(adam.stateDict().get("state")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP).isEmpty();
        for (int i = 0; i < 3; i++) {
            grad(a, 0.5f * (i + 1));
            grad(b, -0.25f * (i + 1));
            grad(a2, 0.5f * (i + 1));
            grad(b2, -0.25f * (i + 1));
            adam.step();
            reference.step();
        }
        assertThat(a.toFloatArray()).containsExactly(a2.toFloatArray());
        assertThat(b.toFloatArray()).containsExactly(b2.toFloatArray());
        @SuppressWarnings("unchecked")
        Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) adam.stateDict().get("state");
        assertThat(st.get(0).get("step")).isEqualTo(3L);
        assertThat(st.get(1).get("step")).isEqualTo(3L);
    }

    /**
     * A state dict refused by loadStateDict leaves the optimizer as it was: the options were replaced and the momentum
     * buffers closed and dropped before the values were copied in, so a released tensor in the dict (or a "step" that
     * is not a number) failed half-way, with the momentum gone and the dict's learning rate in place.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRefusedStateDictLeavesTheOptimizerAsItWas() {
        Tensor p = Tensor.ones(3).requiresGrad(true);
        Tensor q = Tensor.ones(3).requiresGrad(true);
        SGD opt = new SGD(List.of(p), 0.1, 0.9);
        SGD reference = new SGD(List.of(q), 0.1, 0.9);
        grad(p, 1f);
        grad(q, 1f);
        opt.step();
        reference.step();

        Map<String, Object> closedBuffer = opt.stateDict();
        ((List<Map<String, Object>>) closedBuffer.get("param_groups")).get(0).put("lr", 0.5);
        ((Tensor) ((Map<Integer, Map<String, Object>>) closedBuffer.get("state")).get(0).get("momentum_buffer")).close();
        assertThatThrownBy(() -> opt.loadStateDict(closedBuffer)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("momentum_buffer").hasMessageContaining("released");

        Map<String, Object> badStep = opt.stateDict();
        ((List<Map<String, Object>>) badStep.get("param_groups")).get(0).put("lr", 0.5);
        ((Map<Integer, Map<String, Object>>) badStep.get("state")).get(0).put("step", "three");
        assertThatThrownBy(() -> opt.loadStateDict(badStep)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'step'").hasMessageContaining("three");

        Map<String, Object> badOption = opt.stateDict();
        ((List<Map<String, Object>>) badOption.get("param_groups")).get(0).put("lr", "fast");
        assertThatThrownBy(() -> opt.loadStateDict(badOption)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'lr'").hasMessageContaining("fast");
        Map<String, Object> negative = opt.stateDict();
        ((List<Map<String, Object>>) negative.get("param_groups")).get(0).put("momentum", -1.0);
        assertThatThrownBy(() -> opt.loadStateDict(negative)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Invalid momentum value: -1.0");

        assertThat(opt.paramGroups().get(0).lr()).isEqualTo(0.1);
        for (int i = 0; i < 2; i++) {
            grad(p, 2f);
            grad(q, 2f);
            opt.step();
            reference.step();
            assertThat(p.toFloatArray()).as("step %d after the refused loads", i).containsExactly(q.toFloatArray());
        }
    }

    /**
     * Five steps over 37 elements (vector bodies and tails at every width) against torch 1.13 (foreach=False), compared
     * by the CRC-32 of the final parameters' little-endian bits: torch fuses a product and a sum into one FMA where its
     * kernels do (add with alpha, addcmul), and computes 1 - dampening in double. p0[i] = ((i % 17) - 8) / 16,
     * g_t[i] = (((7 i + 3 t) % 23) - 11) / 8: exact in float, the same inputs torch's script built.
     */
    @Test
    void fiveStepsOfEveryOptimizerMatchTorchToTheBit() {
        java.util.Map<String, java.util.function.Function<List<Tensor>, dev.lanes.optim.Optimizer>> configs = new java.util.LinkedHashMap<>();
        configs.put("sgd", ps -> new SGD(ps, 0.1));
        configs.put("sgd_nesterov_wd", ps -> new SGD(ps, 0.1, 0.9, 0, 0.01, true));
        configs.put("sgd_damp", ps -> new SGD(ps, 0.5, 0.5, 0.9999, 0, false));
        configs.put("adam_amsgrad_wd", ps -> new Adam(ps, 0.01, 0.8, 0.95, 1e-8, 0.01, true));
        configs.put("adamw", ps -> new dev.lanes.optim.AdamW(ps, 0.01, 0.9, 0.999, 1e-8, 0.1, false));
        configs.put("rmsprop_centered_momentum", ps -> new dev.lanes.optim.RMSprop(ps, 0.01, 0.99, 1e-8, 0, 0.9, true));
        configs.put("rmsprop", ps -> new dev.lanes.optim.RMSprop(ps, 0.01));
        java.util.Map<String, Long> torch = java.util.Map.of("sgd", 2457996171L, "sgd_nesterov_wd", 54878277L, "sgd_damp", 4140540634L,
                "adam_amsgrad_wd", 3922325853L, "adamw", 1532690353L, "rmsprop_centered_momentum", 1891287817L, "rmsprop", 498302768L);
        int n = 37;
        for (var e : configs.entrySet()) {
            float[] p0 = new float[n];
            for (int i = 0; i < n; i++) {
                p0[i] = ((i % 17) - 8) / 16f;
            }
            Tensor p = Tensor.of(p0, n).requiresGrad(true);
            dev.lanes.optim.Optimizer o = e.getValue().apply(List.of(p));
            for (int t = 0; t < 5; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = (((i * 7 + t * 3) % 23) - 11) / 8f;
                }
                p.setGrad(Tensor.of(g, n));
                o.step();
            }
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float v : p.toFloatArray()) {
                bytes.putFloat(v);
            }
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(bytes.array());
            assertThat(crc.getValue()).as(e.getKey() + ": " + java.util.Arrays.toString(p.toFloatArray())).isEqualTo(torch.get(e.getKey()));
        }
    }
}
