package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.examples.CharGPT;
import dev.lanes.examples.ResNet20;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.nn.functional.F;
import dev.lanes.nn.utils.ClipGrad;
import dev.lanes.optim.AdamW;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.SGD;
import dev.lanes.train.TrainStep;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step of issue 16's models on a fixed random batch, as {@code bench/compare-pytorch}'s PyTorch twins
 * run it: {@code mlp} (784-1024-1024-10, batch 256, SGD momentum 0.9), {@code resnet20} (ResNet-20 on 3x32x32,
 * batch 128, SGD momentum 0.9 nesterov, weight decay 5e-4), {@code gpt} (CharGPT: 4 layers, d_model 128, 4 heads,
 * context 64, vocab 65, batch 32, AdamW, gradients clipped to 1.0). Read the {@code :samplesPerSec} rows (images, or
 * tokens for the GPT). {@code mode}: eager, or compiled ({@code TrainStep}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Thread)
public class ModelTrainBench {
    @Param({"mlp", "resnet20", "gpt"})
    public String model;

    @Param({"1", "2"})
    public int threads;

    /** eager: the calls of the step; compiled: one {@link TrainStep#run} (captured once, replayed). */
    @Param({"eager", "compiled"})
    public String mode;

    private TrainStep compiled;

    private Module net;
    private Optimizer optimizer;
    private CrossEntropyLoss criterion;
    private Tensor inputs;
    private Tensor labels;
    private int samples;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Samples {
        public long samplesPerSec;

        @Setup(Level.Iteration)
        public void reset() {
            samplesPerSec = 0;
        }
    }

    @Setup
    public void setup() {
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(0);
        criterion = new CrossEntropyLoss();
        switch (model) {
            case "mlp" -> {
                net = new Sequential(new Linear(784, 1024), new ReLU(), new Linear(1024, 1024), new ReLU(), new Linear(1024, 10));
                optimizer = new SGD(net.parameters(), 0.01, 0.9);
                inputs = Tensor.randn(256, 784);
                labels = Tensor.randint(0, 10, 256);
                samples = 256;
            }
            case "resnet20" -> {
                net = new ResNet20(3, 10);
                optimizer = new SGD(net.parameters(), 0.1, 0.9, 0, 5e-4, true);
                inputs = Tensor.randn(128, 3, 32, 32);
                labels = Tensor.randint(0, 10, 128);
                samples = 128;
            }
            case "gpt" -> {
                net = new CharGPT(new CharGPT.Config(65, 64, 128, 4, 4, 0.0, false));
                optimizer = new AdamW(net.parameters(), 1e-3, 0.9, 0.95, 1e-8, 0.1, false);
                inputs = Tensor.randint(0, 65, 32, 64);
                labels = Tensor.randint(0, 65, 32 * 64);
                samples = 32 * 64;
            }
            default -> throw new IllegalArgumentException("model " + model);
        }
        if (mode.equals("compiled")) {
            compiled = model.equals("gpt")
                    ? TrainStep.compile(net::forward, (out, y) -> F.crossEntropy(out.reshape(-1, 65), y), optimizer).clipGradNorm(1.0)
                    : TrainStep.compile(net, criterion, optimizer);
        }
    }

    @Benchmark
    public float step(Samples counter) {
        counter.samplesPerSec += samples;
        if (compiled != null) {
            return compiled.run(inputs, labels);
        }
        try (MemoryScope s = MemoryScope.open()) {
            optimizer.zeroGrad();
            Tensor out = net.forward(inputs);
            Tensor loss = model.equals("gpt") ? F.crossEntropy(out.reshape(-1, 65), labels) : criterion.forward(out, labels);
            loss.backward();
            if (model.equals("gpt")) {
                ClipGrad.clipGradNorm_(net.parameters(), 1.0);
            }
            optimizer.step();
            return loss.item();
        }
    }
}
