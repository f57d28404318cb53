package dev.lanes.optim;

import java.util.List;

/**
 * The 1cycle policy, like {@code OneCycleLR} with cosine annealing: the rate climbs from {@code maxLr / divFactor} to
 * {@code maxLr} over {@code pctStart} of the steps, then falls to {@code initial / finalDivFactor}; momentum (SGD's
 * momentum or Adam's beta1) moves the opposite way between {@code maxMomentum} and {@code baseMomentum}. Step it
 * once per batch; stepping past {@code totalSteps} fails like PyTorch.
 */
public class OneCycleLR extends LRScheduler {
    private final int totalSteps;
    private final double[] phaseEnd;
    private final double[] initialLr;
    private final double[] maxLr;
    private final double[] minLr;
    private final boolean cycleMomentum;
    private final double baseMomentum;
    private final double maxMomentum;

    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps) {
        this(optimizer, maxLr, totalSteps, 0.3, true, 0.85, 0.95, 25, 1e4);
    }

    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart, boolean cycleMomentum, double baseMomentum,
                      double maxMomentum, double divFactor, double finalDivFactor) {
        super(prepare(optimizer, maxLr, divFactor, totalSteps, pctStart));
        this.totalSteps = totalSteps;
        this.phaseEnd = new double[] {pctStart * totalSteps - 1, totalSteps - 1};
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        this.initialLr = new double[groups.size()];
        this.maxLr = new double[groups.size()];
        this.minLr = new double[groups.size()];
        for (int i = 0; i < groups.size(); i++) {
            initialLr[i] = maxLr / divFactor;
            this.maxLr[i] = maxLr;
            minLr[i] = initialLr[i] / finalDivFactor;
        }
        this.cycleMomentum = cycleMomentum;
        this.baseMomentum = baseMomentum;
        this.maxMomentum = maxMomentum;
        if (cycleMomentum) {
            for (Optimizer.ParamGroup g : groups) {
                setMomentum(g, maxMomentum);
            }
        }
        initialStep();
    }

    /** Checks the arguments, then sets each group's initial_lr: a refused scheduler leaves the optimizer as it was. */
    private static Optimizer prepare(Optimizer optimizer, double maxLr, double divFactor, int totalSteps, double pctStart) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("Expected positive integer total_steps, but got " + totalSteps);
        }
        if (!(pctStart >= 0 && pctStart <= 1)) {
            throw new IllegalArgumentException("Expected float between 0 and 1 pct_start, but got " + pctStart);
        }
        for (Optimizer.ParamGroup g : optimizer.paramGroups()) {
            g.options().put("initial_lr", maxLr / divFactor);
        }
        return optimizer;
    }

    private static void setMomentum(Optimizer.ParamGroup g, double m) {
        Object betas = g.options().get("betas");
        if (betas instanceof double[] b) {
            g.options().put("betas", new double[] {m, b[1]});
        } else if (g.options().containsKey("momentum")) {
            g.options().put("momentum", m);
        } else {
            throw new IllegalArgumentException("optimizer must support momentum or beta1 with `cycle_momentum` option enabled");
        }
    }

    private static double annealCos(double start, double end, double pct) {
        return end + (start - end) / 2.0 * (StrictMath.cos(Math.PI * pct) + 1);
    }

    @Override
    protected double[] computeLr() {
        if (lastEpoch > totalSteps) {
            throw new IllegalStateException("Tried to step " + (lastEpoch + 1) + " times. The specified number of total steps is " + totalSteps);
        }
        double[] out = new double[baseLrs.length];
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < out.length; i++) {
            double start = 0;
            double[] startLr = {initialLr[i], maxLr[i]};
            double[] endLr = {maxLr[i], minLr[i]};
            double[] startM = {maxMomentum, baseMomentum};
            double[] endM = {baseMomentum, maxMomentum};
            for (int p = 0; p < 2; p++) {
                if (lastEpoch <= phaseEnd[p] || p == 1) {
                    if (phaseEnd[p] == start) { // PyTorch's float division raises here; 0 / 0 made every rate (and then every weight) NaN
                        throw new ArithmeticException("float division by zero: OneCycleLR's " + (p == 0 ? "warm-up" : "annealing")
                                + " phase has no steps (pct_start x total_steps = " + (phaseEnd[0] + 1) + ", total_steps = " + totalSteps + ")");
                    }
                    double pct = (lastEpoch - start) / (phaseEnd[p] - start);
                    out[i] = annealCos(startLr[p], endLr[p], pct);
                    if (cycleMomentum) {
                        setMomentum(groups.get(i), annealCos(startM[p], endM[p], pct));
                    }
                    break;
                }
                start = phaseEnd[p];
            }
        }
        return out;
    }
}
