package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.AdamW;
import dev.lanes.optim.Optimizer;
import dev.lanes.optim.SGD;
import dev.lanes.train.TrainStep;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs training steps of one model and prints, every 1,000 steps, the process's resident memory (VmRSS), the JVM heap
 * in use, the off-heap pool, and the Java heap the last steps allocated per step (all threads): all must stay flat
 * once warm (issue 17: RSS flat over 10,000 compiled steps). Models as ModelTrainBench runs them: {@code lenet}
 * (batch 64, SGD momentum), {@code mlp} (784-1024-1024-10, batch 256, SGD momentum), {@code resnet20} (batch 128,
 * SGD nesterov + weight decay), {@code gpt} (CharGPT 4 x 128, batch 32 x 64, AdamW, clipped to 1.0). The step is
 * compiled ({@link TrainStep}) unless {@code --eager}.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.MemorySoak -Dlanes.args="10000 --model lenet"</pre>
 */
public final class MemorySoak {
    private MemorySoak() {
    }

    public static void main(String[] args) throws IOException {
        int steps = 10_000;
        String model = "lenet";
        boolean eager = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--eager")) {
                eager = true;
            } else if (args[i].equals("--model") && i + 1 < args.length && args[i + 1].matches("lenet|mlp|resnet20|gpt")) {
                model = args[++i];
            } else if (args[i].matches("[1-9]\\d{0,8}")) {
                steps = Integer.parseInt(args[i]);
            } else {
                System.err.println("error: unexpected argument " + args[i]);
                System.err.println("usage: MemorySoak [STEPS (1..999999999)] [--model lenet|mlp|resnet20|gpt] [--eager]");
                System.exit(2);
            }
        }
        Lanes.manualSeed(0);
        Module net;
        Optimizer opt;
        Tensor x;
        Tensor y;
        boolean gpt = model.equals("gpt");
        switch (model) {
            case "mlp" -> {
                net = new Sequential(new Linear(784, 1024), new ReLU(), new Linear(1024, 1024), new ReLU(), new Linear(1024, 10));
                opt = new SGD(net.parameters(), 0.01, 0.9);
                x = Tensor.randn(256, 784);
                y = Tensor.randint(0, 10, 256);
            }
            case "resnet20" -> {
                net = new ResNet20(3, 10);
                opt = new SGD(net.parameters(), 0.1, 0.9, 0, 5e-4, true);
                x = Tensor.randn(128, 3, 32, 32);
                y = Tensor.randint(0, 10, 128);
            }
            case "gpt" -> {
                net = new CharGPT(new CharGPT.Config(65, 64, 128, 4, 4, 0.0, false));
                opt = new AdamW(net.parameters(), 1e-3, 0.9, 0.95, 1e-8, 0.1, false);
                x = Tensor.randint(0, 65, 32, 64);
                y = Tensor.randint(0, 65, 32 * 64);
            }
            default -> {
                net = new LeNet();
                opt = new SGD(net.parameters(), 0.01, 0.9);
                x = Tensor.randn(64, 1, 32, 32);
                y = Tensor.randint(0, 10, 64);
            }
        }
        CrossEntropyLoss ce = new CrossEntropyLoss();
        Module m = net;
        TrainStep compiled = eager ? null : gpt
                ? TrainStep.compile(m::forward, (out, t) -> F.crossEntropy(out.reshape(-1, 65), t), opt).clipGradNorm(1.0)
                : TrainStep.compile(net, ce, opt);
        MemoryPool pool = MemoryPool.global();
        System.out.println("model " + model + (eager ? " (eager)" : " (compiled)") + ", " + steps + " steps");
        System.out.println("step    rss_MB  heap_used_MB  offheap_in_use_MB  offheap_reserved_MB  system_allocations  heap_B_per_step  loss");
        long allocated = allocatedBytes();
        int lastStep = 0;
        for (int step = 1; step <= steps; step++) {
            float loss;
            if (compiled != null) {
                loss = compiled.run(x, y);
            } else {
                try (MemoryScope s = MemoryScope.open()) {
                    opt.zeroGrad();
                    Tensor out = net.forward(x);
                    Tensor l = gpt ? F.crossEntropy(out.reshape(-1, 65), y) : ce.forward(out, y);
                    l.backward();
                    if (gpt) {
                        dev.lanes.nn.utils.ClipGrad.clipGradNorm_(net.parameters(), 1.0);
                    }
                    opt.step();
                    loss = l.item();
                }
            }
            if (step % 1000 == 0 || step == 1) {
                long now = allocatedBytes();
                long perStep = (now - allocated) / (step - lastStep);
                allocated = now;
                lastStep = step;
                Runtime rt = Runtime.getRuntime();
                System.out.printf("%6d %8.1f %12.1f %18.2f %20.2f %19d %16d  %.4f%n", step, rssMb(), (rt.totalMemory() - rt.freeMemory()) / 1e6,
                        pool.bytesInUse() / 1e6, pool.bytesReserved() / 1e6, pool.systemAllocations(), perStep, loss);
            }
        }
    }

    /** Java heap allocated so far by all threads (-1 where the JVM cannot say). */
    private static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx) {
            return mx.getTotalThreadAllocatedBytes();
        }
        return -1;
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
