package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.lanes.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's hostile files and downloads (R9, R10, R12, the MNIST checksums): each is refused with a clear
 * IllegalArgumentException or IOException naming the file and the limit, before anything large is allocated.
 */
class HostileFilesTest {
    @TempDir
    Path dir;

    private static byte[] header(int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length);
        b.put((byte) 0).put((byte) 0).put((byte) 8).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.array();
    }

    /** An IDX header followed by {@code zeros} zero bytes, gzip-compressed (a bomb when zeros is large). */
    private static byte[] bomb(int[] dims, long zeros) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(out, 1 << 16)) {
            gz.write(header(dims));
            byte[] chunk = new byte[1 << 20];
            for (long left = zeros; left > 0; left -= chunk.length) {
                gz.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
        return out.toByteArray();
    }

    /** R9: the product of the dimensions wrapped around in 64 bits, and zero-pixel images passed as a data set. */
    @Test
    void dimensionsWhoseProductOverflowsAreRefused() throws IOException {
        Path f = dir.resolve("wrap-idx4-ubyte");
        Files.write(f, header(65536, 65536, 65536, 65536));
        assertThatThrownBy(() -> Idx.read(f)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overflows 64 bits")
                .hasMessageContaining(f.toString());
        // a product of exactly Long.MAX_VALUE: the header-plus-data total wrapped negative and passed the limit check
        Path max = dir.resolve("max-idx3-ubyte");
        Files.write(max, header(454279, 31252369, 649657));
        assertThatThrownBy(() -> Idx.readItems(max, 454279, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("above the limit");
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), header(4194304, 0, 0));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), DataTest.idx(3));
        assertThatThrownBy(() -> MnistDataset.load(dir, false, ImageTransform.toTensor())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("zero pixels");
    }

    /** R10: a 128 MiB gzip bomb behind a 10-byte header is refused as trailing data, not inflated into the heap. */
    @Test
    void gzipBombsAndOversizedFilesAreRefusedBeforeAllocating() throws IOException {
        Path f = dir.resolve("bomb-idx1-ubyte.gz");
        Files.write(f, bomb(new int[] {10}, 128L << 20));
        assertThatThrownBy(() -> Idx.read(f)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trailing data");
        // a header declaring 3 GB: more than an array holds, refused before reading
        Path big = dir.resolve("big-idx3-ubyte");
        Files.write(big, header(3000, 1000, 1000));
        assertThatThrownBy(() -> Idx.read(big)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than one array holds");
        // a file larger than -Dlanes.io.maxBytes, and a header declaring more than it
        Path small = dir.resolve("small-idx1-ubyte");
        Files.write(small, DataTest.idx(4000));
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "1k");
        try {
            assertThatThrownBy(() -> Idx.read(small)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(small.toString()).hasMessageContaining("limit of 1024 bytes");
            Path declares = dir.resolve("declares-idx1-ubyte");
            Files.write(declares, header(1 << 20));
            assertThatThrownBy(() -> Idx.read(declares)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("limit of 1024 bytes");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
    }

    /** R12: a safetensors header with 70,000 zero-size entries is refused before it is parsed. */
    @Test
    void safetensorsWithTooManyEntriesIsRefusedQuickly() {
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < 70_000; i++) {
            h.append(i > 0 ? "," : "").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
        }
        byte[] json = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> SafeTensors.parse(file.array(), "many.safetensors")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than " + SafeTensors.MAX_ENTRIES + " tensors");
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds to refuse").isLessThan(1.0);
    }

    /** The downloader: a bomb, an oversized body, a wrong MD5 and a corrupted cached file, against a local server. */
    @Test
    void downloaderRefusesBombsOversizedBodiesAndBadCacheFiles() throws Exception {
        byte[] idx = DataTest.idx(3, 4, 5);
        byte[] good = DataTest.gzip(idx);
        String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(good));
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(idx));
        byte[] bomb = bomb(new int[] {3, 4, 5}, 64L << 20);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/good/", ex -> {
            ex.sendResponseHeaders(200, good.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(good);
            }
        });
        server.createContext("/bomb/", ex -> {
            ex.sendResponseHeaders(200, bomb.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bomb);
            } catch (IOException expected) {
                // the client may hang up first
            }
        });
        server.createContext("/huge/", ex -> { // an endless body without a length
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                byte[] chunk = new byte[1 << 16];
                for (int i = 0; i < 4096; i++) {
                    out.write(chunk);
                }
            } catch (IOException expected) {
                // the client hangs up at its limit
            }
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        try {
            Download.FileSpec viaBomb = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/bomb/x"), new int[] {3, 4, 5}, sha, null);
            assertThatThrownBy(() -> Download.fetch(List.of(viaBomb), dir, null, Duration.ofSeconds(10))).isInstanceOf(IOException.class)
                    .hasMessageContaining("could not download");
            Download.FileSpec viaHuge = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/huge/x"), new int[] {3, 4, 5}, sha, null);
            assertThatThrownBy(() -> Download.fetch(List.of(viaHuge), dir, null, Duration.ofSeconds(10))).isInstanceOf(IOException.class)
                    .hasMessageContaining("more than this file can need");
            Download.FileSpec wrongMd5 = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/good/x"), new int[] {3, 4, 5}, null,
                    "0".repeat(32));
            assertThatThrownBy(() -> Download.fetch(List.of(wrongMd5), dir, null, Duration.ofSeconds(10)))
                    .hasMessageContaining("checksum mismatch: MD5");
            try (var files = Files.list(dir)) {
                assertThat(files.count()).as("nothing left in the cache").isZero();
            }
            // a damaged file under the final name is verified, removed and downloaded again
            Path cached = dir.resolve("x-idx3-ubyte.gz");
            byte[] damaged = good.clone();
            damaged[damaged.length / 2] ^= 0x5a;
            Files.write(cached, damaged);
            Download.FileSpec spec = new Download.FileSpec("x-idx3-ubyte.gz", List.of(base + "/good/x"), new int[] {3, 4, 5}, sha, md5);
            Download.fetch(List.of(spec), dir, null, Duration.ofSeconds(10));
            assertThat(Files.readAllBytes(cached)).isEqualTo(good);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void mnistCarriesTorchvisionsPublishedMd5s() {
        assertThat(Download.files("mnist")).extracting(Download.FileSpec::md5).containsExactly(
                "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c");
    }

    /**
     * A named pipe or a device given as a data file is refused at once: its size reads 0, so every size check passed,
     * and CharDataset.read of /dev/zero filled the heap while a pipe without a writer blocked Idx, Tar and CharDataset
     * for good. Where mkfifo is missing, /dev/zero alone.
     */
    @Test
    void aPipeOrADeviceIsNotReadAsADataFile() throws Exception {
        Path fifo = dir.resolve("input.txt");
        boolean made;
        try {
            made = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;
        } catch (IOException e) {
            made = false;
        }
        List<Path> paths = new java.util.ArrayList<>();
        if (Files.exists(Path.of("/dev/zero"))) {
            paths.add(Path.of("/dev/zero"));
        }
        if (made) {
            paths.add(fifo);
        }
        for (Path p : paths) {
            java.util.concurrent.CompletableFuture.runAsync(() -> {
                assertThatThrownBy(() -> dev.lanes.data.CharDataset.read(p, 8)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("not a regular file");
                assertThatThrownBy(() -> Idx.read(p)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a regular file");
                assertThatThrownBy(() -> Tar.list(p, 1 << 20)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a regular file");
            }).get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
