package dev.lanes;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Node;
import dev.lanes.kernels.ClassificationLoss;
import java.util.Arrays;

/**
 * The losses of {@code torch.nn.functional} (users call them through {@code dev.lanes.nn.functional.F} and the loss
 * modules): forward computed without a graph, then one node per loss with PyTorch's name and its closed-form
 * backward. Cross-entropy is one fused pass per row (max, log-sum-exp,
 * the loss terms; backward softmax minus the smoothed target), never materialising log-probabilities; spatial
 * inputs {@code [N, C, d1, ..., dK]} go through it with the class dim moved last. Cross-entropy against class
 * probabilities and KL divergence are PyTorch's compositions of differentiable ops; binary cross-entropy, smooth L1
 * and Huber compute their forward from ops and have PyTorch's fused backward.
 * Tests: {@code NnGoldenTest}, {@code LossGoldenTest} (PyTorch goldens), {@code LossErrorTest}, {@code LossTrainStepTest}.
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

    /**
     * Validated shapes of a classification loss: [N, C] scores with [N] int64 targets, [C] with a 0-d target, or
     * spatial [N, C, d1, ..., dK] scores with [N, d1, ..., dK] targets (segmentation). {@code n} counts the rows the
     * kernel sees (N, or N d1 ... dK: the positions, each with its C scores); {@code lossShape} is reduction 'none''s
     * result; {@code perm} (spatial only) moves the class dim last, so each position's scores are one contiguous row.
     */
    private record Classes(int n, int c, boolean batched, int dim, int[] lossShape, int[] perm) {
        boolean spatial() {
            return perm != null;
        }

        static Classes of(String op, Tensor input, Tensor target, Tensor weight) {
            input.requireFloat(op);
            if (target.dtype() != DType.INT64) {
                throw new IllegalArgumentException(op + ": expected target of dtype int64 (class indices) but got " + target.dtype().torchName());
            }
            Classes k;
            int[] in = input.shapeRef();
            if (input.dim() == 2) {
                if (target.dim() != 1 || target.size(0) != input.size(0)) {
                    throw new IllegalArgumentException(op + ": Expected input batch_size (" + input.size(0) + ") to match target batch_size ("
                            + (target.dim() == 0 ? "scalar" : target.size(0)) + "): input " + input.size() + ", target " + target.size());
                }
                k = new Classes(input.size(0), input.size(1), true, 2, new int[] {input.size(0)}, null);
            } else if (input.dim() == 1) {
                if (target.dim() != 0) {
                    throw new IllegalArgumentException(op + ": an unbatched input of shape " + input.size() + " needs a 0-d target, got " + target.size());
                }
                k = new Classes(1, input.size(0), false, 1, new int[0], null);
            } else if (input.dim() >= 3) {
                // PyTorch's checks in its order (nll_loss_nd, then nll_loss2d for 4-d input)
                if (target.dim() == 0 || target.size(0) != in[0]) {
                    throw new IllegalArgumentException(op + ": Expected input batch_size (" + in[0] + ") to match target batch_size ("
                            + (target.dim() == 0 ? "scalar" : target.size(0)) + "): input " + input.size() + ", target " + target.size());
                }
                int[] expected = new int[in.length - 1];
                expected[0] = in[0];
                System.arraycopy(in, 2, expected, 1, in.length - 2);
                if (input.dim() == 4 && target.dim() != 3) {
                    throw new IllegalArgumentException(op + ": only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                            + target.dim() + " (input " + input.size() + ", target " + target.size() + ")");
                }
                if (!Arrays.equals(expected, target.shapeRef())) {
                    throw new IllegalArgumentException(op + ": " + (input.dim() == 4
                            ? "size mismatch (got input: " + Shapes.str(in) + " , target: " + Shapes.str(target.shapeRef()) + ")"
                            : "Expected target size " + Shapes.str(expected) + ", got " + Shapes.str(target.shapeRef())));
                }
                int[] perm = new int[in.length];
                for (int d = 2; d < in.length; d++) {
                    perm[d - 1] = d;
                }
                perm[in.length - 1] = 1;
                k = new Classes(Math.toIntExact(target.numel()), in[1], true, in.length, expected, perm);
            } else {
                throw new IllegalArgumentException(op + ": Expected 1 or more dimensions (got 0)");
            }
            if (weight != null && (weight.dim() != 1 || weight.size(0) != k.c())) {
                throw new IllegalArgumentException(op + ": weight tensor should be defined either for all " + k.c()
                        + " classes or no classes but got weight tensor of shape: " + Shapes.str(weight.shapeRef()));
            }
            return k;
        }

        /** The class dim back where it was: the inverse of {@code perm}. */
        int[] inverse() {
            int[] inv = new int[perm.length];
            for (int i = 0; i < perm.length; i++) {
                inv[perm[i]] = i;
            }
            return inv;
        }
    }

    /**
     * Cross-entropy of logits {@code [N, C]} (or {@code [C]}) against int64 class indices, fused log-softmax + NLL;
     * {@code weight} per class or null, {@code ignoreIndex} (PyTorch's default -100), label smoothing in [0, 1].
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, double labelSmoothing, String reduction) {
        Reduction r = Reduction.of(reduction);
        if (input.dim() > 0 && Arrays.equals(input.shapeRef(), target.shapeRef())) {
            // a target of the input's shape holds class probabilities (PyTorch >= 1.10)
            if (!target.dtype().isFloatingPoint()) {
                throw new IllegalArgumentException("cross_entropy: Expected floating point type for target with class probabilities, got "
                        + (target.dtype() == DType.INT64 ? "Long" : "Bool") + " (input and target both of shape " + Shapes.str(input.shapeRef()) + ")");
            }
            if (ignoreIndex >= 0) {
                throw new IllegalArgumentException("cross_entropy: ignore_index is not supported for floating point target (got ignore_index "
                        + ignoreIndex + ")");
            }
            return probabilityTargets(input, target, weight, labelSmoothing, r);
        }
        return classification(true, input, target, weight, ignoreIndex, labelSmoothing, r);
    }

    /**
     * Cross-entropy against class probabilities, PyTorch's composition in its order: {@code -(log_softmax(x) * y' * w).sum()}
     * over the class dim (none) or everything (sum), divided by the positions {@code numel / C} for mean (NaN when
     * empty); {@code y' = y (1 - eps) + eps / C}. Gradients reach the input and the target through the ops.
     */
    private static Tensor probabilityTargets(Tensor input, Tensor target, Tensor weight, double eps, Reduction r) {
        String op = "cross_entropy";
        input.requireFloat(op);
        target.requireFloat(op);
        if (!(eps >= 0 && eps <= 1)) {
            throw new IllegalArgumentException(op + ": label_smoothing must be between 0.0 and 1.0. Got: " + eps);
        }
        int classDim = input.dim() == 1 ? 0 : 1;
        int c = input.size(classDim);
        if (weight != null) {
            weight.requireFloat(op);
            if (weight.dim() != 1 || weight.size(0) != c) {
                throw new IllegalArgumentException(op + ": weight tensor should be defined either for all " + c
                        + " classes or no classes but got weight tensor of shape: " + Shapes.str(weight.shapeRef()));
            }
        }
        try (MemoryScopeLocal s = new MemoryScopeLocal()) {
            Tensor logp = input.logSoftmax(classDim);
            Tensor y = eps > 0 ? target.mul(1 - eps).add(eps / c) : target;
            Tensor prod = logp.mul(y);
            if (weight != null) {
                int[] b = new int[input.dim()];
                Arrays.fill(b, 1);
                b[classDim] = c;
                prod = prod.mul(weight.view(b));
            }
            return s.keep(switch (r) {
                case NONE -> prod.sum(classDim).neg();
                case SUM -> prod.sum().neg();
                case MEAN -> {
                    if (input.numel() == 0) {
                        // PyTorch fills the negated (empty) sum with NaN in place: the node stays NegBackward0
                        Tensor sum = prod.sum();
                        Tensor nan;
                        try (Autograd.Mode g = Autograd.noGrad()) {
                            nan = Tensor.scalar(Float.NaN);
                        }
                        yield Tensor.record(nan, () -> new ArithmeticOps.ScaledBackward("NegBackward0", -1, 1), sum, null);
                    }
                    Tensor total = prod.sum().neg();
                    double positions = (double) (input.numel() / c);
                    Tensor out;
                    try (Autograd.Mode g = Autograd.noGrad()) {
                        out = total.div(positions);
                    }
                    // PyTorch divides by an integer Scalar (div.Scalar): DivBackward1
                    yield Tensor.record(out, () -> new ArithmeticOps.ScaledBackward("DivBackward1", 1, positions), total, null);
                }
            });
        }
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
        Tensor out = Tensor.allocate(DType.FLOAT32, r == Reduction.NONE ? k.lossShape() : new int[0]);
        // spatial scores are read as rows of C: the class dim moved last (a copy; any layout the input has)
        try (Autograd.Mode m = Autograd.noGrad(); Tensor rows = k.spatial() ? input.permute(k.perm()) : null) {
            launchContiguous(c -> Launch.runOptional(refs -> new PlanStep.Classification(logits, k.n(), k.c(), ignoreIndex, eps, red, null,
                    refs[0], refs[1], refs[2]), out, c), rows != null ? rows : input, target, weight);
        }
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
            // with label smoothing PyTorch adds the smoothing term to nll_loss: the last op is an add; spatial inputs go
            // through nll_loss2d, 3-d and 5-d+ ones viewed as 4-d (reduction 'none' views the loss back)
            if (eps > 0) {
                return "AddBackward0";
            }
            if (k.spatial()) {
                return k.dim() == 4 || reduction != Reduction.NONE ? "NllLoss2DBackward0" : "ViewBackward0";
            }
            return "NllLossBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            int red = reduction(reduction);
            Tensor x = input == null ? null : input.get();
            Tensor w = weight == null ? null : weight.get();
            if (!k.spatial()) {
                Tensor dx = Tensor.allocate(DType.FLOAT32, k.batched() ? new int[] {k.n(), k.c()} : new int[] {k.c()});
                launchContiguous(c -> Launch.runOptional(refs -> new PlanStep.Classification(logits, k.n(), k.c(), ignoreIndex, eps, red,
                        refs[0], refs[1], refs[2], refs[3]), dx, c), g, x, target.get(), w);
                return new Tensor[] {dx};
            }
            // the rows' gradient [N, d1, ..., dK, C], then the class dim moved back (a copy, contiguous)
            int[] rowShape = new int[k.dim()];
            System.arraycopy(k.lossShape(), 0, rowShape, 0, k.dim() - 1);
            rowShape[k.dim() - 1] = k.c();
            try (Autograd.Mode m = Autograd.noGrad(); Tensor rows = x == null ? null : x.permute(k.perm());
                 Tensor dRows = Tensor.allocate(DType.FLOAT32, rowShape)) {
                launchContiguous(c -> Launch.runOptional(refs -> new PlanStep.Classification(logits, k.n(), k.c(), ignoreIndex, eps, red,
                        refs[0], refs[1], refs[2], refs[3]), dRows, c), g, rows, target.get(), w);
                try (Tensor back = dRows.permute(k.inverse())) {
                    return new Tensor[] {back.clone()};
                }
            }
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

    // ---- binary cross-entropy on probabilities, smooth L1, Huber, KL divergence ----

    /** The derivative of one elementwise loss term with respect to one operand, before the incoming gradient. */
    private interface Derivative {
        Tensor of(Tensor x, Tensor y);
    }

    private static Tensor reduced(Tensor elementwise, Reduction r) {
        return r == Reduction.NONE ? elementwise.clone() : reduce(elementwise, r);
    }

    /**
     * Binary cross-entropy of probabilities in [0, 1], like {@code F.binary_cross_entropy}: {@code -w (y log x + (1 - y) log(1 - x))}
     * with each log clamped at -100 (so x = 0 or 1 gives 100, not inf); {@code weight} (null or broadcasting to the
     * input's shape) scales each element. Eager calls refuse an input outside [0, 1] as PyTorch does; targets are not
     * checked (PyTorch 1.13 does not). grad_fn BinaryCrossEntropyBackward0.
     */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, String reduction) {
        String op = "binary_cross_entropy";
        Reduction r = Reduction.of(reduction);
        sameShape(op, input, target);
        if (weight != null) {
            weight.requireFloat(op);
            if (!Arrays.equals(Shapes.broadcast(input.shapeRef(), weight.shapeRef()), input.shapeRef())) {
                throw new IllegalArgumentException(op + ": the weight of shape " + Shapes.str(weight.shapeRef()) + " does not broadcast to the input's "
                        + Shapes.str(input.shapeRef()));
            }
        }
        if (Tracer.current() == null && input.numel() > 0) {
            // a traced step cannot read its input into Java: it computes the clamped loss unchecked
            try (Autograd.Mode g = Autograd.noGrad(); Tensor lo = input.min(); Tensor hi = input.max()) {
                float a = lo.item();
                float b = hi.item();
                if (!(a >= 0 && b <= 1)) {
                    throw new IllegalArgumentException(op + ": all elements of input should be between 0 and 1 (input " + input.size()
                            + " holds values from " + a + " to " + b + ")");
                }
            }
        }
        Tensor out;
        try (MemoryScopeLocal s = new MemoryScopeLocal(); Autograd.Mode g = Autograd.noGrad()) {
            // PyTorch's order: (y - 1) max(log(1 - x), -100) - y max(log x, -100)
            Tensor loss = target.sub(1).mul(input.rsub(1).log().clampMin(-100)).sub(target.mul(input.log().clampMin(-100)));
            if (weight != null) {
                loss = loss.mul(weight);
            }
            out = s.keep(reduced(loss, r));
        }
        // d/dx = (x - y) / max((1 - x) x, 1e-12); d/dy = -logit(x)
        return Tensor.record(out, () -> new ElementwiseBackward("BinaryCrossEntropyBackward0", input, target, weight, r,
                (x, y) -> x.sub(y).div(x.rsub(1).mul(x).clampMin(1e-12)),
                (x, y) -> x.div(x.rsub(1)).log().neg()), input, target);
    }

    /**
     * Smooth L1, like {@code F.smooth_l1_loss}: {@code 0.5 z^2 / beta} for {@code z = |x - y| < beta}, else {@code z - 0.5 beta};
     * beta 0 is L1. grad_fn SmoothL1LossBackward0.
     */
    public static Tensor smoothL1Loss(Tensor input, Tensor target, String reduction, double beta) {
        String op = "smooth_l1_loss";
        Reduction r = Reduction.of(reduction);
        if (!(beta >= 0)) {
            throw new IllegalArgumentException(op + " does not support negative values for beta (got " + beta + ")");
        }
        return piecewise(op, "SmoothL1LossBackward0", input, target, r, beta, false);
    }

    /**
     * Huber, like {@code F.huber_loss}: {@code 0.5 z^2} for {@code z = |x - y| < delta}, else {@code delta (z - 0.5 delta)}.
     * grad_fn HuberLossBackward0.
     */
    public static Tensor huberLoss(Tensor input, Tensor target, String reduction, double delta) {
        String op = "huber_loss";
        Reduction r = Reduction.of(reduction);
        if (!(delta > 0)) {
            throw new IllegalArgumentException(op + " does not support non-positive values for delta (got " + delta + ")");
        }
        return piecewise(op, "HuberLossBackward0", input, target, r, delta, true);
    }

    private static Tensor piecewise(String op, String name, Tensor input, Tensor target, Reduction r, double t, boolean huber) {
        sameShape(op, input, target);
        Tensor out;
        try (MemoryScopeLocal s = new MemoryScopeLocal(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor z = input.sub(target).abs();
            Tensor quadratic = huber ? z.mul(0.5).mul(z) : z.mul(0.5).mul(z).div(t); // unused where z >= t (beta 0: never)
            Tensor linear = huber ? z.sub(0.5 * t).mul(t) : z.sub(0.5 * t);
            out = s.keep(reduced(Tensor.where(z.lt(t), quadratic, linear), r));
        }
        // PyTorch's backward kernels: sign(d) (delta for Huber) where |d| >= t, d / beta (d for Huber) inside, with
        // d = x - y for the input and y - x for the target (at beta 0 a zero difference gives -1, as PyTorch's)
        Derivative dInput = (x, y) -> slope(x.sub(y), t, huber);
        Derivative dTarget = (x, y) -> slope(y.sub(x), t, huber);
        return Tensor.record(out, () -> new ElementwiseBackward(name, input, target, null, r, dInput, dTarget), input, target);
    }

    private static Tensor slope(Tensor d, double t, boolean huber) {
        Tensor sign = d.gt(0).toFloat().mul(2).sub(1); // 1 or -1
        Tensor outer = huber ? sign.mul(t) : sign;
        Tensor inner = huber ? d : d.div(t);
        return Tensor.where(d.abs().lt(t), inner, outer);
    }

    /**
     * Kullback-Leibler divergence of log-probabilities {@code input} from {@code target} (probabilities, or
     * log-probabilities with {@code logTarget}), like {@code F.kl_div}: PyTorch 1.13's composition in its order,
     * {@code xlogy(y, y) - y x} or {@code exp(y) (y - x)}, then the reduction: "mean" over every element, "batchmean"
     * the sum over the batch size (the first dim; the sum for a 0-d input), "sum", "none".
     */
    public static Tensor klDiv(Tensor input, Tensor target, String reduction, boolean logTarget) {
        String op = "kl_div";
        boolean batchmean = reduction.equals("batchmean");
        Reduction r = batchmean ? Reduction.SUM : switch (reduction) {
            case "mean", "sum", "none" -> Reduction.of(reduction);
            default -> throw new IllegalArgumentException(reduction + " is not a valid value for reduction (use 'none', 'batchmean', 'sum' or 'mean')");
        };
        sameShape(op, input, target);
        try (MemoryScopeLocal s = new MemoryScopeLocal()) {
            Tensor loss;
            if (logTarget) {
                loss = target.exp().mul(target.sub(input));
            } else {
                // xlogy(y, y): 0 where y == 0 (log of 1 there)
                Tensor xlogy = target.mul(target.maskedFill(target.eq(0), 1).log());
                loss = xlogy.sub(target.mul(input));
            }
            Tensor out = reduce(loss, r);
            if (batchmean && input.dim() > 0) {
                out = out.div(input.size(0));
            }
            return s.keep(out);
        }
    }

    /**
     * The node of a fused elementwise loss: each operand's gradient is its {@link Derivative} times the incoming
     * gradient (0-d for mean and sum), times the weight, over the element count for mean.
     */
    static final class ElementwiseBackward extends Node {
        private final String name;
        private final Saved input;
        private final Saved target;
        private final Saved weight;
        private final Reduction reduction;
        private final Derivative dInput;
        private final Derivative dTarget;

        ElementwiseBackward(String name, Tensor input, Tensor target, Tensor weight, Reduction reduction, Derivative dInput, Derivative dTarget) {
            this.name = name;
            this.input = save(input, "self");
            this.target = save(target, "target");
            this.weight = weight == null ? null : save(weight, "weight");
            this.reduction = reduction;
            this.dInput = dInput;
            this.dTarget = dTarget;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            try (MemoryScopeLocal s = new MemoryScopeLocal()) {
                Tensor x = input.get();
                Tensor y = target.get();
                Tensor gi = needsInputGrad(0) ? s.keep(finish(dInput.of(x, y), g, x.numel())) : null;
                Tensor gt = needsInputGrad(1) ? s.keep(finish(dTarget.of(x, y), g, x.numel())) : null;
                return new Tensor[] {gi, gt};
            }
        }

        private Tensor finish(Tensor d, Tensor g, long numel) {
            Tensor r = d.mul(g);
            if (weight != null) {
                r = r.mul(weight.get());
            }
            return reduction == Reduction.MEAN ? r.div(Math.max(numel, 1)) : r;
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
