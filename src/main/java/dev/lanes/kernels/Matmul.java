package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Row-major matrix product {@code C = A B} (or {@code C += A B}) with leading dimensions, A {@code [m, k]},
 * B {@code [k, n]}, C {@code [m, n]}, offsets and leading dimensions in elements.
 *
 * <p>A straightforward register tile (4 rows of C by one vector of columns, masked at the right edge) that
 * streams rows of B: correct for every shape and far faster than scalar code. The packed, cache-blocked
 * GEMM of the kernels issue is meant to replace its inside.
 */
public final class Matmul {
    private static final int MR = 4;

    private Matmul() {
    }

    public static void gemm(int m, int n, int k,
                            MemorySegment a, long aOff, int lda,
                            MemorySegment b, long bOff, int ldb,
                            MemorySegment c, long cOff, int ldc, boolean accumulate) {
        if (m == 0 || n == 0) {
            return;
        }
        for (int i0 = 0; i0 < m; i0 += MR) {
            int rows = Math.min(MR, m - i0);
            // rows past the edge re-read the last row of A and are not stored: no branches in the k loop
            long a0 = aOff + (long) i0 * lda;
            long a1 = aOff + (long) Math.min(i0 + 1, m - 1) * lda;
            long a2 = aOff + (long) Math.min(i0 + 2, m - 1) * lda;
            long a3 = aOff + (long) Math.min(i0 + 3, m - 1) * lda;
            for (int j0 = 0; j0 < n; j0 += LANES) {
                VectorMask<Float> mask = F.indexInRange(j0, n);
                FloatVector c0 = FloatVector.zero(F);
                FloatVector c1 = FloatVector.zero(F);
                FloatVector c2 = FloatVector.zero(F);
                FloatVector c3 = FloatVector.zero(F);
                long bCol = bOff + j0;
                for (int p = 0; p < k; p++) {
                    FloatVector bv = FloatVector.fromMemorySegment(F, b, (bCol + (long) p * ldb) << 2, ORDER, mask);
                    c0 = bv.fma(FloatVector.broadcast(F, a.get(FLOAT, (a0 + p) << 2)), c0);
                    c1 = bv.fma(FloatVector.broadcast(F, a.get(FLOAT, (a1 + p) << 2)), c1);
                    c2 = bv.fma(FloatVector.broadcast(F, a.get(FLOAT, (a2 + p) << 2)), c2);
                    c3 = bv.fma(FloatVector.broadcast(F, a.get(FLOAT, (a3 + p) << 2)), c3);
                }
                long cRow = cOff + (long) i0 * ldc + j0;
                store(c, cRow, c0, mask, accumulate);
                if (rows > 1) {
                    store(c, cRow + ldc, c1, mask, accumulate);
                }
                if (rows > 2) {
                    store(c, cRow + 2L * ldc, c2, mask, accumulate);
                }
                if (rows > 3) {
                    store(c, cRow + 3L * ldc, c3, mask, accumulate);
                }
            }
        }
    }

    private static void store(MemorySegment c, long elem, FloatVector v, VectorMask<Float> mask, boolean accumulate) {
        long byteOff = elem << 2;
        if (accumulate) {
            v = v.add(FloatVector.fromMemorySegment(F, c, byteOff, ORDER, mask));
        }
        v.intoMemorySegment(c, byteOff, ORDER, mask);
    }
}
