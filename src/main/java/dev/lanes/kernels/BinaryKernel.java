package dev.lanes.kernels;

/**
 * An elementwise kernel of two float operands of one shape (after broadcasting), as {@link Elementwise#binary} runs
 * it: a {@link BinaryOp} (add, mul, ReLU's mask, ...), or the fused backward of a one-input op,
 * {@link UnaryOp.Backward} ({@code g * op'(x)} in one pass: GELU's, SiLU's, Mish's), which lives with its op so that
 * an op is written in one place.
 */
public sealed interface BinaryKernel permits BinaryOp, UnaryOp.Backward {
    /** The scalar definition; the vector rows give the same bits. */
    float apply(float a, float b);

    /** The kernel's name, as plans print it ({@code ADD}, {@code GELU_BACKWARD}). */
    String name();
}
