package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.LANES;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * softmax / log_softmax over one dim of a contiguous block viewed as {@code [outer, r, inner]}, numerically
 * stable (the max is subtracted before exp). Rows along the last dim ({@code inner == 1}) are vectorized along
 * the row; other dims are vectorized across {@code inner}. The output has the input's layout.
 */
public final class Softmax {
    private Softmax() {
    }

    public static void forward(boolean log, MemorySegment in, long inOff, int outer, int r, int inner, MemorySegment out, long outOff) {
        if (r == 0) {
            return;
        }
        int parts = Parallel.partsFor((long) outer * r * inner, 1 << 15);
        int chunks = Math.max(1, Math.min(parts, outer));
        if (chunks <= 1) { // directly: a capturing lambda is heap per call
            forwardRows(log, in, inOff, 0, outer, r, inner, out, outOff, inner == 1 ? null : new float[2 * inner]);
            return;
        }
        Parallel.forRange(chunks, outer, (part, o0, o1) -> {
            forwardRows(log, in, inOff, o0, o1, r, inner, out, outOff, inner == 1 ? null : new float[2 * inner]);
        });
    }

    /**
     * Outer slices [o0, o1) of {@link #forward} on the calling thread; {@code scratch} holds {@code 2 * inner}
     * floats when {@code inner > 1} (an inference plan passes its own).
     */
    public static void forwardRows(boolean log, MemorySegment in, long inOff, int o0, int o1, int r, int inner,
                                   MemorySegment out, long outOff, float[] scratch) {
        for (int o = o0; o < o1; o++) {
            long base = (long) o * r * inner;
            if (inner == 1) {
                row(log, in, (inOff + base) << 2, out, (outOff + base) << 2, r);
            } else {
                columns(log, in, inOff + base, out, outOff + base, r, inner, scratch);
            }
        }
    }

    /** One contiguous row of r floats (byte offsets). */
    private static void row(boolean log, MemorySegment in, long ib, MemorySegment out, long ob, int r) {
        long bytes = (long) r << 2;
        long vecEnd = bytes - bytes % VBYTES;
        // each vector pass is a method of its own: C2 compiles it with its own profile, so a pass this row's caller
        // rarely took (softmax after many log_softmax rows, or the reverse) still gets its vector ops intrinsified
        // (left in line on a cold branch, the normalising multiply ran the Vector API's allocating fallback: 24 KB
        // per call of a small GPT plan, seen in CI's 256-bit run after the whole suite)
        float max = maxOfVectors(in, ib, vecEnd);
        for (long i = vecEnd; i < bytes; i += 4) {
            max = Math.max(max, in.get(FLOAT, ib + i));
        }
        if (max == Float.NEGATIVE_INFINITY) {
            max = 0f; // all -inf: exp(-inf - 0) = 0, sum 0 -> NaN like PyTorch
        }
        // pass 2: out = exp(x - max) (Lanes' own exp: the same bits at every width and JIT tier), then its sum in
        // the canonical order of Reductions (out is scratch here for log_softmax too: out must not overlap in)
        expShifted(in, ib, out, ob, vecEnd, max);
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, VectorMath.exp(in.get(FLOAT, ib + i) - max));
        }
        float sum = (float) Reductions.sumRow(out, ob, r);
        // pass 3: normalise
        if (log) { // (x - max) - log(sum), PyTorch's order: x - (max + log(sum)) gave 0 for log 2 at [1e8, 1e8]
            float logSum = VectorMath.log(sum);
            subtractVectors(in, ib, out, ob, vecEnd, max, logSum);
            for (long i = vecEnd; i < bytes; i += 4) {
                out.set(FLOAT, ob + i, (in.get(FLOAT, ib + i) - max) - logSum);
            }
        } else {
            float inv = 1f / sum;
            scaleVectors(out, ob, vecEnd, inv);
            for (long i = vecEnd; i < bytes; i += 4) {
                out.set(FLOAT, ob + i, out.get(FLOAT, ob + i) * inv);
            }
        }
    }

    /** The largest element of the whole vectors [0, vecEnd) (byte offsets); -inf for none. */
    private static float maxOfVectors(MemorySegment in, long ib, long vecEnd) {
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            vmax = vmax.max(FloatVector.fromMemorySegment(F, in, ib + i, ORDER));
        }
        return vmax.reduceLanes(VectorOperators.MAX);
    }

    /** out = in - shift over whole vectors [0, vecEnd) (byte offsets): log_softmax's last pass. */
    private static void subtractVectors(MemorySegment in, long ib, MemorySegment out, long ob, long vecEnd, float max, float logSum) {
        FloatVector vm = FloatVector.broadcast(F, max);
        FloatVector vl = FloatVector.broadcast(F, logSum);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, in, ib + i, ORDER).sub(vm).sub(vl).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /** out *= scale over whole vectors [0, vecEnd) (byte offsets): softmax's last pass. */
    private static void scaleVectors(MemorySegment out, long ob, long vecEnd, float scale) {
        FloatVector vi = FloatVector.broadcast(F, scale);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, out, ob + i, ORDER).mul(vi).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /**
     * out = exp(in - max) over whole vectors [0, vecEnd) (byte offsets): VectorMath's flat row, exp written out in the
     * loop (a VectorMath.exp call C2 leaves out of line boxes every vector).
     */
    private static void expShifted(MemorySegment in, long ib, MemorySegment out, long ob, long vecEnd, float max) {
        VectorMath.expShiftedRow(in, ib, max, out, ob, vecEnd);
    }

    /** One row of {@link #columns}' exp pass over whole vectors: sum[i] += e = exp(in[i] - max[i]); out = e if store. */
    private static void expColumns(MemorySegment in, long rowB, MemorySegment out, long outB, int vecEnd, int inner, float[] scratch,
                                   boolean store) {
        for (int i = 0; i < vecEnd; i += LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromMemorySegment(F, in, rowB + ((long) i << 2), ORDER).sub(FloatVector.fromArray(F, scratch, i)));
            FloatVector.fromArray(F, scratch, inner + i).add(e).intoArray(scratch, inner + i);
            if (store) {
                e.intoMemorySegment(out, outB + ((long) i << 2), ORDER);
            }
        }
    }

    /** r rows of {@code inner} contiguous floats each: reduce across rows, lane by lane (element offsets). */
    private static void columns(boolean log, MemorySegment in, long inElem, MemorySegment out, long outElem, int r, int inner, float[] scratch) {
        // scratch[0..inner) = max, scratch[inner..2 inner) = sum
        for (int i = 0; i < inner; i++) {
            scratch[i] = Float.NEGATIVE_INFINITY;
            scratch[inner + i] = 0f;
        }
        int vecEnd = inner - inner % LANES;
        for (int k = 0; k < r; k++) {
            long rowB = (inElem + (long) k * inner) << 2;
            for (int i = 0; i < vecEnd; i += LANES) {
                FloatVector.fromArray(F, scratch, i).max(FloatVector.fromMemorySegment(F, in, rowB + ((long) i << 2), ORDER)).intoArray(scratch, i);
            }
            for (int i = vecEnd; i < inner; i++) {
                scratch[i] = Math.max(scratch[i], in.get(FLOAT, rowB + ((long) i << 2)));
            }
        }
        for (int i = 0; i < inner; i++) {
            if (scratch[i] == Float.NEGATIVE_INFINITY) {
                scratch[i] = 0f;
            }
        }
        for (int k = 0; k < r; k++) {
            long rowB = (inElem + (long) k * inner) << 2;
            long outB = (outElem + (long) k * inner) << 2;
            expColumns(in, rowB, out, outB, vecEnd, inner, scratch, !log);
            for (int i = vecEnd; i < inner; i++) {
                float e = VectorMath.exp(in.get(FLOAT, rowB + ((long) i << 2)) - scratch[i]);
                scratch[inner + i] += e;
                if (!log) {
                    out.set(FLOAT, outB + ((long) i << 2), e);
                }
            }
        }
        for (int i = 0; i < inner; i++) { // turn (max, sum) into what each element needs
            if (log) {
                scratch[inner + i] = VectorMath.log(scratch[inner + i]); // (x - max) - log(sum), as the last-dim path
            } else {
                scratch[inner + i] = 1f / scratch[inner + i];
            }
        }
        for (int k = 0; k < r; k++) {
            long rowB = (inElem + (long) k * inner) << 2;
            long outB = (outElem + (long) k * inner) << 2;
            for (int i = 0; i < inner; i++) {
                long ob = outB + ((long) i << 2);
                if (log) {
                    out.set(FLOAT, ob, (in.get(FLOAT, rowB + ((long) i << 2)) - scratch[i]) - scratch[inner + i]);
                } else {
                    out.set(FLOAT, ob, out.get(FLOAT, ob) * scratch[inner + i]);
                }
            }
        }
    }
}
