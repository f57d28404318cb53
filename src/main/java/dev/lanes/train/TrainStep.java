package dev.lanes.train;

import dev.lanes.DType;
import dev.lanes.Tensor;
import dev.lanes.TrainingPlan;
import dev.lanes.nn.Loss;
import dev.lanes.nn.Module;
import dev.lanes.optim.Optimizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * One training step compiled, in the spirit of {@code torch.compile} on a step function:
 * <pre>{@code
 * TrainStep step = TrainStep.compile(net, criterion, optimizer);
 * for (Batch b : loader) {
 *     float loss = step.run(b.images(), b.labels());   // zero_grad, forward, loss, backward, optimizer.step()
 * }
 * }</pre>
 * The first run for a new pair of input and target shapes captures a {@link TrainingPlan} (an eager step on a
 * synthetic batch, traced; it changes no state), cached per shape pair (the last, smaller batch of an epoch gets its
 * own); each run then replays the plan's kernels and calls {@code optimizer.step()} on the gradients it left, so
 * every optimizer, its options and a learning-rate scheduler work as in eager training. After a run each parameter's
 * {@code grad()} is the plan's gradient (valid until the next run).
 *
 * <p>What the plan cannot replay is refused when it is captured ({@link UnsupportedOperationException} naming it):
 * in-place writes such as a BatchNorm's running statistics in training mode, random draws such as dropout, ops
 * without a plan step, and reading values into Java inside forward. Callers that want to fall back catch it and
 * train eagerly. Not thread-safe: one step at a time, like the optimizer it drives.
 */
public final class TrainStep implements AutoCloseable {
    /** Shape pairs kept compiled at once; the least recently used plan is closed beyond this. */
    static final int MAX_PLANS = 4;

    private final BiFunction<Tensor, Tensor, Tensor> loss;
    private final Optimizer optimizer;
    private final List<Tensor> params = new ArrayList<>();
    private final Map<String, TrainingPlan> plans = new LinkedHashMap<>(8, 0.75f, true);
    private boolean closed;
    /** The plan of the previous run: the common case, found without building a key. */
    private TrainingPlan last;

    private TrainStep(BiFunction<Tensor, Tensor, Tensor> loss, Optimizer optimizer) {
        this.loss = loss;
        this.optimizer = optimizer;
        for (Optimizer.ParamGroup g : optimizer.paramGroups()) {
            params.addAll(g.params());
        }
    }

    /** {@code criterion(model(input), target)}, its backward and {@code optimizer.step()}, compiled per shape. */
    public static TrainStep compile(Module model, Loss criterion, Optimizer optimizer) {
        return compile((x, y) -> criterion.forward(model.forward(x), y), optimizer);
    }

    /** A step over any loss function of (input, target): everything it computes must be replayable. */
    public static TrainStep compile(BiFunction<Tensor, Tensor, Tensor> loss, Optimizer optimizer) {
        if (loss == null || optimizer == null) {
            throw new IllegalArgumentException("TrainStep.compile: the loss function and the optimizer must not be null");
        }
        return new TrainStep(loss, optimizer);
    }

    /**
     * Compiles now for these shapes (the target's type: {@link DType#INT64} class indices or {@link DType#FLOAT32}),
     * so an unsupported model fails here rather than at the first run.
     */
    public TrainStep prepare(int[] inputShape, int[] targetShape, DType targetType) {
        plan(inputShape, targetShape, targetType);
        return this;
    }

    /** One step: the gradients of {@code loss(input, target)}, then {@code optimizer.step()}; returns the loss. */
    public float run(Tensor input, Tensor target) {
        TrainingPlan plan = last != null && !last.isClosed() && last.accepts(input, target) ? last
                : plan(input.shape(), target.shape(), target.dtype());
        last = plan;
        float l = plan.run(input, target);
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            Tensor old = p.grad();
            Tensor g = plan.gradient(i);
            if (old != g) {
                p.setGrad(g);
                if (old != null && !isPlanGradient(old)) {
                    old.close();
                }
            }
        }
        optimizer.step();
        return l;
    }

    private boolean isPlanGradient(Tensor t) {
        for (TrainingPlan p : plans.values()) {
            for (int i = 0; i < params.size(); i++) {
                if (p.gradient(i) == t) {
                    return true;
                }
            }
        }
        return false;
    }

    private TrainingPlan plan(int[] inputShape, int[] targetShape, DType targetType) {
        if (closed) {
            throw new IllegalStateException("TrainStep is closed");
        }
        String key = Arrays.toString(inputShape) + Arrays.toString(targetShape) + targetType;
        TrainingPlan plan = plans.get(key);
        if (plan == null) {
            optimizer.zeroGrad(true);
            plan = TrainingPlan.capture(loss, params, inputShape, targetShape, targetType);
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

    /** Parameters whose grad() is a view of {@code plan}'s arena get null before it closes. */
    private void detachGradients(TrainingPlan plan) {
        for (int i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            if (g != null && g == plan.gradient(i)) {
                params.get(i).setGrad(null);
            }
        }
    }

    /** Number of shape pairs compiled now. */
    public int compiledShapes() {
        return plans.size();
    }

    /** The plan for these shapes, if compiled (for inspection: its steps and arena size). */
    public TrainingPlan planFor(int[] inputShape, int[] targetShape, DType targetType) {
        return plans.get(Arrays.toString(inputShape) + Arrays.toString(targetShape) + targetType);
    }

    /** Closes every plan; the parameters' gradients from the last run become null. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TrainingPlan p : plans.values()) {
            detachGradients(p);
            p.close();
        }
        plans.clear();
    }
}
