package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The forward convolution of a first layer (few input channels: {@code c kH kW <= }{@link #MAX_DEPTH}) without
 * unfolding: the image is copied once into a zero-padded heap plane and each output row is accumulated in registers,
 * six output channels by two vectors of pixels (12 accumulators, fits 16 registers), each tap one load of two
 * input vectors and six weight broadcasts. With so few rows the unfolded matrix costs more to build and pack than the
 * product it feeds (LeNet's conv1: 25 x 784 floats per image for 6 output rows).
 *
 * <p>{@link Conv2dDriver} takes the column-shifted staging ({@link Im2col#shiftsInPlace}) first where it applies: its
 * pixel blocks run on across output rows, so LeNet's 28-pixel rows fill whole vectors (784 columns, not 28 x 32), and
 * it ran LeNet's conv1 at batch 64 in 281-294 us against 332 here at 512 bits, 402 against 631 at 256 bits (where this
 * loop is slow), 748 against 731 at 128 bits (AMD EPYC Zen 4, plan profile). This form stays for the rest: strided
 * rows, and rows that fill their vectors anyway (a 3-channel 3 x 3 same-padded stem over 32-pixel rows).
 *
 * <p>The same bits as im2col + {@link Sgemm#gemmPackedAB}: every output is one FMA chain from zero over the taps in
 * (channel, i, j) order (the GEMM's depth order; one KC block since the depth is at most {@link #MAX_DEPTH}), padding
 * taps included as FMAs with zero like the unfolded zeros, then the GEMM epilogue's bias add and activation.
 */
public final class DirectConv {
    /** Depth (c kH kW) up to which the direct form is used: LeNet's 1 x 5 x 5 = 25, a 3-channel 3 x 3 layer's 27. */
    public static final int MAX_DEPTH = 32;
    /** Output channels per register block. */
    private static final int OB = 6;

    private DirectConv() {
    }

    /**
     * Whether a convolution of this geometry runs here: unit stride along the width, depth at most {@link #MAX_DEPTH},
     * and an epilogue with at most a per-row (per output channel) bias.
     */
    public static boolean applies(Im2col.Geometry g, Sgemm.Epilogue epi) {
        return g.sW() == 1 && g.rows() <= MAX_DEPTH && (epi == null || epi.bias() == null || epi.biasPerRow())
                && paddedFloatsLong(g) <= 4L * ((long) g.c() * g.h() * g.w() + (long) g.rows() * g.cols()) + 1024;
    }

    /**
     * Row length of the padded plane: the image after pL zeros, and every pair of vectors of an output row shifted by
     * every tap. In long: padding and dilation can be large where the data is small ({@link #applies} bounds it).
     */
    static long paddedWidth(Im2col.Geometry g) {
        long pairs = (g.oW() + 2L * LANES - 1) / (2L * LANES);
        return Math.max((long) g.w() + g.pL(), pairs * 2 * LANES + (long) (g.kW() - 1) * g.dW() + 1);
    }

    /** Rows of the padded plane: every row a tap reads (im2col reads rows outside the image as zeros too). */
    static long paddedHeight(Im2col.Geometry g) {
        return Math.max((long) g.h() + g.pT(), (long) (g.oH() - 1) * g.sH() + (long) (g.kH() - 1) * g.dH() + 1);
    }

    private static long paddedFloatsLong(Im2col.Geometry g) {
        return g.c() * paddedHeight(g) * paddedWidth(g) + LANES + (long) OB * g.rows();
    }

    /**
     * Floats of {@link #forward}'s {@code padded} scratch: the padded copy of one image, LANES spare floats, and a
     * block's weights ({@code OB} per tap).
     */
    public static int paddedFloats(Im2col.Geometry g) {
        return Math.toIntExact(paddedFloatsLong(g)); // bounded by the data's size where applies() holds
    }

    /**
     * {@code out[o, y, x] = act(bias[o] + sum_p W[o, p] x_unfolded[p, y x])} for one image.
     *
     * @param x       the image {@code [c, h, w]} at element {@code xOff}
     * @param packedW the weights packed as {@link Sgemm#packA} does ({@code [og, c kH kW]} in MR-row slivers)
     * @param padded  at least {@link #paddedFloats} floats of scratch
     * @param tile    at least 12 LANES floats of scratch (a {@link Sgemm#SCRATCH_FLOATS} tile)
     * @param taps    at least {@link #MAX_DEPTH} ints of scratch
     * @param out     {@code [og, oH, oW]} at element {@code outOff}
     */
    public static void forward(Im2col.Geometry g, int og, MemorySegment x, long xOff, float[] packedW, Sgemm.Epilogue epi,
                               MemorySegment out, long outOff, float[] padded, float[] tile, int[] taps) {
        int wp = (int) paddedWidth(g); // both within paddedFloats(g), an int
        int hp = (int) paddedHeight(g);
        int planeP = hp * wp;
        int c = g.c();
        java.util.Arrays.fill(padded, 0, c * hp * wp, 0f);
        for (int ch = 0; ch < c; ch++) {
            for (int r = 0; r < g.h(); r++) {
                MemorySegment.copy(x, FLOAT, (xOff + ((long) ch * g.h() + r) * g.w()) << 2, padded, ch * planeP + (r + g.pT()) * wp + g.pL(), g.w());
            }
        }
        Sgemm.Epilogue e = epi == null ? Sgemm.Epilogue.NONE : epi;
        int k = g.rows();
        int mr = Sgemm.MR;
        int l = g.cols();
        int sH = g.sH();
        int oH = g.oH();
        int oW = g.oW();
        int wt = paddedFloats(g) - OB * k; // the block's weights, tap-major: wt + p OB + r = W[o0 + r, p]
        Im2col.tapOffsets(g, wp, planeP, taps); // this layout's own row length (room for the pixel pairs)
        for (int o0 = 0; o0 < og; o0 += OB) {
            for (int p = 0; p < k; p++) {
                for (int r = 0; r < OB; r++) { // past the last channel: its weights again (computed, not stored)
                    int o = Math.min(o0 + r, og - 1);
                    padded[wt + p * OB + r] = packedW[o / mr * mr * k + p * mr + o % mr];
                }
            }
            for (int y = 0; y < oH; y++) {
                for (int xb = 0; xb < oW; xb += 2 * LANES) {
                    FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
                    FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
                    FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
                    FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
                    FloatVector a40 = FloatVector.zero(F), a41 = FloatVector.zero(F);
                    FloatVector a50 = FloatVector.zero(F), a51 = FloatVector.zero(F);
                    // one loop over the taps, (ch, i, j) in order, their offsets from a table: the three nested
                    // loops (5 taps innermost) ran 3x slower, C2 keeping the accumulators' loop phis poorly
                    int base = y * sH * wp + xb;
                    for (int p = 0, q = wt; p < k; p++, q += OB) {
                        int at = base + taps[p];
                        FloatVector in0 = FloatVector.fromArray(F, padded, at);
                        FloatVector in1 = FloatVector.fromArray(F, padded, at + LANES);
                        FloatVector b = FloatVector.broadcast(F, padded[q]);
                        a00 = b.fma(in0, a00);
                        a01 = b.fma(in1, a01);
                        b = FloatVector.broadcast(F, padded[q + 1]);
                        a10 = b.fma(in0, a10);
                        a11 = b.fma(in1, a11);
                        b = FloatVector.broadcast(F, padded[q + 2]);
                        a20 = b.fma(in0, a20);
                        a21 = b.fma(in1, a21);
                        b = FloatVector.broadcast(F, padded[q + 3]);
                        a30 = b.fma(in0, a30);
                        a31 = b.fma(in1, a31);
                        b = FloatVector.broadcast(F, padded[q + 4]);
                        a40 = b.fma(in0, a40);
                        a41 = b.fma(in1, a41);
                        b = FloatVector.broadcast(F, padded[q + 5]);
                        a50 = b.fma(in0, a50);
                        a51 = b.fma(in1, a51);
                    }
                    // through the tile (heap), as the GEMM writes its tiles: no vector crosses a call
                    a00.intoArray(tile, 0);
                    a01.intoArray(tile, LANES);
                    a10.intoArray(tile, 2 * LANES);
                    a11.intoArray(tile, 3 * LANES);
                    a20.intoArray(tile, 4 * LANES);
                    a21.intoArray(tile, 5 * LANES);
                    a30.intoArray(tile, 6 * LANES);
                    a31.intoArray(tile, 7 * LANES);
                    a40.intoArray(tile, 8 * LANES);
                    a41.intoArray(tile, 9 * LANES);
                    a50.intoArray(tile, 10 * LANES);
                    a51.intoArray(tile, 11 * LANES);
                    long rowOut = outOff + (long) y * oW + xb;
                    for (int r = 0; r < OB && o0 + r < og; r++) {
                        store(tile, 2 * r * LANES, o0 + r, l, rowOut, Math.min(2 * LANES, oW - xb), e, out);
                    }
                }
            }
        }
        if (e.rowActivation()) { // as the GEMM applies it per tile row; elementwise, and each activation's vector and
            // scalar forms give the same bits (issue 13), so one call over all rows gives the GEMM's bits
            Elementwise.unaryContiguous(e.activation(), 0f, 0f, out, outOff << 2, out, outOff << 2, og * l);
        }
    }

    /**
     * Output channel o's n pixels of one row from {@code tile[t ..]}: bias and ReLU as the GEMM's tile writer, stored
     * whole, masked, or at the output segment's very end lane by lane (a masked access crossing a segment's end takes
     * the Vector API's slow path). No vector is passed to a call: an uninlined call would box it.
     */
    private static void store(float[] tile, int t, int o, int l, long rowOut, int n, Sgemm.Epilogue e, MemorySegment out) {
        long at = rowOut + (long) o * l;
        boolean bias = e.bias() != null;
        boolean relu = e.relu();
        float b = bias ? e.bias().get(FLOAT, (e.biasOff() + o) << 2) : 0f;
        for (int h = 0; h < n; h += LANES) {
            long off = (at + h) << 2;
            int left = n - h;
            if (left < LANES && off + VBYTES > out.byteSize()) {
                for (int i = 0; i < left; i++) {
                    float v = tile[t + h + i];
                    if (bias) {
                        v += b;
                    }
                    if (relu && v <= 0f) {
                        v = 0f;
                    }
                    out.set(FLOAT, off + ((long) i << 2), v);
                }
                continue;
            }
            FloatVector v = FloatVector.fromArray(F, tile, t + h);
            if (bias) {
                v = v.add(b);
            }
            if (relu) {
                v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
            }
            if (left >= LANES) {
                v.intoMemorySegment(out, off, ORDER);
            } else {
                v.intoMemorySegment(out, off, ORDER, Simd.LANE_INDEX.compare(VectorOperators.LT, (float) left));
            }
        }
    }
}
