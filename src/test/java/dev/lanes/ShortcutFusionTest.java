package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * InferencePlan's fuseShortcuts: a 1 x 1 convolution of the same input as a strided 3 x 3 (or larger) one runs inside
 * that step, its product reading the bigger one's staging (PlanStep.Conv#canTakeShortcut, Conv2dDriver.shortcutTap).
 * The fused plan must give the unfused plan's bits (the same products in the same order) at every width (CI runs this
 * class at 512, 256 and 128 bits, where the staging differs: column-shifted, parity or padded planes).
 */
class ShortcutFusionTest {
    private static final String FUSED = "from its staging";

    /** The plan's output for {@code x}, fused or not ({@code -Dlanes.plan.fuseShortcuts}), and whether it fused. */
    private static float[] run(Function<Tensor, Tensor> f, boolean fuse, boolean expectFused, float[] x, int... shape) {
        if (fuse) {
            System.clearProperty("lanes.plan.fuseShortcuts");
        } else {
            System.setProperty("lanes.plan.fuseShortcuts", "false");
        }
        try (InferencePlan plan = InferencePlan.trace(f, shape)) {
            assertThat(plan.toString().contains(FUSED)).as("fused: %s", plan).isEqualTo(fuse && expectFused);
            float[] out = new float[plan.outputSize()];
            plan.run(x, out);
            plan.run(x, out); // a second call: the plan's buffers are reused
            return out;
        } finally {
            System.clearProperty("lanes.plan.fuseShortcuts");
        }
    }

    /** A downsampling block: relu(conv_k(x) stride s) + conv_1x1(x) stride s, the shortcut traced first or second. */
    private static void check(int images, int c, int h, int w, int out, int k, int[] stride, int[] pad, int[] dilation, boolean shortcutFirst,
                              boolean expectFused) {
        Lanes.manualSeed(c * 31L + h);
        Tensor wBig = Tensor.randn(out, c, k, k).mul(0.3f);
        Tensor bBig = Tensor.randn(out);
        Tensor wOne = Tensor.randn(out, c, 1, 1).mul(0.3f);
        Tensor bOne = Tensor.randn(out);
        Function<Tensor, Tensor> block = x -> {
            Tensor sc = shortcutFirst ? Tensor.conv2d(x, wOne, bOne, stride, new int[] {0, 0}, new int[] {1, 1}, 1) : null;
            Tensor main = Tensor.conv2d(x, wBig, bBig, stride, pad, dilation, 1).relu();
            if (sc == null) {
                sc = Tensor.conv2d(x, wOne, bOne, stride, new int[] {0, 0}, new int[] {1, 1}, 1);
            }
            // shapes that differ (no padding: a smaller main output) are summed apart
            return java.util.Arrays.equals(main.shape(), sc.shape()) ? main.add(sc).relu() : main.mean().add(sc.mean());
        };
        int[] shape = {images, c, h, w};
        float[] x = InferencePlanTest.randomInput(images * c * h * w, h * 7L + c);
        float[] fused = run(block, true, expectFused, x, shape);
        float[] unfused = run(block, false, expectFused, x, shape);
        String what = "k" + k + " stride " + stride[0] + "x" + stride[1] + " pad " + pad[0] + "x" + pad[1] + " dilation " + dilation[0]
                + " [" + images + ", " + c + ", " + h + ", " + w + "] -> " + out;
        for (int i = 0; i < fused.length; i++) {
            if (Float.floatToRawIntBits(fused[i]) != Float.floatToRawIntBits(unfused[i])) {
                throw new AssertionError(what + ": element " + i + " fused " + fused[i] + " unfused " + unfused[i]);
            }
        }
        // and both are the eager block's (the plan's own tolerance: the eager op sums in another order only in its blocking)
        Tensor eager = block.apply(Tensor.of(x, shape));
        float[] e = eager.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertThat(fused[i]).as("%s element %d", what, i).isCloseTo(e[i], org.assertj.core.data.Offset.offset(1e-4f * Math.max(1f, Math.abs(e[i]))));
        }
    }

    @Test
    void aDownsamplingShortcutRunsFromTheBlocksStagingWithTheUnfusedBits() {
        int[] s2 = {2, 2};
        int[] p1 = {1, 1};
        int[] d1 = {1, 1};
        // ResNet-20's two downsampling blocks (16 -> 32 on 32 x 32, 32 -> 64 on 16 x 16), the shortcut traced either side
        check(2, 16, 32, 32, 32, 3, s2, p1, d1, false, true);
        check(1, 32, 16, 16, 64, 3, s2, p1, d1, true, true);
        // odd sides, few channels, channel counts that are no multiple of a vector
        check(3, 3, 15, 13, 5, 3, s2, p1, d1, false, true);
        check(1, 20, 9, 17, 40, 3, s2, p1, d1, true, true);
        // a 5 x 5 kernel (its tap (2, 2)), a dilated 3 x 3 (pad 2 = dilation 2 x tap 1), stride 2 down and 1 across
        check(2, 6, 14, 14, 12, 5, s2, new int[] {2, 2}, d1, false, true);
        check(1, 8, 17, 17, 8, 3, s2, new int[] {2, 2}, new int[] {2, 2}, false, true);
        check(1, 5, 12, 10, 7, 3, new int[] {2, 1}, p1, d1, true, true);
    }

    @Test
    void aOneByOneThatReadsOtherPixelsStaysAStepOfItsOwn() {
        int[] d1 = {1, 1};
        // no padding on the 3 x 3: its tap (0, 0) reads the 1 x 1's pixels but its output is smaller; not fused
        check(1, 4, 11, 11, 6, 3, new int[] {2, 2}, new int[] {0, 0}, d1, false, false);
        // stride 1: the 1 x 1 reads the image itself (no staging of its own to save)
        check(1, 3, 10, 10, 4, 3, new int[] {1, 1}, new int[] {1, 1}, d1, false, false);
    }

    /** The fused step allocates nothing per warm call, as every plan step (its taps are kept in the frame's buffers). */
    @Test
    void aFusedShortcutAllocatesNothingPerCall() throws Exception {
        assertThat(PlanHeapProbe.inFreshJvm("shortcut")).as("heap bytes per warm call").isLessThan(PlanHeapProbe.ALLOCATION_LIMIT);
    }
}
