package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A gated recurrent unit, like {@code torch.nn.GRUCell}: gates in torch's order r, z, n;
 * {@code r = σ(W_ir x + b_ir + W_hr h + b_hr)}, {@code z = σ(W_iz x + b_iz + W_hz h + b_hz)},
 * {@code n = tanh(W_in x + b_in + r (W_hn h + b_hn))}, {@code h' = (1 - z) n + z h}.
 */
public class GRUCell extends RNNCellBase {
    public GRUCell(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, true);
    }

    public GRUCell(int inputSize, int hiddenSize, boolean bias) {
        super(inputSize, hiddenSize, bias, 3);
    }

    /** From a zero hidden state. */
    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /** {@code input [B, I]} or {@code [I]}, {@code hx [B, H]} or {@code [H]} (null: zeros); returns h'. */
    public Tensor forward(Tensor input, Tensor hx) {
        Tensor x = batchedInput(input);
        Tensor h = batchedHidden(hx, input, x, 0);
        Tensor h1 = Recurrent.gruStep(inputProjection(x, false), h, weightHh, biasHh);
        return input.dim() == 1 ? h1.squeeze(0) : h1;
    }
}
