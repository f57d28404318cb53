package dev.lanes.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.data.Dataset;
import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.optim.SGD;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training through Spark on local[2]: the one-process result, retries from checkpoints, bounded failures. */
class DistributedTrainerTest {
    private static JavaSparkContext sc;

    @BeforeAll
    static void spark() {
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("lanes-test").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.serializer.extraDebugInfo", "false");
        sc = new JavaSparkContext(conf);
        sc.setLogLevel("ERROR");
    }

    @AfterAll
    static void stop() {
        sc.stop();
    }

    /** 200 random 1x32x32 "images" whose label is the brightest quadrant (learnable), the same on every worker. */
    static final class Synthetic implements Dataset {
        final float[] images;
        final long[] labels;

        Synthetic(int n, long seed) {
            Random r = new Random(seed);
            images = new float[n * 1024];
            labels = new long[n];
            for (int i = 0; i < n; i++) {
                int q = r.nextInt(4);
                labels[i] = q;
                for (int p = 0; p < 1024; p++) {
                    int y = p / 32;
                    int x = p % 32;
                    int quadrant = (y / 16) * 2 + x / 16;
                    images[i * 1024 + p] = (float) r.nextGaussian() * 0.5f + (quadrant == q ? 1f : 0f);
                }
            }
        }

        @Override
        public int size() {
            return labels.length;
        }

        @Override
        public int[] inputShape() {
            return new int[] {1, 32, 32};
        }

        @Override
        public long fill(int index, float[] dst, int offset) {
            System.arraycopy(images, index * 1024, dst, offset, 1024);
            return labels[index];
        }
    }

    private static DistributedTrainer trainer(Path dir, int workers, int epochs, DistributedTrainer.Fault fault, int attempts, Duration timeout) {
        return trainer(dir, workers, epochs, fault, attempts, timeout, true);
    }

    private static DistributedTrainer trainer(Path dir, int workers, int epochs, DistributedTrainer.Fault fault, int attempts, Duration timeout,
                                              boolean compile) {
        DistributedTrainer.Config c = new DistributedTrainer.Config(workers, epochs, 40, 5, 1, dir.toString(), 2, attempts, timeout, fault, compile);
        return new DistributedTrainer(LeNet::new, params -> new SGD(params, 0.05, 0.9), () -> new Synthetic(200, 9), c);
    }

    private static float[] weights(Path checkpoint) throws IOException {
        LeNet net = new LeNet();
        Checkpoint.restore(checkpoint, net, new SGD(net.parameters(), 0.05, 0.9));
        return flat(net);
    }

    /** All parameters, in order, as one array. */
    private static float[] flat(LeNet net) {
        List<Tensor> params = net.parameters();
        float[] all = new float[params.stream().mapToInt(Tensor::numel).sum()];
        DistributedTrainer.flatten(params, all, false);
        return all;
    }

    /** The same steps in one process with a plain loop: mean loss over each whole global batch. */
    private static float[] oneProcess(int epochs) {
        Lanes.setNumThreads(1);
        Lanes.manualSeed(5);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.05, 0.9);
        Synthetic ds = new Synthetic(200, 9);
        DistributedSampler s = new DistributedSampler(ds.size(), 40, 1, 5, true);
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        for (int e = 0; e < epochs; e++) {
            int[] perm = s.permutation(e);
            for (int b = 0; b < s.batchesPerEpoch(); b++) {
                int[] idx = s.indices(perm, b, 0);
                float[] x = new float[idx.length * 1024];
                long[] y = new long[idx.length];
                for (int i = 0; i < idx.length; i++) {
                    y[i] = ds.fill(idx[i], x, i * 1024);
                }
                try (MemoryScope sc = MemoryScope.open()) {
                    opt.zeroGrad();
                    criterion.forward(net.forward(Tensor.of(x, idx.length, 1, 32, 32)), Tensor.of(y, idx.length)).backward();
                    opt.step();
                }
            }
        }
        return flat(net);
    }

    /** Each worker's step compiled (the default) and eager: both give the one-process parameters to rounding. */
    @org.junit.jupiter.params.ParameterizedTest(name = "compiled step: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void twoWorkersGiveTheOneProcessParametersAndLearn(boolean compile, @TempDir Path dir) throws Exception {
        DistributedTrainer.Result r = trainer(dir, 2, 2, null, 1, Duration.ofSeconds(30), compile).fit(sc);
        assertThat(r.rank0().compiled()).as("rank 0 ran the compiled step").isEqualTo(compile);
        assertThat(r.steps()).isEqualTo(10); // 200 / 40 = 5 steps per epoch
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.finalCheckpoint().getFileName().toString()).isEqualTo("step-10.safetensors");
        float[] distributed = weights(r.finalCheckpoint());
        float[] single = oneProcess(2);
        assertThat(distributed).hasSameSizeAs(single);
        double maxDiff = 0;
        for (int i = 0; i < single.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(distributed[i] - single[i]));
        }
        // the same math; only the order of float additions differs (2 half-batch sums + the ring vs one batch)
        assertThat(maxDiff).as("largest parameter difference after 10 steps").isLessThan(2e-5);
        assertThat(r.rank0().epochLoss()[1]).isLessThan(r.rank0().epochLoss()[0]);
        assertThat(Checkpoint.list(dir)).hasSize(2); // the newest two are kept
    }

    @Test
    void aWorkerThatDiesMidEpochIsRetriedFromTheCheckpointToTheSameResult(@TempDir Path clean, @TempDir Path faulty) throws Exception {
        DistributedTrainer.Result reference = trainer(clean, 2, 2, null, 1, Duration.ofSeconds(30)).fit(sc);
        DistributedTrainer.Result r = trainer(faulty, 2, 2, new DistributedTrainer.Fault(1, 7, DistributedTrainer.Fault.Kind.THROW), 3, Duration.ofSeconds(30)).fit(sc);
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.log().get(0)).contains("attempt 1 failed").contains("injected fault: rank 1 died at step 7").contains("step-6.safetensors");
        assertThat(r.rank0().resumedFrom()).isEqualTo(6);
        assertThat(r.rank0().parameterHash()).as("resumed run ends bit-identical to the uninterrupted one")
                .isEqualTo(reference.rank0().parameterHash());
        assertThat(weights(r.finalCheckpoint())).isEqualTo(weights(reference.finalCheckpoint()));
    }

    @Test
    void aWorkerThatStopsAnsweringTimesOutAndTheRunResumes(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        DistributedTrainer.Result r = trainer(dir, 2, 1, new DistributedTrainer.Fault(0, 3, DistributedTrainer.Fault.Kind.HANG), 2, Duration.ofSeconds(3)).fit(sc);
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.steps()).isEqualTo(5);
        assertThat(r.rank0().resumedFrom()).isEqualTo(2);
        assertThat((System.nanoTime() - t0) / 1e9).as("bounded by the socket timeout, not a hang").isLessThan(60);
    }

    /** Issue 18: a bug every rank hits at the same step is not retried until the attempts run out. */
    @Test
    void aDeterministicFailureOnEveryRankIsNotRetried(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        // every rank hits the bug at step 2; Spark may kill one rank before it reports, so the policy stops either at
        // once (every rank reported the same failure) or when the next attempt fails the same way: never all four
        assertThatThrownBy(() -> trainer(dir, 2, 1, new DistributedTrainer.Fault(0, 2, DistributedTrainer.Fault.Kind.BUG), 4, Duration.ofSeconds(10)).fit(sc))
                .isInstanceOf(IOException.class).hasMessageContaining("failed the same way").hasMessageContaining("at step 2")
                .hasMessageContaining("injected bug").hasMessageContaining("not retried").hasMessageNotContaining("attempt 3");
        assertThat((System.nanoTime() - t0) / 1e9).as("at most two attempts, not four").isLessThan(40);
    }

    /** Issue 18: a half-written failure file made the driver throw StringIndexOutOfBoundsException; it is now skipped. */
    @Test
    void malformedFailureFilesAreSkipped(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(".failure-rank-0"), "12345"); // what a reader saw while a worker was still writing
        Files.writeString(dir.resolve(".failure-rank-1"), "x|y|z|io|rank 1: half");
        DistributedTrainer.Result r = trainer(dir, 2, 1, new DistributedTrainer.Fault(1, 2, DistributedTrainer.Fault.Kind.THROW), 2,
                Duration.ofSeconds(10)).fit(sc);
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.log().get(0)).contains("injected fault").doesNotContain("half");
    }

    @Test
    void withoutRetriesLeftTheJobFailsWithTheCause(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> trainer(dir, 2, 1, new DistributedTrainer.Fault(1, 1, DistributedTrainer.Fault.Kind.THROW), 1, Duration.ofSeconds(10)).fit(sc))
                .isInstanceOf(IOException.class).hasMessageContaining("failed after 1 attempt").hasMessageContaining("injected fault");
    }

    @Test
    void checkpointsAreAtomicAndDamagedOnesAreSkipped(@TempDir Path dir) throws Exception {
        Lanes.manualSeed(1);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.1, 0.9);
        try (MemoryScope s = MemoryScope.open()) {
            net.forward(Tensor.randn(2, 1, 32, 32)).sum().backward();
            opt.step();
        }
        Path first = Checkpoint.write(dir, 4, net, opt, 3);
        Path second = Checkpoint.write(dir, 8, net, opt, 3);
        // a crash while writing leaves only a temporary file; a damaged final file is skipped
        Files.write(dir.resolve(".step-12.safetensors.tmp"), new byte[] {1, 2, 3});
        byte[] good = Files.readAllBytes(second);
        Files.write(second, java.util.Arrays.copyOf(good, good.length / 2));
        LeNet other = new LeNet();
        SGD otherOpt = new SGD(other.parameters(), 0.1, 0.9);
        List<String> warnings = new java.util.ArrayList<>();
        assertThat(Checkpoint.restoreLatest(dir, other, otherOpt, warnings::add)).isEqualTo(4);
        assertThat(warnings.stream().filter(w -> w.startsWith("skipping"))).singleElement().asString().contains("step-8.safetensors");
        assertThat(warnings).anyMatch(w -> w.startsWith("moved") && w.contains("step-8.safetensors.unrestorable"));
        for (int i = 0; i < net.parameters().size(); i++) {
            assertThat(other.parameters().get(i).toFloatArray()).isEqualTo(net.parameters().get(i).toFloatArray());
        }
        assertThat(otherOpt.stateDict().toString()).isEqualTo(opt.stateDict().toString().replace("", ""));
        assertThat(first).exists();
        // the damaged newer one is moved aside (it outranked every new checkpoint, which pruning then deleted)
        assertThat(second).doesNotExist();
        assertThat(dir.resolve("step-8.safetensors.unrestorable")).exists();
        Checkpoint.write(dir, 5, other, otherOpt, 1);
        assertThat(Checkpoint.list(dir)).extracting(p -> p.getFileName().toString()).containsExactly("step-5.safetensors");
        // only unrestorable checkpoints: refused, not a silent start from step 0 beside them
        Files.write(dir.resolve("step-5.safetensors"), new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Checkpoint.restoreLatest(dir, other, otherOpt, warnings::add)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("none of the 1 checkpoints");
    }

    /** Adam's options (betas, a double[]) and step counts survive a checkpoint; an optimizer of another group layout is refused. */
    @Test
    void adamCheckpointsRestoreAndOtherLayoutsAreRefused(@TempDir Path dir) throws Exception {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        dev.lanes.optim.Adam opt = new dev.lanes.optim.Adam(net.parameters(), 0.01);
        for (int i = 0; i < 2; i++) {
            try (MemoryScope s = MemoryScope.open()) {
                opt.zeroGrad();
                net.forward(Tensor.randn(2, 1, 32, 32)).sum().backward();
                opt.step();
            }
        }
        Checkpoint.write(dir, 7, net, opt, 3);
        LeNet other = new LeNet();
        dev.lanes.optim.Adam otherOpt = new dev.lanes.optim.Adam(other.parameters(), 0.5);
        List<String> warnings = new java.util.ArrayList<>();
        assertThat(Checkpoint.restoreLatest(dir, other, otherOpt, warnings::add)).isEqualTo(7);
        assertThat(warnings).isEmpty();
        assertThat((double[]) otherOpt.paramGroups().get(0).options().get("betas")).containsExactly(0.9, 0.999);
        assertThat((Double) otherOpt.paramGroups().get(0).options().get("lr")).isEqualTo(0.01);
        for (int i = 0; i < net.parameters().size(); i++) {
            assertThat(other.parameters().get(i).toFloatArray()).isEqualTo(net.parameters().get(i).toFloatArray());
        }
        LeNet third = new LeNet();
        List<Tensor> ps = third.parameters();
        dev.lanes.optim.Adam twoGroups = new dev.lanes.optim.Adam(ps.subList(0, 2), 0.01);
        twoGroups.addParamGroup(ps.subList(2, ps.size()), java.util.Map.of());
        assertThatThrownBy(() -> Checkpoint.restore(dir.resolve("step-7.safetensors"), third, twoGroups)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter groups");
    }

    /**
     * Files planted in the checkpoint folder by someone without the key cannot stop a restore: a step of 20 digits
     * (Long.parseLong threw in every listing, so every restore and write failed), a FIFO named like a checkpoint
     * (open() waited for a writer for good), a sparse 3 GB MAC file (readString threw OutOfMemoryError past every catch).
     */
    @Test
    void plantedFilesCannotStopARestore(@TempDir Path dir) throws Exception {
        Lanes.manualSeed(1);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.1, 0.9);
        byte[] key = RingAllReduce.Credentials.random().checkpointKey();
        Checkpoint.write(dir, 4, net, opt, 3, key);
        Files.write(dir.resolve("step-99999999999999999999.safetensors"), new byte[] {1, 2, 3});
        boolean fifo;
        try {
            fifo = new ProcessBuilder("mkfifo", dir.resolve("step-12.safetensors").toString()).start().waitFor() == 0;
        } catch (java.io.IOException e) {
            fifo = false; // no mkfifo here: the other two cases still run
        }
        Checkpoint.write(dir, 11, net, opt, 5, key);
        try (java.io.RandomAccessFile mac = new java.io.RandomAccessFile(dir.resolve("step-11.safetensors.mac").toFile(), "rw")) {
            mac.setLength(3L << 30); // sparse: no disk used
        }
        LeNet fresh = new LeNet();
        SGD freshOpt = new SGD(fresh.parameters(), 0.1, 0.9);
        List<String> warnings = new java.util.ArrayList<>();
        java.util.concurrent.Future<Long> restored = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Checkpoint.restoreLatest(dir, fresh, freshOpt, warnings::add, key);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertThat(restored.get(60, java.util.concurrent.TimeUnit.SECONDS)).as("with a FIFO: %s", fifo).isEqualTo(4);
        assertThat(String.join("\n", warnings)).contains("step-11.safetensors").contains("over 128 bytes");
        assertThat(Checkpoint.list(dir)).extracting(p -> p.getFileName().toString()).containsExactly("step-4.safetensors");
    }

    /**
     * A checkpoint that one of its checks refuses changes nothing: a step that is not a number (it was parsed after the
     * model and the optimizer had both loaded), state for a parameter the optimizer does not have (the model had
     * loaded), a NaN learning rate (taken: training went silently to NaN).
     */
    @Test
    void aRefusedCheckpointChangesNothing(@TempDir Path dir) throws Exception {
        Lanes.manualSeed(1);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.1, 0.9);
        net.forward(dev.lanes.Tensor.randn(2, 1, 32, 32)).sum().backward();
        opt.step();
        Path good = Checkpoint.write(dir, 3, net, opt, 3);
        dev.lanes.io.SafeTensors.Contents c = dev.lanes.io.SafeTensors.read(good);
        java.util.List<java.util.function.Consumer<java.util.Map<String, String>>> spoilers = java.util.List.of(
                m -> m.put("lanes.step", "x"), m -> m.put("lanes.group.0.lr", "NaN"), m -> m.put("lanes.optim.99.step", "1"));
        int k = 0;
        for (var spoil : spoilers) {
            java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(c.metadata());
            spoil.accept(meta);
            Path bad = dir.resolve("bad-" + k++ + ".safetensors");
            dev.lanes.io.SafeTensors.save(c.tensors(), meta, bad);
            Lanes.manualSeed(2);
            LeNet other = new LeNet();
            SGD otherOpt = new SGD(other.parameters(), 0.5, 0.9);
            java.util.List<float[]> before = other.parameters().stream().map(dev.lanes.Tensor::toFloatArray).toList();
            assertThatThrownBy(() -> Checkpoint.restore(bad, other, otherOpt)).as("%s", meta).isInstanceOf(IllegalArgumentException.class);
            for (int i = 0; i < before.size(); i++) {
                assertThat(other.parameters().get(i).toFloatArray()).as("parameter %d after %s", i, bad).isEqualTo(before.get(i));
            }
            assertThat(otherOpt.paramGroups().get(0).lr()).isEqualTo(0.5);
            assertThat(otherOpt.stateDict().get("state").toString()).isEqualTo("{}");
        }
    }

    /** Issue 18: a checkpoint planted in the folder (no MAC, or a MAC of another key) is skipped, never resumed from. */
    @Test
    void plantedCheckpointsAreSkipped(@TempDir Path dir) throws Exception {
        Lanes.manualSeed(1);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.1, 0.9);
        byte[] key = RingAllReduce.Credentials.random().checkpointKey();
        Checkpoint.write(dir, 4, net, opt, 3, key);
        // an attacker's newer checkpoints: one without a MAC, one with a MAC of another key, one tampered after its MAC
        Lanes.manualSeed(2);
        LeNet evil = new LeNet();
        SGD evilOpt = new SGD(evil.parameters(), 0.1, 0.9);
        Checkpoint.write(dir, 8, evil, evilOpt, 5);
        Checkpoint.write(dir, 9, evil, evilOpt, 5, RingAllReduce.Credentials.random().checkpointKey());
        Path tampered = Checkpoint.write(dir, 10, net, opt, 5, key);
        byte[] b = Files.readAllBytes(tampered);
        b[b.length - 1] ^= 1;
        Files.write(tampered, b);
        LeNet fresh = new LeNet();
        SGD freshOpt = new SGD(fresh.parameters(), 0.1, 0.9);
        List<String> warnings = new java.util.ArrayList<>();
        assertThat(Checkpoint.restoreLatest(dir, fresh, freshOpt, warnings::add, key)).isEqualTo(4);
        assertThat(warnings.stream().filter(w -> w.startsWith("skipping"))).hasSize(3);
        assertThat(Checkpoint.list(dir)).extracting(p -> p.getFileName().toString()).containsExactly("step-4.safetensors"); // the planted ones moved aside
        assertThat(String.join("\n", warnings)).contains("step-8.safetensors").contains("no MAC")
                .contains("step-9.safetensors").contains("step-10.safetensors").contains("does not match");
        for (int i = 0; i < net.parameters().size(); i++) {
            assertThat(fresh.parameters().get(i).toFloatArray()).isEqualTo(net.parameters().get(i).toFloatArray());
        }
    }
}
