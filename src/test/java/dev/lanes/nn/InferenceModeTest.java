package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryPool;
import org.junit.jupiter.api.Test;

class InferenceModeTest {
    @Test
    void inferenceModeRecordsNoGraphAndSequentialFreesIntermediatesAtOnce() {
        Lanes.manualSeed(2);
        Sequential net = new Sequential(new Linear(256, 1024), new ReLU(), new Linear(1024, 1024), new Flatten(), new ReLU(), new Linear(1024, 8));
        Tensor x = Tensor.randn(64, 256);
        float[] expected;
        try (Autograd.Mode g = Autograd.noGrad()) {
            expected = net.forward(x).toFloatArray();
        }
        MemoryPool pool = MemoryPool.global();
        long before = pool.bytesInUse();
        Tensor y;
        try (Autograd.Mode g = Autograd.inferenceMode()) {
            assertThat(Autograd.isInferenceMode()).isTrue();
            assertThat(Autograd.isGradEnabled()).isFalse();
            y = net.forward(x);
            try (Autograd.Mode inner = Autograd.noGrad()) {
                assertThat(Autograd.isInferenceMode()).isTrue();
            }
            try (Autograd.Mode inner = Autograd.enableGrad()) { // inference mode is not grad mode: enable_grad leaves it on (torch)
                assertThat(Autograd.isInferenceMode()).isTrue();
            }
        }
        // only the [64, 8] result is still held; each [64, 1024] intermediate (256 KiB) went back at once
        assertThat(pool.bytesInUse() - before).isLessThan(64 * 1024);
        assertThat(Autograd.isInferenceMode()).isFalse();
        assertThat(Autograd.isGradEnabled()).isTrue();
        assertThat(y.gradFn()).isNull();
        assertThat(y.toFloatArray()).containsExactly(expected);
        assertThat(x.isReleased()).isFalse();
    }
}
