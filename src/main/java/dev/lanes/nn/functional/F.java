package dev.lanes.nn.functional;

import dev.lanes.Losses;
import dev.lanes.Tensor;

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

    /** {@code F.one_hot(tensor, num_classes)}: int64; -1 infers the class count from the largest index. */
    public static Tensor oneHot(Tensor indices, int numClasses) {
        return Tensor.oneHot(indices, numClasses);
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
        if (x.dim() == 2) {
            if (bias == null) {
                return x.mm(weight.t());
            }
            return Tensor.addmm(bias, x, weight.t());
        }
        if (x.dim() > 2 && x.isContiguous() && weight.dim() == 2 && x.size(-1) == weight.size(1)) {
            int[] outShape = x.shape();
            outShape[outShape.length - 1] = weight.size(0);
            Tensor rows = x.reshape(-1, x.size(-1));
            Tensor y = bias == null ? rows.mm(weight.t()) : Tensor.addmm(bias, rows, weight.t());
            return y.view(outShape);
        }
        Tensor y = x.matmul(weight.t());
        return bias == null ? y : y.add(bias);
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

    /** {@code max_pool2d(x, k)}: square window of k, stride k. */
    public static Tensor maxPool2d(Tensor x, int kernelSize) {
        return Tensor.maxPool2d(x, kernelSize);
    }

    public static Tensor maxPool2d(Tensor x, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        return Tensor.maxPool2d(x, kernelSize, stride, padding, dilation, ceilMode);
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

    public static Tensor dropout(Tensor x, double p, boolean training) {
        return x.dropout(p, training);
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
}
