package dev.lanes.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Cross-entropy (logits) and NLL (log-probabilities) of {@code [n, c]} scores against int64 class indices, forward
 * and backward, one pass per row in double with {@code StrictMath} (so the loss does not depend on the vector width;
 * the rows are short next to the layers before them). Loss of row i:
 * {@code (1 - eps) w[t] (-logp[t]) + eps / c sum_c w[c] (-logp[c])}; mean divides by the summed weight of the
 * rows whose target is not {@code ignoreIndex}, as PyTorch does. Offsets count elements. Targets are checked
 * before anything is written: an index outside [0, c) other than {@code ignoreIndex} throws.
 */
public final class ClassificationLoss {
    public static final int NONE = 0;
    public static final int MEAN = 1;
    public static final int SUM = 2;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;

    private ClassificationLoss() {
    }

    /** Throws unless every target is a class index in [0, c) or {@code ignoreIndex}. */
    public static void checkTargets(MemorySegment t, long tOff, int n, int c, int ignoreIndex) {
        for (int i = 0; i < n; i++) {
            long v = t.getAtIndex(L, tOff + i);
            if (v != ignoreIndex && (v < 0 || v >= c)) {
                throw new IndexOutOfBoundsException("Target " + v + " is out of bounds (" + c + " classes)");
            }
        }
    }

    private static double weight(MemorySegment w, long wOff, long cls) {
        return w == null ? 1 : w.getAtIndex(F, wOff + cls);
    }

    /** The summed weight of the rows not ignored: mean's denominator. */
    private static double denominator(MemorySegment t, long tOff, MemorySegment w, long wOff, int n, int ignoreIndex) {
        double d = 0;
        for (int i = 0; i < n; i++) {
            long ti = t.getAtIndex(L, tOff + i);
            if (ti != ignoreIndex) {
                d += weight(w, wOff, ti);
            }
        }
        return d;
    }

    /** log(sum(exp(x[base .. base + c)))), stable: the max is taken out first. */
    private static double logSumExp(MemorySegment x, long base, int c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) {
            max = Math.max(max, x.getAtIndex(F, base + i));
        }
        double sum = 0;
        for (int i = 0; i < c; i++) {
            sum += StrictMath.exp(x.getAtIndex(F, base + i) - max);
        }
        return max + StrictMath.log(sum);
    }

    /**
     * The loss: {@code out[0]} for MEAN and SUM, {@code out[0 .. n)} per row for NONE (0 for ignored rows). A mean
     * over zero weight (every target ignored) is NaN, as in PyTorch.
     */
    public static void forward(boolean logits, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w, long wOff, int n, int c,
                               int ignoreIndex, double eps, int reduction, MemorySegment out, long outOff) {
        checkTargets(t, tOff, n, c, ignoreIndex);
        double total = 0;
        for (int i = 0; i < n; i++) {
            long ti = t.getAtIndex(L, tOff + i);
            double loss = 0;
            if (ti != ignoreIndex) {
                long base = xOff + (long) i * c;
                double lse = logits ? logSumExp(x, base, c) : 0;
                loss = (1 - eps) * weight(w, wOff, ti) * -(x.getAtIndex(F, base + ti) - lse);
                if (eps > 0) {
                    double smooth = 0;
                    for (int k = 0; k < c; k++) {
                        smooth += weight(w, wOff, k) * -(x.getAtIndex(F, base + k) - lse);
                    }
                    loss += eps / c * smooth;
                }
            }
            if (reduction == NONE) {
                out.setAtIndex(F, outOff + i, (float) loss);
            } else {
                total += loss;
            }
        }
        if (reduction != NONE) {
            out.setAtIndex(F, outOff, (float) (reduction == SUM ? total : total / denominator(t, tOff, w, wOff, n, ignoreIndex)));
        }
    }

    /**
     * {@code dx [n, c]} from the loss's gradient {@code g} (one value, or one per row for NONE). Logits:
     * {@code (1 - eps) w[t] (p - [k == t]) + eps / c (W p - w[k])} with p the softmax of the row and W the summed
     * weights; NLL: only the target column, {@code -w[t]}.
     */
    public static void backward(boolean logits, MemorySegment g, long gOff, MemorySegment x, long xOff, MemorySegment t, long tOff, MemorySegment w,
                                long wOff, int n, int c, int ignoreIndex, double eps, int reduction, MemorySegment dx, long dxOff) {
        checkTargets(t, tOff, n, c, ignoreIndex);
        // zeroed by the vector fill: asSlice(...).fill would allocate a segment per call (a compiled step allocates nothing)
        Elementwise.unaryContiguous(UnaryOp.FILL, 0f, 0f, dx, dxOff << 2, dx, dxOff << 2, Math.toIntExact((long) n * c));
        double wSum = 0;
        for (int k = 0; k < c; k++) {
            wSum += weight(w, wOff, k);
        }
        double den = reduction == MEAN ? denominator(t, tOff, w, wOff, n, ignoreIndex) : 1;
        for (int i = 0; i < n; i++) {
            long ti = t.getAtIndex(L, tOff + i);
            if (ti == ignoreIndex) {
                continue;
            }
            double up = switch (reduction) {
                case NONE -> g.getAtIndex(F, gOff + i);
                case SUM -> g.getAtIndex(F, gOff);
                default -> g.getAtIndex(F, gOff) / den;
            };
            long base = (long) i * c;
            double wt = weight(w, wOff, ti);
            if (logits) {
                double lse = logSumExp(x, xOff + base, c);
                for (int k = 0; k < c; k++) {
                    double p = StrictMath.exp(x.getAtIndex(F, xOff + base + k) - lse);
                    double d = (1 - eps) * wt * (p - (k == ti ? 1 : 0)) + eps / c * (wSum * p - weight(w, wOff, k));
                    dx.setAtIndex(F, dxOff + base + k, (float) (d * up));
                }
            } else {
                dx.setAtIndex(F, dxOff + base + ti, (float) (-wt * up));
            }
        }
    }
}
