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

    /** dot(a, b) of two vectors: da = g b, db = g a. */
    static final class DotBackward0 extends Node {
        private final Saved a;
        private final Saved b;

        DotBackward0(Tensor a, Tensor b) {
            this.a = b.requiresGrad() ? save(a, "argument 0") : null;
            this.b = a.requiresGrad() ? save(b, "argument 1") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {needsInputGrad(0) ? b.get().mul(g) : null, needsInputGrad(1) ? a.get().mul(g) : null};
        }
    }

    /** mv(A, v): dA = g v^T (outer product), dv = A^T g. */
    static final class MvBackward0 extends Node {
        private final Saved a;
        private final Saved v;

        MvBackward0(Tensor a, Tensor v) {
            this.a = v.requiresGrad() ? save(a, "argument 0") : null;
            this.v = a.requiresGrad() ? save(v, "argument 1") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = null;
            Tensor gv = null;
            if (needsInputGrad(0)) {
                try (Tensor col = g.unsqueeze(1); Tensor row = v.get().unsqueeze(0)) {
                    ga = col.mm(row);
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor at = a.get().t(); Tensor col = g.unsqueeze(1); Tensor r = at.mm(col)) {
                    gv = r.squeeze(1);
                }
            }
            return new Tensor[] {ga, gv};
        }
    }
}
