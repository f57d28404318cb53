package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Indexing;
import java.util.Arrays;

/**
 * Ops that index with int64 tensors: index_select, embedding, gather, scatter_add, one_hot. Forwards copy rows or
 * elements ({@code kernels.Indexing}); backwards add them back at their indices (an index-add: an embedding's
 * gradient costs what its forward costs, not a dense product with a one-hot matrix). Every index is checked
 * against its dim before any kernel runs. index_select and embedding, forward and backward, are plan steps
 * ({@link PlanStep.Rows}, which checks the indices on every run); gather, scatter_add and one_hot have none
 * ({@code Launch.noPlanStep}), and tracing refuses embedding with max_norm (it renormalises the weight in place).
 */
final class IndexOps {
    private IndexOps() {
    }

    /** Throws PyTorch's IndexError message naming the first bad index, when any index is outside [0, size). */
    private static void checkIndices(String op, Tensor index, int size, int dim) {
        checkIndices(op, index, size, dim, false);
    }

    /** {@link #checkIndices}; with {@code negative}, [-size, size) is in range (indices counted from the end). */
    private static void checkIndices(String op, Tensor index, int size, int dim, boolean negative) {
        if (Launch.unvalued(index)) {
            return; // a trace that computes nothing: the plan's step checks every run's indices
        }
        try (OpFrame _ = OpFrame.enter()) {
            Tensor idx = index;
            long bad = Indexing.firstOutOfRange(idx.seg(), idx.storageOffset(), idx.numel(), size, negative);
            if (bad >= 0) {
                long v = idx.seg().get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, (idx.storageOffset() + bad) << 3);
                throw new IndexOutOfBoundsException(op + ": index " + v + " is out of bounds for dimension " + dim + " with size " + size);
            }
        }
    }

    private static void requireIndex(String op, Tensor index) {
        index.checkAlive();
        if (index.dtype() != DType.INT64) {
            throw new IllegalArgumentException(op + "(): Expected dtype int64 for index, got " + index.dtype().shortName() + " tensor of shape "
                    + str(index.shapeRef()));
        }
    }

    /** {@code x.index_select(dim, index)}: the slices of x at {@code index} (1-d or 0-d, int64) along dim. */
    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        x.requireFloat("index_select");
        requireIndex("index_select", index);
        if (index.dim() > 1) {
            throw new IllegalArgumentException("index_select(): Index is supposed to be a vector, got shape " + str(index.shapeRef()));
        }
        int[] shape = x.shapeRef();
        int d = Shapes.wrapDim(dim, Math.max(shape.length, 1));
        int size = shape.length == 0 ? 1 : shape[d];
        if (shape.length == 0 && index.numel() != 1) {
            // a 0-d result has room for one value: none would leave it unwritten, two would write past it
            throw new IllegalArgumentException("index_select(): Index to scalar can have only 1 value, got " + index.numel() + " value(s)");
        }
        return index.withContiguous(idx -> {
            checkIndices("index_select()", idx, size, d);
            int[] outShape = shape.length == 0 ? new int[0] : shape.clone();
            if (shape.length > 0) {
                outShape[d] = idx.numel();
            }
            Tensor out = selectRows("index_select()", x, d, idx, outShape);
            return Tensor.record(out, () -> new IndexAddBackward("IndexSelectBackward0", shape, d, idx, Long.MIN_VALUE), x);
        });
    }

    /** The rows of x at {@code idx} along dim d ([outer, m, inner] in memory) into a new tensor of {@code outShape}. */
    private static Tensor selectRows(String op, Tensor x, int d, Tensor idx, int[] outShape) {
        return selectRows(op, x, d, idx, outShape, false);
    }

    /** {@link #selectRows}; with {@code wrap}, negative indices count from the end. */
    private static Tensor selectRows(String op, Tensor x, int d, Tensor idx, int[] outShape, boolean wrap) {
        int[] shape = x.shapeRef();
        int[] split = shape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(shape, d);
        int m = idx.numel();
        Tensor out = Tensor.allocate(DType.FLOAT32, outShape);
        return x.withContiguous(src -> Launch.run(refs -> new PlanStep.Rows(false, op, split[0], split[1], split[2], m, Long.MIN_VALUE, false, wrap,
                refs[0], refs[1]), out, src, idx));
    }

    /**
     * {@code x[..., index, ...]} along {@code dim}: PyTorch's advanced indexing by one int64 tensor of any shape, whose
     * negative values count from the end ({@code -1} is the last slice), and ONNX's Gather. The result's shape is x's
     * with that dim replaced by the index's shape (a 0-d index drops it). Indices outside {@code [-size, size)} are
     * refused with PyTorch's IndexError message, in a plan on every run.
     */
    static Tensor index(Tensor x, int dim, Tensor index) {
        x.requireFloat("index");
        requireIndex("index", index);
        int[] shape = x.shapeRef();
        if (shape.length == 0) {
            throw new IllegalArgumentException("index(): too many indices for tensor of dimension 0");
        }
        int d = Shapes.wrapDim(dim, shape.length);
        int size = shape[d];
        int[] ishape = index.shapeRef();
        int[] result = new int[shape.length - 1 + ishape.length];
        System.arraycopy(shape, 0, result, 0, d);
        System.arraycopy(ishape, 0, result, d, ishape.length);
        System.arraycopy(shape, d + 1, result, d + ishape.length, shape.length - d - 1);
        Tensor flat = index.dim() == 1 ? index : index.reshape(-1);
        return flat.withContiguous(idx -> {
            checkIndices("index()", idx, size, d, true);
            int[] outShape = shape.clone();
            outShape[d] = idx.numel();
            // the rows [outer, m, inner] written straight into a tensor of the result's shape (the same floats in the
            // same order; not a view of one, which in-place ops would refuse), recorded: grad_fn IndexBackward0, as PyTorch's
            Tensor out = selectRows("index()", x, d, idx, result, true);
            return Tensor.record(out, () -> new IndexAddBackward("IndexBackward0", shape, d, idx, Long.MIN_VALUE, false, true, outShape), x);
        });
    }

    /**
     * {@code F.embedding(indices, weight, padding_idx)}: rows of {@code weight [num, dim]} at {@code indices} (any
     * shape, int64), shaped {@code indices.shape + [dim]}. The padding row gets no gradient, like PyTorch.
     */
    static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx) {
        return embedding(indices, weight, paddingIdx, null, 2.0, false, false);
    }

    /**
     * {@code F.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)}. With
     * {@code maxNorm} (null for none) the referenced rows whose {@code normType}-norm exceeds it are first scaled in
     * place to {@code maxNorm / (norm + 1e-7)} of themselves, outside autograd, bumping the weight's version (as
     * torch's {@code embedding_renorm_}: a graph that saved the weight before fails its backward's version check).
     * {@code scaleGradByFreq} divides each row's gradient by how often its index occurs in {@code indices}.
     * {@code sparse} is refused: Lanes has no sparse gradients.
     */
    static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx, Double maxNorm, double normType, boolean scaleGradByFreq,
                            boolean sparse) {
        weight.requireFloat("embedding");
        requireIndex("embedding", indices);
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("embedding(): 'weight' must be 2-D, got shape " + str(weight.shapeRef()));
        }
        if (sparse) {
            throw new IllegalArgumentException("embedding(): sparse=True is not supported: Lanes has no sparse gradients (use sparse=False,"
                    + " whose dense weight gradient holds the same values)");
        }
        checkMaxNorm("embedding()", maxNorm, normType);
        int num = weight.size(0);
        int dim = weight.size(1);
        long skip = paddingIdx == null ? Long.MIN_VALUE : paddingIdx < 0 ? paddingIdx + num : paddingIdx;
        if (paddingIdx != null && (skip < 0 || skip >= num)) {
            throw new IllegalArgumentException("embedding(): padding_idx " + paddingIdx + " must be within num_embeddings " + num);
        }
        int[] outShape = Arrays.copyOf(indices.shapeRef(), indices.dim() + 1);
        outShape[indices.dim()] = dim;
        Shapes.checkedNumel(outShape);
        return indices.withContiguous(idx -> {
            checkIndices("embedding()", idx, num, 0);
            if (maxNorm != null) {
                renorm(weight, idx, maxNorm, normType);
            }
            Tensor out = selectRows("embedding()", weight, 0, idx, outShape);
            int[] weightShape = weight.shape();
            return Tensor.record(out, () -> new IndexAddBackward("EmbeddingBackward0", weightShape, 0, idx, skip, scaleGradByFreq), weight);
        });
    }

    /** max_norm must be a positive number (torch would zero every referenced row at 0 and flip their signs below it); norm_type p >= 0. */
    static void checkMaxNorm(String op, Double maxNorm, double normType) {
        if (maxNorm != null && !(maxNorm > 0)) {
            throw new IllegalArgumentException(op + ": max_norm must be positive, got " + maxNorm);
        }
        if (maxNorm != null && !(normType >= 0)) {
            throw new IllegalArgumentException(op + ": norm_type must be non-negative, got " + normType);
        }
    }

    /**
     * torch's {@code embedding_renorm_(weight, idx, max_norm, norm_type)} (indices already checked): an in-place write
     * outside the graph, which a traced plan does not replay, so tracing refuses it.
     */
    static void renorm(Tensor weight, Tensor idx, double maxNorm, double normType) {
        Tracer.refuse("embedding with max_norm renormalises the weight's referenced rows in place on every call, which a traced plan"
                + " does not replay; trace without max_norm (renormalise the table once with a no-grad embedding call first) or run eagerly");
        InPlaceOps.checkWritable("embedding_renorm_", weight);
        try (OpFrame _ = OpFrame.enter()) {
            int[] st = weight.stridesRef();
            Indexing.renormRows(weight.seg(), weight.storageOffset(), st[0], st[1], weight.size(1), idx.seg(), idx.storageOffset(),
                    idx.numel(), maxNorm, normType);
        }
        weight.markModified();
    }

    /** index_select's and embedding's backward: the gradient rows added at their indices into zeros of the input's shape. */
    static final class IndexAddBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final int dim;
        private final Saved index;
        private final long skip;
        private final boolean byFreq;
        /** Negative indices count from the end (index()). */
        private final boolean wrap;
        /** The selected rows' shape, where the result has the index's shape in their place (index()); null: g's own. */
        private final int[] rowsShape;

        IndexAddBackward(String name, int[] inputShape, int dim, Tensor index, long skip) {
            this(name, inputShape, dim, index, skip, false, false);
        }

        /** {@code byFreq}: embedding's scale_grad_by_freq, each row's gradient divided by its index's count. */
        IndexAddBackward(String name, int[] inputShape, int dim, Tensor index, long skip, boolean byFreq) {
            this(name, inputShape, dim, index, skip, byFreq, false);
        }

        IndexAddBackward(String name, int[] inputShape, int dim, Tensor index, long skip, boolean byFreq, boolean wrap) {
            this(name, inputShape, dim, index, skip, byFreq, wrap, null);
        }

        IndexAddBackward(String name, int[] inputShape, int dim, Tensor index, long skip, boolean byFreq, boolean wrap, int[] rowsShape) {
            this.rowsShape = rowsShape == null ? null : rowsShape.clone();
            this.wrap = wrap;
            this.byFreq = byFreq;
            this.name = name;
            this.inputShape = inputShape.clone();
            this.dim = dim;
            this.index = save(index, "index");
            this.skip = skip;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor gradient) {
            Tensor idx = index.get();
            Tensor g = rowsShape == null ? gradient : gradient.reshape(rowsShape);
            int[] split = inputShape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(inputShape, dim);
            Tensor out = Tensor.allocate(DType.FLOAT32, inputShape);
            return new Tensor[] {g.withContiguous(gc -> idx.withContiguous(ic -> Launch.run(refs -> new PlanStep.Rows(true, name.startsWith("Embedding")
                    ? "embedding()" : wrap ? "index()" : "index_select()", split[0], split[1], split[2], ic.numel(), skip, byFreq, wrap, refs[0], refs[1]),
                    out, gc, ic)))};
        }
    }

    /** {@code x.gather(dim, index)}: {@code out[..., j, ...] = x[..., index[..., j, ...], ...]} along dim. */
    static Tensor gather(Tensor x, int dim, Tensor index) {
        Launch.noPlanStep("gather");
        x.requireFloat("gather");
        requireIndex("gather", index);
        int[] shape = x.shapeRef();
        int[] ishape = index.shapeRef();
        int d = checkScatterShapes("gather", shape, dim, ishape, null);
        int size = shape.length == 0 ? 1 : shape[d];
        return index.withContiguous(idx -> {
            checkIndices("gather()", idx, size, d);
            Tensor src = narrowTo(x, ishape, d);
            Tensor out = Tensor.allocate(DType.FLOAT32, ishape);
            int[] split = ishape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(ishape, d);
            try (src) {
                src.withContiguous(sc -> {
                    try (OpFrame _ = OpFrame.enter()) {
                        Indexing.gather(sc.seg(), sc.storageOffset(), split[0], size, split[2], idx.seg(), idx.storageOffset(), split[1], out.seg(), 0);
                    }
                    return null;
                });
            }
            int[] inputShape = x.shape();
            return Tensor.record(out, () -> new GatherBackward(inputShape, d, idx), x);
        });
    }

    /** x's view narrowed to the index's sizes in every dim but {@code d} (an index may be smaller there, like PyTorch's). */
    private static Tensor narrowTo(Tensor x, int[] ishape, int d) {
        Tensor v = x.detach();
        for (int k = 0; k < ishape.length; k++) {
            if (k != d && ishape[k] != v.size(k)) {
                Tensor n = v.narrow(k, 0, ishape[k]);
                v.close();
                v = n;
            }
        }
        return v;
    }

    /** Checks gather's / scatter_add's shapes like PyTorch; returns the wrapped dim. */
    private static int checkScatterShapes(String op, int[] self, int dim, int[] index, int[] src) {
        int d = Shapes.wrapDim(dim, Math.max(self.length, 1));
        if (index.length != self.length) {
            throw new IllegalArgumentException(op + "(): Index tensor must have the same number of dimensions as input tensor (input "
                    + str(self) + ", index " + str(index) + ")");
        }
        if (src != null && Math.max(src.length, 1) != Math.max(index.length, 1)) {
            throw new IllegalArgumentException(op + "(): Index tensor must have the same number of dimensions as src tensor (index "
                    + str(index) + ", src " + str(src) + ")");
        }
        for (int k = 0; k < self.length; k++) {
            if (k != d && index[k] > self[k]) {
                throw new IllegalArgumentException(op + "(): Size does not match at dimension " + k + " expected index " + str(index)
                        + " to be smaller than self " + str(self) + " apart from dimension " + d);
            }
            if (src != null && index[k] > src[k]) {
                throw new IllegalArgumentException(op + "(): Size does not match at dimension " + k + " expected index " + str(index)
                        + " to be smaller than src " + str(src));
            }
        }
        return d;
    }

    /** gather's backward: the gradient scattered (added) into zeros of the input's shape. */
    static final class GatherBackward extends Node {
        private final int[] inputShape;
        private final int dim;
        private final Saved index;

        GatherBackward(int[] inputShape, int dim, Tensor index) {
            this.inputShape = inputShape;
            this.dim = dim;
            this.index = save(index, "index");
        }

        @Override
        public String name() {
            return "GatherBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor zeros = Tensor.zeros(inputShape);
            try (zeros) {
                return new Tensor[] {scatterAddForward(zeros, dim, index.get(), g)};
            }
        }
    }

    /** {@code x.scatter_add(dim, index, src)}: a copy of x with {@code src[..., j, ...]} added at {@code index} along dim. */
    static Tensor scatterAdd(Tensor x, int dim, Tensor index, Tensor src) {
        Launch.noPlanStep("scatter_add");
        x.requireFloat("scatter_add");
        src.requireFloat("scatter_add");
        requireIndex("scatter_add", index);
        Tensor out = scatterAddForward(x, dim, index, src);
        int d = Shapes.wrapDim(dim, Math.max(x.dim(), 1));
        int[] srcShape = src.shape();
        return Tensor.record(out, () -> new ScatterAddBackward(d, index, srcShape), x, src);
    }

    private static Tensor scatterAddForward(Tensor x, int dim, Tensor index, Tensor src) {
        int[] shape = x.shapeRef();
        int[] ishape = index.shapeRef();
        int d = checkScatterShapes("scatter_add", shape, dim, ishape, src.shapeRef());
        int size = shape.length == 0 ? 1 : shape[d];
        Tensor out = x.detach().clone(); // out starts as x; untracked (the caller records)
        Tensor srcView = narrowTo(src, ishape, -1); // the index's extent in every dim, d too: the kernel reads src as the index's shape
        int[] split = ishape.length == 0 ? new int[] {1, 1, 1} : Shapes.splitAround(ishape, d);
        try (srcView) {
            index.withContiguous(idx -> srcView.withContiguous(sc -> {
                checkIndices("scatter_add()", idx, size, d);
                if (Arrays.equals(ishape, shape) || shape.length == 0) {
                    try (OpFrame _ = OpFrame.enter()) {
                        Indexing.scatterAdd(sc.seg(), sc.storageOffset(), split[0], split[1], split[2], idx.seg(), idx.storageOffset(), out.seg(), 0,
                                size);
                    }
                } else {
                    // an index smaller than self in other dims: scatter into a contiguous block of the index's extent, add it back
                    int[] blockShape = ishape.clone();
                    blockShape[d] = size;
                    try (Tensor block = Tensor.zeros(blockShape); Tensor region = narrowTo(out, blockShape, d)) {
                        try (OpFrame _ = OpFrame.enter()) {
                            Indexing.scatterAdd(sc.seg(), sc.storageOffset(), split[0], split[1], split[2], idx.seg(), idx.storageOffset(),
                                    block.seg(), 0, size);
                        }
                        region.add_(block);
                    }
                }
                return null;
            }));
        }
        return out;
    }

    /** scatter_add's backward: x's gradient passes through; src's is the upstream gathered at index. */
    static final class ScatterAddBackward extends Node {
        private final int dim;
        private final Saved index;
        private final int[] srcShape;

        ScatterAddBackward(int dim, Tensor index, int[] srcShape) {
            this.dim = dim;
            this.index = save(index, "index");
            this.srcShape = srcShape;
        }

        @Override
        public String name() {
            return "ScatterAddBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor gs = null;
            if (needsInputGrad(1)) {
                Tensor gathered = gather(g, dim, index.get());
                if (Arrays.equals(gathered.shapeRef(), srcShape)) {
                    gs = gathered;
                } else { // src larger than the index: zeros where nothing was scattered from
                    gs = Tensor.zeros(srcShape);
                    try (gathered; Tensor region = narrowTo(gs, gathered.shapeRef(), -1)) {
                        region.copy_(gathered);
                    }
                }
            }
            return new Tensor[] {needsInputGrad(0) ? g.detach() : null, gs};
        }
    }

    /** {@code F.one_hot(indices, num_classes)}: int64 {@code indices.shape + [num_classes]}; -1 takes max + 1. */
    static Tensor oneHot(Tensor indices, int numClasses) {
        Launch.noPlanStep("one_hot");
        requireIndex("one_hot", indices);
        return indices.withContiguous(idx -> {
            long n = idx.numel();
            int classes = numClasses;
            if (classes == -1) {
                long max = -1;
                try (OpFrame _ = OpFrame.enter()) {
                    for (long i = 0; i < n; i++) {
                        max = Math.max(max, idx.seg().get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, (idx.storageOffset() + i) << 3));
                    }
                }
                if (n == 0) {
                    throw new IllegalArgumentException("one_hot(): Can not infer total number of classes from empty tensor.");
                }
                if (max >= Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("one_hot(): class index " + max + " is too large");
                }
                classes = (int) max + 1;
            } else if (classes < 1) {
                throw new IllegalArgumentException("one_hot(): num_classes should be positive or -1, got " + numClasses);
            }
            checkIndices("one_hot()", idx, classes, idx.dim());
            int[] outShape = Arrays.copyOf(idx.shapeRef(), idx.dim() + 1);
            outShape[idx.dim()] = classes;
            Shapes.checkedNumel(outShape);
            Tensor out = Tensor.zerosLong(outShape);
            try (OpFrame _ = OpFrame.enter()) {
                Indexing.oneHot(idx.seg(), idx.storageOffset(), n, classes, out.seg(), 0);
            }
            return out;
        });
    }
}
