package dev.lanes.bench;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-op autograd bookkeeping on a tiny tensor: a chain of {@link #CHAIN} {@code add}s on 16 floats, then
 * {@code sum().backward()}, all in one scope. The score is ns per op (forward record + backward apply).
 * {@code forwardOnlyNoGrad} runs the same chain without a graph: the difference is the autograd overhead.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
@State(Scope.Thread)
public class AutogradOverheadBench {
    static final int CHAIN = 100;

    @Param({"16"})
    public int size;

    private Tensor x;
    private Tensor one;

    @Setup
    public void setup() {
        x = Tensor.randn(size).requiresGrad(true);
        one = Tensor.ones(size);
    }

    @TearDown
    public void tearDown() {
        x.close();
        one.close();
    }

    @Benchmark
    @OperationsPerInvocation(CHAIN)
    public float chainForwardBackward() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = x;
            for (int i = 0; i < CHAIN; i++) {
                y = y.add(one);
            }
            y.sum().backward();
            Tensor g = x.grad();
            x.setGrad(null);
            float v = g.get(0).item();
            g.close();
            return v;
        }
    }

    @Benchmark
    @OperationsPerInvocation(CHAIN)
    public float forwardOnlyNoGrad() {
        try (MemoryScope s = MemoryScope.open(); var g = dev.lanes.autograd.Autograd.noGrad()) {
            Tensor y = x;
            for (int i = 0; i < CHAIN; i++) {
                y = y.add(one);
            }
            return y.sum().item();
        }
    }
}
