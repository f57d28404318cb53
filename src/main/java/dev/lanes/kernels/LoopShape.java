package dev.lanes.kernels;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which loop shape C2 compiles the 16-register GEMM kernel ({@code Sgemm.kernel6x2Packed}) into without spilling.
 *
 * <p>Why: that kernel keeps 12 accumulators, 2 B vectors and the A broadcasts in exactly 16 registers, and whether
 * C2's register allocator manages depends on the collector: with G1, ZGC or Shenandoah C2 strip-mines counted loops
 * ({@code -XX:LoopStripMiningIter=1000}: an outer loop holding the safepoint poll around the counted loop), with the
 * Parallel or Serial collector it does not ({@code LoopStripMiningIter=0}; Epsilon strip-mines, as G1). The plain loop compiles
 * spill-free when strip-mined and keeps one accumulator on the stack (a load, an FMA and a store through memory every
 * step) when not; written as strips by hand it is the other way round. Measured (AMD EPYC Zen 3, 256 bits, one
 * thread): the plain loop under {@code -XX:+UseParallelGC} ran at half the speed (the kernel alone 22 against 45
 * GFLOP/s on a loaded machine; LeNet's batch-64 ONNX plan 2.05 against 1.35 ms, every GEMM-based step slower); JDK 25's
 * disassembly shows the stack slot in the loop. Six other shapes of the loop spilled under one collector or both.
 * Both shapes give the same bits: the same FMAs in the same order.
 *
 * <p>How: decided once, when the kernels are first used, from the JVM's options (its command line, read from
 * {@code /proc/self/cmdline}, and the {@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS} and {@code _JAVA_OPTIONS}
 * variables: the last collector named wins, an explicit {@code UseCountedLoopSafepoints}
 * overrides it) and, with no collector named, the JVM's own choice: Serial on one processor, G1 otherwise. Not through
 * {@code HotSpotDiagnosticMXBean}, which answers exactly but costs 15-90 ms of class loading on a cold start (this
 * costs ~1 ms); and not later, from a background thread: the kernel that turns hot a second into the run was then
 * compiled by C2 without a profile in 2 of 3 JVMs, boxing its vectors (2.8 MB of heap a LeNet training step). A JVM
 * the options mislead (no {@code /proc}, a machine under 1,792 MB where the JVM picks Serial by itself, a program
 * argument spelled like a collector option: the whole command line is read) runs the other shape: slower, the same
 * bits. {@code -Dlanes.gemmLoopShape=strip-mined} or {@code =strips} picks one.
 */
final class LoopShape {
    private LoopShape() {
    }

    /** Whether C2 strip-mines counted loops here: the kernel then runs its plain loop. */
    static final boolean STRIP_MINED = decide();

    private static boolean decide() {
        String forced = System.getProperty("lanes.gemmLoopShape", "").trim();
        switch (forced) {
            case "strip-mined":
                return true;
            case "strips":
                return false;
            case "":
                break;
            default:
                throw new IllegalArgumentException("lanes.gemmLoopShape must be strip-mined or strips, got " + forced);
        }
        StringBuilder options = new StringBuilder();
        for (String variable : new String[] {"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"}) { // in the order HotSpot reads them
            options.append(' ').append(System.getenv().getOrDefault(variable, ""));
        }
        try {
            // NUL-separated; the launcher's own copy of JDK_JAVA_OPTIONS is not in it (read above)
            options.append(' ').append(new String(Files.readAllBytes(Path.of("/proc/self/cmdline")), java.nio.charset.StandardCharsets.UTF_8)
                    .replace('\0', ' '));
        } catch (java.io.IOException | RuntimeException e) {
            // no /proc (not Linux): the variables alone
        }
        options.append(' ').append(System.getenv().getOrDefault("_JAVA_OPTIONS", "")); // read last by HotSpot
        return stripMiningFrom(options.toString(), Runtime.getRuntime().availableProcessors());
    }

    /**
     * Whether a JVM started with these options strip-mines counted loops: HotSpot does where counted loops keep their
     * safepoint polls ({@code UseCountedLoopSafepoints}: on by default with G1, ZGC, Shenandoah and Epsilon, off with
     * Parallel and Serial, the JVM's own choice on one processor), whatever {@code LoopStripMiningIter} says (JDK 25's
     * -XX:+PrintFlagsFinal: an explicit 0 becomes 1 with the polls, anything stays 0 without them). The last option
     * of each kind wins, as in HotSpot.
     */
    static boolean stripMiningFrom(String options, int processors) {
        Boolean byCollector = null;
        Boolean safepoints = null;
        for (String o : options.trim().split("\\s+")) {
            switch (o) {
                case "-XX:+UseG1GC", "-XX:+UseZGC", "-XX:+UseShenandoahGC", "-XX:+UseEpsilonGC" -> byCollector = true;
                case "-XX:+UseParallelGC", "-XX:+UseSerialGC" -> byCollector = false;
                case "-XX:+UseCountedLoopSafepoints" -> safepoints = true;
                case "-XX:-UseCountedLoopSafepoints" -> safepoints = false;
                default -> {
                }
            }
        }
        return safepoints != null ? safepoints : byCollector != null ? byCollector : processors >= 2;
    }
}
