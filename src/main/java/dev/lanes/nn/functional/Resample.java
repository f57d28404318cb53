package dev.lanes.nn.functional;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.Arrays;

/**
 * Resampling one axis of a tensor: the kernel shared by {@link F#interpolate} (PyTorch's nearest / linear / bilinear)
 * and the ONNX importer's Resize. Both modes are separable, so a resize is one call per resized axis: nearest is an
 * index_select of the source index of each output position; linear the index_selects of the two neighbours of each
 * source coordinate, weighted and summed. The indices and weights are constants computed here (constants to a traced
 * plan), the gradient that of index_select, mul and add (index_add of the weighted gradients, as PyTorch's upsample
 * backward sums them). The callers compute the source indices or coordinates by their own rules.
 */
public final class Resample {
    private Resample() {
    }

    /** {@code out[..., o, ...] = t[..., index[o], ...]} along {@code dim}; each index must lie in {@code [0, t.size(dim))}. */
    public static Tensor nearest(Tensor t, int dim, long[] index) {
        try (Tensor idx = Tensor.of(index, index.length)) {
            return t.indexSelect(dim, idx);
        }
    }

    /**
     * Linear interpolation along {@code dim} at the source coordinates {@code source} (one per output position):
     * each is clamped to {@code [0, size - 1]} (the edge value beyond the ends), then {@code (1 - f) t[lo] + f t[hi]}
     * with {@code lo = floor(c)}, {@code hi = min(lo + 1, size - 1)} and {@code f = c - lo}.
     */
    public static Tensor linear(Tensor t, int dim, double[] source) {
        int rank = t.dim();
        int d = dim < 0 ? dim + rank : dim;
        int in = t.size(d);
        int out = source.length;
        long[] low = new long[out];
        long[] high = new long[out];
        float[] lowWeight = new float[out];
        float[] highWeight = new float[out];
        for (int o = 0; o < out; o++) {
            double c = Math.max(0, Math.min(in - 1, source[o]));
            long lo = (long) Math.floor(c);
            double frac = c - lo;
            low[o] = lo;
            high[o] = Math.min(in - 1, lo + 1);
            lowWeight[o] = (float) (1 - frac);
            highWeight[o] = (float) frac;
        }
        int[] weightShape = new int[rank];
        Arrays.fill(weightShape, 1);
        weightShape[d] = out;
        // the indices, weights and the two weighted halves are temporaries: released here (a graph that saved them
        // keeps their storage until its backward), only the sum is the caller's
        try (MemoryScope s = MemoryScope.open()) {
            Tensor below = t.indexSelect(d, Tensor.of(low, out)).mul(Tensor.of(lowWeight, weightShape));
            Tensor above = t.indexSelect(d, Tensor.of(high, out)).mul(Tensor.of(highWeight, weightShape));
            return s.keep(below.add(above));
        }
    }
}
