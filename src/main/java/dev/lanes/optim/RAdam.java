package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.List;
import java.util.Map;

/**
 * RAdam (rectified Adam), like torch 1.13's {@code torch.optim.RAdam} (foreach=False): while the approximated SMA
 * length {@code rho_t} is at most 5 the step is the bias-corrected momentum times lr, after that Adam's adaptive step
 * times the variance rectification term; L2 weight decay added to the gradient. State: {@code exp_avg},
 * {@code exp_avg_sq}.
 */
public class RAdam extends Optimizer {
    public RAdam(List<Tensor> params) {
        this(params, 1e-3);
    }

    public RAdam(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0);
    }

    public RAdam(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
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
        Tensor v = buffer(state, "exp_avg_sq", param);
        OptimizerUpdates.radam(param, grad, m, v, g.lr(), betas[0], betas[1], g.number("eps"), g.number("weight_decay"), step);
    }
}
