package dev.lanes.bench;

import dev.lanes.kernels.Sgemm;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Lanes' side of {@code bench/compare-sgemm}: one {@code n x n x n} product on one thread, {@code C = A B} into the
 * same C every call (the counterpart of {@code torch.mm(a, b, out=c)}), in rounds the Python side asks for on stdin,
 * so that Lanes and OpenBLAS take turns second by second on a machine whose speed drifts from minute to minute.
 * Each {@code round SECONDS} line runs products for that long and answers {@code gflops CPU WALL}: GFLOP/s by the
 * calling thread's CPU time and by wall time.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar dev.lanes.bench.SgemmRounds 1024</pre>
 */
public final class SgemmRounds {
    private SgemmRounds() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        if (n < 1 || n > 8192) {
            throw new IllegalArgumentException("n must be in [1, 8192], got " + n);
        }
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofConfined()) {
            long bytes = 4L * n * n;
            MemorySegment a = arena.allocate(bytes, 64);
            MemorySegment b = arena.allocate(bytes, 64);
            MemorySegment c = arena.allocate(bytes, 64);
            SplittableRandom rnd = new SplittableRandom(1);
            for (long i = 0; i < (long) n * n; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-1, 1));
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-1, 1));
            }
            double flops = 2.0 * n * n * n;
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.out.println("ready");
            System.out.flush();
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("round ")) {
                    break;
                }
                double seconds = Double.parseDouble(line.substring(6).trim());
                long calls = 0;
                long cpu0 = bean.getCurrentThreadCpuTime();
                long wall0 = System.nanoTime();
                long until = wall0 + (long) (seconds * 1e9);
                do {
                    Sgemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n, null, null, false);
                    calls++;
                } while (System.nanoTime() < until);
                double cpu = (bean.getCurrentThreadCpuTime() - cpu0) / 1e9;
                double wall = (System.nanoTime() - wall0) / 1e9;
                System.out.printf(Locale.ROOT, "gflops %.2f %.2f%n", calls * flops / cpu / 1e9, calls * flops / wall / 1e9);
                System.out.flush();
            }
        }
    }
}
