package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * {@code x > 0 ? x : weight x} with a learned weight, like {@code torch.nn.PReLU(num_parameters, init)}: one slope
 * shared by all channels (the default) or one per channel (dim 1 of the input), each starting at {@code init} (0.25).
 */
public class PReLU extends Module {
    public final Tensor weight;
    private final int numParameters;

    public PReLU() {
        this(1, 0.25);
    }

    public PReLU(int numParameters) {
        this(numParameters, 0.25);
    }

    public PReLU(int numParameters, double init) {
        if (numParameters < 1) {
            throw new IllegalArgumentException("PReLU: num_parameters must be at least 1, got " + numParameters);
        }
        this.numParameters = numParameters;
        this.weight = registerParameter("weight", Tensor.full(new int[] {numParameters}, (float) init));
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.prelu(input, weight);
    }

    @Override
    public String extraRepr() {
        return "num_parameters=" + numParameters;
    }
}
