package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Pooling;

/**
 * max_pool2d, avg_pool2d and adaptive_avg_pool2d on {@code [N, C, H, W]} (or unbatched {@code [C, H, W]})
 * input. Forward and backward kernels: {@code kernels.Pooling}; tests: {@code KernelsGoldenTest}, {@code ConvPoolPropertyTest}.
 */
final class PoolOps {
    private PoolOps() {
    }

    /** The input seen as planes: N * C planes of H x W. */
    private record Planes(int planes, int h, int w, int[] lead) {
        static Planes of(Tensor x, String op) {
            int[] s = x.shapeRef();
            if (s.length != 3 && s.length != 4) {
                throw new IllegalArgumentException(op + ": Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input,"
                        + " but got shape " + str(s));
            }
            // PyTorch's pool2d_shape_check: only a 4-d batch may be empty (a zero-height plane gave a -inf / NaN
            // window, zero channels an empty result); adaptive pooling checks only the plane (below)
            for (int d = s.length == 4 ? 1 : 0; d < s.length && !op.startsWith("adaptive"); d++) {
                if (s[d] == 0) {
                    throw new IllegalArgumentException(op + ": Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input,"
                            + " but got shape " + str(s) + " (only the batch may be empty)");
                }
            }
            int h = s[s.length - 2];
            int w = s[s.length - 1];
            int planes = s.length == 4 ? s[0] * s[1] : s[0];
            int[] lead = s.length == 4 ? new int[] {s[0], s[1]} : new int[] {s[0]};
            return new Planes(planes, h, w, lead);
        }

        int[] outShape(int oh, int ow) {
            int[] o = new int[lead.length + 2];
            System.arraycopy(lead, 0, o, 0, lead.length);
            o[lead.length] = oh;
            o[lead.length + 1] = ow;
            return o;
        }
    }

    private static int[] pair(int[] v, String name, int[] dflt) {
        if (v == null || v.length == 0) {
            return dflt;
        }
        if (v.length == 1) {
            return new int[] {v[0], v[0]};
        }
        if (v.length == 2) {
            return v;
        }
        throw new IllegalArgumentException(name + " must be a single int or a pair of ints, got " + str(v));
    }

    static Pooling.Window window(String op, int[] kernel, int[] stride, int[] padding, int[] dilation) {
        int[] k = pair(kernel, "kernel_size", null);
        if (k == null) {
            throw new IllegalArgumentException(op + ": kernel_size must be given");
        }
        int[] s = pair(stride, "stride", k);
        int[] p = pair(padding, "padding", new int[] {0, 0});
        int[] d = pair(dilation, "dilation", new int[] {1, 1});
        for (int i = 0; i < 2; i++) {
            if (k[i] <= 0 || s[i] <= 0 || d[i] <= 0 || p[i] < 0) {
                throw new IllegalArgumentException(op + ": kernel_size, stride and dilation must be positive and padding non-negative, got kernel "
                        + str(k) + ", stride " + str(s) + ", padding " + str(p) + ", dilation " + str(d));
            }
            // PyTorch checks pad <= kernel_size / 2 for every pool (pool2d_shape_check), dilated or not: a larger pad let a
            // max pool's window lie wholly in the padding (-inf, index -1)
            if (p[i] > k[i] / 2) {
                throw new IllegalArgumentException(op + ": pad should be at most half of kernel size, but got pad=" + p[i]
                        + ", kernel_size=" + k[i] + " and dilation=" + d[i]);
            }
        }
        return new Pooling.Window(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]);
    }

    private static int[] outputSize(String op, Planes pl, Pooling.Window win, boolean ceil) {
        int oh = Pooling.outputSize(pl.h(), win.kH(), win.pH(), win.sH(), win.dH(), ceil);
        int ow = Pooling.outputSize(pl.w(), win.kW(), win.pW(), win.sW(), win.dW(), ceil);
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException(op + ": Given input size: (" + pl.h() + "x" + pl.w() + "). Calculated output size: ("
                    + oh + "x" + ow + "). Output size is too small");
        }
        return new int[] {oh, ow};
    }

    static Tensor maxPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        x.requireFloat("max_pool2d");
        Planes pl = Planes.of(x, "max_pool2d");
        Pooling.Window win = window("max_pool2d", kernel, stride, padding, dilation);
        int[] o = outputSize("max_pool2d", pl, win, ceilMode);
        if ((long) pl.h() * pl.w() >= (1L << 24)) {
            throw new IllegalArgumentException("max_pool2d: planes of " + pl.h() + "x" + pl.w() + " exceed 2^24 cells, the largest Lanes supports");
        }
        boolean record = Tensor.recording(x);
        Tensor out = Tensor.allocate(DType.FLOAT32, pl.outShape(o[0], o[1]));
        // argmax positions for backward, as exact float values (internal; never handed to the user)
        Tensor indices = record ? Tensor.allocate(DType.FLOAT32, pl.outShape(o[0], o[1])) : null;
        int[] outShape = out.shapeRef().clone();
        x.withContiguous(src -> indices == null
                ? Launch.run(r -> new PlanStep.Pool(PlanStep.Pool.Kind.MAX, pl.planes(), pl.h(), pl.w(), win, false, o[0], o[1], r[0], outShape), out, src)
                // recording: the argmax positions are a second output
                : Launch.run(r -> new PlanStep.Pool(PlanStep.Pool.Kind.MAX, pl.planes(), pl.h(), pl.w(), win, false, o[0], o[1],
                        r[0], r[1], outShape), out, src, indices));
        if (record) {
            boolean tiles = Pooling.tiles2x2(win, pl.h(), pl.w(), o[0], o[1]);
            Tensor.record(out, () -> new MaxPool2DWithIndicesBackward0(x, indices, pl, tiles ? o[1] : 0), x);
            indices.close(); // the node keeps its own reference
        }
        return out;
    }

    static final class MaxPool2DWithIndicesBackward0 extends Node {
        private final int[] inputShape;
        private final Planes planes;
        private final Saved indices;

        /** The output width when every input cell lies in exactly one 2 x 2 window (Pooling.tiles2x2), else 0. */
        private final int tiledWidth;

        MaxPool2DWithIndicesBackward0(Tensor x, Tensor indices, Planes planes, int tiledWidth) {
            this.inputShape = x.shape();
            this.planes = planes;
            this.indices = save(indices, "result 1");
            this.tiledWidth = tiledWidth;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor idx = indices.get();
            int outPerPlane = idx.numel() / Math.max(planes.planes(), 1);
            return new Tensor[] {g.withContiguous(gc -> Launch.run(r -> new PlanStep.MaxPoolBackward(planes.planes(), outPerPlane,
                    planes.h() * planes.w(), tiledWidth, r[0], r[1]), Tensor.allocate(DType.FLOAT32, inputShape), gc, idx))};
        }
    }

    static Tensor avgPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        x.requireFloat("avg_pool2d");
        Planes pl = Planes.of(x, "avg_pool2d");
        Pooling.Window win = window("avg_pool2d", kernel, stride, padding, null);
        int[] o = outputSize("avg_pool2d", pl, win, ceilMode);
        Tensor out = Tensor.allocate(DType.FLOAT32, pl.outShape(o[0], o[1]));
        int[] outShape = out.shapeRef().clone();
        x.withContiguous(src -> Launch.run(
                r -> new PlanStep.Pool(PlanStep.Pool.Kind.AVG, pl.planes(), pl.h(), pl.w(), win, countIncludePad, o[0], o[1], r[0], outShape), out, src));
        if (Tensor.recording(x, null)) {
            Tensor.record(out, () -> new AvgBackward("AvgPool2DBackward0", x.shape(), pl, win, countIncludePad, o), x);
        }
        return out;
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int[] outputSize) {
        x.requireFloat("adaptive_avg_pool2d");
        Planes pl = Planes.of(x, "adaptive_avg_pool2d");
        int[] o = pair(outputSize, "output_size", null);
        if (o == null || o[0] <= 0 || o[1] <= 0) {
            throw new IllegalArgumentException("adaptive_avg_pool2d: output_size must be positive, got " + (o == null ? "nothing" : str(o)));
        }
        if (pl.h() == 0 || pl.w() == 0) {
            throw new IllegalArgumentException("adaptive_avg_pool2d: expected input with non-zero spatial size, got " + str(x.shapeRef()));
        }
        Tensor out = Tensor.allocate(DType.FLOAT32, pl.outShape(o[0], o[1]));
        int[] outShape = out.shapeRef().clone();
        x.withContiguous(src -> Launch.run(
                r -> new PlanStep.Pool(PlanStep.Pool.Kind.ADAPTIVE_AVG, pl.planes(), pl.h(), pl.w(), null, false, o[0], o[1], r[0], outShape), out, src));
        // PyTorch computes a 1 x 1 output as a mean: its node is MeanBackward1
        String node = o[0] == 1 && o[1] == 1 ? "MeanBackward1" : "AdaptiveAvgPool2DBackward0";
        if (Tensor.recording(x, null)) {
            Tensor.record(out, () -> new AvgBackward(node, x.shape(), pl, null, false, o), x);
        }
        return out;
    }

    /** Average pooling backward: each output's gradient is shared by its window (window == null: adaptive). */
    static final class AvgBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final Planes planes;
        private final Pooling.Window window;
        private final boolean countIncludePad;
        private final int[] out;

        AvgBackward(String name, int[] inputShape, Planes planes, Pooling.Window window, boolean countIncludePad, int[] out) {
            this.name = name;
            this.inputShape = inputShape;
            this.planes = planes;
            this.window = window;
            this.countIncludePad = countIncludePad;
            this.out = out;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.withContiguous(gc -> Launch.run(r -> new PlanStep.AvgPoolBackward(planes.planes(), planes.h(), planes.w(), window,
                    countIncludePad, out[0], out[1], r[0]), Tensor.allocate(DType.FLOAT32, inputShape), gc))};
        }
    }
}
