package dev.lanes;

import java.util.SplittableRandom;

/**
 * Engine-wide settings: the random generator behind {@code randn}/{@code rand}/{@code randint}, and the number
 * of threads kernels use ({@code torch.set_num_threads}).
 */
public final class Lanes {
    private static SplittableRandom generator = new SplittableRandom(seedFromProperty());

    private Lanes() {
    }

    /** Seeds the global generator, like {@code torch.manual_seed}: the same seed gives the same tensors. */
    public static synchronized void manualSeed(long seed) {
        generator = new SplittableRandom(seed);
    }

    /**
     * A new generator split off the global one (advancing it), so the same {@link #manualSeed} gives the same
     * stream: what random data transforms draw from when no generator is passed in (a sample read without a
     * {@code DataLoader}), like torchvision's transforms drawing from torch's default generator.
     */
    public static synchronized SplittableRandom splitGenerator() {
        return generator.split();
    }

    /**
     * One draw of the global generator: the seed of a counter-based mask (dropout), drawn by the kernel's step on
     * every run, so an eager step and a compiled one draw alike.
     */
    static long nextSeed() {
        SplittableRandom capturing = CAPTURE_SEEDS.get();
        if (capturing != null) {
            return capturing.nextLong();
        }
        synchronized (Lanes.class) {
            return generator.nextLong();
        }
    }

    /** While a training step is captured (and checked), its dropout seeds come from here: capturing draws nothing. */
    private static final ThreadLocal<SplittableRandom> CAPTURE_SEEDS = new ThreadLocal<>();

    /** Seeds on this thread come from a private generator seeded with {@code seed} (again from its start on each call). */
    static void captureSeeds(long seed) {
        CAPTURE_SEEDS.set(new SplittableRandom(seed));
    }

    /** Seeds on this thread come from the global generator again. */
    static void endCaptureSeeds() {
        CAPTURE_SEEDS.remove();
    }

    /**
     * Threads the kernels may use, the calling thread included, like {@code torch.set_num_threads}. Default: the
     * available processors. Results do not depend on it. Set it at start-up, not while kernels run.
     */
    public static void setNumThreads(int n) {
        dev.lanes.kernels.Parallel.setThreads(n);
    }

    public static int numThreads() {
        return dev.lanes.kernels.Parallel.threads();
    }

    /**
     * The generator random tensors draw from: the global one, or, while a training step is captured on this thread,
     * the capture's private one (a randn inside a captured forward, which the capture then refuses, advanced the global
     * generator, so the eager fallback ran on a shifted stream).
     */
    private static java.util.random.RandomGenerator drawing() {
        SplittableRandom capture = CAPTURE_SEEDS.get();
        return capture != null ? capture : generator;
    }

    static synchronized void fillNormal(float[] out, double mean, double std) {
        java.util.random.RandomGenerator g = drawing();
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) g.nextGaussian(mean, std);
        }
    }

    static synchronized void fillUniform(float[] out, double low, double high) {
        java.util.random.RandomGenerator g = drawing();
        for (int i = 0; i < out.length; i++) {
            float v;
            do { // float rounding of a double just below `high` can land on `high`; keep [low, high)
                v = (float) (low + (high - low) * g.nextDouble());
            } while (v >= high && high > low);
            out[i] = v;
        }
    }

    static synchronized void fillInts(long[] out, long low, long high) {
        java.util.random.RandomGenerator g = drawing();
        for (int i = 0; i < out.length; i++) {
            out[i] = g.nextLong(low, high);
        }
    }

    /** Uniform doubles in [0, 1) from the global generator (multinomial's draws). */
    static synchronized void fillUniformDouble(double[] out) {
        java.util.random.RandomGenerator g = drawing();
        for (int i = 0; i < out.length; i++) {
            out[i] = g.nextDouble();
        }
    }

    private static long seedFromProperty() {
        String s = System.getProperty("lanes.seed");
        // like PyTorch, an unseeded process is still reproducible: its default seed is a constant
        return s == null ? 67280421310721L : Long.parseLong(s);
    }
}
