package dev.lanes.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar twins of the kernels: naive N-d index loops in double precision where it matters, written for
 * obviousness, never speed. Property tests compare the SIMD kernels with these.
 */
final class KernelReference {
    private KernelReference() {
    }

    static float get(MemorySegment s, long elem) {
        return s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, elem * 4);
    }

    static void set(MemorySegment s, long elem, float v) {
        s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, elem * 4, v);
    }

    /** Flat index -> per-dimension index -> element offset. */
    static long offsetOf(long flat, int[] shape, int[] strides, long base) {
        long off = base;
        for (int d = shape.length - 1; d >= 0; d--) {
            long i = flat % shape[d];
            flat /= shape[d];
            off += i * strides[d];
        }
        return off;
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    static void unary(UnaryOp op, float p, float q, MemorySegment x, long xOff, int[] xStr, MemorySegment out, long oOff, int[] oStr, int[] shape) {
        for (long f = 0; f < numel(shape); f++) {
            float v = get(x, offsetOf(f, shape, xStr, xOff));
            set(out, offsetOf(f, shape, oStr, oOff), op.apply(v, p, q));
        }
    }

    static void binary(BinaryKernel op, MemorySegment a, long aOff, int[] aStr, MemorySegment b, long bOff, int[] bStr,
                       MemorySegment out, long oOff, int[] oStr, int[] shape) {
        for (long f = 0; f < numel(shape); f++) {
            float va = get(a, offsetOf(f, shape, aStr, aOff));
            float vb = get(b, offsetOf(f, shape, bStr, bOff));
            set(out, offsetOf(f, shape, oStr, oOff), op.apply(va, vb));
        }
    }

    static double[] sum(MemorySegment in, long off, int outer, int r, int inner) {
        double[] out = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < r; k++) {
                for (int i = 0; i < inner; i++) {
                    out[o * inner + i] += get(in, off + ((long) o * r + k) * inner + i);
                }
            }
        }
        return out;
    }

    /** C = alpha op(A) op(B) + beta C (+ bias, relu), in double, with the same conventions as {@link Sgemm}. */
    static double[] sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc, Sgemm.Epilogue epi) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = get(a, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                    double bv = get(b, bOff + (tb ? (long) j * ldb + p : (long) p * ldb + j));
                    s += av * bv;
                }
                double v = alpha * s + (beta == 0 ? 0 : beta * get(c, cOff + (long) i * ldc + j));
                if (epi != null && epi.bias() != null) {
                    v += get(epi.bias(), epi.biasOff() + (epi.biasPerRow() ? i : j));
                }
                if (epi != null && epi.relu()) {
                    v = Math.max(v, 0);
                } else if (epi != null) {
                    v = epi.activate((float) v); // the float activation of the exact sum (GELU, tanh, ...)
                }
                out[i * n + j] = v;
            }
        }
        return out;
    }
}
