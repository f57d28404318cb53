package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The forward convolution of images {@code [n0, n1)}: for each image and group, im2col then one GEMM with the packed
 * weights, bias and activation in the GEMM's epilogue. The one driver of the eager op and of the inference plan
 * (both reach it through the plan step {@code PlanStep.Conv}); they differ only in where the scratch comes from: a
 * plan passes its frame's arrays (so a call allocates nothing), eager parts take this thread's ({@link #threadBuffers}).
 *
 * <p>Images whose image and columns fit {@link #HEAP_MAX_FLOATS} are copied to the heap, unfolded there straight
 * into the GEMM's packed B slivers ({@link Im2col#im2colPacked}: no per-row segment checks, which dominated with
 * LeNet's 10- and 28-float rows, and no packing pass) and multiplied with the packed weights
 * ({@link Sgemm#gemmPackedAB}); larger ones are unfolded segment to segment and go
 * through the blocked {@link Sgemm#sgemm} (a ResNet 3x3 64->64 layer on 56x56 ran at half speed through the staged
 * packed panel, one 7 MB heap array), except where the product reads the staged image in place: then columns up to
 * {@link #TAPS_MAX_FLOATS} are staged too, and an eager image's product is split across threads
 * ({@link #tapsProduct}). A 1x1 convolution with stride 1 and no padding reads the image itself as
 * its columns, through the blocked GEMM too. Staged images are copied zero-padded ({@link Im2col#stageImage}), and
 * stride-1 geometries with little pad waste skip the unfolded matrix altogether ({@link Im2col#unfoldsInPlace}:
 * {@link Sgemm#gemmPackedATapsB} reads B's rows in the padded image, or deals them into slivers from it with 16
 * vector registers; ResNet's 3 x 3 layers, its 3-channel stem included), or in column-shifted planes where the padded
 * rows would waste columns ({@link Im2col#shiftsInPlace}: LeNet's convolutions, ResNet's 8 x 8 layers). (A direct
 * 6-channel x 2-vector loop for first layers, DirectConv, was removed at stop 29: measured slower than these paths at
 * 512 and 256 bits for both of its layers, LeNet's conv1 and ResNet's stem: the stem at batch 64 870 -> 680 us at
 * 512 bits, 1,630 -> 1,040 at 256, 2,010 -> 1,970 at 128; AMD EPYC Zen 4.)
 *
 * <p>The backward drivers live here too: {@link #inputGradient} (stride 1: a forward convolution of the output
 * gradient with the flipped weights), {@link #weightGradient} (the columns row-major or in the shifted planes, the
 * output gradient dealt into packed slivers) and {@link #weightGradientDots} (few channels over many pixels: dot
 * products along the pixels); the plan step {@code PlanStep.ConvBackward} calls them for eager and training plans alike.
 */
public final class Conv2dDriver {
    /** Images up to this many floats (and columns) are staged on the heap. */
    public static final int HEAP_MAX_FLOATS = 1 << 20;
    /**
     * Columns up to this many floats are staged too where the forward product reads them in the padded image
     * ({@link #readsInPlace}: no column matrix and no packed panel is built for it; the heap buffers are still sized by
     * {@link #columnFloats}, 7.3 MB for the layer below, for col2im and a width whose own rule declines the in-place
     * forms, as the segment path's column scratch was). It takes ResNet's 3 x 3 64 -> 64 layer on 56 x 56 (576 x
     * 3,136 columns, the first stage of ResNet-18/34/50 at 224 x 224) off the segment path, which unfolded the columns
     * into a segment and packed them again for the blocked GEMM (JFR: unfolding 17%, packing 20% of the forward).
     * Measured (Intel Xeon, SPR-class, eager {@code Tensor.conv2d}, 2 s rounds, alternated JVMs; with
     * {@link #SHIFTS_MAX_FLOATS} and {@link #tapsProduct}'s split): [32, 64, 56, 56] forward on one thread 72-75 -> 101
     * GFLOP/s at 512 bits and 53.5 -> 72.9 at 256; [1, 64, 56, 56] on two threads 117-121 -> 178-183 and 88 -> 138
     * (backward and PyTorch's figures: bench/HISTORY.md, stop 54). The weight gradient then rebuilds the columns from
     * the staged image (rows in the column-shifted planes) instead of keeping them (7 MB an image: 231 MB a layer at
     * batch 32).
     */
    public static final int TAPS_MAX_FLOATS = 1 << 21;

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
        /** The weight gradient's packed columns (A) and packed output gradient plus a staging row (B): grown on demand. */
        float[] gradientA = new float[0];
        float[] gradientB = new float[0];
        /** Row offsets of an in-place unfolding ({@link Im2col#tapOffsets}): grown on demand, kept. */
        int[] tapOffsets = new int[0];
        /**
         * {@link #weightGradientDots}: the 16 partial sums of each weight-gradient element of each group, kept over a
         * chunk's images, then a sink for the pad slots; the output gradient's rows, zero-padded to whole groups of 16;
         * the accumulator slots of one register block. Grown on demand, kept.
         */
        float[] dotPartials = new float[0];
        float[] dotGout = new float[0];
        final int[] dotSlots = new int[DOT_TAPS * DOT_CHANNELS];

        int[] tapOffsets(Im2col.Geometry g) {
            return taps(g, PADDED_TAPS);
        }

        private static final int PADDED_TAPS = 0;
        private static final int PHASE_TAPS = 1;
        private static final int SHIFT_TAPS = 2;
        /** Geometries whose tap offsets are kept; a thread meeting more computes the others on every call. */
        private static final int KEPT_TAPS = 16;
        private final Im2col.Geometry[] keptGeometry = new Im2col.Geometry[KEPT_TAPS];
        private final int[] keptLayout = new int[KEPT_TAPS];
        private final int[][] keptTaps = new int[KEPT_TAPS][];

        /**
         * The offsets of each unfolded row in a staging of one of the three layouts, kept per geometry: a plan's layers
         * ask on every call with the same geometries, and computing LeNet's conv2 offsets (150) took 0.18 us, over 1% of
         * a batch-1 inference (AMD EPYC Zen 4). Kept arrays are only read; past {@link #KEPT_TAPS} geometries the
         * offsets are computed into {@link #tapOffsets} each time (nothing allocated per call either way, once warm).
         */
        private int[] taps(Im2col.Geometry g, int layout) {
            int free = -1;
            for (int i = 0; i < KEPT_TAPS; i++) {
                Im2col.Geometry kept = keptGeometry[i];
                if (kept == null) {
                    free = free < 0 ? i : free;
                } else if (keptLayout[i] == layout && (kept == g || kept.equals(g))) {
                    return keptTaps[i];
                }
            }
            int[] t = free < 0 ? tapArray(g.rows()) : new int[g.rows()];
            switch (layout) {
                case PADDED_TAPS -> Im2col.tapOffsets(g, t);
                case PHASE_TAPS -> Im2col.phaseTapOffsets(g, t);
                default -> Im2col.shiftTapOffsets(g, t);
            }
            if (free >= 0) {
                keptGeometry[free] = g;
                keptLayout[free] = layout;
                keptTaps[free] = t;
            }
            return t;
        }

        /** The rows of a fused 1 x 1 convolution in this thread's staging (see {@link #shortcutTap}): grown on demand, kept. */
        private int[] shortcutTaps = new int[0];

        int[] shortcutTaps(int channels) {
            if (shortcutTaps.length < channels) {
                shortcutTaps = new int[channels];
            }
            return shortcutTaps;
        }

        private int[] tapArray(int rows) {
            if (tapOffsets.length < rows) {
                tapOffsets = new int[rows];
            }
            return tapOffsets;
        }

        /**
         * The padded image {@link Im2col#stageShifts} cuts its planes from: grown on demand, kept.
         */
        float[] paddedSource = new float[0];

        float[] paddedSource(Im2col.Geometry g) {
            if (paddedSource.length < Im2col.stagedImageFloats(g)) {
                paddedSource = new float[Im2col.stagedImageFloats(g)];
            }
            return paddedSource;
        }

        /** {@link #tapOffsets} in the parity planes of {@link Im2col#stagePhases} (a stride-2 layer). */
        int[] phaseTapOffsets(Im2col.Geometry g) {
            return taps(g, PHASE_TAPS);
        }

        /** {@link #tapOffsets} in the column-shifted planes of {@link Im2col#stageShifts}. */
        int[] shiftTapOffsets(Im2col.Geometry g) {
            return taps(g, SHIFT_TAPS);
        }

        /** {@link #columns} with at least {@code floats} floats (a worker's sliver of {@link #tapsProduct}): grown on demand, kept. */
        float[] columns(int floats) {
            if (columns.length < floats) {
                columns = new float[floats];
            }
            return columns;
        }

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

    private static final ThreadLocal<Buffers> LOCAL = new ThreadLocal<>() {
        @Override
        protected Buffers initialValue() {
            return new Buffers();
        }
    };

    /** This thread's buffers, grown for {@code g} (eager parts: allocated once per thread, reused). */
    public static Buffers threadBuffers(Im2col.Geometry g) {
        Buffers b = LOCAL.get();
        b.ensure(g);
        return b;
    }

    /** {@link #forwardColdOrProbe}: the scalar form ran, the result is written. */
    public static final long COLD_DONE = Long.MIN_VALUE;
    /** {@link #forwardColdOrProbe}: the caller runs the vector form, untimed. */
    public static final long WARM = Long.MIN_VALUE + 1;

    /**
     * {@link #forward} of images [n0, n1) (without kept columns) in its scalar form, {@link #forwardScalar}, if the process
     * is young ({@link ColdStart}) and the layer small enough (staged images, at most {@code ColdStart.CONV_MAX_WEIGHTS}
     * weights a group and {@code ColdStart.CONV_MAX_IMAGE_MACS} multiply-adds an image and group, row biases): then
     * {@link #COLD_DONE}. Asked before the weights are packed, which the scalar form skips. Not for a {@code direct}
     * 1 x 1 layer: the blocked GEMM it takes sums some shapes otherwise (a product of at most {@code Sgemm.SMALL_M} rows
     * in one chain over the whole depth, a single column in the dot product's order).
     * Otherwise {@link #WARM} (the caller runs the vector form), or, after ColdStart's count, for a probe
     * ({@code ColdStart.Probe}) the {@link System#nanoTime} at which the caller's vector form starts, for
     * {@link #probeDone} once it has run.
     */
    public static long forwardColdOrProbe(Im2col.Geometry geo, int channels, int groups, int outChannels, boolean direct, MemorySegment x,
                                          long xOff, MemorySegment w, long wOff, Sgemm.Epilogue[] epilogues, MemorySegment out, long outOff,
                                          int n0, int n1) {
        if (ColdStart.convImages <= 0 && ColdStart.CONV.settled) {
            return WARM; // a warm process: two field reads a call
        }
        int og = outChannels / groups;
        int k = geo.rows();
        if (direct || !staged(geo) || !coldSized(og, geo)) {
            return WARM;
        }
        for (Sgemm.Epilogue e : epilogues) {
            if (e.bias() != null && !e.biasPerRow()) {
                return WARM;
            }
        }
        long images = (long) (n1 - n0) * groups;
        boolean scalar = coldScalar(images);
        long t0 = System.nanoTime();
        if (!scalar) {
            return t0 == COLD_DONE || t0 == WARM ? t0 + 2 : t0;
        }
        int l = geo.cols();
        long planeIn = (long) geo.c() * geo.h() * geo.w();
        for (int n = n0; n < n1; n++) {
            for (int g = 0; g < groups; g++) {
                forwardScalar(geo, x, xOff + (long) n * channels * geo.h() * geo.w() + g * planeIn, w, wOff + (long) g * og * k, og, out,
                        outOff + ((long) n * outChannels + (long) g * og) * l, epilogues[g]);
            }
        }
        ColdStart.CONV.took(true, System.nanoTime() - t0, images * og * k * l);
        return COLD_DONE;
    }

    /**
     * Whether a layer of {@code m} output channels a group is small enough for a young process's scalar form: at most
     * {@code ColdStart.CONV_MAX_WEIGHTS} weights and {@code ColdStart.CONV_MAX_IMAGE_MACS} multiply-adds an image.
     */
    private static boolean coldSized(long m, Im2col.Geometry g) {
        return m * g.rows() <= ColdStart.CONV_MAX_WEIGHTS && m * g.rows() * g.cols() <= ColdStart.CONV_MAX_IMAGE_MACS;
    }

    /**
     * Whether {@link #forwardChannelsLast} computes this convolution (a plan's, with constant weights, whose result only
     * Winograd layers read, which stage their input channels-last anyway): one group, stride 1, a padded staging
     * ({@link Im2col#padsImage}) on the heap, one depth block ({@link Sgemm#KC}: the tile kernels' single chain), and
     * whole vectors of output channels. A network's first layer (ResNet's 3 -> 16 stem) is the case: written
     * channels-last, its two readers skip their transposes. The vector width decides only the layout, never the bits.
     */
    public static boolean channelsLastApplies(Im2col.Geometry g, int groups, int outChannels, boolean direct) {
        return groups == 1 && !direct && g.sH() == 1 && g.sW() == 1 && g.cols() > 0 && staged(g) && Im2col.padsImage(g)
                && g.rows() <= Sgemm.KC && outChannels % Simd.LANES == 0;
    }

    /**
     * W^T for {@link #forwardChannelsLast}: row p holds {@code w[o, p]} for the m output channels ({@code w [m, k]} from
     * float wOff). Copied to the heap whole first: bound while a plan is made, in a young process, where a segment read
     * per float is a VarHandle call chain in the interpreter.
     */
    public static float[] transposedWeights(MemorySegment w, long wOff, int m, int k) {
        float[] rows = new float[Math.multiplyExact(m, k)];
        MemorySegment.copy(w, FLOAT, wOff << 2, rows, 0, rows.length);
        float[] t = new float[rows.length];
        for (int o = 0; o < m; o++) {
            for (int p = 0; p < k; p++) {
                t[p * m + o] = rows[o * k + p];
            }
        }
        return t;
    }

    /**
     * {@link #forward} of {@code images} images written channels-last ({@code [images, oH, oW, m]}) for a geometry of
     * {@link #channelsLastApplies}: the staged image's taps by {@link Sgemm#tapsChannelsLast4x2} (4 pixels by 2 vectors
     * of channels, W^T {@code wT} by vectors, each pixel broadcast), every output the chain of the
     * channels-first tiles, then {@code + bias[o]} ({@code bias} W^T's order, or null) and ReLU when {@code relu}: the
     * same bits. A young process ({@link ColdStart}) takes {@link #forwardScalar} (the weights {@code w}, epilogue
     * {@code epi}) and turns its planes channels-last, and its probes time the vector form as {@link #forwardColdOrProbe}'s do.
     */
    public static void forwardChannelsLast(Im2col.Geometry g, int m, MemorySegment x, long xOff, int images, MemorySegment w, long wOff,
                                           Sgemm.Epilogue epi, float[] wT, float[] bias, boolean relu, MemorySegment out, long outOff, Buffers buf) {
        long work = (long) images * m * g.rows() * g.cols();
        boolean timed = !(ColdStart.convImages <= 0 && ColdStart.CONV.settled) && coldSized(m, g);
        boolean scalar = timed && coldScalar(images);
        long t0 = timed ? System.nanoTime() : 0;
        if (scalar) {
            forwardChannelsLastScalar(g, m, x, xOff, images, w, wOff, epi, out, outOff);
            ColdStart.CONV.took(true, System.nanoTime() - t0, work);
            return;
        }
        forwardChannelsLastVector(g, m, x, xOff, images, wT, bias, relu, out, outOff, buf);
        if (timed) {
            ColdStart.CONV.took(false, System.nanoTime() - t0, work);
        }
    }

    /**
     * {@link #forwardChannelsLast}'s vector form: blocks of 4 pixels of a row by 2 vectors of channels (8 pixels by 1
     * for a last odd vector), the last block of a row storing what is left.
     */
    static void forwardChannelsLastVector(Im2col.Geometry g, int m, MemorySegment x, long xOff, int images, float[] wT, float[] bias, boolean relu,
                                          MemorySegment out, long outOff, Buffers buf) {
        int wp = Im2col.paddedRowLength(g);
        int k = g.rows();
        int oW = g.oW();
        int l = g.cols();
        long inImage = (long) g.c() * g.h() * g.w();
        long pixelBytes = 4L * m;
        int twoVectors = 2 * Simd.LANES;
        for (int n = 0; n < images; n++) {
            Im2col.stageImage(x, xOff + n * inImage, g, buf.image);
            int[] taps = buf.tapOffsets(g);
            for (int o0 = 0; o0 < m; o0 += twoVectors) {
                int width = Math.min(twoVectors, m - o0);
                int block = width == twoVectors ? 4 : 8; // pixels a kernel call: 4 x 2 vectors, or 8 x 1
                for (int y = 0; y < g.oH(); y++) {
                    for (int x0 = 0; x0 < oW; x0 += block) {
                        int q = y * wp + x0;
                        if (block == 4) {
                            Sgemm.tapsChannelsLast4x2(wT, m, o0, k, g.kW() == 3 && g.dW() == 1, buf.image, taps, q, buf.tile);
                        } else {
                            Sgemm.tapsChannelsLast8x1(wT, m, o0, k, g.kW() == 3 && g.dW() == 1, buf.image, taps, q, buf.tile);
                        }
                        long at = (outOff + ((long) n * l + (long) y * oW + x0) * m + o0) << 2;
                        Sgemm.channelsLastOut(buf.tile, Math.min(block, oW - x0), width, bias, o0, relu, out, at, pixelBytes);
                    }
                }
            }
        }
    }

    /**
     * {@link #forwardChannelsLast}'s scalar form: {@link #forwardScalar}'s planes, turned channels-last on the heap and
     * copied out whole (a segment write per float is a VarHandle call chain in the interpreter, ~1 us: written float by
     * float, ResNet-20's stem added ~15-60 ms to a cold start). Allocates (cold calls only).
     */
    static void forwardChannelsLastScalar(Im2col.Geometry g, int m, MemorySegment x, long xOff, int images, MemorySegment w, long wOff,
                                          Sgemm.Epilogue epi, MemorySegment out, long outOff) {
        int l = g.cols();
        float[] planes = new float[Math.multiplyExact(m, l)];
        float[] pixels = new float[planes.length];
        MemorySegment ps = MemorySegment.ofArray(planes);
        long inImage = (long) g.c() * g.h() * g.w();
        for (int n = 0; n < images; n++) {
            forwardScalar(g, x, xOff + n * inImage, w, wOff, m, ps, 0, epi);
            for (int o = 0; o < m; o++) {
                planeToChannelsLast(planes, o, l, m, pixels);
            }
            MemorySegment.copy(pixels, 0, out, FLOAT, (outOff + (long) n * l * m) << 2, pixels.length);
        }
    }

    /** Channel o's plane (l floats) into every m-th float of {@code pixels} from o: a small method the JIT compiles early. */
    private static void planeToChannelsLast(float[] planes, int o, int l, int m, float[] pixels) {
        for (int q = 0, from = o * l, to = o; q < l; q++, to += m) {
            pixels[to] = planes[from + q];
        }
    }

    /**
     * In a young process, whether these images take the scalar form: while ColdStart's count of scalar images lasts,
     * then unless ColdStart.CONV asks for a timed try of the vector form (the rule of {@link #forwardColdOrProbe} and
     * {@link #forwardChannelsLast}).
     */
    private static boolean coldScalar(long images) {
        return ColdStart.convImages > 0 ? ColdStart.convImages(images) : images <= ColdStart.PROBE_MAX_IMAGES && !ColdStart.CONV.probeVector();
    }

    /**
     * A probe's ticket started again now, after the caller's per-call packing of the weights (which the scalar form
     * does not do, so it would weigh against the vector form); COLD_DONE and WARM stay as they are.
     */
    public static long restartProbe(long ticket) {
        if (ticket == COLD_DONE || ticket == WARM) {
            return ticket;
        }
        long t = System.nanoTime();
        return t == COLD_DONE || t == WARM ? t + 2 : t;
    }

    /** The end of a probe that {@link #forwardColdOrProbe} started at {@code ticket} (nothing for COLD_DONE or WARM). */
    public static void probeDone(long ticket, Im2col.Geometry geo, int images, int outChannels) {
        if (ticket != COLD_DONE && ticket != WARM) {
            ColdStart.CONV.took(false, System.nanoTime() - ticket, (long) images * outChannels * geo.rows() * geo.cols());
        }
    }

    /**
     * One image and group of {@link #forward} in the scalar form a young process takes ({@link ColdStart}): every output
     * {@code (o, q)} is an FMA chain over the unfolded rows p in order from zero per {@link Sgemm#KC} block (padding
     * taps multiply a 0, as the vector paths do), the blocks added as the tile writes add them ({@code chain + C}),
     * then the bias and the activation as the epilogue applies them: the bits of every vector path. Copies to the heap
     * first (segment reads in the interpreter cost more than the arithmetic); allocates, being for cold calls only.
     */
    static void forwardScalar(Im2col.Geometry g, MemorySegment x, long inOff, MemorySegment w, long wOff, int og,
                              MemorySegment out, long outOff, Sgemm.Epilogue epi) {
        int c = g.c();
        int h = g.h();
        int wd = g.w();
        int k = g.rows();
        int l = g.cols();
        float[] img = new float[c * h * wd];
        MemorySegment.copy(x, FLOAT, inOff << 2, img, 0, img.length);
        float[] wt = new float[og * k];
        MemorySegment.copy(w, FLOAT, wOff << 2, wt, 0, wt.length);
        float[] cols = new float[k * l]; // staged() bounds it
        for (int p = 0; p < k; p++) {
            unfoldRow(g, img, p, cols, p * l);
        }
        float[] chain = new float[SCALAR_PIXELS];
        float[] sum = new float[l];
        boolean biased = epi.bias() != null;
        for (int o = 0; o < og; o++) {
            float bias = biased ? epi.bias().get(FLOAT, (epi.biasOff() + o) << 2) : 0f;
            for (int from = 0; from < l; from += SCALAR_PIXELS) {
                int n = Math.min(SCALAR_PIXELS, l - from);
                pixelsScalar(wt, o * k, k, cols, l, from, n, chain, sum);
                finishRow(sum, from, n, biased, bias, epi);
            }
            MemorySegment.copy(sum, 0, out, FLOAT, (outOff + (long) o * l) << 2, l);
        }
    }

    /**
     * One output channel's sums at pixels [from, from + n), weights {@code wt[wAt..wAt + k)}: a chain per pixel and depth
     * block, the blocks added in order, into {@code sum[from..)}. Small and called per run of pixels, so the JIT
     * compiles it (and its steps) after ~100 runs, a few channels of a first layer, where loops over whole rows left
     * forwardScalar and the steps interpreted until on-stack replacements.
     */
    private static void pixelsScalar(float[] wt, int wAt, int k, float[] cols, int l, int from, int n, float[] chain, float[] sum) {
        for (int pc = 0; pc < k; pc += Sgemm.KC) {
            java.util.Arrays.fill(chain, 0, n, 0f);
            int pEnd = Math.min(k, pc + Sgemm.KC);
            int p = pc;
            for (; p + 4 <= pEnd; p += 4) {
                fmaRows4(chain, wt[wAt + p], wt[wAt + p + 1], wt[wAt + p + 2], wt[wAt + p + 3], cols, p * l + from, l, n);
            }
            for (; p < pEnd; p++) {
                fmaRow(chain, wt[wAt + p], cols, p * l + from, n);
            }
            addBlock(chain, sum, from, n, pc == 0);
        }
    }

    /**
     * Pixels a scalar row step covers per call: short calls, so the JIT compiles the steps after ~100 of them (a few
     * channels of the first layer) instead of replacing a long loop on the stack after ~60,000 interpreted steps.
     */
    private static final int SCALAR_PIXELS = 64;

    /**
     * Row p = (ch kH + i) kW + j of the unfolded image: pixel q = (y, x) reads image (ch, y sH - pT + i dH, x sW - pL +
     * j dW), 0 outside it. The loops are small methods of their own: the JIT compiles them after a few calls, where
     * forwardScalar's own loops waited for an on-stack replacement.
     */
    private static void unfoldRow(Im2col.Geometry g, float[] img, int p, float[] cols, int at) {
        int h = g.h();
        int wd = g.w();
        int ch = p / (g.kH() * g.kW());
        int i = p / g.kW() % g.kH();
        int j = p % g.kW();
        int shift = j * g.dW() - g.pL();
        int x0 = Math.min(g.oW(), Math.max(0, Math.ceilDiv(-shift, g.sW()))); // columns [x0, x1) lie inside the image
        int x1 = Math.max(x0, Math.min(g.oW(), Math.ceilDiv(wd - shift, g.sW())));
        for (int y = 0, q = at; y < g.oH(); y++, q += g.oW()) {
            int r = y * g.sH() - g.pT() + i * g.dH();
            if (r < 0 || r >= h) {
                java.util.Arrays.fill(cols, q, q + g.oW(), 0f);
                continue;
            }
            java.util.Arrays.fill(cols, q, q + x0, 0f);
            copyStrided(img, (ch * h + r) * wd + shift + x0 * g.sW(), g.sW(), cols, q + x0, x1 - x0);
            java.util.Arrays.fill(cols, q + x1, q + g.oW(), 0f);
        }
    }

    private static void copyStrided(float[] src, int from, int step, float[] dst, int to, int n) {
        for (int i = 0; i < n; i++) {
            dst[to + i] = src[from + i * step];
        }
    }

    /** {@code chain[i] = fma(wv, cols[at + i], chain[i])} for i below n: one step of these pixels' chains. */
    private static void fmaRow(float[] chain, float wv, float[] cols, int at, int n) {
        for (int i = 0; i < n; i++) {
            chain[i] = Math.fma(wv, cols[at + i], chain[i]);
        }
    }

    /**
     * Four steps of these pixels' chains, rows {@code at}, {@code at + l}, {@code at + 2l}, {@code at + 3l} in order:
     * the same FMAs as four {@link #fmaRow} calls, with one load and store of the chain instead of four.
     */
    private static void fmaRows4(float[] chain, float w0, float w1, float w2, float w3, float[] cols, int at, int l, int n) {
        for (int i = 0; i < n; i++) {
            int q = at + i;
            float c = Math.fma(w0, cols[q], chain[i]);
            c = Math.fma(w1, cols[q + l], c);
            c = Math.fma(w2, cols[q + 2 * l], c);
            chain[i] = Math.fma(w3, cols[q + 3 * l], c);
        }
    }

    /** A depth block's chains into {@code sum[from..from + n)}: the first as it is, the next added as the tile writes add them. */
    private static void addBlock(float[] chain, float[] sum, int from, int n, boolean first) {
        for (int i = 0; i < n; i++) {
            sum[from + i] = first ? chain[i] : chain[i] + sum[from + i];
        }
    }

    /** The epilogue of these pixels of an output row: its bias, then its activation. */
    private static void finishRow(float[] sum, int from, int n, boolean biased, float bias, Sgemm.Epilogue epi) {
        for (int i = from; i < from + n; i++) {
            sum[i] = epi.activate(biased ? sum[i] + bias : sum[i]);
        }
    }

    /**
     * Heap floats an image copy needs: a staged image ({@link Im2col#stageImage}), col2im's plain one, a stride-2
     * layer's parity planes ({@link Im2col#stagePhases}) or column-shifted planes ({@link Im2col#stageShifts}, where
     * {@link Im2col#shiftsForward} holds).
     */
    public static int imageFloats(Im2col.Geometry g) {
        int floats = Math.max(Im2col.stagedImageFloats(g), g.c() * g.h() * g.w() + Im2col.HEAP_SLACK);
        if (Im2col.shiftsForward(g)) {
            floats = Math.max(floats, Im2col.shiftImageFloats(g));
        }
        return Im2col.phasesInPlace(g) ? Math.max(floats, Im2col.phaseImageFloats(g)) : floats;
    }

    /** Heap floats the staged columns need: the packed panel and a staging row ({@link Im2col#packedColumnFloats}). */
    public static int columnFloats(Im2col.Geometry g) {
        // col2imStaged puts the columns after col2imLead floats and the image-row path reads col2imTail floats past them
        return Math.max(Im2col.packedColumnFloats(g),
                Math.addExact(Math.addExact(Im2col.col2imLead(g), g.rows() * g.cols()), Im2col.col2imTail(g)));
    }

    /**
     * Whether an image of this geometry is staged on the heap. Decided without the vector width (columns counted in
     * whole 64s, at least any sliver width), so every width takes the same path and sums in the same order.
     */
    public static boolean staged(Im2col.Geometry g) {
        long paddedColumns = ((long) g.cols() + 63) / 64 * 64;
        long columns = (long) g.rows() * paddedColumns;
        return (long) g.c() * g.h() * g.w() <= HEAP_MAX_FLOATS
                && (columns <= HEAP_MAX_FLOATS || columns <= TAPS_MAX_FLOATS && readsInPlace(g));
    }

    /**
     * The most floats of column-shifted planes ({@link Im2col#stageShifts}: kW copies of the padded image) a product
     * runs on (2 MB, a core's L2 on the Xeon measured); larger stagings take the padded image itself (1/kW of it), even
     * where the planes would multiply fewer columns. Measured (Intel Xeon, SPR-class, 512 bits, where the planes win on
     * column count at 56 x 56 and 28 x 28): ResNet's 64 -> 64 layer on 56 x 56 (planes 2.5 MB) at batch 1 on two threads
     * 125-143 -> 178-183 GFLOP/s, at batch 32 on one 90-94 -> 98-103; its 128 -> 128 layer on 28 x 28 (planes 1.3 MB,
     * kept) at batch 8 on one thread ran 97-101 against 104 with the padded image, although faster at batch 1 on two
     * (177-186 against 157; the staging runs on the caller before the split). Either form gives the same bits.
     */
    static final int SHIFTS_MAX_FLOATS = 1 << 19;

    /**
     * Whether a staged product runs on the column-shifted planes: where {@link Im2col#shiftsForward} holds and they fit
     * {@link #SHIFTS_MAX_FLOATS} or the padded image would not be read in place at this width.
     */
    static boolean shiftsTaken(Im2col.Geometry g) {
        // past the bound the padded image serves only where this width's rule takes it in place; elsewhere the planes
        // still beat the packed panel the product would otherwise unfold into (320 channels on 24 x 24 at 256 bits)
        return Im2col.shiftsForward(g) && (Im2col.shiftImageFloats(g) <= SHIFTS_MAX_FLOATS || !Im2col.unfoldsInPlace(g));
    }

    /**
     * Whether a stride-1 geometry's forward product reads B's rows where they lie in its staging (the zero-padded image,
     * {@link Im2col#unfoldsInPlace}, or the column-shifted planes, {@link Im2col#shiftsInPlace}): the forms
     * {@link #TAPS_MAX_FLOATS} admits. Those two rules weigh the pad columns in slivers of the machine's width; this one
     * weighs them in slivers of 32 columns (512-bit vectors' NR) at every width, so {@link #staged} stays a rule of the
     * geometry alone and every width takes the same path. Where a width's own rule still declines the in-place forms,
     * that width unfolds into a packed panel on the heap ({@link #columnFloats} sizes it): slower, the same bits.
     */
    static boolean readsInPlace(Im2col.Geometry g) {
        if (g.sH() != 1 || g.sW() != 1 || !Im2col.padsImage(g) || g.cols() <= 0) {
            return false;
        }
        int sliver = 32;
        long wp = Im2col.paddedWidth(g);
        long computed = g.oW() >= sliver && wp != g.oW() ? (long) g.oH() * ((g.oW() + sliver - 1) / sliver * sliver)
                : ((g.oH() - 1) * wp + g.oW() + sliver - 1) / sliver * sliver;
        return 6 * computed <= 7 * (((long) g.cols() + sliver - 1) / sliver * sliver);
    }

    /**
     * Whether the forward product of this geometry (with {@code og} channels a group) has a pixel tail
     * {@link Sgemm#gemmPackedATapsB} computes channel-wise given {@link Sgemm#packTransposedTail}'s weights: its
     * column-shifted staging, flat, with 1 to 4 pixels past the last whole block. For plans, which pack constant weights
     * once (LeNet's conv2 at batch 1: 16 channels, 100 pixels).
     */
    public static boolean transposedTails(Im2col.Geometry g, int og) {
        return staged(g) && shiftsTaken(g) && Sgemm.transposedTailColumns(og, g.rows(), g.oH(), g.oW(), g.oW(), Sgemm.Epilogue.NONE) > 0;
    }

    /**
     * {@code out[n, group] = W_group im2col(x[n, group])} with {@code epilogues[group]}, for n in [n0, n1).
     *
     * @param channels    input channels (all groups)
     * @param w           the weights {@code [outChannels, rows]} at {@code wOff} (the blocked GEMM's A)
     * @param packedW     per group, W_group packed by {@link Sgemm#packA} ({@code [og, rows]}); needed only when
     *                    {@link #staged} and not direct
     * @param transposedTails per group, W_group packed by {@link Sgemm#packTransposedTail} for the last few pixels of a
     *                    column-shifted product ({@link #transposedTails}); null: none
     * @param workspace   the blocked GEMM's buffers (a plan's); null: this thread's, and the GEMM may split across
     *                    threads (eager, outside a parallel part)
     * @param kept        if not null, receives each image's columns at {@code keptOff + (n groups + group) rows cols}
     *                    (row-major, for the weight gradient); the direct path keeps none
     * @param scratch     columns of an image too large to stage ({@code rows * cols} floats at {@code scratchOff}); null:
     *                    {@code buf}'s own, kept from call to call
     */
    public static void forward(Im2col.Geometry geo, int channels, int groups, int outChannels, boolean direct,
                               MemorySegment x, long xOff, MemorySegment w, long wOff, float[][] packedW, float[][] transposedTails,
                               Sgemm.Epilogue[] epilogues, MemorySegment out, long outOff, MemorySegment kept, long keptOff,
                               MemorySegment scratch, long scratchOff, int n0, int n1, Buffers buf, Sgemm.Workspace workspace) {
        forward(geo, channels, groups, outChannels, direct, x, xOff, w, wOff, packedW, transposedTails, epilogues, out, outOff, kept, keptOff,
                scratch, scratchOff, n0, n1, buf, workspace, 0, -1, null, null, null, 0);
    }

    /**
     * Whether {@link #forward} can compute a 1 x 1 convolution of the same input from this geometry's staging (a
     * downsampling block's shortcut beside its 3 x 3 stride-2 convolution): the staging is one B reads its rows in
     * (one group, staged, not the direct path) and kernel tap {@code tap} = (i, j) reads, for every output pixel,
     * exactly the input pixel the 1 x 1 convolution reads, (y sH, x sW): i dH = pT and j dW = pL. The 1 x 1's geometry
     * must have the same stride, no padding and the same output size. Returns the tap's index i kW + j, or -1.
     */
    public static int shortcutTap(Im2col.Geometry g, int groups, boolean direct, Im2col.Geometry one, int oneGroups, boolean oneDirect) {
        if (groups != 1 || oneGroups != 1 || direct || oneDirect || !staged(g) || one.kH() != 1 || one.kW() != 1 || one.c() != g.c()
                || one.h() != g.h() || one.w() != g.w() || one.sH() != g.sH() || one.sW() != g.sW() || one.pT() != 0 || one.pL() != 0
                || one.oH() != g.oH() || one.oW() != g.oW() || g.dH() <= 0 || g.dW() <= 0 || g.pT() % g.dH() != 0 || g.pL() % g.dW() != 0) {
            return -1;
        }
        int i = g.pT() / g.dH();
        int j = g.pL() / g.dW();
        return i < g.kH() && j < g.kW() ? i * g.kW() + j : -1;
    }

    /**
     * {@link #forward}, and with {@code scChannels > 0} a 1 x 1 convolution of the same images ({@link #shortcutTap}
     * {@code scTap}): {@code scOut[n] = W_sc x[n]} sampled at the 1 x 1's pixels, with {@code scEpi}, its weights packed
     * by {@link Sgemm#packA} ({@code [scChannels, c]}). Where this geometry's product runs on a staging whose rows B
     * reads in place (column-shifted, parity or padded planes), the 1 x 1's rows are that staging's rows of tap scTap,
     * one per channel, so its product reads them there: no staging of its own (ResNet's downsampling shortcut copied
     * the whole image to the heap and gathered a quarter of it, 40 GFLOP/s). Elsewhere {@code false} is returned and
     * the caller runs the 1 x 1 convolution itself. The same products in the same order as the 1 x 1's own path (a
     * chain of FMAs over its c rows from zero, then its epilogue): the same bits.
     *
     * @return whether the 1 x 1 convolution was computed
     */
    public static boolean forward(Im2col.Geometry geo, int channels, int groups, int outChannels, boolean direct,
                                  MemorySegment x, long xOff, MemorySegment w, long wOff, float[][] packedW, float[][] transposedTails,
                                  Sgemm.Epilogue[] epilogues, MemorySegment out, long outOff, MemorySegment kept, long keptOff,
                                  MemorySegment scratch, long scratchOff, int n0, int n1, Buffers buf, Sgemm.Workspace workspace,
                                  int scChannels, int scTap, float[] scPackedW, Sgemm.Epilogue scEpi, MemorySegment scOut, long scOutOff) {
        int og = outChannels / groups;
        int k = geo.rows();
        int l = geo.cols();
        long planeIn = (long) geo.c() * geo.h() * geo.w();
        // staged images keep no columns (ConvOps recomputes them for the weight gradient); a caller that asks for
        // them anyway gets the segment path, which unfolds straight into the kept buffer
        boolean heap = staged(geo) && kept == null;
        boolean shifts = heap && !direct && shiftsTaken(geo);
        boolean inPlace = heap && !direct && !shifts && Im2col.unfoldsInPlace(geo);
        boolean phases = heap && !direct && !shifts && !inPlace && Im2col.phasesInPlace(geo);
        int[] taps = shifts ? buf.shiftTapOffsets(geo) : inPlace ? buf.tapOffsets(geo) : phases ? buf.phaseTapOffsets(geo) : null;
        float[] paddedSource = shifts ? buf.paddedSource(geo) : null;
        boolean shortcut = scChannels > 0 && taps != null && groups == 1;
        int[] scTaps = null;
        int scWp = shifts ? geo.oW() : inPlace ? Im2col.paddedRowLength(geo) : phases ? Im2col.phaseRowLength(geo) : 0;
        long scPlane = (long) geo.oH() * geo.oW();
        if (shortcut) {
            int kk = geo.kH() * geo.kW();
            scTaps = buf.shortcutTaps(geo.c());
            for (int ch = 0; ch < geo.c(); ch++) {
                scTaps[ch] = taps[ch * kk + scTap];
            }
        }
        for (int n = n0; n < n1; n++) {
            for (int g = 0; g < groups; g++) {
                long inOff = xOff + (long) n * channels * geo.h() * geo.w() + g * planeIn;
                long outImg = outOff + ((long) n * outChannels + (long) g * og) * l;
                long wg = wOff + (long) g * og * k;
                if (direct) {
                    gemm(og, l, k, w, wg, x, inOff, out, outImg, epilogues[g], workspace);
                } else if (shifts || inPlace || phases) {
                    boolean split = workspace == null; // eager: an image's product may run on several threads
                    if (shifts) {
                        Im2col.stageShifts(x, inOff, geo, paddedSource, buf.image);
                        tapsProduct(og, k, packedW[g], transposedTails == null ? null : transposedTails[g], buf.image, taps,
                                geo.oH(), geo.oW(), geo.oW(), out, outImg, epilogues[g], buf, split);
                    } else if (inPlace) {
                        Im2col.stageImage(x, inOff, geo, buf.image);
                        tapsProduct(og, k, packedW[g], null, buf.image, taps, geo.oH(), geo.oW(), Im2col.paddedRowLength(geo),
                                out, outImg, epilogues[g], buf, split);
                    } else {
                        Im2col.stagePhases(x, inOff, geo, buf.image);
                        tapsProduct(og, k, packedW[g], null, buf.image, taps, geo.oH(), geo.oW(), Im2col.phaseRowLength(geo),
                                out, outImg, epilogues[g], buf, split);
                    }
                    if (shortcut) { // the 1 x 1's rows: this staging's rows of its tap, one per channel
                        Sgemm.gemmPackedATapsB(scChannels, geo.c(), scPackedW, buf.image, scTaps, geo.oH(), geo.oW(), scWp,
                                scOut, scOutOff + (long) n * scChannels * scPlane, scEpi, buf.columns, buf.tile);
                    }
                } else if (heap) {
                    Im2col.stageImage(x, inOff, geo, buf.image);
                    Im2col.im2colPacked(buf.image, geo, buf.columns);
                    Sgemm.gemmPackedAB(og, l, k, packedW[g], buf.columns, out, outImg, l, epilogues[g], buf.tile);
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
        return shortcut;
    }

    /** Products {@link #tapsProduct} and {@link #rowsProduct} split across threads in this process (see {@link #splitProducts}). */
    private static final java.util.concurrent.atomic.AtomicLong SPLIT_PRODUCTS = new java.util.concurrent.atomic.AtomicLong();

    /**
     * How many convolution products this process has split within an image across threads (a staged layer's forward
     * or input gradient at a batch smaller than the thread count, its weight gradient's rows): a diagnostic for tests
     * and benchmarks, which otherwise cannot tell a split from one thread (the bits are the same).
     */
    public static long splitProducts() {
        return SPLIT_PRODUCTS.get();
    }

    /**
     * One image's {@link Sgemm#gemmPackedATapsB} over the image {@code img} staged in {@code buf}: on this thread, or,
     * where {@code mayParallel} and the product has at least {@link Sgemm#PARALLEL_MIN_FLOPS} multiply-adds, split by
     * {@link Sgemm#tapsUnits} (output rows or column blocks) across the pool's threads, which all read the one staged
     * image (each with its own sliver and tile). Outside a parallel part only ({@link Parallel#partsFor} is 1 inside
     * one and in a serial plan), so it splits an image where the images are not split across threads already: an
     * ImageNet-sized layer at batch 1, which the segment path's blocked GEMM split within the image too (at batch 2 on
     * 16 threads the images take a part each and 2 threads work, as they did on the segment path). No block and no sum
     * changes with the split: the same bits for any thread count.
     */
    static void tapsProduct(int m, int k, float[] ap, float[] wT, float[] img, int[] taps, int oH, int oW, int wp, MemorySegment c,
                            long cOff, Sgemm.Epilogue epi, Buffers buf, boolean mayParallel) {
        int units = Sgemm.tapsUnits(oH, oW, wp);
        long work = (long) m * k * oH * oW;
        int parts = mayParallel && work >= Sgemm.PARALLEL_MIN_FLOPS ? Parallel.partsFor(units, 1) : 1;
        if (parts <= 1) {
            Sgemm.gemmPackedATapsB(m, k, ap, wT, img, taps, oH, oW, wp, c, cOff, epi, buf.columns, buf.tile);
            return;
        }
        SPLIT_PRODUCTS.incrementAndGet();
        TapsPartJob job = TapsPartJob.MINE.get();
        job.set(m, k, ap, wT, img, taps, oH, oW, wp, c, cOff, epi, buf);
        try {
            Parallel.forRange(parts, units, job);
        } finally {
            job.release();
        }
    }

    /** The parallel body of {@link #tapsProduct}, one per calling thread, reused: a compiled step allocates nothing. */
    private static final class TapsPartJob implements Parallel.RangeBody {
        static final ThreadLocal<TapsPartJob> MINE = new ThreadLocal<>() {
            @Override
            protected TapsPartJob initialValue() {
                return new TapsPartJob();
            }
        };
        private int m;
        private int k;
        private float[] ap;
        private float[] wT;
        private float[] img;
        private int[] taps;
        private int oH;
        private int oW;
        private int wp;
        private MemorySegment c;
        private long cOff;
        private Sgemm.Epilogue epi;
        private Buffers caller;

        void set(int m, int k, float[] ap, float[] wT, float[] img, int[] taps, int oH, int oW, int wp, MemorySegment c, long cOff,
                 Sgemm.Epilogue epi, Buffers caller) {
            this.m = m;
            this.k = k;
            this.ap = ap;
            this.wT = wT;
            this.img = img;
            this.taps = taps;
            this.oH = oH;
            this.oW = oW;
            this.wp = wp;
            this.c = c;
            this.cOff = cOff;
            this.epi = epi;
            this.caller = caller;
        }

        /** Drops the references (a thread's job must not keep a finished call's arrays and tensors alive). */
        void release() {
            set(0, 0, null, null, null, null, 0, 0, 0, null, 0, null, null);
        }

        @Override
        public void accept(int part, int from, int to) {
            // part 0 runs on the caller with its buffers; the others take their thread's (only the sliver and tile:
            // the image they read is the caller's). A part a full pool hands back to the caller takes the caller's
            // thread buffers, one part after another, and the image lives in buf.image, which no part writes.
            Buffers own = part == 0 ? caller : LOCAL.get();
            float[] sliver = part == 0 ? caller.columns : own.columns(Math.multiplyExact(k, Sgemm.NR));
            Sgemm.gemmPackedATapsBUnits(m, k, ap, wT, img, taps, oH, oW, wp, c, cOff, epi, sliver, own.tile, from, to);
        }
    }

    /**
     * The geometry of a stride-1 convolution's input gradient computed as a forward convolution of the output gradient
     * ({@link #inputGradient}); null for other strides. For stride 1,
     * {@code dx[c, Y, X] = sum_{o, a, b} gout[o, Y + pT - a dH, X + pL - b dW] W[o, c, a, b]}; with {@code a' = kH - 1 - a}
     * that is a correlation of gout (og channels, oH x oW) with the flipped, transposed weights, padding
     * {@code dH (kH - 1) - pT} (negative is fine: im2col only bounds-checks its reads), output {@code h x w}.
     */
    public static Im2col.Geometry transposedGeometry(Im2col.Geometry g, int og) {
        if (g.sH() != 1 || g.sW() != 1) {
            return null;
        }
        return new Im2col.Geometry(og, g.oH(), g.oW(), g.kH(), g.kW(), 1, 1, g.dH() * (g.kH() - 1) - g.pT(), g.dW() * (g.kW() - 1) - g.pL(),
                g.dH(), g.dW(), g.h(), g.w());
    }

    /**
     * {@link #transposedGeometry} when the input gradient is cheaper as that forward convolution than as
     * {@code W^T gout} followed by col2im; null when not (or stride is not 1). The forward convolution unfolds
     * {@code og kH kW x h w} floats and multiplies with depth {@code og kH kW} over {@code h w} pixels; the col2im way
     * writes and scatters {@code cg kH kW x oH oW} floats and multiplies with depth og over {@code oH oW}. The
     * forward convolution wins where the two matrices are alike (ResNet's same-padded 16->16 layers, measured); the
     * col2im way where the convolution narrows the channels or pads little (LeNet's 6->16 5x5 valid layer: 78,400 floats
     * against 15,000 per image). A rule of the geometry alone: every width and thread count takes the same path.
     */
    public static Im2col.Geometry flippedInputGradientGeometry(Im2col.Geometry g, int og, int cg) {
        Im2col.Geometry t = transposedGeometry(g, og);
        if (t == null) {
            return null;
        }
        long flippedColumns = (long) og * g.kH() * g.kW() * g.h() * g.w();
        long col2imColumns = (long) cg * g.kH() * g.kW() * g.oH() * g.oW();
        return flippedColumns <= col2imColumns ? t : null;
    }

    /** Floats {@link #packFlippedWeights} writes: {@code ceil(cg / MR) * MR * og * kH * kW}. */
    public static int flippedWeightFloats(int og, int cg, int kH, int kW) {
        return Math.multiplyExact((cg + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR, Math.multiplyExact(og, kH * kW));
    }

    /**
     * One group's weights {@code W[o, c, a, b]} ({@code [og, cg, kH, kW]} at {@code wOff}) as the GEMM's A of
     * {@link #inputGradient}, {@code W'[c, (o kH + kH-1-a) kW + kW-1-b]}, packed in {@link Sgemm#packA}'s layout
     * (MR-row slivers, zero rows past cg).
     */
    public static void packFlippedWeights(MemorySegment w, long wOff, int og, int cg, int kH, int kW, float[] ap) {
        int kk = kH * kW;
        int depth = og * kk;
        java.util.Arrays.fill(ap, 0, flippedWeightFloats(og, cg, kH, kW), 0f);
        for (int o = 0; o < og; o++) {
            for (int c = 0; c < cg; c++) {
                long src = wOff + ((long) o * cg + c) * kk;
                int sliver = c / Sgemm.MR * Sgemm.MR * depth + c % Sgemm.MR;
                for (int a = 0; a < kH; a++) {
                    for (int b = 0; b < kW; b++) {
                        int p = o * kk + (kH - 1 - a) * kW + (kW - 1 - b);
                        ap[sliver + p * Sgemm.MR] = w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, src + a * kW + b);
                    }
                }
            }
        }
    }

    /**
     * {@code dx[n, group] = W'_group im2col(gout[n, group])} for n in [n0, n1): the input gradient of a stride-1
     * convolution as a forward convolution ({@link #transposedGeometry}) through the packed im2col and GEMM. Against
     * W^T gout followed by col2im this writes cg x h x w floats per image instead of a [cg kH kW, oH oW] column
     * matrix, with depth og kH kW instead of og (Zen 3, AVX2: ResNet-20's 16-channel layer at batch 128 went from
     * 50 to 27 ms). Writes dx (no accumulation).
     *
     * @param gT        {@link #transposedGeometry} of the convolution (must be {@link #staged})
     * @param flippedW  per group, {@link #packFlippedWeights}
     */
    public static void inputGradient(Im2col.Geometry gT, int cg, int groups, MemorySegment gout, long gOff, float[][] flippedW,
                                     MemorySegment dx, long dxOff, int n0, int n1, Buffers buf) {
        int og = gT.c();
        int depth = gT.rows();
        int l = gT.cols();
        long planeOut = (long) og * gT.h() * gT.w();
        boolean shifts = shiftsTaken(gT); // stride 1: Im2col.shiftsInPlace
        boolean inPlace = !shifts && Im2col.unfoldsInPlace(gT);
        int[] taps = shifts ? buf.shiftTapOffsets(gT) : inPlace ? buf.tapOffsets(gT) : null;
        float[] paddedSource = shifts ? buf.paddedSource(gT) : null;
        for (int n = n0; n < n1; n++) {
            for (int g = 0; g < groups; g++) {
                long from = gOff + ((long) n * groups + g) * planeOut;
                long at = dxOff + ((long) n * groups + g) * cg * l;
                if (shifts) {
                    Im2col.stageShifts(gout, from, gT, paddedSource, buf.image);
                    tapsProduct(cg, depth, flippedW[g], null, buf.image, taps, gT.oH(), gT.oW(), gT.oW(), dx, at, null, buf, true);
                    continue;
                }
                Im2col.stageImage(gout, from, gT, buf.image);
                if (inPlace) {
                    tapsProduct(cg, depth, flippedW[g], null, buf.image, taps, gT.oH(), gT.oW(), Im2col.paddedRowLength(gT), dx, at, null, buf, true);
                } else {
                    Im2col.im2colPacked(buf.image, gT, buf.columns);
                    Sgemm.gemmPackedAB(cg, l, depth, flippedW[g], buf.columns, dx, at, l, null, buf.tile);
                }
            }
        }
    }

    /**
     * {@code dx += col2im(cols)} for one image and group of a {@link #staged} geometry, through this thread's heap
     * buffers ({@link Im2col#col2imHeap}: the same bits as {@link Im2col#col2im} on the segments, at a fraction of
     * its per-row cost).
     */
    public static void col2imStaged(Im2col.Geometry g, MemorySegment cols, long colOff, MemorySegment dx, long dxOff, Buffers buf) {
        int colFloats = g.rows() * g.cols(); // staged: at most TAPS_MAX_FLOATS
        int plane = g.c() * g.h() * g.w();
        int lead = Im2col.col2imLead(g); // room for the image-row path's shifted reads
        MemorySegment.copy(cols, FLOAT, colOff << 2, buf.columns, lead, colFloats);
        MemorySegment.copy(dx, FLOAT, dxOff << 2, buf.image, 0, plane);
        Im2col.col2imHeap(buf.columns, lead, g, buf.image, 0);
        MemorySegment.copy(buf.image, 0, dx, FLOAT, dxOff << 2, plane);
    }

    /** Partial sums per weight-gradient element in {@link #weightGradientDots}, at every width (see {@link Simd#GROUP}). */
    private static final int DOT_PARTIALS = 16;
    /** Taps x output channels of one register block of {@link #weightGradientDots}: 16 (or 8) accumulators, 4 output-gradient vectors and a tap vector. */
    static final int DOT_TAPS = Simd.VECTOR_REGISTERS >= 32 ? 4 : 2;
    static final int DOT_CHANNELS = 4;
    /** At most this many output channels per group take {@link #weightGradientDots}. */
    static final int DOT_MAX_CHANNELS = 8; // a constant, never a setting: the choice of path fixes the order of the additions
    /**
     * At least this many output pixels per image for {@link #weightGradientDots}: shorter runs spend more on loading and
     * storing the accumulators than on FMAs (LeNet's second layer, 16 channels over 100 pixels: 1,250 us against 578
     * by the register-tiled product).
     */
    static final int DOT_MIN_PIXELS = 256;
    /** Floats of partial sums one thread may keep for {@link #weightGradientDots} (4 MB). */
    private static final long DOT_MAX_PARTIALS = 1 << 20;

    /**
     * Whether a convolution's weight gradient runs as {@link #weightGradientDots}: stride-1 geometries whose taps are
     * contiguous runs over the output pixels in the column-shifted planes, with few output channels (LeNet's first
     * layer: 6 channels x 25 taps over 784 pixels, where the register-tiled product packs a 6-row output gradient
     * into 16-wide slivers and fills 8-row tiles with 25 taps: 769 us of the 3,400 us step, half of it packing).
     */
    public static boolean dotsWeightGradient(Im2col.Geometry g, int og, int groups) {
        // decided without the vector width (Im2col.shiftsFit, not shiftsInPlace, whose column counts depend on NR): the
        // dot products and the register-tiled product add in different orders, so a width-dependent choice would
        // give different bits at 512 and 256 bits (a 16 x 16 layer with 3 x 3 taps shifts in place at 16 lanes only)
        // nor on Simd.GROUP: at other lane counts weightGradientDots runs its scalar form of the same additions
        return og <= DOT_MAX_CHANNELS && g.cols() >= DOT_MIN_PIXELS && staged(g) && Im2col.shiftsFit(g)
                && (long) groups * g.rows() * og * DOT_PARTIALS <= DOT_MAX_PARTIALS;
    }

    /**
     * One image's and group's share of a convolution's weight gradient as dot products along the output pixels:
     * {@code C[k, og] = sum over the chunk's images of cols[k, l] gout^T[l, og]}, written when {@code last}. Each
     * element keeps 16 partial sums over the chunk (pixel q of every image goes into partial {@code q mod 16}, the
     * images in order), folded in {@link Simd#GROUP}'s fixed order at the end: the same additions at 16, 8 and 4 lanes
     * (at fewer lanes each register block runs once per vector of the group) and for any thread count (a chunk is one
     * thread's). The tap rows are read where they lie in the column-shifted planes ({@link Im2col#stageShifts}), the
     * output gradient rows from a zero-padded copy; no packing. Where {@link Simd#GROUP} is 0 (2 lanes, SVE above 512
     * bits) {@link #weightGradientDotsScalar} computes the same additions in the same order. Requires a {@link #staged}
     * geometry with {@link Im2col#shiftsFit} and {@code groups k og 16} floats that fit an int ({@link #dotsWeightGradient}
     * chooses the geometries where it is faster).
     *
     * @param group  this group's index (its partial sums are kept apart) of {@code groups}
     * @param first  the chunk's first image: the partial sums start from zero
     * @param last   the chunk's last image: the folded sums are written to {@code c} (row-major {@code [k, og]})
     */
    public static void weightGradientDots(Im2col.Geometry g, int og, int group, int groups, MemorySegment src, long srcOff,
                                          MemorySegment gout, long gOff, MemorySegment c, long cOff, boolean first, boolean last,
                                          Buffers buf) {
        int k = g.rows();
        int l = g.cols();
        int lp = (l + DOT_PARTIALS - 1) / DOT_PARTIALS * DOT_PARTIALS;
        int perGroup = Math.multiplyExact(Math.multiplyExact(k, og), DOT_PARTIALS); // dotsWeightGradient bounds it
        int sink = Math.multiplyExact(groups, perGroup);
        if (buf.dotPartials.length < sink + DOT_PARTIALS) {
            buf.dotPartials = java.util.Arrays.copyOf(buf.dotPartials, sink + DOT_PARTIALS); // other groups' sums kept
        }
        int goutFloats = Math.addExact(Math.multiplyExact(og, lp), Im2col.HEAP_SLACK);
        if (buf.dotGout.length < goutFloats) {
            buf.dotGout = new float[goutFloats];
        }
        float[] acc = buf.dotPartials;
        float[] gq = buf.dotGout;
        int base = group * perGroup;
        if (first) {
            java.util.Arrays.fill(acc, base, base + perGroup, 0f);
            java.util.Arrays.fill(acc, sink, sink + DOT_PARTIALS, 0f); // the pad slots' sums, never read: kept from growing into denormals
        }
        for (int o = 0; o < og; o++) {
            MemorySegment.copy(gout, FLOAT, (gOff + (long) o * l) << 2, gq, o * lp, l);
            java.util.Arrays.fill(gq, o * lp + l, (o + 1) * lp, 0f);
        }
        if (buf.image.length < Im2col.shiftImageFloats(g)) { // imageFloats counts the planes only where shiftsInPlace holds
            buf.image = new float[Im2col.shiftImageFloats(g)];
        }
        Im2col.stageShifts(src, srcOff, g, buf.paddedSource(g), buf.image);
        int[] rows = buf.shiftTapOffsets(g);
        float[] img = buf.image;
        if (Simd.GROUP == 0) {
            weightGradientDotsScalar(k, og, l, lp, img, rows, gq, acc, base);
        } else {
            weightGradientDotsVectors(k, og, l, lp, img, rows, gq, acc, base, sink, buf.dotSlots);
        }
        if (last) {
            for (int e = 0; e < k * og; e++) {
                c.setAtIndex(FLOAT, cOff + e, Simd.fold(acc, base + e * DOT_PARTIALS, DOT_PARTIALS)); // the partials restart at the next first
            }
        }
    }

    /**
     * The scalar form of {@link #weightGradientDotsVectors}, for lane counts without a {@link Simd#GROUP}: the same
     * additions in the same order. Element (p, o)'s partial {@code q mod 16} takes pixel q's FMA for q in [0, lp) in
     * order; past l the vector form's masked lanes add 0 x 0 (which turns a -0 sum into +0), and so does this.
     */
    static void weightGradientDotsScalar(int k, int og, int l, int lp, float[] img, int[] rows, float[] gq, float[] acc, int base) {
        for (int p = 0; p < k; p++) {
            int t = rows[p];
            for (int o = 0; o < og; o++) {
                int at = base + (p * og + o) * DOT_PARTIALS;
                int go = o * lp;
                int q = 0;
                for (; q + DOT_PARTIALS <= l; q += DOT_PARTIALS) {
                    for (int j = 0; j < DOT_PARTIALS; j++) {
                        acc[at + j] = Math.fma(img[t + q + j], gq[go + q + j], acc[at + j]);
                    }
                }
                for (int j = 0; q + j < lp; j++) { // the last group of 16, reaching past l up to lp
                    acc[at + j] = q + j < l ? Math.fma(img[t + q + j], gq[go + q + j], acc[at + j]) : Math.fma(0f, 0f, acc[at + j]);
                }
            }
        }
    }

    /** The vector form of {@link #weightGradientDots}'s accumulation into the partial sums (GROUP > 0). */
    private static void weightGradientDotsVectors(int k, int og, int l, int lp, float[] img, int[] rows, float[] gq, float[] acc, int base,
                                                  int sink, int[] slots) {
        int groupsOfLanes = DOT_PARTIALS / Simd.LANES;
        for (int p0 = 0; p0 < k; p0 += DOT_TAPS) {
            for (int o0 = 0; o0 < og; o0 += DOT_CHANNELS) {
                for (int v = 0; v < groupsOfLanes; v++) {
                    for (int t = 0; t < DOT_TAPS; t++) {
                        for (int u = 0; u < DOT_CHANNELS; u++) {
                            int p = p0 + t;
                            int o = o0 + u;
                            slots[t * DOT_CHANNELS + u] = p < k && o < og ? base + (p * og + o) * DOT_PARTIALS + v * Simd.LANES : sink;
                        }
                    }
                    int q0 = v * Simd.LANES;
                    int whole = l >= q0 + Simd.LANES ? (l - q0 - Simd.LANES) / DOT_PARTIALS + 1 : 0; // vectors inside [0, l)
                    int t0 = rows[p0];
                    int t1 = rows[Math.min(p0 + 1, k - 1)];
                    int go0 = o0 * lp;
                    int go1 = Math.min(o0 + 1, og - 1) * lp;
                    int go2 = Math.min(o0 + 2, og - 1) * lp;
                    int go3 = Math.min(o0 + 3, og - 1) * lp;
                    if (DOT_TAPS == 4) {
                        dots4x4(img, t0, t1, rows[Math.min(p0 + 2, k - 1)], rows[Math.min(p0 + 3, k - 1)], gq, go0, go1, go2, go3,
                                q0, whole, acc, slots);
                    } else {
                        dots2x4(img, t0, t1, gq, go0, go1, go2, go3, q0, whole, acc, slots);
                    }
                    // the vectors that reach past l (masked: their lanes past l add 0 x 0), up to lp: as many per
                    // partial at every width
                    for (int q = q0 + whole * DOT_PARTIALS; q < lp; q += DOT_PARTIALS) {
                        VectorMask<Float> in = Simd.Preferred.F.indexInRange(q, l);
                        for (int t = 0; t < DOT_TAPS; t++) {
                            FloatVector x = FloatVector.fromArray(Simd.Preferred.F, img, rows[Math.min(p0 + t, k - 1)] + q, in);
                            for (int u = 0; u < DOT_CHANNELS; u++) {
                                int slot = slots[t * DOT_CHANNELS + u];
                                FloatVector y = FloatVector.fromArray(Simd.Preferred.F, gq, Math.min(o0 + u, og - 1) * lp + q, in);
                                x.fma(y, FloatVector.fromArray(Simd.Preferred.F, acc, slot)).intoArray(acc, slot);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * 4 taps x 4 output channels of {@link #weightGradientDots} over {@code whole} vectors at pixels
     * {@code q0 + 16 m}: 16 accumulators loaded from and stored back to their partial-sum slots.
     */
    private static void dots4x4(float[] img, int t0, int t1, int t2, int t3, float[] gq, int g0, int g1, int g2, int g3,
                                int q0, int whole, float[] acc, int[] slots) {
        VectorSpecies<Float> f = Simd.Preferred.F;
        FloatVector a00 = FloatVector.fromArray(f, acc, slots[0]), a01 = FloatVector.fromArray(f, acc, slots[1]);
        FloatVector a02 = FloatVector.fromArray(f, acc, slots[2]), a03 = FloatVector.fromArray(f, acc, slots[3]);
        FloatVector a10 = FloatVector.fromArray(f, acc, slots[4]), a11 = FloatVector.fromArray(f, acc, slots[5]);
        FloatVector a12 = FloatVector.fromArray(f, acc, slots[6]), a13 = FloatVector.fromArray(f, acc, slots[7]);
        FloatVector a20 = FloatVector.fromArray(f, acc, slots[8]), a21 = FloatVector.fromArray(f, acc, slots[9]);
        FloatVector a22 = FloatVector.fromArray(f, acc, slots[10]), a23 = FloatVector.fromArray(f, acc, slots[11]);
        FloatVector a30 = FloatVector.fromArray(f, acc, slots[12]), a31 = FloatVector.fromArray(f, acc, slots[13]);
        FloatVector a32 = FloatVector.fromArray(f, acc, slots[14]), a33 = FloatVector.fromArray(f, acc, slots[15]);
        for (int m = 0, q = q0; m < whole; m++, q += DOT_PARTIALS) {
            FloatVector y0 = FloatVector.fromArray(f, gq, g0 + q);
            FloatVector y1 = FloatVector.fromArray(f, gq, g1 + q);
            FloatVector y2 = FloatVector.fromArray(f, gq, g2 + q);
            FloatVector y3 = FloatVector.fromArray(f, gq, g3 + q);
            FloatVector x = FloatVector.fromArray(f, img, t0 + q);
            a00 = x.fma(y0, a00);
            a01 = x.fma(y1, a01);
            a02 = x.fma(y2, a02);
            a03 = x.fma(y3, a03);
            x = FloatVector.fromArray(f, img, t1 + q);
            a10 = x.fma(y0, a10);
            a11 = x.fma(y1, a11);
            a12 = x.fma(y2, a12);
            a13 = x.fma(y3, a13);
            x = FloatVector.fromArray(f, img, t2 + q);
            a20 = x.fma(y0, a20);
            a21 = x.fma(y1, a21);
            a22 = x.fma(y2, a22);
            a23 = x.fma(y3, a23);
            x = FloatVector.fromArray(f, img, t3 + q);
            a30 = x.fma(y0, a30);
            a31 = x.fma(y1, a31);
            a32 = x.fma(y2, a32);
            a33 = x.fma(y3, a33);
        }
        a00.intoArray(acc, slots[0]);
        a01.intoArray(acc, slots[1]);
        a02.intoArray(acc, slots[2]);
        a03.intoArray(acc, slots[3]);
        a10.intoArray(acc, slots[4]);
        a11.intoArray(acc, slots[5]);
        a12.intoArray(acc, slots[6]);
        a13.intoArray(acc, slots[7]);
        a20.intoArray(acc, slots[8]);
        a21.intoArray(acc, slots[9]);
        a22.intoArray(acc, slots[10]);
        a23.intoArray(acc, slots[11]);
        a30.intoArray(acc, slots[12]);
        a31.intoArray(acc, slots[13]);
        a32.intoArray(acc, slots[14]);
        a33.intoArray(acc, slots[15]);
    }

    /** {@link #dots4x4} with 2 taps: 8 accumulators, for 16 vector registers. */
    private static void dots2x4(float[] img, int t0, int t1, float[] gq, int g0, int g1, int g2, int g3,
                                int q0, int whole, float[] acc, int[] slots) {
        VectorSpecies<Float> f = Simd.Preferred.F;
        FloatVector a00 = FloatVector.fromArray(f, acc, slots[0]), a01 = FloatVector.fromArray(f, acc, slots[1]);
        FloatVector a02 = FloatVector.fromArray(f, acc, slots[2]), a03 = FloatVector.fromArray(f, acc, slots[3]);
        FloatVector a10 = FloatVector.fromArray(f, acc, slots[4]), a11 = FloatVector.fromArray(f, acc, slots[5]);
        FloatVector a12 = FloatVector.fromArray(f, acc, slots[6]), a13 = FloatVector.fromArray(f, acc, slots[7]);
        for (int m = 0, q = q0; m < whole; m++, q += DOT_PARTIALS) {
            FloatVector y0 = FloatVector.fromArray(f, gq, g0 + q);
            FloatVector y1 = FloatVector.fromArray(f, gq, g1 + q);
            FloatVector y2 = FloatVector.fromArray(f, gq, g2 + q);
            FloatVector y3 = FloatVector.fromArray(f, gq, g3 + q);
            FloatVector x = FloatVector.fromArray(f, img, t0 + q);
            a00 = x.fma(y0, a00);
            a01 = x.fma(y1, a01);
            a02 = x.fma(y2, a02);
            a03 = x.fma(y3, a03);
            x = FloatVector.fromArray(f, img, t1 + q);
            a10 = x.fma(y0, a10);
            a11 = x.fma(y1, a11);
            a12 = x.fma(y2, a12);
            a13 = x.fma(y3, a13);
        }
        a00.intoArray(acc, slots[0]);
        a01.intoArray(acc, slots[1]);
        a02.intoArray(acc, slots[2]);
        a03.intoArray(acc, slots[3]);
        a10.intoArray(acc, slots[4]);
        a11.intoArray(acc, slots[5]);
        a12.intoArray(acc, slots[6]);
        a13.intoArray(acc, slots[7]);
    }

    /**
     * One image's and group's share of a convolution's weight gradient, transposed:
     * {@code C[k, og] (+)= cols[k, l] gout^T[l, og]} ({@code C += } when {@code accumulate}). The columns are read
     * where they lie in the column-shifted planes (wherever {@link Im2col#shiftsFit} or {@link Im2col#stridedShiftsFit}: {@link Sgemm#gemmTapsAPackedB})
     * or unfolded row-major (the GEMM's A as it is: {@link Sgemm#gemmRowsAPackedB}, no packing) and the output gradient dealt into
     * B slivers ({@link Sgemm#packBFromRows}), so the product runs a register-tiled kernel with depth l, instead of
     * og x k dot products of length l (Zen 3, AVX2: ResNet-20's 16-channel layer at batch 128 went from 50 to
     * 35 ms). The rows come from {@code src}: when {@code rowsReady} it holds the row-major columns {@code [k, l]}
     * (kept by the forward pass, or a 1x1 convolution's image), else the image {@code [c, h, w]} to unfold.
     *
     * @param g   the convolution's geometry (must be {@link #staged})
     * @param buf this thread's buffers ({@link #threadBuffers} of {@code g})
     */
    public static void weightGradient(Im2col.Geometry g, int og, MemorySegment src, long srcOff, boolean rowsReady, MemorySegment gout, long gOff,
                                      MemorySegment c, long cOff, boolean accumulate, Buffers buf) {
        int k = g.rows();
        int l = g.cols();
        int rowsPadded = (k + Sgemm.MR - 1) / Sgemm.MR * Sgemm.MR;
        int aFloats = Math.addExact(Math.multiplyExact(rowsPadded, l), Im2col.HEAP_SLACK); // row-major columns, whole tiles of rows
        int bFloats = Sgemm.packedBFloats(l, og);
        int stage = bFloats;
        int bNeeded = Math.addExact(bFloats, Math.addExact(Math.multiplyExact(og, l), Im2col.HEAP_SLACK)); // the panel, then gout staged
        if (buf.gradientB.length < bNeeded) {
            buf.gradientB = new float[bNeeded];
        }
        float[] bp = buf.gradientB;
        MemorySegment.copy(gout, FLOAT, gOff << 2, bp, stage, og * l);
        Sgemm.packBFromRows(bp, stage, og, l, bp);
        if (!rowsReady && (Im2col.shiftsFit(g) || Im2col.stridedShiftsFit(g))) {
            // the rows of the columns read where they lie in the column-shifted planes (building them row-major was
            // ~12% of LeNet's training step); pad rows start where row 0 does, their results never stored. Wherever the
            // planes fit, not only where the forward product runs on them (shiftsInPlace, which weighs its pad columns):
            // here they are A's rows, kW copies of the padded rows against im2col's kH kW (ResNet-20's 32 x 32 layers:
            // 52 against 147 thousand floats an image), and at stride 2 each tap's rows are still one run over the
            // output pixels (plane (ch, j, i mod 2) from row i / 2). The same rows in the same order: the same bits
            if (buf.image.length < Im2col.shiftImageFloats(g)) { // imageFloats counts the planes only where shiftsInPlace holds
                buf.image = new float[Im2col.shiftImageFloats(g)];
            }
            Im2col.stageShifts(src, srcOff, g, buf.paddedSource(g), buf.image);
            int[] rows = buf.tapArray(rowsPadded);
            Im2col.shiftTapOffsets(g, rows);
            if (k < rowsPadded) {
                java.util.Arrays.fill(rows, k, rowsPadded, rows[0]);
            }
            rowsProduct(k, og, l, buf.image, rows, 0, bp, c, cOff, accumulate, buf);
            return;
        }
        if (buf.gradientA.length < aFloats) {
            buf.gradientA = new float[aFloats];
        }
        float[] a = buf.gradientA;
        if (rowsReady) {
            MemorySegment.copy(src, FLOAT, srcOff << 2, a, 0, k * l);
        } else {
            Im2col.stageImage(src, srcOff, g, buf.image);
            int taps = g.kH() * g.kW();
            boolean padded = Im2col.padsImage(g);
            for (int r = 0; r < k; r++) { // rows in order: a row's vector overrun lands in the next row, written after it
                Im2col.fillRow(buf.image, g, padded, r / taps, r % taps / g.kW(), r % g.kW(), a, r * l);
            }
        }
        if (k < rowsPadded) { // the last tile's pad rows are read by the kernel (and took the last row's overrun): zero
            java.util.Arrays.fill(a, k * l, rowsPadded * l, 0f);
        }
        rowsProduct(k, og, l, a, null, l, bp, c, cOff, accumulate, buf);
    }

    /**
     * The weight gradient's product {@code C[m, n] (+)= A B} ({@link Sgemm#gemmRowsAPackedBTiles}: A's rows at
     * {@code rows[i]}, or {@code lda} apart when rows is null) on this thread, or, with at least
     * {@link Sgemm#PARALLEL_MIN_FLOPS} multiply-adds outside a parallel part, split by row tiles across the pool's threads,
     * all reading the one A and B (each with its own tile). Where a batch's chunks are fewer than the threads
     * (PlanStep's weight gradient runs a single chunk of up to 8 images on the caller), an ImageNet-sized layer's
     * product (576 x 64 over 3,136 pixels) still takes every thread, as the blocked GEMM of kept columns did. Each
     * element is the same chain whoever computes it: the same bits for any thread count.
     */
    static void rowsProduct(int m, int n, int k, float[] a, int[] rows, int lda, float[] bp, MemorySegment c, long cOff, boolean accumulate,
                            Buffers buf) {
        int tiles = Sgemm.rowTiles(m);
        long work = (long) m * n * k;
        int parts = work >= Sgemm.PARALLEL_MIN_FLOPS ? Parallel.partsFor(tiles, 1) : 1;
        if (parts <= 1) {
            Sgemm.gemmRowsAPackedBTiles(m, n, k, a, rows, lda, bp, c, cOff, n, accumulate, buf.tile, 0, tiles);
            return;
        }
        SPLIT_PRODUCTS.incrementAndGet();
        RowsPartJob job = RowsPartJob.MINE.get();
        job.set(m, n, k, a, rows, lda, bp, c, cOff, accumulate, buf);
        try {
            Parallel.forRange(parts, tiles, job);
        } finally {
            job.release();
        }
    }

    /** The parallel body of {@link #rowsProduct}, one per calling thread, reused: a compiled step allocates nothing. */
    private static final class RowsPartJob implements Parallel.RangeBody {
        static final ThreadLocal<RowsPartJob> MINE = new ThreadLocal<>() {
            @Override
            protected RowsPartJob initialValue() {
                return new RowsPartJob();
            }
        };
        private int m;
        private int n;
        private int k;
        private float[] a;
        private int[] rows;
        private int lda;
        private float[] bp;
        private MemorySegment c;
        private long cOff;
        private boolean accumulate;
        private Buffers caller;

        void set(int m, int n, int k, float[] a, int[] rows, int lda, float[] bp, MemorySegment c, long cOff, boolean accumulate, Buffers caller) {
            this.m = m;
            this.n = n;
            this.k = k;
            this.a = a;
            this.rows = rows;
            this.lda = lda;
            this.bp = bp;
            this.c = c;
            this.cOff = cOff;
            this.accumulate = accumulate;
            this.caller = caller;
        }

        /** Drops the references (a thread's job must not keep a finished call's arrays and tensors alive). */
        void release() {
            set(0, 0, 0, null, null, 0, null, null, 0, false, null);
        }

        @Override
        public void accept(int part, int from, int to) {
            // only the tile is a part's own: A, its row offsets and B are the caller's, read by every part
            float[] tile = part == 0 ? caller.tile : LOCAL.get().tile;
            Sgemm.gemmRowsAPackedBTiles(m, n, k, a, rows, lda, bp, c, cOff, n, accumulate, tile, from, to);
        }
    }
}
