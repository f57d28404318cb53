package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Node;
import java.util.Arrays;

/**
 * The matrix products: mm, bmm, matmul (with its 1-d and broadcasting rules), addmm's GEMM, and their backward rules.
 * The facade is {@code Tensor.mm} and the like; every product runs as one {@link PlanStep.Gemm} through
 * {@link Launch}, the kernel is {@code kernels.Sgemm}.
 */
final class LinalgOps {
    private LinalgOps() {
    }

    /** Matrix product of two 2-d tensors, like {@code torch.mm}. */
    static Tensor mm(Tensor self, Tensor other) {
        self.requireFloat("mm");
        other.requireFloat("mm");
        int[] a = self.shapeRef();
        int[] b = other.shapeRef();
        if (a.length != 2) {
            throw new IllegalArgumentException("mm: self must be a matrix, got shape " + str(a));
        }
        if (b.length != 2) {
            throw new IllegalArgumentException("mm: mat2 must be a matrix, got shape " + str(b));
        }
        if (a[1] != b[0]) {
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + a[0] + "x" + a[1] + " and " + b[0] + "x" + b[1] + ")");
        }
        Tensor out = batchedProduct(self, other, 1, a[0], a[1], b[1], new int[] {a[0], b[1]});
        return !Tensor.recording(self, other) ? out : Tensor.record(out, () -> new ProductBackward(self, other, false), self, other);
    }

    /** Batched matrix product of two 3-d tensors {@code [b, n, m] x [b, m, p]}, like {@code torch.bmm}. */
    static Tensor bmm(Tensor self, Tensor other) {
        self.requireFloat("bmm");
        other.requireFloat("bmm");
        int[] a = self.shapeRef();
        int[] b = other.shapeRef();
        if (a.length != 3 || b.length != 3) {
            throw new IllegalArgumentException("bmm: batch1 and batch2 must be 3D tensors, got " + str(a) + " and " + str(b));
        }
        if (a[0] != b[0] || a[2] != b[1]) {
            throw new IllegalArgumentException("Expected size for first two dimensions of batch2 tensor to be: [" + a[0] + ", " + a[2]
                    + "] but got: [" + b[0] + ", " + b[1] + "].");
        }
        Tensor out = batchedProduct(self, other, a[0], a[1], a[2], b[2], new int[] {a[0], a[1], b[2]});
        return !Tensor.recording(self, other) ? out : Tensor.record(out, () -> new ProductBackward(self, other, true), self, other);
    }

    /**
     * Matrix product with {@code torch.matmul}'s rules: 1-d operands are promoted (and the added dim removed),
     * batch dimensions broadcast.
     */
    static Tensor matmul(Tensor self, Tensor other) {
        self.requireFloat("matmul");
        other.requireFloat("matmul");
        int[] sa = self.shapeRef();
        int[] sb = other.shapeRef();
        if (sa.length == 0 || sb.length == 0) {
            throw new IllegalArgumentException("both arguments to matmul need to be at least 1D, but they are " + sa.length + "D and " + sb.length + "D");
        }
        if (sa.length > 1 || sb.length > 1) {
            checkMatmulShapes(sa, sb);
        }
        boolean record = Tensor.recording(self, other);
        if (record && sa.length == 2 && sb.length == 1) {
            Tensor out;
            try (Autograd.Mode g = Autograd.noGrad()) {
                out = matmul(self, other);
            }
            return Tensor.record(out, () -> new MvBackward0(self, other), self, other);
        }
        if (record && !(sa.length == 1 && sb.length == 1)) {
            return matmulRecorded(self, other);
        }
        if (sa.length == 1 && sb.length == 1) {
            if (sa[0] != sb[0]) {
                throw new IllegalArgumentException("inconsistent tensor size, expected tensor [" + sa[0] + "] and src [" + sb[0]
                        + "] to have the same number of elements, but got " + sa[0] + " and " + sb[0] + " elements respectively");
            }
            Tensor out;
            try (Tensor row = self.view(new int[] {1, sa[0]}, new int[] {0, self.stridesRef()[0]}, self.storageOffset());
                 Tensor col = other.view(new int[] {sb[0], 1}, new int[] {other.stridesRef()[0], 0}, other.storageOffset())) {
                out = batchedProduct(row, col, 1, 1, sa[0], 1, new int[0]);
            }
            return Tensor.record(out, () -> new DotBackward0(self, other), self, other);
        }
        if (sa.length >= 3 && sb.length <= 2) {
            // folded as matmulRecorded folds it (PyTorch's folding): a's batch dims become rows of one product, so
            // the GEMM sees the same m, takes the same path and gives the same bits with and without a graph
            int k = sa[sa.length - 1];
            try (Tensor folded = self.reshape(foldedRows(sa), k); Tensor product = sb.length == 2 ? mm(folded, other) : matmul(folded, other)) {
                return product.viewNamed(foldedOutShape(sa, sb), "UnsafeViewBackward0"); // not a view: in-place on it is fine
            }
        }
        if (sa.length == 2 && sb.length >= 3) { // (b^T a^T)^T with the first product folded, as matmulRecorded
            try (Tensor bt = other.transpose(-1, -2); Tensor at = self.t(); Tensor product = matmul(bt, at)) {
                Tensor back = product.transpose(-1, -2);
                Tensor r = ownedContiguous(back);
                if (r != back) {
                    back.close();
                }
                return r;
            }
        }
        int[] a = sa.length == 1 ? new int[] {1, sa[0]} : sa;
        int[] b = sb.length == 1 ? new int[] {sb[0], 1} : sb;
        int n = a[a.length - 2];
        int k = a[a.length - 1];
        int p = b[b.length - 1];
        int[] batch = Shapes.broadcast(Arrays.copyOf(a, a.length - 2), Arrays.copyOf(b, b.length - 2));
        int batchCount = Shapes.checkedNumel(batch);
        // result shape: batch + [n] (unless self was 1-d) + [p] (unless other was 1-d)
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        int len = batch.length;
        if (sa.length != 1) {
            out[len++] = n;
        }
        if (sb.length != 1) {
            out[len++] = p;
        }
        out = Arrays.copyOf(out, len);
        int[] aFull = Arrays.copyOf(batch, batch.length + 2);
        aFull[batch.length] = n;
        aFull[batch.length + 1] = k;
        int[] bFull = Arrays.copyOf(batch, batch.length + 2);
        bFull[batch.length] = k;
        bFull[batch.length + 1] = p;
        try (Tensor av = self.view(a, strides1dAware(self, a), self.storageOffset());
             Tensor bv = other.view(b, strides1dAware(other, b), other.storageOffset());
             Tensor ae = av.expand(aFull); Tensor be = bv.expand(bFull);
             Tensor a3 = ae.dim() == 3 ? ae.detach() : ae.reshape(batchCount, n, k);
             Tensor b3 = be.dim() == 3 ? be.detach() : be.reshape(batchCount, k, p)) {
            return batchedProduct(a3, b3, batchCount, n, k, p, out);
        }
    }

    /**
     * matmul's shape rules, checked before either path (with or without a graph) so both give the same message:
     * PyTorch 1.13's, which names the operands as its folding hands them to mm, mv or bmm (an N-d operand's batch
     * folded into rows; a 1- or 2-d one times an N-d one as {@code b^T a^T}), followed by the operands' own shapes.
     */
    private static void checkMatmulShapes(int[] sa, int[] sb) {
        int da = sa.length;
        int db = sb.length;
        String shapes = " (shapes " + str(sa) + " and " + str(sb) + ")";
        if (da >= 3 && db <= 2 || da <= 2 && db >= 3) {
            // one N-d operand folded: PyTorch's mm/mv of [rows, k] with the other (transposed when it is the left one)
            boolean transposed = db >= 3;
            int[] big = transposed ? sb : sa;
            int[] small = transposed ? sa : sb;
            long rows = 1;
            for (int d = 0; d < big.length - 2; d++) {
                rows *= big[d];
            }
            rows *= transposed ? big[big.length - 1] : big[big.length - 2];
            int k = transposed ? big[big.length - 2] : big[big.length - 1];
            int smallK = transposed ? small[small.length - 1] : small[0];
            if (k == smallK) {
                return;
            }
            if (small.length == 1) {
                throw new IllegalArgumentException("size mismatch, got " + rows + ", " + rows + "x" + k + "," + smallK + shapes);
            }
            int smallCols = transposed ? small[0] : small[1];
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + rows + "x" + k + " and " + smallK + "x" + smallCols + ")"
                    + shapes);
        }
        if (da <= 2 && db <= 2) {
            int k = sa[da - 1];
            if (db == 1 && sb[0] != k) { // mv
                throw new IllegalArgumentException("size mismatch, got " + sa[0] + ", " + sa[0] + "x" + k + "," + sb[0] + shapes);
            }
            if (db == 2 && sb[0] != k) { // mm (a vector on the left as one row)
                throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + (da == 1 ? 1 : sa[0]) + "x" + k + " and " + sb[0]
                        + "x" + sb[1] + ")" + shapes);
            }
            return;
        }
        // both N-d: the batch dims broadcast, then one bmm over their product
        int[] batch;
        try {
            batch = Shapes.broadcast(Arrays.copyOf(sa, da - 2), Arrays.copyOf(sb, db - 2));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " in matmul's batch dims" + shapes, e);
        }
        if (sb[db - 2] != sa[da - 1]) {
            long count = 1;
            for (int d : batch) {
                count *= d;
            }
            throw new IllegalArgumentException("Expected size for first two dimensions of batch2 tensor to be: [" + count + ", " + sa[da - 1]
                    + "] but got: [" + count + ", " + sb[db - 2] + "]." + shapes);
        }
    }

    /**
     * matmul built from recorded ops (unsqueeze, expand, reshape, mm/bmm, squeeze) so its backward follows from
     * theirs; the graph holds the intermediate views.
     */
    private static Tensor matmulRecorded(Tensor self, Tensor other) {
        int[] sa = self.shapeRef();
        int[] sb = other.shapeRef();
        if (sa.length == 2 && sb.length == 2) {
            return mm(self, other);
        }
        if (sa.length == 1 && sb.length == 2) { // PyTorch: unsqueeze(0).mm(b).squeeze_(0)
            return mm(self.unsqueeze(0), other).viewNamed(new int[] {sb[1]}, "SqueezeBackward3");
        }
        if (sa.length >= 3 && sb.length <= 2) {
            // PyTorch's folding: a's batch dims become rows of one mm (or mv), viewed back; b is never copied per batch
            int k = sa[sa.length - 1];
            Tensor folded = self.reshape(foldedRows(sa), k); // explicit: reshape(-1, 0) cannot infer the rows of an empty k
            Tensor product = sb.length == 2 ? mm(folded, other) : matmul(folded, other);
            return product.viewNamed(foldedOutShape(sa, sb), "UnsafeViewBackward0");
        }
        if (sa.length == 2 && sb.length >= 3) { // PyTorch: (b^T a^T)^T, the first product folded, then made contiguous
            return ownedContiguous(matmul(other.transpose(-1, -2), self.t()).transpose(-1, -2));
        }
        Tensor a = self.shapeRef().length == 1 ? self.unsqueeze(0) : self;
        Tensor b = other.shapeRef().length == 1 ? other.unsqueeze(1) : other;
        int[] as = a.shapeRef();
        int[] bs = b.shapeRef();
        int n = as[as.length - 2];
        int k = as[as.length - 1];
        int p = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) {
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + n + "x" + k + " and " + bs[bs.length - 2] + "x" + p + ")");
        }
        int[] batch = Shapes.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        int count = Shapes.checkedNumel(batch);
        int[] aFull = Arrays.copyOf(batch, batch.length + 2);
        aFull[batch.length] = n;
        aFull[batch.length + 1] = k;
        int[] bFull = Arrays.copyOf(batch, batch.length + 2);
        bFull[batch.length] = k;
        bFull[batch.length + 1] = p;
        Tensor c = a.expand(aFull).reshape(count, n, k).bmm(b.expand(bFull).reshape(count, k, p));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = n;
        outShape[batch.length + 1] = p;
        Tensor r = c.viewNamed(outShape, "UnsafeViewBackward0");
        // PyTorch squeezes in place (squeeze_): the result stays a tensor of its own, not a view
        if (other.shapeRef().length == 1) {
            r = r.viewNamed(Arrays.copyOf(r.shapeRef(), r.dim() - 1), "SqueezeBackward1");
        }
        if (self.shapeRef().length == 1) {
            int[] s = r.shapeRef();
            int[] squeezed = new int[s.length - 1];
            System.arraycopy(s, 0, squeezed, 0, s.length - 2);
            squeezed[s.length - 2] = s[s.length - 1];
            r = r.viewNamed(squeezed, "SqueezeBackward1");
        }
        return r;
    }

    /**
     * {@code t} made contiguous as a tensor of its own: a copy, or, when {@code t} already is contiguous (its
     * transpose has a dim of 1), a non-view alias of it, so an in-place op on a matmul result is allowed on every rank
     * pair as in PyTorch (whose 2-d @ N-d ends in an in-place transpose_).
     */
    private static Tensor ownedContiguous(Tensor t) {
        Tensor r = t.contiguous();
        return r != t ? r : t.viewNamed(t.shape(), "TransposeBackward0");
    }

    /** The rows of an N-d operand folded into a matrix: the product of all dims but the last. */
    private static int foldedRows(int[] shape) {
        int rows = 1;
        for (int d = 0; d < shape.length - 1; d++) {
            rows = Math.multiplyExact(rows, shape[d]);
        }
        return rows;
    }

    /** The shape of a folded N-d x (1- or 2-d) product viewed back: a's batch dims and rows, then b's columns if 2-d. */
    private static int[] foldedOutShape(int[] sa, int[] sb) {
        int[] outShape = Arrays.copyOf(sa, sb.length == 2 ? sa.length : sa.length - 1);
        if (sb.length == 2) {
            outShape[sa.length - 1] = sb[1];
        }
        return outShape;
    }

    /** Strides for viewing a 1-d tensor as a row [1, n] or column [n, 1] matrix; otherwise its own strides. */
    private static int[] strides1dAware(Tensor t, int[] as) {
        if (t.shapeRef().length != 1) {
            return t.stridesRef().clone();
        }
        return as[0] == 1 ? new int[] {t.stridesRef()[0] * t.shapeRef()[0], t.stridesRef()[0]} : new int[] {t.stridesRef()[0], 1};
    }

    /** The GEMM behind addmm (shapes checked by the caller): bias rows go to the epilogue, other inputs through C. */
    static Tensor gemm(Tensor mat1, Tensor mat2, Tensor input, float beta, float alpha) {
        int m = mat1.shapeRef()[0];
        int k = mat1.shapeRef()[1];
        int n = mat2.shapeRef()[1];
        GemmOperand ga = GemmOperand.of(mat1, m, k);
        GemmOperand gb = GemmOperand.of(mat2, k, n);
        if (ga == null) {
            return mat1.withContiguous(c -> gemm(c, mat2, input, beta, alpha));
        }
        if (gb == null) {
            return mat2.withContiguous(c -> gemm(mat1, c, input, beta, alpha));
        }
        Tensor out = Tensor.allocate(DType.FLOAT32, new int[] {m, n});
        boolean biasRow = beta == 1f && input.numel() == n && (input.shapeRef().length == 1 || (input.shapeRef().length == 2 && input.shapeRef()[0] == 1));
        int[] outShape = out.shapeRef();
        if (biasRow && m > 0) { // the bias row goes to the epilogue
            return input.withContiguous(bc -> Launch.run(r -> new PlanStep.Gemm(1, ga.trans(), gb.trans(), m, n, k, alpha, r[0], ga.ld(), 0,
                    r[1], gb.ld(), 0, 0f, null, null, r[2], outShape), out, mat1, mat2, bc));
        }
        int[] cInitStrides = Shapes.broadcastStrides(input.shapeRef(), input.stridesRef(), out.shapeRef()); // any other input through C
        return Launch.run(r -> new PlanStep.Gemm(1, ga.trans(), gb.trans(), m, n, k, alpha, r[0], ga.ld(), 0, r[1], gb.ld(), 0,
                beta, r[2], cInitStrides, null, outShape), out, mat1, mat2, input);
    }

    /**
     * How a 2-d or 3-d operand is handed to the GEMM without copying: row-major (last stride 1) or transposed
     * (second-to-last stride 1), with its leading dimension and batch stride (0 when broadcast).
     */
    private record GemmOperand(Tensor tensor, boolean trans, int ld, long batchStride) {
        static GemmOperand of(Tensor t, int rows, int cols) {
            int d = t.shapeRef().length;
            int rs = t.stridesRef()[d - 2];
            int cs = t.stridesRef()[d - 1];
            long bs = d == 3 ? t.stridesRef()[0] : 0;
            if ((cs == 1 || cols == 1) && (rows == 1 || rs >= cols)) {
                return new GemmOperand(t, false, Math.max(rows == 1 ? cols : rs, 1), bs);
            }
            if ((rs == 1 || rows == 1) && (cols == 1 || cs >= rows)) {
                return new GemmOperand(t, true, Math.max(cols == 1 ? rows : cs, 1), bs);
            }
            return null; // e.g. a strided slice: needs a contiguous copy
        }
    }

    /**
     * {@code [batch, n, k] x [batch, k, p]} (or 2-d operands with batch 1) of any strides the GEMM can read:
     * transposed views such as {@code w.t()} are absorbed by its packing, anything else is copied once.
     */
    private static Tensor batchedProduct(Tensor a, Tensor b, int batch, int n, int k, int p, int[] outShape) {
        GemmOperand ga = GemmOperand.of(a, n, k);
        GemmOperand gb = GemmOperand.of(b, k, p);
        if (ga == null) {
            return a.withContiguous(ac -> batchedProduct(ac, b, batch, n, k, p, outShape));
        }
        if (gb == null) {
            return b.withContiguous(bc -> batchedProduct(a, bc, batch, n, k, p, outShape));
        }
        return Launch.run(r -> new PlanStep.Gemm(batch, ga.trans(), gb.trans(), n, p, k, 1f, r[0], ga.ld(), ga.batchStride(),
                r[1], gb.ld(), gb.batchStride(), 0f, null, null, null, outShape), Tensor.allocate(DType.FLOAT32, outShape), a, b);
    }


    /**
     * The gradient of {@code b} in {@code a @ b}, {@code a^T g}, computed in {@code b}'s layout (PyTorch's
     * mm_mat2_backward): when {@code b} is a transposed view (a Linear layer's {@code weight.t()}), as
     * {@code (g^T a)^T}, so the gradient arrives at the weight contiguous, in the weight's own layout, and
     * AccumulateGrad copies it straight instead of transposing a whole weight-sized matrix element by element (that
     * strided copy was 23% of an MLP step). The same products and the same sums either way.
     */
    static Tensor mat2Grad(Tensor a, Tensor g, boolean bColumnMajor) {
        if (bColumnMajor) {
            try (Tensor gt = g.t(); Tensor p = gt.mm(a)) {
                return p.t();
            }
        }
        try (Tensor at = a.t()) {
            return at.mm(g);
        }
    }

    /** The gradient of {@code a} in {@code a @ b}, {@code g b^T}, in {@code a}'s layout like {@link #mat2Grad}. */
    static Tensor mat1Grad(Tensor g, Tensor b, boolean aColumnMajor) {
        if (aColumnMajor) {
            try (Tensor gt = g.t(); Tensor p = b.mm(gt)) {
                return p.t();
            }
        }
        try (Tensor bt = b.t()) {
            return g.mm(bt);
        }
    }

    /** A matrix stored transposed: its rows are strided, its columns contiguous (not also row-major). */
    static boolean columnMajor(Tensor t) {
        return t.dim() == 2 && t.size(0) > 1 && t.size(1) > 1 && t.stride(0) == 1 && t.stride(1) == t.size(0);
    }

    /** C = A B: dA = dC B^T, dB = A^T dC; for bmm the same per batch. */
    static final class ProductBackward extends Node {
        private final boolean batched;
        private final Saved a;
        private final Saved b;

        private final boolean aColumnMajor;
        private final boolean bColumnMajor;

        ProductBackward(Tensor a, Tensor b, boolean batched) {
            this.batched = batched;
            this.aColumnMajor = columnMajor(a);
            this.bColumnMajor = columnMajor(b);
            this.a = b.requiresGrad() ? save(a, "argument 0") : null;
            this.b = a.requiresGrad() ? save(b, "argument 1") : null;
        }

        @Override
        public String name() {
            return batched ? "BmmBackward0" : "MmBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = null;
            Tensor gb = null;
            if (batched) {
                if (needsInputGrad(0)) {
                    try (Tensor bt = b.get().transpose(1, 2)) {
                        ga = g.bmm(bt);
                    }
                }
                if (needsInputGrad(1)) {
                    try (Tensor at = a.get().transpose(1, 2)) {
                        gb = at.bmm(g);
                    }
                }
                return new Tensor[] {ga, gb};
            }
            return new Tensor[] {needsInputGrad(0) ? mat1Grad(g, b.get(), aColumnMajor) : null,
                    needsInputGrad(1) ? mat2Grad(a.get(), g, bColumnMajor) : null};
        }
    }

    /** dot(a, b) of two vectors: da = g b, db = g a. */
    static final class DotBackward0 extends Node {
        private final Saved a;
        private final Saved b;

        DotBackward0(Tensor a, Tensor b) {
            this.a = b.requiresGrad() ? save(a, "argument 0") : null;
            this.b = a.requiresGrad() ? save(b, "argument 1") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            return new Tensor[] {needsInputGrad(0) ? b.get().mul(g) : null, needsInputGrad(1) ? a.get().mul(g) : null};
        }
    }

    /** mv(A, v): dA = g v^T (outer product), dv = A^T g. */
    static final class MvBackward0 extends Node {
        private final Saved a;
        private final Saved v;

        MvBackward0(Tensor a, Tensor v) {
            this.a = v.requiresGrad() ? save(a, "argument 0") : null;
            this.v = a.requiresGrad() ? save(v, "argument 1") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor ga = null;
            Tensor gv = null;
            if (needsInputGrad(0)) {
                try (Tensor col = g.unsqueeze(1); Tensor row = v.get().unsqueeze(0)) {
                    ga = col.mm(row);
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor at = a.get().t(); Tensor col = g.unsqueeze(1); Tensor r = at.mm(col)) {
                    gv = r.squeeze(1);
                }
            }
            return new Tensor[] {ga, gv};
        }
    }

    /**
     * addmm: {@code beta * input + alpha * (mat1 @ mat2)}. A bias row ({@code input} of shape [n] or [1, n], beta 1)
     * is added inside the GEMM's epilogue; any other broadcastable input is copied into the output first and
     * accumulated by the GEMM (its beta).
     */
    static Tensor addmm(Tensor input, Tensor mat1, Tensor mat2, float beta, float alpha) {
        input.requireFloat("addmm");
        mat1.requireFloat("addmm");
        mat2.requireFloat("addmm");
        if (mat1.dim() != 2 || mat2.dim() != 2) {
            throw new IllegalArgumentException("addmm: mat1 and mat2 must be matrices, got shapes " + Shapes.str(mat1.shapeRef()) + " and "
                    + Shapes.str(mat2.shapeRef()));
        }
        int m = mat1.size(0);
        int k = mat1.size(1);
        int n = mat2.size(1);
        if (mat2.size(0) != k) {
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + m + "x" + k + " and " + mat2.size(0) + "x" + n + ")");
        }
        int[] outShape = {m, n};
        int[] b = Shapes.broadcast(input.shapeRef(), outShape);
        if (!java.util.Arrays.equals(b, outShape)) {
            throw new IllegalArgumentException("addmm: input of shape " + Shapes.str(input.shapeRef()) + " cannot be broadcast to the product's shape "
                    + Shapes.str(outShape));
        }
        Tensor out = gemm(mat1, mat2, input, beta, alpha);
        if (Tensor.recording(input, mat1, mat2)) {
            Tensor.record(out, () -> new AddmmBackward0(input, mat1, mat2, beta, alpha), input, mat1, mat2);
        }
        return out;
    }

    static final class AddmmBackward0 extends Node {
        private final int[] inputShape;
        private final float beta;
        private final float alpha;
        private final Saved mat1;
        private final Saved mat2;

        private final boolean mat1ColumnMajor;
        private final boolean mat2ColumnMajor;

        AddmmBackward0(Tensor input, Tensor mat1, Tensor mat2, float beta, float alpha) {
            this.inputShape = input.shape();
            this.mat1ColumnMajor = columnMajor(mat1);
            this.mat2ColumnMajor = columnMajor(mat2);
            this.beta = beta;
            this.alpha = alpha;
            this.mat1 = mat2.requiresGrad() ? save(mat1, "argument 1") : null;
            this.mat2 = mat1.requiresGrad() ? save(mat2, "argument 2") : null;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor gi = null;
            Tensor g1 = null;
            Tensor g2 = null;
            if (needsInputGrad(0)) {
                if (beta == 1f) {
                    gi = ArithmeticOps.sumTo(g, inputShape);
                } else {
                    try (Tensor scaled = g.mul(beta)) { // PyTorch: grad * beta, then reduced to input's shape
                        gi = ArithmeticOps.sumTo(scaled, inputShape);
                    }
                }
            }
            if (needsInputGrad(1)) {
                try (Tensor p = mat1Grad(g, mat2.get(), mat1ColumnMajor)) {
                    g1 = alpha == 1f ? p.detach() : p.mul(alpha);
                }
            }
            if (needsInputGrad(2)) {
                try (Tensor p = mat2Grad(mat1.get(), g, mat2ColumnMajor)) {
                    g2 = alpha == 1f ? p.detach() : p.mul(alpha);
                }
            }
            return new Tensor[] {gi, g1, g2};
        }
    }
}
