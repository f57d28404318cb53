package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code x / (1 + |x|)}, like {@code torch.nn.Softsign}. */
public class Softsign extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return F.softsign(input);
    }
}
