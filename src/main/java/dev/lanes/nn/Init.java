package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;

/** Initialisers like {@code torch.nn.init}; each fills a tensor in place (without recording a graph) and returns it. */
public final class Init {
    private Init() {
    }

    /** Fan in and fan out of a weight: {@code size(1) * receptive field} and {@code size(0) * receptive field}. */
    public static int[] fans(Tensor t) {
        if (t.dim() < 2) {
            throw new IllegalArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape "
                    + t.size() + ")");
        }
        int receptive = 1;
        for (int d = 2; d < t.dim(); d++) {
            receptive *= t.size(d);
        }
        return new int[] {t.size(1) * receptive, t.size(0) * receptive};
    }

    public static Tensor uniform_(Tensor t, double low, double high) {
        try (Autograd.Mode g = Autograd.noGrad()) {
            t.uniform_(low, high); // the bits of rand(shape).mul(high - low).add(low), in one pass
        }
        return t;
    }

    public static Tensor normal_(Tensor t, double mean, double std) {
        if (!(std >= 0)) {
            throw new IllegalArgumentException("normal expects std >= 0.0, but found std " + std);
        }
        try (MemoryScope s = MemoryScope.open(); Autograd.Mode g = Autograd.noGrad()) {
            t.copy_(Tensor.randn(t.shape()).mul(std).add(mean));
        }
        return t;
    }

    public static Tensor constant_(Tensor t, double value) {
        try (Autograd.Mode g = Autograd.noGrad()) {
            t.fill_(value);
        }
        return t;
    }

    public static Tensor zeros_(Tensor t) {
        return constant_(t, 0);
    }

    public static Tensor ones_(Tensor t) {
        return constant_(t, 1);
    }

    /** The recommended gain for a nonlinearity: relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)), tanh 5/3, linear/sigmoid 1. */
    public static double calculateGain(String nonlinearity, double param) {
        return switch (nonlinearity) {
            case "linear", "conv2d", "sigmoid" -> 1.0;
            case "tanh" -> 5.0 / 3;
            case "relu" -> Math.sqrt(2.0);
            case "leaky_relu" -> Math.sqrt(2.0 / (1 + param * param));
            default -> throw new IllegalArgumentException("Unsupported nonlinearity " + nonlinearity);
        };
    }

    /** He (Kaiming) uniform with fan in, like {@code kaiming_uniform_(t, a, mode='fan_in', nonlinearity='leaky_relu')}. */
    public static Tensor kaimingUniform_(Tensor t, double a) {
        if (t.numel() == 0) {
            return t; // PyTorch: "Initializing zero-element tensors is a no-op" (a fan of 0 made the bound infinite)
        }
        double std = calculateGain("leaky_relu", a) / Math.sqrt(fans(t)[0]);
        double bound = Math.sqrt(3.0) * std;
        return uniform_(t, -bound, bound);
    }

    public static Tensor kaimingNormal_(Tensor t, double a) {
        if (t.numel() == 0) {
            return t; // as kaimingUniform_
        }
        return normal_(t, 0, calculateGain("leaky_relu", a) / Math.sqrt(fans(t)[0]));
    }

    public static Tensor xavierUniform_(Tensor t, double gain) {
        int[] f = fans(t);
        double bound = gain * Math.sqrt(6.0 / (f[0] + f[1]));
        return uniform_(t, -bound, bound);
    }

    public static Tensor xavierNormal_(Tensor t, double gain) {
        int[] f = fans(t);
        return normal_(t, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])));
    }
}
