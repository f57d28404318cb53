package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SIMD kernels against their scalar twins ({@link KernelReference}) on random shapes: sizes 0, 1 and
 * around the lane count, odd offsets, permuted (non-contiguous) strides and broadcast (stride 0) inputs.
 */
class KernelPropertyTest {
    private static final int[] SIZES = {0, 1, 2, 3, Simd.LANES - 1, Simd.LANES, Simd.LANES + 1, 2 * Simd.LANES + 3, 37};
    private final SplittableRandom rnd = new SplittableRandom(42);
    private final Arena arena = Arena.ofShared(); // the GEMM workers read these segments too

    @AfterEach
    void close() {
        arena.close();
    }

    /** A random layout: shape, strides (maybe permuted, maybe broadcast), offset, and a segment that fits it. */
    private record Layout(int[] shape, int[] strides, long offset, MemorySegment seg) {
    }

    private int[] randomShape() {
        int nd = rnd.nextInt(0, 5);
        int[] shape = new int[nd];
        for (int i = 0; i < nd; i++) {
            // keep the total small enough for the naive reference
            shape[i] = nd <= 2 ? SIZES[rnd.nextInt(SIZES.length)] : rnd.nextInt(1, 6);
        }
        return shape;
    }

    private Layout layout(int[] shape, boolean allowBroadcast) {
        int nd = shape.length;
        int[] order = new int[nd];
        for (int i = 0; i < nd; i++) {
            order[i] = i;
        }
        if (rnd.nextBoolean()) { // permute the memory order -> non-contiguous
            for (int i = nd - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        int[] strides = new int[nd];
        int s = rnd.nextInt(1, 3); // innermost stride 1 or 2 (gaps)
        for (int i = nd - 1; i >= 0; i--) {
            int d = order[i];
            strides[d] = s;
            s *= Math.max(shape[d], 1);
        }
        if (allowBroadcast && nd > 0 && rnd.nextInt(3) == 0) {
            int d = rnd.nextInt(nd);
            strides[d] = 0;
        }
        long offset = rnd.nextInt(0, 5);
        long extent = offset + 1;
        for (int d = 0; d < nd; d++) {
            extent += (long) Math.max(shape[d] - 1, 0) * strides[d];
        }
        MemorySegment seg = arena.allocate(extent * 4, 64);
        for (long i = 0; i < extent; i++) {
            seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-3, 3));
        }
        return new Layout(shape, strides, offset, seg);
    }

    private MemorySegment copyOf(MemorySegment s) {
        MemorySegment c = arena.allocate(s.byteSize(), 64);
        c.copyFrom(s);
        return c;
    }

    private static void assertSegmentsClose(MemorySegment got, MemorySegment want, double atol, double rtol, String what) {
        for (long i = 0; i < want.byteSize() / 4; i++) {
            float g = KernelReference.get(got, i);
            float w = KernelReference.get(want, i);
            boolean ok = Float.isNaN(w) ? Float.isNaN(g) : (Float.isInfinite(w) ? g == w : Math.abs(g - w) <= atol + rtol * Math.abs(w));
            if (!ok) {
                fail(what + ": element " + i + " = " + g + ", reference " + w);
            }
        }
    }

    private static double tolerance(UnaryOp op) {
        return tolerance(op.name());
    }

    private static double tolerance(BinaryKernel op) {
        return tolerance(op.name());
    }

    private static double tolerance(String name) {
        return switch (name) {
            case "EXP", "LOG", "TANH", "SIGMOID", "POW", "POW_SCALAR" -> 4e-6; // SVML vs StrictMath: a few ulps
            default -> 0; // exact
        };
    }

    @Test
    void unaryMatchesReference() {
        for (int iter = 0; iter < 600; iter++) {
            UnaryOp op = UnaryOp.values()[iter % UnaryOp.values().length];
            int[] shape = randomShape();
            Layout x = layout(shape, true);
            Layout o = layout(shape, false);
            float p = op == UnaryOp.CLAMP ? -1f : (float) rnd.nextDouble(-2, 2);
            float q = op == UnaryOp.CLAMP ? 1.5f : 0f;
            if (op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.POW_SCALAR) {
                abs(x);
            }
            MemorySegment want = copyOf(o.seg());
            KernelReference.unary(op, p, q, x.seg(), x.offset(), x.strides(), want, o.offset(), o.strides(), shape);
            Elementwise.unary(op, p, q, x.seg(), x.offset(), x.strides(), o.seg(), o.offset(), o.strides(), shape);
            double tol = tolerance(op);
            assertSegmentsClose(o.seg(), want, tol, tol, op + " shape " + java.util.Arrays.toString(shape));
        }
    }

    /**
     * A unary op over rows of one value each (the input's inner stride 0, the output's 1: an expanded tensor made
     * contiguous) writes every element with the bits of the op's formula on that value ({@code UnaryOp.apply}), NaN
     * payloads and -0 included, for rows of 2 to 1,100 floats (around the 16-float seed and its doublings), one value
     * for all rows or one a row, two or three dims, output rows packed or with gaps between them; nothing is written in
     * the gaps or past the rows. Fails if a row is left short, takes another row's value or lands at the wrong offset.
     */
    @Test
    void broadcastRowsGetTheOpOfTheirValue() {
        float[] specials = {Float.intBitsToFloat(0x7fc01234), -0f, 0f, 1.5f, -3.25f, Float.MIN_VALUE, 1e30f, Float.NEGATIVE_INFINITY};
        int[] lengths = {2, 15, 16, 17, 31, 32, 33, 64, 65, 1100};
        for (int iter = 0; iter < 160; iter++) {
            UnaryOp op = UnaryOp.values()[iter % UnaryOp.values().length];
            int outer = iter % 4 == 1 ? 2 : 1; // a third dim outside the rows
            int rows = 1 + rnd.nextInt(4);
            int n = lengths[iter % lengths.length];
            int gap = iter % 3 == 0 ? 3 : 0; // output rows n + gap floats apart
            boolean perRow = iter % 2 == 0;
            MemorySegment x = arena.allocate(4L * outer * rows + 16, 64);
            for (int r = 0; r < outer * rows; r++) {
                float v = rnd.nextInt(3) == 0 ? specials[rnd.nextInt(specials.length)] : (float) rnd.nextDouble(-3, 3);
                x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 1 + r, v);
            }
            float p = op == UnaryOp.CLAMP ? -1f : 0.5f;
            float q = op == UnaryOp.CLAMP ? 1.5f : 0f;
            int guard = 8;
            int rowStride = n + gap;
            long outFloats = (long) outer * rows * rowStride;
            MemorySegment out = arena.allocate(4L * (outFloats + 2 * guard), 64);
            out.fill((byte) 0x55);
            int[] shape = outer == 1 ? new int[] {rows, n} : new int[] {outer, rows, n};
            int[] xStr = outer == 1 ? new int[] {perRow ? 1 : 0, 0} : new int[] {perRow ? rows : 0, perRow ? 1 : 0, 0};
            int[] oStr = outer == 1 ? new int[] {rowStride, 1} : new int[] {rows * rowStride, rowStride, 1};
            Elementwise.unary(op, p, q, x, 1, xStr, out, guard, oStr, shape);
            for (long at = 0; at < outFloats + 2 * guard; at++) {
                long inRows = at - guard;
                int got = out.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, at);
                if (inRows < 0 || inRows >= outFloats || inRows % rowStride >= n) {
                    if (got != 0x55555555) {
                        throw new AssertionError(op + " wrote outside its rows at float " + at + " (rows " + rows + " x " + n + ", gap " + gap + ")");
                    }
                    continue;
                }
                long row = inRows / rowStride; // over all outer x rows
                float v = x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 1 + (perRow ? row : 0));
                int want = Float.floatToRawIntBits(op.apply(v, p, q));
                if (got != want) {
                    throw new AssertionError(op + " row " + row + " of " + outer * rows + ", element " + inRows % rowStride + " of " + n + ", gap "
                            + gap + ": " + Integer.toHexString(got) + " against " + Integer.toHexString(want));
                }
            }
        }
    }

    private static void abs(Layout l) {
        for (long i = 0; i < l.seg().byteSize() / 4; i++) {
            KernelReference.set(l.seg(), i, Math.abs(KernelReference.get(l.seg(), i)) + 0.01f);
        }
    }

    /**
     * Gradient clipping's sum of squares reads the row once (the squared deviations about 0) and must keep the bits of
     * squaring the row with the MUL kernel and summing it with sumRow: sizes across the 32-partial groups and the
     * blocks, with -0, subnormals, huge values and a NaN.
     */
    @Test
    void sumOfSquaresHasTheBitsOfSquaringThenSumming() {
        SplittableRandom r = new SplittableRandom(12);
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {1, 31, 32, 33, 1000, 70_001}) {
                MemorySegment x = arena.allocate(4L * n, 64);
                MemorySegment sq = arena.allocate(4L * n, 64);
                for (int i = 0; i < n; i++) {
                    float v = switch (r.nextInt(12)) {
                        case 0 -> -0f;
                        case 1 -> Float.MIN_VALUE * r.nextInt(1, 100);
                        case 2 -> (float) r.nextDouble(-1e19, 1e19);
                        default -> (float) r.nextGaussian();
                    };
                    x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, v);
                }
                for (boolean withNaN : new boolean[] {false, true}) {
                    if (withNaN) {
                        x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, n / 2, Float.NaN);
                    }
                    Elementwise.binaryContiguous(BinaryOp.MUL, x, 0, x, 0, sq, 0, n);
                    double want = Reductions.sumRow(sq, 0, n);
                    double got = Reductions.sumSquaresRow(x, 0, n);
                    assertThat(Double.doubleToRawLongBits(got)).as("n %d, NaN %s: %s vs %s", n, withNaN, got, want)
                            .isEqualTo(Double.doubleToRawLongBits(want));
                }
            }
        }
    }

    /**
     * The blocked loops pack up to {@code Sgemm.K_BLOCKS_PACKED} depth blocks of B at once, as many as the workspace
     * holds: a plan's workspace sized for fewer columns packs one at a time. Either way, and with the thread's own
     * workspace (whose packed B is made at its first packed product, none before), every element takes its KC blocks in
     * the same order: the same bits, for three depth blocks, each transpose, alpha and beta.
     */
    @Test
    void depthBlocksPackedOneOrTwoAtATimeGiveTheSameBits() {
        int m = 37, n = 2 * Sgemm.NR + 5, k = 2 * Sgemm.KC + 76;
        SplittableRandom r = new SplittableRandom(8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = uniformSegment(arena, (long) m * k, r);
            MemorySegment b = uniformSegment(arena, (long) k * n, r);
            MemorySegment c0 = uniformSegment(arena, (long) m * n, r);
            int padded = (n + Sgemm.NR - 1) / Sgemm.NR * Sgemm.NR;
            Sgemm.Workspace oneBlock = new Sgemm.Workspace(k, padded / 2 + 1); // room for one KC x padded block, not two
            Sgemm.Workspace twoBlocks = new Sgemm.Workspace(k, n);
            Sgemm.Workspace grown = new Sgemm.Workspace(); // unbounded: its packed B is made at its first packed product
            MemorySegment small = arena.allocate(4L * 3 * 40, 64);
            Sgemm.sgemm(false, false, 3, 40, 30, 1f, a, 0, 30, b, 0, 40, 0f, small, 0, 40, null, grown, false); // 3 rows: unpacked
            assertThat(grown.packedFloats()).as("after a 3 x 40 x 30 product").isZero();
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float[][] results = new float[4][];
                Sgemm.Workspace[] spaces = {null, oneBlock, twoBlocks, grown};
                for (int w = 0; w < 4; w++) {
                    MemorySegment c = arena.allocate(4L * m * n, 64);
                    c.copyFrom(c0);
                    Sgemm.sgemm(ta, tb, m, n, k, 0.75f, a, 0, ta ? m : k, b, 0, tb ? k : n, 0.5f, c, 0, n, null, spaces[w], false);
                    results[w] = c.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                }
                assertThat(results[1]).as("one block at a time, transA %s transB %s", ta, tb).containsExactly(results[0]);
                assertThat(results[2]).as("two blocks at a time, transA %s transB %s", ta, tb).containsExactly(results[0]);
                assertThat(results[3]).as("a grown workspace, transA %s transB %s", ta, tb).containsExactly(results[0]);
                assertThat(grown.packedFloats()).isEqualTo(Sgemm.K_BLOCKS_PACKED * Sgemm.KC * Sgemm.NC);
            }
        }
    }

    /** {@code count} floats uniform in [-1, 1) from {@code r}, in a 64-byte aligned segment of {@code arena}. */
    private static MemorySegment uniformSegment(Arena arena, long count, SplittableRandom r) {
        MemorySegment s = arena.allocate(4L * count, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) r.nextDouble(-1, 1));
        }
        return s;
    }

    /**
     * The GEMM's summation contract, bit for bit: each element of C is one float FMA chain per KC-deep block of p, in
     * order of p, and the blocks are added to C in order (C = chain0 [+ C], then C = chain1 + C, ...; a last write with
     * a column bias adds it, then ReLU). Alpha 1 with beta 0 or 1 is where whole tiles sum two depth blocks before C is
     * written (Sgemm.writeWholeTilePair): edge tiles, chunks of two blocks and one (k = 2 KC + 76), three chunks of two
     * (k = 5 KC + 1, the last block 1 deep), NaN in C ignored at beta 0, each transpose, a workspace that packs one
     * block at a time; then more rows than one MC block, a column bias and ReLU on the last write (a pair of blocks),
     * and the product split across threads.
     */
    @Test
    void everyElementIsOneFmaChainPerDepthBlockAddedInOrder() {
        SplittableRandom r = new SplittableRandom(33);
        for (int k : new int[] {Sgemm.KC - 3, 2 * Sgemm.KC + 76, 5 * Sgemm.KC + 1}) { // one deep block, pairs and a shallow block, pairs and a pair without its sum
            // 47 rows: 12-row tiles where there are 32 registers, the last one 11 rows; 5 NR + 3 columns: at 16 lanes a
            // second sweep of Sgemm.ROWS_FIRST_COLUMNS with a whole tile and an edge one
            int m = k == 5 * Sgemm.KC + 1 ? 3 * Sgemm.MR + 5 : 47, n = 5 * Sgemm.NR + 3;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment a = uniformSegment(arena, (long) m * k, r);
                MemorySegment b = uniformSegment(arena, (long) k * n, r);
                MemorySegment c0 = uniformSegment(arena, (long) m * n, r);
                int padded = (n + Sgemm.NR - 1) / Sgemm.NR * Sgemm.NR;
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    for (float beta : new float[] {0f, 1f}) {
                        float[] expected = chainsPerDepthBlock(a, b, c0, m, n, k, ta, tb, beta, null);
                        // a workspace for half the columns holds two blocks of B where the product packs two depth blocks at once
                        Sgemm.Workspace[] spaces = {null, new Sgemm.Workspace(k, k > Sgemm.KC ? padded / 2 + 1 : n), new Sgemm.Workspace(k, n)};
                        for (int w = 0; w < spaces.length; w++) {
                            MemorySegment c = arena.allocate(4L * m * n, 64);
                            c.copyFrom(c0);
                            if (beta == 0f) {
                                c.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, Float.NaN); // ignored at beta 0
                            }
                            Sgemm.sgemm(ta, tb, m, n, k, 1f, a, 0, ta ? m : k, b, 0, tb ? k : n, beta, c, 0, n, null, spaces[w], false);
                            assertThat(c.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT))
                                    .as("k %d, transA %s, transB %s, beta %s, workspace %d", k, ta, tb, beta, w)
                                    .containsExactly(expected);
                        }
                    }
                }
            }
        }
        int k = 5 * Sgemm.KC + 1, m = Sgemm.MC + 5, n = Math.max(5 * Sgemm.NR + 3, 47); // over 2^24 flops: split across threads
        try (Arena arena = Arena.ofShared()) { // the workers read the operands
            MemorySegment a = uniformSegment(arena, (long) m * k, r);
            MemorySegment b = uniformSegment(arena, (long) k * n, r);
            MemorySegment c0 = uniformSegment(arena, (long) m * n, r);
            MemorySegment bias = uniformSegment(arena, n, r);
            for (boolean transposed : new boolean[] {false, true}) {
                float[] expected = chainsPerDepthBlock(a, b, c0, m, n, k, transposed, transposed, 1f, bias);
                for (boolean parallel : new boolean[] {false, true}) {
                    MemorySegment c = arena.allocate(4L * m * n, 64);
                    c.copyFrom(c0);
                    Sgemm.sgemm(transposed, transposed, m, n, k, 1f, a, 0, transposed ? m : k, b, 0, transposed ? k : n, 1f, c, 0, n,
                            Sgemm.Epilogue.columnBias(bias, 0, UnaryOp.RELU), null, parallel);
                    assertThat(c.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT))
                            .as("%d x %d x %d, transposed %s, parallel %s", m, n, k, transposed, parallel).containsExactly(expected);
                }
            }
        }
    }

    /** {@link #everyElementIsOneFmaChainPerDepthBlockAddedInOrder}'s reference, element by element (alpha 1). */
    private static float[] chainsPerDepthBlock(MemorySegment a, MemorySegment b, MemorySegment c0, int m, int n, int k, boolean ta, boolean tb,
                                               float beta, MemorySegment columnBias) {
        int lda = ta ? m : k, ldb = tb ? k : n;
        float[] av = a.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), bv = b.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
        float[] expected = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float v = beta == 0f ? 0f : c0.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) i * n + j);
                for (int pc = 0; pc < k; pc += Sgemm.KC) {
                    float chain = 0f;
                    for (int p = pc; p < Math.min(k, pc + Sgemm.KC); p++) {
                        chain = Math.fma(av[ta ? p * lda + i : i * lda + p], bv[tb ? j * ldb + p : p * ldb + j], chain);
                    }
                    v = pc == 0 && beta == 0f ? chain : chain + v;
                }
                if (columnBias != null) {
                    v += columnBias.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, j);
                    v = v <= 0f ? 0f : v;
                }
                expected[i * n + j] = v;
            }
        }
        return expected;
    }

    @Test
    void binaryMatchesReference() {
        java.util.List<BinaryKernel> kernels = new java.util.ArrayList<>(java.util.List.of(BinaryOp.values()));
        for (UnaryOp u : UnaryOp.values()) {
            if (u.hasFusedBackward()) {
                kernels.add(u.backward()); // the fused backward kernels: g * op'(x), with broadcast operands too
            }
        }
        for (int iter = 0; iter < 600; iter++) {
            BinaryKernel op = kernels.get(iter % kernels.size());
            int[] shape = randomShape();
            Layout a = layout(shape, true);
            Layout b = layout(shape, true);
            Layout o = layout(shape, false);
            if (op == BinaryOp.POW) {
                abs(a);
            }
            MemorySegment want = copyOf(o.seg());
            KernelReference.binary(op, a.seg(), a.offset(), a.strides(), b.seg(), b.offset(), b.strides(), want, o.offset(), o.strides(), shape);
            Elementwise.binary(op, a.seg(), a.offset(), a.strides(), b.seg(), b.offset(), b.strides(), o.seg(), o.offset(), o.strides(), shape);
            double tol = tolerance(op);
            assertSegmentsClose(o.seg(), want, tol, tol, op + " shape " + java.util.Arrays.toString(shape));
        }
    }

    /**
     * Copies that transpose (the output's rows read the input down its columns) take the blocked path: every element
     * lands where the element-by-element reference puts it, with its bits (NaN payloads too), for 2-d transposes with
     * partial blocks and for a transpose under an outer dim.
     */
    @Test
    void transposingCopiesMatchTheReference() {
        int[][] shapes = {{37, 50}, {16, 16}, {1, 33}, {33, 2}, {3, 20, 33}};
        for (int[] shape : shapes) {
            int d = shape.length;
            int[] xStr = new int[d]; // the input is the transpose of a contiguous [.., cols, rows] block
            int[] oStr = new int[d];
            long n = 1;
            for (int k = d - 1; k >= 0; k--) {
                oStr[k] = (int) n;
                n *= shape[k];
            }
            xStr[d - 2] = 1;
            xStr[d - 1] = shape[d - 2];
            if (d == 3) {
                xStr[0] = shape[1] * shape[2];
            }
            MemorySegment x = arena.allocate(n * 4, 64);
            for (long i = 0; i < n; i++) {
                x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, i % 7 == 3 ? Float.intBitsToFloat(0x7fc01234) : (float) rnd.nextDouble(-5, 5));
            }
            MemorySegment got = arena.allocate(n * 4, 64);
            MemorySegment want = arena.allocate(n * 4, 64);
            Elementwise.unary(UnaryOp.IDENTITY, 0f, 0f, x, 0, xStr, got, 0, oStr, shape);
            KernelReference.unary(UnaryOp.IDENTITY, 0f, 0f, x, 0, xStr, want, 0, oStr, shape);
            for (long i = 0; i < n; i++) {
                assertThat(got.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i)).as("shape %s element %d", java.util.Arrays.toString(shape), i)
                        .isEqualTo(want.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i));
            }
        }
    }

    /**
     * A sum over the middle dim of [outer, r, inner] adds each output's terms in row order, bit for bit, at every
     * inner size around the vector strips (4 vectors, 1 vector, scalar tail) and for r = 0 and 1.
     */
    @Test
    void sumOverRowsAddsInRowOrder() {
        int[] inners = {2, 3, Simd.LANES - 1, Simd.LANES, Simd.LANES + 1, 4 * Simd.LANES, 4 * Simd.LANES + Simd.LANES + 3, 129, 1000};
        for (int inner : inners) {
            for (int r : new int[] {0, 1, 2, 7, 64}) {
                int outer = 2;
                MemorySegment in = arena.allocate((long) outer * r * inner * 4 + 4, 64);
                for (long i = 0; i < (long) outer * r * inner; i++) {
                    in.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-1e3, 1e3));
                }
                MemorySegment out = arena.allocate((long) outer * inner * 4 + 4, 64);
                Reductions.sum(in, 0, outer, r, inner, out, 0);
                for (int o = 0; o < outer; o++) {
                    for (int i = 0; i < inner; i++) {
                        float want = r == 0 ? 0f : in.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) o * r * inner + i);
                        for (int k = 1; k < r; k++) {
                            want += in.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) o * r + k) * inner + i);
                        }
                        float got = out.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) o * inner + i);
                        assertThat(Float.floatToRawIntBits(got)).as("inner %d r %d at (%d, %d): got %s want %s", inner, r, o, i, got, want)
                                .isEqualTo(Float.floatToRawIntBits(want));
                    }
                }
            }
        }
    }

    @Test
    void inPlaceAliasingMatchesReference() {
        for (int iter = 0; iter < 200; iter++) {
            int[] shape = randomShape();
            Layout a = layout(shape, false);
            Layout b = layout(shape, true);
            MemorySegment want = copyOf(a.seg());
            KernelReference.binary(BinaryOp.ADD, want, a.offset(), a.strides(), b.seg(), b.offset(), b.strides(), want, a.offset(), a.strides(), shape);
            Elementwise.binary(BinaryOp.ADD, a.seg(), a.offset(), a.strides(), b.seg(), b.offset(), b.strides(), a.seg(), a.offset(), a.strides(), shape);
            assertSegmentsClose(a.seg(), want, 0, 0, "add_ shape " + java.util.Arrays.toString(shape));
        }
    }

    @Test
    void sumMatchesReference() {
        int[] dims = {0, 1, Simd.LANES - 1, Simd.LANES, Simd.LANES + 1, 100, 5000};
        for (int outer : new int[] {1, 3}) {
            for (int r : dims) {
                for (int inner : new int[] {1, 2, Simd.LANES + 1}) {
                    if ((long) outer * r * inner > 40_000) {
                        continue;
                    }
                    long off = rnd.nextInt(0, 3);
                    MemorySegment in = arena.allocate((off + (long) outer * r * inner + 1) * 4, 64);
                    for (long i = 0; i < in.byteSize() / 4; i++) {
                        KernelReference.set(in, i, (float) rnd.nextDouble(-1, 1));
                    }
                    MemorySegment out = arena.allocate((long) outer * inner * 4 + 4, 64);
                    Reductions.sum(in, off, outer, r, inner, out, 0);
                    double[] want = KernelReference.sum(in, off, outer, r, inner);
                    for (int i = 0; i < want.length; i++) {
                        assertThat((double) KernelReference.get(out, i)).as("sum outer=%d r=%d inner=%d [%d]", outer, r, inner, i)
                                .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.sqrt(r))));
                    }
                }
            }
        }
    }

    @Test
    void maxMinReportFirstOccurrenceAndNaN() {
        MemorySegment in = arena.allocate(4 * 8, 64);
        float[] v = {1, 3, 3, 2, 5, Float.NaN, 5, Float.NaN};
        for (int i = 0; i < v.length; i++) {
            KernelReference.set(in, i, v[i]);
        }
        MemorySegment vals = arena.allocate(8, 64);
        MemorySegment idx = arena.allocate(16, 64);
        Reductions.maxMin(true, in, 0, 2, 4, 1, vals, 0, idx, 0);
        assertThat(KernelReference.get(vals, 0)).isEqualTo(3f);
        assertThat(idx.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, 0)).isEqualTo(1L);
        assertThat(KernelReference.get(vals, 1)).isNaN();
        assertThat(idx.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, 1)).isEqualTo(1L);
    }

    @Test
    void sgemmMatchesReferenceForEveryTransposeAndEdge() {
        int[] sizes = {1, 2, 3, 7, 8, 9, Simd.LANES - 1, Simd.LANES + 1, 33, 97};
        for (int iter = 0; iter < 300; iter++) {
            boolean ta = rnd.nextBoolean();
            boolean tb = rnd.nextBoolean();
            int m = sizes[rnd.nextInt(sizes.length)];
            int n = sizes[rnd.nextInt(sizes.length)];
            int k = iter % 50 == 0 ? Sgemm.KC + 13 : sizes[rnd.nextInt(sizes.length)]; // crosses a KC block
            checkSgemm(ta, tb, m, n, k, iter % 3 == 0 ? 0.5f : 1f, (iter % 4) * 0.5f, epilogue(iter, m, n));
        }
        // whole tiles whose last write adds a column bias then ReLU (Sgemm's whole-tile bias path), C overwritten or
        // added to, in one depth block and across two; edge tiles beside them take the general loop
        int m = 2 * Sgemm.MR + 3;
        int n = 2 * Sgemm.NR + 5;
        for (int k : new int[] {40, Sgemm.KC + 13}) {
            for (float beta : new float[] {0f, 1f}) {
                for (boolean tb : new boolean[] {false, true}) {
                    checkSgemm(false, tb, m, n, k, 1f, beta, Sgemm.Epilogue.columnBias(random(4L * n), 0, UnaryOp.RELU));
                }
            }
        }
    }

    @Test
    void sgemmDotProductPathForFewRowsAndLongRowsMatchesReference() {
        // A B^T with m <= 16 and k >= 256 runs as 4x4 blocked dot products (a convolution's weight gradient):
        // full and edge blocks, a vector-only k and k with a scalar tail, alpha/beta and epilogues
        int iter = 0;
        for (int m : new int[] {4, 5, 6, 9, 16}) {
            for (int n : new int[] {1, 4, 25, 33}) {
                for (int k : new int[] {256, 300, 784}) {
                    checkSgemm(false, true, m, n, k, iter % 3 == 0 ? 0.5f : 1f, (iter % 4) * 0.5f, epilogue(iter, m, n));
                    iter++;
                }
            }
        }
    }

    /**
     * A random convolution geometry: 1-3 channels, sides 3 .. 2 + sides, kernels up to kMax, paddings below pads, row
     * stride 1-2, dilations 1-2, column stride sW; null when the output would be empty.
     */
    private Im2col.Geometry randomGeometry(int sides, int kMax, int pads, int sW) {
        int c = 1 + rnd.nextInt(3);
        int h = 3 + rnd.nextInt(sides);
        int w = 3 + rnd.nextInt(sides);
        int kH = 1 + rnd.nextInt(Math.min(kMax, h));
        int kW = 1 + rnd.nextInt(Math.min(kMax, w));
        int sH = 1 + rnd.nextInt(2);
        int pT = rnd.nextInt(pads);
        int pL = rnd.nextInt(pads);
        int dH = 1 + rnd.nextInt(2);
        int dW = 1 + rnd.nextInt(2);
        int oH = (h + 2 * pT - dH * (kH - 1) - 1) / sH + 1;
        int oW = (w + 2 * pL - dW * (kW - 1) - 1) / sW + 1;
        return oH <= 0 || oW <= 0 ? null : new Im2col.Geometry(c, h, w, kH, kW, sH, sW, pT, pL, dH, dW, oH, oW);
    }

    /**
     * im2col through the heap (the image staged zero-padded where {@link Im2col#padsImage}, else as it is) and its
     * packed form give exactly the columns unfolded segment to segment: random geometries (rows shorter and longer
     * than two vectors, strides 1 and 2, padding up to twice the kernel), a transposed geometry's negative padding,
     * and huge padding that must not be staged padded.
     */
    @Test
    void im2colThroughTheHeapEqualsSegmentToSegment() {
        int padded = 0;
        for (int iter = 0; iter < 90; iter++) {
            Im2col.Geometry g = switch (iter) {
                case 0 -> new Im2col.Geometry(3, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32); // ResNet's same-padded 3 x 3
                case 1 -> new Im2col.Geometry(2, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 8, 8); // its strided one
                case 2 -> new Im2col.Geometry(2, 7, 9, 3, 3, 1, 1, -1, -1, 1, 1, 3, 5); // a crop (negative padding)
                case 3 -> new Im2col.Geometry(1, 1, 1, 1, 2, 1, 1, 0, 1_500_000_000, 1, 1_500_000_000, 1, 1); // huge padding
                case 4 -> new Im2col.Geometry(2, 5, 3 * Simd.LANES + 1, 3, 3, 1, 1, 2, 2, 2, 2, 5, 3 * Simd.LANES + 1);
                case 5 -> new Im2col.Geometry(2, 9, 11, 3, 3, 1, 1, 0, 2, 1, 1, 9, 11); // bottom 2 / right 0: asymmetric
                case 6 -> new Im2col.Geometry(3, 10, 7, 3, 2, 1, 1, 2, 0, 1, 1, 8, 7); // top 2, bottom 0; right 1
                case 7 -> new Im2col.Geometry(2, 0, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 5); // zero height, padding only
                case 8 -> new Im2col.Geometry(16, 1, 1, 1, 1, 1_073_741_823, 1_073_741_823, 1_073_741_823, 1_073_741_823, 1, 1, 2, 2);
                default -> randomGeometry(iter % 4 == 0 ? 4 * Simd.LANES : 20, 4, iter % 5 == 0 ? 5 : 2, iter % 3 == 0 ? 2 : 1);
            };
            if (g == null) {
                continue;
            }
            if (Im2col.padsImage(g)) {
                padded++;
            }
            int c = g.c();
            int h = g.h();
            int w = g.w();
            long inOff = rnd.nextInt(0, 5);
            MemorySegment in = random((inOff + (long) c * h * w) * 4);
            long n = (long) g.rows() * g.cols();
            MemorySegment viaHeap = arena.allocate(n * 4, 64);
            MemorySegment direct = arena.allocate(n * 4, 64);
            Im2col.im2col(in, inOff, g, viaHeap, 0);
            Im2col.im2colSegments(in, inOff, g, direct, 0);
            float[] expected = direct.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertThat(viaHeap.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).as("%s", g).containsExactly(expected);
            // the packed form: sliver (j / NR), row p, lane j % NR; zeros past the last column
            float[] img = new float[Im2col.stagedImageFloats(g)];
            java.util.Arrays.fill(img, Float.NaN); // the staging must write every float it reads
            Im2col.stageImage(in, inOff, g, img);
            float[] packed = new float[Im2col.packedColumnFloats(g)];
            Im2col.im2colPacked(img, g, packed);
            int k = g.rows();
            int l = g.cols();
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < Sgemm.paddedColumns(l); j++) {
                    float want = j < l ? expected[p * l + j] : 0f;
                    float got = packed[j / Sgemm.NR * k * Sgemm.NR + p * Sgemm.NR + j % Sgemm.NR];
                    assertThat(Float.floatToRawIntBits(got)).as("%s row %d column %d", g, p, j).isEqualTo(Float.floatToRawIntBits(want));
                }
            }
        }
        assertThat(padded).isGreaterThanOrEqualTo(40);
        assertThat(Im2col.padsImage(new Im2col.Geometry(1, 1, 1, 1, 2, 1, 1, 0, 1_500_000_000, 1, 1_500_000_000, 1, 1))).isFalse();
        assertThat(Im2col.padsImage(new Im2col.Geometry(2, 7, 9, 3, 3, 1, 1, -1, -1, 1, 1, 3, 5))).isFalse();
        // padded sides near 2^30 on both axes: their product times the channels must not wrap into "small"
        assertThat(Im2col.padsImage(new Im2col.Geometry(16, 1, 1, 1, 1, 1_073_741_823, 1_073_741_823, 1_073_741_823, 1_073_741_823, 1, 1, 2, 2))).isFalse();
        assertThat(Im2col.padsImage(new Im2col.Geometry(3, 1, 1, 1, 1, 2_147_483_646, 2_147_483_646, 2_147_483_646, 2_147_483_646, 1, 1, 2, 2))).isFalse();
    }

    /**
     * col2im through the heap (whole vectors, a masked add for a row's last part) adds the same terms in the same order
     * as segment to segment: bit-equal, on rows shorter and longer than a vector, planes smaller than one, strides 1
     * and 2, padding wider than the kernel, over a non-zero image (it accumulates).
     */
    @Test
    void col2imThroughTheHeapEqualsSegmentToSegment() {
        int imageRowPath = 0;
        for (int iter = 0; iter < 120; iter++) {
            Im2col.Geometry g = iter < 6 ? namedCol2imGeometry(iter)
                    : randomGeometry(iter % 4 == 0 ? 3 * Simd.LANES : iter % 4 == 1 ? Math.max(1, Simd.LANES - 2) : 20, 5, iter % 5 == 0 ? 6 : 3, iter % 3 == 0 ? 2 : 1);
            if (g == null) {
                continue;
            }
            int c = g.c();
            int h = g.h();
            int w = g.w();
            int cols = g.rows() * g.cols();
            int plane = c * h * w;
            MemorySegment col = random((long) cols * 4);
            MemorySegment img = random((long) plane * 4);
            if (iter < 4) { // signed zeros: a masked-off lane must add nothing, not +0 (which would turn -0 into +0)
                for (long e = 0; e < plane; e += 2) {
                    img.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, -0f);
                }
                for (long e = 0; e < cols; e += 3) {
                    col.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, -0f);
                }
            }
            float[] colArray = col.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            float[] imgArray = img.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            Im2col.col2im(col, 0, g, img, 0);
            float[] expected = img.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            // at offset 0 (the column-row loop unless no tap reads left of a row), and after col2imLead floats with the
            // room the image-row path needs (taken where the image row fits one vector)
            int lead = Im2col.col2imLead(g);
            for (int colOff : new int[] {0, lead + 1}) {
                float[] heapCol = new float[colOff + cols + Math.max(Im2col.col2imTail(g), Im2col.HEAP_SLACK)];
                System.arraycopy(colArray, 0, heapCol, colOff, cols);
                float[] heapImg = java.util.Arrays.copyOf(imgArray, plane + Im2col.HEAP_SLACK);
                java.util.Arrays.fill(heapImg, plane, heapImg.length, 7f); // the slack is never added to
                Im2col.col2imHeap(heapCol, colOff, g, heapImg, 0);
                assertThat(java.util.Arrays.copyOf(heapImg, plane)).as("%s at column offset %d", g, colOff).containsExactly(expected);
                for (int i = plane; i < heapImg.length; i++) {
                    assertThat(heapImg[i]).as("slack %d of %s", i - plane, g).isEqualTo(7f);
                }
            }
            if (Im2col.rowVectorCol2im(g)) {
                imageRowPath++;
            }
        }
        assertThat(imageRowPath).as("geometries that took the image-row path").isGreaterThanOrEqualTo(10);
    }

    /** The four convolution epilogues by turns: none, per-channel bias + ReLU, bias alone, bias + GELU (applied per row). */
    private static Sgemm.Epilogue rowEpilogue(int iter, MemorySegment bias) {
        return switch (iter % 4) {
            case 0 -> Sgemm.Epilogue.NONE;
            case 1 -> Sgemm.Epilogue.rowBias(bias, 0, UnaryOp.RELU);
            case 2 -> Sgemm.Epilogue.rowBias(bias, 0, UnaryOp.IDENTITY);
            default -> Sgemm.Epilogue.rowBias(bias, 0, UnaryOp.GELU);
        };
    }

    /**
     * im2col + the packed GEMM of one staged image ({@code out = act(W x_unfolded + bias)}): the reference every
     * convolution kernel that skips the unfolding must equal bit for bit; in a {@link #guarded} segment.
     */
    private static MemorySegment unfoldedProduct(Im2col.Geometry g, int og, float[] packedW, float[] img, Sgemm.Epilogue epi, int guard) {
        float[] cols = new float[Im2col.packedColumnFloats(g)];
        Im2col.im2colPacked(img, g, cols);
        MemorySegment expected = guarded(og * g.cols(), guard);
        Sgemm.gemmPackedAB(og, g.cols(), g.rows(), packedW, cols, expected, guard, g.cols(), epi, new float[Sgemm.SCRATCH_FLOATS]);
        return expected;
    }

    /**
     * A direct layer written channels-last ({@link Conv2dDriver#forwardChannelsLast}: a plan's stem read by Winograd
     * layers), in its vector and its scalar (young process) form, holds the bits of im2col's product turned
     * channels-last: stride 1, kernels 1-5, paddings 0-2 (unlike along the axes), dilations 1-2, widths that leave a
     * short last block (read past the row), 1-3 vectors of channels (an odd last vector takes the 8 x 1 kernel), bias
     * and ReLU or not, two images; nothing written outside the output.
     */
    @Test
    void channelsLastDirectConvolutionEqualsUnfoldedProduct() {
        int cases = 0;
        for (int iter = 0; iter < 48; iter++) {
            int c = iter == 0 ? 3 : 1 + rnd.nextInt(4);
            int h = iter == 0 ? 32 : 1 + rnd.nextInt(14);
            int w = iter == 0 ? 32 : 1 + rnd.nextInt(14);
            int k = iter == 0 ? 3 : 1 + rnd.nextInt(5);
            int pad = iter == 0 ? 1 : rnd.nextInt(3);
            int padW = iter == 0 ? 1 : rnd.nextInt(3);
            int dil = iter == 0 ? 1 : 1 + rnd.nextInt(2);
            int m = iter == 0 ? 16 : Simd.LANES * (1 + rnd.nextInt(3)); // 0: ResNet's 3 -> 16 stem
            int span = dil * (k - 1) + 1;
            if (h + 2 * pad < span || w + 2 * padW < span) {
                continue;
            }
            Im2col.Geometry g = new Im2col.Geometry(c, h, w, k, k, 1, 1, pad, padW, dil, dil, h + 2 * pad - span + 1, w + 2 * padW - span + 1);
            if (!Conv2dDriver.channelsLastApplies(g, 1, m, false)) {
                continue;
            }
            int images = 1 + iter % 2;
            int l = g.cols();
            MemorySegment bias = random(4L * m);
            Sgemm.Epilogue epi = switch (iter % 3) {
                case 0 -> Sgemm.Epilogue.NONE;
                case 1 -> Sgemm.Epilogue.rowBias(bias, 0, UnaryOp.RELU);
                default -> Sgemm.Epilogue.rowBias(bias, 0, UnaryOp.IDENTITY);
            };
            MemorySegment x = random(4L * images * c * h * w);
            MemorySegment weights = random(4L * m * g.rows());
            float[] packedW = Sgemm.packA(weights, 0, g.rows(), m, g.rows());
            int guard = 2 * Simd.LANES;
            int[] want = new int[images * l * m];
            for (int n = 0; n < images; n++) {
                float[] img = new float[Im2col.stagedImageFloats(g)];
                Im2col.stageImage(x, (long) n * c * h * w, g, img);
                MemorySegment planes = unfoldedProduct(g, m, packedW, img, epi, guard);
                for (int o = 0; o < m; o++) {
                    for (int q = 0; q < l; q++) {
                        want[(n * l + q) * m + o] = planes.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, guard + (long) o * l + q);
                    }
                }
            }
            float[] wT = Conv2dDriver.transposedWeights(weights, 0, m, g.rows());
            float[] biasT = epi.bias() == null ? null : bias.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            for (boolean scalar : new boolean[] {false, true}) {
                MemorySegment out = guarded(images * l * m, guard);
                if (scalar) {
                    Conv2dDriver.forwardChannelsLastScalar(g, m, x, 0, images, weights, 0, epi, out, guard);
                } else {
                    Conv2dDriver.forwardChannelsLastVector(g, m, x, 0, images, wT, biasT, epi.relu(), out, guard, Conv2dDriver.threadBuffers(g));
                }
                int[] got = out.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
                assertThat(java.util.Arrays.copyOfRange(got, guard, guard + want.length)).as("%s m %d %s scalar %s", g, m, epi, scalar).containsExactly(want);
                for (int i = 0; i < guard; i++) {
                    assertThat(got[i]).as("%s: a write before the output", g).isEqualTo(0x7f7f7f7f);
                    assertThat(got[guard + want.length + i]).as("%s: a write past the output", g).isEqualTo(0x7f7f7f7f);
                }
            }
            cases++;
        }
        assertThat(cases).isGreaterThanOrEqualTo(20);
        // a plan's stem: ResNet's 3 -> 16 layer at every width; not stride 2, not past one depth block, not a partial vector
        assertThat(Conv2dDriver.channelsLastApplies(new Im2col.Geometry(3, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32), 1, 16, false)).isTrue();
        assertThat(Conv2dDriver.channelsLastApplies(new Im2col.Geometry(3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16), 1, 16, false)).isFalse();
        assertThat(Conv2dDriver.channelsLastApplies(new Im2col.Geometry(64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8), 1, 64, false)).isFalse();
        assertThat(Conv2dDriver.channelsLastApplies(new Im2col.Geometry(3, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32), 1, 3 * Simd.LANES + 1, false)).isFalse();
    }

    /**
     * A stride-2 convolution over the parity planes of {@link Im2col#stagePhases} ({@link Sgemm#gemmPackedATapsB} with
     * {@link Im2col#phaseTapOffsets}) gives the bits of im2col's product, for every stride-2 padded geometry without
     * dilation (whichever path the driver's waste rule then picks): ResNet's 3 x 3 and 1 x 1 layers, odd sides, kernels
     * 1-5, paddings 0-2 (unlike along the two axes too), depth past KC. The planes hold the padded image's (even, odd) rows and columns.
     */
    @Test
    void strideTwoOverParityPlanesEqualsUnfoldedProduct() {
        int cases = 0;
        for (int iter = 0; iter < 60; iter++) {
            int c;
            int h;
            int w;
            int k;
            int pad;
            switch (iter) {
                case 0 -> { c = 16; h = 32; w = 32; k = 3; pad = 1; } // ResNet-20's 16 -> 32 layer
                case 1 -> { c = 16; h = 32; w = 32; k = 1; pad = 0; } // its 1 x 1 shortcut
                case 2 -> { c = 64; h = 9; w = 11; k = 3; pad = 1; } // depth 576 > KC
                default -> {
                    c = 1 + rnd.nextInt(3);
                    h = 1 + rnd.nextInt(iter % 3 == 0 ? 3 * Simd.LANES : 13);
                    w = 1 + rnd.nextInt(iter % 3 == 0 ? 3 * Simd.LANES : 13);
                    k = 1 + rnd.nextInt(5);
                    pad = rnd.nextInt(3);
                }
            }
            int padW = iter < 3 || iter % 2 == 0 ? pad : rnd.nextInt(3); // ONNX's pads may differ along the two axes
            if (h + 2 * pad < k || w + 2 * padW < k) {
                continue;
            }
            Im2col.Geometry g = new Im2col.Geometry(c, h, w, k, k, 2, 2, pad, padW, 1, 1, (h + 2 * pad - k) / 2 + 1, (w + 2 * padW - k) / 2 + 1);
            if (!Im2col.padsImage(g)) {
                continue;
            }
            int og = iter < 3 ? 2 * Sgemm.MR + 3 : 1 + rnd.nextInt(2 * Sgemm.MR + 2);
            MemorySegment bias = random(4L * og);
            Sgemm.Epilogue epi = rowEpilogue(iter, bias);
            int rows = g.rows();
            MemorySegment x = random(4L * c * h * w);
            float[] packedW = Sgemm.packA(random(4L * og * rows), 0, rows, og, rows);
            float[] img = new float[Im2col.stagedImageFloats(g)];
            Im2col.stageImage(x, 0, g, img);
            int guard = 2 * Simd.LANES;
            MemorySegment expected = unfoldedProduct(g, og, packedW, img, epi, guard);
            float[] planes = new float[Im2col.phaseImageFloats(g)];
            java.util.Arrays.fill(planes, Float.NaN); // reads past the planes may only feed dropped columns
            Im2col.stagePhases(x, 0, g, planes);
            int wq = Im2col.phaseRowLength(g);
            int hq = (int) ((Im2col.paddedHeight(g) + 1) / 2);
            int wp = (int) Im2col.paddedWidth(g);
            for (int ch = 0; ch < c; ch++) { // plane (ch, a, b) at (y, x) is the padded image at (2y + a, 2x + b)
                for (int q = 0; q < 4 * hq * wq; q++) {
                    int a = q / (2 * hq * wq);
                    int b = q / (hq * wq) % 2;
                    int y = q / wq % hq;
                    int xx = q % wq;
                    int pr = 2 * y + a;
                    int pc = 2 * xx + b;
                    float want = pr < Im2col.paddedHeight(g) && pc < wp ? img[ch * (int) (Im2col.paddedHeight(g) * wp) + pr * wp + pc] : 0f;
                    assertThat(planes[ch * 4 * hq * wq + q]).as("%s plane %d,%d at %d,%d", g, a, b, y, xx).isEqualTo(want);
                }
            }
            int[] taps = new int[rows];
            Im2col.phaseTapOffsets(g, taps);
            MemorySegment actual = guarded(og * g.cols(), guard);
            Sgemm.gemmPackedATapsB(og, rows, packedW, planes, taps, g.oH(), g.oW(), wq, actual, guard, epi,
                    new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
            assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d", g, og)
                    .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            cases++;
        }
        assertThat(cases).isGreaterThanOrEqualTo(30);
        // the driver's choice: ResNet's 16 x 16 outputs read plane rows of 17 (at most a sixth more columns at every
        // width); its 8 x 8 outputs (rows of 9) only where one 8-pixel row is a whole sliver (NR = 8)
        assertThat(Im2col.phasesInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16))).isTrue();
        assertThat(Im2col.phasesInPlace(new Im2col.Geometry(32, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 8, 8))).isEqualTo(Sgemm.NR <= 8);
        assertThat(Im2col.phasesInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32))).isFalse(); // stride 1
        assertThat(Im2col.phasesInPlace(new Im2col.Geometry(16, 32, 32, 1, 1, 2, 2, 0, 0, 1, 1, 16, 16))).isFalse(); // 1 x 1
    }

    /**
     * A strided convolution over its column-shifted planes ({@link Im2col#stridedShiftsInPlace}: {@link Im2col#stageShifts}
     * with stride, {@link Sgemm#gemmPackedATapsB} over rows of exactly oW) gives the bits of im2col's product: strides
     * (1, 2), (2, 1) and (2, 2), dilations 1-2, kernels 1-5 (not 1 x 1), paddings 0-2, odd sides, depth past KC, with the
     * channel-wise pixel tail too where it applies. Every tap's run over the planes is im2col's row, float for float;
     * nothing is written outside the output; reads past the planes (NaN there) may only feed dropped columns.
     */
    @Test
    void stridedShiftedPlanesEqualUnfoldedProduct() {
        int cases = 0;
        int tails = 0;
        for (int iter = 0; iter < 90; iter++) {
            int c;
            int h;
            int w;
            int kH;
            int kW;
            int sH = 2;
            int sW = 2;
            int pad;
            int dil = 1;
            switch (iter) {
                case 0 -> { c = 16; h = 32; w = 32; kH = kW = 3; pad = 1; } // ResNet-20's 16 -> 32 layer
                case 1 -> { c = 32; h = 16; w = 16; kH = kW = 3; pad = 1; } // its 32 -> 64 layer: 8 x 8 outputs
                case 2 -> { c = 64; h = 9; w = 11; kH = kW = 3; pad = 1; } // depth 576 > KC
                default -> {
                    c = 1 + rnd.nextInt(3);
                    h = 1 + rnd.nextInt(iter % 3 == 0 ? 3 * Simd.LANES : 13);
                    w = 1 + rnd.nextInt(iter % 3 == 0 ? 3 * Simd.LANES : 13);
                    kH = 1 + rnd.nextInt(5);
                    kW = 1 + rnd.nextInt(5);
                    pad = rnd.nextInt(3);
                    dil = 1 + rnd.nextInt(2);
                    int strides = rnd.nextInt(3);
                    sH = strides == 1 ? 1 : 2;
                    sW = strides == 2 ? 1 : 2;
                }
            }
            int reachH = dil * (kH - 1) + 1;
            int reachW = dil * (kW - 1) + 1;
            if (h + 2 * pad < reachH || w + 2 * pad < reachW) {
                continue;
            }
            Im2col.Geometry g = new Im2col.Geometry(c, h, w, kH, kW, sH, sW, pad, pad, dil, dil, (h + 2 * pad - reachH) / sH + 1,
                    (w + 2 * pad - reachW) / sW + 1);
            if (!Conv2dDriver.staged(g) || !Im2col.stridedShiftsFit(g)) {
                continue;
            }
            int og = iter < 3 ? 2 * Sgemm.MR + 3 : 1 + rnd.nextInt(2 * Sgemm.MR + 2);
            MemorySegment bias = random(4L * og);
            Sgemm.Epilogue epi = rowEpilogue(iter, bias);
            int rows = g.rows();
            int l = g.cols();
            MemorySegment x = random(4L * c * h * w);
            MemorySegment weights = random(4L * og * rows);
            float[] packedW = Sgemm.packA(weights, 0, rows, og, rows);
            float[] img = new float[Im2col.stagedImageFloats(g)];
            Im2col.stageImage(x, 0, g, img);
            int guard = 2 * Simd.LANES;
            MemorySegment expected = unfoldedProduct(g, og, packedW, img, epi, guard);
            float[] padded = new float[Im2col.stagedImageFloats(g)];
            java.util.Arrays.fill(padded, Float.NaN);
            float[] planes = new float[Im2col.shiftImageFloats(g)];
            java.util.Arrays.fill(planes, Float.NaN);
            Im2col.stageShifts(x, 0, g, padded, planes);
            int[] taps = new int[rows];
            Im2col.shiftTapOffsets(g, taps);
            MemorySegment unfolded = java.lang.foreign.Arena.ofAuto().allocate(4L * rows * l, 64);
            Im2col.im2col(x, 0, g, unfolded, 0);
            for (int p = 0; p < rows; p++) {
                for (int q = 0; q < l; q++) {
                    float want = unfolded.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) p * l + q);
                    assertThat(Float.floatToRawIntBits(planes[taps[p] + q])).as("%s tap row %d pixel %d", g, p, q).isEqualTo(Float.floatToRawIntBits(want));
                }
            }
            MemorySegment actual = guarded(og * l, guard);
            Sgemm.gemmPackedATapsB(og, rows, packedW, planes, taps, g.oH(), g.oW(), g.oW(), actual, guard, epi,
                    new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
            assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d", g, og)
                    .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            float[] wT = Sgemm.packTransposedTail(weights, 0, rows, og, rows);
            if (wT != null && Sgemm.transposedTailColumns(og, rows, g.oH(), g.oW(), g.oW(), epi) > 0) {
                MemorySegment viaTail = guarded(og * l, guard);
                Sgemm.gemmPackedATapsB(og, rows, packedW, wT, planes, taps, g.oH(), g.oW(), g.oW(), viaTail, guard, epi,
                        new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
                assertThat(viaTail.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d transposed tail", g, og)
                        .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
                tails++;
            }
            cases++;
        }
        assertThat(cases).isGreaterThanOrEqualTo(30);
        assertThat(tails).isPositive();
        // the driver's choice: ResNet's 16 x 16 outputs where the parity planes' rows of 17 waste columns (32-column
        // slivers), its 8 x 8 outputs where a row of 8 is not a whole sliver; never a 1 x 1 shortcut, never stride 1
        // (shiftsInPlace's) or 3
        assertThat(Im2col.stridedShiftsInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16))).isEqualTo(Sgemm.NR > 16);
        assertThat(Im2col.stridedShiftsInPlace(new Im2col.Geometry(32, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 8, 8))).isEqualTo(Sgemm.NR > 8);
        assertThat(Im2col.stridedShiftsFit(new Im2col.Geometry(16, 32, 32, 1, 1, 2, 2, 0, 0, 1, 1, 16, 16))).isFalse();
        assertThat(Im2col.stridedShiftsFit(new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32))).isFalse();
        assertThat(Im2col.stridedShiftsFit(new Im2col.Geometry(16, 32, 32, 3, 3, 3, 3, 1, 1, 1, 1, 11, 11))).isFalse(); // stride 3
    }

    /**
     * The weight gradient as dot products ({@link Conv2dDriver#weightGradientDots}) adds in its stated order at every
     * width: element (p, o) keeps 16 partial sums, pixel q of each image (in order) FMA'd into partial q mod 16, the
     * run padded with 0 x 0 to whole groups of 16, then folded pairwise (8, 4, 2, 1). A scalar model of that order
     * gives the same bits; groups keep their own sums over a chunk; nothing is written outside C.
     */
    @Test
    void weightGradientDotsAddInTheirFixedOrder() {
        int cases = 0;
        for (int iter = 0; iter < 40; iter++) { // at every width: the scalar form where Simd.GROUP is 0
            Im2col.Geometry g = switch (iter) {
                case 0 -> new Im2col.Geometry(1, 32, 32, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28); // LeNet's first layer
                case 1 -> new Im2col.Geometry(3, 20, 21, 3, 3, 1, 1, 1, 1, 1, 1, 20, 21); // 420 pixels: a ragged last group
                default -> {
                    int k = 1 + rnd.nextInt(5);
                    int pad = rnd.nextInt(3);
                    int dil = 1 + rnd.nextInt(2);
                    int h = 1 + rnd.nextInt(30);
                    int w = 1 + rnd.nextInt(30);
                    int oH = h + 2 * pad - dil * (k - 1);
                    int oW = w + 2 * pad - dil * (k - 1);
                    yield oH <= 0 || oW <= 0 ? null : new Im2col.Geometry(1 + rnd.nextInt(3), h, w, k, k, 1, 1, pad, pad, dil, dil, oH, oW);
                }
            };
            if (g == null || !Conv2dDriver.staged(g) || !Im2col.shiftsFit(g)) {
                continue;
            }
            int og = iter == 0 ? 6 : 1 + rnd.nextInt(9);
            int groups = 1 + rnd.nextInt(2);
            int images = 1 + rnd.nextInt(3);
            int k = g.rows();
            int l = g.cols();
            int guard = 2 * Simd.LANES;
            MemorySegment c = guarded(groups * k * og, guard);
            MemorySegment cols = java.lang.foreign.Arena.ofAuto().allocate(4L * k * l + 4, 64);
            float[][] partial = new float[groups * k * og][16];
            Conv2dDriver.Buffers buf = Conv2dDriver.threadBuffers(g);
            for (int n = 0; n < images; n++) {
                for (int grp = 0; grp < groups; grp++) {
                    MemorySegment x = random(4L * g.c() * g.h() * g.w());
                    MemorySegment gout = random(4L * og * l);
                    Conv2dDriver.weightGradientDots(g, og, grp, groups, x, 0, gout, 0, c, guard + (long) grp * k * og, n == 0, n == images - 1, buf);
                    Im2col.im2col(x, 0, g, cols, 0);
                    for (int p = 0; p < k; p++) {
                        for (int o = 0; o < og; o++) {
                            float[] part = partial[(grp * k + p) * og + o];
                            for (int q = 0; q < (l + 15) / 16 * 16; q++) {
                                float xv = q < l ? KernelReference.get(cols, (long) p * l + q) : 0f;
                                float gv = q < l ? KernelReference.get(gout, (long) o * l + q) : 0f;
                                part[q % 16] = Math.fma(xv, gv, part[q % 16]);
                            }
                        }
                    }
                }
            }
            for (int e = 0; e < groups * k * og; e++) {
                float[] f = partial[e].clone();
                for (int half = 8; half >= 1; half /= 2) {
                    for (int i = 0; i < half; i++) {
                        f[i] += f[i + half];
                    }
                }
                assertThat(Float.floatToRawIntBits(KernelReference.get(c, guard + e))).as("%s og %d groups %d images %d element %d", g, og, groups, images, e)
                        .isEqualTo(Float.floatToRawIntBits(f[0]));
            }
            for (int i = 0; i < guard; i++) {
                assertThat(c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i)).as("before C").isEqualTo(0x7f7f7f7f);
                assertThat(c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, guard + (long) groups * k * og + i)).as("after C").isEqualTo(0x7f7f7f7f);
            }
            cases++;
        }
        assertThat(cases).isGreaterThanOrEqualTo(15);
        // the driver's choice: LeNet's first layer (6 channels over 784 pixels), not its second (100 pixels)
        assertThat(Conv2dDriver.dotsWeightGradient(new Im2col.Geometry(1, 32, 32, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28), 6, 1)).isTrue();
        assertThat(Conv2dDriver.dotsWeightGradient(new Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10), 16, 1)).isFalse();
        // a choice that never depends on the width (the two paths add in different orders): a 16 x 16 layer with
        // 3 x 3 taps shifts in place at 16 lanes only, but takes the dot products at every width, 2 lanes included
        assertThat(Conv2dDriver.dotsWeightGradient(new Im2col.Geometry(2, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 16), 4, 1)).isTrue();
    }

    /** {@code floats} floats with {@code guard} floats of 0x7f7f7f7f on each side, to catch a write outside them. */
    private static MemorySegment guarded(int floats, int guard) {
        MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(4L * (floats + 2 * guard), 64);
        s.fill((byte) 0x7f);
        return s;
    }

    /**
     * The column-shifted staging ({@link Im2col#stageShifts}) of {@code x}: plane (ch, j) row r is the padded image's
     * row r from column j dW on, float for float; the product over it (row length oW) gives {@code expected}'s bits,
     * nothing written outside the output. Reads past the planes may only feed dropped columns (NaN there).
     */
    /** Products {@link #checkShifts} also ran with a channel-wise pixel tail ({@link Sgemm#packTransposedTail}). */
    private int transposedTails;

    private void checkShifts(Im2col.Geometry g, MemorySegment x, float[] img, int og, MemorySegment w, float[] packedW, Sgemm.Epilogue epi,
                             MemorySegment expected, int guard) {
        float[] padded = new float[Im2col.stagedImageFloats(g)];
        java.util.Arrays.fill(padded, Float.NaN);
        float[] planes = new float[Im2col.shiftImageFloats(g)];
        java.util.Arrays.fill(planes, Float.NaN);
        Im2col.stageShifts(x, 0, g, padded, planes);
        int wp = (int) Im2col.paddedWidth(g);
        int hp = (int) Im2col.paddedHeight(g);
        for (int ch = 0, at = 0; ch < g.c(); ch++) {
            for (int j = 0; j < g.kW(); j++) {
                for (int r = 0; r < hp; r++) {
                    for (int xx = 0; xx < g.oW(); xx++, at++) {
                        assertThat(Float.floatToRawIntBits(planes[at])).as("%s shift plane %d,%d at %d,%d", g, ch, j, r, xx)
                                .isEqualTo(Float.floatToRawIntBits(img[(ch * hp + r) * wp + j * g.dW() + xx]));
                    }
                }
            }
        }
        int[] taps = new int[g.rows()];
        Im2col.shiftTapOffsets(g, taps);
        MemorySegment actual = guarded(og * g.cols(), guard);
        Sgemm.gemmPackedATapsB(og, g.rows(), packedW, planes, taps, g.oH(), g.oW(), g.oW(), actual, guard, epi,
                new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
        assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d shifts", g, og)
                .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
        // the last 1-4 pixels channel-wise (a plan's constant weights): the same bits, nothing written outside
        float[] wT = Sgemm.packTransposedTail(w, 0, g.rows(), og, g.rows());
        if (wT != null && Sgemm.transposedTailColumns(og, g.rows(), g.oH(), g.oW(), g.oW(), epi) > 0) {
            MemorySegment viaTail = guarded(og * g.cols(), guard);
            Sgemm.gemmPackedATapsB(og, g.rows(), packedW, wT, planes, taps, g.oH(), g.oW(), g.oW(), viaTail, guard, epi,
                    new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
            assertThat(viaTail.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d %s shifts, transposed tail", g, og, epi.activation())
                    .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            transposedTails++;
        }
        if (!Conv2dDriver.staged(g)) {
            return;
        }
        // the weight gradient (C[k, og] = cols gout^T, then += a second image's): the driver reads the rows in the
        // shifted planes where shiftsFit holds; from the row-major columns, the same bits
        MemorySegment gout = random(4L * og * g.cols());
        MemorySegment gout2 = random(4L * og * g.cols());
        MemorySegment x2 = random(4L * g.c() * g.h() * g.w());
        MemorySegment cols = java.lang.foreign.Arena.ofAuto().allocate(4L * g.rows() * g.cols() + 4, 64);
        MemorySegment viaRows = guarded(g.rows() * og, guard);
        MemorySegment viaImage = guarded(g.rows() * og, guard);
        Conv2dDriver.Buffers buf = Conv2dDriver.threadBuffers(g);
        Im2col.im2col(x, 0, g, cols, 0);
        Conv2dDriver.weightGradient(g, og, cols, 0, true, gout, 0, viaRows, guard, false, buf);
        Im2col.im2col(x2, 0, g, cols, 0);
        Conv2dDriver.weightGradient(g, og, cols, 0, true, gout2, 0, viaRows, guard, true, buf);
        Conv2dDriver.weightGradient(g, og, x, 0, false, gout, 0, viaImage, guard, false, buf);
        Conv2dDriver.weightGradient(g, og, x2, 0, false, gout2, 0, viaImage, guard, true, buf);
        assertThat(viaImage.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d weight gradient", g, og)
                .containsExactly(viaRows.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
    }

    /**
     * A stride-2 convolution's weight gradient from the image (its rows read in the strided column-shifted planes,
     * where {@link Im2col#stridedShiftsFit}) has the bits of the one from im2col's row-major columns, over two images
     * (the second added), and the double reference's values: ResNet-20's two downsampling layers, odd sizes with
     * asymmetric padding, stride 2 in one direction only. Nothing is written outside C.
     */
    @Test
    void stridedWeightGradientFromShiftedPlanesEqualsRowMajor() {
        Im2col.Geometry[] geometries = {
                new Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16),
                new Im2col.Geometry(32, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 8, 8),
                new Im2col.Geometry(3, 11, 9, 3, 3, 2, 2, 1, 0, 1, 1, 6, 4),
                new Im2col.Geometry(5, 7, 12, 3, 2, 1, 2, 1, 1, 1, 1, 7, 7),
        };
        int guard = 2 * Simd.LANES;
        for (Im2col.Geometry g : geometries) {
            assertThat(Im2col.stridedShiftsFit(g)).as("%s", g).isTrue();
            assertThat(Conv2dDriver.staged(g)).as("%s", g).isTrue();
            int og = 2 * Sgemm.MR + 3;
            MemorySegment x = random(4L * g.c() * g.h() * g.w());
            MemorySegment x2 = random(4L * g.c() * g.h() * g.w());
            MemorySegment gout = random(4L * og * g.cols());
            MemorySegment gout2 = random(4L * og * g.cols());
            MemorySegment cols = java.lang.foreign.Arena.ofAuto().allocate(4L * g.rows() * g.cols() + 4, 64);
            MemorySegment cols2 = java.lang.foreign.Arena.ofAuto().allocate(4L * g.rows() * g.cols() + 4, 64);
            MemorySegment viaRows = guarded(g.rows() * og, guard);
            MemorySegment viaImage = guarded(g.rows() * og, guard);
            Conv2dDriver.Buffers buf = Conv2dDriver.threadBuffers(g);
            Im2col.im2col(x, 0, g, cols, 0);
            Im2col.im2col(x2, 0, g, cols2, 0);
            Conv2dDriver.weightGradient(g, og, cols, 0, true, gout, 0, viaRows, guard, false, buf);
            Conv2dDriver.weightGradient(g, og, cols2, 0, true, gout2, 0, viaRows, guard, true, buf);
            Conv2dDriver.weightGradient(g, og, x, 0, false, gout, 0, viaImage, guard, false, buf);
            Conv2dDriver.weightGradient(g, og, x2, 0, false, gout2, 0, viaImage, guard, true, buf);
            assertThat(viaImage.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d weight gradient", g, og)
                    .containsExactly(viaRows.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            for (int r = 0; r < g.rows(); r++) { // C[r, o] = sum over both images and pixels q of cols[r, q] gout[o, q]
                for (int o = 0; o < og; o++) {
                    double want = 0;
                    double scale = 0;
                    for (int q = 0; q < g.cols(); q++) {
                        long at = (long) r * g.cols() + q;
                        long go = (long) o * g.cols() + q;
                        double a = (double) cols.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at) * gout.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, go);
                        double b = (double) cols2.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at) * gout2.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, go);
                        want += a + b;
                        scale += Math.abs(a) + Math.abs(b);
                    }
                    float got = viaImage.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, guard + (long) r * og + o);
                    assertThat((double) got).as("%s C[%d, %d]", g, r, o).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5 * scale + 1e-6));
                }
            }
        }
    }

    /** {@link Im2col#stageImage} of a random image puts every pixel at (pT + r, pL + x) of its padded plane, zeros elsewhere. */
    private void checkStaging(Im2col.Geometry g) {
        MemorySegment x = random(4L * g.c() * g.h() * g.w());
        float[] img = new float[Im2col.stagedImageFloats(g)];
        java.util.Arrays.fill(img, Float.NaN);
        Im2col.stageImage(x, 0, g, img);
        int wp = (int) Im2col.paddedWidth(g);
        int hp = (int) Im2col.paddedHeight(g);
        for (int ch = 0; ch < g.c(); ch++) {
            for (int pr = 0; pr < hp; pr++) {
                for (int pc = 0; pc < wp; pc++) {
                    int r = pr - g.pT();
                    int col = pc - g.pL();
                    boolean inside = r >= 0 && r < g.h() && col >= 0 && col < g.w();
                    float want = inside ? x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) ch * g.h() + r) * g.w() + col) : 0f;
                    assertThat(Float.floatToRawIntBits(img[(ch * hp + pr) * wp + pc])).as("%s ch %d row %d col %d", g, ch, pr, pc)
                            .isEqualTo(Float.floatToRawIntBits(want));
                }
            }
        }
    }

    /**
     * Ranges [from, to) that cover units [0, units) in a random order: cut at 0, a few random points (repeats make empty
     * ranges) and the end, plus one empty range; the first starts before 0 ({@code earlyStart}) and the last runs past
     * the end ({@code lateEnd}) where asked, both for the kernel to clip.
     */
    private java.util.List<int[]> coveringRanges(int units, boolean earlyStart, boolean lateEnd) {
        java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>(java.util.List.of(0, units));
        for (int c = rnd.nextInt(4); c > 0; c--) {
            cuts.add(rnd.nextInt(units + 1));
        }
        java.util.List<int[]> ranges = new java.util.ArrayList<>();
        Integer previous = null;
        for (int cut : cuts) {
            if (previous != null) {
                ranges.add(new int[] {previous == 0 && earlyStart ? -3 : previous, cut == units && lateEnd ? units + 5 : cut});
            }
            previous = cut;
        }
        ranges.add(new int[] {units / 2, units / 2});
        java.util.Collections.shuffle(ranges, rnd);
        return ranges;
    }

    /**
     * {@link Sgemm#gemmPackedATapsBUnits} (what {@code Conv2dDriver.tapsProduct} hands each thread) over any ranges that
     * cover the units, run in any order, each with its own sliver, writes the bits of the one whole call and nothing
     * outside the output: rows that start their blocks (pad columns between them), blocks across short padded rows,
     * column-shifted planes with the channel-wise pixel tail (which only the range reaching the end computes), a depth
     * over KC, a depth of zero; ranges empty, clipped past the end or starting before 0. Fails if a range starts a block
     * or a row past its first unit (mutations of its first column, both layouts, fail here); a range that also computed
     * its neighbour's blocks would write the same bits, so only the bits and the guards are asserted.
     */
    @Test
    void tapsProductRangesGiveTheWholeProductsBits() {
        int guard = 2 * Simd.LANES;
        int rowWide = 2 * Sgemm.NR + 3;
        Object[][] cases = {
                {new Im2col.Geometry(5, 7, rowWide, 3, 3, 1, 1, 1, 1, 1, 1, 7, rowWide), false}, // blocks start at each row
                {new Im2col.Geometry(5, 12, 7, 3, 3, 1, 1, 1, 1, 1, 1, 12, 7), false}, // blocks run across short padded rows
                {new Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10), true}, // LeNet's conv2 on its shifted planes
                {new Im2col.Geometry(64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8), false}, // depth 576: two KC blocks
                {new Im2col.Geometry(3, 6, 2 * Sgemm.NR, 3, 3, 1, 1, 1, 1, 1, 1, 6, 2 * Sgemm.NR), true}, // shifted planes of whole slivers
        };
        int tails = 0;
        for (int iter = 0; iter < 40; iter++) {
            Im2col.Geometry g = (Im2col.Geometry) cases[iter % cases.length][0];
            boolean shifted = (Boolean) cases[iter % cases.length][1];
            int og = iter % cases.length == 2 ? (iter % 2 == 0 ? 6 : 16) // LeNet's channels: a pixel tail at every width
                    : iter % 3 == 0 ? 16 : 1 + rnd.nextInt(2 * Sgemm.MR + 2);
            int k = iter == cases.length ? 0 : g.rows(); // one product of depth zero: the epilogue alone
            int l = g.cols();
            MemorySegment x = random(4L * g.c() * g.h() * g.w());
            MemorySegment w = random(4L * og * g.rows());
            float[] packedW = Sgemm.packA(w, 0, g.rows(), og, g.rows());
            Sgemm.Epilogue epi = iter % 5 == 4 ? Sgemm.Epilogue.columnBias(random(4L * l), 0, UnaryOp.RELU) : rowEpilogue(iter, random(4L * og));
            float[] img;
            int[] taps = new int[g.rows()];
            int wp;
            float[] wT = null;
            if (shifted) {
                img = new float[Im2col.shiftImageFloats(g)];
                java.util.Arrays.fill(img, Float.NaN);
                Im2col.stageShifts(x, 0, g, new float[Im2col.stagedImageFloats(g)], img);
                Im2col.shiftTapOffsets(g, taps);
                wp = g.oW();
                if (Sgemm.transposedTailColumns(og, k, g.oH(), g.oW(), wp, epi) > 0) {
                    wT = Sgemm.packTransposedTail(w, 0, g.rows(), og, g.rows());
                }
            } else {
                img = new float[Im2col.stagedImageFloats(g)];
                java.util.Arrays.fill(img, Float.NaN);
                Im2col.stageImage(x, 0, g, img);
                Im2col.tapOffsets(g, taps);
                wp = Im2col.paddedRowLength(g);
            }
            MemorySegment whole = guarded(og * l, guard);
            Sgemm.gemmPackedATapsB(og, k, packedW, wT, img, taps, g.oH(), g.oW(), wp, whole, guard, epi,
                    new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS]);
            int units = Sgemm.tapsUnits(g.oH(), g.oW(), wp);
            assertThat(units).as("%s", g).isEqualTo(g.oW() >= Sgemm.NR && wp != g.oW() ? g.oH()
                    : (int) ((Sgemm.tapsColumns(g.oH(), g.oW(), wp) + Sgemm.NR - 1) / Sgemm.NR));
            java.util.List<int[]> ranges = coveringRanges(units, iter % 2 == 1, iter % 4 == 1);
            MemorySegment split = guarded(og * l, guard);
            for (int[] r : ranges) {
                Sgemm.gemmPackedATapsBUnits(og, k, packedW, wT, img, taps, g.oH(), g.oW(), wp, split, guard, epi,
                        new float[Im2col.packedColumnFloats(g)], new float[Sgemm.SCRATCH_FLOATS], r[0], r[1]);
            }
            assertThat(split.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d k %d ranges %s", g, og, k,
                            ranges.stream().map(java.util.Arrays::toString).toList())
                    .containsExactly(whole.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            tails += wT != null ? 1 : 0;
        }
        assertThat(tails).as("products with the channel-wise tail").isPositive();
    }

    /**
     * {@link Sgemm#gemmRowsAPackedBTiles} (what {@code Conv2dDriver.rowsProduct} hands each thread of a weight gradient)
     * over ranges of row tiles that cover them, in any order, each with its own tile, writes the bits of the one whole call
     * ({@link Sgemm#gemmRowsAPackedB} / {@link Sgemm#gemmTapsAPackedB}) and nothing outside C: row-major A and A's rows
     * through offsets, C written or added to, depths of zero, one block and two KC blocks, rows past a whole tile, columns
     * of half a vector to two slivers. Fails if a range starts a tile past its first (mutation: a range's first row + MR).
     */
    @Test
    void rowsProductRangesGiveTheWholeProductsBits() {
        int guard = 2 * Simd.LANES;
        for (int iter = 0; iter < 36; iter++) {
            int m = 1 + rnd.nextInt(4 * Sgemm.MR + 5);
            int n = 1 + rnd.nextInt(2 * Sgemm.NR + 3);
            int k = iter == 3 ? 0 : 1 + rnd.nextInt(iter % 5 == 0 ? Sgemm.KC + 40 : 70);
            boolean accumulate = iter % 3 == 1;
            boolean viaOffsets = iter % 2 == 0;
            int tiles = Sgemm.rowTiles(m);
            int rowsPadded = tiles * Sgemm.MR;
            int lda = k + rnd.nextInt(3);
            float[] a = new float[rowsPadded * lda + Im2col.HEAP_SLACK];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextDouble(-2, 2);
            }
            int[] rows = null;
            if (viaOffsets) { // A's rows anywhere in the array: here the row-major rows in reverse, pad rows at row 0's
                rows = new int[rowsPadded];
                for (int i = 0; i < rowsPadded; i++) {
                    rows[i] = i < m ? (m - 1 - i) * lda : rows[0];
                }
            }
            float[] src = new float[n * k];
            for (int i = 0; i < src.length; i++) {
                src[i] = (float) rnd.nextDouble(-2, 2);
            }
            int bFloats = Sgemm.packedBFloats(k, n);
            float[] bp = new float[bFloats + n * k + Im2col.HEAP_SLACK];
            System.arraycopy(src, 0, bp, bFloats, n * k);
            Sgemm.packBFromRows(bp, bFloats, n, k, bp);
            MemorySegment start = random(4L * (m * n + 2 * guard));
            MemorySegment whole = guarded(m * n, guard);
            MemorySegment split = guarded(m * n, guard);
            if (accumulate) {
                whole.copyFrom(start);
                split.copyFrom(start);
            }
            if (viaOffsets) {
                Sgemm.gemmTapsAPackedB(m, n, k, a, rows, bp, whole, guard, n, accumulate, new float[Sgemm.SCRATCH_FLOATS]);
            } else {
                Sgemm.gemmRowsAPackedB(m, n, k, a, lda, bp, whole, guard, n, accumulate, new float[Sgemm.SCRATCH_FLOATS]);
            }
            java.util.List<int[]> ranges = coveringRanges(tiles, iter % 4 == 1, iter % 4 == 2);
            for (int[] r : ranges) {
                Sgemm.gemmRowsAPackedBTiles(m, n, k, a, rows, lda, bp, split, guard, n, accumulate, new float[Sgemm.SCRATCH_FLOATS], r[0], r[1]);
            }
            assertThat(split.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("m %d n %d k %d accumulate %s offsets %s ranges %s", m, n, k,
                            accumulate, viaOffsets, ranges.stream().map(java.util.Arrays::toString).toList())
                    .containsExactly(whole.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
        }
    }

    /**
     * Stride-1 convolutions unfolded in place ({@link Sgemm#gemmPackedATapsB} over the padded staging) give the bits of
     * im2col + the packed GEMM for every epilogue, for depths across a KC block (64 channels x 3 x 3 = 576), padding,
     * dilation, rows of one to three vectors, output channels around MR; nothing written outside the output, also
     * when it ends the segment.
     */
    @Test
    void inPlaceUnfoldingEqualsUnfoldedProduct() {
        int cases = 0;
        for (int iter = 0; iter < 110; iter++) {
            Im2col.Geometry g = switch (iter) {
                case 0 -> new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32); // ResNet-20's layers
                case 1 -> new Im2col.Geometry(32, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 16);
                case 2 -> new Im2col.Geometry(64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8); // depth 576 > KC
                case 3 -> new Im2col.Geometry(3, 9, 3 * Simd.LANES + 3, 3, 3, 1, 1, 2, 2, 2, 2, 9, 3 * Simd.LANES + 3);
                case 4 -> new Im2col.Geometry(64, 0, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 5); // zero height, bottom/right padding
                case 5 -> new Im2col.Geometry(20, 9, 2 * Simd.LANES + 3, 3, 3, 1, 1, 0, 2, 1, 1, 9, 2 * Simd.LANES + 3); // asymmetric
                // LeNet's conv2 (100 pixels: 4 past the last whole block at every width), no bias / bias + ReLU / bias
                case 8, 9, 10 -> new Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10);
                default -> {
                    Im2col.Geometry r = randomGeometry(iter % 3 == 0 ? 3 * Simd.LANES : 14, 4, 3, 1);
                    yield r == null || r.sH() != 1 ? null : r;
                }
            };
            if (g == null || g.sH() != 1 || g.sW() != 1 || !Im2col.padsImage(g) || g.cols() == 0) {
                continue; // the kernel's preconditions: every such geometry, whichever path the driver picks for it
            }
            int og = iter < 3 ? 2 * Sgemm.MR + 3 : iter == 8 || iter == 9 ? 16 : iter == 10 ? 6 : 1 + rnd.nextInt(2 * Sgemm.MR + 2);
            // the staging itself, checked against the image: zeros around it, the image at (pT, pL) of each plane
            checkStaging(g);
            MemorySegment bias = random(4L * og);
            Sgemm.Epilogue epi = iter % 7 == 6 ? Sgemm.Epilogue.columnBias(random(4L * g.cols()), 0, UnaryOp.RELU) // per pixel
                    : rowEpilogue(iter, bias);
            int k = g.rows();
            int l = g.cols();
            MemorySegment x = random(4L * g.c() * g.h() * g.w());
            MemorySegment w = random(4L * og * k);
            float[] packedW = Sgemm.packA(w, 0, k, og, k);
            float[] img = new float[Im2col.stagedImageFloats(g)];
            java.util.Arrays.fill(img, Float.NaN); // reads past the padded planes may only feed dropped columns
            Im2col.stageImage(x, 0, g, img);
            int guard = 2 * Simd.LANES;
            MemorySegment expected = unfoldedProduct(g, og, packedW, img, epi, guard);
            MemorySegment actual = guarded(og * l, guard);
            int[] taps = new int[k];
            Im2col.tapOffsets(g, taps);
            float[] sliver = new float[Im2col.packedColumnFloats(g)];
            Sgemm.gemmPackedATapsB(og, k, packedW, img, taps, g.oH(), g.oW(), Im2col.paddedRowLength(g), actual, guard, epi, sliver,
                    new float[Sgemm.SCRATCH_FLOATS]);
            assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s og %d %s", g, og, epi.activation())
                    .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            MemorySegment tight = java.lang.foreign.Arena.ofAuto().allocate(4L * og * l, 64);
            Sgemm.gemmPackedATapsB(og, k, packedW, img, taps, g.oH(), g.oW(), Im2col.paddedRowLength(g), tight, 0, epi, sliver,
                    new float[Sgemm.SCRATCH_FLOATS]);
            assertThat(tight.toArray(java.lang.foreign.ValueLayout.JAVA_INT))
                    .containsExactly(expected.asSlice(4L * guard, 4L * og * l).toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            checkShifts(g, x, img, og, w, packedW, epi, expected, guard);
            cases++;
        }
        assertThat(cases).isGreaterThanOrEqualTo(25);
        // the channel-wise pixel tail ran: LeNet's conv2 with 6 channels at every width, with 16 from 8 lanes on
        assertThat(transposedTails).isGreaterThanOrEqualTo(Simd.LANES >= 8 ? 3 : 1);
        // column shifts where they multiply fewer columns than the padded rows: LeNet's 5 x 5 over 14 x 14 at every
        // width (100 columns against 136 virtual ones; at NR = 4 as well: 100 against 136), ResNet's 8 x 8 layers where 78 virtual columns take more
        // slivers than 64 (not at NR = 8: one whole sliver a row either way), never its 32-wide layers
        assertThat(Im2col.shiftsInPlace(new Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10))).isTrue();
        // conv1: 784 columns, not 28 x 32, wherever a 28-pixel row is not a whole number of slivers (64-bit vectors,
        // NR = 4: it is, and the padded rows waste nothing)
        assertThat(Im2col.shiftsInPlace(new Im2col.Geometry(1, 32, 32, 5, 5, 1, 1, 0, 0, 1, 1, 28, 28))).isEqualTo(28 % Sgemm.NR != 0);
        assertThat(Im2col.shiftsInPlace(new Im2col.Geometry(64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8))).isEqualTo(Sgemm.NR > 8);
        assertThat(Im2col.shiftsInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32))).isFalse();
        assertThat(Im2col.shiftsInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16))).isFalse(); // stride 2
        assertThat(Sgemm.tapsComputedColumns(10, 10, 10)).isEqualTo(Sgemm.paddedColumns(100)); // no pad columns: flat blocks
        assertThat(Im2col.unfoldsInPlace(new Im2col.Geometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1, 10, 10))).isFalse(); // 36% waste
        assertThat(Im2col.unfoldsInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16))).isFalse(); // stride 2
        // the driver's choice counts whole slivers: ResNet's 32-wide layers unfold in place at every width; its 8 x 8
        // layers (78 virtual columns for 64 pixels) multiply 96 columns against 64 at 16 lanes, 80 against 64 at 8; at 4
        // lanes (NR = 8) each 8-pixel row is one whole sliver: no waste, in place
        assertThat(Im2col.unfoldsInPlace(new Im2col.Geometry(16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 32))).isTrue();
        assertThat(Im2col.unfoldsInPlace(new Im2col.Geometry(64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8))).isEqualTo(Sgemm.NR <= 8);
        assertThat(Sgemm.tapsComputedColumns(8, 8, 10)).isEqualTo(Sgemm.NR <= 8 ? 64 : (78 + Sgemm.NR - 1) / Sgemm.NR * Sgemm.NR);
        assertThat(Sgemm.tapsComputedColumns(32, 32, 34)).isEqualTo(32L * ((32 + Sgemm.NR - 1) / Sgemm.NR * Sgemm.NR));
    }

    /**
     * Huge padding and dilation over a one-pixel image: neither a padded staging nor col2im's spare room may scale with
     * them (1.5e9 floats each before these checks).
     */
    @Test
    void hugePaddingAndDilationNeverScaleTheScratch() {
        int big = 1_500_000_000;
        Im2col.Geometry huge = new Im2col.Geometry(1, 1, 1, 1, 2, 1, 1, 0, big, 1, big, 1, 1);
        assertThat(Im2col.padsImage(huge)).isFalse();
        assertThat(Im2col.rowVectorCol2im(huge)).isFalse();
        assertThat(Conv2dDriver.columnFloats(huge)).isLessThan(1 << 16);
    }

    /**
     * Max-pool backward over non-overlapping 2 x 2 windows written in one pass ({@link Pooling#maxPool2x2Backward})
     * gives the bits of zeroing then scattering ({@link Pooling#maxPool2dBackward}): gradients with signed zeros, ties
     * in the input (the argmax the forward chose), output widths around the lane count, planes ending at the
     * segment's end (the cell-by-cell path) and the rule that picks it.
     */
    @Test
    void maxPool2x2BackwardEqualsZeroAndScatter() {
        Pooling.Window win = new Pooling.Window(2, 2, 2, 2, 0, 0, 1, 1);
        assertThat(Pooling.tiles2x2(win, 28, 28, 14, 14)).isTrue();
        assertThat(Pooling.tiles2x2(win, 27, 28, 13, 14)).as("an odd height leaves a row out").isFalse();
        assertThat(Pooling.tiles2x2(new Pooling.Window(3, 3, 2, 2, 0, 0, 1, 1), 29, 29, 14, 14)).isFalse();
        assertThat(Pooling.tiles2x2(new Pooling.Window(2, 2, 2, 2, 1, 1, 1, 1), 28, 28, 15, 15)).isFalse();
        for (int iter = 0; iter < 40; iter++) {
            int planes = 1 + rnd.nextInt(5);
            int oh = 1 + rnd.nextInt(8);
            int ow = iter < 3 ? new int[] {14, 5, Simd.LANES}[iter] : 1 + rnd.nextInt(3 * Simd.LANES);
            int h = 2 * oh;
            int w = 2 * ow;
            MemorySegment in = random(4L * planes * h * w);
            if (iter % 4 == 0) { // ties: the forward's scan order picks the argmax
                for (long e = 0; e < (long) planes * h * w; e += 3) {
                    in.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, 0.5f);
                }
            }
            MemorySegment out = random(4L * planes * oh * ow);
            MemorySegment idx = random(4L * planes * oh * ow);
            Pooling.maxPool2d(in, 0, planes, h, w, win, out, 0, idx, 0, oh, ow);
            MemorySegment g = random(4L * planes * oh * ow);
            for (long e = 0; e < (long) planes * oh * ow; e += 5) {
                g.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, -0f);
            }
            MemorySegment expected = random(4L * planes * h * w);
            MemorySegment actual = random(4L * planes * h * w); // garbage first: every cell must be written
            Pooling.maxPool2dBackward(g, 0, idx, 0, planes, oh * ow, expected, 0, h * w);
            Pooling.maxPool2x2Backward(g, 0, idx, 0, planes, oh, ow, actual, 0);
            assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%d planes of %dx%d", planes, h, w)
                    .containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            // inside a larger segment (a plan's arena slot): whole-vector stores stop at dx's end, not the segment's
            int guard = 3 * Simd.LANES;
            MemorySegment inArena = guarded(planes * h * w, guard);
            MemorySegment gArena = random(4L * (planes * oh * ow + guard)); // so are g and the indices: vectors run past them
            MemorySegment idxArena = random(4L * (planes * oh * ow + guard));
            MemorySegment.copy(g, 0, gArena, 0, g.byteSize());
            MemorySegment.copy(idx, 0, idxArena, 0, idx.byteSize());
            Pooling.maxPool2x2Backward(gArena, 0, idxArena, 0, planes, oh, ow, inArena, guard);
            assertThat(inArena.asSlice(4L * guard, 4L * planes * h * w).toArray(java.lang.foreign.ValueLayout.JAVA_INT))
                    .as("%d planes of %dx%d in an arena", planes, h, w).containsExactly(expected.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
            for (int e = 0; e < guard; e++) {
                assertThat(inArena.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, e)).as("guard before, %d planes of %dx%d", planes, h, w).isEqualTo(0x7f7f7f7f);
                assertThat(inArena.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, guard + (long) planes * h * w + e))
                        .as("guard after, %d planes of %dx%d", planes, h, w).isEqualTo(0x7f7f7f7f);
            }
        }
    }

    /**
     * An inference 2 x 2 pool over a part of the planes ({@link Pooling#maxPool2dPlanes}, a thread's share) writes exactly
     * that part's outputs: sentinels before and after it survive, in an output segment with room after the part
     * (whole-vector stores must stop at the part's end, not the segment's) and in one that ends with it. Short rows
     * (grouped several to a vector at 16 lanes) and long ones; inputs that end their segment (the last rows' scalar rule).
     */
    @Test
    void maxPool2x2InferenceWritesOnlyItsPlanes() {
        Pooling.Window win = new Pooling.Window(2, 2, 2, 2, 0, 0, 1, 1);
        float sentinel = -12345f;
        for (int iter = 0; iter < 60; iter++) {
            int planes = 2 + rnd.nextInt(6);
            int oh = 1 + rnd.nextInt(6);
            int ow = iter < 4 ? new int[] {5, 14, 1, Simd.LANES / 2}[iter] : 1 + rnd.nextInt(2 * Simd.LANES);
            int h = 2 * oh;
            int w = 2 * ow;
            int p0 = rnd.nextInt(planes);
            int p1 = p0 + 1 + rnd.nextInt(planes - p0);
            boolean tight = iter % 2 == 0; // the output segment ends with the part
            long outFloats = tight ? (long) p1 * oh * ow : (long) planes * oh * ow + 4L * Simd.LANES;
            MemorySegment in = random(4L * planes * h * w);
            for (long e = 0; e < (long) planes * h * w; e++) { // ties of signed zeros and NaNs with distinct payloads
                int r = rnd.nextInt(8);
                if (r < 3) {
                    in.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, r == 0 ? 0f : r == 1 ? -0f : Float.intBitsToFloat(0x7fc00000 | rnd.nextInt(1 << 22)));
                }
            }
            MemorySegment out = arena.allocate(4L * outFloats, 64);
            for (long e = 0; e < outFloats; e++) {
                out.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e, sentinel);
            }
            Pooling.maxPool2dPlanes(in, 0, p0, p1, h, w, win, out, 0, null, 0, oh, ow, new float[Simd.LANES]);
            for (long e = 0; e < outFloats; e++) {
                float got = out.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, e);
                int pl = (int) (e / ((long) oh * ow));
                if (pl < p0 || pl >= p1) {
                    assertThat(got).as("planes [%d, %d) of %d, %dx%d: output %d outside the part", p0, p1, planes, oh, ow, e).isEqualTo(sentinel);
                    continue;
                }
                int y = (int) (e % ((long) oh * ow) / ow);
                int x = (int) (e % ow);
                float best = 0;
                for (int a = 0; a < 4; a++) { // PyTorch's scan: a later cell wins if greater or NaN
                    float c = in.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) pl * h + 2 * y + a / 2) * w + 2 * x + a % 2);
                    if (a == 0 || c > best || Float.isNaN(c)) {
                        best = c;
                    }
                }
                assertThat(Float.floatToRawIntBits(got)).as("planes [%d, %d) of %d, %dx%d: output %d", p0, p1, planes, oh, ow, e)
                        .isEqualTo(Float.floatToRawIntBits(best));
            }
        }
    }

    /** LeNet's conv2 input gradient, and padded, dilated and height-strided rows that fit one vector at this width. */
    private static Im2col.Geometry namedCol2imGeometry(int which) {
        int w = Math.min(14, Simd.LANES);
        return switch (which) {
            case 0 -> new Im2col.Geometry(6, 14, w, 5, Math.min(5, w), 1, 1, 0, 0, 1, 1, 10, w - Math.min(5, w) + 1);
            case 1 -> new Im2col.Geometry(2, 7, w, 3, 3, 1, 1, 1, 1, 1, 1, 7, w); // same padding: taps read left and right of a row
            case 2 -> new Im2col.Geometry(3, 9, w, 3, 2, 2, 1, 1, 0, 2, 2, 4, w - 2); // height stride 2, dilation 2
            case 3 -> new Im2col.Geometry(1, 5, Math.min(3, w), 2, 2, 1, 1, 2, 2, 1, 1, 8, Math.min(3, w) + 3); // padding wider than the kernel
            // planes smaller than a vector (one row of 3; two cells), channels not a multiple of the four taken together:
            // a row's whole-vector store runs into the next planes, which the block's later channels store after it
            case 4 -> new Im2col.Geometry(7, 1, 3, 1, 2, 1, 1, 0, 0, 1, 1, 1, 2);
            default -> new Im2col.Geometry(6, 2, 1, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1);
        };
    }

    /**
     * packBFromRows deals B^T's rows into slivers: element (p, j) of sliver j0 at {@code j0 k + p NR + j - j0} is
     * {@code src[srcOff + j k + p]}, whole slivers by 8 x 8 blocks in registers at 8 lanes (x86) and element by element
     * past them; read from the same array it writes, past the panel (as Conv2dDriver.weightGradient stages it). Depths
     * that end in a partial block of 16 steps and 1024 (rows 4 KB apart, one L1 set), widths of whole and part slivers.
     */
    @Test
    void packBFromRowsTransposesEveryBlock() {
        for (int n : new int[] {Sgemm.NR, Sgemm.NR + 3, 2 * Sgemm.NR, 5}) {
            for (int k : new int[] {16, 3 * 2 * Simd.LANES + 5, 1024, 7}) {
                int panel = Sgemm.packedBFloats(k, n);
                float[] bp = new float[panel + n * k];
                for (int i = 0; i < n * k; i++) {
                    bp[panel + i] = (float) rnd.nextGaussian();
                }
                float[] src = java.util.Arrays.copyOfRange(bp, panel, panel + n * k);
                java.util.Arrays.fill(bp, 0, panel, Float.NaN); // every cell a product reads must be written
                Sgemm.packBFromRows(bp, panel, n, k, bp);
                for (int j0 = 0; j0 < n; j0 += Sgemm.NR) {
                    int nr = Math.min(Sgemm.NR, n - j0);
                    for (int p = 0; p < k; p++) {
                        for (int jj = 0; jj < nr; jj++) {
                            assertThat(bp[j0 * k + p * Sgemm.NR + jj]).as("n=%d k=%d column %d step %d", n, k, j0 + jj, p)
                                    .isEqualTo(src[(j0 + jj) * k + p]);
                        }
                        // the pad columns a part sliver's tile reads (up to a half vector, one or two: rowsATileColumns) are zeros
                        int read = Sgemm.rowsATileColumns(nr);
                        for (int jj = nr; jj < read; jj++) {
                            assertThat(bp[j0 * k + p * Sgemm.NR + jj]).as("n=%d k=%d pad column %d step %d", n, k, j0 + jj, p).isEqualTo(0f);
                        }
                    }
                }
            }
        }
    }

    /**
     * Products over row-major A with at most one vector of columns run the one-vector tile: the same bits as the
     * two-vector tile gives those columns in a wider product (depth across two KC blocks, rows past a whole tile), and
     * the right values (double reference).
     */
    @Test
    void oneVectorRowsATileEqualsTheTwoVectorTile() {
        int m = 2 * Sgemm.MR + 3;
        int k = Sgemm.KC + 188;
        float[] tile = new float[Sgemm.SCRATCH_FLOATS];
        for (int n : new int[] {1, Math.min(6, Simd.LANES), Simd.LANES}) {
            float[] a = new float[(m + Sgemm.MR) / Sgemm.MR * Sgemm.MR * k];
            float[] bt = new float[(n + 1) * k]; // B^T: n + 1 rows of depth k
            for (int i = 0; i < m * k; i++) {
                a[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < bt.length; i++) {
                bt[i] = (float) rnd.nextGaussian();
            }
            float[] narrow = new float[Sgemm.packedBFloats(k, n)];
            float[] wide = new float[Sgemm.packedBFloats(k, Simd.LANES + 1)];
            Sgemm.packBFromRows(bt, 0, n, k, narrow);
            Sgemm.packBFromRows(bt, 0, n + 1, k, wide);
            MemorySegment c1 = arena.allocate((long) m * n * 4, 64);
            MemorySegment c2 = arena.allocate((long) m * (Simd.LANES + 1) * 4, 64);
            Sgemm.gemmRowsAPackedB(m, n, k, a, k, narrow, c1, 0, n, false, tile);
            Sgemm.gemmRowsAPackedB(m, Simd.LANES + 1, k, a, k, wide, c2, 0, Simd.LANES + 1, false, tile); // two-vector tile
            for (int r = 0; r < m; r++) {
                for (int j = 0; j < n; j++) {
                    float got = c1.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) r * n + j);
                    assertThat(Float.floatToRawIntBits(got)).as("n=%d C[%d,%d]", n, r, j)
                            .isEqualTo(Float.floatToRawIntBits(c2.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) r * (Simd.LANES + 1) + j)));
                    double want = 0;
                    for (int p = 0; p < k; p++) {
                        want += (double) a[r * k + p] * bt[j * k + p];
                    }
                    assertThat((double) got).as("n=%d C[%d,%d]", n, r, j).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-3 * Math.sqrt(k)));
                }
            }
        }
    }

    @Test
    void sgemmLargeBlocksAndThreadCountsAgree() {
        int saved = Parallel.threads();
        try {
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                checkSgemm(false, false, Sgemm.MC + 37, Sgemm.NR * 3 + 5, Sgemm.KC * 2 + 1, 1f, 0f, null);
                checkSgemm(true, true, 150, 20, 300, 1f, 1f, null);
            }
            // bit-identical results for any thread count
            MemorySegment a = random(200L * 300 * 4);
            MemorySegment b = random(300L * 180 * 4);
            float[][] results = new float[3][];
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                MemorySegment c = arena.allocate(200L * 180 * 4, 64);
                Sgemm.sgemm(false, false, 200, 180, 300, 1f, a, 0, 300, b, 0, 180, 0f, c, 0, 180, null);
                results[threads - 1] = c.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            }
            assertThat(results[1]).containsExactly(results[0]);
            assertThat(results[2]).containsExactly(results[0]);
        } finally {
            Parallel.setThreads(saved);
        }
    }

    private Sgemm.Epilogue epilogue(int iter, int m, int n) {
        return switch (iter % 5) {
            case 1 -> Sgemm.Epilogue.columnBias(random(4L * n), 0, UnaryOp.IDENTITY);
            case 2 -> Sgemm.Epilogue.rowBias(random(4L * m), 0, UnaryOp.RELU);
            case 3 -> Sgemm.Epilogue.activation(UnaryOp.RELU);
            case 4 -> Sgemm.Epilogue.columnBias(random(4L * n), 0, iter % 2 == 0 ? UnaryOp.GELU : UnaryOp.GELU_TANH);
            default -> null;
        };
    }

    private void checkSgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, Sgemm.Epilogue epi) {
        int lda = (ta ? m : k) + rnd.nextInt(0, 3);
        int ldb = (tb ? k : n) + rnd.nextInt(0, 3);
        int ldc = n + rnd.nextInt(0, 3);
        long aOff = rnd.nextInt(0, 3);
        MemorySegment a = random((aOff + (long) (ta ? k : m) * lda) * 4);
        MemorySegment b = random((long) (tb ? n : k) * ldb * 4);
        MemorySegment c = random((long) m * ldc * 4);
        MemorySegment before = copyOf(c);
        Sgemm.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, 0, ldb, beta, c, 0, ldc, epi);
        double[] want = KernelReference.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, 0, ldb, beta, before, 0, ldc, epi);
        String what = String.format("sgemm ta=%b tb=%b %dx%dx%d alpha=%s beta=%s epi=%s", ta, tb, m, n, k, alpha, beta, epi);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                float got = KernelReference.get(c, (long) i * ldc + j);
                if (j >= n) { // padding between rows must be untouched
                    assertThat(got).as(what + " padding").isEqualTo(KernelReference.get(before, (long) i * ldc + j));
                    continue;
                }
                assertThat((double) got).as("%s [%d,%d]", what, i, j)
                        .isCloseTo(want[i * n + j], org.assertj.core.data.Offset.offset(2e-6 * k + 1e-5));
            }
        }
    }

    /** Column blocks: as few as NC allows, equal widths that are multiples of NR, none wider than NC, covering all. */
    @Test
    void columnBlocksAreEvenAndCoverTheWidth() {
        for (int width = 1; width <= 5 * Sgemm.NC; width += 7) {
            int step = Sgemm.columnBlock(width);
            int blocks = (width + step - 1) / step;
            assertThat(step).as("width %d", width).isLessThanOrEqualTo(Sgemm.NC).isPositive();
            assertThat(blocks).as("width %d", width).isEqualTo((width + Sgemm.NC - 1) / Sgemm.NC);
            if (blocks > 1) {
                assertThat(step % Sgemm.NR).as("width %d", width).isZero();
                assertThat(width - (blocks - 1) * step).as("last block of width %d", width).isGreaterThan(step - blocks * Sgemm.NR);
            }
        }
        assertThat(Sgemm.columnBlock(Sgemm.NC + 16)).isEqualTo(((Sgemm.NC + 16) / 2 + Sgemm.NR - 1) / Sgemm.NR * Sgemm.NR);
    }

    /**
     * The prepacked entry points sum exactly as the blocked GEMM does (the claim that lets a convolution or a plan
     * take them without changing a bit): packed A x packed-sliver B, and row-major A (pad rows zero) x packed-sliver B,
     * each writing C (beta 0) and adding to it (beta 1), against {@code sgemm} on the same operands. Shapes with
     * partial tiles, K across a KC block, and K = 0 (C = 0, or C kept).
     */
    @Test
    void prepackedEntryPointsGiveTheBlockedGemmsBits() {
        int[][] shapes = {{5, 7, 3}, {13, 37, 300}, {25, 33, Sgemm.KC + 9}, {7, 16, 0}, {Sgemm.MR * 3, Sgemm.NR * 2, 64},
                {25, Sgemm.NC + 16, Sgemm.KC + 9}, {9, 2 * Sgemm.NC + 3 * Sgemm.NR + 1, 40}}; // more than one column block
        for (int[] sh : shapes) {
            int m = sh[0];
            int n = sh[1];
            int k = sh[2];
            MemorySegment a = random((long) m * Math.max(k, 1) * 4);
            MemorySegment b = random((long) Math.max(k, 1) * n * 4);
            MemorySegment c0 = random((long) m * n * 4);
            float[] ap = Sgemm.packA(a, 0, Math.max(k, 1), m, k);
            float[] bp = Sgemm.packSlivers(false, b, 0, n, k, n);
            int rows = (m + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR;
            float[] rowMajor = new float[rows * k + 1];
            MemorySegment.copy(a, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, rowMajor, 0, m * k);
            float[] tile = new float[Sgemm.SCRATCH_FLOATS];
            for (boolean accumulate : new boolean[] {false, true}) {
                MemorySegment want = copyOf(c0);
                Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, Math.max(k, 1), b, 0, n, accumulate ? 1f : 0f, want, 0, n, null, null, false);
                MemorySegment packed = copyOf(c0);
                Sgemm.gemmPackedAB(m, n, k, ap, bp, packed, 0, n, accumulate, null, tile);
                MemorySegment rowA = copyOf(c0);
                Sgemm.gemmRowsAPackedB(m, n, k, rowMajor, k, bp, rowA, 0, n, accumulate, tile);
                String what = m + "x" + n + "x" + k + (accumulate ? " C +=" : " C =");
                assertThat(packed.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).as("gemmPackedAB " + what)
                        .containsExactly(want.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
                assertThat(rowA.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).as("gemmRowsAPackedB " + what)
                        .containsExactly(want.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
            }
        }
    }

    /**
     * The segment unfolding of images too large to stage ({@link Im2col#im2colSegments}) writes every column element as
     * the definition says, the padding's zeros included, over a buffer full of NaN: paddings of 1 and 2 (a few zeros a
     * row, fewer than a vector), wider than a vector, asymmetric, rows narrower than a vector, stride 2 and dilation.
     */
    @Test
    void segmentUnfoldingWritesEveryColumnAsDefined() {
        int l = Simd.LANES;
        Im2col.Geometry[] geometries = {
                new Im2col.Geometry(3, 20, 19, 3, 3, 1, 1, 1, 1, 1, 1, 20, 19),
                new Im2col.Geometry(2, 9, 37, 5, 5, 1, 1, 2, 2, 1, 1, 9, 37),
                new Im2col.Geometry(2, 6, l + 3, 3, 3, 1, 1, 1, l + 2, 1, 1, 6, 2 * l + 5), // zeros wider than a vector on the left
                new Im2col.Geometry(2, 6, l + 3, 3, 3, 1, 1, 1, 1, 1, 1, 6, 3 * l + 5), // and on the right
                new Im2col.Geometry(2, 7, 30, 3, 3, 1, 1, 0, 2, 1, 1, 5, 30), // asymmetric: 2 left, 0 right
                new Im2col.Geometry(2, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 5, 3), // rows narrower than a vector
                new Im2col.Geometry(2, 11, 23, 3, 3, 2, 2, 1, 1, 1, 1, 6, 12), // stride 2
                new Im2col.Geometry(2, 12, 25, 3, 3, 1, 1, 2, 2, 2, 2, 12, 25), // dilation 2
        };
        for (Im2col.Geometry g : geometries) {
            MemorySegment x = random(4L * g.c() * g.h() * g.w());
            long floats = (long) g.rows() * g.cols();
            MemorySegment col = java.lang.foreign.Arena.ofAuto().allocate(4 * (floats + 7), 64);
            for (long i = 0; i < floats + 7; i++) {
                col.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, Float.NaN);
            }
            Im2col.im2colSegments(x, 0, g, col, 3);
            for (int ch = 0; ch < g.c(); ch++) {
                for (int i = 0; i < g.kH(); i++) {
                    for (int j = 0; j < g.kW(); j++) {
                        int row = (ch * g.kH() + i) * g.kW() + j;
                        for (int y = 0; y < g.oH(); y++) {
                            for (int xx = 0; xx < g.oW(); xx++) {
                                int hh = y * g.sH() - g.pT() + i * g.dH();
                                int ww = xx * g.sW() - g.pL() + j * g.dW();
                                float want = hh < 0 || hh >= g.h() || ww < 0 || ww >= g.w() ? 0f
                                        : x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) ch * g.h() + hh) * g.w() + ww);
                                float got = col.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 3 + (long) row * g.cols() + y * g.oW() + xx);
                                assertThat(Float.floatToIntBits(got)).as("%s row %d pixel (%d, %d)", g, row, y, xx).isEqualTo(Float.floatToIntBits(want));
                            }
                        }
                    }
                }
            }
            for (long i : new long[] {0, 1, 2, floats + 3, floats + 4, floats + 5, floats + 6}) { // nothing written outside
                assertThat(col.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i)).as("%s float %d", g, i).isNaN();
            }
        }
    }

    private MemorySegment random(long bytes) {
        MemorySegment s = arena.allocate(Math.max(bytes, 4), 64);
        for (long i = 0; i < s.byteSize() / 4; i++) {
            KernelReference.set(s, i, (float) rnd.nextDouble(-1, 1));
        }
        return s;
    }
}
