package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Issue 19: a JVM without --add-modules=jdk.incubator.vector gets a message naming the flag, not NoClassDefFoundError. */
class VectorApiCheckTest {
    /** Child JVM entry point: the first tensor. */
    public static void main(String[] args) {
        System.out.println(Tensor.ones(3).sum());
    }

    @Test
    void aJvmWithoutTheModuleIsToldWhichFlagToAdd() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), VectorApiCheckTest.class.getName());
        Path log = Files.createTempFile("lanes-no-vector", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String out = Files.readString(log);
            assertThat(p.exitValue()).isNotZero();
            assertThat(out).contains("--add-modules=jdk.incubator.vector").contains("Gradle").doesNotContain("NoClassDefFoundError");
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
