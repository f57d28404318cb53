package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Issue 19: the core is a named module that reads the Vector API itself and exports the user's packages only. */
class ModuleDescriptorTest {
    @Test
    void exportsTheUsersPackagesAndRequiresTheVectorApi() {
        ModuleDescriptor d = ModuleFinder.of(Path.of("target", "classes")).find("dev.lanes").orElseThrow().descriptor();
        assertThat(d.requires().stream().map(ModuleDescriptor.Requires::name)).contains("jdk.incubator.vector");
        assertThat(d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .contains("dev.lanes", "dev.lanes.nn", "dev.lanes.nn.functional", "dev.lanes.optim", "dev.lanes.data", "dev.lanes.io",
                        "dev.lanes.serve", "dev.lanes.autograd", "dev.lanes.memory", "dev.lanes.io.onnx", "dev.lanes.nn.utils", "dev.lanes.train")
                .doesNotContain("dev.lanes.kernels");
    }

    /**
     * The descriptor is class file 61 (Java 17), not 69 like the rest: the jar and javadoc plugins parse it with the JVM
     * Maven runs on, and `./mvnw install` failed on Java 17 when it was 69 (the pom compiles it on its own).
     */
    @Test
    void theDescriptorIsReadableByTheJvmMavenMayRunOn() throws Exception {
        byte[] b = Files.readAllBytes(Path.of("target", "classes", "module-info.class"));
        int major = ((b[6] & 0xff) << 8) | (b[7] & 0xff);
        assertThat(major).as("module-info.class major version").isEqualTo(61);
        byte[] tensor = Files.readAllBytes(Path.of("target", "classes", "dev", "lanes", "Tensor.class"));
        assertThat(((tensor[6] & 0xff) << 8) | (tensor[7] & 0xff)).as("Tensor.class major version").isEqualTo(69);
    }

    /** On the module path Lanes needs no --add-modules flag: the module requires the Vector API. */
    @Test
    void runsFromTheModulePathWithoutTheFlag() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--module-path",
                Path.of("target", "classes").toString(), "--add-modules", "dev.lanes", "-cp", Path.of("target", "test-classes").toString(),
                "modsmoke.ModuleSmoke");
        Path log = Files.createTempFile("lanes-module", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String out = Files.readString(log);
            assertThat(out).as("output").contains("module dev.lanes: 6.0");
            assertThat(p.exitValue()).isZero();
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
