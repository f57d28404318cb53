package dev.lanes.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/** The built-in {@link ImageTransform}s' common parts. */
final class Transforms {
    private Transforms() {
    }

    /** A transform that handles all channels at once; its one-channel form is the same with no generator given. */
    abstract static class WholeImage implements ImageTransform {
        @Override
        public final void apply(float[] src, int h, int w, float[] dst) {
            apply(src, 1, h, w, dst, null);
        }

        @Override
        public abstract void apply(float[] src, int channels, int h, int w, float[] dst, SplittableRandom random);
    }

    /**
     * Writes the {@code oh x ow} window of each channel whose top-left corner is source pixel ({@code top},
     * {@code left}) into {@code dst}; pixels outside the source are 0 (so a negative corner pads).
     */
    static void crop(float[] src, int channels, int h, int w, float[] dst, int oh, int ow, int top, int left) {
        int x0 = Math.max(0, -left); // first output column inside the source
        int x1 = Math.min(ow, w - left); // one past the last
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < oh; y++) {
                int d = (c * oh + y) * ow;
                int sy = top + y;
                if (sy < 0 || sy >= h || x1 <= x0) {
                    Arrays.fill(dst, d, d + ow, 0f);
                    continue;
                }
                Arrays.fill(dst, d, d + x0, 0f);
                System.arraycopy(src, (c * h + sy) * w + left + x0, dst, d + x0, x1 - x0);
                Arrays.fill(dst, d + x1, d + ow, 0f);
            }
        }
    }
}
