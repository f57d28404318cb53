package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LONG;

import java.lang.foreign.MemorySegment;

/** Strided copies and dtype conversions (float32 and int64 elements). */
public final class Copy {
    private Copy() {
    }

    /**
     * A strided copy from a float32 or int64 source into a float32 or int64 destination: the same-type copies, or
     * the conversions (float to int64 truncates toward zero, like PyTorch's {@code .long()}).
     */
    public static void convert(boolean srcLong, MemorySegment src, long sOff, int[] sStr,
                               boolean dstLong, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        if (srcLong == dstLong) {
            if (srcLong) {
                copyLong(src, sOff, sStr, dst, dOff, dStr, shape);
            } else {
                copyFloat(src, sOff, sStr, dst, dOff, dStr, shape);
            }
        } else if (dstLong) {
            floatToLong(src, sOff, sStr, dst, dOff, dStr, shape);
        } else {
            longToFloat(src, sOff, sStr, dst, dOff, dStr, shape);
        }
    }

    /** Copies a strided float block into another layout of the same shape. */
    public static void copyFloat(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        Elementwise.unary(UnaryOp.IDENTITY, 0f, 0f, src, sOff, sStr, dst, dOff, dStr, shape);
    }

    /** Copies a strided int64 block into another layout of the same shape. */
    public static void copyLong(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        convert(Kind.LONG_TO_LONG, src, sOff, sStr, dst, dOff, dStr, shape);
    }

    /** float32 -> int64, truncating toward zero like {@code tensor.long()}. */
    public static void floatToLong(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        convert(Kind.FLOAT_TO_LONG, src, sOff, sStr, dst, dOff, dStr, shape);
    }

    /** int64 -> float32 with round-to-nearest, like {@code tensor.float()}. */
    public static void longToFloat(MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        convert(Kind.LONG_TO_FLOAT, src, sOff, sStr, dst, dOff, dStr, shape);
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

    private enum Kind { LONG_TO_LONG, FLOAT_TO_LONG, LONG_TO_FLOAT }

    private static void convert(Kind kind, MemorySegment src, long sOff, int[] sStr, MemorySegment dst, long dOff, int[] dStr, int[] shape) {
        StridedLoop loop = new StridedLoop(shape, sStr, dStr);
        int n = loop.rowLength();
        long ss = loop.rowStride(0);
        long sd = loop.rowStride(1);
        int[] idx = new int[loop.dims];
        long[] off = {sOff, dOff};
        for (long r = loop.rows(); r > 0; r--) {
            if (kind == Kind.LONG_TO_LONG && ss == 1 && sd == 1) {
                MemorySegment.copy(src, off[0] << 3, dst, off[1] << 3, (long) n << 3);
            } else {
                for (int i = 0; i < n; i++) {
                    long s = off[0] + i * ss;
                    long d = off[1] + i * sd;
                    switch (kind) {
                        case LONG_TO_LONG -> dst.set(LONG, d << 3, src.get(LONG, s << 3));
                        case FLOAT_TO_LONG -> dst.set(LONG, d << 3, (long) src.get(FLOAT, s << 2));
                        case LONG_TO_FLOAT -> dst.set(FLOAT, d << 2, (float) src.get(LONG, s << 3));
                    }
                }
            }
            loop.advance(idx, off);
        }
    }
}
