package dev.lanes;

import dev.lanes.memory.Storage;

/**
 * The pins one kernel call holds on the storages it reads and writes (issue 14, R1).
 *
 * <p>Why: pooled blocks are recycled without closing their arena, so the FFM liveness check cannot stop a kernel
 * from writing into a block that another thread's {@code close()} gave back to the pool and the pool then handed to
 * a new tensor. Every kernel launch therefore runs inside a frame:
 *
 * <pre>{@code
 * try (OpFrame f = OpFrame.enter()) {
 *     Elementwise.unary(kernel, p, q, seg(), offset, strides, out.seg(), 0, out.strides, shape);
 * }
 * }</pre>
 *
 * and {@link Tensor#seg()} pins the tensor's storage into the innermost open frame ({@link Storage#pin()}: one
 * compare-and-set, taken once per storage per frame). A {@code close()} from another thread during the call marks
 * the tensor released at once (its next use throws) and drops its holder, but the block returns to the pool only
 * when the frame closes: the kernel that was running completes on its own data, and its result is whatever it
 * computed from the bytes it had (the closed tensor is not readable afterwards anyway).
 *
 * <p>Frames nest (an op that calls other ops); each releases the pins it took, so a temporary created and closed
 * inside an op is returned at once and not held to the end of the outer op. A storage already pinned by an outer
 * frame of the same thread is not pinned again. Kernel parts running on {@code Parallel}'s workers need no pins of
 * their own: {@code Parallel.run} returns only after every part finished, and the caller's frame covers that.
 *
 * <p>One frame object per thread, reused: no heap allocation per call. With {@code -Dlanes.strictOpFrames=true}
 * (the test suite sets it) a {@code seg()} outside any frame throws, so a kernel launch that forgot its frame fails
 * the tests instead of silently running unpinned.
 */
final class OpFrame implements AutoCloseable {
    static final boolean STRICT = Boolean.getBoolean("lanes.strictOpFrames");
    private static final ThreadLocal<OpFrame> CURRENT = new ThreadLocal<>() {
        @Override
        protected OpFrame initialValue() {
            return new OpFrame();
        }
    };

    private Storage[] pins = new Storage[8];
    private int count;
    private int[] marks = new int[4];
    private int depth;

    private OpFrame() {
    }

    /** Opens a frame on the calling thread; close it (try-with-resources) when the kernels it launched returned. */
    static OpFrame enter() {
        OpFrame f = CURRENT.get();
        if (f.depth == f.marks.length) {
            f.marks = java.util.Arrays.copyOf(f.marks, f.depth * 2);
        }
        f.marks[f.depth++] = f.count;
        return f;
    }

    /** Pins {@code s} into the calling thread's innermost frame (a no-op if an open frame already pins it). */
    static void pin(Storage s) {
        OpFrame f = CURRENT.get();
        if (f.depth == 0) {
            if (STRICT) {
                throw new IllegalStateException("internal error: a kernel touched a tensor's memory outside an OpFrame "
                        + "(its storage was not pinned against a concurrent close())");
            }
            return;
        }
        Storage[] p = f.pins;
        for (int i = 0, n = f.count; i < n; i++) {
            if (p[i] == s) {
                return;
            }
        }
        if (f.count == p.length) {
            f.pins = p = java.util.Arrays.copyOf(p, p.length * 2); // before the pin: a failed grow must not leak one
        }
        s.pin();
        p[f.count++] = s;
    }

    /** Number of frames open on the calling thread (tests). */
    static int depth() {
        return CURRENT.get().depth;
    }

    /** Releases the pins this frame took; a storage whose tensors were all closed meanwhile goes back to the pool now. */
    @Override
    public void close() {
        if (depth == 0) {
            throw new IllegalStateException("OpFrame closed more often than entered");
        }
        int mark = marks[--depth];
        Throwable failure = null;
        for (int i = count - 1; i >= mark; i--) {
            Storage s = pins[i];
            pins[i] = null;
            try {
                s.unpin();
            } catch (Throwable e) {
                failure = e; // unpin every other storage first
            }
        }
        count = mark;
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error er) {
            throw er;
        }
    }
}
