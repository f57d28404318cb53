package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.AccumulateGrad;
import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Engine;
import dev.lanes.autograd.Node;
import dev.lanes.kernels.Compare;
import dev.lanes.kernels.Elementwise;
import dev.lanes.kernels.UnaryOp;
import dev.lanes.kernels.Simd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.memory.Releasable;
import dev.lanes.memory.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional array of float32 or int64 values in off-heap memory, with PyTorch's semantics:
 * shapes, strides and views, broadcasting arithmetic, reductions and matrix products.
 *
 * <p>Static methods mirror {@code torch.*} ({@code Tensor.randn(1, 1, 32, 32)}, {@code Tensor.arange(0, 10)}),
 * instance methods mirror tensor methods ({@code x.view(-1, 400)}, {@code x.sum(1, true)}). Methods ending
 * in {@code _} work in place and return {@code this}.
 *
 * <h2>Memory</h2>
 * A tensor holds one reference on its {@link Storage}; views share it. {@link #close()} gives the
 * reference back and the storage returns to the pool once no view holds it. Tensors created inside a
 * {@link MemoryScope} are closed with it. A tensor dropped without either is reclaimed after GC by a
 * Cleaner. Any use after release throws {@link IllegalStateException} naming the tensor and who released it.
 *
 * <p>A tensor may be read from several threads at once; writing it (in-place ops) while others read it is
 * a data race, as in PyTorch.
 */
public final class Tensor implements Releasable, AutoCloseable {
    static {
        VectorApiCheck.require(); // before any kernel class is loaded: a clear message instead of NoClassDefFoundError
    }

    private final Storage storage;
    private final DType dtype;
    private final int[] shape;
    private final int[] strides;
    private final int offset;
    private final int numel;
    private volatile String releasedBy;
    /** True for tensors made by a view op (sharing another tensor's storage); in-place edits of graph views are refused. */
    private final boolean isView;
    /**
     * A view taken under noGrad of a tensor that requires grad: written in place with grad mode on it would change
     * its base's values behind the base's history (PyTorch refuses it too).
     */
    private boolean noGradViewOfGradBase;
    /** A view (maybe of a view) recorded from a leaf that requires grad: torch names it in the in-place refusal. */
    private boolean viewOfGradLeaf;
    /** For a view with a gradFn: its storage's history rewrites when that gradFn was recorded (checkViewHistory). */
    private volatile int viewHistory;

    // ---- autograd state (see dev.lanes.autograd) ----
    private boolean requiresGrad;     // leaves only; a non-leaf requires grad because it has a gradFn
    private Node gradFn;              // the backward function that produced this tensor; null for leaves
    private AccumulateGrad accumulator;
    private volatile Tensor grad;

    private Tensor(Storage storage, DType dtype, int[] shape, int[] strides, int offset, boolean isView) {
        this.isView = isView;
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.numel = Shapes.checkedNumel(shape);
        MemoryScope.register(this);
    }

    /** A new contiguous tensor with undefined contents. */
    static Tensor allocate(DType dtype, int[] shape) {
        int n = Shapes.checkedNumel(shape);
        Storage s = Storage.allocate((long) n * dtype.byteSize());
        Launch.allocated(s);
        return new Tensor(s, dtype, shape.clone(), Shapes.contiguousStrides(shape), 0, false);
    }

    /** A contiguous float32 view of {@code shape} at float {@code offset} of {@code storage} (adds a storage reference). */
    static Tensor viewOf(Storage storage, int[] shape, long offset) {
        if (offset < 0 || offset + Shapes.checkedNumel(shape) > storage.byteSize() / 4 || offset > Integer.MAX_VALUE) {
            throw new IndexOutOfBoundsException("a view of shape " + str(shape) + " at float " + offset + " does not fit a storage of "
                    + storage.byteSize() / 4 + " floats");
        }
        storage.retain();
        return new Tensor(storage, DType.FLOAT32, shape.clone(), Shapes.contiguousStrides(shape), (int) offset, true);
    }

    /** A view on this tensor's storage (adds a storage reference). */
    Tensor view(int[] newShape, int[] newStrides, int newOffset) {
        return alias(newShape, newStrides, newOffset, true);
    }

    /**
     * A tensor on this tensor's storage (adds a storage reference); {@code isView}: autograd treats it as a view of
     * this one (an in-place op through it would have to rewrite this one's history, which Lanes refuses). Not a view:
     * detach()'s result, and the reshape of an intermediate nobody else holds (reshape's copy, matmul's product), which
     * PyTorch returns as a tensor of its own (_unsafe_view): {@code h = x.matmul(w); h.relu_()} is ordinary code.
     */
    private Tensor alias(int[] newShape, int[] newStrides, int newOffset, boolean isView) {
        checkAlive();
        storage.retain();
        Tensor v;
        try {
            v = new Tensor(storage, dtype, newShape, newStrides, newOffset, isView);
        } catch (RuntimeException | Error e) { // a refused shape (the constructor counts it) must not keep the reference
            storage.release("a refused view");
            throw e;
        }
        // made in no_grad from a tensor that requires grad, or from such a view (whatever the mode now: PyTorch carries
        // the view's creation mode on to views of it)
        v.noGradViewOfGradBase = noGradViewOfGradBase || (!Autograd.isGradEnabled() && requiresGrad());
        return v;
    }

    // =====================================================================================
    // Creation (torch.*)
    // =====================================================================================

    /**
     * A float32 tensor for the caller to fill, like {@code torch.empty} but zeroed: memory from the pool held another
     * tensor's values ({@code Tensor.of(secret).close(); Tensor.empty(n)} returned the secret), which no tensor may see.
     */
    public static Tensor empty(int... shape) {
        Tensor t = allocate(DType.FLOAT32, shape);
        try (OpFrame _ = OpFrame.enter()) {
            t.seg().fill((byte) 0);
        }
        return t;
    }

    public static Tensor zeros(int... shape) {
        return full(shape, 0f);
    }

    public static Tensor ones(int... shape) {
        return full(shape, 1f);
    }

    /** A float32 tensor of {@code shape} filled with {@code value}, like {@code torch.full}. */
    public static Tensor full(int[] shape, float value) {
        Tensor t = allocate(DType.FLOAT32, shape);
        int n = t.numel;
        // a step of its own: an inference trace folds it into a constant; a training step refills its slot each run,
        // so a kernel that accumulates into zeros outside the launch path cannot leave a baked-in value behind
        return Launch.run(r -> new PlanStep.Fill(value, n), t);
    }

    /**
     * A factory's result: its values depend on no tensor, so a forward pass being traced may make it (a causal mask)
     * and the plan keeps it as a constant. Random factories are not constants: a plan would bake in one draw.
     */
    private static Tensor constant(Tensor t) {
        Launch.madeConstant(t.storage);
        return t;
    }

    /** An int64 tensor of zeros. */
    public static Tensor zerosLong(int... shape) {
        Tensor t = allocate(DType.INT64, shape);
        try (OpFrame _ = OpFrame.enter()) {
            t.seg().fill((byte) 0);
        }
        return constant(t);
    }

    /** Zeros of {@code t}'s shape and dtype, like {@code torch.zeros_like}. */
    public static Tensor zerosLike(Tensor t) {
        return t.dtype == DType.INT64 ? zerosLong(t.shape) : t.dtype == DType.BOOL ? retyped(zeros(t.shape), DType.BOOL) : zeros(t.shape);
    }

    /** Ones of {@code t}'s shape and dtype (true for bool), like {@code torch.ones_like}. */
    public static Tensor onesLike(Tensor t) {
        return t.dtype == DType.FLOAT32 ? ones(t.shape) : retyped(ones(t.shape), t.dtype);
    }

    /** {@code value} in {@code t}'s shape and dtype (truncated toward zero for int64, {@code value != 0} for bool), like {@code torch.full_like}. */
    public static Tensor fullLike(Tensor t, double value) {
        if (t.dtype == DType.INT64) { // filled as a long: through float32, 123456789 became 123456792
            Tensor z = zerosLong(t.shape);
            try (Autograd.Mode g = Autograd.noGrad()) {
                return z.fill_(value);
            }
        }
        InPlaceOps.checkScalarFits("full_like", value, DType.FLOAT32);
        return t.dtype == DType.FLOAT32 ? full(t.shape, (float) value) : retyped(full(t.shape, (float) value), t.dtype);
    }

    /** {@code f} converted to {@code type}, {@code f} closed. */
    private static Tensor retyped(Tensor f, DType type) {
        try (f) {
            return f.toType(type);
        }
    }

    /** Standard normal samples from the global generator ({@link Lanes#manualSeed}). */
    public static Tensor randn(int... shape) {
        float[] v = new float[Shapes.checkedNumel(shape)];
        Lanes.fillNormal(v, 0, 1);
        return withData(v, shape);
    }

    public static Tensor randnLike(Tensor t) {
        return randn(t.shape);
    }

    /** Uniform samples in [0, 1). */
    public static Tensor rand(int... shape) {
        float[] v = new float[Shapes.checkedNumel(shape)];
        Lanes.fillUniform(v, 0, 1);
        return withData(v, shape);
    }

    public static Tensor randLike(Tensor t) {
        return rand(t.shape);
    }

    /** int64 samples uniform in [low, high), like {@code torch.randint(low, high, shape)}. */
    public static Tensor randint(long low, long high, int... shape) {
        if (high <= low) {
            throw new IllegalArgumentException("random_ expects 'from' to be less than 'to', but got from=" + low + " >= to=" + high);
        }
        long[] v = new long[Shapes.checkedNumel(shape)];
        Lanes.fillInts(v, low, high);
        Tensor t = allocate(DType.INT64, shape.clone()); // not of(): a random draw is no constant of a plan; no shape: 0-d, as torch.randint(lo, hi, ())
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(v, 0, t.seg(), ValueLayout.JAVA_LONG, 0, v.length);
        }
        return t;
    }

    /** int64 {@code [0, end)}, like {@code torch.arange(end)} with an integer. */
    public static Tensor arange(long end) {
        return arange(0, end, 1);
    }

    /** int64 {@code [start, end)}, like {@code torch.arange(0, 10)}. */
    public static Tensor arange(long start, long end) {
        return arange(start, end, 1);
    }

    public static Tensor arange(long start, long end, long step) {
        if (step == 0) {
            throw new IllegalArgumentException("arange: step must be nonzero");
        }
        if ((step > 0 && end < start) || (step < 0 && end > start)) {
            throw new IllegalArgumentException("arange: upper bound and larger bound inconsistent with step sign (start="
                    + start + ", end=" + end + ", step=" + step + ")");
        }
        // ceil((end - start) / step) exactly: end - start may not fit a long (arange(Long.MIN_VALUE, Long.MAX_VALUE))
        java.math.BigInteger span = java.math.BigInteger.valueOf(end).subtract(java.math.BigInteger.valueOf(start));
        java.math.BigInteger[] qr = span.divideAndRemainder(java.math.BigInteger.valueOf(step));
        java.math.BigInteger count = qr[1].signum() == 0 ? qr[0] : qr[0].add(java.math.BigInteger.ONE);
        if (count.compareTo(java.math.BigInteger.valueOf(Integer.MAX_VALUE - 8)) > 0) {
            throw new IllegalArgumentException("arange: " + count + " elements (start=" + start + ", end=" + end + ", step=" + step
                    + ") exceed the largest tensor, " + (Integer.MAX_VALUE - 8) + " elements");
        }
        int n = count.intValueExact();
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = start + i * step;
        }
        return of(v, v.length);
    }

    /** float32 {@code [start, end)} by {@code step}, like {@code torch.arange(0., 1., 0.1)}. */
    public static Tensor arange(double start, double end, double step) {
        if (!Double.isFinite(start) || !Double.isFinite(end)) {
            throw new IllegalArgumentException("arange: unsupported range: " + start + " -> " + end);
        }
        if (step == 0 || !Double.isFinite(step)) {
            throw new IllegalArgumentException("arange: step must be nonzero and finite, got " + step);
        }
        if ((step > 0 && end < start) || (step < 0 && end > start)) {
            throw new IllegalArgumentException("arange: upper bound and larger bound inconsistent with step sign (start="
                    + start + ", end=" + end + ", step=" + step + ")");
        }
        double count = Math.ceil((end - start) / step);
        if (!(count <= Integer.MAX_VALUE - 8)) { // also catches an infinite (end - start) / step
            throw new IllegalArgumentException("arange: " + (long) count + " elements exceed Integer.MAX_VALUE");
        }
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (start + i * step);
        }
        return of(v, v.length);
    }

    /** The {@code n x n} identity matrix. */
    public static Tensor eye(int n) {
        return eye(n, n);
    }

    public static Tensor eye(int n, int m) {
        Tensor t = allocate(DType.FLOAT32, new int[] {n, m}); // not zeros(): a training trace makes that a step, and the 1s would be lost
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = t.seg();
            s.asSlice(0, (long) t.numel << 2).fill((byte) 0);
            for (int i = 0; i < Math.min(n, m); i++) {
                s.set(Simd.FLOAT, ((long) i * m + i) << 2, 1f);
            }
        }
        return constant(t);
    }

    /** A 0-d float32 tensor, like {@code torch.tensor(3.5)}. */
    public static Tensor scalar(double value) {
        return full(new int[0], (float) value);
    }

    /** A 0-d int64 tensor. */
    public static Tensor scalarLong(long value) {
        Tensor t = allocate(DType.INT64, new int[0]);
        try (OpFrame _ = OpFrame.enter()) {
            t.seg().set(Simd.LONG, 0, value);
        }
        return constant(t);
    }

    /**
     * A float32 tensor holding a copy of {@code data} in row-major order; with no shape, a 1-d tensor of
     * {@code data.length} elements.
     */
    public static Tensor of(float[] data, int... shape) {
        int[] sh = shape.length == 0 ? new int[] {data.length} : shape;
        checkDataLength(data.length, sh);
        Tensor t = allocate(DType.FLOAT32, sh);
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(data, 0, t.seg(), ValueLayout.JAVA_FLOAT, 0, data.length);
        }
        return constant(t);
    }

    /** An int64 tensor holding a copy of {@code data}; with no shape, 1-d (a 0-d value: {@link #scalarLong}). */
    public static Tensor of(long[] data, int... shape) {
        int[] sh = shape.length == 0 ? new int[] {data.length} : shape;
        checkDataLength(data.length, sh);
        Tensor t = allocate(DType.INT64, sh);
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(data, 0, t.seg(), ValueLayout.JAVA_LONG, 0, data.length);
        }
        return constant(t);
    }

    /** A bool tensor holding a copy of {@code data}, like {@code torch.tensor([True, False])}; with no shape, 1-d. */
    public static Tensor of(boolean[] data, int... shape) {
        int[] sh = shape.length == 0 ? new int[] {data.length} : shape;
        checkDataLength(data.length, sh);
        Tensor t = allocate(DType.BOOL, sh);
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = t.seg();
            for (int i = 0; i < data.length; i++) {
                s.set(ValueLayout.JAVA_BYTE, i, (byte) (data[i] ? 1 : 0));
            }
        }
        return constant(t);
    }

    /** An int64 tensor from int values (labels), like {@code torch.tensor([1, 2, 3])}. */
    public static Tensor of(int[] data, int... shape) {
        long[] v = new long[data.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = data[i];
        }
        return of(v, shape);
    }

    /** A 2-d float32 tensor from rows of equal length, like {@code torch.Tensor([[5, 2], [0, -2]])}. */
    public static Tensor of(float[][] rows) {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == null) {
                throw new IllegalArgumentException("Tensor.of: row " + i + " is null");
            }
        }
        int cols = rows.length == 0 ? 0 : rows[0].length;
        if ((long) rows.length * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Tensor.of: " + rows.length + " rows of " + cols + " floats are over 2^31 elements");
        }
        float[] flat = new float[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("expected sequence of length " + cols + " at dim 1 (got " + rows[i].length + ")");
            }
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return of(flat, rows.length, cols);
    }

    /** A float32 tensor of exactly {@code shape} (0-d included) holding {@code data}. */
    private static Tensor withData(float[] data, int[] shape) {
        Tensor t = allocate(DType.FLOAT32, shape);
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(data, 0, t.seg(), ValueLayout.JAVA_FLOAT, 0, data.length);
        }
        return t;
    }

    /** Same as {@link #of(float[], int...)}: {@code torch.from_numpy}-style naming. */
    public static Tensor fromArray(float[] data, int... shape) {
        return of(data, shape);
    }

    public static Tensor fromArray(long[] data, int... shape) {
        return of(data, shape);
    }

    private static void checkDataLength(int length, int[] shape) {
        int n = Shapes.checkedNumel(shape);
        if (n != length) {
            throw new IllegalArgumentException("shape " + str(shape) + " needs " + n + " values but the array has " + length);
        }
    }

    // =====================================================================================
    // Metadata
    // =====================================================================================

    public DType dtype() {
        return dtype;
    }

    /** The shape, like {@code tensor.size()}: prints {@code Size([1, 10])}. */
    public Size size() {
        return new Size(shape);
    }

    /** Size of dimension {@code dim} (negative counts from the end). */
    public int size(int dim) {
        return shape[realDim(dim)];
    }

    /** A dim of this tensor, wrapped; a 0-d tensor has none (PyTorch: "Dimension specified as 0 but tensor has no dimensions"). */
    private int realDim(int dim) {
        if (shape.length == 0) {
            throw new IndexOutOfBoundsException("Dimension specified as " + dim + " but tensor has no dimensions");
        }
        return Shapes.wrapDim(dim, shape.length);
    }

    /** A copy of the shape array. */
    public int[] shape() {
        return shape.clone();
    }

    public int dim() {
        return shape.length;
    }

    public int numel() {
        return numel;
    }

    /** Element strides (a copy). */
    public int[] stride() {
        return strides.clone();
    }

    public int stride(int dim) {
        return strides[realDim(dim)];
    }

    /** Offset of the first element in the storage, in elements. */
    public int storageOffset() {
        return offset;
    }

    /** True when elements are laid out row-major without gaps (size-1 dims may have any stride). */
    public boolean isContiguous() {
        int expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1) {
                if (strides[d] != expected) {
                    return numel == 0;
                }
                expected *= shape[d];
            }
        }
        return true;
    }

    /** True when both tensors are views on the same storage. */
    public boolean sharesStorageWith(Tensor other) {
        return storage == other.storage;
    }

    // =====================================================================================
    // Memory
    // =====================================================================================

    /**
     * Whether this tensor object is the only holder of its storage and covers all of it contiguously: nothing else
     * (no view, no saved tensor, no other object) can see its bytes. AccumulateGrad then keeps the incoming gradient
     * itself as a leaf's first gradient instead of copying it, as PyTorch does when the gradient's use count is 1.
     */
    public boolean isSoleOwnerOfStorage() {
        return releasedBy == null && storage.refCount() == 1 && offset == 0 && isContiguous()
                && (long) numel() * dtype.byteSize() == storage.byteSize();
    }

    /** Gives this tensor's storage reference back; the memory returns to the pool when no view holds it. */
    @Override
    public void close() {
        release("Tensor.close()");
    }

    @Override
    public void release(String reason) {
        synchronized (this) {
            if (releasedBy != null) {
                return;
            }
            releasedBy = reason;
        }
        storage.release(reason);
    }

    @Override
    public boolean isReleased() {
        return releasedBy != null;
    }

    void checkAlive() {
        String by = releasedBy;
        if (by != null) {
            throw new IllegalStateException("Tensor of shape " + str(shape) + " (" + dtype.shortName()
                    + ") was released by " + by + " and can no longer be used");
        }
    }

    /**
     * The storage's bytes, pinned into the calling thread's {@link OpFrame} (so a concurrent {@code close()} cannot
     * hand them to another tensor before the frame closes); throws if this tensor was released.
     */
    MemorySegment seg() {
        checkAlive();
        OpFrame.pin(storage);
        return storage.segment();
    }

    /** Records an in-place write done by a kernel outside this class (bumps the version autograd checks). */
    void markModified() {
        storage.bumpVersion();
    }

    /** The storage itself (for {@link Tracer}). */
    Storage storageRef() {
        return storage;
    }

    int[] stridesRef() {
        return strides;
    }

    int[] shapeRef() {
        return shape;
    }

    // =====================================================================================
    // Autograd
    // =====================================================================================

    /** Whether gradients flow to this tensor: a leaf marked with {@link #requiresGrad(boolean)}, or any op result of one. */
    public boolean requiresGrad() {
        return requiresGrad || gradFn != null;
    }

    /** Marks a leaf as needing {@code .grad}, like {@code tensor.requires_grad_()}; returns this. */
    public Tensor requiresGrad(boolean flag) {
        checkAlive();
        if (gradFn != null && flag) {
            return this; // PyTorch: requires_grad_(True) on a non-leaf is accepted (it already requires grad)
        }
        if (gradFn != null) {
            throw new IllegalStateException("you can only change requires_grad flags of leaf variables. If you want to use a computed"
                    + " variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach(). (shape " + str(shape) + ")");
        }
        if (flag && dtype != DType.FLOAT32) {
            throw new IllegalArgumentException("only Tensors of floating point dtype can require gradients (got " + dtype.shortName() + ")");
        }
        requiresGrad = flag;
        return this;
    }

    /** True for tensors not produced by a recorded op (user-created tensors, parameters, detached tensors). */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The accumulated gradient, or null before the first backward (or after zeroing to null). */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient, like assigning {@code tensor.grad}; null clears it. The old gradient is not closed. */
    public void setGrad(Tensor g) {
        if (g == this) { // a backward would then add into the tensor itself
            throw new IllegalArgumentException("can't assign Variable as its own grad");
        }
        if (g != null && !Arrays.equals(g.shape, shape)) {
            throw new IllegalArgumentException("assigned grad has data of a different size: " + str(g.shape) + " vs tensor " + str(shape));
        }
        if (g != null && g.dtype != dtype) {
            throw new IllegalArgumentException("assigned grad has data of a different type: " + g.dtype.shortName() + " for a " + dtype.shortName()
                    + " tensor of shape " + str(shape));
        }
        Launch.gradAssigned(this, grad);
        grad = g;
    }

    /** The node that produced this tensor ({@code grad_fn}), null for leaves. */
    public Node gradFn() {
        return gradFn;
    }

    /** Storage version: bumped by every in-place write to this tensor or a view of it ({@code tensor._version}). */
    public int version() {
        return storage.version();
    }

    /** A view on the same storage with no history, like {@code tensor.detach()}. */
    public Tensor detach() {
        Tensor d = alias(shape.clone(), strides.clone(), offset, false); // PyTorch: x.detach()._is_view() is False
        d.noGradViewOfGradBase = false; // detach() is meant for writes outside the graph, as in PyTorch
        return d;
    }

    /** Same as {@link #detach()}: the walkthrough's {@code p.data.sub_(...)} is {@code p.data().sub_(...)}. */
    public Tensor data() {
        return detach();
    }

    /** Keeps the gradient of this non-leaf in {@link #grad()} after backward, like {@code retain_grad()}. */
    public Tensor retainGrad() {
        if (gradFn != null) {
            gradFn.retainGradFor(this);
        } else if (!requiresGrad) {
            throw new IllegalStateException("can't retain_grad on Tensor that has requires_grad=False");
        }
        return this;
    }

    /** Runs {@code hook} on this tensor's gradient during backward; it may return a replacement (or null). */
    public Tensor registerHook(java.util.function.UnaryOperator<Tensor> hook) {
        if (!requiresGrad()) {
            throw new IllegalStateException("cannot register a hook on a tensor that doesn't require gradient");
        }
        (gradFn != null ? gradFn : accumulator()).addPreHook(hook);
        return this;
    }

    /** Backward from a one-element tensor (a loss), like {@code loss.backward()}. */
    public void backward() {
        if (numel != 1) {
            throw new IllegalArgumentException("grad can be implicitly created only for scalar outputs (shape " + str(shape) + ")");
        }
        try (Tensor one = onesLike(this)) {
            backward(one, false);
        }
    }

    /** Backward with an explicit gradient of this tensor's shape, like {@code out.backward(torch.ones_like(out))}. */
    public void backward(Tensor gradient) {
        backward(gradient, false);
    }

    public void backward(Tensor gradient, boolean retainGraph) {
        checkAlive();
        if (!requiresGrad()) {
            throw new IllegalStateException("element 0 of tensors does not require grad and does not have a grad_fn");
        }
        if (!Arrays.equals(gradient.shape, shape)) {
            throw new IllegalArgumentException("Mismatch in shape: grad_output[0] has a shape of " + gradient.size()
                    + " and output[0] has a shape of " + size() + ".");
        }
        checkViewHistory();
        gradient.checkAlive();
        if (gradient.dtype != dtype) { // PyTorch's engine casts it (an int64 gradient was read as float bits: 1.4e-45s)
            try (Tensor cast = gradient.toFloat()) {
                Engine.backward(gradFn != null ? gradFn : accumulator(), cast, retainGraph);
            }
            return;
        }
        Engine.backward(gradFn != null ? gradFn : accumulator(), gradient, retainGraph);
    }

    synchronized AccumulateGrad accumulator() {
        if (accumulator == null) {
            accumulator = new AccumulateGrad(this);
        }
        return accumulator;
    }

    /** Records {@code node} as {@code out}'s gradFn when grad mode is on and this input requires grad. */
    private Tensor viewRecorded(Tensor out, java.util.function.Supplier<Node> node) {
        if (out.isView && Autograd.isGradEnabled() && (requiresGrad && gradFn == null || viewOfGradLeaf)) {
            out.viewOfGradLeaf = true;
        }
        return record(out, node, this);
    }

    /** True when an op on these inputs must record a graph node (grad mode on, some input requires grad). */
    static boolean recording(Tensor a, Tensor b) {
        return Autograd.isGradEnabled() && (a.requiresGrad() || (b != null && b.requiresGrad()));
    }

    /** {@link #recording(Tensor, Tensor)} for any number of inputs (nulls: scalar operands, skipped). */
    static boolean recording(Tensor... inputs) {
        if (!Autograd.isGradEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The one way every op records itself for autograd: when grad mode is on and any input requires grad, the node
     * {@code node} builds is linked to the inputs in order (a null input stands for a Python scalar operand, listed as
     * {@code (None, 0)} like PyTorch's wrapped number) and becomes {@code out}'s grad_fn. Returns {@code out}. The node
     * is only built when it is recorded. The ops an inference runs test {@link #recording} before calling this: the
     * supplier's lambda is then never made, and a young JVM (a plan traced at a service's start) never spins its class.
     */
    static Tensor record(Tensor out, java.util.function.Supplier<? extends Node> node, Tensor... inputs) {
        if (recording(inputs)) {
            out.recordedBy(node.get(), inputs);
        }
        return out;
    }

    private Node.Edge edge() {
        if (!requiresGrad()) {
            return new Node.Edge(null, 0);
        }
        checkViewHistory();
        return new Node.Edge(gradFn != null ? gradFn : accumulator(), 0, shape);
    }

    /**
     * A view recorded before an in-place op rewrote its base's history would send its gradient through the base's old
     * history: y = x.mul(1); v = y.select(0, 0); y.mul_(3); v.backward() gave x.grad 1 where PyTorch (which rebuilds
     * the view's grad_fn from the base) gives 3. Refused instead of a wrong gradient.
     */
    private void checkViewHistory() {
        if (isView && gradFn != null && viewHistory != storage.historyRewrites()) {
            throw new IllegalStateException("a view of shape " + str(shape) + " was taken before its base was modified by an in-place operation"
                    + " that autograd records, so its gradient history is out of date; take the view again after the in-place"
                    + " operation (or clone() it before)");
        }
    }

    /**
     * Links {@code node} to the inputs and makes it this result's gradFn; returns this. A null input stands for a
     * Python scalar operand, which PyTorch wraps in a tensor and lists as {@code (None, 0)} in next_functions.
     */
    private Tensor recordedBy(Node node, Tensor... inputs) {
        Node.Edge[] edges = new Node.Edge[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            edges[i] = inputs[i] == null ? new Node.Edge(null, 0) : inputs[i].edge();
        }
        node.setNext(edges);
        this.gradFn = node;
        if (isView) {
            viewHistory = storage.historyRewrites();
        }
        return this;
    }

    /** What an in-place write needs to rewrite this tensor's history: its old edge and, if a rule reads it, its old value. */
    record InPlaceEdit(Node.Edge self, Tensor original) {
    }

    /**
     * Called before an in-place write. Returns null when no graph is involved; otherwise applies PyTorch's rules
     * (a leaf that requires grad may not be written; views of graph tensors are not supported here) and captures
     * the old edge, plus a copy of the old value when {@code keepOriginal} (mul_, div_, clamp_ read it).
     */
    InPlaceEdit beginInPlace(String op, Tensor other, boolean keepOriginal) {
        if (noGradViewOfGradBase && Autograd.isGradEnabled()) {
            throw new IllegalStateException("A view was created in no_grad mode and is being modified inplace with grad mode enabled (" + op
                    + " on shape " + str(shape) + "). Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify"
                    + " your code by moving both the view and the inplace either both inside the no_grad block (if you don't want the"
                    + " inplace to be tracked) or both outside (if you want the inplace to be tracked).");
        }
        if (!Autograd.isGradEnabled() || !(requiresGrad() || (other != null && other.requiresGrad())) || dtype != DType.FLOAT32) {
            return null; // an int64 or bool target never requires grad (zerosLong(3).copy_(w) made one), as in PyTorch
        }
        if (requiresGrad() && gradFn == null) {
            throw new IllegalStateException("a leaf Variable that requires grad is being used in an in-place operation (" + op
                    + " on shape " + str(shape) + "); wrap it in Autograd.noGrad() or use .data()");
        }
        if (isView && viewOfGradLeaf) {
            throw new IllegalStateException("a view of a leaf Variable that requires grad is being used in an in-place operation (" + op
                    + " on shape " + str(shape) + "); wrap it in Autograd.noGrad() or use .data()");
        }
        if (isView) {
            throw new IllegalStateException(op + ": in-place operations on a view are not supported when gradients flow through"
                    + " it (shape " + str(shape) + "); clone() the view first or use the out-of-place form");
        }
        Tensor original = null;
        if (keepOriginal) {
            try (MemoryScope u = MemoryScope.unscoped()) {
                original = allocate(dtype, shape);
                ShapeOps.copyInto(this, original);
            }
        }
        return new InPlaceEdit(edge(), original);
    }

    /** After the write: {@code node} becomes this tensor's gradFn, fed by the old history and {@code other}. */
    void finishInPlace(InPlaceEdit edit, Node node, Tensor other, boolean scalarOperand) {
        Node.Edge[] edges;
        if (other != null) {
            edges = new Node.Edge[] {edit.self(), other.edge()};
        } else if (scalarOperand) {
            edges = new Node.Edge[] {edit.self(), new Node.Edge(null, 0)};
        } else {
            edges = new Node.Edge[] {edit.self()};
        }
        node.setNext(edges);
        Node previous = gradFn;
        gradFn = node;
        if (previous != null) {
            previous.moveRetainGrad(this, node);
        }
        storage.bumpHistoryRewrites(); // views of this memory recorded before now hold the old history (checkViewHistory)
        if (edit.original() != null) {
            edit.original().close(); // the node holds its own reference when it saved it
        }
    }

    // =====================================================================================
    // Views
    // =====================================================================================

    /** A view with a new shape (one -1 inferred); fails when the layout cannot be viewed, like PyTorch. */
    public Tensor view(int... newShape) {
        checkAlive();
        int[] sh = Shapes.inferSize(newShape, numel);
        int[] st = Shapes.viewStrides(shape, strides, sh);
        if (st == null) {
            throw new IllegalArgumentException("view size is not compatible with input tensor's size and stride (at least one"
                    + " dimension spans across two contiguous subspaces). Use .reshape(...) instead. (size "
                    + str(shape) + ", stride " + str(strides) + ", requested " + str(newShape) + ")");
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.ReshapeBackward("ViewBackward0", this));
    }

    /**
     * A contiguous intermediate nobody else holds, in a new shape, whose graph node carries {@code name} (reshape's
     * copy path, matmul's result): not a view for autograd (see {@link #alias}), as PyTorch's _unsafe_view.
     */
    Tensor viewNamed(int[] newShape, String name) {
        int[] sh = Shapes.inferSize(newShape, numel);
        return viewRecorded(alias(sh, Shapes.viewStrides(shape, strides, sh), offset, false), () -> new ShapeOps.ReshapeBackward(name, this));
    }

    /** Like {@link #view} when possible, otherwise a contiguous copy with the new shape. */
    public Tensor reshape(int... newShape) {
        checkAlive();
        int[] sh = Shapes.inferSize(newShape, numel);
        int[] st = Shapes.viewStrides(shape, strides, sh);
        if (st != null) {
            return viewRecorded(view(sh, st, offset), () -> new ShapeOps.ReshapeBackward("ReshapeAliasBackward0", this));
        }
        Tensor c = contiguous();
        try {
            return c.viewNamed(sh, "UnsafeViewBackward0");
        } finally {
            c.close();
        }
    }

    /** A view with a size-1 dimension inserted at {@code dim} ({@code -1} appends). */
    public Tensor unsqueeze(int dim) {
        int d = Shapes.wrapDim(dim, shape.length + 1);
        int[] sh = new int[shape.length + 1];
        int[] st = new int[shape.length + 1];
        for (int i = 0, j = 0; i < sh.length; i++) {
            if (i == d) {
                sh[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                sh[i] = shape[j];
                st[i] = strides[j];
                j++;
            }
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.ReshapeBackward("UnsqueezeBackward0", this));
    }

    /** A view without any size-1 dimension. */
    public Tensor squeeze() {
        int n = 0;
        for (int s : shape) {
            if (s != 1) {
                n++;
            }
        }
        int[] sh = new int[n];
        int[] st = new int[n];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (shape[i] != 1) {
                sh[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.ReshapeBackward("SqueezeBackward0", this));
    }

    /** A view without dimension {@code dim} if its size is 1; otherwise a view of the same shape. */
    public Tensor squeeze(int dim) {
        int d = Shapes.wrapDim(dim, shape.length);
        Tensor out = shape.length == 0 || shape[d] != 1 ? view(shape.clone(), strides.clone(), offset)
                : view(remove(shape, d), remove(strides, d), offset);
        return viewRecorded(out, () -> new ShapeOps.ReshapeBackward("SqueezeBackward1", this));
    }

    /** All dimensions flattened into one. */
    public Tensor flatten() {
        return flatten(0, -1);
    }

    /** Dimensions {@code startDim..endDim} flattened into one (a view when possible, else a copy). */
    public Tensor flatten(int startDim, int endDim) {
        if (shape.length == 0) {
            Shapes.wrapDim(startDim, 1); // only 0 and -1 name a 0-d tensor's dim, as PyTorch checks
            Shapes.wrapDim(endDim, 1);
            return reshape(1);
        }
        int s = Shapes.wrapDim(startDim, shape.length);
        int e = Shapes.wrapDim(endDim, shape.length);
        if (s > e) {
            throw new IllegalArgumentException("flatten() has invalid args: start_dim (" + startDim + ") cannot come after end_dim (" + endDim + ")");
        }
        int[] sh = new int[shape.length - (e - s)];
        int k = 0;
        for (int i = 0; i < s; i++) {
            sh[k++] = shape[i];
        }
        long prod = 1;
        for (int i = s; i <= e; i++) {
            prod *= shape[i]; // at most (2^31)^2 before the check below stops it: no long overflow
            if (prod > Integer.MAX_VALUE) { // an empty tensor's other dims may multiply past an int (it wrapped to 0)
                throw new IllegalArgumentException("flatten(): dims " + s + ".." + e + " of shape " + Shapes.str(shape) + " multiply to more than 2^31 - 1");
            }
        }
        sh[k++] = (int) prod;
        for (int i = e + 1; i < shape.length; i++) {
            sh[k++] = shape[i];
        }
        return reshape(sh);
    }

    /** A view with dimensions {@code dim0} and {@code dim1} swapped. */
    public Tensor transpose(int dim0, int dim1) {
        int a = Shapes.wrapDim(dim0, shape.length);
        int b = Shapes.wrapDim(dim1, shape.length);
        int[] sh = shape.clone();
        int[] st = strides.clone();
        if (shape.length > 0) {
            sh[a] = shape[b];
            sh[b] = shape[a];
            st[a] = strides[b];
            st[b] = strides[a];
        }
        int[] perm = new int[shape.length];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i == a ? b : i == b ? a : i;
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.PermuteBackward("TransposeBackward0", perm));
    }

    /** Transpose of a matrix (0-d and 1-d tensors are returned as views unchanged), like {@code tensor.t()}. */
    public Tensor t() {
        if (shape.length > 2) {
            throw new IllegalArgumentException("t() expects a tensor with <= 2 dimensions, but self is " + shape.length + "D (shape " + str(shape) + ")");
        }
        if (shape.length < 2) {
            int[] identity = new int[shape.length];
            return viewRecorded(view(shape.clone(), strides.clone(), offset), () -> new ShapeOps.PermuteBackward("TBackward0", identity));
        }
        return viewRecorded(view(new int[] {shape[1], shape[0]}, new int[] {strides[1], strides[0]}, offset),
                () -> new ShapeOps.PermuteBackward("TBackward0", new int[] {1, 0}));
    }

    /** A view with dimensions reordered: result dim i is this tensor's dim {@code dims[i]}. */
    public Tensor permute(int... dims) {
        if (dims.length != shape.length) {
            throw new IllegalArgumentException("permute(): number of dimensions in the tensor input does not match the length"
                    + " of the desired ordering of dimensions i.e. input.dim() = " + shape.length + " is not equal to len(dims) = " + dims.length);
        }
        int[] sh = new int[dims.length];
        int[] st = new int[dims.length];
        boolean[] seen = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            int d = Shapes.wrapDim(dims[i], shape.length);
            if (seen[d]) {
                throw new IllegalArgumentException("permute(): duplicate dims are not allowed (dims " + str(dims) + ")");
            }
            seen[d] = true;
            sh[i] = shape[d];
            st[i] = strides[d];
        }
        int[] perm = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            perm[i] = Shapes.wrapDim(dims[i], shape.length);
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.PermuteBackward("PermuteBackward0", perm));
    }

    /** A view of {@code length} elements of {@code dim} starting at {@code start}, like {@code tensor.narrow}. */
    public Tensor narrow(int dim, int start, int length) {
        int d = Shapes.wrapDim(dim, shape.length);
        requireDims(1, "narrow()");
        int size = shape[d];
        if (start < -size || start > size) {
            throw new IndexOutOfBoundsException("start out of range (expected to be in range of [" + (-size) + ", " + size + "], but got " + start + ")");
        }
        int s = start < 0 ? start + size : start;
        if (length < 0 || (long) s + length > size) {
            throw new IndexOutOfBoundsException("start (" + s + ") + length (" + length + ") exceeds dimension size (" + size + ").");
        }
        int[] sh = shape.clone();
        sh[d] = length;
        // an empty view keeps this one's offset: s * stride may point past the storage (narrow(1, 3, 0) of a [2, 3]), where
        // a copy out of the view checked the offset even for no elements
        int at = Shapes.checkedNumel(sh) == 0 ? offset : offset + s * strides[d];
        return viewRecorded(view(sh, strides.clone(), at),
                () -> new ShapeOps.IndexBackward("SliceBackward0", this, z -> z.narrow(d, s, length)));
    }

    /** Python-style {@code tensor[..., start:end]} on {@code dim}: negative bounds count from the end, out-of-range bounds clamp. */
    public Tensor slice(int dim, int start, int end) {
        return slice(dim, start, end, 1);
    }

    /** {@code tensor[..., start:end:step]} on {@code dim}, {@code step > 0}. */
    public Tensor slice(int dim, int start, int end, int step) {
        requireDims(1, "slice()");
        int d = Shapes.wrapDim(dim, shape.length);
        if (step <= 0) {
            throw new IllegalArgumentException("slice step must be positive, got " + step);
        }
        int size = shape[d];
        int s = clampIndex(start, size);
        int e = clampIndex(end, size);
        int len = e > s ? (int) (((long) e - s + step - 1) / step) : 0;
        int[] sh = shape.clone();
        int[] st = strides.clone();
        sh[d] = len;
        // with one element or none the stride is never used (and stride * step may not fit an int)
        st[d] = len <= 1 ? strides[d] : Math.multiplyExact(strides[d], step);
        return viewRecorded(view(sh, st, offset + (len > 0 ? s * strides[d] : 0)),
                () -> new ShapeOps.IndexBackward("SliceBackward0", this, z -> z.slice(d, start, end, step)));
    }

    private static int clampIndex(int i, int size) {
        int v = i < 0 ? i + size : i;
        return Math.max(0, Math.min(size, v));
    }

    /** A view without dimension {@code dim}, at {@code index} along it, like {@code tensor.select}. */
    public Tensor select(int dim, int index) {
        requireDims(1, "select()");
        int d = Shapes.wrapDim(dim, shape.length);
        int size = shape[d];
        if (index < -size || index >= size) {
            throw new IndexOutOfBoundsException("select(): index " + index + " out of range for tensor of size " + str(shape) + " at dimension " + d);
        }
        int i = index < 0 ? index + size : index;
        return viewRecorded(view(remove(shape, d), remove(strides, d), offset + i * strides[d]),
                () -> new ShapeOps.IndexBackward("SelectBackward0", this, z -> z.select(d, i)));
    }

    /** {@code tensor[index]}: the sub-tensor at {@code index} along dimension 0. */
    public Tensor get(int index) {
        return select(0, index);
    }

    /**
     * A view with size-1 dimensions repeated (stride 0) to {@code sizes}; -1 keeps a size, new leading dims
     * may be added, like {@code tensor.expand}.
     */
    public Tensor expand(int... sizes) {
        if (sizes.length < shape.length) {
            throw new IllegalArgumentException("expand: the number of sizes provided (" + sizes.length + ") must be greater or equal to"
                    + " the number of dimensions in the tensor (" + shape.length + ")");
        }
        int lead = sizes.length - shape.length;
        int[] sh = new int[sizes.length];
        int[] st = new int[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            int j = i - lead;
            if (j < 0) {
                if (sizes[i] < 0) {
                    throw new IllegalArgumentException("The expanded size of the tensor (" + sizes[i] + ") isn't allowed in a leading, non-existing dimension " + i);
                }
                sh[i] = sizes[i];
                st[i] = 0;
            } else if (sizes[i] == -1 || sizes[i] == shape[j]) {
                sh[i] = shape[j];
                st[i] = strides[j];
            } else if (shape[j] == 1 && sizes[i] >= 0) {
                sh[i] = sizes[i];
                st[i] = 0;
            } else {
                throw new IllegalArgumentException("The expanded size of the tensor (" + sizes[i] + ") must match the existing size ("
                        + shape[j] + ") at non-singleton dimension " + i + ".  Target sizes: " + str(sizes) + ".  Tensor sizes: " + str(shape));
            }
        }
        return viewRecorded(view(sh, st, offset), () -> new ShapeOps.ExpandBackward0(this));
    }

    public Tensor expandAs(Tensor other) {
        return expand(other.shape);
    }

    /** This tensor if it is contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        checkAlive();
        if (isContiguous()) {
            return this;
        }
        return clone();
    }

    /**
     * Runs {@code fn} on a contiguous version of this tensor: itself, or a temporary copy that records no graph
     * node and is freed afterwards. Kernels that need a row-major input use this instead of {@link #contiguous()}.
     */
    <R> R withContiguous(java.util.function.Function<Tensor, R> fn) {
        checkAlive();
        Tensor src = this;
        if (!isContiguous()) {
            src = allocate(dtype, shape);
            ShapeOps.copyInto(this, src);
        }
        try {
            return fn.apply(src);
        } finally {
            if (src != this) {
                src.close();
            }
        }
    }

    /** A contiguous copy that shares nothing with this tensor. */
    @Override
    public Tensor clone() {
        Tensor out = allocate(dtype, shape);
        ShapeOps.copyInto(this, out);
        return viewRecorded(out, ShapeOps.CloneBackward0::new);
    }

    /** This tensor converted to {@code type} (itself when it already has that type), like {@code tensor.to(dtype)}. */
    public Tensor toType(DType type) {
        return ShapeOps.toType(this, type);
    }

    /** {@code tensor.float()} */
    public Tensor toFloat() {
        return toType(DType.FLOAT32);
    }

    /** {@code tensor.long()}: truncates toward zero. */
    public Tensor toLong() {
        return toType(DType.INT64);
    }

    /**
     * {@code tensor.int().long()}: int64 holding the values an int32 conversion gives (Lanes has no int32 type), as
     * PyTorch's and numpy's on x86: floats truncated toward zero, NaN, the infinities and floats outside the int32 range
     * Integer.MIN_VALUE; int64 wrapped to its low 32 bits; bool 0 or 1.
     */
    public Tensor toInt32Values() {
        return ShapeOps.toInt32Values(this);
    }

    // =====================================================================================
    // Joining, splitting, selecting (ShapeOps: cat, stack, split, chunk; SelectOps: where, masked_fill, tril, triu)
    // =====================================================================================

    /**
     * The tensors joined along {@code dim} (negative counts from the end), like {@code torch.cat(tensors, dim)}: sizes
     * must match except along dim; 1-d empty tensors are skipped, as in PyTorch; int64 and float32 mix to float32.
     */
    public static Tensor cat(java.util.List<Tensor> tensors, int dim) {
        return ShapeOps.cat(tensors, dim);
    }

    /** {@code torch.cat(tensors)}: along dim 0. */
    public static Tensor cat(java.util.List<Tensor> tensors) {
        return ShapeOps.cat(tensors, 0);
    }

    public static Tensor cat(Tensor[] tensors, int dim) {
        return ShapeOps.cat(tensors == null ? null : Arrays.asList(tensors), dim);
    }

    /** Equally shaped tensors joined along a new dim {@code dim}, like {@code torch.stack(tensors, dim)}. */
    public static Tensor stack(java.util.List<Tensor> tensors, int dim) {
        return ShapeOps.stack(tensors, dim);
    }

    /** {@code torch.stack(tensors)}: along a new dim 0. */
    public static Tensor stack(java.util.List<Tensor> tensors) {
        return ShapeOps.stack(tensors, 0);
    }

    public static Tensor stack(Tensor[] tensors, int dim) {
        return ShapeOps.stack(tensors == null ? null : Arrays.asList(tensors), dim);
    }

    /**
     * Views of {@code splitSize} elements along {@code dim} (the last one smaller), like {@code tensor.split(split_size, dim)};
     * gradients flow back through each view.
     */
    public java.util.List<Tensor> split(int splitSize, int dim) {
        return ShapeOps.split(this, splitSize, dim);
    }

    public java.util.List<Tensor> split(int splitSize) {
        return ShapeOps.split(this, splitSize, 0);
    }

    /** Views of the given sizes along {@code dim} (they must add up to its size), like {@code tensor.split([2, 3], dim)}. */
    public java.util.List<Tensor> split(int[] splitSizes, int dim) {
        return ShapeOps.splitWithSizes(this, splitSizes, dim);
    }

    public java.util.List<Tensor> split(int[] splitSizes) {
        return ShapeOps.splitWithSizes(this, splitSizes, 0);
    }

    /** {@code chunks} views along {@code dim} of {@code ceil(size / chunks)} elements (fewer views when that runs out), like {@code tensor.chunk}. */
    public java.util.List<Tensor> chunk(int chunks, int dim) {
        return ShapeOps.chunk(this, chunks, dim);
    }

    public java.util.List<Tensor> chunk(int chunks) {
        return ShapeOps.chunk(this, chunks, 0);
    }

    /**
     * {@code x} where {@code condition} is true, {@code y} elsewhere, all three broadcast, like
     * {@code torch.where(condition, x, y)}. The condition is a bool tensor (a comparison's result: {@code a.gt(b)}), or,
     * beyond PyTorch (which refuses them), a float32 or int64 mask read as nonzero = true.
     */
    public static Tensor where(Tensor condition, Tensor x, Tensor y) {
        return SelectOps.where(condition, x, y);
    }

    /**
     * {@code value} where {@code mask} is true (nonzero; float32 or int64), this tensor elsewhere, broadcast together,
     * like {@code tensor.masked_fill(mask, value)}: {@code scores.maskedFill(causal.eq(0), Double.NEGATIVE_INFINITY)}.
     */
    public Tensor maskedFill(Tensor mask, double value) {
        return SelectOps.maskedFill(this, mask, value);
    }

    /** The lower triangle of the last two dims (element (i, j) kept when {@code j - i <= diagonal}), the rest zero, like {@code tensor.tril(diagonal)}. */
    public Tensor tril(int diagonal) {
        return SelectOps.triangle(this, true, diagonal);
    }

    public Tensor tril() {
        return SelectOps.triangle(this, true, 0);
    }

    /** The upper triangle of the last two dims (element (i, j) kept when {@code j - i >= diagonal}), like {@code tensor.triu(diagonal)}. */
    public Tensor triu(int diagonal) {
        return SelectOps.triangle(this, false, diagonal);
    }

    public Tensor triu() {
        return SelectOps.triangle(this, false, 0);
    }

    // =====================================================================================
    // Elementwise
    // =====================================================================================

    // arithmetic of two tensors (broadcasting) and of a tensor and a scalar: rows of ArithmeticOps.Binary / .Scalar

    public Tensor add(Tensor other) {
        return ArithmeticOps.Binary.ADD.apply(this, other);
    }

    /** {@code this + alpha * other}, like {@code torch.add(input, other, alpha=alpha)}. */
    public Tensor add(Tensor other, float alpha) {
        return ArithmeticOps.add(this, other, alpha);
    }

    /** {@code out = this + other} into a preallocated tensor of the broadcast shape, like {@code torch.add(a, b, out=out)}. */
    public Tensor add(Tensor other, Tensor out) {
        return InPlaceOps.add(this, other, out);
    }

    public Tensor add(double value) {
        return ArithmeticOps.Scalar.ADD.apply(this, value);
    }

    public Tensor sub(Tensor other) {
        return ArithmeticOps.Binary.SUB.apply(this, other);
    }

    public Tensor sub(double value) {
        return ArithmeticOps.Scalar.SUB.apply(this, value);
    }

    /** {@code value - this}, like {@code torch.rsub}. */
    public Tensor rsub(double value) {
        return ArithmeticOps.Scalar.RSUB.apply(this, value);
    }

    public Tensor mul(Tensor other) {
        return ArithmeticOps.Binary.MUL.apply(this, other);
    }

    public Tensor mul(double value) {
        return ArithmeticOps.Scalar.MUL.apply(this, value);
    }

    public Tensor div(Tensor other) {
        return ArithmeticOps.Binary.DIV.apply(this, other);
    }

    public Tensor div(double value) {
        return ArithmeticOps.Scalar.DIV.apply(this, value);
    }

    /**
     * {@code value / this}: Python's {@code value / x}, which PyTorch computes as {@code reciprocal(x) * value} (two
     * roundings; Lanes divides once, so the two can differ by an ulp, and below ~1e-38 PyTorch's reciprocal overflows).
     */
    public Tensor rdiv(double value) {
        return ArithmeticOps.Scalar.RDIV.apply(this, value);
    }

    /** Elementwise power with broadcasting, like {@code torch.pow(self, exponent)}. */
    public Tensor pow(Tensor exponent) {
        return ArithmeticOps.Binary.POW.apply(this, exponent);
    }

    /** Elementwise maximum with broadcasting; NaN propagates, like {@code torch.maximum}. */
    public Tensor maximum(Tensor other) {
        return ArithmeticOps.Binary.MAXIMUM.apply(this, other);
    }

    public Tensor minimum(Tensor other) {
        return ArithmeticOps.Binary.MINIMUM.apply(this, other);
    }

    // comparisons and logical ops: bool results, like PyTorch's (LogicOps; kernel: kernels.Compare)

    /** True where equal, like {@code torch.eq}; float32, int64 and bool operands, broadcasting. */
    public Tensor eq(Tensor other) {
        return LogicOps.binary(Compare.Op.EQ, this, other);
    }

    public Tensor eq(double value) {
        return LogicOps.binary(Compare.Op.EQ, this, value);
    }

    public Tensor ne(Tensor other) {
        return LogicOps.binary(Compare.Op.NE, this, other);
    }

    public Tensor ne(double value) {
        return LogicOps.binary(Compare.Op.NE, this, value);
    }

    public Tensor gt(Tensor other) {
        return LogicOps.binary(Compare.Op.GT, this, other);
    }

    public Tensor gt(double value) {
        return LogicOps.binary(Compare.Op.GT, this, value);
    }

    public Tensor ge(Tensor other) {
        return LogicOps.binary(Compare.Op.GE, this, other);
    }

    public Tensor ge(double value) {
        return LogicOps.binary(Compare.Op.GE, this, value);
    }

    public Tensor lt(Tensor other) {
        return LogicOps.binary(Compare.Op.LT, this, other);
    }

    public Tensor lt(double value) {
        return LogicOps.binary(Compare.Op.LT, this, value);
    }

    public Tensor le(Tensor other) {
        return LogicOps.binary(Compare.Op.LE, this, other);
    }

    public Tensor le(double value) {
        return LogicOps.binary(Compare.Op.LE, this, value);
    }

    /** Elementwise AND of the operands' truth values (nonzero is true), a bool tensor, like {@code torch.logical_and}. */
    public Tensor logicalAnd(Tensor other) {
        return LogicOps.binary(Compare.Op.AND, this, other);
    }

    public Tensor logicalOr(Tensor other) {
        return LogicOps.binary(Compare.Op.OR, this, other);
    }

    public Tensor logicalXor(Tensor other) {
        return LogicOps.binary(Compare.Op.XOR, this, other);
    }

    public Tensor logicalNot() {
        return LogicOps.not(this);
    }

    /** Values limited to {@code [min, max]}; NaN stays NaN, like {@code torch.clamp}. */
    public Tensor clamp(double min, double max) {
        return ArithmeticOps.clamp(this, min, max);
    }

    public Tensor clampMin(double min) {
        return clamp(min, Float.POSITIVE_INFINITY);
    }

    public Tensor clampMax(double max) {
        return clamp(Float.NEGATIVE_INFINITY, max);
    }

    /**
     * Zeroes each element with probability {@code p} and scales survivors by {@code 1 / (1 - p)} when {@code training};
     * the identity otherwise, like {@code torch.dropout(x, p, train)}. The mask is a hash of one seed drawn from the global generator
     * ({@link Lanes#manualSeed}).
     */
    public Tensor dropout(double p, boolean training) {
        return ArithmeticOps.dropout(this, p, training);
    }

    /** {@code torch.dropout_(x, p, train)}: this tensor, multiplied in place by the scaled mask while training (MulBackward0). */
    public Tensor dropout_(double p, boolean training) {
        return ArithmeticOps.dropout_(this, p, training);
    }

    // the elementwise ops of one tensor: forward kernel, saved value and backward rule are rows of Pointwise

    public Tensor neg() {
        return Pointwise.NEG.apply(this);
    }

    public Tensor exp() {
        return Pointwise.EXP.apply(this);
    }

    public Tensor log() {
        return Pointwise.LOG.apply(this);
    }

    public Tensor sqrt() {
        return Pointwise.SQRT.apply(this);
    }

    public Tensor abs() {
        return Pointwise.ABS.apply(this);
    }

    /** {@code torch.sin(x)}: Lanes' own reduction and polynomial, within 1 ulp of StrictMath, the same bits everywhere. */
    public Tensor sin() {
        return Pointwise.SIN.apply(this);
    }

    /** {@code torch.cos(x)}, likewise. */
    public Tensor cos() {
        return Pointwise.COS.apply(this);
    }

    public Tensor pow(double value) {
        return Pointwise.POW.apply(this, (float) value);
    }

    public Tensor relu() {
        return Pointwise.RELU.apply(this);
    }

    public Tensor sigmoid() {
        return Pointwise.SIGMOID.apply(this);
    }

    public Tensor tanh() {
        return Pointwise.TANH.apply(this);
    }

    /** GELU, {@code x * Phi(x)} with the exact normal CDF: {@code torch.nn.functional.gelu(x)}. */
    public Tensor gelu() {
        return Pointwise.GELU.apply(this);
    }

    /**
     * GELU with PyTorch's {@code approximate} argument: {@code "none"} (the exact form) or {@code "tanh"}
     * ({@code x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}).
     */
    public Tensor gelu(String approximate) {
        return Pointwise.gelu(approximate).apply(this);
    }

    /** The error function, {@code torch.erf(x)}. */
    public Tensor erf() {
        return Pointwise.ERF.apply(this);
    }

    /** SiLU (swish), {@code x * sigmoid(x)}: {@code torch.nn.functional.silu(x)}. */
    public Tensor silu() {
        return Pointwise.SILU.apply(this);
    }

    /** Mish, {@code x * tanh(softplus(x))}: {@code torch.nn.functional.mish(x)}. */
    public Tensor mish() {
        return Pointwise.MISH.apply(this);
    }

    /** {@code e^x - 1}, accurate near 0: {@code torch.expm1(x)}. */
    public Tensor expm1() {
        return Pointwise.EXPM1.apply(this);
    }

    /** {@code log(1 + x)}, accurate near 0: {@code torch.log1p(x)}. */
    public Tensor log1p() {
        return Pointwise.LOG1P.apply(this);
    }

    /** {@code x > 0 ? x : negativeSlope * x}: {@code torch.nn.functional.leaky_relu(x, negative_slope)} (PyTorch's default slope is 0.01). */
    public Tensor leakyRelu(double negativeSlope) {
        return Pointwise.LEAKY_RELU.apply(this, (float) negativeSlope);
    }

    /** {@code x > 0 ? x : alpha * (e^x - 1)}: {@code torch.nn.functional.elu(x, alpha)} (default alpha 1). */
    public Tensor elu(double alpha) {
        return Pointwise.ELU.apply(this, (float) alpha);
    }

    /**
     * {@code log(1 + e^(beta x)) / beta}, and x itself where {@code beta x > threshold}:
     * {@code torch.nn.functional.softplus(x, beta, threshold)} (defaults 1 and 20).
     */
    public Tensor softplus(double beta, double threshold) {
        return Pointwise.SOFTPLUS.apply(this, (float) beta, (float) threshold);
    }

    /** {@code x} limited to {@code [minVal, maxVal]}: {@code torch.nn.functional.hardtanh(x, min_val, max_val)} (defaults -1, 1). */
    public Tensor hardtanh(double minVal, double maxVal) {
        return Pointwise.HARDTANH.apply(this, (float) minVal, (float) maxVal);
    }

    /** {@code min(max(x, 0), 6)}: {@code torch.nn.functional.relu6(x)}, which is hardtanh(x, 0, 6) (grad_fn HardtanhBackward0). */
    public Tensor relu6() {
        return hardtanh(0, 6);
    }

    /** {@code min(max(x + 3, 0), 6) / 6}: {@code torch.nn.functional.hardsigmoid(x)}. */
    public Tensor hardsigmoid() {
        return Pointwise.HARDSIGMOID.apply(this);
    }

    /** {@code x * min(max(x + 3, 0), 6) / 6}: {@code torch.nn.functional.hardswish(x)}. */
    public Tensor hardswish() {
        return Pointwise.HARDSWISH.apply(this);
    }

    /** {@code out = relu(this)} into a preallocated tensor of the same shape. */
    public Tensor relu(Tensor out) {
        return InPlaceOps.relu(this, out);
    }

    // ---- in place (InPlaceOps: no plan step; the history of a graph tensor is rewritten like PyTorch's) ----

    public Tensor add_(Tensor other) {
        return InPlaceOps.add_(this, other);
    }

    public Tensor add_(double value) {
        return InPlaceOps.add_(this, value);
    }

    public Tensor sub_(Tensor other) {
        return InPlaceOps.sub_(this, other);
    }

    public Tensor sub_(double value) {
        return InPlaceOps.sub_(this, value);
    }

    public Tensor mul_(Tensor other) {
        return InPlaceOps.mul_(this, other);
    }

    public Tensor mul_(double value) {
        return InPlaceOps.mul_(this, value);
    }

    public Tensor div_(Tensor other) {
        return InPlaceOps.div_(this, other);
    }

    public Tensor div_(double value) {
        return InPlaceOps.div_(this, value);
    }

    public Tensor clamp_(double min, double max) {
        return InPlaceOps.clamp_(this, min, max);
    }

    public Tensor relu_() {
        return InPlaceOps.relu_(this);
    }

    /** {@code sigmoid_()}: in place, recording SigmoidBackward0 over the result like torch's. */
    public Tensor sigmoid_() {
        return InPlaceOps.sigmoid_(this);
    }

    /** {@code tanh_()}: in place, recording TanhBackward0 over the result. */
    public Tensor tanh_() {
        return InPlaceOps.tanh_(this);
    }

    /**
     * {@code F.leaky_relu_(x, negative_slope)}: in place, recording LeakyReluBackward1 over the result; like torch, the
     * backward of a negative slope is refused (use {@link #leakyRelu}).
     */
    public Tensor leakyRelu_(double negativeSlope) {
        return InPlaceOps.leakyRelu_(this, negativeSlope);
    }

    /** {@code F.elu_(x, alpha)}: in place, recording EluBackward1 over the result; a negative alpha's backward is refused. */
    public Tensor elu_(double alpha) {
        return InPlaceOps.elu_(this, alpha);
    }

    /** {@code F.hardtanh_(x, min_val, max_val)}: in place, HardtanhBackward0 over a copy of the input (torch 1.13's saved self). */
    public Tensor hardtanh_(double minVal, double maxVal) {
        return InPlaceOps.hardtanh_(this, minVal, maxVal);
    }

    /** {@code F.relu6(x, inplace=True)}: hardtanh_(x, 0, 6). */
    public Tensor relu6_() {
        return hardtanh_(0, 6);
    }

    /** {@code F.hardsigmoid(x, inplace=True)}: in place, HardsigmoidBackward0 over a copy of the input. */
    public Tensor hardsigmoid_() {
        return InPlaceOps.hardsigmoid_(this);
    }

    /** {@code F.hardswish(x, inplace=True)}: in place, HardswishBackward0 over a copy of the input. */
    public Tensor hardswish_() {
        return InPlaceOps.hardswish_(this);
    }

    /** {@code F.silu(x, inplace=True)}: in place, SiluBackward0 over a copy of the input. */
    public Tensor silu_() {
        return InPlaceOps.silu_(this);
    }

    /** {@code F.mish(x, inplace=True)}: in place, MishBackward0 over a copy of the input. */
    public Tensor mish_() {
        return InPlaceOps.mish_(this);
    }

    public Tensor zero_() {
        return InPlaceOps.fill(this, "zero_", 0, "ZeroBackward0");
    }

    /**
     * Fills this float32 tensor with samples uniform in [{@code low}, {@code high}), like {@code tensor.uniform_(from,
     * to)}: the draws of {@link #rand} scaled in float arithmetic ({@code u * (float) (high - low) + (float) low}, the
     * bits {@code rand(shape).mul(high - low).add(low)} gives, in one pass instead of three; the float rounding of
     * that sum can reach {@code high} when it is not a float).
     */
    public Tensor uniform_(double low, double high) {
        requireFloat("uniform_");
        if (!(Math.abs(low) <= Float.MAX_VALUE) || !(Math.abs(high) <= Float.MAX_VALUE) || !(Math.abs(high - low) <= Float.MAX_VALUE)) {
            throw new IllegalArgumentException("uniform_ expects bounds and a distance between them that are finite floats, but found from="
                    + low + ", to=" + high);
        }
        if (low > high) {
            throw new IllegalArgumentException("uniform_ expects to return a [from, to) range, but found from=" + low + " > to=" + high);
        }
        float[] v = new float[Shapes.checkedNumel(shape)];
        Lanes.fillUniform(v, 0, 1);
        float scale = (float) (high - low);
        float shift = (float) low;
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] * scale + shift; // two roundings, as the mul and add kernels do (Java never contracts to an FMA)
        }
        try (Tensor src = withData(v, shape)) {
            return InPlaceOps.copy_(this, src);
        }
    }

    /** Sets every element to {@code value} (int64 tensors take it truncated). */
    public Tensor fill_(double value) {
        return InPlaceOps.fill(this, "fill_", value, "FillBackward2");
    }

    /** Copies {@code src} (broadcast to this shape, converted to this dtype) into this tensor. */
    public Tensor copy_(Tensor src) {
        return InPlaceOps.copy_(this, src);
    }

    void requireFloat(String op) {
        checkAlive();
        if (dtype != DType.FLOAT32) {
            throw new IllegalArgumentException(op + ": expected a float32 tensor but got " + dtype.shortName() + " tensor of shape "
                    + str(shape) + "; convert it with toFloat()");
        }
    }

    private void requireDims(int min, String op) {
        if (shape.length < min) {
            throw new IllegalArgumentException(op + " cannot be applied to a " + shape.length + "-dim tensor.");
        }
    }

    private static int[] remove(int[] a, int i) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    // =====================================================================================
    // Reductions
    // =====================================================================================

    /** Values and indices of {@code max(dim)} / {@code min(dim)}, like PyTorch's named tuple. */
    public record ValuesIndices(Tensor values, Tensor indices) {
    }

    /** Sum of all elements, a 0-d tensor (of a bool tensor: the int64 count of true elements, like PyTorch). */
    public Tensor sum() {
        return dtype == DType.BOOL ? LogicOps.countTrue(this, null, false) : ReductionOps.sum(this, null, false, false);
    }

    public Tensor sum(int dim) {
        return sum(dim, false);
    }

    public Tensor sum(int dim, boolean keepdim) {
        return dtype == DType.BOOL ? LogicOps.countTrue(this, dim, keepdim) : ReductionOps.sum(this, dim, keepdim, false);
    }

    public Tensor mean() {
        return ReductionOps.sum(this, null, false, true);
    }

    public Tensor mean(int dim) {
        return mean(dim, false);
    }

    public Tensor mean(int dim, boolean keepdim) {
        return ReductionOps.sum(this, dim, keepdim, true);
    }

    /** Largest element (NaN if any), a 0-d tensor. */
    public Tensor max() {
        return ReductionOps.extremum(this, true);
    }

    /** Largest elements along {@code dim} and the index of their first occurrence. */
    public ValuesIndices max(int dim, boolean keepdim) {
        return ReductionOps.extremum(this, true, dim, keepdim);
    }

    public ValuesIndices max(int dim) {
        return max(dim, false);
    }

    public Tensor min() {
        return ReductionOps.extremum(this, false);
    }

    public ValuesIndices min(int dim, boolean keepdim) {
        return ReductionOps.extremum(this, false, dim, keepdim);
    }

    public ValuesIndices min(int dim) {
        return min(dim, false);
    }

    /** Index (int64, 0-d) of the first largest element in the flattened tensor. */
    public Tensor argmax() {
        return ReductionOps.argExtremum(this, true, null, false);
    }

    public Tensor argmax(int dim, boolean keepdim) {
        return ReductionOps.argExtremum(this, true, dim, keepdim);
    }

    public Tensor argmax(int dim) {
        return argmax(dim, false);
    }

    public Tensor argmin() {
        return ReductionOps.argExtremum(this, false, null, false);
    }

    public Tensor argmin(int dim, boolean keepdim) {
        return ReductionOps.argExtremum(this, false, dim, keepdim);
    }

    public Tensor argmin(int dim) {
        return argmin(dim, false);
    }

    /** Unbiased variance of all elements. */
    public Tensor var() {
        return var(true);
    }

    public Tensor var(boolean unbiased) {
        return ReductionOps.variance(this, null, unbiased, false, false);
    }

    public Tensor var(int dim, boolean unbiased, boolean keepdim) {
        return ReductionOps.variance(this, dim, unbiased, keepdim, false);
    }

    public Tensor var(int dim) {
        return var(dim, true, false);
    }

    public Tensor std() {
        return std(true);
    }

    public Tensor std(boolean unbiased) {
        return ReductionOps.variance(this, null, unbiased, false, true);
    }

    public Tensor std(int dim, boolean unbiased, boolean keepdim) {
        return ReductionOps.variance(this, dim, unbiased, keepdim, true);
    }

    public Tensor std(int dim) {
        return std(dim, true, false);
    }

    // =====================================================================================
    // Indexing (IndexOps; kernels.Indexing) and normalisation (NormOps; kernels.Normalization)
    // =====================================================================================

    /** The slices at {@code index} (int64, 1-d) along {@code dim}, like {@code x.index_select(dim, index)}. */
    public Tensor indexSelect(int dim, Tensor index) {
        return IndexOps.indexSelect(this, dim, index);
    }

    /**
     * {@code x[..., index, ...]} along {@code dim}, like PyTorch's advanced indexing by one int64 tensor
     * ({@code x[:, idx]} is {@code x.index(1, idx)}): any index shape (it replaces the dim in the result's shape; a 0-d
     * index drops the dim), negative indices counted from the end. Also ONNX's Gather.
     */
    public Tensor index(int dim, Tensor index) {
        return IndexOps.index(this, dim, index);
    }

    /** {@code out[..., j, ...] = this[..., index[..., j, ...], ...]} along {@code dim}, like {@code x.gather(dim, index)}. */
    public Tensor gather(int dim, Tensor index) {
        return IndexOps.gather(this, dim, index);
    }

    /** A copy of this tensor with {@code src} added at {@code index} along {@code dim}, like {@code x.scatter_add(dim, index, src)}. */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) {
        return IndexOps.scatterAdd(this, dim, index, src);
    }

    /**
     * Rows of {@code weight [num_embeddings, dim]} at {@code indices} (int64, any shape), like
     * {@code torch.nn.functional.embedding(indices, weight, padding_idx)}; {@code paddingIdx} may be null (none) or
     * negative (counted from the end); its row gets no gradient. The backward adds gradient rows at their indices.
     */
    public static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx) {
        return IndexOps.embedding(indices, weight, paddingIdx);
    }

    /**
     * {@code torch.nn.functional.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)}:
     * {@code maxNorm} (null for none) first renormalises, in place and outside autograd, the referenced rows whose
     * {@code normType}-norm exceeds it (the weight's version changes); {@code scaleGradByFreq} divides each row's
     * gradient by its index's count in {@code indices}; {@code sparse} true is refused (no sparse gradients).
     */
    public static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx, Double maxNorm, double normType, boolean scaleGradByFreq,
                                   boolean sparse) {
        return IndexOps.embedding(indices, weight, paddingIdx, maxNorm, normType, scaleGradByFreq, sparse);
    }

    /** int64 one-hot encoding, {@code indices.shape + [numClasses]}, like {@code F.one_hot}; -1 infers max + 1. */
    public static Tensor oneHot(Tensor indices, int numClasses) {
        return IndexOps.oneHot(indices, numClasses);
    }

    /**
     * Scaled dot-product attention by the tiled ("flash") kernel: {@code softmax(q k^T * scale [+ causal mask]) v}
     * over the last two dims of {@code q [..., L, E]}, {@code k [..., S, E]}, {@code v [..., S, Ev]} (batch dims
     * broadcast; causal: query i sees keys j <= i), without materialising the {@code [L, S]} scores in either
     * direction. {@code nn.functional.F.scaledDotProductAttention} picks it by itself for long contexts; call this to
     * force it.
     */
    public static Tensor flashAttention(Tensor q, Tensor k, Tensor v, boolean isCausal, double scale) {
        return AttentionOps.flash(q, k, v, isCausal, scale, 0);
    }

    /**
     * {@link #flashAttention} with dropout of probability {@code dropoutP} on the attention weights (training): the
     * mask is a counter-based hash of one seed drawn from the global generator ({@link Lanes#manualSeed}) per call,
     * recomputed in the backward, never stored (a compiled training step draws a new seed per run). The simple
     * path's mask indexes [L, S] after its own draw, so the two paths drop other weights for one seed.
     */
    public static Tensor flashAttention(Tensor q, Tensor k, Tensor v, boolean isCausal, double scale, double dropoutP) {
        return AttentionOps.flash(q, k, v, isCausal, scale, dropoutP);
    }

    /**
     * Layer normalisation over the last dims (which must equal {@code normalizedShape}), scaled by {@code weight} and
     * shifted by {@code bias} (each may be null), like {@code torch.nn.functional.layer_norm}. One fused kernel each way.
     */
    public static Tensor layerNorm(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return NormOps.layerNorm(input, normalizedShape, weight, bias, eps);
    }

    /**
     * Group normalisation of {@code input [N, C, *]}, like {@code torch.nn.functional.group_norm(input, num_groups,
     * weight, bias, eps)}: each sample's {@code C / numGroups} consecutive channels are normalised together with their
     * mean and biased variance, then each channel is scaled by {@code weight[c]} and shifted by {@code bias[c]} (each may
     * be null). C must be divisible by numGroups. One fused kernel each way (grad_fn NativeGroupNormBackward0).
     */
    public static Tensor groupNorm(Tensor input, int numGroups, Tensor weight, Tensor bias, double eps) {
        return NormOps.groupNorm(input, numGroups, weight, bias, eps);
    }

    /**
     * Instance normalisation of {@code input [N, C, *]}, like {@code torch.nn.functional.instance_norm(input,
     * running_mean, running_var, weight, bias, use_input_stats, momentum, eps)}: with {@code useInputStats} each
     * (sample, channel) is normalised with its own statistics (group_norm with C groups) and the running statistics,
     * when given, are updated; otherwise the running statistics normalise (batch_norm in eval).
     */
    public static Tensor instanceNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean useInputStats,
                                      double momentum, double eps) {
        return NormOps.instanceNorm(input, runningMean, runningVar, weight, bias, useInputStats, momentum, eps);
    }

    /**
     * Batch normalisation over dim 1 of {@code input [N, C, *]}, like {@code torch.nn.functional.batch_norm(input,
     * running_mean, running_var, weight, bias, training, momentum, eps)}: in training the batch's statistics are used
     * and folded into the running ones (when given); otherwise the running ones. One fused kernel each way.
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training,
                                   double momentum, double eps) {
        return NormOps.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, null);
    }

    /**
     * {@link #batchNorm} as {@code nn.BatchNorm} runs it: in training the same kernel also adds one to
     * {@code numBatchesTracked} (an int64 tensor of one element), so a compiled training step replays the count too.
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training,
                                   double momentum, double eps, Tensor numBatchesTracked) {
        return NormOps.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, numBatchesTracked);
    }

    // =====================================================================================
    // Softmax (forward and backward: SoftmaxOps; kernel: kernels.Softmax)
    // =====================================================================================

    /** softmax along {@code dim}: exp(x - max) / sum, like {@code x.softmax(dim)}. */
    public Tensor softmax(int dim) {
        return SoftmaxOps.forward(this, dim, false);
    }

    /** log_softmax along {@code dim}, stable: x - max - log(sum(exp(x - max))), like {@code x.log_softmax(dim)}. */
    public Tensor logSoftmax(int dim) {
        return SoftmaxOps.forward(this, dim, true);
    }

    // =====================================================================================
    // Convolution (forward and backward: ConvOps; kernels: kernels.Im2col + kernels.Sgemm)
    // =====================================================================================

    /**
     * 2-d convolution of {@code input [N, C, H, W]} with {@code weight [O, C / groups, kH, kW]} and optional
     * {@code bias [O]}, like {@code torch.nn.functional.conv2d}; stride, padding and dilation are one int or a pair,
     * padding also four ints {@code [top, left, bottom, right]} (ONNX's asymmetric pads).
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups) {
        return ConvOps.conv2d(input, weight, bias, ConvOps.params(stride, padding, dilation, groups));
    }

    /** conv2d with {@code padding = "same"} or {@code "valid"}. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int[] stride, String padding, int[] dilation, int groups) {
        return ConvOps.conv2d(input, weight, bias, ConvOps.params(stride, padding, dilation, groups, weight));
    }

    /** conv2d with stride 1, no padding, no dilation, one group. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias) {
        return conv2d(input, weight, bias, null, (int[]) null, null, 1);
    }

    /**
     * Transposed 2-d convolution of {@code input [N, Cin, H, W]} with {@code weight [Cin, Cout / groups, kH, kW]} and
     * optional {@code bias [Cout]}, like {@code torch.nn.functional.conv_transpose2d} (the same argument order): the
     * gradient of {@link #conv2d} with respect to its input. Stride, output padding and dilation are one int or a
     * pair; padding one int, a pair, or four ints {@code [top, left, bottom, right]} (ONNX's asymmetric pads). The
     * output is {@code (H - 1) stride - padTop - padBottom + dilation (kH - 1) + 1 + outputPadding} high (likewise wide).
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] outputPadding, int groups,
                                         int[] dilation) {
        return ConvOps.convTranspose2d(input, weight, bias, stride, padding, outputPadding, dilation, groups);
    }

    /** convTranspose2d with stride 1, no padding, no dilation, one group. */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias) {
        return convTranspose2d(input, weight, bias, null, null, null, 1, null);
    }

    // =====================================================================================
    // Pooling (forward and backward: PoolOps; kernels: kernels.Pooling)
    // =====================================================================================

    /**
     * 2-d max pooling of {@code [N, C, H, W]} (or {@code [C, H, W]}), like {@code torch.nn.functional.max_pool2d}.
     * Each of kernel, stride (default: kernel), padding, dilation is one int or a pair.
     */
    public static Tensor maxPool2d(Tensor input, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        return PoolOps.maxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
    }

    /** {@code max_pool2d(input, k)}: square window, stride k. */
    public static Tensor maxPool2d(Tensor input, int kernelSize) {
        return PoolOps.maxPool2d(input, new int[] {kernelSize}, null, null, null, false);
    }

    /** 2-d average pooling, like {@code torch.nn.functional.avg_pool2d}. */
    public static Tensor avgPool2d(Tensor input, int[] kernelSize, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        return PoolOps.avgPool2d(input, kernelSize, stride, padding, ceilMode, countIncludePad);
    }

    public static Tensor avgPool2d(Tensor input, int kernelSize) {
        return PoolOps.avgPool2d(input, new int[] {kernelSize}, null, null, false, true);
    }

    /**
     * Nearest resize of {@code [N, C, H, W]} float32 input in one kernel: {@code out[n, c, i, j] = input[n, c, rows[i],
     * cols[j]]}, the indices in the input and non-decreasing (F.interpolate computes them by torch 1.13's rule).
     * Differentiable (the adjoint kernel) and traceable; the bits of two index_selects.
     */
    public static Tensor upsampleNearest2d(Tensor input, int[] rows, int[] cols) {
        return UpsampleOps.nearest2d(input, rows, cols);
    }

    /**
     * Bilinear resize of {@code [N, C, H, W]} float32 input in one kernel, at the non-decreasing source coordinates
     * {@code rowSource} and {@code colSource} (one per output row / column, clamped to the input as
     * {@code nn.functional.Resample.linear}): the bits of {@code Resample.linear} along H, then along W.
     * Differentiable (the adjoint kernel) and traceable.
     */
    public static Tensor upsampleBilinear2d(Tensor input, double[] rowSource, double[] colSource) {
        return UpsampleOps.bilinear2d(input, rowSource, colSource);
    }

    /** Adaptive average pooling to {@code outputSize} (one int or a pair), like {@code adaptive_avg_pool2d}. */
    public static Tensor adaptiveAvgPool2d(Tensor input, int... outputSize) {
        return PoolOps.adaptiveAvgPool2d(input, outputSize);
    }

    // =====================================================================================
    // Reading values
    // =====================================================================================

    /** The value of a one-element tensor (int64 values are converted), like {@code tensor.item()}. */
    public float item() {
        Launch.beforeHostRead(this);
        checkOneElement();
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = seg();
            return (float) elementAt(s, offset);
        }
    }

    /** The element at storage position {@code index} as a double (int64 beyond 2^53 rounded; bool 0 or 1). */
    private double elementAt(MemorySegment s, long index) {
        return switch (dtype) {
            case FLOAT32 -> s.get(Simd.FLOAT, index << 2);
            case INT64 -> s.get(Simd.LONG, index << 3);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, index);
        };
    }

    /** The value of a one-element bool tensor (or of any one-element tensor: nonzero is true), like {@code bool(t)}. */
    public boolean boolItem() {
        Launch.beforeHostRead(this);
        checkOneElement();
        try (OpFrame _ = OpFrame.enter()) {
            double v = elementAt(seg(), offset);
            return v != 0 || Double.isNaN(v);
        }
    }

    /** The value of a one-element tensor as a long (float values truncated). */
    public long longItem() {
        Launch.beforeHostRead(this);
        checkOneElement();
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = seg();
            return dtype == DType.INT64 ? s.get(Simd.LONG, (long) offset << 3) : (long) elementAt(s, offset);
        }
    }

    private void checkOneElement() {
        checkAlive();
        if (numel != 1) {
            throw new IllegalArgumentException("a Tensor with " + numel + " elements cannot be converted to Scalar (shape " + str(shape) + ")");
        }
    }

    /**
     * Copies {@code src[srcOffset ..]} into this contiguous float32 tensor in place, without allocating: the way to
     * feed caller-owned buffers (a data loader's batch, a service's request) into reused tensors.
     */
    public Tensor copyFrom(float[] src, int srcOffset) {
        InPlaceOps.checkWritable("copyFrom", this);
        requireFloat("copyFrom");
        if (!isContiguous()) {
            throw new IllegalArgumentException("copyFrom needs a contiguous tensor (shape " + str(shape) + ", stride " + str(strides) + ")");
        }
        if (srcOffset < 0 || (long) srcOffset + numel > src.length) {
            throw new IllegalArgumentException("copyFrom: tensor of shape " + str(shape) + " needs " + numel + " values from offset " + srcOffset
                    + " but the array has " + src.length);
        }
        // in a graph this is copy_ from a constant: a leaf that requires grad is refused, history gets zero gradient
        // (it overwrote a leaf's values, and x.mul(2) overwritten still sent x a gradient of 2)
        InPlaceEdit edit = beginInPlace("copyFrom", null, false);
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(src, srcOffset, seg(), ValueLayout.JAVA_FLOAT, (long) offset << 2, numel);
        }
        storage.bumpVersion();
        if (edit != null) {
            finishInPlace(edit, new ShapeOps.OverwrittenBackward("CopyBackwards", null), null, false);
        }
        return this;
    }

    /** Copies {@code src} into this contiguous int64 tensor in place. */
    public Tensor copyFrom(long[] src, int srcOffset) {
        InPlaceOps.checkWritable("copyFrom", this);
        checkAlive();
        if (dtype != DType.INT64 || !isContiguous()) {
            throw new IllegalArgumentException("copyFrom(long[]) needs a contiguous int64 tensor (got " + dtype.shortName() + " " + str(shape) + ")");
        }
        if (srcOffset < 0 || (long) srcOffset + numel > src.length) {
            throw new IllegalArgumentException("copyFrom: tensor of shape " + str(shape) + " needs " + numel + " values from offset " + srcOffset
                    + " but the array has " + src.length);
        }
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment.copy(src, srcOffset, seg(), ValueLayout.JAVA_LONG, (long) offset << 3, numel);
        }
        storage.bumpVersion();
        return this;
    }

    /** Copies this float32 tensor's elements (row-major) into {@code dst[dstOffset ..]} without allocating. */
    public void copyTo(float[] dst, int dstOffset) {
        Launch.beforeHostRead(this); // a trace refuses it, as toFloatArray(): a value read into Java would be frozen into the plan
        requireFloat("copyTo");
        if (dstOffset < 0 || (long) dstOffset + numel > dst.length) {
            throw new IllegalArgumentException("copyTo: " + numel + " values do not fit in an array of " + dst.length + " from offset " + dstOffset);
        }
        if (isContiguous()) {
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment.copy(seg(), ValueLayout.JAVA_FLOAT, (long) offset << 2, dst, dstOffset, numel);
            }
        } else {
            System.arraycopy(toFloatArray(), 0, dst, dstOffset, numel);
        }
    }

    /** All elements in row-major order (int64 values converted; bool as 0 and 1). */
    public float[] toFloatArray() {
        Launch.beforeHostRead(this);
        if (dtype != DType.FLOAT32) {
            try (Tensor f = toType(DType.FLOAT32)) {
                return f.toFloatArray();
            }
        }
        return withContiguous(src -> {
            float[] out = new float[numel];
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment.copy(src.seg(), ValueLayout.JAVA_FLOAT, (long) src.offset << 2, out, 0, numel);
            }
            return out;
        });
    }

    /** All elements in row-major order as longs (float values truncated toward zero). */
    public long[] toLongArray() {
        Launch.beforeHostRead(this);
        if (dtype != DType.INT64) {
            try (Tensor l = toType(DType.INT64)) {
                return l.toLongArray();
            }
        }
        return withContiguous(src -> {
            long[] out = new long[numel];
            try (OpFrame _ = OpFrame.enter()) {
                MemorySegment.copy(src.seg(), ValueLayout.JAVA_LONG, (long) src.offset << 3, out, 0, numel);
            }
            return out;
        });
    }

    /** The int64 element at storage position {@code index}, exactly (the formatter's; valueAtStorageIndex rounds past 2^53). */
    long longAtStorageIndex(long index) {
        if (dtype != DType.INT64) {
            throw new IllegalStateException("longAtStorageIndex of a " + dtype.shortName() + " tensor");
        }
        try (OpFrame _ = OpFrame.enter()) {
            return seg().get(Simd.LONG, index << 3);
        }
    }

    /** Element at a flat storage position (elements), for the formatter. */
    double valueAtStorageIndex(long index) {
        try (OpFrame _ = OpFrame.enter()) {
            MemorySegment s = seg();
            return elementAt(s, index);
        }
    }

    // =====================================================================================
    // Matrix products
    // =====================================================================================

    /** Matrix product of two 2-d tensors, like {@code torch.mm}. */
    public Tensor mm(Tensor other) {
        return LinalgOps.mm(this, other);
    }

    /** Batched matrix product of two 3-d tensors {@code [b, n, m] x [b, m, p]}, like {@code torch.bmm}. */
    public Tensor bmm(Tensor other) {
        return LinalgOps.bmm(this, other);
    }

    /**
     * Matrix product with {@code torch.matmul}'s rules: 1-d operands are promoted (and the added dim removed),
     * batch dimensions broadcast.
     */
    public Tensor matmul(Tensor other) {
        return LinalgOps.matmul(this, other);
    }

    /**
     * {@code beta * input + alpha * (mat1 @ mat2)}, like {@code torch.addmm}; a bias row is fused into the GEMM.
     * {@code F.linear(x, w, b)} is {@code addmm(b, x, w.t())}.
     */
    public static Tensor addmm(Tensor input, Tensor mat1, Tensor mat2) {
        return LinalgOps.addmm(input, mat1, mat2, 1f, 1f);
    }

    public static Tensor addmm(Tensor input, Tensor mat1, Tensor mat2, double beta, double alpha) {
        return LinalgOps.addmm(input, mat1, mat2, (float) beta, (float) alpha);
    }

    // =====================================================================================
    // Scans, products, sorting, sampling, reordering, predicates and norms (sequential loops: HostOps)
    // =====================================================================================

    /** Running sums along {@code dim}, like {@code torch.cumsum(x, dim)} (backward: the gradient summed from the end). */
    public Tensor cumsum(int dim) {
        return ScanReduceOps.cumsum(this, dim);
    }

    /**
     * {@code log(sum(exp(x)))} along {@code dim}, computed stably (the slice's max subtracted), like
     * {@code torch.logsumexp(x, dim, keepdim)}: a slice of -inf gives -inf.
     */
    public Tensor logsumexp(int dim, boolean keepdim) {
        return ScanReduceOps.logsumexp(this, dim, keepdim);
    }

    public Tensor logsumexp(int dim) {
        return logsumexp(dim, false);
    }

    /** Product of all elements, a 0-d tensor, like {@code torch.prod(x)} (its gradient handles zeros as PyTorch's). */
    public Tensor prod() {
        return ScanReduceOps.prod(this, null, false);
    }

    /** Products along {@code dim}, like {@code torch.prod(x, dim, keepdim)}. */
    public Tensor prod(int dim, boolean keepdim) {
        return ScanReduceOps.prod(this, dim, keepdim);
    }

    public Tensor prod(int dim) {
        return prod(dim, false);
    }

    /**
     * Values sorted along {@code dim} and their int64 indices, like {@code torch.sort(x, dim, descending, stable=True)}:
     * NaN sorts as the largest value; equal values keep their index order (PyTorch's default unstable sort may order
     * ties otherwise). Backward: the gradient goes back to the indices.
     */
    public ValuesIndices sort(int dim, boolean descending) {
        return SortOps.sort(this, dim, descending);
    }

    public ValuesIndices sort(int dim) {
        return sort(dim, false);
    }

    /** Sorted along the last dim, ascending. */
    public ValuesIndices sort() {
        return sort(-1, false);
    }

    /**
     * The {@code k} largest ({@code largest}) or smallest elements along {@code dim} and their int64 indices, like
     * {@code torch.topk}: always in sorted order (also with {@code sorted} false), ties by lower index first.
     */
    public ValuesIndices topk(int k, int dim, boolean largest, boolean sorted) {
        return SortOps.topk(this, k, dim, largest, sorted);
    }

    public ValuesIndices topk(int k, int dim) {
        return topk(k, dim, true, true);
    }

    /** The {@code k} largest along the last dim. */
    public ValuesIndices topk(int k) {
        return topk(k, -1, true, true);
    }

    /** The int64 indices that sort this tensor along {@code dim}, like {@code torch.argsort(x, dim, descending, stable=True)}. */
    public Tensor argsort(int dim, boolean descending) {
        ValuesIndices r = SortOps.sort(this, dim, descending);
        r.values().close();
        return r.indices();
    }

    public Tensor argsort(int dim) {
        return argsort(dim, false);
    }

    public Tensor argsort() {
        return argsort(-1, false);
    }

    /**
     * {@code numSamples} int64 category indices drawn from this [C] or [N, C] tensor of non-negative weights, like
     * {@code torch.multinomial(probs, numSamples, replacement)}: from the global generator ({@link Lanes#manualSeed}),
     * so the same seed gives the same draws (not PyTorch's draws: another generator). Without replacement the
     * indices of a row are distinct.
     */
    public Tensor multinomial(int numSamples, boolean replacement) {
        return SampleOps.multinomial(this, numSamples, replacement);
    }

    public Tensor multinomial(int numSamples) {
        return multinomial(numSamples, false);
    }

    /** A copy reversed along each of {@code dims}, like {@code torch.flip(x, dims)} (any dtype). */
    public Tensor flip(int... dims) {
        return ReorderOps.flip(this, dims);
    }

    /**
     * A copy whose elements move {@code shifts[k]} places along {@code dims[k]}, wrapping around, like
     * {@code torch.roll(x, shifts, dims)} (any dtype).
     */
    public Tensor roll(int[] shifts, int[] dims) {
        return ReorderOps.roll(this, shifts, dims);
    }

    public Tensor roll(int shift, int dim) {
        return roll(new int[] {shift}, new int[] {dim});
    }

    /** Rolled as a flattened tensor, the shape kept, like {@code torch.roll(x, shift)}. */
    public Tensor roll(int shift) {
        return roll(new int[] {shift}, new int[0]);
    }

    /**
     * A copy tiled {@code sizes[d]} times along each dim, like {@code x.repeat(sizes)}: more sizes than dims add
     * leading dims (any dtype; backward: the copies' gradients summed).
     */
    public Tensor repeat(int... sizes) {
        return ReorderOps.repeat(this, sizes);
    }

    /** {@code 1 / sqrt(x)}, like {@code torch.rsqrt}. */
    public Tensor rsqrt() {
        return Pointwise.RSQRT.apply(this);
    }

    /** {@code x * x}, like {@code torch.square} (grad_fn PowBackward0, as PyTorch's). */
    public Tensor square() {
        return Pointwise.SQUARE.apply(this);
    }

    /** 1, -1 or 0 (also for NaN), like {@code torch.sign}; zero gradient. */
    public Tensor sign() {
        return Pointwise.SIGN.apply(this);
    }

    /** Like {@code torch.floor}; zero gradient. */
    public Tensor floor() {
        return Pointwise.FLOOR.apply(this);
    }

    /** Like {@code torch.ceil}; zero gradient. */
    public Tensor ceil() {
        return Pointwise.CEIL.apply(this);
    }

    /** To the nearest integer, halves to even, like {@code torch.round}; zero gradient. */
    public Tensor round() {
        return Pointwise.ROUND.apply(this);
    }

    /** Toward zero, like {@code torch.trunc}; zero gradient. */
    public Tensor trunc() {
        return Pointwise.TRUNC.apply(this);
    }

    /** {@code 1 / x}, like {@code torch.reciprocal}. */
    public Tensor reciprocal() {
        return Pointwise.RECIPROCAL.apply(this);
    }

    /** A bool tensor: true where this element is NaN, like {@code torch.isnan} (a comparison: plans replay it). */
    public Tensor isnan() {
        return PredicateOps.test(this, PredicateOps.Test.NAN);
    }

    /** True where this element is +inf or -inf, like {@code torch.isinf}. */
    public Tensor isinf() {
        return PredicateOps.test(this, PredicateOps.Test.INF);
    }

    /** True where this element is neither NaN nor infinite, like {@code torch.isfinite}. */
    public Tensor isfinite() {
        return PredicateOps.test(this, PredicateOps.Test.FINITE);
    }

    /** Whether any element is true (nonzero), a 0-d bool tensor, like {@code torch.any}; false for no elements. */
    public Tensor any() {
        return PredicateOps.anyAll(this, false, null, false);
    }

    public Tensor any(int dim, boolean keepdim) {
        return PredicateOps.anyAll(this, false, dim, keepdim);
    }

    public Tensor any(int dim) {
        return any(dim, false);
    }

    /** Whether every element is true (nonzero), a 0-d bool tensor, like {@code torch.all}; true for no elements. */
    public Tensor all() {
        return PredicateOps.anyAll(this, true, null, false);
    }

    public Tensor all(int dim, boolean keepdim) {
        return PredicateOps.anyAll(this, true, dim, keepdim);
    }

    public Tensor all(int dim) {
        return all(dim, false);
    }

    /** The 2-norm of all elements, a 0-d tensor, like {@code x.norm()} (gradient 0 at the zero vector, as PyTorch). */
    public Tensor norm() {
        return ScanReduceOps.norm(this, 2, null, false);
    }

    /**
     * The p-norm of all elements, like {@code torch.linalg.vector_norm(x, p)}: p = 2, 1, +-inf
     * ({@code Double.POSITIVE_INFINITY}: the largest |x|), 0 (nonzero count) or any other p.
     */
    public Tensor norm(double p) {
        return ScanReduceOps.norm(this, p, null, false);
    }

    /** The p-norms along {@code dim}, like {@code x.norm(p, dim, keepdim)} / {@code torch.linalg.vector_norm}. */
    public Tensor norm(double p, int dim, boolean keepdim) {
        return ScanReduceOps.norm(this, p, dim, keepdim);
    }

    public Tensor norm(double p, int dim) {
        return norm(p, dim, false);
    }

    // =====================================================================================
    // Printing
    // =====================================================================================

    /** PyTorch's repr: {@code tensor([[-0.1719, -3.1719], ...])}, 4 decimals, summarised past 1000 elements. */
    @Override
    public String toString() {
        if (releasedBy != null) {
            return "tensor(<released by " + releasedBy + ">, size=" + str(shape) + ")";
        }
        if (Launch.unvalued(this)) {
            return "tensor(<not computed: InferencePlan.traceUnchecked records without running>, size=" + str(shape) + ")";
        }
        return TensorFormatter.format(this, suffixes());
    }

    private java.util.List<String> suffixes() {
        java.util.List<String> s = new java.util.ArrayList<>(2);
        if (numel == 0 && !(shape.length == 1 && shape[0] == 0)) {
            StringBuilder sb = new StringBuilder("size=(");
            for (int i = 0; i < shape.length; i++) {
                sb.append(i > 0 ? ", " : "").append(shape[i]);
            }
            if (shape.length == 1) {
                sb.append(',');
            }
            s.add(sb.append(')').toString());
        }
        if (numel == 0 && dtype != DType.FLOAT32) { // PyTorch names the type of an empty int64 or bool tensor
            s.add("dtype=" + dtype.torchName());
        }
        if (gradFn != null) {
            s.add("grad_fn=<" + gradFn.name() + ">");
        } else if (requiresGrad) {
            s.add("requires_grad=True");
        }
        return s;
    }
}
