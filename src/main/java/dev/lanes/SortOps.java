package dev.lanes;

import dev.lanes.autograd.Node;

/**
 * sort, topk and argsort along a dim: values and int64 indices ({@link Tensor.ValuesIndices}), each slice ordered by
 * {@code kernels.Sorting} in one {@link PlanStep.Sort} (values its result, indices its second output), so plans trace
 * them.
 *
 * <p>Order: NaN sorts as the largest value (last ascending, first descending), like PyTorch; -0.0 and 0.0 are equal.
 * Among equal values the lower index comes first, ascending and descending alike (PyTorch's {@code stable=True}
 * order; its default unstable sort may order ties otherwise, so only the values of ties are comparable with it).
 * topk's k largest (or smallest) are the first k of that order, so {@code sorted=false} also returns them sorted
 * (PyTorch leaves their order unspecified then). The backward rules put the gradient at the indices, zero elsewhere.
 */
final class SortOps {
    private SortOps() {
    }

    /** The longest row the kernel sorts: its int scratch ({@code kernels.Sorting.scratchInts}) must fit a Java array. */
    static final int MAX_ROW = (Integer.MAX_VALUE - 8) / 2;

    /** {@code torch.sort(x, dim, descending, stable=True)}. */
    static Tensor.ValuesIndices sort(Tensor x, int dim, boolean descending) {
        x.requireFloat("sort");
        int d = Shapes.wrapDim(dim, x.dim());
        int r = x.dim() == 0 ? 1 : x.size(d);
        return select(x, d, r, descending, "SortBackward0");
    }

    /** {@code torch.topk(x, k, dim, largest, sorted)}. */
    static Tensor.ValuesIndices topk(Tensor x, int k, int dim, boolean largest, boolean sorted) {
        x.requireFloat("topk");
        int d = Shapes.wrapDim(dim, x.dim());
        int r = x.dim() == 0 ? 1 : x.size(d);
        if (k < 0 || k > r) {
            throw new IllegalArgumentException("selected index k out of range (k = " + k + ", size of dim " + dim + " = " + r + ")");
        }
        return select(x, d, k, largest, "TopkBackward0");
    }

    /**
     * The first {@code k} of each slice's order along {@code d}, values and indices, recorded as {@code gradFn}: one
     * {@link PlanStep.Sort} through {@link Launch} (the indices its second output), so a plan replays it.
     */
    private static Tensor.ValuesIndices select(Tensor x, int d, int k, boolean descending, String gradFn) {
        int[] shape = x.shape();
        int[] s = HostOps.split(shape, d);
        int outer = s[0];
        int r = s[1];
        int inner = s[2];
        if (r > MAX_ROW) {
            // the kernel's scratch holds 2 ints per element of a row: refused before anything is allocated
            throw new IllegalArgumentException((gradFn.startsWith("Sort") ? "sort" : "topk") + ": a dim of " + r + " elements (at most " + MAX_ROW
                    + " along the sorted dim)");
        }
        int[] outShape = shape.clone();
        if (outShape.length > 0) {
            outShape[d] = k;
        } else if (k == 0) {
            outShape = new int[] {0}; // topk(0) of a 0-d tensor: PyTorch's empty result
        }
        int[] resultShape = outShape;
        Tensor it = Tensor.allocate(DType.INT64, resultShape);
        Tensor vt;
        try {
            vt = x.withContiguous(src -> Launch.run(refs -> new PlanStep.Sort(refs[0], outer, r, inner, k, descending, refs[1]),
                    Tensor.allocate(DType.FLOAT32, resultShape), src, it));
        } catch (RuntimeException | Error e) {
            it.close();
            throw e;
        }
        Tensor.record(vt, () -> new IndexBackward(gradFn, shape, d, it), x);
        return new Tensor.ValuesIndices(vt, it);
    }

    /** sort / topk: each gradient element goes to the input element its index points at along dim. */
    static final class IndexBackward extends Node {
        private final String name;
        private final int[] inputShape;
        private final int dim;
        private final Saved indices;

        IndexBackward(String name, int[] inputShape, int dim, Tensor indices) {
            this.name = name;
            this.inputShape = inputShape;
            this.dim = dim;
            this.indices = save(indices, "result 1");
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            int[] s = HostOps.split(inputShape, dim);
            int outer = s[0];
            int r = s[1];
            int inner = s[2];
            Tensor idx = indices.get();
            int k = idx.dim() == 0 ? 1 : idx.size(dim);
            float[] gv = HostOps.floats(g);
            long[] iv = HostOps.longs(idx);
            float[] dx = new float[outer * r * inner];
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < k; j++) {
                    for (int i = 0; i < inner; i++) {
                        int at = (o * k + j) * inner + i;
                        dx[(o * r + (int) iv[at]) * inner + i] += gv[at];
                    }
                }
            }
            return new Tensor[] {HostOps.floatTensor(dx, inputShape)};
        }
    }
}
