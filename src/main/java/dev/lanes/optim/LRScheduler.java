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
        applyLr(computeLr());
    }

    /**
     * Jumps to {@code epoch}, like PyTorch's deprecated {@code step(epoch)}: the rates come from the schedule's closed
     * form where PyTorch has one ({@code _get_closed_form_lr}), else from {@link #computeLr()} at that epoch.
     * SequentialLR calls {@code step(0)} on each scheduler at its milestone.
     */
    public void step(int epoch) {
        lastEpoch = epoch;
        applyLr(closedFormLr());
    }

    /** The rates at {@link #lastEpoch} from the base rates alone (PyTorch's {@code _get_closed_form_lr}); by default {@link #computeLr()}. */
    protected double[] closedFormLr() {
        return computeLr();
    }

    /** Writes {@code lrs} into the groups (group i gets lrs[i]) and remembers them for {@link #getLastLr()}. */
    protected final void applyLr(double[] lrs) {
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < lrs.length; i++) {
            groups.get(i).setLr(lrs[i]);
        }
        lastLr = lrs.clone();
    }

    /** Sets what {@link #getLastLr()} returns (SequentialLR: the active scheduler's). */
    protected final void setLastLr(double[] lrs) {
        lastLr = lrs == null ? null : lrs.clone();
    }

    /** The optimizer this scheduler sets the rates of. */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** The rates set by the last step, like {@code get_last_lr()}. */
    public double[] getLastLr() {
        return lastLr.clone();
    }

    public int lastEpoch() {
        return lastEpoch;
    }

    /**
     * The schedule's position, like {@code scheduler.state_dict()}: {@code last_epoch}, {@code base_lrs} and
     * {@code _last_lr} (copies). A scheduler built with the same settings and given it by {@link #loadStateDict}
     * continues where this one was (a new scheduler started again: StepLR decayed at the wrong epochs, a cosine or
     * one-cycle schedule restarted).
     */
    public java.util.Map<String, Object> stateDict() {
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("last_epoch", lastEpoch);
        out.put("base_lrs", baseLrs.clone());
        out.put("_last_lr", lastLr == null ? null : lastLr.clone());
        return out;
    }

    /** Restores {@link #stateDict()} output (the optimizer's rates come with the optimizer's own state dict). */
    public void loadStateDict(java.util.Map<String, Object> state) {
        Object epoch = state.get("last_epoch");
        Object base = state.get("base_lrs");
        Object last = state.get("_last_lr");
        if (!(epoch instanceof Number n) || !(base instanceof double[] b) || b.length != baseLrs.length
                || (last != null && !(last instanceof double[] l && l.length == baseLrs.length))) {
            throw new IllegalArgumentException("a scheduler state needs last_epoch and base_lrs (and _last_lr) for " + baseLrs.length
                    + " parameter groups, got " + state.keySet());
        }
        lastEpoch = n.intValue();
        System.arraycopy(b, 0, baseLrs, 0, b.length);
        lastLr = last == null ? null : ((double[]) last).clone();
    }

    /** The new rate of each group for {@link #lastEpoch}, given the current rates in the groups. */
    protected abstract double[] computeLr();

    protected double currentLr(int group) {
        return optimizer.paramGroups().get(group).lr();
    }
}
