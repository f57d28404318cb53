package dev.lanes.data;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Batches of a {@link Dataset}, like {@code torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last)}:
 * each {@link #iterator()} is one epoch; with shuffle the order is a seeded permutation that depends only on the
 * seed and the epoch number, so runs repeat exactly. Random transforms ({@link ImageTransform#randomCrop},
 * {@link ImageTransform#randomHorizontalFlip}) draw from a generator that also depends only on the seed and the epoch
 * number, so augmented epochs repeat exactly too. A background thread fills the next batch while the caller trains on
 * the current one.
 *
 * <h2>Lifetime rule</h2>
 * The loader owns two batch buffers and reuses them, so the steady-state loop allocates no off-heap memory:
 * <b>a batch is valid until the next call to {@code next()}</b> (or the end of the for-each body); used later, its
 * tensors throw (they are views the loader releases before it refills the buffer). Clone what you want to keep. Close the loader to stop its thread early; an epoch that is not iterated to the end is stopped
 * when the next epoch starts.
 */
public final class DataLoader implements Iterable<DataLoader.Batch>, AutoCloseable {
    /** Put in the ready queue by stop(): a next() waiting on it wakes and throws. */
    private static final Object STOPPED = new Object();

    /** Why a batch's tensors were released: they are views of buffers the loader refills. */
    static final String REFILLED = "DataLoader: a batch is valid until the next batch (its buffers are refilled); clone() what you keep";

    /** One batch: inputs {@code [n, ...inputShape]}, int64 labels {@code [n]}. */
    public record Batch(Tensor inputs, Tensor labels, int size) {
    }

    private final Dataset dataset;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final boolean dropLast;
    /** Rows of the batch buffers: batch_size, or the whole dataset when that is smaller. */
    private final int rows;
    private final Tensor[] inputs = new Tensor[2];
    private final Tensor[] labels = new Tensor[2];
    private final float[][] hostInputs = new float[2][];
    private final long[][] hostLabels = new long[2][];
    private int epoch;
    private Epoch current;

    public DataLoader(Dataset dataset, int batchSize, boolean shuffle, long seed, boolean dropLast) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch_size should be a positive integer value, but got batch_size=" + batchSize);
        }
        if (shuffle && dataset.size() == 0) { // PyTorch's RandomSampler: an empty split (a wrong path) would train on nothing
            throw new IllegalArgumentException("num_samples should be a positive integer value, but got num_samples=0");
        }
        this.dataset = dataset;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
        this.dropLast = dropLast;
        // buffers for the largest batch there can be: batch_size 10^6 over 10,000 samples is one batch of 10,000 (it
        // allocated a million rows)
        this.rows = Math.max(1, Math.min(batchSize, dataset.size()));
        int[] shape = dataset.inputShape();
        int[] batchShape = new int[shape.length + 1];
        batchShape[0] = rows;
        System.arraycopy(shape, 0, batchShape, 1, shape.length);
        int floats;
        try { // the sample's own product inside too: a dataset's shape may multiply past an int
            int perSample = 1;
            for (int s : shape) {
                perSample = Math.multiplyExact(perSample, s);
            }
            floats = Math.multiplyExact(rows, perSample);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("a batch of " + rows + " samples of shape " + java.util.Arrays.toString(shape) + " is over 2^31 floats");
        }
        try (MemoryScope u = MemoryScope.unscoped()) {
            for (int i = 0; i < 2; i++) {
                inputs[i] = Tensor.empty(batchShape);
                labels[i] = Tensor.zerosLong(rows);
                hostInputs[i] = new float[floats];
                hostLabels[i] = new long[rows];
            }
        }
    }

    /** Batches per epoch. */
    public int size() {
        int n = dataset.size();
        return dropLast ? n / batchSize : n / batchSize + (n % batchSize != 0 ? 1 : 0); // n + batchSize - 1 wrapped at Integer.MAX_VALUE
    }

    /**
     * A seed's generator seed, its bits mixed (SplitMix64's finaliser): seed * 0x9E3779B97F4A7C15 is SplittableRandom's
     * own step, so seed s + 1 drew seed s's numbers one draw later (CharDataset's batches of seed 1 were seed 0's
     * shifted by one window).
     */
    static long scramble(long seed) {
        long z = seed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public Dataset dataset() {
        return dataset;
    }

    @Override
    public synchronized Iterator<Batch> iterator() {
        if (current != null) {
            current.stop();
        }
        SplittableRandom rnd = new SplittableRandom(scramble(seed) + epoch++);
        int[] order = order(rnd);
        current = new Epoch(order, rnd.split()); // the transforms' generator, split after the shuffle's draws
        return current;
    }

    private int[] order(SplittableRandom rnd) {
        int n = dataset.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        if (shuffle) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        return idx;
    }

    @Override
    public synchronized void close() {
        if (current != null) {
            current.stop();
            current = null;
        }
        for (int i = 0; i < 2; i++) {
            inputs[i].close();
            labels[i].close();
        }
    }

    /** A batch whose samples could not be made: its slot, and what the dataset threw. */
    private record Failure(int slot, Throwable error) {
    }

    /** One pass over the data: a producer thread fills free slots, the caller takes filled ones in order. */
    private final class Epoch implements Iterator<Batch>, Runnable {
        private final int[] order;
        private final SplittableRandom augment;
        private final int batches = size();
        private final BlockingQueue<Integer> free = new ArrayBlockingQueue<>(2);
        private final BlockingQueue<Object> ready = new ArrayBlockingQueue<>(2);
        private final Thread producer;
        private int taken;
        private int held = -1;
        /** Set when a newer iterator() or close() stopped this epoch: its buffers are no longer its own. */
        private volatile boolean stopped;

        Epoch(int[] order, SplittableRandom augment) {
            this.order = order;
            this.augment = augment;
            free.add(0);
            free.add(1);
            producer = new Thread(this, "lanes-dataloader");
            producer.setDaemon(true);
            producer.start();
        }

        @Override
        public void run() {
            int perSample = hostInputs[0].length / rows;
            try {
                for (int b = 0; b < batches; b++) {
                    int slot = free.take();
                    int from = b * batchSize;
                    int n = Math.min(batchSize, order.length - from);
                    Object item;
                    try {
                        for (int i = 0; i < n; i++) {
                            hostLabels[slot][i] = dataset.fill(order[from + i], hostInputs[slot], i * perSample, augment);
                        }
                        item = new int[] {slot, n};
                    } catch (RuntimeException | Error e) {
                        // this batch fails on the caller's thread, the next ones follow (as PyTorch's loader without
                        // workers): the producer stopping here left the caller's next next() waiting for good
                        item = new Failure(slot, e);
                    }
                    ready.put(item);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public boolean hasNext() {
            checkCurrent();
            return taken < batches;
        }

        /** A superseded epoch may not go on: its batches would be read from buffers the newer one fills (a mix of both, then a wait for good). */
        private void checkCurrent() {
            if (stopped) {
                throw new IllegalStateException("this DataLoader iterator was superseded by a newer iterator() of the same loader (or the loader"
                        + " was closed); a loader runs one epoch at a time: finish or drop this one before starting the next");
            }
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("epoch finished");
            }
            if (held >= 0) {
                releaseHeld(); // the previous batch's tensors throw from now on (they kept reading what the buffer held next)
                free.add(held); // the previous batch is no longer valid
                held = -1;
            }
            Object item;
            try {
                item = ready.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the next batch", e);
            }
            if (item == STOPPED) { // stopped while this thread waited (close() or a new iterator() on another thread)
                checkCurrent();
            }
            if (item instanceof Failure f) {
                free.add(f.slot());
                taken++;
                if (f.error() instanceof RuntimeException re) {
                    throw re;
                }
                throw (Error) f.error();
            }
            int[] info = (int[]) item;
            int slot = info[0];
            int n = info[1];
            held = slot;
            taken++;
            // copy on the caller's thread: tensors are written only where they are used
            inputs[slot].copyFrom(hostInputs[slot], 0);
            labels[slot].copyFrom(hostLabels[slot], 0);
            synchronized (this) {
                try (MemoryScope u = MemoryScope.unscoped()) { // the loader's to release, not the caller's scope's (one a batch)
                    heldInputs = n == rows ? inputs[slot].detach() : inputs[slot].narrow(0, 0, n);
                    heldLabels = n == rows ? labels[slot].detach() : labels[slot].narrow(0, 0, n);
                }
                return new Batch(heldInputs, heldLabels, n);
            }
        }

        /** The batch handed out last: views of the buffers, released when the buffers are refilled. */
        private Tensor heldInputs;
        private Tensor heldLabels;

        /** Releases the last batch's views: used later they throw, naming this rule, instead of showing a later batch's values. */
        private synchronized void releaseHeld() {
            if (heldInputs != null) {
                heldInputs.release(REFILLED);
                heldLabels.release(REFILLED);
                heldInputs = null;
                heldLabels = null;
            }
        }

        /** Stops the producer and waits for it: it may be filling a host buffer the next epoch is about to reuse. */
        void stop() {
            stopped = true;
            releaseHeld();
            ready.offer(STOPPED); // wakes a consumer waiting in next() (it waited for good); full: no one is waiting
            producer.interrupt();
            boolean interrupted = false;
            while (true) { // wait for it even when this thread is interrupted: it may still be writing the shared buffers
                try {
                    producer.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
