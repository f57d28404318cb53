package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.autograd.Autograd;
import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryScope;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * sort / topk / argsort inside {@link InferencePlan}s: one Sort step each (values its result, int64 indices its second
 * output), replaying the eager bits, at small k (the insertion path) and k near n (the merge sort), along the last dim
 * and an inner one, with ties and NaN; a classifier's top-5 ids allocate nothing per warm call.
 */
class SortPlanTest {
    /** Rows with many ties, NaN and signed zeros, so the index order of equal values is tested too. */
    private static float[] tiedInput(int n, int seed) {
        float[] pool = {0f, -0f, 1f, -1f, 2f, Float.NaN, 3.5f, Float.NEGATIVE_INFINITY};
        java.util.Random r = new java.util.Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextInt(3) == 0 ? (float) r.nextGaussian() : pool[r.nextInt(pool.length)];
        }
        return x;
    }

    private static void planMatchesEager(Function<Tensor, Tensor> forward, float[] x, int... shape) {
        planMatchesEager(forward, x, true, shape);
    }

    private static void planMatchesEagerAnyListing(Function<Tensor, Tensor> forward, float[] x, int... shape) {
        planMatchesEager(forward, x, false, shape);
    }

    private static void planMatchesEager(Function<Tensor, Tensor> forward, float[] x, boolean sortStep, int... shape) {
        try (MemoryScope scope = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor in = Tensor.of(x, shape);
            Tensor want = forward.apply(in);
            try (InferencePlan plan = InferencePlan.trace(forward, shape)) {
                if (sortStep) {
                    assertThat(plan.toString()).contains("values, indices");
                }
                if (want.dtype() == DType.INT64) {
                    long[] got = new long[want.numel()];
                    plan.run(x, got);
                    assertThat(got).as("%s", plan).containsExactly(want.toLongArray());
                } else {
                    float[] got = new float[want.numel()];
                    plan.run(x, got);
                    int[] gotBits = new int[got.length];
                    int[] wantBits = new int[got.length];
                    float[] w = want.toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        gotBits[i] = Float.floatToRawIntBits(got[i]);
                        wantBits[i] = Float.floatToRawIntBits(w[i]);
                    }
                    assertThat(gotBits).as("%s", plan).containsExactly(wantBits);
                }
            }
        }
    }

    @Test
    void topkSortArgsortPlansGiveTheEagerBits() {
        float[] x = tiedInput(4 * 300, 3);
        for (int k : new int[] {1, 5, 16, 17, 299, 300}) {
            planMatchesEager(t -> t.topk(k, 1).values(), x, 4, 300);
            planMatchesEager(t -> t.topk(k, 1, false, false).indices(), x, 4, 300);
        }
        planMatchesEager(t -> t.sort(1, true).values(), x, 4, 300);
        planMatchesEager(t -> t.sort(0).indices(), x, 4, 300); // along an inner dim: strided rows
        planMatchesEager(t -> t.argsort(-1), x, 12, 100);
        planMatchesEager(t -> t.topk(3, 1).values().mul(2f).add(t.topk(3, 1).indices().toFloat()), x, 2, 6, 100);
        planMatchesEager(t -> t.transpose(0, 1).topk(2, 0).values(), x, 30, 40); // a non-contiguous input: copied first
    }

    @Test
    void aTopkOfConstantsFoldsWithBothOutputs() {
        // all inputs constant: the step is folded, and its indices (the second output) must become a constant too
        Tensor w = Tensor.of(tiedInput(12, 4), 12);
        float[] x = tiedInput(3 * 12, 5);
        planMatchesEagerAnyListing(t -> t.indexSelect(1, w.topk(4, 0).indices()).add(w.topk(4, 0).values()), x, 3, 12);
    }

    @Test
    void aTrainingStepThroughTopkIsRefusedNotWrong() {
        // topk's backward (SortOps.IndexBackward) is a heap loop with no plan step: a compiled training step refuses it
        Lanes.manualSeed(3);
        dev.lanes.nn.Linear fc = new dev.lanes.nn.Linear(8, 6);
        dev.lanes.train.TrainStep step = dev.lanes.train.TrainStep.compile(in -> fc.forward(in).topk(3, 1).values(),
                new dev.lanes.nn.CrossEntropyLoss()::forward, new dev.lanes.optim.SGD(fc.parameters(), 0.1));
        try (MemoryScope scope = MemoryScope.open()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> step.run(Tensor.randn(4, 8), Tensor.of(new long[] {0, 1, 2, 0}, 4)))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("has no plan step");
            assertThat(fc.weight.grad()).as("no gradient left behind").isNull();
        } finally {
            step.close();
        }
    }

    @Test
    void eagerTopkMatchesTheFullSortsPrefix() {
        // the insertion path (small k) and the merge sort must pick the same elements in the same order
        Tensor x = Tensor.of(tiedInput(3 * 257, 9), 3, 257);
        Tensor.ValuesIndices sorted = x.sort(1, true);
        for (int k : new int[] {1, 4, 16, 17, 100}) {
            Tensor.ValuesIndices top = x.topk(k, 1);
            assertThat(top.indices().toLongArray()).as("k %d", k).containsExactly(sorted.indices().narrow(1, 0, k).contiguous().toLongArray());
        }
    }

    @Test
    void aClassifiersTop5IdsInAPlanAllocateNothingPerWarmCall() throws Exception {
        Lanes.manualSeed(5);
        LeNet net = new LeNet();
        net.eval();
        try (MemoryScope scope = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad();
             InferencePlan plan = InferencePlan.trace(x -> net.forward(x).topk(5, 1).indices(), 4, 1, 32, 32)) {
            float[] x = new float[4 * 1024];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(i);
            }
            long[] ids = new long[20];
            plan.run(x, ids);
            assertThat(ids).containsExactly(net.forward(Tensor.of(x, 4, 1, 32, 32)).topk(5, 1).indices().toLongArray());
        }
        assertThat(PlanHeapProbe.inFreshJvm("lenet-top5")).as("heap bytes per warm call").isLessThan(PlanHeapProbe.ALLOCATION_LIMIT);
    }
}
