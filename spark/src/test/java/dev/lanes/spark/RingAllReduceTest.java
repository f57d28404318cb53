package dev.lanes.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class RingAllReduceTest {
    interface RankBody {
        float[] run(RingAllReduce ring) throws Exception;
    }

    /** Runs {@code world} ranks on threads over loopback; returns each rank's result. */
    static List<float[]> ranks(int world, Duration timeout, RankBody body) throws Exception {
        List<ServerSocketChannel> listeners = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            ServerSocketChannel l = RingAllReduce.listen("127.0.0.1");
            listeners.add(l);
            addresses.add("127.0.0.1:" + ((java.net.InetSocketAddress) l.getLocalAddress()).getPort());
        }
        RingAllReduce.Credentials credentials = RingAllReduce.Credentials.random();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, listeners.get(rank), timeout, credentials)) {
                        return body.run(ring);
                    }
                }));
            }
            List<float[]> out = new ArrayList<>();
            for (Future<float[]> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void sumsAreExactAndBitIdenticalOnEveryRankForOneToFourRanksAndUnevenSizes() throws Exception {
        for (int world = 1; world <= 4; world++) {
            for (int n : new int[] {0, 1, 3, 7, 1000, RingAllReduce.CHUNK_FLOATS + 13, 1_000_003}) {
                int w = world;
                List<float[]> results = ranks(world, Duration.ofSeconds(20), ring -> {
                    float[] v = new float[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = (i % 1000) * (ring.rank() + 1); // integers: every summation order gives the same float
                    }
                    ring.allReduceSum(v);
                    return v;
                });
                for (int i = 0; i < n; i += Math.max(1, n / 997)) {
                    assertThat(results.get(0)[i]).as("world %d, n %d, element %d", w, n, i).isEqualTo((i % 1000) * (w * (w + 1) / 2f));
                }
                for (float[] r : results) {
                    assertThat(r).as("world %d, n %d", w, n).isEqualTo(results.get(0));
                }
            }
        }
    }

    /** bytesSent counts the payload: over all ranks 2 (world - 1) N floats an all-reduce, nothing for one rank. */
    @Test
    void theRanksTogetherSendTheRingsVolume() throws Exception {
        for (int world = 1; world <= 3; world++) {
            int n = RingAllReduce.CHUNK_FLOATS * 2 + 101;
            List<float[]> sent = ranks(world, Duration.ofSeconds(20), ring -> {
                ring.allReduceSum(new float[n]);
                long once = ring.bytesSent();
                ring.allReduceSum(new float[n]);
                return new float[] {once, ring.bytesSent() - once};
            });
            long first = 0;
            long second = 0;
            for (float[] s : sent) {
                first += (long) s[0];
                second += (long) s[1];
            }
            assertThat(first).as("world %d", world).isEqualTo(2L * (world - 1) * n * 4);
            assertThat(second).as("world %d, the second call", world).isEqualTo(first);
        }
    }

    @Test
    void meansOfRandomValuesMatchTheSumToRoundingAndAgreeBitForBit() throws Exception {
        int n = 100_001;
        List<float[]> inputs = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            Random rnd = new Random(r);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) rnd.nextGaussian();
            }
            inputs.add(v);
        }
        List<float[]> results = ranks(3, Duration.ofSeconds(20), ring -> {
            float[] v = inputs.get(ring.rank()).clone();
            ring.allReduceMean(v);
            return v;
        });
        for (int i = 0; i < n; i++) {
            double mean = (inputs.get(0)[i] + (double) inputs.get(1)[i] + inputs.get(2)[i]) / 3;
            assertThat((double) results.get(1)[i]).isCloseTo(mean, org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(results.get(0)).isEqualTo(results.get(1)).isEqualTo(results.get(2));
    }

    @Test
    void aSilentPeerTimesOutAndADeadOneFailsFastNeverAHang() throws Exception {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> ranks(2, Duration.ofMillis(800), ring -> {
            float[] v = new float[10];
            if (ring.rank() == 1) {
                Thread.sleep(3000); // alive but silent
                return v;
            }
            ring.allReduceSum(v);
            return v;
        })).hasRootCauseInstanceOf(SocketTimeoutException.class).rootCause().hasMessageContaining("rank 0").hasMessageContaining("stalled");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(10);

        assertThatThrownBy(() -> ranks(3, Duration.ofSeconds(10), ring -> {
            float[] v = new float[1000];
            if (ring.rank() == 2) {
                ring.close(); // dies: its sockets close
                return v;
            }
            ring.allReduceSum(v);
            return v;
        })).rootCause().isInstanceOfAny(EOFException.class, IOException.class);
    }

    @Test
    void noPeerToConnectToIsATimeoutNamingTheRank() throws Exception {
        ServerSocketChannel mine = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel other = RingAllReduce.listen("127.0.0.1");
        String otherAddress = "127.0.0.1:" + ((java.net.InetSocketAddress) other.getLocalAddress()).getPort();
        String mineAddress = "127.0.0.1:" + ((java.net.InetSocketAddress) mine.getLocalAddress()).getPort();
        try {
            // rank 1 never shows up: rank 0 connects to its listener, but nobody connects back
            assertThatThrownBy(() -> RingAllReduce.connect(0, List.of(mineAddress, otherAddress), mine, Duration.ofMillis(500), RingAllReduce.Credentials.random()))
                    .isInstanceOf(SocketTimeoutException.class).hasMessageContaining("rank 0").hasMessageContaining("rank 1");
        } finally {
            other.close();
        }
    }

    private static String address(ServerSocketChannel l) throws java.io.IOException {
        return "127.0.0.1:" + port(l);
    }

    private static int port(ServerSocketChannel l) throws java.io.IOException {
        return ((java.net.InetSocketAddress) l.getLocalAddress()).getPort();
    }

    /**
     * Issue 18: a stranger who connects to rank 0's listener first with the right 8-byte hello used to become rank 0's
     * "previous rank" and inject gradients ([-1e30, 1e30, 1e30, NaN]); a silent one made every attempt time out.
     * Now both are closed for want of the job's proof and the real peer joins; the sum is right.
     */
    @Test
    void strangersCannotJoinTheRing() throws Exception {
        ServerSocketChannel l0 = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel l1 = RingAllReduce.listen("127.0.0.1");
        List<String> addresses = List.of(address(l0), address(l1));
        RingAllReduce.Credentials job = RingAllReduce.Credentials.random();
        // the attackers get there first: the old hello (magic + rank 1), garbage after it, and a silent socket
        java.net.Socket impostor = new java.net.Socket("127.0.0.1", port(l0));
        java.nio.ByteBuffer hello = java.nio.ByteBuffer.allocate(40).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0x4c414e45).putInt(1);
        impostor.getOutputStream().write(hello.array());
        impostor.getOutputStream().flush();
        java.net.Socket silent = new java.net.Socket("127.0.0.1", port(l0));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    if (rank == 1) {
                        Thread.sleep(200); // the real peer comes last
                    }
                    try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, rank == 0 ? l0 : l1, Duration.ofSeconds(20), job)) {
                        float[] v = {rank + 1f, 2f * (rank + 1), 3f, 4f};
                        ring.allReduceSum(v);
                        return v;
                    }
                }));
            }
            for (Future<float[]> f : fs) {
                assertThat(f.get()).containsExactly(3f, 6f, 6f, 8f);
            }
        } finally {
            pool.shutdownNow();
            impostor.close();
            silent.close();
        }
    }

    /**
     * Strangers holding silent connections no longer queue the real peer behind them: each used to get its 2 s of
     * handshake one after another, so twenty of them outlasted a 10 s ring timeout. Now every pending hello is read at
     * once and the real peer (connecting last) is proven as soon as its hello arrives; a flood of more than
     * MAX_PENDING_HELLOS evicts the oldest rather than locking the peer out.
     */
    @Test
    void silentStrangersDoNotDelayTheRealPeer() throws Exception {
        ServerSocketChannel l0 = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel l1 = RingAllReduce.listen("127.0.0.1");
        List<String> addresses = List.of(address(l0), address(l1));
        RingAllReduce.Credentials job = RingAllReduce.Credentials.random();
        List<java.net.Socket> silent = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 12; i++) { // as many as the listener's backlog (16) holds before anyone accepts
            silent.add(new java.net.Socket("127.0.0.1", port(l0)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        java.util.concurrent.atomic.AtomicBoolean formed = new java.util.concurrent.atomic.AtomicBoolean();
        pool.submit(() -> { // and a flood while rank 0 accepts: past MAX_PENDING_HELLOS, the oldest are evicted
            for (int i = 0; i < RingAllReduce.MAX_PENDING_HELLOS + 6 && !formed.get(); i++) {
                java.net.Socket s = new java.net.Socket();
                try {
                    s.connect(new java.net.InetSocketAddress("127.0.0.1", port(l0)), 3000);
                    silent.add(s);
                } catch (java.io.IOException e) {
                    s.close();
                }
            }
            return null;
        });
        long start = System.nanoTime();
        try {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    if (rank == 1) {
                        Thread.sleep(300); // the strangers are all waiting by the time the real peer connects
                    }
                    try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, rank == 0 ? l0 : l1, Duration.ofSeconds(10), job)) {
                        float[] v = {rank + 1f, 2f};
                        ring.allReduceSum(v);
                        return v;
                    }
                }));
            }
            for (Future<float[]> f : fs) {
                assertThat(f.get()).containsExactly(3f, 4f);
            }
            formed.set(true);
            // one at a time this took 12 x 2 s and more, past the 10 s timeout; at once, well under one handshake time
            assertThat((System.nanoTime() - start) / 1e9).as("seconds to form the ring").isLessThan(8.0); // loose: 2 shared cores
        } finally {
            pool.shutdownNow();
            synchronized (silent) {
                for (java.net.Socket s : silent) {
                    s.close();
                }
            }
        }
    }

    /** A peer of another job (another secret) is refused on both sides: the acceptor waits, then times out naming it. */
    @Test
    void aPeerOfAnotherJobIsRefused() throws Exception {
        ServerSocketChannel l0 = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel l1 = RingAllReduce.listen("127.0.0.1");
        List<String> addresses = List.of(address(l0), address(l1));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                RingAllReduce.Credentials own = RingAllReduce.Credentials.random(); // each rank a different job
                fs.add(pool.submit(() -> {
                    try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, rank == 0 ? l0 : l1, Duration.ofSeconds(3), own)) {
                        return null;
                    }
                }));
            }
            for (Future<?> f : fs) {
                assertThatThrownBy(f::get).rootCause().isInstanceOf(SocketTimeoutException.class).hasMessageContaining("failed the job's proof");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A man in the middle between rank 0 and rank 1: it forwards both ways, records what rank 0 sends and, when
     * {@code flipAt >= 0}, flips one bit of the byte at that offset of rank 0's stream.
     */
    private static final class Middle implements AutoCloseable {
        final ServerSocketChannel front = RingAllReduce.listen("127.0.0.1");
        final java.io.ByteArrayOutputStream seen = new java.io.ByteArrayOutputStream();
        private final List<java.io.Closeable> open = new java.util.concurrent.CopyOnWriteArrayList<>();

        Middle(int backPort, long flipAt) throws IOException {
            front.configureBlocking(true);
            Thread acceptor = new Thread(() -> {
                try {
                    java.net.Socket a = front.accept().socket();
                    java.net.Socket b = new java.net.Socket("127.0.0.1", backPort);
                    open.add(a);
                    open.add(b);
                    pump(a.getInputStream(), b.getOutputStream(), flipAt, true);
                    pump(b.getInputStream(), a.getOutputStream(), -1, false);
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private void pump(java.io.InputStream from, java.io.OutputStream to, long flipAt, boolean record) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                long at = 0;
                try {
                    for (int n; (n = from.read(buf)) > 0; at += n) {
                        if (flipAt >= at && flipAt < at + n) {
                            buf[(int) (flipAt - at)] ^= 0x10;
                        }
                        if (record) {
                            synchronized (seen) {
                                seen.write(buf, 0, n);
                            }
                        }
                        to.write(buf, 0, n);
                        to.flush();
                    }
                } catch (IOException ignored) {
                    // one side closed
                } finally {
                    try {
                        to.close();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        String address() throws IOException {
            return RingAllReduceTest.address(front);
        }

        byte[] seen() {
            synchronized (seen) {
                return seen.toByteArray();
            }
        }

        @Override
        public void close() throws IOException {
            front.close();
            for (java.io.Closeable c : open) {
                c.close();
            }
        }
    }

    /** Two ranks whose connection from rank 0 to rank 1 goes through a middle; each rank's result or failure. */
    private static List<Future<float[]>> twoRanksThrough(java.util.function.IntFunction<Middle> middleTo, float[][] values) throws Exception {
        ServerSocketChannel l0 = RingAllReduce.listen("127.0.0.1");
        ServerSocketChannel l1 = RingAllReduce.listen("127.0.0.1");
        Middle middle = middleTo.apply(port(l1));
        List<String> addresses = List.of(address(l0), middle.address()); // rank 1 is known by the middle's address
        RingAllReduce.Credentials job = RingAllReduce.Credentials.random();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<float[]>> fs = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int rank = r;
            fs.add(pool.submit(() -> {
                try (RingAllReduce ring = RingAllReduce.connect(rank, addresses, rank == 0 ? l0 : l1, Duration.ofSeconds(5), job)) {
                    float[] v = values[rank].clone();
                    try {
                        ring.allReduceSum(v);
                    } catch (IOException first) { // a caller that tries again on the same ring is refused
                        try {
                            ring.allReduceSum(v);
                        } catch (IOException again) {
                            first.addSuppressed(again);
                        }
                        throw first;
                    }
                    return v;
                }
            }));
        }
        pool.shutdown();
        return fs;
    }

    private static Middle middle(int backPort, long flipAt) {
        try {
            return new Middle(backPort, flipAt);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * After the handshake the stream had no integrity: whoever sat between two ranks could add anything to the
     * gradients. Now one flipped bit in a chunk (the last chunk of the all-gather, after two of the reduce-scatter
     * and one of the all-gather went through) fails that chunk's AES-GCM tag on the receiving rank, which throws before
     * using any of it, and refuses a second call on the broken ring (its chunk counters no longer agree with its
     * peer's); a faithful middle changes nothing, and sees no gradient in the clear in either phase.
     */
    @Test
    void aChunkAlteredOnTheWayIsRefusedAndTheWireCarriesNoPlainGradients() throws Exception {
        int n = 2 * RingAllReduce.CHUNK_FLOATS + 1000; // two chunks a segment
        float[][] values = new float[2][n];
        for (int i = 0; i < n; i++) {
            values[0][i] = 1000f + i; // rank 0 sends its first half as it is in the reduce-scatter: a long, recognisable run
            values[1][i] = -i;
        }
        Middle[] faithful = new Middle[1];
        List<Future<float[]>> ok = twoRanksThrough(p -> faithful[0] = middle(p, -1), values);
        try {
            for (Future<float[]> f : ok) {
                float[] v = f.get();
                for (int i = 0; i < n; i++) {
                    assertThat(v[i]).isEqualTo(1000f);
                }
            }
            byte[] wire = faithful[0].seen();
            java.nio.ByteBuffer plain = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            java.nio.ByteBuffer sums = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 100; i < 116; i++) {
                plain.putFloat(values[0][i]);
                sums.putFloat(1000f);
            }
            assertThat(wire.length).as("bytes rank 0 sent").isEqualTo(wireBytes(n));
            assertThat(indexOf(wire, plain.array())).as("rank 0's values in the clear on the wire (reduce-scatter)").isEqualTo(-1);
            assertThat(indexOf(wire, sums.array())).as("the sums in the clear on the wire (all-gather)").isEqualTo(-1);
        } finally {
            faithful[0].close();
        }
        Middle[] tamperer = new Middle[1];
        List<Future<float[]>> hit = twoRanksThrough(p -> tamperer[0] = middle(p, wireBytes(n) - 100), values); // in the last chunk
        try {
            Throwable failed = org.assertj.core.api.Assertions.catchThrowable(() -> hit.get(1).get()).getCause();
            assertThat(failed).isInstanceOf(RingAllReduce.StreamIntegrityException.class)
                    .hasMessageContaining("rank 1: chunk 3 from rank 0 failed its authentication tag");
            assertThat(failed.getSuppressed()).singleElement().satisfies(again ->
                    assertThat(again).hasMessageContaining("rank 1: this ring failed in an earlier call"));
            // rank 0 received every chunk intact before rank 1 found the bad one: right sums, or a failure once rank 1 left
            try {
                float[] v = hit.get(0).get();
                for (int i = 0; i < n; i++) {
                    assertThat(v[i]).isEqualTo(1000f);
                }
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(IOException.class);
            }
        } finally {
            tamperer[0].close();
        }
    }

    /** Bytes rank 0 sends rank 1 for n floats in a ring of two: the hello (8 + 16 + 32), then each segment's sealed chunks twice. */
    private static long wireBytes(int n) {
        long segment = n / 2; // n even here: both segments alike
        long chunks = (segment + RingAllReduce.CHUNK_FLOATS - 1) / RingAllReduce.CHUNK_FLOATS;
        return 56 + 2 * (segment * 4 + chunks * 16);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** A timeout that is not positive, or that would overflow the deadline, is refused, and the listener handed over is closed. */
    @Test
    void aBadTimeoutIsRefusedAndTheListenerClosed() throws Exception {
        for (Duration bad : new Duration[] {Duration.ofSeconds(-1), Duration.ZERO, Duration.ofDays(365 * 400)}) {
            ServerSocketChannel l = RingAllReduce.listen("127.0.0.1");
            String at = "127.0.0.1:" + ((java.net.InetSocketAddress) l.getLocalAddress()).getPort();
            assertThatThrownBy(() -> RingAllReduce.connect(0, List.of(at, at), l, bad, RingAllReduce.Credentials.random()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
            assertThat(l.isOpen()).as("listener after a timeout of %s", bad).isFalse();
        }
    }

    /**
     * A step's summed gradients, loss or accuracy count that are not finite stop every rank before anything is applied
     * (one rank's NaN spread through the sum to every replica, which all stayed identical, so the run ended "well").
     */
    @Test
    void nonFiniteSumsAreNeverApplied() {
        float[] ok = {0.5f, -1f, 3f, 2f, 7f};
        DistributedTrainer.checkFinite(ok, ok.length, 1);
        float[] nanGradient = {0.5f, Float.NaN, 3f, 2f, 7f};
        assertThatThrownBy(() -> DistributedTrainer.checkFinite(nanGradient, nanGradient.length, 12))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("step 12").hasMessageContaining("gradient element 1");
        float[] infLoss = {0.5f, 1f, 3f, Float.POSITIVE_INFINITY, 7f};
        assertThatThrownBy(() -> DistributedTrainer.checkFinite(infLoss, infLoss.length, 3)).hasMessageContaining("loss");
    }
}
