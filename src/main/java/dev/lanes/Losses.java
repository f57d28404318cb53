package dev.lanes;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Node;
import dev.lanes.kernels.ClassificationLoss;
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
        if (!(eps >= 0 && eps <= 1)) { // NaN too (it made every loss NaN)
            throw new IllegalArgumentException(op + ": label_smoothing must be between 0.0 and 1.0. Got: " + eps);
        }
        Classes k = Classes.of(op, input, target, weight);
        if (weight != null) {
            weight.requireFloat(op);
        }
        int red = reduction(r);
        Tensor out = Tensor.allocate(DType.FLOAT32, r == Reduction.NONE && k.batched() ? new int[] {k.n()} : new int[0]);
        launchContiguous(c -> Launch.runOptional(refs -> new PlanStep.Classification(logits, k.n(), k.c(), ignoreIndex, eps, red, null,
                refs[0], refs[1], refs[2]), out, c), input, target, weight);
        return Tensor.record(out, () -> new ClassificationBackward(logits, input, target, weight, ignoreIndex, eps, r, k), input);
    }

    /** Runs {@code launch} over contiguous versions of the operands (nulls stay null); temporary copies are closed after. */
    private static Tensor launchContiguous(java.util.function.Function<Tensor[], Tensor> launch, Tensor... operands) {
        Tensor[] c = new Tensor[operands.length];
        try (Autograd.Mode m = Autograd.noGrad()) {
            for (int i = 0; i < c.length; i++) {
                c[i] = operands[i] == null ? null : operands[i].contiguous();
            }
            return launch.apply(c);
        } finally {
            for (int i = 0; i < c.length; i++) {
                if (c[i] != null && c[i] != operands[i]) {
                    c[i].close();
                }
            }
        }
    }

    private static int reduction(Reduction r) {
        return switch (r) {
            case NONE -> ClassificationLoss.NONE;
            case MEAN -> ClassificationLoss.MEAN;
            case SUM -> ClassificationLoss.SUM;
        };
    }

    static final class ClassificationBackward extends Node {
        private final boolean logits;
        private final Saved input;
        private final Saved target;
        private final Saved weight;
        private final int ignoreIndex;
        private final double eps;
        private final Reduction reduction;
        private final Classes k;

        ClassificationBackward(boolean logits, Tensor input, Tensor target, Tensor weight, int ignoreIndex, double eps, Reduction reduction, Classes k) {
            this.logits = logits;
            this.input = logits ? save(input, "argument 0") : null;
            this.target = save(target, "target");
            this.weight = weight == null ? null : save(weight, "weight");
            this.ignoreIndex = ignoreIndex;
            this.eps = eps;
            this.reduction = reduction;
            this.k = k;
        }

        @Override
        public String name() {
            // with label smoothing PyTorch adds the smoothing term to nll_loss: the last op is an add
            return eps > 0 ? "AddBackward0" : "NllLossBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor dx = Tensor.allocate(DType.FLOAT32, k.batched() ? new int[] {k.n(), k.c()} : new int[] {k.c()});
            int red = reduction(reduction);
            Tensor x = input == null ? null : input.get();
            Tensor w = weight == null ? null : weight.get();
            launchContiguous(c -> Launch.runOptional(refs -> new PlanStep.Classification(logits, k.n(), k.c(), ignoreIndex, eps, red,
                    refs[0], refs[1], refs[2], refs[3]), dx, c), g, x, target.get(), w);
            return new Tensor[] {dx};
        }
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
        // PyTorch scales the loss in place: a weight that broadcasts it larger is refused (here it enlarged the loss, and
        // the input's gradient took the larger shape)
        for (Tensor scale : new Tensor[] {weight, posWeight}) {
            if (scale != null && !Arrays.equals(Shapes.broadcast(input.shapeRef(), scale.shapeRef()), input.shapeRef())) {
                throw new IllegalArgumentException("binary_cross_entropy_with_logits: output with shape " + Shapes.str(input.shapeRef())
                        + " doesn't match the broadcast shape " + Shapes.str(Shapes.broadcast(input.shapeRef(), scale.shapeRef()))
                        + " (" + (scale == weight ? "weight" : "pos_weight") + " of shape " + Shapes.str(scale.shapeRef()) + ")");
            }
        }
        Tensor out;
        try (MemoryScopeLocal s = new MemoryScopeLocal(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor loss;
            if (posWeight == null) {
                // PyTorch's order: ((1 - y) x + max(-x, 0)) + log(1 + exp(-|x|)); the first two cancel exactly for a
                // confident negative, so the small log term survives (added to |x| first, it was lost: 0 at x = -15)
                loss = target.rsub(1).mul(input).add(input.neg().clampMin(0)).add(input.abs().neg().exp().add(1).log());
            } else {
                Tensor lw = posWeight.sub(1).mul(target).add(1);
                loss = target.rsub(1).mul(input).add(lw.mul(softplusNeg(input)));
            }
            if (weight != null) {
                loss = loss.mul(weight);
            }
            out = s.keep(r == Reduction.NONE ? loss.clone() : reduce(loss, r));
        }
        Tensor.record(out, () -> new BceWithLogitsBackward(input, target, weight, posWeight, r), input, target);
        return out;
    }

    /** d/dx = (lw sigmoid(x) - pw y) * weight (sigmoid(x) - y without pos_weight); d/dy = (-x + (pw - 1) softplus(-x)) * weight. */
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
                long count = reduction == Reduction.MEAN ? Math.max(x.numel(), 1) : 1;
                Tensor pw = posWeight == null ? null : posWeight.get();
                // PyTorch's operations in its order (binary_cross_entropy_with_logits_backward and its target twin):
                // (sigmoid(x) - y) g, or ((pw y + 1 - y) sigmoid(x) - pw y) g, times the weight, divided by the count for
                // mean; (1 - y) - lw (1 - sigmoid(x)) would cancel to exactly 0 for x < -16.6
                Tensor sig = x.sigmoid();
                Tensor gi = null;
                if (needsInputGrad(0)) {
                    Tensor t = pw == null ? null : pw.mul(y);
                    gi = (pw == null ? sig.sub(y) : t.add(1).sub(y).mul(sig).sub(t)).mul(g);
                    if (weight != null) {
                        gi = gi.mul(weight.get());
                    }
                    gi = s.keep(count == 1 ? gi : gi.div(count));
                }
                Tensor gt = null;
                if (needsInputGrad(1)) {
                    // -x g; with pos_weight, (-x + (pw - 1) softplus(-x)) g (the loss holds + lw softplus(-x), lw = (pw - 1) y + 1)
                    gt = (pw == null ? x.neg() : x.neg().add(pw.sub(1).mul(softplusNeg(x)))).mul(g);
                    if (weight != null) {
                        gt = gt.mul(weight.get());
                    }
                    gt = s.keep(count == 1 ? gt : gt.div(count));
                }
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
