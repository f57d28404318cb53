package dev.lanes;

import dev.lanes.autograd.Node;

/** Backward rules of sum and mean (forwards: {@code Tensor.sum}, {@code Tensor.mean}; kernel: {@code kernels.Reductions}). */
final class ReductionOps {
    private ReductionOps() {
    }

    /** sum / mean over all elements or one dim: the gradient is broadcast back (divided by the count for mean). */
    static final class SumMeanBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final Integer dim;
        private final boolean keepdim;
        private final double scale;

        SumMeanBackward(String name, Tensor input, Integer dim, boolean keepdim, double scale) {
            this.name = name;
            this.inputShape = input.shape();
            this.dim = dim;
            this.keepdim = keepdim;
            this.scale = scale;
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
                r = scale == 1.0 ? e.detach() : e.mul(scale);
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
            Tensor mask = Float.isNaN(res.item()) ? isNan(x) : x.eq(res);
            try (mask; Tensor count = mask.sum(); Tensor share = g.div(count)) {
                return new Tensor[] {mask.mul(share)};
            }
        }

        private static Tensor isNan(Tensor x) {
            try (Tensor same = x.eq(x)) {
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
            return new Tensor[] {Tensor.scatterAlongDim(g, indices.get(), inputShape, dim)};
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
            int n = dim == null ? x.numel() : x.size(dim);
            Tensor gv = g.detach();
            if (std) {
                try (Tensor twice = result.get().mul(2); Tensor q = g.div(twice)) {
                    gv.close();
                    gv = q.binaryKernel(dev.lanes.kernels.BinaryOp.MASK_POSITIVE, result.get());
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
