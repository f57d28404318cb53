package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.kernels.Winograd;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Property-based fuzzing of InferencePlan's fusion passes (fuseActivations, fuseResiduals with its step moves,
 * fuseShortcuts, chooseChannelsLast, Winograd and the arena layout): random small CNN forward functions over the public
 * API (convolutions of kernel 1 / 3 / 5, also 1 x 3 and 3 x 1, stride 1 / 2, symmetric and asymmetric padding,
 * dilation, groups; relu / gelu / sigmoid / tanh; max and average pooling; residual sums, ResNet basic and downsampling
 * blocks, a 1 x 1 stride-2 shortcut beside a strided 3 x 3 or 5 x 5 of the same input; tensors read by several
 * consumers; cat along channels; 3-32 channels, so Winograd and channels-last tensors kick in; batch 1-3; sides
 * 5-20), each traced into a plan and checked for:
 * <ol>
 *   <li>(a) the plan's output against the eager forward's within a bound propagated through the graph: every
 *       convolution adds {@link #EPS_CONV} of its sum of |w x| (Winograd's documented ~3e-6, with margin), activations
 *       and pools carry the bound by their Lipschitz constants (a wrong value is off by O(1) of that sum);</li>
 *   <li>(b) the plan traced with {@code -Dlanes.plan.fuseShortcuts=false} gives the same bits;</li>
 *   <li>(c) a second run of the same plan gives the same bits;</li>
 *   <li>(d) two threads running the plan at once, on different inputs, give the bits of a run alone;</li>
 *   <li>(e) {@link InferencePlan#traceUnchecked}, which records without computing, makes the same plan (the same bits).</li>
 * </ol>
 * A failure names the graph (its index, its seed and the program, each line one op, and the plan); {@code
 * -Dlanes.test.fuzzGraphSeed=S} (through {@code -Dlanes.test.jvmFlags}) replays that graph alone, {@code
 * -Dlanes.test.fuzzSeed} and {@code -Dlanes.test.fuzzGraphs} run another or a longer series. The passes also must have
 * fired across the run (shortcuts fused, residuals fused, Winograd and channels-last chosen), so a generator that
 * drifts away from them fails. Max-pool windows wholly in the padding (-inf) are made only where an activation that
 * gives a number reads them alone: Winograd lets an infinity reach its whole 4 x 4 output block, as documented.
 */
class PlanFusionFuzzTest {
    private static final long SEED = Long.getLong("lanes.test.fuzzSeed", 0x1a4e5f0221L);
    private static final int GRAPHS = Integer.getInteger("lanes.test.fuzzGraphs", 300);
    /** A convolution's rounding bound, relative to its sum of |w x| (Winograd's is ~3e-6; README). */
    private static final float EPS_CONV = 1e-5f;
    /** Every other op's rounding, relative to its result, and an absolute floor. */
    private static final float EPS_OP = 2e-6f;
    private static final float ABS = 1e-6f;

    // ---- the program: tensors t0 (the input), t1, ... each an op over earlier ones ----

    private abstract static class Node {
        final int[] src;
        int[] shape;

        Node(int... src) {
            this.src = src;
        }

        abstract Tensor eval(Tensor[] v);

        /** A bound on |computed - exact| for this tensor, elementwise, from the sources' values v and bounds e. */
        abstract Tensor bound(Tensor[] v, Tensor[] e, Tensor out);

        abstract String describe();

        void close() {
        }
    }

    private static final class Conv extends Node {
        final Tensor w;
        final Tensor b;
        final Tensor absW;
        final Tensor absB;
        final int[] stride;
        final int[] pad;
        final int[] dil;
        final int groups;

        Conv(int src, Tensor w, Tensor b, int[] stride, int[] pad, int[] dil, int groups) {
            super(src);
            this.w = w;
            this.b = b;
            this.absW = w.abs();
            this.absB = b == null ? null : b.abs();
            this.stride = stride;
            this.pad = pad;
            this.dil = dil;
            this.groups = groups;
        }

        @Override
        Tensor eval(Tensor[] v) {
            return Tensor.conv2d(v[src[0]], w, b, stride, pad, dil, groups);
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            Tensor carried = Tensor.conv2d(e[src[0]], absW, null, stride, pad, dil, groups);
            Tensor sum = Tensor.conv2d(v[src[0]].abs(), absW, absB, stride, pad, dil, groups);
            return carried.add(sum.mul(EPS_CONV)).add(ABS);
        }

        @Override
        String describe() {
            int[] s = w.shape();
            return "conv2d(t" + src[0] + ", w[" + s[0] + ", " + s[1] + ", " + s[2] + ", " + s[3] + "]" + (b == null ? ", no bias" : ", bias")
                    + ", stride " + Arrays.toString(stride) + ", pad " + Arrays.toString(pad) + ", dilation " + Arrays.toString(dil)
                    + ", groups " + groups + ")";
        }

        @Override
        void close() {
            w.close();
            absW.close();
            if (b != null) {
                b.close();
                absB.close();
            }
        }
    }

    private static final class Act extends Node {
        final String kind;

        Act(int src, String kind) {
            super(src);
            this.kind = kind;
        }

        @Override
        Tensor eval(Tensor[] v) {
            Tensor x = v[src[0]];
            return switch (kind) {
                case "relu" -> x.relu();
                case "gelu" -> x.gelu();
                case "sigmoid" -> x.sigmoid();
                case "tanh" -> x.tanh();
                default -> throw new IllegalStateException(kind);
            };
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            float lipschitz = switch (kind) {
                case "sigmoid" -> 0.25f;
                case "gelu" -> 1.13f;
                default -> 1f;
            };
            return e[src[0]].mul(lipschitz).add(out.abs().mul(EPS_OP)).add(ABS);
        }

        @Override
        String describe() {
            return kind + "(t" + src[0] + ")";
        }
    }

    private static final class Pool extends Node {
        final boolean max;
        final int[] k;
        final int[] stride;
        final int[] pad;
        final int[] dil;
        final boolean ceil;
        final boolean countPad;

        Pool(int src, boolean max, int[] k, int[] stride, int[] pad, int[] dil, boolean ceil, boolean countPad) {
            super(src);
            this.max = max;
            this.k = k;
            this.stride = stride;
            this.pad = pad;
            this.dil = dil;
            this.ceil = ceil;
            this.countPad = countPad;
        }

        private Tensor apply(Tensor x) {
            return max ? Tensor.maxPool2d(x, k, stride, pad, dil, ceil) : Tensor.avgPool2d(x, k, stride, pad, ceil, countPad);
        }

        @Override
        Tensor eval(Tensor[] v) {
            return apply(v[src[0]]);
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            // |max(a + da) - max(a)| <= max |da| over the window (a window wholly in the padding: -inf on both sides, exact);
            // an average is linear in its window
            return apply(e[src[0]]).clampMin(0).add(out.abs().mul(EPS_OP)).add(ABS);
        }

        @Override
        String describe() {
            return (max ? "maxPool2d(t" : "avgPool2d(t") + src[0] + ", k " + Arrays.toString(k) + ", stride " + Arrays.toString(stride) + ", pad "
                    + Arrays.toString(pad) + (max ? ", dilation " + Arrays.toString(dil) : ", countIncludePad " + countPad) + ", ceil " + ceil + ")";
        }
    }

    private static final class Add extends Node {
        final boolean relu;

        Add(int a, int b, boolean relu) {
            super(a, b);
            this.relu = relu;
        }

        @Override
        Tensor eval(Tensor[] v) {
            Tensor s = v[src[0]].add(v[src[1]]);
            return relu ? s.relu() : s;
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            return e[src[0]].add(e[src[1]]).add(v[src[0]].add(v[src[1]]).abs().mul(EPS_OP)).add(ABS);
        }

        @Override
        String describe() {
            return (relu ? "relu(add(t" : "add(t") + src[0] + ", t" + src[1] + (relu ? "))" : ")");
        }
    }

    private static final class Cat extends Node {
        Cat(int a, int b) {
            super(a, b);
        }

        @Override
        Tensor eval(Tensor[] v) {
            return Tensor.cat(new Tensor[] {v[src[0]], v[src[1]]}, 1);
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            return Tensor.cat(new Tensor[] {e[src[0]], e[src[1]]}, 1);
        }

        @Override
        String describe() {
            return "cat([t" + src[0] + ", t" + src[1] + "], 1)";
        }
    }

    private static final class Narrow extends Node {
        final int start;
        final int length;

        Narrow(int src, int start, int length) {
            super(src);
            this.start = start;
            this.length = length;
        }

        @Override
        Tensor eval(Tensor[] v) {
            return v[src[0]].narrow(1, start, length);
        }

        @Override
        Tensor bound(Tensor[] v, Tensor[] e, Tensor out) {
            return e[src[0]].narrow(1, start, length);
        }

        @Override
        String describe() {
            return "t" + src[0] + ".narrow(1, " + start + ", " + length + ")";
        }
    }

    /** A random forward function: nodes.get(i) makes t(i + 1); the result is the last. */
    private static final class Program {
        final int[] inputShape;
        final List<Node> nodes = new ArrayList<>();

        Program(int[] inputShape) {
            this.inputShape = inputShape;
        }

        int[] shape(int t) {
            return t == 0 ? inputShape : nodes.get(t - 1).shape;
        }

        int size() {
            return nodes.size() + 1;
        }

        Tensor forward(Tensor x) {
            Tensor[] v = new Tensor[size()];
            v[0] = x;
            for (int i = 0; i < nodes.size(); i++) {
                v[i + 1] = nodes.get(i).eval(v);
            }
            return v[v.length - 1];
        }

        /** The eager result and the propagated error bound of the last tensor, for input x. */
        float[][] eagerAndBound(float[] x) {
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor[] v = new Tensor[size()];
                Tensor[] e = new Tensor[size()];
                v[0] = Tensor.of(x, inputShape);
                e[0] = Tensor.zeros(inputShape);
                for (int i = 0; i < nodes.size(); i++) {
                    v[i + 1] = nodes.get(i).eval(v);
                    e[i + 1] = nodes.get(i).bound(v, e, v[i + 1]);
                }
                return new float[][] {v[v.length - 1].contiguous().toFloatArray(), e[e.length - 1].contiguous().toFloatArray()};
            }
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("t0 = input " + Arrays.toString(inputShape));
            for (int i = 0; i < nodes.size(); i++) {
                s.append("\n  t").append(i + 1).append(" = ").append(nodes.get(i).describe()).append(" -> ").append(Arrays.toString(nodes.get(i).shape));
            }
            return s.toString();
        }

        void close() {
            nodes.forEach(Node::close);
        }
    }

    // ---- the generator ----

    private static final class Gen {
        final Random r;
        final Program p;

        Gen(Random r, int[] inputShape) {
            this.r = r;
            this.p = new Program(inputShape);
        }

        /** Adds a node, its shape from running it eagerly on zeros; returns its tensor's index. */
        int add(Node n) {
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor[] v = new Tensor[p.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = Tensor.zeros(p.shape(i));
                }
                n.shape = n.eval(v).shape();
            }
            p.nodes.add(n);
            return p.size() - 1;
        }

        /**
         * Tensors that may hold -inf (a max-pool window wholly in the padding), read only by the activation after them:
         * Winograd lets an infinity reach its whole 4 x 4 block of outputs (README), where the direct convolution does not.
         */
        final java.util.Set<Integer> infinite = new java.util.HashSet<>();

        /** A source tensor, the recent ones likelier (the older ones then get several readers). */
        int pick() {
            int back = 0;
            while (back < p.size() - 1 && r.nextInt(3) == 0) {
                back++;
            }
            int t = p.size() - 1 - back;
            while (infinite.contains(t)) {
                t--; // the input never is
            }
            return t;
        }

        /** Whether every window of a pooling along a side of {@code size} holds an element of the input (PyTorch's sizes). */
        static boolean everyWindowHolds(int size, int k, int s, int pad, int dil, boolean ceil) {
            int span = size + 2 * pad - dil * (k - 1) - 1;
            int out = (ceil ? Math.ceilDiv(span, s) : Math.floorDiv(span, s)) + 1;
            if (ceil && (out - 1) * s >= size + pad) {
                out--;
            }
            for (int o = 0; o < out; o++) {
                boolean holds = false;
                for (int j = 0; j < k; j++) {
                    int at = o * s - pad + j * dil;
                    holds |= at >= 0 && at < size;
                }
                if (!holds) {
                    return false;
                }
            }
            return true;
        }

        int channels(int t) {
            return p.shape(t)[1];
        }

        int side(int t, int d) {
            return p.shape(t)[2 + d];
        }

        int outChannels(int in) {
            return switch (r.nextInt(6)) {
                case 0 -> 8;
                case 1, 2 -> 16;
                case 3 -> 32;
                case 4 -> 24;
                default -> in;
            };
        }

        Tensor randn(float scale, int... shape) {
            int n = 1;
            for (int s : shape) {
                n *= s;
            }
            float[] d = new float[n];
            for (int i = 0; i < n; i++) {
                d[i] = (float) r.nextGaussian() * scale;
            }
            return Tensor.of(d, shape);
        }

        /** A convolution of t, or -1 where its output would be empty. */
        int conv(int t, int out, int kH, int kW, int[] stride, int[] pad, int[] dil, int groups, boolean bias) {
            int c = channels(t);
            int[] padTl = pad.length == 4 ? new int[] {pad[0], pad[1]} : pad;
            int[] padBr = pad.length == 4 ? new int[] {pad[2], pad[3]} : pad;
            int[] k = {kH, kW};
            for (int d = 0; d < 2; d++) {
                int span = side(t, d) + padTl[d] + padBr[d] - dil[d] * (k[d] - 1);
                if (span < 1) {
                    return -1;
                }
            }
            float scale = (float) (1.3 / Math.sqrt((double) c / groups * kH * kW));
            Tensor w = randn(scale, out, c / groups, kH, kW);
            Tensor b = bias ? randn(0.2f, out) : null;
            return add(new Conv(t, w, b, stride, pad, dil, groups));
        }

        int conv(int t, int out, int k, int stride, int pad, boolean bias) {
            return conv(t, out, k, k, new int[] {stride, stride}, new int[] {pad, pad}, new int[] {1, 1}, 1, bias);
        }

        String act() {
            return switch (r.nextInt(5)) {
                case 0 -> "gelu";
                case 1 -> "sigmoid";
                case 2 -> "tanh";
                default -> "relu";
            };
        }

        /** One random op (or a block of several) after tensor t; returns the last tensor made, or t. */
        int step() {
            int t = pick();
            int c = channels(t);
            int h = side(t, 0);
            int w = side(t, 1);
            switch (r.nextInt(17)) {
                case 0, 1, 2 -> { // a random convolution, often activated
                    int k = new int[] {1, 3, 3, 5}[r.nextInt(4)];
                    int kH = k;
                    int kW = k;
                    if (r.nextInt(8) == 0) { // 1 x 3 or 3 x 1
                        kH = r.nextBoolean() ? 1 : 3;
                        kW = 4 - kH;
                    }
                    int[] stride = {1 + (r.nextInt(3) == 0 ? 1 : 0), 1};
                    stride[1] = r.nextInt(5) == 0 ? 3 - stride[0] : stride[0];
                    int[] dil = kH == 3 && kW == 3 && r.nextInt(5) == 0 ? new int[] {2, 2} : new int[] {1, 1};
                    int[] pad = switch (r.nextInt(5)) {
                        case 0 -> new int[] {0, 0};
                        case 1 -> new int[] {r.nextInt(kH / 2 * dil[0] + 1), r.nextInt(kW / 2 * dil[1] + 1), r.nextInt(kH / 2 * dil[0] + 1),
                                r.nextInt(kW / 2 * dil[1] + 1)};
                        default -> new int[] {kH / 2 * dil[0], kW / 2 * dil[1]};
                    };
                    int out = outChannels(c);
                    int groups = 1;
                    if (r.nextInt(5) == 0) {
                        int g = r.nextBoolean() ? c : 2;
                        if (c % g == 0 && out % g == 0) {
                            groups = g;
                        } else if (r.nextBoolean()) {
                            groups = c; // depthwise
                            out = c;
                        }
                    }
                    int made = conv(t, out, kH, kW, stride, pad, dil, groups, r.nextInt(4) != 0);
                    if (made >= 0 && r.nextInt(3) != 0) {
                        made = add(new Act(made, act()));
                    }
                    return made < 0 ? t : made;
                }
                case 3 -> {
                    return add(new Act(t, act()));
                }
                case 4 -> { // pooling, max or average
                    boolean max = r.nextBoolean();
                    int k = 2 + r.nextInt(2);
                    int s = r.nextBoolean() ? k == 2 ? 2 : 1 + r.nextInt(2) : 1;
                    int pad = r.nextInt(k / 2 + 1);
                    int dil = max && r.nextInt(5) == 0 ? 2 : 1;
                    if (Math.min(h, w) + 2 * pad < dil * (k - 1) + 1 || Math.min(h, w) < 4) {
                        return t;
                    }
                    boolean ceil = r.nextInt(4) == 0;
                    if (!everyWindowHolds(h, k, s, pad, dil, ceil) || !everyWindowHolds(w, k, s, pad, dil, ceil)) {
                        return t;
                    }
                    return add(new Pool(t, max, new int[] {k, k}, new int[] {s, s}, new int[] {pad, pad}, new int[] {dil, dil}, ceil, r.nextBoolean()));
                }
                case 5, 6 -> { // ResNet's basic block: relu(conv3(relu(conv3(x))) + x), the sum either way round
                    int a = conv(t, c, 3, 1, 1, r.nextBoolean());
                    a = add(new Act(a, "relu"));
                    int b = conv(a, c, 3, 1, 1, r.nextBoolean());
                    return r.nextBoolean() ? add(new Add(b, t, r.nextInt(4) != 0)) : add(new Add(t, b, r.nextInt(4) != 0));
                }
                case 7, 8 -> { // a downsampling block: relu(conv3(relu(conv3 s2(x))) + conv1x1 s2(x)), the shortcut traced anywhere
                    if (h < 4 || w < 4) {
                        return t;
                    }
                    int out = r.nextBoolean() ? 2 * c : 32;
                    int order = r.nextInt(3);
                    int sc = order == 0 ? conv(t, out, 1, 2, 0, r.nextBoolean()) : -1;
                    int a = add(new Act(conv(t, out, 3, 2, 1, r.nextBoolean()), "relu"));
                    if (order == 1) {
                        sc = conv(t, out, 1, 2, 0, r.nextBoolean());
                    }
                    int b = conv(a, out, 3, 1, 1, r.nextBoolean());
                    if (order == 2) {
                        sc = conv(t, out, 1, 2, 0, r.nextBoolean());
                    }
                    return r.nextBoolean() ? add(new Add(b, sc, r.nextInt(4) != 0)) : add(new Add(sc, b, r.nextInt(4) != 0));
                }
                case 9 -> { // a strided k x k and a 1 x 1 of the same input summed (dilated, 5 x 5, asymmetric pads, stride 2 x 1)
                    int out = outChannels(c);
                    int k = r.nextInt(3) == 0 ? 5 : 3;
                    int[] dil = k == 3 && r.nextInt(4) == 0 ? new int[] {2, 2} : new int[] {1, 1};
                    int[] stride = r.nextInt(4) == 0 ? new int[] {2, 1} : new int[] {2, 2};
                    int q = k / 2 * dil[0];
                    int[] pad = r.nextInt(4) == 0 ? new int[] {q, q, q - 1, q - 1} : new int[] {q, q};
                    boolean first = r.nextBoolean();
                    int sc = first ? conv(t, out, 1, 1, stride, new int[] {0, 0}, new int[] {1, 1}, 1, r.nextBoolean()) : -1;
                    int a = conv(t, out, k, k, stride, pad, dil, 1, r.nextBoolean());
                    if (a < 0) {
                        return t;
                    }
                    if (r.nextBoolean()) {
                        a = add(new Act(a, act()));
                    }
                    if (!first) {
                        sc = conv(t, out, 1, 1, stride, new int[] {0, 0}, new int[] {1, 1}, 1, r.nextBoolean());
                    }
                    if (!Arrays.equals(p.shape(a), p.shape(sc))) {
                        return add(new Cat(a, a));
                    }
                    return add(new Add(a, sc, r.nextBoolean()));
                }
                case 10 -> { // a residual sum of two tensors of one shape made anywhere, or a 3 x 3 of t plus t
                    for (int o = p.size() - 1; o >= 0; o--) {
                        if (o != t && !infinite.contains(o) && Arrays.equals(p.shape(o), p.shape(t))) {
                            return add(new Add(t, o, r.nextBoolean()));
                        }
                    }
                    int a = conv(t, c, 3, 1, 1, r.nextBoolean());
                    return r.nextBoolean() ? add(new Add(a, t, r.nextBoolean())) : add(new Add(t, a, r.nextBoolean()));
                }
                case 13 -> { // relu(max_pool(conv(x))), the ReLU fused across the pool where it commutes (or another activation)
                    int a = conv(t, outChannels(c), 3, 1, 1, r.nextBoolean());
                    int k = 2 + r.nextInt(2);
                    int pad = r.nextInt(k / 2 + 1);
                    int dil = r.nextInt(3) == 0 ? 2 : 1;
                    if (Math.min(h, w) + 2 * pad < dil * (k - 1) + 1) {
                        return a;
                    }
                    int s = 1 + r.nextInt(2);
                    boolean ceil = r.nextInt(4) == 0;
                    int pooled = add(new Pool(a, true, new int[] {k, k}, new int[] {s, s}, new int[] {pad, pad}, new int[] {dil, dil}, ceil, false));
                    String act = r.nextInt(3) == 0 ? act() : "relu";
                    if (!everyWindowHolds(p.shape(a)[2], k, s, pad, dil, ceil) || !everyWindowHolds(p.shape(a)[3], k, s, pad, dil, ceil)) {
                        infinite.add(pooled); // -inf there: only relu (the fusion's guard), sigmoid or tanh after it, which give a number
                        act = act.equals("gelu") ? "relu" : act;
                    }
                    return add(new Act(pooled, act));
                }
                case 14 -> { // a run of channels (a view at an offset when one image), read by one or two convolutions
                    if (c < 2) {
                        return t;
                    }
                    int length = 1 + r.nextInt(c - 1);
                    int start = r.nextInt(c - length + 1);
                    int v = add(new Narrow(t, start, length));
                    if (r.nextBoolean()) {
                        return v;
                    }
                    int out = outChannels(length);
                    int sc = conv(v, out, 1, 2, 0, r.nextBoolean());
                    int a = conv(v, out, 3, 2, 1, r.nextBoolean());
                    return Arrays.equals(p.shape(a), p.shape(sc)) ? add(new Add(sc, a, r.nextBoolean())) : a;
                }
                case 15 -> { // a sum of a tensor with itself (both operands one slot)
                    return add(new Add(t, t, r.nextBoolean()));
                }
                case 16 -> { // several stride-2 convolutions of one input, 1 x 1 and 3 x 3 (two shortcuts for one, or one for two), some activated
                    if (h < 3 || w < 3) {
                        return t;
                    }
                    int out = outChannels(c);
                    int made = -1;
                    for (int k = 0, n = 2 + r.nextInt(3); k < n; k++) {
                        boolean one = r.nextBoolean();
                        int a = conv(t, out, one ? 1 : 3, 2, one ? 0 : 1, r.nextBoolean());
                        if (r.nextInt(3) == 0) {
                            a = add(new Act(a, act()));
                        }
                        made = made < 0 ? a : r.nextBoolean() && Arrays.equals(p.shape(made), p.shape(a)) ? add(new Add(made, a, r.nextBoolean()))
                                : add(new Cat(made, a));
                    }
                    return made;
                }
                default -> { // cat along channels with another tensor of t's images and sides (or with t itself)
                    for (int o = p.size() - 1; o >= 0; o--) {
                        int[] s = p.shape(o);
                        if (o != t && !infinite.contains(o) && s[0] == p.shape(t)[0] && s[2] == h && s[3] == w && s[1] + c <= 48) {
                            return add(new Cat(o, t));
                        }
                    }
                    return c <= 24 ? add(new Cat(t, t)) : t;
                }
            }
        }
    }

    private static Program generate(Random r) {
        int images = 1 + r.nextInt(3);
        int c = new int[] {3, 8, 16, 16, 20, 32}[r.nextInt(6)];
        int h = 5 + r.nextInt(16);
        int w = r.nextInt(3) == 0 ? 5 + r.nextInt(16) : h;
        Gen g = new Gen(r, new int[] {images, c, h, w});
        int ops = 3 + r.nextInt(6);
        for (int i = 0; i < ops; i++) {
            g.step();
        }
        return g.p;
    }

    // ---- the checks ----

    private static float[] input(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static float[] run(InferencePlan plan, float[] x) {
        float[] out = new float[plan.outputSize()];
        plan.run(x, out);
        return out;
    }

    private static void sameBits(String what, float[] expected, float[] actual) {
        assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected the bits of " + expected[i]);
            }
        }
    }

    private static InferencePlan trace(Function<Tensor, Tensor> f, int[] shape, boolean fuseShortcuts) {
        if (fuseShortcuts) {
            System.clearProperty("lanes.plan.fuseShortcuts");
        } else {
            System.setProperty("lanes.plan.fuseShortcuts", "false");
        }
        try {
            return InferencePlan.trace(f, shape);
        } finally {
            System.clearProperty("lanes.plan.fuseShortcuts");
        }
    }

    /** Counts of what the fused plans did, over the run. */
    private static final class Coverage {
        int shortcuts;
        int residuals;
        int winograd;
        int channelsLast;
        int steps;
        /** Residual sums reading their residual in the other layout than their output's (Winograd.MIXED_RESIDUAL). */
        int mixedResiduals;
        /** Graphs whose traceUnchecked plan was the checked one's, bit for bit. */
        int sameUnchecked;
        double worstRatio;

        void add(InferencePlan plan) {
            String s = plan.toString();
            shortcuts += count(s, "from its staging");
            winograd += count(s, "winograd F(4x4,3x3)");
            channelsLast += count(s, "(channels-last");
            mixedResiduals += count(s, "(residual channels-");
            for (String line : s.split("\n")) {
                int at = line.indexOf("winograd F(4x4,3x3)");
                if (at >= 0 && line.substring(at).replaceFirst(" \\+ bias \\S+", "").contains(" + ")) {
                    residuals++; // a residual sum in the convolution's epilogue
                }
            }
            steps += plan.stepCount();
        }

        static int count(String s, String what) {
            int n = 0;
            for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
                n++;
            }
            return n;
        }
    }

    /** Checks (a) to (d) on one program; the fused plan's description for the coverage. */
    private static void check(Program p, Random r, Coverage coverage) throws Exception {
        int[] shape = p.inputShape;
        int n = Shapes.checkedNumel(shape);
        float[] x = input(r, n);
        float[] x2 = input(r, n);
        Function<Tensor, Tensor> f = p::forward;
        float[][] eb = p.eagerAndBound(x);
        float[] eager = eb[0];
        float[] bound = eb[1];
        try (InferencePlan plan = trace(f, shape, true); InferencePlan unfused = trace(f, shape, false)) {
            coverage.add(plan);
            assertThat(unfused.toString()).as("the plan traced with -Dlanes.plan.fuseShortcuts=false").doesNotContain("from its staging");
            float[] out = run(plan, x);
            // (a) the eager forward's values, within the propagated bound (both sides are within it of the exact result)
            assertThat(out.length).as("output size").isEqualTo(eager.length);
            for (int i = 0; i < out.length; i++) {
                float tol = 2 * bound[i] + EPS_OP * Math.abs(eager[i]);
                float diff = Math.abs(out[i] - eager[i]);
                if (!(diff <= tol)) {
                    throw new AssertionError("(a) plan vs eager: element " + i + " of " + out.length + " is " + out[i] + ", eager " + eager[i] + " (|diff| "
                            + diff + " > bound " + tol + ")\nplan:\n" + plan);
                }
                if (tol > 0) {
                    coverage.worstRatio = Math.max(coverage.worstRatio, diff / tol);
                }
            }
            // (b) the bits of the plan without fused shortcuts
            sameBits("(b) fuseShortcuts=false\nfused plan:\n" + plan + "\nunfused plan:\n" + unfused, out, run(unfused, x));
            // (c) a second run
            sameBits("(c) second run", out, run(plan, x));
            // (e) traced without computing (InferencePlan.traceUnchecked: only the kernels over constants run, to be
            // folded): the same plan and the same bits, unless the checked plan's self-check took its Winograd
            // convolutions back to the direct form, which only the checked trace does
            try (InferencePlan dry = InferencePlan.traceUnchecked(f, shape)) {
                float[] dryOut = run(dry, x);
                if (dry.toString().equals(plan.toString())) {
                    sameBits("(e) traceUnchecked\nplan:\n" + plan, out, dryOut);
                    coverage.sameUnchecked++;
                } else {
                    assertThat(plan.toString()).as("(e) a plan traceUnchecked made otherwise:\n" + dry).doesNotContain("winograd");
                    for (int i = 0; i < dryOut.length; i++) { // the unchecked plan still within (a)'s bound of the eager forward
                        float tol = 2 * bound[i] + EPS_OP * Math.abs(eager[i]);
                        assertThat(Math.abs(dryOut[i] - eager[i])).as("(e) unchecked plan vs eager, element %d\n%s", i, dry).isLessThanOrEqualTo(tol);
                    }
                }
            }
            // (d) two threads at once, each on its own input, give the bits of a run alone
            float[][] inputs = {x, x2};
            float[][] alone = {out, run(plan, x2)};
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            Concurrently.run(2, thread -> {
                start.await();
                for (int k = 0; k < 4; k++) {
                    sameBits("(d) thread " + thread + " run " + k, alone[thread], run(plan, inputs[thread]));
                }
            });
        }
    }

    @Test
    void randomConvNetsPlanLikeTheirEagerForwardFusedOrNotOnAnyThread() throws Exception {
        Random r = new Random(SEED);
        Coverage coverage = new Coverage();
        List<String> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        Long one = Long.getLong("lanes.test.fuzzGraphSeed"); // one graph of a failure's report, alone
        int graphs = one == null ? GRAPHS : 1;
        for (int g = 0; g < graphs; g++) {
            long seed = one == null ? r.nextLong() : one;
            Program p = generate(new Random(seed));
            try {
                check(p, new Random(seed ^ 0x9e3779b97f4a7c15L), coverage);
            } catch (Exception | AssertionError e) {
                failures.add("graph " + g + " (seed " + seed + "L):\n" + p + "\n" + e + (e.getCause() == null ? "" : "\ncaused by " + e.getCause()));
                if (failures.size() >= 3) {
                    break;
                }
            } finally {
                p.close();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("PlanFusionFuzzTest: %d graphs in %.1f s; %d plan steps, %d Winograd convolutions (%d channels-last, %d with a"
                + " residual sum, %d of them reading it in the other layout), %d fused shortcuts, %d the same plan traced unchecked, worst |plan - eager|"
                + " / bound %.3g%n", graphs, seconds, coverage.steps, coverage.winograd, coverage.channelsLast, coverage.residuals, coverage.mixedResiduals,
                coverage.shortcuts, coverage.sameUnchecked, coverage.worstRatio);
        assertThat(failures).as("graphs that failed").isEmpty();
        if (one != null) {
            return;
        }
        assertThat(coverage.shortcuts).as("fused shortcuts").isGreaterThan(0);
        assertThat(coverage.sameUnchecked).as("graphs planned alike unchecked").isGreaterThan(graphs * 9 / 10);
        if (Winograd.ENABLED) {
            assertThat(coverage.winograd).as("Winograd convolutions").isGreaterThan(0);
            assertThat(coverage.residuals).as("fused residual sums").isGreaterThan(0);
            if (Winograd.CHANNELS_LAST) {
                assertThat(coverage.channelsLast).as("channels-last convolutions").isGreaterThan(0);
                if (Winograd.MIXED_RESIDUAL) {
                    assertThat(coverage.mixedResiduals).as("residual sums across layouts").isGreaterThan(0);
                }
            }
        }
    }
}
