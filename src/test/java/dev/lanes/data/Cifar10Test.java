package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10's binary files, small and synthetic: reading, transforms, loading, hostile files and the checked download. */
class Cifar10Test {
    @TempDir
    Path dir;

    static final String META = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

    /** Pixel {@code k} of image {@code i} of file {@code f}. */
    static int pixel(int f, int i, int k) {
        return (f * 31 + i * 7 + k * 3 + k / 1024 * 50) & 0xff;
    }

    /** {@code n} records of file number {@code f}: label {@code (f + i) % 10}, pixels {@link #pixel}. */
    static byte[] batch(int f, int n) {
        byte[] b = new byte[n * Cifar10Dataset.RECORD_BYTES];
        for (int i = 0; i < n; i++) {
            int at = i * Cifar10Dataset.RECORD_BYTES;
            b[at] = (byte) ((f + i) % 10);
            for (int k = 0; k < 3072; k++) {
                b[at + 1 + k] = (byte) pixel(f, i, k);
            }
        }
        return b;
    }

    /** The official folder's files with 3 records in each train file (f = 1..5) and 4 in the test file (f = 0). */
    static List<TarTest.E> files(String folder) {
        List<TarTest.E> e = new ArrayList<>();
        e.add(TarTest.E.dir(folder + "/"));
        for (int f = 1; f <= 5; f++) {
            e.add(TarTest.E.file(folder + "/data_batch_" + f + ".bin", batch(f, 3)));
        }
        e.add(TarTest.E.file(folder + "/test_batch.bin", batch(0, 4)));
        e.add(TarTest.E.file(folder + "/batches.meta.txt", META));
        e.add(TarTest.E.file(folder + "/readme.html", "<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=http://www.cs.toronto.edu/~kriz/cifar.html\">\n"));
        return e;
    }

    static void writeFolder(Path folder) throws IOException {
        Files.createDirectories(folder);
        for (TarTest.E e : files("x")) {
            if (e.type() == '0') {
                Files.write(folder.resolve(e.name().substring(2)), e.data());
            }
        }
    }

    @Test
    void recordsAreChannelsFirstImagesWithTheirLabels() throws IOException {
        writeFolder(dir.resolve("cifar-10-batches-bin"));
        Cifar10Dataset train = CIFAR10.load(dir, true, ImageTransform.toTensor(), false);
        Cifar10Dataset test = CIFAR10.load(dir, false, ImageTransform.toTensor(), false);
        assertThat(train.size()).isEqualTo(15);
        assertThat(test.size()).isEqualTo(4);
        assertThat(train.inputShape()).containsExactly(3, 32, 32);
        assertThat(train.classes()).containsExactlyElementsOf(Cifar10Dataset.CLASSES);
        float[] x = new float[3 * 32 * 32 + 5];
        // sample 7 is record 1 of data_batch_3.bin: label (3 + 1) % 10, pixel (c, y, x) at c * 1024 + y * 32 + x
        assertThat(train.fill(7, x, 5)).isEqualTo(4);
        assertThat(train.label(7)).isEqualTo(4);
        for (int k : new int[] {0, 1, 31, 32, 1023, 1024, 2047, 2048, 3071}) {
            assertThat(x[5 + k]).as("pixel %d", k).isEqualTo(pixel(3, 1, k) / 255f);
        }
        assertThat(test.fill(3, x, 0)).isEqualTo(3);
        assertThat(x[2048 + 32 * 5 + 9]).isEqualTo(pixel(0, 3, 2048 + 32 * 5 + 9) / 255f);
        assertThat(test.toString()).contains("test, 4 images");
        // the files straight in root are found too; without download a missing split says how to get it
        Path flat = dir.resolve("flat");
        writeFolder(flat);
        assertThat(CIFAR10.load(flat, false, ImageTransform.identity(), false).fill(0, x, 0)).isEqualTo(0);
        assertThat(x[1]).isEqualTo(pixel(0, 0, 1));
        assertThatThrownBy(() -> CIFAR10.load(dir.resolve("none"), true, ImageTransform.toTensor(), false)).isInstanceOf(IOException.class)
                .hasMessageContaining("CIFAR10 train files not found").hasMessageContaining("download=true");
        assertThat(CIFAR10.defaultRoot().toString()).endsWith(".cache/lanes/datasets/cifar-10");
    }

    @Test
    void theTrainingPipelineBatchesThroughTheLoaderReproducibly() throws IOException {
        writeFolder(dir.resolve("cifar-10-batches-bin"));
        ImageTransform aug = ImageTransform.compose(ImageTransform.randomCrop(32, 4), ImageTransform.randomHorizontalFlip(),
                ImageTransform.toTensor(), CIFAR10.normalize());
        Cifar10Dataset train = CIFAR10.load(dir, true, aug, false);
        float[][] runs = new float[2][];
        long[] labels = new long[15];
        for (int run = 0; run < 2; run++) {
            try (DataLoader loader = new DataLoader(train, 4, true, 99, false)) {
                float[] all = new float[15 * 3072];
                int at = 0;
                for (DataLoader.Batch b : loader) {
                    assertThat(b.inputs().shape()).containsExactly(b.size(), 3, 32, 32);
                    assertThat(b.labels().dtype()).isEqualTo(dev.lanes.DType.INT64);
                    float[] v = b.inputs().toFloatArray();
                    System.arraycopy(v, 0, all, at * 3072, v.length);
                    System.arraycopy(b.labels().toLongArray(), 0, labels, at, b.size());
                    at += b.size();
                }
                runs[run] = all;
            }
        }
        assertThat(runs[1]).containsExactly(runs[0]);
        assertThat(labels).containsExactlyInAnyOrder(1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7);
        // normalized values: (v / 255 - mean) / std of each channel; the padded border is (0 - mean) / std
        float min = Float.MAX_VALUE;
        for (float v : runs[0]) {
            min = Math.min(min, v);
        }
        assertThat(min).isGreaterThanOrEqualTo((0 - 0.4914f) / 0.2470f - 1e-5f);
    }

    @Test
    void truncatedFilesBadLabelsAndBadClassListsAreRefusedNamingTheFile() throws IOException {
        Path folder = dir.resolve("cifar-10-batches-bin");
        writeFolder(folder);
        Path test = folder.resolve("test_batch.bin");
        byte[] good = batch(0, 4);
        Files.write(test, java.util.Arrays.copyOf(good, good.length - 1));
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(test.toString()).hasMessageContaining("is 12291 bytes, not a whole number of 3073-byte records");
        Files.write(test, new byte[0]);
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).hasMessageContaining("is 0 bytes");
        byte[] badLabel = good.clone();
        badLabel[2 * 3073] = 12;
        Files.write(test, badLabel);
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(test.toString()).hasMessageContaining("record 2 (byte offset 6146) has label 12, not a class 0..9");
        Files.write(test, good);
        Files.delete(folder.resolve("data_batch_4.bin"));
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, true, ImageTransform.toTensor())).isInstanceOf(IOException.class)
                .hasMessageContaining("no data_batch_4.bin in " + folder);
        Path meta = folder.resolve("batches.meta.txt");
        Files.writeString(meta, "cat\ndog\n");
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).hasMessageContaining(meta.toString())
                .hasMessageContaining("names 2 classes, expected 10");
        Files.write(meta, new byte[Cifar10Dataset.MAX_META_BYTES + 1]);
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).hasMessageContaining("4097 bytes");
        Files.delete(meta); // without a class list, the standard names
        assertThat(Cifar10Dataset.load(folder, false, ImageTransform.toTensor()).classes()).contains("truck");
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "8k");
        try {
            assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.toTensor())).hasMessageContaining(test.toString())
                    .hasMessageContaining("above the limit of 8192 bytes");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
        assertThatThrownBy(() -> Cifar10Dataset.load(folder, false, ImageTransform.randomCrop(40, 2)))
                .hasMessageContaining("Required crop size 40");
    }

    /** The download against a local server: checked by size and MD5, read through, unpacked; hostile archives leave nothing. */
    @Test
    void theArchiveIsDownloadedCheckedAndUnpackedSafely() throws Exception {
        byte[] good = DataTest.gzip(TarTest.tar(files("cifar-10-batches-bin").toArray(TarTest.E[]::new)));
        List<TarTest.E> evil = files("cifar-10-batches-bin");
        evil.add(TarTest.E.file("cifar-10-batches-bin/../../escaped.txt", "gotcha"));
        byte[] traversal = DataTest.gzip(TarTest.tar(evil.toArray(TarTest.E[]::new)));
        List<TarTest.E> partial = files("cifar-10-batches-bin");
        partial.removeIf(e -> e.name().endsWith("test_batch.bin"));
        byte[] missing = DataTest.gzip(TarTest.tar(partial.toArray(TarTest.E[]::new)));
        AtomicReference<byte[]> body = new AtomicReference<>(good);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            byte[] b = body.get();
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/cifar-10-binary.tar.gz";
        try {
            Path root = dir.resolve("root");
            Cifar10Dataset test = Cifar10Dataset.loadOrDownload(root, false, ImageTransform.toTensor(), true, spec(url, good));
            assertThat(test.size()).isEqualTo(4);
            assertThat(Cifar10Dataset.loadOrDownload(root, true, ImageTransform.toTensor(), false, spec(url, good)).size()).isEqualTo(15);
            try (var left = Files.list(root)) { // the archive (kept, like torchvision) and the folder; no staging folder
                assertThat(left.map(p -> p.getFileName().toString()).sorted().toList())
                        .containsExactly("cifar-10-batches-bin", "cifar-10-binary.tar.gz");
            }
            assertThat(root.resolve("cifar-10-batches-bin/readme.html")).doesNotExist();

            // a wrong MD5 or size: nothing kept
            Path r2 = dir.resolve("r2");
            Download.FileSpec wrongMd5 = Download.FileSpec.archive("cifar-10-binary.tar.gz", List.of(url), good.length, null, "0".repeat(32));
            assertThatThrownBy(() -> Cifar10Dataset.loadOrDownload(r2, false, ImageTransform.toTensor(), true, List.of(wrongMd5)))
                    .isInstanceOf(IOException.class).hasMessageContaining("checksum mismatch: MD5");
            Download.FileSpec wrongSize = Download.FileSpec.archive("cifar-10-binary.tar.gz", List.of(url), good.length + 1, null, null);
            assertThatThrownBy(() -> Cifar10Dataset.loadOrDownload(r2, false, ImageTransform.toTensor(), true, List.of(wrongSize)))
                    .isInstanceOf(IOException.class).hasMessageContaining("unexpected size " + good.length + " bytes, expected " + (good.length + 1));
            assertThat(r2).doesNotExist();

            // path traversal inside an archive whose checksums match: refused when it is verified, nothing escapes
            body.set(traversal);
            Path r3 = dir.resolve("r3");
            assertThatThrownBy(() -> Cifar10Dataset.loadOrDownload(r3, false, ImageTransform.toTensor(), true, spec(url, traversal)))
                    .isInstanceOf(IOException.class).hasMessageContaining("entry 'cifar-10-batches-bin/../../escaped.txt' has a '..' component");
            try (var walk = Files.walk(dir)) {
                assertThat(walk.filter(p -> p.getFileName().toString().equals("escaped.txt")).toList()).isEmpty();
            }
            // an archive without a needed file: the folder is not made, the staging folder is removed
            body.set(missing);
            Path r4 = dir.resolve("r4");
            assertThatThrownBy(() -> Cifar10Dataset.loadOrDownload(r4, false, ImageTransform.toTensor(), true, spec(url, missing)))
                    .isInstanceOf(IOException.class).hasMessageContaining("has no cifar-10-batches-bin/test_batch.bin");
            try (var left = Files.list(r4)) {
                assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("cifar-10-binary.tar.gz");
            }
        } finally {
            server.stop(0);
        }
    }

    private static List<Download.FileSpec> spec(String url, byte[] archive) throws Exception {
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(archive));
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive));
        return List.of(Download.FileSpec.archive("cifar-10-binary.tar.gz", List.of(url), archive.length, sha, md5));
    }

    @Test
    void thePublishedArchiveIsPinned() {
        Download.FileSpec spec = Download.files("cifar-10").getFirst();
        assertThat(spec.isArchive()).isTrue();
        assertThat(spec.urls()).containsExactly("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
        assertThat(spec.md5()).isEqualTo("c32a1d4ab5d03f1284b67883e8d87530");
        assertThat(spec.archiveBytes()).isEqualTo(170_052_171L);
        assertThatThrownBy(() -> Download.files("cifar10")).hasMessageContaining("(mnist, fashion-mnist or cifar-10)");
        assertThatThrownBy(() -> new Download.FileSpec("x", List.of(), null, null, null)).hasMessageContaining("either IDX dimensions");
    }
}
