package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 18: the number of connections is bounded (at 400 connections /health slowed to 2.75 s). The JDK server reads
 * its limit once per JVM, so the check runs in a child JVM started with a limit of 8: with 8 connections held open,
 * a 9th is refused at once, and a new one is served again when they are gone.
 */
class ConnectionLimitTest {
    /** Child JVM: starts the service, holds 8 connections, expects the 9th to be reset; prints PASS or what went wrong. */
    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        LeNetService.Config d = LeNetService.Config.defaults();
        try (LeNetService service = LeNetService.start(new LeNetService.Config("127.0.0.1", 0, 1, 4, 64 << 10, 4 << 20, d.weights(),
                Duration.ofMillis(10), Duration.ofSeconds(1)))) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Socket s = new Socket("127.0.0.1", service.port());
                s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
                held.add(s);
            }
            Thread.sleep(300);
            String ninth = probe(service.port());
            for (Socket s : held) {
                s.close();
            }
            Thread.sleep(500);
            String after = probe(service.port());
            System.out.println(ninth.equals("refused") && after.startsWith("HTTP/1.1 200") ? "PASS" : "FAIL ninth=" + ninth + " after=" + after);
        }
    }

    private static String probe(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(3000);
            s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] b = s.getInputStream().readNBytes(15);
            return b.length == 0 ? "refused" : new String(b, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return "refused";
        }
    }

    @Test
    void connectionsBeyondTheLimitAreRefused() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Djdk.httpserver.maxConnections=8",
                "-cp", System.getProperty("java.class.path"), ConnectionLimitTest.class.getName());
        Path log = Files.createTempFile("lanes-connections", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("child JVM did not finish in 60 s");
            }
            String out = Files.readString(log);
            assertThat(out).as("child JVM output").contains("PASS");
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
