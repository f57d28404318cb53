package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Upsample;
import java.lang.foreign.MemorySegment;

/**
 * F.interpolate's 4-d nearest and bilinear resize of {@code [N, C, H, W]} float32 input as one kernel each way
 * ({@code kernels.Upsample}): the same bits as resampling rows, then columns, with index_select, mul and add
 * ({@code nn.functional.Resample}), without its full-size temporaries. The source rows and columns are the caller's
 * (F computes them by torch 1.13's rules); a plan replays the step, the gradient is the kernel's adjoint.
 */
final class UpsampleOps {
    private UpsampleOps() {
    }

    static Tensor nearest2d(Tensor x, int[] rows, int[] cols) {
        int[] s = check(x, "upsample_nearest2d");
        if (!Upsample.monotoneIndex(rows, s[2]) || !Upsample.monotoneIndex(cols, s[3])) {
            throw new IllegalArgumentException("upsample_nearest2d: the source indices must lie in the input and not decrease");
        }
        return run(x, s, rows.clone(), cols.clone(), null, null);
    }

    static Tensor bilinear2d(Tensor x, double[] rowSource, double[] colSource) {
        int[] s = check(x, "upsample_bilinear2d");
        Upsample.Linear rows = Upsample.Linear.of(s[2], rowSource);
        Upsample.Linear cols = Upsample.Linear.of(s[3], colSource);
        if (rows == null || cols == null || rows.size() == 0 || cols.size() == 0) {
            throw new IllegalArgumentException("upsample_bilinear2d: the source coordinates must not decrease and be at least one per axis");
        }
        return run(x, s, null, null, rows, cols);
    }

    private static int[] check(Tensor x, String op) {
        x.requireFloat(op);
        int[] s = x.shapeRef();
        if (s.length != 4 || s[2] == 0 || s[3] == 0) {
            throw new IllegalArgumentException(op + ": expected [N, C, H, W] input with a non-empty plane, got " + str(s));
        }
        return s;
    }

    private static Tensor run(Tensor x, int[] s, int[] rows, int[] cols, Upsample.Linear lRows, Upsample.Linear lCols) {
        boolean bilinear = lRows != null;
        int oh = bilinear ? lRows.size() : rows.length;
        int ow = bilinear ? lCols.size() : cols.length;
        int planes = s[0] * s[1];
        int h = s[2];
        int w = s[3];
        Tensor out = Tensor.allocate(DType.FLOAT32, new int[] {s[0], s[1], oh, ow});
        x.withContiguous(src -> Launch.run(r -> new Step(false, planes, h, w, rows, cols, lRows, lCols, r[0], out.shapeRef().clone()), out, src));
        int[] inShape = s.clone();
        Tensor.record(out, () -> new Backward(bilinear ? "UpsampleBilinear2DBackward0" : "UpsampleNearest2DBackward0", inShape, rows, cols,
                lRows, lCols), x);
        return out;
    }

    static final class Backward extends Node {
        private final String name;
        private final int[] inputShape;
        private final int[] rows;
        private final int[] cols;
        private final Upsample.Linear lRows;
        private final Upsample.Linear lCols;

        Backward(String name, int[] inputShape, int[] rows, int[] cols, Upsample.Linear lRows, Upsample.Linear lCols) {
            this.name = name;
            this.inputShape = inputShape;
            this.rows = rows;
            this.cols = cols;
            this.lRows = lRows;
            this.lCols = lCols;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            int planes = inputShape[0] * inputShape[1];
            return new Tensor[] {g.withContiguous(gc -> Launch.run(r -> new Step(true, planes, inputShape[2], inputShape[3], rows, cols, lRows,
                    lCols, r[0], inputShape), Tensor.allocate(DType.FLOAT32, inputShape), gc))};
        }
    }

    /** The resize (or, backward, its adjoint: {@code in} the output's gradient, the result the input's). */
    static final class Step extends PlanStep {
        final boolean backward;
        final int planes;
        final int h;
        final int w;
        final int[] rows;
        final int[] cols;
        final Upsample.Linear lRows;
        final Upsample.Linear lCols;
        final Ref in;
        final int[] shape;

        Step(boolean backward, int planes, int h, int w, int[] rows, int[] cols, Upsample.Linear lRows, Upsample.Linear lCols, Ref in,
             int[] shape) {
            this.backward = backward;
            this.planes = planes;
            this.h = h;
            this.w = w;
            this.rows = rows;
            this.cols = cols;
            this.lRows = lRows;
            this.lCols = lCols;
            this.in = in;
            this.shape = shape;
        }

        @Override
        Ref[] inputs() {
            return new Ref[] {in};
        }

        @Override
        void run(Frame f) {
            MemorySegment a = f.seg(in);
            MemorySegment b = f.seg(out);
            if (lRows != null) {
                Upsample.bilinear2d(backward, a, f.off(in), b, f.off(out), planes, h, w, lRows, lCols, f.parallel);
            } else {
                Upsample.nearest2d(backward, a, f.off(in), b, f.off(out), planes, h, w, rows, cols, f.parallel);
            }
        }

        @Override
        String describe() {
            return (lRows != null ? "upsample_bilinear2d" : "upsample_nearest2d") + (backward ? "_backward " : " ") + in + " -> " + str(shape);
        }
    }
}
