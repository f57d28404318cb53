package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.kernels.Sgemm;
import dev.lanes.memory.MemoryScope;
import dev.lanes.memory.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The forward and backward pass of one training step compiled for fixed input and target shapes, the training twin
 * of {@link InferencePlan} (what {@code dev.lanes.train.TrainStep} runs; most code wants that class). {@link #capture}
 * runs the step once eagerly on an example batch while the {@link Tracer} records every kernel {@link Launch} runs:
 * the forward ops, the loss, and the backward rules (built from the same launches). {@link #run} then replays those
 * kernels: no graph, no Tensor, Node or Storage objects; the intermediates, the values saved for backward and the
 * gradients share one arena laid out by liveness, the parameters are read where they live (so an optimizer's
 * in-place update is seen by the next run), and the loss and each parameter's gradient are left in the arena, where
 * {@link #gradient} exposes them as tensors an optimizer can step on.
 *
 * <p>Like tracing for inference, the step's Java control flow is frozen at the path the example took, and what
 * cannot be replayed is refused at capture with a message naming it: ops without a plan step, in-place writes
 * outside a launched kernel, random draws other than dropout (its masks are drawn afresh each run, from the global
 * generator, as eagerly), reading values into Java inside the step. Module state a
 * launched kernel updates (BatchNorm's running statistics and batch count) is part of the plan: each run updates it
 * as the eager step would. Capture changes no state: it leaves every gradient null, and the parameters and buffers as
 * they were. It checks the plan
 * against the eager step on the example before returning.
 *
 * <p>One run at a time (the arena is the plan's own); runs use {@code Parallel}'s workers like eager ops.
 */
public final class TrainingPlan implements AutoCloseable {
    private static final int TAIL_PAD_FLOATS = 64;
    /** The seed of the private generator dropout draws from while a step is captured and checked. */
    private static final long CAPTURE_SEED = 0x5eed_c0deL;

    private final int[] inputShape;
    private final DType inputType;
    private final int[] targetShape;
    private final DType targetType;
    private final int outputSlot;
    /** The model's output from the last run, a view of its slot. */
    private Tensor output;
    private final PlanStep[] steps;
    private final List<Storage> constStorages;
    private final long[] base;
    private final int lossSlot;
    private final Storage arena;
    private final Storage inputStore;
    private final Storage targetStore;
    private final PlanStep.Frame frame;
    /** Each parameter's gradient as a view of its arena slot; null where the loss does not depend on the parameter. */
    private final Tensor[] gradients;
    private final int[] gradSlot;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    private TrainingPlan(int[] inputShape, DType inputType, int[] targetShape, DType targetType, PlanStep[] steps, List<Storage> constStorages,
                         ArenaLayout layout, int lossSlot, int outputSlot, int[] outputShape, int[] gradSlot, List<Tensor> params, long scratchFloats) {
        this.inputShape = inputShape;
        this.inputType = inputType;
        this.outputSlot = outputSlot;
        this.targetShape = targetShape;
        this.targetType = targetType;
        this.steps = steps;
        this.constStorages = constStorages;
        this.base = layout.base;
        this.lossSlot = lossSlot;
        MemorySegment[] consts = new MemorySegment[constStorages.size()];
        for (int i = 0; i < consts.length; i++) {
            consts[i] = constStorages.get(i).segment();
        }
        PlanStep.Needs needs = PlanStep.Needs.of(steps); // no bind(): an inference plan prepacks constant weights there; a training step's change
        long scratchOff = layout.top;
        long arenaFloats = scratchOff + ArenaLayout.roundUp(scratchFloats) + TAIL_PAD_FLOATS;
        if (arenaFloats > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("TrainStep.compile: the step needs an arena of " + arenaFloats
                    + " floats; offsets past 2^31 - 1 floats are not supported (use a smaller batch)");
        }
        Storage a = null;
        Storage in = null;
        try {
            a = Storage.allocate(arenaFloats * 4);
            in = Storage.allocate((long) Shapes.checkedNumel(inputShape) * inputType.byteSize());
            this.targetStore = Storage.allocate((long) Shapes.checkedNumel(targetShape) * targetType.byteSize());
        } catch (RuntimeException | Error e) {
            for (Storage s : new Storage[] {a, in}) {
                if (s != null) {
                    s.release("TrainingPlan: construction failed");
                }
            }
            throw e;
        }
        this.arena = a;
        this.inputStore = in;
        this.frame = new PlanStep.Frame(arena.segment(), base, consts, new Sgemm.Workspace(needs.gemmK(), needs.gemmN()), scratchOff,
                needs.heapFloats(), needs.image(), needs.columns(), needs.panel(), true);
        frame.input = inputStore.segment();
        frame.inputOff = 0;
        frame.input1 = targetStore.segment();
        try (MemoryScope outside = MemoryScope.unscoped()) {
            this.output = Tensor.viewOf(arena, outputShape, base[outputSlot]);
        }
        this.gradSlot = gradSlot;
        this.gradients = new Tensor[gradSlot.length];
        for (int i = 0; i < gradSlot.length; i++) {
            if (gradSlot[i] >= 0) {
                int[] shape = params.get(i).shapeRef();
                try (MemoryScope outside = MemoryScope.unscoped()) {
                    gradients[i] = Tensor.viewOf(arena, shape, base[gradSlot[i]]);
                }
            }
        }
    }

    /**
     * Runs {@code criterion(model(input), target)} and its backward once eagerly on the example batch while recording
     * the kernels, then compiles them for the example's shapes and types (input float32 or int64, e.g. token ids;
     * target float32 or int64 class indices). {@code params} are the tensors whose gradients the plan leaves (an
     * optimizer's parameters); each must be a leaf that requires grad and has no gradient yet. The example's values
     * are only used for this one step (and the check); the plan takes any batch of these shapes.
     */
    public static TrainingPlan capture(Function<Tensor, Tensor> model, BiFunction<Tensor, Tensor, Tensor> criterion, List<Tensor> params,
                                       Tensor exampleInput, Tensor exampleTarget) {
        try {
            return traceAndCompile(model, criterion, params, exampleInput, exampleTarget);
        } finally {
            Lanes.endCaptureSeeds(); // however capture ended, dropout draws from the global generator again
        }
    }

    private static TrainingPlan traceAndCompile(Function<Tensor, Tensor> model, BiFunction<Tensor, Tensor, Tensor> criterion, List<Tensor> params,
                                                Tensor exampleInput, Tensor exampleTarget) {
        checkType("input", exampleInput.dtype());
        checkType("target", exampleTarget.dtype());
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (!p.isLeaf()) {
                throw new IllegalArgumentException("TrainStep.compile: parameter " + i + " (shape " + p.size() + ") must be a leaf");
            }
            if (p.grad() != null) {
                throw new IllegalStateException("TrainStep.compile: parameter " + i + " (shape " + p.size()
                        + ") already has a gradient; zero the gradients to null first (optimizer.zeroGrad())");
            }
        }
        Tensor x;
        Tensor y;
        try (MemoryScope outside = MemoryScope.unscoped(); dev.lanes.autograd.Autograd.Mode g = dev.lanes.autograd.Autograd.noGrad()) {
            x = exampleInput.detach().clone(); // storages of their own: the trace tells inputs apart by storage
            y = exampleTarget.detach().clone();
        }
        Lanes.captureSeeds(CAPTURE_SEED); // dropout draws from a private generator while capturing: the global one is untouched
        Tracer tracer = Tracer.beginTraining(x, y);
        boolean traced = false;
        int lossSlot;
        int outputSlot;
        int[] gradSlot = new int[params.size()];
        Tensor lossTensor = null;
        Tensor outputTensor = null;
        Eager eager = new Eager(params.size());
        try (MemoryScope scope = MemoryScope.open()) {
            try {
                Tensor out = model.apply(x);
                if (out == null || out.dtype() != DType.FLOAT32) {
                    throw new IllegalArgumentException("TrainStep.compile: the model must return a float32 tensor, got "
                            + (out == null ? "null" : out.dtype().shortName()));
                }
                Tensor l = criterion.apply(out, y);
                if (l == null || l.dtype() != DType.FLOAT32 || l.numel() != 1) {
                    throw new IllegalArgumentException("TrainStep.compile: the loss must be a float32 tensor of one element, got "
                            + (l == null ? "null" : l.dtype().shortName() + " of shape " + l.size()));
                }
                if (!l.requiresGrad()) {
                    throw new IllegalArgumentException("TrainStep.compile: the loss does not require grad: no parameter takes part in it");
                }
                l.backward();
                refuseForeignGradients(tracer, params);
                lossTensor = wholeSlot(tracer, l);
                lossSlot = tracer.ref(lossTensor).id();
                outputTensor = wholeSlot(tracer, out);
                outputSlot = tracer.ref(outputTensor).id();
                for (int i = 0; i < params.size(); i++) {
                    Tensor g = params.get(i).grad();
                    if (g == null) {
                        gradSlot[i] = -1;
                        continue;
                    }
                    Tensor w = wholeSlot(tracer, g);
                    params.get(i).setGrad(w);
                    gradSlot[i] = tracer.ref(w).id();
                }
                traced = true;
            } finally {
                tracer.end();
                if (!traced) {
                    for (Tensor p : params) {
                        p.setGrad(null);
                    }
                    tracer.restoreState();
                    tracer.releaseConstants();
                }
            }
            eager.loss = lossTensor.item();
            eager.output = outputTensor.toFloatArray();
            for (int i = 0; i < params.size(); i++) {
                Tensor g = params.get(i).grad();
                eager.grads[i] = g == null ? null : g.toFloatArray();
                params.get(i).setGrad(null);
            }
        }
        try {
            TrainingPlan plan;
            try {
                plan = compile(x, y, tracer, lossSlot, outputSlot, outputTensor.shapeRef(), gradSlot, params);
            } catch (RuntimeException | Error e) {
                tracer.releaseConstants(); // no plan took them over
                throw e;
            }
            plan.stateStorages = tracer.stateStorages();
            Lanes.captureSeeds(CAPTURE_SEED); // the check run draws the same dropout masks as the eager step did
            plan.selfCheck(x, y, eager);
            return plan;
        } finally {
            x.close();
            y.close();
            tracer.restoreState(); // the running statistics the example batch and the check run updated
        }
    }

    /**
     * A leaf outside {@code params} that got a gradient (it requires grad but is not the optimizer's): eager backward
     * would accumulate into its grad every step, which the plan does not replay. Its gradient is put back as it was
     * and the capture refused.
     */
    private static void refuseForeignGradients(Tracer tracer, List<Tensor> params) {
        java.util.Set<Tensor> ours = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        ours.addAll(params);
        Tensor foreign = null;
        for (Map.Entry<Tensor, Tensor> e : tracer.gradsBefore.entrySet()) {
            Tensor leaf = e.getKey();
            if (ours.contains(leaf)) {
                continue;
            }
            foreign = foreign == null ? leaf : foreign;
            Tensor made = leaf.grad();
            leaf.setGrad(e.getValue()); // as it was before the capture
            if (made != null && made != e.getValue()) {
                made.close();
            }
        }
        if (foreign != null) {
            throw new UnsupportedOperationException("TrainStep.compile: a tensor of shape " + foreign.size() + " requires grad but is not among"
                    + " the optimizer's parameters; a compiled step would not accumulate its gradient as eager backward does."
                    + " Add it to the optimizer, or freeze it with requiresGrad(false)");
        }
    }

    private static void checkType(String what, DType t) {
        if (t != DType.FLOAT32 && t != DType.INT64) {
            throw new IllegalArgumentException("TrainStep.compile: the " + what + " must be float32 or int64, got " + t.shortName());
        }
    }

    /** The eager step's results on the example, for the check. */
    private static final class Eager {
        float loss;
        float[] output;
        final float[][] grads;

        Eager(int params) {
            grads = new float[params][];
        }
    }

    /** {@code t} itself when it is one whole slot, else a copy recorded into a slot of its own. */
    private static Tensor wholeSlot(Tracer tracer, Tensor t) {
        Ref r = tracer.ref(t);
        if (r.kind() == Ref.SLOT && r.offset() == 0 && t.isContiguous() && t.numel() == tracer.slotFloats.get(r.id())) {
            return t;
        }
        try (dev.lanes.autograd.Autograd.Mode g = dev.lanes.autograd.Autograd.noGrad()) {
            return t.clone(); // a copy step into a slot: nothing is folded while tracing a training step
        }
    }

    private static TrainingPlan compile(Tensor x, Tensor y, Tracer t, int lossSlot, int outputSlot, int[] outputShape, int[] gradSlot,
                                        List<Tensor> params) {
        int slots = t.slotFloats.size();
        int[] alias = new int[slots];
        for (int i = 0; i < slots; i++) {
            alias[i] = i;
        }
        List<PlanStep> steps = new ArrayList<>(t.steps);
        int[] results = new int[2 + gradSlot.length];
        results[0] = lossSlot;
        results[1] = outputSlot;
        for (int i = 0; i < gradSlot.length; i++) {
            results[i + 2] = gradSlot[i] < 0 ? lossSlot : gradSlot[i];
        }
        fuseReLUs(steps, t.slotFloats, alias, results);
        ArenaLayout layout = ArenaLayout.of(steps, t.slotFloats, alias, results, 0, true);
        long scratch = 0;
        for (PlanStep s : steps) {
            scratch = Math.max(scratch, s.scratchFloats());
        }
        return new TrainingPlan(x.shapeRef().clone(), x.dtype(), y.shapeRef().clone(), y.dtype(), steps.toArray(PlanStep[]::new), t.consts, layout,
                lossSlot, outputSlot, outputShape.clone(), gradSlot, params, scratch);
    }

    /**
     * relu(gemm(...)), relu(conv2d(...)) and relu(batch_norm(...)) become one step with the ReLU in the GEMM's epilogue
     * or the normalising pass, where nothing but the ReLU reads the pre-activation: ReLU's backward reads the ReLU's
     * output (mask_positive(g, y): y > 0 exactly where x > 0, NaN nowhere), so the pre-activation need not exist. A
     * pass over the activation less per layer (ReLU was ~4% of an MLP step); the same bits (the epilogue applies the
     * ReLU to the value the step would have stored).
     */
    private static void fuseReLUs(List<PlanStep> steps, List<Long> slotFloats, int[] alias, int[] results) {
        for (int i = 0; i < steps.size(); i++) {
            if (!(steps.get(i) instanceof PlanStep.Unary act) || act.op != dev.lanes.kernels.UnaryOp.RELU || !act.isPlainActivation()
                    || act.in.kind() != Ref.SLOT || act.in.offset() != 0 || act.n != slotFloats.get(act.in.id())) {
                continue;
            }
            int pre = ArenaLayout.canon(alias, act.in.id());
            PlanStep producer = null;
            boolean fusable = true;
            for (int r : results) {
                fusable &= ArenaLayout.canon(alias, r) != pre;
            }
            for (PlanStep s : steps) {
                for (Ref r : s.inputs()) {
                    fusable &= s == act || r.kind() != Ref.SLOT || ArenaLayout.canon(alias, r.id()) != pre;
                }
                for (Ref o : s.extraOutputs()) {
                    fusable &= o.kind() != Ref.SLOT || ArenaLayout.canon(alias, o.id()) != pre;
                }
                if (s.out.kind() == Ref.SLOT && ArenaLayout.canon(alias, s.out.id()) == pre) {
                    fusable &= producer == null && s.out.offset() == 0; // one writer, of the whole slot
                    producer = s;
                }
            }
            if (fusable && producer != null && producer.canFuseActivation(dev.lanes.kernels.UnaryOp.RELU)) {
                producer.fuseActivation(dev.lanes.kernels.UnaryOp.RELU);
                alias[act.out.id()] = pre;
                steps.remove(i);
                i--;
            }
        }
    }

    /**
     * Replays the plan on the capture's example and compares loss, output and gradients with the eager step's. The
     * replay takes the steps' exact forms (Frame.exactForms: no Winograd), so what it checks is the plan against the
     * eager step's kernels; Winograd's own rounding is WinogradTest's and TrainStepTest's to bound. Measured (ResNet-20
     * at random initialisation, Fashion-MNIST shapes, batch 16): the stem's weight gradient moves 5e-5 of its norm when
     * the input moves 1e-7 of its values and 3e-3 when it moves 1e-6 (ReLUs flip), and Winograd's rounding moved it 4e-3.
     */
    private void selfCheck(Tensor x, Tensor y, Eager eager) {
        float planLoss;
        frame.exactForms = true;
        try {
            planLoss = runChecked(x, y);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        } finally {
            frame.exactForms = false;
        }
        check("the loss", 0, eager.loss, planLoss);
        MemorySegment seg = arena.segment();
        for (int j = 0; j < eager.output.length; j++) {
            check("the model's output", j, eager.output[j], seg.getAtIndex(ValueLayout.JAVA_FLOAT, base[outputSlot] + j));
        }
        for (int i = 0; i < gradients.length; i++) {
            if (gradients[i] == null) {
                continue;
            }
            long at = gradients[i].storageOffset();
            String what = "the gradient of parameter " + i; // once, not per element
            for (int j = 0; j < eager.grads[i].length; j++) {
                check(what, j, eager.grads[i][j], seg.getAtIndex(ValueLayout.JAVA_FLOAT, at + j));
            }
        }
    }

    private void check(String what, int index, float eager, float planned) {
        boolean same = eager == planned || (Float.isNaN(eager) && Float.isNaN(planned))
                || Math.abs(eager - planned) <= 1e-3f * Math.max(1f, Math.abs(eager));
        if (!same) {
            close();
            throw new IllegalStateException("TrainStep.compile: the compiled step gives " + planned + " for " + what + " (element " + index
                    + ") where the eager step gives " + eager + "; the step may depend on its input's values. Plan:\n" + this);
        }
    }

    // ---- running ----

    public Size inputShape() {
        return new Size(inputShape);
    }

    public Size targetShape() {
        return new Size(targetShape);
    }

    public DType targetType() {
        return targetType;
    }

    /** Whether {@link #run} takes this input and target (shapes and target type), without allocating. */
    public boolean accepts(Tensor input, Tensor target) {
        return Arrays.equals(input.shapeRef(), inputShape) && input.dtype() == inputType && Arrays.equals(target.shapeRef(), targetShape)
                && target.dtype() == targetType;
    }

    /** Number of kernel steps. */
    public int stepCount() {
        return steps.length;
    }

    /** Bytes of the arena (intermediates, saved values, gradients, scratch). */
    public long arenaBytes() {
        return arena.byteSize();
    }

    /**
     * Parameter {@code i}'s gradient from the last run: a view of the plan's arena, valid until the next run or
     * close (read it, or step an optimizer on it, before then); null if the loss does not depend on the parameter.
     */
    public Tensor gradient(int i) {
        if (i < 0 || i >= gradients.length) {
            throw new IndexOutOfBoundsException("TrainingPlan.gradient: parameter index " + i + " out of range for " + gradients.length + " parameters");
        }
        Tensor g = gradients[i];
        if (g != null && g.isReleased() && !closed) {
            // a caller closed it (optimizer.zeroGrad() closes gradients): a fresh view of the same slot
            try (MemoryScope outside = MemoryScope.unscoped()) {
                g = Tensor.viewOf(arena, g.shapeRef(), base[gradSlot[i]]);
            }
            gradients[i] = g;
        }
        return g;
    }

    /**
     * Runs forward, loss and backward on {@code input} and {@code target} (copied into the plan's own buffers first) and
     * returns the loss; the gradients are then in {@link #gradient}.
     */
    public float run(Tensor input, Tensor target) {
        if (!Arrays.equals(input.shapeRef(), inputShape) || input.dtype() != inputType) {
            throw new IllegalArgumentException("TrainStep: expected a " + inputType.shortName() + " input of shape " + str(inputShape) + " but got "
                    + input.dtype().shortName() + " of shape " + str(input.shapeRef()));
        }
        if (!Arrays.equals(target.shapeRef(), targetShape) || target.dtype() != targetType) {
            throw new IllegalArgumentException("TrainStep: expected a " + targetType.shortName() + " target of shape " + str(targetShape)
                    + " but got " + target.dtype().shortName() + " of shape " + str(target.shapeRef()));
        }
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("TrainStep: already running on another thread (a training plan runs one step at a time)");
        }
        try {
            if (closed) {
                throw new IllegalStateException("TrainStep: the compiled step is closed");
            }
            return runChecked(input, target);
        } finally {
            busy.set(false);
        }
    }

    private float runChecked(Tensor input, Tensor target) {
        copy(input, inputStore.segment());
        copy(target, targetStore.segment());
        float loss = execute();
        for (int i = 0; i < stateStorages.size(); i++) { // written by the replay's kernels: seen as the eager update's write
            stateStorages.get(i).bumpVersion();          // (an inference plan traced before refuses its next call)
        }
        return loss;
    }

    /** The module state this plan's kernels update each run (BatchNorm's running statistics). */
    private List<Storage> stateStorages = List.of();

    /** The model's output (e.g. logits) from the last run: a view of the arena, valid until the next run or close. */
    public Tensor output() {
        if (output.isReleased() && !closed) {
            try (MemoryScope outside = MemoryScope.unscoped()) {
                output = Tensor.viewOf(arena, output.shapeRef(), base[outputSlot]);
            }
        }
        return output;
    }

    public DType inputType() {
        return inputType;
    }

    /**
     * Times each step over {@code calls} runs on {@code input} and {@code target} (after as many warm-up runs) and
     * returns a table of median microseconds per step.
     */
    public String profile(Tensor input, Tensor target, int calls) {
        for (int i = 0; i < calls; i++) {
            run(input, target);
        }
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("TrainStep: already running on another thread (a training plan runs one step at a time)");
        }
        try {
            if (closed) { // close() between the last run and here released the arena: the replay would write whoever took it
                throw new IllegalStateException("TrainingPlan is closed");
            }
            return PlanStep.profile(steps, frame, calls, () -> { });
        } finally {
            busy.set(false);
        }
    }

    private static void copy(Tensor t, MemorySegment to) {
        Tensor c = t.contiguous();
        try (OpFrame _ = OpFrame.enter()) {
            long bytes = (long) c.numel() * c.dtype().byteSize();
            MemorySegment.copy(c.seg(), (long) c.storageOffset() * c.dtype().byteSize(), to, 0, bytes);
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }

    private float execute() {
        for (PlanStep s : steps) { // every input value checked before the first write (see PlanStep.validateInputs)
            s.validateInputs(frame);
        }
        for (PlanStep s : steps) {
            s.run(frame);
        }
        return arena.segment().getAtIndex(ValueLayout.JAVA_FLOAT, base[lossSlot]);
    }

    /** Frees the arena (gradient views handed out keep it until they are closed) and the hold on the parameters. */
    @Override
    public void close() {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("TrainStep: close() while a step runs on another thread");
        }
        try {
            if (closed) {
                return;
            }
            closed = true;
            output.close();
            for (Tensor g : gradients) {
                if (g != null) {
                    g.close();
                }
            }
            arena.release("TrainingPlan.close()");
            inputStore.release("TrainingPlan.close()");
            targetStore.release("TrainingPlan.close()");
            for (Storage s : constStorages) {
                s.release("TrainingPlan.close()");
            }
        } finally {
            busy.set(false);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** The plan, one line per kernel step ({@code %n} are arena slots). */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("TrainingPlan(input " + inputType.shortName() + str(inputShape) + ", target " + targetType.shortName() + str(targetShape)
                + ", " + steps.length + " steps, " + arena.byteSize() / 1024 + " KiB arena)");
        for (PlanStep s : steps) {
            sb.append("\n  ").append(s);
        }
        return sb.append("\n  loss %").append(lossSlot).append(", output %").append(outputSlot).toString();
    }
}
