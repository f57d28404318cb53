package dev.lanes.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.examples.LeNet;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Sequential;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreparedModelTest {
    @TempDir
    Path dir;

    @Test
    void loadsWeightsAndClassifiesLikeTheEagerModel() throws Exception {
        Lanes.manualSeed(11);
        LeNet trained = new LeNet();
        Path weights = dir.resolve("lenet.safetensors");
        SafeTensors.save(trained, weights);
        try (PreparedModel m = PreparedModel.load(new LeNet(), weights, 1, 1, 32, 32).warmUp(Duration.ofMillis(10))) {
            assertThat(m.inputSize()).isEqualTo(1024);
            assertThat(m.outputSize()).isEqualTo(10);
            assertThat(m.name()).isEqualTo("LeNet");
            float[] x = new float[1024];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(i * 0.37);
            }
            float[] probabilities = new float[10];
            int cls = m.classify(x, probabilities);
            float[] expected;
            trained.eval();
            try (Autograd.Mode g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
                expected = trained.forward(Tensor.of(x, 1, 1, 32, 32)).softmax(1).toFloatArray();
            }
            for (int i = 0; i < 10; i++) {
                assertThat(probabilities[i]).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-6f));
            }
            int best = 0;
            for (int i = 1; i < 10; i++) {
                best = expected[i] > expected[best] ? i : best;
            }
            assertThat(cls).isEqualTo(best);
        }
    }

    @Test
    void weightsForAnotherArchitectureAreRefusedByName() throws Exception {
        Path other = dir.resolve("mlp.safetensors");
        SafeTensors.save(new Sequential(new Linear(784, 10)), other);
        assertThatThrownBy(() -> PreparedModel.load(new LeNet(), other, 1, 1, 32, 32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv1.weight").hasMessageContaining("0.weight");
        Path resized = dir.resolve("wide.safetensors");
        LeNet wide = new LeNet();
        var state = wide.stateDict();
        state.put("fc3.weight", Tensor.zeros(12, 84));
        SafeTensors.save(state, resized);
        assertThatThrownBy(() -> PreparedModel.load(new LeNet(), resized, 1, 1, 32, 32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fc3.weight").hasMessageContaining("[12, 84]");
        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> PreparedModel.load(new LeNet(), garbage, 1, 1, 32, 32)).hasMessageContaining("garbage.safetensors");
        assertThatThrownBy(() -> PreparedModel.load(new LeNet(), new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 9}, "upload", 1, 1, 32, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("upload");
    }

    @Test
    void softmaxArgmaxFollowsTorch() {
        float[] v = {1, 3, 3, -1};
        assertThat(PreparedModel.softmaxArgmax(v)).isEqualTo(1);
        assertThat(v[1]).isEqualTo(v[2]);
        float sum = 0;
        for (float p : v) {
            sum += p;
        }
        assertThat(sum).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
        float[] nan = {1, Float.NaN, 2};
        assertThat(PreparedModel.softmaxArgmax(nan)).isEqualTo(-1);
        assertThat(nan).containsOnly(Float.NaN);
    }
}
