package dev.lanes.io;

import java.util.Locale;

/**
 * How much a reader may take in from one file or download: a data file, a weight file, a decompressed stream.
 * Files and the network are assumed hostile, so every reader checks the sizes it is told (by a header, a length
 * field, a Content-Length) against this limit before it allocates, and stops a stream that runs past it.
 *
 * <p>{@code -Dlanes.io.maxBytes=N} sets it (a plain number of bytes or with a k, m or g suffix: {@code 8g}); the
 * default is {@value #DEFAULT_MAX_BYTES} bytes (4 GiB).
 */
public final class ReadLimits {
    public static final long DEFAULT_MAX_BYTES = 4L << 30;
    /** The largest Java array: readers that fill a {@code byte[]} cannot take more than this whatever the limit. */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private ReadLimits() {
    }

    /** The limit in force: {@code -Dlanes.io.maxBytes}, or 4 GiB. */
    public static long maxBytes() {
        String s = System.getProperty("lanes.io.maxBytes");
        if (s == null || s.isBlank()) {
            return DEFAULT_MAX_BYTES;
        }
        String v = s.trim().toLowerCase(Locale.ROOT);
        long unit = switch (v.charAt(v.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        try {
            long n = Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1));
            if (n <= 0) {
                throw new NumberFormatException("not positive");
            }
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("-Dlanes.io.maxBytes must be a positive byte count such as 4294967296 or 4g, got '" + s + "'");
        }
    }

    /**
     * Refuses a path that is not a regular file: a FIFO or a device reads as 0 bytes (so every size check passes)
     * and its reading may never end (a named pipe without a writer blocked for good; /dev/zero filled the heap).
     */
    public static void requireRegularFile(java.nio.file.Path path, String what) {
        if (!java.nio.file.Files.isRegularFile(path)) {
            throw new IllegalArgumentException(what + " " + path + " is not a regular file");
        }
    }

    /**
     * The bytes of a regular file (a FIFO or a device is refused: its size reads 0 and its reading may never end),
     * read no further than the limit (and {@code max}) even if the file grows meanwhile.
     */
    public static byte[] readFile(java.nio.file.Path path, long max, String what) throws java.io.IOException {
        requireRegularFile(path, what);
        long limit = Math.min(Math.min(maxBytes(), max), MAX_ARRAY - 1);
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(path)) {
            byte[] all = in.readNBytes((int) limit + 1);
            if (all.length > limit) {
                throw new IllegalArgumentException(what + " " + path + " is over the read limit of " + limit + " bytes (-Dlanes.io.maxBytes)");
            }
            return all;
        }
    }

    /** Refuses {@code bytes} of {@code what} (e.g. "IDX file x.gz, decompressed") above the limit, naming both. */
    public static void check(long bytes, String what) {
        long max = maxBytes();
        if (bytes > max) {
            throw new IllegalArgumentException(what + " is " + bytes + " bytes, above the limit of " + max
                    + " bytes (-Dlanes.io.maxBytes)");
        }
    }
}
