package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * Backward rules that zero a gradient do it by a select, as PyTorch's where / masked_fill_, not by multiplying by a
 * 0/1 mask: an infinite incoming gradient (sqrt's at 0) stays out of the zeroed places instead of turning them NaN.
 * And the masks treat NaN inputs as PyTorch does: clamp's excludes them, ReLU's passes a NaN output. Expected values
 * printed by torch 1.13.
 */
class MaskedGradientTest {
    private static float[] grad(java.util.function.Function<Tensor, Tensor> f, float... x) {
        Tensor t = Tensor.of(x, x.length).requiresGrad(true);
        f.apply(t).sum().backward();
        return t.grad().toFloatArray();
    }

    private static void assertGrad(float[] got, float... want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(want[i])) {
                assertThat(Float.isNaN(got[i])).as("gradient %d of %s is NaN", i, java.util.Arrays.toString(got)).isTrue();
            } else if (Float.isInfinite(want[i]) || want[i] == 0f) {
                assertThat(got[i]).as("gradient %d of %s", i, java.util.Arrays.toString(got)).isEqualTo(want[i]);
            } else {
                assertThat(got[i]).as("gradient %d of %s", i, java.util.Arrays.toString(got)).isCloseTo(want[i], within(1e-6f));
            }
        }
    }

    @Test
    void clampMaximumMinimumAndMaxBeforeASqrtGiveZeroNotNaN() {
        // x = [-1, 0.5, 2]: torch x.clamp(0, 1).sqrt() -> [0, 0.7071, 0]; x.clamp(min=0).sqrt() -> [0, 0.7071, 0.3536]
        assertGrad(grad(t -> t.clamp(0, 1).sqrt(), -1f, 0.5f, 2f), 0f, 0.70710677f, 0f);
        assertGrad(grad(t -> t.clampMin(0).sqrt(), -1f, 0.5f, 2f), 0f, 0.70710677f, 0.35355338f);
        // torch.maximum(x, 0).sqrt() -> [0, 0.7071, 0.3536]; torch.minimum(x, 0).neg().sqrt() at [1, 0.25] -> [0, 0]
        assertGrad(grad(t -> t.maximum(Tensor.zeros(3)).sqrt(), -1f, 0.5f, 2f), 0f, 0.70710677f, 0.35355338f);
        assertGrad(grad(t -> t.minimum(Tensor.zeros(2)).neg().sqrt(), 1f, 0.25f), 0f, 0f);
        // x.max().sqrt() at [-1, 0] -> [0, inf]
        assertGrad(grad(t -> t.max().sqrt(), -1f, 0f), 0f, Float.POSITIVE_INFINITY);
        // x.pow(tensor([0, 0])) with an infinite gradient -> [0, 0]
        Tensor x = Tensor.of(new float[] {0f, 2f}, 2).requiresGrad(true);
        x.pow(Tensor.zeros(2)).backward(Tensor.of(new float[] {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY}, 2));
        assertGrad(x.grad().toFloatArray(), 0f, 0f);
    }

    @Test
    void maximumSendsInfAndNaNGradientsOnlyToTheWinner() {
        // torch.maximum([1, 2], [2, 1]).backward([inf, nan]) -> x.grad [0, nan], y.grad [inf, 0]
        Tensor a = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {2f, 1f}, 2).requiresGrad(true);
        a.maximum(b).backward(Tensor.of(new float[] {Float.POSITIVE_INFINITY, Float.NaN}, 2));
        assertGrad(a.grad().toFloatArray(), 0f, Float.NaN);
        assertGrad(b.grad().toFloatArray(), Float.POSITIVE_INFINITY, 0f);
        // clamp(0, 1.5) of [1, 2] with [nan, inf] -> [nan, 0]
        Tensor c = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        c.clamp(0, 1.5).backward(Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY}, 2));
        assertGrad(c.grad().toFloatArray(), Float.NaN, 0f);
    }

    @Test
    void nanInputsPassReluAndStopAtClampAsInPyTorch() {
        // torch: [nan, 0.5].clamp(0, 1) and .clamp(min=0) -> grad [0, 1]; [nan, 0.5, 0, -1].relu() -> grad [1, 1, 0, 0]
        assertGrad(grad(t -> t.clamp(0, 1), Float.NaN, 0.5f), 0f, 1f);
        assertGrad(grad(t -> t.clampMin(0), Float.NaN, 0.5f), 0f, 1f);
        assertGrad(grad(Tensor::relu, Float.NaN, 0.5f, 0f, -1f), 1f, 1f, 0f, 0f);
        float[] nans = new float[40]; // the vector body too, at any width
        java.util.Arrays.fill(nans, Float.NaN);
        assertThat(grad(Tensor::relu, nans)).containsOnly(1f);
    }

    @Test
    void rdivsGradientIsTheReciprocalsSquaredNotAnOverflowingSquare() {
        // torch: (1.0 / x).sum().backward() at x = [2e19, -1e-20] -> [-2.500000538263333e-39, -inf] (x * x overflowed: -0)
        float[] g = grad(t -> t.rdiv(1.0), 2e19f, -1e-20f);
        assertThat(Float.floatToIntBits(g[0])).as("%s", g[0]).isEqualTo(Float.floatToIntBits(-2.500000538263333e-39f)); // subnormal: bits
        assertThat(g[1]).isEqualTo(Float.NEGATIVE_INFINITY);
    }
}
