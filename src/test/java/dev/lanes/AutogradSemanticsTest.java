package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Gradcheck;
import org.junit.jupiter.api.Test;

/** Autograd's corners as PyTorch 1.13 (its messages and values printed by torch; helper-76's audit). */
class AutogradSemanticsTest {
    @Test
    void aHookThatChangesTheGradientsTypeIsRefusedByName() {
        // torch: "hook '<lambda>' has changed the type of value (was torch.FloatTensor got torch.LongTensor)"; Lanes put
        // an int64 tensor into x.grad and the next backward threw inside add_
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.registerHook(g -> Tensor.arange(1, 4));
        assertThatThrownBy(() -> x.mul(2).sum().backward()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hook has changed the type of value");
        assertThat(x.grad()).isNull();
    }

    @Test
    void aRetainedGradientFollowsItsTensorThroughAnInPlaceOp() {
        // torch: y = x * 2; y.retain_grad(); y.mul_(3); y.sum().backward(); y.grad -> [1, 1, 1] (Lanes: [3, 3, 3], the old version's)
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor y = x.mul(2);
        y.retainGrad();
        y.mul_(3);
        y.sum().backward();
        assertThat(y.grad().toFloatArray()).containsExactly(1f, 1f, 1f);
        assertThat(x.grad().toFloatArray()).containsExactly(6f, 6f, 6f);
    }

    @Test
    void enableGradInsideInferenceModeRecordsNothing() {
        // torch: with inference_mode(): with enable_grad(): y = x * 2 -> y.requires_grad False, grad_fn None
        Tensor x = Tensor.ones(2).requiresGrad(true);
        Tensor y;
        try (Autograd.Mode m = Autograd.inferenceMode(); Autograd.Mode e = Autograd.enableGrad()) {
            y = x.mul(2);
        }
        assertThat(y.gradFn()).isNull();
        assertThat(y.requiresGrad()).isFalse();
        Tensor z; // outside inference mode enableGrad records inside noGrad, as before
        try (Autograd.Mode n = Autograd.noGrad(); Autograd.Mode e = Autograd.enableGrad()) {
            z = x.mul(2);
        }
        assertThat(z.gradFn().name()).isEqualTo("MulBackward0");
    }

    @Test
    void setGradRefusesAnotherTypeAndTheTensorItselfAndRequiresGradTrueOnANonLeafIsAccepted() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        // torch: "assigned grad has data of a different type"; "can't assign Variable as its own grad" (a backward then
        // added into x itself: [1, 2, 3] -> [3, 4, 5])
        assertThatThrownBy(() -> x.setGrad(Tensor.zerosLong(3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("assigned grad has data of a different type");
        assertThatThrownBy(() -> x.setGrad(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("its own grad");
        // torch: y.requires_grad_(True) on a non-leaf is fine; (False) raises
        Tensor y = x.mul(2);
        assertThat(y.requiresGrad(true)).isSameAs(y);
        assertThatThrownBy(() -> y.requiresGrad(false)).isInstanceOf(IllegalStateException.class).hasMessageContaining("leaf variables");
    }

    @Test
    void gradcheckDividesByTheStepsItTookAndLeavesTheCallersGradAlone() {
        // at 20,000 orig + 1e-3 rounds to orig + 1.95e-3: dividing by 2e-3 gave a numerical derivative of 3.05 for 2
        Tensor x = Tensor.of(new float[] {20000f, 1000.3f}, 2).requiresGrad(true);
        Tensor mine = Tensor.ones(2);
        x.setGrad(mine);
        Gradcheck.check(in -> in[0].mul(2), x);
        assertThat(x.grad()).as("the caller's gradient, put back").isSameAs(mine);
        assertThat(mine.toFloatArray()).containsExactly(1f, 1f);
        // torch: "gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True."
        assertThatThrownBy(() -> Gradcheck.check(in -> in[0].mul(2), Tensor.ones(2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one input tensor to require gradient");
    }
}
