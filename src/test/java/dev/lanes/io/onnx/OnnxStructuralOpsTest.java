package dev.lanes.io.onnx;

import static dev.lanes.io.onnx.OnnxHostileGraphTest.int64Init;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.intAttr;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tile, DepthToSpace, SpaceToDepth, InstanceNormalization, Upsample and Einsum against plain loops written from ONNX's
 * spec, where ONNX's own node cases do not reach (its Einsum cases are all float64, which Lanes refuses at its
 * boundary; its Upsample case is nearest at opset 9 only), each traced into a plan as well; hostile sizes and
 * unsupported attributes refused by name; and Resize on [N, C, H, W] taking the fused upsample kernel with the bits
 * of the per-axis path.
 */
class OnnxStructuralOpsTest {
    private static final Random RANDOM = new Random(105);

    private static float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) RANDOM.nextGaussian();
        }
        return v;
    }

    private static W floatsAttr(String name, float... v) {
        W a = new W().str(1, name).varint(20, OnnxFormat.ATTR_FLOATS);
        for (float f : v) {
            a.fixed32(7, f);
        }
        return a;
    }

    private static byte[] oneNode(int opset, String op, List<Tensor> inputs, List<String> extraInputs, List<W> inits, W... attrs) {
        List<String> names = new ArrayList<>();
        List<W> infos = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            names.add("in" + i);
            infos.add(valueInfo("in" + i, OnnxFormat.FLOAT, Arrays.stream(inputs.get(i).shape()).asLongStream().toArray()));
        }
        names.addAll(extraInputs);
        return model(opset, List.of(node(op, names, List.of("y"), attrs)), inits, infos, List.of(valueInfo("y", OnnxFormat.FLOAT)));
    }

    /** The node's output eagerly; with one input also as a plan, which must agree bit for bit. */
    private static Tensor run(int opset, String op, List<Tensor> inputs, List<String> extraInputs, List<W> inits, W... attrs) {
        try (OnnxModel om = OnnxModel.parse(oneNode(opset, op, inputs, extraInputs, inits, attrs))) {
            Tensor eager = om.run(inputs.toArray(Tensor[]::new)).get(0);
            if (inputs.size() == 1) {
                try (InferencePlan plan = om.plan(inputs.get(0).shape())) {
                    assertThat(plan.run(inputs.get(0)).toFloatArray()).as(op + " plan").containsExactly(eager.toFloatArray());
                }
            }
            return eager;
        }
    }

    private static void assertClose(Tensor got, float[] want, int[] shape, String what) {
        assertThat(got.shape()).as(what + " shape").containsExactly(shape);
        TestGolden.assertClose(got, Tensor.of(want, shape), 1e-5, 1e-4, what);
    }

    // ---- Tile ----

    @Test
    void tileRepeatsEachDimAndRefusesHostileRepeats() {
        float[] x = random(2 * 3);
        Tensor y = run(13, "Tile", List.of(Tensor.of(x, 2, 3)), List.of("r"), List.of(int64Init("r", new long[] {2}, 3, 2)));
        float[] want = new float[6 * 6];
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                want[i * 6 + j] = x[(i % 2) * 3 + j % 3];
            }
        }
        assertClose(y, want, new int[] {6, 6}, "Tile");
        assertThat(run(13, "Tile", List.of(Tensor.of(x, 2, 3)), List.of("r"), List.of(int64Init("r", new long[] {2}, 0, 2))).shape())
                .containsExactly(0, 6);
        assertThatThrownBy(() -> run(13, "Tile", List.of(Tensor.of(x, 2, 3)), List.of("r"), List.of(int64Init("r", new long[] {2}, 1 << 30, 1 << 30))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Tile");
        assertThatThrownBy(() -> run(13, "Tile", List.of(Tensor.of(x, 2, 3)), List.of("r"), List.of(int64Init("r", new long[] {1}, 2))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("repeats [2] for a rank-2 input");
        assertThatThrownBy(() -> run(13, "Tile", List.of(Tensor.of(x, 2, 3)), List.of("r"), List.of(int64Init("r", new long[] {2}, -1, 2))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
    }

    // ---- DepthToSpace / SpaceToDepth ----

    @ParameterizedTest
    @ValueSource(strings = {"DCR", "CRD"})
    void depthToSpaceAndBackMatchTheSpec(String mode) {
        int n = 2, c = 3, h = 2, w = 3, b = 2;
        float[] x = random(n * c * b * b * h * w);
        Tensor y = run(13, "DepthToSpace", List.of(Tensor.of(x, n, c * b * b, h, w)), List.of(), List.of(), intAttr("blocksize", b),
                stringAttr("mode", mode));
        float[] want = new float[x.length];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < c; o++) {
                for (int r = 0; r < h * b; r++) {
                    for (int s = 0; s < w * b; s++) {
                        int bi = r % b;
                        int bj = s % b;
                        int ch = mode.equals("DCR") ? (bi * b + bj) * c + o : o * b * b + bi * b + bj;
                        want[((i * c + o) * h * b + r) * w * b + s] = x[((i * c * b * b + ch) * h + r / b) * w + s / b];
                    }
                }
            }
        }
        assertClose(y, want, new int[] {n, c, h * b, w * b}, "DepthToSpace " + mode);
        if (mode.equals("DCR")) { // SpaceToDepth is DCR's inverse
            Tensor back = run(13, "SpaceToDepth", List.of(y), List.of(), List.of(), intAttr("blocksize", b));
            assertThat(back.toFloatArray()).containsExactly(x);
            assertThat(back.shape()).containsExactly(n, c * b * b, h, w);
        }
    }

    @Test
    void depthToSpaceRefusesBadBlocksAndShapes() {
        Tensor x = Tensor.of(random(2 * 6 * 2 * 2), 2, 6, 2, 2);
        assertThatThrownBy(() -> run(13, "DepthToSpace", List.of(x), List.of(), List.of(), intAttr("blocksize", 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not divisible by blocksize^2 = 4");
        assertThatThrownBy(() -> run(13, "DepthToSpace", List.of(x), List.of(), List.of(), intAttr("blocksize", 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocksize 0");
        assertThatThrownBy(() -> run(13, "DepthToSpace", List.of(x), List.of(), List.of(), intAttr("blocksize", 1), stringAttr("mode", "XYZ")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mode 'XYZ'");
        assertThatThrownBy(() -> run(13, "SpaceToDepth", List.of(x), List.of(), List.of(), intAttr("blocksize", 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not divisible by blocksize 3");
        assertThatThrownBy(() -> run(13, "SpaceToDepth", List.of(Tensor.of(random(4), 2, 2)), List.of(), List.of(), intAttr("blocksize", 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank-2");
        // a blocksize whose square overflows an int: refused by the divisibility check in long arithmetic
        assertThatThrownBy(() -> run(13, "DepthToSpace", List.of(x), List.of(), List.of(), intAttr("blocksize", 65536)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4294967296");
    }

    // ---- InstanceNormalization ----

    @Test
    void instanceNormalizationMatchesTheSpecIncludingOneSpatialElement() {
        for (int[] shape : new int[][] {{2, 3, 4, 5}, {2, 3, 7}, {1, 2, 1}}) {
            int n = shape[0], c = shape[1];
            int spatial = Arrays.stream(shape).skip(2).reduce(1, (p, q) -> p * q);
            float[] x = random(n * c * spatial);
            float[] scale = random(c);
            float[] bias = random(c);
            float eps = 0.01f;
            Tensor y = run(6, "InstanceNormalization", List.of(Tensor.of(x, shape), Tensor.of(scale, c), Tensor.of(bias, c)), List.of(), List.of(),
                    OnnxHostileGraphTest.floatAttr("epsilon", eps));
            float[] want = new float[x.length];
            for (int i = 0; i < n * c; i++) {
                double mean = 0;
                for (int k = 0; k < spatial; k++) {
                    mean += x[i * spatial + k];
                }
                mean /= spatial;
                double var = 0;
                for (int k = 0; k < spatial; k++) {
                    var += (x[i * spatial + k] - mean) * (x[i * spatial + k] - mean);
                }
                var /= spatial;
                for (int k = 0; k < spatial; k++) {
                    want[i * spatial + k] = (float) ((x[i * spatial + k] - mean) / Math.sqrt(var + eps) * scale[i % c] + bias[i % c]);
                }
            }
            assertClose(y, want, shape, "InstanceNormalization " + Arrays.toString(shape));
        }
        assertThatThrownBy(() -> run(6, "InstanceNormalization", List.of(Tensor.of(random(12), 1, 3, 4), Tensor.of(random(2), 2), Tensor.of(random(3), 3)),
                List.of(), List.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale and B of shape [3]");
    }

    // ---- Upsample (opsets 7-9) ----

    @Test
    void upsampleNearestAndLinearUseAsymmetricCoordinates() {
        int h = 3, w = 4;
        float[] x = random(2 * h * w);
        for (String mode : new String[] {"nearest", "linear"}) {
            float sh = 2, sw = mode.equals("nearest") ? 3 : 2.5f;
            Tensor y7 = run(7, "Upsample", List.of(Tensor.of(x, 1, 2, h, w)), List.of(), List.of(), stringAttr("mode", mode), floatsAttr("scales", 1, 1, sh, sw));
            Tensor y9 = run(9, "Upsample", List.of(Tensor.of(x, 1, 2, h, w)), List.of("s"), List.of(floatInit("s", new long[] {4}, 1, 1, sh, sw)),
                    stringAttr("mode", mode));
            int oh = (int) Math.floor(h * sh);
            int ow = (int) Math.floor(w * sw);
            float[] want = new float[2 * oh * ow];
            for (int p = 0; p < 2; p++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double ci = Math.min(h - 1, i / sh);
                        double cj = Math.min(w - 1, j / sw);
                        float v;
                        if (mode.equals("nearest")) {
                            v = x[p * h * w + (int) Math.floor(ci) * w + (int) Math.floor(cj)];
                        } else {
                            int i0 = (int) Math.floor(ci), j0 = (int) Math.floor(cj);
                            int i1 = Math.min(h - 1, i0 + 1), j1 = Math.min(w - 1, j0 + 1);
                            double fi = ci - i0, fj = cj - j0;
                            v = (float) ((1 - fi) * ((1 - fj) * x[p * h * w + i0 * w + j0] + fj * x[p * h * w + i0 * w + j1])
                                    + fi * ((1 - fj) * x[p * h * w + i1 * w + j0] + fj * x[p * h * w + i1 * w + j1]));
                        }
                        want[(p * oh + i) * ow + j] = v;
                    }
                }
            }
            assertClose(y7, want, new int[] {1, 2, oh, ow}, "Upsample-7 " + mode);
            assertThat(y9.toFloatArray()).as("Upsample-9 " + mode).containsExactly(y7.toFloatArray());
        }
        assertThatThrownBy(() -> run(7, "Upsample", List.of(Tensor.of(x, 1, 2, h, w)), List.of(), List.of(), stringAttr("mode", "cubic"),
                floatsAttr("scales", 1, 1, 2, 2))).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("mode 'cubic'");
        assertThatThrownBy(() -> run(7, "Upsample", List.of(Tensor.of(x, 1, 2, h, w)), List.of(), List.of(), floatsAttr("scales", 1, 1, 1e9f, 1e9f)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> run(7, "Upsample", List.of(Tensor.of(x, 1, 2, h, w)), List.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scales attribute");
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

    // ---- Resize through the fused kernel ----

    /** Resize on [N, C, H, W] runs kernels.Upsample (one plan step) with exactly the bits of resampling H, then W. */
    @ParameterizedTest
    @ValueSource(strings = {"nearest/asymmetric/floor", "nearest/half_pixel/round_prefer_floor", "linear/pytorch_half_pixel/-",
            "linear/align_corners/-", "linear/half_pixel/-"})
    void resizeOfHeightAndWidthTakesTheFusedKernelWithTheSameBits(String spec) {
        String[] p = spec.split("/");
        int h = 5, w = 6;
        float[] x = random(2 * 3 * h * w);
        float sh = 1.6f, sw = 0.7f;
        W[] attrs = p[0].equals("nearest")
                ? new W[] {stringAttr("mode", p[0]), stringAttr("coordinate_transformation_mode", p[1]), stringAttr("nearest_mode", p[2])}
                : new W[] {stringAttr("mode", p[0]), stringAttr("coordinate_transformation_mode", p[1])};
        byte[] m = oneNode(13, "Resize", List.of(Tensor.of(x, 2, 3, h, w)), List.of("", "scales"), List.of(floatInit("scales", new long[] {4}, 1, 1, sh, sw)),
                attrs);
        try (OnnxModel om = OnnxModel.parse(m); InferencePlan plan = om.plan(2, 3, h, w)) {
            assertThat(plan.toString()).contains(p[0].equals("nearest") ? "upsample_nearest2d" : "upsample_bilinear2d");
            Tensor got = plan.run(Tensor.of(x, 2, 3, h, w));
            // the same resize as two single-axis Resizes (the per-axis path: Resample on H, then on W)
            byte[] rows = oneNode(13, "Resize", List.of(Tensor.of(x, 2, 3, h, w)), List.of("", "scales"),
                    List.of(floatInit("scales", new long[] {4}, 1, 1, sh, 1)), attrs);
            Tensor perAxis;
            try (OnnxModel r = OnnxModel.parse(rows)) {
                Tensor t = r.run(Tensor.of(x, 2, 3, h, w)).get(0);
                perAxis = Resample(t, p, w, sw);
            }
            assertThat(got.shape()).containsExactly(perAxis.shape());
            assertThat(got.toFloatArray()).as(spec).containsExactly(perAxis.toFloatArray());
        }
    }

    /** The W axis of a Resize alone, through a rank-3 view (never the fused kernel, which takes [N, C, H, W]). */
    private static Tensor Resample(Tensor t, String[] p, int w, float sw) {
        int[] s = t.shape();
        W[] attrs = p[0].equals("nearest")
                ? new W[] {stringAttr("mode", p[0]), stringAttr("coordinate_transformation_mode", p[1]), stringAttr("nearest_mode", p[2])}
                : new W[] {stringAttr("mode", p[0]), stringAttr("coordinate_transformation_mode", p[1])};
        Tensor flat = Tensor.of(t.toFloatArray(), s[0] * s[1], s[2], w);
        byte[] cols = oneNode(13, "Resize", List.of(flat), List.of("", "scales"), List.of(floatInit("scales", new long[] {3}, 1, 1, sw)), attrs);
        try (OnnxModel c = OnnxModel.parse(cols)) {
            Tensor y = c.run(flat).get(0);
            return y.reshape(s[0], s[1], s[2], y.size(2));
        }
    }

    // ---- Einsum ----

    /** Einsum by its definition: every assignment of the subscripts, the product of the operands summed into the output. */
    private static float[] einsumByLoops(String equation, List<float[]> xs, List<int[]> shapes, int[] outShape) {
        String[] sides = equation.split("->", -1);
        String[] in = sides[0].split(",");
        String out = sides[1];
        Map<Character, Integer> size = new HashMap<>();
        for (int i = 0; i < in.length; i++) {
            for (int d = 0; d < in[i].length(); d++) {
                size.put(in[i].charAt(d), shapes.get(i)[d]);
            }
        }
        List<Character> letters = new ArrayList<>(size.keySet());
        int total = outShape.length == 0 ? 1 : Arrays.stream(outShape).reduce(1, (p, q) -> p * q);
        double[] acc = new double[total];
        int[] at = new int[letters.size()];
        while (true) {
            Map<Character, Integer> v = new HashMap<>();
            for (int k = 0; k < letters.size(); k++) {
                v.put(letters.get(k), at[k]);
            }
            double prod = 1;
            for (int i = 0; i < in.length; i++) {
                int idx = 0;
                for (int d = 0; d < in[i].length(); d++) {
                    idx = idx * shapes.get(i)[d] + v.get(in[i].charAt(d));
                }
                prod *= xs.get(i)[idx];
            }
            int o = 0;
            for (int d = 0; d < out.length(); d++) {
                o = o * outShape[d] + v.get(out.charAt(d));
            }
            acc[o] += prod;
            int k = 0;
            while (k < at.length && ++at[k] == size.get(letters.get(k))) {
                at[k++] = 0;
            }
            if (k == at.length) {
                break;
            }
        }
        float[] r = new float[total];
        for (int i = 0; i < total; i++) {
            r[i] = (float) acc[i];
        }
        return r;
    }

    /** equation | the same without an ellipsis or implicit output (for the loops) | operand shapes | output shape. */
    @ParameterizedTest
    @ValueSource(strings = {"bij,bjk->bik|bij,bjk->bik|2x3x4,2x4x5|2x3x5", "ij,jk->ik|ij,jk->ik|3x4,4x2|3x2",
            "bhid,bhjd->bhij|bhid,bhjd->bhij|2x2x3x4,2x2x5x4|2x2x3x5", "ij->ji|ij->ji|3x4|4x3", "ii->i|ii->i|4x4|4",
            "...ii ->...i|bii->bi|3x5x5|3x5", "i,i|i,i->|5,5|", "ij->i|ij->i|3x4|3", "ij,jk|ij,jk->ik|3x4,4x2|3x2",
            "ba,ca->abc|ba,ca->abc|3x4,2x4|4x3x2", "ij,kl->ijkl|ij,kl->ijkl|2x3,2x2|2x3x2x2", "bij,bkj->b|bij,bkj->b|2x3x4,2x5x4|2",
            "...ij,...jk->...ik|xij,xjk->xik|3x2x3,3x3x2|3x2x2", "iji->j|iji->j|3x2x3|2"})
    void einsumMatchesItsDefinition(String spec) {
        String[] p = spec.split("\\|");
        String[] shapeText = p[2].split(",");
        List<Tensor> inputs = new ArrayList<>();
        List<float[]> xs = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (String st : shapeText) {
            int[] s = Arrays.stream(st.split("x")).mapToInt(Integer::parseInt).toArray();
            float[] x = random(Arrays.stream(s).reduce(1, (a, b) -> a * b));
            xs.add(x);
            shapes.add(s);
            inputs.add(Tensor.of(x, s));
        }
        int[] outShape = p.length < 4 || p[3].isEmpty() ? new int[0] : Arrays.stream(p[3].split("x")).mapToInt(Integer::parseInt).toArray();
        Tensor y = run(12, "Einsum", inputs, List.of(), List.of(), stringAttr("equation", p[0]));
        assertThat(y.shape()).as(p[0]).containsExactly(outShape);
        TestGolden.assertClose(y, Tensor.of(einsumByLoops(p[1], xs, shapes, outShape), outShape.length == 0 ? new int[] {1} : outShape)
                .reshape(outShape), 1e-5, 1e-4, p[0]);
    }

    @Test
    void einsumOfTwoOperandsTracesIntoAPlan() {
        float[] w = random(4 * 3);
        byte[] raw = new byte[w.length * 4];
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(w);
        byte[] m = model(12, List.of(node("Einsum", List.of("x", "w"), List.of("y"), stringAttr("equation", "bij,jk->bki"))),
                List.of(floatInit("w", new long[] {4, 3}, w)), List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 5, 4)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        Tensor x = Tensor.of(random(2 * 5 * 4), 2, 5, 4);
        try (OnnxModel om = OnnxModel.parse(m); InferencePlan plan = om.plan(2, 5, 4)) {
            Tensor eager = om.forward(x);
            assertThat(plan.run(x).toFloatArray()).containsExactly(eager.toFloatArray());
            assertThat(eager.shape()).containsExactly(2, 3, 5);
            TestGolden.assertClose(eager, Tensor.of(einsumByLoops("bij,jk->bki", List.of(x.toFloatArray(), w), List.of(new int[] {2, 5, 4}, new int[] {4, 3}),
                    new int[] {2, 3, 5}), 2, 3, 5), 1e-5, 1e-4, "bij,jk->bki");
        }
    }

    @Test
    void einsumRefusesOtherEquationsAtLoadNamingThem() {
        byte[] three = model(12, List.of(node("Einsum", List.of("a", "b", "c"), List.of("y"), stringAttr("equation", "ij,jk,kl->il"))), List.of(),
                List.of(valueInfo("a", OnnxFormat.FLOAT, 2, 2), valueInfo("b", OnnxFormat.FLOAT, 2, 2), valueInfo("c", OnnxFormat.FLOAT, 2, 2)),
                List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxModel.parse(three)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("'ij,jk,kl->il'");
        byte[] bad = oneNode(12, "Einsum", List.of(Tensor.of(random(4), 2, 2)), List.of(), List.of(), stringAttr("equation", "i1->i"));
        assertThatThrownBy(() -> OnnxModel.parse(bad)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("'i1->i'");
        assertThatThrownBy(() -> run(12, "Einsum", List.of(Tensor.of(random(6), 2, 3), Tensor.of(random(8), 4, 2)), List.of(), List.of(),
                stringAttr("equation", "ij,jk->ik"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("subscript 'j' has sizes 3 and 4");
        assertThatThrownBy(() -> run(12, "Einsum", List.of(Tensor.of(random(6), 2, 3)), List.of(), List.of(), stringAttr("equation", "ijk->i")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit 'ijk'");
        assertThatThrownBy(() -> run(12, "Einsum", List.of(Tensor.of(random(6), 2, 3)), List.of(), List.of(), stringAttr("equation", "ij->iz")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'z' is in no input");
    }
}
