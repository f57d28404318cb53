/**
 * Lanes: PyTorch's tensors, autograd, {@code torch.nn} and {@code torch.optim} on the CPU in pure Java.
 *
 * <p>On the module path Lanes reads the Vector API itself (no {@code --add-modules} flag); on the class path (the
 * usual case) run the JVM with {@code --add-modules=jdk.incubator.vector}. The pom compiles this file on its own with
 * {@code -source 17 -target 17} (class file 61, the rest of Lanes is 69): the jar and javadoc plugins read the
 * descriptor with the JVM Maven itself runs on, which may be older than 25.
 */
module dev.lanes {
    requires jdk.incubator.vector;
    requires java.net.http;         // dev.lanes.data.Download
    requires java.management;       // the off-heap budget's default
    requires static jdk.management; // com.sun.management: the machine's memory (8 GiB assumed without it)

    exports dev.lanes;
    exports dev.lanes.autograd;
    exports dev.lanes.data;
    exports dev.lanes.io;
    exports dev.lanes.io.onnx;
    exports dev.lanes.memory;
    exports dev.lanes.nn;
    exports dev.lanes.nn.functional;
    exports dev.lanes.nn.utils;
    exports dev.lanes.optim;
    exports dev.lanes.serve;
    exports dev.lanes.train;
    // dev.lanes.kernels is not exported: its API is the engine's, not the user's (the benchmarks and the Spark
    // module use it from the class path, where every package is visible)
}
