package dev.lanes.nn;

import dev.lanes.Tensor;

/** 2-d average pooling layer, like {@code torch.nn.AvgPool2d}. */
public class AvgPool2d extends Module {
    private final int[] kernelSize;
    private final int[] stride;
    private final int[] padding;
    private final boolean ceilMode;
    private final boolean countIncludePad;

    public AvgPool2d(int kernelSize) {
        this(new int[] {kernelSize}, null, new int[] {0}, false, true);
    }

    public AvgPool2d(int[] kernelSize, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        if (kernelSize == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": kernel_size must be given");
        }
        this.kernelSize = kernelSize.clone();
        this.stride = stride == null ? kernelSize.clone() : stride.clone();
        this.padding = padding == null ? new int[] {0} : padding.clone(); // null: PyTorch's default, as Tensor's op takes it
        this.ceilMode = ceilMode;
        this.countIncludePad = countIncludePad;
    }

    @Override
    public Tensor forward(Tensor input) {
        return Tensor.avgPool2d(input, kernelSize, stride, padding, ceilMode, countIncludePad);
    }

    @Override
    public String extraRepr() {
        return "kernel_size=" + Repr.intOrTuple(kernelSize) + ", stride=" + Repr.intOrTuple(stride) + ", padding=" + Repr.intOrTuple(padding);
    }
}
