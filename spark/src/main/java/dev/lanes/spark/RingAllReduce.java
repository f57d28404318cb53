package dev.lanes.spark;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;

/**
 * Ring all-reduce of float vectors among {@code world} ranks over plain TCP ({@code java.nio}), the algorithm of
 * Baidu's ring all-reduce and NCCL's ring: each rank sends to the next and receives from the previous; the vector is
 * cut into {@code world} segments; {@code world - 1} reduce-scatter steps leave each rank with one fully summed
 * segment, {@code world - 1} all-gather steps hand those segments round. Every rank moves
 * {@code 2 (world - 1) / world} of the vector whatever the world size, and every rank ends with the same bits: each
 * segment is summed once, in ring order, and then copied.
 *
 * <p>Transfers go in chunks of at most {@link #CHUNK_FLOATS} through reused direct buffers, send and receive
 * at once on one thread with a selector, so no rank can block its neighbour. A peer that stops answering fails the
 * call with {@link SocketTimeoutException} after the timeout; one that dies, with {@link EOFException}: never a hang.
 *
 * <p>Every chunk crosses the network sealed with AES-256-GCM under a key of its own connection (derived from the job's
 * secret and two fresh nonces of the handshake, see {@link #connect}) and a nonce counting the chunks: a chunk that was
 * altered, replayed, reordered, dropped or made by anyone without the secret fails its tag, and the call throws
 * {@link StreamIntegrityException} before any of it is added into the caller's data. Gradients are also unreadable on
 * the wire.
 */
public final class RingAllReduce implements AutoCloseable {
    /** Floats per transfer chunk (1 MiB). */
    public static final int CHUNK_FLOATS = 1 << 18;
    private static final int MAGIC = 0x4c414e45; // "LANE"
    /** Socket buffers of several chunks: with the default ones a chunk crosses in many small wake-ups. */
    private static final int SOCKET_BUFFER = 4 << 20;

    private final int rank;
    private final int world;
    private final long timeoutNanos;
    private final SocketChannel next;
    private final SocketChannel prev;
    private final Selector selector;
    private final SelectionKey nextKey;
    private final SelectionKey prevKey;
    /** A chunk's plain floats before sealing and after opening; {@link #out} and {@link #in} hold it sealed (+ the tag). */
    private final ByteBuffer plainOut = ByteBuffer.allocateDirect(CHUNK_FLOATS * 4).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer plainIn = ByteBuffer.allocateDirect(CHUNK_FLOATS * 4).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer out = ByteBuffer.allocateDirect(CHUNK_FLOATS * 4 + TAG_BYTES);
    private final ByteBuffer in = ByteBuffer.allocateDirect(CHUNK_FLOATS * 4 + TAG_BYTES);
    /** Float views of the whole of {@link #plainOut} and {@link #plainIn} (a view covers what remains when it is made). */
    private final FloatBuffer outFloats = plainOut.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    private final FloatBuffer inFloats = plainIn.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    /** AES-GCM of this rank's chunks to the next rank, and of the previous rank's chunks to this one; null for one rank. */
    private final javax.crypto.Cipher sealer;
    private final javax.crypto.Cipher opener;
    private final javax.crypto.spec.SecretKeySpec sendKey;
    private final javax.crypto.spec.SecretKeySpec receiveKey;
    /** Chunks sealed and opened so far: each chunk's GCM nonce, so a replayed, reordered or dropped chunk fails its tag. */
    private long sentChunks;
    private long receivedChunks;
    private long bytesSent;
    /**
     * Why an earlier call failed, or null: the ranks' chunk counters then no longer agree (one rank stopped mid-call,
     * its peer went on), so a later call could take a chunk of the old call, with a valid tag, as one of its own.
     */
    private volatile String broken;
    private java.util.function.BooleanSupplier cancelled = () -> false;

    private RingAllReduce(int rank, int world, Duration timeout, SocketChannel next, SocketChannel prev, byte[] sendKey, byte[] receiveKey)
            throws IOException {
        this.rank = rank;
        this.world = world;
        this.timeoutNanos = timeout.toNanos();
        this.next = next;
        this.prev = prev;
        if (world > 1) {
            try {
                this.sealer = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
                this.opener = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("AES/GCM/NoPadding is part of every JDK", e);
            }
            this.sendKey = new javax.crypto.spec.SecretKeySpec(sendKey, "AES");
            this.receiveKey = new javax.crypto.spec.SecretKeySpec(receiveKey, "AES");
        } else {
            this.sealer = null;
            this.opener = null;
            this.sendKey = null;
            this.receiveKey = null;
        }
        if (world > 1) {
            selector = Selector.open();
            next.configureBlocking(false);
            prev.configureBlocking(false);
            nextKey = next.register(selector, 0);
            prevKey = prev.register(selector, 0);
        } else {
            selector = null;
            nextKey = null;
            prevKey = null;
        }
    }

    /** A listening socket on an ephemeral port of {@code host}, to publish before {@link #connect}. */
    public static ServerSocketChannel listen(String host) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        s.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER); // before bind: accepted sockets inherit it
        s.bind(new InetSocketAddress(host, 0), 16);
        return s;
    }

    /**
     * The job's shared secret and id: the driver makes one per job ({@link #random()}) and hands it to every task with
     * the closure. Every ring connection proves it (HMAC-SHA256 over the job id, both ranks and the acceptor's
     * address, which is a fresh ephemeral port per attempt), so a stranger who connects first cannot join the ring;
     * every chunk after the handshake is sealed with AES-GCM under a key derived from it (see {@link RingAllReduce}).
     * The secret itself travels in the Spark task closure: use Spark's {@code spark.network.crypto.enabled} (or
     * {@code spark.authenticate} with encryption) so that it does not cross the network in the clear.
     */
    public record Credentials(byte[] secret, long jobId) implements java.io.Serializable {
        public Credentials {
            if (secret == null || secret.length < 16) {
                throw new IllegalArgumentException("the ring secret must have at least 16 bytes");
            }
            secret = secret.clone();
        }

        /** A fresh random secret (32 bytes from SecureRandom) and job id. */
        public static Credentials random() {
            java.security.SecureRandom r = new java.security.SecureRandom();
            byte[] s = new byte[32];
            r.nextBytes(s);
            return new Credentials(s, r.nextLong());
        }

        @Override
        public byte[] secret() {
            return secret.clone();
        }

        @Override
        public String toString() { // never print the secret
            return "Credentials[job " + Long.toHexString(jobId) + "]";
        }

        /** The key this job's checkpoints carry their MAC with (derived from the secret; never the secret itself). */
        public byte[] checkpointKey() {
            return proof("checkpoint", 0, 0, "");
        }

        /**
         * HMAC-SHA256 of what this proof (or key) is for: its kind, the job, the two ranks, the acceptor's address and
         * the handshake's nonces, if any.
         */
        byte[] proof(String kind, int from, int to, String acceptorAddress, byte[]... nonces) {
            try {
                javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
                mac.init(new javax.crypto.spec.SecretKeySpec(secret, "HmacSHA256"));
                mac.update((kind + "|" + jobId + "|" + from + "|" + to + "|" + acceptorAddress)
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                for (byte[] n : nonces) {
                    mac.update(n);
                }
                return mac.doFinal();
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
            }
        }
    }

    /** Bytes of an HMAC-SHA256 proof. */
    private static final int PROOF_BYTES = 32;
    /** Bytes of each side's fresh handshake nonce. */
    private static final int NONCE_BYTES = 16;
    /** Bytes of a chunk's AES-GCM tag. */
    private static final int TAG_BYTES = 16;
    /** How long one incoming connection may take to prove itself before the next one is heard. */
    private static final long HANDSHAKE_NANOS = 2_000_000_000L;

    /**
     * Joins the ring: connects to rank {@code rank + 1} and accepts rank {@code rank - 1} on {@code listener}
     * (closed afterwards), within {@code timeout}. {@code addresses} lists every rank's "host:port", in rank order.
     * Both connections are authenticated with {@code credentials}: the connecting side sends a proof with its hello
     * (nobody waits for a challenge, so the ring cannot deadlock while every rank connects at once); a connection
     * that fails it, or stays silent past the handshake time, is closed and the listener waits for the real peer;
     * the accepting side then proves itself back.
     *
     * <p>The hello carries a fresh nonce of the connecting side, the proof back one of the accepting side; each proof
     * covers both nonces seen so far, and the connection's AES key is derived from the secret and both nonces, so every
     * connection (and attempt) has a key of its own: a recorded stream replayed later, or a hello replayed by someone
     * without the secret, gets no further than its first chunk.
     */
    public static RingAllReduce connect(int rank, List<String> addresses, ServerSocketChannel listener, Duration timeout,
                                        Credentials credentials) throws IOException {
        int world = addresses.size();
        if (rank < 0 || rank >= world) {
            throw new IllegalArgumentException("rank " + rank + " outside a world of " + world);
        }
        java.util.Objects.requireNonNull(credentials, "credentials");
        if (world == 1) {
            listener.close();
            return new RingAllReduce(rank, 1, timeout, null, null, null, null);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.compareTo(java.time.Duration.ofDays(1)) > 0) {
            closeQuietly(listener); // it was this call's to close (a huge timeout overflowed the deadline, a negative one failed at once)
            throw new IllegalArgumentException("rank " + rank + ": the ring's timeout must be positive and at most a day, got " + timeout);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        int nextRank = (rank + 1) % world;
        int prevRank = (rank - 1 + world) % world;
        String myAddress = addresses.get(rank);
        String nextAddress = addresses.get(nextRank);
        SocketChannel next = null;
        SocketChannel prev = null;
        try {
            next = connectWithRetry(parse(nextAddress), deadline, rank);
            java.security.SecureRandom random = new java.security.SecureRandom();
            byte[] myHelloNonce = new byte[NONCE_BYTES];
            random.nextBytes(myHelloNonce);
            ByteBuffer hello = ByteBuffer.allocate(8 + NONCE_BYTES + PROOF_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            hello.putInt(MAGIC).putInt(rank).put(myHelloNonce).put(credentials.proof("hello", rank, nextRank, nextAddress, myHelloNonce)).flip();
            writeFully(next, hello);
            byte[] prevHelloNonce = new byte[NONCE_BYTES];
            prev = acceptProvenPeer(listener, deadline, rank, prevRank, myAddress, credentials, prevHelloNonce);
            listener.close();
            byte[] myAckNonce = new byte[NONCE_BYTES];
            random.nextBytes(myAckNonce);
            ByteBuffer myAck = ByteBuffer.allocate(NONCE_BYTES + PROOF_BYTES);
            myAck.put(myAckNonce).put(credentials.proof("ack", rank, prevRank, myAddress, prevHelloNonce, myAckNonce)).flip();
            writeFully(prev, myAck);
            ByteBuffer ack = readBytes(next, NONCE_BYTES + PROOF_BYTES, deadline, rank, nextRank);
            byte[] nextAckNonce = new byte[NONCE_BYTES];
            ack.get(nextAckNonce);
            byte[] got = new byte[PROOF_BYTES];
            ack.get(got);
            if (!java.security.MessageDigest.isEqual(got, credentials.proof("ack", nextRank, rank, nextAddress, myHelloNonce, nextAckNonce))) {
                throw new IOException("rank " + rank + ": the peer at " + nextAddress + " failed to prove it is rank " + nextRank + " of this job");
            }
            // one key per connection and direction of travel: the chunks this rank sends, and those it receives
            byte[] sendKey = credentials.proof("stream", rank, nextRank, nextAddress, myHelloNonce, nextAckNonce);
            byte[] receiveKey = credentials.proof("stream", prevRank, rank, myAddress, prevHelloNonce, myAckNonce);
            return new RingAllReduce(rank, world, timeout, next, prev, sendKey, receiveKey);
        } catch (IOException | RuntimeException e) {
            closeQuietly(next);
            closeQuietly(prev);
            closeQuietly(listener);
            throw e;
        }
    }

    private static InetSocketAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("address must be host:port, got " + hostPort);
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static SocketChannel connectWithRetry(InetSocketAddress to, long deadline, int rank) throws IOException {
        IOException last = null;
        while (System.nanoTime() < deadline) {
            SocketChannel c = SocketChannel.open();
            try {
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                c.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                c.socket().connect(to, (int) Math.max(1, Math.min(Integer.MAX_VALUE, (deadline - System.nanoTime()) / 1_000_000)));
                return c;
            } catch (IOException e) {
                closeQuietly(c);
                last = e;
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", ie);
                }
            }
        }
        throw new SocketTimeoutException("rank " + rank + ": could not connect to the next rank at " + to + (last == null ? "" : ": " + last));
    }

    /**
     * The connections refused while waiting for the previous rank: the first three reasons and a count. Strangers that
     * connect and close cost microseconds each, so a list of every reason could grow by hundreds of MB in one timeout.
     */
    private static final class Refused {
        private final List<String> first = new java.util.ArrayList<>(3);
        private long count;

        void add(String reason) {
            if (first.size() < 3) {
                first.add(reason);
            }
            count++;
        }

        @Override
        public String toString() {
            return count == 0 ? "" : " (refused meanwhile: " + String.join("; ", first) + (count > 3 ? "; and " + (count - 3) + " more" : "") + ")";
        }
    }

    /** Connections whose hello is still awaited at once, at most; a newer one evicts the oldest (see acceptProvenPeer). */
    static final int MAX_PENDING_HELLOS = 64;

    /** A connection whose hello is still being read: its bytes so far and its own handshake deadline. */
    private record PendingHello(SocketChannel channel, ByteBuffer hello, long deadline) {
    }

    /**
     * The previous rank's connection: every connection to the listener reads its hello at the same time, each within
     * its own {@link #HANDSHAKE_NANOS}, and the first whose hello carries the job's proof is the peer (its nonce into
     * {@code helloNonce}); the rest are closed. One at a time, each stranger holding a silent connection cost the
     * real peer 2 s of the ring's timeout: twenty of them kept the ring from forming at all. At most
     * {@link #MAX_PENDING_HELLOS} are read at once; a newer connection evicts the oldest, so a flood cannot lock the
     * peer out either (its hello follows its connect at once).
     */
    private static SocketChannel acceptProvenPeer(ServerSocketChannel listener, long deadline, int rank, int from, String myAddress,
                                                  Credentials credentials, byte[] helloNonce) throws IOException {
        Refused refused = new Refused();
        java.util.ArrayDeque<PendingHello> pending = new java.util.ArrayDeque<>();
        SocketChannel peer = null;
        listener.configureBlocking(false);
        try (Selector s = Selector.open()) {
            listener.register(s, SelectionKey.OP_ACCEPT);
            while (peer == null) {
                long now = System.nanoTime();
                for (java.util.Iterator<PendingHello> it = pending.iterator(); it.hasNext(); ) {
                    PendingHello p = it.next();
                    if (now - p.deadline() >= 0) {
                        refused.add("a connection from " + remote(p.channel()) + " sent no hello in time");
                        closeQuietly(p.channel());
                        it.remove();
                    }
                }
                if (now - deadline >= 0) {
                    throw new SocketTimeoutException("rank " + rank + ": rank " + from + " did not connect in time" + refused);
                }
                long wake = deadline;
                for (PendingHello p : pending) {
                    wake = p.deadline() - wake < 0 ? p.deadline() : wake;
                }
                s.select(Math.max(1, (wake - now + 999_999) / 1_000_000));
                for (SocketChannel c; (c = listener.accept()) != null; ) {
                    try {
                        c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                        c.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                        c.configureBlocking(false);
                        if (pending.size() >= MAX_PENDING_HELLOS) {
                            PendingHello oldest = pending.removeFirst();
                            refused.add("a connection from " + remote(oldest.channel()) + " evicted: " + MAX_PENDING_HELLOS + " hellos pending");
                            closeQuietly(oldest.channel());
                        }
                        PendingHello p = new PendingHello(c, ByteBuffer.allocate(8 + NONCE_BYTES + PROOF_BYTES).order(ByteOrder.LITTLE_ENDIAN),
                                Math.min(deadline, System.nanoTime() + HANDSHAKE_NANOS));
                        c.register(s, SelectionKey.OP_READ, p);
                        pending.addLast(p);
                    } catch (IOException | RuntimeException e) {
                        closeQuietly(c);
                        refused.add(String.valueOf(e.getMessage()));
                    }
                }
                for (SelectionKey key : s.selectedKeys()) {
                    if (peer != null || !(key.attachment() instanceof PendingHello p) || !key.isValid() || !key.isReadable()) {
                        continue;
                    }
                    String failure = null;
                    try {
                        if (p.channel().read(p.hello()) < 0) {
                            failure = "a connection from " + remote(p.channel()) + " closed before its hello";
                        } else if (!p.hello().hasRemaining()) {
                            ByteBuffer h = p.hello().flip();
                            int magic = h.getInt();
                            int said = h.getInt();
                            byte[] nonce = new byte[NONCE_BYTES];
                            h.get(nonce);
                            byte[] proof = new byte[PROOF_BYTES];
                            h.get(proof);
                            if (magic == MAGIC && said == from
                                    && java.security.MessageDigest.isEqual(proof, credentials.proof("hello", from, rank, myAddress, nonce))) {
                                System.arraycopy(nonce, 0, helloNonce, 0, NONCE_BYTES);
                                peer = p.channel();
                                pending.remove(p);
                            } else {
                                failure = "a connection from " + remote(p.channel()) + " failed the job's proof (said rank " + said + ")";
                            }
                        }
                    } catch (IOException e) {
                        failure = String.valueOf(e.getMessage());
                    }
                    if (failure != null) { // a stranger: closed, and the listener goes on waiting for the real peer
                        refused.add(failure);
                        key.cancel();
                        closeQuietly(p.channel());
                        pending.remove(p);
                    }
                }
                s.selectedKeys().clear();
            }
        } finally {
            for (PendingHello p : pending) {
                closeQuietly(p.channel());
            }
        }
        peer.configureBlocking(true); // the selector is closed: the channel is deregistered
        return peer;
    }

    private static String remote(SocketChannel c) {
        try {
            return String.valueOf(c.getRemoteAddress());
        } catch (IOException | RuntimeException e) {
            return "(closed)";
        }
    }

    private static void writeFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** Exactly n bytes from c before the deadline (flipped, little-endian), or a timeout / EOF naming the ranks. */
    private static ByteBuffer readBytes(SocketChannel c, int n, long deadline, int rank, int from) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        c.configureBlocking(false);
        try (Selector s = Selector.open()) {
            c.register(s, SelectionKey.OP_READ);
            while (b.hasRemaining()) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new SocketTimeoutException("rank " + rank + ": no handshake from rank " + from + " in time");
                }
                s.select(left);
                if (c.read(b) < 0) {
                    throw new EOFException("rank " + rank + ": rank " + from + " closed the connection during the handshake");
                }
            }
        }
        c.configureBlocking(true);
        return b.flip();
    }

    public int rank() {
        return rank;
    }

    public int world() {
        return world;
    }

    /**
     * A check polled at least every 200 ms while waiting on the network (e.g. Spark's task-killed flag), so a
     * cancelled task stops waiting at once instead of at the timeout; when it turns true the call throws.
     */
    public void setCancelCheck(java.util.function.BooleanSupplier check) {
        this.cancelled = check;
    }

    /**
     * Payload bytes this rank has sent so far: the floats of its reduce-scatter and all-gather chunks, so over all ranks
     * one all-reduce of N floats sends 2 (world - 1) N floats, the ring's volume. The wire carries a 16-byte
     * authentication tag per chunk and the handshakes on top (not counted).
     */
    public long bytesSent() {
        return bytesSent;
    }

    /** Replaces {@code data} on every rank by the element-wise sum over all ranks (the same bits everywhere). */
    public void allReduceSum(float[] data) throws IOException {
        if (world == 1 || data.length == 0) {
            return;
        }
        if (broken != null) {
            throw new IOException("rank " + rank + ": this ring failed in an earlier call (" + broken + "); connect a new one");
        }
        try {
            reduceAndGather(data);
        } catch (IOException | RuntimeException | Error e) {
            broken = String.valueOf(e.getMessage());
            throw e;
        }
    }

    /**
     * The two phases of {@link #allReduceSum}. After any failure {@code data} is left part summed, and the ring refuses
     * further calls.
     */
    private void reduceAndGather(float[] data) throws IOException {
        int n = data.length;
        // reduce-scatter: after step s, segment (rank - s - 1) holds the sum of s + 2 ranks' values
        for (int s = 0; s < world - 1; s++) {
            int send = Math.floorMod(rank - s, world);
            int recv = Math.floorMod(rank - s - 1, world);
            transfer(data, start(send, n), end(send, n), start(recv, n), end(recv, n), true);
        }
        // all-gather: rank r owns the finished segment r + 1 and passes finished segments on
        for (int s = 0; s < world - 1; s++) {
            int send = Math.floorMod(rank + 1 - s, world);
            int recv = Math.floorMod(rank - s, world);
            transfer(data, start(send, n), end(send, n), start(recv, n), end(recv, n), false);
        }
    }

    /** {@link #allReduceSum} then division by the world size. */
    public void allReduceMean(float[] data) throws IOException {
        allReduceSum(data);
        float inv = 1f / world;
        for (int i = 0; i < data.length; i++) {
            data[i] *= inv;
        }
    }

    private int start(int segment, int n) {
        return (int) ((long) n * segment / world);
    }

    private int end(int segment, int n) {
        return (int) ((long) n * (segment + 1) / world);
    }

    /** Sends data[s0, s1) to the next rank while receiving data[r0, r1) from the previous one, chunk by chunk. */
    private void transfer(float[] data, int s0, int s1, int r0, int r1, boolean add) throws IOException {
        int sent = s0;
        int received = r0;
        while (sent < s1 || received < r1) {
            int sc = Math.min(CHUNK_FLOATS, s1 - sent);
            int rc = Math.min(CHUNK_FLOATS, r1 - received);
            out.clear();
            if (sc > 0) {
                outFloats.clear();
                outFloats.put(data, sent, sc);
                plainOut.clear().limit(sc * 4);
                seal();
            } else {
                out.limit(0);
            }
            in.clear();
            in.limit(rc > 0 ? rc * 4 + TAG_BYTES : 0);
            exchange();
            if (rc > 0) {
                open(); // nothing of a chunk is used before its tag holds
            }
            inFloats.clear();
            if (add) {
                for (int i = 0; i < rc; i++) {
                    data[received + i] += inFloats.get(i);
                }
            } else {
                inFloats.get(data, received, rc);
            }
            bytesSent += sc * 4L;
            sent += sc;
            received += rc;
        }
    }

    /** The GCM nonce of the chunk counted {@code n} on its connection (each connection has its own key). */
    private static javax.crypto.spec.GCMParameterSpec chunkNonce(long n) {
        byte[] iv = new byte[12];
        for (int i = 0; i < 8; i++) {
            iv[4 + i] = (byte) (n >>> (56 - 8 * i));
        }
        return new javax.crypto.spec.GCMParameterSpec(TAG_BYTES * 8, iv);
    }

    /** Seals {@link #plainOut} into {@link #out} (flipped: ready to send), under the next chunk's nonce. */
    private void seal() throws IOException {
        try {
            sealer.init(javax.crypto.Cipher.ENCRYPT_MODE, sendKey, chunkNonce(sentChunks++));
            sealer.doFinal(plainOut, out);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("rank " + rank + ": could not seal a chunk: " + e, e);
        }
        out.flip();
    }

    /** Opens {@link #in} (all of one sealed chunk) into {@link #plainIn}, or throws if its tag fails. */
    private void open() throws IOException {
        in.flip();
        plainIn.clear();
        try {
            opener.init(javax.crypto.Cipher.DECRYPT_MODE, receiveKey, chunkNonce(receivedChunks++));
            opener.doFinal(in, plainIn);
        } catch (javax.crypto.AEADBadTagException e) {
            throw new StreamIntegrityException("rank " + rank + ": chunk " + (receivedChunks - 1) + " from rank " + Math.floorMod(rank - 1, world)
                    + " failed its authentication tag: it was altered, replayed or reordered on the way, or not sealed by this job's rank;"
                    + " nothing of it was used");
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("rank " + rank + ": could not open a chunk: " + e, e);
        }
    }

    /** A chunk from the previous rank failed its AES-GCM tag: the stream was tampered with, or is not this job's. */
    public static final class StreamIntegrityException extends IOException {
        StreamIntegrityException(String message) {
            super(message);
        }
    }

    /** Writes all of {@code out} to the next rank and fills {@code in} from the previous one, whichever is ready. */
    private void exchange() throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (out.hasRemaining() || in.hasRemaining()) {
            nextKey.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE : 0);
            prevKey.interestOps(in.hasRemaining() ? SelectionKey.OP_READ : 0);
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new SocketTimeoutException("rank " + rank + ": all-reduce stalled for " + timeoutNanos / 1_000_000 + " ms: "
                        + (in.hasRemaining() ? "rank " + Math.floorMod(rank - 1, world) + " sent nothing" : "rank " + (rank + 1) % world + " read nothing"));
            }
            selector.select(Math.min(left, 200));
            if (Thread.interrupted() || cancelled.getAsBoolean()) {
                throw new java.io.InterruptedIOException("rank " + rank + ": cancelled during all-reduce");
            }
            selector.selectedKeys().clear();
            if (out.hasRemaining()) {
                next.write(out);
            }
            if (in.hasRemaining() && prev.read(in) < 0) {
                throw new EOFException("rank " + rank + ": rank " + Math.floorMod(rank - 1, world) + " closed the connection (did it die?)");
            }
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing after a failure: the first error is the one to report
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(selector);
        closeQuietly(next);
        closeQuietly(prev);
    }
}
