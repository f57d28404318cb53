package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/** {@code y = x W^T + b}, like {@code torch.nn.Linear}; weight {@code [out, in]}, PyTorch's default initialisation. */
public class Linear extends Module {
    public final int inFeatures;
    public final int outFeatures;
    public final Tensor weight;
    public final Tensor bias;

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures < 0 || outFeatures < 0) {
            throw new IllegalArgumentException("Linear: in_features and out_features must be non-negative, got " + inFeatures + ", " + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(outFeatures, inFeatures));
            this.bias = registerParameter("bias", bias ? Tensor.empty(outFeatures) : null);
        }
        resetParameters();
    }

    /** kaiming_uniform_(weight, a=sqrt(5)) and bias uniform in +-1/sqrt(fan_in), as PyTorch does. */
    public void resetParameters() {
        Init.kaimingUniform_(weight, Math.sqrt(5));
        if (bias != null) {
            double bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
            Init.uniform_(bias, -bound, bound);
        }
    }

    @Override
    public Tensor forward(Tensor input) {
        if (input.dim() == 0) {
            throw new IllegalArgumentException("Linear: expected input with last dimension " + inFeatures + " (in_features) but got shape "
                    + input.size());
        }
        if (input.size(-1) != inFeatures) { // PyTorch's message names the product as its GEMM sees it: input rows folded
            long rows = 1;
            for (int d = 0; d < input.dim() - 1; d++) {
                rows *= input.size(d);
            }
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + rows + "x" + input.size(-1) + " and " + inFeatures + "x"
                    + outFeatures + ") (Linear: expected input with last dimension " + inFeatures + " (in_features) but got shape " + input.size() + ")");
        }
        return F.linear(input, weight, bias);
    }

    @Override
    public String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null ? "True" : "False");
    }
}
