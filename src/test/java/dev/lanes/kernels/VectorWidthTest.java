package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The width this JVM runs at, and the buffers derived from it. {@code .ci/run} runs the whole suite natively, with
 * {@code -XX:UseAVX=2} and with {@code -XX:MaxVectorSize=16}, passing {@code -Dlanes.test.expectBits}: a flag that
 * did not reach the forked JVM fails here instead of silently testing the native width three times.
 */
class VectorWidthTest {
    @Test
    void runsAtTheWidthTheBuildAskedFor() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        System.out.println("lanes: SPECIES_PREFERRED " + bits + " bits, " + Simd.LANES + " float lanes, "
                + Simd.VECTOR_REGISTERS + " vector registers assumed; GEMM tile " + Sgemm.MR + " x " + Sgemm.NR);
        String expect = System.getProperty("lanes.test.expectBits");
        if (expect != null && !expect.isBlank()) {
            assertThat(bits).as("vector width (bits) of this test JVM").isEqualTo(Integer.parseInt(expect.trim()));
        }
        assertThat(Simd.LANES).isIn(2, 4, 8, 16, 32, 64);
        // LANES is read from the preferred shape, without initialising FloatVector (a cold start's first predictions)
        assertThat(Simd.LANES).as("lanes of the preferred float species").isEqualTo(FloatVector.SPECIES_PREFERRED.length());
        assertThat(Simd.VBYTES).isEqualTo(FloatVector.SPECIES_PREFERRED.vectorByteSize());
    }

    @Test
    void scratchCoversEveryKernelThatUsesIt() {
        assertThat(Sgemm.SCRATCH_FLOATS).isGreaterThanOrEqualTo(Sgemm.MR * Sgemm.NR + Simd.LANES) // a masked tail read from tile column t0 > 0
                .isGreaterThanOrEqualTo(16 * Simd.LANES) // the 4 x 4 dot-product block's accumulators
                .isGreaterThanOrEqualTo(2 * Sgemm.NR);   // a GEMV block
        assertThat(Sgemm.NR % Simd.LANES).isZero();
    }

    /**
     * The crash of issue 13 at 256 and 128 bits: a transposed B with more than 128 (or 64) columns per KC block was
     * staged in the MR x NR tile. A Linear with 129 inputs and a batch above 4 is enough.
     */
    @Test
    void transposedBWithLongRowsAtAnyWidth() {
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            for (int k : new int[] {129, 257, Sgemm.KC, Sgemm.KC + 1, 3 * Sgemm.KC + 5}) {
                int m = 8;
                int n = 32;
                MemorySegment a = arena.allocate(4L * m * k, 64);
                MemorySegment b = arena.allocate(4L * n * k, 64);
                MemorySegment c = arena.allocate(4L * m * n, 64);
                for (long i = 0; i < (long) m * k; i++) {
                    KernelReference.set(a, i, (float) rnd.nextDouble(-1, 1));
                }
                for (long i = 0; i < (long) n * k; i++) {
                    KernelReference.set(b, i, (float) rnd.nextDouble(-1, 1));
                }
                Sgemm.sgemm(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, n, null);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double want = 0;
                        for (int p = 0; p < k; p++) {
                            want += (double) KernelReference.get(a, (long) i * k + p) * KernelReference.get(b, (long) j * k + p);
                        }
                        assertThat((double) KernelReference.get(c, (long) i * n + j)).as("k=%d [%d,%d]", k, i, j)
                                .isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * Math.sqrt(k)));
                    }
                }
            }
        }
    }

    /** The canonical order spelled out independently of Simd.fold: partial i mod p, pairwise fold, then the tail. */
    private static float canonical(float[] x, float[] y, int from, int n, int partials) {
        float[] part = new float[partials];
        int whole = n - n % partials;
        for (int i = 0; i < whole; i++) {
            part[i % partials] = y == null ? part[i % partials] + x[from + i] : Math.fma(x[from + i], y[from + i], part[i % partials]);
        }
        for (int h = partials / 2; h > 0; h /= 2) {
            for (int i = 0; i < h; i++) {
                part[i] += part[i + h];
            }
        }
        float s = part[0];
        for (int i = whole; i < n; i++) {
            s = y == null ? s + x[from + i] : Math.fma(x[from + i], y[from + i], s);
        }
        return s;
    }

    /**
     * Sums and dot products in the canonical order at this width: the vector forms give exactly the bits of the
     * order written out in scalars, so every width (and the scalar form other lane counts run) agrees.
     */
    /**
     * BatchNorm's variance pass sums (x - mu)^2 as it reads x ({@link Reductions#sumSquaredDeviationsRow}), and its
     * backward sums g (x - mu) rs ({@link Reductions#sumGradTimesNormalizedRow}): bit for bit what writing those
     * values into a row and summing that row with {@link Reductions#sumRow} gives, for rows with tails, across the
     * 4096-float block boundary, and with a NaN and an infinity.
     */
    @Test
    void squaredDeviationsSumAsTheirSquaresWould() {
        SplittableRandom rnd = new SplittableRandom(13);
        try (Arena arena = Arena.ofConfined()) {
            int max = 9000;
            MemorySegment x = arena.allocate(4L * (max + 3), 64);
            MemorySegment squares = arena.allocate(4L * (max + 3), 64);
            for (int i = 0; i < max + 3; i++) {
                x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-3, 5) * (1 << rnd.nextInt(8)));
            }
            for (int iter = 0; iter < 200; iter++) {
                int n = iter < 70 ? iter : rnd.nextInt(max);
                int from = rnd.nextInt(3);
                float mu = (float) rnd.nextDouble(-2, 2);
                if (iter == 150) {
                    x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, from + n / 2, Float.NaN);
                }
                if (iter == 170) {
                    x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, from + n / 3, Float.POSITIVE_INFINITY);
                }
                for (int i = 0; i < n; i++) {
                    float d = x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, from + i) - mu;
                    squares.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, d * d);
                }
                double want = Reductions.sumRow(squares, 0, n);
                double got = Reductions.sumSquaredDeviationsRow(x, 4L * from, n, mu);
                assertThat(Double.doubleToRawLongBits(got)).as("n %d mu %s", n, mu).isEqualTo(Double.doubleToRawLongBits(want));
                // the variant for lane counts other than 4, 8 and 16 (SVE), against the reference sum of the squares
                long groups = 4L * (n - n % 32);
                assertThat(Float.floatToRawIntBits(Reductions.squaredDeviations32Scalar(x, 4L * from, groups, mu)))
                        .isEqualTo(Float.floatToRawIntBits(Reductions.sum32Scalar(squares, 0, groups)));
                // BatchNorm backward's sum(g xhat), g read from x shifted by one float
                float rs = (float) rnd.nextDouble(0.1, 3);
                for (int i = 0; i < n; i++) {
                    float gi = x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, from + i + 1);
                    float xi = x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, from + i);
                    squares.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, gi * ((xi - mu) * rs));
                }
                want = Reductions.sumRow(squares, 0, n);
                got = Reductions.sumGradTimesNormalizedRow(x, 4L * (from + 1), x, 4L * from, n, mu, rs);
                assertThat(Double.doubleToRawLongBits(got)).as("g xhat: n %d mu %s rs %s", n, mu, rs).isEqualTo(Double.doubleToRawLongBits(want));
                assertThat(Float.floatToRawIntBits(Reductions.gradTimesNormalized32Scalar(x, 4L * (from + 1), x, 4L * from, groups, mu, rs)))
                        .isEqualTo(Float.floatToRawIntBits(Reductions.sum32Scalar(squares, 0, groups)));
            }
        }
    }

    @Test
    void sumsAndDotsFollowTheCanonicalOrderBitForBit() {
        SplittableRandom rnd = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            int max = 5000;
            float[] x = new float[max + 3];
            float[] y = new float[max + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextDouble(-1, 1) * (1 << rnd.nextInt(12)); // magnitudes apart: order shows in the bits
                y[i] = (float) rnd.nextDouble(-1, 1);
            }
            MemorySegment xs = arena.allocate(4L * x.length, 64);
            MemorySegment ys = arena.allocate(4L * y.length, 64);
            MemorySegment.copy(x, 0, xs, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, x.length);
            MemorySegment.copy(y, 0, ys, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, y.length);
            for (int iter = 0; iter < 400; iter++) {
                int n = iter < 70 ? iter : rnd.nextInt(max);
                int from = rnd.nextInt(3);
                assertThat(Float.floatToRawIntBits(Reductions.sumBlock(xs, 4L * from, n))).as("sum of %d", n)
                        .isEqualTo(Float.floatToRawIntBits(canonical(x, null, from, n, 32)));
                assertThat(Float.floatToRawIntBits(Sgemm.dot(xs, from, ys, from, n))).as("dot of %d", n)
                        .isEqualTo(Float.floatToRawIntBits(canonical(x, y, from, n, 32)));
            }
            // the 4 x 4 dot-product blocks of A B^T (m <= 16, k >= 256): 16 partials per dot
            for (int k : new int[] {256, 263, 300, 784}) {
                int m = 8; // above SMALL_M (4 rows and fewer run as single dot products)
                int n = 8;
                MemorySegment c = arena.allocate(4L * m * n, 64);
                Sgemm.sgemm(false, true, m, n, k, 1f, xs, 0, k / 4, ys, 0, k / 4 + 1, 0f, c, 0, n, null);
                // rows overlap in memory (lda = k / 4): fine for reading, and it makes every row different
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        float[] xr = java.util.Arrays.copyOfRange(x, i * (k / 4), i * (k / 4) + k);
                        float[] yr = java.util.Arrays.copyOfRange(y, j * (k / 4 + 1), j * (k / 4 + 1) + k);
                        assertThat(Float.floatToRawIntBits(KernelReference.get(c, (long) i * n + j))).as("k=%d [%d,%d]", k, i, j)
                                .isEqualTo(Float.floatToRawIntBits(canonical(xr, yr, 0, k, 16)));
                    }
                }
            }
        }
    }

    /**
     * The JIT tier does not show in the bits (issue 13: with the Vector API's own transcendentals tanh changed by the
     * 6th call, exp by the 23rd, softmax by the 50th, as C2 replaced the scalar fallback by SVML): 60 calls on the
     * same 65,536 inputs, from the interpreter through C1 to C2, all give the first call's bits.
     */
    @Test
    void repeatedCallsGiveTheSameBitsWhateverTheJitTier() {
        int n = 65_536;
        SplittableRandom rnd = new SplittableRandom(3);
        try (Arena arena = Arena.ofShared()) { // softmax splits rows across the kernel threads
            MemorySegment x = arena.allocate(4L * n, 64);
            MemorySegment out = arena.allocate(4L * n, 64);
            for (long i = 0; i < n; i++) {
                KernelReference.set(x, i, (float) rnd.nextDouble(-12, 12));
            }
            UnaryOp[] ops = {UnaryOp.EXP, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.LOG};
            int[][] first = new int[ops.length + 2][];
            for (int call = 0; call < 60; call++) {
                for (int o = 0; o < ops.length + 2; o++) {
                    if (o < ops.length) {
                        Elementwise.unaryContiguous(ops[o], 0f, 0f, x, 0, out, 0, n);
                    } else {
                        Softmax.forward(o == ops.length + 1, x, 0, n / 256, 256, 1, out, 0); // softmax, log_softmax rows
                    }
                    int[] bits = out.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
                    if (call == 0) {
                        first[o] = bits;
                    } else if (!java.util.Arrays.equals(bits, first[o])) {
                        int differ = 0;
                        for (int i = 0; i < n; i++) {
                            differ += bits[i] != first[o][i] ? 1 : 0;
                        }
                        org.assertj.core.api.Assertions.fail("%s: call %d differs from the first call in %d of %d elements",
                                o < ops.length ? ops[o] : o == ops.length ? "softmax" : "log_softmax", call, differ, n);
                    }
                }
            }
        }
    }

    /**
     * relu(-0.0) is +0.0 in the vector loop and in the scalar tail alike (the review of issue 13 found -0 kept by the
     * vector compare and +0 from Math.max in the tail, so the sign depended on n mod the lane count); the GEMM's fused
     * ReLU agrees.
     */
    @Test
    void reluOfNegativeZeroIsPositiveZeroOnEveryPath() {
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {1, 3, Simd.LANES - 1, Simd.LANES, 24, 37, 4 * Simd.LANES + 5}) {
                MemorySegment x = arena.allocate(4L * n, 64);
                MemorySegment out = arena.allocate(4L * n, 64);
                for (long i = 0; i < n; i++) {
                    KernelReference.set(x, i, i % 3 == 0 ? Float.NaN : -0f);
                }
                Elementwise.unaryContiguous(UnaryOp.RELU, 0f, 0f, x, 0, out, 0, n);
                for (long i = 0; i < n; i++) {
                    float v = KernelReference.get(out, i);
                    if (i % 3 == 0) {
                        assertThat(v).as("relu(NaN) at %d of %d", i, n).isNaN();
                    } else {
                        assertThat(Float.floatToRawIntBits(v)).as("relu(-0) at %d of %d", i, n).isZero();
                    }
                }
            }
            // C = A B with every product -0 (A = -0, B = 1), ReLU fused: +0 in whole tiles and at the edges
            int m = 9;
            int k = 3;
            int n = Sgemm.NR + 3;
            MemorySegment a = arena.allocate(4L * m * k, 64);
            MemorySegment b = arena.allocate(4L * k * n, 64);
            MemorySegment c = arena.allocate(4L * m * n, 64);
            for (long i = 0; i < (long) m * k; i++) {
                KernelReference.set(a, i, -0f);
            }
            for (long i = 0; i < (long) k * n; i++) {
                KernelReference.set(b, i, 1f);
            }
            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n, Sgemm.Epilogue.activation(UnaryOp.RELU));
            for (long i = 0; i < (long) m * n; i++) {
                assertThat(Float.floatToRawIntBits(KernelReference.get(c, i))).as("fused relu(-0) at %d", i).isZero();
            }
        }
    }

    /** NaN + NaN keeps one payload or the other depending on the JIT tier: sums and dots return the canonical NaN. */
    @Test
    void sumsAndDotsOfNaNsReturnTheCanonicalNaN() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * 75, 64);
            for (long i = 0; i < 75; i++) {
                KernelReference.set(x, i, Float.intBitsToFloat(0x7fc00000 + (int) i + 1));
            }
            for (int call = 0; call < 2000; call++) {
                assertThat(Float.floatToRawIntBits(Reductions.sumBlock(x, 0, 75))).isEqualTo(0x7fc00000);
                assertThat(Float.floatToRawIntBits(Sgemm.dot(x, 0, x, 0, 75))).isEqualTo(0x7fc00000);
            }
        }
    }

    /**
     * The scalar forms of the canonical order run on JVMs whose lane count is not 4, 8 or 16 (64-bit vectors, SVE
     * above 512 bits), a width no CI pass has: checked here against the order spelled out independently.
     */
    @Test
    void scalarFormsOfTheCanonicalOrderAgreeBitForBit() {
        SplittableRandom rnd = new SplittableRandom(13);
        try (Arena arena = Arena.ofConfined()) {
            int max = 3000;
            float[] x = new float[max];
            float[] y = new float[max];
            for (int i = 0; i < max; i++) {
                x[i] = (float) rnd.nextDouble(-1, 1) * (1 << rnd.nextInt(12));
                y[i] = (float) rnd.nextDouble(-1, 1);
            }
            MemorySegment xs = arena.allocate(4L * max, 64);
            MemorySegment ys = arena.allocate(4L * max, 64);
            MemorySegment.copy(x, 0, xs, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, max);
            MemorySegment.copy(y, 0, ys, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, max);
            for (int iter = 0; iter < 200; iter++) {
                int n = iter < 70 ? iter : rnd.nextInt(max);
                long groupEnd = 4L * (n - n % 32);
                float sum = Reductions.sum32Scalar(xs, 0, groupEnd);
                float dot = Sgemm.dot32Scalar(xs, 0, ys, 0, groupEnd);
                for (int i = n - n % 32; i < n; i++) {
                    sum += x[i];
                    dot = Math.fma(x[i], y[i], dot);
                }
                assertThat(Float.floatToRawIntBits(sum)).as("scalar sum of %d", n).isEqualTo(Float.floatToRawIntBits(canonical(x, null, 0, n, 32)));
                assertThat(Float.floatToRawIntBits(dot)).as("scalar dot of %d", n).isEqualTo(Float.floatToRawIntBits(canonical(x, y, 0, n, 32)));
                assertThat(Float.floatToRawIntBits(Sgemm.dot16Scalar(xs, 0, ys, 0, n))).as("scalar 16-partial dot of %d", n)
                        .isEqualTo(Float.floatToRawIntBits(canonical(x, y, 0, n, 16)));
            }
        }
    }
}
