package dev.lanes.kernels;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The engine-wide worker pool. A kernel splits its work into parts that write disjoint outputs; the calling
 * thread runs part 0 itself and waits for the rest. Because every part computes its outputs in the same
 * order whatever the split, results are bit-identical for any thread count.
 *
 * <p>Calls from inside a part run inline (no nested parallelism, no deadlock), and many service threads
 * may call kernels at once: their parts simply queue on the same pool.
 */
public final class Parallel {
    private static volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static volatile ExecutorService pool;
    private static final ThreadLocal<Boolean> INSIDE = new ThreadLocal<>() {
        @Override
        protected Boolean initialValue() {
            return false;
        }
    };
    /** Parts the pool queues before a new one runs on its caller instead: many service threads may call at once. */
    private static final int QUEUED_PARTS = 4096;

    private Parallel() {
    }

    /** Threads kernels may use, the caller included. */
    public static int threads() {
        return threads;
    }

    /**
     * Sets the thread count (at least 1), safe at any time from any thread: calls in flight finish on the pool they
     * took (a part the old pool no longer accepts runs on its caller), new calls build and use a new pool, and the
     * old one shuts down once its queued parts have run.
     */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("number of threads must be positive, got " + n);
        }
        if (n != threads) {
            threads = n;
            ExecutorService old = pool;
            pool = null;
            if (old != null) {
                old.shutdown();
            }
        }
    }

    private static ExecutorService pool() {
        ExecutorService p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null) {
                    int workers = Math.max(1, threads - 1);
                    // a ring under a monitor (no node per queued part, none per idle wait: PartQueue); a part that
                    // finds it full runs on its caller
                    p = new ThreadPoolExecutor(workers, workers, 0L, TimeUnit.MILLISECONDS, new PartQueue(QUEUED_PARTS), r -> {
                        Thread t = new Thread(r, "lanes-worker");
                        t.setDaemon(true);
                        return t;
                    });
                    pool = p;
                }
            }
        }
        return p;
    }

    /**
     * Makes every kernel called on this thread run on it alone until {@link #exitSerial}; returns the previous
     * state. A compiled inference plan runs like this: a service gets its parallelism from its request threads.
     */
    public static boolean enterSerial() {
        boolean previous = INSIDE.get();
        INSIDE.set(Boolean.TRUE);
        return previous;
    }

    /** Restores the state {@link #enterSerial} returned. */
    public static void exitSerial(boolean previous) {
        INSIDE.set(previous ? Boolean.TRUE : Boolean.FALSE);
    }

    /** How many parts to split work of {@code units} independent units into, at most one per thread. */
    public static int partsFor(long units, long minUnitsPerPart) {
        if (INSIDE.get() || threads == 1) {
            return 1;
        }
        return (int) Math.max(1, Math.min(threads, units / Math.max(1, minUnitsPerPart)));
    }

    /** The body of {@link #forRange}: one part and its share [from, to) of the items. */
    @FunctionalInterface
    public interface RangeBody {
        void accept(int part, int from, int to);
    }

    /**
     * Splits items [0, count) into {@code parts} contiguous shares as even as integer division makes them (part p gets
     * [count p / parts, count (p + 1) / parts)) and runs them as {@link #run} does.
     */
    public static void forRange(int parts, int count, RangeBody body) {
        if (parts <= 1 || INSIDE.get()) {
            int n = Math.max(parts, 1);
            for (int i = 0; i < n; i++) {
                body.accept(i, (int) ((long) count * i / n), (int) ((long) count * (i + 1) / n));
            }
            return;
        }
        Call.reusable().set(null, body, count, parts).execute();
    }

    /**
     * Runs {@code body.accept(part)} for part = 0..parts-1, part 0 on the calling thread, and returns only when every
     * part has finished, whatever happens: a part the pool refuses (its pool was replaced by {@link #setThreads} and
     * shut down meanwhile, or its queue is full) runs on the calling thread, and an interrupt while waiting does not
     * cut the wait short (the parts still write into their outputs, which the caller may free as soon as this
     * returns): the call waits, restores the interrupt flag and then throws.
     */
    public static void run(int parts, IntConsumer body) {
        if (parts <= 1 || INSIDE.get()) {
            for (int i = 0; i < Math.max(parts, 1); i++) {
                body.accept(i);
            }
            return;
        }
        Call.reusable().set(body, null, 0, parts).execute();
    }

    /**
     * One parallel call: the parts left to finish (this AtomicInteger's value), the first failure, and the caller to
     * wake. The caller parks until the count reaches 0; the last part to finish unparks it. Each thread reuses its
     * own Call and its {@link Part}s from one call to the next (a call finishes all its parts before it returns, and
     * a part called from inside a part runs inline, so a thread never has two calls in flight): no latch, no lock
     * nodes, no objects per call but the caller's lambda (a compiled training step makes hundreds of these calls per
     * step; issue 17 asks it to allocate nothing).
     */
    private static final class Call extends AtomicInteger {
        private static final ThreadLocal<Call> REUSABLE = new ThreadLocal<>() {
            @Override
            protected Call initialValue() {
                return new Call();
            }
        };

        private IntConsumer body;
        private RangeBody range;
        private int count;
        private int parts;
        private final Thread caller = Thread.currentThread();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private Part[] pool = new Part[0];

        static Call reusable() {
            return REUSABLE.get();
        }

        Call set(IntConsumer body, RangeBody range, int count, int parts) {
            this.body = body;
            this.range = range;
            this.count = count;
            this.parts = parts;
            failure.set(null);
            if (pool.length < parts) {
                Part[] grown = java.util.Arrays.copyOf(pool, parts);
                for (int i = pool.length; i < parts; i++) {
                    grown[i] = new Part(this, i);
                }
                pool = grown;
            }
            set(parts - 1);
            return this;
        }

        void runPart(int part) {
            if (range != null) {
                range.accept(part, (int) ((long) count * part / parts), (int) ((long) count * (part + 1) / parts));
            } else {
                body.accept(part);
            }
        }

        void fail(Throwable e) {
            failure.compareAndSet(null, e);
        }

        void partDone() {
            if (decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }

        void execute() {
            try {
                runParts();
            } finally {
                body = null; // nothing of this call stays reachable from the thread (its failure was thrown already)
                range = null;
                failure.set(null);
            }
        }

        private void runParts() {
            ExecutorService p = pool();
            for (int i = 1; i < parts; i++) {
                Part task = pool[i];
                task.set(false);
                try {
                    p.execute(task);
                } catch (RejectedExecutionException e) {
                    task.run(); // the pool was shut down by setThreads after we took it, or its queue is full: run it here
                } catch (Throwable e) {
                    // the pool could not start a worker (OutOfMemoryError: unable to create native thread, ...): run the
                    // part here too, so that no part started above outlives this call; report the error after the wait.
                    // The claim makes a copy that execute() queued before failing a no-op; since that copy may still
                    // run later, this thread's next call gets a new Call, not this one.
                    fail(e);
                    task.run();
                    REUSABLE.remove();
                }
            }
            INSIDE.set(true);
            try {
                runPart(0);
            } catch (Throwable e) {
                fail(e);
            } finally {
                INSIDE.set(false);
            }
            // parts no worker has started yet run here, last first (workers take them first first): a worker that has
            // not woken up yet (waking a parked thread takes tens of microseconds, more on a busy VM, and a LeNet
            // step makes hundreds of calls) no longer holds the call up; the copy it dequeues later finds its part
            // claimed and does nothing. The parts are the same ranges whichever thread runs them: the same bits.
            for (int i = parts - 1; i >= 1 && get() != 0; i--) {
                pool[i].run();
            }
            // watch a short while before parking: the worker's part is usually about as long as the one this thread
            // just ran, and an unpark reaches a parked thread tens of microseconds later on a VM, once per call
            if (get() != 0) {
                long until = System.nanoTime() + PartQueue.SPIN_NANOS;
                do {
                    Thread.onSpinWait();
                } while (get() != 0 && System.nanoTime() < until);
            }
            boolean interrupted = false;
            while (get() != 0) {
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    interrupted = true; // keep waiting: returning now would free memory the parts still write
                }
            }
            Throwable f = failure.get();
            if (interrupted) {
                Thread.currentThread().interrupt();
                IllegalStateException ex = new IllegalStateException("interrupted while waiting for kernel workers (they have finished)");
                if (f != null) {
                    ex.addSuppressed(f);
                }
                throw ex;
            }
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error er) {
                throw er;
            }
            if (f != null) {
                throw new IllegalStateException(f);
            }
        }
    }

    /** One part of a {@link Call} for the pool; claimed once (this AtomicBoolean), so a copy run twice does nothing. */
    private static final class Part extends AtomicBoolean implements Runnable {
        private final Call call;
        private final int part;

        Part(Call call, int part) {
            this.call = call;
            this.part = part;
        }

        @Override
        public void run() {
            if (!compareAndSet(false, true)) {
                return; // already run on the calling thread (taken by the caller, or execute() failed)
            }
            boolean outer = INSIDE.get();
            INSIDE.set(true);
            try {
                call.runPart(part);
            } catch (Throwable e) {
                call.fail(e);
            } finally {
                INSIDE.set(outer);
                call.partDone();
            }
        }
    }
}
