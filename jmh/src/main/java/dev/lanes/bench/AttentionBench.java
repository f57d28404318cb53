package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Causal self-attention of {@code [batch 8, heads 4, T, 32]} (the GPT example's head size) by the two paths of
 * {@code F.scaled_dot_product_attention}: {@code simple} (scores materialised: GEMM, scale, mask, softmax, GEMM and
 * their backwards) and {@code flash} (the tiled kernel, {@code Tensor.flashAttention}). {@code forward}: inference
 * (no graph); {@code train}: forward and backward. Where the two cross is {@code F.FLASH_MIN_KEYS}. The simple path's
 * scores take {@code 8 * 4 * T * T * 4} bytes per intermediate (134 MB at T = 1024); the tiled path's scratch is
 * O(T) per thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Thread)
public class AttentionBench {
    @Param({"simple", "flash"})
    public String path;

    @Param({"64", "256", "1024"})
    public int t;

    @Param({"1"})
    public int threads;

    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor g;
    private Tensor mask;

    @Setup
    public void setup() {
        Lanes.setNumThreads(threads);
        Lanes.manualSeed(0);
        q = Tensor.randn(8, 4, t, 32);
        k = Tensor.randn(8, 4, t, 32);
        v = Tensor.randn(8, 4, t, 32);
        g = Tensor.randn(8, 4, t, 32);
        mask = F.causalMask(t, t);
    }

    private Tensor attend(Tensor qq, Tensor kk, Tensor vv) {
        return path.equals("flash") ? Tensor.flashAttention(qq, kk, vv, true, 1 / Math.sqrt(32))
                : F.scaledDotProductAttention(qq, kk, vv, mask, 0, false); // a mask keeps F on the simple path
    }

    @Benchmark
    public float forward() {
        try (Autograd.Mode m = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            return attend(q, k, v).sum().item();
        }
    }

    @Benchmark
    public float train() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] leaves = {q.detach().requiresGrad(true), k.detach().requiresGrad(true), v.detach().requiresGrad(true)};
            attend(leaves[0], leaves[1], leaves[2]).backward(g);
            float sum = 0;
            for (Tensor leaf : leaves) { // returned to the pool at once, as a training loop's zero_grad(set_to_none) does
                sum += leaf.grad().sum().item();
                leaf.grad().close();
                leaf.setGrad(null);
            }
            return sum;
        }
    }
}
