package dev.lanes.nn;

import dev.lanes.Tensor;

/** x * tanh(softplus(x)), like {@code torch.nn.Mish}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Mish extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.mish();
    }
}
