package dev.lanes;

import static dev.lanes.Shapes.str;

import dev.lanes.autograd.Node;
import dev.lanes.kernels.Conv2dDriver;
import dev.lanes.kernels.Im2col;

/**
 * conv2d forward and backward (input, weight and bias gradients) with stride, padding (ints, or "same"/"valid"),
 * dilation and groups, as im2col + packed GEMM; a 1x1 / stride-1 / unpadded convolution reads the input as the
 * GEMM operand directly. Images are split across threads (each with its own column buffer); with one image the
 * GEMM itself runs on all threads. Kernels: {@code kernels.Im2col}, {@code kernels.Sgemm}; tests: {@code KernelsGoldenTest}, {@code ConvPoolPropertyTest}.
 */
final class ConvOps {
    private ConvOps() {
    }

    /** Stride, padding (top/left/bottom/right), dilation and groups. */
    record Params(int sH, int sW, int pT, int pL, int pB, int pR, int dH, int dW, int groups) {
    }

    /** Padding is one int, a pair, or four ints {@code [top, left, bottom, right]} (ONNX's asymmetric pads). */
    static Params params(int[] stride, int[] padding, int[] dilation, int groups) {
        int[] s = pair(stride, "stride", 1);
        int[] p = padding != null && padding.length == 4 ? padding.clone() : quad(pair(padding, "padding", 0));
        int[] d = pair(dilation, "dilation", 1);
        if (s[0] <= 0 || s[1] <= 0) {
            throw new IllegalArgumentException("conv2d: non-positive stride is not supported, got " + str(s));
        }
        if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0) {
            throw new IllegalArgumentException("conv2d: negative padding is not supported, got " + str(p));
        }
        if (d[0] <= 0 || d[1] <= 0) {
            throw new IllegalArgumentException("conv2d: dilation should be greater than zero, got " + str(d));
        }
        if (groups <= 0) {
            throw new IllegalArgumentException("conv2d: non-positive groups is not supported, got " + groups);
        }
        return new Params(s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1], groups);
    }

    /** padding="same" (stride 1 only; odd total padding puts the extra row/column at the bottom/right, like PyTorch) or "valid". */
    static Params params(int[] stride, String padding, int[] dilation, int groups, Tensor weight) {
        Params base = params(stride, null, dilation, groups);
        switch (padding) {
            case "valid" -> {
                return base;
            }
            case "same" -> {
                if (base.sH() != 1 || base.sW() != 1) {
                    throw new IllegalArgumentException("padding='same' is not supported for strided convolutions");
                }
                int[] ws = weight.shapeRef();
                if (ws.length != 4) {
                    throw new IllegalArgumentException("conv2d: expected a 4-d weight, got " + str(ws));
                }
                checkKernel(ws);
                long thL = (long) base.dH() * (ws[2] - 1); // in long: a dilation near 2^31 wrapped to a negative padding
                long twL = (long) base.dW() * (ws[3] - 1);
                if (thL > Integer.MAX_VALUE || twL > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("conv2d: padding='same' with dilation (" + base.dH() + ", " + base.dW() + ") and kernel "
                            + ws[2] + "x" + ws[3] + " needs a padding of (" + thL + ", " + twL + "), more than " + Integer.MAX_VALUE);
                }
                int th = (int) thL;
                int tw = (int) twL;
                return new Params(1, 1, th / 2, tw / 2, th - th / 2, tw - tw / 2, base.dH(), base.dW(), groups);
            }
            default -> throw new IllegalArgumentException("Invalid padding string '" + padding + "', should be one of {'valid', 'same'}");
        }
    }

    /** a * b, or an IllegalArgumentException naming the shapes when it overflows a long (was an ArithmeticException). */
    private static long multiplyOrRefuse(long a, long b, String op, int[] xs, int[] ws) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(op + ": sizes overflow (" + a + " x " + b + ") for input " + str(xs) + " and weight " + str(ws));
        }
    }

    /** PyTorch's check: a kernel of 0 rows or columns gave an output one row taller than the input, all bias. */
    private static void checkKernel(int[] ws) {
        if (ws[2] <= 0 || ws[3] <= 0) {
            throw new IllegalArgumentException("kernel size should be greater than zero, but got kernel_height: " + ws[2] + " kernel_width: " + ws[3]
                    + " (weight " + str(ws) + ")");
        }
    }

    private static int[] pair(int[] v, String name, int dflt) {
        if (v == null || v.length == 0) {
            return new int[] {dflt, dflt};
        }
        if (v.length == 1) {
            return new int[] {v[0], v[0]};
        }
        if (v.length == 2) {
            return v.clone();
        }
        throw new IllegalArgumentException("conv2d: " + name + " must be one int or a pair" + (name.equals("padding") ? " (or four: top, left,"
                + " bottom, right)" : "") + ", got " + str(v));
    }

    /** Shapes of one call, validated with PyTorch's messages. */
    record Shape(int n, int c, int h, int w, int o, int cg, int og, int kH, int kW, Im2col.Geometry geo, boolean direct) {
        int k() {
            return geo.rows();
        }

        int l() {
            return geo.cols();
        }
    }

    private static Shape shape(Tensor x, Tensor weight, Tensor bias, Params p) {
        int[] xs = x.shapeRef();
        int[] ws = weight.shapeRef();
        if (xs.length != 4) {
            String hint = xs.length == 3 ? " (a single image? add the batch dimension with input.unsqueeze(0))" : "";
            throw new IllegalArgumentException("conv2d: expected a 4-d input [batch, channels, height, width] but got shape "
                    + str(xs) + hint);
        }
        if (ws.length != 4) {
            throw new IllegalArgumentException("conv2d: expected a 4-d weight [out_channels, in_channels / groups, kH, kW] but got shape " + str(ws));
        }
        checkKernel(ws);
        if (xs[2] == 0 || xs[3] == 0) { // with padding, an empty plane made an output of bias alone
            throw new IllegalArgumentException("Only zero batch or zero channel inputs are supported, but got input shape: " + str(xs));
        }
        int g = p.groups();
        if (ws[0] < g) { // no output channels: PyTorch refuses it
            throw new IllegalArgumentException("Given groups=" + g + ", expected weight to be at least " + g + " at dimension 0, but got weight of size "
                    + str(ws) + " instead");
        }
        if (ws[0] % g != 0) {
            throw new IllegalArgumentException("conv2d: out_channels (" + ws[0] + ") must be divisible by groups (" + g + ")");
        }
        if (xs[1] != ws[1] * g) {
            throw new IllegalArgumentException("Given groups=" + g + ", weight of size " + str(ws) + ", expected input" + str(xs) + " to have "
                    + (ws[1] * g) + " channels, but got " + xs[1] + " channels instead");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != ws[0])) {
            throw new IllegalArgumentException("conv2d: expected bias of shape [" + ws[0] + "] but got " + str(bias.shapeRef()));
        }
        // in long: a dilation or padding near Integer.MAX_VALUE must be refused, not wrap around into a small kernel
        long effH = (long) p.dH() * (ws[2] - 1) + 1;
        long effW = (long) p.dW() * (ws[3] - 1) + 1;
        long padH = (long) xs[2] + p.pT() + p.pB();
        long padW = (long) xs[3] + p.pL() + p.pR();
        if (padH < effH || padW < effW) {
            throw new IllegalArgumentException("conv2d: calculated padded input size per channel: (" + padH + " x " + padW
                    + "). Kernel size: (" + effH + " x " + effW + "). Kernel size can't be greater than actual input size");
        }
        if (padH > Integer.MAX_VALUE || padW > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("conv2d: padded input size (" + padH + " x " + padW + ") exceeds " + Integer.MAX_VALUE);
        }
        int oH = (int) ((padH - effH) / p.sH() + 1);
        int oW = (int) ((padW - effW) / p.sW() + 1);
        long columns = multiplyOrRefuse((long) ws[1] * ws[2] * ws[3], (long) oH * oW, "conv2d", xs, ws);
        if (columns > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("conv2d: the im2col buffer of one image would hold " + columns + " floats (more than "
                    + (Integer.MAX_VALUE - 8) + "): input " + str(xs) + ", weight " + str(ws));
        }
        Im2col.Geometry geo = new Im2col.Geometry(ws[1], xs[2], xs[3], ws[2], ws[3], p.sH(), p.sW(), p.pT(), p.pL(), p.dH(), p.dW(), oH, oW);
        boolean direct = ws[2] == 1 && ws[3] == 1 && p.sH() == 1 && p.sW() == 1 && p.pT() == 0 && p.pL() == 0 && p.pB() == 0 && p.pR() == 0;
        return new Shape(xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], ws[0] / g, ws[2], ws[3], geo, direct);
    }

    static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Params p) {
        input.requireFloat("conv2d");
        weight.requireFloat("conv2d");
        if (bias != null) {
            bias.requireFloat("conv2d");
        }
        Shape s = shape(input, weight, bias, p);
        Tensor out = Tensor.allocate(DType.FLOAT32, new int[] {s.n(), s.o(), s.geo().oH(), s.geo().oW()});
        boolean record = Tensor.recording(input, weight, bias);
        // the weight gradient needs every image's columns again. Images that stage on the heap unfold them again
        // (Conv2dDriver.weightGradient): cheaper than writing and reading kept columns, which for ResNet-20 at batch 128
        // were 37 MB per layer and cost ~10 ms of a 25 ms forward. Larger images keep them when they are small enough.
        Tensor keptColumns = record && weight.requiresGrad() && !s.direct() && !Conv2dDriver.staged(s.geo())
                && (long) s.n() * p.groups() * s.k() * s.l() * 4 <= KEEP_COLUMNS_MAX_BYTES
                ? Tensor.allocate(DType.FLOAT32, new int[] {s.n() * p.groups(), s.k() * s.l()}) : null;
        input.withContiguous(x -> weight.withContiguous(w -> bias == null ? forward(x, w, null, s, p, out, keptColumns)
                : bias.withContiguous(b -> forward(x, w, b, s, p, out, keptColumns))));
        // a missing bias is listed as (None, 0), like PyTorch's undefined tensor
        if (record) {
            Tensor.record(out, () -> new ConvolutionBackward0(input, weight, bias != null, s, p, keptColumns), input, weight, bias);
        }
        if (keptColumns != null) {
            keptColumns.close(); // the node holds its own reference until backward has used it
        }
        return out;
    }

    /** Column bytes a forward pass may keep for the weight gradient (LeNet: about 9 MB at batch 64). */
    static final long KEEP_COLUMNS_MAX_BYTES = 64L << 20;

    /** The forward kernel: {@code PlanStep.Conv} (the same driver a plan replays) launched over these tensors. */
    private static Tensor forward(Tensor x, Tensor w, Tensor b, Shape s, Params p, Tensor out, Tensor keptColumns) {
        int[] shape = out.shapeRef();
        int keptArg = b == null ? 2 : 3;
        java.util.function.Function<Ref[], PlanStep> step = r -> new PlanStep.Conv(s.n(), s.c(), p.groups(), s.o(), s.geo(), s.direct(),
                r[0], r[1], b == null ? null : r[2], keptColumns == null ? null : r[keptArg], shape);
        // the kept columns (training only) are a second output
        Tensor[] inputs = b == null
                ? (keptColumns == null ? new Tensor[] {x, w} : new Tensor[] {x, w, keptColumns})
                : (keptColumns == null ? new Tensor[] {x, w, b} : new Tensor[] {x, w, b, keptColumns});
        return Launch.run(step, out, inputs);
    }

    /**
     * Transposed convolution ({@code torch.nn.functional.conv_transpose2d}) of {@code input [N, Cin, H, W]} with
     * {@code weight [Cin, Cout / groups, kH, kW]}: exactly the input gradient of the convolution of an image
     * {@code [N, Cout, Hout, Wout]} by the same weight that has {@code input} as its output, so it runs that kernel
     * ({@code PlanStep.ConvBackward} INPUT: W^T x then col2im, or for stride 1 a correlation with the flipped weights).
     * {@code Hout = (H - 1) sH - pT - pB + dH (kH - 1) + 1 + opH}; the padding crops the full output (pT rows from the
     * top, pB from the bottom), the output padding adds rows at the bottom that no input reaches (zero, plus bias).
     * Its backward is the convolution's forward for the input and the convolution's weight gradient with the roles of
     * input and output gradient exchanged.
     *
     * @param pad           top, left, bottom, right (each at least 0)
     * @param outputPadding extra rows and columns at the bottom and right (each at least 0)
     */
    static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] pad, int[] outputPadding, int[] dilation, int groups) {
        input.requireFloat("conv_transpose2d");
        weight.requireFloat("conv_transpose2d");
        if (bias != null) {
            bias.requireFloat("conv_transpose2d");
        }
        Shape s = transposedShape(input, weight, bias, stride, pad, outputPadding, dilation, groups);
        Tensor out = Tensor.allocate(DType.FLOAT32, new int[] {s.n(), s.c(), s.h(), s.w()});
        input.withContiguous(x -> weight.withContiguous(w -> Launch.run(r -> new PlanStep.ConvBackward(PlanStep.ConvBackward.Kind.INPUT, s, groups,
                r[0], r[1]), out, x, w)));
        Tensor.record(out, () -> new ConvolutionBackward0Transposed(input, weight, s, groups), input, weight);
        if (bias == null) {
            return out;
        }
        try (Tensor b = bias.reshape(1, s.c(), 1, 1); Tensor unbiased = out) {
            return unbiased.add(b);
        }
    }

    /**
     * The shapes of a transposed convolution as those of the convolution whose input gradient it is: that
     * convolution's input is the result {@code [N, Cout, Hout, Wout]}, its output {@code input}, its weight the same.
     * Sizes are checked in long arithmetic before anything is allocated.
     */
    private static Shape transposedShape(Tensor input, Tensor weight, Tensor bias, int[] stride, int[] pad, int[] outputPadding, int[] dilation,
                                         int groups) {
        int[] xs = input.shapeRef();
        int[] ws = weight.shapeRef();
        if (xs.length != 4) {
            throw new IllegalArgumentException("conv_transpose2d: expected a 4-d input [batch, channels, height, width] but got shape " + str(xs));
        }
        if (ws.length != 4) {
            throw new IllegalArgumentException("conv_transpose2d: expected a 4-d weight [in_channels, out_channels / groups, kH, kW] but got shape "
                    + str(ws));
        }
        int[] st = pair(stride, "stride", 1);
        int[] d = pair(dilation, "dilation", 1);
        int[] op = pair(outputPadding, "output_padding", 0);
        int[] p = pad == null || pad.length == 0 ? new int[4] : pad.length == 4 ? pad.clone() : quad(pair(pad, "padding", 0));
        if (st[0] <= 0 || st[1] <= 0 || d[0] <= 0 || d[1] <= 0 || groups <= 0) {
            throw new IllegalArgumentException("conv_transpose2d: stride " + str(st) + ", dilation " + str(d) + " and groups " + groups
                    + " must be positive");
        }
        if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0 || op[0] < 0 || op[1] < 0) {
            throw new IllegalArgumentException("conv_transpose2d: negative padding " + str(p) + " or output_padding " + str(op));
        }
        for (int i = 0; i < 2; i++) { // PyTorch's rule: a larger output_padding adds rows no input reaches
            if (op[i] >= st[i] && op[i] >= d[i]) {
                throw new IllegalArgumentException("conv_transpose2d: output padding must be smaller than either stride or dilation, but got output_padding "
                        + str(op) + ", stride " + str(st) + " and dilation " + str(d));
            }
        }
        checkKernel(ws);
        if (ws[0] < groups) { // no input channels (0 % groups passed): PyTorch refuses it
            throw new IllegalArgumentException("Given groups=" + groups + ", expected weight to be at least " + groups
                    + " at dimension 0, but got weight of size " + str(ws) + " instead");
        }
        if (ws[1] == 0) { // no output channels
            throw new IllegalArgumentException("non-empty 2D or 4D weight tensor expected, but got: " + str(ws));
        }
        if (ws[0] % groups != 0 || xs[1] != ws[0]) {
            throw new IllegalArgumentException("conv_transpose2d: weight of size " + str(ws) + " with groups=" + groups + " expects an input with "
                    + ws[0] + " channels (divisible by groups), got " + str(xs));
        }
        long cOut = (long) ws[1] * groups;
        if (bias != null && (bias.dim() != 1 || bias.size(0) != cOut)) {
            throw new IllegalArgumentException("conv_transpose2d: expected bias of shape [" + cOut + "] but got " + str(bias.shapeRef()));
        }
        long outH = (long) (xs[2] - 1) * st[0] - p[0] - p[2] + (long) d[0] * (ws[2] - 1) + 1 + op[0];
        long outW = (long) (xs[3] - 1) * st[1] - p[1] - p[3] + (long) d[1] * (ws[3] - 1) + 1 + op[1];
        if (xs[2] < 1 || xs[3] < 1 || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("conv_transpose2d: input " + str(xs) + " with weight " + str(ws) + ", stride " + str(st) + ", padding "
                    + str(p) + ", output_padding " + str(op) + " and dilation " + str(d) + " gives an output of " + outH + " x " + outW);
        }
        // the result, and the column matrix [Cout/groups kH kW, H W] of one image and group, are indexed in int
        if (outH > Integer.MAX_VALUE - 8 || outW > Integer.MAX_VALUE - 8) { // on their own: with a batch of 0 the product is 0
            throw new IllegalArgumentException("conv_transpose2d: an output of " + outH + " x " + outW + " (input " + str(xs) + ", weight " + str(ws)
                    + ", stride " + str(st) + ", dilation " + str(d) + ") is over " + (Integer.MAX_VALUE - 8) + " a side");
        }
        long elements = multiplyOrRefuse(multiplyOrRefuse(xs[0], cOut, "conv_transpose2d", xs, ws), multiplyOrRefuse(outH, outW, "conv_transpose2d", xs, ws),
                "conv_transpose2d", xs, ws);
        long columns = multiplyOrRefuse((long) ws[1] * ws[2] * ws[3], (long) xs[2] * xs[3], "conv_transpose2d", xs, ws);
        if (elements > Integer.MAX_VALUE - 8 || columns > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("conv_transpose2d: the output [" + xs[0] + ", " + cOut + ", " + outH + ", " + outW + "] ("
                    + elements + " floats) or its column matrix (" + columns + " floats) is over " + (Integer.MAX_VALUE - 8));
        }
        int h = (int) outH;
        int w = (int) outW;
        Im2col.Geometry geo = new Im2col.Geometry(ws[1], h, w, ws[2], ws[3], st[0], st[1], p[0], p[1], d[0], d[1], xs[2], xs[3]);
        // a 1x1 stride-1 unpadded convolution is a plain GEMM only when the sizes also agree (output padding adds rows)
        boolean direct = ws[2] == 1 && ws[3] == 1 && st[0] == 1 && st[1] == 1 && h == xs[2] && w == xs[3] && p[0] == 0 && p[1] == 0;
        return new Shape(xs[0], (int) cOut, h, w, xs[1], ws[1], ws[0] / groups, ws[2], ws[3], geo, direct);
    }

    private static int[] quad(int[] hw) {
        return new int[] {hw[0], hw[1], hw[0], hw[1]};
    }

    /**
     * The transposed convolution's backward, in PyTorch's name: the input gradient is the forward convolution of
     * the output gradient (the same geometry, read the other way), the weight gradient that convolution's weight
     * gradient with the input as its output gradient.
     */
    static final class ConvolutionBackward0Transposed extends Node {
        private final Saved input;
        private final Saved weight;
        private final Shape s;
        private final int groups;

        ConvolutionBackward0Transposed(Tensor input, Tensor weight, Shape s, int groups) {
            this.input = weight.requiresGrad() ? save(input, "argument 0") : null;
            this.weight = input.requiresGrad() ? save(weight, "argument 1") : null;
            this.s = s;
            this.groups = groups;
        }

        @Override
        public String name() {
            return "ConvolutionBackward0";
        }

        @Override
        protected Tensor[] apply(Tensor gradOut) {
            Tensor[] grads = new Tensor[2];
            gradOut.withContiguous(g -> {
                if (needsInputGrad(0)) {
                    int[] shape = {s.n(), s.o(), s.geo().oH(), s.geo().oW()};
                    grads[0] = weight.get().withContiguous(w -> Launch.run(r -> new PlanStep.Conv(s.n(), s.c(), groups, s.o(), s.geo(), s.direct(),
                            r[0], r[1], null, shape), Tensor.allocate(DType.FLOAT32, shape), g, w));
                }
                if (needsInputGrad(1)) {
                    int[] shape = {s.o(), s.cg(), s.kH(), s.kW()};
                    grads[1] = input.get().withContiguous(x -> Launch.run(r -> new PlanStep.ConvBackward(PlanStep.ConvBackward.Kind.WEIGHT, s, groups,
                            r[0], r[1]), Tensor.allocate(DType.FLOAT32, shape), x, g));
                }
                return null;
            });
            return grads;
        }
    }

    static final class ConvolutionBackward0 extends Node {
        private final Saved input;
        private final Saved weight;
        private final Saved columns;
        private final boolean hasBias;
        private final Shape s;
        private final Params p;

        ConvolutionBackward0(Tensor input, Tensor weight, boolean hasBias, Shape s, Params p, Tensor keptColumns) {
            this.columns = keptColumns == null ? null : save(keptColumns, "im2col columns");
            this.input = weight.requiresGrad() && keptColumns == null ? save(input, "argument 0") : null;
            this.weight = input.requiresGrad() ? save(weight, "argument 1") : null;
            this.hasBias = hasBias;
            this.s = s;
            this.p = p;
        }

        @Override
        protected Tensor[] apply(Tensor gradOut) {
            Tensor[] grads = new Tensor[3];
            gradOut.withContiguous(g -> {
                if (needsInputGrad(0)) {
                    grads[0] = weight.get().withContiguous(w -> launch(PlanStep.ConvBackward.Kind.INPUT, g, w,
                            new int[] {s.n(), s.c(), s.h(), s.w()}));
                }
                if (needsInputGrad(1)) {
                    int[] shape = {s.o(), s.cg(), s.kH(), s.kW()};
                    grads[1] = columns != null ? launch(PlanStep.ConvBackward.Kind.WEIGHT_FROM_COLUMNS, g, columns.get(), shape)
                            : input.get().withContiguous(x -> launch(PlanStep.ConvBackward.Kind.WEIGHT, g, x, shape));
                }
                if (hasBias && needsInputGrad(2)) {
                    grads[2] = Launch.run(r -> new PlanStep.ConvBackward(PlanStep.ConvBackward.Kind.BIAS, s, p.groups(), r[0], null),
                            Tensor.allocate(DType.FLOAT32, new int[] {s.o()}), g);
                }
                return null;
            });
            return grads;
        }

        private Tensor launch(PlanStep.ConvBackward.Kind kind, Tensor g, Tensor other, int[] shape) {
            return Launch.run(r -> new PlanStep.ConvBackward(kind, s, p.groups(), r[0], r[1]), Tensor.allocate(DType.FLOAT32, shape), g, other);
        }
    }
}
