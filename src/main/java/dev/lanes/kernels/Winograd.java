package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.Preferred.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3 x 3, stride-1 convolution by Winograd's minimal filtering F(4 x 4, 3 x 3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016; the interpolation points 0, 1, -1, 2, -2 and infinity): each 4 x 4 block of
 * output is {@code A^T [(G g G^T) . (B^T d B)] A} for the 6 x 6 block of input d under it, 36 multiplications per input
 * channel and output channel instead of 144. Over all channels the 36 element-wise products of a block are 36
 * independent matrix products {@code M_xi[tiles, K] = V_xi[tiles, C] U_xi[C, K]}, run by this class's register-tile
 * kernels ({@link #products}) with U (the transformed weights) made once ({@link #transformWeights}).
 *
 * <p>Inference plans use it for layers with constant weights ({@link #applies}). Measured (AMD EPYC Zen 4, one thread,
 * ResNet-20's 3 x 3 layers at batch 1): 16 channels 32 x 32 47.5 -> 40-44 us, 32 channels 16 x 16 47.5 -> 22-27, 64
 * channels 8 x 8 48 -> 24-26 at 512 bits; 75 -> 51 and 61 -> 33 with AVX2; 140 -> 79 and 115 -> 52 at 128 bits. The
 * transforms (additions, mostly) and the channels-first / channels-last copies take what the 4x fewer multiplications
 * leave. The price is rounding: the transforms scale values by up to 8 before they are summed, so an output differs
 * from the exact convolution by up to ~3e-6 of the sum of |w x| over its window (WinogradTest bounds it at 6e-6), more
 * than the direct product's rounding; a plan's self-check (1e-4), ONNX's conformance tolerances and the exported
 * models' 1e-4 against PyTorch all hold. An infinite or NaN input reaches every output of the 4 x 4 blocks whose 6 x 6
 * input holds it, where the direct convolution reaches only its 3 x 3 neighbours. {@code -Dlanes.winograd=false}
 * keeps every convolution direct (the eager op's bits, and a shorter JIT warm-up: ResNet-20's cold start ~650 against
 * ~770 ms here). A plan whose self-check fails through these rounding errors falls back to the direct form
 * (PlanStep.dropApproximateForm).
 *
 * <p>Vectors run over channels (a staged copy of the input is channels-last), so every channel's transform is the same
 * sequence of operations at every vector width, and each product is one FMA chain in channel order: the bits do not
 * depend on the width (WinogradTest compares hashes from child JVMs at 256 and 128 bits). Tiles are taken in bands of
 * tile rows whose transformed inputs and products fit {@link #BAND_FLOATS}, so a large image never needs more than that.
 */
public final class Winograd {
    private static final int L = Simd.LANES;
    /** Output block side, input block side, and the element-wise products per block. */
    static final int OUT = 4;
    static final int IN = 6;
    static final int POSITIONS = IN * IN;
    /** Fewer channels than this in or out: the direct convolution (the transforms would cost more than they save). */
    public static final int MIN_CHANNELS = 16;
    /**
     * Floats of transformed input and products one band of tile rows may hold (192 KB; at least one tile row). 96 K
     * floats ran ResNet-20's 16-channel layers at 41-43 us against 38-39 (batch 1): the larger working set evicted the
     * next step's inputs from L2.
     */
    static final int BAND_FLOATS = 48 * 1024;
    /**
     * Off with -Dlanes.winograd.channelsLast=false: a plan's tensors between Winograd layers stay channels-first (the
     * same bits; for comparisons). See {@link #forward(Im2col.Geometry, Weights, MemorySegment, long, int, MemorySegment, long, UnaryOp,
     * MemorySegment, long, boolean, MemorySegment, long, boolean, boolean, Buffers)}.
     */
    public static final boolean CHANNELS_LAST = !"false".equals(System.getProperty("lanes.winograd.channelsLast"));
    /** Off with -Dlanes.winograd=false: every convolution direct (the bits of the eager op). */
    public static final boolean ENABLED = !"false".equals(System.getProperty("lanes.winograd"));
    /**
     * Off with -Dlanes.winograd.training=false (or with -Dlanes.winograd=false): a training plan (a compiled TrainStep)
     * computes its layers of {@link #applies} geometry directly, with the eager step's bits. On by default: a training
     * plan's forward convolution and its stride-1 input gradient (a convolution of the output's gradient with the
     * flipped weights) run this way, their weights transformed at every step ({@link #transformWeightsInto},
     * {@link #transformFlippedWeightsInto}); the weight gradient stays a direct product. Eager training keeps the direct
     * form, as eager inference does. Measured (AMD EPYC Zen 3, AVX2, one thread, 64 images, weights transformed every
     * call): 16 channels 32 x 32 1.65-1.72x, 32 channels 16 x 16 2.2x, 64 channels 8 x 8 1.45-2.0x the eager direct
     * convolution's speed.
     */
    public static final boolean TRAINING = ENABLED && !"false".equals(System.getProperty("lanes.winograd.training"));
    /**
     * Whether a plan lets a fused residual's layout differ from its convolution's output (the residual summed into the
     * channels-last products, {@link #forward}'s residualChannelsLast): a residual block's output then stays
     * channels-last through its stage instead of every block paying two transposes. At 8 and 16 lanes on x86, where the
     * channels-first residual is turned by 8 x 8 or 16 x 16 register transposes; elsewhere that turn is element by
     * element, so plans keep the residual in the output's layout there (the mixed forms stay correct at every width:
     * WinogradTest). At 16 lanes (Intel Xeon, SPR-class, `bench/plan-ab` against the plans without it, bit-equal):
     * ResNet-20 batch 1 0.951, 0.957, 0.984, 0.987x the time, batch 16 0.988, 0.955, 0.988x.
     */
    public static final boolean MIXED_RESIDUAL = (Sgemm.TRANSPOSE8 || (L == 16 && Simd.X86)) && !"false".equals(System.getProperty("lanes.winograd.mixedResidual"));

    private Winograd() {
    }

    /**
     * Whether a convolution of this geometry is computed this way: 3 x 3, stride 1, no dilation, one group, at least
     * {@link #MIN_CHANNELS} channels in and out, at least 4 x 4 outputs. Decided without the vector width.
     */
    public static boolean applies(Im2col.Geometry g, int groups, int outChannels) {
        return ENABLED && groups == 1 && g.pT() >= 0 && g.pL() >= 0 && g.kH() == 3 && g.kW() == 3 && g.sH() == 1 && g.sW() == 1 && g.dH() == 1 && g.dW() == 1
                && g.c() >= MIN_CHANNELS && outChannels >= MIN_CHANNELS && g.oH() >= OUT && g.oW() >= OUT
                && tileRowFloats(g, outChannels) <= MAX_TILE_ROW_FLOATS
                && (long) POSITIONS * (g.c() + 63) * (outChannels + 63) <= MAX_WEIGHT_FLOATS;
    }

    /**
     * Floats one tile row needs in a thread's buffers (transformed input and products, the staged input, the
     * products' and planes' rows), counted without padding so the choice does not depend on the vector width.
     */
    static long tileRowFloats(Im2col.Geometry g, int outChannels) {
        long tilesWide = (g.oW() + OUT - 1) / OUT;
        long c = g.c();
        long k = outChannels;
        return tilesWide * POSITIONS * (c + k) + c * (OUT + 2) * (g.w() + tilesWide * OUT + 2) + 2 * k * OUT * (tilesWide * OUT);
    }

    /**
     * Layers whose one tile row would need more stay direct (4 M floats, 16 MB a thread; a 1,024-pixel-wide image of 64
     * channels in and out needs 2.5 M, a 224-wide one 0.55 M): a hostile or huge geometry cannot make a thread keep more.
     */
    static final long MAX_TILE_ROW_FLOATS = 1L << 22;

    /** At most this many floats of transformed weights a layer (1 GB; 36 (C + 63) (K + 63): 2,667 channels in and out). */
    static final long MAX_WEIGHT_FLOATS = 1L << 28;

    /**
     * A layer's transformed weights: per position xi, {@code U_xi [C, K]} in column blocks of
     * {@link #columnsPerBlock} output channels, each block's rows back to back ({@code [kp / width][cPad][width]}, kp
     * = padded(K) with zeros past K, cPad = C rounded up to whole {@link #CHUNK}s with rows of zeros).
     */
    public static final class Weights {
        final int channels;
        final int outChannels;
        /** Position xi's panel from {@code xi * chunks(channels) * CHUNK * padded(outChannels)}. */
        final float[] u;
        /** The untransformed rows the *Into methods read through, kept for the next step's call (one thread at a time). */
        private float[] rows = new float[0];
        /** One 3 x 3 kernel turned by 180 degrees ({@link #transformFlippedWeightsInto}). */
        private final float[] flipped = new float[9];

        private Weights(int channels, int outChannels, float[] u) {
            this.channels = channels;
            this.outChannels = outChannels;
            this.u = u;
        }

        private float[] rows(int n) {
            if (rows.length < n) {
                rows = new float[n];
            }
            return rows;
        }
    }

    /** G of F(4, 3): the 6 x 3 weight transform. */
    private static final double[][] G = {
        {1 / 4.0, 0, 0},
        {-1 / 6.0, -1 / 6.0, -1 / 6.0},
        {-1 / 6.0, 1 / 6.0, -1 / 6.0},
        {1 / 24.0, 1 / 12.0, 1 / 6.0},
        {1 / 24.0, -1 / 12.0, 1 / 6.0},
        {0, 0, 1},
    };

    /**
     * {@code U = G g G^T} of every (output channel, input channel) pair of {@code w [K, C, 3, 3]} (element offset
     * {@code wOff}), in double and rounded once, dealt into 36 packed {@code [C, K]} panels.
     */
    public static Weights transformWeights(MemorySegment w, long wOff, int outChannels, int channels) {
        Weights u = weightsFor(outChannels, channels);
        transformWeightsInto(w, wOff, u);
        return u;
    }

    /**
     * Room for the transformed weights of a layer of {@code channels} in and {@code outChannels} out, zero (the
     * padding's rows and columns stay so), for {@link #transformWeightsInto} or {@link #transformFlippedWeightsInto}.
     */
    public static Weights weightsFor(int outChannels, int channels) {
        if (outChannels < 1 || channels < 1 || (long) POSITIONS * (channels + 63) * (outChannels + 63) > MAX_WEIGHT_FLOATS) {
            throw new IllegalArgumentException("Winograd: no transformed weights for " + channels + " channels in and " + outChannels + " out");
        }
        int panel = Math.multiplyExact(chunks(channels) * CHUNK, padded(outChannels)); // rows past c stay zero: whole chunks of channels
        return new Weights(channels, outChannels, new float[Math.multiplyExact(POSITIONS, panel)]);
    }

    /**
     * {@link #transformWeights} into {@code into} (its layer's shape): {@code w [K, C, 3, 3]} from element {@code wOff}.
     * Allocates nothing after the first call on {@code into} (a training plan transforms its weights at every step).
     */
    public static void transformWeightsInto(MemorySegment w, long wOff, Weights into) {
        int k = into.outChannels;
        int c = into.channels;
        int kp = padded(k);
        int cPad = chunks(c) * CHUNK;
        int panel = cPad * kp;
        int width = columnsPerBlock(kp);
        float[] g = into.rows(9 * c);
        for (int o = 0; o < k; o++) {
            MemorySegment.copy(w, FLOAT, (wOff + (long) o * c * 9) << 2, g, 0, 9 * c);
            for (int ci = 0; ci < c; ci++) {
                transformPair(g, ci * 9, into.u, panel, o / width * cPad * width + ci * width + o % width);
            }
        }
    }

    /**
     * The weights of a stride-1 convolution's input gradient, transformed into {@code into} (shaped by {@code
     * weightsFor(C, K)}): the input gradient of {@code y = conv(x, w)} with {@code w [K, C, 3, 3]} at element
     * {@code wOff} is the convolution of y's gradient with {@code w'[c, k] = w[k, c]} turned by 180 degrees (for a 3 x
     * 3 kernel in row-major order: its 9 taps reversed), padded by 2 - the forward's padding.
     */
    public static void transformFlippedWeightsInto(MemorySegment w, long wOff, Weights into) {
        int c = into.outChannels; // the gradient's channels: the forward's input channels
        int k = into.channels; // the forward's output channels
        int cp = padded(c);
        int kPad = chunks(k) * CHUNK;
        int panel = kPad * cp;
        int width = columnsPerBlock(cp);
        float[] g = into.rows(9 * c);
        float[] flipped = into.flipped;
        for (int o = 0; o < k; o++) {
            MemorySegment.copy(w, FLOAT, (wOff + (long) o * c * 9) << 2, g, 0, 9 * c);
            for (int ci = 0; ci < c; ci++) {
                for (int t = 0; t < 9; t++) {
                    flipped[t] = g[ci * 9 + 8 - t];
                }
                transformPair(flipped, 0, into.u, panel, ci / width * kPad * width + o * width + ci % width);
            }
        }
    }

    /** {@link #G} by rows, one array: the weight transform reads it ~27,000 times a ResNet-20 plan. */
    private static final double[] G_ROWS = {
        G[0][0], G[0][1], G[0][2], G[1][0], G[1][1], G[1][2], G[2][0], G[2][1], G[2][2],
        G[3][0], G[3][1], G[3][2], G[4][0], G[4][1], G[4][2], G[5][0], G[5][1], G[5][2],
    };

    /**
     * {@code U = G g G^T} of the 3 x 3 weights {@code g[at..at + 9)} into {@code u[xi panel + to]}: {@code t[i][j] =
     * G[i][0] g[0][j] + G[i][1] g[1][j] + G[i][2] g[2][j]}, then {@code U[i][j] = t[i][0] G[j][0] + t[i][1] G[j][1] +
     * t[i][2] G[j][2]}, each sum left to right in double. A method of its own: the JIT compiles it after a few of a
     * layer's thousands of pairs (ResNet-20's ~27,000 took ~15 ms of a cold start in the interpreter as one loop nest);
     * t's row in locals and G in one flat array, because with {@code double[][]} reads it still took ~8 ms compiled.
     */
    private static void transformPair(float[] g, int at, float[] u, int panel, int to) {
        double g00 = g[at];
        double g01 = g[at + 1];
        double g02 = g[at + 2];
        double g10 = g[at + 3];
        double g11 = g[at + 4];
        double g12 = g[at + 5];
        double g20 = g[at + 6];
        double g21 = g[at + 7];
        double g22 = g[at + 8];
        for (int i = 0; i < IN; i++) {
            double a = G_ROWS[3 * i];
            double b = G_ROWS[3 * i + 1];
            double c = G_ROWS[3 * i + 2];
            double t0 = a * g00 + b * g10 + c * g20;
            double t1 = a * g01 + b * g11 + c * g21;
            double t2 = a * g02 + b * g12 + c * g22;
            for (int j = 0; j < IN; j++) {
                u[(i * IN + j) * panel + to] = (float) (t0 * G_ROWS[3 * j] + t1 * G_ROWS[3 * j + 1] + t2 * G_ROWS[3 * j + 2]);
            }
        }
    }

    /**
     * Output channels of one column block of a weight panel: the products read a block's rows {@code width} floats
     * apart, a constant, so C2 proves the weight loads in bounds once per loop instead of at every step (with rows of
     * kp floats, a stride in a variable, it checked every load, and spilled). 1 vector for the 12 x 1 blocks, 2 for
     * the others (see {@link #products}).
     */
    static int columnsPerBlock(int kp) {
        return (kp / L) % 2 != 0 ? L : 2 * L;
    }

    /** Chunks of {@link #CHUNK} channels in the transformed input. */
    private static int chunks(int channels) {
        return (channels + CHUNK - 1) / CHUNK;
    }

    /** Output channels rounded up to whole vectors: the stride of a product row (kp). */
    private static int padded(int channels) {
        return (channels + L - 1) / L * L;
    }

    /**
     * Tile rows a band of one image holds where images do not share bands ({@link #imagesPerBand} 1, the block-by-block
     * path of {@link #forwardVector}): as many as the staged rows and the products' rows allow within {@link
     * #ONE_IMAGE_BAND_FLOATS}, at least {@link #bandRows}. There V and M are a block's, not the band's, so only the
     * staging limits a band; and the blocks of tiles are cut band by band, so a band of one tile row of 14 tiles ran
     * 18 tiles' work (6 + 6 + 4 with 2 pad rows). Measured (AMD EPYC Zen 3, AVX2, eight 64-channel 56 x 56 layers, batch
     * 1, alternated JVMs): 9.56 -> 8.70 and 9.12 -> 8.59 ms; ResNet-20 even. The same tiles and blocks' sums, so the same
     * bits.
     */
    static int oneImageBandRows(Im2col.Geometry g, int outChannels) {
        int rows = bandRows(g, outChannels);
        int tileRows = (g.oH() + OUT - 1) / OUT;
        if (rows >= tileRows) {
            return rows;
        }
        int tilesWide = (g.oW() + OUT - 1) / OUT;
        long perRow = (long) OUT * (tilesWide * OUT + 2) * Math.max(chunks(g.c()) * CHUNK, padded(outChannels));
        long fit = (ONE_IMAGE_BAND_FLOATS - 2L * (tilesWide * OUT + 2) * chunks(g.c()) * CHUNK) / perRow;
        return (int) Math.max(rows, Math.min(tileRows, fit));
    }

    /** Floats of staged rows (and of the products' rows) a one-image band may hold: 1 MB each, per thread. */
    static final int ONE_IMAGE_BAND_FLOATS = 256 * 1024;

    /** Tile rows per band: as many as fit {@link #BAND_FLOATS}, at least one. */
    static int bandRows(Im2col.Geometry g, int outChannels) {
        int tilesWide = (g.oW() + OUT - 1) / OUT;
        long perRow = (long) tilesWide * POSITIONS * (chunks(g.c()) * CHUNK + padded(outChannels));
        int tileRows = (g.oH() + OUT - 1) / OUT;
        return (int) Math.max(1, Math.min(tileRows, BAND_FLOATS / perRow));
    }

    /**
     * Channels per chunk of the transformed input V: within a chunk, tile rows are CHUNK floats apart, a constant, so
     * a products block addresses all its tile rows from one register with fixed displacements (with a row stride held
     * in a variable, C2 kept each row's offset in a general register and spilled blocks of 12 rows).
     */
    static final int CHUNK = Math.max(16, L);

    /**
     * {@code M[t][xi][0..kp) = sum over ch < cp of V[t][xi][ch] u[xi][ch][..]} for every position xi and tile t (the
     * last block may run up to 3 pad rows, inside the buffers' rows padded to 12: pad rows are computed from whatever
     * their V rows hold and never read). V is laid out {@code [chunk][tile][xi][CHUNK]} ({@link #TILE_V} floats a tile,
     * {@code chunkStride} a chunk of channels) and M {@code [tile][kp / L][xi][L]} ({@code 36 kp} floats a tile): a
     * tile's transforms then read or write its 36 positions at fixed distances from one index, where the former
     * position-major layouts ({@code [xi][chunk][tile][CHUNK]}, {@code [xi][tile][kp]}) put a position a variable stride
     * apart, and C2 spent more instructions on those 36 addresses and their range checks (and spilled them) than on the
     * transform's arithmetic. Measured (AMD EPYC Zen 3, AVX2, ResNet-20's ONNX plan at batch 1, 3 alternated JVMs): 0.94-0.96x
     * the time, the same bits. cp is whole chunks, so the inner loop's trip count is the constant CHUNK (C2 unrolls it; a variable last
     * chunk cost 8% more). Each product is one FMA chain in channel order from zero, whatever the block shape or the
     * vector width: the same bits everywhere. The pad channels past c add 0 x 0 (staged zeros, zero weight rows),
     * which leaves a sum's bits as they are, but for a sum of -0 (products that underflow to -0), which becomes +0;
     * the bias is added after the products, which turns such a sum into the bias, +0 for a bias of +0.
     *
     * <p>Block shapes: 12 tiles x 1 vector of output channels (12 accumulators, a weight vector and a broadcast fit
     * 16 registers) when the output channels are an odd number of vectors; otherwise 4 x 2 (8 independent FMA chains
     * keep two FMA units busy, and a band of 4 tiles, ResNet-20's 8 x 8 layers at batch 1, wastes no row), or 6 x 2
     * with 16 registers (AVX2: 16 channels 32 x 32 54 against 56-62 us with 4 x 2). With 32 registers, 8 x 2 (16
     * accumulators; 2 weight loads and 8 broadcasts for 16 FMAs against 6 for 8), the tiles past whole blocks of 8 in
     * 4 x 2: ResNet-20 at batch 64 (Xeon, AVX-512, 3 alternated runs, against the 16-channel layers' time, which did
     * not change) the 32-channel layers 8% and the 64-channel ones 11% faster, at batch 1 the 32-channel ones 5%. (12 x
     * 2 before the tails existed ran no faster than 4 x 2, its pad rows wasted: Xeon, 32 channels 16 x 16, batch 8,
     * 207-214 against 176-179 us.) Positions are the outer loop, so one position's weight panel stays in L1 while every block of
     * tiles reads it. Measured on a Xeon (AVX-512, 2 FMA units) against the former 6 x 1 and 4 x 2 blocks with a
     * register per tile row and the positions inner, one layer's products alone, batch 1: 16 channels 32 x 32
     * 16.2 -> 12.4 us, 32 x 16 x 16 14.0 -> 13.0, 64 x 8 x 8 14.0 -> 12.6; ResNet-20's whole plan, batch 1, two
     * alternated runs: 710-716 -> 656-695 us (512 bits), 900-966 -> 820-842 (AVX2), 1,223-1,282 -> 1,133-1,182 (128
     * bits); batch 64 44.6 -> 42.7 ms. The tiles past the last whole 12- or 6-tile block take 4-tile blocks (4 x 1, 4 x
     * 2), unless one more large block wastes fewer rows: at most 3 pad rows a call.
     */
    private static void products(int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        if ((kp / L) % 2 != 0) {
            // 12-tile blocks, the last few tiles in 4-tile blocks: a 32 x 32 layer's bands of 40 tiles ran 48 before
            int twelves = largeBlockTiles(tiles, 12);
            rows12x1(0, twelves, cp, kp, v, chunkStride, u, uStride, m);
            rows4x1(twelves, tiles, cp, kp, v, chunkStride, u, uStride, m);
        } else if (Simd.VECTOR_REGISTERS >= 32) {
            int eights = largeBlockTiles(tiles, 8);
            rows8x2(0, eights, cp, kp, v, chunkStride, u, uStride, m);
            rows4x2(eights, tiles, cp, kp, v, chunkStride, u, uStride, m);
        } else if (tiles <= 4) {
            rows4x2(0, tiles, cp, kp, v, chunkStride, u, uStride, m);
        } else {
            // likewise 6-tile blocks, then 4: two 8 x 8 images a band (8 tiles) ran 12 before
            int sixes = largeBlockTiles(tiles, 6);
            rows6x2(0, sixes, cp, kp, v, chunkStride, u, uStride, m);
            rows4x2(sixes, tiles, cp, kp, v, chunkStride, u, uStride, m);
        }
    }

    /**
     * The tiles of {@code tiles} that blocks of {@code step} (12, 8 or 6) take, the rest going to 4-tile blocks: one more
     * large block where it leaves fewer pad rows than the 4-tile blocks would (more than 8 of 12, or 4 of 8 or 6, left
     * over), so at most 3 pad rows a call. The one rule of {@link #products} and the block-by-block path.
     */
    static int largeBlockTiles(int tiles, int step) {
        return tiles % step > (step == 12 ? 8 : 4) ? (tiles + step - 1) / step * step : tiles / step * step;
    }

    /** Tiles a register block of {@link #products} takes for kp output channels: 12, 8 (32 registers) or 6. */
    static int blockTiles(int kp) {
        return (kp / L) % 2 != 0 ? 12 : Simd.VECTOR_REGISTERS >= 32 ? 8 : 6;
    }

    /**
     * {@link #products} of one block of {@code tiles} tiles from tile 0 of v and m: {@link #blockTiles} of them, or 4
     * (the tail blocks), with the same kernels, so the same bits.
     */
    private static void productsBlock(int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        boolean odd = (kp / L) % 2 != 0;
        if (tiles == 4) {
            if (odd) {
                rows4x1(0, 4, cp, kp, v, chunkStride, u, uStride, m);
            } else {
                rows4x2(0, 4, cp, kp, v, chunkStride, u, uStride, m);
            }
        } else if (odd) {
            rows12x1(0, tiles, cp, kp, v, chunkStride, u, uStride, m);
        } else if (Simd.VECTOR_REGISTERS >= 32) {
            rows8x2(0, tiles, cp, kp, v, chunkStride, u, uStride, m);
        } else {
            rows6x2(0, tiles, cp, kp, v, chunkStride, u, uStride, m);
        }
    }

    /** Blocks of 12 tiles x 1 vector of output channels, tiles [t0, tiles) (see {@link #products}). */
    private static void rows12x1(int t0, int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        int tileM = POSITIONS * kp;
        for (int xi = 0; xi < POSITIONS && t0 < tiles; xi++) {
            for (int t = t0; t < tiles; t += 12) {
                for (int o = 0; o < kp; o += L) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z, c8 = z, c9 = z, c10 = z, c11 = z;
                    for (int ch0 = 0, chunk = t * TILE_V + xi * CHUNK; ch0 < cp; ch0 += CHUNK, chunk += chunkStride) {
                        for (int j = 0, r = chunk, b = xi * uStride + o * cp + ch0 * L; j < CHUNK; j++, r++, b += L) {
                            FloatVector w = FloatVector.fromArray(F, u, b);
                            c0 = FloatVector.broadcast(F, v[r]).fma(w, c0);
                            c1 = FloatVector.broadcast(F, v[r + TILE_V]).fma(w, c1);
                            c2 = FloatVector.broadcast(F, v[r + 2 * TILE_V]).fma(w, c2);
                            c3 = FloatVector.broadcast(F, v[r + 3 * TILE_V]).fma(w, c3);
                            c4 = FloatVector.broadcast(F, v[r + 4 * TILE_V]).fma(w, c4);
                            c5 = FloatVector.broadcast(F, v[r + 5 * TILE_V]).fma(w, c5);
                            c6 = FloatVector.broadcast(F, v[r + 6 * TILE_V]).fma(w, c6);
                            c7 = FloatVector.broadcast(F, v[r + 7 * TILE_V]).fma(w, c7);
                            c8 = FloatVector.broadcast(F, v[r + 8 * TILE_V]).fma(w, c8);
                            c9 = FloatVector.broadcast(F, v[r + 9 * TILE_V]).fma(w, c9);
                            c10 = FloatVector.broadcast(F, v[r + 10 * TILE_V]).fma(w, c10);
                            c11 = FloatVector.broadcast(F, v[r + 11 * TILE_V]).fma(w, c11);
                        }
                    }
                    int at = t * tileM + o * POSITIONS + xi * L;
                    c0.intoArray(m, at);
                    c1.intoArray(m, at + tileM);
                    c2.intoArray(m, at + 2 * tileM);
                    c3.intoArray(m, at + 3 * tileM);
                    c4.intoArray(m, at + 4 * tileM);
                    c5.intoArray(m, at + 5 * tileM);
                    c6.intoArray(m, at + 6 * tileM);
                    c7.intoArray(m, at + 7 * tileM);
                    c8.intoArray(m, at + 8 * tileM);
                    c9.intoArray(m, at + 9 * tileM);
                    c10.intoArray(m, at + 10 * tileM);
                    c11.intoArray(m, at + 11 * tileM);
                }
            }
        }
    }

    /** Blocks of 4 tiles x 1 vector of output channels from tile t0: the tiles past the 12-tile blocks (see {@link #products}). */
    private static void rows4x1(int t0, int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        int tileM = POSITIONS * kp;
        for (int xi = 0; xi < POSITIONS && t0 < tiles; xi++) {
            for (int t = t0; t < tiles; t += 4) {
                for (int o = 0; o < kp; o += L) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector c0 = z, c1 = z, c2 = z, c3 = z;
                    for (int ch0 = 0, chunk = t * TILE_V + xi * CHUNK; ch0 < cp; ch0 += CHUNK, chunk += chunkStride) {
                        for (int j = 0, r = chunk, b = xi * uStride + o * cp + ch0 * L; j < CHUNK; j++, r++, b += L) {
                            FloatVector w = FloatVector.fromArray(F, u, b);
                            c0 = FloatVector.broadcast(F, v[r]).fma(w, c0);
                            c1 = FloatVector.broadcast(F, v[r + TILE_V]).fma(w, c1);
                            c2 = FloatVector.broadcast(F, v[r + 2 * TILE_V]).fma(w, c2);
                            c3 = FloatVector.broadcast(F, v[r + 3 * TILE_V]).fma(w, c3);
                        }
                    }
                    int at = t * tileM + o * POSITIONS + xi * L;
                    c0.intoArray(m, at);
                    c1.intoArray(m, at + tileM);
                    c2.intoArray(m, at + 2 * tileM);
                    c3.intoArray(m, at + 3 * tileM);
                }
            }
        }
    }

    /** Blocks of 6 tiles x 2 vectors of output channels, tiles [t0, tiles) (see {@link #products}; 16 registers). */
    private static void rows6x2(int t0, int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        int tileM = POSITIONS * kp;
        for (int xi = 0; xi < POSITIONS && t0 < tiles; xi++) {
            for (int t = t0; t < tiles; t += 6) {
                for (int o = 0; o < kp; o += 2 * L) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z;
                    FloatVector c01 = z, c11 = z, c21 = z, c31 = z, c41 = z, c51 = z;
                    for (int ch0 = 0, chunk = t * TILE_V + xi * CHUNK; ch0 < cp; ch0 += CHUNK, chunk += chunkStride) {
                        for (int j = 0, r = chunk, b = xi * uStride + o * cp + ch0 * 2 * L; j < CHUNK; j++, r++, b += 2 * L) {
                            FloatVector w0 = FloatVector.fromArray(F, u, b);
                            FloatVector w1 = FloatVector.fromArray(F, u, b + L);
                            FloatVector x = FloatVector.broadcast(F, v[r]);
                            c00 = x.fma(w0, c00);
                            c01 = x.fma(w1, c01);
                            x = FloatVector.broadcast(F, v[r + TILE_V]);
                            c10 = x.fma(w0, c10);
                            c11 = x.fma(w1, c11);
                            x = FloatVector.broadcast(F, v[r + 2 * TILE_V]);
                            c20 = x.fma(w0, c20);
                            c21 = x.fma(w1, c21);
                            x = FloatVector.broadcast(F, v[r + 3 * TILE_V]);
                            c30 = x.fma(w0, c30);
                            c31 = x.fma(w1, c31);
                            x = FloatVector.broadcast(F, v[r + 4 * TILE_V]);
                            c40 = x.fma(w0, c40);
                            c41 = x.fma(w1, c41);
                            x = FloatVector.broadcast(F, v[r + 5 * TILE_V]);
                            c50 = x.fma(w0, c50);
                            c51 = x.fma(w1, c51);
                        }
                    }
                    int at = t * tileM + o * POSITIONS + xi * L;
                    c00.intoArray(m, at);
                    c01.intoArray(m, at + POSITIONS * L);
                    c10.intoArray(m, at + tileM);
                    c11.intoArray(m, at + tileM + POSITIONS * L);
                    c20.intoArray(m, at + 2 * tileM);
                    c21.intoArray(m, at + 2 * tileM + POSITIONS * L);
                    c30.intoArray(m, at + 3 * tileM);
                    c31.intoArray(m, at + 3 * tileM + POSITIONS * L);
                    c40.intoArray(m, at + 4 * tileM);
                    c41.intoArray(m, at + 4 * tileM + POSITIONS * L);
                    c50.intoArray(m, at + 5 * tileM);
                    c51.intoArray(m, at + 5 * tileM + POSITIONS * L);
                }
            }
        }
    }

    /** Blocks of 8 tiles x 2 vectors of output channels, tiles [t0, tiles) (see {@link #products}; 32 registers). */
    private static void rows8x2(int t0, int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        int tileM = POSITIONS * kp;
        for (int xi = 0; xi < POSITIONS && t0 < tiles; xi++) {
            for (int t = t0; t < tiles; t += 8) {
                for (int o = 0; o < kp; o += 2 * L) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z, c60 = z, c70 = z;
                    FloatVector c01 = z, c11 = z, c21 = z, c31 = z, c41 = z, c51 = z, c61 = z, c71 = z;
                    for (int ch0 = 0, chunk = t * TILE_V + xi * CHUNK; ch0 < cp; ch0 += CHUNK, chunk += chunkStride) {
                        for (int j = 0, r = chunk, b = xi * uStride + o * cp + ch0 * 2 * L; j < CHUNK; j++, r++, b += 2 * L) {
                            FloatVector w0 = FloatVector.fromArray(F, u, b);
                            FloatVector w1 = FloatVector.fromArray(F, u, b + L);
                            FloatVector x = FloatVector.broadcast(F, v[r]);
                            c00 = x.fma(w0, c00);
                            c01 = x.fma(w1, c01);
                            x = FloatVector.broadcast(F, v[r + TILE_V]);
                            c10 = x.fma(w0, c10);
                            c11 = x.fma(w1, c11);
                            x = FloatVector.broadcast(F, v[r + 2 * TILE_V]);
                            c20 = x.fma(w0, c20);
                            c21 = x.fma(w1, c21);
                            x = FloatVector.broadcast(F, v[r + 3 * TILE_V]);
                            c30 = x.fma(w0, c30);
                            c31 = x.fma(w1, c31);
                            x = FloatVector.broadcast(F, v[r + 4 * TILE_V]);
                            c40 = x.fma(w0, c40);
                            c41 = x.fma(w1, c41);
                            x = FloatVector.broadcast(F, v[r + 5 * TILE_V]);
                            c50 = x.fma(w0, c50);
                            c51 = x.fma(w1, c51);
                            x = FloatVector.broadcast(F, v[r + 6 * TILE_V]);
                            c60 = x.fma(w0, c60);
                            c61 = x.fma(w1, c61);
                            x = FloatVector.broadcast(F, v[r + 7 * TILE_V]);
                            c70 = x.fma(w0, c70);
                            c71 = x.fma(w1, c71);
                        }
                    }
                    int at = t * tileM + o * POSITIONS + xi * L;
                    c00.intoArray(m, at);
                    c01.intoArray(m, at + POSITIONS * L);
                    c10.intoArray(m, at + tileM);
                    c11.intoArray(m, at + tileM + POSITIONS * L);
                    c20.intoArray(m, at + 2 * tileM);
                    c21.intoArray(m, at + 2 * tileM + POSITIONS * L);
                    c30.intoArray(m, at + 3 * tileM);
                    c31.intoArray(m, at + 3 * tileM + POSITIONS * L);
                    c40.intoArray(m, at + 4 * tileM);
                    c41.intoArray(m, at + 4 * tileM + POSITIONS * L);
                    c50.intoArray(m, at + 5 * tileM);
                    c51.intoArray(m, at + 5 * tileM + POSITIONS * L);
                    c60.intoArray(m, at + 6 * tileM);
                    c61.intoArray(m, at + 6 * tileM + POSITIONS * L);
                    c70.intoArray(m, at + 7 * tileM);
                    c71.intoArray(m, at + 7 * tileM + POSITIONS * L);
                }
            }
        }
    }

    /** Blocks of 4 tiles x 2 vectors of output channels, tiles [t0, tiles) (see {@link #products}: tails, short bands). */
    private static void rows4x2(int t0, int tiles, int cp, int kp, float[] v, int chunkStride, float[] u, int uStride, float[] m) {
        int tileM = POSITIONS * kp;
        for (int xi = 0; xi < POSITIONS && t0 < tiles; xi++) {
            for (int t = t0; t < tiles; t += 4) {
                for (int o = 0; o < kp; o += 2 * L) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector c00 = z, c10 = z, c20 = z, c30 = z;
                    FloatVector c01 = z, c11 = z, c21 = z, c31 = z;
                    for (int ch0 = 0, chunk = t * TILE_V + xi * CHUNK; ch0 < cp; ch0 += CHUNK, chunk += chunkStride) {
                        for (int j = 0, r = chunk, b = xi * uStride + o * cp + ch0 * 2 * L; j < CHUNK; j++, r++, b += 2 * L) {
                            FloatVector w0 = FloatVector.fromArray(F, u, b);
                            FloatVector w1 = FloatVector.fromArray(F, u, b + L);
                            FloatVector x = FloatVector.broadcast(F, v[r]);
                            c00 = x.fma(w0, c00);
                            c01 = x.fma(w1, c01);
                            x = FloatVector.broadcast(F, v[r + TILE_V]);
                            c10 = x.fma(w0, c10);
                            c11 = x.fma(w1, c11);
                            x = FloatVector.broadcast(F, v[r + 2 * TILE_V]);
                            c20 = x.fma(w0, c20);
                            c21 = x.fma(w1, c21);
                            x = FloatVector.broadcast(F, v[r + 3 * TILE_V]);
                            c30 = x.fma(w0, c30);
                            c31 = x.fma(w1, c31);
                        }
                    }
                    int at = t * tileM + o * POSITIONS + xi * L;
                    c00.intoArray(m, at);
                    c01.intoArray(m, at + POSITIONS * L);
                    c10.intoArray(m, at + tileM);
                    c11.intoArray(m, at + tileM + POSITIONS * L);
                    c20.intoArray(m, at + 2 * tileM);
                    c21.intoArray(m, at + 2 * tileM + POSITIONS * L);
                    c30.intoArray(m, at + 3 * tileM);
                    c31.intoArray(m, at + 3 * tileM + POSITIONS * L);
                }
            }
        }
    }

    /** Floats of one tile's transformed input per chunk of channels: its 36 positions back to back (see {@link #products}). */
    static final int TILE_V = POSITIONS * CHUNK;

    /** Tiles the transformed input and the products hold: a band's tiles, padded to whole blocks. */
    static int positionTiles(Im2col.Geometry g, int outChannels) {
        int tiles = imagesPerBand(g, outChannels) * bandRows(g, outChannels) * ((g.oW() + OUT - 1) / OUT);
        return (tiles + 11) / 12 * 12; // the products run whole blocks of 12, 8, 6 or 4 tiles, never past this
    }

    /** Images one band holds: as many as fit {@link #BAND_FLOATS} when a whole image does, else 1 (bands of tile rows). */
    static int imagesPerBand(Im2col.Geometry g, int outChannels) {
        int tilesWide = (g.oW() + OUT - 1) / OUT;
        int tileRows = (g.oH() + OUT - 1) / OUT;
        if (bandRows(g, outChannels) < tileRows) {
            return 1;
        }
        long perImage = (long) tileRows * tilesWide * POSITIONS * (chunks(g.c()) * CHUNK + padded(outChannels));
        return (int) Math.max(1, Math.min(MAX_IMAGES_PER_BAND, BAND_FLOATS / perImage));
    }

    /** At most this many images a band (a bound on the heap a thread keeps, whatever the batch). */
    static final int MAX_IMAGES_PER_BAND = 64;

    /** One thread's working arrays, grown to the largest layer it has run and kept. */
    public static final class Buffers {
        /** The band's input rows, channels-first, for the element-by-element copies (the 16 x 16 blocks read the input). */
        private float[] image = new float[0];
        private float[] staged = new float[0];
        /**
         * The layout whose padding {@link #staged} holds zeroed ({@link #zeroPadding}'s rows, first and last image row
         * from the band's top, row floats, left and right; then 1 while valid): every staging writes only inside its
         * own layout's image rows and columns, so a band staged with the same layout as the last one (a plan's
         * consecutive layers of one shape, a batch's images) skips the zeroing. ResNet-20's 16-channel layer zeroed
         * 66 runs a call.
         */
        private final int[] zeroedPadding = new int[7];
        /** Transformed input and products, tile by tile ({@link #positionTiles} tiles, {@link #products}' layouts). */
        private float[] v = new float[0];
        private float[] m = new float[0];
        private float[] products = new float[0];
        private float[] planes = new float[0];
        private float[] bias = new float[0];
        private final float[] scratch = new float[POSITIONS * L];

        /** Empty arrays: grown by the first layer that uses them. */
        public Buffers() {
        }

        /** These buffers, grown for the layer (allocates only to grow). */
        public Buffers ensure(Im2col.Geometry g, int outChannels) {
            int cp = chunks(g.c()) * CHUNK;
            int kp = padded(outChannels);
            int rows = oneImageBandRows(g, outChannels); // at least bandRows
            int tilesWide = (g.oW() + OUT - 1) / OUT;
            int tileRowsPadded = positionTiles(g, outChannels);
            int stagedWidth = tilesWide * OUT + 2;
            image = grow(image, Math.multiplyExact(g.c(), Math.multiplyExact(rows * OUT + 2, g.w())));
            float[] was = staged;
            staged = grow(staged, Math.multiplyExact(Math.multiplyExact(rows * OUT + 2, stagedWidth), cp));
            if (staged != was) {
                zeroedPadding[6] = 0; // a new array: no layout's padding recorded yet
            }
            v = grow(v, Math.multiplyExact(POSITIONS, Math.multiplyExact(tileRowsPadded, cp)));
            m = grow(m, Math.multiplyExact(POSITIONS, Math.multiplyExact(tileRowsPadded, kp)));
            products = grow(products, Math.multiplyExact(Math.multiplyExact(rows * OUT, tilesWide * OUT), kp));
            planes = grow(planes, Math.multiplyExact(outChannels, Math.multiplyExact(rows * OUT, g.oW())));
            bias = grow(bias, kp);
            return this;
        }

        private static float[] grow(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }
    }

    private static final ThreadLocal<Buffers> LOCAL = new ThreadLocal<>() {
        @Override
        protected Buffers initialValue() {
            return new Buffers();
        }
    };

    /** This thread's buffers, grown for the layer. */
    public static Buffers threadBuffers(Im2col.Geometry g, int outChannels) {
        return LOCAL.get().ensure(g, outChannels);
    }

    /**
     * {@code out [K, oH, oW] = conv(x [C, H, W], w) + bias}, then {@code activation}, for {@code images} consecutive
     * images (element offsets; {@code bias} null for none). {@code u} from {@link #transformWeights}; {@code b} from
     * {@link #threadBuffers}. Images small enough share a band ({@link #imagesPerBand}): their tiles are the rows of
     * one set of products (ResNet-20's 8 x 8 layers have 4 tiles an image, which alone fill two thirds of a block).
     */
    public static void forward(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                               UnaryOp activation, MemorySegment out, long outOff, Buffers b) {
        forward(g, u, x, xOff, images, bias, biasOff, activation, null, 0, false, out, outOff, b);
    }

    /**
     * {@link #forward} then {@code out += residual} (same shape, element offset {@code residualOff}) and ReLU when
     * {@code residualRelu}: a residual block's sum fused into the copy out of the staging (activation must then be
     * IDENTITY). Element for element {@code relu(conv + residual)}: the bits of the unfused ADD_RELU on this result.
     */
    public static void forward(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                               UnaryOp activation, MemorySegment residual, long residualOff, boolean residualRelu, MemorySegment out, long outOff,
                               Buffers b) {
        forward(g, u, x, xOff, images, bias, biasOff, activation, residual, residualOff, residualRelu, out, outOff, false, false, b);
    }

    /**
     * {@link #forward} with either side channels-last: {@code x} as {@code [images, H, W, C]} when {@code inChannelsLast},
     * {@code out} and the residual as {@code [images, oH, oW, K]} when {@code outChannelsLast} (else channels-first, as
     * above). The staging is channels-last already, so a channels-last side skips its transposes (a plan keeps the
     * tensors between two Winograd layers this way: InferencePlan.chooseChannelsLast); the arithmetic is the same, and
     * so are the bits, element for element.
     */
    public static void forward(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                               UnaryOp activation, MemorySegment residual, long residualOff, boolean residualRelu, MemorySegment out, long outOff,
                               boolean inChannelsLast, boolean outChannelsLast, Buffers b) {
        forward(g, u, x, xOff, images, bias, biasOff, activation, 0f, 0f, residual, residualOff, residualRelu, out, outOff, inChannelsLast,
                outChannelsLast, b);
    }

    /** {@link #forward} with an activation of parameters {@code actP}, {@code actQ} (leaky_relu's slope, hardtanh's bounds, ...). */
    public static void forward(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                               UnaryOp activation, float actP, float actQ, MemorySegment residual, long residualOff, boolean residualRelu,
                               MemorySegment out, long outOff, boolean inChannelsLast, boolean outChannelsLast, Buffers b) {
        forward(g, u, x, xOff, images, bias, biasOff, activation, actP, actQ, residual, residualOff, residualRelu, outChannelsLast, out, outOff,
                inChannelsLast, outChannelsLast, b);
    }

    /**
     * {@link #forward} with the residual in a layout of its own: {@code [images, oH, oW, K]} when
     * {@code residualChannelsLast}, else channels-first, whatever the output's. A residual block's output can then stay
     * channels-last although its stage began with a channels-first tensor (InferencePlan.chooseChannelsLast): the sum
     * is added to the channels-last products before they are copied out or transposed, the same additions, the same
     * bits.
     */
    public static void forward(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                               UnaryOp activation, float actP, float actQ, MemorySegment residual, long residualOff, boolean residualRelu,
                               boolean residualChannelsLast, MemorySegment out, long outOff, boolean inChannelsLast, boolean outChannelsLast, Buffers b) {
        if (residual != null && activation != UnaryOp.IDENTITY) {
            throw new IllegalArgumentException("Winograd: a residual sum follows the convolution, not its activation " + activation);
        }
        int c = g.c();
        int k = u.outChannels;
        if (c != u.channels) {
            throw new IllegalArgumentException("Winograd: weights for " + u.channels + " input channels, geometry has " + c);
        }
        if ((ColdStart.winogradImages > 0 || !ColdStart.WINOGRAD.settled) && (long) c * g.h() * g.w() <= COLD_MAX_FLOATS && (long) k * g.oH() * g.oW() <= COLD_MAX_FLOATS) {
            // a young process: the scalar form, the same bits, until the vector form is compiled (see ColdStart)
            boolean scalar = ColdStart.winogradImages > 0 ? ColdStart.winogradImages(images)
                    : images <= ColdStart.PROBE_MAX_IMAGES && !ColdStart.WINOGRAD.probeVector();
            long work = (long) images * c * k * g.oH() * g.oW();
            long t0 = System.nanoTime();
            if (scalar) {
                forwardScalar(g, u, x, xOff, images, bias, biasOff, activation, actP, actQ, residual, residualOff, residualRelu, residualChannelsLast, out,
                        outOff, inChannelsLast, outChannelsLast);
            } else {
                forwardVector(g, u, x, xOff, images, bias, biasOff, activation, actP, actQ, residual, residualOff, residualRelu, residualChannelsLast, out,
                        outOff, inChannelsLast, outChannelsLast, b);
            }
            ColdStart.WINOGRAD.took(scalar, System.nanoTime() - t0, work);
            return;
        }
        forwardVector(g, u, x, xOff, images, bias, biasOff, activation, actP, actQ, residual, residualOff, residualRelu, residualChannelsLast, out, outOff,
                inChannelsLast, outChannelsLast, b);
    }

    /** {@link #forward}'s vector form. */
    private static void forwardVector(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                                      UnaryOp activation, float actP, float actQ, MemorySegment residual, long residualOff, boolean residualRelu,
                                      boolean residualChannelsLast, MemorySegment out, long outOff, boolean inChannelsLast, boolean outChannelsLast, Buffers b) {
        int c = g.c();
        int k = u.outChannels;
        int cp = chunks(c) * CHUNK;
        int kp = padded(k);
        int tileRows = (g.oH() + OUT - 1) / OUT;
        int tilesWide = (g.oW() + OUT - 1) / OUT;
        int group = imagesPerBand(g, k);
        int bandRows = group == 1 ? oneImageBandRows(g, k) : bandRows(g, k);
        int stagedWidth = tilesWide * OUT + 2;
        int chunkStride = positionTiles(g, k) * TILE_V;
        long inImage = (long) c * g.h() * g.w();
        long outImage = (long) k * g.oH() * g.oW();
        for (int o = 0; o < kp; o++) {
            b.bias[o] = bias == null || o >= k ? 0f : bias.getAtIndex(FLOAT, biasOff + o);
        }
        boolean relu = activation == UnaryOp.RELU;
        boolean direct = directOut(g, k, activation, residual, residualChannelsLast, outChannelsLast);
        int productsWidth = tilesWide * OUT;
        for (int n0 = 0; n0 < images; n0 += group) {
            int n1 = Math.min(images, n0 + group);
            for (int ty0 = 0; ty0 < tileRows; ty0 += bandRows) { // one band when images share one
                int rows = Math.min(bandRows, tileRows - ty0);
                int tiles = rows * tilesWide; // an image's tiles in the band
                if (n1 - n0 == 1) {
                    // one image a band: a register block of tiles at a time, input transform, products and output
                    // transform, so its V and M (14 KB each for 6 tiles of 16 channels) stay in L1 and are reused by the next
                    // block, where transforming the whole band first sent V and M (92 KB each for ResNet-20's 16-channel
                    // layers) through L2; the weights are read from L2 once a block instead. The same tiles in the same
                    // blocks, so the same bits. Measured (AMD EPYC Zen 3, AVX2, ResNet-20, alternated in one JVM): batch
                    // 16 0.96-0.98x the time, batch 1 even (0.97-1.02).
                    stage(g, x, xOff + n0 * inImage, ty0, rows, stagedWidth, cp, inChannelsLast, b);
                    int step = blockTiles(kp);
                    int main = largeBlockTiles(tiles, step); // as products() splits
                    int blockStride = step * TILE_V; // a chunk of channels of a block's V
                    for (int t0 = 0; t0 < tiles; ) {
                        int t1 = t0 < main ? t0 + step : t0 + 4; // may run past the band's tiles: pad rows, never read
                        for (int t = t0; t < Math.min(t1, tiles); t++) {
                            int ty = t / tilesWide;
                            int tx = t % tilesWide;
                            inputTransform(b.staged, (ty * OUT * stagedWidth + tx * OUT) * cp, stagedWidth * cp, cp, b.v, blockStride,
                                    (t - t0) * TILE_V, b.scratch);
                        }
                        productsBlock(t1 - t0, cp, kp, b.v, blockStride, u.u, cp * kp, b.m);
                        for (int t = t0; t < Math.min(t1, tiles); t++) {
                            outputTile(g, k, kp, b.m, (t - t0) * POSITIONS * kp, ty0, t / tilesWide, t % tilesWide, direct, relu, out,
                                    outOff + n0 * outImage, residual, residualOff + n0 * outImage, residualRelu, productsWidth, b);
                        }
                        t0 = t1;
                    }
                    if (!direct) {
                        finishBand(g, k, kp, ty0, rows, productsWidth, n0, outImage, activation, actP, actQ, relu, residual, residualOff,
                                residualRelu, residualChannelsLast, out, outOff, outChannelsLast, b);
                    }
                    continue;
                }
                for (int n = n0; n < n1; n++) {
                    stage(g, x, xOff + n * inImage, ty0, rows, stagedWidth, cp, inChannelsLast, b);
                    int first = (n - n0) * tiles;
                    for (int ty = 0; ty < rows; ty++) {
                        for (int tx = 0; tx < tilesWide; tx++) {
                            inputTransform(b.staged, (ty * OUT * stagedWidth + tx * OUT) * cp, stagedWidth * cp, cp, b.v, chunkStride,
                                    (first + ty * tilesWide + tx) * TILE_V, b.scratch);
                        }
                    }
                }
                products((n1 - n0) * tiles, cp, kp, b.v, chunkStride, u.u, cp * kp, b.m);
                for (int n = n0; n < n1; n++) {
                    int first = (n - n0) * tiles;
                    for (int t = 0; t < tiles; t++) {
                        outputTile(g, k, kp, b.m, (first + t) * POSITIONS * kp, ty0, t / tilesWide, t % tilesWide, direct, relu, out,
                                outOff + n * outImage, residual, residualOff + n * outImage, residualRelu, productsWidth, b);
                    }
                    if (!direct) {
                        finishBand(g, k, kp, ty0, rows, productsWidth, n, outImage, activation, actP, actQ, relu, residual, residualOff,
                                residualRelu, residualChannelsLast, out, outOff, outChannelsLast, b);
                    }
                }
            }
        }
    }

    /** One image's band of input rows into {@code b.staged}, channels-last with its zero padding. */
    private static void stage(Im2col.Geometry g, MemorySegment x, long imageOff, int ty0, int rows, int stagedWidth, int cp, boolean inChannelsLast,
                              Buffers b) {
        if (inChannelsLast) {
            stageBandChannelsLast(g, x, imageOff, ty0 * OUT, rows * OUT + 2, stagedWidth, cp, b);
        } else {
            stageBand(g, x, imageOff, ty0 * OUT, rows * OUT + 2, stagedWidth, cp, b);
        }
    }

    /**
     * The output transform of the band's tile (ty, tx) from its products at {@code m[at]}: straight into the output
     * (image from element {@code outImage}, the residual's from {@code resImage}) when {@code direct}, else into the
     * band's channels-last products for {@link #finishBand}.
     */
    private static void outputTile(Im2col.Geometry g, int k, int kp, float[] m, int at, int ty0, int ty, int tx, boolean direct, boolean relu,
                                   MemorySegment out, long outImage, MemorySegment residual, long resImage, boolean residualRelu, int productsWidth,
                                   Buffers b) {
        if (direct) {
            long pixel = (long) (ty0 + ty) * OUT * g.oW() + tx * OUT;
            outputTransform(m, at, kp, b.bias, relu, null, 0, 0, out, (outImage + pixel * k) << 2, 4L * g.oW() * k, residual, (resImage + pixel * k) << 2,
                    residualRelu, b.scratch);
        } else {
            outputTransform(m, at, kp, b.bias, relu, b.products, (ty * OUT * productsWidth + tx * OUT) * kp, productsWidth * kp, null, 0, 0, null, 0,
                    false, b.scratch);
        }
    }

    /**
     * Image n's band of channels-last products ({@link #outputTile}) to the output: the residual summed where its layout
     * differs from the output's, then copied out channels-last or unstaged into planes (with the residual where it is
     * in the output's layout), and an activation other than ReLU.
     */
    private static void finishBand(Im2col.Geometry g, int k, int kp, int ty0, int rows, int productsWidth, int n, long outImage, UnaryOp activation,
                                   float actP, float actQ, boolean relu, MemorySegment residual, long residualOff, boolean residualRelu,
                                   boolean residualChannelsLast, MemorySegment out, long outOff, boolean outChannelsLast, Buffers b) {
        int y0 = ty0 * OUT;
        int y1 = Math.min(g.oH(), y0 + rows * OUT);
        MemorySegment res = residual;
        if (residual != null && residualChannelsLast != outChannelsLast) {
            // the residual in the other layout: summed into the channels-last products here, before the copy out
            // or the transpose, which then have no residual to add
            long rImage = residualOff + n * outImage;
            if (residualChannelsLast) {
                addResidualChannelsLast(b.products, productsWidth, kp, k, y0, y1, g.oW(), residual, rImage, residualRelu);
            } else {
                addResidualChannelsFirst(b.products, productsWidth, kp, k, y0, y1, g.oH(), g.oW(), residual, rImage, residualRelu, b.planes,
                        b.scratch);
            }
            res = null;
        }
        if (outChannelsLast) {
            for (int y = y0; y < y1; y++) { // the products' rows are the output's, kp floats a pixel
                long at = outOff + n * outImage + (long) y * g.oW() * k;
                long rat = residualOff + n * outImage + (long) y * g.oW() * k;
                int from = (y - y0) * productsWidth * kp;
                if (k == kp) {
                    copyOut(b.products, from, g.oW() * k, res, rat, residualRelu, out, at);
                } else {
                    for (int s = 0; s < g.oW(); s++) {
                        copyOut(b.products, from + s * kp, k, res, rat + (long) s * k, residualRelu, out, at + (long) s * k);
                    }
                }
                if (residual == null && activation != UnaryOp.RELU && activation != UnaryOp.IDENTITY) {
                    // the op's own bits, once over the row's pixels (not once a pixel: each call a kernel launch)
                    Elementwise.unaryContiguous(activation, actP, actQ, out, at << 2, out, at << 2, g.oW() * k);
                }
            }
            return;
        }
        unstageBand(b.products, productsWidth, kp, k, y1 - y0, g.oW(), b.planes);
        int bandFloats = (y1 - y0) * g.oW();
        long planeFloats = (long) g.oH() * g.oW();
        for (int o = 0; o < k; o++) {
            long at = outOff + n * outImage + o * planeFloats + (long) y0 * g.oW();
            if (res != null) {
                long rat = residualOff + n * outImage + o * planeFloats + (long) y0 * g.oW();
                addResidual(b.planes, o * bandFloats, residual, rat << 2, residualRelu, out, at << 2, bandFloats);
                continue;
            }
            MemorySegment.copy(b.planes, o * bandFloats, out, FLOAT, at << 2, bandFloats);
            if (!relu && activation != UnaryOp.IDENTITY) {
                Elementwise.unaryContiguous(activation, actP, actQ, out, at << 2, out, at << 2, bandFloats); // the op's own bits
            }
        }
    }

    /**
     * {@code n} floats of channels-last output from {@code products[from]} to {@code out} (element offset {@code at}),
     * plus the residual (element offset {@code rat}) and ReLU'd when asked; an activation other than ReLU (which the
     * output transform applied) follows over the whole row.
     */
    private static void copyOut(float[] products, int from, int n, MemorySegment residual, long rat, boolean residualRelu, MemorySegment out,
                                long at) {
        if (residual != null) {
            addResidual(products, from, residual, rat << 2, residualRelu, out, at << 2, n);
            return;
        }
        MemorySegment.copy(products, from, out, FLOAT, at << 2, n);
    }

    /**
     * {@code products += residual} (ReLU'd when asked) for output rows {@code [y0, y1)} of a band, the residual
     * channels-last ({@code [oH, oW, k]} from element {@code rImage}): each pixel's k channels are a run of both.
     */
    private static void addResidualChannelsLast(float[] products, int width, int kp, int k, int y0, int y1, int oW, MemorySegment residual, long rImage,
                                                boolean relu) {
        for (int y = y0; y < y1; y++) {
            int from = (y - y0) * width * kp;
            long rByte = (rImage + (long) y * oW * k) << 2;
            if (k == kp) {
                addInto(products, from, residual, rByte, oW * k, relu);
            } else {
                for (int s = 0; s < oW; s++) {
                    addInto(products, from + s * kp, residual, rByte + 4L * s * k, k, relu);
                }
            }
        }
    }

    /** {@code products[from..from + n) += residual} from byte {@code rByte}, ReLU'd when asked: {@link #addResidual}'s sums. */
    private static void addInto(float[] products, int from, MemorySegment residual, long rByte, int n, boolean relu) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromArray(F, products, from + i).add(FloatVector.fromMemorySegment(F, residual, rByte + 4L * i, Simd.ORDER));
            if (relu) {
                v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
            }
            v.intoArray(products, from + i);
        }
        for (; i < n; i++) {
            float v = products[from + i] + residual.get(FLOAT, rByte + 4L * i);
            products[from + i] = relu ? Math.max(v, 0f) : v;
        }
    }

    /**
     * {@link #addResidualChannelsLast} for a channels-first residual ({@code [k, oH, oW]} from element {@code rImage}):
     * the band's rows of each channel copied to {@code planes} (one run a channel), then turned channels-last 8 x 8 at
     * a time in registers at 8 lanes ({@link Sgemm#transpose8x8} into {@code scratch}) as they are added, 16 x 16 at 16
     * lanes ({@link #addResidualChannelsFirst16}); the rest element by element.
     */
    private static void addResidualChannelsFirst(float[] products, int width, int kp, int k, int y0, int y1, int oH, int oW, MemorySegment residual,
                                                 long rImage, boolean relu, float[] planes, float[] scratch) {
        int band = (y1 - y0) * oW;
        for (int o = 0; o < k; o++) {
            MemorySegment.copy(residual, FLOAT, (rImage + (long) o * oH * oW + (long) y0 * oW) << 2, planes, o * band, band);
        }
        if (ZIPS) {
            addResidualChannelsFirst16(products, width, kp, k, band, oW, relu, planes, scratch);
            return;
        }
        int wholeK = ZIPS8 ? k / 8 * 8 : 0;
        int wholeW = ZIPS8 ? oW / 8 * 8 : 0;
        for (int y = 0; y < y1 - y0; y++) {
            for (int x0 = 0; x0 < wholeW; x0 += 8) {
                for (int o = 0; o < wholeK; o += 8) {
                    Sgemm.transpose8x8(planes, o * band + y * oW + x0, band, scratch, 0, 8); // scratch[r 8 + j]: pixel x0 + r, channel o + j
                    for (int r = 0; r < 8; r++) {
                        addTurnedRow(products, (y * width + x0 + r) * kp + o, scratch, r * 8, relu);
                    }
                }
            }
            for (int o = 0; o < k; o++) {
                for (int x = o < wholeK ? wholeW : 0; x < oW; x++) {
                    int at = (y * width + x) * kp + o;
                    float v = products[at] + planes[o * band + y * oW + x];
                    products[at] = relu ? Math.max(v, 0f) : v;
                }
            }
        }
    }

    /** {@code products[at..] += scratch[from..]} over one vector, then ReLU where asked: a turned residual's pixel. */
    private static void addTurnedRow(float[] products, int at, float[] scratch, int from, boolean relu) {
        FloatVector v = FloatVector.fromArray(F, products, at).add(FloatVector.fromArray(F, scratch, from));
        if (relu) {
            v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
        }
        v.intoArray(products, at);
    }

    /**
     * {@link #addResidualChannelsFirst} at 16 lanes on x86 ({@link #ZIPS}): the band's planes hold its pixels in one run
     * a channel (rows of oW back to back), so 16 channels x 16 pixels of that run, whatever the rows they span (two rows
     * of an 8-pixel image, or part of one), turn channels-last in registers ({@link Sgemm#transposeBlockZipped} into
     * {@code scratch}: a vector a pixel) and are added to their pixels' products; channels past the whole 16s and the
     * band's last pixels element by element. The same additions: the same bits.
     */
    private static void addResidualChannelsFirst16(float[] products, int width, int kp, int k, int band, int oW, boolean relu, float[] planes,
                                                   float[] scratch) {
        int wholeK = k / 16 * 16;
        int wholeP = band / 16 * 16;
        for (int p0 = 0; p0 < wholeP; p0 += 16) {
            for (int o = 0; o < wholeK; o += 16) {
                int src = o * band + p0;
                Sgemm.transposeBlockZipped(planes, src, src + 8 * band, band, scratch, 0, 8 * 16, 16); // scratch[r 16 + j]: pixel p0 + r, channel o + j
                for (int r = 0; r < 16; r++) {
                    int pixel = p0 + r;
                    addTurnedRow(products, ((pixel / oW) * width + pixel % oW) * kp + o, scratch, r * 16, relu);
                }
            }
        }
        for (int o = 0; o < k; o++) {
            for (int pixel = o < wholeK ? wholeP : 0; pixel < band; pixel++) {
                int at = ((pixel / oW) * width + pixel % oW) * kp + o;
                float v = products[at] + planes[o * band + pixel];
                products[at] = relu ? Math.max(v, 0f) : v;
            }
        }
    }

    /** The largest image (in or out, floats) {@link #forwardScalar} copies to the heap. */
    static final long COLD_MAX_FLOATS = 1 << 20;

    /**
     * {@link #forward} in the scalar form a young process takes ({@link ColdStart}), image by image and tile by tile
     * without bands: each tile's transformed input ({@link #inputTransform}'s additions and FMAs in its order, channels
     * padded to whole chunks with zeros), every product one FMA chain over the padded channels in order from zero (as
     * {@link #products}), the output transform ({@link #outputTransform}'s order, the bias added, ReLU as its blend),
     * then the residual sum or the activation as the copy out applies them: the vector form's bits.
     */
    static void forwardScalar(Im2col.Geometry g, Weights u, MemorySegment x, long xOff, int images, MemorySegment bias, long biasOff,
                              UnaryOp activation, float actP, float actQ, MemorySegment residual, long residualOff, boolean residualRelu,
                              boolean residualChannelsLast, MemorySegment out, long outOff, boolean inChannelsLast, boolean outChannelsLast) {
        int c = g.c();
        int h = g.h();
        int w = g.w();
        int k = u.outChannels;
        int cp = chunks(c) * CHUNK;
        int oH = g.oH();
        int oW = g.oW();
        int plane = oH * oW;
        float[] image = new float[c * h * w];
        float[] v = new float[POSITIONS * cp];
        float[] block = new float[POSITIONS];
        float[] m = new float[POSITIONS];
        float[] scratch = new float[POSITIONS];
        float[] planes = new float[k * plane];
        float[] biases = new float[k];
        float[] run = new float[64];
        for (int o = 0; o < k && bias != null; o++) {
            biases[o] = bias.getAtIndex(FLOAT, biasOff + o);
        }
        boolean relu = activation == UnaryOp.RELU;
        float[] pixels = inChannelsLast || outChannelsLast || residualChannelsLast ? new float[Math.max(image.length, planes.length)] : null;
        float[] residualPlanes = residual != null && residualChannelsLast && !outChannelsLast ? new float[planes.length] : null;
        for (int n = 0; n < images; n++) {
            if (inChannelsLast) { // [H, W, C] to the planes tileBlock reads
                MemorySegment.copy(x, FLOAT, (xOff + (long) n * image.length) << 2, pixels, 0, image.length);
                transposeScalar(pixels, h * w, c, image);
            } else {
                MemorySegment.copy(x, FLOAT, (xOff + (long) n * image.length) << 2, image, 0, image.length);
            }
            for (int ty = 0; ty < (oH + OUT - 1) / OUT; ty++) {
                for (int tx = 0; tx < (oW + OUT - 1) / OUT; tx++) {
                    tileScalar(g, u, image, ty * OUT, tx * OUT, v, block, m, scratch, biases, relu, planes);
                }
            }
            if (outChannelsLast) { // the planes as [oH, oW, K], then the residual or the activation as the vector form's copy out
                if (residual != null && !residualChannelsLast) { // a channels-first residual: summed before the transpose
                    for (int o = 0; o < k; o++) {
                        addResidualScalar(planes, o * plane, residual, residualOff + ((long) n * k + o) * plane, plane, residualRelu, run);
                    }
                }
                transposeScalar(planes, k, plane, pixels);
                long at = outOff + (long) n * planes.length;
                if (residual != null && residualChannelsLast) {
                    addResidualScalar(pixels, 0, residual, residualOff + (long) n * planes.length, planes.length, residualRelu, run);
                }
                MemorySegment.copy(pixels, 0, out, FLOAT, at << 2, planes.length);
                if (residual == null && !relu && activation != UnaryOp.IDENTITY) {
                    Elementwise.unaryContiguous(activation, actP, actQ, out, at << 2, out, at << 2, planes.length); // the op's own bits
                }
                continue;
            }
            if (residualPlanes != null) { // a channels-last residual, turned channels-first to be summed plane by plane
                MemorySegment.copy(residual, FLOAT, (residualOff + (long) n * planes.length) << 2, pixels, 0, planes.length);
                transposeScalar(pixels, plane, k, residualPlanes);
                for (int i = 0; i < planes.length; i++) {
                    float sum = planes[i] + residualPlanes[i];
                    planes[i] = residualRelu ? Math.max(sum, 0f) : sum;
                }
            }
            for (int o = 0; o < k; o++) {
                long at = outOff + ((long) n * k + o) * plane;
                if (residual != null && residualPlanes == null) {
                    addResidualScalar(planes, o * plane, residual, residualOff + ((long) n * k + o) * plane, plane, residualRelu, run);
                }
                MemorySegment.copy(planes, o * plane, out, FLOAT, at << 2, plane);
                if (residual == null && !relu && activation != UnaryOp.IDENTITY) {
                    Elementwise.unaryContiguous(activation, actP, actQ, out, at << 2, out, at << 2, plane); // the op's own bits
                }
            }
        }
    }

    /** {@code to[j rows + i] = from[i cols + j]}: a {@code rows x cols} matrix transposed (the scalar form's layout changes). */
    private static void transposeScalar(float[] from, int rows, int cols, float[] to) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0, src = i * cols; j < cols; j++, src++) {
                to[j * rows + i] = from[src];
            }
        }
    }

    /**
     * One tile of {@link #forwardScalar}, output rows from y0 and columns from x0, every output channel. A method of
     * its own, called per tile: the JIT compiles it after a few of a layer's tiles, where the tile loops inside
     * forwardScalar waited for on-stack replacements (three C1 compilations of that whole method, ~40 ms of a
     * two-core cold start, and its first tiles interpreted).
     */
    private static void tileScalar(Im2col.Geometry g, Weights u, float[] image, int y0, int x0, float[] v, float[] block, float[] m,
                                   float[] scratch, float[] biases, boolean relu, float[] planes) {
        int c = g.c();
        int k = u.outChannels;
        int cp = chunks(c) * CHUNK;
        int width = columnsPerBlock(padded(k));
        int panel = cp * padded(k);
        int plane = g.oH() * g.oW();
        for (int ch = 0; ch < cp; ch++) {
            tileBlock(image, ch < c ? ch : -1, g.h(), g.w(), y0 - g.pT(), x0 - g.pL(), block);
            inputTransformScalar(block, scratch, v, ch, cp);
        }
        for (int o = 0; o < k; o++) {
            int uAt = o / width * cp * width + o % width;
            for (int xi = 0; xi < POSITIONS; xi += 6) {
                chains6(v, xi, cp, u.u, xi * panel + uAt, panel, width, m);
            }
            outputTransformScalar(m, scratch, biases[o], relu, planes, o * plane, y0, x0, g.oH(), g.oW());
        }
    }

    /**
     * {@code planes[at + i] += residual[rat + i]} (ReLU'd when asked) over one output plane, as the copy out adds it: in
     * runs copied to the heap, short enough that the JIT compiles the loop after a few planes.
     */
    private static void addResidualScalar(float[] planes, int at, MemorySegment residual, long rat, int n, boolean relu, float[] run) {
        for (int from = 0; from < n; from += run.length) {
            int len = Math.min(run.length, n - from);
            MemorySegment.copy(residual, FLOAT, (rat + from) << 2, run, 0, len);
            addRun(planes, at + from, run, len, relu);
        }
    }

    private static void addRun(float[] planes, int at, float[] run, int n, boolean relu) {
        for (int i = 0; i < n; i++) {
            float s = planes[at + i] + run[i];
            planes[at + i] = relu ? Math.max(s, 0f) : s;
        }
    }

    /** The 6 x 6 input block of a tile from image (r0, s0) on, channel {@code ch} (-1: a pad channel, zeros); zeros outside. */
    private static void tileBlock(float[] image, int ch, int h, int w, int r0, int s0, float[] block) {
        // the rows and columns inside the image, found once: with a bounds test per element, C2 compiled this twice (a
        // border or a pad channel its first profile had not seen) and JFR found it interpreted in 50 of 54 samples
        int rLo = ch < 0 ? IN : Math.max(0, -r0);
        int rHi = Math.min(IN, h - r0);
        int sLo = Math.max(0, -s0);
        int sHi = Math.min(IN, w - s0);
        if (rLo >= rHi || sLo >= sHi) {
            java.util.Arrays.fill(block, 0f);
            return;
        }
        if (rLo > 0 || rHi < IN || sLo > 0 || sHi < IN) {
            java.util.Arrays.fill(block, 0f);
        }
        for (int r = rLo; r < rHi; r++) {
            System.arraycopy(image, (ch * h + r0 + r) * w + s0 + sLo, block, r * IN + sLo, sHi - sLo);
        }
    }

    /**
     * Six positions' FMA chains from zero, {@code m[xi + j] = sum over ch < cp of v[(xi + j) cp + ch] u[uAt + j panel +
     * ch width]}, each chain over the channels in order (the vector form's bits). Six chains side by side, because one
     * chain alone waits on each FMA's latency: the plan's self-check and first predictions spent a tenth of a cold
     * start here.
     */
    private static void chains6(float[] v, int xi, int cp, float[] u, int uAt, int panel, int width, float[] m) {
        float a0 = 0f;
        float a1 = 0f;
        float a2 = 0f;
        float a3 = 0f;
        float a4 = 0f;
        float a5 = 0f;
        int v0 = xi * cp;
        for (int ch = 0, ui = uAt; ch < cp; ch++, ui += width) {
            a0 = Math.fma(v[v0 + ch], u[ui], a0);
            a1 = Math.fma(v[v0 + cp + ch], u[ui + panel], a1);
            a2 = Math.fma(v[v0 + 2 * cp + ch], u[ui + 2 * panel], a2);
            a3 = Math.fma(v[v0 + 3 * cp + ch], u[ui + 3 * panel], a3);
            a4 = Math.fma(v[v0 + 4 * cp + ch], u[ui + 4 * panel], a4);
            a5 = Math.fma(v[v0 + 5 * cp + ch], u[ui + 5 * panel], a5);
        }
        m[xi] = a0;
        m[xi + 1] = a1;
        m[xi + 2] = a2;
        m[xi + 3] = a3;
        m[xi + 4] = a4;
        m[xi + 5] = a5;
    }

    /** {@link #inputTransform} of one channel's block ({@code block[r][s]}) into {@code v[xi][ch]}: its operations in its order. */
    private static void inputTransformScalar(float[] block, float[] scratch, float[] v, int ch, int cp) {
        for (int j = 0; j < IN; j++) { // columns: scratch[t][j] = transform t of column j
            inputSix(block[j], block[IN + j], block[2 * IN + j], block[3 * IN + j], block[4 * IN + j], block[5 * IN + j], scratch, j, IN);
        }
        for (int i = 0; i < IN; i++) { // rows: position i IN + t = transform t of scratch row i
            int q = i * IN;
            inputSix(scratch[q], scratch[q + 1], scratch[q + 2], scratch[q + 3], scratch[q + 4], scratch[q + 5], v, q * cp + ch, cp);
        }
    }

    /** B^T's six rows applied to z0..z5, into {@code dst[at + t stride]}: {@link #inputTransform}'s operations. */
    private static void inputSix(float z0, float z1, float z2, float z3, float z4, float z5, float[] dst, int at, int stride) {
        float z31 = z3 - z1;
        float z42 = z4 - z2;
        dst[at] = Math.fma(z0, 4f, Math.fma(z2, -5f, z4));
        dst[at + stride] = Math.fma(z1 + z2, -4f, z3 + z4);
        dst[at + 2 * stride] = Math.fma(z1 - z2, 4f, z4 - z3);
        dst[at + 3 * stride] = Math.fma(z31, 2f, z42);
        dst[at + 4 * stride] = Math.fma(z31, -2f, z42);
        dst[at + 5 * stride] = Math.fma(z1, 4f, Math.fma(z3, -5f, z5));
    }

    /**
     * {@link #outputTransform} of one tile's 36 products {@code m[xi]} of one output channel, plus the bias, ReLU'd as
     * its blend does (-0 to +0, NaN kept), into {@code planes} from {@code at} (rows of oW) at output (y0, x0), the
     * pixels inside the output only.
     */
    private static void outputTransformScalar(float[] m, float[] scratch, float bias, boolean relu, float[] planes, int at, int y0, int x0,
                                              int oH, int oW) {
        for (int j = 0; j < IN; j++) {
            outputFour(m[j], m[IN + j], m[2 * IN + j], m[3 * IN + j], m[4 * IN + j], m[5 * IN + j], scratch, j, IN);
        }
        for (int i = 0; i < OUT && y0 + i < oH; i++) {
            int q = i * IN;
            outputFour(scratch[q], scratch[q + 1], scratch[q + 2], scratch[q + 3], scratch[q + 4], scratch[q + 5], m, 0, 1); // m's products are spent
            for (int jj = 0; jj < OUT && x0 + jj < oW; jj++) {
                float value = m[jj] + bias;
                planes[at + (y0 + i) * oW + x0 + jj] = relu && value <= 0f ? 0f : value;
            }
        }
    }

    /** A^T's four rows applied to m0..m5, into {@code dst[at + t stride]}: {@link #outputTransform}'s operations. */
    private static void outputFour(float m0, float m1, float m2, float m3, float m4, float m5, float[] dst, int at, int stride) {
        float s12 = m1 + m2;
        float d12 = m1 - m2;
        float s34 = m3 + m4;
        float d34 = m3 - m4;
        dst[at] = m0 + s12 + s34;
        dst[at + stride] = Math.fma(d34, 2f, d12);
        dst[at + 2 * stride] = Math.fma(s34, 4f, s12);
        dst[at + 3 * stride] = Math.fma(d34, 8f, d12) + m5;
    }

    /** {@code out = planes + residual} (ReLU'd as UnaryOp.RELU does it when asked), n floats; byte offsets in the segments. */
    private static void addResidual(float[] planes, int from, MemorySegment residual, long rByte, boolean relu, MemorySegment out, long oByte, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromArray(F, planes, from + i).add(FloatVector.fromMemorySegment(F, residual, rByte + 4L * i, Simd.ORDER));
            if (relu) {
                v = v.blend(0f, v.compare(VectorOperators.LE, 0f));
            }
            v.intoMemorySegment(out, oByte + 4L * i, Simd.ORDER);
        }
        for (; i < n; i++) {
            float v = planes[from + i] + residual.get(FLOAT, rByte + 4L * i);
            out.set(FLOAT, oByte + 4L * i, relu ? Math.max(v, 0f) : v);
        }
    }

    /**
     * Rows {@code [r0 - pT, r0 - pT + rows)} of the image, zero-padded, channels-last into {@code b.staged}
     * ({@code [rows][width][cp]}): pixel (r, s) of the band holds image pixel (r0 + r - pT, s - pL), zeros outside
     * the image and in the pad channels.
     */
    private static void stageBand(Im2col.Geometry g, MemorySegment x, long xOff, int r0, int rows, int width, int cp, Buffers b) {
        int c = g.c();
        int h = g.h();
        int w = g.w();
        int first = Math.max(0, r0 - g.pT()); // image rows the band holds
        int last = Math.min(h, r0 - g.pT() + rows);
        int n = Math.max(0, last - first);
        int pL = g.pL();
        int sFirst = Math.min(width, pL);
        int sLast = Math.max(sFirst, Math.min(width, w + pL));
        int rowFloats = width * cp;
        float[] staged = b.staged;
        zeroPadding(r0 - g.pT(), rows, first, last, rowFloats, sFirst * cp, sLast * cp, b);
        if (ZIPS && c % 16 == 0 && (w == 8 || w % 16 == 0) && sLast - sFirst == w) {
            stageBandZipped(g, x, xOff, r0, width, cp, staged, first, last);
            return;
        }
        float[] image = b.image;
        long plane = (long) h * w;
        // the band's rows of each channel the element-by-element copies read, one bulk copy per channel: with whole
        // 16-pixel blocks across the row, only the channels past the whole 16s (the blocks read the input itself)
        boolean wholeRows = ZIPS && (sLast - sFirst) % 16 == 0;
        for (int ci = wholeRows ? c / 16 * 16 : 0; ci < c && n > 0; ci++) {
            MemorySegment.copy(x, FLOAT, (xOff + ci * plane + (long) first * w) << 2, image, ci * n * w, n * w);
        }
        for (int y = first; y < last; y++) {
            int rowBase = (y - (r0 - g.pT())) * rowFloats;
            int src0 = (y - first) * w - pL;
            if (ZIPS8) { // whole 8 x 8 blocks from the band's copy of the rows, transposed in registers; the rest below
                int wholeC = c / 8 * 8;
                int s8 = sFirst + (sLast - sFirst) / 8 * 8;
                for (int s0 = sFirst; s0 < s8; s0 += 8) {
                    for (int ci = 0; ci < wholeC; ci += 8) {
                        Sgemm.transpose8x8(image, ci * n * w + src0 + s0, n * w, staged, rowBase + s0 * cp + ci, cp);
                    }
                }
                copyToChannelsLast(image, n * w, src0, staged, rowBase, cp, sFirst, s8, wholeC, c);
                copyToChannelsLast(image, n * w, src0, staged, rowBase, cp, s8, sLast, 0, c);
            } else if (ZIPS) { // whole 16 x 16 blocks of channels x pixels transposed in registers, the rest below
                int wholeC = c / 16 * 16;
                int s16 = sFirst + (sLast - sFirst) / 16 * 16;
                for (int s0 = sFirst; s0 < s16; s0 += 16) {
                    for (int ci = 0; ci < wholeC; ci += 16) {
                        Sgemm.transposeBlockZipped(x, (xOff + ci * plane + (long) y * w + s0 - pL) << 2, plane << 2, staged,
                                rowBase + s0 * cp + ci, cp);
                    }
                }
                copyToChannelsLast(image, n * w, src0, staged, rowBase, cp, sFirst, s16, wholeC, c);
                copyToChannelsLast(image, n * w, src0, staged, rowBase, cp, s16, sLast, 0, c);
            } else {
                copyToChannelsLast(image, n * w, src0, staged, rowBase, cp, sFirst, sLast, 0, c);
            }
            if (cp > c) {
                for (int s = sFirst; s < sLast; s++) {
                    java.util.Arrays.fill(staged, rowBase + s * cp + c, rowBase + (s + 1) * cp, 0f);
                }
            }
        }
    }

    /**
     * The staging's padding: band rows (from image row {@code top}) outside image rows {@code [first, last)}, and in
     * the rows inside, the floats before {@code left} and from {@code right} on.
     */
    private static void zeroPadding(int top, int rows, int first, int last, int rowFloats, int left, int right, Buffers b) {
        float[] staged = b.staged;
        int[] zeroed = b.zeroedPadding;
        if (zeroed[0] == rows && zeroed[1] == first - top && zeroed[2] == last - top && zeroed[3] == rowFloats && zeroed[4] == left
                && zeroed[5] == right && zeroed[6] == 1) {
            return; // the last band staged had this layout: its pads are still zero (stagings write inside their own)
        }
        zeroed[6] = 0; // recorded again only once the fills below are done
        int above = Math.min(rows, Math.max(0, first - top));
        java.util.Arrays.fill(staged, 0, above * rowFloats, 0f);
        int below = Math.max(above, Math.min(rows, last - top));
        java.util.Arrays.fill(staged, below * rowFloats, rows * rowFloats, 0f);
        for (int y = first; y < last; y++) {
            int rowBase = (y - top) * rowFloats;
            java.util.Arrays.fill(staged, rowBase, rowBase + left, 0f);
            java.util.Arrays.fill(staged, rowBase + right, rowBase + rowFloats, 0f);
        }
        zeroed[0] = rows;
        zeroed[1] = first - top;
        zeroed[2] = last - top;
        zeroed[3] = rowFloats;
        zeroed[4] = left;
        zeroed[5] = right;
        zeroed[6] = 1;
    }

    /**
     * {@link #stageBand} from a channels-last image ({@code [H, W, C]}): each image row is a run of the staging's row
     * when the channels fill whole chunks (cp == c), else a run a pixel with the pad channels zeroed.
     */
    private static void stageBandChannelsLast(Im2col.Geometry g, MemorySegment x, long xOff, int r0, int rows, int width, int cp, Buffers b) {
        float[] staged = b.staged;
        int c = g.c();
        int w = g.w();
        int top = r0 - g.pT();
        int first = Math.max(0, top);
        int last = Math.min(g.h(), top + rows);
        int pL = g.pL();
        int sFirst = Math.min(width, pL);
        int sLast = Math.max(sFirst, Math.min(width, w + pL));
        int rowFloats = width * cp;
        zeroPadding(top, rows, first, last, rowFloats, sFirst * cp, sLast * cp, b);
        for (int y = first; y < last; y++) {
            int rowBase = (y - top) * rowFloats;
            long src = xOff + ((long) y * w + sFirst - pL) * c;
            if (cp == c) {
                MemorySegment.copy(x, FLOAT, src << 2, staged, rowBase + sFirst * cp, (sLast - sFirst) * c);
                continue;
            }
            for (int s = sFirst; s < sLast; s++) {
                MemorySegment.copy(x, FLOAT, (src + (long) (s - sFirst) * c) << 2, staged, rowBase + s * cp, c);
                java.util.Arrays.fill(staged, rowBase + s * cp + c, rowBase + (s + 1) * cp, 0f);
            }
        }
    }

    /**
     * {@link #stageBand}'s copy (its padding already zeroed) when every pixel of the band's image rows moves in whole
     * 16 x 16 blocks of channels x pixels, read straight from the input (no copy of the band first): channels a
     * multiple of 16 (cp == c) and rows of 8 pixels (two rows a block) or of whole 16s. Measured (Xeon, AVX-512, one layer, batch 1): 64 channels 8 x 8, element by element
     * before, staging 3.7-4.3 -> 1.2-1.3 us (and the unstaging, rows of 8 paired the same way, 2.8-3.1 -> 0.7-1.0);
     * 16 channels 32 x 32 (the band's copy saved) 4.2-4.4 -> 3.3-3.7; 32 x 16 x 16 2.2-2.9 -> 1.4-1.7. ResNet-20's
     * plan, batch 1, three alternated runs: 661-686 -> 578-591 us.
     */
    private static void stageBandZipped(Im2col.Geometry g, MemorySegment x, long xOff, int r0, int width, int cp, float[] staged, int first,
                                        int last) {
        int c = g.c();
        int w = g.w();
        int pL = g.pL();
        long plane = (long) g.h() * w;
        int rowFloats = width * cp;
        long ld = plane << 2;
        for (int y = first; y < last; y++) {
            int rowBase = (y - (r0 - g.pT())) * rowFloats + pL * cp;
            long src = (xOff + (long) y * w) << 2;
            if (w == 8) {
                if (y + 1 < last) { // rows y and y + 1: 16 pixels in a run of the input, two rows of the staging
                    for (int ci = 0; ci < c; ci += 16) {
                        Sgemm.transposeBlockZipped(x, src + ci * ld, src + (ci + 8) * ld, ld, staged, rowBase + ci, rowBase + rowFloats + ci, cp);
                    }
                    y++;
                } else { // an odd last row: element by element
                    for (int ci = 0; ci < c; ci++) {
                        for (int s = 0; s < w; s++) {
                            staged[rowBase + s * cp + ci] = x.getAtIndex(FLOAT, xOff + ci * plane + (long) y * w + s);
                        }
                    }
                }
                continue;
            }
            for (int s0 = 0; s0 < w; s0 += 16) {
                for (int ci = 0; ci < c; ci += 16) {
                    Sgemm.transposeBlockZipped(x, src + ((long) s0 << 2) + ci * ld, ld, staged, rowBase + s0 * cp + ci, cp);
                }
            }
        }
    }

    /** Channels [c0, c1) of pixels [s0, s1) of a band row, element by element, a block of pixels at a time. */
    private static void copyToChannelsLast(float[] image, int plane, int src0, float[] staged, int rowBase, int cp, int s0, int s1, int c0, int c1) {
        for (int b0 = s0; b0 < s1; b0 += TRANSPOSE_BLOCK) { // a block of pixels (a KB or so) stays in L1 over the channels
            int b1 = Math.min(s1, b0 + TRANSPOSE_BLOCK);
            for (int ci = c0; ci < c1; ci++) {
                int src = ci * plane + src0;
                for (int s = b0, d = rowBase + b0 * cp + ci; s < b1; s++, d += cp) {
                    staged[d] = image[src + s];
                }
            }
        }
    }

    /**
     * {@code V = B^T d B} of the 6 x 6 block of staged pixels from {@code base} (row stride {@code rowStride}, pixel
     * stride {@code cp}), every channel, into the tile's V from {@code at} ({@code v[at + chunk * chunkStride + xi *
     * CHUNK + channel % CHUNK]}). Columns first, through {@code scratch}.
     * The 1-D transform is written out in both passes on purpose (here and in {@link #outputTransform}): one helper
     * per line taking arrays and offsets gave the same bits but ran ResNet-20's batch-1 plan 3-5% slower (595-604 ->
     * 618-629 us, 3 alternated JVMs, Zen 4, 512 bits).
     */
    private static void inputTransform(float[] s, int base, int rowStride, int cp, float[] v, int chunkStride, int at, float[] scratch) {
        FloatVector k4 = FloatVector.broadcast(F, 4f);
        FloatVector km4 = FloatVector.broadcast(F, -4f);
        FloatVector km5 = FloatVector.broadcast(F, -5f);
        FloatVector k2 = FloatVector.broadcast(F, 2f);
        FloatVector km2 = FloatVector.broadcast(F, -2f);
        for (int c = 0; c < cp; c += L) {
            for (int j = 0; j < IN; j++) {
                int p = base + j * cp + c;
                FloatVector d0 = FloatVector.fromArray(F, s, p);
                FloatVector d1 = FloatVector.fromArray(F, s, p + rowStride);
                FloatVector d2 = FloatVector.fromArray(F, s, p + 2 * rowStride);
                FloatVector d3 = FloatVector.fromArray(F, s, p + 3 * rowStride);
                FloatVector d4 = FloatVector.fromArray(F, s, p + 4 * rowStride);
                FloatVector d5 = FloatVector.fromArray(F, s, p + 5 * rowStride);
                FloatVector d31 = d3.sub(d1);
                FloatVector d42 = d4.sub(d2);
                d0.fma(k4, d2.fma(km5, d4)).intoArray(scratch, j * L);
                d1.add(d2).fma(km4, d3.add(d4)).intoArray(scratch, (IN + j) * L);
                d1.sub(d2).fma(k4, d4.sub(d3)).intoArray(scratch, (2 * IN + j) * L);
                d31.fma(k2, d42).intoArray(scratch, (3 * IN + j) * L);
                d31.fma(km2, d42).intoArray(scratch, (4 * IN + j) * L);
                d1.fma(k4, d3.fma(km5, d5)).intoArray(scratch, (5 * IN + j) * L);
            }
            for (int i = 0; i < IN; i++) {
                int q = i * IN * L;
                FloatVector e0 = FloatVector.fromArray(F, scratch, q);
                FloatVector e1 = FloatVector.fromArray(F, scratch, q + L);
                FloatVector e2 = FloatVector.fromArray(F, scratch, q + 2 * L);
                FloatVector e3 = FloatVector.fromArray(F, scratch, q + 3 * L);
                FloatVector e4 = FloatVector.fromArray(F, scratch, q + 4 * L);
                FloatVector e5 = FloatVector.fromArray(F, scratch, q + 5 * L);
                FloatVector e31 = e3.sub(e1);
                FloatVector e42 = e4.sub(e2);
                int o = at + c / CHUNK * chunkStride + c % CHUNK + i * IN * CHUNK;
                e0.fma(k4, e2.fma(km5, e4)).intoArray(v, o);
                e1.add(e2).fma(km4, e3.add(e4)).intoArray(v, o + CHUNK);
                e1.sub(e2).fma(k4, e4.sub(e3)).intoArray(v, o + 2 * CHUNK);
                e31.fma(k2, e42).intoArray(v, o + 3 * CHUNK);
                e31.fma(km2, e42).intoArray(v, o + 4 * CHUNK);
                e1.fma(k4, e3.fma(km5, e5)).intoArray(v, o + 5 * CHUNK);
            }
        }
    }

    /**
     * Whether the output transform writes a channels-last output itself ({@link #outputTransform}), the residual
     * summed as it goes, instead of into the products' buffer that a copy (or a residual pass) then moves out: every
     * tile whole inside the output, channels a whole number of vectors, and ReLU or no activation. The same operations
     * in the same order as the copy's path, so the same bits. Measured (AMD EPYC Zen 3, AVX2, ResNet-20 at batch 1):
     * the copy out and the residual pass were 2.5% and 2.9% of a call.
     */
    private static boolean directOut(Im2col.Geometry g, int k, UnaryOp activation, MemorySegment residual, boolean residualChannelsLast,
                                     boolean outChannelsLast) {
        return outChannelsLast && k % L == 0 && g.oH() % OUT == 0 && g.oW() % OUT == 0 && (residual == null || residualChannelsLast)
                && (activation == UnaryOp.RELU || activation == UnaryOp.IDENTITY);
    }

    /**
     * {@code Y = A^T m A} of one tile's 36 products ({@code m[at + (channel / L) * 36 L + xi * L + channel % L]}), plus
     * the bias, then ReLU when asked, into a channels-last 4 x 4 block of pixels (kp floats a pixel): into the array
     * {@code outArray} from {@code base} (image rows {@code rowStride} floats apart) where it is not null, else into
     * the segment {@code out} from byte {@code oByte} (rows {@code rowBytes} apart), plus the residual (same layout
     * from {@code rByte}) and then ReLU when {@code residualRelu}: {@link #copyOut}'s sums without the buffer between.
     * Columns first, through {@code scratch}. One method for both targets (the choice is per row of 4 pixels), so the
     * transform is written once.
     */
    private static void outputTransform(float[] m, int at, int kp, float[] bias, boolean relu, float[] outArray, int base, int rowStride,
                                        MemorySegment out, long oByte, long rowBytes, MemorySegment residual, long rByte, boolean residualRelu,
                                        float[] scratch) {
        FloatVector k2 = FloatVector.broadcast(F, 2f);
        FloatVector k4 = FloatVector.broadcast(F, 4f);
        FloatVector k8 = FloatVector.broadcast(F, 8f);
        long pixelBytes = 4L * kp;
        for (int c = 0; c < kp; c += L) {
            for (int j = 0; j < IN; j++) {
                int o = at + c * POSITIONS + j * L;
                int row = IN * L;
                FloatVector m0 = FloatVector.fromArray(F, m, o);
                FloatVector m1 = FloatVector.fromArray(F, m, o + row);
                FloatVector m2 = FloatVector.fromArray(F, m, o + 2 * row);
                FloatVector m3 = FloatVector.fromArray(F, m, o + 3 * row);
                FloatVector m4 = FloatVector.fromArray(F, m, o + 4 * row);
                FloatVector m5 = FloatVector.fromArray(F, m, o + 5 * row);
                FloatVector s12 = m1.add(m2);
                FloatVector d12 = m1.sub(m2);
                FloatVector s34 = m3.add(m4);
                FloatVector d34 = m3.sub(m4);
                m0.add(s12).add(s34).intoArray(scratch, j * L);
                d34.fma(k2, d12).intoArray(scratch, (IN + j) * L);
                s34.fma(k4, s12).intoArray(scratch, (2 * IN + j) * L);
                d34.fma(k8, d12).add(m5).intoArray(scratch, (3 * IN + j) * L);
            }
            FloatVector bv = FloatVector.fromArray(F, bias, c);
            for (int i = 0; i < OUT; i++) {
                int q = i * IN * L;
                FloatVector e0 = FloatVector.fromArray(F, scratch, q);
                FloatVector e1 = FloatVector.fromArray(F, scratch, q + L);
                FloatVector e2 = FloatVector.fromArray(F, scratch, q + 2 * L);
                FloatVector e3 = FloatVector.fromArray(F, scratch, q + 3 * L);
                FloatVector e4 = FloatVector.fromArray(F, scratch, q + 4 * L);
                FloatVector e5 = FloatVector.fromArray(F, scratch, q + 5 * L);
                FloatVector s12 = e1.add(e2);
                FloatVector d12 = e1.sub(e2);
                FloatVector s34 = e3.add(e4);
                FloatVector d34 = e3.sub(e4);
                FloatVector y0 = e0.add(s12).add(s34).add(bv);
                FloatVector y1 = d34.fma(k2, d12).add(bv);
                FloatVector y2 = s34.fma(k4, s12).add(bv);
                FloatVector y3 = d34.fma(k8, d12).add(e5).add(bv);
                if (relu) { // as the GEMM epilogue does it: -0 to +0, NaN kept
                    y0 = y0.blend(0f, y0.compare(VectorOperators.LE, 0f));
                    y1 = y1.blend(0f, y1.compare(VectorOperators.LE, 0f));
                    y2 = y2.blend(0f, y2.compare(VectorOperators.LE, 0f));
                    y3 = y3.blend(0f, y3.compare(VectorOperators.LE, 0f));
                }
                if (outArray != null) {
                    int a = base + i * rowStride + c;
                    y0.intoArray(outArray, a);
                    y1.intoArray(outArray, a + kp);
                    y2.intoArray(outArray, a + 2 * kp);
                    y3.intoArray(outArray, a + 3 * kp);
                    continue;
                }
                long p = oByte + i * rowBytes + 4L * c;
                if (residual != null) {
                    long r = rByte + i * rowBytes + 4L * c;
                    y0 = y0.add(FloatVector.fromMemorySegment(F, residual, r, Simd.ORDER));
                    y1 = y1.add(FloatVector.fromMemorySegment(F, residual, r + pixelBytes, Simd.ORDER));
                    y2 = y2.add(FloatVector.fromMemorySegment(F, residual, r + 2 * pixelBytes, Simd.ORDER));
                    y3 = y3.add(FloatVector.fromMemorySegment(F, residual, r + 3 * pixelBytes, Simd.ORDER));
                    if (residualRelu) {
                        y0 = y0.blend(0f, y0.compare(VectorOperators.LE, 0f));
                        y1 = y1.blend(0f, y1.compare(VectorOperators.LE, 0f));
                        y2 = y2.blend(0f, y2.compare(VectorOperators.LE, 0f));
                        y3 = y3.blend(0f, y3.compare(VectorOperators.LE, 0f));
                    }
                }
                y0.intoMemorySegment(out, p, Simd.ORDER);
                y1.intoMemorySegment(out, p + pixelBytes, Simd.ORDER);
                y2.intoMemorySegment(out, p + 2 * pixelBytes, Simd.ORDER);
                y3.intoMemorySegment(out, p + 3 * pixelBytes, Simd.ORDER);
            }
        }
    }

    /**
     * Whether whole 16 x 16 blocks of the channels-first / channels-last copies are transposed in registers
     * ({@link Sgemm#transposeBlockZipped}): at 16 lanes on x86, where a two-vector select is one instruction (AVX-512's
     * vpermt2ps; Sgemm's ZIP_PACK_A measured the emulated AVX2 one no faster than copying element by element).
     * ResNet-20's 16-channel 32 x 32 layer: 6.4 -> 4.6 us staging, 10.8 -> 5.6 unstaging.
     */
    private static final boolean ZIPS = L == 16 && Simd.X86;

    /**
     * Whether 8 x 8 blocks of the channels-first / channels-last copies are transposed in registers ({@link
     * Sgemm#transpose8x8}): at 8 lanes on x86 (AVX2). Measured (Xeon, -XX:UseAVX=2, a 16-channel 8 x 32 band): 0.96
     * against 1.96 us element by element; the copies were 23% of ResNet-20's batch-1 plan at 256 bits (2,658 + 1,786 +
     * 1,745 of 16,500 samples with the 6 x 2 products).
     */
    private static final boolean ZIPS8 = Sgemm.TRANSPOSE8;

    /** Pixels per block of the channels-first / channels-last copies. */
    private static final int TRANSPOSE_BLOCK = 16;

    /**
     * The channels-last products {@code [rows][width][kp]} as {@code k} planes of {@code rows x w} (w <= width), a
     * block of pixels at a time (its floats stay in L1 while every channel's plane takes its run).
     */
    private static void unstageBand(float[] products, int width, int kp, int k, int rows, int w, float[] planes) {
        int band = rows * w;
        if (ZIPS8) { // whole 8 x 8 blocks in registers, then the channels and pixels past them element by element
            int wholeK = k / 8 * 8;
            int wholeW = w / 8 * 8;
            for (int y = 0; y < rows; y++) {
                for (int x0 = 0; x0 < wholeW; x0 += 8) {
                    for (int o = 0; o < wholeK; o += 8) {
                        Sgemm.transpose8x8(products, (y * width + x0) * kp + o, kp, planes, o * band + y * w + x0, band);
                    }
                }
                for (int o = 0; o < k; o++) {
                    for (int x = o < wholeK ? wholeW : 0, src = (y * width + x) * kp + o, dst = o * band + y * w + x; x < w; x++, src += kp, dst++) {
                        planes[dst] = products[src];
                    }
                }
            }
            return;
        }
        int wholeK = ZIPS ? k / 16 * 16 : 0;
        int wholeW = ZIPS ? w / 16 * 16 : 0;
        for (int y = 0; y < rows; y++) {
            if (ZIPS && w == 8 && y + 1 < rows) { // rows y and y + 1 (8 pixels each) as one block of 16, a run of each plane
                for (int o = 0; o < wholeK; o += 16) {
                    Sgemm.transposeBlockZipped(products, y * width * kp + o, (y + 1) * width * kp + o, kp, planes, o * band + y * w,
                            (o + 8) * band + y * w, band);
                }
                for (int yy = y; yy < y + 2; yy++) { // channels past the whole 16s
                    for (int o = wholeK; o < k; o++) {
                        for (int xx = 0, src = yy * width * kp + o, dst = o * band + yy * w; xx < w; xx++, src += kp, dst++) {
                            planes[dst] = products[src];
                        }
                    }
                }
                y++;
                continue;
            }
            for (int x0 = 0; x0 < wholeW; x0 += 16) { // whole 16 x 16 blocks in registers
                for (int o = 0; o < wholeK; o += 16) {
                    int src = (y * width + x0) * kp + o;
                    Sgemm.transposeBlockZipped(products, src, src + 8 * kp, kp, planes, o * band + y * w + x0, (o + 8) * band + y * w + x0, band);
                }
            }
            for (int x0 = 0; x0 < w; x0 += TRANSPOSE_BLOCK) {
                int x1 = Math.min(w, x0 + TRANSPOSE_BLOCK);
                for (int o = x0 < wholeW ? wholeK : 0; o < k; o++) {
                    for (int x = x0, src = (y * width + x0) * kp + o, dst = o * band + y * w + x0; x < x1; x++, src += kp, dst++) {
                        planes[dst] = products[src];
                    }
                }
            }
        }
    }
}
