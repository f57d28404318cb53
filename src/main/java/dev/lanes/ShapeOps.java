package dev.lanes;

import dev.lanes.autograd.Node;
import java.util.function.UnaryOperator;

/**
 * Copies ({@code clone}, {@code contiguous}, {@code toType}) and the backward rules of the view ops (the views
 * themselves are {@code Tensor.view}, {@code transpose}, {@code select}, ...: they only change a tensor's shape,
 * strides and offset). Views move no data, so their backward only reshapes, permutes or scatters the gradient.
 */
final class ShapeOps {
    private ShapeOps() {
    }

    /** {@code src} copied into the fresh, contiguous {@code out} of the same shape and dtype (clone, contiguous). */
    static void copyInto(Tensor src, Tensor out) {
        int[] strides = src.stridesRef();
        int[] shape = src.shapeRef();
        if (src.dtype() == DType.FLOAT32) {
            Launch.run(r -> new PlanStep.Copy(r[0], strides, shape), out, src); // a step may share a tensor's (never mutated) arrays
        } else {
            try (OpFrame _ = OpFrame.enter()) {
                dev.lanes.kernels.Copy.copyLong(src.seg(), src.storageOffset(), strides, out.seg(), out.storageOffset(), out.stridesRef(), shape);
            }
        }
    }

    /** {@code x} converted to {@code type} (x itself when it already has that type), like {@code tensor.to(dtype)}. */
    static Tensor toType(Tensor x, DType type) {
        x.checkAlive();
        if (type == x.dtype()) {
            return x;
        }
        Tensor out = Tensor.allocate(type, x.shapeRef());
        try (OpFrame _ = OpFrame.enter()) {
            dev.lanes.kernels.Copy.convert(x.dtype() == DType.INT64, x.seg(), x.storageOffset(), x.stridesRef(),
                    type == DType.INT64, out.seg(), 0, out.stridesRef(), x.shapeRef());
        }
        return out;
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
