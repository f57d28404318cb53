package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adagrad, like {@code torch.optim.Adagrad} (torch 1.13, foreach=False): {@code sum += g g},
 * {@code p -= clr g / (sqrt(sum) + eps)} with {@code clr = lr / (1 + (step - 1) lr_decay)}; L2 weight decay added to
 * the gradient. The state {@code sum} starts at {@code initial_accumulator_value} (made on a parameter's first step;
 * torch makes it in the constructor).
 */
public class Adagrad extends Optimizer {
    public Adagrad(List<Tensor> params) {
        this(params, 1e-2);
    }

    public Adagrad(List<Tensor> params, double lr) {
        this(params, lr, 0, 0, 0, 1e-10);
    }

    public Adagrad(List<Tensor> params, double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps) {
        super(params, options(lr, lrDecay, weightDecay, initialAccumulatorValue, eps));
    }

    private static Map<String, Object> options(double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("lr", lr);
        o.put("lr_decay", lrDecay);
        o.put("eps", eps);
        o.put("weight_decay", weightDecay);
        o.put("initial_accumulator_value", initialAccumulatorValue);
        return o;
    }

    @Override
    protected void validate(Map<String, Object> o) {
        requireNonNegative(o, "lr", "learning rate");
        requireNonNegative(o, "lr_decay", "lr_decay value");
        requireNonNegative(o, "weight_decay", "weight_decay value");
        requireNonNegative(o, "initial_accumulator_value", "initial_accumulator_value value");
        requireNonNegative(o, "eps", "epsilon value");
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        Tensor sum = state.get("sum");
        if (sum == null) {
            sum = buffer(state, "sum", param);
            double init = g.number("initial_accumulator_value");
            if (init != 0) {
                sum.fill_(init);
            }
        }
        OptimizerUpdates.adagrad(param, grad, sum, g.lr(), g.number("lr_decay"), g.number("weight_decay"), g.number("eps"), step);
    }
}
