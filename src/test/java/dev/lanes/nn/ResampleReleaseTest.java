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
 * F.interpolate (and nn.Upsample) and F.pad release their temporaries: the result of each resized or padded axis but
 * the last, the index and weight constants, the weighted halves of a linear resize. Once the caller closes the
 * result, the pool holds what it held before, with or without autograd recording (they were left to the Cleaner:
 * a 2x bilinear upsample of a [2, 6, 8, 8] input kept about 80 KiB per call beyond its 12 KiB result).
 */
class ResampleReleaseTest {
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
    void interpolateAndPadReleaseTheirTemporaries() {
        Lanes.manualSeed(4);
        try (Tensor x = Tensor.randn(2, 6, 8, 8); Tensor x3 = Tensor.randn(2, 6, 10)) {
            assertReleased("bilinear 2x", () -> F.interpolate(x, null, new double[] {2.0}, "bilinear", null));
            assertReleased("bilinear align_corners size", () -> F.interpolate(x, new int[] {5, 11}, null, "bilinear", true));
            assertReleased("nearest 1.5x", () -> F.interpolate(x, 1.5, "nearest"));
            assertReleased("linear 3-d", () -> F.interpolate(x3, null, new double[] {2.5}, "linear", null));
            Upsample up = new Upsample(2.0, "nearest");
            assertReleased("Upsample", () -> up.forward(x));
            assertReleased("reflect pad", () -> F.pad(x, new int[] {1, 2, 2, 1}, "reflect", 0));
            assertReleased("replicate pad", () -> F.pad(x, new int[] {1, 2, 2, 1}, "replicate", 0));
            assertReleased("constant pad with a crop", () -> F.pad(x, new int[] {1, -2, 2, 1}, "constant", 0.5));
        }
    }

    @Test
    void gradientsStillFlowThroughTheReleasedTemporaries() {
        Lanes.manualSeed(5);
        Tensor x = Tensor.randn(1, 2, 3, 4).requiresGrad(true);
        Tensor y = F.pad(F.interpolate(x, new int[] {5, 7}, null, "bilinear", null), new int[] {1, 1, 2, 0}, "reflect", 0);
        y.sum().backward();
        // each output element is a convex combination of inputs (its weights sum to 1): the gradients sum to the
        // output's element count (torch 1.13: 126.0 for these shapes)
        assertThat(y.numel()).isEqualTo(126);
        assertThat(x.grad().sum().item()).isCloseTo(126f, org.assertj.core.data.Offset.offset(1e-3f));
    }
}
