package dev.lanes.data;

import dev.lanes.io.ReadLimits;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CIFAR-10's binary version held in memory, like torchvision's {@code CIFAR10}: {@code data_batch_1.bin} ..
 * {@code data_batch_5.bin} (train, 50,000 images) or {@code test_batch.bin} (test, 10,000), each a run of 3073-byte
 * records: one label byte (0..9), then 3072 pixel bytes, the 1024 red, 1024 green and 1024 blue values of a 32x32
 * image in row-major order, which is the {@code [3, 32, 32]} layout of a tensor. {@code batches.meta.txt} names the
 * classes. A sample's input is {@code [3, 32, 32]} floats 0..255 through the transform: with
 * {@link ImageTransform#toTensor()}, float32 in [0, 1] like torchvision's {@code ToTensor}; its label is the class.
 *
 * <p>A file that is not a whole number of records (truncated, or not CIFAR-10), one above {@link ReadLimits}, or a
 * label above 9 is refused with a message naming the file and the value; sizes are checked before anything is
 * allocated.
 */
public final class Cifar10Dataset implements Dataset {
    /** Bytes of one record: a label and a 3 x 32 x 32 image. */
    public static final int RECORD_BYTES = 1 + 3 * 32 * 32;
    /** The folder the official archive unpacks into. */
    public static final String FOLDER = "cifar-10-batches-bin";
    static final List<String> TRAIN_FILES = List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
            "data_batch_5.bin");
    static final List<String> TEST_FILES = List.of("test_batch.bin");
    /** The classes in label order, as {@code batches.meta.txt} lists them. */
    public static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
            "truck");
    /** The most {@code batches.meta.txt} may hold (the official one is 61 bytes). */
    static final int MAX_META_BYTES = 4096;
    /** The most the official archive's files take unpacked (184,380,149 bytes, with headers under 200 MB). */
    static final long MAX_EXTRACTED_BYTES = 200_000_000L;

    private static final int PIXELS = 3 * 32 * 32;

    private final byte[] images;
    private final byte[] labels;
    private final int count;
    private final List<String> classes;
    private final ImageTransform transform;
    private final int[] inputShape;
    private final String description;

    private Cifar10Dataset(byte[] images, byte[] labels, int count, List<String> classes, ImageTransform transform, String description) {
        this.images = images;
        this.labels = labels;
        this.count = count;
        this.classes = classes;
        this.transform = transform;
        this.inputShape = ImageTransform.checkedShape(3, transform.outSize(32), transform.outSize(32));
        this.description = description;
    }

    /** True when {@code dir} holds every file of the train (or test) split. */
    public static boolean present(Path dir, boolean train) {
        for (String f : train ? TRAIN_FILES : TEST_FILES) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                return false;
            }
        }
        return true;
    }

    /** Loads the train ({@code data_batch_1..5.bin}) or test ({@code test_batch.bin}) split from {@code dir}. */
    public static Cifar10Dataset load(Path dir, boolean train, ImageTransform transform) throws IOException {
        List<String> names = train ? TRAIN_FILES : TEST_FILES;
        List<Path> files = new ArrayList<>();
        List<Integer> counts = new ArrayList<>(); // each file's records, as counted before the arrays were sized
        long records = 0;
        for (String name : names) {
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) {
                throw new IOException("no " + name + " in " + dir + " (the CIFAR-10 " + (train ? "train" : "test") + " split needs "
                        + String.join(", ", names) + ")");
            }
            long in = recordsIn(f, Files.size(f));
            records = Math.addExact(records, in);
            files.add(f);
            counts.add(Math.toIntExact(in)); // read back from here: a file that grows meanwhile is refused by read(), never overruns the arrays
        }
        if (records > ReadLimits.MAX_ARRAY / PIXELS) {
            throw new IllegalArgumentException("the CIFAR-10 files in " + dir + " hold " + records + " images of " + PIXELS
                    + " pixel bytes, more than one array holds (" + ReadLimits.MAX_ARRAY + " bytes)");
        }
        ReadLimits.check(records * RECORD_BYTES, "the CIFAR-10 " + (train ? "train" : "test") + " split in " + dir);
        int n = (int) records;
        byte[] images = new byte[n * PIXELS];
        byte[] labels = new byte[n];
        int at = 0;
        for (int i = 0; i < files.size(); i++) {
            at = read(files.get(i), images, labels, at, counts.get(i));
        }
        if (at != n) {
            throw new IllegalArgumentException("the CIFAR-10 files in " + dir + " changed while they were read");
        }
        return new Cifar10Dataset(images, labels, n, classes(dir), transform,
                dir + " (" + (train ? "train" : "test") + ", " + n + " images)");
    }

    /** The records a file of {@code size} bytes holds; anything but a positive whole number of them is refused. */
    private static long recordsIn(Path f, long size) {
        ReadLimits.check(size, "CIFAR-10 file " + f);
        if (size == 0 || size % RECORD_BYTES != 0) {
            throw new IllegalArgumentException("CIFAR-10 file " + f + " is " + size + " bytes, not a whole number of " + RECORD_BYTES
                    + "-byte records (1 label + 3072 pixels; the official files hold 10000 records, 30730000 bytes): truncated, or not a"
                    + " CIFAR-10 binary file");
        }
        return size / RECORD_BYTES;
    }

    /** Reads {@code records} records of {@code f} into image and label slots {@code at ..}; returns the next slot. */
    private static int read(Path f, byte[] images, byte[] labels, int at, int records) throws IOException {
        byte[] record = new byte[RECORD_BYTES];
        try (InputStream in = new BufferedInputStream(Files.newInputStream(f), 1 << 16)) {
            for (int r = 0; r < records; r++) {
                int got = in.readNBytes(record, 0, RECORD_BYTES);
                if (got < RECORD_BYTES) {
                    throw new IllegalArgumentException("CIFAR-10 file " + f + " ends inside record " + r + " (" + got + " of " + RECORD_BYTES
                            + " bytes): truncated while it was read");
                }
                int label = record[0] & 0xff;
                if (label > 9) {
                    throw new IllegalArgumentException("CIFAR-10 file " + f + ": record " + r + " (byte offset " + (long) r * RECORD_BYTES
                            + ") has label " + label + ", not a class 0..9");
                }
                labels[at] = (byte) label;
                System.arraycopy(record, 1, images, at * PIXELS, PIXELS);
                at++;
            }
            if (in.read() != -1) {
                throw new IllegalArgumentException("CIFAR-10 file " + f + " grew while it was read (trailing data after " + records
                        + " records)");
            }
        }
        return at;
    }

    /** The class names of {@code batches.meta.txt} in {@code dir} (ten non-blank lines), or the standard ones without it. */
    static List<String> classes(Path dir) throws IOException {
        Path meta = dir.resolve("batches.meta.txt");
        if (!Files.isRegularFile(meta)) {
            return CLASSES;
        }
        long size = Files.size(meta);
        if (size > MAX_META_BYTES) {
            throw new IllegalArgumentException("CIFAR-10 class list " + meta + " is " + size + " bytes, more than ten class names take (at most "
                    + MAX_META_BYTES + ")");
        }
        List<String> names = new ArrayList<>();
        for (String line : new String(Files.readAllBytes(meta), StandardCharsets.UTF_8).split("\r?\n")) {
            if (!line.isBlank()) {
                names.add(line.strip());
            }
        }
        if (names.size() != 10) {
            throw new IllegalArgumentException("CIFAR-10 class list " + meta + " names " + names.size() + " classes, expected 10");
        }
        return List.copyOf(names);
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** The class index (0..9) of sample {@code index}. */
    public int label(int index) {
        return labels[index] & 0xff;
    }

    /** The class names in label order, like torchvision's {@code classes}. */
    public List<String> classes() {
        return classes;
    }

    @Override
    public long fill(int index, float[] dst, int offset) {
        return fill(index, dst, offset, null);
    }

    @Override
    public long fill(int index, float[] dst, int offset, SplittableRandom random) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("sample " + index + " of " + count);
        }
        float[] raw = new float[PIXELS];
        int base = index * PIXELS;
        for (int i = 0; i < PIXELS; i++) {
            raw[i] = images[base + i] & 0xff;
        }
        float[] out = new float[3 * inputShape[1] * inputShape[2]];
        transform.apply(raw, 3, 32, 32, out, random);
        System.arraycopy(out, 0, dst, offset, out.length);
        return labels[index] & 0xff;
    }

    @Override
    public String toString() {
        return description;
    }

    /**
     * torchvision's lookup: the files in {@code root/cifar-10-batches-bin} or {@code root}; with {@code download},
     * the archive of {@code specs} is fetched into {@code root} (kept, like torchvision), checked, unpacked into a
     * fresh folder beside it and its {@code cifar-10-batches-bin} files moved into place one by one, atomically.
     */
    static Cifar10Dataset loadOrDownload(Path root, boolean train, ImageTransform transform, boolean download, List<Download.FileSpec> specs)
            throws IOException {
        Path folder = root.resolve(FOLDER);
        if (present(folder, train)) {
            return load(folder, train, transform);
        }
        if (present(root, train)) {
            return load(root, train, transform);
        }
        if (!download) {
            throw new IOException("CIFAR10 " + (train ? "train" : "test") + " files not found in " + folder + " or " + root
                    + "; pass download=true to fetch them");
        }
        Download.fetch(specs, root, System.out, Duration.ofSeconds(60));
        unpack(root.resolve(specs.getFirst().name()), root);
        return load(folder, train, transform);
    }

    /** Unpacks the archive into a fresh folder in {@code root}, then moves its data files into {@code root/cifar-10-batches-bin}. */
    static void unpack(Path archive, Path root) throws IOException {
        Path staging = Files.createDirectory(root.resolve("." + FOLDER + "." + Long.toHexString(System.nanoTime()) + ".part"));
        try {
            Tar.extract(archive, staging, MAX_EXTRACTED_BYTES);
            Path from = staging.resolve(FOLDER);
            List<String> wanted = new ArrayList<>(TRAIN_FILES);
            wanted.addAll(TEST_FILES);
            wanted.add("batches.meta.txt");
            for (String name : wanted) {
                if (!Files.isRegularFile(from.resolve(name))) {
                    throw new IOException("archive " + archive + " has no " + FOLDER + "/" + name);
                }
            }
            Path to = Files.createDirectories(root.resolve(FOLDER));
            for (String name : wanted) {
                try {
                    Files.move(from.resolve(name), to.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } finally {
            try (var walk = Files.walk(staging)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
