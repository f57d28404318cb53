package dev.lanes;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a test class's {@code main} in a JVM of its own (this JVM's java and class path, Lanes' module flags). */
public final class ChildJvm {
    private ChildJvm() {
    }

    /**
     * Starts {@code main} with {@code jvmFlags} (after the incubator module, native access and {@code -Xmx1g}) and
     * {@code args}; waits up to {@code timeoutSeconds}; returns the rest of the last output line that starts with
     * {@code prefix}. Fails with the child's whole output when it times out, exits non-zero or prints no such line.
     */
    public static String lastLine(Class<?> main, List<String> jvmFlags, List<String> args, String prefix, int timeoutSeconds) throws Exception {
        String out = output(main, jvmFlags, args, timeoutSeconds);
        return out.lines().filter(l -> l.startsWith(prefix)).reduce((a, b) -> b).map(l -> l.substring(prefix.length()))
                .orElseThrow(() -> new AssertionError("child JVM " + main.getSimpleName() + " " + jvmFlags + " " + args + " printed no line starting '"
                        + prefix + "':\n" + out));
    }

    /** As {@link #lastLine}, the child's whole output (stdout and stderr). */
    public static String output(Class<?> main, List<String> jvmFlags, List<String> args, int timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx1g");
        cmd.add("-Dlanes.coldStart=false"); // the vector forms, as in the test JVMs (ColdStartTest compares the scalar ones)
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(args);
        String what = main.getSimpleName() + " " + jvmFlags + " " + args;
        Path log = Files.createTempFile("lanes-child", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // gone before the next test takes the cores
                throw new AssertionError("child JVM " + what + " did not finish in " + timeoutSeconds + " s");
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError("child JVM " + what + " exited " + p.exitValue() + "; output:\n" + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
