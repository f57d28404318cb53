package dev.lanes.memory;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * A reference-counted handle on one pooled off-heap block.
 *
 * <p>A tensor and all of its views share one storage; each holds one reference ({@link #retain()})
 * and gives it back once ({@link #release(String)}). When the count reaches zero the block goes back
 * to the pool at once. If every holder is dropped without release, a {@link Cleaner} returns the
 * block after the handle becomes unreachable.
 *
 * <p>After the last release {@link #segment()} throws {@link IllegalStateException} naming who released
 * it, so a stale handle can never read a block that the pool has since handed to someone else.
 *
 * <p>Kernels {@link #pin()} the storages they touch for the length of a call, so a release from another thread
 * while a kernel runs defers the block's return to the end of that call (see {@code dev.lanes.OpFrame}).
 *
 * <p>The segment is a slice of exactly the requested size: bounds checks catch any access past the
 * tensor's bytes even though the pooled block may be larger.
 */
public final class Storage {
    private static final Cleaner CLEANER = Cleaner.create(new CleanerThreads());
    private static final VarHandle COUNTS;
    private static final VarHandle VERSION;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COUNTS = l.findVarHandle(Storage.class, "counts", long.class);
            VERSION = l.findVarHandle(Storage.class, "version", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Returns the block to its pool exactly once: on the last release or from the Cleaner. */
    private static final class Returner implements Runnable {
        private final MemoryPool pool;
        private final MemoryPool.Block block;

        Returner(MemoryPool pool, MemoryPool.Block block) {
            this.pool = pool;
            this.block = block;
        }

        @Override
        public void run() {
            pool.give(block);
        }
    }

    private final MemorySegment segment;
    private final Cleaner.Cleanable cleanable;
    /**
     * Holders in the high 32 bits, running pins in the low 32, changed together by one compare-and-set: a release
     * when no holder is left (a second release while a kernel has the block pinned) is refused instead of taking the
     * pin's count, and no check races with a pin starting on another thread (it read two counts at two moments).
     */
    @SuppressWarnings("unused") // accessed through COUNTS
    private volatile long counts = HOLDER;
    private static final long HOLDER = 1L << 32;
    @SuppressWarnings("unused") // accessed through VERSION
    private volatile int version;
    private volatile String releasedBy;
    /** Reason of the latest {@link #release}: reported once a pin that outlived it returns the block. */
    private volatile String pendingReason;

    private static final java.util.concurrent.atomic.AtomicLong SERIALS = new java.util.concurrent.atomic.AtomicLong();
    /** Creation order across all threads: a tracer tells storages made during its trace from older ones. */
    private final long serial = SERIALS.incrementAndGet();

    /** This storage's place in creation order (every storage gets a larger one than all made before it). */
    public long serial() {
        return serial;
    }

    /** The serial the next storage made will exceed. */
    public static long lastSerial() {
        return SERIALS.get();
    }

    private Storage(MemoryPool pool, long bytes) {
        MemoryPool.Block block = pool.take(bytes);
        try {
            this.segment = block.segment.asSlice(0, bytes);
            this.cleanable = CLEANER.register(this, new Returner(pool, block));
        } catch (RuntimeException | Error e) { // a heap OutOfMemoryError here kept the block and its budget for good
            pool.give(block);
            throw e;
        }
    }

    /** A new storage of {@code bytes} bytes from the global pool, holding one reference; contents undefined. */
    public static Storage allocate(long bytes) {
        return new Storage(MemoryPool.global(), bytes);
    }

    /** A new storage from the given pool. */
    public static Storage allocate(MemoryPool pool, long bytes) {
        return new Storage(pool, bytes);
    }

    /** The bytes; throws if the storage was released. */
    public MemorySegment segment() {
        if (releasedBy != null) {
            throw new IllegalStateException("storage of " + segment.byteSize() + " bytes was released by " + releasedBy);
        }
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    public boolean isReleased() {
        return releasedBy != null;
    }

    /** Who released the storage, or null while it is alive. */
    public String releasedBy() {
        return releasedBy;
    }

    private static int holders(long c) {
        return (int) (c >>> 32);
    }

    private static int pins(long c) {
        return (int) c;
    }

    /** Current number of holders, running pins included. */
    public int refCount() {
        long c = (long) COUNTS.getVolatile(this);
        return holders(c) + pins(c);
    }

    /** Adds a holder (a view). Throws if the storage was already released. */
    public void retain() {
        add(HOLDER);
    }

    /** Adds {@code delta} (a holder or a pin) while the block is still held by anyone; throws once it was returned. */
    private void add(long delta) {
        while (true) {
            long c = (long) COUNTS.getVolatile(this);
            if (holders(c) + pins(c) <= 0) {
                // releasedBy is written just after the counts reach 0; pendingReason was written before it
                String by = releasedBy;
                throw new IllegalStateException("storage of " + segment.byteSize() + " bytes was released by " + (by != null ? by : pendingReason));
            }
            if (COUNTS.compareAndSet(this, c, c + delta)) {
                return;
            }
        }
    }

    /**
     * Holds the block for the length of one kernel call (one compare-and-set): a {@link #release} that happens
     * meanwhile (another thread closing the tensor) drops its holder at once, but the block goes back to the pool
     * only at the matching {@link #unpin()}, so the running kernel finishes on its own bytes and the pool can never
     * hand them to another tensor while it runs. Throws like {@link #retain()} if the storage is already released.
     */
    public void pin() {
        add(1);
    }

    /** Ends a {@link #pin()}; returns the block if every holder released it while the pin was held. */
    public void unpin() {
        while (true) {
            long c = (long) COUNTS.getVolatile(this);
            if (pins(c) <= 0) {
                throw new IllegalStateException("unpin without a pin" + (releasedBy != null ? " on a storage released by " + releasedBy : ""));
            }
            if (COUNTS.compareAndSet(this, c, c - 1)) {
                if (c - 1 == 0) {
                    String by = pendingReason;
                    releasedBy = by != null ? by : "the last pin";
                    cleanable.clean();
                }
                return;
            }
        }
    }

    /**
     * Drops one holder; the last one returns the block to the pool (at once, or at the last running pin's unpin).
     *
     * @param reason what released it (for the message a later access throws)
     * @return true when this call freed the block
     */
    public boolean release(String reason) {
        while (true) {
            long c = (long) COUNTS.getVolatile(this);
            if (holders(c) <= 0) {
                throw new IllegalStateException(pins(c) > 0 ? "storage released more often than it was held (a kernel still has it pinned)"
                        : "storage released twice; first by " + releasedBy);
            }
            pendingReason = reason;
            if (COUNTS.compareAndSet(this, c, c - HOLDER)) {
                if (c - HOLDER == 0) {
                    releasedBy = reason;
                    cleanable.clean();
                    return true;
                }
                return false;
            }
        }
    }

    /** Version counter shared by every view: bumped by each in-place write (autograd checks it). */
    public int version() {
        return (int) VERSION.getVolatile(this);
    }

    public void bumpVersion() {
        VERSION.getAndAdd(this, 1);
    }

    /**
     * Bumped by the layer above each time an in-place write gives a tensor on this memory a new history (autograd's
     * rewritten grad_fn): a view recorded before that still points at the old one.
     */
    private volatile int historyRewrites;

    public int historyRewrites() {
        return historyRewrites;
    }

    public synchronized void bumpHistoryRewrites() {
        historyRewrites++;
    }

    /** The cleaner's daemon thread (a class, not a lambda: a lambda spins a class at its first use, see the kernels package's note on a young JVM). */
    private static final class CleanerThreads implements java.util.concurrent.ThreadFactory {
        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "lanes-storage-cleaner");
            t.setDaemon(true);
            return t;
        }
    }
}
