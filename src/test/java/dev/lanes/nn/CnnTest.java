package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.nn.functional.F;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The CNN building blocks against PyTorch 1.13 ({@code golden/cnn.txt} from {@code src/test/python/gen_cnn_golden.py}):
 * PyTorch's state dict is loaded strictly, then the output and the gradients of {@code sum(y * g)} for every input
 * and parameter are compared. Also reprs, state dict keys, PyTorch-like errors and tracing into an InferencePlan.
 */
class CnnTest {
    private static final GoldenRows GOLDEN = new GoldenRows("cnn.txt", "src/test/python/gen_cnn_golden.py", 2e-5);
    private static final String[] X = {"x"};

    /** The plan traced from {@code f} on {@code shape} gives f's eager output. */
    private static void assertTracesLikeEager(Function<Tensor, Tensor> f, int... shape) {
        try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(shape); Tensor want = f.apply(x);
             InferencePlan plan = InferencePlan.trace(f::apply, shape)) {
            float[] got = new float[want.numel()];
            plan.run(x.toFloatArray(), got);
            float[] w = want.toFloatArray();
            for (int i = 0; i < w.length; i++) {
                assertThat(Math.abs(got[i] - w[i])).as("element %d of\n%s", i, plan).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(w[i]));
            }
        }
    }

    private static int[] ints(int... v) {
        return v;
    }

    @Test
    void convTranspose2dMatchesPyTorch() {
        ConvTranspose2d a = new ConvTranspose2d(4, 6, 3, 2, 1, 1);
        assertThat(a.toString()).isEqualTo("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))");
        assertThat(a.stateDict().keySet()).containsExactly("weight", "bias");
        assertThat(a.weight.shape()).containsExactly(4, 6, 3, 3);
        GOLDEN.check("ct_a", a, X, in -> a.forward(in.get("x")));
        ConvTranspose2d b = new ConvTranspose2d(4, 6, ints(3, 2), ints(2, 1), ints(0, 1), ints(0), 2, false, ints(1, 2));
        assertThat(b.toString()).isEqualTo("ConvTranspose2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(0, 1), dilation=(1, 2), groups=2,"
                + " bias=False)");
        assertThat(b.weight.shape()).containsExactly(4, 3, 3, 2);
        GOLDEN.check("ct_b", b, X, in -> b.forward(in.get("x")));
        ConvTranspose2d u = new ConvTranspose2d(3, 2, ints(2), ints(2), ints(0), ints(0), 1, true, ints(1));
        GOLDEN.check("ct_unbatched", u, X, in -> u.forward(in.get("x")));
        ConvTranspose2d o = new ConvTranspose2d(2, 3, 3, 3, 1, 0);
        GOLDEN.check("ct_output_size", o, X, in -> o.forward(in.get("x"), 8, 11));
        ConvTranspose2d e = new ConvTranspose2d(6, 3, ints(3), ints(3), ints(2), ints(2, 1), 3, true, ints(2));
        assertThat(e.toString()).isEqualTo("ConvTranspose2d(6, 3, kernel_size=(3, 3), stride=(3, 3), padding=(2, 2), dilation=(2, 2),"
                + " output_padding=(2, 1), groups=3)");
        GOLDEN.check("ct_e", e, X, in -> e.forward(in.get("x")));
    }

    @Test
    void convTranspose2dInitialisesAsPyTorchAndRefusesBadInput() {
        Lanes.manualSeed(5);
        ConvTranspose2d m = new ConvTranspose2d(4, 6, ints(3), ints(2), ints(1), ints(1), 2, true, ints(1));
        double bound = 1 / Math.sqrt(3 * 9); // fan_in from weight dim 1 (out / groups) times the kernel, as torch's
        for (float v : m.bias.toFloatArray()) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) bound);
        }
        for (float v : m.weight.toFloatArray()) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) bound);
        }
        try (Tensor x3 = Tensor.randn(1, 3, 4, 4); Tensor x2 = Tensor.randn(4, 4); Tensor x = Tensor.randn(1, 4, 4, 4)) {
            assertThatThrownBy(() -> m.forward(x3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Given transposed=1, weight of size [4, 3, 3, 3], expected input[1, 3, 4, 4] to have 4 channels, but got 3 channels instead");
            assertThatThrownBy(() -> m.forward(x2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: [4, 4]");
            assertThatThrownBy(() -> m.forward(x, 12, 12)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("requested an output size of (12, 12), but valid sizes range from [7, 7] to [8, 8] (for an input of [4, 4])");
            try (Tensor y = m.forward(x, 7, 8)) {
                assertThat(y.shape()).containsExactly(1, 6, 7, 8);
            }
        }
        assertThatThrownBy(() -> new ConvTranspose2d(4, 6, ints(3), ints(2), ints(1), ints(2), 1, true, ints(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output padding must be smaller than either stride or dilation");
        assertThatThrownBy(() -> new ConvTranspose2d(4, 5, ints(3), ints(1), ints(0), ints(0), 2, true, ints(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out_channels must be divisible by groups");
    }

    @Test
    void convTranspose2dTracesIntoAPlan() {
        Lanes.manualSeed(7);
        ConvTranspose2d m = new ConvTranspose2d(3, 4, ints(3), ints(2), ints(1), ints(1), 1, true, ints(1));
        m.eval();
        assertTracesLikeEager(m::forward, 2, 3, 5, 6);
    }

    @Test
    void conv1dMatchesPyTorch() {
        Conv1d a = new Conv1d(4, 6, 3);
        assertThat(a.toString()).isEqualTo("Conv1d(4, 6, kernel_size=(3,), stride=(1,))");
        assertThat(a.stateDict().keySet()).containsExactly("weight", "bias");
        assertThat(a.weight.shape()).containsExactly(6, 4, 3);
        GOLDEN.check("c1_a", a, X, in -> a.forward(in.get("x")));
        Conv1d b = new Conv1d(4, 6, 3, 2, 2, 2, 2, false);
        assertThat(b.toString()).isEqualTo("Conv1d(4, 6, kernel_size=(3,), stride=(2,), padding=(2,), dilation=(2,), groups=2, bias=False)");
        GOLDEN.check("c1_b", b, X, in -> b.forward(in.get("x")));
        Conv1d same = new Conv1d(3, 4, 4, 1, "same", 2, 1, true);
        assertThat(same.toString()).isEqualTo("Conv1d(3, 4, kernel_size=(4,), stride=(1,), padding=same, dilation=(2,))");
        GOLDEN.check("c1_same", same, X, in -> same.forward(in.get("x")));
        Conv1d valid = new Conv1d(3, 2, 5, 1, "valid", 1, 1, true);
        GOLDEN.check("c1_valid", valid, X, in -> valid.forward(in.get("x")));
        Conv1d u = new Conv1d(3, 5, 2, 3, 1);
        GOLDEN.check("c1_unbatched", u, X, in -> u.forward(in.get("x")));
        Conv2d same2 = new Conv2d(3, 4, ints(4, 3), ints(1), "same", ints(1, 2), 1, true);
        GOLDEN.check("c2_same", same2, X, in -> same2.forward(in.get("x")));
        // the functional form on the same weights
        GOLDEN.check("c1_b", null, X, in -> F.conv1d(in.get("x"), GOLDEN.get("c1_b/param/weight"), null, 2, 2, 2, 2));
    }

    @Test
    void conv1dRefusesBadInput() {
        Conv1d m = new Conv1d(4, 6, 3);
        try (Tensor x4 = Tensor.randn(2, 3, 4, 5); Tensor x5 = Tensor.randn(2, 5, 10); Tensor shortX = Tensor.randn(1, 4, 2)) {
            assertThatThrownBy(() -> m.forward(x4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [2, 3, 4, 5]");
            assertThatThrownBy(() -> m.forward(x5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Given groups=1, weight of size [6, 4, 3], expected input[2, 5, 10] to have 4 channels, but got 5 channels instead");
            assertThatThrownBy(() -> m.forward(shortX)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Calculated padded input size per channel: (2). Kernel size: (3). Kernel size can't be greater than actual input size");
        }
        assertThatThrownBy(() -> new Conv1d(4, 6, 3, 2, "same", 1, 1, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("padding='same' is not supported for strided convolutions");
        assertThatThrownBy(() -> new Conv1d(4, 6, 3, 1, "foo", 1, 1, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Invalid padding string 'foo'");
        try (Tensor x = Tensor.randn(1, 4, 2)) { // 'same' pads a short input enough for any kernel
            Conv1d same = new Conv1d(4, 2, 5, 1, "same", 1, 1, true);
            try (Tensor y = same.forward(x)) {
                assertThat(y.shape()).containsExactly(1, 2, 2);
            }
        }
    }

    @Test
    void pool1dMatchesPyTorch() {
        MaxPool1d a = new MaxPool1d(3);
        assertThat(a.toString()).isEqualTo("MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)");
        GOLDEN.check("mp1_a", null, X, in -> a.forward(in.get("x")));
        MaxPool1d b = new MaxPool1d(3, 2, 1, 2, true);
        assertThat(b.toString()).isEqualTo("MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)");
        GOLDEN.check("mp1_b", null, X, in -> b.forward(in.get("x")));
        GOLDEN.check("mp1_unbatched", null, X, in -> F.maxPool1d(in.get("x"), 2, 1, 0, 1, false));
        AvgPool1d c = new AvgPool1d(3);
        assertThat(c.toString()).isEqualTo("AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))");
        GOLDEN.check("ap1_a", null, X, in -> c.forward(in.get("x")));
        AvgPool1d d = new AvgPool1d(4, 3, 2, true, false);
        assertThat(d.toString()).isEqualTo("AvgPool1d(kernel_size=(4,), stride=(3,), padding=(2,))");
        GOLDEN.check("ap1_b", null, X, in -> d.forward(in.get("x")));
        GOLDEN.check("ap1_unbatched", null, X, in -> F.avgPool1d(in.get("x"), 2, 1, 1, false, true));
        try (Tensor x4 = Tensor.randn(2, 3, 4, 5)) {
            assertThatThrownBy(() -> a.forward(x4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 3, 4, 5]");
            assertThatThrownBy(() -> c.forward(x4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self'");
        }
    }

    @Test
    void conv1dAndPool1dTraceIntoAPlan() {
        Lanes.manualSeed(8);
        Sequential net = new Sequential(new Conv1d(3, 4, 3, 1, "same", 1, 1, true), new ReLU(), new MaxPool1d(2), new Conv1d(4, 2, 3, 2, 1),
                new AvgPool1d(2));
        net.eval();
        assertTracesLikeEager(net::forward, 2, 3, 17);
    }

    private static double[] doubles(double... v) {
        return v;
    }

    @Test
    void interpolateMatchesPyTorch() {
        GOLDEN.check("up_nearest_s2", null, X, in -> F.interpolate(in.get("x"), 2, "nearest"));
        GOLDEN.check("up_nearest_s17", null, X, in -> F.interpolate(in.get("x"), null, doubles(1.7, 2.4), "nearest", null));
        GOLDEN.check("up_nearest_size", null, X, in -> F.interpolate(in.get("x"), ints(7, 5), null, "nearest", null));
        GOLDEN.check("up_nearest_down", null, X, in -> F.interpolate(in.get("x"), ints(3, 2), null, "nearest", null));
        GOLDEN.check("up_bilinear_s2", null, X, in -> F.interpolate(in.get("x"), 2, "bilinear"));
        GOLDEN.check("up_bilinear_ac", null, X, in -> F.interpolate(in.get("x"), null, doubles(1.5, 2.5), "bilinear", true));
        GOLDEN.check("up_bilinear_size", null, X, in -> F.interpolate(in.get("x"), ints(6, 9), null, "bilinear", false));
        GOLDEN.check("up_bilinear_size_ac", null, X, in -> F.interpolate(in.get("x"), ints(5, 1), null, "bilinear", true));
        GOLDEN.check("up_bilinear_down", null, X, in -> F.interpolate(in.get("x"), ints(3, 4), null, "bilinear", null));
        GOLDEN.check("up_bilinear_s07", null, X, in -> F.interpolate(in.get("x"), 0.7, "bilinear"));
        GOLDEN.check("up_nearest_1d", null, X, in -> F.interpolate(in.get("x"), 2.5, "nearest"));
        GOLDEN.check("up_linear_1d", null, X, in -> F.interpolate(in.get("x"), ints(8), null, "linear", true));
        Upsample up = new Upsample(2);
        assertThat(up.toString()).isEqualTo("Upsample(scale_factor=2.0, mode=nearest)");
        assertThat(up.stateDict()).isEmpty();
        GOLDEN.check("up_nearest_s2", null, X, in -> up.forward(in.get("x")));
        Upsample bi = new Upsample(null, doubles(1.5, 2.5), "bilinear", true);
        assertThat(bi.toString()).isEqualTo("Upsample(scale_factor=(1.5, 2.5), mode=bilinear)");
        GOLDEN.check("up_bilinear_ac", null, X, in -> bi.forward(in.get("x")));
        assertThat(new Upsample(ints(5, 7), null, "bilinear", true).toString()).isEqualTo("Upsample(size=(5, 7), mode=bilinear)");
        assertThat(new Upsample(ints(5), null, "nearest", null).toString()).isEqualTo("Upsample(size=5, mode=nearest)");
    }

    @Test
    void interpolateRefusesBadArguments() {
        try (Tensor x3 = Tensor.randn(1, 2, 3); Tensor x = Tensor.randn(1, 2, 3, 3)) {
            assertThatThrownBy(() -> F.interpolate(x3, 2, "bilinear")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Got 3D input, but bilinear mode needs 4D input");
            assertThatThrownBy(() -> F.interpolate(x, ints(2, 2), doubles(2), "nearest", null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("only one of size or scale_factor should be defined");
            assertThatThrownBy(() -> F.interpolate(x, null, null, "nearest", null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("either size or scale_factor should be defined");
            assertThatThrownBy(() -> F.interpolate(x, null, doubles(2), "nearest", true)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear");
            assertThatThrownBy(() -> F.interpolate(x, 2, "bicubicx")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("(got bicubicx)");
            assertThatThrownBy(() -> F.interpolate(x, 2, "bicubic")).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("bicubic");
            assertThatThrownBy(() -> F.interpolate(x, ints(2, 3, 4), null, "nearest", null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Input and output must have the same number of spatial dimensions, but got input with spatial dimensions"
                            + " of [3, 3] and output size of [2, 3, 4]");
            assertThatThrownBy(() -> F.interpolate(x, 0.2, "nearest")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Input and output sizes should be greater than 0, but got input (3, 3) and output (0, 0)");
        }
        assertThatThrownBy(() -> new Upsample(null, null, "nearest", null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("either size or scale_factor should be defined");
    }

    @Test
    void upsampleTracesIntoAPlan() {
        Lanes.manualSeed(9);
        Sequential net = new Sequential(new Conv2d(2, 3, 3, 1, 1), new Upsample(null, doubles(2, 1.5), "bilinear", null),
                new Upsample(ints(13, 8), null, "nearest", null));
        net.eval();
        assertTracesLikeEager(net::forward, 2, 2, 5, 4);
    }

    @Test
    void pixelShuffleAndPaddingMatchPyTorch() {
        PixelShuffle ps = new PixelShuffle(2);
        assertThat(ps.toString()).isEqualTo("PixelShuffle(upscale_factor=2)");
        GOLDEN.check("ps_2", null, X, in -> ps.forward(in.get("x")));
        GOLDEN.check("ps_3_unbatched", null, X, in -> F.pixelShuffle(in.get("x"), 3));
        PixelUnshuffle pu = new PixelUnshuffle(2);
        assertThat(pu.toString()).isEqualTo("PixelUnshuffle(downscale_factor=2)");
        GOLDEN.check("pu_2", null, X, in -> pu.forward(in.get("x")));
        GOLDEN.check("pu_3_5d", null, X, in -> F.pixelUnshuffle(in.get("x"), 3));
        ConstantPad2d cp = new ConstantPad2d(ints(1, 2, 0, 3), 0.5);
        assertThat(cp.toString()).isEqualTo("ConstantPad2d(padding=(1, 2, 0, 3), value=0.5)");
        GOLDEN.check("pad_const", null, X, in -> cp.forward(in.get("x")));
        ZeroPad2d crop = new ZeroPad2d(-1, 2, 1, -2);
        assertThat(crop.toString()).isEqualTo("ZeroPad2d((-1, 2, 1, -2))");
        assertThat(new ZeroPad2d(2).toString()).isEqualTo("ZeroPad2d((2, 2, 2, 2))");
        GOLDEN.check("pad_crop", null, X, in -> crop.forward(in.get("x")));
        GOLDEN.check("pad_3dims", null, X, in -> F.pad(in.get("x"), 1, 0, 2, 1, 1, 1));
        ReflectionPad2d reflect = new ReflectionPad2d(2, 1, 1, 2);
        assertThat(reflect.toString()).isEqualTo("ReflectionPad2d((2, 1, 1, 2))");
        GOLDEN.check("pad_reflect", null, X, in -> reflect.forward(in.get("x")));
        GOLDEN.check("pad_reflect_1d", null, X, in -> F.pad(in.get("x"), ints(3, 2), "reflect", 0));
        ReplicationPad2d replicate = new ReplicationPad2d(3, 0, 1, 2);
        assertThat(replicate.toString()).isEqualTo("ReplicationPad2d((3, 0, 1, 2))");
        GOLDEN.check("pad_replicate", null, X, in -> replicate.forward(in.get("x")));
        Unflatten un = new Unflatten(1, 2, -1, 3);
        assertThat(un.toString()).isEqualTo("Unflatten(dim=1, unflattened_size=(2, -1, 3))");
        GOLDEN.check("unflatten", null, X, in -> un.forward(in.get("x")));
    }

    @Test
    void shuffleAndPaddingRefuseBadInput() {
        try (Tensor c5 = Tensor.randn(1, 5, 2, 2); Tensor h5 = Tensor.randn(1, 1, 5, 4); Tensor x2 = Tensor.randn(2, 3); Tensor x = Tensor.randn(1, 2, 3, 4);
             Tensor flat = Tensor.randn(3, 10)) {
            assertThatThrownBy(() -> F.pixelShuffle(c5, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but"
                            + " input.size(-3)=5 is not divisible by 4");
            assertThatThrownBy(() -> F.pixelUnshuffle(h5, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)=5 is not divisible by 2");
            assertThatThrownBy(() -> F.pixelShuffle(x2, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 dimension(s)");
            assertThatThrownBy(() -> F.pad(x2, 1, 2, 3)).isInstanceOf(IllegalArgumentException.class).hasMessage("Padding length must be divisible by 2");
            assertThatThrownBy(() -> F.pad(x2, 1, 1, 1, 1, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Padding length too large");
            assertThatThrownBy(() -> F.pad(x, ints(4, 4, 0, 0), "reflect", 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (4, 4)"
                            + " at dimension 3");
            assertThatThrownBy(() -> F.pad(x, ints(-2, -2), "constant", 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("The input size 4, plus negative padding -2 and -2 resulted in a negative output size, which is invalid. Check dimension 3"
                            + " of your input.");
            assertThatThrownBy(() -> F.pad(x, ints(1, 1), "circular", 0)).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> new Unflatten(1, 2, 4).forward(flat)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("unflatten: Provided sizes [2, 4] don't multiply up to the size of dim 1 (10) in the input tensor");
        }
    }

    @Test
    void dropout2dDropsWholeChannelsFromTheSeed() {
        Dropout2d d = new Dropout2d(0.4);
        assertThat(d.toString()).isEqualTo("Dropout2d(p=0.4, inplace=False)");
        try (Tensor x = Tensor.randn(4, 6, 3, 5).requiresGrad(true)) {
            Lanes.manualSeed(21);
            Tensor y = d.forward(x);
            Lanes.manualSeed(21);
            Tensor again = d.forward(x);
            assertThat(again.toFloatArray()).containsExactly(y.toFloatArray());
            float[] xs = x.toFloatArray();
            float[] ys = y.toFloatArray();
            int dropped = 0;
            for (int plane = 0; plane < 24; plane++) {
                boolean zero = ys[plane * 15] == 0 && xs[plane * 15] != 0;
                dropped += zero ? 1 : 0;
                for (int k = 0; k < 15; k++) {
                    int i = plane * 15 + k;
                    assertThat(ys[i]).as("plane %d element %d", plane, k).isCloseTo(zero ? 0f : xs[i] / 0.6f, org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
            assertThat(dropped).isBetween(1, 23);
            y.backward(Tensor.onesLike(y));
            float[] g = x.grad().toFloatArray();
            for (int i = 0; i < g.length; i++) {
                assertThat(g[i]).isCloseTo(ys[i] == 0 ? 0f : 1 / 0.6f, org.assertj.core.data.Offset.offset(1e-5f));
            }
            d.eval();
            assertThat(d.forward(x)).isSameAs(x);
        }
        assertThatThrownBy(() -> new Dropout2d(1.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dropout probability has to be between 0 and 1, but got 1.5");
    }

    @Test
    void shuffleAndPaddingTraceIntoAPlan() {
        Lanes.manualSeed(10);
        Sequential net = new Sequential(new ReflectionPad2d(1), new Conv2d(2, 8, 3), new PixelShuffle(2), new ZeroPad2d(1, 0, 2, -1),
                new ReplicationPad2d(1, 2, 0, 1), new PixelUnshuffle(2), new Dropout2d(0.3), new Flatten(2, -1), new Unflatten(2, 2, -1));
        net.eval();
        assertTracesLikeEager(net::forward, 2, 2, 5, 4);
    }
}
