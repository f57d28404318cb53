package dev.lanes.serve;

import dev.lanes.InferencePlan;
import dev.lanes.Size;
import dev.lanes.io.SafeTensors;
import dev.lanes.io.onnx.OnnxModel;
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
    /** What the plan's constants came from, closed with it (an ONNX model's weights); null for a Module. */
    private final AutoCloseable owner;

    private PreparedModel(String name, InferencePlan plan) {
        this(name, plan, null);
    }

    private PreparedModel(String name, InferencePlan plan, AutoCloseable owner) {
        if (plan.outputType() != dev.lanes.DType.FLOAT32) {
            plan.close();
            throw new IllegalArgumentException("PreparedModel: " + name + " returns " + plan.outputType().name().toLowerCase(java.util.Locale.ROOT) + " " + java.util.Arrays.toString(plan.outputShape().toArray())
                    + " (it ends in an argmax or argmin); a PreparedModel serves float outputs (scores, probabilities): run such a"
                    + " model as an InferencePlan with a long[] output (InferencePlan.run(float[] or long[] input, long[] output))");
        }
        this.name = name;
        this.plan = plan;
        this.owner = owner;
    }

    /** Prepares {@code model} as it is (its current weights) for inputs of {@code inputShape} (batch included). */
    public static PreparedModel of(Module model, int... inputShape) {
        model.eval();
        return new PreparedModel(model.getClass().getSimpleName(), InferencePlan.trace(model::forward, inputShape));
    }

    /**
     * Loads {@code weights} (safetensors, keys and shapes exactly those of {@code model}'s state dict) and prepares
     * the model; a file named {@code *.onnx} is an ONNX model instead ({@link #loadOnnx(Path, int...)}: it brings its
     * own architecture, and {@code model} is not used). A file for another architecture fails with {@link IllegalArgumentException} naming the missing,
     * unexpected or mis-shaped keys, before anything is traced; an unreadable or malformed file with
     * {@link IOException} / {@link IllegalArgumentException} naming the file.
     */
    public static PreparedModel load(Module model, Path weights, int... inputShape) throws IOException {
        if (weights.getFileName() != null && weights.getFileName().toString().endsWith(".onnx")) {
            return loadOnnx(weights, inputShape); // an ONNX file brings its own architecture
        }
        SafeTensors.load(model, weights, true);
        return of(model, inputShape);
    }

    /**
     * Loads an ONNX model (e.g. from {@code torch.onnx.export}) and prepares it for inputs of {@code inputShape}: its
     * graph traced into a plan like a Module's, with the same thread-safety and zero allocation per call. Operators
     * Lanes cannot run are refused here, naming the op, its node and the opset; a malformed file with
     * {@link IllegalArgumentException}. The trace records the graph without computing it and the plan is not checked
     * against an eager forward ({@code OnnxModel.plan(int...)}: a faster cold start); an index a graph computes is
     * checked on every call, so a bad one fails the call rather than the load.
     */
    public static PreparedModel loadOnnx(Path onnx, int... inputShape) throws IOException {
        return prepared(onnx.getFileName().toString(), OnnxModel.load(onnx), inputShape);
    }

    /** Like {@link #loadOnnx(Path, int...)} from a model file's bytes (external data files are refused). */
    public static PreparedModel loadOnnx(byte[] onnx, String source, int... inputShape) {
        return prepared(source, OnnxModel.parse(onnx), inputShape);
    }

    private static PreparedModel prepared(String name, OnnxModel model, int... inputShape) {
        try {
            return new PreparedModel(name, model.plan(inputShape), model);
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
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
        float[] out = new float[outputSize()];
        long end = System.nanoTime() + budget.toNanos();
        if (plan.inputType() == dev.lanes.DType.INT64) {
            long[] ids = new long[inputSize()]; // zeros: a valid index into any dimension
            for (int i = 0; i < 100 || System.nanoTime() < end; i++) {
                plan.run(ids, out);
            }
        } else {
            float[] in = new float[inputSize()];
            for (int i = 0; i < 100 || System.nanoTime() < end; i++) {
                plan.run(in, out);
            }
        }
        return this;
    }

    /** Elements in one input (e.g. 1024 floats for LeNet's {@code [1, 1, 32, 32]}; int64 values for a token-id model). */
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

    /** {@code output = model(input)} for a model of int64 input (token ids): each id is checked against its vocabulary. */
    public void predict(long[] input, float[] output) {
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
        if (owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + name + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "PreparedModel(" + name + ", " + plan + ")";
    }
}
