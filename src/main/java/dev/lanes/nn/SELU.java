package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code scale * elu(x, alpha)} with the self-normalizing constants, like {@code torch.nn.SELU} (out of place). */
public class SELU extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return F.selu(input);
    }
}
