package dev.lanes.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The MNIST handwritten digits, like {@code torchvision.datasets.MNIST(root, train, transform, download)}: the standard IDX file names
 * under {@code root} (or torchvision's {@code root/MNIST/raw}); with {@code download}, missing files are fetched
 * from the public mirrors into {@code root}, checked and written atomically.
 */
public final class MNIST {
    private MNIST() {
    }

    /** {@code ~/.cache/lanes/datasets/mnist}, the default root. */
    public static Path defaultRoot() {
        return Path.of(System.getProperty("user.home"), ".cache", "lanes", "datasets", "mnist");
    }

    public static MnistDataset load(Path root, boolean train, ImageTransform transform, boolean download) throws IOException {
        return MnistDataset.loadOrDownload(root, "MNIST", "mnist", train, transform, download);
    }
}
