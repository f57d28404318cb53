package dev.lanes.optim;

/** Cosine annealing from the base rate to {@code etaMin} over {@code tMax} epochs (and back), like {@code CosineAnnealingLR}. */
public class CosineAnnealingLR extends LRScheduler {
    private final int tMax;
    private final double etaMin;

    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin) {
        super(optimizer);
        if (tMax <= 0) {
            throw new IllegalArgumentException("T_max must be positive, got " + tMax);
        }
        this.tMax = tMax;
        this.etaMin = etaMin;
        initialStep();
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            double lr = currentLr(i);
            if (lastEpoch == 0) { // the group's rate as it is, as PyTorch's first step (not initial_lr: a second scheduler, or state loaded)
                out[i] = lr;
            } else if ((lastEpoch - 1 - tMax) % (2 * tMax) == 0) {
                out[i] = lr + (baseLrs[i] - etaMin) * (1 - StrictMath.cos(Math.PI / tMax)) / 2;
            } else {
                out[i] = (1 + StrictMath.cos(Math.PI * lastEpoch / tMax)) / (1 + StrictMath.cos(Math.PI * (lastEpoch - 1) / tMax)) * (lr - etaMin) + etaMin;
            }
        }
        return out;
    }

    /** PyTorch's closed form: {@code eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2}. */
    @Override
    protected double[] closedFormLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = etaMin + (baseLrs[i] - etaMin) * (1 + StrictMath.cos(Math.PI * lastEpoch / tMax)) / 2;
        }
        return out;
    }
}
