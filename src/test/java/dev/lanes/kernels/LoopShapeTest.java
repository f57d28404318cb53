package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LoopShape}: its reading of the JVM's options agrees with what HotSpot itself reports (the
 * {@code LoopStripMiningIter} and {@code UseCountedLoopSafepoints} flags, through {@code HotSpotDiagnosticMXBean}), in
 * this JVM and in child JVMs started with each collector and with the options that change strip mining. That both
 * shapes give the same bits is GemmTilesTest's.
 */
class LoopShapeTest {
    /** Child JVMs: "decided X actual Y" on the last line. */
    public static void main(String[] args) {
        System.out.println("decided " + LoopShape.STRIP_MINED + " actual " + stripMiningOn());
    }

    /** What HotSpot says: counted loops keep safepoint polls and are strip-mined. */
    static boolean stripMiningOn() {
        var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        return Boolean.parseBoolean(bean.getVMOption("UseCountedLoopSafepoints").getValue())
                && Long.parseLong(bean.getVMOption("LoopStripMiningIter").getValue()) > 0;
    }

    @Test
    void thisJvmsShapeMatchesHotSpot() {
        if (System.getProperty("lanes.gemmLoopShape", "").isBlank()) {
            assertThat(LoopShape.STRIP_MINED).as("strip mining in this JVM (its options: %s)", ManagementFactory.getRuntimeMXBean().getInputArguments())
                    .isEqualTo(stripMiningOn());
        }
    }

    @Test
    void childJvmsOfEveryCollectorAgreeWithHotSpot() throws Exception {
        List<List<String>> cases = List.of(List.of(), List.of("-XX:+UseParallelGC"), List.of("-XX:+UseSerialGC"), List.of("-XX:+UseZGC"),
                List.of("-XX:ActiveProcessorCount=1"), // the JVM's own choice on one processor: Serial
                List.of("-XX:-UseCountedLoopSafepoints"), List.of("-XX:+UseParallelGC", "-XX:+UseCountedLoopSafepoints"),
                List.of("-XX:LoopStripMiningIter=0"), List.of("-XX:+UseParallelGC", "-XX:LoopStripMiningIter=100"),
                List.of("-XX:+UseSerialGC", "-XX:+UseCountedLoopSafepoints", "-XX:LoopStripMiningIter=0"),
                List.of("-XX:+UnlockExperimentalVMOptions", "-XX:+UseEpsilonGC"));
        for (List<String> flags : cases) {
            List<String> all = new ArrayList<>(flags);
            all.add("-Dlanes.gemmLoopShape="); // this suite's own setting, if any, must not reach the child
            String line = dev.lanes.ChildJvm.lastLine(LoopShapeTest.class, all, List.of(), "decided ", 60);
            String[] w = line.trim().split(" "); // "<decided> actual <actual>": lastLine drops the prefix
            assertThat(w[0]).as("LoopShape's reading of %s (HotSpot: %s)", flags, w[2]).isEqualTo(w[2]);
        }
    }

    @Test
    void optionsAreReadAsHotSpotReadsThem() {
        assertThat(LoopShape.stripMiningFrom("", 2)).isTrue();
        assertThat(LoopShape.stripMiningFrom("", 1)).isFalse(); // Serial
        assertThat(LoopShape.stripMiningFrom("java -XX:+UseParallelGC -cp x Main", 8)).isFalse();
        assertThat(LoopShape.stripMiningFrom("-XX:+UseParallelGC -XX:+UseZGC", 8)).isTrue(); // (HotSpot refuses two collectors)
        assertThat(LoopShape.stripMiningFrom("-XX:+UseG1GC -XX:LoopStripMiningIter=0", 8)).isTrue(); // HotSpot makes it 1
        assertThat(LoopShape.stripMiningFrom("-XX:+UseSerialGC -XX:+UseCountedLoopSafepoints", 8)).isTrue();
        assertThat(LoopShape.stripMiningFrom("\t-XX:+UseG1GC\n -XX:-UseCountedLoopSafepoints ", 8)).isFalse();
    }

    /** The kernels' option: only its two values, else a clear refusal (in a child JVM: the choice is made once). */
    @Test
    void aForcedShapeIsTakenAndABadOneRefused() throws Exception {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.lanes.ChildJvm.output(LoopShapeTest.class, List.of("-Dlanes.gemmLoopShape=sideways"),
                List.of(), 60)).hasMessageContaining("lanes.gemmLoopShape must be strip-mined or strips, got sideways");
        String line = dev.lanes.ChildJvm.lastLine(LoopShapeTest.class, List.of("-XX:+UseG1GC", "-Dlanes.gemmLoopShape=strips"), List.of(), "decided ", 60);
        assertThat(line.trim()).isEqualTo("false actual true");
        assertThat(Path.of("/proc/self/cmdline")).as("Linux: the options are read from /proc").exists();
    }
}
