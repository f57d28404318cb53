package dev.lanes;

import dev.lanes.autograd.Node;
import java.util.function.UnaryOperator;

/**
 * Backward rules of the view ops (forwards: {@code Tensor.view}, {@code transpose}, {@code select}, ...).
 * Views move no data, so their backward only reshapes, permutes or scatters the gradient.
 */
final class ShapeOps {
    private ShapeOps() {
    }

    /** view / reshape / unsqueeze / squeeze / flatten: the gradient is reshaped back to the input's shape. */
    static final class ReshapeBackward extends Node {
        private final String name;
        private final int[] inputShape;

        ReshapeBackward(String name, Tensor input) {
            this.name = name;
            this.inputShape = input.shape();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.reshape(inputShape)};
        }
    }

    /** transpose / t / permute: the inverse permutation of the gradient. */
    static final class PermuteBackward extends Node {
        private final String name;
        private final int[] inverse;

        PermuteBackward(String name, int[] dims) {
            this.name = name;
            this.inverse = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                inverse[dims[i]] = i;
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.permute(inverse)};
        }
    }

    /** expand: gradients of the repeated elements are summed. */
    static final class ExpandBackward0 extends Node {
        private final int[] inputShape;

        ExpandBackward0(Tensor input) {
            this.inputShape = input.shape();
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {ArithmeticOps.sumTo(g, inputShape)};
        }
    }

    /** select / narrow / slice: the gradient is written into the same view of a zero tensor of the input's shape. */
    static final class IndexBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final UnaryOperator<Tensor> sameView;

        IndexBackward(String name, Tensor input, UnaryOperator<Tensor> sameView) {
            this.name = name;
            this.inputShape = input.shape();
            this.sameView = sameView;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor z = Tensor.zeros(inputShape);
            try (Tensor v = sameView.apply(z)) {
                v.copy_(g);
            }
            return new Tensor[] {z};
        }
    }

    /** clone / contiguous copy: the gradient passes unchanged. */
    static final class CloneBackward0 extends Node {
        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.detach()};
        }
    }

    /**
     * fill_ / zero_ / copy_ on a graph tensor: the old value gets no gradient (it was overwritten); copy_'s source
     * gets the gradient summed back to its shape.
     */
    static final class OverwrittenBackward extends Node {
        private final String name;
        private final int[] srcShape;

        OverwrittenBackward(String name, Tensor src) {
            this.name = name;
            this.srcShape = src == null ? null : src.shape();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {null, srcShape == null ? null : ArithmeticOps.sumTo(g, srcShape)};
        }
    }
}
