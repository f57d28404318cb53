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
}
