package dev.lanes;

/**
 * Lanes' kernels are written with the Vector API, an incubator module the JVM loads only when asked. Without it the
 * first tensor op used to die with a bare {@code NoClassDefFoundError: jdk/incubator/vector/Vector}; {@link Tensor}
 * runs this check when it is first used, so the error says what to add, wherever the program is started from.
 */
final class VectorApiCheck {
    static final String HOW_TO = """
            Lanes needs the Vector API incubator module, which the JVM only loads when asked. Add
              --add-modules=jdk.incubator.vector
            to the JVM that runs Lanes (JDK 25 or newer):
              java:            java --add-modules=jdk.incubator.vector -cp ... your.Main
              Maven Surefire:  <argLine>--add-modules=jdk.incubator.vector</argLine>
              Maven exec:      <argument>--add-modules=jdk.incubator.vector</argument> (exec:exec) or MAVEN_OPTS for exec:java
              Gradle:          tasks.withType(JavaExec) { jvmArgs '--add-modules=jdk.incubator.vector' } and the same in test { }
            and --add-modules jdk.incubator.vector to javac as well.""";

    private VectorApiCheck() {
    }

    /** Throws an IllegalStateException with {@link #HOW_TO} when the module is missing from this JVM. */
    static void require() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new IllegalStateException(HOW_TO);
        }
    }
}
