package dev.lanes.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The Fashion-MNIST clothing images, like {@code torchvision.datasets.FashionMNIST(root, train, transform, download)}: the standard IDX file names
 * under {@code root} (or torchvision's {@code root/FashionMNIST/raw}); with {@code download}, missing files are fetched
 * from the public mirrors into {@code root}, checked and written atomically.
 */
public final class FashionMNIST {
    private FashionMNIST() {
    }

    /** {@code ~/.cache/lanes/datasets/fashion-mnist}, the default root. */
    public static Path defaultRoot() {
        return Path.of(System.getProperty("user.home"), ".cache", "lanes", "datasets", "fashion-mnist");
    }

    public static MnistDataset load(Path root, boolean train, ImageTransform transform, boolean download) throws IOException {
        return MnistDataset.loadOrDownload(root, "FashionMNIST", "fashion-mnist", train, transform, download);
    }
}
