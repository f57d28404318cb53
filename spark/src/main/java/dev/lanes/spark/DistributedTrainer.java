package dev.lanes.spark;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.data.Dataset;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Module;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.Optimizer;
import dev.lanes.train.TrainStep;
import java.io.IOException;
import java.io.Serializable;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.Function1;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Synchronous data-parallel training (PyTorch's DistributedDataParallel pattern) as one Spark barrier stage:
 * <pre>{@code
 * DistributedTrainer.Result r = new DistributedTrainer(LeNet::new, params -> new SGD(params, 0.01, 0.9),
 *         () -> FashionMNIST.load(dir, true, transform, false), config).fit(sparkContext);
 * }</pre>
 * One task per worker. The tasks publish the address of a socket they listen on with
 * {@code BarrierTaskContext.allGather}, connect into a ring, and each builds the model (rank 0's initial weights
 * are then copied to all) and loads the data set. Every step, each rank runs forward and backward on its slice of
 * the global batch ({@link DistributedSampler}) with a summed loss, the flattened gradients are summed by a
 * {@link RingAllReduce} over plain TCP and scaled by 1 / global batch (so they are the gradient of the global batch's
 * mean loss, as one process would compute it, to float rounding), and every replica takes the same optimizer step: the
 * replicas stay bit-identical, which the driver checks at the end. Spark schedules the tasks and detects failures;
 * Lanes does the math and the all-reduce.
 *
 * <p>With {@link Config#compile} (the default) each rank's forward, loss and backward run as a compiled
 * {@link TrainStep} ({@link TrainStep#gradients}: gradients of the summed loss, no optimizer step); the 1 / global
 * batch scale stays outside the plan, so one capture serves every step of a shape although the global batch of the
 * epoch's last step differs. A model the plan cannot replay falls back to the eager step with a message; rank 0
 * prints which step it starts with.
 *
 * <p>Rank 0 writes a {@link Checkpoint} every {@code checkpointEvery} steps and at the end. Any failure (a worker
 * that throws, dies, or stops answering: the others give up after the socket timeout) fails the barrier stage;
 * {@link #fit} then starts a new stage, which resumes from the newest checkpoint, up to {@code maxAttempts} stages
 * in all. A resumed run continues exactly where the checkpoint left it (same data order, same optimizer state).
 */
public final class DistributedTrainer implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Builds the model on each worker. */
    public interface ModelFactory extends Serializable {
        Module create();
    }

    /** Builds the optimizer over the model's parameters on each worker. */
    public interface OptimizerFactory extends Serializable {
        Optimizer create(List<Tensor> parameters);
    }

    /** Loads the training set on each worker (in a cluster, from storage every worker can read). */
    public interface DataFactory extends Serializable {
        Dataset load() throws IOException;
    }

    /**
     * Settings. {@code globalBatch} is the batch of one step summed over workers; {@code threadsPerWorker} the Lanes
     * threads of each task; {@code timeout} bounds every connection and all-reduce wait.
     */
    public record Config(int workers, int epochs, int globalBatch, long seed, int threadsPerWorker, String checkpointFolder, int checkpointEvery,
                         int maxAttempts, Duration timeout, Fault fault, boolean compile) implements Serializable {
        public Config {
            if (workers < 1 || epochs < 1 || globalBatch < 1 || threadsPerWorker < 1 || checkpointEvery < 1 || maxAttempts < 1) {
                throw new IllegalArgumentException("workers, epochs, global batch, threads, checkpoint interval and attempts must be positive");
            }
        }

        /** Settings with the compiled step ({@code compile} true: each rank's forward and backward run as a {@link TrainStep} plan). */
        public Config(int workers, int epochs, int globalBatch, long seed, int threadsPerWorker, String checkpointFolder, int checkpointEvery,
                      int maxAttempts, Duration timeout, Fault fault) {
            this(workers, epochs, globalBatch, seed, threadsPerWorker, checkpointFolder, checkpointEvery, maxAttempts, timeout, fault, true);
        }

        /** The checkpoint folder (kept as a String: {@link Path} is not serializable, and the config travels to the tasks). */
        public Path checkpointDir() {
            return Path.of(checkpointFolder);
        }
    }

    /**
     * A failure to inject, for tests and demonstrations: when the task of {@code rank} reaches {@code step} it
     * throws ({@link Kind#THROW}), stops answering ({@link Kind#HANG}), or kills its whole JVM ({@link Kind#EXIT}:
     * an executor dying, for {@code local-cluster} or real clusters), once: a marker file in the checkpoint folder
     * remembers that it fired.
     */
    public record Fault(int rank, long step, Kind kind) implements Serializable {
        /** {@link #BUG}: every rank throws at {@code step} on every attempt (its rank is ignored), as a bug in the model would. */
        public enum Kind { THROW, HANG, EXIT, BUG }
    }

    /** One rank's failure as it left it in the checkpoint folder. */
    private record Failure(long nanos, int rank, long step, boolean io, String message) {
        /** The message without rank numbers: what must match on every rank for a failure to count as deterministic. */
        String normalized() {
            return message.replaceAll("rank \\d+", "rank N");
        }
    }

    /** The step this task was at (for its failure report); each task has its own deserialized trainer. */
    private transient volatile long currentStep = -1;

    /** What one task reports back; {@code compiled}: whether its last step ran the compiled plan. */
    public record WorkerReport(int rank, long steps, long parameterHash, double[] epochLoss, double[] epochAccuracy, long trainNanos,
                               long allReduceNanos, long samples, long resumedFrom, boolean compiled) implements Serializable {
    }

    /** The outcome: the final checkpoint, what each stage attempt did, and rank 0's figures. */
    public record Result(Path finalCheckpoint, long steps, int attempts, List<String> log, WorkerReport rank0, double imagesPerSecond) {
    }

    private final ModelFactory model;
    private final OptimizerFactory optimizer;
    private final DataFactory data;
    private final Config config;

    public DistributedTrainer(ModelFactory model, OptimizerFactory optimizer, DataFactory data, Config config) {
        this.model = model;
        this.optimizer = optimizer;
        this.data = data;
        this.config = config;
    }

    /** Trains; each failed stage is retried from the newest checkpoint until {@code maxAttempts} stages have run. */
    public Result fit(JavaSparkContext sc) throws IOException {
        return fit(sc, line -> { });
    }

    public Result fit(JavaSparkContext sc, Consumer<String> progress) throws IOException {
        List<String> log = new ArrayList<>();
        Exception last = null;
        collectFailures(); // reasons left by an earlier run in this folder are not this run's
        // one secret per job, made here on the driver and shipped with the task closure: ring peers prove it
        RingAllReduce.Credentials credentials = RingAllReduce.Credentials.random();
        String previousSignature = null;
        for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
            try {
                List<WorkerReport> reports = runStage(sc, credentials);
                long hash = reports.get(0).parameterHash();
                for (WorkerReport r : reports) {
                    if (r.parameterHash() != hash || r.steps() != reports.get(0).steps()) {
                        throw new IllegalStateException("replicas diverged: rank " + r.rank() + " has parameter hash " + Long.toHexString(r.parameterHash())
                                + " after " + r.steps() + " steps, rank 0 " + Long.toHexString(hash));
                    }
                }
                WorkerReport r0 = reports.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
                String done = "attempt " + attempt + ": trained steps " + r0.resumedFrom() + ".." + r0.steps() + " on " + reports.size() + " workers";
                log.add(done);
                progress.accept(done);
                List<Path> ck = Checkpoint.list(config.checkpointDir());
                double rate = r0.samples() / Math.max(1e-9, r0.trainNanos() / 1e9);
                return new Result(ck.isEmpty() ? null : ck.get(0), r0.steps(), attempt, log, r0, rate);
            } catch (IllegalStateException e) {
                throw e;
            } catch (Exception e) {
                last = e;
                List<Path> ck = Checkpoint.list(config.checkpointDir());
                List<Failure> failures = collectFailures();
                String reasons = String.join("; ", failures.stream().map(f -> f.message()).toList());
                String signature = signature(failures);
                boolean repeated = signature != null && signature.equals(previousSignature);
                previousSignature = signature;
                if (deterministic(failures) || repeated) {
                    String msg = "attempt " + attempt + " failed the same way " + (repeated ? "as the attempt before" : "on every rank")
                            + " at step " + failures.get(0).step() + " (" + failures.get(0).message() + "): a deterministic error, not retried";
                    log.add(msg);
                    progress.accept(msg);
                    throw new IOException("distributed training failed: " + String.join("; ", log), e);
                }
                String msg = "attempt " + attempt + " failed: " + (reasons.isEmpty() ? rootMessage(e) : reasons) + (attempt < config.maxAttempts()
                        ? "; retrying from " + (ck.isEmpty() ? "the start" : ck.get(0).getFileName()) : "");
                log.add(msg);
                progress.accept(msg);
            }
        }
        throw new IOException("distributed training failed after " + config.maxAttempts() + " attempt(s): " + String.join("; ", log), last);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        String best = String.valueOf(e.getMessage());
        while (t != null) {
            if (t.getMessage() != null && (t.getMessage().startsWith("rank ") || t.getMessage().startsWith("injected"))) {
                best = t.getMessage();
            }
            t = t.getCause();
        }
        int nl = best.indexOf('\n');
        return nl > 0 ? best.substring(0, nl) : best;
    }

    private List<WorkerReport> runStage(JavaSparkContext sc, RingAllReduce.Credentials credentials) {
        List<Integer> ranks = IntStream.range(0, config.workers()).boxed().toList();
        RDD<Integer> seeds = sc.parallelize(ranks, config.workers()).rdd();
        ClassTag<WorkerReport> tag = ClassTag$.MODULE$.apply(WorkerReport.class);
        DistributedTrainer self = this;
        Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<WorkerReport>> task =
                (Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<WorkerReport>> & Serializable)
                        it -> CollectionConverters.asScala(self.work(credentials).iterator());
        return seeds.barrier().mapPartitions(task, false, tag).toJavaRDD().collect();
    }

    /** One worker's whole run, inside a barrier task. */
    private List<WorkerReport> work(RingAllReduce.Credentials credentials) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId();
        BarrierTaskInfo[] infos = ctx.getTaskInfos();
        int world = infos.length;
        String host = hostOf(infos[rank].address());
        try {
            ServerSocketChannel listener = RingAllReduce.listen(host);
            List<String> addresses;
            try {
                String me = host + ":" + ((java.net.InetSocketAddress) listener.getLocalAddress()).getPort();
                addresses = Arrays.asList(ctx.allGather(me));
            } catch (IOException | RuntimeException | Error e) {
                listener.close(); // the stage failed before the ring formed: the port stayed bound for the executor's life
                throw e;
            }
            try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, listener, config.timeout(), credentials)) {
                // Spark kills the other tasks of a failed barrier stage by flag, not by interrupt: poll it
                ring.setCancelCheck(ctx::isInterrupted);
                return List.of(train(ring, credentials.checkpointKey()));
            }
        } catch (IOException e) {
            reportFailure(rank, e);
            throw new java.io.UncheckedIOException("rank " + rank + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            reportFailure(rank, e);
            throw e;
        }
    }

    /**
     * Spark's barrier-stage failure does not carry the task's exception to the driver: each failing rank leaves
     * its reason in the checkpoint folder (shared by all workers anyway), where {@link #fit} reads it.
     */
    private void reportFailure(int rank, Throwable e) {
        try {
            Files.createDirectories(config.checkpointDir());
            boolean io = false;
            for (Throwable t = e; t != null; t = t.getCause()) {
                io |= t instanceof IOException || t instanceof java.io.UncheckedIOException;
            }
            String message = (e.getMessage() == null ? e.toString() : e.getMessage()).replace('\n', ' ');
            String line = System.nanoTime() + "|" + rank + "|" + currentStep + "|" + (io ? "io" : "error") + "|rank " + rank + ": " + message;
            // written whole, then renamed: the driver never reads half a line
            Path tmp = config.checkpointDir().resolve(".failure-rank-" + rank + ".tmp");
            Files.writeString(tmp, line);
            Files.move(tmp, config.checkpointDir().resolve(".failure-rank-" + rank), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ignored) {
            // best effort: the stage fails anyway
        }
    }

    /** The failures ranks left since the last call (the first to fail first), deleting them; unreadable files are skipped. */
    private List<Failure> collectFailures() throws IOException {
        List<Failure> out = new ArrayList<>();
        Path dir = config.checkpointDir();
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                for (Path p : s.filter(f -> f.getFileName().toString().matches("\\.failure-rank-\\d+")).toList()) {
                    Failure f = parseFailure(Files.readString(p));
                    if (f != null) {
                        out.add(f);
                    }
                    Files.deleteIfExists(p);
                }
            }
        }
        out.sort(java.util.Comparator.comparingLong(Failure::nanos));
        return out;
    }

    private static Failure parseFailure(String line) {
        String[] f = line.split("\\|", 5);
        if (f.length != 5) {
            return null;
        }
        try {
            return new Failure(Long.parseLong(f[0]), Integer.parseInt(f[1]), Long.parseLong(f[2]), f[3].equals("io"), f[4]);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The step and rank-free message of the first non-I/O failure of an attempt, or null: when the next attempt fails
     * with the same signature (Spark may kill the other ranks before they report), it is deterministic too.
     */
    private static String signature(List<Failure> failures) {
        return failures.stream().filter(f -> !f.io() && f.step() >= 0).findFirst().map(f -> f.step() + "|" + f.normalized()).orElse(null);
    }

    /**
     * A failure that every rank reports at the same step with the same message, and not an I/O failure (a lost worker,
     * a timeout, a dead peer), is a bug in the model or the data: retrying from a checkpoint would fail again.
     */
    private boolean deterministic(List<Failure> failures) {
        if (failures.size() < config.workers() || failures.isEmpty()) {
            return false;
        }
        Failure first = failures.get(0);
        return first.step() >= 0 && failures.stream().allMatch(f -> !f.io() && f.step() == first.step()
                && f.normalized().equals(first.normalized()))
                && failures.stream().map(Failure::rank).distinct().count() == config.workers();
    }

    private static String hostOf(String address) {
        if (address == null || address.isEmpty()) {
            return "127.0.0.1";
        }
        int colon = address.lastIndexOf(':');
        String h = colon > 0 ? address.substring(0, colon) : address;
        return h.equals("localhost") ? "127.0.0.1" : h;
    }

    /**
     * The training loop of one rank, given its place in the ring; checkpoints carry a MAC made with
     * {@code checkpointKey} (the job's), and only checkpoints it verifies are resumed from: one planted in the folder by
     * someone without the key, or left by another job, is skipped with a logged reason.
     */
    WorkerReport train(RingAllReduce ring, byte[] checkpointKey) throws IOException {
        int rank = ring.rank();
        int world = ring.world();
        Lanes.setNumThreads(config.threadsPerWorker());
        Module net;
        // the generator is one per JVM and tasks may share a JVM (local mode, several slots per executor):
        // seed and build under a lock so each replica gets the same initial weights whatever the interleaving
        synchronized (DistributedTrainer.class) {
            Lanes.manualSeed(config.seed());
            net = model.create();
        }
        List<Tensor> params = net.parameters();
        Optimizer opt = optimizer.create(params);
        Dataset ds = data.load();
        long resumed = Checkpoint.restoreLatest(config.checkpointDir(), net, opt, msg -> System.err.println("rank " + rank + ": " + msg), checkpointKey);
        long count = 2; // the parameters, then the loss and the accuracy count
        for (Tensor p : params) {
            count += p.numel();
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("rank " + rank + ": the model's " + (count - 2) + " parameters do not fit one all-reduce buffer (2^31 floats)");
        }
        int numel = (int) count - 2;
        float[] flat = new float[numel + 2];
        // every replica starts from rank 0's weights, whatever the model factory does
        if (rank == 0) {
            flatten(params, flat, false);
        }
        ring.allReduceSum(flat);
        unflatten(flat, params, false);

        DistributedSampler sampler = new DistributedSampler(ds.size(), config.globalBatch(), world, config.seed(), true);
        int perEpoch = sampler.batchesPerEpoch();
        long total = (long) config.epochs() * perEpoch;
        int[] inShape = ds.inputShape();
        int sampleFloats = Arrays.stream(inShape).reduce(1, (a, b) -> a * b);
        float[] images = new float[((config.globalBatch() + world - 1) / world) * sampleFloats]; // reused by every step
        double[] epochLoss = new double[config.epochs()];
        double[] epochCorrect = new double[config.epochs()];
        long trainNanos = 0;
        long reduceNanos = 0;
        long samples = 0;
        int[] perm = null;
        int permEpoch = -1;
        long step = resumed;
        net.train();
        TrainStep compiled = config.compile() ? TrainStep.compile(net, new CrossEntropyLoss(null, F.IGNORE_INDEX, 0, "sum"), opt) : null;
        if (rank == 0) {
            System.out.println("training step: " + (compiled != null ? "compiled (TrainStep)" : "eager"));
        }
        boolean ranCompiled;
        try {
            while (step < total) {
                long t0 = System.nanoTime();
                int epoch = (int) (step / perEpoch);
                int batch = (int) (step % perEpoch);
                if (epoch != permEpoch) {
                    perm = sampler.permutation(epoch);
                    permEpoch = epoch;
                }
                currentStep = step;
                injectFault(rank, step);
                int[] idx = sampler.indices(perm, batch, rank);
                int globalSize = sampler.globalBatchSize(batch);
                if (compiled == null) {
                    opt.zeroGrad(); // the compiled step hands its own gradients to the parameters on each run
                }
                float lossSum = 0;
                long correct = 0;
                try (MemoryScope s = MemoryScope.open()) {
                    if (idx.length > 0) {
                        long[] y = new long[idx.length];
                        for (int i = 0; i < idx.length; i++) {
                            y[i] = ds.fill(idx[i], images, i * sampleFloats);
                        }
                        int[] shape = new int[inShape.length + 1];
                        shape[0] = idx.length;
                        System.arraycopy(inShape, 0, shape, 1, inShape.length);
                        Tensor x = Tensor.empty(shape).copyFrom(images, 0);
                        Tensor labels = Tensor.of(y, idx.length);
                        Tensor logits = null;
                        if (compiled != null) {
                            try {
                                lossSum = compiled.gradients(x, labels);
                                logits = compiled.output();
                            } catch (UnsupportedOperationException e) {
                                // refused at capture (before any gradient was handed out): the eager step from here on
                                compiled.close();
                                compiled = null;
                                System.err.println("rank " + rank + ": the compiled step is not available for this model (" + e.getMessage()
                                        + "); training eagerly");
                            }
                        }
                        if (logits == null) {
                            logits = net.forward(x);
                            Tensor loss = F.crossEntropy(logits, labels, null, F.IGNORE_INDEX, 0, "sum");
                            loss.backward();
                            lossSum = loss.item();
                        }
                        long[] predicted = logits.argmax(1).toLongArray();
                        for (int i = 0; i < y.length; i++) {
                            correct += predicted[i] == y[i] ? 1 : 0;
                        }
                        flatten(params, flat, true);
                    } else {
                        Arrays.fill(flat, 0, numel, 0f); // no samples on this rank this step: it adds nothing
                    }
                }
                flat[numel] = lossSum;
                flat[numel + 1] = correct;
                long r0 = System.nanoTime();
                ring.allReduceSum(flat);
                reduceNanos += System.nanoTime() - r0;
                // every rank's gradients are of its summed loss: scaled once, after the sum, to the global batch's mean
                // (outside the compiled plan, whose one capture then serves steps of any global batch size)
                float scale = (float) (1.0 / globalSize);
                for (int i = 0; i < numel; i++) {
                    flat[i] *= scale;
                }
                checkFinite(flat, numel + 2, step);
                unflatten(flat, params, true);
                opt.step();
                epochLoss[epoch] += flat[numel];
                epochCorrect[epoch] += flat[numel + 1];
                samples += globalSize;
                step++;
                trainNanos += System.nanoTime() - t0;
                if (rank == 0 && (step % config.checkpointEvery() == 0 || step == total)) {
                    Checkpoint.write(config.checkpointDir(), step, net, opt, 2, checkpointKey);
                }
                if (rank == 0 && step % perEpoch == 0) {
                    System.out.printf(java.util.Locale.ROOT, "epoch %d/%d: train loss %.4f accuracy %.4f (%d workers, %.0f images/s)%n", epoch + 1,
                            config.epochs(), epochLoss[epoch] / ds.size(), epochCorrect[epoch] / ds.size(), world, samples / (trainNanos / 1e9));
                }
            }
            ranCompiled = compiled != null;
        } finally {
            if (compiled != null) {
                compiled.close(); // the plans' arenas are freed here (also when a step fails), not by the GC
            }
        }
        double[] loss = new double[config.epochs()];
        double[] acc = new double[config.epochs()];
        for (int e = 0; e < config.epochs(); e++) {
            loss[e] = epochLoss[e] / ds.size();
            acc[e] = epochCorrect[e] / ds.size();
        }
        return new WorkerReport(rank, step, hash(params), loss, acc, trainNanos, reduceNanos, samples, resumed, ranCompiled);
    }

    private void injectFault(int rank, long step) throws IOException {
        Fault f = config.fault();
        if (f != null && f.kind() == Fault.Kind.BUG && f.step() == step) {
            throw new IllegalArgumentException("injected bug: shapes [64, 10] and [64, 11] do not match at step " + step);
        }
        if (f == null || f.rank() != rank || f.step() != step) {
            return;
        }
        Path marker = config.checkpointDir().resolve(".fault-fired");
        Files.createDirectories(config.checkpointDir());
        try {
            Files.createFile(marker);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return;
        }
        if (f.kind() == Fault.Kind.EXIT) {
            Runtime.getRuntime().halt(137); // as if the OOM killer took the executor
        }
        if (f.kind() == Fault.Kind.HANG) {
            // stops answering its peers, as a stuck worker would, but still notices Spark killing the task
            BarrierTaskContext ctx = BarrierTaskContext.get();
            while (!ctx.isInterrupted() && !Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            throw new IOException("injected hang of rank " + rank + " at step " + step + " ended: the task was killed");
        }
        throw new IllegalStateException("injected fault: rank " + rank + " died at step " + step);
    }

    /** Gradients (or, for {@code grads == false}, the parameters) into {@code flat}; a missing gradient is zeros. */
    static void flatten(List<Tensor> params, float[] flat, boolean grads) {
        int at = 0;
        for (Tensor p : params) {
            Tensor t = grads ? p.grad() : p;
            if (t == null) {
                Arrays.fill(flat, at, at + p.numel(), 0f);
            } else {
                t.copyTo(flat, at);
            }
            at += p.numel();
        }
    }

    /**
     * The summed gradients, loss and accuracy count of a step must be finite before any replica applies them: a NaN or an
     * infinity from one rank (a diverging batch, or a bad peer) spread through the sum to every replica, which all stayed
     * bit-identical, so the driver's check passed and fit() returned a NaN model with a valid checkpoint. Every rank
     * sees the same sum and stops at the same step.
     */
    static void checkFinite(float[] flat, int n, long step) {
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(flat[i])) {
                throw new IllegalStateException("step " + step + ": the all-reduced " + (i < n - 2 ? "gradient element " + i : i == n - 2 ? "loss" : "accuracy count")
                        + " is " + flat[i] + " (a rank diverged or a peer sent non-finite values); nothing was applied");
            }
        }
    }

    /**
     * {@code flat} back into the gradients (created where missing) or the parameters, in place without allocating;
     * outside the graph (a parameter is a leaf that requires grad: copyFrom into it is refused in grad mode, as PyTorch's
     * copy_ is).
     */
    static void unflatten(float[] flat, List<Tensor> params, boolean grads) {
        try (dev.lanes.autograd.Autograd.Mode g = dev.lanes.autograd.Autograd.noGrad()) {
            unflattenNoGrad(flat, params, grads);
        }
    }

    private static void unflattenNoGrad(float[] flat, List<Tensor> params, boolean grads) {
        int at = 0;
        for (Tensor p : params) {
            if (!grads) {
                p.copyFrom(flat, at);
            } else {
                if (p.grad() == null) {
                    try (MemoryScope u = MemoryScope.unscoped()) {
                        p.setGrad(Tensor.zeros(p.shape()));
                    }
                }
                p.grad().copyFrom(flat, at);
            }
            at += p.numel();
        }
    }

    /** A hash of the parameters' bits: equal on every replica when they are bit-identical. */
    static long hash(List<Tensor> params) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        for (Tensor p : params) {
            for (float v : p.toFloatArray()) {
                int b = Float.floatToRawIntBits(v);
                crc.update(b);
                crc.update(b >>> 8);
                crc.update(b >>> 16);
                crc.update(b >>> 24);
            }
        }
        return crc.getValue();
    }
}
