package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tar reader on good archives and on hostile ones: each refused with the archive, the entry and the reason. */
class TarTest {
    @TempDir
    Path dir;

    /** One tar entry to write: name, type flag, data, and (for links) a link target. */
    record E(String name, char type, byte[] data, String link, long declaredSize) {
        static E file(String name, byte[] data) {
            return new E(name, '0', data, "", data.length);
        }

        static E file(String name, String text) {
            return file(name, text.getBytes(StandardCharsets.UTF_8));
        }

        static E dir(String name) {
            return new E(name, '5', new byte[0], "", 0);
        }

        static E of(String name, char type, String link) {
            return new E(name, type, new byte[0], link, 0);
        }
    }

    /** A ustar header; a name over 100 bytes goes into the prefix field, split at a slash. */
    static byte[] header(String name, char type, long size, String link, boolean posix) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length > 100) {
            int cut = name.lastIndexOf('/', 155);
            put(h, 345, name.substring(0, cut));
            put(h, 0, name.substring(cut + 1));
        } else {
            System.arraycopy(n, 0, h, 0, n.length);
        }
        put(h, 100, "0000644");
        put(h, 108, "0001750");
        put(h, 116, "0001750");
        put(h, 124, String.format("%011o", size));
        put(h, 136, "14000000000");
        h[156] = (byte) type;
        put(h, 157, link);
        if (posix) {
            put(h, 257, "ustar");
            put(h, 263, "00");
        } else {
            put(h, 257, "ustar  "); // GNU
        }
        put(h, 265, "lanes");
        put(h, 297, "lanes");
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        h[155] = ' ';
        return h;
    }

    private static void put(byte[] h, int at, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(b, 0, h, at, b.length);
    }

    /** A ustar archive of the entries, ended by two zero blocks and padded to 10 KiB like tar's output. */
    static byte[] tar(E... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (E e : entries) {
            out.writeBytes(header(e.name(), e.type(), e.declaredSize(), e.link(), true));
            out.writeBytes(e.data());
            out.writeBytes(new byte[(512 - e.data().length % 512) % 512]);
        }
        out.writeBytes(new byte[1024]);
        out.writeBytes(new byte[(10240 - out.size() % 10240) % 10240]);
        return out.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void extractsFilesAndDirectoriesPlainOrGzip() throws IOException {
        byte[] big = new byte[1300];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        String longName = "deep/" + "d".repeat(90) + "/" + "f".repeat(60) + ".bin"; // past 100 bytes: ustar's prefix
        byte[] pax = "20 mtime=1700000000\n".getBytes(StandardCharsets.US_ASCII);
        byte[] archive = tar(E.dir("cifar-10-batches-bin/"), E.file("cifar-10-batches-bin/a.bin", big),
                new E("./cifar-10-batches-bin/pax", 'x', pax, "", pax.length), E.file("./cifar-10-batches-bin/meta.txt", "cat\ndog\n"),
                new E("old-style-dir/", '\0', new byte[0], "", 0), E.file(longName, "x"), E.file("empty", new byte[0]));
        for (Path a : List.of(write("a.tar", archive), write("a.tar.gz", DataTest.gzip(archive)))) {
            Path out = dir.resolve("out-" + a.getFileName());
            List<Tar.Entry> entries = Tar.extract(a, out, 1 << 20);
            assertThat(entries).extracting(Tar.Entry::name).containsExactly("cifar-10-batches-bin", "cifar-10-batches-bin/a.bin",
                    "cifar-10-batches-bin/meta.txt", "old-style-dir", longName, "empty");
            assertThat(Files.readAllBytes(out.resolve("cifar-10-batches-bin/a.bin"))).isEqualTo(big);
            assertThat(Files.readString(out.resolve("cifar-10-batches-bin/meta.txt"))).isEqualTo("cat\ndog\n");
            assertThat(out.resolve("old-style-dir")).isDirectory();
            assertThat(Files.readString(out.resolve(longName))).isEqualTo("x");
            assertThat(Files.size(out.resolve("empty"))).isZero();
            assertThat(Tar.list(a, 1 << 20)).isEqualTo(entries);
        }
        // a GNU-format header (magic "ustar  ") reads the same; its prefix area is not part of the name
        byte[] gnu = new byte[2048];
        System.arraycopy(header("g.txt", '0', 2, "", false), 0, gnu, 0, 512);
        gnu[512] = 'h';
        gnu[513] = 'i';
        assertThat(Tar.extract(write("gnu.tar", gnu), dir.resolve("gnu"), 100)).extracting(Tar.Entry::name).containsExactly("g.txt");
        assertThat(Files.readString(dir.resolve("gnu/g.txt"))).isEqualTo("hi");
    }

    @Test
    void aFileAndADirectoryOfOneNameAreRefusedNamingTheEntry() throws IOException {
        // a file, then a file below it: 'a' would have to be a folder
        Path a = write("clash1.tar", tar(E.file("a", "x"), E.file("a/b", "y")));
        assertThatThrownBy(() -> Tar.extract(a, dir.resolve("c1"), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a/b'").hasMessageContaining("'a'").hasMessageContaining("clash1.tar");
        // a directory, then a file of its name
        Path b = write("clash2.tar", tar(E.dir("d/"), E.file("d/in", "x"), E.file("d", "y")));
        assertThatThrownBy(() -> Tar.extract(b, dir.resolve("c2"), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("file entry 'd'");
        assertThat(Files.readString(dir.resolve("c2/d/in"))).as("what came before stays as it was").isEqualTo("x");
        // a file, then a directory of its name, deeper
        Path c = write("clash3.tar", tar(E.file("p/q", "x"), E.dir("p/q/r/")));
        assertThatThrownBy(() -> Tar.extract(c, dir.resolve("c3"), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'p/q/r'").hasMessageContaining("'p/q'");
        // the same name twice as a file: the later one wins, as with tar
        Path d = write("twice.tar", tar(E.file("t", "first"), E.file("t", "second")));
        Tar.extract(d, dir.resolve("c4"), 1 << 20);
        assertThat(Files.readString(dir.resolve("c4/t"))).isEqualTo("second");
    }

    @Test
    void namesThatLeaveTheFolderAreRefusedAndNothingIsWrittenOutside() throws IOException {
        Path out = dir.resolve("inner").resolve("out");
        String[][] cases = {
                {"../evil.txt", "a '..' component"},
                {"ok/../../evil.txt", "a '..' component"},
                {"/tmp/evil.txt", "an absolute path"},
                {"..\\evil.txt", "a backslash"},
                {"C:evil.txt", "a drive letter"},
                {"bad\u0001name", "a control character"},
                {"./.", "no file name"},
        };
        for (String[] c : cases) {
            Path a = write("t.tar", tar(E.file("fine.txt", "fine"), E.file(c[0], "evil")));
            assertThatThrownBy(() -> Tar.extract(a, out, 1 << 20)).as(c[0]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(a.toString()).hasMessageContaining("has " + c[1]);
        }
        try (var walk = Files.walk(dir)) {
            assertThat(walk.filter(p -> p.getFileName().toString().contains("evil")).toList()).isEmpty();
        }
    }

    /** Names longer than a header holds: a pax 'path' record or a GNU long-name entry, checked like any other name. */
    @Test
    void longNamesFromPaxAndGnuHeadersAreUsedAndChecked() throws IOException {
        String longName = "cifar-10-batches-bin/" + "n".repeat(180) + ".bin";
        byte[] path = paxRecord("path", longName);
        byte[] gnu = (longName + "\0").getBytes(StandardCharsets.UTF_8);
        Path a = write("long.tar", tar(new E("PaxHeader/x", 'x', path, "", path.length), E.file("truncated-in-header", "p"),
                new E("././@LongLink", 'L', gnu, "", gnu.length), E.file("other", "g"), E.file("plain", "q")));
        assertThat(Tar.extract(a, dir.resolve("long"), 1 << 20)).extracting(Tar.Entry::name).containsExactly(longName, longName, "plain");
        assertThat(Files.readString(dir.resolve("long").resolve(longName))).isEqualTo("g");
        byte[] traversal = paxRecord("path", "../" + "e".repeat(120));
        byte[] absolute = ("/abs/" + "e".repeat(120) + "\0").getBytes(StandardCharsets.UTF_8);
        for (byte[] evil : new byte[][] {traversal, absolute}) {
            char type = evil[evil.length - 1] == 0 ? 'L' : 'x';
            Path b = write("evil.tar", tar(new E("h", type, evil, "", evil.length), E.file("innocent.txt", "x")));
            assertThatThrownBy(() -> Tar.extract(b, dir.resolve("evil"), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(type == 'x' ? "has a '..' component" : "has an absolute path");
        }
        assertThat(dir.resolve("evil/innocent.txt")).doesNotExist();
    }

    /** A pax record {@code "len key=value\n"}, its length counting itself. */
    static byte[] paxRecord(String key, String value) {
        int body = key.length() + value.length() + 3; // space, '=', newline
        int len = body + String.valueOf(body).length();
        len = body + String.valueOf(len).length();
        return (len + " " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void linksDevicesAndUnknownTypesAreRefused() throws IOException {
        Object[][] cases = {
                {E.of("link", '2', "/etc/passwd"), "is a symbolic link to '/etc/passwd'; links are not extracted"},
                {E.of("hard", '1', "fine.txt"), "is a hard link to 'fine.txt'"},
                {E.of("tty", '3', ""), "is a device"},
                {E.of("disk", '4', ""), "is a device"},
                {E.of("pipe", '6', ""), "is a FIFO"},
                {new E("././@LongLink", 'K', "x".repeat(200).getBytes(StandardCharsets.US_ASCII), "", 200), "has type 'K'"},
                {new E("sparse", 'S', new byte[0], "", 0), "has type 'S'"},
        };
        for (Object[] c : cases) {
            Path a = write("t.tar", tar(E.file("fine.txt", "fine"), (E) c[0]));
            assertThatThrownBy(() -> Tar.extract(a, dir.resolve("out"), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining((String) c[1]);
        }
        assertThat(Files.exists(dir.resolve("out/link"))).isFalse();
        byte[] setsSize = "20 size=99999999999\n".getBytes(StandardCharsets.US_ASCII);
        Path pax = write("pax.tar", tar(new E("PaxHeader/x", 'x', setsSize, "", setsSize.length), E.file("x", "x")));
        assertThatThrownBy(() -> Tar.list(pax, 1 << 20)).hasMessageContaining("pax header 'PaxHeader/x' sets 'size'");
        byte[] globalPath = "14 path=x.txt\n".getBytes(StandardCharsets.US_ASCII);
        Path global = write("g.tar", tar(new E("GlobalHead", 'g', globalPath, "", globalPath.length), E.file("x", "x")));
        assertThatThrownBy(() -> Tar.list(global, 1 << 20)).hasMessageContaining("global pax header 'GlobalHead' sets a path");
        byte[] malformed = "99 mtime=1\n".getBytes(StandardCharsets.US_ASCII);
        Path bad = write("pax2.tar", tar(new E("PaxHeader/y", 'x', malformed, "", malformed.length)));
        assertThatThrownBy(() -> Tar.list(bad, 1 << 20)).hasMessageContaining("malformed pax header");
    }

    @Test
    void oversizedTruncatedAndCorruptArchivesAreRefusedBeforeAllocating() throws IOException {
        // a header declaring 8 GiB - 1 bytes, followed by nothing: refused on its size, not by reading or allocating it
        Path huge = write("huge.tar", tar(new E("huge.bin", '0', new byte[0], "", 077777777777L)));
        assertThatThrownBy(() -> Tar.extract(huge, dir.resolve("o1"), 200_000_000L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("entry 'huge.bin' of 8589934591 bytes takes the files past 200000000 bytes");
        assertThat(dir.resolve("o1/huge.bin")).doesNotExist();
        // two entries that each fit but not together
        Path two = write("two.tar", tar(E.file("a", new byte[600]), E.file("b", new byte[600])));
        assertThatThrownBy(() -> Tar.list(two, 1000)).hasMessageContaining("entry 'b' of 600 bytes takes the files past 1000 bytes");
        // base-256 sizes (GNU, 8 GiB and up)
        byte[] b256 = tar(E.file("b256", "x"));
        b256[124] = (byte) 0x80;
        fixChecksum(b256, 0);
        assertThatThrownBy(() -> Tar.list(write("b256.tar", b256), 1 << 20)).hasMessageContaining("base-256 size");
        // a size that is not octal
        byte[] notOctal = tar(E.file("n", "x"));
        System.arraycopy("0000000009x\0".getBytes(StandardCharsets.US_ASCII), 0, notOctal, 124, 12);
        fixChecksum(notOctal, 0);
        assertThatThrownBy(() -> Tar.list(write("n.tar", notOctal), 1 << 20)).hasMessageContaining("size of entry 'n' is not an octal number");
        // truncated inside an entry's data, and inside a header
        byte[] good = tar(E.file("a.bin", new byte[3000]), E.file("b.bin", "b"));
        assertThatThrownBy(() -> Tar.list(write("cut.tar", Arrays.copyOf(good, 1500)), 1 << 20))
                .hasMessageContaining("is truncated in entry 'a.bin'");
        assertThatThrownBy(() -> Tar.list(write("cut2.tar", Arrays.copyOf(good, 512 + 3072 + 100)), 1 << 20))
                .hasMessageContaining("is truncated: 100 bytes of a header at offset 3584");
        // a flipped bit in a header, and random bytes
        byte[] flipped = good.clone();
        flipped[3] ^= 1;
        assertThatThrownBy(() -> Tar.list(write("flip.tar", flipped), 1 << 20)).hasMessageContaining("bad header checksum at offset 0");
        byte[] noise = new byte[4096];
        new java.util.Random(5).nextBytes(noise);
        assertThatThrownBy(() -> Tar.list(write("noise.tar", noise), 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("noise.tar");
        // corrupt gzip, and garbage after the end of the archive
        byte[] gz = DataTest.gzip(good);
        gz[gz.length - 6] ^= 0x40; // the CRC, read only at the end of the stream
        assertThatThrownBy(() -> Tar.list(write("crc.tar.gz", gz), 1 << 20)).hasMessageContaining("corrupt gzip data in tar archive");
        byte[] trailing = Arrays.copyOf(good, good.length + Tar.MAX_TRAILING_BYTES + 1);
        assertThatThrownBy(() -> Tar.list(write("trail.tar", trailing), 1 << 20)).hasMessageContaining("(trailing data)");
        // a directory that declares data, and more headers than any data set needs
        assertThatThrownBy(() -> Tar.list(write("d.tar", tar(new E("d/", '5', new byte[0], "", 7))), 1 << 20))
                .hasMessageContaining("directory entry 'd/' declares 7 bytes");
        ByteArrayOutputStream many = new ByteArrayOutputStream();
        byte[] h = header("d/", '5', 0, "", true);
        for (int i = 0; i <= Tar.MAX_ENTRIES; i++) {
            many.writeBytes(h);
        }
        assertThatThrownBy(() -> Tar.list(write("many.tar", many.toByteArray()), 1 << 20))
                .hasMessageContaining("more than " + Tar.MAX_ENTRIES + " entries");
    }

    private static void fixChecksum(byte[] archive, int at) {
        byte[] h = Arrays.copyOfRange(archive, at, at + 512);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] c = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(c, 0, archive, at + 148, 8);
    }

    /** An extraction into a folder that already holds a link does not write through the link. */
    @Test
    void anExistingLinkIsNotFollowed() throws IOException {
        Path outside = Files.writeString(dir.resolve("outside.txt"), "keep");
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.createSymbolicLink(out.resolve("f.txt"), outside);
        Path a = write("l.tar", tar(E.file("f.txt", "new")));
        assertThatThrownBy(() -> Tar.extract(a, out, 1 << 20)).isInstanceOf(IOException.class);
        assertThat(Files.readString(outside)).isEqualTo("keep");
    }
}
