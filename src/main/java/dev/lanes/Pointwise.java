package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.UnaryOp;

/**
 * The elementwise ops of one tensor, one row each, like PyTorch's {@code derivatives.yaml}: the op's name, its
 * kernel ({@link UnaryOp}: scalar definition and vector form in {@code kernels.Elementwise} / {@code VectorMath}),
 * the {@code grad_fn} name PyTorch prints, what the backward saves, and the backward rule. {@code Tensor.exp()} and
 * the rest are one-line delegations to {@link #apply}; the plan replays the kernel (the tracer records it), and
 * the activations among them fuse into a GEMM or convolution epilogue ({@link UnaryOp#isActivation()}).
 *
 * <p>Adding an op of this kind: its constant in {@code UnaryOp} (scalar definition, vector row, and a fused backward
 * if it has one; the formulas in {@code VectorMath} when they are transcendental), one row here, one {@code Tensor}
 * method, one row in the tests' op table ({@code OpInfo}) with its PyTorch twin in the golden generator.
 *
 * <p>Backward rules run with grad mode off and return a new tensor; temporaries are closed here.
 */
enum Pointwise {
    NEG("neg", UnaryOp.NEG, "NegBackward0", Saves.NOTHING, (g, s, p) -> g.neg()),
    EXP("exp", UnaryOp.EXP, "ExpBackward0", Saves.OUTPUT, (g, s, p) -> g.mul(s)),
    LOG("log", UnaryOp.LOG, "LogBackward0", Saves.INPUT, (g, s, p) -> g.div(s)),
    /** g / (2 sqrt(x)), from the saved output. */
    SQRT("sqrt", UnaryOp.SQRT, "SqrtBackward0", Saves.OUTPUT, (g, s, p) -> {
        try (Tensor d = s.mul(2)) {
            return g.div(d);
        }
    }),
    /** g sign(x). */
    ABS("abs", UnaryOp.ABS, "AbsBackward0", Saves.INPUT, (g, s, p) -> {
        try (Tensor pos = ArithmeticOps.Scalar.GT.apply(s, 0); Tensor neg = ArithmeticOps.Scalar.LT.apply(s, 0); Tensor sign = pos.sub(neg)) {
            return g.mul(sign);
        }
    }),
    /** g p x^(p-1); p == 0 gives 0 like PyTorch. */
    POW("pow", UnaryOp.POW_SCALAR, "PowBackward0", Saves.INPUT, (g, s, p) -> {
        if (p == 0) {
            return Tensor.zerosLike(g);
        }
        try (Tensor d = s.pow(p - 1); Tensor e = d.mul(p)) {
            return g.mul(e);
        }
    }),
    /** The gradient passes where the saved output is positive. */
    RELU("relu", UnaryOp.RELU, "ReluBackward0", Saves.OUTPUT, (g, s, p) -> ArithmeticOps.binary(BinaryOp.MASK_POSITIVE, g, s)),
    /** g s (1 - s), s = sigmoid(x). */
    SIGMOID("sigmoid", UnaryOp.SIGMOID, "SigmoidBackward0", Saves.OUTPUT, (g, s, p) -> {
        try (Tensor one = s.rsub(1); Tensor d = s.mul(one)) {
            return g.mul(d);
        }
    }),
    /** g (1 - s^2), s = tanh(x). */
    TANH("tanh", UnaryOp.TANH, "TanhBackward0", Saves.OUTPUT, (g, s, p) -> {
        try (Tensor s2 = s.mul(s); Tensor d = s2.rsub(1)) {
            return g.mul(d);
        }
    }),
    /** g (Phi(x) + x phi(x)): one fused kernel. */
    GELU("gelu", UnaryOp.GELU, "GeluBackward0", Saves.INPUT, (g, s, p) -> ArithmeticOps.binary(UnaryOp.GELU.backward(), g, s)),
    /** gelu(x, approximate='tanh'); the same grad_fn name as PyTorch's, which keeps the mode as an attribute. */
    GELU_TANH("gelu", UnaryOp.GELU_TANH, "GeluBackward0", Saves.INPUT, (g, s, p) -> ArithmeticOps.binary(UnaryOp.GELU_TANH.backward(), g, s)),
    /** g s (1 + x (1 - s)), s = sigmoid(x): one fused kernel. */
    SILU("silu", UnaryOp.SILU, "SiluBackward0", Saves.INPUT, (g, s, p) -> ArithmeticOps.binary(UnaryOp.SILU.backward(), g, s)),
    /** g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)): one fused kernel. */
    MISH("mish", UnaryOp.MISH, "MishBackward0", Saves.INPUT, (g, s, p) -> ArithmeticOps.binary(UnaryOp.MISH.backward(), g, s)),
    /** g (2 / sqrt(pi)) exp(-x^2). */
    ERF("erf", UnaryOp.ERF, "ErfBackward0", Saves.INPUT, (g, s, p) -> {
        try (Tensor x2 = s.mul(s); Tensor e = x2.neg().exp(); Tensor d = e.mul(2 / Math.sqrt(Math.PI))) {
            return g.mul(d);
        }
    });

    /** What the backward rule reads besides the incoming gradient. */
    enum Saves {
        NOTHING, INPUT, OUTPUT
    }

    /** The backward rule: {@code g} the incoming gradient, {@code saved} the input or output per {@link Saves}, p the scalar. */
    @FunctionalInterface
    interface Rule {
        Tensor grad(Tensor g, Tensor saved, float p);
    }

    final String opName;
    final UnaryOp kernel;
    final String gradFn;
    final Saves saves;
    final Rule rule;

    Pointwise(String opName, UnaryOp kernel, String gradFn, Saves saves, Rule rule) {
        this.opName = opName;
        this.kernel = kernel;
        this.gradFn = gradFn;
        this.saves = saves;
        this.rule = rule;
    }

    /** {@code op(x)} with the scalar p (pow's exponent), recorded for autograd when x requires grad. */
    Tensor apply(Tensor x, float p) {
        Tensor out = ArithmeticOps.unary(opName, kernel, p, 0f, x);
        return Tensor.record(out, () -> new Backward(this, switch (saves) {
            case NOTHING -> null;
            case INPUT -> x;
            case OUTPUT -> out;
        }, p), x);
    }

    Tensor apply(Tensor x) {
        return apply(x, 0f);
    }

    /** The row of {@code gelu(x, approximate)}: "none" (exact) or "tanh", PyTorch's argument. */
    static Pointwise gelu(String approximate) {
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

        Backward(Pointwise op, Tensor saved, float p) {
            this.op = op;
            this.saved = saved == null ? null : save(saved, op.saves == Saves.OUTPUT ? "output 0" : "argument 0");
            this.p = p;
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
            return new Tensor[] {op.rule.grad(g, saved == null ? null : saved.get(), p)};
        }
    }
}
