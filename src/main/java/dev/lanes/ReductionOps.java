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
}
