package dev.lanes.serve;

import dev.lanes.InferencePlan;
import dev.lanes.Size;
import dev.lanes.io.SafeTensors;
import dev.lanes.nn.Module;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A model ready for a latency-sensitive service:
 * <pre>{@code
 * PreparedModel model = PreparedModel.load(new LeNet(), Path.of("lenet.safetensors"), 1, 1, 32, 32)
 *         .warmUp(Duration.ofMillis(300));          // JIT-compile the kernels before the first request
 * float[] probabilities = new float[model.outputSize()];
 * int digit = model.classify(pixels, probabilities); // from any number of threads, no allocation
 * }</pre>
 * The module is put in eval mode and its forward pass traced once into an {@link InferencePlan} (see there for
 * what can be traced); every call then runs the plan on the calling thread with its own buffers, so calls are
 * thread-safe without a lock and allocate nothing, on or off the heap. Results equal the eager forward to float
 * rounding, NaN and infinities included. Close it to free the buffers.
 */
public final class PreparedModel implements AutoCloseable {
    private final String name;
    private final InferencePlan plan;

    private PreparedModel(String name, InferencePlan plan) {
        this.name = name;
        this.plan = plan;
    }

    /** Prepares {@code model} as it is (its current weights) for inputs of {@code inputShape} (batch included). */
    public static PreparedModel of(Module model, int... inputShape) {
        model.eval();
        return new PreparedModel(model.getClass().getSimpleName(), InferencePlan.trace(model::forward, inputShape));
    }

    /**
     * Loads {@code weights} (safetensors, keys and shapes exactly those of {@code model}'s state dict) and prepares
     * the model. A file for another architecture fails with {@link IllegalArgumentException} naming the missing,
     * unexpected or mis-shaped keys, before anything is traced; an unreadable or malformed file with
     * {@link IOException} / {@link IllegalArgumentException} naming the file.
     */
    public static PreparedModel load(Module model, Path weights, int... inputShape) throws IOException {
        SafeTensors.load(model, weights, true);
        return of(model, inputShape);
    }

    /** Like {@link #load(Module, Path, int...)} from the bytes of a safetensors file (e.g. an upload). */
    public static PreparedModel load(Module model, byte[] safetensors, String source, int... inputShape) {
        Map<String, dev.lanes.Tensor> tensors = SafeTensors.parse(safetensors, source).tensors();
        try {
            model.loadStateDict(tensors, true);
        } finally {
            tensors.values().forEach(dev.lanes.Tensor::close);
        }
        return of(model, inputShape);
    }

    /**
     * Runs the model on a zero input until {@code budget} has passed (at least 100 calls), so the JIT has compiled
     * the kernels before the first real request. Returns this.
     */
    public PreparedModel warmUp(Duration budget) {
        float[] in = new float[inputSize()];
        float[] out = new float[outputSize()];
        long end = System.nanoTime() + budget.toNanos();
        for (int i = 0; i < 100 || System.nanoTime() < end; i++) {
            plan.run(in, out);
        }
        return this;
    }

    /** Floats in one input (e.g. 1024 for LeNet's {@code [1, 1, 32, 32]}). */
    public int inputSize() {
        return plan.inputSize();
    }

    /** Floats in one output. */
    public int outputSize() {
        return plan.outputSize();
    }

    public Size inputShape() {
        return plan.inputShape();
    }

    public Size outputShape() {
        return plan.outputShape();
    }

    /** The model's class name. */
    public String name() {
        return name;
    }

    /** The compiled plan (for {@code toString()} or {@code profile}). */
    public InferencePlan plan() {
        return plan;
    }

    /** {@code output = model(input)}; lengths must match {@link #inputSize()} and {@link #outputSize()}. */
    public void predict(float[] input, float[] output) {
        plan.run(input, output);
    }

    /** {@code model(input)} from and into the first floats of the segments (native segments are read in place). */
    public void predict(MemorySegment input, MemorySegment output) {
        plan.run(input, output);
    }

    /**
     * For classifiers: writes softmax(model(input)) into {@code probabilities} and returns the index of the largest
     * (the first on ties); a NaN anywhere in the logits gives NaN probabilities and -1.
     */
    public int classify(float[] input, float[] probabilities) {
        plan.run(input, probabilities);
        return softmaxArgmax(probabilities);
    }

    /** Softmax in place (stable: max subtracted first); returns the argmax, -1 when a value is NaN. */
    static int softmaxArgmax(float[] v) {
        int best = 0;
        for (int i = 0; i < v.length; i++) {
            if (Float.isNaN(v[i])) {
                java.util.Arrays.fill(v, Float.NaN);
                return -1;
            }
            if (v[i] > v[best]) {
                best = i;
            }
        }
        float max = v[best];
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            float e = (float) StrictMath.exp(v[i] - max); // an infinite max gives NaN, as torch.softmax does
            v[i] = e;
            sum += e;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / sum);
        }
        return best;
    }

    @Override
    public void close() {
        plan.close();
    }

    @Override
    public String toString() {
        return "PreparedModel(" + name + ", " + plan + ")";
    }
}
