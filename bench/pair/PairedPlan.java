import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Paired A/B of two Lanes builds on one ONNX plan inside one JVM (bench/plan-ab runs it): each build's classes in a
 * class loader of its own, one plan each, calls alternated round by round (the order flipping every round), so both
 * builds see the same moments of a noisy host. Prints per build the median time of a call over the rounds after the
 * warm-up, and the median of the per-round ratios B/A with its quartiles; "same" says whether the two outputs are
 * bit-equal.
 *
 * <p>Usage: PairedPlan classesA classesB model.onnx N C H W [reps] [rounds]; reps 0 (the default): as many calls a
 * round as take ~0.1 s of A, timed for half a second after a warm-up of both (200 calls each and 2 s).
 */
public final class PairedPlan {
    private PairedPlan() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length < 7) {
            System.err.println("usage: PairedPlan classesA classesB model.onnx N C H W [reps] [rounds]");
            System.exit(2);
        }
        int[] shape = {Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6])};
        int reps = args.length > 7 ? Integer.parseInt(args[7]) : 0; // 0: as many calls as take ~0.1 s, from a first timed call
        int rounds = args.length > 8 ? Integer.parseInt(args[8]) : 50;
        int warmRounds = rounds / 3;
        float[] in = new float[Math.multiplyExact(Math.multiplyExact(shape[0], shape[1]), Math.multiplyExact(shape[2], shape[3]))];
        Random random = new Random(1);
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) random.nextGaussian();
        }
        MethodHandle[] run = new MethodHandle[2];
        float[][] out = new float[2][];
        for (int k = 0; k < 2; k++) {
            ClassLoader loader = new URLClassLoader(new URL[] {Path.of(args[k]).toUri().toURL()}, null);
            Class<?> onnx = Class.forName("dev.lanes.io.onnx.OnnxModel", true, loader);
            Object model = onnx.getMethod("load", Path.class).invoke(null, Path.of(args[2]));
            Object plan = onnx.getMethod("plan", int[].class).invoke(model, (Object) shape);
            run[k] = MethodHandles.publicLookup().findVirtual(plan.getClass(), "run", MethodType.methodType(void.class, float[].class, float[].class))
                    .bindTo(plan);
            out[k] = new float[(int) plan.getClass().getMethod("outputSize").invoke(plan)];
        }
        if (reps <= 0) {
            // past a young process's first calls (each build's kernels take their scalar forms for their first
            // images: kernels/ColdStart) and the JIT's first compiles: 200 calls of each and 2 s, whichever is later
            long until = System.nanoTime() + 2_000_000_000L;
            for (int i = 0; i < 200 || System.nanoTime() < until; i++) {
                run[0].invokeExact(in, out[0]);
                run[1].invokeExact(in, out[1]);
            }
            int calls = 0;
            long spent = 0;
            for (long end = System.nanoTime() + 500_000_000L; System.nanoTime() < end; calls++) { // what a call of A takes now
                long t0 = System.nanoTime();
                run[0].invokeExact(in, out[0]);
                spent += System.nanoTime() - t0;
            }
            reps = (int) Math.max(1, Math.min(100_000, 100_000_000L * Math.max(1, calls) / Math.max(1, spent)));
        }
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            double[] us = new double[2];
            for (int turn = 0; turn < 2; turn++) {
                int k = (round & 1) == 0 ? turn : 1 - turn;
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    run[k].invokeExact(in, out[k]);
                }
                us[k] = (System.nanoTime() - t0) / 1e3 / reps;
            }
            if (round >= warmRounds) {
                a.add(us[0]);
                b.add(us[1]);
                ratio.add(us[1] / us[0]);
            }
        }
        Collections.sort(a);
        Collections.sort(b);
        Collections.sort(ratio);
        System.out.printf("%s %s: A %.1f us  B %.1f us a call  B/A %.3f (quartiles %.3f-%.3f, %d rounds of %d calls)  same=%b%n",
                Path.of(args[2]).getFileName(), Arrays.toString(shape), a.get(a.size() / 2), b.get(b.size() / 2), ratio.get(ratio.size() / 2),
                ratio.get(ratio.size() / 4), ratio.get(3 * ratio.size() / 4), ratio.size(), reps, Arrays.equals(out[0], out[1]));
    }
}
