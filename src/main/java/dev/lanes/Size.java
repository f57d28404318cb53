package dev.lanes;

import java.util.Arrays;

/** An immutable tensor shape; prints like PyTorch's {@code torch.Size}: {@code Size([1, 10])}. */
public final class Size {
    private final int[] dims;

    Size(int[] dims) {
        this.dims = dims.clone();
    }

    /** A size from explicit dimensions. */
    public static Size of(int... dims) {
        return new Size(dims);
    }

    public int dim() {
        return dims.length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public int get(int d) {
        return dims[Shapes.wrapDim(d, dims.length)];
    }

    public long numel() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    public int[] toArray() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Size s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return "Size(" + Shapes.str(dims) + ")";
    }
}
