package dev.lanes.optim;

import java.util.List;

/**
 * Base of the learning-rate schedules, like {@code torch.optim.lr_scheduler}: construction applies epoch 0, each
 * {@link #step()} advances one epoch (or batch, for OneCycleLR) and writes the new rate into every parameter group.
 * Rates are computed with PyTorch's own (recursive) formulas in double precision, so they match it exactly.
 */
public abstract class LRScheduler {
    protected final Optimizer optimizer;
    protected final double[] baseLrs;
    protected int lastEpoch = -1;
    private double[] lastLr;

    protected LRScheduler(Optimizer optimizer) {
        this.optimizer = optimizer;
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        this.baseLrs = new double[groups.size()];
        for (int i = 0; i < baseLrs.length; i++) {
            Object initial = groups.get(i).options().get("initial_lr");
            baseLrs[i] = initial instanceof Number n ? n.doubleValue() : groups.get(i).lr();
            groups.get(i).options().put("initial_lr", baseLrs[i]);
        }
    }

    /** Subclasses call this at the end of their constructor: PyTorch's constructor performs the first step. */
    protected final void initialStep() {
        step();
    }

    /** Advances the schedule and sets each group's lr. */
    public void step() {
        lastEpoch++;
        double[] lrs = computeLr();
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < lrs.length; i++) {
            groups.get(i).setLr(lrs[i]);
        }
        lastLr = lrs;
    }

    /** The rates set by the last step, like {@code get_last_lr()}. */
    public double[] getLastLr() {
        return lastLr.clone();
    }

    public int lastEpoch() {
        return lastEpoch;
    }

    /** The new rate of each group for {@link #lastEpoch}, given the current rates in the groups. */
    protected abstract double[] computeLr();

    protected double currentLr(int group) {
        return optimizer.paramGroups().get(group).lr();
    }
}
