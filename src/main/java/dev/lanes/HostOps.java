package dev.lanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Plumbing of the ops whose kernels are plain sequential Java loops over row-major arrays (scans, sampling,
 * index permutations: {@link ScanReduceOps}, {@link ReorderOps}, ...; sort/topk moved to a plan step, {@link SortOps}): reading a tensor's values
 * into an array and making a tensor of an array. One element at a time, in index order, so their results do not
 * depend on the vector width or the thread count. These ops have no plan step: they call
 * {@link Tracer#checkNoPlanStep} before anything else, so tracing refuses them.
 */
final class HostOps {
    private HostOps() {
    }

    /** The row-major float values of a float32 tensor (any layout). */
    static float[] floats(Tensor x) {
        return x.withContiguous(src -> {
            float[] out = new float[src.numel()];
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment.copy(src.seg(), ValueLayout.JAVA_FLOAT, (long) src.storageOffset() << 2, out, 0, out.length);
            }
            return out;
        });
    }

    /** The row-major values of an int64 tensor (any layout). */
    static long[] longs(Tensor x) {
        return x.withContiguous(src -> {
            long[] out = new long[src.numel()];
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment.copy(src.seg(), ValueLayout.JAVA_LONG, (long) src.storageOffset() << 3, out, 0, out.length);
            }
            return out;
        });
    }

    /** The row-major values of a bool tensor (any layout). */
    static boolean[] bools(Tensor x) {
        return x.withContiguous(src -> {
            boolean[] out = new boolean[src.numel()];
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment s = src.seg();
                long base = src.storageOffset();
                for (int i = 0; i < out.length; i++) {
                    out[i] = s.get(ValueLayout.JAVA_BYTE, base + i) != 0;
                }
            }
            return out;
        });
    }

    /** A new float32 tensor of {@code shape} holding {@code v} (not a plan constant: a computed value). */
    static Tensor floatTensor(float[] v, int[] shape) {
        Tensor t = Tensor.allocate(DType.FLOAT32, shape.clone());
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(v, 0, t.seg(), ValueLayout.JAVA_FLOAT, 0, v.length);
        }
        return t;
    }

    static Tensor longTensor(long[] v, int[] shape) {
        Tensor t = Tensor.allocate(DType.INT64, shape.clone());
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(v, 0, t.seg(), ValueLayout.JAVA_LONG, 0, v.length);
        }
        return t;
    }

    static Tensor boolTensor(boolean[] v, int[] shape) {
        Tensor t = Tensor.allocate(DType.BOOL, shape.clone());
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = t.seg();
            for (int i = 0; i < v.length; i++) {
                s.set(ValueLayout.JAVA_BYTE, i, (byte) (v[i] ? 1 : 0));
            }
        }
        return t;
    }

    /**
     * The contiguous {@code shape} split around {@code dim} (already wrapped) into outer x size x inner; a 0-d
     * shape is one element (its dim 0 is itself, as PyTorch's reductions treat it).
     */
    static int[] split(int[] shape, int dim) {
        return shape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(shape, dim);
    }

    /** {@code shape} reduced along {@code dim}: kept as 1 or removed. */
    static int[] reducedShape(int[] shape, int dim, boolean keepdim) {
        if (shape.length == 0) {
            return new int[0];
        }
        if (keepdim) {
            int[] out = shape.clone();
            out[dim] = 1;
            return out;
        }
        int[] out = new int[shape.length - 1];
        System.arraycopy(shape, 0, out, 0, dim);
        System.arraycopy(shape, dim + 1, out, dim, shape.length - dim - 1);
        return out;
    }
}
