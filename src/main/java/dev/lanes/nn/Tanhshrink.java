package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code x - tanh(x)}, like {@code torch.nn.Tanhshrink}. */
public class Tanhshrink extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return F.tanhshrink(input);
    }
}
