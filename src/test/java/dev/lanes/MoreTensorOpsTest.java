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

    // ---- sort, topk, argsort ----

    @Test
    void tiesKeepTheirIndexOrderAscendingAndDescending() {
        Tensor x = Tensor.of(new float[] {2f, 1f, 2f, -0f, 1f, 0f, 2f});
        Tensor.ValuesIndices up = x.sort(0);
        assertThat(up.values().toFloatArray()).containsExactly(-0f, 0f, 1f, 1f, 2f, 2f, 2f);
        assertThat(up.indices().toLongArray()).containsExactly(3, 5, 1, 4, 0, 2, 6);
        Tensor.ValuesIndices down = x.sort(0, true);
        assertThat(down.indices().toLongArray()).containsExactly(0, 2, 6, 1, 4, 3, 5);
        assertThat(x.topk(2, 0).indices().toLongArray()).containsExactly(0, 2);
        assertThat(x.topk(3, 0, false, false).indices().toLongArray()).containsExactly(3, 5, 1);
        assertThat(x.argsort(0).toLongArray()).containsExactly(3, 5, 1, 4, 0, 2, 6);
        assertThat(up.indices().dtype()).isEqualTo(DType.INT64);
    }

    @Test
    void nanSortsAsTheLargestValue() {
        Tensor x = Tensor.of(new float[] {Float.NaN, 1f, -INF, Float.NaN, INF});
        assertThat(x.sort(0).values().toFloatArray()).containsExactly(-INF, 1f, INF, Float.NaN, Float.NaN);
        assertThat(x.sort(0).indices().toLongArray()).containsExactly(2, 1, 4, 0, 3);
        assertThat(x.sort(0, true).indices().toLongArray()).containsExactly(0, 3, 4, 1, 2);
        assertThat(x.topk(2, 0, false, true).values().toFloatArray()).containsExactly(-INF, 1f);
    }

    @Test
    void topkGradientGoesToTheChosenIndices() {
        Tensor x = Tensor.of(new float[] {1f, 5f, 5f, 3f, 0f, 2f}, 2, 3).requiresGrad(true);
        Tensor.ValuesIndices t = x.topk(2, 1);
        assertThat(t.values().gradFn().name()).isEqualTo("TopkBackward0");
        t.values().backward(Tensor.of(new float[] {10f, 20f, 30f, 40f}, 2, 2));
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 10f, 20f, 30f, 0f, 40f);
        assertThat(t.indices().requiresGrad()).isFalse();
    }

    @Test
    void sortAndTopkRefuseBadArguments() {
        Tensor x = Tensor.randn(2, 3);
        assertThatThrownBy(() -> x.topk(4, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("selected index k out of range");
        assertThatThrownBy(() -> x.topk(-1, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("selected index k out of range");
        assertThatThrownBy(() -> x.sort(2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
        assertThatThrownBy(() -> x.argsort(-3, true)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> Tensor.zerosLong(3).sort()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sort: expected a float32 tensor but got int64");
        // k = 0 and 0-d inputs, as PyTorch
        assertThat(x.topk(0, 1).values().shape()).containsExactly(2, 0);
        Tensor s = Tensor.scalar(4);
        assertThat(s.sort().values().shape()).isEmpty();
        assertThat(s.sort().indices().longItem()).isZero();
    }
}
