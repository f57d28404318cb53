package dev.lanes.examples;

import dev.lanes.spark.RingAllReduce;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Ring all-reduce bandwidth over loopback: {@code world} ranks on threads of this JVM, vectors of 1M and 10M floats
 * (or the sizes given), median of 11 timed calls after 3 warm-up calls. Prints the time, the algorithm bandwidth
 * (vector bytes / time) and the bus bandwidth (what each rank sent, 2 (world - 1) / world of the vector, / time).
 * {@code ./mvnw -q -f spark/pom.xml compile exec:exec -Dlanes.main=dev.lanes.examples.AllReduceBandwidth -Dlanes.args="2"}
 */
public final class AllReduceBandwidth {
    private AllReduceBandwidth() {
    }

    public static void main(String[] args) throws Exception {
        for (String a : args) {
            if (!a.matches("[1-9]\\d{0,8}")) {
                System.err.println("error: every argument is a positive whole number (ranks, then vector sizes in floats), got '" + a + "'");
                System.err.println("usage: AllReduceBandwidth [RANKS [FLOATS ...]]");
                System.exit(2);
            }
        }
        int world = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int[] sizes = args.length > 1 ? Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray() : new int[] {1 << 20, 10 << 20};
        List<ServerSocketChannel> listeners = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            ServerSocketChannel l = RingAllReduce.listen("127.0.0.1");
            listeners.add(l);
            addresses.add("127.0.0.1:" + ((java.net.InetSocketAddress) l.getLocalAddress()).getPort());
        }
        RingAllReduce.Credentials credentials = RingAllReduce.Credentials.random(); // one job: every rank shares it
        ExecutorService pool = Executors.newFixedThreadPool(world);
        List<Future<long[]>> results = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            int rank = r;
            results.add(pool.submit(() -> {
                try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, listeners.get(rank), Duration.ofSeconds(60), credentials)) {
                    long[] medians = new long[sizes.length];
                    for (int s = 0; s < sizes.length; s++) {
                        float[] v = new float[sizes[s]];
                        Arrays.fill(v, 1f);
                        long[] t = new long[11];
                        for (int i = -3; i < t.length; i++) {
                            long t0 = System.nanoTime();
                            ring.allReduceSum(v);
                            if (i >= 0) {
                                t[i] = System.nanoTime() - t0;
                            }
                        }
                        Arrays.sort(t);
                        medians[s] = t[t.length / 2];
                    }
                    return medians;
                }
            }));
        }
        long[] rank0 = results.get(0).get();
        for (Future<long[]> f : results) {
            f.get();
        }
        pool.shutdown();
        System.out.printf(Locale.ROOT, "ring all-reduce, %d ranks on loopback, %d cores%n", world, Runtime.getRuntime().availableProcessors());
        for (int s = 0; s < sizes.length; s++) {
            double sec = rank0[s] / 1e9;
            double bytes = sizes[s] * 4.0;
            System.out.printf(Locale.ROOT, "%,12d floats: %8.2f ms  algorithm %.2f GB/s  bus %.2f GB/s%n", sizes[s], sec * 1e3, bytes / sec / 1e9,
                    bytes * 2 * (world - 1) / world / sec / 1e9);
        }
    }
}
