package dev.lanes.optim;

/** Multiplies the rate by {@code gamma} every epoch, like {@code ExponentialLR}. */
public class ExponentialLR extends LRScheduler {
    private final double gamma;

    public ExponentialLR(Optimizer optimizer, double gamma) {
        super(optimizer);
        this.gamma = gamma;
        initialStep();
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[optimizer.paramGroups().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = lastEpoch == 0 ? currentLr(i) : currentLr(i) * gamma;
        }
        return out;
    }

    /** PyTorch's closed form: {@code base_lr * gamma ** last_epoch}. */
    @Override
    protected double[] closedFormLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * StrictMath.pow(gamma, lastEpoch);
        }
        return out;
    }
}
