package dev.lanes.optim;

/**
 * Multiplies the rate by {@code factor} until epoch {@code totalIters}, then restores it, like {@code ConstantLR}
 * (defaults factor 1/3, 5 iterations).
 */
public class ConstantLR extends LRScheduler {
    private final double factor;
    private final int totalIters;

    public ConstantLR(Optimizer optimizer) {
        this(optimizer, 1.0 / 3, 5);
    }

    public ConstantLR(Optimizer optimizer, double factor, int totalIters) {
        super(checked(optimizer, factor));
        this.factor = factor;
        this.totalIters = totalIters;
        initialStep();
    }

    private static Optimizer checked(Optimizer optimizer, double factor) {
        if (!(factor >= 0 && factor <= 1.0)) {
            throw new IllegalArgumentException("Constant multiplicative factor expected to be between 0 and 1.");
        }
        return optimizer;
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[optimizer.paramGroups().size()];
        for (int i = 0; i < out.length; i++) {
            double lr = currentLr(i);
            if (lastEpoch == 0) {
                out[i] = lr * factor;
            } else if (lastEpoch != totalIters) {
                out[i] = lr;
            } else {
                if (factor == 0) { // Python's 1.0 / 0.0 raises
                    throw new ArithmeticException("float division by zero: ConstantLR with factor 0 cannot restore the rate at total_iters");
                }
                out[i] = lr * (1.0 / factor);
            }
        }
        return out;
    }

    /** PyTorch's closed form: {@code base_lr * (factor + (last_epoch >= total_iters) * (1 - factor))}. */
    @Override
    protected double[] closedFormLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = baseLrs[i] * (factor + (lastEpoch >= totalIters ? 1 : 0) * (1 - factor));
        }
        return out;
    }
}
