package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code log(sigmoid(x))} computed as {@code -softplus(-x)}, like {@code torch.nn.LogSigmoid}. */
public class LogSigmoid extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return F.logsigmoid(input);
    }
}
