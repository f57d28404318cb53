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

    /** R2: an interrupt while the caller waits for its workers must not let it return before they are done. */
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
            assertThat(thrown.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("interrupted");
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
