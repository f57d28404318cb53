package dev.lanes.nn;

import dev.lanes.Tensor;

/** {@code h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)}, act tanh or relu, like {@code torch.nn.RNNCell}. */
public class RNNCell extends RNNCellBase {
    public final String nonlinearity;

    public RNNCell(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, true, "tanh");
    }

    /** @param nonlinearity "tanh" or "relu" */
    public RNNCell(int inputSize, int hiddenSize, boolean bias, String nonlinearity) {
        super(inputSize, hiddenSize, bias, 1);
        if (!"tanh".equals(nonlinearity) && !"relu".equals(nonlinearity)) {
            throw new IllegalArgumentException("Unknown nonlinearity: " + nonlinearity);
        }
        this.nonlinearity = nonlinearity;
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
        Tensor h1 = Recurrent.rnnStep(inputProjection(x, true), h, weightHh, "relu".equals(nonlinearity));
        return input.dim() == 1 ? h1.squeeze(0) : h1;
    }

    @Override
    public String extraRepr() {
        return super.extraRepr() + ("tanh".equals(nonlinearity) ? "" : ", nonlinearity=" + nonlinearity);
    }
}
