package dev.lanes.data;

import java.util.SplittableRandom;

/**
 * A per-image transform, like torchvision's: {@link #pad(int)} (zero pixels around, in pixel space like
 * {@code Pad}), {@link #toTensor()} (0..255 to 0..1), {@link #normalize(double, double)} and its per-channel form
 * {@link #normalize(double[], double[])}, and the random augmentations {@link #randomCrop(int, int)} and
 * {@link #randomHorizontalFlip(double)}; compose with {@link #then(ImageTransform)} or {@link #compose} in
 * torchvision's order, e.g. {@code pad(2).then(toTensor()).then(normalize(0.2860, 0.3530))}, or CIFAR-10's
 * {@code compose(randomCrop(32, 4), randomHorizontalFlip(0.5), toTensor(), normalize(mean, std))}.
 *
 * <p>Images are {@code channels x h x w} floats in row-major order (one channel for MNIST, three for CIFAR-10).
 * A transform written as a lambda implements the one-channel {@link #apply(float[], int, int, float[])} and is
 * applied to each channel in turn.
 *
 * <p>Random transforms draw from the generator passed to
 * {@link #apply(float[], int, int, int, float[], SplittableRandom)} (a {@link DataLoader} passes one that depends
 * only on its seed and the epoch), once per image: every channel gets the same crop and the same flip. Without one
 * they draw from a generator split off the global one ({@code Lanes.manualSeed}).
 */
public interface ImageTransform {
    /** Output height for an input of height {@code h} (width likewise). */
    default int outSize(int size) {
        return size;
    }

    /** Transforms a one-channel image {@code src} ({@code h x w}) into {@code dst} ({@code outSize(h) x outSize(w)}). */
    void apply(float[] src, int h, int w, float[] dst);

    /**
     * Transforms {@code src} ({@code channels x h x w}) into {@code dst} ({@code channels x outSize(h) x outSize(w)}),
     * random transforms drawing from {@code random} (null: a generator split off the global one). The default
     * applies {@link #apply(float[], int, int, float[])} to each channel.
     */
    default void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
        if (channels == 1) {
            apply(src, h, w, dst);
            return;
        }
        int oh = outSize(h);
        int ow = outSize(w);
        float[] in = new float[h * w];
        float[] out = new float[oh * ow];
        for (int c = 0; c < channels; c++) {
            System.arraycopy(src, c * h * w, in, 0, h * w);
            apply(in, h, w, out);
            System.arraycopy(out, 0, dst, c * oh * ow, oh * ow);
        }
    }

    static ImageTransform identity() {
        return new Transforms.WholeImage() {
            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                System.arraycopy(src, 0, dst, 0, channels * h * w);
            }
        };
    }

    /** Pixels scaled from 0..255 to 0..1, like {@code ToTensor}. */
    static ImageTransform toTensor() {
        return new Transforms.WholeImage() {
            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                for (int i = 0; i < channels * h * w; i++) {
                    dst[i] = src[i] / 255f;
                }
            }
        };
    }

    /** {@code (x - mean) / std} for every channel, like {@code Normalize((mean,), (std,))}. */
    static ImageTransform normalize(double mean, double std) {
        return normalize(new double[] {mean}, new double[] {std});
    }

    /**
     * {@code (x[c] - mean[c]) / std[c]} for each channel {@code c}, like {@code Normalize(mean, std)}: CIFAR-10's
     * {@code normalize(new double[] {0.4914, 0.4822, 0.4465}, new double[] {0.2470, 0.2435, 0.2616})}. A
     * one-element mean or std applies to every channel, each on its own as torchvision broadcasts them
     * ({@code Normalize([0.5], [0.1, 0.2, 0.3])}); otherwise the image must have as many channels.
     */
    static ImageTransform normalize(double[] mean, double[] std) {
        if (mean.length == 0 || std.length == 0 || (mean.length != std.length && mean.length != 1 && std.length != 1)) {
            throw new IllegalArgumentException("normalize needs one mean and one std, or one per channel, got " + mean.length + " means and "
                    + std.length + " stds");
        }
        float[] m = new float[mean.length];
        float[] s = new float[std.length];
        for (int c = 0; c < mean.length; c++) {
            m[c] = (float) mean[c];
            if (!Float.isFinite(m[c])) {
                throw new IllegalArgumentException("mean is not finite (as float32), got " + mean[c] + (mean.length > 1 ? " for channel " + c : ""));
            }
        }
        for (int c = 0; c < std.length; c++) {
            s[c] = (float) std[c];
            // as torchvision: checked as the float32 it divides by (1e-50 passed as a double and divided by 0), and a
            // negative std is allowed (it flips the sign)
            if (s[c] == 0 || !Float.isFinite(s[c])) {
                throw new IllegalArgumentException("std evaluated to zero or is not finite (as float32), got std " + std[c]
                        + (std.length > 1 ? " for channel " + c : "") + "; leading to division by zero");
            }
        }
        return new Transforms.WholeImage() {
            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                if (m.length != 1 && m.length != channels || s.length != 1 && s.length != channels) {
                    throw new IllegalArgumentException("normalize has " + m.length + " means and " + s.length + " stds but the image has "
                            + channels + " channel" + (channels == 1 ? "" : "s"));
                }
                int plane = h * w;
                for (int c = 0; c < channels; c++) {
                    float mc = m[m.length == 1 ? 0 : c];
                    float sc = s[s.length == 1 ? 0 : c];
                    for (int i = c * plane; i < (c + 1) * plane; i++) {
                        dst[i] = (src[i] - mc) / sc;
                    }
                }
            }
        };
    }

    /** {@code p} zero pixels on each side, like {@code Pad(p)}: 28x28 digits become LeNet's 32x32. */
    static ImageTransform pad(int p) {
        if (p < 0 || p > MAX_PADDING) {
            throw new IllegalArgumentException("padding must be in [0, " + MAX_PADDING + "], got " + p);
        }
        return new Transforms.WholeImage() {
            @Override
            public int outSize(int size) {
                return paddedSize(size, p);
            }

            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                Transforms.crop(src, channels, h, w, dst, paddedSize(h, p), paddedSize(w, p), -p, -p);
            }
        };
    }

    /**
     * The most padding a transform takes: a padded side of a 2^16-pixel image stays far inside an int (2 p alone
     * overflowed at p = 2^30, and pad(Integer.MAX_VALUE) made 26 x 26 images of zeros out of 28 x 28 ones).
     */
    int MAX_PADDING = 1 << 16;

    /**
     * {@code [channels, h, w]} of a transform's output, refused by name when one sample would not fit an array (each
     * side fits an int, their product need not: pad(23200) of a 28 x 28 image wrapped to a negative size, pad(65536) to
     * a positive one too small, which the crop wrote past).
     */
    static int[] checkedShape(int channels, int h, int w) {
        long floats = (long) channels * h * w;
        if (h <= 0 || w <= 0 || floats > dev.lanes.io.ReadLimits.MAX_ARRAY) {
            throw new IllegalArgumentException("the transform makes samples of " + channels + " x " + h + " x " + w + " floats, more than one array"
                    + " holds (" + dev.lanes.io.ReadLimits.MAX_ARRAY + ")");
        }
        return new int[] {channels, h, w};
    }

    /** {@code size + 2 p}, refused over {@link Integer#MAX_VALUE} (an image's side). */
    private static int paddedSize(int size, int p) {
        long padded = (long) size + 2L * p;
        if (padded > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a side of " + size + " padded by " + p + " is " + padded + " pixels");
        }
        return (int) padded;
    }

    /**
     * A random {@code size x size} crop of the image padded with {@code padding} zeros on each side, like
     * {@code RandomCrop(size, padding=padding)} (padding_mode 'constant', fill 0): the top row {@code i} is drawn
     * uniformly from {@code 0 .. h + 2 * padding - size}, then the left column {@code j} likewise, so
     * {@code randomCrop(32, 4)} shifts a CIFAR-10 image by up to 4 pixels each way.
     */
    static ImageTransform randomCrop(int size, int padding) {
        if (size <= 0 || padding < 0 || padding > MAX_PADDING) {
            throw new IllegalArgumentException("randomCrop needs a positive size and a padding in [0, " + MAX_PADDING + "], got size " + size
                    + " and padding " + padding);
        }
        return new Transforms.WholeImage() {
            @Override
            public int outSize(int in) {
                if ((long) in + 2L * padding < size) {
                    throw new IllegalArgumentException("Required crop size " + size + " is larger than the padded input size "
                            + ((long) in + 2L * padding) + " (" + in + " + 2 * " + padding + ")");
                }
                return size;
            }

            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                outSize(h);
                outSize(w);
                SplittableRandom r = random != null ? random : dev.lanes.Lanes.splitGenerator();
                int i = r.nextInt(paddedSize(h, padding) - size + 1); // outSize checked padded sides of at least size
                int j = r.nextInt(paddedSize(w, padding) - size + 1);
                Transforms.crop(src, channels, h, w, dst, size, size, i - padding, j - padding);
            }

            @Override
            public String toString() {
                return "RandomCrop(size=(" + size + ", " + size + "), padding=" + padding + ")";
            }
        };
    }

    /**
     * The image mirrored left to right with probability {@code p}, like {@code RandomHorizontalFlip(p)}: one
     * uniform draw {@code u} in [0, 1) per image, flipped when {@code u < p}.
     */
    static ImageTransform randomHorizontalFlip(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("randomHorizontalFlip needs a probability in [0, 1], got " + p);
        }
        return new Transforms.WholeImage() {
            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                SplittableRandom r = random != null ? random : dev.lanes.Lanes.splitGenerator();
                if (r.nextDouble() < p) {
                    for (int row = 0; row < channels * h; row++) {
                        int base = row * w;
                        for (int x = 0; x < w; x++) {
                            dst[base + x] = src[base + w - 1 - x];
                        }
                    }
                } else {
                    System.arraycopy(src, 0, dst, 0, channels * h * w);
                }
            }

            @Override
            public String toString() {
                return "RandomHorizontalFlip(p=" + p + ")";
            }
        };
    }

    /** {@code randomHorizontalFlip(0.5)}, torchvision's default. */
    static ImageTransform randomHorizontalFlip() {
        return randomHorizontalFlip(0.5);
    }

    /** The transforms in order, like {@code Compose([...])}; none: the identity. */
    static ImageTransform compose(ImageTransform... transforms) {
        ImageTransform t = identity();
        for (int i = 0; i < transforms.length; i++) {
            t = i == 0 ? transforms[0] : t.then(transforms[i]);
        }
        return t;
    }

    /** This transform, then {@code next}; a random generator reaches both. */
    default ImageTransform then(ImageTransform next) {
        ImageTransform first = this;
        return new Transforms.WholeImage() {
            @Override
            public int outSize(int size) {
                return next.outSize(first.outSize(size));
            }

            @Override
            public void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random) {
                int mh = first.outSize(h);
                int mw = first.outSize(w);
                float[] mid = new float[channels * mh * mw];
                first.apply(src, channels, h, w, mid, random);
                next.apply(mid, channels, mh, mw, dst, random);
            }
        };
    }
}
