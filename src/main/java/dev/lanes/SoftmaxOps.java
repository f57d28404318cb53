package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Softmax;

/**
 * softmax and log_softmax along any dim. Forward: {@code kernels.Softmax} (max subtracted, vectorized);
 * backward: {@code softmax: dx = y (g - sum(g y))}, {@code log_softmax: dx = g - exp(y) sum(g)}, sums over the dim.
 * Tests: {@code KernelsGoldenTest}, {@code ConvPoolPropertyTest}.
 */
final class SoftmaxOps {
    private SoftmaxOps() {
    }

    /** The most elements after the softmax dim (inner): its scratch is {@code 2 * inner} floats in one array. */
    static final int MAX_INNER = (Integer.MAX_VALUE - 16) / 2;

    static Tensor forward(Tensor x, int dim, boolean log) {
        String op = log ? "log_softmax" : "softmax";
        x.requireFloat(op);
        int[] shape = x.shapeRef();
        int d = Shapes.wrapDim(dim, shape.length);
        int[] split = Shapes.splitAround(shape, d);
        int o = split[0];
        int r = split[1];
        int in = split[2];
        if (in > MAX_INNER) { // its per-thread scratch is 2 inner floats, an array: 2 inner past 2^31 threw NegativeArraySize
            throw new IllegalArgumentException(op + " along dim " + dim + " of shape " + Shapes.str(shape) + ": the " + in
                    + " elements after that dim are more than " + MAX_INNER + " (the per-thread scratch of 2 x " + in + " floats is over an array's"
                    + " size); move the dim last (transpose) first");
        }
        int[] outShape = shape.clone();
        Tensor out = x.withContiguous(src ->
                Launch.run(ref -> new PlanStep.Softmax(log, o, r, in, ref[0], outShape), Tensor.allocate(DType.FLOAT32, outShape), src));
        if (Tensor.recording(x, null)) {
            Tensor.record(out, () -> new Backward(log, d, out), x);
        }
        return out;
    }

    static final class Backward extends Node {
        private final boolean log;
        private final int dim;
        private final Saved output;

        Backward(boolean log, int dim, Tensor output) {
            this.log = log;
            this.dim = dim;
            this.output = save(output, "output 0");
        }

        @Override
        public String name() {
            return log ? "LogSoftmaxBackward0" : "SoftmaxBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor y = output.get();
            boolean scalar = y.dim() == 0;
            if (log) {
                try (Tensor s = scalar ? g.detach() : g.sum(dim, true); Tensor p = y.exp(); Tensor t = p.mul(s)) {
                    return new Tensor[] {g.sub(t)};
                }
            }
            try (Tensor gy = g.mul(y); Tensor s = scalar ? gy.detach() : gy.sum(dim, true); Tensor diff = g.sub(s)) {
                return new Tensor[] {y.mul(diff)};
            }
        }
    }
}
