package dev.lanes.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A size-classed pool of 64-byte-aligned native blocks.
 *
 * <p>Why a pool: a training step allocates the same activation sizes every iteration. Returning
 * blocks to per-size free lists means a steady-state step takes no new memory from the system and
 * never pays for zeroing or freeing it. Sizes are rounded up to one of four classes per power of two
 * (at most 25% slack), so a block freed by one shape serves nearby shapes too.
 *
 * <p>Why a budget: the garbage collector cannot see off-heap bytes. When the bytes handed out and not
 * yet returned exceed {@link #budgetBytes()}, an allocation first asks the GC to run (so the
 * {@link java.lang.ref.Cleaner} can return blocks of handles that were dropped without release) and
 * waits briefly, like the JDK does for direct buffers, before failing with {@link OutOfMemoryError}.
 *
 * <p>Each block owns a shared {@link Arena}; a block is freed to the system only when the pool holds
 * more idle bytes than {@link #retainBytes()} or on {@link #trim()}. Closing a shared arena makes any
 * straggling access throw instead of reading freed memory, so the JVM can never crash here.
 *
 * <p>Thread-safe: one lock per size class, taken only to push or pop a free list.
 */
public final class MemoryPool {
    /** Alignment of every block: one AVX-512 vector, one cache line. */
    public static final long ALIGNMENT = 64;

    /** The zero bytes {@link #allocateZeroed} copies from: 1 MiB and an alignment's slack (read-only; heap for the process). */
    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[(1 << 20) + (int) ALIGNMENT - 1]).asReadOnly();
    /** Idle blocks kept per size class at most; more are freed to the system. */
    static final int MAX_IDLE_BLOCKS_PER_CLASS = 4096;
    private static final int MIN_SHIFT = 6; // 64 bytes
    private static final int MAX_SHIFT = 40;
    private static final int CLASSES_PER_DOUBLING = 4;

    /**
     * The default budget is never below this, so the global pool starts with it and asks the operating system for
     * the machine's memory only when more is reserved: that query loads the JMX classes (~70-110 ms of a cold start).
     */
    private static final long MIN_DEFAULT_BUDGET = 1L << 30;

    private static final MemoryPool GLOBAL = new MemoryPool(budgetProperty(), defaultRetain(), MIN_DEFAULT_BUDGET);

    /** A pooled block: the whole size-class segment and the arena that owns it. */
    static final class Block {
        final MemorySegment segment;
        final Arena arena;
        final int sizeClass;

        Block(MemorySegment segment, Arena arena, int sizeClass) {
            this.segment = segment;
            this.arena = arena;
            this.sizeClass = sizeClass;
        }
    }

    private final ArrayDeque<Block>[] freeLists;
    private volatile long budget;
    /** False while {@link #budget} is only {@link #MIN_DEFAULT_BUDGET}, a floor of the default one still to compute. */
    private volatile boolean budgetKnown;
    private final long retain;
    private final AtomicLong inUse = new AtomicLong();       // bytes handed out, not yet returned
    private final AtomicLong idle = new AtomicLong();        // bytes sitting in free lists
    private final AtomicLong systemAllocations = new AtomicLong();
    private final AtomicLong systemFrees = new AtomicLong();
    private final AtomicLong peakReserved = new AtomicLong();

    @SuppressWarnings("unchecked")
    MemoryPool(long budgetBytes, long retainBytes) {
        this(budgetBytes, retainBytes, 0);
    }

    /**
     * {@code budgetBytes == 0} with {@code deferredFloor > 0}: the default budget, computed from the machine's memory
     * once reservations pass {@code deferredFloor} (never above the default budget, which is at least 1 GiB).
     */
    private MemoryPool(long budgetBytes, long retainBytes, long deferredFloor) {
        boolean deferred = budgetBytes == 0 && deferredFloor > 0;
        if (budgetBytes < 0 || (budgetBytes == 0 && !deferred) || retainBytes < 0) {
            throw new IllegalArgumentException("budget must be > 0 and retain >= 0, got " + budgetBytes + ", " + retainBytes);
        }
        this.budget = deferred ? Math.min(deferredFloor, MIN_DEFAULT_BUDGET) : budgetBytes;
        this.budgetKnown = !deferred;
        this.retain = retainBytes;
        int classes = (MAX_SHIFT - MIN_SHIFT + 1) * CLASSES_PER_DOUBLING + 1;
        this.freeLists = new ArrayDeque[classes];
        for (int i = 0; i < classes; i++) {
            freeLists[i] = new ArrayDeque<>();
        }
    }

    /** A pool with the default budget, computed once reservations pass {@code floor} (the global pool's: 1 GiB); for tests. */
    static MemoryPool withDefaultBudget(long retainBytes, long floor) {
        return new MemoryPool(0, retainBytes, floor);
    }

    /** Whether the budget is known yet (a default one is computed when reservations pass its floor). */
    boolean budgetResolved() {
        return budgetKnown;
    }

    /** The engine-wide pool every tensor allocates from. */
    public static MemoryPool global() {
        return GLOBAL;
    }

    /** Bytes handed out and not yet returned (live storages). */
    public long bytesInUse() {
        return inUse.get();
    }

    /** Bytes held idle in the free lists, ready for reuse. */
    public long bytesIdle() {
        return idle.get();
    }

    /** Bytes this pool holds from the system: in use plus idle. */
    public long bytesReserved() {
        return inUse.get() + idle.get();
    }

    /** Highest {@link #bytesReserved()} seen since start. */
    public long peakBytesReserved() {
        return peakReserved.get();
    }

    /** How many blocks were ever taken from the system (not served from a free list). */
    public long systemAllocations() {
        return systemAllocations.get();
    }

    /** How many blocks were ever given back to the system. */
    public long systemFrees() {
        return systemFrees.get();
    }

    /** The most bytes that may be in use before an allocation waits for the GC and then fails. */
    public long budgetBytes() {
        return knownBudget();
    }

    private long knownBudget() {
        if (!budgetKnown) {
            synchronized (this) {
                if (!budgetKnown) {
                    budget = defaultBudget();
                    budgetKnown = true;
                }
            }
        }
        return budget;
    }

    /** The most idle bytes kept for reuse; blocks returned beyond it are freed to the system. */
    public long retainBytes() {
        return retain;
    }

    /** Size in bytes of the class that serves a request of {@code bytes}. */
    public static long classSize(long bytes) {
        return sizeOfClass(sizeClassOf(bytes));
    }

    static int sizeClassOf(long bytes) {
        if (bytes <= (1L << MIN_SHIFT)) {
            return 0;
        }
        int p = 63 - Long.numberOfLeadingZeros(bytes - 1); // base = 2^p < bytes <= 2^(p+1)
        if (p >= MAX_SHIFT) {
            throw new IllegalArgumentException("cannot allocate " + bytes + " bytes: larger than 2^" + MAX_SHIFT);
        }
        long base = 1L << p;
        long step = base / CLASSES_PER_DOUBLING;
        long k = (bytes - base + step - 1) / step; // 1..4
        return (p - MIN_SHIFT) * CLASSES_PER_DOUBLING + (int) k;
    }

    static long sizeOfClass(int sizeClass) {
        if (sizeClass == 0) {
            return 1L << MIN_SHIFT;
        }
        int p = (sizeClass - 1) / CLASSES_PER_DOUBLING + MIN_SHIFT;
        int k = (sizeClass - 1) % CLASSES_PER_DOUBLING + 1;
        long base = 1L << p;
        return base + k * (base / CLASSES_PER_DOUBLING);
    }

    /** Takes a block of at least {@code bytes} bytes; its contents are undefined. */
    Block take(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation size " + bytes);
        }
        int sc = sizeClassOf(Math.max(bytes, 1));
        long size = sizeOfClass(sc);
        reserveBudget(size, bytes);
        ArrayDeque<Block> list = freeLists[sc];
        Block b;
        synchronized (list) {
            b = list.pollFirst();
        }
        if (b != null) {
            idle.addAndGet(-size);
            return b;
        }
        Arena arena = Arena.ofShared();
        MemorySegment seg;
        try {
            seg = allocateZeroed(arena, size);
        } catch (OutOfMemoryError e) {
            arena.close();
            inUse.addAndGet(-size);
            throw e;
        }
        systemAllocations.incrementAndGet();
        long reserved = bytesReserved();
        for (long peak = peakReserved.get(); reserved > peak && !peakReserved.compareAndSet(peak, reserved); ) {
            peak = peakReserved.get();
        }
        return new Block(seg, arena, sc);
    }

    /**
     * A new zeroed segment of {@code size} bytes at {@link #ALIGNMENT} in {@code arena}. {@code Arena.allocate} zeroes
     * with a Java loop (JDK 25's {@code SegmentFactories.initNativeMemory}) that a young JVM runs interpreted, ~5 ns a
     * byte: 10-15 ms of a ResNet-20 cold start (~100 blocks, 3.3 MB). A block up to 1 MiB (with its alignment slack,
     * {@link #ZEROS}' size) is taken unzeroed by {@code allocateFrom} and filled from a zeroed heap array by the JDK's
     * native copy instead; larger ones keep {@code allocate}, whose one long loop the JIT compiles early. Either way a
     * block new from the system starts zeroed: no tensor sees memory the process or the system had freed (a block
     * reused from a free list holds what its last tensor left: {@link #take}'s contents are undefined).
     */
    private static MemorySegment allocateZeroed(Arena arena, long size) {
        long padded = size + ALIGNMENT - 1;
        if (padded > ZEROS.byteSize()) {
            return arena.allocate(size, ALIGNMENT);
        }
        MemorySegment raw = arena.allocateFrom(ValueLayout.JAVA_BYTE, ZEROS, ValueLayout.JAVA_BYTE, 0, padded);
        return raw.asSlice(-raw.address() & (ALIGNMENT - 1), size);
    }

    /** Returns a block; it is kept for reuse or freed to the system beyond the retain limit. */
    void give(Block b) {
        long size = b.segment.byteSize();
        inUse.addAndGet(-size);
        if (idle.get() + size > retain) {
            systemFrees.incrementAndGet();
            b.arena.close();
            return;
        }
        ArrayDeque<Block> list = freeLists[b.sizeClass];
        synchronized (list) {
            // a cap on blocks, not only bytes: each idle block also holds an arena and a segment on the heap
            // (~200 bytes), which the byte limit does not see (432k zero-size blocks held 90 MB of heap)
            if (list.size() >= MAX_IDLE_BLOCKS_PER_CLASS) {
                systemFrees.incrementAndGet();
                b.arena.close();
                return;
            }
            idle.addAndGet(size);
            list.addFirst(b); // LIFO: the most recently used block is the warmest in cache
        }
    }

    /** Frees every idle block to the system; returns the bytes freed. */
    public long trim() {
        long freed = 0;
        for (ArrayDeque<Block> list : freeLists) {
            while (true) {
                Block b;
                synchronized (list) {
                    b = list.pollFirst();
                }
                if (b == null) {
                    break;
                }
                long size = b.segment.byteSize();
                idle.addAndGet(-size);
                freed += size;
                systemFrees.incrementAndGet();
                b.arena.close();
            }
        }
        return freed;
    }

    /**
     * Counts {@code size} bytes as in use; over budget, asks the GC to run the Cleaner for dropped
     * storages and retries with growing pauses (about 0.5 s in all) before failing.
     */
    private void reserveBudget(long size, long requested) {
        if (tryReserve(size)) {
            return;
        }
        long sleepMs = 1;
        // an interrupted thread (a cancelled request) still gives the Cleaner its pauses: sleep threw at once and the
        // allocation failed without them; the interrupt is set again for the caller afterwards
        boolean interrupted = Thread.interrupted();
        try {
            for (int attempt = 0; attempt < 10; attempt++) {
                System.gc();
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
                if (tryReserve(size)) {
                    return;
                }
                sleepMs = Math.min(sleepMs * 2, 128);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        throw new OffHeapBudgetError("Lanes off-heap budget exhausted: cannot allocate " + requested + " bytes with "
                + inUse.get() + " of " + knownBudget() + " bytes in use. Release tensors with close() or a MemoryScope,"
                + " or raise the budget with -Dlanes.memory.budget=<bytes|Ng>.");
    }

    private boolean tryReserve(long size) {
        while (true) {
            boolean known = budgetKnown; // before the budget: a thread that sees the real budget known reads it after
            long cur = inUse.get();
            if (cur + size > budget) {
                if (!known) {
                    knownBudget(); // the floor was passed: compare again with the machine's budget
                    continue;
                }
                return false;
            }
            if (inUse.compareAndSet(cur, cur + size)) {
                return true;
            }
        }
    }

    /** {@code -Dlanes.memory.budget}, or 0 for the default budget ({@link #defaultBudget()}). */
    private static long budgetProperty() {
        return Math.max(0, parseBytes(System.getProperty("lanes.memory.budget"))); // 0 or less: the default, as before
    }

    /** Three quarters of the machine's (or the container's) memory, at least {@link #MIN_DEFAULT_BUDGET}. */
    static long defaultBudget() {
        long physical = 8L << 30;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            physical = os.getTotalMemorySize();
        }
        return Math.max(MIN_DEFAULT_BUDGET, physical * 3 / 4);
    }

    private static long defaultRetain() {
        long fromProperty = parseBytes(System.getProperty("lanes.memory.retain"));
        return fromProperty > 0 ? fromProperty : 2L << 30;
    }

    /** Parses "123", "64k", "512m", "8g" (case-insensitive); 0 when absent. */
    static long parseBytes(String s) {
        if (s == null || s.isBlank()) {
            return 0;
        }
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        long mult = 1;
        char last = t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            default -> { }
        }
        if (mult != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(t), mult);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("byte size '" + s + "' is above 2^63 bytes", e);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot parse byte size '" + s + "' (use e.g. 512m or 8g)", e);
        }
    }
}
