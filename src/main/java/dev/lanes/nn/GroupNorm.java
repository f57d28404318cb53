package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;

/**
 * Group normalisation, like {@code torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)}: the channels
 * of each sample of {@code [N, C, *]} split into {@code numGroups} groups of consecutive channels, each normalised with
 * its own mean and biased variance (independent of the batch: the same in training and eval), then each channel
 * scaled by {@code weight} (ones) and shifted by {@code bias} (zeros). One fused kernel each way
 * ({@link Tensor#groupNorm}); a plan step in an inference plan.
 */
public class GroupNorm extends Module {
    public final int numGroups;
    public final int numChannels;
    public final double eps;
    public final boolean affine;
    public final Tensor weight;
    public final Tensor bias;

    public GroupNorm(int numGroups, int numChannels) {
        this(numGroups, numChannels, 1e-5, true);
    }

    public GroupNorm(int numGroups, int numChannels, double eps, boolean affine) {
        if (numGroups <= 0 || numChannels <= 0) {
            throw new IllegalArgumentException("GroupNorm: num_groups and num_channels must be positive, got " + numGroups + " and " + numChannels);
        }
        if (numChannels % numGroups != 0) {
            throw new IllegalArgumentException("num_channels must be divisible by num_groups (num_channels=" + numChannels + ", num_groups="
                    + numGroups + ")");
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("GroupNorm: eps must be a finite non-negative number, got " + eps);
        }
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        this.affine = affine;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", affine ? Tensor.ones(numChannels) : null);
            this.bias = registerParameter("bias", affine ? Tensor.zeros(numChannels) : null);
        }
    }

    @Override
    public Tensor forward(Tensor input) {
        return Tensor.groupNorm(input, numGroups, weight, bias, eps);
    }

    @Override
    public String extraRepr() {
        return numGroups + ", " + numChannels + ", eps=" + Repr.pyFloat(eps) + ", affine=" + Repr.bool(affine);
    }
}
