package dev.lanes.optim;

/**
 * Scales the rate linearly from {@code startFactor} to {@code endFactor} times the base rate over {@code totalIters}
 * epochs, then holds it, like {@code LinearLR} (defaults 1/3, 1.0, 5), with PyTorch's recursive formula.
 */
public class LinearLR extends LRScheduler {
    private final double startFactor;
    private final double endFactor;
    private final int totalIters;

    public LinearLR(Optimizer optimizer) {
        this(optimizer, 1.0 / 3, 1.0, 5);
    }

    public LinearLR(Optimizer optimizer, double startFactor, double endFactor, int totalIters) {
        super(checked(optimizer, startFactor, endFactor));
        this.startFactor = startFactor;
        this.endFactor = endFactor;
        this.totalIters = totalIters;
        initialStep();
    }

    private static Optimizer checked(Optimizer optimizer, double startFactor, double endFactor) {
        if (!(startFactor >= 0 && startFactor <= 1.0)) {
            throw new IllegalArgumentException("Starting multiplicative factor expected to be between 0 and 1.");
        }
        if (!(endFactor >= 0 && endFactor <= 1.0)) {
            throw new IllegalArgumentException("Ending multiplicative factor expected to be between 0 and 1.");
        }
        return optimizer;
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[optimizer.paramGroups().size()];
        for (int i = 0; i < out.length; i++) {
            double lr = currentLr(i);
            if (lastEpoch == 0) {
                out[i] = lr * startFactor;
            } else if (lastEpoch > totalIters) {
                out[i] = lr;
            } else {
                double denom = totalIters * startFactor + (lastEpoch - 1) * (endFactor - startFactor);
                if (denom == 0) { // Python raises ZeroDivisionError (start_factor 0 at epoch 1)
                    throw new ArithmeticException("float division by zero: LinearLR with start_factor " + startFactor + " at epoch " + lastEpoch);
                }
                out[i] = lr * (1. + (endFactor - startFactor) / denom);
            }
        }
        return out;
    }

    /** PyTorch's closed form: {@code base_lr * (start + (end - start) * min(total_iters, last_epoch) / total_iters)}. */
    @Override
    protected double[] closedFormLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * (startFactor + (endFactor - startFactor) * Math.min(totalIters, lastEpoch) / totalIters);
        }
        return out;
    }
}
