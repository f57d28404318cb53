package dev.lanes.nn;

import dev.lanes.Tensor;

/** min(max(x + 3, 0), 6) / 6, like {@code torch.nn.Hardsigmoid}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Hardsigmoid extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.hardsigmoid();
    }
}
