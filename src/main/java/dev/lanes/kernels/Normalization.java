package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Layer normalisation over the last {@code n} floats of each of {@code rows} contiguous rows, forward and backward,
 * each a few vector passes over a row while it sits in L1.
 *
 * <p>Statistics are two-pass (mean, then the mean of squared deviations: no cancellation, unlike E[x^2] - E[x]^2),
 * and every sum is {@link Reductions#sumRow}'s canonical order, so the bits are the same at every vector width and
 * thread count. The squared deviations are staged in the output row, which the final pass overwrites: no scratch.
 * Rows split across {@link Parallel}'s workers in the forward and in the input gradient; the weight and bias
 * gradients are sums over rows, added row after row on one thread (a fixed order).
 */
public final class Normalization {
    private Normalization() {
    }

    /**
     * {@code y = (x - mean) * rstd * w + b} per row, {@code rstd = 1 / sqrt(var + eps)} with the biased variance.
     * {@code w} and {@code b} (n floats each) may be null; {@code mean} and {@code rstd} (rows floats each, for the
     * backward) may be null. Offsets are in elements.
     */
    public static void layerNorm(MemorySegment x, long xOff, int rows, int n, float eps, MemorySegment w, long wOff,
                                 MemorySegment b, long bOff, MemorySegment y, long yOff, MemorySegment mean, long meanOff,
                                 MemorySegment rstd, long rstdOff, boolean parallel) {
        int parts = parallel ? Parallel.partsFor((long) rows * n, 1 << 14) : 1;
        Parallel.forRange(Math.max(1, Math.min(parts, rows)), rows, (part, r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                layerNormRow(x, (xOff + (long) r * n) << 2, n, eps, w, wOff << 2, b, bOff << 2, y, (yOff + (long) r * n) << 2,
                        mean, meanOff + r, rstd, rstdOff + r);
            }
        });
    }

    private static void layerNormRow(MemorySegment x, long xb, int n, float eps, MemorySegment w, long wb, MemorySegment b, long bb,
                                     MemorySegment y, long yb, MemorySegment meanOut, long meanIdx, MemorySegment rstdOut, long rstdIdx) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        float mu = (float) (Reductions.sumRow(x, xb, n) / n);
        // pass 2: (x - mu)^2 staged in y, summed in the canonical order
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector d = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu);
            d.mul(d).intoMemorySegment(y, yb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float d = x.get(FLOAT, xb + i) - mu;
            y.set(FLOAT, yb + i, d * d);
        }
        float var = (float) (Reductions.sumRow(y, yb, n) / n);
        float rs = (float) (1.0 / Math.sqrt(var + eps));
        if (meanOut != null) {
            meanOut.set(FLOAT, meanIdx << 2, mu);
        }
        if (rstdOut != null) {
            rstdOut.set(FLOAT, rstdIdx << 2, rs);
        }
        // pass 3: y = (x - mu) rs w + b, the same operations in the vector loop and the tail
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            if (w != null) {
                v = v.mul(FloatVector.fromMemorySegment(F, w, wb + i, ORDER));
            }
            if (b != null) {
                v = v.add(FloatVector.fromMemorySegment(F, b, bb + i, ORDER));
            }
            v.intoMemorySegment(y, yb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float v = (x.get(FLOAT, xb + i) - mu) * rs;
            if (w != null) {
                v *= w.get(FLOAT, wb + i);
            }
            if (b != null) {
                v += b.get(FLOAT, bb + i);
            }
            y.set(FLOAT, yb + i, v);
        }
    }

    /**
     * Gradients of {@link #layerNorm} from the upstream {@code g}: {@code dx = rstd (gw - mean(gw) - xhat mean(gw xhat))}
     * with {@code gw = g w} and {@code xhat = (x - mean) rstd}; {@code dw += sum_rows g xhat}, {@code db += sum_rows g}
     * (dw and db are added to, so the caller zeroes them; either may be null, dx too). All contiguous, offsets in
     * elements.
     */
    public static void layerNormBackward(MemorySegment g, long gOff, MemorySegment x, long xOff, int rows, int n,
                                         MemorySegment mean, long meanOff, MemorySegment rstd, long rstdOff, MemorySegment w, long wOff,
                                         MemorySegment dx, long dxOff, MemorySegment dw, long dwOff, MemorySegment db, long dbOff,
                                         boolean parallel) {
        if (dx != null) {
            int parts = parallel ? Parallel.partsFor((long) rows * n, 1 << 14) : 1;
            Parallel.forRange(Math.max(1, Math.min(parts, rows)), rows, (part, r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    inputGradRow(g, (gOff + (long) r * n) << 2, x, (xOff + (long) r * n) << 2, n, mean.get(FLOAT, (meanOff + r) << 2),
                            rstd.get(FLOAT, (rstdOff + r) << 2), w, wOff << 2, dx, (dxOff + (long) r * n) << 2);
                }
            });
        }
        if (dw != null || db != null) {
            for (int r = 0; r < rows; r++) {
                paramGradRow(g, (gOff + (long) r * n) << 2, x, (xOff + (long) r * n) << 2, n, mean.get(FLOAT, (meanOff + r) << 2),
                        rstd.get(FLOAT, (rstdOff + r) << 2), dw, dwOff << 2, db, dbOff << 2);
            }
        }
    }

    private static void inputGradRow(MemorySegment g, long gb, MemorySegment x, long xb, int n, float mu, float rs,
                                     MemorySegment w, long wb, MemorySegment dx, long dxb) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        // sum(gw), with gw staged in dx
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gw = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (w != null) {
                gw = gw.mul(FloatVector.fromMemorySegment(F, w, wb + i, ORDER));
            }
            gw.intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            dx.set(FLOAT, dxb + i, w != null ? g.get(FLOAT, gb + i) * w.get(FLOAT, wb + i) : g.get(FLOAT, gb + i));
        }
        float meanGw = (float) (Reductions.sumRow(dx, dxb, n) / n);
        // sum(gw xhat), with gw xhat staged in dx
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            FloatVector.fromMemorySegment(F, dx, dxb + i, ORDER).mul(xhat).intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, dx.get(FLOAT, dxb + i) * xhat);
        }
        float meanGwXhat = (float) (Reductions.sumRow(dx, dxb, n) / n);
        // dx = rs (gw - mean(gw) - xhat mean(gw xhat))
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gw = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (w != null) {
                gw = gw.mul(FloatVector.fromMemorySegment(F, w, wb + i, ORDER));
            }
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
            gw.sub(meanGw).sub(xhat.mul(meanGwXhat)).mul(rs).intoMemorySegment(dx, dxb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float gw = w != null ? g.get(FLOAT, gb + i) * w.get(FLOAT, wb + i) : g.get(FLOAT, gb + i);
            float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
            dx.set(FLOAT, dxb + i, (gw - meanGw - xhat * meanGwXhat) * rs);
        }
    }

    private static void paramGradRow(MemorySegment g, long gb, MemorySegment x, long xb, int n, float mu, float rs,
                                     MemorySegment dw, long dwb, MemorySegment db, long dbb) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (dw != null) {
                FloatVector xhat = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sub(mu).mul(rs);
                FloatVector.fromMemorySegment(F, dw, dwb + i, ORDER).add(gv.mul(xhat)).intoMemorySegment(dw, dwb + i, ORDER);
            }
            if (db != null) {
                FloatVector.fromMemorySegment(F, db, dbb + i, ORDER).add(gv).intoMemorySegment(db, dbb + i, ORDER);
            }
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float gv = g.get(FLOAT, gb + i);
            if (dw != null) {
                float xhat = (x.get(FLOAT, xb + i) - mu) * rs;
                dw.set(FLOAT, dwb + i, dw.get(FLOAT, dwb + i) + gv * xhat);
            }
            if (db != null) {
                db.set(FLOAT, dbb + i, db.get(FLOAT, dbb + i) + gv);
            }
        }
    }
}
