package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.BinaryKernel;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.UnaryOp;

/**
 * Elementwise arithmetic: the two launchers every elementwise forward goes through ({@link #unary}, {@link #binary}),
 * the ops of two tensors and of a tensor and a scalar as table rows ({@link Binary}, {@link Scalar}: kernel, name
 * and backward node), and the backward rules (each class name is the {@code grad_fn} name PyTorch prints). The ops
 * of one tensor (exp, relu, gelu, ...) are rows of {@link Pointwise}; in-place and out= forms are {@link InPlaceOps}.
 * Kernels: {@code kernels.Elementwise}. Tests: the op table ({@code OpInfo}, {@code OpTableTest}). Gradients of broadcast inputs
 * are summed back to the input's shape.
 *
 * <p>Rules run with grad mode off and return tensors the engine owns; temporaries are closed here.
 */
final class ArithmeticOps {
    private ArithmeticOps() {
    }

    /** {@code kernel(x)} into a new tensor, without autograd (callers record); the tracer sees the kernel. */
    static Tensor unary(String op, UnaryOp kernel, float p, float q, Tensor x) {
        x.requireFloat(op);
        int[] shape = x.shapeRef();
        int[] strides = x.stridesRef();
        return Launch.run(r -> new PlanStep.Unary(kernel, p, q, r[0], strides, shape), Tensor.allocate(DType.FLOAT32, shape), x);
    }

    /** {@code kernel(a, b)} with broadcasting into a new tensor, without autograd (callers record). */
    static Tensor binary(String op, BinaryKernel kernel, Tensor a, Tensor b) {
        a.requireFloat(op);
        b.requireFloat(op);
        int[] outShape = Shapes.broadcast(a.shapeRef(), b.shapeRef());
        Tensor out = Tensor.allocate(DType.FLOAT32, outShape);
        int[] aStr = Shapes.broadcastStrides(a.shapeRef(), a.stridesRef(), outShape);
        int[] bStr = Shapes.broadcastStrides(b.shapeRef(), b.stridesRef(), outShape);
        return Launch.run(r -> new PlanStep.Binary(kernel, r[0], aStr, r[1], bStr, outShape), out, a, b);
    }

    /** {@link #binary} named after its kernel: what backward rules call (MASK_POSITIVE, GELU_BACKWARD, ...). */
    static Tensor binary(BinaryKernel kernel, Tensor a, Tensor b) {
        return binary(kernel.name().toLowerCase(java.util.Locale.ROOT), kernel, a, b);
    }

    /** The ops of two tensors with broadcasting, one row each: the comparisons record nothing (not differentiable). */
    enum Binary {
        ADD("add", BinaryOp.ADD),
        SUB("sub", BinaryOp.SUB),
        MUL("mul", BinaryOp.MUL),
        DIV("div", BinaryOp.DIV),
        POW("pow", BinaryOp.POW),
        /** NaN propagates, like {@code torch.maximum}. */
        MAXIMUM("maximum", BinaryOp.MAXIMUM),
        MINIMUM("minimum", BinaryOp.MINIMUM),
        EQ("eq", BinaryOp.EQ),
        GT("gt", BinaryOp.GT),
        LT("lt", BinaryOp.LT);

        final String opName;
        final BinaryOp kernel;

        Binary(String opName, BinaryOp kernel) {
            this.opName = opName;
            this.kernel = kernel;
        }

        /**
         * The row's graph node from the inputs (and the result, which pow's rule reads); null for the comparisons. A
         * switch rather than a lambda a row: a fresh JVM links each lambda (~0.25 ms), all of a table's at its first use.
         */
        Node node(Tensor a, Tensor b, Tensor out) {
            return switch (this) {
                case ADD -> new AddBackward0(a, b, 1f);
                case SUB -> new SubBackward0(a, b);
                case MUL -> new MulBackward0(a, b);
                case DIV -> new DivBackward0(a, b);
                case POW -> new PowBackward1(a, b, out);
                case MAXIMUM -> new ExtremumBackward(true, a, b);
                case MINIMUM -> new ExtremumBackward(false, a, b);
                case EQ, GT, LT -> null;
            };
        }

        Tensor apply(Tensor a, Tensor b) {
            Tensor out = binary(opName, kernel, a, b);
            return this == EQ || this == GT || this == LT || !Tensor.recording(a, b) ? out : Tensor.record(out, () -> node(a, b, out), a, b);
        }
    }

    /** How a scalar row builds its graph node from the tensor operand and the scalar. */
    @FunctionalInterface
    interface ScalarRule {
        Node node(Tensor x, float value);
    }

    /**
     * The ops of a tensor and a Python-style scalar, one row each. {@code wrapped}: PyTorch lists the scalar as a
     * second input {@code (None, 0)} (a wrapped number) in the node's next_functions; rsub's is not.
     */
    enum Scalar {
        ADD("add", UnaryOp.ADD_SCALAR, true, (x, v) -> new ScaledBackward("AddBackward0", 1, 1)),
        SUB("sub", UnaryOp.SUB_SCALAR, true, (x, v) -> new ScaledBackward("SubBackward0", 1, 1)),
        /** {@code value - x}, like {@code torch.rsub}. */
        RSUB("rsub", UnaryOp.RSUB_SCALAR, false, (x, v) -> new ScaledBackward("RsubBackward1", -1, 1)),
        MUL("mul", UnaryOp.MUL_SCALAR, true, (x, v) -> new ScaledBackward("MulBackward0", v, 1)),
        DIV("div", UnaryOp.DIV_SCALAR, true, (x, v) -> new ScaledBackward("DivBackward0", 1, v)),
        /** {@code value / x} in one division (PyTorch: {@code reciprocal(x) * value}, an ulp apart at times). */
        RDIV("rdiv", UnaryOp.RDIV_SCALAR, true, RdivBackward::new),
        EQ("eq", UnaryOp.EQ_SCALAR, false, null),
        GT("gt", UnaryOp.GT_SCALAR, false, null),
        LT("lt", UnaryOp.LT_SCALAR, false, null);

        final String opName;
        final UnaryOp kernel;
        final boolean wrapped;
        final ScalarRule rule;

        Scalar(String opName, UnaryOp kernel, boolean wrapped, ScalarRule rule) {
            this.opName = opName;
            this.kernel = kernel;
            this.wrapped = wrapped;
            this.rule = rule;
        }

        Tensor apply(Tensor x, double value) {
            float v = (float) value;
            Tensor out = unary(opName, kernel, v, 0, x);
            if (rule == null) {
                return out;
            }
            return wrapped ? Tensor.record(out, () -> rule.node(x, v), x, null) : Tensor.record(out, () -> rule.node(x, v), x);
        }
    }

    /** {@code x + alpha * other}, like {@code torch.add(input, other, alpha=alpha)}. */
    static Tensor add(Tensor x, Tensor other, float alpha) {
        if (alpha == 1f) {
            return Binary.ADD.apply(x, other);
        }
        if (Tensor.recording(x, other)) {
            return x.add(other.mul(alpha)); // the scaled temporary is part of the graph
        }
        try (Tensor scaled = other.mul(alpha)) {
            return x.add(scaled);
        }
    }

    /**
     * Values limited to {@code [min, max]}, {@code min(max(x, min), max)}; NaN stays NaN, like {@code torch.clamp}:
     * min above max gives max everywhere (and no gradient), as PyTorch does.
     */
    static Tensor clamp(Tensor x, double min, double max) {
        InPlaceOps.checkScalarFits("clamp", min, DType.FLOAT32);
        InPlaceOps.checkScalarFits("clamp", max, DType.FLOAT32);
        Tensor out = unary("clamp", UnaryOp.CLAMP, (float) min, (float) max, x);
        return Tensor.record(out, () -> new ClampBackward1(x, min, max), x);
    }


    /**
     * {@code F.dropout(x, p, training, inplace=True)}: x itself, multiplied in place by the scaled mask while training
     * (MulBackward0 with the mask saved, as torch's dropout_); x untouched otherwise.
     */
    static Tensor dropout_(Tensor x, double p, boolean training) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (p == 1) {
            try (Tensor zero = Tensor.zeros(x.shapeRef())) {
                return x.mul_(zero);
            }
        }
        Tensor mask = Tensor.allocate(DType.FLOAT32, x.shapeRef());
        int n = mask.numel();
        try (Tensor m = Launch.run(r -> new PlanStep.DropoutMask(p, n), mask)) {
            return x.mul_(m);
        }
    }

    /**
     * Zeroes each element with probability {@code p} and scales survivors by {@code 1 / (1 - p)} when {@code training};
     * the identity otherwise. The mask comes from one draw of the global generator (a seed) per call.
     */
    static Tensor dropout(Tensor x, double p, boolean training) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (p == 1) {
            return x.mul(0);
        }
        // the mask is a step of its own (a seed drawn per run, a counter-based hash per element), so a compiled
        // training step replays dropout with a new mask each run, as eager training draws one
        Tensor mask = Tensor.allocate(DType.FLOAT32, x.shapeRef());
        int n = mask.numel();
        try (Tensor m = Launch.run(r -> new PlanStep.DropoutMask(p, n), mask)) {
            return x.mul(m);
        }
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
            if (needsInputGrad(1)) { // d(a/b)/db = -a / b^2, as PyTorch computes it: -g ((a / b) / b) (b * b left float range first: a = b = 1e-25 gave -inf)
                try (Tensor q = a.get().div(bv); Tensor r = q.div(bv); Tensor gr = g.mul(r); Tensor n = gr.neg()) {
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
            // PyTorch's two nodes: MulBackward0 (g p), then ReciprocalBackward0, -(g p) (r r) with r = 1 / x; g / (x x)
            // overflowed x x for |x| > 1.8e19 (a gradient of -0 where torch's is -2.5e-39)
            Tensor xv = x.get();
            try (Tensor r = xv.rdiv(1); Tensor rr = r.mul(r); Tensor gp = g.mul(p)) {
                return new Tensor[] {gp.mul(rr).neg(), null};
            }
        }
    }

    /** clamp: the gradient passes where {@code min <= x <= max} (nowhere when min > max). */
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
            if (Double.isNaN(min) || Double.isNaN(max)) { // PyTorch's mask min <= x <= max holds nowhere
                return new Tensor[] {Tensor.zeros(xv.shape())};
            }
            // PyTorch: where(min <= x <= max, g, 0): a select, not g times a 0/1 mask (an infinite g, as sqrt's at 0 in
            // x.clampMin(0).sqrt(), made NaN), and false at a NaN x (the mask (1 - below) (1 - above) let it through)
            try (Tensor below = Scalar.LT.apply(xv, min); Tensor above = Scalar.GT.apply(xv, max); Tensor notBelow = below.rsub(1);
                 Tensor notAbove = above.rsub(1); Tensor number = Binary.EQ.apply(xv, xv); Tensor inside = notBelow.mul(notAbove);
                 Tensor in = inside.mul(number)) {
                return new Tensor[] {SelectOps.fill(g, in, true, 0f)};
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
            try (Tensor lt = Binary.LT.apply(av, bv); Tensor gt = Binary.GT.apply(av, bv); Tensor eq = Binary.EQ.apply(av, bv); Tensor half = eq.mul(0.5)) {
                if (needsInputGrad(0)) {
                    ga = share(g, max ? lt : gt, half, aShape);
                }
                if (needsInputGrad(1)) {
                    gb = share(g, max ? gt : lt, half, bShape);
                }
            }
            return new Tensor[] {ga, gb};
        }

        /**
         * PyTorch's where(a == b, g / 2, g).masked_fill_(loses, 0), summed to shape: the losing side gets 0 by a select,
         * not g times 0 (NaN for an infinite g, as sqrt's at 0 in x.maximum(0).sqrt()).
         */
        private static Tensor share(Tensor g, Tensor loses, Tensor half, int[] shape) {
            try (Tensor w = half.rsub(1); Tensor scaled = g.mul(w); Tensor kept = SelectOps.fill(scaled, loses, false, 0f)) {
                return sumTo(kept, shape);
            }
        }
    }

    /** pow(a, b) with a tensor exponent: {@code da = g b a^(b-1)} (0 where b == 0), {@code db = g a^b log(a)} (0 where a == 0 and b >= 0). */
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
                // 0 where b == 0, as PyTorch's pow_backward_self: b a^(b-1) is 0 * inf = NaN at a == 0 (x.pow(arange(n)) at x = 0)
                // and a select after the product (where(b == 0, 0, g d)): g times a 0 was NaN for an infinite g
                try (Tensor bm1 = bv.sub(1); Tensor p = av.pow(bm1); Tensor d = p.mul(bv); Tensor zero = Scalar.EQ.apply(bv, 0);
                     Tensor gd = g.mul(d); Tensor kept = SelectOps.fill(gd, zero, false, 0f)) {
                    ga = sumTo(kept, aShape);
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor log = av.log(); Tensor d = out.get().mul(log); Tensor zero = Scalar.EQ.apply(av, 0); Tensor neg = Scalar.LT.apply(bv, 0);
                     Tensor nonNeg = neg.rsub(1); Tensor masked = zero.mul(nonNeg); Tensor gd = g.mul(d);
                     Tensor kept = SelectOps.fill(gd, masked, false, 0f)) {
                    gb = sumTo(kept, bShape);
                }
            }
            return new Tensor[] {ga, gb};
        }
    }
}
