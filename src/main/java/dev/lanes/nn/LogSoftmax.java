package dev.lanes.nn;

import dev.lanes.Tensor;

/** {@code logSoftmax} along {@code dim}, like {@code torch.nn.LogSoftmax(dim)}. */
public class LogSoftmax extends Module {
    private final int dim;

    public LogSoftmax(int dim) {
        this.dim = dim;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.logSoftmax(dim);
    }

    @Override
    public String extraRepr() {
        return "dim=" + dim;
    }
}
