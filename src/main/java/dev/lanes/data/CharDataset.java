package dev.lanes.data;

import dev.lanes.Tensor;
import dev.lanes.io.ReadLimits;
import dev.lanes.memory.MemoryScope;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

/**
 * A character-level text data set, like minGPT's {@code CharDataset} and nanoGPT's {@code shakespeare_char}: the
 * vocabulary is the text's distinct characters (Unicode code points) in sorted order, a character's token id its
 * place there ({@link #encode}, {@link #decode}); item {@code i} is the window {@code x = ids[i .. i + blockSize)}
 * with its targets {@code y = ids[i + 1 .. i + blockSize]}, both int64. {@link #split(double)} cuts the text into a
 * first part for training and the rest for validation (nanoGPT: 0.9), sharing the vocabulary;
 * {@link #randomBatches(int, long)} draws random windows like nanoGPT's {@code get_batch}, seeded like a
 * {@link DataLoader}, into two reused tensors.
 */
public final class CharDataset {
    /** One or many windows: inputs {@code x} and targets {@code y}, int64, {@code [blockSize]} or {@code [batch, blockSize]}. */
    public record Batch(Tensor x, Tensor y) {
    }

    /** A first part for training and the rest for validation, with one vocabulary. */
    public record Split(CharDataset train, CharDataset validation) {
    }

    private final int[] vocab; // sorted distinct code points
    private final int[] ids; // the whole text's token ids, shared by the parts of a split
    private final int from;
    private final int to;
    private final int blockSize;
    private final String description;

    private CharDataset(int[] vocab, int[] ids, int from, int to, int blockSize, String description) {
        this.vocab = vocab;
        this.ids = ids;
        this.from = from;
        this.to = to;
        this.blockSize = blockSize;
        this.description = description;
    }

    /** The data set of {@code text} with windows of {@code blockSize} characters. */
    public static CharDataset of(String text, int blockSize) {
        return of(text, blockSize, "text of " + text.codePointCount(0, text.length()) + " characters");
    }

    private static CharDataset of(String text, int blockSize, String description) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        }
        if (text.isEmpty()) {
            throw new IllegalArgumentException("the " + description + " is empty: a character data set needs at least blockSize + 1 = "
                    + ((long) blockSize + 1) + " characters");
        }
        int[] points = text.codePoints().toArray();
        if (blockSize >= points.length) {
            throw new IllegalArgumentException("blockSize " + blockSize + " must be less than the length of the " + description + " ("
                    + points.length + " characters): a window needs blockSize + 1 characters");
        }
        BitSet seen = new BitSet();
        for (int cp : points) {
            seen.set(cp);
        }
        int[] vocab = seen.stream().toArray(); // ascending, like Python's sorted(set(text))
        for (int i = 0; i < points.length; i++) {
            points[i] = Arrays.binarySearch(vocab, points[i]);
        }
        return new CharDataset(vocab, points, 0, points.length, blockSize, description);
    }

    /**
     * Reads a UTF-8 text file (or its gzip, recognised by the magic bytes) into a data set. The file's size, and
     * the size it inflates to, are checked against {@link ReadLimits} (and one array's size) before they are held;
     * bytes that are not UTF-8 are refused with their offset.
     */
    public static CharDataset read(Path file, int blockSize) throws IOException {
        ReadLimits.requireRegularFile(file, "text file");
        long size = Files.size(file);
        ReadLimits.check(size, "text file " + file);
        long max = Math.min(ReadLimits.maxBytes(), ReadLimits.MAX_ARRAY);
        if (size > max) {
            throw new IllegalArgumentException("text file " + file + " is " + size + " bytes, more than one array holds (" + max + ")");
        }
        byte[] bytes;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            in.mark(2);
            boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
            in.reset();
            if (gzip) {
                try (InputStream gz = new GZIPInputStream(in)) {
                    bytes = gz.readNBytes((int) Math.min(max + 1, ReadLimits.MAX_ARRAY)); // grows as bytes arrive
                    if (bytes.length > max || (bytes.length == ReadLimits.MAX_ARRAY && gz.read() != -1)) {
                        throw new IllegalArgumentException("text file " + file + " inflates to more than " + max
                                + " bytes, above the limit (-Dlanes.io.maxBytes)");
                    }
                } catch (java.util.zip.ZipException | java.io.EOFException e) {
                    throw new IllegalArgumentException("corrupt gzip data in text file " + file + ": " + e.getMessage(), e);
                }
            } else {
                bytes = in.readNBytes((int) Math.min(max + 1, ReadLimits.MAX_ARRAY)); // bounded even if it grows meanwhile
                if (bytes.length != size) {
                    throw new IllegalArgumentException("text file " + file + " changed while it was read");
                }
            }
        }
        return of(decode(bytes, file), blockSize, "text file " + file);
    }

    /** Strict UTF-8, like Python's {@code open(file, encoding='utf-8')}: a malformed byte is named by its offset. */
    private static String decode(byte[] bytes, Path file) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never gives more UTF-16 units than bytes
        CoderResult r = dec.decode(in, out, true);
        if (!r.isError()) {
            r = dec.flush(out);
        }
        if (r.isError()) {
            throw new IllegalArgumentException("text file " + file + " is not UTF-8: " + (r.isMalformed() ? "malformed" : "unmappable")
                    + " byte 0x" + Integer.toHexString(bytes[in.position()] & 0xff) + " at offset " + in.position());
        }
        // universal newlines, as Python's open(file).read() gives the text minGPT and nanoGPT build their vocabulary from
        // ("ab\r\ncd" kept its '\r': one more character, every id above it shifted against a checkpoint trained in Python)
        return out.flip().toString().replace("\r\n", "\n").replace('\r', '\n');
    }

    /** Windows of this many tokens. */
    public int blockSize() {
        return blockSize;
    }

    /** The number of distinct characters, the model's vocabulary size. */
    public int vocabSize() {
        return vocab.length;
    }

    /** The vocabulary in token-id order, as one string ({@code ''.join(chars)}). */
    public String vocabulary() {
        return new String(vocab, 0, vocab.length);
    }

    /** Tokens in this data set (or this part of a split). */
    public int length() {
        return to - from;
    }

    /** Windows in this data set: {@code length() - blockSize}, like minGPT's {@code __len__}. */
    public int size() {
        return to - from - blockSize;
    }

    /** The token ids of {@code text}; a character outside the vocabulary is refused. */
    public long[] encode(String text) {
        return text.codePoints().mapToLong(cp -> {
            int id = Arrays.binarySearch(vocab, cp);
            if (id < 0) {
                throw new IllegalArgumentException("character " + describe(cp) + " is not in the vocabulary of " + vocab.length + " characters");
            }
            return id;
        }).toArray();
    }

    /** The text of token ids; an id outside the vocabulary is refused. */
    public String decode(long... tokens) {
        StringBuilder sb = new StringBuilder(tokens.length);
        for (long t : tokens) {
            if (t < 0 || t >= vocab.length) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary of " + vocab.length + " characters");
            }
            sb.appendCodePoint(vocab[(int) t]);
        }
        return sb.toString();
    }

    /** The text of an int64 tensor of token ids (any shape, row-major). */
    public String decode(Tensor tokens) {
        return decode(tokens.toLongArray());
    }

    /**
     * The first {@code (int) (length() * trainFraction)} tokens for training, the rest for validation, like nanoGPT's
     * {@code data[:int(n*0.9)]} and {@code data[int(n*0.9):]}; each part must hold a window.
     */
    public Split split(double trainFraction) {
        if (!(trainFraction > 0 && trainFraction < 1)) {
            throw new IllegalArgumentException("trainFraction must be between 0 and 1 (exclusive), got " + trainFraction);
        }
        int n = length();
        int cut = from + (int) (n * trainFraction);
        return new Split(part(from, cut, "train", trainFraction), part(cut, to, "validation", 1 - trainFraction));
    }

    private CharDataset part(int a, int b, String name, double fraction) {
        if (b - a <= blockSize) {
            throw new IllegalArgumentException("the " + name + " part of the " + description + " (" + Math.round(fraction * 100) + "%) has "
                    + (b - a) + " characters, fewer than blockSize + 1 = " + ((long) blockSize + 1) + ": use a longer text or a smaller blockSize");
        }
        return new CharDataset(vocab, ids, a, b, blockSize, description + " [" + name + " " + (a - from) + ".." + (b - from) + ")");
    }

    /** Writes window {@code index}'s inputs into {@code x[offset ..]} and its targets into {@code y[offset ..]}. */
    public void fill(int index, long[] x, long[] y, int offset) {
        if (index < 0 || index >= size()) {
            throw new IndexOutOfBoundsException("window " + index + " of " + size());
        }
        int base = from + index;
        for (int t = 0; t < blockSize; t++) {
            x[offset + t] = ids[base + t];
            y[offset + t] = ids[base + t + 1];
        }
    }

    /** Window {@code index} as two new int64 tensors {@code [blockSize]} (close them, or open a MemoryScope). */
    public Batch get(int index) {
        long[] x = new long[blockSize];
        long[] y = new long[blockSize];
        fill(index, x, y, 0);
        return new Batch(Tensor.of(x), Tensor.of(y));
    }

    /**
     * Endless batches of {@code batchSize} windows at random offsets, like nanoGPT's {@code get_batch}: each start
     * drawn uniformly from {@code 0 .. size() - 1} by a generator that depends only on {@code seed}, so runs repeat
     * exactly. The batches reuse two tensors {@code [batchSize, blockSize]}: <b>a batch is valid until the next call
     * to {@code next()}</b>, like a {@link DataLoader}'s; close the iterator to release them.
     */
    public RandomBatches randomBatches(int batchSize, long seed) {
        return new RandomBatches(batchSize, seed);
    }

    /** See {@link #randomBatches(int, long)}. */
    public final class RandomBatches implements Iterator<Batch>, AutoCloseable {
        private final SplittableRandom random;
        private final long[] hx;
        private final long[] hy;
        private final Tensor x;
        private final Tensor y;
        private final int batchSize;
        private boolean closed;

        private RandomBatches(int batchSize, long seed) {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch_size should be a positive integer value, but got batch_size=" + batchSize);
            }
            long n = (long) batchSize * blockSize;
            if (n > ReadLimits.MAX_ARRAY) {
                throw new IllegalArgumentException("batches of " + batchSize + " x " + blockSize + " tokens are more than one array holds");
            }
            this.batchSize = batchSize;
            this.random = new SplittableRandom(DataLoader.scramble(seed)); // seed s + 1 is not seed s one draw later
            this.hx = new long[(int) n];
            this.hy = new long[(int) n];
            try (MemoryScope u = MemoryScope.unscoped()) {
                this.x = Tensor.zerosLong(batchSize, blockSize);
                this.y = Tensor.zerosLong(batchSize, blockSize);
            }
        }

        @Override
        public boolean hasNext() {
            return !closed;
        }

        @Override
        public Batch next() {
            if (closed) {
                throw new NoSuchElementException("the batches were closed");
            }
            for (int b = 0; b < batchSize; b++) {
                fill(random.nextInt(size()), hx, hy, b * blockSize);
            }
            x.copyFrom(hx, 0);
            y.copyFrom(hy, 0);
            return new Batch(x, y);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                x.close();
                y.close();
            }
        }
    }

    private static String describe(int cp) {
        return (Character.isISOControl(cp) ? "" : "'" + new String(Character.toChars(cp)) + "' ") + String.format("(U+%04X)", cp);
    }

    @Override
    public String toString() {
        return "CharDataset(" + description + ", " + length() + " tokens, vocabulary " + vocab.length + ", blockSize " + blockSize + ")";
    }
}
