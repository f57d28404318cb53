/**
 * Lanes: PyTorch's tensors, autograd, {@code torch.nn} and {@code torch.optim} on the CPU in pure Java. On the module
 * path it reads the Vector API itself; on the class path (the usual case) run the JVM with
 * {@code --add-modules=jdk.incubator.vector}.
 */
module dev.lanes {
    requires jdk.incubator.vector;
    requires java.net.http;    // dev.lanes.data.Download
    requires static jdk.management; // the off-heap budget's default: the machine's memory (com.sun.management; 8 GiB assumed without it)
    requires java.management;

    exports dev.lanes;
    exports dev.lanes.autograd;
    exports dev.lanes.memory;
    exports dev.lanes.nn;
    exports dev.lanes.nn.functional;
    exports dev.lanes.optim;
    exports dev.lanes.data;
    exports dev.lanes.io;
    exports dev.lanes.serve;
    // dev.lanes.kernels is not exported: its API is the engine's, not the user's (benchmarks and the Spark module
    // use it from the class path)
}
