package dev.lanes;

import dev.lanes.autograd.Node;

/** Backward rules of the matrix products (forwards: {@code Tensor.mm}, {@code bmm}, {@code matmul}; kernel: {@code kernels.Matmul}). */
final class LinalgOps {
    private LinalgOps() {
    }

    /** C = A B: dA = dC B^T, dB = A^T dC; for bmm the same per batch. */
    static final class ProductBackward extends Node {
        private final boolean batched;
        private final Saved a;
        private final Saved b;

        ProductBackward(Tensor a, Tensor b, boolean batched) {
            this.batched = batched;
            this.a = b.requiresGrad() ? save(a, "argument 0") : null;
            this.b = a.requiresGrad() ? save(b, "argument 1") : null;
        }

        @Override
        public String name() {
            return batched ? "BmmBackward0" : "MmBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = null;
            Tensor gb = null;
            if (needsInputGrad(0)) {
                Tensor bv = b.get();
                try (Tensor bt = batched ? bv.transpose(1, 2) : bv.t()) {
                    ga = batched ? g.bmm(bt) : g.mm(bt);
                }
            }
            if (needsInputGrad(1)) {
                Tensor av = a.get();
                try (Tensor at = batched ? av.transpose(1, 2) : av.t()) {
                    gb = batched ? at.bmm(g) : at.mm(g);
                }
            }
            return new Tensor[] {ga, gb};
        }
    }
}
