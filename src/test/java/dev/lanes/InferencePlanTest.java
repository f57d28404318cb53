package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.examples.CharGPT;
import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.AdaptiveAvgPool2d;
import dev.lanes.nn.AvgPool2d;
import dev.lanes.nn.BatchNorm2d;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.Dropout;
import dev.lanes.nn.Flatten;
import dev.lanes.nn.Linear;
import dev.lanes.nn.MaxPool2d;
import dev.lanes.nn.Module;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.nn.Sigmoid;
import dev.lanes.nn.Softmax;
import dev.lanes.nn.Tanh;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** InferencePlan: traced plans give the eager forward's floats, fuse, refuse what they cannot replay, and allocate nothing. */
class InferencePlanTest {

    /** n standard normal floats from a seeded generator (shared by the plan tests of this package). */
    static float[] randomInput(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /**
     * Heap bytes one call allocates once the JIT has compiled it: rounds of {@code warm} unmeasured then {@code calls}
     * measured calls until a round allocates nothing or 30 s have passed; returns the best round's bytes per call. In a
     * JVM that ran the whole suite first, C2's queue can hold a kernel back for seconds, and until then it runs the
     * Vector API's allocating fallback (CI's 256-bit run once measured 24 KB per call after 3,000 calls; 0 B later).
     */
    /** Heap bytes per plan call the allocation tests accept: none in fact; the margin is the measurement's. */
    static final long ALLOCATION_LIMIT = 64;

    static long steadyStateHeapBytesPerCall(Runnable call, int warm, int calls) {
        return steadyStateHeapBytesPerCall(call, warm, calls, ALLOCATION_LIMIT);
    }

    /** The least heap bytes per call over rounds of {@code warm} then {@code calls} calls, until under {@code limit} (or 30 s). */
    static long steadyStateHeapBytesPerCall(Runnable call, int warm, int calls, long limit) {
        return steadyStateHeapBytesPerCall(call, warm, calls, limit, 30_000);
    }

    /** {@link #steadyStateHeapBytesPerCall(Runnable, int, int, long)}: at least 5 rounds, more until {@code millis} have passed. */
    static long steadyStateHeapBytesPerCall(Runnable call, int warm, int calls, long limit, long millis) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long best = Long.MAX_VALUE;
        long deadline = System.nanoTime() + millis * 1_000_000L;
        for (int round = 0; best >= limit && (round < 5 || System.nanoTime() < deadline); round++) {
            for (int i = 0; i < warm; i++) {
                call.run();
            }
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < calls; i++) {
                call.run();
            }
            best = Math.min(best, (threads.getThreadAllocatedBytes(tid) - before) / calls);
        }
        return best;
    }

    private static float[] eager(Function<Tensor, Tensor> f, float[] x, int... shape) {
        try (Autograd.Mode g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            return f.apply(Tensor.of(x, shape)).contiguous().toFloatArray();
        }
    }

    /**
     * Equal to float rounding: the plan runs the same kernels except that batch-1 linear layers use a matrix-vector
     * kernel over prepacked weights, which sums in another order (|difference| <= 1e-5 * max(1, |value|)); NaN
     * where the other has NaN.
     */
    static void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            float a = actual[i];
            float e = expected[i];
            if (Float.isNaN(e) || Float.isNaN(a)) {
                assertThat(a).as("%s: element %d", what, i).isNaN();
                assertThat(e).as("%s: element %d", what, i).isNaN();
            } else {
                assertThat(Math.abs(a - e)).as("%s: element %d: %s vs %s", what, i, a, e).isLessThanOrEqualTo(1e-5f * Math.max(1f, Math.abs(e)));
            }
        }
    }

    /** The plan's output equals the eager forward's (to float rounding) on a few random inputs. */
    private static void assertSameAsEager(Function<Tensor, Tensor> f, int... shape) {
        try (InferencePlan plan = InferencePlan.trace(f, shape)) {
            for (long seed = 1; seed <= 3; seed++) {
                float[] x = randomInput(plan.inputSize(), seed);
                float[] out = new float[plan.outputSize()];
                plan.run(x, out);
                assertClose(out, eager(f, x, shape), "plan vs eager, seed " + seed + ":\n" + plan);
            }
        }
    }

    /**
     * Batch-1 products with a constant weight take the prepacked GEMV (Sgemm.packGemv's block layout) whether the
     * weight is a row-major [k, n] (x @ W, ONNX MatMul's initializer) or a Linear weight [n, k] (x @ W^T): widths
     * of one block, several blocks of 4 vectors, a 2- and a 1-vector block, and a padded last column, at every lane
     * count. A packer writing another layout than the GEMV reads gives wrong columns past the first block.
     */
    @Test
    void batchOneProductsWithConstantWeightsMatchEagerInEitherLayout() {
        Lanes.manualSeed(11);
        for (int n : new int[] {10, 37, 120, 200}) {
            Tensor w = Tensor.randn(100, n); // depth 100: both sums stay within assertClose's 1e-5
            Tensor linear = Tensor.randn(n, 100);
            Tensor bias = Tensor.randn(n);
            assertSameAsEager(x -> x.matmul(w), 1, 100);
            assertSameAsEager(x -> x.matmul(linear.t()), 1, 100);
            assertSameAsEager(x -> Tensor.addmm(bias, x, w).relu(), 1, 100);
        }
    }

    @Test
    void leNetMatchesEagerAndFusesReluIntoConvolutionsAndLinears() {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        assertSameAsEager(net::forward, 1, 1, 32, 32);
        assertSameAsEager(net::forward, 5, 1, 32, 32);
        try (InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32)) {
            String text = plan.toString();
            // conv1+relu, pool, conv2+relu, pool, fc1+relu, fc2+relu, fc3: the four ReLU steps are gone
            assertThat(plan.stepCount()).as(text).isEqualTo(7);
            assertThat(text).doesNotContain("relu %").contains("conv2d input").contains("-> relu");
            assertThat(plan.outputShape()).isEqualTo(new Size(new int[] {1, 10}));
        }
    }

    /**
     * PyTorch's other activations (leaky_relu, elu, softplus, hardtanh, relu6, hardsigmoid, hardswish) fuse into the
     * epilogue of a Linear (batch 3: the packed GEMM; batch 1: the GEMV) and of a Conv2d (3 x 3: Winograd; 5 x 5: im2col
     * and GEMM), their parameters with them (the slope 0.2 is not lost to a 0 in the epilogue): the fused plan has the
     * unfused plan's step count, and its output has the bits of the activation applied eagerly to the unfused plan's
     * output (and is close to the eager forward's, which sums in another order).
     */
    @Test
    void parameterisedActivationsFuseIntoLinearAndConvolutionEpiloguesWithTheirParameters() {
        Lanes.manualSeed(17);
        Linear fc = new Linear(24, 40);
        Conv2d conv3 = new Conv2d(3, 8, 3, 1, 1);
        Conv2d conv5 = new Conv2d(3, 8, 5);
        Module[] activations = {new dev.lanes.nn.LeakyReLU(), new dev.lanes.nn.LeakyReLU(0.2), new dev.lanes.nn.ELU(0.5),
            new dev.lanes.nn.Softplus(2, 1), new dev.lanes.nn.Hardtanh(-0.5, 0.25), new dev.lanes.nn.ReLU6(), new dev.lanes.nn.Hardsigmoid(),
            new dev.lanes.nn.Hardswish()};
        String[] names = {"leaky_relu(0.01)", "leaky_relu(0.2)", "elu(0.5)", "softplus(2.0, 1.0)", "hardtanh(-0.5, 0.25)", "hardtanh(0.0, 6.0)",
            "hardsigmoid", "hardswish"};
        record Producer(Module m, int[] shape) {
        }
        Producer[] producers = {new Producer(fc, new int[] {3, 24}), new Producer(fc, new int[] {1, 24}),
            new Producer(conv3, new int[] {2, 3, 10, 10}), new Producer(conv5, new int[] {2, 3, 10, 10})};
        for (int a = 0; a < activations.length; a++) {
            Module act = activations[a];
            for (Producer p : producers) {
                Function<Tensor, Tensor> fused = x -> act.forward(p.m().forward(x));
                try (InferencePlan withAct = InferencePlan.trace(fused, p.shape()); InferencePlan plain = InferencePlan.trace(p.m()::forward, p.shape())) {
                    String what = act + " after " + p.m() + " " + java.util.Arrays.toString(p.shape()) + ":\n" + withAct;
                    assertThat(withAct.stepCount()).as(what).isEqualTo(plain.stepCount());
                    assertThat(withAct.toString()).as(what).contains("-> " + names[a]);
                    float[] x = randomInput(withAct.inputSize(), 5 + a);
                    for (int i = 0; i < x.length; i++) {
                        x[i] *= 3; // outputs past the kinks at +-3 and 6 too
                    }
                    float[] got = new float[withAct.outputSize()];
                    withAct.run(x, got);
                    float[] before = new float[plain.outputSize()];
                    plain.run(x, before);
                    float[] want;
                    try (Autograd.Mode g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
                        want = act.forward(Tensor.of(before, before.length)).toFloatArray();
                    }
                    assertThat(got).as("fused epilogue vs the op on the unfused output, bit for bit: " + what).containsExactly(want);
                    assertClose(got, eager(fused, x, p.shape()), "plan vs eager: " + what);
                }
            }
        }
    }

    /**
     * addmm with alpha != 1 and a constant weight: the prepacked-weight kernels compute A B only, so a scaled product
     * must take the general GEMM (it once took the prepacked path and dropped alpha; the trace's self-check refused it).
     */
    @Test
    void scaledProductsWithAConstantWeightKeepTheirScale() {
        Lanes.manualSeed(9);
        Tensor w = Tensor.randn(5, 4);
        Tensor b = Tensor.randn(4);
        assertSameAsEager(in -> Tensor.addmm(b, in, w, 1, 2), 1, 5);
        assertSameAsEager(in -> Tensor.addmm(b, in, w, 1, -0.5), 3, 5);
        assertSameAsEager(in -> Tensor.addmm(b, in, w, 1, 1), 3, 5); // the prepacked path
    }

    @Test
    void sequentialModelsWithBatchNormPoolingAndActivationsMatchEager() {
        Lanes.manualSeed(5);
        Sequential net = new Sequential(
                new Conv2d(3, 8, 3, 2, 1), new BatchNorm2d(8), new ReLU(),
                new Conv2d(8, 8, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 4, true), new Tanh(), new MaxPool2d(new int[] {3}, new int[] {2}, new int[] {1}, new int[] {1}, false),
                new AvgPool2d(2), new Conv2d(8, 6, 1), new Sigmoid(), new AdaptiveAvgPool2d(2, 2),
                new Flatten(), new Dropout(0.5), new Linear(24, 7), new Softmax(1));
        // running statistics other than 0 / 1
        try (Autograd.Mode g = Autograd.noGrad()) {
            net.train();
            net.forward(Tensor.randn(4, 3, 16, 16));
        }
        net.eval();
        assertSameAsEager(net::forward, 2, 3, 16, 16);
    }

    @Test
    void residualAddsMatmulsLogSoftmaxAndViewsMatchEager() {
        Lanes.manualSeed(7);
        Linear a = new Linear(12, 12);
        Linear b = new Linear(12, 5, false);
        Tensor w3 = Tensor.randn(3, 12, 4);
        Function<Tensor, Tensor> f = x -> {
            Tensor h = a.forward(x).relu().add(x);                  // residual
            Tensor t = h.view(3, 2, 12).transpose(1, 2).contiguous(); // copy of a permuted view
            Tensor m = t.transpose(1, 2).matmul(w3);                 // bmm [3,2,12] x [3,12,4]
            return b.forward(h).logSoftmax(1).mul(2).sum(1, true).add(m.view(6, 4).mean(1, true)).add(h.var(1, true, true));
        };
        assertSameAsEager(f, 6, 12); // reductions of values are plan steps
        Function<Tensor, Tensor> indices = x -> {
            Tensor h = a.forward(x).relu().add(x);
            return b.forward(h).sum(1, true).add(h.argmax(1, true).toFloat()); // argmax too (an int64 slot)
        };
        assertSameAsEager(indices, 6, 12);
        Function<Tensor, Tensor> maxDim = x -> {
            Tensor h = a.forward(x).relu().add(x);
            return b.forward(h).sum(1, true).add(h.max(1, true).values()); // max(dim) is not: values and indices in one call
        };
        assertThatThrownBy(() -> InferencePlan.trace(maxDim, 6, 12)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("no plan step").hasMessageContaining("[6, 1]");
        Function<Tensor, Tensor> g = x -> {
            Tensor h = a.forward(x).relu().add(x);
            Tensor t = h.view(3, 2, 12).transpose(1, 2).contiguous();
            Tensor m = t.transpose(1, 2).matmul(w3);
            return b.forward(h).logSoftmax(1).mul(2).add(m.view(6, 4).narrow(1, 0, 1));
        };
        assertSameAsEager(g, 6, 12);
    }

    @Test
    void weightsComputedFromTheInputTakeTheGeneralConvolutionAndGemmKernels() {
        Lanes.manualSeed(8);
        Tensor w = Tensor.randn(4, 2, 3, 3);
        Tensor b = Tensor.randn(4);
        // the convolution's weight and the product's right operand are slots, not constants: no prepacking
        assertSameAsEager(x -> Tensor.conv2d(x, x.narrow(2, 0, 3).narrow(3, 0, 3).mul(w), b), 1, 2, 7, 7);
        assertSameAsEager(x -> x.matmul(x.t().relu()), 6, 9);
        // addmm with a whole matrix as input and beta != 1: C starts as a copy of it
        Tensor c = Tensor.randn(6, 4);
        Tensor w2 = Tensor.randn(9, 4);
        assertSameAsEager(x -> Tensor.addmm(c, x, w2, 0.5, 2.0), 6, 9);
    }

    @Test
    void identityAndConstantOutputsAreCopiedOut() {
        Tensor c = Tensor.of(new float[] {1, 2, 3}, 3);
        try (InferencePlan id = InferencePlan.trace(x -> x, 3); InferencePlan k = InferencePlan.trace(x -> c.mul(2), 3)) {
            float[] out = new float[3];
            id.run(new float[] {4, 5, 6}, out);
            assertThat(out).containsExactly(4, 5, 6);
            k.run(new float[] {4, 5, 6}, out);
            assertThat(out).containsExactly(2, 4, 6);
        }
    }

    @Test
    void nanAndInfinityPropagateLikeTheEagerForward() {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        try (InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32)) {
            float[] x = randomInput(1024, 9);
            x[100] = Float.NaN;
            x[700] = Float.POSITIVE_INFINITY;
            float[] out = new float[10];
            plan.run(x, out);
            assertClose(out, eager(net::forward, x, 1, 1, 32, 32), "NaN input");
            assertThat(out[0]).isNaN();
        }
    }

    @Test
    void forwardPassesThatCannotBeReplayedAreRefused() {
        Linear l = new Linear(4, 4);
        assertThatThrownBy(() -> InferencePlan.trace(x -> l.forward(x).relu_(), 2, 4))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("in place").hasMessageContaining("relu_");
        assertThatThrownBy(() -> InferencePlan.trace(x -> x.sum().item() > 0 ? x.mul(2) : x, 2, 4))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("into Java");
        assertThatThrownBy(() -> InferencePlan.trace(x -> l.forward(x).toFloatArray()[0] > 0 ? x.mul(2) : x, 2, 4))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("into Java");
        assertThatThrownBy(() -> InferencePlan.trace(x -> x.max(1).indices(), 2, 4))
                .isInstanceOf(UnsupportedOperationException.class);
        // nothing is left tracing on this thread after a refusal
        try (InferencePlan ok = InferencePlan.trace(l::forward, 2, 4)) {
            assertThat(ok.stepCount()).isEqualTo(1);
        }
    }

    @Test
    void badBuffersAndClosedPlansGiveClearErrors() {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32);
        assertThatThrownBy(() -> plan.run(new float[784], new float[10])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1024 floats").hasMessageContaining("[1, 1, 32, 32]").hasMessageContaining("784");
        assertThatThrownBy(() -> plan.run(new float[1024], new float[9])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("10 floats");
        assertThatThrownBy(() -> plan.run(new float[1030], 10, new float[10], 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offset 10");
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> plan.run(arena.allocate(1000 * 4), arena.allocate(40))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("holds 1000");
        }
        plan.close();
        assertThatThrownBy(() -> plan.run(new float[1024], new float[10])).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void segmentsInAndOutNativeOrHeap() {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        float[] x = randomInput(1024, 4);
        float[] expected = eager(net::forward, x, 1, 1, 32, 32);
        try (InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32); Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(1024 * 4, 64);
            MemorySegment.copy(x, 0, in, ValueLayout.JAVA_FLOAT, 0, 1024);
            MemorySegment out = arena.allocate(40);
            plan.run(in, out);
            assertClose(out.toArray(ValueLayout.JAVA_FLOAT), expected, "native segments");
            MemorySegment heapOut = MemorySegment.ofArray(new float[10]);
            plan.run(MemorySegment.ofArray(x), heapOut);
            assertClose(heapOut.toArray(ValueLayout.JAVA_FLOAT), expected, "heap segments");
        }
    }

    @Test
    void manyThreadsGetTheSingleThreadedResults() throws Exception {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        int inputs = 32;
        try (InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32)) {
            float[][] x = new float[inputs][];
            float[][] expected = new float[inputs][10];
            for (int i = 0; i < inputs; i++) {
                x[i] = randomInput(1024, 100 + i);
                plan.run(x[i], expected[i]);
            }
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    int thread = t;
                    results.add(pool.submit(() -> {
                        float[] out = new float[10];
                        int checked = 0;
                        for (int rep = 0; rep < 200; rep++) {
                            int i = (thread * 7 + rep) % inputs;
                            plan.run(x[i], out);
                            assertThat(out).containsExactly(expected[i]);
                            checked++;
                        }
                        return checked;
                    }));
                }
                for (Future<Integer> r : results) {
                    assertThat(r.get()).isEqualTo(200);
                }
            } finally {
                pool.shutdown();
            }
            assertThat(plan.contextsCreated()).isBetween(1L, 17L);
        }
    }

    @Test
    void theEagerForwardOfAnEvalModelIsAlsoSafeFromManyThreads() throws Exception {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        float[][] x = new float[8][];
        float[][] expected = new float[8][];
        for (int i = 0; i < 8; i++) {
            x[i] = randomInput(2 * 1024, 300 + i);
            expected[i] = eager(net::forward, x[i], 2, 1, 32, 32);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    for (int rep = 0; rep < 50; rep++) {
                        int i = (thread + rep) % 8;
                        assertThat(eager(net::forward, x[i], 2, 1, 32, 32)).containsExactly(expected[i]);
                    }
                    return null;
                }));
            }
            for (Future<?> r : results) {
                r.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void steadyStateCallsAllocateNoOffHeapMemoryAndNoHeap() throws Exception {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        try (InferencePlan plan = InferencePlan.trace(net::forward, 1, 1, 32, 32)) {
            float[] x = randomInput(1024, 1);
            float[] out = new float[10];
            for (int i = 0; i < 20_000; i++) { // JIT warm-up
                plan.run(x, out);
            }
            MemoryPool pool = MemoryPool.global();
            long systemBefore = pool.systemAllocations();
            long inUseBefore = pool.bytesInUse();
            for (int i = 0; i < 2000; i++) {
                plan.run(x, out);
            }
            assertThat(pool.systemAllocations()).isEqualTo(systemBefore);
            // at most: the Cleaner may return other tests' dropped tensors meanwhile
            assertThat(pool.bytesInUse()).isLessThanOrEqualTo(inUseBefore);
        }
        // asserted in a JVM of its own: in this one, other tests' profiles can leave a kernel's vector pass out of line
        // for good (see PlanHeapProbe); a service's JVM is the fresh one
        long fresh = PlanHeapProbe.inFreshJvm("lenet");
        System.out.println("InferencePlan LeNet batch 1: heap bytes per call (fresh JVM, best round after warm-up) = " + fresh);
        assertThat(fresh).as("heap bytes per call").isLessThan(ALLOCATION_LIMIT);
    }

    /**
     * A plan traced on int64 token ids (a small CharGPT: embeddings, causal attention, GELU MLPs, LayerNorm) takes long[]
     * inputs, matches the eager forward on other ids, checks every id on every run (an id past the vocabulary or
     * negative throws, naming it, and the plan keeps serving), refuses float input, reads native segments in place,
     * and allocates no heap per call.
     */
    @Test
    void int64TokenIdPlansMatchEagerAndCheckEveryId() throws Exception {
        Lanes.manualSeed(5);
        int vocab = 40;
        CharGPT gpt = new CharGPT(new CharGPT.Config(vocab, 16, 32, 4, 2, 0.1, false));
        gpt.eval();
        Random r = new Random(11);
        long[] ids = new long[2 * 16];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(vocab);
        }
        try (Tensor example = Tensor.of(ids, 2, 16); InferencePlan plan = InferencePlan.trace(gpt::forward, example)) {
            assertThat(plan.inputType()).isEqualTo(DType.INT64);
            assertThat(plan.toString()).startsWith("InferencePlan(input int64[2, 16] -> output [2, 16, 40]");
            float[] out = new float[plan.outputSize()];
            for (int round = 0; round < 3; round++) {
                long[] other = new long[ids.length];
                for (int i = 0; i < other.length; i++) {
                    other[i] = r.nextInt(vocab);
                }
                plan.run(other, out);
                float[] expected;
                try (Autograd.Mode g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
                    expected = gpt.forward(Tensor.of(other, 2, 16)).contiguous().toFloatArray();
                }
                assertClose(out, expected, "int64 plan, round " + round);
                try (MemoryScope s = MemoryScope.open()) {
                    assertClose(plan.run(Tensor.of(other, 2, 16)).toFloatArray(), expected, "run(Tensor), round " + round);
                }
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment in = arena.allocate(8L * other.length, 64);
                    MemorySegment.copy(other, 0, in, ValueLayout.JAVA_LONG, 0, other.length);
                    MemorySegment o = arena.allocate(4L * out.length, 64);
                    plan.run(in, o);
                    assertClose(o.toArray(ValueLayout.JAVA_FLOAT), expected, "native segment, round " + round);
                }
            }
            for (long badId : new long[] {vocab, -1, Long.MAX_VALUE}) {
                long[] bad = ids.clone();
                bad[7] = badId;
                assertThatThrownBy(() -> plan.run(bad, out)).isInstanceOf(IndexOutOfBoundsException.class)
                        .hasMessageContaining("index " + badId).hasMessageContaining("size " + vocab);
            }
            assertThatThrownBy(() -> plan.run(new float[ids.length], out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("takes int64 input of shape [2, 16]");
            assertThatThrownBy(() -> plan.run(new long[ids.length - 1], out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected an input of 32 int64 values");
            try (MemoryScope s = MemoryScope.open()) {
                assertThatThrownBy(() -> plan.run(Tensor.zeros(2, 16))).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("expected an int64 input of shape [2, 16] but got float32");
            }
            plan.run(ids, out); // still serving after the refusals
            float[] again = new float[out.length];
            plan.run(ids, again);
            assertThat(again).containsExactly(out);
        }
        long best = PlanHeapProbe.inFreshJvm("gpt"); // the same model and ids, in a JVM of its own (see PlanHeapProbe)
        System.out.println("InferencePlan CharGPT [2, 16] int64: heap bytes per call (fresh JVM, best round after warm-up) = " + best);
        assertThat(best).as("heap bytes per call").isLessThan(ALLOCATION_LIMIT);
    }

    /**
     * A plan through where, masked_fill, the comparisons, the logical ops, clamp, tril / triu and casts
     * ({@link PlanHeapProbe#selectLogic}) gives the eager graph's bits, and a warm call allocates nothing (fresh JVM).
     * Before: each Where, Compare, MaskedFill and cast step built a StridedLoop and offset arrays per call, each
     * tril / triu a counter (~1.3-2.7 KB a call over such graphs).
     */
    @Test
    void selectAndLogicPlanMatchesEagerAndDoesNotAllocate() throws Exception {
        Function<Tensor, Tensor> graph = PlanHeapProbe.selectLogic();
        float[] x = new float[32];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i) * 2;
        }
        x[5] = Float.NaN;
        x[6] = 0.5f;
        try (InferencePlan plan = InferencePlan.trace(graph, 2, 4, 4)) {
            float[] out = new float[plan.outputSize()];
            plan.run(x, out);
            float[] eager;
            try (MemoryScope s = MemoryScope.open()) {
                eager = graph.apply(Tensor.of(x, 2, 4, 4)).toFloatArray();
            }
            assertThat(out).containsExactly(eager);
        }
        assertThat(PlanHeapProbe.inFreshJvm("select-logic")).as("heap bytes per warm call").isLessThan(ALLOCATION_LIMIT);
    }

    /**
     * argmax/argmin are plan steps writing int64 slots: a classifier that returns class ids plans with an int64 output
     * (long[] and native-segment outputs, run(Tensor) an int64 tensor), the ids equal the eager op's exactly (first
     * extremum on ties, a NaN wins), and an id consumed inside the plan (toFloat, a one-hot compare: ONNX's Hardmax)
     * leaves a float plan. Wrong output arrays and int64 results that are not an argmax's whole slot are refused.
     */
    @Test
    void argmaxClassifiersReturnInt64IdsAndIdsUsedInsideStayExact() throws Exception {
        Lanes.manualSeed(3);
        Linear head = new Linear(20, 7);
        head.eval();
        Function<Tensor, Tensor> classify = x -> head.forward(x).argmax(1);
        try (InferencePlan plan = InferencePlan.trace(classify, 5, 20)) {
            assertThat(plan.outputType()).isEqualTo(DType.INT64);
            assertThat(plan.outputShape().toArray()).containsExactly(5);
            assertThat(plan.toString()).startsWith("InferencePlan(input [5, 20] -> output int64[5]").contains("argmax");
            for (long seed = 1; seed <= 3; seed++) {
                float[] x = randomInput(plan.inputSize(), seed);
                long[] expected;
                try (Autograd.Mode g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
                    expected = classify.apply(Tensor.of(x, 5, 20)).toLongArray();
                }
                long[] ids = new long[5];
                plan.run(x, ids);
                assertThat(ids).as("seed " + seed).containsExactly(expected);
                long[] at = new long[9];
                plan.run(x, 0, at, 3);
                assertThat(java.util.Arrays.copyOfRange(at, 3, 8)).containsExactly(expected);
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor t = plan.run(Tensor.of(x, 5, 20));
                    assertThat(t.dtype()).isEqualTo(DType.INT64);
                    assertThat(t.toLongArray()).containsExactly(expected);
                }
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment in = arena.allocate(4L * x.length, 64);
                    MemorySegment.copy(x, 0, in, ValueLayout.JAVA_FLOAT, 0, x.length);
                    MemorySegment out = arena.allocate(8L * 5, 64);
                    plan.run(in, out);
                    assertThat(out.toArray(ValueLayout.JAVA_LONG)).containsExactly(expected);
                    assertThatThrownBy(() -> plan.run(in, arena.allocate(8L * 5 - 4, 64))).isInstanceOf(IllegalArgumentException.class)
                            .hasMessageContaining("room for 5 int64 values");
                }
            }
            assertThatThrownBy(() -> plan.run(new float[100], new float[5])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("returns int64 of shape [5]").hasMessageContaining("pass a long[] output");
            assertThatThrownBy(() -> plan.run(new float[100], new long[4])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected an output buffer of 5 int64 values");
        }
        long best = PlanHeapProbe.inFreshJvm("lenet-ids"); // LeNet's class ids into a long[], in a JVM of its own
        System.out.println("InferencePlan LeNet -> argmax [4] int64: heap bytes per call (fresh JVM, best round after warm-up) = " + best);
        assertThat(best).as("heap bytes per call").isLessThan(ALLOCATION_LIMIT);
        // ties give the first position, a NaN wins (its first occurrence), argmin over dim 0 with keepdim, reshaped
        Function<Tensor, Tensor> argmaxRows = x -> x.argmax(1);
        float[] tied = {1, 3, 3, 0, Float.NaN, 2, Float.NaN, 1, 5, 5, -1, 5};
        try (InferencePlan plan = InferencePlan.trace(argmaxRows, 3, 4)) {
            long[] ids = new long[3];
            plan.run(tied, ids);
            assertThat(ids).containsExactly(1, 0, 0);
        }
        Function<Tensor, Tensor> argminColumns = x -> x.argmin(0, true).reshape(-1);
        try (InferencePlan plan = InferencePlan.trace(argminColumns, 3, 4); MemoryScope s = MemoryScope.open()) {
            long[] ids = new long[4];
            plan.run(tied, ids);
            assertThat(ids).containsExactly(plan.run(Tensor.of(tied, 3, 4)).toLongArray()).containsExactly(1, 1, 1, 0);
        }
        // ids used inside the plan: a one-hot of the row maxima (ONNX's Hardmax) and the ids as floats
        Function<Tensor, Tensor> hardmax = x -> Tensor.arange(0.0, 7.0, 1.0).reshape(1, 7).eq(head.forward(x).argmax(1, true).toFloat()).toFloat()
                .add(head.forward(x).argmin(1, true).toFloat().mul(10f));
        try (InferencePlan plan = InferencePlan.trace(hardmax, 5, 20)) {
            assertThat(plan.outputType()).isEqualTo(DType.FLOAT32);
            for (long seed = 1; seed <= 3; seed++) {
                float[] x = randomInput(plan.inputSize(), seed);
                float[] out = new float[plan.outputSize()];
                plan.run(x, out);
                assertThat(out).containsExactly(eager(hardmax, x, 5, 20));
            }
        }
        // conversions are steps too: scores truncated to int64 ids (toward zero, negatives included), ids turned around
        // (ONNX's ArgMax with select_last_index), a float -> bool -> float mask
        Function<Tensor, Tensor> truncated = x -> x.mul(3f).toLong();
        Function<Tensor, Tensor> lastIds = x -> x.argmax(1).toFloat().rsub(3f).toLong();
        Function<Tensor, Tensor> mask = x -> x.toType(DType.BOOL).toFloat().add(x);
        float[] mixed = {-1.7f, -0.2f, 0f, 0.4f, 2.9f, -3.3f, 1e-3f, 5.5f, Float.NaN, -0f, 7f, 0.33f};
        for (Function<Tensor, Tensor> f : List.of(truncated, lastIds)) {
            try (InferencePlan plan = InferencePlan.trace(f, 3, 4); MemoryScope s = MemoryScope.open()) {
                assertThat(plan.outputType()).isEqualTo(DType.INT64);
                long[] ids = new long[plan.outputSize()];
                float[] in = f == truncated ? new float[] {-1.7f, -0.2f, 0f, 0.4f, 2.9f, -3.3f, 1e-3f, 5.5f, 9f, -0f, 7f, 0.33f} : mixed;
                plan.run(in, ids);
                long[] expected;
                try (Autograd.Mode g = Autograd.noGrad()) {
                    expected = f.apply(Tensor.of(in, 3, 4)).toLongArray();
                }
                assertThat(ids).as(plan.toString()).containsExactly(expected);
            }
        }
        try (InferencePlan plan = InferencePlan.trace(mask, 3, 4)) {
            float[] out = new float[12];
            plan.run(mixed, out);
            assertThat(out).containsExactly(eager(mask, mixed, 3, 4));
            assertThat(plan.toString()).contains("to_bool", "to_float");
        }
        // an int64 result that is not an argmax's whole slot has no copy step: refused, naming the shape
        assertThatThrownBy(() -> InferencePlan.trace(x -> x.argmax(1).narrow(0, 1, 2), 3, 4)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("an int64 result must be the whole output of an argmax, argmin or toLong()").hasMessageContaining("[2]");
        Tensor constantIds;
        try (MemoryScope outer = MemoryScope.unscoped()) {
            constantIds = Tensor.of(new long[] {1, 2, 3}, 3);
        }
        try {
            assertThatThrownBy(() -> InferencePlan.trace(x -> constantIds, 3, 4)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("not a constant");
        } finally {
            constantIds.close();
        }
    }

    /** trace(forward, example) with a float32 example traces on exactly those values. */
    @Test
    void floatExampleTensorTracesLikeAShape() {
        Lanes.manualSeed(3);
        LeNet net = new LeNet();
        net.eval();
        float[] x = randomInput(1024, 4);
        try (Tensor example = Tensor.of(x, 1, 1, 32, 32); InferencePlan plan = InferencePlan.trace(net::forward, example)) {
            assertThat(plan.inputType()).isEqualTo(DType.FLOAT32);
            float[] out = new float[10];
            plan.run(x, out);
            assertClose(out, eager(net::forward, x, 1, 1, 32, 32), "float example");
            assertThatThrownBy(() -> plan.run(new long[1024], out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("takes float32 input");
        }
        try (Tensor bools = Tensor.zeros(2, 2).gt(0.5)) {
            assertThatThrownBy(() -> InferencePlan.trace(net::forward, bools)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("must be float32 or int64, got bool");
        }
    }

    /**
     * {@link InferencePlan#traceUnchecked} records without computing: the plan is the checked trace's (the same steps,
     * the same bits), values over constants alone still fold (they run during the trace), and a kernel over the input
     * does not run at all: ids out of an embedding's range, which the eager lookup refuses while tracing, pass the
     * unchecked trace and are refused by the plan's own check on every run; its result reads as zeros. The refusals of
     * what a plan cannot replay stand as in a checked trace.
     */
    @Test
    void anUncheckedTraceMakesTheCheckedPlanWithoutRunningTheForward() {
        Lanes.manualSeed(12);
        Conv2d conv = new Conv2d(16, 16, 3, 1, 1);
        BatchNorm2d bn = new BatchNorm2d(16);
        Linear head = new Linear(16 * 8 * 8, 5);
        Tensor scale = Tensor.randn(16, 1, 1);
        try (Autograd.Mode g = Autograd.noGrad()) {
            bn.train();
            bn.forward(Tensor.randn(4, 16, 8, 8)); // running statistics other than 0 / 1
        }
        bn.eval();
        // scale.exp().add(1) depends on constants only: folded, so it must have run during the unchecked trace too
        Function<Tensor, Tensor> f = x -> head.forward(bn.forward(conv.forward(x)).relu().mul(scale.exp().add(1)).add(x).flatten(1, 3));
        float[] x = randomInput(2 * 16 * 8 * 8, 3);
        try (InferencePlan checked = InferencePlan.trace(f, 2, 16, 8, 8); InferencePlan unchecked = InferencePlan.traceUnchecked(f, 2, 16, 8, 8)) {
            assertThat(unchecked.toString()).isEqualTo(checked.toString());
            float[] a = new float[10];
            float[] b = new float[10];
            checked.run(x, a);
            unchecked.run(x, b);
            assertThat(b).containsExactly(a);
            assertClose(b, eager(f, x, 2, 16, 8, 8), "unchecked plan vs eager");
        }
        Lanes.manualSeed(13);
        dev.lanes.nn.Embedding emb = new dev.lanes.nn.Embedding(10, 4);
        try (Tensor bad = Tensor.of(new long[] {3, 12}, 2)) {
            assertThatThrownBy(() -> InferencePlan.trace(emb::forward, bad)).isInstanceOf(IndexOutOfBoundsException.class);
            try (InferencePlan plan = InferencePlan.traceUnchecked(emb::forward, bad)) {
                float[] out = new float[8];
                assertThatThrownBy(() -> plan.run(new long[] {3, 12}, out)).isInstanceOf(IndexOutOfBoundsException.class)
                        .hasMessageContaining("index 12").hasMessageContaining("size 10");
                plan.run(new long[] {3, 9}, out);
                float[] row9 = emb.weight.narrow(0, 9, 1).contiguous().toFloatArray();
                assertThat(java.util.Arrays.copyOfRange(out, 4, 8)).containsExactly(row9);
            }
        }
        // what a skipped kernel would have written reads as zeros, never as another tensor's old values in the pool, even
        // in a tensor the forward keeps past the trace
        float[] secret = new float[64];
        java.util.Arrays.fill(secret, 42f);
        Tensor.of(secret, 8, 8).close();
        Tensor[] kept = new Tensor[1];
        String[] printed = new String[1];
        try (InferencePlan plan = InferencePlan.traceUnchecked(x2 -> {
            Tensor h = x2.add(1);
            kept[0] = MemoryScope.disown(h);
            printed[0] = h.toString(); // a debug print inside forward
            return h.mul(2);
        }, 8, 8)) {
            assertThat(printed[0]).startsWith("tensor(<not computed").contains("size=[8, 8]");
            assertThat(kept[0].toFloatArray()).containsOnly(0f);
            float[] out = new float[64];
            plan.run(new float[64], out);
            assertThat(out).containsOnly(2f);
        } finally {
            kept[0].close();
        }
        Linear l = new Linear(4, 4);
        assertThatThrownBy(() -> InferencePlan.traceUnchecked(x2 -> x2.sum().item() > 0 ? x2.mul(2) : x2, 2, 4))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("InferencePlan.traceUnchecked").hasMessageContaining("into Java");
        assertThatThrownBy(() -> InferencePlan.traceUnchecked(x2 -> l.forward(x2).relu_(), 2, 4))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("relu_");
        assertThatThrownBy(() -> InferencePlan.traceUnchecked(x2 -> x2.max(1).indices(), 2, 4)).isInstanceOf(UnsupportedOperationException.class);
        try (InferencePlan ok = InferencePlan.traceUnchecked(l::forward, 2, 4)) { // nothing left tracing after the refusals
            assertThat(ok.stepCount()).isEqualTo(1);
        }
    }

    /**
     * A plan holds a snapshot of some weights (prepacked) and reads others live: after a write to any of them a call
     * is refused (it mixed the old weight with the new bias: W_old x + 1), and a new trace gives the new model.
     */
    @Test
    void aCallAfterTheWeightsChangedIsRefused() {
        dev.lanes.nn.Linear fc = new dev.lanes.nn.Linear(4, 2);
        fc.eval();
        float[] x = {1, 2, 3, 4};
        float[] out = new float[2];
        try (InferencePlan plan = InferencePlan.trace(fc::forward, 1, 4)) {
            plan.run(x, out);
            try (var g = Autograd.noGrad()) {
                fc.weight.zero_();
                fc.bias.fill_(1f);
            }
            assertThatThrownBy(() -> plan.run(x, out)).isInstanceOf(IllegalStateException.class).hasMessageContaining("weights changed since this plan was traced");
        }
        try (InferencePlan again = InferencePlan.trace(fc::forward, 1, 4)) {
            again.run(x, out);
            assertThat(out).containsExactly(1f, 1f);
        }
    }

    /** copyTo inside a traced forward is refused like toFloatArray (the example's values were frozen into the plan). */
    @Test
    void copyToInsideForwardIsRefused() {
        assertThatThrownBy(() -> InferencePlan.trace(x -> {
            float[] a = new float[4];
            x.copyTo(a, 0);
            return x.sub((a[0] + a[1] + a[2] + a[3]) / 4);
        }, 1, 4)).isInstanceOf(UnsupportedOperationException.class);
    }

    /**
     * relu(max_pool(conv(x))) is fused as max_pool(conv_relu(x)) only where every pooling window holds an input element:
     * a dilated window wholly in the padding pools -inf, which the ReLU after the pool turns into 0 (the fused plan kept
     * -inf and its trace was refused as "depending on its input's values").
     */
    @Test
    void aReluIsNotMovedAcrossAPoolWhoseWindowsCanLieInThePadding() {
        Lanes.manualSeed(5);
        Tensor w = Tensor.randn(4, 3, 1, 1);
        java.util.function.Function<Tensor, Tensor> f = x -> Tensor.maxPool2d(Tensor.conv2d(x, w, null), new int[] {2}, new int[] {1},
                new int[] {1}, new int[] {4}, false).relu();
        try (InferencePlan p = InferencePlan.trace(f, 1, 3, 3, 3)) {
            float[] in = new float[27];
            java.util.Arrays.fill(in, 0.5f);
            float[] out = new float[p.outputSize()];
            p.run(in, out);
            float[] eager;
            try (Autograd.Mode g = Autograd.noGrad()) {
                eager = f.apply(Tensor.of(in, 1, 3, 3, 3)).toFloatArray();
            }
            assertThat(out).containsExactly(eager);
        }
    }

    /** A weight read into Java while tracing (x.mul(temp.item())) is watched like the plan's other constants. */
    @Test
    void aWeightReadIntoJavaDuringTheTraceIsWatchedForWrites() {
        Tensor temp = Tensor.of(new float[] {2f}, 1);
        try (InferencePlan p = InferencePlan.trace(x -> x.mul(temp.item()), 3)) {
            float[] out = new float[3];
            p.run(new float[] {1, 2, 3}, out);
            assertThat(out).containsExactly(2f, 4f, 6f);
            try (Autograd.Mode g = Autograd.noGrad()) {
                temp.mul_(10);
            }
            // the plan kept 2 and gave [2, 4, 6] where eager gives [20, 40, 60]; now refused as for any weight
            assertThatThrownBy(() -> p.run(new float[] {1, 2, 3}, out)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("changed since this plan was traced");
        }
    }

    /** A plan whose result is a scalar gives a 0-d tensor from run(Tensor) (it came back of shape [1]). */
    @Test
    void aScalarResultStaysZeroDimensional() {
        try (InferencePlan p = InferencePlan.trace(Tensor::sum, 2, 3)) {
            Tensor y = p.run(Tensor.ones(2, 3));
            assertThat(y.shape()).isEmpty();
            assertThat(y.item()).isEqualTo(6f);
        }
    }
}
