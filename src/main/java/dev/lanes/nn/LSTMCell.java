package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A long short-term memory cell, like {@code torch.nn.LSTMCell}: gates in torch's order i, f, g, o;
 * {@code c' = σ(f) c + σ(i) tanh(g)}, {@code h' = σ(o) tanh(c')}.
 */
public class LSTMCell extends RNNCellBase {
    /** The next hidden and cell state, torch's {@code (h_1, c_1)}. */
    public record State(Tensor h, Tensor c) {
    }

    public LSTMCell(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, true);
    }

    public LSTMCell(int inputSize, int hiddenSize, boolean bias) {
        super(inputSize, hiddenSize, bias, 4);
    }

    /** h' from zero states (c' is dropped: {@link #forward(Tensor, Tensor, Tensor)} gives both). */
    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null, null).h();
    }

    /**
     * {@code input [B, I]} or {@code [I]}; {@code hx} and {@code cx} {@code [B, H]} or {@code [H]}, both or neither
     * (zeros); returns (h', c').
     */
    public State forward(Tensor input, Tensor hx, Tensor cx) {
        if ((hx == null) != (cx == null)) {
            throw new IllegalArgumentException("LSTMCell: hx and cx must be given together (or neither, for zeros)");
        }
        Tensor x = batchedInput(input);
        Tensor h = batchedHidden(hx, input, x, 0);
        Tensor c = batchedHidden(cx, input, x, 1);
        Tensor[] hc = Recurrent.lstmStep(inputProjection(x, true), h, c, weightHh, null);
        return input.dim() == 1 ? new State(hc[0].squeeze(0), hc[1].squeeze(0)) : new State(hc[0], hc[1]);
    }
}
