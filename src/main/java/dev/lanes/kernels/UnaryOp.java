package dev.lanes.kernels;

/**
 * Elementwise float operations of one input, with up to two scalar parameters ({@code p}, {@code q}).
 * {@link #apply} is the scalar definition; the vector path in {@link Elementwise} must agree with it.
 */
public enum UnaryOp {
    IDENTITY, NEG, EXP, LOG, SQRT, ABS, RELU, SIGMOID, TANH,
    /** x Phi(x), PyTorch's gelu (approximate='none') */ GELU,
    /** x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), gelu(approximate='tanh') */ GELU_TANH,
    /** x sigmoid(x), PyTorch's silu */ SILU,
    /** the error function, torch.erf */ ERF,
    /** x + p */ ADD_SCALAR,
    /** x - p */ SUB_SCALAR,
    /** p - x */ RSUB_SCALAR,
    /** x * p */ MUL_SCALAR,
    /** x / p */ DIV_SCALAR,
    /** p / x */ RDIV_SCALAR,
    /** x ^ p */ POW_SCALAR,
    /** min(max(x, p), q): NaN stays NaN */ CLAMP,
    /** x == p ? 1 : 0 */ EQ_SCALAR,
    /** x > p ? 1 : 0 */ GT_SCALAR,
    /** x < p ? 1 : 0 */ LT_SCALAR,
    /** x > 0 ? p : 0 (ReLU backward mask scaled) */ STEP_SCALED,
    /** fills p, ignoring x */ FILL;

    /**
     * Whether a GEMM or convolution may apply this op to its outputs while they are in registers
     * ({@code Sgemm.Epilogue}): the activations that follow a linear layer.
     */
    public boolean isActivation() {
        return switch (this) {
            case RELU, GELU, GELU_TANH, SILU, SIGMOID, TANH -> true;
            default -> false;
        };
    }

    public float apply(float x, float p, float q) {
        return switch (this) {
            case IDENTITY -> x;
            case NEG -> -x;
            case EXP -> VectorMath.exp(x);
            case LOG -> VectorMath.log(x);
            case SQRT -> (float) Math.sqrt(x);
            case ABS -> Math.abs(x);
            case RELU -> Math.max(x, 0f);
            case SIGMOID -> VectorMath.sigmoid(x);
            case TANH -> VectorMath.tanh(x);
            case GELU -> VectorMath.gelu(x);
            case GELU_TANH -> VectorMath.geluTanh(x);
            case SILU -> VectorMath.silu(x);
            case ERF -> VectorMath.erf(x);
            case ADD_SCALAR -> x + p;
            case SUB_SCALAR -> x - p;
            case RSUB_SCALAR -> p - x;
            case MUL_SCALAR -> x * p;
            case DIV_SCALAR -> x / p;
            case RDIV_SCALAR -> p / x;
            case POW_SCALAR -> VectorMath.pow(x, p);
            case CLAMP -> Math.min(Math.max(x, p), q);
            case EQ_SCALAR -> x == p ? 1f : 0f;
            case GT_SCALAR -> x > p ? 1f : 0f;
            case LT_SCALAR -> x < p ? 1f : 0f;
            case STEP_SCALED -> x > 0 ? p : 0f;
            case FILL -> p;
        };
    }
}
