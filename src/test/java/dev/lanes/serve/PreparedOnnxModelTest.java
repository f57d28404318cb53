package dev.lanes.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.nn.Linear;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PreparedModel serves an ONNX file like a Module: PyTorch's outputs, from many threads at once, nothing allocated per call. */
class PreparedOnnxModelTest {
    static Path lenet(Path dir) throws IOException {
        try (InputStream in = PreparedOnnxModelTest.class.getResourceAsStream("/onnx/lenet.onnx")) {
            Path p = dir.resolve("lenet.onnx");
            Files.write(p, in.readAllBytes());
            return p;
        }
    }

    @Test
    void servesPytorchsLenetFromManyThreads(@TempDir Path dir) throws Exception {
        Tensor x = null;
        Tensor y = null;
        for (TestGolden.Case c : TestGolden.read("onnx.txt")) {
            if (c.name().equals("lenet/x")) {
                x = c.tensor();
            } else if (c.name().equals("lenet/y")) {
                y = c.tensor();
            }
        }
        float[] all = x.toFloatArray();
        float[] want = y.toFloatArray();
        // a .onnx file given where a Module's weights would go: the file's own architecture is used
        try (PreparedModel m = PreparedModel.load(new Linear(1, 1), lenet(dir), 1, 1, 32, 32)) {
            assertThat(m.outputSize()).isEqualTo(10);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] ts = new Thread[4];
            for (int t = 0; t < ts.length; t++) {
                int image = t % 4;
                ts[t] = new Thread(() -> {
                    try {
                        float[] in = java.util.Arrays.copyOfRange(all, image * 1024, (image + 1) * 1024);
                        float[] out = new float[10];
                        for (int rep = 0; rep < 200; rep++) {
                            m.predict(in, out);
                            for (int k = 0; k < 10; k++) {
                                float w = want[image * 10 + k];
                                assertThat(Math.abs(out[k] - w)).as("image %d class %d", image, k).isLessThanOrEqualTo(1e-5f + 1e-4f * Math.abs(w));
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            assertThat(failure.get()).isNull();
            // and a warm call allocates nothing: measured in a JVM of its own, as a service serves its model (in this
            // suite's JVM, kernels compiled early with other tests' profiles can leave a vector pass to the Vector
            // API's allocating fallback for good; see PlanHeapProbe)
            assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx-lenet")).as("bytes allocated per warm call")
                    .isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
        }
    }

    @Test
    void aMalformedOnnxFileIsRefusedWithItsReason() {
        assertThatThrownBy(() -> PreparedModel.loadOnnx(new byte[] {0x3a, 0x7f, 0x01}, "upload", 1, 1, 32, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ONNX");
    }
}
