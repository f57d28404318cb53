package dev.lanes.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.DType;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.examples.SeedWalkthrough;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** safetensors: PyTorch interop, round trips, and every kind of bad file (plus a mutation fuzzer). */
class SafeTensorsTest {
    @TempDir
    Path dir;

    /**
     * A FIFO given as a weight or model file is refused at once (its size reads 0, and reading it waited for a writer
     * for good); so is a folder. Where mkfifo is missing, the folder case alone.
     */
    @Test
    void aFifoOrAFolderIsNotReadAsAFile() throws Exception {
        Path fifo = dir.resolve("weights.safetensors");
        boolean made;
        try {
            made = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;
        } catch (IOException e) {
            made = false;
        }
        java.util.List<Path> paths = new java.util.ArrayList<>(java.util.List.of(dir));
        if (made) {
            paths.add(fifo);
        }
        for (Path p : paths) {
            java.util.concurrent.Future<?> safetensors = java.util.concurrent.CompletableFuture.runAsync(() -> {
                assertThatThrownBy(() -> SafeTensors.read(p)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a regular file");
            });
            java.util.concurrent.Future<?> onnx = java.util.concurrent.CompletableFuture.runAsync(() -> {
                assertThatThrownBy(() -> dev.lanes.io.onnx.OnnxFormat.read(p)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("not a regular file");
            });
            safetensors.get(10, java.util.concurrent.TimeUnit.SECONDS); // before: blocked in open() until a writer came
            onnx.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = SafeTensorsTest.class.getResourceAsStream("/golden/" + name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void pytorchWeightsLoadIntoLanesAndGivePyTorchsOutput() throws IOException {
        Path file = dir.resolve("lenet.safetensors");
        Files.write(file, resource("lenet_pytorch.safetensors"));
        SafeTensors.Contents c = SafeTensors.read(file);
        assertThat(c.metadata()).containsEntry("framework", "pytorch").containsEntry("note", "LeNet walkthrough");
        assertThat(c.tensors().get("step").dtype()).isEqualTo(DType.INT64);
        assertThat(c.tensors().get("step").longItem()).isEqualTo(1234L);
        SeedWalkthrough.Net net = new SeedWalkthrough.Net();
        SafeTensors.load(net, file, false); // "step" is not a parameter
        Map<String, TestGolden.Case> io = new LinkedHashMap<>();
        TestGolden.read("io.txt").forEach(k -> io.put(k.name(), k));
        Tensor out = net.forward(io.get("input").tensor());
        TestGolden.assertClose(out, io.get("output").tensor(), 1e-5, 1e-4, "LeNet output with PyTorch's weights");
    }

    @Test
    void roundTripIsExactAndTheFileFollowsTheFormat() throws IOException {
        Lanes.manualSeed(4);
        SeedWalkthrough.Net net = new SeedWalkthrough.Net();
        Path file = dir.resolve("net.safetensors");
        SafeTensors.save(net, file);
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[6,1,5,5],\"data_offsets\":[0,600]}");
        assertThat(header.strip()).endsWith("}");
        SeedWalkthrough.Net other = new SeedWalkthrough.Net();
        SafeTensors.load(other, file, true);
        for (var e : net.namedParameters().entrySet()) {
            assertThat(other.namedParameters().get(e.getKey()).toFloatArray()).containsExactly(e.getValue().toFloatArray());
        }
        Path again = dir.resolve("again.safetensors");
        SafeTensors.save(other, again);
        assertThat(Files.readAllBytes(again)).isEqualTo(bytes);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(s -> s.endsWith(".tmp"));
        }
        Map<String, Tensor> mixed = new LinkedHashMap<>();
        mixed.put("scalar", Tensor.scalar(2.5));
        mixed.put("labels", Tensor.of(new long[] {1, -2, 3}));
        mixed.put("empty", Tensor.zeros(0, 4));
        Path m = dir.resolve("mixed.safetensors");
        SafeTensors.save(mixed, Map.of("k", "v \"quoted\""), m);
        SafeTensors.Contents back = SafeTensors.read(m);
        assertThat(back.metadata()).containsEntry("k", "v \"quoted\"");
        assertThat(back.tensors().get("scalar").dim()).isZero();
        assertThat(back.tensors().get("labels").toLongArray()).containsExactly(1, -2, 3);
        assertThat(back.tensors().get("empty").shape()).containsExactly(0, 4);
    }

    /** A file from a header text and data length. */
    private static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    /** A header's arrays are bounded before they are built (50 M shape entries were ~1 GB of heap), and so is a rank. */
    @Test
    void hugeHeaderArraysAndRanksAreRefused() {
        String ones = "1,".repeat(Json.MAX_ARRAY_VALUES) + "1"; // one more value than the limit, all of size 1
        String manyDims = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + ones + "],\"data_offsets\":[0,4]}}";
        assertThatThrownBy(() -> SafeTensors.parse(file(manyDims, 4), "f")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than " + Json.MAX_ARRAY_VALUES + " values");
        String rank65 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(64) + "1],\"data_offsets\":[0,4]}}";
        assertThatThrownBy(() -> SafeTensors.parse(file(rank65, 4), "f")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("65 dimensions");
        String rank64 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(63) + "1],\"data_offsets\":[0,4]}}";
        assertThat(SafeTensors.parse(file(rank64, 4), "f").tensors().get("a").dim()).isEqualTo(64);
        // the whole header is bounded too: metadata of 2 M keys (each array and object within its own bound) took ~1 GB
        StringBuilder keys = new StringBuilder("{\"__metadata__\":{");
        for (int k = 0; k <= Json.MAX_VALUES / 2; k++) {
            keys.append(k == 0 ? "" : ",").append('"').append(k).append("\":\"\"");
        }
        keys.append("},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        assertThatThrownBy(() -> SafeTensors.parse(file(keys.toString(), 4), "f")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than " + Json.MAX_VALUES + " values and keys");
    }

    /** A caller's entry bound: exact after the parse, and a header of many entries refused by the byte scan before it. */
    @Test
    void aCallersEntryBoundIsExactAndRefusesManyEntriesBeforeParsing() {
        StringBuilder three = new StringBuilder("{\"__metadata__\":{\"k\":\"v\"}");
        for (int i = 0; i < 3; i++) {
            three.append(",\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[").append(4 * i).append(',').append(4 * i + 4).append("]}");
        }
        byte[] f = file(three.append('}').toString(), 12);
        assertThat(SafeTensors.parse(f, "f", 3).tensors()).hasSize(3);
        assertThat(SafeTensors.parse(f, "f", 3).metadata()).containsEntry("k", "v");
        // without metadata, 3 entries + the header's braces pass the scan at a bound of 2: the exact count refuses them
        byte[] noMetadata = file(new String(f, 8, f.length - 20, StandardCharsets.UTF_8).replace("\"__metadata__\":{\"k\":\"v\"},", ""), 12);
        assertThat(SafeTensors.parse(noMetadata, "f", 3).metadata()).isEmpty();
        assertThatThrownBy(() -> SafeTensors.parse(noMetadata, "f", 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("describes 3 tensors; at most 2");
        assertThatThrownBy(() -> SafeTensors.parse(f, "f", 2)).hasMessageContaining("more than 2 tensors");
        assertThatThrownBy(() -> SafeTensors.parse(f, "f", 0)).hasMessageContaining("more than 0 tensors");
        // 20,000 entries against a bound of 64: the scan's refusal, whatever the entries hold (not even valid JSON)
        String many = "{" + "\"k\":{},".repeat(20_000) + "oops";
        assertThatThrownBy(() -> SafeTensors.parse(file(many, 0), "up", 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid safetensors file up").hasMessageContaining("more than 64 tensors");
        assertThatThrownBy(() -> SafeTensors.parse(f, "f", -1)).hasMessageContaining("maxEntries must be in [0, 65536], got -1");
        assertThatThrownBy(() -> SafeTensors.parse(f, "f", SafeTensors.MAX_ENTRIES + 1)).hasMessageContaining("got 65537");
    }

    @Test
    void badFilesAreRejectedWithTheReason() {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertThat(SafeTensors.parse(file(ok, 8), "ok").tensors()).containsKey("a");
        assertThatThrownBy(() -> SafeTensors.parse(new byte[5], "f")).hasMessageContaining("file too short");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok, 4), "f")).hasMessageContaining("tensors cover 8 data bytes but the file holds 4");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok, 12), "f")).hasMessageContaining("trailing data");
        byte[] huge = file(ok, 8);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        assertThatThrownBy(() -> SafeTensors.parse(huge, "f")).hasMessageContaining("header length 1099511627776 is invalid");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok.replace("F32", "F16"), 8), "f")).hasMessageContaining("dtype F16, which Lanes does not support");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok.replace("[2]", "[3]"), 8), "f")).hasMessageContaining("needs 12 bytes but its data_offsets span 8");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok.replace("[0,8]", "[8,0]"), 8), "f")).hasMessageContaining("invalid data_offsets");
        String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertThatThrownBy(() -> SafeTensors.parse(file(overlap, 8), "f")).hasMessageContaining("overlapping or missing data");
        assertThatThrownBy(() -> SafeTensors.parse(file("[1,2]", 0), "f")).hasMessageContaining("does not start with '{'");
        assertThatThrownBy(() -> SafeTensors.parse(file("{\"a\":", 0), "f")).hasMessageContaining("invalid JSON header");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok.replace("[2]", "[-2]"), 8), "f")).hasMessageContaining("invalid shape");
        assertThatThrownBy(() -> SafeTensors.parse(file("{\"__metadata__\":{\"k\":1}}", 0), "f")).hasMessageContaining("values must be strings");
        assertThatThrownBy(() -> SafeTensors.parse(file(ok, 4), "weights.bin")).hasMessageContaining("invalid safetensors file weights.bin");
    }

    @Test
    void loadingIntoTheWrongArchitectureFailsWithoutChangingTheModel() throws IOException {
        Path file = dir.resolve("lin.safetensors");
        SafeTensors.save(Map.of("fc1.weight", Tensor.zeros(3, 3)), file);
        SeedWalkthrough.Net net = new SeedWalkthrough.Net();
        float[] before = net.fc1.weight.toFloatArray();
        assertThatThrownBy(() -> SafeTensors.load(net, file, true)).hasMessageContaining("size mismatch for fc1.weight");
        assertThat(net.fc1.weight.toFloatArray()).containsExactly(before);
    }

    @Test
    void mutatedFilesOnlyEverRaiseIllegalArgumentException() throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("w", Tensor.randn(3, 4));
        t.put("b", Tensor.of(new long[] {7, 8}));
        Path file = dir.resolve("fuzz.safetensors");
        SafeTensors.save(t, Map.of("m", "x"), file);
        byte[] valid = Files.readAllBytes(file);
        SplittableRandom rnd = new SplittableRandom(99);
        int accepted = 0;
        for (int iter = 0; iter < 3000; iter++) {
            byte[] m = valid.clone();
            switch (iter % 4) {
                case 0 -> { // flip a few bytes anywhere
                    for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
                        m[rnd.nextInt(m.length)] = (byte) rnd.nextInt(256);
                    }
                }
                case 1 -> m = java.util.Arrays.copyOf(m, rnd.nextInt(m.length)); // truncate
                case 2 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(0, rnd.nextLong()); // random header length
                default -> { // printable garbage in the header
                    int n = (int) ByteBuffer.wrap(valid, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    String alphabet = "{}[]\":,0123456789-eE.tfn \\";
                    m[8 + rnd.nextInt(n)] = (byte) alphabet.charAt(rnd.nextInt(alphabet.length()));
                }
            }
            try {
                SafeTensors.parse(m, "mutant");
                accepted++;
            } catch (IllegalArgumentException expected) {
                assertThat(expected.getMessage()).startsWith("invalid safetensors file mutant: ");
            }
        }
        assertThat(accepted).as("some mutations (data bytes) are still valid files").isPositive();
    }

    /** A header as bytes, framed as a file: 8-byte little-endian length, then the header. */
    private static byte[] framed(byte[] header) {
        return ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array();
    }

    /** Headers the format (and its reference reader) refuses: non-ASCII digits, leading zeros, leading space, bad UTF-8. */
    @Test
    void headersTheReferenceRefusesAreRefused() {
        String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] okFile = ByteBuffer.allocate(8 + ok.length() + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(ok.length()).put(ok.getBytes(StandardCharsets.US_ASCII))
                .putFloat(1.5f).array();
        assertThat(SafeTensors.parse(okFile, "ok").tensors().get("w").item()).isEqualTo(1.5f);
        String arabicFour = ok.replace("[0,4]", "[0,\u0664]");
        assertThatThrownBy(() -> SafeTensors.parse(withData(arabicFour), "digits")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SafeTensors.parse(withData(ok.replace("[0,4]", "[0,04]")), "zeros")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leading zeros");
        assertThatThrownBy(() -> SafeTensors.parse(withData(" " + ok.substring(0, ok.length() - 1)), "space")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not start with '{'");
        byte[] badUtf8 = ("{\"w\u00ff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}").getBytes(StandardCharsets.ISO_8859_1); // 0xff alone
        byte[] file = ByteBuffer.allocate(8 + badUtf8.length + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(badUtf8.length).put(badUtf8).putFloat(1f).array();
        assertThatThrownBy(() -> SafeTensors.parse(file, "utf8")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("UTF-8");
    }

    private static byte[] withData(String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).putFloat(1f).array();
    }

    /** A name UTF-8 cannot hold (an unpaired surrogate) is refused before writing: it was written as '?', colliding with other names. */
    @Test
    void namesUtf8CannotHoldAreRefused(@TempDir Path dir) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("w\ud800", Tensor.ones(1));
        assertThatThrownBy(() -> SafeTensors.save(m, Map.of(), dir.resolve("x.safetensors"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unpaired surrogate");
    }
}
