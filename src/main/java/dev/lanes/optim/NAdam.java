package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NAdam (Adam with Nesterov momentum), like torch 1.13's {@code torch.optim.NAdam} (foreach=False; default lr 2e-3):
 * the momentum schedule {@code mu_t = b1 (1 - 0.5 0.96^(t momentum_decay))} and its running product
 * {@code mu_product} (a 0-d float32 state tensor, as torch's), L2 weight decay added to the gradient. State:
 * {@code mu_product}, {@code exp_avg}, {@code exp_avg_sq}.
 */
public class NAdam extends Optimizer {
    public NAdam(List<Tensor> params) {
        this(params, 2e-3);
    }

    public NAdam(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0, 4e-3);
    }

    public NAdam(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, double momentumDecay) {
        super(params, options(lr, beta1, beta2, eps, weightDecay, momentumDecay));
    }

    private static Map<String, Object> options(double lr, double beta1, double beta2, double eps, double weightDecay, double momentumDecay) {
        Map<String, Object> o = adamOptions(lr, beta1, beta2, eps, weightDecay);
        o.put("momentum_decay", momentumDecay);
        return o;
    }

    /** lr, betas, eps, weight_decay: the options Adamax, NAdam and RAdam share. */
    static Map<String, Object> adamOptions(double lr, double beta1, double beta2, double eps, double weightDecay) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("lr", lr);
        o.put("betas", new double[] {beta1, beta2});
        o.put("eps", eps);
        o.put("weight_decay", weightDecay);
        return o;
    }

    /** torch's checks and messages for lr, eps, betas and weight_decay, in its order. */
    static void validateAdamLike(Map<String, Object> o) {
        requireNonNegative(o, "lr", "learning rate");
        requireNonNegative(o, "eps", "epsilon value");
        double[] b = (double[]) o.get("betas");
        for (int i = 0; i < 2; i++) {
            if (!(b[i] >= 0 && b[i] < 1)) {
                throw new IllegalArgumentException("Invalid beta parameter at index " + i + ": " + b[i]);
            }
        }
        requireNonNegative(o, "weight_decay", "weight_decay value");
    }

    @Override
    protected void validate(Map<String, Object> o) {
        validateAdamLike(o);
        requireNonNegative(o, "momentum_decay", "momentum_decay value");
    }

    @Override
    protected boolean scalarState(String name) {
        return name.equals("mu_product");
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        double[] betas = (double[]) g.options().get("betas");
        Tensor muProduct = scalarBuffer(state, "mu_product", 1.0);
        Tensor m = buffer(state, "exp_avg", param);
        Tensor v = buffer(state, "exp_avg_sq", param);
        OptimizerUpdates.nadam(param, grad, m, v, muProduct, g.lr(), betas[0], betas[1], g.number("eps"), g.number("weight_decay"),
                g.number("momentum_decay"), step);
    }
}
