package dev.lanes.examples;

import dev.lanes.data.Idx;
import dev.lanes.data.ImageTransform;
import dev.lanes.data.MnistDataset;
import dev.lanes.serve.PreparedModel;
import java.lang.management.ManagementFactory;
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

    public static void main(String[] args) throws Exception {
        Path weights = LeNetService.DEFAULT_WEIGHTS;
        int image = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--weights" -> weights = Path.of(args[++i]);
                case "--image" -> image = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: Predict [--weights FILE.safetensors] [--image N (0..9999 of the shipped test sample)]");
                    System.exit(2);
                }
            }
        }
        Path sample = Path.of("examples", "data", "fashion-mnist-t10k");
        Idx.Array images = Idx.read(MnistDataset.find(sample, "t10k-images-idx3-ubyte"));
        Idx.Array labels = Idx.read(MnistDataset.find(sample, "t10k-labels-idx1-ubyte"));
        if (image < 0 || image >= images.count()) {
            throw new IllegalArgumentException("--image must be in 0.." + (images.count() - 1) + ", got " + image);
        }
        float[] pixels = new float[784];
        for (int i = 0; i < 784; i++) {
            pixels[i] = images.unsigned(image * 784 + i);
        }
        float[] input = new float[1024];
        ImageTransform.pad(2).then(ImageTransform.toTensor()).then(ImageTransform.normalize(0.2860, 0.3530)).apply(pixels, 28, 28, input);
        try (PreparedModel model = PreparedModel.load(new LeNet(), weights, 1, 1, 32, 32)) {
            float[] p = new float[10];
            int cls = model.classify(input, p);
            long ms = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
            System.out.printf("image %d: %s (class %d, p=%.3f); label %s; %d ms after JVM start%n", image, LeNetService.FASHION_LABELS[cls], cls,
                    p[cls], LeNetService.FASHION_LABELS[labels.unsigned(image)], ms);
        }
    }
}
