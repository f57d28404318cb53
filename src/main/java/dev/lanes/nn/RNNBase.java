package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;
import java.util.ArrayList;
import java.util.List;

/**
 * What torch's {@code RNNBase} holds and runs, for {@link RNN}, {@link LSTM} and {@link GRU}: {@code num_layers}
 * stacked layers, one or two directions each, parameters named and registered as torch's
 * ({@code weight_ih_l{k}[_reverse]}, {@code weight_hh_l{k}[_reverse]}, {@code bias_ih_l{k}[_reverse]},
 * {@code bias_hh_l{k}[_reverse]}, and LSTM's {@code weight_hr_l{k}[_reverse]}, layer by layer, forward direction
 * first), so a torch state dict loads as it is; all drawn uniform in {@code ±1/sqrt(hidden_size)}.
 *
 * <p>Inputs are {@code [L, B, I]} ({@code [B, L, I]} when {@code batchFirst}) or unbatched {@code [L, I]}; hidden
 * states {@code [numLayers * numDirections, B, H]} ({@code [.., H]} unbatched), whatever batchFirst is. Each layer
 * and direction projects the whole sequence's input with one GEMM (as cuDNN and PyTorch do); each step then costs one
 * GEMM on the hidden state, with the projected input as its addend; without a graph (no_grad) a step's gates are
 * released as soon as its h (and c) are made. Between layers, while training, the outputs pass
 * through dropout (Lanes' seeded generator). Everything a forward pass makes belongs to the caller's
 * {@link MemoryScope}, as with every module.
 */
public abstract class RNNBase extends Module {
    /** torch's {@code (output, h_n)} or, for LSTM, {@code (output, (h_n, c_n))}; {@code cN} is null but for LSTM. */
    public record Output(Tensor output, Tensor hN, Tensor cN) {
    }

    enum Mode {
        RNN_TANH(1), RNN_RELU(1), LSTM(4), GRU(3);

        final int gates;

        Mode(int gates) {
            this.gates = gates;
        }
    }

    final Mode mode;
    public final int inputSize;
    public final int hiddenSize;
    public final int numLayers;
    public final boolean bias;
    public final boolean batchFirst;
    public final double dropout;
    public final boolean bidirectional;
    /** LSTM's projection size; 0 (none) for the others. */
    public final int projSize;
    private final Tensor[] wIh;
    private final Tensor[] wHh;
    private final Tensor[] bIh;
    private final Tensor[] bHh;
    private final Tensor[] wHr;

    RNNBase(Mode mode, int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, double dropout, boolean bidirectional,
            int projSize) {
        if (!(dropout >= 0 && dropout <= 1)) {
            throw new IllegalArgumentException("dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
        }
        if (inputSize < 0) {
            throw new IllegalArgumentException("input_size must be non-negative, got " + inputSize);
        }
        if (hiddenSize <= 0) {
            throw new IllegalArgumentException("hidden_size must be greater than zero, got " + hiddenSize);
        }
        if (numLayers <= 0) {
            throw new IllegalArgumentException("num_layers must be greater than zero, got " + numLayers);
        }
        if (projSize < 0) {
            throw new IllegalArgumentException("proj_size should be a positive integer or zero to disable projections");
        }
        if (projSize >= hiddenSize) {
            throw new IllegalArgumentException("proj_size has to be smaller than hidden_size");
        }
        this.mode = mode;
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.numLayers = numLayers;
        this.bias = bias;
        this.batchFirst = batchFirst;
        this.dropout = dropout;
        this.bidirectional = bidirectional;
        this.projSize = projSize;
        int dirs = numDirections();
        int n = numLayers * dirs;
        wIh = new Tensor[n];
        wHh = new Tensor[n];
        bIh = new Tensor[n];
        bHh = new Tensor[n];
        wHr = new Tensor[n];
        int gateSize = mode.gates * hiddenSize;
        int realHidden = realHiddenSize();
        try (MemoryScope s = owned()) {
            for (int layer = 0; layer < numLayers; layer++) {
                for (int dir = 0; dir < dirs; dir++) {
                    int k = layer * dirs + dir;
                    int layerInput = layer == 0 ? inputSize : realHidden * dirs;
                    String sfx = "_l" + layer + (dir == 1 ? "_reverse" : "");
                    wIh[k] = registerParameter("weight_ih" + sfx, Tensor.empty(gateSize, layerInput));
                    wHh[k] = registerParameter("weight_hh" + sfx, Tensor.empty(gateSize, realHidden));
                    if (bias) {
                        bIh[k] = registerParameter("bias_ih" + sfx, Tensor.empty(gateSize));
                        bHh[k] = registerParameter("bias_hh" + sfx, Tensor.empty(gateSize));
                    }
                    if (projSize > 0) {
                        wHr[k] = registerParameter("weight_hr" + sfx, Tensor.empty(projSize, hiddenSize));
                    }
                }
            }
        }
        resetParameters();
    }

    /** Every parameter uniform in ±1/sqrt(hidden_size), in registration order, as torch's. */
    public void resetParameters() {
        double stdv = 1 / Math.sqrt(hiddenSize);
        for (Tensor p : parameters()) {
            Init.uniform_(p, -stdv, stdv);
        }
    }

    public final int numDirections() {
        return bidirectional ? 2 : 1;
    }

    /** The size of h: projSize if there is a projection, else hiddenSize. */
    final int realHiddenSize() {
        return projSize > 0 ? projSize : hiddenSize;
    }

    /** The output sequence alone, from zero initial states. */
    @Override
    public Tensor forward(Tensor input) {
        return run(input, null, null).output();
    }

    /** torch's forward: checks as torch's (its messages), then the layers. {@code cx} only for LSTM. */
    final Output run(Tensor input, Tensor hx, Tensor cx) {
        String name = getClass().getSimpleName();
        boolean lstm = mode == Mode.LSTM;
        boolean batched = input.dim() == 3;
        int batchDim = batchFirst ? 0 : 1;
        Tensor x = batched ? input : input.unsqueeze(batchDim);
        if (hx != null) {
            int want = batched ? 3 : 2;
            if (lstm && (hx.dim() != want || cx.dim() != want)) {
                throw new IllegalArgumentException("For " + (batched ? "batched 3-D" : "unbatched 2-D") + " input, hx and cx should also be " + want
                        + "-D but got (" + hx.dim() + "-D, " + cx.dim() + "-D) tensors");
            }
            if (!lstm && hx.dim() != want) {
                throw new IllegalArgumentException("For " + (batched ? "batched 3-D" : "unbatched 2-D") + " input, hx should also be " + want + "-D but got "
                        + hx.dim() + "-D tensor");
            }
            if (!batched) {
                hx = hx.unsqueeze(1);
                cx = lstm ? cx.unsqueeze(1) : null;
            }
        }
        if (x.dim() != 3) {
            throw new IllegalArgumentException("input must have 3 dimensions, got " + x.dim());
        }
        if (x.size(-1) != inputSize) {
            throw new IllegalArgumentException("input.size(-1) must be equal to input_size. Expected " + inputSize + ", got " + x.size(-1));
        }
        int dirs = numDirections();
        int batch = x.size(batchDim);
        int[] hShape = {numLayers * dirs, batch, realHiddenSize()};
        int[] cShape = {numLayers * dirs, batch, hiddenSize};
        if (hx == null) {
            hx = Tensor.zeros(hShape);
            cx = lstm ? Tensor.zeros(cShape) : null;
        } else {
            checkHidden(hx, hShape, lstm ? "hidden[0]" : "hidden");
            if (lstm) {
                checkHidden(cx, cShape, "hidden[1]");
            }
        }
        if (x.size(batchFirst ? 1 : 0) == 0) {
            throw new IllegalArgumentException("Expected sequence length to be larger than 0 in RNN");
        }
        Tensor layerInput = batchFirst ? x.transpose(0, 1).contiguous() : x; // time-major [T, B, I]
        List<Tensor> hN = new ArrayList<>();
        List<Tensor> cN = new ArrayList<>();
        for (int layer = 0; layer < numLayers; layer++) {
            Tensor[] outs = new Tensor[dirs];
            for (int dir = 0; dir < dirs; dir++) {
                int k = layer * dirs + dir;
                // one GEMM over all steps; RNN and LSTM fold b_hh in here, GRU keeps it inside r * (W_hn h + b_hn)
                Tensor xp = F.linear(layerInput, wIh[k], bIh[k]);
                if (mode != Mode.GRU && bHh[k] != null) {
                    xp = xp.add(bHh[k]);
                }
                Tensor h0 = hx.select(0, k);
                boolean reverse = dir == 1;
                Tensor[] ys = switch (mode) {
                    case RNN_TANH, RNN_RELU -> Recurrent.rnnLayer(xp, h0, wHh[k], mode == Mode.RNN_RELU, reverse);
                    case GRU -> Recurrent.gruLayer(xp, h0, wHh[k], bHh[k], true, reverse);
                    case LSTM -> Recurrent.lstmLayer(xp, h0, cx.select(0, k), wHh[k], wHr[k], null, reverse);
                };
                outs[dir] = ys[0];
                Tensor h = ys[1];
                Tensor c = ys[2];
                hN.add(h);
                cN.add(c);
            }
            Tensor out = dirs == 1 ? outs[0] : Tensor.cat(outs, 2);
            if (dropout > 0 && isTraining() && layer < numLayers - 1) {
                out = out.dropout(dropout, true);
            }
            layerInput = out;
        }
        Tensor output = batchFirst ? layerInput.transpose(0, 1) : layerInput;
        Tensor h = Tensor.stack(hN, 0);
        Tensor c = lstm ? Tensor.stack(cN, 0) : null;
        if (!batched) {
            output = output.squeeze(batchDim);
            h = h.squeeze(1);
            c = lstm ? c.squeeze(1) : null;
        }
        return new Output(output, h, c);
    }

    private static void checkHidden(Tensor t, int[] want, String what) {
        if (!java.util.Arrays.equals(t.shape(), want)) {
            throw new IllegalArgumentException("Expected " + what + " size (" + want[0] + ", " + want[1] + ", " + want[2] + "), got "
                    + java.util.Arrays.toString(t.shape()));
        }
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder(inputSize + ", " + hiddenSize);
        if (projSize != 0) {
            s.append(", proj_size=").append(projSize);
        }
        if (numLayers != 1) {
            s.append(", num_layers=").append(numLayers);
        }
        if (!bias) {
            s.append(", bias=False");
        }
        if (batchFirst) {
            s.append(", batch_first=True");
        }
        if (dropout != 0) {
            s.append(", dropout=").append(Repr.pyFloat(dropout));
        }
        if (bidirectional) {
            s.append(", bidirectional=True");
        }
        return s.toString();
    }
}
