package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A multi-layer long short-term memory network, like {@code torch.nn.LSTM(input_size, hidden_size, num_layers, bias,
 * batch_first, dropout, bidirectional, proj_size)}: per layer and direction the {@link LSTMCell} recurrence (gates
 * i, f, g, o as torch's); with {@code projSize > 0} each h is projected by {@code weight_hr_l{k} [projSize, H]}, so
 * h, the outputs and h_n have projSize features (c_n keeps H). See {@link RNNBase} for shapes, parameter names and
 * dropout.
 */
public class LSTM extends RNNBase {
    public LSTM(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, 1, true, false, 0, false, 0);
    }

    public LSTM(int inputSize, int hiddenSize, int numLayers) {
        this(inputSize, hiddenSize, numLayers, true, false, 0, false, 0);
    }

    public LSTM(int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, double dropout, boolean bidirectional) {
        this(inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, 0);
    }

    public LSTM(int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, double dropout, boolean bidirectional, int projSize) {
        super(Mode.LSTM, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, projSize);
    }

    /**
     * torch's {@code lstm(input, (h_0, c_0))}: both or neither (zeros); h0 {@code [numLayers * numDirections, B,
     * projSize or H]}, c0 {@code [numLayers * numDirections, B, H]} ({@code [.., H]} unbatched). Returns output, h_n, c_n.
     */
    public Output forward(Tensor input, Tensor h0, Tensor c0) {
        if ((h0 == null) != (c0 == null)) {
            throw new IllegalArgumentException("LSTM: h0 and c0 must be given together (or neither, for zeros)");
        }
        return run(input, h0, c0);
    }
}
