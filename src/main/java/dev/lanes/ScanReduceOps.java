package dev.lanes;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.VectorMath;

/**
 * cumsum, logsumexp and prod (forwards and backward rules), computed by sequential loops over row-major arrays
 * ({@link HostOps}): each slice along the dim in index order, sums and products accumulated in double and rounded
 * once (PyTorch's CPU cumsum also accumulates a float tensor in double), so the results do not depend on the vector
 * width or the thread count. No plan step: tracing refuses them. exp and log are {@link VectorMath}'s.
 */
final class ScanReduceOps {
    private ScanReduceOps() {
    }

    // ---- cumsum ----

    /** {@code torch.cumsum(x, dim)}: running sums along dim. */
    static Tensor cumsum(Tensor x, int dim) {
        x.requireFloat("cumsum");
        Tracer.checkNoPlanStep("cumsum");
        int[] shape = x.shape();
        int d = Shapes.wrapDim(dim, shape.length);
        int[] s = HostOps.split(shape, d);
        Tensor out = HostOps.floatTensor(scan(HostOps.floats(x), s[0], s[1], s[2], false), shape);
        return Tensor.record(out, () -> new CumsumBackward0(shape, d), x);
    }

    /** Running sums along the middle dim of outer x r x inner, forwards or from the end ({@code reversed}). */
    static float[] scan(float[] v, int outer, int r, int inner, boolean reversed) {
        float[] out = new float[v.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double acc = 0;
                for (int k = 0; k < r; k++) {
                    int j = reversed ? r - 1 - k : k;
                    int at = (o * r + j) * inner + i;
                    acc += v[at];
                    out[at] = (float) acc;
                }
            }
        }
        return out;
    }

    /** cumsum: the gradient summed from the end (PyTorch's reversed_cumsum). */
    static final class CumsumBackward0 extends Node {
        private final int[] shape;
        private final int dim;

        CumsumBackward0(int[] shape, int dim) {
            this.shape = shape;
            this.dim = dim;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            int[] s = HostOps.split(shape, dim);
            return new Tensor[] {HostOps.floatTensor(scan(HostOps.floats(g), s[0], s[1], s[2], true), shape)};
        }
    }

    // ---- logsumexp ----

    /**
     * {@code torch.logsumexp(x, dim, keepdim)}: {@code log(sum(exp(x - m))) + m} with m the slice's max, taken as 0
     * when infinite (PyTorch's rule): a slice of -inf gives -inf, one holding +inf gives +inf, NaN propagates; an
     * empty slice gives -inf (log of an empty sum).
     */
    static Tensor logsumexp(Tensor x, int dim, boolean keepdim) {
        x.requireFloat("logsumexp");
        Tracer.checkNoPlanStep("logsumexp");
        int[] shape = x.shape();
        int d = Shapes.wrapDim(dim, shape.length);
        int[] s = HostOps.split(shape, d);
        int outer = s[0];
        int r = s[1];
        int inner = s[2];
        float[] v = HostOps.floats(x);
        float[] out = new float[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                float m = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < r; k++) {
                    float e = v[(o * r + k) * inner + i];
                    if (Float.isNaN(e) || e > m) {
                        m = e;
                        if (Float.isNaN(e)) {
                            break;
                        }
                    }
                }
                if (Float.isInfinite(m)) {
                    m = 0f;
                }
                double sum = 0;
                for (int k = 0; k < r; k++) {
                    sum += VectorMath.exp(v[(o * r + k) * inner + i] - m);
                }
                out[o * inner + i] = VectorMath.log((float) sum) + m;
            }
        }
        Tensor result = HostOps.floatTensor(out, HostOps.reducedShape(shape, d, keepdim));
        return Tensor.record(result, () -> new LogsumexpBackward0(x, result, d, keepdim), x);
    }

    /** logsumexp: {@code g * exp(x - result)}, the result broadcast back along dim (NaN where both are -inf, as PyTorch). */
    static final class LogsumexpBackward0 extends Node {
        private final Saved input;
        private final Saved result;
        private final int dim;

        LogsumexpBackward0(Tensor input, Tensor result, int dim, boolean keepdim) {
            this.input = save(input, "argument 0");
            this.result = save(result, "output 0");
            this.dim = dim;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            int[] shape = x.shape();
            int[] s = HostOps.split(shape, dim);
            int outer = s[0];
            int r = s[1];
            int inner = s[2];
            float[] xv = HostOps.floats(x);
            float[] res = HostOps.floats(result.get());
            float[] gv = HostOps.floats(g);
            float[] dx = new float[xv.length];
            for (int o = 0; o < outer; o++) {
                for (int k = 0; k < r; k++) {
                    for (int i = 0; i < inner; i++) {
                        int at = (o * r + k) * inner + i;
                        dx[at] = gv[o * inner + i] * VectorMath.exp(xv[at] - res[o * inner + i]);
                    }
                }
            }
            return new Tensor[] {HostOps.floatTensor(dx, shape)};
        }
    }

    // ---- prod ----

    /** {@code torch.prod(x)} ({@code dim} null: all elements, a 0-d result) or {@code torch.prod(x, dim, keepdim)}. */
    static Tensor prod(Tensor x, Integer dim, boolean keepdim) {
        x.requireFloat("prod");
        Tracer.checkNoPlanStep("prod");
        int[] shape = x.shape();
        Integer d = dim == null ? null : Shapes.wrapDim(dim, shape.length);
        int[] s = d == null ? new int[] {1, x.numel(), 1} : HostOps.split(shape, d);
        float[] v = HostOps.floats(x);
        float[] out = new float[s[0] * s[2]];
        for (int o = 0; o < s[0]; o++) {
            for (int i = 0; i < s[2]; i++) {
                double p = 1;
                for (int k = 0; k < s[1]; k++) {
                    p *= v[(o * s[1] + k) * s[2] + i];
                }
                out[o * s[2] + i] = (float) p;
            }
        }
        Tensor result = HostOps.floatTensor(out, d == null ? new int[0] : HostOps.reducedShape(shape, d, keepdim));
        return Tensor.record(result, () -> new ProdBackward(x, result, d), x);
    }

    /**
     * prod: PyTorch's prod_backward. Without a zero in the input, {@code g * result / x}; with zeros (anywhere in the
     * input), each element's gradient is g times the product of the other elements of its slice (exclusive products
     * from both ends, PyTorch's prod_safe_zeros_backward), which is 0 for every element of a slice with two zeros.
     */
    static final class ProdBackward extends Node {
        private final Saved input;
        private final Saved result;
        private final Integer dim;

        ProdBackward(Tensor input, Tensor result, Integer dim) {
            this.input = save(input, "argument 0");
            this.result = save(result, "result");
            this.dim = dim;
        }

        @Override
        public String name() {
            return dim == null ? "ProdBackward0" : "ProdBackward1";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            int[] shape = x.shape();
            int[] s = dim == null ? new int[] {1, x.numel(), 1} : HostOps.split(shape, dim);
            int outer = s[0];
            int r = s[1];
            int inner = s[2];
            float[] xv = HostOps.floats(x);
            float[] res = HostOps.floats(result.get());
            float[] gv = HostOps.floats(g);
            boolean zeros = false;
            for (float e : xv) {
                zeros |= e == 0;
            }
            float[] dx = new float[xv.length];
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    float gi = gv[o * inner + i];
                    if (!zeros) {
                        float ri = res[o * inner + i];
                        for (int k = 0; k < r; k++) {
                            int at = (o * r + k) * inner + i;
                            dx[at] = gi * (ri / xv[at]);
                        }
                        continue;
                    }
                    double left = 1;
                    float[] before = new float[r]; // product of the elements before k, as a float (PyTorch's cumprod)
                    for (int k = 0; k < r; k++) {
                        before[k] = (float) left;
                        left *= xv[(o * r + k) * inner + i];
                    }
                    double right = 1;
                    for (int k = r - 1; k >= 0; k--) {
                        int at = (o * r + k) * inner + i;
                        dx[at] = gi * (before[k] * (float) right);
                        right *= xv[at];
                    }
                }
            }
            return new Tensor[] {HostOps.floatTensor(dx, shape)};
        }
    }
}
