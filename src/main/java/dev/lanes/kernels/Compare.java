package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Comparisons and logical ops with bool results (one byte, 0 or 1), over strided operands of any element type
 * ({@link Copy.Elem}), with broadcasting (stride 0). Two integer operands (int64, bool) compare as longs, exactly;
 * otherwise both are compared as float32, like PyTorch's type promotion (an int64 next to a float32 is converted).
 * NaN compares unequal to everything, so {@code ne} is its only true comparison. Logical ops read any element as
 * {@code value != 0} (NaN is true).
 */
public final class Compare {
    private Compare() {
    }

    /** The comparisons ({@code eq ne lt le gt ge}) and the logical ops ({@code and or xor}). */
    public enum Op {
        EQ, NE, LT, LE, GT, GE, AND, OR, XOR;

        boolean longs(long a, long b) {
            return switch (this) {
                case EQ -> a == b;
                case NE -> a != b;
                case LT -> a < b;
                case LE -> a <= b;
                case GT -> a > b;
                case GE -> a >= b;
                case AND -> a != 0 && b != 0;
                case OR -> a != 0 || b != 0;
                case XOR -> (a != 0) != (b != 0);
            };
        }

        boolean floats(float a, float b) {
            return switch (this) {
                case EQ -> a == b;
                case NE -> a != b;
                case LT -> a < b;
                case LE -> a <= b;
                case GT -> a > b;
                case GE -> a >= b;
                case AND -> truth(a) && truth(b);
                case OR -> truth(a) || truth(b);
                case XOR -> truth(a) != truth(b);
            };
        }

        private static boolean truth(float v) {
            return v != 0f || v != v;
        }
    }

    /** {@code out = op(a, b)} as bools over {@code shape}; element offsets and strides; out must not overlap a or b. */
    public static void binary(Op op, Copy.Elem ea, MemorySegment a, long aOff, int[] aStr, Copy.Elem eb, MemorySegment b, long bOff, int[] bStr,
                              MemorySegment out, long oOff, int[] oStr, int[] shape) {
        for (int d : shape) {
            if (d == 0) {
                return;
            }
        }
        boolean asLongs = ea != Copy.Elem.F32 && eb != Copy.Elem.F32;
        StridedLoop loop = StridedLoop.reused(shape, aStr, aOff, bStr, bOff, oStr, oOff); // this thread's: no arrays per call
        int n = loop.rowLength();
        long sa = loop.rowStride(0);
        long sb = loop.rowStride(1);
        long so = loop.rowStride(2);
        long[] off = loop.offsets;
        boolean floats = ea == Copy.Elem.F32 && eb == Copy.Elem.F32; // the common case: no element-type dispatch per element
        for (long r = loop.rows(); r > 0; r--) {
            if (floats) {
                for (int i = 0; i < n; i++) {
                    boolean v = op.floats(a.get(FLOAT, (off[0] + i * sa) << 2), b.get(FLOAT, (off[1] + i * sb) << 2));
                    out.set(ValueLayout.JAVA_BYTE, off[2] + i * so, (byte) (v ? 1 : 0));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    long pa = off[0] + i * sa;
                    long pb = off[1] + i * sb;
                    boolean v = asLongs ? op.longs(readLong(ea, a, pa), readLong(eb, b, pb)) : op.floats(readFloat(ea, a, pa), readFloat(eb, b, pb));
                    out.set(ValueLayout.JAVA_BYTE, off[2] + i * so, (byte) (v ? 1 : 0));
                }
            }
            loop.advance();
        }
    }

    /** {@code out = !a} as bools (a of any element type, nonzero is true). */
    public static void not(Copy.Elem ea, MemorySegment a, long aOff, int[] aStr, MemorySegment out, long oOff, int[] oStr, int[] shape) {
        for (int d : shape) {
            if (d == 0) {
                return;
            }
        }
        StridedLoop loop = StridedLoop.reused(shape, aStr, aOff, oStr, oOff);
        int n = loop.rowLength();
        long sa = loop.rowStride(0);
        long so = loop.rowStride(1);
        long[] off = loop.offsets;
        for (long r = loop.rows(); r > 0; r--) {
            for (int i = 0; i < n; i++) {
                long p = off[0] + i * sa;
                boolean t = ea == Copy.Elem.F32 ? Op.truth(readFloat(ea, a, p)) : readLong(ea, a, p) != 0;
                out.set(ValueLayout.JAVA_BYTE, off[1] + i * so, (byte) (t ? 0 : 1));
            }
            loop.advance();
        }
    }

    /** The number of true (nonzero) bytes among {@code n} contiguous bools. */
    public static long countTrue(MemorySegment a, long aOff, long n) {
        long c = 0;
        for (long i = 0; i < n; i++) {
            c += a.get(ValueLayout.JAVA_BYTE, aOff + i) != 0 ? 1 : 0;
        }
        return c;
    }

    /** {@code out[o, i] = count of true a[o, k, i]} over k, int64, for contiguous bools {@code [outer, r, inner]}. */
    public static void countTrue(MemorySegment a, long aOff, int outer, int r, int inner, MemorySegment out, long oOff) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long c = 0;
                for (int k = 0; k < r; k++) {
                    c += a.get(ValueLayout.JAVA_BYTE, aOff + ((long) o * r + k) * inner + i) != 0 ? 1 : 0;
                }
                out.set(LONG, (oOff + (long) o * inner + i) << 3, c);
            }
        }
    }

    private static long readLong(Copy.Elem e, MemorySegment s, long p) {
        return e == Copy.Elem.I64 ? s.get(LONG, p << 3) : s.get(ValueLayout.JAVA_BYTE, p);
    }

    private static float readFloat(Copy.Elem e, MemorySegment s, long p) {
        return switch (e) {
            case F32 -> s.get(FLOAT, p << 2);
            case I64 -> (float) s.get(LONG, p << 3);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, p);
        };
    }
}
