package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.data.CharDataset;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.AdamW;
import dev.lanes.optim.Optimizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a character-level GPT ({@link CharGPT}: 4 pre-norm layers, d_model 128, 4 heads, context 64 by default) on a
 * text with AdamW, linear warm-up then cosine decay, and gradient clipping at 1.0; every {@code --eval-every} steps it
 * reports train and validation loss (the text's last 10%) and prints a sample. Ends with one {@code result:} line.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.TrainGPT -Dlanes.args="--steps 500"</pre>
 *
 * Text, in this order: {@code --data FILE} (UTF-8, plain or .gz); the first of {@link #CORPORA} present on this machine.
 */
public final class TrainGPT {
    private TrainGPT() {
    }

    /**
     * Public-domain texts the default looks for: the Jargon File 4.4.7 (1.6 million characters; in the public domain, as
     * its Debian package jargon-text states), shipped in examples/data, or where that package installs it.
     */
    static final List<Path> CORPORA = List.of(Path.of("examples", "data", "jargon.txt.gz"), Path.of("/usr/share/doc/jargon-text/jargon.txt.gz"));

    static final String USAGE = """
            usage: TrainGPT [options]
              --data FILE            a UTF-8 text to train on (plain or .gz); default: the Jargon File in examples/data
              --steps N              optimizer steps (default 2000)
              --batch-size N         sequences per step (default 32)
              --context N            tokens per sequence (default 64)
              --d-model N            default 128
              --heads N              default 4
              --layers N             default 4
              --dropout X            default 0.1
              --lr X                 peak learning rate (default 1e-3)
              --min-lr X             final learning rate (default 1e-4)
              --warmup N             warm-up steps (default 100)
              --weight-decay X       AdamW's, on matrices and embeddings (default 0.1)
              --clip X               gradient norm clipping (default 1.0)
              --eval-every N         steps between evaluations and samples (default 200)
              --eval-batches N       batches per evaluation (default 20)
              --sample N             characters sampled at each evaluation (default 200; 0: none)
              --tie-weights          share the token embedding with the output head
              --threads N            default: all processors
              --seed N               default 0
              --save FILE            write the trained weights as safetensors
              --plot FILE.png        chart of train and validation loss
              --eager                train eagerly (default: the compiled step, TrainStep, where the model allows)
              --compile              the compiled step (the default)
              --help                 this text""";

    record Options(Path data, int steps, int batchSize, int context, int dModel, int heads, int layers, double dropout, double lr,
                   double minLr, int warmup, double weightDecay, double clip, int evalEvery, int evalBatches, int sample, boolean tie,
                   int threads, long seed, Path save, Path plot, boolean compile) {
    }

    static Options parse(String[] args) throws TrainLeNet.UsageException {
        Path data = null;
        Path save = null;
        Path plot = null;
        int steps = 2000;
        int batch = 32;
        int context = 64;
        int dModel = 128;
        int heads = 4;
        int layers = 4;
        double dropout = 0.1;
        double lr = 1e-3;
        double minLr = 1e-4;
        int warmup = 100;
        double wd = 0.1;
        double clip = 1.0;
        int evalEvery = 200;
        int evalBatches = 20;
        int sample = 200;
        boolean tie = false;
        int threads = Runtime.getRuntime().availableProcessors();
        long seed = 0;
        boolean compile = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                throw new TrainLeNet.UsageException(null);
            }
            if (a.equals("--tie-weights")) {
                tie = true;
                continue;
            }
            if (a.equals("--eager") || a.equals("--compile")) {
                compile = a.equals("--compile");
                continue;
            }
            if (!a.startsWith("--") || !USAGE.contains("  " + a + " ")) {
                throw new TrainLeNet.UsageException("unknown option " + a);
            }
            if (i + 1 >= args.length) {
                throw new TrainLeNet.UsageException(a + " needs a value");
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--data" -> data = Path.of(v);
                    case "--save" -> save = Path.of(v);
                    case "--plot" -> plot = Path.of(v);
                    case "--steps" -> steps = positive(a, v);
                    case "--batch-size" -> batch = positive(a, v);
                    case "--context" -> context = positive(a, v);
                    case "--d-model" -> dModel = positive(a, v);
                    case "--heads" -> heads = positive(a, v);
                    case "--layers" -> layers = positive(a, v);
                    case "--dropout" -> dropout = fraction(a, v);
                    case "--lr" -> lr = positiveNumber(a, v);
                    case "--min-lr" -> minLr = positiveNumber(a, v);
                    case "--warmup" -> warmup = nonNegative(a, v);
                    case "--weight-decay" -> wd = nonNegativeNumber(a, v);
                    case "--clip" -> clip = positiveNumber(a, v);
                    case "--eval-every" -> evalEvery = positive(a, v);
                    case "--eval-batches" -> evalBatches = positive(a, v);
                    case "--sample" -> sample = nonNegative(a, v);
                    case "--threads" -> threads = positive(a, v);
                    case "--seed" -> seed = Long.parseLong(v);
                    default -> throw new TrainLeNet.UsageException("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                throw new TrainLeNet.UsageException(a + " needs a number, got '" + v + "'");
            }
        }
        if (dModel % heads != 0) {
            throw new TrainLeNet.UsageException("--d-model " + dModel + " must be divisible by --heads " + heads);
        }
        if (minLr > lr) {
            throw new TrainLeNet.UsageException("--min-lr " + minLr + " must not exceed --lr " + lr);
        }
        return new Options(data, steps, batch, context, dModel, heads, layers, dropout, lr, minLr, warmup, wd, clip, evalEvery, evalBatches,
                sample, tie, threads, seed, save, plot, compile);
    }

    private static int positive(String flag, String v) throws TrainLeNet.UsageException {
        int n = Integer.parseInt(v);
        if (n <= 0) {
            throw new TrainLeNet.UsageException(flag + " must be positive, got " + n);
        }
        return n;
    }

    private static int nonNegative(String flag, String v) throws TrainLeNet.UsageException {
        int n = Integer.parseInt(v);
        if (n < 0) {
            throw new TrainLeNet.UsageException(flag + " must not be negative, got " + n);
        }
        return n;
    }

    private static double positiveNumber(String flag, String v) throws TrainLeNet.UsageException {
        double x = Double.parseDouble(v);
        if (!(x > 0) || Double.isInfinite(x)) {
            throw new TrainLeNet.UsageException(flag + " must be a positive number, got " + v);
        }
        return x;
    }

    private static double nonNegativeNumber(String flag, String v) throws TrainLeNet.UsageException {
        double x = Double.parseDouble(v);
        if (!(x >= 0) || Double.isInfinite(x)) {
            throw new TrainLeNet.UsageException(flag + " must be a non-negative number, got " + v);
        }
        return x;
    }

    private static double fraction(String flag, String v) throws TrainLeNet.UsageException {
        double x = Double.parseDouble(v);
        if (!(x >= 0 && x < 1)) {
            throw new TrainLeNet.UsageException(flag + " must be in [0, 1), got " + v);
        }
        return x;
    }

    /** The text to train on and where it came from. */
    static Path resolveData(Options o) throws TrainLeNet.UsageException {
        if (o.data() != null) {
            if (!Files.isRegularFile(o.data())) {
                throw new TrainLeNet.UsageException("--data " + o.data() + ": no such file");
            }
            return o.data();
        }
        for (Path p : CORPORA) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new TrainLeNet.UsageException("no text found: pass --data FILE (any UTF-8 text of a few hundred KB or more)");
    }

    /**
     * AdamW (betas 0.9, 0.95, eps 1e-8) with weight decay {@code weightDecay} on the matrices and embeddings (2 or more
     * dims) and none on biases and LayerNorm parameters, as nanoGPT does.
     */
    static Optimizer optimizer(CharGPT model, double lr, double weightDecay) {
        List<Tensor> decay = new ArrayList<>();
        List<Tensor> rest = new ArrayList<>();
        for (Tensor p : model.parameters()) {
            (p.dim() >= 2 ? decay : rest).add(p);
        }
        AdamW opt = new AdamW(decay, lr, 0.9, 0.95, 1e-8, weightDecay, false);
        opt.addParamGroup(rest, Map.of("weight_decay", 0.0));
        return opt;
    }

    /** {@code max * (step + 1) / warmup} during the warm-up, then a cosine from max down to min at {@code total}. */
    static double learningRate(int step, int warmup, int total, double max, double min) {
        if (step < warmup) {
            return max * (step + 1) / warmup;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, total - warmup));
        return min + 0.5 * (max - min) * (1 + Math.cos(Math.PI * progress));
    }

    /** One evaluation: mean train and validation loss over the same number of random batches. */
    record Eval(int step, double trainLoss, double valLoss) {
    }

    public static void main(String[] args) throws IOException {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Options o;
        CharDataset.Split split;
        Path text;
        try {
            o = parse(args);
            text = resolveData(o);
            CharDataset all;
            try {
                all = CharDataset.read(text, o.context());
            } catch (IllegalArgumentException e) {
                throw new TrainLeNet.UsageException(text + ": " + e.getMessage());
            }
            split = all.split(0.9);
        } catch (TrainLeNet.UsageException e) {
            return TrainLeNet.usage(e, USAGE, out, err);
        }
        Lanes.setNumThreads(o.threads());
        Lanes.manualSeed(o.seed());
        CharDataset train = split.train();
        CharDataset val = split.validation();
        CharGPT model = new CharGPT(new CharGPT.Config(train.vocabSize(), o.context(), o.dModel(), o.heads(), o.layers(), o.dropout(), o.tie()));
        long params = model.parameters().stream().mapToLong(Tensor::numel).sum();
        out.printf(Locale.ROOT, "data: %s (%d characters, vocabulary %d; %d to train, %d to validate)%n", text, train.length() + val.length(),
                train.vocabSize(), train.length(), val.length());
        out.printf(Locale.ROOT, "training a %d-layer GPT (d_model %d, %d heads, context %d, %,d parameters) for %d steps, batch %d, AdamW lr %s"
                + " (warm-up %d, cosine to %s), %d thread(s)%n", o.layers(), o.dModel(), o.heads(), o.context(), params, o.steps(), o.batchSize(),
                o.lr(), o.warmup(), o.minLr(), o.threads());
        Optimizer opt = optimizer(model, o.lr(), o.weightDecay());
        List<Eval> history = new ArrayList<>();
        SplittableRandom sampler = new SplittableRandom(o.seed() ^ 0x5EED);
        long trainNanos = 0;
        long tokens = 0;
        double recent = Double.NaN;
        int vocab = train.vocabSize();
        try (CharDataset.RandomBatches batches = train.randomBatches(o.batchSize(), o.seed());
             Stepper stepper = new Stepper(o.compile(), model, (logits, y) -> F.crossEntropy(logits.reshape(-1, vocab), y.reshape(-1)), opt,
                     o.clip(), out)) {
            long t0 = System.nanoTime();
            for (int step = 0; step < o.steps(); step++) {
                double lr = learningRate(step, o.warmup(), o.steps(), o.lr(), o.minLr());
                opt.paramGroups().forEach(g -> g.setLr(lr));
                model.train();
                CharDataset.Batch b = batches.next();
                try (MemoryScope s = MemoryScope.open()) {
                    double l = stepper.run(b.x(), b.y());
                    recent = Double.isNaN(recent) ? l : 0.9 * recent + 0.1 * l;
                }
                tokens += (long) o.batchSize() * o.context();
                boolean last = step + 1 == o.steps();
                if ((step + 1) % o.evalEvery() == 0 || last) {
                    long now = System.nanoTime();
                    trainNanos += now - t0;
                    Eval e = new Eval(step + 1, evaluate(model, train, o, 1), evaluate(model, val, o, 2));
                    history.add(e);
                    out.printf(Locale.ROOT, "step %d/%d: train loss %.4f | val loss %.4f | lr %.2e | %.0f tokens/s%n", e.step(), o.steps(),
                            e.trainLoss(), e.valLoss(), lr, tokens / (trainNanos / 1e9));
                    if (o.sample() > 0) {
                        out.println("sample: " + sample(model, train, o.sample(), sampler).replace("\n", "\n        "));
                    }
                    t0 = System.nanoTime();
                } else if ((step + 1) % 50 == 0) {
                    out.printf(Locale.ROOT, "step %d/%d: loss %.4f (running)%n", step + 1, o.steps(), recent);
                }
            }
        }
        if (o.save() != null) {
            SafeTensors.save(model, o.save());
            out.println("saved weights to " + o.save());
        }
        if (o.plot() != null) {
            Plot.writeLosses("char GPT training", history.stream().map(e -> new double[] {e.step(), e.trainLoss(), e.valLoss()}).toList(),
                    "step", o.plot());
            out.println("wrote " + o.plot());
        }
        Eval last = history.get(history.size() - 1);
        out.printf(Locale.ROOT, "result: steps=%d train_loss=%.4f val_loss=%.4f tokens_per_s=%d parameters=%d%n", o.steps(), last.trainLoss(),
                last.valLoss(), Math.round(tokens / (trainNanos / 1e9)), params);
        return 0;
    }

    /** Mean loss over {@code evalBatches} random batches (a fixed seed per split, so evaluations compare), in eval mode. */
    private static double evaluate(CharGPT model, CharDataset data, Options o, long salt) {
        model.eval();
        double sum = 0;
        try (Autograd.Mode g = Autograd.noGrad(); CharDataset.RandomBatches batches = data.randomBatches(o.batchSize(), o.seed() * 31 + salt)) {
            for (int i = 0; i < o.evalBatches(); i++) {
                CharDataset.Batch b = batches.next();
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor logits = model.forward(b.x());
                    sum += F.crossEntropy(logits.reshape(-1, data.vocabSize()), b.y().reshape(-1)).item();
                }
            }
        }
        return sum / o.evalBatches();
    }

    /** {@code n} characters drawn one at a time from the model's softmax (temperature 1), starting from a newline. */
    static String sample(CharGPT model, CharDataset data, int n, SplittableRandom random) {
        model.eval();
        long start = data.vocabulary().indexOf('\n') >= 0 ? data.encode("\n")[0] : 0;
        List<Long> ids = new ArrayList<>(List.of(start));
        StringBuilder text = new StringBuilder();
        int context = model.config.context();
        try (Autograd.Mode g = Autograd.noGrad()) {
            for (int i = 0; i < n; i++) {
                int from = Math.max(0, ids.size() - context);
                long[] window = ids.subList(from, ids.size()).stream().mapToLong(Long::longValue).toArray();
                float[] probs;
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor logits = model.forward(Tensor.of(window, 1, window.length));
                    probs = logits.select(1, window.length - 1).softmax(-1).toFloatArray();
                }
                double u = random.nextDouble();
                int next = probs.length - 1;
                double acc = 0;
                for (int k = 0; k < probs.length; k++) {
                    acc += probs[k];
                    if (u < acc) {
                        next = k;
                        break;
                    }
                }
                ids.add((long) next);
                text.append(data.decode(next));
            }
        }
        return text.toString();
    }
}
