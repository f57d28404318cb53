package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;
import java.util.List;

/**
 * The step arithmetic of the recurrent modules and cells, from differentiable Tensor ops only (so autograd and the
 * tracer see ordinary matmuls and elementwise ops). {@code xp} is a step's input projection, already holding
 * {@code b_ih} (and, for RNN and LSTM, {@code b_hh}, folded in once per layer); the hidden projection is one GEMM
 * with {@code xp} as its addend: {@code addmm(xp, h, W_hh^T)}.
 *
 * <p>The {@code *Layer} functions run one layer in one direction over a whole time-major sequence, as {@link RNNBase}
 * does for each of its layers and directions; they are public for the ONNX importer's LSTM, GRU and RNN operators,
 * which run the same recurrence on weights converted to torch's gate order.
 */
public final class Recurrent {
    private Recurrent() {
    }

    /** One step: from the step's input projection and the previous state, the next state ({h'} or {h', c'}). */
    private interface Step {
        Tensor[] next(Tensor xt, Tensor h, Tensor c);
    }

    /**
     * An Elman layer over {@code xp [T, B, H]} (both biases in it) from {@code h0 [B, H]}, backwards in time when
     * {@code reverse}: returns {output [T, B, H], h_n}.
     */
    public static Tensor[] rnnLayer(Tensor xp, Tensor h0, Tensor whh, boolean relu, boolean reverse) {
        return sequence(xp, h0, null, reverse, (xt, h, c) -> new Tensor[] {rnnStep(xt, h, whh, relu)});
    }

    /**
     * An LSTM layer over {@code xp [T, B, 4H]} (gates i, f, g, o as torch's; both biases in it) from {@code h0, c0}:
     * returns {output, h_n, c_n}. {@code whr} (torch's projection) and {@code peepholes} ({@code [3, H]}: the weights of
     * c in the i, f and o gates, as ONNX's P; torch has none) may be null.
     */
    public static Tensor[] lstmLayer(Tensor xp, Tensor h0, Tensor c0, Tensor whh, Tensor whr, Tensor peepholes, boolean reverse) {
        return sequence(xp, h0, c0, reverse, (xt, h, c) -> lstmStep(xt, h, c, whh, whr, peepholes));
    }

    /**
     * A GRU layer over {@code xp [T, B, 3H]} (gates r, z, n as torch's; b_ih in it) from {@code h0}: returns {output,
     * h_n}. {@code linearBeforeReset} is torch's form, {@code r (W_hn h + b_hn)}; without it, ONNX's default,
     * {@code (r h) W_hn^T + b_hn}.
     */
    public static Tensor[] gruLayer(Tensor xp, Tensor h0, Tensor whh, Tensor bhh, boolean linearBeforeReset, boolean reverse) {
        return sequence(xp, h0, null, reverse, (xt, h, c) -> new Tensor[] {gruStep(xt, h, whh, bhh, linearBeforeReset)});
    }

    /** The time loop: {output [T, B, H], h_n, c_n (null but for LSTM)}. */
    private static Tensor[] sequence(Tensor xp, Tensor h0, Tensor c0, boolean reverse, Step step) {
        int steps = xp.size(0);
        boolean noGraph = !Autograd.isGradEnabled();
        Tensor h = h0;
        Tensor c = c0;
        Tensor[] seq = new Tensor[steps];
        for (int s = 0; s < steps; s++) {
            int t = reverse ? steps - 1 - s : s;
            // without a graph nothing refers to a step's gates once h and c are out: they go back at once
            try (MemoryScope scope = noGraph ? MemoryScope.open() : null) {
                Tensor[] hc = step.next(xp.select(0, t), h, c);
                h = hc[0];
                c = hc.length > 1 ? hc[1] : null;
                if (scope != null) {
                    scope.keep(h);
                    if (c != null) {
                        scope.keep(c);
                    }
                }
            }
            seq[t] = h;
        }
        return new Tensor[] {Tensor.stack(seq, 0), h, c};
    }

    /** {@code act(xp + h W_hh^T)}; xp holds both biases. */
    static Tensor rnnStep(Tensor xp, Tensor h, Tensor whh, boolean relu) {
        Tensor pre = Tensor.addmm(xp, h, whh.t());
        return relu ? pre.relu() : pre.tanh();
    }

    /**
     * LSTM: gates {@code xp + h W_hh^T} split as torch's i, f, g, o; {@code c' = σ(f) c + σ(i) tanh(g)},
     * {@code h' = σ(o) tanh(c')}, then {@code h' W_hr^T} where there is a projection. Returns {h', c'}.
     */
    static Tensor[] lstmStep(Tensor xp, Tensor h, Tensor c, Tensor whh, Tensor whr) {
        return lstmStep(xp, h, c, whh, whr, null);
    }

    /**
     * The same with ONNX's peepholes {@code p [3, H]} (rows i, f, o), when not null: {@code i = σ(.. + p_i c)},
     * {@code f = σ(.. + p_f c)}, and the output gate sees the new cell, {@code o = σ(.. + p_o c')}.
     */
    static Tensor[] lstmStep(Tensor xp, Tensor h, Tensor c, Tensor whh, Tensor whr, Tensor p) {
        Tensor gates = Tensor.addmm(xp, h, whh.t());
        List<Tensor> g = gates.chunk(4, 1);
        Tensor i = p == null ? g.get(0).sigmoid() : g.get(0).add(p.select(0, 0).mul(c)).sigmoid();
        Tensor f = p == null ? g.get(1).sigmoid() : g.get(1).add(p.select(0, 1).mul(c)).sigmoid();
        Tensor cand = g.get(2).tanh();
        Tensor c1 = f.mul(c).add(i.mul(cand));
        Tensor o = p == null ? g.get(3).sigmoid() : g.get(3).add(p.select(0, 2).mul(c1)).sigmoid();
        Tensor h1 = o.mul(c1.tanh());
        if (whr != null) {
            h1 = h1.mm(whr.t());
        }
        return new Tensor[] {h1, c1};
    }

    static Tensor gruStep(Tensor xp, Tensor h, Tensor whh, Tensor bhh) {
        return gruStep(xp, h, whh, bhh, true);
    }

    /**
     * GRU: {@code gi = xp} (with b_ih), {@code gh = h W_hh^T + b_hh}, split as torch's r, z, n;
     * {@code r = σ(gi_r + gh_r)}, {@code z = σ(gi_z + gh_z)}, {@code n = tanh(gi_n + r (W_hn h + b_hn))},
     * {@code h' = (1 - z) n + z h = n + z (h - n)}. Without {@code linearBeforeReset} (ONNX's default) the reset gate
     * acts before the hidden projection of n: {@code n = tanh(gi_n + (r h) W_hn^T + b_hn)}.
     */
    static Tensor gruStep(Tensor xp, Tensor h, Tensor whh, Tensor bhh, boolean linearBeforeReset) {
        int hs = h.size(1);
        Tensor gh = F.linear(h, linearBeforeReset ? whh : whh.narrow(0, 0, 2 * hs), linearBeforeReset || bhh == null ? bhh : bhh.narrow(0, 0, 2 * hs));
        Tensor rz = xp.narrow(1, 0, 2 * hs).add(gh.narrow(1, 0, 2 * hs)).sigmoid();
        Tensor r = rz.narrow(1, 0, hs);
        Tensor z = rz.narrow(1, hs, hs);
        Tensor hn = linearBeforeReset ? r.mul(gh.narrow(1, 2 * hs, hs))
                : F.linear(r.mul(h), whh.narrow(0, 2 * hs, hs), bhh == null ? null : bhh.narrow(0, 2 * hs, hs));
        Tensor n = xp.narrow(1, 2 * hs, hs).add(hn).tanh();
        return n.add(z.mul(h.sub(n)));
    }
}
