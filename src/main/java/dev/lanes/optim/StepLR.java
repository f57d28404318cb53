package dev.lanes.optim;

/** Multiplies the rate by {@code gamma} every {@code stepSize} epochs, like {@code StepLR}. */
public class StepLR extends LRScheduler {
    private final int stepSize;
    private final double gamma;

    public StepLR(Optimizer optimizer, int stepSize, double gamma) {
        super(optimizer);
        if (stepSize <= 0) {
            throw new IllegalArgumentException("step_size must be positive, got " + stepSize);
        }
        this.stepSize = stepSize;
        this.gamma = gamma;
        initialStep();
    }

    /** One rate per current group, as PyTorch's get_lr: a group added after the scheduler was made decays too. */
    @Override
    protected double[] computeLr() {
        double[] out = new double[optimizer.paramGroups().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = lastEpoch == 0 || lastEpoch % stepSize != 0 ? currentLr(i) : currentLr(i) * gamma;
        }
        return out;
    }

    /** PyTorch's closed form: {@code base_lr * gamma ** (last_epoch // step_size)}. */
    @Override
    protected double[] closedFormLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * StrictMath.pow(gamma, Math.floorDiv(lastEpoch, stepSize));
        }
        return out;
    }
}
