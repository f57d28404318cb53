package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of the optimizers, like {@code torch.optim.Optimizer}: parameter groups with per-group options, per-parameter
 * state, {@link #zeroGrad()}, {@link #step()} and state dicts. Parameters without a gradient are skipped by step.
 */
public abstract class Optimizer {
    /** A group of parameters sharing options (lr, momentum, ...); schedulers change {@code lr} here. */
    public static final class ParamGroup {
        private final List<Tensor> params;
        private final Map<String, Object> options;

        ParamGroup(List<Tensor> params, Map<String, Object> options) {
            this.params = List.copyOf(params);
            this.options = options;
        }

        public List<Tensor> params() {
            return params;
        }

        /** The group's options by PyTorch's names ({@code lr}, {@code momentum}, {@code betas}, ...). */
        public Map<String, Object> options() {
            return options;
        }

        public double lr() {
            return number("lr");
        }

        public void setLr(double lr) {
            options.put("lr", lr);
        }

        public double number(String key) {
            Object v = options.get(key);
            if (!(v instanceof Number n)) {
                throw new IllegalStateException("option '" + key + "' is not a number: " + v);
            }
            return n.doubleValue();
        }

        public boolean flag(String key) {
            return Boolean.TRUE.equals(options.get(key));
        }
    }

    private final List<ParamGroup> groups = new ArrayList<>();
    /** The read-only view {@link #paramGroups} hands out: one object, not one per call (a compiled step asks every step). */
    private final List<ParamGroup> groupsView = Collections.unmodifiableList(groups);
    private final Map<String, Object> defaults;
    /** Per-parameter state tensors (momentum buffers, moments) and step counts, keyed by parameter identity. */
    private final Map<Tensor, Map<String, Tensor>> state = new IdentityHashMap<>();
    private final Map<Tensor, long[]> steps = new IdentityHashMap<>();

    protected Optimizer(List<Tensor> params, Map<String, Object> defaults) {
        this.defaults = new LinkedHashMap<>(defaults);
        addParamGroup(params, Map.of());
    }

    /** Adds a group; options not given take the optimizer's defaults, like {@code add_param_group}. */
    public void addParamGroup(List<Tensor> params, Map<String, Object> options) {
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException("optimizer got an empty parameter list");
        }
        for (Tensor p : params) {
            if (!p.isLeaf()) {
                throw new IllegalArgumentException("can't optimize a non-leaf Tensor (shape " + p.size() + ")");
            }
            for (ParamGroup g : groups) {
                if (g.params().stream().anyMatch(q -> q == p)) {
                    throw new IllegalArgumentException("some parameters appear in more than one parameter group");
                }
            }
        }
        for (int i = 0; i < params.size(); i++) { // one tensor twice in a list was stepped twice a step (PyTorch warns)
            for (int j = 0; j < i; j++) {
                if (params.get(i) == params.get(j)) {
                    throw new IllegalArgumentException("optimizer got a parameter twice in one group (positions " + j + " and " + i + ")");
                }
            }
        }
        Map<String, Object> merged = copyOptions(defaults);
        merged.putAll(copyOptions(options));
        validate(merged);
        groups.add(new ParamGroup(params, merged));
    }

    /**
     * Options with their arrays (Adam's betas) copied: every group shared the defaults' array, and state dicts the
     * groups', so writing betas[0] in one changed them all.
     */
    private static Map<String, Object> copyOptions(Map<String, Object> options) {
        Map<String, Object> out = new LinkedHashMap<>(options);
        out.replaceAll((k, v) -> v instanceof double[] a ? a.clone() : v);
        return out;
    }

    /** Checks a group's options with PyTorch's messages ("Invalid learning rate: -0.1"). */
    protected abstract void validate(Map<String, Object> options);

    protected static void requireNonNegative(Map<String, Object> o, String key, String what) {
        double v = ((Number) o.get(key)).doubleValue();
        if (!(v >= 0)) {
            throw new IllegalArgumentException("Invalid " + what + ": " + v);
        }
    }

    public List<ParamGroup> paramGroups() {
        return groupsView;
    }

    /** Clears gradients (PyTorch 2's default: set them to null, freeing their memory). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    public void zeroGrad(boolean setToNull) {
        for (ParamGroup g : groups) {
            for (Tensor p : g.params()) {
                Tensor grad = p.grad();
                if (grad == null) {
                    continue;
                }
                if (setToNull) {
                    p.setGrad(null);
                    grad.close();
                } else {
                    try (Autograd.Mode m = Autograd.noGrad()) {
                        grad.zero_();
                    }
                }
            }
        }
    }

    /**
     * One update of every parameter that has a gradient. Every gradient is checked first (float32, the parameter's
     * shape, contiguous, not released): a step that throws has changed no parameter, step count or buffer. (The count
     * and the buffers were made before each parameter's check: after a refused int64 gradient Adam's bias correction
     * ran one step ahead for good, and SGD's momentum buffer existed as zeros, so its first step did not take buf = g.)
     */
    public void step() {
        for (int gi = 0; gi < groups.size(); gi++) { // indexed, allocation-free: a compiled step calls this every run
            List<Tensor> ps = groups.get(gi).params();
            for (int pi = 0; pi < ps.size(); pi++) {
                Tensor p = ps.get(pi);
                Tensor grad = p.grad();
                if (grad != null) {
                    OptimizerUpdates.checkGradient(p, grad);
                }
            }
        }
        try (Autograd.Mode m = Autograd.noGrad()) {
            for (int gi = 0; gi < groups.size(); gi++) { // indexed: no iterators (a compiled step allocates nothing)
                ParamGroup g = groups.get(gi);
                List<Tensor> ps = g.params();
                for (int pi = 0; pi < ps.size(); pi++) {
                    Tensor p = ps.get(pi);
                    Tensor grad = p.grad();
                    if (grad == null) {
                        continue;
                    }
                    long[] count = steps.computeIfAbsent(p, k -> new long[1]);
                    count[0]++;
                    update(p, grad, stateOf(p), count[0], g);
                }
            }
        }
    }

    /** Updates one parameter in place; {@code step} counts this parameter's updates from 1. */
    protected abstract void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup group);

    private Map<String, Tensor> stateOf(Tensor p) {
        return state.computeIfAbsent(p, k -> new LinkedHashMap<>());
    }

    /** A state tensor of the parameter's shape, created zero-filled (outside any scope) on first use. */
    protected static Tensor buffer(Map<String, Tensor> state, String name, Tensor param) {
        Tensor t = state.get(name);
        if (t == null) {
            try (MemoryScope u = MemoryScope.unscoped()) {
                t = Tensor.zeros(param.shape());
            }
            state.put(name, t);
        }
        return t;
    }

    /**
     * The optimizer's state, like {@code optimizer.state_dict()}: {@code state} maps each parameter's index (in group
     * order) to its buffers (copies) and {@code step}; {@code param_groups} holds each group's options and parameter indices.
     */
    public Map<String, Object> stateDict() {
        Map<Integer, Map<String, Object>> st = new LinkedHashMap<>();
        List<Map<String, Object>> pg = new ArrayList<>();
        int index = 0;
        for (ParamGroup g : groups) {
            List<Integer> ids = new ArrayList<>();
            for (Tensor p : g.params()) {
                Map<String, Tensor> s = state.get(p);
                if (s != null) {
                    Map<String, Object> copy = new LinkedHashMap<>();
                    copy.put("step", steps.get(p)[0]);
                    try (MemoryScope u = MemoryScope.unscoped()) {
                        s.forEach((k, v) -> copy.put(k, v.clone()));
                    }
                    st.put(index, copy);
                }
                ids.add(index++);
            }
            Map<String, Object> opts = copyOptions(g.options());
            opts.put("params", ids);
            pg.add(opts);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", st);
        out.put("param_groups", pg);
        return out;
    }

    /** Restores {@link #stateDict()} output into an optimizer over the same parameters (same group sizes). */
    @SuppressWarnings("unchecked")
    public void loadStateDict(Map<String, Object> dict) {
        List<Map<String, Object>> pg = (List<Map<String, Object>>) dict.get("param_groups");
        Map<Integer, Map<String, Object>> st = (Map<Integer, Map<String, Object>>) dict.get("state");
        if (pg == null || st == null || pg.size() != groups.size()) {
            throw new IllegalArgumentException("loaded state dict has a different number of parameter groups");
        }
        List<Tensor> all = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            List<Integer> ids = (List<Integer>) pg.get(i).get("params");
            if (ids.size() != groups.get(i).params().size()) {
                throw new IllegalArgumentException("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
            }
            all.addAll(groups.get(i).params());
        }
        for (Map.Entry<Integer, Map<String, Object>> e : st.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0 || e.getKey() >= all.size()) {
                throw new IllegalArgumentException("loaded state dict has state for parameter " + e.getKey() + ", this optimizer has " + all.size());
            }
            Tensor p = all.get(e.getKey());
            for (Map.Entry<String, Object> s : e.getValue().entrySet()) {
                if (s.getValue() instanceof Tensor t && !java.util.Arrays.equals(t.shape(), p.shape())) {
                    throw new IllegalArgumentException("state '" + s.getKey() + "' of parameter " + e.getKey() + " has shape " + t.size()
                            + " but the parameter has " + p.size());
                }
            }
        }
        for (int i = 0; i < groups.size(); i++) {
            Map<String, Object> opts = copyOptions(pg.get(i));
            opts.remove("params");
            groups.get(i).options().putAll(opts);
        }
        // the loaded state replaces this optimizer's, as PyTorch's: a parameter with no entry (or a buffer the entry
        // lacks) kept its momentum and step count, so rolling back to an earlier checkpoint did not roll them back
        for (Map<String, Tensor> old : state.values()) {
            old.values().forEach(Tensor::close);
        }
        state.clear();
        steps.clear();
        for (Map.Entry<Integer, Map<String, Object>> e : st.entrySet()) {
            Tensor p = all.get(e.getKey());
            steps.computeIfAbsent(p, k -> new long[1]); // 0 unless the entry says (PyTorch's SGD keeps no step)
            Map<String, Tensor> mine = stateOf(p);
            for (Map.Entry<String, Object> s : e.getValue().entrySet()) {
                if (s.getValue() instanceof Tensor t) {
                    try (Autograd.Mode m = Autograd.noGrad()) {
                        buffer(mine, s.getKey(), p).copy_(t);
                    }
                } else if (s.getKey().equals("step")) {
                    steps.computeIfAbsent(p, k -> new long[1])[0] = ((Number) s.getValue()).longValue();
                }
            }
        }
    }
}
