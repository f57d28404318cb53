package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * Splits dim {@code dim} into {@code unflattenedSize} (one entry may be -1), like {@code torch.nn.Unflatten}: a view
 * where the input's strides allow it (a reshape otherwise).
 */
public class Unflatten extends Module {
    private final int dim;
    private final int[] unflattenedSize;

    public Unflatten(int dim, int... unflattenedSize) {
        if (unflattenedSize == null || unflattenedSize.length == 0) {
            throw new IllegalArgumentException("unflatten: sizes must be non-empty");
        }
        this.dim = dim;
        this.unflattenedSize = unflattenedSize.clone();
    }

    @Override
    public Tensor forward(Tensor input) {
        int n = input.dim();
        int d = dim < 0 ? dim + n : dim;
        if (d < 0 || d >= n) {
            throw new IllegalArgumentException("Dimension out of range (expected to be in range of [" + -n + ", " + (n - 1) + "], but got " + dim + ")");
        }
        int[] shape = input.shape();
        long product = 1;
        int inferred = -1;
        for (int i = 0; i < unflattenedSize.length; i++) {
            if (unflattenedSize[i] == -1 && inferred < 0) {
                inferred = i;
            } else {
                product *= unflattenedSize[i];
            }
        }
        int[] sizes = unflattenedSize.clone();
        if (inferred >= 0 && product > 0 && shape[d] % product == 0) {
            sizes[inferred] = (int) (shape[d] / product);
            product *= sizes[inferred];
        }
        if (product != shape[d] || (inferred < 0 && java.util.Arrays.stream(sizes).anyMatch(s -> s < 0))) {
            throw new IllegalArgumentException("unflatten: Provided sizes " + java.util.Arrays.toString(unflattenedSize)
                    + " don't multiply up to the size of dim " + dim + " (" + shape[d] + ") in the input tensor");
        }
        int[] out = new int[n - 1 + sizes.length];
        System.arraycopy(shape, 0, out, 0, d);
        System.arraycopy(sizes, 0, out, d, sizes.length);
        System.arraycopy(shape, d + 1, out, d + sizes.length, n - d - 1);
        return input.reshape(out);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder("dim=").append(dim).append(", unflattened_size=(");
        for (int i = 0; i < unflattenedSize.length; i++) {
            s.append(i == 0 ? "" : ", ").append(unflattenedSize[i]);
        }
        return s.append(unflattenedSize.length == 1 ? ",)" : ")").toString();
    }
}
