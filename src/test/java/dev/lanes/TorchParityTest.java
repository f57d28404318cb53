package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Results PyTorch 1.13 gives for edge cases an audit of the op layer found Lanes computing otherwise (each expected
 * value printed by torch 1.13 on this machine): a gradient that was NaN or infinite where PyTorch's is finite, and
 * dtypes and shapes of joins and factories.
 */
class TorchParityTest {
    /** x.pow(b) at x = 0 with b = 0: PyTorch's pow_backward_self masks b == 0 to 0 (b x^(b-1) = 0 * inf = NaN). */
    @Test
    void powGradientAtZeroBaseAndZeroExponentIsZero() {
        try (Tensor a = Tensor.of(new float[] {0f}, 1).requiresGrad(true); Tensor b = Tensor.of(new float[] {0f, 1f, 2f}, 3)) {
            a.pow(b).sum().backward();
            assertThat(a.grad().toFloatArray()).containsExactly(1f); // 0 + 1 * 0^0 + 2 * 0^1
        }
    }

    /** d(a/b)/db as PyTorch computes it, -g ((a / b) / b): b * b first left float range (-inf, -0). */
    @Test
    void divisorGradientStaysInRange() {
        try (Tensor a = Tensor.of(new float[] {1e-25f, 1e20f}, 2); Tensor b = Tensor.of(new float[] {1e-25f, 1e20f}, 2).requiresGrad(true)) {
            a.div(b).sum().backward();
            assertThat(b.grad().toFloatArray()).containsExactly(-1e25f, -1e-20f);
        }
    }

    /** torch.cat / torch.stack of bools stay bool; an int64 beside bools makes them 0 and 1. */
    @Test
    void catAndStackOfBoolsAreBool() {
        try (Tensor x = Tensor.of(new float[] {1f, -1f}, 2); Tensor pos = x.gt(0); Tensor neg = x.lt(0); Tensor five = Tensor.of(new long[] {5}, 1)) {
            Tensor both = Tensor.cat(List.of(pos, neg));
            assertThat(both.dtype()).isEqualTo(DType.BOOL);
            assertThat(both.toType(DType.INT64).toLongArray()).containsExactly(1, 0, 0, 1);
            assertThat(Tensor.stack(List.of(pos, pos)).dtype()).isEqualTo(DType.BOOL);
            Tensor mixed = Tensor.cat(List.of(five, pos));
            assertThat(mixed.dtype()).isEqualTo(DType.INT64);
            assertThat(mixed.toLongArray()).containsExactly(5, 1, 0);
            assertThat(Tensor.cat(List.of(x, pos)).dtype()).isEqualTo(DType.FLOAT32);
        }
    }

    /** zeros_like / ones_like / full_like keep the dtype and the shape, 0-d included; randint with no shape is 0-d. */
    @Test
    void likeFactoriesKeepDtypeAndShape() {
        try (Tensor x = Tensor.of(new float[] {1f, -1f}, 2); Tensor mask = x.gt(0); Tensor ints = Tensor.of(new long[] {1, 2}, 2)) {
            assertThat(Tensor.zerosLike(mask).dtype()).isEqualTo(DType.BOOL);
            Tensor ones = Tensor.onesLike(mask);
            assertThat(ones.dtype()).isEqualTo(DType.BOOL);
            assertThat(ones.toType(DType.INT64).toLongArray()).containsExactly(1, 1);
            Tensor full = Tensor.fullLike(ints, 2.7f);
            assertThat(full.dtype()).isEqualTo(DType.INT64);
            assertThat(full.toLongArray()).containsExactly(2, 2);
            assertThat(Tensor.fullLike(ints, 123456789).toLongArray()).containsExactly(123456789, 123456789); // was 123456792 (via float32)
            assertThat(Tensor.of(new long[] {9007199254740993L, 9223372036854775806L}, 2).toString()) // torch 1.13, exactly
                    .isEqualTo("tensor([   9007199254740993, 9223372036854775806])");
            try (Tensor scalar = Tensor.of(new long[] {5}, 1).reshape()) {
                assertThat(scalar.dim()).isZero();
                assertThat(Tensor.onesLike(scalar).dim()).isZero();
                assertThat(Tensor.zerosLike(scalar).dim()).isZero();
            }
            assertThat(Tensor.randint(0, 10).dim()).isZero();
        }
    }

    /**
     * BCEWithLogits with pos_weight, the target's gradient: -x + (pw - 1) softplus(-x) (its sign was flipped). torch
     * 1.13, x = [0, 0.5], y = [0.5, 0.5], pos_weight = [2, 3], sum: x.grad [-0.2500, -0.2551], y.grad [0.6931, 0.4482].
     */
    @Test
    void bceWithLogitsTargetGradientWithPosWeight() {
        try (Tensor x = Tensor.of(new float[] {0f, 0.5f}, 2).requiresGrad(true); Tensor y = Tensor.of(new float[] {0.5f, 0.5f}, 2).requiresGrad(true);
             Tensor pw = Tensor.of(new float[] {2f, 3f}, 2)) {
            new dev.lanes.nn.BCEWithLogitsLoss(null, pw, "sum").forward(x, y).backward();
            assertThat(x.grad().toFloatArray()).containsExactly(new float[] {-0.25f, -0.2551f}, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(y.grad().toFloatArray()).containsExactly(new float[] {0.6931f, 0.4482f}, org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    /**
     * BCEWithLogits' weight and pos_weight scale the loss in place, as PyTorch's: one that broadcasts it larger is
     * refused (torch 1.13: "output with shape [3] doesn't match the broadcast shape [2, 3]"; Lanes returned a [2, 3] loss
     * and gave the [3] input a [2, 3] gradient); smaller ones broadcast: torch 1.13, x = [0.5, -1, 2], y = [1, 0, 1],
     * weight [1, 2, 3], pos_weight [2], none: [0.9482, 0.6265, 0.7616]. A NaN label_smoothing is refused (every loss
     * was NaN).
     */
    @Test
    void bceWithLogitsWeightsMayNotEnlargeTheLossAndLabelSmoothingIsANumber() {
        try (Tensor x = Tensor.of(new float[] {0.5f, -1f, 2f}, 3).requiresGrad(true); Tensor y = Tensor.of(new float[] {1f, 0f, 1f}, 3);
             Tensor big = Tensor.ones(2, 3)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.lanes.nn.functional.F.binaryCrossEntropyWithLogits(x, y, big, null, "mean"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output with shape [3] doesn't match the broadcast shape [2, 3]");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.lanes.nn.functional.F.binaryCrossEntropyWithLogits(x, y, null, big, "mean"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pos_weight");
            float[] got = dev.lanes.nn.functional.F.binaryCrossEntropyWithLogits(x, y, Tensor.of(new float[] {1f, 2f, 3f}, 3),
                    Tensor.of(new float[] {2f}, 1), "none").toFloatArray();
            assertThat(got).containsExactly(new float[] {0.9482f, 0.6265f, 0.7616f}, org.assertj.core.data.Offset.offset(1e-4f));
        }
        try (Tensor logits = Tensor.of(new float[] {1f, 2f, 3f}, 1, 3); Tensor t = Tensor.of(new long[] {0}, 1)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.lanes.nn.functional.F.crossEntropy(logits, t, null, -100, Double.NaN, "mean"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label_smoothing");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.lanes.nn.CrossEntropyLoss(null, -100, Double.NaN, "mean"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label_smoothing");
        }
    }

    /**
     * pow follows C's (PyTorch's) special cases where Java's differ: 1^y = 1 for any y, NaN too, and (-1)^(+-inf) = 1
     * (were NaN); with them the gradients: torch 1.13, [1, -1].pow(inf) grad [inf, inf]; base 1, exponent 2.5: grads
     * [2.5] and [0]. clamp with a NaN bound: NaN values, no gradient (torch: [0, 0]; it was [1, 1]). dropout(NaN) refused.
     */
    @Test
    void powOfOneAndClampWithNaNBoundsFollowPyTorch() {
        float nan = Float.NaN;
        float inf = Float.POSITIVE_INFINITY;
        for (int n : new int[] {3, 35}) { // whole vectors and a scalar tail at every width
            float[] base = new float[n];
            float[] exps = new float[n];
            for (int i = 0; i < n; i++) {
                base[i] = new float[] {1f, -1f, 1f}[i % 3];
                exps[i] = new float[] {nan, inf, -inf}[i % 3];
            }
            assertThat(Tensor.of(base, n).pow(Tensor.of(exps, n)).toFloatArray()).containsOnly(1f);
            float[] halves = new float[n];
            for (int i = 0; i < n; i++) {
                halves[i] = new float[] {1f, -1f, 0.5f}[i % 3];
            }
            float[] byNaN = Tensor.of(halves, n).pow(Double.NaN).toFloatArray();
            for (int i = 0; i < n; i++) {
                assertThat(Float.valueOf(byNaN[i])).as("%s ^ NaN", halves[i]).isEqualTo(Float.valueOf(i % 3 == 0 ? 1f : nan));
            }
        }
        Tensor x = Tensor.of(new float[] {1f, -1f}, 2).requiresGrad(true);
        x.pow(Double.POSITIVE_INFINITY).sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(inf, inf);
        Tensor b = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        Tensor e = Tensor.of(new float[] {2.5f}, 1).requiresGrad(true);
        b.pow(e).sum().backward();
        assertThat(b.grad().toFloatArray()).containsExactly(2.5f);
        assertThat(e.grad().toFloatArray()).containsExactly(0f);
        for (double[] bounds : new double[][] {{Double.NaN, Double.NaN}, {Double.NaN, Double.POSITIVE_INFINITY}, {0, Double.NaN}}) {
            Tensor c = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
            Tensor y = c.clamp(bounds[0], bounds[1]);
            assertThat(y.toFloatArray()).containsOnly(nan);
            y.sum().backward();
            assertThat(c.grad().toFloatArray()).as("clamp(%s, %s)", bounds[0], bounds[1]).containsExactly(0f, 0f);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tensor.ones(3).dropout(Double.NaN, true)).hasMessageContaining("between 0 and 1");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.lanes.nn.Dropout(Double.NaN)).hasMessageContaining("between 0 and 1");
    }

    /**
     * A Python scalar that does not fit the tensor's type is refused, as PyTorch refuses it ("value cannot be converted
     * to type float without overflow"): fill_/masked_fill/clamp with 1e300 became inf, an int64 fill_ of NaN 0 and of
     * 1e30 Long.MAX_VALUE. Infinities fit a float tensor; an int64 fill_ of 3.7 truncates to 3, as torch.
     */
    @Test
    void aScalarThatDoesNotFitTheTensorsTypeIsRefused() {
        try (Tensor f = Tensor.zeros(2); Tensor l = Tensor.zeros(2).toLong(); Tensor mask = Tensor.of(new float[] {1f, 0f}, 2).gt(0.5)) {
            for (Runnable r : new Runnable[] {() -> f.fill_(1e300), () -> f.maskedFill(mask, -1e300), () -> f.clamp(-1e300, 0), () -> f.clampMin(1e300),
                    () -> f.clamp_(0, 1e300)}) {
                org.assertj.core.api.Assertions.assertThatThrownBy(r::run).hasMessageContaining("cannot be converted to type float without overflow");
            }
            for (double v : new double[] {Double.NaN, 1e30, Double.NEGATIVE_INFINITY}) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> l.fill_(v)).hasMessageContaining("int64_t without overflow");
            }
            assertThat(f.fill_(Double.POSITIVE_INFINITY).toFloatArray()).containsExactly(Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY);
            assertThat(f.maskedFill(mask, Double.NEGATIVE_INFINITY).toFloatArray()[0]).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(l.fill_(3.7).toLongArray()).containsExactly(3L, 3L);
        }
    }

    /**
     * Shapes torch 1.13 refuses where Lanes computed something: a kernel with 0 rows or columns ("kernel size should be
     * greater than zero"; conv2d gave an output one row taller than the input, all bias), a weight with no output
     * channels ("expected weight to be at least 1 at dimension 0"), size(0) or stride(0) of a 0-d tensor ("Dimension
     * specified as 0 but tensor has no dimensions"; it threw ArrayIndexOutOfBounds).
     */
    @Test
    void zeroSizedKernelsAndDimsOfA0dTensorAreRefused() {
        try (Tensor x = Tensor.randn(1, 3, 5, 5)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tensor.conv2d(x, Tensor.randn(4, 3, 0, 3), null))
                    .hasMessageContaining("kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.lanes.nn.Conv2d(3, 4, 0).forward(x))
                    .hasMessageContaining("kernel size should be greater than zero");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.lanes.nn.functional.F.convTranspose2d(x, Tensor.randn(3, 2, 3, 0), null,
                    new int[] {1, 1}, new int[] {0, 0}, new int[] {0, 0}, 1, new int[] {1, 1})).hasMessageContaining("kernel size should be greater than zero");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tensor.conv2d(x, Tensor.randn(0, 3, 3, 3), null))
                    .hasMessageContaining("expected weight to be at least 1 at dimension 0");
        }
        Tensor s = Tensor.scalar(3f);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.size(0)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("Dimension specified as 0 but tensor has no dimensions");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.stride(-1)).hasMessageContaining("tensor has no dimensions");
    }

    /**
     * clamp with min above max gives max everywhere, NaN kept, and no gradient, as torch.clamp (it was refused; the
     * gradient rule 1 - below - above would have given -1): torch 1.13, [0, 1.5, 3, nan, -0].clamp(2, 1) =
     * [1, 1, 1, nan, 1], grad [0, 0, 0, 0, 0]; clamp(2, 2) of [1, 2, 3]: grad [0, 1, 0]. clamp_ alike.
     */
    @Test
    void clampWithMinAboveMaxGivesMax() {
        Tensor x = Tensor.of(new float[] {0f, 1.5f, 3f, Float.NaN, -0f}, 5).requiresGrad(true);
        Tensor y = x.clamp(2, 1);
        assertThat(y.toFloatArray()).containsExactly(1f, 1f, 1f, Float.NaN, 1f);
        y.sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 0f, 0f, 0f, 0f); // a NaN input's too, as torch
        Tensor z = Tensor.of(new float[] {1f, 2f, 3f}, 3).requiresGrad(true);
        z.clamp(2, 2).sum().backward();
        assertThat(z.grad().toFloatArray()).containsExactly(0f, 1f, 0f);
        try (Tensor w = Tensor.of(new float[] {0f, 5f}, 2)) {
            assertThat(w.clamp_(3, -1).toFloatArray()).containsExactly(-1f, -1f);
        }
    }

    /**
     * x.pow(0.5) is PyTorch's sqrt and x.pow(-0.5) its rsqrt (-0 gives -0 and -inf, -inf gives NaN), while a tensor
     * exponent keeps C's pow (+0, +inf). torch 1.13: [-0., -inf, 4., 2.].pow(0.5) = [-0., nan, 2., 1.4142],
     * .pow(-0.5) = [-inf, nan, 0.5, 0.7071], .pow(tensor(0.5)) = [0., inf, 2., 1.4142]. Vector and scalar lanes alike.
     */
    @Test
    void powOfHalfIsSqrtForAScalarExponentAndCsPowForATensorOne() {
        float inf = Float.POSITIVE_INFINITY;
        for (int n : new int[] {4, 37}) { // 37: whole vectors and a scalar tail at every width
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = new float[] {-0f, -inf, 4f, 2f}[i % 4];
            }
            try (Tensor x = Tensor.of(v, n); Tensor half = Tensor.full(new int[] {n}, 0.5f)) {
                float[] sqrt = x.pow(0.5).toFloatArray();
                float[] rsqrt = x.pow(-0.5).toFloatArray();
                float[] cpow = x.pow(half).toFloatArray();
                for (int i = 0; i < n; i++) {
                    switch (i % 4) {
                        case 0 -> {
                            assertThat(Float.floatToRawIntBits(sqrt[i])).as("sqrt(-0) is -0").isEqualTo(Float.floatToRawIntBits(-0f));
                            assertThat(rsqrt[i]).isEqualTo(-inf);
                            assertThat(Float.floatToRawIntBits(cpow[i])).as("pow(-0, 0.5) is +0").isZero();
                        }
                        case 1 -> {
                            assertThat(sqrt[i]).isNaN();
                            assertThat(rsqrt[i]).isNaN();
                            assertThat(cpow[i]).isEqualTo(inf);
                        }
                        case 2 -> assertThat(new float[] {sqrt[i], rsqrt[i], cpow[i]}).containsExactly(2f, 0.5f, 2f);
                        default -> assertThat(rsqrt[i]).isEqualTo(1f / (float) Math.sqrt(2f)); // 0x1.6a09e6p-1, as torch
                    }
                }
            }
        }
    }

    /**
     * Numerically extreme but valid inputs, torch 1.13's values: log_softmax([1e8, 1e8]) = [-0.6931, -0.6931] and
     * cross_entropy([[1e30, 1e30]], [0]) = 0.6931 ((x - max) - log(sum): x - (max + log(sum)) gave 0); full((10^6, 2),
     * 0.1).sum(0) = 99999.95 in torch, 100000.0015 exactly (one float32 total per column gave ~100958); BCEWithLogits' dx at x = -20, y = 0 is
     * 2.06e-9 (sigmoid(x) - y: the old form cancelled to 0); Adam with g = 2e19 keeps v = 4e35 and steps p by -lr
     * (g g (1 - b2) overflowed: v = inf for good).
     */
    @Test
    void extremeButValidInputsMatchPyTorch() {
        try (Tensor big = Tensor.of(new float[] {1e8f, 1e8f}, 2)) {
            assertThat(big.logSoftmax(0).toFloatArray()).containsExactly(new float[] {-0.6931472f, -0.6931472f}, org.assertj.core.data.Offset.offset(1e-6f));
        }
        try (Tensor logits = Tensor.of(new float[] {1e30f, 1e30f}, 1, 2); Tensor t = Tensor.of(new long[] {0}, 1)) {
            assertThat(dev.lanes.nn.functional.F.crossEntropy(logits, t).item()).isCloseTo(0.6931472f, org.assertj.core.data.Offset.offset(1e-6f));
        }
        try (Tensor ones = Tensor.full(new int[] {1_000_000, 2}, 0.1f)) {
            // exact: 10^6 x 0.1f = 100000.0015; torch 99999.945: within 1e-6 of it, as torch is
            assertThat(ones.sum(0).toFloatArray()).containsExactly(new float[] {100000.0015f, 100000.0015f}, org.assertj.core.data.Offset.offset(0.1f));
        }
        try (Tensor x = Tensor.of(new float[] {-20f}, 1).requiresGrad(true); Tensor y = Tensor.of(new float[] {0f}, 1)) {
            new dev.lanes.nn.BCEWithLogitsLoss(null, null, "sum").forward(x, y).backward();
            assertThat(x.grad().item()).isCloseTo(2.0611537e-9f, org.assertj.core.data.Offset.offset(1e-15f));
        }
        Tensor p = Tensor.zeros(1).requiresGrad(true);
        dev.lanes.optim.Adam adam = new dev.lanes.optim.Adam(List.of(p), 0.1);
        try (var g = dev.lanes.autograd.Autograd.noGrad()) {
            p.setGrad(Tensor.of(new float[] {2e19f}, 1));
        }
        adam.step();
        assertThat(p.item()).isCloseTo(-0.1f, org.assertj.core.data.Offset.offset(1e-6f));
    }

    /** Tensor.empty is zeroed: memory from the pool held another tensor's values (it returned them). */
    @Test
    void emptyTensorsDoNotShowAnotherTensorsValues() {
        float[] secret = new float[1024];
        java.util.Arrays.fill(secret, 42f);
        for (int i = 0; i < 4; i++) {
            Tensor.of(secret, 1024).close();
            try (Tensor e = Tensor.empty(1024)) {
                for (float v : e.toFloatArray()) {
                    assertThat(v).isZero();
                }
            }
        }
    }
}
