package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.memory.Storage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Records the kernels one forward pass runs, for {@link InferencePlan#trace}. While a tracer is active on a
 * thread, every kernel call {@link Launch} runs is reported here after its eager result is computed, as the same
 * {@link PlanStep} built over the plan's refs; tensors are told apart
 * by their storage: the traced input, one slot per storage a recorded op produced, or a constant (a parameter,
 * a buffer, or a value computed from constants only, which is folded: computed once, now).
 *
 * <p>What cannot be replayed is refused instead of silently baked in: a tensor made inside the forward by an op
 * without a plan step, an in-place write, or reading a traced value into Java (item(), toFloatArray()).
 */
final class Tracer {
    private static final ThreadLocal<Tracer> CURRENT = new ThreadLocal<>();
    /** Threads tracing now: lets every op skip the thread-local lookup when nobody traces. */
    private static final AtomicInteger ACTIVE = new AtomicInteger();

    static final String SUPPORTED = "conv2d, linear/addmm/mm/matmul/bmm, elementwise unary and binary ops (relu, sigmoid, tanh, add, mul, ...),"
            + " max_pool2d, avg_pool2d, adaptive_avg_pool2d, softmax, log_softmax, sum/mean/var/std/max()/min(), argmax/argmin, sort/topk/argsort (not their backward), views, reshape,"
            + " split/chunk, contiguous/clone, cat/stack (float32), where, masked_fill, tril/triu, comparisons and logical ops (bool),"
            + " toFloat()/toLong()/toType(), embedding/index_select, batch_norm, layer_norm, group_norm/instance_norm, scaled_dot_product_attention, dropout, cross_entropy/nll_loss;"
            + " in training steps also the backward of each";

    /** The traced inputs: an inference plan's one input; a training step's input and target. */
    private final Storage[] inputs;
    /** Who traces, for messages: "InferencePlan.trace" or "TrainStep.compile". */
    final String who;
    /**
     * A training step: the constants (parameters) change between runs, so nothing is folded; the gradients the
     * backward pass makes are slots like any intermediate.
     */
    final boolean training;
    /**
     * A trace that records without computing ({@link InferencePlan#traceUnchecked}): {@link Launch} skips every kernel
     * one of whose operands is the input or a slot, since no such value is ever read while tracing (host reads and ops
     * without a plan step are refused), zeroing what it would have written ({@link #zeroSkipped}), and runs only those
     * over constants, whose results the plan folds.
     */
    final boolean dry;
    private final Map<Storage, Integer> slotOf = new IdentityHashMap<>();
    private final Set<Storage> madeHere = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<Storage, Integer> constOf = new IdentityHashMap<>();
    final List<Long> slotFloats = new ArrayList<>();
    final List<Storage> consts = new ArrayList<>();
    final List<PlanStep> steps = new ArrayList<>();

    /** Storages made after this (on any thread) are values of the traced step unless a step or a factory made them here. */
    private final long startSerial = Storage.lastSerial();
    /** Factory results made on the tracing thread during the trace: constants of the plan. */
    private final Set<Storage> constantsMadeHere = Collections.newSetFromMap(new IdentityHashMap<>());

    private Tracer(String who, boolean training, boolean dry, Storage... inputs) {
        this.who = who;
        this.training = training;
        this.dry = dry;
        this.inputs = inputs;
    }

    static Tracer current() {
        return ACTIVE.get() == 0 ? null : CURRENT.get();
    }

    /** Traces an inference step; {@code dry}: without computing (see {@link #dry}). */
    static Tracer begin(Tensor input, boolean dry) {
        return begin(new Tracer(dry ? "InferencePlan.traceUnchecked" : "InferencePlan.trace", false, dry, input.storageRef()));
    }

    /** Traces a training step: {@code input} is input 0, {@code target} input 1; nothing is folded. */
    static Tracer beginTraining(Tensor input, Tensor target) {
        return begin(new Tracer("TrainStep.compile", true, false, input.storageRef(), target.storageRef()));
    }

    private static Tracer begin(Tracer t) {
        if (CURRENT.get() != null) {
            throw new IllegalStateException(t.who + ": already tracing on this thread");
        }
        CURRENT.set(t);
        ACTIVE.incrementAndGet();
        return t;
    }

    void end() {
        CURRENT.remove();
        ACTIVE.decrementAndGet();
    }

    /** Releases the constants this trace holds (when tracing failed; a finished plan owns them). */
    void releaseConstants() {
        for (Storage s : consts) {
            s.release("InferencePlan.close()");
        }
        consts.clear();
    }

    // ---- the tensor's guards: one call each, a no-op unless this thread traces ----

    /** A storage allocated while tracing: a step must produce it, or it was made by an op the plan cannot replay. */
    static void noteAllocated(Storage s) {
        Tracer t = current();
        if (t != null) {
            t.allocated(s);
        }
    }

    /** A factory's result (no tensor input): a constant of the plan, not a value the plan must compute. */
    static void noteConstant(Storage s) {
        Tracer t = current();
        if (t != null) {
            t.madeHere.remove(s);
            t.constantsMadeHere.add(s);
        }
    }

    /** An op that has no plan step and writes its result outside the launch path: refused while tracing. */
    static void checkNoPlanStep(String op) {
        Tracer t = current();
        if (t != null) {
            throw new UnsupportedOperationException(t.who + ": " + op + " has no plan step (its kernel writes outside the launch path);"
                    + " supported: " + SUPPORTED);
        }
    }

    /**
     * Made during the trace but neither by a recorded step, nor by a factory on this thread, nor an input: another
     * thread computed it (the tracer sees only its own thread), or an op without a plan step did.
     */
    private boolean untracked(Storage s) {
        return madeHere.contains(s) || (s.serial() > startSerial && !constantsMadeHere.contains(s) && !constOf.containsKey(s)
                && !slotOf.containsKey(s) && inputIndex(s) < 0);
    }

    /** An op the plan cannot replay for a reason of its own ({@code why}, a full sentence): refused while tracing. */
    static void refuse(String why) {
        Tracer t = current();
        if (t != null) {
            throw new UnsupportedOperationException(t.who + ": " + why);
        }
    }

    /** In-place writes cannot be replayed: refused while tracing. */
    static void checkInPlace(String op, Tensor target) {
        Tracer t = current();
        if (t != null) {
            t.refuseInPlace(op, target);
        }
    }

    /**
     * A launched kernel updates a module's state: replayed by a training plan (the state's bytes are kept, so
     * capture can put them back: capturing changes nothing), refused by an inference trace.
     */
    static void checkStateWrite(String op, Tensor target) {
        Tracer t = current();
        if (t != null) {
            if (!t.training) {
                t.refuseInPlace(op, target);
            }
            t.keepState(op, target);
        }
    }

    private final Map<Storage, byte[]> stateBefore = new IdentityHashMap<>();

    private void keepState(String op, Tensor target) {
        Storage s = target.storageRef();
        if (inputIndex(s) >= 0 || slotOf.containsKey(s) || madeHere.contains(s)) {
            refuseInPlace(op, target); // a value of this step, not a module's state
        }
        if (!stateBefore.containsKey(s)) {
            s.pin(); // held while it is read: a close on another thread must not hand the block to another tensor meanwhile
            try {
                stateBefore.put(s, s.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            } finally {
                s.unpin();
            }
        }
    }

    /** Leaves whose gradient the traced step assigned, with the gradient each had before (identity order). */
    final Map<Tensor, Tensor> gradsBefore = new java.util.LinkedHashMap<>();

    void gradAssigned(Tensor leaf, Tensor previous) {
        gradsBefore.putIfAbsent(leaf, previous); // Tensor keeps Object's identity equality: one entry per leaf, its first grad
    }

    /** The storages of the module state the traced step updates (BatchNorm's running statistics). */
    List<Storage> stateStorages() {
        return List.copyOf(stateBefore.keySet());
    }

    /** Puts back the module state the traced step (and a plan's check run) updated. */
    void restoreState() {
        for (Map.Entry<Storage, byte[]> e : stateBefore.entrySet()) {
            Storage s = e.getKey();
            s.pin(); // refused if it was released meanwhile: its block may be another tensor's now
            try {
                java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(e.getValue()), 0, s.segment(), 0, e.getValue().length);
            } finally {
                s.unpin();
            }
        }
    }

    /** Reading a traced value into Java would bake it into the plan: refused while tracing. */
    static void checkRead(Tensor source) {
        Tracer t = current();
        if (t != null) {
            t.refuseRead(source);
        }
    }

    // ---- hooks called by ops ----

    void allocated(Storage s) {
        madeHere.add(s);
    }

    void refuseInPlace(String op, Tensor t) {
        throw new UnsupportedOperationException(who + ": the traced step writes in place (" + op + " on a tensor of shape "
                + str(t.shapeRef()) + "); a traced plan cannot replay in-place ops: use the out-of-place form (e.g. relu() instead of relu_())");
    }

    void refuseRead(Tensor t) {
        Storage s = t.storageRef();
        if (training) { // a parameter or buffer changes between steps: the plan would keep the value read at capture
            throw new UnsupportedOperationException(who + ": the traced step reads a tensor of shape " + str(t.shapeRef())
                    + " into Java (item(), toFloatArray(), ...); a compiled training step would keep the value it read at capture"
                    + " (a parameter or buffer changes between steps). Keep data-dependent logic out of forward()");
        }
        if (inputIndex(s) >= 0 || slotOf.containsKey(s) || untracked(s)) {
            throw new UnsupportedOperationException(who + ": the traced step reads a computed tensor of shape " + str(t.shapeRef())
                    + " into Java (item(), toFloatArray(), ...); a traced plan would bake in this input's value. Keep data-dependent"
                    + " logic out of forward()");
        }
        // a weight or buffer read into Java: its value is frozen into the plan, so the plan watches it like its other
        // constants (a later write to it is refused at the next run; x.mul(temp.item()) kept the old temp silently)
        constant(s);
    }

    Ref ref(Tensor t) {
        Storage s = t.storageRef();
        long off = t.storageOffset();
        int in = inputIndex(s);
        if (in >= 0) {
            return new Ref(Ref.INPUT, in, off);
        }
        Integer slot = slotOf.get(s);
        if (slot != null) {
            return new Ref(Ref.SLOT, slot, off);
        }
        if (untracked(s)) {
            throw new UnsupportedOperationException(who + ": a tensor of shape " + str(t.shapeRef())
                    + " was made inside the traced step by an op that has no plan step, or on another thread (a trace records only"
                    + " its own thread's kernels); supported: " + SUPPORTED
                    + ". Make constants outside forward() (a parameter or a registered buffer)");
        }
        return new Ref(Ref.CONST, constant(s), off);
    }

    /**
     * Whether a kernel over {@code operands} may be skipped: a dry trace, and an operand is the input or a slot, so the
     * step is recorded, never folded (folding needs every operand a constant, {@link #record(PlanStep, Tensor, boolean)}).
     */
    boolean skips(Tensor[] operands) {
        if (!dry) {
            return false;
        }
        for (Tensor t : operands) {
            Storage s = t.storageRef();
            if (inputIndex(s) >= 0 || slotOf.containsKey(s)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Zeroes what a kernel {@link #skips} would have written: its result and the fresh tensors it writes besides
     * (argmax positions, saved statistics). Pool memory holds other tensors' old values, which no tensor may show, not
     * even one that escapes a dry trace unread.
     */
    void zeroSkipped(Tensor out, Tensor[] operands) {
        out.seg().fill((byte) 0);
        for (Tensor t : operands) {
            if (madeHere.contains(t.storageRef())) {
                t.seg().fill((byte) 0);
            }
        }
    }

    private int inputIndex(Storage s) {
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == s) {
                return i;
            }
        }
        return -1;
    }

    /** Whether {@code t} lives in a slot a recorded step writes (not an input, not a constant). */
    boolean isSlot(Tensor t) {
        return slotOf.containsKey(t.storageRef());
    }

    private int constant(Storage s) {
        Integer id = constOf.get(s);
        if (id == null) {
            s.retain();
            id = consts.size();
            consts.add(s);
            constOf.put(s, id);
        }
        return id;
    }

    /** Records the copy of a constant result, or of a view, into a whole slot of its own (never folded). */
    void outputCopy(Tensor src, Tensor out) {
        record(new PlanStep.Copy(ref(src), src.stridesRef().clone(), out.shapeRef().clone()), out, false);
    }

    /** Adds {@code step} producing {@code out}, or folds it when all its inputs are constants. */
    private void record(PlanStep step, Tensor out) {
        record(step, out, !training);
    }

    private void record(PlanStep step, Tensor out, boolean fold) {
        boolean allConst = fold && !step.random();
        for (Ref r : step.inputs()) {
            allConst &= r.kind() == Ref.CONST;
        }
        Storage s = out.storageRef();
        madeHere.remove(s);
        if (allConst) {
            constant(s); // already computed by the eager op
            return;
        }
        int slot = slotFloats.size();
        slotOf.put(s, slot);
        slotFloats.add((s.byteSize() + 3) / 4); // a bool slot of n bytes takes ceil(n / 4) floats
        step.out = new Ref(Ref.SLOT, slot, out.storageOffset());
        steps.add(step);
    }

    /**
     * Whether {@code step} folds into a constant: every input but its fresh second outputs is one (as
     * {@link #record(PlanStep, Tensor)} decides), and it lists every fresh tensor among its extra outputs.
     */
    private boolean folds(PlanStep step, List<Tensor> fresh) {
        if (training || step.random()) {
            return false;
        }
        java.util.Set<Integer> freshSlots = new java.util.HashSet<>();
        for (Tensor t : fresh) {
            freshSlots.add(slotOf.get(t.storageRef()));
        }
        for (Ref r : step.extraOutputs()) {
            if (r.kind() == Ref.SLOT) {
                freshSlots.remove(r.id());
            }
        }
        if (!freshSlots.isEmpty()) {
            return false; // a fresh tensor the step does not write: refused below, folded or not
        }
        for (Tensor t : fresh) {
            freshSlots.add(slotOf.get(t.storageRef()));
        }
        for (Ref r : step.inputs()) {
            if (r.kind() != Ref.CONST && !(r.kind() == Ref.SLOT && freshSlots.contains(r.id()))) {
                return false;
            }
        }
        return true;
    }

    /** A kernel call {@link Launch} ran eagerly: the same step, built over the plan's refs of its inputs. */
    void record(java.util.function.Function<Ref[], PlanStep> step, Tensor[] inputs, Tensor out) {
        Ref[] refs = new Ref[inputs.length];
        List<Tensor> fresh = null;
        for (int i = 0; i < refs.length; i++) {
            Storage s = inputs[i].storageRef();
            if (madeHere.contains(s)) {
                // made for this kernel to write besides its result (argmax positions, kept columns, saved statistics)?
                // a slot for now; refused below unless the step lists it among its extra outputs
                madeHere.remove(s);
                slotOf.put(s, slotFloats.size());
                slotFloats.add((s.byteSize() + 3) / 4);
                if (fresh == null) {
                    fresh = new ArrayList<>(2);
                }
                fresh.add(inputs[i]);
            }
            refs[i] = ref(inputs[i]);
        }
        PlanStep built = step.apply(refs);
        if (fresh != null && folds(built, fresh)) {
            // every operand a constant: the step folds (below), so its second outputs (topk's indices), which the eager
            // call already wrote, are constants too; their slots, the last ones made, would have no step to write them
            for (int i = fresh.size() - 1; i >= 0; i--) {
                slotOf.remove(fresh.get(i).storageRef());
                slotFloats.removeLast();
            }
            for (Tensor t : fresh) {
                constant(t.storageRef());
            }
            fresh = null;
        }
        if (fresh != null) {
            for (Tensor t : fresh) {
                int slot = slotOf.get(t.storageRef());
                boolean written = false;
                for (Ref r : built.extraOutputs()) {
                    written |= r.kind() == Ref.SLOT && r.id() == slot;
                }
                if (!written) {
                    slotOf.remove(t.storageRef());
                    madeHere.add(t.storageRef());
                    ref(t); // throws: made by an op without a plan step
                }
            }
        }
        record(built, out);
    }
}
