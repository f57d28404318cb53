package dev.lanes.optim;

import java.util.Map;

/**
 * Cosine annealing with warm restarts (SGDR), like {@code CosineAnnealingWarmRestarts}: the rate falls from the base
 * rate to {@code etaMin} over {@code T_0} epochs, then restarts, each cycle {@code T_mult} times longer than the last.
 * {@link #step()} advances one epoch; {@link #step(double)} jumps to an epoch, fractional ones included (stepping
 * {@code epoch + i / iters} inside an epoch, as PyTorch's docs show).
 */
public class CosineAnnealingWarmRestarts extends LRScheduler {
    private final int t0;
    private final int tMult;
    private final double etaMin;
    private long tI;
    private double tCur;

    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0) {
        this(optimizer, t0, 1, 0);
    }

    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult, double etaMin) {
        super(checked(optimizer, t0, tMult));
        this.t0 = t0;
        this.tI = t0;
        this.tMult = tMult;
        this.etaMin = etaMin;
        this.tCur = -1;
        initialStep();
    }

    private static Optimizer checked(Optimizer optimizer, int t0, int tMult) {
        if (t0 <= 0) {
            throw new IllegalArgumentException("Expected positive integer T_0, but got " + t0);
        }
        if (tMult < 1) {
            throw new IllegalArgumentException("Expected integer T_mult >= 1, but got " + tMult);
        }
        return optimizer;
    }

    @Override
    protected double[] computeLr() {
        double[] out = new double[baseLrs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = etaMin + (baseLrs[i] - etaMin) * (1 + StrictMath.cos(Math.PI * tCur / tI)) / 2;
        }
        return out;
    }

    @Override
    public void step() {
        if (lastEpoch < 0) {
            step(0.0);
            return;
        }
        tCur = tCur + 1;
        if (tCur >= tI) {
            tCur = tCur - tI;
            tI = tI * tMult;
        }
        lastEpoch = lastEpoch + 1;
        applyLr(computeLr());
    }

    @Override
    public void step(int epoch) {
        step((double) epoch);
    }

    /** Jumps to {@code epoch} (fractional epochs allowed), PyTorch's {@code step(epoch)}. */
    public void step(double epoch) {
        if (!(epoch >= 0)) {
            throw new IllegalArgumentException("Expected non-negative epoch, but got " + epoch);
        }
        if (epoch >= t0) {
            if (tMult == 1) {
                tCur = epoch % t0; // Python's float % int: epoch is non-negative, so Java's remainder is the same
            } else {
                int n = (int) (Math.log(epoch / t0 * (tMult - 1) + 1) / Math.log(tMult)); // math.log(x, base) = log(x) / log(base)
                long pow = 1;
                for (int k = 0; k < n; k++) {
                    pow *= tMult;
                }
                tCur = epoch - t0 * (pow - 1) / (double) (tMult - 1);
                tI = t0 * pow;
            }
        } else {
            tI = t0;
            tCur = epoch;
        }
        lastEpoch = (int) Math.floor(epoch);
        applyLr(computeLr());
    }

    /** The base state plus {@code T_i} and {@code T_cur}, PyTorch's names. */
    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> out = super.stateDict();
        out.put("T_i", tI);
        out.put("T_cur", tCur);
        return out;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        if (!(state.get("T_i") instanceof Number ti) || !(state.get("T_cur") instanceof Number tc)) {
            throw new IllegalArgumentException("a CosineAnnealingWarmRestarts state needs T_i and T_cur, got " + state.keySet());
        }
        super.loadStateDict(state);
        tI = ti.longValue();
        tCur = tc.doubleValue();
    }
}
