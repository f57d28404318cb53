package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Attention;
import java.util.Arrays;

/**
 * Tiled scaled dot-product attention (the "flash" path of {@code F.scaled_dot_product_attention}): forward and
 * backward each one kernel ({@code kernels.Attention}) that never holds the {@code [L, S]} scores, so memory grows
 * with the context length, not its square. The forward is a plan step. The simple path (scores materialised, any
 * mask, dropout) is {@code nn.functional.F.scaledDotProductAttention}, which picks this one for long contexts.
 * Tests: {@code nn.AttentionTest} (PyTorch 1.13 goldens, gradcheck, plan, the same bits at every width).
 */
final class AttentionOps {
    private AttentionOps() {
    }

    /**
     * {@code dropout(softmax(q k^T * scale [+ causal mask]), p) v} over the last two dims of {@code q [..., L, E]},
     * {@code k [..., S, E]}, {@code v [..., S, Ev]}; batch dims broadcast. Dropout (p > 0) draws its mask's seed from
     * the global generator; such a call is no plan step (a plan would replay one mask), so tracing refuses it.
     */
    static Tensor flash(Tensor q, Tensor k, Tensor v, boolean causal, double scale, double dropoutP) {
        for (Tensor t : new Tensor[] {q, k, v}) {
            t.requireFloat("scaled_dot_product_attention");
        }
        if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2 || q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: expected query [..., L, E], key [..., S, E], value [..., S, Ev];"
                    + " got " + q.size() + ", " + k.size() + ", " + v.size());
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: scale must be a positive finite number, got " + scale);
        }
        if (!(dropoutP >= 0 && dropoutP < 1)) {
            throw new IllegalArgumentException("scaled_dot_product_attention: the tiled kernel takes dropout_p in [0, 1), got " + dropoutP);
        }
        int[] qs = q.shapeRef();
        int[] ks = k.shapeRef();
        int[] vs = v.shapeRef();
        int[] batch;
        try {
            batch = Shapes.broadcast(Shapes.broadcast(lead(qs), lead(ks)), lead(vs));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("scaled_dot_product_attention: the batch dims of query " + str(qs) + ", key " + str(ks)
                    + " and value " + str(vs) + " do not broadcast", e);
        }
        int l = qs[qs.length - 2];
        int e = qs[qs.length - 1];
        int s = ks[ks.length - 2];
        int ev = vs[vs.length - 1];
        int b = Shapes.checkedNumel(batch);
        Tensor q3 = rows(q, batch, b, l, e);
        Tensor k3 = rows(k, batch, b, s, e);
        Tensor v3 = rows(v, batch, b, s, ev);
        boolean record = Tensor.recording(q3, k3, v3);
        long scratch = record ? Attention.backwardScratchFloats(s, e, ev) : Attention.forwardScratchFloats(s, e, ev);
        if (scratch > Integer.MAX_VALUE - 16) { // checked before anything is allocated: the kernel's per-thread buffer
            throw new IllegalArgumentException("scaled_dot_product_attention: key [" + s + ", " + e + "] and value [" + s + ", " + ev
                    + "] need " + scratch + " floats of scratch per thread, more than one array holds; use the simple path");
        }
        Tensor out = Tensor.allocate(DType.FLOAT32, new int[] {b, l, ev});
        Tensor lse = record ? Tensor.allocate(DType.FLOAT32, new int[] {b, l}) : null;
        float sc = (float) scale;
        // with dropout the step draws a seed per run into `seed` (8 bytes), which the backward reads
        Tensor seed = dropoutP > 0 ? Tensor.allocate(DType.FLOAT32, new int[] {2}) : null;
        double p = dropoutP;
        Launch.runOptional(r -> new PlanStep.Attention(r[0], r[1], r[2], b, l, s, e, ev, sc, causal, r[3], p, r[4]), out, q3, k3, v3, lse, seed);
        if (record) {
            Tensor.record(out, () -> new ScaledDotProductFlashAttentionBackward0(q3, k3, v3, out, lse, seed, b, l, s, e, ev, sc, causal, p),
                    q3, k3, v3);
            lse.close(); // the node keeps its own reference
        }
        if (seed != null) {
            seed.close();
        }
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = l;
        outShape[batch.length + 1] = ev;
        return out.view(outShape);
    }

    private static int[] lead(int[] shape) {
        return Arrays.copyOf(shape, shape.length - 2);
    }

    /** t broadcast to {@code batch + [rows, cols]} and flattened to a contiguous {@code [b, rows, cols]}. */
    private static Tensor rows(Tensor t, int[] batch, int b, int rows, int cols) {
        int[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = rows;
        full[batch.length + 1] = cols;
        Tensor x = Arrays.equals(t.shapeRef(), full) ? t : t.expand(full);
        return x.reshape(b, rows, cols).contiguous();
    }

    /** dq, dk, dv from one kernel that recomputes the probabilities from the saved log-sum-exp. */
    static final class ScaledDotProductFlashAttentionBackward0 extends Node {
        private final Saved query;
        private final Saved key;
        private final Saved value;
        private final Saved output;
        private final Saved logsumexp;
        private final int b;
        private final int l;
        private final int s;
        private final int e;
        private final int ev;
        private final float scale;
        private final boolean causal;
        private final double dropoutP;
        private final Saved seed;

        ScaledDotProductFlashAttentionBackward0(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor seed, int b, int l, int s, int e,
                                                int ev, float scale, boolean causal, double dropoutP) {
            this.query = save(q, "query");
            this.key = save(k, "key");
            this.value = save(v, "value");
            this.output = save(out, "output");
            this.logsumexp = save(lse, "logsumexp");
            this.seed = seed == null ? null : save(seed, "philox_seed");
            this.b = b;
            this.l = l;
            this.s = s;
            this.e = e;
            this.ev = ev;
            this.scale = scale;
            this.causal = causal;
            this.dropoutP = dropoutP;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor dq = needsInputGrad(0) ? Tensor.allocate(DType.FLOAT32, new int[] {b, l, e}) : null;
            Tensor dk = needsInputGrad(1) ? Tensor.allocate(DType.FLOAT32, new int[] {b, s, e}) : null;
            Tensor dv = needsInputGrad(2) ? Tensor.allocate(DType.FLOAT32, new int[] {b, s, ev}) : null;
            Tensor result = dq != null ? dq : dk != null ? dk : dv;
            if (result == null) {
                return new Tensor[3];
            }
            int outIs = dq != null ? 0 : dk != null ? 1 : 2;
            Tensor dkExtra = outIs == 1 ? null : dk;
            Tensor dvExtra = outIs == 2 ? null : dv;
            Tensor sd = seed == null ? null : seed.get();
            g.withContiguous(gc -> Launch.runOptional(r -> new PlanStep.AttentionBackward(r[0], r[1], r[2], r[3], r[4], r[5], r[6], b, l, s, e, ev,
                    scale, causal, dropoutP, outIs, r[7], r[8]), result, query.get(), key.get(), value.get(), output.get(), logsumexp.get(), gc, sd,
                    dkExtra, dvExtra));
            return new Tensor[] {dq, dk, dv};
        }
    }
}
