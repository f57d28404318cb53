package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.kernels.Parallel;
import dev.lanes.nn.functional.F;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reproducers of issue 14 (a hostile user's attempts): each one gets a clean exception or the right result.
 * Covered here: interrupts and thread-count changes during parallel kernels, and sizes that used to overflow.
 */
class HostileUseTest {
    private final int savedThreads = Lanes.numThreads();

    @AfterEach
    void restoreThreads() {
        Lanes.setNumThreads(savedThreads);
    }

    /**
     * R2: an interrupt while the caller waits for its workers must not let it return before they are done (or, when
     * the caller ran the slow part itself, before it is done), and the interrupt flag survives.
     */
    @Test
    void parallelRunWaitsForEveryPartEvenWhenInterrupted() throws Exception {
        Lanes.setNumThreads(2);
        for (int trial = 0; trial < 5; trial++) {
            AtomicBoolean partDone = new AtomicBoolean();
            AtomicBoolean doneWhenRunEnded = new AtomicBoolean();
            AtomicBoolean flagKept = new AtomicBoolean();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread caller = new Thread(() -> {
                try {
                    Parallel.run(2, part -> {
                        if (part == 1) {
                            started.countDown();
                            long end = System.nanoTime() + 150_000_000L;
                            while (System.nanoTime() < end) {
                                Thread.onSpinWait(); // a worker that ignores interrupts, like a kernel
                            }
                            partDone.set(true);
                        }
                    });
                } catch (Throwable e) {
                    thrown.set(e);
                } finally {
                    doneWhenRunEnded.set(partDone.get());
                    flagKept.set(Thread.currentThread().isInterrupted());
                }
            });
            caller.start();
            started.await();
            caller.interrupt();
            caller.join(5_000);
            assertThat(doneWhenRunEnded).as("every part had finished when Parallel.run returned or threw").isTrue();
            // the caller may have taken part 1 itself (parts no worker has started run on the caller): then it never
            // waited, and the interrupt only stays set; if a worker ran it, the wait reports the interrupt
            if (thrown.get() != null) {
                assertThat(thrown.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("interrupted");
            }
            assertThat(flagKept).as("the interrupt flag is restored").isTrue();
        }
    }

    /** R3: setNumThreads from another thread while products run: no wrong result, no RejectedExecutionException. */
    @Test
    void changingTheThreadCountWhileKernelsRunIsSafe() throws Exception {
        Lanes.manualSeed(5);
        Tensor a = Tensor.randn(256, 300);
        Tensor b = Tensor.randn(300, 256); // 19.7M multiply-adds: above the parallel threshold
        float[] want;
        try (Tensor c = a.mm(b)) {
            want = c.toFloatArray();
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger products = new AtomicInteger();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try (Tensor c = a.mm(b)) {
                        float[] got = c.toFloatArray();
                        if (!java.util.Arrays.equals(got, want)) {
                            failures.add(new AssertionError("a product differed from the reference"));
                        }
                        products.incrementAndGet();
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        long end = System.nanoTime() + 1_500_000_000L;
        int n = 0;
        while (System.nanoTime() < end) {
            Lanes.setNumThreads(1 + (n++ % 3));
            Thread.sleep(1);
        }
        stop.set(true);
        for (Thread t : workers) {
            t.join(10_000);
        }
        a.close();
        b.close();
        assertThat(failures).as("failures over %d products and %d thread-count changes", products.get(), n).isEmpty();
        assertThat(products.get()).isPositive();
    }

    /**
     * R1 (write): {@code t.fill_(7)} on one thread while another closes t and allocates u of the same size. Before
     * pins the pool handed t's block to u at once and the fill wrote 7s into u (37 of 40 trials). Now the block stays
     * with the running fill until it returns: u is all zeros, whatever the timing.
     */
    @Test
    void closeDuringAWriteNeverWritesIntoTheNextTensor() throws Exception {
        int n = 1 << 22; // 16 MiB: a fill of several milliseconds, so the close lands while it runs
        int hits = 0;
        int pinnedAtClose = 0;
        for (int trial = 0; trial < 20; trial++) {
            Tensor t = Tensor.zeros(n);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                started.countDown();
                try {
                    for (int i = 0; i < 4; i++) {
                        t.fill_(7);
                    }
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            writer.start();
            started.await();
            Thread.sleep(0, 200_000 * (trial % 5));
            if (t.storageRef().refCount() > 1) {
                pinnedAtClose++; // the fill held its pin when the close came: the case the pin is for
            }
            t.close();
            Tensor u = Tensor.zeros(n);
            writer.join(10_000);
            float[] got = u.toFloatArray();
            u.close();
            int sevens = 0;
            for (float v : got) {
                if (v != 0f) {
                    sevens++;
                }
            }
            assertThat(sevens).as("trial %d: elements of the new tensor written by the fill of the closed one", trial).isZero();
            if (thrown.get() != null) {
                hits++;
                assertThat(thrown.get()).as("a fill after the close").isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("released by Tensor.close()");
            }
        }
        assertThat(hits).as("fills refused after the close").isPositive();
        assertThat(pinnedAtClose).as("closes that landed while a fill held its pin (the race was exercised)").isPositive();
    }

    /**
     * R1 (read): {@code t.add(1)} while another thread closes t and fills a new tensor of the same size with 5: the sum
     * never sees the 5s (it reads t's own zeros), or the op is refused because t was already closed.
     */
    @Test
    void closeDuringAReadNeverReadsTheNextTensor() throws Exception {
        int n = 1 << 22;
        for (int trial = 0; trial < 20; trial++) {
            Tensor t = Tensor.zeros(n);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Object> result = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                started.countDown();
                try {
                    for (int i = 0; i < 4; i++) {
                        try (Tensor r = t.add(1)) {
                            float[] v = r.toFloatArray();
                            for (float x : v) {
                                if (x != 1f) {
                                    result.set("read " + x + " where t held 0");
                                    return;
                                }
                            }
                        }
                    }
                } catch (Throwable e) {
                    result.compareAndSet(null, e);
                }
            });
            reader.start();
            started.await();
            Thread.sleep(0, 200_000 * (trial % 5));
            t.close();
            Tensor u = Tensor.full(new int[] {n}, 5f);
            reader.join(10_000);
            u.close();
            Object r = result.get();
            if (r instanceof Throwable e) {
                assertThat(e).as("trial %d", trial).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
            } else {
                assertThat(r).as("trial %d", trial).isNull();
            }
        }
    }

    /** The pin is the storage's own count: a close during a pinned call defers the block's return to the frame's end. */
    @Test
    void aCloseDuringAPinnedCallReturnsTheBlockWhenTheFrameCloses() {
        Tensor t = Tensor.zeros(1000);
        dev.lanes.memory.Storage s = t.storageRef();
        try (OpFrame _ = OpFrame.enter()) {
            t.seg();
            t.seg(); // pinned once per frame
            assertThat(s.refCount()).isEqualTo(2);
            t.close();
            assertThatThrownBy(t::seg).isInstanceOf(IllegalStateException.class).hasMessageContaining("released by Tensor.close()");
            assertThat(s.isReleased()).as("still pinned by the running call").isFalse();
        }
        assertThat(s.isReleased()).isTrue();
        assertThat(s.releasedBy()).isEqualTo("Tensor.close()");
        assertThat(OpFrame.depth()).isZero();
    }

    /**
     * The soak of issue 14: 4 threads share tensors for {@code -Dlanes.test.soakSeconds} (20 by default), computing
     * and checking products and sums, closing and replacing shared tensors, interrupting each other and changing
     * the thread count. Every result that was computed is right; every failure is a clean IllegalStateException of
     * a closed tensor or an interrupted wait; afterwards no frame is open and every storage the soak made is back.
     */
    @Test
    void soakOfSharingClosingInterruptingAndResizing() throws Exception {
        long seconds = Long.getLong("lanes.test.soakSeconds", 20);
        int slots = 6;
        int dim = 96; // 96^3 multiply-adds per product: above the parallel threshold with 2 threads
        record Shared(Tensor t, float value) {
        }
        java.util.concurrent.atomic.AtomicReferenceArray<Shared> shared = new java.util.concurrent.atomic.AtomicReferenceArray<>(slots);
        List<dev.lanes.memory.Storage> made = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.function.IntFunction<Shared> fresh = v -> {
            Tensor t = Tensor.full(new int[] {dim, dim}, v);
            made.add(t.storageRef());
            return new Shared(t, v);
        };
        for (int i = 0; i < slots; i++) {
            shared.set(i, fresh.apply(i + 1));
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger checked = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger closes = new AtomicInteger();
        AtomicInteger interrupts = new AtomicInteger();
        AtomicInteger resizes = new AtomicInteger();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Integer> openFrames = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread[] workers = new Thread[4];
        for (int w = 0; w < workers.length; w++) {
            long seed = 1234 + w;
            workers[w] = new Thread(() -> {
                java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
                while (!stop.get()) {
                    try {
                        int op = rnd.nextInt(100);
                        Shared a = shared.get(rnd.nextInt(slots));
                        Shared b = shared.get(rnd.nextInt(slots));
                        if (op < 40) { // a product: every element is dim * a * b
                            try (Tensor c = a.t().mm(b.t())) {
                                expectAll(c.toFloatArray(), dim * a.value() * b.value(), failures);
                            }
                            checked.incrementAndGet();
                        } else if (op < 70) { // elementwise and a reduction
                            try (Tensor c = a.t().add(b.t()); Tensor m = c.mul(2); Tensor sum = m.sum()) {
                                expectAll(m.toFloatArray(), 2 * (a.value() + b.value()), failures);
                                float want = 2 * (a.value() + b.value()) * dim * dim;
                                if (sum.item() != want) {
                                    failures.add(new AssertionError("sum " + sum.item() + " != " + want));
                                }
                            }
                            checked.incrementAndGet();
                        } else if (op < 90) { // replace a shared tensor and close the old one while others use it
                            int slot = rnd.nextInt(slots);
                            Shared old = shared.getAndSet(slot, fresh.apply(1 + rnd.nextInt(9)));
                            old.t().close();
                            closes.incrementAndGet();
                        } else if (op < 96) {
                            workers[rnd.nextInt(workers.length)].interrupt();
                            interrupts.incrementAndGet();
                        } else {
                            Lanes.setNumThreads(1 + rnd.nextInt(4));
                            resizes.incrementAndGet();
                        }
                    } catch (IllegalStateException e) {
                        String m = String.valueOf(e.getMessage());
                        if (m.contains("released") || m.contains("interrupted")) {
                            refused.incrementAndGet();
                        } else {
                            failures.add(e);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                    Thread.interrupted(); // an interrupt that found no wait to stop
                }
                openFrames.add(OpFrame.depth());
            });
        }
        for (Thread t : workers) {
            t.start(); // after every worker exists: each may interrupt any other
        }
        Thread.sleep(seconds * 1000);
        stop.set(true);
        for (Thread t : workers) {
            t.join(30_000);
            assertThat(t.isAlive()).isFalse();
        }
        for (int i = 0; i < slots; i++) {
            shared.get(i).t().close();
        }
        assertThat(failures).as("wrong results or unexpected errors (%d results checked, %d refused)", checked.get(), refused.get())
                .isEmpty();
        assertThat(openFrames).containsOnly(0);
        assertThat(made).as("every storage the soak made went back to the pool").allMatch(dev.lanes.memory.Storage::isReleased);
        assertThat(checked.get()).isGreaterThan(100);
        assertThat(closes.get()).isPositive();
        assertThat(interrupts.get()).isPositive();
        assertThat(resizes.get()).isPositive();
    }

    private static void expectAll(float[] got, float want, List<Throwable> failures) {
        for (int i = 0; i < got.length; i++) {
            if (got[i] != want) {
                failures.add(new AssertionError("element " + i + " is " + got[i] + ", expected " + want));
                return;
            }
        }
    }

    // found by an adversarial review of the pins (helper session, 2026-12-02)

    /**
     * Parallel.run promises to return or throw only after every part finished (OpFrame relies on it: the caller's
     * frame is the only pin the workers' writes have). If execute() throws anything but RejectedExecutionException
     * (ThreadPoolExecutor rethrows "OutOfMemoryError: unable to create native thread" from a failed Thread.start),
     * the call exits while part 1 still runs; the frame unpins, ConvOps' finally closes its column buffers, and the
     * worker keeps writing into blocks the pool hands out again.
     */
    @Test
    void parallelRunThatCannotStartAWorkerStillWaitsForTheOnesItStarted() throws Exception {
        java.lang.reflect.Field f = Parallel.class.getDeclaredField("pool");
        f.setAccessible(true);
        Object saved = f.get(null);
        AtomicBoolean part1Done = new AtomicBoolean();
        AtomicInteger submitted = new AtomicInteger();
        Thread[] started = new Thread[1];
        f.set(null, new java.util.concurrent.AbstractExecutorService() {
            @Override
            public void execute(Runnable r) {
                if (submitted.incrementAndGet() == 1) {
                    started[0] = new Thread(r);
                    started[0].start();
                } else {
                    throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
                }
            }
            @Override
            public void shutdown() {
            }

            @Override
            public List<Runnable> shutdownNow() {
                return List.of();
            }

            @Override
            public boolean isShutdown() {
                return false;
            }

            @Override
            public boolean isTerminated() {
                return false;
            }

            @Override
            public boolean awaitTermination(long t, java.util.concurrent.TimeUnit u) {
                return true;
            }
        });
        AtomicReference<Boolean> doneWhenRunExited = new AtomicReference<>();
        try {
            Parallel.run(3, part -> {
                if (part == 1) {
                    try {
                        Thread.sleep(300); // a kernel part still writing
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    part1Done.set(true);
                }
            });
        } catch (OutOfMemoryError e) {
            // expected: the error from execute(), reported after every part finished (part 2 ran on the caller)
        } finally {
            doneWhenRunExited.set(part1Done.get());
            f.set(null, saved);
            if (started[0] != null) {
                started[0].join();
            }
        }
        assertThat(doneWhenRunExited.get()).as("part 1 had finished when Parallel.run returned or threw").isTrue();
    }

    /**
     * A pin refused because the storage just reached zero reads releasedBy before release()/unpin() has written it:
     * the ISE says "released by null" instead of naming the close (HostileUseTest.closeDuringAWrite... asserts
     * "released by Tensor.close()", so it can fail this way when the writer's checkAlive passes just before close).
     */
    @Test
    void aRefusedPinAlwaysNamesWhoReleasedTheStorage() throws Exception {
        AtomicReference<dev.lanes.memory.Storage> cur = new AtomicReference<>();
        AtomicInteger nulls = new AtomicInteger();
        AtomicInteger refusals = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        Thread spinner = new Thread(() -> {
            while (!stop.get()) {
                dev.lanes.memory.Storage s = cur.get();
                if (s == null) {
                    continue;
                }
                try {
                    s.pin();
                    s.unpin();
                } catch (IllegalStateException e) {
                    refusals.incrementAndGet();
                    if (String.valueOf(e.getMessage()).endsWith("released by null")) {
                        nulls.incrementAndGet();
                    }
                    cur.compareAndSet(s, null);
                }
            }
        });
        spinner.start();
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end && nulls.get() == 0) {
            dev.lanes.memory.Storage s = dev.lanes.memory.Storage.allocate(64);
            cur.set(s);
            for (int i = 0; i < 200; i++) {
                Thread.onSpinWait();
            }
            s.release("Tensor.close()");
            while (cur.get() == s && System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            cur.set(null);
        }
        stop.set(true);
        spinner.join();
        assertThat(nulls.get()).as("refusals naming no one, of %d", refusals.get()).isZero();
    }

    /** R4: start + length overflowed an int and was accepted. */
    @Test
    void narrowWithAHugeLengthIsRefused() {
        try (Tensor t = Tensor.ones(10)) {
            assertThatThrownBy(() -> t.narrow(0, 5, Integer.MAX_VALUE)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("exceeds dimension size (10)");
        }
    }

    /** R5: a huge step overflowed the length computation and gave an empty result; PyTorch gives the first element. */
    @Test
    void sliceWithAHugeStepKeepsTheFirstElement() {
        try (Tensor t = Tensor.arange(0, 10); Tensor s = t.slice(0, 0, 10, Integer.MAX_VALUE)) {
            assertThat(s.shape()).containsExactly(1);
            assertThat(s.toLongArray()).containsExactly(0L);
        }
        try (Tensor t = Tensor.arange(0, 10); Tensor s = t.slice(0, 3, 10, Integer.MAX_VALUE - 1)) {
            assertThat(s.toLongArray()).containsExactly(3L);
        }
    }

    /** R6: a dilation near Integer.MAX_VALUE wrapped around into a small kernel and gave a 10x10 output. */
    @Test
    void convolutionWithAHugeDilationIsRefused() {
        try (Tensor x = Tensor.randn(1, 1, 14, 14); Tensor w = Tensor.randn(1, 1, 3, 3)) {
            assertThatThrownBy(() -> F.conv2d(x, w, null, new int[] {1, 1}, new int[] {0, 0},
                    new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE}, 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Kernel size can't be greater than actual input size");
            assertThatThrownBy(() -> F.conv2d(x, w, null, new int[] {1, 1}, new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE},
                    new int[] {1, 1}, 1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** R7: an out= that overlaps an input in part read values it had already overwritten. */
    @Test
    void outOverlappingAnInputIsRefused() {
        try (Tensor x = Tensor.arange(0., 10., 1.); Tensor ones = Tensor.ones(9);
             Tensor head = x.narrow(0, 0, 9); Tensor tail = x.narrow(0, 1, 9)) {
            assertThatThrownBy(() -> head.add(ones, tail)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("refer to a single memory location");
            assertThat(x.toFloatArray()).as("nothing written").containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
            // the same layout is an in-place op spelled with out=, which stays allowed
            head.add(ones, head);
            assertThat(x.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 9);
        }
    }

    /** R8: arange's element count overflowed (NegativeArraySizeException) and a NaN bound gave an empty tensor. */
    @Test
    void arangeRefusesOverflowingAndNaNRanges() {
        assertThatThrownBy(() -> Tensor.arange(Long.MIN_VALUE, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("elements");
        assertThatThrownBy(() -> Tensor.arange(Long.MAX_VALUE, Long.MIN_VALUE, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Tensor.arange(Double.NaN, 1, 0.1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unsupported range");
        assertThatThrownBy(() -> Tensor.arange(0, Double.POSITIVE_INFINITY, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Tensor.arange(0, 1, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        try (Tensor t = Tensor.arange(Long.MAX_VALUE - 3, Long.MAX_VALUE)) {
            assertThat(t.toLongArray()).containsExactly(Long.MAX_VALUE - 3, Long.MAX_VALUE - 2, Long.MAX_VALUE - 1);
        }
    }
}
