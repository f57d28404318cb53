import dev.lanes.InferencePlan;
import dev.lanes.io.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.Random;

/**
 * One cold start of an ONNX model, for bench/cold-ab: JVM launch (-Dlanes.launchMillis, set by the script) to the
 * first prediction, split into JVM start to main, parse, plan (trace, compile, self-check) and the first run. Prints
 * one line: {@code cold_ms=... main_ms=... parse_ms=... plan_ms=... first_ms=...}.
 */
public final class FirstPrediction {
    public static void main(String[] args) throws Exception {
        long launched = Long.getLong("lanes.launchMillis", 0L);
        long atMain = System.currentTimeMillis();
        long t0 = System.nanoTime();
        int[] shape = new int[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            shape[i - 1] = Integer.parseInt(args[i]);
        }
        try (OnnxModel model = OnnxModel.load(Path.of(args[0]))) {
            long t1 = System.nanoTime();
            try (InferencePlan plan = model.plan(shape)) {
                long t2 = System.nanoTime();
                float[] in = new float[plan.inputSize()];
                float[] out = new float[plan.outputSize()];
                Random r = new Random(1);
                for (int i = 0; i < in.length; i++) {
                    in[i] = (float) r.nextGaussian();
                }
                plan.run(in, out);
                long t3 = System.nanoTime();
                long cold = System.currentTimeMillis() - launched;
                System.out.printf("cold_ms=%d main_ms=%d parse_ms=%.1f plan_ms=%.1f first_ms=%.1f out0=%.5f%n", cold, atMain - launched,
                        (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, out[0]);
            }
        }
    }
}
