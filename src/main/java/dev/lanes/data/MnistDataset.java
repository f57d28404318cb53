package dev.lanes.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * MNIST-format image classification data held in memory: uint8 images {@code [n, h, w]} and labels, read from
 * the standard IDX files ({@code train-images-idx3-ubyte[.gz]}, {@code train-labels-idx1-ubyte[.gz]},
 * {@code t10k-...}) in a directory, like torchvision's {@code MNIST} and {@code FashionMNIST}.
 */
public final class MnistDataset implements Dataset {
    private final byte[] images;
    private final byte[] labels;
    private final int count;
    private final int h;
    private final int w;
    private final ImageTransform transform;
    private final int[] inputShape;
    private final String description;

    private MnistDataset(byte[] images, byte[] labels, int count, int h, int w, ImageTransform transform, String description) {
        this.images = images;
        this.labels = labels;
        this.count = count;
        this.h = h;
        this.w = w;
        this.transform = transform;
        this.inputShape = ImageTransform.checkedShape(1, transform.outSize(h), transform.outSize(w));
        this.description = description;
    }

    /** The IDX file {@code name} or {@code name.gz} in {@code dir}, or null. */
    public static Path find(Path dir, String name) {
        for (String candidate : new String[] {name, name + ".gz"}) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** True when {@code dir} holds both files of the train (or test) split. */
    public static boolean present(Path dir, boolean train) {
        String prefix = train ? "train" : "t10k";
        return find(dir, prefix + "-images-idx3-ubyte") != null && find(dir, prefix + "-labels-idx1-ubyte") != null;
    }

    /** Loads the train or test ({@code t10k}) split from {@code dir}. */
    public static MnistDataset load(Path dir, boolean train, ImageTransform transform) throws IOException {
        String prefix = train ? "train" : "t10k";
        Path imgPath = find(dir, prefix + "-images-idx3-ubyte");
        Path lblPath = find(dir, prefix + "-labels-idx1-ubyte");
        if (imgPath == null || lblPath == null) {
            throw new IOException("no " + prefix + "-images-idx3-ubyte[.gz] / " + prefix + "-labels-idx1-ubyte[.gz] in " + dir);
        }
        Idx.Array img = Idx.read(imgPath);
        Idx.Array lbl = Idx.read(lblPath);
        if (img.dims().length != 3) {
            throw new IllegalArgumentException("image file " + imgPath + " should have 3 dimensions [n, h, w], got " + img.dims().length);
        }
        if (lbl.dims().length != 1) {
            throw new IllegalArgumentException("label file " + lblPath + " should have 1 dimension, got " + lbl.dims().length);
        }
        if (img.dims()[1] == 0 || img.dims()[2] == 0) {
            throw new IllegalArgumentException("image file " + imgPath + " declares " + java.util.Arrays.toString(img.dims())
                    + ": images of zero pixels");
        }
        if (img.count() != lbl.count()) {
            throw new IllegalArgumentException("image file " + imgPath + " holds " + img.count() + " images but label file " + lblPath
                    + " holds " + lbl.count() + " labels");
        }
        return new MnistDataset(img.data(), lbl.data(), img.count(), img.dims()[1], img.dims()[2], transform,
                imgPath.getParent() + " (" + prefix + ", " + img.count() + " images)");
    }

    /** Samples [from, to) of this data set, sharing its memory (to split a single file into train and test parts). */
    public MnistDataset range(int from, int to) {
        if (from < 0 || to > count || from > to) {
            throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") of a data set of " + count);
        }
        byte[] im = java.util.Arrays.copyOfRange(images, from * h * w, to * h * w);
        byte[] lb = java.util.Arrays.copyOfRange(labels, from, to);
        return new MnistDataset(im, lb, to - from, h, w, transform, description + " [" + from + ", " + to + ")");
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }

    public int label(int index) {
        return labels[index] & 0xff;
    }

    @Override
    public long fill(int index, float[] dst, int offset) {
        return fill(index, dst, offset, null);
    }

    @Override
    public long fill(int index, float[] dst, int offset, java.util.SplittableRandom random) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("sample " + index + " of " + count);
        }
        float[] raw = new float[h * w];
        int base = index * h * w;
        for (int i = 0; i < raw.length; i++) {
            raw[i] = images[base + i] & 0xff;
        }
        float[] out = new float[inputShape[1] * inputShape[2]];
        transform.apply(raw, 1, h, w, out, random);
        System.arraycopy(out, 0, dst, offset, out.length);
        return labels[index] & 0xff;
    }

    @Override
    public String toString() {
        return description;
    }

    /**
     * torchvision's lookup: the files under {@code root} or {@code root/<name>/raw}; with {@code download}, missing
     * files are fetched into {@code root} ({@code key}: the data set's name for {@link Download#files}).
     */
    static MnistDataset loadOrDownload(Path root, String name, String key, boolean train, ImageTransform transform, boolean download)
            throws IOException {
        Path torchvision = root.resolve(name).resolve("raw");
        if (present(root, train)) {
            return load(root, train, transform);
        }
        if (present(torchvision, train)) {
            return load(torchvision, train, transform);
        }
        if (!download) {
            throw new IOException(name + " " + (train ? "train" : "test") + " files not found in " + root + " or " + torchvision
                    + "; pass download=true to fetch them");
        }
        Download.fetch(Download.files(key), root, System.out, java.time.Duration.ofSeconds(60));
        return load(root, train, transform);
    }
}
