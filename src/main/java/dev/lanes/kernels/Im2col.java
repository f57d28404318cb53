package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;

import java.lang.foreign.MemorySegment;

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
                            col.asSlice(dst << 2, (long) g.oW() << 2).fill((byte) 0);
                            continue;
                        }
                        long src = plane + (long) hh * g.w();
                        int w0 = j * g.dW() - g.pL();
                        if (g.sW() == 1) {
                            // x in [xLo, xHi) reads inside the row: one bulk copy, zeros around it
                            int xLo = Math.max(0, -w0);
                            int xHi = Math.min(g.oW(), g.w() - w0);
                            if (xHi <= xLo) {
                                col.asSlice(dst << 2, (long) g.oW() << 2).fill((byte) 0);
                                continue;
                            }
                            if (xLo > 0) {
                                col.asSlice(dst << 2, (long) xLo << 2).fill((byte) 0);
                            }
                            MemorySegment.copy(in, (src + w0 + xLo) << 2, col, (dst + xLo) << 2, (long) (xHi - xLo) << 2);
                            if (xHi < g.oW()) {
                                col.asSlice((dst + xHi) << 2, (long) (g.oW() - xHi) << 2).fill((byte) 0);
                            }
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
                                long d = (dstRow + w0 + xLo) << 2;
                                Elementwise.binaryContiguous(BinaryOp.ADD, img, d, col, (src + xLo) << 2, img, d, xHi - xLo);
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
}
