package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * Gaussian Error Linear Unit, {@code x * Phi(x)}, like {@code torch.nn.GELU}: {@code new GELU()} is the exact form,
 * {@code new GELU("tanh")} the tanh approximation. Fuses into a preceding Linear or Conv2d in an inference plan.
 */
public class GELU extends Module {
    private final String approximate;

    public GELU() {
        this("none");
    }

    /** @param approximate "none" or "tanh", PyTorch's {@code approximate=} */
    public GELU(String approximate) {
        if (!"none".equals(approximate) && !"tanh".equals(approximate)) {
            throw new IllegalArgumentException("GELU: approximate must be 'none' or 'tanh', got '" + approximate + "'");
        }
        this.approximate = approximate;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.gelu(approximate);
    }

    @Override
    public String extraRepr() {
        return "approximate='" + approximate + "'";
    }
}
