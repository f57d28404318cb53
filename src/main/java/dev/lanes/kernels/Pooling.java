package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;

/**
 * 2-d pooling over contiguous planes ({@code [planes, h, w]}, planes = N * C), PyTorch's window rules:
 * max pooling with padding (padded cells never win), dilation and saved argmax indices ({@code h * w + w}
 * within the plane); average pooling with {@code count_include_pad}; adaptive average pooling with windows
 * {@code [floor(i h / oh), ceil((i + 1) h / oh))}. Planes are split across threads.
 */
public final class Pooling {
    private Pooling() {
    }

    /** Window geometry shared by the pooling kernels. */
    public record Window(int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW) {
    }

    /** PyTorch's pooling_output_shape for one spatial dim. */
    public static int outputSize(int in, int k, int pad, int stride, int dilation, boolean ceil) {
        long num = (long) in + 2L * pad - (long) dilation * (k - 1) - 1 + (ceil ? stride - 1 : 0);
        long out = Math.floorDiv(num, stride) + 1;
        if (ceil && (out - 1) * stride >= in + pad) {
            out--;
        }
        return (int) out;
    }

    public static void maxPool2d(MemorySegment in, long inOff, int planes, int h, int w, Window win,
                                 MemorySegment out, long outOff, MemorySegment idx, long idxOff, int oh, int ow) {
        int parts = Math.min(Parallel.partsFor((long) planes * oh * ow * win.kH() * win.kW(), 1 << 16), Math.max(planes, 1));
        Parallel.run(parts, part -> {
            int p0 = (int) ((long) planes * part / parts);
            int p1 = (int) ((long) planes * (part + 1) / parts);
            for (int pl = p0; pl < p1; pl++) {
                long inPlane = inOff + (long) pl * h * w;
                long outPlane = outOff + (long) pl * oh * ow;
                for (int y = 0; y < oh; y++) {
                    int hs = y * win.sH() - win.pH();
                    for (int x = 0; x < ow; x++) {
                        int ws = x * win.sW() - win.pW();
                        float best = Float.NEGATIVE_INFINITY;
                        int bestIdx = -1;
                        for (int i = 0; i < win.kH(); i++) {
                            int hh = hs + i * win.dH();
                            if (hh < 0 || hh >= h) {
                                continue;
                            }
                            long rowElem = inPlane + (long) hh * w;
                            for (int j = 0; j < win.kW(); j++) {
                                int ww = ws + j * win.dW();
                                if (ww < 0 || ww >= w) {
                                    continue;
                                }
                                float v = in.get(FLOAT, (rowElem + ww) << 2);
                                // first maximum wins; a NaN wins and stays (PyTorch: val > max || isnan(val))
                                if (bestIdx < 0 || v > best || Float.isNaN(v)) {
                                    best = v;
                                    bestIdx = hh * w + ww;
                                    if (Float.isNaN(v)) {
                                        i = win.kH();
                                        break;
                                    }
                                }
                            }
                        }
                        long o = outPlane + (long) y * ow + x;
                        out.set(FLOAT, o << 2, best);
                        if (idx != null) {
                            idx.set(LONG, (idxOff + o - outOff) << 3, bestIdx);
                        }
                    }
                }
            }
        });
    }

    /** dx[plane, idx] += g[plane, o] for every output position (dx zeroed first). */
    public static void maxPool2dBackward(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int planes, int outPerPlane,
                                         MemorySegment dx, long dxOff, int inPerPlane) {
        dx.asSlice(dxOff << 2, (long) planes * inPerPlane << 2).fill((byte) 0);
        int parts = Math.min(Parallel.partsFor((long) planes * outPerPlane, 1 << 16), Math.max(planes, 1));
        Parallel.run(parts, part -> {
            int p0 = (int) ((long) planes * part / parts);
            int p1 = (int) ((long) planes * (part + 1) / parts);
            for (int pl = p0; pl < p1; pl++) {
                long gp = gOff + (long) pl * outPerPlane;
                long ip = idxOff + (long) pl * outPerPlane;
                long dp = dxOff + (long) pl * inPerPlane;
                for (int o = 0; o < outPerPlane; o++) {
                    long k = idx.get(LONG, (ip + o) << 3);
                    if (k >= 0) {
                        long at = (dp + k) << 2;
                        dx.set(FLOAT, at, dx.get(FLOAT, at) + g.get(FLOAT, (gp + o) << 2));
                    }
                }
            }
        });
    }

    /**
     * Average pooling forward ({@code backward == false}: in -> out) or backward ({@code true}: g = out-shaped
     * gradient in {@code a}, written into zeroed dx {@code b}), with PyTorch's divisor rules.
     */
    public static void avgPool2d(boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff, int planes, int h, int w,
                                 Window win, boolean countIncludePad, int oh, int ow) {
        if (backward) {
            b.asSlice(bOff << 2, (long) planes * h * w << 2).fill((byte) 0);
        }
        int parts = Math.min(Parallel.partsFor((long) planes * oh * ow * win.kH() * win.kW(), 1 << 16), Math.max(planes, 1));
        Parallel.run(parts, part -> {
            int p0 = (int) ((long) planes * part / parts);
            int p1 = (int) ((long) planes * (part + 1) / parts);
            for (int pl = p0; pl < p1; pl++) {
                long inPlane = (backward ? bOff : aOff) + (long) pl * h * w;
                long outPlane = (backward ? aOff : bOff) + (long) pl * oh * ow;
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        int hs = y * win.sH() - win.pH();
                        int ws = x * win.sW() - win.pW();
                        int he = Math.min(hs + win.kH(), h + win.pH());
                        int we = Math.min(ws + win.kW(), w + win.pW());
                        int poolSize = (he - hs) * (we - ws);
                        hs = Math.max(hs, 0);
                        ws = Math.max(ws, 0);
                        he = Math.min(he, h);
                        we = Math.min(we, w);
                        int divisor = countIncludePad ? poolSize : (he - hs) * (we - ws);
                        long o = outPlane + (long) y * ow + x;
                        if (!backward) {
                            float sum = 0f;
                            for (int i = hs; i < he; i++) {
                                for (int j = ws; j < we; j++) {
                                    sum += a.get(FLOAT, (inPlane + (long) i * w + j) << 2);
                                }
                            }
                            b.set(FLOAT, o << 2, sum / divisor);
                        } else {
                            float share = a.get(FLOAT, o << 2) / divisor;
                            for (int i = hs; i < he; i++) {
                                for (int j = ws; j < we; j++) {
                                    long at = (inPlane + (long) i * w + j) << 2;
                                    b.set(FLOAT, at, b.get(FLOAT, at) + share);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /** Adaptive average pooling forward (in a -> out b) or backward (g a -> zeroed dx b). */
    public static void adaptiveAvgPool2d(boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff, int planes, int h, int w,
                                         int oh, int ow) {
        if (backward) {
            b.asSlice(bOff << 2, (long) planes * h * w << 2).fill((byte) 0);
        }
        int parts = Math.min(Parallel.partsFor((long) planes * h * w, 1 << 16), Math.max(planes, 1));
        Parallel.run(parts, part -> {
            int p0 = (int) ((long) planes * part / parts);
            int p1 = (int) ((long) planes * (part + 1) / parts);
            for (int pl = p0; pl < p1; pl++) {
                long inPlane = (backward ? bOff : aOff) + (long) pl * h * w;
                long outPlane = (backward ? aOff : bOff) + (long) pl * oh * ow;
                for (int y = 0; y < oh; y++) {
                    int hs = (int) Math.floorDiv((long) y * h, oh);
                    int he = (int) -Math.floorDiv(-(long) (y + 1) * h, oh);
                    for (int x = 0; x < ow; x++) {
                        int ws = (int) Math.floorDiv((long) x * w, ow);
                        int we = (int) -Math.floorDiv(-(long) (x + 1) * w, ow);
                        int count = (he - hs) * (we - ws);
                        long o = outPlane + (long) y * ow + x;
                        if (!backward) {
                            float sum = 0f;
                            for (int i = hs; i < he; i++) {
                                for (int j = ws; j < we; j++) {
                                    sum += a.get(FLOAT, (inPlane + (long) i * w + j) << 2);
                                }
                            }
                            b.set(FLOAT, o << 2, sum / count);
                        } else {
                            float share = a.get(FLOAT, o << 2) / count;
                            for (int i = hs; i < he; i++) {
                                for (int j = ws; j < we; j++) {
                                    long at = (inPlane + (long) i * w + j) << 2;
                                    b.set(FLOAT, at, b.get(FLOAT, at) + share);
                                }
                            }
                        }
                    }
                }
            }
        });
    }
}
