package dev.lanes.io.onnx;

import dev.lanes.DType;
import dev.lanes.InferencePlan;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.io.onnx.OnnxFormat.Attribute;
import dev.lanes.io.onnx.OnnxFormat.Node;
import dev.lanes.io.onnx.OnnxFormat.TensorData;
import dev.lanes.nn.functional.F;
import dev.lanes.nn.functional.Resample;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model run by Lanes: {@link #load} reads and checks the file, refusing at once any operator it cannot run
 * (with the op, its node name and the opset), and {@link #plan} traces the graph into an {@link InferencePlan} for a
 * static input shape: the plan's own fusions (bias and activation into the GEMM or convolution, prepacked weights)
 * and arena apply, and serving it allocates nothing. {@link #run} interprets the graph eagerly (any number of inputs).
 *
 * <p>Each ONNX operator is a Lanes op or a few (the {@code switch} in {@link #apply}); integer tensors that only
 * describe shapes (Shape, Constant, Gather/Concat/Unsqueeze of them, Reshape's shape) are folded at trace time
 * from the input's static shape, as ONNX Runtime's constant folding does, so they never reach the plan.
 */
public final class OnnxModel implements AutoCloseable {
    /** Most integers folded at trace time into one value (shape arithmetic is a handful; this bounds a hostile file). */
    static final int MAX_FOLDED = 1 << 20;

    /** The operators {@link #apply} runs (default domain, opsets 11-17). */
    public static final Set<String> SUPPORTED = Set.of("Abs", "Add", "And", "ArgMax", "Hardmax", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Concat",
            "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Gather", "GatherElements", "Gelu", "Gemm", "GRU", "LSTM", "RNN",
            "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "LayerNormalization", "LeakyRelu", "Less", "Log", "LogSoftmax", "MatMul",
            "Max", "MaxPool", "Mean", "Min", "Mul", "NegativeLogLikelihoodLoss", "Neg", "Not", "Or", "Pad", "Pow", "Range", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceSum", "Relu",
            "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ArgMin", "CumSum",
            "Reshape", "Resize", "Shape", "Sigmoid", "Sin", "Size", "Slice", "Softmax", "SoftmaxCrossEntropyLoss", "Softplus", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Trilu", "Unsqueeze",
            "Where", "Xor", "Tile", "DepthToSpace", "SpaceToDepth", "InstanceNormalization", "Upsample", "Einsum",
            "Floor", "IsInf", "IsNaN", "Mish", "PRelu", "Round", "Selu", "Shrink", "Sign", "Softsign", "ThresholdedRelu", "TopK");

    private final OnnxFormat.Model model;
    private final long opset;
    /** Initializers as tensors (made once: a plan sees them as constants). */
    private final Map<String, Tensor> weights = new HashMap<>();
    /** Constant nodes' tensors, by output name (their own map: an initializer may have any name). Guarded by weights. */
    private final Map<String, Tensor> constantNodes = new HashMap<>();
    /** Integer initializers' values, for the ops that read shapes and axes from them. */
    private final Map<String, TensorData> constants = new HashMap<>();
    private final List<String> inputNames = new ArrayList<>();
    /** Values read only by IsInf / IsNaN nodes (and no graph output): what a Cast to double may leave as float32. */
    private final Set<String> readOnlyByPredicates = new java.util.HashSet<>();
    private boolean closed;

    private OnnxModel(OnnxFormat.Model model) {
        this.model = model;
        this.opset = model.opset();
        for (TensorData t : model.graph().initializers()) {
            constants.put(t.name(), t);
        }
        for (OnnxFormat.ValueInfo in : model.graph().inputs()) {
            if (!constants.containsKey(in.name())) { // before IR 4, initializers were listed among the inputs too
                inputNames.add(in.name());
            }
        }
        check();
        findPredicateOnlyValues();
        // the weights now, outside any scope and any trace: a plan traced later takes them as its constants
        for (TensorData t : model.graph().initializers()) {
            weight(t);
        }
    }

    /**
     * torch 1.13 exports {@code torch.isinf(x)} as {@code IsInf(Cast(x, to=double))}. A float32 value is exactly a double
     * and IsInf / IsNaN answer alike on either, so such a Cast, whose output nothing else reads, keeps the float32 tensor
     * (any other Cast to double is refused: Lanes computes in float32).
     */
    private void findPredicateOnlyValues() {
        Map<String, Boolean> onlyPredicates = new HashMap<>();
        for (Node n : model.graph().nodes()) {
            boolean predicate = n.opType().equals("IsInf") || n.opType().equals("IsNaN");
            for (String in : n.inputs()) {
                Boolean before = onlyPredicates.get(in);
                onlyPredicates.put(in, before == null ? predicate : before && predicate);
            }
        }
        for (OnnxFormat.ValueInfo o : model.graph().outputs()) {
            onlyPredicates.put(o.name(), false);
        }
        for (Map.Entry<String, Boolean> e : onlyPredicates.entrySet()) {
            if (e.getValue()) {
                readOnlyByPredicates.add(e.getKey());
            }
        }
    }

    /** Reads, checks and prepares an ONNX model file. */
    public static OnnxModel load(Path file) throws IOException {
        return new OnnxModel(OnnxFormat.read(file));
    }

    /** The same from a model's bytes (external data files are refused). */
    public static OnnxModel parse(byte[] bytes) {
        return new OnnxModel(OnnxFormat.parse(bytes, null));
    }

    public OnnxFormat.Model format() {
        return model;
    }

    /** The graph's inputs that are not initializers, in order. */
    public List<String> inputNames() {
        return List.copyOf(inputNames);
    }

    private void check() {
        if (opset < 1) {
            throw new UnsupportedOperationException("ONNX: the model does not import the default operator set (ai.onnx), only " + model.opsets().keySet());
        }
        List<String> refused = new ArrayList<>();
        for (Node n : model.graph().nodes()) {
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
                refused.add(n.describe() + " (domain '" + n.domain() + "')");
            } else if (!SUPPORTED.contains(n.opType())) {
                refused.add(n.describe());
            } else if (Set.of("LSTM", "GRU", "RNN").contains(n.opType())) {
                try {
                    checkRecurrent(n);
                } catch (UnsupportedOperationException e) {
                    refused.add(n.describe() + " (" + e.getMessage() + ")");
                } catch (IllegalArgumentException e) {
                    throw rethrow(n, e);
                }
            } else if (n.opType().equals("Einsum")) {
                String eq = n.attributes().get("equation") == null ? null : n.attributes().get("equation").s();
                if (eq == null || EinsumSpec.parse(eq) == null) {
                    refused.add(n.describe() + " with equation '" + eq + "' (Lanes runs Einsum of one or two operands, letters and one"
                            + " ellipsis per term)");
                }
            }
        }
        for (OnnxFormat.ValueInfo v : model.graph().inputs()) {
            checkBoundary("input", v, refused);
        }
        for (OnnxFormat.ValueInfo v : model.graph().outputs()) {
            checkBoundary("output", v, refused);
        }
        checkWiring();
        if (!refused.isEmpty()) {
            throw new UnsupportedOperationException("ONNX: Lanes cannot run " + String.join(", ", refused) + " (opset " + opset + "); it runs "
                    + new java.util.TreeSet<>(SUPPORTED));
        }
        if (model.graph().outputs().isEmpty()) {
            throw new IllegalArgumentException("ONNX: the graph has no outputs");
        }
    }

    /**
     * Every name defined once and read after it is defined, as ONNX Runtime checks the graph ("Duplicate definition of
     * name"): a node output that repeated an input, an initializer or another output replaced it for every later reader
     * (Relu(x) -> x), two initializers of one name gave shape-reading ops the last and tensor ops the first, and a node
     * reading a name a later node defines got the initializer of that name.
     */
    private void checkWiring() {
        java.util.Set<String> defined = new java.util.HashSet<>();
        for (TensorData t : model.graph().initializers()) {
            if (!defined.add(t.name())) {
                throw new IllegalArgumentException("ONNX: two initializers are named '" + t.name() + "'");
            }
        }
        for (OnnxFormat.ValueInfo in : model.graph().inputs()) {
            if (!defined.add(in.name()) && !constants.containsKey(in.name())) {
                throw new IllegalArgumentException("ONNX: two graph inputs are named '" + in.name() + "'");
            }
        }
        for (Node n : model.graph().nodes()) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw new IllegalArgumentException("ONNX " + n.describe() + ": input '" + in + "' is neither a graph input, an initializer"
                            + " nor an earlier node's output (nodes must be in topological order)");
                }
            }
            for (String out : n.outputs()) {
                if (!out.isEmpty() && !defined.add(out)) {
                    throw new IllegalArgumentException("ONNX " + n.describe() + ": output '" + out + "' is already defined (a graph input, an"
                            + " initializer or another node's output): duplicate definition of name");
                }
            }
        }
    }

    private static void checkBoundary(String kind, OnnxFormat.ValueInfo v, List<String> refused) {
        if (!v.tensor()) {
            refused.add(kind + " '" + v.name() + "' (a sequence, map or optional value, not a tensor)");
        } else if (!RUNNABLE_TYPES.contains(v.elemType())) {
            refused.add(kind + " '" + v.name() + "' of type " + OnnxFormat.typeName(v.elemType()) + " (Lanes computes in float32, with int64 and bool"
                    + " for indices and masks)");
        }
    }

    /** Element types a graph's inputs and outputs may have (0: not declared). */
    private static final Set<Integer> RUNNABLE_TYPES = Set.of(0, OnnxFormat.FLOAT, OnnxFormat.INT64, OnnxFormat.INT32, OnnxFormat.BOOL);

    /** The graph's first output for one input: what {@link #plan} traces. */
    public Tensor forward(Tensor input) {
        if (inputNames.size() != 1) {
            throw new IllegalArgumentException("ONNX: forward(x) needs a model with one input, this one has " + inputNames);
        }
        return run(input).get(0);
    }

    /**
     * Traces the graph for inputs of {@code inputShape} into an inference plan (the model's first output): shape
     * arithmetic folded, weights prepacked, activations fused where the plan can. The trace records the graph's
     * kernels without running them and skips the plan's self-check against an eager forward
     * ({@link InferencePlan#traceUnchecked(java.util.function.Function, int...)}): a graph is data, interpreted by
     * Lanes' own converters, whose plans the conformance suite and the exported models' tests check, and the eager
     * forward was most of a cold start (ResNet-20: ~170 of ~460 ms). {@link #plan(Tensor)} keeps the check.
     */
    public InferencePlan plan(int... inputShape) {
        if (inputNames.size() == 1 && inputElemType() == OnnxFormat.INT64) {
            // token ids or indices: only the shape and type count in a trace that computes nothing
            try (Tensor zeros = Tensor.zerosLong(inputShape)) {
                return InferencePlan.traceUnchecked(this::forward, zeros);
            }
        }
        return InferencePlan.traceUnchecked(this::forward, inputShape);
    }

    /**
     * Traces the graph on {@code example} (float32, or int64 for a graph whose input is token ids or indices: its
     * values must be valid ones, they drive the plan's self-check) and checks the plan against the eager forward on
     * it, as {@link InferencePlan#trace(java.util.function.Function, Tensor)} does: a plan that drifts past 1e-4
     * through its Winograd convolutions' rounding takes them back to the direct form. The plan takes inputs of the
     * example's shape and type.
     */
    public InferencePlan plan(Tensor example) {
        return InferencePlan.trace(this::forward, example);
    }

    /**
     * An input against its declared shape, as ONNX Runtime checks it ("Got invalid dimensions for input"): the rank,
     * and every fixed dim (a model declared [1, 784] given [784] returned [10], not an error), the first too: an export
     * without dynamic axes fixes the batch, and its graph may too (a folded Reshape to [1, -1] then summed several
     * images into one answer when the batch was left free). Such a model runs at its declared batch; export with
     * {@code dynamic_axes={'x': {0: 'batch'}}} for any other.
     */
    private void checkDeclaredShape(String name, Tensor given) {
        for (OnnxFormat.ValueInfo v : model.graph().inputs()) {
            if (!v.name().equals(name) || v.dims() == null) {
                continue;
            }
            long[] dims = v.dims();
            int[] shape = given.shape();
            boolean ok = dims.length == shape.length;
            for (int d = 0; ok && d < dims.length; d++) {
                ok = dims[d] < 0 || dims[d] == shape[d];
            }
            if (!ok) {
                throw new IllegalArgumentException("ONNX: input '" + name + "' is declared " + Arrays.toString(dims) + " (-1: any), got "
                        + Arrays.toString(shape) + (dims.length == shape.length && dims[0] >= 0 && dims[0] != shape[0]
                        ? " (the batch is fixed in this model: export it with dynamic_axes={'" + name + "': {0: 'batch'}} to run other batches)" : ""));
            }
        }
    }

    /** The declared element type of the graph's single input (0 when not declared). */
    private int inputElemType() {
        for (OnnxFormat.ValueInfo v : model.graph().inputs()) {
            if (v.name().equals(inputNames.get(0))) {
                return v.elemType();
            }
        }
        return 0;
    }

    /** Runs the graph on its inputs (in {@link #inputNames} order) without autograd; returns its outputs in order. */
    public List<Tensor> run(Tensor... inputs) {
        if (closed) {
            throw new IllegalStateException("ONNX: the model is closed");
        }
        if (inputs.length != inputNames.size()) {
            throw new IllegalArgumentException("ONNX: the model takes " + inputNames.size() + " inputs " + inputNames + ", got " + inputs.length);
        }
        for (int i = 0; i < inputs.length; i++) {
            checkDeclaredShape(inputNames.get(i), inputs[i]);
        }
        try (Autograd.Mode m = Autograd.noGrad()) {
            Map<String, Value> env = new HashMap<>();
            for (int i = 0; i < inputs.length; i++) {
                env.put(inputNames.get(i), Value.of(inputs[i]));
            }
            for (Node n : model.graph().nodes()) {
                Value[] args = new Value[n.inputs().size()];
                for (int i = 0; i < args.length; i++) {
                    args[i] = value(env, n.inputs().get(i), n);
                }
                Value[] outs;
                try {
                    outs = apply(n, args);
                } catch (IllegalArgumentException | UnsupportedOperationException e) {
                    throw rethrow(n, e);
                } catch (ArithmeticException e) {
                    throw rethrow(n, new IllegalArgumentException("a size or shape overflows: " + e.getMessage(), e));
                } catch (IndexOutOfBoundsException e) {
                    throw rethrow(n, new IllegalArgumentException(e.getMessage(), e)); // an index check of a Lanes op
                } catch (dev.lanes.memory.OffHeapBudgetError e) {
                    // refused before anything was taken: a result (a broadcast, a product) bigger than the budget allows
                    throw rethrow(n, new IllegalArgumentException("its result does not fit the off-heap budget: " + e.getMessage(), e));
                }
                for (int i = 0; i < outs.length && i < n.outputs().size(); i++) {
                    if (!n.outputs().get(i).isEmpty()) {
                        env.put(n.outputs().get(i), outs[i]);
                    }
                }
            }
            List<Tensor> results = new ArrayList<>();
            for (OnnxFormat.ValueInfo o : model.graph().outputs()) {
                Value v = env.get(o.name());
                if (v == null && constants.containsKey(o.name())) {
                    v = value(env, o.name(), null); // an initializer as an output, as ONNX Runtime returns it
                }
                if (v == null) {
                    throw new IllegalArgumentException("ONNX: graph output '" + o.name() + "' is computed by no node");
                }
                Tensor t = v.tensor();
                if (ownedOrGiven(t, inputs)) {
                    t = t.clone(); // the caller may close an output: not the model's own weight or the caller's input
                }
                results.add(t);
            }
            return results;
        }
    }

    /** Whether {@code t} is one of the model's own tensors (an initializer, a Constant node's value) or one of the inputs. */
    private boolean ownedOrGiven(Tensor t, Tensor[] inputs) {
        for (Tensor in : inputs) {
            if (in == t) {
                return true;
            }
        }
        return weights.containsValue(t) || constantNodes.containsValue(t);
    }

    private static RuntimeException rethrow(Node n, RuntimeException e) {
        String msg = "ONNX " + n.describe() + ": " + e.getMessage();
        return e instanceof UnsupportedOperationException ? new UnsupportedOperationException(msg, e) : new IllegalArgumentException(msg, e);
    }

    private Value value(Map<String, Value> env, String name, Node n) {
        if (name.isEmpty()) {
            return null; // an omitted optional input
        }
        Value v = env.get(name);
        if (v != null) {
            return v;
        }
        TensorData c = constants.get(name);
        if (c != null) {
            v = Value.constant(c, () -> weight(c));
            env.put(name, v);
            return v;
        }
        throw new IllegalArgumentException("ONNX " + n.describe() + ": input '" + name + "' is neither a graph input, an initializer nor an earlier node's output");
    }

    private Tensor weight(TensorData c) {
        return weightNamed(weights, c.name(), c);
    }

    private Tensor constantTensor(String output, TensorData c) {
        return weightNamed(constantNodes, output, c);
    }

    /** A tensor holding {@code d}'s values: float32, int64 or bool. */
    public static Tensor toTensor(TensorData d) {
        int[] shape = intShape(d.dims(), d.name());
        Tensor t = d.isFloat() ? Tensor.of(d.floats(), shape.length == 0 ? new int[] {1} : shape)
                : d.dataType() == OnnxFormat.BOOL ? Tensor.of(toBooleans(d.longs()), shape.length == 0 ? new int[] {1} : shape)
                : Tensor.of(d.longs(), shape.length == 0 ? new int[] {1} : shape);
        return shape.length == 0 ? t.reshape() : t;
    }

    private static boolean[] toBooleans(long[] v) {
        boolean[] b = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = v[i] != 0;
        }
        return b;
    }

    static int[] intShape(long[] dims, String what) {
        int[] s = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("ONNX: " + what + " has dim " + dims[i] + " in " + Arrays.toString(dims));
            }
            s[i] = (int) dims[i];
        }
        return s;
    }

    /**
     * A value of the graph: a tensor, and for integer or bool values known without running anything (initializers,
     * Constant, Shape and their arithmetic, comparisons of them) the numbers themselves (bool as 0 and 1), which
     * shape-reading ops use. The tensor of such a constant is made only when a tensor op consumes it: int64, or bool
     * for a bool value, so that Not, And, Where and the graph's outputs see ONNX's type.
     */
    static final class Value {
        private Tensor tensor;
        private final java.util.function.Supplier<Tensor> make;
        final long[] ints;
        final long[] intsShape;
        final TensorData data;
        /** Whether {@link #ints} are an ONNX bool value's (0 and 1): its tensor is a bool one. */
        final boolean bool;

        private Value(Tensor tensor, java.util.function.Supplier<Tensor> make, long[] ints, long[] intsShape, TensorData data, boolean bool) {
            this.tensor = tensor;
            this.make = make;
            this.ints = ints;
            this.intsShape = intsShape;
            this.data = data;
            this.bool = bool;
        }

        static Value of(Tensor t) {
            return new Value(t, null, null, null, null, false);
        }

        static Value constant(TensorData d, java.util.function.Supplier<Tensor> make) {
            return new Value(null, make, d.isFloat() ? null : d.longs(), d.dims(), d, d.dataType() == OnnxFormat.BOOL);
        }

        /** Integers known at trace time, of the given shape (a tensor is made from them only if an op needs one). */
        static Value ints(long[] v, long[] shape) {
            return known(v, shape, false);
        }

        /** Integers or bools (0 and 1, when {@code bool}) known at trace time: an int64 or a bool tensor when one is needed. */
        static Value known(long[] v, long[] shape, boolean bool) {
            long[] s = shape;
            return new Value(null, () -> {
                int[] dims = s.length == 0 ? new int[] {1} : intShape(s, "a constant");
                Tensor t = bool ? Tensor.of(toBooleans(v), dims) : Tensor.of(v, dims);
                return s.length == 0 ? t.reshape() : t;
            }, v, s, null, bool);
        }

        Tensor tensor() {
            if (tensor == null) {
                tensor = make.get();
            }
            return tensor;
        }

        int[] shape() {
            return tensor != null ? tensor.shape() : intsShape != null ? intShape(intsShape, "a constant") : tensor().shape();
        }

        /** A float scalar known at trace time (Clip's bounds, Pow's exponent), or NaN if it is not known. */
        float knownFloat() {
            if (data != null && data.isFloat() && data.floats().length == 1) {
                return data.floats()[0];
            }
            if (ints != null && ints.length == 1) {
                return ints[0];
            }
            return Float.NaN;
        }
    }

    // ---- LSTM, GRU, RNN ----

    /** torch's gate blocks in ONNX's order: LSTM's i, f, g, o are ONNX's blocks 0, 2, 3, 1 (ONNX: i, o, f, c). */
    private static final int[] LSTM_ORDER = {0, 2, 3, 1};
    /** GRU's r, z, n are ONNX's blocks 1, 0, 2 (ONNX: z, r, h). */
    private static final int[] GRU_ORDER = {1, 0, 2};
    private static final int[] RNN_ORDER = {0};
    /** ONNX's peepholes P are i, o, f; Recurrent takes rows i, f, o. */
    private static final int[] PEEPHOLE_ORDER = {0, 2, 1};

    private static int recurrentGates(Node n) {
        return switch (n.opType()) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
    }

    /**
     * The attributes of an LSTM, GRU or RNN node: the number of directions, and for RNN whether each direction's
     * activation is Relu. What Lanes does not run (clip, input_forget, activations other than the defaults and RNN's
     * Relu) is refused as unsupported; invalid values as illegal. Checked at load and again when the node runs.
     */
    private static boolean[] recurrentAttributes(Node n) {
        String direction = attrString(n, "direction", "forward");
        int dirs = switch (direction) {
            case "forward", "reverse" -> 1;
            case "bidirectional" -> 2;
            default -> throw new IllegalArgumentException("direction '" + direction + "' is none of forward, reverse, bidirectional");
        };
        int layout = attrInt(n, "layout", 0);
        if (layout != 0 && layout != 1) {
            throw new IllegalArgumentException("layout " + layout + " is neither 0 nor 1");
        }
        if (n.attributes().containsKey("clip")) {
            throw new UnsupportedOperationException(n.opType() + " with clip (cell clipping; torch's exports have none)");
        }
        if (n.opType().equals("LSTM") && attrInt(n, "input_forget", 0) != 0) {
            throw new UnsupportedOperationException("LSTM with input_forget = 1 (coupled input and forget gates)");
        }
        if (n.opType().equals("GRU")) {
            int lbr = attrInt(n, "linear_before_reset", 0);
            if (lbr != 0 && lbr != 1) {
                throw new IllegalArgumentException("linear_before_reset " + lbr + " is neither 0 nor 1");
            }
        }
        long hidden = attrInt(n, "hidden_size", 0);
        if (n.attributes().containsKey("hidden_size") && hidden <= 0) {
            throw new IllegalArgumentException("hidden_size " + hidden + " must be positive");
        }
        List<String> defaults = switch (n.opType()) {
            case "LSTM" -> List.of("Sigmoid", "Tanh", "Tanh");
            case "GRU" -> List.of("Sigmoid", "Tanh");
            default -> List.of("Tanh");
        };
        // activation_alpha and activation_beta parametrise only activations Lanes refuses here (LeakyRelu, Elu, ...): the
        // accepted Sigmoid, Tanh and Relu take none, so they are ignored, as ONNX's reference does for those
        Attribute acts = typed(n, "activations", OnnxFormat.ATTR_STRINGS);
        boolean[] relu = new boolean[dirs];
        if (acts != null && acts.strings() != null && !acts.strings().isEmpty()) {
            List<String> given = acts.strings();
            if (given.size() != defaults.size() * dirs) {
                throw new IllegalArgumentException("activations " + given + ": " + n.opType() + " takes " + defaults.size() + " per direction, " + dirs
                        + " direction(s)");
            }
            for (int d = 0; d < dirs; d++) {
                List<String> mine = given.subList(d * defaults.size(), (d + 1) * defaults.size());
                if (n.opType().equals("RNN") && mine.get(0).equals("Relu")) {
                    relu[d] = true;
                } else if (!mine.equals(defaults)) {
                    throw new UnsupportedOperationException(n.opType() + " with activations " + given + " (Lanes runs " + defaults
                            + (n.opType().equals("RNN") ? " or [Relu]" : "") + " per direction, torch's)");
                }
            }
        }
        return relu;
    }

    /**
     * Load-time checks of a recurrent node: its attributes, and its weights' shapes where they are initializers
     * (hidden_size against W and R, before anything of that size is made), and sequence_lens where it is one.
     */
    private void checkRecurrent(Node n) {
        boolean[] relu = recurrentAttributes(n);
        TensorData w = n.inputs().size() > 1 ? constants.get(n.inputs().get(1)) : null;
        TensorData r = n.inputs().size() > 2 ? constants.get(n.inputs().get(2)) : null;
        if (w != null && r != null) {
            recurrentHidden(n, relu.length, w.dims(), r.dims());
        }
        TensorData lens = n.inputs().size() > 4 ? constants.get(n.inputs().get(4)) : null;
        if (lens != null && !lens.isFloat() && lens.longs().length > 0) {
            long first = lens.longs()[0];
            for (long l : lens.longs()) {
                if (l != first) {
                    throw new UnsupportedOperationException(n.opType() + " with sequence_lens " + Arrays.toString(lens.longs())
                            + " (sequences of different lengths; Lanes runs every sequence over all of X's steps)");
                }
            }
        }
    }

    /** hidden_size, checked against W [dirs, G*H, I] and R [dirs, G*H, H] (exact arithmetic: a hostile size is refused). */
    private static int recurrentHidden(Node n, int dirs, long[] w, long[] r) {
        int gates = recurrentGates(n);
        if (w.length != 3 || r.length != 3) {
            throw new IllegalArgumentException("W " + Arrays.toString(w) + " and R " + Arrays.toString(r) + " must both be 3-d");
        }
        long hidden = n.attributes().containsKey("hidden_size") ? attrInt(n, "hidden_size", 0) : r[2];
        long rows = gates * hidden;
        if (w[0] != dirs || r[0] != dirs || w[1] != rows || r[1] != rows || r[2] != hidden) {
            throw new IllegalArgumentException("W " + Arrays.toString(w) + " and R " + Arrays.toString(r) + " do not fit hidden_size " + hidden + " and "
                    + dirs + " direction(s): " + n.opType() + " wants W [" + dirs + ", " + rows + ", input_size] and R [" + dirs + ", " + rows + ", " + hidden
                    + "]");
        }
        return (int) hidden;
    }

    /**
     * ONNX's LSTM, GRU and RNN, run by {@link dev.lanes.nn.Recurrent}'s layers, the recurrence of torch.nn.LSTM, GRU and
     * RNN: ONNX orders the gate blocks of W, R, B (and P) otherwise than torch (LSTM i, o, f, c against torch's i, f, g,
     * o; GRU z, r, h against r, z, n), so each direction's blocks are put in torch's order, once for initializers (in
     * {@link #recurrentWeight}), on every call for weights given as inputs. X is [T, B, I] ([B, T, I] with layout 1);
     * Y [T, dirs, B, H] ([B, T, dirs, H]), Y_h and Y_c [dirs, B, H] ([B, dirs, H]).
     */
    private Value[] recurrent(Node n, Value[] a) {
        boolean[] relu = recurrentAttributes(n);
        int dirs = relu.length;
        boolean reverseOnly = attrString(n, "direction", "forward").equals("reverse");
        boolean batchFirst = attrInt(n, "layout", 0) == 1;
        boolean lstm = n.opType().equals("LSTM");
        boolean gru = n.opType().equals("GRU");
        int gates = recurrentGates(n);
        int[] order = lstm ? LSTM_ORDER : gru ? GRU_ORDER : RNN_ORDER;
        Tensor x = floats(arg(a, 0, n), n);
        Value w = arg(a, 1, n);
        Value r = arg(a, 2, n);
        int hidden = recurrentHidden(n, dirs, Arrays.stream(w.shape()).asLongStream().toArray(), Arrays.stream(r.shape()).asLongStream().toArray());
        if (x.dim() != 3) {
            throw new IllegalArgumentException("X " + Arrays.toString(x.shape()) + " must be 3-d: [seq_length, batch, input_size]"
                    + (batchFirst ? " transposed (layout 1)" : ""));
        }
        Tensor seq = batchFirst ? x.transpose(0, 1).contiguous() : x; // time-major [T, B, I]
        int steps = seq.size(0);
        int batch = seq.size(1);
        if (seq.size(2) != w.shape()[2]) {
            throw new IllegalArgumentException("X " + Arrays.toString(x.shape()) + " has " + seq.size(2) + " features, W " + Arrays.toString(w.shape())
                    + " takes " + w.shape()[2]);
        }
        if (steps == 0) {
            throw new IllegalArgumentException("X " + Arrays.toString(x.shape()) + " has no steps");
        }
        Value b = a.length > 3 ? a[3] : null;
        if (b != null && !Arrays.equals(b.shape(), new int[] {dirs, 2 * gates * hidden})) {
            throw new IllegalArgumentException("B " + Arrays.toString(b.shape()) + " must be [" + dirs + ", " + 2 * gates * hidden + "]");
        }
        if (a.length > 4 && a[4] != null) {
            long[] lens = knownInts(a, 4, n, "sequence_lens");
            for (long l : lens) {
                if (l != steps) {
                    throw new UnsupportedOperationException(n.opType() + " with sequence_lens " + Arrays.toString(lens) + " against X's " + steps
                            + " steps (Lanes runs every sequence over all of X's steps)");
                }
            }
            if (lens.length != batch) {
                throw new IllegalArgumentException("sequence_lens has " + lens.length + " entries for a batch of " + batch);
            }
        }
        Tensor h0 = recurrentState(a, 5, n, "initial_h", dirs, batch, hidden, batchFirst);
        Tensor c0 = lstm ? recurrentState(a, 6, n, "initial_c", dirs, batch, hidden, batchFirst) : null;
        Value p = lstm && a.length > 7 ? a[7] : null;
        if (p != null && !Arrays.equals(p.shape(), new int[] {dirs, 3 * hidden})) {
            throw new IllegalArgumentException("P " + Arrays.toString(p.shape()) + " must be [" + dirs + ", " + 3 * hidden + "]");
        }
        Tensor[] ys = new Tensor[dirs];
        Tensor[] hs = new Tensor[dirs];
        Tensor[] cs = new Tensor[dirs];
        for (int d = 0; d < dirs; d++) {
            boolean reverse = d == 1 || reverseOnly;
            Tensor wd = recurrentWeight(n, w, 1, d, 0, gates, hidden, order);
            Tensor rd = recurrentWeight(n, r, 2, d, 0, gates, hidden, order);
            Tensor bW = b == null ? null : recurrentWeight(n, b, 3, d, 0, gates, hidden, order);
            Tensor bR = b == null ? null : recurrentWeight(n, b, 3, d, gates * hidden, gates, hidden, order);
            // RNN and LSTM add R's bias with W's into the one projection of the sequence; GRU keeps it with R (it is reset)
            Tensor xp = dev.lanes.nn.functional.F.linear(seq, wd, gru || bR == null ? bW : bW.add(bR));
            Tensor h = h0 == null ? Tensor.zeros(batch, hidden) : h0.select(0, d);
            Tensor[] out;
            if (lstm) {
                Tensor c = c0 == null ? Tensor.zeros(batch, hidden) : c0.select(0, d);
                Tensor pd = p == null ? null : recurrentWeight(n, p, 7, d, 0, 3, hidden, PEEPHOLE_ORDER).view(3, hidden);
                out = dev.lanes.nn.Recurrent.lstmLayer(xp, h, c, rd, null, pd, reverse);
            } else if (gru) {
                out = dev.lanes.nn.Recurrent.gruLayer(xp, h, rd, bR, attrInt(n, "linear_before_reset", 0) == 1, reverse);
            } else {
                out = dev.lanes.nn.Recurrent.rnnLayer(xp, h, rd, relu[d], reverse);
            }
            ys[d] = out[0];
            hs[d] = out[1];
            cs[d] = out[2];
        }
        Tensor y = Tensor.stack(ys, 1); // [T, dirs, B, H]
        Tensor yh = Tensor.stack(hs, 0); // [dirs, B, H]
        Tensor yc = lstm ? Tensor.stack(cs, 0) : null;
        if (batchFirst) {
            y = y.permute(2, 0, 1, 3).contiguous();
            yh = yh.transpose(0, 1).contiguous();
            yc = lstm ? yc.transpose(0, 1).contiguous() : null;
        }
        return lstm ? new Value[] {one(y), one(yh), one(yc)} : new Value[] {one(y), one(yh)};
    }

    /** initial_h or initial_c (input i) as [dirs, B, H] (given as [B, dirs, H] with layout 1), or null if absent. */
    private static Tensor recurrentState(Value[] a, int i, Node n, String what, int dirs, int batch, int hidden, boolean batchFirst) {
        if (a.length <= i || a[i] == null) {
            return null;
        }
        Tensor s = floats(a[i], n);
        int[] want = batchFirst ? new int[] {batch, dirs, hidden} : new int[] {dirs, batch, hidden};
        if (!Arrays.equals(s.shape(), want)) {
            throw new IllegalArgumentException(what + " " + Arrays.toString(s.shape()) + " must be " + Arrays.toString(want));
        }
        return batchFirst ? s.transpose(0, 1).contiguous() : s;
    }

    /** Recurrent weights converted to torch's gate order, by initializer name, direction and offset: made once. */
    private final Map<String, Tensor> recurrentWeights = new HashMap<>();

    /**
     * Direction {@code d} of W, R ([dirs, G*H, K]), B or P ([dirs, G*H...]), the {@code gates} blocks of {@code hidden}
     * rows from row {@code offset} on, in torch's order ({@code order[j]} is the ONNX block of torch's block j). An
     * initializer's is made once, from its values, and kept as the model's own tensor (a plan sees a constant); a
     * weight given as a graph input is cut and concatenated by Tensor ops on every call.
     */
    private Tensor recurrentWeight(Node n, Value v, int input, int d, int offset, int gates, int hidden, int[] order) {
        TensorData data = v.data;
        if (data == null) {
            Tensor t = floats(v, n).select(0, d);
            Tensor[] blocks = new Tensor[gates];
            for (int j = 0; j < gates; j++) {
                blocks[j] = t.narrow(0, offset + order[j] * hidden, hidden);
            }
            return gates == 1 ? blocks[0].contiguous() : Tensor.cat(blocks, 0);
        }
        if (!data.isFloat()) {
            throw new UnsupportedOperationException(n.opType() + " of a " + OnnxFormat.typeName(data.dataType()) + " input " + input + " (Lanes computes in float32)");
        }
        String key = data.name() + "#" + d + "#" + offset + "#" + gates;
        synchronized (weights) {
            if (closed) {
                throw new IllegalStateException("ONNX: the model is closed");
            }
            Tensor t = recurrentWeights.get(key);
            if (t == null) {
                long[] dims = data.dims();
                int cols = dims.length == 3 ? (int) dims[2] : 1; // shapes checked against hidden_size before: exact
                int perDir = (int) dims[1] * cols;
                float[] src = data.floats();
                float[] dst = new float[gates * hidden * cols];
                for (int j = 0; j < gates; j++) {
                    System.arraycopy(src, d * perDir + (offset + order[j] * hidden) * cols, dst, j * hidden * cols, hidden * cols);
                }
                try (dev.lanes.memory.MemoryScope outside = dev.lanes.memory.MemoryScope.unscoped()) {
                    t = dims.length == 3 ? Tensor.of(dst, gates * hidden, cols) : Tensor.of(dst, gates * hidden);
                }
                recurrentWeights.put(key, t);
            }
            return t;
        }
    }

    // ---- the operators ----

    /**
     * The attribute {@code name} when it has the {@code type} the op expects (or a legacy file's UNDEFINED type): an INT
     * where INTS belong read as an empty list (ReduceMean over every dim), an INT alpha as 0.0 (ONNX's checker refuses
     * "Mismatched attribute type").
     */
    private static Attribute typed(Node n, String name, int type) {
        Attribute a = n.attributes().get(name);
        if (a != null && a.type() != 0 && a.type() != type) {
            throw new IllegalArgumentException("attribute " + name + " has type " + a.type() + " where the op takes type " + type
                    + " (ONNX's AttributeType): mismatched attribute type");
        }
        return a;
    }

    private static int attrInt(Node n, String name, long dflt) {
        Attribute a = typed(n, name, OnnxFormat.ATTR_INT);
        long v = a == null ? dflt : a.i();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("attribute " + name + " = " + v + " is out of range");
        }
        return (int) v;
    }

    private static float attrFloat(Node n, String name, float dflt) {
        Attribute a = typed(n, name, OnnxFormat.ATTR_FLOAT);
        return a == null ? dflt : a.f();
    }

    private static long[] attrInts(Node n, String name) {
        Attribute a = typed(n, name, OnnxFormat.ATTR_INTS);
        return a == null ? null : a.ints();
    }

    private static String attrString(Node n, String name, String dflt) {
        Attribute a = typed(n, name, OnnxFormat.ATTR_STRING);
        return a == null || a.s() == null ? dflt : a.s();
    }

    private static Value one(Tensor t) {
        return Value.of(t);
    }

    private static Value[] out(Tensor t) {
        return new Value[] {one(t)};
    }

    private static Value arg(Value[] args, int i, Node n) {
        if (i >= args.length || args[i] == null) {
            throw new IllegalArgumentException("input " + i + " is missing");
        }
        return args[i];
    }

    /** The integers of input i, which must be known at trace time (a constant, or computed from shapes). */
    private static long[] knownInts(Value[] args, int i, Node n, String what) {
        Value v = arg(args, i, n);
        if (v.ints != null) {
            return v.ints;
        }
        Tensor t = v.tensor();
        if (t.dtype() != DType.INT64) {
            throw new IllegalArgumentException(what + " (input " + i + ") must be an integer tensor, got " + t.dtype());
        }
        // a value computed at run time: read eagerly (a plan's trace refuses this read: plans need shapes known at trace time)
        return t.contiguous().toLongArray();
    }

    /** A float32 tensor for a float-only op; integer and bool tensors are refused (Lanes computes in float32). */
    private static Tensor floats(Value v, Node n) {
        Tensor t = v.tensor();
        if (t.dtype() != DType.FLOAT32) {
            throw new UnsupportedOperationException(n.opType() + " of " + t.dtype() + " tensors (Lanes computes in float32)");
        }
        return t;
    }

    private static int axis(long a, int rank, String what) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= rank) {
            throw new IllegalArgumentException(what + " " + a + " is out of range for rank " + rank);
        }
        return (int) r;
    }

    private Value[] apply(Node n, Value[] a) {
        return switch (n.opType()) {
            case "Identity" -> new Value[] {arg(a, 0, n)};
            case "Dropout" -> dropout(n, a);
            case "Relu" -> out(arg(a, 0, n).tensor().relu());
            case "Sigmoid" -> out(arg(a, 0, n).tensor().sigmoid());
            case "Tanh" -> out(arg(a, 0, n).tensor().tanh());
            case "Erf" -> out(arg(a, 0, n).tensor().erf());
            case "Sin" -> out(arg(a, 0, n).tensor().sin());
            case "Cos" -> out(arg(a, 0, n).tensor().cos());
            case "Exp" -> out(arg(a, 0, n).tensor().exp());
            case "Log" -> out(arg(a, 0, n).tensor().log());
            case "Sqrt" -> out(arg(a, 0, n).tensor().sqrt());
            case "Abs" -> out(arg(a, 0, n).tensor().abs());
            case "Neg" -> intsOr(a, n, v -> -v, t -> t.neg());
            case "Gelu" -> out(arg(a, 0, n).tensor().gelu(attrString(n, "approximate", "none")));
            case "LeakyRelu" -> out(arg(a, 0, n).tensor().leakyRelu(attrFloat(n, "alpha", 0.01f)));
            case "Elu" -> out(arg(a, 0, n).tensor().elu(attrFloat(n, "alpha", 1f)));
            case "Softplus" -> out(arg(a, 0, n).tensor().softplus(1, 20)); // log(exp(x) + 1): x itself from 20 on, to float rounding
            case "HardSwish" -> out(arg(a, 0, n).tensor().hardswish()); // x max(0, min(1, x / 6 + 1/2)): torch's (x + 3) / 6 form
            case "Mish" -> out(floats(arg(a, 0, n), n).mish()); // x tanh(softplus(x)), opset 18
            case "Softsign" -> out(F.softsign(floats(arg(a, 0, n), n)));
            case "Selu" -> {
                // gamma (x > 0 ? x : alpha (e^x - 1)); the defaults are torch's constants rounded to float
                float alpha = attrFloat(n, "alpha", 1.67326319217681884765625f);
                float gamma = attrFloat(n, "gamma", 1.05070102214813232421875f);
                try (Tensor e = floats(arg(a, 0, n), n).elu(alpha)) {
                    yield out(e.mul(gamma));
                }
            }
            case "Celu" -> {
                float alpha = attrFloat(n, "alpha", 1f);
                if (alpha == 0 || Float.isNaN(alpha)) {
                    throw new IllegalArgumentException("Celu: alpha must be nonzero (x / alpha), got " + alpha);
                }
                yield out(F.celu(floats(arg(a, 0, n), n), alpha));
            }
            case "ThresholdedRelu" -> {
                // x > alpha ? x : 0 (NaN gives 0, as the comparison is false)
                Tensor x = floats(arg(a, 0, n), n);
                try (Tensor keep = x.gt(attrFloat(n, "alpha", 1f)); Tensor zero = Tensor.scalar(0)) {
                    yield out(Tensor.where(keep, x, zero));
                }
            }
            case "Shrink" -> shrink(n, a);
            case "PRelu" -> prelu(n, a);
            case "Floor" -> out(floats(arg(a, 0, n), n).floor());
            case "Ceil" -> out(floats(arg(a, 0, n), n).ceil());
            case "Round" -> out(floats(arg(a, 0, n), n).round()); // halves to even, as ONNX's Round
            case "Sign" -> intsOr(a, n, Long::signum, t -> floats(Value.of(t), n).sign());
            case "IsNaN" -> out(floats(arg(a, 0, n), n).isnan());
            case "IsInf" -> {
                Tensor x = floats(arg(a, 0, n), n);
                boolean negative = attrInt(n, "detect_negative", 1) != 0;
                boolean positive = attrInt(n, "detect_positive", 1) != 0;
                // one sign alone is equality with that infinity; neither is a comparison nothing passes (all false)
                yield out(negative && positive ? x.isinf()
                        : negative ? x.eq(Double.NEGATIVE_INFINITY)
                        : positive ? x.eq(Double.POSITIVE_INFINITY)
                        : x.gt(Double.POSITIVE_INFINITY));
            }
            case "HardSigmoid" -> {
                // max(0, min(1, alpha x + beta)); torch's hardsigmoid is alpha = 1/6, beta = 1/2 (ONNX's defaults are 0.2, 0.5)
                Tensor x = arg(a, 0, n).tensor();
                float alpha = attrFloat(n, "alpha", 0.2f);
                float beta = attrFloat(n, "beta", 0.5f);
                if (alpha == 1f / 6 && beta == 0.5f) {
                    yield out(x.hardsigmoid());
                }
                try (Tensor scaled = x.mul(alpha); Tensor shifted = scaled.add(beta)) {
                    yield out(shifted.hardtanh(0, 1));
                }
            }
            case "Add", "Sub", "Mul", "Div" -> binary(n, a);
            case "Pow" -> {
                Tensor base = floats(arg(a, 0, n), n);
                float e = arg(a, 1, n).knownFloat();
                if (!Float.isNaN(e) && arg(a, 1, n).shape().length <= base.dim()) { // a known scalar that broadcasts to the base's shape
                    yield out(base.pow(e));
                }
                Tensor exponent = arg(a, 1, n).tensor();
                yield out(exponent.dtype() == DType.FLOAT32 ? base.pow(exponent) : base.pow(exponent.toType(DType.FLOAT32)));
            }
            case "MatMul" -> out(arg(a, 0, n).tensor().matmul(arg(a, 1, n).tensor()));
            case "Gemm" -> gemm(n, a);
            case "Conv", "ConvTranspose", "MaxPool", "AveragePool" -> oneOrTwoD(n, a);
            case "GlobalAveragePool", "GlobalMaxPool" -> {
                // over every spatial dim of [N, C, D1, ...], any rank from 3 (1-d and 3-d inputs were refused at run time)
                Tensor x = floats(arg(a, 0, n), n);
                if (x.dim() < 3) {
                    throw new IllegalArgumentException(n.opType() + " of a " + x.dim() + "-d input (needs [N, C, D1, ...])");
                }
                boolean max = n.opType().equals("GlobalMaxPool");
                if (!max && x.dim() == 4) {
                    yield out(Tensor.adaptiveAvgPool2d(x, 1, 1)); // images: the pooling kernel
                }
                long spatial = 1;
                for (int d = 2; max && d < x.dim(); d++) {
                    spatial *= x.size(d); // at most numel, an int
                }
                if (max && spatial > 0) {
                    // the spatial dims as one row, max-pooled whole: a pooling step, so the model also compiles to a plan
                    // (max(dim) returns values and indices, which no plan step replays); the same maximum, NaN propagated
                    int[] row = {x.size(0), x.size(1), 1, (int) spatial};
                    int[] shape = new int[x.dim()];
                    java.util.Arrays.fill(shape, 1);
                    shape[0] = x.size(0);
                    shape[1] = x.size(1);
                    yield out(Tensor.maxPool2d(x.reshape(row), new int[] {1, (int) spatial}, new int[] {1, (int) spatial}, new int[] {0, 0},
                            new int[] {1, 1}, false).reshape(shape));
                }
                Tensor t = x;
                for (int d = x.dim() - 1; d >= 2; d--) { // each dim kept as size 1; every slice equally long, so means of means
                    t = max ? t.max(d, true).values() : t.mean(d, true);
                }
                yield out(t);
            }
            case "BatchNormalization" -> {
                if (n.outputs().size() > 1 && n.outputs().stream().skip(1).anyMatch(o -> !o.isEmpty())) {
                    throw new UnsupportedOperationException("BatchNormalization in training mode (running statistics as outputs)");
                }
                if (attrInt(n, "training_mode", 0) != 0) {
                    throw new UnsupportedOperationException("BatchNormalization with training_mode = 1");
                }
                if (opset < 7 && attrInt(n, "is_test", 0) == 0) { // opsets 1-6: batch statistics unless is_test = 1
                    throw new UnsupportedOperationException("BatchNormalization (opset " + opset + ") in training mode (is_test = 0, its default)");
                }
                if (opset < 9 && attrInt(n, "spatial", 1) == 0) {
                    // opsets 1-8's per-activation form: scale, B, mean and var of shape [C, D1, ...], a statistic for each
                    // element of an example (it was refused: Lanes' batch_norm takes [C]); the spec's formula elementwise
                    Tensor x = floats(arg(a, 0, n), n);
                    int[] each = Arrays.copyOfRange(x.shape(), 1, x.dim());
                    Tensor[] stats = new Tensor[4];
                    for (int i = 0; i < 4; i++) {
                        stats[i] = floats(arg(a, i + 1, n), n);
                        if (!Arrays.equals(stats[i].shape(), each)) {
                            throw new IllegalArgumentException("BatchNormalization with spatial = 0 takes scale, B, mean and var of shape "
                                    + Arrays.toString(each) + " (the input's dims after N), input " + (i + 1) + " has " + Arrays.toString(stats[i].shape()));
                        }
                    }
                    Tensor invStd = stats[3].add(attrFloat(n, "epsilon", 1e-5f)).sqrt().rdiv(1);
                    yield out(x.sub(stats[2]).mul(invStd.mul(stats[0])).add(stats[1]));
                }
                yield out(Tensor.batchNorm(arg(a, 0, n).tensor(), arg(a, 3, n).tensor(), arg(a, 4, n).tensor(), arg(a, 1, n).tensor(),
                        arg(a, 2, n).tensor(), false, 0.1, attrFloat(n, "epsilon", 1e-5f)));
            }
            case "LayerNormalization" -> {
                Tensor x = arg(a, 0, n).tensor();
                int ax = axis(attrInt(n, "axis", -1), x.dim(), "axis");
                int[] normalized = Arrays.copyOfRange(x.shape(), ax, x.dim());
                Tensor b = a.length > 2 && a[2] != null ? a[2].tensor() : null;
                float eps = attrFloat(n, "epsilon", 1e-5f);
                Tensor scale = arg(a, 1, n).tensor();
                Tensor y;
                if (Arrays.equals(scale.shape(), normalized) && (b == null || Arrays.equals(b.shape(), normalized))) {
                    y = Tensor.layerNorm(x, normalized, scale, b, eps);
                } else {
                    // a Scale or B that broadcasts (the spec's function body multiplies and adds with numpy's rule: Scale
                    // [4] over normalized [3, 4]): the plain normalization, then the product and the sum (refused before)
                    y = Tensor.layerNorm(x, normalized, null, null, eps).mul(scale);
                    y = b == null ? y : y.add(b);
                }
                if (n.outputs().size() < 2 || n.outputs().stream().skip(1).allMatch(String::isEmpty)) {
                    yield out(y);
                }
                // the optional Mean and InvStdDev outputs: over the normalized dims, kept as size 1
                Tensor mean = x;
                for (int d = x.dim() - 1; d >= ax; d--) {
                    mean = mean.mean(d, true);
                }
                Tensor centered = x.sub(mean);
                Tensor var = centered.mul(centered);
                for (int d = x.dim() - 1; d >= ax; d--) {
                    var = var.mean(d, true);
                }
                yield new Value[] {one(y), one(mean), one(var.add(eps).sqrt().rdiv(1))};
            }
            case "Softmax", "LogSoftmax" -> softmax(n, a);
            case "Hardmax" -> hardmax(n, a);
            case "Flatten" -> {
                Value v = arg(a, 0, n);
                int[] s = v.shape();
                int ax = attrInt(n, "axis", 1);
                ax = ax < 0 ? ax + s.length : ax;
                if (ax < 0 || ax > s.length) {
                    throw new IllegalArgumentException("axis " + attrInt(n, "axis", 1) + " is out of range for rank " + s.length);
                }
                long outer = 1;
                for (int i = 0; i < ax; i++) {
                    outer = Math.multiplyExact(outer, s[i]); // a folded shape may have huge dims beside a zero one
                }
                long inner = 1;
                for (int i = ax; i < s.length; i++) {
                    inner = Math.multiplyExact(inner, s[i]);
                }
                yield reshaped(v, new long[] {outer, inner});
            }
            case "Reshape" -> {
                Value v = arg(a, 0, n);
                long[] target = knownInts(a, 1, n, "the shape");
                int[] s = v.shape();
                long[] shape = target.clone();
                boolean allowZero = attrInt(n, "allowzero", 0) != 0;
                for (int i = 0; i < shape.length; i++) {
                    if (shape[i] == 0 && !allowZero) {
                        if (i >= s.length) {
                            throw new IllegalArgumentException("shape " + Arrays.toString(target) + " copies dim " + i + " of a rank-" + s.length + " input");
                        }
                        shape[i] = s[i];
                    }
                }
                yield reshaped(v, shape);
            }
            case "Transpose" -> {
                Value v = arg(a, 0, n);
                long[] perm = attrInts(n, "perm");
                int[] p = new int[v.shape().length];
                if (perm != null && perm.length != p.length) {
                    throw new IllegalArgumentException("perm " + Arrays.toString(perm) + " does not fit rank " + p.length);
                }
                for (int i = 0; i < p.length; i++) {
                    p[i] = perm == null ? p.length - 1 - i : axis(perm[i], p.length, "perm entry");
                }
                yield v.ints != null && v.tensor == null ? transposedInts(v, p) : out(v.tensor().permute(p));
            }
            case "Squeeze", "Unsqueeze" -> squeeze(n, a);
            case "Concat" -> concat(n, a);
            case "Shape" -> {
                int[] s = arg(a, 0, n).shape();
                int start = attrInt(n, "start", 0);
                int end = attrInt(n, "end", s.length);
                start = Math.max(0, Math.min(s.length, start < 0 ? start + s.length : start));
                end = Math.max(start, Math.min(s.length, end < 0 ? end + s.length : end));
                long[] v = new long[end - start];
                for (int i = start; i < end; i++) {
                    v[i - start] = s[i];
                }
                yield new Value[] {Value.ints(v, new long[] {v.length})};
            }
            case "Constant" -> new Value[] {constant(n)};
            case "ConstantOfShape" -> {
                long[] shape = knownInts(a, 0, n, "the shape");
                Attribute val = n.attributes().get("value");
                TensorData fill = val == null ? null : val.t();
                int[] s = intShape(shape, "the shape");
                long count = 1;
                for (int d : s) {
                    count = Math.multiplyExact(count, d);
                }
                if (fill != null && fill.numel() != 1) {
                    throw new IllegalArgumentException("value must hold one element, holds " + fill.numel());
                }
                if (fill == null || fill.isFloat()) {
                    if (count > dev.lanes.io.ReadLimits.maxBytes() / 4) {
                        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + count + " elements, over the read limit of "
                                + dev.lanes.io.ReadLimits.maxBytes() + " bytes (-Dlanes.io.maxBytes)");
                    }
                    yield out(Tensor.full(s, fill == null ? 0f : fill.floats()[0]));
                }
                if (count > MAX_FOLDED) {
                    throw new UnsupportedOperationException("an int64 ConstantOfShape of " + count + " elements (Lanes folds at most " + MAX_FOLDED + ")");
                }
                long[] v = new long[(int) count];
                Arrays.fill(v, fill.longs()[0]);
                yield new Value[] {Value.known(v, shape, fill.dataType() == OnnxFormat.BOOL)};
            }
            case "Gather" -> gather(n, a);
            case "Cast" -> {
                Value v = arg(a, 0, n);
                int to = attrInt(n, "to", 0);
                if (to == OnnxFormat.FLOAT) {
                    yield out(v.tensor().toType(DType.FLOAT32));
                }
                if (to == OnnxFormat.DOUBLE && n.outputs().size() == 1 && readOnlyByPredicates.contains(n.outputs().get(0))
                        && v.tensor().dtype() == DType.FLOAT32) {
                    yield new Value[] {v}; // torch's isinf export: see findPredicateOnlyValues
                }
                // Lanes holds int32 as int64. One rule whether the value is folded here or converted by a tensor op (the
                // spec leaves a float out of the target's range undefined; this is numpy's, PyTorch's and ONNX Runtime's
                // C cast on x86): float to int64 truncates, NaN, +-inf and floats outside the int64 range become
                // INT64_MIN; to int32 likewise with INT32_MIN; int64 to int32 keeps the low 32 bits. The tensor path
                // to int32 did not narrow at all (3e9 stayed 3000000000, 2^31 as int64 stayed 2^31, folded -2^31).
                if (to == OnnxFormat.INT64 || to == OnnxFormat.INT32) {
                    if (v.ints != null && v.tensor == null) {
                        long[] r = v.ints.clone();
                        if (to == OnnxFormat.INT32) {
                            for (int i = 0; i < r.length; i++) {
                                r[i] = (int) r[i]; // the low 32 bits, as Tensor.toInt32Values wraps an int64 tensor
                            }
                        }
                        yield new Value[] {Value.ints(r, v.intsShape)};
                    }
                    yield out(to == OnnxFormat.INT32 ? v.tensor().toInt32Values() : v.tensor().toType(DType.INT64));
                }
                if (to == OnnxFormat.BOOL) {
                    if (v.ints != null && v.tensor == null) { // stays known: a Where or Not after it folds too
                        long[] r = new long[v.ints.length];
                        for (int i = 0; i < r.length; i++) {
                            r[i] = v.ints[i] != 0 ? 1 : 0;
                        }
                        yield new Value[] {Value.known(r, v.intsShape, true)};
                    }
                    yield out(v.tensor().toType(DType.BOOL));
                }
                throw new UnsupportedOperationException("Cast to " + OnnxFormat.typeName(to) + " (Lanes casts to float, int64/int32 and bool)");
            }
            case "Clip" -> {
                Value x = arg(a, 0, n);
                float lo = -Float.MAX_VALUE;
                float hi = Float.MAX_VALUE;
                if (opset < 11) {
                    lo = attrFloat(n, "min", lo);
                    hi = attrFloat(n, "max", hi);
                } else {
                    Tensor t = floats(x, n);
                    Value min = a.length > 1 ? a[1] : null;
                    Value max = a.length > 2 ? a[2] : null;
                    if (min != null && Float.isNaN(min.knownFloat()) || max != null && Float.isNaN(max.knownFloat())) {
                        // bounds computed at run time: max(x, min) then min(., max), traceable, NaN kept like clamp
                        Tensor r = min == null ? t : t.maximum(floats(min, n));
                        yield out(max == null ? r : r.minimum(floats(max, n)));
                    }
                    lo = min == null ? lo : min.knownFloat();
                    hi = max == null ? hi : max.knownFloat();
                }
                // ONNX's Clip is min(max(x, lo), hi), as clamp: with lo above hi every value becomes hi (NaN stays NaN)
                yield out(floats(x, n).clamp(lo, hi));
            }
            case "Reciprocal" -> out(floats(arg(a, 0, n), n).rdiv(1));
            case "Size" -> {
                long count = 1;
                for (int d : arg(a, 0, n).shape()) {
                    count *= d;
                }
                yield new Value[] {Value.ints(new long[] {count}, new long[0])};
            }
            case "Max", "Min", "Sum", "Mean" -> {
                Tensor acc = floats(arg(a, 0, n), n);
                for (int i = 1; i < a.length; i++) {
                    Tensor next = floats(arg(a, i, n), n);
                    acc = switch (n.opType()) {
                        case "Max" -> acc.maximum(next);
                        case "Min" -> acc.minimum(next);
                        default -> acc.add(next);
                    };
                }
                yield out(n.opType().equals("Mean") ? acc.div(a.length) : a.length == 1 ? acc.mul(1f) : acc);
            }
            case "Equal", "Greater", "GreaterOrEqual", "Less" -> {
                Value known = foldIntegers(n, a);
                if (known != null) {
                    yield new Value[] {known};
                }
                Tensor x = arg(a, 0, n).tensor();
                Tensor y = arg(a, 1, n).tensor();
                if (x.dtype() != y.dtype()) {
                    throw new UnsupportedOperationException(n.opType() + " of " + x.dtype() + " and " + y.dtype());
                }
                if (x.dtype() != DType.FLOAT32 && !n.opType().equals("Equal")) {
                    throw new UnsupportedOperationException(n.opType() + " of " + x.dtype() + " tensors (Lanes compares float32)");
                }
                yield out(switch (n.opType()) {
                    case "Equal" -> x.eq(y);
                    case "Greater" -> x.gt(y);
                    case "GreaterOrEqual" -> x.ge(y);
                    default -> x.lt(y);
                });
            }
            case "Not", "And", "Or", "Xor" -> {
                Value known = foldBools(n, a);
                if (known != null) {
                    yield new Value[] {known};
                }
                Tensor x = bools(arg(a, 0, n), n);
                yield out(switch (n.opType()) {
                    case "Not" -> x.logicalNot();
                    case "And" -> x.logicalAnd(bools(arg(a, 1, n), n));
                    case "Or" -> x.logicalOr(bools(arg(a, 1, n), n));
                    default -> x.logicalXor(bools(arg(a, 1, n), n));
                });
            }
            case "Expand" -> {
                Value v = arg(a, 0, n);
                long[] target = knownInts(a, 1, n, "the shape");
                int[] s = v.shape();
                int rank = Math.max(s.length, target.length);
                int[] out = new int[rank];
                for (int i = 0; i < rank; i++) { // numpy broadcasting of the input's shape with the target
                    int si = i - (rank - s.length);
                    int ti = i - (rank - target.length);
                    long d = si >= 0 ? s[si] : 1;
                    long t = ti >= 0 ? target[ti] : 1;
                    if (d != t && d != 1 && t != 1) {
                        throw new IllegalArgumentException("cannot expand " + Arrays.toString(s) + " to " + Arrays.toString(target));
                    }
                    long r = d == 1 ? t : d;
                    if (r < 0 || r > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException("shape " + Arrays.toString(target) + " has dim " + t);
                    }
                    out[i] = (int) r;
                }
                checkElements(Arrays.stream(out).asLongStream().toArray(), n); // bounded like ConstantOfShape before it is made
                yield out(v.tensor().expand(out).contiguous());
            }
            case "Slice" -> slice(n, a);
            case "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss" -> loss(n, a);
            case "Split" -> {
                Tensor x = arg(a, 0, n).tensor();
                int ax = axis(attrInt(n, "axis", 0), x.dim(), "axis");
                long[] sizes = attrInts(n, "split");
                if (sizes == null && a.length > 1 && a[1] != null) {
                    sizes = knownInts(a, 1, n, "the split sizes");
                }
                int parts = n.outputs().size();
                int dim = x.shape()[ax];
                int[] s = new int[parts];
                if (sizes == null) { // equal parts (the last one smaller if it does not divide: opset 18's rule)
                    if (parts < 1) {
                        throw new IllegalArgumentException("Split without outputs");
                    }
                    if (opset < 18 && dim % parts != 0) { // before 18 an uneven split is an error (ONNX Runtime refuses it)
                        throw new IllegalArgumentException("Split (opset " + opset + "): input cannot be split evenly on axis " + ax + ": "
                                + dim + " into " + parts + " outputs");
                    }
                    long each = ((long) dim + parts - 1) / parts;
                    for (int i = 0; i < parts; i++) {
                        s[i] = (int) Math.max(0, Math.min(each, dim - i * each));
                    }
                } else {
                    if (sizes.length != parts) {
                        throw new IllegalArgumentException("split " + Arrays.toString(sizes) + " for " + parts + " outputs");
                    }
                    long total = 0;
                    for (int i = 0; i < parts; i++) {
                        if (sizes[i] < 0 || sizes[i] > dim) {
                            throw new IllegalArgumentException("split size " + sizes[i] + " for a dim of " + dim);
                        }
                        s[i] = (int) sizes[i];
                        total += sizes[i];
                    }
                    if (total != dim) {
                        throw new IllegalArgumentException("split " + Arrays.toString(sizes) + " does not add up to dim " + ax + " of size " + dim);
                    }
                }
                Value[] outs = new Value[parts];
                int at = 0;
                for (int i = 0; i < parts; i++) {
                    outs[i] = one(x.narrow(ax, at, s[i]).contiguous());
                    at += s[i];
                }
                yield outs;
            }
            case "GatherElements" -> {
                Tensor x = arg(a, 0, n).tensor();
                Value idx = arg(a, 1, n);
                int ax = axis(attrInt(n, "axis", 0), x.dim(), "axis");
                int size = x.shape()[ax];
                long[] v = idx.ints != null ? idx.ints : idx.tensor().contiguous().toLongArray(); // a trace refuses this read
                long[] fixed = new long[v.length];
                for (int i = 0; i < v.length; i++) {
                    if (v[i] < -size || v[i] >= size) {
                        throw new IllegalArgumentException("index " + v[i] + " is out of range for dim " + ax + " of size " + size);
                    }
                    fixed[i] = v[i] < 0 ? v[i] + size : v[i];
                }
                int[] shape = idx.shape();
                yield out(x.gather(ax, Tensor.of(fixed, shape.length == 0 ? new int[] {1} : shape)));
            }
            case "Range" -> range(n, a);
            case "Trilu" -> {
                Tensor x = floats(arg(a, 0, n), n);
                long k = a.length > 1 && a[1] != null ? knownInts(a, 1, n, "k")[0] : 0;
                if (x.dim() < 2) {
                    throw new IllegalArgumentException("Trilu of a " + x.dim() + "-d input (needs 2 or more dims)");
                }
                int diagonal = (int) Math.max(Integer.MIN_VALUE + 1, Math.min(Integer.MAX_VALUE, k));
                yield out(attrInt(n, "upper", 1) != 0 ? x.triu(diagonal) : x.tril(diagonal));
            }
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ReduceProd" -> {
                Tensor x = floats(arg(a, 0, n), n);
                long[] axes = attrInts(n, "axes");
                if (axes == null && a.length > 1 && a[1] != null) {
                    axes = knownInts(a, 1, n, "the axes"); // opset 18's form (ReduceSum's from 13)
                }
                boolean keep = attrInt(n, "keepdims", 1) != 0;
                boolean all = axes == null || axes.length == 0; // no axes (or an empty list): every dim, unless noop_with_empty_axes
                // noop_with_empty_axes with no axes (none given, or an empty list): no dim reduced, but the op's element-wise
                // parts still apply, as in ONNX's reference (ReduceSumSquare is then a square, ReduceL1 an absolute value)
                boolean noop = all && attrInt(n, "noop_with_empty_axes", 0) != 0;
                int[] dims = new int[noop ? 0 : all ? x.dim() : axes.length];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = all ? i : axis(axes[i], x.dim(), "axis");
                }
                Arrays.sort(dims);
                String op = n.opType();
                if (op.equals("ReduceLogSumExp")) {
                    yield out(logSumExp(x, dims, keep));
                }
                // what is summed, averaged or maxed: |x| for L1, x^2 for L2 and SumSquare, e^x for LogSumExp, -x for Min
                Tensor t = switch (op) {
                    case "ReduceL1" -> x.abs();
                    case "ReduceL2", "ReduceSumSquare" -> x.mul(x);
                    case "ReduceMin" -> x.neg();
                    default -> x;
                };
                boolean byMax = op.equals("ReduceMax") || op.equals("ReduceMin");
                for (int i = dims.length - 1; i >= 0; i--) {
                    t = byMax ? t.max(dims[i], keep).values() : op.equals("ReduceMean") ? t.mean(dims[i], keep)
                            : op.equals("ReduceProd") ? product(t, dims[i], keep) : t.sum(dims[i], keep);
                }
                t = switch (op) {
                    case "ReduceL2" -> t.sqrt();
                    case "ReduceMin" -> t.neg();
                    default -> t;
                };
                yield out(dims.length == 0 ? t.mul(1f) : t);
            }
            case "ArgMin", "ArgMax" -> {
                Tensor x = floats(arg(a, 0, n), n);
                int ax = axis(attrInt(n, "axis", 0), x.dim(), "axis");
                boolean keep = attrInt(n, "keepdims", 1) != 0;
                Tensor y = n.opType().equals("ArgMin") ? x.neg() : x; // the first minimum: the first maximum of -x
                if (attrInt(n, "select_last_index", 0) == 0) {
                    yield out(y.argmax(ax, keep));
                }
                // the last extremum is the first of the reversed axis, at r - 1 - k: exact in float while r <= 2^24
                int r = x.size(ax);
                if (r > 1 << 24) {
                    throw new UnsupportedOperationException(n.opType() + " with select_last_index = 1 over an axis of " + r
                            + " elements (at most 2^24)");
                }
                Tensor k = y.indexSelect(ax, Tensor.arange(r - 1, -1, -1)).argmax(ax, keep);
                yield out(k.toFloat().rsub(r - 1).toType(DType.INT64));
            }
            case "TopK" -> topK(n, a);
            case "CumSum" -> {
                Tensor x = floats(arg(a, 0, n), n);
                long[] axis = knownInts(a, 1, n, "the axis");
                if (axis.length != 1) {
                    throw new IllegalArgumentException("axis must be a scalar, has " + axis.length + " values");
                }
                if (x.dim() == 0) {
                    throw new IllegalArgumentException("CumSum of a scalar (needs a 1-d or larger input)");
                }
                yield out(cumulativeSum(x, axis(axis[0], x.dim(), "axis"), attrInt(n, "exclusive", 0) != 0, attrInt(n, "reverse", 0) != 0));
            }
            case "Resize", "Upsample" -> resize(n, a);
            case "Pad" -> pad(n, a);
            case "LSTM", "GRU", "RNN" -> recurrent(n, a);
            case "Tile" -> tile(n, a);
            case "DepthToSpace", "SpaceToDepth" -> depthToSpace(n, a);
            case "InstanceNormalization" -> {
                Tensor x = floats(arg(a, 0, n), n);
                if (x.dim() < 3) {
                    throw new IllegalArgumentException("InstanceNormalization of a rank-" + x.dim() + " input " + Arrays.toString(x.shape())
                            + " (needs [N, C, D1, ...])");
                }
                int c = x.size(1);
                Tensor scale = floats(arg(a, 1, n), n);
                Tensor b = floats(arg(a, 2, n), n);
                if (!Arrays.equals(scale.shape(), new int[] {c}) || !Arrays.equals(b.shape(), new int[] {c})) {
                    throw new IllegalArgumentException("InstanceNormalization takes scale and B of shape [" + c + "] (C of input " + Arrays.toString(x.shape())
                            + "), got " + Arrays.toString(scale.shape()) + " and " + Arrays.toString(b.shape()));
                }
                if (c == 0 || x.numel() == 0) {
                    yield out(x.mul(1f));
                }
                // group_norm with one group per channel is instance norm: each (sample, channel) by its own mean and biased
                // variance (torch's instance_norm, without its refusal of a single spatial element, which ONNX allows)
                yield out(Tensor.groupNorm(x, c, scale, b, attrFloat(n, "epsilon", 1e-5f)));
            }
            case "Einsum" -> einsum(n, a);
            case "Where" -> {
                Value known = foldIntegers(n, a);
                yield known != null ? new Value[] {known}
                        : out(Tensor.where(arg(a, 0, n).tensor(), floats(arg(a, 1, n), n), floats(arg(a, 2, n), n)));
            }
            default -> throw new UnsupportedOperationException("operator " + n.opType());
        };
    }

    /** ONNX's Shrink: {@code x < -lambd ? x + bias : x > lambd ? x - bias : 0} (lambd 0.5, bias 0 by default; NaN gives 0). */
    /**
     * TopK: the k largest (or, from opset 11, smallest with largest = 0) along axis, values and int64 indices, by
     * Tensor.topk (one plan step). k is an attribute before opset 10, a one-element int64 input from 10 on; ties keep
     * the lower index first, as ONNX specifies; sorted = 0 also returns them sorted (ONNX leaves that order open).
     */
    private Value[] topK(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        if (x.dim() == 0) {
            throw new IllegalArgumentException("TopK of a scalar (needs a 1-d or larger input)");
        }
        int ax = axis(attrInt(n, "axis", -1), x.dim(), "axis");
        long k;
        if (opset < 10) {
            k = attrInt(n, "k", -1);
        } else {
            long[] ks = knownInts(a, 1, n, "K");
            if (ks.length != 1) {
                throw new IllegalArgumentException("K must hold exactly one value, has " + ks.length);
            }
            k = ks[0];
        }
        if (k < 0 || k > x.size(ax)) {
            throw new IllegalArgumentException("k = " + k + " is out of range for axis " + ax + " of size " + x.size(ax) + " (input "
                    + Arrays.toString(x.shape()) + ")");
        }
        boolean largest = opset < 11 || attrInt(n, "largest", 1) != 0;
        boolean sorted = opset < 11 || attrInt(n, "sorted", 1) != 0;
        Tensor.ValuesIndices r = x.topk((int) k, ax, largest, sorted);
        return new Value[] {one(r.values()), one(r.indices())};
    }

    private static Value[] shrink(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        float lambd = attrFloat(n, "lambd", 0.5f);
        float bias = attrFloat(n, "bias", 0f);
        try (Tensor below = x.lt(-lambd); Tensor up = x.add(bias); Tensor zero = Tensor.scalar(0); Tensor low = Tensor.where(below, up, zero);
                Tensor above = x.gt(lambd); Tensor down = x.sub(bias)) {
            return out(Tensor.where(above, down, low));
        }
    }

    /**
     * ONNX's PRelu: {@code x < 0 ? slope x : x}, the slope broadcast to x's shape one way only (the output keeps x's
     * shape; a slope that would widen it is refused).
     */
    private static Value[] prelu(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        Tensor slope = floats(arg(a, 1, n), n);
        int[] xs = x.shape();
        int[] ss = slope.shape();
        boolean fits = ss.length <= xs.length;
        for (int i = 0; fits && i < ss.length; i++) {
            int d = ss[ss.length - 1 - i];
            fits = d == 1 || d == xs[xs.length - 1 - i];
        }
        if (!fits) {
            throw new IllegalArgumentException("PRelu: slope of shape " + Arrays.toString(ss) + " does not broadcast to the input's shape "
                    + Arrays.toString(xs) + " (unidirectional broadcasting)");
        }
        try (Tensor negative = x.lt(0); Tensor scaled = x.mul(slope)) {
            return out(Tensor.where(negative, scaled, x));
        }
    }

    /**
     * log(sum(exp(x))) over {@code dims} (sorted) as ONNX's reference computes it: the largest element of each reduced
     * slice subtracted first (0 where that is not finite), so inputs above ~88 give a finite result instead of
     * log(inf); an all -inf slice gives -inf, an +inf or NaN element +inf or NaN.
     */
    private static Tensor logSumExp(Tensor x, int[] dims, boolean keep) {
        if (x.numel() == 0) { // nothing to shift by (an empty max is an error): log(0) = -inf over empty slices
            Tensor t = x.exp();
            for (int i = dims.length - 1; i >= 0; i--) {
                t = t.sum(dims[i], keep);
            }
            return t.log();
        }
        Tensor max = x;
        for (int i = dims.length - 1; i >= 0; i--) {
            max = max.max(dims[i], true).values();
        }
        Tensor shift = max.maskedFill(max.abs().ge(Double.POSITIVE_INFINITY), 0); // +-inf -> 0 (NaN stays: the result is NaN either way)
        Tensor t = x.sub(shift).exp();
        for (int i = dims.length - 1; i >= 0; i--) {
            t = t.sum(dims[i], true);
        }
        t = t.log().add(shift);
        if (!keep) {
            for (int i = dims.length - 1; i >= 0; i--) {
                t = t.squeeze(dims[i]);
            }
        }
        return t;
    }

    /**
     * The product along {@code dim} as a tree of halves (the first half times the second, an odd last slice carried):
     * log2(size) elementwise products of views, which a plan traces like any other op.
     */
    private static Tensor product(Tensor x, int dim, boolean keep) {
        Tensor t = x;
        int size = t.shape()[dim];
        if (size == 0) {
            int[] s = t.shape();
            s[dim] = 1;
            Tensor ones = Tensor.ones(s); // the empty product
            return keep ? ones : ones.squeeze(dim);
        }
        while (size > 1) {
            int half = size / 2;
            Tensor paired = t.narrow(dim, 0, half).mul(t.narrow(dim, half, half));
            t = size % 2 == 0 ? paired : Tensor.cat(List.of(paired, t.narrow(dim, 2 * half, 1)), dim);
            size = half + size % 2;
        }
        return keep ? t.contiguous() : t.squeeze(dim).contiguous();
    }

    /**
     * ONNX CumSum along {@code dim} as a Hillis-Steele scan (log2(size) shifted adds of the running sums), so a plan
     * traces it; exclusive shifts the result one place (a zero first), reverse runs it on the flipped input and flips
     * the result back.
     */
    private static Tensor cumulativeSum(Tensor x, int dim, boolean exclusive, boolean reverse) {
        int size = x.shape()[dim];
        Tensor reversed = null;
        if (reverse && size > 1) {
            long[] backwards = new long[size];
            for (int i = 0; i < size; i++) {
                backwards[i] = size - 1 - i;
            }
            reversed = Tensor.of(backwards, size);
        }
        Tensor t = reversed == null ? x : x.indexSelect(dim, reversed);
        if (exclusive && size > 0) {
            t = shifted(t, dim, 1);
        }
        for (int step = 1; step < size; step *= 2) {
            t = t.add(shifted(t, dim, step));
        }
        t = reversed == null ? t : t.indexSelect(dim, reversed);
        return t == x ? x.mul(1f) : t;
    }

    /** {@code t} moved {@code by} places along {@code dim}: zeros in the first {@code by} places, the last ones dropped. */
    private static Tensor shifted(Tensor t, int dim, int by) {
        int[] zeros = t.shape();
        int size = zeros[dim];
        zeros[dim] = Math.min(by, size);
        return by >= size ? Tensor.zeros(zeros) : Tensor.cat(List.of(Tensor.zeros(zeros), t.narrow(dim, 0, size - by)), dim);
    }

    /**
     * Resize (opsets 10-18), modes nearest (every nearest_mode) and linear, from scales or sizes (opset 18's axes too),
     * with the coordinate transformations half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners,
     * asymmetric and tf_half_pixel_for_nn; and Upsample (opsets 7-9), which is opset 10's Resize. Both modes are
     * separable, so each resized axis is resampled on its own: an index_select of the nearest source index, or for
     * linear the two neighbours' index_selects weighted and summed ({@link Resample}; indices and weights constants to
     * a plan). [N, C, H, W] input resized over H and W only (what nn.Upsample and F.interpolate export) runs instead as
     * one fused kernel, F.interpolate's ({@link Tensor#upsampleNearest2d} / {@link Tensor#upsampleBilinear2d}), with the
     * same source indices and coordinates and the same bits, without the per-axis temporaries. Cubic, antialias,
     * exclude_outside, tf_crop_and_resize and keep_aspect_ratio_policy other than stretch are refused.
     */
    private Value[] resize(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        String op = n.opType();
        // Upsample (opsets 7-9, deprecated at 10): Resize's opset-10 form, asymmetric coordinates and nearest by floor;
        // its scales an attribute before opset 9, an input from it
        boolean upsample = op.equals("Upsample");
        if (upsample && opset < 7) {
            throw new UnsupportedOperationException("Upsample (opset " + opset + ": the experimental form with height_scale and width_scale)");
        }
        boolean legacy = upsample || opset < 11;
        String mode = attrString(n, "mode", "nearest");
        if (!mode.equals("nearest") && !mode.equals("linear")) {
            throw new UnsupportedOperationException(op + " with mode '" + mode + "' (Lanes resizes nearest and linear)");
        }
        if (attrInt(n, "antialias", 0) != 0) {
            throw new UnsupportedOperationException("Resize with antialias = 1");
        }
        if (attrInt(n, "exclude_outside", 0) != 0) {
            throw new UnsupportedOperationException("Resize with exclude_outside = 1");
        }
        String policy = attrString(n, "keep_aspect_ratio_policy", "stretch");
        if (!policy.equals("stretch")) {
            throw new UnsupportedOperationException("Resize with keep_aspect_ratio_policy '" + policy + "'");
        }
        // opset 10: Resize(X, scales), asymmetric coordinates; later: Resize(X, roi, scales, sizes)
        String transform = legacy ? "asymmetric" : attrString(n, "coordinate_transformation_mode", "half_pixel");
        if (!Set.of("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn")
                .contains(transform)) {
            throw new UnsupportedOperationException("Resize with coordinate_transformation_mode '" + transform + "'");
        }
        String nearestMode = attrString(n, "nearest_mode", "round_prefer_floor");
        if (!Set.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil").contains(nearestMode)) {
            throw new IllegalArgumentException("nearest_mode '" + nearestMode + "'");
        }
        int rank = x.dim();
        int[] in = x.shape();
        Value scalesArg = upsample && opset < 9 ? null : legacy ? arg(a, 1, n) : a.length > 2 ? a[2] : null;
        Value sizesArg = legacy ? null : a.length > 3 ? a[3] : null;
        float[] given = scalesArg == null ? null : knownFloats(scalesArg, n, "the scales");
        if (upsample && opset < 9) {
            Attribute sa = typed(n, "scales", OnnxFormat.ATTR_FLOATS);
            if (sa == null || sa.floats() == null) {
                throw new IllegalArgumentException("Upsample (opset " + opset + ") without its scales attribute");
            }
            given = sa.floats();
        }
        long[] sizes = sizesArg == null ? null : knownInts(a, 3, n, "the sizes");
        if (given != null && given.length == 0) {
            given = null; // an empty scales tensor stands for "not given" (opset 13 exports pass sizes that way)
        }
        if ((given == null) == (sizes == null || sizes.length == 0)) {
            throw new IllegalArgumentException(op + " needs exactly one of scales and sizes, got " + (given == null ? "neither" : "both"));
        }
        long[] axesAttr = attrInts(n, "axes");
        int[] axes = new int[axesAttr == null ? rank : axesAttr.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = axesAttr == null ? i : axis(axesAttr[i], rank, "axis");
        }
        int listed = given != null ? given.length : sizes.length;
        if (listed != axes.length) {
            throw new IllegalArgumentException((given != null ? "scales " + Arrays.toString(given) : "sizes " + Arrays.toString(sizes)) + " for "
                    + axes.length + " axes of a rank-" + rank + " input");
        }
        double[] scale = new double[rank];
        long[] outShape = new long[rank];
        for (int d = 0; d < rank; d++) {
            scale[d] = 1;
            outShape[d] = in[d];
        }
        for (int i = 0; i < axes.length; i++) {
            int d = axes[i];
            if (given != null) {
                double sc = given[i];
                if (!(sc > 0) || Double.isInfinite(sc)) {
                    throw new IllegalArgumentException("scale " + given[i] + " for axis " + d + " (must be positive and finite)");
                }
                double size = Math.floor(in[d] * sc);
                if (size > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("scale " + given[i] + " makes axis " + d + " of size " + in[d] + " " + size + " long");
                }
                scale[d] = sc;
                outShape[d] = (long) size;
            } else {
                if (sizes[i] < 0 || sizes[i] > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("size " + sizes[i] + " for axis " + d);
                }
                outShape[d] = sizes[i];
                scale[d] = in[d] == 0 ? 1 : (double) sizes[i] / in[d];
            }
        }
        if (checkElements(outShape, n) == 0) {
            return out(emptyOf(outShape)); // no per-axis tables sized by the other, non-empty axes
        }
        if (legacy && mode.equals("nearest")) {
            for (int d = 0; d < rank; d++) {
                if (scale[d] < 1) { // runtimes disagree on how opset 10 rounds a downsampling nearest resize (Upsample's must be >= 1)
                    throw new UnsupportedOperationException(op + " (opset " + opset + ") nearest with a downsampling scale " + scale[d]);
                }
            }
            nearestMode = "floor";
        }
        boolean isNearest = mode.equals("nearest");
        if (rank == 4 && outShape[0] == in[0] && scale[0] == 1 && outShape[1] == in[1] && scale[1] == 1 && in[2] > 0 && in[3] > 0
                && (isNearest || resized(2, in, outShape, scale) && resized(3, in, outShape, scale))) {
            // [N, C, H, W] resized over H and W (nn.Upsample's and F.interpolate's exports): the fused kernel F.interpolate
            // runs, with the same indices / coordinates and the bits of the per-axis path below (H, then W). Linear only
            // when both axes change: an unchanged axis is skipped below, and 0 * inf in its weighted pair would differ
            if (isNearest) {
                int[][] index = new int[2][];
                for (int k = 0; k < 2; k++) {
                    int d = 2 + k;
                    int o = (int) outShape[d];
                    index[k] = new int[o];
                    for (int j = 0; j < o; j++) {
                        index[k][j] = resized(d, in, outShape, scale)
                                ? (int) Math.max(0, Math.min(in[d] - 1, nearest(sourceCoordinate(transform, j, scale[d], in[d], o), nearestMode)))
                                : j;
                    }
                }
                return out(Tensor.upsampleNearest2d(x, index[0], index[1]));
            }
            double[][] source = new double[2][];
            for (int k = 0; k < 2; k++) {
                int d = 2 + k;
                int o = (int) outShape[d];
                source[k] = new double[o];
                for (int j = 0; j < o; j++) {
                    source[k][j] = sourceCoordinate(transform, j, scale[d], in[d], o);
                }
            }
            return out(Tensor.upsampleBilinear2d(x, source[0], source[1]));
        }
        Tensor t = x;
        long[] shape = Arrays.stream(in).asLongStream().toArray();
        for (int d = 0; d < rank; d++) {
            if (!resized(d, in, outShape, scale)) {
                continue; // every transformation maps an unscaled axis onto itself
            }
            shape[d] = outShape[d];
            checkElements(shape, n); // the partial result too: an axis upsampled before another is downsampled
            int out = (int) outShape[d];
            if (in[d] == 0) {
                throw new IllegalArgumentException(op + " of an empty axis " + d + " to " + out);
            }
            double[] source = new double[out];
            for (int o = 0; o < out; o++) {
                source[o] = sourceCoordinate(transform, o, scale[d], in[d], out);
            }
            if (mode.equals("nearest")) {
                long[] index = new long[out];
                for (int o = 0; o < out; o++) {
                    index[o] = Math.max(0, Math.min(in[d] - 1, nearest(source[o], nearestMode)));
                }
                t = Resample.nearest(t, d, index);
                continue;
            }
            t = Resample.linear(t, d, source); // clamped to the edges, as ONNX's reference
        }
        return out(t == x ? x.mul(1f) : t);
    }

    /** Whether axis d changes: an axis of its own size at scale 1 is mapped onto itself by every transformation. */
    private static boolean resized(int d, int[] in, long[] outShape, double[] scale) {
        return !(outShape[d] == in[d] && scale[d] == 1);
    }

    /**
     * Pad (opset 2's attributes, 11's inputs, 18's axes): constant (rows of the value), edge, reflect (mirrored about
     * the edge element, numpy's "reflect") and wrap. A negative pad removes elements. Edge, reflect and wrap are one
     * index_select per padded axis of the source index each output element takes.
     */
    private Value[] pad(Node n, Value[] a) {
        String mode = attrString(n, "mode", "constant");
        if (!Set.of("constant", "edge", "reflect", "wrap").contains(mode)) {
            throw new IllegalArgumentException("mode '" + mode + "'");
        }
        Tensor x = floats(arg(a, 0, n), n); // index_select, like Lanes' other ops here, is float32 only
        int rank = x.dim();
        long[] pads;
        float value;
        long[] axesGiven = null;
        if (opset < 11) {
            pads = attrInts(n, "pads");
            value = attrFloat(n, "value", 0f);
        } else {
            pads = knownInts(a, 1, n, "the pads");
            value = a.length > 2 && a[2] != null ? scalar(a[2], n, "constant_value") : 0f;
            axesGiven = a.length > 3 && a[3] != null ? knownInts(a, 3, n, "the axes") : null;
        }
        int[] axes = new int[axesGiven == null ? rank : axesGiven.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = axesGiven == null ? i : axis(axesGiven[i], rank, "axis");
        }
        if (pads == null || pads.length != 2 * axes.length) {
            throw new IllegalArgumentException("pads " + (pads == null ? "missing" : Arrays.toString(pads)) + " for " + axes.length + " axes (needs "
                    + 2 * axes.length + ": every begin, then every end)");
        }
        int[] in = x.shape();
        long[] before = new long[rank];
        long[] after = new long[rank];
        long[] outShape = new long[rank];
        for (int i = 0; i < axes.length; i++) {
            before[axes[i]] = pads[i];
            after[axes[i]] = pads[i + axes.length];
        }
        for (int d = 0; d < rank; d++) {
            outShape[d] = Math.addExact(Math.addExact(in[d], before[d]), after[d]);
            if (outShape[d] < 0 || outShape[d] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pads " + Arrays.toString(pads) + " make dim " + d + " of size " + in[d] + " " + outShape[d] + " long");
            }
            if (!mode.equals("constant") && in[d] == 0 && outShape[d] > 0) {
                throw new IllegalArgumentException(mode + " padding of an empty dim " + d);
            }
        }
        if (checkElements(outShape, n) == 0) {
            return out(emptyOf(outShape)); // no index tables sized by the other, non-empty axes
        }
        Tensor t = x;
        for (int d = 0; d < rank; d++) {
            if (before[d] == 0 && after[d] == 0) {
                continue;
            }
            int out = (int) outShape[d];
            if (mode.equals("constant")) {
                // removed elements first (a negative pad), then rows of the value on either side
                int start = (int) Math.max(0, -before[d]);
                int kept = (int) Math.max(0, in[d] - start - Math.max(0, -after[d]));
                Tensor middle = t.narrow(d, start, kept);
                List<Tensor> parts = new ArrayList<>(3);
                int[] edge = t.shape();
                if (before[d] > 0) {
                    edge[d] = (int) before[d];
                    parts.add(Tensor.full(edge.clone(), value));
                }
                parts.add(middle);
                if (after[d] > 0) {
                    edge[d] = (int) after[d];
                    parts.add(Tensor.full(edge.clone(), value));
                }
                t = parts.size() == 1 ? middle : Tensor.cat(parts, d);
                continue;
            }
            long size = in[d];
            long[] index = new long[out];
            for (int o = 0; o < out; o++) {
                long j = o - before[d];
                index[o] = switch (mode) {
                    case "edge" -> Math.max(0, Math.min(size - 1, j));
                    case "wrap" -> Math.floorMod(j, size);
                    default -> { // reflect: period 2 (size - 1), the edge element not repeated
                        long period = 2 * (size - 1);
                        long r = period == 0 ? 0 : Math.floorMod(j, period);
                        yield r < size ? r : period - r;
                    }
                };
            }
            t = t.indexSelect(d, Tensor.of(index, out));
        }
        return out(t == x ? x.mul(1f) : t.contiguous());
    }

    /**
     * Tile (opset 6 on: the repeats as an int64 input, one per dim), x.repeat's export: an expanded view copied once.
     * The result's size is checked with exact arithmetic before anything is copied.
     */
    private Value[] tile(Node n, Value[] a) {
        if (opset < 6) {
            throw new UnsupportedOperationException("Tile (opset " + opset + ": tiles and axis inputs; Lanes runs opset 6's repeats)");
        }
        Tensor x = arg(a, 0, n).tensor();
        long[] repeats = knownInts(a, 1, n, "the repeats");
        int[] in = x.shape();
        if (repeats.length != in.length) {
            throw new IllegalArgumentException("Tile repeats " + Arrays.toString(repeats) + " for a rank-" + in.length + " input " + Arrays.toString(in)
                    + " (needs one per dim)");
        }
        long[] outShape = new long[in.length];
        int[] times = new int[in.length];
        for (int d = 0; d < in.length; d++) {
            if (repeats[d] < 0 || repeats[d] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("Tile repeats " + Arrays.toString(repeats) + ": entry " + d + " is negative or too large");
            }
            times[d] = (int) repeats[d];
            outShape[d] = Math.multiplyExact(in[d], repeats[d]);
            if (outShape[d] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("Tile repeats " + Arrays.toString(repeats) + " make dim " + d + " of " + Arrays.toString(in) + " "
                        + outShape[d] + " long");
            }
        }
        checkElements(outShape, n);
        if (in.length == 0) {
            return out(x.mul(1f));
        }
        // each dim d viewed as [1, s_d], expanded to [r_d, s_d] and the pairs flattened: a view and one copy, which a
        // plan replays (Tensor.repeat's kernel has no plan step)
        int[] split = new int[2 * in.length];
        int[] wide = new int[2 * in.length];
        int[] shape = new int[in.length];
        for (int d = 0; d < in.length; d++) {
            split[2 * d] = 1;
            split[2 * d + 1] = in[d];
            wide[2 * d] = times[d];
            wide[2 * d + 1] = in[d];
            shape[d] = (int) outShape[d];
        }
        return out(x.reshape(split).expand(wide).contiguous().reshape(shape));
    }

    /**
     * DepthToSpace (mode DCR, ONNX's default, or CRD, which nn.PixelShuffle exports) and SpaceToDepth on [N, C, H, W]:
     * a reshape, a permute and a reshape (CRD is F.pixelShuffle itself), so a plan sees one copy.
     */
    private Value[] depthToSpace(Node n, Value[] a) {
        Tensor x = arg(a, 0, n).tensor();
        boolean toSpace = n.opType().equals("DepthToSpace");
        int b = attrInt(n, "blocksize", 0);
        if (x.dim() != 4) {
            throw new IllegalArgumentException(n.opType() + " of a rank-" + x.dim() + " input " + Arrays.toString(x.shape()) + " (needs [N, C, H, W])");
        }
        if (b <= 0) {
            throw new IllegalArgumentException(n.opType() + " blocksize " + b + " (must be positive)");
        }
        int[] s = x.shape();
        long bb = (long) b * b;
        if (toSpace) {
            String mode = attrString(n, "mode", "DCR");
            if (!mode.equals("DCR") && !mode.equals("CRD")) {
                throw new IllegalArgumentException("DepthToSpace mode '" + mode + "' (DCR or CRD)");
            }
            if (s[1] % bb != 0) {
                throw new IllegalArgumentException("DepthToSpace of " + Arrays.toString(s) + ": channels " + s[1] + " not divisible by blocksize^2 = " + bb);
            }
            checkElements(new long[] {s[0], s[1] / bb, (long) s[2] * b, (long) s[3] * b}, n);
            int c = (int) (s[1] / bb);
            if (mode.equals("CRD")) {
                return out(dev.lanes.nn.functional.F.pixelShuffle(x, b));
            }
            // DCR: channel (i b + j) C' + c holds block offset (i, j) of output channel c
            return out(x.reshape(s[0], b, b, c, s[2], s[3]).permute(0, 3, 4, 1, 5, 2).reshape(s[0], c, s[2] * b, s[3] * b));
        }
        if (s[2] % b != 0 || s[3] % b != 0) {
            throw new IllegalArgumentException("SpaceToDepth of " + Arrays.toString(s) + ": height and width not divisible by blocksize " + b);
        }
        long channels = Math.multiplyExact(s[1], bb);
        checkElements(new long[] {s[0], channels, s[2] / b, s[3] / b}, n);
        if (channels > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("SpaceToDepth of " + Arrays.toString(s) + " by " + b + " makes " + channels + " channels");
        }
        // DCR order, the inverse of DepthToSpace's default: channel (i b + j) C + c
        return out(x.reshape(s[0], s[1], s[2] / b, b, s[3] / b, b).permute(0, 3, 5, 1, 2, 4).reshape(s[0], (int) channels, s[2] / b, s[3] / b));
    }

    /**
     * An Einsum equation taken apart: each operand's subscripts and the output's, with an ellipsis replaced by one
     * private character per dim it covers (so every subscript is one char). Null if it has more than two operands or
     * is malformed; load refuses those, naming the equation.
     */
    record EinsumSpec(String[] inputs, String output, boolean ellipsis) {
        /** The chars standing for the dims an ellipsis covers (right-aligned, as numpy broadcasts them). */
        static final char ELLIPSIS_BASE = '\u0100';

        static EinsumSpec parse(String equation) {
            String eq = equation.replace(" ", "");
            int arrow = eq.indexOf("->");
            String lhs = arrow < 0 ? eq : eq.substring(0, arrow);
            String rhs = arrow < 0 ? null : eq.substring(arrow + 2);
            String[] ins = lhs.split(",", -1);
            if (ins.length < 1 || ins.length > 2 || (rhs != null && rhs.contains("->"))) {
                return null;
            }
            for (String t : ins) {
                if (!valid(t)) {
                    return null;
                }
            }
            if (rhs != null && !valid(rhs)) {
                return null;
            }
            boolean ellipsis = lhs.contains("...");
            if (rhs != null && rhs.contains("...") && !ellipsis) {
                return null;
            }
            return new EinsumSpec(ins, rhs, ellipsis);
        }

        private static boolean valid(String term) {
            String t = term.replace("...", "");
            if (term.length() - t.length() > 3) {
                return false; // two ellipses
            }
            for (int i = 0; i < t.length(); i++) {
                char ch = t.charAt(i);
                if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z')) {
                    return false;
                }
            }
            return true;
        }

        /** The term with its ellipsis (if any) replaced by {@code dims} private chars, the last dims' last. */
        static String expand(String term, int ellipsisDims) {
            if (!term.contains("...")) {
                return term;
            }
            StringBuilder e = new StringBuilder();
            for (int i = 0; i < ellipsisDims; i++) {
                e.append((char) (ELLIPSIS_BASE + i));
            }
            return term.replace("...", e.toString());
        }
    }

    /**
     * Einsum of one or two float operands (any equation of them: numpy's implicit output when there is no "->", an
     * ellipsis for broadcast-free batch dims) as Lanes ops a plan traces: a repeated subscript within an operand is its
     * diagonal (an index_select of the flattened pair), a subscript neither in the other operand nor in the output
     * is summed first, then the two operands are permuted and reshaped to [batch, rows, k] and [batch, k, cols] for one
     * bmm, and the result is reshaped and permuted into the output's order. Sizes of a subscript must agree.
     */
    private Value[] einsum(Node n, Value[] a) {
        String equation = attrString(n, "equation", "");
        EinsumSpec spec = EinsumSpec.parse(equation);
        if (spec == null || a.length != spec.inputs().length) {
            throw new IllegalArgumentException("Einsum equation '" + equation + "' for " + a.length + " inputs");
        }
        int operands = spec.inputs().length;
        Tensor[] t = new Tensor[operands];
        String[] sub = new String[operands];
        int ellipsisDims = -1;
        for (int i = 0; i < operands; i++) {
            t[i] = floats(arg(a, i, n), n);
            String term = spec.inputs()[i];
            int letters = term.replace("...", "").length();
            int dims = t[i].dim() - letters;
            if (dims < 0 || (dims > 0 && !term.contains("..."))) {
                throw new IllegalArgumentException("Einsum equation '" + equation + "': operand " + i + " of shape " + Arrays.toString(t[i].shape())
                        + " does not fit '" + term + "'");
            }
            if (term.contains("...")) {
                if (ellipsisDims >= 0 && ellipsisDims != dims) {
                    throw new IllegalArgumentException("Einsum equation '" + equation + "': the ellipsis covers " + ellipsisDims + " and " + dims
                            + " dims (Lanes does not broadcast them)");
                }
                ellipsisDims = dims;
            }
            sub[i] = EinsumSpec.expand(term, dims);
        }
        String output;
        if (spec.output() != null) {
            output = EinsumSpec.expand(spec.output(), Math.max(ellipsisDims, 0));
        } else {
            // numpy's implicit output: the ellipsis dims, then every subscript used once, alphabetically
            StringBuilder o = new StringBuilder();
            for (int i = 0; i < Math.max(ellipsisDims, 0); i++) {
                o.append((char) (EinsumSpec.ELLIPSIS_BASE + i));
            }
            String all = String.join("", sub);
            all.chars().filter(ch -> ch < EinsumSpec.ELLIPSIS_BASE && all.indexOf(ch) == all.lastIndexOf(ch)).sorted()
                    .forEach(ch -> o.append((char) ch));
            output = o.toString();
        }
        Map<Character, Integer> size = new HashMap<>();
        for (int i = 0; i < operands; i++) {
            for (int d = 0; d < sub[i].length(); d++) {
                int s = t[i].size(d);
                Integer before = size.putIfAbsent(sub[i].charAt(d), s);
                if (before != null && before != s) {
                    throw new IllegalArgumentException("Einsum equation '" + equation + "': subscript '" + shown(sub[i].charAt(d)) + "' has sizes "
                            + before + " and " + s);
                }
            }
        }
        for (int i = 0; i < output.length(); i++) {
            char ch = output.charAt(i);
            if (!size.containsKey(ch) || output.indexOf(ch) != i) {
                throw new IllegalArgumentException("Einsum equation '" + equation + "': output subscript '" + shown(ch) + "' is "
                        + (size.containsKey(ch) ? "repeated" : "in no input"));
            }
        }
        for (int i = 0; i < operands; i++) {
            t[i] = diagonal(t[i], sub[i]);
            sub[i] = dedupe(sub[i]);
            // subscripts in neither the other operand nor the output are summed now
            String other = operands == 2 ? sub[1 - i] : "";
            for (int d = sub[i].length() - 1; d >= 0; d--) {
                char ch = sub[i].charAt(d);
                if (output.indexOf(ch) < 0 && other.indexOf(ch) < 0) {
                    t[i] = t[i].sum(d);
                    sub[i] = sub[i].substring(0, d) + sub[i].substring(d + 1);
                }
            }
        }
        Tensor result;
        String have;
        if (operands == 1) {
            result = t[0];
            have = sub[0];
        } else {
            StringBuilder batch = new StringBuilder();
            StringBuilder contracted = new StringBuilder();
            StringBuilder left = new StringBuilder();
            StringBuilder right = new StringBuilder();
            for (char ch : sub[0].toCharArray()) {
                boolean shared = sub[1].indexOf(ch) >= 0;
                (shared ? output.indexOf(ch) >= 0 ? batch : contracted : left).append(ch);
            }
            for (char ch : sub[1].toCharArray()) {
                if (sub[0].indexOf(ch) < 0) {
                    right.append(ch);
                }
            }
            int nb = product(batch, size);
            int nl = product(left, size);
            int nk = product(contracted, size);
            int nr = product(right, size);
            Tensor lhs = t[0].permute(order(sub[0], batch + "" + left + contracted)).reshape(nb, nl, nk);
            Tensor rhs = t[1].permute(order(sub[1], batch + "" + contracted + right)).reshape(nb, nk, nr);
            have = batch + "" + left + right;
            int[] shape = new int[have.length()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = size.get(have.charAt(i));
            }
            result = lhs.bmm(rhs).reshape(shape);
        }
        int[] perm = order(have, output);
        boolean identity = true;
        for (int i = 0; i < perm.length; i++) {
            identity &= perm[i] == i;
        }
        Tensor y = identity ? result : result.permute(perm).contiguous();
        return out(y == arg(a, 0, n).tensor() ? y.mul(1f) : y);
    }

    /** The dims of {@code from}'s subscripts in the order of {@code to} (both the same set). */
    private static int[] order(String from, String to) {
        int[] p = new int[to.length()];
        for (int i = 0; i < p.length; i++) {
            p[i] = from.indexOf(to.charAt(i));
        }
        return p;
    }

    /** The product of the subscripts' sizes, refused past an int (a bmm dim). */
    private static int product(CharSequence subscripts, Map<Character, Integer> size) {
        long p = 1;
        for (int i = 0; i < subscripts.length(); i++) {
            p = Math.multiplyExact(p, size.get(subscripts.charAt(i)));
        }
        if (p > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Einsum: dims " + subscripts + " make " + p + " elements");
        }
        return (int) p;
    }

    private static String shown(char ch) {
        return ch >= EinsumSpec.ELLIPSIS_BASE ? "..." : String.valueOf(ch);
    }

    /** The subscripts with each repeat removed (the first occurrence kept), matching {@link #diagonal}. */
    private static String dedupe(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) {
            if (b.indexOf(String.valueOf(ch)) < 0) {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /**
     * Each subscript repeated within one operand ("ii") taken on its diagonal: the later dim moved next to the first,
     * the pair flattened, and every (size + 1)-th element index_selected; the diagonal stays at the first one's place.
     */
    private static Tensor diagonal(Tensor x, String s) {
        Tensor t = x;
        StringBuilder cur = new StringBuilder(s);
        for (int d = 0; d < cur.length(); d++) {
            int e;
            while ((e = cur.indexOf(String.valueOf(cur.charAt(d)), d + 1)) > 0) {
                int rank = t.dim();
                int[] perm = new int[rank];
                int k = 0;
                for (int i = 0; i < rank; i++) {
                    if (i != e) {
                        perm[k++] = i;
                    }
                    if (i == d) {
                        perm[k++] = e;
                    }
                }
                int m = t.size(d);
                t = t.permute(perm);
                int[] shape = new int[rank - 1];
                for (int i = 0, j = 0; i < rank; i++) {
                    if (i == d + 1) {
                        continue;
                    }
                    shape[j++] = i == d ? m * m : t.size(i);
                }
                long[] index = new long[m];
                for (int i = 0; i < m; i++) {
                    index[i] = (long) i * (m + 1);
                }
                t = t.reshape(shape).indexSelect(d, Tensor.of(index, m));
                cur.deleteCharAt(e);
            }
        }
        return t;
    }

    /** The input coordinate an output index {@code o} of a resized axis reads, by ONNX's coordinate_transformation_mode. */
    private static double sourceCoordinate(String transform, int o, double scale, int in, int out) {
        return switch (transform) {
            case "half_pixel" -> (o + 0.5) / scale - 0.5;
            case "half_pixel_symmetric" -> {
                double adjustment = out / (scale * in);
                yield in / 2.0 * (1 - adjustment) + (o + 0.5) / scale - 0.5;
            }
            case "pytorch_half_pixel" -> out > 1 ? (o + 0.5) / scale - 0.5 : 0;
            // the resized length as scale times the input's (not floored), as ONNX's reference has it
            case "align_corners" -> out == 1 ? 0 : o * (in - 1.0) / (in * scale - 1.0);
            case "tf_half_pixel_for_nn" -> (o + 0.5) / scale;
            default -> o / scale; // asymmetric
        };
    }

    /** The nearest index to {@code c} by ONNX's nearest_mode. */
    private static long nearest(double c, String mode) {
        return switch (mode) {
            case "round_prefer_ceil" -> (long) Math.floor(c + 0.5);
            case "floor" -> (long) Math.floor(c);
            case "ceil" -> (long) Math.ceil(c);
            default -> (long) Math.ceil(c - 0.5); // round_prefer_floor: a half rounds down
        };
    }

    /**
     * Refuses a result of {@code shape} over Lanes' int indexing or the read limit, before anything is allocated; returns
     * its element count, so an empty result can skip its work.
     */
    private static long checkElements(long[] shape, Node n) {
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        if (count > Integer.MAX_VALUE - 8 || count > dev.lanes.io.ReadLimits.maxBytes() / 4) {
            throw new IllegalArgumentException(n.opType() + " to " + Arrays.toString(shape) + " makes " + count + " elements, over the read limit of "
                    + dev.lanes.io.ReadLimits.maxBytes() + " bytes (-Dlanes.io.maxBytes)");
        }
        return count;
    }

    /** An empty float32 result of {@code shape} (dims already bounded to ints): no per-axis tables sized by its other dims. */
    private static Tensor emptyOf(long[] shape) {
        return Tensor.zeros(Arrays.stream(shape).mapToInt(Math::toIntExact).toArray());
    }

    /** The floats of input v, known at trace time (a constant), or read eagerly (a plan's trace refuses that read). */
    private static float[] knownFloats(Value v, Node n, String what) {
        if (v.data != null && v.data.isFloat()) {
            return v.data.floats();
        }
        if (v.ints != null) {
            throw new IllegalArgumentException(what + " must be float, got integers");
        }
        Tensor t = v.tensor();
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(what + " must be float, got " + t.dtype());
        }
        return t.contiguous().toFloatArray();
    }

    /**
     * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over [N, C, d1, ...] (the class dim moved last and flattened
     * to Lanes' [rows, C]; "none" reshaped back), with weights, ignore_index and the reductions; SoftmaxCrossEntropyLoss's
     * optional second output is the log-softmax.
     */
    private Value[] loss(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        Tensor target = arg(a, 1, n).tensor();
        if (target.dtype() != DType.INT64) {
            throw new UnsupportedOperationException(n.opType() + " with " + target.dtype() + " targets");
        }
        Tensor weight = a.length > 2 && a[2] != null ? floats(a[2], n) : null;
        String reduction = attrString(n, "reduction", "mean");
        Attribute ignoreAttr = n.attributes().get("ignore_index");
        int ignore = ignoreAttr == null ? Integer.MIN_VALUE : Math.toIntExact(ignoreAttr.i());
        if (x.dim() < 2) {
            throw new IllegalArgumentException(n.opType() + " of a " + x.dim() + "-d input (needs [N, C, ...])");
        }
        int[] s = x.shape();
        int c = s[1];
        Tensor rows = x;
        Tensor flatTarget = target;
        if (x.dim() > 2) {
            int[] perm = new int[x.dim()];
            perm[0] = 0;
            for (int i = 1; i < perm.length - 1; i++) {
                perm[i] = i + 1;
            }
            perm[perm.length - 1] = 1;
            rows = x.permute(perm).reshape(-1, c);
            flatTarget = target.reshape(-1);
        }
        boolean softmax = n.opType().equals("SoftmaxCrossEntropyLoss");
        Tensor l = softmax ? dev.lanes.Losses.crossEntropy(rows, flatTarget, weight, ignore, 0, reduction)
                : dev.lanes.Losses.nllLoss(rows, flatTarget, weight, ignore, reduction);
        if (reduction.equals("none") && x.dim() > 2) {
            l = l.reshape(target.shape());
        }
        if (softmax && n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) {
            return new Value[] {one(l), one(x.logSoftmax(1))};
        }
        return out(l);
    }

    /** Range(start, limit, delta): integers stay known at trace time (torch.arange(seq_len) of a dynamic export). */
    private Value[] range(Node n, Value[] a) {
        Value start = arg(a, 0, n);
        Value limit = arg(a, 1, n);
        Value delta = arg(a, 2, n);
        if (start.ints != null && limit.ints != null && delta.ints != null) {
            long s0 = start.ints[0];
            long d = delta.ints[0];
            if (start.ints.length != 1 || limit.ints.length != 1 || delta.ints.length != 1 || d == 0) {
                throw new IllegalArgumentException("start, limit and delta must be scalars and delta non-zero");
            }
            long lim = limit.ints[0];
            // exact: a count through double was off by one near 2^53 and beyond; a span past a long is too many anyway
            long count;
            if (d > 0 ? lim <= s0 : lim >= s0) {
                count = 0;
            } else {
                try {
                    count = Math.ceilDiv(Math.subtractExact(lim, s0), d); // same signs: positive, or MIN_VALUE / -1 wrapped
                } catch (ArithmeticException e) {
                    count = Long.MAX_VALUE;
                }
                count = count < 0 ? Long.MAX_VALUE : count;
            }
            if (count > MAX_FOLDED) {
                throw new UnsupportedOperationException("a Range from " + s0 + " to " + lim + " by " + d + " (Lanes folds at most " + MAX_FOLDED + " integers)");
            }
            long[] v = new long[(int) count];
            for (int i = 0; i < v.length; i++) {
                v[i] = s0 + i * d;
            }
            return new Value[] {Value.ints(v, new long[] {v.length})};
        }
        float s0 = scalar(start, n, "start");
        float lim = scalar(limit, n, "limit");
        float d = scalar(delta, n, "delta");
        if (d == 0 || !Float.isFinite(s0) || !Float.isFinite(lim) || !Float.isFinite(d)) {
            throw new IllegalArgumentException("Range(" + s0 + ", " + lim + ", " + d + ") has no finite length");
        }
        double count = Math.max(0, Math.ceil(((double) lim - s0) / d));
        if (count > dev.lanes.io.ReadLimits.maxBytes() / 4 || count > OnnxFormat.MAX_ELEMENTS) {
            throw new IllegalArgumentException("a Range of " + (long) count + " elements is over the read limit");
        }
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = s0 + i * d;
        }
        return out(Tensor.of(v, v.length));
    }

    /** A scalar input's value: known at trace time, or read eagerly (a plan's trace refuses that read). */
    private static float scalar(Value v, Node n, String what) {
        float k = v.knownFloat();
        if (!Float.isNaN(k)) {
            return k;
        }
        Tensor t = v.tensor();
        if (t.numel() != 1) {
            throw new IllegalArgumentException(what + " must be a scalar, has shape " + Arrays.toString(t.shape()));
        }
        return t.toType(DType.FLOAT32).item();
    }

    private static Tensor bools(Value v, Node n) {
        Tensor t = v.tensor();
        if (t.dtype() != DType.BOOL) {
            throw new UnsupportedOperationException(n.opType() + " of " + t.dtype() + " tensors (bool only)");
        }
        return t;
    }

    /** Slice (opset 10+: starts, ends, axes, steps as inputs; opset < 10: attributes); negative steps only for integers known at trace time. */
    private Value[] slice(Node n, Value[] a) {
        Value v = arg(a, 0, n);
        int[] s = v.shape();
        long[] starts;
        long[] ends;
        long[] axes = null;
        long[] steps = null;
        if (opset < 10) {
            starts = attrInts(n, "starts");
            ends = attrInts(n, "ends");
            axes = attrInts(n, "axes");
        } else {
            starts = knownInts(a, 1, n, "the starts");
            ends = knownInts(a, 2, n, "the ends");
            if (a.length > 3 && a[3] != null) {
                axes = knownInts(a, 3, n, "the axes");
            }
            if (a.length > 4 && a[4] != null) {
                steps = knownInts(a, 4, n, "the steps");
            }
        }
        if (starts == null || ends == null || starts.length != ends.length || axes != null && axes.length != starts.length
                || steps != null && steps.length != starts.length) {
            throw new IllegalArgumentException("starts, ends, axes and steps must have one entry per sliced axis");
        }
        if (v.ints != null && v.tensor == null) {
            // shape arithmetic (a Shape's dims sliced; PyTorch's F.pad export reverses its pads with step -1): stays known
            long[][] picks = new long[s.length][];
            long[][] slices = new long[s.length][]; // per axis: start, end, step
            for (int i = 0; i < starts.length; i++) {
                int ax = axis(axes == null ? i : axes[i], s.length, "axis");
                if (slices[ax] != null) {
                    throw new IllegalArgumentException("axis " + ax + " sliced twice");
                }
                slices[ax] = new long[] {starts[i], ends[i], steps == null ? 1 : steps[i]};
            }
            long[] shape = new long[s.length];
            boolean empty = false;
            for (int d = 0; d < s.length; d++) {
                if (slices[d] == null) {
                    slices[d] = new long[] {0, s[d], 1};
                }
                shape[d] = sliceCount(slices[d][0], slices[d][1], slices[d][2], s[d]);
                empty |= shape[d] == 0;
            }
            if (empty) { // no index lists: an axis of a huge dim beside an empty one would need billions of them
                return new Value[] {Value.known(new long[0], shape, v.bool)};
            }
            int count = 1;
            for (int d = 0; d < s.length; d++) {
                picks[d] = sliceIndices(slices[d][0], slices[d][1], slices[d][2], s[d]);
                count *= picks[d].length; // at most the input's count: every axis is non-empty, each pick at most its dim
            }
            long[] r = new long[count];
            for (int k = 0; k < count; k++) {
                long at = 0;
                int rest = k;
                long stride = 1;
                for (int d = s.length - 1; d >= 0; d--) {
                    at += picks[d][rest % picks[d].length] * stride;
                    rest /= picks[d].length;
                    stride *= s[d];
                }
                r[k] = v.ints[(int) at];
            }
            return new Value[] {Value.known(r, shape, v.bool)};
        }
        Tensor t = v.tensor();
        boolean[] seen = new boolean[s.length];
        for (int i = 0; i < starts.length; i++) {
            int ax = axis(axes == null ? i : axes[i], s.length, "axis");
            if (seen[ax]) {
                throw new IllegalArgumentException("axis " + ax + " sliced twice");
            }
            seen[ax] = true;
            long step = steps == null ? 1 : steps[i];
            if (step == 0) {
                throw new IllegalArgumentException("Slice with step 0");
            }
            if (step < 0) { // backwards (torch.flip's export: starts -1, ends INT64_MIN, steps -1): the spec's indices, gathered
                if (t.dtype() != DType.FLOAT32) {
                    throw new UnsupportedOperationException("Slice with step " + step + " of a " + t.dtype() + " tensor known only at run time");
                }
                long[] picked = sliceIndices(starts[i], ends[i], step, s[ax]);
                t = t.indexSelect(ax, Tensor.of(picked, picked.length));
                continue;
            }
            long st = clampSliceIndex(starts[i], s[ax]);
            long en = clampSliceIndex(ends[i], s[ax]);
            t = t.slice(ax, (int) st, (int) Math.max(st, en), (int) Math.min(step, Integer.MAX_VALUE));
        }
        return out(t.contiguous());
    }

    /**
     * The indices a Slice of one axis takes, in order: for a positive step from the start (clamped to [0, dim]) up to
     * the end, for a negative one from the start clamped to [0, dim - 1] down to the end clamped to [-1, dim - 1] (ONNX's
     * rules, negative starts and ends counted from the end first).
     */
    private static long[] sliceIndices(long start, long end, long step, long dim) {
        long first = sliceFirst(start, step, dim);
        long count = sliceCount(start, end, step, dim);
        long[] picked = new long[Math.toIntExact(count)]; // at most dim, which the caller bounds
        for (int k = 0; k < picked.length; k++) {
            picked[k] = first + k * step; // between first and the end: no overflow, whatever the step
        }
        return picked;
    }

    /** The first index {@link #sliceIndices} takes (meaningful where {@link #sliceCount} is positive). */
    private static long sliceFirst(long start, long step, long dim) {
        return step > 0 ? clampSliceIndex(start, dim) : Math.max(0, Math.min(dim - 1, start < 0 ? start + dim : start));
    }

    /**
     * How many indices {@link #sliceIndices} takes: counted by division, so a step near Long.MAX_VALUE or MIN_VALUE
     * takes the first index alone instead of wrapping around (it gave later, wrong indices).
     */
    private static long sliceCount(long start, long end, long step, long dim) {
        if (step == 0) {
            throw new IllegalArgumentException("Slice with step 0");
        }
        if (step > 0) {
            long st = clampSliceIndex(start, dim);
            long en = clampSliceIndex(end, dim);
            return en <= st ? 0 : 1 + (en - st - 1) / step;
        }
        if (dim <= 0) {
            return 0;
        }
        long st = sliceFirst(start, step, dim);
        long en = Math.max(-1, Math.min(dim - 1, end < 0 ? end + dim : end));
        long per = step == Long.MIN_VALUE ? Long.MAX_VALUE : -step;
        return st <= en ? 0 : 1 + (st - en - 1) / per;
    }

    /** A Slice start or end counted from the end when negative, clamped to [0, dim] (ONNX's rule for positive steps). */
    private static long clampSliceIndex(long index, long dim) {
        return index < 0 ? Math.max(0, index + dim) : Math.min(index, dim);
    }

    private static Value[] intsOr(Value[] a, Node n, java.util.function.LongUnaryOperator onInts, java.util.function.UnaryOperator<Tensor> onTensor) {
        Value v = arg(a, 0, n);
        if (v.ints != null && v.tensor == null) {
            long[] r = new long[v.ints.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = onInts.applyAsLong(v.ints[i]);
            }
            return new Value[] {Value.ints(r, v.intsShape)};
        }
        return out(onTensor.apply(v.tensor()));
    }

    /**
     * A comparison (0 / 1) or a Where over integers known at trace time, folded with numpy broadcasting, or null when an
     * input is not such a constant. PyTorch's exports build shapes this way: x.expand(3, -1) at opset 13 is Shape ->
     * ConstantOfShape -> Mul(-1) -> Equal -> Where -> Expand, all on int64 (refused before: "Where of INT64 tensors").
     */
    private Value foldIntegers(Node n, Value[] a) {
        int inputs = n.opType().equals("Where") ? 3 : 2;
        long[] shape = new long[0];
        for (int i = 0; i < inputs; i++) {
            Value v = arg(a, i, n);
            if (v.ints == null) { // known values fold even once an earlier op made their tensor (a bool mask used twice)
                return null;
            }
            shape = broadcast(shape, v.intsShape);
        }
        long[] r = new long[foldedCount(n, shape)];
        Value x = arg(a, 0, n);
        Value y = arg(a, 1, n);
        for (int i = 0; i < r.length; i++) {
            long p = x.ints[broadcastIndex(i, shape, x.intsShape)];
            long q = y.ints[broadcastIndex(i, shape, y.intsShape)];
            r[i] = switch (n.opType()) {
                case "Equal" -> p == q ? 1 : 0;
                case "Greater" -> p > q ? 1 : 0;
                case "GreaterOrEqual" -> p >= q ? 1 : 0;
                case "Less" -> p < q ? 1 : 0;
                default -> p != 0 ? q : arg(a, 2, n).ints[broadcastIndex(i, shape, arg(a, 2, n).intsShape)]; // Where(cond, x, y)
            };
        }
        // a comparison is bool; a Where has its branches' type
        return Value.known(r, shape, inputs == 2 || y.bool && arg(a, 2, n).bool);
    }

    /**
     * Not, And, Or or Xor of bools known at trace time (bool initializers and Constants, folded comparisons), folded with
     * numpy broadcasting, or null when an input is not such a value: they were int64 tensors here, which the bool ops
     * refused.
     */
    private Value foldBools(Node n, Value[] a) {
        int inputs = n.opType().equals("Not") ? 1 : 2;
        long[] shape = new long[0];
        for (int i = 0; i < inputs; i++) {
            Value v = arg(a, i, n);
            if (v.ints == null || !v.bool) {
                return null;
            }
            shape = broadcast(shape, v.intsShape);
        }
        long[] r = new long[foldedCount(n, shape)];
        Value x = arg(a, 0, n);
        for (int i = 0; i < r.length; i++) {
            boolean p = x.ints[broadcastIndex(i, shape, x.intsShape)] != 0;
            boolean q = inputs == 2 && arg(a, 1, n).ints[broadcastIndex(i, shape, arg(a, 1, n).intsShape)] != 0;
            r[i] = switch (n.opType()) {
                case "Not" -> p ? 0 : 1;
                case "And" -> p && q ? 1 : 0;
                case "Or" -> p || q ? 1 : 0;
                default -> p != q ? 1 : 0;
            };
        }
        return Value.known(r, shape, true);
    }

    /** The element count of a folded integer result of {@code shape}, refused past {@link #MAX_FOLDED}. */
    private static int foldedCount(Node n, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        if (count > MAX_FOLDED) {
            throw new UnsupportedOperationException("integer " + n.opType() + " of " + count + " elements (Lanes folds at most " + MAX_FOLDED + ")");
        }
        return (int) count;
    }

    private Value[] binary(Node n, Value[] a) {
        if (opset < 7 && n.attributes().containsKey("axis")) {
            // opset 6's broadcast = 1 with an axis aligns y at that axis, not at the end: numpy's rule would give other sums
            throw new UnsupportedOperationException(n.opType() + " with opset " + opset + "'s axis attribute (legacy broadcasting)");
        }
        Value x = arg(a, 0, n);
        Value y = arg(a, 1, n);
        if (x.ints != null && y.ints != null && x.tensor == null && y.tensor == null) {
            // shape arithmetic on known integers (e.g. a batch size times a channel count): folded, numpy-broadcast
            long[] shape = broadcast(x.intsShape, y.intsShape);
            long[] r = new long[foldedCount(n, shape)];
            for (int i = 0; i < r.length; i++) {
                long p = x.ints[broadcastIndex(i, shape, x.intsShape)];
                long q = y.ints[broadcastIndex(i, shape, y.intsShape)];
                r[i] = switch (n.opType()) {
                    case "Add" -> Math.addExact(p, q);
                    case "Sub" -> Math.subtractExact(p, q);
                    case "Mul" -> Math.multiplyExact(p, q);
                    default -> {
                        if (q == 0) {
                            throw new IllegalArgumentException("integer division by zero");
                        }
                        yield p / q; // integer Div truncates toward zero, like ONNX Runtime's
                    }
                };
            }
            return new Value[] {Value.ints(r, shape)};
        }
        Tensor p = floats(x, n);
        Tensor q = floats(y, n);
        return out(switch (n.opType()) {
            case "Add" -> p.add(q);
            case "Sub" -> p.sub(q);
            case "Mul" -> p.mul(q);
            default -> p.div(q);
        });
    }

    /** Dropout for inference: the identity, its mask all true; training mode with a ratio above 0 is refused (random). */
    private Value[] dropout(Node n, Value[] a) {
        Value x = arg(a, 0, n);
        boolean training = attrInt(n, "is_test", 0) == 0 && opset < 7; // opsets 1-6: training mode unless is_test says otherwise
        if (a.length > 2 && a[2] != null) {
            float t = a[2].knownFloat();
            training = Float.isNaN(t) ? a[2].tensor().toType(DType.FLOAT32).item() != 0 : t != 0;
        }
        float ratio = a.length > 1 && a[1] != null ? a[1].knownFloat() : attrFloat(n, "ratio", 0.5f);
        if (training && !(ratio == 0f)) {
            throw new UnsupportedOperationException("Dropout in training mode (random masks)");
        }
        if (n.outputs().size() < 2 || n.outputs().get(1).isEmpty()) {
            return new Value[] {x};
        }
        int[] shape = x.shape();
        boolean[] ones = new boolean[Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, Math::multiplyExact))];
        Arrays.fill(ones, true);
        return new Value[] {x, one(Tensor.of(ones, shape.length == 0 ? new int[] {1} : shape))};
    }

    /** numpy broadcasting of two shapes. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long p = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
            long q = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
            if (p != q && p != 1 && q != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = p == 1 ? q : p;
        }
        return out;
    }

    /** The flat index into a value of {@code shape} (broadcast to {@code out}) of element {@code i} of {@code out}. */
    static int broadcastIndex(int i, long[] out, long[] shape) {
        long index = 0;
        long stride = 1;
        long rest = i;
        for (int d = out.length - 1; d >= 0; d--) {
            long coord = rest % out[d];
            rest /= out[d];
            int sd = d - (out.length - shape.length);
            if (sd >= 0) {
                if (shape[sd] != 1) {
                    index += coord * stride;
                }
                stride *= shape[sd];
            }
        }
        return (int) index;
    }

    private Value[] gemm(Node n, Value[] a) {
        Tensor x = arg(a, 0, n).tensor();
        Tensor w = arg(a, 1, n).tensor();
        if (x.dim() != 2 || w.dim() != 2) {
            throw new IllegalArgumentException("Gemm of " + Arrays.toString(x.shape()) + " and " + Arrays.toString(w.shape()) + ": both must be 2-d");
        }
        float alpha = attrFloat(n, "alpha", 1f);
        float beta = attrFloat(n, "beta", 1f);
        Tensor ax = attrInt(n, "transA", 0) != 0 ? x.t() : x;
        Tensor bw = attrInt(n, "transB", 0) != 0 ? w.t() : w;
        Tensor c = a.length > 2 && a[2] != null ? a[2].tensor() : null;
        if (c == null) {
            Tensor p = ax.mm(bw);
            return out(alpha == 1f ? p : p.mul(alpha));
        }
        // the Linear pattern: addmm, which plans fuse with the bias (and a following activation) into the GEMM
        return out(Tensor.addmm(c, ax, bw, beta, alpha));
    }

    private static int[] pair(long[] v, int dflt, String what) {
        if (v == null) {
            return new int[] {dflt, dflt};
        }
        if (v.length != 2) {
            throw new UnsupportedOperationException(what + " " + Arrays.toString(v) + ": Lanes runs 2-d convolutions and pools");
        }
        return new int[] {Math.toIntExact(v[0]), Math.toIntExact(v[1])};
    }

    /**
     * ONNX pads [top, left, bottom, right], or auto_pad's (SAME_UPPER puts an odd total's extra row and column at the
     * end, SAME_LOWER at the start).
     */
    private static int[] pads(Node n, int[] kernel, int[] stride, int[] dilation, int[] inHW) {
        String auto = attrString(n, "auto_pad", "NOTSET");
        if (auto.equals("VALID")) {
            return new int[4];
        }
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            int[] p = new int[4];
            for (int i = 0; i < 2; i++) {
                long out = ((long) inHW[i] + stride[i] - 1) / stride[i];
                long total = Math.max(0, (out - 1) * stride[i] + (long) dilation[i] * (kernel[i] - 1) + 1 - inHW[i]);
                long before = auto.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                p[i] = Math.toIntExact(before);
                p[i + 2] = Math.toIntExact(total - before);
            }
            return p;
        }
        if (!auto.equals("NOTSET")) {
            throw new IllegalArgumentException("auto_pad '" + auto + "'");
        }
        long[] pads = attrInts(n, "pads");
        if (pads == null) {
            return new int[4];
        }
        if (pads.length != 4) {
            throw new UnsupportedOperationException("pads " + Arrays.toString(pads) + ": Lanes runs 2-d convolutions and pools");
        }
        int[] p = new int[4];
        for (int i = 0; i < 4; i++) {
            if (pads[i] < 0 || pads[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pads " + Arrays.toString(pads) + " has a negative or huge entry");
            }
            p[i] = (int) pads[i];
        }
        return p;
    }

    /**
     * {@code x [N, C, H, W]} with rows and columns of {@code fill} around it ({@code pads}: top, left, bottom, right),
     * its size checked before anything is allocated.
     */
    private static Tensor padded(Tensor x, int[] pads, float fill) {
        int[] s = x.shape();
        long h = (long) s[2] + pads[0] + pads[2];
        long w = (long) s[3] + pads[1] + pads[3];
        long count = Math.multiplyExact(Math.multiplyExact((long) s[0], s[1]), Math.multiplyExact(h, w));
        if (count > Integer.MAX_VALUE - 8 || count > dev.lanes.io.ReadLimits.maxBytes() / 4) {
            throw new IllegalArgumentException("padding " + Arrays.toString(s) + " by " + Arrays.toString(pads) + " makes " + count
                    + " elements, over the read limit of " + dev.lanes.io.ReadLimits.maxBytes() + " bytes (-Dlanes.io.maxBytes)");
        }
        Tensor t = x;
        for (int d = 2; d < 4; d++) {
            int before = pads[d - 2];
            int after = pads[d];
            if (before == 0 && after == 0) {
                continue;
            }
            int[] edge = t.shape();
            List<Tensor> parts = new ArrayList<>(3);
            if (before > 0) {
                edge[d] = before;
                parts.add(Tensor.full(edge.clone(), fill));
            }
            parts.add(t);
            if (after > 0) {
                edge[d] = after;
                parts.add(Tensor.full(edge.clone(), fill));
            }
            t = Tensor.cat(parts, d);
        }
        return t;
    }

    /**
     * Conv, ConvTranspose and the pools: 2-d as they are; 1-d ({@code [N, C, L]}, weights {@code [O, C, k]}) as 2-d of
     * height 1, with their spatial attributes lifted by {@link #asTwoD}.
     */
    private Value[] oneOrTwoD(Node n, Value[] a) {
        Value[] args = a;
        Node node = n;
        boolean oneD = arg(a, 0, n).shape().length == 3 && (n.opType().endsWith("Pool") || arg(a, 1, n).shape().length == 3);
        if (oneD) {
            args = a.clone();
            args[0] = one(arg(a, 0, n).tensor().unsqueeze(2));
            if (!n.opType().endsWith("Pool")) {
                args[1] = one(arg(a, 1, n).tensor().unsqueeze(2));
            }
            node = asTwoD(n);
        }
        Value[] r = switch (n.opType()) {
            case "Conv" -> conv(node, args);
            case "ConvTranspose" -> convTranspose(node, args);
            default -> pool(node, args);
        };
        return oneD ? out(r[0].tensor().squeeze(2)) : r;
    }

    /**
     * A 1-d Conv, ConvTranspose or pool's node as the 2-d one of height 1: kernel, strides and dilations with a leading
     * 1, output_padding with a leading 0, pads with none above and below, output_shape of height 1.
     */
    private static Node asTwoD(Node n) {
        Map<String, Attribute> lifted = new HashMap<>(n.attributes());
        for (Attribute at : n.attributes().values()) {
            long[] v = at.ints();
            if (v == null || !Set.of("kernel_shape", "strides", "dilations", "output_padding", "pads", "output_shape").contains(at.name())) {
                continue;
            }
            long[] twoD = switch (at.name()) {
                case "pads" -> v.length == 2 ? new long[] {0, v[0], 0, v[1]} : null;
                case "output_shape" -> v.length == 1 ? new long[] {1, v[0]} : v.length == 3 ? new long[] {v[0], v[1], 1, v[2]} : null;
                case "output_padding" -> v.length == 1 ? new long[] {0, v[0]} : null;
                default -> v.length == 1 ? new long[] {1, v[0]} : null;
            };
            if (twoD == null) {
                throw new IllegalArgumentException(at.name() + " " + Arrays.toString(v) + " for a 1-d input");
            }
            lifted.put(at.name(), new Attribute(at.name(), at.type(), at.f(), at.i(), at.s(), at.t(), at.floats(), twoD, at.strings()));
        }
        return new Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), lifted);
    }

    private Value[] conv(Node n, Value[] a) {
        Tensor x = arg(a, 0, n).tensor();
        Tensor w = arg(a, 1, n).tensor();
        if (x.dim() != 4 || w.dim() != 4) {
            throw new UnsupportedOperationException("Conv of " + Arrays.toString(x.shape()) + " with weights " + Arrays.toString(w.shape())
                    + ": Lanes runs 1-d and 2-d convolutions (3-d or 4-d input and weight)");
        }
        Tensor b = a.length > 2 && a[2] != null ? a[2].tensor() : null;
        int[] kernel = {w.shape()[2], w.shape()[3]};
        int[] stride = pair(attrInts(n, "strides"), 1, "strides");
        int[] dilation = pair(attrInts(n, "dilations"), 1, "dilations");
        int[] pad = pads(n, kernel, stride, dilation, new int[] {x.shape()[2], x.shape()[3]}); // asymmetric pads too
        return out(Tensor.conv2d(x, w, b, stride, pad, dilation, attrInt(n, "group", 1)));
    }

    /**
     * ConvTranspose (2-d): Lanes' conv_transpose2d, with the output size from pads and output_padding, or from
     * output_shape or auto_pad SAME_* (total padding then split as the ONNX spec says, the odd row at the end for
     * SAME_UPPER, floor halves as ONNX's reference); a negative start or end padding (an output over the natural size)
     * gives rows and columns of the bias alone before or after the result (padded, then the bias added: the sums and
     * the bias in the fused epilogue's order).
     */
    private Value[] convTranspose(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        Tensor w = floats(arg(a, 1, n), n);
        if (x.dim() != 4 || w.dim() != 4) {
            throw new UnsupportedOperationException("ConvTranspose of " + Arrays.toString(x.shape()) + " with weights " + Arrays.toString(w.shape())
                    + ": Lanes runs 1-d and 2-d transposed convolutions (3-d or 4-d input and weight)");
        }
        Tensor b = a.length > 2 && a[2] != null ? floats(a[2], n) : null;
        int[] kernel = {w.shape()[2], w.shape()[3]};
        long[] kernelShape = attrInts(n, "kernel_shape");
        if (kernelShape != null && (kernelShape.length != 2 || kernelShape[0] != kernel[0] || kernelShape[1] != kernel[1])) {
            throw new IllegalArgumentException("kernel_shape " + Arrays.toString(kernelShape) + " does not match the weights " + Arrays.toString(w.shape()));
        }
        int[] stride = pair(attrInts(n, "strides"), 1, "strides");
        int[] dilation = pair(attrInts(n, "dilations"), 1, "dilations");
        int[] outputPadding = pair(attrInts(n, "output_padding"), 0, "output_padding");
        int group = attrInt(n, "group", 1);
        long[] outputShape = attrInts(n, "output_shape");
        String auto = attrString(n, "auto_pad", "NOTSET");
        if (!Set.of("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER").contains(auto)) {
            throw new IllegalArgumentException("auto_pad '" + auto + "'");
        }
        int[] inHW = {x.shape()[2], x.shape()[3]};
        long[] target = null; // the output's height and width, when output_shape or SAME_* fixes them
        if (outputShape != null) {
            if (outputShape.length != 2 && outputShape.length != 4) {
                throw new IllegalArgumentException("output_shape " + Arrays.toString(outputShape) + " (2 spatial dims, or all 4)");
            }
            target = Arrays.copyOfRange(outputShape, outputShape.length - 2, outputShape.length);
        } else if (auto.startsWith("SAME")) {
            target = new long[] {(long) inHW[0] * stride[0], (long) inHW[1] * stride[1]};
        }
        int[] pads = new int[4]; // top, left, bottom, right
        int[] lead = new int[4]; // rows and columns no input reaches (a negative padding): top, left before the result, bottom, right after it
        if (target == null) {
            long[] p = auto.equals("VALID") ? null : attrInts(n, "pads");
            if (p != null) {
                if (p.length != 4) {
                    throw new UnsupportedOperationException("pads " + Arrays.toString(p) + ": Lanes runs 2-d transposed convolutions");
                }
                for (int i = 0; i < 4; i++) {
                    if (p[i] < 0 || p[i] > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException("pads " + Arrays.toString(p) + " has a negative or huge entry");
                    }
                    pads[i] = (int) p[i];
                }
            }
        } else {
            for (int i = 0; i < 2; i++) {
                if (target[i] < 1 || target[i] > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("output size " + target[i] + " (output_shape " + Arrays.toString(outputShape) + ")");
                }
                long natural = Math.addExact(Math.addExact(Math.multiplyExact((long) stride[i], inHW[i] - 1L), outputPadding[i]),
                        Math.addExact(Math.multiplyExact((long) dilation[i], kernel[i] - 1L), 1));
                long total = natural - target[i];
                long begin = auto.equals("SAME_UPPER") ? Math.floorDiv(total, 2) : total - Math.floorDiv(total, 2);
                long end = total - begin;
                if (begin < 0) { // SAME_UPPER a row or more over the natural size (stride over the kernel): it was refused
                    lead[i] = Math.toIntExact(-begin);
                } else {
                    pads[i] = Math.toIntExact(begin);
                }
                if (end < 0) { // rows no input reaches, at the end (as output padding, which must stay below the stride: refused)
                    lead[i + 2] = Math.toIntExact(-end);
                } else {
                    pads[i + 2] = Math.toIntExact(end);
                }
            }
        }
        if (lead[0] == 0 && lead[1] == 0 && lead[2] == 0 && lead[3] == 0) {
            return out(Tensor.convTranspose2d(x, w, b, stride, pads, outputPadding, group, dilation));
        }
        Tensor y = padded(Tensor.convTranspose2d(x, w, null, stride, pads, outputPadding, group, dilation), lead, 0f);
        return out(b == null ? y : y.add(b.reshape(1, -1, 1, 1)));
    }

    private Value[] pool(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        if (x.dim() != 4) {
            throw new UnsupportedOperationException(n.opType() + " of a " + x.dim() + "-d input: Lanes pools [N, C, L] and [N, C, H, W]");
        }
        if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) {
            throw new UnsupportedOperationException("MaxPool with an Indices output");
        }
        int[] kernel = pair(attrInts(n, "kernel_shape"), -1, "kernel_shape");
        if (kernel[0] < 1) {
            throw new IllegalArgumentException("kernel_shape is required");
        }
        int[] stride = pair(attrInts(n, "strides"), 1, "strides");
        int[] dilation = pair(attrInts(n, "dilations"), 1, "dilations");
        int[] pad = pads(n, kernel, stride, dilation, new int[] {x.shape()[2], x.shape()[3]});
        boolean ceil = attrInt(n, "ceil_mode", 0) != 0;
        boolean max = n.opType().equals("MaxPool");
        // storage_order only orders the Indices output: without it the pooled values are the same
        boolean indices = n.outputs().size() > 1 && !n.outputs().get(1).isEmpty();
        if (max && indices && attrInt(n, "storage_order", 0) != 0) {
            throw new UnsupportedOperationException("MaxPool with storage_order = 1 and an Indices output");
        }
        if (!max && (dilation[0] != 1 || dilation[1] != 1)) {
            throw new UnsupportedOperationException("AveragePool with dilations " + Arrays.toString(dilation));
        }
        boolean includePad = attrInt(n, "count_include_pad", 0) != 0;
        boolean lanesPads = pad[0] == pad[2] && pad[1] == pad[3];
        for (int i = 0; i < 2; i++) {
            lanesPads &= pad[i] <= (dilation[i] * (kernel[i] - 1) + 1) / 2; // Lanes' pools, like PyTorch's, pad at most half the kernel
        }
        if (lanesPads) {
            int[] hw = {pad[0], pad[1]};
            return out(max ? Tensor.maxPool2d(x, kernel, stride, hw, dilation, ceil) : Tensor.avgPool2d(x, kernel, stride, hw, ceil, includePad));
        }
        // asymmetric pads, or over half the kernel: padded explicitly (-inf for max, which no window takes over a value;
        // zero for the average), then pooled without padding
        if (ceil) {
            throw new UnsupportedOperationException(n.opType() + " with pads " + Arrays.toString(pad) + " and ceil_mode = 1 (Lanes pools with"
                    + " ceil_mode only symmetric pads of at most half the kernel)");
        }
        int[] none = {0, 0};
        if (max) {
            return out(Tensor.maxPool2d(padded(x, pad, Float.NEGATIVE_INFINITY), kernel, stride, none, dilation, false));
        }
        Tensor sums = Tensor.avgPool2d(padded(x, pad, 0f), kernel, stride, none, false, true);
        if (includePad) {
            return out(sums);
        }
        // the average over the input's elements only: each window's mean divided by the share of it inside the input
        Tensor inside = Tensor.avgPool2d(padded(Tensor.ones(1, 1, x.shape()[2], x.shape()[3]), pad, 0f), kernel, stride, none, false, true);
        return out(sums.div(inside));
    }

    private Value[] softmax(Node n, Value[] a) {
        Tensor x = arg(a, 0, n).tensor();
        boolean log = n.opType().equals("LogSoftmax");
        int rank = x.dim();
        if (opset >= 13) {
            int ax = axis(attrInt(n, "axis", -1), rank, "axis");
            return out(log ? x.logSoftmax(ax) : x.softmax(ax));
        }
        // opsets 11-12: the input seen as [prod(dims before axis), prod(dims from axis)], normalised along its rows
        int ax = axis(attrInt(n, "axis", 1), Math.max(rank, 1), "axis");
        try (Tensor flat = asRows(x, ax); Tensor r = log ? flat.logSoftmax(1) : flat.softmax(1)) {
            return out(r.reshape(x.shape()));
        }
    }

    /** Opsets 11-12 of Softmax, LogSoftmax and Hardmax: the input as [prod(dims before axis), prod(dims from axis)]. */
    private static Tensor asRows(Tensor x, int ax) {
        int[] s = x.shape();
        int outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= s[i];
        }
        return x.reshape(outer, -1);
    }

    /** Hardmax: 1 at the first largest element along the axis, 0 elsewhere; opsets 11-12 see the input as 2-d as Softmax does. */
    private Value[] hardmax(Node n, Value[] a) {
        Tensor x = floats(arg(a, 0, n), n);
        int rank = x.dim();
        if (opset >= 13) {
            return out(firstMaxOneHot(x, axis(attrInt(n, "axis", -1), rank, "axis"), n));
        }
        int ax = axis(attrInt(n, "axis", 1), Math.max(rank, 1), "axis");
        try (Tensor flat = asRows(x, ax); Tensor r = firstMaxOneHot(flat, 1, n)) {
            return out(r.reshape(x.shape()));
        }
    }

    /** 1f where the position along {@code ax} is the first maximum's (argmax), else 0f; positions compared in float, exact to 2^24. */
    private static Tensor firstMaxOneHot(Tensor x, int ax, Node n) {
        int r = x.size(ax);
        if (r > 1 << 24) {
            throw new UnsupportedOperationException(n.opType() + " over an axis of " + r + " elements (at most 2^24)");
        }
        int[] shape = new int[x.dim()];
        Arrays.fill(shape, 1);
        shape[ax] = r;
        Tensor positions = Tensor.arange(0.0, r, 1.0).reshape(shape);
        return positions.eq(x.argmax(ax, true).toFloat()).toFloat();
    }

    private Value[] squeeze(Node n, Value[] a) {
        Value v = arg(a, 0, n);
        int[] s = v.shape();
        long[] axes = attrInts(n, "axes");
        if (axes == null && a.length > 1 && a[1] != null) {
            axes = knownInts(a, 1, n, "the axes");
        }
        boolean un = n.opType().equals("Unsqueeze");
        if (!un && axes != null && axes.length == 0) {
            axes = null; // an empty axes list squeezes every dim of size 1, as no axes does (ONNX Runtime's reading)
        }
        List<Integer> shape = new ArrayList<>();
        for (int d : s) {
            shape.add(d);
        }
        if (un) {
            if (axes == null) {
                throw new IllegalArgumentException("Unsqueeze needs axes");
            }
            int rank = s.length + axes.length;
            int[] ax = new int[axes.length];
            for (int i = 0; i < ax.length; i++) {
                ax[i] = axis(axes[i], rank, "axis");
            }
            Arrays.sort(ax);
            for (int i = 1; i < ax.length; i++) {
                if (ax[i] == ax[i - 1]) {
                    throw new IllegalArgumentException("axis " + ax[i] + " given twice");
                }
            }
            for (int i : ax) {
                shape.add(i, 1);
            }
        } else {
            boolean[] drop = new boolean[s.length];
            if (axes == null) {
                for (int i = 0; i < s.length; i++) {
                    drop[i] = s[i] == 1;
                }
            } else {
                for (long x : axes) {
                    int i = axis(x, s.length, "axis");
                    if (s[i] != 1) {
                        throw new IllegalArgumentException("cannot squeeze dim " + i + " of size " + s[i] + " in " + Arrays.toString(s));
                    }
                    drop[i] = true;
                }
            }
            shape.clear();
            for (int i = 0; i < s.length; i++) {
                if (!drop[i]) {
                    shape.add(s[i]);
                }
            }
        }
        long[] target = shape.stream().mapToLong(Integer::longValue).toArray();
        return reshaped(v, target);
    }

    /** Integers known at trace time, transposed by {@code perm} (PyTorch's F.pad export transposes its pads): they stay known. */
    private static Value[] transposedInts(Value v, int[] perm) {
        long[] s = v.intsShape;
        boolean[] seen = new boolean[s.length];
        long[] shape = new long[s.length];
        for (int i = 0; i < perm.length; i++) {
            if (seen[perm[i]]) {
                throw new IllegalArgumentException("perm " + Arrays.toString(perm) + " repeats axis " + perm[i]);
            }
            seen[perm[i]] = true;
            shape[i] = s[perm[i]];
        }
        long[] strides = new long[s.length];
        long stride = 1;
        for (int d = s.length - 1; d >= 0; d--) {
            strides[d] = stride;
            stride *= s[d];
        }
        long[] r = new long[v.ints.length];
        for (int k = 0; k < r.length; k++) {
            long at = 0;
            long rest = k;
            for (int d = shape.length - 1; d >= 0; d--) {
                at += rest % shape[d] * strides[perm[d]];
                rest /= shape[d];
            }
            r[k] = v.ints[(int) at];
        }
        return new Value[] {Value.known(r, shape, v.bool)};
    }

    /** {@code v} with a new shape: integers known at trace time stay known; a tensor becomes a view or a copy. */
    private static Value[] reshaped(Value v, long[] shape) {
        if (v.ints != null && v.tensor == null) {
            long known = 1;
            int infer = -1;
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < -1) {
                    throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has dim " + shape[i]);
                }
                if (shape[i] == -1) {
                    if (infer >= 0) {
                        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " infers more than one dim");
                    }
                    infer = i;
                } else {
                    known = Math.multiplyExact(known, shape[i]);
                }
            }
            long[] s = shape.clone();
            if (infer >= 0) {
                if (known == 0 || v.ints.length % known != 0) {
                    throw new IllegalArgumentException("cannot reshape " + v.ints.length + " values to " + Arrays.toString(shape));
                }
                s[infer] = v.ints.length / known;
            } else if (known != v.ints.length) {
                throw new IllegalArgumentException("cannot reshape " + v.ints.length + " values to " + Arrays.toString(shape));
            }
            return new Value[] {Value.known(v.ints, s, v.bool)};
        }
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] < -1 || shape[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has dim " + shape[i]);
            }
            s[i] = (int) shape[i];
        }
        return out(v.tensor().reshape(s));
    }

    private Value[] concat(Node n, Value[] a) {
        if (a.length == 0) {
            throw new IllegalArgumentException("Concat of nothing");
        }
        boolean allInts = true;
        for (Value v : a) {
            allInts &= v != null && v.ints != null && v.tensor == null && v.intsShape.length == 1;
        }
        if (allInts) {
            int len = 0;
            for (Value v : a) {
                len = Math.addExact(len, v.ints.length);
                if (len > MAX_FOLDED) { // 1,000 inputs of 2^20 values each: 8 GB of heap from a 3 KB model
                    throw new UnsupportedOperationException("Concat of integers known at load with more than " + MAX_FOLDED + " values");
                }
            }
            long[] r = new long[len];
            int at = 0;
            for (Value v : a) {
                System.arraycopy(v.ints, 0, r, at, v.ints.length);
                at += v.ints.length;
            }
            return new Value[] {Value.known(r, new long[] {len}, a[0].bool)};
        }
        Tensor[] ts = new Tensor[a.length];
        for (int i = 0; i < a.length; i++) {
            ts[i] = arg(a, i, n).tensor();
        }
        int ax = axis(attrInt(n, "axis", opset < 4 ? 1 : 0), ts[0].dim(), "axis");
        return out(Tensor.cat(ts, ax));
    }

    private Value[] gather(Node n, Value[] a) {
        Value data = arg(a, 0, n);
        Value idx = arg(a, 1, n);
        int[] s = data.shape();
        int ax = axis(attrInt(n, "axis", 0), s.length, "axis");
        long[] indices = idx.ints;
        if (indices != null) {
            for (int i = 0; i < indices.length; i++) {
                long v = indices[i];
                if (v < -s[ax] || v >= s[ax]) {
                    throw new IllegalArgumentException("index " + v + " is out of range for dim " + ax + " of size " + s[ax]);
                }
            }
        }
        int[] idxShape = idx.shape();
        if (data.ints != null && data.tensor == null && indices != null && s.length == 1) {
            long[] r = new long[indices.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = data.ints[(int) (indices[i] < 0 ? indices[i] + s[0] : indices[i])];
            }
            return new Value[] {Value.known(r, idx.intsShape != null ? idx.intsShape : new long[] {r.length}, data.bool)};
        }
        if (data.tensor().dtype() != DType.FLOAT32) { // an int64 tensor known only at run time (token ids as data, say)
            throw new UnsupportedOperationException("Gather of " + data.tensor().dtype() + " data known only at run time (Lanes gathers float32"
                    + " tensors, and folds integer data known at load)");
        }
        if (indices == null) {
            // indices computed at run time, negative ones counted from the end as ONNX says: Tensor.index wraps them
            // (in a plan too, checking [-size, size) on every run) and shapes the result as Gather does
            return out(data.tensor().index(ax, idx.tensor()));
        }
        long[] fixed = new long[indices.length];
        for (int i = 0; i < fixed.length; i++) {
            fixed[i] = indices[i] < 0 ? indices[i] + s[ax] : indices[i];
        }
        Tensor picked = data.tensor().indexSelect(ax, Tensor.of(fixed, fixed.length));
        int[] shape = new int[s.length - 1 + idxShape.length];
        int k = 0;
        for (int i = 0; i < ax; i++) {
            shape[k++] = s[i];
        }
        for (int d : idxShape) {
            shape[k++] = d;
        }
        for (int i = ax + 1; i < s.length; i++) {
            shape[k++] = s[i];
        }
        return out(picked.reshape(shape));
    }

    private Value constant(Node n) {
        if (n.outputs().size() != 1 || n.outputs().get(0).isEmpty()) {
            throw new IllegalArgumentException("Constant needs exactly one output, has " + n.outputs());
        }
        Map<String, Attribute> at = n.attributes();
        if (at.size() != 1) {
            throw new IllegalArgumentException("Constant needs exactly one value attribute, has " + at.keySet());
        }
        Attribute v = at.values().iterator().next();
        TensorData d = switch (v.name()) {
            case "value" -> {
                if (v.t() == null) {
                    throw new IllegalArgumentException("Constant's value is not a tensor");
                }
                yield v.t();
            }
            case "value_float" -> new TensorData(n.outputs().get(0), OnnxFormat.FLOAT, new long[0], new float[] {v.f()}, null);
            case "value_floats" -> new TensorData(n.outputs().get(0), OnnxFormat.FLOAT, new long[] {v.floats().length}, v.floats(), null);
            case "value_int" -> new TensorData(n.outputs().get(0), OnnxFormat.INT64, new long[0], null, new long[] {v.i()});
            case "value_ints" -> new TensorData(n.outputs().get(0), OnnxFormat.INT64, new long[] {v.ints().length}, null, v.ints());
            default -> throw new UnsupportedOperationException("Constant with " + v.name());
        };
        TensorData c = d;
        String key = n.outputs().get(0);
        return Value.constant(c, () -> constantTensor(key, c));
    }

    /**
     * The model's tensor for a constant, made once and owned by the model (outside any MemoryScope, so that a trace's or
     * a caller's scope never closes it): a plan sees it as a constant and prepacks it.
     */
    private Tensor weightNamed(Map<String, Tensor> cache, String key, TensorData c) {
        synchronized (weights) {
            if (closed) {
                throw new IllegalStateException("ONNX: the model is closed");
            }
            Tensor t = cache.get(key);
            if (t == null) {
                try (dev.lanes.memory.MemoryScope outside = dev.lanes.memory.MemoryScope.unscoped()) {
                    t = toTensor(c);
                }
                cache.put(key, t);
            }
            return t;
        }
    }

    @Override
    public void close() {
        synchronized (weights) {
            if (!closed) {
                closed = true;
                for (Tensor t : weights.values()) {
                    t.close();
                }
                for (Tensor t : constantNodes.values()) {
                    t.close();
                }
                for (Tensor t : recurrentWeights.values()) {
                    t.close();
                }
                recurrentWeights.clear();
                weights.clear();
                constantNodes.clear();
            }
        }
    }

    @Override
    public String toString() {
        Map<String, Integer> ops = new LinkedHashMap<>();
        for (Node n : model.graph().nodes()) {
            ops.merge(n.opType(), 1, Integer::sum);
        }
        return "OnnxModel(opset " + opset + ", " + model.graph().nodes().size() + " nodes " + ops + ", inputs " + inputNames + ")";
    }
}
