package dev.lanes.nn.utils;

import dev.lanes.DType;
import dev.lanes.OptimizerUpdates;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * Gradient clipping, like {@code torch.nn.utils.clip_grad_norm_} (PyTorch's {@code clip_grad.py}):
 * <pre>{@code
 * loss.backward();
 * double norm = ClipGrad.clipGradNorm_(net.parameters(), 1.0);
 * optimizer.step();
 * }</pre>
 */
public final class ClipGrad {
    private ClipGrad() {
    }

    /** {@link #clipGradNorm_(Iterable, double, double, boolean)} with the 2-norm. */
    public static double clipGradNorm_(Iterable<Tensor> parameters, double maxNorm) {
        return clipGradNorm_(parameters, maxNorm, 2.0, false);
    }

    /** {@link #clipGradNorm_(Iterable, double, double, boolean)} without the non-finite check. */
    public static double clipGradNorm_(Iterable<Tensor> parameters, double maxNorm, double normType) {
        return clipGradNorm_(parameters, maxNorm, normType, false);
    }

    /**
     * Scales the gradients of {@code parameters} in place so that their total norm is at most {@code maxNorm}, and
     * returns the total norm they had, like {@code torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type,
     * error_if_nonfinite)}. The total norm is the {@code normType}-norm of all gradients together (the norm of the
     * per-parameter norms); {@code normType} is a positive number (2.0, 1.0, ...) or
     * {@code Double.POSITIVE_INFINITY} (the largest absolute value). The gradients are multiplied by
     * {@code maxNorm / (totalNorm + 1e-6)} when that is below 1 (or NaN: a NaN or infinite norm scales them to
     * NaN or 0, as in PyTorch, unless {@code errorIfNonfinite}). Parameters without a gradient are skipped; with
     * none, the result is 0.
     *
     * <p>PyTorch returns the norm as a 0-d tensor; this returns its float32 value as a double (nothing to close).
     * Computed like PyTorch, in float32: each parameter's norm, then the norm of those, then the coefficient.
     *
     * @throws IllegalArgumentException for a negative or NaN {@code maxNorm} (PyTorch does not check it and would
     *                                  scale by a negative factor), or a {@code normType} that is not positive
     * @throws IllegalStateException    when {@code errorIfNonfinite} and the total norm is NaN or infinite (nothing
     *                                  is scaled then)
     */
    public static double clipGradNorm_(Iterable<Tensor> parameters, double maxNorm, double normType, boolean errorIfNonfinite) {
        if (parameters == null) {
            throw new IllegalArgumentException("clipGradNorm_: parameters is null");
        }
        if (!(maxNorm >= 0)) {
            throw new IllegalArgumentException("clipGradNorm_: maxNorm must be a non-negative number, got " + maxNorm);
        }
        if (!(normType > 0)) {
            throw new IllegalArgumentException("clipGradNorm_: normType must be positive (2.0, 1.0, ...) or Double.POSITIVE_INFINITY, got "
                    + normType);
        }
        if (normType == 2.0 && parameters instanceof List<Tensor> list && list instanceof RandomAccess && plainGradients(list)) {
            return clipPlain(list, maxNorm, errorIfNonfinite);
        }
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : parameters) {
            if (p == null) {
                throw new IllegalArgumentException("clipGradNorm_: a parameter is null");
            }
            Tensor g = p.grad();
            if (g != null) {
                grads.add(g);
            }
        }
        if (grads.isEmpty()) {
            return 0.0;
        }
        float total = totalNorm(grads, normType);
        if (errorIfNonfinite && !Float.isFinite(total)) {
            throw nonFinite(normType);
        }
        float coef = coefficient(total, maxNorm);
        if (!(coef >= 1f)) {
            try (Autograd.Mode m = Autograd.noGrad()) {
                for (Tensor g : grads) {
                    g.mul_(coef);
                }
            }
        }
        return total;
    }

    /** Whether every parameter is non-null and every gradient present is contiguous float32 (the usual case). */
    private static boolean plainGradients(List<Tensor> params) {
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p == null) {
                return false; // the general path names the fault
            }
            Tensor g = p.grad();
            if (g != null && (g.dtype() != DType.FLOAT32 || !g.isContiguous())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The 2-norm clip of contiguous float32 gradients straight on their memory ({@link OptimizerUpdates#norm2},
     * {@link OptimizerUpdates#scale_}): the same bits as the tensor path below, without its temporaries, its list or
     * its scope, because a compiled training step (TrainStep.clipGradNorm) runs this every step and allocates nothing.
     */
    private static double clipPlain(List<Tensor> params, double maxNorm, boolean errorIfNonfinite) {
        double sum = 0;
        boolean any = false;
        for (int i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            if (g != null) {
                float norm = OptimizerUpdates.norm2(g);
                sum += (double) norm * norm;
                any = true;
            }
        }
        if (!any) {
            return 0.0;
        }
        float total = (float) Math.sqrt(sum);
        if (errorIfNonfinite && !Float.isFinite(total)) {
            throw nonFinite(2.0);
        }
        float coef = coefficient(total, maxNorm);
        if (!(coef >= 1f)) {
            for (int i = 0; i < params.size(); i++) {
                Tensor g = params.get(i).grad();
                if (g != null) {
                    OptimizerUpdates.scale_(g, coef);
                }
            }
        }
        return total;
    }

    /**
     * PyTorch: clip_coef = max_norm / (total_norm + 1e-6), a Python float divided by a float32 tensor, which it computes
     * as reciprocal(t) * max_norm; then clamp(max=1.0), which keeps a NaN (so callers scale unless coef >= 1).
     */
    private static float coefficient(float total, double maxNorm) {
        return (1f / (total + 1e-6f)) * (float) maxNorm;
    }

    private static IllegalStateException nonFinite(double normType) {
        return new IllegalStateException("The total norm of order " + pyFloat(normType) + " for gradients from `parameters` is non-finite,"
                + " so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set"
                + " `errorIfNonfinite=false`");
    }

    /** The normType-norm of the per-gradient norms, in float32 like PyTorch. */
    private static float totalNorm(List<Tensor> grads, double normType) {
        boolean inf = normType == Double.POSITIVE_INFINITY;
        float total = 0f;
        double sum = 0;
        try (Autograd.Mode m = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            for (Tensor g : grads) {
                float norm = g.numel() == 0 ? 0f : norm(g, normType);
                if (inf) {
                    total = Math.max(total, norm); // NaN wins, like torch.max
                } else {
                    sum += normType == 2.0 ? (double) norm * norm : Math.pow(norm, normType);
                }
            }
        }
        if (inf) {
            return total;
        }
        return (float) (normType == 2.0 ? Math.sqrt(sum) : normType == 1.0 ? sum : Math.pow(sum, 1.0 / normType));
    }

    /** One gradient's norm (the caller's scope closes the temporaries). */
    private static float norm(Tensor g, double p) {
        if (p == Double.POSITIVE_INFINITY) {
            return g.abs().max().item();
        }
        if (p == 2.0) {
            return g.mul(g).sum().sqrt().item();
        }
        if (p == 1.0) {
            return g.abs().sum().item();
        }
        return g.abs().pow(p).sum().pow(1.0 / p).item();
    }

    /** How Python prints a float: 2.0, inf. */
    private static String pyFloat(double v) {
        return v == Double.POSITIVE_INFINITY ? "inf" : Double.toString(v);
    }
}
