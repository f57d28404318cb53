package dev.lanes.io.onnx;

import static dev.lanes.io.onnx.OnnxHostileGraphTest.intAttr;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.model;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.node;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.stringAttr;
import static dev.lanes.io.onnx.OnnxHostileGraphTest.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.io.onnx.OnnxHostileGraphTest.W;
import dev.lanes.nn.GRU;
import dev.lanes.nn.LSTM;
import dev.lanes.nn.RNN;
import dev.lanes.nn.RNNBase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ONNX's LSTM, GRU and RNN operators against Lanes' own nn.LSTM, nn.GRU and nn.RNN (checked against torch by
 * RecurrentTest): a module's parameters written into an ONNX node in ONNX's gate order (LSTM i, o, f, c; GRU z, r, h),
 * every output (Y, Y_h, Y_c) compared, in both layouts, in each direction, eagerly and as a plan; and hostile or
 * unsupported nodes refused with the node named. (ONNX's own cases, incl. GRU's default linear_before_reset = 0 and
 * LSTM's peepholes, run in OnnxConformanceTest; PyTorch's exports in OnnxModelTest.)
 */
class OnnxRecurrentTest {
    static final int[] LSTM_ORDER = {0, 2, 3, 1};
    static final int[] GRU_ORDER = {1, 0, 2};

    /** A float32 initializer holding {@code v}, of the given dims. */
    static W floatInit(String name, float[] v, long... dims) {
        W t = new W();
        for (long d : dims) {
            t.varint(1, d);
        }
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            raw.putFloat(f);
        }
        return t.varint(2, OnnxFormat.FLOAT).str(8, name).bytes(9, raw.array());
    }

    static W strings(String name, String... v) {
        W a = new W().str(1, name).varint(20, OnnxFormat.ATTR_STRINGS);
        for (String s : v) {
            a.bytes(9, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return a;
    }

    /** torch's [G*H, ...] tensors of the given directions, concatenated with their gate blocks moved to ONNX's places. */
    static float[] onnxOrder(List<Tensor> perDirection, int gates, int[] order) {
        List<Float> out = new ArrayList<>();
        for (Tensor t : perDirection) {
            float[] v = t.contiguous().toFloatArray();
            int block = v.length / gates;
            float[] o = new float[v.length];
            for (int j = 0; j < gates; j++) {
                System.arraycopy(v, j * block, o, order[j] * block, block); // torch's block j is ONNX's block order[j]
            }
            for (float f : o) {
                out.add(f);
            }
        }
        float[] r = new float[out.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = out.get(i);
        }
        return r;
    }

    /**
     * A one-layer module as one ONNX node: X (the graph's input, [T, B, I] or [B, T, I] with layout 1) and the
     * module's weights of directions {@code dirs} ("" and/or "_reverse") as initializers; outputs Y, Y_h (and Y_c).
     */
    static byte[] asOnnx(String op, RNNBase m, int gates, int[] order, int layout, String direction, List<String> dirs, int t, int b, W... extra) {
        Map<String, Tensor> p = m.namedParameters();
        List<Tensor> w = new ArrayList<>();
        List<Tensor> r = new ArrayList<>();
        List<Tensor> bias = new ArrayList<>();
        for (String d : dirs) {
            w.add(p.get("weight_ih_l0" + d));
            r.add(p.get("weight_hh_l0" + d));
            bias.add(p.get("bias_ih_l0" + d));
            bias.add(p.get("bias_hh_l0" + d)); // per direction: W's bias then R's, each [G*H]
        }
        int h = m.hiddenSize;
        int in = m.inputSize;
        int n = dirs.size();
        List<String> outs = op.equals("LSTM") ? List.of("Y", "Y_h", "Y_c") : List.of("Y", "Y_h");
        List<W> attrs = new ArrayList<>(List.of(intAttr("hidden_size", h), stringAttr("direction", direction), intAttr("layout", layout)));
        attrs.addAll(List.of(extra));
        List<W> outputs = new ArrayList<>();
        for (String o : outs) {
            outputs.add(valueInfo(o, OnnxFormat.FLOAT));
        }
        return model(14, List.of(node(op, List.of("X", "W", "R", "B"), outs, attrs.toArray(W[]::new))),
                List.of(floatInit("W", onnxOrder(w, gates, order), n, (long) gates * h, in), floatInit("R", onnxOrder(r, gates, order), n, (long) gates * h, h),
                        floatInit("B", onnxOrder(bias, gates, order), n, 2L * gates * h)),
                List.of(layout == 0 ? valueInfo("X", OnnxFormat.FLOAT, t, b, in) : valueInfo("X", OnnxFormat.FLOAT, b, t, in)), outputs);
    }

    /** ONNX's Y [T, dirs, B, H] from a module's output [T, B, dirs * H] (both directions side by side, as torch's). */
    static Tensor onnxY(Tensor out, int dirs) {
        int[] s = out.shape();
        return out.reshape(s[0], s[1], dirs, s[2] / dirs).permute(0, 2, 1, 3).contiguous();
    }

    @Test
    void bidirectionalLstmMatchesNnLstmInBothLayouts() {
        Lanes.manualSeed(21);
        LSTM lstm = new LSTM(5, 6, 1, true, false, 0, true);
        int t = 4;
        int b = 3;
        Tensor x = Tensor.randn(t, b, 5);
        RNNBase.Output want = lstm.forward(x, null, null);
        Tensor wantY = onnxY(want.output(), 2);
        for (int layout = 0; layout <= 1; layout++) {
            byte[] graph = asOnnx("LSTM", lstm, 4, LSTM_ORDER, layout, "bidirectional", List.of("", "_reverse"), t, b);
            Tensor input = layout == 0 ? x : x.transpose(0, 1).contiguous();
            try (OnnxModel m = OnnxModel.parse(graph)) {
                List<Tensor> got = m.run(input);
                TestGolden.assertClose(layout == 0 ? got.get(0) : got.get(0).permute(1, 2, 0, 3), wantY, 1e-6, 1e-5, "Y, layout " + layout);
                TestGolden.assertClose(layout == 0 ? got.get(1) : got.get(1).transpose(0, 1), want.hN(), 1e-6, 1e-5, "Y_h, layout " + layout);
                TestGolden.assertClose(layout == 0 ? got.get(2) : got.get(2).transpose(0, 1), want.cN(), 1e-6, 1e-5, "Y_c, layout " + layout);
                try (InferencePlan plan = m.plan(input.shape())) { // the plan computes the first output, Y
                    TestGolden.assertClose(plan.run(input), got.get(0), 1e-6, 1e-5, "plan, layout " + layout);
                }
            }
        }
    }

    /** direction = reverse alone is the reverse half of a bidirectional module (torch has no reverse-only layer). */
    @Test
    void reverseGruAndRnnMatchTheModulesReverseHalf() {
        Lanes.manualSeed(22);
        int t = 5;
        int b = 2;
        Tensor x = Tensor.randn(t, b, 3);
        GRU gru = new GRU(3, 4, 1, true, false, 0, true);
        RNN rnn = new RNN(3, 4, 1, "relu", true, false, 0, true);
        RNNBase.Output gw = gru.forward(x, null);
        RNNBase.Output rw = rnn.forward(x, null);
        // torch's GRU is ONNX's linear_before_reset = 1; ONNX's RNN takes Relu through activations
        byte[] g = asOnnx("GRU", gru, 3, GRU_ORDER, 0, "reverse", List.of("_reverse"), t, b, intAttr("linear_before_reset", 1));
        byte[] r = asOnnx("RNN", rnn, 1, new int[] {0}, 0, "reverse", List.of("_reverse"), t, b, strings("activations", "Relu"));
        try (OnnxModel gm = OnnxModel.parse(g); OnnxModel rm = OnnxModel.parse(r)) {
            List<Tensor> go = gm.run(x);
            TestGolden.assertClose(go.get(0), onnxY(gw.output(), 2).narrow(1, 1, 1), 1e-6, 1e-5, "GRU Y");
            TestGolden.assertClose(go.get(1), gw.hN().narrow(0, 1, 1), 1e-6, 1e-5, "GRU Y_h");
            List<Tensor> ro = rm.run(x);
            TestGolden.assertClose(ro.get(0), onnxY(rw.output(), 2).narrow(1, 1, 1), 1e-6, 1e-5, "RNN Y");
            TestGolden.assertClose(ro.get(1), rw.hN().narrow(0, 1, 1), 1e-6, 1e-5, "RNN Y_h");
            try (InferencePlan plan = gm.plan(t, b, 3)) {
                TestGolden.assertClose(plan.run(x), go.get(0), 1e-6, 1e-5, "GRU plan");
            }
        }
    }

    /** A forward GRU with ONNX's default linear_before_reset = 0 differs from torch's form, and is not torch's result. */
    @Test
    void gruWithoutLinearBeforeResetIsOnnxsFormNotTorchs() {
        Lanes.manualSeed(23);
        GRU gru = new GRU(3, 4);
        Tensor x = Tensor.randn(3, 2, 3);
        RNNBase.Output torchForm = gru.forward(x, null);
        byte[] g = asOnnx("GRU", gru, 3, GRU_ORDER, 0, "forward", List.of(""), 3, 2);
        try (OnnxModel m = OnnxModel.parse(g)) {
            Tensor y = m.run(x).get(1).squeeze(0);
            // ONNX's form by hand on the last step: n = tanh(W_n x + b_Wn + (r h) R_n^T + b_Rn)
            Map<String, Tensor> p = gru.namedParameters();
            Tensor h = Tensor.zeros(2, 4);
            for (int s = 0; s < 3; s++) {
                Tensor gi = dev.lanes.nn.functional.F.linear(x.select(0, s), p.get("weight_ih_l0"), p.get("bias_ih_l0"));
                Tensor gh = dev.lanes.nn.functional.F.linear(h, p.get("weight_hh_l0"), p.get("bias_hh_l0"));
                Tensor rr = gi.narrow(1, 0, 4).add(gh.narrow(1, 0, 4)).sigmoid();
                Tensor z = gi.narrow(1, 4, 4).add(gh.narrow(1, 4, 4)).sigmoid();
                Tensor n = gi.narrow(1, 8, 4).add(dev.lanes.nn.functional.F.linear(rr.mul(h), p.get("weight_hh_l0").narrow(0, 8, 4),
                        p.get("bias_hh_l0").narrow(0, 8, 4))).tanh();
                h = n.add(z.mul(h.sub(n)));
            }
            TestGolden.assertClose(y, h, 1e-6, 1e-5, "linear_before_reset = 0");
            assertThat(y.sub(torchForm.hN().squeeze(0)).abs().max().item()).as("differs from torch's form").isGreaterThan(1e-4f);
        }
    }

    private static byte[] lstmNode(long hidden, long wRows, long wCols, long[] xDims, W... attrs) {
        return model(14, List.of(node("LSTM", List.of("X", "W", "R"), List.of("Y"), attrs)),
                List.of(OnnxHostileGraphTest.onesInit("W", 1, wRows, wCols), OnnxHostileGraphTest.onesInit("R", 1, wRows, hidden)),
                List.of(valueInfo("X", OnnxFormat.FLOAT, xDims)), List.of(valueInfo("Y", OnnxFormat.FLOAT)));
    }

    @Test
    void hostileAndUnsupportedRecurrentNodesAreRefusedNamingTheNode() {
        // hidden_size against W's and R's shapes, at load (before anything of that size is made)
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, intAttr("hidden_size", 4))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LSTM").hasMessageContaining("do not fit hidden_size 4");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, intAttr("hidden_size", 1L << 30))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("do not fit hidden_size 1073741824");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, intAttr("hidden_size", 1L << 40))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hidden_size");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, intAttr("hidden_size", -3))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hidden_size -3 must be positive");
        // features that Lanes does not run: refused at load as unsupported, the node and the reason named
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, OnnxHostileGraphTest.floatAttr("clip", 1f))))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("LSTM").hasMessageContaining("clip");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, intAttr("input_forget", 1))))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("input_forget");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, strings("activations", "Sigmoid", "Relu", "Tanh"))))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("activations [Sigmoid, Relu, Tanh]");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, stringAttr("direction", "sideways"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("direction 'sideways'");
        assertThatThrownBy(() -> OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 2}, stringAttr("direction", "bidirectional"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 direction(s)");
        // sequences of different lengths, at load when sequence_lens is an initializer
        byte[] lens = model(14, List.of(node("RNN", List.of("X", "W", "R", "", "L"), List.of("Y"), intAttr("hidden_size", 3))),
                List.of(OnnxHostileGraphTest.onesInit("W", 1, 3, 2), OnnxHostileGraphTest.onesInit("R", 1, 3, 3),
                        OnnxHostileGraphTest.int64Init("L", new long[] {2}, 2, 1)),
                List.of(valueInfo("X", OnnxFormat.FLOAT, 2, 2, 2)), List.of(valueInfo("Y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxModel.parse(lens)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("RNN")
                .hasMessageContaining("sequence_lens [2, 1]");
        // wrong ranks and sizes when the node runs
        try (OnnxModel m = OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 2}, intAttr("hidden_size", 3))); Tensor x = Tensor.randn(2, 2)) {
            assertThatThrownBy(() -> m.run(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LSTM").hasMessageContaining("must be 3-d");
        }
        try (OnnxModel m = OnnxModel.parse(lstmNode(3, 12, 2, new long[] {2, 1, 5}, intAttr("hidden_size", 3))); Tensor x = Tensor.randn(2, 1, 5)) {
            assertThatThrownBy(() -> m.run(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has 5 features, W [1, 12, 2] takes 2");
        }
        byte[] badState = model(14, List.of(node("GRU", List.of("X", "W", "R", "", "", "H0"), List.of("Y"), intAttr("hidden_size", 3))),
                List.of(OnnxHostileGraphTest.onesInit("W", 1, 9, 2), OnnxHostileGraphTest.onesInit("R", 1, 9, 3), OnnxHostileGraphTest.onesInit("H0", 1, 2, 4)),
                List.of(valueInfo("X", OnnxFormat.FLOAT, 2, 2, 2)), List.of(valueInfo("Y", OnnxFormat.FLOAT)));
        try (OnnxModel m = OnnxModel.parse(badState); Tensor x = Tensor.randn(2, 2, 2)) {
            assertThatThrownBy(() -> m.run(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("initial_h [1, 2, 4] must be [1, 2, 3]");
        }
    }
}
