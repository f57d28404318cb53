package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryPool;
import dev.lanes.nn.functional.F;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The 1-d convolution and pooling (and the unbatched transposed convolution) run their 2-d op on unsqueezed views and
 * return a squeezed view of its result: closing that view must free the result. Before, the 2-d result and the
 * unsqueezed views of the caller's tensors were left to the Cleaner (a conv1d of a [4, 8, 64] input held its
 * [4, 16, 1, 62] result after the caller closed the returned view).
 */
class ViewWrappedOpsReleaseTest {
    private static final MemoryPool POOL = MemoryPool.global();

    private static void assertReleased(String what, Supplier<Tensor> op) {
        for (boolean grad : new boolean[] {false, true}) {
            op.get().close(); // warm-up: anything cached on first use
            long before = POOL.bytesInUse();
            try (Autograd.Mode m = grad ? Autograd.enableGrad() : Autograd.noGrad()) {
                op.get().close();
            }
            assertThat(POOL.bytesInUse() - before).as(what + (grad ? " (grad mode)" : " (no_grad)") + ": bytes still held after closing the result")
                    .isZero();
        }
    }

    @Test
    void oneDimensionalOpsAndUnbatchedTransposedConvolutionReleaseTheirTemporaries() {
        Lanes.manualSeed(6);
        try (Tensor x = Tensor.randn(4, 8, 64); Tensor x2 = Tensor.randn(8, 64); Tensor w = Tensor.randn(16, 8, 3); Tensor b = Tensor.randn(16);
             Tensor img = Tensor.randn(8, 9, 9); Tensor wt = Tensor.randn(8, 4, 3, 3)) {
            assertReleased("conv1d", () -> F.conv1d(x, w, b, 1, 1, 1, 1));
            assertReleased("conv1d unbatched", () -> F.conv1d(x2, w, b, 2, 0, 1, 1));
            assertReleased("conv1d same", () -> F.conv1d(x, w, null, 1, "same", 1, 1));
            assertReleased("max_pool1d", () -> F.maxPool1d(x, 2));
            assertReleased("avg_pool1d", () -> F.avgPool1d(x2, 3));
            assertReleased("conv_transpose2d unbatched", () -> F.convTranspose2d(img, wt, null, new int[] {2, 2}, new int[] {1, 1},
                    new int[] {1, 1}, 1, new int[] {1, 1}));
        }
    }

    @Test
    void gradientsStillFlow() {
        Lanes.manualSeed(7);
        Tensor x = Tensor.randn(2, 3, 10).requiresGrad(true);
        Tensor w = Tensor.randn(4, 3, 3).requiresGrad(true);
        Tensor y = F.maxPool1d(F.conv1d(x, w, null, 1, 1, 1, 1), 2);
        y.sum().backward();
        assertThat(x.grad()).isNotNull();
        assertThat(w.grad().shape()).containsExactly(4, 3, 3);
        // the same through the 2-d ops directly: the gradients must be identical
        Tensor x4 = x.detach().unsqueeze(2).requiresGrad(true);
        Tensor w4 = w.detach().unsqueeze(2).requiresGrad(true);
        Tensor y4 = F.maxPool2d(F.conv2d(x4, w4, null, new int[] {1, 1}, new int[] {0, 1}, new int[] {1, 1}, 1), new int[] {1, 2}, new int[] {1, 2},
                new int[] {0, 0}, new int[] {1, 1}, false);
        y4.sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(x4.grad().toFloatArray());
        assertThat(w.grad().toFloatArray()).containsExactly(w4.grad().toFloatArray());
    }
}
