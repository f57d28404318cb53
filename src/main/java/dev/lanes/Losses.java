package dev.lanes;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Node;
import java.util.Arrays;

/**
 * The losses of {@code torch.nn.functional} (users call them through {@code dev.lanes.nn.functional.F} and the loss
 * modules): forward computed without a graph, then one node per loss with PyTorch's name and its closed-form
 * backward. Cross-entropy is one fused pass per row (max, log-sum-exp,
 * the loss terms; backward softmax minus the smoothed target), never materialising log-probabilities.
 * Tests: {@code NnGoldenTest} (PyTorch goldens).
 */
public final class Losses {
    private Losses() {
    }

    enum Reduction {
        NONE, MEAN, SUM;

        static Reduction of(String s) {
            return switch (s) {
                case "none" -> NONE;
                case "mean" -> MEAN;
                case "sum" -> SUM;
                default -> throw new IllegalArgumentException(s + " is not a valid value for reduction (use 'none', 'mean' or 'sum')");
            };
        }
    }

    private static Tensor reduce(Tensor elementwise, Reduction r) {
        return switch (r) {
            case NONE -> elementwise;
            case SUM -> elementwise.sum();
            case MEAN -> elementwise.mean();
        };
    }

    private static void sameShape(String op, Tensor input, Tensor target) {
        input.requireFloat(op);
        target.requireFloat(op);
        if (!Arrays.equals(input.shapeRef(), target.shapeRef())) {
            throw new IllegalArgumentException(op + ": target size " + target.size() + " is different to the input size " + input.size()
                    + "; broadcasting is not supported for losses");
        }
    }

    // ---- MSE and L1 ----

    /** Mean squared error; reduction "mean", "sum" or "none"; grad_fn MseLossBackward0. */
    public static Tensor mseLoss(Tensor input, Tensor target, String reduction) {
        return pointwise("mse_loss", "MseLossBackward0", input, target, Reduction.of(reduction), true);
    }

    /** Mean absolute error; grad_fn L1LossBackward0. */
    public static Tensor l1Loss(Tensor input, Tensor target, String reduction) {
        Reduction r = Reduction.of(reduction);
        // PyTorch 1.13 composes l1_loss from abs and mean/sum, so its grad_fn is the last of those
        String name = switch (r) {
            case MEAN -> "MeanBackward0";
            case SUM -> "SumBackward0";
            case NONE -> "AbsBackward0";
        };
        return pointwise("l1_loss", name, input, target, r, false);
    }

    private static Tensor pointwise(String op, String name, Tensor input, Tensor target, Reduction r, boolean squared) {
        sameShape(op, input, target);
        Tensor out;
        try (Autograd.Mode g = Autograd.noGrad(); Tensor diff = input.sub(target); Tensor e = squared ? diff.mul(diff) : diff.abs()) {
            out = r == Reduction.NONE ? e.clone() : reduce(e, r);
        }
        Tensor.record(out, () -> new PointwiseBackward(name, input, target, r, squared), input, target);
        return out;
    }

    /** MSE: d/dinput = 2 (input - target) g [/ n]; L1: sign(input - target) g [/ n]; d/dtarget = the negative. */
    static final class PointwiseBackward extends Node {
        private final String name;
        private final Saved input;
        private final Saved target;
        private final Reduction reduction;
        private final boolean squared;

        PointwiseBackward(String name, Tensor input, Tensor target, Reduction reduction, boolean squared) {
            this.name = name;
            this.input = save(input, "argument 0");
            this.target = save(target, "argument 1");
            this.reduction = reduction;
            this.squared = squared;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            double scale = reduction == Reduction.MEAN ? 1.0 / Math.max(x.numel(), 1) : 1.0;
            Tensor d;
            try (Tensor diff = x.sub(target.get())) {
                if (squared) {
                    d = diff.mul(2 * scale);
                } else {
                    try (Tensor pos = ArithmeticOps.Scalar.GT.apply(diff, 0); Tensor neg = ArithmeticOps.Scalar.LT.apply(diff, 0); Tensor sign = pos.sub(neg)) {
                        d = sign.mul(scale);
                    }
                }
            }
            Tensor gi;
            try (d) {
                gi = d.mul(g); // g is 0-d for mean/sum, elementwise for none
            }
            Tensor gt = needsInputGrad(1) ? gi.neg() : null;
            if (!needsInputGrad(0)) {
                gi.close();
                gi = null;
            }
            return new Tensor[] {gi, gt};
        }
    }

    // ---- cross-entropy and NLL ----

    /** Validated shapes of a classification loss: [N, C] scores with [N] int64 targets, or [C] with a 0-d target. */
    private record Classes(int n, int c, boolean batched) {
        static Classes of(String op, Tensor input, Tensor target, Tensor weight) {
            input.requireFloat(op);
            if (target.dtype() != DType.INT64) {
                throw new IllegalArgumentException(op + ": expected target of dtype int64 (class indices) but got " + target.dtype().torchName());
            }
            Classes k;
            if (input.dim() == 2) {
                if (target.dim() != 1 || target.size(0) != input.size(0)) {
                    throw new IllegalArgumentException(op + ": Expected input batch_size (" + input.size(0) + ") to match target batch_size ("
                            + (target.dim() == 0 ? "scalar" : target.size(0)) + "): input " + input.size() + ", target " + target.size());
                }
                k = new Classes(input.size(0), input.size(1), true);
            } else if (input.dim() == 1) {
                if (target.dim() != 0) {
                    throw new IllegalArgumentException(op + ": an unbatched input of shape " + input.size() + " needs a 0-d target, got " + target.size());
                }
                k = new Classes(1, input.size(0), false);
            } else {
                throw new IllegalArgumentException(op + ": expected input of shape [N, C] or [C] but got " + input.size()
                        + " (spatial inputs [N, C, d1, ...] are not supported yet)");
            }
            if (weight != null && (weight.dim() != 1 || weight.size(0) != k.c())) {
                throw new IllegalArgumentException(op + ": weight tensor should be defined either for all " + k.c()
                        + " classes or no classes but got weight tensor of shape: " + weight.size());
            }
            return k;
        }
    }

    private static long[] targets(Tensor target, Classes k, int ignoreIndex) {
        long[] t = target.toLongArray();
        for (long v : t) {
            if (v != ignoreIndex && (v < 0 || v >= k.c())) {
                throw new IndexOutOfBoundsException("Target " + v + " is out of bounds (" + k.c() + " classes)");
            }
        }
        return t;
    }

    /**
     * Cross-entropy of logits {@code [N, C]} (or {@code [C]}) against int64 class indices, fused log-softmax + NLL;
     * {@code weight} per class or null, {@code ignoreIndex} (PyTorch's default -100), label smoothing in [0, 1].
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, double labelSmoothing, String reduction) {
        return classification(true, input, target, weight, ignoreIndex, labelSmoothing, Reduction.of(reduction));
    }

    /** Negative log-likelihood of log-probabilities {@code [N, C]} against int64 class indices. */
    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, String reduction) {
        return classification(false, input, target, weight, ignoreIndex, 0, Reduction.of(reduction));
    }

    /**
     * One pass per row. With {@code logits} the row is turned into log-probabilities on the fly (max, log-sum-exp);
     * otherwise it already holds them (nll_loss). Loss of row i: {@code (1 - eps) w[t] (-logp[t]) + eps / C sum_c w[c] (-logp[c])};
     * mean divides by the summed weight of the non-ignored targets, as PyTorch does.
     */
    private static Tensor classification(boolean logits, Tensor input, Tensor target, Tensor weight, int ignoreIndex, double eps, Reduction r) {
        String op = logits ? "cross_entropy" : "nll_loss";
        if (eps < 0 || eps > 1) {
            throw new IllegalArgumentException(op + ": label_smoothing must be between 0.0 and 1.0. Got: " + eps);
        }
        Classes k = Classes.of(op, input, target, weight);
        long[] t = targets(target, k, ignoreIndex);
        float[] w = weight == null ? null : weight.toFloatArray();
        float[] x = input.toFloatArray();
        double[] rowLoss = new double[k.n()];
        double denominator = 0;
        for (int i = 0; i < k.n(); i++) {
            if (t[i] == ignoreIndex) {
                continue;
            }
            int base = i * k.c();
            double lse = logits ? logSumExp(x, base, k.c()) : 0;
            double wt = w == null ? 1 : w[(int) t[i]];
            double loss = (1 - eps) * wt * -(x[base + (int) t[i]] - lse);
            if (eps > 0) {
                double smooth = 0;
                for (int c = 0; c < k.c(); c++) {
                    smooth += (w == null ? 1 : w[c]) * -(x[base + c] - lse);
                }
                loss += eps / k.c() * smooth;
            }
            rowLoss[i] = loss;
            denominator += wt;
        }
        Tensor out;
        if (r == Reduction.NONE) {
            float[] v = new float[k.n()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rowLoss[i];
            }
            out = k.batched() ? Tensor.of(v) : Tensor.scalar(v[0]);
        } else {
            double total = 0;
            for (double l : rowLoss) {
                total += l;
            }
            // mean over zero weight (all targets ignored) is NaN, as in PyTorch
            out = Tensor.scalar(r == Reduction.SUM ? total : total / denominator);
        }
        double den = denominator;
        return Tensor.record(out, () -> new ClassificationBackward(logits, input, t, w, ignoreIndex, eps, r, den, k), input);
    }

    static final class ClassificationBackward extends Node {
        private final boolean logits;
        private final Saved input;
        private final long[] targets;
        private final float[] weight;
        private final int ignoreIndex;
        private final double eps;
        private final Reduction reduction;
        private final double denominator;
        private final Classes k;

        ClassificationBackward(boolean logits, Tensor input, long[] targets, float[] weight, int ignoreIndex, double eps, Reduction reduction,
                               double denominator, Classes k) {
            this.logits = logits;
            this.input = logits ? save(input, "argument 0") : null;
            this.targets = targets;
            this.weight = weight;
            this.ignoreIndex = ignoreIndex;
            this.eps = eps;
            this.reduction = reduction;
            this.denominator = denominator;
            this.k = k;
        }

        @Override
        public String name() {
            // with label smoothing PyTorch adds the smoothing term to nll_loss: the last op is an add
            return eps > 0 ? "AddBackward0" : "NllLossBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            float[] gv = g.toFloatArray();
            float[] x = logits ? input.get().toFloatArray() : null;
            float[] dx = new float[k.n() * k.c()];
            double wSum = 0;
            for (int c = 0; c < k.c(); c++) {
                wSum += weight == null ? 1 : weight[c];
            }
            for (int i = 0; i < k.n(); i++) {
                if (targets[i] == ignoreIndex) {
                    continue;
                }
                double up = switch (reduction) {
                    case NONE -> gv[i];
                    case SUM -> gv[0];
                    case MEAN -> gv[0] / denominator;
                };
                int base = i * k.c();
                int t = (int) targets[i];
                double wt = weight == null ? 1 : weight[t];
                if (logits) {
                    double lse = logSumExp(x, base, k.c());
                    for (int c = 0; c < k.c(); c++) {
                        double p = StrictMath.exp(x[base + c] - lse);
                        double wc = weight == null ? 1 : weight[c];
                        // (1 - eps) w[t] (p - [c == t]) + eps / C (W p - w[c])
                        double d = (1 - eps) * wt * (p - (c == t ? 1 : 0)) + eps / k.c() * (wSum * p - wc);
                        dx[base + c] = (float) (d * up);
                    }
                } else {
                    // nll_loss on log-probabilities: only the target column (and the smoothing term, unused here)
                    dx[base + t] = (float) (-wt * up);
                }
            }
            Tensor grad = k.batched() ? Tensor.of(dx, k.n(), k.c()) : Tensor.of(dx);
            return new Tensor[] {grad};
        }
    }

    /** log(sum(exp(x[base .. base + c)))), stable: the max is taken out first. */
    private static double logSumExp(float[] x, int base, int c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) {
            max = Math.max(max, x[base + i]);
        }
        double sum = 0;
        for (int i = 0; i < c; i++) {
            sum += StrictMath.exp(x[base + i] - max);
        }
        return max + StrictMath.log(sum);
    }

    /** softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0), without overflow for any x. */
    private static Tensor softplusNeg(Tensor x) {
        return x.abs().neg().exp().add(1).log().add(x.neg().clampMin(0));
    }

    // ---- binary cross-entropy with logits ----

    /** Binary cross-entropy of logits, stable for any logit; {@code weight} and {@code posWeight} may be null. */
    public static Tensor bceWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, String reduction) {
        Reduction r = Reduction.of(reduction);
        sameShape("binary_cross_entropy_with_logits", input, target);
        Tensor out;
        try (MemoryScopeLocal s = new MemoryScopeLocal(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor lw = posWeight == null ? null : posWeight.sub(1).mul(target).add(1);
            Tensor softplusNeg = softplusNeg(input);
            Tensor loss = target.rsub(1).mul(input).add(lw == null ? softplusNeg : lw.mul(softplusNeg));
            if (weight != null) {
                loss = loss.mul(weight);
            }
            out = s.keep(r == Reduction.NONE ? loss.clone() : reduce(loss, r));
        }
        Tensor.record(out, () -> new BceWithLogitsBackward(input, target, weight, posWeight, r), input, target);
        return out;
    }

    /** d/dx = ((1 - y) - lw (1 - sigmoid(x))) * weight; d/dy = (-x - (pw - 1) softplus(-x)) * weight (pw = 1 without pos_weight). */
    static final class BceWithLogitsBackward extends Node {
        private final Saved input;
        private final Saved target;
        private final Saved weight;
        private final Saved posWeight;
        private final Reduction reduction;

        BceWithLogitsBackward(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Reduction reduction) {
            this.input = save(input, "argument 0");
            this.target = save(target, "argument 1");
            this.weight = weight == null ? null : save(weight, "weight");
            this.posWeight = posWeight == null ? null : save(posWeight, "pos_weight");
            this.reduction = reduction;
        }

        @Override
        public String name() {
            return "BinaryCrossEntropyWithLogitsBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            try (MemoryScopeLocal s = new MemoryScopeLocal()) {
                Tensor x = input.get();
                Tensor y = target.get();
                double scale = reduction == Reduction.MEAN ? 1.0 / Math.max(x.numel(), 1) : 1.0;
                Tensor pw = posWeight == null ? null : posWeight.get();
                Tensor lw = pw == null ? null : pw.sub(1).mul(y).add(1);
                Tensor oneMinusSig = x.sigmoid().rsub(1);
                Tensor dx = y.rsub(1).sub(lw == null ? oneMinusSig : lw.mul(oneMinusSig));
                Tensor dy = null;
                if (needsInputGrad(1)) {
                    dy = x.neg();
                    if (pw != null) {
                        Tensor softplusNeg = softplusNeg(x);
                        dy = dy.sub(pw.sub(1).mul(softplusNeg));
                    }
                }
                if (weight != null) {
                    dx = dx.mul(weight.get());
                    dy = dy == null ? null : dy.mul(weight.get());
                }
                Tensor gi = needsInputGrad(0) ? s.keep(dx.mul(g).mul(scale)) : null;
                Tensor gt = dy == null ? null : s.keep(dy.mul(g).mul(scale));
                return new Tensor[] {gi, gt};
            }
        }
    }

    /** A {@link dev.lanes.memory.MemoryScope} for the temporaries of one loss computation. */
    private static final class MemoryScopeLocal implements AutoCloseable {
        private final dev.lanes.memory.MemoryScope scope = dev.lanes.memory.MemoryScope.open();

        Tensor keep(Tensor t) {
            return scope.keep(t);
        }

        @Override
        public void close() {
            scope.close();
        }
    }
}
