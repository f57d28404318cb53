package dev.lanes;

import dev.lanes.autograd.Autograd;

/**
 * isnan / isinf / isfinite (bool results) and any / all. The three tests are comparisons Lanes already has, so a
 * traced plan replays them (a mask for masked_fill, say): {@code x != x}, {@code |x| == inf}, {@code x - x == 0}
 * (0 exactly for a finite x, NaN for an infinite or NaN one). any / all reduce "nonzero" (NaN included) over all
 * elements or along a dim with a sequential loop ({@link HostOps}; no plan step), like PyTorch: any of nothing is
 * false, all of nothing true.
 */
final class PredicateOps {
    private PredicateOps() {
    }

    enum Test {
        NAN, INF, FINITE
    }

    static Tensor test(Tensor x, Test t) {
        x.checkAlive();
        if (x.dtype() != DType.FLOAT32) { // integers and bools are never NaN nor infinite
            try (Tensor f = Tensor.zeros(x.shape())) {
                return f.eq(t == Test.FINITE ? 0 : 1);
            }
        }
        try (Autograd.Mode g = Autograd.noGrad()) {
            return switch (t) {
                case NAN -> x.ne(x);
                case INF -> {
                    try (Tensor a = x.abs()) {
                        yield a.eq(Double.POSITIVE_INFINITY);
                    }
                }
                case FINITE -> {
                    try (Tensor d = x.sub(x)) {
                        yield d.eq(0);
                    }
                }
            };
        }
    }

    /** any ({@code all} false) or all of the elements ({@code dim} null: a 0-d result) or along {@code dim}. */
    static Tensor anyAll(Tensor x, boolean all, Integer dim, boolean keepdim) {
        x.checkAlive();
        String op = all ? "all" : "any";
        Tracer.checkNoPlanStep(op);
        int[] shape = x.shape();
        Integer d = dim == null ? null : Shapes.wrapDim(dim, shape.length);
        int[] s = d == null ? new int[] {1, x.numel(), 1} : HostOps.split(shape, d);
        boolean[] v = nonzero(x);
        boolean[] out = new boolean[s[0] * s[2]];
        for (int o = 0; o < s[0]; o++) {
            for (int i = 0; i < s[2]; i++) {
                boolean acc = all;
                for (int k = 0; k < s[1] && acc == all; k++) {
                    acc = v[(o * s[1] + k) * s[2] + i];
                }
                out[o * s[2] + i] = acc;
            }
        }
        return HostOps.boolTensor(out, d == null ? new int[0] : HostOps.reducedShape(shape, d, keepdim));
    }

    private static boolean[] nonzero(Tensor x) {
        return switch (x.dtype()) {
            case BOOL -> HostOps.bools(x);
            case FLOAT32 -> {
                float[] f = HostOps.floats(x);
                boolean[] b = new boolean[f.length];
                for (int i = 0; i < f.length; i++) {
                    b[i] = f[i] != 0; // NaN != 0: true, as PyTorch
                }
                yield b;
            }
            case INT64 -> {
                long[] l = HostOps.longs(x);
                boolean[] b = new boolean[l.length];
                for (int i = 0; i < l.length; i++) {
                    b[i] = l[i] != 0;
                }
                yield b;
            }
        };
    }
}
