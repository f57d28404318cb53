package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-d nearest and bilinear resampling of contiguous planes ({@code [planes, h, w] -> [planes, oh, ow]}, planes =
 * N * C), forward and adjoint, each one pass over the planes: F.interpolate's 4-d nearest / bilinear. The source rows
 * and columns come as tables ({@link Linear}, or plain indices for nearest) that the caller computes by its rule.
 *
 * <p>The bits are those of resampling the rows, then the columns, one axis at a time (index_select, mul, add, as
 * {@code nn.functional.Resample} does): bilinear blends two input rows into a row of the input's width,
 * {@code fl(fl(x[lo] a) + fl(x[hi] b))} (no fused multiply-add), then each output element from two cells of that row
 * the same way. The adjoint sums in the order the composition's index_add backward does: along a row, each column's
 * low-neighbour terms in output order, then plus its high-neighbour terms; down the plane likewise by output row. Each
 * thread owns whole planes, so the bits do not depend on the thread count. Scratch is a per-thread buffer grown on
 * first use: a warm call allocates nothing.
 */
public final class Upsample {
    private Upsample() {
    }

    /**
     * One axis of a linear resize: output {@code o} reads {@code lo[o]} and {@code hi[o]} with weights {@code wLo[o]}
     * and {@code wHi[o]}. {@code lo} and {@code hi} are non-decreasing (the adjoint relies on it).
     */
    public record Linear(int[] lo, int[] hi, float[] wLo, float[] wHi) {
        /**
         * Resample.linear's rule: each source coordinate clamped to {@code [0, in - 1]}, {@code lo = floor(c)},
         * {@code hi = min(lo + 1, in - 1)}, weights {@code (float) (1 - f)} and {@code (float) f} with
         * {@code f = c - lo} (in double). Null if the coordinates are not non-decreasing (not this kernel's case).
         */
        public static Linear of(int in, double[] source) {
            int out = source.length;
            int[] lo = new int[out];
            int[] hi = new int[out];
            float[] wLo = new float[out];
            float[] wHi = new float[out];
            for (int o = 0; o < out; o++) {
                double c = Math.max(0, Math.min(in - 1, source[o]));
                int l = (int) Math.floor(c);
                double frac = c - l;
                lo[o] = l;
                hi[o] = Math.min(in - 1, l + 1);
                wLo[o] = (float) (1 - frac);
                wHi[o] = (float) frac;
                if (o > 0 && (lo[o] < lo[o - 1] || hi[o] < hi[o - 1])) {
                    return null;
                }
            }
            return new Linear(lo, hi, wLo, wHi);
        }

        public int size() {
            return lo.length;
        }
    }

    /** True if every index lies in {@code [0, in)} and they do not decrease. */
    public static boolean monotoneIndex(int[] index, int in) {
        for (int o = 0; o < index.length; o++) {
            if (index[o] < 0 || index[o] >= in || (o > 0 && index[o] < index[o - 1])) {
                return false;
            }
        }
        return true;
    }

    /** Scratch of this thread: grown, never shrunk. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch(int n) {
        float[][] s = SCRATCH.get();
        if (s[0].length < n) {
            s[0] = new float[Math.max(n, 2 * s[0].length)];
        }
        return s[0];
    }

    // ---- drivers ---------------------------------------------------------------------------------------------------

    /**
     * Nearest: {@code out[p, i, j] = in[p, rows[i], cols[j]]} (forward), or its adjoint: {@code in} is the gradient
     * of the {@code [planes, rows.length, cols.length]} output, {@code out} the {@code [planes, h, w]} input gradient
     * (overwritten).
     */
    public static void nearest2d(boolean backward, MemorySegment in, long inOff, MemorySegment out, long outOff, int planes, int h, int w,
                                 int[] rows, int[] cols, boolean parallel) {
        launch(backward, false, in, inOff, out, outOff, planes, h, w, rows, cols, null, null, parallel);
    }

    /** Bilinear, forward or adjoint as {@link #nearest2d}. */
    public static void bilinear2d(boolean backward, MemorySegment in, long inOff, MemorySegment out, long outOff, int planes, int h, int w,
                                  Linear rows, Linear cols, boolean parallel) {
        launch(backward, true, in, inOff, out, outOff, planes, h, w, null, null, rows, cols, parallel);
    }

    private static void launch(boolean backward, boolean bilinear, MemorySegment in, long inOff, MemorySegment out, long outOff, int planes,
                               int h, int w, int[] rows, int[] cols, Linear lRows, Linear lCols, boolean parallel) {
        int oh = bilinear ? lRows.size() : rows.length;
        int ow = bilinear ? lCols.size() : cols.length;
        long work = (long) planes * ((long) oh * ow + (long) h * w);
        int parts = parallel ? Math.min(Parallel.partsFor(work, 1 << 16), Math.max(planes, 1)) : 1;
        if (parts <= 1) {
            planes(0, planes, backward, bilinear, in, inOff, out, outOff, h, w, rows, cols, lRows, lCols);
            return;
        }
        Job job = Job.MINE.get();
        job.set(backward, bilinear, in, inOff, out, outOff, h, w, rows, cols, lRows, lCols);
        try {
            Parallel.forRange(parts, planes, job);
        } finally {
            job.release();
        }
    }

    /** The parallel body: planes [from, to). One per calling thread, reused (a capturing lambda is heap per call). */
    private static final class Job implements Parallel.RangeBody {
        static final ThreadLocal<Job> MINE = ThreadLocal.withInitial(Job::new);
        private boolean backward;
        private boolean bilinear;
        private MemorySegment in;
        private long inOff;
        private MemorySegment out;
        private long outOff;
        private int h;
        private int w;
        private int[] rows;
        private int[] cols;
        private Linear lRows;
        private Linear lCols;

        void set(boolean backward, boolean bilinear, MemorySegment in, long inOff, MemorySegment out, long outOff, int h, int w, int[] rows,
                 int[] cols, Linear lRows, Linear lCols) {
            this.backward = backward;
            this.bilinear = bilinear;
            this.in = in;
            this.inOff = inOff;
            this.out = out;
            this.outOff = outOff;
            this.h = h;
            this.w = w;
            this.rows = rows;
            this.cols = cols;
            this.lRows = lRows;
            this.lCols = lCols;
        }

        void release() {
            in = null;
            out = null;
            rows = null;
            cols = null;
            lRows = null;
            lCols = null;
        }

        @Override
        public void accept(int part, int p0, int p1) {
            planes(p0, p1, backward, bilinear, in, inOff, out, outOff, h, w, rows, cols, lRows, lCols);
        }
    }

    private static void planes(int p0, int p1, boolean backward, boolean bilinear, MemorySegment in, long inOff, MemorySegment out,
                               long outOff, int h, int w, int[] rows, int[] cols, Linear lRows, Linear lCols) {
        int oh = bilinear ? lRows.size() : rows.length;
        int ow = bilinear ? lCols.size() : cols.length;
        long inPlane = (long) h * w;
        long outPlane = (long) oh * ow;
        float[] buf = scratch(2 * w + ow + LANES);
        for (int p = p0; p < p1; p++) {
            if (!backward) {
                if (bilinear) {
                    bilinearPlane(in, (inOff + p * inPlane) << 2, out, (outOff + p * outPlane) << 2, w, lRows, lCols, buf);
                } else {
                    nearestPlane(in, (inOff + p * inPlane) << 2, out, (outOff + p * outPlane) << 2, w, rows, cols, buf);
                }
            } else {
                // in: the output gradient, out: the input gradient
                Elementwise.zero(out, (outOff + p * inPlane) << 2, inPlane);
                if (bilinear) {
                    bilinearAdjointPlane(in, (inOff + p * outPlane) << 2, out, (outOff + p * inPlane) << 2, w, lRows, lCols, buf);
                } else {
                    nearestAdjointPlane(in, (inOff + p * outPlane) << 2, out, (outOff + p * inPlane) << 2, w, rows, cols, buf);
                }
            }
        }
    }

    // ---- nearest ---------------------------------------------------------------------------------------------------

    private static void nearestPlane(MemorySegment in, long inB, MemorySegment out, long outB, int w, int[] rows, int[] cols, float[] row) {
        int ow = cols.length;
        long rowBytes = (long) ow << 2;
        for (int i = 0; i < rows.length; i++) {
            long dst = outB + i * rowBytes;
            if (i > 0 && rows[i] == rows[i - 1]) { // an upsampled row repeats: copy the one just written
                MemorySegment.copy(out, dst - rowBytes, out, dst, rowBytes);
                continue;
            }
            MemorySegment.copy(in, FLOAT, inB + ((long) rows[i] * w << 2), row, 0, w);
            int j = 0;
            if (ow == 2 * w) { // 2x: each input element twice (cols[j] == j / 2 is checked as we go)
                for (; j + 1 < ow && cols[j] == j >> 1 && cols[j + 1] == j >> 1; j += 2) {
                    float v = row[j >> 1];
                    row[w + j] = v;
                    row[w + j + 1] = v;
                }
            }
            for (; j < ow; j++) {
                row[w + j] = row[cols[j]];
            }
            MemorySegment.copy(row, w, out, FLOAT, dst, ow);
        }
    }

    private static void nearestAdjointPlane(MemorySegment g, long gB, MemorySegment dx, long dxB, int w, int[] rows, int[] cols, float[] buf) {
        int ow = cols.length;
        for (int i = 0; i < rows.length; i++) {
            // buf[w, w + ow): this output row's gradient; buf[0, w): its sums by input column (from zero, in column order)
            MemorySegment.copy(g, FLOAT, gB + ((long) i * ow << 2), buf, w, ow);
            java.util.Arrays.fill(buf, 0, w, 0f);
            for (int j = 0; j < ow; j++) {
                buf[cols[j]] += buf[w + j];
            }
            addRow(dx, dxB + ((long) rows[i] * w << 2), buf, 0, w);
        }
    }

    // ---- bilinear --------------------------------------------------------------------------------------------------

    private static void bilinearPlane(MemorySegment in, long inB, MemorySegment out, long outB, int w, Linear lRows, Linear lCols,
                                      float[] buf) {
        int[] cLo = lCols.lo();
        int[] cHi = lCols.hi();
        float[] cA = lCols.wLo();
        float[] cB = lCols.wHi();
        int ow = cLo.length;
        long rowBytes = (long) w << 2;
        for (int i = 0; i < lRows.size(); i++) {
            // buf[0, w): the two input rows blended; buf[w, w + ow): the output row
            blendRows(in, inB + lRows.lo()[i] * rowBytes, inB + lRows.hi()[i] * rowBytes, lRows.wLo()[i], lRows.wHi()[i], buf, w);
            for (int j = 0; j < ow; j++) {
                float below = buf[cLo[j]] * cA[j];
                float above = buf[cHi[j]] * cB[j];
                buf[w + j] = below + above;
            }
            MemorySegment.copy(buf, w, out, FLOAT, outB + ((long) i * ow << 2), ow);
        }
    }

    /** {@code dst[k] = fl(fl(in[lo + k] a) + fl(in[hi + k] b))} for k in [0, w): separate multiplies and add. */
    private static void blendRows(MemorySegment in, long loB, long hiB, float a, float b, float[] dst, int w) {
        int k = 0;
        if (w >= LANES) {
            VectorSpecies<Float> s = Simd.Preferred.F;
            FloatVector va = FloatVector.broadcast(s, a);
            FloatVector vb = FloatVector.broadcast(s, b);
            for (; k <= w - LANES; k += LANES) {
                FloatVector lo = FloatVector.fromMemorySegment(s, in, loB + ((long) k << 2), ORDER);
                FloatVector hi = FloatVector.fromMemorySegment(s, in, hiB + ((long) k << 2), ORDER);
                lo.mul(va).add(hi.mul(vb)).intoArray(dst, k);
            }
        }
        for (; k < w; k++) {
            float below = in.get(FLOAT, loB + ((long) k << 2)) * a;
            float above = in.get(FLOAT, hiB + ((long) k << 2)) * b;
            dst[k] = below + above;
        }
    }

    private static void bilinearAdjointPlane(MemorySegment g, long gB, MemorySegment dx, long dxB, int w, Linear lRows, Linear lCols,
                                             float[] buf) {
        int[] cLo = lCols.lo();
        int[] cHi = lCols.hi();
        float[] cA = lCols.wLo();
        float[] cB = lCols.wHi();
        int ow = cLo.length;
        long rowBytes = (long) w << 2;
        // buf[0, w): the gradient of the row-resampled intermediate for this output row; buf[w, 2w): the low-neighbour
        // sums of the input row now open (the high-neighbour sums go straight into dx, complete before it closes);
        // buf[2w, 2w + ow): this output row of the gradient
        int open = -1;
        for (int i = 0; i < lRows.size(); i++) {
            MemorySegment.copy(g, FLOAT, gB + ((long) i * ow << 2), buf, 2 * w, ow);
            java.util.Arrays.fill(buf, 0, w, 0f);
            int a = -1;
            float sumA = 0f;
            for (int j = 0; j < ow; j++) {
                float gv = buf[2 * w + j];
                int l = cLo[j];
                if (l != a) {
                    if (a >= 0) {
                        buf[a] = sumA + buf[a];
                    }
                    a = l;
                    sumA = 0f;
                }
                sumA += gv * cA[j];
                buf[cHi[j]] += gv * cB[j];
            }
            if (a >= 0) {
                buf[a] = sumA + buf[a];
            }
            int l = lRows.lo()[i];
            if (l != open) {
                if (open >= 0) {
                    closeRow(dx, dxB + open * rowBytes, buf, w);
                }
                open = l;
                java.util.Arrays.fill(buf, w, 2 * w, 0f);
            }
            axpy(buf, 0, lRows.wLo()[i], buf, w, w);
            axpyInto(dx, dxB + lRows.hi()[i] * rowBytes, buf, lRows.wHi()[i], w);
        }
        if (open >= 0) {
            closeRow(dx, dxB + open * rowBytes, buf, w);
        }
    }

    /** {@code dst[d + k] += fl(src[s + k] * c)}. */
    private static void axpy(float[] src, int s, float c, float[] dst, int d, int n) {
        int k = 0;
        if (n >= LANES) {
            VectorSpecies<Float> sp = Simd.Preferred.F;
            FloatVector vc = FloatVector.broadcast(sp, c);
            for (; k <= n - LANES; k += LANES) {
                FloatVector.fromArray(sp, dst, d + k).add(FloatVector.fromArray(sp, src, s + k).mul(vc)).intoArray(dst, d + k);
            }
        }
        for (; k < n; k++) {
            dst[d + k] += src[s + k] * c;
        }
    }

    /** {@code dx[k] += fl(src[k] * c)} for the row at byte {@code rowB}. */
    private static void axpyInto(MemorySegment dx, long rowB, float[] src, float c, int n) {
        int k = 0;
        if (n >= LANES) {
            VectorSpecies<Float> sp = Simd.Preferred.F;
            FloatVector vc = FloatVector.broadcast(sp, c);
            for (; k <= n - LANES; k += LANES) {
                long at = rowB + ((long) k << 2);
                FloatVector.fromMemorySegment(sp, dx, at, ORDER).add(FloatVector.fromArray(sp, src, k).mul(vc)).intoMemorySegment(dx, at, ORDER);
            }
        }
        for (; k < n; k++) {
            long at = rowB + ((long) k << 2);
            dx.set(FLOAT, at, dx.get(FLOAT, at) + src[k] * c);
        }
    }

    /** {@code dx[k] = buf[w + k] + dx[k]}: the low-neighbour sums plus the high-neighbour sums already there. */
    private static void closeRow(MemorySegment dx, long rowB, float[] buf, int w) {
        int k = 0;
        if (w >= LANES) {
            VectorSpecies<Float> sp = Simd.Preferred.F;
            for (; k <= w - LANES; k += LANES) {
                long at = rowB + ((long) k << 2);
                FloatVector.fromArray(sp, buf, w + k).add(FloatVector.fromMemorySegment(sp, dx, at, ORDER)).intoMemorySegment(dx, at, ORDER);
            }
        }
        for (; k < w; k++) {
            long at = rowB + ((long) k << 2);
            dx.set(FLOAT, at, buf[w + k] + dx.get(FLOAT, at));
        }
    }

    /** {@code dx[k] += src[s + k]}. */
    private static void addRow(MemorySegment dx, long rowB, float[] src, int s, int n) {
        int k = 0;
        if (n >= LANES) {
            VectorSpecies<Float> sp = Simd.Preferred.F;
            for (; k <= n - LANES; k += LANES) {
                long at = rowB + ((long) k << 2);
                FloatVector.fromMemorySegment(sp, dx, at, ORDER).add(FloatVector.fromArray(sp, src, s + k)).intoMemorySegment(dx, at, ORDER);
            }
        }
        for (; k < n; k++) {
            long at = rowB + ((long) k << 2);
            dx.set(FLOAT, at, dx.get(FLOAT, at) + src[s + k]);
        }
    }
}
