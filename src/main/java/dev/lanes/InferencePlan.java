package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Autograd;
import dev.lanes.kernels.BinaryOp;
import dev.lanes.kernels.Parallel;
import dev.lanes.kernels.Sgemm;
import dev.lanes.kernels.UnaryOp;
import dev.lanes.kernels.Winograd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.memory.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * A forward pass compiled for serving, like {@code torch.jit.trace} plus CUDA-graph replay: {@link #trace} runs
 * the function once on an example input of a fixed shape, records every kernel it calls, folds what depends only
 * on constants, fuses ReLUs into the convolution or GEMM before them (across a max-pool, which commutes with
 * ReLU), and assigns every intermediate a place in one arena, reusing places whose values are dead.
 * {@link #run} then replays the kernels on the calling thread:
 * <ul>
 *   <li>no graph, no Tensor objects, no allocation in the steady state: the input is read from and the result
 *       written to buffers the caller supplies ({@code float[]} or {@link MemorySegment});</li>
 *   <li>safe from any number of threads at once without a lock: each call takes an execution context (arena,
 *       packing buffers) from a lock-free pool and returns it, so nothing mutable is shared;</li>
 *   <li>the eager forward's results to float rounding (the same kernels, except a matrix-vector product over
 *       prepacked weights for batch-1 linear layers, which sums in another order), which {@code trace} checks
 *       once on a random input before returning.</li>
 * </ul>
 * Limits of tracing, checked where possible: the shape is fixed; Java control flow in forward is frozen at the
 * path the example took; ops without a plan step, in-place ops and reading values into Java inside forward are
 * refused at trace time ({@link UnsupportedOperationException} naming the op). Like {@code torch.jit.freeze}, the
 * plan is a snapshot of the weights: convolution and linear weights are prepacked and values computed from
 * constants folded when it is traced, so trace again after changing the model; a call after a write to any of
 * the traced weights or buffers (an optimizer step, running statistics, {@code zero_()}) is refused with
 * {@link IllegalStateException}. Close the plan to free its contexts and drop its hold on the parameters.
 */
public final class InferencePlan implements AutoCloseable {
    /** Spare floats at the arena's end, so vector loops near the last slot never take the segment-end slow path. */
    private static final int TAIL_PAD_FLOATS = 64;

    private final int[] inputShape;
    private final DType inputType;
    private final int[] outputShape;
    /** float32, or int64 for a forward that ends in argmax/argmin or toLong() (a classifier returning class ids). */
    private final DType outputType;
    private final int inputNumel;
    private final int outputNumel;
    private final PlanStep[] steps;
    private final List<Storage> constStorages;
    /**
     * Each constant's version when the plan was made: a write since (an optimizer step, a BatchNorm's running
     * statistics, zero_() on a weight) is refused at the next call. The plan is a snapshot of some of them (prepacked
     * and folded weights) and reads the others live, so it would mix the old model with the new.
     */
    private final int[] constVersions;
    private final MemorySegment[] consts;
    private final long[] base;
    private final Ref result;
    private final long inputRegion;
    private final long scratchOff;
    private final long arenaFloats;
    private final int gemmK;
    private final int gemmN;
    private final int heapScratch;
    private final int heapImage;
    private final int heapColumns;
    private final int heapPanel;
    private final AtomicReferenceArray<Context> idle;
    private final AtomicLong contextsCreated = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean constantsReleased = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean closed;

    /** One caller's buffers: the arena (input copy, slots, im2col scratch) and the GEMM packing buffers. */
    private final class Context {
        final Storage arena;
        final MemorySegment seg;
        final PlanStep.Frame frame;

        Context() {
            arena = Storage.allocate(arenaFloats * 4);
            seg = arena.segment();
            frame = new PlanStep.Frame(seg, base, consts, new Sgemm.Workspace(gemmK, gemmN), scratchOff, heapScratch,
                    heapImage, heapColumns, heapPanel, false);
            contextsCreated.incrementAndGet();
        }

        void free() {
            arena.release("InferencePlan.close()");
        }
    }

    private InferencePlan(int[] inputShape, DType inputType, int[] outputShape, DType outputType, PlanStep[] steps, List<Storage> constStorages,
                          long[] base, Ref output, long inputRegion, long scratchOff, long arenaFloats) {
        this.inputShape = inputShape;
        this.inputType = inputType;
        this.outputShape = outputShape;
        this.outputType = outputType;
        this.inputNumel = Shapes.checkedNumel(inputShape);
        this.outputNumel = Shapes.checkedNumel(outputShape);
        this.steps = steps;
        this.constStorages = constStorages;
        this.consts = new MemorySegment[constStorages.size()];
        this.constVersions = new int[consts.length];
        for (int i = 0; i < consts.length; i++) {
            consts[i] = constStorages.get(i).segment();
            constVersions[i] = constStorages.get(i).version();
        }
        this.base = base;
        this.result = output;
        this.inputRegion = inputRegion;
        this.scratchOff = scratchOff;
        this.arenaFloats = arenaFloats;
        PlanStep.Needs needs = PlanStep.Needs.of(steps);
        for (PlanStep s : steps) {
            s.bind(consts);
        }
        this.gemmK = needs.gemmK();
        this.gemmN = needs.gemmN();
        this.heapScratch = needs.heapFloats();
        this.heapImage = needs.image();
        this.heapColumns = needs.columns();
        this.heapPanel = needs.panel();
        this.idle = new AtomicReferenceArray<>(Math.max(16, 2 * Runtime.getRuntime().availableProcessors()));
    }

    /**
     * Whether the calling thread is tracing a plan (inference or training). A trace cannot record a write into an
     * existing tensor, so the modules built with {@code inplace=true} (ReLU, Dropout, ...) run their out-of-place form
     * while tracing: the same values, the input left as it was.
     */
    public static boolean tracing() {
        return Tracer.current() != null;
    }

    /**
     * Traces {@code forward} (typically {@code model::forward} of a model in {@code eval()} mode) on a random input
     * of {@code inputShape}, without a graph, and checks the compiled plan against the eager result.
     */
    public static InferencePlan trace(Function<Tensor, Tensor> forward, int... inputShape) {
        int[] shape = inputShape.clone();
        int numel = Shapes.checkedNumel(shape);
        float[] example = new float[numel];
        Random random = new Random(0x1a4e5L);
        for (int i = 0; i < numel; i++) {
            example[i] = (float) random.nextGaussian();
        }
        Tensor x;
        try (MemoryScope outer = MemoryScope.unscoped()) {
            x = Tensor.of(example, shape);
        }
        return traceOn(forward, x, MemorySegment.ofArray(example), false);
    }

    /**
     * {@link #trace(Function, int...)} without running the forward pass and without the self-check: the trace records
     * every kernel call but runs only those over constants alone (whose results the plan folds), and the plan is not
     * compared with an eager result. Nothing a trace records can depend on the values it skips (reading a computed
     * value into Java and ops without a plan step are refused while tracing), so the plan is the one {@code trace}
     * makes; what is given up is the check, which guards against a fault in Lanes' own plan compilation and, in a
     * plan whose outputs cancel, takes its Winograd convolutions back to the direct form when their rounding drifts
     * past 1e-4 (see {@link #trace}). For graphs whose plans are tested elsewhere, where a cold start counts:
     * {@code OnnxModel.plan(shape)} traces this way (ResNet-20 at batch 1 in a fresh JVM: the trace ~170 -> ~60 ms,
     * and the check's run of ~55 ms left to the first prediction).
     */
    public static InferencePlan traceUnchecked(Function<Tensor, Tensor> forward, int... inputShape) {
        int[] shape = inputShape.clone();
        Shapes.checkedNumel(shape);
        Tensor x;
        try (MemoryScope outer = MemoryScope.unscoped()) {
            x = Tensor.empty(shape); // never read; zeroed by a plain fill, not a kernel (a fill kernel's classes cost a cold start ~5 ms)
        }
        return traceOn(forward, x, null, true);
    }

    /**
     * {@link #trace(Function, Tensor)} without running the forward pass and without the self-check (see
     * {@link #traceUnchecked(Function, int...)}): only the example's shape and type count.
     */
    public static InferencePlan traceUnchecked(Function<Tensor, Tensor> forward, Tensor example) {
        return traceExample(forward, example, true);
    }

    /**
     * Traces {@code forward} on {@code example}: a float32 input, or an int64 one (token ids for an embedding, class
     * indices): the plan then takes {@code long} inputs ({@link #run(long[], float[])}), each value checked against the
     * size of the dimension it indexes on every run. The example's values are those of the trace's self-check, so
     * they must be valid inputs (e.g. token ids below the vocabulary size); its shape is the plan's.
     */
    public static InferencePlan trace(Function<Tensor, Tensor> forward, Tensor example) {
        return traceExample(forward, example, false);
    }

    private static InferencePlan traceExample(Function<Tensor, Tensor> forward, Tensor example, boolean dry) {
        DType t = example.dtype();
        if (t != DType.FLOAT32 && t != DType.INT64) {
            throw new IllegalArgumentException("InferencePlan.trace: the example input must be float32 or int64, got " + t.shortName()
                    + " of shape " + str(example.shapeRef()));
        }
        Tensor x;
        try (MemoryScope outer = MemoryScope.unscoped(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor c = example.contiguous();
            try {
                x = c.clone(); // the trace's own input storage, apart from the caller's tensor
            } finally {
                if (c != example) {
                    c.close();
                }
            }
        }
        MemorySegment values = dry ? null : t == DType.FLOAT32 ? MemorySegment.ofArray(x.toFloatArray()) : MemorySegment.ofArray(x.toLongArray());
        return traceOn(forward, x, values, dry);
    }

    /**
     * Traces on {@code x} (closed here) and self-checks the plan on {@code values}, the bytes of x's elements; or, when
     * {@code dry}, records without computing and checks nothing ({@link #traceUnchecked(Function, int...)}).
     */
    private static InferencePlan traceOn(Function<Tensor, Tensor> forward, Tensor x, MemorySegment values, boolean dry) {
        int[] shape = x.shapeRef().clone();
        DType inputType = x.dtype();
        Tracer tracer;
        try {
            tracer = Tracer.begin(x, dry);
        } catch (RuntimeException | Error e) {
            x.close(); // e.g. already tracing on this thread
            throw e;
        }
        Ref outRef;
        int[] outShape;
        DType outType;
        float[] eager = null;
        long[] eagerIds = null;
        boolean done = false;
        boolean ended = false;
        try (Autograd.Mode g = Autograd.noGrad(); MemoryScope scope = MemoryScope.open()) {
            Tensor y = forward.apply(x);
            if (y == null) {
                throw new IllegalArgumentException("InferencePlan.trace: forward returned null");
            }
            outType = y.dtype();
            if (outType != DType.FLOAT32 && outType != DType.INT64) {
                throw new UnsupportedOperationException("InferencePlan.trace: forward must return a float32 or int64 tensor, got "
                        + outType.shortName() + " of shape " + str(y.shapeRef()));
            }
            Tensor eagerResult = y;
            outRef = tracer.ref(y);
            if (outType == DType.INT64 && (outRef.kind() == Ref.CONST || !wholeSlot(outRef, y, tracer))) {
                // int64 values have no copy step: the result must be the own slot of the step that made it (argmax/argmin or
                // a conversion such as toLong()), or a reshape of all of it
                throw new UnsupportedOperationException("InferencePlan.trace: an int64 result must be the whole output of an argmax,"
                        + " argmin or toLong() in the traced step (a reshape of it is fine), not " + (outRef.kind() == Ref.CONST ? "a constant" : "a view, a slice or the input")
                        + "; shape " + str(y.shapeRef()));
            }
            if (outRef.kind() == Ref.CONST) {
                Tensor c = Tensor.allocate(DType.FLOAT32, y.shapeRef()); // a constant result still gets its own slot
                tracer.outputCopy(y, c);
                y = c;
                outRef = tracer.ref(y);
            } else if (!wholeSlot(outRef, y, tracer)) {
                y = y.clone(); // a view or the input itself: the plan's result is one whole slot
                outRef = tracer.ref(y);
            }
            outShape = y.shapeRef().clone();
            tracer.end();
            ended = true;
            // the traced call's own result, for the self-check: a second eager forward cost ~20% of a cold start
            if (dry) {
                // nothing computed it
            } else if (outType == DType.INT64) {
                eagerIds = eagerResult.contiguous().toLongArray();
            } else {
                eager = eagerResult.contiguous().toFloatArray();
            }
            done = true;
        } finally {
            if (!ended) {
                tracer.end();
            }
            x.close();
            if (!done) {
                tracer.releaseConstants();
            }
        }
        // from here a failure (compiling, binding or prepacking, the self-check's run refused its arena) must still give
        // back the tracer's hold on every weight storage (it stayed taken for good), as TrainingPlan's capture does
        InferencePlan plan;
        try {
            plan = compile(shape, inputType, outShape, outType, tracer, outRef);
        } catch (RuntimeException | Error e) {
            tracer.releaseConstants(); // no plan took them over
            throw e;
        }
        if (dry) {
            return plan;
        }
        try {
            plan.selfCheck(eager, eagerIds, values);
        } catch (RuntimeException | Error e) {
            try {
                plan.close(); // its constants are the tracer's: closing the plan releases them once
            } catch (RuntimeException | Error c) {
                e.addSuppressed(c);
            }
            throw e;
        }
        return plan;
    }

    private static boolean wholeSlot(Ref r, Tensor y, Tracer t) {
        return r.kind() == Ref.SLOT && r.offset() == 0 && y.isContiguous()
                && (long) y.numel() * y.dtype().byteSize() == t.slotFloats.get(r.id()) * 4; // an int64 element takes two floats
    }

    // ---- compilation: fusion and memory planning ----

    private static InferencePlan compile(int[] inputShape, DType inputType, int[] outputShape, DType outputType, Tracer t, Ref output) {
        int slots = t.slotFloats.size();
        int[] alias = new int[slots];
        for (int i = 0; i < slots; i++) {
            alias[i] = i;
        }
        List<PlanStep> steps = new ArrayList<>(t.steps);
        fuseActivations(steps, t.slotFloats, alias, output);
        fuseResiduals(steps, t.slotFloats, alias, output);
        fuseShortcuts(steps);
        chooseChannelsLast(steps, alias, output);
        int outSlot = canon(alias, output.id());
        // the input's bytes in floats (an int64 element takes two); the region starts at 0, aligned for any element
        long inputFloats = roundUp((long) Shapes.checkedNumel(inputShape) * inputType.byteSize() / 4);
        ArenaLayout layout = ArenaLayout.of(steps, t.slotFloats, alias, new int[] {outSlot}, inputFloats);
        long top = layout.top;
        long scratch = 0;
        for (PlanStep s : steps) {
            scratch = Math.max(scratch, s.scratchFloats());
        }
        Ref out = new Ref(Ref.SLOT, outSlot, 0);
        return new InferencePlan(inputShape, inputType, outputShape, outputType, steps.toArray(new PlanStep[0]), t.consts, layout.base, out, 0, top,
                top + roundUp(scratch) + TAIL_PAD_FLOATS);
    }

    private static int canon(int[] alias, int slot) {
        return ArenaLayout.canon(alias, slot);
    }

    private static long roundUp(long floats) {
        return ArenaLayout.roundUp(floats);
    }

    /**
     * act(conv(x)) (also for GEMMs) becomes one convolution with the activation in its epilogue, for every
     * {@link UnaryOp#isActivation()} op (relu, gelu, sigmoid, tanh); relu(max_pool(conv(x))) too, since max-pooling
     * commutes with ReLU, NaN included (both keep it), where every window holds an element of the input (undilated:
     * with padding at most half the kernel a window always does; a dilated window can lie wholly in the padding, and
     * its -inf became 0 only after the pool); a non-monotone GELU does not commute. Only where the intermediate has
     * no other reader.
     */
    private static void fuseActivations(List<PlanStep> steps, List<Long> slotFloats, int[] alias, Ref output) {
        for (int i = 0; i < steps.size(); i++) {
            if (!(steps.get(i) instanceof PlanStep.Unary act) || !act.isPlainActivation() || act.in.kind() != Ref.SLOT || act.in.offset() != 0
                    || act.n != slotFloats.get(act.in.id())) {
                continue;
            }
            int a = canon(alias, act.in.id());
            if (!onlyReader(steps, alias, a, act, output)) {
                continue;
            }
            PlanStep producer = producerOf(steps, alias, a);
            PlanStep fuseInto = null;
            if (producer != null && producer.canFuseActivation(act.op)) {
                fuseInto = producer;
            } else if (act.op == UnaryOp.RELU && producer instanceof PlanStep.Pool pool && pool.kind == PlanStep.Pool.Kind.MAX
                    && pool.win.dH() == 1 && pool.win.dW() == 1 && pool.in.kind() == Ref.SLOT && pool.in.offset() == 0
                    && (long) pool.planes * pool.h * pool.w == slotFloats.get(pool.in.id())) {
                int b = canon(alias, pool.in.id());
                PlanStep before = producerOf(steps, alias, b);
                if (before != null && before.canFuseActivation(act.op) && onlyReader(steps, alias, b, pool, output)) {
                    fuseInto = before;
                }
            }
            if (fuseInto != null) {
                fuseInto.fuseActivation(act.op, act.p, act.q);
                alias[act.out.id()] = a;
                steps.remove(i);
                i--;
            }
        }
    }

    /**
     * add(conv(x), r) and relu(add(conv(x), r)) (a residual block's sum, its ReLU already fused into the add) become one
     * convolution that adds r as it copies its result out, where the convolution runs by Winograd
     * ({@link PlanStep.Conv#winogradPlanned}), has no activation of its own and is the add's only source of that
     * operand, and r is computed before it, or can be: a step that made r later, from values all computed before the
     * convolution, moves to just before it (a downsampling block's 1 x 1 shortcut, traced after the block's second
     * convolution). Every slot has one writer, so the moved step reads the same values. Float addition commutes: the
     * bits of the add either way round.
     */
    private static void fuseResiduals(List<PlanStep> steps, List<Long> slotFloats, int[] alias, Ref output) {
        for (int i = 0; i < steps.size(); i++) {
            if (!(steps.get(i) instanceof PlanStep.Binary add) || !(add.op == BinaryOp.ADD || add.op == BinaryOp.ADD_RELU) || !add.contiguous) {
                continue;
            }
            for (int side = 0; side < 2; side++) {
                Ref mine = side == 0 ? add.a : add.b;
                Ref other = side == 0 ? add.b : add.a;
                if (mine.kind() != Ref.SLOT || mine.offset() != 0 || add.n != slotFloats.get(mine.id())) {
                    continue;
                }
                int slot = canon(alias, mine.id());
                if (!(producerOf(steps, alias, slot) instanceof PlanStep.Conv conv) || !conv.winogradPlanned() || conv.activation != UnaryOp.IDENTITY
                        || conv.residual != null || !onlyReader(steps, alias, slot, add, output)) {
                    continue;
                }
                int at = steps.indexOf(conv);
                if (other.kind() == Ref.SLOT) {
                    if (other.offset() != 0 || add.n != slotFloats.get(other.id()) || canon(alias, other.id()) == slot) {
                        continue;
                    }
                    PlanStep made = producerOf(steps, alias, canon(alias, other.id()));
                    if (made == null) {
                        continue;
                    }
                    if (steps.indexOf(made) >= at) { // computed after the convolution: it would read it too early
                        if (!computableBefore(steps, alias, made, at)) {
                            continue;
                        }
                        steps.remove(made);
                        steps.add(at, made);
                        i = steps.indexOf(add);
                    }
                } else if (other.kind() != Ref.INPUT || other.id() != 0 || other.offset() != 0) {
                    continue;
                }
                conv.fuseResidual(other, add.op == BinaryOp.ADD_RELU);
                alias[add.out.id()] = slot;
                steps.remove(i);
                i--;
                break;
            }
        }
    }

    /**
     * A 1 x 1 convolution reading the same images as a 3 x 3 one whose staging holds its input pixels (a downsampling
     * block's projection shortcut beside the block's stride-2 convolution: {@link PlanStep.Conv#canTakeShortcut})
     * runs inside that step, from its staging: the plan no longer stages the image twice. The pair runs where the
     * earlier of the two ran: the later one's inputs are the same images and constants, all there by then, and its
     * result is only read after it. The same products: the same bits ({@code -Dlanes.plan.fuseShortcuts=false} turns
     * it off, for comparisons).
     */
    private static void fuseShortcuts(List<PlanStep> steps) {
        if ("false".equals(System.getProperty("lanes.plan.fuseShortcuts"))) {
            return;
        }
        for (int i = 0; i < steps.size(); i++) {
            if (!(steps.get(i) instanceof PlanStep.Conv big)) {
                continue;
            }
            for (int j = 0; j < steps.size(); j++) {
                if (steps.get(j) instanceof PlanStep.Conv one && big.canTakeShortcut(one)) {
                    big.takeShortcut(one);
                    steps.remove(j);
                    if (j < i) { // the pair runs at the 1 x 1's place
                        steps.remove(big);
                        steps.add(j, big);
                    }
                    i = -1; // indices moved: start over (a few steps; each fusion removes one)
                    break;
                }
            }
        }
    }

    /**
     * Keeps a tensor channels-last ({@code [N, H, W, C]}) where only Winograd convolutions touch it: written whole by
     * one (or by a direct layer that can write channels-last: {@link PlanStep.Conv#canWriteChannelsLast}, a network's
     * stem), read whole only by Winograd convolutions as their input or residual sum, not the plan's result. Winograd stages its input
     * channels-last and makes its output that way, so such a tensor skips a transpose out and a transpose back in (in a
     * residual block, the tensor between its two convolutions). Where Winograd.MIXED_RESIDUAL (8 or 16 lanes on x86) a
     * convolution's residual sum may be in the other layout than its output (residualChannelsLast), so a block's output
     * stays channels-last through its stage; elsewhere the sum is added in the output's layout, so the two must agree:
     * where they do not, both stay channels-first, until nothing changes. The bits are those of the channels-first
     * plan; {@code -Dlanes.winograd.channelsLast=false} turns it off.
     */
    private static void chooseChannelsLast(List<PlanStep> steps, int[] alias, Ref output) {
        if (!Winograd.CHANNELS_LAST) {
            return;
        }
        java.util.Set<Integer> last = new java.util.HashSet<>();
        for (PlanStep s : steps) {
            if (s instanceof PlanStep.Conv conv && (conv.winogradPlanned() || conv.canWriteChannelsLast()) && conv.out.offset() == 0) {
                last.add(canon(alias, conv.out.id()));
            }
        }
        last.remove(canon(alias, output.id()));
        for (PlanStep s : steps) { // one writer
            if (!(s instanceof PlanStep.Conv conv && (conv.winogradPlanned() || conv.canWriteChannelsLast()))) {
                last.remove(canon(alias, s.out.id()));
            }
            for (Ref r : s.extraOutputs()) {
                if (r != null && r.kind() == Ref.SLOT) {
                    last.remove(canon(alias, r.id()));
                }
            }
        }
        for (PlanStep s : steps) { // every reader a Winograd convolution of the writer's shape, reading all of it
            for (Ref r : s.inputs()) {
                if (r == null || r.kind() != Ref.SLOT || !last.contains(canon(alias, r.id()))) {
                    continue;
                }
                PlanStep.Conv writer = (PlanStep.Conv) producerOf(steps, alias, canon(alias, r.id()));
                boolean fits = s instanceof PlanStep.Conv conv && conv.winogradPlanned() && r.offset() == 0 && conv.images == writer.images
                        && (r == conv.x ? conv.channels == writer.outChannels && conv.geo.h() == writer.geo.oH() && conv.geo.w() == writer.geo.oW()
                        : r == conv.residual && conv.outChannels == writer.outChannels && conv.geo.oH() == writer.geo.oH() && conv.geo.oW() == writer.geo.oW());
                if (!fits) {
                    last.remove(canon(alias, r.id()));
                }
            }
        }
        for (boolean changed = !Winograd.MIXED_RESIDUAL; changed; ) { // a residual sum in its convolution's output layout (see below)
            changed = false;
            for (PlanStep s : steps) {
                if (s instanceof PlanStep.Conv conv && conv.residual != null) {
                    boolean outLast = last.contains(canon(alias, conv.out.id()));
                    boolean resLast = conv.residual.kind() == Ref.SLOT && last.contains(canon(alias, conv.residual.id()));
                    if (outLast != resLast) {
                        last.remove(canon(alias, conv.out.id()));
                        if (conv.residual.kind() == Ref.SLOT) {
                            last.remove(canon(alias, conv.residual.id()));
                        }
                        changed = true;
                    }
                }
            }
        }
        for (PlanStep s : steps) {
            if (s instanceof PlanStep.Conv conv && conv.winogradPlanned()) {
                conv.inChannelsLast = conv.x.kind() == Ref.SLOT && last.contains(canon(alias, conv.x.id()));
                conv.outChannelsLast = last.contains(canon(alias, conv.out.id()));
                conv.residualChannelsLast = conv.residual != null && conv.residual.kind() == Ref.SLOT && last.contains(canon(alias, conv.residual.id()));
            } else if (s instanceof PlanStep.Conv conv && conv.canWriteChannelsLast()) {
                conv.outChannelsLast = last.contains(canon(alias, conv.out.id())); // read by Winograd layers only
            }
        }
    }

    /** Whether every slot {@code step} reads is written by a step before index {@code at}. */
    private static boolean computableBefore(List<PlanStep> steps, int[] alias, PlanStep step, int at) {
        for (Ref r : step.inputs()) {
            if (r != null && r.kind() == Ref.SLOT) {
                PlanStep writer = producerOf(steps, alias, canon(alias, r.id()));
                if (writer == null || steps.indexOf(writer) >= at) {
                    return false;
                }
            }
        }
        return !step.random();
    }

    private static boolean onlyReader(List<PlanStep> steps, int[] alias, int slot, PlanStep reader, Ref output) {
        if (canon(alias, output.id()) == slot) {
            return false;
        }
        for (PlanStep s : steps) {
            for (Ref r : s.inputs()) {
                if (r.kind() == Ref.SLOT && canon(alias, r.id()) == slot && s != reader) {
                    return false;
                }
            }
        }
        return true;
    }

    private static PlanStep producerOf(List<PlanStep> steps, int[] alias, int slot) {
        for (PlanStep s : steps) {
            if (canon(alias, s.out.id()) == slot) {
                return s;
            }
        }
        return null;
    }

    /**
     * Runs the plan on the trace's example input and compares with the eager result computed while tracing: its floats
     * within 1e-4, or its int64 indices ({@code eagerIds}) exactly.
     */
    private void selfCheck(float[] eager, long[] eagerIds, MemorySegment example) {
        if (eagerIds != null) {
            long[] planned = new long[outputNumel];
            run(example, MemorySegment.ofArray(planned));
            for (int i = 0; i < outputNumel; i++) {
                if (planned[i] != eagerIds[i]) {
                    close();
                    throw new IllegalStateException("InferencePlan.trace: the compiled plan gives " + planned[i] + " at output element " + i
                            + " where the eager forward gives " + eagerIds[i] + "; the forward pass may depend on its input's values, or two of"
                            + " the scores it compares lie within float rounding of each other on the trace's input (a plan may sum in"
                            + " another order than the eager op). Plan:\n" + this);
                }
            }
            return;
        }
        float[] planned = new float[outputNumel];
        run(example, MemorySegment.ofArray(planned));
        int bad = mismatch(eager, planned);
        if (bad >= 0) {
            // Winograd's convolutions round more than the eager ones: a deep or badly scaled model can drift past the
            // check through them alone. Their direct form is the eager op's; try the plan with it before giving up.
            boolean dropped = false;
            for (PlanStep step : steps) {
                dropped |= step.dropApproximateForm(consts);
            }
            if (dropped) {
                run(example, MemorySegment.ofArray(planned));
                bad = mismatch(eager, planned);
            }
        }
        if (bad >= 0) {
            close();
            throw new IllegalStateException("InferencePlan.trace: the compiled plan gives " + planned[bad] + " at output element " + bad
                    + " where the eager forward gives " + eager[bad] + "; the forward pass may depend on its input's values."
                    + " Plan:\n" + this);
        }
    }

    /** The first output where the plan and the eager forward differ by more than 1e-4 (relative above 1), or -1. */
    private int mismatch(float[] eager, float[] planned) {
        for (int i = 0; i < outputNumel; i++) {
            float e = eager[i];
            float p = planned[i];
            boolean same = e == p || (Float.isNaN(e) && Float.isNaN(p)) || Math.abs(e - p) <= 1e-4f * Math.max(1f, Math.abs(e));
            if (!same) {
                return i;
            }
        }
        return -1;
    }

    // ---- running ----

    /** The input shape the plan was traced with. */
    public Size inputShape() {
        return new Size(inputShape);
    }

    public Size outputShape() {
        return new Size(outputShape);
    }

    /** Elements in one input: floats, or int64 values for a plan traced on an int64 example ({@link #inputType()}). */
    public int inputSize() {
        return inputNumel;
    }

    /** Elements in one result: floats, or int64 values for a plan whose forward returns int64 ({@link #outputType()}). */
    public int outputSize() {
        return outputNumel;
    }

    /** The element type the plan returns: float32, or int64 when its forward ends in argmax/argmin or a conversion to int64. */
    public DType outputType() {
        return outputType;
    }

    /** Bytes of off-heap arena each concurrent caller uses (input copy, intermediates, im2col columns). */
    public long arenaBytes() {
        return arenaFloats * 4;
    }

    /** Execution contexts made so far (one per caller that found none idle). */
    public long contextsCreated() {
        return contextsCreated.get();
    }

    /** Number of kernel steps after fusion. */
    public int stepCount() {
        return steps.length;
    }

    /** The element type the plan takes: float32, or int64 when it was traced on an int64 example. */
    public DType inputType() {
        return inputType;
    }

    /** {@code output[0 .. outputSize()) = forward(input[0 .. inputSize()))}, for a float32 plan. */
    public void run(float[] input, float[] output) {
        checkInput(DType.FLOAT32, input.length, 0, true);
        checkExactOutput(DType.FLOAT32, output.length);
        runCopied(input, null, 0, output, 0);
    }

    /** Reads {@code inputSize()} floats from {@code input[inOff]}, writes {@code outputSize()} floats at {@code output[outOff]}. */
    public void run(float[] input, int inOff, float[] output, int outOff) {
        checkInput(DType.FLOAT32, input.length, inOff, false);
        checkOutput(DType.FLOAT32, output.length, outOff);
        runCopied(input, null, inOff, output, outOff);
    }

    /**
     * {@code output = forward(input)} for a plan traced on an int64 example (token ids, indices). Every value is checked
     * on the run against the dimension it indexes: one out of range throws {@link IndexOutOfBoundsException} naming it.
     */
    public void run(long[] input, float[] output) {
        checkInput(DType.INT64, input.length, 0, true);
        checkExactOutput(DType.FLOAT32, output.length);
        runCopied(null, input, 0, output, 0);
    }

    /** Reads {@code inputSize()} int64 values from {@code input[inOff]}, writes {@code outputSize()} floats at {@code output[outOff]}. */
    public void run(long[] input, int inOff, float[] output, int outOff) {
        checkInput(DType.INT64, input.length, inOff, false);
        checkOutput(DType.FLOAT32, output.length, outOff);
        runCopied(null, input, inOff, output, outOff);
    }

    /** {@code output[0 .. outputSize()) = forward(input)} for a plan that returns int64 ({@link #outputType()}) from float32 input. */
    public void run(float[] input, long[] output) {
        checkInput(DType.FLOAT32, input.length, 0, true);
        checkExactOutput(DType.INT64, output.length);
        runCopied(input, null, 0, output, 0);
    }

    /** Reads {@code inputSize()} floats from {@code input[inOff]}, writes {@code outputSize()} int64 values at {@code output[outOff]}. */
    public void run(float[] input, int inOff, long[] output, int outOff) {
        checkInput(DType.FLOAT32, input.length, inOff, false);
        checkOutput(DType.INT64, output.length, outOff);
        runCopied(input, null, inOff, output, outOff);
    }

    /** {@code output = forward(input)} for a plan that takes int64 input and returns int64 ({@link #outputType()}). */
    public void run(long[] input, long[] output) {
        checkInput(DType.INT64, input.length, 0, true);
        checkExactOutput(DType.INT64, output.length);
        runCopied(null, input, 0, output, 0);
    }

    /** Reads {@code inputSize()} int64 values from {@code input[inOff]}, writes {@code outputSize()} int64 values at {@code output[outOff]}. */
    public void run(long[] input, int inOff, long[] output, int outOff) {
        checkInput(DType.INT64, input.length, inOff, false);
        checkOutput(DType.INT64, output.length, outOff);
        runCopied(null, input, inOff, output, outOff);
    }

    /**
     * The caller's array is of this plan's input type and holds its input: exactly ({@code whole}), or from
     * {@code inOff} on.
     */
    private void checkInput(DType type, int length, int inOff, boolean whole) {
        requireInput(type);
        String unit = units(type);
        if (whole ? length != inputNumel : inOff < 0 || (long) inOff + inputNumel > length) {
            throw new IllegalArgumentException("InferencePlan.run: expected an input of " + inputNumel + unit + " (shape " + str(inputShape)
                    + ") but got " + (whole ? Integer.toString(length) : Math.max(0, length - Math.max(inOff, 0)) + unit + " from offset " + inOff));
        }
    }

    private void requireInput(DType type) {
        if (inputType != type) {
            throw new IllegalArgumentException("InferencePlan.run: this plan takes " + inputType.shortName() + " input of shape " + str(inputShape)
                    + " (it was traced on one), not " + type.shortName() + "; pass a " + (inputType == DType.INT64 ? "long[]" : "float[]"));
        }
    }

    private void checkExactOutput(DType type, int length) {
        requireOutput(type);
        if (length != outputNumel) {
            throw new IllegalArgumentException("InferencePlan.run: expected an output buffer of " + outputNumel + units(type) + " (shape "
                    + str(outputShape) + ") but got " + length);
        }
    }

    private void checkOutput(DType type, int length, int outOff) {
        requireOutput(type);
        if (outOff < 0 || (long) outOff + outputNumel > length) {
            throw new IllegalArgumentException("InferencePlan.run: the output needs room for " + outputNumel + units(type) + " (shape " + str(outputShape)
                    + ") but has " + Math.max(0, length - Math.max(outOff, 0)) + " from offset " + outOff);
        }
    }

    private static String units(DType type) {
        return type == DType.INT64 ? " int64 values" : " floats";
    }

    private void requireOutput(DType type) {
        if (outputType != type) {
            throw new IllegalArgumentException("InferencePlan.run: this plan returns " + outputType.shortName() + " of shape " + str(outputShape)
                    + ", not " + type.shortName() + "; pass a " + (outputType == DType.INT64 ? "long[]" : "float[]") + " output");
        }
    }

    /**
     * Copies the input ({@code floats} or {@code longs} from {@code inOff}) into a context's input region, runs, and
     * copies the result out into {@code output} (a float[] or, for an int64 plan, a long[]) at {@code outOff}.
     */
    private void runCopied(float[] floats, long[] longs, int inOff, Object output, int outOff) {
        Context c = acquire();
        try {
            copyIn(floats, longs, inOff, c.seg);
            execute(c.frame, c.seg, inputRegion);
            if (output instanceof long[] ids) {
                MemorySegment.copy(c.seg, ValueLayout.JAVA_LONG_UNALIGNED, base[result.id()] * 4, ids, outOff, outputNumel);
            } else {
                MemorySegment.copy(c.seg, ValueLayout.JAVA_FLOAT, base[result.id()] * 4, (float[]) output, outOff, outputNumel);
            }
        } finally {
            release(c);
        }
    }

    private void copyIn(float[] floats, long[] longs, int inOff, MemorySegment arena) {
        if (floats != null) {
            MemorySegment.copy(floats, inOff, arena, ValueLayout.JAVA_FLOAT, inputRegion * 4, inputNumel);
        } else {
            MemorySegment.copy(longs, inOff, arena, ValueLayout.JAVA_LONG_UNALIGNED, inputRegion * 4, inputNumel);
        }
    }

    private long outputBytes() {
        return (long) outputNumel * outputType.byteSize();
    }

    private long inputBytes() {
        return (long) inputNumel * inputType.byteSize();
    }

    private String inputCount() {
        return inputNumel + units(inputType);
    }

    /**
     * Reads the first {@code inputSize()} elements of {@code input} (floats, or int64 values for an int64 plan) and
     * writes the first {@code outputSize()} elements of {@code output} (floats, or int64 values for a plan whose
     * {@link #outputType()} is int64; native byte order). A native float input segment is read in place; a heap one, or int64 ids,
     * are copied first.
     */
    public void run(MemorySegment input, MemorySegment output) {
        if (input.byteSize() < inputBytes()) {
            throw new IllegalArgumentException("InferencePlan.run: expected an input of " + inputCount() + " (shape " + str(inputShape)
                    + ") but the segment holds " + input.byteSize() / inputType.byteSize() + units(inputType));
        }
        if (output.byteSize() < outputBytes()) {
            throw new IllegalArgumentException("InferencePlan.run: the output needs room for " + outputNumel + units(outputType) + " (shape "
                    + str(outputShape) + ") but the segment holds " + output.byteSize() / outputType.byteSize());
        }
        if (output.isReadOnly()) {
            throw new IllegalArgumentException("InferencePlan.run: the output segment is read-only");
        }
        Context c = acquire();
        try {
            if (input.isNative() && inputType != DType.INT64) {
                // read in place; int64 ids are copied first: each is checked against its dimension, then used as an index,
                // and a caller's segment could change between the two reads (another thread, shared memory)
                execute(c.frame, input, 0);
            } else {
                MemorySegment.copy(input, 0, c.seg, inputRegion * 4, inputBytes());
                execute(c.frame, c.seg, inputRegion);
            }
            MemorySegment.copy(c.seg, base[result.id()] * 4, output, 0, outputBytes());
        } finally {
            release(c);
        }
    }

    /** Convenience: a new tensor with the result for a tensor input of the traced shape and type (allocates). */
    public Tensor run(Tensor input) {
        if (!Arrays.equals(input.shapeRef(), inputShape) || input.dtype() != inputType) {
            throw new IllegalArgumentException("InferencePlan.run: expected " + (inputType == DType.INT64 ? "an " : "a ") + inputType.shortName()
                    + " input of shape " + str(inputShape)
                    + " but got " + input.dtype().shortName() + " of shape " + str(input.shapeRef()));
        }
        MemorySegment in = inputType == DType.INT64 ? MemorySegment.ofArray(input.toLongArray()) : MemorySegment.ofArray(input.toFloatArray()); // toFloatArray gathers a strided input itself (a contiguous() copy here was never closed)
        if (outputType == DType.INT64) {
            long[] ids = new long[outputNumel];
            run(in, MemorySegment.ofArray(ids));
            return outputShape.length == 0 ? Tensor.of(ids, 1).reshape() : Tensor.of(ids, outputShape);
        }
        float[] out = new float[outputNumel];
        run(in, MemorySegment.ofArray(out));
        // a 0-d result stays 0-d (Tensor.of with no dims makes a 1-d tensor of the array's length: a scalar came back [1])
        return outputShape.length == 0 ? Tensor.of(out, 1).reshape() : Tensor.of(out, outputShape);
    }

    /**
     * Times each step over {@code calls} runs on {@code input} (after as many warm-up runs) and returns a table of
     * median microseconds per step, like a profiler's per-op view.
     */
    public String profile(float[] input, int calls) {
        if (calls < 1) {
            throw new IllegalArgumentException("InferencePlan.profile: calls must be at least 1, got " + calls);
        }
        checkInput(DType.FLOAT32, input.length, 0, true);
        MemorySegment out = MemorySegment.ofArray(new long[outputNumel]); // room for either output type
        MemorySegment in = MemorySegment.ofArray(input);
        for (int i = 0; i < calls; i++) {
            run(in, out);
        }
        return profile(input, null, calls);
    }

    /** {@link #profile(float[], int)} for a plan traced on an int64 example. */
    public String profile(long[] input, int calls) {
        if (calls < 1) {
            throw new IllegalArgumentException("InferencePlan.profile: calls must be at least 1, got " + calls);
        }
        checkInput(DType.INT64, input.length, 0, true);
        MemorySegment out = MemorySegment.ofArray(new long[outputNumel]); // room for either output type
        MemorySegment in = MemorySegment.ofArray(input);
        for (int i = 0; i < calls; i++) {
            run(in, out);
        }
        return profile(null, input, calls);
    }

    private String profile(float[] floats, long[] longs, int calls) {
        Context c = acquire();
        boolean wasSerial = Parallel.enterSerial();
        try {
            PlanStep.Frame f = c.frame;
            return PlanStep.profile(steps, f, calls, () -> {
                copyIn(floats, longs, 0, c.seg);
                f.input = c.seg;
                f.inputOff = inputRegion;
            });
        } finally {
            Parallel.exitSerial(wasSerial);
            release(c);
        }
    }

    private void execute(PlanStep.Frame f, MemorySegment in, long inOff) {
        f.input = in;
        f.inputOff = inOff;
        boolean wasSerial = Parallel.enterSerial();
        try {
            for (PlanStep s : steps) {
                s.run(f);
            }
        } finally {
            Parallel.exitSerial(wasSerial);
            f.input = null;
        }
    }

    private Context acquire() {
        inFlight.incrementAndGet();
        if (closed) {
            callEnded();
            throw new IllegalStateException("InferencePlan is closed");
        }
        for (int i = 0; i < constVersions.length; i++) {
            if (constStorages.get(i).version() != constVersions[i]) {
                callEnded();
                throw new IllegalStateException("the model's weights changed since this plan was traced (constant " + i + " of "
                        + constStorages.get(i).byteSize() + " bytes was written): the plan holds a snapshot of some of them and"
                        + " reads others as they are now, so trace the model again");
            }
        }
        for (int i = 0, n = idle.length(); i < n; i++) {
            if (idle.get(i) != null) {
                Context c = idle.getAndSet(i, null);
                if (c != null) {
                    return c;
                }
            }
        }
        try {
            return new Context();
        } catch (RuntimeException | Error e) {
            callEnded(); // e.g. the memory budget refused the arena: this call holds nothing, and close() must still free the constants
            throw e;
        }
    }

    private void release(Context c) {
        try {
            if (!closed) {
                for (int i = 0, n = idle.length(); i < n; i++) {
                    if (idle.get(i) == null && idle.compareAndSet(i, null, c)) {
                        if (closed && idle.compareAndSet(i, c, null)) {
                            c.free(); // close() ran meanwhile and may have missed this slot
                        }
                        return;
                    }
                }
            }
            c.free();
        } finally {
            callEnded();
        }
    }

    /** The constants (the model's weights) stay held until the last call running at close() has finished. */
    private void callEnded() {
        if (inFlight.decrementAndGet() == 0 && closed) {
            releaseConstants();
        }
    }

    private void releaseConstants() {
        if (constantsReleased.compareAndSet(false, true)) {
            for (Storage s : constStorages) {
                s.release("InferencePlan.close()");
            }
        }
    }

    /** Frees the idle contexts and the hold on the constants; calls running now finish, later ones throw. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = 0; i < idle.length(); i++) {
            Context c = idle.getAndSet(i, null);
            if (c != null) {
                c.free();
            }
        }
        if (inFlight.get() == 0) {
            releaseConstants();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** The plan, one line per kernel step ({@code %n} are arena slots). */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("InferencePlan(input " + (inputType == DType.INT64 ? "int64" : "") + str(inputShape) + " -> output "
                + (outputType == DType.INT64 ? "int64" : "") + str(outputShape) + ", "
                + steps.length + " steps, " + arenaBytes() / 1024 + " KiB arena per concurrent call)");
        for (PlanStep s : steps) {
            sb.append("\n  ").append(s);
        }
        return sb.append("\n  return %").append(result.id()).toString();
    }
}
