package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Base class of every layer and model, like {@code torch.nn.Module}. Subclasses register their parts by name,
 * typically as field initialisers, which keeps PyTorch's registration order:
 * <pre>{@code
 * class Net extends Module {
 *     final Conv2d conv1 = register("conv1", new Conv2d(1, 6, 5));
 *     final Linear fc1 = register("fc1", new Linear(400, 120));
 *     final Tensor scale = registerParameter("scale", Tensor.ones(120));   // like nn.Parameter(torch.ones(120))
 *     public Tensor forward(Tensor x) { ... }
 * }
 * }</pre>
 * Parameters are ordinary tensors with {@code requiresGrad(true)}; they and buffers (such as BatchNorm's
 * running statistics) belong to the module from registration on: no {@link MemoryScope} open while it is built
 * releases them.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** The computation, like {@code forward} in PyTorch; call it directly: {@code net.forward(x)}. */
    public abstract Tensor forward(Tensor input);

    // ---- registration ----

    /** Registers a submodule under {@code name} and returns it. */
    protected final <M extends Module> M register(String name, M module) {
        checkName(name);
        if (module == null) {
            throw new IllegalArgumentException("module '" + name + "' is null");
        }
        children.put(name, module);
        structureVersion++;
        return module;
    }

    /** Bumped whenever a submodule is added, replaced or removed here (a compiled step over this module recaptures). */
    private int structureVersion;

    /** This module's own count of submodule changes (added, replaced, removed); not its submodules'. */
    public final int structureVersion() {
        return structureVersion;
    }

    /**
     * Registers a parameter (marked requiresGrad) under {@code name}; null registers an absent one (bias=False). The
     * module owns it from now on: a {@code MemoryScope} open while the module is built does not release it, so
     * {@code weight = registerParameter("weight", Tensor.randn(4, 3).mul(0.1))} needs no scope of its own.
     */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        if (value != null) {
            MemoryScope.disown(value);
            if (!value.isLeaf()) {
                throw new IllegalArgumentException("parameter '" + name + "' must be a leaf tensor (detach() it first)");
            }
            value.requiresGrad(true);
        }
        parameters.put(name, value);
        return value;
    }

    /** Registers a buffer: state saved in the state dict but not trained (running statistics). */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        if (value != null) {
            MemoryScope.disown(value); // owned by the module, like a parameter
        }
        buffers.put(name, value);
        return value;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("module, parameter and buffer names must be non-empty and contain no '.', got '" + name + "'");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("attribute '" + name + "' already exists in " + getClass().getSimpleName());
        }
    }

    /**
     * Sets the submodule {@code name}: replaces the one of that name in its place, or appends it, like assigning
     * {@code self._modules[name]} in PyTorch. For the containers ({@link ModuleList}, {@link ModuleDict}), whose
     * entries may be reassigned; names are checked with PyTorch's messages.
     */
    final void putChild(String name, Module module) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("module name can't be empty string \"\"");
        }
        if (name.contains(".")) {
            throw new IllegalArgumentException("module name can't contain \".\", got: " + name);
        }
        if (module == null) {
            throw new IllegalArgumentException("module '" + name + "' is null");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name)) {
            throw new IllegalArgumentException("attribute '" + name + "' already exists in " + getClass().getSimpleName());
        }
        children.put(name, module);
        structureVersion++;
    }

    /** Removes the submodule {@code name}; returns it, or null if there was none. */
    final Module removeChild(String name) {
        structureVersion++;
        return children.remove(name);
    }

    /** Allocations made while building a module outlive any scope the caller opened. */
    protected static MemoryScope owned() {
        return MemoryScope.unscoped();
    }

    // ---- traversal ----

    /** All parameters of this module and its submodules, in registration order, like {@code list(net.parameters())}. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Parameters by dotted name ({@code conv1.weight}), in registration order; a parameter shared by two modules once. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true);
        return firstNames(out);
    }

    /** Buffers by dotted name, in registration order; a buffer shared by two modules (one module twice) once, as PyTorch's. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, false);
        return firstNames(out);
    }

    /** Each tensor under the first name it has (identity, not equality). */
    private static Map<String, Tensor> firstNames(Map<String, Tensor> named) {
        Map<String, Tensor> unique = new LinkedHashMap<>();
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Map.Entry<String, Tensor> e : named.entrySet()) {
            if (seen.add(e.getValue())) {
                unique.put(e.getKey(), e.getValue());
            }
        }
        return unique;
    }

    public final List<Tensor> buffers() {
        return new ArrayList<>(namedBuffers().values());
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean params) {
        for (Map.Entry<String, Tensor> e : (params ? parameters : buffers).entrySet()) {
            if (e.getValue() != null) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> c : children.entrySet()) {
            c.getValue().collect(prefix + c.getKey() + ".", out, params);
        }
    }

    /** Direct submodules, in registration order. */
    public final List<Module> children() {
        return new ArrayList<>(children.values());
    }

    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /**
     * This module and every submodule, depth first, like {@code net.modules()}: a module registered twice (new
     * Sequential(l, l)) once, as PyTorch's named_modules (an init loop over it drew l's weights twice, shifting every
     * later draw from PyTorch's with the same seed).
     */
    public final List<Module> modules() {
        List<Module> out = new ArrayList<>();
        collectModules(out, Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        return out;
    }

    private void collectModules(List<Module> out, java.util.Set<Module> seen) {
        if (!seen.add(this)) {
            return;
        }
        out.add(this);
        for (Module c : children.values()) {
            c.collectModules(out, seen);
        }
    }

    /**
     * Applies {@code fn} to every submodule (depth first, children before this one), like {@code net.apply(fn)}: a
     * child registered twice under one parent once, as PyTorch's children() gives it.
     */
    public final Module apply(Consumer<Module> fn) {
        java.util.Set<Module> done = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Module c : children.values()) {
            if (done.add(c)) {
                c.apply(fn);
            }
        }
        fn.accept(this);
        return this;
    }

    // ---- modes and gradients ----

    /** Training mode (Dropout active, BatchNorm updating its statistics); returns this. */
    public Module train() {
        return train(true);
    }

    public Module train(boolean mode) {
        training = mode;
        for (Module c : children.values()) {
            c.train(mode);
        }
        return this;
    }

    /** Evaluation mode, like {@code net.eval()}. */
    public Module eval() {
        return train(false);
    }

    public boolean isTraining() {
        List<Module> sink = MODE_READS.get();
        if (sink != null) {
            sink.add(this);
        }
        return training;
    }

    /** Where this thread's isTraining() calls are noted while {@link #recordingModeReads} runs (null: nowhere). */
    private static final ThreadLocal<List<Module>> MODE_READS = new ThreadLocal<>();

    /**
     * Runs {@code body}, adding to {@code sink} every module whose {@link #isTraining()} it asked (a compiled training
     * step captured over any function learns this way which train/eval switches its plan depends on).
     */
    public static <T> T recordingModeReads(List<Module> sink, java.util.function.Supplier<T> body) {
        List<Module> outer = MODE_READS.get();
        MODE_READS.set(sink);
        try {
            return body.get();
        } finally {
            if (outer == null) {
                MODE_READS.remove();
            } else {
                MODE_READS.set(outer);
            }
        }
    }

    /** Clears every parameter's gradient (PyTorch 2's default: set to null, freeing its memory). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /** {@code setToNull == false} keeps the gradient tensors and fills them with zeros (PyTorch 1's behaviour). */
    public void zeroGrad(boolean setToNull) {
        for (Tensor p : parameters()) {
            Tensor g = p.grad();
            if (g == null) {
                continue;
            }
            if (setToNull) {
                p.setGrad(null);
                g.close();
            } else {
                try (Autograd.Mode m = Autograd.noGrad()) {
                    g.zero_();
                }
            }
        }
    }

    // ---- state ----

    /**
     * Parameters and buffers by dotted name, like {@code net.state_dict()}: detached tensors on the module's own storage
     * (not copies; no grad, so an in-place edit, an EMA's {@code e.mul_(0.99)}, is allowed as in PyTorch). Each is a
     * handle of its own: close them, or call inside a {@code MemoryScope}.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : liveState().entrySet()) {
            out.put(e.getKey(), e.getValue().detach());
        }
        return out;
    }

    /** The module's own parameter and buffer objects by dotted name (what stateDict() detaches). */
    private Map<String, Tensor> liveState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out);
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out) {
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            if (e.getValue() != null) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
            if (e.getValue() != null) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> c : children.entrySet()) {
            c.getValue().collectState(prefix + c.getKey() + ".", out);
        }
    }

    /** The keys {@link #loadStateDict(Map, boolean)} did not load, like PyTorch's {@code _IncompatibleKeys}. */
    public record IncompatibleKeys(List<String> missingKeys, List<String> unexpectedKeys) {
    }

    /**
     * Copies values into this module's parameters and buffers. Every key, shape and value is checked before anything
     * is written (a released tensor too), and a value that shares memory with any of this module's tensors is copied
     * aside first, so a failing call changes nothing and no copy reads a value an earlier one overwrote. {@code strict}
     * also rejects missing and unexpected keys; without it they are returned (a dict with another prefix loaded
     * nothing, and said nothing). As PyTorch: the module's own order decides which of two names of one shared tensor
     * lands last; a 1-element 1-d value loads into a 0-d tensor; a dict without num_batches_tracked (an older
     * checkpoint, a hand-made or safetensors dict) loads BatchNorm's counter as 0.
     */
    public IncompatibleKeys loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = liveState();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        List<String> zeroed = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            if (!state.containsKey(e.getKey())) {
                if (e.getKey().endsWith("num_batches_tracked") && e.getValue().dim() == 0 && e.getValue().dtype() == dev.lanes.DType.INT64) {
                    zeroed.add(e.getKey()); // PyTorch's BatchNorm._load_from_state_dict for a dict of no (or an old) version
                } else {
                    missing.add(e.getKey());
                }
            }
        }
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            Tensor mine = own.get(e.getKey());
            Tensor value = e.getValue();
            if (mine == null) {
                unexpected.add(e.getKey());
            } else if (value == null || value.isReleased()) {
                throw new IllegalArgumentException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ": the value for "
                        + e.getKey() + " is " + (value == null ? "null" : "a released tensor") + "; nothing was loaded");
            } else if (!Arrays.equals(mine.shape(), value.shape()) && !(mine.dim() == 0 && value.dim() == 1 && value.numel() == 1)) {
                mismatched.add("size mismatch for " + e.getKey() + ": copying a param with shape torch." + value.size()
                        + " from checkpoint, the shape in current model is torch." + mine.size() + ".");
            }
        }
        List<String> errors = new ArrayList<>(); // PyTorch's order: missing, unexpected, then the size mismatches
        if (strict && !missing.isEmpty()) {
            errors.add("Missing key(s) in state_dict: " + quoted(missing) + ". ");
        }
        if (strict && !unexpected.isEmpty()) {
            errors.add("Unexpected key(s) in state_dict: " + quoted(unexpected) + ". ");
        }
        errors.addAll(mismatched);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ":\n\t"
                    + String.join("\n\t", errors));
        }
        try (Autograd.Mode g = Autograd.noGrad(); dev.lanes.memory.MemoryScope s = dev.lanes.memory.MemoryScope.open()) {
            Map<String, Tensor> sources = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : own.entrySet()) { // the module's order, as PyTorch's
                Tensor value = state.get(e.getKey());
                if (value == null) {
                    continue;
                }
                boolean aliased = false;
                for (Tensor t : own.values()) {
                    aliased |= value.sharesStorageWith(t) && !(t == e.getValue() && value.storageOffset() == t.storageOffset()
                            && Arrays.equals(value.stride(), t.stride()) && Arrays.equals(value.shape(), t.shape()));
                }
                Tensor src = aliased ? value.clone() : value; // copied aside: a later copy must not read an overwritten value
                sources.put(e.getKey(), value.dim() == 1 && e.getValue().dim() == 0 ? src.squeeze(0) : src);
            }
            for (Map.Entry<String, Tensor> e : sources.entrySet()) {
                own.get(e.getKey()).copy_(e.getValue());
            }
            for (String k : zeroed) {
                own.get(k).copy_(Tensor.zerosLong());
            }
        }
        return new IncompatibleKeys(List.copyOf(missing), List.copyOf(unexpected));
    }

    public IncompatibleKeys loadStateDict(Map<String, Tensor> state) {
        return loadStateDict(state, true);
    }

    private static String quoted(List<String> keys) {
        List<String> q = new ArrayList<>();
        for (String k : keys) {
            q.add('"' + k + '"');
        }
        return String.join(", ", q);
    }

    // ---- printing ----

    /** The text inside this module's parentheses in its repr, like PyTorch's {@code extra_repr()}. */
    public String extraRepr() {
        return "";
    }

    /** The class name PyTorch prints. */
    protected String reprName() {
        return getClass().getSimpleName();
    }

    /** PyTorch's module repr: {@code Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n ...)}. */
    @Override
    public String toString() {
        List<String> lines = new ArrayList<>();
        String extra = extraRepr();
        if (!extra.isEmpty()) {
            lines.addAll(Arrays.asList(extra.split("\n")));
        }
        for (Map.Entry<String, Module> c : children.entrySet()) {
            String child = addIndent(c.getValue().toString(), 2);
            lines.add("(" + c.getKey() + "): " + child);
        }
        StringBuilder sb = new StringBuilder(reprName()).append('(');
        if (!lines.isEmpty()) {
            if (extra.isEmpty() || !children.isEmpty() || lines.size() > 1) {
                sb.append("\n  ").append(String.join("\n  ", lines)).append('\n');
            } else {
                sb.append(lines.get(0));
            }
        }
        return sb.append(')').toString();
    }

    private static String addIndent(String s, int spaces) {
        String[] parts = s.split("\n", -1);
        if (parts.length == 1) {
            return s;
        }
        StringBuilder sb = new StringBuilder(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            sb.append('\n').append(" ".repeat(spaces)).append(parts[i]);
        }
        return sb.toString();
    }
}
