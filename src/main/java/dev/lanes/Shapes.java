package dev.lanes;

/** Shape arithmetic and the checks behind PyTorch-style error messages. */
final class Shapes {
    private Shapes() {
    }

    /** {@code [2, 3]} */
    static String str(int[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    /**
     * Element count, rejecting negative sizes and counts past what a tensor may hold. An empty tensor may have other
     * dims of any size (zeros(65536, 65536, 0), as PyTorch), as long as its contiguous strides fit an int (they are
     * int here; PyTorch's are int64).
     */
    static int checkedNumel(int[] shape) {
        boolean empty = false;
        for (int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("Trying to create tensor with negative dimension " + s + ": " + str(shape));
            }
            empty |= s == 0;
        }
        if (empty) {
            long stride = 1;
            for (int d = shape.length - 1; d > 0; d--) {
                stride *= Math.max(shape[d], 1);
                if (stride > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("an empty tensor of shape " + str(shape) + " would need strides past "
                            + Integer.MAX_VALUE + " (Integer.MAX_VALUE), which Lanes does not support");
                }
            }
            return 0;
        }
        long n = 1;
        for (int s : shape) {
            n *= s;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor of shape " + str(shape) + " would have more than "
                        + Integer.MAX_VALUE + " (Integer.MAX_VALUE) elements, which Lanes does not support");
            }
        }
        return (int) n;
    }

    static int[] contiguousStrides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            st[d] = s;
            s *= Math.max(shape[d], 1);
        }
        return st;
    }

    /** Normalizes a possibly negative dim for a tensor of {@code ndim} dims (a 0-d tensor accepts -1 and 0). */
    static int wrapDim(int dim, int ndim) {
        int n = Math.max(ndim, 1);
        if (dim < -n || dim >= n) {
            throw new IndexOutOfBoundsException("Dimension out of range (expected to be in range of [" + (-n) + ", "
                    + (n - 1) + "], but got " + dim + ")");
        }
        return dim < 0 ? dim + n : dim;
    }

    /** The broadcast shape of a and b, or PyTorch's message naming the first mismatching dimension. */
    static int[] broadcast(int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = n - 1; i >= 0; i--) {
            int ai = i - (n - a.length);
            int bi = i - (n - b.length);
            int sa = ai >= 0 ? a[ai] : 1;
            int sb = bi >= 0 ? b[bi] : 1;
            if (sa != sb && sa != 1 && sb != 1) {
                throw new IllegalArgumentException("The size of tensor a (" + sa + ") must match the size of tensor b ("
                        + sb + ") at non-singleton dimension " + i + " (shapes " + str(a) + " and " + str(b) + ")");
            }
            out[i] = sa == 1 ? sb : sa;
        }
        return out;
    }

    /**
     * Strides that read a tensor of {@code shape}/{@code strides} as if expanded to {@code target}
     * (0 on broadcast dims). The caller has checked broadcastability.
     */
    static int[] broadcastStrides(int[] shape, int[] strides, int[] target) {
        int[] out = new int[target.length];
        int lead = target.length - shape.length;
        for (int i = 0; i < shape.length; i++) {
            out[lead + i] = shape[i] == 1 && target[lead + i] != 1 ? 0 : strides[i];
        }
        return out;
    }

    /** Replaces one -1 by the size that keeps {@code numel}; checks the product. */
    static int[] inferSize(int[] shape, int numel) {
        int[] out = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("only one dimension can be inferred (shape " + str(shape) + ")");
                }
                infer = i;
            } else if (out[i] < 0) {
                throw new IllegalArgumentException("invalid shape dimension " + out[i] + " in " + str(shape));
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException("shape '" + str(shape) + "' is invalid for input of size " + numel);
            }
            out[infer] = (int) (numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException("shape '" + str(shape) + "' is invalid for input of size " + numel);
        }
        return out;
    }

    /**
     * Strides that let a tensor of {@code oldShape}/{@code oldStrides} be viewed as {@code newShape} without
     * copying, or null when some new dimension would span two non-contiguous chunks (ATen's computeStride).
     */
    static int[] viewStrides(int[] oldShape, int[] oldStrides, int[] newShape) {
        int[] newStrides = new int[newShape.length];
        long numel = 1;
        for (int s : oldShape) {
            numel *= s;
        }
        if (oldShape.length == 0 || numel == 0) {
            return contiguousStrides(newShape);
        }
        int viewD = newShape.length - 1;
        long chunkBaseStride = oldStrides[oldStrides.length - 1];
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
            tensorNumel *= oldShape[tensorD];
            if (tensorD == 0 || (oldShape[tensorD - 1] != 1 && oldStrides[tensorD - 1] != tensorNumel * chunkBaseStride)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    newStrides[viewD] = (int) (viewNumel * chunkBaseStride);
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (tensorD > 0) {
                    chunkBaseStride = oldStrides[tensorD - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }

    /** {@code {outer, r, inner}}: the element counts before, along and after {@code dim} (a 0-d shape is {1, 1, 1}). */
    static int[] splitAround(int[] shape, int dim) {
        if (shape.length == 0) {
            return new int[] {1, 1, 1};
        }
        int outer = 1;
        int inner = 1;
        for (int i = 0; i < dim; i++) {
            outer *= shape[i];
        }
        for (int i = dim + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        return new int[] {outer, shape[dim], inner};
    }
}
