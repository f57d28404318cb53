package dev.lanes.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DistributedSamplerTest {
    @Test
    void everySampleOncePerEpochAndGlobalBatchesAsOneProcessSeesThem() {
        for (int world = 1; world <= 5; world++) {
            DistributedSampler s = new DistributedSampler(1003, 64, world, 7, true);
            DistributedSampler single = new DistributedSampler(1003, 64, 1, 7, true);
            assertThat(s.batchesPerEpoch()).isEqualTo(16);
            assertThat(s.globalBatchSize(15)).isEqualTo(1003 - 15 * 64);
            for (int epoch = 0; epoch < 2; epoch++) {
                int[] perm = s.permutation(epoch);
                int[] seen = new int[1003];
                for (int b = 0; b < s.batchesPerEpoch(); b++) {
                    int[] union = new int[0];
                    for (int r = 0; r < world; r++) {
                        int[] idx = s.indices(perm, b, r);
                        assertThat(idx.length).isBetween(s.globalBatchSize(b) / world, s.globalBatchSize(b) / world + 1);
                        for (int i : idx) {
                            seen[i]++;
                        }
                        int[] u = Arrays.copyOf(union, union.length + idx.length);
                        System.arraycopy(idx, 0, u, union.length, idx.length);
                        union = u;
                    }
                    assertThat(union).containsExactly(single.indices(single.permutation(epoch), b, 0));
                }
                assertThat(seen).containsOnly(1);
            }
        }
        DistributedSampler s = new DistributedSampler(10, 4, 2, 1, true);
        assertThat(s.permutation(0)).isNotEqualTo(s.permutation(1));
        assertThat(new DistributedSampler(5, 2, 3, 0, false).indices(new DistributedSampler(5, 2, 3, 0, false).permutation(0), 2, 0)).isEmpty();
        assertThatThrownBy(() -> new DistributedSampler(0, 4, 2, 1, true)).isInstanceOf(IllegalArgumentException.class);
    }
}
