package dev.lanes.data;

import dev.lanes.io.ReadLimits;
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
 * Downloads data-set files into a cache directory, like torchvision's {@code download=True}, safely: each file is
 * streamed to a temporary file beside its final name, checked (complete body, gzip CRC, IDX structure, expected
 * dimensions, and the SHA-256 of the decompressed data where known; for an archive such as CIFAR-10's, its exact
 * size, its published checksum and a read through every tar header), and only then renamed into place. A failed,
 * corrupted or interrupted download never leaves a file under the final name; the next mirror is tried.
 */
public final class Download {
    /**
     * One file of a data set: its name, mirror URLs, expected IDX dimensions, the SHA-256 of its decompressed bytes
     * and the MD5 of the file as published (torchvision's pins); either checksum may be null. An archive (see
     * {@link #archive}) has no dimensions but its exact size in {@code archiveBytes}, and its SHA-256 is that of the
     * file itself.
     */
    public record FileSpec(String name, List<String> urls, int[] dims, String sha256, String md5, long archiveBytes) {
        public FileSpec {
            if (dims == null ? archiveBytes <= 0 : archiveBytes != 0) {
                throw new IllegalArgumentException("a file spec has either IDX dimensions or an archive size, got dims "
                        + java.util.Arrays.toString(dims) + " and archiveBytes " + archiveBytes);
            }
        }

        public FileSpec(String name, List<String> urls, int[] dims, String sha256, String md5) {
            this(name, urls, dims, sha256, md5, 0);
        }

        public FileSpec(String name, List<String> urls, int[] dims, String sha256) {
            this(name, urls, dims, sha256, null);
        }

        /**
         * A tar or tar.gz archive of exactly {@code bytes} bytes, checked by its size, the SHA-256 and MD5 of the file
         * (either may be null) and a read through all of it as a tar archive ({@link Tar}); not extracted.
         */
        public static FileSpec archive(String name, List<String> urls, long bytes, String sha256, String md5) {
            return new FileSpec(name, urls, null, sha256, md5, bytes);
        }

        public boolean isArchive() {
            return dims == null;
        }

        /** The decompressed size its dimensions give: what verification inflates at most. */
        long idxBytes() {
            long n = 4L + 4L * dims.length;
            long count = 1;
            for (int d : dims) {
                count = Math.multiplyExact(count, d);
            }
            return n + count;
        }

        /** The most a download may bring: an archive's size, or the decompressed size plus gzip's worst-case growth, within ReadLimits. */
        long maxDownloadBytes() {
            if (isArchive()) {
                return Math.min(ReadLimits.maxBytes(), archiveBytes);
            }
            return Math.min(ReadLimits.maxBytes(), idxBytes() + idxBytes() / 64 + (64 << 10));
        }
    }

    /** How long one file's download may take in all (not only between two reads): {@code -Dlanes.download.deadline=SECONDS}. */
    static Duration deadline() {
        String s = System.getProperty("lanes.download.deadline");
        return s == null || s.isBlank() ? Duration.ofMinutes(30) : Duration.ofSeconds(Long.parseLong(s.trim()));
    }

    private static final List<String> FASHION = List.of("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/");
    private static final List<String> MNIST = List.of("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/");

    private Download() {
    }

    /** The CIFAR-10 binary version's archive as its authors publish it: size and MD5 from their page. */
    static final String CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    static final long CIFAR10_BYTES = 170_052_171L;
    static final String CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

    /**
     * The four files of {@code mnist} or {@code fashion-mnist} from the public mirrors, or {@code cifar-10}'s one
     * archive ({@code cifar-10-binary.tar.gz}, the binary version, checked by its size and its authors' MD5).
     */
    public static List<FileSpec> files(String dataset) {
        if (dataset.equals("cifar-10")) {
            return List.of(FileSpec.archive("cifar-10-binary.tar.gz", List.of(CIFAR10_URL), CIFAR10_BYTES, null, CIFAR10_MD5));
        }
        boolean fashion = dataset.equals("fashion-mnist");
        if (!fashion && !dataset.equals("mnist")) {
            throw new IllegalArgumentException("unknown data set " + dataset + " (mnist, fashion-mnist or cifar-10)");
        }
        List<String> mirrors = fashion ? FASHION : MNIST;
        // SHA-256 of the decompressed Fashion-MNIST files (computed from Debian's dataset-fashion-mnist); MNIST's
        // .gz files carry torchvision's published MD5s, so a plain-http mirror cannot slip in other data
        return List.of(
                spec("train-images-idx3-ubyte.gz", mirrors, new int[] {60000, 28, 28},
                        fashion ? "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888" : null,
                        fashion ? null : "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                spec("train-labels-idx1-ubyte.gz", mirrors, new int[] {60000},
                        fashion ? "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9" : null,
                        fashion ? null : "d53e105ee54ea40749a09fcbcd1e9432"),
                spec("t10k-images-idx3-ubyte.gz", mirrors, new int[] {10000, 28, 28},
                        fashion ? "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b" : null,
                        fashion ? null : "9fb629c4189551a2d022fa330f9573f3"),
                spec("t10k-labels-idx1-ubyte.gz", mirrors, new int[] {10000},
                        fashion ? "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34" : null,
                        fashion ? null : "ec29112dd5afa0611ce80d1b7f02629c"));
    }

    private static FileSpec spec(String name, List<String> mirrors, int[] dims, String sha, String md5) {
        List<String> urls = new ArrayList<>();
        for (String m : mirrors) {
            urls.add(m + name);
        }
        return new FileSpec(name, urls, dims, sha, md5);
    }

    /**
     * Downloads every missing file of {@code specs} into {@code dir}; progress goes to {@code progress} (may be null).
     * {@code timeout} bounds connecting and each wait for data; a whole file gets {@link #deadline()}. A file already
     * in the cache is verified like a download: one that fails is removed and downloaded again.
     */
    public static void fetch(List<FileSpec> specs, Path dir, PrintStream progress, Duration timeout) throws IOException {
        boolean created = !Files.exists(dir);
        Files.createDirectories(dir);
        try {
            fetchInto(specs, dir, progress, timeout);
        } catch (IOException | RuntimeException e) {
            if (created) {
                try (var left = Files.list(dir)) {
                    if (left.findAny().isEmpty()) {
                        Files.delete(dir); // a failed first download leaves no empty cache folder behind
                    }
                }
            }
            throw e;
        }
    }

    private static void fetchInto(List<FileSpec> specs, Path dir, PrintStream progress, Duration timeout) throws IOException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
        for (FileSpec spec : specs) {
            Path target = dir.resolve(spec.name());
            if (Files.isRegularFile(target)) {
                try {
                    verify(target, spec);
                    continue;
                } catch (IOException | IllegalArgumentException e) {
                    // kept until a verified download replaces it (the move below): a failed check for another reason than
                    // corruption (a read limit, an I/O error) with every mirror down deleted a good archive
                    if (progress != null) {
                        progress.println("cached " + spec.name() + " failed verification (" + e.getMessage() + "): downloading it again");
                    }
                }
            }
            List<String> failures = new ArrayList<>();
            boolean done = false;
            for (String url : spec.urls()) {
                try {
                    fetchOne(client, url, spec, target, progress, timeout);
                    done = true;
                    break;
                } catch (IOException | IllegalArgumentException e) {
                    // a refused or unresolvable connection has no message of its own: name the exception instead
                    failures.add(url + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() + " (no network, or the host refused)"
                            : e.getMessage()));
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
        // createFile, not createTempFile (0600): the cached data keeps the usual umask-derived mode
        Path tmp = Files.createFile(target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".part"));
        try {
            try (InputStream in = response.body()) {
                if (response.statusCode() != 200) {
                    throw new IOException("HTTP " + response.statusCode());
                }
                long expected = response.headers().firstValueAsLong("Content-Length").orElse(-1);
                long limit = spec.maxDownloadBytes();
                if (expected > limit) {
                    throw new IOException("Content-Length " + expected + " is above the " + limit + " bytes this file can need");
                }
                long deadline = System.nanoTime() + deadline().toNanos();
                boolean[] pastDeadline = {false};
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
                    long now = System.nanoTime();
                    pastDeadline[0] |= now - deadline > 0;
                    if (now - lastProgress[0] > timeout.toNanos() || pastDeadline[0]) {
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
                        got += n;
                        if (got > limit) {
                            throw new IOException("the body passed " + limit + " bytes, more than this file can need");
                        }
                        out.write(buf, 0, n);
                        if (progress != null && (got - lastReport > (1 << 20) || got == expected)) {
                            progress.print(String.format(Locale.ROOT, "\rdownloading %s %s", spec.name(),
                                    expected > 0 ? String.format(Locale.ROOT, "%3d%% of %.1f MB", got * 100 / expected, expected / 1e6)
                                            : String.format(Locale.ROOT, "%.1f MB", got / 1e6)));
                            lastReport = got;
                        }
                    }
                } catch (IOException e) {
                    if (pastDeadline[0]) {
                        throw new IOException("not finished within the deadline of " + deadline() + " (-Dlanes.download.deadline) after "
                                + got + " bytes", e);
                    }
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
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The published MD5 (if known), gzip CRC, IDX structure, dimensions and (if known) the decompressed SHA-256. The
     * file is streamed: it is inflated at most to the size its expected dimensions give, so a gzip bomb is refused
     * as trailing data instead of filling the heap.
     */
    static void verify(Path file, FileSpec spec) throws IOException {
        ReadLimits.check(Files.size(file), "downloaded file " + file);
        if (spec.isArchive() && Files.size(file) != spec.archiveBytes()) {
            throw new IOException("unexpected size " + Files.size(file) + " bytes, expected " + spec.archiveBytes());
        }
        if (spec.md5() != null) {
            String md5 = digest("MD5", Files.newInputStream(file));
            if (!md5.equals(spec.md5())) {
                throw new IOException("checksum mismatch: MD5 " + md5 + ", expected " + spec.md5());
            }
        }
        if (spec.isArchive()) {
            verifyArchive(file, spec);
            return;
        }
        MessageDigest sha = messageDigest("SHA-256");
        Idx.Array a;
        try (InputStream in = new java.security.DigestInputStream(new GZIPInputStream(Files.newInputStream(file)), sha)) {
            a = Idx.read(in, spec.name(), spec.idxBytes());
        } catch (IOException e) {
            throw new IOException("corrupt download (gzip check failed: " + e.getMessage() + ")", e);
        } catch (IllegalArgumentException e) {
            throw new IOException("unexpected content: " + e.getMessage(), e);
        }
        if (!java.util.Arrays.equals(a.dims(), spec.dims())) {
            throw new IOException("unexpected dimensions " + java.util.Arrays.toString(a.dims()) + ", expected "
                    + java.util.Arrays.toString(spec.dims()));
        }
        if (spec.sha256() != null) {
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(spec.sha256())) {
                throw new IOException("checksum mismatch: SHA-256 " + got + ", expected " + spec.sha256());
            }
        }
    }

    /** An archive's SHA-256 (if known), then every header and entry read through (the gzip CRC at its end). */
    private static void verifyArchive(Path file, FileSpec spec) throws IOException {
        if (spec.sha256() != null) {
            String got = digest("SHA-256", Files.newInputStream(file));
            if (!got.equals(spec.sha256())) {
                throw new IOException("checksum mismatch: SHA-256 " + got + ", expected " + spec.sha256());
            }
        }
        try {
            Tar.list(file, ReadLimits.maxBytes());
        } catch (IllegalArgumentException e) {
            throw new IOException("unexpected content: " + e.getMessage(), e);
        }
    }

    private static String digest(String algorithm, InputStream in) throws IOException {
        MessageDigest md = messageDigest(algorithm);
        try (InputStream s = new java.security.DigestInputStream(in, md)) {
            s.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest messageDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
