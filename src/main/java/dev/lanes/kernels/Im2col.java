package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The layout change that turns a 2-d convolution into a GEMM. For one image of {@code c} channels,
 * {@code col[(ch * kH + i) * kW + j, y * oW + x] = in[ch, y * sH - pT + i * dH, x * sW - pL + j * dW]} (0 outside
 * the image): each column holds one receptive field. {@link #col2im} is its adjoint, adding columns back into
 * an image gradient. {@code pT}/{@code pL} are the top/left padding; bottom/right padding follows from the output size.
 */
public final class Im2col {
    private Im2col() {
    }

    /** Convolution geometry of one spatial layer. */
    public record Geometry(int c, int h, int w, int kH, int kW, int sH, int sW, int pT, int pL, int dH, int dW, int oH, int oW) {
        public int rows() {
            return c * kH * kW;
        }

        public int cols() {
            return oH * oW;
        }
    }

    public static void im2col(MemorySegment in, long inOff, Geometry g, MemorySegment col, long colOff) {
        int cols = g.cols();
        for (int ch = 0; ch < g.c(); ch++) {
            long plane = inOff + (long) ch * g.h() * g.w();
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    long rowStart = colOff + (long) ((ch * g.kH() + i) * g.kW() + j) * cols;
                    for (int y = 0; y < g.oH(); y++) {
                        int hh = y * g.sH() - g.pT() + i * g.dH();
                        long dst = rowStart + (long) y * g.oW();
                        if (hh < 0 || hh >= g.h()) {
                            zero(col, dst, g.oW());
                            continue;
                        }
                        long src = plane + (long) hh * g.w();
                        int w0 = j * g.dW() - g.pL();
                        if (g.sW() == 1) {
                            // x in [xLo, xHi) reads inside the row: one bulk copy, zeros around it
                            int xLo = Math.max(0, -w0);
                            int xHi = Math.min(g.oW(), g.w() - w0);
                            if (xHi <= xLo) {
                                zero(col, dst, g.oW());
                                continue;
                            }
                            zero(col, dst, xLo);
                            copy(in, src + w0 + xLo, col, dst + xLo, xHi - xLo);
                            zero(col, dst + xHi, g.oW() - xHi);
                        } else {
                            for (int x = 0; x < g.oW(); x++) {
                                int ww = x * g.sW() + w0;
                                col.set(FLOAT, (dst + x) << 2, ww >= 0 && ww < g.w() ? in.get(FLOAT, (src + ww) << 2) : 0f);
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code img += col2im(col)}: each column element is added to the input pixel it was read from. */
    public static void col2im(MemorySegment col, long colOff, Geometry g, MemorySegment img, long imgOff) {
        int cols = g.cols();
        for (int ch = 0; ch < g.c(); ch++) {
            long plane = imgOff + (long) ch * g.h() * g.w();
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    long rowStart = colOff + (long) ((ch * g.kH() + i) * g.kW() + j) * cols;
                    for (int y = 0; y < g.oH(); y++) {
                        int hh = y * g.sH() - g.pT() + i * g.dH();
                        if (hh < 0 || hh >= g.h()) {
                            continue;
                        }
                        long src = rowStart + (long) y * g.oW();
                        long dstRow = plane + (long) hh * g.w();
                        int w0 = j * g.dW() - g.pL();
                        if (g.sW() == 1) {
                            int xLo = Math.max(0, -w0);
                            int xHi = Math.min(g.oW(), g.w() - w0);
                            if (xHi > xLo) {
                                accumulate(col, src + xLo, img, dstRow + w0 + xLo, xHi - xLo);
                            }
                        } else {
                            for (int x = 0; x < g.oW(); x++) {
                                int ww = x * g.sW() + w0;
                                if (ww >= 0 && ww < g.w()) {
                                    long at = (dstRow + ww) << 2;
                                    img.set(FLOAT, at, img.get(FLOAT, at) + col.get(FLOAT, (src + x) << 2));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Copies {@code n} floats (element offsets). Rows here are short (28 floats in LeNet), where
     * {@code MemorySegment.copy}'s per-call checks cost more than the copy, and scalar tails dominate: a row of 16 or
     * more is copied as full vectors with the last one overlapping the previous; a shorter row uses one masked
     * vector when a full-width access stays inside both segments (otherwise the Vector API's masked access takes
     * its slow path), else scalars.
     */
    private static void copy(MemorySegment src, long srcElem, MemorySegment dst, long dstElem, int n) {
        long s = srcElem << 2;
        long d = dstElem << 2;
        if (n >= LANES) {
            for (int i = 0; i < n; i += LANES) {
                long at = (long) Math.min(i, n - LANES) << 2;
                FloatVector.fromMemorySegment(F, src, s + at, ORDER).intoMemorySegment(dst, d + at, ORDER);
            }
        } else if (s + VBYTES <= src.byteSize() && d + VBYTES <= dst.byteSize()) {
            VectorMask<Float> m = F.indexInRange(0, n);
            FloatVector.fromMemorySegment(F, src, s, ORDER, m).intoMemorySegment(dst, d, ORDER, m);
        } else {
            for (int i = 0; i < n; i++) {
                dst.set(FLOAT, d + ((long) i << 2), src.get(FLOAT, s + ((long) i << 2)));
            }
        }
    }

    private static void zero(MemorySegment dst, long elem, int n) {
        long d = elem << 2;
        if (n >= LANES) {
            for (int i = 0; i < n; i += LANES) {
                FloatVector.zero(F).intoMemorySegment(dst, d + ((long) Math.min(i, n - LANES) << 2), ORDER);
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst.set(FLOAT, d + ((long) i << 2), 0f);
            }
        }
    }

    /** {@code dst[0..n) += src[0..n)}: full vectors, then one masked vector when it stays inside both segments, else scalars. */
    private static void accumulate(MemorySegment src, long srcElem, MemorySegment dst, long dstElem, int n) {
        long s = srcElem << 2;
        long d = dstElem << 2;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            long at = (long) i << 2;
            FloatVector.fromMemorySegment(F, dst, d + at, ORDER).add(FloatVector.fromMemorySegment(F, src, s + at, ORDER))
                    .intoMemorySegment(dst, d + at, ORDER);
        }
        if (i == n) {
            return;
        }
        long at = (long) i << 2;
        if (s + at + VBYTES <= src.byteSize() && d + at + VBYTES <= dst.byteSize()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, dst, d + at, ORDER, m).add(FloatVector.fromMemorySegment(F, src, s + at, ORDER, m))
                    .intoMemorySegment(dst, d + at, ORDER, m);
        } else {
            for (; i < n; i++) {
                long b = (long) i << 2;
                dst.set(FLOAT, d + b, dst.get(FLOAT, d + b) + src.get(FLOAT, s + b));
            }
        }
    }
}
