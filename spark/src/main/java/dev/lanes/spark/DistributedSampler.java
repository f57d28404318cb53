package dev.lanes.spark;

import java.io.Serializable;
import java.util.Random;

/**
 * Which samples each rank trains on, like PyTorch's {@code DistributedSampler} but cut by global batch: every epoch
 * is one permutation of the data set (the same on every rank: seeded by seed and epoch), read as consecutive global
 * batches of {@code globalBatch}; rank r takes the r-th of {@code world} near-equal slices of each global batch. So
 * each sample is used exactly once per epoch, and step k of a distributed run sees exactly the samples step k of a
 * one-process run with the same seed sees. The last, shorter global batch is kept (its size is
 * {@link #globalBatchSize}); a rank whose slice is empty still takes part in the step.
 */
public final class DistributedSampler implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int size;
    private final int globalBatch;
    private final int world;
    private final long seed;
    private final boolean shuffle;

    public DistributedSampler(int size, int globalBatch, int world, long seed, boolean shuffle) {
        if (size <= 0 || globalBatch <= 0 || world <= 0) {
            throw new IllegalArgumentException("data set size, global batch and world size must be positive, got " + size + ", "
                    + globalBatch + ", " + world);
        }
        this.size = size;
        this.globalBatch = globalBatch;
        this.world = world;
        this.seed = seed;
        this.shuffle = shuffle;
    }

    /** Global batches (steps) per epoch. */
    public int batchesPerEpoch() {
        return (size + globalBatch - 1) / globalBatch;
    }

    /** Samples in global batch {@code batch} (all but the last: {@code globalBatch}). */
    public int globalBatchSize(int batch) {
        return Math.min(globalBatch, size - batch * globalBatch);
    }

    /** The order of the data set in {@code epoch}: a seeded Fisher-Yates shuffle, or 0..size-1. */
    public int[] permutation(int epoch) {
        int[] p = new int[size];
        for (int i = 0; i < size; i++) {
            p[i] = i;
        }
        if (shuffle) {
            Random r = new Random(seed * 1_000_003L + epoch);
            for (int i = size - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
        }
        return p;
    }

    /** Rank {@code rank}'s samples of global batch {@code batch}, given that epoch's {@link #permutation}. */
    public int[] indices(int[] permutation, int batch, int rank) {
        int b = globalBatchSize(batch);
        int from = batch * globalBatch + (int) ((long) b * rank / world);
        int to = batch * globalBatch + (int) ((long) b * (rank + 1) / world);
        int[] out = new int[to - from];
        System.arraycopy(permutation, from, out, 0, out.length);
        return out;
    }
}
