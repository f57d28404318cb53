package dev.lanes.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * Times training steps outside JMH, for A/B comparisons on noisy machines: the step of {@link LeNetTrainBench}
 * ({@code lenet}) or {@link ModelTrainBench} ({@code mlp}, {@code resnet20}, {@code gpt}), set up exactly as there,
 * then {@code blocks} blocks of {@code steps} steps after a warm-up; prints the median and the best block of the
 * calling thread's CPU time per step (ThreadMXBean; what the other threads of a parallel step do is not in it) and
 * of the wall time. On a shared VM the wall time swings 20-40% from minute to minute while the calling thread's CPU
 * time of a one-thread step moves far less: compare one-thread runs by CPU time, two-thread runs by wall time, and
 * alternate the builds you compare ({@code bench/step-timer} does that).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar dev.lanes.bench.StepTimer lenet 64 1 compiled</pre>
 */
public final class StepTimer {
    private StepTimer() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: StepTimer lenet|mlp|resnet20|gpt BATCH(lenet only; others: -) THREADS [eager|compiled] [warmupSteps] [blocks] [stepsPerBlock]");
            System.exit(2);
        }
        String model = args[0];
        int threads = Integer.parseInt(args[2]);
        String mode = args.length > 3 ? args[3] : "compiled";
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : model.equals("lenet") ? 600 : 30;
        int blocks = args.length > 5 ? Integer.parseInt(args[5]) : 15;
        int steps = args.length > 6 ? Integer.parseInt(args[6]) : model.equals("lenet") ? 50 : 5;
        if (!mode.equals("eager") && !mode.equals("compiled")) {
            throw new IllegalArgumentException("mode must be eager or compiled, got " + mode);
        }
        if (warmup < 0 || blocks < 1 || steps < 1) {
            throw new IllegalArgumentException("warm-up >= 0, blocks >= 1 and steps >= 1, got " + warmup + ", " + blocks + ", " + steps);
        }
        Runnable step;
        long samples;
        if (model.equals("lenet")) {
            LeNetTrainBench b = new LeNetTrainBench();
            b.batch = Integer.parseInt(args[1]);
            b.threads = threads;
            b.mode = mode;
            b.setup();
            LeNetTrainBench.Images counter = new LeNetTrainBench.Images();
            step = () -> b.step(counter);
            samples = b.batch;
        } else {
            ModelTrainBench b = new ModelTrainBench();
            b.model = model;
            b.threads = threads;
            b.mode = mode;
            b.setup();
            ModelTrainBench.Samples counter = new ModelTrainBench.Samples();
            step = () -> b.step(counter);
            b.step(counter);
            samples = counter.samplesPerSec; // one step's samples
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < warmup; i++) {
            step.run();
        }
        double[] cpu = new double[blocks];
        double[] wall = new double[blocks];
        for (int b = 0; b < blocks; b++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long w0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                step.run();
            }
            cpu[b] = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / steps;
            wall[b] = (System.nanoTime() - w0) / 1e3 / steps;
        }
        Arrays.sort(cpu);
        Arrays.sort(wall);
        double cpuMedian = cpu[blocks / 2];
        double wallMedian = wall[blocks / 2];
        System.out.printf(Locale.ROOT, "%s threads=%d %s: cpu us/step median %.0f best %.0f -> %.0f samples/s; wall us/step median %.0f best %.0f -> %.0f samples/s%n",
                model, threads, mode, cpuMedian, cpu[0], samples * 1e6 / cpuMedian, wallMedian, wall[0], samples * 1e6 / wallMedian);
    }
}
