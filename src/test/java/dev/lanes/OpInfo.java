package dev.lanes;

import dev.lanes.kernels.UnaryOp;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * One row of the op table {@link OpTableTest} runs every test on (like PyTorch's {@code OpInfo}), and the table
 * itself, {@link #ROWS}. A row says how to call the op and what to expect of it:
 * <ul>
 *   <li>{@link #name}: the golden key (its {@code <name>/...} records in {@code golden/op_table.txt}) and the
 *       test's display name;</li>
 *   <li>{@link #op}: the call, on the sample inputs in order;</li>
 *   <li>{@link #args}: the sample inputs' shapes (which must be those of the golden inputs) and the domain gradcheck
 *       draws them from: {@link #randn} or a {@link #uniform} interval (positive-only operands), and
 *       {@link #kinks} where the derivative jumps;</li>
 *   <li>the tolerance of the forward against PyTorch ({@link #tol}; exact unless set: ops that round once per element,
 *       like add, mul and relu, give PyTorch's bits) and of the gradients ({@link #gradTol});</li>
 *   <li>flags: {@link #forwardOnly} (no gradient; the output must not require grad), {@link #traceable} (the
 *       inference plan replays it; otherwise tracing must refuse it), {@link #fusesAs} (an activation the plan fuses
 *       into a GEMM's epilogue), {@link #pointwise} (also checked after a Linear in a plan),
 *       {@link #planSumsInAnotherOrder} (a plan close to eager, not equal), {@link #acceptsInt64};</li>
 *   <li>{@link #mismatch}: inputs of shapes that do not fit, and the message Lanes must give for them (with and
 *       without a graph);</li>
 *   <li>known differences, pinned so that fixing them fails the test and the note is dropped:
 *       {@link #lanesGradFn} (a grad_fn name other than PyTorch 1.13's), {@link #lanesMismatchWhenRecording} (another
 *       message when the inputs require grad).</li>
 * </ul>
 * The Python twin of each row (same name, same inputs) is in {@code src/test/python/gen_op_table_golden.py}.
 */
final class OpInfo {
    /**
     * A sample input: its shape, the interval gradcheck draws it from (NaN bounds: standard normal), and whether its
     * layout is transposed (a 2-d input stored column-major: the op must read strides). The golden inputs have the
     * same shape; they may add points of interest outside the interval (the tails of exp, sigmoid, gelu).
     */
    record Arg(int[] shape, double lo, double hi, boolean transposed) {
        boolean normal() {
            return Double.isNaN(lo);
        }
    }

    final String name;
    final Function<Tensor[], Tensor> op;
    final List<Arg> args = new ArrayList<>();
    double atol;
    double rtol;
    /** The gradients' tolerance: they sum over broadcast and reduced dims in another order than PyTorch's. */
    double gradAtol = 1e-6;
    double gradRtol = 1e-5;
    double[] kinks = {};
    boolean differentiable = true;
    boolean traceable;
    boolean planSumsInAnotherOrder;
    boolean pointwise;
    boolean acceptsInt64;
    UnaryOp fusesAs;
    int[][] mismatchShapes;
    String mismatchMessage;
    String lanesMismatchWhenRecording;
    String lanesGradFn;
    String lanesGradFnWhy;

    private OpInfo(String name, Function<Tensor[], Tensor> op) {
        this.name = name;
        this.op = op;
    }

    static OpInfo row(String name, Function<Tensor[], Tensor> op) {
        return new OpInfo(name, op);
    }

    /** A unary op, called on its one input. */
    static OpInfo unary(String name, UnaryOperator<Tensor> op) {
        return new OpInfo(name, t -> op.apply(t[0]));
    }

    /** The next input: standard normal. */
    OpInfo randn(int... shape) {
        args.add(new Arg(shape, Double.NaN, Double.NaN, false));
        return this;
    }

    /** The next input: uniform in [lo, hi] (gradcheck), e.g. a positive divisor. */
    OpInfo uniform(double lo, double hi, int... shape) {
        args.add(new Arg(shape, lo, hi, false));
        return this;
    }

    /** The next input: standard normal, a 2-d tensor stored transposed (a non-contiguous leaf). */
    OpInfo randnTransposed(int rows, int cols) {
        args.add(new Arg(new int[] {rows, cols}, Double.NaN, Double.NaN, true));
        return this;
    }

    /** The forward's tolerance against PyTorch: |got - want| <= atol + rtol * |want|. */
    OpInfo tol(double atol, double rtol) {
        this.atol = atol;
        this.rtol = rtol;
        return this;
    }

    /** The gradients' tolerance against PyTorch, where its own error is larger than the default. */
    OpInfo gradTol(double atol, double rtol) {
        this.gradAtol = atol;
        this.gradRtol = rtol;
        return this;
    }

    /** Input values where the derivative jumps (relu at 0, clamp at its bounds): gradcheck keeps its samples away. */
    OpInfo kinks(double... at) {
        this.kinks = at;
        return this;
    }

    /** No gradient (comparisons, indices): the output of inputs that require grad must not require grad. */
    OpInfo forwardOnly() {
        this.differentiable = false;
        return this;
    }

    /** The op has a plan step: a traced plan must give the eager bits. Rows without it must be refused by trace. */
    OpInfo traceable() {
        this.traceable = true;
        return this;
    }

    /**
     * Traceable, but the plan's result is close to the eager one rather than equal: a product with one row runs as a
     * matrix-vector product over prepacked weights, which sums in another order (InferencePlan's Javadoc).
     */
    OpInfo planSumsInAnotherOrder() {
        this.planSumsInAnotherOrder = true;
        return traceable();
    }

    /** A unary elementwise op with a plan step: also checked after a Linear. */
    OpInfo pointwise() {
        this.pointwise = true;
        return traceable();
    }

    /** An activation the plan fuses into the GEMM before it. */
    OpInfo fuses(UnaryOp activation) {
        this.fusesAs = activation;
        return pointwise();
    }

    /** The op takes int64 inputs too (a copy), like PyTorch: the bad-input test expects no exception for them. */
    OpInfo acceptsInt64() {
        this.acceptsInt64 = true;
        return this;
    }

    /** Inputs of these shapes do not fit: the op must throw IllegalArgumentException with this text. */
    OpInfo mismatch(String message, int[]... shapes) {
        this.mismatchMessage = message;
        this.mismatchShapes = shapes;
        return this;
    }

    /**
     * With inputs that require grad, Lanes knowingly gives this message for the {@link #mismatch} shapes instead
     * ({@code why}: where it comes from); the test fails once the message is the plain one, to drop this note.
     */
    OpInfo lanesMismatchWhenRecording(String message, String why) {
        this.lanesMismatchWhenRecording = message;
        return this;
    }

    /** Lanes names the output's grad_fn {@code name} where PyTorch 1.13 names it otherwise ({@code why}: the reason). */
    OpInfo lanesGradFn(String name, String why) {
        this.lanesGradFn = name;
        this.lanesGradFnWhy = why;
        return this;
    }

    @Override
    public String toString() {
        return name;
    }

    private static int[] s(int... shape) {
        return shape;
    }

    private static Tensor inPlace(Tensor x, UnaryOperator<Tensor> op) {
        // on a fresh non-leaf (x * 1): the in-place op must rebase its history onto it
        Tensor y = x.mul(1);
        op.apply(y);
        return y;
    }

    private static final String BROADCAST_19_20 = "The size of tensor a (19) must match the size of tensor b (20) at non-singleton dimension 1"
            + " (shapes [3, 19] and [20])";

    /**
     * The table. Shapes are small (at most 64 elements) but many elementwise rows have 61 elements or rows of 19,
     * so the vector loop and the scalar tail both run at 4, 8 and 16 lanes.
     */
    /** An index into dim 1 of a [3, 5] tensor, with repeats; the same as IDX_3x4 in the generator. */
    private static Tensor idx3x4() {
        return Tensor.of(new long[] {0, 4, 4, 2, 1, 3, 2, 2, 0, 1, 1, 4}, 3, 4);
    }

    static final List<OpInfo> ROWS = List.of(
            // ---- unary pointwise: 61 values (goldens: a grid over the domain plus its tails) ----
            unary("neg", Tensor::neg).uniform(-4, 4, 61).pointwise(),
            unary("exp", Tensor::exp).uniform(-4, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("log", Tensor::log).uniform(0.1, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("sqrt", Tensor::sqrt).uniform(0.1, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("abs", Tensor::abs).uniform(-4, 4, 61).kinks(0).pointwise(),
            unary("sin", Tensor::sin).uniform(-7, 7, 61).tol(1e-7, 1e-6).pointwise(),
            unary("cos", Tensor::cos).uniform(-7, 7, 61).tol(1e-7, 1e-6).pointwise(),
            unary("pow_2_5", x -> x.pow(2.5)).uniform(0.1, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("relu", Tensor::relu).uniform(-4, 4, 61).kinks(0).fuses(UnaryOp.RELU),
            unary("sigmoid", Tensor::sigmoid).uniform(-4, 4, 61).tol(1e-6, 1e-6).fuses(UnaryOp.SIGMOID),
            unary("tanh", Tensor::tanh).uniform(-4, 4, 61).tol(1e-6, 1e-6).fuses(UnaryOp.TANH),
            // PyTorch computes 1 + erf(x / sqrt 2), which cancels in the negative tail (gelu(-5) is 4% off there):
            // the absolute tolerance covers its error, the relative one ours.
            // gelu(-3.283): PyTorch -0.001686104, exact -0.00168585982, ours -0.0016858602
            unary("gelu", Tensor::gelu).uniform(-6, 6, 61).tol(5e-7, 1e-6).fuses(UnaryOp.GELU),
            // and PyTorch's tanh-GELU derivative is 0 where 1 - tanh^2 rounds to 0: at x = -5.09 the true one is -8.4e-7
            unary("gelu_tanh", x -> x.gelu("tanh")).uniform(-6, 6, 61).tol(5e-7, 1e-6).gradTol(3e-6, 1e-5).fuses(UnaryOp.GELU_TANH),
            unary("silu", Tensor::silu).uniform(-6, 6, 61).tol(1e-6, 1e-6).fuses(UnaryOp.SILU),
            // tanh(softplus(x)) as n / (n + 2), n = e^x (e^x + 2): one exp against PyTorch's exp, log1p and tanh
            unary("mish", Tensor::mish).uniform(-6, 6, 61).tol(1e-6, 1e-6).fuses(UnaryOp.MISH),
            unary("erf", Tensor::erf).uniform(-4, 4, 61).tol(1e-7, 1e-6).pointwise(),
            // goldens with 0, +-0, the kinks, NaN and +-inf among the grid's 61 values
            unary("expm1", Tensor::expm1).uniform(-4, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("log1p", Tensor::log1p).uniform(-0.9, 4, 61).tol(1e-6, 1e-6).pointwise(),
            unary("leaky_relu", x -> x.leakyRelu(0.01)).uniform(-4, 4, 61).kinks(0).fuses(UnaryOp.LEAKY_RELU),
            unary("leaky_relu_0_2", x -> x.leakyRelu(0.2)).uniform(-4, 4, 61).kinks(0).fuses(UnaryOp.LEAKY_RELU),
            // PyTorch 1.13 computes exp(x) - 1 (2.1 on: expm1), ~1e-7 absolute off near 0
            unary("elu", x -> x.elu(1)).uniform(-6, 6, 61).tol(1e-6, 1e-6).fuses(UnaryOp.ELU),
            unary("elu_alpha_0_5", x -> x.elu(0.5)).uniform(-6, 6, 61).kinks(0).tol(1e-6, 1e-6).fuses(UnaryOp.ELU),
            unary("softplus", x -> x.softplus(1, 20)).uniform(-6, 6, 61).tol(1e-6, 1e-6).fuses(UnaryOp.SOFTPLUS),
            unary("softplus_beta_2_threshold_10", x -> x.softplus(2, 10)).uniform(-6, 6, 61).kinks(5).tol(1e-6, 1e-6).fuses(UnaryOp.SOFTPLUS),
            unary("hardtanh", x -> x.hardtanh(-1, 1)).uniform(-4, 4, 61).kinks(-1, 1).fuses(UnaryOp.HARDTANH),
            unary("hardtanh_m2_3", x -> x.hardtanh(-2, 3)).uniform(-4, 4, 61).kinks(-2, 3).fuses(UnaryOp.HARDTANH),
            unary("relu6", Tensor::relu6).uniform(-4, 8, 61).kinks(0, 6).fuses(UnaryOp.HARDTANH),
            unary("hardsigmoid", Tensor::hardsigmoid).uniform(-6, 6, 61).kinks(-3, 3).fuses(UnaryOp.HARDSIGMOID),
            unary("hardswish", Tensor::hardswish).uniform(-6, 6, 61).kinks(-3, 3).fuses(UnaryOp.HARDSWISH),
            unary("rsqrt", Tensor::rsqrt).uniform(0.1, 4, 61).pointwise(),
            unary("square", Tensor::square).uniform(-4, 4, 61).pointwise(),
            unary("reciprocal", Tensor::reciprocal).uniform(0.2, 4, 61).pointwise(),
            // flat between jumps: zero gradients (gradcheck's samples kept off the jumps)
            unary("sign", Tensor::sign).uniform(-4, 4, 61).kinks(0).pointwise(),
            unary("floor", Tensor::floor).uniform(-4, 4, 61).kinks(-4, -3, -2, -1, 0, 1, 2, 3, 4).pointwise(),
            unary("ceil", Tensor::ceil).uniform(-4, 4, 61).kinks(-4, -3, -2, -1, 0, 1, 2, 3, 4).pointwise(),
            unary("round", Tensor::round).uniform(-4, 4, 61).kinks(-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5).pointwise(),
            unary("trunc", Tensor::trunc).uniform(-4, 4, 61).kinks(-4, -3, -2, -1, 0, 1, 2, 3, 4).pointwise(),
            unary("clamp", x -> x.clamp(-0.5, 0.5)).randn(61).kinks(-0.5, 0.5).pointwise(),
            unary("clamp_min", x -> x.clampMin(-0.5)).randn(61).kinks(-0.5).pointwise(),
            unary("clamp_max", x -> x.clampMax(0.5)).randn(61).kinks(0.5).pointwise(),

            // ---- arithmetic with a scalar ----
            unary("add_scalar", x -> x.add(2.5)).randn(61).pointwise(),
            unary("sub_scalar", x -> x.sub(1.5)).randn(61).pointwise(),
            unary("mul_scalar", x -> x.mul(-3)).randn(61).pointwise(),
            unary("div_scalar", x -> x.div(7)).randn(61).pointwise(),
            unary("rsub_scalar", x -> x.rsub(1)).randn(61).pointwise(),
            unary("rdiv_scalar", x -> x.rdiv(2)).uniform(0.5, 2, 61).pointwise(),
            unary("pow_scalar_2", x -> x.pow(2)).randn(61).pointwise(),
            unary("pow_scalar_0_5", x -> x.pow(0.5)).uniform(0.1, 2, 61).tol(1e-6, 1e-6).pointwise(),

            // ---- binary arithmetic, broadcasting ----
            row("add", t -> t[0].add(t[1])).randn(3, 19).randn(19).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("add_same_shape", t -> t[0].add(t[1])).randn(61).randn(61).traceable()
                    .mismatch("The size of tensor a (61) must match the size of tensor b (60) at non-singleton dimension 0 (shapes [61] and [60])", s(61), s(60)),
            row("add_outer", t -> t[0].add(t[1])).randn(3, 1).randn(1, 19).traceable()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0 (shapes [3, 1] and [2, 19])", s(3, 1), s(2, 19)),
            row("add_alpha", t -> t[0].add(t[1], 2.5f)).randn(3, 19).randn(19).tol(1e-6, 1e-6).traceable()
                    .mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("sub", t -> t[0].sub(t[1])).randn(3, 19).randn(19).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("sub_column", t -> t[0].sub(t[1])).randn(3, 19).randn(3, 1).traceable()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0 (shapes [3, 19] and [4, 1])", s(3, 19), s(4, 1)),
            row("mul", t -> t[0].mul(t[1])).randn(3, 19).randn(19).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("mul_column", t -> t[0].mul(t[1])).randn(3, 19).randn(3, 1).traceable()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0 (shapes [3, 19] and [4, 1])", s(3, 19), s(4, 1)),
            row("div", t -> t[0].div(t[1])).randn(3, 19).uniform(0.5, 1.5, 3, 19).traceable()
                    .mismatch("The size of tensor a (19) must match the size of tensor b (20) at non-singleton dimension 1 (shapes [3, 19] and [3, 20])",
                            s(3, 19), s(3, 20)),
            row("div_broadcast", t -> t[0].div(t[1])).randn(3, 19).uniform(0.5, 1.5, 19).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("pow", t -> t[0].pow(t[1])).uniform(0.5, 2, 3, 19).randn(19).tol(1e-6, 1e-6).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("maximum", t -> t[0].maximum(t[1])).randn(3, 19).randn(19).traceable().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("minimum", t -> t[0].minimum(t[1])).randn(3, 19).randn(3, 1).traceable()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0 (shapes [3, 19] and [4, 1])", s(3, 19), s(4, 1)),

            // ---- comparisons and logical ops: bool results, no gradient (plan steps, but a plan returns float32: BoolTest traces them) ----
            row("eq", t -> t[0].eq(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("gt", t -> t[0].gt(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64().mismatch(BROADCAST_19_20, s(3, 19), s(20)),
            row("lt", t -> t[0].lt(t[1])).randn(3, 19).randn(3, 1).forwardOnly().acceptsInt64()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0 (shapes [3, 19] and [4, 1])", s(3, 19), s(4, 1)),
            unary("eq_scalar", x -> x.eq(0)).randn(61).forwardOnly().acceptsInt64(),
            unary("gt_scalar", x -> x.gt(0)).randn(61).forwardOnly().acceptsInt64(),
            unary("lt_scalar", x -> x.lt(0)).randn(61).forwardOnly().acceptsInt64(),
            row("ne", t -> t[0].ne(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64(),
            row("ge", t -> t[0].ge(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64(),
            unary("le_scalar", x -> x.le(1)).randn(61).forwardOnly().acceptsInt64(),
            row("logical_and", t -> t[0].logicalAnd(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64(),
            row("logical_or", t -> t[0].logicalOr(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64(),
            row("logical_xor", t -> t[0].logicalXor(t[1])).randn(3, 19).randn(19).forwardOnly().acceptsInt64(),
            unary("logical_not", Tensor::logicalNot).randn(61).forwardOnly().acceptsInt64(),

            // ---- reductions (values and argmax/argmin are plan steps, argmax's an int64 slot; max(dim)/min(dim) are not) ----
            unary("sum", Tensor::sum).randn(3, 19).tol(1e-6, 1e-6).traceable(),
            unary("sum_dim0", x -> x.sum(0)).randn(3, 19).tol(1e-6, 1e-6).traceable(),
            unary("sum_dim1_keepdim", x -> x.sum(1, true)).randn(3, 19).tol(1e-6, 1e-6).traceable(),
            unary("sum_3d_dim1", x -> x.sum(1)).randn(2, 3, 4).tol(1e-6, 1e-6).traceable(),
            unary("mean", Tensor::mean).randn(3, 19).tol(1e-6, 1e-6).traceable(),
            unary("mean_dim1", x -> x.mean(1)).randn(3, 19).tol(1e-6, 1e-6).traceable(),
            unary("mean_3d_last_keepdim", x -> x.mean(-1, true)).randn(2, 3, 4).tol(1e-6, 1e-6).traceable(),
            unary("max", Tensor::max).randn(61).traceable(),
            unary("min", Tensor::min).randn(61).traceable(),
            // goldens on ties and a NaN: which index PyTorch picks (the first; NaN wins) and gets the gradient
            unary("max_dim_values", x -> x.max(1).values()).randn(3, 4),
            unary("max_dim_indices", x -> x.max(1).indices()).randn(3, 4).forwardOnly(),
            unary("min_dim_values", x -> x.min(1).values()).randn(3, 4),
            unary("min_dim_indices", x -> x.min(1).indices()).randn(3, 4).forwardOnly(),
            unary("min_dim0_keepdim_values", x -> x.min(0, true).values()).randn(3, 4),
            unary("max_dim0_keepdim_indices", x -> x.max(0, true).indices()).randn(3, 4).forwardOnly(),
            unary("argmax", Tensor::argmax).randn(3, 19).forwardOnly().traceable(),
            unary("argmax_dim1", x -> x.argmax(1)).randn(3, 19).forwardOnly().traceable(),
            unary("argmin_dim0", x -> x.argmin(0)).randn(3, 19).forwardOnly().traceable(),
            unary("var", Tensor::var).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("var_dim1", x -> x.var(1)).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("var_dim0_biased_keepdim", x -> x.var(0, false, true)).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("var_3d_dim1_keepdim", x -> x.var(1, true, true)).randn(2, 3, 4).tol(1e-6, 1e-5).traceable(),
            unary("std", Tensor::std).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("std_dim1", x -> x.std(1)).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("std_dim0_biased", x -> x.std(0, false, false)).randn(3, 19).tol(1e-6, 1e-5).traceable(),

            // ---- matrix products (sums in another order than PyTorch's: a few ulp) ----
            row("mm", t -> t[0].mm(t[1])).randn(3, 19).randn(19, 2).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (3x19 and 20x2)", s(3, 19), s(20, 2)),
            row("t_mm", t -> t[0].t().mm(t[1])).randn(4, 3).randn(4, 5).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (3x4 and 5x5)", s(4, 3), s(5, 5)),
            row("bmm", t -> t[0].bmm(t[1])).randn(2, 3, 4).randn(2, 4, 5).tol(1e-5, 1e-5).traceable()
                    .mismatch("Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5].", s(2, 3, 4), s(2, 5, 5)),
            row("matmul_dot", t -> t[0].matmul(t[1])).randn(19).randn(19).tol(1e-5, 1e-5).planSumsInAnotherOrder()
                    .mismatch("inconsistent tensor size, expected tensor [19] and src [20] to have the same number of elements, but got 19 and 20"
                            + " elements respectively", s(19), s(20)),
            row("matmul_mv", t -> t[0].matmul(t[1])).randn(3, 19).randn(19).tol(1e-5, 1e-5).traceable()
                    .mismatch("size mismatch, got 3, 3x19,20 (shapes [3, 19] and [20])", s(3, 19), s(20)),
            // PyTorch 1.13: squeeze_(0) of unsqueeze(0).mm(m), an in-place squeeze
            row("matmul_vm", t -> t[0].matmul(t[1])).randn(4).randn(4, 2).tol(1e-5, 1e-5).planSumsInAnotherOrder()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (1x4 and 5x2) (shapes [4] and [5, 2])", s(4), s(5, 2)),
            row("matmul_3d_2d", t -> t[0].matmul(t[1])).randn(2, 3, 4).randn(4, 2).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (6x4 and 5x2) (shapes [2, 3, 4] and [5, 2])", s(2, 3, 4), s(5, 2)),
            row("matmul_3d_1d", t -> t[0].matmul(t[1])).randn(2, 3, 4).randn(4).tol(1e-5, 1e-5).traceable()
                    .mismatch("size mismatch, got 6, 6x4,5 (shapes [2, 3, 4] and [5])", s(2, 3, 4), s(5)),
            row("matmul_2d_3d", t -> t[0].matmul(t[1])).randn(3, 4).randn(2, 4, 5).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (10x5 and 4x3) (shapes [3, 4] and [2, 5, 5])", s(3, 4), s(2, 5, 5)),
            row("matmul_batch_broadcast", t -> t[0].matmul(t[1])).randn(1, 3, 4).randn(2, 4, 5).tol(1e-5, 1e-5).traceable()
                    .mismatch("The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0 (shapes [3] and [2]) in matmul's batch dims (shapes [3, 3, 4] and [2, 4, 5])",
                            s(3, 3, 4), s(2, 4, 5)),
            row("addmm", t -> Tensor.addmm(t[0], t[1], t[2])).randn(5).randn(3, 4).randn(4, 5).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (3x4 and 3x5)", s(5), s(3, 4), s(3, 5)),
            row("addmm_linear", t -> Tensor.addmm(t[0], t[1], t[2].t())).randn(5).randn(3, 4).randn(5, 4).tol(1e-5, 1e-5).traceable()
                    .mismatch("mat1 and mat2 shapes cannot be multiplied (3x4 and 3x5)", s(5), s(3, 4), s(5, 3)),
            row("addmm_beta_alpha", t -> Tensor.addmm(t[0], t[1], t[2], 0.5, 2)).randn(3, 1).randn(3, 4).randn(4, 5).tol(1e-5, 1e-5)
                    .traceable()
                    .mismatch("The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0 (shapes [4, 1] and [3, 5])",
                            s(4, 1), s(3, 4), s(4, 5)),
            row("addmm_transposed_mat2", t -> Tensor.addmm(t[0], t[1], t[2])).randn(2).randn(3, 4).randnTransposed(4, 2).tol(1e-5, 1e-5)
                    .traceable(),
            // a chain (mm, bias, relu, sum) whose gradient flows through every step
            row("mlp", t -> t[0].mm(t[1]).add(t[2]).relu().sum(1)).randn(4, 5).randn(5, 3).randn(3).tol(1e-5, 1e-5).traceable(),

            // ---- softmax ----
            unary("softmax", x -> x.softmax(1)).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("log_softmax", x -> x.logSoftmax(-1)).randn(3, 19).tol(1e-6, 1e-5).traceable(),
            unary("log_softmax_dim0", x -> x.logSoftmax(0)).randn(2, 3, 4).tol(1e-6, 1e-5).traceable(),

            // ---- convolution and pooling ----
            row("conv2d", t -> Tensor.conv2d(t[0], t[1], t[2], null, new int[] {1}, null, 1)).randn(1, 2, 5, 5).randn(3, 2, 3, 3).randn(3)
                    .tol(1e-5, 1e-5).traceable().mismatch("Given groups=1, weight of size [3, 3, 3, 3], expected input[1, 2, 5, 5] to have 3 channels, but got 2 channels instead",
                            s(1, 2, 5, 5), s(3, 3, 3, 3), s(3)),
            row("conv2d_strided_groups", t -> Tensor.conv2d(t[0], t[1], null, new int[] {2}, (int[]) null, null, 2)).randn(1, 2, 5, 5)
                    .randn(4, 1, 3, 3).tol(1e-5, 1e-5).traceable().mismatch("Given groups=2, weight of size [4, 2, 3, 3], expected input[1, 2, 5, 5] to have 4 channels, but got 2 channels instead",
                            s(1, 2, 5, 5), s(4, 2, 3, 3)),
            unary("max_pool2d", x -> Tensor.maxPool2d(x, 2)).randn(1, 2, 5, 5).traceable(),
            unary("avg_pool2d", x -> Tensor.avgPool2d(x, new int[] {3}, new int[] {2}, new int[] {1}, false, true)).randn(1, 2, 5, 5)
                    .tol(1e-6, 1e-6).traceable(),

            // ---- F.linear of a [B, T, C] input: one GEMM over B * T rows, viewed back ----
            row("linear_3d", t -> dev.lanes.nn.functional.F.linear(t[0], t[1], t[2])).randn(2, 3, 4).randn(5, 4).randn(5).tol(1e-5, 1e-5)
                    .traceable(),

            // ---- normalisation and indexing (the int64 indices are constants of the call; no plan step for indexing) ----
            row("batch_norm_train", t -> Tensor.batchNorm(t[0], null, null, t[1], t[2], true, 0.1, 1e-5)).randn(4, 3, 5).randn(3).randn(3)
                    .tol(1e-5, 1e-5).gradTol(1e-5, 1e-4).traceable(),
            row("batch_norm_eval", t -> Tensor.batchNorm(t[0], Tensor.of(new float[] {0.5f, -1f, 0f}), Tensor.of(new float[] {2f, 0.5f, 1f}), t[1],
                    t[2], false, 0.1, 1e-5)).randn(2, 3, 2, 4).randn(3).randn(3).tol(1e-5, 1e-5).gradTol(1e-5, 1e-4).traceable(),
            row("layer_norm", t -> Tensor.layerNorm(t[0], new int[] {19}, t[1], t[2], 1e-5)).randn(3, 19).randn(19).randn(19)
                    .tol(1e-5, 1e-5).gradTol(1e-5, 1e-4).traceable(),
            unary("layer_norm_2d_plain", x -> Tensor.layerNorm(x, new int[] {3, 4}, null, null, 1e-5)).randn(2, 3, 4).tol(1e-5, 1e-5)
                    .gradTol(1e-5, 1e-4).traceable(),
            unary("embedding", w -> Tensor.embedding(Tensor.of(new long[] {1, 3, 3, 0, 9, 1}, 2, 3), w, null)).randn(10, 5).traceable(),
            unary("index_select", x -> x.indexSelect(1, Tensor.of(new long[] {4, 0, 4}))).randn(3, 5, 4).traceable(),
            unary("index_negative", x -> x.index(1, Tensor.of(new long[] {-1, 0, 2, -5}, 2, 2))).randn(3, 5, 4).traceable(), // x[:, idx]
            unary("gather", x -> x.gather(1, idx3x4())).randn(3, 5),
            row("scatter_add", t -> t[0].scatterAdd(1, idx3x4(), t[1])).randn(3, 5).randn(3, 4).tol(1e-6, 1e-6), // repeated indices add in another order

            // ---- views feeding an op ----
            row("view", t -> t[0].view(3, 2).mul(t[1])).randn(2, 3).randn(2).traceable(),
            row("reshape_noncontiguous", t -> t[0].t().reshape(6).mul(t[1])).randn(2, 3).randn(6).traceable(),
            row("unsqueeze_squeeze", t -> t[0].unsqueeze(1).mul(t[1]).squeeze()).randn(3).randn(1, 4).traceable(),
            row("transpose_permute", t -> t[0].transpose(0, 2).permute(1, 2, 0).mul(t[1])).randn(2, 3, 4).randn(4).traceable(),
            row("t", t -> t[0].t().mul(t[1])).randn(2, 3).randn(2).traceable(),
            unary("narrow_slice_select", x -> x.narrow(1, 1, 2).slice(0, 0, 3, 2).add(x.select(1, 0).narrow(0, 0, 2).unsqueeze(1)))
                    .randn(3, 4).traceable(),
            row("expand", t -> t[0].expand(3, 4).mul(t[1])).randn(1, 4).randn(3, 4).traceable(),
            row("flatten_clone", t -> t[0].flatten().clone().mul(t[1])).randn(2, 3).randn(6).traceable(),
            unary("t_contiguous", x -> x.t().contiguous()).randn(3, 19).traceable().acceptsInt64(),
            unary("slice_step_contiguous", x -> x.slice(1, 1, 4, 2).contiguous()).randn(3, 4).traceable().acceptsInt64(),
            unary("permute_sum", x -> x.permute(2, 0, 1).sum(2)).randn(2, 3, 4).tol(1e-6, 1e-6).traceable(),
            unary("transpose_add", x -> x.transpose(0, 2).add(1)).randn(2, 3, 4).traceable(),
            row("mul_noncontiguous_sum", t -> t[0].mul(t[1]).sum(0)).randnTransposed(4, 3).randn(4, 3).tol(1e-6, 1e-6).traceable(),

            // ---- in place, on a non-leaf so its history is rebased (tracing refuses in-place writes) ----
            row("add_", t -> inPlace(t[0], y -> y.add_(t[1]))).randn(3, 19).randn(19)
                    .mismatch("add_: output with shape [3, 19] doesn't match the broadcast shape [2, 3, 19]", s(3, 19), s(2, 1, 19)),
            unary("sub_scalar_", x -> inPlace(x, y -> y.sub_(2))).randn(61),
            row("mul_", t -> inPlace(t[0], y -> y.mul_(t[1]))).randn(2, 3).randn(3)
                    .mismatch("mul_: output with shape [2, 3] doesn't match the broadcast shape [2, 2, 3]", s(2, 3), s(2, 1, 3)),
            row("div_", t -> inPlace(t[0], y -> y.div_(t[1]))).randn(61).uniform(0.5, 1.5, 61)
                    .mismatch("The size of tensor a (61) must match the size of tensor b (60) at non-singleton dimension 0 (shapes [61] and [60])", s(61), s(60)),
            unary("div_scalar_", x -> inPlace(x, y -> y.div_(3))).randn(61),
            unary("clamp_", x -> inPlace(x, y -> y.clamp_(-0.5, 0.5))).randn(61).kinks(-0.5, 0.5),
            unary("relu_", x -> inPlace(x, Tensor::relu_)).randn(61).kinks(0),
            unary("add_into_buffer", x -> {
                Tensor buf = Tensor.ones(3);
                buf.add_(x);
                return buf.mul(x);
            }).randn(3),
            unary("copy_", x -> {
                Tensor buf = Tensor.zeros(2, 3);
                buf.copy_(x);
                return buf.mul(buf);
            }).randn(3).acceptsInt64(),

            // ---- scans and products (sequential loops, no plan step; sums and products rounded once from double) ----
            unary("cumsum_dim1", x -> x.cumsum(1)).randn(3, 19).tol(1e-6, 1e-6),
            unary("cumsum_3d_neg_dim", x -> x.cumsum(-2)).randn(2, 3, 4).tol(1e-6, 1e-6),
            unary("logsumexp_dim1", x -> x.logsumexp(1)).randn(3, 19).tol(1e-6, 1e-6),
            unary("logsumexp_3d_dim0_keepdim", x -> x.logsumexp(0, true)).randn(2, 3, 4).tol(1e-6, 1e-6),
            // golden: a row of -inf (gives -inf, gradient NaN as PyTorch's), a row far from 0 and with -inf, a plain row
            unary("logsumexp_inf", x -> x.logsumexp(1)).randn(3, 4).tol(1e-6, 1e-6),
            unary("prod", Tensor::prod).randn(3, 4).tol(1e-6, 1e-6).gradTol(1e-6, 1e-5),
            unary("prod_dim1", x -> x.prod(1)).randn(3, 5).tol(1e-6, 1e-6),
            unary("prod_dim0_keepdim", x -> x.prod(0, true)).randn(3, 5).tol(1e-6, 1e-6),
            // golden: zeros (one in a slice, two in a slice): the gradient is the product of the other elements
            unary("prod_zeros_dim1", x -> x.prod(1)).randn(3, 4).tol(1e-6, 1e-6),
            unary("prod_one_zero", Tensor::prod).randn(3, 4).tol(1e-6, 1e-6),
            unary("prod_two_zeros", Tensor::prod).randn(3, 4).tol(1e-6, 1e-6),

            // ---- sort, topk, argsort (a plan step each: the plan gives the eager bits; goldens without ties, so PyTorch's indices are the stable ones) ----
            unary("sort_dim1_values", x -> x.sort(1).values()).randn(3, 5).traceable(),
            unary("sort_dim1_indices", x -> x.sort(1).indices()).randn(3, 5).forwardOnly().traceable(),
            unary("sort_dim0_descending_values", x -> x.sort(0, true).values()).randn(4, 3).traceable(),
            unary("sort_dim0_descending_indices", x -> x.sort(0, true).indices()).randn(4, 3).forwardOnly().traceable(),
            // golden: a NaN in each row, the largest value (last ascending, first descending)
            unary("sort_nan_values", x -> x.sort(1).values()).randn(2, 4).traceable(),
            unary("sort_nan_indices", x -> x.sort(1).indices()).randn(2, 4).forwardOnly().traceable(),
            unary("sort_nan_descending_indices", x -> x.sort(-1, true).indices()).randn(2, 4).forwardOnly().traceable(),
            unary("topk_values", x -> x.topk(3, 1).values()).randn(3, 6).traceable(),
            unary("topk_indices", x -> x.topk(3, 1).indices()).randn(3, 6).forwardOnly().traceable(),
            unary("topk_smallest_dim0_values", x -> x.topk(2, 0, false, true).values()).randn(5, 3).traceable(),
            unary("topk_smallest_dim0_indices", x -> x.topk(2, 0, false, true).indices()).randn(5, 3).forwardOnly().traceable(),
            unary("topk_nan_smallest_indices", x -> x.topk(3, 1, false, true).indices()).randn(2, 4).forwardOnly().traceable(),
            unary("argsort", x -> x.argsort(1)).randn(3, 5).forwardOnly().traceable(),
            unary("argsort_dim0_descending", x -> x.argsort(0, true)).randn(4, 3).forwardOnly().traceable(),
            // golden: ties, signed zeros, NaNs, a row all equal: torch's sort(stable=True) (topk: its first k)
            unary("sort_stable_ties_values", x -> x.sort(1).values()).randn(3, 8).traceable()
                    .lanesGradFn("SortBackward0", "torch 1.13 names sort(stable=True)'s node SortBackward1; Lanes' sort is always stable and reports the default overload's name"),
            unary("sort_stable_ties_indices", x -> x.sort(1).indices()).randn(3, 8).forwardOnly().traceable(),
            unary("sort_stable_ties_descending_values", x -> x.sort(1, true).values()).randn(3, 8).traceable()
                    .lanesGradFn("SortBackward0", "torch 1.13 names sort(stable=True)'s node SortBackward1; Lanes' sort is always stable and reports the default overload's name"),
            unary("sort_stable_ties_descending_indices", x -> x.sort(1, true).indices()).randn(3, 8).forwardOnly().traceable(),
            unary("topk_ties_indices", x -> x.topk(3, 1).indices()).randn(3, 8).forwardOnly().traceable(),
            unary("topk_ties_smallest_indices", x -> x.topk(5, 1, false, false).indices()).randn(3, 8).forwardOnly().traceable(),

            // ---- flip, roll, repeat (copies by an index map, any dtype; no plan step) ----
            unary("flip_dim0", x -> x.flip(0)).randn(3, 19).acceptsInt64(),
            unary("flip_3d_two_dims", x -> x.flip(0, -1)).randn(2, 3, 4).acceptsInt64(),
            unary("flip_transposed", x -> x.flip(1)).randnTransposed(4, 3).acceptsInt64(),
            unary("roll_dim1", x -> x.roll(2, 1)).randn(3, 19).acceptsInt64(),
            unary("roll_two_dims_negative", x -> x.roll(new int[] {-1, 5}, new int[] {0, 2})).randn(2, 3, 4).acceptsInt64(),
            unary("roll_flattened", x -> x.roll(5)).randn(3, 4).acceptsInt64(),
            unary("roll_same_dim_twice", x -> x.roll(new int[] {1, 2}, new int[] {1, -1})).randn(2, 5).acceptsInt64(),
            unary("repeat", x -> x.repeat(2, 3)).randn(2, 3).tol(0, 0).gradTol(1e-6, 1e-6).acceptsInt64(),
            unary("repeat_more_sizes_than_dims", x -> x.repeat(2, 1, 3)).randn(2, 3).gradTol(1e-6, 1e-6).acceptsInt64(),
            unary("repeat_transposed", x -> x.repeat(1, 2)).randnTransposed(3, 4).gradTol(1e-6, 1e-6).acceptsInt64(),

            // ---- isnan / isinf / isfinite (bool; comparisons) and any / all (goldens: NaN, infinities, zeros) ----
            unary("isnan", Tensor::isnan).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("isinf", Tensor::isinf).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("isfinite", Tensor::isfinite).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("any", x -> x.gt(1).any()).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("all_dim1", x -> x.isfinite().all(1)).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("any_dim0_keepdim", x -> x.isinf().any(0, true)).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("all_float_dim1", x -> x.all(1)).randn(3, 19).forwardOnly().acceptsInt64(),
            unary("any_float_dim0", x -> x.any(0)).randn(3, 19).forwardOnly().acceptsInt64(),

            // ---- norms (sums in double, rounded once; no plan step) ----
            unary("norm", Tensor::norm).randn(3, 19).tol(1e-6, 1e-6),
            unary("norm_2_dim1", x -> x.norm(2, 1)).randn(3, 19).tol(1e-6, 1e-6),
            // golden: a zero row, whose gradient is 0 (PyTorch's subgradient)
            unary("norm_2_zero_row_keepdim", x -> x.norm(2, 1, true)).randn(3, 4).tol(1e-6, 1e-6),
            unary("norm_1_dim0", x -> x.norm(1, 0)).randn(3, 19).tol(1e-6, 1e-6).kinks(0),
            unary("norm_inf_dim1", x -> x.norm(Double.POSITIVE_INFINITY, 1)).randn(3, 19),
            // golden: ties at the max |x| share the gradient, a zero row
            unary("norm_inf_ties", x -> x.norm(Double.POSITIVE_INFINITY, 1)).randn(3, 4),
            unary("norm_neg_inf_dim0", x -> x.norm(Double.NEGATIVE_INFINITY, 0)).randn(3, 5),
            unary("norm_3_dim1", x -> x.norm(3, 1)).randn(3, 19).tol(1e-6, 1e-5).gradTol(1e-6, 1e-5),
            unary("norm_1_5_all", x -> x.norm(1.5)).randn(3, 4).tol(1e-6, 1e-5).gradTol(1e-6, 1e-5).kinks(0),
            unary("norm_0_5_dim1", x -> x.norm(0.5, 1)).uniform(0.2, 2, 3, 5).tol(1e-6, 1e-5).gradTol(1e-6, 1e-5),
            unary("norm_0_dim1", x -> x.norm(0, 1)).randn(3, 4));
}
