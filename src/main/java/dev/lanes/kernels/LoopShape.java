package dev.lanes.kernels;

import java.lang.management.ManagementFactory;

/**
 * Which loop shape C2 compiles the 16-register GEMM kernel ({@code Sgemm.kernel6x2Packed}) into without spilling.
 *
 * <p>Why: that kernel keeps 12 accumulators, 2 B vectors and the A broadcasts in exactly 16 registers, and whether
 * C2's register allocator manages depends on the collector: with G1, ZGC or Shenandoah C2 strip-mines counted loops
 * ({@code -XX:LoopStripMiningIter=1000}: an outer loop holding the safepoint poll around the counted loop), with the
 * Parallel or Serial collector it does not ({@code LoopStripMiningIter=0}). The plain loop compiles spill-free when
 * strip-mined and keeps one accumulator on the stack (a load, an FMA and a store through memory every step) when not;
 * written as strips by hand it is the other way round. Measured (AMD EPYC Zen 3, 256 bits, one thread): the plain loop
 * under {@code -XX:+UseParallelGC} ran at half the speed (the kernel alone 22 against 45 GFLOP/s on a loaded machine;
 * LeNet's batch-64 ONNX plan 2.05 against 1.35 ms, every GEMM-based step slower); JDK 25's disassembly shows the stack
 * slot in the loop. Six other shapes of the loop spilled under one collector or both. Both shapes give the same bits:
 * the same FMAs in the same order.
 *
 * <p>How: the JVM's {@code LoopStripMiningIter} is read through {@code HotSpotDiagnosticMXBean}, which costs 15-90 ms
 * of class loading, so not on the caller's thread: a daemon thread reads it a second after this class is first used
 * (cold starts keep their time; a JVM without strip mining runs the plain loop until then, and C2 recompiles the
 * kernel once when the answer changes the shape). Without {@code jdk.management} (a trimmed runtime) the plain loop
 * stays, G1's default. {@code -Dlanes.gemmLoopShape=strip-mined} or {@code =strips} picks one for measurements and tests.
 */
final class LoopShape {
    private LoopShape() {
    }

    /**
     * Whether C2 strip-mines counted loops here: the kernel then runs its plain loop. A plain static written once by
     * the checking thread: a caller that reads the old value runs the other shape, which gives the same bits.
     */
    static boolean stripMined = true;

    static {
        String forced = System.getProperty("lanes.gemmLoopShape", "").trim();
        switch (forced) {
            case "strip-mined" -> stripMined = true;
            case "strips" -> stripMined = false;
            case "" -> {
                if (ModuleLayer.boot().findModule("jdk.management").isPresent()) {
                    Thread.ofPlatform().daemon().name("lanes-loop-shape").start(LoopShape::check);
                }
            }
            default -> throw new IllegalArgumentException("lanes.gemmLoopShape must be strip-mined or strips, got " + forced);
        }
    }

    private static void check() {
        try {
            Thread.sleep(1_000);
            stripMined = stripMiningOn();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | LinkageError e) {
            // unreadable: keep the plain loop, the default collector's shape
        }
    }

    /** The JVM's LoopStripMiningIter is above 0. */
    static boolean stripMiningOn() {
        var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        return Long.parseLong(bean.getVMOption("LoopStripMiningIter").getValue()) > 0;
    }
}
