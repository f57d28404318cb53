package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Strided copies and dtype conversions (float32 and int64 elements). */
public final class Copy {
    private Copy() {
    }

    /** The element types the copies convert between: float32, int64, and bool (one byte, 0 or 1). */
    public enum Elem {
        F32(4), I64(8), BOOL(1);

        /** Bytes per element. */
        public final int bytes;

        Elem(int bytes) {
            this.bytes = bytes;
        }
    }

    /**
     * A strided copy of elements of type {@code from} into elements of type {@code to}, like PyTorch's {@code .to()}:
     * float to int64 truncates toward zero, and NaN, the infinities and values outside the int64 range become
     * Long.MIN_VALUE as PyTorch's on x86 (C's undefined cast, the CPU's "integer indefinite"; Java's cast saturates and
     * makes NaN 0); anything to bool is {@code value != 0} (NaN is true); bool to a number is 0 or 1. Same-type float
     * copies take the vector loop.
     */
    /** A float to int64 as PyTorch's on x86: truncated, or Long.MIN_VALUE for NaN, +-inf and values outside the range. */
    static long toLong(float v) {
        return v >= -0x1p63f && v < 0x1p63f ? (long) v : Long.MIN_VALUE;
    }

    /**
     * A float to int32 as PyTorch's {@code .int()} and numpy's {@code astype(int32)} on x86: truncated, or
     * Integer.MIN_VALUE for NaN, +-inf and values outside the int32 range (the CPU's "integer indefinite" again).
     */
    public static int toInt(float v) {
        return v >= -0x1p31f && v < 0x1p31f ? (int) v : Integer.MIN_VALUE;
    }

    /**
     * {@link #convert} into int64 elements that hold int32 values, as {@code tensor.int().long()} (Lanes has no int32
     * type): float by {@link #toInt}, int64 wrapped to its low 32 bits (two's complement, as C's and numpy's
     * conversions), bool 0 or 1.
     */
    public static void convertToInt32(Elem from, MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        StridedLoop loop = StridedLoop.reused(shape, sStr, sOff, dStr, dOff); // this thread's: a plan's cast step allocates nothing
        int n = loop.rowLength();
        long ss = loop.rowStride(0);
        long sd = loop.rowStride(1);
        long[] off = loop.offsets;
        for (long r = loop.rows(); r > 0; r--) {
            for (int i = 0; i < n; i++) {
                long s = off[0] + i * ss;
                dst.set(LONG, (off[1] + i * sd) << 3, switch (from) {
                    case F32 -> toInt(src.get(FLOAT, s << 2));
                    case I64 -> (int) src.get(LONG, s << 3);
                    case BOOL -> src.get(ValueLayout.JAVA_BYTE, s);
                });
            }
            loop.advance();
        }
    }

    public static void convert(Elem from, MemorySegment src, long sOff, int[] sStr, Elem to, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        if (from == Elem.F32 && to == Elem.F32) {
            copyFloat(src, sOff, sStr, dst, dOff, dStr, shape);
            return;
        }
        StridedLoop loop = StridedLoop.reused(shape, sStr, sOff, dStr, dOff); // this thread's: a plan's cast step allocates nothing
        int n = loop.rowLength();
        long ss = loop.rowStride(0);
        long sd = loop.rowStride(1);
        long[] off = loop.offsets;
        for (long r = loop.rows(); r > 0; r--) {
            if (from == to && ss == 1 && sd == 1) {
                MemorySegment.copy(src, off[0] * from.bytes, dst, off[1] * to.bytes, (long) n * from.bytes);
            } else {
                for (int i = 0; i < n; i++) {
                    long s = off[0] + i * ss;
                    long d = off[1] + i * sd;
                    switch (to) {
                        case F32 -> dst.set(FLOAT, d << 2, switch (from) {
                            case F32 -> src.get(FLOAT, s << 2);
                            case I64 -> (float) src.get(LONG, s << 3);
                            case BOOL -> src.get(ValueLayout.JAVA_BYTE, s);
                        });
                        case I64 -> dst.set(LONG, d << 3, switch (from) {
                            case F32 -> toLong(src.get(FLOAT, s << 2));
                            case I64 -> src.get(LONG, s << 3);
                            case BOOL -> src.get(ValueLayout.JAVA_BYTE, s);
                        });
                        case BOOL -> dst.set(ValueLayout.JAVA_BYTE, d, (byte) (switch (from) {
                            case F32 -> src.get(FLOAT, s << 2) != 0f || Float.isNaN(src.get(FLOAT, s << 2));
                            case I64 -> src.get(LONG, s << 3) != 0;
                            case BOOL -> src.get(ValueLayout.JAVA_BYTE, s) != 0;
                        } ? 1 : 0));
                    }
                }
            }
            loop.advance();
        }
    }

    /** Copies a strided float block into another layout of the same shape. */
    public static void copyFloat(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        Elementwise.unary(UnaryOp.IDENTITY, 0f, 0f, src, sOff, sStr, dst, dOff, dStr, shape);
    }

    /** Copies a strided int64 block into another layout of the same shape. */
    public static void copyLong(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        convert(Elem.I64, src, sOff, sStr, Elem.I64, dst, dOff, dStr, shape);
    }

    /** Fills a strided bool block with {@code v}. */
    public static void fillBool(MemorySegment dst, long dOff, int[] dStr, int[] shape, boolean v) {
        StridedLoop loop = new StridedLoop(shape, dStr);
        int n = loop.rowLength();
        long sd = loop.rowStride(0);
        int[] idx = new int[loop.dims];
        long[] off = {dOff};
        byte b = (byte) (v ? 1 : 0);
        for (long r = loop.rows(); r > 0; r--) {
            for (int i = 0; i < n; i++) {
                dst.set(ValueLayout.JAVA_BYTE, off[0] + i * sd, b);
            }
            loop.advance(idx, off);
        }
    }

    /** Fills a strided int64 block with {@code v}. */
    public static void fillLong(MemorySegment dst, long dOff, int[] dStr, int[] shape, long v) {
        StridedLoop loop = new StridedLoop(shape, dStr);
        int n = loop.rowLength();
        long sd = loop.rowStride(0);
        int[] idx = new int[loop.dims];
        long[] off = {dOff};
        for (long r = loop.rows(); r > 0; r--) {
            for (int i = 0; i < n; i++) {
                dst.set(LONG, (off[0] + i * sd) << 3, v);
            }
            loop.advance(idx, off);
        }
    }
}
