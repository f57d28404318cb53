import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.lanes.serve.PreparedModel;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

/**
 * One runtime on one ONNX model, one thread: cold start (JVM start to the first prediction), batch-1 latency p50/p99
 * over 20,000 calls (at most 5 s) after a warm-up until the JIT is quiet ({@link #warmUp}), batch-64 throughput (best of 3 one-second rounds). Run by bench/compare-ort, one JVM per
 * (runtime, model), alternating runtimes.
 * Usage: CompareOrt lanes|ort model.onnx C H W [first]
 *
 * <p>With {@code first} it prints the cold start alone ({@code cold_ms=...}) and exits after the first prediction, or
 * after {@code -Dcompare.moreCalls=N} more: bench/compare-ort runs it that way to make each runtime's JDK 25 AOT cache
 * (a training run with {@code -XX:AOTCacheOutput}: the classes it loads, linked, and the profiles of what it ran) and
 * then to time a launch with {@code -XX:AOTCache}, the cold start a service deployed with its cache gets.
 *
 * <p>{@code CompareOrt fma} is the host's probe: a call of fixed work that does nothing but independent vector FMAs
 * (no memory), timed like a prediction. Its p99 / p50 is what the host does to FMA-bound code in those seconds (a
 * busy SMT sibling of a VM's core halves its FMA throughput); a runtime whose predictions are FMA-bound inherits it.
 */
public class CompareOrt {
    interface Runner extends AutoCloseable {
        void run(float[] in, float[] out);
    }

    public static void main(String[] a) throws Exception {
        if (a[0].equals("fma")) {
            fmaProbe();
            return;
        }
        String runtime = a[0];
        Path model = Path.of(a[1]);
        int c = Integer.parseInt(a[2]);
        int h = Integer.parseInt(a[3]);
        int w = Integer.parseInt(a[4]);
        int image = c * h * w;
        float[] in = new float[image];
        Random r = new Random(1);
        for (int i = 0; i < image; i++) {
            in[i] = (float) r.nextGaussian();
        }
        try (Runner one = open(runtime, model, 1, c, h, w)) {
            float[] out = new float[10];
            one.run(in, out);
            long launched = Long.getLong("lanes.launchMillis", 0L); // set by bench/compare-ort: no JMX classes to load
            long cold = System.currentTimeMillis() - (launched > 0 ? launched : ManagementFactory.getRuntimeMXBean().getStartTime());
            if (a.length > 5 && a[5].equals("first")) {
                for (int i = Integer.getInteger("compare.moreCalls", 0); i > 0; i--) { // an AOT cache's training run
                    one.run(in, out);
                }
                System.out.printf("%s %s cold_ms=%d out0=%.5f%n", runtime, model.getFileName(), cold, out[0]);
                return;
            }
            double warmed = warmUp(() -> one.run(in, out));
            long[] lat = new long[20_000];
            int n = 0;
            long t0 = System.nanoTime();
            while (n < lat.length && System.nanoTime() - t0 < 5_000_000_000L) { // 20,000 calls or 5 s
                long s = System.nanoTime();
                one.run(in, out);
                lat[n++] = System.nanoTime() - s;
            }
            lat = Arrays.copyOf(lat, n);
            Arrays.sort(lat);
            float[] in64 = new float[64 * image];
            for (int i = 0; i < in64.length; i++) {
                in64[i] = in[i % image];
            }
            float[] out64 = new float[640];
            double best = 0;
            try (Runner many = open(runtime, model, 64, c, h, w)) {
                long w64 = System.nanoTime();
                while (System.nanoTime() - w64 < 2_000_000_000L) {
                    many.run(in64, out64);
                }
                for (int round = 0; round < 3; round++) {
                    int calls = 0;
                    long s = System.nanoTime();
                    while (System.nanoTime() - s < 1_000_000_000L) {
                        many.run(in64, out64);
                        calls++;
                    }
                    best = Math.max(best, calls * 64 / ((System.nanoTime() - s) / 1e9));
                }
            }
            System.out.printf("%s %s cold_ms=%d p50_us=%.1f p99_us=%.1f batch64_img_s=%.0f out0=%.5f warm_s=%.1f%n", runtime, model.getFileName(), cold,
                    lat[lat.length / 2] / 1e3, lat[lat.length * 99 / 100] / 1e3, best, out[0], warmed);
        }
    }

    /**
     * Calls {@code call} for at least {@link #MIN_WARM_NS}, then until the JIT has compiled nothing for a whole second
     * (at most {@link #MAX_WARM_NS}): the latencies after it are a warmed-up service's. A fixed 3 s left Lanes'
     * ResNet-20 plan measured while C2 still compiled its once-a-call methods (the plan's run, the pool and Linear steps:
     * tier 4 at 7-8 s from launch on a 2-core Zen 3 guest, 5,000 calls each), and a compiler thread on a VM's other
     * vCPU (often the same core's SMT sibling) slows the measuring one. Both runtimes' batch-1 latencies and the FMA probe
     * warm up this way (the batch-64 rounds keep their 2 s and take the best of three).
     * Returns the seconds it took.
     */
    static double warmUp(Runnable call) {
        java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long quietSince = start;
        long compiled = timed ? jit.getTotalCompilationTime() : 0;
        while (true) {
            call.run();
            long now = System.nanoTime();
            if (timed) {
                long c = jit.getTotalCompilationTime();
                if (c != compiled) {
                    compiled = c;
                    quietSince = now;
                }
            }
            boolean quiet = !timed || now - quietSince >= 1_000_000_000L;
            if (now - start >= MAX_WARM_NS || now - start >= MIN_WARM_NS && quiet) {
                return (now - start) / 1e9;
            }
        }
    }

    static final long MIN_WARM_NS = 3_000_000_000L;
    static final long MAX_WARM_NS = 20_000_000_000L;

    /** 10 independent FMA chains of the widest vectors (fits 16 registers): 32 MFLOP a call, ~0.33 ms at 256 bits on a Zen 3 core. */
    static float fmaCall(float[] seed, int steps) {
        jdk.incubator.vector.VectorSpecies<Float> s = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        jdk.incubator.vector.FloatVector w = jdk.incubator.vector.FloatVector.broadcast(s, 0.999f);
        jdk.incubator.vector.FloatVector c0 = jdk.incubator.vector.FloatVector.fromArray(s, seed, 0);
        jdk.incubator.vector.FloatVector c1 = c0.add(1f), c2 = c0.add(2f), c3 = c0.add(3f), c4 = c0.add(4f), c5 = c0.add(5f);
        jdk.incubator.vector.FloatVector c6 = c0.add(6f), c7 = c0.add(7f), c8 = c0.add(8f), c9 = c0.add(9f);
        for (int k = 0; k < steps; k++) {
            c0 = c0.fma(w, w); c1 = c1.fma(w, w); c2 = c2.fma(w, w); c3 = c3.fma(w, w); c4 = c4.fma(w, w);
            c5 = c5.fma(w, w); c6 = c6.fma(w, w); c7 = c7.fma(w, w); c8 = c8.fma(w, w); c9 = c9.fma(w, w);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    static void fmaProbe() {
        float[] seed = new float[64];
        int steps = 200_000 * 8 / jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(); // the same FLOPs at every width
        float sink = 0;
        float[] box = {0};
        warmUp(() -> box[0] += fmaCall(seed, steps));
        sink += box[0];
        long[] lat = new long[20_000];
        int n = 0;
        long t0 = System.nanoTime();
        while (n < lat.length && System.nanoTime() - t0 < 5_000_000_000L) {
            long s = System.nanoTime();
            sink += fmaCall(seed, steps);
            lat[n++] = System.nanoTime() - s;
        }
        lat = Arrays.copyOf(lat, n);
        Arrays.sort(lat);
        double gflops = 2.0 * 10 * steps * jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() / lat[lat.length / 2];
        System.out.printf("fma probe p50_us=%.1f p99_us=%.1f p99/p50=%.2f (%.0f GFLOP/s at p50; calls %d)%s%n", lat[lat.length / 2] / 1e3,
                lat[lat.length * 99 / 100] / 1e3, (double) lat[lat.length * 99 / 100] / lat[lat.length / 2], gflops, n, sink == 42 ? "!" : "");
    }

    static Runner open(String runtime, Path model, int batch, int c, int h, int w) throws Exception {
        if (runtime.equals("lanes")) {
            PreparedModel m = PreparedModel.loadOnnx(model, batch, c, h, w);
            return new Runner() {
                public void run(float[] in, float[] out) {
                    m.predict(in, out);
                }

                public void close() {
                    m.close();
                }
            };
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1); // one thread, like Lanes' plan on its caller's thread
        o.setInterOpNumThreads(1);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        OrtSession s = env.createSession(model.toString(), o);
        String input = s.getInputNames().iterator().next();
        long[] shape = {batch, c, h, w};
        return new Runner() {
            public void run(float[] in, float[] out) {
                try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(in), shape); OrtSession.Result res = s.run(Map.of(input, t))) {
                    float[][] y = (float[][]) res.get(0).getValue();
                    for (int i = 0; i < y.length; i++) {
                        System.arraycopy(y[i], 0, out, i * y[i].length, y[i].length);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }

            public void close() throws Exception {
                s.close();
            }
        };
    }
}
