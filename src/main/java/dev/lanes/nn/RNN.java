package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * An Elman RNN, like {@code torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
 * dropout, bidirectional)}: per layer and direction {@code h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)},
 * act tanh or relu (torch's repr does not show it, nor does this one's). See {@link RNNBase} for shapes, parameter names and dropout.
 */
public class RNN extends RNNBase {
    public final String nonlinearity;

    public RNN(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, 1, "tanh", true, false, 0, false);
    }

    public RNN(int inputSize, int hiddenSize, int numLayers) {
        this(inputSize, hiddenSize, numLayers, "tanh", true, false, 0, false);
    }

    /** @param nonlinearity "tanh" or "relu" */
    public RNN(int inputSize, int hiddenSize, int numLayers, String nonlinearity, boolean bias, boolean batchFirst, double dropout,
               boolean bidirectional) {
        super(mode(nonlinearity), inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, 0);
        this.nonlinearity = nonlinearity;
    }

    private static Mode mode(String nonlinearity) {
        if ("tanh".equals(nonlinearity)) {
            return Mode.RNN_TANH;
        }
        if ("relu".equals(nonlinearity)) {
            return Mode.RNN_RELU;
        }
        throw new IllegalArgumentException("Unknown nonlinearity '" + nonlinearity + "'");
    }

    /** torch's {@code rnn(input, h_0)}: h0 {@code [numLayers * numDirections, B, H]} ({@code [.., H]} unbatched), null for zeros. */
    public Output forward(Tensor input, Tensor h0) {
        return run(input, h0, null);
    }
}
