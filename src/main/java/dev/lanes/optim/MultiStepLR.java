package dev.lanes.optim;

import java.util.Arrays;

/** Multiplies the rate by {@code gamma} at each milestone epoch, like {@code MultiStepLR}. */
public class MultiStepLR extends LRScheduler {
    private final int[] milestones;
    private final double gamma;

    public MultiStepLR(Optimizer optimizer, int[] milestones, double gamma) {
        super(optimizer);
        this.milestones = milestones.clone();
        Arrays.sort(this.milestones);
        this.gamma = gamma;
        initialStep();
    }

    @Override
    protected double[] computeLr() {
        int hits = 0;
        for (int m : milestones) {
            if (m == lastEpoch) {
                hits++;
            }
        }
        double[] out = new double[optimizer.paramGroups().size()]; // every current group, as PyTorch's get_lr (a group added later too)
        for (int i = 0; i < out.length; i++) {
            out[i] = hits == 0 ? currentLr(i) : currentLr(i) * StrictMath.pow(gamma, hits);
        }
        return out;
    }

    /** PyTorch's closed form: {@code base_lr * gamma ** bisect_right(milestones, last_epoch)} (repeated milestones count each time). */
    @Override
    protected double[] closedFormLr() {
        int passed = 0;
        for (int m : milestones) {
            if (m <= lastEpoch) {
                passed++;
            }
        }
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * StrictMath.pow(gamma, passed);
        }
        return out;
    }
}
