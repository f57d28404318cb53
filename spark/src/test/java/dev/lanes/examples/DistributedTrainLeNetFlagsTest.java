package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Issue 18: bad cluster flags are one clear error naming the flag (they were a NumberFormatException or an internal record). */
class DistributedTrainLeNetFlagsTest {
    @Test
    void badFlagsNameTheFlag() {
        assertThatThrownBy(() -> DistributedTrainLeNet.parseClusterFlags(new String[] {"--workers", "0"}))
                .isInstanceOf(TrainLeNet.UsageException.class).hasMessage("--workers must be at least 1, got 0");
        assertThatThrownBy(() -> DistributedTrainLeNet.parseClusterFlags(new String[] {"--timeout-s", "abc"}))
                .hasMessage("--timeout-s needs a whole number, got 'abc'");
        assertThatThrownBy(() -> DistributedTrainLeNet.parseClusterFlags(new String[] {"--max-attempts"}))
                .hasMessage("--max-attempts needs a value");
    }

    @Test
    void goodFlagsAndTheRestForTrainLeNet() throws Exception {
        DistributedTrainLeNet.ClusterFlags f = DistributedTrainLeNet.parseClusterFlags(
                new String[] {"--master", "local[3]", "--epochs", "2", "--checkpoint-every", "7"});
        assertThat(f.workers()).isEqualTo(3);
        assertThat(f.every()).isEqualTo(7);
        assertThat(f.rest()).containsExactly("--epochs", "2");
    }

    @Test
    void aTrainLeNetFlagThisTrainerCannotHonourIsRefusedNotIgnored() throws Exception {
        // --plot was parsed and silently ignored: no file appeared
        assertThatThrownBy(() -> DistributedTrainLeNet.parseTrainingFlags(new String[] {"--plot", "curve.png"}))
                .isInstanceOf(TrainLeNet.UsageException.class).hasMessageContaining("--plot is not supported");
        assertThat(DistributedTrainLeNet.parseTrainingFlags(new String[] {"--epochs", "2"}).epochs()).isEqualTo(2);
    }
}
