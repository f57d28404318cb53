package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;
import java.util.List;

/**
 * The step arithmetic of the recurrent modules and cells, from differentiable Tensor ops only (so autograd and the
 * tracer see ordinary matmuls and elementwise ops). {@code xp} is a step's input projection, already holding
 * {@code b_ih} (and, for RNN and LSTM, {@code b_hh}, folded in once per layer); the hidden projection is one GEMM
 * with {@code xp} as its addend: {@code addmm(xp, h, W_hh^T)}.
 */
final class Recurrent {
    private Recurrent() {
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
        Tensor gates = Tensor.addmm(xp, h, whh.t());
        List<Tensor> g = gates.chunk(4, 1);
        Tensor i = g.get(0).sigmoid();
        Tensor f = g.get(1).sigmoid();
        Tensor cand = g.get(2).tanh();
        Tensor o = g.get(3).sigmoid();
        Tensor c1 = f.mul(c).add(i.mul(cand));
        Tensor h1 = o.mul(c1.tanh());
        if (whr != null) {
            h1 = h1.mm(whr.t());
        }
        return new Tensor[] {h1, c1};
    }

    /**
     * GRU: {@code gi = xp} (with b_ih), {@code gh = h W_hh^T + b_hh}, split as torch's r, z, n;
     * {@code r = σ(gi_r + gh_r)}, {@code z = σ(gi_z + gh_z)}, {@code n = tanh(gi_n + r (W_hn h + b_hn))},
     * {@code h' = (1 - z) n + z h = n + z (h - n)}.
     */
    static Tensor gruStep(Tensor xp, Tensor h, Tensor whh, Tensor bhh) {
        Tensor gh = F.linear(h, whh, bhh);
        int hs = h.size(1);
        Tensor rz = xp.narrow(1, 0, 2 * hs).add(gh.narrow(1, 0, 2 * hs)).sigmoid();
        Tensor r = rz.narrow(1, 0, hs);
        Tensor z = rz.narrow(1, hs, hs);
        Tensor n = xp.narrow(1, 2 * hs, hs).add(r.mul(gh.narrow(1, 2 * hs, hs))).tanh();
        return n.add(z.mul(h.sub(n)));
    }
}
