package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorMath} against StrictMath (within 2 ulp of the rounded double result, over random bit patterns,
 * dense samples of each function's working range and the special values and thresholds), and its vector forms
 * against their scalar twins bit for bit.
 *
 * <p>The vector forms run on {@link Simd.Preferred#F} only: feeding other species through the same methods makes their
 * call profiles polymorphic, and C2 then leaves the Vector API calls to their Java fallback, which is not the
 * code under test. Other widths: run this test with {@code -XX:MaxVectorSize=16} or {@code -XX:UseAVX=2}.
 */
class VectorMathTest {
    private static final int MAX_ULP = 2;
    private static final int RANDOM_BITS = 1_000_000;
    private static final int DENSE = 1_000_000;

    /** A function under test: scalar twin, vector form, double reference, and its interesting range. */
    private enum Fn {
        EXP(VectorMath::exp, VectorMath::exp, StrictMath::exp, -104f, 89f),
        LOG(VectorMath::log, VectorMath::log, StrictMath::log, 0f, 1e6f),
        TANH(VectorMath::tanh, VectorMath::tanh, StrictMath::tanh, -10f, 10f),
        SIGMOID(VectorMath::sigmoid, VectorMath::sigmoid, x -> 1 / (1 + StrictMath.exp(-x)), -110f, 110f),
        SIN(VectorMath::sin, v -> trigViaRow(0, v), StrictMath::sin, -1e4f, 1e4f),
        COS(VectorMath::cos, v -> trigViaRow(1, v), StrictMath::cos, -1e4f, 1e4f),
        EXPM1(VectorMath::expm1, VectorMath::expm1, StrictMath::expm1, -20f, 89f),
        LOG1P(VectorMath::log1p, VectorMathTest::log1pViaRow, StrictMath::log1p, -1f, 1e6f);

        final ScalarFn scalar;
        final UnaryOperator<FloatVector> vector;
        final DoubleUnaryOperator reference;
        final float lo;
        final float hi;

        Fn(ScalarFn scalar, UnaryOperator<FloatVector> vector, DoubleUnaryOperator reference, float lo, float hi) {
            this.scalar = scalar;
            this.vector = vector;
            this.reference = reference;
            this.lo = lo;
            this.hi = hi;
        }

        float expected(float x) {
            return (float) reference.applyAsDouble(x);
        }
    }

    /** sin and cos have no per-vector method (their row is one loop body, see VectorMath.trigRow): one vector through the row. */
    private static FloatVector trigViaRow(int shift, FloatVector v) {
        float[] in = v.toArray();
        float[] out = new float[in.length];
        VectorMath.trigRow(shift, MemorySegment.ofArray(in), 0, MemorySegment.ofArray(out), 0, 4L * in.length);
        return FloatVector.fromArray(v.species(), out, 0);
    }

    /** log1p has no per-vector method either (its row is one loop body, see VectorMath.log1pRow): one vector through the row. */
    private static FloatVector log1pViaRow(FloatVector v) {
        float[] in = v.toArray();
        float[] out = new float[in.length];
        VectorMath.log1pRow(MemorySegment.ofArray(in), 0, MemorySegment.ofArray(out), 0, 4L * in.length);
        return FloatVector.fromArray(v.species(), out, 0);
    }

    /** erf's row, one vector through it (no per-vector method: see VectorMath.erfRow). */
    private static FloatVector erfViaRow(FloatVector v) {
        float[] in = v.toArray();
        float[] out = new float[in.length];
        VectorMath.erfRow(MemorySegment.ofArray(in), 0, MemorySegment.ofArray(out), 0, 4L * in.length);
        return FloatVector.fromArray(v.species(), out, 0);
    }

    @FunctionalInterface
    private interface ScalarFn {
        float apply(float x);
    }

    /** Position on the number line in units of the float spacing; subnormals count at their own spacing. */
    private static long ordinal(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits < 0 ? -(long) (bits & 0x7fffffff) : bits;
    }

    /** ulp distance; equal infinities and NaN vs NaN are 0, anything else against a NaN or an infinity is huge. */
    static long ulpDistance(float got, float want) {
        if (Float.isNaN(got) || Float.isNaN(want)) {
            return Float.isNaN(got) && Float.isNaN(want) ? 0 : Long.MAX_VALUE;
        }
        if (Float.isInfinite(got) || Float.isInfinite(want)) {
            return got == want ? 0 : Long.MAX_VALUE;
        }
        return Math.abs(ordinal(got) - ordinal(want));
    }

    @Test
    void ulpDistanceCountsAcrossZeroAndSubnormals() {
        assertThat(ulpDistance(Float.MIN_VALUE, -Float.MIN_VALUE)).isEqualTo(2);
        assertThat(ulpDistance(0f, -0f)).isZero();
        assertThat(ulpDistance(Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL))).isEqualTo(1);
        assertThat(ulpDistance(1f, Math.nextUp(Math.nextUp(1f)))).isEqualTo(2);
        assertThat(ulpDistance(Float.NaN, Float.NaN)).isZero();
        assertThat(ulpDistance(Float.NaN, 1f)).isEqualTo(Long.MAX_VALUE);
        assertThat(ulpDistance(Float.POSITIVE_INFINITY, Float.MAX_VALUE)).isEqualTo(Long.MAX_VALUE);
        assertThat(ulpDistance(Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY)).isZero();
    }

    /** Special values, thresholds and their neighbours, for every function. */
    private static float[] edges() {
        float[] base = {
            0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MIN_NORMAL,
            Math.nextDown(Float.MIN_NORMAL), Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7f800001),
            Float.intBitsToFloat(0xffc00123), 1f, -1f, 0.5f, 2f,
            88.72283935546875f, 89f, 88.72283f, -87.33655f, -103.972084f, -103.97208f, -104f, -110f, -150f, // exp
            Float.intBitsToFloat(0x3f3504f3), (float) Math.sqrt(2), 1e-30f, 1e30f, // log
            0.625f, 9.010914f, 10f, 20f, -9.010914f, 1e-4f, -1e-4f, // tanh
            17.32868f, -17.32868f, 16.635532f, 88.8f, -88.8f, // sigmoid
            0x1p-25f, 0x1p-24f, 0.34657359f, 1.0397208f, 16.98215f, 17.328680f, -30f, -17.328680f, 0.29289323f, 0.41421357f, -0.99999994f, // expm1, log1p
        };
        List<Float> all = new ArrayList<>();
        for (float x : base) {
            all.add(x);
            all.add(Math.nextUp(x));
            all.add(Math.nextDown(x));
            all.add(-x);
        }
        float[] out = new float[all.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = all.get(i);
        }
        return out;
    }

    /** Random bit patterns, dense uniform samples of [lo, hi], and the edges. */
    private static float[] inputs(Fn fn, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] edges = edges();
        float[] xs = new float[RANDOM_BITS + 2 * DENSE + edges.length];
        int k = 0;
        for (int i = 0; i < RANDOM_BITS; i++) {
            xs[k++] = Float.intBitsToFloat(rnd.nextInt());
        }
        for (int i = 0; i < DENSE; i++) {
            xs[k++] = fn.lo + (fn.hi - fn.lo) * (float) ((i + 0.5) / DENSE);
        }
        for (int i = 0; i < DENSE; i++) {
            // log: near 1, where log(x) is small and the mantissa split changes side; others: random points
            // expm1, log1p: near 0 at every scale (2^-30 to 1, either sign), where they must not lose x's digits
            xs[k++] = fn == Fn.LOG ? (float) rnd.nextDouble(0.5, 2)
                    : fn == Fn.EXPM1 || fn == Fn.LOG1P ? (float) ((rnd.nextBoolean() ? 1 : -1) * Math.scalb(rnd.nextDouble(1, 2), -rnd.nextInt(1, 31)))
                    : (float) rnd.nextDouble(fn.lo, fn.hi);
        }
        System.arraycopy(edges, 0, xs, k, edges.length);
        return xs;
    }

    private static void assertWithinUlps(Fn fn) {
        float[] xs = inputs(fn, 1234 + fn.ordinal());
        long worst = 0;
        float worstX = 0;
        for (float x : xs) {
            long d = ulpDistance(fn.scalar.apply(x), fn.expected(x));
            if (d > worst) {
                worst = d;
                worstX = x;
            }
        }
        assertThat(worst).as("%s: max ulp error, at x = %s (%s): got %s, StrictMath %s", fn, worstX,
                Integer.toHexString(Float.floatToRawIntBits(worstX)), fn.scalar.apply(worstX), fn.expected(worstX))
                .isLessThanOrEqualTo(MAX_ULP);
    }

    @Test
    void expIsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.EXP);
    }

    @Test
    void logIsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.LOG);
        // the whole positive range, log-uniformly (random bits hit huge and tiny values alike; this adds mid-range)
        SplittableRandom rnd = new SplittableRandom(99);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) Math.exp(rnd.nextDouble(-103, 88));
            assertThat(ulpDistance(VectorMath.log(x), Fn.LOG.expected(x))).as("log(%s)", x).isLessThanOrEqualTo(MAX_ULP);
        }
    }

    @Test
    void expm1IsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.EXPM1);
        // every float of [-0.75, 0.75]'s neighbourhood of the n = -1, 0, 1 switches, where 2^n u + (2^n - 1) cancels
        for (float x = -1.1f; x <= 1.1f; x = Math.nextUp(x)) {
            if (Math.abs(x) > 0.2f) {
                assertThat(ulpDistance(VectorMath.expm1(x), Fn.EXPM1.expected(x))).as("expm1(%s)", x).isLessThanOrEqualTo(MAX_ULP);
            }
        }
    }

    @Test
    void log1pIsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.LOG1P);
        // every float of (-1, -0.2] and [0.2, 1.5]: the split of 1 + x changes side at sqrt(1/2) - 1 and sqrt(2) - 1
        for (float x = Math.nextUp(-1f); x <= 1.5f; x = Math.nextUp(x)) {
            if (Math.abs(x) > 0.2f) {
                assertThat(ulpDistance(VectorMath.log1p(x), Fn.LOG1P.expected(x))).as("log1p(%s)", x).isLessThanOrEqualTo(MAX_ULP);
            }
        }
        SplittableRandom rnd = new SplittableRandom(98);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) Math.exp(rnd.nextDouble(-103, 88));
            assertThat(ulpDistance(VectorMath.log1p(x), Fn.LOG1P.expected(x))).as("log1p(%s)", x).isLessThanOrEqualTo(MAX_ULP);
        }
    }

    @Test
    void tanhIsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.TANH);
    }

    @Test
    void sigmoidIsWithinTwoUlpOfStrictMath() {
        assertWithinUlps(Fn.SIGMOID);
    }

    /**
     * sin and cos are computed in double and rounded once: within 1 ulp of StrictMath's rounded value (2 for the other
     * functions), over random bits, dense samples of [-1e4, 1e4], every float nearest to a multiple of pi / 4 up to the
     * reduction's limit (where the remainder cancels most), log-uniform magnitudes up to it, and the edges.
     */
    @Test
    void sinAndCosAreWithinOneUlpOfStrictMath() {
        for (Fn fn : new Fn[] {Fn.SIN, Fn.COS}) {
            long worst = 0;
            float worstX = 0;
            float[] xs = inputs(fn, 77 + fn.ordinal());
            SplittableRandom rnd = new SplittableRandom(5 + fn.ordinal());
            float[] more = new float[2_000_000];
            for (int i = 0; i < 1_000_000; i++) {
                double k = Math.floor(rnd.nextDouble(0, 0x1p20 / (Math.PI / 4))); // a multiple of pi / 4 below 2^20
                float near = (float) (k * Math.PI / 4);
                more[2 * i] = rnd.nextBoolean() ? near : -Math.nextUp(near);
                more[2 * i + 1] = (float) (Math.exp(rnd.nextDouble(-90, Math.log(0x1p20))) * (rnd.nextBoolean() ? 1 : -1));
            }
            for (float[] set : new float[][] {xs, more}) {
                for (float x : set) {
                    long d = ulpDistance(fn.scalar.apply(x), fn.expected(x));
                    if (d > worst) {
                        worst = d;
                        worstX = x;
                    }
                }
            }
            assertThat(worst).as("%s: max ulp error, at x = %s: got %s, StrictMath %s", fn, worstX, fn.scalar.apply(worstX), fn.expected(worstX))
                    .isLessThanOrEqualTo(1);
        }
        // past the reduction's limit the lanes are StrictMath's; the special values as PyTorch's
        assertBits(VectorMath.sin(0x1p21f), (float) StrictMath.sin(0x1p21f), "sin(2^21)");
        assertBits(VectorMath.cos(-3e38f), (float) StrictMath.cos(-3e38f), "cos(-3e38)");
        assertBits(VectorMath.sin(-0f), -0f, "sin(-0)");
        assertBits(VectorMath.sin(0f), 0f, "sin(0)");
        assertBits(VectorMath.cos(-0f), 1f, "cos(-0)");
        assertBits(VectorMath.sin(Float.MIN_VALUE), Float.MIN_VALUE, "sin(MIN_VALUE)");
        assertBits(VectorMath.sin(-Float.MIN_VALUE), -Float.MIN_VALUE, "sin(-MIN_VALUE)");
        assertThat(VectorMath.sin(Float.POSITIVE_INFINITY)).isNaN();
        assertThat(VectorMath.cos(Float.NEGATIVE_INFINITY)).isNaN();
        float payload = Float.intBitsToFloat(0x7fc01234);
        assertBits(VectorMath.sin(payload), payload, "sin(NaN with a payload)");
        assertBits(VectorMath.cos(payload), payload, "cos(NaN with a payload)");
    }

    private static void assertBits(float got, float want, String what) {
        assertThat(Integer.toHexString(Float.floatToRawIntBits(got))).as(what + " = " + got)
                .isEqualTo(Integer.toHexString(Float.floatToRawIntBits(want)));
    }

    @Test
    void specialValuesFollowStrictMathAndPyTorch() {
        float inf = Float.POSITIVE_INFINITY;
        assertThat(VectorMath.exp(Float.NaN)).isNaN();
        assertBits(VectorMath.exp(inf), inf, "exp(+inf)");
        assertBits(VectorMath.exp(-inf), 0f, "exp(-inf)");
        assertBits(VectorMath.exp(0f), 1f, "exp(0)");
        assertBits(VectorMath.exp(-0f), 1f, "exp(-0)");
        assertBits(VectorMath.exp(88.72283935546875f), inf, "exp(88.72283935546875)"); // e^x rounds up past MAX_VALUE
        assertThat(VectorMath.exp(Math.nextDown(88.72283935546875f))).isEqualTo(Fn.EXP.expected(Math.nextDown(88.72283935546875f)))
                .isLessThan(inf);
        assertBits(VectorMath.exp(-103.972084f), 0f, "exp(-103.972084)");
        assertBits(VectorMath.exp(-103.97208f), Float.MIN_VALUE, "exp(-103.97208)");
        assertThat(VectorMath.exp(-100f)).isEqualTo(Fn.EXP.expected(-100f)).isPositive(); // subnormal, not flushed

        assertThat(VectorMath.log(Float.NaN)).isNaN();
        assertBits(VectorMath.log(0f), -inf, "log(0)");
        assertBits(VectorMath.log(-0f), -inf, "log(-0)");
        assertThat(VectorMath.log(-1f)).isNaN();
        assertThat(VectorMath.log(-Float.MIN_VALUE)).isNaN();
        assertThat(VectorMath.log(-inf)).isNaN();
        assertBits(VectorMath.log(inf), inf, "log(+inf)");
        assertBits(VectorMath.log(1f), 0f, "log(1)");
        assertThat(VectorMath.log(Float.MIN_VALUE)).isEqualTo(Fn.LOG.expected(Float.MIN_VALUE));
        assertThat(VectorMath.log(Float.MAX_VALUE)).isEqualTo(Fn.LOG.expected(Float.MAX_VALUE));

        assertThat(VectorMath.tanh(Float.NaN)).isNaN();
        assertBits(VectorMath.tanh(inf), 1f, "tanh(+inf)");
        assertBits(VectorMath.tanh(-inf), -1f, "tanh(-inf)");
        assertBits(VectorMath.tanh(0f), 0f, "tanh(0)");
        assertBits(VectorMath.tanh(-0f), -0f, "tanh(-0)");
        assertBits(VectorMath.tanh(Float.MIN_VALUE), Float.MIN_VALUE, "tanh(MIN_VALUE)");
        assertBits(VectorMath.tanh(-Float.MIN_VALUE), -Float.MIN_VALUE, "tanh(-MIN_VALUE)");
        assertBits(VectorMath.tanh(9.010914f), 1f, "tanh(9.010914)");

        assertThat(VectorMath.sigmoid(Float.NaN)).isNaN();
        assertBits(VectorMath.sigmoid(inf), 1f, "sigmoid(+inf)");
        assertBits(VectorMath.sigmoid(-inf), 0f, "sigmoid(-inf)");
        assertBits(VectorMath.sigmoid(0f), 0.5f, "sigmoid(0)");
        assertBits(VectorMath.sigmoid(-0f), 0.5f, "sigmoid(-0)");
        assertBits(VectorMath.sigmoid(17.32868f), 1f, "sigmoid(17.32868)");
        assertBits(VectorMath.sigmoid(-103.972084f), 0f, "sigmoid(-103.972084)");
        assertBits(VectorMath.sigmoid(-103.97208f), Float.MIN_VALUE, "sigmoid(-103.97208)");
        assertThat(VectorMath.sigmoid(-95f)).isEqualTo(Fn.SIGMOID.expected(-95f)).isPositive(); // subnormal

        assertThat(VectorMath.expm1(Float.NaN)).isNaN();
        assertBits(VectorMath.expm1(inf), inf, "expm1(+inf)");
        assertBits(VectorMath.expm1(-inf), -1f, "expm1(-inf)");
        assertBits(VectorMath.expm1(0f), 0f, "expm1(0)");
        assertBits(VectorMath.expm1(-0f), -0f, "expm1(-0)");
        assertBits(VectorMath.expm1(Float.MIN_VALUE), Float.MIN_VALUE, "expm1(MIN_VALUE)");
        assertBits(VectorMath.expm1(-Float.MIN_VALUE), -Float.MIN_VALUE, "expm1(-MIN_VALUE)");
        assertBits(VectorMath.expm1(1e-30f), 1e-30f, "expm1(1e-30)");
        assertBits(VectorMath.expm1(88.72283935546875f), inf, "expm1(88.72283935546875)"); // overflows where exp does
        assertThat(VectorMath.expm1(Math.nextDown(88.72283935546875f))).isEqualTo(Fn.EXPM1.expected(Math.nextDown(88.72283935546875f)))
                .isLessThan(inf);
        assertBits(VectorMath.expm1(-17.5f), -1f, "expm1(-17.5)");
        assertBits(VectorMath.expm1(-1000f), -1f, "expm1(-1000)");

        assertThat(VectorMath.log1p(Float.NaN)).isNaN();
        assertBits(VectorMath.log1p(inf), inf, "log1p(+inf)");
        assertThat(VectorMath.log1p(-inf)).isNaN();
        assertThat(VectorMath.log1p(-1.0000001f)).isNaN();
        assertBits(VectorMath.log1p(-1f), -inf, "log1p(-1)");
        assertBits(VectorMath.log1p(0f), 0f, "log1p(0)");
        assertBits(VectorMath.log1p(-0f), -0f, "log1p(-0)");
        assertBits(VectorMath.log1p(Float.MIN_VALUE), Float.MIN_VALUE, "log1p(MIN_VALUE)");
        assertBits(VectorMath.log1p(-Float.MIN_VALUE), -Float.MIN_VALUE, "log1p(-MIN_VALUE)");
        assertBits(VectorMath.log1p(1e-30f), 1e-30f, "log1p(1e-30)");
        assertThat(VectorMath.log1p(Float.MAX_VALUE)).isEqualTo(Fn.LOG1P.expected(Float.MAX_VALUE));
        assertThat(VectorMath.log1p(Math.nextUp(-1f))).isEqualTo(Fn.LOG1P.expected(Math.nextUp(-1f)));
    }

    /** Random bits, the edges, and dense samples of the working range: every lane against the scalar twin. */
    private static float[] laneInputs(Fn fn) {
        SplittableRandom rnd = new SplittableRandom(7 + fn.ordinal());
        float[] edges = edges();
        float[] xs = new float[200_000 + edges.length];
        for (int i = 0; i < 100_000; i++) {
            xs[i] = Float.intBitsToFloat(rnd.nextInt());
            xs[100_000 + i] = (float) rnd.nextDouble(fn.lo, fn.hi);
        }
        System.arraycopy(edges, 0, xs, 200_000, edges.length);
        return xs;
    }

    private static void assertLanesMatchScalar(String what, VectorSpecies<Float> species, float[] xs,
                                               UnaryOperator<FloatVector> vector, ScalarFn scalar) {
        int lanes = species.length();
        float[] in = new float[xs.length + lanes - xs.length % lanes];
        System.arraycopy(xs, 0, in, 0, xs.length);
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i += lanes) {
            vector.apply(FloatVector.fromArray(species, in, i)).intoArray(out, i);
        }
        for (int i = 0; i < in.length; i++) {
            if (Float.floatToRawIntBits(out[i]) != Float.floatToRawIntBits(scalar.apply(in[i]))) {
                assertBits(out[i], scalar.apply(in[i]), what + " lane of " + species + " at x = " + in[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(in[i])) + ")");
            }
        }
    }

    @Test
    void vectorFormsEqualScalarTwinsBitForBit() {
        for (Fn fn : Fn.values()) {
            float[] xs = laneInputs(fn);
            assertLanesMatchScalar(fn.name(), Simd.Preferred.F, xs, fn.vector, fn.scalar);
        }
    }

    private static final float[] EXPONENTS = {2f, 1f, 0f, -0f, -1f, 0.5f, 3f, -2f, -0.5f, 1f / 3, 2.5f, 10f,
        Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};

    @Test
    void powEqualsStrictMathAndVectorEqualsScalar() {
        float[] xs = laneInputs(Fn.TANH); // random bits, edges (zeros, infinities, NaNs) and [-10, 10]
        // StrictMath.pow is slow: 25k random bit patterns, 25k of [-10, 10] and the edges
        float[] powBases = Arrays.copyOfRange(xs, 175_000, xs.length);
        System.arraycopy(xs, 0, powBases, 0, 25_000);
        for (float p : EXPONENTS) {
            for (float x : powBases) {
                // StrictMath's value, but C's (PyTorch's) 1^y = 1 and (-1)^(+-inf) = 1 where Java's gives NaN
                float want = x == 1f || (x == -1f && Float.isInfinite(p)) ? 1f : (float) StrictMath.pow(x, p);
                float got = VectorMath.pow(x, p);
                if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want)) {
                    assertThat(Float.isNaN(got) && Float.isNaN(want)).as("pow(%s, %s) = %s, StrictMath %s", x, p, got, want).isTrue();
                }
            }
            // a scalar exponent: the vector form equals its scalar twin; that is the tensor exponent's value (StrictMath's)
            // except at 0.5 and -0.5, PyTorch's sqrt and 1 / sqrt (-0 -> -0 / -inf, -inf -> NaN), and 3 and -2, PyTorch's
            // x x x and 1 / (x x) (torch.pow(x, 3) == x * x * x in 100% of 100k samples; the rounded power agrees in 74%)
            assertLanesMatchScalar("pow(x, " + p + ")", Simd.Preferred.F, powBases, v -> VectorMath.pow(v, p), x -> VectorMath.powScalarExponent(x, p));
            for (float x : powBases) {
                float want = p == 0.5f ? (float) Math.sqrt(x) : p == -0.5f ? 1f / (float) Math.sqrt(x) : p == 3f ? x * x * x
                        : p == -2f ? 1f / (x * x) : VectorMath.pow(x, p);
                assertBits(VectorMath.powScalarExponent(x, p), want, "powScalarExponent(" + x + ", " + p + ")");
            }
        }
        // tensor exponent: lane by lane
        SplittableRandom rnd = new SplittableRandom(5);
        float[] ps = new float[Simd.LANES * 64];
        float[] bases = new float[ps.length];
        for (int i = 0; i < ps.length; i++) {
            ps[i] = i % 3 == 0 ? EXPONENTS[i % EXPONENTS.length] : (float) rnd.nextDouble(-4, 4);
            bases[i] = i % 5 == 0 ? xs[rnd.nextInt(xs.length)] : (float) rnd.nextDouble(0, 10);
        }
        float[] out = new float[ps.length];
        for (int i = 0; i < ps.length; i += Simd.LANES) {
            VectorMath.pow(FloatVector.fromArray(Simd.Preferred.F, bases, i), FloatVector.fromArray(Simd.Preferred.F, ps, i)).intoArray(out, i);
        }
        for (int i = 0; i < ps.length; i++) {
            assertBits(out[i], VectorMath.pow(bases[i], ps[i]), "pow(" + bases[i] + ", " + ps[i] + ")");
        }
    }

    /** Phi(x) in double: erfc by its Taylor series of erf below 3 and by the continued fraction above. */
    static double normalCdf(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    static double erfc(double z) {
        if (z < 0) {
            return 2 - erfc(-z);
        }
        if (z < 3) {
            double sum = 0;
            double term = z; // (-1)^n z^(2n+1) / n!
            for (int n = 0; n < 200; n++) {
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-18 * Math.abs(sum)) {
                    break;
                }
                term *= -z * z / (n + 1);
            }
            return 1 - 2 / Math.sqrt(Math.PI) * sum;
        }
        double f = z;
        for (int k = 300; k >= 1; k--) {
            f = z + (k / 2.0) / f;
        }
        return StrictMath.exp(-z * z) / Math.sqrt(Math.PI) / f;
    }

    @Test
    void referenceNormalCdfIsRight() {
        assertThat(normalCdf(0)).isEqualTo(0.5);
        assertThat(normalCdf(1.959963984540054)).isCloseTo(0.975, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(normalCdf(-5) / 2.866515718791939e-7).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(normalCdf(-10) / 7.61985302416047e-24).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-12));
    }

    /**
     * GELU's exact form against x Phi(x) in double: within 8 ulp wherever the result is a normal float (measured
     * worst: see the message), and the vector forms of gelu, its tanh form and both backward rules equal their
     * scalar twins bit for bit.
     */
    @Test
    void geluIsAccurateAndVectorEqualsScalar() {
        SplittableRandom rnd = new SplittableRandom(99);
        float[] xs = new float[2 * DENSE];
        for (int i = 0; i < DENSE; i++) {
            xs[i] = -13f + 23f * (float) ((i + 0.5) / DENSE);
            xs[DENSE + i] = (float) rnd.nextDouble(-3, 3);
        }
        long worst = 0;
        float worstX = 0;
        for (float x : xs) {
            float want = (float) (x * normalCdf(x));
            if (Math.abs(want) < Float.MIN_NORMAL) {
                assertThat(Math.abs(VectorMath.gelu(x) - want)).isLessThanOrEqualTo(Float.MIN_NORMAL);
                continue;
            }
            long d = ulpDistance(VectorMath.gelu(x), want);
            if (d > worst) {
                worst = d;
                worstX = x;
            }
        }
        assertThat(worst).as("gelu: max ulp error, at x = %s", worstX).isLessThanOrEqualTo(8);
        float[] lanes = laneInputs(Fn.TANH);
        assertLanesMatchScalar("gelu", Simd.Preferred.F, lanes, VectorMath::gelu, VectorMath::gelu);
        assertLanesMatchScalar("gelu tanh", Simd.Preferred.F, lanes, VectorMath::geluTanh, VectorMath::geluTanh);
        float g = 0.75f;
        assertLanesMatchScalar("gelu backward", Simd.Preferred.F, lanes, v -> VectorMath.geluBackward(v.broadcast(g), v), x -> VectorMath.geluBackward(g, x));
        assertLanesMatchScalar("gelu tanh backward", Simd.Preferred.F, lanes, v -> VectorMath.geluTanhBackward(v.broadcast(g), v),
                x -> VectorMath.geluTanhBackward(g, x));
        assertLanesMatchScalar("silu", Simd.Preferred.F, lanes, VectorMath::silu, VectorMath::silu);
        assertLanesMatchScalar("silu backward", Simd.Preferred.F, lanes, v -> VectorMath.siluBackward(v.broadcast(g), v), x -> VectorMath.siluBackward(g, x));
        assertThat(VectorMath.gelu(Float.NEGATIVE_INFINITY)).as("gelu(-inf) is NaN, as in PyTorch").isNaN();
        assertBits(VectorMath.gelu(Float.POSITIVE_INFINITY), Float.POSITIVE_INFINITY, "gelu(inf)");
        assertBits(VectorMath.gelu(-20f), -0f, "gelu(-20)");
    }

    /**
     * erf against its Taylor series in double (|x| < 4.5, where the series still gives ~1e-10; beyond, erf(x) rounds
     * to +-1 in float32): within 2 ulp (issue 13's bound), sampled over [-4.5, 4.5] and every float of [0.25, 1.25)
     * (around the series/tail switch, where the tail was 4 ulp off at 0.5036); vector lanes equal the scalar twin.
     */
    @Test
    void erfIsAccurateAndVectorEqualsScalar() {
        long worst = 0;
        float worstX = 0;
        for (int i = 0; i < 2 * DENSE; i++) {
            float x = -4.5f + 9f * (float) ((i + 0.5) / (2 * DENSE));
            double want = erfSeries(x);
            long d = ulpDistance(VectorMath.erf(x), (float) want);
            if (d > worst) {
                worst = d;
                worstX = x;
            }
        }
        for (int bits = Float.floatToIntBits(0.25f); bits < Float.floatToIntBits(1.25f); bits++) {
            float x = Float.intBitsToFloat(bits);
            long d = ulpDistance(VectorMath.erf(x), (float) erfSeries(x));
            if (d > worst) {
                worst = d;
                worstX = x;
            }
        }
        assertThat(worst).as("erf: max ulp error, at x = %s", worstX).isLessThanOrEqualTo(2);
        for (float x : new float[] {0.49999997f, 0.5f, 0.50000006f, -0.5f, 0.87499994f, 0.875f, 0.87500006f, 1e-20f, -1e-30f, 0f, -0f}) {
            assertThat((double) VectorMath.erf(x)).as("erf(%s)", x).isCloseTo(erfSeries(x), org.assertj.core.data.Offset.offset(1e-7 * Math.max(1e-13, Math.abs(x))));
        }
        assertBits(VectorMath.erf(-0f), -0f, "erf(-0)");
        assertBits(VectorMath.erf(Float.POSITIVE_INFINITY), 1f, "erf(inf)");
        assertBits(VectorMath.erf(Float.NEGATIVE_INFINITY), -1f, "erf(-inf)");
        assertThat(VectorMath.erf(Float.NaN)).isNaN();
        assertLanesMatchScalar("erf", Simd.Preferred.F, laneInputs(Fn.TANH), VectorMathTest::erfViaRow, VectorMath::erf);
    }

    /** erf(x) = (2 / sqrt(pi)) sum_n (-1)^n x^(2n+1) / (n! (2n + 1)), summed in double until the terms vanish. */
    private static double erfSeries(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x * x / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                break;
            }
        }
        return sum * 2 / Math.sqrt(Math.PI);
    }

    /** The elementwise kernels: the vector part and the scalar tail of a row give the scalar twins' bits. */
    @Test
    void elementwiseRowsUseTheTwins() {
        int n = 5 * Simd.LANES + 3;
        SplittableRandom rnd = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * n, 64);
            MemorySegment b = arena.allocate(4L * n, 64);
            MemorySegment out = arena.allocate(4L * n, 64);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-12, 12));
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-3, 3));
            }
            for (UnaryOp op : new UnaryOp[] {UnaryOp.EXP, UnaryOp.LOG, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.POW_SCALAR, UnaryOp.GELU,
                UnaryOp.GELU_TANH, UnaryOp.SILU, UnaryOp.SIN, UnaryOp.COS}) {
                for (float p : new float[] {2f, 0.5f, -1f, 1.7f}) {
                    Elementwise.unaryContiguous(op, p, 0f, x, 0, out, 0, n);
                    for (int i = 0; i < n; i++) {
                        float xi = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        float want = switch (op) {
                            case EXP -> VectorMath.exp(xi);
                            case LOG -> VectorMath.log(xi);
                            case TANH -> VectorMath.tanh(xi);
                            case SIGMOID -> VectorMath.sigmoid(xi);
                            case GELU -> VectorMath.gelu(xi);
                            case GELU_TANH -> VectorMath.geluTanh(xi);
                            case SILU -> VectorMath.silu(xi);
                            case SIN -> VectorMath.sin(xi);
                            case COS -> VectorMath.cos(xi);
                            default -> VectorMath.pow(xi, p);
                        };
                        assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), want, op + "(" + xi + ", " + p + ") [" + i + "]");
                        assertBits(op.apply(xi, p, 0f), want, op + ".apply(" + xi + ", " + p + ")");
                    }
                }
            }
            Elementwise.binaryContiguous(BinaryOp.POW, x, 0, b, 0, out, 0, n);
            for (int i = 0; i < n; i++) {
                float want = VectorMath.pow(x.getAtIndex(ValueLayout.JAVA_FLOAT, i), b.getAtIndex(ValueLayout.JAVA_FLOAT, i));
                assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), want, "binary pow [" + i + "]");
            }
        }
    }

    /**
     * GELU's, Mish's and exp's rows write the formula out in one loop (VectorMath's flat rows, against C2's boxing):
     * they must give the bits of the per-vector functions' scalar twins, special values included, forward and
     * backward; and every fused backward kernel's row ({@link UnaryOp#backwardRow}) the bits of its scalar definition.
     */
    @Test
    void flatRowsGiveTheTwinsBits() {
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -13f, 13f, 15.5f, -15.5f, 1e-30f, -1e-30f,
            Float.MIN_VALUE, 1e30f, -1e30f, 0.5f, -0.5f,
            // GELU's backward takes its pdf from the erfc's exp: both clamp to -110 from |x| = sqrt(220) = 14.83 on
            14.8f, -14.84f, 14.9f, -15f, 15f, 100f, -100f};
        int n = 7 * Simd.LANES + 5;
        SplittableRandom rnd = new SplittableRandom(12);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * n, 64);
            MemorySegment g = arena.allocate(4L * n, 64);
            MemorySegment out = arena.allocate(4L * n, 64);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, i < specials.length ? specials[i] : (float) rnd.nextDouble(-16, 16));
                g.setAtIndex(ValueLayout.JAVA_FLOAT, i, i == 3 ? Float.NaN : (float) rnd.nextDouble(-3, 3));
            }
            Elementwise.unaryContiguous(UnaryOp.GELU, 0f, 0f, x, 0, out, 0, n);
            for (int i = 0; i < n; i++) {
                float xi = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), VectorMath.gelu(xi), "gelu(" + xi + ") [" + i + "]");
            }
            int whole = n / Simd.LANES * Simd.LANES;
            float[] w = new float[whole];
            for (int i = 0; i < whole; i++) {
                w[i] = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            }
            VectorMath.expShiftedArray(w, 0, whole, 1.5f);
            VectorMath.expShiftedRow(x, 0, 1.5f, out, 0, 4L * whole);
            for (int i = 0; i < whole; i++) {
                float want = VectorMath.exp(x.getAtIndex(ValueLayout.JAVA_FLOAT, i) - 1.5f);
                assertBits(w[i], want, "expShiftedArray [" + i + "]");
                assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), want, "expShiftedRow [" + i + "]");
            }
            Elementwise.unaryContiguous(UnaryOp.MISH, 0f, 0f, x, 0, out, 0, n);
            for (int i = 0; i < n; i++) {
                float xi = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), VectorMath.mish(xi), "mish(" + xi + ") [" + i + "]");
            }
            int fused = 0;
            for (UnaryOp op : UnaryOp.values()) { // every fused backward kernel: its own row against its scalar definition
                if (!op.hasFusedBackward()) {
                    continue;
                }
                fused++;
                // parameters: none, and leaky_relu's slope / elu's alpha / softplus' beta, threshold / hardtanh's bounds
                for (UnaryOp.Backward kernel : new UnaryOp.Backward[] {op.backward(), op.backwardWith(0.3f, 2f), op.backwardWith(-1.5f, 0.5f)}) {
                    Elementwise.binaryContiguous(kernel, g, 0, x, 0, out, 0, n);
                    for (int i = 0; i < n; i++) {
                        float xi = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        float gi = g.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), kernel.apply(gi, xi), kernel + " (" + gi + ", " + xi + ") [" + i + "]");
                    }
                }
            }
            assertThat(fused).as("ops with a fused backward: GELU, GELU_TANH, SILU, MISH, LEAKY_RELU, ELU, SOFTPLUS, HARDTANH, HARDSIGMOID, HARDSWISH")
                    .isEqualTo(10);
            assertThat(VectorMath.geluBackward(0.75f, 1.25f)).isEqualTo(UnaryOp.GELU.backward().apply(0.75f, 1.25f));

            // the forward rows of the ops with parameters: vector part and scalar tail give the scalar definition's bits
            for (UnaryOp op : new UnaryOp[] {UnaryOp.EXPM1, UnaryOp.LOG1P, UnaryOp.LEAKY_RELU, UnaryOp.ELU, UnaryOp.SOFTPLUS, UnaryOp.HARDTANH,
                UnaryOp.HARDSIGMOID, UnaryOp.HARDSWISH}) {
                for (float[] pq : new float[][] {{0.01f, 0f}, {1f, 20f}, {2f, 5f}, {-1f, 1f}, {0f, 6f}, {3f, -3f}}) {
                    Elementwise.unaryContiguous(op, pq[0], pq[1], x, 0, out, 0, n);
                    for (int i = 0; i < n; i++) {
                        float xi = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        assertBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, i), op.apply(xi, pq[0], pq[1]), op + "(" + xi + ", " + pq[0] + ", " + pq[1] + ") [" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void expRowReturnsANaNAsReadInTheVectorBodyAsItsScalarTailDoes() {
        int n = Simd.LANES;
        float sNaN = Float.intBitsToFloat(0x7f800001); // signalling: x - 0 would quiet it to 0x7fc00001
        MemorySegment row = Arena.ofAuto().allocate(4L * n, 64);
        MemorySegment out = Arena.ofAuto().allocate(4L * n, 64);
        row.setAtIndex(ValueLayout.JAVA_FLOAT, 0, sNaN);
        row.setAtIndex(ValueLayout.JAVA_FLOAT, 1, Float.intBitsToFloat(0xffc01234)); // a negative quiet NaN with a payload
        VectorMath.expRow(row, 0, out, 0, 4L * n);
        assertThat(Integer.toHexString(Float.floatToRawIntBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, 0))))
                .isEqualTo(Integer.toHexString(Float.floatToRawIntBits(VectorMath.exp(sNaN)))).isEqualTo("7f800001");
        assertThat(Integer.toHexString(Float.floatToRawIntBits(out.getAtIndex(ValueLayout.JAVA_FLOAT, 1)))).isEqualTo("ffc01234");
    }
}
