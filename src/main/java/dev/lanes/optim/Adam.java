package dev.lanes.optim;

import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Adam, like {@code torch.optim.Adam} (L2 weight decay added to the gradient; optional AMSGrad). */
public class Adam extends Optimizer {
    public Adam(List<Tensor> params) {
        this(params, 1e-3);
    }

    public Adam(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0, false);
    }

    public Adam(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        super(params, options(lr, beta1, beta2, eps, weightDecay, amsgrad));
    }

    static Map<String, Object> options(double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("lr", lr);
        o.put("betas", new double[] {beta1, beta2});
        o.put("eps", eps);
        o.put("weight_decay", weightDecay);
        o.put("amsgrad", amsgrad);
        return o;
    }

    @Override
    protected void validate(Map<String, Object> o) {
        requireNonNegative(o, "lr", "learning rate");
        requireNonNegative(o, "eps", "epsilon value");
        requireNonNegative(o, "weight_decay", "weight_decay value");
        double[] b = (double[]) o.get("betas");
        for (int i = 0; i < 2; i++) {
            if (!(b[i] >= 0 && b[i] < 1)) {
                throw new IllegalArgumentException("Invalid beta parameter at index " + i + ": " + b[i]);
            }
        }
    }

    /** AdamW decouples weight decay from the gradient. */
    protected boolean decoupled() {
        return false;
    }

    @Override
    protected void update(Tensor param, Tensor grad, Map<String, Tensor> state, long step, ParamGroup g) {
        double[] betas = (double[]) g.options().get("betas");
        Tensor m = buffer(state, "exp_avg", param);
        Tensor v = buffer(state, "exp_avg_sq", param);
        Tensor vmax = g.flag("amsgrad") ? buffer(state, "max_exp_avg_sq", param) : null;
        OptimizerUpdates.adam(param, grad, m, v, vmax, g.lr(), betas[0], betas[1], g.number("eps"), g.number("weight_decay"), decoupled(), step);
    }
}
