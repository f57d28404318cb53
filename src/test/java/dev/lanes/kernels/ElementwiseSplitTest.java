package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How the contiguous element-wise passes split a row across threads. */
class ElementwiseSplitTest {
    @Test
    void theUnitCountOfARowNearTwoToThe31IsPositive() {
        // n + 63 wrapped negative in int from 2^31 - 63 floats: every parallel part then wrote nothing (with 2 threads
        // x.neg() of such a tensor returned the output's old bytes)
        assertThat(Elementwise.units(Integer.MAX_VALUE)).isEqualTo(33_554_432);
        assertThat(Elementwise.units(Integer.MAX_VALUE - 62)).isEqualTo(33_554_432);
        assertThat(Elementwise.units(Integer.MAX_VALUE - 64)).isEqualTo(33_554_431);
        assertThat(Elementwise.units(64)).isEqualTo(1);
        assertThat(Elementwise.units(65)).isEqualTo(2);
    }
}
