package dev.lanes.nn;

import dev.lanes.Tensor;

/** min(max(x, 0), 6), like {@code torch.nn.ReLU6}: hardtanh(x, 0, 6). Fuses into a preceding Linear or Conv2d in an inference plan. */
public class ReLU6 extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.relu6();
    }
}
