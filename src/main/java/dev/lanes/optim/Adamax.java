package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Adamax (Adam with the infinity norm), like {@code torch.optim.Adamax} (torch 1.13, foreach=False; default lr 2e-3):
 * {@code m = b1 m + (1 - b1) g}, {@code u = max(b2 u, |g| + eps)}, {@code p -= lr / (1 - b1^t) m / u}; L2 weight decay
 * added to the gradient. State: {@code exp_avg}, {@code exp_inf}.
 */
public class Adamax extends Optimizer {
    public Adamax(List<Tensor> params) {
        this(params, 2e-3);
    }

    public Adamax(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0);
    }

    public Adamax(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(params, NAdam.adamOptions(lr, beta1, beta2, eps, weightDecay));
    }

    @Override
    protected void validate(Map<String, Object> o) {
        NAdam.validateAdamLike(o);
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        double[] betas = (double[]) g.options().get("betas");
        Tensor m = buffer(state, "exp_avg", param);
        Tensor u = buffer(state, "exp_inf", param);
        OptimizerUpdates.adamax(param, grad, m, u, g.lr(), betas[0], betas[1], g.number("eps"), g.number("weight_decay"), step);
    }
}
