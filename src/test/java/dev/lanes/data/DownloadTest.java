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
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads against a local HTTP server: success, mirror fallback, corrupted bodies and dropped connections. */
class DownloadTest {
    @TempDir
    Path cache;

    private HttpServer server;
    private String base;
    private byte[] good;
    private String sha;

    @BeforeEach
    void start() throws Exception {
        byte[] idx = DataTest.idx(3, 4, 5);
        good = DataTest.gzip(idx);
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(idx));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/good/", ex -> send(ex, 200, good, good.length));
        server.createContext("/missing/", ex -> send(ex, 404, new byte[0], 0));
        server.createContext("/corrupt/", ex -> {
            byte[] bad = good.clone();
            bad[bad.length / 2] ^= 0x5a;
            send(ex, 200, bad, bad.length);
        });
        server.createContext("/dropped/", ex -> { // promises the whole file, sends half, closes
            ex.sendResponseHeaders(200, good.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(good, 0, good.length / 2);
                out.flush();
            } catch (IOException expected) {
                // the client may see the close first
            }
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void send(com.sun.net.httpserver.HttpExchange ex, int status, byte[] body, int length) throws IOException {
        ex.sendResponseHeaders(status, length == 0 ? -1 : length);
        if (length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body, 0, length);
            }
        }
        ex.close();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private Download.FileSpec spec(String... mirrors) {
        return new Download.FileSpec("x-idx3-ubyte.gz", List.of(mirrors).stream().map(m -> base + m + "x-idx3-ubyte.gz").toList(),
                new int[] {3, 4, 5}, sha);
    }

    private long filesIn(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void downloadsChecksAndRenamesIntoPlace() throws IOException {
        Download.fetch(List.of(spec("/good/")), cache, null, Duration.ofSeconds(10));
        assertThat(Files.readAllBytes(cache.resolve("x-idx3-ubyte.gz"))).isEqualTo(good);
        assertThat(Idx.read(cache.resolve("x-idx3-ubyte.gz")).dims()).containsExactly(3, 4, 5);
        assertThat(filesIn(cache)).isOne(); // no temporary file left
    }

    @Test
    void failedMirrorsFallThroughToAGoodOne() throws IOException {
        Download.fetch(List.of(spec("/missing/", "/corrupt/", "/good/")), cache, null, Duration.ofSeconds(10));
        assertThat(Files.readAllBytes(cache.resolve("x-idx3-ubyte.gz"))).isEqualTo(good);
    }

    @Test
    void corruptedOrDroppedDownloadsLeaveNothingThatLooksValid() throws IOException {
        assertThatThrownBy(() -> Download.fetch(List.of(spec("/corrupt/")), cache, null, Duration.ofSeconds(10)))
                .isInstanceOf(IOException.class).hasMessageContaining("could not download x-idx3-ubyte.gz")
                .hasMessageContaining("corrupt");
        assertThat(filesIn(cache)).isZero();
        assertThatThrownBy(() -> Download.fetch(List.of(spec("/dropped/")), cache, null, Duration.ofSeconds(2)))
                .isInstanceOf(IOException.class).hasMessageContaining("could not download");
        assertThat(filesIn(cache)).isZero();
        assertThatThrownBy(() -> Download.fetch(List.of(spec("/missing/")), cache, null, Duration.ofSeconds(10)))
                .hasMessageContaining("HTTP 404");
        Download.FileSpec wrongSha = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/good/x-idx3-ubyte.gz"), new int[] {3, 4, 5},
                "0".repeat(64));
        assertThatThrownBy(() -> Download.fetch(List.of(wrongSha), cache, null, Duration.ofSeconds(10))).hasMessageContaining("checksum mismatch");
        Download.FileSpec wrongDims = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/good/x-idx3-ubyte.gz"), new int[] {60000, 28, 28}, null);
        assertThatThrownBy(() -> Download.fetch(List.of(wrongDims), cache, null, Duration.ofSeconds(10))).hasMessageContaining("unexpected dimensions");
        assertThat(filesIn(cache)).isZero();
    }

    @Test
    void publicDataSetsAreDescribed() {
        assertThat(Download.files("fashion-mnist")).hasSize(4).allMatch(f -> f.sha256() != null && f.urls().size() == 2);
        assertThat(Download.files("mnist")).extracting(Download.FileSpec::name).contains("train-images-idx3-ubyte.gz");
        assertThatThrownBy(() -> Download.files("cifar10")).hasMessageContaining("unknown data set cifar10");
    }

    /** Issue 19: offline, each mirror's failure had the message "null", and an empty cache folder was left behind. */
    @Test
    void anOfflineDownloadSaysWhyAndLeavesNoEmptyFolder() throws Exception {
        java.net.ServerSocket closed = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        int port = closed.getLocalPort();
        closed.close(); // nothing listens there now: connection refused
        Path fresh = cache.resolve("never-made");
        Download.FileSpec spec = new Download.FileSpec("x-idx3-ubyte.gz", List.of("http://127.0.0.1:" + port + "/x"), new int[] {3, 4, 5}, sha);
        assertThatThrownBy(() -> Download.fetch(List.of(spec), fresh, null, Duration.ofSeconds(5)))
                .isInstanceOf(IOException.class).hasMessageContaining("ConnectException").hasMessageNotContaining(": null");
        assertThat(fresh).doesNotExist();
    }

    /**
     * A cached file that fails its check for another reason than corruption (here a read limit below its size) stays
     * until a verified download replaces it: it was deleted first, and with every mirror failing the good file was gone.
     */
    @Test
    void aCachedFileIsKeptUntilAVerifiedDownloadReplacesIt() throws IOException {
        Download.fetch(List.of(spec("/good/")), cache, null, Duration.ofSeconds(10));
        String before = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "8");
        try {
            assertThatThrownBy(() -> Download.fetch(List.of(spec("/missing/")), cache, null, Duration.ofSeconds(10)))
                    .isInstanceOf(IOException.class);
        } finally {
            if (before == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", before);
            }
        }
        assertThat(Files.readAllBytes(cache.resolve("x-idx3-ubyte.gz"))).isEqualTo(good);
        Download.fetch(List.of(spec("/good/")), cache, null, Duration.ofSeconds(10)); // and a good download still replaces it
        assertThat(Files.readAllBytes(cache.resolve("x-idx3-ubyte.gz"))).isEqualTo(good);
    }
}
