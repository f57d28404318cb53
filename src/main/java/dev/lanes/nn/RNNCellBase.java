package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * What torch's {@code RNNCellBase} holds: {@code weight_ih [gates * H, I]}, {@code weight_hh [gates * H, H]},
 * {@code bias_ih}, {@code bias_hh} (absent with bias=False), registered in that order, all drawn uniform in
 * {@code ±1/sqrt(hidden_size)} as torch's {@code reset_parameters}. Inputs {@code [B, I]} or unbatched {@code [I]},
 * hidden states {@code [B, H]} or {@code [H]}, as torch's.
 */
public abstract class RNNCellBase extends Module {
    public final int inputSize;
    public final int hiddenSize;
    public final boolean bias;
    public final Tensor weightIh;
    public final Tensor weightHh;
    public final Tensor biasIh;
    public final Tensor biasHh;

    RNNCellBase(int inputSize, int hiddenSize, boolean bias, int gates) {
        if (inputSize < 0 || hiddenSize <= 0) {
            throw new IllegalArgumentException(name() + ": input_size must be non-negative and hidden_size positive, got " + inputSize + ", " + hiddenSize);
        }
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.bias = bias;
        try (MemoryScope s = owned()) {
            this.weightIh = registerParameter("weight_ih", Tensor.empty(gates * hiddenSize, inputSize));
            this.weightHh = registerParameter("weight_hh", Tensor.empty(gates * hiddenSize, hiddenSize));
            this.biasIh = registerParameter("bias_ih", bias ? Tensor.empty(gates * hiddenSize) : null);
            this.biasHh = registerParameter("bias_hh", bias ? Tensor.empty(gates * hiddenSize) : null);
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

    String name() {
        return getClass().getSimpleName();
    }

    /** The input as a batch {@code [B, I]} (unsqueezed when 1-D), checked as torch's. */
    final Tensor batchedInput(Tensor input) {
        if (input.dim() != 1 && input.dim() != 2) {
            throw new IllegalArgumentException(name() + ": Expected input to be 1-D or 2-D but received " + input.dim() + "-D tensor");
        }
        if (input.size(-1) != inputSize) {
            throw new IllegalArgumentException("input has inconsistent input_size: got " + input.size(-1) + " expected " + inputSize);
        }
        return input.dim() == 1 ? input.unsqueeze(0) : input;
    }

    /** A hidden state for the batched input {@code x} (zeros when absent), checked as torch's; label 0 is h, 1 is LSTM's c. */
    final Tensor batchedHidden(Tensor hx, Tensor input, Tensor x, int label) {
        if (hx == null) {
            return Tensor.zeros(x.size(0), hiddenSize);
        }
        if (hx.dim() != input.dim()) {
            throw new IllegalArgumentException(name() + ": Expected hidden" + label + " to be " + input.dim() + "-D as the input but received "
                    + hx.dim() + "-D tensor");
        }
        Tensor h = input.dim() == 1 ? hx.unsqueeze(0) : hx;
        if (h.size(0) != x.size(0)) {
            throw new IllegalArgumentException("Input batch size " + x.size(0) + " doesn't match hidden" + label + " batch size " + h.size(0));
        }
        if (h.size(1) != hiddenSize) {
            throw new IllegalArgumentException("hidden" + label + " has inconsistent hidden_size: got " + h.size(1) + ", expected " + hiddenSize);
        }
        return h;
    }

    /** {@code x W_ih^T + b_ih (+ b_hh)}: the input projection. */
    final Tensor inputProjection(Tensor x, boolean withHiddenBias) {
        Tensor xp = F.linear(x, weightIh, biasIh);
        return withHiddenBias && biasHh != null ? xp.add(biasHh) : xp;
    }

    @Override
    public String extraRepr() {
        return inputSize + ", " + hiddenSize + (bias ? "" : ", bias=False");
    }
}
