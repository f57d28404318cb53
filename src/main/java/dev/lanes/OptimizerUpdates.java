package dev.lanes;

import dev.lanes.kernels.Elementwise;
import dev.lanes.kernels.OptimizerKernels;
import dev.lanes.kernels.Reductions;
import dev.lanes.kernels.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The tensor-level side of {@code dev.lanes.optim}: checks shapes and layouts, then runs the fused one-pass
 * update kernels of {@code kernels.OptimizerKernels} in place on a parameter and its state. Optimizers call these.
 */
public final class OptimizerUpdates {
    private OptimizerUpdates() {
    }

    /*
     * Fixed arities and shapeRef, not varargs and shape(): these run for every parameter of every step, and a compiled
     * training step must not allocate (issue 17: the varargs arrays and shape copies were ~1.2 KB of LeNet's step).
     */
    private static void check(String op, Tensor param, Tensor a, Tensor b, Tensor c, Tensor d) {
        param.requireFloat(op);
        if (!param.isContiguous()) {
            throw new IllegalArgumentException(op + ": parameters must be contiguous (shape " + param.size() + ")");
        }
        checkState(op, param, a);
        checkState(op, param, b);
        checkState(op, param, c);
        checkState(op, param, d);
    }

    private static void checkState(String op, Tensor param, Tensor t) {
        if (t == null) {
            return;
        }
        t.requireFloat(op);
        if (!Arrays.equals(t.shapeRef(), param.shapeRef()) || !t.isContiguous()) {
            throw new IllegalArgumentException(op + ": gradient/state of shape " + t.size() + " does not match parameter " + param.size());
        }
    }

    /**
     * Checks one parameter and its gradient as the update kernels will, without touching either: both alive and
     * float32, the gradient of the parameter's shape, both contiguous. {@code Optimizer.step()} runs it over every
     * parameter before it changes any state, so a bad gradient (int64, a view, released) leaves the step counts and
     * buffers as they were instead of one step counted and a momentum buffer made for an update that never ran.
     * Allocates nothing unless it throws.
     */
    public static void checkGradient(Tensor param, Tensor grad) {
        if (param.isReleased()) {
            throw new IllegalStateException("optimizer step: a parameter of shape " + Shapes.str(param.shapeRef()) + " was released and can no longer be used");
        }
        if (grad.isReleased()) {
            throw new IllegalStateException("optimizer step: the gradient of a parameter of shape " + Shapes.str(param.shapeRef())
                    + " was released and can no longer be used");
        }
        if (param.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("optimizer step: expected a float32 parameter but got " + param.dtype().shortName()
                    + " tensor of shape " + Shapes.str(param.shapeRef()));
        }
        if (grad.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("optimizer step: assigned grad has data of a different type: " + grad.dtype().shortName()
                    + " gradient of shape " + Shapes.str(grad.shapeRef()) + " for a float32 parameter of shape " + Shapes.str(param.shapeRef()));
        }
        if (!Arrays.equals(grad.shapeRef(), param.shapeRef())) {
            throw new IllegalArgumentException("optimizer step: gradient of shape " + Shapes.str(grad.shapeRef()) + " does not match parameter " + Shapes.str(param.shapeRef()));
        }
        if (!param.isContiguous()) {
            throw new IllegalArgumentException("optimizer step: parameters must be contiguous (shape " + Shapes.str(param.shapeRef()) + ", strides "
                    + Arrays.toString(param.stridesRef()) + ")");
        }
        if (!grad.isContiguous()) {
            throw new IllegalArgumentException("optimizer step: gradients must be contiguous (shape " + Shapes.str(grad.shapeRef()) + ", strides "
                    + Arrays.toString(grad.stridesRef()) + "); make it so with contiguous()");
        }
    }

    private static MemorySegment seg(Tensor t) {
        return t == null ? null : t.seg();
    }

    private static long off(Tensor t) {
        return t == null ? 0 : (long) t.storageOffset() << 2;
    }

    private static void touched(Tensor a, Tensor b, Tensor c, Tensor d) {
        touched(a);
        touched(b);
        touched(c);
        touched(d);
    }

    private static void touched(Tensor t) {
        if (t != null) {
            t.markModified();
        }
    }

    /**
     * The 2-norm of a contiguous float32 gradient with the bits of {@code g.mul(g).sum().sqrt().item()} (the squares
     * rounded one by one, summed in sumRow's canonical order, the sum rounded to float, then its square root), but
     * without the three temporaries: gradient clipping runs in every compiled GPT step.
     */
    public static float norm2(Tensor g) {
        g.requireFloat("norm2");
        if (!g.isContiguous()) {
            throw new IllegalArgumentException("norm2: the gradient must be contiguous (shape " + g.size() + ")");
        }
        if (g.numel() == 0) {
            return 0f;
        }
        try (OpFrame _ = OpFrame.enter()) {
            float sum = (float) Reductions.sumSquaresRow(g.seg(), off(g), g.numel());
            return (float) Math.sqrt(sum);
        }
    }

    /** {@code g *= coef} in place on a contiguous float32 tensor: the bits of {@code g.mul_(coef)}, without its frame. */
    public static void scale_(Tensor g, float coef) {
        g.requireFloat("scale_");
        if (!g.isContiguous()) {
            throw new IllegalArgumentException("scale_: the gradient must be contiguous (shape " + g.size() + ")");
        }
        try (OpFrame _ = OpFrame.enter()) {
            Elementwise.unaryContiguous(UnaryOp.MUL_SCALAR, coef, 0f, g.seg(), off(g), g.seg(), off(g), g.numel());
        }
        g.markModified();
    }

    public static void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, double lr, double momentum, double dampening,
                           double weightDecay, boolean nesterov, boolean firstStep) {
        check("sgd", param, grad, momentumBuffer, null, null);
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.sgd(seg(param), off(param), seg(grad), off(grad), seg(momentumBuffer), off(momentumBuffer), param.numel(),
                    (float) lr, (float) momentum, (float) (1.0 - dampening), (float) weightDecay, nesterov, firstStep, true);
        }
        touched(param, momentumBuffer, null, null);
    }

    public static void adam(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor maxExpAvgSq, double lr, double beta1,
                            double beta2, double eps, double weightDecay, boolean decoupled, long step) {
        check("adam", param, grad, expAvg, expAvgSq, maxExpAvgSq);
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.adam(seg(param), off(param), seg(grad), off(grad), seg(expAvg), off(expAvg), seg(expAvgSq), off(expAvgSq),
                    seg(maxExpAvgSq), off(maxExpAvgSq), param.numel(), lr, beta1, beta2, (float) eps, weightDecay, decoupled, step, true);
        }
        touched(param, expAvg, expAvgSq, maxExpAvgSq);
    }

    public static void rmsprop(Tensor param, Tensor grad, Tensor squareAvg, Tensor gradAvg, Tensor momentumBuffer, double lr,
                               double alpha, double eps, double weightDecay, double momentum) {
        check("rmsprop", param, grad, squareAvg, gradAvg, momentumBuffer);
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.rmsprop(seg(param), off(param), seg(grad), off(grad), seg(squareAvg), off(squareAvg), seg(gradAvg), off(gradAvg),
                    seg(momentumBuffer), off(momentumBuffer), param.numel(), (float) lr, alpha, (float) eps, (float) weightDecay,
                    (float) momentum);
        }
        touched(param, squareAvg, gradAvg, momentumBuffer);
    }
    /** Adagrad's update (torch 1.13's _single_tensor_adagrad): {@code clr = lr / (1 + (step - 1) lr_decay)} in double. */
    public static void adagrad(Tensor param, Tensor grad, Tensor sum, double lr, double lrDecay, double weightDecay, double eps, long step) {
        check("adagrad", param, grad, sum, null, null);
        double clr = lr / (1 + (step - 1) * lrDecay);
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.adagrad(seg(param), off(param), seg(grad), off(grad), seg(sum), off(sum), param.numel(), (float) -clr, (float) eps,
                    (float) weightDecay);
        }
        touched(param, sum, null, null);
    }

    /** Adamax's update (torch 1.13's _single_tensor_adamax): {@code clr = lr / (1 - beta1^step)} in double. */
    public static void adamax(Tensor param, Tensor grad, Tensor expAvg, Tensor expInf, double lr, double beta1, double beta2, double eps,
                              double weightDecay, long step) {
        check("adamax", param, grad, expAvg, expInf, null);
        double clr = lr / (1 - StrictMath.pow(beta1, step));
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.adamax(seg(param), off(param), seg(grad), off(grad), seg(expAvg), off(expAvg), seg(expInf), off(expInf), param.numel(),
                    (float) beta1, (float) (1 - beta1), (float) beta2, (float) eps, (float) weightDecay, (float) -clr);
        }
        touched(param, expAvg, expInf, null);
    }

    /**
     * NAdam's update (torch 1.13's _single_tensor_nadam, momentum_decay): {@code mu_t = b1 (1 - 0.5 0.96^(t psi))} in
     * double; {@code muProduct} (a 0-d float32 tensor, as torch's state) becomes {@code float(muProduct * float(mu_t))}
     * and the next product {@code float(that * float(mu_{t+1}))}, float32 tensor arithmetic as torch's.
     */
    public static void nadam(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor muProduct, double lr, double beta1, double beta2,
                             double eps, double weightDecay, double momentumDecay, long step) {
        check("nadam", param, grad, expAvg, expAvgSq, null);
        muProduct.requireFloat("nadam");
        if (muProduct.numel() != 1) {
            throw new IllegalArgumentException("nadam: mu_product must hold one value, got shape " + muProduct.size());
        }
        double bc2 = 1 - StrictMath.pow(beta2, step);
        double mu = beta1 * (1. - 0.5 * StrictMath.pow(0.96, step * momentumDecay));
        double muNext = beta1 * (1. - 0.5 * StrictMath.pow(0.96, (step + 1) * momentumDecay));
        float product = muProduct.item() * (float) mu;
        float productNext = product * (float) mu * (float) muNext;
        muProduct.fill_(product);
        float gradCoef = (float) (-lr * (1. - mu) / (1. - product));
        float avgCoef = (float) (-lr * muNext / (1. - productNext));
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.nadam(seg(param), off(param), seg(grad), off(grad), seg(expAvg), off(expAvg), seg(expAvgSq), off(expAvgSq), param.numel(),
                    (float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps, (float) weightDecay, (float) bc2, gradCoef, avgCoef);
        }
        touched(param, expAvg, expAvgSq, null);
    }

    /**
     * RAdam's update (torch 1.13's _single_tensor_radam): {@code rho_inf = 2 / (1 - b2) - 1},
     * {@code rho_t = rho_inf - 2 t b2^t / (1 - b2^t)}; the rectified adaptive step when {@code rho_t > 5}, else the
     * bias-corrected momentum alone.
     */
    public static void radam(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double lr, double beta1, double beta2, double eps,
                             double weightDecay, long step) {
        check("radam", param, grad, expAvg, expAvgSq, null);
        double t = step;
        double bc1 = 1 - StrictMath.pow(beta1, t);
        double b2t = StrictMath.pow(beta2, t);
        double bc2 = 1 - b2t;
        double rhoInf = 2 / (1 - beta2) - 1;
        double rhoT = rhoInf - 2 * t * b2t / bc2;
        boolean rectify = rhoT > 5.;
        double rect = rectify ? Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
        try (OpFrame _ = OpFrame.enter()) {
            OptimizerKernels.radam(seg(param), off(param), seg(grad), off(grad), seg(expAvg), off(expAvg), seg(expAvgSq), off(expAvgSq), param.numel(),
                    (float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps, (float) weightDecay, (float) bc1, (float) lr,
                    rectify, (float) Math.sqrt(bc2), (float) rect);
        }
        touched(param, expAvg, expAvgSq, null);
    }
}
