package dev.lanes;

import dev.lanes.autograd.Node;

/** Backward rules of the matrix products (forwards: {@code Tensor.mm}, {@code bmm}, {@code matmul}; kernel: {@code kernels.Sgemm}). */
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

    /**
     * addmm: {@code beta * input + alpha * (mat1 @ mat2)}. A bias row ({@code input} of shape [n] or [1, n], beta 1)
     * is added inside the GEMM's epilogue; any other broadcastable input is copied into the output first and
     * accumulated by the GEMM (its beta).
     */
    static Tensor addmm(Tensor input, Tensor mat1, Tensor mat2, float beta, float alpha) {
        input.requireFloat("addmm");
        mat1.requireFloat("addmm");
        mat2.requireFloat("addmm");
        if (mat1.dim() != 2 || mat2.dim() != 2) {
            throw new IllegalArgumentException("addmm: mat1 and mat2 must be matrices, got shapes " + Shapes.str(mat1.shapeRef()) + " and "
                    + Shapes.str(mat2.shapeRef()));
        }
        int m = mat1.size(0);
        int k = mat1.size(1);
        int n = mat2.size(1);
        if (mat2.size(0) != k) {
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + m + "x" + k + " and " + mat2.size(0) + "x" + n + ")");
        }
        int[] outShape = {m, n};
        int[] b = Shapes.broadcast(input.shapeRef(), outShape);
        if (!java.util.Arrays.equals(b, outShape)) {
            throw new IllegalArgumentException("addmm: input of shape " + Shapes.str(input.shapeRef()) + " cannot be broadcast to the product's shape "
                    + Shapes.str(outShape));
        }
        Tensor out = Tensor.gemm(mat1, mat2, input, beta, alpha);
        Tensor.record(out, () -> new AddmmBackward0(input, mat1, mat2, beta, alpha), input, mat1, mat2);
        return out;
    }

    static final class AddmmBackward0 extends Node {
        private final int[] inputShape;
        private final float beta;
        private final float alpha;
        private final Saved mat1;
        private final Saved mat2;

        AddmmBackward0(Tensor input, Tensor mat1, Tensor mat2, float beta, float alpha) {
            this.inputShape = input.shape();
            this.beta = beta;
            this.alpha = alpha;
            this.mat1 = mat2.requiresGrad() ? save(mat1, "argument 1") : null;
            this.mat2 = mat1.requiresGrad() ? save(mat2, "argument 2") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor gi = null;
            Tensor g1 = null;
            Tensor g2 = null;
            if (needsInputGrad(0)) {
                gi = ArithmeticOps.sumTo(g, inputShape);
                if (beta != 1f) {
                    Tensor scaled = gi.mul(beta);
                    gi.close();
                    gi = scaled;
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor t = mat2.get().t(); Tensor p = g.mm(t)) {
                    g1 = alpha == 1f ? p.detach() : p.mul(alpha);
                }
            }
            if (needsInputGrad(2)) {
                try (Tensor t = mat1.get().t(); Tensor p = t.mm(g)) {
                    g2 = alpha == 1f ? p.detach() : p.mul(alpha);
                }
            }
            return new Tensor[] {gi, g1, g2};
        }
    }
}
