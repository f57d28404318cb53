package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Select;

/**
 * Selection by a mask or a position: {@code where(condition, x, y)}, {@code masked_fill(x, mask, value)} and the
 * triangles {@code tril} / {@code triu}, forwards and backward rules. All are plan steps through {@link Launch}
 * ({@link PlanStep.Where}, {@link PlanStep.MaskedFill}, {@link PlanStep.Triangle}); kernels: {@code kernels.Select}.
 *
 * <p>Masks: a bool tensor (comparisons return one), or a float32 or int64 tensor read as "nonzero is true" (the
 * backward rules' own masks are float; {@link #condKind} tells the kinds apart). Masks are not
 * differentiable; where's and masked_fill's results broadcast all their tensor operands, and the gradients are
 * summed back to each input's shape ({@link ArithmeticOps#sumTo}).
 */
final class SelectOps {
    private SelectOps() {
    }

    /** How the kernels read a mask of {@code mask}'s dtype; the switch names every dtype, so a new one must add its case. */
    static Select.Cond condKind(Tensor mask) {
        mask.checkAlive();
        return switch (mask.dtype()) {
            case FLOAT32 -> Select.Cond.FLOAT32;
            case INT64 -> Select.Cond.INT64;
            case BOOL -> Select.Cond.BOOL;
        };
    }

    // ---- where ----

    /** {@code condition ? x : y} elementwise with broadcasting, like {@code torch.where(condition, x, y)}. */
    static Tensor where(Tensor condition, Tensor x, Tensor y) {
        Select.Cond kind = condKind(condition);
        x.requireFloat("where");
        y.requireFloat("where");
        int[] shape = Shapes.broadcast(Shapes.broadcast(condition.shapeRef(), x.shapeRef()), y.shapeRef());
        int[] cStr = Shapes.broadcastStrides(condition.shapeRef(), condition.stridesRef(), shape);
        int[] xStr = Shapes.broadcastStrides(x.shapeRef(), x.stridesRef(), shape);
        int[] yStr = Shapes.broadcastStrides(y.shapeRef(), y.stridesRef(), shape);
        Tensor out = Launch.run(r -> new PlanStep.Where(kind, r[0], cStr, r[1], xStr, r[2], yStr, shape), Tensor.allocate(DType.FLOAT32, shape),
                condition, x, y);
        return Tensor.record(out, () -> new WhereBackward0(condition, x, y), x, y);
    }

    /** where: the gradient goes to x where the condition holds, to y elsewhere, each summed back to its shape. */
    static final class WhereBackward0 extends Node {
        private final Saved condition;
        private final int[] xShape;
        private final int[] yShape;

        WhereBackward0(Tensor condition, Tensor x, Tensor y) {
            this.condition = save(condition, "argument 0");
            this.xShape = x.shape();
            this.yShape = y.shape();
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor c = condition.get();
            Tensor gx = null;
            Tensor gy = null;
            if (needsInputGrad(0)) {
                try (Tensor kept = fill(g, c, true, 0f)) { // zero where the condition is false
                    gx = ArithmeticOps.sumTo(kept, xShape);
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor kept = fill(g, c, false, 0f)) { // zero where it is true
                    gy = ArithmeticOps.sumTo(kept, yShape);
                }
            }
            return new Tensor[] {gx, gy};
        }
    }

    // ---- masked_fill ----

    /** {@code value} where {@code mask} is true, {@code x} elsewhere, broadcasting both, like {@code x.masked_fill(mask, value)}. */
    static Tensor maskedFill(Tensor x, Tensor mask, double value) {
        x.requireFloat("masked_fill");
        InPlaceOps.checkScalarFits("masked_fill", value, DType.FLOAT32);
        Tensor out = fill(x, mask, false, (float) value);
        return Tensor.record(out, () -> new MaskedFillBackward0(x, mask), x);
    }

    /**
     * {@code value} where {@code mask} is true ({@code invert}: false), x elsewhere, into a new tensor of the
     * broadcast shape; no autograd. The forward of masked_fill and the backward of where and masked_fill.
     */
    static Tensor fill(Tensor x, Tensor mask, boolean invert, float value) {
        Select.Cond kind = condKind(mask);
        x.requireFloat("masked_fill");
        int[] shape = Shapes.broadcast(x.shapeRef(), mask.shapeRef());
        int[] xStr = Shapes.broadcastStrides(x.shapeRef(), x.stridesRef(), shape);
        int[] mStr = Shapes.broadcastStrides(mask.shapeRef(), mask.stridesRef(), shape);
        return Launch.run(r -> new PlanStep.MaskedFill(kind, r[1], mStr, invert, value, r[0], xStr, shape), Tensor.allocate(DType.FLOAT32, shape),
                x, mask);
    }

    /** masked_fill: the gradient passes where the mask is false (the filled places got a constant). */
    static final class MaskedFillBackward0 extends Node {
        private final Saved mask;
        private final int[] xShape;

        MaskedFillBackward0(Tensor x, Tensor mask) {
            this.mask = save(mask, "argument 1");
            this.xShape = x.shape();
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            try (Tensor kept = fill(g, mask.get(), false, 0f)) {
                return new Tensor[] {ArithmeticOps.sumTo(kept, xShape)};
            }
        }
    }

    // ---- tril / triu ----

    /**
     * The lower ({@code tril}) or upper ({@code triu}) triangle of the matrices in the last two dims, the other
     * elements zero: {@code (i, j)} is kept when {@code j - i <= diagonal} (tril) or {@code j - i >= diagonal} (triu).
     */
    static Tensor triangle(Tensor x, boolean lower, int diagonal) {
        String op = lower ? "tril" : "triu";
        x.requireFloat(op);
        int[] shape = x.shapeRef();
        if (shape.length < 2) {
            throw new IllegalArgumentException(op + ": input tensor must have at least 2 dimensions (got shape " + str(shape) + ")");
        }
        int[] strides = x.stridesRef();
        Tensor out = Launch.run(r -> new PlanStep.Triangle(lower, diagonal, r[0], strides, shape), Tensor.allocate(DType.FLOAT32, shape), x);
        return Tensor.record(out, () -> new TriangleBackward(lower, diagonal), x);
    }

    /** tril / triu: the same triangle of the gradient. */
    static final class TriangleBackward extends Node {
        private final boolean lower;
        private final int diagonal;

        TriangleBackward(boolean lower, int diagonal) {
            this.lower = lower;
            this.diagonal = diagonal;
        }

        @Override
        public String name() {
            return lower ? "TrilBackward0" : "TriuBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {triangle(g, lower, diagonal)};
        }
    }
}
