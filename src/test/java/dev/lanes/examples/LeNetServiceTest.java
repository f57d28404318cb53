package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.data.Idx;
import dev.lanes.data.MnistDataset;
import dev.lanes.io.SafeTensors;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Sequential;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts the example service on 127.0.0.1 (a free port) and drives it over HTTP. */
class LeNetServiceTest {
    private static final String TOKEN = "test-admin-token-0123456789";
    private static LeNetService service;
    private static HttpClient client;
    private static Idx.Array images;
    private static Idx.Array labels;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("java.awt.headless", "true");
        LeNetService.Config d = LeNetService.Config.defaults();
        service = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 4, 32, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(50), Duration.ofSeconds(2), TOKEN));
        client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        Path sample = Path.of("examples", "data", "fashion-mnist-t10k");
        images = Idx.read(MnistDataset.find(sample, "t10k-images-idx3-ubyte"));
        labels = Idx.read(MnistDataset.find(sample, "t10k-labels-idx1-ubyte"));
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    private static HttpResponse<String> send(String method, String path, String type, byte[] body) throws Exception {
        return send(method, path, type, body, method.equals("PUT") ? TOKEN : null);
    }

    private static HttpResponse<String> send(String method, String path, String type, byte[] body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path)).timeout(Duration.ofSeconds(20));
        if (type != null) {
            b.header("Content-Type", type);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String pixelsJson(int image) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 784; i++) {
            sb.append(i > 0 ? "," : "").append(images.unsigned(image * 784 + i));
        }
        return sb.append(']').toString();
    }

    private static int predictedClass(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String b = r.body();
        int at = b.indexOf("\"class\": ") + 9;
        return Integer.parseInt(b.substring(at, b.indexOf(',', at)));
    }

    @Test
    void predictsFashionMnistImagesFromJsonAndPng() throws Exception {
        int correct = 0;
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = send("POST", "/predict", "application/json", pixelsJson(i).getBytes());
            int cls = predictedClass(r);
            assertThat(r.body()).contains("\"label\": \"" + LeNetService.FASHION_LABELS[cls] + "\"").contains("\"probabilities\": [");
            correct += cls == labels.unsigned(i) ? 1 : 0;
        }
        assertThat(correct).as("of the first 20 test images (the model scores 89.6%% on all 10,000)").isGreaterThanOrEqualTo(15);

        // the same image as {"pixels": [...]} and as a PNG gives the same class
        int first = predictedClass(send("POST", "/predict", "application/json", pixelsJson(0).getBytes()));
        assertThat(predictedClass(send("POST", "/predict", "application/json; charset=utf-8",
                ("{\"id\": 7, \"pixels\": " + pixelsJson(0) + "}").getBytes()))).isEqualTo(first);
        BufferedImage png = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                png.getRaster().setSample(x, y, 0, images.unsigned(y * 28 + x));
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(png, "png", bytes);
        assertThat(predictedClass(send("POST", "/predict", "image/png", bytes.toByteArray()))).isEqualTo(first);

        // 1024 values are taken as the model input itself
        StringBuilder zeros = new StringBuilder("[0");
        zeros.append(",0".repeat(1023)).append(']');
        assertThat(send("POST", "/predict", "application/json", zeros.toString().getBytes()).statusCode()).isEqualTo(200);
    }

    @Test
    void badRequestsGetClearClientErrorsAndTheServiceKeepsServing() throws Exception {
        HttpResponse<String> r = send("POST", "/predict", "application/json", "[1, 2, 3]".getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("expected 784 pixels").contains("got 3 numbers");
        r = send("POST", "/predict", "application/json", "[1, NaN]".getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("NaN and Infinity are not JSON numbers");
        r = send("POST", "/predict", "application/json", "{\"pixels\": [1, 2".getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("invalid JSON");
        r = send("POST", "/predict", "image/png", "definitely not a png".getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("not a readable PNG");
        r = send("POST", "/predict", "text/plain", "1,2,3".getBytes());
        assertThat(r.statusCode()).isEqualTo(415);
        r = send("POST", "/predict", "application/json", new byte[70 << 10]);
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(r.body()).contains("exceeds the limit of 65536");
        r = send("POST", "/predict", "application/json", new byte[0]);
        assertThat(r.statusCode()).isEqualTo(400);
        r = send("GET", "/predict", null, null);
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).hasValue("POST");
        r = send("GET", "/nothing", null, null);
        assertThat(r.statusCode()).isEqualTo(404);

        r = send("GET", "/health", null, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"status\": \"ok\"").contains("\"model\": \"LeNet\"").contains("\"input\": [1, 1, 32, 32]");
        assertThat(predictedClass(send("POST", "/predict", "application/json", pixelsJson(1).getBytes()))).isBetween(0, 9);
    }

    @Test
    void weightsForAnotherArchitectureAreRefusedAndTheOldModelKeepsServing(@TempDir Path dir) throws Exception {
        int before = predictedClass(send("POST", "/predict", "application/json", pixelsJson(3).getBytes()));
        Path mlp = dir.resolve("mlp.safetensors");
        SafeTensors.save(new Sequential(new Linear(784, 10)), mlp);
        HttpResponse<String> r = send("PUT", "/model", "application/octet-stream", Files.readAllBytes(mlp));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("the current model keeps serving").contains("conv1.weight");
        r = send("PUT", "/model", "application/octet-stream", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(predictedClass(send("POST", "/predict", "application/json", pixelsJson(3).getBytes()))).isEqualTo(before);

        // the same architecture swaps in: a fresh (untrained) LeNet answers differently on some image
        Lanes.manualSeed(1);
        Path fresh = dir.resolve("fresh.safetensors");
        SafeTensors.save(new LeNet(), fresh);
        byte[] trained = Files.readAllBytes(LeNetService.Config.defaults().weights());
        r = send("PUT", "/model", "application/octet-stream", Files.readAllBytes(fresh));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        try {
            assertThat(send("GET", "/health", null, null).body()).contains("\"model_swaps\": ");
        } finally {
            assertThat(send("PUT", "/model", "application/octet-stream", trained).statusCode()).isEqualTo(200);
        }
        assertThat(predictedClass(send("POST", "/predict", "application/json", pixelsJson(3).getBytes()))).isEqualTo(before);
    }

    @Test
    void aFullWorkerPoolAnswers503AtOnceHealthStillAnswersAndShutdownIsGraceful() throws Exception {
        LeNetService.Config d = LeNetService.Config.defaults();
        LeNetService small = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 0, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(10), Duration.ofSeconds(2)));
        try {
            HttpRequest predict = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/predict"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(pixelsJson(0))).build();
            HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/health")).timeout(Duration.ofSeconds(10)).build();
            try (AutoCloseable busy = small.occupyAllWorkersForTest()) {
                HttpResponse<String> r = client.send(predict, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(r.body()).contains("server busy");
                assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
                // /health has its own thread: it answers while every worker is taken
                assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            }
            assertThat(client.send(predict, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        } finally {
            long t0 = System.nanoTime();
            small.close();
            assertThat((System.nanoTime() - t0) / 1e9).as("close() with nothing running returns within the grace period").isLessThan(3.0);
        }
        assertThat(small.port()).isPositive();
    }

    /**
     * Issue 18, slowloris: clients that trickle their headers or send a body slower than its Content-Length used to
     * occupy every worker (/health timed out for 65 s). Now they hold only parked virtual threads, /health and /predict
     * keep answering (200 slow clients: p99 in the test's output), and the slow clients are closed after the read
     * deadline (2 s in the tests' JVM).
     */
    @Test
    void slowClientsNeitherBlockOthersNorStayForever() throws Exception {
        List<java.net.Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                java.net.Socket s = new java.net.Socket("127.0.0.1", service.port());
                s.setSoTimeout(15_000);
                var out = s.getOutputStream();
                if (i % 2 == 0) {
                    out.write("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1".getBytes()); // headers never finished
                } else {
                    out.write("POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n[1,".getBytes());
                }
                out.flush();
                slow.add(s);
            }
            long t0 = System.nanoTime();
            List<Long> micros = new ArrayList<>();
            byte[] body = pixelsJson(1).getBytes();
            for (int i = 0; i < 30; i++) {
                long a = System.nanoTime();
                assertThat(send("GET", "/health", null, null).statusCode()).isEqualTo(200);
                long b = System.nanoTime();
                assertThat(send("POST", "/predict", "application/json", body).statusCode()).isEqualTo(200);
                micros.add((b - a) / 1000);
                micros.add((System.nanoTime() - b) / 1000);
            }
            micros.sort(null);
            long p99 = micros.get((int) Math.ceil(micros.size() * 0.99) - 1);
            System.out.println("with 200 slow clients open: /health + /predict p99 " + p99 + " us, median " + micros.get(micros.size() / 2) + " us");
            // the target is 50 ms; the assertion leaves room for a loaded CI machine
            assertThat(p99).as("p99 of /health and /predict in us with 200 slow clients open").isLessThan(250_000);
            // the slow clients are closed by the server after the read deadline
            for (java.net.Socket s : slow) {
                int got;
                try {
                    got = s.getInputStream().read();
                } catch (java.io.IOException closed) {
                    got = -1;
                }
                assertThat(got).as("a slow client gets no answer but a closed connection").isEqualTo(-1);
            }
            assertThat((System.nanoTime() - t0) / 1e9).as("seconds until every slow client was closed").isLessThan(10);
        } finally {
            for (java.net.Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void concurrentClientsGetIdenticalAnswers() throws Exception {
        String expected = send("POST", "/predict", "application/json", pixelsJson(5).getBytes()).body();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/predict"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(pixelsJson(5))).build();
            calls.add(client.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            HttpResponse<String> r = c.get();
            if (r.statusCode() == 200) {
                assertThat(r.body()).isEqualTo(expected);
                ok++;
            } else {
                assertThat(r.statusCode()).as("only overload may refuse: " + r.body()).isEqualTo(503);
            }
        }
        assertThat(ok).isGreaterThan(0);
    }

    /** A raw request with the given Host header (java.net.http does not let a client set Host); returns the status line. */
    private static String rawStatus(String requestLine, String host) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", service.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((requestLine + "\r\n" + (host == null ? "" : "Host: " + host + "\r\n") + "Connection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String reply = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            return reply.substring(0, reply.indexOf("\r\n"));
        }
    }

    /** Issue 18: a page that rebinds its DNS name to 127.0.0.1 sends its own Host and is refused (421). */
    @Test
    void requestsForAnotherHostAreRefusedOnLoopback() throws Exception {
        assertThat(rawStatus("GET /health HTTP/1.1", "evil.example")).startsWith("HTTP/1.1 421");
        assertThat(rawStatus("GET /health HTTP/1.1", "evil.example:" + service.port())).contains("421");
        assertThat(rawStatus("GET http://evil.example/health HTTP/1.1", "localhost")).contains("421");
        assertThat(rawStatus("GET /health HTTP/1.1", "127.0.0.1.evil.example")).contains("421");
        assertThat(rawStatus("GET /health HTTP/1.1", "localhost:" + service.port())).isEqualTo("HTTP/1.1 200 OK");
        assertThat(rawStatus("GET /health HTTP/1.1", "127.0.0.1:" + service.port())).isEqualTo("HTTP/1.1 200 OK");
        assertThat(rawStatus("GET /health HTTP/1.1", "[::1]:" + service.port())).isEqualTo("HTTP/1.1 200 OK");
        assertThat(LeNetService.isLoopbackName("localhost:80x")).isFalse();
        assertThat(LeNetService.isLoopbackName("[::1]x")).isFalse();
    }

    /** Issue 18: PUT /model is off without a token, and needs the right one (compared in constant time). */
    @Test
    void modelSwapsNeedTheAdminToken() throws Exception {
        byte[] trained = Files.readAllBytes(LeNetService.Config.defaults().weights());
        HttpResponse<String> r = send("PUT", "/model", "application/octet-stream", trained, null);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        for (int i = 0; i < 10; i++) { // the refused 250 KB body is read and dropped, so the client gets its 401, not a reset
            assertThat(send("PUT", "/model", "application/octet-stream", trained, TOKEN + "x").statusCode()).isEqualTo(401);
        }
        assertThat(send("PUT", "/model", "application/octet-stream", trained, "").statusCode()).isEqualTo(401);
        LeNetService.Config d = LeNetService.Config.defaults();
        LeNetService noAdmin = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 4, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(10), Duration.ofSeconds(2)));
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + noAdmin.port() + "/model"))
                    .header("Authorization", "Bearer " + TOKEN).PUT(HttpRequest.BodyPublishers.ofByteArray(trained)).build();
            HttpResponse<String> off = client.send(req, HttpResponse.BodyHandlers.ofString());
            assertThat(off.statusCode()).isEqualTo(403);
            assertThat(off.body()).contains("--admin-token-file");
        } finally {
            noAdmin.close();
        }
    }

    /**
     * An upload still loading when close() begins is not swapped in: its model is freed and the upload refused (503),
     * and the service's last model is closed, not left for the GC. (It used to be swapped in during the grace and
     * answered 200 while the service was going away.)
     */
    @Test
    void anUploadFinishingDuringShutdownIsRefusedAndFreed() throws Exception {
        byte[] trained = Files.readAllBytes(LeNetService.Config.defaults().weights());
        LeNetService.Config d = LeNetService.Config.defaults();
        for (int attempt = 0; ; attempt++) {
            LeNetService s = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 4, 64 << 10, 4 << 20, d.weights(),
                    Duration.ofMillis(1500), Duration.ofMillis(100), TOKEN));
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/model")).timeout(Duration.ofSeconds(20))
                    .header("Authorization", "Bearer " + TOKEN).PUT(HttpRequest.BodyPublishers.ofByteArray(trained)).build();
            var upload = client.sendAsync(req, HttpResponse.BodyHandlers.ofString());
            dev.lanes.serve.PreparedModel first = s.currentModel();
            Thread.sleep(400 + 400L * attempt); // the upload's 250 KB arrive and load, then its 1.5 s warm-up: close while it runs
            s.close(); // 100 ms of grace (a second, as HttpServer.stop counts): returns while the upload still warms up
            long until = System.nanoTime() + 10_000_000_000L;
            while (s.uploadsRefusedAtShutdown() == 0 && !upload.isDone() && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            Thread.sleep(100);
            if (s.uploadsRefusedAtShutdown() == 0) { // the server stopped before the upload had arrived whole: again, later
                assertThat(attempt).as("an upload refused during shutdown, in 3 attempts").isLessThan(2);
                continue;
            }
            assertThat(s.currentModel()).as("nothing swapped in after close()").isSameAs(first);
            try {
                assertThat(upload.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode()).as("no 200 for a model never served").isNotEqualTo(200);
            } catch (java.util.concurrent.ExecutionException connectionClosed) {
                // the server had stopped: the connection closed without an answer
            }
            float[] out = new float[10];
            assertThatThrownBy(() -> first.predict(new float[1024], out)).isInstanceOf(IllegalStateException.class);
            return;
        }
    }

    /** A PNG is decoded only with a worker's permit: while every worker is taken, even a broken one waits in the queue. */
    @Test
    void imagesAreDecodedOnlyWithAWorkersPermit() throws Exception {
        LeNetService.Config d = LeNetService.Config.defaults();
        LeNetService small = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 4, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(10), Duration.ofSeconds(2)));
        try {
            HttpRequest png = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/predict"))
                    .header("Content-Type", "image/png").timeout(Duration.ofSeconds(20))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3})).build();
            java.util.concurrent.CompletableFuture<HttpResponse<String>> r;
            try (AutoCloseable busy = small.occupyWorkersForTest()) {
                r = client.sendAsync(png, HttpResponse.BodyHandlers.ofString());
                Thread.sleep(400);
                assertThat(r.isDone()).as("a queued PNG is not decoded (nor refused) before a worker is free").isFalse();
            }
            assertThat(r.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(400);
        } finally {
            small.close();
        }
    }

    /** Two uploads at once: the second is refused (409) while the first is read and loaded, which then swaps in. */
    @Test
    void aSecondUploadWhileOneLoadsGets409() throws Exception {
        byte[] trained = Files.readAllBytes(LeNetService.Config.defaults().weights());
        try (java.net.Socket slow = new java.net.Socket("127.0.0.1", service.port())) {
            slow.setSoTimeout(15_000);
            var out = slow.getOutputStream();
            out.write(("PUT /model HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Type: application/octet-stream\r\n"
                    + "Content-Length: " + trained.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(trained, 0, trained.length / 2); // the first upload's body half sent: it holds the upload's place
            out.flush();
            // until the server has taken the upload slot (a fixed 300 ms sleep lost that race on a loaded machine: the
            // second upload then went first and got 200)
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!service.uploadInProgressForTest() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(service.uploadInProgressForTest()).as("the first upload holds the slot").isTrue();
            HttpResponse<String> second = send("PUT", "/model", "application/octet-stream", trained);
            assertThat(second.statusCode()).as(second.body()).isEqualTo(409);
            assertThat(second.body()).contains("another model upload");
            out.write(trained, trained.length / 2, trained.length - trained.length / 2);
            out.flush();
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(slow.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII)).readLine();
            assertThat(status).as("the first upload's answer").contains("200");
        }
        assertThat(send("PUT", "/model", "application/octet-stream", trained).statusCode()).as("uploads are taken again").isEqualTo(200);
    }

    /** close() from two threads at once (a shutdown hook beside the application): neither returns before the model is freed. */
    @Test
    void closeFromTwoThreadsReturnsOnlyOnceTheServiceIsClosed() throws Exception {
        LeNetService.Config d = LeNetService.Config.defaults();
        LeNetService s = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 4, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(1500), Duration.ofMillis(300), TOKEN));
        dev.lanes.serve.PreparedModel m = s.currentModel();
        // an upload warming up for 1.5 s keeps the first close() busy for its grace
        var upload = client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/model")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + TOKEN).PUT(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(d.weights()))).build(),
                HttpResponse.BodyHandlers.ofString());
        Thread.sleep(400);
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> closers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            long delay = 100L * t; // the second while the first waits out its grace
            closers.add(Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(delay);
                    s.close();
                    assertThatThrownBy(() -> m.predict(new float[1024], new float[10])).as("the model, once close() returned")
                            .isInstanceOf(IllegalStateException.class);
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : closers) {
            t.join(20_000);
        }
        assertThat(failures).isEmpty();
        try {
            upload.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException connectionClosed) {
            // the server had stopped and closed its connection
        }
    }

    /** Issue 18: NaN weights made every answer class -1; now they are refused naming the tensor, the old model serves on. */
    @Test
    void nonFiniteWeightsAreRefused(@TempDir Path dir) throws Exception {
        int before = predictedClass(send("POST", "/predict", "application/json", pixelsJson(2).getBytes()));
        Lanes.manualSeed(3);
        LeNet poisoned = new LeNet();
        try (var g = dev.lanes.autograd.Autograd.noGrad()) {
            poisoned.fc2.bias.fill_(Float.NaN);
        }
        Path f = dir.resolve("nan.safetensors");
        SafeTensors.save(poisoned, f);
        HttpResponse<String> r = send("PUT", "/model", "application/octet-stream", Files.readAllBytes(f));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("fc2.bias").contains("finite");
        assertThat(predictedClass(send("POST", "/predict", "application/json", pixelsJson(2).getBytes()))).isEqualTo(before);
        // many zero-size entries held a worker for seconds and answered a 3.3 MB error listing every key
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < 20_000; i++) {
            h.append(i > 0 ? "," : "").append("\"k").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
        }
        byte[] json = h.append('}').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer file = java.nio.ByteBuffer.allocate(8 + json.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json);
        // the faster of two refusals: the first also pays for class loading and JIT on a cold 2-core VM (it took
        // 3.2-4.1 s there in 2 of 9 runs); the old fault was slow every time
        double fastest = Double.MAX_VALUE;
        for (int attempt = 0; attempt < 2; attempt++) {
            long t0 = System.nanoTime();
            r = send("PUT", "/model", "application/octet-stream", file.array());
            fastest = Math.min(fastest, (System.nanoTime() - t0) / 1e9);
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("more than 64 tensors").hasSizeLessThan(1000);
        }
        // refused by a scan of the header's bytes: milliseconds (parsing it took 3-4 s cold, past the 5 s read deadline
        // under load: the connection closed unanswered and the next test's upload found the slot still taken)
        assertThat(fastest).as("seconds to refuse").isLessThan(1.5);
    }

    /** Issue 18: pixels outside 0..255 were accepted silently. */
    @Test
    void pixelsOutsideTheirRangeAreRefusedNamingTheIndex() throws Exception {
        String ok = pixelsJson(4);
        String high = ok.replaceFirst("^\\[\\d+,\\d+,\\d+", "[0,0,999");
        HttpResponse<String> r = send("POST", "/predict", "application/json", high.getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("pixel 2").contains("0..255");
        String low = "[-5" + ok.substring(ok.indexOf(','));
        r = send("POST", "/predict", "application/json", low.getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("pixel 0");
        StringBuilder inputs = new StringBuilder("[");
        for (int i = 0; i < 1024; i++) {
            inputs.append(i > 0 ? "," : "").append(i == 7 ? "1e30" : "0.5");
        }
        r = send("POST", "/predict", "application/json", inputs.append(']').toString().getBytes());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("model input 7");
    }

    /**
     * A client that sends requests and never reads the answers: the server's write blocks once the buffers are full,
     * and without a response deadline the connection stayed open for good (1,024 of them shut the service out). The
     * JDK server now closes it after the response deadline (2 s in the tests' JVM, the read timeout by default), which
     * the client sees as a failed write.
     */
    @Test
    void aClientThatNeverReadsItsAnswersIsClosed() throws Exception {
        try (java.net.Socket s = new java.net.Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", service.port()));
            java.util.concurrent.atomic.AtomicReference<Throwable> ended = new java.util.concurrent.atomic.AtomicReference<>();
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                byte[] request = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                try {
                    var out = s.getOutputStream();
                    for (int i = 0; i < 500_000; i++) { // ~20 MB of requests, far more answers than any buffer holds
                        out.write(request);
                    }
                    ended.set(new AssertionError("every request was written: the server kept reading"));
                } catch (IOException e) {
                    ended.set(e);
                }
            });
            writer.join(30_000);
            assertThat(writer.isAlive()).as("the never-reading client's connection is still open after 30 s").isFalse();
            assertThat(ended.get()).isInstanceOf(IOException.class);
        }
        assertThat(send("GET", "/health", null, null).statusCode()).isEqualTo(200);
    }

    /** The admin token from the environment has the same 16-character floor as a token file (LANES_ADMIN_TOKEN=a turned PUT /model on). */
    @Test
    void aShortEnvironmentTokenIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--port", "0"}, "a"))
                .isInstanceOf(LeNetService.UsageException.class).hasMessageContaining("at least 16");
    }

    /** A client's path or Host comes back at most 100 characters long in an error (a 370 KB path was echoed whole). */
    @Test
    void errorsClipWhatTheClientSent() throws Exception {
        HttpResponse<String> r = send("GET", "/" + "x".repeat(20_000), null, null);
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body().length()).isLessThan(400);
        assertThat(r.body()).contains("20001 characters");
    }

    /** Issue 18: the command line answers bad input with one error line (exit 2), like TrainLeNet. */
    @Test
    void badCommandLinesGetOneClearError(@TempDir Path dir) throws Exception {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--port", "abc"}, null))
                .isInstanceOf(LeNetService.UsageException.class).hasMessage("--port needs a whole number, got 'abc'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--workers", "0"}, null))
                .hasMessageContaining("--workers must be between 1");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--bogus", "1"}, null))
                .hasMessage("unknown option --bogus");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--port"}, null))
                .hasMessage("--port needs a value");
        Path shortToken = dir.resolve("token");
        Files.writeString(shortToken, "abc\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(new String[] {"--admin-token-file", shortToken.toString()}, null))
                .hasMessageContaining("at least 16");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(
                        new String[] {"--port", Integer.toString(service.port())}, null))
                .hasMessageContaining("port " + service.port()).hasMessageContaining("is in use").hasMessageContaining("--port");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LeNetService.fromCommandLine(
                        new String[] {"--port", "0", "--weights", dir.resolve("none.safetensors").toString()}, null))
                .isInstanceOf(LeNetService.UsageException.class).hasMessageContaining("not found");
        assertThat(LeNetService.fromCommandLine(new String[] {"--help"}, null)).isNull();
    }
}
