package dev.lanes.io;

import dev.lanes.DType;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Module;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (huggingface/safetensors): an unsigned little-endian 64-bit header length, a JSON header
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}} padded with
 * spaces to a multiple of 8 bytes, then the tensors' little-endian bytes, back to back. Lanes reads and writes F32
 * and I64 tensors.
 *
 * <p>Loading validates everything before allocating tensors: header length, JSON, dtypes, shapes, that each
 * tensor's byte range matches its shape and that the ranges tile the data exactly (no gaps, overlaps or bytes out
 * of range). Any violation is an {@link IllegalArgumentException} naming the file; nothing else escapes a bad file.
 * Saving writes a temporary file and renames it, so a crash never leaves a half-written file under the name.
 */
public final class SafeTensors {
    /** Headers above this size are refused (the reference implementation uses 100 MB too). */
    public static final long MAX_HEADER = 100L << 20;
    /**
     * Files with more tensors than this are refused before their header is parsed: 170,000 zero-size entries in a
     * 9.9 MB header took 4 s and 438 MB of heap (large language models have a few thousand tensors).
     */
    public static final int MAX_ENTRIES = 1 << 16;
    private static final String METADATA = "__metadata__";

    private SafeTensors() {
    }

    /** The tensors and the optional string metadata of one file. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    // ---- saving ----

    public static void save(Map<String, Tensor> tensors, Path path) throws IOException {
        save(tensors, Map.of(), path);
    }

    /** A name or metadata string UTF-8 can hold: an unpaired surrogate was written as '?' (two names could become one). */
    private static void checkEncodable(String s) {
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(s)) {
            throw new IllegalArgumentException("the name " + Json.quote(s) + " is not valid Unicode (an unpaired surrogate): it cannot be written as UTF-8");
        }
    }

    /** Writes {@code tensors} (in map order) with {@code metadata}; the file appears atomically. */
    public static void save(Map<String, Tensor> tensors, Map<String, String> metadata, Path path) throws IOException {
        StringBuilder header = new StringBuilder("{");
        boolean first = true;
        if (!metadata.isEmpty()) {
            header.append(Json.quote(METADATA)).append(":{");
            boolean f = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                checkEncodable(e.getKey());
                checkEncodable(e.getValue());
                header.append(f ? "" : ",").append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                f = false;
            }
            header.append('}');
            first = false;
        }
        long offset = 0;
        List<byte[]> blobs = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA);
            }
            checkEncodable(e.getKey());
            Tensor t = e.getValue();
            byte[] data = bytesOf(t);
            header.append(first ? "" : ",").append(Json.quote(e.getKey())).append(":{\"dtype\":\"")
                    .append(switch (t.dtype()) {
                        case FLOAT32 -> "F32";
                        case INT64 -> "I64";
                        case BOOL -> "BOOL";
                    }).append("\",\"shape\":[");
            int[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                header.append(i > 0 ? "," : "").append(shape[i]);
            }
            header.append("],\"data_offsets\":[").append(offset).append(',').append(offset + data.length).append("]}");
            offset += data.length;
            blobs.add(data);
            first = false;
        }
        header.append('}');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        if (8L + padded + offset > Integer.MAX_VALUE) { // what read() takes: no file it would refuse
            throw new IllegalArgumentException("the file would hold " + (8L + padded + offset) + " bytes; a safetensors file Lanes reads holds under 2 GiB");
        }
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(h);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // not createTempFile: it makes the file 0600, and the saved weights would keep that mode after the rename;
        // createFile takes the usual umask-derived mode (and fails rather than follow a planted link)
        Path tmp = Files.createFile(dir.resolve("." + path.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp"));
        try {
            try (var out = Files.newOutputStream(tmp)) {
                out.write(prefix.array());
                for (byte[] b : blobs) {
                    out.write(b);
                }
            }
            try {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Saves a module's state dict (parameters and buffers by dotted name), like {@code save_file(model.state_dict())}. */
    public static void save(Module module, Path path) throws IOException {
        try (MemoryScope s = MemoryScope.open()) { // stateDict()'s detached handles
            save(module.stateDict(), path);
        }
    }

    /** Most dimensions of a tensor in a file (PyTorch's tensors have at most 64 too). */
    static final int MAX_RANK = 64;

    private static byte[] bytesOf(Tensor t) {
        long bytes = (long) t.numel() * t.dtype().byteSize();
        if (bytes > Integer.MAX_VALUE - 8) { // v.length * 4 overflowed: "capacity < 0", or a wrapped size
            throw new IllegalArgumentException("safetensors: a tensor of shape " + java.util.Arrays.toString(t.shape()) + " is " + bytes
                    + " bytes; Lanes writes tensors under 2 GiB (save larger ones in parts)");
        }
        if (t.dtype() == DType.BOOL) {
            long[] v = t.toLongArray();
            byte[] b = new byte[v.length];
            for (int i = 0; i < v.length; i++) {
                b[i] = (byte) v[i];
            }
            return b;
        }
        if (t.dtype() == DType.FLOAT32) {
            float[] v = t.toFloatArray();
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            return b.array();
        }
        long[] v = t.toLongArray();
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return b.array();
    }

    // ---- loading ----

    public static Map<String, Tensor> load(Path path) throws IOException {
        return read(path).tensors();
    }

    /** Loads a file into a module's parameters and buffers ({@code strict}: keys must match exactly). */
    public static void load(Module module, Path path, boolean strict) throws IOException {
        Map<String, Tensor> loaded = load(path); // outside any scope (read()'s tensors are the caller's): closed here
        try {
            module.loadStateDict(loaded, strict);
        } finally {
            loaded.values().forEach(Tensor::close);
        }
    }

    /** One parsed tensor entry. */
    private record Entry(String name, DType dtype, int[] shape, long begin, long end) {
    }

    /** Tensors (outside any scope: the caller owns them) and metadata of a file. */
    public static Contents read(Path path) throws IOException {
        long size = Files.size(path);
        ReadLimits.check(size, "safetensors file " + path);
        if (size > Integer.MAX_VALUE) {
            throw bad(path, "files over 2 GiB are not supported yet (" + size + " bytes)");
        }
        byte[] all = ReadLimits.readFile(path, Integer.MAX_VALUE, "safetensors file"); // bounded even if it grows, no FIFOs
        return parse(all, path.toString());
    }

    /** Parses safetensors bytes; {@code source} names them in errors. */
    public static Contents parse(byte[] all, String source) {
        return parse(all, source, MAX_ENTRIES);
    }

    /**
     * Parses safetensors bytes holding at most {@code maxEntries} tensors ({@code 0 <= maxEntries <=} {@link #MAX_ENTRIES});
     * more are refused by a scan of the header's bytes, before its JSON is parsed or any tensor is made: a service that
     * takes models of a known size refuses a hostile header of many small entries in a millisecond (20,000 zero-size
     * entries through the whole parse took 3-4 s on a cold 2-core VM, and past a 5 s read deadline under load).
     */
    public static Contents parse(byte[] all, String source, int maxEntries) {
        if (maxEntries < 0 || maxEntries > MAX_ENTRIES) {
            throw new IllegalArgumentException("maxEntries must be in [0, " + MAX_ENTRIES + "], got " + maxEntries);
        }
        if (all.length < 8) {
            throw bad(source, "file too short for a safetensors header (" + all.length + " bytes)");
        }
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER || n > all.length - 8L) {
            throw bad(source, "header length " + Long.toUnsignedString(n) + " is invalid for a file of " + all.length + " bytes"
                    + " (truncated file, or not a safetensors file)");
        }
        int objects = 0; // every entry is a JSON object: count them before parsing (an over-count only refuses earlier)
        for (int i = 8; i < 8 + (int) n; i++) {
            if (all[i] == '{' && ++objects > maxEntries + 2) { // + the header and __metadata__
                throw bad(source, "the header describes more than " + maxEntries + " tensors");
            }
        }
        if (all[8] != '{') { // the format's rule (the reference reader refuses InvalidHeaderStart)
            throw bad(source, "the header does not start with '{' (byte 0x" + Integer.toHexString(all[8] & 0xff) + ")");
        }
        String text;
        try { // strict UTF-8, as the reference reader: malformed bytes were replaced by U+FFFD, two names could become one
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(ByteBuffer.wrap(all, 8, (int) n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw bad(source, "the header is not valid UTF-8 (" + e.getMessage() + ")");
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw bad(source, e.getMessage());
        }
        if (!(root instanceof Map<?, ?> header)) {
            throw bad(source, "the header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataLength = all.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA)) {
                if (!(e.getValue() instanceof Map<?, ?> m)) {
                    throw bad(source, METADATA + " must be an object of strings");
                }
                for (Map.Entry<?, ?> me : m.entrySet()) {
                    if (!(me.getValue() instanceof String v)) {
                        throw bad(source, METADATA + " values must be strings (key '" + me.getKey() + "')");
                    }
                    metadata.put((String) me.getKey(), v);
                }
                continue;
            }
            entries.add(entry(source, name, e.getValue()));
        }
        if (entries.size() > maxEntries) { // the scan above counts braces: it lets a couple more through
            throw bad(source, "the header describes " + entries.size() + " tensors; at most " + maxEntries);
        }
        // the byte ranges must tile [0, dataLength) exactly, like the reference implementation requires
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expect = 0;
        for (Entry en : sorted) {
            if (en.begin() != expect) {
                throw bad(source, "tensor '" + en.name() + "' starts at byte " + en.begin() + " but the previous tensor ends at " + expect
                        + " (overlapping or missing data)");
            }
            expect = en.end();
        }
        if (expect != dataLength) {
            throw bad(source, "tensors cover " + expect + " data bytes but the file holds " + dataLength + " (truncated or trailing data)");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (MemoryScope u = MemoryScope.unscoped()) {
            for (Entry en : entries) {
                ByteBuffer b = ByteBuffer.wrap(all, (int) (dataStart + en.begin()), (int) (en.end() - en.begin())).order(ByteOrder.LITTLE_ENDIAN);
                int count = (int) ((en.end() - en.begin()) / en.dtype().byteSize());
                if (en.dtype() == DType.BOOL) {
                    boolean[] v = new boolean[count];
                    for (int i = 0; i < count; i++) {
                        v[i] = b.get() != 0; // relative: the buffer starts at this tensor's bytes
                    }
                    Tensor t = Tensor.of(v, en.shape().length == 0 ? new int[] {1} : en.shape());
                    tensors.put(en.name(), en.shape().length == 0 ? t.reshape() : t);
                } else if (en.dtype() == DType.FLOAT32) {
                    float[] v = new float[count];
                    b.asFloatBuffer().get(v);
                    tensors.put(en.name(), en.shape().length == 0 ? Tensor.scalar(v[0]) : Tensor.of(v, en.shape()));
                } else {
                    long[] v = new long[count];
                    b.asLongBuffer().get(v);
                    tensors.put(en.name(), en.shape().length == 0 ? Tensor.scalarLong(v[0]) : Tensor.of(v, en.shape()));
                }
            }
        }
        return new Contents(tensors, metadata);
    }

    private static Entry entry(String source, String name, Object value) {
        if (!(value instanceof Map<?, ?> m)) {
            throw bad(source, "entry '" + name + "' is not an object");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw bad(source, "tensor '" + name + "' has no dtype");
        }
        DType dtype = switch (dt) {
            case "F32" -> DType.FLOAT32;
            case "I64" -> DType.INT64;
            case "BOOL" -> DType.BOOL;
            default -> throw bad(source, "tensor '" + name + "' has dtype " + dt + ", which Lanes does not support (F32, I64 and BOOL only)");
        };
        if (!(m.get("shape") instanceof List<?> sh)) {
            throw bad(source, "tensor '" + name + "' has no shape");
        }
        if (sh.size() > MAX_RANK) {
            throw bad(source, "tensor '" + name + "' has " + sh.size() + " dimensions; at most " + MAX_RANK);
        }
        int[] shape = new int[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(sh.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw bad(source, "tensor '" + name + "' has an invalid shape " + sh);
            }
            shape[i] = (int) (long) d;
            numel *= d; // each factor <= 2^31 and numel <= 2^31 before: no overflow
            if (numel > Integer.MAX_VALUE) {
                throw bad(source, "tensor '" + name + "' of shape " + sh + " has more elements than Lanes supports");
            }
        }
        if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2 || !(off.get(0) instanceof Long begin)
                || !(off.get(1) instanceof Long end) || begin < 0 || end < begin) {
            throw bad(source, "tensor '" + name + "' has invalid data_offsets " + m.get("data_offsets"));
        }
        if (end - begin != numel * dtype.byteSize()) {
            throw bad(source, "tensor '" + name + "' of shape " + sh + " and dtype " + dt + " needs " + numel * dtype.byteSize()
                    + " bytes but its data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static IllegalArgumentException bad(Object source, String what) {
        return new IllegalArgumentException("invalid safetensors file " + source + ": " + what);
    }
}
