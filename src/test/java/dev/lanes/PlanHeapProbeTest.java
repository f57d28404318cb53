package dev.lanes;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The heap probe still fails when a call allocates in every JVM (it runs a second JVM before it fails). */
class PlanHeapProbeTest {
    @Test
    void aCallThatAlwaysAllocatesFailsTheProbe() {
        assertThatThrownBy(() -> PlanHeapProbe.inFreshJvm("allocates"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("two fresh JVMs in a row")
                .hasMessageContaining("PlanHeapProbe");
    }
}
