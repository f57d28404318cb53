package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Copies ({@code clone}, {@code contiguous}, {@code toType}, {@code cat}, {@code stack}), the views that return
 * several tensors ({@code split}, {@code chunk}) and the backward rules of the view ops (the views themselves are
 * {@code Tensor.view}, {@code transpose}, {@code select}, ...: they only change a tensor's shape, strides and
 * offset). Views move no data, so their backward only reshapes, permutes or scatters the gradient. cat and stack are
 * one {@link PlanStep.Cat} through {@link Launch} (strided copies into slices of the result) for float32 tensors.
 */
final class ShapeOps {
    private ShapeOps() {
    }

    /** {@code src} copied into the fresh, contiguous {@code out} of the same shape and dtype (clone, contiguous). */
    static void copyInto(Tensor src, Tensor out) {
        int[] strides = src.stridesRef();
        int[] shape = src.shapeRef();
        if (src.dtype() == DType.FLOAT32) {
            Launch.run(r -> new PlanStep.Copy(r[0], strides, shape), out, src); // a step may share a tensor's (never mutated) arrays
        } else {
            try (OpFrame _ = OpFrame.enter()) {
                dev.lanes.kernels.Copy.convert(src.dtype().elem(), src.seg(), src.storageOffset(), strides, src.dtype().elem(), out.seg(),
                        out.storageOffset(), out.stridesRef(), shape);
            }
        }
    }

    /** {@code x} converted to {@code type} (x itself when it already has that type), like {@code tensor.to(dtype)}. */
    static Tensor toType(Tensor x, DType type) {
        x.checkAlive();
        if (type == x.dtype()) {
            return x;
        }
        // a plan step: a traced forward may turn a mask into floats, or scores into int64 ids (ONNX's Cast)
        int[] strides = x.stridesRef();
        int[] shape = x.shapeRef();
        dev.lanes.kernels.Copy.Elem from = x.dtype().elem();
        dev.lanes.kernels.Copy.Elem to = type.elem();
        return Launch.run(r -> new PlanStep.Convert(from, to, r[0], strides, shape), Tensor.allocate(type, shape), x);
    }

    /** int32 values held as int64, like {@code tensor.int().long()} (Lanes has no int32 type): {@code kernels.Copy.convertToInt32}. */
    static Tensor toInt32Values(Tensor x) {
        x.checkAlive();
        int[] strides = x.stridesRef();
        int[] shape = x.shapeRef();
        dev.lanes.kernels.Copy.Elem from = x.dtype().elem();
        return Launch.run(r -> new PlanStep.Convert(from, dev.lanes.kernels.Copy.Elem.I64, r[0], strides, shape, true), Tensor.allocate(DType.INT64, shape),
                x);
    }

    // ---- cat / stack ----

    /** PyTorch's legacy rule: a 1-d tensor of size 0 is skipped by cat whatever the other shapes. */
    private static boolean skippedByCat(Tensor t) {
        return t.dim() == 1 && t.shapeRef()[0] == 0;
    }

    private static Tensor[] checkedList(String op, List<Tensor> tensors, String emptyMessage) {
        if (tensors == null || tensors.isEmpty()) {
            throw new IllegalArgumentException(emptyMessage);
        }
        Tensor[] ts = tensors.toArray(Tensor[]::new);
        for (int i = 0; i < ts.length; i++) {
            if (ts[i] == null) {
                throw new IllegalArgumentException(op + "(): expected a Tensor at position " + i + " but got null");
            }
            ts[i].checkAlive();
        }
        return ts;
    }

    /** Concatenation along {@code dim}, like {@code torch.cat(tensors, dim)}: sizes must match except along dim. */
    static Tensor cat(List<Tensor> tensors, int dim) {
        Tensor[] ts = checkedList("cat", tensors, "torch.cat(): expected a non-empty list of Tensors");
        int ref = -1;
        for (int i = 0; i < ts.length; i++) {
            if (ts[i].dim() == 0) {
                throw new IllegalArgumentException("zero-dimensional tensor (at position " + i + ") cannot be concatenated");
            }
            if (ref < 0 && !skippedByCat(ts[i])) {
                ref = i;
            }
        }
        int[] refShape = ref < 0 ? new int[] {0} : ts[ref].shapeRef();
        int d = Shapes.wrapDim(dim, refShape.length);
        long total = 0;
        List<Tensor> parts = new ArrayList<>(ts.length);
        for (int i = 0; i < ts.length; i++) {
            int[] s = ts[i].shapeRef();
            if (ref >= 0 && skippedByCat(ts[i])) {
                continue;
            }
            if (s.length != refShape.length) {
                throw new IllegalArgumentException("Tensors must have same number of dimensions: got " + refShape.length + " and " + s.length);
            }
            for (int k = 0; k < s.length; k++) {
                if (k != d && s[k] != refShape[k]) {
                    throw new IllegalArgumentException("Sizes of tensors must match except in dimension " + d + ". Expected size " + refShape[k]
                            + " but got size " + s[k] + " for tensor number " + i + " in the list.");
                }
            }
            total += s[d];
            parts.add(ts[i]);
        }
        int[] outShape = refShape.clone();
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cat: the result would have " + total + " elements along dimension " + d
                    + ", more than a tensor dimension holds (Integer.MAX_VALUE)");
        }
        outShape[d] = (int) total;
        Tensor[] in = parts.toArray(Tensor[]::new);
        int[][] shapes = new int[in.length][];
        int[][] strides = new int[in.length][];
        for (int i = 0; i < in.length; i++) {
            shapes[i] = in[i].shapeRef();
            strides[i] = in[i].stridesRef();
        }
        Tensor out = concatInto(resultType(ts), outShape, d, in, shapes, strides);
        int[] sizes = new int[ts.length];
        for (int i = 0; i < ts.length; i++) {
            sizes[i] = ref >= 0 && skippedByCat(ts[i]) ? -1 : ts[i].shapeRef()[d];
        }
        return Tensor.record(out, () -> new CatBackward0(d, sizes), ts);
    }

    /** Joins equally shaped tensors along a new dim {@code dim}, like {@code torch.stack(tensors, dim)}. */
    static Tensor stack(List<Tensor> tensors, int dim) {
        Tensor[] ts = checkedList("stack", tensors, "stack expects a non-empty TensorList");
        int[] shape0 = ts[0].shapeRef();
        for (int i = 1; i < ts.length; i++) {
            if (!Arrays.equals(ts[i].shapeRef(), shape0)) {
                throw new IllegalArgumentException("stack expects each tensor to be equal size, but got " + str(shape0) + " at entry 0 and "
                        + str(ts[i].shapeRef()) + " at entry " + i);
            }
        }
        int d = Shapes.wrapDim(dim, shape0.length + 1);
        int[] outShape = new int[shape0.length + 1];
        for (int k = 0, j = 0; k < outShape.length; k++) {
            outShape[k] = k == d ? ts.length : shape0[j++];
        }
        Shapes.checkedNumel(outShape);
        int[][] shapes = new int[ts.length][];
        int[][] strides = new int[ts.length][];
        for (int i = 0; i < ts.length; i++) { // each input as if unsqueezed at d
            int[] s = ts[i].shapeRef();
            int[] st = ts[i].stridesRef();
            shapes[i] = new int[s.length + 1];
            strides[i] = new int[s.length + 1];
            for (int k = 0, j = 0; k < s.length + 1; k++) {
                if (k == d) {
                    shapes[i][k] = 1;
                    strides[i][k] = 1; // never stepped over
                } else {
                    shapes[i][k] = s[j];
                    strides[i][k] = st[j++];
                }
            }
        }
        Tensor out = concatInto(resultType(ts), outShape, d, ts, shapes, strides);
        return Tensor.record(out, () -> new StackBackward0(d, ts.length), ts);
    }

    /** PyTorch's promotion: float32 if any tensor is, else int64 if any is, else (all bool) bool. */
    private static DType resultType(Tensor[] ts) {
        DType r = DType.BOOL;
        for (Tensor t : ts) {
            if (t.dtype() == DType.FLOAT32) {
                return DType.FLOAT32;
            }
            if (t.dtype() == DType.INT64) {
                r = DType.INT64;
            }
        }
        return r;
    }

    /**
     * The inputs (with the shapes and strides they are copied as) written one after another along {@code dim} into a
     * new contiguous tensor: a plan step for float32; int64 and bool inputs are converted to a float32 result, an int64
     * or bool result is copied directly (no plan step: integer copies have none; argmax/argmin are the steps that write int64 slots).
     */
    private static Tensor concatInto(DType type, int[] outShape, int dim, Tensor[] in, int[][] shapes, int[][] strides) {
        Tensor out = Tensor.allocate(type, outShape);
        if (type != DType.FLOAT32) { // int64, or bool (bools among int64s become 0 and 1)
            try (OpFrame _ = OpFrame.enter()) {
                int[] outStrides = out.stridesRef();
                long at = 0;
                for (int i = 0; i < in.length; i++) {
                    dev.lanes.kernels.Copy.convert(in[i].dtype().elem(), in[i].seg(), in[i].storageOffset(), strides[i], type.elem(), out.seg(),
                            at * outStrides[dim], outStrides, shapes[i]);
                    at += shapes[i][dim];
                }
            } catch (Throwable e) {
                out.close();
                throw e;
            }
            return out;
        }
        Tensor[] floats = new Tensor[in.length];
        int[][] floatStrides = strides.clone();
        try {
            for (int i = 0; i < in.length; i++) {
                if (in[i].dtype() == DType.FLOAT32) {
                    floats[i] = in[i];
                } else { // promoted: a contiguous float copy in the same shape (seen through shapes[i])
                    floats[i] = in[i].toType(DType.FLOAT32);
                    floatStrides[i] = withContiguousStrides(shapes[i], dim, in[i].shapeRef());
                }
            }
        } catch (Throwable e) {
            closeConverted(floats, in);
            out.close();
            throw e;
        }
        try {
            return Launch.run(r -> new PlanStep.Cat(r, floatStrides, shapes, dim, outShape), out, floats);
        } finally {
            closeConverted(floats, in);
        }
    }

    /** Contiguous strides of {@code original} seen through {@code shape} (the same dims, or one size-1 dim inserted at dim). */
    private static int[] withContiguousStrides(int[] shape, int dim, int[] original) {
        int[] c = Shapes.contiguousStrides(original);
        if (shape.length == original.length) {
            return c;
        }
        int[] st = new int[shape.length];
        for (int k = 0, j = 0; k < shape.length; k++) {
            st[k] = k == dim ? 1 : c[j++];
        }
        return st;
    }

    private static void closeConverted(Tensor[] floats, Tensor[] in) {
        for (int i = 0; i < floats.length; i++) {
            if (floats[i] != null && floats[i] != in[i]) {
                floats[i].close();
            }
        }
    }

    /** cat: each input's gradient is its slice of the result's gradient (a view); a skipped empty input gets an empty one. */
    static final class CatBackward0 extends Node {
        private final int dim;
        /** Each input's size along dim; -1 for an input cat skipped. */
        private final int[] sizes;

        CatBackward0(int dim, int[] sizes) {
            this.dim = dim;
            this.sizes = sizes;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor[] out = new Tensor[sizes.length];
            int at = 0;
            for (int i = 0; i < sizes.length; i++) {
                if (sizes[i] < 0) {
                    out[i] = needsInputGrad(i) ? Tensor.zeros(0) : null;
                    continue;
                }
                if (needsInputGrad(i)) {
                    out[i] = g.narrow(dim, at, sizes[i]);
                }
                at += sizes[i];
            }
            return out;
        }
    }

    /** stack: each input's gradient is its index of the new dim (a view). */
    static final class StackBackward0 extends Node {
        private final int dim;
        private final int count;

        StackBackward0(int dim, int count) {
            this.dim = dim;
            this.count = count;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor[] out = new Tensor[count];
            for (int i = 0; i < count; i++) {
                if (needsInputGrad(i)) {
                    out[i] = g.select(dim, i);
                }
            }
            return out;
        }
    }

    // ---- split / chunk: views ----

    /** Views of {@code splitSize} elements along dim (the last one smaller), like {@code tensor.split(split_size, dim)}. */
    static List<Tensor> split(Tensor x, int splitSize, int dim) {
        x.checkAlive();
        if (x.dim() == 0) {
            throw new IllegalArgumentException("split expects at least a 1-dimensional tensor");
        }
        int d = Shapes.wrapDim(dim, x.dim());
        if (splitSize < 0) {
            throw new IllegalArgumentException("split expects split_size be non-negative, but got split_size=" + splitSize);
        }
        int size = x.shapeRef()[d];
        if (splitSize == 0 && size != 0) {
            throw new IllegalArgumentException("split_size can only be 0 if dimension size is 0, but got dimension size of " + size);
        }
        int pieces = splitSize == 0 ? 1 : Math.max((int) (((long) size + splitSize - 1) / splitSize), 1);
        checkEmptyPieces("split", x, pieces);
        int[] sizes = new int[pieces];
        for (int i = 0; i < pieces; i++) {
            sizes[i] = (int) Math.min(splitSize, size - (long) i * splitSize);
        }
        return pieces(x, sizes, d, "SplitBackward0");
    }

    /** Views of the given sizes along dim, which must add up to the dim's size, like {@code tensor.split([2, 3], dim)}. */
    static List<Tensor> splitWithSizes(Tensor x, int[] splitSizes, int dim) {
        x.checkAlive();
        if (x.dim() == 0) {
            throw new IllegalArgumentException("split expects at least a 1-dimensional tensor");
        }
        int d = Shapes.wrapDim(dim, x.dim());
        int size = x.shapeRef()[d];
        long sum = 0;
        for (int s : splitSizes) {
            if (s < 0) {
                throw new IllegalArgumentException("split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes="
                        + str(splitSizes));
            }
            sum += s;
        }
        if (sum != size) {
            throw new IllegalArgumentException("split_with_sizes expects split_sizes to sum exactly to " + size + " (input tensor's size at dimension "
                    + d + "), but got split_sizes=" + str(splitSizes));
        }
        return pieces(x, splitSizes.clone(), d, "SplitWithSizesBackward0");
    }

    /** {@code chunks} views (fewer when the dim is too small), like {@code tensor.chunk(chunks, dim)}. */
    static List<Tensor> chunk(Tensor x, int chunks, int dim) {
        x.checkAlive();
        if (x.dim() == 0) {
            throw new IllegalArgumentException("chunk expects at least a 1-dimensional tensor");
        }
        if (chunks <= 0) {
            throw new IllegalArgumentException("chunk expects `chunks` to be greater than 0, got: " + chunks);
        }
        int d = Shapes.wrapDim(dim, x.dim());
        int size = x.shapeRef()[d];
        int splitSize = (int) (((long) size + chunks - 1) / chunks);
        if (splitSize == 0 && size == 0) { // PyTorch: chunks empty pieces, through split_with_sizes
            checkEmptyPieces("chunk", x, chunks);
            return splitWithSizes(x, new int[chunks], d);
        }
        return split(x, splitSize, d);
    }

    /** Most views a split or chunk of an empty tensor makes (a non-empty one makes at most one per element). */
    static final int MAX_EMPTY_PIECES = 1 << 16;

    /**
     * An empty tensor can be cut into as many empty views as asked (chunk(2^31 - 1) of zeros(0), split(1) of a [0, 2^31 - 1]):
     * bounded before the list and its size table are made.
     */
    private static void checkEmptyPieces(String op, Tensor x, long pieces) {
        if (x.numel() == 0 && pieces > MAX_EMPTY_PIECES) {
            throw new IllegalArgumentException(op + " of an empty tensor of shape " + str(x.shapeRef()) + " into " + pieces
                    + " pieces: at most " + MAX_EMPTY_PIECES);
        }
    }

    /** The views of {@code sizes} consecutive ranges of dim d, each recording a scatter of its gradient into x's shape. */
    private static List<Tensor> pieces(Tensor x, int[] sizes, int d, String name) {
        int[] shape = x.shapeRef();
        int[] strides = x.stridesRef();
        List<Tensor> out = new ArrayList<>(sizes.length);
        long start = 0;
        for (int len : sizes) {
            int s = (int) start;
            int[] sh = shape.clone();
            sh[d] = len;
            Tensor v = x.view(sh, strides.clone(), x.storageOffset() + (len == 0 ? 0 : s * strides[d]));
            out.add(Tensor.record(v, () -> new IndexBackward(name, x, z -> z.narrow(d, s, len)), x));
            start += len;
        }
        return java.util.Collections.unmodifiableList(out);
    }

    /** view / reshape / unsqueeze / squeeze / flatten: the gradient is reshaped back to the input's shape. */
    static final class ReshapeBackward extends Node {
        private final String name;
        private final int[] inputShape;

        ReshapeBackward(String name, Tensor input) {
            this.name = name;
            this.inputShape = input.shape();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.reshape(inputShape)};
        }
    }

    /** transpose / t / permute: the inverse permutation of the gradient. */
    static final class PermuteBackward extends Node {
        private final String name;
        private final int[] inverse;

        PermuteBackward(String name, int[] dims) {
            this.name = name;
            this.inverse = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                inverse[dims[i]] = i;
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.permute(inverse)};
        }
    }

    /** expand: gradients of the repeated elements are summed. */
    static final class ExpandBackward0 extends Node {
        private final int[] inputShape;

        ExpandBackward0(Tensor input) {
            this.inputShape = input.shape();
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {ArithmeticOps.sumTo(g, inputShape)};
        }
    }

    /** select / narrow / slice: the gradient is written into the same view of a zero tensor of the input's shape. */
    static final class IndexBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final UnaryOperator<Tensor> sameView;

        IndexBackward(String name, Tensor input, UnaryOperator<Tensor> sameView) {
            this.name = name;
            this.inputShape = input.shape();
            this.sameView = sameView;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor z = Tensor.allocate(DType.FLOAT32, inputShape);
            long at;
            int[] strides;
            int[] shape;
            try (Tensor v = sameView.apply(z)) {
                at = v.storageOffset();
                strides = v.stridesRef().clone();
                shape = v.shapeRef().clone();
            }
            if (!java.util.Arrays.equals(g.shapeRef(), shape)) {
                throw new IllegalStateException(name + ": gradient of shape " + str(g.shapeRef()) + " for a view of shape " + str(shape));
            }
            int numel = z.numel();
            int[] gStr = g.stridesRef().clone();
            return new Tensor[] {Launch.run(r -> new PlanStep.IntoView(r[0], gStr, numel, at, strides, shape), z, g)};
        }
    }

    /** clone / contiguous copy: the gradient passes unchanged. */
    static final class CloneBackward0 extends Node {
        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {g.detach()};
        }
    }

    /**
     * fill_ / zero_ / copy_ on a graph tensor: the old value gets no gradient (it was overwritten); copy_'s source
     * gets the gradient summed back to its shape.
     */
    static final class OverwrittenBackward extends Node {
        private final String name;
        private final int[] srcShape;

        OverwrittenBackward(String name, Tensor src) {
            this.name = name;
            this.srcShape = src == null ? null : src.shape();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            // the overwritten value gets zeros, as PyTorch's zero_/fill_/copy_ backward (x.mul(2).zero_().sum().backward(): x.grad [0, 0], not none)
            return new Tensor[] {needsInputGrad(0) ? Tensor.zerosLike(g) : null, srcShape == null ? null : ArithmeticOps.sumTo(g, srcShape)};
        }
    }
}
