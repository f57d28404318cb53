package dev.lanes.examples;

import dev.lanes.data.Idx;
import dev.lanes.data.ImageTransform;
import dev.lanes.data.MnistDataset;
import dev.lanes.serve.PreparedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One prediction from a cold JVM, the way a command-line tool or a freshly started service does it: load the
 * trained LeNet's weights, prepare the model, classify one image of the shipped Fashion-MNIST sample and print the
 * class with the milliseconds since the JVM started ({@code bench/cold-start} times the whole process).
 * <pre>
 * ./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.Predict -Dlanes.args="--image 3"
 * </pre>
 */
public final class Predict {
    private Predict() {
    }

    private static final String USAGE = "usage: Predict [--weights FILE.safetensors | FILE.onnx] [--image N (0..9999 of the shipped test sample)]";

    public static void main(String[] args) throws Exception {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    /**
     * Milliseconds since the launcher started java ({@code -Dlanes.launchMillis}, set by {@code examples/lanes} and
     * {@code bench/cold-start}), else since the JVM started by its management bean: loading the JMX classes for that
     * alone costs 40-70 ms of a cold start, which the property avoids.
     */
    static String sinceStart() {
        long launched = Long.getLong("lanes.launchMillis", 0L);
        if (launched > 0) {
            return (System.currentTimeMillis() - launched) + " ms after launch";
        }
        return (System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime()) + " ms after JVM start";
    }

    /** Classifies one image of the shipped test sample; bad input is one {@code error:} line and exit code 2. */
    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Path weights = LeNetService.DEFAULT_WEIGHTS;
        int image = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--help")) {
                    out.println(USAGE);
                    return 0;
                }
                if (!a.equals("--weights") && !a.equals("--image")) {
                    throw new TrainLeNet.UsageException("unknown option " + a);
                }
                if (i + 1 >= args.length) {
                    throw new TrainLeNet.UsageException(a + " needs a value");
                }
                String v = args[++i];
                if (a.equals("--weights")) {
                    weights = Path.of(v);
                } else {
                    try {
                        image = Integer.parseInt(v.trim());
                    } catch (NumberFormatException e) {
                        throw new TrainLeNet.UsageException("--image needs a whole number, got '" + v + "'");
                    }
                }
            }
            if (!Files.isRegularFile(weights)) {
                throw new TrainLeNet.UsageException("weights file " + weights + " not found (--weights)");
            }
        } catch (TrainLeNet.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        Path sample = Path.of("examples", "data", "fashion-mnist-t10k");
        Path imageFile = MnistDataset.find(sample, "t10k-images-idx3-ubyte");
        Path labelFile = MnistDataset.find(sample, "t10k-labels-idx1-ubyte");
        int sampleSize = Idx.dims(labelFile)[0];
        if (image < 0 || image >= sampleSize) {
            err.println("error: --image must be in 0.." + (sampleSize - 1) + ", got " + image);
            err.println(USAGE);
            return 2;
        }
        // only this image and label: inflating all 10,000 images cost ~0.1 s of the cold start
        Idx.Array images = Idx.readItems(imageFile, image, 1);
        Idx.Array labels = Idx.readItems(labelFile, image, 1);
        float[] pixels = new float[784];
        for (int i = 0; i < 784; i++) {
            pixels[i] = images.unsigned(i);
        }
        float[] input = new float[1024];
        ImageTransform.pad(2).then(ImageTransform.toTensor()).then(ImageTransform.normalize(0.2860, 0.3530)).apply(pixels, 28, 28, input);
        try (PreparedModel model = PreparedModel.load(new LeNet(), weights, 1, 1, 32, 32)) {
            float[] p = new float[10];
            int cls = model.classify(input, p);
            if (cls < 0) { // a NaN score (weights that overflow): no class to name
                err.println("error: the model's scores are NaN for image " + image + " (check the weights file)");
                return 1;
            }
            int label = labels.unsigned(0);
            out.printf("image %d: %s (class %d, p=%.3f); label %s; %s%n", image, LeNetService.FASHION_LABELS[cls], cls,
                    p[cls], label < LeNetService.FASHION_LABELS.length ? LeNetService.FASHION_LABELS[label] : "#" + label, sinceStart());
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            return 2;
        }
        return 0;
    }
}
