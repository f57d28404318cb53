package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Row-major single-precision GEMM, {@code C = alpha * op(A) op(B) + beta * C}, in the GotoBLAS/BLIS shape:
 * <ul>
 *   <li>op(B) is packed {@link #KC} x {@link #NC} at a time into slivers of {@link #NR} columns, op(A)
 *       {@link #MC} x {@link #KC} at a time into slivers of {@link #MR} rows, both into per-thread {@code float[]}
 *       (VECTOR-NOTES.md: scalar reads of packed A through a segment keep bounds checks in the inner loop);
 *       transposes and leading dimensions are absorbed by the packing;</li>
 *   <li>an {@code MR x NR} = 8 x 32 micro-kernel keeps 16 vector accumulators in registers and writes C
 *       straight into its segment (masked at the right edge, rows cut at the bottom edge);</li>
 *   <li>threads split C into disjoint row (or column) ranges, each running the same blocked loops, so every
 *       element is summed in the same order for any thread count;</li>
 *   <li>an optional {@link Epilogue} adds a bias (per column or per row) and applies ReLU while C is in registers.</li>
 * </ul>
 */
public final class Sgemm {
    public static final int MR = 8;
    public static final int NR = 2 * LANES;
    public static final int KC = 256;
    public static final int MC = 96;
    public static final int NC = 2048;
    /** A B^T products with at most this many rows and rows of at least NT_MIN_K run as dot products ({@link #gemmNT}). */
    static final int NT_MAX_M = 16;
    static final int NT_MIN_K = 256; // below, the per-block folds cost more than packing (LeNet conv2, k = 100: 16.9 vs 7.1 us)
    /** Products with at most this many rows skip packing (see {@link #smallM}). */
    static final int SMALL_M = 4;
    /**
     * Floats of per-call scratch a caller hands to the kernels that take a {@code tile}: the micro-tile (MR x NR),
     * the 4 x 4 dot-product block's accumulators (16 vectors), a GEMV block (2 NR). Derived from the lane count,
     * never a literal: at 8 or 4 lanes each of these is smaller than at 16.
     */
    public static final int SCRATCH_FLOATS = Math.max(MR * NR, 16 * LANES);

    /** Below this many multiply-adds the call stays on the calling thread (measured: 128^3 and 64x120x400 ran slower on 2). */
    private static final long PARALLEL_MIN_FLOPS = 1L << 24;

    /** Bias and activation fused into the last write of C. */
    public record Epilogue(MemorySegment bias, long biasOff, boolean biasPerRow, boolean relu) {
        public static final Epilogue NONE = new Epilogue(null, 0, false, false);

        public static Epilogue columnBias(MemorySegment bias, long off, boolean relu) {
            return new Epilogue(bias, off, false, relu);
        }

        public static Epilogue rowBias(MemorySegment bias, long off, boolean relu) {
            return new Epilogue(bias, off, true, relu);
        }

        boolean isNone() {
            return bias == null && !relu;
        }
    }

    /**
     * The packing buffers of one thread: the engine keeps one per thread; an inference plan gives each of its
     * execution contexts its own, sized for the largest product it runs, so no scratch is shared between callers.
     */
    public static final class Workspace {
        final float[] a;
        final float[] b;
        final float[] tile = new float[SCRATCH_FLOATS];
        /** One column of a transposed B (at most KC floats), staged by {@link #packBTransposed}. */
        final float[] row = new float[KC];

        /** Buffers for any product. */
        public Workspace() {
            this(Integer.MAX_VALUE, Integer.MAX_VALUE);
        }

        /** Buffers for products with inner dimension at most {@code maxK} and at most {@code maxN} columns. */
        public Workspace(int maxK, int maxN) {
            int kc = Math.max(1, Math.min(KC, maxK));
            int nc = (int) Math.max(NR, Math.min(NC, ((long) maxN + NR - 1) / NR * NR));
            a = new float[MC * kc];
            b = new float[kc * nc];
        }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private Sgemm() {
    }

    /**
     * {@code C[m, n] = alpha * op(A) op(B) + beta * C}; op(A) is {@code [m, k]}, op(B) {@code [k, n]}.
     * Offsets and leading dimensions are in elements. {@code beta == 0} ignores C's old contents (NaN included).
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc, Epilogue epilogue) {
        if (m == 0 || n == 0) {
            return;
        }
        Epilogue epi = epilogue == null ? Epilogue.NONE : epilogue;
        if (m <= SMALL_M && k > 0) {
            // a few rows (batch-1 inference): packing all of B would cost more than the product itself
            smallM(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, WORKSPACE.get().tile);
            return;
        }
        long flops = (long) m * n * Math.max(k, 1);
        if (!transA && transB && m <= NT_MAX_M && k >= NT_MIN_K && flops < PARALLEL_MIN_FLOPS) {
            // A B^T with few rows and long rows: a convolution's weight gradient, gout col^T
            gemmNT(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, WORKSPACE.get().tile);
            return;
        }
        int parts = flops < PARALLEL_MIN_FLOPS ? 1 : Parallel.partsFor(Math.max(m / MR, n / NR), 1);
        if (parts <= 1) {
            blocked(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi);
            return;
        }
        // split the longer side of C into MR/NR-aligned ranges
        boolean splitRows = (m / MR) >= (n / NR);
        int unit = splitRows ? MR : NR;
        int extent = splitRows ? m : n;
        int units = (extent + unit - 1) / unit;
        int p = Math.min(parts, units);
        Parallel.run(p, part -> {
            int from = (int) ((long) units * part / p) * unit;
            int to = Math.min(extent, (int) ((long) units * (part + 1) / p) * unit);
            if (from >= to) {
                return;
            }
            if (splitRows) {
                blocked(transA, transB, from, to, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi);
            } else {
                blocked(transA, transB, 0, m, from, to, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi);
            }
        });
    }

    /**
     * {@link #sgemm} on the calling thread only, with the caller's packing buffers (sized for this product):
     * what an inference plan runs, allocating nothing.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc, Epilogue epilogue, Workspace ws) {
        if (m == 0 || n == 0) {
            return;
        }
        if (m <= SMALL_M && k > 0) {
            smallM(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epilogue, ws.tile);
            return;
        }
        if (k > 0 && (ws.b.length < Math.min(KC, k) * Math.min(NC, (n + NR - 1) / NR * NR))) {
            throw new IllegalArgumentException("sgemm: workspace too small for k=" + k + ", n=" + n);
        }
        blocked(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epilogue, ws);
    }

    private static void blocked(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
                                MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                float beta, MemorySegment c, long cOff, int ldc, Epilogue epi) {
        blocked(transA, transB, m0, m1, n0, n1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, WORKSPACE.get());
    }

    // ---- prepacked operands: what an inference plan runs with its weights packed once ----

    /**
     * Packs {@code A[m, k]} (row-major, leading dimension lda) whole into MR-row slivers for
     * {@link #gemmPackedA}: {@code ap[s * k * MR + p * MR + r]}, rows past m zero.
     */
    public static float[] packA(MemorySegment a, long aOff, int lda, int m, int k) {
        float[] ap = new float[(m + MR - 1) / MR * MR * k];
        packAInto(a, aOff, lda, m, k, ap);
        return ap;
    }

    /** Packs {@code op(A) = A^T} for {@code A [k, m]} (leading dimension lda) like {@link #packA}: e.g. W^T of a convolution. */
    public static float[] packATransposed(MemorySegment a, long aOff, int lda, int m, int k) {
        float[] ap = new float[(m + MR - 1) / MR * MR * k];
        for (int s = 0; s < m; s += MR) {
            packATransposed(a, aOff, lda, s, Math.min(MR, m - s), 0, k, ap, s * k);
        }
        return ap;
    }

    /** Per-thread heap copy of B for {@link #gemmPackedA(int, int, int, float[], MemorySegment, long, int, MemorySegment, long, int, Epilogue)}. */
    private static final ThreadLocal<float[][]> STAGED_B = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * {@link #gemmPackedA} with B {@code [k, n]} in a segment: its rows are staged in a per-thread heap buffer first
     * (k bulk copies). The same kernel and order as {@link #sgemm} for {@code k <= KC}, so the same results.
     */
    public static void gemmPackedA(int m, int n, int k, float[] ap, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc,
                                   Epilogue epi) {
        float[][] holder = STAGED_B.get();
        int need = k * n + NR; // the kernel reads whole slivers past the last row
        if (holder[0].length < need) {
            holder[0] = new float[need];
        }
        float[] staged = holder[0];
        if (ldb == n) {
            MemorySegment.copy(b, FLOAT, bOff << 2, staged, 0, k * n);
        } else {
            for (int p = 0; p < k; p++) {
                MemorySegment.copy(b, FLOAT, (bOff + (long) p * ldb) << 2, staged, p * n, n);
            }
        }
        gemmPackedA(m, n, k, ap, staged, n, c, cOff, ldc, epi == null ? Epilogue.NONE : epi, WORKSPACE.get().tile);
    }

    /** {@link #gemmPackedA(int, int, int, float[], float[], int, MemorySegment, long, int, Epilogue, float[])} with this thread's tile. */
    public static void gemmPackedA(int m, int n, int k, float[] ap, float[] b, int ldb, MemorySegment c, long cOff, int ldc, Epilogue epi) {
        gemmPackedA(m, n, k, ap, b, ldb, c, cOff, ldc, epi == null ? Epilogue.NONE : epi, WORKSPACE.get().tile);
    }

    /** {@link #packA} into a caller's buffer of at least {@code ceil(m / MR) * MR * k} floats (allocates nothing). */
    public static void packAInto(MemorySegment a, long aOff, int lda, int m, int k, float[] ap) {
        for (int s = 0; s < m; s += MR) {
            int rows = Math.min(MR, m - s);
            if (rows < MR) {
                java.util.Arrays.fill(ap, s * k, s * k + k * MR, 0f);
            }
            packARows(a, aOff, lda, s, rows, 0, k, ap, s * k);
        }
    }

    /** Columns of a B stored row-major in a heap array with leading dimension {@code ldb}, padded to whole NR-column slivers. */
    public static int paddedColumns(int n) {
        return (n + NR - 1) / NR * NR;
    }

    /**
     * {@code C[m, n] = A B} (+ epilogue) with A prepacked by {@link #packA} and B in a heap array, row-major with
     * leading dimension {@code ldb >= n}. The kernel reads whole 32-column slivers: past n it reads the next row or,
     * after the last row, up to NR - 1 spare floats the array must have (what it reads there only reaches results
     * that are not stored). One thread, no packing, no allocation; the same micro-kernel and summation order as {@link #sgemm}
     * for {@code k <= KC}.
     */
    public static void gemmPackedA(int m, int n, int k, float[] ap, float[] b, int ldb, MemorySegment c, long cOff, int ldc,
                                   Epilogue epi, float[] tile) {
        if (m == 0 || n == 0) {
            return;
        }
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            boolean first = pc == 0;
            boolean last = pc + kc == k;
            for (int j = 0; j < n; j += NR) {
                int nr = Math.min(NR, n - j);
                for (int i = 0; i < m; i += MR) {
                    kernel(ap, i * k + pc * MR, b, pc * ldb + j, ldb, kc, tile, c, cOff + (long) i * ldc + j, ldc, Math.min(MR, m - i), nr,
                            1f, first ? 0f : 1f, last ? epi : Epilogue.NONE, i, j);
                }
            }
        }
        if (k == 0) {
            scaleOnly(0, m, 0, n, 0f, c, cOff, ldc, epi);
        }
    }

    /**
     * {@code B^T} of a row-major {@code B[n, k]} (a Linear layer's weight) as a heap array {@code [k, paddedColumns(n)]},
     * zero past n: the operand of {@link #gemvPacked} and {@link #gemmPackedA}.
     */
    public static float[] packTransposed(MemorySegment b, long bOff, int ldb, int n, int k) {
        int np = paddedColumns(n);
        float[] t = new float[k * np];
        for (int j = 0; j < n; j++) {
            long row = (bOff + (long) j * ldb) << 2;
            for (int p = 0; p < k; p++) {
                t[p * np + j] = b.get(FLOAT, row + ((long) p << 2));
            }
        }
        return t;
    }

    /**
     * {@code y[0, n) = x[0, k) Bt} (+ epilogue, bias per column) with {@code Bt} from {@link #packTransposed}: a
     * matrix-vector product for batch-1 inference. Each block of 64 outputs keeps eight accumulators (even and
     * odd k), enough independent FMAs to hide their latency.
     */
    public static void gemvPacked(MemorySegment x, long xOff, int n, int k, float[] bt, MemorySegment y, long yOff, Epilogue epi,
                                  float[] tile) {
        int np = paddedColumns(n);
        long xb = xOff << 2;
        for (int j = 0; j < np; j += 2 * NR) {
            if (j + 2 * NR <= np) {
                gemv64(x, xb, k, bt, np, j, tile);
                storeRow(tile, 2 * NR, y, yOff + j, Math.min(2 * NR, n - j), epi, j);
            } else {
                gemv32(x, xb, k, bt, np, j, tile);
                storeRow(tile, NR, y, yOff + j, Math.min(NR, n - j), epi, j);
            }
        }
    }

    private static void gemv64(MemorySegment x, long xb, int k, float[] bt, int np, int j, float[] tile) {
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F), o1 = FloatVector.zero(F), o2 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        int p = 0;
        for (; p + 1 < k; p += 2) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            FloatVector xo = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) (p + 1) << 2)));
            int r = p * np + j;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
            e2 = FloatVector.fromArray(F, bt, r + 2 * LANES).fma(xe, e2);
            e3 = FloatVector.fromArray(F, bt, r + 3 * LANES).fma(xe, e3);
            r += np;
            o0 = FloatVector.fromArray(F, bt, r).fma(xo, o0);
            o1 = FloatVector.fromArray(F, bt, r + LANES).fma(xo, o1);
            o2 = FloatVector.fromArray(F, bt, r + 2 * LANES).fma(xo, o2);
            o3 = FloatVector.fromArray(F, bt, r + 3 * LANES).fma(xo, o3);
        }
        if (p < k) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            int r = p * np + j;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
            e2 = FloatVector.fromArray(F, bt, r + 2 * LANES).fma(xe, e2);
            e3 = FloatVector.fromArray(F, bt, r + 3 * LANES).fma(xe, e3);
        }
        e0.add(o0).intoArray(tile, 0);
        e1.add(o1).intoArray(tile, LANES);
        e2.add(o2).intoArray(tile, 2 * LANES);
        e3.add(o3).intoArray(tile, 3 * LANES);
    }

    private static void gemv32(MemorySegment x, long xb, int k, float[] bt, int np, int j, float[] tile) {
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o0 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        int p = 0;
        for (; p + 1 < k; p += 2) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            FloatVector xo = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) (p + 1) << 2)));
            int r = p * np + j;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
            r += np;
            o0 = FloatVector.fromArray(F, bt, r).fma(xo, o0);
            o1 = FloatVector.fromArray(F, bt, r + LANES).fma(xo, o1);
        }
        if (p < k) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            int r = p * np + j;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
        }
        e0.add(o0).intoArray(tile, 0);
        e1.add(o1).intoArray(tile, LANES);
    }

    /** y[0, cols) = tile[0, cols) + bias (per column) then ReLU, as the epilogue says. */
    private static void storeRow(float[] tile, int width, MemorySegment y, long yElem, int cols, Epilogue epi, int col) {
        for (int h = 0; h < cols; h++) {
            float v = tile[h];
            if (epi.bias() != null) {
                v += epi.bias().get(FLOAT, (epi.biasOff() + col + h) << 2);
            }
            if (epi.relu() && v < 0f) {
                v = 0f;
            }
            y.set(FLOAT, (yElem + h) << 2, v);
        }
    }

    /** The five BLIS loops over rows [m0, m1) and columns [n0, n1) of C, on one thread. */
    private static void blocked(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
                                MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                float beta, MemorySegment c, long cOff, int ldc, Epilogue epi, Workspace ws) {
        if (k == 0) {
            scaleOnly(m0, m1, n0, n1, beta, c, cOff, ldc, epi);
            return;
        }
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(transB, b, bOff, ldb, pc, kc, jc, nc, ws.b, ws.row);
                boolean first = pc == 0;
                boolean last = pc + kc == k;
                for (int ic = m0; ic < m1; ic += MC) {
                    int mc = Math.min(MC, m1 - ic);
                    packA(transA, a, aOff, lda, ic, mc, pc, kc, ws.a);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            kernel(ws.a, ir * kc, ws.b, jr * kc, NR, kc, ws.tile, c, cOff + (long) (ic + ir) * ldc + jc + jr, ldc, mr, nr,
                                    alpha, first ? beta : 1f, last ? epi : Epilogue.NONE, ic + ir, jc + jr);
                        }
                    }
                }
            }
        }
    }

    /** op(A)[ic.., pc..] -> slivers of MR rows: ap[sliver * kc * MR + p * MR + r], zero-padded past m. */
    private static void packA(boolean transA, MemorySegment a, long aOff, int lda, int ic, int mc, int pc, int kc, float[] ap) {
        for (int s = 0; s < mc; s += MR) {
            int rows = Math.min(MR, mc - s);
            if (rows < MR) {
                java.util.Arrays.fill(ap, s * kc, s * kc + kc * MR, 0f);
            }
            if (transA) {
                packATransposed(a, aOff, lda, ic + s, rows, pc, kc, ap, s * kc);
            } else {
                packARows(a, aOff, lda, ic + s, rows, pc, kc, ap, s * kc);
            }
        }
    }

    private static void packARows(MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base) {
        for (int r = 0; r < rows; r++) {
            long rowByte = (aOff + (long) (row + r) * lda + pc) << 2;
            for (int p = 0; p < kc; p++) {
                ap[base + p * MR + r] = a.get(FLOAT, rowByte + ((long) p << 2));
            }
        }
    }

    private static void packATransposed(MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base) {
        for (int p = 0; p < kc; p++) {
            long colByte = (aOff + (long) (pc + p) * lda + row) << 2;
            for (int r = 0; r < rows; r++) {
                ap[base + p * MR + r] = a.get(FLOAT, colByte + ((long) r << 2));
            }
        }
    }

    /**
     * op(B)[pc.., jc..] -> slivers of NR columns: bp[sliver * kc * NR + p * NR + j], zero-padded past n. Full and
     * partial slivers, plain and transposed B each have their own straight loop: one method mixing them
     * recompiled over and over on uncommon traps (measured: 33 instead of 180 GFLOP/s at 64x120x400).
     */
    private static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int pc, int kc, int jc, int nc, float[] bp, float[] row) {
        for (int s = 0; s < nc; s += NR) {
            int cols = Math.min(NR, nc - s);
            if (transB) {
                packBTransposed(b, bOff, ldb, pc, kc, jc + s, cols, bp, s * kc, row);
            } else if (cols == NR) {
                packBFull(b, bOff, ldb, pc, kc, jc + s, bp, s * kc);
            } else {
                packBEdge(b, bOff, ldb, pc, kc, jc + s, cols, bp, s * kc);
            }
        }
    }

    private static void packBFull(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, float[] bp, int base) {
        for (int p = 0; p < kc; p++) {
            long rowByte = (bOff + (long) (pc + p) * ldb + col) << 2;
            int dst = base + p * NR;
            FloatVector.fromMemorySegment(F, b, rowByte, ORDER).intoArray(bp, dst);
            FloatVector.fromMemorySegment(F, b, rowByte + ((long) LANES << 2), ORDER).intoArray(bp, dst + LANES);
        }
    }

    private static void packBEdge(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, int cols, float[] bp, int base) {
        java.util.Arrays.fill(bp, base, base + kc * NR, 0f);
        for (int p = 0; p < kc; p++) {
            MemorySegment.copy(b, FLOAT, (bOff + (long) (pc + p) * ldb + col) << 2, bp, base + p * NR, cols);
        }
    }

    /**
     * Each column of the sliver is a contiguous run of B^T: one bulk copy into {@code row} (kc <= KC floats), then
     * array-to-array stores with stride NR. Reading the segment element by element cost a bounds and liveness check
     * per float and made this the hottest method of LeNet training (the convolution weight gradient).
     */
    private static void packBTransposed(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, int cols, float[] bp, int base, float[] row) {
        if (cols < NR) {
            java.util.Arrays.fill(bp, base, base + kc * NR, 0f);
        }
        for (int j = 0; j < cols; j++) {
            MemorySegment.copy(b, FLOAT, (bOff + (long) (col + j) * ldb + pc) << 2, row, 0, kc);
            for (int p = 0; p < kc; p++) {
                bp[base + p * NR + j] = row[p];
            }
        }
    }

    /**
     * The 8 x 32 register tile: C[0..mr, 0..nr] = alpha * sum_p A[r, p] B[p, j] + beta * C (beta 0: C ignored),
     * then the epilogue.
     */
    private static void kernel(float[] ap, int aBase, float[] bp, int bBase, int ldb, int kc, float[] tile, MemorySegment c, long cElem, int ldc,
                               int mr, int nr, float alpha, float beta, Epilogue epi, int row, int col) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * ldb;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
            int ai = aBase + p * MR;
            FloatVector a0 = FloatVector.broadcast(F, ap[ai]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(F, ap[ai + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(F, ap[ai + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(F, ap[ai + 6]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(F, ap[ai + 7]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
        }
        // The tile goes through a small array: passing 16 vectors to a store helper that C2 does not inline
        // would box them (measured: 15 vs 100+ GFLOP/s); the copy costs 32 vector moves per 16 * kc FMAs.
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + LANES);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + LANES);
        writeTile(tile, c, cElem, ldc, mr, nr, alpha, beta, epi, row, col);
    }

    /**
     * C[0..mr, 0..nr] = alpha * tile + beta * C (+ bias, ReLU): full vectors where 16 columns remain, scalars for
     * the right edge. (Masked segment accesses whose full width would cross the segment's end take the Vector
     * API's slow path; measured: a 64x120x400 product fell from 180 to 33 GFLOP/s.)
     */
    private static void writeTile(float[] tile, MemorySegment c, long cElem, int ldc, int mr, int nr,
                                  float alpha, float beta, Epilogue epi, int row, int col) {
        for (int r = 0; r < mr; r++) {
            long rowElem = cElem + (long) r * ldc;
            int h = 0;
            for (; h + LANES <= nr; h += LANES) {
                long off = (rowElem + h) << 2;
                FloatVector v = FloatVector.fromArray(F, tile, r * NR + h);
                if (alpha != 1f) {
                    v = v.mul(alpha);
                }
                if (beta != 0f) {
                    FloatVector old = FloatVector.fromMemorySegment(F, c, off, ORDER);
                    v = beta == 1f ? v.add(old) : old.mul(beta).add(v);
                }
                if (epi.bias() != null) {
                    v = epi.biasPerRow()
                            ? v.add(epi.bias().get(FLOAT, (epi.biasOff() + row + r) << 2))
                            : v.add(FloatVector.fromMemorySegment(F, epi.bias(), (epi.biasOff() + col + h) << 2, ORDER));
                }
                if (epi.relu()) {
                    v = v.blend(0f, v.compare(VectorOperators.LT, 0f));
                }
                v.intoMemorySegment(c, off, ORDER);
            }
            for (; h < nr; h++) {
                long off = (rowElem + h) << 2;
                float v = tile[r * NR + h] * alpha;
                if (beta != 0f) {
                    v += beta == 1f ? c.get(FLOAT, off) : beta * c.get(FLOAT, off);
                }
                if (epi.bias() != null) {
                    v += epi.bias().get(FLOAT, (epi.biasOff() + (epi.biasPerRow() ? row + r : col + h)) << 2);
                }
                if (epi.relu() && v < 0f) {
                    v = 0f;
                }
                c.set(FLOAT, off, v);
            }
        }
    }

    /**
     * Few rows of C without packing: with B transposed (a Linear layer's weight) each C element is a dot product of
     * two contiguous rows; otherwise each C row accumulates rows of B scaled by A's elements, 16 columns at a time.
     */
    private static void smallM(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                               MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc, Epilogue epi,
                               float[] lanes) {
        for (int i = 0; i < m; i++) {
            if (transB) {
                for (int j = 0; j < n; j++) {
                    float dot = transA ? dotStrided(a, aOff + i, lda, b, bOff + (long) j * ldb, k) : dot(a, aOff + (long) i * lda, b, bOff + (long) j * ldb, k);
                    finish(c, cOff + (long) i * ldc + j, dot, alpha, beta, epi, i, j);
                }
            } else {
                int j = 0;
                for (; j + LANES <= n; j += LANES) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int p = 0; p < k; p++) {
                        float av = a.get(FLOAT, (aOff + (transA ? (long) p * lda + i : (long) i * lda + p)) << 2);
                        acc = FloatVector.fromMemorySegment(F, b, (bOff + (long) p * ldb + j) << 2, ORDER).fma(FloatVector.broadcast(F, av), acc);
                    }
                    acc.intoArray(lanes, 0);
                    for (int l = 0; l < LANES; l++) {
                        finish(c, cOff + (long) i * ldc + j + l, lanes[l], alpha, beta, epi, i, j + l);
                    }
                }
                for (; j < n; j++) {
                    float s = 0f;
                    for (int p = 0; p < k; p++) {
                        float av = a.get(FLOAT, (aOff + (transA ? (long) p * lda + i : (long) i * lda + p)) << 2);
                        s = Math.fma(av, b.get(FLOAT, (bOff + (long) p * ldb + j) << 2), s);
                    }
                    finish(c, cOff + (long) i * ldc + j, s, alpha, beta, epi, i, j);
                }
            }
        }
    }

    /**
     * {@code C = alpha A B^T + beta C} as dot products of contiguous rows, four rows of A against four rows of B at
     * a time (16 vector accumulators, 8 loads per 16 FMAs), no packing. For a convolution's weight gradient
     * (6 or 16 rows of gout against 25 or 150 column rows of 100-784 floats) this replaces a transposed packing of
     * B that cost a strided scalar store per element, the hottest method of LeNet training before it.
     */
    private static void gemmNT(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                               float beta, MemorySegment c, long cOff, int ldc, Epilogue epi, float[] tile) {
        for (int i0 = 0; i0 < m; i0 += 4) {
            int rows = Math.min(4, m - i0);
            for (int j0 = 0; j0 < n; j0 += 4) {
                int cols = Math.min(4, n - j0);
                if (rows == 4 && cols == 4) {
                    dot4x4(a, aOff + (long) i0 * lda, lda, b, bOff + (long) j0 * ldb, ldb, k, tile);
                } else {
                    for (int r = 0; r < rows; r++) {
                        for (int q = 0; q < cols; q++) {
                            tile[r * 4 + q] = dot(a, aOff + (long) (i0 + r) * lda, b, bOff + (long) (j0 + q) * ldb, k);
                        }
                    }
                }
                for (int r = 0; r < rows; r++) {
                    for (int q = 0; q < cols; q++) {
                        finish(c, cOff + (long) (i0 + r) * ldc + j0 + q, tile[r * 4 + q], alpha, beta, epi, i0 + r, j0 + q);
                    }
                }
            }
        }
    }

    /** tile[r * 4 + q] = dot(A row r, B row q) for four rows each (tile: at least 16 * LANES floats); vector part summed with sumLanes, then the tail. */
    private static void dot4x4(MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, int k, float[] tile) {
        long a0 = aOff << 2;
        long a1 = (aOff + lda) << 2;
        long a2 = (aOff + 2L * lda) << 2;
        long a3 = (aOff + 3L * lda) << 2;
        long b0 = bOff << 2;
        long b1 = (bOff + ldb) << 2;
        long b2 = (bOff + 2L * ldb) << 2;
        long b3 = (bOff + 3L * ldb) << 2;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c02 = FloatVector.zero(F), c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F), c12 = FloatVector.zero(F), c13 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c22 = FloatVector.zero(F), c23 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F), c32 = FloatVector.zero(F), c33 = FloatVector.zero(F);
        int p = 0;
        for (; p + LANES <= k; p += LANES) {
            long o = (long) p << 2;
            FloatVector x0 = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            FloatVector x1 = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            FloatVector x2 = FloatVector.fromMemorySegment(F, a, a2 + o, ORDER);
            FloatVector x3 = FloatVector.fromMemorySegment(F, a, a3 + o, ORDER);
            FloatVector y0 = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            FloatVector y1 = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            FloatVector y2 = FloatVector.fromMemorySegment(F, b, b2 + o, ORDER);
            FloatVector y3 = FloatVector.fromMemorySegment(F, b, b3 + o, ORDER);
            c00 = x0.fma(y0, c00);
            c01 = x0.fma(y1, c01);
            c02 = x0.fma(y2, c02);
            c03 = x0.fma(y3, c03);
            c10 = x1.fma(y0, c10);
            c11 = x1.fma(y1, c11);
            c12 = x1.fma(y2, c12);
            c13 = x1.fma(y3, c13);
            c20 = x2.fma(y0, c20);
            c21 = x2.fma(y1, c21);
            c22 = x2.fma(y2, c22);
            c23 = x2.fma(y3, c23);
            c30 = x3.fma(y0, c30);
            c31 = x3.fma(y1, c31);
            c32 = x3.fma(y2, c32);
            c33 = x3.fma(y3, c33);
        }
        // parked in the tile and folded by a small method: calling sumLanes 16 times from this large method kept
        // it from being inlined and boxed every accumulator (measured 10x slower at k = 100)
        c00.intoArray(tile, 0 * LANES);
        c01.intoArray(tile, 1 * LANES);
        c02.intoArray(tile, 2 * LANES);
        c03.intoArray(tile, 3 * LANES);
        c10.intoArray(tile, 4 * LANES);
        c11.intoArray(tile, 5 * LANES);
        c12.intoArray(tile, 6 * LANES);
        c13.intoArray(tile, 7 * LANES);
        c20.intoArray(tile, 8 * LANES);
        c21.intoArray(tile, 9 * LANES);
        c22.intoArray(tile, 10 * LANES);
        c23.intoArray(tile, 11 * LANES);
        c30.intoArray(tile, 12 * LANES);
        c31.intoArray(tile, 13 * LANES);
        c32.intoArray(tile, 14 * LANES);
        c33.intoArray(tile, 15 * LANES);
        foldLanes(tile);
        if (p < k) {
            // in its own method: a scalar loop in this one made C2 compile the vector loop badly (10x slower at k = 100)
            tail4x4(a, a0, a1, a2, a3, b, b0, b1, b2, b3, p, k, tile);
        }
    }

    /** tile[r] = sumLanes(tile[r * LANES .. (r + 1) * LANES)) for r = 0..15, in place (row r is read before slot r is written). */
    private static void foldLanes(float[] tile) {
        for (int r = 0; r < 16; r++) {
            tile[r] = Simd.sumLanes(FloatVector.fromArray(F, tile, r * LANES));
        }
    }

    private static void tail4x4(MemorySegment a, long a0, long a1, long a2, long a3, MemorySegment b, long b0, long b1, long b2, long b3,
                                int from, int k, float[] tile) {
        for (int p = from; p < k; p++) {
            long o = (long) p << 2;
            float x0 = a.get(FLOAT, a0 + o);
            float x1 = a.get(FLOAT, a1 + o);
            float x2 = a.get(FLOAT, a2 + o);
            float x3 = a.get(FLOAT, a3 + o);
            float y0 = b.get(FLOAT, b0 + o);
            float y1 = b.get(FLOAT, b1 + o);
            float y2 = b.get(FLOAT, b2 + o);
            float y3 = b.get(FLOAT, b3 + o);
            tile[0] = Math.fma(x0, y0, tile[0]);
            tile[1] = Math.fma(x0, y1, tile[1]);
            tile[2] = Math.fma(x0, y2, tile[2]);
            tile[3] = Math.fma(x0, y3, tile[3]);
            tile[4] = Math.fma(x1, y0, tile[4]);
            tile[5] = Math.fma(x1, y1, tile[5]);
            tile[6] = Math.fma(x1, y2, tile[6]);
            tile[7] = Math.fma(x1, y3, tile[7]);
            tile[8] = Math.fma(x2, y0, tile[8]);
            tile[9] = Math.fma(x2, y1, tile[9]);
            tile[10] = Math.fma(x2, y2, tile[10]);
            tile[11] = Math.fma(x2, y3, tile[11]);
            tile[12] = Math.fma(x3, y0, tile[12]);
            tile[13] = Math.fma(x3, y1, tile[13]);
            tile[14] = Math.fma(x3, y2, tile[14]);
            tile[15] = Math.fma(x3, y3, tile[15]);
        }
    }

    /** Contiguous dot product of k floats, two vector accumulators summed in a fixed order. */
    private static float dot(MemorySegment x, long xOff, MemorySegment y, long yOff, int k) {
        long xb = xOff << 2;
        long yb = yOff << 2;
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        int p = 0;
        for (; p + 2 * LANES <= k; p += 2 * LANES) {
            long o = (long) p << 2;
            s0 = FloatVector.fromMemorySegment(F, x, xb + o, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o, ORDER), s0);
            s1 = FloatVector.fromMemorySegment(F, x, xb + o + VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + VBYTES, ORDER), s1);
        }
        for (; p + LANES <= k; p += LANES) {
            long o = (long) p << 2;
            s0 = FloatVector.fromMemorySegment(F, x, xb + o, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o, ORDER), s0);
        }
        float s = Simd.sumLanes(s0.add(s1));
        for (; p < k; p++) {
            s = Math.fma(x.get(FLOAT, xb + ((long) p << 2)), y.get(FLOAT, yb + ((long) p << 2)), s);
        }
        return s;
    }

    /** Dot product of a strided column of A (transposed A) with a contiguous row of B. */
    private static float dotStrided(MemorySegment x, long xOff, int stride, MemorySegment y, long yOff, int k) {
        float s = 0f;
        for (int p = 0; p < k; p++) {
            s = Math.fma(x.get(FLOAT, (xOff + (long) p * stride) << 2), y.get(FLOAT, (yOff + p) << 2), s);
        }
        return s;
    }

    /** C[i, j] = alpha * v + beta * C[i, j] (+ bias, ReLU). */
    private static void finish(MemorySegment c, long elem, float v, float alpha, float beta, Epilogue epi, int i, int j) {
        long off = elem << 2;
        v *= alpha;
        if (beta != 0f) {
            v += beta == 1f ? c.get(FLOAT, off) : beta * c.get(FLOAT, off);
        }
        if (epi.bias() != null) {
            v += epi.bias().get(FLOAT, (epi.biasOff() + (epi.biasPerRow() ? i : j)) << 2);
        }
        if (epi.relu() && v < 0f) {
            v = 0f;
        }
        c.set(FLOAT, off, v);
    }

    /** k == 0: C = beta * C, then the epilogue. */
    private static void scaleOnly(int m0, int m1, int n0, int n1, float beta, MemorySegment c, long cOff, int ldc, Epilogue epi) {
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                long off = (cOff + (long) i * ldc + j) << 2;
                float v = beta == 0f ? 0f : beta * c.get(FLOAT, off);
                if (epi.bias() != null) {
                    v += epi.bias().get(FLOAT, (epi.biasOff() + (epi.biasPerRow() ? i : j)) << 2);
                }
                if (epi.relu() && v < 0) {
                    v = 0f;
                }
                c.set(FLOAT, off, v);
            }
        }
    }
}
