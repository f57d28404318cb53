package dev.lanes.optim;

import java.util.Collections;
import java.util.List;
import java.util.function.IntToDoubleFunction;

/**
 * Sets each group's rate to its base rate times a function of the epoch, like {@code LambdaLR}: one function for
 * every group, or one per group. The functions are not part of {@link #stateDict()} (PyTorch saves only callable
 * objects' attributes; a Java function has none).
 */
public class LambdaLR extends LRScheduler {
    private final List<IntToDoubleFunction> lambdas;

    public LambdaLR(Optimizer optimizer, IntToDoubleFunction lrLambda) {
        this(optimizer, Collections.nCopies(optimizer.paramGroups().size(), lrLambda));
    }

    /** One function per parameter group (PyTorch's list of lambdas). */
    public LambdaLR(Optimizer optimizer, List<IntToDoubleFunction> lrLambdas) {
        super(checked(optimizer, lrLambdas));
        this.lambdas = List.copyOf(lrLambdas);
        initialStep();
    }

    static Optimizer checked(Optimizer optimizer, List<IntToDoubleFunction> lrLambdas) {
        if (lrLambdas == null || lrLambdas.stream().anyMatch(java.util.Objects::isNull)) { // List.of's contains(null) throws
            throw new IllegalArgumentException("lr_lambda must not be null");
        }
        if (lrLambdas.size() != optimizer.paramGroups().size()) {
            throw new IllegalArgumentException("Expected " + optimizer.paramGroups().size() + " lr_lambdas, but got " + lrLambdas.size());
        }
        return optimizer;
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[Math.min(lambdas.size(), baseLrs.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * lambdas.get(i).applyAsDouble(lastEpoch);
        }
        return out;
    }
}
