package dev.lanes.autograd;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.function.Function;

/**
 * Checks backward rules against central finite differences, like {@code torch.autograd.gradcheck}.
 *
 * <p>Lanes computes in float32, so instead of the full Jacobian it checks the vector-Jacobian product that
 * backward computes: for a random projection {@code v} of the output, {@code L(x) = sum(f(x) * v)} is
 * evaluated at {@code x +- eps} for every input element, the difference taken in double precision, and
 * compared with the gradient {@code backward(v)} leaves in each input's {@code grad()}. Inputs may have any
 * layout (transposed, sliced): elements are perturbed through views of the input itself.
 */
public final class Gradcheck {
    private Gradcheck() {
    }

    /** Default step and tolerances for float32 (PyTorch uses eps 1e-6 with float64). */
    public static final double EPS = 1e-3;
    public static final double ATOL = 2e-3;
    public static final double RTOL = 2e-2;

    /** Throws {@link AssertionError} describing the first element whose gradient disagrees. */
    public static void check(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        check(fn, EPS, ATOL, RTOL, inputs);
    }

    public static void check(Function<Tensor[], Tensor> fn, double eps, double atol, double rtol, Tensor... inputs) {
        boolean any = false;
        for (Tensor in : inputs) {
            any |= in.requiresGrad();
        }
        if (!any) {
            throw new IllegalArgumentException("gradcheck expects at least one input tensor to require gradient, but none of them have"
                    + " requires_grad=True.");
        }
        Tensor[] userGrads = new Tensor[inputs.length]; // the caller's .grad, put back afterwards (PyTorch leaves it untouched)
        for (int i = 0; i < inputs.length; i++) {
            userGrads[i] = inputs[i].grad();
        }
        try (MemoryScope scope = MemoryScope.open()) {
            for (Tensor in : inputs) {
                in.setGrad(null);
            }
            Tensor out = fn.apply(inputs);
            Tensor v = Tensor.randnLike(out);
            out.backward(v);
            for (int k = 0; k < inputs.length; k++) {
                Tensor x = inputs[k];
                if (!x.requiresGrad()) {
                    continue;
                }
                float[] analytic = x.grad() == null ? new float[x.numel()] : x.grad().toFloatArray();
                Tensor data = x.data();
                for (int i = 0; i < x.numel(); i++) {
                    double numeric;
                    try (Autograd.Mode g = Autograd.noGrad()) {
                        Tensor e = element(data, i);
                        float orig = e.item();
                        // the steps actually taken: orig +- eps rounded to float (at 20,000 +1e-3 rounds to +1.95e-3,
                        // and dividing by the nominal 2 eps nearly doubled the numerical derivative)
                        float hi = (float) (orig + eps);
                        float lo = (float) (orig - eps);
                        if (hi == lo) {
                            throw new IllegalArgumentException("gradcheck: eps " + eps + " is below float32's resolution at input " + k
                                    + " element " + i + " (" + orig + "); use a larger eps");
                        }
                        e.fill_(hi);
                        double plus = projected(fn, inputs, v);
                        e.fill_(lo);
                        double minus = projected(fn, inputs, v);
                        e.fill_(orig);
                        numeric = (plus - minus) / ((double) hi - lo);
                    }
                    double a = analytic[i];
                    if (Math.abs(a - numeric) > atol + rtol * Math.abs(numeric)) {
                        throw new AssertionError("Jacobian mismatch for input " + k + " (shape " + x.size() + "), element " + i
                                + ": analytical " + a + ", numerical " + numeric + " (atol " + atol + ", rtol " + rtol + ")");
                    }
                }
            }
        } finally {
            for (int i = 0; i < inputs.length; i++) {
                Tensor g = inputs[i].grad();
                if (g != userGrads[i]) {
                    inputs[i].setGrad(userGrads[i]);
                    if (g != null) {
                        g.close();
                    }
                }
            }
        }
    }

    /** A 0-d view of element {@code flat} (row-major order) of any layout, so perturbing it writes the input itself. */
    private static Tensor element(Tensor t, int flat) {
        int[] shape = t.shape();
        int[] coords = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            coords[d] = flat % shape[d];
            flat /= shape[d];
        }
        Tensor e = t;
        for (int c : coords) {
            e = e.select(0, c);
        }
        return e;
    }

    private static double projected(Function<Tensor[], Tensor> fn, Tensor[] inputs, Tensor v) {
        try (MemoryScope s = MemoryScope.open()) {
            float[] y = fn.apply(inputs).toFloatArray();
            float[] w = v.toFloatArray();
            double sum = 0;
            for (int i = 0; i < y.length; i++) {
                sum += (double) y[i] * w[i];
            }
            return sum;
        }
    }
}
