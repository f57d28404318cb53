package dev.lanes;

import dev.lanes.kernels.Copy;

/** Element types a tensor can hold. */
public enum DType {
    /** 32-bit IEEE float: activations, parameters, gradients (the default). */
    FLOAT32(4, "torch.float32", "float32", Copy.Elem.F32),
    /** 64-bit signed integer: class labels, indices, argmax results. */
    INT64(8, "torch.int64", "int64", Copy.Elem.I64),
    /** true or false, one byte each: what comparisons return; masks for where and masked_fill. */
    BOOL(1, "torch.bool", "bool", Copy.Elem.BOOL);

    private final int byteSize;
    private final String torchName;
    private final String shortName;
    private final Copy.Elem elem;

    DType(int byteSize, String torchName, String shortName, Copy.Elem elem) {
        this.byteSize = byteSize;
        this.torchName = torchName;
        this.shortName = shortName;
        this.elem = elem;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The name PyTorch prints, e.g. {@code torch.float32}. */
    public String torchName() {
        return torchName;
    }

    boolean isFloatingPoint() {
        return this == FLOAT32;
    }

    String shortName() {
        return shortName;
    }

    /** The kernels' name for this element type (copies and conversions). */
    Copy.Elem elem() {
        return elem;
    }
}
