package dev.lanes.data;

import java.util.SplittableRandom;

/**
 * Samples by index, like {@code torch.utils.data.Dataset}: {@link #size()} samples, each an input of fixed shape
 * and an integer label. {@link #fill} writes one sample's input as floats, so a loader can pack a batch without
 * per-sample tensors.
 */
public interface Dataset {
    int size();

    /** The shape of one input, e.g. {@code [1, 32, 32]}. */
    int[] inputShape();

    /** Writes sample {@code index}'s input (after transforms) into {@code dst[offset ..]}; returns its label. */
    long fill(int index, float[] dst, int offset);

    /**
     * Like {@link #fill(int, float[], int)}, with random transforms ({@link ImageTransform#randomCrop},
     * {@link ImageTransform#randomHorizontalFlip}) drawing from {@code random}: a {@link DataLoader} passes one that
     * depends only on its seed and the epoch, so augmented epochs repeat exactly. Null: a generator split off the
     * global one ({@code Lanes.manualSeed}). A data set without random transforms need not override this.
     */
    default long fill(int index, float[] dst, int offset, SplittableRandom random) {
        return fill(index, dst, offset);
    }
}
