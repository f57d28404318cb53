package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import org.junit.jupiter.api.Test;

/**
 * Which results are views for autograd, and in-place writes through them, as PyTorch 1.13: matmul's product, a
 * reshape that copied and detach() are tensors of their own (x.matmul(w).relu_() is ordinary code); copyFrom in a
 * graph is copy_ from a constant; a view of a no_grad view stays one; out= between interleaved views is fine.
 */
class ViewInPlaceSemanticsTest {
    private static void assertSameBits(Tensor got, Tensor want, String what) {
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        assertThat(g.length).isEqualTo(w.length);
        for (int i = 0; i < g.length; i++) {
            assertThat(Float.floatToIntBits(g[i])).as("%s[%d]: %s against %s", what, i, g[i], w[i]).isEqualTo(Float.floatToIntBits(w[i]));
        }
    }

    @Test
    void inPlaceOnAMatmulProductOrACopiedReshapeIsRecordedNotRefused() {
        Lanes.manualSeed(3);
        Tensor x0 = Tensor.randn(2, 3, 4);
        Tensor w0 = Tensor.randn(4, 5);
        // torch: h = x @ w; h.relu_() -> h._is_view() False, grad_fn ReluBackward0 (Lanes refused: "a view")
        Tensor x = x0.clone().requiresGrad(true);
        Tensor w = w0.clone().requiresGrad(true);
        Tensor h = x.matmul(w);
        h.relu_();
        assertThat(h.gradFn().name()).isEqualTo("ReluBackward0");
        h.sum().backward();
        Tensor xr = x0.clone().requiresGrad(true);
        Tensor wr = w0.clone().requiresGrad(true);
        xr.matmul(wr).relu().sum().backward();
        assertSameBits(x.grad(), xr.grad(), "dx");
        assertSameBits(w.grad(), wr.grad(), "dw");
        // 1-D @ 2-D, and a reshape of a transpose (which copies): in-place on both is PyTorch's ordinary code
        Tensor v = Tensor.randn(4).requiresGrad(true);
        Tensor mv = v.matmul(w0);
        mv.mul_(2);
        mv.sum().backward();
        assertThat(v.grad().shape()).containsExactly(4);
        Tensor y = Tensor.randn(2, 3).requiresGrad(true);
        Tensor flat = y.mul(1).t().reshape(6);
        flat.add_(1);
        flat.sum().backward();
        assertThat(y.grad().toFloatArray()).containsOnly(1f);
    }

    @Test
    void inPlaceOnADetachedTensorIsRecordedForItsOperand() {
        // torch: d = y.detach(); d.add_(w) -> grad_fn AddBackward0, w.grad [1, 1, 1] (Lanes refused: "a view")
        Tensor y = Tensor.ones(3).requiresGrad(true);
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor d = y.detach();
        d.add_(w);
        assertThat(d.gradFn().name()).isEqualTo("AddBackward0");
        d.sum().backward();
        assertThat(w.grad().toFloatArray()).containsExactly(1f, 1f, 1f);
        assertThat(y.grad()).isNull();
    }

    @Test
    void copyFromInAGraphIsCopyFromAConstant() {
        // torch: w.copy_(...) on a leaf that requires grad raises; y = x * 2; y.copy_(...) gives x.grad zeros
        Tensor w = Tensor.randn(3).requiresGrad(true);
        assertThatThrownBy(() -> w.copyFrom(new float[] {1, 2, 3}, 0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("a leaf Variable that requires grad is being used in an in-place operation");
        Tensor x = Tensor.ones(3).requiresGrad(true);
        Tensor y = x.mul(2);
        y.copyFrom(new float[] {5, 6, 7}, 0);
        assertThat(y.gradFn().name()).isEqualTo("CopyBackwards");
        y.sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 0f, 0f); // was 2, 2, 2: the overwritten product's
        try (Autograd.Mode g = Autograd.noGrad()) { // the feeding use: a leaf's values replaced outside the graph
            w.copyFrom(new float[] {1, 2, 3}, 0);
        }
        assertThat(w.toFloatArray()).containsExactly(1f, 2f, 3f);
    }

    @Test
    void aViewOfANoGradViewOfALeafThatRequiresGradCannotWriteIt() {
        Tensor w = Tensor.ones(2, 3).requiresGrad(true);
        Tensor v;
        try (Autograd.Mode g = Autograd.noGrad()) {
            v = w.narrow(0, 0, 2);
        }
        // PyTorch refuses; Lanes doubled w silently when the write went through a view of the view
        assertThatThrownBy(() -> v.view(6).mul_(2)).isInstanceOf(IllegalStateException.class).hasMessageContaining("no_grad");
        assertThat(w.toFloatArray()).containsOnly(1f);
    }

    @Test
    void outBetweenInterleavedColumnsThatShareNoElementIsAllowed() {
        // torch.add(x[:, 1], b, out=x[:, 0]) -> [[6, 5], [6, 5], [6, 5]]
        Tensor x = Tensor.zeros(3, 2);
        x.select(1, 1).fill_(5);
        x.select(1, 1).add(Tensor.ones(3), x.select(1, 0));
        assertThat(x.toFloatArray()).containsExactly(6, 5, 6, 5, 6, 5);
        // a real partial overlap is still refused
        Tensor z = Tensor.zeros(3, 4);
        assertThatThrownBy(() -> z.narrow(1, 1, 2).add(Tensor.ones(3, 2), z.narrow(1, 0, 2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("single memory location");
    }

    @Test
    void aRefusedViewTakesNoReferenceOnTheStorage() {
        Tensor x = Tensor.zeros(1);
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> x.expand(65536, 65536)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(x.storageRef().refCount()).as("references on x's storage after three refused expands").isEqualTo(1);
    }
}
