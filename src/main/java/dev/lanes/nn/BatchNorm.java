package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;

/**
 * Batch normalisation over the channel dim (dim 1), the common part of {@link BatchNorm1d} and {@link BatchNorm2d}:
 * in training, normalise with the batch's mean and biased variance and update the running statistics
 * ({@code running = (1 - momentum) * running + momentum * batch}, unbiased variance); in eval, use the running ones.
 * One fused kernel each way ({@link Tensor#batchNorm}); in an inference plan, one step.
 */
public abstract class BatchNorm extends Module {
    public final int numFeatures;
    public final double eps;
    public final double momentum;
    public final boolean affine;
    public final boolean trackRunningStats;
    public final Tensor weight;
    public final Tensor bias;
    public final Tensor runningMean;
    public final Tensor runningVar;
    public final Tensor numBatchesTracked;

    protected BatchNorm(int numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        if (numFeatures <= 0) {
            throw new IllegalArgumentException("num_features must be positive, got " + numFeatures);
        }
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.trackRunningStats = trackRunningStats;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", affine ? Tensor.ones(numFeatures) : null);
            this.bias = registerParameter("bias", affine ? Tensor.zeros(numFeatures) : null);
            this.runningMean = registerBuffer("running_mean", trackRunningStats ? Tensor.zeros(numFeatures) : null);
            this.runningVar = registerBuffer("running_var", trackRunningStats ? Tensor.ones(numFeatures) : null);
            this.numBatchesTracked = registerBuffer("num_batches_tracked", trackRunningStats ? Tensor.scalarLong(0) : null);
        }
    }

    /** Checks the input's rank; subclasses accept [N, C] / [N, C, L] or [N, C, H, W]. */
    protected abstract void checkInput(Tensor input);

    @Override
    public Tensor forward(Tensor input) {
        checkInput(input);
        if (input.size(1) != numFeatures) {
            throw new IllegalArgumentException(reprName() + ": expected " + numFeatures + " channels (dim 1) but got input of shape " + input.size());
        }
        boolean useBatch = isTraining() || !trackRunningStats;
        // in training the kernel also counts the batch in num_batches_tracked
        return Tensor.batchNorm(input, trackRunningStats ? runningMean : null, trackRunningStats ? runningVar : null, weight, bias, useBatch,
                momentum, eps, isTraining() && trackRunningStats ? numBatchesTracked : null);
    }

    @Override
    public String extraRepr() {
        return numFeatures + ", eps=" + Repr.pyFloat(eps) + ", momentum=" + Repr.pyFloat(momentum) + ", affine=" + Repr.bool(affine)
                + ", track_running_stats=" + Repr.bool(trackRunningStats);
    }

}
