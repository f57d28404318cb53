package dev.lanes.optim;

import java.util.Collections;
import java.util.List;
import java.util.function.IntToDoubleFunction;

/**
 * Multiplies each group's current rate by a function of the epoch at every step after the first, like
 * {@code MultiplicativeLR} (one function for every group, or one per group).
 */
public class MultiplicativeLR extends LRScheduler {
    private final List<IntToDoubleFunction> lambdas;

    public MultiplicativeLR(Optimizer optimizer, IntToDoubleFunction lrLambda) {
        this(optimizer, Collections.nCopies(optimizer.paramGroups().size(), lrLambda));
    }

    /** One function per parameter group. */
    public MultiplicativeLR(Optimizer optimizer, List<IntToDoubleFunction> lrLambdas) {
        super(LambdaLR.checked(optimizer, lrLambdas));
        this.lambdas = List.copyOf(lrLambdas);
        initialStep();
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[lambdas.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = lastEpoch > 0 ? currentLr(i) * lambdas.get(i).applyAsDouble(lastEpoch) : currentLr(i);
        }
        return out;
    }
}
