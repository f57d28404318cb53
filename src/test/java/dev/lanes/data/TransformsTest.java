package dev.lanes.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.lanes.Lanes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16: RandomCrop, RandomHorizontalFlip, per-channel Normalize and Compose, seeded. */
class TransformsTest {
    @TempDir
    Path dir;

    /** 1 2 3 / 4 5 6 / 7 8 9, then the same plus 10 and plus 20 as channels 1 and 2. */
    private static float[] image(int channels) {
        float[] px = new float[channels * 9];
        for (int c = 0; c < channels; c++) {
            for (int i = 0; i < 9; i++) {
                px[c * 9 + i] = 10 * c + i + 1;
            }
        }
        return px;
    }

    private static float[] run(ImageTransform t, float[] src, int channels, int h, int w, long seed) {
        float[] out = new float[channels * t.outSize(h) * t.outSize(w)];
        t.apply(src, channels, h, w, out, new SplittableRandom(seed));
        return out;
    }

    /**
     * Seed 1 draws crop offsets (i, j) = (2, 0) in the 5x5 zero-padded image, seed 5 draws (0, 2) and then 0.2327 (a
     * flip); seed 3 draws (2, 0) then 0.6130 (no flip), and 0.1135 alone (a flip): the windows below are worked out
     * by hand from those draws.
     */
    @Test
    void cropAndFlipForFixedSeedsGiveTheHandWorkedImages() {
        ImageTransform crop = ImageTransform.randomCrop(3, 1);
        assertThat(run(crop, image(1), 1, 3, 3, 1)).containsExactly(
                0, 4, 5,
                0, 7, 8,
                0, 0, 0);
        ImageTransform cropFlip = ImageTransform.compose(crop, ImageTransform.randomHorizontalFlip(0.5));
        assertThat(run(cropFlip, image(1), 1, 3, 3, 5)).containsExactly(
                0, 0, 0,
                0, 3, 2,
                0, 6, 5);
        assertThat(run(cropFlip, image(1), 1, 3, 3, 3)).containsExactly(
                0, 4, 5,
                0, 7, 8,
                0, 0, 0);
        assertThat(run(ImageTransform.randomHorizontalFlip(), image(1), 1, 3, 3, 3)).containsExactly(
                3, 2, 1,
                6, 5, 4,
                9, 8, 7);
        // three channels: one draw per image, the same window and flip for each channel
        assertThat(run(cropFlip, image(3), 3, 3, 3, 5)).containsExactly(
                0, 0, 0, 0, 3, 2, 0, 6, 5,
                0, 0, 0, 0, 13, 12, 0, 16, 15,
                0, 0, 0, 0, 23, 22, 0, 26, 25);
        // the same seed, the same image; the draws are the generator's, in torchvision's order (top, left, flip)
        SplittableRandom r = new SplittableRandom(5);
        assertThat(new int[] {r.nextInt(3), r.nextInt(3)}).containsExactly(0, 2);
        assertThat(r.nextDouble()).isLessThan(0.5);
    }

    @Test
    void flipAndCropHappenAtTheirStatedProbabilities() {
        int n = 20_000;
        SplittableRandom random = new SplittableRandom(2024);
        float[] row = {1, 2, 3, 4};
        float[] out = new float[4];
        for (double p : new double[] {0.5, 0.2}) {
            ImageTransform flip = ImageTransform.randomHorizontalFlip(p);
            int flipped = 0;
            for (int k = 0; k < n; k++) {
                flip.apply(row, 1, 1, 4, out, random);
                flipped += out[0] == 4 ? 1 : 0;
            }
            assertThat(flipped / (double) n).as("flip rate for p=%s", p).isCloseTo(p, within(0.015)); // 4 standard deviations
        }
        float[] none = new float[4];
        ImageTransform.randomHorizontalFlip(0).apply(row, 1, 1, 4, none, random);
        assertThat(none).containsExactly(row);
        ImageTransform.randomHorizontalFlip(1).apply(row, 1, 1, 4, none, random);
        assertThat(none).containsExactly(4, 3, 2, 1);

        // randomCrop(32, 4) on a 32x32 image whose pixels are all distinct: find where source pixel (16, 16) landed
        float[] img = new float[32 * 32];
        for (int i = 0; i < img.length; i++) {
            img[i] = i + 1;
        }
        ImageTransform crop = ImageTransform.randomCrop(32, 4);
        float[] cropped = new float[32 * 32];
        int[] tops = new int[9];
        int[] lefts = new int[9];
        int unshifted = 0;
        int draws = 9_000;
        for (int k = 0; k < draws; k++) {
            crop.apply(img, 1, 32, 32, cropped, random);
            int at = indexOf(cropped, 16 * 32 + 16 + 1);
            int i = 20 - at / 32; // the window's top row in the padded image: (16 + 4) - output row
            int j = 20 - at % 32;
            tops[i]++;
            lefts[j]++;
            unshifted += i == 4 && j == 4 ? 1 : 0;
            // output pixel (5, 0) is source pixel (5 + i - 4, j - 4), or a padding zero left of the image
            int sy = 1 + i;
            int sx = j - 4;
            assertThat(cropped[5 * 32]).isEqualTo(sx >= 0 ? img[sy * 32 + sx] : 0f);
        }
        for (int v = 0; v < 9; v++) {
            assertThat(tops[v]).as("top offset %d of 0..8", v).isBetween(850, 1150); // 1000 expected, sd 30
            assertThat(lefts[v]).as("left offset %d of 0..8", v).isBetween(850, 1150);
        }
        assertThat(unshifted / (double) draws).as("crops equal to the image").isCloseTo(1 / 81.0, within(0.005));
    }

    private static int indexOf(float[] a, float v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        throw new AssertionError(v + " not found");
    }

    @Test
    void normalizePerChannelPadAndComposeFollowTorchvision() {
        float[] px = {0, 255, 51, 102, 0, 255}; // 3 channels of 1x2
        ImageTransform t = ImageTransform.compose(ImageTransform.toTensor(),
                ImageTransform.normalize(new double[] {0.5, 0.2, 0.0}, new double[] {0.5, 0.2, 2.0}));
        float[] out = new float[6];
        t.apply(px, 3, 1, 2, out, null);
        assertThat(out[0]).isEqualTo(-1f);
        assertThat(out[1]).isEqualTo(1f);
        assertThat(out[2]).isCloseTo(0f, within(1e-6f));
        assertThat(out[3]).isCloseTo(1f, within(1e-6f));
        assertThat(out[4]).isEqualTo(0f);
        assertThat(out[5]).isEqualTo(0.5f);
        // one mean and std apply to every channel, like Normalize((m,), (s,)) on a 3-channel tensor
        ImageTransform.normalize(0.5, 0.5).apply(new float[] {0, 1, 0.5f}, 3, 1, 1, out, null);
        assertThat(java.util.Arrays.copyOf(out, 3)).containsExactly(-1f, 1f, 0f);
        assertThatThrownBy(() -> ImageTransform.normalize(new double[] {0.5, 0.5, 0.5}, new double[] {1, 1, 1}).apply(new float[4], 2, 2, new float[4]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 means and 3 stds but the image has 1 channel");
        assertThatThrownBy(() -> ImageTransform.normalize(new double[] {0.5, 0.5}, new double[] {1, 1, 1})).hasMessageContaining("2 means and 3 stds");
        // as torchvision: std checked as the float32 it divides by (1e-50 is 0 there), a negative std allowed
        assertThatThrownBy(() -> ImageTransform.normalize(0.5, 1e-50)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zero");
        float[] flipped = new float[2];
        ImageTransform.normalize(0.5, -0.5).apply(new float[] {0, 1}, 1, 1, 2, flipped, null);
        assertThat(flipped).containsExactly(1f, -1f);
        assertThatThrownBy(() -> ImageTransform.normalize(new double[] {0.5, 0.5}, new double[] {1, 0})).hasMessageContaining("channel 1");
        // pad on every channel; a lambda (one channel) is applied to each channel
        float[] padded = new float[2 * 9];
        ImageTransform.pad(1).then((src, h, w, dst) -> dst[4] = src[4] + 100 * src[0])
                .apply(new float[] {7, 8}, 2, 1, 1, padded, null);
        assertThat(padded[4]).isEqualTo(7f);
        assertThat(padded[9 + 4]).isEqualTo(8f);
        assertThat(ImageTransform.compose().outSize(5)).isEqualTo(5);
        assertThat(ImageTransform.compose(ImageTransform.pad(2), ImageTransform.randomCrop(3, 0)).outSize(28)).isEqualTo(3);
    }

    @Test
    void badArgumentsAreNamed() {
        assertThatThrownBy(() -> ImageTransform.randomCrop(32, -1)).hasMessageContaining("padding -1");
        assertThatThrownBy(() -> ImageTransform.randomCrop(40, 2).outSize(32))
                .hasMessageContaining("Required crop size 40 is larger than the padded input size 36 (32 + 2 * 2)");
        assertThatThrownBy(() -> ImageTransform.randomHorizontalFlip(1.5)).hasMessageContaining("probability in [0, 1], got 1.5");
        assertThatThrownBy(() -> ImageTransform.randomHorizontalFlip(Double.NaN)).hasMessageContaining("got NaN");
    }

    /** A DataLoader's augmentation depends only on its seed and the epoch; without a loader, on Lanes.manualSeed. */
    @Test
    void augmentationIsSeededByTheLoaderOrTheGlobalGenerator() throws IOException {
        DataTest.writeSplit(dir, "train", 24, false);
        ImageTransform aug = ImageTransform.compose(ImageTransform.randomCrop(28, 4), ImageTransform.randomHorizontalFlip(),
                ImageTransform.toTensor());
        MnistDataset ds = MnistDataset.load(dir, true, aug);
        List<float[]> a = epochs(ds, 7);
        List<float[]> b = epochs(ds, 7);
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i)).containsExactly(a.get(i));
        }
        assertThat(a.get(0)).isNotEqualTo(a.get(1)); // epoch 1 draws other crops
        assertThat(epochs(ds, 8).get(0)).isNotEqualTo(a.get(0));
        // sample 0 read twice without a loader: the same image after the same manual seed, another one otherwise
        float[] x = new float[28 * 28];
        float[] y = new float[28 * 28];
        float[] z = new float[28 * 28];
        Lanes.manualSeed(11);
        ds.fill(0, x, 0);
        Lanes.manualSeed(11);
        ds.fill(0, y, 0);
        ds.fill(0, z, 0);
        assertThat(y).containsExactly(x);
        assertThat(z).isNotEqualTo(x);
    }

    /** The inputs of two epochs of a shuffled loader, one float array each. */
    private static List<float[]> epochs(Dataset ds, long seed) {
        List<float[]> all = new ArrayList<>();
        try (DataLoader loader = new DataLoader(ds, 5, true, seed, false)) {
            for (int e = 0; e < 2; e++) {
                float[] flat = new float[ds.size() * 28 * 28];
                int at = 0;
                for (DataLoader.Batch batch : loader) {
                    float[] v = batch.inputs().toFloatArray();
                    System.arraycopy(v, 0, flat, at, v.length);
                    at += v.length;
                }
                all.add(flat);
            }
        }
        return all;
    }

    /** pad(Integer.MAX_VALUE): 2 p overflowed and 28 x 28 images became 26 x 26 zeros; now refused, like a huge randomCrop padding. */
    @Test
    void hugePaddingIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImageTransform.pad(Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("padding");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImageTransform.randomCrop(32, Integer.MAX_VALUE / 2 + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("padding");
        org.assertj.core.api.Assertions.assertThat(ImageTransform.pad(ImageTransform.MAX_PADDING).outSize(28)).isEqualTo(28 + 2 * ImageTransform.MAX_PADDING);
    }

    /** Each side fits an int, the sample need not: pad(23200) of 28 x 28 wrapped to a negative array size, pad(65536) to too small a one. */
    @Test
    void aTransformWhoseSamplesOverflowAnArrayIsRefusedWhenTheDatasetIsMade() throws IOException {
        DataTest.writeSplit(dir, "train", 4, false);
        for (int p : new int[] {23200, ImageTransform.MAX_PADDING}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> MnistDataset.load(dir, true, ImageTransform.pad(p)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than one array holds");
        }
    }

    /** torchvision broadcasts a one-element mean or std on its own: Normalize([0.5], [0.1, 0.2, 0.3]) on a 3-channel image. */
    @Test
    void normalizeBroadcastsAOneElementMeanAgainstPerChannelStds() {
        float[] src = new float[12];
        for (int i = 0; i < 12; i++) {
            src[i] = i / 11f;
        }
        float[] out = run(ImageTransform.normalize(new double[] {0.5}, new double[] {0.1, 0.2, 0.3}), src, 3, 2, 2, 1);
        // torch: (arange(12) / 11).view(3, 2, 2).sub_(tensor([0.5]).view(-1, 1, 1)).div_(tensor([0.1, 0.2, 0.3]).view(-1, 1, 1))
        org.assertj.core.api.Assertions.assertThat(out[0]).isCloseTo(-5.0f, org.assertj.core.api.Assertions.within(1e-5f));
        org.assertj.core.api.Assertions.assertThat(out[4]).isCloseTo(-0.6818182f, org.assertj.core.api.Assertions.within(1e-5f));
        org.assertj.core.api.Assertions.assertThat(out[8]).isCloseTo(0.75757575f, org.assertj.core.api.Assertions.within(1e-5f));
    }
}
