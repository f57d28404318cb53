package dev.lanes;

import static dev.lanes.Shapes.str;

/**
 * {@code torch.multinomial}: int64 category indices drawn from the rows of a [C] or [N, C] tensor of non-negative
 * weights (probabilities, not necessarily normalised), with the global generator ({@link Lanes#manualSeed}): the
 * same seed gives the same draws. Sequential, one row after another (no plan step: a plan would bake in one draw).
 *
 * <p>Each draw is one uniform double u in [0, 1): with replacement, the first category whose running weight sum
 * exceeds {@code u * total}; without replacement the same over the categories not drawn yet, a drawn one then
 * removed. When a row has fewer categories of positive weight than samples wanted without replacement, the
 * remaining draws take the zero-weight categories in index order (PyTorch returns them too, in an unspecified
 * order). PyTorch's generator differs, so its draws are not Lanes' (the distribution is the same).
 */
final class SampleOps {
    private SampleOps() {
    }

    static Tensor multinomial(Tensor w, int numSamples, boolean replacement) {
        w.checkAlive();
        if (w.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("multinomial only supports floating-point dtypes for input, got: "
                    + (w.dtype() == DType.INT64 ? "Long" : "Bool"));
        }
        int[] shape = w.shape();
        if (shape.length < 1 || shape.length > 2) {
            throw new IllegalArgumentException("prob_dist must be 1 or 2 dim (got shape " + str(shape) + ")");
        }
        if (numSamples <= 0) {
            throw new IllegalArgumentException("cannot sample n_sample <= 0 samples (got " + numSamples + ")");
        }
        int rows = shape.length == 1 ? 1 : shape[0];
        int c = shape[shape.length - 1];
        if (!replacement && numSamples > c) {
            throw new IllegalArgumentException("cannot sample n_sample > prob_dist.size(-1) samples without replacement (" + numSamples
                    + " > " + c + ")");
        }
        if (c > (1 << 24)) {
            throw new IllegalArgumentException("number of categories cannot exceed 2^24");
        }
        Tracer.checkNoPlanStep("multinomial");
        float[] v = HostOps.floats(w);
        for (int row = 0; row < rows; row++) {
            double total = 0;
            for (int j = 0; j < c; j++) {
                float e = v[row * c + j];
                if (!replacement || numSamples == 1) {
                    if (!(e >= 0) || e == Float.POSITIVE_INFINITY) {
                        throw new IllegalArgumentException("probability tensor contains either `inf`, `nan` or element < 0");
                    }
                } else if (!(e >= 0)) {
                    throw new IllegalArgumentException("invalid multinomial distribution (encountering probability entry < 0)");
                } else if (e == Float.POSITIVE_INFINITY) {
                    throw new IllegalArgumentException("invalid multinomial distribution (encountering probability entry = infinity or NaN)");
                }
                total += e;
            }
            if (!(total > 0)) {
                throw new IllegalArgumentException("invalid multinomial distribution (sum of probabilities <= 0)"
                        + (rows > 1 ? " in row " + row : ""));
            }
        }
        double[] u = new double[rows * numSamples];
        Lanes.fillUniformDouble(u);
        long[] out = new long[rows * numSamples];
        double[] weight = new double[c];
        double[] cdf = new double[c];
        for (int row = 0; row < rows; row++) {
            for (int j = 0; j < c; j++) {
                weight[j] = v[row * c + j];
            }
            if (replacement) {
                double acc = 0;
                int last = 0;
                for (int j = 0; j < c; j++) {
                    acc += weight[j];
                    cdf[j] = acc;
                    if (weight[j] > 0) {
                        last = j;
                    }
                }
                for (int s = 0; s < numSamples; s++) {
                    double target = u[row * numSamples + s] * acc;
                    int lo = 0;
                    int hi = c - 1;
                    while (lo < hi) { // the first j with cdf[j] > target: never a zero-weight category
                        int mid = (lo + hi) >>> 1;
                        if (cdf[mid] > target) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    out[row * numSamples + s] = cdf[lo] > target ? lo : last;
                }
            } else {
                boolean[] taken = new boolean[c];
                for (int s = 0; s < numSamples; s++) {
                    double total = 0;
                    for (int j = 0; j < c; j++) {
                        total += weight[j];
                    }
                    int pick = -1;
                    if (total > 0) {
                        double target = u[row * numSamples + s] * total;
                        double acc = 0;
                        for (int j = 0; j < c; j++) {
                            if (weight[j] > 0) {
                                acc += weight[j];
                                pick = j;
                                if (acc > target) {
                                    break;
                                }
                            }
                        }
                    } else {
                        for (int j = 0; j < c && pick < 0; j++) {
                            pick = taken[j] ? -1 : j;
                        }
                    }
                    taken[pick] = true;
                    weight[pick] = 0;
                    out[row * numSamples + s] = pick;
                }
            }
        }
        return HostOps.longTensor(out, shape.length == 1 ? new int[] {numSamples} : new int[] {rows, numSamples});
    }
}
