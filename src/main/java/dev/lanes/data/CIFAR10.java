package dev.lanes.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The CIFAR-10 tiny colour images (10 classes, 50,000 train and 10,000 test, 32x32), like
 * {@code torchvision.datasets.CIFAR10(root, train, transform, download)}, from the binary version's files under
 * {@code root/cifar-10-batches-bin} (or {@code root}); with {@code download}, the authors' {@code cifar-10-binary.tar.gz}
 * is fetched into {@code root}, checked against its published size and MD5, and unpacked there by a tar reader that
 * extracts only regular files inside the folder. Samples are {@code [3, 32, 32]}: pass
 * {@code ImageTransform.toTensor()} for float32 in [0, 1], or the usual training pipeline
 * {@code compose(randomCrop(32, 4), randomHorizontalFlip(), toTensor(), CIFAR10.normalize())}.
 */
public final class CIFAR10 {
    /**
     * {@code Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}: the per-channel mean and standard
     * deviation of the train images on the 0..1 scale, to follow {@link ImageTransform#toTensor()}.
     */
    public static ImageTransform normalize() {
        return ImageTransform.normalize(new double[] {0.4914, 0.4822, 0.4465}, new double[] {0.2470, 0.2435, 0.2616});
    }

    private CIFAR10() {
    }

    /** {@code ~/.cache/lanes/datasets/cifar-10}, the default root. */
    public static Path defaultRoot() {
        return Path.of(System.getProperty("user.home"), ".cache", "lanes", "datasets", "cifar-10");
    }

    public static Cifar10Dataset load(Path root, boolean train, ImageTransform transform, boolean download) throws IOException {
        return Cifar10Dataset.loadOrDownload(root, train, transform, download, Download.files("cifar-10"));
    }
}
