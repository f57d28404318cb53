package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The tiled attention kernel's corners that the op layer cannot reach with chosen memory contents. */
class AttentionKernelTest {
    private static MemorySegment filled(long floats, float value) {
        MemorySegment m = Arena.ofAuto().allocate(Math.max(4, 4 * floats), 64);
        for (long i = 0; i < floats; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
        }
        return m;
    }

    @Test
    void theBackwardOverValuesOfNoFeaturesGivesZeroGradientsWhateverTheLogSumExpBufferHeld() {
        // the forward returns before writing lse when ev == 0 (PyTorch: q.grad and k.grad all 0); a backward that read
        // the buffer scored P = exp(s - NaN) and dq = dS K turned NaN
        int b = 1;
        int l = 3;
        int s = 5;
        int e = 4;
        MemorySegment q = filled((long) b * l * e, 0.5f);
        MemorySegment k = filled((long) b * s * e, -0.25f);
        MemorySegment v = filled(0, 0f);
        MemorySegment out = filled(0, 0f);
        MemorySegment dOut = filled(0, 0f);
        MemorySegment lse = filled((long) b * l, Float.NaN); // a pooled block's old bits
        MemorySegment dq = filled((long) b * l * e, Float.NaN);
        MemorySegment dk = filled((long) b * s * e, Float.NaN);
        MemorySegment dv = filled(0, Float.NaN);
        Attention.backward(q, 0, k, 0, v, 0, out, 0, lse, 0, dOut, 0, b, l, s, e, 0, 0.5f, false, null, dq, 0, dk, 0, dv, 0);
        for (long i = 0; i < (long) b * l * e; i++) {
            assertThat(dq.getAtIndex(ValueLayout.JAVA_FLOAT, i)).as("dq[%d]", i).isEqualTo(0f);
        }
        for (long i = 0; i < (long) b * s * e; i++) {
            assertThat(dk.getAtIndex(ValueLayout.JAVA_FLOAT, i)).as("dk[%d]", i).isEqualTo(0f);
        }
    }
}
