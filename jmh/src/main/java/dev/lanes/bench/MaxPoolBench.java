package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * max_pool2d(x, 2) on LeNet's activations at batch 64 ({@code planes} "6x28": [64, 6, 28, 28] after conv1; "16x10":
 * [64, 16, 10, 10] after conv2, whose rows of 5 outputs pack three to a vector at 16 lanes in inference):
 * microseconds per call, inference, and training: the forward keeping the argmax indices, then the backward
 * (gradient scattered to the maxima), which also frees what the forward saved.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Thread)
public class MaxPoolBench {
    @Param({"1", "2"})
    public int threads;

    @Param({"6x28", "16x10"})
    public String planes;

    private Tensor x;
    /** The output gradient of {@link #withIndices}: ones of the output's shape. */
    private Tensor gout;

    @Setup
    public void setup() {
        Lanes.setNumThreads(threads);
        String[] cw = planes.split("x");
        int side = Integer.parseInt(cw[1]);
        x = Tensor.randn(64, Integer.parseInt(cw[0]), side, side);
        gout = Tensor.ones(64, Integer.parseInt(cw[0]), side / 2, side / 2);
    }

    @TearDown
    public void tearDown() {
        x.close();
        gout.close();
    }

    @Benchmark
    public Tensor inference() {
        try (Autograd.Mode g = Autograd.noGrad()) {
            Tensor y = Tensor.maxPool2d(x, 2);
            y.close();
            return y;
        }
    }

    /**
     * Forward with indices, then backward. Without the backward (stop 31's form) the saved indices lived until the GC
     * collected the graph, so every call took fresh zeroed native memory and the score was that (~936 us), not pooling.
     */
    @Benchmark
    public Tensor withIndices() {
        x.requiresGrad(true);
        Tensor y = Tensor.maxPool2d(x, 2);
        y.backward(gout);
        Tensor g = x.grad();
        x.setGrad(null);
        x.requiresGrad(false);
        y.close();
        g.close();
        return g;
    }
}
