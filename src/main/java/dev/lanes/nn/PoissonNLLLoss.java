package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Poisson negative log-likelihood, like {@code torch.nn.PoissonNLLLoss(log_input=True, full=False, eps=1e-8, reduction)}. */
public class PoissonNLLLoss extends Loss {
    private final boolean logInput;
    private final boolean full;
    private final double eps;

    public PoissonNLLLoss() {
        this(true, false, 1e-8, "mean");
    }

    public PoissonNLLLoss(boolean logInput, boolean full, double eps, String reduction) {
        super(reduction);
        this.logInput = logInput;
        this.full = full;
        this.eps = eps;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.poissonNllLoss(input, target, logInput, full, eps, reduction);
    }
}
