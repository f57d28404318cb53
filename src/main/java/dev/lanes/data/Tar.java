package dev.lanes.data;

import dev.lanes.io.ReadLimits;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads tar archives (plain or gzip, recognised by their magic bytes), like Python's {@code tarfile} for the data
 * sets torchvision unpacks, but for hostile input: only regular files and directories are extracted (names from
 * ustar headers, pax {@code path} records or GNU long-name entries); links, devices, FIFOs, sparse files and
 * entries of unknown type are refused, and so are absolute names, names with a
 * {@code ..} component, a backslash or a drive letter. Every header's checksum is checked, every size is parsed
 * exactly and bounded (one entry and the whole archive at most {@code maxBytes}, at most {@link #MAX_ENTRIES}
 * entries) before anything is written, and a gzip stream is read to its end so its CRC is checked. Errors are
 * {@link IllegalArgumentException}s naming the archive, the entry and the offending value.
 */
public final class Tar {
    /** The most entries (headers) one archive may have. */
    public static final int MAX_ENTRIES = 1 << 16;
    /** The most a pax extended header may hold. */
    static final int MAX_PAX_BYTES = 1 << 16;
    /** The most bytes after the end-of-archive blocks (tar pads its output to 10 KiB records). */
    static final int MAX_TRAILING_BYTES = 1 << 20;
    private static final int BLOCK = 512;

    private Tar() {
    }

    /** A regular file or directory of an archive. */
    public record Entry(String name, long size, boolean directory) {
    }

    /** Receives the entries of {@link #read}. */
    interface Sink {
        /** A regular file: {@code data} holds exactly its {@code entry.size()} bytes. */
        void file(Entry entry, InputStream data) throws IOException;

        void directory(Entry entry) throws IOException;
    }

    /** The entries of a plain or gzip archive, read to the end (so corruption is found) without writing anything. */
    public static List<Entry> list(Path archive, long maxBytes) throws IOException {
        List<Entry> entries = new ArrayList<>();
        read(archive, maxBytes, new Sink() {
            @Override
            public void file(Entry entry, InputStream data) throws IOException {
                data.transferTo(OutputStream.nullOutputStream());
                entries.add(entry);
            }

            @Override
            public void directory(Entry entry) {
                entries.add(entry);
            }
        });
        return entries;
    }

    /**
     * Extracts a plain or gzip archive into {@code dir} (created if missing), the files' contents at most
     * {@code maxBytes} in all; returns the entries extracted. A refused archive may leave part of its files in
     * {@code dir}: extract into a fresh directory and move what you need out of it.
     */
    public static List<Entry> extract(Path archive, Path dir, long maxBytes) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        Files.createDirectories(root);
        List<Entry> entries = new ArrayList<>();
        read(archive, maxBytes, new Sink() {
            @Override
            public void file(Entry entry, InputStream data) throws IOException {
                Path target = inside(root, entry, archive);
                directories(target.getParent(), root, entry, archive);
                if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IllegalArgumentException("tar archive " + archive + ": file entry '" + entry.name()
                            + "' has the name of a directory already there (made by an earlier entry, or in " + root + ")");
                }
                // never through a link already there: the archive cannot make links, and none is followed
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    data.transferTo(out);
                }
                entries.add(entry);
            }

            @Override
            public void directory(Entry entry) throws IOException {
                directories(inside(root, entry, archive), root, entry, archive);
                entries.add(entry);
            }
        });
        return entries;
    }

    /**
     * {@code dir} and its missing parents below {@code root}; an entry whose folder (or one above it) is a file or a link
     * already there, e.g. an archive holding a file {@code a} and a file {@code a/b}, is refused naming both (a link is
     * never followed, as for files).
     */
    private static void directories(Path dir, Path root, Entry entry, Path archive) throws IOException {
        for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalArgumentException("tar archive " + archive + ": entry '" + entry.name() + "' needs '" + root.relativize(p)
                        + "' to be a directory, but a file or a link of that name is there (made by an earlier entry, or in " + root + ")");
            }
        }
        Files.createDirectories(dir);
    }

    private static Path inside(Path root, Entry entry, Path archive) {
        Path target = root.resolve(entry.name()).normalize();
        if (!target.startsWith(root) || target.equals(root)) { // checked names cannot get here; a second guard costs nothing
            throw new IllegalArgumentException("tar archive " + archive + ": entry '" + entry.name() + "' lies outside " + root);
        }
        return target;
    }

    /** Reads a plain or gzip archive file, giving its regular files and directories to {@code sink}. */
    static void read(Path archive, long maxBytes, Sink sink) throws IOException {
        ReadLimits.requireRegularFile(archive, "tar archive");
        ReadLimits.check(Files.size(archive), "tar archive " + archive);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16)) {
            in.mark(2);
            boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
            in.reset();
            if (!gzip) {
                read(in, archive.toString(), maxBytes, sink);
                return;
            }
            try (InputStream gz = new GZIPInputStream(in, 1 << 16)) {
                read(gz, archive.toString(), maxBytes, sink);
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                throw new IllegalArgumentException("corrupt gzip data in tar archive " + archive + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Reads an archive from {@code in} ({@code source} names it in errors) to its end, including what follows the
     * end-of-archive blocks (at most {@link #MAX_TRAILING_BYTES}, so a gzip CRC is reached).
     */
    static void read(InputStream in, String source, long maxBytes, Sink sink) throws IOException {
        byte[] h = new byte[BLOCK];
        long offset = 0;
        long total = 0;
        int count = 0;
        String longName = null; // from a pax 'path' record or a GNU long-name entry: the next entry's name
        while (true) {
            int n = in.readNBytes(h, 0, BLOCK);
            if (n == 0) {
                break; // no end-of-archive blocks: accepted, like tar and Python's tarfile
            }
            if (n < BLOCK) {
                throw new IllegalArgumentException("tar archive " + source + " is truncated: " + n + " bytes of a header at offset " + offset);
            }
            if (allZero(h)) {
                drain(in, source, offset + BLOCK);
                break;
            }
            if (++count > MAX_ENTRIES) {
                throw new IllegalArgumentException("tar archive " + source + " has more than " + MAX_ENTRIES + " entries");
            }
            checkChecksum(h, source, offset);
            char type = (char) (h[156] & 0xff);
            String name = type == 'x' || type == 'g' || type == 'L' || longName == null ? name(h, source, offset) : longName;
            if (type != 'x' && type != 'g' && type != 'L') {
                longName = null;
            }
            long size = size(h, source, name);
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            offset += BLOCK;
            switch (type) {
                case '0', '\0', '7' -> {
                    if (name.endsWith("/")) { // an old (V7) archive's directory
                        if (size != 0) {
                            throw new IllegalArgumentException("tar archive " + source + ": directory entry '" + name + "' declares " + size
                                    + " bytes");
                        }
                        directory(checkedName(name, source, true), sink);
                        break;
                    }
                    if (size > maxBytes || total > maxBytes - size) {
                        throw new IllegalArgumentException("tar archive " + source + ": entry '" + name + "' of " + size + " bytes takes the "
                                + "files past " + maxBytes + " bytes, more than this archive may hold");
                    }
                    total += size;
                    Entry e = new Entry(checkedName(name, source, false), size, false);
                    Bounded data = new Bounded(in, size, source, name);
                    sink.file(e, data);
                    if (data.left > 0) {
                        data.transferTo(OutputStream.nullOutputStream());
                    }
                    skip(in, padded - size, source, name);
                }
                case '5' -> {
                    if (size != 0) {
                        throw new IllegalArgumentException("tar archive " + source + ": directory entry '" + name + "' declares " + size + " bytes");
                    }
                    directory(checkedName(name, source, true), sink);
                }
                case 'x', 'g', 'L' -> {
                    String what = type == 'L' ? "GNU long name '" + name + "'" : "pax header '" + name + "'";
                    if (size > MAX_PAX_BYTES) {
                        throw new IllegalArgumentException("tar archive " + source + ": " + what + " of " + size
                                + " bytes is above the " + MAX_PAX_BYTES + " such a header may hold");
                    }
                    byte[] data = in.readNBytes((int) size);
                    if (data.length < size) {
                        throw new IllegalArgumentException("tar archive " + source + " is truncated in " + what);
                    }
                    if (type == 'L') {
                        longName = text(data, 0, data.length, source);
                    } else {
                        String path = pax(data, source, what);
                        if (path != null && type == 'g') {
                            throw new IllegalArgumentException("tar archive " + source + ": global " + what + " sets a path for every entry");
                        }
                        longName = path != null ? path : longName;
                    }
                    skip(in, padded - size, source, name);
                }
                case '1', '2' -> throw new IllegalArgumentException("tar archive " + source + ": entry '" + name + "' is a "
                        + (type == '1' ? "hard" : "symbolic") + " link to '" + field(h, 157, 100) + "'; links are not extracted");
                case '3', '4', '6' -> throw new IllegalArgumentException("tar archive " + source + ": entry '" + name + "' is a "
                        + (type == '6' ? "FIFO" : "device") + "; only regular files and directories are extracted");
                default -> throw new IllegalArgumentException("tar archive " + source + ": entry '" + name + "' has type '"
                        + printable(type) + "'; only regular files and directories are extracted");
            }
            offset += padded;
        }
    }

    /** A directory entry; the archive's root ({@code ./}) is the target folder itself, not an entry. */
    private static void directory(String name, Sink sink) throws IOException {
        if (!name.isEmpty()) {
            sink.directory(new Entry(name, 0, true));
        }
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** Reads what follows the end of the archive (zero padding) to the end of the stream, within a bound. */
    private static void drain(InputStream in, String source, long offset) throws IOException {
        byte[] buf = new byte[8192];
        long left = MAX_TRAILING_BYTES;
        int n;
        while ((n = in.read(buf)) > 0) {
            left -= n;
            if (left < 0) {
                throw new IllegalArgumentException("tar archive " + source + " has more than " + MAX_TRAILING_BYTES
                        + " bytes after its end at offset " + offset + " (trailing data)");
            }
        }
    }

    /** Skips the zero padding after an entry's data. */
    private static void skip(InputStream in, long n, String source, String name) throws IOException {
        if (in.readNBytes((int) n).length < n) { // n < 512
            throw new IllegalArgumentException("tar archive " + source + " is truncated after entry '" + name + "'");
        }
    }

    /** The header checksum: the sum of its bytes (unsigned) with the checksum field read as spaces. */
    private static void checkChecksum(byte[] h, String source, long offset) {
        long stored = octal(h, 148, 8, source, "header checksum at offset " + offset);
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += i >= 148 && i < 156 ? ' ' : h[i] & 0xff;
        }
        if (sum != stored) {
            throw new IllegalArgumentException("tar archive " + source + ": bad header checksum at offset " + offset + " (stored " + stored
                    + ", computed " + sum + "): corrupt, or not a tar archive");
        }
    }

    /** The entry's name: ustar's prefix and name (GNU headers keep other data where the prefix would be). */
    private static String name(byte[] h, String source, long offset) {
        String name = field(h, 0, 100);
        boolean posix = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r' && h[262] == 0;
        if (posix) {
            String prefix = field(h, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("tar archive " + source + ": entry at offset " + offset + " has an empty name");
        }
        return name;
    }

    /** A NUL-terminated field of a header, as UTF-8 text. */
    private static String field(byte[] h, int at, int len) {
        return text(h, at, len, "a tar archive");
    }

    /** {@code len} bytes (up to a NUL) as UTF-8 text; bytes that are not UTF-8 are refused. */
    private static String text(byte[] b, int at, int len, String source) {
        int end = at;
        while (end < at + len && b[end] != 0) {
            end++;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, at, end - at)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(source + ": a name or header field is not UTF-8 text");
        }
    }

    /**
     * The name of a file to extract, refused when it could leave the target directory or mean something else
     * on another system: absolute, a {@code ..} component, a backslash, a drive letter, a control character. A
     * directory named {@code ./} is the target folder itself: its name is empty.
     */
    static String checkedName(String raw, String source, boolean directory) {
        String why = null;
        if (raw.startsWith("/")) {
            why = "an absolute path";
        } else if (raw.indexOf('\\') >= 0) {
            why = "a backslash";
        } else if (raw.length() >= 2 && raw.charAt(1) == ':') {
            why = "a drive letter";
        } else if (raw.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            why = "a control character";
        }
        List<String> parts = new ArrayList<>();
        for (String part : raw.split("/")) {
            if (part.equals("..")) {
                why = "a '..' component";
            } else if (!part.isEmpty() && !part.equals(".")) {
                parts.add(part);
            }
        }
        if (why == null && parts.isEmpty() && !directory) {
            why = "no file name";
        }
        if (why != null) {
            throw new IllegalArgumentException("tar archive " + source + ": entry '" + raw.replaceAll("\\p{Cntrl}", "?") + "' has " + why
                    + "; it is not extracted");
        }
        return String.join("/", parts);
    }

    /** The size field: octal digits (base-256 sizes, over 8 GiB, are refused). */
    private static long size(byte[] h, String source, String name) {
        if ((h[124] & 0x80) != 0) {
            throw new IllegalArgumentException("tar archive " + source + ": entry '" + name + "' has a base-256 size (8 GiB or more)");
        }
        return octal(h, 124, 12, source, "size of entry '" + name + "'");
    }

    /** An octal number padded with spaces or NULs; at most 11 digits, so it cannot overflow. */
    private static long octal(byte[] h, int at, int len, String source, String what) {
        int i = at;
        int end = at + len;
        while (i < end && h[i] == ' ') {
            i++;
        }
        long v = 0;
        int digits = 0;
        for (; i < end && h[i] >= '0' && h[i] <= '7'; i++) {
            if (++digits > 11) {
                throw new IllegalArgumentException("tar archive " + source + ": " + what + " has more than 11 octal digits");
            }
            v = v * 8 + (h[i] - '0');
        }
        for (; i < end; i++) {
            if (h[i] != 0 && h[i] != ' ') {
                throw new IllegalArgumentException("tar archive " + source + ": " + what + " is not an octal number: '"
                        + new String(h, at, len, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", "?") + "'");
            }
        }
        if (digits == 0) {
            throw new IllegalArgumentException("tar archive " + source + ": " + what + " is empty");
        }
        return v;
    }

    /**
     * A pax header's records ({@code "len key=value\n"}): returns the {@code path} it sets (or null), checked like
     * any name when its entry comes; a size (only needed past 8 GiB) or sparse data is refused; the rest (times,
     * owners, attributes, a link's target) is ignored.
     */
    private static String pax(byte[] pax, String source, String what) {
        String path = null;
        int at = 0;
        while (at < pax.length) {
            if (pax[at] == 0) {
                break; // NUL padding
            }
            int sp = at;
            long len = 0;
            while (sp < pax.length && pax[sp] >= '0' && pax[sp] <= '9' && sp - at < 6) {
                len = len * 10 + (pax[sp] - '0');
                sp++;
            }
            if (sp >= pax.length || pax[sp] != ' ' || len <= sp - at || at + len > pax.length || pax[(int) (at + len - 1)] != '\n') {
                throw new IllegalArgumentException("tar archive " + source + ": malformed " + what + " at byte " + at);
            }
            String record = text(pax, sp + 1, (int) (at + len - sp - 2), "tar archive " + source);
            int eq = record.indexOf('=');
            String key = eq < 0 ? record : record.substring(0, eq);
            if (key.equals("size") || key.startsWith("GNU.sparse")) {
                throw new IllegalArgumentException("tar archive " + source + ": " + what + " sets '" + key
                        + "', which this reader does not support");
            }
            if (key.equals("path")) {
                path = record.substring(eq + 1);
            }
            at += (int) len;
        }
        return path;
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c);
    }

    /** Exactly {@code left} bytes of the underlying stream; a short stream is a truncated archive. */
    private static final class Bounded extends InputStream {
        private final InputStream in;
        private final String source;
        private final String name;
        long left;

        Bounded(InputStream in, long size, String source, String name) {
            this.in = in;
            this.left = size;
            this.source = source;
            this.name = name;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new IllegalArgumentException("tar archive " + source + " is truncated in entry '" + name + "': " + left
                        + " of its bytes are missing");
            }
            left -= n;
            return n;
        }

        @Override
        public void close() {
            // the archive's stream stays open for the next entry
        }
    }
}
