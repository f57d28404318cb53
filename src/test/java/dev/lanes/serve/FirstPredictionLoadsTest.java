package dev.lanes.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.ChildJvm;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a fresh JVM loads on its way to a model's first prediction, the part of a cold start that is class loading: a
 * child JVM (the cold-start gates open, as in a service) loads PyTorch's LeNet export, predicts once and prints a marker;
 * the classes it loaded before the marker are read from {@code -Xlog:class+load}.
 */
class FirstPredictionLoadsTest {
    /** The child: load, predict, mark. */
    public static void main(String[] args) throws Exception {
        byte[] model;
        try (InputStream in = FirstPredictionLoadsTest.class.getResourceAsStream("/onnx/lenet.onnx")) {
            model = in.readAllBytes();
        }
        try (PreparedModel m = PreparedModel.loadOnnx(model, "lenet.onnx", 1, 1, 32, 32)) {
            float[] out = new float[m.outputSize()];
            m.predict(new float[m.inputSize()], out);
            System.out.println("FIRST PREDICTION " + out[0]);
        }
    }

    @Test
    void theFirstPredictionSetsUpNoManagementBeans() throws Exception {
        String before = beforeFirstPrediction();
        assertThat(before).as("classes loaded before the first prediction").contains("dev.lanes.kernels.Sgemm ");
        // ManagementFactory's set-up (a service lookup, ~30 classes) took 16-21 ms of a fresh JVM: TileGuard makes its
        // meter at its first sample, thousands of products later
        assertThat(before).doesNotContain("java.lang.management.ManagementFactory ");
    }

    @Test
    void theFirstPredictionMakesNoVectorSpeciesNorConstants() throws Exception {
        String before = beforeFirstPrediction();
        assertThat(before).contains("jdk.incubator.vector.VectorShape "); // its preferred shape gives LANES, which sizes the plan
        // the species and the kernels' shuffles and vector constants wait in holder classes (Simd.Preferred, Vectors):
        // FloatVector's initialiser makes every float species, and shuffles the byte species behind them, ~25 ms of a
        // cold start that the first predictions' scalar forms never use
        assertThat(before).doesNotContain("jdk.incubator.vector.Float512Vector ").doesNotContain("jdk.incubator.vector.Float128Vector ")
                .doesNotContain("jdk.incubator.vector.ByteVector ").doesNotContain("$Vectors ").doesNotContain("Simd$Preferred ");
    }

    /** The child's log up to its marker, one child JVM for every test here. */
    private static String before;

    private static synchronized String beforeFirstPrediction() throws Exception {
        if (before != null) {
            return before;
        }
        String out = ChildJvm.output(FirstPredictionLoadsTest.class, List.of("-Dlanes.coldStart=true", "-Xlog:class+load=info:stdout"), List.of(), 120);
        int marker = out.indexOf("FIRST PREDICTION");
        assertThat(marker).as("the child predicted:\n%s", out).isPositive();
        before = out.substring(0, marker);
        return before;
    }
}
