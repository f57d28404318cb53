package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Parallel reuses one call object (and its parts) per calling thread, and Sgemm one parallel body per thread: calls
 * after a failing call, calls from inside a part, and calls from many threads at once must each run every part
 * exactly once, with their own arguments.
 */
class ParallelTest {
    private int saved;

    @BeforeEach
    void threads() {
        saved = Parallel.threads();
        Parallel.setThreads(3);
    }

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    /**
     * Contiguous elementwise passes split across threads give exactly the one-thread bits (the shares end at multiples
     * of every vector length, so each element takes the same vector or scalar path), cover every element once and write
     * nothing past n: lengths around the split threshold and the unit, with a scalar tail, in place and not.
     */
    @Test
    void contiguousElementwiseSplitsGiveTheOneThreadBits() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(23);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) { // the workers read and write it
            int[] lengths = {0, 1, Elementwise.PARALLEL_MIN_FLOATS * 2 - 1, Elementwise.PARALLEL_MIN_FLOATS * 2 + 17,
                    Elementwise.PARALLEL_MIN_FLOATS * 3 + 5, 200_003};
            for (int n : lengths) {
                long bytes = 4L * n + 64;
                java.lang.foreign.MemorySegment a = arena.allocate(bytes, 64);
                java.lang.foreign.MemorySegment b = arena.allocate(bytes, 64);
                for (long i = 0; i < bytes / 4; i++) {
                    a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian() * 3);
                    b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
                }
                for (UnaryOp op : new UnaryOp[] {UnaryOp.RELU, UnaryOp.GELU, UnaryOp.EXP}) {
                    java.lang.foreign.MemorySegment serial = arena.allocate(bytes, 64);
                    java.lang.foreign.MemorySegment split = arena.allocate(bytes, 64);
                    serial.fill((byte) 0x55);
                    split.fill((byte) 0x55);
                    Elementwise.unaryContiguous(op, 0f, 0f, a, 0, serial, 0, n);
                    Elementwise.unaryContiguousParallel(op, 0f, 0f, a, 0, split, 0, n);
                    assertThat(split.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s n %d", op, n)
                            .isEqualTo(serial.toArray(java.lang.foreign.ValueLayout.JAVA_INT));
                }
                for (BinaryKernel k : new BinaryKernel[] {BinaryOp.ADD, BinaryOp.MUL, BinaryOp.MASK_POSITIVE, UnaryOp.GELU.backward()}) {
                    java.lang.foreign.MemorySegment serial = arena.allocate(bytes, 64);
                    serial.fill((byte) 0x55);
                    Elementwise.binaryContiguous(k, a, 0, b, 0, serial, 0, n);
                    java.lang.foreign.MemorySegment inPlace = arena.allocate(bytes, 64);
                    inPlace.copyFrom(a);
                    Elementwise.binaryContiguousParallel(k, inPlace, 0, b, 0, inPlace, 0, n); // a += b, as a residual add runs
                    assertThat(inPlace.asSlice(0, 4L * n).toArray(java.lang.foreign.ValueLayout.JAVA_INT)).as("%s n %d", k.name(), n)
                            .isEqualTo(serial.asSlice(0, 4L * n).toArray(java.lang.foreign.ValueLayout.JAVA_INT));
                    assertThat(inPlace.asSlice(4L * n).toArray(java.lang.foreign.ValueLayout.JAVA_INT))
                            .isEqualTo(a.asSlice(4L * n).toArray(java.lang.foreign.ValueLayout.JAVA_INT)); // nothing past n
                }
            }
        }
    }

    /**
     * The other splits of a training step give the one-thread bits too: column sums (a bias gradient; each column summed
     * by one thread in row order), Adam/AdamW/AMSGrad updates (whole vectors per share) and cross-entropy rows (each row
     * alone, the total summed in row order), at sizes that split and with the odd tails, ignored rows and weights that
     * change the paths. Nothing is written past the output.
     */
    @Test
    void columnSumsOptimizerUpdatesAndLossRowsSplitGiveTheOneThreadBits() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(29);
        java.lang.foreign.ValueLayout.OfFloat f32 = java.lang.foreign.ValueLayout.JAVA_FLOAT;
        java.lang.foreign.ValueLayout.OfInt i32 = java.lang.foreign.ValueLayout.JAVA_INT;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) { // the workers read and write it
            java.util.function.LongFunction<java.lang.foreign.MemorySegment> gaussian = floats -> {
                java.lang.foreign.MemorySegment m = arena.allocate(4 * floats, 64);
                for (long i = 0; i < floats; i++) {
                    m.setAtIndex(f32, i, (float) rnd.nextGaussian());
                }
                return m;
            };
            for (int[] dims : new int[][] {{1, 2048, 512}, {2, 300, 4 * Simd.LANES * 7 + 3}, {3, 700, 5}, {1, 9000, 1}}) {
                int outer = dims[0], r = dims[1], inner = dims[2];
                java.lang.foreign.MemorySegment in = gaussian.apply((long) outer * r * inner);
                java.lang.foreign.MemorySegment serial = arena.allocate(4L * outer * inner + 64, 64);
                java.lang.foreign.MemorySegment split = arena.allocate(4L * outer * inner + 64, 64);
                serial.fill((byte) 0x55);
                split.fill((byte) 0x55);
                Reductions.sum(in, 0, outer, r, inner, serial, 0, false);
                Reductions.sum(in, 0, outer, r, inner, split, 0, true);
                assertThat(split.toArray(i32)).as("sum %d x %d x %d", outer, r, inner).isEqualTo(serial.toArray(i32));
            }
            for (int n : new int[] {Elementwise.PARALLEL_MIN_FLOATS * 2 + 37, 70_001}) {
                for (int variant = 0; variant < 3; variant++) { // Adam with L2 decay, AdamW, AMSGrad
                    java.lang.foreign.MemorySegment g = gaussian.apply(n);
                    java.lang.foreign.MemorySegment[] one = new java.lang.foreign.MemorySegment[4];
                    java.lang.foreign.MemorySegment[] two = new java.lang.foreign.MemorySegment[4];
                    for (int b = 0; b < 4; b++) {
                        one[b] = gaussian.apply(n + 16);
                        if (b >= 2) { // the second moments and their max are never negative
                            for (long i = 0; i < n + 16; i++) {
                                one[b].setAtIndex(f32, i, Math.abs(one[b].getAtIndex(f32, i)));
                            }
                        }
                        two[b] = arena.allocate(4L * (n + 16), 64);
                        two[b].copyFrom(one[b]);
                    }
                    boolean amsgrad = variant == 2;
                    for (java.lang.foreign.MemorySegment[] s : new java.lang.foreign.MemorySegment[][] {one, two}) {
                        OptimizerKernels.adam(s[0], 0, g, 0, s[1], 0, s[2], 0, amsgrad ? s[3] : null, 0, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f,
                                variant == 1, 7, s == two);
                    }
                    for (int b = 0; b < 4; b++) {
                        assertThat(two[b].toArray(i32)).as("adam variant %d n %d buffer %d", variant, n, b).isEqualTo(one[b].toArray(i32));
                    }
                }
            }
            for (int variant = 0; variant < 4; variant++) { // SGD: momentum, nesterov + weight decay, first step, no momentum buffer
                int n = (1 << 18) + 37;
                java.lang.foreign.MemorySegment g = gaussian.apply(n);
                java.lang.foreign.MemorySegment p1 = gaussian.apply(n + 16), b1 = gaussian.apply(n + 16);
                java.lang.foreign.MemorySegment p2 = arena.allocate(4L * (n + 16), 64), b2 = arena.allocate(4L * (n + 16), 64);
                p2.copyFrom(p1);
                b2.copyFrom(b1);
                boolean useBuffer = variant != 3;
                OptimizerKernels.sgd(p1, 0, g, 0, useBuffer ? b1 : null, 0, n, 0.1f, 0.9f, 0.9f, variant == 1 ? 5e-4f : 0f, variant == 1, variant == 2, false);
                OptimizerKernels.sgd(p2, 0, g, 0, useBuffer ? b2 : null, 0, n, 0.1f, 0.9f, 0.9f, variant == 1 ? 5e-4f : 0f, variant == 1, variant == 2, true);
                assertThat(p2.toArray(i32)).as("sgd variant %d parameter", variant).isEqualTo(p1.toArray(i32));
                assertThat(b2.toArray(i32)).as("sgd variant %d buffer", variant).isEqualTo(b1.toArray(i32));
            }
            for (int[] dims : new int[][] {{64, 6, 784}, {64, 16, 100}, {3, 5, 7}}) {
                java.lang.foreign.MemorySegment in = gaussian.apply((long) dims[0] * dims[1] * dims[2]);
                java.lang.foreign.MemorySegment serial = arena.allocate(4L * dims[1] + 64, 64);
                java.lang.foreign.MemorySegment split = arena.allocate(4L * dims[1] + 64, 64);
                serial.fill((byte) 0x55);
                split.fill((byte) 0x55);
                Reductions.channelSums(in, 0, dims[0], dims[1], dims[2], serial, 0, false);
                Reductions.channelSums(in, 0, dims[0], dims[1], dims[2], split, 0, true);
                assertThat(split.toArray(i32)).as("channel sums %s", java.util.Arrays.toString(dims)).isEqualTo(serial.toArray(i32));
                double want = 0;
                for (int i = 0; i < dims[0]; i++) {
                    for (int k = 0; k < dims[2]; k++) {
                        want += in.getAtIndex(f32, ((long) i * dims[1] + 1) * dims[2] + k);
                    }
                }
                assertThat((double) serial.getAtIndex(f32, 1)).as("channel 1's sum").isCloseTo(want, org.assertj.core.data.Offset.offset(1e-3));
            }
            // LeNet's two max pools (2 x 2, stride 2) with their argmax, forward and the 2 x 2 backward, split by planes
            Pooling.Window win = new Pooling.Window(2, 2, 2, 2, 0, 0, 1, 1);
            for (int[] dims : new int[][] {{384, 28, 28}, {2048, 10, 10}}) {
                int planes = dims[0], h = dims[1], w = dims[2], oh = h / 2, ow = w / 2;
                java.lang.foreign.MemorySegment in = gaussian.apply((long) planes * h * w);
                java.lang.foreign.MemorySegment[] outs = new java.lang.foreign.MemorySegment[4];
                for (int k = 0; k < 4; k++) {
                    outs[k] = arena.allocate(4L * planes * oh * ow, 64);
                }
                Pooling.maxPool2dPlanes(in, 0, 0, planes, h, w, win, outs[0], 0, outs[1], 0, oh, ow, new float[Simd.LANES]);
                Pooling.maxPool2d(in, 0, planes, h, w, win, outs[2], 0, outs[3], 0, oh, ow);
                assertThat(outs[2].toArray(i32)).as("max pool %s", java.util.Arrays.toString(dims)).isEqualTo(outs[0].toArray(i32));
                assertThat(outs[3].toArray(i32)).as("argmax %s", java.util.Arrays.toString(dims)).isEqualTo(outs[1].toArray(i32));
                java.lang.foreign.MemorySegment g = gaussian.apply((long) planes * oh * ow);
                java.lang.foreign.MemorySegment dxOne = arena.allocate(4L * planes * h * w, 64);
                java.lang.foreign.MemorySegment dxSplit = arena.allocate(4L * planes * h * w, 64);
                Parallel.setThreads(1);
                Pooling.maxPool2x2Backward(g, 0, outs[1], 0, planes, oh, ow, dxOne, 0);
                Parallel.setThreads(3);
                Pooling.maxPool2x2Backward(g, 0, outs[1], 0, planes, oh, ow, dxSplit, 0);
                assertThat(dxSplit.toArray(i32)).as("max pool backward %s", java.util.Arrays.toString(dims)).isEqualTo(dxOne.toArray(i32));
            }
            int n = 2048, c = 65;
            java.lang.foreign.MemorySegment x = gaussian.apply((long) n * c);
            java.lang.foreign.MemorySegment w = arena.allocate(4L * c, 64);
            java.lang.foreign.MemorySegment t = arena.allocate(8L * n, 64);
            for (int k = 0; k < c; k++) {
                w.setAtIndex(f32, k, 0.5f + (float) rnd.nextDouble());
            }
            for (int i = 0; i < n; i++) {
                t.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i, i % 97 == 0 ? -100 : rnd.nextInt(c));
            }
            java.lang.foreign.MemorySegment up = gaussian.apply(n);
            for (int reduction : new int[] {ClassificationLoss.MEAN, ClassificationLoss.SUM, ClassificationLoss.NONE}) {
                for (boolean logits : new boolean[] {true, false}) {
                    for (double eps : new double[] {0, 0.1}) {
                        java.lang.foreign.MemorySegment weight = eps == 0 ? w : null;
                        String what = "reduction " + reduction + " logits " + logits + " eps " + eps;
                        java.lang.foreign.MemorySegment lossOne = arena.allocate(4L * n + 64, 64);
                        java.lang.foreign.MemorySegment lossTwo = arena.allocate(4L * n + 64, 64);
                        ClassificationLoss.forward(logits, x, 0, t, 0, weight, 0, n, c, -100, eps, reduction, lossOne, 0, false);
                        ClassificationLoss.forward(logits, x, 0, t, 0, weight, 0, n, c, -100, eps, reduction, lossTwo, 0, true);
                        assertThat(lossTwo.toArray(i32)).as("loss " + what).isEqualTo(lossOne.toArray(i32));
                        java.lang.foreign.MemorySegment dxOne = arena.allocate(4L * n * c + 64, 64);
                        java.lang.foreign.MemorySegment dxTwo = arena.allocate(4L * n * c + 64, 64);
                        dxOne.fill((byte) 0x55);
                        dxTwo.fill((byte) 0x55);
                        ClassificationLoss.backward(logits, up, 0, x, 0, t, 0, weight, 0, n, c, -100, eps, reduction, dxOne, 0, false);
                        ClassificationLoss.backward(logits, up, 0, x, 0, t, 0, weight, 0, n, c, -100, eps, reduction, dxTwo, 0, true);
                        assertThat(dxTwo.toArray(i32)).as("grad " + what).isEqualTo(dxOne.toArray(i32));
                        assertThat(dxOne.getAtIndex(f32, 0)).as("ignored row zeroed " + what).isZero();
                    }
                }
            }
        }
    }

    @Test
    void everyPartRunsOnceCallAfterCallAndAfterAFailure() {
        for (int round = 0; round < 200; round++) {
            int parts = 1 + round % 3;
            int count = 7 + round;
            AtomicIntegerArray seen = new AtomicIntegerArray(count);
            if (round % 10 == 5) {
                int failing = round % parts;
                assertThatThrownBy(() -> Parallel.forRange(parts, count, (part, from, to) -> {
                    if (part == failing) {
                        throw new IllegalStateException("part " + part + " failed");
                    }
                })).isInstanceOf(IllegalStateException.class).hasMessage("part " + failing + " failed");
                continue;
            }
            Parallel.forRange(parts, count, (part, from, to) -> {
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < count; i++) {
                assertThat(seen.get(i)).as("round %d item %d", round, i).isEqualTo(1);
            }
        }
    }

    @Test
    void aCallFromInsideAPartRunsInlineWithItsOwnArguments() {
        AtomicIntegerArray seen = new AtomicIntegerArray(3 * 50);
        Parallel.run(3, outer -> Parallel.forRange(3, 50, (inner, from, to) -> {
            for (int i = from; i < to; i++) {
                seen.incrementAndGet(outer * 50 + i);
            }
        }));
        for (int i = 0; i < seen.length(); i++) {
            assertThat(seen.get(i)).as("item %d", i).isEqualTo(1);
        }
    }

    /** Several threads multiply at once, each its own product, with products split across the pool: each C is its own. */
    @Test
    void concurrentProductsKeepTheirOwnOperands() throws Exception {
        int m = 256; // 256^3 multiply-adds: large enough for sgemm to split C across the pool
        int n = 256;
        int k = 256;
        Thread[] ts = new Thread[4];
        Throwable[] failures = new Throwable[ts.length];
        for (int t = 0; t < ts.length; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
                    java.lang.foreign.MemorySegment a = arena.allocate(4L * m * k, 64);
                    java.lang.foreign.MemorySegment b = arena.allocate(4L * k * n, 64);
                    java.lang.foreign.MemorySegment c = arena.allocate(4L * m * n, 64);
                    for (int rep = 0; rep < 30; rep++) {
                        float va = id + 1;
                        float vb = rep + 1;
                        for (int i = 0; i < m * k; i++) {
                            a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, va);
                        }
                        for (int i = 0; i < k * n; i++) {
                            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, vb);
                        }
                        Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n, null, null, true);
                        for (int i = 0; i < m * n; i++) {
                            float got = c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
                            if (got != k * va * vb) {
                                throw new AssertionError("thread " + id + " rep " + rep + ": c[" + i + "] = " + got + ", expected " + k * va * vb);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures[id] = e;
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        for (Throwable f : failures) {
            assertThat(f).isNull();
        }
    }

    /**
     * A call whose workers are all busy elsewhere does not wait for them: the caller runs the parts no worker has
     * started (the wake-up latency fix of issue 17), each exactly once, and the queued copies a worker dequeues later
     * do nothing. Before, this call waited until the other call's latch opened.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD) // the old code hung here
    void theCallerRunsPartsNoWorkerHasStarted() throws Exception {
        Parallel.setThreads(2); // one worker
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch workerBusy = new java.util.concurrent.CountDownLatch(1);
        Thread other = new Thread(() -> Parallel.run(2, part -> {
            if (part == 1) {
                workerBusy.countDown(); // part 0 waits below, so its caller never takes part 1: the worker runs it
            }
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        other.start();
        try {
            assertThat(workerBusy.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            for (int round = 0; round < 50; round++) {
                AtomicIntegerArray seen = new AtomicIntegerArray(4);
                long t0 = System.nanoTime();
                Parallel.run(4, seen::incrementAndGet);
                assertThat((System.nanoTime() - t0) / 1e9).as("seconds for a call while the worker is busy").isLessThan(5.0);
                for (int i = 0; i < 4; i++) {
                    assertThat(seen.get(i)).as("part %d of round %d", i, round).isEqualTo(1);
                }
            }
        } finally {
            release.countDown();
            other.join(10_000);
        }
    }
}
