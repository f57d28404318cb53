package dev.lanes.data;

import dev.lanes.io.ReadLimits;
import java.io.BufferedInputStream;
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

    /**
     * Reads a plain or gzip IDX file. Its size, and the size its header declares, are checked against
     * {@link ReadLimits} before anything is allocated; a gzip stream is inflated only as far as the header says
     * (a bomb that inflates further is refused as trailing data, not held in memory).
     */
    public static Array read(Path file) throws IOException {
        return readFile(file, -1, 0);
    }

    /**
     * Reads items {@code [first, first + count)} (along the first dimension) of a plain or gzip IDX file, inflating
     * only as far as the last of them: one image of a 10,000-image file costs microseconds, not the whole file (the
     * example CLI's cold start). The header is checked as {@link #read(Path)} checks it; items past the header's
     * count are refused. The result's first dimension is {@code count}. Bytes after the last item are not read, so
     * a file with trailing data is not noticed here.
     */
    public static Array readItems(Path file, int first, int count) throws IOException {
        if (first < 0 || count < 0) {
            throw new IllegalArgumentException("IDX items [" + first + ", " + first + " + " + count + ") of " + file + ": first and count must be >= 0");
        }
        return readFile(file, first, count);
    }

    /** The dimensions an IDX file's header declares (checked as {@link #read(Path)} checks them); nothing else is read. */
    public static int[] dims(Path file) throws IOException {
        return readFile(file, -2, 0).dims();
    }

    /** Whole file ({@code first == -1}), the header only ({@code -2}) or items [first, first + count). */
    private static Array readFile(Path file, int first, int count) throws IOException {
        ReadLimits.requireRegularFile(file, "IDX file");
        ReadLimits.check(Files.size(file), "IDX file " + file);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            in.mark(2);
            boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
            in.reset();
            if (!gzip) {
                return select(in, file.toString(), first, count);
            }
            try (InputStream gz = new GZIPInputStream(in)) {
                return select(gz, file.toString(), first, count);
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                throw new IllegalArgumentException("corrupt gzip data in IDX file " + file + ": " + e.getMessage(), e);
            }
        }
    }

    private static Array select(InputStream in, String source, int first, int count) throws IOException {
        if (first == -1) {
            return read(in, source, ReadLimits.maxBytes());
        }
        if (first == -2) {
            int[] dims = header(in, source);
            count(dims, source);
            return new Array(dims, new byte[0]);
        }
        return items(in, source, first, count);
    }

    private static Array items(InputStream in, String source, int first, int count) throws IOException {
        int[] dims = header(in, source);
        // dims whose product is exactly Long.MAX_VALUE wrapped the header-plus-data total negative, past the check
        long payload = count(dims, source);
        long total = payload > ReadLimits.maxBytes() ? payload : 4L + 4L * dims.length + payload;
        if (total > ReadLimits.maxBytes()) { // as read() refuses it: a gzip bomb is not inflated even to skip
            throw new IllegalArgumentException("IDX file " + source + " declares " + Arrays.toString(dims) + " = " + total
                    + " bytes, above the limit of " + ReadLimits.maxBytes() + " bytes (-Dlanes.io.maxBytes)");
        }
        if ((long) first + count > dims[0]) {
            throw new IllegalArgumentException("IDX file " + source + " has " + dims[0] + " items " + Arrays.toString(dims) + "; asked for ["
                    + first + ", " + ((long) first + count) + ")");
        }
        long itemBytes = count(Arrays.copyOfRange(dims, 1, dims.length), source);
        long bytes = Math.multiplyExact(itemBytes, count);
        if (bytes > ReadLimits.MAX_ARRAY) {
            throw new IllegalArgumentException("IDX items [" + first + ", " + ((long) first + count) + ") of " + source + " are " + bytes
                    + " values, more than one array holds (" + ReadLimits.MAX_ARRAY + ")");
        }
        long skip = itemBytes * first;
        try {
            in.skipNBytes(skip);
        } catch (java.io.EOFException e) {
            throw truncated(source, dims);
        }
        byte[] data = in.readNBytes((int) bytes);
        if (data.length < bytes) {
            throw truncated(source, dims);
        }
        int[] out = dims.clone();
        out[0] = count;
        return new Array(out, data);
    }

    private static IllegalArgumentException truncated(String source, int[] dims) {
        return new IllegalArgumentException("IDX file " + source + " ends before the items its header " + Arrays.toString(dims)
                + " declares (truncated)");
    }

    /** The magic number, the type and the dimensions, checked; the stream is left at the first value. */
    private static int[] header(InputStream in, String source) throws IOException {
        byte[] head = in.readNBytes(4);
        if (head.length < 4 || head[0] != 0 || head[1] != 0) {
            throw new IllegalArgumentException("not an IDX file (bad magic number): " + source);
        }
        int type = head[2] & 0xff;
        if (type != 0x08) {
            throw new IllegalArgumentException("IDX file " + source + " has element type 0x" + Integer.toHexString(type)
                    + "; only unsigned bytes (0x08) are supported");
        }
        int nd = head[3] & 0xff;
        byte[] dimBytes = nd == 0 || nd > 4 ? new byte[0] : in.readNBytes(4 * nd);
        if (nd == 0 || nd > 4 || dimBytes.length < 4 * nd) {
            throw new IllegalArgumentException("IDX file " + source + " is truncated or has " + nd + " dimensions");
        }
        return dims(dimBytes, nd, source);
    }

    /**
     * Reads one IDX array from a stream of exactly its bytes (nothing may follow). The declared size is computed
     * with exact arithmetic and must be at most {@code maxBytes} (and fit a Java array) before the data is read.
     */
    public static Array read(InputStream in, String source, long maxBytes) throws IOException {
        int[] dims = header(in, source);
        int nd = dims.length;
        long count = count(dims, source);
        long total = 4L + 4L * nd + count;
        if (total > maxBytes) {
            throw new IllegalArgumentException("IDX file " + source + " declares " + Arrays.toString(dims) + " = " + total
                    + " bytes, above the limit of " + maxBytes + " bytes (-Dlanes.io.maxBytes)");
        }
        if (count > ReadLimits.MAX_ARRAY) {
            throw new IllegalArgumentException("IDX file " + source + " declares " + Arrays.toString(dims) + " = " + count
                    + " values, more than one array holds (" + ReadLimits.MAX_ARRAY + ")");
        }
        byte[] data = in.readNBytes((int) count); // grows as bytes arrive: a short file allocates little
        if (data.length < count) {
            throw new IllegalArgumentException("IDX file " + source + " has " + (4L + 4L * nd + data.length) + " bytes but its header "
                    + Arrays.toString(dims) + " needs " + total + " (truncated)");
        }
        if (in.read() != -1) {
            throw new IllegalArgumentException("IDX file " + source + " has more bytes than the " + total + " its header "
                    + Arrays.toString(dims) + " needs (trailing data)");
        }
        return new Array(dims, data);
    }

    private static int[] dims(byte[] b, int nd, String source) {
        int[] dims = new int[nd];
        for (int i = 0; i < nd; i++) {
            int o = 4 * i;
            dims[i] = ((b[o] & 0xff) << 24) | ((b[o + 1] & 0xff) << 16) | ((b[o + 2] & 0xff) << 8) | (b[o + 3] & 0xff);
            if (dims[i] < 0) {
                throw new IllegalArgumentException("IDX file " + source + " has a negative dimension " + dims[i]);
            }
        }
        return dims;
    }

    /** The product of the dimensions, exactly: [65536, 65536, 65536, 65536] must not wrap around to 0. */
    private static long count(int[] dims, String source) {
        try {
            long count = 1;
            for (int d : dims) {
                count = Math.multiplyExact(count, d);
            }
            return count;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("IDX file " + source + " declares dimensions " + Arrays.toString(dims)
                    + " whose product overflows 64 bits");
        }
    }

    /** Parses IDX bytes; {@code source} names them in errors. */
    public static Array parse(byte[] b, String source) {
        try {
            return read(new java.io.ByteArrayInputStream(b), source, Long.MAX_VALUE);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a byte array never fails to read
        }
    }
}
