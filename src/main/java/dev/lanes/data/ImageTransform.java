package dev.lanes.data;

/**
 * A per-image transform, like torchvision's: {@link #pad(int)} (zero pixels around, in pixel space like
 * {@code Pad}), {@link #toTensor()} (0..255 to 0..1), {@link #normalize(double, double)}; compose with
 * {@link #then(ImageTransform)} in torchvision's order, e.g. {@code pad(2).then(toTensor()).then(normalize(0.2860, 0.3530))}.
 * Images are one channel, {@code h x w} floats in row-major order.
 */
public interface ImageTransform {
    /** Output height for an input of height {@code h} (width likewise). */
    default int outSize(int size) {
        return size;
    }

    /** Transforms {@code src} ({@code h x w}) into {@code dst} ({@code outSize(h) x outSize(w)}). */
    void apply(float[] src, int h, int w, float[] dst);

    static ImageTransform identity() {
        return (src, h, w, dst) -> System.arraycopy(src, 0, dst, 0, h * w);
    }

    /** Pixels scaled from 0..255 to 0..1, like {@code ToTensor}. */
    static ImageTransform toTensor() {
        return (src, h, w, dst) -> {
            for (int i = 0; i < h * w; i++) {
                dst[i] = src[i] / 255f;
            }
        };
    }

    /** {@code (x - mean) / std}, like {@code Normalize((mean,), (std,))}. */
    static ImageTransform normalize(double mean, double std) {
        if (!(std > 0)) {
            throw new IllegalArgumentException("std must be positive, got " + std);
        }
        float m = (float) mean;
        float s = (float) std;
        return (src, h, w, dst) -> {
            for (int i = 0; i < h * w; i++) {
                dst[i] = (src[i] - m) / s;
            }
        };
    }

    /** {@code p} zero pixels on each side, like {@code Pad(p)}: 28x28 digits become LeNet's 32x32. */
    static ImageTransform pad(int p) {
        if (p < 0) {
            throw new IllegalArgumentException("padding must be non-negative, got " + p);
        }
        return new ImageTransform() {
            @Override
            public int outSize(int size) {
                return size + 2 * p;
            }

            @Override
            public void apply(float[] src, int h, int w, float[] dst) {
                int ow = w + 2 * p;
                java.util.Arrays.fill(dst, 0, (h + 2 * p) * ow, 0f);
                for (int y = 0; y < h; y++) {
                    System.arraycopy(src, y * w, dst, (y + p) * ow + p, w);
                }
            }
        };
    }

    /** This transform, then {@code next}. */
    default ImageTransform then(ImageTransform next) {
        ImageTransform first = this;
        return new ImageTransform() {
            @Override
            public int outSize(int size) {
                return next.outSize(first.outSize(size));
            }

            @Override
            public void apply(float[] src, int h, int w, float[] dst) {
                int mh = first.outSize(h);
                int mw = first.outSize(w);
                float[] mid = new float[mh * mw];
                first.apply(src, h, w, mid);
                next.apply(mid, mh, mw, dst);
            }
        };
    }
}
