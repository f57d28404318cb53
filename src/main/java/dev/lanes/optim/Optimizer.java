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
     * A 0-d float32 state tensor (NAdam's {@code mu_product}), created holding {@code initial} (outside any scope) on
     * first use. Optimizers that keep one name it in {@link #scalarState}.
     */
    protected static Tensor scalarBuffer(Map<String, Tensor> state, String name, double initial) {
        Tensor t = state.get(name);
        if (t == null) {
            try (MemoryScope u = MemoryScope.unscoped()) {
                t = Tensor.scalar(initial);
            }
            state.put(name, t);
        }
        return t;
    }

    /** Whether the state named {@code name} is a 0-d tensor rather than one of the parameter's shape (loadStateDict checks by it). */
    protected boolean scalarState(String name) {
        return false;
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

    /**
     * Restores {@link #stateDict()} output into an optimizer over the same parameters (same group sizes). Everything is
     * checked before anything changes (each state value a live float32 tensor of its parameter's shape, {@code step} a
     * non-negative number, each group's options of the types they have here and valid), and the new buffers are built
     * apart: a dict refused, or a copy that fails, leaves this optimizer's options and state as they were.
     */
    public void loadStateDict(Map<String, Object> dict) {
        if (dict == null) {
            throw new IllegalArgumentException("loadStateDict: the state dict is null");
        }
        if (!(dict.get("param_groups") instanceof List<?> pg) || !(dict.get("state") instanceof Map<?, ?> st) || pg.size() != groups.size()) {
            throw new IllegalArgumentException("loaded state dict has a different number of parameter groups");
        }
        List<Tensor> all = new ArrayList<>();
        List<Map<String, Object>> newOptions = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            ParamGroup g = groups.get(i);
            if (!(pg.get(i) instanceof Map<?, ?> loaded) || !(loaded.get("params") instanceof List<?> ids)) {
                throw new IllegalArgumentException("loaded state dict's parameter group " + i + " is not a map with a 'params' list: " + pg.get(i));
            }
            if (ids.size() != g.params().size()) {
                throw new IllegalArgumentException("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
            }
            Map<String, Object> merged = copyOptions(g.options());
            for (Map.Entry<?, ?> o : loaded.entrySet()) {
                if (!(o.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("loaded state dict's parameter group " + i + " has an option named " + o.getKey() + ", not a string");
                }
                if (key.equals("params")) {
                    continue;
                }
                Object mine = g.options().get(key);
                Object v = o.getValue();
                boolean sameKind = mine == null || (mine instanceof Number ? v instanceof Number
                        : mine instanceof Boolean ? v instanceof Boolean
                        : mine instanceof double[] a ? v instanceof double[] b && b.length == a.length : true);
                if (!sameKind) {
                    throw new IllegalArgumentException("loaded state dict's option '" + key + "' of parameter group " + i + " is "
                            + (v instanceof double[] b ? java.util.Arrays.toString(b) : v) + " where this optimizer has "
                            + (mine instanceof double[] a ? java.util.Arrays.toString(a) : mine));
                }
                merged.put(key, v instanceof double[] b ? b.clone() : v);
            }
            validate(merged);
            newOptions.add(merged);
            all.addAll(g.params());
        }
        for (Map.Entry<?, ?> e : st.entrySet()) {
            if (!(e.getKey() instanceof Integer index) || index < 0 || index >= all.size()) {
                throw new IllegalArgumentException("loaded state dict has state for parameter " + e.getKey() + ", this optimizer has " + all.size());
            }
            if (!(e.getValue() instanceof Map<?, ?> entry)) {
                throw new IllegalArgumentException("loaded state dict's state for parameter " + index + " is not a map: " + e.getValue());
            }
            Tensor p = all.get(index);
            for (Map.Entry<?, ?> s : entry.entrySet()) {
                Object v = s.getValue();
                if ("step".equals(s.getKey())) {
                    if (!(v instanceof Number n) || n.longValue() < 0) {
                        throw new IllegalArgumentException("loaded state dict's 'step' of parameter " + index + " is not a non-negative number: " + v);
                    }
                } else if (v instanceof Tensor t) {
                    if (!(s.getKey() instanceof String)) {
                        throw new IllegalArgumentException("loaded state dict's state of parameter " + index + " has a buffer named " + s.getKey() + ", not a string");
                    }
                    if (t.isReleased()) {
                        throw new IllegalArgumentException("state '" + s.getKey() + "' of parameter " + index + " was released and can no longer be used (shape "
                                + t.size() + ")");
                    }
                    if (t.dtype() != dev.lanes.DType.FLOAT32) {
                        throw new IllegalArgumentException("state '" + s.getKey() + "' of parameter " + index + " is a " + t.dtype().torchName() + " tensor of shape "
                                + t.size() + "; expected float32");
                    }
                    if (scalarState((String) s.getKey()) ? t.numel() != 1 || t.dim() != 0 : !java.util.Arrays.equals(t.shape(), p.shape())) {
                        throw new IllegalArgumentException("state '" + s.getKey() + "' of parameter " + index + " has shape " + t.size()
                                + (scalarState((String) s.getKey()) ? " but it is a 0-d tensor" : " but the parameter has " + p.size()));
                    }
                }
            }
        }
        // the new state is built apart and swapped in whole: the old one was closed first, so a failing copy left the
        // optimizer with neither
        Map<Tensor, Map<String, Tensor>> newState = new IdentityHashMap<>();
        Map<Tensor, long[]> newSteps = new IdentityHashMap<>();
        boolean built = false;
        try {
            for (Map.Entry<?, ?> e : st.entrySet()) {
                Tensor p = all.get((Integer) e.getKey());
                long[] count = new long[1]; // 0 unless the entry says (PyTorch's SGD keeps no step)
                newSteps.put(p, count);
                Map<String, Tensor> mine = new LinkedHashMap<>();
                newState.put(p, mine);
                for (Map.Entry<?, ?> s : ((Map<?, ?>) e.getValue()).entrySet()) {
                    if (s.getValue() instanceof Tensor t) {
                        try (Autograd.Mode m = Autograd.noGrad()) {
                            if (scalarState((String) s.getKey())) {
                                scalarBuffer(mine, (String) s.getKey(), 0).copy_(t);
                            } else {
                                buffer(mine, (String) s.getKey(), p).copy_(t);
                            }
                        }
                    } else if ("step".equals(s.getKey())) {
                        count[0] = ((Number) s.getValue()).longValue();
                    }
                }
            }
            built = true;
        } finally {
            if (!built) {
                for (Map<String, Tensor> made : newState.values()) {
                    made.values().forEach(Tensor::close);
                }
            }
        }
        for (int i = 0; i < groups.size(); i++) {
            groups.get(i).options().putAll(newOptions.get(i));
        }
        // the loaded state replaces this optimizer's, as PyTorch's: a parameter with no entry (or a buffer the entry
        // lacks) kept its momentum and step count, so rolling back to an earlier checkpoint did not roll them back
        for (Map<String, Tensor> old : state.values()) {
            old.values().forEach(Tensor::close);
        }
        state.clear();
        steps.clear();
        state.putAll(newState);
        steps.putAll(newSteps);
    }
}
