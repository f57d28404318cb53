package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.data.Idx;
import dev.lanes.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main training job end to end on a small real subset (the shipped Fashion-MNIST test split). */
class TrainLeNetTest {
    @TempDir
    static Path data;

    /** 1,024 training and 256 test images cut from the shipped sample, as IDX files. */
    @BeforeAll
    static void subset() throws IOException {
        Path sample = Path.of("examples", "data", "fashion-mnist-t10k");
        Idx.Array images = Idx.read(sample.resolve("t10k-images-idx3-ubyte.gz"));
        Idx.Array labels = Idx.read(sample.resolve("t10k-labels-idx1-ubyte.gz"));
        write(data.resolve("train-images-idx3-ubyte"), images, 0, 1024, 28 * 28, new int[] {1024, 28, 28});
        write(data.resolve("train-labels-idx1-ubyte"), labels, 0, 1024, 1, new int[] {1024});
        write(data.resolve("t10k-images-idx3-ubyte"), images, 1024, 256, 28 * 28, new int[] {256, 28, 28});
        write(data.resolve("t10k-labels-idx1-ubyte"), labels, 1024, 256, 1, new int[] {256});
    }

    private static void write(Path file, Idx.Array a, int from, int n, int per, int[] dims) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + n * per);
        b.put((byte) 0).put((byte) 0).put((byte) 8).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(a.data(), from * per, n * per);
        Files.write(file, b.array());
    }

    private record Run(int code, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static Run run(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = TrainLeNet.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void trainsReportsSavesAndIsReproducible() throws IOException {
        Path weights = data.resolve("out/lenet.safetensors");
        Path plot = data.resolve("out/lenet.png");
        Run a = run("--data", data.toString(), "--epochs", "2", "--threads", "2", "--seed", "5", "--save", weights.toString(), "--plot", plot.toString());
        assertThat(a.code()).isZero();
        assertThat(a.out()).contains("data: " + data).contains("epoch 2: train loss");
        assertThat(a.lastLine()).matches("result: epochs=2 train_images=1024 test_images=256 test_accuracy=0\\.\\d{4} test_loss=\\d+\\.\\d{4}"
                + " train_images_per_s=\\d+");
        double accuracy = Double.parseDouble(a.lastLine().replaceAll(".*test_accuracy=([0-9.]+).*", "$1"));
        assertThat(accuracy).as("well above chance (0.1) on real images after 32 steps").isGreaterThan(0.25);
        assertThat(SafeTensors.load(weights)).containsKeys("conv1.weight", "fc3.bias");
        assertThat(Files.size(plot)).isPositive();
        Run b = run("--data", data.toString(), "--epochs", "2", "--threads", "2", "--seed", "5");
        String ra = a.lastLine().replaceAll(" train_images_per_s=\\d+", "");
        String rb = b.lastLine().replaceAll(" train_images_per_s=\\d+", "");
        assertThat(rb).as("same seed and threads, same result to the last digit").isEqualTo(ra);
    }

    @Test
    void badFlagsPrintUsageAndExitWithTwo() throws IOException {
        for (String[] args : new String[][] {{"--epochs", "zero"}, {"--epochs", "0"}, {"--optimizer", "lbfgs"}, {"--bogus"}, {"--lr"},
                {"--dataset", "cifar"}, {"--data", "/nonexistent/dir"}}) {
            Run r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).startsWith("error: ").contains("usage: TrainLeNet");
        }
        Run help = run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--batch-size N");
    }

    /** Issue 19: a one-epoch run drew an empty chart; every point now has a marker. */
    @Test
    void aShortRunsChartHasMarkers() {
        var plots = Plot.plots(java.util.List.of(new TrainLeNet.EpochStats(0.5, 0.8, 0.6, 0.75, 1000)));
        for (Object p : plots.getSubplots()) {
            var r = (org.jfree.chart.renderer.xy.XYLineAndShapeRenderer) ((org.jfree.chart.plot.XYPlot) p).getRenderer();
            assertThat(r.getDefaultShapesVisible()).isTrue();
            assertThat(((org.jfree.chart.plot.XYPlot) p).getDataset().getItemCount(0)).isEqualTo(1);
        }
    }

    /** Issue 19: --data naming a missing folder says so. */
    @Test
    void aMissingDataFolderIsNamed() throws IOException {
        Run r = run("--data", "/nonexistent/dir");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: --data /nonexistent/dir: no such folder");
    }

    /** Issue 19: weights saved with --save got mode 0600 (createTempFile); they now get the usual umask-derived mode. */
    @Test
    void savedWeightsGetTheUsualFileMode(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
        java.nio.file.Path w = dir.resolve("w.safetensors");
        dev.lanes.io.SafeTensors.save(new LeNet(), w);
        java.nio.file.Path plain = java.nio.file.Files.createFile(dir.resolve("plain"));
        if (java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            assertThat(java.nio.file.Files.getPosixFilePermissions(w)).isEqualTo(java.nio.file.Files.getPosixFilePermissions(plain));
        }
        try (var files = java.nio.file.Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("w.safetensors", "plain");
        }
    }
}
