package dev.lanes.bench;

import dev.lanes.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * {@code add} and {@code relu} on 16M floats: out-of-place (allocates the result from the pool), into a
 * preallocated output, and in place. The {@code GBps} counter is the bytes the op must move (read inputs +
 * write output) per second; {@code streamCopyBaseline} (a bulk 64 MB segment copy) and
 * {@code streamTriadBaseline} are the machine's memory bandwidth for the same byte counts, so the ratio
 * kernel/baseline holds across machines. Read the {@code :GBps} rows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Thread)
public class ElementwiseBench {
    @Param({"16777216"})
    public int n;

    private Tensor a;
    private Tensor b;
    private Tensor out;
    private Arena arena;
    private MemorySegment rawSrc;
    private MemorySegment rawDst;

    /** Bytes moved per call, reported as GB/s next to the time. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        long bytes;

        /** Normalised by JMH to GB per second. */
        public double GBps() {
            return bytes / 1e9;
        }

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup
    public void setup() {
        a = Tensor.randn(n);
        b = Tensor.randn(n);
        out = Tensor.empty(n);
        arena = Arena.ofShared();
        rawSrc = arena.allocate(4L * n, 64);
        rawDst = arena.allocate(4L * n, 64);
        rawSrc.fill((byte) 1);
    }

    @TearDown
    public void tearDown() {
        a.close();
        b.close();
        out.close();
        arena.close();
    }

    @Benchmark
    public void streamCopyBaseline(Bytes c) {
        c.bytes += 8L * n;
        MemorySegment.copy(rawSrc, 0, rawDst, 0, 4L * n);
    }

    /** a + b into out through plain float[] loops C2 auto-vectorizes: what the JIT alone gets (STREAM "add"). */
    @Benchmark
    public void streamTriadBaseline(Bytes c, Arrays arrays) {
        c.bytes += 12L * n;
        float[] x = arrays.x;
        float[] y = arrays.y;
        float[] z = arrays.z;
        for (int i = 0; i < x.length; i++) {
            z[i] = x[i] + y[i];
        }
    }

    /** Heap arrays for the JIT baseline. */
    @State(Scope.Thread)
    public static class Arrays {
        float[] x;
        float[] y;
        float[] z;

        @Setup
        public void setup(ElementwiseBench b) {
            x = b.a.toFloatArray();
            y = b.b.toFloatArray();
            z = new float[b.n];
        }
    }

    @Benchmark
    public Tensor addOutOfPlace(Bytes c) {
        c.bytes += 12L * n;
        Tensor r = a.add(b);
        r.close(); // back to the pool: the next call reuses the block
        return r;
    }

    @Benchmark
    public Tensor addPreallocated(Bytes c) {
        c.bytes += 12L * n;
        return a.add(b, out);
    }

    @Benchmark
    public Tensor addInPlace(Bytes c) {
        c.bytes += 12L * n;
        return out.add_(b);
    }

    @Benchmark
    public Tensor reluOutOfPlace(Bytes c) {
        c.bytes += 8L * n;
        Tensor r = a.relu();
        r.close();
        return r;
    }

    @Benchmark
    public Tensor reluPreallocated(Bytes c) {
        c.bytes += 8L * n;
        return a.relu(out);
    }

    @Benchmark
    public Tensor reluInPlace(Bytes c) {
        c.bytes += 8L * n;
        return out.relu_();
    }

    // ---- transcendentals (Lanes' own polynomials: the same bits at every width and JIT tier); -p n=65536 for in-cache ----

    @Benchmark
    public Tensor expOutOfPlace(Bytes c) {
        c.bytes += 8L * n;
        Tensor r = a.exp();
        r.close();
        return r;
    }

    @Benchmark
    public Tensor tanhOutOfPlace(Bytes c) {
        c.bytes += 8L * n;
        Tensor r = a.tanh();
        r.close();
        return r;
    }

    @Benchmark
    public Tensor sigmoidOutOfPlace(Bytes c) {
        c.bytes += 8L * n;
        Tensor r = a.sigmoid();
        r.close();
        return r;
    }
}
