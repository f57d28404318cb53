package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;

/**
 * {@code y = x1^T A x2 + b}, like {@code torch.nn.Bilinear(in1_features, in2_features, out_features, bias=True)}:
 * weight {@code [out, in1, in2]} and bias {@code [out]}, both U(-1/sqrt(in1), 1/sqrt(in1)) as torch initialises them;
 * call {@code forward(x1, x2)}.
 */
public class Bilinear extends Module {
    public final int in1Features;
    public final int in2Features;
    public final int outFeatures;
    public final Tensor weight;
    /** The bias, or null. */
    public final Tensor bias;

    public Bilinear(int in1Features, int in2Features, int outFeatures) {
        this(in1Features, in2Features, outFeatures, true);
    }

    public Bilinear(int in1Features, int in2Features, int outFeatures, boolean bias) {
        this.in1Features = in1Features;
        this.in2Features = in2Features;
        this.outFeatures = outFeatures;
        try (MemoryScope s = owned()) {
            this.weight = registerParameter("weight", Tensor.empty(outFeatures, in1Features, in2Features));
            this.bias = registerParameter("bias", bias ? Tensor.empty(outFeatures) : null);
        }
        resetParameters();
    }

    /** torch's reset_parameters: weight and bias U(-1/sqrt(in1), 1/sqrt(in1)). */
    public void resetParameters() {
        double bound = in1Features > 0 ? 1 / Math.sqrt(in1Features) : 0;
        Init.uniform_(weight, -bound, bound);
        if (bias != null) {
            Init.uniform_(bias, -bound, bound);
        }
    }

    public Tensor forward(Tensor x1, Tensor x2) {
        return F.bilinear(x1, x2, weight, bias);
    }

    @Override
    public Tensor forward(Tensor input) {
        throw new IllegalArgumentException("Bilinear takes two inputs: call forward(x1, x2)");
    }

    @Override
    public String extraRepr() {
        return "in1_features=" + in1Features + ", in2_features=" + in2Features + ", out_features=" + outFeatures + ", bias="
                + (bias != null ? "True" : "False");
    }
}
