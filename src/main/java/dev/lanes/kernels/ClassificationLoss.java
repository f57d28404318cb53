package dev.lanes.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Cross-entropy (logits) and NLL (log-probabilities) of {@code [n, c]} scores against int64 class indices, forward
 * and backward, one pass per row in double with {@code StrictMath} (so the loss does not depend on the vector width;
 * the rows are short next to the layers before them). Loss of row i:
 * {@code (1 - eps) w[t] (-logp[t]) + eps / c sum_c w[c] (-logp[c])}; mean divides by the summed weight of the
 * rows whose target is not {@code ignoreIndex}, as PyTorch does. Offsets count elements. Targets are checked
 * before anything is written: an index outside [0, c) other than {@code ignoreIndex} throws.
 */
public final class ClassificationLoss {
    public static final int NONE = 0;
    public static final int MEAN = 1;
    public static final int SUM = 2;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;

    private ClassificationLoss() {
    }

    /** Throws unless every target is a class index in [0, c) or {@code ignoreIndex}. */
    public static void checkTargets(MemorySegment t, long tOff, int n, int c, int ignoreIndex) {
        for (int i = 0; i < n; i++) {
            long v = t.getAtIndex(L, tOff + i);
            if (v != ignoreIndex && (v < 0 || v >= c)) {
                throw new IndexOutOfBoundsException("Target " + v + " is out of bounds (" + c + " classes)");
            }
        }
    }

    private static double weight(MemorySegment w, long wOff, long cls) {
        return w == null ? 1 : w.getAtIndex(F, wOff + cls);
    }

    /** The summed weight of the rows not ignored: mean's denominator. */
    private static double denominator(MemorySegment t, long tOff, MemorySegment w, long wOff, int n, int ignoreIndex) {
        double d = 0;
        for (int i = 0; i < n; i++) {
            long ti = t.getAtIndex(L, tOff + i);
            if (ti != ignoreIndex) {
                d += weight(w, wOff, ti);
            }
        }
        return d;
    }

    /**
     * The loss: {@code out[0]} for MEAN and SUM, {@code out[0 .. n)} per row for NONE (0 for ignored rows). A mean
     * over zero weight (every target ignored) is NaN, as in PyTorch.
     */
    public static void forward(boolean logits, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w, long wOff, int n, int c,
                               int ignoreIndex, double eps, int reduction, MemorySegment out, long outOff) {
        forward(logits, x, xOff, t, tOff, w, wOff, n, c, ignoreIndex, eps, reduction, out, outOff, false);
    }

    /**
     * {@link #forward(boolean, MemorySegment, long, MemorySegment, long, MemorySegment, long, int, int, int, double, int, MemorySegment, long)}
     * with {@code parallel} allowing the rows to be split across {@link Parallel}'s workers (a char GPT's 2,048 rows of
     * 65 logits cost ~5% of its 2-thread step on one thread). Each row's loss is computed alone and the total is summed
     * in row order afterwards, so the bits do not depend on the split.
     */
    public static void forward(boolean logits, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w, long wOff, int n, int c,
                               int ignoreIndex, double eps, int reduction, MemorySegment out, long outOff, boolean parallel) {
        checkTargets(t, tOff, n, c, ignoreIndex);
        RowsJob job = RowsJob.MINE.get();
        job.set(logits, null, 0, x, xOff, t, tOff, w, wOff, c, ignoreIndex, eps, reduction, 0, 0, out, outOff);
        try {
            if (reduction != NONE) {
                job.losses = job.scratch(job.losses, n); // per-row losses, summed in order below
            }
            job.forward = true;
            runRows(job, n, c, parallel);
            if (reduction != NONE) {
                double total = 0;
                for (int i = 0; i < n; i++) {
                    total += job.losses[i];
                }
                out.setAtIndex(F, outOff, (float) (reduction == SUM ? total : total / denominator(t, tOff, w, wOff, n, ignoreIndex)));
            }
        } finally {
            job.release();
        }
    }

    /**
     * {@code dx [n, c]} from the loss's gradient {@code g} (one value, or one per row for NONE). Logits:
     * {@code (1 - eps) w[t] (p - [k == t]) + eps / c (W p - w[k])} with p the softmax of the row and W the summed
     * weights; NLL: only the target column, {@code -w[t]}.
     */
    public static void backward(boolean logits, MemorySegment g, long gOff, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w,
                                long wOff, int n, int c, int ignoreIndex, double eps, int reduction, MemorySegment dx, long dxOff) {
        backward(logits, g, gOff, x, xOff, t, tOff, w, wOff, n, c, ignoreIndex, eps, reduction, dx, dxOff, false);
    }

    /** {@link #backward(boolean, MemorySegment, long, MemorySegment, long, MemorySegment, long, MemorySegment, long, int, int, int, double, int, MemorySegment, long)}, rows split as {@code forward}'s. */
    public static void backward(boolean logits, MemorySegment g, long gOff, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w,
                                long wOff, int n, int c, int ignoreIndex, double eps, int reduction, MemorySegment dx, long dxOff, boolean parallel) {
        checkTargets(t, tOff, n, c, ignoreIndex);
        double wSum = 0;
        for (int k = 0; k < c; k++) {
            wSum += weight(w, wOff, k);
        }
        double den = reduction == MEAN ? denominator(t, tOff, w, wOff, n, ignoreIndex) : 1;
        RowsJob job = RowsJob.MINE.get();
        job.set(logits, g, gOff, x, xOff, t, tOff, w, wOff, c, ignoreIndex, eps, reduction, wSum, den, dx, dxOff);
        try {
            job.forward = false;
            runRows(job, n, c, parallel);
        } finally {
            job.release();
        }
    }

    /** Below this many scores the rows stay on the calling thread (an exp in double costs ~20 ns: 8,192 are ~0.2 ms). */
    private static final int PARALLEL_MIN_SCORES = 8192;

    private static void runRows(RowsJob job, int n, int c, boolean parallel) {
        int parts = parallel ? Math.min(n, Parallel.partsFor((long) n * c, PARALLEL_MIN_SCORES)) : 1;
        if (parts <= 1) {
            job.accept(0, 0, n);
        } else {
            Parallel.forRange(parts, n, job);
        }
    }

    /**
     * Rows [from, to) of a forward or backward pass. One per thread and reused: a compiled step allocates nothing once
     * its buffers have grown (the exponentials of a row, the per-row losses); the calling thread's job holds the call,
     * the workers run its {@link #accept}.
     */
    private static final class RowsJob implements Parallel.RangeBody {
        static final ThreadLocal<RowsJob> MINE = ThreadLocal.withInitial(RowsJob::new);
        /** Each thread's exponentials of one row: the softmax needs them twice (sum, then each p). */
        private static final ThreadLocal<double[][]> EXPS = ThreadLocal.withInitial(() -> new double[1][0]);
        boolean forward;
        double[] losses = new double[0];
        private boolean logits;
        private MemorySegment g;
        private long gOff;
        private MemorySegment x;
        private long xOff;
        private MemorySegment t;
        private long tOff;
        private MemorySegment w;
        private long wOff;
        private int c;
        private int ignoreIndex;
        private double eps;
        private int reduction;
        private double wSum;
        private double den;
        private MemorySegment out;
        private long outOff;

        void set(boolean logits, MemorySegment g, long gOff, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w, long wOff,
                 int c, int ignoreIndex, double eps, int reduction, double wSum, double den, MemorySegment out, long outOff) {
            this.logits = logits;
            this.g = g;
            this.gOff = gOff;
            this.x = x;
            this.xOff = xOff;
            this.t = t;
            this.tOff = tOff;
            this.w = w;
            this.wOff = wOff;
            this.c = c;
            this.ignoreIndex = ignoreIndex;
            this.eps = eps;
            this.reduction = reduction;
            this.wSum = wSum;
            this.den = den;
            this.out = out;
            this.outOff = outOff;
        }

        double[] scratch(double[] a, int n) {
            return a.length >= n ? a : new double[Math.max(n, 2 * a.length)];
        }

        void release() {
            g = null;
            x = null;
            t = null;
            w = null;
            out = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            if (forward) {
                forwardRows(from, to);
            } else {
                backwardRows(from, to);
            }
        }

        private void forwardRows(int from, int to) {
            double[][] held = EXPS.get();
            if (held[0].length <= c) {
                held[0] = new double[c + 1];
            }
            double[] e = held[0];
            for (int i = from; i < to; i++) {
                long ti = t.getAtIndex(L, tOff + i);
                double loss = 0;
                if (ti != ignoreIndex) {
                    long base = xOff + (long) i * c;
                    // log_softmax as (x - max) - log(sum), PyTorch's order: x - (max + log(sum)) lost log(sum) beside a max
                    // of 1e30 (a loss of 0 for log 2)
                    double logSum = logits ? logSumExp(x, base, c, e) : 0;
                    double max = logits ? e[c] : 0;
                    loss = (1 - eps) * weight(w, wOff, ti) * -((x.getAtIndex(F, base + ti) - max) - logSum);
                    if (eps > 0) {
                        double smooth = 0;
                        for (int k = 0; k < c; k++) {
                            smooth += weight(w, wOff, k) * -((x.getAtIndex(F, base + k) - max) - logSum);
                        }
                        loss += eps / c * smooth;
                    }
                }
                if (reduction == NONE) {
                    out.setAtIndex(F, outOff + i, (float) loss);
                } else {
                    losses[i] = loss;
                }
            }
        }

        private void backwardRows(int from, int to) {
            double[][] held = EXPS.get();
            if (held[0].length <= c) {
                held[0] = new double[c + 1];
            }
            double[] e = held[0];
            for (int i = from; i < to; i++) {
                long base = (long) i * c;
                long ti = t.getAtIndex(L, tOff + i);
                if (ti == ignoreIndex) {
                    // zeroed by the vector fill: asSlice(...).fill would allocate a segment per call (a compiled step allocates nothing)
                    Elementwise.unaryContiguous(UnaryOp.FILL, 0f, 0f, out, (outOff + base) << 2, out, (outOff + base) << 2, c);
                    continue;
                }
                double up = switch (reduction) {
                    case NONE -> g.getAtIndex(F, gOff + i);
                    case SUM -> g.getAtIndex(F, gOff);
                    default -> g.getAtIndex(F, gOff) / den;
                };
                double wt = weight(w, wOff, ti);
                if (logits) {
                    double sum = expShifted(x, xOff + base, c, e);
                    for (int k = 0; k < c; k++) {
                        double p = e[k] / sum;
                        double d = (1 - eps) * wt * (p - (k == ti ? 1 : 0)) + eps / c * (wSum * p - weight(w, wOff, k));
                        out.setAtIndex(F, outOff + base + k, (float) (d * up));
                    }
                } else {
                    Elementwise.unaryContiguous(UnaryOp.FILL, 0f, 0f, out, (outOff + base) << 2, out, (outOff + base) << 2, c);
                    out.setAtIndex(F, outOff + base + ti, (float) (-wt * up));
                }
            }
        }
    }

    /** {@code e[k] = exp(x[base + k] - max)} over the row, stable (the row's max taken out); returns their sum and leaves the max in {@code e[c]}. */
    private static double expShifted(MemorySegment x, long base, int c, double[] e) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) {
            max = Math.max(max, x.getAtIndex(F, base + i));
        }
        double sum = 0;
        for (int i = 0; i < c; i++) {
            e[i] = StrictMath.exp(x.getAtIndex(F, base + i) - max);
            sum += e[i];
        }
        e[c] = max;
        return sum;
    }

    /** log(sum(exp(x[base .. base + c) - max))), the max left in e[c]: the caller subtracts the max first. */
    private static double logSumExp(MemorySegment x, long base, int c, double[] e) {
        double sum = expShifted(x, base, c, e);
        return StrictMath.log(sum);
    }
}
