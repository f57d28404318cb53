package dev.lanes.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryPoolTest {
    @Test
    void sizeClassesHaveAtMostQuarterSlackAndAreMonotonic() {
        long prev = 0;
        for (long bytes = 1; bytes < (1L << 24); bytes = bytes * 5 / 4 + 1) {
            long c = MemoryPool.classSize(bytes);
            assertThat(c).isGreaterThanOrEqualTo(bytes).isGreaterThanOrEqualTo(prev);
            assertThat(c % 16).isZero();
            if (bytes > 64) {
                assertThat((double) c / bytes).isLessThanOrEqualTo(1.25);
            }
            prev = c;
        }
        assertThat(MemoryPool.classSize(64)).isEqualTo(64);
        assertThat(MemoryPool.classSize(65)).isEqualTo(80);
        assertThat(MemoryPool.classSize(128)).isEqualTo(128);
        assertThat(MemoryPool.classSize(129)).isEqualTo(160);
    }

    @Test
    void blocksAreAlignedAndReused() {
        MemoryPool pool = new MemoryPool(1L << 30, 1L << 30);
        Storage a = Storage.allocate(pool, 1000);
        assertThat(a.segment().address() % MemoryPool.ALIGNMENT).isZero();
        assertThat(a.segment().byteSize()).isEqualTo(1000); // sliced to the request: bounds checks are exact
        a.release("test");
        Storage b = Storage.allocate(pool, 990); // same class
        assertThat(pool.systemAllocations()).isEqualTo(1);
        assertThat(pool.bytesInUse()).isEqualTo(MemoryPool.classSize(990));
        b.release("test");
        assertThat(pool.bytesInUse()).isZero();
        assertThat(pool.trim()).isEqualTo(MemoryPool.classSize(990));
        assertThat(pool.bytesReserved()).isZero();
    }

    @Test
    void releasedStorageThrowsAndNamesWhoReleasedIt() {
        MemoryPool pool = new MemoryPool(1L << 30, 1L << 30);
        Storage s = Storage.allocate(pool, 64);
        s.retain();
        assertThat(s.release("first")).isFalse(); // a view still holds it
        s.segment(); // still fine
        assertThat(s.release("Tensor.close()")).isTrue();
        assertThatThrownBy(s::segment).isInstanceOf(IllegalStateException.class).hasMessageContaining("released by Tensor.close()");
        assertThatThrownBy(s::retain).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> s.release("again")).isInstanceOf(IllegalStateException.class).hasMessageContaining("released twice");
    }

    @Test
    void retainLimitFreesToTheSystem() {
        MemoryPool pool = new MemoryPool(1L << 30, 4096);
        List<Storage> list = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            list.add(Storage.allocate(pool, 4096));
        }
        list.forEach(s -> s.release("test"));
        assertThat(pool.bytesIdle()).isEqualTo(4096);
        assertThat(pool.systemFrees()).isEqualTo(3);
    }

    @Test
    void droppedStoragesAreReclaimedByTheCleanerWhenOverBudget() {
        long budget = 64L << 20;
        MemoryPool pool = new MemoryPool(budget, budget);
        // allocate 4x the budget without ever releasing: only the Cleaner + budget GC can make this pass
        for (int i = 0; i < 64; i++) {
            Storage.allocate(pool, 4L << 20);
        }
        assertThat(pool.bytesInUse()).isLessThanOrEqualTo(budget);
    }

    @Test
    void budgetExhaustedByLiveStoragesFailsClearly() {
        MemoryPool pool = new MemoryPool(8L << 20, 8L << 20);
        List<Storage> live = new ArrayList<>();
        live.add(Storage.allocate(pool, 6L << 20));
        assertThatThrownBy(() -> live.add(Storage.allocate(pool, 4L << 20))).isInstanceOf(OutOfMemoryError.class)
                .hasMessageContaining("off-heap budget exhausted").hasMessageContaining("lanes.memory.budget");
        live.forEach(s -> s.release("test"));
    }

    private static void dropWithoutRelease(MemoryPool pool, long bytes) {
        Storage.allocate(pool, bytes); // unreachable at once: only the Cleaner gives its block back
    }

    /** An interrupted thread's allocation over budget still gives the GC and Cleaner their pauses (it failed at once), and stays interrupted. */
    @Test
    void anInterruptedThreadStillWaitsForDroppedStorages() {
        MemoryPool pool = new MemoryPool(8L << 20, 0);
        dropWithoutRelease(pool, 6L << 20);
        Thread.currentThread().interrupt();
        try {
            Storage s = Storage.allocate(pool, 4L << 20);
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept for the caller").isTrue();
            s.release("test");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void defaultBudgetIsAskedOfTheSystemOnlyPastItsFloor() {
        long floor = 1L << 20; // the global pool's is 1 GiB; a small one here, so the test allocates 2 MiB, not 1 GiB
        MemoryPool pool = MemoryPool.withDefaultBudget(0, floor);
        pool.give(pool.take(4096));
        assertThat(pool.budgetResolved()).as("a small reservation must not query the machine's memory").isFalse();
        MemoryPool.Block b = pool.take(floor + 4096); // past the floor: the machine's budget (>= 1 GiB) decides, and allows it
        assertThat(pool.budgetResolved()).isTrue();
        pool.give(b);
        assertThat(pool.budgetBytes()).isEqualTo(MemoryPool.defaultBudget()).isGreaterThanOrEqualTo(1L << 30);
        assertThat(pool.bytesInUse()).isZero();
    }

    @Test
    void parsesByteSizes() {
        assertThat(MemoryPool.parseBytes("8g")).isEqualTo(8L << 30);
        assertThat(MemoryPool.parseBytes("512M")).isEqualTo(512L << 20);
        assertThat(MemoryPool.parseBytes("100")).isEqualTo(100);
        assertThat(MemoryPool.parseBytes(null)).isZero();
        assertThatThrownBy(() -> MemoryPool.parseBytes("lots")).hasMessageContaining("cannot parse byte size 'lots'");
        assertThatThrownBy(() -> MemoryPool.parseBytes("9000000000g")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("above 2^63");
    }

    /**
     * A release while a kernel's pin is held drops the holder; the block stays until the unpin, which frees it. A second
     * release by the same (only) holder is refused instead of taking the pin's count (the block went back to the pool
     * under the kernel). An unpin without a pin is refused, on a live storage too.
     */
    @Test
    void pinsAndHoldersAreCountedApart() {
        Storage s = Storage.allocate(64);
        s.pin();
        assertThat(s.release("the holder")).isFalse();
        assertThatThrownBy(() -> s.release("again")).isInstanceOf(IllegalStateException.class).hasMessageContaining("more often");
        assertThat(s.segment().byteSize()).isEqualTo(64); // still the kernel's
        s.unpin();
        assertThat(s.isReleased()).isTrue();
        assertThatThrownBy(s::unpin).isInstanceOf(IllegalStateException.class);
        Storage live = Storage.allocate(64);
        assertThatThrownBy(live::unpin).isInstanceOf(IllegalStateException.class);
        assertThat(live.refCount()).isEqualTo(1);
        assertThat(live.release("its holder")).isTrue();
    }

    /** Holders and pins from several threads at once (retain / pin / unpin / release in any interleaving): no legitimate call is refused, the block is returned exactly once. */
    @Test
    void concurrentPinsAndReleasesNeverRefuseALegitimateCall() throws Exception {
        for (int round = 0; round < 200; round++) {
            Storage s = Storage.allocate(64);
            int threads = 4;
            for (int t = 0; t < threads; t++) {
                s.retain(); // each thread's holder
            }
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicInteger freed = new java.util.concurrent.atomic.AtomicInteger();
            for (int t = 0; t < threads; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 50; i++) {
                            s.pin();
                            s.unpin();
                        }
                        if (s.release("a worker")) {
                            freed.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failed.set(e);
                    }
                }));
            }
            go.countDown();
            if (s.release("the creator")) {
                freed.incrementAndGet();
            }
            for (Thread t : ts) {
                t.join();
            }
            assertThat(failed.get()).as("round %d", round).isNull();
            assertThat(freed.get()).isEqualTo(1);
            assertThat(s.isReleased()).isTrue();
        }
    }
}
