package dev.lanes.nn;

import dev.lanes.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * Holds submodules in a list, like {@code torch.nn.ModuleList}: they are registered as "0", "1", ..., so a model's
 * {@code parameters()}, {@code namedParameters()} and state dict see them ({@code layers.0.weight}), {@code train()}
 * and {@code eval()} reach them, and the repr prints them. It has no {@code forward}: the owner calls its entries.
 * <pre>{@code
 * final ModuleList blocks = register("blocks", new ModuleList());
 * ...
 * for (int i = 0; i < depth; i++) blocks.append(new Block(dim));
 * ...
 * for (Module block : blocks) x = block.forward(x);
 * }</pre>
 * Indices may be negative (counting from the end), like Python's. Removing or inserting renumbers the entries after
 * it, like PyTorch's {@code del layers[i]} and {@code layers.insert(i, m)}.
 */
public class ModuleList extends Module implements Iterable<Module> {
    private final List<Module> items = new ArrayList<>();

    public ModuleList() {
    }

    public ModuleList(Module... modules) {
        for (Module m : modules) {
            append(m);
        }
    }

    public ModuleList(Iterable<? extends Module> modules) {
        extend(modules);
    }

    /** Adds {@code module} at the end, like {@code layers.append(m)}; returns this list. */
    public ModuleList append(Module module) {
        putChild(Integer.toString(items.size()), module);
        items.add(module);
        return this;
    }

    /** Appends every module of {@code modules} in order, like {@code layers.extend(ms)}; returns this list. */
    public ModuleList extend(Iterable<? extends Module> modules) {
        if (modules == null) {
            throw new IllegalArgumentException("ModuleList.extend should be called with an iterable, but got null");
        }
        for (Module m : modules) {
            append(m);
        }
        return this;
    }

    /** Inserts {@code module} before position {@code index} ({@code 0 .. size()}, or negative from the end), like {@code layers.insert(i, m)}. */
    public void insert(int index, Module module) {
        int n = items.size();
        int i = index < 0 ? index + n : index;
        if (i < 0 || i > n) {
            throw new IndexOutOfBoundsException("index " + index + " is out of range for insert into a ModuleList of " + n);
        }
        if (module == null) {
            throw new IllegalArgumentException("module '" + i + "' is null");
        }
        items.add(i, module);
        renumberFrom(i);
    }

    /** The module at {@code index} (negative counts from the end), like {@code layers[i]}. */
    public Module get(int index) {
        return items.get(absolute(index));
    }

    /** Replaces the module at {@code index}, like {@code layers[i] = m}; returns the old one. */
    public Module set(int index, Module module) {
        int i = absolute(index);
        putChild(Integer.toString(i), module);
        return items.set(i, module);
    }

    /** Removes and returns the module at {@code index}, renumbering the ones after it, like {@code layers.pop(i)}. */
    public Module pop(int index) {
        int i = absolute(index);
        Module m = items.remove(i);
        removeChild(Integer.toString(items.size())); // the last name goes; the names from i on are reassigned
        renumberFrom(i);
        return m;
    }

    /** A new ModuleList holding (not copying) the modules {@code from} (inclusive) to {@code to} (exclusive), like {@code layers[a:b]}. */
    public ModuleList slice(int from, int to) {
        int n = items.size();
        int a = Math.clamp(from < 0 ? (long) from + n : from, 0, n);
        int b = Math.clamp(to < 0 ? (long) to + n : to, 0, n);
        return new ModuleList(items.subList(a, Math.max(a, b)));
    }

    /** Number of modules, like {@code len(layers)}. */
    public int size() {
        return items.size();
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    @Override
    public Iterator<Module> iterator() {
        return Collections.unmodifiableList(items).iterator();
    }

    /** ModuleList has no forward of its own: call its modules. */
    @Override
    public Tensor forward(Tensor input) {
        throw new UnsupportedOperationException("Module [ModuleList] is missing the required \"forward\" function: call its modules"
                + " (for (Module m : list) x = m.forward(x))");
    }

    private int absolute(int index) {
        int n = items.size();
        if (index < -n || index >= n) {
            throw new IndexOutOfBoundsException("index " + index + " is out of range");
        }
        return index < 0 ? index + n : index;
    }

    /** Re-registers items[from ..] under their positions (existing names keep their place, a new last one is appended). */
    private void renumberFrom(int from) {
        for (int k = from; k < items.size(); k++) {
            putChild(Integer.toString(k), items.get(k));
        }
    }
}
