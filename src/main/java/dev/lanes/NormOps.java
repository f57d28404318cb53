package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import java.util.Arrays;

/**
 * layer_norm, batch_norm and group_norm (instance_norm on top of group_norm and batch_norm), forward and backward each
 * one fused kernel ({@code kernels.Normalization}): statistics (per row, per channel, per sample and group) in two
 * vector passes in the canonical summation order, then the normalised, scaled and shifted values; the backward gives
 * the input, weight and bias gradients from the saved mean and 1/std. The forwards are plan steps (batch_norm in
 * eval).
 */
final class NormOps {
    private NormOps() {
    }

    /**
     * {@code F.layer_norm(x, normalized_shape, weight, bias, eps)}: normalises over the last
     * {@code normalizedShape.length} dims, which must equal {@code normalizedShape}; weight and bias (either may be
     * null) have that shape.
     */
    static Tensor layerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        x.requireFloat("layer_norm");
        int[] shape = x.shapeRef();
        int k = normalizedShape.length;
        if (k == 0 || k > shape.length || !Arrays.equals(Arrays.copyOfRange(shape, shape.length - k, shape.length), normalizedShape)) {
            throw new IllegalArgumentException("layer_norm: given normalized_shape=" + str(normalizedShape) + ", expected input with shape [*, "
                    + str(normalizedShape).substring(1) + ", but got input of size " + str(shape));
        }
        for (Tensor p : new Tensor[] {weight, bias}) {
            if (p != null) {
                p.requireFloat("layer_norm");
                if (!Arrays.equals(p.shapeRef(), normalizedShape)) {
                    throw new IllegalArgumentException("layer_norm: weight and bias must have shape normalized_shape " + str(normalizedShape)
                            + ", got " + str(p.shapeRef()));
                }
            }
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("layer_norm: eps must be a finite non-negative number, got " + eps);
        }
        int n = Shapes.checkedNumel(normalizedShape);
        int rows = n == 0 ? 0 : x.numel() / n;
        boolean record = Tensor.recording(x, weight, bias);
        int[] outShape = shape.clone();
        Tensor out = Tensor.allocate(DType.FLOAT32, outShape);
        Tensor mean = record ? Tensor.allocate(DType.FLOAT32, new int[] {rows}) : null;
        Tensor rstd = record ? Tensor.allocate(DType.FLOAT32, new int[] {rows}) : null;
        float e = (float) eps;
        // recording (never while tracing: a trace runs without a graph): mean and 1/std are extra outputs
        x.withContiguous(xc -> withContiguousOrNull(weight, wc -> withContiguousOrNull(bias, bc -> Launch.runOptional(
                r -> new PlanStep.LayerNorm(r[0], r[1], r[2], rows, n, e, r[3], r[4]), out, xc, wc, bc, mean, rstd))));
        if (record) {
            Tensor.record(out, () -> new NativeLayerNormBackward0(x, weight, bias, mean, rstd, normalizedShape, rows, n), x, weight, bias);
            mean.close(); // the node keeps its own references
            rstd.close();
        }
        return out;
    }

    /**
     * {@code F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)} over dim 1 of
     * {@code x [N, C, *]}: one fused kernel each way. In training the batch's statistics normalise and are folded into
     * the running ones (when given; the unbiased variance, like PyTorch); otherwise the running ones are used (a plan
     * step). Any of running_mean/var, weight, bias may be null (eval needs the running statistics).
     */
    static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean training, double momentum,
                            double eps, Tensor counter) {
        x.requireFloat("batch_norm");
        int[] shape = x.shapeRef();
        if (shape.length < 2) {
            throw new IllegalArgumentException("batch_norm: expected an input of at least 2 dims [N, C, *], got " + str(shape));
        }
        int n = shape[0];
        int c = shape[1];
        int hw = n == 0 || c == 0 ? 0 : x.numel() / n / c;
        for (Tensor t : new Tensor[] {runningMean, runningVar, weight, bias}) {
            if (t != null) {
                t.requireFloat("batch_norm");
                if (t.numel() != c || t.dim() != 1 || !t.isContiguous()) {
                    throw new IllegalArgumentException("batch_norm: running_mean, running_var, weight and bias must be contiguous [" + c
                            + "] (C of input " + str(shape) + "), got " + str(t.shapeRef()));
                }
            }
        }
        if (!training && (runningMean == null || runningVar == null)) {
            throw new IllegalArgumentException("batch_norm: running_mean and running_var are required when not training");
        }
        // PyTorch's _verify_batch_size: exactly one value is refused; an empty batch normalises nothing and leaves the
        // running statistics as they are (num_batches_tracked still counts it)
        if (training && (long) n * hw == 1) {
            throw new IllegalArgumentException("Expected more than 1 value per channel when training, got input size " + str(shape));
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("batch_norm: eps must be a finite non-negative number, got " + eps);
        }
        if (counter != null && (counter.dtype() != DType.INT64 || counter.numel() != 1)) {
            throw new IllegalArgumentException("batch_norm: num_batches_tracked must be an int64 tensor of one element, got "
                    + counter.dtype().shortName() + " of shape " + str(counter.shapeRef()));
        }
        if (!training) {
            counter = null;
        }
        if (training) {
            // the kernel writes these: a training plan replays the writes (and capture restores them), other traces refuse
            for (Tensor t : new Tensor[] {runningMean, runningVar, counter}) {
                if (t != null) {
                    InPlaceOps.checkWritable("batch_norm (training updates the running statistics)", t, true);
                }
            }
        }
        boolean record = Tensor.recording(x, weight, bias);
        Tensor out = Tensor.allocate(DType.FLOAT32, shape);
        Tensor mean = record ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
        Tensor rstd = record ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
        double m = momentum;
        double e = eps;
        try (dev.lanes.autograd.Autograd.Mode g = dev.lanes.autograd.Autograd.noGrad()) { // the running statistics are no graph
            Tensor count = counter;
            x.withContiguous(xc -> Launch.runOptional(r -> new PlanStep.BatchNorm(r[0], n, c, hw, training, m, e, r[1], r[2], r[3], r[4], r[5], r[6],
                    r[7]), out, xc, weight, bias, runningMean, runningVar, mean, rstd, count));
        }
        if (training) {
            if (runningMean != null) {
                runningMean.markModified();
            }
            if (runningVar != null) {
                runningVar.markModified();
            }
            if (counter != null) {
                counter.markModified();
            }
        }
        if (record) {
            Tensor.record(out, () -> new NativeBatchNormBackward0(x, weight, bias, mean, rstd, training, n, c, hw), x, weight, bias);
            mean.close();
            rstd.close();
        }
        return out;
    }

    /** The three gradients of batch_norm from one kernel; dweight and dbias are per-channel sums. */
    static final class NativeBatchNormBackward0 extends Node {
        private final Saved input;
        private final Saved weight;
        private final boolean hasBias;
        private final Saved mean;
        private final Saved rstd;
        private final boolean training;
        private final int n;
        private final int c;
        private final int hw;

        NativeBatchNormBackward0(Tensor x, Tensor weight, Tensor bias, Tensor mean, Tensor rstd, boolean training, int n, int c, int hw) {
            this.input = save(x, "input");
            this.weight = weight == null ? null : save(weight, "weight");
            this.hasBias = bias != null;
            this.mean = save(mean, "result1");
            this.rstd = save(rstd, "result2");
            this.training = training;
            this.n = n;
            this.c = c;
            this.hw = hw;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            Tensor w = weight == null ? null : weight.get();
            Tensor dx = needsInputGrad(0) ? Tensor.allocate(DType.FLOAT32, x.shape()) : null;
            Tensor dw = w != null && needsInputGrad(1) ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
            Tensor db = hasBias && needsInputGrad(2) ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
            launchBackward(false, n, c, hw, training, g, x, mean.get(), rstd.get(), w, dx, dw, db);
            return new Tensor[] {dx, dw, db};
        }
    }

    /**
     * The gradients of batch_norm ({@code layer == false}: {@code [n, c, hw]}) or layer_norm ({@code rows x n}: then
     * {@code rows} is passed as n and the row length as c) through one {@link PlanStep.NormBackward} launch: the first
     * of dx, dw, db that is wanted is the launch's result, the others its extra outputs.
     */
    private static void launchBackward(boolean layer, int n, int c, int hw, boolean training, Tensor g, Tensor x, Tensor m, Tensor rs, Tensor w,
                                       Tensor dx, Tensor dw, Tensor db) {
        Tensor result = dx != null ? dx : dw != null ? dw : db;
        if (result == null) {
            return;
        }
        int outIs = dx != null ? 0 : dw != null ? 1 : 2;
        Tensor dwExtra = outIs == 1 ? null : dw;
        Tensor dbExtra = outIs == 2 ? null : db;
        g.withContiguous(gc -> x.withContiguous(xc -> withContiguousOrNull(w, wc -> Launch.runOptional(r -> new PlanStep.NormBackward(layer, n, c,
                hw, training, outIs, r[0], r[1], r[2], r[3], r[4], r[5], r[6]), result, gc, xc, m, rs, wc, dwExtra, dbExtra))));
    }

    private static Tensor withContiguousOrNull(Tensor t, java.util.function.Function<Tensor, Tensor> fn) {
        return t == null ? fn.apply(null) : t.withContiguous(fn);
    }

    /** The three gradients of layer_norm from one kernel: dx per row, dweight and dbias summed over rows. */
    static final class NativeLayerNormBackward0 extends Node {
        private final Saved input;
        private final Saved weight;
        private final boolean hasBias;
        private final Saved mean;
        private final Saved rstd;
        private final int[] normalizedShape;
        private final int rows;
        private final int n;

        NativeLayerNormBackward0(Tensor x, Tensor weight, Tensor bias, Tensor mean, Tensor rstd, int[] normalizedShape, int rows, int n) {
            this.input = save(x, "input");
            this.weight = weight == null ? null : save(weight, "weight");
            this.hasBias = bias != null;
            this.mean = save(mean, "result1");
            this.rstd = save(rstd, "result2");
            this.normalizedShape = normalizedShape.clone();
            this.rows = rows;
            this.n = n;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            Tensor w = weight == null ? null : weight.get();
            Tensor dx = needsInputGrad(0) ? Tensor.allocate(DType.FLOAT32, x.shape()) : null;
            Tensor dw = w != null && needsInputGrad(1) ? Tensor.allocate(DType.FLOAT32, normalizedShape) : null;
            Tensor db = hasBias && needsInputGrad(2) ? Tensor.allocate(DType.FLOAT32, normalizedShape) : null;
            launchBackward(true, rows, n, 1, true, g, x, mean.get(), rstd.get(), w, dx, dw, db);
            return new Tensor[] {dx, dw, db};
        }
    }
    /**
     * {@code F.group_norm(x, num_groups, weight, bias, eps)} of {@code x [N, C, *]}: each sample's {@code C / numGroups}
     * consecutive channels (with all their spatial positions) are normalised with their own mean and biased variance,
     * then each channel scaled by {@code weight[c]} and shifted by {@code bias[c]} (either may be null). One fused
     * kernel each way ({@code kernels.Normalization.groupNorm}); a plan step.
     */
    static Tensor groupNorm(Tensor x, int numGroups, Tensor weight, Tensor bias, double eps) {
        return groupNorm("group_norm", x, numGroups, weight, bias, eps);
    }

    private static Tensor groupNorm(String op, Tensor x, int numGroups, Tensor weight, Tensor bias, double eps) {
        x.requireFloat(op);
        int[] shape = x.shapeRef();
        if (shape.length < 2) {
            throw new IllegalArgumentException(op + ": expected an input of at least 2 dims [N, C, *], got " + str(shape));
        }
        int n = shape[0];
        int c = shape[1];
        if (numGroups <= 0) {
            throw new IllegalArgumentException(op + ": num_groups must be positive, got " + numGroups);
        }
        if (c % numGroups != 0) {
            throw new IllegalArgumentException("Expected number of channels in input to be divisible by num_groups, but got input of shape "
                    + str(shape) + " and num_groups=" + numGroups);
        }
        String[] names = {"weight", "bias"};
        Tensor[] params = {weight, bias};
        for (int i = 0; i < 2; i++) {
            Tensor p = params[i];
            if (p != null) {
                p.requireFloat(op);
                if (p.dim() != 1 || p.numel() != c) {
                    throw new IllegalArgumentException(op + ": expected " + names[i] + " to be a vector of size equal to the number of channels in input ("
                            + c + "), but got " + names[i] + " of shape " + str(p.shapeRef()) + " and input of shape " + str(shape));
                }
            }
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(op + ": eps must be a finite non-negative number, got " + eps);
        }
        int hw = 1;
        for (int i = 2; i < shape.length; i++) {
            hw = Math.multiplyExact(hw, shape[i]);
        }
        boolean record = Tensor.recording(x, weight, bias);
        Tensor out = Tensor.allocate(DType.FLOAT32, shape.clone());
        Tensor mean = record ? Tensor.allocate(DType.FLOAT32, new int[] {n, numGroups}) : null;
        Tensor rstd = record ? Tensor.allocate(DType.FLOAT32, new int[] {n, numGroups}) : null;
        float e = (float) eps; // torch 1.13's group-norm kernel takes eps as the float T
        int spatial = hw;
        x.withContiguous(xc -> withContiguousOrNull(weight, wc -> withContiguousOrNull(bias, bc -> Launch.runOptional(
                r -> new PlanStep.GroupNorm(r[0], r[1], r[2], n, c, spatial, numGroups, e, r[3], r[4]), out, xc, wc, bc, mean, rstd))));
        if (record) {
            Tensor.record(out, () -> new NativeGroupNormBackward0(x, weight, bias, mean, rstd, n, c, spatial, numGroups), x, weight, bias);
            mean.close(); // the node keeps its own references
            rstd.close();
        }
        return out;
    }

    /**
     * {@code F.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)} of
     * {@code x [N, C, *]}: with {@code useInputStats} each (sample, channel) is normalised with its own mean and biased
     * variance (group_norm with one channel per group: its kernel, backward and plan step), and the running statistics,
     * when given, move towards the batch's mean over samples of each instance's mean and unbiased variance
     * ({@code running = (1 - momentum) running + momentum mean_n(stat)}, as torch 1.13 computes it through batch_norm
     * on the {@code [1, N C, *]} view); without, the running statistics normalise (batch_norm in eval, a plan step).
     */
    static Tensor instanceNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean useInputStats,
                               double momentum, double eps) {
        x.requireFloat("instance_norm");
        int[] shape = x.shapeRef();
        if (shape.length < 2) {
            throw new IllegalArgumentException("instance_norm: expected an input of at least 2 dims [N, C, *], got " + str(shape));
        }
        int n = shape[0];
        int c = shape[1];
        for (Tensor t : new Tensor[] {runningMean, runningVar}) {
            if (t != null) {
                t.requireFloat("instance_norm");
                if (t.numel() != c || t.dim() != 1) {
                    throw new IllegalArgumentException("instance_norm: running_mean and running_var must be [" + c + "] (C of input " + str(shape)
                            + "), got " + str(t.shapeRef()));
                }
            }
        }
        if (!useInputStats) {
            if (runningMean == null || runningVar == null) {
                throw new IllegalArgumentException("Expected running_mean and running_var to be defined when use_input_stats is false");
            }
            // viewed back to the input's shape, as torch's at::instance_norm returns it (grad_fn ViewBackward0)
            return batchNorm(x, runningMean, runningVar, weight, bias, false, momentum, eps, null).view(shape);
        }
        long spatial = 1;
        for (int i = 2; i < shape.length; i++) {
            spatial *= shape[i];
        }
        if (spatial == 1) { // F.instance_norm's _verify_spatial_size
            throw new IllegalArgumentException("Expected more than 1 spatial element when training, got input size " + str(shape));
        }
        if ((runningMean == null) != (runningVar == null)) {
            throw new IllegalArgumentException("instance_norm: running_mean and running_var must both be given or both be null");
        }
        if (runningMean != null) {
            InPlaceOps.checkWritable("instance_norm (training updates the running statistics)", runningMean);
            InPlaceOps.checkWritable("instance_norm (training updates the running statistics)", runningVar);
        }
        Tensor out = groupNorm("instance_norm", x, c, weight, bias, eps);
        if (runningMean != null && n > 0 && c > 0 && spatial > 0) {
            try (dev.lanes.autograd.Autograd.Mode g = dev.lanes.autograd.Autograd.noGrad();
                 Tensor flat = x.reshape(n, c, (int) spatial); Tensor mu = flat.mean(2); Tensor var = flat.var(2, true, false)) {
                foldRunning(runningMean, mu, momentum);
                foldRunning(runningVar, var, momentum);
            }
        }
        return out.view(shape);
    }

    /** {@code running = mean_n(momentum stat[n] + (1 - momentum) running)} in float, torch 1.13's order of operations. */
    private static void foldRunning(Tensor running, Tensor stat, double momentum) {
        try (Tensor a = stat.mul(momentum); Tensor b = running.mul(1 - momentum); Tensor sum = a.add(b); Tensor m = sum.mean(0)) {
            running.copy_(m);
        }
    }

    /** The three gradients of group_norm from one kernel: dx per (sample, group), dweight and dbias per channel. */
    static final class NativeGroupNormBackward0 extends Node {
        private final Saved input;
        private final Saved weight;
        private final boolean hasBias;
        private final Saved mean;
        private final Saved rstd;
        private final int n;
        private final int c;
        private final int hw;
        private final int groups;

        NativeGroupNormBackward0(Tensor x, Tensor weight, Tensor bias, Tensor mean, Tensor rstd, int n, int c, int hw, int groups) {
            this.input = save(x, "input");
            this.weight = weight == null ? null : save(weight, "weight");
            this.hasBias = bias != null;
            this.mean = save(mean, "result1");
            this.rstd = save(rstd, "result2");
            this.n = n;
            this.c = c;
            this.hw = hw;
            this.groups = groups;
        }

        @Override
        protected Tensor[] apply(Tensor g) {
            Tensor x = input.get();
            Tensor w = weight == null ? null : weight.get();
            Tensor dx = needsInputGrad(0) ? Tensor.allocate(DType.FLOAT32, x.shape()) : null;
            Tensor dw = w != null && needsInputGrad(1) ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
            Tensor db = hasBias && needsInputGrad(2) ? Tensor.allocate(DType.FLOAT32, new int[] {c}) : null;
            Tensor result = dx != null ? dx : dw != null ? dw : db;
            if (result == null) {
                return new Tensor[] {null, null, null};
            }
            int outIs = dx != null ? 0 : dw != null ? 1 : 2;
            Tensor dwExtra = outIs == 1 ? null : dw;
            Tensor dbExtra = outIs == 2 ? null : db;
            Tensor m = mean.get();
            Tensor rs = rstd.get();
            g.withContiguous(gc -> x.withContiguous(xc -> withContiguousOrNull(w, wc -> Launch.runOptional(r -> new PlanStep.GroupNormBackward(n,
                    c, hw, groups, outIs, r[0], r[1], r[2], r[3], r[4], r[5], r[6]), result, gc, xc, m, rs, wc, dwExtra, dbExtra))));
            return new Tensor[] {dx, dw, db};
        }
    }
}
