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
        // a row longer than the kernel's scratch can index: refused before the (broadcast) input is copied
        Tensor huge = Tensor.zeros(1).expand(SortOps.MAX_ROW + 1);
        assertThatThrownBy(() -> huge.sort()).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("sort: a dim of 1073741820 elements");
        assertThatThrownBy(() -> huge.topk(1)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("topk: a dim of");
        // k = 0 and 0-d inputs, as PyTorch
        assertThat(x.topk(0, 1).values().shape()).containsExactly(2, 0);
        Tensor s = Tensor.scalar(4);
        assertThat(s.sort().values().shape()).isEmpty();
        assertThat(s.sort().indices().longItem()).isZero();
    }

    // ---- multinomial (PyTorch's generator differs: statistics, not goldens) ----

    @Test
    void multinomialWithReplacementMatchesTheProbabilities() {
        Lanes.manualSeed(11);
        int n = 20_000;
        double[] p = {0.1, 0.2, 0.3, 0.4};
        Tensor w = Tensor.of(new float[] {1f, 2f, 3f, 4f}); // weights: normalised by their sum
        long[] draws = w.multinomial(n, true).toLongArray();
        assertThat(draws).hasSize(n);
        long[] count = new long[4];
        for (long d : draws) {
            count[(int) d]++;
        }
        for (int j = 0; j < 4; j++) {
            double sigma = Math.sqrt(n * p[j] * (1 - p[j]));
            assertThat((double) count[j]).as("category %d", j).isCloseTo(n * p[j], org.assertj.core.data.Offset.offset(5 * sigma));
        }
    }

    @Test
    void multinomialRowsDrawFromTheirOwnWeightsAndNeverAZeroWeight() {
        Lanes.manualSeed(12);
        int n = 20_000;
        Tensor w = Tensor.of(new float[] {0f, 1f, 0f, 3f, 5f, 0f, 0f, 5f}, 2, 4);
        Tensor d = w.multinomial(n, true);
        assertThat(d.shape()).containsExactly(2, n);
        assertThat(d.dtype()).isEqualTo(DType.INT64);
        long[] v = d.toLongArray();
        long ones = 0;
        long zeros = 0;
        for (int s = 0; s < n; s++) {
            assertThat(v[s]).isIn(1L, 3L);
            assertThat(v[n + s]).isIn(0L, 3L);
            ones += v[s] == 1 ? 1 : 0;
            zeros += v[n + s] == 0 ? 1 : 0;
        }
        assertThat((double) ones).isCloseTo(n * 0.25, org.assertj.core.data.Offset.offset(5 * Math.sqrt(n * 0.25 * 0.75)));
        assertThat((double) zeros).isCloseTo(n * 0.5, org.assertj.core.data.Offset.offset(5 * Math.sqrt(n * 0.25)));
    }

    @Test
    void multinomialIsReproducibleFromTheSeed() {
        Tensor w = Tensor.of(new float[] {0.2f, 0.3f, 0.5f, 1f, 1f, 1f}, 2, 3);
        Lanes.manualSeed(7);
        long[] a = w.multinomial(50, true).toLongArray();
        long[] a2 = w.multinomial(3).toLongArray();
        Lanes.manualSeed(7);
        assertThat(w.multinomial(50, true).toLongArray()).containsExactly(a);
        assertThat(w.multinomial(3).toLongArray()).containsExactly(a2);
        Lanes.manualSeed(8);
        assertThat(w.multinomial(50, true).toLongArray()).isNotEqualTo(a);
    }

    @Test
    void multinomialWithoutReplacementDrawsDistinctIndices() {
        Lanes.manualSeed(13);
        Tensor w = Tensor.of(new float[] {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f});
        int[] first = new int[8];
        int trials = 4000;
        for (int t = 0; t < trials; t++) {
            long[] d = w.multinomial(5).toLongArray();
            assertThat(d).doesNotHaveDuplicates();
            first[(int) d[0]]++;
        }
        for (int j = 0; j < 8; j++) { // the first draw follows the weights
            double p = (j + 1) / 36.0;
            assertThat((double) first[j]).isCloseTo(trials * p, org.assertj.core.data.Offset.offset(5 * Math.sqrt(trials * p * (1 - p))));
        }
        // all of a row: a permutation; categories of zero weight only after the positive ones, in index order
        assertThat(Tensor.of(new float[] {0f, 1f, 0f, 2f}).multinomial(4).toLongArray()).satisfiesAnyOf(
                d -> assertThat(d).containsExactly(1, 3, 0, 2), d -> assertThat(d).containsExactly(3, 1, 0, 2));
    }

    @Test
    void multinomialRefusesBadWeightsWithPyTorchsMessages() {
        Tensor ok = Tensor.of(new float[] {0.5f, 0.5f});
        assertThatThrownBy(() -> Tensor.of(new float[] {0.5f, -1f}).multinomial(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("probability tensor contains either `inf`, `nan` or element < 0");
        assertThatThrownBy(() -> Tensor.of(new float[] {0.5f, Float.NaN}).multinomial(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("probability tensor contains either `inf`, `nan` or element < 0");
        assertThatThrownBy(() -> Tensor.of(new float[] {0.5f, INF}).multinomial(2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("probability tensor contains either `inf`, `nan` or element < 0");
        assertThatThrownBy(() -> Tensor.of(new float[] {0.5f, -1f}).multinomial(3, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invalid multinomial distribution (encountering probability entry < 0)");
        assertThatThrownBy(() -> Tensor.of(new float[] {0.5f, INF}).multinomial(3, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invalid multinomial distribution (encountering probability entry = infinity or NaN)");
        assertThatThrownBy(() -> Tensor.of(new float[] {1f, 1f, 0f, 0f}, 2, 2).multinomial(3, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid multinomial distribution (sum of probabilities <= 0)");
        assertThatThrownBy(() -> ok.multinomial(3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cannot sample n_sample > prob_dist.size(-1) samples without replacement");
        assertThatThrownBy(() -> ok.multinomial(0, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cannot sample n_sample <= 0 samples");
        assertThatThrownBy(() -> Tensor.zeros(2, 2, 2).multinomial(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("prob_dist must be 1 or 2 dim");
        assertThatThrownBy(() -> Tensor.zerosLong(2).multinomial(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("multinomial only supports floating-point dtypes for input, got: Long");
        assertThat(ok.multinomial(4, true).shape()).containsExactly(4); // more samples than categories: with replacement only
    }

    @Test
    void hostLoopOpsHaveNoPlanStep() {
        for (java.util.function.Function<Tensor, Tensor> f : java.util.List.<java.util.function.Function<Tensor, Tensor>>of(
                x -> x.softmax(1).multinomial(1, true).toFloat(), x -> x.cumsum(1))) {
            assertThatThrownBy(() -> InferencePlan.trace(f, 2, 3).close()).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("InferencePlan.trace").hasMessageContaining("has no plan step");
        }
    }

    // ---- flip, roll, repeat ----

    @Test
    void flipRollRepeatKeepTheDtype() {
        Tensor ids = Tensor.arange(6).view(2, 3);
        assertThat(ids.roll(1, 1).toLongArray()).containsExactly(2, 0, 1, 5, 3, 4);
        assertThat(ids.flip(0, 1).toLongArray()).containsExactly(5, 4, 3, 2, 1, 0);
        assertThat(ids.repeat(1, 2).toLongArray()).containsExactly(0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
        assertThat(ids.roll(-7).toLongArray()).containsExactly(1, 2, 3, 4, 5, 0);
        Tensor m = Tensor.of(new boolean[] {true, false, false});
        assertThat(m.flip(0).dtype()).isEqualTo(DType.BOOL);
        assertThat(m.flip(0).toFloatArray()).containsExactly(0f, 0f, 1f);
        assertThat(Tensor.scalar(3).repeat(2, 2).toFloatArray()).containsExactly(3f, 3f, 3f, 3f);
        assertThat(Tensor.randn(2, 3).repeat(0, 1).shape()).containsExactly(0, 3);
    }

    @Test
    void flipRollRepeatRefuseBadArguments() {
        Tensor x = Tensor.randn(2, 3);
        assertThatThrownBy(() -> x.flip(0, -2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dim 0 appears multiple times in the list of dims");
        assertThatThrownBy(() -> x.flip(2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
        assertThatThrownBy(() -> x.roll(new int[] {1, 2}, new int[] {0})).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shifts and dimensions must align. shifts: 2, dims:1");
        assertThatThrownBy(() -> x.roll(1, 5)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("Dimension out of range");
        assertThatThrownBy(() -> x.roll(new int[0], new int[0])).isInstanceOf(IllegalArgumentException.class).hasMessage("`shifts` required");
        assertThatThrownBy(() -> x.repeat(2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
        assertThatThrownBy(() -> x.repeat(-1, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Trying to create tensor with negative dimension -2: [-2, 6]");
    }

    // ---- rounding and the other new elementwise ops ----

    @Test
    void roundingGivesJavasBitsSignedZerosIncludedInTheVectorLoopAndTheTail() {
        float[] special = {-0.7f, -0.5f, -0.3f, -0f, 0f, 0.3f, 0.5f, 0.7f, -1.5f, -2.5f, 1.5f, 2.5f, -1e-30f, 1e-30f, 8388607.5f, -8388607.5f,
            8388609f, -1e10f, INF, -INF, Float.MAX_VALUE, -Float.MIN_VALUE, 3.7f, -3.7f};
        float[] v = new float[special.length * 3 + 5]; // several vectors at every width, and a tail
        for (int i = 0; i < v.length; i++) {
            v[i] = special[i % special.length];
        }
        Tensor x = Tensor.of(v);
        check(x.floor(), v, d -> Math.floor(d));
        check(x.ceil(), v, d -> Math.ceil(d));
        check(x.round(), v, d -> Math.rint(d));
        check(x.trunc(), v, d -> d < 0 ? Math.ceil(d) : Math.floor(d));
        check(x.sign(), v, d -> d > 0 ? 1 : d < 0 ? -1 : 0); // -0 gives +0, as PyTorch
        assertThat(Tensor.of(new float[] {Float.NaN}).sign().item()).isEqualTo(0f); // PyTorch: sign(nan) = 0
        assertThat(Tensor.of(new float[] {Float.NaN}).floor().item()).isNaN();
    }

    private static void check(Tensor got, float[] x, java.util.function.DoubleUnaryOperator want) {
        float[] g = got.toFloatArray();
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToRawIntBits(g[i])).as("%s at %s", got, x[i]).isEqualTo(Float.floatToRawIntBits((float) want.applyAsDouble(x[i])));
        }
    }

    @Test
    void roundingOpsHaveZeroGradients() {
        for (java.util.function.UnaryOperator<Tensor> f : java.util.List.<java.util.function.UnaryOperator<Tensor>>of(Tensor::floor, Tensor::ceil,
                Tensor::round, Tensor::trunc, Tensor::sign)) {
            Tensor x = Tensor.of(new float[] {-1.3f, 0.2f, 2.5f}).requiresGrad(true);
            f.apply(x).sum().backward();
            assertThat(x.grad().toFloatArray()).containsExactly(0f, 0f, 0f);
        }
    }

    // ---- isnan / isinf / isfinite, any / all ----

    @Test
    void predicatesOfEveryDtype() {
        Tensor x = Tensor.of(new float[] {Float.NaN, INF, -INF, 0f, -2f});
        assertThat(x.isnan().dtype()).isEqualTo(DType.BOOL);
        assertThat(x.isnan().toFloatArray()).containsExactly(1f, 0f, 0f, 0f, 0f);
        assertThat(x.isinf().toFloatArray()).containsExactly(0f, 1f, 1f, 0f, 0f);
        assertThat(x.isfinite().toFloatArray()).containsExactly(0f, 0f, 0f, 1f, 1f);
        assertThat(Tensor.arange(3).isfinite().toFloatArray()).containsExactly(1f, 1f, 1f);
        assertThat(Tensor.arange(3).isnan().any().boolItem()).isFalse();
        assertThat(x.requiresGrad(true).isnan().requiresGrad()).isFalse();
    }

    @Test
    void anyAndAllOfEmptyAndAlongDims() {
        assertThat(Tensor.zeros(0).any().boolItem()).isFalse();
        assertThat(Tensor.zeros(0).all().boolItem()).isTrue();
        assertThat(Tensor.zeros(2, 0).all(1).toFloatArray()).containsExactly(1f, 1f);
        Tensor m = Tensor.of(new boolean[] {true, false, true, true}, 2, 2);
        assertThat(m.all(1).toFloatArray()).containsExactly(0f, 1f);
        assertThat(m.any(0, true).shape()).containsExactly(1, 2);
        assertThat(m.all(-2).toFloatArray()).containsExactly(1f, 0f);
        assertThat(Tensor.of(new long[] {3, 0}).any().boolItem()).isTrue();
        assertThat(Tensor.of(new float[] {Float.NaN}).all().boolItem()).isTrue(); // NaN is nonzero
        assertThatThrownBy(() -> m.any(2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    }

    @Test
    void isnanFeedsAMaskedFillInAPlan() {
        java.util.function.Function<Tensor, Tensor> f = x -> {
            Tensor y = x.log(); // NaN below 0
            return y.maskedFill(y.isnan(), 0).add(y.isinf().toFloat());
        };
        try (InferencePlan plan = InferencePlan.trace(f, 6)) {
            float[] in = {-1f, 0f, 1f, 2f, -3f, 4f};
            float[] got = new float[6];
            plan.run(in, got);
            assertThat(got).containsExactly(f.apply(Tensor.of(in)).toFloatArray());
            assertThat(got[0]).isZero();
        }
    }

    // ---- norm ----

    @Test
    void normOfTheZeroVectorHasGradientZero() {
        Tensor x = Tensor.zeros(4).requiresGrad(true);
        Tensor n = x.norm();
        assertThat(n.item()).isZero();
        assertThat(n.gradFn().name()).isEqualTo("NormBackward1");
        n.backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 0f, 0f, 0f);
    }

    @Test
    void normValuesOfEachOrder() {
        Tensor x = Tensor.of(new float[] {3f, -4f, 0f, 1f});
        assertThat(x.norm(2).item()).isEqualTo((float) Math.sqrt(26));
        assertThat(x.norm(1).item()).isEqualTo(8f);
        assertThat(x.norm(Double.POSITIVE_INFINITY).item()).isEqualTo(4f);
        assertThat(x.norm(Double.NEGATIVE_INFINITY).item()).isEqualTo(0f);
        assertThat(x.norm(0).item()).isEqualTo(3f);
        assertThat(x.norm(3).item()).isCloseTo((float) Math.cbrt(27 + 64 + 1), org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(Tensor.of(new float[] {1f, Float.NaN}).norm(Double.POSITIVE_INFINITY).item()).isNaN();
        assertThat(Tensor.zeros(2, 0).norm(2, 1).toFloatArray()).containsExactly(0f, 0f);
    }

    @Test
    void normRefusesWhatVectorNormRefuses() {
        assertThatThrownBy(() -> Tensor.zeros(2, 0).norm(Double.POSITIVE_INFINITY, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("linalg.vector_norm cannot compute the inf norm on the dimension 1 because this dimension is empty");
        assertThatThrownBy(() -> Tensor.zeros(2, 0).norm(-1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("linalg.vector_norm cannot compute the -1 norm");
        assertThatThrownBy(() -> Tensor.randn(2, 3).norm(2, 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("Dimension out of range");
        assertThatThrownBy(() -> Tensor.zerosLong(3).norm()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("norm: expected a float32 tensor but got int64");
    }
}
