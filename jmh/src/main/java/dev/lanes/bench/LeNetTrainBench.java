package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
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
 * One full LeNet training step on a fixed random batch of 32x32 images: zeroGrad, forward, CrossEntropyLoss,
 * backward, SGD(momentum 0.9) step; activations are released by a scope each step. {@code mode}: {@code eager} runs
 * those calls, {@code compiled} one {@link TrainStep#run} (the step captured once, replayed). Read the
 * {@code :imagesPerSec} rows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Thread)
public class LeNetTrainBench {
    @Param({"64", "256"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    @Param({"eager", "compiled"})
    public String mode;

    private TrainStep compiled;

    private LeNet net;
    private SGD optimizer;
    private CrossEntropyLoss criterion;
    private Tensor images;
    private Tensor labels;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Images {
        public long imagesPerSec;

        @Setup(Level.Iteration)
        public void reset() {
            imagesPerSec = 0;
        }
    }

    @Setup
    public void setup() {
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(0);
        net = new LeNet();
        optimizer = new SGD(net.parameters(), 0.01, 0.9);
        criterion = new CrossEntropyLoss();
        images = Tensor.randn(batch, 1, 32, 32);
        labels = Tensor.randint(0, 10, batch);
        compiled = mode.equals("compiled") ? TrainStep.compile(net, criterion, optimizer) : null;
    }

    @Benchmark
    public float step(Images counter) {
        counter.imagesPerSec += batch;
        if (compiled != null) {
            return compiled.run(images, labels);
        }
        try (MemoryScope s = MemoryScope.open()) {
            optimizer.zeroGrad();
            Tensor loss = criterion.forward(net.forward(images), labels);
            loss.backward();
            optimizer.step();
            return loss.item();
        }
    }
}
