package dev.lanes;

import dev.lanes.autograd.Autograd;

/**
 * Tensor-level losses and dropout: the engine side of {@code dev.lanes.nn.functional.F}, which is what users call.
 * Convolution, pooling and softmax are on {@link Tensor} ({@code Tensor.conv2d}, {@code x.logSoftmax(1)}).
 */
public final class Functional {
    private Functional() {
    }

    /** Mean squared error; reduction "mean", "sum" or "none"; grad_fn MseLossBackward0. */
    public static Tensor mseLoss(Tensor input, Tensor target, String reduction) {
        return LossOps.mseLoss(input, target, reduction);
    }

    /** Mean absolute error; grad_fn L1LossBackward0. */
    public static Tensor l1Loss(Tensor input, Tensor target, String reduction) {
        return LossOps.l1Loss(input, target, reduction);
    }

    /**
     * Cross-entropy of logits {@code [N, C]} (or {@code [C]}) against int64 class indices, fused log-softmax + NLL;
     * {@code weight} per class or null, {@code ignoreIndex} (PyTorch's default -100), label smoothing in [0, 1].
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, double labelSmoothing, String reduction) {
        return LossOps.crossEntropy(input, target, weight, ignoreIndex, labelSmoothing, reduction);
    }

    /** Negative log-likelihood of log-probabilities {@code [N, C]} against int64 class indices. */
    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, String reduction) {
        return LossOps.nllLoss(input, target, weight, ignoreIndex, reduction);
    }

    /** Binary cross-entropy of logits, stable for any logit; {@code weight} and {@code posWeight} may be null. */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, String reduction) {
        return LossOps.bceWithLogits(input, target, weight, posWeight, reduction);
    }

    /**
     * Zeroes each element with probability {@code p} and scales survivors by {@code 1 / (1 - p)} when {@code training};
     * the identity otherwise. The mask comes from the global generator ({@link Lanes#manualSeed}).
     */
    public static Tensor dropout(Tensor input, double p, boolean training) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        if (!training || p == 0) {
            return input;
        }
        if (p == 1) {
            return input.mul(0);
        }
        Tensor mask;
        try (Autograd.Mode g = Autograd.noGrad(); Tensor r = Tensor.rand(input.shape()); Tensor keep = r.gt(p)) {
            mask = keep.mul(1.0 / (1 - p));
        }
        try (mask) {
            return input.mul(mask);
        }
    }
}
