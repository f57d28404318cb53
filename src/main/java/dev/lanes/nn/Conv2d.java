package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * 2-d convolution layer, like {@code torch.nn.Conv2d}: weight {@code [out, in / groups, kH, kW]}, optional bias,
 * PyTorch's default initialisation. Input must be batched {@code [N, C, H, W]}.
 */
public class Conv2d extends Module {
    public final int inChannels;
    public final int outChannels;
    public final int[] kernelSize;
    public final int[] stride;
    public final int[] padding;
    public final String paddingMode;
    public final int[] dilation;
    public final int groups;
    public final Tensor weight;
    public final Tensor bias;

    /** {@code Conv2d(in, out, kernel_size)} with stride 1, no padding. */
    public Conv2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, new int[] {kernelSize}, new int[] {1}, new int[] {0}, new int[] {1}, 1, true);
    }

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(inChannels, outChannels, new int[] {kernelSize}, new int[] {stride}, new int[] {padding}, new int[] {1}, 1, true);
    }

    /** Every option; each int[] is one int or a pair. */
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias);
    }

    /** With {@code padding = "same"} or {@code "valid"}. */
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, String padding, int[] dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, null, padding, dilation, groups, bias);
    }

    private Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, String paddingMode, int[] dilation,
                   int groups, boolean bias) {
        if (groups <= 0) {
            throw new IllegalArgumentException("groups must be a positive integer, got " + groups);
        }
        if (inChannels % groups != 0) {
            throw new IllegalArgumentException("in_channels must be divisible by groups (" + inChannels + " % " + groups + ")");
        }
        if (outChannels % groups != 0) {
            throw new IllegalArgumentException("out_channels must be divisible by groups (" + outChannels + " % " + groups + ")");
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = pair(kernelSize, "kernel_size");
        this.stride = pair(stride, "stride");
        this.padding = paddingMode == null ? pair(padding, "padding") : null;
        this.paddingMode = paddingMode;
        this.dilation = pair(dilation, "dilation");
        this.groups = groups;
        if ("same".equals(paddingMode) && (this.stride[0] != 1 || this.stride[1] != 1)) {
            throw new IllegalArgumentException("padding='same' is not supported for strided convolutions");
        }
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(outChannels, inChannels / groups, this.kernelSize[0], this.kernelSize[1]));
            this.bias = registerParameter("bias", bias ? Tensor.empty(outChannels) : null);
        }
        resetParameters();
    }

    static int[] pair(int[] v, String name) {
        if (v == null || v.length == 0 || v.length > 2) {
            throw new IllegalArgumentException(name + " must be one int or a pair of ints");
        }
        return v.length == 1 ? new int[] {v[0], v[0]} : v.clone();
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
            return F.conv2d(input, weight, bias, stride, paddingMode, dilation, groups);
        }
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder();
        s.append(inChannels).append(", ").append(outChannels).append(", kernel_size=").append(tuple(kernelSize))
                .append(", stride=").append(tuple(stride));
        if (paddingMode != null) {
            s.append(", padding=").append(paddingMode);
        } else if (padding[0] != 0 || padding[1] != 0) {
            s.append(", padding=").append(tuple(padding));
        }
        if (dilation[0] != 1 || dilation[1] != 1) {
            s.append(", dilation=").append(tuple(dilation));
        }
        if (groups != 1) {
            s.append(", groups=").append(groups);
        }
        if (bias == null) {
            s.append(", bias=False");
        }
        return s.toString();
    }

    static String tuple(int[] v) {
        return "(" + v[0] + ", " + v[1] + ")";
    }
}
