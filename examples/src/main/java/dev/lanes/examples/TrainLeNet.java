package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.data.DataLoader;
import dev.lanes.data.Download;
import dev.lanes.data.ImageTransform;
import dev.lanes.data.MnistDataset;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Module;
import dev.lanes.optim.Adam;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.RMSprop;
import dev.lanes.optim.SGD;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trains the walkthrough's LeNet (logits free) on MNIST-format data with CrossEntropyLoss and SGD with momentum,
 * reports test loss and accuracy after each epoch, and ends with one machine-readable {@code result:} line.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.TrainLeNet -Dlanes.args="--epochs 2"</pre>
 *
 * Data, in this order: {@code --data DIR}; the cache {@code ~/.cache/lanes/datasets/<dataset>}; Debian's
 * {@code dataset-fashion-mnist} under {@code /usr/share/datasets/fashion-mnist}; a download into the cache with
 * {@code --download}; the Fashion-MNIST test split shipped in {@code examples/data}, split 8,000 / 2,000.
 */
public final class TrainLeNet {
    private TrainLeNet() {
    }

    static final String USAGE = """
            usage: TrainLeNet [options]
              --data DIR             IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...)
              --dataset NAME         mnist | fashion-mnist (default fashion-mnist)
              --download             download the data set into ~/.cache/lanes/datasets (checked, written atomically)
              --epochs N             default 10
              --batch-size N         default 64
              --lr X                 default 0.01
              --momentum X           default 0.9 (SGD, RMSprop)
              --optimizer NAME       sgd | adam | rmsprop (default sgd)
              --threads N            default: all processors
              --seed N               default 0
              --save FILE            write the trained weights as safetensors
              --plot FILE.png        chart of train/test loss and accuracy per epoch
              --eager                train eagerly (default: the compiled step, TrainStep)
              --compile              the compiled step (the default)
              --help                 this text""";

    /** Parsed flags. */
    record Options(Path data, String dataset, boolean download, int epochs, int batchSize, double lr, double momentum, String optimizer,
                   int threads, long seed, Path save, Path plot, boolean compile) {
    }

    /** Thrown for bad command lines: printed with the usage, exit code 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static Options parse(String[] args) throws UsageException {
        Path data = null;
        String dataset = "fashion-mnist";
        boolean download = false;
        int epochs = 10;
        int batch = 64;
        double lr = 0.01;
        double momentum = 0.9;
        String optimizer = "sgd";
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
                case "--eager" -> compile = false;
                case "--compile" -> compile = true;
                case "--data", "--dataset", "--epochs", "--batch-size", "--lr", "--momentum", "--optimizer", "--threads", "--seed", "--save", "--plot" -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException(a + " needs a value");
                    }
                    String v = args[++i];
                    try {
                        switch (a) {
                            case "--data" -> data = Path.of(v);
                            case "--dataset" -> {
                                if (!v.equals("mnist") && !v.equals("fashion-mnist")) {
                                    throw new UsageException("--dataset must be mnist or fashion-mnist, got " + v);
                                }
                                dataset = v;
                            }
                            case "--epochs" -> epochs = positive(a, Integer.parseInt(v));
                            case "--batch-size" -> batch = positive(a, Integer.parseInt(v));
                            case "--lr" -> lr = positiveDouble(a, Double.parseDouble(v));
                            case "--momentum" -> momentum = nonNegative(a, Double.parseDouble(v));
                            case "--optimizer" -> {
                                if (!List.of("sgd", "adam", "rmsprop").contains(v)) {
                                    throw new UsageException("--optimizer must be sgd, adam or rmsprop, got " + v);
                                }
                                optimizer = v;
                            }
                            case "--threads" -> threads = positive(a, Integer.parseInt(v));
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
        return new Options(data, dataset, download, epochs, batch, lr, momentum, optimizer, threads, seed, save, plot, compile);
    }

    static int positive(String flag, int v) throws UsageException {
        if (v <= 0) {
            throw new UsageException(flag + " must be positive, got " + v);
        }
        return v;
    }

    static double positiveDouble(String flag, double v) throws UsageException {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new UsageException(flag + " must be a positive number, got " + v);
        }
        return v;
    }

    static double nonNegative(String flag, double v) throws UsageException {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new UsageException(flag + " must be a non-negative number, got " + v);
        }
        return v;
    }

    /** The train and test sets and where they came from. */
    record Data(MnistDataset train, MnistDataset test, String source) {
    }

    static Data resolveData(Options o) throws IOException, UsageException {
        // 28x28 padded to LeNet's 32x32
        return resolveData(o.data(), o.dataset(), o.download(), ImageTransform.pad(2).then(normalization(o.dataset())));
    }

    /** torchvision-style normalisation constants for each data set, after {@code ToTensor}. */
    static ImageTransform normalization(String dataset) {
        return dataset.equals("mnist")
                ? ImageTransform.toTensor().then(ImageTransform.normalize(0.1307, 0.3081))
                : ImageTransform.toTensor().then(ImageTransform.normalize(0.2860, 0.3530));
    }

    /** The data, in the order the class comment gives, with transform {@code t}; TrainResNet shares it. */
    static Data resolveData(Path data, String dataset, boolean download, ImageTransform t) throws IOException, UsageException {
        if (data != null) {
            if (!java.nio.file.Files.isDirectory(data)) {
                throw new UsageException("--data " + data + ": no such folder");
            }
            if (!MnistDataset.present(data, true) || !MnistDataset.present(data, false)) {
                throw new UsageException("--data " + data + " must hold train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],"
                        + " t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]");
            }
            return new Data(MnistDataset.load(data, true, t), MnistDataset.load(data, false, t), data.toString());
        }
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "lanes", "datasets", dataset);
        if (MnistDataset.present(cache, true) && MnistDataset.present(cache, false)) {
            return new Data(MnistDataset.load(cache, true, t), MnistDataset.load(cache, false, t), cache + " (cache)");
        }
        Path debian = Path.of("/usr/share/datasets/fashion-mnist");
        if (dataset.equals("fashion-mnist") && MnistDataset.present(debian, true) && MnistDataset.present(debian, false)) {
            return new Data(MnistDataset.load(debian, true, t), MnistDataset.load(debian, false, t), debian + " (Debian's dataset-fashion-mnist)");
        }
        if (download) {
            try {
                Download.fetch(Download.files(dataset), cache, System.out, java.time.Duration.ofSeconds(60));
            } catch (IOException e) {
                throw new UsageException(e.getMessage() + "\n(--download needs the network; or pass --data DIR with the four IDX files)");
            }
            return new Data(MnistDataset.load(cache, true, t), MnistDataset.load(cache, false, t), cache + " (downloaded)");
        }
        Path sample = Path.of("examples", "data", "fashion-mnist-t10k");
        if (dataset.equals("fashion-mnist") && MnistDataset.present(sample, false)) {
            MnistDataset all = MnistDataset.load(sample, false, t);
            return new Data(all.range(0, 8000), all.range(8000, all.size()),
                    sample + " (the shipped Fashion-MNIST test split: 8,000 images to train, 2,000 to test)");
        }
        throw new UsageException("no " + dataset + " data found: pass --data DIR with the IDX files, or put them in " + cache);
    }

    /** Per-epoch figures for the report and the plot. */
    record EpochStats(double trainLoss, double trainAccuracy, double testLoss, double testAccuracy, double imagesPerSecond) {
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
            return usage(e, USAGE, out, err);
        }
        Lanes.setNumThreads(o.threads());
        Lanes.manualSeed(o.seed());
        out.printf(Locale.ROOT, "data: %s%n", data.source());
        out.printf(Locale.ROOT, "training LeNet on %d images, testing on %d; %d epochs, batch %d, %s lr %s, %d thread(s)%n",
                data.train().size(), data.test().size(), o.epochs(), o.batchSize(), o.optimizer(), o.lr(), o.threads());

        LeNet net = new LeNet();
        Optimizer optimizer = switch (o.optimizer()) {
            case "adam" -> new Adam(net.parameters(), o.lr());
            case "rmsprop" -> new RMSprop(net.parameters(), o.lr(), 0.99, 1e-8, 0, o.momentum(), false);
            default -> new SGD(net.parameters(), o.lr(), o.momentum());
        };
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        boolean terminal = System.console() != null && System.console().isTerminal();
        List<EpochStats> history = new ArrayList<>();
        long trainNanos = 0;
        long trainImages = 0;
        try (DataLoader train = new DataLoader(data.train(), o.batchSize(), true, o.seed(), false);
             DataLoader test = new DataLoader(data.test(), 1000, false, 0, false);
             Stepper stepper = new Stepper(o.compile(), net, criterion::forward, optimizer, Double.NaN, out)) {
            for (int epoch = 1; epoch <= o.epochs(); epoch++) {
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
                        correct += correct(stepper.output(), b.labels());
                        seen += b.size();
                    }
                    done++;
                    long now = System.nanoTime();
                    if (terminal || now - lastPrint > 5_000_000_000L || done == batches) {
                        double rate = seen / ((now - t0) / 1e9);
                        String line = String.format(Locale.ROOT, "epoch %d/%d %s %d/%d loss %.4f %.0f img/s ETA %ds", epoch, o.epochs(),
                                bar(done, batches), done, batches, lossSum / seen, rate, (long) ((batches - done) * (seen / (double) done) / rate));
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
                double[] eval = evaluate(net, test, criterion);
                EpochStats st = new EpochStats(lossSum / seen, (double) correct / seen, eval[0], eval[1], seen / (elapsed / 1e9));
                history.add(st);
                out.printf(Locale.ROOT, "epoch %d: train loss %.4f accuracy %.4f | test loss %.4f accuracy %.4f | %.0f images/s%n", epoch,
                        st.trainLoss(), st.trainAccuracy(), st.testLoss(), st.testAccuracy(), st.imagesPerSecond());
            }
        }
        if (o.save() != null) {
            SafeTensors.save(net, o.save());
            out.println("saved weights to " + o.save());
        }
        if (o.plot() != null) {
            Plot.write(history, o.plot());
            out.println("wrote " + o.plot());
        }
        EpochStats last = history.get(history.size() - 1);
        out.printf(Locale.ROOT, "result: epochs=%d train_images=%d test_images=%d test_accuracy=%.4f test_loss=%.4f train_images_per_s=%d%n",
                o.epochs(), data.train().size(), data.test().size(), last.testAccuracy(), last.testLoss(),
                Math.round(trainImages / (trainNanos / 1e9)));
        return 0;
    }

    /** A usage error: the message and the usage on err, exit code 2; {@code --help} (no message): the usage on out, 0. */
    static int usage(UsageException e, String usage, PrintStream out, PrintStream err) {
        if (e.getMessage() == null) {
            out.println(usage);
            return 0;
        }
        err.println("error: " + e.getMessage());
        err.println(usage);
        return 2;
    }

    static String bar(int done, int total) {
        int width = 20;
        int fill = (int) ((long) done * width / Math.max(total, 1));
        return "[" + "#".repeat(fill) + ".".repeat(width - fill) + "]";
    }

    static long correct(Tensor logits, Tensor labels) {
        long[] predicted = logits.argmax(1).toLongArray();
        long[] truth = labels.toLongArray();
        long c = 0;
        for (int i = 0; i < truth.length; i++) {
            c += predicted[i] == truth[i] ? 1 : 0;
        }
        return c;
    }

    /** Mean test loss and accuracy, in eval mode without a graph. */
    static double[] evaluate(Module net, DataLoader test, CrossEntropyLoss criterion) {
        net.eval();
        double lossSum = 0;
        long correct = 0;
        long seen = 0;
        try (Autograd.Mode g = Autograd.noGrad()) {
            for (DataLoader.Batch b : test) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor logits = net.forward(b.inputs());
                    lossSum += criterion.forward(logits, b.labels()).item() * b.size();
                    correct += correct(logits, b.labels());
                    seen += b.size();
                }
            }
        }
        return new double[] {lossSum / seen, (double) correct / seen};
    }
}
