package dev.lanes.data;

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
}
