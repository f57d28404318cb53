package dev.lanes.io.onnx;

import static dev.lanes.io.onnx.OnnxHostileGraphTest.floatAttr;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.int64Init;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.intAttr;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.ints;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.model;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.node;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.stringAttr;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.io.onnx.OnnxHostileGraphTest.W;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ConvTranspose, Resize, Pad, CumSum, ReduceProd, Clip and padded pools where ONNX's conformance data does not reach
 * (CumSum's cases there are all float64; no asymmetric pool pads with count_include_pad = 0; no output_shape over the
 * natural size), each against a plain loop written from the ONNX spec; sizes a hostile file could use to allocate
 * gigabytes refused before anything is allocated; and a decoder exported by PyTorch ({@code gen_onnx_decoder.py}:
 * ConvTranspose, bilinear and nearest Resize at opsets 11 and 13, reflect Pad, CumSum, ReduceProd) against PyTorch, eagerly and
 * as a plan.
 */
class OnnxSpecEdgeCaseTest {
    private static final Random RANDOM = new Random(20);

    private static float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) RANDOM.nextGaussian();
        }
        return v;
    }

    /** A float32 initializer as raw_data. */
    private static W floatInit(String name, long[] dims, float... v) {
        W t = new W();
        for (long d : dims) {
            t.varint(1, d);
        }
        byte[] raw = new byte[v.length * 4];
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(v);
        return t.varint(2, OnnxFormat.FLOAT).str(8, name).bytes(9, raw);
    }

    /** One node of {@code op} on float inputs (named in0, in1, ... of the given shapes) and initializers; its first output. */
    private static Tensor run(int opset, String op, List<Tensor> inputs, List<String> extraInputs, List<W> inits, W... attrs) {
        List<String> names = new ArrayList<>();
        List<W> infos = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            names.add("in" + i);
            infos.add(valueInfo("in" + i, OnnxFormat.FLOAT, java.util.Arrays.stream(inputs.get(i).shape()).asLongStream().toArray()));
        }
        names.addAll(extraInputs);
        byte[] m = model(opset, List.of(node(op, names, List.of("y"), attrs)), inits, infos, List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            return om.run(inputs.toArray(Tensor[]::new)).get(0);
        }
    }

    private static void assertClose(Tensor got, float[] want, int[] shape, String what) {
        assertThat(got.shape()).as(what + " shape").containsExactly(shape);
        TestGolden.assertClose(got, Tensor.of(want, shape), 1e-5, 1e-4, what);
    }

    // ---- ConvTranspose ----

    /** ONNX's ConvTranspose by its definition: every input element scatters its kernel into the output. */
    private static float[] convTransposeByLoops(float[] x, int[] xs, float[] w, int[] ws, float[] bias, int[] stride, int[] pads, int[] dilation,
                                                int group, int outH, int outW) {
        int n = xs[0];
        int cin = xs[1];
        int perGroupOut = ws[1];
        int cout = perGroupOut * group;
        int perGroupIn = cin / group;
        float[] y = new float[n * cout * outH * outW];
        for (int b = 0; b < n; b++) {
            for (int ci = 0; ci < cin; ci++) {
                int g = ci / perGroupIn;
                for (int h = 0; h < xs[2]; h++) {
                    for (int v = 0; v < xs[3]; v++) {
                        float in = x[((b * cin + ci) * xs[2] + h) * xs[3] + v];
                        for (int co = 0; co < perGroupOut; co++) {
                            for (int kh = 0; kh < ws[2]; kh++) {
                                for (int kw = 0; kw < ws[3]; kw++) {
                                    int oy = h * stride[0] - pads[0] + kh * dilation[0];
                                    int ox = v * stride[1] - pads[1] + kw * dilation[1];
                                    if (oy >= 0 && oy < outH && ox >= 0 && ox < outW) {
                                        int c = g * perGroupOut + co;
                                        y[((b * cout + c) * outH + oy) * outW + ox] += in * w[((ci * perGroupOut + co) * ws[2] + kh) * ws[3] + kw];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (bias != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += bias[i / (outH * outW) % cout];
            }
        }
        return y;
    }

    @Test
    void convTransposeWithAsymmetricPadsGroupsDilationsAndOutputPaddingMatchesItsDefinition() {
        int[] xs = {2, 4, 5, 4};
        int[] ws = {4, 3, 3, 2};
        float[] x = random(2 * 4 * 5 * 4);
        float[] w = random(4 * 3 * 3 * 2);
        float[] b = random(6);
        int[] stride = {2, 3};
        int[] pads = {1, 0, 2, 1};
        int[] dilation = {2, 1};
        int[] outputPadding = {1, 2};
        int outH = (5 - 1) * 2 - 1 - 2 + 2 * (3 - 1) + 1 + 1;
        int outW = (4 - 1) * 3 - 0 - 1 + (2 - 1) + 1 + 2;
        Tensor y = run(13, "ConvTranspose", List.of(Tensor.of(x, xs), Tensor.of(w, ws), Tensor.of(b, 6)), List.of(), List.of(),
                ints("strides", 2, 3), ints("pads", 1, 0, 2, 1), ints("dilations", 2, 1), ints("output_padding", 1, 2), intAttr("group", 2));
        assertClose(y, convTransposeByLoops(x, xs, w, ws, b, stride, pads, dilation, 2, outH, outW), new int[] {2, 6, outH, outW}, "ConvTranspose");
    }

    /** A 1-d ConvTranspose is the 2-d one of height 1. */
    @Test
    void convTransposeOneDMatchesItsDefinition() {
        float[] x = random(2 * 5);
        float[] w = random(2 * 3 * 3);
        float[] b = random(3);
        Tensor y = run(13, "ConvTranspose", List.of(Tensor.of(x, 1, 2, 5), Tensor.of(w, 2, 3, 3), Tensor.of(b, 3)), List.of(), List.of(),
                ints("strides", 2), ints("pads", 1, 0), ints("output_padding", 1));
        int outW = (5 - 1) * 2 - 1 + 3 + 1;
        float[] want = convTransposeByLoops(x, new int[] {1, 2, 1, 5}, w, new int[] {2, 3, 1, 3}, b, new int[] {1, 2}, new int[] {0, 1, 0, 0},
                new int[] {1, 1}, 1, 1, outW);
        assertClose(y, want, new int[] {1, 3, outW}, "ConvTranspose 1-d");
    }

    /** output_shape over the natural size: the rows past what any input reaches are the bias alone (ONNX's reference puts them at the end). */
    @Test
    void convTransposeOutputShapeLargerThanNaturalAddsBiasOnlyRowsAtTheEnd() {
        int[] xs = {1, 2, 3, 3};
        int[] ws = {2, 1, 3, 3};
        float[] x = random(18);
        float[] w = random(18);
        float[] b = {0.5f};
        // natural size 2 * (3 - 1) + 3 = 7; asked for 8 x 7: total padding -1 in height (split as 0 before, -1 after)
        Tensor y = run(13, "ConvTranspose", List.of(Tensor.of(x, xs), Tensor.of(w, ws), Tensor.of(b, 1)), List.of(), List.of(),
                ints("strides", 2, 2), ints("output_shape", 8, 7));
        float[] want = convTransposeByLoops(x, xs, w, ws, b, new int[] {2, 2}, new int[4], new int[] {1, 1}, 1, 8, 7);
        assertClose(y, want, new int[] {1, 1, 8, 7}, "ConvTranspose output_shape");
        for (int v = 0; v < 7; v++) {
            assertThat(want[7 * 7 + v]).isEqualTo(0.5f);
        }
    }

    @Test
    void convTransposeSizesThatWouldAllocateGigabytesAreRefusedFirst() {
        Tensor x = Tensor.randn(1, 2, 8, 8);
        Tensor w = Tensor.randn(2, 2, 3, 3);
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w), List.of(), List.of(), ints("output_shape", 1L << 31, 1L << 31)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ConvTranspose").hasMessageContaining("output size");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w), List.of(), List.of(), ints("strides", 40000, 40000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("conv_transpose2d").hasMessageContaining("over");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w), List.of(), List.of(), ints("strides", 1 << 30, 1 << 30)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ConvTranspose");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w), List.of(), List.of(), ints("dilations", Integer.MAX_VALUE, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ConvTranspose");
    }

    @Test
    void convTransposeRefusesWhatItCannotRunByName() {
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(Tensor.randn(1, 2, 3, 3, 3), Tensor.randn(2, 2, 3, 3, 3)), List.of(), List.of()))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("ConvTranspose").hasMessageContaining("1-d and 2-d");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(Tensor.randn(1, 2, 8), Tensor.randn(2, 2, 3)), List.of(), List.of(),
                ints("pads", 1, 1, 1, 1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pads").hasMessageContaining("1-d");
        Tensor x = Tensor.randn(1, 2, 4, 4);
        Tensor w4 = Tensor.randn(2, 2, 3, 3);
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w4), List.of(), List.of(), ints("kernel_shape", 2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kernel_shape");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, w4), List.of(), List.of(), ints("pads", 1, 1, -1, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pads");
        assertThatThrownBy(() -> run(13, "ConvTranspose", List.of(x, Tensor.randn(3, 2, 3, 3)), List.of(), List.of(), intAttr("group", 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups");
    }

    // ---- pools and convolutions with asymmetric pads ----

    /** ONNX's pools by their definition: windows over the padded image; the average over what lies inside or over the whole window. */
    private static float[] poolByLoops(float[] x, int[] xs, int k, int stride, int[] pads, boolean max, boolean countPad) {
        int outH = (xs[2] + pads[0] + pads[2] - k) / stride + 1;
        int outW = (xs[3] + pads[1] + pads[3] - k) / stride + 1;
        float[] y = new float[xs[0] * xs[1] * outH * outW];
        for (int p = 0; p < xs[0] * xs[1]; p++) {
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    float acc = max ? Float.NEGATIVE_INFINITY : 0;
                    int inside = 0;
                    for (int a = 0; a < k; a++) {
                        for (int c = 0; c < k; c++) {
                            int h = oy * stride - pads[0] + a;
                            int v = ox * stride - pads[1] + c;
                            if (h >= 0 && h < xs[2] && v >= 0 && v < xs[3]) {
                                float e = x[(p * xs[2] + h) * xs[3] + v];
                                acc = max ? Math.max(acc, e) : acc + e;
                                inside++;
                            }
                        }
                    }
                    y[(p * outH + oy) * outW + ox] = max ? acc : acc / (countPad ? k * k : inside);
                }
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(strings = {"MaxPool", "AveragePool/0", "AveragePool/1"})
    void poolsWithAsymmetricPadsMatchTheirDefinition(String which) {
        String op = which.split("/")[0];
        boolean countPad = which.endsWith("/1");
        int[] xs = {2, 3, 7, 6};
        float[] x = random(2 * 3 * 7 * 6);
        int[] pads = {0, 2, 2, 1}; // asymmetric, and the left one over half the kernel
        Tensor y = run(13, op, List.of(Tensor.of(x, xs)), List.of(), List.of(), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                ints("pads", 0, 2, 2, 1), intAttr("count_include_pad", countPad ? 1 : 0));
        int outH = (7 + 2 - 3) / 2 + 1;
        int outW = (6 + 3 - 3) / 2 + 1;
        assertClose(y, poolByLoops(x, xs, 3, 2, pads, op.equals("MaxPool"), countPad), new int[] {2, 3, outH, outW}, which);
    }

    @Test
    void poolPadsOverHalfTheKernelArePaddedExplicitly() {
        int[] xs = {1, 2, 5, 5};
        float[] x = random(50);
        Tensor y = run(13, "AveragePool", List.of(Tensor.of(x, xs)), List.of(), List.of(), ints("kernel_shape", 3, 3), ints("pads", 2, 2, 2, 2));
        assertClose(y, poolByLoops(x, xs, 3, 1, new int[] {2, 2, 2, 2}, false, false), new int[] {1, 2, 7, 7}, "AveragePool pads 2, kernel 3");
    }

    @Test
    void asymmetricPoolPadsWithCeilModeAreRefusedByName() {
        assertThatThrownBy(() -> run(13, "MaxPool", List.of(Tensor.randn(1, 1, 6, 6)), List.of(), List.of(), ints("kernel_shape", 3, 3),
                ints("pads", 0, 0, 1, 1), intAttr("ceil_mode", 1))).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("MaxPool").hasMessageContaining("ceil_mode");
    }

    @Test
    void convWithSameLowerAndAnOddTotalPadsTheStart() {
        int[] xs = {1, 1, 4, 4};
        float[] x = random(16);
        float[] w = random(4); // a 2 x 2 kernel, stride 1: total padding 1, at the start for SAME_LOWER
        Tensor y = run(13, "Conv", List.of(Tensor.of(x, xs), Tensor.of(w, 1, 1, 2, 2)), List.of(), List.of(), stringAttr("auto_pad", "SAME_LOWER"));
        float[] want = new float[16];
        for (int oy = 0; oy < 4; oy++) {
            for (int ox = 0; ox < 4; ox++) {
                for (int a = 0; a < 2; a++) {
                    for (int c = 0; c < 2; c++) {
                        int h = oy - 1 + a;
                        int v = ox - 1 + c;
                        if (h >= 0 && v >= 0) {
                            want[oy * 4 + ox] += x[h * 4 + v] * w[a * 2 + c];
                        }
                    }
                }
            }
        }
        assertClose(y, want, new int[] {1, 1, 4, 4}, "Conv SAME_LOWER");
    }

    // ---- Resize ----

    /** Bilinear by its 2-d definition (four neighbours, clamped at the edges), half_pixel coordinates from the scales. */
    private static float[] bilinearByLoops(float[] x, int h, int w, double sh, double sw, int outH, int outW) {
        float[] y = new float[outH * outW];
        for (int oy = 0; oy < outH; oy++) {
            double cy = Math.max(0, Math.min(h - 1, (oy + 0.5) / sh - 0.5));
            int y0 = (int) Math.floor(cy);
            int y1 = Math.min(h - 1, y0 + 1);
            double fy = cy - y0;
            for (int ox = 0; ox < outW; ox++) {
                double cx = Math.max(0, Math.min(w - 1, (ox + 0.5) / sw - 0.5));
                int x0 = (int) Math.floor(cx);
                int x1 = Math.min(w - 1, x0 + 1);
                double fx = cx - x0;
                y[oy * outW + ox] = (float) ((1 - fy) * ((1 - fx) * x[y0 * w + x0] + fx * x[y0 * w + x1]) + fy * ((1 - fx) * x[y1 * w + x0] + fx * x[y1 * w + x1]));
            }
        }
        return y;
    }

    @Test
    void resizeBilinearWithNonIntegerScalesMatchesItsDefinition() {
        float[] x = random(5 * 7);
        Tensor y = run(13, "Resize", List.of(Tensor.of(x, 1, 1, 5, 7)), List.of("", "scales"), List.of(floatInit("scales", new long[] {4}, 1, 1, 1.7f, 0.6f)),
                stringAttr("mode", "linear"));
        int outH = (int) Math.floor(5 * 1.7f);
        int outW = (int) Math.floor(7 * 0.6f);
        assertClose(y, bilinearByLoops(x, 5, 7, 1.7f, 0.6f, outH, outW), new int[] {1, 1, outH, outW}, "Resize linear");
    }

    @Test
    void resizeNearestModesPickTheSpecsIndex() {
        Tensor x = Tensor.of(new float[] {10, 11, 12, 13}, 1, 4);
        // sizes 1 x 6 from 4, asymmetric: source x = o * 4/6 = 0, .667, 1.333, 2, 2.667, 3.333
        Map<String, float[]> want = new HashMap<>();
        want.put("floor", new float[] {10, 10, 11, 12, 12, 13});
        want.put("ceil", new float[] {10, 11, 12, 12, 13, 13});
        want.put("round_prefer_floor", new float[] {10, 11, 11, 12, 13, 13});
        want.put("round_prefer_ceil", new float[] {10, 11, 11, 12, 13, 13});
        for (var e : want.entrySet()) {
            Tensor y = run(13, "Resize", List.of(x), List.of("", "", "sizes"), List.of(int64Init("sizes", new long[] {2}, 1, 6)),
                    stringAttr("coordinate_transformation_mode", "asymmetric"), stringAttr("nearest_mode", e.getKey()));
            assertThat(y.toFloatArray()).as(e.getKey()).containsExactly(e.getValue());
        }
        // a tie: 2 from 4 with half_pixel is x = 0.5 and 2.5; round_prefer_floor takes 0 and 2, round_prefer_ceil 1 and 3
        Tensor floor = run(13, "Resize", List.of(x), List.of("", "", "sizes"), List.of(int64Init("sizes", new long[] {2}, 1, 2)));
        assertThat(floor.toFloatArray()).containsExactly(10, 12);
        Tensor ceil = run(13, "Resize", List.of(x), List.of("", "", "sizes"), List.of(int64Init("sizes", new long[] {2}, 1, 2)),
                stringAttr("nearest_mode", "round_prefer_ceil"));
        assertThat(ceil.toFloatArray()).containsExactly(11, 13);
    }

    @Test
    void resizeOfHugeSizesOrScalesIsRefusedBeforeAllocating() {
        Tensor x = Tensor.randn(1, 1, 4, 4);
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "", "sizes"),
                List.of(int64Init("sizes", new long[] {4}, 1, 1, 1 << 20, 1 << 20)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Resize").hasMessageContaining("read limit");
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "", "sizes"),
                List.of(int64Init("sizes", new long[] {4}, 1L << 40, 1L << 40, 4, 4)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Resize");
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), List.of(floatInit("scales", new long[] {4}, 1, 1, 1e30f, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Resize");
        for (float bad : new float[] {0, -2, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), List.of(floatInit("scales", new long[] {4}, 1, 1, bad, 1))))
                    .as("scale " + bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale");
        }
        // an axis upsampled before another is downsampled: the per-axis path's partial result alone is over the limit
        // (rank 3: [N, C, H, W] takes the fused kernel, which has no partial result, and gives the 2^20 elements)
        Tensor big = Tensor.randn(1, 1 << 12, 1 << 12);
        assertThatThrownBy(() -> run(13, "Resize", List.of(big), List.of("", "", "sizes"),
                List.of(int64Init("sizes", new long[] {3}, 1, 1 << 20, 1)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read limit");
        assertThat(run(13, "Resize", List.of(big.reshape(1, 1, 1 << 12, 1 << 12)), List.of("", "", "sizes"),
                List.of(int64Init("sizes", new long[] {4}, 1, 1, 1 << 20, 1))).shape()).containsExactly(1, 1, 1 << 20, 1);
    }

    @Test
    void resizeRefusesWhatItDoesNotComputeByName() {
        Tensor x = Tensor.randn(1, 1, 4, 4);
        List<W> scales = List.of(floatInit("scales", new long[] {4}, 1, 1, 2, 2));
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), scales, stringAttr("mode", "cubic")))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Resize").hasMessageContaining("cubic");
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), scales, stringAttr("coordinate_transformation_mode",
                "tf_crop_and_resize"))).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("tf_crop_and_resize");
        assertThatThrownBy(() -> run(18, "Resize", List.of(x), List.of("", "scales"), scales, stringAttr("mode", "linear"), intAttr("antialias", 1)))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("antialias");
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), scales, intAttr("exclude_outside", 1)))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("exclude_outside");
        assertThatThrownBy(() -> run(18, "Resize", List.of(x), List.of("", "", "sizes"), List.of(int64Init("sizes", new long[] {2}, 8, 8)),
                ints("axes", 2, 3), stringAttr("keep_aspect_ratio_policy", "not_larger")))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("keep_aspect_ratio_policy");
        assertThatThrownBy(() -> run(13, "Resize", List.of(x), List.of("", "scales"), List.of(floatInit("scales", new long[] {2}, 2, 2))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scales");
    }

    @Test
    void resizeWithOpset18AxesResizesOnlyThose() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);
        Tensor y = run(18, "Resize", List.of(x), List.of("", "", "sizes"), List.of(int64Init("sizes", new long[] {1}, 6)), ints("axes", -1),
                stringAttr("coordinate_transformation_mode", "asymmetric"), stringAttr("nearest_mode", "floor"));
        assertThat(y.shape()).containsExactly(1, 2, 6);
        assertThat(y.toFloatArray()).containsExactly(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6);
    }

    // ---- CumSum, ReduceProd, Clip ----

    @Test
    void cumSumMatchesItsDefinitionWithEveryFlag() {
        int rows = 3;
        int cols = 37; // not a power of two: the scan's last step is partial
        float[] x = random(rows * cols);
        for (int exclusive = 0; exclusive < 2; exclusive++) {
            for (int reverse = 0; reverse < 2; reverse++) {
                for (long axis : new long[] {1, -2}) {
                    Tensor y = run(14, "CumSum", List.of(Tensor.of(x, rows, cols)), List.of("axis"), List.of(int64Init("axis", new long[] {}, axis)),
                            intAttr("exclusive", exclusive), intAttr("reverse", reverse));
                    float[] want = new float[rows * cols];
                    boolean alongCols = axis == 1;
                    int len = alongCols ? cols : rows;
                    int lines = alongCols ? rows : cols;
                    for (int line = 0; line < lines; line++) {
                        double acc = 0;
                        for (int step = 0; step < len; step++) {
                            int i = reverse == 1 ? len - 1 - step : step;
                            int at = alongCols ? line * cols + i : i * cols + line;
                            if (exclusive == 1) {
                                want[at] = (float) acc;
                                acc += x[at];
                            } else {
                                acc += x[at];
                                want[at] = (float) acc;
                            }
                        }
                    }
                    assertClose(y, want, new int[] {rows, cols}, "CumSum exclusive " + exclusive + " reverse " + reverse + " axis " + axis);
                }
            }
        }
    }

    @Test
    void cumSumRefusesABadAxis() {
        assertThatThrownBy(() -> run(14, "CumSum", List.of(Tensor.randn(2, 3)), List.of("axis"), List.of(int64Init("axis", new long[] {}, 2))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CumSum").hasMessageContaining("axis");
        assertThatThrownBy(() -> run(14, "CumSum", List.of(Tensor.randn(2, 3)), List.of("axis"), List.of(int64Init("axis", new long[] {2}, 0, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("axis");
    }

    @Test
    void reduceProdOfOddAndEmptyAxes() {
        float[] x = random(2 * 7 * 3);
        Tensor y = run(13, "ReduceProd", List.of(Tensor.of(x, 2, 7, 3)), List.of(), List.of(), ints("axes", 1), intAttr("keepdims", 0));
        float[] want = new float[6];
        for (int a = 0; a < 2; a++) {
            for (int c = 0; c < 3; c++) {
                double p = 1;
                for (int b = 0; b < 7; b++) {
                    p *= x[(a * 7 + b) * 3 + c];
                }
                want[a * 3 + c] = (float) p;
            }
        }
        assertClose(y, want, new int[] {2, 3}, "ReduceProd");
        Tensor empty = run(13, "ReduceProd", List.of(Tensor.zeros(2, 0)), List.of(), List.of(), ints("axes", 1));
        assertThat(empty.shape()).containsExactly(2, 1);
        assertThat(empty.toFloatArray()).containsExactly(1, 1); // the empty product
    }

    @Test
    void clipWithMinAboveMaxGivesMaxEverywhereAndKeepsNaN() {
        Tensor x = Tensor.of(new float[] {-5, 0, 3, Float.NaN, 100}, 5);
        Tensor y = run(13, "Clip", List.of(x), List.of("lo", "hi"), List.of(floatInit("lo", new long[] {}, 2), floatInit("hi", new long[] {}, 1)));
        assertThat(y.toFloatArray()).containsExactly(1, 1, 1, Float.NaN, 1);
        Tensor old = run(6, "Clip", List.of(x), List.of(), List.of(), floatAttr("min", 2), floatAttr("max", 1));
        assertThat(old.toFloatArray()).containsExactly(1, 1, 1, Float.NaN, 1);
    }

    // ---- the activations LeakyRelu, Elu, Softplus, HardSigmoid, HardSwish ----

    /**
     * Each against the ONNX spec's formula in double (HardSigmoid with its defaults alpha = 0.2, beta = 0.5, PyTorch's
     * 1/6 and 1/2, and others), NaN and +-inf included; and each one step of an inference plan (LeakyRelu was five: neg,
     * relu, mul, relu, add).
     */
    @Test
    void activationsFollowTheSpecAndAreOnePlanStep() {
        float[] v = {-40, -6, -3.5f, -3, -2.5f, -1, -0.25f, 0, 0.25f, 1, 2.5f, 3, 3.5f, 6, 25, 40, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        Tensor x = Tensor.of(v, v.length);
        record Case(String op, java.util.function.DoubleUnaryOperator spec, String step, W... attrs) {
        }
        float sixth = 1f / 6;
        Case[] cases = {
            new Case("LeakyRelu", t -> t < 0 ? 0.01f * t : t, "leaky_relu"),
            new Case("LeakyRelu", t -> t < 0 ? 0.3f * t : t, "leaky_relu", floatAttr("alpha", 0.3f)),
            new Case("Elu", t -> t < 0 ? Math.expm1(t) : t, "elu"),
            new Case("Elu", t -> t < 0 ? 0.5 * Math.expm1(t) : t, "elu", floatAttr("alpha", 0.5f)),
            new Case("Softplus", t -> t > 30 ? t : Math.log1p(Math.exp(t)), "softplus"),
            new Case("HardSigmoid", t -> Math.max(0, Math.min(1, 0.2f * t + 0.5f)), "hardtanh"),
            new Case("HardSigmoid", t -> Math.max(0, Math.min(1, sixth * t + 0.5f)), "hardsigmoid", floatAttr("alpha", sixth)),
            new Case("HardSigmoid", t -> Math.max(0, Math.min(1, 0.4f * t - 0.25f)), "hardtanh", floatAttr("alpha", 0.4f), floatAttr("beta", -0.25f)),
            new Case("HardSwish", t -> t * Math.max(0, Math.min(1, t / 6 + 0.5)), "hardswish"),
        };
        for (Case c : cases) {
            String what = c.op() + " " + java.util.Arrays.toString(c.attrs());
            Tensor y = run(13, c.op(), List.of(x), List.of(), List.of(), c.attrs());
            float[] want = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                want[i] = (float) c.spec().applyAsDouble(v[i]); // HardSwish(-inf) = -inf * 0 = NaN, as PyTorch's
            }
            assertClose(y, want, new int[] {v.length}, what);
            byte[] m = model(13, List.of(node(c.op(), List.of("in0"), List.of("y"), c.attrs())), List.of(),
                    List.of(valueInfo("in0", OnnxFormat.FLOAT, v.length)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
            try (OnnxModel om = OnnxModel.parse(m); dev.lanes.InferencePlan plan = om.plan(v.length)) {
                int steps = c.step().equals("hardtanh") ? 3 : 1; // an ONNX HardSigmoid of other slopes: mul, add, hardtanh(0, 1)
                assertThat(plan.stepCount()).as("%s:%n%s", what, plan).isEqualTo(steps);
                assertThat(plan.toString()).as(what).contains(c.step());
                float[] out = new float[v.length];
                plan.run(v, out);
                assertThat(out).as("%s: plan vs eager", what).containsExactly(y.toFloatArray());
            }
        }
    }

    // ---- Pad ----

    /** The source index of output index o along an axis of size len padded by {@code before}, by mode; -1 for the constant. */
    private static int padSource(String mode, int o, int before, int len) {
        int j = o - before;
        if (j >= 0 && j < len) {
            return j;
        }
        return switch (mode) {
            case "constant" -> -1;
            case "edge" -> j < 0 ? 0 : len - 1;
            case "wrap" -> ((j % len) + len) % len;
            default -> { // reflect about the edge elements, again and again for pads longer than the axis
                while (j < 0 || j >= len) {
                    j = j < 0 ? -j : 2 * (len - 1) - j;
                }
                yield j;
            }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"constant", "edge", "reflect", "wrap"})
    void padMatchesItsDefinitionWithNegativeAndLongPads(String mode) {
        int rows = 4;
        int cols = 3;
        float[] x = random(rows * cols);
        long[] pads = {2, -1, 5, 3}; // rows: 2 before, 5 after (longer than the axis); columns: one removed before, 3 after
        Tensor y = run(13, "Pad", List.of(Tensor.of(x, rows, cols)), List.of("pads", "value"),
                List.of(int64Init("pads", new long[] {4}, pads), floatInit("value", new long[] {}, 7.5f)), stringAttr("mode", mode));
        int outRows = rows + 2 + 5;
        int outCols = cols - 1 + 3;
        float[] want = new float[outRows * outCols];
        for (int r = 0; r < outRows; r++) {
            for (int c = 0; c < outCols; c++) {
                int sr = padSource(mode, r, 2, rows);
                int sc = padSource(mode, c, -1, cols);
                want[r * outCols + c] = sr < 0 || sc < 0 ? 7.5f : x[sr * cols + sc];
            }
        }
        assertClose(y, want, new int[] {outRows, outCols}, "Pad " + mode);
    }

    @Test
    void padWithOpset18AxesAndOpset2Attributes() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor y = run(18, "Pad", List.of(x), List.of("pads", "", "axes"), List.of(int64Init("pads", new long[] {2}, 1, 0),
                int64Init("axes", new long[] {1}, -1)), stringAttr("mode", "edge"));
        assertThat(y.shape()).containsExactly(2, 4);
        assertThat(y.toFloatArray()).containsExactly(1, 1, 2, 3, 4, 4, 5, 6);
        Tensor old = run(2, "Pad", List.of(x), List.of(), List.of(), ints("pads", 0, 0, 1, 0), floatAttr("value", -1));
        assertThat(old.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6, -1, -1, -1);
    }

    @Test
    void padOfHugeOrBadPadsIsRefusedBeforeAllocating() {
        Tensor x = Tensor.randn(2, 3);
        assertThatThrownBy(() -> run(13, "Pad", List.of(x), List.of("pads"), List.of(int64Init("pads", new long[] {4}, 0, 0, 1L << 40, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Pad").hasMessageContaining("long");
        assertThatThrownBy(() -> run(13, "Pad", List.of(x), List.of("pads"), List.of(int64Init("pads", new long[] {4}, 0, 0, 1 << 20, 1 << 20))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read limit");
        assertThatThrownBy(() -> run(13, "Pad", List.of(x), List.of("pads"), List.of(int64Init("pads", new long[] {4}, 0, -4, 0, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pads");
        assertThatThrownBy(() -> run(13, "Pad", List.of(x), List.of("pads"), List.of(int64Init("pads", new long[] {2}, 1, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("every begin");
        assertThatThrownBy(() -> run(13, "Pad", List.of(x), List.of("pads"), List.of(int64Init("pads", new long[] {4}, 1, 1, 1, 1)),
                stringAttr("mode", "mirror"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mirror");
    }

    /** PyTorch's F.pad export reverses and transposes its pads as integers: a Slice with step -1 and a Transpose, folded. */
    @Test
    void backwardSliceAndTransposeOfKnownIntegersStayKnown() {
        byte[] m = model(13, List.of(node("Slice", List.of("v", "starts", "ends", "axes", "steps"), List.of("r")),
                        node("Transpose", List.of("r"), List.of("y"), ints("perm", 1, 0))),
                List.of(int64Init("v", new long[] {3, 2}, 0, 1, 2, 3, 4, 5), int64Init("starts", new long[] {1}, -1),
                        int64Init("ends", new long[] {1}, -Long.MAX_VALUE), int64Init("axes", new long[] {1}, 0), int64Init("steps", new long[] {1}, -1)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            Tensor y = om.run().get(0);
            assertThat(y.shape()).containsExactly(2, 3);
            assertThat(y.toLongArray()).containsExactly(4, 2, 0, 5, 3, 1);
        }
    }

    // ---- a decoder exported by PyTorch ----

    /** ConvTranspose, Resize (bilinear, align_corners and not; nearest), CumSum and ReduceProd as PyTorch exports them, eager and planned. */
    @ParameterizedTest
    @ValueSource(strings = {"decoder11", "decoder13"})
    void pytorchDecoderExportMatchesPytorch(String name) throws IOException {
        Map<String, Tensor> g = new HashMap<>();
        for (TestGolden.Case c : TestGolden.read("onnx_decoder.txt")) {
            g.put(c.name(), c.tensor());
        }
        Tensor x = g.get(name + "/x");
        Tensor want = g.get(name + "/y");
        try (OnnxModel m = OnnxModel.parse(OnnxModelTest.resource(name + ".onnx"))) {
            TestGolden.assertClose(m.forward(x), want, 1e-4, 1e-4, name + " eager");
            try (InferencePlan plan = m.plan(x.shape())) {
                TestGolden.assertClose(plan.run(x), want, 1e-4, 1e-4, name + " plan");
            }
        }
    }

    // ---- Reduce ops with noop_with_empty_axes, LogSumExp of large values, Pow's broadcast, opset 1-6 training flags ----

    @Test
    void reduceWithNoopAndNoAxesReducesNothingButKeepsTheElementWiseParts() {
        float[] x = random(2 * 3 * 4);
        Tensor in = Tensor.of(x, 2, 3, 4);
        // opset 13 ReduceSum without its axes input, opset 18 ReduceMean with an empty axes input: the input unchanged
        Tensor sum = run(13, "ReduceSum", List.of(in), List.of(), List.of(), intAttr("noop_with_empty_axes", 1));
        assertThat(sum.shape()).containsExactly(2, 3, 4);
        assertThat(sum.toFloatArray()).containsExactly(x);
        Tensor mean = run(18, "ReduceMean", List.of(in), List.of("axes"), List.of(int64Init("axes", new long[] {0})), intAttr("noop_with_empty_axes", 1));
        assertThat(mean.toFloatArray()).containsExactly(x);
        // ReduceSumSquare is then a square, ReduceL1 an absolute value, ReduceL2 sqrt(x^2), LogSumExp the input itself
        float[] sq = new float[x.length];
        float[] abs = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            sq[i] = x[i] * x[i];
            abs[i] = Math.abs(x[i]);
        }
        assertThat(run(18, "ReduceSumSquare", List.of(in), List.of(), List.of(), intAttr("noop_with_empty_axes", 1)).toFloatArray()).containsExactly(sq);
        assertThat(run(18, "ReduceL1", List.of(in), List.of(), List.of(), intAttr("noop_with_empty_axes", 1)).toFloatArray()).containsExactly(abs);
        assertClose(run(18, "ReduceL2", List.of(in), List.of(), List.of(), intAttr("noop_with_empty_axes", 1)), abs, new int[] {2, 3, 4}, "ReduceL2 noop");
        assertThat(run(18, "ReduceLogSumExp", List.of(in), List.of(), List.of(), intAttr("noop_with_empty_axes", 1)).toFloatArray()).containsExactly(x);
        // without the flag, no axes reduce every dim
        Tensor all = run(13, "ReduceSum", List.of(in), List.of(), List.of(), intAttr("keepdims", 0));
        double total = 0;
        for (float v : x) {
            total += v;
        }
        assertThat(all.shape()).isEmpty();
        assertThat(all.item()).isCloseTo((float) total, org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void reduceLogSumExpOfLargeValuesStaysFinite() {
        float inf = Float.POSITIVE_INFINITY;
        float[] x = {100f, 100.5f, 90f, 1000f, 999f, -5f, -inf, -inf, -inf, inf, 1f, 2f, Float.NaN, 0f, 0f};
        Tensor y = run(13, "ReduceLogSumExp", List.of(Tensor.of(x, 5, 3)), List.of(), List.of(), ints("axes", 1), intAttr("keepdims", 0));
        float[] want = new float[5];
        for (int r = 0; r < 5; r++) {
            double m = Math.max(x[r * 3], Math.max(x[r * 3 + 1], x[r * 3 + 2]));
            double shift = Double.isFinite(m) ? m : 0;
            double s = 0;
            for (int c = 0; c < 3; c++) {
                s += Math.exp(x[r * 3 + c] - shift);
            }
            want[r] = (float) (Math.log(s) + shift);
        }
        assertThat(y.shape()).containsExactly(5);
        float[] got = y.toFloatArray();
        assertThat(got[0]).isCloseTo(want[0], org.assertj.core.data.Offset.offset(1e-4f)); // ~100.97, not log(inf)
        assertThat(got[1]).isCloseTo(want[1], org.assertj.core.data.Offset.offset(1e-3f)); // ~1000.31
        assertThat(got[2]).isEqualTo(-inf); // every element -inf
        assertThat(got[3]).isEqualTo(inf);
        assertThat(got[4]).isNaN();
        assertThat(Float.isFinite(want[0]) && Float.isFinite(want[1])).isTrue();
        // keepdims over two axes; an empty input's slices give -inf
        Tensor two = run(13, "ReduceLogSumExp", List.of(Tensor.of(new float[] {500, 501, 502, 503}, 1, 2, 2)), List.of(), List.of(), ints("axes", -1, 1));
        assertThat(two.shape()).containsExactly(1, 1, 1);
        assertThat(two.item()).isCloseTo((float) (503 + Math.log(1 + Math.exp(-1) + Math.exp(-2) + Math.exp(-3))), org.assertj.core.data.Offset.offset(1e-3f));
        Tensor empty = run(13, "ReduceLogSumExp", List.of(Tensor.zeros(2, 0)), List.of(), List.of(), ints("axes", 1));
        assertThat(empty.shape()).containsExactly(2, 1);
        assertThat(empty.toFloatArray()).containsExactly(-inf, -inf);
    }

    @Test
    void powWithAOneElementExponentOfHigherRankBroadcastsToItsRank() {
        Tensor base = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor y = run(13, "Pow", List.of(base), List.of("e"), List.of(floatInit("e", new long[] {1, 1}, 2f)));
        assertThat(y.shape()).containsExactly(1, 3);
        assertThat(y.toFloatArray()).containsExactly(1, 4, 9);
        Tensor same = run(13, "Pow", List.of(base), List.of("e"), List.of(floatInit("e", new long[] {1}, 2f)));
        assertThat(same.shape()).containsExactly(3);
        assertThat(same.toFloatArray()).containsExactly(1, 4, 9);
    }

    @Test
    void opsetOneToSixDropoutAndBatchNormWithoutIsTestAreTrainingModeAndRefused() {
        Tensor x = Tensor.randn(1, 2, 3, 3);
        assertThatThrownBy(() -> run(6, "Dropout", List.of(x), List.of(), List.of()))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("training mode");
        assertThat(run(6, "Dropout", List.of(x), List.of(), List.of(), intAttr("is_test", 1)).toFloatArray()).containsExactly(x.toFloatArray());
        assertThat(run(7, "Dropout", List.of(x), List.of(), List.of()).toFloatArray()).containsExactly(x.toFloatArray());
        List<String> bn = List.of("scale", "bias", "mean", "var");
        List<W> stats = List.of(floatInit("scale", new long[] {2}, 1f, 2f), floatInit("bias", new long[] {2}, 0f, 1f),
                floatInit("mean", new long[] {2}, 0.5f, -0.5f), floatInit("var", new long[] {2}, 1f, 4f));
        assertThatThrownBy(() -> run(6, "BatchNormalization", List.of(x), bn, stats))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("training mode").hasMessageContaining("is_test");
        Tensor test6 = run(6, "BatchNormalization", List.of(x), bn, stats, intAttr("is_test", 1));
        Tensor test9 = run(9, "BatchNormalization", List.of(x), bn, stats);
        assertThat(test6.toFloatArray()).containsExactly(test9.toFloatArray());
    }

    /**
     * PyTorch's export of x.expand(3, -1) (opset 13) computes the target shape as Equal(sizes, -1) -> Where(eq, ones,
     * sizes) over int64 constants: folded now (it was refused: "Where of INT64 tensors"), eagerly and as a plan.
     */
    @Test
    void theExpandPatternOfPyTorchsExportFoldsItsIntegerWhere() {
        byte[] m = model(13, List.of(node("Equal", List.of("sz", "neg"), List.of("eq")), node("Where", List.of("eq", "ones", "sz"), List.of("shape")),
                        node("Expand", List.of("x", "shape"), List.of("y"))),
                List.of(int64Init("sz", new long[] {2}, 3, -1), int64Init("neg", new long[] {1}, -1), int64Init("ones", new long[] {2}, 1, 1)),
                List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 1, 4)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.FLOAT)));
        float[] x = {1, 2, 3, 4};
        try (OnnxModel om = OnnxModel.parse(m)) {
            Tensor y = om.run(Tensor.of(x, 1, 4)).get(0);
            org.assertj.core.api.Assertions.assertThat(y.shape()).containsExactly(3, 4);
            org.assertj.core.api.Assertions.assertThat(y.toFloatArray()).containsExactly(1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4);
            try (InferencePlan p = om.plan(1, 4)) {
                float[] out = new float[p.outputSize()];
                p.run(x, out);
                org.assertj.core.api.Assertions.assertThat(out).containsExactly(1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4);
            }
        }
    }

    /** MaxPool's storage_order orders only the Indices output: without one it was refused for nothing. */
    @Test
    void maxPoolStorageOrderWithoutIndicesPoolsAsUsual() {
        byte[] m = model(13, List.of(node("MaxPool", List.of("x"), List.of("y"), ints("kernel_shape", 2, 2),
                        new W().str(1, "storage_order").varint(20, OnnxFormat.ATTR_INT).varint(3, 1))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 1, 1, 2, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThat(om.run(Tensor.of(new float[] {1, 4, 3, 2}, 1, 1, 2, 2)).get(0).toFloatArray()).containsExactly(4f);
        }
    }

    /**
     * Gather of indices known only at run time counts negative ones from the end, eagerly and in a plan (a plan used to
     * refuse them at run: index_select's range), and refuses ones outside [-size, size) in both.
     */
    @Test
    void gatherOfRunTimeNegativeIndicesWrapsInAPlanToo() {
        byte[] m = model(13, List.of(node("Gather", List.of("d", "i"), List.of("y"))),
                List.of(floatInit("d", new long[] {3, 2}, 0, 1, 10, 11, 20, 21)),
                List.of(valueInfo("i", OnnxFormat.INT64, 4)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        long[] ids = {-1, 0, 2, -3};
        float[] want = {20, 21, 0, 1, 20, 21, 0, 1};
        try (OnnxModel om = OnnxModel.parse(m)) {
            Tensor y = om.run(Tensor.of(ids, 4)).get(0);
            assertThat(y.shape()).containsExactly(4, 2);
            assertThat(y.toFloatArray()).containsExactly(want);
            try (InferencePlan p = om.plan(4)) {
                float[] out = new float[p.outputSize()];
                p.run(ids, out);
                assertThat(out).containsExactly(want);
                assertThatThrownBy(() -> p.run(new long[] {0, 3, 0, 0}, out)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("3");
            }
            assertThatThrownBy(() -> om.run(Tensor.of(new long[] {0, -4, 0, 0}, 4))).isInstanceOf(IllegalArgumentException.class) // eager: the node named
                    .hasMessageContaining("ONNX Gather").hasMessageContaining("index -4 is out of bounds for dimension 0 with size 3");
        }
    }

    /** Gather of int64 data known only at run time is refused as unsupported (it was an IllegalArgumentException from index_select). */
    @Test
    void gatherOfRunTimeInt64DataIsRefusedAsUnsupported() {
        byte[] m = model(13, List.of(node("Gather", List.of("x", "i"), List.of("y"))), List.of(int64Init("i", new long[] {1}, 0)),
                List.of(valueInfo("x", OnnxFormat.INT64, 3)), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThatThrownBy(() -> om.run(Tensor.of(new long[] {5, 6, 7}, 3))).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("Gather of");
        }
    }

    /** LayerNormalization's Scale and B broadcast as the spec's Mul and Add do: Scale [4] over normalized [3, 4] (refused before). */
    @Test
    void layerNormalizationTakesAScaleThatBroadcasts() {
        byte[] m = model(17, List.of(node("LayerNormalization", List.of("x", "scale"), List.of("y"), intAttr("axis", 1))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 3, 4), valueInfo("scale", OnnxFormat.FLOAT, 4)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        float[] x = random(24);
        float[] scale = {1f, 2f, -1f, 0.5f};
        try (OnnxModel om = OnnxModel.parse(m)) {
            float[] y = om.run(Tensor.of(x, 2, 3, 4), Tensor.of(scale, 4)).get(0).toFloatArray();
            float[] plain = dev.lanes.nn.functional.F.layerNorm(Tensor.of(x, 2, 3, 4), new int[] {3, 4}, null, null, 1e-5).toFloatArray();
            for (int i = 0; i < 24; i++) {
                assertThat(y[i]).as("y[%d]", i).isEqualTo(plain[i] * scale[i % 4]);
            }
        }
    }

    /** torch.flip(x, [1])'s export, Slice(starts -1, ends INT64_MIN, steps -1), and a stride-2 backward slice (refused before). */
    @Test
    void sliceWithANegativeStepRunsBackwards() {
        byte[] m = model(13, List.of(node("Slice", List.of("x", "st", "en", "ax", "sp"), List.of("y"))),
                List.of(int64Init("st", new long[] {1}, -1), int64Init("en", new long[] {1}, Long.MIN_VALUE), int64Init("ax", new long[] {1}, 1),
                        int64Init("sp", new long[] {1}, -2)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 5)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            Tensor y = om.run(Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 2, 5)).get(0);
            assertThat(y.shape()).containsExactly(2, 3); // numpy: x[:, -1::-2] -> columns 4, 2, 0
            assertThat(y.toFloatArray()).containsExactly(4, 2, 0, 9, 7, 5);
            try (InferencePlan p = om.plan(2, 5)) {
                float[] out = new float[6];
                p.run(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out);
                assertThat(out).containsExactly(4, 2, 0, 9, 7, 5);
            }
        }
    }

    // ---- bool tensors ----

    /** A bool initializer as raw_data (one byte a value). */
    private static W boolInit(String name, long[] dims, boolean... v) {
        W t = new W();
        for (long d : dims) {
            t.varint(1, d);
        }
        byte[] raw = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            raw[i] = (byte) (v[i] ? 1 : 0);
        }
        return t.varint(2, OnnxFormat.BOOL).str(8, name).bytes(9, raw);
    }

    private static void assertBools(Tensor t, String what, int[] shape, long... want) {
        assertThat(t.dtype()).as(what + " dtype").isEqualTo(dev.lanes.DType.BOOL);
        assertThat(t.shape()).as(what + " shape").containsExactly(shape);
        assertThat(t.toLongArray()).as(what).containsExactly(want);
    }

    /**
     * Bool initializers and comparisons of constants are known at load as 0s and 1s: they were int64 tensors, so Not,
     * And, Or and Xor of them were refused ("Not of INT64 tensors"), a Where on a Cast to bool of constants was refused
     * ("Where of INT64 tensors"), and Equal, Unsqueeze of a bool or Where of bools came out int64. Now they stay bool.
     */
    @Test
    void boolConstantsAndFoldedComparisonsStayBool() {
        W axes = int64Init("axes", new long[] {1}, 0);
        W toFloat = intAttr("to", OnnxFormat.FLOAT);
        byte[] m = model(13, List.of(node("Equal", List.of("a", "b"), List.of("e")), node("Not", List.of("e"), List.of("ne")),
                        node("Where", List.of("ne", "x", "yv"), List.of("w")), node("And", List.of("m", "ne"), List.of("k")),
                        node("Or", List.of("m", "e"), List.of("o")), node("Xor", List.of("m", "e"), List.of("xr")),
                        node("Where", List.of("m", "x", "yv"), List.of("wm")), node("Cast", List.of("m"), List.of("c"), toFloat),
                        node("Unsqueeze", List.of("m", "axes"), List.of("u")), node("Sub", List.of("a", "b"), List.of("d")),
                        node("Cast", List.of("d"), List.of("db"), intAttr("to", OnnxFormat.BOOL)), node("Where", List.of("db", "p", "q"), List.of("wi")),
                        node("Cast", List.of("m"), List.of("ci"), intAttr("to", OnnxFormat.INT64)), node("Where", List.of("e", "m", "ne"), List.of("wb"))),
                List.of(boolInit("m", new long[] {3}, true, true, false), int64Init("a", new long[] {3}, 1, 2, 3), int64Init("b", new long[] {3}, 1, 5, 3),
                        floatInit("yv", new long[] {3}, -1, -2, -3), int64Init("p", new long[] {3}, 10, 20, 30), int64Init("q", new long[] {3}, 7, 8, 9), axes),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 3)),
                java.util.stream.Stream.of("w", "e", "ne", "k", "o", "xr", "wm", "c", "u", "wi", "ci", "wb").map(o -> valueInfo(o, 0)).toList());
        float[] x = {4, 5, 6};
        try (OnnxModel om = OnnxModel.parse(m)) {
            List<Tensor> r = om.run(Tensor.of(x, 3));
            assertThat(r.get(0).toFloatArray()).containsExactly(-1, 5, -3); // Where(Not(a == b), x, yv)
            assertBools(r.get(1), "Equal", new int[] {3}, 1, 0, 1);
            assertBools(r.get(2), "Not", new int[] {3}, 0, 1, 0);
            assertBools(r.get(3), "And", new int[] {3}, 0, 1, 0);
            assertBools(r.get(4), "Or", new int[] {3}, 1, 1, 1);
            assertBools(r.get(5), "Xor", new int[] {3}, 0, 1, 1);
            assertThat(r.get(6).toFloatArray()).containsExactly(4, 5, -3);
            assertThat(r.get(7).dtype()).isEqualTo(dev.lanes.DType.FLOAT32);
            assertThat(r.get(7).toFloatArray()).containsExactly(1, 1, 0);
            assertBools(r.get(8), "Unsqueeze", new int[] {1, 3}, 1, 1, 0);
            assertThat(r.get(9).dtype()).isEqualTo(dev.lanes.DType.INT64);
            assertThat(r.get(9).toLongArray()).containsExactly(7, 20, 9); // Where(Cast(a - b, bool), p, q)
            assertThat(r.get(10).dtype()).isEqualTo(dev.lanes.DType.INT64);
            assertThat(r.get(10).toLongArray()).containsExactly(1, 1, 0);
            assertBools(r.get(11), "Where of bools", new int[] {3}, 1, 1, 0);
            try (InferencePlan plan = om.plan(3)) {
                float[] out = new float[3];
                plan.run(x, out);
                assertThat(out).containsExactly(-1, 5, -3);
            }
        }
    }

    // ---- Cast to integers ----

    /**
     * Cast to int32 and int64 of NaN, +-inf, 2^31, -2^31 - 1, 3e9, -0.5 and 2.5 gives one answer whether the value is a
     * constant or an input, eagerly or as a plan, and an int64 constant folded to int32 gives what an int64 tensor does:
     * numpy's and PyTorch's casts on x86 (truncation; INT32_MIN or INT64_MIN where the value does not fit; int64 to int32
     * keeps the low 32 bits). To int32 the tensor path did not narrow (3e9 stayed 3000000000) while the fold wrapped.
     */
    @Test
    void castToIntegersGivesTheSameValuesFoldedAndAtRunTime() {
        float[] x = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0x1p31f, -2147483649f, 3e9f, -0.5f, 2.5f};
        long min32 = Integer.MIN_VALUE;
        long min64 = Long.MIN_VALUE;
        long[] want32 = {min32, min32, min32, min32, min32, min32, 0, 2}; // -2^31 - 1 is -2^31 as a float: in range
        long[] want64 = {min64, min64, min64, 1L << 31, -(1L << 31), 3_000_000_000L, 0, 2};
        long[] wrapped = {0, 0, 0, min32, min32, (int) 3_000_000_000L, 0, 2}; // want64's low 32 bits
        W to32 = intAttr("to", OnnxFormat.INT32);
        W to64 = intAttr("to", OnnxFormat.INT64);
        byte[] m = model(13, List.of(node("Cast", List.of("x"), List.of("x32"), to32), node("Cast", List.of("c"), List.of("c32"), to32),
                        node("Cast", List.of("x"), List.of("x64"), to64), node("Cast", List.of("c"), List.of("c64"), to64),
                        node("Cast", List.of("x64"), List.of("x6432"), to32), node("Cast", List.of("k"), List.of("k32"), to32)),
                List.of(floatInit("c", new long[] {8}, x), int64Init("k", new long[] {8}, want64)), List.of(valueInfo("x", OnnxFormat.FLOAT, 8)),
                java.util.stream.Stream.of("x32", "c32", "x64", "c64", "x6432", "k32").map(o -> valueInfo(o, 0)).toList());
        try (OnnxModel om = OnnxModel.parse(m)) {
            List<Tensor> r = om.run(Tensor.of(x, 8));
            assertThat(r.get(0).toLongArray()).as("input to int32").containsExactly(want32);
            assertThat(r.get(1).toLongArray()).as("constant to int32").containsExactly(want32);
            assertThat(r.get(2).toLongArray()).as("input to int64").containsExactly(want64);
            assertThat(r.get(3).toLongArray()).as("constant to int64").containsExactly(want64);
            assertThat(r.get(4).toLongArray()).as("int64 tensor to int32").containsExactly(wrapped);
            assertThat(r.get(5).toLongArray()).as("int64 constant folded to int32").containsExactly(wrapped);
            try (InferencePlan plan = om.plan(8)) {
                long[] out = new long[8];
                plan.run(x, out);
                assertThat(out).as("plan to int32").containsExactly(want32);
            }
        }
    }

    // ---- global pools ----

    /**
     * GlobalAveragePool and GlobalMaxPool over every spatial dim of a 3-d [N, C, L], 4-d and 5-d [N, C, D, H, W] input,
     * against loops: the 3-d and 5-d averages were refused at run time ("Lanes pools 2-d images"), GlobalMaxPool at load.
     */
    @ParameterizedTest
    @ValueSource(strings = {"GlobalAveragePool/3", "GlobalAveragePool/4", "GlobalAveragePool/5", "GlobalMaxPool/3", "GlobalMaxPool/4", "GlobalMaxPool/5"})
    void globalPoolsReduceEverySpatialDimOfAnyRank(String which) {
        String op = which.split("/")[0];
        int[] shape = switch (which.split("/")[1]) {
            case "3" -> new int[] {2, 3, 5};
            case "4" -> new int[] {2, 3, 4, 2};
            default -> new int[] {2, 3, 2, 3, 2};
        };
        int spatial = 1;
        for (int d = 2; d < shape.length; d++) {
            spatial *= shape[d];
        }
        float[] x = random(6 * spatial);
        float[] want = new float[6];
        for (int c = 0; c < 6; c++) {
            double acc = op.equals("GlobalMaxPool") ? Double.NEGATIVE_INFINITY : 0;
            for (int i = 0; i < spatial; i++) {
                float v = x[c * spatial + i];
                acc = op.equals("GlobalMaxPool") ? Math.max(acc, v) : acc + v;
            }
            want[c] = (float) (op.equals("GlobalMaxPool") ? acc : acc / spatial);
        }
        int[] out = new int[shape.length];
        java.util.Arrays.fill(out, 1);
        out[0] = 2;
        out[1] = 3;
        assertClose(run(13, op, List.of(Tensor.of(x, shape)), List.of(), List.of()), want, out, which);
        // and as a plan (GlobalMaxPool reduced by max(dim), which no plan step replays, was refused by plan())
        byte[] m = model(13, List.of(node(op, List.of("in0"), List.of("y"))), List.of(),
                List.of(valueInfo("in0", OnnxFormat.FLOAT, java.util.Arrays.stream(shape).asLongStream().toArray())),
                List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); InferencePlan plan = om.plan(shape)) {
            assertClose(plan.run(Tensor.of(x, shape)), want, out, which + " plan");
        }
    }

    // ---- BatchNormalization ----

    /**
     * BatchNormalization (opset 7) with spatial = 0: per-activation statistics, scale, bias, mean and var of shape
     * [C, H, W], each element normalized by its own, against the spec's formula; spatial = 1 with [C] as before.
     */
    @Test
    void batchNormalizationWithSpatialZeroUsesPerActivationStatistics() {
        int[] xs = {2, 3, 2, 2};
        float[] x = random(24);
        float[] scale = random(12);
        float[] bias = random(12);
        float[] mean = random(12);
        float[] var = new float[12];
        for (int i = 0; i < 12; i++) {
            var[i] = 0.5f + i / 4f;
        }
        long[] dims = {3, 2, 2};
        List<W> stats = List.of(floatInit("scale", dims, scale), floatInit("bias", dims, bias), floatInit("mean", dims, mean), floatInit("var", dims, var));
        Tensor y = run(7, "BatchNormalization", List.of(Tensor.of(x, xs)), List.of("scale", "bias", "mean", "var"), stats, intAttr("spatial", 0),
                floatAttr("epsilon", 1e-3f));
        float[] want = new float[24];
        for (int i = 0; i < 24; i++) {
            int j = i % 12; // the activation's own statistics: channel and position
            want[i] = (float) ((x[i] - mean[j]) / Math.sqrt(var[j] + 1e-3f) * scale[j] + bias[j]);
        }
        assertClose(y, want, xs, "BatchNormalization spatial = 0");
        List<W> perChannel = List.of(floatInit("scale", new long[] {3}, 1, 1, 1), floatInit("bias", new long[] {3}, 0, 0, 0),
                floatInit("mean", new long[] {3}, 0, 0, 0), floatInit("var", new long[] {3}, 1, 1, 1));
        assertThatThrownBy(() -> run(7, "BatchNormalization", List.of(Tensor.of(x, xs)), List.of("scale", "bias", "mean", "var"), perChannel,
                intAttr("spatial", 0))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("BatchNormalization")
                .hasMessageContaining("spatial = 0").hasMessageContaining("[3, 2, 2]");
    }

    /**
     * ConvTranspose whose pads come from auto_pad SAME_* or output_shape, against loops over the spec's pads:
     * total_padding = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - output_size, split with the
     * odd one at the end for SAME_UPPER and at the start otherwise (floor halves, as ONNX's reference: a negative total
     * puts a bias-only row at the start for SAME_UPPER, at the end otherwise). Cases: auto_pad, stride, kernel, input
     * size, output_padding, output_shape (0: none), dilation.
     */
    @ParameterizedTest
    @ValueSource(strings = {"SAME_UPPER 2 3 3 0 0 1", "SAME_LOWER 2 3 3 0 0 1", "SAME_UPPER 2 3 4 1 0 1", "SAME_LOWER 3 2 3 1 0 1",
            "SAME_UPPER 2 1 3 0 0 1", "SAME_LOWER 2 1 3 0 0 1", "SAME_UPPER 3 1 3 0 0 1", "SAME_LOWER 1 3 4 0 0 2", "NOTSET 2 3 3 0 6 1",
            "NOTSET 2 3 3 1 7 1", "NOTSET 2 3 3 0 9 1", "SAME_UPPER 2 3 3 0 9 1", "SAME_LOWER 2 3 3 0 9 1", "VALID 2 3 3 0 5 1",
            // ends past the natural size by the stride or more (output padding at most stride - 1 was refused)
            "NOTSET 1 1 2 0 4 1", "NOTSET 2 1 2 0 8 1", "SAME_UPPER 2 1 2 0 9 1", "SAME_LOWER 1 2 3 0 7 1"})
    void convTransposeAutoPadAndOutputShapeFollowTheSpec(String spec) {
        String[] f = spec.split(" ");
        String auto = f[0];
        int stride = Integer.parseInt(f[1]);
        int k = Integer.parseInt(f[2]);
        int in = Integer.parseInt(f[3]);
        int outputPadding = Integer.parseInt(f[4]);
        int outputShape = Integer.parseInt(f[5]);
        int dilation = Integer.parseInt(f[6]);
        int out = outputShape > 0 ? outputShape : in * stride;
        int total = stride * (in - 1) + outputPadding + (k - 1) * dilation + 1 - out;
        int begin = auto.equals("SAME_UPPER") ? Math.floorDiv(total, 2) : total - Math.floorDiv(total, 2);
        int[] xs = {1, 2, in, in};
        int[] ws = {2, 2, k, k};
        float[] x = random(2 * in * in);
        float[] w = random(4 * k * k);
        float[] b = {0.25f, -0.5f};
        List<W> attrs = new ArrayList<>(List.of(stringAttr("auto_pad", auto), ints("strides", stride, stride), ints("dilations", dilation, dilation),
                ints("output_padding", outputPadding, outputPadding)));
        if (outputShape > 0) {
            attrs.add(ints("output_shape", outputShape, outputShape));
        }
        Tensor y = run(13, "ConvTranspose", List.of(Tensor.of(x, xs), Tensor.of(w, ws), Tensor.of(b, 2)), List.of(), List.of(), attrs.toArray(W[]::new));
        float[] want = convTransposeByLoops(x, xs, w, ws, b, new int[] {stride, stride}, new int[] {begin, begin, 0, 0}, new int[] {dilation, dilation},
                1, out, out);
        assertClose(y, want, new int[] {1, 2, out, out}, spec);
    }
}
