package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A multi-layer gated recurrent unit, like {@code torch.nn.GRU(input_size, hidden_size, num_layers, bias, batch_first,
 * dropout, bidirectional)}: per layer and direction the {@link GRUCell} recurrence (gates r, z, n as torch's). See
 * {@link RNNBase} for shapes, parameter names and dropout.
 */
public class GRU extends RNNBase {
    public GRU(int inputSize, int hiddenSize) {
        this(inputSize, hiddenSize, 1, true, false, 0, false);
    }

    public GRU(int inputSize, int hiddenSize, int numLayers) {
        this(inputSize, hiddenSize, numLayers, true, false, 0, false);
    }

    public GRU(int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, double dropout, boolean bidirectional) {
        super(Mode.GRU, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, 0);
    }

    /** torch's {@code gru(input, h_0)}: h0 {@code [numLayers * numDirections, B, H]} ({@code [.., H]} unbatched), null for zeros. */
    public Output forward(Tensor input, Tensor h0) {
        return run(input, h0, null);
    }
}
