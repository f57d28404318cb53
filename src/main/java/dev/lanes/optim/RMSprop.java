package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** RMSprop, like {@code torch.optim.RMSprop} (optional momentum and centering). */
public class RMSprop extends Optimizer {
    public RMSprop(List<Tensor> params) {
        this(params, 1e-2);
    }

    public RMSprop(List<Tensor> params, double lr) {
        this(params, lr, 0.99, 1e-8, 0, 0, false);
    }

    public RMSprop(List<Tensor> params, double lr, double alpha, double eps, double weightDecay, double momentum, boolean centered) {
        super(params, options(lr, alpha, eps, weightDecay, momentum, centered));
    }

    private static Map<String, Object> options(double lr, double alpha, double eps, double weightDecay, double momentum, boolean centered) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("lr", lr);
        o.put("alpha", alpha);
        o.put("eps", eps);
        o.put("weight_decay", weightDecay);
        o.put("momentum", momentum);
        o.put("centered", centered);
        return o;
    }

    @Override
    protected void validate(Map<String, Object> o) {
        requireNonNegative(o, "lr", "learning rate");
        requireNonNegative(o, "eps", "epsilon value");
        requireNonNegative(o, "momentum", "momentum value");
        requireNonNegative(o, "weight_decay", "weight_decay value");
        requireNonNegative(o, "alpha", "alpha value");
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        Tensor sq = buffer(state, "square_avg", param);
        Tensor gavg = g.flag("centered") ? buffer(state, "grad_avg", param) : null;
        Tensor buf = g.number("momentum") > 0 ? buffer(state, "momentum_buffer", param) : null;
        OptimizerUpdates.rmsprop(param, grad, sq, gavg, buf, g.lr(), g.number("alpha"), g.number("eps"), g.number("weight_decay"),
                g.number("momentum"));
    }
}
