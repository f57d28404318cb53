package dev.lanes.optim;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts the rate by {@code factor} when a metric has stopped improving for {@code patience} epochs, like torch 1.13's
 * {@code ReduceLROnPlateau}: {@code mode} "min" or "max", {@code thresholdMode} "rel" (better than best * (1 -/+
 * threshold)) or "abs" (best -/+ threshold), {@code cooldown} epochs of ignored bad epochs after a cut, a floor
 * {@code minLr} per group, and cuts smaller than {@code eps} skipped. Call {@link #step(double)} with the metric once
 * per epoch. Like PyTorch's it is not an {@link LRScheduler}: it sets no {@code initial_lr} and does nothing on
 * construction.
 */
public class ReduceLROnPlateau {
    private final Optimizer optimizer;
    private String mode;
    private final double factor;
    private final int patience;
    private double threshold;
    private String thresholdMode;
    private final int cooldown;
    private final double[] minLrs;
    private final double eps;
    private double best;
    private int numBadEpochs;
    private int cooldownCounter;
    private int lastEpoch;
    private double[] lastLr;

    public ReduceLROnPlateau(Optimizer optimizer) {
        this(optimizer, "min", 0.1, 10, 1e-4, "rel", 0, 0, 1e-8);
    }

    public ReduceLROnPlateau(Optimizer optimizer, String mode, double factor, int patience, double threshold, String thresholdMode, int cooldown,
                             double minLr, double eps) {
        this(optimizer, mode, factor, patience, threshold, thresholdMode, cooldown, filled(optimizer, minLr), eps);
    }

    /** {@code minLrs}: one floor per parameter group (PyTorch's list form of min_lr). */
    public ReduceLROnPlateau(Optimizer optimizer, String mode, double factor, int patience, double threshold, String thresholdMode, int cooldown,
                             double[] minLrs, double eps) {
        if (!(factor < 1.0)) {
            throw new IllegalArgumentException("Factor should be < 1.0.");
        }
        if (minLrs.length != optimizer.paramGroups().size()) {
            throw new IllegalArgumentException("expected " + optimizer.paramGroups().size() + " min_lrs, got " + minLrs.length);
        }
        this.optimizer = optimizer;
        this.factor = factor;
        this.minLrs = minLrs.clone();
        this.patience = patience;
        this.cooldown = cooldown;
        this.eps = eps;
        initIsBetter(mode, threshold, thresholdMode);
        this.lastEpoch = 0;
        this.best = worse();
        this.cooldownCounter = 0;
        this.numBadEpochs = 0;
    }

    private static double[] filled(Optimizer optimizer, double minLr) {
        double[] out = new double[optimizer.paramGroups().size()];
        Arrays.fill(out, minLr);
        return out;
    }

    private void initIsBetter(String mode, double threshold, String thresholdMode) {
        if (!"min".equals(mode) && !"max".equals(mode)) {
            throw new IllegalArgumentException("mode " + mode + " is unknown!");
        }
        if (!"rel".equals(thresholdMode) && !"abs".equals(thresholdMode)) {
            throw new IllegalArgumentException("threshold mode " + thresholdMode + " is unknown!");
        }
        this.mode = mode;
        this.threshold = threshold;
        this.thresholdMode = thresholdMode;
    }

    private double worse() {
        return "min".equals(mode) ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }

    private boolean isBetter(double a, double best) {
        boolean min = "min".equals(mode);
        if ("rel".equals(thresholdMode)) {
            return min ? a < best * (1. - threshold) : a > best * (threshold + 1.);
        }
        return min ? a < best - threshold : a > best + threshold;
    }

    /** One epoch's metric (validation loss, accuracy, ...): may cut every group's rate. */
    public void step(double metric) {
        lastEpoch = lastEpoch + 1;
        if (isBetter(metric, best)) {
            best = metric;
            numBadEpochs = 0;
        } else {
            numBadEpochs++;
        }
        if (cooldownCounter > 0) {
            cooldownCounter--;
            numBadEpochs = 0; // bad epochs in cooldown are ignored
        }
        if (numBadEpochs > patience) {
            reduceLr();
            cooldownCounter = cooldown;
            numBadEpochs = 0;
        }
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        lastLr = new double[groups.size()];
        for (int i = 0; i < lastLr.length; i++) {
            lastLr[i] = groups.get(i).lr();
        }
    }

    private void reduceLr() {
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < groups.size(); i++) {
            double old = groups.get(i).lr();
            double cut = Math.max(old * factor, minLrs[i]);
            if (old - cut > eps) {
                groups.get(i).setLr(cut);
            }
        }
    }

    /** The rates after the last {@link #step(double)} (before any step, the groups' current rates). */
    public double[] getLastLr() {
        if (lastLr == null) {
            return optimizer.paramGroups().stream().mapToDouble(Optimizer.ParamGroup::lr).toArray();
        }
        return lastLr.clone();
    }

    public int lastEpoch() {
        return lastEpoch;
    }

    /** The best metric so far (+inf / -inf before the first step). */
    public double best() {
        return best;
    }

    public int numBadEpochs() {
        return numBadEpochs;
    }

    public boolean inCooldown() {
        return cooldownCounter > 0;
    }

    /** PyTorch's state keys: mode, threshold, threshold_mode, best, num_bad_epochs, cooldown_counter, last_epoch, _last_lr, ... */
    public Map<String, Object> stateDict() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("factor", factor);
        out.put("min_lrs", minLrs.clone());
        out.put("patience", patience);
        out.put("cooldown", cooldown);
        out.put("cooldown_counter", cooldownCounter);
        out.put("mode", mode);
        out.put("threshold", threshold);
        out.put("threshold_mode", thresholdMode);
        out.put("best", best);
        out.put("num_bad_epochs", numBadEpochs);
        out.put("mode_worse", worse());
        out.put("eps", eps);
        out.put("last_epoch", lastEpoch);
        out.put("_last_lr", lastLr == null ? null : lastLr.clone());
        return out;
    }

    /**
     * Restores the position ({@code best}, {@code num_bad_epochs}, {@code cooldown_counter}, {@code last_epoch},
     * {@code _last_lr}) and mode / threshold; factor, patience, cooldown, min_lr and eps stay this scheduler's
     * (they are final here, and a resumed run builds the scheduler with its settings).
     */
    public void loadStateDict(Map<String, Object> state) {
        if (!(state.get("best") instanceof Number b) || !(state.get("num_bad_epochs") instanceof Number bad)
                || !(state.get("cooldown_counter") instanceof Number cc) || !(state.get("last_epoch") instanceof Number le)
                || !(state.get("mode") instanceof String m) || !(state.get("threshold") instanceof Number th)
                || !(state.get("threshold_mode") instanceof String tm)) {
            throw new IllegalArgumentException("a ReduceLROnPlateau state needs mode, threshold, threshold_mode, best, num_bad_epochs, cooldown_counter "
                    + "and last_epoch, got " + state.keySet());
        }
        Object last = state.get("_last_lr");
        if (last != null && !(last instanceof double[])) {
            throw new IllegalArgumentException("a ReduceLROnPlateau state's _last_lr must be a double[], got " + last);
        }
        initIsBetter(m, th.doubleValue(), tm);
        best = b.doubleValue();
        numBadEpochs = bad.intValue();
        cooldownCounter = cc.intValue();
        lastEpoch = le.intValue();
        lastLr = last == null ? null : ((double[]) last).clone();
    }
}
