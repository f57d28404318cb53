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
 * the same order), element-wise ops of one and two operands (each op's scalar formula is its lanes' formula: the vector
 * loops' tails use it), the direct convolution ({@code Conv2dDriver.forwardScalar}: one FMA chain per depth block, as
 * every GEMM tile computes it) and Winograd's ({@code Winograd.forwardScalar}: the transforms' operations in their
 * order, each product one FMA chain over the channels). One counter per family, decremented without synchronisation: a
 * lost update moves the switch by a call or two, and either form gives the same bits. The vector forms then warm up
 * from their first call as before, so the JIT's warm-up moves to the calls after these (ResNet-20: its 3rd to 10th
 * predictions take ~90-115 ms each instead of ~30-75; the tenth comes 1.6 -> 1.3 s after launch at 512 bits, but
 * 1.1 -> 1.3 s at 128).
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

    /** The most weights (output channels x unfolded rows) a scalar convolution copies (4 MB). */
    static final long CONV_MAX_WEIGHTS = 1 << 20;

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
        if (left >= 0) {
            convImages = left;
        }
        return left >= 0;
    }

    /** Whether these images of a Winograd convolution take {@code Winograd.forwardScalar}: while as many are left. */
    static boolean winogradImages(long count) {
        int left = remaining(winogradImages, count);
        if (left >= 0) {
            winogradImages = left;
        }
        return left >= 0;
    }

    /** What a counter holds after taking {@code count} of its {@code left}, or -1 when fewer are left. */
    private static int remaining(int left, long count) {
        return left <= 0 || count > left ? -1 : (int) (left - count);
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
