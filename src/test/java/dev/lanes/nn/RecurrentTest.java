package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * nn.RNN, LSTM, GRU and the cells against PyTorch 1.13 ({@code golden/rnn.txt} from
 * {@code src/test/python/gen_rnn_golden.py}): torch's state dict is loaded strictly (its keys, in its order, are the
 * module's); the output, h_n and c_n (flattened and concatenated, as the generator does) and the gradients of
 * {@code sum(y * g)} for x, h0, c0 and every parameter are compared. Tolerance 2e-5 absolute and relative.
 */
class RecurrentTest {
    private static final GoldenRows GOLDEN = new GoldenRows("rnn.txt", "src/test/python/gen_rnn_golden.py", 2e-5);

    private static Tensor flat(Tensor... parts) {
        List<Tensor> flat = new ArrayList<>();
        for (Tensor p : parts) {
            if (p != null) {
                flat.add(p.reshape(-1));
            }
        }
        return Tensor.cat(flat, 0);
    }

    private static String[] inputs(String row, String... names) {
        List<String> in = new ArrayList<>();
        for (String n : names) {
            if (GOLDEN.optional(row + "/in/" + n) != null) {
                in.add(n);
            }
        }
        return in.toArray(String[]::new);
    }

    /** A sequence-module row: inputs x and, where the row has them, h0 (and c0). */
    private static void checkSequence(String row, RNNBase m) {
        m.eval();
        try (MemoryScope s = MemoryScope.open()) {
            GOLDEN.check(row, m, inputs(row, "x", "h0", "c0"), in -> {
                RNNBase.Output o = m.run(in.get("x"), in.get("h0"), in.get("c0"));
                assertThat(o.cN() == null).as(row + " c_n only for LSTM").isEqualTo(!(m instanceof LSTM));
                return flat(o.output(), o.hN(), o.cN());
            });
        }
    }

    private static void checkCell(String row, Module m, Function<Map<String, Tensor>, Tensor> fn) {
        try (MemoryScope s = MemoryScope.open()) {
            GOLDEN.check(row, m, inputs(row, "x", "h", "c"), fn);
        }
    }

    @Test
    void rnnMatchesPyTorch() {
        checkSequence("rnn_tanh", new RNN(4, 5));
        checkSequence("rnn_relu_2l_bidir_bf_nobias", new RNN(4, 5, 2, "relu", false, true, 0, true));
        checkSequence("rnn_unbatched_2l_bidir", new RNN(4, 5, 2, "tanh", true, false, 0, true));
    }

    @Test
    void lstmMatchesPyTorch() {
        checkSequence("lstm", new LSTM(4, 5));
        checkSequence("lstm_2l_bidir_bf", new LSTM(4, 5, 2, true, true, 0, true));
        checkSequence("lstm_unbatched_2l", new LSTM(4, 5, 2));
        checkSequence("lstm_unbatched_bf_nohx", new LSTM(4, 5, 1, true, true, 0, false));
        checkSequence("lstm_proj_2l_bidir", new LSTM(4, 6, 2, true, false, 0, true, 3));
        checkSequence("lstm_nobias_bf_nohx", new LSTM(4, 5, 1, false, true, 0, false));
    }

    @Test
    void gruMatchesPyTorch() {
        checkSequence("gru", new GRU(4, 5));
        checkSequence("gru_2l_bidir", new GRU(4, 5, 2, true, false, 0, true));
        checkSequence("gru_unbatched_bf_nobias_nohx", new GRU(4, 5, 1, false, true, 0, false));
        checkSequence("gru_2l_bf_nohx", new GRU(3, 4, 2, true, true, 0, false));
    }

    @Test
    void cellsMatchPyTorch() {
        RNNCell relu = new RNNCell(4, 5, true, "relu");
        checkCell("rnncell_relu", relu, in -> relu.forward(in.get("x"), in.get("h")));
        RNNCell tanh = new RNNCell(4, 5, false, "tanh");
        checkCell("rnncell_unbatched_nobias", tanh, in -> tanh.forward(in.get("x"), in.get("h")));
        LSTMCell lstm = new LSTMCell(4, 5);
        Function<Map<String, Tensor>, Tensor> lstmFn = in -> {
            LSTMCell.State st = lstm.forward(in.get("x"), in.get("h"), in.get("c"));
            return flat(st.h(), st.c());
        };
        checkCell("lstmcell", lstm, lstmFn);
        checkCell("lstmcell_unbatched_nohx", lstm, lstmFn);
        GRUCell gru = new GRUCell(4, 5);
        checkCell("grucell", gru, in -> gru.forward(in.get("x"), in.get("h")));
        checkCell("grucell_nohx", gru, in -> gru.forward(in.get("x")));
        GRUCell gruNoBias = new GRUCell(4, 5, false);
        checkCell("grucell_unbatched_nobias", gruNoBias, in -> gruNoBias.forward(in.get("x"), in.get("h")));
    }

    @Test
    void stateDictKeysShapesReprAndInit() {
        LSTM proj = new LSTM(3, 4, 1, true, false, 0, true, 2);
        assertThat(proj.stateDict().keySet()).containsExactly("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
                "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse");
        assertThat(proj.stateDict().get("weight_hh_l0").shape()).containsExactly(16, 2);
        assertThat(proj.stateDict().get("weight_hr_l0").shape()).containsExactly(2, 4);
        GRU gru = new GRU(3, 4, 2, false, false, 0, true);
        assertThat(gru.stateDict().keySet()).containsExactly("weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                "weight_ih_l1", "weight_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse");
        assertThat(gru.stateDict().get("weight_ih_l1").shape()).containsExactly(12, 8);
        assertThat(new RNNCell(3, 4).stateDict().keySet()).containsExactly("weight_ih", "weight_hh", "bias_ih", "bias_hh");
        assertThat(new LSTMCell(3, 4, false).stateDict().keySet()).containsExactly("weight_ih", "weight_hh");

        // torch 1.13's reprs (RNN's omits its nonlinearity, as torch's does)
        assertThat(new LSTM(10, 20, 2, true, true, 0, true).toString()).isEqualTo("LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)");
        assertThat(new RNN(10, 20, 2, "relu", false, false, 0.5, false).toString()).isEqualTo("RNN(10, 20, num_layers=2, bias=False, dropout=0.5)");
        assertThat(new LSTM(10, 20, 1, true, false, 0, false, 5).toString()).isEqualTo("LSTM(10, 20, proj_size=5)");
        assertThat(new GRU(10, 20).toString()).isEqualTo("GRU(10, 20)");
        assertThat(new RNNCell(3, 4, false, "relu").toString()).isEqualTo("RNNCell(3, 4, bias=False, nonlinearity=relu)");
        assertThat(new LSTMCell(3, 4).toString()).isEqualTo("LSTMCell(3, 4)");
        assertThat(new GRUCell(3, 4, false).toString()).isEqualTo("GRUCell(3, 4, bias=False)");

        // uniform(-1/sqrt(H), 1/sqrt(H)) for every parameter, biases included
        Lanes.manualSeed(3);
        LSTM big = new LSTM(30, 64, 2);
        for (Map.Entry<String, Tensor> e : big.namedParameters().entrySet()) {
            float[] v = e.getValue().toFloatArray();
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            for (float f : v) {
                lo = Math.min(lo, f);
                hi = Math.max(hi, f);
            }
            assertThat(lo).as(e.getKey()).isGreaterThanOrEqualTo(-0.125f).isLessThan(-0.1f);
            assertThat(hi).as(e.getKey()).isLessThanOrEqualTo(0.125f).isGreaterThan(0.1f);
        }
    }

    @Test
    void badShapesAreRefusedWithPyTorchsMessages() {
        LSTM m = new LSTM(3, 4, 2);
        GRU g = new GRU(3, 4);
        LSTMCell c = new LSTMCell(3, 4);
        RNNCell r = new RNNCell(3, 4);
        try (MemoryScope s = MemoryScope.open()) {
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 7))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("input.size(-1) must be equal to input_size. Expected 3, got 7");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 3, 1))).hasMessage("input must have 3 dimensions, got 5");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5))).hasMessage("input must have 3 dimensions, got 2");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 2, 5), Tensor.randn(2, 2, 4)))
                    .hasMessage("Expected hidden[0] size (2, 2, 4), got [2, 2, 5]");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 2, 4), Tensor.randn(1, 2, 4)))
                    .hasMessage("Expected hidden[1] size (2, 2, 4), got [1, 2, 4]");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 3), Tensor.randn(2, 2, 4), Tensor.randn(1, 2, 4)))
                    .hasMessage("For unbatched 2-D input, hx and cx should also be 2-D but got (3-D, 3-D) tensors");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 4), Tensor.randn(1, 2, 4)))
                    .hasMessage("For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D) tensors");
            assertThatThrownBy(() -> m.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 2, 4), null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("together");
            assertThatThrownBy(() -> g.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 2, 4))).hasMessage("Expected hidden size (1, 2, 4), got [2, 2, 4]");
            assertThatThrownBy(() -> g.forward(Tensor.randn(5, 3), Tensor.randn(2, 2, 4)))
                    .hasMessage("For unbatched 2-D input, hx should also be 2-D but got 3-D tensor");
            assertThatThrownBy(() -> g.forward(Tensor.randn(5, 2, 3), Tensor.randn(2, 4)))
                    .hasMessage("For batched 3-D input, hx should also be 3-D but got 2-D tensor");
            assertThatThrownBy(() -> g.forward(Tensor.randn(0, 2, 3))).hasMessage("Expected sequence length to be larger than 0 in RNN");

            assertThatThrownBy(() -> c.forward(Tensor.randn(2, 5))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("input has inconsistent input_size: got 5 expected 3");
            assertThatThrownBy(() -> c.forward(Tensor.randn(2, 3, 1))).hasMessage("LSTMCell: Expected input to be 1-D or 2-D but received 3-D tensor");
            assertThatThrownBy(() -> c.forward(Tensor.randn(2, 3), Tensor.randn(3, 4), Tensor.randn(2, 4)))
                    .hasMessage("Input batch size 2 doesn't match hidden0 batch size 3");
            assertThatThrownBy(() -> c.forward(Tensor.randn(2, 3), Tensor.randn(2, 5), Tensor.randn(2, 4)))
                    .hasMessage("hidden0 has inconsistent hidden_size: got 5, expected 4");
            assertThatThrownBy(() -> c.forward(Tensor.randn(2, 3), Tensor.randn(2, 4), Tensor.randn(2, 5)))
                    .hasMessage("hidden1 has inconsistent hidden_size: got 5, expected 4");
            assertThatThrownBy(() -> r.forward(Tensor.randn(2, 3), Tensor.randn(3, 4))).hasMessage("Input batch size 2 doesn't match hidden0 batch size 3");
            assertThatThrownBy(() -> r.forward(Tensor.randn(3), Tensor.randn(2, 4))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("hidden0").hasMessageContaining("2-D");
        }
        assertThatThrownBy(() -> new GRU(3, 4, 1, true, false, 1.5, false))
                .hasMessage("dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
        assertThatThrownBy(() -> new LSTM(3, 4, 1, true, false, 0, false, 4)).hasMessage("proj_size has to be smaller than hidden_size");
        assertThatThrownBy(() -> new LSTM(3, 4, 1, true, false, 0, false, -1))
                .hasMessage("proj_size should be a positive integer or zero to disable projections");
        assertThatThrownBy(() -> new RNN(3, 4, 1, "gelu", true, false, 0, false)).hasMessage("Unknown nonlinearity 'gelu'");
        assertThatThrownBy(() -> new GRU(3, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hidden_size");
        assertThatThrownBy(() -> new GRU(3, 4, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("num_layers");
    }

    /**
     * Dropout between layers while training only, from Lanes' seed: the same seed gives the same output; eval, or one
     * layer, or p = 0 gives no dropout.
     */
    @Test
    void dropoutBetweenLayersIsSeededAndTrainingOnly() {
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            Lanes.manualSeed(11);
            GRU m = new GRU(4, 8, 3, true, false, 0.5, false);
            Tensor x = Tensor.randn(6, 2, 4);
            Lanes.manualSeed(5);
            float[] a = m.forward(x).toFloatArray();
            Lanes.manualSeed(5);
            float[] b = m.forward(x).toFloatArray();
            assertThat(b).containsExactly(a);
            Lanes.manualSeed(6);
            assertThat(m.forward(x).toFloatArray()).isNotEqualTo(a);
            m.eval();
            float[] eval = m.forward(x).toFloatArray();
            assertThat(eval).isNotEqualTo(a);
            GRU noDrop = new GRU(4, 8, 3);
            noDrop.loadStateDict(m.stateDict());
            assertThat(noDrop.forward(x).toFloatArray()).containsExactly(eval); // training, p = 0
            m.train();
            GRU one = new GRU(4, 8, 1, true, false, 0.5, false); // dropout only between layers: none with one
            GRU oneEval = new GRU(4, 8, 1);
            oneEval.loadStateDict(one.stateDict());
            oneEval.eval();
            assertThat(one.forward(x).toFloatArray()).containsExactly(oneEval.forward(x).toFloatArray());
        }
    }

    /** In eval, RNN / LSTM / GRU trace into an inference plan that gives the eager output. */
    @Test
    void recurrentModulesTraceIntoAPlan() {
        Lanes.manualSeed(17);
        List<RNNBase> ms = List.of(new LSTM(4, 6, 2, true, true, 0.2, true, 3), new GRU(4, 5, 2, true, true, 0, true),
                new RNN(4, 5, 1, "relu", true, true, 0, false));
        for (RNNBase m : ms) {
            m.eval();
            try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
                Tensor x = Tensor.randn(2, 5, 4);
                Function<Tensor, Tensor> f = in -> {
                    RNNBase.Output o = m.run(in, null, null);
                    return flat(o.output(), o.hN(), o.cN());
                };
                try (Tensor want = f.apply(x); dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(f::apply, 2, 5, 4)) {
                    float[] got = new float[want.numel()];
                    plan.run(x.toFloatArray(), got);
                    float[] w = want.toFloatArray();
                    for (int i = 0; i < w.length; i++) {
                        assertThat(Math.abs(got[i] - w[i])).as("%s element %d", m, i).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(w[i]));
                    }
                }
            }
        }
    }

    /** A forward and backward pass inside a scope leaves nothing behind but the parameters' gradients. */
    @Test
    void aForwardPassLeaksNothing() {
        LSTM m = new LSTM(8, 16, 2, true, true, 0.3, true);
        Runnable step = () -> {
            m.zeroGrad();
            try (MemoryScope s = MemoryScope.open()) {
                RNNBase.Output o = m.forward(Tensor.randn(3, 7, 8), Tensor.randn(4, 3, 16), Tensor.randn(4, 3, 16));
                o.output().sum().add(o.hN().sum()).add(o.cN().sum()).backward();
            }
            try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
                m.forward(Tensor.randn(3, 7, 8));
            }
        };
        for (int k = 0; k < 3; k++) {
            step.run();
        }
        long inUse = MemoryPool.global().bytesInUse();
        for (int k = 0; k < 10; k++) {
            step.run();
        }
        assertThat(MemoryPool.global().bytesInUse()).isLessThanOrEqualTo(inUse);
    }

    /** Without a graph a step's gates go back at once: 50 steps leave about their h and c in the caller's scope, not every gate. */
    @Test
    void withoutAGraphOnlyTheStatesOutliveAStep() {
        LSTM m = new LSTM(8, 16);
        Tensor x;
        try (MemoryScope u = MemoryScope.unscoped()) {
            x = Tensor.randn(50, 2, 8);
        }
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            m.forward(x);
            assertThat(s.size()).isLessThanOrEqualTo(2 * 50 + 30);
        }
        try (MemoryScope s = MemoryScope.open()) { // with a graph every step's tensors are the backward's
            m.forward(x);
            assertThat(s.size()).isGreaterThan(5 * 50);
        }
        x.close();
    }
}
