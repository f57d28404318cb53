package dev.lanes;

/** Element types a tensor can hold. */
public enum DType {
    /** 32-bit IEEE float: activations, parameters, gradients (the default). */
    FLOAT32(4, "torch.float32"),
    /** 64-bit signed integer: class labels, indices, argmax results. */
    INT64(8, "torch.int64");

    private final int byteSize;
    private final String torchName;

    DType(int byteSize, String torchName) {
        this.byteSize = byteSize;
        this.torchName = torchName;
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
        return this == FLOAT32 ? "float32" : "int64";
    }
}
