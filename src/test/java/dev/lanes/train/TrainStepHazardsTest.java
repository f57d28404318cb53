package dev.lanes.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.BatchNorm1d;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Linear;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.optim.SGD;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a compiled step must not get wrong silently (found by an adversarial review): mode and requires_grad changes
 * after compile, refused runs, gradients outside the optimizer, work on other threads, ops whose kernels write
 * outside the launch path. Each either matches eager or is refused with a message.
 */
class TrainStepHazardsTest {

    private static Tensor x() {
        return Tensor.randn(4, 20);
    }

    private static Tensor y() {
        return Tensor.of(new long[] {0, 1, 2, 3}, 4);
    }

    /** Freezing a layer after the first compiled step: the step recaptures and leaves it alone, as eager does. */
    @Test
    void parameterFrozenAfterCompileIsNotUpdated() {
        Lanes.manualSeed(5);
        Sequential net = new Sequential(new Linear(20, 8), new ReLU(), new Linear(8, 5));
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            Linear first = (Linear) net.get(0);
            first.weight.requiresGrad(false);
            first.bias.requiresGrad(false);
            float[] before = first.weight.toFloatArray();
            step.run(x(), y());
            assertThat(first.weight.toFloatArray()).as("frozen weight unchanged (as eager)").containsExactly(before);
        } finally {
            step.close();
        }
    }

    /** net.eval() after compile: BatchNorm stops counting batches and updating running stats, as eager. */
    @Test
    void evalModeAfterCompileIsHonoured() {
        Lanes.manualSeed(6);
        BatchNorm1d bn = new BatchNorm1d(8);
        Sequential net = new Sequential(new Linear(20, 8), bn, new ReLU(), new Linear(8, 5));
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            net.eval();
            long before = bn.numBatchesTracked.longItem();
            float[] rm = bn.runningMean.toFloatArray();
            step.run(x(), y());
            assertThat(bn.numBatchesTracked.longItem()).as("eval: no batch counted").isEqualTo(before);
            assertThat(bn.runningMean.toFloatArray()).as("eval: running mean untouched").containsExactly(rm);
        } finally {
            step.close();
        }
    }

    /** A run refused for a bad target leaves no gradient to step on (never a view of bytes other values use). */
    @Test
    void refusedRunLeavesNoGradientBehind() {
        Lanes.manualSeed(7);
        Sequential net = new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 5));
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            java.util.List<Tensor> ps = net.parameters();
            assertThatThrownBy(() -> step.run(x(), Tensor.of(new long[] {0, 1, 99, 3}, 4))).isInstanceOf(IndexOutOfBoundsException.class);
            for (Tensor p : ps) {
                assertThat(p.grad()).as("gradient after a refused run").isNull();
            }
            step.run(x(), y());
            for (Tensor p : ps) {
                assertThat(p.grad()).as("gradient after the next good run").isNotNull();
            }
        } finally {
            step.close();
        }
    }

    /**
     * A forward that reads a buffer's or a parameter's value into Java (item(), toFloatArray()) is refused: the compiled
     * step kept the value it read at capture (a scale annealed to 0.5 stayed 1.0), where the documentation says such
     * reads are refused. Nothing is left behind.
     */
    @Test
    void readingAParametersValueInForwardIsRefused() {
        Lanes.manualSeed(9);
        Linear fc = new Linear(20, 5);
        Tensor scale = Tensor.scalar(1f);
        TrainStep step = TrainStep.compile(in -> fc.forward(in).mul(scale.item()), new CrossEntropyLoss()::forward, new SGD(fc.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            assertThatThrownBy(() -> step.run(x(), y())).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("would keep the value it read at capture");
            assertThat(fc.weight.grad()).as("capture leaves no gradient behind").isNull();
        } finally {
            step.close();
        }
        TrainStep weights = TrainStep.compile(in -> fc.forward(in).mul(fc.bias.toFloatArray()[0]), new CrossEntropyLoss()::forward,
                new SGD(fc.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            assertThatThrownBy(() -> weights.run(x(), y())).isInstanceOf(UnsupportedOperationException.class);
        } finally {
            weights.close();
        }
    }

    /**
     * The same over a step compiled from functions (net::forward), not a Module: the modules whose train/eval flag the
     * capture read are watched (eval() went unnoticed: BatchNorm kept updating its statistics and counting batches).
     */
    @Test
    void evalModeAfterCompilingAFunctionIsHonoured() {
        Lanes.manualSeed(6);
        BatchNorm1d bn = new BatchNorm1d(8);
        Sequential net = new Sequential(new Linear(20, 8), bn, new ReLU(), new Linear(8, 5));
        TrainStep step = TrainStep.compile(net::forward, new CrossEntropyLoss()::forward, new SGD(net.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            long counted = bn.numBatchesTracked.longItem();
            step.run(x(), y());
            assertThat(bn.numBatchesTracked.longItem()).as("train: one more batch counted").isEqualTo(counted + 1);
            bn.eval();
            float[] rm = bn.runningMean.toFloatArray();
            step.run(x(), y());
            assertThat(bn.numBatchesTracked.longItem()).as("eval: no batch counted").isEqualTo(counted + 1);
            assertThat(bn.runningMean.toFloatArray()).as("eval: running mean untouched").containsExactly(rm);
        } finally {
            step.close();
        }
    }

    /**
     * A frozen backbone compiled over the head's optimizer, then unfrozen (requires_grad) without joining it: the next
     * run is refused as a capture would have refused it (it went on, and the backbone silently got no gradient).
     */
    @Test
    void unfreezingAParameterOutsideTheOptimizerIsRefused() {
        Lanes.manualSeed(8);
        Linear backbone = new Linear(20, 8);
        Linear head = new Linear(8, 5);
        Sequential net = new Sequential(backbone, new ReLU(), head);
        backbone.weight.requiresGrad(false);
        backbone.bias.requiresGrad(false);
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(head.parameters(), 0.1));
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            backbone.weight.requiresGrad(true);
            backbone.bias.requiresGrad(true);
            assertThatThrownBy(() -> step.run(x(), y())).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("not among the optimizer's parameters");
        } finally {
            step.close();
        }
    }

    /**
     * A layer replaced after compile (a ModuleList's Dropout swapped for an Identity) is seen: the step recaptures (its
     * plan kept dropping half the activations). With lr 0 the weights stay, so two runs on one batch must agree.
     */
    @Test
    void aLayerReplacedAfterCompileIsSeen() {
        Lanes.manualSeed(10);
        dev.lanes.nn.ModuleList layers = new dev.lanes.nn.ModuleList(new Linear(20, 8), new dev.lanes.nn.Dropout(0.5), new Linear(8, 5));
        dev.lanes.nn.Module net = new dev.lanes.nn.Module() {
            final dev.lanes.nn.ModuleList ls = register("layers", layers);

            @Override
            public Tensor forward(Tensor x) {
                for (int i = 0; i < ls.size(); i++) {
                    x = ls.get(i).forward(x);
                }
                return x;
            }
        };
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.0));
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = x();
            step.run(x, y());
            layers.set(1, new dev.lanes.nn.Identity());
            step.run(x, y());
            float[] first = step.output().toFloatArray();
            step.run(x, y());
            assertThat(step.output().toFloatArray()).as("no dropout left: the same logits").containsExactly(first);
        } finally {
            step.close();
        }
    }

    /** A parameter that requires grad but is not the optimizer's: refused (eager would accumulate into it), nothing left behind. */
    @Test
    void gradientsOutsideTheOptimizerAreRefused() {
        Lanes.manualSeed(8);
        Linear backbone = new Linear(20, 8);
        Linear head = new Linear(8, 5);
        Sequential net = new Sequential(backbone, new ReLU(), head);
        SGD opt = new SGD(head.parameters(), 0.1);
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), opt);
        try (MemoryScope s = MemoryScope.open()) {
            assertThatThrownBy(() -> step.run(x(), y())).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("not among the optimizer's parameters");
            assertThat(backbone.weight.grad()).as("capture leaves no gradient behind").isNull();
            assertThat(head.weight.grad()).isNull();
        } finally {
            step.close();
        }
    }

    /** Progressive unfreezing: a frozen backbone, then unfrozen and added to the optimizer: the step recaptures. */
    @Test
    void paramGroupAddedLaterGetsFreshGradients() {
        Lanes.manualSeed(8);
        Linear backbone = new Linear(20, 8);
        Linear head = new Linear(8, 5);
        Sequential net = new Sequential(backbone, new ReLU(), head);
        for (Tensor p : backbone.parameters()) {
            p.requiresGrad(false);
        }
        SGD opt = new SGD(head.parameters(), 0.1);
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), opt);
        try (MemoryScope s = MemoryScope.open()) {
            step.run(x(), y());
            float[] frozen = backbone.weight.toFloatArray();
            for (Tensor p : backbone.parameters()) {
                p.requiresGrad(true);
            }
            opt.addParamGroup(backbone.parameters(), Map.of("lr", 0.1));
            step.run(x(), y());
            float[] g1 = backbone.weight.grad().toFloatArray();
            step.run(x(), y());
            float[] g2 = backbone.weight.grad().toFloatArray();
            assertThat(g2).as("backbone gradient recomputed per step, as eager").isNotEqualTo(g1);
            assertThat(backbone.weight.toFloatArray()).as("the backbone now trains").isNotEqualTo(frozen);
        } finally {
            step.close();
        }
    }

    /** Work the forward hands to another thread is not traced: refused, not baked in as a constant. */
    @Test
    void forwardWorkOnAnotherThreadIsRefused() throws Exception {
        Lanes.manualSeed(9);
        Linear lin = new Linear(20, 5);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.function.Function<Tensor, Tensor> model = in -> {
            try {
                return pool.submit(() -> {
                    try (MemoryScope u = MemoryScope.unscoped()) {
                        return in.mul(2);
                    }
                }).get().matmul(lin.weight.t()).add(lin.bias);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        CrossEntropyLoss ce = new CrossEntropyLoss();
        TrainStep step = TrainStep.compile(model, ce::forward, new SGD(lin.parameters(), 0.0)); // lr 0: nothing changes
        try (MemoryScope s = MemoryScope.open()) {
            assertThatThrownBy(() -> step.run(x(), y())).hasRootCauseInstanceOf(UnsupportedOperationException.class)
                    .rootCause().hasMessageContaining("another thread");
        } finally {
            step.close();
            pool.shutdown();
        }
    }

    /**
     * eye() inside the step (an orthogonality penalty lambda * ||W W^T - I||^2, small enough to pass the capture's
     * check): a constant of the plan, its diagonal included (it once was zeros() - a step - plus 1s written outside it).
     */
    @Test
    void eyeInsideTheStepKeepsItsDiagonal() {
        Lanes.manualSeed(10);
        Linear lin = new Linear(20, 5);
        CrossEntropyLoss ce = new CrossEntropyLoss();
        java.util.function.BiFunction<Tensor, Tensor, Tensor> loss = (out, t) -> {
            Tensor gram = lin.weight.matmul(lin.weight.t());
            return ce.forward(out, t).add(gram.sub(Tensor.eye(5)).pow(2).sum().mul(1e-4));
        };
        TrainStep step = TrainStep.compile(lin::forward, loss, new SGD(lin.parameters(), 0.0)); // lr 0: parameters fixed
        try (MemoryScope s = MemoryScope.open()) {
            Tensor in = x();
            float compiled = step.run(in, y());
            float eager = loss.apply(lin.forward(in), y()).item();
            assertThat(compiled).isCloseTo(eager, org.assertj.core.data.Offset.offset(1e-6f));
        } finally {
            step.close();
        }
    }

    /** scatter_add writes straight into a clone (no plan step): refused, not replayed as the clone alone. */
    @Test
    void scatterAddInsideTheStepIsRefused() {
        Lanes.manualSeed(11);
        dev.lanes.nn.Embedding emb = new dev.lanes.nn.Embedding(7, 6);
        Linear head = new Linear(6, 7);
        java.util.function.Function<Tensor, Tensor> model = ids -> {
            Tensor counts = Tensor.zeros(4, 3).scatterAdd(1, ids, Tensor.ones(4, 3)); // index shape == self shape
            return head.forward(emb.forward(ids).mean(1)).add(counts.narrow(1, 0, 1).mul(1e-4));
        };
        CrossEntropyLoss ce = new CrossEntropyLoss();
        java.util.List<Tensor> ps = new java.util.ArrayList<>(emb.parameters());
        ps.addAll(head.parameters());
        TrainStep step = TrainStep.compile(model, ce::forward, new SGD(ps, 0.0));
        try (MemoryScope s = MemoryScope.open()) {
            Tensor ids = Tensor.of(new long[] {0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2}, 4, 3);
            assertThatThrownBy(() -> step.run(ids, Tensor.of(new long[] {0, 1, 2, 3}, 4))).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("scatter_add has no plan step");
        } finally {
            step.close();
        }
    }

    /** one_hot fills its result straight from the indices (no plan step): refused, not baked in from the capture batch. */
    @Test
    void oneHotOfTheTargetIsRefused() {
        Lanes.manualSeed(12);
        Linear lin = new Linear(20, 5);
        java.util.function.BiFunction<Tensor, Tensor, Tensor> mseOneHot = (out, t) -> out.softmax(1).sub(Tensor.oneHot(t, 5).toFloat()).pow(2).mean();
        TrainStep step = TrainStep.compile(lin::forward, mseOneHot, new SGD(lin.parameters(), 0.0));
        try (MemoryScope s = MemoryScope.open()) {
            Tensor in = x();
            assertThatThrownBy(() -> step.run(in, Tensor.of(new long[] {0, 1, 2, 3}, 4))).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("one_hot has no plan step");
        } finally {
            step.close();
        }
    }

    @Test
    void prepareWithANegativeDimGivesAClearError() {
        Sequential net = new Sequential(new Linear(20, 5));
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        try {
            assertThatThrownBy(() -> step.prepare(new int[] {-2, 20}, dev.lanes.DType.FLOAT32, new int[] {-2}, dev.lanes.DType.INT64))
                    .isInstanceOf(IllegalArgumentException.class);
        } finally {
            step.close();
        }
    }

    /**
     * A replayed run refused for a target out of range leaves BatchNorm's running statistics, its counter, the dropout
     * generator and the parameters as they were (the cross-entropy step threw after the BatchNorm step had folded the
     * batch in), as a refusal at capture already did and as the README promises.
     */
    @Test
    void aRefusedReplayChangesNoModuleStateNorTheGenerator() {
        Lanes.manualSeed(7);
        dev.lanes.nn.BatchNorm2d bn = new dev.lanes.nn.BatchNorm2d(3);
        Sequential net = new Sequential(new dev.lanes.nn.Conv2d(2, 3, 3), bn, new ReLU(), new dev.lanes.nn.Dropout(0.5), new dev.lanes.nn.Flatten(),
                new Linear(48, 5));
        try (TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1, 0.9))) {
            Tensor x = Tensor.randn(4, 2, 6, 6);
            step.run(x, Tensor.of(new long[] {0, 1, 2, 3}, 4));
            step.run(x, Tensor.of(new long[] {0, 1, 2, 3}, 4)); // replayed now
            float[] mean = bn.runningMean.toFloatArray();
            float[] var = bn.runningVar.toFloatArray();
            long count = bn.numBatchesTracked.toLongArray()[0];
            float[] weight = ((Linear) net.get(-1)).weight.toFloatArray();
            Lanes.manualSeed(11);
            float next = Tensor.rand(1).item();
            Lanes.manualSeed(11);
            assertThatThrownBy(() -> step.run(x, Tensor.of(new long[] {0, 1, 9, 3}, 4))).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("Target 9 is out of bounds");
            assertThat(bn.runningMean.toFloatArray()).containsExactly(mean);
            assertThat(bn.runningVar.toFloatArray()).containsExactly(var);
            assertThat(bn.numBatchesTracked.toLongArray()).containsExactly(count);
            assertThat(((Linear) net.get(-1)).weight.toFloatArray()).containsExactly(weight);
            assertThat(Tensor.rand(1).item()).as("the generator's next draw").isEqualTo(next);
        }
    }

    /** A refused capture draws nothing from the global generator (a randn inside forward advanced it before the refusal). */
    @Test
    void aRefusedCaptureLeavesTheGlobalGeneratorAlone() {
        Lanes.manualSeed(3);
        Linear fc = new Linear(6, 5);
        Lanes.manualSeed(4);
        float plain = Tensor.rand(1).item();
        Lanes.manualSeed(4);
        try (TrainStep ts = TrainStep.compile(x -> fc.forward(x.add(Tensor.randnLike(x).mul(0.1))), new CrossEntropyLoss()::forward,
                new SGD(fc.parameters(), 0.1))) {
            assertThatThrownBy(() -> ts.prepare(new int[] {4, 6}, dev.lanes.DType.FLOAT32, new int[] {4}, dev.lanes.DType.INT64))
                    .isInstanceOf(UnsupportedOperationException.class);
        }
        assertThat(Tensor.rand(1).item()).as("the next draw after a refused prepare").isEqualTo(plain);
    }
}
