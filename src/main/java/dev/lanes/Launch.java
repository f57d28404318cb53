package dev.lanes;

import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/**
 * The one launch path of every kernel call that has a plan step: the same {@link PlanStep} runs the eager op and is
 * what {@link InferencePlan#trace} records, so eager and plan share one driver per kernel family.
 *
 * <p>An op hands over a factory that builds its step from {@link Ref}s of its inputs, in order. Eager: the refs point
 * at the inputs' own storages ({@link Ref#ARG}), the storages are pinned ({@link OpFrame}), and the step runs at once
 * into {@code out}. Tracing: the tracer builds a second step from refs into the plan (input, slot or constant) and
 * keeps it. Autograd is recorded by the op afterwards with {@link Tensor#record}. A kernel that writes more than its
 * result (a max-pool's argmax positions, a convolution's kept columns, a norm's saved statistics, all for backward)
 * takes those fresh tensors as inputs and lists them in {@link PlanStep#extraOutputs}; a training plan gives each a
 * slot.
 *
 * <p>Families on this path: elementwise of one and two tensors, copies (clone, cat, stack), matrix products (GEMM),
 * convolution, pooling, softmax, normalisation, attention, embedding/index_select, cross-entropy/NLL, dropout's mask,
 * value reductions, sort/topk/argsort and selections (where, masked_fill, tril, triu), and the backward kernels of convolution,
 * pooling, normalisation, attention, embedding, slicing and the losses: every op with a plan step, and every
 * forward of the {@code Tensor} facade but these, which call their kernels directly inside an {@link OpFrame} and
 * have no plan step: in-place ops and out= variants ({@link InPlaceOps}: a plan cannot replay a write;
 * {@link #beforeWrite} refuses them while tracing), max(dim)/min(dim) (values and indices in one kernel call), int64 copies
 * (an int64 cat included), and gather/scatter_add/one_hot. The MSE, L1 and BCE losses and the other backward rules
 * are built from facade ops, so they run through here too: a {@link TrainingPlan} replays a whole training step.
 *
 * <p>This class is also the only place the rest of the package informs the {@link Tracer}: kernel calls
 * ({@link #run}), allocations, writes and reads into Java (the three hooks at the end).
 */
final class Launch {
    private Launch() {
    }

    /**
     * Runs the step {@code step} builds over the inputs' refs into the fresh, contiguous {@code out}; returns out.
     * If the kernel fails (an interrupted wait for its workers, a released input), {@code out} is closed before the
     * exception propagates: nobody else holds it, and leaving it to the Cleaner kept its block until a GC.
     */
    static Tensor run(Function<Ref[], PlanStep> step, Tensor out, Tensor... inputs) {
        int n = inputs.length;
        Ref[] refs = new Ref[n];
        MemorySegment[] segs = new MemorySegment[n + 1];
        Tracer t = Tracer.current();
        try (OpFrame _ = OpFrame.enter()) {
            for (int i = 0; i < n; i++) {
                segs[i] = inputs[i].seg();
                refs[i] = new Ref(Ref.ARG, i, inputs[i].storageOffset());
            }
            segs[n] = out.seg();
            if (t != null && t.skips(inputs)) {
                t.zeroSkipped(out, inputs); // a dry trace records the step below without running it
            } else {
                PlanStep s = step.apply(refs);
                s.out = new Ref(Ref.ARG, n, out.storageOffset());
                s.run(PlanStep.Frame.eager(segs));
            }
        } catch (Throwable e) {
            out.close();
            throw e;
        }
        if (t != null) {
            t.record(step, inputs, out);
        }
        return out;
    }

    /**
     * {@link #run} for ops with optional operands (a bias, saved statistics): {@code inputs} may hold nulls, and the
     * step factory gets refs aligned with {@code inputs}, null where an operand is absent.
     */
    static Tensor runOptional(Function<Ref[], PlanStep> step, Tensor out, Tensor... inputs) {
        int[] at = new int[inputs.length];
        int count = 0;
        for (int i = 0; i < inputs.length; i++) {
            at[i] = inputs[i] == null ? -1 : count++;
        }
        Tensor[] present = new Tensor[count];
        for (int i = 0; i < inputs.length; i++) {
            if (at[i] >= 0) {
                present[at[i]] = inputs[i];
            }
        }
        return run(refs -> {
            Ref[] aligned = new Ref[at.length];
            for (int i = 0; i < at.length; i++) {
                aligned[i] = at[i] < 0 ? null : refs[at[i]];
            }
            return step.apply(aligned);
        }, out, present);
    }

    // ---- what the tracer must hear of besides kernel calls: one call each, a no-op unless this thread traces ----

    /** A tensor's storage was allocated: a recorded step must produce it, or it came from an op the plan cannot replay. */
    static void allocated(dev.lanes.memory.Storage s) {
        Tracer.noteAllocated(s);
    }

    /** A factory made this storage from Java values alone (zeros, of(...)): a plan may keep it as a constant. */
    static void madeConstant(dev.lanes.memory.Storage s) {
        Tracer.noteConstant(s);
    }

    /** An in-place write or out= variant is about to write into {@code target}: refused while tracing. */
    static void beforeWrite(String op, Tensor target) {
        Tracer.checkInPlace(op, target);
    }

    /**
     * A launched kernel is about to update {@code target}, a module's state outside the step (BatchNorm's running
     * statistics): a training plan replays the write, other traces refuse it.
     */
    static void beforeStateWrite(String op, Tensor target) {
        Tracer.checkStateWrite(op, target);
    }

    /** A leaf's gradient is about to be replaced (backward's accumulation): a training trace notes whose. */
    static void gradAssigned(Tensor leaf, Tensor previous) {
        Tracer t = Tracer.current();
        if (t != null) {
            t.gradAssigned(leaf, previous);
        }
    }

    /** {@code op} writes its result with a kernel outside this path (one_hot, gather, scatter_add): refused while tracing. */
    static void noPlanStep(String op) {
        Tracer.checkNoPlanStep(op);
    }

    /**
     * Whether {@code t} holds no values: the input or an intermediate of a trace that records without computing
     * ({@link InferencePlan#traceUnchecked}). An op's own check of values (an index within range) skips it; the plan
     * step makes that check on every run.
     */
    static boolean unvalued(Tensor t) {
        Tracer tr = Tracer.current();
        return tr != null && tr.skips(new Tensor[] {t});
    }

    /** A tensor's values are about to be read into Java (item(), toFloatArray()): refused while tracing a computed value. */
    static void beforeHostRead(Tensor source) {
        Tracer.checkRead(source);
    }
}
