package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;

/**
 * Instance normalisation, the common part of {@link InstanceNorm1d} and {@link InstanceNorm2d} (torch's
 * {@code _InstanceNorm}, as in torch 1.13): each (sample, channel) of {@code [N, C, *]} is normalised with its own
 * mean and biased variance; with {@code trackRunningStats} training also updates {@code running_mean} and
 * {@code running_var} (the mean over samples of each instance's statistics, unbiased variance) and eval normalises
 * with them. {@code num_batches_tracked} is a buffer, as PyTorch, and like PyTorch's instance norm never counts.
 * Unbatched input ({@code [C, *]}) runs as a batch of one.
 */
public abstract class InstanceNorm extends Module {
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

    protected InstanceNorm(int numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        if (numFeatures <= 0) {
            throw new IllegalArgumentException("num_features must be positive, got " + numFeatures);
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": eps must be a finite non-negative number, got " + eps);
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

    /** The rank of an unbatched input ({@code [C, L]}: 2, {@code [C, H, W]}: 3); a batched one has one more. */
    protected abstract int noBatchDim();

    @Override
    public Tensor forward(Tensor input) {
        int d = noBatchDim();
        if (input.dim() != d && input.dim() != d + 1) {
            throw new IllegalArgumentException(reprName() + ": expected " + d + "D or " + (d + 1) + "D input (got " + input.dim()
                    + "D input of shape " + input.size() + ")");
        }
        int featureDim = input.dim() - d;
        if (input.size(featureDim) != numFeatures && (affine || trackRunningStats)) {
            // PyTorch raises for affine and warns otherwise (then its running statistics refuse the shape)
            throw new IllegalArgumentException(reprName() + ": expected input's size at dim=" + featureDim + " to match num_features ("
                    + numFeatures + "), but got: " + input.size(featureDim) + " (input of shape " + input.size() + ")");
        }
        boolean useInputStats = isTraining() || !trackRunningStats;
        if (input.dim() == d) {
            return apply(input.unsqueeze(0), useInputStats).squeeze(0);
        }
        return apply(input, useInputStats);
    }

    private Tensor apply(Tensor input, boolean useInputStats) {
        return Tensor.instanceNorm(input, runningMean, runningVar, weight, bias, useInputStats, momentum, eps);
    }

    @Override
    public String extraRepr() {
        return numFeatures + ", eps=" + Repr.pyFloat(eps) + ", momentum=" + Repr.pyFloat(momentum) + ", affine=" + Repr.bool(affine)
                + ", track_running_stats=" + Repr.bool(trackRunningStats);
    }
}
