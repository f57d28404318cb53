package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Elementwise kernels over float segments with arbitrary strides (0 = broadcast).
 *
 * <p>Every call is reduced by {@link StridedLoop} to rows; a row whose operands all have stride 1 (or a
 * broadcast scalar) runs the vector loop, any other row the scalar loop. The output may alias an input
 * with the same layout (in-place ops).
 */
public final class Elementwise {
    private Elementwise() {
    }

    /** Whether a shape has no elements (a dim of 0): the strided loops then have nothing to do. */
    private static boolean empty(int[] shape) {
        for (int d : shape) {
            if (d == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code out[i] = op(x[i], p, q)} over {@code shape}.
     *
     * @param xOff   element offset of x
     * @param xStr   element strides of x (0 = broadcast)
     */
    public static void unary(UnaryOp op, float p, float q,
                             MemorySegment x, long xOff, int[] xStr,
                             MemorySegment out, long oOff, int[] oStr, int[] shape) {
        if (empty(shape)) {
            return;
        }
        StridedLoop loop = StridedLoop.reused(shape, xStr, xOff, oStr, oOff);
        int n = loop.rowLength();
        long sx = loop.rowStride(0);
        long so = loop.rowStride(1);
        if (op == UnaryOp.IDENTITY && loop.dims >= 2 && so == 1 && sx != 1 && loop.strides[0][loop.dims - 2] == 1) {
            transposedCopy(x, xOff, out, oOff, loop);
            return;
        }
        if (op == UnaryOp.IDENTITY && loop.dims >= 2 && sx == 1 && so == 1) {
            rowsCopy(x, out, loop);
            return;
        }
        long rows = loop.rows();
        long[] off = loop.offsets;
        if (sx == 0 && so == 1 && n > 1) {
            // rows of one value (an expanded tensor made contiguous: e.g. sum's gradient before a convolution's
            // backward, whose 200k floats went float by float at ~4.5 ns each): op once a row (a pure function of
            // the one input: the bits every element would get), the row filled as Select's broadcasts fill theirs
            for (long r = 0; r < rows; r++) {
                Select.fillRow(out, off[1] << 2, op.apply(x.get(FLOAT, off[0] << 2), p, q), n);
                loop.advance();
            }
            return;
        }
        for (long r = 0; r < rows; r++) {
            if (sx == 1 && so == 1) {
                unaryContiguous(op, p, q, x, off[0] << 2, out, off[1] << 2, n);
            } else {
                for (int i = 0; i < n; i++) {
                    float v = x.get(FLOAT, (off[0] + i * sx) << 2);
                    out.set(FLOAT, (off[1] + i * so) << 2, op.apply(v, p, q));
                }
            }
            loop.advance();
        }
    }

    /**
     * A copy of contiguous rows between strided layouts (e.g. attention heads {@code [b, h, t, d]} merged back into
     * {@code [b, t, h * d]}): the rows of the next dim out run in a loop of their own, and the outer dims advance once
     * per such group. Rows of a head (d = 32 floats) row by row through {@link #unaryContiguous} and the loop's
     * advance cost more per row than the copy: that path was 3.5% of the char GPT's compiled training step (Zen 4).
     */
    private static void rowsCopy(MemorySegment x, MemorySegment out, StridedLoop loop) {
        int d = loop.dims;
        int n = loop.rowLength();
        int group = loop.shape[d - 2];
        long xs = loop.strides[0][d - 2];
        long os = loop.strides[1][d - 2];
        long groups = loop.rows() / Math.max(1, group);
        long[] off = loop.offsets;
        long vecBytes = ((long) n << 2) - (((long) n << 2) % VBYTES);
        long bytes = (long) n << 2;
        for (long g = 0; g < groups; g++) {
            long xb = off[0] << 2;
            long ob = off[1] << 2;
            for (int j = 0; j < group; j++, xb += xs << 2, ob += os << 2) {
                for (long i = 0; i < vecBytes; i += VBYTES) {
                    FloatVector.fromMemorySegment(F, x, xb + i, ORDER).intoMemorySegment(out, ob + i, ORDER);
                }
                for (long i = vecBytes; i < bytes; i += 4) {
                    out.set(FLOAT, ob + i, x.get(FLOAT, xb + i));
                }
            }
            loop.advanceGroup();
        }
    }

    /** Side of the square blocks of {@link #transposedCopy}: 16 rows of 16 floats (one 64-byte line each) per side. */
    private static final int TRANSPOSE_BLOCK = 16;

    /**
     * A copy whose innermost output dim reads the input across rows while the next dim out reads it contiguously: a
     * transpose, e.g. {@code w.t().contiguous()}. Element by element along output rows, every read lands on another
     * input line (measured ~0.3 GB/s for 1024 x 1024); by 16 x 16 blocks, both sides stay within 16 cache lines.
     * Outer dims, if any, run one after the other. A copy: the bits of every element are kept.
     */
    private static void transposedCopy(MemorySegment x, long xOff, MemorySegment out, long oOff, StridedLoop loop) {
        int d = loop.dims;
        int rowsN = loop.shape[d - 2];
        int colsN = loop.shape[d - 1];
        long xCol = loop.strides[0][d - 1];     // input stride along an output row
        long oRow = loop.strides[1][d - 2];     // output stride between output rows (input stride there is 1)
        int outer = 1;
        for (int k = 0; k < d - 2; k++) {
            outer *= loop.shape[k];
        }
        int[] idx = loop.counter; // the reused loop's zeroed counter (at least dims long)
        long xBase = xOff;
        long oBase = oOff;
        for (int o = 0; o < outer; o++) {
            for (int r0 = 0; r0 < rowsN; r0 += TRANSPOSE_BLOCK) {
                int r1 = Math.min(rowsN, r0 + TRANSPOSE_BLOCK);
                for (int c0 = 0; c0 < colsN; c0 += TRANSPOSE_BLOCK) {
                    int c1 = Math.min(colsN, c0 + TRANSPOSE_BLOCK);
                    for (int c = c0; c < c1; c++) {
                        long xb = (xBase + c * xCol) << 2;
                        long ob = (oBase + c) << 2;
                        for (int r = r0; r < r1; r++) {
                            out.set(FLOAT, ob + ((r * oRow) << 2), x.get(FLOAT, xb + ((long) r << 2)));
                        }
                    }
                }
            }
            for (int k = d - 3; k >= 0; k--) { // next outer index
                idx[k]++;
                xBase += loop.strides[0][k];
                oBase += loop.strides[1][k];
                if (idx[k] < loop.shape[k]) {
                    break;
                }
                xBase -= loop.strides[0][k] * loop.shape[k];
                oBase -= loop.strides[1][k] * loop.shape[k];
                idx[k] = 0;
            }
        }
    }

    /** {@code out[i] = op(a[i], b[i])} over {@code shape}; a and b carry broadcast strides. */
    public static void binary(BinaryKernel op,
                              MemorySegment a, long aOff, int[] aStr,
                              MemorySegment b, long bOff, int[] bStr,
                              MemorySegment out, long oOff, int[] oStr, int[] shape) {
        if (empty(shape)) { // rows of 0 elements at offsets past an empty segment's end (zeros(2, 3, 0) + zeros(2, 1, 0) threw)
            return;
        }
        StridedLoop loop = StridedLoop.reused(shape, aStr, aOff, bStr, bOff, oStr, oOff);
        int n = loop.rowLength();
        long sa = loop.rowStride(0);
        long sb = loop.rowStride(1);
        long so = loop.rowStride(2);
        long rows = loop.rows();
        long[] off = loop.offsets;
        for (long r = 0; r < rows; r++) {
            if (so == 1 && sa == 1 && sb == 1) {
                binaryContiguous(op, a, off[0] << 2, b, off[1] << 2, out, off[2] << 2, n);
            } else if (so == 1 && sa == 1 && sb == 0 && op instanceof BinaryOp bop) {
                binaryVectorScalar(bop, a, off[0] << 2, b.get(FLOAT, off[1] << 2), out, off[2] << 2, n);
            } else if (so == 1 && sa == 0 && sb == 1 && op instanceof BinaryOp bop) {
                binaryScalarVector(bop, a.get(FLOAT, off[0] << 2), b, off[1] << 2, out, off[2] << 2, n);
            } else { // any other layout, and a fused backward with a broadcast operand: the scalar definition (same bits)
                for (int i = 0; i < n; i++) {
                    float va = a.get(FLOAT, (off[0] + i * sa) << 2);
                    float vb = b.get(FLOAT, (off[1] + i * sb) << 2);
                    out.set(FLOAT, (off[2] + i * so) << 2, op.apply(va, vb));
                }
            }
            loop.advance();
        }
    }

    // ---- contiguous rows (byte offsets) ----

    /**
     * Zeroes {@code count} contiguous floats from byte offset {@code b} (+0.0f, as a byte fill): the vector FILL row,
     * because {@code asSlice(...).fill} makes a segment per call and a compiled step allocates nothing (issue 17).
     */
    public static void zero(MemorySegment seg, long b, long count) {
        for (long done = 0; done < count; done += Integer.MAX_VALUE / 4) {
            long at = b + (done << 2);
            unaryContiguous(UnaryOp.FILL, 0f, 0f, seg, at, seg, at, (int) Math.min(count - done, Integer.MAX_VALUE / 4));
        }
    }

    /**
     * Floats per part below which a contiguous elementwise pass stays on the calling thread (measured: ResNet-20's
     * training step ran its ReLUs, their masks and the residual adds, 1-8 MB each, on one thread while the other
     * waited: ~10% of the step's wall time at 2 threads).
     */
    static final int PARALLEL_MIN_FLOATS = 1 << 15;
    /** Parts split at multiples of this many floats: a multiple of every vector length, so the vector/scalar split is the single call's. */
    private static final int PARALLEL_UNIT = 64;

    /**
     * {@link #unaryContiguous} split across the pool's threads in contiguous shares of whole {@link #PARALLEL_UNIT}s:
     * every element is computed by the same code as in one call (only the last share has a scalar tail, the same
     * one), so the same bits for any thread count.
     */
    public static void unaryContiguousParallel(UnaryOp op, float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, int n) {
        int parts = Parallel.partsFor(n, PARALLEL_MIN_FLOATS);
        if (parts <= 1) {
            unaryContiguous(op, p, q, x, xb, out, ob, n);
            return;
        }
        ContiguousJob job = ContiguousJob.MINE.get();
        job.set(op, p, q, null, x, xb, null, 0, out, ob, n);
        try {
            Parallel.forRange(parts, units(n), job);
        } finally {
            job.release();
        }
    }

    /**
     * Units of {@link #PARALLEL_UNIT} floats in {@code n}, rounded up, in long: {@code n + PARALLEL_UNIT - 1} in int
     * wrapped negative from 2^31 - 63 floats, and every part then wrote nothing (a silent, thread-count-dependent result).
     */
    static int units(int n) {
        return (int) (((long) n + PARALLEL_UNIT - 1) / PARALLEL_UNIT);
    }

    /** {@link #binaryContiguous} split as {@link #unaryContiguousParallel} splits: the same bits for any thread count. */
    public static void binaryContiguousParallel(BinaryKernel kernel, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out,
                                                long ob, int n) {
        int parts = Parallel.partsFor(n, PARALLEL_MIN_FLOATS);
        if (parts <= 1) {
            binaryContiguous(kernel, a, ab, b, bb, out, ob, n);
            return;
        }
        ContiguousJob job = ContiguousJob.MINE.get();
        job.set(null, 0f, 0f, kernel, a, ab, b, bb, out, ob, n);
        try {
            Parallel.forRange(parts, units(n), job);
        } finally {
            job.release();
        }
    }

    /** The parallel body of the contiguous passes, one per thread and reused: a compiled step allocates nothing (see Sgemm.Split). */
    private static final class ContiguousJob implements Parallel.RangeBody {
        static final ThreadLocal<ContiguousJob> MINE = new ThreadLocal<>() {
            @Override
            protected ContiguousJob initialValue() {
                return new ContiguousJob();
            }
        };
        private UnaryOp unary;
        private float p;
        private float q;
        private BinaryKernel binary;
        private MemorySegment a;
        private long ab;
        private MemorySegment b;
        private long bb;
        private MemorySegment out;
        private long ob;
        private int n;

        void set(UnaryOp unary, float p, float q, BinaryKernel binary, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out,
                 long ob, int n) {
            this.unary = unary;
            this.p = p;
            this.q = q;
            this.binary = binary;
            this.a = a;
            this.ab = ab;
            this.b = b;
            this.bb = bb;
            this.out = out;
            this.ob = ob;
            this.n = n;
        }

        /** Drops the references: nothing of a finished call stays reachable. */
        void release() {
            unary = null;
            binary = null;
            a = null;
            b = null;
            out = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            long start = (long) from * PARALLEL_UNIT;
            int count = (int) (Math.min(n, (long) to * PARALLEL_UNIT) - start);
            if (count <= 0) {
                return;
            }
            long bytes = start << 2;
            if (binary == null) {
                unaryContiguous(unary, p, q, a, ab + bytes, out, ob + bytes, count);
            } else {
                binaryContiguous(binary, a, ab + bytes, b, bb + bytes, out, ob + bytes, count);
            }
        }
    }

    /** The most floats a cold call ({@link ColdStart}) copies to the heap and back. */
    private static final int COLD_MAX_FLOATS = 1 << 16;

    /** {@code out = op(x)} over n contiguous floats; byte offsets. */
    public static void unaryContiguous(UnaryOp op, float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, int n) {
        if (n <= COLD_MAX_FLOATS && ColdStart.unaryRow()) { // a young process: the same formula, scalar
            float[] v = new float[n];
            MemorySegment.copy(x, FLOAT, xb, v, 0, n);
            applyScalar(op, p, q, v, n);
            MemorySegment.copy(v, 0, out, FLOAT, ob, n);
            return;
        }
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        op.vectorRow(p, q, x, xb, out, ob, vecEnd); // the op's own loop (see UnaryOp for why each has one)
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(x.get(FLOAT, xb + i), p, q));
        }
    }

    /** {@code out = op(a, b)} over n contiguous floats; byte offsets. */
    public static void binaryContiguous(BinaryKernel kernel, MemorySegment a, long ab, MemorySegment b, long bb,
                                 MemorySegment out, long ob, int n) {
        if (n <= COLD_MAX_FLOATS && ColdStart.binaryRow()) { // a young process: each op's scalar formula, its lanes' formula
            float[] x = new float[n];
            float[] y = new float[n];
            MemorySegment.copy(a, FLOAT, ab, x, 0, n);
            MemorySegment.copy(b, FLOAT, bb, y, 0, n);
            applyScalar(kernel, x, y, n);
            MemorySegment.copy(x, 0, out, FLOAT, ob, n);
            return;
        }
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        if (kernel instanceof UnaryOp.Backward backward) {
            backward.row(a, ab, b, bb, out, ob, vecEnd); // the op's own loop
        } else {
            binaryOpRow((BinaryOp) kernel, a, ab, b, bb, out, ob, vecEnd);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, kernel.apply(a.get(FLOAT, ab + i), b.get(FLOAT, bb + i)));
        }
    }

    // The scalar forms' loops are methods of their own: small, so the JIT compiles them after a few rows; left in the
    // callers, an on-stack replacement compiled the whole caller with its vector paths (C1, 36-58 KB, in a cold start).

    /** Elements a scalar form's loop covers per call: a 32 x 32 plane of 16 channels is 64 calls, not one long loop. */
    private static final int SCALAR_RUN = 256;

    /** {@code v[i] = op(v[i])} for i below n. */
    private static void applyScalar(UnaryOp op, float p, float q, float[] v, int n) {
        for (int from = 0; from < n; from += SCALAR_RUN) {
            applyRun(op, p, q, v, from, Math.min(n, from + SCALAR_RUN));
        }
    }

    private static void applyRun(UnaryOp op, float p, float q, float[] v, int from, int to) {
        for (int i = from; i < to; i++) {
            v[i] = op.apply(v[i], p, q);
        }
    }

    /** {@code x[i] = kernel(x[i], y[i])} for i below n. */
    private static void applyScalar(BinaryKernel kernel, float[] x, float[] y, int n) {
        for (int from = 0; from < n; from += SCALAR_RUN) {
            applyRun(kernel, x, y, from, Math.min(n, from + SCALAR_RUN));
        }
    }

    private static void applyRun(BinaryKernel kernel, float[] x, float[] y, int from, int to) {
        for (int i = from; i < to; i++) {
            x[i] = kernel.apply(x[i], y[i]);
        }
    }

    private static void binaryOpRow(BinaryOp op, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        if (op == BinaryOp.ADD) {
            addRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.MUL) {
            mulRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.MASK_POSITIVE) {
            maskPositiveRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.ADD_RELU) {
            addReluRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.POW) {
            powRow(a, ab, b, bb, out, ob, vecEnd);
        } else {
            otherBinaryRow(op, a, ab, b, bb, out, ob, vecEnd);
        }
    }

    // each op's loop is a method of its own: C2 compiles it with its own profile, where a loop left in line on a branch
    // the caller's profile calls cold can run the Vector API's allocating fallback (see Softmax.row)

    private static void powRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.pow(FloatVector.fromMemorySegment(F, a, ab + i, ORDER), FloatVector.fromMemorySegment(F, b, bb + i, ORDER))
                    .intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void otherBinaryRow(BinaryOp op, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
            vectorBinary(op, va, vb).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /*
     * The hottest binary ops (residual adds and gradient sums, products, ReLU's backward) get loops of their own, with
     * no call inside: measured on Zen 3 (AVX2), a ResNet-20 training step allocated 1.1 GB of boxed vectors per step
     * when these went through vectorBinary, which C2 did not inline into the loop.
     */
    private static void addRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, a, ab + i, ORDER).add(FloatVector.fromMemorySegment(F, b, bb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void mulRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, a, ab + i, ORDER).mul(FloatVector.fromMemorySegment(F, b, bb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /** {@code out = relu(a + b)}, as UnaryOp.RELU does it (NaN kept, -0 to +0): a residual block's sum and ReLU in one pass. */
    private static void addReluRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector s = FloatVector.fromMemorySegment(F, a, ab + i, ORDER).add(FloatVector.fromMemorySegment(F, b, bb + i, ORDER));
            s.blend(0f, s.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /** {@code out = b <= 0 ? 0 : a}: ReLU's backward (a the gradient, b the forward's output), a NaN output passing it. */
    private static void maskPositiveRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
            va.blend(0f, vb.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    static void binaryVectorScalar(BinaryOp op, MemorySegment a, long ab, float s, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        FloatVector vs = FloatVector.broadcast(F, s);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            vectorBinary(op, va, vs).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(a.get(FLOAT, ab + i), s));
        }
    }

    static void binaryScalarVector(BinaryOp op, float s, MemorySegment b, long bb, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        FloatVector vs = FloatVector.broadcast(F, s);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
            vectorBinary(op, vs, vb).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(s, b.get(FLOAT, bb + i)));
        }
    }

    // ---- the vector forms of BinaryOp; kept small so C2 inlines them into each loop ----

    static FloatVector vectorBinary(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MAXIMUM -> a.max(b);
            case MINIMUM -> a.min(b);
            case POW -> powVectors(a, b);
            case EQ -> a.broadcast(0f).blend(1f, a.eq(b));
            case GT -> a.broadcast(0f).blend(1f, a.compare(VectorOperators.GT, b));
            case LT -> a.broadcast(0f).blend(1f, a.compare(VectorOperators.LT, b));
            case MASK_POSITIVE -> a.blend(0f, b.compare(VectorOperators.LE, 0f));
            case ADD_RELU -> addRelu(a, b);
        };
    }

    private static FloatVector addRelu(FloatVector a, FloatVector b) {
        FloatVector s = a.add(b);
        return s.blend(0f, s.compare(VectorOperators.LE, 0f));
    }

    private static FloatVector powVectors(FloatVector a, FloatVector b) {
        return VectorMath.pow(a, b);
    }
}
