package dev.lanes.kernels;

/**
 * Turns an N-d strided index space over several operands into rows: dimensions of size 1 are dropped
 * and neighbours that are contiguous for every operand are merged, so that the common cases
 * (contiguous, broadcast of a row or a scalar) become one long row the vector loops can stream.
 *
 * <p>Strides are in elements; 0 marks a broadcast dimension.
 */
final class StridedLoop {
    /**
     * One two-, three- and four-operand loop per thread for the strided kernels a plan or a compiled step runs every
     * call: {@link Elementwise}'s unary and binary kernels, {@link Compare}'s and {@link Select}'s where / masked_fill.
     * Building a loop (five arrays) per call was most of a GPT training step's remaining heap (issue 17), and 5.7 KB of
     * a warm call of torch's activations export (its where and comparison steps). A kernel takes its thread's loop,
     * runs and is done with it before it could be asked again on that thread (those kernels call no strided kernel
     * and no parallel part).
     */
    private static final ThreadLocal<StridedLoop> TWO = new ThreadLocal<>() {
        @Override
        protected StridedLoop initialValue() {
            return new StridedLoop(2);
        }
    };
    private static final ThreadLocal<StridedLoop> THREE = new ThreadLocal<>() {
        @Override
        protected StridedLoop initialValue() {
            return new StridedLoop(3);
        }
    };
    private static final ThreadLocal<StridedLoop> FOUR = new ThreadLocal<>() {
        @Override
        protected StridedLoop initialValue() {
            return new StridedLoop(4);
        }
    };

    /** Coalesced sizes; the last entry is the row length. */
    int[] shape;
    /** strides[operand][dim], coalesced. */
    long[][] strides;
    int dims;
    /** The outer-dimension counter and each operand's element offset, for {@link #advance} (reused loops only). */
    int[] counter;
    final long[] offsets;
    /** The strides a reused loop is being built from (cleared after). */
    private final int[][] pending;

    StridedLoop(int[] shape, int[]... operandStrides) {
        this.pending = null;
        this.offsets = null;
        this.shape = new int[Math.max(shape.length, 1)];
        this.strides = new long[operandStrides.length][Math.max(shape.length, 1)];
        init(shape, operandStrides);
    }

    private StridedLoop(int operands) {
        this.pending = new int[operands][];
        this.offsets = new long[operands];
        this.shape = new int[0];
        this.strides = new long[operands][0];
        this.counter = new int[0];
    }

    /** This thread's two-operand loop over {@code shape}, reset for {@code s0}, {@code s1} starting at offsets o0, o1. */
    static StridedLoop reused(int[] shape, int[] s0, long o0, int[] s1, long o1) {
        StridedLoop loop = TWO.get();
        loop.pending[0] = s0;
        loop.pending[1] = s1;
        loop.reset(shape);
        loop.offsets[0] = o0;
        loop.offsets[1] = o1;
        return loop;
    }

    /** This thread's three-operand loop, as {@link #reused(int[], int[], long, int[], long)}. */
    static StridedLoop reused(int[] shape, int[] s0, long o0, int[] s1, long o1, int[] s2, long o2) {
        StridedLoop loop = THREE.get();
        loop.pending[0] = s0;
        loop.pending[1] = s1;
        loop.pending[2] = s2;
        loop.reset(shape);
        loop.offsets[0] = o0;
        loop.offsets[1] = o1;
        loop.offsets[2] = o2;
        return loop;
    }

    /** This thread's four-operand loop ({@link Select#where}'s condition, a, b and out), as {@link #reused(int[], int[], long, int[], long)}. */
    static StridedLoop reused(int[] shape, int[] s0, long o0, int[] s1, long o1, int[] s2, long o2, int[] s3, long o3) {
        StridedLoop loop = FOUR.get();
        loop.pending[0] = s0;
        loop.pending[1] = s1;
        loop.pending[2] = s2;
        loop.pending[3] = s3;
        loop.reset(shape);
        loop.offsets[0] = o0;
        loop.offsets[1] = o1;
        loop.offsets[2] = o2;
        loop.offsets[3] = o3;
        return loop;
    }

    private void reset(int[] shapeIn) {
        int need = Math.max(shapeIn.length, 1);
        if (shape.length < need) { // grown once to the largest rank this thread has seen
            shape = new int[need];
            for (int o = 0; o < strides.length; o++) {
                strides[o] = new long[need];
            }
            counter = new int[need];
        }
        java.util.Arrays.fill(counter, 0);
        init(shapeIn, pending);
        java.util.Arrays.fill(pending, null);
    }

    /** Coalesces shapeIn and the operands' strides into {@link #shape}/{@link #strides} (already large enough). */
    private void init(int[] shapeIn, int[][] operandStrides) {
        int nd = shapeIn.length;
        int ops = operandStrides.length;
        int[] sh = shape; // sized for nd by the constructor or reset
        long[][] st = strides;
        int k = 0;
        for (int d = 0; d < nd; d++) {
            if (shapeIn[d] == 1) {
                continue;
            }
            if (k > 0 && mergeable(st, k - 1, sh[k - 1], operandStrides, d, shapeIn[d])) {
                // previous (outer) dim and this one are contiguous for every operand
                sh[k - 1] *= shapeIn[d];
                for (int o = 0; o < ops; o++) {
                    st[o][k - 1] = operandStrides[o][d];
                }
                continue;
            }
            sh[k] = shapeIn[d];
            for (int o = 0; o < ops; o++) {
                st[o][k] = operandStrides[o][d];
            }
            k++;
        }
        if (k == 0) { // a single element
            sh[0] = 1;
            for (int o = 0; o < ops; o++) {
                st[o][0] = 0;
            }
            k = 1;
        }
        this.dims = k;
    }

    private static boolean mergeable(long[][] st, int prev, int prevSize, int[][] orig, int d, int size) {
        for (int o = 0; o < orig.length; o++) {
            if (st[o][prev] != (long) orig[o][d] * size) {
                return false;
            }
        }
        return true;
    }

    int rowLength() {
        return shape[dims - 1];
    }

    long rowStride(int operand) {
        return strides[operand][dims - 1];
    }

    long rows() {
        long r = 1;
        for (int d = 0; d < dims - 1; d++) {
            r *= shape[d];
        }
        return r;
    }

    /**
     * Advances a reused loop by a whole group of rows: all of dim {@code dims - 2} (a caller that ran the group's rows
     * itself, from the offsets at its first row), so the next row is the first of the next group.
     */
    void advanceGroup() {
        int d = dims - 2;
        int rest = shape[d] - 1;
        counter[d] = rest; // as if at the group's last row: one advance then carries into the outer dims
        for (int o = 0; o < offsets.length; o++) {
            offsets[o] += strides[o][d] * rest;
        }
        advance();
    }

    /** Advances a reused loop's own {@link #counter} and {@link #offsets} by one row. */
    void advance() {
        advance(counter, offsets);
    }

    /** Advances {@code idx} by one row, updating each operand's offset in {@code offsets}. */
    void advance(int[] idx, long[] offsets) {
        for (int d = dims - 2; d >= 0; d--) {
            idx[d]++;
            for (int o = 0; o < offsets.length; o++) {
                offsets[o] += strides[o][d];
            }
            if (idx[d] < shape[d]) {
                return;
            }
            for (int o = 0; o < offsets.length; o++) {
                offsets[o] -= strides[o][d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}
