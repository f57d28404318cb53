package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.autograd.Autograd;
import java.util.Random;
import java.util.function.BinaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The matrix products give the same bits whichever route runs them (with or without a graph, scaled or not), and
 * in PyTorch 1.13's order where its order decides the bits.
 */
class LinalgOrderTest {
    private static Tensor randn(Random r, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    private static int[] bits(Tensor t) {
        float[] v = t.toFloatArray();
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToIntBits(v[i]);
        }
        return b;
    }

    /** a @ b with neither, a, b or both requiring grad, and under noGrad: one set of bits (PyTorch's are one set too). */
    private static void assertSameBitsWithAndWithoutAGraph(int[] sa, int[] sb, boolean transposeB) {
        Random r = new Random(7);
        Tensor a = randn(r, sa);
        Tensor bBase = randn(r, sb);
        BinaryOperator<Tensor> op = (x, w) -> x.matmul(transposeB ? w.t() : w);
        int[] plain = bits(op.apply(a, bBase));
        String what = java.util.Arrays.toString(sa) + " @ " + java.util.Arrays.toString(sb) + (transposeB ? ".t()" : "");
        for (int mask = 1; mask < 4; mask++) {
            Tensor ag = a.detach().requiresGrad((mask & 1) != 0);
            Tensor bg = bBase.detach().requiresGrad((mask & 2) != 0);
            Tensor y = op.apply(ag, bg);
            assertThat(y.requiresGrad()).isTrue();
            assertThat(bits(y)).as("%s, requiresGrad mask %d against no graph", what, mask).isEqualTo(plain);
            try (Autograd.Mode g = Autograd.noGrad()) {
                assertThat(bits(op.apply(ag, bg))).as("%s under noGrad, mask %d", what, mask).isEqualTo(plain);
            }
        }
    }

    @Test
    void matmulGivesTheSameBitsWithAndWithoutAGraph() {
        assertSameBitsWithAndWithoutAGraph(new int[] {2, 3, 600}, new int[] {600, 5}, false);
        assertSameBitsWithAndWithoutAGraph(new int[] {3, 600}, new int[] {2, 600, 5}, false);
        assertSameBitsWithAndWithoutAGraph(new int[] {4, 8, 300}, new int[] {40, 300}, true);
        assertSameBitsWithAndWithoutAGraph(new int[] {4, 2, 700}, new int[] {700, 40}, false);
        assertSameBitsWithAndWithoutAGraph(new int[] {2, 3, 600}, new int[] {600}, false);
    }
}
