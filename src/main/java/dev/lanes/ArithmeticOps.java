package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.BinaryOp;

/**
 * Backward rules of the elementwise ops. Forwards: {@code Tensor.add}, {@code mul}, {@code exp}, ...;
 * kernels: {@code kernels.Elementwise}; tests: the op table ({@code OpInfo}, {@code OpTableTest}). Gradients of broadcast inputs are
 * summed back to the input's shape. Each class name is the {@code grad_fn} name PyTorch prints.
 *
 * <p>Rules run with grad mode off and return tensors the engine owns; temporaries are closed here.
 */
final class ArithmeticOps {
    private ArithmeticOps() {
    }

    /**
     * {@code g} summed over the dimensions broadcasting added or expanded, down to {@code shape}. Always a new
     * tensor object (a view of {@code g} when nothing needs summing), so callers may close {@code g}.
     */
    static Tensor sumTo(Tensor g, int[] shape) {
        Tensor r = g.detach();
        int lead = r.dim() - shape.length;
        for (int i = 0; i < lead; i++) {
            r = replace(r, r.sum(0));
        }
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1 && r.shapeRef()[d] != 1) {
                r = replace(r, r.sum(d, true));
            }
        }
        return r;
    }

    private static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }

    /** {@code sumTo(a op b, shape)}, closing the intermediate. */
    private static Tensor productTo(Tensor g, Tensor x, int[] shape) {
        try (Tensor p = g.mul(x)) {
            return sumTo(p, shape);
        }
    }

    static final class AddBackward0 extends Node {
        private final int[] aShape;
        private final int[] bShape;
        private final float alpha;

        AddBackward0(Tensor a, Tensor b, float alpha) {
            aShape = a.shape();
            bShape = b.shape();
            this.alpha = alpha;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = needsInputGrad(0) ? sumTo(g, aShape) : null;
            Tensor gb = null;
            if (needsInputGrad(1)) {
                gb = sumTo(g, bShape);
                if (alpha != 1f) {
                    gb = replace(gb, gb.mul(alpha));
                }
            }
            return new Tensor[] {ga, gb};
        }
    }

    static final class SubBackward0 extends Node {
        private final int[] aShape;
        private final int[] bShape;

        SubBackward0(Tensor a, Tensor b) {
            aShape = a.shape();
            bShape = b.shape();
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = needsInputGrad(0) ? sumTo(g, aShape) : null;
            Tensor gb = needsInputGrad(1) ? replaceNeg(sumTo(g, bShape)) : null;
            return new Tensor[] {ga, gb};
        }
    }

    private static Tensor replaceNeg(Tensor t) {
        return replace(t, t.neg());
    }

    static final class MulBackward0 extends Node {
        private final int[] aShape;
        private final int[] bShape;
        private final Saved a;
        private final Saved b;

        MulBackward0(Tensor a, Tensor b) {
            this(a, b, a.requiresGrad(), b.requiresGrad());
        }

        /** For mul_: {@code a} is a copy of the old value, which no longer carries requiresGrad itself. */
        MulBackward0(Tensor a, Tensor b, boolean aNeedsGrad, boolean bNeedsGrad) {
            aShape = a.shape();
            bShape = b.shape();
            this.a = bNeedsGrad ? save(a, "argument 0") : null;
            this.b = aNeedsGrad ? save(b, "argument 1") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = needsInputGrad(0) ? productTo(g, b.get(), aShape) : null;
            Tensor gb = needsInputGrad(1) ? productTo(g, a.get(), bShape) : null;
            return new Tensor[] {ga, gb};
        }
    }

    static final class DivBackward0 extends Node {
        private final int[] aShape;
        private final int[] bShape;
        private final Saved a;
        private final Saved b;

        DivBackward0(Tensor a, Tensor b) {
            aShape = a.shape();
            bShape = b.shape();
            this.a = b.requiresGrad() ? save(a, "argument 0") : null;
            this.b = save(b, "argument 1");
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor bv = b.get();
            Tensor ga = null;
            Tensor gb = null;
            if (needsInputGrad(0)) {
                try (Tensor q = g.div(bv)) {
                    ga = sumTo(q, aShape);
                }
            }
            if (needsInputGrad(1)) { // d(a/b)/db = -a / b^2
                try (Tensor q = g.mul(a.get()); Tensor b2 = bv.mul(bv); Tensor r = q.div(b2); Tensor n = r.neg()) {
                    gb = sumTo(n, bShape);
                }
            }
            return new Tensor[] {ga, gb};
        }
    }

    /**
     * {@code x op scalar} where the gradient is {@code g * scale / divisor}: add/sub (1), mul (p), div (1/p, as a
     * division like PyTorch), rsub (-1). Python lists the scalar operand as a second, empty edge.
     */
    static final class ScaledBackward extends Node {
        private final String name;
        private final double scale;
        private final double divisor;

        ScaledBackward(String name, double scale, double divisor) {
            this.name = name;
            this.scale = scale;
            this.divisor = divisor;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor r;
            if (divisor != 1.0) {
                r = g.div(divisor);
            } else if (scale == -1.0) {
                r = g.neg();
            } else if (scale != 1.0) {
                r = g.mul(scale);
            } else {
                r = g.detach();
            }
            return new Tensor[] {r, null};
        }
    }

    /** {@code p / x}: gradient {@code -p g / x^2}. */
    static final class RdivBackward extends Node {
        private final Saved x;
        private final double p;

        RdivBackward(Tensor x, double p) {
            this.x = save(x, "argument 1");
            this.p = p;
        }

        @Override
        public String name() {
            return "MulBackward0"; // PyTorch computes p / x as reciprocal(x) * p
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor xv = x.get();
            try (Tensor x2 = xv.mul(xv); Tensor q = g.div(x2)) {
                return new Tensor[] {q.mul(-p), null};
            }
        }
    }

    /** clamp: the gradient passes where {@code min <= x <= max}. */
    static final class ClampBackward1 extends Node {
        private final Saved x;
        private final double min;
        private final double max;

        ClampBackward1(Tensor x, double min, double max) {
            this.x = save(x, "argument 0");
            this.min = min;
            this.max = max;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor xv = x.get();
            try (Tensor below = xv.lt(min); Tensor above = xv.gt(max); Tensor out = below.add(above); Tensor in = out.rsub(1)) {
                return new Tensor[] {g.mul(in)};
            }
        }
    }

    /**
     * maximum / minimum: the gradient goes to the larger (smaller) input, half to each on ties, like PyTorch;
     * where an input is NaN both sides receive it.
     */
    static final class ExtremumBackward extends Node {
        private final boolean max;
        private final int[] aShape;
        private final int[] bShape;
        private final Saved a;
        private final Saved b;

        ExtremumBackward(boolean max, Tensor a, Tensor b) {
            this.max = max;
            this.aShape = a.shape();
            this.bShape = b.shape();
            this.a = save(a, "argument 0");
            this.b = save(b, "argument 1");
        }

        @Override
        public String name() {
            return max ? "MaximumBackward0" : "MinimumBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor av = a.get();
            Tensor bv = b.get();
            Tensor ga = null;
            Tensor gb = null;
            try (Tensor lt = av.lt(bv); Tensor gt = av.gt(bv); Tensor eq = av.eq(bv); Tensor half = eq.mul(0.5)) {
                if (needsInputGrad(0)) {
                    ga = share(g, max ? lt : gt, half, aShape);
                }
                if (needsInputGrad(1)) {
                    gb = share(g, max ? gt : lt, half, bShape);
                }
            }
            return new Tensor[] {ga, gb};
        }

        /** g * (1 - loses - half) summed to shape. */
        private static Tensor share(Tensor g, Tensor loses, Tensor half, int[] shape) {
            try (Tensor keep = loses.rsub(1); Tensor w = keep.sub(half)) {
                return productTo(g, w, shape);
            }
        }
    }

    /** pow(a, b) with a tensor exponent: {@code da = g b a^(b-1)}, {@code db = g a^b log(a)}, 0 where a == 0 and b >= 0. */
    static final class PowBackward1 extends Node {
        private final int[] aShape;
        private final int[] bShape;
        private final Saved a;
        private final Saved b;
        private final Saved out;

        PowBackward1(Tensor a, Tensor b, Tensor out) {
            this.aShape = a.shape();
            this.bShape = b.shape();
            this.a = save(a, "argument 0");
            this.b = save(b, "argument 1");
            this.out = save(out, "output 0");
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor av = a.get();
            Tensor bv = b.get();
            Tensor ga = null;
            Tensor gb = null;
            if (needsInputGrad(0)) {
                try (Tensor bm1 = bv.sub(1); Tensor p = av.pow(bm1); Tensor d = p.mul(bv)) {
                    ga = productTo(g, d, aShape);
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor log = av.log(); Tensor d = out.get().mul(log); Tensor zero = av.eq(0); Tensor neg = bv.lt(0);
                     Tensor nonNeg = neg.rsub(1); Tensor masked = zero.mul(nonNeg); Tensor keep = masked.rsub(1);
                     Tensor safe = d.binaryKernel(BinaryOp.MASK_POSITIVE, keep)) {
                    gb = productTo(g, safe, bShape);
                }
            }
            return new Tensor[] {ga, gb};
        }
    }
}
