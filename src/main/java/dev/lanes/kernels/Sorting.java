package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;

/**
 * sort / topk / argsort of float32 rows: per row of a contiguous {@code [outer, n, inner]} input, the first {@code k}
 * elements along n of one total order, as values and int64 indices into {@code [outer, k, inner]} outputs.
 *
 * <p>The order is torch 1.13's {@code sort(stable=True)}: ascending, NaN the largest (last ascending, first
 * descending), -0.0 equal to 0.0, and among equal values (NaNs included) the lower index first, ascending and
 * descending alike. With the index as the last key this is a strict total order, so the first k of it are one set in
 * one sequence: the merge sort (any k) and the insertion into a k-buffer (small k) give the same bits, and topk's
 * {@code sorted=false} returns them sorted too (torch leaves that order unspecified). Rows run sequentially on the
 * caller's thread, with the caller's scratch ({@link #scratchInts}, {@link #scratchFloats}): nothing is allocated.
 */
public final class Sorting {
    private Sorting() {
    }

    /** k at most this runs the insertion into a sorted k-buffer (n * k compares) instead of the full merge sort. */
    static final int INSERTION_K = 16;

    /** int scratch for rows of n: the order and the merge buffer. */
    public static long scratchInts(int n) {
        return 2L * n;
    }

    /** float scratch for rows of n: the row's keys. */
    public static long scratchFloats(int n) {
        return n;
    }

    /**
     * The first {@code k} of each row's order (descending: the largest first); {@code x} at element offset xOff,
     * values at element offset vOff, indices (int64) at element offset iOff. {@code keys} holds at least n floats,
     * {@code order} at least 2n ints.
     */
    public static void select(MemorySegment x, long xOff, int outer, int n, int inner, int k, boolean descending,
                              MemorySegment values, long vOff, MemorySegment indices, long iOff, float[] keys, int[] order) {
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("selected index k out of range (k = " + k + ", n = " + n + ")");
        }
        if (keys.length < n || order.length < 2L * n) {
            throw new IllegalArgumentException("sort scratch too small for rows of " + n);
        }
        if (k == 0) {
            return;
        }
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long in = (long) o * n * inner + i;
                if (inner == 1) {
                    MemorySegment.copy(x, FLOAT, (xOff + in) << 2, keys, 0, n);
                } else {
                    for (int j = 0; j < n; j++) {
                        keys[j] = x.get(FLOAT, (xOff + in + (long) j * inner) << 2);
                    }
                }
                if (k <= INSERTION_K && k < n) {
                    firstK(keys, n, k, order, descending);
                } else {
                    for (int j = 0; j < n; j++) {
                        order[j] = j;
                    }
                    mergeSort(keys, order, n, 0, n, descending);
                }
                long at = (long) o * k * inner + i;
                for (int j = 0; j < k; j++) {
                    int from = order[j];
                    values.set(FLOAT, (vOff + at + (long) j * inner) << 2, keys[from]);
                    indices.set(LONG, (iOff + at + (long) j * inner) << 3, from);
                }
            }
        }
    }

    /** a strictly before b: ascending with NaN largest, or descending (NaN first); equal values are not. */
    static boolean before(float a, float b, boolean descending) {
        boolean an = a != a;
        boolean bn = b != b;
        if (an || bn) {
            return descending ? an && !bn : bn && !an;
        }
        return descending ? a > b : a < b;
    }

    /**
     * The first k of the order into {@code order[0, k)}: each element in index order goes after every kept element
     * it is not strictly before (so equal values keep their index order), the last kept falling out.
     */
    private static void firstK(float[] keys, int n, int k, int[] order, boolean descending) {
        int kept = 0;
        for (int j = 0; j < n; j++) {
            float v = keys[j];
            if (kept == k && !before(v, keys[order[k - 1]], descending)) {
                continue;
            }
            int p = kept == k ? k - 1 : kept;
            while (p > 0 && before(v, keys[order[p - 1]], descending)) {
                order[p] = order[p - 1];
                p--;
            }
            order[p] = j;
            if (kept < k) {
                kept++;
            }
        }
    }

    /** Stable merge sort of {@code order[lo, hi)} by {@code keys[order[j]]}; {@code order[tmp + j]} is the merge buffer. */
    private static void mergeSort(float[] keys, int[] order, int tmp, int lo, int hi, boolean descending) {
        if (hi - lo < 2) {
            return;
        }
        int mid = (lo + hi) >>> 1;
        mergeSort(keys, order, tmp, lo, mid, descending);
        mergeSort(keys, order, tmp, mid, hi, descending);
        int a = lo;
        int b = mid;
        int t = tmp + lo;
        while (a < mid && b < hi) {
            // from the right half only when strictly before: ties keep the left (lower index) first
            order[t++] = before(keys[order[b]], keys[order[a]], descending) ? order[b++] : order[a++];
        }
        while (a < mid) {
            order[t++] = order[a++];
        }
        while (b < hi) {
            order[t++] = order[b++];
        }
        System.arraycopy(order, tmp + lo, order, lo, hi - lo);
    }
}
