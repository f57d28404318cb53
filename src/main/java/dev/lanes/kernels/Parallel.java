package dev.lanes.kernels;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
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
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

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
                    p = Executors.newFixedThreadPool(workers, r -> {
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
        run(parts, part -> body.accept(part, (int) ((long) count * part / parts), (int) ((long) count * (part + 1) / parts)));
    }

    /**
     * Runs {@code body.accept(part)} for part = 0..parts-1, part 0 on the calling thread, and returns only when every
     * part has finished, whatever happens: a part the pool refuses (its pool was replaced by {@link #setThreads} and
     * shut down meanwhile) runs on the calling thread, and an interrupt while waiting does not cut the wait short
     * (the parts still write into their outputs, which the caller may free as soon as this returns): the call waits,
     * restores the interrupt flag and then throws.
     */
    public static void run(int parts, IntConsumer body) {
        if (parts <= 1 || INSIDE.get()) {
            for (int i = 0; i < Math.max(parts, 1); i++) {
                body.accept(i);
            }
            return;
        }
        CountDownLatch done = new CountDownLatch(parts - 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        ExecutorService p = pool();
        for (int i = 1; i < parts; i++) {
            int part = i;
            java.util.concurrent.atomic.AtomicBoolean claimed = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable task = () -> {
                if (!claimed.compareAndSet(false, true)) {
                    return; // already run on the calling thread after execute() failed
                }
                boolean outer = INSIDE.get();
                INSIDE.set(true);
                try {
                    body.accept(part);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    INSIDE.set(outer);
                    done.countDown();
                }
            };
            try {
                p.execute(task);
            } catch (RejectedExecutionException e) {
                task.run(); // the pool was shut down by setThreads after we took it: this part runs here
            } catch (Throwable e) {
                // the pool could not start a worker (OutOfMemoryError: unable to create native thread, ...): run the
                // part here too, so that no part started above outlives this call; report the error after the wait.
                // The claim makes a copy that execute() queued before failing a no-op.
                failure.compareAndSet(null, e);
                task.run();
            }
        }
        INSIDE.set(true);
        try {
            body.accept(0);
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        } finally {
            INSIDE.set(false);
        }
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: returning now would free memory the parts still write
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            IllegalStateException ex = new IllegalStateException("interrupted while waiting for kernel workers (they have finished)");
            Throwable f = failure.get();
            if (f != null) {
                ex.addSuppressed(f);
            }
            throw ex;
        }
        Throwable f = failure.get();
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
