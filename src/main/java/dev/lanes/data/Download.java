package dev.lanes.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Downloads IDX data-set files into a cache directory, like torchvision's {@code download=True}, safely: each file
 * is streamed to a temporary file beside its final name, checked (complete body, gzip CRC, IDX structure, expected
 * dimensions, and the SHA-256 of the decompressed data where known), and only then renamed into place. A failed,
 * corrupted or interrupted download never leaves a file under the final name; the next mirror is tried.
 */
public final class Download {
    /** One file of a data set: its name, mirror URLs, expected IDX dimensions and decompressed SHA-256 (or null). */
    public record FileSpec(String name, List<String> urls, int[] dims, String sha256) {
    }

    private static final List<String> FASHION = List.of("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/");
    private static final List<String> MNIST = List.of("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/");

    private Download() {
    }

    /** The four files of {@code mnist} or {@code fashion-mnist} from the public mirrors. */
    public static List<FileSpec> files(String dataset) {
        boolean fashion = dataset.equals("fashion-mnist");
        if (!fashion && !dataset.equals("mnist")) {
            throw new IllegalArgumentException("unknown data set " + dataset + " (mnist or fashion-mnist)");
        }
        List<String> mirrors = fashion ? FASHION : MNIST;
        // SHA-256 of the decompressed Fashion-MNIST files (computed from Debian's dataset-fashion-mnist); MNIST's
        // files are checked by their gzip CRC, IDX structure and dimensions
        return List.of(
                spec("train-images-idx3-ubyte.gz", mirrors, new int[] {60000, 28, 28},
                        fashion ? "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888" : null),
                spec("train-labels-idx1-ubyte.gz", mirrors, new int[] {60000},
                        fashion ? "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9" : null),
                spec("t10k-images-idx3-ubyte.gz", mirrors, new int[] {10000, 28, 28},
                        fashion ? "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b" : null),
                spec("t10k-labels-idx1-ubyte.gz", mirrors, new int[] {10000},
                        fashion ? "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34" : null));
    }

    private static FileSpec spec(String name, List<String> mirrors, int[] dims, String sha) {
        List<String> urls = new ArrayList<>();
        for (String m : mirrors) {
            urls.add(m + name);
        }
        return new FileSpec(name, urls, dims, sha);
    }

    /** Downloads every missing file of {@code specs} into {@code dir}; progress goes to {@code progress} (may be null). */
    public static void fetch(List<FileSpec> specs, Path dir, PrintStream progress, Duration timeout) throws IOException {
        Files.createDirectories(dir);
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
        for (FileSpec spec : specs) {
            Path target = dir.resolve(spec.name());
            if (Files.isRegularFile(target)) {
                continue;
            }
            List<String> failures = new ArrayList<>();
            boolean done = false;
            for (String url : spec.urls()) {
                try {
                    fetchOne(client, url, spec, target, progress, timeout);
                    done = true;
                    break;
                } catch (IOException | IllegalArgumentException e) {
                    failures.add(url + ": " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("download interrupted", e);
                }
            }
            if (!done) {
                throw new IOException("could not download " + spec.name() + ":\n  " + String.join("\n  ", failures));
            }
        }
    }

    private static void fetchOne(HttpClient client, String url, FileSpec spec, Path target, PrintStream progress, Duration timeout)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
        HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
        try {
            try (InputStream in = response.body()) {
                if (response.statusCode() != 200) {
                    throw new IOException("HTTP " + response.statusCode());
                }
                long expected = response.headers().firstValueAsLong("Content-Length").orElse(-1);
                long got = 0;
                byte[] buf = new byte[1 << 16];
                long lastReport = 0;
                // java.net.http has no read timeout for bodies: a watchdog closes the stream when it stalls
                long[] lastProgress = {System.nanoTime()};
                java.util.concurrent.ScheduledExecutorService watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "lanes-download-watchdog");
                    t.setDaemon(true);
                    return t;
                });
                watchdog.scheduleAtFixedRate(() -> {
                    if (System.nanoTime() - lastProgress[0] > timeout.toNanos()) {
                        try {
                            in.close();
                        } catch (IOException ignored) {
                            // the reader sees the closed stream
                        }
                    }
                }, 100, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
                try (java.io.Closeable stopWatchdog = watchdog::shutdownNow; OutputStream out = Files.newOutputStream(tmp)) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        lastProgress[0] = System.nanoTime();
                        out.write(buf, 0, n);
                        got += n;
                        if (progress != null && (got - lastReport > (1 << 20) || got == expected)) {
                            progress.print(String.format(Locale.ROOT, "\rdownloading %s %s", spec.name(),
                                    expected > 0 ? String.format(Locale.ROOT, "%3d%% of %.1f MB", got * 100 / expected, expected / 1e6)
                                            : String.format(Locale.ROOT, "%.1f MB", got / 1e6)));
                            lastReport = got;
                        }
                    }
                } catch (IOException e) {
                    throw new IOException("connection stalled or closed after " + got + " bytes: " + e.getMessage(), e);
                }
                if (progress != null) {
                    progress.println();
                }
                if (expected >= 0 && got != expected) {
                    throw new IOException("connection closed after " + got + " of " + expected + " bytes");
                }
            }
            verify(tmp, spec);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** gzip CRC, IDX structure, dimensions and (if known) the decompressed SHA-256. */
    static void verify(Path file, FileSpec spec) throws IOException {
        byte[] raw;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            raw = out.toByteArray();
        } catch (IOException e) {
            throw new IOException("corrupt download (gzip check failed: " + e.getMessage() + ")", e);
        }
        Idx.Array a = Idx.parse(raw, spec.name());
        if (!java.util.Arrays.equals(a.dims(), spec.dims())) {
            throw new IOException("unexpected dimensions " + java.util.Arrays.toString(a.dims()) + ", expected "
                    + java.util.Arrays.toString(spec.dims()));
        }
        if (spec.sha256() != null) {
            try {
                String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw));
                if (!sha.equals(spec.sha256())) {
                    throw new IOException("checksum mismatch: SHA-256 " + sha + ", expected " + spec.sha256());
                }
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
