package dev.lanes.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs schedulers one after another, like torch 1.13's {@code SequentialLR}: scheduler {@code i} drives the rates
 * from milestone {@code i - 1} on. Construction (as torch's) resets every group to its {@code initial_lr}, moves each
 * scheduler back one epoch and re-runs the first one's initial step; at a milestone the next scheduler is stepped
 * with {@code step(0)} (its closed form at epoch 0), after that with {@code step()}.
 */
public class SequentialLR extends LRScheduler {
    private final List<LRScheduler> schedulers;
    private final int[] milestones;

    public SequentialLR(Optimizer optimizer, List<LRScheduler> schedulers, int[] milestones) {
        super(checked(optimizer, schedulers, milestones));
        this.schedulers = List.copyOf(schedulers);
        this.milestones = milestones.clone();
        this.lastEpoch = 0; // torch: last_epoch + 1
        for (Optimizer.ParamGroup g : optimizer.paramGroups()) {
            g.setLr(g.number("initial_lr"));
        }
        for (LRScheduler s : this.schedulers) {
            s.lastEpoch -= 1;
        }
        this.schedulers.get(0).initialStep();
        setLastLr(this.schedulers.get(0).getLastLr());
    }

    private static Optimizer checked(Optimizer optimizer, List<LRScheduler> schedulers, int[] milestones) {
        if (schedulers == null || schedulers.isEmpty() || schedulers.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("Sequential Schedulers expects a non-empty list of schedulers");
        }
        for (int i = 0; i < schedulers.size(); i++) {
            if (schedulers.get(i).optimizer != optimizer) {
                throw new IllegalArgumentException("Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index "
                        + i + " to be different than the optimizer passed in.");
            }
        }
        if (milestones == null || milestones.length != schedulers.size() - 1) {
            throw new IllegalArgumentException("Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, "
                    + "but got number of schedulers " + schedulers.size() + " and the number of milestones to be equal to "
                    + (milestones == null ? 0 : milestones.length));
        }
        return optimizer;
    }

    /** Unused: the rates come from the active scheduler. */
    @Override
    protected double[] computeLr() {
        throw new UnsupportedOperationException("SequentialLR computes no rates of its own");
    }

    @Override
    public void step() {
        lastEpoch++;
        int idx = 0; // bisect_right(milestones, last_epoch)
        while (idx < milestones.length && milestones[idx] <= lastEpoch) {
            idx++;
        }
        LRScheduler s = schedulers.get(idx);
        if (idx > 0 && milestones[idx - 1] == lastEpoch) {
            s.step(0);
        } else {
            s.step();
        }
        setLastLr(s.getLastLr());
    }

    /** torch 1.13's SequentialLR has no {@code step(epoch)}. */
    @Override
    public void step(int epoch) {
        throw new UnsupportedOperationException("SequentialLR.step(epoch) is not supported (torch 1.13's SequentialLR.step takes no epoch)");
    }

    /** {@code last_epoch}, {@code _milestones}, {@code _last_lr} and each scheduler's state dict under {@code _schedulers}. */
    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("last_epoch", lastEpoch);
        out.put("_milestones", milestones.clone());
        out.put("_last_lr", getLastLr());
        List<Map<String, Object>> subs = new ArrayList<>();
        for (LRScheduler s : schedulers) {
            subs.add(s.stateDict());
        }
        out.put("_schedulers", subs);
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void loadStateDict(Map<String, Object> state) {
        if (!(state.get("last_epoch") instanceof Number n) || !(state.get("_schedulers") instanceof List<?> subs) || subs.size() != schedulers.size()
                || !(state.get("_last_lr") instanceof double[] last)) {
            throw new IllegalArgumentException("a SequentialLR state needs last_epoch, _last_lr and the states of " + schedulers.size() + " schedulers, got "
                    + state.keySet());
        }
        for (Object sub : subs) {
            if (!(sub instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("a SequentialLR state's _schedulers holds " + sub + ", not a scheduler state");
            }
        }
        for (int i = 0; i < subs.size(); i++) {
            schedulers.get(i).loadStateDict((Map<String, Object>) subs.get(i));
        }
        lastEpoch = n.intValue();
        setLastLr(last);
    }
}
