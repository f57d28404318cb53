package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.kernels.Compare;

/**
 * Comparisons ({@code eq ne lt le gt ge}) and logical ops ({@code logical_and/or/xor/not}) returning bool tensors,
 * like PyTorch's, on float32, int64 and bool operands with broadcasting; and the sum of a bool tensor (an int64
 * count, PyTorch's accuracy idiom {@code pred.eq(y).sum()}). Not differentiable. Kernel: {@code kernels.Compare}.
 * Comparisons and logical ops are plan steps ({@link PlanStep.Compare}: a bool slot), so a traced forward may compute
 * a mask from its input and use it in where or masked_fill. The float 0/1 masks backward rules use internally are
 * {@link ArithmeticOps.Binary} rows.
 */
final class LogicOps {
    private LogicOps() {
    }

    /** {@code op(a, b)} elementwise with broadcasting, a bool tensor. */
    static Tensor binary(Compare.Op op, Tensor a, Tensor b) {
        a.checkAlive();
        b.checkAlive();
        int[] shape = Shapes.broadcast(a.shapeRef(), b.shapeRef());
        int[] aStr = Shapes.broadcastStrides(a.shapeRef(), a.stridesRef(), shape);
        int[] bStr = Shapes.broadcastStrides(b.shapeRef(), b.stridesRef(), shape);
        return Launch.run(r -> new PlanStep.Compare(op, a.dtype().elem(), r[0], aStr, b.dtype().elem(), r[1], bStr, shape),
                Tensor.allocate(DType.BOOL, shape), a, b);
    }

    /**
     * {@code op(x, value)}: an integral value next to an int64 or bool tensor compares as an integer (exactly); any
     * other pair compares in float32, like PyTorch's promotion of a Python number.
     */
    static Tensor binary(Compare.Op op, Tensor x, double value) {
        x.checkAlive();
        boolean integral = x.dtype() != DType.FLOAT32 && value == Math.rint(value) && Math.abs(value) < 0x1p62;
        try (Tensor v = integral ? Tensor.scalarLong((long) value) : Tensor.scalar(value)) {
            return binary(op, x, v);
        }
    }

    static Tensor not(Tensor x) {
        x.checkAlive();
        int[] shape = x.shapeRef();
        int[] strides = x.stridesRef();
        return Launch.run(r -> new PlanStep.Compare(Compare.Op.EQ, x.dtype().elem(), r[0], strides, null, null, null, shape),
                Tensor.allocate(DType.BOOL, shape), x);
    }

    /** The number of true elements (all, or along {@code dim}), int64, like {@code bool_tensor.sum(dim)}. */
    static Tensor countTrue(Tensor x, Integer dim, boolean keepdim) {
        if (x.dtype() != DType.BOOL) {
            throw new IllegalArgumentException("countTrue: expected a bool tensor, got " + x.dtype().shortName() + " of shape " + str(x.shapeRef()));
        }
        int[] shape = x.shapeRef();
        return x.withContiguous(src -> {
            if (dim == null) {
                Tensor out = Tensor.allocate(DType.INT64, new int[0]);
                try (OpFrame _ = OpFrame.enter()) {
                    out.seg().set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, Compare.countTrue(src.seg(), src.storageOffset(), src.numel()));
                }
                return out;
            }
            int d = Shapes.wrapDim(dim, Math.max(shape.length, 1));
            int[] split = shape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(shape, d);
            int[] outShape;
            if (shape.length == 0) {
                outShape = new int[0];
            } else if (keepdim) {
                outShape = shape.clone();
                outShape[d] = 1;
            } else {
                outShape = new int[shape.length - 1];
                System.arraycopy(shape, 0, outShape, 0, d);
                System.arraycopy(shape, d + 1, outShape, d, shape.length - d - 1);
            }
            Tensor out = Tensor.allocate(DType.INT64, outShape);
            try (OpFrame _ = OpFrame.enter()) {
                Compare.countTrue(src.seg(), src.storageOffset(), split[0], split[1], split[2], out.seg(), 0);
            }
            return out;
        });
    }
}
