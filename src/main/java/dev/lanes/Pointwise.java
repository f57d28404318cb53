package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.UnaryOp;

/**
 * The elementwise ops of one tensor, one row each, like PyTorch's {@code derivatives.yaml}: the op's name, its
 * kernel ({@link UnaryOp}: scalar definition and vector form in {@code kernels.Elementwise} / {@code VectorMath}),
 * the {@code grad_fn} name PyTorch prints and what the backward saves; the backward rule is the row's case in
 * {@link #grad}. {@code Tensor.exp()} and the rest are one-line delegations to {@link #apply}; the plan replays the
 * kernel (the tracer records it), and the activations among them fuse into a GEMM or convolution epilogue
 * ({@link UnaryOp#isActivation()}).
 *
 * <p>Adding an op of this kind: its constant in {@code UnaryOp} (scalar definition, vector row, and a fused backward
 * if it has one; the formulas in {@code VectorMath} when they are transcendental), one row here and its case in
 * {@link #grad}, one {@code Tensor} method, one row in the tests' op table ({@code OpInfo}) with its PyTorch twin in
 * the golden generator.
 *
 * <p>Backward rules run with grad mode off and return a new tensor; temporaries are closed here.
 */
enum Pointwise {
    NEG("neg", UnaryOp.NEG, "NegBackward0", Saves.NOTHING),
    EXP("exp", UnaryOp.EXP, "ExpBackward0", Saves.OUTPUT),
    LOG("log", UnaryOp.LOG, "LogBackward0", Saves.INPUT),
    /** g / (2 sqrt(x)), from the saved output. */
    SQRT("sqrt", UnaryOp.SQRT, "SqrtBackward0", Saves.OUTPUT),
    /** g sign(x). */
    ABS("abs", UnaryOp.ABS, "AbsBackward0", Saves.INPUT),
    /** g cos(x). */
    SIN("sin", UnaryOp.SIN, "SinBackward0", Saves.INPUT),
    /** g (-sin(x)). */
    COS("cos", UnaryOp.COS, "CosBackward0", Saves.INPUT),
    /** g p x^(p-1); p == 0 gives 0 like PyTorch. */
    POW("pow", UnaryOp.POW_SCALAR, "PowBackward0", Saves.INPUT),
    /** The gradient passes where the saved output is positive. */
    RELU("relu", UnaryOp.RELU, "ReluBackward0", Saves.OUTPUT),
    /** g s (1 - s), s = sigmoid(x). */
    SIGMOID("sigmoid", UnaryOp.SIGMOID, "SigmoidBackward0", Saves.OUTPUT),
    /** g (1 - s^2), s = tanh(x). */
    TANH("tanh", UnaryOp.TANH, "TanhBackward0", Saves.OUTPUT),
    /** g (Phi(x) + x phi(x)): one fused kernel. */
    GELU("gelu", UnaryOp.GELU, "GeluBackward0", Saves.INPUT),
    /** gelu(x, approximate='tanh'); the same grad_fn name as PyTorch's, which keeps the mode as an attribute. */
    GELU_TANH("gelu", UnaryOp.GELU_TANH, "GeluBackward0", Saves.INPUT),
    /** g s (1 + x (1 - s)), s = sigmoid(x): one fused kernel. */
    SILU("silu", UnaryOp.SILU, "SiluBackward0", Saves.INPUT),
    /** g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)): one fused kernel. */
    MISH("mish", UnaryOp.MISH, "MishBackward0", Saves.INPUT),
    /** g (2 / sqrt(pi)) exp(-x^2). */
    ERF("erf", UnaryOp.ERF, "ErfBackward0", Saves.INPUT),
    /** g (y + 1), y = expm1(x). */
    EXPM1("expm1", UnaryOp.EXPM1, "Expm1Backward0", Saves.OUTPUT),
    /** g / (x + 1). */
    LOG1P("log1p", UnaryOp.LOG1P, "Log1PBackward0", Saves.INPUT),
    /** x > 0 ? g : g p (the slope's gradient at 0, like PyTorch's): one fused kernel. */
    LEAKY_RELU("leaky_relu", UnaryOp.LEAKY_RELU, "LeakyReluBackward0", Saves.INPUT),
    /** x > 0 ? g : g p e^x: one fused kernel. */
    ELU("elu", UnaryOp.ELU, "EluBackward0", Saves.INPUT),
    /** p x > q ? g : g z / (z + 1), z = e^(p x): one fused kernel. */
    SOFTPLUS("softplus", UnaryOp.SOFTPLUS, "SoftplusBackward0", Saves.INPUT),
    /** g where p < x < q, 0 elsewhere (0 at the bounds, like PyTorch's); relu6 is hardtanh(0, 6): one fused kernel. */
    HARDTANH("hardtanh", UnaryOp.HARDTANH, "HardtanhBackward0", Saves.INPUT),
    /** g / 6 where -3 < x < 3, 0 elsewhere: one fused kernel. */
    HARDSIGMOID("hardsigmoid", UnaryOp.HARDSIGMOID, "HardsigmoidBackward0", Saves.INPUT),
    /** 0 below -3, g (x / 3 + 1/2) on [-3, 3], g above: one fused kernel. */
    HARDSWISH("hardswish", UnaryOp.HARDSWISH, "HardswishBackward0", Saves.INPUT),
    /** g (-1/2) r^3, r = rsqrt(x). */
    RSQRT("rsqrt", UnaryOp.RSQRT, "RsqrtBackward0", Saves.OUTPUT),
    /** g 2x; PyTorch's square is pow(x, 2), hence its grad_fn. */
    SQUARE("square", UnaryOp.SQUARE, "PowBackward0", Saves.INPUT),
    /** Zero: sign, floor, ceil, round and trunc are flat between their jumps (PyTorch's zeros_like(grad)). */
    SIGN("sign", UnaryOp.SIGN, "SignBackward0", Saves.NOTHING),
    FLOOR("floor", UnaryOp.FLOOR, "FloorBackward0", Saves.NOTHING),
    CEIL("ceil", UnaryOp.CEIL, "CeilBackward0", Saves.NOTHING),
    ROUND("round", UnaryOp.ROUND, "RoundBackward0", Saves.NOTHING),
    TRUNC("trunc", UnaryOp.TRUNC, "TruncBackward0", Saves.NOTHING),
    /** -g r^2, r = 1/x. */
    RECIPROCAL("reciprocal", UnaryOp.RECIPROCAL, "ReciprocalBackward0", Saves.OUTPUT);

    /** What the backward rule reads besides the incoming gradient. */
    enum Saves {
        NOTHING, INPUT, OUTPUT
    }

    final String opName;
    final UnaryOp kernel;
    final String gradFn;
    final Saves saves;

    Pointwise(String opName, UnaryOp kernel, String gradFn, Saves saves) {
        this.opName = opName;
        this.kernel = kernel;
        this.gradFn = gradFn;
        this.saves = saves;
    }

    /**
     * The row's backward rule: {@code g} the incoming gradient, {@code s} the input or output it saved ({@link Saves}),
     * {@code p}, {@code q} the scalars. One case a row, in the table's order (the rows' comments say what each computes). A switch
     * rather than a lambda a row: a fresh JVM links each lambda (~0.25 ms), all of them at this table's first use.
     */
    Tensor grad(Tensor g, Tensor s, float p, float q) {
        return switch (this) {
            case NEG -> g.neg();
            case EXP -> g.mul(s);
            case LOG -> g.div(s);
            case SQRT -> {
                try (Tensor d = s.mul(2)) {
                    yield g.div(d);
                }
            }
            case ABS -> {
                try (Tensor pos = ArithmeticOps.Scalar.GT.apply(s, 0); Tensor neg = ArithmeticOps.Scalar.LT.apply(s, 0); Tensor sign = pos.sub(neg)) {
                    yield g.mul(sign);
                }
            }
            case SIN -> {
                try (Tensor c = s.cos()) {
                    yield g.mul(c);
                }
            }
            case COS -> {
                try (Tensor sin = s.sin(); Tensor d = sin.neg()) {
                    yield g.mul(d);
                }
            }
            case POW -> {
                if (p == 0) {
                    yield Tensor.zerosLike(g);
                }
                try (Tensor d = s.pow(p - 1); Tensor e = d.mul(p)) {
                    yield g.mul(e);
                }
            }
            case RELU -> ArithmeticOps.binary(BinaryOp.MASK_POSITIVE, g, s);
            case SIGMOID -> {
                try (Tensor one = s.rsub(1); Tensor d = s.mul(one)) {
                    yield g.mul(d);
                }
            }
            case TANH -> {
                try (Tensor s2 = s.mul(s); Tensor d = s2.rsub(1)) {
                    yield g.mul(d);
                }
            }
            case GELU -> ArithmeticOps.binary(UnaryOp.GELU.backward(), g, s);
            case GELU_TANH -> ArithmeticOps.binary(UnaryOp.GELU_TANH.backward(), g, s);
            case SILU -> ArithmeticOps.binary(UnaryOp.SILU.backward(), g, s);
            case MISH -> ArithmeticOps.binary(UnaryOp.MISH.backward(), g, s);
            case ERF -> {
                try (Tensor x2 = s.mul(s); Tensor e = x2.neg().exp(); Tensor d = e.mul(2 / Math.sqrt(Math.PI))) {
                    yield g.mul(d);
                }
            }
            case EXPM1 -> {
                try (Tensor d = s.add(1)) {
                    yield g.mul(d);
                }
            }
            case LOG1P -> {
                try (Tensor d = s.add(1)) {
                    yield g.div(d);
                }
            }
            case LEAKY_RELU, ELU, SOFTPLUS, HARDTANH, HARDSIGMOID, HARDSWISH -> ArithmeticOps.binary(kernel.backwardWith(p, q), g, s);
            case RSQRT -> {
                try (Tensor s2 = s.mul(s); Tensor s3 = s2.mul(s); Tensor d = s3.mul(-0.5)) {
                    yield g.mul(d);
                }
            }
            case SQUARE -> {
                try (Tensor d = s.mul(2)) {
                    yield g.mul(d);
                }
            }
            case SIGN, FLOOR, CEIL, ROUND, TRUNC -> Tensor.zerosLike(g);
            case RECIPROCAL -> {
                try (Tensor s2 = s.mul(s); Tensor d = s2.neg()) {
                    yield g.mul(d);
                }
            }
        };
    }

    /** {@code op(x)} with the scalars p, q (pow's exponent, hardtanh's bounds), recorded for autograd when x requires grad. */
    Tensor apply(Tensor x, float p, float q) {
        Tensor out = ArithmeticOps.unary(opName, kernel, p, q, x);
        return !Tensor.recording(x, null) ? out : Tensor.record(out, () -> new Backward(this, switch (saves) {
            case NOTHING -> null;
            case INPUT -> x;
            case OUTPUT -> out;
        }, p, q), x);
    }

    Tensor apply(Tensor x, float p) {
        return apply(x, p, 0f);
    }

    Tensor apply(Tensor x) {
        return apply(x, 0f);
    }

    /** The row of {@code gelu(x, approximate)}: "none" (exact) or "tanh", PyTorch's argument. */
    static Pointwise gelu(String approximate) {
        if (approximate == null) { // a switch on null would throw a NullPointerException
            throw new IllegalArgumentException("gelu: approximate must be 'none' or 'tanh', got 'null'");
        }
        return switch (approximate) {
            case "none" -> GELU;
            case "tanh" -> GELU_TANH;
            default -> throw new IllegalArgumentException("gelu: approximate must be 'none' or 'tanh', got '" + approximate + "'");
        };
    }

    /** The graph node of every row: named from the row, running its rule. */
    static final class Backward extends Node {
        private final Pointwise op;
        private final Saved saved;
        private final float p;
        private final float q;

        Backward(Pointwise op, Tensor saved, float p, float q) {
            this.op = op;
            this.saved = saved == null ? null : save(saved, op.saves == Saves.OUTPUT ? "output 0" : "argument 0");
            this.p = p;
            this.q = q;
        }

        /** The row this node came from (the relu_ in-place form reuses RELU's rule). */
        Pointwise op() {
            return op;
        }

        @Override
        public String name() {
            return op.gradFn;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {op.grad(g, saved == null ? null : saved.get(), p, q)};
        }
    }
}
