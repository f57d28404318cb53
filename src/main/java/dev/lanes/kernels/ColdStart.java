package dev.lanes.kernels;

/**
 * The first calls of a few kernels in a process take their scalar reference forms, which give the same bits as the
 * vector forms (the vector forms are written to the scalar order: see {@link Simd#GROUP}). Until C2 compiles a kernel,
 * its Vector API calls run un-intrinsified, in the interpreter or in C1's code, where each lane op builds an array and
 * loops over it: the first inferences of a fresh JVM, and a plan's trace and self-check, spent most of their time there,
 * and a scalar loop runs many times faster until then. Measured (Intel Xeon, AVX-512, the ONNX exports, JVM start to
 * first prediction, {@code bench/compare-ort}): LeNet 280-305 -> 207-288 ms, ResNet-20 ~700 -> ~400.
 *
 * <p>Only kernels whose scalar form is exactly the vector form's arithmetic are gated: max-pooling (a selection), the
 * canonical dot product and sum ({@link Sgemm#dot32Scalar}, {@code Reductions.sum32Scalar}: the same 32 partial sums in
 * the same order), the batch-1 product of a plan's Linear ({@code Sgemm.gemvScalar}: the vector forms' even and odd
 * chains per column), the packing of a plan's weights into slivers (a copy), element-wise ops of one and two operands (each op's scalar formula is its lanes' formula: the vector
 * loops' tails use it), the direct convolution ({@code Conv2dDriver.forwardScalar}: one FMA chain per depth block, as
 * every GEMM tile computes it) and Winograd's ({@code Winograd.forwardScalar}: the transforms' operations in their
 * order, each product one FMA chain over the channels). One counter per family, decremented without synchronisation: a
 * lost update moves the switch by a call or two, and either form gives the same bits. The small families then switch
 * for good and warm up from their first vector call; the two convolutions, the bulk of a CNN, probe their vector form
 * first ({@link Probe}).
 * {@code -Dlanes.coldStart=false} turns the gate off; the test JVMs pass it (and ChildJvm's children), so the suite's
 * width and tile comparisons test the vector forms, and ColdStartTest opens the gates itself.
 */
final class ColdStart {
    private ColdStart() {
    }

    private static final boolean ENABLED = !"false".equals(System.getProperty("lanes.coldStart"));

    /** Max-pooling planes, dot products and element-wise rows that still take the scalar form (package-private for tests). */
    static int poolPlanes = ENABLED ? 512 : 0;
    static int dots = ENABLED ? 4096 : 0;
    static int unaryRows = ENABLED ? 512 : 0;
    static int binaryRows = ENABLED ? 512 : 0;
    static int sums = ENABLED ? 4096 : 0;
    static int convImages = ENABLED ? 64 : 0;
    static int winogradImages = ENABLED ? 64 : 0;
    static int gemvs = ENABLED ? 256 : 0;
    /** 8-row slivers of A packed float by float: a copy, the same floats either way (a plan's weights, any packed GEMM's A). */
    static int packs = ENABLED ? 1024 : 0;

    /** The most weights (output channels x unfolded rows) a scalar convolution copies (4 MB). */
    static final long CONV_MAX_WEIGHTS = 1 << 20;
    /**
     * The most multiply-adds one image of a scalar convolution may cost (16.8 million): a small model's layers (ResNet-20's
     * 2.4 million, LeNet's 0.24) start scalar; an ImageNet-sized layer (ResNet's 3 x 3 64 -> 64 on 56 x 56: 116 million,
     * its 128- to 512-channel layers alike) would spend tenths of a second an image in the scalar loop where the vector
     * form, even before C2 has it, gets its inner loops compiled on the stack within the call.
     */
    static final long CONV_MAX_IMAGE_MACS = 1L << 24;

    /** Whether this max-pooling plane takes the scalar loop. */
    static boolean poolPlane() {
        return poolPlanes > 0 && poolPlanes-- > 0;
    }

    /** Whether this canonical sum takes {@code Reductions.sum32Scalar}. */
    static boolean sum() {
        return sums > 0 && sums-- > 0;
    }

    /** Whether this dot product takes {@link Sgemm#dot32Scalar}. */
    static boolean dot() {
        return dots > 0 && dots-- > 0;
    }

    /** Whether these convolution images (times groups) take {@code Conv2dDriver.forwardScalar}: while as many are left. */
    static boolean convImages(long count) {
        int left = remaining(convImages, count);
        convImages = Math.max(left, 0); // a call that does not fit ends the count: the probes take over
        return left >= 0;
    }

    /** Whether these images of a Winograd convolution take {@code Winograd.forwardScalar}: while as many are left. */
    static boolean winogradImages(long count) {
        int left = remaining(winogradImages, count);
        winogradImages = Math.max(left, 0); // as convImages
        return left >= 0;
    }

    /** What a counter holds after taking {@code count} of its {@code left}, or -1 when fewer are left. */
    private static int remaining(int left, long count) {
        return left <= 0 || count > left ? -1 : (int) (left - count);
    }

    /**
     * The convolutions' second phase. Once a family's count is spent its vector form is still un-compiled: C2 compiles
     * it only after it has run, and on a busy machine its queue is long, so switching for good gave ResNet-20's 4th
     * prediction 210-280 ms and the next few 60-140 (the vector code interpreted or in C1's boxing code) where the
     * scalar form, compiled by then, takes ~20. So after the count every {@link #PROBE_EVERY}th call tries the vector
     * form and is timed, the others keep the scalar form and are timed too; the family switches for good the first
     * time a vector call costs no more per multiply-add than {@link #SETTLE_WITHIN} times the best scalar call seen,
     * or after {@link #MAX_PROBES} tries. Measured (Intel Xeon, 512 bits, 2 cores, ResNet-20 from launch, 3 JVMs each): the slowest of the first 60
     * predictions 234-274 -> 78-85 ms, the first 20 together 1.10-1.14 -> 0.67-0.68 s, all 60 within noise (1.61-1.76
     * against 1.54-1.74 s; the vector form warms on fewer calls, so predictions 21-60 take 0.57-0.75 s against
     * 0.19-0.31); every 4th call instead: 93-127 ms at worst. Either form gives the same bits, so a race on these
     * fields changes only which one runs.
     */
    static final class Probe {
        /** Calls since the count was spent, for picking every PROBE_EVERY-th. */
        private int calls;
        /** The best scalar call's nanoseconds per unit of work (+inf until one is timed). */
        private double scalarBest = Double.POSITIVE_INFINITY;
        /** Set once, never cleared: the vector form for good. */
        volatile boolean settled;
        /** Vector calls timed (for tests and the note below). */
        int probes;

        Probe(boolean settled) {
            this.settled = settled;
        }

        /** Back to its first state, probing (tests). */
        void reset() {
            calls = 0;
            scalarBest = Double.POSITIVE_INFINITY;
            probes = 0;
            settled = false;
        }

        /** Whether a call after the count takes the vector form (and is timed as a probe). */
        boolean probeVector() {
            return ++calls % PROBE_EVERY == 0;
        }

        /** A timed call: {@code nanos} for {@code work} multiply-adds, in the scalar or the vector form. */
        void took(boolean scalar, long nanos, long work) {
            double perWork = (double) nanos / Math.max(1, work);
            if (scalar) {
                if (perWork < scalarBest) {
                    scalarBest = perWork;
                }
            } else if (++probes >= MAX_PROBES || perWork <= SETTLE_WITHIN * scalarBest) {
                settled = true;
            }
        }
    }

    /**
     * A vector call within this factor of the best scalar call's time per multiply-add settles a probe. A vector form
     * C2 has not compiled yet runs 10-100x slower than the scalar one, so within 2x means compiled. Requiring 1x kept
     * ResNet-20's convolutions on their scalar forms longer: its 3-channel first layer's scalar loop (which C2
     * vectorizes itself) is about as fast per multiply-add as the vector calls, so the direct convolutions settled after
     * 124-276 plan calls and Winograd after 35-73; within 2x, 52-60 and 20-23, both on the vector form 1.85-1.88 s after
     * launch instead of 2.2-2.7 (Zen 3, AVX2, two JVMs each). The scalar paths then stop being hot sooner, and C2's queue
     * gets to the vector kernels sooner: on 2 cores it was still compiling them 3.3 s after launch (CompareOrt's
     * 3-second warm-up; in a busy hour its p99 read 2.7-6.4 ms where a 12-second warm-up gave 1.07-1.13).
     */
    static final double SETTLE_WITHIN = 2.0;

    /** After its count, one call in this many tries the vector form (see {@link Probe}). */
    static final int PROBE_EVERY = 8;
    /** Probes after which the vector form is taken for good whatever they measured (a bound on a noisy machine's probing). */
    static final int MAX_PROBES = 1024;
    /** After its count, a call of more images takes the vector form (a batch's scalar call would take seconds). */
    static final int PROBE_MAX_IMAGES = 4;

    static final Probe CONV = new Probe(!ENABLED);
    static final Probe WINOGRAD = new Probe(!ENABLED);

    /** Whether this sliver of A is packed float by float rather than by {@code Sgemm.packARowsZipped}'s vectors. */
    static boolean pack() {
        return packs > 0 && packs-- > 0;
    }

    /** Whether this batch-1 product ({@code Sgemm.gemvPacked}) takes its scalar form. */
    static boolean gemv() {
        return gemvs > 0 && gemvs-- > 0;
    }

    /** Whether this element-wise row takes the op's scalar formula. */
    static boolean unaryRow() {
        return unaryRows > 0 && unaryRows-- > 0;
    }

    /** Whether this row of a two-operand element-wise op takes its scalar formula. */
    static boolean binaryRow() {
        return binaryRows > 0 && binaryRows-- > 0;
    }
}
