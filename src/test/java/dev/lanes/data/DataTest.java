package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryPool;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX files, MNIST-format datasets, transforms and the DataLoader. */
class DataTest {
    @TempDir
    Path dir;

    /** An unsigned-byte IDX file of the given dims whose values are {@code i % 251}. */
    static byte[] idx(int... dims) {
        long count = 1;
        for (int d : dims) {
            count *= d;
        }
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + (int) count);
        b.put((byte) 0).put((byte) 0).put((byte) 8).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        for (int i = 0; i < count; i++) {
            b.put((byte) (i % 251));
        }
        return b.array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /** Writes a small MNIST-format split: n images of 28x28 and labels i % 10. */
    static void writeSplit(Path dir, String prefix, int n, boolean gz) throws IOException {
        byte[] images = idx(n, 28, 28);
        byte[] labels = idx(n);
        for (int i = 0; i < n; i++) {
            labels[8 + i] = (byte) (i % 10);
        }
        Files.write(dir.resolve(prefix + "-images-idx3-ubyte" + (gz ? ".gz" : "")), gz ? gzip(images) : images);
        Files.write(dir.resolve(prefix + "-labels-idx1-ubyte" + (gz ? ".gz" : "")), gz ? gzip(labels) : labels);
    }

    @Test
    void idxPlainAndGzip() throws IOException {
        Path plain = dir.resolve("a-idx3-ubyte");
        Files.write(plain, idx(2, 3, 4));
        Path gz = dir.resolve("a-idx3-ubyte.gz");
        Files.write(gz, gzip(idx(2, 3, 4)));
        for (Path p : List.of(plain, gz)) {
            Idx.Array a = Idx.read(p);
            assertThat(a.dims()).containsExactly(2, 3, 4);
            assertThat(a.count()).isEqualTo(2);
            assertThat(a.unsigned(23)).isEqualTo(23);
        }
    }

    /** readItems: the items' bytes of read(), plain and gzip, the header alone by dims(), and ranges it refuses. */
    @Test
    void idxItemsAreTheSliceOfTheWholeFile() throws IOException {
        Path plain = dir.resolve("i-idx3-ubyte");
        Files.write(plain, idx(7, 3, 5));
        Path gz = dir.resolve("i-idx3-ubyte.gz");
        Files.write(gz, gzip(idx(7, 3, 5)));
        for (Path p : List.of(plain, gz)) {
            byte[] all = Idx.read(p).data();
            for (int[] r : new int[][] {{0, 1}, {3, 2}, {6, 1}, {0, 7}, {7, 0}, {2, 0}}) {
                Idx.Array a = Idx.readItems(p, r[0], r[1]);
                assertThat(a.dims()).containsExactly(r[1], 3, 5);
                assertThat(a.data()).containsExactly(java.util.Arrays.copyOfRange(all, r[0] * 15, (r[0] + r[1]) * 15));
            }
            assertThat(Idx.dims(p)).containsExactly(7, 3, 5);
            assertThatThrownBy(() -> Idx.readItems(p, 6, 2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(p.toString())
                    .hasMessageContaining("has 7 items").hasMessageContaining("[6, 8)");
            assertThatThrownBy(() -> Idx.readItems(p, Integer.MAX_VALUE, Integer.MAX_VALUE)).hasMessageContaining("has 7 items");
            assertThatThrownBy(() -> Idx.readItems(p, -1, 1)).hasMessageContaining("must be >= 0");
        }
        // a header that promises more items than the file holds: refused, not a short array
        Path shortFile = dir.resolve("s-idx3-ubyte");
        Files.write(shortFile, java.util.Arrays.copyOf(idx(7, 3, 5), 16 + 5 * 15 + 4));
        assertThat(Idx.readItems(shortFile, 4, 1).data()).hasSize(15);
        assertThatThrownBy(() -> Idx.readItems(shortFile, 5, 1)).hasMessageContaining("(truncated)");
        assertThatThrownBy(() -> Idx.readItems(shortFile, 6, 1)).hasMessageContaining("(truncated)");
        // dimensions whose product overflows 64 bits are refused before any skip or allocation
        Path hostile = dir.resolve("h-idx3-ubyte");
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(4 + 16).put(new byte[] {0, 0, 8, 4});
        for (int i = 0; i < 4; i++) {
            bb.putInt(Integer.MAX_VALUE);
        }
        Files.write(hostile, bb.array());
        assertThatThrownBy(() -> Idx.readItems(hostile, 0, 1)).hasMessageContaining("overflows 64 bits");
        // a header declaring 2^40 bytes: refused like read() refuses it, before skipping (inflating) anything
        Path bomb = dir.resolve("b-idx3-ubyte.gz");
        Files.write(bomb, gzip(java.nio.ByteBuffer.allocate(12 + 64).put(new byte[] {0, 0, 8, 2}).putInt(1 << 20).putInt(1 << 20).array()));
        assertThatThrownBy(() -> Idx.readItems(bomb, 5, 1)).hasMessageContaining("above the limit");
    }

    @Test
    void badIdxFilesNameTheFileAndTheProblem() throws IOException {
        byte[] good = idx(2, 3, 4);
        assertThatThrownBy(() -> Idx.parse(java.util.Arrays.copyOf(good, good.length - 1), "f.idx")).hasMessageContaining("f.idx")
                .hasMessageContaining("(truncated)");
        assertThatThrownBy(() -> Idx.parse(java.util.Arrays.copyOf(good, good.length + 3), "f.idx")).hasMessageContaining("(trailing data)");
        byte[] magic = good.clone();
        magic[0] = 1;
        assertThatThrownBy(() -> Idx.parse(magic, "f.idx")).hasMessageContaining("bad magic number");
        byte[] type = good.clone();
        type[2] = 0x0d;
        assertThatThrownBy(() -> Idx.parse(type, "f.idx")).hasMessageContaining("element type 0xd");
        Path corrupt = dir.resolve("c.gz");
        byte[] z = gzip(good);
        z[z.length / 2] ^= 0x55;
        z[z.length / 2 + 1] ^= 0x55;
        Files.write(corrupt, z);
        assertThatThrownBy(() -> Idx.read(corrupt)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(corrupt.toString());
        Path mismatch = dir.resolve("m");
        Files.createDirectories(mismatch);
        Files.write(mismatch.resolve("train-images-idx3-ubyte"), idx(5, 28, 28));
        Files.write(mismatch.resolve("train-labels-idx1-ubyte"), idx(4));
        assertThatThrownBy(() -> MnistDataset.load(mismatch, true, ImageTransform.toTensor()))
                .hasMessageContaining("holds 5 images but label file").hasMessageContaining("holds 4 labels");
    }

    @Test
    void transformsFollowTorchvision() {
        float[] px = {0, 255, 51, 102};
        float[] out = new float[36];
        ImageTransform t = ImageTransform.pad(2).then(ImageTransform.toTensor()).then(ImageTransform.normalize(0.5, 0.5));
        assertThat(t.outSize(2)).isEqualTo(6);
        t.apply(px, 2, 2, out);
        assertThat(out[0]).isEqualTo(-1f); // padded pixel 0 -> (0 - 0.5) / 0.5
        assertThat(out[2 * 6 + 2]).isEqualTo(-1f);
        assertThat(out[2 * 6 + 3]).isEqualTo(1f);
        assertThat(out[3 * 6 + 2]).isCloseTo(-0.6f, org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void loaderCoversEachSampleOnceWithSeededShuffles() throws IOException {
        writeSplit(dir, "train", 103, true);
        MnistDataset ds = MnistDataset.load(dir, true, ImageTransform.pad(2).then(ImageTransform.toTensor()));
        assertThat(ds.inputShape()).containsExactly(1, 32, 32);
        try (DataLoader loader = new DataLoader(ds, 10, true, 42, false)) {
            assertThat(loader.size()).isEqualTo(11);
            List<List<Long>> epochs = new ArrayList<>();
            for (int e = 0; e < 2; e++) {
                List<Long> labels = new ArrayList<>();
                int batches = 0;
                for (DataLoader.Batch b : loader) {
                    batches++;
                    assertThat(b.inputs().shape()).containsExactly(b.size(), 1, 32, 32);
                    for (long l : b.labels().toLongArray()) {
                        labels.add(l);
                    }
                }
                assertThat(batches).isEqualTo(11);
                assertThat(labels).hasSize(103);
                epochs.add(labels);
            }
            assertThat(epochs.get(0)).isNotEqualTo(epochs.get(1)); // a new permutation each epoch
            try (DataLoader same = new DataLoader(ds, 10, true, 42, false)) {
                List<Long> again = new ArrayList<>();
                for (DataLoader.Batch b : same) {
                    for (long l : b.labels().toLongArray()) {
                        again.add(l);
                    }
                }
                assertThat(again).isEqualTo(epochs.get(0)); // same seed, same order
            }
        }
        try (DataLoader drop = new DataLoader(ds, 10, false, 0, true)) {
            Set<Integer> sizes = new HashSet<>();
            for (DataLoader.Batch b : drop) {
                sizes.add(b.size());
            }
            assertThat(drop.size()).isEqualTo(10);
            assertThat(sizes).containsExactly(10);
        }
    }

    @Test
    void batchesMatchTheDatasetAndTheLoopTakesNoNewOffHeapMemory() throws IOException {
        writeSplit(dir, "t10k", 64, false);
        MnistDataset ds = MnistDataset.load(dir, false, ImageTransform.toTensor());
        try (DataLoader loader = new DataLoader(ds, 16, false, 0, false)) {
            float[] expected = new float[28 * 28];
            for (DataLoader.Batch b : loader) {
                Tensor first = b.inputs().get(0);
                ds.fill(0, expected, 0); // sample 0 is only in the first batch
                if (b.labels().toLongArray()[0] == 0) {
                    assertThat(first.toFloatArray()).containsExactly(expected);
                }
                first.close();
            }
            for (int e = 0; e < 3; e++) { // warm
                for (DataLoader.Batch b : loader) {
                    assertThat(b.size()).isEqualTo(16);
                }
            }
            long allocations = MemoryPool.global().systemAllocations();
            for (int e = 0; e < 20; e++) {
                for (DataLoader.Batch b : loader) {
                    assertThat(b.size()).isEqualTo(16);
                }
            }
            assertThat(MemoryPool.global().systemAllocations()).isEqualTo(allocations);
        }
        assertThatThrownBy(() -> new DataLoader(ds, 0, false, 0, false)).hasMessageContaining("batch_size should be a positive integer value");
    }

    @Test
    void torchvisionStyleLoadersFindTheirFiles() throws IOException {
        Path raw = dir.resolve("FashionMNIST").resolve("raw");
        Files.createDirectories(raw);
        writeSplit(raw, "t10k", 12, true);
        assertThat(FashionMNIST.load(dir, false, ImageTransform.toTensor(), false).size()).isEqualTo(12);
        writeSplit(dir, "train", 7, false);
        assertThat(MNIST.load(dir, true, ImageTransform.toTensor(), false).size()).isEqualTo(7);
        assertThatThrownBy(() -> MNIST.load(dir, false, ImageTransform.toTensor(), false)).hasMessageContaining("MNIST test files not found")
                .hasMessageContaining("download=true");
        assertThat(FashionMNIST.defaultRoot().toString()).endsWith(".cache/lanes/datasets/fashion-mnist");
    }

    @Test
    void abandoningAnEpochMidwayDoesNotDisturbTheNextOne() throws IOException {
        writeSplit(dir, "train", 40, false);
        MnistDataset ds = MnistDataset.load(dir, true, ImageTransform.toTensor());
        try (DataLoader loader = new DataLoader(ds, 4, false, 0, false)) {
            for (int e = 0; e < 20; e++) {
                java.util.Iterator<DataLoader.Batch> it = loader.iterator();
                it.next(); // leave the epoch after one batch: its producer is busy filling the next ones
                List<Long> labels = new ArrayList<>();
                for (DataLoader.Batch b : loader) {
                    for (long l : b.labels().toLongArray()) {
                        labels.add(l);
                    }
                }
                for (int i = 0; i < labels.size(); i++) {
                    assertThat(labels.get(i)).isEqualTo(i % 10L);
                }
            }
        }
    }

    /** A tiny in-memory dataset: sample i is [i, i] with label i; fill throws at {@code failAt}. */
    private static Dataset counting(int n, int failAt) {
        return new Dataset() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public int[] inputShape() {
                return new int[] {2};
            }

            @Override
            public long fill(int index, float[] dst, int offset) {
                if (index == failAt) {
                    throw new IllegalArgumentException("sample " + index + " is unreadable");
                }
                dst[offset] = index;
                dst[offset + 1] = index;
                return index;
            }
        };
    }

    /**
     * A batch size of Integer.MAX_VALUE is one batch of everything (size() wrapped to 0 and the epoch was empty, where
     * PyTorch's len is 1); a shuffled loader over no samples is refused (PyTorch's RandomSampler: an empty split trained
     * on nothing); seeds s and s + 1 shuffle unrelated orders.
     */
    @Test
    void aHugeBatchIsOneBatchAndAnEmptyShuffleIsRefused() {
        try (DataLoader all = new DataLoader(counting(10, -1), Integer.MAX_VALUE, true, 3, false)) {
            assertThat(all.size()).isEqualTo(1);
            var it = all.iterator();
            assertThat(it.next().labels().toLongArray()).hasSize(10);
            assertThat(it.hasNext()).isFalse();
        }
        try (DataLoader none = new DataLoader(counting(10, -1), Integer.MAX_VALUE, false, 3, true)) {
            assertThat(none.size()).isZero();
        }
        assertThatThrownBy(() -> new DataLoader(counting(0, -1), 4, true, 0, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_samples=0");
        try (DataLoader empty = new DataLoader(counting(0, -1), 4, false, 0, false)) {
            assertThat(empty.size()).isZero();
        }
        for (long seed = 0; seed < 4; seed++) { // the first batch's labels of seed s + 1 are not seed s's shifted by one
            try (DataLoader a = new DataLoader(counting(1000, -1), 8, true, seed, false); DataLoader b = new DataLoader(counting(1000, -1), 8, true, seed + 1, false)) {
                long[] la = a.iterator().next().labels().toLongArray();
                long[] lb = b.iterator().next().labels().toLongArray();
                assertThat(java.util.Arrays.copyOfRange(la, 1, 8)).as("seed %d", seed).isNotEqualTo(java.util.Arrays.copyOfRange(lb, 0, 7));
            }
        }
    }

    /**
     * A batch kept past the next one throws when used, naming the rule (its tensors silently showed a later batch's
     * values: the loader refills two buffers); a clone stays. A consumer waiting in next() while another thread closes
     * the loader wakes with an exception (it waited for good).
     */
    @Test
    void aKeptBatchThrowsAndAWaitingConsumerWakesOnClose() throws Exception {
        try (DataLoader loader = new DataLoader(counting(10, -1), 2, false, 0, false)) {
            var it = loader.iterator();
            DataLoader.Batch first = it.next();
            Tensor kept = first.labels().clone();
            it.next();
            it.next(); // the first batch's buffer now holds the third batch
            assertThatThrownBy(() -> first.labels().toLongArray()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("valid until the next batch");
            assertThat(kept.toLongArray()).containsExactly(0, 1);
        }
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        Dataset slow = new Dataset() {
            @Override
            public int size() {
                return 4;
            }

            @Override
            public int[] inputShape() {
                return new int[] {1};
            }

            @Override
            public long fill(int index, float[] dst, int offset) {
                entered.countDown();
                try {
                    Thread.sleep(60_000); // a sample that never comes: the producer is stopped while it waits
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted");
                }
                return 0;
            }
        };
        DataLoader loader = new DataLoader(slow, 2, false, 0, false);
        var it = loader.iterator();
        java.util.concurrent.CompletableFuture<Object> waiting = java.util.concurrent.CompletableFuture.supplyAsync(it::next);
        assertThat(entered.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Thread.sleep(100); // the consumer is now in next()
        loader.close();
        assertThatThrownBy(() -> waiting.get(10, java.util.concurrent.TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
    }

    /** A batch whose sample fails throws once; the epoch then goes on (it waited for good), as PyTorch's loader without workers. */
    @Test
    void aFailingBatchThrowsAndTheNextBatchesFollow() {
        try (DataLoader loader = new DataLoader(counting(10, 4), 3, false, 1, false)) {
            var it = loader.iterator();
            assertThat(it.next().labels().toLongArray()).containsExactly(0, 1, 2);
            assertThatThrownBy(it::next).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sample 4 is unreadable");
            assertThat(it.next().labels().toLongArray()).containsExactly(6, 7, 8);
            assertThat(it.next().labels().toLongArray()).containsExactly(9);
            assertThat(it.hasNext()).isFalse();
        }
    }

    /** A second iterator() supersedes the first, which then refuses to go on (it read the new epoch's buffers, then waited for good). */
    @Test
    void aSupersededIteratorRefusesToGoOn() {
        try (DataLoader loader = new DataLoader(counting(10, -1), 2, false, 1, false)) {
            var first = loader.iterator();
            first.next();
            var second = loader.iterator();
            assertThatThrownBy(first::next).isInstanceOf(IllegalStateException.class).hasMessageContaining("superseded");
            assertThatThrownBy(first::hasNext).isInstanceOf(IllegalStateException.class);
            int batches = 0;
            while (second.hasNext()) {
                second.next();
                batches++;
            }
            assertThat(batches).isEqualTo(5);
        }
    }

    /** batch_size far above the dataset: one batch of the whole dataset, buffers of its size (a million rows were allocated). */
    @Test
    void aBatchSizeAboveTheDatasetIsOneBatchOfIt() {
        try (DataLoader loader = new DataLoader(counting(7, -1), 1_000_000_000, false, 1, false)) {
            var it = loader.iterator();
            DataLoader.Batch b = it.next();
            assertThat(b.size()).isEqualTo(7);
            assertThat(b.inputs().shape()).containsExactly(7, 2);
            assertThat(it.hasNext()).isFalse();
        }
    }
}
