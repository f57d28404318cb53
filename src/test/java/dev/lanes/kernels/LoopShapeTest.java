package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * {@link LoopShape}: the JVM's strip mining is read right for the collector in use, and the checking thread leaves the
 * kernel's shape to match it (the test JVMs run the Parallel collector: no strip mining). That both shapes give the
 * same bits is GemmTilesTest's.
 */
class LoopShapeTest {
    @Test
    void theShapeFollowsTheCollector() throws Exception {
        boolean parallelOrSerial = false;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            // Parallel: "PS Scavenge" / "PS MarkSweep"; Serial: "Copy" / "MarkSweepCompact"
            parallelOrSerial |= gc.getName().startsWith("PS ") || gc.getName().equals("Copy") || gc.getName().equals("MarkSweepCompact");
        }
        assertThat(LoopShape.stripMiningOn()).as("strip mining with this JVM's collector").isEqualTo(!parallelOrSerial);
        Sgemm.sgemm(false, false, 7, 16, 3, 1f, java.lang.foreign.MemorySegment.ofArray(new float[21]), 0, 3,
                java.lang.foreign.MemorySegment.ofArray(new float[48]), 0, 16, 0f, java.lang.foreign.MemorySegment.ofArray(new float[112]), 0, 16,
                Sgemm.Epilogue.NONE); // LoopShape in use
        String forced = System.getProperty("lanes.gemmLoopShape", "").trim();
        boolean expected = forced.isEmpty() ? !parallelOrSerial : forced.equals("strip-mined");
        long deadline = System.nanoTime() + 20_000_000_000L; // the check runs a second after first use
        while (LoopShape.stripMined != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(LoopShape.stripMined).as("the kernel's loop shape, a while after first use").isEqualTo(expected);
    }
}
