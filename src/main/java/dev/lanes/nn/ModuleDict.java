package dev.lanes.nn;

import dev.lanes.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Holds submodules by name in insertion order, like {@code torch.nn.ModuleDict}: each is registered under its key,
 * so a model's parameters, state dict ({@code heads.cls.weight}), {@code train()}/{@code eval()} and repr see them.
 * It has no {@code forward}: the owner calls its entries. Assigning an existing key replaces the module in its
 * place, like a Python dict.
 */
public class ModuleDict extends Module {
    public ModuleDict() {
    }

    /** The entries of {@code modules} in its iteration order (use a {@code LinkedHashMap} or {@code Map.of} order you mean). */
    public ModuleDict(Map<String, ? extends Module> modules) {
        update(modules);
    }

    /** Sets {@code key} to {@code module}, like {@code d[key] = m}; returns the module it replaced, or null. */
    public Module put(String key, Module module) {
        Module old = namedChildren().get(key);
        putChild(key, module);
        return old;
    }

    /** Puts every entry of {@code modules} in its iteration order, like {@code d.update(ms)}. */
    public void update(Map<String, ? extends Module> modules) {
        if (modules == null) {
            throw new IllegalArgumentException("ModuleDict.update should be called with a map, but got null");
        }
        for (Map.Entry<String, ? extends Module> e : modules.entrySet()) {
            putChild(e.getKey(), e.getValue());
        }
    }

    /** The module under {@code key}, like {@code d[key]}; throws {@link NoSuchElementException} (Python's KeyError) if absent. */
    public Module get(String key) {
        Module m = namedChildren().get(key);
        if (m == null) {
            throw new NoSuchElementException("'" + key + "' is not a key of this ModuleDict (keys: " + keys() + ")");
        }
        return m;
    }

    public boolean containsKey(String key) {
        return namedChildren().containsKey(key);
    }

    /** Removes and returns the module under {@code key}, like {@code d.pop(key)}. */
    public Module pop(String key) {
        Module m = get(key);
        removeChild(key);
        return m;
    }

    /** Removes every entry, like {@code d.clear()}. */
    public void clear() {
        for (String k : keys()) {
            removeChild(k);
        }
    }

    /** The keys in insertion order. */
    public List<String> keys() {
        return new ArrayList<>(namedChildren().keySet());
    }

    public List<Module> values() {
        return children();
    }

    /** The entries in insertion order (an unmodifiable view), like {@code d.items()}. */
    public Map<String, Module> items() {
        return namedChildren();
    }

    public int size() {
        return namedChildren().size();
    }

    public boolean isEmpty() {
        return namedChildren().isEmpty();
    }

    /** ModuleDict has no forward of its own: call its modules. */
    @Override
    public Tensor forward(Tensor input) {
        throw new UnsupportedOperationException("Module [ModuleDict] is missing the required \"forward\" function: call its modules"
                + " (dict.get(key).forward(x))");
    }
}
