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

    // ---- norm ----

    /**
     * {@code x.norm(p, dim, keepdim)} / {@code torch.linalg.vector_norm(x, p, dim, keepdim)} over all elements
     * ({@code dim} null, a 0-d result) or one dim: p = inf (largest |x|; NaN propagates), -inf (smallest), 0 (the
     * count of nonzeros), 1, 2 (sqrt of the sum of squares) and any other p ({@code (sum |x|^p)^(1/p)}, powers by
     * {@link VectorMath#pow(float, float)}); sums in double, rounded once.
     */
    static Tensor norm(Tensor x, double p, Integer dim, boolean keepdim) {
        x.requireFloat("norm");
        if (Double.isNaN(p)) {
            throw new IllegalArgumentException("linalg.vector_norm: the order p must be a number, got nan");
        }
        Tracer.checkNoPlanStep("norm");
        int[] shape = x.shape();
        Integer d = dim == null ? null : Shapes.wrapDim(dim, shape.length);
        int[] s = d == null ? new int[] {1, x.numel(), 1} : HostOps.split(shape, d);
        if (s[1] == 0 && (p < 0 || p == Double.POSITIVE_INFINITY)) {
            String order = Double.isInfinite(p) ? (p > 0 ? "inf" : "-inf") : p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
            throw new IllegalArgumentException("linalg.vector_norm cannot compute the " + order + " norm on "
                    + (d == null ? "an empty tensor" : "the dimension " + dim) + " because this dimension is empty and the operation does not"
                    + " have an identity");
        }
        float[] v = HostOps.floats(x);
        float[] out = new float[s[0] * s[2]];
        float pf = (float) p;
        for (int o = 0; o < s[0]; o++) {
            for (int i = 0; i < s[2]; i++) {
                double acc = p == Double.NEGATIVE_INFINITY ? Double.POSITIVE_INFINITY : 0;
                for (int k = 0; k < s[1]; k++) {
                    float a = Math.abs(v[(o * s[1] + k) * s[2] + i]);
                    if (Float.isNaN(a)) {
                        acc = Double.NaN;
                        break;
                    }
                    if (p == Double.POSITIVE_INFINITY) {
                        acc = Math.max(acc, a);
                    } else if (p == Double.NEGATIVE_INFINITY) {
                        acc = Math.min(acc, a);
                    } else if (p == 0) {
                        acc += a != 0 ? 1 : 0;
                    } else if (p == 1) {
                        acc += a;
                    } else if (p == 2) {
                        acc += (double) a * a;
                    } else {
                        acc += VectorMath.pow(a, pf);
                    }
                }
                float r;
                if (Double.isInfinite(p) || p == 0 || p == 1 || Double.isNaN(acc)) {
                    r = (float) acc;
                } else if (p == 2) {
                    r = (float) Math.sqrt(acc);
                } else {
                    r = VectorMath.pow((float) acc, (float) (1 / p));
                }
                out[o * s[2] + i] = r;
            }
        }
        Tensor result = HostOps.floatTensor(out, d == null ? new int[0] : HostOps.reducedShape(shape, d, keepdim));
        return Tensor.record(result, () -> new NormBackward1(x, result, p, d), x);
    }

    /**
     * norm: PyTorch 1.13's norm_backward. p = 0: zero; 1: g sgn(x); 2: g x / norm (0 where the norm is 0: the zero
     * vector's subgradient); +-inf: g sgn(x) shared by the elements at the extremum (or NaN); p < 1:
     * {@code g sgn(x) |x|^(p-1) norm^(1-p)} (0 at x = 0); otherwise {@code g sgn(x) |x|^(p-1) / norm^(p-1)} (0 where the
     * norm is 0).
     */
    static final class NormBackward1 extends Node {
        private final Saved input;
        private final Saved result;
        private final double p;
        private final Integer dim;

        NormBackward1(Tensor input, Tensor result, double p, Integer dim) {
            this.input = save(input, "argument 0");
            this.result = save(result, "result");
            this.p = p;
            this.dim = dim;
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
            float[] nv = HostOps.floats(result.get());
            float[] gv = HostOps.floats(g);
            float[] dx = new float[xv.length];
            float pf = (float) p;
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    float gi = gv[o * inner + i];
                    float n = nv[o * inner + i];
                    int ties = 0;
                    if (Double.isInfinite(p)) {
                        for (int k = 0; k < r; k++) {
                            float a = Math.abs(xv[(o * r + k) * inner + i]);
                            ties += a == n || Float.isNaN(a) ? 1 : 0;
                        }
                    }
                    for (int k = 0; k < r; k++) {
                        int at = (o * r + k) * inner + i;
                        float e = xv[at];
                        float a = Math.abs(e);
                        float sgn = e > 0 ? 1f : e < 0 ? -1f : Float.isNaN(e) ? e : 0f;
                        float d;
                        if (p == 0) {
                            d = 0f;
                        } else if (p == 1) {
                            d = sgn * gi;
                        } else if (p == 2) {
                            d = n == 0 ? 0f : gi * (e / n);
                        } else if (Double.isInfinite(p)) {
                            d = a == n || Float.isNaN(a) ? sgn * (gi / ties) : 0f * sgn;
                        } else if (p < 1) {
                            float scaled = e == 0 ? 0f : sgn * VectorMath.pow(a, pf - 1);
                            d = scaled * gi * VectorMath.pow(n, 1 - pf);
                        } else {
                            float scale = n == 0 ? 0f : gi / VectorMath.pow(n, pf - 1);
                            d = (p < 2 ? sgn * VectorMath.pow(a, pf - 1) : e * VectorMath.pow(a, pf - 2)) * scale;
                        }
                        dx[at] = d;
                    }
                }
            }
            return new Tensor[] {HostOps.floatTensor(dx, shape)};
        }
    }
}
