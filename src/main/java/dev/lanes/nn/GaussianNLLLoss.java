package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Gaussian negative log-likelihood {@code 0.5 (log(max(var, eps)) + (x - y)^2 / max(var, eps))}, like {@code torch.nn.GaussianNLLLoss(full=False, eps=1e-6, reduction)}; call {@code forward(input, target, var)}. */
public class GaussianNLLLoss extends Loss {
    private final boolean full;
    private final double eps;

    public GaussianNLLLoss() {
        this(false, 1e-6, "mean");
    }

    public GaussianNLLLoss(boolean full, double eps, String reduction) {
        super(reduction);
        this.full = full;
        this.eps = eps;
    }

    public Tensor forward(Tensor input, Tensor target, Tensor var) {
        return F.gaussianNllLoss(input, target, var, full, eps, reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        throw new IllegalArgumentException("GaussianNLLLoss takes three tensors: call forward(input, target, var)");
    }
}
