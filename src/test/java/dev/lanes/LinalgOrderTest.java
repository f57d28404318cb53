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

    /**
     * Each row of A: 2e38 at column 0, -2e38 at column 600, zeros elsewhere; times ones: every sum is 0. Scaled by 2
     * per 512-deep block it was inf + -inf = NaN (PyTorch: 0; the unblocked 3-row path: 0).
     */
    @Test
    void addmmScalesTheWholeSumSoAPartialSumCannotOverflow() {
        int k = 1024;
        float[] av = new float[8 * k];
        for (int i = 0; i < 8; i++) {
            av[i * k] = 2e38f;
            av[i * k + 600] = -2e38f;
        }
        Tensor a = Tensor.of(av, 8, k);
        Tensor b = Tensor.ones(k, 8);
        assertThat(Tensor.addmm(Tensor.zeros(8, 8), a, b, 1.0, 2.0).toFloatArray()).containsOnly(0f);
        assertThat(Tensor.addmm(Tensor.ones(8, 8), a, b, 0.5, 2.0).toFloatArray()).containsOnly(0.5f); // beta C added once too
        assertThat(Tensor.addmm(Tensor.ones(8), a, b, 1.0, 2.0).toFloatArray()).containsOnly(1f); // a bias row
        assertThat(Tensor.addmm(Tensor.zeros(3, 8), a.narrow(0, 0, 3), b, 1.0, 2.0).toFloatArray()).containsOnly(0f);
    }

    /**
     * addmm(input, A, B, beta, alpha) is fl(fl(alpha * S) + fl(beta * input)) with S the bits of A.mm(B), on every
     * GEMM path: few rows (3), A B^T with few long rows (8 x 600), the blocked loops with two depth blocks summed
     * in pairs (20 x 700), three blocks (64 x 1100), and a product split across threads (256 x 1030 x 256). For
     * alpha a power of two and beta 0 that is 2 * mm exactly.
     */
    @Test
    void addmmIsAlphaTimesTheProductsBitsPlusBetaTimesInputOnEveryPath() {
        int[][] shapes = {{3, 1100, 40}, {8, 600, 40}, {20, 700, 33}, {64, 1100, 40}, {256, 1030, 256}};
        float[][] scales = {{2f, 0f}, {0.25f, 0f}, {-4f, 0f}, {0.3f, 0f}, {0.3f, 0.7f}, {1f, 0.7f}, {2f, 1f}, {-0.3f, 1f}};
        Random r = new Random(11);
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            Tensor a = randn(r, m, k);
            Tensor w = randn(r, n, k); // B = w.t(): the A B^T path where it applies
            Tensor input = randn(r, m, n);
            Tensor bias = randn(r, n);
            float[] prod = a.mm(w.t()).toFloatArray();
            float[] in = input.toFloatArray();
            float[] bv = bias.toFloatArray();
            for (float[] ab : scales) {
                float alpha = ab[0];
                float beta = ab[1];
                String what = m + "x" + k + "x" + n + ", alpha " + alpha + ", beta " + beta;
                float[] got = Tensor.addmm(input, a, w.t(), beta, alpha).toFloatArray();
                float[] gotBias = Tensor.addmm(bias, a, w.t(), 1, alpha).toFloatArray();
                for (int i = 0; i < m * n; i++) {
                    float want = beta == 0f ? alpha * prod[i] : alpha * prod[i] + beta * in[i];
                    assertThat(Float.floatToIntBits(got[i])).as("%s: element %d: %s, want %s", what, i, got[i], want)
                            .isEqualTo(Float.floatToIntBits(want));
                    float wantBias = alpha * prod[i] + bv[i % n];
                    assertThat(Float.floatToIntBits(gotBias[i])).as("%s, bias row: element %d: %s, want %s", what, i, gotBias[i], wantBias)
                            .isEqualTo(Float.floatToIntBits(wantBias));
                }
            }
        }
    }

    /** The plan's GEMM step runs a scaled product as the eager one: the same bits. */
    @Test
    void aTracedScaledProductHasTheEagerBits() {
        Random r = new Random(12);
        Tensor w = randn(r, 1100, 40);
        Tensor c = randn(r, 64, 40);
        float[] x = randn(r, 64, 1100).toFloatArray();
        java.util.function.Function<Tensor, Tensor> f = t -> Tensor.addmm(c, t, w, 0.7, 0.3);
        float[] eager = f.apply(Tensor.of(x, 64, 1100)).toFloatArray();
        float[] prod = Tensor.of(x, 64, 1100).mm(w).toFloatArray();
        float[] in = c.toFloatArray();
        try (InferencePlan plan = InferencePlan.trace(f, 64, 1100)) {
            float[] out = new float[plan.outputSize()];
            plan.run(x, out);
            assertThat(out).isEqualTo(eager);
        }
        for (int i = 0; i < prod.length; i++) {
            assertThat(Float.floatToIntBits(eager[i])).as("element %d", i).isEqualTo(Float.floatToIntBits(0.3f * prod[i] + 0.7f * in[i]));
        }
    }

    /** addmm's input gradient is PyTorch's sum_to(grad * beta): scaled then reduced (reduced then scaled differed in 33 of 64). */
    @Test
    void addmmInputGradientIsTheScaledGradientReduced() {
        Random r = new Random(13);
        Tensor input = randn(r, 64).requiresGrad(true);
        Tensor a = randn(r, 7, 3).requiresGrad(true);
        Tensor b = randn(r, 3, 64);
        Tensor up = randn(r, 7, 64); // the upstream gradient: mul's backward passes 1 * up, exactly up
        Tensor.addmm(input, a, b, 0.3, 1.0).mul(up).sum().backward();
        float[] want;
        try (Autograd.Mode g = Autograd.noGrad()) {
            want = up.mul(0.3).sum(0).toFloatArray();
        }
        assertThat(bits(input.grad())).isEqualTo(bits(Tensor.of(want, 64)));
        Tensor whole = randn(r, 7, 64).requiresGrad(true); // no reduction: grad * beta
        Tensor.addmm(whole, a, b, 0.3, 1.0).mul(up).sum().backward();
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertThat(bits(whole.grad())).isEqualTo(bits(up.mul(0.3)));
        }
    }
}
