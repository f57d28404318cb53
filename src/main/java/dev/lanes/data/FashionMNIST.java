package dev.lanes.data;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

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
        Path torchvision = root.resolve("FashionMNIST").resolve("raw");
        if (MnistDataset.present(root, train)) {
            return MnistDataset.load(root, train, transform);
        }
        if (MnistDataset.present(torchvision, train)) {
            return MnistDataset.load(torchvision, train, transform);
        }
        if (!download) {
            throw new IOException("FashionMNIST " + (train ? "train" : "test") + " files not found in " + root + " or " + torchvision
                    + "; pass download=true to fetch them");
        }
        Download.fetch(Download.files("fashion-mnist"), root, System.out, Duration.ofSeconds(60));
        return MnistDataset.load(root, train, transform);
    }
}
