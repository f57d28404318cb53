package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Tiled ("flash") scaled dot-product attention: {@code out = softmax(q k^T * scale [+ causal mask]) v} per batch
 * entry, forward and backward, without the {@code [L, S]} score matrix: the forward walks the keys in blocks of
 * {@link #KEY_BLOCK} with an online softmax (running max and sum per query row, the output rescaled when the max
 * grows) and keeps the log-sum-exp of every row; the backward recomputes the probabilities of a few query rows at a
 * time from it (FlashAttention-2's recurrences: {@code dS = P (dP - rowsum(dO o))}).
 *
 * <p>Layouts: {@code q [batch, l, e]}, {@code k [batch, s, e]}, {@code v [batch, s, ev]}, {@code out [batch, l, ev]},
 * {@code lse [batch, l]}, all contiguous (element offsets). Causal is PyTorch's {@code is_causal}: query i sees keys
 * {@code j <= i}.
 *
 * <p>The same bits at every vector width and thread count (issue 13): a score is a dot product summed over {@code e}
 * in order (vectors run across keys, each lane one key); the key block is the fixed {@link #KEY_BLOCK}, so the online
 * softmax rescales at the same places at every width; row sums of a block use {@link Simd}'s canonical order;
 * output, dQ, dK and dV accumulate key by key or query by query in index order (vectors across the feature dim);
 * threads split batch entries and query rows, never a sum.
 *
 * <p>Dropout on the attention weights (training): element {@code (b, i, j)} is kept with probability {@code 1 - p}
 * by a counter-based hash of {@code (seed, b, i, j)} ({@link #kept}), so the forward and the backward see the same
 * mask without storing it, whatever the thread split or width. The softmax's sum uses the undropped weights, the
 * output the dropped and rescaled ones ({@code P o M / (1 - p)} then {@code V}); the backward scales {@code dP} by the
 * same mask, and {@code rowsum(dO o)} stays the right correction.
 */
public final class Attention {
    /** Keys per block of the online softmax: fixed (not derived from the lane count) so results are width-independent. */
    public static final int KEY_BLOCK = 64;
    /** Query rows computed together (they share the loads of packed keys). */
    static final int ROWS = 4;
    /**
     * Query rows per step of the backward: dK and dV rows are loaded and stored once per step, so more rows per step
     * means fewer passes over them (a multiple of {@link #ROWS}).
     */
    static final int BACK_ROWS = 16;
    /**
     * Columns of one score micro-tile: two vectors, or 0 (the scalar forms, the same bits) when two vectors do not
     * divide a key block (lane counts above 32) or {@code -Dlanes.attentionScalar=true} asks for them (how the tests
     * reach them: GemmTilesTest).
     */
    static final int TILE = KEY_BLOCK % (2 * LANES) == 0 && !Boolean.getBoolean("lanes.attentionScalar") ? 2 * LANES : 0;
    /** Each thread's scratch for the eager calls, grown to the largest asked for (a plan passes its own). */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private Attention() {
    }

    private static int paddedKeys(int s) {
        return (int) Math.min(Integer.MAX_VALUE, ((long) s + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK);
    }

    /** Floats of scratch one forward call on one thread needs (an inference plan keeps one per context). */
    public static long forwardScratchFloats(int s, int e, int ev) {
        return (long) e * paddedKeys(s) + ROWS * ((long) e + ev + KEY_BLOCK + 2);
    }

    /** Floats of scratch one batch entry of the backward needs. */
    public static long backwardScratchFloats(int s, int e, int ev) {
        return ((long) e + ev) * paddedKeys(s) + BACK_ROWS * (2L * e + 2L * ev + 2L * paddedKeys(s) + 2) + paddedKeys(s);
    }

    /**
     * The forward. {@code lse} (may be null: inference) receives {@code max + log(sum)} of every query row, which
     * the backward needs. {@code parallel}: split across {@link Parallel}'s workers (each allocates its scratch);
     * otherwise one pass on the calling thread with {@code scratch} of {@link #forwardScratchFloats} floats.
     */
    public static void forward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff, int batch, int l, int s,
                               int e, int ev, float scale, boolean causal, Dropout dropout, MemorySegment out, long outOff, MemorySegment lse,
                               long lseOff, boolean parallel, float[] scratch) {
        if (batch == 0 || l == 0 || ev == 0) {
            return;
        }
        int blocks = (l + ROWS - 1) / ROWS;
        int items = Math.multiplyExact(batch, blocks);
        if (!parallel) {
            forwardItems(q, qOff, k, kOff, v, vOff, blocks, l, s, e, ev, scale, causal, dropout, out, outOff, lse, lseOff, 0, items, scratch);
            return;
        }
        int floats = Math.toIntExact(forwardScratchFloats(s, e, ev));
        int parts = parts(items, batch, l, s, e, ev);
        if (parts <= 1) {
            forwardItems(q, qOff, k, kOff, v, vOff, blocks, l, s, e, ev, scale, causal, dropout, out, outOff, lse, lseOff, 0, items,
                    threadScratch(floats));
            return;
        }
        ForwardJob job = ForwardJob.MINE.get();
        job.set(q, qOff, k, kOff, v, vOff, blocks, l, s, e, ev, scale, causal, dropout, out, outOff, lse, lseOff, floats);
        try {
            Parallel.forRange(parts, items, job);
        } finally {
            job.release();
        }
    }

    /**
     * The parallel body of {@link #forward}, one per thread and reused (a capturing lambda per call was ~20 fields of
     * heap per attention layer and step in a compiled GPT step; issue 17). Used only when the call really splits, so
     * never by one of its own parts (same invariant as Sgemm.Split).
     */
    private static final class ForwardJob implements Parallel.RangeBody {
        static final ThreadLocal<ForwardJob> MINE = ThreadLocal.withInitial(ForwardJob::new);
        private MemorySegment q;
        private long qOff;
        private MemorySegment k;
        private long kOff;
        private MemorySegment v;
        private long vOff;
        private int blocks;
        private int l;
        private int s;
        private int e;
        private int ev;
        private float scale;
        private boolean causal;
        private Dropout dropout;
        private MemorySegment out;
        private long outOff;
        private MemorySegment lse;
        private long lseOff;
        private int floats;

        void set(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff, int blocks, int l, int s, int e, int ev,
                 float scale, boolean causal, Dropout dropout, MemorySegment out, long outOff, MemorySegment lse, long lseOff, int floats) {
            this.q = q;
            this.qOff = qOff;
            this.k = k;
            this.kOff = kOff;
            this.v = v;
            this.vOff = vOff;
            this.blocks = blocks;
            this.l = l;
            this.s = s;
            this.e = e;
            this.ev = ev;
            this.scale = scale;
            this.causal = causal;
            this.dropout = dropout;
            this.out = out;
            this.outOff = outOff;
            this.lse = lse;
            this.lseOff = lseOff;
            this.floats = floats;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            q = null;
            k = null;
            v = null;
            dropout = null;
            out = null;
            lse = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            forwardItems(q, qOff, k, kOff, v, vOff, blocks, l, s, e, ev, scale, causal, dropout, out, outOff, lse, lseOff, from, to,
                    threadScratch(floats));
        }
    }

    /** Parts to split {@code items} into: about 2^16 multiply-adds each at least, one per thread at most. */
    private static int parts(int items, int batch, int l, int s, int e, int ev) {
        long work = (long) batch * l * Math.max(1, s) * (e + ev);
        return Math.min(items, Parallel.partsFor(work, 1 << 16));
    }

    /** This thread's scratch of at least {@code floats} (no allocation per call once grown). */
    private static float[] threadScratch(int floats) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < floats) {
            holder[0] = new float[floats];
        }
        return holder[0];
    }

    /** Work items [from, to): item = batch entry * blocks + block of {@link #ROWS} query rows. */
    private static void forwardItems(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff, int blocks, int l,
                                     int s, int e, int ev, float scale, boolean causal, Dropout dropout, MemorySegment out, long outOff,
                                     MemorySegment lse, long lseOff, int from, int to, float[] scratch) {
        int spad = paddedKeys(s);
        int ktAt = 0;
        int qAt = ktAt + e * spad;
        int oAt = qAt + ROWS * e;
        int sAt = oAt + ROWS * ev;
        int mAt = sAt + ROWS * KEY_BLOCK;
        int lAt = mAt + ROWS;
        int packed = -1;
        for (int item = from; item < to; item++) {
            int b = item / blocks;
            int i0 = (item % blocks) * ROWS;
            int nr = Math.min(ROWS, l - i0);
            long kb = kOff + (long) b * s * e;
            long vb = vOff + (long) b * s * ev;
            if (packed != b) {
                packTransposed(k, kb, s, e, spad, scratch, ktAt, qAt); // the q rows are copied after
                packed = b;
            }
            copyRows(q, qOff + ((long) b * l + i0) * e, nr, ROWS, e, scratch, qAt);
            for (int r = 0; r < ROWS; r++) {
                scratch[mAt + r] = Float.NEGATIVE_INFINITY;
                scratch[lAt + r] = 0f;
            }
            java.util.Arrays.fill(scratch, oAt, oAt + ROWS * ev, 0f);
            int limit = causal ? Math.min(s, i0 + nr) : s;
            for (int j0 = 0; j0 < limit; j0 += KEY_BLOCK) {
                scores(scratch, ktAt, spad, j0, KEY_BLOCK, scratch, qAt, e, scale, scratch, sAt, KEY_BLOCK);
                int jEnd = Math.min(j0 + KEY_BLOCK, limit);
                for (int r = 0; r < ROWS; r++) {
                    int visible = r >= nr ? j0 : causal ? Math.min(s, i0 + r + 1) : s;
                    maskFrom(scratch, sAt + r * KEY_BLOCK, Math.max(0, Math.min(KEY_BLOCK, visible - j0)), KEY_BLOCK);
                    if (r < nr) {
                        onlineSoftmax(scratch, sAt + r * KEY_BLOCK, mAt + r, lAt + r, oAt + r * ev, ev);
                        if (dropout != null) { // the sum above counted every weight; the output gets the kept ones
                            dropout.apply(scratch, sAt + r * KEY_BLOCK, ((long) b * l + i0 + r) * s + j0, Math.min(KEY_BLOCK, s - j0));
                        }
                    }
                }
                accumulateValues(v, vb, j0, jEnd, ev, scratch, sAt, KEY_BLOCK, nr, oAt);
            }
            for (int r = 0; r < nr; r++) {
                int i = i0 + r;
                float sum = scratch[lAt + r];
                long ob = (outOff + ((long) b * l + i) * ev) << 2;
                divideRow(scratch, oAt + r * ev, ev, sum, out, ob);
                if (lse != null) {
                    float m = scratch[mAt + r];
                    lse.set(FLOAT, (lseOff + (long) b * l + i) << 2, sum == 0f ? Float.NEGATIVE_INFINITY : m + VectorMath.log(sum));
                }
            }
        }
    }

    /** One row's block of scores becomes probabilities relative to the new running max; sum and output rescaled. */
    private static void onlineSoftmax(float[] w, int sAt, int mAt, int lAt, int oAt, int ev) {
        float blockMax = rowMax(w, sAt, KEY_BLOCK);
        float old = w[mAt];
        float m = Math.max(old, blockMax);
        if (m == Float.NEGATIVE_INFINITY) { // nothing visible yet: the block contributes nothing
            java.util.Arrays.fill(w, sAt, sAt + KEY_BLOCK, 0f);
            return;
        }
        expShifted(w, sAt, KEY_BLOCK, m);
        float blockSum = sumBlock(w, sAt);
        if (old != m) {
            if (old != Float.NEGATIVE_INFINITY) { // the first block finds the sum and the output still zero: nothing to rescale
                float alpha = VectorMath.exp(old - m);
                w[lAt] *= alpha;
                for (int x = 0; x < ev; x++) {
                    w[oAt + x] *= alpha;
                }
            }
            w[mAt] = m;
        }
        w[lAt] += blockSum;
    }

    /**
     * The backward: dq, dk, dv (each may be null when not needed; dk and dv are overwritten) from the saved output and
     * log-sum-exp. Parallel over batch entries only: dK and dV sum over every query row of an entry, in row order.
     */
    public static void backward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff, MemorySegment out,
                                long outOff, MemorySegment lse, long lseOff, MemorySegment dOut, long dOutOff, int batch, int l, int s, int e,
                                int ev, float scale, boolean causal, Dropout dropout, MemorySegment dq, long dqOff, MemorySegment dk,
                                long dkOff, MemorySegment dv, long dvOff) {
        if (batch == 0) {
            return;
        }
        if (l == 0 || ev == 0) {
            // no query rows, or values of no features: every gradient is 0 (the forward returned before writing lse,
            // and the score gradients would read a pooled block's old bits there: NaN or inf times a 0 dP)
            if (dq != null) {
                Elementwise.zero(dq, dqOff << 2, (long) batch * l * e);
            }
            if (dk != null) {
                Elementwise.zero(dk, dkOff << 2, (long) batch * s * e);
            }
            if (dv != null) {
                Elementwise.zero(dv, dvOff << 2, (long) batch * s * ev);
            }
            return;
        }
        int floats = Math.toIntExact(backwardScratchFloats(s, e, ev));
        int parts = parts(batch, batch, l, s, e, ev);
        BackwardJob job = BackwardJob.MINE.get();
        job.set(q, qOff, k, kOff, v, vOff, out, outOff, lse, lseOff, dOut, dOutOff, l, s, e, ev, scale, causal, dropout, dq, dqOff, dk, dkOff,
                dv, dvOff, floats);
        try {
            if (parts <= 1) {
                job.accept(0, 0, batch);
            } else {
                Parallel.forRange(parts, batch, job);
            }
        } finally {
            job.release();
        }
    }

    /**
     * The parallel body of {@link #backward}, one per thread and reused (see {@link ForwardJob}). The backward never
     * runs inside another attention call's part, so the one-part case uses it too.
     */
    private static final class BackwardJob implements Parallel.RangeBody {
        static final ThreadLocal<BackwardJob> MINE = ThreadLocal.withInitial(BackwardJob::new);
        private MemorySegment q;
        private long qOff;
        private MemorySegment k;
        private long kOff;
        private MemorySegment v;
        private long vOff;
        private MemorySegment out;
        private long outOff;
        private MemorySegment lse;
        private long lseOff;
        private MemorySegment dOut;
        private long dOutOff;
        private int l;
        private int s;
        private int e;
        private int ev;
        private float scale;
        private boolean causal;
        private Dropout dropout;
        private MemorySegment dq;
        private long dqOff;
        private MemorySegment dk;
        private long dkOff;
        private MemorySegment dv;
        private long dvOff;
        private int floats;

        void set(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff, MemorySegment out, long outOff,
                 MemorySegment lse, long lseOff, MemorySegment dOut, long dOutOff, int l, int s, int e, int ev, float scale, boolean causal,
                 Dropout dropout, MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff, int floats) {
            this.q = q;
            this.qOff = qOff;
            this.k = k;
            this.kOff = kOff;
            this.v = v;
            this.vOff = vOff;
            this.out = out;
            this.outOff = outOff;
            this.lse = lse;
            this.lseOff = lseOff;
            this.dOut = dOut;
            this.dOutOff = dOutOff;
            this.l = l;
            this.s = s;
            this.e = e;
            this.ev = ev;
            this.scale = scale;
            this.causal = causal;
            this.dropout = dropout;
            this.dq = dq;
            this.dqOff = dqOff;
            this.dk = dk;
            this.dkOff = dkOff;
            this.dv = dv;
            this.dvOff = dvOff;
            this.floats = floats;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            q = null;
            k = null;
            v = null;
            out = null;
            lse = null;
            dOut = null;
            dropout = null;
            dq = null;
            dk = null;
            dv = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            float[] scratch = threadScratch(floats);
            for (int b = from; b < to; b++) {
                backwardEntry(q, qOff + (long) b * l * e, k, kOff + (long) b * s * e, v, vOff + (long) b * s * ev,
                        out, outOff + (long) b * l * ev, lse, lseOff + (long) b * l, dOut, dOutOff + (long) b * l * ev, l, s, e, ev, scale,
                        causal, dropout, (long) b * l * s, dq, dqOff + (long) b * l * e, dk, dkOff + (long) b * s * e, dv, dvOff + (long) b * s * ev,
                        scratch);
            }
        }
    }

    private static void backwardEntry(MemorySegment q, long qb, MemorySegment k, long kb, MemorySegment v, long vb, MemorySegment out,
                                      long ob, MemorySegment lse, long lb, MemorySegment dOut, long gb, int l, int s, int e, int ev,
                                      float scale, boolean causal, Dropout dropout, long maskBase, MemorySegment dq, long dqb, MemorySegment dk,
                                      long dkb, MemorySegment dv, long dvb, float[] w) {
        int spad = paddedKeys(s);
        int ktAt = 0;
        int vtAt = ktAt + e * spad;
        int qAt = vtAt + ev * spad;
        int gAt = qAt + BACK_ROWS * e;
        int oAt = gAt + BACK_ROWS * ev;
        int dqAt = oAt + BACK_ROWS * ev;
        int pAt = dqAt + BACK_ROWS * e;
        int dpAt = pAt + BACK_ROWS * spad;
        int msAt = dpAt + BACK_ROWS * spad;
        packTransposed(k, kb, s, e, spad, w, ktAt, qAt); // the row buffers are filled after
        packTransposed(v, vb, s, ev, spad, w, vtAt, gAt);
        if (dk != null) {
            Elementwise.zero(dk, dkb << 2, (long) s * e);
        }
        if (dv != null) {
            Elementwise.zero(dv, dvb << 2, (long) s * ev);
        }
        for (int i0 = 0; i0 < l; i0 += BACK_ROWS) {
            int nr = Math.min(BACK_ROWS, l - i0);
            int groups = (nr + ROWS - 1) / ROWS;
            int limit = causal ? Math.min(s, i0 + nr) : s;
            int cols = (limit + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
            copyRows(q, qb + (long) i0 * e, nr, groups * ROWS, e, w, qAt);
            copyRows(dOut, gb + (long) i0 * ev, nr, groups * ROWS, ev, w, gAt);
            copyRows(out, ob + (long) i0 * ev, nr, groups * ROWS, ev, w, oAt);
            for (int gr = 0; gr < groups; gr++) {
                scores(w, ktAt, spad, 0, cols, w, qAt + gr * ROWS * e, e, scale, w, pAt + gr * ROWS * spad, spad);
                scores(w, vtAt, spad, 0, cols, w, gAt + gr * ROWS * ev, ev, 1f, w, dpAt + gr * ROWS * spad, spad);
            }
            for (int r = 0; r < nr; r++) {
                int visible = causal ? Math.min(s, i0 + r + 1) : s;
                int pr = pAt + r * spad;
                maskFrom(w, pr, visible, cols);
                float rowLse = lse.get(FLOAT, (lb + i0 + r) << 2);
                expShifted(w, pr, cols, rowLse == Float.NEGATIVE_INFINITY ? 0f : rowLse);
                float d = 0f; // rowsum(dO o) = rowsum(dP P), in index order
                for (int x = 0; x < ev; x++) {
                    d = Math.fma(w[gAt + r * ev + x], w[oAt + r * ev + x], d);
                }
                if (dropout != null) { // dP of the kept, rescaled weights; dV from those weights; dS from the undropped P
                    java.util.Arrays.fill(w, msAt, msAt + cols, 1f);
                    dropout.apply(w, msAt, maskBase + (long) (i0 + r) * s, visible);
                    for (int c = 0; c < visible; c++) {
                        w[dpAt + r * spad + c] *= w[msAt + c];
                    }
                    scoreGradient(w, pr, dpAt + r * spad, cols, d, scale);
                    for (int c = 0; c < visible; c++) {
                        w[pr + c] *= w[msAt + c];
                    }
                } else {
                    scoreGradient(w, pr, dpAt + r * spad, cols, d, scale);
                }
            }
            // dp now holds dS * scale; dv += P^T dO, dk += dS^T q, dq = dS k, key by key and row by row in order
            if (dv != null) {
                accumulateRows(w, pAt, spad, limit, nr, w, gAt, ev, dv, dvb);
            }
            if (dk != null) {
                accumulateRows(w, dpAt, spad, limit, nr, w, qAt, e, dk, dkb);
            }
            if (dq != null) {
                java.util.Arrays.fill(w, dqAt, dqAt + nr * e, 0f);
                accumulateValuesInto(k, kb, 0, limit, e, w, dpAt, spad, nr, w, dqAt);
                MemorySegment.copy(w, dqAt, dq, FLOAT, (dqb + (long) i0 * e) << 2, nr * e);
            }
        }
    }

    /**
     * Dropout of the attention weights with probability {@code p}: the mask is a pure function of {@code seed} and
     * the element's index {@code (b * L + i) * S + j} (SplitMix64's finaliser over {@code seed + index * golden
     * gamma}; kept when the top 32 bits are at least {@code p * 2^32}), so the backward recomputes it.
     */
    public record Dropout(double p, long seed) {
        public Dropout {
            if (!(p > 0 && p < 1)) {
                throw new IllegalArgumentException("attention dropout needs 0 < p < 1, got " + p);
            }
        }

        /** Whether element {@code index} is kept. */
        public boolean kept(long index) {
            long z = seed + index * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            return Long.compareUnsigned(z >>> 32, (long) (p * 4294967296.0)) >= 0;
        }

        /** {@code w[at + c] *= kept(first + c) ? 1 / (1 - p) : 0} for c < n. */
        void apply(float[] w, int at, long first, int n) {
            float scale = 1f / (float) (1 - p); // PyTorch: noise.div_(1 - p), the divisor rounded to float first (1.1764705 at p = 0.15, not 1.1764706)
            for (int c = 0; c < n; c++) {
                w[at + c] = kept(first + c) ? w[at + c] * scale : 0f;
            }
        }
    }

    // ---- pieces ----

    /**
     * {@code dst[x * spad + j] = src[j, x]} for j < s, zero for s <= j < spad (padding keys score 0, masked later);
     * {@code dst[rowAt, rowAt + e)} is the row buffer (scratch the caller fills afterwards: no allocation in a plan).
     */
    private static void packTransposed(MemorySegment src, long off, int s, int e, int spad, float[] dst, int at, int rowAt) {
        for (int j = 0; j < s; j++) { // one bulk copy per row into dst[rowAt, rowAt + e), then array reads
            MemorySegment.copy(src, FLOAT, (off + (long) j * e) << 2, dst, rowAt, e);
            for (int x = 0; x < e; x++) {
                dst[at + x * spad + j] = dst[rowAt + x];
            }
        }
        for (int x = 0; x < e; x++) {
            java.util.Arrays.fill(dst, at + x * spad + s, at + x * spad + spad, 0f);
        }
    }

    /** Rows [0, nr) of width n into dst; rows nr..padded-1 repeat the last one (their results are never used). */
    private static void copyRows(MemorySegment src, long off, int nr, int padded, int n, float[] dst, int at) {
        MemorySegment.copy(src, FLOAT, off << 2, dst, at, nr * n);
        for (int r = nr; r < padded; r++) {
            System.arraycopy(dst, at + (nr - 1) * n, dst, at + r * n, n);
        }
    }

    /**
     * {@code out[r][c] = scale * sum_x rows[r][x] * packed[x][j0 + c]} for the {@link #ROWS} rows and columns
     * [0, cols) (a multiple of {@link #KEY_BLOCK}): each column's sum runs over x in order, one FMA per term.
     */
    private static void scores(float[] packed, int pAt, int spad, int j0, int cols, float[] rows, int rAt, int n, float scale,
                               float[] out, int oAt, int oStride) {
        if (TILE == 0) {
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < cols; c++) {
                    float acc = 0f;
                    for (int x = 0; x < n; x++) {
                        acc = Math.fma(rows[rAt + r * n + x], packed[pAt + x * spad + j0 + c], acc);
                    }
                    out[oAt + r * oStride + c] = acc * scale;
                }
            }
            return;
        }
        FloatVector vs = FloatVector.broadcast(F, scale);
        int r1 = rAt + n;
        int r2 = r1 + n;
        int r3 = r2 + n;
        for (int c = 0; c < cols; c += TILE) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = a00;
            FloatVector a10 = a00;
            FloatVector a11 = a00;
            FloatVector a20 = a00;
            FloatVector a21 = a00;
            FloatVector a30 = a00;
            FloatVector a31 = a00;
            int at = pAt + j0 + c;
            for (int x = 0; x < n; x++, at += spad) {
                FloatVector b0 = FloatVector.fromArray(F, packed, at);
                FloatVector b1 = FloatVector.fromArray(F, packed, at + LANES);
                FloatVector q0 = FloatVector.broadcast(F, rows[rAt + x]);
                a00 = q0.fma(b0, a00);
                a01 = q0.fma(b1, a01);
                FloatVector q1 = FloatVector.broadcast(F, rows[r1 + x]);
                a10 = q1.fma(b0, a10);
                a11 = q1.fma(b1, a11);
                FloatVector q2 = FloatVector.broadcast(F, rows[r2 + x]);
                a20 = q2.fma(b0, a20);
                a21 = q2.fma(b1, a21);
                FloatVector q3 = FloatVector.broadcast(F, rows[r3 + x]);
                a30 = q3.fma(b0, a30);
                a31 = q3.fma(b1, a31);
            }
            int o = oAt + c;
            a00.mul(vs).intoArray(out, o);
            a01.mul(vs).intoArray(out, o + LANES);
            a10.mul(vs).intoArray(out, o + oStride);
            a11.mul(vs).intoArray(out, o + oStride + LANES);
            a20.mul(vs).intoArray(out, o + 2 * oStride);
            a21.mul(vs).intoArray(out, o + 2 * oStride + LANES);
            a30.mul(vs).intoArray(out, o + 3 * oStride);
            a31.mul(vs).intoArray(out, o + 3 * oStride + LANES);
        }
    }

    /** Entries [from, to) of a score row become -inf (keys the row may not see, and padding). */
    private static void maskFrom(float[] w, int at, int from, int to) {
        java.util.Arrays.fill(w, at + from, at + to, Float.NEGATIVE_INFINITY);
    }

    private static float rowMax(float[] w, int at, int n) {
        float m = Float.NEGATIVE_INFINITY;
        if (TILE != 0) {
            FloatVector vm = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int c = 0; c < n; c += LANES) {
                vm = vm.max(FloatVector.fromArray(F, w, at + c));
            }
            return vm.reduceLanes(VectorOperators.MAX); // a max is exact in any order
        }
        for (int c = 0; c < n; c++) {
            m = Math.max(m, w[at + c]);
        }
        return m;
    }

    /** {@code w[at + c] = exp(w[at + c] - shift)} for c < n (a multiple of {@link #KEY_BLOCK}): Lanes' own exp. */
    private static void expShifted(float[] w, int at, int n, float shift) {
        if (TILE == 0) {
            for (int c = 0; c < n; c++) {
                w[at + c] = VectorMath.exp(w[at + c] - shift);
            }
            return;
        }
        VectorMath.expShiftedArray(w, at, n, shift); // exp written out in the loop: no call for C2 to leave out of line
    }

    /** The sum of one block of {@link #KEY_BLOCK} probabilities in {@link Simd}'s canonical order (16 partial sums). */
    private static float sumBlock(float[] w, int at) {
        switch (Simd.GROUP) {
            case 1 -> {
                FloatVector p = FloatVector.fromArray(F, w, at);
                for (int c = 16; c < KEY_BLOCK; c += 16) {
                    p = p.add(FloatVector.fromArray(F, w, at + c));
                }
                return Simd.fold16(p);
            }
            case 2 -> {
                FloatVector lo = FloatVector.fromArray(F, w, at);
                FloatVector hi = FloatVector.fromArray(F, w, at + 8);
                for (int c = 16; c < KEY_BLOCK; c += 16) {
                    lo = lo.add(FloatVector.fromArray(F, w, at + c));
                    hi = hi.add(FloatVector.fromArray(F, w, at + c + 8));
                }
                return Simd.fold16(lo, hi);
            }
            case 4 -> {
                FloatVector p0 = FloatVector.fromArray(F, w, at);
                FloatVector p1 = FloatVector.fromArray(F, w, at + 4);
                FloatVector p2 = FloatVector.fromArray(F, w, at + 8);
                FloatVector p3 = FloatVector.fromArray(F, w, at + 12);
                for (int c = 16; c < KEY_BLOCK; c += 16) {
                    p0 = p0.add(FloatVector.fromArray(F, w, at + c));
                    p1 = p1.add(FloatVector.fromArray(F, w, at + c + 4));
                    p2 = p2.add(FloatVector.fromArray(F, w, at + c + 8));
                    p3 = p3.add(FloatVector.fromArray(F, w, at + c + 12));
                }
                return Simd.fold16(p0, p1, p2, p3);
            }
            default -> {
                // the partials start from the first 16 values, as the vector forms' do (0 + -0 would be +0)
                float[] p = java.util.Arrays.copyOfRange(w, at, at + 16);
                for (int c = 16; c < KEY_BLOCK; c++) {
                    p[c % 16] += w[at + c];
                }
                return Simd.fold(p, 0, 16);
            }
        }
    }

    /** {@code dp[c] = scale * p[c] * (dp[c] - d)}: the score gradient (times the scale both products need). */
    private static void scoreGradient(float[] w, int pAt, int dpAt, int n, float d, float scale) {
        if (TILE == 0) {
            for (int c = 0; c < n; c++) {
                w[dpAt + c] = w[pAt + c] * (w[dpAt + c] - d) * scale;
            }
            return;
        }
        FloatVector vd = FloatVector.broadcast(F, d);
        FloatVector vs = FloatVector.broadcast(F, scale);
        for (int c = 0; c < n; c += LANES) {
            FloatVector.fromArray(F, w, pAt + c).mul(FloatVector.fromArray(F, w, dpAt + c).sub(vd)).mul(vs).intoArray(w, dpAt + c);
        }
    }

    /**
     * {@code acc[r][:] += sum_{j in [j0, j1)} p[r][j - j0] * src[j][:]} for rows r < nr, j in order: the value rows
     * weighted by probabilities (forward), or the key rows weighted by score gradients (dq). {@code src} rows have
     * {@code n} floats; vectors run across n.
     */
    private static void accumulateValues(MemorySegment src, long srcOff, int j0, int j1, int n, float[] p, int pAt, int pStride, int nr,
                                         int accAt) {
        accumulateValuesInto(src, srcOff, j0, j1, n, p, pAt, pStride, nr, p, accAt);
    }

    private static void accumulateValuesInto(MemorySegment src, long srcOff, int j0, int j1, int n, float[] p, int pAt, int pStride, int nr,
                                             float[] acc, int accAt) {
        int whole = TILE == 0 ? 0 : nr - nr % ROWS;
        for (int r = 0; r < whole; r += ROWS) { // four rows share each load of a source row
            accumulateFourRows(src, srcOff, j0, j1, n, p, pAt + r * pStride - j0, pStride, acc, accAt + r * n);
        }
        int vecEnd = TILE == 0 ? 0 : n - n % LANES;
        for (int r = whole; r < nr; r++) {
            int pr = pAt + r * pStride - j0;
            int ar = accAt + r * n;
            for (int x = 0; x < vecEnd; x += LANES) {
                FloatVector a = FloatVector.fromArray(F, acc, ar + x);
                long at = (srcOff + (long) j0 * n + x) << 2;
                for (int j = j0; j < j1; j++, at += (long) n << 2) {
                    a = FloatVector.broadcast(F, p[pr + j]).fma(FloatVector.fromMemorySegment(F, src, at, ORDER), a);
                }
                a.intoArray(acc, ar + x);
            }
            accumulateTail(src, srcOff, j0, j1, n, vecEnd, p, pr, acc, ar);
        }
    }

    /** {@link #accumulateValuesInto} for rows r..r+3 ({@code pr}: row r's weights, indexed by j; {@code ar}: its acc). */
    private static void accumulateFourRows(MemorySegment src, long srcOff, int j0, int j1, int n, float[] p, int pr, int pStride, float[] acc,
                                           int ar) {
        long rowBytes = (long) n << 2;
        int x = 0;
        for (; x + 2 * LANES <= n; x += 2 * LANES) {
            FloatVector a00 = FloatVector.fromArray(F, acc, ar + x);
            FloatVector a01 = FloatVector.fromArray(F, acc, ar + x + LANES);
            FloatVector a10 = FloatVector.fromArray(F, acc, ar + n + x);
            FloatVector a11 = FloatVector.fromArray(F, acc, ar + n + x + LANES);
            FloatVector a20 = FloatVector.fromArray(F, acc, ar + 2 * n + x);
            FloatVector a21 = FloatVector.fromArray(F, acc, ar + 2 * n + x + LANES);
            FloatVector a30 = FloatVector.fromArray(F, acc, ar + 3 * n + x);
            FloatVector a31 = FloatVector.fromArray(F, acc, ar + 3 * n + x + LANES);
            long at = (srcOff + (long) j0 * n + x) << 2;
            for (int j = j0; j < j1; j++, at += rowBytes) {
                FloatVector s0 = FloatVector.fromMemorySegment(F, src, at, ORDER);
                FloatVector s1 = FloatVector.fromMemorySegment(F, src, at + Simd.VBYTES, ORDER);
                FloatVector w0 = FloatVector.broadcast(F, p[pr + j]);
                a00 = w0.fma(s0, a00);
                a01 = w0.fma(s1, a01);
                FloatVector w1 = FloatVector.broadcast(F, p[pr + pStride + j]);
                a10 = w1.fma(s0, a10);
                a11 = w1.fma(s1, a11);
                FloatVector w2 = FloatVector.broadcast(F, p[pr + 2 * pStride + j]);
                a20 = w2.fma(s0, a20);
                a21 = w2.fma(s1, a21);
                FloatVector w3 = FloatVector.broadcast(F, p[pr + 3 * pStride + j]);
                a30 = w3.fma(s0, a30);
                a31 = w3.fma(s1, a31);
            }
            a00.intoArray(acc, ar + x);
            a01.intoArray(acc, ar + x + LANES);
            a10.intoArray(acc, ar + n + x);
            a11.intoArray(acc, ar + n + x + LANES);
            a20.intoArray(acc, ar + 2 * n + x);
            a21.intoArray(acc, ar + 2 * n + x + LANES);
            a30.intoArray(acc, ar + 3 * n + x);
            a31.intoArray(acc, ar + 3 * n + x + LANES);
        }
        for (; x + LANES <= n; x += LANES) {
            FloatVector a0 = FloatVector.fromArray(F, acc, ar + x);
            FloatVector a1 = FloatVector.fromArray(F, acc, ar + n + x);
            FloatVector a2 = FloatVector.fromArray(F, acc, ar + 2 * n + x);
            FloatVector a3 = FloatVector.fromArray(F, acc, ar + 3 * n + x);
            long at = (srcOff + (long) j0 * n + x) << 2;
            for (int j = j0; j < j1; j++, at += rowBytes) {
                FloatVector s0 = FloatVector.fromMemorySegment(F, src, at, ORDER);
                a0 = FloatVector.broadcast(F, p[pr + j]).fma(s0, a0);
                a1 = FloatVector.broadcast(F, p[pr + pStride + j]).fma(s0, a1);
                a2 = FloatVector.broadcast(F, p[pr + 2 * pStride + j]).fma(s0, a2);
                a3 = FloatVector.broadcast(F, p[pr + 3 * pStride + j]).fma(s0, a3);
            }
            a0.intoArray(acc, ar + x);
            a1.intoArray(acc, ar + n + x);
            a2.intoArray(acc, ar + 2 * n + x);
            a3.intoArray(acc, ar + 3 * n + x);
        }
        for (int r = 0; r < ROWS; r++) {
            accumulateTail(src, srcOff, j0, j1, n, x, p, pr + r * pStride, acc, ar + r * n);
        }
    }

    /** Columns [from, n) of one row of {@link #accumulateValuesInto}, scalar (the same FMAs as the lanes). */
    private static void accumulateTail(MemorySegment src, long srcOff, int j0, int j1, int n, int from, float[] p, int pr, float[] acc, int ar) {
        for (int x = from; x < n; x++) {
            float a = acc[ar + x];
            long at = (srcOff + (long) j0 * n + x) << 2;
            for (int j = j0; j < j1; j++, at += (long) n << 2) {
                a = Math.fma(p[pr + j], src.get(FLOAT, at), a);
            }
            acc[ar + x] = a;
        }
    }

    /**
     * {@code dst[j][:] += sum_{r < nr} weight[r][j] * rows[r][:]} for keys j < limit, rows in order: dV from P and
     * dO, dK from dS and q. {@code dst} rows have {@code n} floats.
     */
    private static void accumulateRows(float[] weight, int wAt, int wStride, int limit, int nr, float[] rows, int rAt, int n,
                                       MemorySegment dst, long dstOff) {
        int vecEnd = TILE == 0 ? 0 : n - n % LANES;
        int j = 0;
        if (TILE != 0) {
            for (; j + ROWS <= limit; j += ROWS) { // four keys share each load of a row
                accumulateFourKeys(weight, wAt + j, wStride, nr, rows, rAt, n, dst, dstOff + (long) j * n);
            }
        }
        for (; j < limit; j++) {
            long db = (dstOff + (long) j * n) << 2;
            for (int x = 0; x < vecEnd; x += LANES) {
                FloatVector a = FloatVector.fromMemorySegment(F, dst, db + ((long) x << 2), ORDER);
                for (int r = 0; r < nr; r++) {
                    a = FloatVector.broadcast(F, weight[wAt + r * wStride + j]).fma(FloatVector.fromArray(F, rows, rAt + r * n + x), a);
                }
                a.intoMemorySegment(dst, db + ((long) x << 2), ORDER);
            }
            for (int x = vecEnd; x < n; x++) {
                float a = dst.get(FLOAT, db + ((long) x << 2));
                for (int r = 0; r < nr; r++) {
                    a = Math.fma(weight[wAt + r * wStride + j], rows[rAt + r * n + x], a);
                }
                dst.set(FLOAT, db + ((long) x << 2), a);
            }
        }
    }

    /** {@link #accumulateRows} for keys j..j+3 ({@code wj}: weight of row 0, key j; {@code dstOff}: key j's row). */
    private static void accumulateFourKeys(float[] weight, int wj, int wStride, int nr, float[] rows, int rAt, int n, MemorySegment dst,
                                           long dstOff) {
        long b0 = dstOff << 2;
        long b1 = (dstOff + n) << 2;
        long b2 = (dstOff + 2L * n) << 2;
        long b3 = (dstOff + 3L * n) << 2;
        int x = 0;
        for (; x + 2 * LANES <= n; x += 2 * LANES) {
            long xb = (long) x << 2;
            long xb1 = xb + Simd.VBYTES;
            FloatVector a00 = FloatVector.fromMemorySegment(F, dst, b0 + xb, ORDER);
            FloatVector a01 = FloatVector.fromMemorySegment(F, dst, b0 + xb1, ORDER);
            FloatVector a10 = FloatVector.fromMemorySegment(F, dst, b1 + xb, ORDER);
            FloatVector a11 = FloatVector.fromMemorySegment(F, dst, b1 + xb1, ORDER);
            FloatVector a20 = FloatVector.fromMemorySegment(F, dst, b2 + xb, ORDER);
            FloatVector a21 = FloatVector.fromMemorySegment(F, dst, b2 + xb1, ORDER);
            FloatVector a30 = FloatVector.fromMemorySegment(F, dst, b3 + xb, ORDER);
            FloatVector a31 = FloatVector.fromMemorySegment(F, dst, b3 + xb1, ORDER);
            for (int r = 0; r < nr; r++) {
                int rb = rAt + r * n + x;
                int wr = wj + r * wStride;
                FloatVector s0 = FloatVector.fromArray(F, rows, rb);
                FloatVector s1 = FloatVector.fromArray(F, rows, rb + LANES);
                FloatVector w0 = FloatVector.broadcast(F, weight[wr]);
                a00 = w0.fma(s0, a00);
                a01 = w0.fma(s1, a01);
                FloatVector w1 = FloatVector.broadcast(F, weight[wr + 1]);
                a10 = w1.fma(s0, a10);
                a11 = w1.fma(s1, a11);
                FloatVector w2 = FloatVector.broadcast(F, weight[wr + 2]);
                a20 = w2.fma(s0, a20);
                a21 = w2.fma(s1, a21);
                FloatVector w3 = FloatVector.broadcast(F, weight[wr + 3]);
                a30 = w3.fma(s0, a30);
                a31 = w3.fma(s1, a31);
            }
            a00.intoMemorySegment(dst, b0 + xb, ORDER);
            a01.intoMemorySegment(dst, b0 + xb1, ORDER);
            a10.intoMemorySegment(dst, b1 + xb, ORDER);
            a11.intoMemorySegment(dst, b1 + xb1, ORDER);
            a20.intoMemorySegment(dst, b2 + xb, ORDER);
            a21.intoMemorySegment(dst, b2 + xb1, ORDER);
            a30.intoMemorySegment(dst, b3 + xb, ORDER);
            a31.intoMemorySegment(dst, b3 + xb1, ORDER);
        }
        for (; x + LANES <= n; x += LANES) {
            long xb = (long) x << 2;
            FloatVector a0 = FloatVector.fromMemorySegment(F, dst, b0 + xb, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(F, dst, b1 + xb, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(F, dst, b2 + xb, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(F, dst, b3 + xb, ORDER);
            for (int r = 0; r < nr; r++) {
                int wr = wj + r * wStride;
                FloatVector s0 = FloatVector.fromArray(F, rows, rAt + r * n + x);
                a0 = FloatVector.broadcast(F, weight[wr]).fma(s0, a0);
                a1 = FloatVector.broadcast(F, weight[wr + 1]).fma(s0, a1);
                a2 = FloatVector.broadcast(F, weight[wr + 2]).fma(s0, a2);
                a3 = FloatVector.broadcast(F, weight[wr + 3]).fma(s0, a3);
            }
            a0.intoMemorySegment(dst, b0 + xb, ORDER);
            a1.intoMemorySegment(dst, b1 + xb, ORDER);
            a2.intoMemorySegment(dst, b2 + xb, ORDER);
            a3.intoMemorySegment(dst, b3 + xb, ORDER);
        }
        for (; x < n; x++) {
            for (int c = 0; c < ROWS; c++) {
                long at = (dstOff + (long) c * n + x) << 2;
                float a = dst.get(FLOAT, at);
                for (int r = 0; r < nr; r++) {
                    a = Math.fma(weight[wj + r * wStride + c], rows[rAt + r * n + x], a);
                }
                dst.set(FLOAT, at, a);
            }
        }
    }

    /** {@code out[x] = acc[x] / sum} (an empty row, sum 0, gives 0 like the unfused product of no keys). */
    private static void divideRow(float[] acc, int at, int n, float sum, MemorySegment out, long ob) {
        for (int x = 0; x < n; x++) {
            out.set(FLOAT, ob + ((long) x << 2), sum == 0f ? 0f : acc[at + x] / sum);
        }
    }
}
