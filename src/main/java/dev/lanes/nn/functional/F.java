package dev.lanes.nn.functional;

import dev.lanes.Losses;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;

/**
 * {@code torch.nn.functional} in Java names: {@code F.relu(x)}, {@code F.maxPool2d(x, 2)}, {@code F.conv2d(...)},
 * {@code F.logSoftmax(x, 1)}, {@code F.crossEntropy(logits, target)}, ... Stateless; modules in {@code dev.lanes.nn}
 * call these.
 */
public final class F {
    /** PyTorch's default ignore_index for classification losses. */
    public static final int IGNORE_INDEX = -100;

    private F() {
    }

    public static Tensor relu(Tensor x) {
        return x.relu();
    }

    /** {@code F.relu(x, inplace)}: with inplace, x itself rewritten (ReluBackward0 over the result), as {@link Tensor#relu_}. */
    public static Tensor relu(Tensor x, boolean inplace) {
        return inplace ? x.relu_() : x.relu();
    }

    /** {@code F.relu_(x)}. */
    public static Tensor relu_(Tensor x) {
        return x.relu_();
    }

    /** {@code F.silu(x, inplace)}. */
    public static Tensor silu(Tensor x, boolean inplace) {
        return inplace ? x.silu_() : x.silu();
    }

    /** {@code F.mish(x, inplace)}. */
    public static Tensor mish(Tensor x, boolean inplace) {
        return inplace ? x.mish_() : x.mish();
    }

    /** {@code F.leaky_relu(x, negative_slope, inplace)}: in place, LeakyReluBackward1 (a negative slope's backward refused, as torch). */
    public static Tensor leakyRelu(Tensor x, double negativeSlope, boolean inplace) {
        return inplace ? x.leakyRelu_(negativeSlope) : x.leakyRelu(negativeSlope);
    }

    /** {@code F.leaky_relu_(x, negative_slope)}. */
    public static Tensor leakyRelu_(Tensor x, double negativeSlope) {
        return x.leakyRelu_(negativeSlope);
    }

    /** {@code F.elu(x, alpha, inplace)}: in place, EluBackward1. */
    public static Tensor elu(Tensor x, double alpha, boolean inplace) {
        return inplace ? x.elu_(alpha) : x.elu(alpha);
    }

    /** {@code F.elu_(x, alpha)}. */
    public static Tensor elu_(Tensor x, double alpha) {
        return x.elu_(alpha);
    }

    /** {@code F.hardtanh(x, min_val, max_val, inplace)}. */
    public static Tensor hardtanh(Tensor x, double minVal, double maxVal, boolean inplace) {
        return inplace ? x.hardtanh_(minVal, maxVal) : x.hardtanh(minVal, maxVal);
    }

    /** {@code F.hardtanh_(x, min_val, max_val)}. */
    public static Tensor hardtanh_(Tensor x, double minVal, double maxVal) {
        return x.hardtanh_(minVal, maxVal);
    }

    /** {@code F.relu6(x, inplace)}: hardtanh(x, 0, 6). */
    public static Tensor relu6(Tensor x, boolean inplace) {
        return inplace ? x.relu6_() : x.relu6();
    }

    /** {@code F.hardsigmoid(x, inplace)}. */
    public static Tensor hardsigmoid(Tensor x, boolean inplace) {
        return inplace ? x.hardsigmoid_() : x.hardsigmoid();
    }

    /** {@code F.hardswish(x, inplace)}. */
    public static Tensor hardswish(Tensor x, boolean inplace) {
        return inplace ? x.hardswish_() : x.hardswish();
    }

    public static Tensor sigmoid(Tensor x) {
        return x.sigmoid();
    }

    public static Tensor tanh(Tensor x) {
        return x.tanh();
    }

    /** {@code F.silu(x)}: {@code x * sigmoid(x)}. */
    public static Tensor silu(Tensor x) {
        return x.silu();
    }

    /** {@code F.mish(x)}: {@code x * tanh(softplus(x))}. */
    public static Tensor mish(Tensor x) {
        return x.mish();
    }

    /** {@code F.leaky_relu(x)}: slope 0.01 below 0. */
    public static Tensor leakyRelu(Tensor x) {
        return x.leakyRelu(0.01);
    }

    /** {@code F.leaky_relu(x, negative_slope)}. */
    public static Tensor leakyRelu(Tensor x, double negativeSlope) {
        return x.leakyRelu(negativeSlope);
    }

    /** {@code F.elu(x)}: alpha 1. */
    public static Tensor elu(Tensor x) {
        return x.elu(1.0);
    }

    /** {@code F.elu(x, alpha)}: {@code x > 0 ? x : alpha * (e^x - 1)}. */
    public static Tensor elu(Tensor x, double alpha) {
        return x.elu(alpha);
    }

    /** {@code F.softplus(x)}: beta 1, threshold 20. */
    public static Tensor softplus(Tensor x) {
        return x.softplus(1, 20);
    }

    /** {@code F.softplus(x, beta, threshold)}. */
    public static Tensor softplus(Tensor x, double beta, double threshold) {
        return x.softplus(beta, threshold);
    }

    /** {@code F.hardtanh(x)}: limited to [-1, 1]. */
    public static Tensor hardtanh(Tensor x) {
        return x.hardtanh(-1, 1);
    }

    /** {@code F.hardtanh(x, min_val, max_val)}. */
    public static Tensor hardtanh(Tensor x, double minVal, double maxVal) {
        return x.hardtanh(minVal, maxVal);
    }

    /** {@code F.relu6(x)}: hardtanh(x, 0, 6). */
    public static Tensor relu6(Tensor x) {
        return x.relu6();
    }

    /** {@code F.hardsigmoid(x)}: {@code min(max(x + 3, 0), 6) / 6}. */
    public static Tensor hardsigmoid(Tensor x) {
        return x.hardsigmoid();
    }

    /** {@code F.hardswish(x)}: {@code x * min(max(x + 3, 0), 6) / 6}. */
    public static Tensor hardswish(Tensor x) {
        return x.hardswish();
    }

    /** {@code F.gelu(x)}: the exact GELU, {@code x * Phi(x)}. */
    public static Tensor gelu(Tensor x) {
        return x.gelu();
    }

    /** {@code F.gelu(x, approximate="tanh")}; {@code "none"} is the exact form. */
    public static Tensor gelu(Tensor x, String approximate) {
        return x.gelu(approximate);
    }

    /** {@code F.embedding(input, weight)}: rows of weight at the int64 indices of input. */
    public static Tensor embedding(Tensor input, Tensor weight) {
        return Tensor.embedding(input, weight, null);
    }

    /** {@code F.embedding(input, weight, padding_idx)}: the padding row gets no gradient. */
    public static Tensor embedding(Tensor input, Tensor weight, Integer paddingIdx) {
        return Tensor.embedding(input, weight, paddingIdx);
    }

    /**
     * {@code F.embedding_bag(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
     * per_sample_weights, include_last_offset, padding_idx)}: per bag, the sum ({@code perSampleWeights}-weighted if
     * given), mean or max of the rows of weight at its indices. {@code input} is {@code [B, N]} (offsets null) or
     * 1-d with int64 {@code offsets} (bag i from offsets[i]); empty bags give zeros; padding_idx entries are left out.
     */
    public static Tensor embeddingBag(Tensor input, Tensor weight, Tensor offsets, Double maxNorm, double normType, boolean scaleGradByFreq,
                                      String mode, boolean sparse, Tensor perSampleWeights, boolean includeLastOffset, Integer paddingIdx) {
        return NnExtras.embeddingBag(input, weight, offsets, maxNorm, normType, scaleGradByFreq, mode, sparse, perSampleWeights,
                includeLastOffset, paddingIdx);
    }

    /** {@code F.embedding_bag(input, weight, offsets, mode=mode)}. */
    public static Tensor embeddingBag(Tensor input, Tensor weight, Tensor offsets, String mode) {
        return embeddingBag(input, weight, offsets, null, 2.0, false, mode, false, null, false, null);
    }

    /** {@code F.embedding_bag(input, weight, offsets)}: mode "mean", torch's default. */
    public static Tensor embeddingBag(Tensor input, Tensor weight, Tensor offsets) {
        return embeddingBag(input, weight, offsets, "mean");
    }

    /**
     * {@code F.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)}: {@code maxNorm}
     * (null for none) renormalises the referenced rows of weight in place first, as torch does; {@code sparse} true is
     * refused (Lanes has no sparse gradients).
     */
    public static Tensor embedding(Tensor input, Tensor weight, Integer paddingIdx, Double maxNorm, double normType, boolean scaleGradByFreq,
                                   boolean sparse) {
        return Tensor.embedding(input, weight, paddingIdx, maxNorm, normType, scaleGradByFreq, sparse);
    }

    /** {@code F.one_hot(tensor, num_classes)}: int64; -1 infers the class count from the largest index. */
    public static Tensor oneHot(Tensor indices, int numClasses) {
        return Tensor.oneHot(indices, numClasses);
    }

    /** {@code F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)}; see {@link Tensor#batchNorm}. */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training,
                                   double momentum, double eps) {
        return Tensor.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps);
    }

    /** {@code F.group_norm(input, num_groups, weight, bias, eps)}; weight and bias ([C]) may be null. See {@link Tensor#groupNorm}. */
    public static Tensor groupNorm(Tensor input, int numGroups, Tensor weight, Tensor bias, double eps) {
        return Tensor.groupNorm(input, numGroups, weight, bias, eps);
    }

    /** {@code F.group_norm(input, num_groups)} without affine parameters, eps 1e-5. */
    public static Tensor groupNorm(Tensor input, int numGroups) {
        return Tensor.groupNorm(input, numGroups, null, null, 1e-5);
    }

    /**
     * {@code F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)}; any of the
     * running statistics, weight and bias may be null (use_input_stats false needs the running statistics). See
     * {@link Tensor#instanceNorm}.
     */
    public static Tensor instanceNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean useInputStats,
                                      double momentum, double eps) {
        return Tensor.instanceNorm(input, runningMean, runningVar, weight, bias, useInputStats, momentum, eps);
    }

    /** {@code F.instance_norm(input)}: each instance's own statistics, no affine parameters, eps 1e-5. */
    public static Tensor instanceNorm(Tensor input) {
        return Tensor.instanceNorm(input, null, null, null, null, true, 0.1, 1e-5);
    }

    /** {@code F.layer_norm(input, normalized_shape, weight, bias, eps)}; weight and bias may be null. */
    public static Tensor layerNorm(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Tensor.layerNorm(input, normalizedShape, weight, bias, eps);
    }

    /** {@code F.layer_norm(input, normalized_shape)} without affine parameters, eps 1e-5. */
    public static Tensor layerNorm(Tensor input, int... normalizedShape) {
        return Tensor.layerNorm(input, normalizedShape, null, null, 1e-5);
    }

    public static Tensor softmax(Tensor x, int dim) {
        return x.softmax(dim);
    }

    public static Tensor logSoftmax(Tensor x, int dim) {
        return x.logSoftmax(dim);
    }

    /**
     * {@code x W^T + b} with the bias fused into the GEMM (grad_fn AddmmBackward0 for 2-d input, like PyTorch). A
     * contiguous input of more dims ({@code [B, T, C]}) is one GEMM over its {@code B * T} rows, viewed back (like
     * PyTorch's flattened linear: grad_fn ViewBackward0), never a batched product that repeats the weight per batch.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() == 1 && bias == null) {
            return x.matmul(weight); // PyTorch's no-bias path, matmul(x, weight.t()): a vector's t() is itself
        }
        if (x.dim() == 2) {
            if (bias == null) {
                return x.mm(weight.t());
            }
            return Tensor.addmm(bias, x, weight.t());
        }
        if (x.dim() > 2 && x.isContiguous() && weight.dim() == 2 && x.size(-1) == weight.size(1)) {
            int[] outShape = x.shape();
            outShape[outShape.length - 1] = weight.size(0);
            Tensor rows = x.reshape(leading(x), x.size(-1)); // explicit: reshape(-1, 0) cannot infer the rows
            Tensor y = bias == null ? rows.mm(weight.t()) : Tensor.addmm(bias, rows, weight.t());
            return y.view(outShape);
        }
        Tensor y = x.matmul(weight.t());
        return bias == null ? y : y.add(bias);
    }

    /** The product of all dims but the last (the rows a folded matrix product has). */
    private static int leading(Tensor x) {
        int rows = 1;
        for (int d = 0; d < x.dim() - 1; d++) {
            rows = Math.multiplyExact(rows, x.size(d));
        }
        return rows;
    }

    /**
     * {@code F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)} (PyTorch 2's function; the same
     * arithmetic as 1.13's multi-head attention): {@code softmax(q k^T / sqrt(E) + mask) v} over the last two dims,
     * with {@code q [..., L, E]}, {@code k [..., S, E]}, {@code v [..., S, Ev]} and batch dims that broadcast.
     * {@code attnMask} (may be null) is added to the scores (a float mask: 0 keeps, -inf drops; a bool mask: true keeps, as PyTorch's); {@code isCausal}
     * masks key j for query i when j > i (the top-left-aligned lower triangle, PyTorch's convention) and may not be
     * combined with a mask. Dropout on the attention weights with probability {@code dropoutP} (pass 0 in eval).
     *
     * <p>Two paths, the same numbers within float32 rounding: without a mask (dropout allowed), a context of at least
     * {@link #FLASH_MIN_KEYS} keys runs the tiled kernel ({@link Tensor#flashAttention}: online softmax over blocks of
     * keys, memory linear in the length, forward and backward); otherwise the simple path materialises the
     * {@code [L, S]} scores (fastest for short contexts, where the score matrix is small and GEMMs do the work).
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor attnMask, double dropoutP, boolean isCausal) {
        return scaledDotProductAttention(q, k, v, attnMask, dropoutP, isCausal, 1 / Math.sqrt(q.size(-1)));
    }

    /**
     * Keys from which {@link #scaledDotProductAttention} takes the tiled path (when it may: no mask). With dropout
     * the two paths draw different masks from the same seed (the tiled one hashes element indices).
     * Below it the key block of 64 is mostly padding and the GEMM path is faster; from 64 keys the tiled kernel is
     * faster forward and backward and its memory stays linear in the length (AttentionBench, causal [8, 4, T, 32],
     * one thread, Xeon AVX-512: T = 32 simple 0.77 ms vs tiled 0.96 ms per training step; T = 64 3.5 vs 1.8;
     * T = 128 7.9 vs 4.6).
     */
    public static final int FLASH_MIN_KEYS = 64;

    /** {@link #scaledDotProductAttention} with the scores multiplied by {@code scale} (PyTorch 2.1's {@code scale=}). */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor attnMask, double dropoutP, boolean isCausal, double scale) {
        if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2) {
            throw new IllegalArgumentException("scaled_dot_product_attention: query, key and value need at least 2 dims, got shapes "
                    + q.size() + ", " + k.size() + ", " + v.size());
        }
        if (q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: expected query [..., L, E], key [..., S, E], value [..., S, Ev];"
                    + " got " + q.size() + ", " + k.size() + ", " + v.size());
        }
        if (isCausal && attnMask != null) {
            throw new IllegalArgumentException("scaled_dot_product_attention: explicit attn_mask should not be set when is_causal=True");
        }
        if (attnMask != null && attnMask.dtype() == dev.lanes.DType.BOOL) {
            attnMask = boolMask(attnMask);
        }
        if (!(dropoutP >= 0 && dropoutP <= 1)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: dropout_p must be in [0, 1], got " + dropoutP);
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: scale must be a positive finite number, got " + scale);
        }
        if (attnMask == null && dropoutP < 1 && k.size(-2) >= FLASH_MIN_KEYS) {
            return Tensor.flashAttention(q, k, v, isCausal, scale, dropoutP);
        }
        Tensor scores = q.matmul(k.transpose(-2, -1)).mul(scale);
        if (isCausal) {
            try (Tensor mask = causalMask(q.size(-2), k.size(-2))) {
                scores = scores.add(mask);
            }
        } else if (attnMask != null) {
            scores = scores.add(attnMask);
        }
        Tensor weights = scores.softmax(-1);
        if (dropoutP > 0) {
            weights = weights.dropout(dropoutP, true);
        }
        return weights.matmul(v);
    }

    /**
     * A boolean attention mask as PyTorch reads it, true = take part: 0 where true, -inf where false (its float form
     * added to the scores; the mask's 1.0 / 0.0 as floats would have masked nothing).
     */
    public static Tensor boolMask(Tensor mask) {
        try (Tensor dropped = mask.eq(0); Tensor zeros = Tensor.zeros(mask.shape())) {
            return zeros.maskedFill(dropped, Double.NEGATIVE_INFINITY);
        }
    }

    /** {@code [L, S]}: 0 where key j may be seen by query i (j <= i), -inf elsewhere. */
    public static Tensor causalMask(int l, int s) {
        if (l < 0 || s < 0 || (long) l * s > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("causal mask of " + l + " x " + s + " is out of range");
        }
        float[] m = new float[l * s];
        for (int i = 0; i < l; i++) {
            for (int j = i + 1; j < s; j++) {
                m[i * s + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return Tensor.of(m, l, s);
    }

    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias) {
        return Tensor.conv2d(x, weight, bias);
    }

    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups) {
        return Tensor.conv2d(x, weight, bias, stride, padding, dilation, groups);
    }

    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, String padding, int[] dilation, int groups) {
        return Tensor.conv2d(x, weight, bias, stride, padding, dilation, groups);
    }

    /** {@code F.conv1d(x, weight, bias)}: stride 1, no padding. */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias) {
        return conv1d(x, weight, bias, 1, 0, 1, 1);
    }

    /**
     * {@code F.conv1d(x, weight, bias, stride, padding, dilation, groups)} of {@code [N, C, L]} (or unbatched
     * {@code [C, L]}) with {@code weight [out, C / groups, K]}: conv2d on the views {@code [N, C, 1, L]} and
     * {@code [out, C / groups, 1, K]} (no copies), the result viewed back to {@code [N, out, Lout]}.
     */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        boolean batched = check1d(x, weight, groups, padding, dilation);
        // the unsqueezed views and the 2-d result are temporaries: released with the scope, the returned view keeps the
        // result's storage (a graph keeps what it saved)
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor x4 = (batched ? x : x.unsqueeze(0)).unsqueeze(2);
            Tensor y = Tensor.conv2d(x4, weight.unsqueeze(2), bias, new int[] {1, stride}, new int[] {0, padding}, new int[] {1, dilation}, groups)
                    .squeeze(2);
            return scope.keep(batched ? y : y.squeeze(0));
        }
    }

    /** {@link #conv1d} with {@code padding = "same"} (stride 1 only; an odd total puts the extra column on the right) or {@code "valid"}. */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, int stride, String padding, int dilation, int groups) {
        boolean batched = check1d(x, weight, groups, -1, dilation); // padding -1: the kernel check is conv2d's
        try (MemoryScope scope = MemoryScope.open()) { // as above
            Tensor x4 = (batched ? x : x.unsqueeze(0)).unsqueeze(2);
            Tensor y = Tensor.conv2d(x4, weight.unsqueeze(2), bias, new int[] {1, stride}, padding, new int[] {1, dilation}, groups).squeeze(2);
            return scope.keep(batched ? y : y.squeeze(0));
        }
    }

    /** PyTorch's conv1d checks, with its messages; true for a batched input. */
    private static boolean check1d(Tensor x, Tensor weight, int groups, int padding, int dilation) {
        if (x.dim() != 2 && x.dim() != 3) {
            throw new IllegalArgumentException("Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
                    + java.util.Arrays.toString(x.shape()));
        }
        if (weight.dim() != 3) {
            throw new IllegalArgumentException("conv1d: expected a 3-d weight [out_channels, in_channels / groups, kW] but got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        if (groups > 0 && x.size(-2) != weight.size(1) * groups) {
            throw new IllegalArgumentException("Given groups=" + groups + ", weight of size " + java.util.Arrays.toString(weight.shape())
                    + ", expected input" + java.util.Arrays.toString(x.shape()) + " to have " + (weight.size(1) * groups)
                    + " channels, but got " + x.size(-2) + " channels instead");
        }
        long padded = x.size(-1) + 2L * padding;
        long kernel = (long) dilation * (weight.size(2) - 1) + 1;
        if (padding >= 0 && dilation > 0 && padded < kernel) {
            throw new IllegalArgumentException("Calculated padded input size per channel: (" + padded + "). Kernel size: (" + kernel
                    + "). Kernel size can't be greater than actual input size");
        }
        return x.dim() == 3;
    }

    /** {@code conv_transpose2d(x, weight, bias)}: stride 1, no padding. */
    public static Tensor convTranspose2d(Tensor x, Tensor weight, Tensor bias) {
        return Tensor.convTranspose2d(x, weight, bias);
    }

    /**
     * {@code conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)} of a batched
     * {@code [N, C, H, W]} or unbatched {@code [C, H, W]} input (viewed as a batch of one), with PyTorch's messages for
     * an input of another rank or channel count.
     */
    public static Tensor convTranspose2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] outputPadding, int groups,
                                         int[] dilation) {
        if (x.dim() != 3 && x.dim() != 4) {
            throw new IllegalArgumentException("Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: " + java.util.Arrays.toString(x.shape()));
        }
        if (weight.dim() == 4 && x.size(-3) != weight.size(0)) {
            throw new IllegalArgumentException("Given transposed=1, weight of size " + java.util.Arrays.toString(weight.shape()) + ", expected input" + java.util.Arrays.toString(x.shape()) + " to have "
                    + weight.size(0) + " channels, but got " + x.size(-3) + " channels instead");
        }
        if (x.dim() == 3) {
            try (MemoryScope scope = MemoryScope.open()) { // the batch-of-one view and its result: temporaries (see conv1d)
                return scope.keep(Tensor.convTranspose2d(x.unsqueeze(0), weight, bias, stride, padding, outputPadding, groups, dilation).squeeze(0));
            }
        }
        return Tensor.convTranspose2d(x, weight, bias, stride, padding, outputPadding, groups, dilation);
    }

    /** {@code max_pool2d(x, k)}: square window of k, stride k. */
    public static Tensor maxPool2d(Tensor x, int kernelSize) {
        return Tensor.maxPool2d(x, kernelSize);
    }

    public static Tensor maxPool2d(Tensor x, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        return Tensor.maxPool2d(x, kernelSize, stride, padding, dilation, ceilMode);
    }

    /**
     * {@code F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode)} of {@code [N, C, L]} or {@code [C, L]}:
     * max_pool2d on the view {@code [..., 1, L]} with a {@code 1 x kernel} window; stride null means the kernel size.
     */
    public static Tensor maxPool1d(Tensor x, int kernelSize, Integer stride, int padding, int dilation, boolean ceilMode) {
        if (x.dim() != 2 && x.dim() != 3) {
            throw new IllegalArgumentException("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:"
                    + java.util.Arrays.toString(x.shape()));
        }
        int s = stride == null ? kernelSize : stride;
        try (MemoryScope scope = MemoryScope.open()) { // the view and the 2-d result: temporaries (see conv1d)
            return scope.keep(Tensor.maxPool2d(x.unsqueeze(-2), new int[] {1, kernelSize}, new int[] {1, s}, new int[] {0, padding},
                    new int[] {1, dilation}, ceilMode).squeeze(-2));
        }
    }

    /** {@code F.max_pool1d(x, k)}: window k, stride k. */
    public static Tensor maxPool1d(Tensor x, int kernelSize) {
        return maxPool1d(x, kernelSize, null, 0, 1, false);
    }

    /**
     * {@code F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)} of {@code [N, C, L]} or
     * {@code [C, L]}: avg_pool2d on the view {@code [..., 1, L]}; stride null means the kernel size.
     */
    public static Tensor avgPool1d(Tensor x, int kernelSize, Integer stride, int padding, boolean ceilMode, boolean countIncludePad) {
        if (x.dim() != 2 && x.dim() != 3) {
            throw new IllegalArgumentException("Expected 2 to 3 dimensions, but got " + x.dim() + "-dimensional tensor for argument #1 'self'"
                    + " (while checking arguments for avg_pool1d): shape " + java.util.Arrays.toString(x.shape()));
        }
        int s = stride == null ? kernelSize : stride;
        try (MemoryScope scope = MemoryScope.open()) { // the view and the 2-d result: temporaries (see conv1d)
            return scope.keep(Tensor.avgPool2d(x.unsqueeze(-2), new int[] {1, kernelSize}, new int[] {1, s}, new int[] {0, padding}, ceilMode,
                    countIncludePad).squeeze(-2));
        }
    }

    /** {@code F.avg_pool1d(x, k)}: window k, stride k. */
    public static Tensor avgPool1d(Tensor x, int kernelSize) {
        return avgPool1d(x, kernelSize, null, 0, false, true);
    }

    public static Tensor avgPool2d(Tensor x, int kernelSize) {
        return Tensor.avgPool2d(x, kernelSize);
    }

    public static Tensor avgPool2d(Tensor x, int[] kernelSize, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        return Tensor.avgPool2d(x, kernelSize, stride, padding, ceilMode, countIncludePad);
    }

    public static Tensor adaptiveAvgPool2d(Tensor x, int... outputSize) {
        return Tensor.adaptiveAvgPool2d(x, outputSize);
    }

    /**
     * {@code F.interpolate(x, size, scale_factor, mode, align_corners)} (torch 1.13, recompute_scale_factor unset) of
     * {@code [N, C, H, W]} with mode {@code "nearest"} or {@code "bilinear"}, or of {@code [N, C, L]} with
     * {@code "nearest"} or {@code "linear"}. Exactly one of {@code size} and {@code scaleFactor} (each one value for
     * every spatial dim, or one per dim) is given; a scale factor makes each size {@code floor(in * scale)} and is
     * itself the scale the source positions use (not {@code in / out}), as PyTorch's. Nearest reads source
     * {@code min(floor(o * scale), in - 1)} with {@code scale = 1 / scale_factor} or {@code in / out} (torch 1.13's
     * forward for more than one channel and for 3-d input; its single-channel 4-d forward and its backward instead read
     * {@code o} where the size is unchanged and {@code o / 2} where it doubled, which differs only for a scale factor
     * that is not 1 or 2 but floors to such a size, e.g. 2.3 on a length of 3); linear reads
     * {@code scale (o + 0.5) - 0.5} (clamped at 0), or with {@code alignCorners} {@code o (in - 1) / (out - 1)}.
     * {@code alignCorners} null means false; it may not be set for nearest. A 4-d float32 input runs one fused kernel
     * each way ({@code kernels.Upsample}), with the bits of {@link Resample} on H then W, which 3-d input runs:
     * differentiable, and traceable into a plan (indices and weights are constants of the sizes).
     */
    public static Tensor interpolate(Tensor x, int[] size, double[] scaleFactor, String mode, Boolean alignCorners) {
        boolean linear = mode.equals("linear") || mode.equals("bilinear");
        if (!linear && !mode.equals("nearest")) {
            if (java.util.Set.of("bicubic", "trilinear", "area", "nearest-exact").contains(mode)) {
                throw new UnsupportedOperationException("interpolate: mode '" + mode + "' (Lanes interpolates nearest, linear and bilinear)");
            }
            throw new IllegalArgumentException("Input Error: Only 3D, 4D and 5D input Tensors supported (got " + x.dim() + "D) for the modes: "
                    + "nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got " + mode + ")");
        }
        if (alignCorners != null && !linear) {
            throw new IllegalArgumentException("align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear");
        }
        int spatial = x.dim() - 2;
        if (mode.equals("bilinear") && x.dim() != 4) {
            throw new IllegalArgumentException("Got " + x.dim() + "D input, but bilinear mode needs 4D input (shape " + java.util.Arrays.toString(x.shape()) + ")");
        }
        if (mode.equals("linear") && x.dim() != 3) {
            throw new IllegalArgumentException("Got " + x.dim() + "D input, but linear mode needs 3D input (shape " + java.util.Arrays.toString(x.shape()) + ")");
        }
        if (spatial != 1 && spatial != 2) {
            throw new IllegalArgumentException("interpolate: expected a 3-d [N, C, L] or 4-d [N, C, H, W] input, got shape " + java.util.Arrays.toString(x.shape()));
        }
        if (size != null && scaleFactor != null) {
            throw new IllegalArgumentException("only one of size or scale_factor should be defined");
        }
        if (size == null && scaleFactor == null) {
            throw new IllegalArgumentException("either size or scale_factor should be defined");
        }
        int[] in = java.util.Arrays.copyOfRange(x.shape(), 2, x.dim());
        int[] out = new int[spatial];
        if (size != null) {
            if (size.length != 1 && size.length != spatial) {
                throw new IllegalArgumentException("Input and output must have the same number of spatial dimensions, but got input with spatial"
                        + " dimensions of " + java.util.Arrays.toString(in) + " and output size of " + java.util.Arrays.toString(size)
                        + ". Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.");
            }
            for (int d = 0; d < spatial; d++) {
                out[d] = size[size.length == 1 ? 0 : d];
            }
        } else {
            if (scaleFactor.length != 1 && scaleFactor.length != spatial) {
                throw new IllegalArgumentException("Input and scale_factor must have the same number of spatial dimensions, but got input with spatial"
                        + " dimensions of " + java.util.Arrays.toString(in) + " and scale_factor of shape " + java.util.Arrays.toString(scaleFactor)
                        + ". Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.");
            }
            for (int d = 0; d < spatial; d++) {
                double sc = scaleFactor[scaleFactor.length == 1 ? 0 : d];
                if (!(sc > 0) || Double.isInfinite(sc)) {
                    throw new IllegalArgumentException("interpolate: scale_factor must be positive and finite, got " + sc);
                }
                double o = Math.floor(in[d] * sc);
                if (o > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("interpolate: scale_factor " + sc + " makes a size of " + o + " from " + in[d]);
                }
                out[d] = (int) o;
            }
        }
        for (int d = 0; d < spatial; d++) {
            if (in[d] <= 0 || out[d] <= 0) {
                throw new IllegalArgumentException("Input and output sizes should be greater than 0, but got input (" + join(in) + ") and output ("
                        + join(out) + ")");
            }
        }
        boolean corners = alignCorners != null && alignCorners;
        // the result of each axis but the last is a temporary: released with the scope (a graph keeps what it saved)
        try (dev.lanes.memory.MemoryScope scope = dev.lanes.memory.MemoryScope.open()) {
            return scope.keep(resampleAxes(x, in, out, scaleFactor, linear, corners, true));
        }
    }

    /**
     * The resize: 4-d float32 input in one fused kernel ({@link Tensor#upsampleNearest2d} /
     * {@link Tensor#upsampleBilinear2d}) when {@code fused}, otherwise (and for 3-d input) {@link Resample} on each
     * spatial axis, H then W; both give the same bits. Package-private for the test comparing the two.
     */
    static Tensor resampleAxes(Tensor x, int[] in, int[] out, double[] scaleFactor, boolean linear, boolean corners, boolean fused) {
        int spatial = in.length;
        if (fused && spatial == 2 && x.dtype() == dev.lanes.DType.FLOAT32) {
            if (linear) {
                return Tensor.upsampleBilinear2d(x, linearSource(in, out, scaleFactor, corners, 0), linearSource(in, out, scaleFactor, corners, 1));
            }
            long[] rows = nearestIndex(in, out, scaleFactor, 0);
            long[] cols = nearestIndex(in, out, scaleFactor, 1);
            return Tensor.upsampleNearest2d(x, toInts(rows), toInts(cols));
        }
        Tensor t = x;
        for (int d = 0; d < spatial; d++) {
            if (linear) {
                t = Resample.linear(t, 2 + d, linearSource(in, out, scaleFactor, corners, d));
            } else {
                t = Resample.nearest(t, 2 + d, nearestIndex(in, out, scaleFactor, d));
            }
        }
        return t;
    }

    /** PyTorch computes the scale in float (float32 input): the same here. */
    private static float axisScale(int[] in, int[] out, double[] scaleFactor, int d) {
        return scaleFactor != null ? (float) (1.0 / scaleFactor[scaleFactor.length == 1 ? 0 : d]) : (float) in[d] / out[d];
    }

    /** The source coordinate of each output position along spatial axis d (linear), computed in float as PyTorch's. */
    private static double[] linearSource(int[] in, int[] out, double[] scaleFactor, boolean corners, int d) {
        int i = in[d];
        int o = out[d];
        float scale = axisScale(in, out, scaleFactor, d);
        float cornerScale = o > 1 ? (float) (i - 1) / (o - 1) : 0f;
        double[] source = new double[o];
        for (int k = 0; k < o; k++) {
            source[k] = corners ? cornerScale * k : Math.max(0f, scale * (k + 0.5f) - 0.5f);
        }
        return source;
    }

    /** The source index of each output position along spatial axis d (nearest). */
    private static long[] nearestIndex(int[] in, int[] out, double[] scaleFactor, int d) {
        float scale = axisScale(in, out, scaleFactor, d);
        long[] index = new long[out[d]];
        for (int k = 0; k < index.length; k++) {
            index[k] = Math.min((long) Math.floor(k * scale), in[d] - 1);
        }
        return index;
    }

    private static int[] toInts(long[] v) {
        int[] r = new int[v.length];
        for (int k = 0; k < v.length; k++) {
            r[k] = (int) v[k];
        }
        return r;
    }

    /** {@code F.interpolate(x, scale_factor=s, mode=mode)}. */
    public static Tensor interpolate(Tensor x, double scaleFactor, String mode) {
        return interpolate(x, null, new double[] {scaleFactor}, mode, null);
    }

    private static String join(int[] v) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ", ").append(v[i]);
        }
        return s.toString();
    }

    /**
     * {@code F.pixel_shuffle(x, r)}: {@code [*, C r^2, H, W]} to {@code [*, C, H r, W r]} (a reshape, a permute and a
     * reshape: differentiable and traceable).
     */
    public static Tensor pixelShuffle(Tensor x, int upscaleFactor) {
        int n = x.dim();
        if (n < 3) {
            throw new IllegalArgumentException("pixel_shuffle expects input to have at least 3 dimensions, but got input with " + n + " dimension(s)");
        }
        int r = upscaleFactor;
        if (r <= 0) {
            throw new IllegalArgumentException("pixel_shuffle expects a positive upscale_factor, but got " + r);
        }
        int c = x.size(-3);
        int h = x.size(-2);
        int w = x.size(-1);
        if (c % (r * r) != 0) {
            throw new IllegalArgumentException("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but"
                    + " input.size(-3)=" + c + " is not divisible by " + (r * r));
        }
        int lead = n - 3;
        int[] split = leadingPlus(x, lead, c / (r * r), r, r, h, w);
        int[] perm = leadingPerm(lead, 0, 3, 1, 4, 2);
        int[] out = leadingPlus(x, lead, c / (r * r), h * r, w * r);
        return x.reshape(split).permute(perm).reshape(out);
    }

    /** {@code F.pixel_unshuffle(x, r)}: {@code [*, C, H r, W r]} to {@code [*, C r^2, H, W]}, pixel_shuffle's inverse. */
    public static Tensor pixelUnshuffle(Tensor x, int downscaleFactor) {
        int n = x.dim();
        if (n < 3) {
            throw new IllegalArgumentException("pixel_unshuffle expects input to have at least 3 dimensions, but got input with " + n + " dimension(s)");
        }
        int r = downscaleFactor;
        if (r <= 0) {
            throw new IllegalArgumentException("pixel_unshuffle expects a positive downscale_factor, but got " + r);
        }
        int c = x.size(-3);
        int h = x.size(-2);
        int w = x.size(-1);
        if (h % r != 0) {
            throw new IllegalArgumentException("pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)=" + h
                    + " is not divisible by " + r);
        }
        if (w % r != 0) {
            throw new IllegalArgumentException("pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)=" + w
                    + " is not divisible by " + r);
        }
        int lead = n - 3;
        int[] split = leadingPlus(x, lead, c, h / r, r, w / r, r);
        int[] perm = leadingPerm(lead, 0, 2, 4, 1, 3);
        int[] out = leadingPlus(x, lead, c * r * r, h / r, w / r);
        return x.reshape(split).permute(perm).reshape(out);
    }

    /** x's first {@code lead} sizes followed by {@code rest}. */
    private static int[] leadingPlus(Tensor x, int lead, int... rest) {
        int[] s = new int[lead + rest.length];
        for (int i = 0; i < lead; i++) {
            s[i] = x.size(i);
        }
        System.arraycopy(rest, 0, s, lead, rest.length);
        return s;
    }

    /** The identity on the first {@code lead} dims, then {@code tail} shifted past them. */
    private static int[] leadingPerm(int lead, int... tail) {
        int[] p = new int[lead + tail.length];
        for (int i = 0; i < lead; i++) {
            p[i] = i;
        }
        for (int i = 0; i < tail.length; i++) {
            p[lead + i] = lead + tail[i];
        }
        return p;
    }

    /** {@code F.pad(x, pad)}: constant padding with zeros. */
    public static Tensor pad(Tensor x, int... pad) {
        return pad(x, pad, "constant", 0);
    }

    /**
     * {@code F.pad(x, pad, mode, value)}: {@code pad} lists (left, right) pairs from the last dim backwards
     * ({@code (left, right, top, bottom, ...)}). Mode {@code "constant"} fills with {@code value} (a negative amount
     * crops); {@code "reflect"} mirrors without repeating the edge (each amount below the dim's size), {@code "replicate"}
     * repeats the edge (both non-negative). Constant padding concatenates filled blocks, reflect / replicate are an
     * index_select per padded dim: differentiable and traceable.
     */
    public static Tensor pad(Tensor x, int[] pad, String mode, double value) {
        if (pad.length % 2 != 0) {
            throw new IllegalArgumentException("Padding length must be divisible by 2");
        }
        if (pad.length / 2 > x.dim()) {
            throw new IllegalArgumentException("Padding length too large (" + pad.length + " values for an input of shape "
                    + java.util.Arrays.toString(x.shape()) + ")");
        }
        boolean constant = mode.equals("constant");
        if (!constant && !mode.equals("reflect") && !mode.equals("replicate")) {
            if (mode.equals("circular")) {
                throw new UnsupportedOperationException("pad: mode 'circular' (Lanes pads constant, reflect and replicate)");
            }
            throw new IllegalArgumentException("Unrecognised padding mode " + mode);
        }
        // the crops, fill blocks and the result of each padded dim but the last are temporaries, released with the scope
        try (dev.lanes.memory.MemoryScope scope = dev.lanes.memory.MemoryScope.open()) {
            return scope.keep(padDims(x, pad, mode, value, constant));
        }
    }

    private static Tensor padDims(Tensor x, int[] pad, String mode, double value, boolean constant) {
        Tensor t = x;
        for (int i = 0; i < pad.length / 2; i++) {
            int d = x.dim() - 1 - i;
            int left = pad[2 * i];
            int right = pad[2 * i + 1];
            int size = t.size(d);
            if (constant) {
                long outSize = (long) size + left + right;
                if (outSize < 0 || (outSize == 0 && size > 0 && (left < 0 || right < 0))) {
                    throw new IllegalArgumentException("The input size " + size + ", plus negative padding " + left + " and " + right
                            + " resulted in a negative output size, which is invalid. Check dimension " + d + " of your input.");
                }
                int cropL = Math.max(0, -left);
                int cropR = Math.max(0, -right);
                if (cropL > 0 || cropR > 0) {
                    t = t.narrow(d, cropL, size - cropL - cropR);
                }
                if (left > 0 || right > 0) {
                    java.util.List<Tensor> parts = new java.util.ArrayList<>();
                    if (left > 0) {
                        parts.add(filled(t, d, left, value));
                    }
                    parts.add(t);
                    if (right > 0) {
                        parts.add(filled(t, d, right, value));
                    }
                    t = Tensor.cat(parts, d);
                }
                continue;
            }
            if (left < 0 || right < 0) {
                throw new IllegalArgumentException("pad: negative padding (" + left + ", " + right + ") with mode '" + mode + "'");
            }
            if (mode.equals("reflect") && (left >= size || right >= size)) {
                throw new IllegalArgumentException("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ("
                        + left + ", " + right + ") at dimension " + d + " of input " + java.util.Arrays.toString(x.shape()));
            }
            if (size == 0) {
                throw new IllegalArgumentException("pad: " + mode + " padding of an empty dimension " + d + " of " + java.util.Arrays.toString(x.shape()));
            }
            if (left == 0 && right == 0) {
                continue;
            }
            long[] index = new long[size + left + right];
            for (int j = 0; j < index.length; j++) {
                int src = j - left;
                if (mode.equals("reflect")) {
                    src = src < 0 ? -src : src >= size ? 2 * (size - 1) - src : src;
                } else {
                    src = Math.max(0, Math.min(size - 1, src));
                }
                index[j] = src;
            }
            t = Resample.nearest(t, d, index);
        }
        return t == x ? x.mul(1f) : t.contiguous();
    }

    /** A block shaped as t but {@code n} long along {@code d}, filled with {@code value}. */
    private static Tensor filled(Tensor t, int d, int n, double value) {
        int[] shape = t.shape();
        shape[d] = n;
        return Tensor.full(shape, (float) value);
    }

    /**
     * {@code F.dropout2d(x, p, training)} (torch 1.13's feature dropout): while training each {@code (n, c)} slice of
     * {@code [N, C, ...]} is zeroed whole with probability p, the rest scaled by {@code 1 / (1 - p)}; the mask
     * {@code [N, C, 1, ...]} is drawn as {@link Tensor#dropout}'s (from Lanes' seed). A 3-d input is read as
     * {@code [N, C, L]}, as torch 1.13 does. The identity when not training.
     */
    public static Tensor dropout2d(Tensor x, double p, boolean training) {
        return dropout2d(x, p, training, false);
    }

    /** {@code F.dropout2d(x, p, training, inplace)}: in place, x multiplied by the channel mask (MulBackward0, torch's feature_dropout_). */
    public static Tensor dropout2d(Tensor x, double p, boolean training, boolean inplace) {
        if (!(p >= 0 && p <= 1)) { // NaN too
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (x.dim() < 2) {
            throw new IllegalArgumentException("Feature dropout requires at least 2 dimensions in the input, got shape " + java.util.Arrays.toString(x.shape()));
        }
        int[] maskShape = new int[x.dim()];
        java.util.Arrays.fill(maskShape, 1);
        maskShape[0] = x.size(0);
        maskShape[1] = x.size(1);
        try (Tensor ones = Tensor.ones(maskShape); Tensor mask = ones.dropout(p, true)) {
            return inplace ? x.mul_(mask) : x.mul(mask);
        }
    }

    public static Tensor dropout(Tensor x, double p, boolean training) {
        return x.dropout(p, training);
    }

    /** {@code F.dropout(x, p, training, inplace)}: in place, x multiplied by the scaled mask (MulBackward0), as torch's dropout_. */
    public static Tensor dropout(Tensor x, double p, boolean training, boolean inplace) {
        return inplace ? x.dropout_(p, training) : x.dropout(p, training);
    }

    public static Tensor mseLoss(Tensor input, Tensor target) {
        return Losses.mseLoss(input, target, "mean");
    }

    public static Tensor mseLoss(Tensor input, Tensor target, String reduction) {
        return Losses.mseLoss(input, target, reduction);
    }

    public static Tensor l1Loss(Tensor input, Tensor target) {
        return Losses.l1Loss(input, target, "mean");
    }

    public static Tensor l1Loss(Tensor input, Tensor target, String reduction) {
        return Losses.l1Loss(input, target, reduction);
    }

    public static Tensor crossEntropy(Tensor input, Tensor target) {
        return Losses.crossEntropy(input, target, null, IGNORE_INDEX, 0, "mean");
    }

    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, double labelSmoothing, String reduction) {
        return Losses.crossEntropy(input, target, weight, ignoreIndex, labelSmoothing, reduction);
    }

    public static Tensor nllLoss(Tensor input, Tensor target) {
        return Losses.nllLoss(input, target, null, IGNORE_INDEX, "mean");
    }

    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, String reduction) {
        return Losses.nllLoss(input, target, weight, ignoreIndex, reduction);
    }

    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
        return Losses.bceWithLogits(input, target, null, null, "mean");
    }

    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, String reduction) {
        return Losses.bceWithLogits(input, target, weight, posWeight, reduction);
    }
    /** Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100), like {@code F.binary_cross_entropy}. */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target) {
        return Losses.binaryCrossEntropy(input, target, null, "mean");
    }

    /** {@link #binaryCrossEntropy(Tensor, Tensor)} with a weight (null, or broadcasting to the input) and a reduction. */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, String reduction) {
        return Losses.binaryCrossEntropy(input, target, weight, reduction);
    }

    /** Smooth L1 with beta 1, like {@code F.smooth_l1_loss}. */
    public static Tensor smoothL1Loss(Tensor input, Tensor target) {
        return Losses.smoothL1Loss(input, target, "mean", 1.0);
    }

    public static Tensor smoothL1Loss(Tensor input, Tensor target, String reduction, double beta) {
        return Losses.smoothL1Loss(input, target, reduction, beta);
    }

    /** Huber with delta 1, like {@code F.huber_loss}. */
    public static Tensor huberLoss(Tensor input, Tensor target) {
        return Losses.huberLoss(input, target, "mean", 1.0);
    }

    public static Tensor huberLoss(Tensor input, Tensor target, String reduction, double delta) {
        return Losses.huberLoss(input, target, reduction, delta);
    }

    /** KL divergence of log-probabilities {@code input} from probabilities {@code target}, reduction "mean", like {@code F.kl_div}. */
    public static Tensor klDiv(Tensor input, Tensor target) {
        return Losses.klDiv(input, target, "mean", false);
    }

    /** {@link #klDiv(Tensor, Tensor)} with reduction "none", "mean", "batchmean" or "sum", and log-probability targets. */
    public static Tensor klDiv(Tensor input, Tensor target, String reduction, boolean logTarget) {
        return Losses.klDiv(input, target, reduction, logTarget);
    }

    // ---- distances (torch 1.13's compositions; see NnExtras) ----

    /** {@code F.normalize(x)}: p = 2 over dim 1, eps 1e-12. */
    public static Tensor normalize(Tensor x) {
        return NnExtras.normalize(x, 2.0, 1, 1e-12);
    }

    /** {@code F.normalize(x, p, dim, eps)}: {@code x / max(||x||_p over dim, eps)}. */
    public static Tensor normalize(Tensor x, double p, int dim, double eps) {
        return NnExtras.normalize(x, p, dim, eps);
    }

    /** {@code F.cosine_similarity(x1, x2)}: dim 1, eps 1e-8. */
    public static Tensor cosineSimilarity(Tensor x1, Tensor x2) {
        return NnExtras.cosineSimilarity(x1, x2, 1, 1e-8);
    }

    /** {@code F.cosine_similarity(x1, x2, dim, eps)}: the operands broadcast; each divided by its 2-norm clamped at eps. */
    public static Tensor cosineSimilarity(Tensor x1, Tensor x2, int dim, double eps) {
        return NnExtras.cosineSimilarity(x1, x2, dim, eps);
    }

    /** {@code F.pairwise_distance(x1, x2)}: p 2, eps 1e-6. */
    public static Tensor pairwiseDistance(Tensor x1, Tensor x2) {
        return NnExtras.pairwiseDistance(x1, x2, 2.0, 1e-6, false);
    }

    /** {@code F.pairwise_distance(x1, x2, p, eps, keepdim)}: {@code ||x1 - x2 + eps||_p} over the broadcast's last dim. */
    public static Tensor pairwiseDistance(Tensor x1, Tensor x2, double p, double eps, boolean keepdim) {
        return NnExtras.pairwiseDistance(x1, x2, p, eps, keepdim);
    }

    // ---- more losses ----

    /** {@code F.margin_ranking_loss(input1, input2, target, margin, reduction)}: {@code max(0, -y (x1 - x2) + margin)}. */
    public static Tensor marginRankingLoss(Tensor input1, Tensor input2, Tensor target, double margin, String reduction) {
        return NnExtras.marginRankingLoss(input1, input2, target, margin, reduction);
    }

    public static Tensor marginRankingLoss(Tensor input1, Tensor input2, Tensor target) {
        return NnExtras.marginRankingLoss(input1, input2, target, 0, "mean");
    }

    /** {@code F.cosine_embedding_loss(input1, input2, target, margin, reduction)}: {@code 1 - cos} for y = 1, {@code max(0, cos - margin)} for y = -1. */
    public static Tensor cosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin, String reduction) {
        return NnExtras.cosineEmbeddingLoss(input1, input2, target, margin, reduction);
    }

    /** {@code F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction)}. */
    public static Tensor tripletMarginLoss(Tensor anchor, Tensor positive, Tensor negative, double margin, double p, double eps, boolean swap,
            String reduction) {
        return NnExtras.tripletMarginLoss(anchor, positive, negative, margin, p, eps, swap, reduction);
    }

    /** {@code F.soft_margin_loss(input, target, reduction)}: {@code log(1 + exp(-y x))}. */
    public static Tensor softMarginLoss(Tensor input, Tensor target, String reduction) {
        return NnExtras.softMarginLoss(input, target, reduction);
    }

    /** {@code F.multilabel_soft_margin_loss(input, target, weight, reduction)} (weight may be null). */
    public static Tensor multilabelSoftMarginLoss(Tensor input, Tensor target, Tensor weight, String reduction) {
        return NnExtras.multilabelSoftMarginLoss(input, target, weight, reduction);
    }

    /** {@code F.poisson_nll_loss(input, target, log_input, full, eps, reduction)}. */
    public static Tensor poissonNllLoss(Tensor input, Tensor target, boolean logInput, boolean full, double eps, String reduction) {
        return NnExtras.poissonNllLoss(input, target, logInput, full, eps, reduction);
    }

    /** {@code F.gaussian_nll_loss(input, target, var, full, eps, reduction)}. */
    public static Tensor gaussianNllLoss(Tensor input, Tensor target, Tensor var, boolean full, double eps, String reduction) {
        return NnExtras.gaussianNllLoss(input, target, var, full, eps, reduction);
    }

    // ---- more activations ----

    /** {@code F.logsigmoid(x)}: {@code -softplus(-x)}, stable for either sign. */
    public static Tensor logsigmoid(Tensor x) {
        return NnExtras.logsigmoid(x);
    }

    /** {@code F.softmin(x, dim)}: {@code softmax(-x, dim)}. */
    public static Tensor softmin(Tensor x, int dim) {
        return NnExtras.softmin(x, dim);
    }

    /** {@code F.softsign(x)}: {@code x / (1 + |x|)}. */
    public static Tensor softsign(Tensor x) {
        return NnExtras.softsign(x);
    }

    /** {@code F.tanhshrink(x)}: {@code x - tanh(x)}. */
    public static Tensor tanhshrink(Tensor x) {
        return NnExtras.tanhshrink(x);
    }

    /** {@code F.threshold(x, threshold, value)}: value where {@code x <= threshold}, x elsewhere. */
    public static Tensor threshold(Tensor x, double threshold, double value) {
        return NnExtras.threshold(x, threshold, value);
    }

    /** {@code F.selu(x)}: {@code scale * elu(x, alpha)}, alpha = 1.6732632..., scale = 1.0507009.... */
    public static Tensor selu(Tensor x) {
        return NnExtras.selu(x);
    }

    /** {@code F.celu(x, alpha)}: {@code x <= 0 ? alpha (e^(x / alpha) - 1) : x} (torch's default alpha is 1). */
    public static Tensor celu(Tensor x, double alpha) {
        return NnExtras.celu(x, alpha);
    }

    /** {@code F.hardshrink(x, lambd)}: 0 where {@code |x| <= lambd}, x elsewhere (torch's default lambd is 0.5). */
    public static Tensor hardshrink(Tensor x, double lambd) {
        return NnExtras.hardshrink(x, lambd);
    }

    /** {@code F.softshrink(x, lambd)}: x moved lambd toward 0, 0 where {@code |x| <= lambd} (lambd >= 0, default 0.5). */
    public static Tensor softshrink(Tensor x, double lambd) {
        return NnExtras.softshrink(x, lambd);
    }

    /** {@code F.prelu(x, weight)}: {@code x > 0 ? x : weight x}, one weight or one per channel (dim 1). */
    public static Tensor prelu(Tensor x, Tensor weight) {
        return NnExtras.prelu(x, weight);
    }

    /** {@code F.adaptive_max_pool2d(x, output_size)} (return_indices false) of {@code [N, C, H, W]} or {@code [C, H, W]}. */
    public static Tensor adaptiveMaxPool2d(Tensor x, int... outputSize) {
        return NnExtras.adaptiveMaxPool2d(x, outputSize);
    }

    /** {@code F.bilinear(x1, x2, weight, bias)}: {@code x1^T A x2 + b} over the last dims (bias may be null). */
    public static Tensor bilinear(Tensor x1, Tensor x2, Tensor weight, Tensor bias) {
        return NnExtras.bilinear(x1, x2, weight, bias);
    }
}
