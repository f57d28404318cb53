package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The forward convolution of images {@code [n0, n1)}: for each image and group, im2col then one GEMM with the packed
 * weights, bias and activation in the GEMM's epilogue. The one driver of the eager op and of the inference plan
 * (both reach it through the plan step {@code PlanStep.Conv}); they differ only in where the scratch comes from: a
 * plan passes its frame's arrays (so a call allocates nothing), eager parts take this thread's ({@link #threadBuffers}).
 *
 * <p>Images whose image and columns fit {@link #HEAP_MAX_FLOATS} are copied to the heap, unfolded there
 * ({@link Im2col#im2colHeap}: no per-row segment checks, which dominated with LeNet's 10- and 28-float rows) and
 * multiplied with the packed weights ({@link Sgemm#gemmPackedA}); larger ones are unfolded segment to segment and go
 * through the blocked {@link Sgemm#sgemm} (a ResNet 3x3 64->64 layer on 56x56 ran at half speed through the staged
 * kernel, whose B is one 7 MB heap array). A 1x1 convolution with stride 1 and no padding reads the image itself as
 * its columns, through the blocked GEMM too.
 */
public final class Conv2dDriver {
    /** Images up to this many floats (and columns) are staged on the heap. */
    public static final int HEAP_MAX_FLOATS = 1 << 20;

    private Conv2dDriver() {
    }

    /**
     * C[og, l] = W_g[og, k] cols[k, l] through the one GEMM dispatcher: with the plan's workspace on the caller's
     * thread, or (eager, no workspace) with this thread's buffers, free to split a large product across workers.
     */
    private static void gemm(int og, int l, int k, MemorySegment w, long wOff, MemorySegment cols, long colOff, MemorySegment out,
                             long outOff, Sgemm.Epilogue epi, Sgemm.Workspace workspace) {
        Sgemm.sgemm(false, false, og, l, k, 1f, w, wOff, k, cols, colOff, l, 0f, out, outOff, l, epi, workspace, workspace == null);
    }

    /** Heap scratch of one thread: an image copy and its columns, each with {@link Im2col#HEAP_SLACK} spare floats. */
    public static final class Buffers {
        float[] image;
        float[] columns;
        final float[] tile;
        /** Columns of images too large to stage, when the caller has no scratch: grown on demand, kept (Arena.ofAuto). */
        MemorySegment segmentColumns = MemorySegment.NULL;

        MemorySegment segmentColumns(long floats) {
            if (segmentColumns.byteSize() < floats * 4) {
                segmentColumns = Arena.ofAuto().allocate(floats * 4, 64);
            }
            return segmentColumns;
        }

        private Buffers() {
            this(new float[0], new float[0], new float[Sgemm.SCRATCH_FLOATS]);
        }

        private Buffers(float[] image, float[] columns, float[] tile) {
            this.image = image;
            this.columns = columns;
            this.tile = tile;
        }

        /**
         * Buffers over arrays the caller sized with {@link #imageFloats} and {@link #columnFloats} and a
         * {@link Sgemm#SCRATCH_FLOATS} tile: an inference plan's, made once per execution context.
         */
        public static Buffers of(float[] image, float[] columns, float[] tile) {
            return new Buffers(image, columns, tile);
        }

        void ensure(Im2col.Geometry g) {
            if (!staged(g)) {
                return; // such images never touch the heap buffers
            }
            if (image.length < imageFloats(g)) {
                image = new float[imageFloats(g)];
            }
            if (columns.length < columnFloats(g)) {
                columns = new float[columnFloats(g)];
            }
        }
    }

    private static final ThreadLocal<Buffers> LOCAL = ThreadLocal.withInitial(Buffers::new);

    /** This thread's buffers, grown for {@code g} (eager parts: allocated once per thread, reused). */
    public static Buffers threadBuffers(Im2col.Geometry g) {
        Buffers b = LOCAL.get();
        b.ensure(g);
        return b;
    }

    /** Heap floats an image copy needs. */
    public static int imageFloats(Im2col.Geometry g) {
        return g.c() * g.h() * g.w() + Im2col.HEAP_SLACK;
    }

    /** Heap floats the staged columns need (rows padded to {@link Sgemm#paddedColumns}). */
    public static int columnFloats(Im2col.Geometry g) {
        return g.rows() * Sgemm.paddedColumns(g.cols()) + Im2col.HEAP_SLACK;
    }

    /** Whether an image of this geometry is staged on the heap. */
    public static boolean staged(Im2col.Geometry g) {
        return (long) g.c() * g.h() * g.w() <= HEAP_MAX_FLOATS && (long) g.rows() * Sgemm.paddedColumns(g.cols()) <= HEAP_MAX_FLOATS;
    }

    /**
     * {@code out[n, group] = W_group im2col(x[n, group])} with {@code epilogues[group]}, for n in [n0, n1).
     *
     * @param channels    input channels (all groups)
     * @param w           the weights {@code [outChannels, rows]} at {@code wOff} (the blocked GEMM's A)
     * @param packedW     per group, W_group packed by {@link Sgemm#packA} ({@code [og, rows]}); needed only when
     *                    {@link #staged} and not direct
     * @param workspace   the blocked GEMM's buffers (a plan's); null: this thread's, and the GEMM may split across
     *                    threads (eager, outside a parallel part)
     * @param kept        if not null, receives each image's columns at {@code keptOff + (n groups + group) rows cols}
     *                    (row-major, for the weight gradient); the direct path keeps none
     * @param scratch     columns of an image too large to stage ({@code rows * cols} floats at {@code scratchOff}); null:
     *                    {@code buf}'s own, kept from call to call
     */
    public static void forward(Im2col.Geometry geo, int channels, int groups, int outChannels, boolean direct,
                               MemorySegment x, long xOff, MemorySegment w, long wOff, float[][] packedW, Sgemm.Epilogue[] epilogues,
                               MemorySegment out, long outOff, MemorySegment kept, long keptOff,
                               MemorySegment scratch, long scratchOff, int n0, int n1, Buffers buf, Sgemm.Workspace workspace) {
        int og = outChannels / groups;
        int k = geo.rows();
        int l = geo.cols();
        long planeIn = (long) geo.c() * geo.h() * geo.w();
        boolean heap = staged(geo);
        // kept columns are row-major [rows, cols]: staged the same way they go out in one bulk copy; otherwise rows
        // padded for the GEMM's loads
        int ldc = kept != null ? l : Sgemm.paddedColumns(l);
        for (int n = n0; n < n1; n++) {
            for (int g = 0; g < groups; g++) {
                long inOff = xOff + (long) n * channels * geo.h() * geo.w() + g * planeIn;
                long outImg = outOff + ((long) n * outChannels + (long) g * og) * l;
                long wg = wOff + (long) g * og * k;
                if (direct) {
                    gemm(og, l, k, w, wg, x, inOff, out, outImg, epilogues[g], workspace);
                } else if (heap) {
                    MemorySegment.copy(x, FLOAT, inOff << 2, buf.image, 0, (int) planeIn);
                    Im2col.im2colHeap(buf.image, geo, buf.columns, ldc);
                    if (kept != null) {
                        MemorySegment.copy(buf.columns, 0, kept, FLOAT, (keptOff + ((long) n * groups + g) * k * l) << 2, k * l);
                    }
                    Sgemm.gemmPackedA(og, l, k, packedW[g], buf.columns, ldc, out, outImg, l, epilogues[g], buf.tile);
                } else if (kept != null) {
                    long keptImg = keptOff + ((long) n * groups + g) * k * l;
                    Im2col.im2colSegments(x, inOff, geo, kept, keptImg);
                    gemm(og, l, k, w, wg, kept, keptImg, out, outImg, epilogues[g], workspace);
                } else {
                    MemorySegment cols = scratch != null ? scratch : buf.segmentColumns((long) k * l);
                    long colsOff = scratch != null ? scratchOff : 0;
                    Im2col.im2colSegments(x, inOff, geo, cols, colsOff);
                    gemm(og, l, k, w, wg, cols, colsOff, out, outImg, epilogues[g], workspace);
                }
            }
        }
    }
}
