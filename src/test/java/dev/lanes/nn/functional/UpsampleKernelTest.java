package dev.lanes.nn.functional;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * F.interpolate's fused 4-d nearest / bilinear kernel ({@code kernels.Upsample}) against the composition it replaced
 * (Resample's index_select, mul and add on H, then W): the same bits forward and backward over odd sizes,
 * downsampling, scale factors 2, 1.5, 0.5 and 0.7, explicit sizes and align_corners both ways (torch 1.13's values
 * are CnnTest's goldens, which the composition matched); one thread or four give the same bits; an InferencePlan
 * replays the eager bits and allocates nothing per run.
 */
class UpsampleKernelTest {
    /** One case: the input shape, then size or scale factor, mode, align_corners. */
    private record Case(int[] shape, int[] size, double[] scale, boolean linear, boolean corners) {
        int[] out() {
            int[] o = new int[2];
            for (int d = 0; d < 2; d++) {
                o[d] = size != null ? size[size.length == 1 ? 0 : d] : (int) Math.floor(shape[2 + d] * scale[scale.length == 1 ? 0 : d]);
            }
            return o;
        }

        Tensor run(Tensor x, boolean fused) {
            return F.resampleAxes(x, new int[] {shape[2], shape[3]}, out(), size != null ? null : scale, linear, corners, fused);
        }

        @Override
        public String toString() {
            return Arrays.toString(shape) + (size != null ? " size " + Arrays.toString(size) : " scale " + Arrays.toString(scale))
                    + (linear ? " bilinear" + (corners ? " align_corners" : "") : " nearest");
        }
    }

    private static Case[] cases() {
        java.util.List<Case> c = new java.util.ArrayList<>();
        int[][] shapes = {{2, 3, 7, 5}, {1, 4, 8, 8}, {3, 2, 1, 9}, {1, 2, 13, 21}, {2, 1, 5, 40}};
        double[][] scales = {{2}, {1.5}, {0.5}, {0.7}, {2, 1.5}, {1.7, 2.4}, {3}};
        int[][] sizes = {{6, 9}, {3, 2}, {1, 1}, {11, 4}, {16}};
        for (int[] s : shapes) {
            for (boolean linear : new boolean[] {false, true}) {
                for (boolean corners : linear ? new boolean[] {false, true} : new boolean[] {false}) {
                    for (double[] sc : scales) {
                        if (Math.floor(s[2] * sc[0]) >= 1 && Math.floor(s[3] * sc[sc.length - 1]) >= 1) {
                            c.add(new Case(s, null, sc, linear, corners));
                        }
                    }
                    for (int[] sz : sizes) {
                        c.add(new Case(s, sz, null, linear, corners));
                    }
                }
            }
        }
        return c.toArray(new Case[0]);
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    /** Forward values and input gradient (for a random output gradient) of one case, fused or composed. */
    private static int[][] forwardAndGradient(Case k, Tensor x0, Tensor g, boolean fused) {
        Tensor x = x0.detach().requiresGrad(true);
        Tensor y = k.run(x, fused);
        y.backward(g);
        return new int[][] {bits(y.toFloatArray()), bits(x.grad().toFloatArray())};
    }

    @Test
    void theKernelGivesTheCompositionsBitsForwardAndBackward() {
        Lanes.manualSeed(31);
        int n = 0;
        for (Case k : cases()) {
            Tensor x = Tensor.randn(k.shape());
            int[] o = k.out();
            Tensor g = Tensor.randn(k.shape()[0], k.shape()[1], o[0], o[1]);
            int[][] fused = forwardAndGradient(k, x, g, true);
            int[][] composed = forwardAndGradient(k, x, g, false);
            assertThat(fused[0]).as(k + " forward").containsExactly(composed[0]);
            assertThat(fused[1]).as(k + " gradient").containsExactly(composed[1]);
            n++;
        }
        assertThat(n).isGreaterThan(100);
    }

    @Test
    void theGradFnIsTorchsAndTheGradientOfASumCountsTheOutputs() {
        Tensor x = Tensor.randn(1, 2, 3, 4).requiresGrad(true);
        Tensor y = F.interpolate(x, new int[] {5, 7}, null, "bilinear", null);
        assertThat(y.gradFn().name()).isEqualTo("UpsampleBilinear2DBackward0");
        assertThat(F.interpolate(x, 2, "nearest").gradFn().name()).isEqualTo("UpsampleNearest2DBackward0");
        y.sum().backward();
        assertThat(x.grad().sum().item()).isCloseTo(70f, org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void oneThreadOrFourGiveTheSameBits() {
        Lanes.manualSeed(32);
        int saved = Lanes.numThreads();
        Case[] ks = {new Case(new int[] {4, 16, 24, 20}, null, new double[] {2}, true, false),
            new Case(new int[] {4, 16, 24, 20}, new int[] {17, 9}, null, true, true),
            new Case(new int[] {4, 16, 24, 20}, null, new double[] {2}, false, false),
            new Case(new int[] {4, 16, 24, 20}, null, new double[] {0.5}, false, false)};
        try {
            for (Case k : ks) {
                Tensor x = Tensor.randn(k.shape());
                int[] o = k.out();
                Tensor g = Tensor.randn(k.shape()[0], k.shape()[1], o[0], o[1]);
                Lanes.setNumThreads(1);
                int[][] one = forwardAndGradient(k, x, g, true);
                Lanes.setNumThreads(4);
                int[][] four = forwardAndGradient(k, x, g, true);
                assertThat(four[0]).as(k + " forward").containsExactly(one[0]);
                assertThat(four[1]).as(k + " gradient").containsExactly(one[1]);
            }
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    @Test
    void aPlanReplaysTheEagerBitsWithoutAllocating() throws InterruptedException {
        Lanes.manualSeed(33);
        int saved = Lanes.numThreads();
        Lanes.setNumThreads(1);
        try (Autograd.Mode m = Autograd.noGrad(); Tensor x = Tensor.randn(2, 8, 12, 10)) {
            for (String mode : new String[] {"bilinear", "nearest"}) {
                java.util.function.Function<Tensor, Tensor> f = t -> F.interpolate(t, null, new double[] {2}, mode, null);
                float[] want = f.apply(x).toFloatArray();
                try (InferencePlan plan = InferencePlan.trace(f, 2, 8, 12, 10)) {
                    assertThat(plan.toString()).contains("upsample_" + mode + "2d");
                    float[] in = x.toFloatArray();
                    float[] got = new float[want.length];
                    for (int i = 0; i < 50; i++) {
                        plan.run(in, got);
                    }
                    assertThat(bits(got)).as(mode).containsExactly(bits(want));
                    // the fewest bytes of several rounds: until C2 has compiled the vector loops (a background compile,
                    // slow on a loaded machine) the interpreted Vector API boxes each vector
                    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                    long per = Long.MAX_VALUE;
                    for (int round = 0; round < 40 && per > 0; round++) {
                        long before = mx.getCurrentThreadAllocatedBytes();
                        for (int i = 0; i < 20; i++) {
                            plan.run(in, got);
                        }
                        per = Math.min(per, (mx.getCurrentThreadAllocatedBytes() - before) / 20);
                        if (per > 0) {
                            Thread.sleep(50);
                        }
                    }
                    assertThat(per).as(mode + ": heap bytes per plan run").isLessThan(64);
                }
            }
        } finally {
            Lanes.setNumThreads(saved);
        }
    }
}
