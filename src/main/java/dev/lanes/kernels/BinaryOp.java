package dev.lanes.kernels;

/**
 * Elementwise float operations of two inputs. {@link #apply} is the scalar definition; the vector
 * path in {@link Elementwise} must agree with it. The fused backward kernels of one-input ops (GELU's, ...) are not
 * here but with their op: {@link UnaryOp#backward()}.
 */
public enum BinaryOp implements BinaryKernel {
    ADD, SUB, MUL, DIV,
    /** NaN-propagating maximum, like torch.maximum */ MAXIMUM,
    /** NaN-propagating minimum, like torch.minimum */ MINIMUM,
    POW,
    /** 1 where equal, else 0 (float mask) */ EQ,
    GT, LT,
    /**
     * 0 if b <= 0 else a: ReLU's backward (gradient a, saved output b), PyTorch's threshold_backward: a NaN output
     * passes the gradient
     */ MASK_POSITIVE,
    /** relu(a + b): a residual sum and the ReLU after it in one pass (plans fuse them); the bits of ADD then RELU */ ADD_RELU;

    @Override
    public float apply(float a, float b) {
        return switch (this) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
            case POW -> VectorMath.pow(a, b);
            case EQ -> a == b ? 1f : 0f;
            case GT -> a > b ? 1f : 0f;
            case LT -> a < b ? 1f : 0f;
            case MASK_POSITIVE -> b <= 0 ? 0f : a;
            case ADD_RELU -> Math.max(a + b, 0f);
        };
    }
}
