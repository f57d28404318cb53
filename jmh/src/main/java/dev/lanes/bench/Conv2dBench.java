package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
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
 * conv2d forward, and forward + backward (input, weight and bias gradients), in GFLOP/s (2 * N * O * oH * oW *
 * C/groups * kH * kW per pass; backward counts two more passes). Layers: ResNet's 3x3 64->64 on [32, 64, 56, 56]
 * (padding 1), the same on one image ({@code resnet3x3b1}: ImageNet's first stage at batch 1, whose products split
 * within the image across threads) and LeNet's two convolutions at batch 64. bench/compare-conv.py puts PyTorch beside
 * the ResNet layers.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Thread)
public class Conv2dBench {
    @Param({"resnet3x3", "resnet3x3b1", "lenet1", "lenet2"})
    public String layer;

    @Param({"1", "2"})
    public int threads;

    private Tensor x;
    private Tensor w;
    private Tensor b;
    private int padding;
    private long flops;

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
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(0);
        switch (layer) {
            case "resnet3x3", "resnet3x3b1" -> {
                x = Tensor.randn(layer.equals("resnet3x3") ? 32 : 1, 64, 56, 56);
                w = Tensor.randn(64, 64, 3, 3);
                b = Tensor.randn(64);
                padding = 1;
            }
            case "lenet1" -> {
                x = Tensor.randn(64, 1, 32, 32);
                w = Tensor.randn(6, 1, 5, 5);
                b = Tensor.randn(6);
            }
            case "lenet2" -> {
                x = Tensor.randn(64, 6, 14, 14);
                w = Tensor.randn(16, 6, 5, 5);
                b = Tensor.randn(16);
            }
            default -> throw new IllegalArgumentException(layer);
        }
        w.requiresGrad(true);
        b.requiresGrad(true);
        x.requiresGrad(true);
        try (Tensor y = conv()) {
            int[] ws = w.shape();
            flops = 2L * y.numel() * ws[1] * ws[2] * ws[3];
        }
    }

    private Tensor conv() {
        return Tensor.conv2d(x, w, b, null, new int[] {padding}, null, 1);
    }

    @TearDown
    public void tearDown() {
        x.close();
        w.close();
        b.close();
    }

    @Benchmark
    public float forward(Flops f) {
        f.flops += flops;
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            return conv().numel();
        }
    }

    @Benchmark
    public float forwardBackward(Flops f) {
        f.flops += 3 * flops;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = conv();
            y.backward(Tensor.onesLike(y));
            float v = w.grad().numel();
            for (Tensor p : new Tensor[] {x, w, b}) {
                p.grad().close();
                p.setGrad(null);
            }
            return v;
        }
    }
}
