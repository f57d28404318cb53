package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * flip, roll and repeat: copies whose element {@code j} comes from one input element, {@code src[j]} (an index map;
 * any dtype, element bytes copied as they are). Backward: flip and roll move the gradient back the same way; repeat
 * adds the gradient of every copy of an element, in output order. Sequential loops ({@link HostOps}); no plan step.
 */
final class ReorderOps {
    private ReorderOps() {
    }

    /** {@code torch.flip(x, dims)}: reversed along each of {@code dims}. */
    static Tensor flip(Tensor x, int... dims) {
        x.checkAlive();
        Tracer.checkNoPlanStep("flip");
        int[] shape = x.shape();
        boolean[] flipped = new boolean[shape.length];
        for (int dim : dims) {
            int d = Shapes.wrapDim(dim, shape.length);
            if (shape.length > 0 && flipped[d]) {
                throw new IllegalArgumentException("dim " + d + " appears multiple times in the list of dims");
            }
            if (shape.length > 0) {
                flipped[d] = true;
            }
        }
        int[] src = map(shape, (c, d) -> flipped[d] ? shape[d] - 1 - c : c);
        Tensor out = gather(x, src, shape);
        int[] saved = dims.clone();
        return Tensor.record(out, () -> new FlipBackward0(saved), x);
    }

    /**
     * {@code torch.roll(x, shifts, dims)}: element i of each dim moves to {@code (i + shift) mod size}; with no dims,
     * the flattened tensor rolls by {@code shifts[0]} and keeps its shape.
     */
    static Tensor roll(Tensor x, int[] shifts, int[] dims) {
        x.checkAlive();
        Tracer.checkNoPlanStep("roll");
        if (shifts.length == 0) {
            throw new IllegalArgumentException("`shifts` required");
        }
        int[] shape = x.shape();
        int[] src;
        if (dims.length == 0) {
            if (shifts.length != 1) {
                throw new IllegalArgumentException("shifts and dimensions must align. shifts: " + shifts.length + ", dims:0");
            }
            int n = x.numel();
            src = new int[n];
            int s = n == 0 ? 0 : Math.floorMod(shifts[0], n);
            for (int j = 0; j < n; j++) {
                src[j] = Math.floorMod(j - s, n);
            }
        } else {
            if (shifts.length != dims.length) {
                throw new IllegalArgumentException("shifts and dimensions must align. shifts: " + shifts.length + ", dims:" + dims.length);
            }
            long[] shift = new long[Math.max(shape.length, 1)];
            for (int k = 0; k < dims.length; k++) {
                shift[Shapes.wrapDim(dims[k], shape.length)] += shifts[k];
            }
            src = map(shape, (c, d) -> (int) Math.floorMod(c - shift[d], (long) shape[d]));
        }
        Tensor out = gather(x, src, shape);
        int[] sh = shifts.clone();
        int[] ds = dims.clone();
        return Tensor.record(out, () -> new RollBackward0(sh, ds), x);
    }

    /** {@code x.repeat(sizes)}: tiled {@code sizes[d]} times along each dim; more sizes than dims add leading dims. */
    static Tensor repeat(Tensor x, int... sizes) {
        x.checkAlive();
        Tracer.checkNoPlanStep("repeat");
        int[] in = x.shape();
        if (sizes.length < in.length) {
            throw new IllegalArgumentException("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
                    + " (repeat dims " + Arrays.toString(sizes) + ", tensor shape " + str(in) + ")");
        }
        int m = sizes.length;
        int[] padded = new int[m];
        Arrays.fill(padded, 1);
        System.arraycopy(in, 0, padded, m - in.length, in.length);
        int[] outShape = new int[m];
        for (int d = 0; d < m; d++) {
            outShape[d] = padded[d] * sizes[d];
        }
        for (int d = 0; d < m; d++) {
            if (sizes[d] < 0) {
                throw new IllegalArgumentException("Trying to create tensor with negative dimension " + outShape[d] + ": " + str(outShape));
            }
        }
        Shapes.checkedNumel(outShape);
        int[] srcPadded = map(outShape, (c, d) -> c % padded[d], padded);
        Tensor out = gather(x, srcPadded, outShape);
        return Tensor.record(out, () -> new RepeatBackward0(in, outShape, srcPadded), x);
    }

    private interface Coord {
        int src(int c, int d);
    }

    private static int[] map(int[] shape, Coord f) {
        return map(shape, f, shape);
    }

    /**
     * For each element of {@code outShape} (row-major), the flat row-major index in {@code srcShape} of the element
     * whose coordinate along each dim d is {@code f(c_d, d)}.
     */
    private static int[] map(int[] outShape, Coord f, int[] srcShape) {
        int n = Shapes.checkedNumel(outShape);
        int rank = outShape.length;
        int[] srcStrides = Shapes.contiguousStrides(srcShape);
        int[] src = new int[n];
        int[] c = new int[rank];
        for (int j = 0; j < n; j++) {
            int s = 0;
            for (int d = 0; d < rank; d++) {
                s += f.src(c[d], d) * srcStrides[d];
            }
            src[j] = s;
            for (int d = rank - 1; d >= 0; d--) { // next coordinate
                if (++c[d] < outShape[d]) {
                    break;
                }
                c[d] = 0;
            }
        }
        return src;
    }

    /** A new tensor of {@code outShape}, x's dtype, whose element j is x's (row-major) element {@code src[j]}. */
    private static Tensor gather(Tensor x, int[] src, int[] outShape) {
        int size = x.dtype().byteSize();
        Tensor out = Tensor.allocate(x.dtype(), outShape.clone());
        x.withContiguous(c -> {
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment in = c.seg();
                MemorySegment o = out.seg();
                long base = (long) c.storageOffset() * size;
                for (int j = 0; j < src.length; j++) {
                    MemorySegment.copy(in, base + (long) src[j] * size, o, (long) j * size, size);
                }
            }
            return null;
        });
        return out;
    }

    static final class FlipBackward0 extends Node {
        private final int[] dims;

        FlipBackward0(int[] dims) {
            this.dims = dims;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {flip(g, dims)};
        }
    }

    static final class RollBackward0 extends Node {
        private final int[] shifts;
        private final int[] dims;

        RollBackward0(int[] shifts, int[] dims) {
            this.shifts = shifts;
            this.dims = dims;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            int[] back = new int[shifts.length];
            for (int k = 0; k < back.length; k++) {
                back[k] = -shifts[k];
            }
            return new Tensor[] {roll(g, back, dims)};
        }
    }

    /** repeat: each input element's gradient is the sum of its copies' gradients, added in output order. */
    static final class RepeatBackward0 extends Node {
        private final int[] inputShape;
        private final int[] outShape;
        private final int[] src;

        RepeatBackward0(int[] inputShape, int[] outShape, int[] src) {
            this.inputShape = inputShape;
            this.outShape = outShape;
            this.src = src;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            float[] gv = HostOps.floats(g);
            float[] dx = new float[Shapes.checkedNumel(inputShape)];
            for (int j = 0; j < src.length; j++) {
                dx[src[j]] += gv[j];
            }
            return new Tensor[] {HostOps.floatTensor(dx, inputShape)};
        }
    }
}
