package dev.lanes.nn.functional;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import java.util.Arrays;

/**
 * The small torch.nn pieces {@link F} exposes beyond its core: distances ({@code normalize}, {@code cosine_similarity},
 * {@code pairwise_distance}), the pairwise / ranking / regression losses of torch 1.13 ({@code margin_ranking_loss},
 * {@code cosine_embedding_loss}, {@code triplet_margin_loss}, {@code soft_margin_loss},
 * {@code multilabel_soft_margin_loss}, {@code poisson_nll_loss}, {@code gaussian_nll_loss}), a few activations and
 * {@code adaptive_max_pool2d}. Each is torch 1.13's composition of differentiable ops in its order, so gradients,
 * broadcasting and plan tracing come from those ops. Tests: {@code NnExtrasTest} (golden/nn_extras.txt).
 */
final class NnExtras {
    private NnExtras() {
    }

    // ---- helpers ----

    /** torch's infer_size: the broadcast shape of a and b, with its message for a mismatch. */
    static int[] broadcast(int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i - (n - a.length);
            int db = i - (n - b.length);
            int sa = da >= 0 ? a[da] : 1;
            int sb = db >= 0 ? b[db] : 1;
            if (sa != sb && sa != 1 && sb != 1) {
                throw new IllegalArgumentException("The size of tensor a (" + sa + ") must match the size of tensor b (" + sb
                        + ") at non-singleton dimension " + i);
            }
            out[i] = sa == 1 ? sb : sa;
        }
        return out;
    }

    static String torchSize(Tensor t) {
        return "torch.Size(" + Arrays.toString(t.shape()) + ")";
    }

    static Tensor reduce(Tensor loss, String reduction) {
        return switch (reduction) {
            case "none" -> loss;
            case "mean" -> loss.mean();
            case "sum" -> loss.sum();
            default -> throw new IllegalArgumentException(reduction + " is not a valid value for reduction");
        };
    }

    static void checkReduction(String reduction) {
        if (!reduction.equals("none") && !reduction.equals("mean") && !reduction.equals("sum")) {
            throw new IllegalArgumentException(reduction + " is not a valid value for reduction");
        }
    }

    static void requireFloat(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t.dtype() != dev.lanes.DType.FLOAT32) {
                throw new IllegalArgumentException(op + ": expected a float32 tensor, got " + t.dtype());
            }
        }
    }

    static int wrapDim(int dim, int ndim) {
        int n = Math.max(ndim, 1);
        if (dim < -n || dim >= n) {
            throw new IllegalArgumentException("Dimension out of range (expected to be in range of [" + -n + ", " + (n - 1) + "], but got " + dim + ")");
        }
        return dim < 0 ? dim + n : dim;
    }

    // ---- distances ----

    /** {@code input / norm(input, p, dim, keepdim=True).clamp_min(eps).expand_as(input)}. */
    static Tensor normalize(Tensor x, double p, int dim, double eps) {
        requireFloat("normalize", x);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor denom = x.norm(p, dim, true).clampMin(eps).expandAs(x);
            return s.keep(x.div(denom));
        }
    }

    /**
     * torch 1.13's cosine_similarity: both operands broadcast, each divided by its 2-norm over {@code dim} clamped at
     * {@code eps}, the products summed over {@code dim}. Torch clamps the norms in place under no_grad, so its backward
     * reads the clamped norm: {@code d norm / dx = x / max(norm, eps)}; the norm here is built to have that value and
     * that gradient ({@code sum(x^2) / (2 c) + (c - that, detached)} with {@code c = max(norm, eps)} a constant).
     */
    static Tensor cosineSimilarity(Tensor x1, Tensor x2, int dim, double eps) {
        requireFloat("cosine_similarity", x1, x2);
        int[] shape = broadcast(x1.shape(), x2.shape());
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = Arrays.equals(x1.shape(), shape) ? x1 : x1.expand(shape);
            Tensor b = Arrays.equals(x2.shape(), shape) ? x2 : x2.expand(shape);
            int d = wrapDim(dim, shape.length);
            Tensor an = clampedNorm(a, d, eps);
            Tensor bn = clampedNorm(b, d, eps);
            return s.keep(a.div(an).mul(b.div(bn)).sum(d));
        }
    }

    private static Tensor clampedNorm(Tensor x, int dim, double eps) {
        Tensor c;
        try (Autograd.Mode g = Autograd.noGrad()) {
            c = x.norm(2, dim, true).clampMin(eps);
        }
        if (!x.requiresGrad()) {
            return c;
        }
        Tensor half = x.mul(x).sum(dim, true).div(c.mul(2));
        Tensor shift;
        try (Autograd.Mode g = Autograd.noGrad()) {
            shift = c.sub(half);
        }
        return half.add(shift);
    }

    /** torch 1.13's pairwise_distance: {@code norm(x1 - x2 + eps, p, last dim of the broadcast, keepdim)}. */
    static Tensor pairwiseDistance(Tensor x1, Tensor x2, double p, double eps, boolean keepdim) {
        requireFloat("pairwise_distance", x1, x2);
        int outDim = Math.max(x1.dim(), x2.dim());
        try (MemoryScope s = MemoryScope.open()) {
            Tensor diff = x1.sub(x2).add(eps);
            if (outDim == 0) {
                return s.keep(diff.abs()); // the norm of a scalar over its only "dim"
            }
            return s.keep(diff.norm(p, outDim - 1, keepdim));
        }
    }

    // ---- losses ----

    static Tensor marginRankingLoss(Tensor input1, Tensor input2, Tensor target, double margin, String reduction) {
        if (input1.dim() != input2.dim() || input1.dim() != target.dim()) {
            throw new IllegalArgumentException("margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: "
                    + torchSize(input1) + ", input2: " + torchSize(input2) + ", target: " + torchSize(target) + " ");
        }
        checkReduction(reduction);
        requireFloat("margin_ranking_loss", input1, input2, target);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = target.neg().mul(input1.sub(input2)).add(margin).clampMin(0);
            return s.keep(reduce(out, reduction));
        }
    }

    static Tensor cosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin, String reduction) {
        checkReduction(reduction);
        int td = target.dim();
        if (td != 0 && td != 1) {
            throw new IllegalArgumentException("0D or 1D target tensor expected, multi-target not supported");
        }
        if (td == 1 && (input1.dim() != 2 || input2.dim() != 2)) {
            throw new IllegalArgumentException("1D target tensor expects 2D input tensors, but found inputs with sizes "
                    + Arrays.toString(input1.shape()) + " and "
                    + Arrays.toString(input2.shape()) + ".");
        }
        if (td == 0 && (input1.dim() != 1 || input2.dim() != 1)) {
            throw new IllegalArgumentException("0D target tensor expects 1D input tensors, but found inputs with sizes "
                    + Arrays.toString(input1.shape()) + " and "
                    + Arrays.toString(input2.shape()) + ".");
        }
        requireFloat("cosine_embedding_loss", input1, input2, target);
        double epsilon = 1e-12;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor prodSum = input1.mul(input2).sum(td);
            Tensor mag1 = input1.mul(input1).sum(td).add(epsilon);
            Tensor mag2 = input2.mul(input2).sum(td).add(epsilon);
            Tensor denom = mag1.mul(mag2).sqrt();
            Tensor cos = prodSum.div(denom);
            Tensor zeros = Tensor.zerosLike(cos);
            Tensor pos = cos.rsub(1);
            Tensor neg = cos.sub(margin).clampMin(0);
            Tensor out = Tensor.where(target.eq(1), pos, zeros).add(Tensor.where(target.eq(-1), neg, zeros));
            return s.keep(reduce(out, reduction));
        }
    }

    static Tensor tripletMarginLoss(Tensor anchor, Tensor positive, Tensor negative, double margin, double p, double eps, boolean swap,
            String reduction) {
        if (anchor.dim() != positive.dim() || positive.dim() != negative.dim()) {
            throw new IllegalArgumentException("The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: anchor "
                    + anchor.dim() + "D, positive " + positive.dim() + "D, and negative " + negative.dim() + "D inputs");
        }
        checkReduction(reduction);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor dPos = pairwiseDistance(anchor, positive, p, eps, false);
            Tensor dNeg = pairwiseDistance(anchor, negative, p, eps, false);
            if (swap) {
                dNeg = dNeg.minimum(pairwiseDistance(positive, negative, p, eps, false));
            }
            Tensor out = dPos.add(margin).sub(dNeg).clampMin(0);
            return s.keep(reduce(out, reduction));
        }
    }

    /** torch 1.13's soft_margin_loss: {@code log1p(exp(-input * target))}, then the reduction. */
    static Tensor softMarginLoss(Tensor input, Tensor target, String reduction) {
        checkReduction(reduction);
        requireFloat("soft_margin_loss", input, target);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = input.neg().mul(target).exp().log1p();
            return s.keep(reduce(out, reduction));
        }
    }

    /**
     * torch 1.13's multilabel_soft_margin_loss: {@code -(y logsigmoid(x) + (1 - y) logsigmoid(-x))}, times the weight,
     * averaged over the last (class) dim, then the reduction.
     */
    static Tensor multilabelSoftMarginLoss(Tensor input, Tensor target, Tensor weight, String reduction) {
        checkReduction(reduction);
        requireFloat("multilabel_soft_margin_loss", input, target);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor loss = target.mul(logsigmoid(input)).add(target.rsub(1).mul(logsigmoid(input.neg()))).neg();
            if (weight != null) {
                loss = loss.mul(weight);
            }
            int classDim = input.dim() - 1;
            int c = input.size(classDim);
            loss = loss.sum(classDim).div(c);
            return s.keep(reduce(loss, reduction));
        }
    }

    static Tensor poissonNllLoss(Tensor input, Tensor target, boolean logInput, boolean full, double eps, String reduction) {
        checkReduction(reduction);
        requireFloat("poisson_nll_loss", input, target);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor loss = logInput ? input.exp().sub(target.mul(input)) : input.sub(target.mul(input.add(eps).log()));
            if (full) {
                Tensor stirling = target.mul(target.log()).sub(target).add(target.mul(2 * Math.PI).log().mul(0.5));
                loss = loss.add(stirling.maskedFill(target.le(1), 0));
            }
            return s.keep(reduce(loss, reduction));
        }
    }

    static Tensor gaussianNllLoss(Tensor input, Tensor target, Tensor var, boolean full, double eps, String reduction) {
        requireFloat("gaussian_nll_loss", input, target, var);
        int[] in = input.shape();
        int[] vs = var.shape();
        boolean unsqueeze = false;
        if (!Arrays.equals(in, vs)) {
            if (in.length > 0 && Arrays.equals(Arrays.copyOf(in, in.length - 1), vs)) {
                unsqueeze = true;
            } else if (in.length > 0 && vs.length == in.length && Arrays.equals(Arrays.copyOf(in, in.length - 1), Arrays.copyOf(vs, vs.length - 1))
                    && vs[vs.length - 1] == 1) {
                // homoscedastic: broadcasts
            } else {
                throw new IllegalArgumentException("var is of incorrect size");
            }
        }
        if (!reduction.equals("none") && !reduction.equals("mean") && !reduction.equals("sum")) {
            throw new IllegalArgumentException(reduction + " is not valid");
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor v = unsqueeze ? var.unsqueeze(-1) : var;
            if (v.lt(0).any().boolItem()) {
                throw new IllegalArgumentException("var has negative entry/entries");
            }
            // torch clamps a clone in place under no_grad: the value is clamped, the gradient passes as if it were not
            Tensor shift;
            try (Autograd.Mode g = Autograd.noGrad()) {
                shift = v.clampMin(eps).sub(v);
            }
            Tensor vc = v.requiresGrad() ? v.add(shift) : v.clampMin(eps);
            Tensor d = input.sub(target);
            Tensor loss = vc.log().add(d.mul(d).div(vc)).mul(0.5);
            if (full) {
                loss = loss.add(0.5 * Math.log(2 * Math.PI));
            }
            return s.keep(reduce(loss, reduction));
        }
    }

    // ---- activations ----

    /** {@code -softplus(-x)}: stable for either sign. */
    static Tensor logsigmoid(Tensor x) {
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(x.neg().softplus(1, 20).neg());
        }
    }

    static Tensor softmin(Tensor x, int dim) {
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(x.neg().softmax(dim));
        }
    }

    static Tensor softsign(Tensor x) {
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(x.div(x.abs().add(1)));
        }
    }

    static Tensor tanhshrink(Tensor x) {
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(x.sub(x.tanh()));
        }
    }

    /** {@code value} where {@code x <= threshold}, x elsewhere (NaN stays NaN), like torch.threshold. */
    static Tensor threshold(Tensor x, double threshold, double value) {
        requireFloat("threshold", x);
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(Tensor.where(x.le(threshold), Tensor.scalar(value), x));
        }
    }

    /** torch's SELU constants (torch.nn.functional.selu; ONNX's Selu defaults are these rounded to float). */
    static final double SELU_ALPHA = 1.6732632423543772848170429916717;
    static final double SELU_SCALE = 1.0507009873554804934193349852946;

    /** {@code scale * elu(x, alpha)} with torch's constants: the gradient is elu's (EluBackward0, as torch 1.13 names it). */
    static Tensor selu(Tensor x) {
        requireFloat("selu", x);
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(x.elu(SELU_ALPHA).mul(SELU_SCALE));
        }
    }

    /**
     * {@code x <= 0 ? alpha (e^(x / alpha) - 1) : x}, like torch.celu (alpha 0 refused with torch's message). The
     * exponential branch reads {@code min(x, 0)} so that a large positive x, whose branch where() discards, cannot
     * overflow it; the positive branch is x itself, not {@code alpha (x / alpha)}, so it is exact.
     */
    static Tensor celu(Tensor x, double alpha) {
        requireFloat("celu", x);
        if (alpha == 0 || Double.isNaN(alpha)) {
            throw new IllegalArgumentException("celu: alpha cannot be " + alpha + " (ZeroDivisionError in torch)");
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor neg = x.clampMax(0).mul(1 / alpha).expm1().mul(alpha);
            return s.keep(Tensor.where(x.le(0), neg, x));
        }
    }

    /** 0 where {@code -lambd <= x <= lambd}, x elsewhere (NaN stays NaN), like torch.hardshrink (default lambd 0.5). */
    static Tensor hardshrink(Tensor x, double lambd) {
        requireFloat("hardshrink", x);
        try (MemoryScope s = MemoryScope.open()) {
            return s.keep(Tensor.where(x.abs().le(lambd), Tensor.scalar(0), x));
        }
    }

    /**
     * {@code x > lambd ? x - lambd : x < -lambd ? x + lambd : 0}, like torch.softshrink (lambd >= 0, default 0.5; NaN
     * gives 0 like torch's kernel, whose comparisons it repeats).
     */
    static Tensor softshrink(Tensor x, double lambd) {
        requireFloat("softshrink", x);
        if (!(lambd >= 0)) {
            throw new IllegalArgumentException("softshrink: lambda must be greater or equal to 0, but found to be " + lambd);
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor low = Tensor.where(x.lt(-lambd), x.add(lambd), Tensor.scalar(0));
            return s.keep(Tensor.where(x.gt(lambd), x.sub(lambd), low));
        }
    }

    /**
     * {@code x > 0 ? x : w x}, like torch.prelu: the weight holds 1 value or one per channel (dim 1 of an input of rank
     * 2 or more), broadcast over the other dims; the gradient reaches x and the weight (summed over the broadcast).
     */
    static Tensor prelu(Tensor x, Tensor weight) {
        requireFloat("prelu", x, weight);
        if (x.dim() == 0) {
            throw new IllegalArgumentException("prelu: zero-dim input is not allowed");
        }
        if (weight.dim() > 1) {
            throw new IllegalArgumentException("prelu: expected weight to be a scalar or 1D tensor, but got ndim = " + weight.dim());
        }
        long channels = x.dim() >= 2 ? x.size(1) : 1;
        long count = weight.numel();
        if (count != 1 && count != channels) {
            throw new IllegalArgumentException("prelu: mismatch of parameter numbers and input channel size: weight has " + count
                    + " values, input " + torchSize(x) + " has " + channels + " channels");
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor w;
            if (count == 1) {
                w = weight.reshape();
            } else {
                int[] shape = new int[x.dim() - 1];
                Arrays.fill(shape, 1);
                shape[0] = (int) channels;
                w = weight.reshape(shape);
            }
            return s.keep(Tensor.where(x.gt(0), x, x.mul(w)));
        }
    }

    // ---- adaptive max pooling ----

    /**
     * {@code adaptive_max_pool2d} of {@code [N, C, H, W]} or {@code [C, H, W]}: output cell (i, j) is the max over rows
     * {@code floor(i H / oH)} to {@code ceil((i + 1) H / oH)} and the same columns; built from slices and
     * {@code max(dim)} (its gradient to the first maximum in row-major order, NaN winning as torch's). Windows that
     * tile the input evenly ({@code H % oH == 0}, {@code W % oW == 0}) run as max_pool2d, which a plan can trace; the
     * uneven windows' slices and {@code max(dim)} have no plan step, so tracing those is refused by the trace.
     */
    static Tensor adaptiveMaxPool2d(Tensor x, int[] outputSize) {
        requireFloat("adaptive_max_pool2d", x);
        if (outputSize.length != 1 && outputSize.length != 2) {
            throw new IllegalArgumentException("adaptive_max_pool2d: output_size must be 2");
        }
        int oh = outputSize[0];
        int ow = outputSize.length == 2 ? outputSize[1] : outputSize[0];
        if (x.dim() != 3 && x.dim() != 4) {
            throw new IllegalArgumentException("adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: " + Arrays.toString(x.shape()));
        }
        for (int d = 1; d < x.dim(); d++) {
            if (x.size(d) == 0) {
                throw new IllegalArgumentException("adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
                        + Arrays.toString(x.shape()) + " with dimension " + d + " being empty");
            }
        }
        if (oh < 0 || ow < 0) {
            throw new IllegalArgumentException("adaptive_max_pool2d: elements of output_size must be greater than or equal to 0 but received {"
                    + oh + ", " + ow + "}");
        }
        int hd = x.dim() - 2;
        int h = x.size(hd);
        int w = x.size(hd + 1);
        if (oh > 0 && ow > 0 && h % oh == 0 && w % ow == 0 && x.numel() > 0) {
            // equal windows that tile the input: max_pool2d with kernel = stride (the same first-max / NaN rule, and a plan step)
            int[] k = {h / oh, w / ow};
            int[] zero = {0, 0};
            int[] one = {1, 1};
            if (x.dim() == 4) {
                return Tensor.maxPool2d(x, k, k, zero, one, false);
            }
            try (MemoryScope s = MemoryScope.open()) {
                return s.keep(Tensor.maxPool2d(x.unsqueeze(0), k, k, zero, one, false).squeeze(0));
            }
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] cells = new Tensor[oh * ow];
            for (int i = 0; i < oh; i++) {
                int h0 = Math.floorDiv(i * h, oh);
                int h1 = -Math.floorDiv(-(i + 1) * h, oh);
                for (int j = 0; j < ow; j++) {
                    int w0 = Math.floorDiv(j * w, ow);
                    int w1 = -Math.floorDiv(-(j + 1) * w, ow);
                    Tensor win = x.slice(hd, h0, h1).slice(hd + 1, w0, w1).flatten(hd, hd + 1);
                    cells[i * ow + j] = win.max(hd, false).values();
                }
            }
            int[] shape = x.shape();
            shape[hd] = oh;
            shape[hd + 1] = ow;
            if (cells.length == 0 || x.numel() == 0) {
                return s.keep(x.numel() == 0 && cells.length > 0 ? Tensor.stack(cells, hd).view(shape) : Tensor.zeros(shape));
            }
            return s.keep(Tensor.stack(cells, hd).view(shape));
        }
    }

    // ---- bilinear ----

    /**
     * {@code y = x1^T A x2 + b} over the last dims: {@code x1 [..., in1]}, {@code x2 [..., in2]}, {@code weight
     * [out, in1, in2]}, {@code bias [out]} or null; one GEMM of the flattened rows against the weight laid out as
     * {@code [in1, out * in2]}, then a product with x2 summed over in2.
     */
    static Tensor bilinear(Tensor x1, Tensor x2, Tensor weight, Tensor bias) {
        requireFloat("bilinear", x1, x2, weight);
        if (x1.dim() != x2.dim()) {
            throw new IllegalArgumentException("bilinear(): input dimensions do not match: got " + x1.dim() + " and " + x2.dim());
        }
        if (x1.dim() == 0) {
            throw new IllegalArgumentException("bilinear(): input must have at least one dimension");
        }
        for (int i = 0; i < x1.dim() - 1; i++) {
            if (x1.size(i) != x2.size(i)) {
                throw new IllegalArgumentException("bilinear(): input batch dimensions do not match: got " + x1.size(i) + " and " + x2.size(i));
            }
        }
        if (weight.dim() != 3) {
            throw new IllegalArgumentException("bilinear(): weight must be 3-d [out, in1, in2], got " + Arrays.toString(weight.shape()));
        }
        if (x1.size(-1) != weight.size(1)) {
            throw new IllegalArgumentException("bilinear(): input1 size does not match weight size: got " + x1.size(-1) + " but expected " + weight.size(1));
        }
        if (x2.size(-1) != weight.size(2)) {
            throw new IllegalArgumentException("bilinear(): input2 size does not match weight size: got " + x2.size(-1) + " but expected " + weight.size(2));
        }
        if (bias != null && bias.size(0) != weight.size(0)) {
            throw new IllegalArgumentException("bilinear(): bias size does not match weight size: got " + bias.size(0) + " but expected " + weight.size(0));
        }
        int out = weight.size(0);
        int in1 = weight.size(1);
        int in2 = weight.size(2);
        int rows = 1;
        for (int i = 0; i < x1.dim() - 1; i++) {
            rows = Math.multiplyExact(rows, x1.size(i));
        }
        int[] outShape = x1.shape();
        outShape[outShape.length - 1] = out;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = x1.reshape(rows, in1);
            Tensor b = x2.reshape(rows, in2);
            Tensor w = weight.permute(1, 0, 2).reshape(in1, out * in2);
            Tensor y = a.mm(w).view(rows, out, in2).mul(b.unsqueeze(1)).sum(2);
            if (bias != null) {
                y = y.add(bias);
            }
            return s.keep(y.reshape(outShape));
        }
    }

    /**
     * torch 1.13's {@code embedding_bag}, composed from traced ops: the rows at {@code input} (one embedding lookup,
     * which also does max_norm and scale_grad_by_freq over the whole input, as torch counts them) reduced per bag by
     * sum (times {@code perSampleWeights} if given), mean or max. A 2-d {@code [B, N]} input without padding_idx
     * reduces dim 1 of the lookup's view directly (this path traces into a plan); otherwise each bag's rows are
     * gathered into a {@code [B, L, dim]} block (L the longest bag, empty slots and padding_idx entries pointing at an
     * appended zero row and masked), whose layout is computed from the indices in Java, so it does not trace.
     * Empty bags give zeros; padding_idx entries are left out of every mode (mean divides by the rest).
     */
    static Tensor embeddingBag(Tensor input, Tensor weight, Tensor offsets, Double maxNorm, double normType, boolean scaleGradByFreq, String mode,
            boolean sparse, Tensor perSampleWeights, boolean includeLastOffset, Integer paddingIdx) {
        if (!"sum".equals(mode) && !"mean".equals(mode) && !"max".equals(mode)) {
            throw new IllegalArgumentException("embedding_bag: mode has to be one of sum, mean or max, got " + mode);
        }
        if ("max".equals(mode) && scaleGradByFreq) {
            throw new IllegalArgumentException("embedding_bag: max mode does not support scaling the gradient by the frequency");
        }
        if (sparse) {
            throw new IllegalArgumentException("embedding_bag: sparse=True is not supported: Lanes has no sparse gradients");
        }
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("embedding_bag: 'weight' must be 2-D, got shape " + Arrays.toString(weight.shape()));
        }
        if (perSampleWeights != null && !Arrays.equals(input.shape(), perSampleWeights.shape())) {
            throw new IllegalArgumentException("embedding_bag: If per_sample_weights (" + Arrays.toString(perSampleWeights.shape())
                    + ") is not None, then it must have the same shape as the input (" + Arrays.toString(input.shape()) + ")");
        }
        if (perSampleWeights != null && !"sum".equals(mode)) {
            throw new IllegalArgumentException("embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for"
                    + " mode='sum' (got mode='" + mode + "')");
        }
        if (perSampleWeights != null) {
            requireFloat("embedding_bag", perSampleWeights);
        }
        int num = weight.size(0);
        int dim = weight.size(1);
        if (paddingIdx != null && (paddingIdx >= num || paddingIdx < -num)) {
            throw new IllegalArgumentException("embedding_bag: padding_idx must be within the number of embeddings (" + num + "), got " + paddingIdx);
        }
        Integer pad = paddingIdx == null ? null : paddingIdx < 0 ? paddingIdx + num : paddingIdx;
        if (input.dim() == 2) {
            if (offsets != null) {
                throw new IllegalArgumentException("embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a"
                        + " mini-batch of fixed length sequences. However, found offsets of shape " + Arrays.toString(offsets.shape()));
            }
        } else if (input.dim() == 1) {
            if (offsets == null) {
                throw new IllegalArgumentException("embedding_bag: offsets has to be a 1D Tensor but got None");
            }
            if (offsets.dim() != 1) {
                throw new IllegalArgumentException("embedding_bag: offsets has to be a 1D Tensor, got shape " + Arrays.toString(offsets.shape()));
            }
        } else {
            throw new IllegalArgumentException("embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension " + input.dim());
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor flat = input.reshape(-1);
            Tensor rows = Tensor.embedding(flat, weight, null, maxNorm, normType, scaleGradByFreq, false);
            if (input.dim() == 2 && pad == null && input.size(1) > 0) {
                if ("max".equals(mode) && InferencePlan.tracing()) {
                    throw new UnsupportedOperationException("embedding_bag: mode max reduces with max(dim), which has no plan step; trace mode sum"
                            + " or mean, or run max eagerly");
                }
                int b = input.size(0);
                int n = input.size(1);
                Tensor bags = rows.view(b, n, dim);
                Tensor out = switch (mode) {
                    case "sum" -> perSampleWeights == null ? bags.sum(1) : bags.mul(perSampleWeights.unsqueeze(-1)).sum(1);
                    case "mean" -> bags.mean(1);
                    default -> bags.max(1).values();
                };
                return s.keep(out);
            }
            if (InferencePlan.tracing()) {
                throw new UnsupportedOperationException("embedding_bag: a 1-d input with offsets, padding_idx or empty bags lay out the bags from"
                        + " the index values in Java, which a traced plan cannot replay; trace a 2-d [B, N] input without padding_idx");
            }
            return s.keep(bagsByLayout(input, rows, offsets, mode, perSampleWeights, includeLastOffset, pad));
        }
    }

    /** The general embedding_bag reduction: each bag's rows gathered into a padded, masked [B, L, dim] block (see embeddingBag). */
    private static Tensor bagsByLayout(Tensor input, Tensor rows, Tensor offsets, String mode, Tensor perSampleWeights, boolean includeLastOffset,
            Integer pad) {
        long[] ids = input.toLongArray();
        int n = ids.length;
        int dim = rows.size(1);
        long[] starts;
        if (offsets == null) { // 2-d [B, N]: fixed-length bags
            int b = input.size(0);
            int len = input.size(1);
            starts = new long[b + 1];
            for (int i = 0; i <= b; i++) {
                starts[i] = (long) i * len;
            }
        } else {
            if (offsets.dtype() != dev.lanes.DType.INT64) {
                throw new IllegalArgumentException("embedding_bag: offsets must be an int64 tensor, got " + offsets.dtype());
            }
            long[] off = offsets.toLongArray();
            if (includeLastOffset && off.length == 0) {
                throw new IllegalArgumentException("embedding_bag: include_last_offset needs at least one offset (the input's end), got none");
            }
            if (off.length > 0 && off[0] != 0) {
                throw new IllegalArgumentException("embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start"
                        + " from position 0. However, got " + off[0]);
            }
            for (int i = 1; i < off.length; i++) {
                if (off[i] < off[i - 1]) {
                    throw new IllegalArgumentException("embedding_bag: offsets must be non-decreasing, got offsets[" + i + "] = " + off[i]
                            + " after " + off[i - 1]);
                }
            }
            if (includeLastOffset && off[off.length - 1] != n) {
                // torch 1.13 leaves the rest of the input out of the forward but not the backward (and its max mode
                // corrupts its heap): the documented CSR form, last offset = input length, is the only one accepted
                throw new IllegalArgumentException("embedding_bag: with include_last_offset, offsets[-1] has to be the input's length " + n
                        + " (the end of the last bag), got " + off[off.length - 1]);
            }
            if (off.length > 0 && off[off.length - 1] > n) {
                throw new IllegalArgumentException("embedding_bag: offsets[-1] can not be greater than input's length " + n + " but got offsets[-1] of "
                        + off[off.length - 1]);
            }
            // bag i is [off[i], off[i + 1]); the last ends at the input's end, or (include_last_offset) is the end marker
            starts = includeLastOffset ? off : Arrays.copyOf(off, off.length + 1);
            if (!includeLastOffset) {
                starts[off.length] = n;
            }
        }
        int b = starts.length - 1;
        int longest = 1;
        for (int i = 0; i < b; i++) {
            longest = (int) Math.max(longest, starts[i + 1] - starts[i]);
        }
        long slots = (long) b * longest;
        if (slots > Integer.MAX_VALUE || slots * dim > Integer.MAX_VALUE) { // slots < 2^62: the product cannot wrap once slots fits an int
            throw new IllegalArgumentException("embedding_bag: " + b + " bags of up to " + longest + " rows of " + dim + " floats exceed 2^31 - 1 elements");
        }
        long[] pos = new long[(int) slots];
        boolean[] missing = new boolean[(int) slots];
        float[] count = new float[b];
        boolean[] empty = new boolean[b];
        for (int i = 0; i < b; i++) {
            int c = 0;
            for (int k = 0; k < longest; k++) {
                long j = starts[i] + k;
                boolean real = j < starts[i + 1] && (pad == null || ids[(int) j] != pad);
                pos[i * longest + k] = real ? j : n; // row n: the appended zeros
                missing[i * longest + k] = !real;
                c += real ? 1 : 0;
            }
            count[i] = Math.max(c, 1);
            empty[i] = c == 0;
        }
        Tensor at = Tensor.of(pos, (int) slots);
        Tensor padded = Tensor.cat(new Tensor[] {rows, Tensor.zeros(1, dim)}, 0).indexSelect(0, at).view(b, longest, dim);
        return switch (mode) {
            case "sum" -> perSampleWeights == null ? padded.sum(1)
                    : padded.mul(Tensor.cat(new Tensor[] {perSampleWeights.reshape(-1), Tensor.zeros(1)}, 0).indexSelect(0, at).view(b, longest, 1)).sum(1);
            case "mean" -> padded.sum(1).div(Tensor.of(count, b, 1));
            default -> padded.maskedFill(Tensor.of(missing, b, longest, 1), Double.NEGATIVE_INFINITY).max(1).values()
                    .maskedFill(Tensor.of(empty, b, 1), 0);
        };
    }
}
