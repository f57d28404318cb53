package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TileGuard}: when it samples, that three allocating samples in a row (and only those) turn the blocked
 * product's 12-row tiles off, that it measures real heap allocations, and that a product gives the same bits before and
 * after it trips.
 */
class TileGuardTest {
    /**
     * A child JVM that cannot count its threads' allocations (counting turned off before the guard's first sample):
     * prints whether the guard tripped once a sample was due, and whether any sample was taken.
     */
    public static void main(String[] args) {
        ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean()).setThreadAllocatedMemoryEnabled(false);
        boolean sampled = false;
        for (int i = 0; i < 4 * TileGuard.SAMPLE_EVERY; i++) {
            sampled |= TileGuard.begin(TileGuard.CHECK_AFTER_TILES) >= 0;
        }
        System.out.println("guard tripped=" + TileGuard.tripped() + " sampled=" + sampled + " blockRows=" + Sgemm.BLOCK_ROWS);
    }

    @Test
    void withoutAMeterTheFirstSampleTripsTheGuardUnlessTheTilesAreForced() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(TileGuard.AVAILABLE, "no jdk.management here");
        String plain = dev.lanes.ChildJvm.lastLine(TileGuardTest.class, java.util.List.of(), java.util.List.of(), "guard ", 60);
        assertThat(plain).startsWith("tripped=true sampled=false");
        String forced = dev.lanes.ChildJvm.lastLine(TileGuardTest.class, java.util.List.of("-Dlanes.gemmBlockRows=12"), java.util.List.of(), "guard ", 60);
        assertThat(forced).isEqualTo("tripped=false sampled=false blockRows=12");
    }

    @AfterEach
    void freshGuard() {
        TileGuard.reset();
    }

    @Test
    void threeAllocatingSamplesInARowTurnTheTwelveRowTilesOff() {
        TileGuard.reset();
        TileGuard.record(4096); // a new thread's workspace, once
        TileGuard.record(0);
        TileGuard.record(100);
        TileGuard.record(100);
        assertThat(TileGuard.tripped()).as("two strikes, after a clean sample").isFalse();
        TileGuard.record(0);
        for (int i = 0; i < TileGuard.STRIKES - 1; i++) {
            TileGuard.record(64);
        }
        assertThat(TileGuard.tripped()).isFalse();
        TileGuard.record(64);
        assertThat(TileGuard.tripped()).isTrue();
        assertThat(Sgemm.blockRowsFor(1024)).isEqualTo(Sgemm.MR);
        assertThat(Sgemm.blockRowsFor(1024, 12)).as("an explicit height is the caller's").isEqualTo(12);
        TileGuard.reset();
        assertThat(Sgemm.blockRowsFor(1024)).isEqualTo(Sgemm.BLOCK_ROWS);
    }

    @Test
    void itSamplesOneProductInSixteenOnceEnoughTilesHaveRun() {
        TileGuard.reset();
        if (!TileGuard.measurable()) {
            assertThat(TileGuard.begin(1L << 20)).isEqualTo(-1);
            return;
        }
        assertThat(TileGuard.begin(TileGuard.CHECK_AFTER_TILES - 1)).as("before the threshold").isEqualTo(-1);
        int sampled = 0;
        for (int i = 0; i < 4 * TileGuard.SAMPLE_EVERY; i++) {
            long before = TileGuard.begin(1);
            if (before >= 0) {
                sampled++;
                TileGuard.end(before);
            }
        }
        assertThat(sampled).isEqualTo(4);
        assertThat(TileGuard.tripped()).as("nothing allocated between begin and end").isFalse();
    }

    @Test
    void aStrikeRestartsTheTileCount() {
        TileGuard.reset();
        if (!TileGuard.measurable()) {
            return;
        }
        TileGuard.begin(TileGuard.CHECK_AFTER_TILES - 1);
        long before = -1;
        for (int i = 0; before < 0 && i < TileGuard.SAMPLE_EVERY; i++) {
            before = TileGuard.begin(1);
        }
        assertThat(before).isGreaterThanOrEqualTo(0);
        TileGuard.record(64); // one strike
        for (int i = 0; i < 4 * TileGuard.SAMPLE_EVERY; i++) {
            assertThat(TileGuard.begin(1)).as("no sample until as many tiles have run again").isEqualTo(-1);
        }
        assertThat(TileGuard.tripped()).isFalse();
    }

    @Test
    void itSeesTheHeapAllocationsOfASampledProduct() {
        TileGuard.reset();
        if (!TileGuard.measurable()) {
            return; // a runtime without jdk.management or without allocation counting: nothing to see with
        }
        Object[] kept = new Object[TileGuard.STRIKES];
        for (int strike = 0; strike < TileGuard.STRIKES; strike++) {
            long before = -1;
            for (int tries = 0; before < 0 && tries < TileGuard.SAMPLE_EVERY; tries++) {
                before = TileGuard.begin(TileGuard.CHECK_AFTER_TILES); // a strike restarts the tile count
            }
            assertThat(before).as("a sample within %d products", TileGuard.SAMPLE_EVERY).isGreaterThanOrEqualTo(0);
            kept[strike] = new float[256]; // what the Vector API's fallback does on every lane op
            TileGuard.end(before);
        }
        assertThat(kept).doesNotContainNull();
        assertThat(TileGuard.tripped()).isTrue();
    }

    @Test
    void aProductGivesTheSameBitsAfterTheGuardTrips() {
        Lanes.manualSeed(3);
        Tensor a = Tensor.randn(150, 531);
        Tensor b = Tensor.randn(531, 100);
        TileGuard.reset();
        org.junit.jupiter.api.Assumptions.assumeTrue(Sgemm.blockRowsFor(150) == 12, "no 12-row tiles here (16 registers or no jdk.management)");
        float[] before = a.mm(b).toFloatArray();
        for (int i = 0; i < TileGuard.STRIKES; i++) {
            TileGuard.record(1);
        }
        assertThat(TileGuard.tripped()).isTrue();
        float[] after = a.mm(b).toFloatArray();
        for (int i = 0; i < before.length; i++) {
            assertThat(Float.floatToRawIntBits(after[i])).as("element %d", i).isEqualTo(Float.floatToRawIntBits(before[i]));
        }
    }
}
