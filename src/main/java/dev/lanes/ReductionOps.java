package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Reductions;

/**
 * Reductions: sum, mean, var, std, max, min, argmax, argmin: forwards (the facade is {@code Tensor.sum} and the
 * like), their backward rules, and the scatter max(dim)'s backward needs. Kernels: {@code kernels.Reductions}.
 * Value reductions and argmax/argmin run through {@link Launch} as a {@link PlanStep.Reduce}, so a plan can replay
 * them; max(dim)/min(dim), which produce values and indices at once, call the kernel directly and have no plan step.
 */
final class ReductionOps {
    private ReductionOps() {
    }

    /** The (contiguous) shape split around the reduced dim into outer x r x inner, and the output shape. */
    private record Geometry(int outer, int r, int inner, int[] outShape) {
    }

    private static Geometry geometry(Tensor x, Integer dim, boolean keepdim) {
        int[] shape = x.shapeRef();
        if (dim == null) {
            return new Geometry(1, x.numel(), 1, new int[0]);
        }
        int d = Shapes.wrapDim(dim, shape.length);
        if (shape.length == 0) {
            return new Geometry(1, 1, 1, new int[0]);
        }
        int[] split = Shapes.splitAround(shape, d);
        int[] outShape;
        if (keepdim) {
            outShape = shape.clone();
            outShape[d] = 1;
        } else {
            outShape = new int[shape.length - 1];
            System.arraycopy(shape, 0, outShape, 0, d);
            System.arraycopy(shape, d + 1, outShape, d, shape.length - d - 1);
        }
        return new Geometry(split[0], split[1], split[2], outShape);
    }

    /** One value reduction of a contiguous version of {@code x} through the launch path. */
    private static Tensor launch(Tensor x, PlanStep.Reduce.Kind kind, Geometry g, int correction) {
        return x.withContiguous(src -> Launch.run(r -> new PlanStep.Reduce(kind, r[0], g.outer(), g.r(), g.inner(), correction),
                Tensor.allocate(DType.FLOAT32, g.outShape()), src));
    }

    /** sum (or mean) over all elements ({@code dim} null) or one dim. */
    static Tensor sum(Tensor x, Integer dim, boolean keepdim, boolean mean) {
        x.requireFloat(mean ? "mean" : "sum");
        Geometry g = geometry(x, dim, keepdim);
        Tensor out = launch(x, mean ? PlanStep.Reduce.Kind.MEAN : PlanStep.Reduce.Kind.SUM, g, 0);
        String name = (mean ? "MeanBackward" : "SumBackward") + (dim == null ? "0" : "1");
        return Tensor.record(out, () -> new SumMeanBackward(name, x, dim, keepdim, mean ? g.r() : 1), x);
    }

    /** var (or std, {@code sqrt}) over all elements or one dim; {@code unbiased} is Bessel's correction. */
    static Tensor variance(Tensor x, Integer dim, boolean unbiased, boolean keepdim, boolean sqrt) {
        x.requireFloat(sqrt ? "std" : "var");
        Geometry g = geometry(x, dim, keepdim);
        int correction = unbiased ? 1 : 0;
        Tensor out = launch(x, sqrt ? PlanStep.Reduce.Kind.STD : PlanStep.Reduce.Kind.VAR, g, correction);
        return Tensor.record(out, () -> new VarianceBackward(sqrt, x, dim, keepdim, correction, out), x);
    }

    /** max() / min() of all elements, a 0-d tensor (NaN if any element is). */
    static Tensor extremum(Tensor x, boolean max) {
        String op = max ? "max" : "min";
        x.requireFloat(op);
        Geometry g = geometry(x, null, false);
        checkNotEmpty(op, x, g);
        Tensor out = launch(x, max ? PlanStep.Reduce.Kind.MAX : PlanStep.Reduce.Kind.MIN, g, 0);
        return Tensor.record(out, () -> new ExtremumAllBackward((max ? "MaxBackward" : "MinBackward") + "1", x, out), x);
    }

    /** max(dim) / min(dim): values and the index of their first occurrence. */
    static Tensor.ValuesIndices extremum(Tensor x, boolean max, int dim, boolean keepdim) {
        x.requireFloat(max ? "max" : "min");
        Tensor.ValuesIndices r = valuesIndices(x, max ? "max" : "min", max, dim, keepdim);
        Tensor.record(r.values(), () -> new ExtremumDimBackward((max ? "MaxBackward" : "MinBackward") + "0", x, dim, r.indices()), x);
        return r;
    }

    /**
     * argmax / argmin (int64) of the flattened tensor ({@code dim} null) or along a dim: through the launch path, so a
     * plan replays it (its slot holds the int64 indices).
     */
    static Tensor argExtremum(Tensor x, boolean max, Integer dim, boolean keepdim) {
        String op = max ? "argmax" : "argmin";
        x.requireFloat(op);
        Geometry g = geometry(x, dim, keepdim);
        checkNotEmpty(op, x, g);
        PlanStep.Reduce.Kind kind = max ? PlanStep.Reduce.Kind.ARGMAX : PlanStep.Reduce.Kind.ARGMIN;
        return x.withContiguous(src -> Launch.run(r -> new PlanStep.Reduce(kind, r[0], g.outer(), g.r(), g.inner(), 0),
                Tensor.allocate(DType.INT64, g.outShape()), src));
    }

    private static Tensor.ValuesIndices valuesIndices(Tensor x, String op, boolean max, Integer dim, boolean keepdim) {
        Geometry g = geometry(x, dim, keepdim);
        checkNotEmpty(op, x, g);
        return x.withContiguous(src -> {
            Tensor values = Tensor.allocate(DType.FLOAT32, g.outShape());
            Tensor indices = Tensor.allocate(DType.INT64, g.outShape());
            try (OpFrame _ = OpFrame.enter()) {
                Reductions.maxMin(max, src.seg(), src.storageOffset(), g.outer(), g.r(), g.inner(), values.seg(), 0, indices.seg(), 0);
            }
            return new Tensor.ValuesIndices(values, indices);
        });
    }

    private static void checkNotEmpty(String op, Tensor x, Geometry g) {
        if (g.r() == 0) {
            throw new IllegalArgumentException(op + "(): cannot perform reduction on a tensor with no elements along the reduced"
                    + " dimension because the operation does not have an identity (shape " + str(x.shapeRef()) + ")");
        }
    }

    /** A zero tensor of {@code shape} with {@code grad} written where {@code indices} point along {@code dim}. */
    static Tensor scatterAlongDim(Tensor grad, Tensor indices, int[] shape, int dim) {
        int[] split = Shapes.splitAround(shape, dim);
        Tensor out = Tensor.allocate(DType.FLOAT32, shape);
        grad.withContiguous(gc -> indices.withContiguous(ic -> {
            try (OpFrame _ = OpFrame.enter()) {
                Reductions.scatterAlongDim(gc.seg(), gc.storageOffset(), ic.seg(), ic.storageOffset(), split[0], split[1], split[2], out.seg(), 0);
            }
            return null;
        }));
        return out;
    }

    /**
     * sum / mean over all elements or one dim: the gradient is broadcast back, divided by the count for mean (a
     * division, as PyTorch's mean_backward: a product with 1/n differed from it in a third of the elements).
     */
    static final class SumMeanBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final Integer dim;
        private final boolean keepdim;
        private final long count;

        SumMeanBackward(String name, Tensor input, Integer dim, boolean keepdim, long count) {
            this.name = name;
            this.inputShape = input.shape();
            this.dim = dim;
            this.keepdim = keepdim;
            this.count = count;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor src = g;
            if (dim != null && !keepdim && inputShape.length > 0) {
                src = g.unsqueeze(Shapes.wrapDim(dim, inputShape.length));
            }
            Tensor r;
            try (Tensor e = src.expand(inputShape)) {
                r = count == 1 ? e.detach() : e.div(count);
            } finally {
                if (src != g) {
                    src.close();
                }
            }
            return new Tensor[] {r};
        }
    }

    /**
     * max() / min() over all elements: the gradient is shared evenly by every element equal to the result
     * (PyTorch's evenly_distribute_backward; a NaN result sends it to the NaN elements).
     */
    static final class ExtremumAllBackward extends Node {
        private final String name;
        private final Saved input;
        private final Saved result;

        ExtremumAllBackward(String name, Tensor input, Tensor result) {
            this.name = name;
            this.input = save(input, "argument 0");
            this.result = save(result, "output 0");
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            Tensor res = result.get();
            Tensor mask = Float.isNaN(res.item()) ? isNan(x) : ArithmeticOps.Binary.EQ.apply(x, res);
            // PyTorch (CPU): zeros.masked_fill_(mask, g / count): a select, not mask times the share (0 times an infinite
            // share, as sqrt's at 0 in x.max().sqrt(), was NaN)
            try (mask; Tensor count = mask.sum(); Tensor share = g.div(count)) {
                return new Tensor[] {SelectOps.fill(share, mask, true, 0f)}; // the share broadcast over the mask's shape
            }
        }

        private static Tensor isNan(Tensor x) {
            try (Tensor same = ArithmeticOps.Binary.EQ.apply(x, x)) {
                return same.rsub(1);
            }
        }
    }

    /** max(dim) / min(dim): the gradient goes to the element each index points at. */
    static final class ExtremumDimBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final int dim;
        private final Saved indices;

        ExtremumDimBackward(String name, Tensor input, int dim, Tensor indices) {
            this.name = name;
            this.inputShape = input.shape();
            this.dim = Shapes.wrapDim(dim, Math.max(inputShape.length, 1));
            this.indices = save(indices, "result 1");
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {scatterAlongDim(g, indices.get(), inputShape, dim)};
        }
    }

    /**
     * var / std over all elements or a dim: {@code dvar = g * 2 (x - mean) / (n - correction)};
     * std first turns g into {@code g / (2 std)}, 0 where std is 0 (as PyTorch masks it).
     */
    static final class VarianceBackward extends Node {
        private final boolean std;
        private final Integer dim;
        private final boolean keepdim;
        private final int correction;
        private final Saved input;
        private final Saved result;

        VarianceBackward(boolean std, Tensor input, Integer dim, boolean keepdim, int correction, Tensor result) {
            this.std = std;
            this.dim = dim;
            this.keepdim = keepdim;
            this.correction = correction;
            this.input = save(input, "argument 0");
            this.result = std ? save(result, "output 0") : null;
        }

        @Override
        public String name() {
            return std ? "StdBackward0" : "VarBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            int n = dim == null || x.dim() == 0 ? x.numel() : x.size(dim); // a 0-d input's dim 0 (or -1) is the one element
            Tensor gv = g.detach();
            if (std) {
                try (Tensor twice = result.get().mul(2); Tensor q = g.div(twice)) {
                    gv.close();
                    gv = ArithmeticOps.binary(dev.lanes.kernels.BinaryOp.MASK_POSITIVE, q, result.get());
                }
            }
            if (dim != null && !keepdim && x.dim() > 0) {
                Tensor u = gv.unsqueeze(dim);
                gv.close();
                gv = u;
            }
            Tensor upstream = gv;
            try (upstream; Tensor mean = dim == null ? x.mean() : x.mean(dim, true); Tensor centered = x.sub(mean);
                 Tensor scaled = centered.mul(2.0 / (n - correction))) {
                return new Tensor[] {scaled.mul(upstream)};
            }
        }
    }
}
