package dev.lanes.nn;

/**
 * Instance normalisation of [N, C, H, W] or unbatched [C, H, W], like {@code torch.nn.InstanceNorm2d(num_features, eps=1e-5,
 * momentum=0.1, affine=False, track_running_stats=False)}; see {@link InstanceNorm}.
 */
public class InstanceNorm2d extends InstanceNorm {
    public InstanceNorm2d(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, false, false);
    }

    public InstanceNorm2d(int numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        super(numFeatures, eps, momentum, affine, trackRunningStats);
    }

    @Override
    protected int noBatchDim() {
        return 3;
    }
}
