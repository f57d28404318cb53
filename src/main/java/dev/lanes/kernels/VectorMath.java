package dev.lanes.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, log, tanh, sigmoid, sin, cos, pow and GELU (exact and tanh form, with their derivatives) over float lanes, with the same bits on every CPU, vector width and JIT tier.
 *
 * <p>{@code lanewise(EXP)} and friends run SVML once C2 has compiled them and a scalar Java fallback before,
 * which round differently, and {@code Math.exp} may differ between platforms: results depended on timing and
 * machine. Here every function is a polynomial built only from operations IEEE 754 rounds exactly one way
 * (add, sub, mul, div, fma, sqrt, compare, blend) and integer bit manipulation.
 *
 * <p>Each vector form has a scalar twin doing the same operations in the same order, so the scalar tail of a
 * row matches its vector part bit for bit. The vector forms compute every case and blend (no branches per
 * lane); the twins may branch instead, as long as the chosen path is the same operations. Vector forms take
 * their constants from {@code x.broadcast}, which C2 hoists out of loops, and are kept small: C2 must inline
 * them into the caller's loop (a call that is not inlined boxes every vector), and it inlines a method of up
 * to 325 bytecodes (FreqInlineSize) only from a frequent call site: call them from a loop of their own.
 *
 * <p>Accuracy, every float input checked (scalar twins against StrictMath in double, rounded to float):
 * exp, log, tanh and sigmoid are all within 1 ulp of the rounded result (subnormal results at the subnormal
 * spacing). NaN inputs come back unchanged; special values follow StrictMath and PyTorch.
 */
public final class VectorMath {
    private VectorMath() {
    }

    // ---- shared: round to integer, split ln 2 ----

    /** 1.5 * 2^23: adding it to |v| < 2^22 rounds v to an integer (ties to even) held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 0x1.8p23f;
    private static final int ROUND_MAGIC_BITS = 0x4b400000;
    /**
     * ROUND_MAGIC + 127 also rounds to an integer k (a tie may go the other way, which is as good) and leaves
     * k + 127, the biased exponent of 2^k, in the low bits: the magic's own bits shift out of an int, so
     * {@code bits << 23} is 2^k. ROUND_MAGIC + 254 leaves k + 254.
     */
    private static final float ROUND_MAGIC_BIAS = ROUND_MAGIC + 127;
    private static final float ROUND_MAGIC_2BIAS = ROUND_MAGIC + 254;
    private static final float LOG2E = 0x1.715476p0f;
    /** ln 2 = LN2_HI + LN2_LO; with fma, x - n * LN2_HI is exact for the n that exp's clamp allows. */
    private static final float LN2_HI = 0x1.62e43p-1f;
    private static final float LN2_LO = -0x1.05c61p-29f;
    private static final int SIGN = 0x80000000;
    private static final int ABS = 0x7fffffff;

    // ---- exp ----

    /** Larger arguments are clamped here: exp overflows from 88.72284 on, and exp(89) does too. */
    private static final float EXP_MAX_ARG = 89f;
    /** Smaller arguments are clamped here: exp rounds to 0 below -103.97208, and exp(-110) does too. */
    private static final float EXP_MIN_ARG = -110f;
    // Cephes expf: exp(r) = 1 + r + r^2 P(r) on |r| <= ln2 / 2
    private static final float EXP_P0 = 1.9875691500E-4f;
    private static final float EXP_P1 = 1.3981999507E-3f;
    private static final float EXP_P2 = 8.3334519073E-3f;
    private static final float EXP_P3 = 4.1665795894E-2f;
    private static final float EXP_P4 = 1.6666665459E-1f;
    private static final float EXP_P5 = 5.0000001201E-1f;

    /** e^x. */
    public static FloatVector exp(FloatVector x) {
        // a NaN passes the clamps; its bits after fma differ between the fma instruction and Math.fma's
        // software fallback, so NaN lanes are restored from x at the end
        FloatVector c = x.blend(EXP_MAX_ARG, x.compare(VectorOperators.GT, EXP_MAX_ARG));
        c = c.blend(EXP_MIN_ARG, c.compare(VectorOperators.LT, EXP_MIN_ARG));
        return expClamped(c).blend(x, x.compare(VectorOperators.NE, x));
    }

    /** Scalar twin of {@link #exp(FloatVector)}. */
    public static float exp(float x) {
        if (x != x) {
            return x;
        }
        float c = x > EXP_MAX_ARG ? EXP_MAX_ARG : x;
        c = c < EXP_MIN_ARG ? EXP_MIN_ARG : c;
        return expClamped(c);
    }

    /**
     * exp(x) for x in [EXP_MIN_ARG, EXP_MAX_ARG]: x = n ln2 + r, exp(x) = 2^n exp(r). 2^n is applied as two
     * factors 2^k and 2^(n-k), k = n/2 rounded: each is a normal float for every n the clamp allows (-159..128),
     * the first product is exact, so a subnormal result is rounded once and 2^128 overflows only when the
     * result does. Both factors come from the rounding magic: t holds n + 254 and h holds k + 127 in their low
     * bits, so 2^k = h << 23 and 2^(n-k) = (t - h) << 23.
     */
    private static FloatVector expClamped(FloatVector x) {
        FloatVector t = x.fma(LOG2E, ROUND_MAGIC_2BIAS);
        FloatVector n = t.sub(ROUND_MAGIC_2BIAS);
        FloatVector r = n.fma(x.broadcast(-LN2_HI), x);
        r = n.fma(x.broadcast(-LN2_LO), r);
        IntVector h = n.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
        FloatVector scale1 = h.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = t.reinterpretAsInts().sub(h).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return expReduced(r).mul(scale1).mul(scale2);
    }

    private static float expClamped(float x) {
        float t = Math.fma(x, LOG2E, ROUND_MAGIC_2BIAS);
        float n = t - ROUND_MAGIC_2BIAS;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        int h = Float.floatToRawIntBits(Math.fma(n, 0.5f, ROUND_MAGIC_BIAS));
        float scale1 = Float.intBitsToFloat(h << 23);
        float scale2 = Float.intBitsToFloat((Float.floatToRawIntBits(t) - h) << 23);
        return expReduced(r) * scale1 * scale2;
    }

    /** exp(r) for |r| <= ln2 / 2 (a little more from rounding): 1 + (r + r^2 P(r)). */
    private static FloatVector expReduced(FloatVector r) {
        FloatVector p = r.fma(EXP_P0, EXP_P1);
        p = p.fma(r, r.broadcast(EXP_P2));
        p = p.fma(r, r.broadcast(EXP_P3));
        p = p.fma(r, r.broadcast(EXP_P4));
        p = p.fma(r, r.broadcast(EXP_P5));
        return p.fma(r.mul(r), r).add(1f);
    }

    private static float expReduced(float r) {
        return expm1Reduced(r) + 1f; // e^r - 1 = r + r^2 P(r), then the 1: the vector form's operations
    }

    // ---- log ----

    private static final int SQRT_HALF_BITS = 0x3f3504f3;
    private static final int MANTISSA = 0x7fffff;
    /** ln 2 = LOG_C1 + LOG_C2, LOG_C1 with 9 bits so that e * LOG_C1 is exact (Cephes). */
    private static final float LOG_C1 = 0.693359375f;
    private static final float LOG_C2 = -2.12194440e-4f;
    // Cephes logf: log(1 + f) = f - f^2 / 2 + f^3 P(f) on sqrt(1/2) - 1 <= f < sqrt(2) - 1
    private static final float LOG_P0 = 7.0376836292E-2f;
    private static final float LOG_P1 = -1.1514610310E-1f;
    private static final float LOG_P2 = 1.1676998740E-1f;
    private static final float LOG_P3 = -1.2420140846E-1f;
    private static final float LOG_P4 = 1.4249322787E-1f;
    private static final float LOG_P5 = -1.6668057665E-1f;
    private static final float LOG_P6 = 2.0000714765E-1f;
    private static final float LOG_P7 = -2.4999993993E-1f;
    private static final float LOG_P8 = 3.3333331174E-1f;

    /** Natural logarithm: log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf. */
    public static FloatVector log(FloatVector x) {
        // x = 2^e m with m in [sqrt(1/2), sqrt(2)): bits(x) - bits(sqrt(1/2)) has e in its exponent field (one
        // less where x's mantissa is below sqrt(1/2)'s), and its low 23 bits + bits(sqrt(1/2)) are m's bits.
        // A subnormal x is scaled by 2^23 first and 23 taken off its exponent field.
        VectorMask<Float> subnormal = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector scaled = x.mul(0x1p23f).reinterpretAsInts().sub(23 << 23).reinterpretAsFloats();
        IntVector bits = x.blend(scaled, subnormal).reinterpretAsInts().sub(SQRT_HALF_BITS);
        FloatVector e = bits.lanewise(VectorOperators.ASHR, 23).add(ROUND_MAGIC_BITS).reinterpretAsFloats()
                .sub(ROUND_MAGIC);
        FloatVector f = bits.and(MANTISSA).add(SQRT_HALF_BITS).reinterpretAsFloats().sub(1f);
        FloatVector r = logReduced(f, e);
        // x < +inf is false for +inf and NaN: both come back as they are
        r = x.blend(r, x.compare(VectorOperators.LT, Float.POSITIVE_INFINITY));
        r = r.blend(Float.NaN, x.compare(VectorOperators.LT, 0f));
        return r.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
    }

    /** Scalar twin of {@link #log(FloatVector)}. */
    public static float log(float x) {
        if (!(x < Float.POSITIVE_INFINITY)) {
            return x;
        }
        if (x < 0f) {
            return Float.NaN;
        }
        if (x == 0f) {
            return Float.NEGATIVE_INFINITY;
        }
        int bits = x < Float.MIN_NORMAL
                ? Float.floatToRawIntBits(x * 0x1p23f) - (23 << 23) - SQRT_HALF_BITS
                : Float.floatToRawIntBits(x) - SQRT_HALF_BITS;
        float e = Float.intBitsToFloat((bits >> 23) + ROUND_MAGIC_BITS) - ROUND_MAGIC;
        float f = Float.intBitsToFloat((bits & MANTISSA) + SQRT_HALF_BITS) - 1f;
        return logReduced(f, e);
    }

    /** e ln2 + log(1 + f); m - 1 = f is exact (Sterbenz). */
    private static FloatVector logReduced(FloatVector f, FloatVector e) {
        FloatVector p = f.fma(LOG_P0, LOG_P1);
        p = p.fma(f, f.broadcast(LOG_P2));
        p = p.fma(f, f.broadcast(LOG_P3));
        p = p.fma(f, f.broadcast(LOG_P4));
        p = p.fma(f, f.broadcast(LOG_P5));
        p = p.fma(f, f.broadcast(LOG_P6));
        p = p.fma(f, f.broadcast(LOG_P7));
        p = p.fma(f, f.broadcast(LOG_P8));
        FloatVector y = p.mul(f).mul(f.mul(f));
        y = e.fma(f.broadcast(LOG_C2), y);
        y = f.mul(-0.5f).fma(f, y); // - f^2 / 2 without rounding f^2 first
        return e.fma(f.broadcast(LOG_C1), f.add(y));
    }

    /** P(f) of log(1 + f) = f - f^2 / 2 + f^3 P(f), Horner with fma: log's and log1p's scalar twins. */
    private static float logPolynomial(float f) {
        float p = Math.fma(f, LOG_P0, LOG_P1);
        p = Math.fma(p, f, LOG_P2);
        p = Math.fma(p, f, LOG_P3);
        p = Math.fma(p, f, LOG_P4);
        p = Math.fma(p, f, LOG_P5);
        p = Math.fma(p, f, LOG_P6);
        p = Math.fma(p, f, LOG_P7);
        p = Math.fma(p, f, LOG_P8);
        return p;
    }

    private static float logReduced(float f, float e) {
        float p = logPolynomial(f);
        float y = p * f * (f * f);
        y = Math.fma(e, LOG_C2, y);
        y = Math.fma(f * -0.5f, f, y);
        return Math.fma(e, LOG_C1, f + y);
    }

    // ---- expm1, log1p: exp(x) - 1 and log(1 + x), accurate near 0 (torch.expm1 / log1p, ELU and softplus) ----

    /** Below this |x|, expm1(x) and log1p(x) round to x (x^2 / 2 is under half an ulp of x); keeps -0 a -0. */
    private static final float M1_TINY = 0x1p-25f;
    /** expm1 clamps its argument below here: it rounds to -1 from x = -17.33 on. */
    private static final float EXPM1_MIN_ARG = -30f;
    /** From this n on (x = n ln2 + r), 2^n - 1 is no longer exact and expm1 is 2^n (1 + u) rounded once. */
    private static final float EXPM1_BIG_N = 25f;

    /**
     * e^x - 1: x = n ln2 + r as in exp, u = expm1(r) = r + r^2 P(r) (exp's polynomial without its 1), then
     * 2^n u + (2^n - 1) in one fma while 2^n - 1 is exact (|n| < 25), 2^k (1 + u) 2^(n-k) beyond (exp's two factors,
     * so it overflows only when the result does). expm1(+inf) = +inf, expm1(-inf) = -1, NaN unchanged, -0 stays -0.
     */
    public static FloatVector expm1(FloatVector x) {
        FloatVector c = x.blend(EXP_MAX_ARG, x.compare(VectorOperators.GT, EXP_MAX_ARG));
        c = c.blend(EXPM1_MIN_ARG, c.compare(VectorOperators.LT, EXPM1_MIN_ARG));
        FloatVector t = c.fma(LOG2E, ROUND_MAGIC_2BIAS);
        FloatVector n = t.sub(ROUND_MAGIC_2BIAS);
        FloatVector r = n.fma(x.broadcast(-LN2_HI), c);
        r = n.fma(x.broadcast(-LN2_LO), r);
        IntVector h = n.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
        FloatVector scale1 = h.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = t.reinterpretAsInts().sub(h).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector u = expm1Reduced(r);
        FloatVector pow2n = scale1.mul(scale2);
        FloatVector small = pow2n.fma(u, pow2n.sub(1f));
        FloatVector big = u.fma(scale1, scale1).mul(scale2);
        FloatVector y = small.blend(big, n.compare(VectorOperators.GE, EXPM1_BIG_N));
        return y.blend(x, x.abs().compare(VectorOperators.LT, M1_TINY).or(x.compare(VectorOperators.NE, x)));
    }

    /** Scalar twin of {@link #expm1(FloatVector)}. */
    public static float expm1(float x) {
        if (x != x || Math.abs(x) < M1_TINY) {
            return x;
        }
        float c = x > EXP_MAX_ARG ? EXP_MAX_ARG : x;
        c = c < EXPM1_MIN_ARG ? EXPM1_MIN_ARG : c;
        float t = Math.fma(c, LOG2E, ROUND_MAGIC_2BIAS);
        float n = t - ROUND_MAGIC_2BIAS;
        float r = Math.fma(n, -LN2_HI, c);
        r = Math.fma(n, -LN2_LO, r);
        int h = Float.floatToRawIntBits(Math.fma(n, 0.5f, ROUND_MAGIC_BIAS));
        float scale1 = Float.intBitsToFloat(h << 23);
        float scale2 = Float.intBitsToFloat((Float.floatToRawIntBits(t) - h) << 23);
        float u = expm1Reduced(r);
        if (n >= EXPM1_BIG_N) {
            return Math.fma(u, scale1, scale1) * scale2;
        }
        float pow2n = scale1 * scale2;
        return Math.fma(pow2n, u, pow2n - 1f);
    }

    /** exp(r) - 1 for |r| <= ln2 / 2: r + r^2 P(r), exp's polynomial. */
    private static FloatVector expm1Reduced(FloatVector r) {
        FloatVector p = r.fma(EXP_P0, EXP_P1);
        p = p.fma(r, r.broadcast(EXP_P2));
        p = p.fma(r, r.broadcast(EXP_P3));
        p = p.fma(r, r.broadcast(EXP_P4));
        p = p.fma(r, r.broadcast(EXP_P5));
        return p.fma(r.mul(r), r);
    }

    private static float expm1Reduced(float r) {
        float p = Math.fma(r, EXP_P0, EXP_P1);
        p = Math.fma(p, r, EXP_P2);
        p = Math.fma(p, r, EXP_P3);
        p = Math.fma(p, r, EXP_P4);
        p = Math.fma(p, r, EXP_P5);
        return Math.fma(p, r * r, r);
    }

    /**
     * {@code out = log1p(x)} over whole vectors up to byte {@code vecEnd}; byte offsets. log(1 + x): w = 1 + x rounded,
     * split as log splits it (w = 2^e m, f = m - 1), and log(w) + c / w added to the polynomial's small part,
     * c = x - (w - 1) the rounding error of w (exact: Fast2Sum-like, w >= 2^-24 never subnormal). log1p(-1) = -inf,
     * below -1 NaN, +inf unchanged, NaN unchanged, -0 stays -0. One loop body, no per-vector method (as
     * {@link #trigRow}): a log1p taking and returning a vector, with its reduced polynomial in a helper, was left out
     * of line by C2 under softplus' row in torch's Mish export and boxed its vectors (~1 KB a plan call).
     */
    public static void log1pRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector w = v.add(1f);
            FloatVector corr = v.sub(w.sub(1f)).div(w);
            IntVector bits = w.reinterpretAsInts().sub(SQRT_HALF_BITS);
            FloatVector e = bits.lanewise(VectorOperators.ASHR, 23).add(ROUND_MAGIC_BITS).reinterpretAsFloats().sub(ROUND_MAGIC);
            FloatVector f = bits.and(MANTISSA).add(SQRT_HALF_BITS).reinterpretAsFloats().sub(1f);
            FloatVector p = f.fma(LOG_P0, LOG_P1);
            p = p.fma(f, f.broadcast(LOG_P2));
            p = p.fma(f, f.broadcast(LOG_P3));
            p = p.fma(f, f.broadcast(LOG_P4));
            p = p.fma(f, f.broadcast(LOG_P5));
            p = p.fma(f, f.broadcast(LOG_P6));
            p = p.fma(f, f.broadcast(LOG_P7));
            p = p.fma(f, f.broadcast(LOG_P8));
            FloatVector y = p.mul(f).fma(f.mul(f), corr);
            y = e.fma(f.broadcast(LOG_C2), y);
            y = f.mul(-0.5f).fma(f, y);
            FloatVector r = e.fma(f.broadcast(LOG_C1), f.add(y));
            // x < +inf is false for +inf and NaN: both come back as they are; so do the tiny ones
            r = v.blend(r, v.compare(VectorOperators.LT, Float.POSITIVE_INFINITY).and(v.abs().compare(VectorOperators.GE, M1_TINY)));
            r = r.blend(Float.NaN, v.compare(VectorOperators.LT, -1f));
            r.blend(Float.NEGATIVE_INFINITY, v.compare(VectorOperators.EQ, -1f)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /**
     * {@code out = p x > q ? x : log1p(exp(p x)) / p} (softplus with beta p and threshold q, PyTorch's formula) over
     * whole vectors up to byte {@code vecEnd}; byte offsets. exp and log1p written out in one loop body, the
     * operations of {@link #exp(FloatVector)} and {@link #log1pRow} (see the flat rows): calls to them from the row
     * were left out of line and boxed every vector.
     */
    public static void softplusRow(float beta, float threshold, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector bx = v.mul(beta);
            FloatVector xc = bx.blend(EXP_MAX_ARG, bx.compare(VectorOperators.GT, EXP_MAX_ARG));
            xc = xc.blend(EXP_MIN_ARG, xc.compare(VectorOperators.LT, EXP_MIN_ARG));
            FloatVector et = xc.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(xc.broadcast(-LN2_HI), xc);
            er = en.fma(xc.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector z = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2).blend(bx, bx.compare(VectorOperators.NE, bx)); // exp(bx)
            FloatVector w = z.add(1f); // log1p(z) from here
            FloatVector corr = z.sub(w.sub(1f)).div(w);
            IntVector bits = w.reinterpretAsInts().sub(SQRT_HALF_BITS);
            FloatVector e = bits.lanewise(VectorOperators.ASHR, 23).add(ROUND_MAGIC_BITS).reinterpretAsFloats().sub(ROUND_MAGIC);
            FloatVector f = bits.and(MANTISSA).add(SQRT_HALF_BITS).reinterpretAsFloats().sub(1f);
            FloatVector p = f.fma(LOG_P0, LOG_P1);
            p = p.fma(f, f.broadcast(LOG_P2));
            p = p.fma(f, f.broadcast(LOG_P3));
            p = p.fma(f, f.broadcast(LOG_P4));
            p = p.fma(f, f.broadcast(LOG_P5));
            p = p.fma(f, f.broadcast(LOG_P6));
            p = p.fma(f, f.broadcast(LOG_P7));
            p = p.fma(f, f.broadcast(LOG_P8));
            FloatVector y = p.mul(f).fma(f.mul(f), corr);
            y = e.fma(f.broadcast(LOG_C2), y);
            y = f.mul(-0.5f).fma(f, y);
            FloatVector r = e.fma(f.broadcast(LOG_C1), f.add(y));
            r = z.blend(r, z.compare(VectorOperators.LT, Float.POSITIVE_INFINITY).and(z.abs().compare(VectorOperators.GE, M1_TINY)));
            r = r.blend(Float.NaN, z.compare(VectorOperators.LT, -1f));
            r = r.blend(Float.NEGATIVE_INFINITY, z.compare(VectorOperators.EQ, -1f));
            r.div(beta).blend(v, bx.compare(VectorOperators.GT, threshold)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** Scalar twin of {@link #log1pRow}'s lanes. */
    public static float log1p(float x) {
        if (!(x < Float.POSITIVE_INFINITY) || Math.abs(x) < M1_TINY) {
            return x;
        }
        if (x < -1f) {
            return Float.NaN;
        }
        if (x == -1f) {
            return Float.NEGATIVE_INFINITY;
        }
        float w = x + 1f;
        float corr = (x - (w - 1f)) / w;
        int bits = Float.floatToRawIntBits(w) - SQRT_HALF_BITS;
        float e = Float.intBitsToFloat((bits >> 23) + ROUND_MAGIC_BITS) - ROUND_MAGIC;
        float f = Float.intBitsToFloat((bits & MANTISSA) + SQRT_HALF_BITS) - 1f;
        return log1pReduced(f, e, corr);
    }

    /** {@link #logReduced} with the correction {@code corr} added to its small part. */
    private static float log1pReduced(float f, float e, float corr) {
        float p = logPolynomial(f);
        float y = Math.fma(p * f, f * f, corr);
        y = Math.fma(e, LOG_C2, y);
        y = Math.fma(f * -0.5f, f, y);
        return Math.fma(e, LOG_C1, f + y);
    }

    // ---- tanh ----

    /** Below this |x|, the odd polynomial; from it on, 1 - 2 / (exp(2|x|) + 1) (Cephes). */
    private static final float TANH_POLY_LIMIT = 0.625f;
    /** 2|x| is clamped here: tanh rounds to 1 from |x| = 9.0109 on, and 2/(exp(20) + 1) is far below half an ulp. */
    private static final float TANH_MAX_2X = 20f;
    // Cephes tanhf: tanh(x) = x + x z P(z), z = x^2, on |x| < 0.625
    private static final float TANH_P0 = -5.70498872745E-3f;
    private static final float TANH_P1 = 2.06390887954E-2f;
    private static final float TANH_P2 = -5.37397155531E-2f;
    private static final float TANH_P3 = 1.33314422036E-1f;
    private static final float TANH_P4 = -3.33332819422E-1f;

    /** Hyperbolic tangent, computed on |x| with the sign put back (so tanh(-0) = -0); at most 1.3 ulp off. */
    public static FloatVector tanh(FloatVector x) {
        IntVector xBits = x.reinterpretAsInts();
        FloatVector a = xBits.and(ABS).reinterpretAsFloats();
        FloatVector a2 = a.add(a);
        a2 = a2.blend(TANH_MAX_2X, a2.compare(VectorOperators.GT, TANH_MAX_2X));
        // exp(2|x|) = y 2^n with n <= 29: one scale factor, and y 2^n + 1 rounded once by the fma
        FloatVector t = a2.fma(LOG2E, ROUND_MAGIC_BIAS);
        FloatVector n = t.sub(ROUND_MAGIC_BIAS);
        FloatVector r = n.fma(x.broadcast(-LN2_HI), a2);
        r = n.fma(x.broadcast(-LN2_LO), r);
        FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector d = expReduced(r).fma(scale, x.broadcast(1f));
        FloatVector large = x.broadcast(1f).sub(x.broadcast(2f).div(d));
        FloatVector z = a.mul(a);
        FloatVector p = z.fma(TANH_P0, TANH_P1);
        p = p.fma(z, z.broadcast(TANH_P2));
        p = p.fma(z, z.broadcast(TANH_P3));
        p = p.fma(z, z.broadcast(TANH_P4));
        FloatVector small = p.mul(z).fma(a, a);
        FloatVector ta = small.blend(large, a.compare(VectorOperators.GE, TANH_POLY_LIMIT));
        FloatVector signed = ta.reinterpretAsInts().or(xBits.and(SIGN)).reinterpretAsFloats();
        return signed.blend(x, x.compare(VectorOperators.NE, x));
    }

    /** Scalar twin of {@link #tanh(FloatVector)}. */
    public static float tanh(float x) {
        if (x != x) {
            return x;
        }
        int xBits = Float.floatToRawIntBits(x);
        float a = Float.intBitsToFloat(xBits & ABS);
        float ta;
        if (a >= TANH_POLY_LIMIT) {
            float a2 = a + a;
            a2 = a2 > TANH_MAX_2X ? TANH_MAX_2X : a2;
            float t = Math.fma(a2, LOG2E, ROUND_MAGIC_BIAS);
            float n = t - ROUND_MAGIC_BIAS;
            float r = Math.fma(n, -LN2_HI, a2);
            r = Math.fma(n, -LN2_LO, r);
            float scale = Float.intBitsToFloat(Float.floatToRawIntBits(t) << 23);
            float d = Math.fma(expReduced(r), scale, 1f);
            ta = 1f - 2f / d;
        } else {
            float z = a * a;
            float p = Math.fma(z, TANH_P0, TANH_P1);
            p = Math.fma(p, z, TANH_P2);
            p = Math.fma(p, z, TANH_P3);
            p = Math.fma(p, z, TANH_P4);
            ta = Math.fma(p * z, a, a);
        }
        return Float.intBitsToFloat(Float.floatToRawIntBits(ta) | (xBits & SIGN));
    }

    // ---- sigmoid ----

    /**
     * 1 / (1 + exp(-x)) from e = exp(-|x|) in (0, 1], which never overflows: 1 / (1 + e) for x >= 0 and
     * e / (1 + e) for x < 0, which keeps the tiny (down to subnormal) results of the negative tail.
     *
     * <p>Rounding 1 + e alone costs up to 1 ulp, and for x < 0 e's own error counts double where e and the
     * result sit on either side of a power of two: num / d was up to 2.4 ulp off the exact value. So the
     * quotient is corrected with the exact residual {@code num - q (d + dLo)}, dLo being the rounding error of
     * d = 1 + e (Fast2Sum, e <= 1), and w = 1 / d: at most 1.5 ulp off.
     */
    public static FloatVector sigmoid(FloatVector x) {
        FloatVector na = x.reinterpretAsInts().or(SIGN).reinterpretAsFloats();
        na = na.blend(EXP_MIN_ARG, na.compare(VectorOperators.LT, EXP_MIN_ARG));
        FloatVector e = expClamped(na);
        FloatVector one = x.broadcast(1f);
        FloatVector num = one.blend(e, x.compare(VectorOperators.LT, 0f));
        FloatVector d = e.add(1f);
        FloatVector w = one.div(d);
        FloatVector q = num.mul(w);
        FloatVector nq = q.neg();
        FloatVector dLo = one.sub(d).add(e);
        FloatVector residual = nq.fma(dLo, nq.fma(d, num));
        return residual.fma(w, q).blend(x, x.compare(VectorOperators.NE, x));
    }

    /** Scalar twin of {@link #sigmoid(FloatVector)}. */
    public static float sigmoid(float x) {
        if (x != x) {
            return x;
        }
        float na = Float.intBitsToFloat(Float.floatToRawIntBits(x) | SIGN);
        na = na < EXP_MIN_ARG ? EXP_MIN_ARG : na;
        float e = expClamped(na);
        float num = x < 0f ? e : 1f;
        float d = e + 1f;
        float w = 1f / d;
        float q = num * w;
        float nq = -q;
        float dLo = (1f - d) + e;
        float residual = Math.fma(nq, dLo, Math.fma(nq, d, num));
        return Math.fma(residual, w, q);
    }

    // ---- GELU: the normal CDF from a scaled erfc ----

    private static final float INV_SQRT2 = 0x1.6a09e6p-1f;
    /** 1 / sqrt(2 pi): the normal density's factor. */
    private static final float INV_SQRT_2PI = 0x1.988454p-2f;
    /** |x| is clamped here: exp(-x^2 / 2) is 0 from |x| = 14.43 on, so Phi is exactly 0 or 1 past it. */
    private static final float CDF_MAX_X = 15f;
    // erfc(z) = exp(-z^2) R(t), t = 1 / (1 + z/2): R fits erfcx on [0, 10.5] within 3.3e-8 (2.7e-7 in float32 Horner);
    // src/test/python/fit_erfcx.py derives these
    private static final float ERFCX_R0 = 6.7676801336347125e-06f;
    private static final float ERFCX_R1 = 0.28189173340797424f;
    private static final float ERFCX_R2 = 0.28474870324134827f;
    private static final float ERFCX_R3 = 0.22694163024425507f;
    private static final float ERFCX_R4 = 0.2708902060985565f;
    private static final float ERFCX_R5 = -0.2135227918624878f;
    private static final float ERFCX_R6 = 0.6160544157028198f;
    private static final float ERFCX_R7 = -0.8870092630386353f;
    private static final float ERFCX_R8 = 0.5817782878875732f;
    private static final float ERFCX_R9 = -0.1849030703306198f;
    private static final float ERFCX_R10 = 0.023123377934098244f;
    /** sqrt(2 / pi) and 0.044715: the tanh approximation's constants, as PyTorch spells them (kBeta, kKappa). */
    private static final float GELU_TANH_BETA = 0x1.988454p-1f;
    private static final float GELU_TANH_KAPPA = 0.044715f;

    /**
     * Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt 2) / 2, from h = erfc(|x| / sqrt 2) / 2: h for x < 0, 1 - h
     * otherwise. Written with erfc on both sides, the negative tail keeps its relative accuracy (1 + erf(x / sqrt 2)
     * cancels to nothing there, which is why PyTorch's gelu(-5) is 4% off). exp(-z^2) = exp(-x^2 / 2) is taken as
     * exp(-h) (1 - e) with h + e = x^2 / 2 exactly (fma), not from the rounded z: at x = -13 the rounding of z alone
     * would cost 170 ulp. Measured against x Phi(x) in double: see VectorMathTest.geluIsAccurateAndVectorEqualsScalar.
     */
    private static FloatVector normalCdf(FloatVector x) {
        FloatVector one = x.broadcast(1f);
        FloatVector a = x.abs().min(CDF_MAX_X);
        FloatVector t = one.div(a.mul(INV_SQRT2).fma(0.5f, 1f));
        FloatVector r = t.fma(ERFCX_R10, ERFCX_R9);
        r = r.fma(t, t.broadcast(ERFCX_R8));
        r = r.fma(t, t.broadcast(ERFCX_R7));
        r = r.fma(t, t.broadcast(ERFCX_R6));
        r = r.fma(t, t.broadcast(ERFCX_R5));
        r = r.fma(t, t.broadcast(ERFCX_R4));
        r = r.fma(t, t.broadcast(ERFCX_R3));
        r = r.fma(t, t.broadcast(ERFCX_R2));
        r = r.fma(t, t.broadcast(ERFCX_R1));
        r = r.fma(t, t.broadcast(ERFCX_R0));
        FloatVector aa = a.mul(a);
        FloatVector lo = a.fma(a, aa.neg()).mul(-0.5f);
        FloatVector h = aa.mul(-0.5f).max(EXP_MIN_ARG);
        FloatVector e = expClamped(h);
        FloatVector half = e.fma(lo, e).mul(r).mul(0.5f);
        return one.sub(half).blend(half, x.compare(VectorOperators.LT, 0f));
    }

    private static float normalCdf(float x) {
        float a = Math.min(Math.abs(x), CDF_MAX_X);
        float t = 1f / Math.fma(a * INV_SQRT2, 0.5f, 1f);
        float r = Math.fma(t, ERFCX_R10, ERFCX_R9);
        r = Math.fma(r, t, ERFCX_R8);
        r = Math.fma(r, t, ERFCX_R7);
        r = Math.fma(r, t, ERFCX_R6);
        r = Math.fma(r, t, ERFCX_R5);
        r = Math.fma(r, t, ERFCX_R4);
        r = Math.fma(r, t, ERFCX_R3);
        r = Math.fma(r, t, ERFCX_R2);
        r = Math.fma(r, t, ERFCX_R1);
        r = Math.fma(r, t, ERFCX_R0);
        float aa = a * a;
        float lo = Math.fma(a, a, -aa) * -0.5f;
        float h = Math.max(aa * -0.5f, EXP_MIN_ARG);
        float e = expClamped(h);
        float half = Math.fma(e, lo, e) * r * 0.5f;
        return x < 0f ? half : 1f - half;
    }

    /** sqrt(2), to turn erf's argument into the normal CDF's: erfc(a) = 2 Phi(-a sqrt 2). */
    private static final float SQRT2 = 0x1.6a09e6p0f;
    /**
     * Below this |x|, erf is its Taylor series; above, 1 - erfc (whose relative accuracy the CDF keeps). Not 0.5:
     * just above it erfc is ~0.48 and the CDF polynomial's 2.7e-7 relative error showed in full (erf(0.50362271) was 4
     * ulp off); the series in float stays within 2 ulp up to here, the tail within 2 ulp above.
     */
    private static final float ERF_SERIES_MAX = 0.875f;
    /** erf(x) / x = sum_n (2 / sqrt(pi)) (-1)^n x^(2n) / (n! (2n + 1)), n = 0..10: 2e-11 relative at |x| = 0.875. */
    private static final float ERF_C0 = 1.128379225730896f;
    private static final float ERF_C1 = -0.37612637877464294f;
    private static final float ERF_C2 = 0.11283791810274124f;
    private static final float ERF_C3 = -0.02686617150902748f;
    private static final float ERF_C4 = 0.005223977845162153f;
    private static final float ERF_C5 = -0.0008548327023163438f;
    private static final float ERF_C6 = 0.00012055332626914605f;
    private static final float ERF_C7 = -1.4925650248187594e-05f;
    private static final float ERF_C8 = 1.6462114444948384e-06f;
    private static final float ERF_C9 = -1.6365844146548625e-07f;
    private static final float ERF_C10 = 1.4807192805221803e-08f;

    /**
     * {@code out = erf(x)} over whole vectors up to byte {@code vecEnd}; byte offsets. The error function,
     * {@code torch.erf}: the Taylor series near 0 (where 1 - erfc would cancel), else
     * {@code sign(x) (1 - 2 Phi(-|x| sqrt 2))} through the normal CDF of GELU. NaN stays NaN; erf(+-inf) = +-1. One loop
     * body with normalCdf and exp written out (see the flat rows): an erf taking a vector, calling normalCdf and
     * expClamped, was left out of line in the plan of torch's opset-13 GELU export (Erf) and boxed (8 KB a call).
     */
    public static void erfRow(MemorySegment xs, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector x = FloatVector.fromMemorySegment(Simd.Preferred.F, xs, xb + i, Simd.ORDER);
            FloatVector z = x.mul(x);
            FloatVector p = z.fma(ERF_C10, ERF_C9);
            p = p.fma(z, z.broadcast(ERF_C8));
            p = p.fma(z, z.broadcast(ERF_C7));
            p = p.fma(z, z.broadcast(ERF_C6));
            p = p.fma(z, z.broadcast(ERF_C5));
            p = p.fma(z, z.broadcast(ERF_C4));
            p = p.fma(z, z.broadcast(ERF_C3));
            p = p.fma(z, z.broadcast(ERF_C2));
            p = p.fma(z, z.broadcast(ERF_C1));
            p = p.fma(z, z.broadcast(ERF_C0));
            FloatVector series = x.mul(p);
            FloatVector abs = x.abs();
            // normalCdf(c), c = -|x| sqrt 2, written out
            FloatVector c = abs.mul(-SQRT2);
            FloatVector one = x.broadcast(1f);
            FloatVector a = c.abs().min(CDF_MAX_X);
            FloatVector t = one.div(a.mul(INV_SQRT2).fma(0.5f, 1f));
            FloatVector r = t.fma(ERFCX_R10, ERFCX_R9);
            r = r.fma(t, t.broadcast(ERFCX_R8));
            r = r.fma(t, t.broadcast(ERFCX_R7));
            r = r.fma(t, t.broadcast(ERFCX_R6));
            r = r.fma(t, t.broadcast(ERFCX_R5));
            r = r.fma(t, t.broadcast(ERFCX_R4));
            r = r.fma(t, t.broadcast(ERFCX_R3));
            r = r.fma(t, t.broadcast(ERFCX_R2));
            r = r.fma(t, t.broadcast(ERFCX_R1));
            r = r.fma(t, t.broadcast(ERFCX_R0));
            FloatVector aa = a.mul(a);
            FloatVector lo = a.fma(a, aa.neg()).mul(-0.5f);
            FloatVector h = aa.mul(-0.5f).max(EXP_MIN_ARG);
            // expClamped(h), written out
            FloatVector et = h.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(h.broadcast(-LN2_HI), h);
            er = en.fma(h.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector e = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2);
            FloatVector half = e.fma(lo, e).mul(r).mul(0.5f);
            FloatVector cdf = one.sub(half).blend(half, c.compare(VectorOperators.LT, 0f));
            FloatVector tail = one.sub(cdf.mul(2f));
            FloatVector signed = tail.blend(tail.neg(), x.compare(VectorOperators.LT, 0f));
            signed.blend(series, abs.compare(VectorOperators.LT, ERF_SERIES_MAX)).blend(x, x.compare(VectorOperators.NE, x))
                    .intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** Scalar twin of {@link #erfRow}'s lanes. */
    public static float erf(float x) {
        if (x != x) {
            return x;
        }
        float a = Math.abs(x);
        if (a < ERF_SERIES_MAX) {
            float z = x * x;
            float p = Math.fma(z, ERF_C10, ERF_C9);
            p = Math.fma(p, z, ERF_C8);
            p = Math.fma(p, z, ERF_C7);
            p = Math.fma(p, z, ERF_C6);
            p = Math.fma(p, z, ERF_C5);
            p = Math.fma(p, z, ERF_C4);
            p = Math.fma(p, z, ERF_C3);
            p = Math.fma(p, z, ERF_C2);
            p = Math.fma(p, z, ERF_C1);
            p = Math.fma(p, z, ERF_C0);
            return x * p;
        }
        float tail = 1f - normalCdf(a * -SQRT2) * 2f;
        return x < 0f ? -tail : tail;
    }

    // ---- flat rows: the same operations as gelu / geluBackward below, written out in one loop body ----
    //
    // Measured on Zen 3 (AVX2) in a char-GPT training step: C2 compiled normalCdf and exp on their own ("already
    // compiled into a big method", "callee is too large") and stopped inlining them into the row loops, so every
    // vector crossing those calls was boxed: ~300 MB of garbage per step and GELU's rows at a fraction of their
    // speed. A method whose parameters are segments and offsets costs nothing to leave un-inlined, so the rows below
    // carry the whole formula; VectorMathTest checks they give the bits of the per-vector functions.

    /**
     * {@code out = exp(x)} over whole vectors up to byte {@code vecEnd}; byte offsets: exp(x - 0), the same bits as
     * exp(x), but a NaN comes back as it was read (x - 0 quiets a signalling NaN; the scalar tail returns it unchanged).
     */
    public static void expRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        expShiftedRow(x, xb, 0f, out, ob, vecEnd, true);
    }

    /** {@code out = exp(in - shift)} over whole vectors up to byte {@code vecEnd}; byte offsets (softmax's pass). */
    public static void expShiftedRow(MemorySegment in, long ib, float shift, MemorySegment out, long ob, long vecEnd) {
        expShiftedRow(in, ib, shift, out, ob, vecEnd, false);
    }

    private static void expShiftedRow(MemorySegment in, long ib, float shift, MemorySegment out, long ob, long vecEnd, boolean nanAsRead) {
        FloatVector vs = FloatVector.broadcast(Simd.Preferred.F, shift);
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector read = FloatVector.fromMemorySegment(Simd.Preferred.F, in, ib + i, Simd.ORDER);
            FloatVector v = read.sub(vs);
            FloatVector xc = v.blend(EXP_MAX_ARG, v.compare(VectorOperators.GT, EXP_MAX_ARG));
            xc = xc.blend(EXP_MIN_ARG, xc.compare(VectorOperators.LT, EXP_MIN_ARG));
            FloatVector et = xc.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(xc.broadcast(-LN2_HI), xc);
            er = en.fma(xc.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector ex = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2);
            FloatVector y = ex.blend(nanAsRead ? read : v, v.compare(VectorOperators.NE, v));
            y.intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** {@code w[at + c] = exp(w[at + c] - shift)} for c < n (a multiple of the lane count): attention's blocks. */
    public static void expShiftedArray(float[] w, int at, int n, float shift) {
        FloatVector vs = FloatVector.broadcast(Simd.Preferred.F, shift);
        for (int c = 0; c < n; c += Simd.LANES) {
            FloatVector v = FloatVector.fromArray(Simd.Preferred.F, w, at + c).sub(vs);
            FloatVector xc = v.blend(EXP_MAX_ARG, v.compare(VectorOperators.GT, EXP_MAX_ARG));
            xc = xc.blend(EXP_MIN_ARG, xc.compare(VectorOperators.LT, EXP_MIN_ARG));
            FloatVector et = xc.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(xc.broadcast(-LN2_HI), xc);
            er = en.fma(xc.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector ex = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2);
            FloatVector y = ex.blend(v, v.compare(VectorOperators.NE, v));
            y.intoArray(w, at + c);
        }
    }

    /** {@code out = gelu(x)} over whole vectors up to byte {@code vecEnd}; byte offsets. normalCdf and exp written out. */
    public static void geluRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector one = v.broadcast(1f);
            FloatVector a = v.abs().min(CDF_MAX_X);
            FloatVector t = one.div(a.mul(INV_SQRT2).fma(0.5f, 1f));
            FloatVector r = t.fma(ERFCX_R10, ERFCX_R9);
            r = r.fma(t, t.broadcast(ERFCX_R8));
            r = r.fma(t, t.broadcast(ERFCX_R7));
            r = r.fma(t, t.broadcast(ERFCX_R6));
            r = r.fma(t, t.broadcast(ERFCX_R5));
            r = r.fma(t, t.broadcast(ERFCX_R4));
            r = r.fma(t, t.broadcast(ERFCX_R3));
            r = r.fma(t, t.broadcast(ERFCX_R2));
            r = r.fma(t, t.broadcast(ERFCX_R1));
            r = r.fma(t, t.broadcast(ERFCX_R0));
            FloatVector aa = a.mul(a);
            FloatVector lo = a.fma(a, aa.neg()).mul(-0.5f);
            FloatVector hh = aa.mul(-0.5f).max(EXP_MIN_ARG);
            FloatVector ct = hh.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector cn = ct.sub(ROUND_MAGIC_2BIAS);
            FloatVector cr = cn.fma(hh.broadcast(-LN2_HI), hh);
            cr = cn.fma(hh.broadcast(-LN2_LO), cr);
            IntVector ch = cn.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector cs1 = ch.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector cs2 = ct.reinterpretAsInts().sub(ch).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector cp = cr.fma(EXP_P0, EXP_P1);
            cp = cp.fma(cr, cr.broadcast(EXP_P2));
            cp = cp.fma(cr, cr.broadcast(EXP_P3));
            cp = cp.fma(cr, cr.broadcast(EXP_P4));
            cp = cp.fma(cr, cr.broadcast(EXP_P5));
            FloatVector e = cp.fma(cr.mul(cr), cr).add(1f).mul(cs1).mul(cs2);
            FloatVector half = e.fma(lo, e).mul(r).mul(0.5f);
            FloatVector cdf = one.sub(half).blend(half, v.compare(VectorOperators.LT, 0f));
            v.mul(cdf).blend(v, v.compare(VectorOperators.NE, v)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** {@code out = geluBackward(g, x)} over whole vectors up to byte {@code vecEnd}; byte offsets. exp and normalCdf written out. */
    public static void geluBackwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector gv = FloatVector.fromMemorySegment(Simd.Preferred.F, g, gb + i, Simd.ORDER);
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector q = v.mul(v).mul(-0.5f);
            FloatVector one = v.broadcast(1f);
            FloatVector a = v.abs().min(CDF_MAX_X);
            FloatVector t = one.div(a.mul(INV_SQRT2).fma(0.5f, 1f));
            FloatVector r = t.fma(ERFCX_R10, ERFCX_R9);
            r = r.fma(t, t.broadcast(ERFCX_R8));
            r = r.fma(t, t.broadcast(ERFCX_R7));
            r = r.fma(t, t.broadcast(ERFCX_R6));
            r = r.fma(t, t.broadcast(ERFCX_R5));
            r = r.fma(t, t.broadcast(ERFCX_R4));
            r = r.fma(t, t.broadcast(ERFCX_R3));
            r = r.fma(t, t.broadcast(ERFCX_R2));
            r = r.fma(t, t.broadcast(ERFCX_R1));
            r = r.fma(t, t.broadcast(ERFCX_R0));
            FloatVector aa = a.mul(a);
            FloatVector lo = a.fma(a, aa.neg()).mul(-0.5f);
            FloatVector hh = aa.mul(-0.5f).max(EXP_MIN_ARG);
            FloatVector ct = hh.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector cn = ct.sub(ROUND_MAGIC_2BIAS);
            FloatVector cr = cn.fma(hh.broadcast(-LN2_HI), hh);
            cr = cn.fma(hh.broadcast(-LN2_LO), cr);
            IntVector ch = cn.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector cs1 = ch.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector cs2 = ct.reinterpretAsInts().sub(ch).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector cp = cr.fma(EXP_P0, EXP_P1);
            cp = cp.fma(cr, cr.broadcast(EXP_P2));
            cp = cp.fma(cr, cr.broadcast(EXP_P3));
            cp = cp.fma(cr, cr.broadcast(EXP_P4));
            cp = cp.fma(cr, cr.broadcast(EXP_P5));
            FloatVector e = cp.fma(cr.mul(cr), cr).add(1f).mul(cs1).mul(cs2);
            // e is also exp(-x^2 / 2) as the pdf's own exp would compute it, bit for bit, for every x but NaN (whose
            // output is x): below |x| = 15 a * a is x * x, and from sqrt(220) = 14.83 up both arguments are clamped to
            // EXP_MIN_ARG = -110. Computing it once drops ~20 vector operations per vector (not measurably faster on the
            // SPR-class VM at 1M floats, ~2.2 ns per element either way: the loop is bound elsewhere).
            FloatVector pdf = e.blend(q, q.compare(VectorOperators.NE, q)).mul(INV_SQRT_2PI);
            FloatVector half = e.fma(lo, e).mul(r).mul(0.5f);
            FloatVector cdf = one.sub(half).blend(half, v.compare(VectorOperators.LT, 0f));
            gv.mul(v.mul(pdf).add(cdf)).blend(v, v.compare(VectorOperators.NE, v)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** GELU, PyTorch's default (approximate='none'): x Phi(x). NaN stays NaN; gelu(-inf) is NaN like PyTorch's. */
    public static FloatVector gelu(FloatVector x) {
        return x.mul(normalCdf(x)).blend(x, x.compare(VectorOperators.NE, x));
    }

    /** Scalar twin of {@link #gelu(FloatVector)}. */
    public static float gelu(float x) {
        return x != x ? x : x * normalCdf(x);
    }

    /** d gelu / dx times the incoming gradient g: g (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi). */
    public static FloatVector geluBackward(FloatVector g, FloatVector x) {
        FloatVector pdf = exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI);
        // x pdf + cdf as a multiply and an add, not an fma: at x = +-inf the product is the invalid inf * 0, whose
        // NaN an fma instruction and Math.fma's software fallback spell differently
        return g.mul(x.mul(pdf).add(normalCdf(x))).blend(x, x.compare(VectorOperators.NE, x));
    }

    /** Scalar twin of {@link #geluBackward(FloatVector, FloatVector)}. */
    public static float geluBackward(float g, float x) {
        if (x != x) {
            return x;
        }
        float pdf = exp(x * x * -0.5f) * INV_SQRT_2PI;
        return g * (x * pdf + normalCdf(x));
    }

    /** GELU with approximate='tanh': x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in PyTorch's order of operations. */
    public static FloatVector geluTanh(FloatVector x) {
        FloatVector inner = x.mul(x).mul(x).mul(GELU_TANH_KAPPA).add(x).mul(GELU_TANH_BETA);
        return x.mul(0.5f).mul(tanh(inner).add(1f));
    }

    /** Scalar twin of {@link #geluTanh(FloatVector)}. */
    public static float geluTanh(float x) {
        float inner = (x * x * x * GELU_TANH_KAPPA + x) * GELU_TANH_BETA;
        return x * 0.5f * (tanh(inner) + 1f);
    }

    /** The tanh approximation's derivative times g, in PyTorch's order (GeluBackward0 with approximate='tanh'). */
    public static FloatVector geluTanhBackward(FloatVector g, FloatVector x) {
        FloatVector xSq = x.mul(x);
        FloatVector inner = xSq.mul(x).mul(GELU_TANH_KAPPA).add(x).mul(GELU_TANH_BETA);
        FloatVector th = tanh(inner);
        FloatVector left = x.mul(0.5f);
        FloatVector leftDerivative = th.add(1f).mul(0.5f);
        FloatVector tanhDerivative = x.broadcast(1f).sub(th.mul(th));
        FloatVector innerDerivative = xSq.mul(3f * GELU_TANH_KAPPA).add(1f).mul(GELU_TANH_BETA);
        return g.mul(left.mul(tanhDerivative).mul(innerDerivative).add(leftDerivative));
    }

    /** Scalar twin of {@link #geluTanhBackward(FloatVector, FloatVector)}. */
    public static float geluTanhBackward(float g, float x) {
        float xSq = x * x;
        float inner = (xSq * x * GELU_TANH_KAPPA + x) * GELU_TANH_BETA;
        float th = tanh(inner);
        float left = x * 0.5f;
        float leftDerivative = (th + 1f) * 0.5f;
        float tanhDerivative = 1f - th * th;
        float innerDerivative = (xSq * (3f * GELU_TANH_KAPPA) + 1f) * GELU_TANH_BETA;
        return g * (left * tanhDerivative * innerDerivative + leftDerivative);
    }

    // ---- SiLU ----

    /** SiLU (swish): x sigmoid(x), in PyTorch's order. */
    public static FloatVector silu(FloatVector x) {
        return x.mul(sigmoid(x));
    }

    /** Scalar twin of {@link #silu(FloatVector)}. */
    public static float silu(float x) {
        return x * sigmoid(x);
    }

    /** g s (1 + x (1 - s)), s = sigmoid(x): PyTorch's silu_backward, same order. */
    public static FloatVector siluBackward(FloatVector g, FloatVector x) {
        FloatVector s = sigmoid(x);
        return g.mul(s).mul(x.mul(x.broadcast(1f).sub(s)).add(1f));
    }

    /** Scalar twin of {@link #siluBackward(FloatVector, FloatVector)}. */
    public static float siluBackward(float g, float x) {
        float s = sigmoid(x);
        return g * s * (x * (1f - s) + 1f);
    }

    // ---- Mish ----

    /**
     * Mish's exp argument is capped here: past 20, tanh(softplus(x)) is 1 in float, and the cap keeps e (e + 2)
     * finite (it overflows past x = 44).
     */
    private static final float MISH_CAP = 20f;

    /**
     * Mish, x tanh(softplus(x)), as x n / (n + 2) with n = e (e + 2), e = e^x: tanh(log(1 + e)) written with one
     * exp (PyTorch computes tanh(log1p(exp(x))): within 2 ulp of it). NaN stays NaN; mish(-inf) is NaN like PyTorch's.
     */
    public static float mish(float x) {
        if (x != x) {
            return x;
        }
        float c = x > MISH_CAP ? MISH_CAP : x;
        float e = expClamped(c < EXP_MIN_ARG ? EXP_MIN_ARG : c);
        float n = e * (e + 2f);
        return x * (n / (n + 2f));
    }

    /**
     * Mish's derivative times g: g (t + x s (1 - t^2)), t = tanh(softplus(x)), s = sigmoid(x) = e / (e + 1), in
     * PyTorch's order (mish_backward); the same one exp as {@link #mish(float)}.
     */
    public static float mishBackward(float g, float x) {
        if (x != x) {
            return x;
        }
        float c = x > MISH_CAP ? MISH_CAP : x;
        float e = expClamped(c < EXP_MIN_ARG ? EXP_MIN_ARG : c);
        float n = e * (e + 2f);
        float t = n / (n + 2f);
        float s = e / (e + 1f);
        return g * (t + x * s * (1f - t * t));
    }

    /** {@code out = mish(x)} over whole vectors up to byte {@code vecEnd}; byte offsets. exp written out (see the flat rows). */
    public static void mishRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector xc = v.blend(MISH_CAP, v.compare(VectorOperators.GT, MISH_CAP));
            xc = xc.blend(EXP_MIN_ARG, xc.compare(VectorOperators.LT, EXP_MIN_ARG));
            FloatVector et = xc.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(xc.broadcast(-LN2_HI), xc);
            er = en.fma(xc.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector e = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2);
            FloatVector n = e.mul(e.add(2f));
            v.mul(n.div(n.add(2f))).blend(v, v.compare(VectorOperators.NE, v)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** {@code out = mishBackward(g, x)} over whole vectors up to byte {@code vecEnd}; byte offsets. exp written out. */
    public static void mishBackwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector gv = FloatVector.fromMemorySegment(Simd.Preferred.F, g, gb + i, Simd.ORDER);
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            FloatVector xc = v.blend(MISH_CAP, v.compare(VectorOperators.GT, MISH_CAP));
            xc = xc.blend(EXP_MIN_ARG, xc.compare(VectorOperators.LT, EXP_MIN_ARG));
            FloatVector et = xc.fma(LOG2E, ROUND_MAGIC_2BIAS);
            FloatVector en = et.sub(ROUND_MAGIC_2BIAS);
            FloatVector er = en.fma(xc.broadcast(-LN2_HI), xc);
            er = en.fma(xc.broadcast(-LN2_LO), er);
            IntVector eh = en.fma(0.5f, ROUND_MAGIC_BIAS).reinterpretAsInts();
            FloatVector es1 = eh.lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector es2 = et.reinterpretAsInts().sub(eh).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector ep = er.fma(EXP_P0, EXP_P1);
            ep = ep.fma(er, er.broadcast(EXP_P2));
            ep = ep.fma(er, er.broadcast(EXP_P3));
            ep = ep.fma(er, er.broadcast(EXP_P4));
            ep = ep.fma(er, er.broadcast(EXP_P5));
            FloatVector e = ep.fma(er.mul(er), er).add(1f).mul(es1).mul(es2);
            FloatVector n = e.mul(e.add(2f));
            FloatVector t = n.div(n.add(2f));
            FloatVector s = e.div(e.add(1f));
            FloatVector d = v.mul(s).mul(v.broadcast(1f).sub(t.mul(t))).add(t);
            gv.mul(d).blend(v, v.compare(VectorOperators.NE, v)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    // ---- sin, cos: in double lanes ----

    /**
     * Past this magnitude (and for infinities) sin and cos are StrictMath's, lane by lane: the reduction below is
     * exact enough to about 2^40, but 2^20 (1e6 radians) leaves a wide margin and real inputs never get there.
     */
    private static final float TRIG_REDUCE_MAX = 0x1p20f;
    private static final double TWO_OVER_PI = 0x1.45f306dc9c883p-1;
    /**
     * pi / 2 = PIO2_1 + PIO2_2 + PIO2_3 to ~160 bits: with fma each step's product is exact. All three positive (PIO2_2
     * one ulp below the nearest double): x - 0 * P then keeps the sign of x = -0, which a negative part turned into +0.
     */
    private static final double PIO2_1 = 0x1.921fb54442d18p0;
    private static final double PIO2_2 = 0x1.1a62633145c06p-54;
    private static final double PIO2_3 = 0x1.c1cd129024e09p-107;
    /** 1.5 * 2^52: adding it to |v| < 2^51 rounds v to an integer (ties to even) held in the low mantissa bits. */
    private static final double ROUND_MAGIC_D = 0x1.8p52;
    // Taylor coefficients on |y| <= pi / 4: sin's remainder y^15 / 15! < 3e-14 relative, cos's y^14 / 14! < 6e-13
    private static final double SIN_3 = -1.0 / 6, SIN_5 = 1.0 / 120, SIN_7 = -1.0 / 5040, SIN_9 = 1.0 / 362880,
            SIN_11 = -1.0 / 39916800, SIN_13 = 1.0 / 6227020800.0;
    private static final double COS_4 = 1.0 / 24, COS_6 = -1.0 / 720, COS_8 = 1.0 / 40320, COS_10 = -1.0 / 3628800,
            COS_12 = 1.0 / 479001600;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** The float lanes that the second half of a conversion to double fills. */
    private static final VectorMask<Float> UPPER_HALF = VectorMask.fromLong(Simd.Preferred.F,
            ((1L << Simd.LANES) - 1) & ~((1L << (Simd.LANES / 2)) - 1));

    /**
     * sin(x): x widened to double, reduced by the nearest multiple n of pi / 2 (three-part pi / 2, fma), a polynomial
     * for sin or cos of the remainder by n mod 4, rounded once to float. The double result is within ~1e-13 of the
     * true value, so the float is the correctly rounded one but in rare near-ties: within 1 ulp of StrictMath's, on
     * every width and tier (only IEEE-exact operations). NaN comes back unchanged; +-inf gives NaN; -0 stays -0.
     */
    public static float sin(float x) {
        return trig(x, 0);
    }

    /** cos(x): {@link #sin(float)}'s reduction, the quadrant moved by one. */
    public static float cos(float x) {
        return trig(x, 1);
    }

    /** The scalar twin of {@link #trigRow}: the same operations for the lane's quadrant. */
    private static float trig(float x, int shift) {
        if (x != x) {
            return x;
        }
        if (!(Math.abs(x) <= TRIG_REDUCE_MAX)) {
            return (float) (shift == 0 ? StrictMath.sin(x) : StrictMath.cos(x));
        }
        double d = x;
        double t = d * TWO_OVER_PI + ROUND_MAGIC_D;
        double n = t - ROUND_MAGIC_D;
        long q = Double.doubleToRawLongBits(t) + shift;
        double y = Math.fma(-n, PIO2_1, d);
        y = Math.fma(-n, PIO2_2, y);
        y = Math.fma(-n, PIO2_3, y);
        double z = y * y;
        double r;
        if ((q & 1) == 0) {
            double p = Math.fma(z, SIN_13, SIN_11);
            p = Math.fma(z, p, SIN_9);
            p = Math.fma(z, p, SIN_7);
            p = Math.fma(z, p, SIN_5);
            p = Math.fma(z, p, SIN_3);
            r = y * Math.fma(z, p, 1.0); // y (1 + z p): keeps sin(-0) = -0, which y + y z p loses (+0 + -0)
        } else {
            double p = Math.fma(z, COS_12, COS_10);
            p = Math.fma(z, p, COS_8);
            p = Math.fma(z, p, COS_6);
            p = Math.fma(z, p, COS_4);
            r = Math.fma(z * z, p, Math.fma(z, -0.5, 1.0));
        }
        return (float) ((q & 2) == 0 ? r : -r);
    }

    /**
     * {@code out = sin(x)} ({@code shift} 0) or {@code cos(x)} (1) over whole vectors up to byte {@code vecEnd}: each
     * vector's two halves widened to double lanes, {@link #trig(float, int)}'s operations on both (both polynomials,
     * blended by quadrant), narrowed back into one vector. Written out in one loop body: a helper taking or returning
     * vectors, compiled on its own past C2's inlining size, boxed them (~10 bytes an element). A vector with a lane
     * past {@link #TRIG_REDUCE_MAX} (or infinite) goes lane by lane through the scalar twin.
     */
    public static void trigRow(int shift, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        if (D.length() < 4) {
            // two double lanes (128-bit vectors): C2 on x86 has no blend or compare for them, and the Vector API's Java
            // fallback allocated ~100 bytes an element; the scalar twin gives the same bits
            for (long i = 0; i < vecEnd; i += Float.BYTES) {
                out.set(Simd.FLOAT, ob + i, trig(x.get(Simd.FLOAT, xb + i), shift));
            }
            return;
        }
        for (long i = 0; i < vecEnd; i += Simd.VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.Preferred.F, x, xb + i, Simd.ORDER);
            if (v.abs().compare(VectorOperators.GT, TRIG_REDUCE_MAX).anyTrue()) {
                trigLanes(v, shift).intoMemorySegment(out, ob + i, Simd.ORDER);
                continue;
            }
            DoubleVector d = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector t = d.mul(TWO_OVER_PI).add(ROUND_MAGIC_D);
            DoubleVector n = t.sub(ROUND_MAGIC_D).neg();
            LongVector q = ((LongVector) t.viewAsIntegralLanes()).add(shift);
            DoubleVector y = n.fma(d.broadcast(PIO2_3), n.fma(d.broadcast(PIO2_2), n.fma(d.broadcast(PIO2_1), d)));
            DoubleVector z = y.mul(y);
            DoubleVector ps = z.fma(SIN_13, SIN_11).fma(z, d.broadcast(SIN_9)).fma(z, d.broadcast(SIN_7)).fma(z, d.broadcast(SIN_5))
                    .fma(z, d.broadcast(SIN_3));
            DoubleVector pc = z.fma(COS_12, COS_10).fma(z, d.broadcast(COS_8)).fma(z, d.broadcast(COS_6)).fma(z, d.broadcast(COS_4));
            DoubleVector r = y.mul(z.fma(ps, d.broadcast(1.0))).blend(z.mul(z).fma(pc, z.fma(-0.5, 1.0)), q.and(1L).compare(VectorOperators.NE, 0L).cast(D));
            FloatVector lo = (FloatVector) r.blend(r.neg(), q.and(2L).compare(VectorOperators.NE, 0L).cast(D)).convertShape(VectorOperators.D2F, v.species(), 0);
            d = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1); // the same for the upper half
            t = d.mul(TWO_OVER_PI).add(ROUND_MAGIC_D);
            n = t.sub(ROUND_MAGIC_D).neg();
            q = ((LongVector) t.viewAsIntegralLanes()).add(shift);
            y = n.fma(d.broadcast(PIO2_3), n.fma(d.broadcast(PIO2_2), n.fma(d.broadcast(PIO2_1), d)));
            z = y.mul(y);
            ps = z.fma(SIN_13, SIN_11).fma(z, d.broadcast(SIN_9)).fma(z, d.broadcast(SIN_7)).fma(z, d.broadcast(SIN_5)).fma(z, d.broadcast(SIN_3));
            pc = z.fma(COS_12, COS_10).fma(z, d.broadcast(COS_8)).fma(z, d.broadcast(COS_6)).fma(z, d.broadcast(COS_4));
            r = y.mul(z.fma(ps, d.broadcast(1.0))).blend(z.mul(z).fma(pc, z.fma(-0.5, 1.0)), q.and(1L).compare(VectorOperators.NE, 0L).cast(D));
            FloatVector hi = (FloatVector) r.blend(r.neg(), q.and(2L).compare(VectorOperators.NE, 0L).cast(D)).convertShape(VectorOperators.D2F, v.species(), -1);
            lo.blend(hi, UPPER_HALF).blend(v, v.compare(VectorOperators.NE, v)).intoMemorySegment(out, ob + i, Simd.ORDER);
        }
    }

    /** {@link #trigRow}'s vector lane by lane through the scalar twin. */
    private static FloatVector trigLanes(FloatVector v, int shift) {
        float[] a = v.toArray();
        for (int i = 0; i < a.length; i++) {
            a[i] = trig(a[i], shift);
        }
        return FloatVector.fromArray(v.species(), a, 0);
    }

    // ---- pow ----

    /**
     * x^p for a scalar exponent. The exponents 2, 3, 1, 0, -1, -2, 0.5 and -0.5 have short forms (PyTorch's
     * pow_tensor_scalar_optimized_kernel: x x x and 1 / (x x) differ from the rounded power in a quarter of the
     * elements); any other exponent goes lane by lane through {@link #pow(float, float)} (StrictMath: slow, but the same
     * bits everywhere).
     */
    public static FloatVector pow(FloatVector x, float p) {
        if (p == 2f) {
            return x.mul(x);
        }
        if (p == 3f) {
            return x.mul(x).mul(x);
        }
        if (p == -2f) {
            return x.broadcast(1f).div(x.mul(x));
        }
        if (p == 1f) {
            return x;
        }
        if (p == 0f) {
            return x.broadcast(1f);
        }
        if (p == -1f) {
            return x.broadcast(1f).div(x);
        }
        if (p == 0.5f) { // sqrt, as PyTorch's x.pow(0.5) (its sqrt kernel): -0 -> -0 and -inf -> NaN (C's pow gives +0, +inf)
            return x.sqrt();
        }
        if (p == -0.5f) { // 1 / sqrt, as PyTorch's rsqrt kernel: -0 -> -inf, -inf -> NaN
            return x.broadcast(1f).div(x.sqrt());
        }
        return powLanes(x, p);
    }

    /**
     * Scalar twin of {@link #pow(FloatVector, float)}, x^p for a scalar exponent (the tensor exponent's {@link #pow(float,
     * float)} keeps C's values at -0 and -inf, as PyTorch's does).
     */
    public static float powScalarExponent(float x, float p) {
        if (p == 3f) {
            return x * x * x;
        }
        if (p == -2f) {
            return 1f / (x * x);
        }
        if (p == 0.5f) {
            return (float) Math.sqrt(x);
        }
        if (p == -0.5f) {
            return 1f / (float) Math.sqrt(x);
        }
        return pow(x, p);
    }

    /** x^p lane by lane (a tensor exponent). */
    public static FloatVector pow(FloatVector x, FloatVector p) {
        float[] xs = x.toArray();
        float[] ps = p.toArray();
        for (int i = 0; i < xs.length; i++) {
            xs[i] = pow(xs[i], ps[i]);
        }
        return FloatVector.fromArray(x.species(), xs, 0);
    }

    private static FloatVector powLanes(FloatVector x, float p) {
        float[] xs = x.toArray();
        for (int i = 0; i < xs.length; i++) {
            xs[i] = pow(xs[i], p);
        }
        return FloatVector.fromArray(x.species(), xs, 0);
    }

    /**
     * Scalar twin of the pow vector forms: {@code (float) StrictMath.pow(x, p)} in value. The exponents with an
     * exact short form use it (the same value: the double result rounded to float is the float operation's
     * result). A NaN from StrictMath is made the canonical NaN: its payload can depend on operand order.
     */
    public static float pow(float x, float p) {
        if (p == 2f) {
            return x * x;
        }
        if (p == 1f) {
            return x;
        }
        if (p == 0f) {
            return 1f;
        }
        if (p == -1f) {
            return 1f / x;
        }
        if (p == 0.5f) {
            return x == Float.NEGATIVE_INFINITY ? Float.POSITIVE_INFINITY : (float) Math.sqrt(x + 0f);
        }
        if (x == 1f || (x == -1f && Float.isInfinite(p))) {
            return 1f; // C's pow (PyTorch's): 1^y = 1 for any y, NaN too, and (-1)^(+-inf) = 1, where Java's gives NaN
        }
        float r = (float) StrictMath.pow(x, p);
        return r != r ? Float.NaN : r;
    }
}
