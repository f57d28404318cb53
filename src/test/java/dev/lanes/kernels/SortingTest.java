package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Sorting#select} against a scalar reference: each row's indices sorted by (value, index) with NaN the largest
 * and -0.0 equal to 0.0, the first k taken. Rows with many ties, NaNs and signed zeros; k from 0 to n (the insertion
 * path at small k, the merge sort above it); strided rows (inner > 1) and an offset input. Bits must match exactly.
 */
class SortingTest {
    private static final float[] POOL = {0f, -0f, 1f, -1f, 2f, Float.NaN, Float.intBitsToFloat(0x7fc00001), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, 0.5f};

    static int[] referenceOrder(float[] row, boolean descending) {
        Integer[] idx = new Integer[row.length];
        for (int j = 0; j < row.length; j++) {
            idx[j] = j;
        }
        Arrays.sort(idx, (p, q) -> {
            float a = row[p];
            float b = row[q];
            int c;
            if (Float.isNaN(a) || Float.isNaN(b)) {
                c = Float.isNaN(a) == Float.isNaN(b) ? 0 : Float.isNaN(a) ? 1 : -1;
            } else {
                c = a < b ? -1 : a > b ? 1 : 0;
            }
            if (descending) {
                c = -c;
            }
            return c != 0 ? c : Integer.compare(p, q); // ties: the lower index first, both directions
        });
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    @Test
    void matchesTheReferenceOrderBitForBit() {
        Random r = new Random(7);
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 400; trial++) {
                int outer = 1 + r.nextInt(3);
                int n = 1 + r.nextInt(trial < 200 ? 12 : 70);
                int inner = 1 + r.nextInt(3);
                int k = r.nextInt(n + 1);
                boolean desc = r.nextBoolean();
                boolean ties = r.nextBoolean();
                int off = r.nextInt(3);
                float[] x = new float[off + outer * n * inner];
                for (int i = 0; i < x.length; i++) {
                    x[i] = ties ? POOL[r.nextInt(POOL.length)] : (float) r.nextGaussian();
                }
                MemorySegment xs = arena.allocate(4L * x.length);
                MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, x.length);
                MemorySegment vs = arena.allocate(4L * (1 + outer * k * inner));
                MemorySegment is = arena.allocate(8L * (1 + outer * k * inner));
                Sorting.select(xs, off, outer, n, inner, k, desc, vs, 1, is, 1, new float[n + 3], new int[2 * n + 1]);
                for (int o = 0; o < outer; o++) {
                    for (int i = 0; i < inner; i++) {
                        float[] row = new float[n];
                        for (int j = 0; j < n; j++) {
                            row[j] = x[off + (o * n + j) * inner + i];
                        }
                        int[] want = referenceOrder(row, desc);
                        for (int j = 0; j < k; j++) {
                            long at = 1 + (long) (o * k + j) * inner + i;
                            String where = "trial " + trial + " n " + n + " k " + k + " desc " + desc + " row " + Arrays.toString(row) + " j " + j;
                            assertThat(is.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at)).as(where).isEqualTo(want[j]);
                            assertThat(Float.floatToRawIntBits(vs.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at))).as(where)
                                    .isEqualTo(Float.floatToRawIntBits(row[want[j]]));
                        }
                    }
                }
            }
        }
    }

    @Test
    void refusesKOutOfRangeAndShortScratch() {
        MemorySegment x = MemorySegment.ofArray(new float[4]);
        MemorySegment v = MemorySegment.ofArray(new float[4]);
        MemorySegment i = MemorySegment.ofArray(new long[4]);
        assertThatThrownBy(() -> Sorting.select(x, 0, 1, 4, 1, 5, true, v, 0, i, 0, new float[4], new int[8]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k = 5, n = 4");
        assertThatThrownBy(() -> Sorting.select(x, 0, 1, 4, 1, 2, true, v, 0, i, 0, new float[4], new int[7]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scratch");
    }
}
