package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Autograd;
import dev.lanes.autograd.Node;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.Copy;
import dev.lanes.kernels.Elementwise;
import dev.lanes.kernels.UnaryOp;
import dev.lanes.memory.MemoryScope;
import java.util.Arrays;
import java.util.function.Function;

/**
 * The ops that write into an existing tensor: in-place forms ({@code add_}, {@code mul_}, {@code relu_},
 * {@code fill_}, {@code copy_}, ...) and {@code out=} variants. They have no plan step (a traced plan cannot replay a
 * write into memory it does not own: {@link Launch#beforeWrite} refuses them while tracing) and call their kernels
 * directly inside an {@link OpFrame}. Autograd: the written tensor's history is rewritten like PyTorch's
 * ({@link Tensor#beginInPlace} / {@link Tensor#finishInPlace}); backward nodes are {@link ArithmeticOps}' and
 * {@link Pointwise}'s.
 */
final class InPlaceOps {
    private InPlaceOps() {
    }

    // ---- in place, a tensor operand ----

    static Tensor add_(Tensor self, Tensor other) {
        return binary(self, "add_", BinaryOp.ADD, other, false, o -> new ArithmeticOps.AddBackward0(self, other, 1f));
    }

    static Tensor sub_(Tensor self, Tensor other) {
        return binary(self, "sub_", BinaryOp.SUB, other, false, o -> new ArithmeticOps.SubBackward0(self, other));
    }

    static Tensor mul_(Tensor self, Tensor other) {
        boolean selfNeedsGrad = self.requiresGrad();
        return binary(self, "mul_", BinaryOp.MUL, other, other.requiresGrad(),
                o -> new ArithmeticOps.MulBackward0(o != null ? o : self, other, selfNeedsGrad, other.requiresGrad()));
    }

    static Tensor div_(Tensor self, Tensor other) {
        return binary(self, "div_", BinaryOp.DIV, other, other.requiresGrad(), o -> new ArithmeticOps.DivBackward0(o != null ? o : self, other));
    }

    // ---- in place, a scalar operand ----

    static Tensor add_(Tensor self, double value) {
        return scalar(self, "add_", UnaryOp.ADD_SCALAR, (float) value, 0, false, o -> new ArithmeticOps.ScaledBackward("AddBackward0", 1, 1));
    }

    static Tensor sub_(Tensor self, double value) {
        return scalar(self, "sub_", UnaryOp.SUB_SCALAR, (float) value, 0, false, o -> new ArithmeticOps.ScaledBackward("SubBackward0", 1, 1));
    }

    static Tensor mul_(Tensor self, double value) {
        return scalar(self, "mul_", UnaryOp.MUL_SCALAR, (float) value, 0, false,
                o -> new ArithmeticOps.ScaledBackward("MulBackward0", (float) value, 1));
    }

    static Tensor div_(Tensor self, double value) {
        return scalar(self, "div_", UnaryOp.DIV_SCALAR, (float) value, 0, false,
                o -> new ArithmeticOps.ScaledBackward("DivBackward0", 1, (float) value));
    }

    static Tensor clamp_(Tensor self, double min, double max) {
        checkScalarFits("clamp_", min, DType.FLOAT32);
        checkScalarFits("clamp_", max, DType.FLOAT32);
        return scalar(self, "clamp_", UnaryOp.CLAMP, (float) min, (float) max, true, o -> new ArithmeticOps.ClampBackward1(o, min, max));
    }

    static Tensor relu_(Tensor self) {
        self.requireFloat("relu_");
        checkWritable("relu_", self);
        Tensor.InPlaceEdit edit = self.beginInPlace("relu_", null, false);
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.unary(UnaryOp.RELU, 0, 0, self.seg(), self.storageOffset(), self.stridesRef(), self.seg(), self.storageOffset(),
                    self.stridesRef(), self.shapeRef());
        }
        self.markModified();
        if (edit != null) {
            self.finishInPlace(edit, new Pointwise.Backward(Pointwise.RELU, self, 0f, 0f), null, false); // saves the new value, like relu_
        }
        return self;
    }

    // ---- in-place activations (F.relu(x, inplace=True) and the rest), each recording what torch 1.13 records ----

    /** {@code sigmoid_}: SigmoidBackward0 from the saved result, like torch's. */
    static Tensor sigmoid_(Tensor self) {
        return activation(self, "sigmoid_", UnaryOp.SIGMOID, 0, 0, false, r -> new Pointwise.Backward(Pointwise.SIGMOID, r, 0f, 0f));
    }

    /** {@code tanh_}: TanhBackward0 from the saved result. */
    static Tensor tanh_(Tensor self) {
        return activation(self, "tanh_", UnaryOp.TANH, 0, 0, false, r -> new Pointwise.Backward(Pointwise.TANH, r, 0f, 0f));
    }

    /**
     * {@code leaky_relu_}: LeakyReluBackward1 from the saved result (result > 0 where x > 0 for a slope >= 0); torch's
     * backward refuses a negative slope (the result no longer tells the sign of x), the forward does not.
     */
    static Tensor leakyRelu_(Tensor self, double negativeSlope) {
        float p = (float) negativeSlope;
        return activation(self, "leaky_relu_", UnaryOp.LEAKY_RELU, p, 0, false, r -> new ResultBackward1("LeakyReluBackward1", r, p));
    }

    /** {@code elu_}: EluBackward1 from the saved result, {@code r <= 0 ? g (r + alpha) : g}; a negative alpha refused at backward. */
    static Tensor elu_(Tensor self, double alpha) {
        float p = (float) alpha;
        return activation(self, "elu_", UnaryOp.ELU, p, 0, false, r -> new ResultBackward1("EluBackward1", r, p));
    }

    /**
     * {@code hardtanh_} (and relu6 with inplace=True): torch 1.13 records HardtanhBackward0 over a copy of the input
     * taken before the write (its saved self), so a later write to the result does not break its backward.
     */
    static Tensor hardtanh_(Tensor self, double minVal, double maxVal) {
        float p = (float) minVal, q = (float) maxVal;
        return activation(self, "hardtanh_", UnaryOp.HARDTANH, p, q, true, x -> new Pointwise.Backward(Pointwise.HARDTANH, x, p, q));
    }

    /** {@code hardsigmoid_}: HardsigmoidBackward0 over the input copied before the write, as torch 1.13. */
    static Tensor hardsigmoid_(Tensor self) {
        return activation(self, "hardsigmoid_", UnaryOp.HARDSIGMOID, 0, 0, true, x -> new Pointwise.Backward(Pointwise.HARDSIGMOID, x, 0f, 0f));
    }

    /** {@code hardswish_}: HardswishBackward0 over the input copied before the write, as torch 1.13. */
    static Tensor hardswish_(Tensor self) {
        return activation(self, "hardswish_", UnaryOp.HARDSWISH, 0, 0, true, x -> new Pointwise.Backward(Pointwise.HARDSWISH, x, 0f, 0f));
    }

    /** {@code silu_}: SiluBackward0 over the input copied before the write, as torch 1.13. */
    static Tensor silu_(Tensor self) {
        return activation(self, "silu_", UnaryOp.SILU, 0, 0, true, x -> new Pointwise.Backward(Pointwise.SILU, x, 0f, 0f));
    }

    /** {@code mish_}: MishBackward0 over the input copied before the write, as torch 1.13. */
    static Tensor mish_(Tensor self) {
        return activation(self, "mish_", UnaryOp.MISH, 0, 0, true, x -> new Pointwise.Backward(Pointwise.MISH, x, 0f, 0f));
    }

    /**
     * An in-place activation: the kernel writes self; with a graph, {@code node} gets the input copied before the write
     * ({@code savesInput}) or self after it (the result, saved at its new version like torch's {@code result}).
     */
    private static Tensor activation(Tensor self, String op, UnaryOp kernel, float p, float q, boolean savesInput, Function<Tensor, Node> node) {
        self.requireFloat(op);
        checkWritable(op, self);
        Tensor.InPlaceEdit edit = self.beginInPlace(op, null, savesInput);
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.unary(kernel, p, q, self.seg(), self.storageOffset(), self.stridesRef(), self.seg(), self.storageOffset(),
                    self.stridesRef(), self.shapeRef());
        }
        self.markModified();
        if (edit != null) {
            self.finishInPlace(edit, node.apply(savesInput ? edit.original() : self), null, false);
        }
        return self;
    }

    /** torch's LeakyReluBackward1 / EluBackward1: the rule from the saved result, refusing a negative slope or alpha. */
    static final class ResultBackward1 extends Node {
        private final String name;
        private final Saved result;
        private final float p;

        ResultBackward1(String name, Tensor result, float p) {
            this.name = name;
            this.result = save(result, "output 0");
            this.p = p;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            boolean leaky = name.startsWith("Leaky");
            if (p < 0) {
                throw new IllegalStateException("In-place " + (leaky ? "leakyReLu" : "elu") + " backward calculation is triggered with a negative slope"
                        + " which is not supported. This is caused by calling in-place forward function with a negative slope, please call"
                        + " out-of-place version instead.");
            }
            Tensor r = result.get();
            if (leaky) {
                return new Tensor[] {ArithmeticOps.binary(UnaryOp.LEAKY_RELU.backwardWith(p, 0f), g, r)};
            }
            try (Tensor shifted = r.add(p); Tensor neg = g.mul(shifted); Tensor mask = r.le(0)) {
                return new Tensor[] {Tensor.where(mask, neg, g)};
            }
        }
    }

    /**
     * PyTorch's check of a Python scalar stored into a tensor of {@code type}: a finite value beyond float's range
     * (it became +-inf), or for int64 a NaN, an infinity or a value beyond long's range (0 and Long.MAX_VALUE), is refused.
     */
    static void checkScalarFits(String op, double value, DType type) {
        if (type == DType.FLOAT32 && Double.isFinite(value) && Math.abs(value) > Float.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": value " + value + " cannot be converted to type float without overflow");
        }
        if (type == DType.INT64 && !(value >= -0x1p63 && value < 0x1p63)) {
            throw new IllegalArgumentException(op + ": value " + value + " cannot be converted to type int64_t without overflow");
        }
    }

    /** Every element set to {@code value} (int64 tensors take it truncated); {@code gradFnName} names the node. */
    static Tensor fill(Tensor self, String op, double value, String gradFnName) {
        checkWritable(op, self);
        checkScalarFits(op, value, self.dtype());
        Tensor.InPlaceEdit edit = self.beginInPlace(op, null, false);
        try (OpFrame _ = OpFrame.enter()) {
            if (self.dtype() == DType.INT64) {
                Copy.fillLong(self.seg(), self.storageOffset(), self.stridesRef(), self.shapeRef(), (long) value);
            } else if (self.dtype() == DType.BOOL) {
                Copy.fillBool(self.seg(), self.storageOffset(), self.stridesRef(), self.shapeRef(), value != 0 || Double.isNaN(value));
            } else {
                Elementwise.unary(UnaryOp.FILL, (float) value, 0, self.seg(), self.storageOffset(), self.stridesRef(),
                        self.seg(), self.storageOffset(), self.stridesRef(), self.shapeRef());
            }
        }
        self.markModified();
        if (edit != null) {
            self.finishInPlace(edit, new ShapeOps.OverwrittenBackward(gradFnName, null), null, false);
        }
        return self;
    }

    /** {@code src} (broadcast to self's shape, converted to self's dtype) copied into self. */
    static Tensor copy_(Tensor self, Tensor src) {
        checkWritable("copy_", self);
        src.checkAlive();
        Tensor.InPlaceEdit edit = self.beginInPlace("copy_", src, false);
        int[] shape = self.shapeRef();
        int[] b = Shapes.broadcast(shape, src.shapeRef());
        if (!Arrays.equals(b, shape)) {
            throw new IllegalArgumentException("copy_: source of shape " + str(src.shapeRef()) + " cannot be broadcast to " + str(shape));
        }
        Tensor read = operandFor("copy_", self, src);
        int[] sst = Shapes.broadcastStrides(read.shapeRef(), read.stridesRef(), shape);
        try (OpFrame _ = OpFrame.enter()) {
            Copy.convert(read.dtype().elem(), read.seg(), read.storageOffset(), sst,
                    self.dtype().elem(), self.seg(), self.storageOffset(), self.stridesRef(), shape);
        } finally {
            if (read != src) {
                read.close();
            }
        }
        self.markModified();
        if (edit != null) {
            self.finishInPlace(edit, new ShapeOps.OverwrittenBackward("CopyBackwards", src), src, false);
        }
        return self;
    }

    /** In-place scalar op; {@code node} builds the backward from the old value (when kept) before the write. */
    private static Tensor scalar(Tensor self, String op, UnaryOp kernel, float p, float q, boolean keepOriginal, Function<Tensor, Node> node) {
        self.requireFloat(op);
        checkWritable(op, self);
        Tensor.InPlaceEdit edit = self.beginInPlace(op, null, keepOriginal);
        Node n = edit == null ? null : node.apply(edit.original());
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.unary(kernel, p, q, self.seg(), self.storageOffset(), self.stridesRef(), self.seg(), self.storageOffset(),
                    self.stridesRef(), self.shapeRef());
        }
        self.markModified();
        if (edit != null) {
            // a scalar operand is listed as (None, 0) like PyTorch's wrapped number; clamp_ has none
            self.finishInPlace(edit, n, null, kernel != UnaryOp.CLAMP);
        }
        return self;
    }

    /** In-place op with a tensor operand; {@code node} is built before the write so saved tensors keep their old versions. */
    private static Tensor binary(Tensor self, String op, BinaryOp kernel, Tensor other, boolean keepOriginal, Function<Tensor, Node> node) {
        self.requireFloat(op);
        other.requireFloat(op);
        checkWritable(op, self);
        Tensor.InPlaceEdit edit = self.beginInPlace(op, other, keepOriginal);
        Node n = edit == null ? null : node.apply(edit.original());
        int[] shape = self.shapeRef();
        int[] b = Shapes.broadcast(shape, other.shapeRef());
        if (!Arrays.equals(b, shape)) {
            throw new IllegalArgumentException(op + ": output with shape " + str(shape) + " doesn't match the broadcast shape " + str(b));
        }
        Tensor read = operandFor(op, self, other);
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.binary(kernel,
                    self.seg(), self.storageOffset(), self.stridesRef(),
                    read.seg(), read.storageOffset(), Shapes.broadcastStrides(read.shapeRef(), read.stridesRef(), shape),
                    self.seg(), self.storageOffset(), self.stridesRef(), shape);
        } finally {
            if (read != other) {
                read.close();
            }
        }
        self.markModified();
        if (edit != null) {
            self.finishInPlace(edit, n, other, false);
        }
        return self;
    }

    // ---- out= variants ----

    /** {@code out = a + b} into a preallocated tensor of the broadcast shape, like {@code torch.add(a, b, out=out)}. */
    static Tensor add(Tensor a, Tensor b, Tensor out) {
        String op = "add";
        a.requireFloat(op);
        b.requireFloat(op);
        out.requireFloat(op);
        checkOutVariant(op, a, b, out);
        checkWritable(op, out);
        checkNoPartialOverlap(out, a, b);
        int[] shape = Shapes.broadcast(a.shapeRef(), b.shapeRef());
        checkOutShape(op, out, shape);
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.binary(BinaryOp.ADD,
                    a.seg(), a.storageOffset(), Shapes.broadcastStrides(a.shapeRef(), a.stridesRef(), shape),
                    b.seg(), b.storageOffset(), Shapes.broadcastStrides(b.shapeRef(), b.stridesRef(), shape),
                    out.seg(), out.storageOffset(), out.stridesRef(), shape);
        }
        out.markModified();
        return out;
    }

    /** {@code out = relu(x)} into a preallocated tensor of the same shape. */
    static Tensor relu(Tensor x, Tensor out) {
        String op = "relu";
        x.requireFloat(op);
        out.requireFloat(op);
        checkOutVariant(op, x, out);
        checkWritable(op, out);
        checkNoPartialOverlap(out, x);
        checkOutShape(op, out, x.shapeRef());
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.unary(UnaryOp.RELU, 0, 0, x.seg(), x.storageOffset(), x.stridesRef(), out.seg(), out.storageOffset(), out.stridesRef(),
                    x.shapeRef());
        }
        out.markModified();
        return out;
    }

    private static void checkOutShape(String op, Tensor out, int[] shape) {
        if (!Arrays.equals(out.shapeRef(), shape)) {
            throw new IllegalArgumentException(op + ": out has shape " + str(out.shapeRef()) + " but the result has shape " + str(shape));
        }
    }

    // ---- the checks every write makes ----

    /**
     * A write must be to a live tensor, not while tracing (a plan cannot replay it), and not into an expanded view,
     * which would write one element many times: PyTorch refuses those too.
     */
    static void checkWritable(String op, Tensor t) {
        checkWritable(op, t, false);
    }

    /**
     * {@code byStep}: a launched kernel writes {@code t} (a module's state, e.g. BatchNorm's running statistics), which
     * a training plan replays ({@link Launch#beforeStateWrite}); otherwise the op writes outside the launch path.
     */
    static void checkWritable(String op, Tensor t, boolean byStep) {
        t.checkAlive();
        if (byStep) {
            Launch.beforeStateWrite(op, t);
        } else {
            Launch.beforeWrite(op, t);
        }
        int[] shape = t.shapeRef();
        int[] strides = t.stridesRef();
        for (int d = 0; d < shape.length; d++) {
            if (strides[d] == 0 && shape[d] > 1) {
                throw new IllegalArgumentException(op + ": unsupported operation: more than one element of the written-to tensor"
                        + " refers to a single memory location (shape " + str(shape) + ", stride " + str(strides) + "). Please clone() the tensor first.");
            }
        }
    }

    /**
     * An {@code out=} that shares memory with an input in part (not element for element) would read values it has
     * already overwritten: refused, like PyTorch. The same layout (an in-place op spelled with out=) is fine.
     */
    private static void checkNoPartialOverlap(Tensor out, Tensor... inputs) {
        for (Tensor in : inputs) {
            if (!in.sharesStorageWith(out) || in.numel() == 0 || out.numel() == 0) {
                continue;
            }
            if (sameElements(in, out)) {
                continue;
            }
            long inEnd = lastElementOffset(in);
            long outEnd = lastElementOffset(out);
            if (in.storageOffset() <= outEnd && out.storageOffset() <= inEnd && sharesAnElement(in, out)) {
                throw new IllegalArgumentException("unsupported operation: some elements of the input tensor and the written-to tensor"
                        + " refer to a single memory location. Please clone() the tensor before performing the operation."
                        + " (input size " + str(in.shapeRef()) + " stride " + str(in.stridesRef()) + " offset " + in.storageOffset()
                        + ", out size " + str(out.shapeRef()) + " stride " + str(out.stridesRef()) + " offset " + out.storageOffset() + ")");
            }
        }
    }

    /**
     * The operand an in-place op reads: {@code operand} itself, or, where it shares elements with self in another layout
     * but the two are not both dense (x[:, 1:].add_(x[:, :-1]): PyTorch computes it, in its loop's order), a copy taken
     * before the write, so every element reads the operand's value from before the op, whatever the vector width
     * (read in place, which elements were already overwritten depended on the lane count and the JIT tier: 8 of 148
     * results differed from torch at 8 lanes, 36 at 4). Dense partial overlaps are refused ({@link #refuseDenseOverlap}). The caller closes a returned copy.
     */
    private static Tensor operandFor(String op, Tensor self, Tensor operand) {
        if (!operand.sharesStorageWith(self) || operand.numel() == 0 || self.numel() == 0) {
            return operand;
        }
        if (sameElements(self, operand)) {
            return operand; // element for element: x.add_(x)
        }
        long a = self.storageOffset(), b = operand.storageOffset();
        if (dense(operand) && dense(self)) {
            refuseDenseOverlap(op, self, operand);
            return operand;
        }
        if (lastElementOffset(operand) < a || lastElementOffset(self) < b || !sharesAnElement(self, operand)) {
            return operand;
        }
        try (MemoryScope u = MemoryScope.unscoped()) {
            Tensor copy = Tensor.allocate(operand.dtype(), operand.shape());
            ShapeOps.copyInto(operand, copy);
            return copy;
        }
    }

    /**
     * An in-place op whose operand is a dense block of self's storage that overlaps self's dense block at another offset
     * (x.narrow(0, 1, 9).add_(x.narrow(0, 0, 9))): the vector loops would read elements they had already written, in an
     * order that depends on the vector width. Refused like PyTorch (which checks dense tensors; other layouts it cannot
     * decide cheaply, nor can this).
     */
    private static void refuseDenseOverlap(String op, Tensor self, Tensor operand) {
        long a = self.storageOffset(), b = operand.storageOffset();
        if (a < b + operand.numel() && b < a + self.numel()) {
            throw new IllegalArgumentException(op + ": unsupported operation: some elements of the input tensor and the written-to tensor refer to a"
                    + " single memory location. Please clone() the tensor before performing the operation. (input size " + str(operand.shapeRef())
                    + " offset " + b + ", written-to size " + str(self.shapeRef()) + " offset " + a + ")");
        }
    }

    /**
     * Whether {@code t}'s elements fill one run of storage without gaps or repeats in some order of its dims (a
     * contiguous tensor, or a transpose or permutation of one: x.t()), as PyTorch's non-overlapping-and-dense test: its
     * memory is then exactly {@code [offset, offset + numel)}. x.add_(x.t()) shares that run with another layout.
     */
    private static boolean dense(Tensor t) {
        int[] shape = t.shapeRef();
        int[] strides = t.stridesRef();
        Integer[] dims = new Integer[shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] != 1) {
                dims[n++] = d;
            }
        }
        Integer[] order = Arrays.copyOf(dims, n);
        Arrays.sort(order, (x, y) -> Integer.compare(strides[x], strides[y]));
        long expected = 1;
        for (int d : order) {
            if (strides[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** Whether two tensors on one storage read the same elements in the same order (an in-place op spelled either way). */
    private static boolean sameElements(Tensor a, Tensor b) {
        return a.storageOffset() == b.storageOffset() && Arrays.equals(a.shapeRef(), b.shapeRef()) && Arrays.equals(a.stridesRef(), b.stridesRef());
    }

    /** At most this many elements are compared one by one (see {@link #sharesAnElement}); more, and ranges decide. */
    private static final int OVERLAP_ELEMENTS = 1 << 20;

    /**
     * Whether two tensors whose storage ranges meet have an element in common: for dense ones the ranges say it;
     * otherwise their element offsets are compared (interleaved columns, x[:, 0] and x[:, 1], share none, and an out=
     * from one to the other is fine, as in PyTorch). Past {@link #OVERLAP_ELEMENTS} elements, meeting ranges count as
     * sharing (refused: conservative).
     */
    private static boolean sharesAnElement(Tensor a, Tensor b) {
        if (dense(a) && dense(b) || (long) a.numel() + b.numel() > OVERLAP_ELEMENTS) {
            return true;
        }
        long[] x = elementOffsets(a);
        long[] y = elementOffsets(b);
        Arrays.sort(x);
        Arrays.sort(y);
        for (int i = 0, j = 0; i < x.length && j < y.length; ) {
            if (x[i] == y[j]) {
                return true;
            }
            if (x[i] < y[j]) {
                i++;
            } else {
                j++;
            }
        }
        return false;
    }

    private static long[] elementOffsets(Tensor t) {
        int[] shape = t.shapeRef();
        int[] strides = t.stridesRef();
        long[] out = new long[t.numel()];
        int[] idx = new int[shape.length];
        long at = t.storageOffset();
        for (int n = 0; n < out.length; n++) {
            out[n] = at;
            for (int d = shape.length - 1; d >= 0; d--) { // the next index, last dim fastest
                if (++idx[d] < shape[d]) {
                    at += strides[d];
                    break;
                }
                at -= (long) (shape[d] - 1) * strides[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    /** Storage offset of the element with the largest offset (strides are never negative). */
    private static long lastElementOffset(Tensor t) {
        long last = t.storageOffset();
        int[] shape = t.shapeRef();
        for (int i = 0; i < shape.length; i++) {
            last += (long) (shape[i] - 1) * t.stridesRef()[i];
        }
        return last;
    }

    /** {@code out=} variants write outside the graph, so like PyTorch they refuse inputs that require grad. */
    private static void checkOutVariant(String op, Tensor... tensors) {
        if (!Autograd.isGradEnabled()) {
            return;
        }
        for (Tensor t : tensors) {
            if (t.requiresGrad()) {
                throw new IllegalStateException(op + "(): functions with out=... arguments don't support automatic differentiation,"
                        + " but one of the arguments requires grad.");
            }
        }
    }
}
