package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.data.DataLoader;
import dev.lanes.data.CIFAR10;
import dev.lanes.data.Dataset;
import dev.lanes.data.ImageTransform;
import dev.lanes.examples.TrainLeNet.Data;
import dev.lanes.examples.TrainLeNet.EpochStats;
import dev.lanes.examples.TrainLeNet.UsageException;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.optim.CosineAnnealingLR;
import dev.lanes.optim.LRScheduler;
import dev.lanes.optim.MultiStepLR;
import dev.lanes.optim.SGD;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Trains {@link ResNet20} with SGD (momentum, weight decay, Nesterov) and a cosine or multi-step learning-rate
 * schedule, reports test loss and accuracy, steps/s and images/s after each epoch, and ends with one
 * machine-readable {@code result:} line, like {@link TrainLeNet}.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.TrainResNet -Dlanes.args="--epochs 1 --limit-train 2000"</pre>
 *
 * Data, in TrainLeNet's order: {@code --data DIR}; the cache {@code ~/.cache/lanes/datasets/<dataset>}; Debian's
 * {@code dataset-fashion-mnist}; a download with {@code --download}; the Fashion-MNIST test split shipped in
 * {@code examples/data}, split 8,000 / 2,000. Images stay 28x28, one channel (the stages run at 28, 14 and 7 pixels).
 * CIFAR-10 ({@code --dataset cifar10}, or {@code --data} naming a folder that holds {@code cifar-10-batches-bin}):
 * 3x32x32 images from {@code --data} or {@code ~/.cache/lanes/datasets/cifar-10} ({@code --download} fetches the
 * checked archive), trained with He et al.'s augmentation (RandomCrop(32, padding 4), RandomHorizontalFlip), seeded.
 */
public final class TrainResNet {
    private TrainResNet() {
    }

    static final String USAGE = """
            usage: TrainResNet [options]
              --data DIR             IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...),
                                     or CIFAR-10's binary version (a folder holding cifar-10-batches-bin)
              --dataset NAME         fashion-mnist | mnist | cifar10 (default fashion-mnist)
              --download             download the data set into ~/.cache/lanes/datasets (checked, written atomically)
              --epochs N             default 5
              --batch-size N         default 128
              --lr X                 default 0.1
              --momentum X           default 0.9
              --weight-decay X       default 5e-4
              --nesterov             Nesterov momentum (the default); --no-nesterov for plain momentum
              --schedule NAME        cosine | multistep (default cosine: CosineAnnealingLR to 0 over the epochs;
                                     multistep: x0.1 at 50% and 75% of the epochs, as He et al.)
              --limit-train N        train on the first N training images only
              --limit-test N         test on the first N test images only
              --threads N            default: all processors
              --seed N               default 0
              --save FILE            write the trained weights as safetensors
              --plot FILE.png        chart of train/test loss and accuracy per epoch
              --eager                train eagerly (default: the compiled step, TrainStep)
              --compile              the compiled step (the default)
              --help                 this text""";

    /** Parsed flags; {@code limitTrain}/{@code limitTest} 0 for no limit. */
    record Options(Path data, String dataset, boolean download, int epochs, int batchSize, double lr, double momentum, double weightDecay,
                   boolean nesterov, String schedule, int limitTrain, int limitTest, int threads, long seed, Path save, Path plot,
                   boolean compile) {
    }

    static Options parse(String[] args) throws UsageException {
        Path data = null;
        String dataset = "fashion-mnist";
        boolean download = false;
        int epochs = 5;
        int batch = 128;
        double lr = 0.1;
        double momentum = 0.9;
        double weightDecay = 5e-4;
        boolean nesterov = true;
        String schedule = "cosine";
        int limitTrain = 0;
        int limitTest = 0;
        int threads = Runtime.getRuntime().availableProcessors();
        long seed = 0;
        Path save = null;
        Path plot = null;
        boolean compile = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help", "-h" -> throw new UsageException(null);
                case "--download" -> download = true;
                case "--nesterov" -> nesterov = true;
                case "--no-nesterov" -> nesterov = false;
                case "--eager" -> compile = false;
                case "--compile" -> compile = true;
                case "--data", "--dataset", "--epochs", "--batch-size", "--lr", "--momentum", "--weight-decay", "--schedule", "--limit-train",
                     "--limit-test", "--threads", "--seed", "--save", "--plot" -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException(a + " needs a value");
                    }
                    String v = args[++i];
                    try {
                        switch (a) {
                            case "--data" -> data = Path.of(v);
                            case "--dataset" -> {
                                if (v.equals("cifar-10")) {
                                    v = "cifar10";
                                }
                                if (!v.equals("mnist") && !v.equals("fashion-mnist") && !v.equals("cifar10")) {
                                    throw new UsageException("--dataset must be fashion-mnist, mnist or cifar10, got " + v);
                                }
                                dataset = v;
                            }
                            case "--epochs" -> epochs = TrainLeNet.positive(a, Integer.parseInt(v));
                            case "--batch-size" -> batch = TrainLeNet.positive(a, Integer.parseInt(v));
                            case "--lr" -> lr = TrainLeNet.positiveDouble(a, Double.parseDouble(v));
                            case "--momentum" -> momentum = TrainLeNet.nonNegative(a, Double.parseDouble(v));
                            case "--weight-decay" -> weightDecay = TrainLeNet.nonNegative(a, Double.parseDouble(v));
                            case "--schedule" -> {
                                if (!v.equals("cosine") && !v.equals("multistep")) {
                                    throw new UsageException("--schedule must be cosine or multistep, got " + v);
                                }
                                schedule = v;
                            }
                            case "--limit-train" -> limitTrain = TrainLeNet.positive(a, Integer.parseInt(v));
                            case "--limit-test" -> limitTest = TrainLeNet.positive(a, Integer.parseInt(v));
                            case "--threads" -> threads = TrainLeNet.positive(a, Integer.parseInt(v));
                            case "--seed" -> seed = Long.parseLong(v);
                            case "--save" -> save = Path.of(v);
                            case "--plot" -> plot = Path.of(v);
                            default -> throw new IllegalStateException(a);
                        }
                    } catch (NumberFormatException e) {
                        throw new UsageException(a + " needs a number, got '" + v + "'");
                    }
                }
                default -> throw new UsageException("unknown option " + a);
            }
        }
        if (nesterov && momentum == 0) {
            throw new UsageException("Nesterov momentum needs a positive --momentum (or pass --no-nesterov)");
        }
        return new Options(data, dataset, download, epochs, batch, lr, momentum, weightDecay, nesterov, schedule, limitTrain, limitTest,
                threads, seed, save, plot, compile);
    }

    /** A folder of CIFAR-10's binary version, or one holding it. */
    static boolean looksLikeCifar(Path dir) {
        return dir.getFileName() != null && dir.getFileName().toString().equals("cifar-10-batches-bin")
                || Files.isRegularFile(dir.resolve("data_batch_1.bin")) || Files.isRegularFile(dir.resolve("test_batch.bin"))
                || Files.isDirectory(dir.resolve("cifar-10-batches-bin"));
    }

    /** TrainLeNet's data, 28x28 without padding, then cut to the limits. */
    /** The train and test sets, where they came from, and the images' channel count. */
    record Data(Dataset train, Dataset test, String source, int channels) {
    }

    static Data resolveData(Options o) throws IOException, UsageException {
        Data d;
        if (o.dataset().equals("cifar10") || (o.data() != null && Files.isDirectory(o.data()) && looksLikeCifar(o.data()))) {
            d = cifar(o);
        } else {
            TrainLeNet.Data m = TrainLeNet.resolveData(o.data(), o.dataset(), o.download(), TrainLeNet.normalization(o.dataset()));
            d = new Data(m.train(), m.test(), m.source(), 1);
        }
        Dataset train = d.train();
        Dataset test = d.test();
        String source = d.source();
        if (o.limitTrain() > 0 && o.limitTrain() < train.size()) {
            train = first(train, o.limitTrain());
            source += "; the first " + o.limitTrain() + " training images";
        }
        if (o.limitTest() > 0 && o.limitTest() < test.size()) {
            test = first(test, o.limitTest());
            source += "; the first " + o.limitTest() + " test images";
        }
        return new Data(train, test, source, d.channels());
    }

    /** CIFAR-10 from --data or the cache (downloaded with --download), augmented for training like He et al. */
    private static Data cifar(Options o) throws IOException, UsageException {
        Path root = o.data() != null ? o.data() : CIFAR10.defaultRoot();
        ImageTransform augment = ImageTransform.compose(ImageTransform.randomCrop(32, 4), ImageTransform.randomHorizontalFlip(),
                ImageTransform.toTensor(), CIFAR10.normalize());
        ImageTransform plain = ImageTransform.compose(ImageTransform.toTensor(), CIFAR10.normalize());
        if (!o.download() && !looksLikeCifar(root)) {
            throw new UsageException("no CIFAR-10 found in " + root + ": pass --data DIR (a folder holding cifar-10-batches-bin) or --download");
        }
        try {
            return new Data(CIFAR10.load(root, true, augment, o.download()), CIFAR10.load(root, false, plain, o.download()),
                    root + " (CIFAR-10, RandomCrop(32, padding 4) + RandomHorizontalFlip)", 3);
        } catch (IOException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The first {@code n} samples of {@code all}. */
    static Dataset first(Dataset all, int n) {
        return new Dataset() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public int[] inputShape() {
                return all.inputShape();
            }

            @Override
            public long fill(int index, float[] dst, int offset) {
                return all.fill(index, dst, offset);
            }

            @Override
            public long fill(int index, float[] dst, int offset, java.util.SplittableRandom random) {
                return all.fill(index, dst, offset, random);
            }
        };
    }

    public static void main(String[] args) throws IOException {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Options o;
        Data data;
        try {
            o = parse(args);
            data = resolveData(o);
        } catch (UsageException e) {
            return TrainLeNet.usage(e, USAGE, out, err);
        }
        Lanes.setNumThreads(o.threads());
        Lanes.manualSeed(o.seed());
        out.printf(Locale.ROOT, "data: %s%n", data.source());
        out.printf(Locale.ROOT, "training ResNet-20 on %d images, testing on %d; %d epochs, batch %d, SGD lr %s momentum %s weight decay %s%s,"
                        + " %s schedule, %d thread(s)%n", data.train().size(), data.test().size(), o.epochs(), o.batchSize(), plain(o.lr()),
                plain(o.momentum()), plain(o.weightDecay()), o.nesterov() ? " nesterov" : "", o.schedule(), o.threads());

        ResNet20 net = new ResNet20(data.channels(), 10);
        SGD optimizer = new SGD(net.parameters(), o.lr(), o.momentum(), 0, o.weightDecay(), o.nesterov());
        LRScheduler schedule = o.schedule().equals("multistep")
                ? new MultiStepLR(optimizer, milestones(o.epochs()), 0.1)
                : new CosineAnnealingLR(optimizer, o.epochs(), 0);
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        boolean terminal = System.console() != null && System.console().isTerminal();
        List<EpochStats> history = new ArrayList<>();
        long trainNanos = 0;
        long trainImages = 0;
        long trainSteps = 0;
        try (DataLoader train = new DataLoader(data.train(), o.batchSize(), true, o.seed(), false);
             DataLoader test = new DataLoader(data.test(), 250, false, 0, false);
             Stepper stepper = new Stepper(o.compile(), net, criterion::forward, optimizer, Double.NaN, out)) {
            for (int epoch = 1; epoch <= o.epochs(); epoch++) {
                double lr = optimizer.paramGroups().get(0).lr();
                net.train();
                double lossSum = 0;
                long correct = 0;
                long seen = 0;
                int batches = train.size();
                int done = 0;
                long t0 = System.nanoTime();
                long lastPrint = t0;
                for (DataLoader.Batch b : train) {
                    try (MemoryScope s = MemoryScope.open()) {
                        lossSum += (double) stepper.run(b.inputs(), b.labels()) * b.size();
                        correct += TrainLeNet.correct(stepper.output(), b.labels());
                        seen += b.size();
                    }
                    done++;
                    long now = System.nanoTime();
                    if (terminal || now - lastPrint > 5_000_000_000L || done == batches) {
                        double seconds = (now - t0) / 1e9;
                        String line = String.format(Locale.ROOT, "epoch %d/%d %s %d/%d loss %.4f %.2f steps/s %.0f img/s ETA %ds", epoch, o.epochs(),
                                TrainLeNet.bar(done, batches), done, batches, lossSum / seen, done / seconds, seen / seconds,
                                (long) ((batches - done) * seconds / done));
                        if (terminal) {
                            out.print("\r" + line);
                            if (done == batches) {
                                out.println();
                            }
                        } else if (now - lastPrint > 5_000_000_000L || done == batches) {
                            out.println(line);
                        }
                        lastPrint = now;
                    }
                }
                long elapsed = System.nanoTime() - t0;
                trainNanos += elapsed;
                trainImages += seen;
                trainSteps += done;
                schedule.step();
                double[] eval = TrainLeNet.evaluate(net, test, criterion);
                EpochStats st = new EpochStats(lossSum / seen, (double) correct / seen, eval[0], eval[1], seen / (elapsed / 1e9));
                history.add(st);
                out.printf(Locale.ROOT, "epoch %d: lr %.4g | train loss %.4f accuracy %.4f | test loss %.4f accuracy %.4f"
                                + " | %.2f steps/s, %.0f images/s%n", epoch, lr, st.trainLoss(), st.trainAccuracy(), st.testLoss(), st.testAccuracy(),
                        done / (elapsed / 1e9), st.imagesPerSecond());
            }
        }
        if (o.save() != null) {
            SafeTensors.save(net, o.save());
            out.println("saved weights to " + o.save());
        }
        if (o.plot() != null) {
            Plot.write(history, o.plot(), "ResNet-20 training");
            out.println("wrote " + o.plot());
        }
        EpochStats last = history.get(history.size() - 1);
        double seconds = trainNanos / 1e9;
        out.printf(Locale.ROOT, "result: epochs=%d train_images=%d test_images=%d test_accuracy=%.4f test_loss=%.4f train_images_per_s=%d"
                        + " train_steps_per_s=%.2f%n", o.epochs(), data.train().size(), data.test().size(), last.testAccuracy(), last.testLoss(),
                Math.round(trainImages / seconds), trainSteps / seconds);
        return 0;
    }

    /** 0.0005, not 5.0E-4. */
    private static String plain(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    /** He et al.'s schedule scaled to the run: a tenth of the rate from half the epochs, a hundredth from three quarters. */
    static int[] milestones(int epochs) {
        TreeSet<Integer> m = new TreeSet<>();
        m.add(Math.max(1, epochs / 2));
        m.add(Math.max(1, epochs * 3 / 4));
        return m.stream().mapToInt(Integer::intValue).toArray();
    }
}
