package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.DType;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryPool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16: the character-level text data set (minGPT's CharDataset, nanoGPT's shakespeare_char). */
class CharDatasetTest {
    @TempDir
    Path dir;

    @Test
    void vocabularyIsTheSortedDistinctCharactersAndEncodeDecodeRoundTrip() {
        CharDataset ds = CharDataset.of("hello world\nhold!", 3);
        assertThat(ds.vocabulary()).isEqualTo("\n !dehlorw");
        assertThat(ds.vocabSize()).isEqualTo(10);
        assertThat(ds.encode("hello")).containsExactly(5, 4, 6, 6, 7);
        assertThat(ds.decode(5, 4, 6, 6, 7)).isEqualTo("hello");
        try (Tensor t = Tensor.of(ds.encode("world\n"))) {
            assertThat(ds.decode(t)).isEqualTo("world\n");
        }
        // code points, not UTF-16 units: an emoji (a surrogate pair) is one token, sorted by its code point
        CharDataset u = CharDataset.of("é😀a é", 1);
        assertThat(u.vocabulary()).isEqualTo(" aé😀");
        assertThat(u.length()).isEqualTo(5);
        assertThat(u.encode("😀é")).containsExactly(3, 2);
        assertThatThrownBy(() -> ds.encode("hex")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("character 'x' (U+0078) is not in the vocabulary of 10 characters");
        assertThatThrownBy(() -> ds.encode("\t")).hasMessageContaining("character (U+0009)");
        assertThatThrownBy(() -> ds.decode(10)).hasMessageContaining("token id 10 is outside the vocabulary of 10 characters");
        assertThatThrownBy(() -> ds.decode(-1)).hasMessageContaining("token id -1");
    }

    @Test
    void itemsAreWindowsWithTargetsShiftedByOne() {
        CharDataset ds = CharDataset.of("abcdefgh", 3);
        assertThat(ds.size()).isEqualTo(5); // len - blockSize, like minGPT
        CharDataset.Batch first = ds.get(0);
        assertThat(first.x().dtype()).isEqualTo(DType.INT64);
        assertThat(first.x().shape()).containsExactly(3);
        assertThat(first.x().toLongArray()).containsExactly(0, 1, 2);
        assertThat(first.y().toLongArray()).containsExactly(1, 2, 3);
        first.x().close();
        first.y().close();
        long[] x = new long[5];
        long[] y = new long[5];
        ds.fill(4, x, y, 2);
        assertThat(x).containsExactly(0, 0, 4, 5, 6);
        assertThat(y).containsExactly(0, 0, 5, 6, 7);
        assertThatThrownBy(() -> ds.fill(5, x, y, 0)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("window 5 of 5");
    }

    /** nanoGPT's shakespeare_char: 1,115,394 characters give train 1,003,854 and validation 111,540 tokens. */
    @Test
    void splitTakesTheFirstNinetyPercentForTrainingLikeNanoGpt() {
        char[] text = new char[1_115_394];
        for (int i = 0; i < text.length; i++) {
            text[i] = (char) ('a' + i * 7 % 26);
        }
        CharDataset ds = CharDataset.of(new String(text), 256);
        CharDataset.Split s = ds.split(0.9);
        assertThat(s.train().length()).isEqualTo(1_003_854);
        assertThat(s.validation().length()).isEqualTo(111_540);
        assertThat(s.validation().vocabulary()).isEqualTo(ds.vocabulary());
        long[] x = new long[256];
        long[] y = new long[256];
        s.validation().fill(0, x, y, 0);
        assertThat(x[0]).isEqualTo(ds.encode(String.valueOf(text[1_003_854]))[0]);
        assertThat(s.validation().size()).isEqualTo(111_540 - 256);
        assertThatThrownBy(() -> s.train().fill(s.train().size(), x, y, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(s.train().toString()).contains("[train 0..1003854)");
        // a small text: the validation part must still hold a window
        CharDataset small = CharDataset.of("abcdefghijklmnopqrstuvwxyz".repeat(2), 8);
        assertThatThrownBy(() -> small.split(0.9)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the validation part of the text of 52 characters (10%) has 6 characters, fewer than blockSize + 1 = 9");
        assertThatThrownBy(() -> small.split(1.0)).hasMessageContaining("between 0 and 1 (exclusive), got 1.0");
        assertThatThrownBy(() -> small.split(Double.NaN)).hasMessageContaining("got NaN");
    }

    @Test
    void emptyTextsAndWindowsTooLongAreRefused() throws IOException {
        assertThatThrownBy(() -> CharDataset.of("", 8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is empty: a character data set needs at least blockSize + 1 = 9 characters");
        assertThatThrownBy(() -> CharDataset.of("abcd", 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blockSize 4 must be less than the length of the text of 4 characters (4 characters)");
        assertThatThrownBy(() -> CharDataset.of("abcd", 0)).hasMessageContaining("blockSize must be positive, got 0");
        Path empty = Files.write(dir.resolve("empty.txt"), new byte[0]);
        assertThatThrownBy(() -> CharDataset.read(empty, 8)).hasMessageContaining("the text file " + empty + " is empty");
        Path shortFile = Files.writeString(dir.resolve("short.txt"), "to be");
        assertThatThrownBy(() -> CharDataset.read(shortFile, 64)).hasMessageContaining(shortFile.toString())
                .hasMessageContaining("blockSize 64 must be less than");
    }

    @Test
    void filesAreReadAsStrictUtf8PlainOrGzipWithinTheReadLimit() throws IOException {
        String text = "First Citizen:\nBefore we proceed any further, hear me speak.\nÆsop's fable — fin.\n";
        Path plain = Files.writeString(dir.resolve("input.txt"), text);
        Path gz = Files.write(dir.resolve("input.txt.gz"), DataTest.gzip(text.getBytes(StandardCharsets.UTF_8)));
        for (Path p : new Path[] {plain, gz}) {
            CharDataset ds = CharDataset.read(p, 16);
            assertThat(ds.length()).isEqualTo(text.codePointCount(0, text.length()));
            assertThat(ds.decode(ds.encode(text))).isEqualTo(text);
            assertThat(ds.vocabulary()).contains("Æ", "—");
        }
        byte[] bad = "abc\u00e9def".getBytes(StandardCharsets.ISO_8859_1); // a Latin-1 é: not UTF-8
        Path latin1 = Files.write(dir.resolve("latin1.txt"), bad);
        assertThatThrownBy(() -> CharDataset.read(latin1, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(latin1 + " is not UTF-8: malformed byte 0xe9 at offset 3");
        byte[] corrupt = DataTest.gzip(text.getBytes(StandardCharsets.UTF_8));
        corrupt[corrupt.length - 6] ^= 1;
        Path badGz = Files.write(dir.resolve("bad.txt.gz"), corrupt);
        assertThatThrownBy(() -> CharDataset.read(badGz, 2)).hasMessageContaining("corrupt gzip data in text file " + badGz);
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "64");
        try {
            assertThatThrownBy(() -> CharDataset.read(plain, 16)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("text file " + plain).hasMessageContaining("above the limit of 64 bytes");
            // a 1 KiB gzip that inflates to 1 MiB, past the limit: stopped at the limit, not held whole
            System.setProperty("lanes.io.maxBytes", "2k");
            Path bomb = Files.write(dir.resolve("bomb.txt.gz"), DataTest.gzip(new byte[1 << 20]));
            assertThatThrownBy(() -> CharDataset.read(bomb, 16)).hasMessageContaining("inflates to more than 2048 bytes");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
    }

    /**
     * Seeds s and s + 1 draw unrelated windows: the generator was seeded with seed * 0x9E3779B97F4A7C15, SplittableRandom's
     * own step, so seed 1's batches were seed 0's one window later (runs over seeds 0..k saw nearly one data order).
     */
    @Test
    void neighbouringSeedsDrawUnrelatedWindows() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            text.append((char) ('a' + i % 26));
        }
        CharDataset ds = CharDataset.of(text.toString(), 4);
        for (long seed = 0; seed < 4; seed++) {
            long[] starts0 = starts(ds, seed);
            long[] starts1 = starts(ds, seed + 1);
            assertThat(Arrays.copyOfRange(starts0, 1, 64)).as("seed %d", seed).isNotEqualTo(Arrays.copyOfRange(starts1, 0, 63));
        }
    }

    /** 64 batches of one window: their first token ids (windows of a 26-letter cycle start at distinct letters often enough). */
    private static long[] starts(CharDataset ds, long seed) {
        long[] out = new long[64];
        try (CharDataset.RandomBatches b = ds.randomBatches(1, seed)) {
            for (int i = 0; i < 64; i++) {
                long[] x = b.next().x().toLongArray();
                out[i] = x[0] * 1_000_000 + x[1] * 1000 + x[2];
            }
        }
        return out;
    }

    @Test
    void randomBatchesAreSeededReuseTheirTensorsAndCoverEveryWindow() {
        String text = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"; // each window starts with its own letter
        CharDataset ds = CharDataset.of(text, 8);
        long[] first;
        try (CharDataset.RandomBatches a = ds.randomBatches(4, 42); CharDataset.RandomBatches b = ds.randomBatches(4, 42);
                CharDataset.RandomBatches c = ds.randomBatches(4, 43)) {
            CharDataset.Batch ba = a.next();
            assertThat(ba.x().shape()).containsExactly(4, 8);
            assertThat(ba.y().dtype()).isEqualTo(DType.INT64);
            first = ba.x().toLongArray();
            assertThat(b.next().x().toLongArray()).containsExactly(first);
            assertThat(c.next().x().toLongArray()).isNotEqualTo(first);
            long[] x = ba.x().toLongArray();
            long[] y = ba.y().toLongArray();
            for (int row = 0; row < 4; row++) { // y is x shifted by one, and both are a stretch of the text
                assertThat(Arrays.copyOfRange(y, row * 8, row * 8 + 7)).containsExactly(Arrays.copyOfRange(x, row * 8 + 1, row * 8 + 8));
                String window = ds.decode(Arrays.copyOfRange(x, row * 8, row * 8 + 8)) + ds.decode(y[row * 8 + 7]);
                assertThat(text).contains(window);
            }
            CharDataset.Batch next = a.next();
            assertThat(next.x()).isSameAs(ba.x()); // one pair of tensors, refilled
            // starts are uniform over the windows
            int[] hits = new int[ds.size()];
            long allocations = MemoryPool.global().systemAllocations();
            for (int k = 0; k < 2000; k++) {
                long[] v = a.next().x().toLongArray();
                for (int row = 0; row < 4; row++) {
                    hits[text.indexOf(ds.decode(Arrays.copyOfRange(v, row * 8, row * 8 + 8)))]++;
                }
            }
            assertThat(MemoryPool.global().systemAllocations()).as("off-heap allocations while batching").isEqualTo(allocations);
            double expected = 8000.0 / ds.size();
            for (int i = 0; i < hits.length; i++) {
                assertThat(hits[i]).as("window %d", i).isBetween((int) (expected * 0.6), (int) (expected * 1.4));
            }
        }
        CharDataset.RandomBatches closed = ds.randomBatches(2, 1);
        Tensor held = closed.next().x();
        closed.close();
        assertThat(closed.hasNext()).isFalse();
        assertThatThrownBy(closed::next).hasMessageContaining("closed");
        assertThatThrownBy(held::toLongArray).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> ds.randomBatches(0, 1)).hasMessageContaining("batch_size should be a positive integer value");
    }

    /** Universal newlines, as Python's open().read(): "ab\r\ncd\r" has the vocabulary of "ab\ncd\n" (the \r was a sixth character). */
    @Test
    void windowsAndOldMacNewlinesReadAsPythonReadsThem(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path crlf = dir.resolve("crlf.txt");
        java.nio.file.Files.writeString(crlf, "ab\r\ncd\rab\ncd\r\n");
        CharDataset ds = CharDataset.read(crlf, 4);
        org.assertj.core.api.Assertions.assertThat(ds.vocabSize()).isEqualTo(5);
        org.assertj.core.api.Assertions.assertThat(ds.vocabSize()).isEqualTo(CharDataset.of("ab\ncd\nab\ncd\n", 4).vocabSize());
    }
}
