package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import java.lang.foreign.ValueLayout;

/**
 * Indexing by int64 index tensors: selecting rows (index_select, embedding), adding rows back at their indices (their
 * backward: an index-add, not a dense product), and gather / scatter-add along a dim. Every index is checked by
 * {@link #checkIndices} before a kernel runs; the kernels trust them.
 *
 * <p>A "row" is the {@code inner} contiguous floats after the indexed dim of a contiguous {@code [outer, r, inner]}
 * block; rows move with bulk segment copies and vector adds.
 */
public final class Indexing {
    private Indexing() {
    }

    /**
     * The first index of {@code idx[0, n)} outside {@code [0, size)}, as its position, or -1 when all are inside. No
     * value is exempt: an exemption by sentinel once let Long.MIN_VALUE through, whose row offset wraps around.
     */
    public static long firstOutOfRange(MemorySegment idx, long idxOff, long n, long size) {
        return firstOutOfRange(idx, idxOff, n, size, false);
    }

    /**
     * {@link #firstOutOfRange}, with {@code negative}: indices in {@code [-size, 0)} count from the end (PyTorch's
     * advanced indexing, ONNX's Gather) and are inside too.
     */
    public static long firstOutOfRange(MemorySegment idx, long idxOff, long n, long size, boolean negative) {
        long low = negative ? -size : 0;
        for (long i = 0; i < n; i++) {
            long v = idx.get(LONG, (idxOff + i) << 3);
            if (v < low || v >= size) {
                return i;
            }
        }
        return -1;
    }

    /** {@code out[o, j, :] = in[o, idx[j], :]} for {@code j < m}: in is {@code [outer, r, inner]}, out {@code [outer, m, inner]}. */
    public static void selectRows(MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment idx, long idxOff, int m,
                                  MemorySegment out, long outOff) {
        selectRows(in, inOff, outer, r, inner, idx, idxOff, m, out, outOff, false);
    }

    /** {@link #selectRows}; with {@code wrap}, a negative index counts from the end ({@code idx + r}; checked in {@code [-r, r)}). */
    public static void selectRows(MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment idx, long idxOff, int m,
                                  MemorySegment out, long outOff, boolean wrap) {
        long rowBytes = (long) inner << 2;
        for (int o = 0; o < outer; o++) {
            long inBase = inOff + (long) o * r * inner;
            long outBase = outOff + (long) o * m * inner;
            for (int j = 0; j < m; j++) {
                long k = idx.get(LONG, (idxOff + j) << 3);
                if (wrap && k < 0) {
                    k += r;
                }
                MemorySegment.copy(in, (inBase + k * inner) << 2, out, (outBase + (long) j * inner) << 2, rowBytes);
            }
        }
    }

    /**
     * The backward of {@link #selectRows}: {@code out[o, idx[j], :] += g[o, j, :]}, rows whose index equals
     * {@code skip} left out (embedding's padding_idx; Long.MIN_VALUE for none). Rows are added in j order: repeated
     * indices accumulate in a fixed order. {@code out} is added to (the caller zeroes it).
     */
    public static void addRows(MemorySegment g, long gOff, int outer, int m, int inner, MemorySegment idx, long idxOff, long skip,
                               MemorySegment out, long outOff, int r) {
        addRows(g, gOff, outer, m, inner, idx, idxOff, skip, out, outOff, r, false);
    }

    /** {@link #addRows}; with {@code wrap}, a negative index counts from the end, as {@link #selectRows}'s. */
    public static void addRows(MemorySegment g, long gOff, int outer, int m, int inner, MemorySegment idx, long idxOff, long skip,
                               MemorySegment out, long outOff, int r, boolean wrap) {
        for (int o = 0; o < outer; o++) {
            long gBase = gOff + (long) o * m * inner;
            long outBase = outOff + (long) o * r * inner;
            for (int j = 0; j < m; j++) {
                long k = idx.get(LONG, (idxOff + j) << 3);
                if (k == skip) {
                    continue;
                }
                if (wrap && k < 0) {
                    k += r;
                }
                long ob = (outBase + k * inner) << 2;
                Elementwise.binaryContiguous(BinaryOp.ADD, out, ob, g, (gBase + (long) j * inner) << 2, out, ob, inner);
            }
        }
    }

    /**
     * The backward of an embedding with {@code scale_grad_by_freq}: {@code out[idx[j], :] += g[j, :] / count(idx[j])}
     * in j order, where {@code count} is how often the index occurs among all m (padding included, as torch counts
     * them), rows whose index equals {@code skip} left out. Each row is scaled then added, like torch's
     * {@code grad_weight[k].add_(grad[i], 1.0 / counts[k])}. {@code counts} is scratch of at least {@code r} ints
     * (only the referenced entries are written); {@code out} is added to (the caller zeroes it).
     */
    public static void addRowsScaledByFreq(MemorySegment g, long gOff, int m, int inner, MemorySegment idx, long idxOff, long skip,
                                           MemorySegment out, long outOff, int[] counts) {
        for (int j = 0; j < m; j++) {
            counts[(int) idx.get(LONG, (idxOff + j) << 3)] = 0;
        }
        for (int j = 0; j < m; j++) {
            counts[(int) idx.get(LONG, (idxOff + j) << 3)]++;
        }
        var species = Simd.Preferred.F;
        int step = species.length();
        for (int j = 0; j < m; j++) {
            long k = idx.get(LONG, (idxOff + j) << 3);
            if (k == skip) {
                continue;
            }
            float scale = (float) (1.0 / counts[(int) k]);
            long ob = (outOff + k * inner) << 2;
            long gb = (gOff + (long) j * inner) << 2;
            int i = 0;
            for (; i <= inner - step; i += step) {
                long at = ob + ((long) i << 2);
                FloatVector gv = FloatVector.fromMemorySegment(species, g, gb + ((long) i << 2), Simd.ORDER);
                FloatVector ov = FloatVector.fromMemorySegment(species, out, at, Simd.ORDER);
                gv.mul(scale).add(ov).intoMemorySegment(out, at, Simd.ORDER);
            }
            for (; i < inner; i++) {
                long at = ob + ((long) i << 2);
                out.set(FLOAT, at, out.get(FLOAT, at) + g.get(FLOAT, gb + ((long) i << 2)) * scale);
            }
        }
    }

    /**
     * torch's {@code embedding_renorm_}: every distinct row of {@code w} ({@code inner} floats, {@code colStride} apart,
     * rows {@code rowStride} apart, in elements) that {@code idx[0, m)} references, once, whose {@code normType}-norm exceeds {@code maxNorm}, scaled in place by {@code maxNorm / (norm + 1e-7)}.
     * Rows are visited in ascending index order (torch sorts and de-duplicates the indices); the norm is summed in
     * double. Returns how many rows were scaled.
     */
    public static int renormRows(MemorySegment w, long wOff, long rowStride, long colStride, int inner, MemorySegment idx, long idxOff, int m,
                                 double maxNorm, double normType) {
        long[] sorted = new long[m];
        MemorySegment.copy(idx, LONG, idxOff << 3, sorted, 0, m);
        java.util.Arrays.sort(sorted);
        int scaled = 0;
        for (int j = 0; j < m; j++) {
            if (j > 0 && sorted[j] == sorted[j - 1]) {
                continue;
            }
            long base = (wOff + sorted[j] * rowStride) << 2;
            double norm = rowNorm(w, base, colStride << 2, inner, normType);
            if (norm > maxNorm) {
                float scale = (float) (maxNorm / (norm + 1e-7));
                for (int i = 0; i < inner; i++) {
                    long at = base + i * (colStride << 2);
                    w.set(FLOAT, at, w.get(FLOAT, at) * scale);
                }
                scaled++;
            }
        }
        return scaled;
    }

    /**
     * The p-norm of {@code n} floats {@code strideBytes} apart from byte offset {@code base}: p = inf the largest
     * magnitude, p = 0 the count of nonzeros, as torch.norm defines them.
     */
    static double rowNorm(MemorySegment w, long base, long strideBytes, int n, double p) {
        double acc = 0;
        for (int i = 0; i < n; i++) {
            double a = Math.abs(w.get(FLOAT, base + i * strideBytes));
            if (p == 2) {
                acc += a * a;
            } else if (p == 1) {
                acc += a;
            } else if (p == Double.POSITIVE_INFINITY) {
                acc = Math.max(acc, a);
            } else if (p == 0) {
                acc += a != 0 ? 1 : 0;
            } else {
                acc += StrictMath.pow(a, p); // StrictMath: the same bits on every JVM and CPU
            }
        }
        return p == 2 ? Math.sqrt(acc) : p == 1 || p == 0 || p == Double.POSITIVE_INFINITY ? acc : StrictMath.pow(acc, 1 / p);
    }

    /**
     * gather along a dim: {@code out[o, j, i] = in[o, idx[o, j, i], i]} with in {@code [outer, r, inner]} and idx, out
     * {@code [outer, m, inner]} (contiguous; an index smaller than the input in other dims is handled by the caller).
     */
    public static void gather(MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment idx, long idxOff, int m,
                              MemorySegment out, long outOff) {
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < m; j++) {
                long p = (long) o * m * inner + (long) j * inner;
                for (int i = 0; i < inner; i++) {
                    long k = idx.get(LONG, (idxOff + p + i) << 3);
                    float v = in.get(FLOAT, (inOff + (long) o * r * inner + k * inner + i) << 2);
                    out.set(FLOAT, (outOff + p + i) << 2, v);
                }
            }
        }
    }

    /** The backward of {@link #gather} and torch.scatter_add: {@code out[o, idx[o, j, i], i] += src[o, j, i]}, in index order. */
    public static void scatterAdd(MemorySegment src, long srcOff, int outer, int m, int inner, MemorySegment idx, long idxOff,
                                  MemorySegment out, long outOff, int r) {
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < m; j++) {
                long p = (long) o * m * inner + (long) j * inner;
                for (int i = 0; i < inner; i++) {
                    long k = idx.get(LONG, (idxOff + p + i) << 3);
                    long at = (outOff + (long) o * r * inner + k * inner + i) << 2;
                    out.set(FLOAT, at, out.get(FLOAT, at) + src.get(FLOAT, (srcOff + p + i) << 2));
                }
            }
        }
    }

    /** {@code out[i, idx[i]] = 1} for an int64 one-hot of {@code n} indices into {@code classes} columns (out zeroed). */
    public static void oneHot(MemorySegment idx, long idxOff, long n, int classes, MemorySegment out, long outOff) {
        for (long i = 0; i < n; i++) {
            long k = idx.get(LONG, (idxOff + i) << 3);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED, (outOff + i * classes + k) << 3, 1L);
        }
    }
}
