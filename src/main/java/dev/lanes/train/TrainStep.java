package dev.lanes.train;

import dev.lanes.DType;
import dev.lanes.Tensor;
import dev.lanes.TrainingPlan;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Loss;
import dev.lanes.nn.Module;
import dev.lanes.nn.utils.ClipGrad;
import dev.lanes.optim.Optimizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One training step compiled, in the spirit of {@code torch.compile} on a step function:
 * <pre>{@code
 * TrainStep step = TrainStep.compile(net, criterion, optimizer);
 * for (DataLoader.Batch b : loader) {
 *     float loss = step.run(b.inputs(), b.labels());   // zero_grad, forward, loss, backward, optimizer.step()
 *     Tensor logits = step.output();                  // the model's output of this step (for accuracy)
 * }
 * }</pre>
 * The first run for a new pair of input and target shapes captures a {@link TrainingPlan} (an eager step on that
 * batch, traced; it changes no state), cached per shape pair (the last, smaller batch of an epoch gets its own);
 * each run then replays the plan's kernels and calls {@code optimizer.step()} on the gradients it left, so every
 * optimizer, its options and a learning-rate scheduler work as in eager training. After a run each parameter's
 * {@code grad()} is the plan's gradient (valid until the next run).
 *
 * <p>What the plan cannot replay is refused when it is captured ({@link UnsupportedOperationException} naming it):
 * in-place writes outside a kernel, random draws other than dropout (whose masks are drawn afresh each run, as
 * eagerly), ops without a plan step, and reading values into Java inside forward; {@link #prepare} captures ahead of time so callers can fall back to eager training. Not
 * thread-safe: one step at a time, like the optimizer it drives.
 */
public final class TrainStep implements AutoCloseable {
    /** Shape pairs kept compiled at once; the least recently used plan is closed beyond this. */
    static final int MAX_PLANS = 4;

    private final Function<Tensor, Tensor> model;
    private final BiFunction<Tensor, Tensor, Tensor> criterion;
    private final Optimizer optimizer;
    private final List<Tensor> params = new ArrayList<>();
    private final Map<String, TrainingPlan> plans = new LinkedHashMap<>(8, 0.75f, true);
    private double maxGradNorm = Double.NaN;
    private boolean closed;
    /** The plan of the previous run: the common case, found without building a key. */
    private TrainingPlan last;

    /** The module when compiled from one: its training flag is part of what a plan was captured for. */
    private final Module module;
    /** What the plans were captured for: each parameter's requires_grad, and the module's training flag. */
    private boolean[] requiresGrad = new boolean[0];
    /** The module and its submodules, and each one's training flag when the plans were captured (BatchNorm and dropout differ by them). */
    private List<Module> modules = List.of();
    private boolean[] training = new boolean[0];

    private TrainStep(Module module, Function<Tensor, Tensor> model, BiFunction<Tensor, Tensor, Tensor> criterion, Optimizer optimizer) {
        this.module = module;
        this.model = model;
        this.criterion = criterion;
        this.optimizer = optimizer;
        snapshot();
    }

    /** Takes the optimizer's parameters and the flags plans depend on as they are now. */
    private void snapshot() {
        params.clear();
        for (Optimizer.ParamGroup g : optimizer.paramGroups()) {
            params.addAll(g.params());
        }
        requiresGrad = new boolean[params.size()];
        for (int i = 0; i < requiresGrad.length; i++) {
            requiresGrad[i] = params.get(i).requiresGrad();
        }
        modules = module == null ? List.of() : module.modules();
        training = new boolean[modules.size()];
        structure = new int[modules.size()];
        for (int i = 0; i < training.length; i++) {
            training[i] = modules.get(i).isTraining();
            structure[i] = modules.get(i).structureVersion();
        }
        // the module's other parameters: one unfrozen later must be refused as at capture (its gradient is not accumulated)
        others = new ArrayList<>();
        if (module != null) {
            for (Tensor p : module.parameters()) {
                boolean mine = false;
                for (Tensor q : params) {
                    mine |= q == p;
                }
                if (!mine) {
                    others.add(p);
                }
            }
        }
        othersRequireGrad = new boolean[others.size()];
        for (int i = 0; i < othersRequireGrad.length; i++) {
            othersRequireGrad[i] = others.get(i).requiresGrad();
        }
    }

    /** Each of the module's submodules' structure version when the plans were captured (a layer replaced in a ModuleList). */
    private int[] structure = new int[0];

    /** The module's parameters the optimizer does not hold, and their requires_grad when the plans were captured. */
    private List<Tensor> others = List.of();
    private boolean[] othersRequireGrad = new boolean[0];

    /**
     * Adds the modules a capture asked for their train/eval flag to those {@link #stale} checks (a step compiled over
     * a function, not a Module, had none: net.eval() went unnoticed and dropout and BatchNorm kept training).
     */
    private void watchModes(List<Module> asked) {
        List<Module> all = new ArrayList<>(modules);
        for (Module m : asked) {
            boolean known = false;
            for (Module k : all) {
                known |= k == m;
            }
            if (!known) {
                all.add(m);
            }
        }
        if (all.size() == modules.size()) {
            return;
        }
        boolean[] flags = java.util.Arrays.copyOf(training, all.size());
        for (int i = modules.size(); i < all.size(); i++) {
            flags[i] = all.get(i).isTraining();
        }
        modules = all;
        training = flags;
    }

    /**
     * Whether the plans no longer fit: a parameter group added, a parameter frozen or unfrozen, the module or any of
     * its submodules switched between train() and eval() (which changes what BatchNorm and dropout do). Allocation-free
     * in the common case.
     */
    private boolean stale() {
        for (int m = 0; m < training.length; m++) { // a submodule's own switch too: net.bn.eval() to freeze BatchNorm's statistics
            if (modules.get(m).isTraining() != training[m] || (m < structure.length && modules.get(m).structureVersion() != structure[m])) {
                return true; // ... or a submodule added, replaced or removed (layers.set(1, new Identity()) kept the old layer's plan)
            }
        }
        for (int o = 0; o < othersRequireGrad.length; o++) { // unfrozen outside the optimizer: the new capture refuses it
            if (others.get(o).requiresGrad() != othersRequireGrad[o]) {
                return true;
            }
        }
        int i = 0;
        List<Optimizer.ParamGroup> groups = optimizer.paramGroups();
        for (int gi = 0; gi < groups.size(); gi++) { // indexed loops: no iterators, a step allocates nothing here
            List<Tensor> ps = groups.get(gi).params();
            for (int j = 0; j < ps.size(); j++) {
                Tensor p = ps.get(j);
                if (i >= params.size() || params.get(i) != p || p.requiresGrad() != requiresGrad[i]) {
                    return true;
                }
                i++;
            }
        }
        return i != params.size();
    }

    /** {@code criterion(model(input), target)}, its backward and {@code optimizer.step()}, compiled per shape. */
    public static TrainStep compile(Module model, Loss criterion, Optimizer optimizer) {
        if (model == null || criterion == null) {
            throw new IllegalArgumentException("TrainStep.compile: the model and the criterion must not be null");
        }
        if (optimizer == null) {
            throw new IllegalArgumentException("TrainStep.compile: the optimizer must not be null");
        }
        return new TrainStep(model, model::forward, criterion::forward, optimizer);
    }

    /**
     * The same over any model and loss functions: everything they compute must be replayable. A function hides the
     * modules it calls, so such a step watches only what it can see: the optimizer's parameters (a group added, one
     * frozen or unfrozen) and the train/eval flag of every module the capture asked for it. It cannot see a submodule
     * replaced, added or removed behind the function (a ModuleList's layer swapped) nor a parameter the optimizer does
     * not hold being unfrozen: after such a change compile a new step, or compile over the {@link Module}, which watches
     * its whole tree.
     */
    public static TrainStep compile(Function<Tensor, Tensor> model, BiFunction<Tensor, Tensor, Tensor> criterion, Optimizer optimizer) {
        if (model == null || criterion == null || optimizer == null) {
            throw new IllegalArgumentException("TrainStep.compile: the model, the criterion and the optimizer must not be null");
        }
        return new TrainStep(null, model, criterion, optimizer);
    }

    /**
     * Clips the gradients' global 2-norm to {@code maxNorm} before each optimizer step, like calling
     * {@code clip_grad_norm_(parameters, maxNorm)} between backward and step; returns this.
     */
    public TrainStep clipGradNorm(double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("TrainStep.clipGradNorm: max_norm must be a positive finite number, got " + maxNorm);
        }
        this.maxGradNorm = maxNorm;
        return this;
    }

    /**
     * Compiles now for these shapes and types (input float32, or int64 token ids; target int64 class indices or
     * float32) on a synthetic batch (normal floats, zeros for int64), so an unsupported model fails here, with a
     * message naming what is not supported, rather than at the first run. Changes no state; returns this.
     */
    public TrainStep prepare(int[] inputShape, DType inputType, int[] targetShape, DType targetType) {
        try (MemoryScope scope = MemoryScope.open()) {
            plan(synthetic(inputShape, inputType), synthetic(targetShape, targetType));
        }
        return this;
    }

    private static Tensor synthetic(int[] shape, DType type) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("TrainStep.prepare: negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, (long) d);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("TrainStep.prepare: shape " + Arrays.toString(shape) + " has " + n + " elements, more than a tensor holds");
        }
        if (type == DType.INT64) {
            return Tensor.zerosLong(shape);
        }
        if (type != DType.FLOAT32) {
            throw new IllegalArgumentException("TrainStep.prepare: inputs and targets are float32 or int64, got " + type);
        }
        Random r = new Random(0x7a1e5L); // not the global generator: preparing must not change what the next draw gives
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    /** One step: the gradients of {@code criterion(model(input), target)}, then {@code optimizer.step()}; returns the loss. */
    public float run(Tensor input, Tensor target) {
        float l = gradients(input, target);
        if (!Double.isNaN(maxGradNorm)) {
            ClipGrad.clipGradNorm_(params, maxGradNorm);
        }
        optimizer.step();
        return l;
    }

    /**
     * Forward, loss and backward only: the parameters' {@code grad()} are then this batch's gradients (views of the
     * plan, valid until the next call) and the optimizer has not stepped, for a caller that combines gradients first
     * (an all-reduce across workers, gradient accumulation by hand) and then calls {@code optimizer.step()} itself.
     * Clipping set with {@link #clipGradNorm} applies only in {@link #run}. Returns the loss.
     */
    public float gradients(Tensor input, Tensor target) {
        if (stale()) {
            closePlans();
            snapshot();
        }
        TrainingPlan plan = last != null && !last.isClosed() && last.accepts(input, target) ? last : plan(input, target);
        last = plan;
        // no gradient while the plan runs: a refused run leaves none to step on, and no stale one behind
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            Tensor old = p.grad();
            if (old != null) {
                p.setGrad(null);
                if (!isPlanGradient(old, i)) {
                    old.close();
                }
            }
        }
        float l = plan.run(input, target);
        for (int i = 0; i < params.size(); i++) {
            params.get(i).setGrad(plan.gradient(i));
        }
        return l;
    }

    /** The model's output of the last run (e.g. the logits, for accuracy): valid until the next run. */
    public Tensor output() {
        if (last == null) {
            throw new IllegalStateException("TrainStep.output: no step has run yet");
        }
        return last.output();
    }

    /** Whether {@code t}, parameter {@code i}'s gradient, is a plan's view (parameter i only ever gets plans' view i). */
    private boolean isPlanGradient(Tensor t, int i) {
        if (last != null && last.gradient(i) == t) {
            return true; // the usual case, answered without an iterator: a step allocates nothing here
        }
        for (TrainingPlan p : plans.values()) {
            if (p.gradient(i) == t) {
                return true;
            }
        }
        return false;
    }

    private TrainingPlan plan(Tensor input, Tensor target) {
        if (closed) {
            throw new IllegalStateException("TrainStep is closed");
        }
        String key = key(input.shape(), input.dtype(), target.shape(), target.dtype());
        TrainingPlan plan = plans.get(key);
        if (plan == null) {
            optimizer.zeroGrad(true);
            List<Module> asked = new ArrayList<>(); // the modules whose train/eval flag the capture read: watched from now on
            plan = Module.recordingModeReads(asked, () -> TrainingPlan.capture(model, criterion, params, input, target));
            watchModes(asked);
            plans.put(key, plan);
            if (plans.size() > MAX_PLANS) {
                Iterator<TrainingPlan> it = plans.values().iterator();
                TrainingPlan eldest = it.next();
                it.remove();
                detachGradients(eldest);
                eldest.close();
            }
        }
        return plan;
    }

    private static String key(int[] inputShape, DType inputType, int[] targetShape, DType targetType) {
        return inputType + Arrays.toString(inputShape) + targetType + Arrays.toString(targetShape);
    }

    /** Parameters whose grad() is a view of {@code plan}'s arena get null before it closes. */
    private void detachGradients(TrainingPlan plan) {
        for (int i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            if (g != null && g == plan.gradient(i)) {
                params.get(i).setGrad(null);
            }
        }
        if (last == plan) {
            last = null;
        }
    }

    /** Number of shape pairs compiled now. */
    public int compiledShapes() {
        return plans.size();
    }

    /** The plan for these shapes, if compiled (for inspection: its steps, arena size and per-step profile). */
    public TrainingPlan planFor(int[] inputShape, DType inputType, int[] targetShape, DType targetType) {
        return plans.get(key(inputShape, inputType, targetShape, targetType));
    }

    /** Closes every plan (each is tried: one that fails does not keep the others open); gradients from them become null. */
    private void closePlans() {
        RuntimeException first = null;
        for (TrainingPlan p : plans.values()) {
            detachGradients(p);
            try {
                p.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        plans.clear();
        last = null;
        if (first != null) {
            throw first;
        }
    }

    /** Closes every plan; the parameters' gradients from the last run become null. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closePlans();
    }
}
