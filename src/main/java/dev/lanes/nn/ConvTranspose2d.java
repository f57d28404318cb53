package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * Transposed 2-d convolution layer, like {@code torch.nn.ConvTranspose2d}: weight {@code [in, out / groups, kH, kW]},
 * optional bias {@code [out]}, PyTorch's default initialisation (kaiming-uniform with a = sqrt(5), the fan-in taken
 * from the weight's dim 1 as PyTorch does), so a PyTorch state dict loads. Input {@code [N, C, H, W]} or unbatched
 * {@code [C, H, W]}; {@link #forward(Tensor, int...)} picks the output padding that gives a requested output size.
 * Padding mode 'zeros' only (the only one PyTorch allows for transposed convolutions).
 */
public class ConvTranspose2d extends Module {
    public final int inChannels;
    public final int outChannels;
    public final int[] kernelSize;
    public final int[] stride;
    public final int[] padding;
    public final int[] outputPadding;
    public final int groups;
    public final int[] dilation;
    public final Tensor weight;
    public final Tensor bias;

    /** {@code ConvTranspose2d(in, out, kernel_size)}: stride 1, no padding. */
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, new int[] {kernelSize}, new int[] {1}, new int[] {0}, new int[] {0}, 1, true, new int[] {1});
    }

    /** {@code ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding)}. */
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int outputPadding) {
        this(inChannels, outChannels, new int[] {kernelSize}, new int[] {stride}, new int[] {padding}, new int[] {outputPadding}, 1, true,
                new int[] {1});
    }

    /** Every option, in PyTorch's order; each int[] is one int or a pair. */
    public ConvTranspose2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] outputPadding, int groups,
                           boolean bias, int[] dilation) {
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
        this.kernelSize = Conv2d.pair(kernelSize, "kernel_size");
        this.stride = Conv2d.pair(stride, "stride");
        this.padding = Conv2d.pair(padding, "padding");
        this.outputPadding = Conv2d.pair(outputPadding, "output_padding");
        this.dilation = Conv2d.pair(dilation, "dilation");
        this.groups = groups;
        for (int i = 0; i < 2; i++) {
            if (this.outputPadding[i] >= this.stride[i] && this.outputPadding[i] >= this.dilation[i]) {
                throw new IllegalArgumentException("output padding must be smaller than either stride or dilation, but got output_padding "
                        + Conv2d.tuple(this.outputPadding) + ", stride " + Conv2d.tuple(this.stride) + " and dilation " + Conv2d.tuple(this.dilation));
            }
        }
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(inChannels, outChannels / groups, this.kernelSize[0], this.kernelSize[1]));
            this.bias = registerParameter("bias", bias ? Tensor.empty(outChannels) : null);
        }
        resetParameters();
    }

    /** kaiming_uniform_(weight, a=sqrt(5)) and bias uniform in +-1/sqrt(fan_in), as PyTorch's _ConvNd does. */
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
        return F.convTranspose2d(input, weight, bias, stride, padding, outputPadding, groups, dilation);
    }

    /**
     * {@code forward(input, output_size)}: the output padding that makes the output {@code outputSize} (its last two
     * entries: height and width), as PyTorch's {@code _output_padding}; a size out of the reachable range is refused
     * with PyTorch's message.
     */
    public Tensor forward(Tensor input, int... outputSize) {
        return F.convTranspose2d(input, weight, bias, stride, padding, outputPadding(input, outputSize), groups, dilation);
    }

    private int[] outputPadding(Tensor input, int[] outputSize) {
        if (outputSize == null || outputSize.length == 0) {
            return outputPadding;
        }
        int[] xs = input.shape();
        if (xs.length != 3 && xs.length != 4) {
            throw new IllegalArgumentException("Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: "
                    + java.util.Arrays.toString(xs));
        }
        if (outputSize.length != 2 && outputSize.length != xs.length) {
            throw new IllegalArgumentException("ConvTranspose2D: for " + xs.length + "D input, output_size must have 2 or " + xs.length
                    + " elements (got " + outputSize.length + ")");
        }
        int[] want = {outputSize[outputSize.length - 2], outputSize[outputSize.length - 1]};
        long[] min = new long[2];
        long[] max = new long[2];
        for (int d = 0; d < 2; d++) {
            int in = xs[xs.length - 2 + d];
            min[d] = (long) (in - 1) * stride[d] - 2L * padding[d] + (long) dilation[d] * (kernelSize[d] - 1) + 1;
            max[d] = min[d] + stride[d] - 1;
        }
        for (int d = 0; d < 2; d++) {
            if (want[d] < min[d] || want[d] > max[d]) {
                throw new IllegalArgumentException("requested an output size of (" + want[0] + ", " + want[1] + "), but valid sizes range from ["
                        + min[0] + ", " + min[1] + "] to [" + max[0] + ", " + max[1] + "] (for an input of [" + xs[xs.length - 2] + ", "
                        + xs[xs.length - 1] + "])");
            }
        }
        return new int[] {(int) (want[0] - min[0]), (int) (want[1] - min[1])};
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder();
        s.append(inChannels).append(", ").append(outChannels).append(", kernel_size=").append(Conv2d.tuple(kernelSize))
                .append(", stride=").append(Conv2d.tuple(stride));
        if (padding[0] != 0 || padding[1] != 0) {
            s.append(", padding=").append(Conv2d.tuple(padding));
        }
        if (dilation[0] != 1 || dilation[1] != 1) {
            s.append(", dilation=").append(Conv2d.tuple(dilation));
        }
        if (outputPadding[0] != 0 || outputPadding[1] != 0) {
            s.append(", output_padding=").append(Conv2d.tuple(outputPadding));
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
