package dev.lanes.bench;

import dev.lanes.Lanes;
import dev.lanes.examples.LeNet;
import dev.lanes.serve.PreparedModel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Many threads calling one {@link PreparedModel} (LeNet, batch 1) at once, as service request threads do: no lock,
 * each call on its own thread with its own buffers. Throughput in calls/s summed over threads; scale the thread
 * count with JMH's {@code -t}, e.g. {@code bench/jmh InferenceThreadsBench -t 16} (per-call latency: {@code -bm sample}).
 */
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class InferenceThreadsBench {
    @State(Scope.Benchmark)
    public static class Model {
        PreparedModel model;

        @Setup
        public void setup() {
            Lanes.manualSeed(0);
            model = PreparedModel.of(new LeNet(), 1, 1, 32, 32);
        }

        @TearDown
        public void tearDown() {
            model.close();
        }
    }

    @State(Scope.Thread)
    public static class Buffers {
        final float[] input = new float[1024];
        final float[] logits = new float[10];

        @Setup
        public void setup() {
            for (int i = 0; i < input.length; i++) {
                input[i] = (float) Math.sin(i + Thread.currentThread().threadId());
            }
        }
    }

    @Benchmark
    public float predict(Model m, Buffers b) {
        m.model.predict(b.input, b.logits);
        return b.logits[0];
    }
}
