package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.data.DataLoader;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.optim.Adam;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.RMSprop;
import dev.lanes.optim.SGD;
import dev.lanes.spark.Checkpoint;
import dev.lanes.spark.DistributedTrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@link TrainLeNet} on Apache Spark: the same flags ({@code --epochs}, {@code --batch-size} now meaning the
 * global batch over all workers, {@code --lr}, {@code --momentum}, {@code --optimizer}, {@code --seed},
 * {@code --data}, {@code --dataset}, {@code --save}, {@code --eager} / {@code --compile}: each worker's step eager or
 * compiled, the default; {@code --threads} is per worker) plus
 * <pre>
 *   --master URL            Spark master (default local[2])
 *   --workers N             barrier tasks (default: the N of local[N], else 2)
 *   --checkpoint-dir DIR    where rank 0 writes checkpoints and a restarted run resumes (default target/lanes-checkpoints)
 *   --checkpoint-every N    steps between checkpoints (default 100)
 *   --max-attempts N        barrier stages to try before giving up (default 3)
 *   --timeout-s S           socket timeout between workers (default 60)
 * </pre>
 * Run from the repository root: {@code ./mvnw -q install -DskipTests && ./mvnw -q -f spark/pom.xml compile exec:exec
 * -Dlanes.args="--epochs 2"}.
 */
public final class DistributedTrainLeNet {
    private DistributedTrainLeNet() {
    }

    /** The cluster flags of the command line; the rest goes to TrainLeNet's parser. */
    record ClusterFlags(String master, int workers, Path checkpoints, int every, int attempts, int timeout, List<String> rest) {
    }

    /** Parses and checks the cluster flags: every bad value is one UsageException naming the flag. */
    static ClusterFlags parseClusterFlags(String[] args) throws TrainLeNet.UsageException {
        String master = "local[2]";
        Integer workers = null;
        Path checkpoints = Path.of("target", "lanes-checkpoints");
        int every = 100;
        int attempts = 3;
        int timeout = 60;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean ours = switch (a) {
                case "--master", "--workers", "--checkpoint-dir", "--checkpoint-every", "--max-attempts", "--timeout-s" -> true;
                default -> false;
            };
            if (!ours) {
                rest.add(a);
                continue;
            }
            if (i + 1 >= args.length) {
                throw new TrainLeNet.UsageException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--master" -> master = v;
                case "--workers" -> workers = positive(a, v);
                case "--checkpoint-dir" -> checkpoints = Path.of(v);
                case "--checkpoint-every" -> every = positive(a, v);
                case "--max-attempts" -> attempts = positive(a, v);
                default -> timeout = positive(a, v);
            }
        }
        if (workers == null) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\d+)]").matcher(master);
            workers = m.matches() ? Math.max(1, Integer.parseInt(m.group(1))) : 2;
        }
        return new ClusterFlags(master, workers, checkpoints, every, attempts, timeout, rest);
    }

    private static int positive(String flag, String value) throws TrainLeNet.UsageException {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < 1) {
                throw new TrainLeNet.UsageException(flag + " must be at least 1, got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new TrainLeNet.UsageException(flag + " needs a whole number, got '" + value + "'");
        }
    }

    /** TrainLeNet's flags, less those this trainer cannot honour (refused by name rather than ignored). */
    static TrainLeNet.Options parseTrainingFlags(String[] trainArgs) throws TrainLeNet.UsageException {
        TrainLeNet.Options o = TrainLeNet.parse(trainArgs);
        if (o.plot() != null) { // the workers' losses are not gathered on the driver: no curve to draw (it was ignored)
            throw new TrainLeNet.UsageException("--plot is not supported by the distributed trainer (its losses stay on the"
                    + " workers); the other TrainLeNet flags are");
        }
        return o;
    }

    public static void main(String[] args) throws Exception {
        ClusterFlags flags;
        try {
            flags = parseClusterFlags(args);
        } catch (TrainLeNet.UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("see TrainLeNet --help for the training flags; cluster flags: --master --workers --checkpoint-dir"
                    + " --checkpoint-every --max-attempts --timeout-s");
            System.exit(2);
            return;
        }
        String master = flags.master();
        int workers = flags.workers();
        Path checkpoints = flags.checkpoints();
        int every = flags.every();
        int attempts = flags.attempts();
        int timeout = flags.timeout();
        List<String> rest = flags.rest();
        String[] trainArgs = rest.toArray(String[]::new);
        TrainLeNet.Options o;
        TrainLeNet.Data data;
        try {
            o = parseTrainingFlags(trainArgs);
            data = TrainLeNet.resolveData(o); // on the driver first: downloads once, and says what it found
        } catch (TrainLeNet.UsageException e) {
            System.err.println(e.getMessage() == null ? "see TrainLeNet --help for the training flags" : "error: " + e.getMessage());
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        int threads = rest.contains("--threads") ? o.threads() : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        System.out.printf(Locale.ROOT, "data: %s%ntraining LeNet on %d images with %d workers (%s), global batch %d, %s lr %s, %d thread(s) per worker, %s step%n",
                data.source(), data.train().size(), workers, master, o.batchSize(), o.optimizer(), o.lr(), threads, o.compile() ? "compiled" : "eager");

        String optimizer = o.optimizer();
        double lr = o.lr();
        double momentum = o.momentum();
        DistributedTrainer.Config config = new DistributedTrainer.Config(workers, o.epochs(), o.batchSize(), o.seed(), threads,
                checkpoints.toAbsolutePath().toString(), every, attempts, Duration.ofSeconds(timeout), null, o.compile());
        DistributedTrainer trainer = new DistributedTrainer(LeNet::new, params -> optimizer(optimizer, params, lr, momentum),
                () -> loadTrainingSet(trainArgs), config);

        SparkConf conf = new SparkConf().setMaster(master).setAppName("lanes-lenet").set("spark.ui.enabled", "false")
                .set("spark.serializer.extraDebugInfo", "false");
        if (master.startsWith("local")) {
            conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        }
        DistributedTrainer.Result r;
        long t0 = System.nanoTime();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            r = trainer.fit(sc, System.out::println);
        }
        double wall = (System.nanoTime() - t0) / 1e9;

        Lanes.setNumThreads(Runtime.getRuntime().availableProcessors());
        LeNet net = new LeNet();
        Checkpoint.restore(r.finalCheckpoint(), net, optimizer(optimizer, net.parameters(), lr, momentum));
        double[] test = evaluate(net, data);
        System.out.printf(Locale.ROOT, "test loss %.4f accuracy %.4f%n", test[0], test[1]);
        if (o.save() != null) {
            SafeTensors.save(net, o.save());
            System.out.println("saved weights to " + o.save());
        }
        System.out.printf(Locale.ROOT, "result: workers=%d epochs=%d steps=%d attempts=%d test_accuracy=%.4f test_loss=%.4f"
                        + " train_images_per_s=%d allreduce_share=%.3f wall_s=%.1f%n", workers, o.epochs(), r.steps(), r.attempts(), test[1], test[0],
                Math.round(r.imagesPerSecond()), r.rank0().allReduceNanos() / (double) Math.max(1, r.rank0().trainNanos()), wall);
    }

    /** On each worker: the same data resolution as the driver (the flags were checked there already). */
    private static dev.lanes.data.Dataset loadTrainingSet(String[] trainArgs) throws java.io.IOException {
        try {
            return TrainLeNet.resolveData(TrainLeNet.parse(trainArgs)).train();
        } catch (TrainLeNet.UsageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    static Optimizer optimizer(String name, List<Tensor> params, double lr, double momentum) {
        return switch (name) {
            case "adam" -> new Adam(params, lr);
            case "rmsprop" -> new RMSprop(params, lr, 0.99, 1e-8, 0, momentum, false);
            default -> new SGD(params, lr, momentum);
        };
    }

    private static double[] evaluate(LeNet net, TrainLeNet.Data data) {
        net.eval();
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        double lossSum = 0;
        long correct = 0;
        long seen = 0;
        try (DataLoader test = new DataLoader(data.test(), 1000, false, 0, false); Autograd.Mode g = Autograd.noGrad()) {
            for (DataLoader.Batch b : test) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor logits = net.forward(b.inputs());
                    lossSum += criterion.forward(logits, b.labels()).item() * b.size();
                    long[] p = logits.argmax(1).toLongArray();
                    long[] y = b.labels().toLongArray();
                    for (int i = 0; i < y.length; i++) {
                        correct += p[i] == y[i] ? 1 : 0;
                    }
                    seen += b.size();
                }
            }
        }
        return new double[] {lossSum / seen, (double) correct / seen};
    }
}
