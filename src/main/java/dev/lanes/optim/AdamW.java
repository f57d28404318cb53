package dev.lanes.optim;

import dev.lanes.Tensor;
import java.util.List;

/** Adam with decoupled weight decay ({@code p *= 1 - lr wd} before the step), like {@code torch.optim.AdamW} (default wd 0.01). */
public class AdamW extends Adam {
    public AdamW(List<Tensor> params) {
        this(params, 1e-3);
    }

    public AdamW(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 1e-2, false);
    }

    public AdamW(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        super(params, lr, beta1, beta2, eps, weightDecay, amsgrad);
    }

    @Override
    protected boolean decoupled() {
        return true;
    }
}
