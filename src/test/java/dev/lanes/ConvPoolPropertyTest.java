package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Gradcheck;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * conv2d, conv_transpose2d and pooling against naive direct loops (double precision) on random geometries, gradchecks of their
 * backward rules, thread-count independence, and the bad-input messages.
 */
class ConvPoolPropertyTest {
    private final SplittableRandom rnd = new SplittableRandom(7);

    /** A convolution's geometry: batch, channels, image, out channels, kernel, stride, padding, dilation, groups. */
    private record Conv(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
        int oh() {
            return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
        }

        int ow() {
            return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        }

        int[] stride() {
            return new int[] {sh, sw};
        }

        int[] padding() {
            return new int[] {ph, pw};
        }

        int[] dilation() {
            return new int[] {dh, dw};
        }

        /**
         * A small random geometry: rows longer and shorter than a vector; strides 1..3 when {@code strided}; padding
         * up to 2, or with {@code widePadding} up to the kernel + 1 (the transposed padding of the input gradient
         * then goes negative).
         */
        static Conv random(SplittableRandom rnd, boolean strided, boolean widePadding) {
            int groups = 1 + rnd.nextInt(3);
            int c = groups * (1 + rnd.nextInt(3));
            int o = groups * (1 + rnd.nextInt(4));
            int n = 1 + rnd.nextInt(3);
            int kh = 1 + rnd.nextInt(4);
            int kw = 1 + rnd.nextInt(4);
            int sh = strided ? 1 + rnd.nextInt(3) : 1;
            int sw = strided ? 1 + rnd.nextInt(3) : 1;
            int dh = 1 + rnd.nextInt(2);
            int dw = 1 + rnd.nextInt(2);
            int ph = rnd.nextInt(widePadding ? kh + 2 : 3);
            int pw = rnd.nextInt(widePadding ? kw + 2 : 3);
            int h = dh * (kh - 1) + 1 + rnd.nextInt(8);
            int w = dw * (kw - 1) + 1 + rnd.nextInt(40);
            return new Conv(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups);
        }
    }

    /** Visits one tap of a convolution: flat indices of the output element, the input element it reads and the weight. */
    private interface Tap {
        void visit(int out, int in, int weight);
    }

    /** Every tap of a direct convolution that reads inside the image: the obvious seven loops. */
    private static void taps(Conv g, Tap tap) {
        int cg = g.c() / g.groups();
        int og = g.o() / g.groups();
        int oh = g.oh();
        int ow = g.ow();
        for (int in = 0; in < g.n(); in++) {
            for (int oc = 0; oc < g.o(); oc++) {
                int grp = oc / og;
                for (int y = 0; y < oh; y++) {
                    for (int xx = 0; xx < ow; xx++) {
                        for (int ic = 0; ic < cg; ic++) {
                            for (int i = 0; i < g.kh(); i++) {
                                for (int j = 0; j < g.kw(); j++) {
                                    int hh = y * g.sh() - g.ph() + i * g.dh();
                                    int ww = xx * g.sw() - g.pw() + j * g.dw();
                                    if (hh >= 0 && hh < g.h() && ww >= 0 && ww < g.w()) {
                                        tap.visit(((in * g.o() + oc) * oh + y) * ow + xx, ((in * g.c() + grp * cg + ic) * g.h() + hh) * g.w() + ww,
                                                ((oc * cg + ic) * g.kh() + i) * g.kw() + j);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static float[] toFloats(double[] sums) {
        float[] out = new float[sums.length];
        for (int i = 0; i < sums.length; i++) {
            out[i] = (float) sums[i];
        }
        return out;
    }

    /** Direct convolution (double sums). */
    private static float[] naiveConv(float[] x, float[] wt, float[] b, Conv g) {
        int plane = g.oh() * g.ow();
        double[] out = new double[g.n() * g.o() * plane];
        if (b != null) {
            for (int i = 0; i < out.length; i++) {
                out[i] = b[i / plane % g.o()];
            }
        }
        taps(g, (y, in, k) -> out[y] += (double) x[in] * wt[k]);
        return toFloats(out);
    }

    /** The input gradient by the direct loops: each output gradient times the weight, added at the pixel it read. */
    private static float[] naiveInputGrad(float[] gout, float[] wt, Conv g) {
        double[] dx = new double[g.n() * g.c() * g.h() * g.w()];
        taps(g, (y, in, k) -> dx[in] += (double) gout[y] * wt[k]);
        return toFloats(dx);
    }

    /** The weight gradient by the direct loops. */
    private static float[] naiveWeightGrad(float[] x, float[] gout, Conv g) {
        double[] grad = new double[g.o() * (g.c() / g.groups()) * g.kh() * g.kw()];
        taps(g, (y, in, k) -> grad[k] += (double) gout[y] * x[in]);
        return toFloats(grad);
    }

    @Test
    void conv2dMatchesDirectLoops() {
        for (int iter = 0; iter < 60; iter++) {
            Conv g = Conv.random(rnd, true, false);
            boolean bias = rnd.nextBoolean();
            try (Tensor x = Tensor.randn(g.n(), g.c(), g.h(), g.w()); Tensor wt = Tensor.randn(g.o(), g.c() / g.groups(), g.kh(), g.kw());
                 Tensor b = bias ? Tensor.randn(g.o()) : null) {
                Tensor y = Tensor.conv2d(x, wt, b, g.stride(), g.padding(), g.dilation(), g.groups());
                assertThat(y.shape()).containsExactly(g.n(), g.o(), g.oh(), g.ow());
                float[] want = naiveConv(x.toFloatArray(), wt.toFloatArray(), b == null ? null : b.toFloatArray(), g);
                try (Tensor expected = Tensor.of(want, g.n(), g.o(), g.oh(), g.ow())) {
                    Assertions2.assertClose(y, expected, 1e-4, 1e-4, "conv iter " + iter + " " + g);
                }
                y.close();
            }
        }
    }

    /**
     * The input gradient on random geometries: stride 1 takes the transposed-convolution path (flipped weights, padding
     * dH (kH - 1) - pT, negative when the padding is wider than the kernel) where its columns are not the larger, other
     * geometries W^T gout and col2im. Groups,
     * dilation, unequal kernels and rows around the vector width; against the direct loops (1e-4). The weight gradient
     * too, unfolded again from the input (images this small keep no columns) or the input itself for a 1x1 convolution.
     */
    @Test
    void conv2dGradientsMatchDirectLoops() {
        for (int iter = 0; iter < 60; iter++) {
            Conv g = Conv.random(rnd, iter % 3 == 2, true);
            try (Tensor x = Tensor.randn(g.n(), g.c(), g.h(), g.w()).requiresGrad(true);
                 Tensor wt = Tensor.randn(g.o(), g.c() / g.groups(), g.kh(), g.kw()).requiresGrad(true)) {
                Tensor y = Tensor.conv2d(x, wt, null, g.stride(), g.padding(), g.dilation(), g.groups());
                try (Tensor gout = Tensor.randn(g.n(), g.o(), g.oh(), g.ow())) {
                    y.backward(gout);
                    float[] go = gout.toFloatArray();
                    try (Tensor expected = Tensor.of(naiveInputGrad(go, wt.toFloatArray(), g), g.n(), g.c(), g.h(), g.w())) {
                        Assertions2.assertClose(x.grad(), expected, 1e-4, 1e-4, "input grad iter " + iter + " " + g);
                    }
                    try (Tensor expected = Tensor.of(naiveWeightGrad(x.toFloatArray(), go, g), g.o(), g.c() / g.groups(), g.kh(), g.kw())) {
                        Assertions2.assertClose(wt.grad(), expected, 1e-4, 1e-4, "weight grad iter " + iter + " " + g);
                    }
                }
                y.close();
            }
        }
    }

    /**
     * Stride 1 has two input-gradient paths, chosen by the geometry alone
     * ({@link dev.lanes.kernels.Conv2dDriver#flippedInputGradientGeometry}): a forward convolution of gout with the
     * flipped weights where its column matrix is not larger than W^T gout's (same-padded layers that keep the channels),
     * else W^T gout and col2im (LeNet's 6->16 5x5 valid layer: 15,000 column floats per image against 78,400). Both are
     * checked here against the direct loops, so neither can go untested whatever the random geometries draw.
     */
    @Test
    void stride1InputGradientTakesTheCheaperPathAndBothAreRight() {
        var lenet2 = new dev.lanes.kernels.Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10);
        var resnet = new dev.lanes.kernels.Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32);
        var strided = new dev.lanes.kernels.Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16);
        assertThat(dev.lanes.kernels.Conv2dDriver.flippedInputGradientGeometry(lenet2, 16, 6)).isNull();
        assertThat(dev.lanes.kernels.Conv2dDriver.flippedInputGradientGeometry(resnet, 16, 16)).isNotNull();
        assertThat(dev.lanes.kernels.Conv2dDriver.flippedInputGradientGeometry(resnet, 32, 16)).isNull(); // widening: col2im
        assertThat(dev.lanes.kernels.Conv2dDriver.flippedInputGradientGeometry(strided, 32, 16)).isNull();
        Conv[] both = {new Conv(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1), new Conv(2, 16, 9, 11, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1),
            new Conv(2, 8, 7, 7, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2)};
        for (Conv g : both) {
            try (Tensor x = Tensor.randn(g.n(), g.c(), g.h(), g.w()).requiresGrad(true);
                 Tensor wt = Tensor.randn(g.o(), g.c() / g.groups(), g.kh(), g.kw())) {
                Tensor y = Tensor.conv2d(x, wt, null, g.stride(), g.padding(), g.dilation(), g.groups());
                try (Tensor gout = Tensor.randn(g.n(), g.o(), g.oh(), g.ow())) {
                    y.backward(gout);
                    try (Tensor expected = Tensor.of(naiveInputGrad(gout.toFloatArray(), wt.toFloatArray(), g), g.n(), g.c(), g.h(), g.w())) {
                        Assertions2.assertClose(x.grad(), expected, 1e-4, 1e-4, "input grad " + g);
                    }
                }
                y.close();
            }
        }
    }

    /**
     * conv_transpose2d is the convolution's input gradient: on random geometries (strides, wide padding, groups,
     * dilation; the output padding that gives back the convolution's input size) its output is the direct loops' input
     * gradient, its input gradient the direct convolution of the upstream gradient, its weight gradient the
     * convolution's weight gradient with the upstream gradient as the image.
     */
    @Test
    void convTranspose2dMatchesTheConvolutionsDirectLoops() {
        for (int iter = 0; iter < 60; iter++) {
            Conv g = Conv.random(rnd, iter % 3 != 2, iter % 2 == 1);
            int[] outputPadding = {(g.h() + 2 * g.ph() - g.dh() * (g.kh() - 1) - 1) % g.sh(), (g.w() + 2 * g.pw() - g.dw() * (g.kw() - 1) - 1) % g.sw()};
            try (Tensor z = Tensor.randn(g.n(), g.o(), g.oh(), g.ow()).requiresGrad(true);
                 Tensor wt = Tensor.randn(g.o(), g.c() / g.groups(), g.kh(), g.kw()).requiresGrad(true)) {
                Tensor y = Tensor.convTranspose2d(z, wt, null, g.stride(), g.padding(), outputPadding, g.groups(), g.dilation());
                assertThat(y.shape()).containsExactly(g.n(), g.c(), g.h(), g.w());
                try (Tensor expected = Tensor.of(naiveInputGrad(z.toFloatArray(), wt.toFloatArray(), g), g.n(), g.c(), g.h(), g.w())) {
                    Assertions2.assertClose(y, expected, 1e-4, 1e-4, "conv_transpose iter " + iter + " " + g);
                }
                try (Tensor gy = Tensor.randn(g.n(), g.c(), g.h(), g.w())) {
                    y.backward(gy);
                    float[] up = gy.toFloatArray();
                    try (Tensor expected = Tensor.of(naiveConv(up, wt.toFloatArray(), null, g), g.n(), g.o(), g.oh(), g.ow())) {
                        Assertions2.assertClose(z.grad(), expected, 1e-4, 1e-4, "conv_transpose input grad iter " + iter + " " + g);
                    }
                    try (Tensor expected = Tensor.of(naiveWeightGrad(up, z.toFloatArray(), g), g.o(), g.c() / g.groups(), g.kh(), g.kw())) {
                        Assertions2.assertClose(wt.grad(), expected, 1e-4, 1e-4, "conv_transpose weight grad iter " + iter + " " + g);
                    }
                }
                y.close();
            }
        }
    }

    /**
     * A batch of 512 images (their columns 75 MB, over ConvOps.KEEP_COLUMNS_MAX_BYTES): the weight gradient unfolds
     * each image again, in chunks of 8 images summed in order. Against the direct loops; two threads and one give the
     * same bits.
     */
    @Test
    void weightGradientUnfoldsAgainWhenColumnsAreNotKept() {
        int n = 512;
        int h = 64;
        int w = 64;
        assertThat((long) n * 9 * h * w * 4).isGreaterThan(ConvOps.KEEP_COLUMNS_MAX_BYTES);
        int[] one = {1, 1};
        try (Tensor x = Tensor.randn(n, 1, h, w); Tensor gout = Tensor.randn(n, 2, h, w)) {
            float[] want = naiveWeightGrad(x.toFloatArray(), gout.toFloatArray(), new Conv(n, 1, h, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1));
            float[][] got = new float[2][];
            int threads = Lanes.numThreads();
            try {
                for (int t = 0; t < 2; t++) {
                    Lanes.setNumThreads(t + 1);
                    try (Tensor wt = Tensor.randn(2, 1, 3, 3).requiresGrad(true)) {
                        Tensor y = Tensor.conv2d(x, wt, null, one, one, one, 1);
                        y.backward(gout);
                        got[t] = wt.grad().toFloatArray();
                        try (Tensor expected = Tensor.of(want, 2, 1, 3, 3)) {
                            Assertions2.assertClose(wt.grad(), expected, 1e-3, 1e-4, "weight grad, " + (t + 1) + " thread(s)");
                        }
                        y.close();
                    }
                }
            } finally {
                Lanes.setNumThreads(threads);
            }
            assertThat(got[1]).as("2 threads vs 1").containsExactly(got[0]);
        }
    }

    /**
     * A layer whose columns (32 x 3 x 3 rows over 64 x 64 pixels: 1.2M floats) are over Conv2dDriver.HEAP_MAX_FLOATS but
     * within TAPS_MAX_FLOATS is staged, its product reading the padded image in place at every width (rows of 64 are
     * whole slivers: the column-shifted planes would not multiply fewer columns), the shape of ResNet's 56 x 56 first
     * stage at ImageNet size, smaller. 18.9M multiply-adds an image, so at batch 1 on two threads each image's forward
     * product, its input gradient's (a same-padded 16 -> 32 forward) and its weight gradient's rows are split across both
     * (Conv2dDriver.splitProducts counts both forwards' splits and the two gradients'; on one thread none). Forward, input and weight gradients match the
     * direct loops, and one and two threads give the same bits; the plan (serial) matches the loops too. Wider columns
     * (16 x 9 over 128 x 128) and a strided layer of the same size stay on the segment path.
     */
    @Test
    void tapsStagedLayersSplitAnImageAcrossThreads() {
        int c = 32;
        int h = 64;
        int w = 64;
        int o = 16;
        int[] one = {1, 1};
        dev.lanes.kernels.Im2col.Geometry geo = new dev.lanes.kernels.Im2col.Geometry(c, h, w, 3, 3, 1, 1, 1, 1, 1, 1, h, w);
        assertThat((long) geo.rows() * geo.cols()).isGreaterThan(dev.lanes.kernels.Conv2dDriver.HEAP_MAX_FLOATS)
                .isLessThanOrEqualTo(dev.lanes.kernels.Conv2dDriver.TAPS_MAX_FLOATS);
        assertThat(dev.lanes.kernels.Conv2dDriver.staged(geo)).isTrue();
        assertThat(dev.lanes.kernels.Im2col.unfoldsInPlace(geo)).isTrue();
        assertThat(dev.lanes.kernels.Im2col.shiftsForward(geo)).isFalse();
        assertThat(dev.lanes.kernels.Conv2dDriver.staged(new dev.lanes.kernels.Im2col.Geometry(16, 128, 128, 3, 3, 1, 1, 1, 1, 1, 1, 128, 128)))
                .as("2.4M column floats").isFalse();
        assertThat(dev.lanes.kernels.Conv2dDriver.staged(new dev.lanes.kernels.Im2col.Geometry(c, 2 * h, 2 * w, 3, 3, 2, 2, 1, 1, 1, 1, h, w)))
                .as("stride 2: its staging is not read in place").isFalse();
        Conv g = new Conv(1, c, h, w, o, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        int threads = Lanes.numThreads();
        try (Tensor x = Tensor.randn(1, c, h, w); Tensor wt = Tensor.randn(o, c, 3, 3); Tensor b = Tensor.randn(o);
             Tensor gout = Tensor.randn(1, o, h, w)) {
            float[] xs = x.toFloatArray();
            float[] ws = wt.toFloatArray();
            float[] go = gout.toFloatArray();
            float[][] forward = new float[2][];
            float[][] dx = new float[2][];
            float[][] dw = new float[2][];
            long[] splits = new long[2];
            try (Tensor expected = Tensor.of(naiveConv(xs, ws, b.toFloatArray(), g), 1, o, h, w);
                 Tensor expectedDx = Tensor.of(naiveInputGrad(go, ws, g), 1, c, h, w);
                 Tensor expectedDw = Tensor.of(naiveWeightGrad(xs, go, g), o, c, 3, 3)) {
                for (int t = 0; t < 2; t++) {
                    Lanes.setNumThreads(t + 1);
                    long before = dev.lanes.kernels.Conv2dDriver.splitProducts();
                    try (var none = dev.lanes.autograd.Autograd.noGrad(); Tensor y = Tensor.conv2d(x, wt, b, one, one, one, 1)) {
                        Assertions2.assertClose(y, expected, 1e-4, 1e-4, "forward, " + (t + 1) + " thread(s)");
                        forward[t] = y.toFloatArray();
                    }
                    try (Tensor xg = Tensor.of(xs, 1, c, h, w).requiresGrad(true); Tensor wg = Tensor.of(ws, o, c, 3, 3).requiresGrad(true)) {
                        Tensor y = Tensor.conv2d(xg, wg, null, one, one, one, 1);
                        y.backward(gout);
                        Assertions2.assertClose(xg.grad(), expectedDx, 1e-4, 1e-4, "input grad, " + (t + 1) + " thread(s)");
                        Assertions2.assertClose(wg.grad(), expectedDw, 1e-3, 1e-4, "weight grad, " + (t + 1) + " thread(s)");
                        dx[t] = xg.grad().toFloatArray();
                        dw[t] = wg.grad().toFloatArray();
                        y.close();
                    }
                    splits[t] = dev.lanes.kernels.Conv2dDriver.splitProducts() - before;
                }
                try (InferencePlan plan = InferencePlan.trace(in -> Tensor.conv2d(in, wt, b, one, one, one, 1), 1, c, h, w);
                     Tensor got = Tensor.zeros(1, o, h, w)) {
                    float[] out = new float[plan.outputSize()];
                    plan.run(xs, out);
                    got.copyFrom(out, 0);
                    Assertions2.assertClose(got, expected, 1e-4, 1e-4, "plan");
                }
            } finally {
                Lanes.setNumThreads(threads);
            }
            assertThat(splits).as("products split: one thread, two (two forwards, an input and a weight gradient)").containsExactly(0, 4);
            assertThat(forward[1]).as("forward, 2 threads vs 1").containsExactly(forward[0]);
            assertThat(dx[1]).as("input grad, 2 threads vs 1").containsExactly(dx[0]);
            assertThat(dw[1]).as("weight grad, 2 threads vs 1").containsExactly(dw[0]);
        }
        // 320 channels on 24 x 24 (2,880 x 576 column floats, staged): at 256 bits rows of 24 waste a third of 32-wide
        // blocks, so that width runs on the column-shifted planes although they pass SHIFTS_MAX_FLOATS (600k floats) rather
        // than unfold into a packed panel; 512 and 128 bits read the padded image. Every width against the direct loops
        Conv big = new Conv(1, 320, 24, 24, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        assertThat(dev.lanes.kernels.Conv2dDriver.staged(new dev.lanes.kernels.Im2col.Geometry(320, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24, 24)))
                .isTrue();
        try (Tensor x = Tensor.randn(1, 320, 24, 24); Tensor wt = Tensor.randn(8, 320, 3, 3); Tensor b = Tensor.randn(8);
             var none = dev.lanes.autograd.Autograd.noGrad(); Tensor y = Tensor.conv2d(x, wt, b, one, one, one, 1);
             Tensor expected = Tensor.of(naiveConv(x.toFloatArray(), wt.toFloatArray(), b.toFloatArray(), big), 1, 8, 24, 24)) {
            Assertions2.assertClose(y, expected, 1e-4, 1e-4, "320 channels on 24 x 24");
        }
    }

    /**
     * An image too large to stage on the heap (4 x 520 x 520 floats, columns 9.7M floats) takes Conv2dDriver's segment
     * paths: eager without a graph (this thread's column segment), eager with the weight requiring grad (columns kept
     * for the weight gradient) and the plan (its arena scratch). All agree with the direct loops; the weight gradient
     * from the kept columns too.
     */
    @Test
    void largeImagesTakeTheSegmentPaths() {
        int c = 4;
        int h = 520;
        int w = 520;
        int o = 2;
        int[] one = {1, 1};
        try (Tensor x = Tensor.randn(1, c, h, w); Tensor wt = Tensor.randn(o, c, 3, 3).requiresGrad(true); Tensor b = Tensor.randn(o)) {
            float[] xs = x.toFloatArray();
            float[] want = naiveConv(xs, wt.toFloatArray(), b.toFloatArray(), new Conv(1, c, h, w, o, 3, 3, 1, 1, 1, 1, 1, 1, 1));
            try (Tensor expected = Tensor.of(want, 1, o, h, w)) {
                try (var g = dev.lanes.autograd.Autograd.noGrad(); Tensor y = Tensor.conv2d(x, wt, b, one, one, one, 1)) {
                    Assertions2.assertClose(y, expected, 1e-4, 1e-4, "eager, no graph");
                }
                Tensor y = Tensor.conv2d(x, wt, b, one, one, one, 1);
                Assertions2.assertClose(y, expected, 1e-4, 1e-4, "eager, columns kept");
                y.sum().backward();
                float[] dw = wt.grad().toFloatArray();
                for (int ic = 0; ic < c; ic++) {
                    for (int i = 0; i < 3; i++) {
                        for (int j = 0; j < 3; j++) {
                            double sum = 0; // d sum(y) / d w[oc, ic, i, j]: the same for every oc
                            for (int yy = 0; yy < h; yy++) {
                                int hh = yy - 1 + i;
                                for (int xx = 0; xx < w; xx++) {
                                    int ww = xx - 1 + j;
                                    if (hh >= 0 && hh < h && ww >= 0 && ww < w) {
                                        sum += xs[(ic * h + hh) * w + ww];
                                    }
                                }
                            }
                            for (int oc = 0; oc < o; oc++) {
                                assertThat((double) dw[((oc * c + ic) * 3 + i) * 3 + j]).as("dW[%d, %d, %d, %d]", oc, ic, i, j)
                                        .isCloseTo(sum, org.assertj.core.data.Offset.offset(1e-3 * Math.max(1, Math.abs(sum))));
                            }
                        }
                    }
                }
                try (InferencePlan plan = InferencePlan.trace(in -> Tensor.conv2d(in, wt, b, one, one, one, 1), 1, c, h, w);
                     Tensor got = Tensor.zeros(1, o, h, w)) {
                    float[] out = new float[plan.outputSize()];
                    plan.run(xs, out);
                    got.copyFrom(out, 0);
                    Assertions2.assertClose(got, expected, 1e-4, 1e-4, "plan");
                }
            }
        }
    }

    @Test
    void conv2dGradcheck() {
        Gradcheck.check(t -> Tensor.conv2d(t[0], t[1], t[2], new int[] {2, 1}, new int[] {1, 0}, new int[] {1, 2}, 1),
                Tensor.randn(2, 2, 5, 6).requiresGrad(true), Tensor.randn(3, 2, 2, 2).requiresGrad(true), Tensor.randn(3).requiresGrad(true));
        Gradcheck.check(t -> Tensor.conv2d(t[0], t[1], null, null, "same", null, 2),
                Tensor.randn(1, 4, 4, 4).requiresGrad(true), Tensor.randn(2, 2, 3, 3).requiresGrad(true));
        Gradcheck.check(t -> Tensor.conv2d(t[0], t[1], t[2], new int[] {2, 1}, new int[] {0, 2, 1, 0}, null, 1), // asymmetric padding
                Tensor.randn(1, 2, 5, 4).requiresGrad(true), Tensor.randn(2, 2, 3, 2).requiresGrad(true), Tensor.randn(2).requiresGrad(true));
        Gradcheck.check(t -> Tensor.convTranspose2d(t[0], t[1], t[2], new int[] {2, 3}, new int[] {1, 0, 0, 2}, new int[] {1, 2}, 2, new int[] {1, 2}),
                Tensor.randn(2, 4, 3, 3).requiresGrad(true), Tensor.randn(4, 1, 3, 2).requiresGrad(true), Tensor.randn(2).requiresGrad(true));
        Gradcheck.check(t -> Tensor.conv2d(t[0], t[1], t[2]), // 1x1 direct path
                Tensor.randn(2, 3, 3, 2).requiresGrad(true), Tensor.randn(4, 3, 1, 1).requiresGrad(true), Tensor.randn(4).requiresGrad(true));
    }

    @Test
    void poolingAndSoftmaxGradcheck() {
        Gradcheck.check(t -> Tensor.maxPool2d(t[0], new int[] {3}, new int[] {2}, new int[] {1}, null, true), Tensor.randn(1, 2, 6, 5).requiresGrad(true));
        Gradcheck.check(t -> Tensor.avgPool2d(t[0], new int[] {2, 3}, new int[] {1, 2}, new int[] {1, 1}, true, false),
                Tensor.randn(1, 2, 5, 6).requiresGrad(true));
        Gradcheck.check(t -> Tensor.adaptiveAvgPool2d(t[0], 2, 3), Tensor.randn(2, 1, 5, 7).requiresGrad(true));
        Gradcheck.check(t -> t[0].softmax(1), Tensor.randn(3, 4, 5).requiresGrad(true));
        Gradcheck.check(t -> t[0].logSoftmax(0), Tensor.randn(4, 5).requiresGrad(true));
        Gradcheck.check(t -> t[0].t().logSoftmax(1), Tensor.randn(6, 3).requiresGrad(true)); // non-contiguous input
    }

    @Test
    void maxPoolMatchesDirectLoops() {
        for (int iter = 0; iter < 60; iter++) {
            int k = 1 + rnd.nextInt(3);
            int s = 1 + rnd.nextInt(3);
            int d = 1 + rnd.nextInt(2);
            int p = rnd.nextInt(k / 2 + 1); // PyTorch's bound, dilated or not
            boolean ceil = rnd.nextBoolean();
            int h = (k - 1) * d + 1 + rnd.nextInt(9);
            int w = (k - 1) * d + 1 + rnd.nextInt(9);
            try (Tensor x = Tensor.randn(2, 3, h, w)) {
                Tensor y = Tensor.maxPool2d(x, new int[] {k}, new int[] {s}, new int[] {p}, new int[] {d}, ceil);
                int oh = y.size(2);
                int ow = y.size(3);
                float[] xv = x.toFloatArray();
                float[] yv = y.toFloatArray();
                for (int pl = 0; pl < 6; pl++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            float best = Float.NEGATIVE_INFINITY;
                            for (int a = 0; a < k; a++) {
                                for (int b = 0; b < k; b++) {
                                    int hh = i * s - p + a * d;
                                    int ww = j * s - p + b * d;
                                    if (hh >= 0 && hh < h && ww >= 0 && ww < w) {
                                        best = Math.max(best, xv[(pl * h + hh) * w + ww]);
                                    }
                                }
                            }
                            assertThat(yv[(pl * oh + i) * ow + j]).as("maxpool iter %d", iter).isEqualTo(best);
                        }
                    }
                }
                y.close();
            }
        }
    }

    /** The 2x2 / stride 2 vector path: every width around the lane count, ties (many zeros) and NaNs, values and argmax. */
    @Test
    void twoByTwoPoolHandlesTiesNaNAndEveryWidth() {
        for (int w = 2; w <= 70; w += (w < 40 ? 1 : 7)) {
            for (int h : new int[] {2, 3, 6}) {
                int planes = 3;
                float[] v = new float[planes * h * w];
                for (int i = 0; i < v.length; i++) {
                    int r = rnd.nextInt(10);
                    v[i] = r < 6 ? 0f : r < 9 ? (float) rnd.nextInt(3) : Float.NaN;
                }
                Tensor x = Tensor.of(v, 1, planes, h, w).requiresGrad(true);
                Tensor y = Tensor.maxPool2d(x, 2);
                int oh = h / 2;
                int ow = w / 2;
                float[] yv = y.toFloatArray();
                y.sum().backward();
                float[] g = x.grad().toFloatArray();
                float[] wantGrad = new float[v.length];
                for (int pl = 0; pl < planes; pl++) {
                    for (int i = 0; i < oh; i++) {
                        for (int j = 0; j < ow; j++) {
                            float best = 0;
                            int at = -1;
                            for (int a = 0; a < 2; a++) {
                                for (int b = 0; b < 2; b++) { // PyTorch's scan: val > max || isnan(val)
                                    int k = (pl * h + 2 * i + a) * w + 2 * j + b;
                                    if (at < 0 || v[k] > best || Float.isNaN(v[k])) {
                                        best = v[k];
                                        at = k;
                                    }
                                }
                            }
                            assertThat(Float.floatToIntBits(yv[(pl * oh + i) * ow + j])).as("w=%d h=%d value", w, h).isEqualTo(Float.floatToIntBits(best));
                            wantGrad[at] += 1;
                        }
                    }
                }
                assertThat(g).as("w=%d h=%d argmax", w, h).containsExactly(wantGrad);
            }
        }
    }

    /**
     * The inference form of the 2x2 / stride 2 pool (no argmax kept), where short rows are packed several to a vector
     * (Pooling.max2x2RowGroups at 16 lanes): every row length around the group sizes, plane counts that leave partial
     * groups, signed zeros, NaNs with distinct payloads and odd sizes (a dropped row or column), bit for bit against
     * PyTorch's scan rule; once on one thread (the input ends its segment: the last rows take the scalar rule) and once
     * split across threads (each part's last group must not write into the next part's outputs).
     */
    @Test
    void twoByTwoInferencePoolMatchesTheScanRuleBitForBit() {
        int saved = Lanes.numThreads();
        try {
            for (int threads : new int[] {1, 2}) {
                Lanes.setNumThreads(threads);
                for (int w = 2; w <= 37; w++) {
                    for (int h : new int[] {2, 4, 5, 10}) {
                        // 2-thread runs split planes only past 2^15 window cells: enough planes for two parts
                        int planes = threads == 1 ? 1 + rnd.nextInt(7) : (1 << 15) / (h / 2 * (w / 2) * 4) + 1 + rnd.nextInt(5);
                        float[] v = new float[planes * h * w];
                        for (int i = 0; i < v.length; i++) {
                            int r = rnd.nextInt(12);
                            v[i] = r < 4 ? 0f : r < 7 ? -0f : r < 10 ? (float) rnd.nextInt(3) - 1 : Float.intBitsToFloat(0x7fc00000 | rnd.nextInt(1 << 22));
                        }
                        try (Tensor x = Tensor.of(v, 1, planes, h, w); Tensor y = Tensor.maxPool2d(x, 2)) {
                            int oh = h / 2;
                            int ow = w / 2;
                            float[] yv = y.toFloatArray();
                            for (int pl = 0; pl < planes; pl++) {
                                for (int i = 0; i < oh; i++) {
                                    for (int j = 0; j < ow; j++) {
                                        float best = 0;
                                        boolean first = true;
                                        for (int a = 0; a < 2; a++) {
                                            for (int b = 0; b < 2; b++) { // PyTorch's scan: val > max || isnan(val)
                                                float c = v[(pl * h + 2 * i + a) * w + 2 * j + b];
                                                if (first || c > best || Float.isNaN(c)) {
                                                    best = c;
                                                    first = false;
                                                }
                                            }
                                        }
                                        int at = (pl * oh + i) * ow + j;
                                        if (Float.floatToRawIntBits(yv[at]) != Float.floatToRawIntBits(best)) {
                                            assertThat(Integer.toHexString(Float.floatToRawIntBits(yv[at])))
                                                    .as("threads=%d w=%d h=%d planes=%d plane %d row %d col %d", threads, w, h, planes, pl, i, j)
                                                    .isEqualTo(Integer.toHexString(Float.floatToRawIntBits(best)));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int saved = Lanes.numThreads();
        try {
            Lanes.manualSeed(11);
            Tensor x = Tensor.randn(20, 3, 12, 12).requiresGrad(true); // 3 weight-gradient chunks
            Tensor w = Tensor.randn(16, 3, 5, 5).requiresGrad(true);
            float[][] outs = new float[2][];
            float[][] gw = new float[2][];
            for (int threads = 1; threads <= 2; threads++) {
                Lanes.setNumThreads(threads);
                w.setGrad(null);
                Tensor y = Tensor.maxPool2d(Tensor.conv2d(x, w, null), 2).logSoftmax(1);
                outs[threads - 1] = y.toFloatArray();
                y.sum().backward();
                gw[threads - 1] = w.grad().toFloatArray();
            }
            assertThat(outs[1]).containsExactly(outs[0]);
            assertThat(gw[1]).containsExactly(gw[0]);
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    @Test
    void badInputsAreNamed() {
        Tensor w = Tensor.randn(6, 1, 5, 5);
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 32, 32), w, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected a 4-d input").hasMessageContaining("[1, 32, 32]").hasMessageContaining("unsqueeze(0)");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 3, 32, 32), w, null))
                .hasMessageContaining("Given groups=1, weight of size [6, 1, 5, 5], expected input[1, 3, 32, 32] to have 1 channels, but got 3 channels instead");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 1, 3, 3), w, null)).hasMessageContaining("Kernel size can't be greater than actual input size");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 1, 8, 8), w, Tensor.randn(5))).hasMessageContaining("expected bias of shape [6]");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 1, 8, 8), w, null, new int[] {2}, "same", null, 1))
                .hasMessageContaining("padding='same' is not supported for strided convolutions");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 1, 8, 8), w, null, null, "full", null, 1)).hasMessageContaining("Invalid padding string 'full'");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.randn(1, 2, 8, 8), Tensor.randn(3, 1, 3, 3), null, null, new int[] {0}, null, 2))
                .hasMessageContaining("out_channels (3) must be divisible by groups (2)");
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.randn(1, 1, 4, 4), new int[] {2}, null, new int[] {2}, null, false))
                .hasMessageContaining("pad should be at most half of kernel size");
        // dilation does not widen it (PyTorch's pool2d_shape_check: pad <= kernel_size / 2): k 3, pad 2, dilation 2 put a
        // window wholly in the padding (-inf, index -1)
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.randn(1, 1, 4, 4), new int[] {3}, new int[] {1}, new int[] {2}, new int[] {2}, false))
                .hasMessageContaining("pad should be at most half of kernel size").hasMessageContaining("pad=2, kernel_size=3 and dilation=2");
        // output_padding must be below the stride or the dilation: rows of bias alone otherwise
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 1, 2, 2), Tensor.randn(1, 1, 3, 3), null, new int[] {1}, new int[] {0},
                new int[] {1}, 1, new int[] {1})).hasMessageContaining("output padding must be smaller than either stride or dilation");
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.randn(4, 4), 2)).hasMessageContaining("Expected 3D or 4D");
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.randn(1, 1, 1, 1), 2)).hasMessageContaining("Output size is too small");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 2, 4, 4), Tensor.randn(3, 1, 3, 3), null))
                .hasMessageContaining("conv_transpose2d").hasMessageContaining("[3, 1, 3, 3]").hasMessageContaining("3 channels");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 2, 4, 4), Tensor.randn(2, 1, 3, 3), Tensor.randn(2)))
                .hasMessageContaining("expected bias of shape [1]");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 2, 2, 2), Tensor.randn(2, 1, 3, 3), null, null, new int[] {2}, null, 1, null))
                .hasMessageContaining("gives an output of 0 x 0");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 2, 4, 4), Tensor.randn(2, 1, 3, 3), null, null, new int[] {1, -1, 0, 0}, null,
                1, null)).hasMessageContaining("negative padding");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.randn(1, 2, 4, 4), Tensor.randn(2, 1, 3, 3), null, new int[] {1 << 20}, null, null,
                1, null)).hasMessageContaining("is over");
        assertThatThrownBy(() -> Tensor.of(new long[] {1, 2}).softmax(0)).hasMessageContaining("softmax: expected a float32 tensor");
        assertThatThrownBy(() -> Tensor.randn(2, 3).logSoftmax(2)).hasMessageContaining("Dimension out of range");
    }
}
