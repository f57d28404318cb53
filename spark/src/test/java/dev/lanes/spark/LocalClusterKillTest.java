package dev.lanes.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.examples.LeNet;
import dev.lanes.optim.SGD;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real executor death: Spark's {@code local-cluster[2,1,1024]} runs two executor JVMs; rank 1's JVM halts in the
 * middle of the first epoch. The barrier stage fails, the standalone worker starts a new executor, and the trainer
 * resumes from the checkpoint to the same parameters as an uninterrupted run.
 */
class LocalClusterKillTest {
    @Test
    @Timeout(value = 150, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aKilledExecutorJvmIsSurvivedFromTheCheckpoint(@TempDir Path sparkHome, @TempDir Path clean, @TempDir Path killed) throws Exception {
        String javaHome = System.getenv("JAVA_HOME");
        Assumptions.assumeTrue(javaHome != null && Files.isRegularFile(Path.of(javaHome, "release"))
                        && Files.readString(Path.of(javaHome, "release")).matches("(?s).*JAVA_VERSION=\"(2[5-9]|[3-9]\\d).*"),
                "Spark launches executors with $JAVA_HOME/bin/java: set JAVA_HOME to a JDK 25 (.ci/run does)");
        Files.createDirectories(sparkHome.resolve("jars"));
        Files.createDirectories(sparkHome.resolve("launcher/target/scala-2.13"));
        String flags = System.getProperty("lanes.test.jvmFlags", "");
        // the standalone worker inside the driver reads these as system properties, not from the SparkConf
        System.setProperty("spark.testing", "true");
        System.setProperty("spark.test.home", sparkHome.toString());
        SparkConf conf = new SparkConf().setMaster("local-cluster[2,1,1024]").setAppName("lanes-kill-test")
                .set("spark.testing", "true").set("spark.test.home", sparkHome.toString())
                .set("spark.ui.enabled", "false").set("spark.serializer.extraDebugInfo", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", flags);
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("ERROR");
            DistributedTrainer.Result reference = trainer(clean, null).fit(sc);
            DistributedTrainer.Result r = trainer(killed, new DistributedTrainer.Fault(1, 3, DistributedTrainer.Fault.Kind.EXIT)).fit(sc);
            assertThat(r.attempts()).isGreaterThanOrEqualTo(2);
            assertThat(r.log().get(0)).contains("attempt 1 failed");
            assertThat(r.rank0().resumedFrom()).isEqualTo(2);
            assertThat(r.rank0().parameterHash()).as("bit-identical to the run without the kill").isEqualTo(reference.rank0().parameterHash());
        } finally {
            System.clearProperty("spark.testing");
            System.clearProperty("spark.test.home");
        }
    }

    private static DistributedTrainer trainer(Path dir, DistributedTrainer.Fault fault) {
        DistributedTrainer.Config c = new DistributedTrainer.Config(2, 1, 40, 5, 1, dir.toString(), 2, 4, Duration.ofSeconds(10), fault);
        return new DistributedTrainer(LeNet::new, params -> new SGD(params, 0.05, 0.9), () -> new DistributedTrainerTest.Synthetic(200, 9), c);
    }
}
