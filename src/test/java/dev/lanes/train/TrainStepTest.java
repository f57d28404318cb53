package dev.lanes.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.DType;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.AdaptiveAvgPool2d;
import dev.lanes.nn.BatchNorm2d;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.Embedding;
import dev.lanes.nn.LayerNorm;
import dev.lanes.nn.TransformerEncoderLayer;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Flatten;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Loss;
import dev.lanes.nn.MaxPool2d;
import dev.lanes.nn.Module;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.optim.Adam;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.SGD;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The compiled training step against eager training: the same model (same seed), the same batches, 20 steps each;
 * (gradients clipped to norm 1 in both); every parameter must agree to float rounding (relative 1e-4 of the parameter's scale: the plan runs the eager
 * kernels, but a GEMM may take another blocking for another layout, which sums in another order).
 */
class TrainStepTest {
    private static final int STEPS = 20;

    private static Sequential mlp() {
        return new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 5));
    }

    private static Sequential lenet() {
        return new Sequential(new Conv2d(1, 6, 5), new ReLU(), new MaxPool2d(2), new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(16 * 4 * 4, 32), new ReLU(), new Linear(32, 10));
    }

    /** Writes in place into a value of the step: a plan cannot replay that. */
    static final class InPlaceRelu extends Module {
        @Override
        public Tensor forward(Tensor x) {
            Tensor y = x.mul(1);
            return y.relu_();
        }
    }

    /** conv-bn-relu-conv-bn plus the identity, then relu: ResNet's basic block (BatchNorm in training mode). */
    static final class Block extends Module {
        final Conv2d c1;
        final BatchNorm2d b1;
        final Conv2d c2;
        final BatchNorm2d b2;

        Block() {
            this(8);
        }

        Block(int channels) {
            c1 = register("c1", new Conv2d(channels, channels, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false));
            b1 = register("b1", new BatchNorm2d(channels));
            c2 = register("c2", new Conv2d(channels, channels, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false));
            b2 = register("b2", new BatchNorm2d(channels));
        }

        @Override
        public Tensor forward(Tensor x) {
            return b2.forward(c2.forward(b1.forward(c1.forward(x)).relu())).add(x).relu();
        }
    }

    private static Sequential resnet() {
        return new Sequential(new Conv2d(3, 8, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false), new BatchNorm2d(8), new ReLU(),
                new Block(), new Block(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(8, 10));
    }

    /** A char GPT in miniature: token + position embeddings, two causal pre-norm GELU blocks, final LayerNorm, head. */
    static final class TinyGpt extends Module {
        static final int VOCAB = 11;
        static final int T = 8;
        final Embedding tok = register("tok", new Embedding(VOCAB, 16));
        final Embedding pos;
        final TransformerEncoderLayer b1;
        final TransformerEncoderLayer b2;

        TinyGpt() {
            this(T, 0.0);
        }

        /** {@code context} from 64 on runs the tiled attention kernel; {@code dropout} > 0 draws masks every step. */
        TinyGpt(int context, double dropout) {
            pos = register("pos", new Embedding(context, 16));
            b1 = register("b1", new TransformerEncoderLayer(16, 2, 32, dropout, "gelu", 1e-5, true, true));
            b2 = register("b2", new TransformerEncoderLayer(16, 2, 32, dropout, "gelu", 1e-5, true, true));
        }

        final LayerNorm ln = register("ln", new LayerNorm(16));
        final Linear head = register("head", new Linear(16, VOCAB, false));

        @Override
        public Tensor forward(Tensor idx) {
            Tensor x;
            try (Tensor positions = Tensor.arange(idx.size(1))) {
                x = tok.forward(idx).add(pos.forward(positions));
            }
            x = b2.forward(b1.forward(x, null, true), null, true);
            return head.forward(ln.forward(x));
        }
    }

    /** Trains a fresh model (seeded) eagerly or compiled on seeded batches; returns its parameters and losses. */
    private static float[][] train(Supplier<Module> make, Function<List<Tensor>, Optimizer> opt, int[] inputShape, int classes, boolean compiled,
                                   float[] losses, List<float[]> buffers) {
        Lanes.manualSeed(42);
        Module model = make.get();
        Loss criterion = new CrossEntropyLoss();
        Optimizer optimizer = opt.apply(model.parameters());
        java.util.function.BiFunction<Tensor, Tensor, Tensor> loss = (out, target) -> criterion.forward(out.reshape(-1, out.size(out.dim() - 1)), target);
        TrainStep step = compiled ? TrainStep.compile(model::forward, loss, optimizer).clipGradNorm(1.0) : null;
        for (int s = 0; s < losses.length; s++) {
            java.util.Random r = new java.util.Random(7 + s % 2); // two batches in turn: learnable, so the loss falls
            float[] x = new float[Math.toIntExact(java.util.Arrays.stream(inputShape).asLongStream().reduce(1, (a, b) -> a * b))];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            boolean tokens = inputShape.length == 2 && classes == TinyGpt.VOCAB;
            long[] y = new long[tokens ? x.length : inputShape[0]];
            for (int i = 0; i < y.length; i++) {
                y[i] = r.nextInt(classes);
            }
            long[] ids = new long[tokens ? x.length : 0];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(TinyGpt.VOCAB);
            }
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor xt = tokens ? Tensor.of(ids, inputShape) : Tensor.of(x, inputShape);
                Tensor yt = Tensor.of(y, y.length);
                if (compiled) {
                    losses[s] = step.run(xt, yt);
                } else {
                    optimizer.zeroGrad();
                    Tensor l = loss.apply(model.forward(xt), yt);
                    l.backward();
                    dev.lanes.nn.utils.ClipGrad.clipGradNorm_(model.parameters(), 1.0);
                    optimizer.step();
                    losses[s] = l.item();
                }
            }
        }
        if (buffers != null) {
            for (Tensor b : model.buffers()) {
                buffers.add(b.toType(DType.FLOAT32).toFloatArray());
            }
        }
        List<Tensor> ps = model.parameters();
        float[][] out = new float[ps.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ps.get(i).toFloatArray();
        }
        if (step != null) {
            step.close();
        }
        return out;
    }

    private static void assertSameTraining(Supplier<Module> make, Function<List<Tensor>, Optimizer> opt, int[] inputShape, int classes) {
        float[] eagerLoss = new float[STEPS];
        float[] compiledLoss = new float[STEPS];
        List<float[]> eagerBuffers = new java.util.ArrayList<>();
        List<float[]> compiledBuffers = new java.util.ArrayList<>();
        float[][] eager = train(make, opt, inputShape, classes, false, eagerLoss, eagerBuffers);
        float[][] compiled = train(make, opt, inputShape, classes, true, compiledLoss, compiledBuffers);
        assertThat(compiledBuffers).hasSameSizeAs(eagerBuffers);
        for (int i = 0; i < eagerBuffers.size(); i++) {
            float[] e = eagerBuffers.get(i);
            for (int j = 0; j < e.length; j++) {
                // running statistics and batch counts: updated by every compiled run as by every eager step
                assertThat(compiledBuffers.get(i)[j]).as("buffer %d element %d", i, j).isCloseTo(e[j], org.assertj.core.data.Offset.offset(1e-4f * Math.max(1, Math.abs(e[j]))));
            }
        }
        for (int s = 0; s < STEPS; s++) {
            assertThat(compiledLoss[s]).as("loss at step %d", s).isCloseTo(eagerLoss[s], org.assertj.core.data.Offset.offset(1e-4f * Math.max(1, Math.abs(eagerLoss[s]))));
        }
        assertThat(eagerLoss[STEPS - 1]).as("training makes progress").isLessThan(eagerLoss[0]);
        for (int i = 0; i < eager.length; i++) {
            float scale = 0;
            for (float v : eager[i]) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int j = 0; j < eager[i].length; j++) {
                assertThat(compiled[i][j]).as("parameter %d element %d", i, j).isCloseTo(eager[i][j], org.assertj.core.data.Offset.offset(1e-4f * scale));
            }
        }
    }

    /** Adagrad, Adamax, NAdam (its 0-d mu_product state) and RAdam drive a compiled step as in eager training. */
    @Test
    void mlpWithAdagradAdamaxNAdamRAdamMatchesEager() {
        assertSameTraining(TrainStepTest::mlp, p -> new dev.lanes.optim.Adagrad(p, 0.05, 0.01, 1e-4, 0.1, 1e-10), new int[] {16, 20}, 5);
        assertSameTraining(TrainStepTest::mlp, p -> new dev.lanes.optim.Adamax(p, 1e-2), new int[] {16, 20}, 5);
        assertSameTraining(TrainStepTest::mlp, p -> new dev.lanes.optim.NAdam(p, 1e-2, 0.9, 0.999, 1e-8, 1e-4, 4e-3), new int[] {16, 20}, 5);
        assertSameTraining(TrainStepTest::mlp, p -> new dev.lanes.optim.RAdam(p, 1e-2), new int[] {16, 20}, 5);
    }

    @Test
    void mlpWithSgdMomentumMatchesEager() {
        assertSameTraining(TrainStepTest::mlp, p -> new SGD(p, 0.05, 0.9), new int[] {16, 20}, 5);
    }

    @Test
    void mlpWithAdamMatchesEager() {
        assertSameTraining(TrainStepTest::mlp, p -> new Adam(p, 1e-2), new int[] {16, 20}, 5);
    }

    @Test
    void resnetBlocksWithBatchNormMatchEager() {
        assertSameTraining(TrainStepTest::resnet, p -> new SGD(p, 0.05, 0.9, 0, 5e-4, true), new int[] {8, 3, 12, 12}, 10);
    }

    @Test
    void tinyGptWithAdamWMatchesEager() {
        assertSameTraining(TinyGpt::new, p -> new dev.lanes.optim.AdamW(p, 3e-3), new int[] {4, TinyGpt.T}, TinyGpt.VOCAB);
    }

    @Test
    void gptWithDropoutMatchesEagerMaskForMask() {
        // dropout 0.1 on the attention weights and after attention and feed-forward: every compiled run draws its masks
        // from the global generator in eager order (capture draws from a private one), so the runs agree step for step
        assertSameTraining(() -> new TinyGpt(TinyGpt.T, 0.1), p -> new dev.lanes.optim.AdamW(p, 3e-3), new int[] {4, TinyGpt.T}, TinyGpt.VOCAB);
    }

    @Test
    void gptOnTheTiledAttentionKernelWithDropoutMatchesEager() {
        assertSameTraining(() -> new TinyGpt(64, 0.1), p -> new dev.lanes.optim.AdamW(p, 3e-3), new int[] {2, 64}, TinyGpt.VOCAB);
    }

    /** relu(h) + h: the pre-activation h has a second reader, so its ReLU must stay a step of its own. */
    static final class ReluPlusInput extends Module {
        final Linear fc1 = register("fc1", new Linear(20, 32));
        final Linear fc2 = register("fc2", new Linear(32, 5));

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = fc1.forward(x);
            return fc2.forward(h.relu().add(h));
        }
    }

    /**
     * The compiled step fuses each ReLU into the GEMM or convolution before it (its backward reads the ReLU's output), and
     * only where nothing else reads the pre-activation: both plans still train as eager does (the tests above and below).
     */
    @Test
    void reluFusesIntoItsProducerOnlyWhereThePreActivationHasNoOtherReader() {
        Lanes.manualSeed(3);
        Tensor x = Tensor.randn(16, 20);
        Tensor labels = Tensor.randint(0, 5, 16);
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        Module mlp = new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 5));
        try (dev.lanes.TrainingPlan plan = dev.lanes.TrainingPlan.capture(mlp::forward, criterion::forward, mlp.parameters(), x, labels)) {
            String listing = plan.toString();
            assertThat(listing.lines().filter(l -> l.contains("gemm") && l.endsWith("-> relu")).count()).as(listing).isEqualTo(2);
            assertThat(listing.lines().filter(l -> l.contains("= relu ")).count()).as(listing).isZero();
        }
        Module shared = new ReluPlusInput();
        try (dev.lanes.TrainingPlan plan = dev.lanes.TrainingPlan.capture(shared::forward, criterion::forward, shared.parameters(), x, labels)) {
            String listing = plan.toString();
            assertThat(listing.lines().filter(l -> l.contains("= relu ")).count()).as(listing).isEqualTo(1);
            assertThat(listing.lines().filter(l -> l.endsWith("-> relu")).count()).as(listing).isZero();
        }
        assertSameTraining(ReluPlusInput::new, p -> new SGD(p, 0.05, 0.9), new int[] {16, 20}, 5);
        // conv-bn-relu: the ReLU goes into the normalising pass; the block's relu(bn(..) + x) into the residual add
        Module resnet = resnet();
        Tensor images = Tensor.randn(8, 3, 12, 12);
        Tensor classes = Tensor.randint(0, 10, 8);
        try (dev.lanes.TrainingPlan plan = dev.lanes.TrainingPlan.capture(resnet::forward, criterion::forward, resnet.parameters(), images, classes)) {
            String listing = plan.toString();
            assertThat(listing.lines().filter(l -> l.contains("= batch_norm ") && l.endsWith("-> relu")).count()).as(listing).isEqualTo(3);
            assertThat(listing.lines().filter(l -> l.contains("= add ") && l.endsWith("-> relu")).count()).as(listing).isEqualTo(2);
            assertThat(listing.lines().filter(l -> l.contains("= relu ")).count()).as(listing).isZero();
        }
    }

    /**
     * Blocks of 16 channels, where a training plan computes the 3 x 3 convolutions and their input gradients by
     * Winograd (Winograd.TRAINING), and a 3 x 3 convolution without padding (its input gradient padded by 2), with a
     * bias and a ReLU; the stem (3 channels in) and the 1 x 1 head stay direct.
     */
    private static Sequential resnet16() {
        return new Sequential(new Conv2d(3, 16, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false), new BatchNorm2d(16), new ReLU(),
                new Block(16), new Block(16), new Conv2d(16, 20, 3), new ReLU(), new Conv2d(20, 10, 1), new AdaptiveAvgPool2d(1), new Flatten());
    }

    /**
     * A training plan of {@link #resnet16} computes its gradients as eager backward does, within Winograd's rounding
     * (every gradient tensor within 2e-5 of its L2 norm; measured 1e-6 to 2e-6, and 0 with -Dlanes.winograd.training=false),
     * again after the weights moved, with the images in two parts; trains as eager training does (20 steps: losses
     * within 1e-2, all parameters' norm within 1e-3); and lists which steps took Winograd: the five 3 x 3 layers of 16
     * channels in and 16 or more out, forward and input gradient, nothing else. Element by element the runs drift
     * apart faster: ReLU networks amplify any rounding difference step by step (ResNetParityTest: PyTorch's own
     * float32 and float64 runs agree to 3e-6 at the first losses and 1e-3 by the third), and here a BatchNorm bias
     * element moved 1.2% of its tensor's largest by the second step.
     */
    @Test
    void sixteenChannelBlocksTrainByWinogradAsEagerTrainingDoes() {
        int threads = Lanes.numThreads();
        Lanes.setNumThreads(2); // the images in two parts, as on any machine of two cores or more
        try {
            winogradGradientsAndListing();
        } finally {
            Lanes.setNumThreads(threads);
        }
        float[] eagerLoss = new float[STEPS];
        float[] compiledLoss = new float[STEPS];
        float[][] eager = train(TrainStepTest::resnet16, p -> new SGD(p, 0.05, 0.9), new int[] {4, 3, 12, 12}, 10, false, eagerLoss, new java.util.ArrayList<>());
        float[][] compiled = train(TrainStepTest::resnet16, p -> new SGD(p, 0.05, 0.9), new int[] {4, 3, 12, 12}, 10, true, compiledLoss,
                new java.util.ArrayList<>());
        for (int s = 0; s < STEPS; s++) {
            assertThat(compiledLoss[s]).as("loss at step %d", s).isCloseTo(eagerLoss[s], org.assertj.core.data.Offset.offset(1e-2f * Math.abs(eagerLoss[s])));
        }
        assertThat(compiledLoss[STEPS - 1]).as("training makes progress").isLessThan(0.8f * compiledLoss[0]);
        double eagerNorm = 0;
        double compiledNorm = 0;
        for (int i = 0; i < eager.length; i++) {
            for (int j = 0; j < eager[i].length; j++) {
                eagerNorm += (double) eager[i][j] * eager[i][j];
                compiledNorm += (double) compiled[i][j] * compiled[i][j];
            }
        }
        assertThat(Math.sqrt(compiledNorm)).as("all parameters' norm").isCloseTo(Math.sqrt(eagerNorm), org.assertj.core.data.Offset.offset(1e-3 * Math.sqrt(eagerNorm)));
    }

    /**
     * {@link #sixteenChannelBlocksTrainByWinogradAsEagerTrainingDoes}'s gradient check: two plan runs against eager
     * backward, the second after the weights moved (the transforms must follow them), and the plan's listing.
     */
    private static void winogradGradientsAndListing() {
        Lanes.manualSeed(5);
        Module net = resnet16();
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        Tensor images = Tensor.randn(4, 3, 12, 12);
        Tensor classes = Tensor.randint(0, 10, 4);
        List<Tensor> params = net.parameters();
        List<float[]> eagerGrads = eagerGradients(net, criterion, images, classes);
        try (dev.lanes.TrainingPlan plan = dev.lanes.TrainingPlan.capture(net::forward, criterion::forward, params, images, classes)) {
            plan.run(images, classes); // the capture ran eagerly; this run is the plan's
            assertGradientsClose(plan, eagerGrads, "first run");
            try (dev.lanes.autograd.Autograd.Mode off = dev.lanes.autograd.Autograd.noGrad()) {
                for (int i = 0; i < params.size(); i++) { // a step of SGD, in place, as an optimizer takes it
                    params.get(i).sub_(plan.gradient(i).mul(0.5));
                }
            }
            plan.run(images, classes);
            assertGradientsClose(plan, eagerGradients(net, criterion, images, classes), "after the weights moved");
            String listing = plan.toString();
            List<String> forward = listing.lines().filter(l -> l.contains("= conv2d ")).toList();
            List<String> inputGrads = listing.lines().filter(l -> l.contains("= conv2d_backward input ")).toList();
            assertThat(forward).as(listing).hasSize(7);
            assertThat(forward.stream().filter(l -> l.contains("winograd F(4x4,3x3) (weights transformed each run)"))).as(listing).hasSize(5);
            assertThat(forward.stream().filter(l -> l.contains("[4, 3, 12, 12]") || l.contains("k1x1")))
                    .as("the stem and the head stay direct: %s", listing).noneMatch(l -> l.contains("winograd"));
            assertThat(inputGrads.stream().filter(l -> l.contains("winograd F(4x4,3x3) (flipped weights transformed each run)"))).as(listing).hasSize(5);
        }
    }

    /** One eager forward and backward; returns each parameter's gradient and clears it. */
    private static List<float[]> eagerGradients(Module net, CrossEntropyLoss criterion, Tensor images, Tensor classes) {
        criterion.forward(net.forward(images), classes).backward();
        List<float[]> grads = new java.util.ArrayList<>();
        for (Tensor p : net.parameters()) {
            grads.add(p.grad().toFloatArray());
            p.setGrad(null);
        }
        return grads;
    }

    /** Every gradient of the plan's last run within 2e-5 of the eager one's L2 norm (measured 1e-6 to 2e-6). */
    private static void assertGradientsClose(dev.lanes.TrainingPlan plan, List<float[]> eagerGrads, String when) {
        for (int i = 0; i < eagerGrads.size(); i++) {
            float[] got = plan.gradient(i).toFloatArray();
            float[] want = eagerGrads.get(i);
            double diff = 0;
            double norm = 0;
            for (int j = 0; j < want.length; j++) {
                diff += ((double) got[j] - want[j]) * ((double) got[j] - want[j]);
                norm += (double) want[j] * want[j];
            }
            assertThat(Math.sqrt(diff)).as("%s: parameter %d's gradient", when, i).isLessThanOrEqualTo(2e-5 * Math.sqrt(norm));
        }
    }

    @Test
    void lenetWithSgdMatchesEager() {
        assertSameTraining(TrainStepTest::lenet, p -> new SGD(p, 0.05, 0.9), new int[] {8, 1, 28, 28}, 10);
    }

    private static float[] flat(Module m) {
        List<Tensor> ps = m.parameters();
        int n = 0;
        for (Tensor p : ps) {
            n += p.numel();
        }
        float[] all = new float[n];
        int at = 0;
        for (Tensor p : ps) {
            float[] v = p.toFloatArray();
            System.arraycopy(v, 0, all, at, v.length);
            at += v.length;
        }
        return all;
    }

    @Test
    void badTargetsAndTokensThrowAndLeaveTheModelAsItWas() {
        Lanes.manualSeed(1);
        Sequential net = mlp();
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        try (MemoryScope scope = MemoryScope.open()) {
            step.run(Tensor.randn(4, 20), Tensor.of(new long[] {0, 1, 2, 3}, 4));
            float[] before = flat(net);
            assertThatThrownBy(() -> step.run(Tensor.randn(4, 20), Tensor.of(new long[] {0, 1, 5, 3}, 4)))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("Target 5 is out of bounds (5 classes)");
            assertThatThrownBy(() -> step.run(Tensor.randn(4, 20), Tensor.of(new long[] {0, 1, -1, 3}, 4)))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("Target -1");
            assertThat(flat(net)).as("a refused step changes no parameter").containsExactly(before);
            assertThatThrownBy(() -> step.run(Tensor.randn(4, 20), Tensor.randn(4))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("int64");
            assertThat(step.run(Tensor.randn(4, 20), Tensor.of(new long[] {4, 3, 2, 1}, 4))).isFinite();
        }
        step.close();

        Lanes.manualSeed(2);
        TinyGpt gpt = new TinyGpt();
        CrossEntropyLoss ce = new CrossEntropyLoss();
        TrainStep lm = TrainStep.compile(gpt::forward, (out, y) -> ce.forward(out.reshape(-1, TinyGpt.VOCAB), y),
                new dev.lanes.optim.AdamW(gpt.parameters(), 1e-3));
        try (MemoryScope scope = MemoryScope.open()) {
            long[] ids = new long[2 * TinyGpt.T];
            lm.run(Tensor.of(ids, 2, TinyGpt.T), Tensor.of(new long[ids.length], ids.length));
            float[] before = flat(gpt);
            ids[5] = TinyGpt.VOCAB; // one past the table: the plan must not read past the embedding's rows
            assertThatThrownBy(() -> lm.run(Tensor.of(ids, 2, TinyGpt.T), Tensor.of(new long[ids.length], ids.length)))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index " + TinyGpt.VOCAB + " is out of bounds");
            ids[5] = Long.MIN_VALUE;
            assertThatThrownBy(() -> lm.run(Tensor.of(ids, 2, TinyGpt.T), Tensor.of(new long[ids.length], ids.length)))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(flat(gpt)).containsExactly(before);
            // the same index eagerly (Long.MIN_VALUE once passed the check as its "no exemption" sentinel, and its
            // row offset wrapped around to row 0)
            assertThatThrownBy(() -> Tensor.embedding(Tensor.of(new long[] {Long.MIN_VALUE}, 1), gpt.tok.weight, null))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("out of bounds");
            assertThatThrownBy(() -> Tensor.randn(4, 3).indexSelect(0, Tensor.of(new long[] {Long.MIN_VALUE}, 1)))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
        lm.close();
    }

    @Test
    void whatCannotBeReplayedIsRefusedAtCompileAndChangesNothing() {
        Lanes.manualSeed(3);
        Sequential net = new Sequential(new Linear(20, 32), new ReLU(), new InPlaceRelu(), new Linear(32, 5));
        float[] before = flat(net);
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1));
        assertThatThrownBy(() -> step.prepare(new int[] {4, 20}, DType.FLOAT32, new int[] {4}, DType.INT64))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("TrainStep.compile").hasMessageContaining("in place");
        assertThat(flat(net)).containsExactly(before);
        for (Tensor p : net.parameters()) {
            assertThat(p.grad()).as("capture leaves no gradient behind").isNull();
        }
        step.close();
    }

    @Test
    void captureRestoresBatchNormStateAndCountsBatchesAsEagerDoes() {
        Lanes.manualSeed(4);
        Sequential net = resnet();
        List<Tensor> buffersBefore = new java.util.ArrayList<>();
        for (Tensor b : net.buffers()) {
            buffersBefore.add(b.clone());
        }
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.01));
        step.prepare(new int[] {2, 3, 12, 12}, DType.FLOAT32, new int[] {2}, DType.INT64);
        List<Tensor> after = net.buffers();
        for (int i = 0; i < after.size(); i++) {
            assertThat(after.get(i).toType(DType.FLOAT32).toFloatArray()).as("buffer %d untouched by prepare", i)
                    .containsExactly(buffersBefore.get(i).toType(DType.FLOAT32).toFloatArray());
        }
        try (MemoryScope scope = MemoryScope.open()) {
            step.run(Tensor.randn(2, 3, 12, 12), Tensor.of(new long[] {1, 2}, 2));
            step.run(Tensor.randn(2, 3, 12, 12), Tensor.of(new long[] {1, 2}, 2));
        }
        assertThat(((dev.lanes.nn.BatchNorm) net.get(1)).numBatchesTracked.longItem()).isEqualTo(2);
        step.close();
    }

    @Test
    void regressionWithMseLossAndFloatTargetsMatchesEager() {
        float[][] params = new float[2][];
        float[] last = new float[2];
        for (int mode = 0; mode < 2; mode++) {
            Lanes.manualSeed(6);
            Sequential net = mlp();
            dev.lanes.nn.MSELoss mse = new dev.lanes.nn.MSELoss();
            Optimizer opt = new dev.lanes.optim.RMSprop(net.parameters(), 1e-3, 0.99, 1e-8, 0, 0.5, false);
            TrainStep step = mode == 1 ? TrainStep.compile(net, mse, opt) : null;
            java.util.Random r = new java.util.Random(8);
            for (int s = 0; s < STEPS; s++) {
                float[] x = new float[16 * 20];
                float[] y = new float[16 * 5];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                for (int i = 0; i < y.length; i++) {
                    y[i] = x[i] * 0.5f; // learnable: a linear map of the input
                }
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor xt = Tensor.of(x, 16, 20);
                    Tensor yt = Tensor.of(y, 16, 5);
                    if (step != null) {
                        last[mode] = step.run(xt, yt);
                    } else {
                        opt.zeroGrad();
                        Tensor l = mse.forward(net.forward(xt), yt);
                        l.backward();
                        opt.step();
                        last[mode] = l.item();
                    }
                }
            }
            params[mode] = flat(net);
            if (step != null) {
                step.close();
            }
        }
        assertThat(last[1]).isCloseTo(last[0], org.assertj.core.data.Offset.offset(1e-5f));
        for (int i = 0; i < params[0].length; i++) {
            assertThat(params[1][i]).as("parameter element %d", i).isCloseTo(params[0][i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    @Test
    void gradientsOnlyThenAnOptimizerStepIsARun() {
        float[][] params = new float[2][];
        for (int mode = 0; mode < 2; mode++) {
            Lanes.manualSeed(9);
            Sequential net = mlp();
            SGD opt = new SGD(net.parameters(), 0.05, 0.9);
            TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), opt);
            java.util.Random r = new java.util.Random(10);
            for (int s = 0; s < 5; s++) {
                float[] x = new float[8 * 20];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor xt = Tensor.of(x, 8, 20);
                    Tensor yt = Tensor.of(new long[] {0, 1, 2, 3, 4, 0, 1, 2}, 8);
                    if (mode == 0) {
                        step.run(xt, yt);
                    } else {
                        step.gradients(xt, yt);
                        for (Tensor p : net.parameters()) {
                            assertThat(p.grad()).as("gradients are there before the step").isNotNull();
                        }
                        opt.step();
                    }
                }
            }
            params[mode] = flat(net);
            step.close();
        }
        assertThat(params[1]).containsExactly(params[0]);
    }

    /**
     * A warm compiled training step allocates (almost) nothing: LeNet's step (convolutions forward and backward, pools,
     * linears, cross-entropy, SGD with momentum) in a JVM of its own, like a trainer's, at this suite's vector width.
     * Rarely run vector paths left in C1 code run the Vector API's allocating Java fallback (stop 30 found three: 6 KB
     * to 7.9 MB a step); this catches the next one in the paths LeNet takes.
     */
    @Test
    void aWarmCompiledLeNetStepAllocatesUnderAKilobyte() throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("train-lenet")).isLessThan(dev.lanes.PlanHeapProbe.TRAIN_STEP_LIMIT);
        // batch 64, the example's: edge kernels that turn hot late in the warm-up (C2's queue long, tier 2 straight to
        // tier 4) showed there, in about a third of JVMs (4-8 MB a step), never at batch 16
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("train-lenet-64")).isLessThan(dev.lanes.PlanHeapProbe.TRAIN_STEP_LIMIT);
    }

    /**
     * The same through BatchNorm2d in training, whose statistics and gradient run Reductions' canonical-order kernels:
     * at 4 lanes their eight-accumulator loops were past C2's inlining budget and ran the Vector API's boxed fallback
     * (~230 KB a step of a small CNN; the 128-bit CI pass catches it).
     */
    @Test
    void aWarmCompiledStepThroughBatchNormAllocatesUnderAKilobyte() throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("train-bn")).isLessThan(dev.lanes.PlanHeapProbe.TRAIN_STEP_LIMIT);
    }


    /**
     * A submodule switched to eval() (BatchNorm frozen for fine-tuning) recaptures the step: its running statistics stay
     * as they were and it normalises with them, as eagerly. Only the root's flag was watched: the plan kept updating them.
     */
    @Test
    void aSubmoduleSwitchedToEvalRecapturesTheStep() {
        Lanes.manualSeed(21);
        BatchNorm2d bn = new BatchNorm2d(3);
        Sequential net = new Sequential(new Conv2d(2, 3, 3), bn, new ReLU(), new Flatten(), new Linear(3 * 4 * 4, 5));
        net.train();
        TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.01));
        try (step) {
            Tensor x = Tensor.randn(4, 2, 6, 6);
            Tensor y = Tensor.of(new long[] {0, 1, 2, 3}, 4);
            step.run(x, y);
            float[] afterTraining = bn.runningMean.toFloatArray();
            bn.eval();
            step.run(x, y);
            step.run(x, y);
            assertThat(bn.runningMean.toFloatArray()).as("frozen statistics").containsExactly(afterTraining);
        }
    }

    /**
     * A compiled step's BatchNorm update counts as a write of the statistics (the replay wrote them without a version
     * bump): a plan traced before reading them refuses its next call instead of mixing them with what it folded.
     */
    @Test
    void aCompiledStepsStatisticsUpdateIsSeenByAPlanTracedBefore() {
        Lanes.manualSeed(22);
        BatchNorm2d bn = new BatchNorm2d(3);
        Sequential net = new Sequential(new Conv2d(2, 3, 3), bn, new ReLU(), new Flatten(), new Linear(3 * 4 * 4, 5));
        net.train();
        try (TrainStep step = TrainStep.compile(net, new CrossEntropyLoss(), new SGD(net.parameters(), 0.1))) {
            Tensor x = Tensor.randn(4, 2, 6, 6);
            Tensor y = Tensor.of(new long[] {0, 1, 2, 3}, 4);
            step.run(x, y); // captured: the eager capture's writes are behind us
            // a plan reading the statistics as constants (eval-mode batch norm of its input), traced now
            try (dev.lanes.InferencePlan plan = dev.lanes.InferencePlan.trace(
                    t -> Tensor.batchNorm(t, bn.runningMean, bn.runningVar, null, null, false, 0.1, 1e-5), 1, 3, 4, 4)) {
                float[] out = new float[48];
                plan.run(new float[48], out);
                step.run(x, y); // the replay updates running_mean and running_var
                assertThatThrownBy(() -> plan.run(new float[48], out)).isInstanceOf(IllegalStateException.class).hasMessageContaining("weights changed");
            }
        }
    }
}
