package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code softmax(-x)} along {@code dim}, like {@code torch.nn.Softmin(dim)}; without a dim (repr {@code dim=None}) torch's legacy choice: 0 for 0-, 1- and 3-d input, else 1. */
public class Softmin extends Module {
    private final Integer dim;

    public Softmin() {
        this.dim = null;
    }

    public Softmin(int dim) {
        this.dim = dim;
    }

    @Override
    public Tensor forward(Tensor input) {
        int d = dim != null ? dim : (input.dim() == 0 || input.dim() == 1 || input.dim() == 3 ? 0 : 1);
        return F.softmin(input, d);
    }

    @Override
    public String extraRepr() {
        return "dim=" + (dim == null ? "None" : dim);
    }
}
