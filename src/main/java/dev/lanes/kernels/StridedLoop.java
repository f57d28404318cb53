package dev.lanes.kernels;

/**
 * Turns an N-d strided index space over several operands into rows: dimensions of size 1 are dropped
 * and neighbours that are contiguous for every operand are merged, so that the common cases
 * (contiguous, broadcast of a row or a scalar) become one long row the vector loops can stream.
 *
 * <p>Strides are in elements; 0 marks a broadcast dimension.
 */
final class StridedLoop {
    /** Coalesced sizes; the last entry is the row length. */
    final int[] shape;
    /** strides[operand][dim], coalesced. */
    final long[][] strides;
    final int dims;

    StridedLoop(int[] shape, int[]... operandStrides) {
        int nd = shape.length;
        int ops = operandStrides.length;
        int[] sh = new int[Math.max(nd, 1)];
        long[][] st = new long[ops][Math.max(nd, 1)];
        int k = 0;
        for (int d = 0; d < nd; d++) {
            if (shape[d] == 1) {
                continue;
            }
            if (k > 0 && mergeable(st, k - 1, sh[k - 1], operandStrides, d, shape[d])) {
                // previous (outer) dim and this one are contiguous for every operand
                sh[k - 1] *= shape[d];
                for (int o = 0; o < ops; o++) {
                    st[o][k - 1] = operandStrides[o][d];
                }
                continue;
            }
            sh[k] = shape[d];
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
        this.shape = sh;
        this.strides = st;
    }

    private static boolean mergeable(long[][] st, int prev, int prevSize, int[][] orig, int d, int size) {
        for (int o = 0; o < st.length; o++) {
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

    /** Advances the outer-dimension counter {@code idx} by one row, updating each operand's offset. */
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
