package dev.lanes.examples;

import dev.lanes.data.Idx;
import dev.lanes.data.MnistDataset;
import java.nio.file.Path;

/** Prints a POST /predict body for bench/load-test: the first image of the shipped Fashion-MNIST sample as 784 pixels. */
public final class LoadTestBody {
    private LoadTestBody() {
    }

    public static void main(String[] args) throws Exception {
        Idx.Array images = Idx.read(MnistDataset.find(Path.of("examples", "data", "fashion-mnist-t10k"), "t10k-images-idx3-ubyte"));
        StringBuilder sb = new StringBuilder("{\"pixels\": [");
        for (int i = 0; i < 784; i++) {
            sb.append(i > 0 ? "," : "").append(images.unsigned(i));
        }
        System.out.println(sb.append("]}"));
    }
}
