package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Winograd's F(4 x 4, 3 x 3) against a direct convolution in double: edge tiles (sizes not a multiple of 4), channel
 * counts that are not whole vectors, asymmetric and zero padding, several bands, each epilogue; the same bits at
 * every vector width (child JVMs); plans use it where it applies and nowhere else.
 */
class WinogradTest {
    /** {c, k, h, w, pT, pL, pB, pR}. */
    private static final int[][] SHAPES = {
        {16, 16, 8, 8, 1, 1, 1, 1},
        {19, 21, 13, 11, 1, 1, 1, 1}, // tails: channels past whole vectors, tiles cut at the right and bottom
        {16, 32, 9, 10, 0, 0, 0, 0},
        {32, 16, 6, 7, 1, 0, 2, 1}, // asymmetric padding (ONNX pads)
        {24, 40, 32, 32, 1, 1, 1, 1},
        {64, 64, 60, 36, 1, 1, 1, 1}, // several bands of tile rows
        {48, 40, 61, 37, 1, 1, 1, 1}, // several bands, the last one part of a tile row, tiles cut at the right
        {16, 16, 7, 7, 3, 3, 3, 3}, // padding wider than the kernel: rows and columns of zeros only
        {16, 16, 32, 32, 1, 1, 1, 1}, // staged straight from the input in 16 x 16 blocks (16 channels, rows of whole 16s)
        {16, 40, 9, 8, 1, 1, 1, 1}, // rows of 8 two a block, an odd last row; output channels past whole 16s
        {64, 40, 61, 8, 1, 1, 1, 1}, // rows of 8 over several bands, odd row counts in a band and in the last one
        {16, 16, 8, 8, 0, 0, 0, 0}, // rows of 8 read straight with no left padding
        {16, 20, 16, 16, 1, 1, 1, 1}, // an odd number of output vectors at 4 and 8 lanes (12 x 1 blocks), written straight at 4
        {32, 16, 16, 16, 2, 2, 2, 2}, // whole 16s read straight, two blocks of channels, padding of 2
    };

    private static Im2col.Geometry geometry(int[] s) {
        int oH = s[2] + s[4] + s[6] - 2;
        int oW = s[3] + s[5] + s[7] - 2;
        return new Im2col.Geometry(s[0], s[2], s[3], 3, 3, 1, 1, s[4], s[5], 1, 1, oH, oW);
    }

    private static MemorySegment randn(Arena arena, long n, Random r, float scale) {
        MemorySegment m = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian() * scale);
        }
        return m;
    }

    /** Runs Winograd on one image of shape s with the given activation; returns the output. */
    private static float[] winograd(int[] s, MemorySegment x, MemorySegment w, MemorySegment b, UnaryOp act, Arena arena) {
        Im2col.Geometry g = geometry(s);
        assertThat(Winograd.applies(g, 1, s[1])).as("applies to %s", java.util.Arrays.toString(s)).isTrue();
        MemorySegment out = arena.allocate((long) s[1] * g.oH() * g.oW() * 4);
        Winograd.Weights u = Winograd.transformWeights(w, 0, s[1], s[0]);
        Winograd.forward(g, u, x, 0, 1, b, 0, act, out, 0, Winograd.threadBuffers(g, s[1]));
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    /**
     * Every output within {@code 6e-6} of a double-precision direct convolution, relative to the sum of |w x| over its
     * window (plus |bias|) or, if larger, a sixteenth of its tile's (max |w| |x| over the 6 x 6 input block: the
     * rounding of a tile spreads over its 16 outputs, so an output whose window is all padding still carries some).
     * The transforms scale values by up to 8 before they are summed. Measured on these shapes: at most 3.0e-6 (the
     * 32 x 32 image with 24 channels), 0.4e-6 to 2.4e-6 on the others. Run after a NaN layer, so stale buffers show.
     */
    @Test
    void matchesADirectConvolutionInDoubleForEveryShapeAndEpilogue() {
        Random r = new Random(7);
        poisonThisThreadsBuffers();
        for (int[] s : SHAPES) {
            try (Arena arena = Arena.ofConfined()) {
                Im2col.Geometry g = geometry(s);
                int c = s[0];
                int k = s[1];
                int h = s[2];
                int wd = s[3];
                float[] xv = new float[c * h * wd];
                float[] wv = new float[k * c * 9];
                MemorySegment x = randn(arena, xv.length, r, 1f);
                MemorySegment w = randn(arena, wv.length, r, 0.2f);
                MemorySegment b = randn(arena, k, r, 1f);
                MemorySegment.copy(x, ValueLayout.JAVA_FLOAT, 0, xv, 0, xv.length);
                MemorySegment.copy(w, ValueLayout.JAVA_FLOAT, 0, wv, 0, wv.length);
                // the exact sums (no bias), the sums of |w x| over each window, and each output's scale (see above)
                int outs = k * g.oH() * g.oW();
                double[] sum = new double[outs];
                double[] scale = new double[outs];
                for (int o = 0; o < k; o++) {
                    double[] wMax = new double[c];
                    for (int ci = 0; ci < c; ci++) {
                        for (int i = 0; i < 9; i++) {
                            wMax[ci] = Math.max(wMax[ci], Math.abs(wv[(o * c + ci) * 9 + i]));
                        }
                    }
                    for (int oy = 0; oy < g.oH(); oy++) {
                        for (int ox = 0; ox < g.oW(); ox++) {
                            double total = 0;
                            double abs = 0;
                            double block = 0;
                            for (int ci = 0; ci < c; ci++) {
                                for (int i = 0; i < 6; i++) {
                                    int y = oy / 4 * 4 - g.pT() + i; // the tile's 6 x 6 input block
                                    for (int j = 0; j < 6; j++) {
                                        int xx = ox / 4 * 4 - g.pL() + j;
                                        if (y >= 0 && y < h && xx >= 0 && xx < wd) {
                                            block += wMax[ci] * Math.abs(xv[(ci * h + y) * wd + xx]);
                                        }
                                    }
                                }
                                for (int i = 0; i < 3; i++) {
                                    int y = oy - g.pT() + i;
                                    for (int j = 0; j < 3; j++) {
                                        int xx = ox - g.pL() + j;
                                        if (y >= 0 && y < h && xx >= 0 && xx < wd) {
                                            double p = (double) wv[(o * c + ci) * 9 + i * 3 + j] * xv[(ci * h + y) * wd + xx];
                                            total += p;
                                            abs += Math.abs(p);
                                        }
                                    }
                                }
                            }
                            int at = (o * g.oH() + oy) * g.oW() + ox;
                            sum[at] = total;
                            scale[at] = Math.max(abs, block / 16);
                        }
                    }
                }
                for (UnaryOp act : new UnaryOp[] {UnaryOp.IDENTITY, UnaryOp.RELU, UnaryOp.TANH}) {
                    MemorySegment bias = act == UnaryOp.IDENTITY ? null : b;
                    float[] got = winograd(s, x, w, bias, act, arena);
                    double worst = 0;
                    for (int at = 0; at < outs; at++) {
                        int o = at / (g.oH() * g.oW());
                        double bo = bias == null ? 0 : bias.getAtIndex(ValueLayout.JAVA_FLOAT, o);
                        double pre = sum[at] + bo;
                        double want = act == UnaryOp.RELU ? Math.max(pre, 0) : act == UnaryOp.TANH ? Math.tanh(pre) : pre;
                        double err = Math.abs(got[at] - want) / Math.max(scale[at] + Math.abs(bo), 1e-30);
                        worst = Math.max(worst, err);
                        if (err > 6e-6) {
                            assertThat(err).as("%s %s: output %d = %s, direct %s (scale %s)", java.util.Arrays.toString(s), act, at, got[at], want,
                                    scale[at]).isLessThanOrEqualTo(6e-6);
                        }
                    }
                    assertThat(worst).as("some error at all (the test sees the outputs)").isGreaterThan(0);
                }
            }
        }
    }

    /**
     * A training plan's weights (Winograd.TRAINING): {@code transformWeightsInto} a reused Weights gives
     * {@code transformWeights}' values exactly, again after other weights went through it; {@code
     * transformFlippedWeightsInto(w)} gives exactly {@code transformWeights} of the input gradient's weights {@code w'[c,
     * k] = w[k, c]} turned by 180 degrees, written out here element by element. Channel counts off whole vectors and
     * chunks, more channels in than out and the reverse.
     */
    @Test
    void weightsTransformedIntoReusedRoomAndFlippedAreTheExpectedTransforms() {
        Random r = new Random(11);
        for (int[] kc : new int[][] {{16, 16}, {24, 40}, {40, 17}, {64, 32}}) {
            int k = kc[0];
            int c = kc[1];
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment w = randn(arena, (long) k * c * 9, r, 0.3f);
                MemorySegment other = randn(arena, (long) k * c * 9, r, 0.3f);
                Winograd.Weights reused = Winograd.weightsFor(k, c);
                Winograd.transformWeightsInto(other, 0, reused);
                Winograd.transformWeightsInto(w, 0, reused);
                assertThat(reused.u).as("k %d c %d: into reused room", k, c).isEqualTo(Winograd.transformWeights(w, 0, k, c).u);
                MemorySegment flipped = arena.allocate((long) k * c * 9 * 4, 64); // w' [c, k, 3, 3]
                for (int o = 0; o < k; o++) {
                    for (int ci = 0; ci < c; ci++) {
                        for (int i = 0; i < 3; i++) {
                            for (int j = 0; j < 3; j++) {
                                float v = w.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) (o * c + ci) * 3 + i) * 3 + j);
                                flipped.setAtIndex(ValueLayout.JAVA_FLOAT, ((long) (ci * k + o) * 3 + 2 - i) * 3 + 2 - j, v);
                            }
                        }
                    }
                }
                Winograd.Weights viaFlip = Winograd.weightsFor(c, k);
                Winograd.transformFlippedWeightsInto(other, 0, viaFlip);
                Winograd.transformFlippedWeightsInto(w, 0, viaFlip);
                assertThat(viaFlip.u).as("k %d c %d: flipped", k, c).isEqualTo(Winograd.transformWeights(flipped, 0, c, k).u);
            }
        }
        assertThatThrownBy(() -> Winograd.weightsFor(0, 16)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 out");
        assertThatThrownBy(() -> Winograd.weightsFor(1 << 16, 1 << 16)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The input gradient of a stride-1 3 x 3 convolution as a training plan computes it: Winograd over the output's
     * gradient with the flipped weights, padded by 2 - the forward's padding, against the gradient in double ({@code
     * dx[c, y, x] = sum over o, i, j of dy[o, y + pT - i, x + pL - j] w[o, c, i, j]}), within the forward's bound (6e-6
     * of the sum of |dy w| over each window, or a sixteenth of its tile's). Forward paddings 1, 0 and 2 (the gradient's
     * then 0) and asymmetric (ONNX pads), odd sizes.
     */
    @Test
    void theInputGradientByFlippedWeightsMatchesTheGradientInDouble() {
        Random r = new Random(12);
        // {k, c, h, w, the forward's pT, pL, pB, pR}
        for (int[] s : new int[][] {{16, 16, 12, 12, 1, 1, 1, 1}, {24, 17, 9, 11, 1, 1, 1, 1}, {16, 32, 10, 7, 0, 0, 0, 0}, {16, 16, 9, 10, 2, 2, 2, 2},
            {20, 16, 11, 9, 1, 0, 2, 1}}) {
            int k = s[0];
            int c = s[1];
            int h = s[2];
            int wd = s[3];
            int pT = s[4];
            int pL = s[5];
            int oH = h + pT + s[6] - 2;
            int oW = wd + pL + s[7] - 2;
            Im2col.Geometry gT = new Im2col.Geometry(k, oH, oW, 3, 3, 1, 1, 2 - pT, 2 - pL, 1, 1, h, wd);
            assertThat(Winograd.applies(gT, 1, c)).isTrue();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment w = randn(arena, (long) k * c * 9, r, 0.3f);
                MemorySegment dy = randn(arena, (long) k * oH * oW, r, 1f);
                Winograd.Weights u = Winograd.weightsFor(c, k);
                Winograd.transformFlippedWeightsInto(w, 0, u);
                MemorySegment dx = arena.allocate((long) c * h * wd * 4, 64);
                Winograd.forward(gT, u, dy, 0, 1, null, 0, UnaryOp.IDENTITY, dx, 0, Winograd.threadBuffers(gT, c));
                double worst = 0;
                for (int ci = 0; ci < c; ci++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < wd; x++) {
                            double total = 0;
                            double abs = 0;
                            double block = 0; // the tile's 6 x 6 block of dy, each channel's by its largest |w|
                            for (int o = 0; o < k; o++) {
                                double wMax = 0;
                                for (int t = 0; t < 9; t++) {
                                    wMax = Math.max(wMax, Math.abs(w.getAtIndex(ValueLayout.JAVA_FLOAT, (long) (o * c + ci) * 9 + t)));
                                }
                                for (int i = 0; i < 6; i++) {
                                    for (int j = 0; j < 6; j++) {
                                        int yy = y / 4 * 4 - (2 - pT) + i;
                                        int xx = x / 4 * 4 - (2 - pL) + j;
                                        if (yy >= 0 && yy < oH && xx >= 0 && xx < oW) {
                                            block += wMax * Math.abs(dy.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) o * oH + yy) * oW + xx));
                                        }
                                    }
                                }
                                for (int i = 0; i < 3; i++) {
                                    for (int j = 0; j < 3; j++) {
                                        int yy = y + pT - i;
                                        int xx = x + pL - j;
                                        if (yy >= 0 && yy < oH && xx >= 0 && xx < oW) {
                                            double v = (double) dy.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) o * oH + yy) * oW + xx)
                                                    * w.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) (o * c + ci) * 3 + i) * 3 + j);
                                            total += v;
                                            abs += Math.abs(v);
                                        }
                                    }
                                }
                            }
                            float got = dx.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) ci * h + y) * wd + x);
                            double err = Math.abs(got - total) / Math.max(Math.max(abs, block / 16), 1e-30);
                            worst = Math.max(worst, err);
                            assertThat(err).as("%s: dx[%d, %d, %d] = %s, in double %s", java.util.Arrays.toString(s), ci, y, x, got, total)
                                    .isLessThanOrEqualTo(6e-6);
                        }
                    }
                }
                assertThat(worst).as("some error at all (the test sees the outputs)").isGreaterThan(0);
            }
        }
    }

    /**
     * A band staged with the same layout as the last one skips zeroing its padding (Winograd.zeroPadding): the same
     * layer twice in a row, again after a layer of another layout left NaN all over this thread's buffers, and in
     * between layers of other shapes, gives the first call's bits every time. Shapes with padding on every side, with
     * channels past whole chunks (pad channels), several bands, and padding wider than the kernel; and pairs whose
     * bands differ only in the padding's rows or only in its columns (a layout key without either part fails here).
     */
    @Test
    void aLayoutStagedAgainKeepsItsPaddingZero() {
        Random r = new Random(41);
        // the first three stage bands alike but for the padding's columns (left, right) or rows (the band's top)
        int[][] shapes = {{16, 16, 8, 8, 1, 1, 1, 1}, {16, 16, 8, 8, 0, 1, 2, 1}, {16, 16, 8, 8, 1, 0, 1, 2}, {19, 21, 13, 11, 1, 1, 1, 1},
            {48, 40, 61, 37, 1, 1, 1, 1}, {16, 16, 7, 7, 3, 3, 3, 3}, {32, 16, 6, 7, 1, 0, 2, 1}};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] xs = new MemorySegment[shapes.length];
            MemorySegment[] ws = new MemorySegment[shapes.length];
            float[][] first = new float[shapes.length][];
            for (int i = 0; i < shapes.length; i++) {
                int[] s = shapes[i];
                xs[i] = randn(arena, (long) s[0] * s[2] * s[3], r, 1f);
                ws[i] = randn(arena, (long) s[1] * s[0] * 9, r, 0.2f);
                first[i] = winograd(s, xs[i], ws[i], null, UnaryOp.IDENTITY, arena);
                assertThat(winograd(s, xs[i], ws[i], null, UnaryOp.IDENTITY, arena)).as("%s twice", java.util.Arrays.toString(s))
                        .isEqualTo(first[i]);
                poisonThisThreadsBuffers();
                assertThat(winograd(s, xs[i], ws[i], null, UnaryOp.IDENTITY, arena)).as("%s after NaN", java.util.Arrays.toString(s))
                        .isEqualTo(first[i]);
            }
            // interleaved, each call after another layout: the first after the second (they differ in the padding's rows
            // alone) and the third (its columns alone)
            int[] order = {0, 1, 0, 2, 0, 3, 4, 5, 6};
            for (int round = 0; round < 2; round++) {
                for (int i : order) {
                    assertThat(winograd(shapes[i], xs[i], ws[i], null, UnaryOp.IDENTITY, arena)).as("%s interleaved",
                            java.util.Arrays.toString(shapes[i])).isEqualTo(first[i]);
                }
            }
        }
    }

    /**
     * Runs a large layer on NaN input, so that every buffer this thread keeps holds NaN where a later, smaller layer
     * (another channel count, image size, band) could read a stale float: such a read would show as NaN in its output.
     */
    private static void poisonThisThreadsBuffers() {
        int[] s = {72, 72, 64, 40, 1, 1, 1, 1};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(72L * 64 * 40 * 4);
            for (long i = 0; i < 72L * 64 * 40; i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.NaN);
            }
            MemorySegment w = randn(arena, 72L * 72 * 9, new Random(1), 1f);
            float[] out = winograd(s, x, w, null, UnaryOp.IDENTITY, arena);
            assertThat(Float.isNaN(out[out.length - 1])).isTrue();
        }
    }

    /**
     * A batch through one call gives every image the bits it gets alone, whether images share a band (8 x 8, 16
     * channels: 10 a band, so 25 images take three; 9 x 8, 48 channels out: 3 a band, each with an odd last row of 8
     * pixels) or not (a 40 x 40 image of 16 channels has bands of 4 tile rows).
     */
    @Test
    void aBatchGivesEachImageTheBitsItGetsAlone() {
        for (int[] s : new int[][] {{16, 16, 8, 8, 1, 1, 1, 1}, {16, 48, 9, 8, 1, 1, 1, 1}, {16, 16, 40, 40, 1, 1, 1, 1}}) {
            int images = s[2] == 8 ? 25 : s[2] == 9 ? 7 : 3;
            Im2col.Geometry g = geometry(s);
            assertThat(Winograd.imagesPerBand(g, s[1]) > 1).as("%s shares bands", java.util.Arrays.toString(s)).isEqualTo(s[3] == 8);
            assertThat(Winograd.bandRows(g, s[1]) < (g.oH() + 3) / 4).as("%s has bands of tile rows", java.util.Arrays.toString(s)).isEqualTo(s[2] == 40);
            try (Arena arena = Arena.ofConfined()) {
                Random r = new Random(9);
                long inImage = (long) s[0] * s[2] * s[3];
                long outImage = (long) s[1] * g.oH() * g.oW();
                MemorySegment x = randn(arena, images * inImage, r, 1f);
                MemorySegment w = randn(arena, (long) s[1] * s[0] * 9, r, 0.2f);
                MemorySegment b = randn(arena, s[1], r, 1f);
                Winograd.Weights u = Winograd.transformWeights(w, 0, s[1], s[0]);
                MemorySegment all = arena.allocate(images * outImage * 4);
                Winograd.forward(g, u, x, 0, images, b, 0, UnaryOp.RELU, all, 0, new Winograd.Buffers().ensure(g, s[1]));
                MemorySegment one = arena.allocate(outImage * 4);
                for (int n = 0; n < images; n++) {
                    Winograd.forward(g, u, x, n * inImage, 1, b, 0, UnaryOp.RELU, one, 0, Winograd.threadBuffers(g, s[1]));
                    assertThat(all.asSlice(n * outImage * 4, outImage * 4).toArray(ValueLayout.JAVA_FLOAT))
                            .as("image %d of %s", n, java.util.Arrays.toString(s)).containsExactly(one.toArray(ValueLayout.JAVA_FLOAT));
                }
            }
        }
    }

    /**
     * A model whose outputs cancel to almost nothing (constant input, weights that sum to zero) drifts past the plan's
     * self-check through Winograd's rounding (~3e-6 of sum |w x| = 1.4e5 here); the plan falls back to the direct
     * convolution, whose bits are the eager op's, instead of refusing the model. The same model on random input keeps
     * Winograd.
     */
    @Test
    void aPlanWhoseSelfCheckFailsThroughWinogradFallsBackToTheDirectConvolution() {
        if (!Winograd.ENABLED) {
            return;
        }
        Lanes.manualSeed(21);
        Tensor w = zeroSum(Tensor.randn(16, 16, 3, 3));
        java.util.function.Function<Tensor, Tensor> net = in -> Tensor.conv2d(in, w, null, new int[] {1, 1}, new int[] {0, 0}, new int[] {1, 1}, 1);
        float[] flat = thousands(16 * 12 * 12);
        Tensor constant = Tensor.of(flat, 1, 16, 12, 12);
        try (InferencePlan plan = InferencePlan.trace(net, constant)) {
            assertThat(plan.toString()).doesNotContain("winograd");
            float[] got = new float[plan.outputSize()];
            plan.run(flat, got);
            assertThat(got).containsExactly(net.apply(constant).toFloatArray());
        }
        try (InferencePlan plan = InferencePlan.trace(net, 1, 16, 12, 12)) {
            assertThat(plan.toString()).contains("winograd");
        }
        // two of them in a row: the tensor between them was channels-last, and goes back to channels-first with them
        Tensor w2 = Tensor.randn(16, 16, 3, 3).mul(0.2f);
        java.util.function.Function<Tensor, Tensor> chain = in -> Tensor.conv2d(net.apply(in), w2, null, new int[] {1, 1}, new int[] {0, 0},
                new int[] {1, 1}, 1);
        try (InferencePlan plan = InferencePlan.trace(chain, Tensor.randn(1, 16, 12, 12).mul(0.01f))) { // outputs below 1: within 1e-4
            assertThat(plan.toString()).contains("winograd").contains(Winograd.CHANNELS_LAST ? "(channels-last out)" : "winograd");
        }
        try (InferencePlan plan = InferencePlan.trace(chain, constant)) {
            assertThat(plan.toString()).doesNotContain("winograd").doesNotContain("channels-last");
            float[] got = new float[plan.outputSize()];
            plan.run(flat, got);
            assertThat(got).containsExactly(chain.apply(constant).toFloatArray());
        }
        // a direct stem (3 -> 16) writing channels-last for the Winograd layer reading it goes back to channels-first
        // with that layer: the stem passes input channel 0 through (its centre tap), so a constant input gives the
        // Winograd layer the constant planes above
        float[] centre = new float[16 * 3 * 3 * 3];
        for (int o = 0; o < 16; o++) {
            centre[o * 27 + 4] = 1f;
        }
        Tensor ws = Tensor.of(centre, 16, 3, 3, 3);
        java.util.function.Function<Tensor, Tensor> stemmed = in -> net.apply(Tensor.conv2d(in, ws, null, new int[] {1, 1}, new int[] {0, 0},
                new int[] {1, 1}, 1).relu());
        try (InferencePlan plan = InferencePlan.trace(stemmed, Tensor.randn(1, 3, 14, 14).mul(0.01f))) {
            String stem = plan.toString().lines().filter(l -> l.contains("conv2d input")).findFirst().orElseThrow();
            assertThat(stem).as(plan.toString()).doesNotContain("winograd").contains(Winograd.CHANNELS_LAST ? "(channels-last out)" : "conv2d");
        }
        float[] flat3 = thousands(3 * 14 * 14);
        Tensor constant3 = Tensor.of(flat3, 1, 3, 14, 14);
        try (InferencePlan plan = InferencePlan.trace(stemmed, constant3)) {
            assertThat(plan.toString()).doesNotContain("winograd").doesNotContain("channels-last");
            float[] got = new float[plan.outputSize()];
            plan.run(flat3, got);
            assertThat(got).containsExactly(stemmed.apply(constant3).toFloatArray());
        }
    }

    /**
     * A residual block's sum and its ReLU ride in the Winograd convolution before them (no add step left), whichever
     * operand of the add the convolution is; within the eager op's bound. When the self-check sends such a step back
     * to the direct convolution (outputs that cancel), the sum is added after it by the add's own kernel: the eager
     * bits exactly.
     */
    @Test
    void aResidualSumAndItsReluRideInTheWinogradConvolution() {
        if (!Winograd.ENABLED) {
            return;
        }
        Lanes.manualSeed(8);
        Tensor w1 = Tensor.randn(16, 16, 3, 3).mul(0.2f);
        Tensor w2 = Tensor.randn(16, 16, 3, 3).mul(0.2f);
        Tensor b2 = Tensor.randn(16);
        int[] one = {1, 1};
        for (boolean convFirst : new boolean[] {true, false}) {
            java.util.function.Function<Tensor, Tensor> block = in -> {
                Tensor h = Tensor.conv2d(in, w1, null, one, one, one, 1).relu();
                Tensor c = Tensor.conv2d(h, w2, b2, one, one, one, 1);
                return (convFirst ? c.add(in) : in.add(c)).relu();
            };
            Tensor x = Tensor.randn(2, 16, 10, 10);
            try (InferencePlan plan = InferencePlan.trace(block, 2, 16, 10, 10)) {
                String steps = plan.toString();
                assertThat(steps).as(steps).contains("winograd F(4x4,3x3) + bias const2 + input -> relu").doesNotContain("= add");
                float[] got = new float[plan.outputSize()];
                plan.run(x.toFloatArray(), got);
                float[] eager = block.apply(x).toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertThat(got[i]).as("output %d", i).isCloseTo(eager[i], org.assertj.core.data.Offset.offset(2e-4f * Math.max(1f, Math.abs(eager[i]))));
                }
            }
        }
        Tensor w0 = zeroSum(w2); // on a constant input the outputs cancel (see the fallback test)
        java.util.function.Function<Tensor, Tensor> cancel = in -> {
            Tensor small = in.mul(0.001f); // a residual of 1 beside sums that cancel to ~0: Winograd's 0.4 shows
            return Tensor.conv2d(in, w0, null, one, one, one, 1).add(small).relu();
        };
        float[] flat = thousands(16 * 12 * 12);
        Tensor constant = Tensor.of(flat, 1, 16, 12, 12);
        try (InferencePlan plan = InferencePlan.trace(cancel, constant)) {
            assertThat(plan.toString()).doesNotContain("winograd").containsPattern("\\+ %\\d+ -> relu").doesNotContain("= add");
            float[] got = new float[plan.outputSize()];
            plan.run(flat, got);
            assertThat(got).containsExactly(cancel.apply(constant).toFloatArray());
        }
    }

    /**
     * A downsampling block's shortcut (a strided 1 x 1 convolution of the block's input) is traced after the block's
     * second convolution; the plan moves it before that convolution, which then takes the sum and its ReLU: no add step,
     * the eager values. A shortcut made from a value computed after the convolution stays where it is, and so does the add.
     */
    @Test
    void aShortcutTracedAfterTheConvolutionMovesBeforeItAndRides() {
        if (!Winograd.ENABLED) {
            return;
        }
        Lanes.manualSeed(9);
        Tensor w1 = Tensor.randn(32, 16, 3, 3).mul(0.15f);
        Tensor w2 = Tensor.randn(32, 32, 3, 3).mul(0.1f);
        Tensor ws = Tensor.randn(32, 16, 1, 1).mul(0.3f);
        Tensor bs = Tensor.randn(32);
        int[] one = {1, 1};
        int[] two = {2, 2};
        int[] none = {0, 0};
        java.util.function.Function<Tensor, Tensor> block = in -> {
            Tensor h = Tensor.conv2d(in, w1, null, two, one, one, 1).relu();
            Tensor c = Tensor.conv2d(h, w2, null, one, one, one, 1);
            Tensor shortcut = Tensor.conv2d(in, ws, bs, two, none, one, 1);
            return c.add(shortcut).relu();
        };
        java.util.function.Function<Tensor, Tensor> late = in -> {
            Tensor h = Tensor.conv2d(in, w1, null, two, one, one, 1).relu();
            Tensor c = Tensor.conv2d(h, w2, null, one, one, one, 1);
            Tensor later = h.mul(3f); // computed after c: the add's operand below cannot move before c
            return c.add(later.add(1f)).relu();
        };
        Tensor x = Tensor.randn(2, 16, 12, 12);
        for (boolean movable : new boolean[] {true, false}) {
            java.util.function.Function<Tensor, Tensor> f = movable ? block : late;
            try (InferencePlan plan = InferencePlan.trace(f, 2, 16, 12, 12)) {
                String steps = plan.toString();
                List<String> lines = steps.lines().toList();
                if (movable) {
                    assertThat(steps).as(steps).doesNotContain("= add").containsPattern("winograd F\\(4x4,3x3\\) \\+ %\\d+ -> relu");
                    int shortcutAt = -1;
                    int convAt = -1;
                    for (int i = 0; i < lines.size(); i++) {
                        shortcutAt = lines.get(i).contains("k1x1") ? i : shortcutAt;
                        convAt = lines.get(i).contains("winograd") ? i : convAt;
                    }
                    assertThat(shortcutAt).as(steps).isNotNegative().isLessThan(convAt);
                } else {
                    assertThat(steps).as(steps).contains("= add").doesNotContainPattern("winograd.*\\+ %\\d+ -> relu");
                }
                float[] got = new float[plan.outputSize()];
                plan.run(x.toFloatArray(), got);
                float[] eager = f.apply(x).toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertThat(got[i]).as("output %d", i).isCloseTo(eager[i], org.assertj.core.data.Offset.offset(2e-4f * Math.max(1f, Math.abs(eager[i]))));
                }
            }
        }
    }

    /**
     * The residual overload of {@link Winograd#forward} gives the bits of forward then the add's own kernel (ADD or
     * ADD_RELU), for residuals at an offset, over several images sharing a band and over several bands.
     */
    @Test
    void theResidualOverloadIsForwardThenTheAddsOwnKernel() {
        for (int[] s : new int[][] {{16, 16, 8, 8, 1, 1, 1, 1}, {16, 24, 40, 40, 1, 1, 1, 1}}) {
            Im2col.Geometry g = geometry(s);
            int images = 3;
            try (Arena arena = Arena.ofConfined()) {
                Random r = new Random(13);
                long inImage = (long) s[0] * s[2] * s[3];
                long outFloats = images * (long) s[1] * g.oH() * g.oW();
                MemorySegment x = randn(arena, images * inImage, r, 1f);
                MemorySegment w = randn(arena, (long) s[1] * s[0] * 9, r, 0.2f);
                MemorySegment b = randn(arena, s[1], r, 1f);
                MemorySegment res = randn(arena, outFloats + 5, r, 1f);
                Winograd.Weights u = Winograd.transformWeights(w, 0, s[1], s[0]);
                for (boolean relu : new boolean[] {false, true}) {
                    MemorySegment fused = arena.allocate(outFloats * 4);
                    Winograd.forward(g, u, x, 0, images, b, 0, UnaryOp.IDENTITY, res, 5, relu, fused, 0, Winograd.threadBuffers(g, s[1]));
                    MemorySegment plain = arena.allocate(outFloats * 4);
                    Winograd.forward(g, u, x, 0, images, b, 0, UnaryOp.IDENTITY, plain, 0, Winograd.threadBuffers(g, s[1]));
                    Elementwise.binaryContiguous(relu ? BinaryOp.ADD_RELU : BinaryOp.ADD, plain, 0, res, 5 * 4, plain, 0, (int) outFloats);
                    assertThat(fused.toArray(ValueLayout.JAVA_FLOAT)).as("%s relu %s", java.util.Arrays.toString(s), relu)
                            .containsExactly(plain.toArray(ValueLayout.JAVA_FLOAT));
                }
                assertThatThrownBy(() -> Winograd.forward(g, u, x, 0, 1, b, 0, UnaryOp.RELU, res, 0, true, arena.allocate(outFloats * 4), 0,
                        Winograd.threadBuffers(g, s[1]))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not its activation");
            }
        }
    }

    /**
     * A plan keeps a tensor channels-last where only Winograd convolutions write and read it: two residual blocks after
     * a Winograd stem, then a Winograd convolution, run channels-last from the stem's output to the last one's input.
     * Returned as they are, the result must be channels-first: where a residual sum may read its residual in the other
     * layout (Winograd.MIXED_RESIDUAL) only the last sum's output is, else (a sum in its convolution's output layout)
     * so is every block's output, leaving only the tensors inside the blocks. Both plans match the eager forward.
     */
    @Test
    void aPlanKeepsTheTensorsBetweenWinogradLayersChannelsLast() {
        if (!Winograd.ENABLED || !Winograd.CHANNELS_LAST) {
            return;
        }
        Lanes.manualSeed(9);
        Tensor[] w = new Tensor[6];
        for (int i = 0; i < w.length; i++) {
            w[i] = Tensor.randn(16, 16, 3, 3).mul(0.15f);
        }
        Tensor bias = Tensor.randn(16);
        int[] one = {1, 1};
        for (boolean lastConv : new boolean[] {true, false}) {
            java.util.function.Function<Tensor, Tensor> net = in -> {
                Tensor s = Tensor.conv2d(in, w[0], bias, one, one, one, 1).relu();
                for (int b = 0; b < 2; b++) {
                    Tensor h = Tensor.conv2d(s, w[1 + 2 * b], null, one, one, one, 1).relu();
                    s = Tensor.conv2d(h, w[2 + 2 * b], bias, one, one, one, 1).add(s).relu();
                }
                return lastConv ? Tensor.conv2d(s, w[5], null, one, one, one, 1) : s;
            };
            Tensor x = Tensor.randn(2, 16, 12, 12);
            try (InferencePlan plan = InferencePlan.trace(net, 2, 16, 12, 12)) {
                List<String> convs = plan.toString().lines().filter(l -> l.contains("winograd")).toList();
                List<String> expect = lastConv
                        ? List.of("(channels-last out)", "(channels-last in and out)", "(channels-last in and out)", "(channels-last in and out)",
                        "(channels-last in and out)", "(channels-last in)")
                        : Winograd.MIXED_RESIDUAL // the last block's sum reads its channels-last residual into a channels-first result
                        ? List.of("(channels-last out)", "(channels-last in and out)", "(channels-last in and out)", "(channels-last in and out)",
                        "(channels-last in) (residual channels-last)")
                        : List.of("", "(channels-last out)", "(channels-last in)", "(channels-last out)", "(channels-last in)");
                assertThat(convs).as(plan.toString()).hasSize(expect.size());
                for (int i = 0; i < convs.size(); i++) {
                    String line = convs.get(i);
                    String layout = line.contains("(channels-last") ? line.substring(line.indexOf("(channels-last")) : "";
                    assertThat(layout).as("convolution %d of %s", i, plan).isEqualTo(expect.get(i));
                }
                float[] got = new float[plan.outputSize()];
                plan.run(x.toFloatArray(), got);
                float[] eager = net.apply(x).toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertThat(got[i]).as("output %d", i).isCloseTo(eager[i], org.assertj.core.data.Offset.offset(2e-4f * Math.max(1f, Math.abs(eager[i]))));
                }
            }
        }
    }

    /**
     * A channels-last input, output, residual (in the output's layout or the other) or all give the channels-first bits, transposed: in the vector
     * form and in the scalar form a young process takes, for every shape above (channels and output channels that are not
     * whole chunks or vectors, several bands, asymmetric padding), three images, ReLU with a bias, GELU (the op's own
     * kernel after the copy out) and the residual sum with its ReLU, and without it from an offset residual.
     */
    @Test
    void channelsLastSidesGiveTheChannelsFirstBits() {
        int before = ColdStart.winogradImages;
        int cases = 0;
        // and one image in several bands (the SHAPES' images each fit one): a residual band from below its first row, a
        // short last band (2 of 17 tile rows), output channels past whole 16s
        int[] banded = {64, 40, 66, 64, 1, 1, 1, 1};
        Im2col.Geometry bandedGeometry = geometry(banded);
        assertThat(Winograd.oneImageBandRows(bandedGeometry, banded[1])).isLessThan((bandedGeometry.oH() + 3) / 4);
        int[][] shapes = java.util.Arrays.copyOf(SHAPES, SHAPES.length + 1);
        shapes[SHAPES.length] = banded;
        try (Arena arena = Arena.ofConfined()) {
            for (int[] s : shapes) {
                Im2col.Geometry g = geometry(s);
                int images = 3;
                int c = s[0];
                int k = s[1];
                int inPlane = s[2] * s[3];
                int outPlane = g.oH() * g.oW();
                Random r = new Random(17);
                MemorySegment x = randn(arena, (long) images * c * inPlane, r, 1f);
                MemorySegment w = randn(arena, (long) k * c * 9, r, 0.2f);
                MemorySegment b = randn(arena, k, r, 1f);
                MemorySegment res = randn(arena, (long) images * k * outPlane, r, 1f);
                MemorySegment xLast = channelsLast(arena, x, images, c, inPlane);
                MemorySegment resLast = channelsLast(arena, res, images, k, outPlane);
                // the same residuals 5 floats into their segments (variant 3: an offset, and the sum without its ReLU)
                MemorySegment resShift = arena.allocate(res.byteSize() + 20);
                MemorySegment.copy(res, 0, resShift, 20, res.byteSize());
                MemorySegment resLastShift = arena.allocate(resLast.byteSize() + 20);
                MemorySegment.copy(resLast, 0, resLastShift, 20, resLast.byteSize());
                Winograd.Weights u = Winograd.transformWeights(w, 0, k, c);
                for (int variant = 0; variant < 4; variant++) {
                    UnaryOp act = variant == 0 ? UnaryOp.RELU : variant == 1 ? UnaryOp.GELU : UnaryOp.IDENTITY;
                    MemorySegment bias = variant == 1 ? null : b;
                    boolean summed = variant >= 2;
                    boolean sumRelu = variant != 3;
                    for (int scalar = 0; scalar < 2; scalar++) {
                        ColdStart.winogradImages = scalar == 1 ? 1 << 20 : 0;
                        MemorySegment first = arena.allocate((long) images * k * outPlane * 4);
                        Winograd.forward(g, u, x, 0, images, bias, 0, act, summed ? res : null, 0, sumRelu, first, 0, false, false,
                                Winograd.threadBuffers(g, k));
                        float[] expectLast = channelsLast(arena, first, images, k, outPlane).toArray(ValueLayout.JAVA_FLOAT);
                        // in, out and (with a residual) the residual's layout, each either way: the residual's may differ from the output's
                        for (int sides = 1; sides < (summed ? 8 : 4); sides++) {
                            boolean inLast = (sides & 1) != 0;
                            boolean outLast = (sides & 2) != 0;
                            boolean resLastSide = (sides & 4) != 0;
                            MemorySegment got = arena.allocate((long) images * k * outPlane * 4);
                            MemorySegment sum = !summed ? null : variant == 3 ? resLastSide ? resLastShift : resShift : resLastSide ? resLast : res;
                            Winograd.forward(g, u, inLast ? xLast : x, 0, images, bias, 0, act, 0f, 0f, sum, variant == 3 ? 5 : 0, sumRelu,
                                    resLastSide, got, 0, inLast, outLast, Winograd.threadBuffers(g, k));
                            float[] expect = outLast ? expectLast : first.toArray(ValueLayout.JAVA_FLOAT);
                            assertThat(firstDifference(got.toArray(ValueLayout.JAVA_FLOAT), expect)).as("first element of other bits: %s %s in %s out %s"
                                    + " residual channels-last %s scalar %d", java.util.Arrays.toString(s), act, inLast, outLast, resLastSide, scalar).isEqualTo(-1);
                            cases++;
                        }
                    }
                }
            }
        } finally {
            ColdStart.winogradImages = before;
        }
        assertThat(cases).isEqualTo((SHAPES.length + 1) * 2 * (3 + 3 + 7 + 7));
    }

    /** The first index where the bits differ (NaNs alike), or -1 (AssertJ's containsExactly is quadratic in the length). */
    private static int firstDifference(float[] a, float[] b) {
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            if (i >= a.length || i >= b.length || Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) {
                return i;
            }
        }
        return -1;
    }

    /** {@code [images, channels, plane]} as {@code [images, plane, channels]}. */
    private static MemorySegment channelsLast(Arena arena, MemorySegment m, int images, int channels, int plane) {
        MemorySegment t = arena.allocate((long) images * channels * plane * 4);
        for (int n = 0; n < images; n++) {
            for (int ch = 0; ch < channels; ch++) {
                for (int p = 0; p < plane; p++) {
                    t.setAtIndex(ValueLayout.JAVA_FLOAT, ((long) n * plane + p) * channels + ch,
                            m.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) n * channels + ch) * plane + p));
                }
            }
        }
        return t;
    }

    /** {@code [16, 16, 3, 3]} weights less each output channel's mean: each channel's 144 weights sum to (nearly) zero. */
    private static Tensor zeroSum(Tensor w) {
        float[] wv = w.toFloatArray();
        for (int o = 0; o < 16; o++) {
            double sum = 0;
            for (int i = 0; i < 144; i++) {
                sum += wv[o * 144 + i];
            }
            for (int i = 0; i < 144; i++) {
                wv[o * 144 + i] -= (float) (sum / 144);
            }
        }
        return Tensor.of(wv, 16, 16, 3, 3);
    }

    private static float[] thousands(int n) {
        float[] flat = new float[n];
        java.util.Arrays.fill(flat, 1000f);
        return flat;
    }

    /** A NaN pixel reaches at least every output whose window holds it (ReLU keeps it), an infinity likewise. */
    @Test
    void nanAndInfinityReachEveryOutputTheyTouch() {
        int[] s = {16, 16, 12, 12, 1, 1, 1, 1};
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            try (Arena arena = Arena.ofConfined()) {
                Random r = new Random(3);
                MemorySegment x = randn(arena, 16L * 144, r, 1f);
                x.setAtIndex(ValueLayout.JAVA_FLOAT, 5L * 144 + 6 * 12 + 5, bad); // channel 5, pixel (6, 5)
                MemorySegment w = randn(arena, 16L * 16 * 9, r, 0.2f);
                float[] got = winograd(s, x, w, null, UnaryOp.RELU, arena);
                for (int o = 0; o < 16; o++) {
                    for (int oy = 5; oy <= 7; oy++) {
                        for (int ox = 4; ox <= 6; ox++) {
                            float v = got[(o * 12 + oy) * 12 + ox];
                            assertThat(Float.isNaN(v) || Float.isInfinite(v)).as("%s input: output [%d, %d, %d] = %s", bad, o, oy, ox, v).isTrue();
                        }
                    }
                }
            }
        }
    }

    @Test
    void appliesToThreeByThreeStrideOneLayersWithSixteenChannelsOrMore() {
        Im2col.Geometry ok = new Im2col.Geometry(16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8);
        assertThat(Winograd.applies(ok, 1, 16)).isEqualTo(Winograd.ENABLED);
        assertThat(Winograd.applies(ok, 2, 16)).as("groups").isFalse();
        assertThat(Winograd.applies(ok, 1, 8)).as("8 outputs").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8), 1, 16)).as("8 inputs").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(16, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4, 4), 1, 16)).as("stride 2").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(16, 8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 8, 8), 1, 16)).as("dilation 2").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(16, 8, 8, 5, 5, 1, 1, 2, 2, 1, 1, 8, 8), 1, 16)).as("5 x 5").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(16, 4, 4, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2), 1, 16)).as("2 x 2 outputs").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(64, 8, 1 << 20, 3, 3, 1, 1, 1, 1, 1, 1, 8, 1 << 20), 1, 64)).as("a 2^20-wide image").isFalse();
        assertThat(Winograd.applies(new Im2col.Geometry(64, 8, 1024, 3, 3, 1, 1, 1, 1, 1, 1, 8, 1024), 1, 64)).as("a 1,024-wide one")
                .isEqualTo(Winograd.ENABLED);
        assertThatThrownBy(() -> Winograd.forward(ok, Winograd.transformWeights(MemorySegment.ofArray(new float[16 * 8 * 9]), 0, 16, 8),
                MemorySegment.ofArray(new float[16 * 64]), 0, 1, null, 0, UnaryOp.IDENTITY, MemorySegment.ofArray(new float[16 * 64]), 0,
                Winograd.threadBuffers(ok, 16))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 input channels");
    }

    /**
     * A plan computes a 3 x 3 layer of 16 channels this way (and says so), a stride-2 one and a first layer of 3
     * channels the im2col way; batch 3 (three images sharing a band) within the bound of the eager op.
     */
    @Test
    void plansUseItWhereItAppliesAndMatchTheEagerForward() {
        Lanes.manualSeed(5);
        Tensor w1 = Tensor.randn(16, 3, 3, 3).mul(0.3f);
        Tensor w2 = Tensor.randn(16, 16, 3, 3).mul(0.2f);
        Tensor b2 = Tensor.randn(16);
        Tensor w3 = Tensor.randn(24, 16, 3, 3).mul(0.2f);
        java.util.function.Function<Tensor, Tensor> net = in -> {
            Tensor h = Tensor.conv2d(in, w1, null, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1).relu();
            h = Tensor.conv2d(h, w2, b2, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1).relu();
            return Tensor.conv2d(h, w3, null, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, 1);
        };
        Tensor x = Tensor.randn(3, 3, 14, 14);
        try (InferencePlan plan = InferencePlan.trace(net, 3, 3, 14, 14)) {
            String steps = plan.toString();
            assertThat(steps.lines().filter(l -> l.contains("winograd")).count()).as(steps).isEqualTo(Winograd.ENABLED ? 1 : 0);
            float[] got = new float[plan.outputSize()];
            plan.run(x.toFloatArray(), got);
            float[] eager = net.apply(x).toFloatArray();
            for (int i = 0; i < got.length; i++) {
                assertThat(got[i]).as("output %d", i).isCloseTo(eager[i], org.assertj.core.data.Offset.offset(2e-4f * Math.max(1f, Math.abs(eager[i]))));
            }
        }
    }

    /** A warm plan call through the Winograd step allocates nothing (thread buffers grown once, weights transformed at bind). */
    @Test
    void aWarmPlanCallAllocatesNothing() throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("winograd")).as("heap bytes per warm call").isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
    }

    /** Entry point of the child JVMs: prints the hash of {@link #results()} on the last line. */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("plans")) {
            System.out.println("plan hash " + planResults(new ArrayList<>()));
            return;
        }
        System.out.println("winograd hash " + results());
    }

    /**
     * The outputs of plans whose tensors go channels-last: PyTorch's ResNet-20 export at batch 3 (downsampling blocks,
     * 1 x 1 shortcuts, several images a band) and a residual net of 24 channels in and 40 out (neither a whole chunk nor a
     * whole vector at 512 bits) with a GELU after the channels-last layer, and a conv output read by a pool too (it stays
     * channels-first). {@code plans} receives each plan's description.
     */
    static String planResults(List<String> plans) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Random r = new Random(23);
        byte[] onnx;
        try (java.io.InputStream in = WinogradTest.class.getResourceAsStream("/onnx/resnet20.onnx")) {
            onnx = in.readAllBytes();
        }
        try (dev.lanes.io.onnx.OnnxModel m = dev.lanes.io.onnx.OnnxModel.parse(onnx); InferencePlan plan = m.plan(3, 3, 32, 32)) {
            plans.add(plan.toString());
            digest(md, plan, r);
        }
        Lanes.manualSeed(31);
        Tensor w0 = Tensor.randn(40, 24, 3, 3).mul(0.1f);
        Tensor w1 = Tensor.randn(40, 40, 3, 3).mul(0.08f);
        Tensor w2 = Tensor.randn(40, 40, 3, 3).mul(0.08f);
        Tensor b = Tensor.randn(40);
        int[] one = {1, 1};
        java.util.function.Function<Tensor, Tensor> net = in -> {
            Tensor s = Tensor.conv2d(in, w0, b, one, one, one, 1).gelu(); // channels-last: a GELU after the copy out, per pixel
            Tensor h = Tensor.conv2d(s, w1, null, one, one, one, 1).relu();
            Tensor y = Tensor.conv2d(h, w2, b, one, one, one, 1).add(h).relu();
            return y.add(dev.lanes.nn.functional.F.maxPool2d(h, 1)); // h also read by a pool: channels-first
        };
        try (InferencePlan plan = InferencePlan.trace(net, 3, 24, 13, 11)) {
            plans.add(plan.toString());
            digest(md, plan, r);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void digest(MessageDigest md, InferencePlan plan, Random r) {
        float[] x = new float[plan.inputSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] y = new float[plan.outputSize()];
        plan.run(x, y);
        for (float v : y) {
            int bits = Float.floatToRawIntBits(v);
            md.update(new byte[] {(byte) bits, (byte) (bits >>> 8), (byte) (bits >>> 16), (byte) (bits >>> 24)});
        }
    }

    /**
     * A plan gives the same bits with its tensors channels-last as with every tensor channels-first (a child JVM with
     * -Dlanes.winograd.channelsLast=false), for the plans of {@link #planResults}; and the plans did keep some tensors
     * channels-last (ResNet-20's block outputs, their sums reading residuals of the other layout, at 8 lanes), and not
     * the ones a pool reads.
     */
    @Test
    void channelsLastPlansGiveTheChannelsFirstBits() throws Exception {
        if (!Winograd.ENABLED || !Winograd.CHANNELS_LAST) {
            return;
        }
        List<String> plans = new ArrayList<>();
        String here = planResults(plans);
        assertThat(plans.get(0)).as(plans.get(0)).contains("(channels-last out)").contains("(channels-last in)");
        if (Winograd.MIXED_RESIDUAL) { // ResNet-20's block outputs channels-last: sums reading a residual in the other layout
            assertThat(plans.get(0)).as(plans.get(0)).contains("(residual channels-first)").contains("(residual channels-last)");
        }
        // its direct 3 -> 16 stem writes channels-last for the two Winograd layers that read it (the input and a
        // residual; where a residual takes its sum's output layout, that sum's output is channels-first, so it is too)
        String stem = plans.get(0).lines().filter(l -> l.contains("conv2d input")).findFirst().orElseThrow();
        assertThat(stem).as(plans.get(0)).doesNotContain("winograd");
        assertThat(stem.endsWith("(channels-last out)")).as(plans.get(0)).isEqualTo(Winograd.MIXED_RESIDUAL);
        List<String> convs = plans.get(1).lines().filter(l -> l.contains("winograd")).toList();
        assertThat(convs).as(plans.get(1)).hasSize(3);
        assertThat(convs.get(0)).endsWith("(channels-last out)");
        assertThat(convs.get(1)).endsWith("(channels-last in)");
        assertThat(convs.get(2)).doesNotContain("channels-last");
        String child = dev.lanes.ChildJvm.lastLine(WinogradTest.class, List.of("-Dlanes.winograd.channelsLast=false"), List.of("plans"), "plan hash ", 120);
        assertThat(child).as("plan outputs channels-first (child JVM) against channels-last (here)").isEqualTo(here);
    }

    static String results() throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Random r = new Random(11);
        for (int[] s : SHAPES) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment x = randn(arena, (long) s[0] * s[2] * s[3], r, 1f);
                MemorySegment w = randn(arena, (long) s[1] * s[0] * 9, r, 0.2f);
                MemorySegment b = randn(arena, s[1], r, 1f);
                for (float v : winograd(s, x, w, b, UnaryOp.RELU, arena)) {
                    int bits = Float.floatToRawIntBits(v);
                    md.update(new byte[] {(byte) bits, (byte) (bits >>> 8), (byte) (bits >>> 16), (byte) (bits >>> 24)});
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void theSameBitsAtEveryVectorWidth() throws Exception {
        String expect = System.getProperty("lanes.test.expectBits");
        if (expect != null && !expect.isBlank()) {
            return; // a width pass of .ci/run: the native pass compares every width through child JVMs
        }
        String here = results();
        List<List<String>> widths = new ArrayList<>();
        if (System.getProperty("os.arch", "").matches("amd64|x86_64")) {
            widths.add(List.of("-XX:UseAVX=2"));
        }
        widths.add(List.of("-XX:MaxVectorSize=16"));
        // the other register count's product blocks (8 x 2 tiles with 32 registers, 6 x 2 with 16) at this width: the
        // same bits, whichever this CPU would choose
        widths.add(List.of("-Dlanes.vectorRegisters=" + (Simd.VECTOR_REGISTERS >= 32 ? 16 : 32)));
        for (List<String> flags : widths) {
            String child = dev.lanes.ChildJvm.lastLine(WinogradTest.class, flags, List.of(), "winograd hash ", 120);
            assertThat(child).as("Winograd outputs in a JVM with %s vs this JVM (%d-bit lanes)", flags,
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize()).isEqualTo(here);
        }
    }
}
