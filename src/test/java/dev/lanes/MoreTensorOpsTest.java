package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.memory.MemoryScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ops of {@link HostOps}' loops beyond what the op table ({@link OpInfo}) checks against PyTorch's goldens:
 * arguments they refuse (with PyTorch's messages), special values, and what goldens cannot pin (tie order, sampling).
 */
class MoreTensorOpsTest {
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static final float INF = Float.POSITIVE_INFINITY;

    // ---- cumsum, logsumexp, prod ----

    @Test
    void scansAndProductsRefuseDimsOutOfRange() {
        Tensor x = Tensor.randn(2, 3);
        assertThatThrownBy(() -> x.cumsum(2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
        assertThatThrownBy(() -> x.logsumexp(-3)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got -3)");
        assertThatThrownBy(() -> x.prod(5, true)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("Dimension out of range");
        assertThatThrownBy(() -> Tensor.zerosLong(3).cumsum(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cumsum: expected a float32 tensor but got int64");
    }

    @Test
    void logsumexpOfInfinities() {
        Tensor x = Tensor.of(new float[] {-INF, -INF, INF, 1f, 0f, 0f, Float.NaN, 1f}, 4, 2);
        assertThat(x.logsumexp(1).toFloatArray()).containsExactly(-INF, INF, (float) Math.log(2), Float.NaN);
        // far from 0: the max is subtracted, nothing overflows
        assertThat(Tensor.of(new float[] {1000f, 1000f}).logsumexp(0).item()).isCloseTo(1000f + (float) Math.log(2), org.assertj.core.data.Offset.offset(1e-3f));
        // an empty slice: log of an empty sum
        assertThat(Tensor.zeros(2, 0).logsumexp(1).toFloatArray()).containsExactly(-INF, -INF);
    }

    @Test
    void scansOfZeroDimTensorsAndEmptyProducts() {
        Tensor s = Tensor.scalar(3);
        assertThat(s.cumsum(0).shape()).isEmpty();
        assertThat(s.cumsum(-1).item()).isEqualTo(3f);
        assertThat(Tensor.zeros(0).prod().item()).isEqualTo(1f);
        assertThat(Tensor.zeros(2, 0).prod(1).toFloatArray()).containsExactly(1f, 1f);
    }

    @Test
    void prodGradientWithZerosInOneSliceOnly() {
        // a zero anywhere switches every slice to the exclusive products (PyTorch's rule); the values are the same
        Tensor x = Tensor.of(new float[] {2f, 3f, 4f, 0f, 5f, 6f}, 2, 3).requiresGrad(true);
        x.prod(1).sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(12f, 8f, 6f, 30f, 0f, 0f);
    }
}
