package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Selection kernels: {@code where(cond, a, b)}, {@code masked_fill(x, mask, value)} and the triangles
 * ({@code tril}/{@code triu}) of float32 tensors.
 *
 * <p>Conditions and masks are read as "nonzero is true", from float32 elements ({@code NaN} and {@code -0.0}: NaN is
 * true, -0.0 false, as {@code v != 0}) or from int64 elements ({@link Cond}); a bool dtype adds a constant there. Every
 * call is reduced by {@link StridedLoop} to rows: a float condition row with contiguous (or broadcast scalar) operands
 * runs a vector loop (compare + blend), a row whose condition is one broadcast value copies or fills the row, any
 * other row (int64 conditions, strided operands) runs the scalar loop, whose definition the vector loops match.
 */
public final class Select {
    private Select() {
    }

    /** How a condition's elements are stored. */
    public enum Cond {
        /** float32, 4 bytes: true when {@code v != 0} (NaN is true). */
        FLOAT32(4),
        /** int64, 8 bytes: true when {@code v != 0}. */
        INT64(8),
        /** bool, 1 byte: true when {@code v != 0}. */
        BOOL(1);

        /** Bytes per element. */
        public final int bytes;

        Cond(int bytes) {
            this.bytes = bytes;
        }

        boolean at(MemorySegment c, long element) {
            return switch (this) {
                case FLOAT32 -> c.get(FLOAT, element << 2) != 0f;
                case INT64 -> c.get(LONG, element << 3) != 0L;
                case BOOL -> c.get(java.lang.foreign.ValueLayout.JAVA_BYTE, element) != 0;
            };
        }
    }

    /**
     * {@code out = cond ? a : b} over {@code shape}; element offsets, element strides (0 = broadcast); the output is
     * written with its own strides and must not overlap the inputs.
     */
    public static void where(Cond kind, MemorySegment c, long cOff, int[] cStr,
                             MemorySegment a, long aOff, int[] aStr,
                             MemorySegment b, long bOff, int[] bStr,
                             MemorySegment out, long oOff, int[] oStr, int[] shape) {
        if (empty(shape)) {
            return;
        }
        StridedLoop loop = StridedLoop.reused(shape, cStr, cOff, aStr, aOff, bStr, bOff, oStr, oOff); // this thread's: no arrays per call
        int n = loop.rowLength();
        long sc = loop.rowStride(0);
        long sa = loop.rowStride(1);
        long sb = loop.rowStride(2);
        long so = loop.rowStride(3);
        long rows = loop.rows();
        long[] off = loop.offsets;
        for (long r = 0; r < rows; r++) {
            long co = off[0];
            long ao = off[1];
            long bo = off[2];
            long oo = off[3];
            if (so == 1 && sc == 0) { // one condition for the whole row: a copy of a's row or b's
                boolean t = kind.at(c, co);
                copyRow(t ? a : b, t ? ao : bo, t ? sa : sb, out, oo, n);
            } else if (so == 1 && sc == 1 && kind == Cond.FLOAT32 && sa == 1 && sb == 1) {
                whereRow(c, co << 2, a, ao << 2, b, bo << 2, out, oo << 2, n);
            } else if (so == 1 && sc == 1 && kind == Cond.FLOAT32 && sa == 1 && sb == 0) {
                fillRow(c, co << 2, true, b.get(FLOAT, bo << 2), a, ao << 2, out, oo << 2, n); // false -> b's one value
            } else if (so == 1 && sc == 1 && kind == Cond.FLOAT32 && sa == 0 && sb == 1) {
                fillRow(c, co << 2, false, a.get(FLOAT, ao << 2), b, bo << 2, out, oo << 2, n); // true -> a's one value
            } else {
                for (int i = 0; i < n; i++) {
                    float v = kind.at(c, co + i * sc) ? a.get(FLOAT, (ao + i * sa) << 2) : b.get(FLOAT, (bo + i * sb) << 2);
                    out.set(FLOAT, (oo + i * so) << 2, v);
                }
            }
            loop.advance();
        }
    }

    /**
     * {@code out = (mask is true) != invert ? value : x} over {@code shape}: masked_fill ({@code invert} false), or
     * its complement (value where the mask is false: the backward of where).
     */
    public static void maskedFill(Cond kind, MemorySegment m, long mOff, int[] mStr, boolean invert, float value,
                                  MemorySegment x, long xOff, int[] xStr,
                                  MemorySegment out, long oOff, int[] oStr, int[] shape) {
        if (empty(shape)) {
            return;
        }
        StridedLoop loop = StridedLoop.reused(shape, mStr, mOff, xStr, xOff, oStr, oOff);
        int n = loop.rowLength();
        long sm = loop.rowStride(0);
        long sx = loop.rowStride(1);
        long so = loop.rowStride(2);
        long rows = loop.rows();
        long[] off = loop.offsets;
        for (long r = 0; r < rows; r++) {
            long mo = off[0];
            long xo = off[1];
            long oo = off[2];
            if (so == 1 && sm == 0) {
                if (kind.at(m, mo) != invert) {
                    fillRow(out, oo << 2, value, n);
                } else {
                    copyRow(x, xo, sx, out, oo, n);
                }
            } else if (so == 1 && sm == 1 && sx == 1 && kind == Cond.FLOAT32) {
                fillRow(m, mo << 2, invert, value, x, xo << 2, out, oo << 2, n);
            } else {
                for (int i = 0; i < n; i++) {
                    float v = kind.at(m, mo + i * sm) != invert ? value : x.get(FLOAT, (xo + i * sx) << 2);
                    out.set(FLOAT, (oo + i * so) << 2, v);
                }
            }
            loop.advance();
        }
    }

    /**
     * The lower ({@code lower}: tril) or upper (triu) triangle of each matrix of the last two dims of {@code x}
     * ({@code shape} has at least 2 dims), the rest zero, into the contiguous {@code out}: element {@code (i, j)} is
     * kept when {@code j - i <= diagonal} (tril) or {@code j - i >= diagonal} (triu). Rows are copied and zeroed as
     * ranges (bulk copies when x's columns are contiguous).
     */
    public static void triangle(boolean lower, int diagonal, MemorySegment x, long xOff, int[] xStr, MemorySegment out, long oOff,
                                int[] shape) {
        int nd = shape.length;
        int rowsPer = shape[nd - 2];
        int cols = shape[nd - 1];
        long rs = xStr[nd - 2];
        long cs = xStr[nd - 1];
        long batch = 1;
        for (int d = 0; d < nd - 2; d++) {
            batch *= shape[d];
        }
        if (batch == 0 || rowsPer == 0 || cols == 0) {
            return;
        }
        long o = oOff;
        for (long bi = 0; bi < batch; bi++) {
            // this matrix's offset from its index over dims 0 .. nd-3 (no counter array: a plan's tril / triu step allocates nothing)
            long xBatch = xOff;
            long rest = bi;
            for (int d = nd - 3; d >= 0; d--) {
                xBatch += rest % shape[d] * xStr[d];
                rest /= shape[d];
            }
            for (int i = 0; i < rowsPer; i++) {
                // kept columns: [0, keepEnd) for tril, [keepStart, cols) for triu, computed in long (diagonal may be extreme)
                long lo = lower ? 0 : Math.clamp((long) i + diagonal, 0, cols);
                long hi = lower ? Math.clamp((long) i + diagonal + 1, 0, cols) : cols;
                long xr = xBatch + i * rs;
                if (lo > 0) {
                    fillRow(out, o << 2, 0f, (int) lo);
                }
                if (hi > lo) {
                    copyRow(x, xr + lo * cs, cs, out, o + lo, (int) (hi - lo));
                }
                if (hi < cols) {
                    fillRow(out, (o + Math.max(hi, lo)) << 2, 0f, (int) (cols - Math.max(hi, lo)));
                }
                o += cols;
            }
        }
    }

    private static boolean empty(int[] shape) {
        for (int s : shape) {
            if (s == 0) {
                return true;
            }
        }
        return false;
    }

    // ---- rows ----

    /** {@code n} floats of {@code src} (element offset and stride; 0 = one value repeated) to the contiguous out row. */
    private static void copyRow(MemorySegment src, long sOff, long sStride, MemorySegment out, long oOff, int n) {
        if (sStride == 1) {
            MemorySegment.copy(src, sOff << 2, out, oOff << 2, (long) n << 2);
        } else if (sStride == 0) {
            fillRow(out, oOff << 2, src.get(FLOAT, sOff << 2), n);
        } else {
            for (int i = 0; i < n; i++) {
                out.set(FLOAT, (oOff + i) << 2, src.get(FLOAT, (sOff + i * sStride) << 2));
            }
        }
    }

    /** Floats {@link #fillRow} stores one by one before it doubles the run by copies. */
    private static final int FILL_SEED = 16;

    /**
     * {@code n} copies of {@code v} from byte offset {@code ob} (also {@link Elementwise#unary}'s rows of one value):
     * {@link #FILL_SEED} stores, then the filled run copied after itself ({@link MemorySegment#copy}, the JDK's native
     * copy), doubling until the row is full. Measured against vector stores (Xeon, a batch-1 convolution's backward
     * whose 200k-float gradient is filled so): the same at 512 bits, 1.05x at 256 (the native copy is not held to the
     * JVM's vector width), and no vector code for a young process to run uncompiled. The same bits in every element.
     */
    static void fillRow(MemorySegment out, long ob, float v, int n) {
        int seed = Math.min(n, FILL_SEED);
        for (int i = 0; i < seed; i++) {
            out.set(FLOAT, ob + ((long) i << 2), v);
        }
        for (long filled = seed; filled < n; ) {
            long run = Math.min(filled, n - filled);
            MemorySegment.copy(out, ob, out, ob + (filled << 2), run << 2);
            filled += run;
        }
    }

    /** {@code out = c != 0 ? a : b} over n contiguous floats; byte offsets. */
    private static void whereRow(MemorySegment c, long cb, MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob,
                                 int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMask<Float> t = FloatVector.fromMemorySegment(F, c, cb + i, ORDER).compare(VectorOperators.NE, 0f);
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            FloatVector.fromMemorySegment(F, b, bb + i, ORDER).blend(va, t).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, c.get(FLOAT, cb + i) != 0f ? a.get(FLOAT, ab + i) : b.get(FLOAT, bb + i));
        }
    }

    /**
     * {@code out = (c != 0) != invert ? v : x} over n contiguous floats; byte offsets. Two loops, one per compare
     * (a compare operator that is not a constant in the loop is not intrinsified).
     */
    private static void fillRow(MemorySegment c, long cb, boolean invert, float v, MemorySegment x, long xb, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        // each loop a method of its own, compiled with its own profile (a loop left in line on a branch the caller's
        // profile calls cold can run the Vector API's allocating fallback: see Softmax.row)
        if (invert) {
            fillWhereZero(c, cb, v, x, xb, out, ob, vecEnd);
        } else {
            fillWhereNonZero(c, cb, v, x, xb, out, ob, vecEnd);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, (c.get(FLOAT, cb + i) != 0f) != invert ? v : x.get(FLOAT, xb + i));
        }
    }

    private static void fillWhereZero(MemorySegment c, long cb, float v, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMask<Float> f = FloatVector.fromMemorySegment(F, c, cb + i, ORDER).compare(VectorOperators.EQ, 0f);
            FloatVector.fromMemorySegment(F, x, xb + i, ORDER).blend(v, f).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void fillWhereNonZero(MemorySegment c, long cb, float v, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMask<Float> t = FloatVector.fromMemorySegment(F, c, cb + i, ORDER).compare(VectorOperators.NE, 0f);
            FloatVector.fromMemorySegment(F, x, xb + i, ORDER).blend(v, t).intoMemorySegment(out, ob + i, ORDER);
        }
    }
}
