package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Reductions over one dimension of a contiguous float block viewed as {@code [outer, r, inner]}:
 * element {@code (o, k, i)} sits at {@code off + (o * r + k) * inner + i}; the output is
 * {@code [outer, inner]}, contiguous. Reducing everything is {@code outer = inner = 1}.
 *
 * <p>The order of additions is fixed by the shape alone, so results never depend on timing or threads.
 */
public final class Reductions {
    /** Elements summed in float lanes before the partial sum is folded into a double. */
    private static final int BLOCK = 4096;

    private Reductions() {
    }

    /** out[o, i] = sum_k in[o, k, i] */
    public static void sum(MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment out, long outOff) {
        sum(in, inOff, outer, r, inner, out, outOff, false);
    }

    /**
     * {@link #sum(MemorySegment, long, int, int, int, MemorySegment, long)}, with {@code parallel} allowing the columns of
     * a large {@code [r, inner]} block to be split across {@link Parallel}'s workers (a bias gradient sums 2,048 rows of
     * 512 floats: it ran on one thread, ~2% of a GPT step's 2-thread wall time). Each column is still summed by one
     * thread in row order, so the bits are those of the serial call for any thread count.
     */
    public static void sum(MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment out, long outOff, boolean parallel) {
        int strips = (inner + STRIP - 1) / STRIP;
        int parts = parallel && inner > 1 && r > 0 ? Math.min(strips, Parallel.partsFor((long) r * inner, PARALLEL_MIN_FLOATS)) : 1;
        if (parts > 1) {
            ColumnsJob job = ColumnsJob.MINE.get();
            try {
                for (int o = 0; o < outer; o++) {
                    job.set(in, (inOff + (long) o * r * inner) << 2, r, inner, out, (outOff + (long) o * inner) << 2);
                    Parallel.forRange(parts, strips, job);
                }
            } finally {
                job.release();
            }
            return;
        }
        if (inner == 1) {
            for (int o = 0; o < outer; o++) {
                out.set(FLOAT, (outOff + o) << 2, (float) sumRow(in, (inOff + (long) o * r) << 2, r));
            }
            return;
        }
        for (int o = 0; o < outer; o++) {
            long ob = (outOff + (long) o * inner) << 2;
            if (r == 0) {
                Elementwise.zero(out, ob, inner);
                continue;
            }
            sumRows(in, (inOff + (long) o * r * inner) << 2, r, inner, inner, out, ob);
        }
    }

    /**
     * {@code out[c] = sum over images i and positions p of in[i, c, p]} for a contiguous {@code [n, channels, plane]}
     * block (a convolution's bias gradient): each plane summed as {@link #sumRow} sums it, the planes of a channel added
     * in image order in double. With {@code parallel} the channels may be split across {@link Parallel}'s workers (each
     * channel still summed by one thread: the same bits; LeNet's were ~5% of a 2-thread step, all on one thread).
     */
    public static void channelSums(MemorySegment in, long inOff, int n, int channels, int plane, MemorySegment out, long outOff, boolean parallel) {
        int parts = parallel ? Math.min(channels, Parallel.partsFor((long) n * channels * plane, PARALLEL_MIN_FLOATS)) : 1;
        if (parts <= 1) {
            channelSums(in, inOff, n, channels, plane, 0, channels, out, outOff);
            return;
        }
        ChannelsJob job = ChannelsJob.MINE.get();
        job.set(in, inOff, n, channels, plane, out, outOff);
        try {
            Parallel.forRange(parts, channels, job);
        } finally {
            job.release();
        }
    }

    private static void channelSums(MemorySegment in, long inOff, int n, int channels, int plane, int c0, int c1, MemorySegment out, long outOff) {
        for (int c = c0; c < c1; c++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                total += sumRow(in, (inOff + ((long) i * channels + c) * plane) << 2, plane);
            }
            out.set(FLOAT, (outOff + c) << 2, (float) total);
        }
    }

    /** The parallel body of {@link #channelSums}: channels [from, to); one per thread, reused. */
    private static final class ChannelsJob implements Parallel.RangeBody {
        static final ThreadLocal<ChannelsJob> MINE = new ThreadLocal<>() {
            @Override
            protected ChannelsJob initialValue() {
                return new ChannelsJob();
            }
        };
        private MemorySegment in;
        private long inOff;
        private int n;
        private int channels;
        private int plane;
        private MemorySegment out;
        private long outOff;

        void set(MemorySegment in, long inOff, int n, int channels, int plane, MemorySegment out, long outOff) {
            this.in = in;
            this.inOff = inOff;
            this.n = n;
            this.channels = channels;
            this.plane = plane;
            this.out = out;
            this.outOff = outOff;
        }

        void release() {
            in = null;
            out = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            channelSums(in, inOff, n, channels, plane, from, to, out, outOff);
        }
    }

    /** Columns per share of a parallel {@link #sum}: sumRows' widest strip, so a split leaves every strip whole. */
    private static final int STRIP = 4 * Simd.LANES;
    /** Below this many floats a sum stays on the calling thread (Elementwise's threshold for a pass over memory). */
    private static final int PARALLEL_MIN_FLOATS = Elementwise.PARALLEL_MIN_FLOATS;

    /** The parallel body of {@link #sum}: strips [from, to) of one {@code [r, inner]} block; one per thread, reused (a compiled step allocates nothing). */
    private static final class ColumnsJob implements Parallel.RangeBody {
        static final ThreadLocal<ColumnsJob> MINE = new ThreadLocal<>() {
            @Override
            protected ColumnsJob initialValue() {
                return new ColumnsJob();
            }
        };
        private MemorySegment in;
        private long base;
        private int r;
        private int inner;
        private MemorySegment out;
        private long ob;

        void set(MemorySegment in, long base, int r, int inner, MemorySegment out, long ob) {
            this.in = in;
            this.base = base;
            this.r = r;
            this.inner = inner;
            this.out = out;
            this.ob = ob;
        }

        void release() {
            in = null;
            out = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            int c0 = from * STRIP;
            int c1 = Math.min(inner, to * STRIP);
            if (c1 > c0) {
                sumRows(in, base + ((long) c0 << 2), r, c1 - c0, inner, out, ob + ((long) c0 << 2));
            }
        }
    }

    /**
     * {@code out[i] = ((row0[i] + row1[i]) + row2[i]) + ...} over r rows of {@code inner} floats {@code rowStride} floats
     * apart (byte offsets): column
     * strips of up to four vectors stay in registers while the rows stream past, instead of a load and a store of
     * the output per row (a bias gradient sums 2,048 rows of 128 floats; per-row adds were 10% of a GPT step). Each
     * element's additions are in row order, whatever the width.
     */
    private static void sumRows(MemorySegment in, long base, int r, int inner, int rowStride, MemorySegment out, long ob) {
        if (r <= ROWS_PER_BLOCK) {
            sumRowBlock(in, base, r, inner, rowStride, out, ob);
            return;
        }
        // blocks of ROWS_PER_BLOCK rows summed in float32 as above, the blocks' sums added per column in double, in block
        // order (as sumRow does along a row): one float32 total over a million rows of 0.1 was 1% off (100958 for
        // 100000; PyTorch's cascade sum is right), 2e7 rows of 1 stopped at 16777216. Up to a block, the same bits as before.
        double[] total = blockTotals(inner);
        java.util.Arrays.fill(total, 0, inner, 0.0);
        long rowBytes = (long) rowStride << 2;
        for (int r0 = 0; r0 < r; r0 += ROWS_PER_BLOCK) {
            sumRowBlock(in, base + r0 * rowBytes, Math.min(ROWS_PER_BLOCK, r - r0), inner, rowStride, out, ob);
            for (int i = 0; i < inner; i++) {
                total[i] += out.get(FLOAT, ob + ((long) i << 2));
            }
        }
        for (int i = 0; i < inner; i++) {
            out.set(FLOAT, ob + ((long) i << 2), (float) total[i]);
        }
    }

    /** This thread's per-column totals of {@link #sumRows}, grown and kept: a compiled step's bias gradients allocate nothing. */
    private static final ThreadLocal<double[][]> TOTALS = new ThreadLocal<>() {
        @Override
        protected double[][] initialValue() {
            return new double[][] {new double[0]};
        }
    };

    private static double[] blockTotals(int inner) {
        double[][] held = TOTALS.get();
        if (held[0].length < inner) {
            held[0] = new double[inner];
        }
        return held[0];
    }

    /**
     * Rows per float32 block of {@link #sumRows}: short enough that a block's chain in float32 stays within ~1e-6 of
     * exact (4096-row blocks left 4e-5: 100003.85 for a million rows of 0.1f, whose exact sum is 100000.0015 and
     * PyTorch's cascade 99999.945), the blocks added in double.
     */
    static final int ROWS_PER_BLOCK = 128;

    /** {@link #sumRows} over at most one block: each column's rows added in order in float32. */
    private static void sumRowBlock(MemorySegment in, long base, int r, int inner, int rowStride, MemorySegment out, long ob) {
        long bytes = (long) inner << 2;
        long rowBytes = (long) rowStride << 2;
        long x = 0;
        for (; x + 4 * VBYTES <= bytes; x += 4 * VBYTES) {
            long at = base + x;
            FloatVector a0 = FloatVector.fromMemorySegment(F, in, at, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(F, in, at + VBYTES, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(F, in, at + 2 * VBYTES, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(F, in, at + 3 * VBYTES, ORDER);
            for (int k = 1; k < r; k++) {
                at += rowBytes;
                a0 = a0.add(FloatVector.fromMemorySegment(F, in, at, ORDER));
                a1 = a1.add(FloatVector.fromMemorySegment(F, in, at + VBYTES, ORDER));
                a2 = a2.add(FloatVector.fromMemorySegment(F, in, at + 2 * VBYTES, ORDER));
                a3 = a3.add(FloatVector.fromMemorySegment(F, in, at + 3 * VBYTES, ORDER));
            }
            a0.intoMemorySegment(out, ob + x, ORDER);
            a1.intoMemorySegment(out, ob + x + VBYTES, ORDER);
            a2.intoMemorySegment(out, ob + x + 2 * VBYTES, ORDER);
            a3.intoMemorySegment(out, ob + x + 3 * VBYTES, ORDER);
        }
        for (; x + VBYTES <= bytes; x += VBYTES) {
            long at = base + x;
            FloatVector a = FloatVector.fromMemorySegment(F, in, at, ORDER);
            for (int k = 1; k < r; k++) {
                at += rowBytes;
                a = a.add(FloatVector.fromMemorySegment(F, in, at, ORDER));
            }
            a.intoMemorySegment(out, ob + x, ORDER);
        }
        for (; x < bytes; x += 4) {
            long at = base + x;
            float a = in.get(FLOAT, at);
            for (int k = 1; k < r; k++) {
                at += rowBytes;
                a += in.get(FLOAT, at);
            }
            out.set(FLOAT, ob + x, a);
        }
    }

    /**
     * Sum of the squares of {@code n} contiguous floats from byte offset {@code b}, with the bits of {@code sumRow} over
     * the squared row, i.e. of {@code g.mul(g).sum()}: {@link #sumSquaredDeviationsRow} about 0 ({@code x - 0f} is x,
     * -0 and NaN included, so each square is the MUL kernel's), one read of the row and no scratch (gradient clipping in
     * a compiled step allocates nothing).
     */
    public static double sumSquaresRow(MemorySegment in, long b, long n) {
        return sumSquaredDeviationsRow(in, b, n, 0f);
    }

    /**
     * {@code sumRow} of the squared deviations {@code (x - mu)^2} of {@code n} contiguous floats from byte offset
     * {@code b}, without writing them: the same subtractions, squares and additions in the same order (the bits of
     * squaring into a row and summing it with {@link #sumRow}), one read of x. BatchNorm's variance pass.
     */
    public static double sumSquaredDeviationsRow(MemorySegment in, long b, long n, float mu) {
        double total = 0;
        for (long start = 0; start < n; start += BLOCK) {
            long len = Math.min(BLOCK, n - start);
            total += squaredDeviationsBlock(in, b + (start << 2), len, mu);
        }
        return total;
    }

    /** {@link #sumBlock} of {@code (x - mu)^2}: 32 partials in the canonical order, folded, then the tail in sequence. */
    static float squaredDeviationsBlock(MemorySegment in, long b, long n, float mu) {
        long bytes = n << 2;
        long groupEnd = bytes - bytes % (32 * 4);
        float s = switch (Simd.GROUP) {
            case 1 -> squaredDeviations32x16(in, b, groupEnd, mu);
            case 2 -> squaredDeviations32x8(in, b, groupEnd, mu);
            case 4 -> squaredDeviations32x4(in, b, groupEnd, mu);
            default -> squaredDeviations32Scalar(in, b, groupEnd, mu);
        };
        for (long i = groupEnd; i < bytes; i += 4) {
            float d = in.get(FLOAT, b + i) - mu;
            s += d * d;
        }
        return s != s ? Float.NaN : s;
    }

    private static float squaredDeviations32x16(MemorySegment in, long b, long end, float mu) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 2 * VBYTES) {
            FloatVector d0 = FloatVector.fromMemorySegment(F, in, b + i, ORDER).sub(mu);
            s0 = s0.add(d0.mul(d0));
            FloatVector d1 = FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER).sub(mu);
            s1 = s1.add(d1.mul(d1));
        }
        return Simd.fold32(s0, s1);
    }

    private static float squaredDeviations32x8(MemorySegment in, long b, long end, float mu) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 4 * VBYTES) {
            FloatVector d0 = FloatVector.fromMemorySegment(F, in, b + i, ORDER).sub(mu);
            s0 = s0.add(d0.mul(d0));
            FloatVector d1 = FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER).sub(mu);
            s1 = s1.add(d1.mul(d1));
            FloatVector d2 = FloatVector.fromMemorySegment(F, in, b + i + 2 * VBYTES, ORDER).sub(mu);
            s2 = s2.add(d2.mul(d2));
            FloatVector d3 = FloatVector.fromMemorySegment(F, in, b + i + 3 * VBYTES, ORDER).sub(mu);
            s3 = s3.add(d3.mul(d3));
        }
        return Simd.fold32(s0, s1, s2, s3);
    }

    private static float squaredDeviations32x4(MemorySegment in, long b, long end, float mu) {
        float[] p = PARTIALS.get();
        squaredDeviationsHalf4(in, b, end, mu, p, 0);
        squaredDeviationsHalf4(in, b + 16 * 4, end, mu, p, 16);
        return Simd.fold(p, 0, 32);
    }

    /**
     * Partials {@code at .. at + 16} of {@link #squaredDeviations32x4} (floats 16 at a time from {@code b}, 32 apart)
     * into {@code p}: each partial's additions in the same order as with eight accumulators, then the same fold
     * (Simd.fold is fold32's scalar form), so the same bits. Eight 4-lane accumulators in one loop made C2 give up
     * inlining the Vector API's methods in it (the method near NodeCountInliningCutoff): BatchNorm's training forward
     * at 128 bits allocated ~20 KB a call (the ops' boxed fallback).
     */
    private static void squaredDeviationsHalf4(MemorySegment in, long b, long end, float mu, float[] p, int at) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 8 * VBYTES) {
            FloatVector d0 = FloatVector.fromMemorySegment(F, in, b + i, ORDER).sub(mu);
            s0 = s0.add(d0.mul(d0));
            FloatVector d1 = FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER).sub(mu);
            s1 = s1.add(d1.mul(d1));
            FloatVector d2 = FloatVector.fromMemorySegment(F, in, b + i + 2 * VBYTES, ORDER).sub(mu);
            s2 = s2.add(d2.mul(d2));
            FloatVector d3 = FloatVector.fromMemorySegment(F, in, b + i + 3 * VBYTES, ORDER).sub(mu);
            s3 = s3.add(d3.mul(d3));
        }
        s0.intoArray(p, at);
        s1.intoArray(p, at + 4);
        s2.intoArray(p, at + 8);
        s3.intoArray(p, at + 12);
    }

    /** A thread's 32 partial sums for the 4-lane kernels that fold through an array (see {@link #squaredDeviationsHalf4}). */
    private static final ThreadLocal<float[]> PARTIALS = new ThreadLocal<>() {
        @Override
        protected float[] initialValue() {
            return new float[32];
        }
    };

    /** The canonical order without vectors (other lane counts; tested against {@link #sum32Scalar} of the squares). */
    static float squaredDeviations32Scalar(MemorySegment in, long b, long end, float mu) {
        float[] p = new float[32];
        for (long i = 0; i < end; i += 32 * 4) {
            for (int j = 0; j < 32; j++) {
                float d = in.get(FLOAT, b + i + 4L * j) - mu;
                p[j] += d * d;
            }
        }
        return Simd.fold(p, 0, 32);
    }

    /**
     * {@code sumRow} of {@code g (x - mu) rs} over {@code n} contiguous floats of g and x (byte offsets), without
     * writing the products: the same multiplications and additions in the same order as writing them into a row and
     * summing it with {@link #sumRow}. BatchNorm backward's {@code sum(g xhat)}.
     */
    public static double sumGradTimesNormalizedRow(MemorySegment g, long gb, MemorySegment x, long xb, long n, float mu, float rs) {
        double total = 0;
        for (long start = 0; start < n; start += BLOCK) {
            long len = Math.min(BLOCK, n - start);
            total += gradTimesNormalizedBlock(g, gb + (start << 2), x, xb + (start << 2), len, mu, rs);
        }
        return total;
    }

    /** {@link #sumBlock} of {@code g (x - mu) rs}: 32 partials in the canonical order, folded, then the tail in sequence. */
    static float gradTimesNormalizedBlock(MemorySegment g, long gb, MemorySegment x, long xb, long n, float mu, float rs) {
        long bytes = n << 2;
        long groupEnd = bytes - bytes % (32 * 4);
        float s = switch (Simd.GROUP) {
            case 1 -> gradTimesNormalized32x16(g, gb, x, xb, groupEnd, mu, rs);
            case 2 -> gradTimesNormalized32x8(g, gb, x, xb, groupEnd, mu, rs);
            case 4 -> gradTimesNormalized32x4(g, gb, x, xb, groupEnd, mu, rs);
            default -> gradTimesNormalized32Scalar(g, gb, x, xb, groupEnd, mu, rs);
        };
        for (long i = groupEnd; i < bytes; i += 4) {
            s += g.get(FLOAT, gb + i) * ((x.get(FLOAT, xb + i) - mu) * rs);
        }
        return s != s ? Float.NaN : s;
    }

    private static float gradTimesNormalized32x16(MemorySegment g, long gb, MemorySegment x, long xb, long end, float mu, float rs) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 2 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, g, gb + i, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs)));
            s1 = s1.add(FloatVector.fromMemorySegment(F, g, gb + i + VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + VBYTES, ORDER).sub(mu).mul(rs)));
        }
        return Simd.fold32(s0, s1);
    }

    private static float gradTimesNormalized32x8(MemorySegment g, long gb, MemorySegment x, long xb, long end, float mu, float rs) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 4 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, g, gb + i, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs)));
            s1 = s1.add(FloatVector.fromMemorySegment(F, g, gb + i + VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + VBYTES, ORDER).sub(mu).mul(rs)));
            s2 = s2.add(FloatVector.fromMemorySegment(F, g, gb + i + 2 * VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + 2 * VBYTES, ORDER).sub(mu).mul(rs)));
            s3 = s3.add(FloatVector.fromMemorySegment(F, g, gb + i + 3 * VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + 3 * VBYTES, ORDER).sub(mu).mul(rs)));
        }
        return Simd.fold32(s0, s1, s2, s3);
    }

    private static float gradTimesNormalized32x4(MemorySegment g, long gb, MemorySegment x, long xb, long end, float mu, float rs) {
        float[] p = PARTIALS.get();
        gradTimesNormalizedHalf4(g, gb, x, xb, end, mu, rs, p, 0);
        gradTimesNormalizedHalf4(g, gb + 16 * 4, x, xb + 16 * 4, end, mu, rs, p, 16);
        return Simd.fold(p, 0, 32);
    }

    /** Partials {@code at .. at + 16} of {@link #gradTimesNormalized32x4}: as {@link #squaredDeviationsHalf4}, the same bits. */
    private static void gradTimesNormalizedHalf4(MemorySegment g, long gb, MemorySegment x, long xb, long end, float mu, float rs, float[] p,
                                                 int at) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 8 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, g, gb + i, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs)));
            s1 = s1.add(FloatVector.fromMemorySegment(F, g, gb + i + VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + VBYTES, ORDER).sub(mu).mul(rs)));
            s2 = s2.add(FloatVector.fromMemorySegment(F, g, gb + i + 2 * VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + 2 * VBYTES, ORDER).sub(mu).mul(rs)));
            s3 = s3.add(FloatVector.fromMemorySegment(F, g, gb + i + 3 * VBYTES, ORDER)
                    .mul(FloatVector.fromMemorySegment(F, x, xb + i + 3 * VBYTES, ORDER).sub(mu).mul(rs)));
        }
        s0.intoArray(p, at);
        s1.intoArray(p, at + 4);
        s2.intoArray(p, at + 8);
        s3.intoArray(p, at + 12);
    }

    /** The canonical order without vectors (other lane counts; tested against {@link #sum32Scalar} of the products). */
    static float gradTimesNormalized32Scalar(MemorySegment g, long gb, MemorySegment x, long xb, long end, float mu, float rs) {
        float[] p = new float[32];
        for (long i = 0; i < end; i += 32 * 4) {
            for (int j = 0; j < 32; j++) {
                p[j] += g.get(FLOAT, gb + i + 4L * j) * ((x.get(FLOAT, xb + i + 4L * j) - mu) * rs);
            }
        }
        return Simd.fold(p, 0, 32);
    }

    /** Sum of {@code n} contiguous floats from byte offset {@code b}, in float lanes per block, blocks in double. */
    public static double sumRow(MemorySegment in, long b, long n) {
        double total = 0;
        for (long start = 0; start < n; start += BLOCK) {
            long len = Math.min(BLOCK, n - start);
            total += sumBlock(in, b + (start << 2), len);
        }
        return total;
    }

    /**
     * Sum of n contiguous floats in the canonical order of {@link Simd#GROUP}: 32 partial sums (element i into
     * partial i mod 32), folded pairwise, then the last n mod 32 elements one by one. The same bits at every width.
     */
    static float sumBlock(MemorySegment in, long b, long n) {
        long bytes = n << 2;
        long groupEnd = bytes - bytes % (32 * 4);
        float s = ColdStart.sum() ? sum32Scalar(in, b, groupEnd) : switch (Simd.GROUP) {
            case 1 -> sum32x16(in, b, groupEnd);
            case 2 -> sum32x8(in, b, groupEnd);
            case 4 -> sum32x4(in, b, groupEnd);
            default -> sum32Scalar(in, b, groupEnd);
        };
        for (long i = groupEnd; i < bytes; i += 4) {
            s += in.get(FLOAT, b + i);
        }
        return s != s ? Float.NaN : s; // which NaN payload survives NaN + NaN differs between JIT tiers: one NaN for all
    }

    /** 32 partials as two 16-lane vectors. */
    private static float sum32x16(MemorySegment in, long b, long end) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 2 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, in, b + i, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER));
        }
        return Simd.fold32(s0, s1);
    }

    /** 32 partials as four 8-lane vectors. */
    private static float sum32x8(MemorySegment in, long b, long end) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 4 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, in, b + i, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER));
            s2 = s2.add(FloatVector.fromMemorySegment(F, in, b + i + 2 * VBYTES, ORDER));
            s3 = s3.add(FloatVector.fromMemorySegment(F, in, b + i + 3 * VBYTES, ORDER));
        }
        return Simd.fold32(s0, s1, s2, s3);
    }

    /** 32 partials as eight 4-lane vectors. */
    private static float sum32x4(MemorySegment in, long b, long end) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        FloatVector s4 = FloatVector.zero(F);
        FloatVector s5 = FloatVector.zero(F);
        FloatVector s6 = FloatVector.zero(F);
        FloatVector s7 = FloatVector.zero(F);
        for (long i = 0; i < end; i += 8 * VBYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, in, b + i, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(F, in, b + i + VBYTES, ORDER));
            s2 = s2.add(FloatVector.fromMemorySegment(F, in, b + i + 2 * VBYTES, ORDER));
            s3 = s3.add(FloatVector.fromMemorySegment(F, in, b + i + 3 * VBYTES, ORDER));
            s4 = s4.add(FloatVector.fromMemorySegment(F, in, b + i + 4 * VBYTES, ORDER));
            s5 = s5.add(FloatVector.fromMemorySegment(F, in, b + i + 5 * VBYTES, ORDER));
            s6 = s6.add(FloatVector.fromMemorySegment(F, in, b + i + 6 * VBYTES, ORDER));
            s7 = s7.add(FloatVector.fromMemorySegment(F, in, b + i + 7 * VBYTES, ORDER));
        }
        return Simd.fold32(s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /** The canonical order without vectors (and the reference the vector forms are tested against). */
    static float sum32Scalar(MemorySegment in, long b, long end) {
        float[] p = new float[32];
        for (long i = 0; i < end; i += 32 * 4) {
            for (int j = 0; j < 32; j++) {
                p[j] += in.get(FLOAT, b + i + 4L * j);
            }
        }
        return Simd.fold(p, 0, 32);
    }

    /**
     * Max (or min) over k with the index of its first occurrence; a NaN wins and reports the first NaN's
     * index, like PyTorch. {@code idx} may be null when only values are wanted; {@code vals} may be null
     * when only indices are (argmax).
     */
    public static void maxMin(boolean max, MemorySegment in, long inOff, int outer, int r, int inner,
                              MemorySegment vals, long valsOff, MemorySegment idx, long idxOff) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long base = inOff + (long) o * r * inner + i;
                float best = in.get(FLOAT, base << 2);
                int bestK = 0;
                if (!Float.isNaN(best)) {
                    for (int k = 1; k < r; k++) {
                        float v = in.get(FLOAT, (base + (long) k * inner) << 2);
                        if (Float.isNaN(v)) {
                            best = v;
                            bestK = k;
                            break;
                        }
                        if (max ? v > best : v < best) {
                            best = v;
                            bestK = k;
                        }
                    }
                }
                long outIndex = (long) o * inner + i;
                if (vals != null) {
                    vals.set(FLOAT, (valsOff + outIndex) << 2, best);
                }
                if (idx != null) {
                    idx.set(LONG, (idxOff + outIndex) << 3, bestK);
                }
            }
        }
    }

    /**
     * Variance over k with {@code correction} (1 = unbiased, Bessel), two passes in double; when
     * {@code sqrt} is set the standard deviation. {@code r - correction <= 0} gives NaN (or inf), as in PyTorch.
     */
    public static void variance(MemorySegment in, long inOff, int outer, int r, int inner, int correction, boolean sqrt,
                                MemorySegment out, long outOff) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long base = inOff + (long) o * r * inner + i;
                double mean = 0;
                for (int k = 0; k < r; k++) {
                    mean += in.get(FLOAT, (base + (long) k * inner) << 2);
                }
                mean /= r;
                double ss = 0;
                for (int k = 0; k < r; k++) {
                    double d = in.get(FLOAT, (base + (long) k * inner) << 2) - mean;
                    ss += d * d;
                }
                double v = ss / Math.max(0, r - correction);
                out.set(FLOAT, (outOff + (long) o * inner + i) << 2, (float) (sqrt ? Math.sqrt(v) : v));
            }
        }
    }

    /**
     * The backward of {@link #maxMin} along a dim: {@code out[o, idx[o, i], i] = grad[o, i]}, every other element 0.
     * {@code grad} is contiguous {@code [outer, inner]}, {@code idx} int64 of the same shape, {@code out}
     * contiguous {@code [outer, r, inner]}.
     */
    public static void scatterAlongDim(MemorySegment grad, long gradOff, MemorySegment idx, long idxOff,
                                       int outer, int r, int inner, MemorySegment out, long outOff) {
        Elementwise.zero(out, outOff << 2, (long) outer * r * inner);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long src = (long) o * inner + i;
                long k = idx.get(LONG, (idxOff + src) << 3);
                if (k < 0 || k >= r) {
                    throw new IndexOutOfBoundsException("index " + k + " out of range for dimension of size " + r);
                }
                out.set(FLOAT, (outOff + ((long) o * r + k) * inner + i) << 2, grad.get(FLOAT, (gradOff + src) << 2));
            }
        }
    }
}
