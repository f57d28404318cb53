package dev.lanes.nn;

import dev.lanes.Tensor;

/** x min(max(x + 3, 0), 6) / 6, like {@code torch.nn.Hardswish}. Fuses into a preceding Linear or Conv2d in an inference plan. */
public class Hardswish extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.hardswish();
    }
}
