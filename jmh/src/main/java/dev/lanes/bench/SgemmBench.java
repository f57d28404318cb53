package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
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
 * {@code C = A B} through {@code Tensor.mm} (packed SGEMM). {@code shape} is {@code MxNxK}: squares 64..2048, and
 * LeNet's GEMMs at batch 64: conv1 as im2col ({@code 6 x 50176 x 25}, per-image columns of all 64 images),
 * conv2 ({@code 16 x 6400 x 150}), fc1 ({@code 64 x 120 x 400}). Read the {@code :GFLOPs} rows (2MNK per call).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Thread)
public class SgemmBench {
    @Param({"64x64x64", "128x128x128", "256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048",
            "6x50176x25", "16x6400x150", "64x120x400"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Tensor a;
    private Tensor b;
    private long flops;

    /** GFLOP per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        long flops;

        public double GFLOPs() {
            return flops / 1e9;
        }

        @Setup(Level.Iteration)
        public void reset() {
            flops = 0;
        }
    }

    @Setup
    public void setup() {
        String[] d = shape.split("x");
        int m = Integer.parseInt(d[0]);
        int n = Integer.parseInt(d[1]);
        int k = Integer.parseInt(d[2]);
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(0);
        a = Tensor.randn(m, k);
        b = Tensor.randn(k, n);
        flops = 2L * m * n * k;
    }

    @TearDown
    public void tearDown() {
        a.close();
        b.close();
    }

    @Benchmark
    public Tensor mm(Flops f) {
        f.flops += flops;
        Tensor c = a.mm(b);
        c.close();
        return c;
    }
}
