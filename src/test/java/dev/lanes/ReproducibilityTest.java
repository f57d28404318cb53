package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.Adam;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.SGD;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The same bits everywhere (issue 13): a fixed-seed training run gives bit-identical parameters at every vector
 * width and thread count. Three runs: 200 LeNet steps (convolutions, pooling, GEMMs, cross-entropy, SGD with momentum),
 * and an MLP with tanh, sigmoid, both GELUs, softmax and log_softmax trained with Adam (the transcendentals, and GEMMs large
 * enough to split across threads), a causal attention layer through the tiled kernel (dropout 0.1) trained with Adam, and
 * a compiled training step (TrainStep) of 16-channel 3 x 3 convolutions, which a training plan runs by Winograd forward
 * and backward (Winograd.TRAINING) over images split across threads. In-process
 * with 1 and 2 threads; from the native pass also in child JVMs with
 * 256-bit lanes ({@code -XX:UseAVX=2}, x86 only) and 128-bit lanes ({@code -XX:MaxVectorSize=16}).
 */
public class ReproducibilityTest {
    private static final int LENET_STEPS = 200;
    private static final int LENET_BATCH = 32;
    private static final int MLP_STEPS = 12;
    private static final int ATTENTION_STEPS = 6;
    private static final int WINOGRAD_STEPS = 6;

    /** A small MLP whose forward pass runs every vectorised transcendental. */
    static final class Mlp extends Module {
        final Linear fc1 = register("fc1", new Linear(256, 512));
        final Linear fc2 = register("fc2", new Linear(512, 256));
        final Linear fc3 = register("fc3", new Linear(256, 10));

        @Override
        public Tensor forward(Tensor x) {
            x = F.gelu(F.tanh(fc1.forward(x)), "tanh");
            x = F.sigmoid(F.gelu(fc2.forward(x)));
            return fc3.forward(x);
        }
    }

    /** Trains both models from seed 0 on this JVM with the given thread count; returns "lenet-hash mlp-hash". */
    static String run(int threads) {
        int saved = Lanes.numThreads();
        Lanes.setNumThreads(threads);
        try {
            Lanes.manualSeed(0);
            LeNet lenet = new LeNet();
            SGD sgd = new SGD(lenet.parameters(), 0.01, 0.9);
            CrossEntropyLoss criterion = new CrossEntropyLoss();
            for (int step = 0; step < LENET_STEPS; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor images = Tensor.randn(LENET_BATCH, 1, 32, 32);
                    Tensor labels = Tensor.randint(0, 10, LENET_BATCH);
                    sgd.zeroGrad();
                    criterion.forward(lenet.forward(images), labels).backward();
                    sgd.step();
                }
            }
            Lanes.manualSeed(1);
            Mlp mlp = new Mlp();
            Optimizer adam = new Adam(mlp.parameters(), 1e-3);
            for (int step = 0; step < MLP_STEPS; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = Tensor.randn(256, 256);
                    Tensor labels = Tensor.randint(0, 10, 256);
                    Tensor target = Tensor.rand(256, 10);
                    adam.zeroGrad();
                    Tensor logits = mlp.forward(x);
                    // log_softmax + NLL, softmax against a target, and exp: each kernel's backward too
                    Tensor loss = F.nllLoss(F.logSoftmax(logits, 1), labels)
                            .add(F.mseLoss(F.softmax(logits, 1), target))
                            .add(logits.mul(0.01).exp().mean());
                    loss.backward();
                    adam.step();
                }
            }
            // tiled attention forward and backward (kernels.Attention): several key blocks, causal, through Adam
            Lanes.manualSeed(2);
            Linear qkv = new Linear(16, 48);
            Linear proj = new Linear(16, 16);
            Optimizer adamAttention = new Adam(java.util.stream.Stream.concat(qkv.parameters().stream(), proj.parameters().stream()).toList(), 1e-2);
            for (int step = 0; step < ATTENTION_STEPS; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = Tensor.randn(4, 150, 16);
                    Tensor target = Tensor.randn(4, 150, 16);
                    adamAttention.zeroGrad();
                    Tensor[] parts = qkv.forward(x).split(16, -1).toArray(new Tensor[0]);
                    Tensor y = proj.forward(Tensor.flashAttention(parts[0], parts[1], parts[2], true, 0.25, 0.1));
                    F.mseLoss(y, target).backward();
                    adamAttention.step();
                }
            }
            // a compiled step whose 16-channel 3 x 3 layers run by Winograd, forward and input gradient
            Lanes.manualSeed(3);
            dev.lanes.nn.Sequential net = new dev.lanes.nn.Sequential(
                    new dev.lanes.nn.Conv2d(3, 16, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false), new dev.lanes.nn.BatchNorm2d(16),
                    new dev.lanes.nn.ReLU(), new dev.lanes.nn.Conv2d(16, 16, new int[] {3}, new int[] {1}, new int[] {1}, new int[] {1}, 1, false),
                    new dev.lanes.nn.BatchNorm2d(16), new dev.lanes.nn.ReLU(), new dev.lanes.nn.Conv2d(16, 24, 3), new dev.lanes.nn.ReLU(),
                    new dev.lanes.nn.AdaptiveAvgPool2d(1), new dev.lanes.nn.Flatten(), new Linear(24, 10));
            SGD sgdConv = new SGD(net.parameters(), 0.05, 0.9);
            try (dev.lanes.train.TrainStep step = dev.lanes.train.TrainStep.compile(net::forward, criterion::forward, sgdConv)) {
                for (int i = 0; i < WINOGRAD_STEPS; i++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        step.run(Tensor.randn(6, 3, 14, 14), Tensor.randint(0, 10, 6));
                    }
                }
            }
            return hash(lenet) + " " + hash(mlp) + " " + hash(qkv) + hash(proj) + " " + hash(net);
        } finally {
            Lanes.setNumThreads(saved);
        }
    }

    private static String hash(Module m) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Tensor p : m.parameters()) {
                for (float v : p.toFloatArray()) {
                    int bits = Float.floatToRawIntBits(v);
                    md.update(new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Entry point of the child JVMs: prints {@code run(threads)} on the last line. */
    public static void main(String[] args) {
        System.out.println("hashes " + run(Integer.parseInt(args[0])));
    }

    @Test
    void trainingGivesTheSameBitsForOneAndTwoThreads() {
        String one = run(1);
        String two = run(2);
        System.out.println("lanes " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit: " + one);
        assertThat(two).as("parameters after training with 2 threads vs 1").isEqualTo(one);
    }

    @Test
    void trainingGivesTheSameBitsAtEveryVectorWidth() throws Exception {
        String expect = System.getProperty("lanes.test.expectBits");
        if (expect != null && !expect.isBlank()) {
            return; // a width pass of .ci/run: the native pass already compared every width through child JVMs
        }
        String here = run(1);
        List<List<String>> widths = new ArrayList<>();
        boolean x86 = System.getProperty("os.arch", "").matches("amd64|x86_64");
        if (x86) {
            widths.add(List.of("-XX:UseAVX=2"));
        }
        widths.add(List.of("-XX:MaxVectorSize=16"));
        for (List<String> flags : widths) {
            String child = runChild(flags, 2);
            System.out.println("lanes " + flags + ": " + child + " (this JVM: " + here + ")");
            assertThat(child).as("parameters after training in a JVM with %s vs this JVM (%d-bit lanes)", flags,
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize()).isEqualTo(here);
        }
    }

    private static String runChild(List<String> flags, int threads) throws Exception {
        return ChildJvm.lastLine(ReproducibilityTest.class, flags, List.of(Integer.toString(threads)), "hashes ", 120);
    }
}
