package dev.lanes.bench;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.examples.LeNet;
import dev.lanes.memory.MemoryScope;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * LeNet inference on one thread: {@code latency} (sample-time mode: p50/p99 per call, batch 1 or 64) and
 * {@code throughput} (images/s in the {@code :imagesPerSec} rows). {@code mode=eager}: {@code net.forward} in
 * eval mode without a graph, the class read back; {@code mode=plan}: the traced {@link InferencePlan} (what
 * {@code serve.PreparedModel} runs) from a float[] into a float[] of logits. Run with {@code -prof gc} for the
 * allocation per call (plan: 0 B).
 */
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
@State(Scope.Thread)
public class LeNetInferBench {
    @Param({"1", "64"})
    public int batch;

    @Param({"eager", "plan"})
    public String mode;

    private LeNet net;
    private Tensor images;
    private InferencePlan plan;
    private float[] input;
    private float[] logits;

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
        Lanes.setNumThreads(1);
        Lanes.manualSeed(0);
        net = new LeNet();
        net.eval();
        images = Tensor.randn(batch, 1, 32, 32);
        if (mode.equals("plan")) {
            plan = InferencePlan.trace(net::forward, batch, 1, 32, 32);
            input = images.toFloatArray();
            logits = new float[plan.outputSize()];
        }
    }

    @TearDown
    public void tearDown() {
        if (plan != null) {
            plan.close();
        }
    }

    private float infer() {
        if (plan != null) {
            plan.run(input, logits);
            return logits[0];
        }
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            Tensor classes = net.forward(images).argmax(1);
            return classes.toLongArray()[0];
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public float latency() {
        return infer();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public float throughput(Images counter) {
        counter.imagesPerSec += batch;
        return infer();
    }
}
