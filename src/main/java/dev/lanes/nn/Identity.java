package dev.lanes.nn;

import dev.lanes.Tensor;

/** Returns its input, like {@code torch.nn.Identity} (a placeholder in Sequential models). */
public class Identity extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input;
    }
}
