package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Huber ({@code 0.5 d^2} below delta, {@code delta (|d| - 0.5 delta)} above), like {@code torch.nn.HuberLoss}; delta 1 by default. */
public class HuberLoss extends Loss {
    private final double delta;

    public HuberLoss() {
        this("mean", 1.0);
    }

    public HuberLoss(String reduction, double delta) {
        super(reduction);
        this.delta = delta;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.huberLoss(input, target, reduction, delta);
    }
}
