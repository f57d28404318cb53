package dev.lanes.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lanes.data.ImageTransform;
import dev.lanes.serve.JsonFloats;
import dev.lanes.serve.PreparedModel;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * The trained LeNet behind the JDK's built-in HTTP server ({@code jdk.httpserver}), no other dependency:
 * <ul>
 *   <li>{@code POST /predict}: a JSON array (or {@code {"pixels": [...]}}) of 784 pixels (a 28x28 image, 0..255,
 *       transformed as in training) or 1024 model inputs (32x32, already normalized), or a PNG image (any size up
 *       to 1024x1024, converted to 28x28 grey); answers {@code {"class": 3, "label": "Dress", "probabilities": [...]}}.</li>
 *   <li>{@code GET /health}: status, model, counters.</li>
 *   <li>{@code PUT /model}: new weights (a safetensors file of the same architecture), swapped in atomically
 *       after a warm-up; a file for another architecture is refused with 400 and the old model keeps serving.</li>
 * </ul>
 * Bounded: request bodies (413 past the limit), a fixed worker pool with a bounded queue (503 when both are full,
 * answered at once instead of queueing without end). Bad input gets a 4xx with a JSON {@code {"error": ...}} message.
 * {@link #close()} (also on SIGTERM / Ctrl-C) stops accepting, lets running requests finish, then frees the model.
 * Run: {@code ./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.LeNetService}.
 */
public final class LeNetService implements AutoCloseable {
    /** Fashion-MNIST's classes, in label order. */
    static final String[] FASHION_LABELS = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    static final Path DEFAULT_WEIGHTS = Path.of("examples", "data", "lenet-fashion-mnist.safetensors");
    private static final int[] INPUT_SHAPE = {1, 1, 32, 32};
    private static final int MAX_IMAGE_SIDE = 1024;

    /**
     * Settings; {@link #defaults()} gives the command line's defaults. {@code adminToken} null (the default) turns the
     * admin endpoint {@code PUT /model} off.
     */
    public record Config(String host, int port, int workers, int queue, int maxBodyBytes, int maxModelBytes, Path weights,
                         Duration warmUp, Duration grace, String adminToken) {
        public Config(String host, int port, int workers, int queue, int maxBodyBytes, int maxModelBytes, Path weights,
                      Duration warmUp, Duration grace) {
            this(host, port, workers, queue, maxBodyBytes, maxModelBytes, weights, warmUp, grace, null);
        }

        public static Config defaults() {
            return new Config("127.0.0.1", 8080, Math.max(1, Runtime.getRuntime().availableProcessors()), 64, 256 << 10, 16 << 20,
                    DEFAULT_WEIGHTS, Duration.ofMillis(300), Duration.ofSeconds(5), null);
        }

        public Config withAdminToken(String token) {
            return new Config(host, port, workers, queue, maxBodyBytes, maxModelBytes, weights, warmUp, grace, token);
        }

        @Override
        public String toString() { // never print the token
            return "Config[host=" + host + ", port=" + port + ", workers=" + workers + ", queue=" + queue + ", maxBodyBytes=" + maxBodyBytes
                    + ", maxModelBytes=" + maxModelBytes + ", weights=" + weights + ", admin=" + (adminToken == null ? "off" : "token") + "]";
        }
    }

    /** Entries a LeNet weight file has (10); an upload with more is refused before it is loaded. */
    private static final int MAX_MODEL_ENTRIES = 64;
    /** Error messages quote at most this many characters of what the loader said (a 260k-key listing was 3.3 MB). */
    private static final int MAX_ERROR_CHARS = 400;
    /** Model inputs (the 1024-value form) must lie within +-this: normalized pixels are within about +-3. */
    private static final float MAX_MODEL_INPUT = 1e4f;

    private final Config config;
    private final HttpServer server;
    private final AtomicReference<PreparedModel> model;
    private final ImageTransform pixelsToInput = ImageTransform.pad(2).then(ImageTransform.toTensor()).then(ImageTransform.normalize(0.2860, 0.3530));
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong clientErrors = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong modelSwaps = new AtomicLong();
    /** Uploads loaded after close() began, freed and refused (tests). */
    private final AtomicInteger uploadsRefusedAtShutdown = new AtomicInteger();
    /** Held by the one model upload being loaded ({@link #swapModel}). */
    private final java.util.concurrent.locks.ReentrantLock swapping = new java.util.concurrent.locks.ReentrantLock();
    private volatile boolean closed;
    /** Set by close() just before it frees the model it finds (after the grace): a later swap frees its own. */
    private volatile boolean modelFreed;

    /**
     * Requests are read and answered on virtual threads, one per exchange: a client that trickles its headers or body
     * holds a parked virtual thread, not a worker, and {@code /health} never waits behind predictions. Predictions take
     * one of {@code workers} permits; at most {@code workers + queue} may be admitted at once, the rest get 503 at once.
     */
    private final ExecutorService requests = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("lanes-http-", 0).factory());
    private final Semaphore computing;
    private final AtomicInteger admitted = new AtomicInteger();

    private LeNetService(Config config, PreparedModel initial) throws IOException {
        this.config = config;
        this.model = new AtomicReference<>(initial);
        this.computing = new Semaphore(config.workers());
        this.server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 128);
        server.setExecutor(requests);
        server.createContext("/", this::handle);
        server.start();
    }

    /**
     * Deadlines and bounds of the JDK's HTTP server, which it reads from system properties once per JVM: a request's
     * headers and body must arrive, and its response be taken, within {@value #DEFAULT_READ_TIMEOUT_S} s ({@code --read-timeout};
     * slow clients are closed), idle keep-alive connections are closed after 10 s, and at most 1,024 connections are open. A value
     * already set (on the command line, or by an earlier server in this JVM) is kept.
     */
    static void configureHttpServerLimits(int readTimeoutSeconds) {
        setIfAbsent("sun.net.httpserver.maxReqTime", Integer.toString(readTimeoutSeconds));
        // and a response must be taken within as long: a client that never reads its answers held its connection for
        // good, and 1,024 of them (pipelined requests, or one long echoed path) shut the service out until a restart
        setIfAbsent("sun.net.httpserver.maxRspTime", Integer.toString(readTimeoutSeconds));
        setIfAbsent("sun.net.httpserver.timerMillis", "250");
        setIfAbsent("sun.net.httpserver.idleInterval", "10");
        setIfAbsent("jdk.httpserver.maxConnections", "1024");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    static final int DEFAULT_READ_TIMEOUT_S = 5;

    /** Takes every worker but none of the queue's places (tests): admitted requests wait for a worker. */
    AutoCloseable occupyWorkersForTest() throws InterruptedException {
        computing.acquire(config.workers());
        return () -> computing.release(config.workers());
    }

    /** Takes every prediction permit (tests: a full pool without racing real predictions); close() gives them back. */
    AutoCloseable occupyAllWorkersForTest() throws InterruptedException {
        computing.acquire(config.workers());
        admitted.addAndGet(config.workers() + config.queue());
        return () -> {
            admitted.addAndGet(-(config.workers() + config.queue()));
            computing.release(config.workers());
        };
    }

    /** Loads the weights, prepares and warms up the model, and starts serving. */
    public static LeNetService start(Config config) throws IOException {
        configureHttpServerLimits(DEFAULT_READ_TIMEOUT_S);
        if (config.workers() < 1 || config.queue() < 0 || config.maxBodyBytes() < 1) {
            throw new IllegalArgumentException("workers must be >= 1, queue >= 0, max body >= 1; got " + config);
        }
        if (!Files.isRegularFile(config.weights())) {
            throw new IOException("weights file " + config.weights() + " not found; train one with"
                    + " -Dlanes.main=dev.lanes.examples.TrainLeNet -Dlanes.args=\"--save FILE\"");
        }
        LeNet lenet = new LeNet();
        PreparedModel m;
        try {
            m = PreparedModel.load(lenet, config.weights(), INPUT_SHAPE);
        } finally {
            freeModuleTensors(lenet);
        }
        try {
            if (m.plan().inputType() != dev.lanes.DType.FLOAT32 || m.plan().outputType() != dev.lanes.DType.FLOAT32) {
                // an ONNX model that takes token ids or returns class ids: every /predict would have answered 500
                throw new IllegalArgumentException("the model " + config.weights().getFileName() + " takes " + m.plan().inputType()
                        + " and returns " + m.plan().outputType() + "; this service sends float32 pixels and reads float32 scores");
            }
            m.warmUp(config.warmUp());
            return new LeNetService(config, m);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The port it listens on (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    // ---- HTTP ----

    /** An error the client caused: its status and message. */
    private static final class HttpError extends Exception {
        final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                if (closed) { // a request on a connection kept alive past close(): the JDK's server still hands it over
                    ex.getResponseHeaders().set("Connection", "close");
                    throw new HttpError(503, "the service is shutting down");
                }
                checkHost(ex);
                String path = ex.getRequestURI().getPath();
                String method = ex.getRequestMethod();
                switch (path) {
                    case "/predict" -> {
                        allow(ex, method, "POST");
                        send(ex, 200, predict(ex));
                        served.incrementAndGet();
                    }
                    case "/health" -> {
                        allow(ex, method, "GET");
                        send(ex, 200, health());
                    }
                    case "/model" -> {
                        allow(ex, method, "PUT");
                        authorize(ex);
                        send(ex, 200, swapModel(ex));
                    }
                    default -> throw new HttpError(404, "no such path " + clipped(path) + "; try POST /predict, GET /health or PUT /model");
                }
            } catch (HttpError e) {
                clientErrors.incrementAndGet();
                discardBody(ex, "/model".equals(ex.getRequestURI().getPath()) ? config.maxModelBytes() : config.maxBodyBytes()); // a refused /predict reads at most its own limit
                send(ex, e.status, "{\"error\": " + quote(e.getMessage()) + "}");
            } catch (RuntimeException e) {
                if (closed) { // the model was freed under a request admitted before close(): not the server's fault
                    send(ex, 503, "{\"error\": " + quote("the service is shutting down") + "}");
                    return;
                }
                send(ex, 500, "{\"error\": " + quote("internal error: " + e) + "}");
            } catch (OutOfMemoryError e) { // the off-heap budget (or the heap) refused this request's memory: try again later
                ex.getResponseHeaders().set("Retry-After", "1");
                send(ex, 503, "{\"error\": " + quote("server out of memory for this request; try again later") + "}");
            }
        }
    }

    /**
     * Bound to a loopback address, the service answers only requests addressed to a loopback name: a page on another
     * site that rebinds its DNS name to 127.0.0.1 sends its own Host, and gets 421 (DNS rebinding). An absolute-form
     * request target is checked the same way.
     */
    private void checkHost(HttpExchange ex) throws HttpError {
        if (!ex.getLocalAddress().getAddress().isLoopbackAddress()) {
            return; // bound to a public address on purpose: put it behind a proxy that checks Host (README)
        }
        String target = ex.getRequestURI().getHost();
        String host = target != null ? target : ex.getRequestHeaders().getFirst("Host");
        if (host == null || !isLoopbackName(host)) {
            throw new HttpError(421, "this service answers requests for localhost only, not for host " + (host == null ? "(none)" : clipped(host)));
        }
    }

    /** A client's string echoed in an error: at most 100 characters (a 370 KB path came back whole in the 404). */
    static String clipped(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "... (" + s.length() + " characters)";
    }

    static boolean isLoopbackName(String hostHeader) {
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) { // [::1]:8080
            int end = h.indexOf(']');
            return end > 0 && h.substring(1, end).equals("::1") && (end == h.length() - 1 || h.charAt(end + 1) == ':');
        }
        int colon = h.lastIndexOf(':');
        String name = colon >= 0 ? h.substring(0, colon) : h;
        if (colon >= 0 && !h.substring(colon + 1).chars().allMatch(Character::isDigit)) {
            return false;
        }
        return name.equals("localhost") || name.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /** PUT /model: 403 unless the service has a token, 401 unless the request carries it (compared in constant time). */
    private void authorize(HttpExchange ex) throws HttpError {
        if (config.adminToken() == null) {
            throw new HttpError(403, "PUT /model is off: start the service with --admin-token-file FILE (or LANES_ADMIN_TOKEN) to allow it");
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!java.security.MessageDigest.isEqual(given, config.adminToken().getBytes(StandardCharsets.UTF_8))) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            throw new HttpError(401, "PUT /model needs the admin token: Authorization: Bearer <token>");
        }
    }

    private static void allow(HttpExchange ex, String method, String allowed) throws HttpError {
        if (!method.equals(allowed)) {
            ex.getResponseHeaders().set("Allow", allowed);
            throw new HttpError(405, "method " + method + " not allowed here; use " + allowed);
        }
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    /**
     * Reads and drops what is left of a refused request's body, at most {@code limit} bytes (the read deadline still
     * applies), so that the client, still sending it, gets the error response: the JDK server closes a connection
     * whose unread body exceeds 64 KB, and a client writing a 250 KB PUT /model without the token then saw a reset
     * instead of its 401. A body declared larger than the limit is not read at all (the connection closes).
     */
    private static void discardBody(HttpExchange ex, int limit) {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        try {
            if (declared != null && Long.parseLong(declared.trim()) > limit) {
                return;
            }
            InputStream in = ex.getRequestBody();
            byte[] sink = new byte[8192];
            long left = limit;
            int n;
            while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) {
                left -= n;
            }
        } catch (NumberFormatException | IOException e) {
            // nothing more to do: the response goes out (or the connection closes) as before
        }
    }

    /** The body, refused with 413 past {@code limit} bytes (by Content-Length first, then by what arrives). */
    private static byte[] body(HttpExchange ex, int limit) throws IOException, HttpError {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            try {
                if (Long.parseLong(declared.trim()) > limit) {
                    throw new HttpError(413, "request body of " + declared.trim() + " bytes exceeds the limit of " + limit);
                }
            } catch (NumberFormatException e) {
                throw new HttpError(400, "bad Content-Length " + declared);
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(limit + 1);
            if (b.length > limit) {
                throw new HttpError(413, "request body exceeds the limit of " + limit + " bytes");
            }
            if (b.length == 0) {
                throw new HttpError(400, "empty request body");
            }
            return b;
        }
    }

    private String predict(HttpExchange ex) throws IOException, HttpError {
        String type = contentType(ex);
        if (!type.equals("application/json") && !type.isEmpty() && !type.equals("image/png")) {
            throw new HttpError(415, "unsupported Content-Type " + type + "; send application/json or image/png");
        }
        // the body is read first (bounded by its size limit and the read deadline: a slow sender must not hold a place),
        // then admitted before it is parsed or an image decoded: under a flood that work too stays within the workers and
        // the queue (it ran before the check, so a decode of a large PNG was never answered 503)
        byte[] body = body(ex, config.maxBodyBytes());
        if (admitted.incrementAndGet() > config.workers() + config.queue()) {
            admitted.decrementAndGet();
            rejected.incrementAndGet();
            ex.getResponseHeaders().set("Retry-After", "1");
            throw new HttpError(503, "server busy: all " + config.workers() + " workers and " + config.queue() + " queue places taken");
        }
        PreparedModel m;
        float[] probabilities;
        int cls;
        try {
            computing.acquireUninterruptibly();
            try {
                // parsed and decoded with a worker's permit: at most `workers` PNGs (up to 1024 x 1024, ~8 MB of heap
                // each) decode at once, not every admitted request (workers + queue of them, on as many virtual threads,
                // which also took every carrier thread from /health)
                float[] input = type.equals("image/png") ? modelInput(decodePng(body)) : modelInput(parseJson(body));
                m = model.get();
                probabilities = new float[m.outputSize()];
                try {
                    cls = m.classify(input, probabilities);
                } catch (IllegalStateException closed) {
                    // a PUT /model swapped and closed this model between model.get() and the call: the new one answers
                    PreparedModel next = model.get();
                    if (next == m) {
                        throw closed;
                    }
                    m = next;
                    probabilities = new float[m.outputSize()];
                    cls = m.classify(input, probabilities);
                }
            } finally {
                computing.release();
            }
        } finally {
            admitted.decrementAndGet();
        }
        StringBuilder sb = new StringBuilder(256).append("{\"class\": ").append(cls)
                .append(", \"label\": ").append(cls >= 0 && cls < FASHION_LABELS.length ? quote(FASHION_LABELS[cls]) : "null")
                .append(", \"probabilities\": [");
        for (int i = 0; i < probabilities.length; i++) {
            float p = probabilities[i];
            sb.append(i > 0 ? ", " : "").append(Float.isFinite(p) ? Float.toString(p) : "null");
        }
        return sb.append("]}").toString();
    }

    private static String contentType(HttpExchange ex) {
        String t = ex.getRequestHeaders().getFirst("Content-Type");
        if (t == null) {
            return "";
        }
        int semi = t.indexOf(';');
        return (semi >= 0 ? t.substring(0, semi) : t).trim().toLowerCase(Locale.ROOT);
    }

    private static float[] parseJson(byte[] body) throws HttpError {
        try {
            return JsonFloats.parse(body, "pixels");
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, e.getMessage());
        }
    }

    /** 784 pixels (0..255) go through the training transform; 1024 values are the model input itself. */
    private float[] modelInput(float[] values) throws HttpError {
        if (values.length == 1024) {
            for (int i = 0; i < values.length; i++) {
                if (!(Math.abs(values[i]) <= MAX_MODEL_INPUT)) {
                    throw new HttpError(400, "model input " + i + " is " + values[i] + "; normalized inputs lie within +-" + MAX_MODEL_INPUT);
                }
            }
            return values;
        }
        if (values.length != 784) {
            throw new HttpError(400, "expected 784 pixels (a 28x28 image, 0..255) or 1024 model inputs (32x32, normalized), got "
                    + values.length + " numbers");
        }
        for (int i = 0; i < values.length; i++) {
            if (!(values[i] >= 0f && values[i] <= 255f)) {
                throw new HttpError(400, "pixel " + i + " (row " + i / 28 + ", column " + i % 28 + ") is " + values[i] + "; pixels are 0..255");
            }
        }
        float[] in = new float[1024];
        pixelsToInput.apply(values, 28, 28, in);
        return in;
    }

    static {
        ImageIO.setUseCache(false); // decode uploads in memory: with the cache, each PNG request wrote its body to java.io.tmpdir
    }

    /** A PNG of any size up to 1024x1024 as 28x28 grey pixels (0..255); the size is read before decoding. */
    private static float[] decodePng(byte[] body) throws HttpError {
        try (ImageInputStream iis = ImageIO.createImageInputStream(new ByteArrayInputStream(body))) {
            Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("png");
            ImageReader reader = readers.next();
            try {
                reader.setInput(iis, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if (w < 1 || h < 1 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE) {
                    throw new HttpError(400, "image of " + w + "x" + h + " pixels; at most " + MAX_IMAGE_SIDE + "x" + MAX_IMAGE_SIDE);
                }
                BufferedImage img = reader.read(0);
                BufferedImage grey = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
                Graphics2D g = grey.createGraphics();
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
                g.drawImage(img, 0, 0, 28, 28, null);
                g.dispose();
                float[] pixels = new float[784];
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        pixels[y * 28 + x] = grey.getRaster().getSample(x, y, 0);
                    }
                }
                return pixels;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new HttpError(400, "not a readable PNG image: " + e.getMessage());
        }
    }

    private String health() {
        PreparedModel m = model.get();
        return "{\"status\": \"ok\", \"model\": " + quote(m.name()) + ", \"input\": " + m.inputShape().toString().replace("Size(", "").replace(")", "")
                + ", \"served\": " + served.get() + ", \"client_errors\": " + clientErrors.get() + ", \"rejected\": " + rejected.get()
                + ", \"model_swaps\": " + modelSwaps.get() + ", \"workers\": " + config.workers() + ", \"queue\": " + config.queue() + "}";
    }

    private String swapModel(HttpExchange ex) throws IOException, HttpError {
        // one upload at a time: two at once held two 16 MB bodies and their models, and the later swap silently won
        if (!swapping.tryLock()) {
            throw new HttpError(409, "another model upload is being loaded; try again when it is done");
        }
        try {
            return swapModelAlone(ex);
        } finally {
            swapping.unlock();
        }
    }

    private String swapModelAlone(HttpExchange ex) throws IOException, HttpError {
        byte[] body = body(ex, config.maxModelBytes());
        PreparedModel next = null;
        try {
            checkWeights(body);
            LeNet lenet = new LeNet();
            try {
                next = PreparedModel.load(lenet, body, "the uploaded weights", INPUT_SHAPE);
            } finally {
                freeModuleTensors(lenet); // the plan keeps its own references: the module's copies held ~250 KB off-heap a swap until the GC
            }
            next.warmUp(config.warmUp());
        } catch (RuntimeException | Error e) {
            if (next != null) {
                next.close(); // loaded but refused in its warm-up: it held its weights and plan until the GC found it
            }
            if (!(e instanceof IllegalArgumentException)) {
                throw e;
            }
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            if (why.length() > MAX_ERROR_CHARS) {
                why = why.substring(0, MAX_ERROR_CHARS) + "... (" + (why.length() - MAX_ERROR_CHARS) + " more characters)";
            }
            throw new HttpError(400, "weights refused, the current model keeps serving: " + why);
        }
        if (closed) { // close() has begun: the new model would be freed within the grace, and its 200 would be a lie
            next.close();
            uploadsRefusedAtShutdown.incrementAndGet();
            throw new HttpError(503, "the service is shutting down");
        }
        PreparedModel old = model.getAndSet(next);
        old.close(); // calls still running on it finish first
        if (modelFreed) {
            // close() gave up waiting for this upload and freed the model it found, the old one: the new one must not
            // outlive the service either (closing twice is a no-op). A swap during the grace keeps its model: close()
            // frees it once the grace is over, and the requests still queued are answered by it.
            next.close();
            throw new HttpError(503, "the service is shutting down");
        }
        modelSwaps.incrementAndGet();
        return "{\"status\": \"swapped\", \"model\": " + quote(next.name()) + "}";
    }

    /** Closes a module's parameters and buffers once a plan traced from it holds its own references to their storage. */
    private static void freeModuleTensors(dev.lanes.nn.Module m) {
        m.parameters().forEach(dev.lanes.Tensor::close);
        m.buffers().forEach(dev.lanes.Tensor::close);
    }

    /** Bounded entry count and finite values, checked before the weights are loaded into a model. */
    private static void checkWeights(byte[] body) {
        // at most MAX_MODEL_ENTRIES, refused before the header is parsed (20,000 small entries took seconds to parse)
        dev.lanes.io.SafeTensors.Contents c = dev.lanes.io.SafeTensors.parse(body, "the uploaded weights", MAX_MODEL_ENTRIES);
        try {
            for (var e : c.tensors().entrySet()) {
                if (e.getValue().dtype() != dev.lanes.DType.FLOAT32) {
                    continue;
                }
                float[] v = e.getValue().toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    if (!Float.isFinite(v[i])) {
                        throw new IllegalArgumentException("tensor " + e.getKey() + " holds " + v[i] + " at element " + i
                                + "; weights must be finite");
                    }
                }
            }
        } finally {
            c.tensors().values().forEach(dev.lanes.Tensor::close);
        }
    }

    static String quote(String s) {
        return dev.lanes.io.Json.quote(s);
    }

    /** Uploads loaded after close() began and refused (tests). */
    /** Whether a model upload holds the one upload slot ({@link #swapModel}) now (tests: instead of sleeping and hoping). */
    boolean uploadInProgressForTest() {
        return swapping.isLocked();
    }

    int uploadsRefusedAtShutdown() {
        return uploadsRefusedAtShutdown.get();
    }

    /** The model serving now (tests). */
    PreparedModel currentModel() {
        return model.get();
    }

    /**
     * Graceful shutdown: no new connections, running requests get {@code grace} to finish, then the model is freed. An
     * upload still loading after that frees its model itself ({@link #swapModel}).
     */
    @Override
    public synchronized void close() { // synchronized: a second caller (the shutdown hook beside the application) returns once it is done
        if (closed) {
            return;
        }
        closed = true;
        long deadline = System.nanoTime() + config.grace().toNanos();
        // HttpServer.stop takes whole seconds: a grace under a second rounds up (stop(0) cut every running response short)
        long graceMillis = config.grace().toMillis();
        server.stop((int) Math.max(0, Math.min(Integer.MAX_VALUE, (graceMillis + 999) / 1000)));
        requests.shutdown();
        try {
            if (!requests.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                requests.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        modelFreed = true; // before the read below: a swap after that read sees it (both are volatile)
        model.get().close();
    }

    // ---- command line ----

    /** A bad command line: printed as one {@code error:} line (exit code 2), like TrainLeNet. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    private static final String USAGE = """
            LeNetService: the trained LeNet over HTTP (POST /predict, GET /health, PUT /model)
              --host H                 address to bind (default 127.0.0.1; see the README before binding 0.0.0.0)
              --port N                 port (default 8080; 0 picks a free one)
              --workers N              predictions computed at once (default: cores)
              --queue N                predictions waiting for a worker before 503 (default 64)
              --max-body N             largest /predict body in bytes (default 262144)
              --read-timeout S         seconds a request's headers and body may take to arrive (default 5); slower clients are closed
              --weights FILE           safetensors weights (default examples/data/lenet-fashion-mnist.safetensors), or an
                                       ONNX model (*.onnx) taking [1, 1, 32, 32]
              --admin-token-file FILE  turns PUT /model on; requests must send Authorization: Bearer <the file's token>
                                       (or set LANES_ADMIN_TOKEN); without it PUT /model answers 403""";

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        long t0 = System.nanoTime();
        LeNetService service;
        try {
            service = fromCommandLine(args, System.getenv("LANES_ADMIN_TOKEN"));
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("run with --help for the options");
            System.exit(2);
            return;
        }
        if (service == null) {
            System.out.println(USAGE);
            return;
        }
        Config c = service.config;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("LeNet service stopping: no new connections, running requests get " + c.grace().toSeconds() + " s");
            service.close();
            System.err.println("LeNet service stopped");
        }, "lanes-http-shutdown"));
        System.out.printf("LeNet service on http://%s:%d (%d workers, queue %d, admin %s, ready in %d ms): POST /predict, GET /health, PUT /model%n",
                c.host(), service.port(), c.workers(), c.queue(), c.adminToken() == null ? "off" : "on", (System.nanoTime() - t0) / 1_000_000);
        Thread.currentThread().join(); // serve until SIGTERM / Ctrl-C
    }

    /** Parses the command line and starts the service; null for --help; every bad input is a UsageException. */
    static LeNetService fromCommandLine(String[] args, String envToken) throws UsageException, IOException {
        Config c = Config.defaults();
        String token = envToken == null || envToken.isBlank() ? null : envToken.trim();
        if (token != null && token.length() < 16) { // the same floor as a token file's: LANES_ADMIN_TOKEN=a turned PUT /model on
            throw new UsageException("LANES_ADMIN_TOKEN is " + token.length() + " characters; use at least 16");
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help")) {
                return null;
            }
            if (i + 1 >= args.length) {
                throw new UsageException(a + " needs a value");
            }
            String v = args[++i];
            c = switch (a) {
                case "--host" -> new Config(v, c.port(), c.workers(), c.queue(), c.maxBodyBytes(), c.maxModelBytes(), c.weights(), c.warmUp(), c.grace());
                case "--port" -> new Config(c.host(), number(a, v, 0, 65535), c.workers(), c.queue(), c.maxBodyBytes(), c.maxModelBytes(), c.weights(),
                        c.warmUp(), c.grace());
                case "--workers" -> new Config(c.host(), c.port(), number(a, v, 1, 4096), c.queue(), c.maxBodyBytes(), c.maxModelBytes(), c.weights(),
                        c.warmUp(), c.grace());
                case "--queue" -> new Config(c.host(), c.port(), c.workers(), number(a, v, 0, 1 << 20), c.maxBodyBytes(), c.maxModelBytes(), c.weights(),
                        c.warmUp(), c.grace());
                case "--max-body" -> new Config(c.host(), c.port(), c.workers(), c.queue(), number(a, v, 1, 1 << 30), c.maxModelBytes(), c.weights(),
                        c.warmUp(), c.grace());
                case "--weights" -> new Config(c.host(), c.port(), c.workers(), c.queue(), c.maxBodyBytes(), c.maxModelBytes(), Path.of(v), c.warmUp(),
                        c.grace());
                case "--read-timeout" -> {
                    int seconds = number(a, v, 1, 3600);
                    System.setProperty("sun.net.httpserver.maxReqTime", Integer.toString(seconds)); // read once, by the first server
                    System.setProperty("sun.net.httpserver.maxRspTime", Integer.toString(seconds)); // the response's deadline too (documented so)
                    yield c;
                }
                case "--admin-token-file" -> {
                    try {
                        token = Files.readString(Path.of(v), StandardCharsets.UTF_8).trim();
                    } catch (IOException e) {
                        throw new UsageException("cannot read the admin token file " + v + ": " + e);
                    }
                    if (token.length() < 16) {
                        throw new UsageException("the admin token in " + v + " is " + token.length() + " characters; use at least 16");
                    }
                    yield c;
                }
                default -> throw new UsageException("unknown option " + a);
            };
        }
        try {
            return start(c.withAdminToken(token));
        } catch (java.net.BindException e) {
            throw new UsageException("port " + c.port() + " on " + c.host() + " is in use (or not allowed); choose another with --port");
        } catch (java.net.UnknownHostException | java.nio.channels.UnresolvedAddressException e) {
            throw new UsageException("unknown host " + c.host() + " (--host)");
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        } catch (IOException e) {
            if (!Files.isRegularFile(c.weights())) {
                throw new UsageException(e.getMessage());
            }
            throw e;
        }
    }

    private static int number(String option, String value, int min, int max) throws UsageException {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < min || n > max) {
                throw new UsageException(option + " must be between " + min + " and " + max + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a whole number, got '" + value + "'");
        }
    }
}
