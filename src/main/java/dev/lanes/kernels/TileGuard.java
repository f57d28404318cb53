package dev.lanes.kernels;

import java.lang.management.ManagementFactory;

/**
 * Watches the blocked product's 12-row tiles ({@link Sgemm#BLOCK_ROWS}) for the one way they can go wrong, and turns
 * them off for good when it happens: a blocked product with 12-row tiles that allocates on the heap once C2 should have
 * compiled its kernel.
 *
 * <p>Why: {@code Sgemm.kernel12x2Packed} is called by the blocked product only, so in a training step it turns hot late
 * in the warm-up. In about one fresh JVM in fifteen (LeNet's compiled step at batch 64, CI's heap probe; Intel Xeon at
 * 512 bits: 1 of 18 plain runs, 3 of 35 with {@code -XX:+LogCompilation}) C2 compiled it from a profile with few
 * speculative types (22 speculated class checks against 82 in a good compile, 35 "unstable if" traps against 1):
 * every intrinsic expanded, but accumulators stayed boxed across the loop (21,584 or 10,440 bytes of code against
 * 3,696), 7.2 MB of heap and 5x the time a step, for good. Nothing in the source decides which compile a JVM gets, so
 * the guard looks at the result: a bad compile allocates on every call, a good one never (the blocked product's
 * buffers are the thread's workspace). With the guard: 30 fresh JVMs of that probe, none over its 1 KB a step (one
 * tripped).
 *
 * <p>How: every blocked product with 12-row tiles adds its tiles to a counter; once {@link #CHECK_AFTER_TILES} have
 * run (C2 compiled the kernel after ~4,000 calls in the runs above), every {@link #SAMPLE_EVERY}th such product reads
 * its thread's allocated bytes before and after (two reads of a thread-local counter, ~50 ns, against a product of
 * microseconds). {@link #STRIKES} sampled products in a row that allocated, each after another {@link #CHECK_AFTER_TILES}
 * tiles (a slow C2 queue or a recompile is not a bad compile), trip the guard; then every product takes the
 * MR-row tiles, which give the same bits (each element is one FMA chain per depth block whichever tile computes it). A
 * new thread's packed-B buffer is made before the first read; three strikes, not one, in case anything else ever
 * allocates once inside a product (a clean sample clears them).
 * Without {@code jdk.management} (a trimmed runtime) nothing can be measured, and the 12-row tiles stay off unless
 * {@code -Dlanes.gemmBlockRows=12} forces them (then unwatched).
 *
 * <p>The counters are plain statics updated without synchronisation: a lost update moves a sample or a strike by one,
 * and either tile gives the same result.
 */
final class TileGuard {
    private TileGuard() {
    }

    /** Tiles run before sampling starts. */
    static final long CHECK_AFTER_TILES = 16_384;
    /** One product in this many is measured once sampling has started. */
    static final int SAMPLE_EVERY = 16;
    /** Consecutive allocating samples that turn the 12-row tiles off. */
    static final int STRIKES = 3;

    /**
     * Whether allocations may be measured here: the runtime has {@code jdk.management} (a module-path image may not);
     * without it the 12-row tiles are not used. The meter itself is made at the first sample ({@link Meter}); where it
     * cannot be made then (the JVM does not count a thread's allocations, or someone turned that off), that sample
     * trips the guard: the first {@link #CHECK_AFTER_TILES} tiles run unwatched, as they do where a meter exists.
     */
    static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.management").isPresent();

    private static volatile boolean tripped;
    private static long tiles;
    private static int products;
    private static int strikes;

    /**
     * The thread meter, made when the first product is sampled, long after a process's first predictions:
     * {@code ManagementFactory}'s set-up (a service lookup, ~30 classes) took 16-21 ms of a fresh JVM, a twentieth of a
     * cold start, when Sgemm's initialiser made it.
     */
    private static final class Meter {
        static final com.sun.management.ThreadMXBean THREADS = threads();
    }

    private static com.sun.management.ThreadMXBean threads() {
        try {
            if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()) {
                if (!t.isThreadAllocatedMemoryEnabled()) {
                    return null; // someone turned it off: respect that, and do without the 12-row tiles from here on
                }
                return t;
            }
        } catch (LinkageError | RuntimeException e) {
            // jdk.management present but unusable: nothing to measure with
        }
        return null;
    }

    /** Whether a meter could be made (tests: it makes the meter). */
    static boolean measurable() {
        return AVAILABLE && Meter.THREADS != null;
    }

    /** Whether the guard has turned the 12-row tiles off in this JVM. */
    static boolean tripped() {
        return tripped;
    }

    /**
     * Called at the start of a blocked product with 12-row tiles: the thread's allocated bytes when this product is
     * sampled, else -1.
     */
    static long begin(long tilesOfProduct) {
        long seen = tiles += tilesOfProduct;
        if (!AVAILABLE || seen < CHECK_AFTER_TILES || ++products % SAMPLE_EVERY != 0) {
            return -1;
        }
        com.sun.management.ThreadMXBean threads = Meter.THREADS;
        if (threads == null) {
            // no meter after all: MR-row tiles, the same bits; 12-row tiles forced by -Dlanes.gemmBlockRows stay, unwatched
            tripped = !Sgemm.BLOCK_ROWS_FORCED;
            return -1;
        }
        return threads.getCurrentThreadAllocatedBytes();
    }

    /** Called at the end of a product {@link #begin} sampled ({@code before >= 0}). */
    static void end(long before) {
        if (before >= 0) {
            record(Meter.THREADS.getCurrentThreadAllocatedBytes() - before);
        }
    }

    /** One sampled product's heap bytes: a strike when it allocated, else the strikes start over. */
    static void record(long allocated) {
        if (allocated <= 0) {
            strikes = 0;
        } else if (++strikes >= STRIKES) {
            tripped = true;
        } else {
            tiles = 0; // the next sample after as many tiles again: C2 gets time to install its code (or recompile)
        }
    }

    /** Back to a fresh JVM's state (tests). */
    static void reset() {
        tripped = false;
        tiles = 0;
        products = 0;
        strikes = 0;
    }
}
