package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Layer normalisation (over the last {@code n} floats of each row), batch normalisation (per channel of
 * {@code [N, C, HW]}) and group normalisation (per sample and group of channels of {@code [N, C, HW]}), forward and backward, each a few vector passes over a row while it sits in L1.
 *
 * <p>Statistics are two-pass (mean, then the mean of squared deviations: no cancellation, unlike E[x^2] - E[x]^2),
 * and every sum is {@link Reductions#sumRow}'s canonical order, so the bits are the same at every vector width and
 * thread count. The squared deviations are staged in the output row, which the final pass overwrites: no scratch.
 * Rows split across {@link Parallel}'s workers in the forward and in the input gradient; the weight and bias
 * gradients are sums over rows, added row after row on one thread (a fixed order).
 */
public final class Normalization {
    private Normalization() {
    }

    /**
     * {@code y = (x - mean) * rstd * w + b} per row, {@code rstd = 1 / sqrt(var + eps)} with the biased variance.
     * {@code w} and {@code b} (n floats each) may be null; {@code mean} and {@code rstd} (rows floats each, for the
     * backward) may be null. Offsets are in elements.
     */
    public static void layerNorm(MemorySegment x, long xOff, int rows, int n, float eps, MemorySegment w, long wOff,
                                 MemorySegment b, long bOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff,
                                 MemorySegment rstd, long rstdOff, boolean parallel) {
        int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) rows * n, 1 << 14) : 1, rows));
        if (parts <= 1) {
            layerNormRows(0, rows, x, xOff, n, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
        } else {
            LayerNormRowsJob job = LayerNormRowsJob.MINE.get();
            job.set(x, xOff, n, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
            try {
                Parallel.forRange(parts, rows, job);
            } finally {
                job.release();
            }
        }
    }

    private static void layerNormRows(int r0, int r1, MemorySegment x, long xOff, int n, float eps, MemorySegment w, long wOff,
            MemorySegment b, long bOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff) {
        for (int r = r0; r < r1; r++) {
            layerNormRow(x, (xOff + (long) r * n) << 2, n, eps, w, wOff << 2, b, bOff << 2, y, (yOff + (long) r * n) << 2,
                    mean, meanOff + r, rstd, rstdOff + r);
        }
    }

    /** The parallel body of {@link #layerNormRows}, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class LayerNormRowsJob implements Parallel.RangeBody {
        static final ThreadLocal<LayerNormRowsJob> MINE = ThreadLocal.withInitial(LayerNormRowsJob::new);
        private MemorySegment x;
        private long xOff;
        private int n;
        private float eps;
        private MemorySegment w;
        private long wOff;
        private MemorySegment b;
        private long bOff;
        private MemorySegment y;
        private long yOff;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;

        void set(MemorySegment x, long xOff, int n, float eps, MemorySegment w, long wOff, MemorySegment b, long bOff, MemorySegment y,
                long yOff, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff) {
            this.x = x;
            this.xOff = xOff;
            this.n = n;
            this.eps = eps;
            this.w = w;
            this.wOff = wOff;
            this.b = b;
            this.bOff = bOff;
            this.y = y;
            this.yOff = yOff;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            x = null;
            w = null;
            b = null;
            y = null;
            mean = null;
            rstd = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            layerNormRows(from, to, x, xOff, n, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
        }
    }

    private static void layerNormRow(MemorySegment x, long xb, int n, float eps, MemorySegment w, long wb, MemorySegment b, long bb,
                                     MemorySegment y, long yb, MemorySegment meanOut, long meanIdx, MemorySegment rstdOut, long rstdIdx) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        float mu = (float) (Reductions.sumRow(x, xb, n) / n);
        // pass 2: (x - mu)^2 staged in y, summed in the canonical order. Each vector pass is a method of its own, so
        // C2 compiles it with its own profile: left in line, a pass on a branch the caller's profile calls cold ran the
        // Vector API's allocating fallback (seen in CI's 256-bit run after the whole suite; see Softmax.row)
        squaredDeviationVectors(x, xb, y, yb, vecEnd, mu);
        for (long i = vecEnd; i < bytes; i += 4) {
            float d = x.get(FLOAT, xb + i) - mu;
            y.set(FLOAT, yb + i, d * d);
        }
        float var = (float) (Reductions.sumRow(y, yb, n) / n);
        float rs = 1f / (float) Math.sqrt(var + eps); // PyTorch's T_ACC for float is float: 1 / sqrt in float
        if (meanOut != null) {
            meanOut.set(FLOAT, meanIdx << 2, mu);
        }
        if (rstdOut != null) {
            rstdOut.set(FLOAT, rstdIdx << 2, rs);
        }
        // pass 3: y = fma(fma(x, rs, -rs mu), w, b), PyTorch's operations (with their cancellation: a near-constant row
        // with a large mean, 1e6 say, gives torch's 7.2 where (x - mu) rs gave 0; the backward's xhat is (x - mu) rs in
        // both libraries) (its layer-norm kernel's x scale + bias, then
        // gamma and beta, each contracted to one FMA; 1 and 0 for a missing weight or bias): it reproduces torch 1.13's
        // output bit for bit given its mean and rstd, where (x - mu) rs w + b differed in half the elements. The same
        // operations in the vector loop and the tail.
        float shift = -rs * mu;
        if (w != null && b != null) {
            normalizeAffine(x, xb, y, yb, vecEnd, rs, shift, w, wb, b, bb);
        } else {
            normalizePartlyAffine(x, xb, y, yb, vecEnd, rs, shift, w, wb, b, bb);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float v = Math.fma(x.get(FLOAT, xb + i), rs, shift);
            y.set(FLOAT, yb + i, Math.fma(v, w == null ? 1f : w.get(FLOAT, wb + i), b == null ? 0f : b.get(FLOAT, bb + i)));
        }
    }

    /** y = (x - mu)^2 over whole vectors [0, vecEnd) (byte offsets). */
    private static void squaredDeviationVectors(MemorySegment x, long xb, MemorySegment y, long yb, long vecEnd, float mu) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector d = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu);
            d.mul(d).intoMemorySegment(y, yb + i, ORDER);
        }
    }

    /** y = fma(fma(x, rs, shift), w, b) over whole vectors [0, vecEnd): the usual LayerNorm with weight and bias. */
    private static void normalizeAffine(MemorySegment x, long xb, MemorySegment y, long yb, long vecEnd, float rs, float shift,
                                        MemorySegment w, long wb, MemorySegment b, long bb) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, x, xb + i, ORDER).fma(rs, shift).fma(FloatVector.fromMemorySegment(F, w, wb + i, ORDER),
                    FloatVector.fromMemorySegment(F, b, bb + i, ORDER)).intoMemorySegment(y, yb + i, ORDER);
        }
    }

    /** {@link #normalizeAffine} without the weight, the bias or both (null): 1 and 0 in their place, as PyTorch. */
    private static void normalizePartlyAffine(MemorySegment x, long xb, MemorySegment y, long yb, long vecEnd, float rs, float shift,
                                              MemorySegment w, long wb, MemorySegment b, long bb) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector zero = FloatVector.zero(F);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).fma(rs, shift);
            v.fma(w == null ? one : FloatVector.fromMemorySegment(F, w, wb + i, ORDER), b == null ? zero : FloatVector.fromMemorySegment(F, b, bb + i, ORDER))
                    .intoMemorySegment(y, yb + i, ORDER);
        }
    }

    /**
     * Gradients of {@link #layerNorm} from the upstream {@code g}: {@code dx = rstd (gw - mean(gw) - xhat mean(gw xhat))}
     * with {@code gw = g w} and {@code xhat = (x - mean) rstd}; {@code dw += sum_rows g xhat}, {@code db += sum_rows g}
     * (dw and db are added to, so the caller zeroes them; either may be null, dx too). All contiguous, offsets in
     * elements.
     */
    public static void layerNormBackward(MemorySegment g, long gOff, MemorySegment x, long xOff, int rows, int n,
                                         MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff,
                                         MemorySegment dx, long dxOff, MemorySegment dw, long dwOff, MemorySegment db, long dbOff,
                                         boolean parallel) {
        if (dx != null) {
            int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) rows * n, 1 << 14) : 1, rows));
            if (parts <= 1) {
                layerNormInputGradRows(0, rows, g, gOff, x, xOff, n, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff);
            } else {
                LayerNormInputGradRowsJob job = LayerNormInputGradRowsJob.MINE.get();
                job.set(g, gOff, x, xOff, n, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff);
                try {
                    Parallel.forRange(parts, rows, job);
                } finally {
                    job.release();
                }
            }
        }
        if (dw != null || db != null) {
            for (int r = 0; r < rows; r++) {
                paramGradRow(g, (gOff + (long) r * n) << 2, x, (xOff + (long) r * n) << 2, n, mean.get(FLOAT, (meanOff + r) << 2),
                        rstd.get(FLOAT, (rstdOff + r) << 2), dw, dwOff << 2, db, dbOff << 2);
            }
        }
    }

    private static void layerNormInputGradRows(int r0, int r1, MemorySegment g, long gOff, MemorySegment x, long xOff, int n,
            MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff, MemorySegment dx, long dxOff) {
        for (int r = r0; r < r1; r++) {
            inputGradRow(g, (gOff + (long) r * n) << 2, x, (xOff + (long) r * n) << 2, n, mean.get(FLOAT, (meanOff + r) << 2),
                    rstd.get(FLOAT, (rstdOff + r) << 2), w, wOff << 2, dx, (dxOff + (long) r * n) << 2);
        }
    }

    /** The parallel body of {@link #layerNormInputGradRows}, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class LayerNormInputGradRowsJob implements Parallel.RangeBody {
        static final ThreadLocal<LayerNormInputGradRowsJob> MINE = ThreadLocal.withInitial(LayerNormInputGradRowsJob::new);
        private MemorySegment g;
        private long gOff;
        private MemorySegment x;
        private long xOff;
        private int n;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;
        private MemorySegment w;
        private long wOff;
        private MemorySegment dx;
        private long dxOff;

        void set(MemorySegment g, long gOff, MemorySegment x, long xOff, int n, MemorySegment mean, long meanOff, MemorySegment rstd,
                long rstdOff, MemorySegment w, long wOff, MemorySegment dx, long dxOff) {
            this.g = g;
            this.gOff = gOff;
            this.x = x;
            this.xOff = xOff;
            this.n = n;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
            this.w = w;
            this.wOff = wOff;
            this.dx = dx;
            this.dxOff = dxOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            g = null;
            x = null;
            mean = null;
            rstd = null;
            w = null;
            dx = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            layerNormInputGradRows(from, to, g, gOff, x, xOff, n, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff);
        }
    }

    private static void inputGradRow(MemorySegment g, long gb, MemorySegment x, long xb, int n, float mu, float rs,
                                     MemorySegment w, long wb, MemorySegment dx, long dxb) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        // sum(gw), with gw staged in dx
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gw = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (w != null) {
                gw = gw.mul(FloatVector.fromMemorySegment(F, w, wb + i, ORDER));
            }
            gw.intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            dx.set(FLOAT, dxb + i, w != null ? g.get(FLOAT, gb + i) * w.get(FLOAT, wb + i) : g.get(FLOAT, gb + i));
        }
        float meanGw = (float) (Reductions.sumRow(dx, dxb, n) / n);
        // sum(gw xhat), with gw xhat staged in dx
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            FloatVector.fromMemorySegment(F, dx, dxb + i, ORDER).mul(xhat).intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, dx.get(FLOAT, dxb + i) * xhat);
        }
        float meanGwXhat = (float) (Reductions.sumRow(dx, dxb, n) / n);
        // dx = rs (gw - mean(gw) - xhat mean(gw xhat))
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gw = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (w != null) {
                gw = gw.mul(FloatVector.fromMemorySegment(F, w, wb + i, ORDER));
            }
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            gw.sub(meanGw).sub(xhat.mul(meanGwXhat)).mul(rs).intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float gw = w != null ? g.get(FLOAT, gb + i) * w.get(FLOAT, wb + i) : g.get(FLOAT, gb + i);
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, (gw - meanGw - xhat * meanGwXhat) * rs);
        }
    }

    private static void paramGradRow(MemorySegment g, long gb, MemorySegment x, long xb, int n, float mu, float rs,
                                     MemorySegment dw, long dwb, MemorySegment db, long dbb) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (dw != null) {
                FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
                FloatVector.fromMemorySegment(F, dw, dwb + i, ORDER).add(gv.mul(xhat)).intoMemorySegment(dw, dwb + i, ORDER);
            }
            if (db != null) {
                FloatVector.fromMemorySegment(F, db, dbb + i, ORDER).add(gv).intoMemorySegment(db, dbb + i, ORDER);
            }
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float gv = g.get(FLOAT, gb + i);
            if (dw != null) {
                float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
                dw.set(FLOAT, dwb + i, dw.get(FLOAT, dwb + i) + gv * xhat);
            }
            if (db != null) {
                db.set(FLOAT, dbb + i, db.get(FLOAT, dbb + i) + gv);
            }
        }
    }

    // ---- batch normalisation: statistics per channel of [N, C, HW] ----

    /**
     * Batch normalisation of contiguous {@code x [n, c, hw]} per channel: in training ({@code training}), the batch's
     * mean and biased variance (two passes, canonical sums per row of hw, rows added in n order in double), written to
     * {@code mean}/{@code rstd} (c floats each, for the backward; may be null) and folded into {@code runningMean}/
     * {@code runningVar} ({@code (1 - momentum) r + momentum s}, the unbiased variance; may be null); in eval, the
     * running statistics. Then {@code y = (x - mean) rstd w + b} ({@code w}, {@code b} may be null). Channels split across
     * threads when {@code parallel}. Offsets in elements.
     */
    public static void batchNorm(MemorySegment x, long xOff, int n, int c, int hw, boolean training, double momentum, double eps,
                                 MemorySegment w, long wOff, MemorySegment b, long bOff, MemorySegment runningMean, long rmOff,
                                 MemorySegment runningVar, long rvOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff,
                                 MemorySegment rstd, long rstdOff, boolean parallel) {
        batchNorm(x, xOff, n, c, hw, training, momentum, eps, w, wOff, b, bOff, runningMean, rmOff, runningVar, rvOff, y, yOff, mean, meanOff,
                rstd, rstdOff, parallel, false);
    }

    /**
     * {@link #batchNorm(MemorySegment, long, int, int, int, boolean, double, double, MemorySegment, long, MemorySegment, long, MemorySegment, long, MemorySegment, long, MemorySegment, long, MemorySegment, long, MemorySegment, long, boolean)},
     * with {@code relu} applying ReLU to y in the same pass (a compiled step's conv-bn-relu; the bits of a separate ReLU).
     */
    public static void batchNorm(MemorySegment x, long xOff, int n, int c, int hw, boolean training, double momentum, double eps,
                                 MemorySegment w, long wOff, MemorySegment b, long bOff, MemorySegment runningMean, long rmOff,
                                 MemorySegment runningVar, long rvOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff,
                                 MemorySegment rstd, long rstdOff, boolean parallel, boolean relu) {
        int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) n * c * hw, 1 << 14) : 1, c));
        if (parts <= 1) {
            batchNormChannels(0, c, x, xOff, n, c, hw, training, momentum, eps, w, wOff, b, bOff, runningMean, rmOff, runningVar, rvOff, y,
                    yOff, mean, meanOff, rstd, rstdOff, relu);
        } else {
            BatchNormChannelsJob job = BatchNormChannelsJob.MINE.get();
            job.set(x, xOff, n, c, hw, training, momentum, eps, w, wOff, b, bOff, runningMean, rmOff, runningVar, rvOff, y, yOff, mean,
                    meanOff, rstd, rstdOff, relu);
            try {
                Parallel.forRange(parts, c, job);
            } finally {
                job.release();
            }
        }
    }

    private static void batchNormChannels(int c0, int c1, MemorySegment x, long xOff, int n, int c, int hw, boolean training,
            double momentum, double eps, MemorySegment w, long wOff, MemorySegment b, long bOff, MemorySegment runningMean, long rmOff,
            MemorySegment runningVar, long rvOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff, MemorySegment rstd,
            long rstdOff, boolean relu) {
        for (int ch = c0; ch < c1; ch++) {
            float mu;
            float rs;
            long count = (long) n * hw;
            if (training && count == 0) { // an empty batch (PyTorch returns before its statistics): nothing to fold in
                if (mean != null) { // zeros, not a pooled block's old bits, for a backward that scales by them
                    mean.set(FLOAT, (meanOff + ch) << 2, 0f);
                }
                if (rstd != null) {
                    rstd.set(FLOAT, (rstdOff + ch) << 2, 0f);
                }
                continue;
            }
            if (training) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += Reductions.sumRow(x, (xOff + ((long) i * c + ch) * hw) << 2, hw);
                }
                mu = (float) (sum / count);
                double ss = 0;
                for (int i = 0; i < n; i++) { // (x - mu)^2 summed as read: the bits of squaring into y and summing y
                    ss += Reductions.sumSquaredDeviationsRow(x, (xOff + ((long) i * c + ch) * hw) << 2, hw, mu);
                }
                // PyTorch's arithmetic (batch_norm_cpu_update_stats_template, as torch 1.13 rounds it): the sum of squares
                // kept as a float, then in double var = sum / count and 1 / sqrt(var + eps) with eps as given (eps added
                // in float changed the bits of a tenth of the channels); the running statistics in float,
                // momentum s + (1 - momentum) r
                double varSum = (float) ss;
                rs = (float) (1.0 / Math.sqrt(varSum / count + eps));
                float m = (float) momentum;
                if (runningMean != null) {
                    long at = (rmOff + ch) << 2;
                    runningMean.set(FLOAT, at, m * mu + (1 - m) * runningMean.get(FLOAT, at));
                }
                if (runningVar != null) {
                    long at = (rvOff + ch) << 2;
                    float unbiased = (float) (count > 1 ? varSum / (count - 1) : varSum / count);
                    runningVar.set(FLOAT, at, m * unbiased + (1 - m) * runningVar.get(FLOAT, at));
                }
            } else {
                // in eval PyTorch computes 1 / sqrt(running_var + eps) in float (opmath_t), eps rounded to float
                mu = runningMean.get(FLOAT, (rmOff + ch) << 2);
                rs = 1f / (float) Math.sqrt(runningVar.get(FLOAT, (rvOff + ch) << 2) + (float) eps);
            }
            if (mean != null) {
                mean.set(FLOAT, (meanOff + ch) << 2, mu);
            }
            if (rstd != null) {
                rstd.set(FLOAT, (rstdOff + ch) << 2, rs);
            }
            // y = x * scale + shift, scale = rs w, shift = b - mu rs w: one multiply-add per element
            float scale = w == null ? rs : rs * w.get(FLOAT, (wOff + ch) << 2);
            float shift = (b == null ? 0f : b.get(FLOAT, (bOff + ch) << 2)) - mu * scale;
            for (int i = 0; i < n; i++) {
                long row = ((long) i * c + ch) * hw;
                if (relu) {
                    scaleShiftRelu(x, (xOff + row) << 2, y, (yOff + row) << 2, hw, scale, shift);
                } else {
                    scaleShift(x, (xOff + row) << 2, y, (yOff + row) << 2, hw, scale, shift);
                }
            }
        }
    }

    /** The parallel body of {@link #batchNormChannels}, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class BatchNormChannelsJob implements Parallel.RangeBody {
        static final ThreadLocal<BatchNormChannelsJob> MINE = ThreadLocal.withInitial(BatchNormChannelsJob::new);
        private MemorySegment x;
        private long xOff;
        private int n;
        private int c;
        private int hw;
        private boolean training;
        private double momentum;
        private double eps;
        private MemorySegment w;
        private long wOff;
        private MemorySegment b;
        private long bOff;
        private MemorySegment runningMean;
        private long rmOff;
        private MemorySegment runningVar;
        private long rvOff;
        private MemorySegment y;
        private long yOff;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;
        private boolean relu;

        void set(MemorySegment x, long xOff, int n, int c, int hw, boolean training, double momentum, double eps, MemorySegment w, long wOff,
                MemorySegment b, long bOff, MemorySegment runningMean, long rmOff, MemorySegment runningVar, long rvOff, MemorySegment y,
                long yOff, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, boolean relu) {
            this.relu = relu;
            this.x = x;
            this.xOff = xOff;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.training = training;
            this.momentum = momentum;
            this.eps = eps;
            this.w = w;
            this.wOff = wOff;
            this.b = b;
            this.bOff = bOff;
            this.runningMean = runningMean;
            this.rmOff = rmOff;
            this.runningVar = runningVar;
            this.rvOff = rvOff;
            this.y = y;
            this.yOff = yOff;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            x = null;
            w = null;
            b = null;
            runningMean = null;
            runningVar = null;
            y = null;
            mean = null;
            rstd = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            batchNormChannels(from, to, x, xOff, n, c, hw, training, momentum, eps, w, wOff, b, bOff, runningMean, rmOff, runningVar, rvOff,
                    y, yOff, mean, meanOff, rstd, rstdOff, relu);
        }
    }

    /** {@link #scaleShift} then ReLU as UnaryOp.RELU computes it (v <= 0 becomes +0, NaN stays): one pass. */
    private static void scaleShiftRelu(MemorySegment x, long xb, MemorySegment out, long ob, int n, float scale, float shift) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).mul(scale).add(shift);
            v.blend(0f, v.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float v = x.get(FLOAT, xb + i) * scale + shift;
            out.set(FLOAT, ob + i, v <= 0f ? 0f : v);
        }
    }

    private static void scaleShift(MemorySegment x, long xb, MemorySegment out, long ob, int n, float scale, float shift) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, x, xb + i, ORDER).mul(scale).add(shift).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, x.get(FLOAT, xb + i) * scale + shift);
        }
    }

    /**
     * Gradients of {@link #batchNorm} from {@code g}: per channel {@code sg = sum g}, {@code sgx = sum g xhat}; in training
     * {@code dx = w rstd (g - sg / m - xhat sgx / m)} (m = n hw), in eval {@code dx = w rstd g}; {@code dw = sgx},
     * {@code db = sg} (written, not added). dx, dw, db may each be null.
     */
    public static void batchNormBackward(MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c, int hw, boolean training,
                                         MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff,
                                         MemorySegment dx, long dxOff, MemorySegment dw, long dwOff, MemorySegment db, long dbOff,
                                                 boolean parallel) {
        int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) n * c * hw, 1 << 14) : 1, c));
        if (parts <= 1) {
            batchNormBackwardChannels(0, c, g, gOff, x, xOff, n, c, hw, training, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff, dw,
                    dwOff, db, dbOff);
        } else {
            BatchNormBackwardChannelsJob job = BatchNormBackwardChannelsJob.MINE.get();
            job.set(g, gOff, x, xOff, n, c, hw, training, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff, dw, dwOff, db, dbOff);
            try {
                Parallel.forRange(parts, c, job);
            } finally {
                job.release();
            }
        }
    }

    private static void batchNormBackwardChannels(int c0, int c1, MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c,
            int hw, boolean training, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff,
            MemorySegment dx, long dxOff, MemorySegment dw, long dwOff, MemorySegment db, long dbOff) {
        for (int ch = c0; ch < c1; ch++) {
            float mu = mean.get(FLOAT, (meanOff + ch) << 2);
            float rs = rstd.get(FLOAT, (rstdOff + ch) << 2);
            double sg = 0;
            double sgx = 0;
            for (int i = 0; i < n; i++) {
                long row = ((long) i * c + ch) * hw;
                sg += Reductions.sumRow(g, (gOff + row) << 2, hw);
                // g xhat summed canonically as read: the same bits whether dx is wanted or not
                sgx += Reductions.sumGradTimesNormalizedRow(g, (gOff + row) << 2, x, (xOff + row) << 2, hw, mu, rs);
            }
            if (dw != null) {
                dw.set(FLOAT, (dwOff + ch) << 2, (float) sgx);
            }
            if (db != null) {
                db.set(FLOAT, (dbOff + ch) << 2, (float) sg);
            }
            if (dx == null) {
                continue;
            }
            float wr = (w == null ? 1f : w.get(FLOAT, (wOff + ch) << 2)) * rs;
            long m = (long) n * hw;
            float meanG = training ? (float) (sg / m) : 0f;
            float meanGx = training ? (float) (sgx / m) : 0f;
            for (int i = 0; i < n; i++) {
                long row = ((long) i * c + ch) * hw;
                inputGrad(g, (gOff + row) << 2, x, (xOff + row) << 2, dx, (dxOff + row) << 2, hw, mu, rs, wr, meanG, meanGx);
            }
        }
    }

    /** The parallel body of {@link #batchNormBackwardChannels}, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class BatchNormBackwardChannelsJob implements Parallel.RangeBody {
        static final ThreadLocal<BatchNormBackwardChannelsJob> MINE = ThreadLocal.withInitial(BatchNormBackwardChannelsJob::new);
        private MemorySegment g;
        private long gOff;
        private MemorySegment x;
        private long xOff;
        private int n;
        private int c;
        private int hw;
        private boolean training;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;
        private MemorySegment w;
        private long wOff;
        private MemorySegment dx;
        private long dxOff;
        private MemorySegment dw;
        private long dwOff;
        private MemorySegment db;
        private long dbOff;

        void set(MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c, int hw, boolean training, MemorySegment mean,
                long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff, MemorySegment dx, long dxOff, MemorySegment dw,
                long dwOff, MemorySegment db, long dbOff) {
            this.g = g;
            this.gOff = gOff;
            this.x = x;
            this.xOff = xOff;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.training = training;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
            this.w = w;
            this.wOff = wOff;
            this.dx = dx;
            this.dxOff = dxOff;
            this.dw = dw;
            this.dwOff = dwOff;
            this.db = db;
            this.dbOff = dbOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            g = null;
            x = null;
            mean = null;
            rstd = null;
            w = null;
            dx = null;
            dw = null;
            db = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            batchNormBackwardChannels(from, to, g, gOff, x, xOff, n, c, hw, training, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff, dw,
                    dwOff, db, dbOff);
        }
    }

    private static void inputGrad(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment dx, long dxb, int n, float mu, float rs,
                                  float wr, float meanG, float meanGx) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            FloatVector.fromMemorySegment(F, g, gb + i, ORDER).sub(meanG).sub(xhat.mul(meanGx)).mul(wr).intoMemorySegment(dx, dxb + i,
                    ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, (g.get(FLOAT, gb + i) - meanG - xhat * meanGx) * wr);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // group_norm (instance_norm is group_norm with one channel per group)
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * group_norm of contiguous {@code x [n, c, hw]} in {@code groups} groups of {@code d = c / groups} channels: each
     * {@code (sample, group)} block of {@code d * hw} contiguous floats is a row normalised with its own mean and biased
     * variance, summed in {@link Reductions#sumRow}'s canonical order (two passes, as layer_norm), so the bits are the
     * same at every vector width and thread count; then per channel {@code y = x * scale + shift} with
     * {@code scale = rstd w[c]}, {@code shift = b[c] - mean scale} (torch 1.13's ApplyScaleBias). {@code w} and
     * {@code b} (c floats) may be null; {@code mean} and {@code rstd} ({@code n * groups} floats, for the backward) may
     * be null. Offsets in elements. Rows split across {@link Parallel}'s workers.
     */
    public static void groupNorm(MemorySegment x, long xOff, int n, int c, int hw, int groups, float eps, MemorySegment w, long wOff,
                                 MemorySegment b, long bOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff,
                                 MemorySegment rstd, long rstdOff, boolean parallel) {
        int rows = n * groups;
        int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) n * c * hw, 1 << 14) : 1, rows));
        if (parts <= 1) {
            groupNormRows(0, rows, x, xOff, c, hw, groups, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
        } else {
            GroupNormRowsJob job = GroupNormRowsJob.MINE.get();
            job.set(x, xOff, c, hw, groups, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
            try {
                Parallel.forRange(parts, rows, job);
            } finally {
                job.release();
            }
        }
    }

    private static void groupNormRows(int r0, int r1, MemorySegment x, long xOff, int c, int hw, int groups, float eps, MemorySegment w,
            long wOff, MemorySegment b, long bOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff, MemorySegment rstd,
            long rstdOff) {
        int d = c / groups;
        long m = (long) d * hw;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * m; // the row (sample r / groups, group r % groups) starts here: [n, groups, d, hw]
            float mu = (float) (Reductions.sumRow(x, (xOff + base) << 2, m) / m);
            // (x - mu)^2 summed as read, in the canonical order; PyTorch's T_ACC for float is float: 1 / sqrt in float
            float var = (float) (Reductions.sumSquaredDeviationsRow(x, (xOff + base) << 2, m, mu) / m);
            float rs = 1f / (float) Math.sqrt(var + eps);
            if (mean != null) {
                mean.set(FLOAT, (meanOff + r) << 2, mu);
            }
            if (rstd != null) {
                rstd.set(FLOAT, (rstdOff + r) << 2, rs);
            }
            int ch0 = (r % groups) * d;
            for (int j = 0; j < d; j++) {
                int ch = ch0 + j;
                float scale = w == null ? rs : rs * w.get(FLOAT, (wOff + ch) << 2);
                float shift = (b == null ? 0f : b.get(FLOAT, (bOff + ch) << 2)) - mu * scale;
                long at = base + (long) j * hw;
                scaleShift(x, (xOff + at) << 2, y, (yOff + at) << 2, hw, scale, shift);
            }
        }
    }

    /** The parallel body of {@link #groupNormRows}, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class GroupNormRowsJob implements Parallel.RangeBody {
        static final ThreadLocal<GroupNormRowsJob> MINE = ThreadLocal.withInitial(GroupNormRowsJob::new);
        private MemorySegment x;
        private long xOff;
        private int c;
        private int hw;
        private int groups;
        private float eps;
        private MemorySegment w;
        private long wOff;
        private MemorySegment b;
        private long bOff;
        private MemorySegment y;
        private long yOff;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;

        void set(MemorySegment x, long xOff, int c, int hw, int groups, float eps, MemorySegment w, long wOff, MemorySegment b, long bOff,
                MemorySegment y, long yOff, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff) {
            this.x = x;
            this.xOff = xOff;
            this.c = c;
            this.hw = hw;
            this.groups = groups;
            this.eps = eps;
            this.w = w;
            this.wOff = wOff;
            this.b = b;
            this.bOff = bOff;
            this.y = y;
            this.yOff = yOff;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            x = null;
            w = null;
            b = null;
            y = null;
            mean = null;
            rstd = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            groupNormRows(from, to, x, xOff, c, hw, groups, eps, w, wOff, b, bOff, y, yOff, mean, meanOff, rstd, rstdOff);
        }
    }

    /**
     * Gradients of {@link #groupNorm} from {@code g}, with the saved per-row {@code mean} and {@code rstd}
     * ({@code n * groups} floats). Per channel of a row {@code sg = sum g}, {@code sgx = sum g xhat}
     * ({@code xhat = (x - mean) rstd}); per row, with {@code M = d hw}, {@code mg = sum_c w[c] sg / M} and
     * {@code mgx = sum_c w[c] sgx / M} (channels in order); {@code dx = rstd (g w[c] - mg - xhat mgx)} (rows in
     * parallel). {@code dw[c] = sum_n sgx}, {@code db[c] = sum_n sg} (written, not added; channels in parallel, samples
     * in order). The centred form, not PyTorch's {@code E[g x] - mean E[g]}: no cancellation for a large mean. dx, dw
     * and db may each be null.
     */
    public static void groupNormBackward(MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c, int hw, int groups,
                                         MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff,
                                         MemorySegment dx, long dxOff, MemorySegment dw, long dwOff, MemorySegment db, long dbOff,
                                         boolean parallel) {
        GroupNormBackwardJob job = null;
        try {
            if (dx != null) {
                int rows = n * groups;
                int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) n * c * hw, 1 << 14) : 1, rows));
                if (parts <= 1) {
                    groupNormInputGradRows(0, rows, g, gOff, x, xOff, c, hw, groups, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff);
                } else {
                    job = GroupNormBackwardJob.MINE.get();
                    job.set(false, g, gOff, x, xOff, n, c, hw, groups, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff, dw, dwOff, db, dbOff);
                    Parallel.forRange(parts, rows, job);
                }
            }
            if (dw != null || db != null) {
                int parts = Math.max(1, Math.min(parallel ? Parallel.partsFor((long) n * c * hw, 1 << 14) : 1, c));
                if (parts <= 1) {
                    groupNormParamGradChannels(0, c, g, gOff, x, xOff, n, c, hw, groups, mean, meanOff, rstd, rstdOff, dw, dwOff, db, dbOff);
                } else {
                    job = GroupNormBackwardJob.MINE.get();
                    job.set(true, g, gOff, x, xOff, n, c, hw, groups, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff, dw, dwOff, db, dbOff);
                    Parallel.forRange(parts, c, job);
                }
            }
        } finally {
            if (job != null) {
                job.release();
            }
        }
    }

    private static void groupNormInputGradRows(int r0, int r1, MemorySegment g, long gOff, MemorySegment x, long xOff, int c, int hw,
            int groups, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff, MemorySegment dx,
            long dxOff) {
        int d = c / groups;
        long m = (long) d * hw;
        for (int r = r0; r < r1; r++) {
            long base = (long) r * m;
            float mu = mean.get(FLOAT, (meanOff + r) << 2);
            float rs = rstd.get(FLOAT, (rstdOff + r) << 2);
            int ch0 = (r % groups) * d;
            double sgw = 0;
            double sgxw = 0;
            for (int j = 0; j < d; j++) {
                long at = base + (long) j * hw;
                float wc = w == null ? 1f : w.get(FLOAT, (wOff + ch0 + j) << 2);
                sgw += wc * Reductions.sumRow(g, (gOff + at) << 2, hw);
                sgxw += wc * Reductions.sumGradTimesNormalizedRow(g, (gOff + at) << 2, x, (xOff + at) << 2, hw, mu, rs);
            }
            float meanGw = (float) (sgw / m);
            float meanGwx = (float) (sgxw / m);
            for (int j = 0; j < d; j++) {
                long at = base + (long) j * hw;
                float wc = w == null ? 1f : w.get(FLOAT, (wOff + ch0 + j) << 2);
                groupInputGrad(g, (gOff + at) << 2, x, (xOff + at) << 2, dx, (dxOff + at) << 2, hw, mu, rs, wc, meanGw, meanGwx);
            }
        }
    }

    private static void groupNormParamGradChannels(int c0, int c1, MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c,
            int hw, int groups, MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment dw, long dwOff,
            MemorySegment db, long dbOff) {
        int d = c / groups;
        for (int ch = c0; ch < c1; ch++) {
            double sg = 0;
            double sgx = 0;
            for (int i = 0; i < n; i++) {
                int r = i * groups + ch / d;
                long at = ((long) i * c + ch) * hw;
                if (db != null) {
                    sg += Reductions.sumRow(g, (gOff + at) << 2, hw);
                }
                if (dw != null) {
                    sgx += Reductions.sumGradTimesNormalizedRow(g, (gOff + at) << 2, x, (xOff + at) << 2, hw, mean.get(FLOAT, (meanOff + r) << 2),
                            rstd.get(FLOAT, (rstdOff + r) << 2));
                }
            }
            if (dw != null) {
                dw.set(FLOAT, (dwOff + ch) << 2, (float) sgx);
            }
            if (db != null) {
                db.set(FLOAT, (dbOff + ch) << 2, (float) sg);
            }
        }
    }

    /** The parallel body of the two passes of {@link #groupNormBackward}, one per thread and reused (see Sgemm.Split). */
    private static final class GroupNormBackwardJob implements Parallel.RangeBody {
        static final ThreadLocal<GroupNormBackwardJob> MINE = ThreadLocal.withInitial(GroupNormBackwardJob::new);
        private boolean params;
        private MemorySegment g;
        private long gOff;
        private MemorySegment x;
        private long xOff;
        private int n;
        private int c;
        private int hw;
        private int groups;
        private MemorySegment mean;
        private long meanOff;
        private MemorySegment rstd;
        private long rstdOff;
        private MemorySegment w;
        private long wOff;
        private MemorySegment dx;
        private long dxOff;
        private MemorySegment dw;
        private long dwOff;
        private MemorySegment db;
        private long dbOff;

        void set(boolean params, MemorySegment g, long gOff, MemorySegment x, long xOff, int n, int c, int hw, int groups, MemorySegment mean,
                long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff, MemorySegment dx, long dxOff, MemorySegment dw,
                long dwOff, MemorySegment db, long dbOff) {
            this.params = params;
            this.g = g;
            this.gOff = gOff;
            this.x = x;
            this.xOff = xOff;
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.groups = groups;
            this.mean = mean;
            this.meanOff = meanOff;
            this.rstd = rstd;
            this.rstdOff = rstdOff;
            this.w = w;
            this.wOff = wOff;
            this.dx = dx;
            this.dxOff = dxOff;
            this.dw = dw;
            this.dwOff = dwOff;
            this.db = db;
            this.dbOff = dbOff;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            g = null;
            x = null;
            mean = null;
            rstd = null;
            w = null;
            dx = null;
            dw = null;
            db = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            if (params) {
                groupNormParamGradChannels(from, to, g, gOff, x, xOff, n, c, hw, groups, mean, meanOff, rstd, rstdOff, dw, dwOff, db, dbOff);
            } else {
                groupNormInputGradRows(from, to, g, gOff, x, xOff, c, hw, groups, mean, meanOff, rstd, rstdOff, w, wOff, dx, dxOff);
            }
        }
    }

    /** dx = (g wc - meanGw - xhat meanGwx) rs over one channel's hw floats, xhat = (x - mu) rs. */
    private static void groupInputGrad(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment dx, long dxb, int n, float mu,
                                       float rs, float wc, float meanGw, float meanGwx) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            FloatVector.fromMemorySegment(F, g, gb + i, ORDER).mul(wc).sub(meanGw).sub(xhat.mul(meanGwx)).mul(rs).intoMemorySegment(dx,
                    dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, (g.get(FLOAT, gb + i) * wc - meanGw - xhat * meanGwx) * rs);
        }
    }
}
