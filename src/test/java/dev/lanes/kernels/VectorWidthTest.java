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
    }

    @Test
    void scratchCoversEveryKernelThatUsesIt() {
        assertThat(Sgemm.SCRATCH_FLOATS).isGreaterThanOrEqualTo(Sgemm.MR * Sgemm.NR)
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
}
