package dev.lanes.memory;

import java.util.ArrayDeque;
import java.util.ArrayList;

/**
 * Releases every tensor created inside it, on the thread that opened it, when it closes:
 * <pre>{@code
 * try (var scope = MemoryScope.open()) {
 *     Tensor y = x.mul(2).add(1);      // registered with the scope
 *     float s = y.sum().item();
 * }                                    // y and the temporaries are back in the pool here
 * }</pre>
 * Scopes nest; a tensor belongs to the innermost scope open when it was created. To let a result
 * outlive the scope, pass it to {@link #keep(Releasable)}: it moves to the enclosing scope, or to no
 * scope (then the caller owns it). Objects the engine keeps on purpose (gradients of parameters,
 * optimizer state) are created {@linkplain #unscoped() outside any scope}.
 *
 * <p>A scope is confined to its thread: tensors created by other threads are not registered.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<MemoryScope>> STACK = new ThreadLocal<>() {
        @Override
        protected ArrayDeque<MemoryScope> initialValue() {
            return new ArrayDeque<>();
        }
    };

    private final ArrayList<Releasable> owned = new ArrayList<>();
    private final Thread owner = Thread.currentThread();
    private final boolean suspending;
    private boolean closed;

    private MemoryScope(boolean suspending) {
        this.suspending = suspending;
    }

    /** Opens a scope on this thread. */
    public static MemoryScope open() {
        MemoryScope s = new MemoryScope(false);
        STACK.get().push(s);
        return s;
    }

    /**
     * Opens a region in which nothing is registered with any scope, for objects that must outlive the
     * caller's scopes (a parameter's gradient, optimizer state). Close it like a scope; it releases nothing.
     */
    public static MemoryScope unscoped() {
        MemoryScope s = new MemoryScope(true);
        STACK.get().push(s);
        return s;
    }

    /** Registers a new object with the innermost open scope of this thread, if any. */
    public static void register(Releasable r) {
        MemoryScope s = STACK.get().peek();
        if (s != null && !s.suspending) {
            s.owned.add(r);
        }
    }

    /**
     * Takes {@code r} out of every scope of this thread that would release it: the caller now owns it. What a module
     * does with a tensor it registers as a parameter or buffer, so a module built inside a scope keeps its weights.
     * Returns {@code r}.
     */
    public static <T extends Releasable> T disown(T r) {
        for (MemoryScope s : STACK.get()) {
            for (int i = s.owned.size() - 1; i >= 0; i--) {
                if (s.owned.get(i) == r) {
                    s.owned.remove(i);
                    break;
                }
            }
        }
        return r;
    }

    /** The innermost open scope of this thread, or null. */
    public static MemoryScope current() {
        MemoryScope s = STACK.get().peek();
        return s == null || s.suspending ? null : s;
    }

    /** Number of objects this scope will release. */
    public int size() {
        return owned.size();
    }

    /**
     * Lets {@code r} survive this scope: it moves to the enclosing scope if there is one, else the caller
     * owns it. Returns {@code r}. An object this scope does not own (the caller's, or an outer scope's) is left where
     * it is: it was handed to the enclosing scope all the same, which then released a tensor the caller owned, or one
     * an outer scope still needed, when it closed.
     */
    public <T extends Releasable> T keep(T r) {
        checkOwner();
        boolean mine = false;
        for (int i = owned.size() - 1; i >= 0; i--) {
            if (owned.get(i) == r) {
                owned.remove(i);
                mine = true;
                break;
            }
        }
        if (!mine) {
            return r;
        }
        ArrayDeque<MemoryScope> stack = STACK.get();
        boolean seenThis = false;
        for (MemoryScope s : stack) { // innermost first
            if (seenThis) {
                if (!s.suspending) {
                    s.owned.add(r);
                }
                break;
            }
            seenThis = s == this;
        }
        return r;
    }

    @Override
    public void close() {
        checkOwner();
        if (closed) {
            return;
        }
        closed = true;
        ArrayDeque<MemoryScope> stack = STACK.get();
        try {
            if (stack.peek() != this) {
                // closing out of order: close inner scopes first so nothing outlives its parent
                while (!stack.isEmpty() && stack.peek() != this) {
                    MemoryScope inner = stack.peek();
                    try {
                        inner.close();
                    } finally {
                        stack.remove(inner); // off the stack even if its close threw: it must not stay innermost
                    }
                }
            }
        } finally {
            stack.remove(this); // a throwing inner close left this closed scope innermost: new tensors registered into it
        }
        RuntimeException first = null;
        for (int i = owned.size() - 1; i >= 0; i--) {
            Releasable r = owned.get(i);
            try {
                if (!r.isReleased()) {
                    r.release("MemoryScope.close()");
                }
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        owned.clear();
        if (first != null) {
            throw first;
        }
    }

    private void checkOwner() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("MemoryScope opened on thread " + owner.getName()
                    + " used from " + Thread.currentThread().getName());
        }
    }
}
