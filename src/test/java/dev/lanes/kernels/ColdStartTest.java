package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scalar forms a young process runs ({@link ColdStart}) give the vector forms' bits: max-pooling (values and argmax
 * positions, NaNs, signed zeros and ties included), the canonical dot product, and every element-wise unary op over
 * special values. Each case runs once with the gate shut (vector) and once open (scalar).
 */
class ColdStartTest {
    private final SplittableRandom rnd = new SplittableRandom(17);
    private final Arena arena = Arena.ofAuto();

    @org.junit.jupiter.api.BeforeEach
    @AfterEach
    void warm() { // every counter shut: the vector forms, whatever ran before (the suite's JVMs pass -Dlanes.coldStart=false too)
        ColdStart.poolPlanes = 0;
        ColdStart.dots = 0;
        ColdStart.unaryRows = 0;
        ColdStart.convImages = 0;
        ColdStart.winogradImages = 0;
        ColdStart.binaryRows = 0;
        ColdStart.sums = 0;
        ColdStart.gemvs = 0;
        ColdStart.packs = 0;
        ColdStart.CONV.settled = true;
        ColdStart.WINOGRAD.settled = true;
    }

    private static final float[] SPECIAL = {0f, -0f, 1f, -1f, Float.NaN, Float.intBitsToFloat(0x7fc00123), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, 88.7f, -103.9f, 1e-30f, 0.5f, 3f};

    private MemorySegment values(int n, boolean special) {
        MemorySegment s = arena.allocate(4L * Math.max(n, 1) + 256, 64);
        for (int i = 0; i < n; i++) {
            float v = special && rnd.nextInt(4) == 0 ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (float) rnd.nextInt(-3, 4) * 0.5f;
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
        return s;
    }

    private MemorySegment spread(int n, double specialRate) {
        MemorySegment s = arena.allocate(4L * Math.max(n, 1) + 256, 64);
        for (int i = 0; i < n; i++) {
            float v = rnd.nextDouble() < specialRate ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (float) (rnd.nextDouble(-2, 2) * Math.pow(2, rnd.nextInt(-6, 6)));
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
        return s;
    }

    private static int[] nanAsOne(int[] bits) {
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Float.isNaN(Float.intBitsToFloat(bits[i])) ? 0x7fc00000 : bits[i];
        }
        return bits;
    }

    private static int[] bits(MemorySegment s, long n) {
        return s.asSlice(0, 4 * n).toArray(ValueLayout.JAVA_INT);
    }

    @Test
    void maxPoolingScalarFormGivesTheVectorBits() {
        int[][] shapes = {{6, 28, 28}, {16, 10, 10}, {3, 32, 32}, {2, 9, 13}, {4, 64, 64}, {1, 2, 2}};
        Pooling.Window win = new Pooling.Window(2, 2, 2, 2, 0, 0, 1, 1);
        for (int[] s : shapes) {
            for (boolean withIndices : new boolean[] {false, true}) {
                int planes = s[0];
                int h = s[1];
                int w = s[2];
                int oh = h / 2;
                int ow = w / 2;
                MemorySegment in = values(planes * h * w, true);
                MemorySegment[] out = new MemorySegment[2];
                MemorySegment[] idx = new MemorySegment[2];
                for (int scalar = 0; scalar < 2; scalar++) {
                    ColdStart.poolPlanes = scalar == 1 ? 1 << 20 : 0;
                    out[scalar] = arena.allocate(4L * planes * oh * ow, 64);
                    idx[scalar] = withIndices ? arena.allocate(4L * planes * oh * ow, 64) : null;
                    Pooling.maxPool2d(in, 0, planes, h, w, win, out[scalar], 0, idx[scalar], 0, oh, ow);
                }
                long n = (long) planes * oh * ow;
                assertThat(bits(out[1], n)).as("%dx%dx%d values, indices %s", planes, h, w, withIndices).containsExactly(bits(out[0], n));
                if (withIndices) {
                    assertThat(bits(idx[1], n)).as("%dx%dx%d indices", planes, h, w).containsExactly(bits(idx[0], n));
                }
            }
        }
        ColdStart.poolPlanes = 3;
        Pooling.maxPool2d(values(6 * 28 * 28, false), 0, 6, 28, 28, win, arena.allocate(4L * 6 * 14 * 14), 0, null, 0, 14, 14);
        assertThat(ColdStart.poolPlanes).as("one plane of the count a plane").isZero();
    }

    @Test
    void theDotProductsAndSumsScalarFormsGiveTheVectorBits() {
        for (int iter = 0; iter < 300; iter++) {
            int k = iter < 3 ? new int[] {400, 120, 84}[iter] : rnd.nextInt(0, 700);
            MemorySegment x = values(k, iter % 5 == 0);
            MemorySegment y = values(k, false);
            for (int i = 0; i < k; i++) { // products of many magnitudes: the order of the sums shows in the bits
                y.setAtIndex(ValueLayout.JAVA_FLOAT, i, y.getAtIndex(ValueLayout.JAVA_FLOAT, i) * (float) Math.pow(2, rnd.nextInt(-20, 20)) + 0.1f);
            }
            ColdStart.dots = 0;
            float vector = Sgemm.dot(x, 0, y, 0, k);
            ColdStart.dots = 1 << 20;
            float scalar = Sgemm.dot(x, 0, y, 0, k);
            assertThat(Float.floatToRawIntBits(scalar)).as("k %d", k).isEqualTo(Float.floatToRawIntBits(vector));
            ColdStart.sums = 0;
            float vectorSum = Reductions.sumBlock(y, 0, k);
            ColdStart.sums = 1 << 20;
            float scalarSum = Reductions.sumBlock(y, 0, k);
            assertThat(Float.floatToRawIntBits(scalarSum)).as("sum of %d", k).isEqualTo(Float.floatToRawIntBits(vectorSum));
        }
    }

    /**
     * The convolution's scalar form against the driver's vector paths (taps, column-shifted and parity planes, im2col
     * with packing, the 1 x 1 direct GEMM, depth past KC in two blocks): strides, paddings, dilations, groups, a row
     * bias or none, ReLU or GELU or none, weights of spread magnitudes, NaN and infinite inputs (0 x inf in the padding).
     */
    @Test
    void theConvolutionsScalarFormGivesTheVectorBits() {
        int cases = 0;
        for (int iter = 0; iter < 80; iter++) {
            int groups = iter % 7 == 0 ? 2 : 1;
            int cg;
            int og;
            int h;
            int w;
            int k;
            int s;
            int pad;
            int dil = 1;
            switch (iter) {
                case 0 -> { cg = 1; og = 6; h = 32; w = 32; k = 5; s = 1; pad = 0; } // LeNet's conv1
                case 1 -> { cg = 6; og = 16; h = 14; w = 14; k = 5; s = 1; pad = 0; } // conv2
                case 2 -> { cg = 16; og = 32; h = 32; w = 32; k = 3; s = 2; pad = 1; } // ResNet's stride-2 layer
                case 3 -> { cg = 64; og = 64; h = 8; w = 8; k = 3; s = 1; pad = 1; } // depth 576: two KC blocks
                case 4 -> { cg = 16; og = 32; h = 32; w = 32; k = 1; s = 2; pad = 0; } // a shortcut
                case 5 -> { cg = 8; og = 12; h = 9; w = 7; k = 1; s = 1; pad = 0; } // 1 x 1: the direct GEMM, never cold
                case 6 -> { cg = 6; og = 16; h = 14; w = 14; k = 5; s = 1; pad = 0; } // conv2 again, its tail channel-wise
                case 7 -> { cg = 128; og = 9; h = 4; w = 5; k = 3; s = 1; pad = 1; } // depth 1,152: three KC blocks
                default -> {
                    cg = 1 + rnd.nextInt(6);
                    og = 1 + rnd.nextInt(20);
                    h = 1 + rnd.nextInt(20);
                    w = 1 + rnd.nextInt(20);
                    k = 1 + rnd.nextInt(5);
                    s = 1 + rnd.nextInt(2);
                    pad = rnd.nextInt(3);
                    dil = 1 + rnd.nextInt(2);
                }
            }
            int reach = dil * (k - 1) + 1;
            if (h + 2 * pad < reach || w + 2 * pad < reach) {
                continue;
            }
            Im2col.Geometry g = new Im2col.Geometry(cg, h, w, k, k, s, s, pad, pad, dil, dil, (h + 2 * pad - reach) / s + 1, (w + 2 * pad - reach) / s + 1);
            if (!Conv2dDriver.staged(g)) {
                continue;
            }
            boolean direct = k == 1 && s == 1 && pad == 0;
            int images = 1 + rnd.nextInt(2);
            int channels = cg * groups;
            int outChannels = og * groups;
            int rows = g.rows();
            // rounding-sensitive values (a changed order of the sums shows), a few NaNs and infinities in some cases
            MemorySegment x = spread(images * channels * h * w, iter > 5 && iter % 3 == 0 ? 0.002 : 0);
            MemorySegment weights = spread(outChannels * rows, 0);
            MemorySegment bias = values(outChannels, false);
            UnaryOp act = switch (iter % 3) {
                case 0 -> UnaryOp.RELU;
                case 1 -> UnaryOp.GELU;
                default -> UnaryOp.IDENTITY;
            };
            Sgemm.Epilogue[] epi = new Sgemm.Epilogue[groups];
            float[][] packed = new float[groups][];
            float[][] tails = iter == 6 || rnd.nextBoolean() ? new float[groups][] : null; // a plan's channel-wise pixel tail
            for (int gr = 0; gr < groups; gr++) {
                epi[gr] = iter % 4 == 3 || iter == 6 ? Sgemm.Epilogue.activation(act) : Sgemm.Epilogue.rowBias(bias, (long) gr * og, act);
                packed[gr] = direct ? null : Sgemm.packA(weights, (long) gr * og * rows, rows, og, rows);
                if (tails != null) {
                    tails[gr] = Conv2dDriver.transposedTails(g, og) ? Sgemm.packTransposedTail(weights, (long) gr * og * rows, rows, og, rows) : null;
                }
            }
            if (iter == 6) {
                assertThat(Conv2dDriver.transposedTails(g, og) == (Sgemm.transposedTailColumns(og, rows, g.oH(), g.oW(), g.oW(), epi[0]) > 0)).isTrue();
            }
            long outFloats = (long) images * outChannels * g.cols();
            MemorySegment[] out = new MemorySegment[2];
            for (int scalar = 0; scalar < 2; scalar++) {
                ColdStart.convImages = scalar == 1 ? 1 << 20 : 0;
                out[scalar] = arena.allocate(4 * outFloats, 64);
                boolean cold = cold(g, channels, groups, outChannels, direct, x, 0, weights, 0, epi, out[scalar], 0, 0, images);
                assertThat(cold).as("the scalar form taken").isEqualTo(scalar == 1 && !direct);
                if (!cold) {
                    Conv2dDriver.forward(g, channels, groups, outChannels, direct, x, 0, weights, 0, packed, tails, epi, out[scalar], 0, null, 0,
                            null, 0, 0, images, Conv2dDriver.threadBuffers(g), null);
                }
            }
            // a NaN's payload depends on the FMA's operand order, which the JIT tiers do not fix either: NaNs compare as one
            assertThat(nanAsOne(bits(out[1], outFloats))).as("%s groups %d og %d %s", g, groups, og, epi[0])
                    .containsExactly(nanAsOne(bits(out[0], outFloats)));
            cases++;
        }
        assertThat(cases).isGreaterThan(40);
        ColdStart.convImages = 5;
        Im2col.Geometry lenet = new Im2col.Geometry(1, 32, 32, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28);
        assertThat(cold(lenet, 1, 1, 6, false, values(3 * 32 * 32, false), 0, values(6 * 25, false), 0,
                new Sgemm.Epilogue[] {Sgemm.Epilogue.NONE}, arena.allocate(4L * 3 * 6 * 784, 64), 0, 0, 3)).isTrue();
        assertThat(ColdStart.convImages).as("one of the count an image").isEqualTo(2);
        assertThat(cold(lenet, 1, 1, 6, false, values(3 * 32 * 32, false), 0, values(6 * 25, false), 0,
                new Sgemm.Epilogue[] {Sgemm.Epilogue.NONE}, arena.allocate(4L * 3 * 6 * 784, 64), 0, 0, 3)).as("3 images, 2 left").isFalse();
    }

    /**
     * Winograd's scalar form against its vector form: ResNet's layers (16 to 64 channels, 32 x 32 to 8 x 8), channels
     * that are not whole chunks, output channels an odd number of vectors, sides that are not whole tiles, paddings 0-2,
     * several images, bias or none, ReLU, GELU or none, and the fused residual sum with and without its ReLU.
     */
    @Test
    void winogradsScalarFormGivesTheVectorBits() {
        int[][] shapes = {{16, 16, 32, 32, 1}, {32, 32, 16, 16, 1}, {64, 64, 8, 8, 1}, {24, 40, 13, 11, 1}, {16, 48, 9, 21, 0}, {20, 16, 7, 7, 2}};
        int cases = 0;
        for (int[] sh : shapes) {
            for (int variant = 0; variant < 5; variant++) {
                int c = sh[0];
                int k = sh[1];
                int pad = sh[4];
                Im2col.Geometry g = new Im2col.Geometry(c, sh[2], sh[3], 3, 3, 1, 1, pad, pad, 1, 1, sh[2] + 2 * pad - 2, sh[3] + 2 * pad - 2);
                assertThat(Winograd.applies(g, 1, k)).as("%s", g).isEqualTo(Winograd.ENABLED);
                int images = 1 + variant % 2;
                MemorySegment x = spread(images * c * sh[2] * sh[3], variant == 4 ? 0.001 : 0);
                Winograd.Weights u = Winograd.transformWeights(spread(k * c * 9, 0), 0, k, c);
                MemorySegment bias = variant == 1 ? null : spread(k, 0);
                UnaryOp act = switch (variant) {
                    case 0 -> UnaryOp.RELU;
                    case 1 -> UnaryOp.GELU;
                    default -> UnaryOp.IDENTITY;
                };
                long outFloats = (long) images * k * g.oH() * g.oW();
                MemorySegment residual = variant >= 2 ? spread((int) outFloats, 0) : null;
                boolean residualRelu = variant == 3;
                MemorySegment[] out = new MemorySegment[2];
                for (int scalar = 0; scalar < 2; scalar++) {
                    ColdStart.winogradImages = scalar == 1 ? 1 << 20 : 0;
                    out[scalar] = arena.allocate(4 * outFloats, 64);
                    Winograd.forward(g, u, x, 0, images, bias, 0, act, residual, 0, residualRelu, out[scalar], 0, Winograd.threadBuffers(g, k));
                }
                assertThat(ColdStart.winogradImages).as("the scalar form ran").isEqualTo((1 << 20) - images);
                assertThat(nanAsOne(bits(out[1], outFloats))).as("%s k %d variant %d", g, k, variant).containsExactly(nanAsOne(bits(out[0], outFloats)));
                cases++;
            }
        }
        assertThat(cases).isEqualTo(30);
    }

    /**
     * A young process's scalar convolution takes only layers of at most {@code ColdStart.CONV_MAX_IMAGE_MACS}
     * multiply-adds an image: ResNet-20's 16-channel layer (2.4M) is computed scalar and counted; a staged 16 x 3 x 3
     * layer over 88 x 88 pixels (17.8M: the size class of an ImageNet network's layers) is left to the vector form, the
     * count untouched. Fails if the bound is dropped (the second call then returns COLD_DONE).
     */
    @Test
    void theScalarConvolutionLeavesLargeImagesToTheVectorForm() {
        ColdStart.convImages = 64;
        ColdStart.CONV.settled = false;
        Im2col.Geometry small = new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32);
        Im2col.Geometry large = new Im2col.Geometry(16, 88, 88, 3, 3, 1, 1, 1, 1, 1, 1, 88, 88);
        assertThat(Conv2dDriver.staged(large)).isTrue();
        assertThat(16L * large.rows() * large.cols()).isGreaterThan(ColdStart.CONV_MAX_IMAGE_MACS);
        assertThat(16L * small.rows() * small.cols()).isLessThanOrEqualTo(ColdStart.CONV_MAX_IMAGE_MACS);
        MemorySegment w = values(16 * 144, false);
        Sgemm.Epilogue[] epi = {Sgemm.Epilogue.NONE};
        for (Im2col.Geometry g : new Im2col.Geometry[] {small, large}) {
            MemorySegment x = values(g.c() * g.h() * g.w(), false);
            MemorySegment out = arena.allocate(4L * 16 * g.cols(), 64);
            int before = ColdStart.convImages;
            long ticket = Conv2dDriver.forwardColdOrProbe(g, 16, 1, 16, false, x, 0, w, 0, epi, out, 0, 0, 1);
            if (g == small) {
                assertThat(ticket).as("%s", g).isEqualTo(Conv2dDriver.COLD_DONE);
                assertThat(ColdStart.convImages).isEqualTo(before - 1);
            } else {
                assertThat(ticket).as("%s", g).isEqualTo(Conv2dDriver.WARM);
                assertThat(ColdStart.convImages).isEqualTo(before);
            }
        }
    }

    /**
     * After the count, the probes: one call in PROBE_EVERY takes the vector form and is timed; a vector call within
     * SETTLE_WITHIN (2x) of the best scalar one's time a multiply-add settles the family on the vector form for good; MAX_PROBES settles it
     * whatever was measured; a scalar time never settles it.
     */
    @Test
    void aProbeSettlesWhenTheVectorFormIsWithinTwiceTheBestScalarCall() {
        ColdStart.Probe p = new ColdStart.Probe(false);
        int vector = 0;
        for (int i = 0; i < 10 * ColdStart.PROBE_EVERY; i++) {
            vector += p.probeVector() ? 1 : 0;
        }
        assertThat(vector).isEqualTo(10);
        p.took(true, 5_000, 1_000); // 5 ns a multiply-add
        p.took(true, 2_000, 1_000); // 2: the best
        p.took(true, 9_000, 1_000);
        p.took(false, 30_000, 1_000); // the vector form still interpreted
        p.took(false, 4_100, 1_000); // past SETTLE_WITHIN (2x) the best scalar call
        assertThat(p.settled).isFalse();
        p.took(false, 7_800, 2_000); // 3.9: within 2x, compiled
        assertThat(p.settled).isTrue();

        ColdStart.Probe slow = new ColdStart.Probe(false);
        slow.took(true, 1_000, 1_000);
        for (int i = 1; i < ColdStart.MAX_PROBES; i++) {
            slow.took(false, 50_000, 1_000);
            slow.took(true, 1_000, 1_000);
        }
        assertThat(slow.settled).isFalse();
        slow.took(false, 50_000, 1_000);
        assertThat(slow.settled).as("settled after MAX_PROBES").isTrue();
    }

    /**
     * The probes in the kernels: Winograd's and the direct convolution's calls after the count take the scalar form
     * except every PROBE_EVERY-th (a batch of more than PROBE_MAX_IMAGES always the vector form), each form giving the
     * settled vector form's bits; once settled, no call is timed.
     */
    @Test
    void theConvolutionsProbeTheirVectorFormsWithTheSameBits() {
        Im2col.Geometry g = new Im2col.Geometry(16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8);
        int k = 16;
        MemorySegment x = spread(16 * 64 * 8, 0);
        MemorySegment w = spread(k * 16 * 9, 0);
        Winograd.Weights u = Winograd.transformWeights(w, 0, k, 16);
        MemorySegment bias = spread(k, 0);
        long outFloats = (long) k * 64;
        MemorySegment reference = arena.allocate(4 * outFloats * 8, 64);
        Winograd.forward(g, u, x, 0, 8, bias, 0, UnaryOp.RELU, reference, 0, Winograd.threadBuffers(g, k)); // settled (warm())
        ColdStart.WINOGRAD.reset();
        int probesBefore = ColdStart.WINOGRAD.probes;
        MemorySegment out = arena.allocate(4 * outFloats * 8, 64);
        for (int i = 0; i < 2 * ColdStart.PROBE_EVERY && !ColdStart.WINOGRAD.settled; i++) {
            out.fill((byte) 0x7f);
            Winograd.forward(g, u, x, 0, 1, bias, 0, UnaryOp.RELU, out, 0, Winograd.threadBuffers(g, k));
            assertThat(bits(out, outFloats)).as("call %d", i).containsExactly(bits(reference, outFloats));
        }
        assertThat(ColdStart.WINOGRAD.probes - probesBefore).as("vector calls among the 2 PROBE_EVERY").isBetween(1, 2);
        if (!ColdStart.WINOGRAD.settled) {
            int before = ColdStart.WINOGRAD.probes;
            Winograd.forward(g, u, x, 0, ColdStart.PROBE_MAX_IMAGES + 1, bias, 0, UnaryOp.RELU, out, 0, Winograd.threadBuffers(g, k));
            assertThat(ColdStart.WINOGRAD.probes).as("a batch past PROBE_MAX_IMAGES is a vector call").isEqualTo(before + 1);
            assertThat(bits(out, outFloats * (ColdStart.PROBE_MAX_IMAGES + 1))).containsExactly(bits(reference, outFloats * (ColdStart.PROBE_MAX_IMAGES + 1)));
        }

        // the direct convolution: the plan's step asks forwardColdOrProbe, runs the vector form on a ticket, then probeDone
        Im2col.Geometry lenet = new Im2col.Geometry(1, 32, 32, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28);
        MemorySegment in = values(32 * 32, false);
        MemorySegment weights = values(6 * 25, false);
        Sgemm.Epilogue[] none = {Sgemm.Epilogue.NONE};
        MemorySegment warmOut = arena.allocate(4L * 6 * 784, 64);
        assertThat(Conv2dDriver.forwardColdOrProbe(lenet, 1, 1, 6, false, in, 0, weights, 0, none, warmOut, 0, 0, 1)).isEqualTo(Conv2dDriver.WARM);
        Conv2dDriver.forward(lenet, 1, 1, 6, false, in, 0, weights, 0, new float[][] {Sgemm.packA(weights, 0, 25, 6, 25)}, null, none, warmOut, 0,
                null, 0, null, 0, 0, 1, Conv2dDriver.threadBuffers(lenet), null);
        ColdStart.CONV.reset();
        int scalarCalls = 0;
        int tickets = 0;
        for (int i = 0; i < ColdStart.PROBE_EVERY; i++) {
            MemorySegment o = arena.allocate(4L * 6 * 784, 64);
            long t = Conv2dDriver.forwardColdOrProbe(lenet, 1, 1, 6, false, in, 0, weights, 0, none, o, 0, 0, 1);
            if (t == Conv2dDriver.COLD_DONE) {
                scalarCalls++;
            } else {
                assertThat(t).as("call %d", i).isNotEqualTo(Conv2dDriver.WARM);
                tickets++;
                // the caller's vector form, as PlanStep.Conv.run runs it between the ticket and probeDone
                Conv2dDriver.forward(lenet, 1, 1, 6, false, in, 0, weights, 0, new float[][] {Sgemm.packA(weights, 0, 25, 6, 25)}, null, none,
                        o, 0, null, 0, null, 0, 0, 1, Conv2dDriver.threadBuffers(lenet), null);
                Conv2dDriver.probeDone(t, lenet, 1, 6);
                assertThat(ColdStart.CONV.probes).as("the probe was counted").isEqualTo(1);
            }
            assertThat(nanAsOne(bits(o, 6 * 784))).as("call %d", i).containsExactly(nanAsOne(bits(warmOut, 6 * 784)));
        }
        assertThat(tickets).isEqualTo(1);
        assertThat(scalarCalls).isEqualTo(ColdStart.PROBE_EVERY - 1);
        // a call of more images than the count has left ends the count: the probes take over (no count stuck above 0)
        ColdStart.CONV.reset();
        ColdStart.convImages = 2;
        MemorySegment three = arena.allocate(4L * 3 * 6 * 784, 64);
        long t = Conv2dDriver.forwardColdOrProbe(lenet, 1, 1, 6, false, values(3 * 32 * 32, false), 0, weights, 0, none, three, 0, 0, 3);
        assertThat(t).isNotIn(Conv2dDriver.COLD_DONE, Conv2dDriver.WARM);
        assertThat(ColdStart.convImages).isZero();
    }

    /**
     * The batch-1 product's scalar form against its vector form: widths whose blocks are 4, 2 and 1 vectors and mixes,
     * odd and even depths (the even chain takes the last step), bias and ReLU or none, special values.
     */
    @Test
    void gemvsScalarFormGivesTheVectorBits() {
        int l = Simd.LANES;
        int[][] shapes = {{10, 64}, {4 * l, 1}, {7 * l + 3, 33}, {2 * l, 400}, {l - 1, 2}, {120, 400}, {84, 120}, {1, 7}};
        int cases = 0;
        for (int[] sh : shapes) {
            for (int variant = 0; variant < 3; variant++) {
                int n = sh[0];
                int k = sh[1];
                MemorySegment x = variant == 2 ? values(k, true) : spread(k, 0);
                MemorySegment b = variant == 2 ? values(k * n, true) : spread(k * n, 0);
                MemorySegment bias = spread(n, 0);
                float[] bt = Sgemm.packGemv(false, b, 0, n, k, n);
                Sgemm.Epilogue epi = switch (variant) {
                    case 0 -> Sgemm.Epilogue.NONE;
                    case 1 -> Sgemm.Epilogue.columnBias(bias, 0, UnaryOp.RELU);
                    default -> Sgemm.Epilogue.columnBias(bias, 0, UnaryOp.IDENTITY);
                };
                MemorySegment[] out = new MemorySegment[2];
                for (int scalar = 0; scalar < 2; scalar++) {
                    ColdStart.gemvs = scalar == 1 ? 1 << 20 : 0;
                    out[scalar] = arena.allocate(4L * n, 64);
                    Sgemm.gemvPacked(x, 0, n, k, bt, out[scalar], 0, epi, new float[Sgemm.SCRATCH_FLOATS]);
                }
                assertThat(ColdStart.gemvs).as("the scalar form ran").isEqualTo((1 << 20) - 1);
                assertThat(nanAsOne(bits(out[1], n))).as("n %d k %d variant %d", n, k, variant).containsExactly(nanAsOne(bits(out[0], n)));
                cases++;
            }
        }
        assertThat(cases).isEqualTo(24);
    }

    /** A's slivers packed float by float (a young process) hold the floats the vectors put there (8 rows zipped, 6 rows by 4 x 4 blocks and pairs). */
    @Test
    void packingFloatByFloatGivesTheSameSlivers() {
        for (int[] sh : new int[][] {{8, 16}, {37, 600}, {16, 150}, {6, 25}, {64, 1030}, {9, 17}, {6, 4}, {6, 5}, {12, 9}, {18, 512}}) {
            int m = sh[0];
            int k = sh[1];
            MemorySegment a = values(m * k, true);
            ColdStart.packs = 0;
            float[] vector = Sgemm.packA(a, 0, k, m, k);
            ColdStart.packs = 1 << 20;
            float[] scalar = Sgemm.packA(a, 0, k, m, k);
            assertThat(ColdStart.packs < 1 << 20 || m < Sgemm.MR).as("the float-by-float form ran").isTrue();
            assertThat(bits(MemorySegment.ofArray(scalar), scalar.length)).as("m %d k %d", m, k)
                    .containsExactly(bits(MemorySegment.ofArray(vector), vector.length));
        }
    }

    /** Whether the direct convolution's scalar form ran ({@code Conv2dDriver.forwardColdOrProbe} gave COLD_DONE). */
    private static boolean cold(Im2col.Geometry geo, int channels, int groups, int outChannels, boolean direct, MemorySegment x, long xOff,
                                MemorySegment w, long wOff, Sgemm.Epilogue[] epilogues, MemorySegment out, long outOff, int n0, int n1) {
        return Conv2dDriver.forwardColdOrProbe(geo, channels, groups, outChannels, direct, x, xOff, w, wOff, epilogues, out, outOff, n0, n1)
                == Conv2dDriver.COLD_DONE;
    }

    @Test
    void everyBinaryOpsScalarFormGivesTheVectorBits() {
        java.util.List<BinaryKernel> kernels = new java.util.ArrayList<>(java.util.List.of(BinaryOp.values()));
        for (UnaryOp u : UnaryOp.values()) {
            if (u.hasFusedBackward()) {
                kernels.add(u.backward()); // GELU's, SiLU's, ... fused backward: training's element-wise kernels
            }
        }
        assertThat(kernels.size()).isGreaterThan(BinaryOp.values().length);
        for (BinaryKernel op : kernels) {
            for (int n : new int[] {1, 15, 16, 17, 100, 1000}) {
                MemorySegment a = values(n, true);
                MemorySegment b = values(n, true);
                for (int i = 0; i < n; i++) {
                    if (rnd.nextInt(3) == 0) {
                        a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-30, 30));
                        b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-3, 3));
                    }
                }
                MemorySegment vector = arena.allocate(4L * n, 64);
                MemorySegment scalar = arena.allocate(4L * n, 64);
                ColdStart.binaryRows = 0;
                Elementwise.binaryContiguous(op, a, 0, b, 0, vector, 0, n);
                ColdStart.binaryRows = 1 << 20;
                Elementwise.binaryContiguous(op, a, 0, b, 0, scalar, 0, n);
                assertThat(nanAsOne(bits(scalar, n))).as("%s over %d", op, n).containsExactly(nanAsOne(bits(vector, n)));
            }
        }
    }

    /**
     * Whole plans with every gate open against every gate shut: PyTorch's LeNet and ResNet-20 exports, traced on an
     * example (a checked trace: its eager forward, the self-check and the first runs take the scalar forms) and run,
     * give the same bits.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"lenet", "resnet20"})
    void aPlanBuiltAndRunColdGivesTheWarmBits(String name) throws Exception {
        byte[] model;
        try (java.io.InputStream in = ColdStartTest.class.getResourceAsStream("/onnx/" + name + ".onnx")) {
            model = in.readAllBytes();
        }
        int channels = name.equals("lenet") ? 1 : 3;
        float[] x = new float[2 * channels * 32 * 32];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-2, 2);
        }
        int[][] results = new int[2][];
        for (int cold = 0; cold < 2; cold++) {
            int open = cold == 1 ? 1 << 20 : 0;
            ColdStart.poolPlanes = open;
            ColdStart.dots = open;
            ColdStart.sums = open;
            ColdStart.unaryRows = open;
            ColdStart.binaryRows = open;
            ColdStart.convImages = open;
            ColdStart.winogradImages = open;
            try (dev.lanes.io.onnx.OnnxModel m = dev.lanes.io.onnx.OnnxModel.parse(model);
                 dev.lanes.Tensor example = dev.lanes.Tensor.of(x, 2, channels, 32, 32);
                 dev.lanes.InferencePlan plan = m.plan(example)) { // checked: the eager forward and the self-check run too
                float[] y = new float[plan.outputSize()];
                plan.run(x, y);
                results[cold] = new int[y.length];
                for (int i = 0; i < y.length; i++) {
                    results[cold][i] = Float.floatToRawIntBits(y[i]);
                }
            }
            if (cold == 1) {
                assertThat(ColdStart.convImages).as("the scalar convolutions ran").isLessThan(1 << 20);
                assertThat(ColdStart.winogradImages).as("the scalar Winograd ran").isEqualTo(name.equals("lenet") || !Winograd.ENABLED ? 1 << 20 : (1 << 20) - 2 * 16 * 2); // 2 images, 16 layers (stride 1, 16+ channels), trace check and run
            }
        }
        assertThat(results[1]).as(name).containsExactly(results[0]);
    }

    @Test
    void everyUnaryOpsScalarFormGivesTheVectorBits() {
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : new int[] {1, 15, 16, 17, 100, 1000}) {
                MemorySegment x = values(n, true);
                for (int i = 0; i < n; i++) { // and a spread of magnitudes for the transcendental ones
                    if (rnd.nextInt(3) == 0) {
                        x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-30, 30));
                    }
                }
                float p = op == UnaryOp.CLAMP ? -0.5f : 0.75f;
                float q = op == UnaryOp.CLAMP ? 2.5f : 1.5f;
                MemorySegment vector = arena.allocate(4L * n, 64);
                MemorySegment scalar = arena.allocate(4L * n, 64);
                ColdStart.unaryRows = 0;
                Elementwise.unaryContiguous(op, p, q, x, 0, vector, 0, n);
                ColdStart.unaryRows = 1 << 20;
                Elementwise.unaryContiguous(op, p, q, x, 0, scalar, 0, n);
                assertThat(bits(scalar, n)).as("%s over %d", op, n).containsExactly(bits(vector, n));
            }
        }
    }
}
