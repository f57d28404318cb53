package dev.lanes.nn;

import dev.lanes.Tensor;

/** 2-d max pooling layer, like {@code torch.nn.MaxPool2d}; stride defaults to the kernel size. */
public class MaxPool2d extends Module {
    private final int[] kernelSize;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;
    private final boolean ceilMode;

    public MaxPool2d(int kernelSize) {
        this(new int[] {kernelSize}, null, new int[] {0}, new int[] {1}, false);
    }

    public MaxPool2d(int kernelSize, int stride) {
        this(new int[] {kernelSize}, new int[] {stride}, new int[] {0}, new int[] {1}, false);
    }

    /** Each int[] is one int or a pair (printed as given, like PyTorch); stride null means the kernel size. */
    public MaxPool2d(int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        if (kernelSize == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": kernel_size must be given");
        }
        this.kernelSize = kernelSize.clone();
        this.stride = stride == null ? kernelSize.clone() : stride.clone();
        this.padding = padding == null ? new int[] {0} : padding.clone(); // null: PyTorch's default, as Tensor's op takes it
        this.dilation = dilation == null ? new int[] {1} : dilation.clone();
        this.ceilMode = ceilMode;
    }

    @Override
    public Tensor forward(Tensor input) {
        return Tensor.maxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
    }

    @Override
    public String extraRepr() {
        return "kernel_size=" + Repr.intOrTuple(kernelSize) + ", stride=" + Repr.intOrTuple(stride) + ", padding=" + Repr.intOrTuple(padding)
                + ", dilation=" + Repr.intOrTuple(dilation) + ", ceil_mode=" + Repr.bool(ceilMode);
    }
}
