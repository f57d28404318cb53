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

    @Test
    void anInPlaceOpReadingAnOverlappingStridedViewReadsItsValuesFromBeforeTheWrite() {
        // x[:, 1:].add_(x[:, :-1]) and .copy_(...): PyTorch computes them (its overlap check gives up on non-dense
        // layouts), in an order its vectorisation decides; Lanes read the operand in place too, and 8 of 148 results
        // changed at 8 lanes, 36 at 4. Now the operand is read as it was before the op, at every width.
        Lanes.manualSeed(4);
        Tensor base = Tensor.randn(4, 37);
        float[] b = base.toFloatArray();
        Tensor x = base.clone();
        x.slice(1, 1, 37).add_(x.slice(1, 0, 36));
        Tensor y = base.clone();
        y.slice(1, 1, 37).copy_(y.slice(1, 0, 36));
        float[] gx = x.toFloatArray();
        float[] gy = y.toFloatArray();
        for (int r = 0; r < 4; r++) {
            assertThat(gx[r * 37]).isEqualTo(b[r * 37]);
            assertThat(gy[r * 37]).isEqualTo(b[r * 37]);
            for (int c = 1; c < 37; c++) {
                assertThat(gx[r * 37 + c]).as("add_ [%d, %d]", r, c).isEqualTo(b[r * 37 + c] + b[r * 37 + c - 1]);
                assertThat(gy[r * 37 + c]).as("copy_ [%d, %d]", r, c).isEqualTo(b[r * 37 + c - 1]);
            }
        }
    }

    @Test
    void floatToInt64IsPyTorchsOnX86AndSoftmaxRefusesAScratchPastAnArray() {
        // torch 1.13 (x86): tensor([nan, 1e20, -1e20, inf, -2.7, 3.9]).long() -> [-2^63, -2^63, -2^63, -2^63, -2, 3]
        long[] got = Tensor.of(new float[] {Float.NaN, 1e20f, -1e20f, Float.POSITIVE_INFINITY, -2.7f, 3.9f}, 6).toLong().toLongArray();
        assertThat(got).containsExactly(Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE, -2L, 3L);
        // softmax along dim 0 of [1, 2^30 + 8] needs a 2 x (2^30 + 8) float scratch: refused by name (was a
        // NegativeArraySizeException); an expanded view keeps the test from allocating the 4 GB it would be
        Tensor wide = Tensor.zeros(1, 1).expand(1, (1 << 30) + 8);
        assertThatThrownBy(() -> wide.softmax(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("move the dim last");
    }

    @Test
    void aMatmulProductOfEveryRankPairTakesAnInPlaceOp() {
        // torch 1.13: h = a.matmul(w); h.add_(b) with b requiring grad works for every rank pair (its matmul ends in
        // _unsafe_view, squeeze_ or transpose_); Lanes refused 3-d @ 1-d / 2-d with a frozen w and 1-d @ 3-d ("a view")
        int[][][] shapes = {{{2, 3, 4}, {4}}, {{2, 3, 4}, {4, 5}}, {{4}, {2, 4, 3}}, {{1, 4}, {2, 4, 3}}, {{3, 4}, {2, 4, 5}}};
        for (int[][] s : shapes) {
            for (boolean trainW : new boolean[] {false, true}) {
                Tensor a = Tensor.randn(s[0]);
                Tensor w = Tensor.randn(s[1]).requiresGrad(trainW);
                Tensor h = a.matmul(w);
                Tensor b = Tensor.ones(h.shape()).requiresGrad(true);
                h.add_(b);
                h.sum().backward();
                assertThat(b.grad().toFloatArray()).as("%s @ %s", java.util.Arrays.toString(s[0]), java.util.Arrays.toString(s[1]))
                        .containsOnly(1f);
            }
        }
    }
}
