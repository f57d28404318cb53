package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Issue 18: Predict answers bad input with one error line and exit code 2 (it printed raw stack traces). */
class PredictTest {
    private static String[] run(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Predict.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void classifiesAnImage() throws Exception {
        String[] r = run("--image", "3");
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).startsWith("image 3: Trouser (class 1, ").contains("label Trouser;"); // Fashion-MNIST t10k labels: 9 2 1 1 ...
        assertThat(run("--image", "9999")[1]).startsWith("image 9999: ").contains("label Sandal;"); // the last item: the slice, not item 0
    }

    /** The start-up figure: since the launcher's -Dlanes.launchMillis when given, else since the JVM started. */
    @Test
    void reportsTheTimeSinceLaunch() throws Exception {
        assertThat(run("--image", "0")[1]).containsPattern("; \\d+ ms after JVM start\\R$");
        String old = System.getProperty("lanes.launchMillis");
        System.setProperty("lanes.launchMillis", Long.toString(System.currentTimeMillis() - 100_000));
        try {
            String line = run("--image", "0")[1];
            assertThat(line).containsPattern("; \\d+ ms after launch\\R$");
            long ms = Long.parseLong(line.replaceAll("(?s).*; (\\d+) ms after launch.*", "$1"));
            assertThat(ms).isBetween(100_000L, 200_000L);
        } finally {
            if (old == null) {
                System.clearProperty("lanes.launchMillis");
            } else {
                System.setProperty("lanes.launchMillis", old);
            }
        }
    }

    @Test
    void badInputIsOneErrorLineAndExitCode2() throws Exception {
        assertThat(run("--image", "abc")).satisfies(r -> {
            assertThat(r[0]).isEqualTo("2");
            assertThat(r[2]).startsWith("error: --image needs a whole number, got 'abc'");
        });
        assertThat(run("--image", "99999")[2]).startsWith("error: --image must be in 0..9999, got 99999");
        assertThat(run("--image")[2]).startsWith("error: --image needs a value");
        assertThat(run("--weights", "/nonexistent/w.safetensors")[2]).startsWith("error: weights file /nonexistent/w.safetensors not found");
        assertThat(run("--bogus")[2]).startsWith("error: unknown option --bogus");
    }

    /** Weights whose scores are NaN: one error line, not an ArrayIndexOutOfBoundsException on class -1. */
    @Test
    void nanScoresAreOneErrorLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        dev.lanes.Lanes.manualSeed(3);
        LeNet poisoned = new LeNet();
        try (var g = dev.lanes.autograd.Autograd.noGrad()) {
            poisoned.fc2.bias.fill_(Float.NaN);
        }
        java.nio.file.Path f = dir.resolve("nan.safetensors");
        dev.lanes.io.SafeTensors.save(poisoned, f);
        String[] r = run("--weights", f.toString(), "--image", "0");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).startsWith("error: the model's scores are NaN for image 0");
    }
}
