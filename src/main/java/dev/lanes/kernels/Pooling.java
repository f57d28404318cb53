package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * 2-d pooling over contiguous planes ({@code [planes, h, w]}, planes = N * C), PyTorch's window rules:
 * max pooling with padding (padded cells never win), dilation and saved argmax indices ({@code h * w + w}
 * within the plane, stored as exact float values so the vector path can write them; planes stay below 2^24 cells); average pooling with {@code count_include_pad}; adaptive average pooling with windows
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
        // LeNet's pools (301K and 102K window cells at batch 64) split since this was 1 << 15 rather than 1 << 20: on
        // one thread they were ~10% of the calling thread's time in a 2-thread compiled step
        int parts = Math.min(Parallel.partsFor((long) planes * oh * ow * win.kH() * win.kW(), 1 << 15), Math.max(planes, 1));
        if (parts <= 1) {
            maxPool2dPlanes(in, inOff, 0, planes, h, w, win, out, outOff, idx, idxOff, oh, ow, TAIL.get());
            return;
        }
        PlanesJob job = PlanesJob.MINE.get();
        job.forward(in, inOff, h, w, win, out, outOff, idx, idxOff, oh, ow);
        try {
            Parallel.forRange(parts, planes, job);
        } finally {
            job.release();
        }
    }

    /**
     * The parallel body of {@link #maxPool2d} and {@link #maxPool2x2Backward}: planes [from, to). One per thread and
     * reused: a capturing lambda was heap per call (issue 17: a compiled step allocates nothing).
     */
    private static final class PlanesJob implements Parallel.RangeBody {
        static final ThreadLocal<PlanesJob> MINE = new ThreadLocal<>() {
            @Override
            protected PlanesJob initialValue() {
                return new PlanesJob();
            }
        };
        private boolean backward;
        private MemorySegment in;
        private long inOff;
        private int h;
        private int w;
        private Window win;
        private MemorySegment out;
        private long outOff;
        private MemorySegment idx;
        private long idxOff;
        private int oh;
        private int ow;

        void forward(MemorySegment in, long inOff, int h, int w, Window win, MemorySegment out, long outOff, MemorySegment idx, long idxOff,
                     int oh, int ow) {
            this.backward = false;
            this.in = in;
            this.inOff = inOff;
            this.h = h;
            this.w = w;
            this.win = win;
            this.out = out;
            this.outOff = outOff;
            this.idx = idx;
            this.idxOff = idxOff;
            this.oh = oh;
            this.ow = ow;
        }

        /** {@code in} is the output gradient, {@code out} the input gradient. */
        void backward(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int oh, int ow, MemorySegment dx, long dxOff) {
            this.backward = true;
            this.in = g;
            this.inOff = gOff;
            this.idx = idx;
            this.idxOff = idxOff;
            this.oh = oh;
            this.ow = ow;
            this.out = dx;
            this.outOff = dxOff;
        }

        void release() {
            in = null;
            out = null;
            idx = null;
            win = null;
        }

        @Override
        public void accept(int part, int p0, int p1) {
            if (backward) {
                maxPool2x2BackwardPlanes(in, inOff, idx, idxOff, p0, p1, oh, ow, out, outOff);
            } else {
                // staging for short rows' last stores: this thread's, used only within this call
                maxPool2dPlanes(in, inOff, p0, p1, h, w, win, out, outOff, idx, idxOff, oh, ow, TAIL.get());
            }
        }
    }

    /**
     * Planes [p0, p1) of {@link #maxPool2d}, on the calling thread; {@code tail} is {@code LANES} floats of scratch
     * (an inference plan passes its own, so the call allocates nothing).
     */
    public static void maxPool2dPlanes(MemorySegment in, long inOff, int p0, int p1, int h, int w, Window win,
                                       MemorySegment out, long outOff, MemorySegment idx, long idxOff, int oh, int ow, float[] tail) {
        boolean twoByTwo = win.kH() == 2 && win.kW() == 2 && win.sH() == 2 && win.sW() == 2 && win.pH() == 0 && win.pW() == 0
                && win.dH() == 1 && win.dW() == 1 && 2 * oh <= h && 2 * ow <= w; // every window complete (ceil_mode may add partial ones)
        if (twoByTwo && idx == null && ROW_GROUPS && 2 * oh == h && 2 * ow == w && ow <= LANES / 2 && !ColdStart.poolPlane()) {
            max2x2RowGroups(in, inOff + (long) p0 * h * w, (p1 - p0) * oh, ow, out, outOff + (long) p0 * oh * ow, tail);
            return;
        }
        if (twoByTwo && idx == null && 2 * oh == h && 2 * ow == w && !ColdStart.poolPlane()) {
            max2x2Rows(in, inOff + (long) p0 * h * w, (p1 - p0) * oh, ow, out, outOff + (long) p0 * oh * ow, tail);
            return;
        }
        for (int pl = p0; pl < p1; pl++) {
            long o = (long) pl * oh * ow;
            // the vector loop reads up to 2 vectors past a short row: planes too close to the end of the
            // segment take the scalar loop (one load kind per method keeps C2 from boxing the vectors)
            long planeEndByte = (inOff + (long) pl * h * w + (long) (oh * 2 - 1) * w + 2L * ow) << 2;
            if (twoByTwo && planeEndByte + 2 * VBYTES <= in.byteSize() && !ColdStart.poolPlane()) { // else the same bits, scalar
                // the next plane of this part is written after this one: a partial last vector may run into it
                int room = pl + 1 < p1 ? (int) Math.min(LANES, (long) (p1 - pl - 1) * oh * ow) : 0;
                max2x2Plane(in, inOff + (long) pl * h * w, w, out, outOff + o, idx, idx == null ? 0 : idxOff + o, oh, ow, room, tail);
                continue;
            }
            maxPlane(in, inOff + (long) pl * h * w, h, w, win.kH(), win.kW(), win.sH(), win.sW(), win.pH(), win.pW(), win.dH(), win.dW(),
                    out, outOff + o, idx, idx == null ? 0 : idxOff + o, oh, ow);
        }
    }

    /**
     * One plane. Kept as its own small method so C2 compiles it after a few planes (a loop nest inside the
     * lambda above ran once per call and stayed slow: measured 1.5 ms vs 0.1 ms for LeNet's pool).
     */
    private static void maxPlane(MemorySegment in, long plane, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW,
                                 int dH, int dW, MemorySegment out, long outPlane, MemorySegment idx, long idxPlane, int oh, int ow) {
        for (int y = 0; y < oh; y++) {
            int hs = y * sH - pH;
            for (int x = 0; x < ow; x++) {
                int ws = x * sW - pW;
                float best = Float.NEGATIVE_INFINITY;
                int bestIdx = -1;
                for (int i = 0; i < kH; i++) {
                    int hh = hs + i * dH;
                    if (hh < 0 || hh >= h) {
                        continue;
                    }
                    long rowElem = plane + (long) hh * w;
                    for (int j = 0; j < kW; j++) {
                        int ww = ws + j * dW;
                        if (ww < 0 || ww >= w) {
                            continue;
                        }
                        float v = in.get(FLOAT, (rowElem + ww) << 2);
                        // PyTorch's scan rule: the first maximum wins, a NaN always wins (so the last NaN's index)
                        if (bestIdx < 0 || v > best || v != v) {
                            best = v;
                            bestIdx = hh * w + ww;
                        }
                    }
                }
                long o = (long) y * ow + x;
                out.set(FLOAT, (outPlane + o) << 2, best);
                if (idx != null) {
                    idx.set(FLOAT, (idxPlane + o) << 2, bestIdx);
                }
            }
        }
    }

    /** Per-thread staging for short rows' last stores ({@link #maxPool2d}): a training step allocates nothing. */
    private static final ThreadLocal<float[]> TAIL = new ThreadLocal<>() {
        @Override
        protected float[] initialValue() {
            return new float[LANES];
        }
    };

    private static float[] twiceIota() {
        float[] v = new float[LANES];
        for (int i = 0; i < LANES; i++) {
            v[i] = 2 * i;
        }
        return v;
    }

    /**
     * Kernel 2 / stride 2 / no padding with the argmax kept (training) or planes not exactly twice the output (else
     * {@link #max2x2Rows}), LANES outputs per step: each input row is split into its even
     * and odd columns with two-vector shuffles, pairs are reduced across then down. Folding the 2x2 window as
     * (row 0 pair, row 1 pair, then rows) keeps the row-major scan order, so ties and NaNs resolve like PyTorch.
     */
    private static void max2x2Plane(MemorySegment in, long plane, int w, MemorySegment out, long outPlane,
                                    MemorySegment idx, long idxPlane, int oh, int ow, int room, float[] tail) {
        // one loop over (row, step) rather than a loop per row: a row of at most LANES outputs (LeNet's 14) is one step,
        // and an inner loop run once per row cost a sixth of LeNet's pool1 at batch 1 (0.85 -> 0.71 us in the plan, AMD EPYC Zen 4)
        for (int y = 0, x = 0; y < oh; ) {
            long r0 = (plane + (long) (2 * y) * w) << 2;
            long r1 = r0 + ((long) w << 2);
            long ob = (outPlane + (long) y * ow) << 2;
            // 16 outputs (32 input columns) per step; the last step is masked (LeNet's rows are 14 wide)
            {
                int n = Math.min(LANES, ow - x);
                long c = (long) (2 * x) << 2;
                // full loads, even where they run into the next row: lanes past n are never stored
                FloatVector a0 = FloatVector.fromMemorySegment(F, in, r0 + c, ORDER);
                FloatVector b0 = FloatVector.fromMemorySegment(F, in, r0 + c + VBYTES, ORDER);
                FloatVector a1 = FloatVector.fromMemorySegment(F, in, r1 + c, ORDER);
                FloatVector b1 = FloatVector.fromMemorySegment(F, in, r1 + c + VBYTES, ORDER);
                FloatVector e0 = a0.rearrange(Vectors.EVENS, b0);
                FloatVector o0 = a0.rearrange(Vectors.ODDS, b0);
                FloatVector e1 = a1.rearrange(Vectors.EVENS, b1);
                FloatVector o1 = a1.rearrange(Vectors.ODDS, b1);
                // "is NaN" as x != x: test(IS_NAN) took the pools 128 -> 86 us (pool1) and 70 -> 57 us (pool2) of LeNet at
                // batch 64 (JDK 25, AMD EPYC Zen 3, 256 bits, alternated runs)
                VectorMask<Float> odd0 = o0.compare(VectorOperators.GT, e0).or(o0.compare(VectorOperators.NE, o0));
                VectorMask<Float> odd1 = o1.compare(VectorOperators.GT, e1).or(o1.compare(VectorOperators.NE, o1));
                FloatVector m0 = e0.blend(o0, odd0);
                FloatVector m1 = e1.blend(o1, odd1);
                VectorMask<Float> down = m1.compare(VectorOperators.GT, m0).or(m1.compare(VectorOperators.NE, m1));
                FloatVector best = m0.blend(m1, down);
                // a full store where the vector ends inside this plane or the next planes of the part (room floats),
                // written afterwards: a short row's extra lanes land in later rows or planes
                boolean whole = (long) y * ow + x + LANES <= (long) oh * ow + room;
                if (whole) {
                    best.intoMemorySegment(out, ob + ((long) x << 2), ORDER);
                } else {
                    // the part's last vector, never written past it (the next plane may belong to another thread, or
                    // not exist). Through the heap, not a masked store: when every plane's last vector took one, JFR
                    // put two thirds of this method's samples on it (LeNet's inference pools at batch 64, JDK 25, AMD
                    // EPYC Zen 3, 256 bits), and a masked store is slow microcode on AMD's AVX2 in any case
                    best.intoArray(tail, 0);
                    MemorySegment.copy(tail, 0, out, Simd.FLOAT, ob + ((long) x << 2), n);
                }
                if (idx != null) {
                    // argmax as a float vector: (2y + lower) * w + 2 (x + lane) + odd, exact below 2^24
                    FloatVector col = Vectors.TWICE_IOTA.add(2f * x).add(Vectors.ZERO.blend(1f, odd0.and(down.not())).add(Vectors.ZERO.blend(1f, odd1.and(down))));
                    FloatVector at = Vectors.ZERO.blend(1f, down).add(2f * y).mul(w).add(col);
                    long ib = (idxPlane + (long) y * ow + x) << 2;
                    if (whole) {
                        at.intoMemorySegment(idx, ib, ORDER);
                    } else { // as the values' last stores
                        at.intoArray(tail, 0);
                        MemorySegment.copy(tail, 0, idx, Simd.FLOAT, ib, n);
                    }
                }
            }
            x += LANES;
            if (x >= ow) {
                x = 0;
                y++;
            }
        }
    }

    /**
     * Whether an inference 2 x 2 pool (no argmax kept) over rows of at most LANES / 2 outputs packs several output rows
     * into one vector ({@link #max2x2RowGroups}): at 16 lanes on x86, where selecting lanes from two vectors is one
     * instruction (vpermt2ps). LeNet's pool2 at batch 1: 80 output rows of 5, 0.92 -> 0.25 us (AMD EPYC Zen 4).
     */
    private static final boolean ROW_GROUPS = LANES >= 16 && Simd.X86;
    /** Per row length ow <= LANES / 2: output lane i (row i / ow of the group, column i % ow) takes its upper / lower pair maximum. */
    private static final float[][] UPPER_LANES = groupLanes(0);
    private static final float[][] LOWER_LANES = groupLanes(1);

    private static float[] pairLanes(int odd) {
        float[] v = new float[LANES];
        for (int i = 0; i < LANES; i++) {
            v[i] = 2 * i + odd;
        }
        return v;
    }

    private static float[][] groupLanes(int lower) {
        float[][] lanes = new float[LANES / 2 + 1][LANES];
        for (int ow = 1; ow <= LANES / 2; ow++) {
            int rows = LANES / ow;
            for (int i = 0; i < rows * ow; i++) {
                // a group's pair maxima: per row its upper input row's ow, then its lower row's ow
                lanes[ow][i] = (i / ow) * 2 * ow + lower * ow + i % ow;
            }
        }
        return lanes;
    }

    /**
     * {@code rows} output rows of {@code ow <= LANES / 2} outputs, planes exactly twice the output ({@link #tiles2x2}):
     * then the input rows of consecutive output rows follow each other across planes, and each {@code LANES / ow} of
     * them are one vector's outputs: their 4 ow G input floats (at most four vectors) give 2 ow G pair maxima in two
     * vectors, from which two selections take each output's upper and lower pair. The fold is {@link #max2x2Plane}'s
     * (row 0 pair, row 1 pair, then down), so ties and NaNs resolve alike: the same bits. Lane selection by index
     * vectors ({@code selectFrom}): the same code with {@code rearrange} and shuffles boxed its vectors here (6 KB per
     * call, past C2's inlining budget). Rows whose reads would pass the segment's end take the scalar rule.
     */
    private static void max2x2RowGroups(MemorySegment in, long inOff, int rows, int ow, MemorySegment out, long outOff, float[] tail) {
        int group = LANES / ow;
        long groupIn = (long) group * ow * 16; // bytes: 2 input rows of 2 ow floats per output row
        long groupOut = (long) group * ow * 4;
        FloatVector upper = FloatVector.fromArray(F, UPPER_LANES[ow], 0);
        FloatVector lower = FloatVector.fromArray(F, LOWER_LANES[ow], 0);
        long src = inOff << 2;
        long dst = outOff << 2;
        long outEnd = (outOff + (long) rows * ow) << 2;
        long lastRead = in.byteSize() - 4L * VBYTES;
        int r = 0;
        for (; r < rows && src <= lastRead; r += group, src += groupIn, dst += groupOut) {
            FloatVector a = FloatVector.fromMemorySegment(F, in, src, ORDER);
            FloatVector b = FloatVector.fromMemorySegment(F, in, src + VBYTES, ORDER);
            FloatVector e = Vectors.EVEN_LANES.selectFrom(a, b);
            FloatVector o = Vectors.ODD_LANES.selectFrom(a, b);
            FloatVector pairs0 = e.blend(o, o.compare(VectorOperators.GT, e).or(o.compare(VectorOperators.NE, o)));
            a = FloatVector.fromMemorySegment(F, in, src + 2 * VBYTES, ORDER);
            b = FloatVector.fromMemorySegment(F, in, src + 3 * VBYTES, ORDER);
            e = Vectors.EVEN_LANES.selectFrom(a, b);
            o = Vectors.ODD_LANES.selectFrom(a, b);
            FloatVector pairs1 = e.blend(o, o.compare(VectorOperators.GT, e).or(o.compare(VectorOperators.NE, o)));
            FloatVector up = upper.selectFrom(pairs0, pairs1);
            FloatVector down = lower.selectFrom(pairs0, pairs1);
            FloatVector best = up.blend(down, down.compare(VectorOperators.GT, up).or(down.compare(VectorOperators.NE, down)));
            if (dst + VBYTES <= outEnd) {
                best.intoMemorySegment(out, dst, ORDER); // lanes past the group's land in the next group's outputs, written after
            } else {
                int n = Math.min(group, rows - r) * ow;
                if (dst + VBYTES <= out.byteSize()) {
                    best.intoMemorySegment(out, dst, ORDER, Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) n));
                } else { // never past the segment's end (a masked store crossing it takes the Vector API's slow path)
                    best.intoArray(tail, 0);
                    MemorySegment.copy(tail, 0, out, Simd.FLOAT, dst, n);
                }
            }
        }
        for (; r < rows; r++, src += (long) ow << 4, dst += (long) ow << 2) {
            for (int x = 0; x < ow; x++) {
                long at = src + ((long) x << 3);
                long below = at + ((long) ow << 3);
                float m0 = laterWins(in.get(FLOAT, at), in.get(FLOAT, at + 4));
                float m1 = laterWins(in.get(FLOAT, below), in.get(FLOAT, below + 4));
                out.set(FLOAT, dst + ((long) x << 2), laterWins(m0, m1));
            }
        }
    }

    /**
     * {@code rows} output rows of {@code ow} outputs, planes exactly twice the output ({@link #tiles2x2}), no argmax
     * kept (an inference plan's pool): then the part's planes are one run of row pairs, input and output, and one loop
     * goes down it, {@link #max2x2Plane}'s step on each (the same fold: the same bits) without that method's per-plane
     * set-up and argmax masks. A row's last partial vector runs into the next row's outputs, stored after it; the
     * part's last one goes through {@code tail}. Rows whose reads would pass the segment's end take the scalar rule.
     * Against max2x2Plane (AMD EPYC Zen 3, 8 lanes, paired A/B in one JVM): LeNet's pools at batch 64 0.61x (pool1,
     * 384 planes of 28 x 28) and 0.59x (pool2, 1,024 of 10 x 10); 0.69x on 48 x 48 planes, 0.55x on 112 x 112.
     */
    private static void max2x2Rows(MemorySegment in, long inOff, int rows, int ow, MemorySegment out, long outOff, float[] tail) {
        long rowBytes = (long) ow << 4; // a pair of input rows: 2 rows of 2 ow floats
        long lowerRow = (long) ow << 3;
        long src = inOff << 2;
        long dst = outOff << 2;
        long outEnd = (outOff + (long) rows * ow) << 2;
        // the last step of a row pair reads two vectors of the lower row from column 2 (ow - 1) / LANES LANES on
        long lastRead = in.byteSize() - lowerRow - ((long) ((ow - 1) / LANES * LANES) << 3) - 2 * VBYTES;
        int r = 0;
        if (ow <= LANES) { // one step a row (LeNet's pool2, and pool1 at 16 lanes): no inner loop
            for (; r < rows && src <= lastRead; r++, src += rowBytes, dst += (long) ow << 2) {
                max2x2Step(in, src, src + lowerRow, out, dst, outEnd, ow, tail);
            }
        } else if (ow <= 2 * LANES) { // two (LeNet's pool1 at 8 lanes), written out: a loop of two steps ran 1.7x slower
            long second = (long) LANES << 3;
            for (; r < rows && src <= lastRead; r++, src += rowBytes, dst += (long) ow << 2) {
                max2x2Step(in, src, src + lowerRow, out, dst, outEnd, LANES, tail);
                max2x2Step(in, src + second, src + lowerRow + second, out, dst + VBYTES, outEnd, ow - LANES, tail);
            }
        } else { // one loop over (row, step), as in max2x2Plane: a loop of three steps a row ran 1.3x slower than that
            for (int x = 0; r < rows && src <= lastRead; ) {
                long c = (long) x << 3;
                max2x2Step(in, src + c, src + lowerRow + c, out, dst + ((long) x << 2), outEnd, Math.min(LANES, ow - x), tail);
                x += LANES;
                if (x >= ow) {
                    x = 0;
                    r++;
                    src += rowBytes;
                    dst += (long) ow << 2;
                }
            }
        }
        for (; r < rows; r++, src += rowBytes, dst += (long) ow << 2) {
            for (int x = 0; x < ow; x++) {
                long at = src + ((long) x << 3);
                long below = at + lowerRow;
                float m0 = laterWins(in.get(FLOAT, at), in.get(FLOAT, at + 4));
                float m1 = laterWins(in.get(FLOAT, below), in.get(FLOAT, below + 4));
                out.set(FLOAT, dst + ((long) x << 2), laterWins(m0, m1));
            }
        }
    }

    /**
     * One step of {@link #max2x2Rows}: the LANES outputs of the 2 LANES input columns at byte {@code upper} and at
     * {@code lower}, folded as {@link #max2x2Plane} folds them, stored at byte {@code o}: a whole vector where it ends by
     * {@code outEnd} (its lanes past the {@code n} outputs land in outputs stored after it), else through {@code tail}.
     * It stores rather than returns its vector: a vector returned from a call C2 does not inline is a heap object
     * (PlanHeapProbe caught one at 128 bits).
     */
    private static void max2x2Step(MemorySegment in, long upper, long lower, MemorySegment out, long o, long outEnd, int n, float[] tail) {
        FloatVector a0 = FloatVector.fromMemorySegment(F, in, upper, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(F, in, upper + VBYTES, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(F, in, lower, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(F, in, lower + VBYTES, ORDER);
        FloatVector e0 = a0.rearrange(Vectors.EVENS, b0);
        FloatVector o0 = a0.rearrange(Vectors.ODDS, b0);
        FloatVector e1 = a1.rearrange(Vectors.EVENS, b1);
        FloatVector o1 = a1.rearrange(Vectors.ODDS, b1);
        FloatVector m0 = e0.blend(o0, o0.compare(VectorOperators.GT, e0).or(o0.compare(VectorOperators.NE, o0)));
        FloatVector m1 = e1.blend(o1, o1.compare(VectorOperators.GT, e1).or(o1.compare(VectorOperators.NE, o1)));
        FloatVector best = m0.blend(m1, m1.compare(VectorOperators.GT, m0).or(m1.compare(VectorOperators.NE, m1)));
        if (o + VBYTES <= outEnd) {
            best.intoMemorySegment(out, o, ORDER);
        } else {
            best.intoArray(tail, 0);
            MemorySegment.copy(tail, 0, out, Simd.FLOAT, o, n);
        }
    }

    /**
     * PyTorch's scan rule for one candidate pair: the later value if it is greater or NaN, else the earlier. The vector
     * loops write the same rule out at each use ({@code later.compare(GT, earlier).or(later.compare(NE, later))}): a helper
     * returning the mask boxes it wherever C2 does not inline the helper into those large loops.
     */
    private static float laterWins(float earlier, float later) {
        return later > earlier || later != later ? later : earlier;
    }

    /**
     * Whether every input cell lies in exactly one window: 2 x 2 windows at stride 2, no padding or dilation, the
     * planes exactly twice the output (LeNet's pools). Then {@link #maxPool2x2Backward} writes dx in one pass.
     */
    public static boolean tiles2x2(Window win, int h, int w, int oh, int ow) {
        return win.kH() == 2 && win.kW() == 2 && win.sH() == 2 && win.sW() == 2 && win.pH() == 0 && win.pW() == 0
                && win.dH() == 1 && win.dW() == 1 && h == 2 * oh && w == 2 * ow;
    }

    /**
     * {@link #maxPool2dBackward} where {@link #tiles2x2} holds: each dx cell written once, {@code 0 + g} at its window's
     * argmax and 0 elsewhere (the bits of zeroing then adding: -0 becomes +0 either way), without the zeroing pass and
     * the scattered read-modify-writes (the two were 7% of a LeNet step). Output rows of LANES positions become two
     * vectors per input row by interleaving the even and odd columns.
     */
    public static void maxPool2x2Backward(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int planes, int oh, int ow,
                                          MemorySegment dx, long dxOff) {
        int outPerPlane = oh * ow;
        int parts = Math.min(Parallel.partsFor((long) planes * outPerPlane * 4, 1 << 15), Math.max(planes, 1));
        if (parts <= 1) {
            maxPool2x2BackwardPlanes(g, gOff, idx, idxOff, 0, planes, oh, ow, dx, dxOff);
            return;
        }
        PlanesJob job = PlanesJob.MINE.get();
        job.backward(g, gOff, idx, idxOff, oh, ow, dx, dxOff);
        try {
            Parallel.forRange(parts, planes, job);
        } finally {
            job.release();
        }
    }

    private static void maxPool2x2BackwardPlanes(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int p0, int p1, int oh,
                                                 int ow, MemorySegment dx, long dxOff) {
        int w = 2 * ow;
        float below = w; // the argmax offsets of the lower row's cells
        float belowOdd = w + 1;
        long partEnd = dxOff + (long) p1 * 4 * oh * ow; // the first dx cell past this part's planes
        for (int pl = p0; pl < p1; pl++) {
            long gp = gOff + (long) pl * oh * ow;
            long ip = idxOff + (long) pl * oh * ow;
            long dp = dxOff + (long) pl * 4 * oh * ow;
            for (int y = 0; y < oh; y++) {
                long gRow = gp + (long) y * ow;
                long iRow = ip + (long) y * ow;
                long d0 = dp + (long) 2 * y * w;
                long d1 = d0 + w;
                // the row's steps last first: a partial last step's whole vectors run past its row's cells (the upper
                // row's into the lower row, the lower row's into the next row pair), and every cell they reach is
                // written again by a step that comes after it (an earlier step of the lower row, or a later row pair)
                for (int step = 0, last = (ow - 1) / LANES; step <= last; step++) {
                    int x = (last - step) * LANES;
                    int n = Math.min(LANES, ow - x);
                    if (((gRow + x) << 2) + VBYTES > g.byteSize() || ((iRow + x) << 2) + VBYTES > idx.byteSize()
                            || ((d1 + 2L * x) << 2) + 2 * VBYTES > dx.byteSize()) {
                        // at a segment's end, where whole vectors would read or write past it: cell by cell
                        for (int i = 0; i < n; i++) {
                            float gv = g.get(FLOAT, (gRow + x + i) << 2) + 0f;
                            int k = (int) idx.get(FLOAT, (iRow + x + i) << 2) - (2 * y * w + 2 * (x + i));
                            long c0 = (d0 + 2L * (x + i)) << 2;
                            long c1 = (d1 + 2L * (x + i)) << 2;
                            dx.set(FLOAT, c0, k == 0 ? gv : 0f);
                            dx.set(FLOAT, c0 + 4, k == 1 ? gv : 0f);
                            dx.set(FLOAT, c1, k == w ? gv : 0f);
                            dx.set(FLOAT, c1 + 4, k == w + 1 ? gv : 0f);
                        }
                        continue;
                    }
                    // lanes past n read the next row (or spare floats) and are never stored
                    FloatVector gz = FloatVector.fromMemorySegment(F, g, (gRow + x) << 2, ORDER).add(0f);
                    FloatVector at = FloatVector.fromMemorySegment(F, idx, (iRow + x) << 2, ORDER)
                            .sub(Vectors.TWICE_IOTA.add((float) (2 * y * w + 2 * x))); // 0, 1, w or w + 1: exact below 2^24
                    FloatVector e0 = Vectors.ZERO.blend(gz, at.compare(VectorOperators.EQ, 0f));
                    FloatVector o0 = Vectors.ZERO.blend(gz, at.compare(VectorOperators.EQ, 1f));
                    FloatVector e1 = Vectors.ZERO.blend(gz, at.compare(VectorOperators.EQ, below));
                    FloatVector o1 = Vectors.ZERO.blend(gz, at.compare(VectorOperators.EQ, belowOdd));
                    int cells = 2 * n; // cells of each input row this step covers
                    long c0 = (d0 + 2L * x) << 2;
                    long c1 = (d1 + 2L * x) << 2;
                    if (d1 + 2L * x + (cells > LANES ? 2 * LANES : LANES) <= partEnd) {
                        // every store inside this part's planes: whole vectors, whose extra cells land in cells written
                        // afterwards (the upper row's in the lower row, stored next or by an earlier step; the lower row's
                        // in the next row pair). The masked stores below re-checked the segment's session at every store
                        // (MemorySessionImpl.checkValidStateRaw: ~45% of the samples of MaxPoolBench.withIndices on LeNet's
                        // 16 x 10 planes, AMD EPYC Zen 4), and a masked store is slow microcode on AMD's AVX2 (about 15
                        // times a plain one on Zen 3): at 8 lanes LeNet's 14-wide pool1 rows took them at every step
                        e0.rearrange(Vectors.ZIP_LO, o0).intoMemorySegment(dx, c0, ORDER);
                        if (cells > LANES) {
                            e0.rearrange(Vectors.ZIP_HI, o0).intoMemorySegment(dx, c0 + VBYTES, ORDER);
                        }
                        e1.rearrange(Vectors.ZIP_LO, o1).intoMemorySegment(dx, c1, ORDER);
                        if (cells > LANES) {
                            e1.rearrange(Vectors.ZIP_HI, o1).intoMemorySegment(dx, c1 + VBYTES, ORDER);
                        }
                        continue;
                    }
                    VectorMask<Float> first = Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) cells);
                    VectorMask<Float> second = Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) (cells - LANES));
                    e0.rearrange(Vectors.ZIP_LO, o0).intoMemorySegment(dx, c0, ORDER, first);
                    e1.rearrange(Vectors.ZIP_LO, o1).intoMemorySegment(dx, c1, ORDER, first);
                    if (cells > LANES) {
                        e0.rearrange(Vectors.ZIP_HI, o0).intoMemorySegment(dx, c0 + VBYTES, ORDER, second);
                        e1.rearrange(Vectors.ZIP_HI, o1).intoMemorySegment(dx, c1 + VBYTES, ORDER, second);
                    }
                }
            }
        }
    }

    /** dx[plane, idx] += g[plane, o] for every output position (dx zeroed first). */
    public static void maxPool2dBackward(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int planes, int outPerPlane,
                                         MemorySegment dx, long dxOff, int inPerPlane) {
        Elementwise.zero(dx, dxOff << 2, (long) planes * inPerPlane);
        int parts = Math.min(Parallel.partsFor((long) planes * outPerPlane, 1 << 16), Math.max(planes, 1));
        if (parts <= 1) {
            maxPool2dBackwardPlanes(g, gOff, idx, idxOff, 0, planes, outPerPlane, dx, dxOff, inPerPlane);
            return;
        }
        Parallel.forRange(parts, planes, (part, p0, p1) -> maxPool2dBackwardPlanes(g, gOff, idx, idxOff, p0, p1, outPerPlane, dx, dxOff,
                inPerPlane));
    }

    private static void maxPool2dBackwardPlanes(MemorySegment g, long gOff, MemorySegment idx, long idxOff, int p0, int p1, int outPerPlane,
                                                MemorySegment dx, long dxOff, int inPerPlane) {
        for (int pl = p0; pl < p1; pl++) {
            long gp = gOff + (long) pl * outPerPlane;
            long ip = idxOff + (long) pl * outPerPlane;
            long dp = dxOff + (long) pl * inPerPlane;
            for (int o = 0; o < outPerPlane; o++) {
                long k = (long) idx.get(FLOAT, (ip + o) << 2);
                if (k >= 0) {
                    long at = (dp + k) << 2;
                    dx.set(FLOAT, at, dx.get(FLOAT, at) + g.get(FLOAT, (gp + o) << 2));
                }
            }
        }
    }

    /**
     * Average pooling forward ({@code backward == false}: in -> out) or backward ({@code true}: g = out-shaped
     * gradient in {@code a}, written into zeroed dx {@code b}), with PyTorch's divisor rules.
     */
    public static void avgPool2d(boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff, int planes, int h, int w,
                                 Window win, boolean countIncludePad, int oh, int ow) {
        if (backward) {
            Elementwise.zero(b, bOff << 2, (long) planes * h * w);
        }
        int parts = Math.min(Parallel.partsFor((long) planes * oh * ow * win.kH() * win.kW(), 1 << 15), Math.max(planes, 1));
        if (parts <= 1) { // directly: a capturing lambda is heap per call
            avgPool2dPlanes(0, planes, backward, a, aOff, b, bOff, h, w, win, countIncludePad, oh, ow);
            return;
        }
        Parallel.forRange(parts, planes, (part, p0, p1) -> avgPool2dPlanes(p0, p1, backward, a, aOff, b, bOff, h, w, win, countIncludePad,
                oh, ow));
    }

    private static void avgPool2dPlanes(int p0, int p1, boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff, int h,
            int w, Window win, boolean countIncludePad, int oh, int ow) {
        for (int pl = p0; pl < p1; pl++) {
            long inPlane = (backward ? bOff : aOff) + (long) pl * h * w;
            long outPlane = (backward ? aOff : bOff) + (long) pl * oh * ow;
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    int hs = y * win.sH() - win.pH();
                    int ws = x * win.sW() - win.pW();
                    int he = Math.min(hs + win.kH(), h + win.pH());
                    int we = Math.min(ws + win.kW(), w + win.pW());
                    // in long, as PyTorch's int64 pool_size: a window of 46,341 x 46,341 wrapped an int to a negative divisor
                    long poolSize = (long) (he - hs) * (we - ws);
                    hs = Math.max(hs, 0);
                    ws = Math.max(ws, 0);
                    he = Math.min(he, h);
                    we = Math.min(we, w);
                    long divisor = countIncludePad ? poolSize : (long) (he - hs) * (we - ws);
                    window(backward, a, b, inPlane, w, hs, he, ws, we, outPlane + (long) y * ow + x, divisor, 1);
                }
            }
        }
    }

    /**
     * One averaging window {@code [hs, he) x [ws, we)} of a plane: forward writes {@code sum / divisor / divisor2} into
     * output element {@code o} of {@code b}; backward spreads {@code a[o] / divisor / divisor2} over the window in
     * {@code b}. Two divisions where PyTorch makes two (adaptive pooling divides by the window's height, then its
     * width); a second divisor of 1 leaves the quotient's bits as they are. A long divisor converts to float as
     * PyTorch's {@code float / int64_t} does.
     */
    private static void window(boolean backward, MemorySegment a, MemorySegment b, long inPlane, int w, int hs, int he, int ws, int we,
                               long o, long divisor, int divisor2) {
        if (!backward) {
            float sum = 0f;
            for (int i = hs; i < he; i++) {
                for (int j = ws; j < we; j++) {
                    sum += a.get(FLOAT, (inPlane + (long) i * w + j) << 2);
                }
            }
            b.set(FLOAT, o << 2, sum / divisor / divisor2);
        } else {
            float share = a.get(FLOAT, o << 2) / divisor / divisor2;
            for (int i = hs; i < he; i++) {
                for (int j = ws; j < we; j++) {
                    long at = (inPlane + (long) i * w + j) << 2;
                    b.set(FLOAT, at, b.get(FLOAT, at) + share);
                }
            }
        }
    }

    /** Adaptive average pooling forward (in a -> out b) or backward (g a -> zeroed dx b). */
    public static void adaptiveAvgPool2d(boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff, int planes, int h, int w,
                                         int oh, int ow) {
        if (backward) {
            Elementwise.zero(b, bOff << 2, (long) planes * h * w);
        }
        int parts = Math.min(Parallel.partsFor((long) planes * h * w, 1 << 16), Math.max(planes, 1));
        if (parts <= 1) { // directly: a capturing lambda is heap per call
            adaptiveAvgPool2dPlanes(0, planes, backward, a, aOff, b, bOff, h, w, oh, ow);
            return;
        }
        Parallel.forRange(parts, planes, (part, p0, p1) -> adaptiveAvgPool2dPlanes(p0, p1, backward, a, aOff, b, bOff, h, w, oh, ow));
    }

    private static void adaptiveAvgPool2dPlanes(int p0, int p1, boolean backward, MemorySegment a, long aOff, MemorySegment b, long bOff,
            int h, int w, int oh, int ow) {
        if (!backward && oh == 1 && ow == 1) {
            // global average (ResNet's head): each plane's sum in Reductions' canonical order (the same bits at every
            // width), not one float chain: ResNet-20's 64 planes of 64 at batch 1 took 5.1 us, one dependent add a float
            long n = (long) h * w;
            int count = h * w;
            for (int pl = p0; pl < p1; pl++) {
                float sum = (float) Reductions.sumRow(a, (aOff + pl * n) << 2, n);
                b.set(FLOAT, (bOff + pl) << 2, sum / count);
            }
            return;
        }
        for (int pl = p0; pl < p1; pl++) {
            long inPlane = (backward ? bOff : aOff) + (long) pl * h * w;
            long outPlane = (backward ? aOff : bOff) + (long) pl * oh * ow;
            for (int y = 0; y < oh; y++) {
                int hs = (int) Math.floorDiv((long) y * h, oh);
                int he = (int) -Math.floorDiv(-(long) (y + 1) * h, oh);
                for (int x = 0; x < ow; x++) {
                    int ws = (int) Math.floorDiv((long) x * w, ow);
                    int we = (int) -Math.floorDiv(-(long) (x + 1) * w, ow);
                    // PyTorch: a 1 x 1 output is a mean (one division by the count); otherwise sum / kh / kw
                    if (oh == 1 && ow == 1) {
                        window(backward, a, b, inPlane, w, hs, he, ws, we, outPlane, (long) (he - hs) * (we - ws), 1);
                    } else {
                        window(backward, a, b, inPlane, w, hs, he, ws, we, outPlane + (long) y * ow + x, he - hs, we - ws);
                    }
                }
            }
        }
    }

    /**
     * This class's vector constants, made when a vector path first needs them (see {@link Simd.Vectors}): a process's
     * first predictions take the scalar forms and build none.
     */
    private static final class Vectors {
        private Vectors() {
        }

        static final VectorShuffle<Float> EVENS = VectorShuffle.fromOp(F, i -> 2 * i);
        static final FloatVector ZERO = FloatVector.zero(F);
        static final FloatVector TWICE_IOTA = FloatVector.fromArray(F, twiceIota(), 0);
        static final VectorShuffle<Float> ODDS = VectorShuffle.fromOp(F, i -> 2 * i + 1);
        /** Lane i of a pair-maximum selection: pair 2i (evens) or 2i + 1 (odds) of the two vectors read as one. */
        static final FloatVector EVEN_LANES = FloatVector.fromArray(F, pairLanes(0), 0);
        static final FloatVector ODD_LANES = FloatVector.fromArray(F, pairLanes(1), 0);
        static final VectorShuffle<Float> ZIP_LO = VectorShuffle.fromOp(F, i -> i % 2 == 0 ? i / 2 : LANES + i / 2);
        static final VectorShuffle<Float> ZIP_HI = VectorShuffle.fromOp(F, i -> i % 2 == 0 ? LANES / 2 + i / 2 : LANES + LANES / 2 + i / 2);
    }
}
