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
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-major single-precision GEMM, {@code C = alpha * op(A) op(B) + beta * C}, in the GotoBLAS/BLIS shape:
 * <ul>
 *   <li>op(B) is packed up to {@link #K_BLOCKS_PACKED} x {@link #KC} x {@link #NC} at a time into slivers of {@link #NR} columns, op(A)
 *       up to {@link #K_BLOCKS_PACKED} x {@link #MC} x {@link #KC} at a time into slivers of {@link #MR} rows, both into per-thread {@code float[]}
 *       (VECTOR-NOTES.md: scalar reads of packed A through a segment keep bounds checks in the inner loop);
 *       transposes and leading dimensions are absorbed by the packing;</li>
 *   <li>an {@code MR x NR} micro-kernel ({@link #TILE}: 8 x 2 vectors with 32 vector registers, 6 x 2 with 16) keeps
 *       its accumulators in registers and writes C straight into its segment (scalar at the right edge, rows cut at
 *       the bottom edge);</li>
 *   <li>threads split C into disjoint row (or column) ranges, each running the same blocked loops, so every
 *       element is summed in the same order for any thread count;</li>
 *   <li>an optional {@link Epilogue} adds a bias (per column or per row) and applies an activation (ReLU, GELU, ...) as C is written.</li>
 * </ul>
 */
public final class Sgemm {
    /**
     * The register tile, MR rows x NR columns (two vectors), chosen from the register count: with 32 vector registers
     * (AVX-512, NEON) 8 x 2 vectors (16 accumulators + 2 B vectors + the A broadcasts); with 16 (AVX2, SSE) 6 x 2 (12
     * accumulators). {@code -Dlanes.gemmTile=8x2|6x2} overrides it for measurements. (4 x 2 was the 16-register tile
     * while the loops multiplied indices: 6 x 2 spilled then; with additions it fits and is faster, 92.8 against 88.5
     * GFLOP/s at 256 bits, 1024^3.) Every product reads B from packed slivers (constant strides: no bounds checks or
     * index products in the loop; a kernel for B of any row stride ran at 29 against 51 GFLOP/s on Zen 3 and is gone),
     * with A packed ({@code kernel*Packed}), row-major ({@code kernel*RowsA}). The tile does not change any result:
     * every element of C is one FMA chain per KC block.
     */
    static final String TILE = tile();
    private static final int TILE_KIND = switch (TILE) {
        case "8x2" -> 0;
        case "6x2" -> 1;
        default -> throw new IllegalArgumentException("lanes.gemmTile must be 8x2 or 6x2, got " + TILE);
    };
    public static final int MR = Integer.parseInt(TILE.substring(0, 1));
    public static final int NR = 2 * LANES;
    /**
     * Depth of one packed block. Every pass over K / KC blocks re-reads and re-writes C (since K_BLOCKS_PACKED, two
     * passes at a time per L2-resident block of C), and those C tiles come from L3 at a row stride the hardware
     * prefetcher does not follow (Java has no prefetch instruction), so fewer, deeper blocks win: 512 against 256 was 15-25% faster on Zen 3 at 256 bits (1024^3, one thread: median 48.2 vs
     * 41.1 GFLOP/s, interleaved in one JVM), although the B sliver (512 x NR floats: 32 KB at 8 lanes) no longer
     * leaves L1 room for much else. A constant, never derived from the width: the blocks fix the order of the
     * additions, so the same KC everywhere gives the same bits everywhere.
     */
    public static final int KC = 512;
    /**
     * Rows of A packed per block: a whole number of MR slivers near 144 (the A block, 144 x KC floats = 288 KB, stays in
     * L2; 144 against 96 was ~5% faster on Zen 3, 96..288 all within 10%).
     */
    public static final int MC = MR * Math.max(1, 144 / MR);
    /** Columns of B packed per block: KC x NC floats (2 MB) per depth block; 1024 and 2048 measured alike. */
    public static final int NC = 1024;
    /**
     * Depth blocks of B and of A packed at once (a workspace of K_BLOCKS_PACKED x KC x NC floats of B, 4 MB, and
     * K_BLOCKS_PACKED x MC x KC of A). The loops run {@code jc -> (pack these blocks of B) -> ic -> (pack these blocks of
     * A) -> jr -> ir -> pc} (with {@link #ROWS_FIRST}, at 16 lanes: {@code ... -> columns of B -> ir -> jr -> pc}): each
     * tile of C takes its depth blocks back to back, so C's tile is written while it is in L1 (or, for whole tiles, once:
     * {@link #writeWholeTilePair}). Packing one depth block at a time sent every pass over the whole of C, which came back
     * from L3 or memory at a stride the prefetchers do not follow. Measured (AMD EPYC Zen 4, 1024^3, one thread): blocks of
     * B two at a time, 256 bits 95 -> 99 GFLOP/s, 512 bits 101 -> 103-105; then the tile-by-tile order (stop 33) ~1% more
     * at 256 bits; since stop 40 a pair's first blocks of one column sliver run for all its tiles before the second blocks
     * (each B sliver's tiles back to back). Every element of C still takes its depth blocks in order: the same bits.
     */
    static final int K_BLOCKS_PACKED = 2;
    /** The B sliver size above which {@link #ROWS_FIRST} applies: a sliver of 32 KB or less stays in L1 while its tiles take it. */
    static final int L1_SLIVER_BYTES = 32 * 1024;
    /**
     * Whether a blocked product's whole tile pairs run A sliver by A sliver ({@link #blockedLoops}): where a B sliver of
     * KC x NR floats is over 32 KB (64 KB at 16 lanes), it cannot stay in a core's L1 (32-48 KB) while its tiles take
     * it, so each tile read both its slivers from L2. Sliver by sliver of A instead, the A slivers of a tile row (24 KB a
     * depth block at 12 rows) serve {@link #ROWS_FIRST_COLUMNS} columns of B, whose slivers (both depth blocks: 512 KB)
     * stay in L2 for the whole A block. Measured (Intel Xeon, SPR-class, 512 bits, 1024^3, one thread, 9 rounds
     * alternated in two JVMs): 1.038x the GFLOP/s (128 columns; 64: 1.010x, 192: 1.024x, 256: 1.028x, all 1,024:
     * 0.83x, B's block then leaving L2); at 256 bits with 6-row tiles, whose 32 KB B sliver stays in L1, it was slower
     * (0.95x at 128 columns), so there the B sliver stays the one that serves its tiles back to back. The order of
     * tiles changes no sum: the same bits.
     */
    static final boolean ROWS_FIRST = (long) KC * NR * Float.BYTES > L1_SLIVER_BYTES;
    /**
     * Columns of B a sweep of A slivers covers when {@link #ROWS_FIRST}: both depth blocks' slivers, 2 x KC x 128 floats,
     * in L2; a whole number of slivers at any lane count (the sweep's tiles start at its first column).
     */
    static final int ROWS_FIRST_COLUMNS = Math.max(1, 128 / NR) * NR;

    /**
     * Rows of the register tile in the blocked product ({@link #blocked}, the large products' path): 12 with 32 vector
     * registers (12 x 2 vectors, {@link #kernel12x2Packed}: 24 accumulators, 2 B vectors and a broadcast, 27 of 32
     * registers; per step of p 2 vector loads and 12 broadcasts for 24 FMAs, against 8 for 16), else {@link #MR};
     * {@code -Dlanes.gemmBlockRows=12} or {@code =MR} forces either. Measured (Intel Xeon, SPR-class, 512 bits, one
     * thread, 1024^3, alternated with OpenBLAS's SkylakeX kernel): 0.87x with 8 rows, 0.95-0.97x with 12. A kernel that
     * only the blocked product calls turns hot late in a training step's warm-up, and in about one fresh JVM in fifteen
     * C2 compiles it with its accumulators boxed (CI's heap probe, LeNet's compiled step: 7-8 MB of heap a step, for
     * good): {@link TileGuard} watches for that and turns the 12-row tiles off in that JVM. The other paths (the
     * convolutions' taps, row-major A, the prepacked weights) keep MR either way. The tile shape does not change any
     * result: every element is one FMA chain per KC block.
     */
    static final int BLOCK_ROWS = blockRows();
    /** Whether {@code -Dlanes.gemmBlockRows} chose BLOCK_ROWS (then a guard without a meter leaves it as it is). */
    static final boolean BLOCK_ROWS_FORCED = !System.getProperty("lanes.gemmBlockRows", "").isBlank();

    private static int blockRows() {
        if (MC % 12 != 0) { // packA's slivers must not cross a block of MC rows, whichever rows a tile takes
            throw new IllegalStateException("Sgemm: MC " + MC + " must be a multiple of 12 and of MR " + MR);
        }
        String forced = System.getProperty("lanes.gemmBlockRows");
        if (forced != null && !forced.isBlank()) {
            int r = Integer.parseInt(forced.trim());
            if (r != 12 && r != MR) {
                throw new IllegalArgumentException("lanes.gemmBlockRows must be 12 or " + MR + ", got " + forced);
            }
            return r;
        }
        // 12 x 2 vectors need 27 of 32 registers: with 16 (MR 6) they would spill; and only where TileGuard may watch
        // them (with jdk.management: a JVM that cannot count a thread's allocations trips it at its first sample)
        return MR == 8 && TileGuard.AVAILABLE ? 12 : MR;
    }

    /**
     * The tile rows for a blocked product over {@code m} rows: {@link #BLOCK_ROWS} unless its padded rows exceed the
     * MR-row tiles' by more than 4%. Measured (Xeon, 512 bits, one thread, GFLOP/s, 12 against 8 rows): 1024^3 137-142
     * against 133-134, 512^3 145-147 against 142-143, 96 x 512 x 512 126-132 against 123-125, but 64 x 120 x 400
     * (72 rows padded against 64) 99-101 against 110-111.
     */
    static int blockRowsFor(int m) {
        return blockRowsFor(m, TileGuard.tripped() ? MR : BLOCK_ROWS);
    }

    /** {@link #blockRowsFor(int)} for a given tile height. */
    static int blockRowsFor(int m, int blockRows) {
        if (blockRows == MR) {
            return MR;
        }
        long padded = (m + blockRows - 1) / blockRows * (long) blockRows;
        long paddedMr = (m + MR - 1) / MR * (long) MR;
        return padded * 25 <= paddedMr * 26 ? blockRows : MR;
    }
    /** A B^T products with at most this many rows and rows of at least NT_MIN_K run as dot products ({@link #gemmNT}). */
    static final int NT_MAX_M = 16;
    static final int NT_MIN_K = 256; // below, the per-block folds cost more than packing (LeNet conv2, k = 100: 16.9 vs 7.1 us)
    /** Where the 4 x 4 dot-product block parks its accumulators in the scratch (its 16 results go to [0, 16)). */
    private static final int DOT_PARK = 16;
    /** Products with at most this many rows skip packing (see {@link #smallM}). */
    static final int SMALL_M = 4;
    /**
     * Floats of per-call scratch a caller hands to the kernels that take a {@code tile}: the micro-tile (MR x NR),
     * the 4 x 4 dot-product block's accumulators (16 vectors), a GEMV block (2 NR). Derived from the lane count,
     * never a literal: at 8 or 4 lanes each of these is smaller than at 16.
     */
    public static final int SCRATCH_FLOATS = Math.max(Math.max(MR, BLOCK_ROWS) * NR + LANES, DOT_PARK + 16 * 16); // + LANES: a masked tail read from column t0 > 0 of the last row

    /** Below this many multiply-adds the call stays on the calling thread (measured: 128^3 and 64x120x400 ran slower on 2). */
    static final long PARALLEL_MIN_FLOPS = 1L << 24;

    /**
     * Bias and activation fused into the last write of C. The activation is any {@link UnaryOp#isActivation()} op
     * ({@code IDENTITY} for none): ReLU is applied to each vector before its store; the others run over each
     * finished row of the tile with {@link Elementwise#unaryContiguous}'s own loops, so the fused result has the
     * same bits as the unfused op.
     */
    public record Epilogue(MemorySegment bias, long biasOff, boolean biasPerRow, UnaryOp activation, float p, float q) {
        public static final Epilogue NONE = new Epilogue(null, 0, false, UnaryOp.IDENTITY);

        private static final Epilogue[] ACTIVATION_ONLY = new Epilogue[UnaryOp.values().length];

        static {
            for (UnaryOp op : UnaryOp.values()) {
                if (op == UnaryOp.IDENTITY || op.isActivation()) {
                    ACTIVATION_ONLY[op.ordinal()] = op == UnaryOp.IDENTITY ? NONE : new Epilogue(null, 0, false, op);
                }
            }
        }

        public Epilogue {
            if (activation != UnaryOp.IDENTITY && !activation.isActivation()) {
                throw new IllegalArgumentException(activation + " is not an activation a GEMM epilogue can apply");
            }
        }

        /** An activation without parameters (p = q = 0). */
        public Epilogue(MemorySegment bias, long biasOff, boolean biasPerRow, UnaryOp activation) {
            this(bias, biasOff, biasPerRow, activation, 0f, 0f);
        }

        public static Epilogue columnBias(MemorySegment bias, long off, UnaryOp activation) {
            return new Epilogue(bias, off, false, activation);
        }

        /** A bias per column, then the activation with parameters p, q (leaky_relu's slope, hardtanh's bounds, ...). */
        public static Epilogue columnBias(MemorySegment bias, long off, UnaryOp activation, float p, float q) {
            return new Epilogue(bias, off, false, activation, p, q);
        }

        public static Epilogue rowBias(MemorySegment bias, long off, UnaryOp activation) {
            return new Epilogue(bias, off, true, activation);
        }

        public static Epilogue rowBias(MemorySegment bias, long off, UnaryOp activation, float p, float q) {
            return new Epilogue(bias, off, true, activation, p, q);
        }

        /** Only an activation, no bias: one shared instance per activation (plans ask on every run). */
        public static Epilogue activation(UnaryOp activation) {
            Epilogue e = ACTIVATION_ONLY[activation.ordinal()];
            return e != null ? e : new Epilogue(null, 0, false, activation);
        }

        /** Only an activation with parameters p, q: shared as {@link #activation(UnaryOp)} where both are 0, else a new record. */
        public static Epilogue activation(UnaryOp activation, float p, float q) {
            return p == 0f && q == 0f ? activation(activation) : new Epilogue(null, 0, false, activation, p, q);
        }

        /** Whether this epilogue applies {@code op} with parameters p, q (bit for bit: -0 is not 0, as the kernels see them). */
        public boolean applies(UnaryOp op, float p, float q) {
            return activation == op && Float.floatToRawIntBits(this.p) == Float.floatToRawIntBits(p)
                    && Float.floatToRawIntBits(this.q) == Float.floatToRawIntBits(q);
        }

        boolean isNone() {
            return bias == null && activation == UnaryOp.IDENTITY;
        }

        boolean relu() {
            return activation == UnaryOp.RELU;
        }

        /** An activation other than ReLU: applied per finished row. */
        boolean rowActivation() {
            return activation != UnaryOp.IDENTITY && activation != UnaryOp.RELU;
        }

        /** The scalar epilogue activation (the same bits as the row loops). */
        float activate(float v) {
            return activation == UnaryOp.IDENTITY ? v : activation.apply(v, p, q);
        }
    }

    /**
     * The packing buffers of one thread: the engine keeps one per thread; an inference plan gives each of its
     * execution contexts its own, sized for the largest product it runs, so no scratch is shared between callers.
     */
    public static final class Workspace {
        final float[] a;
        /** Packed B: sized up front for a bounded workspace; for an unbounded one, made at its first packed product. */
        private float[] b;
        /** Whether {@link #b} is made on demand: a thread's own workspace, which any product may use. */
        private final boolean grows;
        final float[] tile = new float[SCRATCH_FLOATS];
        /** The second depth block's tile where two are summed before C is written ({@link #writeWholeTilePair}). */
        final float[] tile2 = new float[Math.max(MR, BLOCK_ROWS) * NR];
        /**
         * The first depth block's tiles of one column sliver, all rows of the A block ({@link #blockedLoops}' pairs):
         * ir x NR floats in, for tiles of any height. Unused where {@link #ROWS_FIRST} (whose pairs use tile and tile2).
         */
        final float[] pairTiles = new float[MC * NR];
        /** A 12-row sliver's two parts before {@link #packSliver12} interleaves them (only where BLOCK_ROWS is 12). */
        final float[] split = new float[BLOCK_ROWS == 12 ? 12 * KC : 0];
        /** A block of a transposed B (NR columns x KC / NR steps), staged by {@link #packBTransposed}. */
        final float[] row = new float[KC];

        /**
         * Buffers for any product. Its packed-B buffer (K_BLOCKS_PACKED x KC x NC floats, 4 MB) is made whole at the
         * first product that packs B, and never again: a thread whose products all take the unpacked paths (a few rows,
         * dot products) holds none, and a compiled step's parts, which land on any worker, never allocate after that
         * (growing to each product's need instead could allocate in the thousandth step, on the worker that first
         * drew a larger part).
         */
        public Workspace() {
            a = new float[K_BLOCKS_PACKED * MC * KC];
            b = new float[0];
            grows = true;
        }

        /** Buffers for products with inner dimension at most {@code maxK} and at most {@code maxN} columns, allocated now. */
        public Workspace(int maxK, int maxN) {
            int kc = Math.max(1, Math.min(KC, maxK));
            int nc = (int) Math.max(NR, Math.min(NC, ((long) maxN + NR - 1) / NR * NR));
            int blocks = (int) Math.max(1, Math.min(K_BLOCKS_PACKED, ((long) maxK + KC - 1) / KC));
            a = new float[blocks * MC * kc];
            b = new float[blocks * kc * nc];
            grows = false;
        }

        /** The packed-B buffer for a product of depth {@code k} whose column blocks are {@code ncPadded} wide. */
        float[] packedB(int k, int ncPadded) {
            if (grows && b.length == 0) {
                b = new float[K_BLOCKS_PACKED * KC * NC];
            }
            return b;
        }

        /** Floats of packed B held now (tests). */
        int packedFloats() {
            return b.length;
        }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = new ThreadLocal<>() {
        @Override
        protected Workspace initialValue() {
            return new Workspace();
        }
    };

    private Sgemm() {
    }

    private static String tile() {
        String forced = System.getProperty("lanes.gemmTile");
        if (forced != null && !forced.isBlank()) {
            return forced.trim();
        }
        return Simd.VECTOR_REGISTERS >= 32 ? "8x2" : "6x2";
    }

    /**
     * {@code C[m, n] = alpha * op(A) op(B) + beta * C}; op(A) is {@code [m, k]}, op(B) {@code [k, n]}.
     * Offsets and leading dimensions are in elements. {@code beta == 0} ignores C's old contents (NaN included).
     * The calling thread's packing buffers; may split C across {@link Parallel}'s workers (eager ops).
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc, Epilogue epilogue) {
        sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epilogue, null, true);
    }

    /**
     * The one dispatcher of every product, eager and plan alike, so both take the same path for the same shape (and
     * give the same bits): a few rows without packing ({@link #smallM}), A B^T with few long rows as dot products
     * ({@link #gemmNT}), else the blocked BLIS loops, split across threads when {@code parallel} and the product is
     * large enough.
     *
     * @param ws       the packing buffers of the calling thread's part; null: this thread's own (sized for any
     *                 product). An inference plan passes its execution context's, sized for its largest product.
     *                 Worker threads of a split product always use their own.
     * @param parallel whether C may be split across {@link Parallel}'s workers; a plan runs on its caller's thread
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc, Epilogue epilogue, Workspace ws, boolean parallel) {
        if (m == 0 || n == 0) {
            return;
        }
        Epilogue epi = epilogue == null ? Epilogue.NONE : epilogue;
        Workspace own = ws != null ? ws : WORKSPACE.get();
        if (m <= SMALL_M && k > 0) {
            // a few rows (batch-1 inference): packing all of B would cost more than the product itself
            smallM(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, own.tile);
            return;
        }
        long flops = (long) m * n * Math.max(k, 1);
        if (!transA && transB && m <= NT_MAX_M && k >= NT_MIN_K && flops < PARALLEL_MIN_FLOPS) {
            // A B^T with few rows and long rows: a convolution's weight gradient, gout col^T
            gemmNT(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, own.tile);
            return;
        }
        if ((alpha != 1f || (beta != 0f && beta != 1f)) && k > KC) {
            // the blocked loops write C once per depth block: alpha and beta C must see the whole sum, not each part
            scaledOnce(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, own, parallel);
            return;
        }
        if (k > 0 && own.packedB(k, Math.min(NC, (n + NR - 1) / NR * NR)).length < Math.min(KC, k) * Math.min(NC, (n + NR - 1) / NR * NR)) {
            throw new IllegalArgumentException("sgemm: workspace too small for k=" + k + ", n=" + n);
        }
        int parts = !parallel || flops < PARALLEL_MIN_FLOPS ? 1 : Parallel.partsFor(Math.max(m / MR, n / NR), 1);
        if (parts <= 1) {
            blocked(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, own);
            return;
        }
        // split the longer side of C into MR/NR-aligned ranges; each part packs into its own thread's buffers
        boolean splitRows = (m / MR) >= (n / NR);
        int unit = splitRows ? MR : NR;
        int extent = splitRows ? m : n;
        int units = (extent + unit - 1) / unit;
        Split split = Split.MINE.get();
        split.set(transA, transB, splitRows, unit, extent, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi);
        try {
            Parallel.forRange(Math.min(parts, units), units, split);
        } finally {
            split.release();
        }
    }

    /**
     * {@code C = alpha * (A B) + beta * C} (+ epilogue) with alpha applied once to the whole sum, as PyTorch's (BLAS)
     * addmm: the blocked loops add each depth block's partial sum to C as they go, so a scaled product there would be
     * {@code alpha t0 + beta C + alpha t1 + ...}: other rounding, and an overflow (2e38 + -2e38 scaled by 2) the sum
     * itself does not have. The product runs unscaled through {@link #sgemm} (the same path and bits as an alpha-1
     * product of this shape), into C when beta is 0 (C's old value is not needed), else into a scratch buffer; then
     * every element is finished as the single-pass kernels finish theirs ({@link #finish}). Only for alpha != 1 or a
     * beta other than 0 and 1 (and more than one depth block): the common products (alpha 1; C ignored or accumulated
     * into, beta 0 or 1) keep their fused write.
     */
    private static void scaledOnce(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                   float beta, MemorySegment c, long cOff, int ldc, Epilogue epi, Workspace ws, boolean parallel) {
        if (beta == 0f) {
            sgemm(transA, transB, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc, Epilogue.NONE, ws, parallel);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    long elem = cOff + (long) i * ldc + j;
                    finish(c, elem, c.get(FLOAT, elem << 2), alpha, 0f, epi, i, j);
                }
            }
            return;
        }
        // the sum in a block of the memory pool, given back at once: counted by the off-heap budget, reused call after
        // call (no per-call arena and its close handshake, no scratch kept per thread: a service runs each request on
        // a new virtual thread); a split product's workers may write it
        dev.lanes.memory.Storage scratch = dev.lanes.memory.Storage.allocate(Math.max((long) m * n, 1) * Float.BYTES);
        try {
            MemorySegment sum = scratch.segment();
            sgemm(transA, transB, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, sum, 0, n, Epilogue.NONE, ws, parallel);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    finish(c, cOff + (long) i * ldc + j, sum.get(FLOAT, ((long) i * n + j) << 2), alpha, beta, epi, i, j);
                }
            }
        } finally {
            scratch.release("Sgemm.scaledOnce");
        }
    }

    /**
     * The parallel body of one {@link #sgemm}: its arguments in fields instead of a capturing lambda, one per thread,
     * reused call after call (issue 17: a compiled training step allocates nothing; a lambda capturing twenty
     * arguments was ~150 bytes per product). One per thread is enough: a product splits only when its thread is not
     * inside a parallel part (Parallel.partsFor is 1 there), and its parts run blocked(), never another sgemm, so a
     * thread never has two split products in flight (the same invariant as Parallel's per-thread call).
     */
    private static final class Split implements Parallel.RangeBody {
        private static final ThreadLocal<Split> MINE = new ThreadLocal<>() {
            @Override
            protected Split initialValue() {
                return new Split();
            }
        };

        private boolean transA;
        private boolean transB;
        private boolean splitRows;
        private int unit;
        private int extent;
        private int m;
        private int n;
        private int k;
        private float alpha;
        private MemorySegment a;
        private long aOff;
        private int lda;
        private MemorySegment b;
        private long bOff;
        private int ldb;
        private float beta;
        private MemorySegment c;
        private long cOff;
        private int ldc;
        private Epilogue epi;

        void set(boolean transA, boolean transB, boolean splitRows, int unit, int extent, int m, int n, int k, float alpha,
                 MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff,
                 int ldc, Epilogue epi) {
            this.transA = transA;
            this.transB = transB;
            this.splitRows = splitRows;
            this.unit = unit;
            this.extent = extent;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.aOff = aOff;
            this.lda = lda;
            this.b = b;
            this.bOff = bOff;
            this.ldb = ldb;
            this.beta = beta;
            this.c = c;
            this.cOff = cOff;
            this.ldc = ldc;
            this.epi = epi;
        }

        /** Drops the operands: nothing of a finished product stays reachable from the thread. */
        void release() {
            a = null;
            b = null;
            c = null;
            epi = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            int lo = from * unit;
            int hi = Math.min(extent, to * unit);
            if (lo >= hi) {
                return;
            }
            if (splitRows) {
                blocked(transA, transB, lo, hi, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, WORKSPACE.get());
            } else {
                blocked(transA, transB, 0, m, lo, hi, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, WORKSPACE.get());
            }
        }
    }

    // ---- prepacked operands: what an inference plan runs with its weights packed once ----

    /**
     * Packs {@code A[m, k]} (row-major, leading dimension lda) whole into MR-row slivers for
     * {@link #gemmPackedAB}: {@code ap[s * k * MR + p * MR + r]}, rows past m zero.
     */
    public static float[] packA(MemorySegment a, long aOff, int lda, int m, int k) {
        float[] ap = new float[(m + MR - 1) / MR * MR * k];
        packAInto(a, aOff, lda, m, k, ap);
        return ap;
    }

    /** Packs {@code op(A) = A^T} for {@code A [k, m]} (leading dimension lda) like {@link #packA}: e.g. W^T of a convolution. */
    public static float[] packATransposed(MemorySegment a, long aOff, int lda, int m, int k) {
        float[] ap = new float[(m + MR - 1) / MR * MR * k];
        packATransposedInto(a, aOff, lda, m, k, ap);
        return ap;
    }

    /** {@link #packATransposed} into a caller's buffer of at least {@code ceil(m / MR) * MR * k} floats. */
    public static void packATransposedInto(MemorySegment a, long aOff, int lda, int m, int k, float[] ap) {
        for (int s = 0; s < m; s += MR) {
            int rows = Math.min(MR, m - s);
            if (rows < MR) {
                java.util.Arrays.fill(ap, s * k, s * k + k * MR, 0f); // a reused buffer: the pad rows must be zero again
            }
            packATransposed(a, aOff, lda, s, rows, 0, k, ap, s * k);
        }
    }

    /** Per-thread packed copy of B for {@link #gemmPackedA(int, int, int, float[], MemorySegment, long, int, MemorySegment, long, int, Epilogue)}. */
    private static final ThreadLocal<float[][]> STAGED_B = new ThreadLocal<>() {
        @Override
        protected float[][] initialValue() {
            return new float[1][0];
        }
    };

    /**
     * {@link #gemmPackedAB} with B {@code [k, n]} in a segment (row stride {@code ldb}): B is packed into this thread's
     * sliver buffer first, so the constant-stride kernel runs (a convolution's input gradient, W^T gout).
     */
    public static void gemmPackedA(int m, int n, int k, float[] ap, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc,
                                   Epilogue epi) {
        float[][] holder = STAGED_B.get();
        int need = packedBFloats(k, n);
        if (holder[0].length < need) {
            holder[0] = new float[need];
        }
        float[] staged = holder[0];
        packB(false, b, bOff, ldb, 0, k, 0, n, staged, 0, null);
        gemmPackedAB(m, n, k, ap, staged, c, cOff, ldc, epi, WORKSPACE.get().tile);
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

    /**
     * Floats of a {@code [k, n]} B in the packed-sliver layout of {@link #gemmPackedAB}: {@code paddedColumns(n) * k}.
     * Throws when that does not fit an array.
     */
    public static int packedBFloats(int k, int n) {
        long floats = (long) paddedColumns(n) * k;
        if (floats > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("sgemm: a packed [" + k + ", " + n + "] B needs " + floats + " floats, more than an array holds");
        }
        return (int) floats;
    }

    /**
     * op(B) {@code [k, n]} from a segment (B^T {@code [n, k]} when {@code transB}; row stride {@code ldb}) packed once
     * into the sliver layout of {@link #gemmPackedAB}: a constant weight an inference plan multiplies on every call.
     */
    public static float[] packSlivers(boolean transB, MemorySegment b, long bOff, int ldb, int k, int n) {
        float[] bp = new float[packedBFloats(k, n)];
        packB(transB, b, bOff, ldb, 0, k, 0, n, bp, 0, transB ? new float[KC] : null); // a staging block, as a workspace has
        return bp;
    }

    /**
     * Row {@code p} of a {@code [k, n]} B, {@code row[rowOff, rowOff + n)}, into the packed-sliver layout of {@link #gemmPackedAB}:
     * {@code bp[(j / NR) * k * NR + p * NR + j % NR]}, zeros past n in the last sliver. A producer that makes B one
     * row at a time (im2col) writes the layout the packed micro-kernel reads, so the product needs no packing pass.
     */
    public static void packBRow(float[] row, int rowOff, int n, int p, int k, float[] bp) {
        int full = n / NR * NR;
        int stride = k * NR;
        int dst = p * NR;
        for (int j = 0; j < full; j += NR, dst += stride) {
            for (int v = 0; v < NR; v += LANES) { // NR / LANES: 2, a constant C2 unrolls
                FloatVector.fromArray(F, row, rowOff + j + v).intoArray(bp, dst + v);
            }
        }
        if (full < n) {
            int rest = n - full;
            System.arraycopy(row, rowOff + full, bp, dst, rest);
            java.util.Arrays.fill(bp, dst + rest, dst + NR, 0f);
        }
    }

    /**
     * B = src^T in the sliver layout of {@link #gemmPackedAB}, for {@link #gemmRowsAPackedB}: the n rows of {@code src}
     * ({@code [n, k]} from {@code srcOff}, row stride k) become the n columns of the packed {@code [k, n]} B. The last
     * sliver's pad columns that its row-A tile reads ({@link #rowsATileColumns}) are written as zeros, row by row with
     * the data (a zero-filled sliver overwritten afterwards was two passes, and with 16 output channels at 16 lanes the
     * second vector is never read at all); those past them are never read. Sliver row by sliver row, so the writes are
     * sequential (dealing one column at a time strides NR floats, a new cache line per store: ~5 ns each in LeNet's
     * 784-deep weight gradient).
     */
    public static void packBFromRows(float[] src, int srcOff, int n, int k, float[] bp) {
        for (int j0 = 0; j0 < n; j0 += NR) {
            int nr = Math.min(NR, n - j0);
            int read = rowsATileColumns(nr);
            int rows = srcOff + j0 * k;
            int p = 0;
            if (TRANSPOSE8 && nr == NR) {
                // whole slivers in 8 x 8 blocks transposed in registers, 16 steps at a time: columns 0-7 of both blocks of
                // steps, then 8-15, so each source row's line (16 floats) is read once; rows k floats apart (ResNet-20's
                // 32 x 32 layers: 4 KB) fall in one L1 set, and 16 of them would evict each other between the blocks.
                // Element by element this was 9% of a ResNet-20 training step's weight gradient (Zen 3, AVX2)
                for (int d = j0 * k; p + 2 * LANES <= k; p += 2 * LANES, d += 2 * LANES * NR) {
                    transpose8x8(src, rows + p, k, bp, d, NR);
                    transpose8x8(src, rows + p + LANES, k, bp, d + LANES * NR, NR);
                    transpose8x8(src, rows + LANES * k + p, k, bp, d + LANES, NR);
                    transpose8x8(src, rows + LANES * k + p + LANES, k, bp, d + LANES * NR + LANES, NR);
                }
            }
            for (int d = j0 * k + p * NR; p < k; p++, d += NR) {
                for (int jj = 0, at = rows + p; jj < nr; jj++, at += k) {
                    bp[d + jj] = src[at];
                }
                for (int jj = nr; jj < read; jj++) {
                    bp[d + jj] = 0f; // pad lanes only feed dropped columns; zeros keep stale floats (denormals) out of the FMAs
                }
            }
        }
    }

    /**
     * Whether whole 8 x 8 blocks are transposed in registers by {@link #transpose8x8}: at 8 lanes on x86 (AVX2), where
     * each zip is two one-vector rearranges (vpermps) and a blend, 72 instructions a block (Winograd's channels-first /
     * channels-last copies, {@link #packBFromRows}, {@link #packBTransposed}'s whole slivers).
     */
    static final boolean TRANSPOSE8 = LANES == 8 && Simd.X86;

    /**
     * An 8 x 8 transpose at 8 lanes: row r of the result ({@code dst + r dStride}, 8 floats) holds element r of each of
     * the 8 source rows ({@code src + j ld}). Three rounds of zips (rows j and j + 4), as {@link #transposeBlockZipped}
     * does in four at 16 lanes. Only where {@link #TRANSPOSE8}.
     */
    static void transpose8x8(float[] a, int src, int ld, float[] d, int dst, int dStride) {
        FloatVector v0 = FloatVector.fromArray(F, a, src);
        FloatVector v1 = FloatVector.fromArray(F, a, src + ld);
        FloatVector v2 = FloatVector.fromArray(F, a, src + 2 * ld);
        FloatVector v3 = FloatVector.fromArray(F, a, src + 3 * ld);
        FloatVector v4 = FloatVector.fromArray(F, a, src + 4 * ld);
        FloatVector v5 = FloatVector.fromArray(F, a, src + 5 * ld);
        FloatVector v6 = FloatVector.fromArray(F, a, src + 6 * ld);
        FloatVector v7 = FloatVector.fromArray(F, a, src + 7 * ld);
        // the zips written out, not called: a helper taking or returning vectors boxes them wherever C2 does not
        // inline it, and whether it does is HotSpot's timing (CI on stop 48's commits left a zipHi8 helper out of line
        // here in two JVMs in a row: 64 KB a LeNet training step, 0 on this machine). The Vector API's own methods
        // are force-inlined, so code that only they touch cannot box.
        VectorShuffle<Float> lo = Zips8.LO, hi = Zips8.HI;
        VectorMask<Float> odd = Zips8.ODD;
        FloatVector w0 = v0.rearrange(lo).blend(v4.rearrange(lo), odd);
        FloatVector w1 = v0.rearrange(hi).blend(v4.rearrange(hi), odd);
        FloatVector w2 = v1.rearrange(lo).blend(v5.rearrange(lo), odd);
        FloatVector w3 = v1.rearrange(hi).blend(v5.rearrange(hi), odd);
        FloatVector w4 = v2.rearrange(lo).blend(v6.rearrange(lo), odd);
        FloatVector w5 = v2.rearrange(hi).blend(v6.rearrange(hi), odd);
        FloatVector w6 = v3.rearrange(lo).blend(v7.rearrange(lo), odd);
        FloatVector w7 = v3.rearrange(hi).blend(v7.rearrange(hi), odd);
        FloatVector x0 = w0.rearrange(lo).blend(w4.rearrange(lo), odd);
        FloatVector x1 = w0.rearrange(hi).blend(w4.rearrange(hi), odd);
        FloatVector x2 = w1.rearrange(lo).blend(w5.rearrange(lo), odd);
        FloatVector x3 = w1.rearrange(hi).blend(w5.rearrange(hi), odd);
        FloatVector x4 = w2.rearrange(lo).blend(w6.rearrange(lo), odd);
        FloatVector x5 = w2.rearrange(hi).blend(w6.rearrange(hi), odd);
        FloatVector x6 = w3.rearrange(lo).blend(w7.rearrange(lo), odd);
        FloatVector x7 = w3.rearrange(hi).blend(w7.rearrange(hi), odd);
        x0.rearrange(lo).blend(x4.rearrange(lo), odd).intoArray(d, dst);
        x0.rearrange(hi).blend(x4.rearrange(hi), odd).intoArray(d, dst + dStride);
        x1.rearrange(lo).blend(x5.rearrange(lo), odd).intoArray(d, dst + 2 * dStride);
        x1.rearrange(hi).blend(x5.rearrange(hi), odd).intoArray(d, dst + 3 * dStride);
        x2.rearrange(lo).blend(x6.rearrange(lo), odd).intoArray(d, dst + 4 * dStride);
        x2.rearrange(hi).blend(x6.rearrange(hi), odd).intoArray(d, dst + 5 * dStride);
        x3.rearrange(lo).blend(x7.rearrange(lo), odd).intoArray(d, dst + 6 * dStride);
        x3.rearrange(hi).blend(x7.rearrange(hi), odd).intoArray(d, dst + 7 * dStride);
    }

    /** {@link #transpose8x8}'s constants, made where it first runs (never at another width: see Simd.Preferred). */
    private static final class Zips8 {
        private Zips8() {
        }

        static final VectorShuffle<Float> LO = VectorShuffle.fromValues(F, 0, 0, 1, 1, 2, 2, 3, 3);
        static final VectorShuffle<Float> HI = VectorShuffle.fromValues(F, 4, 4, 5, 5, 6, 6, 7, 7);
        static final VectorMask<Float> ODD = VectorMask.fromValues(F, false, true, false, true, false, true, false, true);
    }

    /** Columns of a sliver {@link #gemmRowsAPackedB}'s tile for a block of nr columns reads: half a vector, one, or NR. */
    static int rowsATileColumns(int nr) {
        return HALF_TILES && nr <= LANES / 2 ? LANES / 2 : nr <= LANES ? LANES : NR;
    }

    /**
     * {@code C[m, n] = A B} (+ epilogue) with A packed by {@link #packA} ({@code ceil(m / MR) * MR * k} floats) and B
     * in the packed-sliver layout of {@link #packBRow} ({@link #packedBFloats} floats). Both panels are read by the
     * constant-stride micro-kernel: measured on Zen 3 (AVX2) for a convolution's [16, 1024] x [144, 1024] product,
     * 51 GFLOP/s against 29 for the same B row-major with a leading dimension (the general-stride kernel).
     * Blocks of {@link #KC} in k, each one FMA chain added to C in order: the same sums, in the same order, as
     * {@link #sgemm} on the same A and B. One thread, no allocation.
     */
    public static void gemmPackedAB(int m, int n, int k, float[] ap, float[] bp, MemorySegment c, long cOff, int ldc, Epilogue epi, float[] tile) {
        gemmPackedAB(m, n, k, ap, bp, c, cOff, ldc, false, epi, tile);
    }

    /** {@link #gemmPackedAB}, adding to C ({@code C += A B}, beta 1) when {@code accumulate}. */
    public static void gemmPackedAB(int m, int n, int k, float[] ap, float[] bp, MemorySegment c, long cOff, int ldc, boolean accumulate,
                                    Epilogue epi, float[] tile) {
        if (m == 0 || n == 0) {
            return;
        }
        Epilogue e = epi == null ? Epilogue.NONE : epi;
        if (k == 0) {
            scaleOnly(0, m, 0, n, accumulate ? 1f : 0f, c, cOff, ldc, e);
            return;
        }
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            boolean first = pc == 0 && !accumulate;
            boolean last = pc + kc == k;
            for (int j = 0; j < n; j += NR) {
                int nr = Math.min(NR, n - j);
                int sliver = (j / NR) * k * NR + pc * NR;
                for (int i = 0; i < m; i += MR) {
                    kernel(ap, i * k + pc * MR, bp, sliver, kc, tile, c, cOff + (long) i * ldc + j, ldc, Math.min(MR, m - i), nr,
                            1f, first ? 0f : 1f, last ? e : Epilogue.NONE, i, j);
                }
            }
        }
    }

    /**
     * Virtual columns of {@link #gemmPackedATapsB}: output pixels over the padded row length {@code wp}, the last row
     * only up to its oW pixels ({@code (oH - 1) wp + oW}, in long).
     */
    public static long tapsColumns(int oH, int oW, int wp) {
        return (long) (oH - 1) * wp + oW;
    }

    /** Columns {@link #gemmPackedATapsB} multiplies: its virtual columns in whole slivers, or whole rows of slivers. */
    public static long tapsComputedColumns(int oH, int oW, int wp) {
        return rowBlocks(oW, wp) ? (long) oH * ((oW + NR - 1) / NR * NR) : (tapsColumns(oH, oW, wp) + NR - 1) / NR * NR;
    }

    /**
     * Whether {@link #gemmPackedATapsB} starts its blocks at each output row: rows of at least NR pixels with pad
     * columns between them. Rows without pad columns ({@code wp == oW}) are one run: blocks go straight across them.
     */
    private static boolean rowBlocks(int oW, int wp) {
        return oW >= NR && wp != oW;
    }

    /**
     * {@code C[m, oH oW] = A B} (+ epilogue, row stride {@code oH oW}) for a stride-1 convolution whose unfolded B is
     * never built: B's row p is the zero-padded image read from {@code img[taps[p]]} on, so over <em>virtual</em>
     * columns {@code q = y wp + x} (x up to the padded row length {@code wp}) every row of B is contiguous. Each NR
     * virtual columns are read by {@link #kernel8x2Taps} where they lie ({@link #tapsDirect}: 32 registers, or one row block) or dealt
     * into one sliver ({@code sliver}, {@code k NR} floats, L1/L2-resident while the MR-row blocks of A pass over it)
     * and multiplied by the packed-panel kernel; only columns with {@code x < oW} are stored,
     * row piece by row piece (rows without pad columns, {@code wp == oW}: column-shifted planes, {@link Im2col#stageShifts},
     * are one run, stored block by block). Against im2col + {@link #packBRow} this copies each B element once instead of twice and
     * never handles an image edge, at the price of the {@code wp - oW} columns per row computed and dropped
     * ({@link #tapsColumns}). Each stored element is the FMA chain {@link #gemmPackedAB} makes for the same column of
     * the unfolded B, KC block by block in the same order: the same bits.
     *
     * @param img   the padded image; reads reach {@code taps[p] + tapsColumns + NR} (the caller's slack)
     * @param taps  per row p of B ({@code k} of them), the offset of its first element in {@code img}
     * @param ap    A packed by {@link #packA} ({@code [m, k]})
     */
    public static void gemmPackedATapsB(int m, int k, float[] ap, float[] img, int[] taps, int oH, int oW, int wp,
                                        MemorySegment c, long cOff, Epilogue epi, float[] sliver, float[] tile) {
        gemmPackedATapsB(m, k, ap, null, img, taps, oH, oW, wp, c, cOff, epi, sliver, tile);
    }

    /**
     * {@link #gemmPackedATapsB} with the weights also packed channel-wise ({@link #packTransposedTail}; null: none): the
     * last 1 to {@link #TRANSPOSED_TAIL_MAX} columns of a flat product ({@code wp == oW}) are then computed by
     * {@link #tapsTailTransposed}, the same bits as the tile kernels.
     */
    public static void gemmPackedATapsB(int m, int k, float[] ap, float[] wT, float[] img, int[] taps, int oH, int oW, int wp,
                                        MemorySegment c, long cOff, Epilogue epi, float[] sliver, float[] tile) {
        gemmPackedATapsBUnits(m, k, ap, wT, img, taps, oH, oW, wp, c, cOff, epi, sliver, tile, 0, Integer.MAX_VALUE);
    }

    /**
     * The units {@link #gemmPackedATapsB} can be split into ({@link #gemmPackedATapsBUnits}'s ranges, for threads sharing one
     * image): its output rows where blocks start at each row, else its NR-column blocks. Each unit's columns are blocks
     * of their own, so a split changes no block and no sum: the same bits for any split.
     */
    public static int tapsUnits(int oH, int oW, int wp) {
        return rowBlocks(oW, wp) ? oH : (int) ((tapsColumns(oH, oW, wp) + NR - 1) / NR);
    }

    /**
     * {@link #gemmPackedATapsB} for units {@code [unitFrom, unitTo)} of {@link #tapsUnits} only (clipped to them), with
     * {@link #TRANSPOSED_TAIL_MAX}'s channel-wise tail (given {@code wT}) computed by the range that reaches the end.
     * Ranges of one product may run on several threads at once, each with its own sliver and tile: they write disjoint
     * output pixels and only read the image, taps and weights.
     */
    public static void gemmPackedATapsBUnits(int m, int k, float[] ap, float[] wT, float[] img, int[] taps, int oH, int oW, int wp,
                                             MemorySegment c, long cOff, Epilogue epi, float[] sliver, float[] tile, int unitFrom, int unitTo) {
        int l = oH * oW;
        if (m == 0 || l == 0) {
            return;
        }
        Epilogue e = epi == null ? Epilogue.NONE : epi;
        int units = tapsUnits(oH, oW, wp);
        int u0 = Math.max(0, unitFrom);
        int u1 = Math.min(units, unitTo);
        if (u0 >= u1) {
            return;
        }
        // rows of at least NR pixels: blocks start at each row (a 32-wide row at 16 lanes is one whole tile: no pad
        // column computed, stored by writeWholeTile); shorter rows, or rows without pad columns: blocks run on across rows
        boolean rowBlocks = rowBlocks(oW, wp);
        if (k == 0) {
            if (u0 == 0) { // nothing to split: the range with the first unit writes every pixel
                scaleOnly(0, m, 0, l, 0f, c, cOff, l, e);
            }
            return;
        }
        int n = (int) tapsColumns(oH, oW, wp); // the caller's image holds them: an int
        // shallow products store a whole block's rows straight to C where nothing else needs the tile: no pad columns,
        // a row bias and ReLU at most (the writeTileRowBias ops in its order: the same bits). LeNet's conv1 at batch 1:
        // 2.85 -> 2.4 us (AMD EPYC Zen 4, 512 bits): the tile's stores, loads and dispatch were a quarter of a 25-deep
        // block (under 5% of a 144-deep one, where the straight kernels are not worth their compile: see them)
        boolean tapsDirect = tapsDirect(m);
        boolean straight = tapsDirect && wp == oW && k <= STRAIGHT_MAX_DEPTH && (e.bias() == null || e.biasPerRow()) && !e.rowActivation();
        MemorySegment rowBias = straight ? e.bias() : null;
        boolean relu = e.relu();
        int tail = wT != null && u1 == units ? transposedTailColumns(m, k, oH, oW, wp, e) : 0;
        if (tail > 0) {
            n -= tail; // whole blocks up to here (n was l: no pad columns)
        }
        // this range's blocks: from the first column of its first row or block to its last's end
        int qStart = rowBlocks ? u0 * wp : u0 * NR;
        int qEnd = rowBlocks ? (u1 == oH ? n : u1 * wp) : (int) Math.min(n, (long) u1 * NR);
        for (int q0 = qStart, next; q0 < qEnd; q0 = next) {
            int nr;
            if (rowBlocks) {
                int x0 = q0 % wp;
                nr = Math.min(NR, oW - x0);
                next = x0 + nr >= oW ? q0 - x0 + wp : q0 + NR;
            } else {
                nr = Math.min(NR, qEnd - q0);
                next = q0 + NR;
            }
            boolean oneVector = nr <= LANES; // the block's columns fit one vector: the one-vector tiles
            // at 16 registers the one-vector blocks keep the sliver: their taps kernel is 8 rows (MR is 6)
            boolean direct = TAPS_DIRECT || (tapsDirect && !oneVector);
            if (!direct) {
                for (int p = 0, d = 0; p < k; p++, d += NR) {
                    int at = taps[p] + q0;
                    FloatVector.fromArray(F, img, at).intoArray(sliver, d);
                    if (!oneVector) {
                        FloatVector.fromArray(F, img, at + LANES).intoArray(sliver, d + LANES);
                    }
                }
            }
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean first = pc == 0;
                Epilogue blockEpi = pc + kc == k ? e : Epilogue.NONE;
                for (int i = 0; i < m; i += MR) {
                    int mr = Math.min(MR, m - i);
                    if (direct) {
                        if (HALF_TILES && nr <= LANES / 2) { // LeNet's conv2: its last block holds 4 of 100 pixels
                            kernel8x1HalfTaps(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, tile);
                        } else if (oneVector) {
                            kernel8x1Taps(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, tile);
                        } else {
                            boolean whole = straight && nr == NR;
                            long at = cOff + (long) i * l + q0;
                            long biasByte = rowBias == null ? 0 : (e.biasOff() + i) << 2;
                            if (mr <= 6) { // 6 channels (LeNet's conv1): 12 FMAs a step, not 16 with two rows of zeros
                                if (whole) {
                                    kernel6x2TapsStraight(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, c, at, l, mr, rowBias, biasByte, relu);
                                    continue;
                                }
                                kernel6x2Taps(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, tile);
                            } else {
                                if (whole) {
                                    kernel8x2TapsStraight(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, c, at, l, mr, rowBias, biasByte, relu);
                                    continue;
                                }
                                kernel8x2Taps(ap, i * k + pc * MR, img, taps, pc, pc + kc, q0, tile);
                            }
                        }
                    } else {
                        packedTile(ap, i * k + pc * MR, sliver, pc * NR, kc, tile, 0, mr, nr);
                    }
                    if (wp == oW) { // no pad columns: virtual column q is output pixel q
                        writeTile(tile, 0, c, cOff + (long) i * l + q0, l, mr, nr, 1f, first ? 0f : 1f, blockEpi, i, q0);
                        continue;
                    }
                    // the block's pixels, one output row's run at a time; the wp - oW pad columns are dropped
                    for (int q = q0, end = q0 + nr; q < end; ) {
                        int y = q / wp;
                        int x = q - y * wp;
                        int rowEnd = y * wp + oW;
                        if (x >= oW) {
                            q = rowEnd - oW + wp;
                            continue;
                        }
                        int run = Math.min(end, rowEnd) - q;
                        writeTile(tile, q - q0, c, cOff + (long) i * l + (long) y * oW + x, l, mr, run, 1f, first ? 0f : 1f, blockEpi, i, y * oW + x);
                        q += run;
                    }
                }
            }
        }
        if (tail > 0) {
            tapsTailTransposed(wT, m, k, img, taps, n, tail, c, cOff, l, e.bias(), e.biasOff(), relu, tile);
        }
    }

    /** The most columns {@link #tapsTailTransposed} takes: its four accumulators (a vector of channels each) a step. */
    static final int TRANSPOSED_TAIL_MAX = 4;

    /**
     * The columns at the end of a taps product that {@link #gemmPackedATapsB} computes channel-wise when given the
     * transposed weights, 0 for none: a flat product ({@code wp == oW}, one depth block) whose last block would hold
     * 1 to {@link #TRANSPOSED_TAIL_MAX} of its NR columns, at most two vectors of channels, and a row bias and ReLU at
     * most. LeNet's conv2 (16 channels, 100 pixels: 3 whole blocks and 4 pixels at 16 lanes): its last block ran the
     * 8-row tile twice (two row blocks, 8 broadcasts + 1 load a step for 4 useful columns), ~0.3 us of a 5.5 us layer.
     */
    public static int transposedTailColumns(int m, int k, int oH, int oW, int wp, Epilogue e) {
        if (wp != oW || m > 2 * LANES || k > KC || (e.bias() != null && !e.biasPerRow()) || e.rowActivation()) {
            return 0;
        }
        int t = (int) ((long) oH * oW % NR);
        return t <= TRANSPOSED_TAIL_MAX ? t : 0;
    }

    /**
     * W^T for {@link #tapsTailTransposed}: row p holds {@code w[o, p]} for the m channels, zero-padded to one vector
     * (m <= LANES) or two; null where m does not fit two vectors. {@code w} is {@code [m, k]} at float {@code wOff}, row
     * stride {@code lda}.
     */
    public static float[] packTransposedTail(MemorySegment w, long wOff, int lda, int m, int k) {
        if (m > 2 * LANES) {
            return null;
        }
        int cw = m <= LANES ? LANES : 2 * LANES;
        float[] t = new float[Math.multiplyExact(k, cw)];
        for (int o = 0; o < m; o++) {
            for (int p = 0; p < k; p++) {
                t[p * cw + o] = w.getAtIndex(FLOAT, wOff + (long) o * lda + p);
            }
        }
        return t;
    }

    /**
     * {@code C[0..m, q0..q0+t)} of a taps product, transposed: per step p one vector (or two) of W^T's row p and the
     * t pixels' values broadcast, so each output is {@code fma(w[o, p], b[p, q], acc)} over p = 0..k-1 from zero: the
     * tile kernels' chain (one depth block), then {@code + bias[o]} and ReLU as the tile writers: the same bits.
     * Four chains of 16-lane FMAs are latency-bound (4 cycles a step) but serve all 16 channels at once.
     * Columns past t are computed from the image's slack and dropped.
     */
    private static void tapsTailTransposed(float[] wT, int m, int k, float[] img, int[] taps, int q0, int t,
                                           MemorySegment c, long cOff, int ldc, MemorySegment bias, long biasOff, boolean relu, float[] tile) {
        int cw;
        if (m <= LANES) {
            cw = LANES;
            tailTransposed1(wT, k, img, taps, q0, tile);
        } else {
            cw = 2 * LANES;
            tailTransposed2(wT, k, img, taps, q0, tile);
        }
        for (int q = 0; q < t; q++) {
            long at = cOff + q0 + q;
            for (int o = 0; o < m; o++) {
                float v = tile[q * cw + o];
                if (bias != null) {
                    v += bias.getAtIndex(FLOAT, biasOff + o);
                }
                if (relu && v <= 0f) { // the tile writers' blend(0, v <= 0): -0 and below become +0, NaN stays
                    v = 0f;
                }
                c.setAtIndex(FLOAT, at + (long) o * ldc, v);
            }
        }
    }

    /** {@link #tapsTailTransposed} for channels in one vector: tile[q * LANES + o] = C[o, q0 + q], q < 4. */
    private static void tailTransposed1(float[] wT, int k, float[] img, int[] taps, int q0, float[] tile) {
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        for (int p = 0, wi = 0; p < k; p++, wi += LANES) {
            FloatVector w = FloatVector.fromArray(F, wT, wi);
            int at = taps[p] + q0;
            c0 = w.fma(FloatVector.broadcast(F, img[at]), c0);
            c1 = w.fma(FloatVector.broadcast(F, img[at + 1]), c1);
            c2 = w.fma(FloatVector.broadcast(F, img[at + 2]), c2);
            c3 = w.fma(FloatVector.broadcast(F, img[at + 3]), c3);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, LANES);
        c2.intoArray(tile, 2 * LANES);
        c3.intoArray(tile, 3 * LANES);
    }

    /**
     * {@link #tapsTailTransposed} for channels in two vectors: tile[q * 2 LANES + o] = C[o, q0 + q], q < 4. The
     * channels-last kernel's one-tap steps over W^T rows of 2 LANES are these chains exactly (the same FMAs in the same
     * order), so it runs them.
     */
    private static void tailTransposed2(float[] wT, int k, float[] img, int[] taps, int q0, float[] tile) {
        tapsChannelsLast4x2(wT, 2 * LANES, 0, k, false, img, taps, q0, tile);
    }

    /**
     * Pixels {@code [q, q + 4)} of one output row ({@code q = y wp + x}) of a stride-1 taps product (one depth block,
     * {@code k <= KC}), channels {@code [o0, o0 + 2 LANES)}, into {@code tile} pixel by pixel ({@code tile[r 2 LANES + o]}):
     * W^T ({@code wT[p ldw + o]}) by vectors, each pixel's value broadcast, per output {@code fma(w[o, p], b[p, q], acc)}
     * over p from zero: the chains of {@link #gemmPackedATapsB}'s channels-first tiles ({@link #channelsLastOut} then
     * adds the bias and applies ReLU as their writers do: the same bits). 4 pixels, not 6: with 12 accumulators C2
     * hoisted the broadcasts and spilled two accumulators through memory every step (16 registers; ResNet-20's stem
     * 25-27 us against 19.6 this way, Zen 3, AVX2), and 6 pixels held in variables spilled the offsets. With
     * {@code threeTaps} (a 3-wide kernel row, dilation 1) a row's three taps are one step: one tap offset read and one
     * bounds check for 24 FMAs, not 8 (19.6 -> 15.9 us; a nested loop over the row's taps ran 24 us). A row's last
     * block reads up to 5 floats past the row (the next row, or the staging's slack: {@link Im2col#HEAP_SLACK}) for
     * pixels that are dropped.
     */
    static void tapsChannelsLast4x2(float[] wT, int ldw, int o0, int k, boolean threeTaps, float[] img, int[] taps, int q, float[] tile) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c10 = z, c20 = z, c30 = z;
        FloatVector c01 = z, c11 = z, c21 = z, c31 = z;
        int p = 0;
        if (threeTaps) { // kernel rows of 3 adjacent taps (3 wide, dilation 1): one tap offset read a row, its floats at fixed displacements
            for (int wi = o0; p < k; p += 3, wi += 3 * ldw) {
                int at = taps[p] + q;
                FloatVector w0 = FloatVector.fromArray(F, wT, wi);
                FloatVector w1 = FloatVector.fromArray(F, wT, wi + LANES);
                FloatVector b = FloatVector.broadcast(F, img[at]);
                c00 = w0.fma(b, c00);
                c01 = w1.fma(b, c01);
                b = FloatVector.broadcast(F, img[at + 1]);
                c10 = w0.fma(b, c10);
                c11 = w1.fma(b, c11);
                b = FloatVector.broadcast(F, img[at + 2]);
                c20 = w0.fma(b, c20);
                c21 = w1.fma(b, c21);
                b = FloatVector.broadcast(F, img[at + 3]);
                c30 = w0.fma(b, c30);
                c31 = w1.fma(b, c31);
                w0 = FloatVector.fromArray(F, wT, wi + ldw);
                w1 = FloatVector.fromArray(F, wT, wi + ldw + LANES);
                b = FloatVector.broadcast(F, img[at + 1]);
                c00 = w0.fma(b, c00);
                c01 = w1.fma(b, c01);
                b = FloatVector.broadcast(F, img[at + 2]);
                c10 = w0.fma(b, c10);
                c11 = w1.fma(b, c11);
                b = FloatVector.broadcast(F, img[at + 3]);
                c20 = w0.fma(b, c20);
                c21 = w1.fma(b, c21);
                b = FloatVector.broadcast(F, img[at + 4]);
                c30 = w0.fma(b, c30);
                c31 = w1.fma(b, c31);
                w0 = FloatVector.fromArray(F, wT, wi + 2 * ldw);
                w1 = FloatVector.fromArray(F, wT, wi + 2 * ldw + LANES);
                b = FloatVector.broadcast(F, img[at + 2]);
                c00 = w0.fma(b, c00);
                c01 = w1.fma(b, c01);
                b = FloatVector.broadcast(F, img[at + 3]);
                c10 = w0.fma(b, c10);
                c11 = w1.fma(b, c11);
                b = FloatVector.broadcast(F, img[at + 4]);
                c20 = w0.fma(b, c20);
                c21 = w1.fma(b, c21);
                b = FloatVector.broadcast(F, img[at + 5]);
                c30 = w0.fma(b, c30);
                c31 = w1.fma(b, c31);
            }
        }
        for (int wi = p * ldw + o0; p < k; p++, wi += ldw) {
            FloatVector w0 = FloatVector.fromArray(F, wT, wi);
            FloatVector w1 = FloatVector.fromArray(F, wT, wi + LANES);
            int at = taps[p] + q;
            FloatVector b = FloatVector.broadcast(F, img[at]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, img[at + 1]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, img[at + 2]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, img[at + 3]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, 2 * LANES);
        c11.intoArray(tile, 3 * LANES);
        c20.intoArray(tile, 4 * LANES);
        c21.intoArray(tile, 5 * LANES);
        c30.intoArray(tile, 6 * LANES);
        c31.intoArray(tile, 7 * LANES);
    }

    /**
     * {@link #tapsChannelsLast4x2} for one vector of channels {@code [o0, o0 + LANES)}, 8 pixels ({@code tile[r LANES + o]}):
     * 8 chains in flight for the FMA's latency. Reads up to 7 floats past the row's last float (at most
     * {@link Im2col#HEAP_SLACK}).
     */
    static void tapsChannelsLast8x1(float[] wT, int ldw, int o0, int k, boolean threeTaps, float[] img, int[] taps, int q, float[] tile) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        int p = 0;
        if (threeTaps) { // as tapsChannelsLast4x2's: a kernel row's 3 adjacent taps a step
            for (int wi = o0; p < k; p += 3, wi += 3 * ldw) {
                int at = taps[p] + q;
                FloatVector w = FloatVector.fromArray(F, wT, wi);
                c0 = w.fma(FloatVector.broadcast(F, img[at]), c0);
                c1 = w.fma(FloatVector.broadcast(F, img[at + 1]), c1);
                c2 = w.fma(FloatVector.broadcast(F, img[at + 2]), c2);
                c3 = w.fma(FloatVector.broadcast(F, img[at + 3]), c3);
                c4 = w.fma(FloatVector.broadcast(F, img[at + 4]), c4);
                c5 = w.fma(FloatVector.broadcast(F, img[at + 5]), c5);
                c6 = w.fma(FloatVector.broadcast(F, img[at + 6]), c6);
                c7 = w.fma(FloatVector.broadcast(F, img[at + 7]), c7);
                w = FloatVector.fromArray(F, wT, wi + ldw);
                c0 = w.fma(FloatVector.broadcast(F, img[at + 1]), c0);
                c1 = w.fma(FloatVector.broadcast(F, img[at + 2]), c1);
                c2 = w.fma(FloatVector.broadcast(F, img[at + 3]), c2);
                c3 = w.fma(FloatVector.broadcast(F, img[at + 4]), c3);
                c4 = w.fma(FloatVector.broadcast(F, img[at + 5]), c4);
                c5 = w.fma(FloatVector.broadcast(F, img[at + 6]), c5);
                c6 = w.fma(FloatVector.broadcast(F, img[at + 7]), c6);
                c7 = w.fma(FloatVector.broadcast(F, img[at + 8]), c7);
                w = FloatVector.fromArray(F, wT, wi + 2 * ldw);
                c0 = w.fma(FloatVector.broadcast(F, img[at + 2]), c0);
                c1 = w.fma(FloatVector.broadcast(F, img[at + 3]), c1);
                c2 = w.fma(FloatVector.broadcast(F, img[at + 4]), c2);
                c3 = w.fma(FloatVector.broadcast(F, img[at + 5]), c3);
                c4 = w.fma(FloatVector.broadcast(F, img[at + 6]), c4);
                c5 = w.fma(FloatVector.broadcast(F, img[at + 7]), c5);
                c6 = w.fma(FloatVector.broadcast(F, img[at + 8]), c6);
                c7 = w.fma(FloatVector.broadcast(F, img[at + 9]), c7);
            }
        }
        for (int wi = p * ldw + o0; p < k; p++, wi += ldw) {
            FloatVector w = FloatVector.fromArray(F, wT, wi);
            int at = taps[p] + q;
            c0 = w.fma(FloatVector.broadcast(F, img[at]), c0);
            c1 = w.fma(FloatVector.broadcast(F, img[at + 1]), c1);
            c2 = w.fma(FloatVector.broadcast(F, img[at + 2]), c2);
            c3 = w.fma(FloatVector.broadcast(F, img[at + 3]), c3);
            c4 = w.fma(FloatVector.broadcast(F, img[at + 4]), c4);
            c5 = w.fma(FloatVector.broadcast(F, img[at + 5]), c5);
            c6 = w.fma(FloatVector.broadcast(F, img[at + 6]), c6);
            c7 = w.fma(FloatVector.broadcast(F, img[at + 7]), c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, LANES);
        c2.intoArray(tile, 2 * LANES);
        c3.intoArray(tile, 3 * LANES);
        c4.intoArray(tile, 4 * LANES);
        c5.intoArray(tile, 5 * LANES);
        c6.intoArray(tile, 6 * LANES);
        c7.intoArray(tile, 7 * LANES);
    }

    /**
     * The first n pixels of a channels-last tile ({@code width} floats a pixel, channels {@code [o0, o0 + width)}) to
     * {@code out} from byte {@code outByte}, {@code pixelBytes} apart: {@code + bias[o]} (when there is one), then
     * ReLU as the tile writers apply them ({@code blend(0, v <= 0)}: -0 and below become +0, NaN stays).
     */
    static void channelsLastOut(float[] tile, int n, int width, float[] bias, int o0, boolean relu, MemorySegment out, long outByte, long pixelBytes) {
        for (int v = 0; v < width; v += LANES) {
            if (bias != null) { // two loops, not a vector that may be null: C2 may box a vector merged with null
                FloatVector b = FloatVector.fromArray(F, bias, o0 + v);
                for (int r = 0; r < n; r++) {
                    FloatVector c = FloatVector.fromArray(F, tile, r * width + v).add(b);
                    if (relu) {
                        c = c.blend(0f, c.compare(VectorOperators.LE, 0f));
                    }
                    c.intoMemorySegment(out, outByte + r * pixelBytes + 4L * v, ORDER);
                }
            } else {
                for (int r = 0; r < n; r++) {
                    FloatVector c = FloatVector.fromArray(F, tile, r * width + v);
                    if (relu) {
                        c = c.blend(0f, c.compare(VectorOperators.LE, 0f));
                    }
                    c.intoMemorySegment(out, outByte + r * pixelBytes + 4L * v, ORDER);
                }
            }
        }
    }

    /**
     * The deepest product whose whole blocks the straight taps kernels store ({@link #kernel6x2TapsStraight}): one
     * depth block (at most {@link #KC}), and shallow enough for the tile round trip they save to count (a quarter of
     * LeNet's 25-deep conv1 block; under 5% of ResNet's 144-deep ones, which keep the tile kernels).
     */
    static final int STRAIGHT_MAX_DEPTH = Math.min(64, KC);

    /**
     * Whether {@link #gemmPackedATapsB} reads B's rows where they lie in the padded image ({@link #kernel8x2Taps})
     * instead of dealing each block's k x NR floats into a sliver first: with 32 vector registers. Measured (AMD EPYC
     * Zen 4, ResNet-20 ONNX plan at batch 64, one thread, alternated runs): 512 bits 77-84 -> 72-73 ms (its 16-channel
     * 3 x 3 layers -20%), 128 bits on the same machine (32 registers) about even to -20%; but the 6 x 2 tile of 16-register
     * AVX2 code reading the image this way ran 85 -> 124-138 ms, so 16 registers keep the dealt sliver where several
     * row blocks share it ({@link #tapsDirect}). Either way the same FMA chains over the same values: the same bits.
     */
    static final boolean TAPS_DIRECT = TILE_KIND == 0;

    /**
     * With 16 registers, a product of one row block ({@code m <= MR}: LeNet's 6-channel conv1) reads the image where
     * it lies too: the sliver is dealt for the row blocks that share it, and with one there is nothing to share, so
     * the copy (two vector loads and stores a step against the kernel's 12 FMAs) and the tile round trip
     * (the straight kernels store whole blocks with their bias and ReLU) are pure cost. LeNet's ONNX plan at batch 64
     * (AMD EPYC Zen 3, 256 bits, one thread, alternated runs): conv1 411-489 -> 271-281 us. The same FMA chains: the same bits.
     */
    static boolean tapsDirect(int m) {
        return TAPS_DIRECT || m <= MR;
    }

    /**
     * {@link #kernel8x2Packed} with B's rows read where they lie in the padded image ({@code img[taps[p] + q0]}, two
     * vectors) instead of from a dealt sliver: the same FMA chains over the same values, without copying each block's
     * k x NR floats first.
     */
    private static void kernel8x2Taps(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            int at = taps[p] + q0;
            FloatVector b0 = FloatVector.fromArray(F, img, at);
            FloatVector b1 = FloatVector.fromArray(F, img, at + LANES);
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
    }

    /**
     * {@link #kernel8x2Taps} storing its rows straight to C ({@code cElem}, row stride {@code ldc}; rows below {@code mr}) with
     * a row bias (or none) and ReLU (or none) applied from the accumulators, in writeTileRowBias's order: the same
     * bits. For whole blocks of shallow products only ({@link #STRAIGHT_MAX_DEPTH}); a kernel of its own, so the
     * tile kernel every other product uses stays small and is compiled early (merged, it doubled the tile kernel's
     * bytecode and put off its C2 compile: ResNet-20's first ONNX prediction 16 -> 145 ms).
     */
    private static void kernel8x2TapsStraight(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0,
                                              MemorySegment c, long cElem, int ldc, int mr, MemorySegment bias, long biasByte, boolean relu) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            int at = taps[p] + q0;
            FloatVector b0 = FloatVector.fromArray(F, img, at);
            FloatVector b1 = FloatVector.fromArray(F, img, at + LANES);
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
        long at = cElem << 2;
        long step = (long) ldc << 2;
        if (bias != null) {
            float b = bias.get(FLOAT, biasByte);
            c00 = c00.add(b);
            c01 = c01.add(b);
        }
        if (relu) {
            c00 = c00.blend(0f, c00.compare(VectorOperators.LE, 0f));
            c01 = c01.blend(0f, c01.compare(VectorOperators.LE, 0f));
        }
        c00.intoMemorySegment(c, at, ORDER);
        c01.intoMemorySegment(c, at + VBYTES, ORDER);
        if (mr > 1) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 4);
                c10 = c10.add(b);
                c11 = c11.add(b);
            }
            if (relu) {
                c10 = c10.blend(0f, c10.compare(VectorOperators.LE, 0f));
                c11 = c11.blend(0f, c11.compare(VectorOperators.LE, 0f));
            }
            c10.intoMemorySegment(c, at + step, ORDER);
            c11.intoMemorySegment(c, at + step + VBYTES, ORDER);
        }
        if (mr > 2) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 8);
                c20 = c20.add(b);
                c21 = c21.add(b);
            }
            if (relu) {
                c20 = c20.blend(0f, c20.compare(VectorOperators.LE, 0f));
                c21 = c21.blend(0f, c21.compare(VectorOperators.LE, 0f));
            }
            c20.intoMemorySegment(c, at + 2 * step, ORDER);
            c21.intoMemorySegment(c, at + 2 * step + VBYTES, ORDER);
        }
        if (mr > 3) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 12);
                c30 = c30.add(b);
                c31 = c31.add(b);
            }
            if (relu) {
                c30 = c30.blend(0f, c30.compare(VectorOperators.LE, 0f));
                c31 = c31.blend(0f, c31.compare(VectorOperators.LE, 0f));
            }
            c30.intoMemorySegment(c, at + 3 * step, ORDER);
            c31.intoMemorySegment(c, at + 3 * step + VBYTES, ORDER);
        }
        if (mr > 4) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 16);
                c40 = c40.add(b);
                c41 = c41.add(b);
            }
            if (relu) {
                c40 = c40.blend(0f, c40.compare(VectorOperators.LE, 0f));
                c41 = c41.blend(0f, c41.compare(VectorOperators.LE, 0f));
            }
            c40.intoMemorySegment(c, at + 4 * step, ORDER);
            c41.intoMemorySegment(c, at + 4 * step + VBYTES, ORDER);
        }
        if (mr > 5) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 20);
                c50 = c50.add(b);
                c51 = c51.add(b);
            }
            if (relu) {
                c50 = c50.blend(0f, c50.compare(VectorOperators.LE, 0f));
                c51 = c51.blend(0f, c51.compare(VectorOperators.LE, 0f));
            }
            c50.intoMemorySegment(c, at + 5 * step, ORDER);
            c51.intoMemorySegment(c, at + 5 * step + VBYTES, ORDER);
        }
        if (mr > 6) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 24);
                c60 = c60.add(b);
                c61 = c61.add(b);
            }
            if (relu) {
                c60 = c60.blend(0f, c60.compare(VectorOperators.LE, 0f));
                c61 = c61.blend(0f, c61.compare(VectorOperators.LE, 0f));
            }
            c60.intoMemorySegment(c, at + 6 * step, ORDER);
            c61.intoMemorySegment(c, at + 6 * step + VBYTES, ORDER);
        }
        if (mr > 7) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 28);
                c70 = c70.add(b);
                c71 = c71.add(b);
            }
            if (relu) {
                c70 = c70.blend(0f, c70.compare(VectorOperators.LE, 0f));
                c71 = c71.blend(0f, c71.compare(VectorOperators.LE, 0f));
            }
            c70.intoMemorySegment(c, at + 7 * step, ORDER);
            c71.intoMemorySegment(c, at + 7 * step + VBYTES, ORDER);
        }
    }

    /** {@link #kernel8x2Taps} for a block of at most LANES columns (a row's or a product's last few: LeNet's conv2 ends
     * in 4 of 100): one vector of B a step, half the FMAs of the two-vector tile, which would multiply pad columns.
     * Each element the same FMA chain: the same bits. */
    private static void kernel8x1Taps(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0, float[] tile) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F);
        FloatVector c6 = FloatVector.zero(F);
        FloatVector c7 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(F, img, taps[p] + q0);
            c0 = FloatVector.broadcast(F, ap[ai + 0]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, ap[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, ap[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, ap[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, ap[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, ap[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(F, ap[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(F, ap[ai + 7]).fma(b0, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
        c6.intoArray(tile, 6 * NR);
        c7.intoArray(tile, 7 * NR);
    }

    /** {@link #kernel6x2Packed} for a block of at most LANES columns (rows 0..5 of each MR-row step of the sliver). */
    private static void kernel6x1Packed(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = 0; p < kc; p++, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bBase + p * NR);
            c0 = FloatVector.broadcast(F, ap[ai + 0]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, ap[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, ap[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, ap[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, ap[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, ap[ai + 5]).fma(b0, c5);
        }
        c0.intoArray(tile, t + 0);
        c1.intoArray(tile, t + NR);
        c2.intoArray(tile, t + 2 * NR);
        c3.intoArray(tile, t + 3 * NR);
        c4.intoArray(tile, t + 4 * NR);
        c5.intoArray(tile, t + 5 * NR);
    }

    /** {@link #kernel8x2Taps} for at most 6 rows (the rows 0..5 of each MR-row step of the A sliver). */
    private static void kernel6x2Taps(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            int at = taps[p] + q0;
            FloatVector b0 = FloatVector.fromArray(F, img, at);
            FloatVector b1 = FloatVector.fromArray(F, img, at + LANES);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + LANES);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
    }

    /**
     * {@link #kernel6x2Taps} storing its rows straight to C ({@code cElem}, row stride {@code ldc}; rows below {@code mr}) with
     * a row bias (or none) and ReLU (or none) applied from the accumulators, in writeTileRowBias's order: the same
     * bits. For whole blocks of shallow products only ({@link #STRAIGHT_MAX_DEPTH}); a kernel of its own, so the
     * tile kernel every other product uses stays small and is compiled early (merged, it doubled the tile kernel's
     * bytecode and put off its C2 compile: ResNet-20's first ONNX prediction 16 -> 145 ms).
     */
    private static void kernel6x2TapsStraight(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0,
                                              MemorySegment c, long cElem, int ldc, int mr, MemorySegment bias, long biasByte, boolean relu) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            int at = taps[p] + q0;
            FloatVector b0 = FloatVector.fromArray(F, img, at);
            FloatVector b1 = FloatVector.fromArray(F, img, at + LANES);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
        }
        long at = cElem << 2;
        long step = (long) ldc << 2;
        if (bias != null) {
            float b = bias.get(FLOAT, biasByte);
            c00 = c00.add(b);
            c01 = c01.add(b);
        }
        if (relu) {
            c00 = c00.blend(0f, c00.compare(VectorOperators.LE, 0f));
            c01 = c01.blend(0f, c01.compare(VectorOperators.LE, 0f));
        }
        c00.intoMemorySegment(c, at, ORDER);
        c01.intoMemorySegment(c, at + VBYTES, ORDER);
        if (mr > 1) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 4);
                c10 = c10.add(b);
                c11 = c11.add(b);
            }
            if (relu) {
                c10 = c10.blend(0f, c10.compare(VectorOperators.LE, 0f));
                c11 = c11.blend(0f, c11.compare(VectorOperators.LE, 0f));
            }
            c10.intoMemorySegment(c, at + step, ORDER);
            c11.intoMemorySegment(c, at + step + VBYTES, ORDER);
        }
        if (mr > 2) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 8);
                c20 = c20.add(b);
                c21 = c21.add(b);
            }
            if (relu) {
                c20 = c20.blend(0f, c20.compare(VectorOperators.LE, 0f));
                c21 = c21.blend(0f, c21.compare(VectorOperators.LE, 0f));
            }
            c20.intoMemorySegment(c, at + 2 * step, ORDER);
            c21.intoMemorySegment(c, at + 2 * step + VBYTES, ORDER);
        }
        if (mr > 3) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 12);
                c30 = c30.add(b);
                c31 = c31.add(b);
            }
            if (relu) {
                c30 = c30.blend(0f, c30.compare(VectorOperators.LE, 0f));
                c31 = c31.blend(0f, c31.compare(VectorOperators.LE, 0f));
            }
            c30.intoMemorySegment(c, at + 3 * step, ORDER);
            c31.intoMemorySegment(c, at + 3 * step + VBYTES, ORDER);
        }
        if (mr > 4) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 16);
                c40 = c40.add(b);
                c41 = c41.add(b);
            }
            if (relu) {
                c40 = c40.blend(0f, c40.compare(VectorOperators.LE, 0f));
                c41 = c41.blend(0f, c41.compare(VectorOperators.LE, 0f));
            }
            c40.intoMemorySegment(c, at + 4 * step, ORDER);
            c41.intoMemorySegment(c, at + 4 * step + VBYTES, ORDER);
        }
        if (mr > 5) {
            if (bias != null) {
                float b = bias.get(FLOAT, biasByte + 20);
                c50 = c50.add(b);
                c51 = c51.add(b);
            }
            if (relu) {
                c50 = c50.blend(0f, c50.compare(VectorOperators.LE, 0f));
                c51 = c51.blend(0f, c51.compare(VectorOperators.LE, 0f));
            }
            c50.intoMemorySegment(c, at + 5 * step, ORDER);
            c51.intoMemorySegment(c, at + 5 * step + VBYTES, ORDER);
        }
    }


    /**
     * {@code C[m, n] (+)= A B} with A row-major in a heap array ({@code a[i * lda + p]}, at least
     * {@code ceil(m / MR) * MR} rows: the pad rows are read, their results never stored; the caller zeroes them) and B
     * in the packed-sliver layout of {@link #packBRow}. For an A made one row at a time (a convolution's columns in
     * its weight gradient): no packing at all, where dealing A into MR-row slivers cost as much as the product. The
     * kernels read each of the MR rows at {@code row + p}, an address C2 checks once per call; each element of C is
     * the same FMA chain per KC block as {@link #gemmPackedAB}'s: the same bits.
     */
    public static void gemmRowsAPackedB(int m, int n, int k, float[] a, int lda, float[] bp, MemorySegment c, long cOff, int ldc,
                                        boolean accumulate, float[] tile) {
        gemmRowsAPackedBTiles(m, n, k, a, null, lda, bp, c, cOff, ldc, accumulate, tile, 0, Integer.MAX_VALUE);
    }

    /**
     * {@link #gemmRowsAPackedB} with A's row i starting at {@code a[rows[i]]} ({@code ceil(m / MR) * MR} entries: pad
     * rows may start at any row, their results are never stored): a convolution's unfolded rows read where they lie in
     * a column-shifted staging ({@link Im2col#shiftTapOffsets}), never built row-major. The same FMA chains.
     */
    public static void gemmTapsAPackedB(int m, int n, int k, float[] a, int[] rows, float[] bp, MemorySegment c, long cOff, int ldc,
                                        boolean accumulate, float[] tile) {
        gemmRowsAPackedBTiles(m, n, k, a, rows, 0, bp, c, cOff, ldc, accumulate, tile, 0, Integer.MAX_VALUE);
    }

    /** Row tiles (MR rows of A and C each) of {@link #gemmRowsAPackedB} and {@link #gemmTapsAPackedB}: the units their row ranges take. */
    public static int rowTiles(int m) {
        return (m + MR - 1) / MR;
    }

    /**
     * {@link #gemmRowsAPackedB} ({@code rows} null, A's rows {@code lda} apart) or {@link #gemmTapsAPackedB} for row tiles
     * {@code [tileFrom, tileTo)} of {@link #rowTiles} only (clipped to them): the rows of C those tiles hold, each element
     * the same FMA chains in the same order, so ranges on several threads at once (each with its own tile) write the
     * bits of the whole call.
     */
    public static void gemmRowsAPackedBTiles(int m, int n, int k, float[] a, int[] rows, int lda, float[] bp, MemorySegment c, long cOff,
                                             int ldc, boolean accumulate, float[] tile, int tileFrom, int tileTo) {
        int i0 = Math.max(0, tileFrom) * MR;
        int i1 = (int) Math.min(m, (long) Math.min(rowTiles(m), tileTo) * MR);
        if (i0 >= i1 || n == 0) {
            return;
        }
        if (k == 0) {
            scaleOnly(i0, i1, 0, n, accumulate ? 1f : 0f, c, cOff, ldc, Epilogue.NONE);
            return;
        }
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            boolean first = pc == 0 && !accumulate;
            for (int j = 0; j < n; j += NR) {
                int nr = Math.min(NR, n - j);
                int sliver = (j / NR) * k * NR + pc * NR;
                for (int i = i0; i < i1; i += MR) {
                    int aBase = rows == null ? i * lda + pc : pc;
                    // the tile rowsATileColumns(nr) names: packBFromRows zeroes just the pad columns it reads
                    if (HALF_TILES && nr <= LANES / 2) { // LeNet's conv1 weight gradient: 6 output channels
                        kernel8x1HalfRowsA(a, rows, i, aBase, lda, bp, sliver, kc, tile);
                    } else if (nr <= LANES) { // one vector of columns (a convolution's weight gradient with og <= LANES)
                        if (TILE_KIND == 0) {
                            kernel8x1RowsA(a, rows, i, aBase, lda, bp, sliver, kc, tile);
                        } else {
                            kernel6x1RowsA(a, rows, i, aBase, lda, bp, sliver, kc, tile);
                        }
                    } else if (TILE_KIND == 0) {
                        kernel8x2RowsA(a, rows, i, aBase, lda, bp, sliver, kc, tile);
                    } else {
                        kernel6x2RowsA(a, rows, i, aBase, lda, bp, sliver, kc, tile);
                    }
                    writeTile(tile, c, cOff + (long) i * ldc + j, ldc, Math.min(MR, m - i), nr, 1f, first ? 0f : 1f, Epilogue.NONE, i, j);
                }
            }
        }
    }

    /**
     * The 6 x 2 tile over row-major A rows ({@link #gemmRowsAPackedB}). Its FMA block repeats {@link #kernel6x2Packed}'s
     * on purpose: only A's index differs ({@code row + p}, which C2 range-checks once per call, against the packed
     * panel's {@code ai += MR}), and a shared method with a variable A step would put a multiply or a per-step bounds
     * check back into both loops; each tile is its own straight-line method so C2 compiles it whole.
     */
    private static void kernel6x2RowsA(float[] a, int[] rows, int ri, int aBase, int lda, float[] bp, int bBase, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int r0 = aBase + (rows == null ? 0 : rows[ri + 0]);
        int r1 = aBase + (rows == null ? 1 * lda : rows[ri + 1]);
        int r2 = aBase + (rows == null ? 2 * lda : rows[ri + 2]);
        int r3 = aBase + (rows == null ? 3 * lda : rows[ri + 3]);
        int r4 = aBase + (rows == null ? 4 * lda : rows[ri + 4]);
        int r5 = aBase + (rows == null ? 5 * lda : rows[ri + 5]);
        // B's index as the loop variable, A's beside it: the one shape (of five tried) that C2 keeps in 16 registers
        // both where it strip-mines counted loops and where it does not (LoopShape); with p as the loop variable and
        // B's index derived, 7 ymm stack accesses a step under the Parallel collector
        int p = 0;
        for (int bi = bBase, bEnd = bBase + kc * NR; bi < bEnd; bi += NR, p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
            FloatVector a0 = FloatVector.broadcast(F, a[r0 + p]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, a[r1 + p]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, a[r2 + p]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, a[r3 + p]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(F, a[r4 + p]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(F, a[r5 + p]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
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
    }

    /**
     * The tiles of {@link #gemmRowsAPackedB} whose columns fit one vector: the first half of each sliver row only, so
     * a product with at most LANES columns (LeNet's weight gradients: 6 and 16 output channels) does half the FMAs and
     * loads of the two-vector tile, which would multiply zero pad columns. Each element is the same FMA chain in the
     * same order as in the two-vector tile: the same bits, whichever tile a width picks.
     */
    private static void kernel8x1RowsA(float[] a, int[] rows, int ri, int aBase, int lda, float[] bp, int bBase, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F), c5 = FloatVector.zero(F), c6 = FloatVector.zero(F), c7 = FloatVector.zero(F);
        int r0 = aBase + (rows == null ? 0 : rows[ri + 0]);
        int r1 = aBase + (rows == null ? 1 * lda : rows[ri + 1]);
        int r2 = aBase + (rows == null ? 2 * lda : rows[ri + 2]);
        int r3 = aBase + (rows == null ? 3 * lda : rows[ri + 3]);
        int r4 = aBase + (rows == null ? 4 * lda : rows[ri + 4]);
        int r5 = aBase + (rows == null ? 5 * lda : rows[ri + 5]);
        int r6 = aBase + (rows == null ? 6 * lda : rows[ri + 6]);
        int r7 = aBase + (rows == null ? 7 * lda : rows[ri + 7]);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bBase + p * NR);
            c0 = FloatVector.broadcast(F, a[r0 + p]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[r1 + p]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[r2 + p]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[r3 + p]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, a[r4 + p]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, a[r5 + p]).fma(b0, c5);
            c6 = FloatVector.broadcast(F, a[r6 + p]).fma(b0, c6);
            c7 = FloatVector.broadcast(F, a[r7 + p]).fma(b0, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
        c6.intoArray(tile, 6 * NR);
        c7.intoArray(tile, 7 * NR);
    }

    /**
     * Half-width vectors for tiles of at most LANES / 2 columns at 512 bits: where a 512-bit FMA takes both 256-bit
     * pipes (AMD Zen 4), two 256-bit FMAs a cycle do the work of one 512-bit FMA that is more than half pad lanes.
     * x86 only (measured there); at 16 registers or narrower vectors the full-width tile stays.
     */
    private static final boolean HALF_TILES = TILE_KIND == 0 && LANES == 16 && Simd.X86;

    /** {@link #kernel8x1Taps} in half-width vectors for blocks of at most LANES / 2 columns ({@link #HALF_TILES}). */
    private static void kernel8x1HalfTaps(float[] ap, int aBase, float[] img, int[] taps, int p0, int p1, int q0, float[] tile) {
        FloatVector c0 = FloatVector.zero(Vectors.HALF), c1 = FloatVector.zero(Vectors.HALF), c2 = FloatVector.zero(Vectors.HALF), c3 = FloatVector.zero(Vectors.HALF);
        FloatVector c4 = FloatVector.zero(Vectors.HALF), c5 = FloatVector.zero(Vectors.HALF), c6 = FloatVector.zero(Vectors.HALF), c7 = FloatVector.zero(Vectors.HALF);
        int ai = aBase;
        for (int p = p0; p < p1; p++, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(Vectors.HALF, img, taps[p] + q0);
            c0 = FloatVector.broadcast(Vectors.HALF, ap[ai + 0]).fma(b0, c0);
            c1 = FloatVector.broadcast(Vectors.HALF, ap[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(Vectors.HALF, ap[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(Vectors.HALF, ap[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(Vectors.HALF, ap[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(Vectors.HALF, ap[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(Vectors.HALF, ap[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(Vectors.HALF, ap[ai + 7]).fma(b0, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
        c6.intoArray(tile, 6 * NR);
        c7.intoArray(tile, 7 * NR);
    }

    /**
     * {@link #kernel8x1RowsA} over the first LANES / 2 columns of each sliver row, in half-width vectors (LeNet's conv1
     * weight gradient: 6 output channels, 25 taps over 784 pixels). Each element the same FMA chain: the same bits.
     */
    private static void kernel8x1HalfRowsA(float[] a, int[] rows, int ri, int aBase, int lda, float[] bp, int bBase, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(Vectors.HALF), c1 = FloatVector.zero(Vectors.HALF), c2 = FloatVector.zero(Vectors.HALF), c3 = FloatVector.zero(Vectors.HALF);
        FloatVector c4 = FloatVector.zero(Vectors.HALF), c5 = FloatVector.zero(Vectors.HALF), c6 = FloatVector.zero(Vectors.HALF), c7 = FloatVector.zero(Vectors.HALF);
        int r0 = aBase + (rows == null ? 0 : rows[ri]);
        int r1 = aBase + (rows == null ? lda : rows[ri + 1]);
        int r2 = aBase + (rows == null ? 2 * lda : rows[ri + 2]);
        int r3 = aBase + (rows == null ? 3 * lda : rows[ri + 3]);
        int r4 = aBase + (rows == null ? 4 * lda : rows[ri + 4]);
        int r5 = aBase + (rows == null ? 5 * lda : rows[ri + 5]);
        int r6 = aBase + (rows == null ? 6 * lda : rows[ri + 6]);
        int r7 = aBase + (rows == null ? 7 * lda : rows[ri + 7]);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(Vectors.HALF, bp, bBase + p * NR);
            c0 = FloatVector.broadcast(Vectors.HALF, a[r0 + p]).fma(b0, c0);
            c1 = FloatVector.broadcast(Vectors.HALF, a[r1 + p]).fma(b0, c1);
            c2 = FloatVector.broadcast(Vectors.HALF, a[r2 + p]).fma(b0, c2);
            c3 = FloatVector.broadcast(Vectors.HALF, a[r3 + p]).fma(b0, c3);
            c4 = FloatVector.broadcast(Vectors.HALF, a[r4 + p]).fma(b0, c4);
            c5 = FloatVector.broadcast(Vectors.HALF, a[r5 + p]).fma(b0, c5);
            c6 = FloatVector.broadcast(Vectors.HALF, a[r6 + p]).fma(b0, c6);
            c7 = FloatVector.broadcast(Vectors.HALF, a[r7 + p]).fma(b0, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
        c6.intoArray(tile, 6 * NR);
        c7.intoArray(tile, 7 * NR);
    }

    /** {@link #kernel8x1RowsA} with the 6-row tile of 16-register machines. */
    private static void kernel6x1RowsA(float[] a, int[] rows, int ri, int aBase, int lda, float[] bp, int bBase, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F), c4 = FloatVector.zero(F), c5 = FloatVector.zero(F);
        int r0 = aBase + (rows == null ? 0 : rows[ri + 0]);
        int r1 = aBase + (rows == null ? 1 * lda : rows[ri + 1]);
        int r2 = aBase + (rows == null ? 2 * lda : rows[ri + 2]);
        int r3 = aBase + (rows == null ? 3 * lda : rows[ri + 3]);
        int r4 = aBase + (rows == null ? 4 * lda : rows[ri + 4]);
        int r5 = aBase + (rows == null ? 5 * lda : rows[ri + 5]);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bBase + p * NR);
            c0 = FloatVector.broadcast(F, a[r0 + p]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[r1 + p]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[r2 + p]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[r3 + p]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, a[r4 + p]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, a[r5 + p]).fma(b0, c5);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
    }

    /** The 8 x 2 tile over row-major A rows ({@link #gemmRowsAPackedB}), for 32 vector registers. */
    private static void kernel8x2RowsA(float[] a, int[] rows, int ri, int aBase, int lda, float[] bp, int bBase, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        int r0 = aBase + (rows == null ? 0 : rows[ri + 0]);
        int r1 = aBase + (rows == null ? 1 * lda : rows[ri + 1]);
        int r2 = aBase + (rows == null ? 2 * lda : rows[ri + 2]);
        int r3 = aBase + (rows == null ? 3 * lda : rows[ri + 3]);
        int r4 = aBase + (rows == null ? 4 * lda : rows[ri + 4]);
        int r5 = aBase + (rows == null ? 5 * lda : rows[ri + 5]);
        int r6 = aBase + (rows == null ? 6 * lda : rows[ri + 6]);
        int r7 = aBase + (rows == null ? 7 * lda : rows[ri + 7]);
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
            FloatVector a0 = FloatVector.broadcast(F, a[r0 + p]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, a[r1 + p]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, a[r2 + p]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, a[r3 + p]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(F, a[r4 + p]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(F, a[r5 + p]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(F, a[r6 + p]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(F, a[r7 + p]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
        }
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
    }

    /** Columns of a B stored row-major in a heap array with leading dimension {@code ldb}, padded to whole NR-column slivers. */
    public static int paddedColumns(int n) {
        return (n + NR - 1) / NR * NR;
    }

    /**
     * B {@code [k, n]} for {@link #gemvPacked}: from a row-major {@code B[k, n]} ({@code transB} false: element
     * (p, col) at {@code bOff + p ldb + col}) or from its transpose, a Linear layer's weight {@code [n, k]}
     * ({@code transB}: at {@code bOff + col ldb + p}). Its {@code paddedColumns(n)} columns (zero past n) lie in the
     * blocks gemvPacked takes them (4, then 2, then 1 vectors wide), each block's k rows contiguous
     * ({@code t[j k + p width + (col - j)]} for the block starting at column j): a block is one sequential stream.
     * Rows {@code paddedColumns(n)} floats apart (one [k, np] matrix) ran LeNet's 400 x 120 layer at 3.1 us for batch
     * 1, each step touching 8 lines 512 bytes apart (AMD EPYC Zen 4). The one place that layout is written.
     */
    public static float[] packGemv(boolean transB, MemorySegment b, long bOff, int ldb, int k, int n) {
        int np = paddedColumns(n);
        float[] t = new float[Math.multiplyExact(k, np)];
        for (int j = 0, width; j < np; j += width) {
            width = gemvBlockWidth(np, j);
            for (int col = j; col < Math.min(n, j + width); col++) {
                for (int p = 0; p < k; p++) {
                    long at = transB ? bOff + (long) col * ldb + p : bOff + (long) p * ldb + col;
                    t[j * k + p * width + col - j] = b.get(FLOAT, at << 2);
                }
            }
        }
        return t;
    }

    /** Width of {@link #gemvPacked}'s block starting at column j of np: 4 vectors while they fit, then 2, then 1. */
    private static int gemvBlockWidth(int np, int j) {
        return j + 4 * LANES <= np ? 4 * LANES : j + 2 * LANES <= np ? 2 * LANES : LANES;
    }

    /**
     * {@code y[0, n) = x[0, k) Bt} (+ epilogue, bias per column) with {@code Bt} from {@link #packGemv}: a
     * matrix-vector product for batch-1 inference. Each block of 64 outputs keeps eight accumulators (even and
     * odd k), enough independent FMAs to hide their latency.
     */
    public static void gemvPacked(MemorySegment x, long xOff, int n, int k, float[] bt, MemorySegment y, long yOff, Epilogue epi,
                                  float[] tile) {
        int np = paddedColumns(n); // a whole number of vectors (NR is), not necessarily of 2 or 4 vectors
        long xb = xOff << 2;
        if (ColdStart.gemvs > 0 && ColdStart.gemv()) {
            gemvScalar(x, xOff, n, k, bt, y, yOff, epi, tile); // a young process: the same bits, scalar (see ColdStart)
            return;
        }
        for (int j = 0, width; j < np; j += width) {
            width = gemvBlockWidth(np, j); // the blocks packGemv laid out
            if (width == 4 * LANES) {
                gemv64(x, xb, k, bt, j, tile);
            } else if (width == 2 * LANES) {
                gemv32(x, xb, k, bt, j, tile);
            } else {
                gemv16(x, xb, k, bt, j, tile);
            }
            storeRow(tile, y, yOff + j, Math.min(width, n - j), epi, j);
        }
    }

    /**
     * {@link #gemvPacked}'s scalar form, for a young process ({@link ColdStart}): each output column is the vector
     * forms' two FMA chains, over the even and the odd steps of p from zero, added at the end (lane for lane what
     * {@link #gemv64}, {@link #gemv32} and {@link #gemv16} compute), then the same {@link #storeRow}. Its first vector
     * call in a process also initialised the Vector API's operators and linked their lambdas: ~12 ms of ResNet-20's
     * self-check and as much of its trace. Copies x to the heap (segment reads in the interpreter cost more than the
     * arithmetic); allocates, being for cold calls only.
     */
    static void gemvScalar(MemorySegment x, long xOff, int n, int k, float[] bt, MemorySegment y, long yOff, Epilogue epi, float[] tile) {
        float[] xs = new float[k];
        MemorySegment.copy(x, FLOAT, xOff << 2, xs, 0, k);
        int np = paddedColumns(n);
        for (int j = 0, width; j < np; j += width) {
            width = gemvBlockWidth(np, j);
            for (int c = 0; c < width; c++) {
                float even = 0f;
                float odd = 0f;
                int p = 0;
                for (; p + 1 < k; p += 2) {
                    even = Math.fma(bt[j * k + p * width + c], xs[p], even);
                    odd = Math.fma(bt[j * k + (p + 1) * width + c], xs[p + 1], odd);
                }
                if (p < k) {
                    even = Math.fma(bt[j * k + p * width + c], xs[p], even);
                }
                tile[c] = even + odd;
            }
            storeRow(tile, y, yOff + j, Math.min(width, n - j), epi, j);
        }
    }

    private static void gemv64(MemorySegment x, long xb, int k, float[] bt, int j, float[] tile) {
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F), o1 = FloatVector.zero(F), o2 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        int p = 0;
        for (; p + 1 < k; p += 2) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            FloatVector xo = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) (p + 1) << 2)));
            int r = j * k + p * 4 * LANES;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
            e2 = FloatVector.fromArray(F, bt, r + 2 * LANES).fma(xe, e2);
            e3 = FloatVector.fromArray(F, bt, r + 3 * LANES).fma(xe, e3);
            r += 4 * LANES;
            o0 = FloatVector.fromArray(F, bt, r).fma(xo, o0);
            o1 = FloatVector.fromArray(F, bt, r + LANES).fma(xo, o1);
            o2 = FloatVector.fromArray(F, bt, r + 2 * LANES).fma(xo, o2);
            o3 = FloatVector.fromArray(F, bt, r + 3 * LANES).fma(xo, o3);
        }
        if (p < k) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            int r = j * k + p * 4 * LANES;
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

    private static void gemv32(MemorySegment x, long xb, int k, float[] bt, int j, float[] tile) {
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o0 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        int p = 0;
        for (; p + 1 < k; p += 2) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            FloatVector xo = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) (p + 1) << 2)));
            int r = j * k + p * 2 * LANES;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
            r += 2 * LANES;
            o0 = FloatVector.fromArray(F, bt, r).fma(xo, o0);
            o1 = FloatVector.fromArray(F, bt, r + LANES).fma(xo, o1);
        }
        if (p < k) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            int r = j * k + p * 2 * LANES;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            e1 = FloatVector.fromArray(F, bt, r + LANES).fma(xe, e1);
        }
        e0.add(o0).intoArray(tile, 0);
        e1.add(o1).intoArray(tile, LANES);
    }

    /** One vector of outputs of {@link #gemvPacked}, in the same even/odd order as {@link #gemv64}. */
    private static void gemv16(MemorySegment x, long xb, int k, float[] bt, int j, float[] tile) {
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F);
        int p = 0;
        for (; p + 1 < k; p += 2) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            FloatVector xo = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) (p + 1) << 2)));
            int r = j * k + p * LANES;
            e0 = FloatVector.fromArray(F, bt, r).fma(xe, e0);
            o0 = FloatVector.fromArray(F, bt, r + LANES).fma(xo, o0);
        }
        if (p < k) {
            FloatVector xe = FloatVector.broadcast(F, x.get(FLOAT, xb + ((long) p << 2)));
            e0 = FloatVector.fromArray(F, bt, j * k + p * LANES).fma(xe, e0);
        }
        e0.add(o0).intoArray(tile, 0);
    }

    /** y[0, cols) = tile[0, cols) + bias (per column) then ReLU, as the epilogue says. */
    private static void storeRow(float[] tile, MemorySegment y, long yElem, int cols, Epilogue epi, int col) {
        for (int h = 0; h < cols; h++) {
            float v = tile[h];
            if (epi.bias() != null) {
                v += epi.bias().get(FLOAT, (epi.biasOff() + col + h) << 2);
            }
            if (epi.relu() && v <= 0f) {
                v = 0f;
            }
            y.set(FLOAT, (yElem + h) << 2, v);
        }
        if (epi.rowActivation()) {
            Elementwise.unaryContiguous(epi.activation(), epi.p(), epi.q(), y, yElem << 2, y, yElem << 2, cols);
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
        int rowsOfTile = blockRowsFor(m1 - m0);
        long sampled = -1;
        if (rowsOfTile == 12) {
            ws.packedB(k, NR); // a new thread's packed-B buffer, made before a sample reads the heap counter
            sampled = TileGuard.begin((long) ((m1 - m0 + 11) / 12) * ((n1 - n0 + NR - 1) / NR) * ((k + KC - 1) / KC));
        }
        blockedLoops(transA, transB, m0, m1, n0, n1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, epi, ws, rowsOfTile);
        TileGuard.end(sampled);
    }

    /** {@link #blocked}'s loops, with tiles of {@code rowsOfTile} rows. */
    private static void blockedLoops(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
                                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                     float beta, MemorySegment c, long cOff, int ldc, Epilogue epi, Workspace ws, int rowsOfTile) {
        int step = columnBlock(n1 - n0);
        for (int jc = n0; jc < n1; jc += step) {
            int nc = Math.min(step, n1 - jc);
            int ncPadded = (nc + NR - 1) / NR * NR;
            // up to K_BLOCKS_PACKED depth blocks of B (and of A) at once, as many as the workspace holds: each tile of C
            // then takes those blocks back to back (see K_BLOCKS_PACKED)
            float[] bp = ws.packedB(k, ncPadded);
            int blocks = Math.max(1, Math.min(K_BLOCKS_PACKED, Math.min(bp.length / (ncPadded * KC), ws.a.length / (MC * KC))));
            int chunk = KC * blocks;
            for (int pc0 = 0; pc0 < k; pc0 += chunk) {
                int pcEnd = Math.min(k, pc0 + chunk);
                for (int pc = pc0; pc < pcEnd; pc += KC) {
                    packB(transB, b, bOff, ldb, pc, Math.min(KC, k - pc), jc, nc, bp, (pc - pc0) * ncPadded, ws.row);
                }
                // two depth blocks summed in the workspace before C is touched (writeWholeTilePair): whole tiles, alpha 1,
                // C's old value either ignored (beta 0), added (beta 1) or an earlier chunk's, no epilogue in this chunk
                boolean pairs = pcEnd - pc0 > KC && pcEnd - pc0 <= 2 * KC && alpha == 1f && (pc0 > 0 || beta == 0f || beta == 1f) && (pcEnd < k || epi.isNone());
                int kc1 = pcEnd - pc0 - KC; // the second block's depth, where there is one
                for (int ic = m0; ic < m1; ic += MC) {
                    int mc = Math.min(MC, m1 - ic);
                    for (int pc = pc0; pc < pcEnd; pc += KC) {
                        packA(transA, a, aOff, lda, ic, mc, pc, Math.min(KC, k - pc), ws.a, (pc - pc0) * MC, rowsOfTile, ws.split);
                    }
                    if (pairs && ROWS_FIRST) {
                        // A sliver by A sliver over ROWS_FIRST_COLUMNS of B at a time (see ROWS_FIRST); edge tiles as below.
                        // (Chunks without pairs keep the order below: a 512^3 product, one depth block, ran no faster
                        // this way, 1.003x and 1.010x in 11 alternated rounds each way on the Xeon.)
                        boolean add = pc0 > 0 || beta == 1f;
                        for (int js = 0; js < nc; js += ROWS_FIRST_COLUMNS) {
                            int jsEnd = Math.min(nc, js + ROWS_FIRST_COLUMNS);
                            for (int ir = 0; ir < mc; ir += rowsOfTile) {
                                int mr = Math.min(rowsOfTile, mc - ir);
                                for (int jr = js; jr < jsEnd; jr += NR) {
                                    int nr = Math.min(NR, nc - jr);
                                    long cElem = cOff + (long) (ic + ir) * ldc + jc + jr;
                                    if (mr == rowsOfTile && nr == NR) {
                                        blockTile(rowsOfTile, ws.a, ir * KC, bp, jr * KC, KC, ws.tile, 0, mr, nr);
                                        blockTile(rowsOfTile, ws.a, KC * MC + ir * kc1, bp, KC * ncPadded + jr * kc1, kc1, ws.tile2, 0, mr, nr);
                                        writeWholeTilePair(ws.tile, 0, ws.tile2, c, cElem, ldc, mr, add);
                                        continue;
                                    }
                                    for (int pc = pc0; pc < pcEnd; pc += KC) {
                                        int kc = Math.min(KC, k - pc);
                                        blockTile(rowsOfTile, ws.a, (pc - pc0) * MC + ir * kc, bp, (pc - pc0) * ncPadded + jr * kc, kc, ws.tile, 0, mr, nr);
                                        writeTile(ws.tile, c, cElem, ldc, mr, nr, alpha, pc == 0 ? beta : 1f, pc + kc == k ? epi : Epilogue.NONE, ic + ir, jc + jr);
                                    }
                                }
                            }
                        }
                        continue;
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        if (pairs && nr == NR) {
                            // the first depth block of every whole tile of this column sliver, then the second block's
                            // below, each summed with its first as C is written: each B sliver serves its tiles back to
                            // back, in L1 where it fits (32 KB at 8 lanes; both slivers of a tile, taken in turn, did not).
                            // Measured (Xeon, -XX:UseAVX=2, 1024^3, one thread, 5 alternated rounds): 102.8 -> 106.7
                            // GFLOP/s; 512 bits (64 KB slivers) alike, 164.0 -> 164.6. The same tiles, the same sums.
                            for (int ir = 0; ir + rowsOfTile <= mc; ir += rowsOfTile) {
                                blockTile(rowsOfTile, ws.a, ir * KC, bp, jr * KC, KC, ws.pairTiles, ir * NR, rowsOfTile, nr);
                            }
                        }
                        for (int ir = 0; ir < mc; ir += rowsOfTile) {
                            int mr = Math.min(rowsOfTile, mc - ir);
                            long cElem = cOff + (long) (ic + ir) * ldc + jc + jr;
                            if (pairs && mr == rowsOfTile && nr == NR) {
                                blockTile(rowsOfTile, ws.a, KC * MC + ir * kc1, bp, KC * ncPadded + jr * kc1, kc1, ws.tile2, 0, mr, nr);
                                writeWholeTilePair(ws.pairTiles, ir * NR, ws.tile2, c, cElem, ldc, mr, pc0 > 0 || beta == 1f);
                                continue;
                            }
                            for (int pc = pc0; pc < pcEnd; pc += KC) {
                                int kc = Math.min(KC, k - pc);
                                blockTile(rowsOfTile, ws.a, (pc - pc0) * MC + ir * kc, bp, (pc - pc0) * ncPadded + jr * kc, kc, ws.tile, 0, mr, nr);
                                writeTile(ws.tile, c, cElem, ldc, mr, nr, alpha, pc == 0 ? beta : 1f, pc + kc == k ? epi : Epilogue.NONE, ic + ir, jc + jr);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Columns per B block: as few blocks as {@link #NC} allows, of equal width (a multiple of NR). Every block packs
     * all of A again, so 1,040 columns as 1,024 + 16 packed A twice for one sliver of work in the second block
     * (1040^3 ran ~30% slower than 1024^3); as 2 x 528 the second packing does as much work as the first. Column
     * blocks do not change any sum: the bits are the same.
     */
    static int columnBlock(int width) {
        int blocks = (width + NC - 1) / NC;
        if (blocks <= 1) {
            return NC;
        }
        long even = ((long) width + blocks - 1) / blocks;
        return (int) Math.min(NC, (even + NR - 1) / NR * NR);
    }

    /**
     * op(A)[ic.., pc..] -> slivers of {@code sliver} rows (MR or {@link #BLOCK_ROWS}): ap[s * kc * sliver + p * sliver + r],
     * zero-padded past m.
     */
    private static void packA(boolean transA, MemorySegment a, long aOff, int lda, int ic, int mc, int pc, int kc, float[] ap, int at, int sliver,
                              float[] split) {
        for (int s = 0; s < mc; s += sliver) {
            int rows = Math.min(sliver, mc - s);
            int d = at + s * kc;
            if (rows < sliver) {
                java.util.Arrays.fill(ap, d, d + kc * sliver, 0f);
            }
            if (sliver == 12) {
                packSliver12(transA, a, aOff, lda, ic + s, rows, pc, kc, ap, d, split);
            } else if (transA) {
                packATransposed(a, aOff, lda, ic + s, rows, pc, kc, ap, d);
            } else {
                packARows(a, aOff, lda, ic + s, rows, pc, kc, ap, d);
            }
        }
    }

    /**
     * Twelve rows of row-major A in two slivers, rows 0-7 as an 8-row one (split[p 8 + r]) and rows 8-11 as a 4-row one
     * (split[8 kc + p 4 + r - 8]), which transpose by whole vectors ({@link #packARowsZipped},
     * {@link #packARowsZipped4}); the steps past the last whole vector float by float.
     */
    private static void packSplitSliver(MemorySegment a, long aOff, int lda, int row, int pc, int kc, float[] split) {
        int four = 8 * kc;
        int p0 = Math.min(packARowsZipped(a, aOff, lda, row, pc, kc, split, 0), packARowsZipped4(a, aOff, lda, row + 8, pc, kc, split, four));
        for (int r = 0; r < 12; r++) {
            int dst = r < 8 ? r : four + r - 8;
            int step = r < 8 ? 8 : 4;
            long rowByte = (aOff + (long) (row + r) * lda + pc) << 2;
            for (int p = p0; p < kc; p++) {
                split[dst + p * step] = a.get(FLOAT, rowByte + ((long) p << 2));
            }
        }
    }

    /**
     * A 12-row sliver of op(A), ap[base + p 12 + r], for {@link #kernel12x2Packed}: whole slivers of row-major A by
     * {@link #packSplitSliver} into {@code split} (two parts that transpose by whole vectors), then each step's 8 and 4
     * floats copied into place by 256- and 128-bit vectors; of A^T (12 contiguous floats a step) likewise straight from
     * A; the rest float by float. Measured (Xeon, 512 bits, 1024^3): float by float the packing took 7% of the product,
     * this way 3%, about what the 8-row slivers' zipped packing takes.
     */
    private static void packSliver12(boolean transA, MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base,
                                     float[] split) {
        if (rows == 12 && LANES >= 8) {
            if (transA) {
                for (int p = 0; p < kc; p++) {
                    long colByte = (aOff + (long) (pc + p) * lda + row) << 2;
                    FloatVector.fromMemorySegment(Vectors.F8, a, colByte, ORDER).intoArray(ap, base + p * 12);
                    FloatVector.fromMemorySegment(Vectors.F4, a, colByte + 32, ORDER).intoArray(ap, base + p * 12 + 8);
                }
                return;
            }
            if (ZIP_PACK_A) {
                packSplitSliver(a, aOff, lda, row, pc, kc, split);
                int four = 8 * kc;
                for (int p = 0; p < kc; p++) {
                    FloatVector.fromArray(Vectors.F8, split, p * 8).intoArray(ap, base + p * 12);
                    FloatVector.fromArray(Vectors.F4, split, four + p * 4).intoArray(ap, base + p * 12 + 8);
                }
                return;
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < kc; p++) {
                long at = transA ? (aOff + (long) (pc + p) * lda + row + r) << 2 : (aOff + (long) (row + r) * lda + pc + p) << 2;
                ap[base + p * 12 + r] = a.get(FLOAT, at);
            }
        }
    }

    /**
     * {@link #packARowsZipped} for 4 rows: two rounds of zips (rows r and r + 2, then the results) leave each vector
     * holding 4 steps of p, 4 rows each. Returns the steps of p done (a multiple of LANES).
     */
    private static int packARowsZipped4(MemorySegment a, long aOff, int lda, int row, int pc, int kc, float[] ap, int base) {
        long ld = (long) lda << 2;
        long r0 = (aOff + (long) row * lda + pc) << 2;
        int p = 0;
        for (; p + LANES <= kc; p += LANES) {
            long o = r0 + ((long) p << 2);
            FloatVector a0 = FloatVector.fromMemorySegment(F, a, o, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(F, a, o + ld, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(F, a, o + 2 * ld, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(F, a, o + 3 * ld, ORDER);
            FloatVector b0 = Vectors.ZIP_LO.selectFrom(a0, a2), b1 = Vectors.ZIP_HI.selectFrom(a0, a2);
            FloatVector b2 = Vectors.ZIP_LO.selectFrom(a1, a3), b3 = Vectors.ZIP_HI.selectFrom(a1, a3);
            int d = base + p * 4;
            Vectors.ZIP_LO.selectFrom(b0, b2).intoArray(ap, d);
            Vectors.ZIP_HI.selectFrom(b0, b2).intoArray(ap, d + LANES);
            Vectors.ZIP_LO.selectFrom(b1, b3).intoArray(ap, d + 2 * LANES);
            Vectors.ZIP_HI.selectFrom(b1, b3).intoArray(ap, d + 3 * LANES);
        }
        return p;
    }

    /**
     * MR rows of row-major A -> one sliver: ap[base + p MR + r] = A[row + r, pc + p], a transpose of an MR x kc block.
     * Whole slivers take {@link #packARowsZipped} where a vector holds two or more steps of p (16 lanes, 8 rows); the
     * rest go float by float.
     */
    private static void packARows(MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base) {
        int p0 = 0;
        if (ColdStart.pack()) { // a young process: float by float, the same floats (see ColdStart)
            packARowsCold(a, aOff, lda, row, rows, pc, kc, ap, base);
            return;
        }
        if (rows == MR && ZIP_PACK_A) {
            p0 = packARowsZipped(a, aOff, lda, row, pc, kc, ap, base);
        } else if (rows == MR && PACK_A6) {
            p0 = packARows6(a, aOff, lda, row, pc, kc, ap, base);
        }
        for (int r = 0; r < rows; r++) {
            long rowByte = (aOff + (long) (row + r) * lda + pc) << 2;
            for (int p = p0; p < kc; p++) {
                ap[base + p * MR + r] = a.get(FLOAT, rowByte + ((long) p << 2));
            }
        }
    }

    /**
     * {@link #packARows}'s float-by-float form for a young process: each row copied to the heap first, since a segment
     * read per float is a VarHandle call chain in the interpreter (~1 us; ResNet-20's direct convolutions' weights,
     * ~26,000 floats packed when its plan binds, showed up in a cold start's samples). Allocates: the young process's
     * first slivers only.
     */
    private static void packARowsCold(MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base) {
        float[] line = new float[kc];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(a, FLOAT, (aOff + (long) (row + r) * lda + pc) << 2, line, 0, kc);
            for (int p = 0; p < kc; p++) {
                ap[base + p * MR + r] = line[p];
            }
        }
    }

    /**
     * Where a 6-row sliver is packed by {@link #packARows6}: on x86 at 4 or more lanes (AVX2's 6 x 2 tile; 4 lanes with
     * 16 registers too).
     */
    static final boolean PACK_A6 = MR == 6 && LANES >= 4 && Simd.X86;

    /**
     * {@link #packARows} for 6 rows, 4 steps of p at a time in 128-bit vectors: rows 0-3 transposed as a 4 x 4 block
     * (two rounds of zips), rows 4 and 5 zipped into pairs. Each step's rows 0-3 and 4-5 are stored as 4 floats at
     * their place, in order, so a pair's store spills 2 floats onto the next step's rows 0 and 1, which that step's
     * store then overwrites; hence the loop stops while a step is left for the scalar tail. 128-bit, not 8 x 8 blocks
     * at 8 lanes: a 128-bit rearrange is an in-lane vpermilps, where an 8-lane one is a cross-lane vpermps, which
     * Zen 3 issues at half the rate: the 8 x 8 transpose with two dead rows ran 1.05-1.09x slower than float by float,
     * this 0.83-0.85x (144 x 512 block, Zen 3, AVX2; the copy is bound by A's reads from L3 more than by its
     * instructions). SGEMM 1024^3 on one thread: 0.981-0.985x the time.
     */
    private static int packARows6(MemorySegment a, long aOff, int lda, int row, int pc, int kc, float[] ap, int base) {
        long ld = (long) lda << 2;
        long r0 = (aOff + (long) row * lda + pc) << 2;
        VectorShuffle<Float> lo = Zips4.LO, hi = Zips4.HI, upper = Zips4.UPPER;
        VectorMask<Float> odd = Zips4.ODD;
        int p = 0;
        for (; p + 4 < kc; p += 4) {
            long o = r0 + ((long) p << 2);
            FloatVector a0 = FloatVector.fromMemorySegment(Vectors.F4, a, o, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(Vectors.F4, a, o + ld, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(Vectors.F4, a, o + 2 * ld, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(Vectors.F4, a, o + 3 * ld, ORDER);
            FloatVector a4 = FloatVector.fromMemorySegment(Vectors.F4, a, o + 4 * ld, ORDER);
            FloatVector a5 = FloatVector.fromMemorySegment(Vectors.F4, a, o + 5 * ld, ORDER);
            // zips written out, not called (see transpose8x8)
            FloatVector t0 = a0.rearrange(lo).blend(a2.rearrange(lo), odd), t1 = a0.rearrange(hi).blend(a2.rearrange(hi), odd);
            FloatVector t2 = a1.rearrange(lo).blend(a3.rearrange(lo), odd), t3 = a1.rearrange(hi).blend(a3.rearrange(hi), odd);
            FloatVector u0 = a4.rearrange(lo).blend(a5.rearrange(lo), odd), u1 = a4.rearrange(hi).blend(a5.rearrange(hi), odd);
            int d = base + p * 6;
            t0.rearrange(lo).blend(t2.rearrange(lo), odd).intoArray(ap, d);
            u0.intoArray(ap, d + 4);
            t0.rearrange(hi).blend(t2.rearrange(hi), odd).intoArray(ap, d + 6);
            u0.rearrange(upper).intoArray(ap, d + 10);
            t1.rearrange(lo).blend(t3.rearrange(lo), odd).intoArray(ap, d + 12);
            u1.intoArray(ap, d + 16);
            t1.rearrange(hi).blend(t3.rearrange(hi), odd).intoArray(ap, d + 18);
            u1.rearrange(upper).intoArray(ap, d + 22);
        }
        return p;
    }

    /** {@link #packARows6}'s constants, made where it first runs. */
    private static final class Zips4 {
        private Zips4() {
        }

        static final VectorShuffle<Float> LO = VectorShuffle.fromValues(Vectors.F4, 0, 0, 1, 1);
        static final VectorShuffle<Float> HI = VectorShuffle.fromValues(Vectors.F4, 2, 2, 3, 3);
        static final VectorShuffle<Float> UPPER = VectorShuffle.fromValues(Vectors.F4, 2, 3, 0, 1);
        static final VectorMask<Float> ODD = VectorMask.fromValues(Vectors.F4, false, true, false, true);
    }

    /**
     * Where an 8-row sliver is packed by vectors: at 16 or more lanes (two or more steps of p per vector) on x86, where
     * a two-vector select is one instruction (AVX-512's vpermt2ps). Measured (AMD EPYC Zen 4, 144 x 512 block, scratch
     * harness): 0.13 ns a float against 0.29 element by element at 512 bits; at 8 lanes (24 selects per 64 floats,
     * emulated on AVX2) 0.32 against 0.29, and at 4 lanes 0.29 against 0.29, so those keep the scalar loop. Elsewhere
     * (SVE at 512 bits) the select is not measured and may take the Vector API's slow path: scalar there too.
     */
    static final boolean ZIP_PACK_A = MR == 8 && LANES >= 2 * MR && Simd.X86;

    private static FloatVector zipIndex(int from) {
        float[] index = new float[LANES];
        for (int i = 0; i < LANES; i++) {
            index[i] = from + i / 2 + (i % 2 == 0 ? 0 : LANES); // selectFrom indexes the two vectors as one of 2 LANES
        }
        return FloatVector.fromArray(F, index, 0);
    }

    /**
     * The transpose of {@link #packARows} for 8 rows, LANES steps of p at a time: the 8 rows' vectors zip (interleave)
     * in three rounds, rows r and r + 4, then the results likewise, so that the 8 vectors read out in order hold
     * p-major, r-minor: each round moves one bit of the row index below the lane index (a perfect shuffle). Returns the
     * steps of p done (a multiple of LANES); the caller packs the rest.
     */
    private static int packARowsZipped(MemorySegment a, long aOff, int lda, int row, int pc, int kc, float[] ap, int base) {
        long ld = (long) lda << 2;
        long r0 = (aOff + (long) row * lda + pc) << 2;
        int p = 0;
        for (; p + LANES <= kc; p += LANES) {
            long o = r0 + ((long) p << 2);
            FloatVector a0 = FloatVector.fromMemorySegment(F, a, o, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(F, a, o + ld, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(F, a, o + 2 * ld, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(F, a, o + 3 * ld, ORDER);
            FloatVector a4 = FloatVector.fromMemorySegment(F, a, o + 4 * ld, ORDER);
            FloatVector a5 = FloatVector.fromMemorySegment(F, a, o + 5 * ld, ORDER);
            FloatVector a6 = FloatVector.fromMemorySegment(F, a, o + 6 * ld, ORDER);
            FloatVector a7 = FloatVector.fromMemorySegment(F, a, o + 7 * ld, ORDER);
            FloatVector b0 = Vectors.ZIP_LO.selectFrom(a0, a4), b1 = Vectors.ZIP_HI.selectFrom(a0, a4);
            FloatVector b2 = Vectors.ZIP_LO.selectFrom(a1, a5), b3 = Vectors.ZIP_HI.selectFrom(a1, a5);
            FloatVector b4 = Vectors.ZIP_LO.selectFrom(a2, a6), b5 = Vectors.ZIP_HI.selectFrom(a2, a6);
            FloatVector b6 = Vectors.ZIP_LO.selectFrom(a3, a7), b7 = Vectors.ZIP_HI.selectFrom(a3, a7);
            FloatVector c0 = Vectors.ZIP_LO.selectFrom(b0, b4), c1 = Vectors.ZIP_HI.selectFrom(b0, b4);
            FloatVector c2 = Vectors.ZIP_LO.selectFrom(b1, b5), c3 = Vectors.ZIP_HI.selectFrom(b1, b5);
            FloatVector c4 = Vectors.ZIP_LO.selectFrom(b2, b6), c5 = Vectors.ZIP_HI.selectFrom(b2, b6);
            FloatVector c6 = Vectors.ZIP_LO.selectFrom(b3, b7), c7 = Vectors.ZIP_HI.selectFrom(b3, b7);
            int d = base + p * 8;
            Vectors.ZIP_LO.selectFrom(c0, c4).intoArray(ap, d);
            Vectors.ZIP_HI.selectFrom(c0, c4).intoArray(ap, d + LANES);
            Vectors.ZIP_LO.selectFrom(c1, c5).intoArray(ap, d + 2 * LANES);
            Vectors.ZIP_HI.selectFrom(c1, c5).intoArray(ap, d + 3 * LANES);
            Vectors.ZIP_LO.selectFrom(c2, c6).intoArray(ap, d + 4 * LANES);
            Vectors.ZIP_HI.selectFrom(c2, c6).intoArray(ap, d + 5 * LANES);
            Vectors.ZIP_LO.selectFrom(c3, c7).intoArray(ap, d + 6 * LANES);
            Vectors.ZIP_HI.selectFrom(c3, c7).intoArray(ap, d + 7 * LANES);
        }
        return p;
    }

    /** Columns [row, row + rows) of A [k, m] -> one sliver: each step of p copies MR contiguous floats (whole slivers: {@link #packATransposedWhole}). */
    private static void packATransposed(MemorySegment a, long aOff, int lda, int row, int rows, int pc, int kc, float[] ap, int base) {
        if (rows == MR && VECTOR_PACK_A_TRANSPOSED) {
            packATransposedWhole(a, aOff, lda, row, pc, kc, ap, base);
            return;
        }
        for (int p = 0; p < kc; p++) {
            long colByte = (aOff + (long) (pc + p) * lda + row) << 2;
            for (int r = 0; r < rows; r++) {
                ap[base + p * MR + r] = a.get(FLOAT, colByte + ((long) r << 2));
            }
        }
    }

    private static final boolean VECTOR_PACK_A_TRANSPOSED = (MR == 8 || MR == 6) && LANES >= 4;

    /**
     * {@link #packATransposed} of a whole sliver: each step of p copies MR contiguous floats, 8 rows as one 8-lane vector
     * (two 4-lane ones at 4 lanes), 6 rows as a 4-lane vector and two floats. Measured (Zen 4, 144 x 512 block, scratch
     * harness): 0.40 ns a float against 1.10 element by element.
     */
    private static void packATransposedWhole(MemorySegment a, long aOff, int lda, int row, int pc, int kc, float[] ap, int base) {
        for (int p = 0; p < kc; p++) {
            long colByte = (aOff + (long) (pc + p) * lda + row) << 2;
            int dst = base + p * MR;
            if (MR == 8 && LANES >= 8) {
                FloatVector.fromMemorySegment(Vectors.F8, a, colByte, ORDER).intoArray(ap, dst);
            } else if (MR == 8) {
                FloatVector.fromMemorySegment(Vectors.F4, a, colByte, ORDER).intoArray(ap, dst);
                FloatVector.fromMemorySegment(Vectors.F4, a, colByte + 16, ORDER).intoArray(ap, dst + 4);
            } else {
                FloatVector.fromMemorySegment(Vectors.F4, a, colByte, ORDER).intoArray(ap, dst);
                ap[dst + 4] = a.get(FLOAT, colByte + 16);
                ap[dst + 5] = a.get(FLOAT, colByte + 20);
            }
        }
    }

    /**
     * op(B)[pc.., jc..] -> slivers of NR columns: bp[sliver * kc * NR + p * NR + j], zero-padded past n. Full and
     * partial slivers, plain and transposed B each have their own straight loop: one method mixing them
     * recompiled over and over on uncommon traps (measured: 33 instead of 180 GFLOP/s at 64x120x400).
     */
    private static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int pc, int kc, int jc, int nc, float[] bp, int bpBase,
                              float[] row) {
        if (!transB) {
            int full = nc / NR * NR;
            packBFull(b, bOff, ldb, pc, kc, jc, full, bp, bpBase);
            if (full < nc) {
                packBEdge(b, bOff, ldb, pc, kc, jc + full, nc - full, bp, bpBase + full * kc);
            }
            return;
        }
        for (int s = 0; s < nc; s += NR) {
            packBTransposed(b, bOff, ldb, pc, kc, jc + s, Math.min(NR, nc - s), bp, bpBase + s * kc, row);
        }
    }

    /** Rows of B a pass of {@link #packBFull} copies into every sliver before it moves on. */
    private static final int PACK_B_ROWS = 8;

    /**
     * Whole slivers of a row-major B, columns [col, col + width): a block of {@link #PACK_B_ROWS} rows is dealt into
     * every sliver, then the next block. Sliver by sliver down all kc rows instead read one cache line per row at a
     * stride of ldb (4 KB at 1024 columns); the block's rows stay in L1 while the slivers take their lines. Measured
     * (AMD EPYC Zen 4, -XX:UseAVX=2, 1024^3, one thread, alternated JVMs): ~101.3 -> ~103 GFLOP/s. The same floats.
     */
    private static void packBFull(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, int width, float[] bp, int base) {
        for (int p0 = 0; p0 < kc; p0 += PACK_B_ROWS) {
            int p1 = Math.min(kc, p0 + PACK_B_ROWS);
            for (int s = 0; s < width; s += NR) {
                int sliver = base + s * kc;
                for (int p = p0; p < p1; p++) {
                    long rowByte = (bOff + (long) (pc + p) * ldb + col + s) << 2;
                    int dst = sliver + p * NR;
                    for (int v = 0; v < NR; v += LANES) { // NR / LANES vectors: 2 or 3, a constant C2 unrolls
                        FloatVector.fromMemorySegment(F, b, rowByte + ((long) v << 2), ORDER).intoArray(bp, dst + v);
                    }
                }
            }
        }
    }

    private static void packBEdge(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, int cols, float[] bp, int base) {
        java.util.Arrays.fill(bp, base, base + kc * NR, 0f);
        for (int p = 0; p < kc; p++) {
            MemorySegment.copy(b, FLOAT, (bOff + (long) (pc + p) * ldb + col) << 2, bp, base + p * NR, cols);
        }
    }

    /**
     * Each column of the sliver is a contiguous run of B^T. Blocks of {@link #TRANSPOSE_DEPTH} steps of p: the block's
     * run of each column is copied into {@code row} as whole vectors, then the sliver's rows are written one after the
     * other from it (stride reads within an L1-resident block, contiguous writes). Writing each column down the whole
     * sliver instead (a store every NR floats over 64 KB) left the L1 cache at every column: ~10% of an MLP training
     * step (784-1024-1024-10, batch 256) went here. Reading the segment element by element cost a bounds and liveness
     * check per float and made this the hottest method of LeNet training (the convolution weight gradient).
     */
    private static void packBTransposed(MemorySegment b, long bOff, int ldb, int pc, int kc, int col, int cols, float[] bp, int base, float[] row) {
        if (cols < NR) {
            java.util.Arrays.fill(bp, base, base + kc * NR, 0f);
        }
        for (int p0 = 0; p0 < kc; p0 += TRANSPOSE_DEPTH) {
            int len = Math.min(TRANSPOSE_DEPTH, kc - p0);
            if (cols == NR && len == TRANSPOSE_DEPTH && TRANSPOSE_ZIPS) {
                long src = (bOff + (long) col * ldb + pc + p0) << 2;
                long ld = (long) ldb << 2;
                transposeBlockZipped(b, src, ld, bp, base + p0 * NR, NR);
                transposeBlockZipped(b, src + 16 * ld, ld, bp, base + p0 * NR + 16, NR);
                continue;
            }
            for (int j = 0; j < cols; j++) {
                long src = (bOff + (long) (col + j) * ldb + pc + p0) << 2;
                // a whole sliver's short last block of whole vectors too: a bulk copy per column cost more than the gathers.
                // Not an edge sliver (a 10-class layer's B^T): run a few times a step, such a vector loop stayed in C1
                // code for a minute of ResNet-20 training, where the Vector API's fallback allocates (5.3 KB a step)
                if (cols == NR && len % LANES == 0 && TRANSPOSE_WHOLE_VECTORS) {
                    for (int v = 0; v < len; v += LANES) {
                        FloatVector.fromMemorySegment(F, b, src + ((long) v << 2), ORDER).intoArray(row, j * TRANSPOSE_DEPTH + v);
                    }
                } else {
                    MemorySegment.copy(b, FLOAT, src, row, j * TRANSPOSE_DEPTH, len);
                }
            }
            // with zips (16 lanes) only a short last block is left here, a few per product (LeNet's k = 120 and 84): element
            // by element; a rarely run gather stayed in C1 code for seconds, where the Vector API's fallback allocates
            // (6 KB per LeNet training step, JMH -prof gc after 5 s of warm-up)
            if (cols == NR && TRANSPOSE8 && len % 8 == 0) {
                // 8 lanes (x86): 8 x 8 blocks in registers, columns 0-7 then 8-15 of each 8 steps. Gathers (below) cost
                // AMD's AVX2 a micro-coded vgatherdps per vector: 2% of a LeNet training step on Zen 3 (its Linears' W^T)
                for (int p = 0, d = base + p0 * NR; p < len; p += 8, d += 8 * NR) {
                    transpose8x8(row, p, TRANSPOSE_DEPTH, bp, d, NR);
                    transpose8x8(row, 8 * TRANSPOSE_DEPTH + p, TRANSPOSE_DEPTH, bp, d + 8, NR);
                }
            } else if (cols == NR && TRANSPOSE_GATHERS && !TRANSPOSE_ZIPS) {
                transposeBlockGathered(row, bp, base + p0 * NR, len);
            } else {
                transposeBlock(row, bp, base + p0 * NR, cols, len);
            }
        }
    }

    /** bp[dst + p NR + j] = row[j TRANSPOSE_DEPTH + p], element by element (edge slivers and short blocks). */
    private static void transposeBlock(float[] row, float[] bp, int dst, int cols, int len) {
        for (int p = 0; p < len; p++, dst += NR) {
            for (int j = 0; j < cols; j++) {
                bp[dst + j] = row[j * TRANSPOSE_DEPTH + p];
            }
        }
    }

    /**
     * {@link #transposeBlock} of a whole sliver's block, LANES columns per gather (each lane reads its column's run at
     * stride TRANSPOSE_DEPTH), for the block's {@code len} steps: a short last block too (K = 784 at 8 lanes ends in 16 of
     * 32 steps; element by element those took as long as all the gathered blocks of the MLP step). Measured (AMD EPYC Zen 4, 512 bits, MLP training step 784-1024-1024-10 batch 256): the
     * element-by-element copy took the transposed 256 x 1024 x 1024 product from 6.6 to 8.1 ms against the same product
     * without the transpose. Its own method: a vector loop beside a scalar one in one method is the cold-branch hazard
     * (see Softmax.row). The same floats moved: no sum changes.
     */
    private static void transposeBlockGathered(float[] row, float[] bp, int dst, int len) {
        for (int p = 0; p < len; p++, dst += NR) {
            for (int v = 0; v < NR; v += LANES) {
                FloatVector.fromArray(F, row, v * TRANSPOSE_DEPTH + p, TRANSPOSE_INDEX, 0).intoArray(bp, dst + v);
            }
        }
    }


    /**
     * Where whole blocks of {@link #packBTransposed} transpose by {@link #transposeBlockZipped}: at exactly 16 lanes
     * (TRANSPOSE_DEPTH is then 16, a square of 16 columns by 16 steps). Measured (AMD EPYC Zen 4, 1024 x 512 of W^T,
     * scratch harness): 0.20 ns a float against 0.54 staged and gathered.
     */
    private static final boolean TRANSPOSE_ZIPS = LANES == 16 && Simd.X86; // then NR = 32 and TRANSPOSE_DEPTH = KC / NR = 16; x86: see ZIP_PACK_A

    /**
     * 16 columns x 16 steps of p of B^T, read straight from the segment (column j's run at {@code src + j ld} bytes),
     * into 16 rows {@code bp[dst + p dStride + j]} (sliver rows: dStride NR; Winograd's channels-first / channels-last
     * copies use it too): four rounds of zips (as {@link #packARowsZipped}) turn 16
     * vectors of one column each into 16 vectors of one step each. Written out vector by vector: vectors in an array
     * would not stay in registers.
     */
    static void transposeBlockZipped(MemorySegment b, long src, long ld, float[] bp, int dst, int dStride) {
        transposeBlockZipped(b, src, src + 8 * ld, ld, bp, dst, dst + 8 * dStride, dStride);
    }

    /**
     * {@link #transposeBlockZipped(MemorySegment, long, long, float[], int, int)} with columns 8 to 15 read from
     * {@code src8} on (column j at {@code src8 + (j - 8) ld}) and rows 8 to 15 written from {@code dst8} on: a block
     * that spans two rows of an image 8 pixels wide (Winograd's channels-first / channels-last copies at 8 x 8).
     */
    static void transposeBlockZipped(MemorySegment b, long src, long src8, long ld, float[] bp, int dst, int dst8, int dStride) {
        FloatVector v0 = FloatVector.fromMemorySegment(F, b, src + 0 * ld, ORDER);
        FloatVector v1 = FloatVector.fromMemorySegment(F, b, src + 1 * ld, ORDER);
        FloatVector v2 = FloatVector.fromMemorySegment(F, b, src + 2 * ld, ORDER);
        FloatVector v3 = FloatVector.fromMemorySegment(F, b, src + 3 * ld, ORDER);
        FloatVector v4 = FloatVector.fromMemorySegment(F, b, src + 4 * ld, ORDER);
        FloatVector v5 = FloatVector.fromMemorySegment(F, b, src + 5 * ld, ORDER);
        FloatVector v6 = FloatVector.fromMemorySegment(F, b, src + 6 * ld, ORDER);
        FloatVector v7 = FloatVector.fromMemorySegment(F, b, src + 7 * ld, ORDER);
        FloatVector v8 = FloatVector.fromMemorySegment(F, b, src8 + 0 * ld, ORDER);
        FloatVector v9 = FloatVector.fromMemorySegment(F, b, src8 + 1 * ld, ORDER);
        FloatVector v10 = FloatVector.fromMemorySegment(F, b, src8 + 2 * ld, ORDER);
        FloatVector v11 = FloatVector.fromMemorySegment(F, b, src8 + 3 * ld, ORDER);
        FloatVector v12 = FloatVector.fromMemorySegment(F, b, src8 + 4 * ld, ORDER);
        FloatVector v13 = FloatVector.fromMemorySegment(F, b, src8 + 5 * ld, ORDER);
        FloatVector v14 = FloatVector.fromMemorySegment(F, b, src8 + 6 * ld, ORDER);
        FloatVector v15 = FloatVector.fromMemorySegment(F, b, src8 + 7 * ld, ORDER);
        FloatVector w0 = Vectors.ZIP_LO.selectFrom(v0, v8), w1 = Vectors.ZIP_HI.selectFrom(v0, v8);
        FloatVector w2 = Vectors.ZIP_LO.selectFrom(v1, v9), w3 = Vectors.ZIP_HI.selectFrom(v1, v9);
        FloatVector w4 = Vectors.ZIP_LO.selectFrom(v2, v10), w5 = Vectors.ZIP_HI.selectFrom(v2, v10);
        FloatVector w6 = Vectors.ZIP_LO.selectFrom(v3, v11), w7 = Vectors.ZIP_HI.selectFrom(v3, v11);
        FloatVector w8 = Vectors.ZIP_LO.selectFrom(v4, v12), w9 = Vectors.ZIP_HI.selectFrom(v4, v12);
        FloatVector w10 = Vectors.ZIP_LO.selectFrom(v5, v13), w11 = Vectors.ZIP_HI.selectFrom(v5, v13);
        FloatVector w12 = Vectors.ZIP_LO.selectFrom(v6, v14), w13 = Vectors.ZIP_HI.selectFrom(v6, v14);
        FloatVector w14 = Vectors.ZIP_LO.selectFrom(v7, v15), w15 = Vectors.ZIP_HI.selectFrom(v7, v15);
        FloatVector x0 = Vectors.ZIP_LO.selectFrom(w0, w8), x1 = Vectors.ZIP_HI.selectFrom(w0, w8);
        FloatVector x2 = Vectors.ZIP_LO.selectFrom(w1, w9), x3 = Vectors.ZIP_HI.selectFrom(w1, w9);
        FloatVector x4 = Vectors.ZIP_LO.selectFrom(w2, w10), x5 = Vectors.ZIP_HI.selectFrom(w2, w10);
        FloatVector x6 = Vectors.ZIP_LO.selectFrom(w3, w11), x7 = Vectors.ZIP_HI.selectFrom(w3, w11);
        FloatVector x8 = Vectors.ZIP_LO.selectFrom(w4, w12), x9 = Vectors.ZIP_HI.selectFrom(w4, w12);
        FloatVector x10 = Vectors.ZIP_LO.selectFrom(w5, w13), x11 = Vectors.ZIP_HI.selectFrom(w5, w13);
        FloatVector x12 = Vectors.ZIP_LO.selectFrom(w6, w14), x13 = Vectors.ZIP_HI.selectFrom(w6, w14);
        FloatVector x14 = Vectors.ZIP_LO.selectFrom(w7, w15), x15 = Vectors.ZIP_HI.selectFrom(w7, w15);
        FloatVector y0 = Vectors.ZIP_LO.selectFrom(x0, x8), y1 = Vectors.ZIP_HI.selectFrom(x0, x8);
        FloatVector y2 = Vectors.ZIP_LO.selectFrom(x1, x9), y3 = Vectors.ZIP_HI.selectFrom(x1, x9);
        FloatVector y4 = Vectors.ZIP_LO.selectFrom(x2, x10), y5 = Vectors.ZIP_HI.selectFrom(x2, x10);
        FloatVector y6 = Vectors.ZIP_LO.selectFrom(x3, x11), y7 = Vectors.ZIP_HI.selectFrom(x3, x11);
        FloatVector y8 = Vectors.ZIP_LO.selectFrom(x4, x12), y9 = Vectors.ZIP_HI.selectFrom(x4, x12);
        FloatVector y10 = Vectors.ZIP_LO.selectFrom(x5, x13), y11 = Vectors.ZIP_HI.selectFrom(x5, x13);
        FloatVector y12 = Vectors.ZIP_LO.selectFrom(x6, x14), y13 = Vectors.ZIP_HI.selectFrom(x6, x14);
        FloatVector y14 = Vectors.ZIP_LO.selectFrom(x7, x15), y15 = Vectors.ZIP_HI.selectFrom(x7, x15);
        FloatVector z0 = Vectors.ZIP_LO.selectFrom(y0, y8), z1 = Vectors.ZIP_HI.selectFrom(y0, y8);
        FloatVector z2 = Vectors.ZIP_LO.selectFrom(y1, y9), z3 = Vectors.ZIP_HI.selectFrom(y1, y9);
        FloatVector z4 = Vectors.ZIP_LO.selectFrom(y2, y10), z5 = Vectors.ZIP_HI.selectFrom(y2, y10);
        FloatVector z6 = Vectors.ZIP_LO.selectFrom(y3, y11), z7 = Vectors.ZIP_HI.selectFrom(y3, y11);
        FloatVector z8 = Vectors.ZIP_LO.selectFrom(y4, y12), z9 = Vectors.ZIP_HI.selectFrom(y4, y12);
        FloatVector z10 = Vectors.ZIP_LO.selectFrom(y5, y13), z11 = Vectors.ZIP_HI.selectFrom(y5, y13);
        FloatVector z12 = Vectors.ZIP_LO.selectFrom(y6, y14), z13 = Vectors.ZIP_HI.selectFrom(y6, y14);
        FloatVector z14 = Vectors.ZIP_LO.selectFrom(y7, y15), z15 = Vectors.ZIP_HI.selectFrom(y7, y15);
        z0.intoArray(bp, dst + 0 * dStride);
        z1.intoArray(bp, dst + 1 * dStride);
        z2.intoArray(bp, dst + 2 * dStride);
        z3.intoArray(bp, dst + 3 * dStride);
        z4.intoArray(bp, dst + 4 * dStride);
        z5.intoArray(bp, dst + 5 * dStride);
        z6.intoArray(bp, dst + 6 * dStride);
        z7.intoArray(bp, dst + 7 * dStride);
        z8.intoArray(bp, dst8 + 0 * dStride);
        z9.intoArray(bp, dst8 + 1 * dStride);
        z10.intoArray(bp, dst8 + 2 * dStride);
        z11.intoArray(bp, dst8 + 3 * dStride);
        z12.intoArray(bp, dst8 + 4 * dStride);
        z13.intoArray(bp, dst8 + 5 * dStride);
        z14.intoArray(bp, dst8 + 6 * dStride);
        z15.intoArray(bp, dst8 + 7 * dStride);
    }

    /**
     * {@link #transposeBlockZipped(MemorySegment, long, long, long, float[], int, int, int)} from a {@code float[]}
     * (element offsets): Winograd's channels-last products. A method of its own, not the segment one over a heap
     * segment: that one reads tensors (native segments), and given both kinds C2 compiled it for both: Winograd's
     * unstaging of a 16-channel 32 x 32 layer ran 2.7 -> 4.3 us (Xeon, AVX-512) once the staging read the input in it.
     */
    static void transposeBlockZipped(float[] a, int src, int src8, int ld, float[] bp, int dst, int dst8, int dStride) {
        FloatVector v0 = FloatVector.fromArray(F, a, src + 0 * ld);
        FloatVector v1 = FloatVector.fromArray(F, a, src + 1 * ld);
        FloatVector v2 = FloatVector.fromArray(F, a, src + 2 * ld);
        FloatVector v3 = FloatVector.fromArray(F, a, src + 3 * ld);
        FloatVector v4 = FloatVector.fromArray(F, a, src + 4 * ld);
        FloatVector v5 = FloatVector.fromArray(F, a, src + 5 * ld);
        FloatVector v6 = FloatVector.fromArray(F, a, src + 6 * ld);
        FloatVector v7 = FloatVector.fromArray(F, a, src + 7 * ld);
        FloatVector v8 = FloatVector.fromArray(F, a, src8 + 0 * ld);
        FloatVector v9 = FloatVector.fromArray(F, a, src8 + 1 * ld);
        FloatVector v10 = FloatVector.fromArray(F, a, src8 + 2 * ld);
        FloatVector v11 = FloatVector.fromArray(F, a, src8 + 3 * ld);
        FloatVector v12 = FloatVector.fromArray(F, a, src8 + 4 * ld);
        FloatVector v13 = FloatVector.fromArray(F, a, src8 + 5 * ld);
        FloatVector v14 = FloatVector.fromArray(F, a, src8 + 6 * ld);
        FloatVector v15 = FloatVector.fromArray(F, a, src8 + 7 * ld);
        FloatVector w0 = Vectors.ZIP_LO.selectFrom(v0, v8), w1 = Vectors.ZIP_HI.selectFrom(v0, v8);
        FloatVector w2 = Vectors.ZIP_LO.selectFrom(v1, v9), w3 = Vectors.ZIP_HI.selectFrom(v1, v9);
        FloatVector w4 = Vectors.ZIP_LO.selectFrom(v2, v10), w5 = Vectors.ZIP_HI.selectFrom(v2, v10);
        FloatVector w6 = Vectors.ZIP_LO.selectFrom(v3, v11), w7 = Vectors.ZIP_HI.selectFrom(v3, v11);
        FloatVector w8 = Vectors.ZIP_LO.selectFrom(v4, v12), w9 = Vectors.ZIP_HI.selectFrom(v4, v12);
        FloatVector w10 = Vectors.ZIP_LO.selectFrom(v5, v13), w11 = Vectors.ZIP_HI.selectFrom(v5, v13);
        FloatVector w12 = Vectors.ZIP_LO.selectFrom(v6, v14), w13 = Vectors.ZIP_HI.selectFrom(v6, v14);
        FloatVector w14 = Vectors.ZIP_LO.selectFrom(v7, v15), w15 = Vectors.ZIP_HI.selectFrom(v7, v15);
        FloatVector x0 = Vectors.ZIP_LO.selectFrom(w0, w8), x1 = Vectors.ZIP_HI.selectFrom(w0, w8);
        FloatVector x2 = Vectors.ZIP_LO.selectFrom(w1, w9), x3 = Vectors.ZIP_HI.selectFrom(w1, w9);
        FloatVector x4 = Vectors.ZIP_LO.selectFrom(w2, w10), x5 = Vectors.ZIP_HI.selectFrom(w2, w10);
        FloatVector x6 = Vectors.ZIP_LO.selectFrom(w3, w11), x7 = Vectors.ZIP_HI.selectFrom(w3, w11);
        FloatVector x8 = Vectors.ZIP_LO.selectFrom(w4, w12), x9 = Vectors.ZIP_HI.selectFrom(w4, w12);
        FloatVector x10 = Vectors.ZIP_LO.selectFrom(w5, w13), x11 = Vectors.ZIP_HI.selectFrom(w5, w13);
        FloatVector x12 = Vectors.ZIP_LO.selectFrom(w6, w14), x13 = Vectors.ZIP_HI.selectFrom(w6, w14);
        FloatVector x14 = Vectors.ZIP_LO.selectFrom(w7, w15), x15 = Vectors.ZIP_HI.selectFrom(w7, w15);
        FloatVector y0 = Vectors.ZIP_LO.selectFrom(x0, x8), y1 = Vectors.ZIP_HI.selectFrom(x0, x8);
        FloatVector y2 = Vectors.ZIP_LO.selectFrom(x1, x9), y3 = Vectors.ZIP_HI.selectFrom(x1, x9);
        FloatVector y4 = Vectors.ZIP_LO.selectFrom(x2, x10), y5 = Vectors.ZIP_HI.selectFrom(x2, x10);
        FloatVector y6 = Vectors.ZIP_LO.selectFrom(x3, x11), y7 = Vectors.ZIP_HI.selectFrom(x3, x11);
        FloatVector y8 = Vectors.ZIP_LO.selectFrom(x4, x12), y9 = Vectors.ZIP_HI.selectFrom(x4, x12);
        FloatVector y10 = Vectors.ZIP_LO.selectFrom(x5, x13), y11 = Vectors.ZIP_HI.selectFrom(x5, x13);
        FloatVector y12 = Vectors.ZIP_LO.selectFrom(x6, x14), y13 = Vectors.ZIP_HI.selectFrom(x6, x14);
        FloatVector y14 = Vectors.ZIP_LO.selectFrom(x7, x15), y15 = Vectors.ZIP_HI.selectFrom(x7, x15);
        FloatVector z0 = Vectors.ZIP_LO.selectFrom(y0, y8), z1 = Vectors.ZIP_HI.selectFrom(y0, y8);
        FloatVector z2 = Vectors.ZIP_LO.selectFrom(y1, y9), z3 = Vectors.ZIP_HI.selectFrom(y1, y9);
        FloatVector z4 = Vectors.ZIP_LO.selectFrom(y2, y10), z5 = Vectors.ZIP_HI.selectFrom(y2, y10);
        FloatVector z6 = Vectors.ZIP_LO.selectFrom(y3, y11), z7 = Vectors.ZIP_HI.selectFrom(y3, y11);
        FloatVector z8 = Vectors.ZIP_LO.selectFrom(y4, y12), z9 = Vectors.ZIP_HI.selectFrom(y4, y12);
        FloatVector z10 = Vectors.ZIP_LO.selectFrom(y5, y13), z11 = Vectors.ZIP_HI.selectFrom(y5, y13);
        FloatVector z12 = Vectors.ZIP_LO.selectFrom(y6, y14), z13 = Vectors.ZIP_HI.selectFrom(y6, y14);
        FloatVector z14 = Vectors.ZIP_LO.selectFrom(y7, y15), z15 = Vectors.ZIP_HI.selectFrom(y7, y15);
        z0.intoArray(bp, dst + 0 * dStride);
        z1.intoArray(bp, dst + 1 * dStride);
        z2.intoArray(bp, dst + 2 * dStride);
        z3.intoArray(bp, dst + 3 * dStride);
        z4.intoArray(bp, dst + 4 * dStride);
        z5.intoArray(bp, dst + 5 * dStride);
        z6.intoArray(bp, dst + 6 * dStride);
        z7.intoArray(bp, dst + 7 * dStride);
        z8.intoArray(bp, dst8 + 0 * dStride);
        z9.intoArray(bp, dst8 + 1 * dStride);
        z10.intoArray(bp, dst8 + 2 * dStride);
        z11.intoArray(bp, dst8 + 3 * dStride);
        z12.intoArray(bp, dst8 + 4 * dStride);
        z13.intoArray(bp, dst8 + 5 * dStride);
        z14.intoArray(bp, dst8 + 6 * dStride);
        z15.intoArray(bp, dst8 + 7 * dStride);
    }

    /** Steps of p per block of {@link #packBTransposed}: NR columns of it fill the workspace's KC-float row. */
    private static final int TRANSPOSE_DEPTH = KC / NR;
    /** Whether a block's column is whole vectors: at 4, 8 and 16 lanes; past 16 (SVE at 1024 bits and up) it is less than one, copied. */
    private static final boolean TRANSPOSE_WHOLE_VECTORS = TRANSPOSE_DEPTH % LANES == 0;

    /** Lane i of a gather in {@link #transposeBlockGathered} reads column i's run: offsets i TRANSPOSE_DEPTH. */
    private static final int[] TRANSPOSE_INDEX = transposeIndex();

    private static int[] transposeIndex() {
        int[] index = new int[LANES];
        for (int i = 0; i < LANES; i++) {
            index[i] = i * TRANSPOSE_DEPTH;
        }
        return index;
    }

    /** Whether whole blocks transpose by gathers ({@link Simd#HARDWARE_GATHER}, whole vectors per block). */
    private static final boolean TRANSPOSE_GATHERS = TRANSPOSE_WHOLE_VECTORS && Simd.HARDWARE_GATHER;

    /**
     * The MR x NR register tile ({@link #TILE}): C[0..mr, 0..nr] = alpha * sum_p A[r, p] B[p, j] + beta * C (beta 0: C ignored),
     * then the epilogue.
     */
    private static void kernel(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, MemorySegment c, long cElem, int ldc,
                               int mr, int nr, float alpha, float beta, Epilogue epi, int row, int col) {
        packedTile(ap, aBase, bp, bBase, kc, tile, 0, mr, nr);
        writeTile(tile, c, cElem, ldc, mr, nr, alpha, beta, epi, row, col);
    }

    /**
     * The register tile for an mr x nr block over a packed B panel, into {@code tile}: two vectors of columns and 8 rows
     * (32 registers), or one or two vectors and 6 rows (16). The one choice of packed-panel kernel ({@link #kernel} and the dealt slivers of
     * {@link #gemmPackedATapsB}).
     */
    private static void packedTile(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t, int mr, int nr) {
        // With 32 registers every block, a product's last few columns too, takes the 8 x 2 kernel: its second vector reads
        // the sliver's zero pad and is never stored (the same chains, the same bits). One-vector and half-width kernels for
        // those edge columns (kernel8x1Packed, kernel8x1HalfPacked) became hot only during a training step's warm-up, when
        // C2's queue is long: compiled at tier 2 and then at tier 4 without a profile, they ran the Vector API's Java
        // fallback for good in about a third of fresh JVMs (LeNet's compiled step at batch 64: 4-8 MB of heap and
        // 10-30% slower a step; none with -XX:Tier3DelayOn=100000, which keeps the profiling tier). The wasted FMAs on
        // those columns did not show: 1,699-1,792 us a step over 8 JVMs, against 1,650-1,760 for the good JVMs before
        // (2 threads, AMD EPYC Zen 4).
        if (nr <= LANES && TILE_KIND != 0) { // 16 registers: the columns fit one vector (a product's last ones): half the FMAs
            kernel6x1Packed(ap, aBase, bp, bBase, kc, tile, t);
        } else if (TILE_KIND == 0) { // TILE_KIND is a constant: with 16 registers C2 keeps the 6-row kernel alone
            // also for a product's last 1..6 rows: a 6-row kernel for those edges alone ran rarely enough to be compiled
            // late, on-stack-replaced with its vector stores left as calls, so its FMAs ran the Vector API's Java
            // fallback for good (the char GPT's 65-row products: 7.9 MB of heap and a slow edge per compiled step);
            // the 8-row kernel is hot everywhere. Rows past mr are computed and never stored: the same bits.
            kernel8x2Packed(ap, aBase, bp, bBase, kc, tile, t);
        } else if (LoopShape.STRIP_MINED) {
            kernel6x2Packed(ap, aBase, bp, bBase, kc, tile, t);
        } else {
            kernel6x2PackedStrips(ap, aBase, bp, bBase, kc, tile, t);
        }
    }

    /**
     * The blocked product's register tile: {@link #kernel12x2Packed} for 12-row slivers, else {@link #packedTile}; into
     * {@code tile} from index {@code t}.
     */
    private static void blockTile(int rowsOfTile, float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t, int mr, int nr) {
        if (rowsOfTile == 12) {
            kernel12x2Packed(ap, aBase, bp, bBase, kc, tile, t);
        } else {
            packedTile(ap, aBase, bp, bBase, kc, tile, t, mr, nr);
        }
    }

    /**
     * 12 x 2 vectors (24 accumulators, 2 B vectors and a broadcast: 27 of 32 registers) over a packed B panel and a
     * 12-row A sliver (ap[base + p 12 + r], {@link #packSliver12}), two steps of p an iteration (the operands' indices are
     * linear in one loop index), then an odd last step. Rows past a product's last are computed from the sliver's zero
     * pad and never stored. Each accumulator takes its FMAs in order of p: the same bits as every other tile. The step is
     * written out three times on purpose: a helper taking the accumulators would box them unless C2 inlined it, and the
     * one-step loop alone ran at 0.924x OpenBLAS against this kernel's 0.970x (Xeon, 512 bits, 1024^3, 9 rounds).
     */
    private static void kernel12x2Packed(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        FloatVector c80 = FloatVector.zero(F), c81 = FloatVector.zero(F);
        FloatVector c90 = FloatVector.zero(F), c91 = FloatVector.zero(F);
        FloatVector ca0 = FloatVector.zero(F), ca1 = FloatVector.zero(F);
        FloatVector cb0 = FloatVector.zero(F), cb1 = FloatVector.zero(F);
        int p = 0;
        for (; p + 2 <= kc; p += 2) {
            {
                int bi = bBase + (p + 0) * NR;
                int ai = aBase + (p + 0) * 12;
                FloatVector b0 = FloatVector.fromArray(F, bp, bi);
                FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
                FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
                FloatVector a8 = FloatVector.broadcast(F, ap[ai + 8]);
                c80 = a8.fma(b0, c80);
                c81 = a8.fma(b1, c81);
                FloatVector a9 = FloatVector.broadcast(F, ap[ai + 9]);
                c90 = a9.fma(b0, c90);
                c91 = a9.fma(b1, c91);
                FloatVector a10 = FloatVector.broadcast(F, ap[ai + 10]);
                ca0 = a10.fma(b0, ca0);
                ca1 = a10.fma(b1, ca1);
                FloatVector a11 = FloatVector.broadcast(F, ap[ai + 11]);
                cb0 = a11.fma(b0, cb0);
                cb1 = a11.fma(b1, cb1);
            }
            {
                int bi = bBase + (p + 1) * NR;
                int ai = aBase + (p + 1) * 12;
                FloatVector b0 = FloatVector.fromArray(F, bp, bi);
                FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
                FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
                FloatVector a8 = FloatVector.broadcast(F, ap[ai + 8]);
                c80 = a8.fma(b0, c80);
                c81 = a8.fma(b1, c81);
                FloatVector a9 = FloatVector.broadcast(F, ap[ai + 9]);
                c90 = a9.fma(b0, c90);
                c91 = a9.fma(b1, c91);
                FloatVector a10 = FloatVector.broadcast(F, ap[ai + 10]);
                ca0 = a10.fma(b0, ca0);
                ca1 = a10.fma(b1, ca1);
                FloatVector a11 = FloatVector.broadcast(F, ap[ai + 11]);
                cb0 = a11.fma(b0, cb0);
                cb1 = a11.fma(b1, cb1);
            }
        }
        for (; p < kc; p++) {
            int bi = bBase + p * NR;
            int ai = aBase + p * 12;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
            FloatVector a8 = FloatVector.broadcast(F, ap[ai + 8]);
            c80 = a8.fma(b0, c80);
            c81 = a8.fma(b1, c81);
            FloatVector a9 = FloatVector.broadcast(F, ap[ai + 9]);
            c90 = a9.fma(b0, c90);
            c91 = a9.fma(b1, c91);
            FloatVector a10 = FloatVector.broadcast(F, ap[ai + 10]);
            ca0 = a10.fma(b0, ca0);
            ca1 = a10.fma(b1, ca1);
            FloatVector a11 = FloatVector.broadcast(F, ap[ai + 11]);
            cb0 = a11.fma(b0, cb0);
            cb1 = a11.fma(b1, cb1);
        }
        c00.intoArray(tile, t + 0 * NR);
        c01.intoArray(tile, t + 0 * NR + LANES);
        c10.intoArray(tile, t + 1 * NR);
        c11.intoArray(tile, t + 1 * NR + LANES);
        c20.intoArray(tile, t + 2 * NR);
        c21.intoArray(tile, t + 2 * NR + LANES);
        c30.intoArray(tile, t + 3 * NR);
        c31.intoArray(tile, t + 3 * NR + LANES);
        c40.intoArray(tile, t + 4 * NR);
        c41.intoArray(tile, t + 4 * NR + LANES);
        c50.intoArray(tile, t + 5 * NR);
        c51.intoArray(tile, t + 5 * NR + LANES);
        c60.intoArray(tile, t + 6 * NR);
        c61.intoArray(tile, t + 6 * NR + LANES);
        c70.intoArray(tile, t + 7 * NR);
        c71.intoArray(tile, t + 7 * NR + LANES);
        c80.intoArray(tile, t + 8 * NR);
        c81.intoArray(tile, t + 8 * NR + LANES);
        c90.intoArray(tile, t + 9 * NR);
        c91.intoArray(tile, t + 9 * NR + LANES);
        ca0.intoArray(tile, t + 10 * NR);
        ca1.intoArray(tile, t + 10 * NR + LANES);
        cb0.intoArray(tile, t + 11 * NR);
        cb1.intoArray(tile, t + 11 * NR + LANES);
    }

    /**
     * 8 x 2 vectors (16 accumulators, for 32 vector registers) over a packed B panel (row stride {@link #NR}, a
     * constant): the indices advance by constants, so C2 proves the B loads in bounds once per call instead of checking
     * them twice per step. Measured (SPR-class Xeon, 512 bits; C2's code disassembled): a general-stride loop issued
     * ~45 instructions per 16 FMAs, close to the front end's limit; this one made a 1024^3 product ~10% faster. Each accumulator still takes its FMAs in order
     * of p: the same bits.
     */
    private static void kernel8x2Packed(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        int bi = bBase;
        int ai = aBase;
        int bEnd = bBase + kc * NR;
        for (; bi < bEnd; bi += NR, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
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
        c00.intoArray(tile, t + 0);
        c01.intoArray(tile, t + LANES);
        c10.intoArray(tile, t + NR);
        c11.intoArray(tile, t + NR + LANES);
        c20.intoArray(tile, t + 2 * NR);
        c21.intoArray(tile, t + 2 * NR + LANES);
        c30.intoArray(tile, t + 3 * NR);
        c31.intoArray(tile, t + 3 * NR + LANES);
        c40.intoArray(tile, t + 4 * NR);
        c41.intoArray(tile, t + 4 * NR + LANES);
        c50.intoArray(tile, t + 5 * NR);
        c51.intoArray(tile, t + 5 * NR + LANES);
        c60.intoArray(tile, t + 6 * NR);
        c61.intoArray(tile, t + 6 * NR + LANES);
        c70.intoArray(tile, t + 7 * NR);
        c71.intoArray(tile, t + 7 * NR + LANES);
    }

    /**
     * 6 x 2 vectors over a packed B panel (constant strides, like {@link #kernel8x2Packed}): 12 accumulators, 2 B
     * vectors and a broadcast fit 16 registers once no bounds checks or index products are live in the loop.
     * Measured at 256 bits (SPR-class Xeon, -XX:UseAVX=2): 1024^3 at 96.7 GFLOP/s against 89.4 for 4 x 2. Its two
     * induction variables stay: the one-index loop of the 12-row kernel ran at 64 against 88 GFLOP/s here, and two or
     * four steps an iteration at 48 (C2 spills with 16 registers). Where C2 does not strip-mine counted loops (the
     * Parallel and Serial collectors) this loop keeps an accumulator on the stack, and {@link #kernel6x2PackedStrips}
     * runs instead ({@link LoopShape}).
     */
    private static void kernel6x2Packed(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int bi = bBase;
        int ai = aBase;
        int bEnd = bBase + kc * NR;
        for (; bi < bEnd; bi += NR, ai += MR) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
            FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
        }
        c00.intoArray(tile, t + 0);
        c01.intoArray(tile, t + LANES);
        c10.intoArray(tile, t + 1 * NR);
        c11.intoArray(tile, t + 1 * NR + LANES);
        c20.intoArray(tile, t + 2 * NR);
        c21.intoArray(tile, t + 2 * NR + LANES);
        c30.intoArray(tile, t + 3 * NR);
        c31.intoArray(tile, t + 3 * NR + LANES);
        c40.intoArray(tile, t + 4 * NR);
        c41.intoArray(tile, t + 4 * NR + LANES);
        c50.intoArray(tile, t + 5 * NR);
        c51.intoArray(tile, t + 5 * NR + LANES);
    }

    /** Steps of one hand-made strip of {@link #kernel6x2PackedStrips} (the depth blocks are at most {@link #KC}). */
    private static final int STRIP_STEPS = 256;

    /**
     * {@link #kernel6x2Packed} with its loop written as strips, the shape that compiles without a spill where C2 does
     * not strip-mine counted loops (the Parallel and Serial collectors: {@link LoopShape}). The same FMAs in the same
     * order: the same bits.
     */
    private static void kernel6x2PackedStrips(float[] ap, int aBase, float[] bp, int bBase, int kc, float[] tile, int t) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int bi = bBase;
        int ai = aBase;
        int bEnd = bBase + kc * NR;
        while (bi < bEnd) { // strips by hand: what C2 makes of the plain loop where it strip-mines (LoopShape)
            int stripEnd = Math.min(bEnd, bi + STRIP_STEPS * NR);
            for (; bi < stripEnd; bi += NR, ai += MR) {
                FloatVector b0 = FloatVector.fromArray(F, bp, bi);
                FloatVector b1 = FloatVector.fromArray(F, bp, bi + LANES);
                FloatVector a0 = FloatVector.broadcast(F, ap[ai + 0]);
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
            }
        }
        c00.intoArray(tile, t + 0);
        c01.intoArray(tile, t + LANES);
        c10.intoArray(tile, t + 1 * NR);
        c11.intoArray(tile, t + 1 * NR + LANES);
        c20.intoArray(tile, t + 2 * NR);
        c21.intoArray(tile, t + 2 * NR + LANES);
        c30.intoArray(tile, t + 3 * NR);
        c31.intoArray(tile, t + 3 * NR + LANES);
        c40.intoArray(tile, t + 4 * NR);
        c41.intoArray(tile, t + 4 * NR + LANES);
        c50.intoArray(tile, t + 5 * NR);
        c51.intoArray(tile, t + 5 * NR + LANES);
    }


    /**
     * C[0..mr, 0..nr] = alpha * tile + beta * C (+ bias, ReLU): full vectors where LANES columns remain, one masked
     * vector for the right edge, scalars where that vector would cross the end of C or of the bias (masked segment
     * accesses whose full width would cross the segment's end take the Vector API's slow path; measured: a 64x120x400
     * product fell from 180 to 33 GFLOP/s when every edge went through it).
     */
    private static void writeTile(float[] tile, MemorySegment c, long cElem, int ldc, int mr, int nr,
                                  float alpha, float beta, Epilogue epi, int row, int col) {
        writeTile(tile, 0, c, cElem, ldc, mr, nr, alpha, beta, epi, row, col);
    }

    /** {@link #writeTile} of the tile's columns {@code [t0, t0 + nr)} ({@code t0 + nr <= NR}). */
    private static void writeTile(float[] tile, int t0, MemorySegment c, long cElem, int ldc, int mr, int nr,
                                  float alpha, float beta, Epilogue epi, int row, int col) {
        if (t0 == 0 && nr == NR && alpha == 1f && (beta == 0f || beta == 1f)) { // any rows: a tile's last rows too
            if (epi.isNone()) {
                writeWholeTile(tile, c, cElem, ldc, mr, beta == 1f); // the common case without a branch per vector: 11% -> 4% of a 1024^3 product
                return;
            }
            if (epi.bias() != null && !epi.biasPerRow() && !epi.rowActivation()) {
                writeWholeTileColumnBias(tile, c, cElem, ldc, mr, beta == 1f, epi.bias(), (epi.biasOff() + col) << 2, epi.relu());
                return;
            }
        }
        if (t0 == 0 && nr == NR && alpha == 1f && (beta == 0f || beta == 1f) && epi.bias() != null && epi.biasPerRow()
                && !epi.rowActivation()) {
            writeTileRowBias(tile, c, cElem, ldc, mr, beta == 1f, epi.bias(), (epi.biasOff() + row) << 2, epi.relu());
            return;
        }
        for (int r = 0; r < mr; r++) {
            long rowElem = cElem + (long) r * ldc;
            int h = 0;
            for (; h + LANES <= nr; h += LANES) {
                long off = (rowElem + h) << 2;
                FloatVector v = FloatVector.fromArray(F, tile, t0 + r * NR + h);
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
                    v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
                }
                v.intoMemorySegment(c, off, ORDER);
            }
            long tailOff = (rowElem + h) << 2;
            if (h < nr && tailOff + VBYTES <= c.byteSize()
                    && (epi.bias() == null || epi.biasPerRow() || ((epi.biasOff() + col + h) << 2) + VBYTES <= epi.bias().byteSize())) {
                // the row's last part as one masked vector (LeNet's 100- and 25-column products ended in 4 and 9 scalar
                // elements per row: half of this method's time); lane for lane the same operations as above, so the
                // same bits, and masked-off lanes of C and the bias are never read or written. Only where the whole
                // vector lies inside the segments: a masked access that crosses a segment's end takes the Vector
                // API's per-lane path (see above), so the last row of C keeps the scalar loop below.
                VectorMask<Float> m = F.indexInRange(h, nr);
                long off = tailOff;
                FloatVector v = FloatVector.fromArray(F, tile, t0 + r * NR + h);
                if (alpha != 1f) {
                    v = v.mul(alpha);
                }
                if (beta != 0f) {
                    FloatVector old = FloatVector.fromMemorySegment(F, c, off, ORDER, m);
                    v = beta == 1f ? v.add(old) : old.mul(beta).add(v);
                }
                if (epi.bias() != null) {
                    v = epi.biasPerRow()
                            ? v.add(epi.bias().get(FLOAT, (epi.biasOff() + row + r) << 2))
                            : v.add(FloatVector.fromMemorySegment(F, epi.bias(), (epi.biasOff() + col + h) << 2, ORDER, m));
                }
                if (epi.relu()) {
                    v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
                }
                v.intoMemorySegment(c, off, ORDER, m);
                h = nr;
            }
            for (; h < nr; h++) {
                long off = (rowElem + h) << 2;
                float v = tile[t0 + r * NR + h] * alpha;
                if (beta != 0f) {
                    v += beta == 1f ? c.get(FLOAT, off) : beta * c.get(FLOAT, off);
                }
                if (epi.bias() != null) {
                    v += epi.bias().get(FLOAT, (epi.biasOff() + (epi.biasPerRow() ? row + r : col + h)) << 2);
                }
                if (epi.relu() && v <= 0f) {
                    v = 0f;
                }
                c.set(FLOAT, off, v);
            }
            if (epi.rowActivation()) {
                Elementwise.unaryContiguous(epi.activation(), epi.p(), epi.q(), c, rowElem << 2, c, rowElem << 2, nr);
            }
        }
    }

    /**
     * Two depth blocks' whole tiles into C at once: C = t1 + t0, or C = t1 + (t0 + C) with {@code add}, which are
     * {@link #writeWholeTile}'s two passes (C = t0 [+ C], then C = t1 + C) with the first pass's value kept in the
     * workspace instead of in C: the same additions, the same bits. C's tile is read at most once and written once:
     * measured (AMD EPYC Zen 4, -XX:UseAVX=2, 1024^3, one thread) ~1% of the product, with the loop order above
     * another ~1%.
     */
    private static void writeWholeTilePair(float[] t0, int t0Off, float[] t1, MemorySegment c, long cElem, int ldc, int rows, boolean add) {
        if (add) {
            addCIntoTile(t0, t0Off, c, cElem, ldc, rows);
        }
        for (int r = 0; r < rows; r++) {
            long rowByte = (cElem + (long) r * ldc) << 2;
            for (int h = 0; h < NR; h += LANES) {
                FloatVector first = FloatVector.fromArray(F, t0, t0Off + r * NR + h);
                FloatVector.fromArray(F, t1, r * NR + h).add(first).intoMemorySegment(c, rowByte + ((long) h << 2), ORDER);
            }
        }
    }

    /** A whole MR x NR tile, C = tile or C += tile: the same additions as {@link #writeTile}'s general loop. */
    private static void writeWholeTile(float[] tile, MemorySegment c, long cElem, int ldc, int rows, boolean add) {
        if (add) {
            addCIntoTile(tile, c, cElem, ldc, rows);
            for (int r = 0; r < rows; r++) {
                long rowByte = (cElem + (long) r * ldc) << 2;
                for (int h = 0; h < NR; h += LANES) {
                    FloatVector.fromArray(F, tile, r * NR + h).intoMemorySegment(c, rowByte + ((long) h << 2), ORDER);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            long rowByte = (cElem + (long) r * ldc) << 2;
            for (int h = 0; h < NR; h += LANES) {
                FloatVector.fromArray(F, tile, r * NR + h).intoMemorySegment(c, rowByte + ((long) h << 2), ORDER);
            }
        }
    }

    /**
     * tile += C over a whole tile, every row of C loaded before the caller stores any: all of C's rows lie at the same
     * offset in their 4 KB pages when ldc is a multiple of 1024, and a load of row r + 1 behind the store of row r
     * waits on that store (4K aliasing). Measured (AMD EPYC Zen 4, 1024^3, one thread): 256 bits 99.1 -> 102.5
     * GFLOP/s. The same additions as the general loop (tile + C): the same bits.
     */
    private static void addCIntoTile(float[] tile, MemorySegment c, long cElem, int ldc, int rows) {
        addCIntoTile(tile, 0, c, cElem, ldc, rows);
    }

    /** {@link #addCIntoTile} for a tile at {@code tileOff} of its array. */
    private static void addCIntoTile(float[] tile, int tileOff, MemorySegment c, long cElem, int ldc, int rows) {
        for (int r = 0; r < rows; r++) {
            long rowByte = (cElem + (long) r * ldc) << 2;
            for (int h = 0; h < NR; h += LANES) {
                FloatVector old = FloatVector.fromMemorySegment(F, c, rowByte + ((long) h << 2), ORDER);
                FloatVector.fromArray(F, tile, tileOff + r * NR + h).add(old).intoArray(tile, tileOff + r * NR + h);
            }
        }
    }

    /**
     * A whole tile's last write with a column bias (a Linear layer's), then ReLU if asked: {@link #writeWholeTile}'s
     * loops with the bias's NR floats loaded once per tile instead of once per row, and no branch per vector. The same
     * operations in the same order as {@link #writeTile}'s general loop (tile, + C, + bias, ReLU): the same bits.
     * Measured (Zen 4, 512 bits): the general loop was 3.8% of the char GPT's compiled training step.
     */
    private static void writeWholeTileColumnBias(float[] tile, MemorySegment c, long cElem, int ldc, int rows, boolean add, MemorySegment bias,
                                                 long biasByte, boolean relu) {
        if (add) {
            addCIntoTile(tile, c, cElem, ldc, rows);
        }
        FloatVector b0 = FloatVector.fromMemorySegment(F, bias, biasByte, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(F, bias, biasByte + VBYTES, ORDER); // NR = 2 LANES
        for (int r = 0; r < rows; r++) {
            long rowByte = (cElem + (long) r * ldc) << 2;
            FloatVector v0 = FloatVector.fromArray(F, tile, r * NR).add(b0);
            FloatVector v1 = FloatVector.fromArray(F, tile, r * NR + LANES).add(b1);
            if (relu) {
                v0 = v0.blend(0f, v0.compare(VectorOperators.LE, 0f));
                v1 = v1.blend(0f, v1.compare(VectorOperators.LE, 0f));
            }
            v0.intoMemorySegment(c, rowByte, ORDER);
            v1.intoMemorySegment(c, rowByte + VBYTES, ORDER);
        }
    }

    /**
     * The first mr rows of a tile NR columns wide with a per-row bias (+ ReLU): a convolution's output channels. Each
     * row's bias read once, not once per vector, and no test per vector; the same operations in the same order as
     * {@link #writeTile}'s general loop (tile, + C when add, + bias, ReLU): the same bits. LeNet's plan at batch 64
     * spent ~15% of its samples in that loop (AMD EPYC Zen 4).
     */
    private static void writeTileRowBias(float[] tile, MemorySegment c, long cElem, int ldc, int mr, boolean add, MemorySegment bias,
                                         long biasByte, boolean relu) {
        for (int r = 0; r < mr; r++) {
            long rowByte = (cElem + (long) r * ldc) << 2;
            float b = bias.get(FLOAT, biasByte + ((long) r << 2));
            FloatVector v0 = FloatVector.fromArray(F, tile, r * NR);
            FloatVector v1 = FloatVector.fromArray(F, tile, r * NR + LANES);
            if (add) {
                v0 = v0.add(FloatVector.fromMemorySegment(F, c, rowByte, ORDER));
                v1 = v1.add(FloatVector.fromMemorySegment(F, c, rowByte + VBYTES, ORDER));
            }
            v0 = v0.add(b);
            v1 = v1.add(b);
            if (relu) {
                v0 = v0.blend(0f, v0.compare(VectorOperators.LE, 0f));
                v1 = v1.blend(0f, v1.compare(VectorOperators.LE, 0f));
            }
            v0.intoMemorySegment(c, rowByte, ORDER);
            v1.intoMemorySegment(c, rowByte + VBYTES, ORDER);
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
                    dots4x4(a, aOff + (long) i0 * lda, lda, b, bOff + (long) j0 * ldb, ldb, k, tile);
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

    /**
     * tile[r * 4 + q] = dot(A row r, B row q) for four rows each, every dot in the canonical order of 16 partial
     * sums ({@link Simd#GROUP}): products of [0, k - k mod 16) into partial p mod 16, folded, then the tail in
     * sequence. At 16 lanes one vector per dot (16 accumulators); at 8 and 4 lanes a dot needs 2 or 4 vectors, so the
     * block runs as four 2 x 2 blocks to stay within 16 registers.
     */
    private static void dots4x4(MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, int k, float[] tile) {
        switch (Simd.GROUP) {
            case 1 -> dot4x4(a, aOff, lda, b, bOff, ldb, k, tile);
            case 2 -> {
                for (int r = 0; r < 4; r += 2) {
                    for (int q = 0; q < 4; q += 2) {
                        dot2x2x8(a, aOff + (long) r * lda, lda, b, bOff + (long) q * ldb, ldb, k, tile, r * 4 + q);
                    }
                }
            }
            case 4 -> {
                for (int r = 0; r < 4; r += 2) {
                    for (int q = 0; q < 4; q += 2) {
                        dot2x2x4(a, aOff + (long) r * lda, lda, b, bOff + (long) q * ldb, ldb, k, tile, r * 4 + q);
                    }
                }
            }
            default -> {
                for (int r = 0; r < 4; r++) {
                    for (int q = 0; q < 4; q++) {
                        tile[r * 4 + q] = dot16Scalar(a, aOff + (long) r * lda, b, bOff + (long) q * ldb, k);
                    }
                }
            }
        }
    }

    /** One dot product in the order of {@link #dots4x4}, without vectors (the reference, and other lane counts). */
    static float dot16Scalar(MemorySegment x, long xOff, MemorySegment y, long yOff, int k) {
        float[] part = new float[16];
        int p = 0;
        for (; p + 16 <= k; p += 16) {
            for (int j = 0; j < 16; j++) {
                part[j] = Math.fma(x.get(FLOAT, (xOff + p + j) << 2), y.get(FLOAT, (yOff + p + j) << 2), part[j]);
            }
        }
        float s = Simd.fold(part, 0, 16);
        for (; p < k; p++) {
            s = Math.fma(x.get(FLOAT, (xOff + p) << 2), y.get(FLOAT, (yOff + p) << 2), s);
        }
        return s;
    }

    /** {@link #dots4x4} at 8 lanes: rows r, r+1 of A against rows q, q+1 of B, each dot in two 8-lane halves. */
    private static void dot2x2x8(MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, int k, float[] tile, int at) {
        long a0 = aOff << 2;
        long a1 = (aOff + lda) << 2;
        long b0 = bOff << 2;
        long b1 = (bOff + ldb) << 2;
        FloatVector c00l = FloatVector.zero(F), c00h = FloatVector.zero(F), c01l = FloatVector.zero(F), c01h = FloatVector.zero(F);
        FloatVector c10l = FloatVector.zero(F), c10h = FloatVector.zero(F), c11l = FloatVector.zero(F), c11h = FloatVector.zero(F);
        int p = 0;
        for (; p + 16 <= k; p += 16) {
            long o = (long) p << 2;
            FloatVector x0l = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            FloatVector x0h = FloatVector.fromMemorySegment(F, a, a0 + o + VBYTES, ORDER);
            FloatVector x1l = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            FloatVector x1h = FloatVector.fromMemorySegment(F, a, a1 + o + VBYTES, ORDER);
            FloatVector y0l = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            FloatVector y0h = FloatVector.fromMemorySegment(F, b, b0 + o + VBYTES, ORDER);
            c00l = x0l.fma(y0l, c00l);
            c00h = x0h.fma(y0h, c00h);
            c10l = x1l.fma(y0l, c10l);
            c10h = x1h.fma(y0h, c10h);
            FloatVector y1l = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            FloatVector y1h = FloatVector.fromMemorySegment(F, b, b1 + o + VBYTES, ORDER);
            c01l = x0l.fma(y1l, c01l);
            c01h = x0h.fma(y1h, c01h);
            c11l = x1l.fma(y1l, c11l);
            c11h = x1h.fma(y1h, c11h);
        }
        // parked and folded by a small method, as in dot4x4
        c00l.intoArray(tile, DOT_PARK);
        c00h.intoArray(tile, DOT_PARK + LANES);
        c01l.intoArray(tile, DOT_PARK + 2 * LANES);
        c01h.intoArray(tile, DOT_PARK + 3 * LANES);
        c10l.intoArray(tile, DOT_PARK + 4 * LANES);
        c10h.intoArray(tile, DOT_PARK + 5 * LANES);
        c11l.intoArray(tile, DOT_PARK + 6 * LANES);
        c11h.intoArray(tile, DOT_PARK + 7 * LANES);
        foldParked2x2(tile, at);
        if (p < k) {
            tail2x2(a, a0, a1, b, b0, b1, p, k, tile, at);
        }
    }

    /** {@link #dots4x4} at 4 lanes: as {@link #dot2x2x8}, each dot in four 4-lane quarters (16 accumulators). */
    private static void dot2x2x4(MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, int k, float[] tile, int at) {
        long a0 = aOff << 2;
        long a1 = (aOff + lda) << 2;
        long b0 = bOff << 2;
        long b1 = (bOff + ldb) << 2;
        FloatVector c000 = FloatVector.zero(F), c001 = FloatVector.zero(F), c002 = FloatVector.zero(F), c003 = FloatVector.zero(F);
        FloatVector c010 = FloatVector.zero(F), c011 = FloatVector.zero(F), c012 = FloatVector.zero(F), c013 = FloatVector.zero(F);
        FloatVector c100 = FloatVector.zero(F), c101 = FloatVector.zero(F), c102 = FloatVector.zero(F), c103 = FloatVector.zero(F);
        FloatVector c110 = FloatVector.zero(F), c111 = FloatVector.zero(F), c112 = FloatVector.zero(F), c113 = FloatVector.zero(F);
        int p = 0;
        for (; p + 16 <= k; p += 16) {
            long o = (long) p << 2;
            FloatVector x0 = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            FloatVector x1 = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            FloatVector y0 = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            FloatVector y1 = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            c000 = x0.fma(y0, c000);
            c010 = x0.fma(y1, c010);
            c100 = x1.fma(y0, c100);
            c110 = x1.fma(y1, c110);
            o += VBYTES;
            x0 = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            x1 = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            y0 = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            y1 = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            c001 = x0.fma(y0, c001);
            c011 = x0.fma(y1, c011);
            c101 = x1.fma(y0, c101);
            c111 = x1.fma(y1, c111);
            o += VBYTES;
            x0 = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            x1 = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            y0 = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            y1 = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            c002 = x0.fma(y0, c002);
            c012 = x0.fma(y1, c012);
            c102 = x1.fma(y0, c102);
            c112 = x1.fma(y1, c112);
            o += VBYTES;
            x0 = FloatVector.fromMemorySegment(F, a, a0 + o, ORDER);
            x1 = FloatVector.fromMemorySegment(F, a, a1 + o, ORDER);
            y0 = FloatVector.fromMemorySegment(F, b, b0 + o, ORDER);
            y1 = FloatVector.fromMemorySegment(F, b, b1 + o, ORDER);
            c003 = x0.fma(y0, c003);
            c013 = x0.fma(y1, c013);
            c103 = x1.fma(y0, c103);
            c113 = x1.fma(y1, c113);
        }
        c000.intoArray(tile, DOT_PARK);
        c001.intoArray(tile, DOT_PARK + LANES);
        c002.intoArray(tile, DOT_PARK + 2 * LANES);
        c003.intoArray(tile, DOT_PARK + 3 * LANES);
        c010.intoArray(tile, DOT_PARK + 4 * LANES);
        c011.intoArray(tile, DOT_PARK + 5 * LANES);
        c012.intoArray(tile, DOT_PARK + 6 * LANES);
        c013.intoArray(tile, DOT_PARK + 7 * LANES);
        c100.intoArray(tile, DOT_PARK + 8 * LANES);
        c101.intoArray(tile, DOT_PARK + 9 * LANES);
        c102.intoArray(tile, DOT_PARK + 10 * LANES);
        c103.intoArray(tile, DOT_PARK + 11 * LANES);
        c110.intoArray(tile, DOT_PARK + 12 * LANES);
        c111.intoArray(tile, DOT_PARK + 13 * LANES);
        c112.intoArray(tile, DOT_PARK + 14 * LANES);
        c113.intoArray(tile, DOT_PARK + 15 * LANES);
        foldParked2x2(tile, at);
        if (p < k) {
            tail2x2(a, a0, a1, b, b0, b1, p, k, tile, at);
        }
    }

    /**
     * The four dots of a 2 x 2 block parked at DOT_PARK (16 partials each, in 2 vectors at 8 lanes or 4 at 4 lanes:
     * 16 consecutive floats a dot) into tile[at + r * 4 + q], by the scalar canonical fold (the same additions as
     * {@link Simd#fold16}): no vector crosses a call here, see {@link #foldLanes}.
     */
    private static void foldParked2x2(float[] tile, int at) {
        for (int d = 0; d < 4; d++) {
            tile[at + (d >> 1) * 4 + (d & 1)] = Simd.fold(tile, DOT_PARK + d * 16, 16);
        }
    }

    private static void tail2x2(MemorySegment a, long a0, long a1, MemorySegment b, long b0, long b1, int from, int k, float[] tile, int at) {
        for (int p = from; p < k; p++) {
            long o = (long) p << 2;
            float x0 = a.get(FLOAT, a0 + o);
            float x1 = a.get(FLOAT, a1 + o);
            float y0 = b.get(FLOAT, b0 + o);
            float y1 = b.get(FLOAT, b1 + o);
            tile[at] = Math.fma(x0, y0, tile[at]);
            tile[at + 1] = Math.fma(x0, y1, tile[at + 1]);
            tile[at + 4] = Math.fma(x1, y0, tile[at + 4]);
            tile[at + 5] = Math.fma(x1, y1, tile[at + 5]);
        }
    }

    /** {@link #dots4x4} at 16 lanes: one vector accumulator per dot, 16 in all. */
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

    /**
     * tile[r] = the canonical fold of tile[r * LANES .. (r + 1) * LANES) for r = 0..15, in place (row r is read before slot
     * r is written), in scalar code: the same additions as {@link Simd#sumLanes}, with no vector passed to a helper. Called
     * from the large dot kernels, a vector helper here was inlined in some JVMs and not in others (C2's inlining budget, a
     * standalone compile of the helper), and where it was not, every call boxed its vectors: a fresh JVM's LeNet training
     * step allocated 180-900 KB a step in most runs (PlanHeapProbe "train-lenet").
     */
    private static void foldLanes(float[] tile) {
        for (int r = 0; r < 16; r++) {
            tile[r] = Simd.fold(tile, r * LANES, LANES);
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

    /**
     * Contiguous dot product of k floats in the canonical order of {@link Simd#GROUP}: 32 partial sums, folded, then
     * the last k mod 32 products one by one. The same bits at every width.
     */
    static float dot(MemorySegment x, long xOff, MemorySegment y, long yOff, int k) {
        long xb = xOff << 2;
        long yb = yOff << 2;
        long groupEnd = ((long) k - k % 32) << 2;
        float s = ColdStart.dot() ? dot32Scalar(x, xb, y, yb, groupEnd) : switch (Simd.GROUP) {
            case 1 -> dot32x16(x, xb, y, yb, groupEnd);
            case 2 -> dot32x8(x, xb, y, yb, groupEnd);
            case 4 -> dot32x4(x, xb, y, yb, groupEnd);
            default -> dot32Scalar(x, xb, y, yb, groupEnd);
        };
        for (long o = groupEnd; o < (long) k << 2; o += 4) {
            s = Math.fma(x.get(FLOAT, xb + o), y.get(FLOAT, yb + o), s);
        }
        return s != s ? Float.NaN : s; // one NaN whatever payload the JIT tier let through
    }

    private static float dot32x16(MemorySegment x, long xb, MemorySegment y, long yb, long end) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        for (long o = 0; o < end; o += 2 * VBYTES) {
            s0 = FloatVector.fromMemorySegment(F, x, xb + o, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o, ORDER), s0);
            s1 = FloatVector.fromMemorySegment(F, x, xb + o + VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + VBYTES, ORDER), s1);
        }
        return Simd.fold32(s0, s1);
    }

    private static float dot32x8(MemorySegment x, long xb, MemorySegment y, long yb, long end) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        for (long o = 0; o < end; o += 4 * VBYTES) {
            s0 = FloatVector.fromMemorySegment(F, x, xb + o, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o, ORDER), s0);
            s1 = FloatVector.fromMemorySegment(F, x, xb + o + VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + VBYTES, ORDER), s1);
            s2 = FloatVector.fromMemorySegment(F, x, xb + o + 2 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 2 * VBYTES, ORDER), s2);
            s3 = FloatVector.fromMemorySegment(F, x, xb + o + 3 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 3 * VBYTES, ORDER), s3);
        }
        return Simd.fold32(s0, s1, s2, s3);
    }

    private static float dot32x4(MemorySegment x, long xb, MemorySegment y, long yb, long end) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        FloatVector s4 = FloatVector.zero(F), s5 = FloatVector.zero(F), s6 = FloatVector.zero(F), s7 = FloatVector.zero(F);
        for (long o = 0; o < end; o += 8 * VBYTES) {
            s0 = FloatVector.fromMemorySegment(F, x, xb + o, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o, ORDER), s0);
            s1 = FloatVector.fromMemorySegment(F, x, xb + o + VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + VBYTES, ORDER), s1);
            s2 = FloatVector.fromMemorySegment(F, x, xb + o + 2 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 2 * VBYTES, ORDER), s2);
            s3 = FloatVector.fromMemorySegment(F, x, xb + o + 3 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 3 * VBYTES, ORDER), s3);
            s4 = FloatVector.fromMemorySegment(F, x, xb + o + 4 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 4 * VBYTES, ORDER), s4);
            s5 = FloatVector.fromMemorySegment(F, x, xb + o + 5 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 5 * VBYTES, ORDER), s5);
            s6 = FloatVector.fromMemorySegment(F, x, xb + o + 6 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 6 * VBYTES, ORDER), s6);
            s7 = FloatVector.fromMemorySegment(F, x, xb + o + 7 * VBYTES, ORDER).fma(FloatVector.fromMemorySegment(F, y, yb + o + 7 * VBYTES, ORDER), s7);
        }
        return Simd.fold32(s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /** The canonical dot order without vectors: the reference of the vector forms, and what other lane counts run. */
    static float dot32Scalar(MemorySegment x, long xb, MemorySegment y, long yb, long end) {
        float[] p = new float[32];
        for (long o = 0; o < end; o += 32 * 4) {
            for (int j = 0; j < 32; j++) {
                p[j] = Math.fma(x.get(FLOAT, xb + o + 4L * j), y.get(FLOAT, yb + o + 4L * j), p[j]);
            }
        }
        return Simd.fold(p, 0, 32);
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
        c.set(FLOAT, off, epi.activate(v));
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
                c.set(FLOAT, off, epi.activate(v));
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

        /** 8 and 4 floats as one vector ({@link Sgemm#packATransposed}); used only where the preferred width holds them. */
        static final VectorSpecies<Float> F4 = LANES >= 4 ? FloatVector.SPECIES_128 : F;
        static final VectorSpecies<Float> F8 = LANES >= 8 ? FloatVector.SPECIES_256 : F;
        /** 256 bits where {@link Sgemm#HALF_TILES}; elsewhere unused (F: no half shape is asked for where none may exist, e.g. 64-bit vectors). */
        static final VectorSpecies<Float> HALF = HALF_TILES ? FloatVector.SPECIES_256 : F;
        /** Lane i: from the first vector's lane i / 2 (even i) or the second's (odd i); {@link Sgemm#zipIndex}. */
        static final FloatVector ZIP_LO = zipIndex(0);
        static final FloatVector ZIP_HI = zipIndex(LANES / 2);
    }
}
