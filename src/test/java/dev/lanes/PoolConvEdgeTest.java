package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.nn.AvgPool2d;
import dev.lanes.nn.MaxPool2d;
import org.junit.jupiter.api.Test;

/**
 * Pooling and convolution corners against PyTorch 1.13 (values printed by torch, compared bit for bit where PyTorch's
 * arithmetic is reproduced): adaptive pooling's two divisions, an average window larger than an int counts, empty
 * planes, and the modules' defaults.
 */
class PoolConvEdgeTest {
    /** torch's (torch.arange(35.).reshape(1, 1, 5, 7) * 0.37 + 0.11).sin() * 3, as it printed them. */
    private static Tensor plane() {
        float[] v = {0.32933491468429565f, 1.3853375911712646f, 2.2538414001464844f, 2.817298173904419f, 2.9994468688964844f, 2.775634527206421f,
                2.1761531829833984f, 1.282139539718628f, 0.2145947366952896f, -0.8819944858551025f, -1.8592103719711304f, -2.5847911834716797f,
                -2.960531711578369f, -2.9355783462524414f, -2.513307571411133f, -1.750873327255249f, -0.7514663934707642f, 0.3496478796005249f,
                1.403438925743103f, 2.267282247543335f, 2.824258327484131f, 2.9989848136901855f, 2.767812728881836f, 2.1620302200317383f,
                1.2636277675628662f, 0.19419902563095093f, -0.9015135765075684f, -1.8752106428146362f, -2.5951082706451416f, -2.963768243789673f,
                -2.9312963485717773f, -2.502087354660034f, -1.7342329025268555f, -0.7316582202911377f, 0.369942843914032f};
        return Tensor.of(v, 1, 1, 5, 7);
    }

    @Test
    void adaptiveAveragePoolingDividesByTheWindowsHeightThenItsWidthAsPyTorch() {
        Tensor x = plane().requiresGrad(true);
        Tensor y = Tensor.adaptiveAvgPool2d(x, 2, 3);
        // torch.nn.functional.adaptive_avg_pool2d(x, (2, 3)): sum / kh / kw; elements 3 and 5 differ from sum / (kh kw)
        float[] want = {-0.048043712973594666f, 0.41624560952186584f, 0.6628125309944153f, -0.619665801525116f, -0.28290432691574097f,
                0.20183397829532623f};
        float[] got = y.toFloatArray();
        for (int i = 0; i < want.length; i++) {
            assertThat(Float.floatToIntBits(got[i])).as("output %d: %s against %s", i, got[i], want[i]).isEqualTo(Float.floatToIntBits(want[i]));
        }
        assertThat(y.gradFn().name()).isEqualTo("AdaptiveAvgPool2DBackward0");
        y.backward(Tensor.of(new float[] {0.7f, 1.3f, -2.9f, 0.1f, 5.3f, -0.77f}, 1, 1, 2, 3));
        float[] wantGrad = {0.07777778059244156f, 0.07777778059244156f, 0.2222222089767456f, 0.14444443583488464f, -0.17777779698371887f,
                -0.3222222328186035f, -0.3222222328186035f, 0.07777778059244156f, 0.07777778059244156f, 0.2222222089767456f,
                0.14444443583488464f, -0.17777779698371887f, -0.3222222328186035f, -0.3222222328186035f, 0.08888889104127884f,
                0.08888889104127884f, 0.8222222328186035f, 0.7333333492279053f, 0.32555559277534485f, -0.4077777862548828f,
                -0.4077777862548828f, 0.011111111380159855f, 0.011111111380159855f, 0.6000000834465027f, 0.588888943195343f,
                0.5033333897590637f, -0.0855555534362793f, -0.0855555534362793f, 0.011111111380159855f, 0.011111111380159855f,
                0.6000000834465027f, 0.588888943195343f, 0.5033333897590637f, -0.0855555534362793f, -0.0855555534362793f};
        float[] grad = x.grad().toFloatArray();
        for (int i = 0; i < wantGrad.length; i++) {
            assertThat(Float.floatToIntBits(grad[i])).as("gradient %d: %s against %s", i, grad[i], wantGrad[i])
                    .isEqualTo(Float.floatToIntBits(wantGrad[i]));
        }
        // a 1 x 1 output is PyTorch's mean, its node MeanBackward1
        assertThat(Tensor.adaptiveAvgPool2d(plane().requiresGrad(true), 1).gradFn().name()).isEqualTo("MeanBackward1");
    }

    @Test
    void anAverageWindowOfMoreThanTwoToThe31ElementsDividesByItsSizeNotAWrappedInt() {
        // torch.nn.functional.avg_pool2d(torch.ones(1,1,1,1), 46341, 1, 23170, count_include_pad=True): 1 / 46341^2
        Tensor x = Tensor.ones(1, 1, 1, 1).requiresGrad(true);
        Tensor y = Tensor.avgPool2d(x, new int[] {46341}, new int[] {1}, new int[] {23170}, false, true);
        assertThat(y.shape()).containsExactly(1, 1, 1, 1);
        assertThat(y.toFloatArray()[0]).isEqualTo(4.656602881070171e-10f);
        y.sum().backward();
        assertThat(x.grad().toFloatArray()[0]).isEqualTo(4.656602881070171e-10f);
    }

    @Test
    void emptyPlanesAndZeroChannelsAreRefusedAsPyTorchRefusesThem() {
        // PyTorch: "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input"
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.zeros(1, 1, 0, 4), 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("optional 0 dim batch size").hasMessageContaining("[1, 1, 0, 4]");
        assertThatThrownBy(() -> Tensor.avgPool2d(Tensor.zeros(1, 1, 0, 4), 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[1, 1, 0, 4]");
        assertThatThrownBy(() -> Tensor.maxPool2d(Tensor.zeros(2, 0, 4, 4), 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 0, 4, 4]");
        assertThatThrownBy(() -> Tensor.avgPool2d(Tensor.zeros(0, 4, 4), 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[0, 4, 4]");
        // what PyTorch allows: an empty batch; adaptive pooling over zero channels
        assertThat(Tensor.maxPool2d(Tensor.zeros(0, 2, 4, 4), 2).shape()).containsExactly(0, 2, 2, 2);
        assertThat(Tensor.avgPool2d(Tensor.zeros(0, 2, 4, 4), 2).shape()).containsExactly(0, 2, 2, 2);
        assertThat(Tensor.adaptiveAvgPool2d(Tensor.zeros(2, 0, 4, 4), 2).shape()).containsExactly(2, 0, 2, 2);
        assertThat(Tensor.adaptiveAvgPool2d(Tensor.zeros(0, 4, 4), 2).shape()).containsExactly(0, 2, 2);
        // conv2d: "Only zero batch or zero channel inputs are supported, but got input shape: [1, 3, 0, 5]" (with
        // padding 1 Lanes made a [1, 4, 2, 7] output of bias alone)
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.zeros(1, 3, 0, 5), Tensor.zeros(4, 3, 1, 1), Tensor.ones(4), null, new int[] {1}, null, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Only zero batch or zero channel")
                .hasMessageContaining("[1, 3, 0, 5]");
        assertThat(Tensor.conv2d(Tensor.zeros(0, 3, 5, 5), Tensor.zeros(4, 3, 1, 1), null).shape()).containsExactly(0, 4, 5, 5);
    }

    @Test
    void samePaddingWithAHugeDilationIsRefusedByName() {
        Tensor x = Tensor.zeros(1, 1, 8, 8);
        Tensor w = Tensor.zeros(1, 1, 3, 3);
        assertThatThrownBy(() -> Tensor.conv2d(x, w, null, null, "same", new int[] {1 << 30}, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding='same'").hasMessageContaining("dilation (1073741824, 1073741824)");
    }

    @Test
    void poolingModulesTakeNullPaddingAndDilationAsTheDefaults() {
        float[] v = new float[16];
        for (int i = 0; i < 16; i++) {
            v[i] = i;
        }
        Tensor x = Tensor.of(v, 1, 1, 4, 4);
        MaxPool2d max = new MaxPool2d(new int[] {2}, null, null, null, false);
        assertThat(max.forward(x).toFloatArray()).containsExactly(5, 7, 13, 15);
        assertThat(max.toString()).isEqualTo("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
        AvgPool2d avg = new AvgPool2d(new int[] {2}, null, null, false, true);
        assertThat(avg.forward(x).toFloatArray()).containsExactly(2.5f, 4.5f, 10.5f, 12.5f);
        assertThatThrownBy(() -> new MaxPool2d(null, null, null, null, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernel_size");
    }

    @Test
    void anInt64OutputGradientIsCastToFloatAsPyTorchsEngineCastsIt() {
        // torch: conv2d(ones(1,1,3,3), ones(1,1,1,1)).backward(torch.ones(1,1,3,3, dtype=torch.long)) -> x.grad 1s, w.grad 9
        // (Lanes read the int64 ones as float bits: 1.4e-45 and 0 alternately)
        Tensor x = Tensor.ones(1, 1, 3, 3).requiresGrad(true);
        Tensor w = Tensor.ones(1, 1, 1, 1).requiresGrad(true);
        long[] ones = new long[9];
        java.util.Arrays.fill(ones, 1L);
        Tensor.conv2d(x, w, null).backward(Tensor.of(ones, 1, 1, 3, 3));
        assertThat(x.grad().toFloatArray()).containsOnly(1f);
        assertThat(w.grad().toFloatArray()).containsExactly(9f);
    }

    @Test
    void convTransposeRefusesWeightsWithoutChannelsAndOverflowingSizesByName() {
        // torch: "Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 3, 3, 3] instead"
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.zeros(2, 0, 4, 4), Tensor.zeros(0, 3, 3, 3), Tensor.ones(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected weight to be at least 1 at dimension 0");
        // torch: "non-empty 2D or 4D weight tensor expected, but got: [3, 0, 3, 3]"
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.zeros(2, 3, 4, 4), Tensor.zeros(3, 0, 3, 3), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-empty 2D or 4D weight tensor expected");
        // sizes past a long were an ArithmeticException; past 2^31 a side with an empty batch, a wrapped negative size
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.zeros(1, 1, 4, 4), Tensor.zeros(1, 1, 1, 1), null, new int[] {Integer.MAX_VALUE},
                null, null, 1, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("conv_transpose2d");
        assertThatThrownBy(() -> Tensor.convTranspose2d(Tensor.zeros(0, 1, 4, 1), Tensor.zeros(1, 1, 1, 1), null, new int[] {1 << 30, 1},
                null, null, 1, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a side");
        assertThatThrownBy(() -> Tensor.conv2d(Tensor.zeros(1, 4, 1, 1), Tensor.zeros(1, 4, 1, 1), null, null, new int[] {(1 << 30) - 1}, null, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("conv2d");
    }
}
