package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TrainGPT end to end on a small text with a small model: it learns, samples, saves, and answers bad flags with exit 2. */
class TrainGPTTest {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = TrainGPT.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void learnsASmallTextSamplesAndSaves(@TempDir Path dir) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            text.append("the cat sat on the mat. the dog sat on the log.\n");
        }
        Path file = dir.resolve("text.txt");
        Files.writeString(file, text);
        Path weights = dir.resolve("gpt.safetensors");
        Run r = run("--data", file.toString(), "--steps", "60", "--batch-size", "8", "--context", "16", "--d-model", "32", "--heads", "2",
                "--layers", "1", "--warmup", "5", "--lr", "3e-3", "--eval-every", "30", "--eval-batches", "2", "--sample", "30", "--threads", "1",
                "--save", weights.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("sample: ").contains("step 30/60: train loss");
        Matcher m = Pattern.compile("result: steps=60 train_loss=([0-9.]+) val_loss=([0-9.]+) tokens_per_s=\\d+ parameters=\\d+").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        double initial = Math.log(16); // 16 distinct characters: a uniform guess
        assertThat(Double.parseDouble(m.group(1))).as("train loss after 60 steps").isLessThan(initial * 0.6);
        assertThat(Double.parseDouble(m.group(2))).as("validation loss after 60 steps").isLessThan(initial * 0.6);
        assertThat(Files.size(weights)).isGreaterThan(10_000);
    }

    @Test
    void badFlagsExitWithTwoAndTheUsage(@TempDir Path dir) throws IOException {
        Run r = run("--steps", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: --steps must be positive").contains("usage: TrainGPT");
        assertThat(run("--d-model", "30", "--heads", "4").err()).contains("divisible");
        assertThat(run("--frobnicate").err()).contains("unknown option --frobnicate");
        assertThat(run("--data", dir.resolve("missing.txt").toString()).err()).contains("no such file");
        Path tiny = dir.resolve("tiny.txt");
        Files.writeString(tiny, "abc");
        assertThat(run("--data", tiny.toString()).code()).isEqualTo(2);
        assertThat(run("--help").out()).startsWith("usage: TrainGPT");
    }
}
