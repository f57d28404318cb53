package dev.lanes.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte (0x08 = unsigned byte, the only one these
 * data sets use), the number of dimensions, each dimension as a big-endian int, then the values. Plain or gzip
 * files (recognised by their magic bytes). Truncated, oversized or corrupt files are rejected with a message naming
 * the file.
 */
public final class Idx {
    private Idx() {
    }

    /** An unsigned-byte IDX array: its dimensions and values in row-major order. */
    public record Array(int[] dims, byte[] data) {
        public int count() {
            return dims.length == 0 ? 0 : dims[0];
        }

        /** Value {@code i} as 0..255. */
        public int unsigned(int i) {
            return data[i] & 0xff;
        }
    }

    public static Array read(Path file) throws IOException {
        byte[] raw;
        try (InputStream in = Files.newInputStream(file)) {
            raw = in.readAllBytes();
        }
        if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
            try (InputStream gz = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length * 4);
                gz.transferTo(out);
                raw = out.toByteArray();
            } catch (IOException e) {
                throw new IllegalArgumentException("corrupt gzip data in IDX file " + file + ": " + e.getMessage(), e);
            }
        }
        return parse(raw, file.toString());
    }

    /** Parses IDX bytes; {@code source} names them in errors. */
    public static Array parse(byte[] b, String source) {
        if (b.length < 4 || b[0] != 0 || b[1] != 0) {
            throw new IllegalArgumentException("not an IDX file (bad magic number): " + source);
        }
        int type = b[2] & 0xff;
        if (type != 0x08) {
            throw new IllegalArgumentException("IDX file " + source + " has element type 0x" + Integer.toHexString(type)
                    + "; only unsigned bytes (0x08) are supported");
        }
        int nd = b[3] & 0xff;
        if (nd == 0 || nd > 4 || b.length < 4 + 4 * nd) {
            throw new IllegalArgumentException("IDX file " + source + " is truncated or has " + nd + " dimensions");
        }
        int[] dims = new int[nd];
        long count = 1;
        for (int i = 0; i < nd; i++) {
            int o = 4 + 4 * i;
            dims[i] = ((b[o] & 0xff) << 24) | ((b[o + 1] & 0xff) << 16) | ((b[o + 2] & 0xff) << 8) | (b[o + 3] & 0xff);
            if (dims[i] < 0) {
                throw new IllegalArgumentException("IDX file " + source + " has a negative dimension " + dims[i]);
            }
            count *= dims[i];
        }
        long expected = 4L + 4L * nd + count;
        if (b.length != expected) {
            throw new IllegalArgumentException("IDX file " + source + " has " + b.length + " bytes but its header " + Arrays.toString(dims)
                    + " needs " + expected + (b.length < expected ? " (truncated)" : " (trailing data)"));
        }
        return new Array(dims, Arrays.copyOfRange(b, 4 + 4 * nd, b.length));
    }
}
