package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov, like {@code torch.optim.SGD}. */
public class SGD extends Optimizer {
    public SGD(List<Tensor> params, double lr) {
        this(params, lr, 0, 0, 0, false);
    }

    public SGD(List<Tensor> params, double lr, double momentum) {
        this(params, lr, momentum, 0, 0, false);
    }

    public SGD(List<Tensor> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(params, options(lr, momentum, dampening, weightDecay, nesterov));
    }

    private static Map<String, Object> options(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("lr", lr);
        o.put("momentum", momentum);
        o.put("dampening", dampening);
        o.put("weight_decay", weightDecay);
        o.put("nesterov", nesterov);
        return o;
    }

    @Override
    protected void validate(Map<String, Object> o) {
        requireNonNegative(o, "lr", "learning rate");
        requireNonNegative(o, "momentum", "momentum value");
        requireNonNegative(o, "weight_decay", "weight_decay value");
        if (Boolean.TRUE.equals(o.get("nesterov"))
                && (((Number) o.get("momentum")).doubleValue() <= 0 || ((Number) o.get("dampening")).doubleValue() != 0)) {
            throw new IllegalArgumentException("Nesterov momentum requires a momentum and zero dampening");
        }
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        double momentum = g.number("momentum");
        boolean first = !state.containsKey("momentum_buffer"); // PyTorch: the buffer starts as a copy of the first update
        Tensor buf = momentum != 0 ? buffer(state, "momentum_buffer", param) : null;
        OptimizerUpdates.sgd(param, grad, buf, g.lr(), momentum, g.number("dampening"), g.number("weight_decay"), g.flag("nesterov"), first);
    }
}
