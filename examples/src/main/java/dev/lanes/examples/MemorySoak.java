package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.optim.SGD;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs LeNet training steps (batch 64) and prints the process's resident memory (VmRSS), the JVM heap in use and
 * the off-heap pool every 1,000 steps: all three must stay flat once warm.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.MemorySoak -Dlanes.args="10000"</pre>
 */
public final class MemorySoak {
    private MemorySoak() {
    }

    public static void main(String[] args) throws IOException {
        int steps = 10_000;
        if (args.length > 1 || (args.length == 1 && !args[0].matches("[1-9]\\d{0,8}"))) {
            System.err.println("error: expected one argument, the number of training steps (1..999999999), got " + String.join(" ", args));
            System.err.println("usage: MemorySoak [STEPS]");
            System.exit(2);
        }
        if (args.length == 1) {
            steps = Integer.parseInt(args[0]);
        }
        Lanes.manualSeed(0);
        LeNet net = new LeNet();
        SGD opt = new SGD(net.parameters(), 0.01, 0.9);
        CrossEntropyLoss ce = new CrossEntropyLoss();
        Tensor x = Tensor.randn(64, 1, 32, 32);
        Tensor y = Tensor.randint(0, 10, 64);
        MemoryPool pool = MemoryPool.global();
        System.out.println("step    rss_MB  heap_used_MB  offheap_in_use_MB  offheap_reserved_MB  system_allocations  loss");
        for (int step = 1; step <= steps; step++) {
            float loss;
            try (MemoryScope s = MemoryScope.open()) {
                opt.zeroGrad();
                Tensor l = ce.forward(net.forward(x), y);
                l.backward();
                opt.step();
                loss = l.item();
            }
            if (step % 1000 == 0 || step == 1) {
                Runtime rt = Runtime.getRuntime();
                System.out.printf("%6d %8.1f %12.1f %18.2f %20.2f %19d  %.4f%n", step, rssMb(), (rt.totalMemory() - rt.freeMemory()) / 1e6,
                        pool.bytesInUse() / 1e6, pool.bytesReserved() / 1e6, pool.systemAllocations(), loss);
            }
        }
    }

    private static double rssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return Double.NaN;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
