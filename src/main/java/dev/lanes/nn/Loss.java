package dev.lanes.nn;

import dev.lanes.Tensor;

/** A loss module: {@code criterion.forward(output, target)}, like {@code criterion(output, target)} in PyTorch. */
public abstract class Loss extends Module {
    protected final String reduction;

    protected Loss(String reduction) {
        this(reduction, null);
    }

    /** {@code extra}: one more reduction this loss accepts besides "none", "mean" and "sum" (KLDivLoss's "batchmean"), or null. */
    protected Loss(String reduction, String extra) {
        if (!reduction.equals("mean") && !reduction.equals("sum") && !reduction.equals("none") && !reduction.equals(extra)) {
            throw new IllegalArgumentException(reduction + " is not a valid value for reduction (use 'none', "
                    + (extra == null ? "" : "'" + extra + "', ") + "'mean' or 'sum')");
        }
        this.reduction = reduction;
    }

    public abstract Tensor forward(Tensor input, Tensor target);

    /** Losses need a target: this one-argument form only explains that. */
    @Override
    public final Tensor forward(Tensor input) {
        throw new IllegalArgumentException(reprName() + " needs the target too: call forward(input, target)");
    }
}
