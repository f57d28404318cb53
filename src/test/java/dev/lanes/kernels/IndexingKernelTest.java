package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Indexing's embedding kernels against scalar twins written here: the scale_grad_by_freq backward (vector body and
 * scalar tail, row lengths around the lane count, odd offsets, repeated and skipped indices) and max_norm's
 * renormalisation (strided rows, every norm kind, each distinct row scaled once). Tolerance: the freq backward adds
 * the same float products in the same order as its twin (exact); norms 1e-6 relative (summed in double both ways).
 */
class IndexingKernelTest {
    private final SplittableRandom rnd = new SplittableRandom(107);

    private static MemorySegment floats(Arena a, float[] v) {
        MemorySegment s = a.allocate((long) v.length * 4, 4);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-2, 2);
        }
        return v;
    }

    @Test
    void addRowsScaledByFreqMatchesItsScalarTwin() {
        int[] inners = {1, 3, Simd.LANES - 1, Simd.LANES, Simd.LANES + 1, 2 * Simd.LANES + 3, 37};
        for (int inner : inners) {
            int r = 7;
            int m = 13;
            long[] idx = new long[m + 1]; // element 0 unused: an odd index offset
            for (int j = 1; j <= m; j++) {
                idx[j] = rnd.nextInt(0, 4) == 0 ? 2 : rnd.nextInt(r); // row 2 repeats often, and is the skipped row below
            }
            float[] g = random(3 + m * inner); // 3 leading floats: an odd gradient offset
            for (long skip : new long[] {Long.MIN_VALUE, 2}) {
                float[] want = new float[r * inner];
                int[] count = new int[r];
                for (int j = 1; j <= m; j++) {
                    count[(int) idx[j]]++;
                }
                for (int j = 1; j <= m; j++) {
                    int k = (int) idx[j];
                    if (k == skip) {
                        continue;
                    }
                    float scale = (float) (1.0 / count[k]);
                    for (int i = 0; i < inner; i++) {
                        want[k * inner + i] += g[3 + (j - 1) * inner + i] * scale;
                    }
                }
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment is = a.allocate((long) idx.length * 8, 8);
                    MemorySegment.copy(idx, 0, is, ValueLayout.JAVA_LONG, 0, idx.length);
                    MemorySegment out = floats(a, new float[1 + r * inner]);
                    int[] counts = new int[r];
                    java.util.Arrays.fill(counts, -99); // stale scratch: the kernel resets the entries it uses
                    Indexing.addRowsScaledByFreq(floats(a, g), 3, m, inner, is, 1, skip, out, 1, counts);
                    float[] got = new float[r * inner];
                    MemorySegment.copy(out, ValueLayout.JAVA_FLOAT, 4, got, 0, got.length);
                    assertThat(got).as("inner " + inner + " skip " + skip).containsExactly(want);
                }
            }
        }
    }

    @Test
    void renormRowsScalesEachReferencedRowOnceAboveMaxNorm() {
        int r = 6;
        int inner = Simd.LANES + 3;
        int rowStride = 2 * inner + 1; // strided rows of a wider table (odd: no alignment)
        int colStride = 2;
        for (double p : new double[] {2, 1, 3, 0, Double.POSITIVE_INFINITY}) {
            float[] w = random(1 + r * rowStride);
            long[] idx = {4, 1, 1, 5, 4, 0};
            double maxNorm = p == 0 ? inner / 2.0 : 1.5;
            float[] want = w.clone();
            boolean[] seen = new boolean[r];
            int scaledRows = 0;
            for (long k : idx) {
                if (seen[(int) k]) {
                    continue;
                }
                seen[(int) k] = true;
                double acc = 0;
                for (int i = 0; i < inner; i++) {
                    double a = Math.abs(want[1 + (int) k * rowStride + i * colStride]);
                    acc = p == Double.POSITIVE_INFINITY ? Math.max(acc, a) : p == 0 ? acc + (a != 0 ? 1 : 0) : acc + Math.pow(a, p);
                }
                double norm = p == Double.POSITIVE_INFINITY || p == 0 ? acc : Math.pow(acc, 1 / p);
                if (norm > maxNorm) {
                    scaledRows++;
                    float scale = (float) (maxNorm / (norm + 1e-7));
                    for (int i = 0; i < inner; i++) {
                        want[1 + (int) k * rowStride + i * colStride] *= scale;
                    }
                }
            }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment ws = floats(a, w);
                MemorySegment is = a.allocate((long) idx.length * 8, 8);
                MemorySegment.copy(idx, 0, is, ValueLayout.JAVA_LONG, 0, idx.length);
                int scaled = Indexing.renormRows(ws, 1, rowStride, colStride, inner, is, 0, idx.length, maxNorm, p);
                float[] got = new float[w.length];
                MemorySegment.copy(ws, ValueLayout.JAVA_FLOAT, 0, got, 0, got.length);
                assertThat(scaled).as("p " + p).isEqualTo(scaledRows);
                for (int i = 0; i < got.length; i++) {
                    assertThat(got[i]).as("p " + p + " element " + i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-6f * Math.max(1, Math.abs(want[i]))));
                }
            }
        }
    }
}
