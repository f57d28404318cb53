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

/**
 * The layout change that turns a 2-d convolution into a GEMM. For one image of {@code c} channels,
 * {@code col[(ch * kH + i) * kW + j, y * oW + x] = in[ch, y * sH - pT + i * dH, x * sW - pL + j * dW]} (0 outside
 * the image): each column holds one receptive field. {@link #col2im} is its adjoint, adding columns back into
 * an image gradient. {@code pT}/{@code pL} are the top/left padding; bottom/right padding follows from the output size.
 */
public final class Im2col {
    private Im2col() {
    }

    /** Convolution geometry of one spatial layer. */
    public record Geometry(int c, int h, int w, int kH, int kW, int sH, int sW, int pT, int pL, int dH, int dW, int oH, int oW) {
        public int rows() {
            return c * kH * kW;
        }

        public int cols() {
            return oH * oW;
        }

        /**
         * Written out: a record's generated equals bootstraps a method-handle chain on its first call (spinning
         * classes), ~10 ms of a LeNet cold start inside the first convolution's tap-offset lookup.
         */
        @Override
        public boolean equals(Object o) {
            return o instanceof Geometry g && c == g.c && h == g.h && w == g.w && kH == g.kH && kW == g.kW && sH == g.sH && sW == g.sW
                    && pT == g.pT && pL == g.pL && dH == g.dH && dW == g.dW && oH == g.oH && oW == g.oW;
        }

        @Override
        public int hashCode() {
            int r = c;
            for (int v : new int[] {h, w, kH, kW, sH, sW, pT, pL, dH, dW, oH, oW}) {
                r = 31 * r + v;
            }
            return r;
        }
    }

    /** Per-thread heap copies of one image and its column matrix (grown on demand, kept for the next call). */
    private static final class Scratch {
        float[] image = new float[0];
        float[] columns = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = new ThreadLocal<>() {
        @Override
        protected Scratch initialValue() {
            return new Scratch();
        }
    };

    /** Images up to this many column floats go through {@link #im2colHeap} (larger ones stream segment to segment). */
    private static final int HEAP_MAX_FLOATS = 1 << 20;

    /**
     * {@code col[rows, cols] = im2col(in)} for one image {@code [c, h, w]} (element offsets). Small images are
     * copied to the heap in one bulk copy, unfolded there by {@link #im2colHeap} and copied back in one bulk copy:
     * measured 2x faster than unfolding segment to segment for LeNet's 28- and 10-float rows, whose per-row
     * segment checks cost more than the copies.
     */
    public static void im2col(MemorySegment in, long inOff, Geometry g, MemorySegment col, long colOff) {
        im2colStaged(in, inOff, g, col, colOff);
    }

    /**
     * {@link #im2col}, returning the heap copy of the columns ({@code [rows, cols]}, leading dimension cols, at least
     * {@link #HEAP_SLACK} spare floats after them) that stays valid until this thread's next call, so a GEMM can read
     * them without packing; null when the image was too large to stage (then only {@code col} holds them).
     */
    public static float[] im2colStaged(MemorySegment in, long inOff, Geometry g, MemorySegment col, long colOff) {
        long imageFloats = (long) g.c() * g.h() * g.w();
        long colFloats = (long) g.rows() * g.cols();
        if (colFloats > HEAP_MAX_FLOATS || imageFloats > HEAP_MAX_FLOATS) {
            im2colSegments(in, inOff, g, col, colOff);
            return null;
        }
        Scratch s = SCRATCH.get();
        if (s.image.length < stagedImageFloats(g)) {
            s.image = new float[stagedImageFloats(g)];
        }
        if (s.columns.length < colFloats + HEAP_SLACK) {
            s.columns = new float[(int) colFloats + HEAP_SLACK];
        }
        stageImage(in, inOff, g, s.image);
        im2colHeap(s.image, g, s.columns, g.cols());
        MemorySegment.copy(s.columns, 0, col, FLOAT, colOff << 2, (int) colFloats);
        return s.columns;
    }

    /** {@link #im2col} reading and writing the segments directly, for images too large to stage on the heap. */
    static void im2colSegments(MemorySegment in, long inOff, Geometry g, MemorySegment col, long colOff) {
        int cols = g.cols();
        for (int ch = 0; ch < g.c(); ch++) {
            long plane = inOff + (long) ch * g.h() * g.w();
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    long rowStart = colOff + (long) ((ch * g.kH() + i) * g.kW() + j) * cols;
                    for (int y = 0; y < g.oH(); y++) {
                        int hh = y * g.sH() - g.pT() + i * g.dH();
                        long dst = rowStart + (long) y * g.oW();
                        if (hh < 0 || hh >= g.h()) {
                            zero(col, dst, g.oW());
                            continue;
                        }
                        long src = plane + (long) hh * g.w();
                        int w0 = j * g.dW() - g.pL();
                        if (g.sW() == 1) {
                            // x in [xLo, xHi) reads inside the row: one bulk copy, zeros around it
                            int xLo = Math.max(0, -w0);
                            int xHi = Math.min(g.oW(), g.w() - w0);
                            if (xHi <= xLo) {
                                zero(col, dst, g.oW());
                                continue;
                            }
                            zero(col, dst, xLo);
                            copy(in, src + w0 + xLo, col, dst + xLo, xHi - xLo);
                            zero(col, dst + xHi, g.oW() - xHi);
                        } else {
                            for (int x = 0; x < g.oW(); x++) {
                                int ww = x * g.sW() + w0;
                                col.set(FLOAT, (dst + x) << 2, ww >= 0 && ww < g.w() ? in.get(FLOAT, (src + ww) << 2) : 0f);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Whether a staged image of this geometry is laid out zero-padded ({@link #stageImage}): then every column row is
     * copied from it without a bounds check or a zero-filled edge per output row (ResNet's 3 x 3 same-padded layers
     * spent a quarter of their training step cutting each row's first or last pixel to a scalar zero). Not for
     * negative padding (a transposed geometry's crop) or where the padded copy would be large beside the data (huge
     * padding or dilation over a small image). Never depends on the vector width: it only moves copies, not sums.
     */
    public static boolean padsImage(Geometry g) {
        if (g.pT() < 0 || g.pL() < 0) {
            return false;
        }
        long data = (long) g.c() * g.h() * g.w();
        long limit = 4 * (data + (long) g.c() * g.kH() * g.kW() * g.cols()) + 1024;
        // sides near 2^31 each (huge padding or stride) must not wrap the product into a small number: divide
        long wp = paddedWidth(g);
        long hp = paddedHeight(g);
        return wp <= limit && hp <= limit / wp && (long) g.c() <= limit / (hp * wp);
    }

    /** Row length of the padded layout: the image after pL zeros, and every column any tap reads. */
    static long paddedWidth(Geometry g) {
        return Math.max((long) g.w() + g.pL(), (long) (g.oW() - 1) * g.sW() + (long) (g.kW() - 1) * g.dW() + 1);
    }

    /** Rows of one channel's padded plane: the image after pT zero rows, and every row any tap reads. */
    static long paddedHeight(Geometry g) {
        return Math.max((long) g.h() + g.pT(), (long) (g.oH() - 1) * g.sH() + (long) (g.kH() - 1) * g.dH() + 1);
    }

    private static long paddedPlaneFloats(Geometry g) {
        return paddedHeight(g) * paddedWidth(g);
    }

    /**
     * Whether a convolution of this geometry runs without an unfolded matrix ({@link Sgemm#gemmPackedATapsB} over the
     * padded staged image): stride 1 both ways, a padded staging, and at most a sixth more columns multiplied than
     * im2col's packed product multiplies. Counted in whole slivers ({@link Sgemm#tapsComputedColumns} against
     * {@link Sgemm#paddedColumns}): ResNet's 8 x 8 layers have 78 virtual columns for 64 pixels, 22% more, but at 16
     * lanes those are three 32-column slivers against two, 50% more work; in place they ran at 10.7 ms per 64-channel
     * layer at batch 128 against 8.1-8.8 through im2col (AMD EPYC Zen 4, 512 bits, forward and input gradient alike),
     * while 12.5% more (the 16 x 16 layers at 16 lanes) was still ~4% faster in place than im2col. Where rows of
     * oW columns would take fewer slivers, {@link #shiftsInPlace}'s planes are taken instead (LeNet's unpadded 5 x 5
     * over 14 x 14, ResNet's 8 x 8 layers at 8 and 16 lanes). The choice depends on the vector width but never the result: both paths give
     * the same bits (KernelPropertyTest.inPlaceUnfoldingEqualsUnfoldedProduct).
     */
    public static boolean unfoldsInPlace(Geometry g) {
        return g.sH() == 1 && g.sW() == 1 && padsImage(g) && g.cols() > 0
                && 6 * Sgemm.tapsComputedColumns(g.oH(), g.oW(), (int) paddedWidth(g)) <= 7L * Sgemm.paddedColumns(g.cols());
    }

    /**
     * Whether a stride-2 convolution runs without an unfolded matrix on its polyphase staging ({@link #stagePhases}):
     * each channel's padded image split into its four (row parity, column parity) planes, in which every tap of a
     * stride-2 window reads a stride-1 run, so {@link Sgemm#gemmPackedATapsB} multiplies it as it does a stride-1
     * layer (rows of B in the same order p = (ch kH + i) kW + j: the same bits as im2col's product). Stride 2 both ways,
     * no dilation, a padded staging, and at most a sixth more columns multiplied than im2col's product (the planes'
     * rows are {@link #phaseRowLength} long: ResNet's 16 x 16 outputs of a 32 x 32 input read rows of 17). Im2col of
     * strided rows was ~37% of such a layer's time (AMD EPYC Zen 4, ResNet-20's 16 -> 32 layer at batch 64). Not for
     * 1 x 1 kernels (a shortcut): they read one plane of four, and staging all four cost more than the product saved.
     */
    public static boolean phasesInPlace(Geometry g) {
        return g.sH() == 2 && g.sW() == 2 && g.dH() == 1 && g.dW() == 1 && g.kH() > 1 && g.kW() > 1 && padsImage(g) && g.cols() > 0
                && 6 * Sgemm.tapsComputedColumns(g.oH(), g.oW(), phaseRowLength(g)) <= 7L * Sgemm.paddedColumns(g.cols());
    }

    /** Row length of one parity plane of {@link #stagePhases}: half the padded row, rounded up. */
    public static int phaseRowLength(Geometry g) {
        return (int) ((paddedWidth(g) + 1) / 2); // padsImage bounds it
    }

    private static int phaseRows(Geometry g) {
        return (int) ((paddedHeight(g) + 1) / 2);
    }

    /**
     * Floats of a {@link #stagePhases} staging: 4 c parity planes, then slack for the reads of
     * {@link Sgemm#gemmPackedATapsB} past the last plane (at most NR floats: its runs end within a plane's last row).
     */
    public static int phaseImageFloats(Geometry g) {
        return Math.toIntExact(4L * g.c() * phaseRows(g) * phaseRowLength(g) + 2L * Sgemm.NR + HEAP_SLACK);
    }

    /**
     * One image {@code [c, h, w]} from a segment into its parity planes ({@link #phasesInPlace} geometries): plane
     * {@code (ch, a, b)} holds the zero-padded image's rows {@code 2y + a}, columns {@code 2x + b}, zeros past its
     * edge. Straight from the segment, a row at a time: source column s lands at padded column s + pL, so a row's even
     * columns go to one column-parity plane and its odd ones to the other, dealt by whole vectors of the row (two
     * vectors read, one written to each plane) where {@link #DEAL_BY_VECTORS}, element by element for the rest; then
     * only the pad columns around them are zeroed. No read leaves the row, so none crosses the segment's end. (Staged
     * padded on the heap first and dealt from there, each image moved twice: that copy was ~11% of ResNet-20's 16 -> 32
     * stride-2 layer, AMD EPYC Zen 3, AVX2. Reading each float from the segment with an edge test per float cost as
     * much as the im2col it replaces.) The slack after the planes is not written (it feeds dropped columns only).
     */
    public static void stagePhases(MemorySegment src, long srcOff, Geometry g, float[] image) {
        int hq = phaseRows(g);
        int wq = phaseRowLength(g);
        int plane = hq * wq;
        int h = g.h();
        int w = g.w();
        int pT = g.pT();
        int pL = g.pL();
        int evenPlane = (pL & 1) * plane; // the column-parity plane the source's even columns fall in (0 or plane)
        int oddPlane = plane - evenPlane;
        int evenAt = pL >> 1;             // where source column 0 lands in its plane's row
        int oddAt = (pL + 1) >> 1;        // where source column 1 lands in the other's
        int evens = (w + 1) / 2;
        int odds = w / 2;
        for (int ch = 0; ch < g.c(); ch++) {
            for (int pr = 0; pr < 2 * hq; pr++) { // 2 hq: an odd padded height's last odd-row plane row is zeros too
                int to = ((ch * 2 + (pr & 1)) * 2) * plane + (pr >> 1) * wq; // the column-parity-0 plane's row
                int r = pr - pT;
                if (r < 0 || r >= h) { // a pad row in both column planes
                    java.util.Arrays.fill(image, to, to + wq, 0f);
                    java.util.Arrays.fill(image, to + plane, to + plane + wq, 0f);
                    continue;
                }
                int toE = to + evenPlane + evenAt;
                int toO = to + oddPlane + oddAt;
                long from = (srcOff + ((long) ch * h + r) * w) << 2;
                int j = 0;
                if (DEAL_BY_VECTORS) {
                    for (; 2 * j + 2 * LANES <= w; j += LANES) { // 2 LANES floats of the row: LANES evens, LANES odds
                        FloatVector a = FloatVector.fromMemorySegment(F, src, from + ((long) j << 3), ORDER);
                        FloatVector b = FloatVector.fromMemorySegment(F, src, from + ((long) j << 3) + VBYTES, ORDER);
                        a.rearrange(Vectors.EVENS, b).intoArray(image, toE + j);
                        a.rearrange(Vectors.ODDS, b).intoArray(image, toO + j);
                    }
                }
                for (; j < odds; j++) {
                    image[toE + j] = src.get(FLOAT, from + ((long) j << 3));
                    image[toO + j] = src.get(FLOAT, from + ((long) j << 3) + 4);
                }
                if (evens > odds) {
                    image[toE + odds] = src.get(FLOAT, from + ((long) odds << 3));
                }
                // the pad columns: before and after the row's floats in each plane
                java.util.Arrays.fill(image, to + evenPlane, toE, 0f);
                java.util.Arrays.fill(image, toE + evens, to + evenPlane + wq, 0f);
                java.util.Arrays.fill(image, to + oddPlane, toO, 0f);
                java.util.Arrays.fill(image, toO + odds, to + oddPlane + wq, 0f);
            }
        }
    }

    /**
     * Whether a stride-1 convolution runs on its column-shifted staging ({@link #stageShifts}): for each channel and
     * kernel column j, the padded image's rows cut to the oW columns that tap column j reads, so each tap's row of the
     * unfolded matrix is one contiguous run over the output pixels {@code q = y oW + x} and
     * {@link Sgemm#gemmPackedATapsB} multiplies exactly the output's columns (row length oW: no pad columns dropped).
     * Chosen where that multiplies fewer columns than the padded staging ({@link #unfoldsInPlace}) and the staging holds
     * no more floats than im2col's matrix (kW copies of the padded rows against kH kW copies of the output rows):
     * LeNet's 5 x 5 over 14 x 14 (100 columns, not 136 in place; 4,200 floats staged, not im2col's 15,000 and its
     * packing), ResNet's 8 x 8 layers (64 columns, not 78). The same bits as im2col's product: rows of B in the same
     * p order, the same values.
     */
    public static boolean shiftsInPlace(Geometry g) {
        return shiftsFit(g)
                && Sgemm.tapsComputedColumns(g.oH(), g.oW(), g.oW()) < Sgemm.tapsComputedColumns(g.oH(), g.oW(), (int) paddedWidth(g));
    }

    /**
     * Whether a geometry can be staged as column-shifted planes ({@link #stageShifts}): stride 1, a {@link #padsImage}
     * staging, and planes no larger than im2col's matrix. The part of {@link #shiftsInPlace} that does not depend on
     * the vector width.
     */
    public static boolean shiftsFit(Geometry g) {
        return g.sH() == 1 && g.sW() == 1 && shiftsStage(g);
    }

    /**
     * Whether a strided convolution's forward product runs on its column-shifted planes ({@link #stageShifts} with
     * stride): where they fit ({@link #stridedShiftsFit}) and the parity planes ({@link #phasesInPlace}) are not taken
     * or would multiply more columns. Each plane row holds exactly the oW pixels one tap reads, so the product
     * multiplies the output's columns and no pad column: at 16 lanes ResNet's 16 x 16 outputs of a 32 x 32 input (256
     * columns, not the parity planes' 288 over rows of 17, stored through the tile row by row) and, at 8 and 16 lanes,
     * its 8 x 8 outputs (64 columns in whole slivers, where rows of 9 took im2col and its packing). Measured (Intel
     * Xeon, AVX-512, ResNet-20 plan, batch 1, alternated JVMs): 16 -> 32 at 512 bits 28-34 -> 27-30 us, 32 -> 64 29-34 ->
     * 23-25 at 512 bits and 41-43 -> 38 at 256; at 128 bits (rows of 16 whole slivers in the parity planes too, and
     * the stride-2 copies element by element) 70-72 -> 75-78 for 16 -> 32, hence the rule. The same bits either way
     * (rows of B in the same p order, the same values).
     */
    public static boolean stridedShiftsInPlace(Geometry g) {
        return stridedShiftsFit(g) && (!phasesInPlace(g)
                || Sgemm.tapsComputedColumns(g.oH(), g.oW(), g.oW()) < Sgemm.tapsComputedColumns(g.oH(), g.oW(), phaseRowLength(g)));
    }

    /**
     * Whether a strided geometry can be staged as column-shifted planes: stride 2 at most in either direction (and
     * more than 1 in one), a kernel of more than one tap (a 1 x 1 shortcut's one plane is im2col's matrix), a
     * {@link #padsImage} staging, and planes no larger than im2col's matrix. Never depends on the vector width.
     */
    public static boolean stridedShiftsFit(Geometry g) {
        return (g.sH() > 1 || g.sW() > 1) && g.sH() <= 2 && g.sW() <= 2 && (g.kH() > 1 || g.kW() > 1) && shiftsStage(g);
    }

    /** Whether the forward product runs on column-shifted planes: {@link #shiftsInPlace} or {@link #stridedShiftsInPlace}. */
    public static boolean shiftsForward(Geometry g) {
        return shiftsInPlace(g) || stridedShiftsInPlace(g);
    }

    private static boolean shiftsStage(Geometry g) {
        return padsImage(g) && g.cols() > 0 && shiftPlanesFloats(g) <= (long) g.rows() * g.cols();
    }

    /** Rows of one column-shifted plane: one row phase (of sH) of the padded rows, the first phase's count. */
    private static long shiftRows(Geometry g) {
        return (paddedHeight(g) + g.sH() - 1) / g.sH();
    }

    /** c kW sH planes of {@link #shiftRows} x oW floats; Long.MAX_VALUE when that overflows (never fits). */
    private static long shiftPlanesFloats(Geometry g) {
        try {
            return Math.multiplyExact(Math.multiplyExact((long) g.c() * g.kW(), g.sH() * shiftRows(g)), (long) g.oW());
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Floats of a {@link #stageShifts} staging: c kW sH planes of {@link #shiftRows} x oW, then slack for the
     * whole-vector row copies and the GEMM's reads past the last plane (at most NR floats).
     */
    public static int shiftImageFloats(Geometry g) {
        return Math.toIntExact(shiftPlanesFloats(g) + HEAP_SLACK); // shiftsInPlace bounds it by im2col's matrix
    }

    /**
     * One image {@code [c, h, w]} from a segment into its column-shifted planes ({@link #shiftsFit} or {@link #stridedShiftsFit} geometries):
     * plane {@code (ch, j, a)} row r holds the zero-padded image's row {@code a + r sH}, columns {@code j dW + x sW}
     * for x below oW (at stride 1, a = 0: the padded rows cut to the oW columns tap column j reads). Staged padded into
     * {@code padded} ({@link #stagedImageFloats} floats) first, then each row copied heap to heap: at stride 1 by whole
     * vectors (a row's last vector runs into the next row, written after it, or the slack after the last plane; its
     * reads stay within the padded staging's slack, a padded row being at least oW + (kW - 1) dW long), at stride 2 as
     * im2col's strided rows. A phase with fewer padded rows than the first leaves its last plane row unwritten: no tap
     * reads it (tap row i reads plane rows from (i dH) / sH on, oH of them), only dropped columns past the product may.
     */
    public static void stageShifts(MemorySegment src, long srcOff, Geometry g, float[] padded, float[] image) {
        stageImage(src, srcOff, g, padded);
        int wp = (int) paddedWidth(g);
        int hp = (int) paddedHeight(g);
        int planeP = hp * wp;
        int ow = g.oW();
        int sH = g.sH();
        int sW = g.sW();
        int plane = (int) shiftRows(g) * ow;
        int to = 0;
        for (int ch = 0; ch < g.c(); ch++) {
            for (int j = 0; j < g.kW(); j++) {
                for (int a = 0; a < sH; a++, to += plane) {
                    int from = ch * planeP + a * wp + j * g.dW();
                    int rows = (hp - a + sH - 1) / sH;
                    if (sW != 1) {
                        paddedStridedRows(padded, from, sH * wp, sW, rows, ow, image, to);
                    } else if (ow <= LANES) { // one vector a row: no inner loop (nor below: a row loop of 2 to 4
                        // steps copied a vector in ~7 cycles; straight copies took LeNet's stagings 0.73 -> 0.43 us
                        // (conv1) and 1.3-1.4 -> 0.85-0.98 us (conv2) an image, AMD EPYC Zen 3, 8 lanes, paired A/B)
                        for (int r = 0, at = to; r < rows; r++, from += sH * wp, at += ow) {
                            FloatVector.fromArray(F, padded, from).intoArray(image, at);
                        }
                    } else if (ow <= 2 * LANES) { // two (LeNet's conv2 rows of 10 at 8 lanes)
                        for (int r = 0, at = to; r < rows; r++, from += sH * wp, at += ow) {
                            FloatVector.fromArray(F, padded, from).intoArray(image, at);
                            FloatVector.fromArray(F, padded, from + LANES).intoArray(image, at + LANES);
                        }
                    } else if (ow <= 3 * LANES) {
                        for (int r = 0, at = to; r < rows; r++, from += sH * wp, at += ow) {
                            FloatVector.fromArray(F, padded, from).intoArray(image, at);
                            FloatVector.fromArray(F, padded, from + LANES).intoArray(image, at + LANES);
                            FloatVector.fromArray(F, padded, from + 2 * LANES).intoArray(image, at + 2 * LANES);
                        }
                    } else if (ow <= 4 * LANES) { // four (LeNet's conv1 rows of 28 at 8 lanes)
                        for (int r = 0, at = to; r < rows; r++, from += sH * wp, at += ow) {
                            FloatVector.fromArray(F, padded, from).intoArray(image, at);
                            FloatVector.fromArray(F, padded, from + LANES).intoArray(image, at + LANES);
                            FloatVector.fromArray(F, padded, from + 2 * LANES).intoArray(image, at + 2 * LANES);
                            FloatVector.fromArray(F, padded, from + 3 * LANES).intoArray(image, at + 3 * LANES);
                        }
                    } else {
                        for (int r = 0, at = to; r < rows; r++, from += sH * wp, at += ow) {
                            for (int x = 0; x < ow; x += LANES) {
                                FloatVector.fromArray(F, padded, from + x).intoArray(image, at + x);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Where row p = (ch kH + i) kW + j of the unfolded matrix starts in a {@link #stageShifts} staging. */
    public static void shiftTapOffsets(Geometry g, int[] taps) {
        int ow = g.oW();
        int sH = g.sH();
        int plane = (int) shiftRows(g) * ow;
        for (int ch = 0, p = 0; ch < g.c(); ch++) {
            for (int i = 0; i < g.kH(); i++) {
                int down = i * g.dH();
                for (int j = 0; j < g.kW(); j++, p++) {
                    taps[p] = ((ch * g.kW() + j) * sH + down % sH) * plane + down / sH * ow;
                }
            }
        }
    }

    /**
     * Whether {@link #stagePhases} and {@link #stride2Rows} deal a row's even and odd columns by two-vector shuffles:
     * on x86 at every width (one vpermt2ps at 16 lanes; two permutes and a blend at 8 and 4, still 3-4x the
     * element-by-element copy: 1.0 against 4.0 ns per 8 floats at 256 bits, 0.75 against 2.3 per 4 at 128, and
     * ResNet-20's stride-2 stagings 21 -> 14 us and 28 -> 16 at 256 bits, 18 -> 8.5 and 12.5 -> 9.2 at 128; Intel Xeon,
     * AVX-512 machine); elsewhere (unmeasured on NEON and SVE) element by element. Either way the same floats move.
     */
    private static final boolean DEAL_BY_VECTORS = Simd.X86;

    /** Where row p = (ch kH + i) kW + j of the unfolded matrix starts in a {@link #stagePhases} staging. */
    public static void phaseTapOffsets(Geometry g, int[] taps) {
        int wq = phaseRowLength(g);
        int plane = phaseRows(g) * wq;
        for (int ch = 0, p = 0; ch < g.c(); ch++) {
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++, p++) {
                    taps[p] = ((ch * 2 + (i & 1)) * 2 + (j & 1)) * plane + (i >> 1) * wq + (j >> 1);
                }
            }
        }
    }

    /** The padded row length of a {@link #stageImage} staging (for {@link #padsImage} geometries). */
    public static int paddedRowLength(Geometry g) {
        return (int) paddedWidth(g); // padsImage bounds it
    }

    /**
     * Where each row {@code p = (ch kH + i) kW + j} of the unfolded matrix starts in a padded staging
     * ({@link #padsImage}): {@code taps[p] + y wp + x} is its column for output pixel (y, x) at stride 1.
     */
    public static void tapOffsets(Geometry g, int[] taps) {
        tapOffsets(g, (int) paddedWidth(g), (int) paddedPlaneFloats(g), taps);
    }

    /** {@link #tapOffsets} in any padded layout of row length wp and plane size planeP. */
    private static void tapOffsets(Geometry g, int wp, int planeP, int[] taps) {
        for (int ch = 0, p = 0; ch < g.c(); ch++) {
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++, p++) {
                    taps[p] = ch * planeP + i * g.dH() * wp + j * g.dW();
                }
            }
        }
    }

    /** Whether the padded layout is the image as it is (no padding, no tap outside it): staged by one copy. */
    private static boolean paddedIsPlain(Geometry g) {
        return g.pT() == 0 && g.pL() == 0 && paddedWidth(g) == g.w() && paddedHeight(g) == g.h();
    }

    /**
     * Floats of a staging array for one image of this geometry ({@link #stageImage}), {@link #HEAP_SLACK} spare
     * included: the image itself, or its padded planes.
     */
    public static int stagedImageFloats(Geometry g) {
        long data = (long) g.c() * g.h() * g.w() + HEAP_SLACK;
        if (!padsImage(g) || paddedIsPlain(g)) {
            return Math.toIntExact(data);
        }
        return Math.toIntExact(paddedPlaneFloats(g) * g.c() + HEAP_SLACK); // bounded by padsImage
    }

    /**
     * One image {@code [c, h, w]} from a segment into {@code image} ({@link #stagedImageFloats} floats) in the layout
     * {@link #fillRow} reads: as it is, or (where {@link #padsImage}) channel planes of {@link #paddedHeight} x
     * {@link #paddedWidth} floats with the image at row pT, column pL and zeros around it. Rows go straight from the
     * segment to their padded place by whole vectors. (A bulk copy past the padded planes, then spread row by row from
     * there, moved each image twice: the bulk copy alone was ~14% of a stride-2 layer's plan time, AMD EPYC Zen 4.)
     */
    public static void stageImage(MemorySegment src, long srcOff, Geometry g, float[] image) {
        int data = g.c() * g.h() * g.w();
        if (!padsImage(g) || paddedIsPlain(g)) {
            MemorySegment.copy(src, FLOAT, srcOff << 2, image, 0, data);
            return;
        }
        int wp = (int) paddedWidth(g); // within stagedImageFloats, an int
        int planeP = (int) paddedPlaneFloats(g);
        int padded = planeP * g.c();
        int plain = padded + HEAP_SLACK;
        int h = g.h();
        if (h == 0) { // padding only (a zero-height image with bottom padding): all zeros
            java.util.Arrays.fill(image, 0, plain, 0f);
            return;
        }
        int w = g.w();
        int pL = g.pL();
        int right = wp - pL - w; // zeros after each row, then the next row's pL zeros: one run between rows
        int top = g.pT() * wp + pL;
        int bottom = planeP - (g.pT() + h) * wp + (wp - pL - w); // the last row's right zeros and the rows below
        // only the zeros are written, not the whole plane first (that fill was a third of this method's time); rows
        // go as whole vectors (a segment copy per row cost ~10 ns per 32-float row): a row's last vector runs into its
        // right zeros and the next row, both written after it; the last row's into the zeros below or the next
        // plane's top, also written after it. Its reads run past the row into the segment's next floats (the next
        // row, channel or image), except where that would cross the segment's end: those rows are copied exactly.
        int between = right + pL;
        long wholeRowBytes = (long) (w + LANES - 1) / LANES * LANES << 2;
        long lastWhole = src.byteSize() - wholeRowBytes; // a row starting at or before this byte reads whole vectors
        long from = srcOff << 2;
        for (int ch = 0; ch < g.c(); ch++) {
            int to = ch * planeP + top;
            java.util.Arrays.fill(image, to - top, to, 0f);
            for (int r = 0; r < h; r++, from += (long) w << 2, to += wp) {
                if (from <= lastWhole) {
                    for (int x = 0; x < w; x += LANES) {
                        FloatVector.fromMemorySegment(F, src, from + ((long) x << 2), ORDER).intoArray(image, to + x);
                    }
                } else {
                    MemorySegment.copy(src, FLOAT, from, image, to, w);
                }
                if (r < h - 1) {
                    for (int z = to + w, zEnd = z + between; z < zEnd; z++) {
                        image[z] = 0f;
                    }
                }
            }
            int end = to - wp + w; // just past the last row
            java.util.Arrays.fill(image, end, end + bottom, 0f);
        }
        java.util.Arrays.fill(image, padded, plain, 0f); // the slack: read by whole vectors, feeds dropped columns only
    }

    /** Spare floats {@link #im2colHeap} needs past the end of its image and column arrays. */
    public static final int HEAP_SLACK = Math.max(2 * LANES, Sgemm.NR); // also covers the GEMM kernel's NR-column reads past a row of B

    /**
     * {@link #im2col} between heap arrays: {@code img} holds one image staged by {@link #stageImage},
     * {@code col} receives the {@code [rows, cols]} matrix with leading dimension {@code ldc} (columns past
     * {@code cols} are left as they are); it needs {@link #HEAP_SLACK} floats past its last element:
     * rows are copied as whole vectors. No per-row segment checks, which dominated with LeNet's 10- and 28-float rows.
     */
    public static void im2colHeap(float[] img, Geometry g, float[] col, int ldc) {
        boolean padded = padsImage(g);
        for (int ch = 0; ch < g.c(); ch++) {
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    fillRow(img, g, padded, ch, i, j, col, ((ch * g.kH() + i) * g.kW() + j) * ldc);
                }
            }
        }
    }

    /**
     * Floats {@link #im2colPacked} needs in its column array: the packed panel ({@link Sgemm#packedBFloats}), one
     * staging row of {@link Sgemm#paddedColumns} floats after it, and {@link #HEAP_SLACK} spare floats.
     */
    public static int packedColumnFloats(Geometry g) {
        return Math.addExact(Math.addExact(Sgemm.packedBFloats(g.rows(), g.cols()), Sgemm.paddedColumns(g.cols())), HEAP_SLACK);
    }

    /**
     * {@link #im2colHeap} straight into the packed-sliver layout {@link Sgemm#gemmPackedAB} reads: each column row is
     * unfolded into a staging row after the panel (in L1) and dealt out to the slivers by {@link Sgemm#packBRow}, so
     * the product needs no packing pass and runs the constant-stride kernel. {@code img} is staged by
     * {@link #stageImage}; {@code cols} holds {@link #packedColumnFloats} floats.
     */
    public static void im2colPacked(float[] img, Geometry g, float[] cols) {
        int k = g.rows();
        int l = g.cols();
        int stage = Sgemm.packedBFloats(k, l);
        boolean padded = padsImage(g);
        for (int ch = 0; ch < g.c(); ch++) {
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    int p = (ch * g.kH() + i) * g.kW() + j;
                    fillRow(img, g, padded, ch, i, j, cols, stage);
                    Sgemm.packBRow(cols, stage, l, p, k, cols);
                }
            }
        }
    }

    /**
     * Column row (ch, i, j) of one image staged by {@link #stageImage} into {@code col[row, row + cols)} (whole vectors
     * may run past it: slack); {@code padded} is {@link #padsImage}{@code (g)}.
     */
    static void fillRow(float[] img, Geometry g, boolean padded, int ch, int i, int j, float[] col, int row) {
        if (padded) { // padsImage(g), decided once per image by the caller (it divides)
            int wp = (int) paddedWidth(g); // within the staged array, an int
            int src = ch * (int) paddedPlaneFloats(g) + i * g.dH() * wp + j * g.dW();
            if (g.sW() == 1) {
                paddedRows(img, src, g.sH() * wp, g.oH(), g.oW(), col, row);
            } else {
                paddedStridedRows(img, src, g.sH() * wp, g.sW(), g.oH(), g.oW(), col, row);
            }
            return;
        }
        int oW = g.oW();
        int w = g.w();
        int plane = ch * g.h() * w;
        int w0 = j * g.dW() - g.pL();
        if (g.sW() == 1) {
            // output columns [xLo, xHi) read inside the input row; zeros around them
            int xLo = Math.min(oW, Math.max(0, -w0));
            int xHi = Math.max(xLo, Math.min(oW, w - w0));
            stride1Rows(img, plane + w0, w, g, i, col, row, xLo, xHi);
        } else {
            stridedRows(img, plane, w0, g, i, col, row);
        }
    }

    private static void stride1Rows(float[] img, int src0, int w, Geometry g, int i, float[] col, int row, int xLo, int xHi) {
        int oW = g.oW();
        int h = g.h();
        if (xLo == 0 && xHi == oW && oW <= 2 * LANES) {
            shortRows(img, src0, w, g, i, col, row);
            return;
        }
        for (int y = 0; y < g.oH(); y++) {
            int hh = y * g.sH() - g.pT() + i * g.dH();
            int dst = row + y * oW;
            if (hh < 0 || hh >= h) {
                java.util.Arrays.fill(col, dst, dst + oW, 0f);
                continue;
            }
            int src = src0 + hh * w;
            for (int x = 0; x < xLo; x++) {
                col[dst + x] = 0f;
            }
            // whole vectors, the last one running past the row: what it writes there is overwritten by the
            // next row (rows go in order) or lands in the padding (hence the arrays' slack)
            for (int x = xLo; x < xHi; x += LANES) {
                FloatVector.fromArray(F, img, src + x).intoArray(col, dst + x);
            }
            for (int x = xHi; x < oW; x++) {
                col[dst + x] = 0f;
            }
        }
    }

    /**
     * {@link #stride1Rows} for rows of at most two vectors read whole (LeNet's 28- and 10-wide rows): one or two
     * straight copies per row instead of a vector loop C2 compiles for long trip counts (its setup cost more than the
     * copy for rows this short). Like the loop, the last vector runs past the row into the next row or the slack.
     */
    private static void shortRows(float[] img, int src0, int w, Geometry g, int i, float[] col, int row) {
        int oW = g.oW();
        int h = g.h();
        int oH = g.oH();
        int sH = g.sH();
        int hh = i * g.dH() - g.pT();
        int dst = row;
        boolean two = oW > LANES;
        for (int y = 0; y < oH; y++, hh += sH, dst += oW) {
            if (hh < 0 || hh >= h) {
                java.util.Arrays.fill(col, dst, dst + oW, 0f);
                continue;
            }
            int src = src0 + hh * w;
            FloatVector.fromArray(F, img, src).intoArray(col, dst);
            if (two) {
                FloatVector.fromArray(F, img, src + LANES).intoArray(col, dst + LANES);
            }
        }
    }

    /**
     * oH rows of oW floats, {@code step} apart from {@code src} in a padded image, to consecutive rows of col: every
     * read lies inside the padded planes (or their slack), so no edge and no bounds test per row; one or two straight
     * vector copies for rows of at most two vectors. Like {@link #stride1Rows}, the last vector of a row runs past it
     * into the next row (written after it) or the array's slack.
     */
    private static void paddedRows(float[] img, int src, int step, int oH, int oW, float[] col, int row) {
        // each loop a method of its own, compiled with its own profile (see Softmax.row: a vector loop left in line on a
        // branch the caller's profile calls cold can run the Vector API's allocating fallback)
        if (oW <= LANES) {
            oneVectorRows(img, src, step, oH, oW, col, row);
        } else if (oW <= 2 * LANES) {
            twoVectorRows(img, src, step, oH, oW, col, row);
        } else {
            vectorRows(img, src, step, oH, oW, col, row);
        }
    }

    private static void oneVectorRows(float[] img, int src, int step, int oH, int oW, float[] col, int dst) {
        for (int y = 0; y < oH; y++, src += step, dst += oW) {
            FloatVector.fromArray(F, img, src).intoArray(col, dst);
        }
    }

    private static void twoVectorRows(float[] img, int src, int step, int oH, int oW, float[] col, int dst) {
        for (int y = 0; y < oH; y++, src += step, dst += oW) {
            FloatVector.fromArray(F, img, src).intoArray(col, dst);
            FloatVector.fromArray(F, img, src + LANES).intoArray(col, dst + LANES);
        }
    }

    private static void vectorRows(float[] img, int src, int step, int oH, int oW, float[] col, int dst) {
        for (int y = 0; y < oH; y++, src += step, dst += oW) {
            for (int x = 0; x < oW; x += LANES) {
                FloatVector.fromArray(F, img, src + x).intoArray(col, dst + x);
            }
        }
    }

    /** {@link #paddedRows} for a column stride above 1: one read per pixel, still without a bounds test. */
    private static void paddedStridedRows(float[] img, int src, int step, int sW, int oH, int oW, float[] col, int row) {
        if (sW == 2 && DEAL_BY_VECTORS) {
            stride2Rows(img, src, step, oH, oW, col, row);
            return;
        }
        for (int y = 0, dst = row; y < oH; y++, src += step, dst += oW) {
            for (int x = 0, at = src; x < oW; x++, at += sW) {
                col[dst + x] = img[at];
            }
        }
    }

    /**
     * {@link #paddedStridedRows} for stride 2 where {@link #DEAL_BY_VECTORS}: each output row's floats
     * {@code img[src + 2 x]} as the even lanes of two vectors read whole (16 at a time, then 8), the rest one by one. A
     * pair is read only where it lies inside {@code img}: its odd floats beyond the row are never kept. Measured (AMD EPYC
     * Zen 4, ResNet-20's 32 -> 64 channel stride-2 layer, 8 x 8 outputs): the element-by-element copy was ~35% of the
     * layer's time.
     */
    private static void stride2Rows(float[] img, int src, int step, int oH, int oW, float[] col, int row) {
        int n = img.length;
        for (int y = 0, dst = row; y < oH; y++, src += step, dst += oW) {
            int x = 0;
            for (; x + LANES <= oW && src + 2 * (x + LANES) <= n; x += LANES) {
                FloatVector v0 = FloatVector.fromArray(F, img, src + 2 * x);
                FloatVector v1 = FloatVector.fromArray(F, img, src + 2 * x + LANES);
                v0.rearrange(Vectors.EVENS, v1).intoArray(col, dst + x);
            }
            for (; x + 8 <= oW && src + 2 * (x + 8) <= n; x += 8) {
                FloatVector v0 = FloatVector.fromArray(Vectors.HALF, img, src + 2 * x);
                FloatVector v1 = FloatVector.fromArray(Vectors.HALF, img, src + 2 * x + 8);
                v0.rearrange(Vectors.HALF_EVENS, v1).intoArray(col, dst + x);
            }
            for (; x < oW; x++) {
                col[dst + x] = img[src + 2 * x];
            }
        }
    }

    private static void stridedRows(float[] img, int plane, int w0, Geometry g, int i, float[] col, int row) {
        int oW = g.oW();
        int h = g.h();
        int w = g.w();
        int sW = g.sW();
        for (int y = 0; y < g.oH(); y++) {
            int hh = y * g.sH() - g.pT() + i * g.dH();
            int dst = row + y * oW;
            for (int x = 0; x < oW; x++) {
                int ww = x * sW + w0;
                col[dst + x] = hh >= 0 && hh < h && ww >= 0 && ww < w ? img[plane + hh * w + ww] : 0f;
            }
        }
    }

    /** {@code img += col2im(col)}: each column element is added to the input pixel it was read from. */
    public static void col2im(MemorySegment col, long colOff, Geometry g, MemorySegment img, long imgOff) {
        int cols = g.cols();
        for (int ch = 0; ch < g.c(); ch++) {
            long plane = imgOff + (long) ch * g.h() * g.w();
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    long rowStart = colOff + (long) ((ch * g.kH() + i) * g.kW() + j) * cols;
                    for (int y = 0; y < g.oH(); y++) {
                        int hh = y * g.sH() - g.pT() + i * g.dH();
                        if (hh < 0 || hh >= g.h()) {
                            continue;
                        }
                        long src = rowStart + (long) y * g.oW();
                        long dstRow = plane + (long) hh * g.w();
                        int w0 = j * g.dW() - g.pL();
                        if (g.sW() == 1) {
                            int xLo = Math.max(0, -w0);
                            int xHi = Math.min(g.oW(), g.w() - w0);
                            if (xHi > xLo) {
                                accumulate(col, src + xLo, img, dstRow + w0 + xLo, xHi - xLo);
                            }
                        } else {
                            for (int x = 0; x < g.oW(); x++) {
                                int ww = x * g.sW() + w0;
                                if (ww >= 0 && ww < g.w()) {
                                    long at = (dstRow + ww) << 2;
                                    img.set(FLOAT, at, img.get(FLOAT, at) + col.get(FLOAT, (src + x) << 2));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link #col2im} between heap arrays: {@code img[imgOff ..] += col2im(col[colOff ..])}. The same additions in the same
     * order (each pixel gets its taps in (channel, i, j) order), so the same bits as the segment version; without its
     * per-row segment checks and masked memory accesses, which cost ~20 ns a row on LeNet's 10-float rows. Both arrays
     * need {@link #HEAP_SLACK} floats past their last element (a row's last vector reads and rewrites past it).
     */
    public static void col2imHeap(float[] col, int colOff, Geometry g, float[] img, int imgOff) {
        if (rowVectorCol2im(g) && colOff >= col2imLead(g)
                && (long) colOff + (long) g.rows() * g.cols() + col2imTail(g) <= col.length
                && (long) imgOff + (long) g.c() * g.h() * g.w() + LANES <= img.length) {
            col2imByImageRow(col, colOff, g, img, imgOff);
            return;
        }
        int cols = g.cols();
        int oW = g.oW();
        for (int ch = 0; ch < g.c(); ch++) {
            int plane = imgOff + ch * g.h() * g.w();
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    int rowStart = colOff + ((ch * g.kH() + i) * g.kW() + j) * cols;
                    int w0 = j * g.dW() - g.pL();
                    int xLo = Math.max(0, -w0);
                    int n = Math.min(oW, g.w() - w0) - xLo; // stride 1: output columns [xLo, xLo + n) land inside the row
                    for (int y = 0; y < g.oH(); y++) {
                        int hh = y * g.sH() - g.pT() + i * g.dH();
                        if (hh < 0 || hh >= g.h()) {
                            continue;
                        }
                        int src = rowStart + y * oW;
                        int dstRow = plane + hh * g.w();
                        if (g.sW() == 1) {
                            if (n <= 0) {
                                continue;
                            }
                            addRow(img, dstRow + w0 + xLo, col, src + xLo, n);
                        } else {
                            for (int x = 0; x < oW; x++) {
                                int ww = x * g.sW() + w0;
                                if (ww >= 0 && ww < g.w()) {
                                    img[dstRow + ww] += col[src + x];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code img[d, d + n) += col[sx, sx + n)}: whole vectors, then the row's last part as one whole vector whose other
     * lanes add nothing (a masked add, then a plain store of the unchanged lanes): no scalar tail; the arrays' slack
     * keeps it in bounds. Its own method, not a branch of {@link #col2imHeap}'s loop: a vector loop on the cold side of
     * a branch that a long run of other geometries compiled is left out of line by C2, every vector boxed (the hazard
     * {@code Softmax.row}'s passes were split for).
     */
    private static void addRow(float[] img, int d, float[] col, int sx, int n) {
        int full = n / LANES * LANES;
        for (int x = 0; x < full; x += LANES) {
            FloatVector.fromArray(F, img, d + x).add(FloatVector.fromArray(F, col, sx + x)).intoArray(img, d + x);
        }
        if (full < n) {
            VectorMask<Float> tail = Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) (n - full));
            FloatVector.fromArray(F, img, d + full).add(FloatVector.fromArray(F, col, sx + full), tail).intoArray(img, d + full);
        }
    }

    /**
     * Whether {@link #col2imHeap} gathers each image row in registers ({@link #col2imByImageRow}): stride 1 along the
     * width and rows of at most two vectors. Measured per image, SPR-class Xeon, best of 5, column-row loop against
     * image rows: LeNet's conv2 (6 x 14 x 14, 5 x 5) 17.2 -> 6.5 us at 512 bits, 21.0 -> 13.1 at 256; 16 x 8 x 8 (3 x 3,
     * same padding) 10.7 -> 2.4 at 512, 10.5 -> 4.1 at 256, 12.6 -> 7.3 at 128. With more vectors per row the
     * per-tap masks start to cost more than the loads and stores saved: 3 x 32 x 32 11.7 -> 4.7 at 512 (two vectors)
     * but 10.2 -> 13.3 at 256 and 13.9 -> 25.2 at 128; 6 x 14 x 14 at 128 bits (four vectors) 17.3 -> 22.7.
     */
    static boolean rowVectorCol2im(Geometry g) {
        // and only where its spare reads stay small beside the columns (large padding or dilation on tiny data)
        return g.sW() == 1 && g.w() <= 2 * LANES
                && (long) Math.max(0, (g.kW() - 1) * (long) g.dW() - g.pL()) + Math.max(0, g.w() - g.oW()) + (long) g.pL() + LANES
                <= (long) g.rows() * g.cols() + 4L * LANES;
    }

    /** Floats the image-row col2im reads before the columns' first element (a tap's row shifted right); 0 where it is not taken. */
    public static int col2imLead(Geometry g) {
        return rowVectorCol2im(g) ? Math.max(0, (g.kW() - 1) * g.dW() - g.pL()) : 0;
    }

    /** Floats the image-row col2im reads past the columns' last element (a row's last vector, shifted left); 0 where it is not taken. */
    public static int col2imTail(Geometry g) {
        return rowVectorCol2im(g) ? Math.max(0, g.w() - g.oW()) + g.pL() + LANES : 0;
    }

    /**
     * {@code img += col2im(col)} one image row at a time: each vector of the row is loaded once, every tap that lands
     * in it added as a column row read shifted by the tap's offset (masked to the lanes it covers), and stored once.
     * The column-row loop instead loads and stores a short image row once per tap (150 times per LeNet conv2 image
     * row set, the stores overlapping the next loads), which at 16 lanes ran 3x slower. Four channels go together:
     * a row's taps are one dependent chain of adds per channel, so one channel alone waits on the add latency. Each
     * pixel still gets its taps in (i, j) order and masked-off lanes add nothing (not even +0, which would turn a -0
     * into +0): the same bits as {@link #col2im}. Needs {@link #col2imLead} floats before {@code colOff},
     * {@link #col2imTail} after the columns and {@code LANES} after the image (checked by the caller).
     */
    private static void col2imByImageRow(float[] col, int colOff, Geometry g, float[] img, int imgOff) {
        int cols = g.cols();
        int oW = g.oW();
        int oH = g.oH();
        int w = g.w();
        int kH = g.kH();
        int kW = g.kW();
        int pT = g.pT();
        int sH = g.sH();
        int dH = g.dH();
        int c = g.c();
        int planeSize = g.h() * w;
        int channelCols = kH * kW * cols; // column floats per input channel
        // four channels at a time (four independent chains of adds); past the last channel a block repeats it
        // (computed, never stored)
        for (int ch = 0; ch < c; ch += 4) {
            int ch1 = Math.min(ch + 1, c - 1);
            int ch2 = Math.min(ch + 2, c - 1);
            int ch3 = Math.min(ch + 3, c - 1);
            for (int hh = 0; hh < g.h(); hh++) {
                for (int q = 0; q < w; q += LANES) { // the row's vectors: lanes [q, q + LANES) of it
                    int d0 = imgOff + ch * planeSize + hh * w + q;
                    int d1 = imgOff + ch1 * planeSize + hh * w + q;
                    int d2 = imgOff + ch2 * planeSize + hh * w + q;
                    int d3 = imgOff + ch3 * planeSize + hh * w + q;
                    int inRow = Math.min(LANES, w - q);
                    FloatVector acc0 = FloatVector.fromArray(F, img, d0);
                    FloatVector acc1 = FloatVector.fromArray(F, img, d1);
                    FloatVector acc2 = FloatVector.fromArray(F, img, d2);
                    FloatVector acc3 = FloatVector.fromArray(F, img, d3);
                    for (int i = 0; i < kH; i++) {
                        int y = hh + pT - i * dH; // y * sH: the output row this tap reads
                        if (sH != 1) {
                            if (y < 0 || y % sH != 0) {
                                continue;
                            }
                            y /= sH;
                        }
                        if (y < 0 || y >= oH) {
                            continue;
                        }
                        int rowBase = colOff + i * kW * cols + y * oW;
                        for (int j = 0; j < kW; j++) {
                            int w0 = j * g.dW() - g.pL() - q; // output column x lands on lane x + w0 of this vector
                            VectorMask<Float> lanes = Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) Math.min(inRow, w0 + oW))
                                    .andNot(Simd.Vectors.LANE_INDEX.compare(VectorOperators.LT, (float) Math.min(inRow, w0)));
                            int src = rowBase + j * cols - w0;
                            acc0 = acc0.add(FloatVector.fromArray(F, col, src + ch * channelCols), lanes);
                            acc1 = acc1.add(FloatVector.fromArray(F, col, src + ch1 * channelCols), lanes);
                            acc2 = acc2.add(FloatVector.fromArray(F, col, src + ch2 * channelCols), lanes);
                            acc3 = acc3.add(FloatVector.fromArray(F, col, src + ch3 * channelCols), lanes);
                        }
                    }
                    // whole vectors: lanes past the row added nothing and hold the cells they were loaded from, so
                    // storing them back leaves those cells as they were: later rows of this plane (loaded again when
                    // their turn comes), the first rows of the next planes (done by this block earlier, or stored
                    // just after by acc1..acc3 in ascending order, or left for a later block), or the slack past the
                    // image. Masked stores (lanes below inRow) cost about 15 plain ones each on AMD's AVX2 (Zen 3),
                    // and LeNet's 14-wide rows at 8 lanes took four of them at every step
                    acc0.intoArray(img, d0);
                    if (ch + 1 < c) {
                        acc1.intoArray(img, d1);
                    }
                    if (ch + 2 < c) {
                        acc2.intoArray(img, d2);
                    }
                    if (ch + 3 < c) {
                        acc3.intoArray(img, d3);
                    }
                }
            }
        }
    }

    /**
     * Copies {@code n} floats (element offsets). Rows here are short (28 floats in LeNet), where
     * {@code MemorySegment.copy}'s per-call checks cost more than the copy, and scalar tails dominate: a row of 16 or
     * more is copied as full vectors with the last one overlapping the previous; a shorter row uses one masked
     * vector when a full-width access stays inside both segments (otherwise the Vector API's masked access takes
     * its slow path), else scalars.
     */
    private static void copy(MemorySegment src, long srcElem, MemorySegment dst, long dstElem, int n) {
        long s = srcElem << 2;
        long d = dstElem << 2;
        if (n >= LANES) {
            for (int i = 0; i < n; i += LANES) {
                long at = (long) Math.min(i, n - LANES) << 2;
                FloatVector.fromMemorySegment(F, src, s + at, ORDER).intoMemorySegment(dst, d + at, ORDER);
            }
        } else if (s + VBYTES <= src.byteSize() && d + VBYTES <= dst.byteSize()) {
            VectorMask<Float> m = F.indexInRange(0, n);
            FloatVector.fromMemorySegment(F, src, s, ORDER, m).intoMemorySegment(dst, d, ORDER, m);
        } else {
            for (int i = 0; i < n; i++) {
                dst.set(FLOAT, d + ((long) i << 2), src.get(FLOAT, s + ((long) i << 2)));
            }
        }
    }

    private static void zero(MemorySegment dst, long elem, int n) {
        long d = elem << 2;
        if (n >= LANES) {
            for (int i = 0; i < n; i += LANES) {
                FloatVector.zero(F).intoMemorySegment(dst, d + ((long) Math.min(i, n - LANES) << 2), ORDER);
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst.set(FLOAT, d + ((long) i << 2), 0f);
            }
        }
    }

    /** {@code dst[0..n) += src[0..n)}: full vectors, then one masked vector when it stays inside both segments, else scalars. */
    private static void accumulate(MemorySegment src, long srcElem, MemorySegment dst, long dstElem, int n) {
        long s = srcElem << 2;
        long d = dstElem << 2;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            long at = (long) i << 2;
            FloatVector.fromMemorySegment(F, dst, d + at, ORDER).add(FloatVector.fromMemorySegment(F, src, s + at, ORDER))
                    .intoMemorySegment(dst, d + at, ORDER);
        }
        if (i == n) {
            return;
        }
        long at = (long) i << 2;
        if (s + at + VBYTES <= src.byteSize() && d + at + VBYTES <= dst.byteSize()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, dst, d + at, ORDER, m).add(FloatVector.fromMemorySegment(F, src, s + at, ORDER, m))
                    .intoMemorySegment(dst, d + at, ORDER, m);
        } else {
            for (; i < n; i++) {
                long b = (long) i << 2;
                dst.set(FLOAT, d + b, dst.get(FLOAT, d + b) + src.get(FLOAT, s + b));
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

        /** {@link #EVENS} for 8-lane vectors (AVX-512's 256-bit form), for rows of 8 to 15 outputs when 16 lanes are native. */
        static final jdk.incubator.vector.VectorSpecies<Float> HALF = FloatVector.SPECIES_256;
        /** Lane i takes lane 2i of the two vectors read as one (indices past LANES: the second vector's). */
        static final jdk.incubator.vector.VectorShuffle<Float> EVENS = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> 2 * i);
        static final jdk.incubator.vector.VectorShuffle<Float> ODDS = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> 2 * i + 1);
        static final jdk.incubator.vector.VectorShuffle<Float> HALF_EVENS = jdk.incubator.vector.VectorShuffle.fromOp(HALF, i -> 2 * i);
    }
}
