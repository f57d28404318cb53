package dev.lanes.nn;

import dev.lanes.Tensor;

/** x * sigmoid(x), like {@code torch.nn.SiLU}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class SiLU extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.silu();
    }
}
