package dev.lanes;

import dev.lanes.examples.CharGPT;
import dev.lanes.examples.LeNet;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Heap bytes per call of a warm inference plan, measured in a JVM of its own ({@link #inFreshJvm}): in the test suite's
 * JVM, kernels C2 compiled early with the profiles of other tests can keep one vector pass out of line for good, and
 * then the Vector API's Java fallback allocates on every call (CI saw 24-32 KB per call of a small GPT plan at 256 and
 * 128 bits, once 2.3 KB of LeNet's, never in a JVM that serves one model). A service's JVM is the fresh one.
 */
public final class PlanHeapProbe {
    private PlanHeapProbe() {
    }

    /** Runs this probe for {@code model} ("lenet" or "gpt") in a new JVM with this JVM's vector-width flags. */
    static long inFreshJvm(String model) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx1g");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:UseAVX") || a.startsWith("-XX:MaxVectorSize") || a.startsWith("-Dlanes.vectorRegisters")) {
                cmd.add(a); // the width this suite runs at
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PlanHeapProbe.class.getName());
        cmd.add(model);
        Path log = Files.createTempFile("lanes-heap-probe", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("heap probe for " + model + " did not finish in 120 s");
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError("heap probe for " + model + " exited " + p.exitValue() + ":\n" + out);
            }
            String line = out.lines().filter(l -> l.startsWith("heap bytes per call ")).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("heap probe printed no result:\n" + out));
            return Long.parseLong(line.substring("heap bytes per call ".length()).trim());
        } finally {
            Files.deleteIfExists(log);
        }
    }

    public static void main(String[] args) {
        Lanes.manualSeed(5);
        InferencePlan plan;
        Runnable call;
        if (args[0].equals("gpt")) {
            CharGPT gpt = new CharGPT(new CharGPT.Config(40, 16, 32, 4, 2, 0.1, false));
            gpt.eval();
            long[] ids = new long[32];
            Random r = new Random(11);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(40);
            }
            plan = InferencePlan.trace(gpt::forward, Tensor.of(ids, 2, 16));
            float[] out = new float[plan.outputSize()];
            InferencePlan p = plan;
            call = () -> p.run(ids, out);
        } else {
            LeNet net = new LeNet();
            net.eval();
            plan = InferencePlan.trace(net::forward, 1, 1, 32, 32);
            float[] x = new float[1024];
            float[] out = new float[10];
            InferencePlan p = plan;
            call = () -> p.run(x, out);
        }
        System.out.println("heap bytes per call " + InferencePlanTest.steadyStateHeapBytesPerCall(call, 3_000, 500));
        plan.close();
    }
}
