package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ResNet-20 training job end to end, cut short with --limit-train / --limit-test on the shipped Fashion-MNIST sample. */
class TrainResNetTest {
    @TempDir
    static Path dir;

    private record Run(int code, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static Run run(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = TrainResNet.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** 2 epochs of 4 steps (64 images, batch 16), tested on 32, twice. */
    @Test
    void trainsReportsSavesAndIsReproducible() throws IOException {
        Path weights = dir.resolve("out/resnet.safetensors");
        Path plot = dir.resolve("out/resnet.png");
        String[] args = {"--epochs", "2", "--limit-train", "64", "--limit-test", "32", "--batch-size", "16", "--threads", "2", "--seed", "5",
            "--schedule", "multistep"};
        Run a = run(concat(args, "--save", weights.toString(), "--plot", plot.toString()));
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(a.out()).contains("data: " + Path.of("examples", "data", "fashion-mnist-t10k"))
                .contains("the first 64 training images; the first 32 test images")
                .contains("training ResNet-20 on 64 images, testing on 32; 2 epochs, batch 16, SGD lr 0.1 momentum 0.9 weight decay 0.0005 nesterov,"
                        + " multistep schedule, 2 thread(s)")
                .containsPattern("epoch 1: lr 0\\.1000 \\| train loss \\d+\\.\\d{4} accuracy 0\\.\\d{4} \\| test loss \\d+\\.\\d{4} accuracy 0\\.\\d{4}"
                        + " \\| \\d+\\.\\d{2} steps/s, \\d+ images/s")
                .contains("epoch 2: lr 0.01000 |"); // multistep over 2 epochs: a tenth from epoch 2
        assertThat(a.lastLine()).matches("result: epochs=2 train_images=64 test_images=32 test_accuracy=[01]\\.\\d{4} test_loss=\\d+\\.\\d{4}"
                + " train_images_per_s=\\d+ train_steps_per_s=\\d+\\.\\d{2}");
        assertThat(trainLoss(a.out(), 2)).as("the training loss falls from epoch 1 to epoch 2").isLessThan(trainLoss(a.out(), 1));
        ResNet20 loaded = new ResNet20(1, 10);
        SafeTensors.load(loaded, weights, true);
        assertThat(SafeTensors.load(weights)).containsKeys("conv1.weight", "layer2.0.downsample.0.weight", "layer3.2.bn2.running_var", "fc.bias");
        assertThat(Files.size(plot)).isPositive();

        Run b = run(args);
        String ra = a.lastLine().replaceAll(" train_images_per_s=\\d+ train_steps_per_s=[0-9.]+", "");
        String rb = b.lastLine().replaceAll(" train_images_per_s=\\d+ train_steps_per_s=[0-9.]+", "");
        assertThat(rb).as("same seed and threads, same result to the last digit").isEqualTo(ra);
    }

    private static double trainLoss(String out, int epoch) {
        Matcher m = Pattern.compile("epoch " + epoch + ": lr \\S+ \\| train loss (\\d+\\.\\d+)").matcher(out);
        assertThat(m.find()).as("epoch %d line", epoch).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badFlagsPrintUsageAndExitWithTwo() throws IOException {
        for (String[] args : new String[][] {{"--epochs", "zero"}, {"--epochs", "0"}, {"--schedule", "step"}, {"--bogus"}, {"--lr"},
                {"--limit-train", "-5"}, {"--limit-test", "0"}, {"--weight-decay", "-1"}, {"--momentum", "0"}, {"--dataset", "imagenet"},
                {"--dataset", "cifar10"}, {"--data", "/nonexistent/dir"}}) {
            Run r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", args)).startsWith("error: ").contains("usage: TrainResNet");
            assertThat(r.err().lines().findFirst().orElseThrow()).as("one error line").doesNotContain("usage");
        }
        assertThat(run("--momentum", "0").err()).startsWith("error: Nesterov momentum needs a positive --momentum (or pass --no-nesterov)");
        assertThat(run("--data", "/nonexistent/dir").err()).startsWith("error: --data /nonexistent/dir: no such folder");
        Run help = run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--limit-train N").contains("--schedule NAME").contains("--no-nesterov");
    }

    /** CIFAR-10 by folder: 3x32x32 images, augmented, a 3-channel ResNet-20; a folder without it is refused plainly. */
    @Test
    void trainsOnCifarTenFromAFolder() throws IOException {
        Path root = Files.createDirectories(dir.resolve("cifar"));
        Path cifar = Files.createDirectories(root.resolve("cifar-10-batches-bin"));
        java.util.Random random = new java.util.Random(5);
        for (String name : new String[] {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
                "test_batch.bin"}) {
            byte[] records = new byte[8 * 3073];
            random.nextBytes(records);
            for (int r = 0; r < 8; r++) {
                records[r * 3073] = (byte) (r % 10);
            }
            Files.write(cifar.resolve(name), records);
        }
        Files.writeString(cifar.resolve("batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
        Run r = run("--data", root.toString(), "--epochs", "1", "--batch-size", "8", "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("CIFAR-10").contains("training ResNet-20 on 40 images, testing on 8")
                .containsPattern("result: epochs=1 train_images=40 test_images=8 test_accuracy=[0-9.]+");
        Path empty = Files.createDirectories(dir.resolve("no-cifar"));
        Run missing = run("--dataset", "cifar10", "--data", empty.toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).startsWith("error: no CIFAR-10 found in " + empty);
    }

    @Test
    void flagsAndSchedule() throws Exception {
        TrainResNet.Options d = TrainResNet.parse(new String[0]);
        assertThat(d.epochs()).isEqualTo(5);
        assertThat(d.batchSize()).isEqualTo(128);
        assertThat(d.lr()).isEqualTo(0.1);
        assertThat(d.momentum()).isEqualTo(0.9);
        assertThat(d.weightDecay()).isEqualTo(5e-4);
        assertThat(d.nesterov()).isTrue();
        assertThat(d.schedule()).isEqualTo("cosine");
        TrainResNet.Options plain = TrainResNet.parse(new String[] {"--momentum", "0", "--no-nesterov", "--weight-decay", "0"});
        assertThat(plain.nesterov()).isFalse();
        assertThat(plain.weightDecay()).isZero();
        assertThat(TrainResNet.milestones(4)).containsExactly(2, 3);
        assertThat(TrainResNet.milestones(160)).containsExactly(80, 120);
        assertThat(TrainResNet.milestones(1)).containsExactly(1);
    }
}
