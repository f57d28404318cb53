package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * 1-d convolution layer, like {@code torch.nn.Conv1d}: weight {@code [out, in / groups, K]}, optional bias
 * {@code [out]}, PyTorch's default initialisation, so a PyTorch state dict loads. Input {@code [N, C, L]} or unbatched
 * {@code [C, L]}; runs {@link F#conv1d} (conv2d over views with a height of 1). Padding mode 'zeros'; padding an int
 * or {@code "same"} / {@code "valid"}.
 */
public class Conv1d extends Module {
    public final int inChannels;
    public final int outChannels;
    public final int kernelSize;
    public final int stride;
    public final int padding;
    public final String paddingMode;
    public final int dilation;
    public final int groups;
    public final Tensor weight;
    public final Tensor bias;

    /** {@code Conv1d(in, out, kernel_size)} with stride 1, no padding. */
    public Conv1d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0, null, 1, 1, true);
    }

    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(inChannels, outChannels, kernelSize, stride, padding, null, 1, 1, true);
    }

    /** Every option, in PyTorch's order. */
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias);
    }

    /** With {@code padding = "same"} (stride 1 only) or {@code "valid"}. */
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride, String padding, int dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, 0, padding, dilation, groups, bias);
    }

    private Conv1d(int inChannels, int outChannels, int kernelSize, int stride, int padding, String paddingMode, int dilation, int groups,
                   boolean bias) {
        if (groups <= 0) {
            throw new IllegalArgumentException("groups must be a positive integer, got " + groups);
        }
        if (inChannels % groups != 0) {
            throw new IllegalArgumentException("in_channels must be divisible by groups (" + inChannels + " % " + groups + ")");
        }
        if (outChannels % groups != 0) {
            throw new IllegalArgumentException("out_channels must be divisible by groups (" + outChannels + " % " + groups + ")");
        }
        if (paddingMode != null && !paddingMode.equals("same") && !paddingMode.equals("valid")) {
            throw new IllegalArgumentException("Invalid padding string '" + paddingMode + "', should be one of {'valid', 'same'}");
        }
        if ("same".equals(paddingMode) && stride != 1) {
            throw new IllegalArgumentException("padding='same' is not supported for strided convolutions");
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.paddingMode = paddingMode;
        this.dilation = dilation;
        this.groups = groups;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(outChannels, inChannels / groups, kernelSize));
            this.bias = registerParameter("bias", bias ? Tensor.empty(outChannels) : null);
        }
        resetParameters();
    }

    /** kaiming_uniform_(weight, a=sqrt(5)) and bias uniform in +-1/sqrt(fan_in), as PyTorch does. */
    public void resetParameters() {
        Init.kaimingUniform_(weight, Math.sqrt(5));
        if (bias != null) {
            int fanIn = Init.fans(weight)[0];
            double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
            Init.uniform_(bias, -bound, bound);
        }
    }

    @Override
    public Tensor forward(Tensor input) {
        if (paddingMode != null) {
            return F.conv1d(input, weight, bias, stride, paddingMode, dilation, groups);
        }
        return F.conv1d(input, weight, bias, stride, padding, dilation, groups);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder();
        s.append(inChannels).append(", ").append(outChannels).append(", kernel_size=(").append(kernelSize).append(",), stride=(").append(stride)
                .append(",)");
        if (paddingMode != null) {
            s.append(", padding=").append(paddingMode);
        } else if (padding != 0) {
            s.append(", padding=(").append(padding).append(",)");
        }
        if (dilation != 1) {
            s.append(", dilation=(").append(dilation).append(",)");
        }
        if (groups != 1) {
            s.append(", groups=").append(groups);
        }
        if (bias == null) {
            s.append(", bias=False");
        }
        return s.toString();
    }
}
