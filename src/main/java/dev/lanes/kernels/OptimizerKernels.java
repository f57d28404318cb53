package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Optimizer updates, one pass over each parameter with every state buffer updated in registers (PyTorch runs
 * 3-6 separate kernels with temporaries). Each line follows PyTorch 1.13's single-tensor formula in the same
 * order, rounding to float32 at the same points, including where torch's kernels fuse a product and a sum into one
 * FMA (add with alpha is vec::fmadd; addcmul's self + v t1 t2 is contracted by its compiler: a product rounded before
 * the add differed from torch in a third of SGD's elements and up to 8% of Adam's over ten steps); the scalar tails
 * use the same expressions. All segments
 * are contiguous floats of {@code n} elements at the given byte offsets; absent buffers are null.
 */
public final class OptimizerKernels {
    private OptimizerKernels() {
    }

    /**
     * SGD: {@code d = fma(p, wd, g)}; with momentum {@code buf = first ? d : fma(d, 1 - dampening, buf * m)},
     * {@code d = nesterov ? fma(buf, m, d) : buf}; {@code p = fma(d, -lr, p)}. {@code oneMinusDampening} is
     * {@code (float) (1 - dampening)}, computed in double by the caller.
     */
    public static void sgd(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment buf, long bb, long n,
                           float lr, float momentum, float oneMinusDampening, float weightDecay, boolean nesterov, boolean firstStep) {
        sgd(p, pb, g, gb, buf, bb, n, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep, false);
    }

    /** {@link #sgd} with {@code parallel} allowing a large parameter to be split across workers, as {@link #adam} splits (the same bits). */
    public static void sgd(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment buf, long bb, long n,
                           float lr, float momentum, float oneMinusDampening, float weightDecay, boolean nesterov, boolean firstStep, boolean parallel) {
        int parts = parallel ? Parallel.partsFor(n, SGD_PARALLEL_MIN_FLOATS) : 1;
        if (parts <= 1) {
            sgdRange(p, pb, g, gb, buf, bb, n, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep);
            return;
        }
        UpdateJob job = UpdateJob.MINE.get();
        job.sgd(p, pb, g, gb, buf, bb, n, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep);
        try {
            Parallel.forRange(parts, (int) ((n + PARALLEL_UNIT - 1) / PARALLEL_UNIT), job);
        } finally {
            job.release();
        }
    }

    private static void sgdRange(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment buf, long bb, long n,
                                 float lr, float momentum, float oneMinusDampening, float weightDecay, boolean nesterov, boolean firstStep) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        float damp = oneMinusDampening; // 1 - dampening in double, rounded once, as PyTorch's (1f - 0.9999f is 1.0001659e-4, not 1e-4)
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector d = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                d = pv.lanewise(jdk.incubator.vector.VectorOperators.FMA, weightDecay, d);
            }
            if (buf != null) {
                FloatVector b = firstStep ? d : d.lanewise(jdk.incubator.vector.VectorOperators.FMA, damp, FloatVector.fromMemorySegment(F, buf, bb + i, ORDER).mul(momentum));
                b.intoMemorySegment(buf, bb + i, ORDER);
                d = nesterov ? b.lanewise(jdk.incubator.vector.VectorOperators.FMA, momentum, d) : b;
            }
            d.lanewise(jdk.incubator.vector.VectorOperators.FMA, -lr, pv).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float d = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                d = Math.fma(pv, weightDecay, d);
            }
            if (buf != null) {
                float b = firstStep ? d : Math.fma(d, damp, buf.get(FLOAT, bb + i) * momentum);
                buf.set(FLOAT, bb + i, b);
                d = nesterov ? Math.fma(b, momentum, d) : b;
            }
            p.set(FLOAT, pb + i, Math.fma(d, -lr, pv));
        }
    }

    private static final int BETA1 = 0;
    private static final int BETA2 = 1;
    private static final int STEP = 2;
    private static final int BETA1_POW = 3;
    private static final int BETA2_POW = 4;

    /** This thread's last {beta1, beta2, step, beta1^step, beta2^step}: every parameter of a step asks for the same powers. */
    private static final ThreadLocal<double[]> BIAS_POWERS = ThreadLocal.withInitial(() -> new double[] {Double.NaN, Double.NaN, -1, 0, 0});

    /**
     * beta1^step and beta2^step by StrictMath.pow (the same bits on every JVM), computed once per step rather than once
     * per parameter: StrictMath.pow allocates (JDK 25's FdLibm port: a double[] per call), and a compiled training step
     * must not (issue 17).
     */
    private static double[] biasPowers(double beta1, double beta2, long step) {
        double[] c = BIAS_POWERS.get();
        if (c[BETA1] != beta1 || c[BETA2] != beta2 || c[STEP] != step) {
            c[BETA1_POW] = StrictMath.pow(beta1, step);
            c[BETA2_POW] = StrictMath.pow(beta2, step);
            c[BETA1] = beta1;
            c[BETA2] = beta2;
            c[STEP] = step;
        }
        return c;
    }

    /**
     * Adam / AdamW: {@code m = m b1 + (1 - b1) g}, {@code v = v b2 + (1 - b2) g g},
     * {@code denom = sqrt(max?(v)) / sqrt(bc2) + eps}, {@code p -= (lr / bc1) m / denom}. Adam adds {@code wd p} to g;
     * AdamW ({@code decoupled}) first scales p by {@code 1 - lr wd}.
     */
    public static void adam(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb,
                            MemorySegment vmax, long xb, long n, double lr, double beta1, double beta2, float eps, double weightDecay,
                            boolean decoupled, long step) {
        adam(p, pb, g, gb, m, mb, v, vb, vmax, xb, n, lr, beta1, beta2, eps, weightDecay, decoupled, step, false);
    }

    /**
     * {@link #adam} with {@code parallel} allowing a large parameter to be split across {@link Parallel}'s workers in
     * whole vectors (the update was ~3% of a GPT step's 2-thread wall time, all on the calling thread). Every element's
     * update is the same expression whichever thread or lane computes it, so the bits do not depend on the split.
     */
    public static void adam(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb,
                            MemorySegment vmax, long xb, long n, double lr, double beta1Exact, double beta2Exact, float eps, double weightDecayExact,
                            boolean decoupled, long step, boolean parallel) {
        // the scalars as PyTorch's Adam makes them, in double from the group's options and rounded once: 1f - 0.999f is
        // 0.00099998713 where torch's 1 - 0.999 gives 0.001f (every exp_avg_sq 1.3e-5 off after one step)
        double[] powers = biasPowers(beta1Exact, beta2Exact, step);
        float bc2Sqrt = (float) Math.sqrt(1.0 - powers[BETA2_POW]);
        float stepSize = (float) (lr / (1.0 - powers[BETA1_POW]));
        float decay = (float) (1.0 - lr * weightDecayExact);
        float beta1 = (float) beta1Exact;
        float beta2 = (float) beta2Exact;
        float oneMinusB1 = (float) (1.0 - beta1Exact);
        float oneMinusB2 = (float) (1.0 - beta2Exact);
        float weightDecay = (float) weightDecayExact;
        int parts = parallel ? Parallel.partsFor(n, PARALLEL_MIN_FLOATS) : 1;
        if (parts <= 1) {
            adamRange(p, pb, g, gb, m, mb, v, vb, vmax, xb, n, beta1, oneMinusB1, beta2, oneMinusB2, eps, weightDecay, decoupled, bc2Sqrt, stepSize,
                    decay);
            return;
        }
        UpdateJob job = UpdateJob.MINE.get();
        job.adam(p, pb, g, gb, m, mb, v, vb, vmax, xb, n, beta1, oneMinusB1, beta2, oneMinusB2, eps, weightDecay, decoupled, bc2Sqrt, stepSize, decay);
        try {
            Parallel.forRange(parts, (int) ((n + PARALLEL_UNIT - 1) / PARALLEL_UNIT), job);
        } finally {
            job.release();
        }
    }

    /** Below this many floats an Adam update stays on the calling thread (Elementwise's threshold for a pass over memory). */
    private static final int PARALLEL_MIN_FLOATS = Elementwise.PARALLEL_MIN_FLOATS;
    /**
     * SGD's update is a plain pass over memory, cheaper per float than Adam's (no square root or division): splitting
     * LeNet's 48K-float fc1 update at Adam's threshold made its 2-thread step slower (median of 5 alternated runs 6.9 vs
     * 6.3 ms, within this VM's noise but never faster), so SGD splits only from 128K floats (an MLP's 784 x 1024 layer).
     */
    private static final int SGD_PARALLEL_MIN_FLOATS = 1 << 17;
    /** Floats per unit of a parallel split: whole vectors at every width, so the split never moves an element to the scalar tail. */
    private static final int PARALLEL_UNIT = 64;

    /**
     * The parallel body of {@link #adam} and {@link #sgd}: units [from, to); one per thread, reused (a compiled step
     * allocates nothing). {@code m} is Adam's first moment or SGD's momentum buffer.
     */
    private static final class UpdateJob implements Parallel.RangeBody {
        static final ThreadLocal<UpdateJob> MINE = ThreadLocal.withInitial(UpdateJob::new);
        private boolean sgd;
        private MemorySegment p;
        private MemorySegment g;
        private MemorySegment m;
        private MemorySegment v;
        private MemorySegment vmax;
        private long pb;
        private long gb;
        private long mb;
        private long vb;
        private long xb;
        private long n;
        private float weightDecay;
        // Adam
        private float beta1;
        private float oneMinusB1;
        private float beta2;
        private float oneMinusB2;
        private float eps;
        private boolean decoupled;
        private float bc2Sqrt;
        private float stepSize;
        private float decay;
        // SGD
        private float lr;
        private float momentum;
        private float oneMinusDampening;
        private boolean nesterov;
        private boolean firstStep;

        void adam(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb, MemorySegment vmax,
                  long xb, long n, float beta1, float oneMinusB1, float beta2, float oneMinusB2, float eps, float weightDecay, boolean decoupled,
                  float bc2Sqrt, float stepSize, float decay) {
            sgd = false;
            operands(p, pb, g, gb, m, mb, n, weightDecay);
            this.v = v;
            this.vb = vb;
            this.vmax = vmax;
            this.xb = xb;
            this.beta1 = beta1;
            this.oneMinusB1 = oneMinusB1;
            this.beta2 = beta2;
            this.oneMinusB2 = oneMinusB2;
            this.eps = eps;
            this.decoupled = decoupled;
            this.bc2Sqrt = bc2Sqrt;
            this.stepSize = stepSize;
            this.decay = decay;
        }

        void sgd(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment buf, long bb, long n, float lr, float momentum,
                 float oneMinusDampening, float weightDecay, boolean nesterov, boolean firstStep) {
            sgd = true;
            operands(p, pb, g, gb, buf, bb, n, weightDecay);
            this.lr = lr;
            this.momentum = momentum;
            this.oneMinusDampening = oneMinusDampening;
            this.nesterov = nesterov;
            this.firstStep = firstStep;
        }

        private void operands(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, long n, float weightDecay) {
            this.p = p;
            this.pb = pb;
            this.g = g;
            this.gb = gb;
            this.m = m;
            this.mb = mb;
            this.n = n;
            this.weightDecay = weightDecay;
        }

        void release() {
            p = null;
            g = null;
            m = null;
            v = null;
            vmax = null;
        }

        @Override
        public void accept(int part, int from, int to) {
            long start = (long) from * PARALLEL_UNIT;
            long count = Math.min(n, (long) to * PARALLEL_UNIT) - start;
            if (count <= 0) {
                return;
            }
            long b = start << 2;
            if (sgd) {
                sgdRange(p, pb + b, g, gb + b, m, m == null ? 0 : mb + b, count, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep);
            } else {
                adamRange(p, pb + b, g, gb + b, m, mb + b, v, vb + b, vmax, vmax == null ? 0 : xb + b, count, beta1, oneMinusB1, beta2, oneMinusB2,
                        eps, weightDecay, decoupled, bc2Sqrt, stepSize, decay);
            }
        }
    }

    private static void adamRange(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb,
                                  MemorySegment vmax, long xb, long n, float beta1, float oneMinusB1, float beta2, float oneMinusB2, float eps,
                                  float weightDecay, boolean decoupled, float bc2Sqrt, float stepSize, float decay) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                if (decoupled) {
                    pv = pv.mul(decay);
                } else {
                    gv = pv.lanewise(jdk.incubator.vector.VectorOperators.FMA, weightDecay, gv);
                }
            }
            FloatVector mv = FloatVector.fromMemorySegment(F, m, mb + i, ORDER).mul(beta1); mv = gv.lanewise(jdk.incubator.vector.VectorOperators.FMA, oneMinusB1, mv);
            FloatVector vv = FloatVector.fromMemorySegment(F, v, vb + i, ORDER).mul(beta2); vv = gv.mul(oneMinusB2).fma(gv, vv); // ((1 - b2) g) g, PyTorch's addcmul: g g first overflowed from |g| > 1.8e19 (v = inf for good)
            mv.intoMemorySegment(m, mb + i, ORDER);
            vv.intoMemorySegment(v, vb + i, ORDER);
            FloatVector second = vv;
            if (vmax != null) {
                second = FloatVector.fromMemorySegment(F, vmax, xb + i, ORDER).max(vv);
                second.intoMemorySegment(vmax, xb + i, ORDER);
            }
            FloatVector denom = second.sqrt().div(bc2Sqrt).add(eps);
            pv.add(mv.mul(-stepSize).div(denom)).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                if (decoupled) {
                    pv = pv * decay;
                } else {
                    gv = Math.fma(pv, weightDecay, gv);
                }
            }
            float mv = Math.fma(gv, oneMinusB1, m.get(FLOAT, mb + i) * beta1);
            float vv = Math.fma(gv * oneMinusB2, gv, v.get(FLOAT, vb + i) * beta2);
            m.set(FLOAT, mb + i, mv);
            v.set(FLOAT, vb + i, vv);
            float second = vv;
            if (vmax != null) {
                second = Math.max(vmax.get(FLOAT, xb + i), vv);
                vmax.set(FLOAT, xb + i, second);
            }
            float denom = (float) Math.sqrt(second) / bc2Sqrt + eps;
            p.set(FLOAT, pb + i, pv + (-stepSize * mv) / denom);
        }
    }

    /**
     * RMSprop: {@code sq = sq a + (1 - a) g g}; centered: {@code ga = ga a + (1 - a) g}, {@code avg = sqrt(sq - ga ga) + eps},
     * else {@code avg = sqrt(sq) + eps}; with momentum {@code buf = buf mom + g / avg}, {@code p -= lr buf}, else
     * {@code p -= lr g / avg}.
     */
    public static void rmsprop(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment sq, long sb, MemorySegment gavg, long ab,
                               MemorySegment buf, long bb, long n, float lr, double alphaExact, float eps, float weightDecay, float momentum) {
        float alpha = (float) alphaExact;
        float oneMinusA = (float) (1.0 - alphaExact); // PyTorch's 1 - alpha, in double and rounded once
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                gv = pv.lanewise(jdk.incubator.vector.VectorOperators.FMA, weightDecay, gv);
            }
            FloatVector s = FloatVector.fromMemorySegment(F, sq, sb + i, ORDER).mul(alpha); s = gv.mul(oneMinusA).fma(gv, s); // ((1 - alpha) g) g, as PyTorch's addcmul
            s.intoMemorySegment(sq, sb + i, ORDER);
            FloatVector avg;
            if (gavg != null) {
                FloatVector a = gv.lanewise(jdk.incubator.vector.VectorOperators.FMA, oneMinusA, FloatVector.fromMemorySegment(F, gavg, ab + i, ORDER).mul(alpha));
                a.intoMemorySegment(gavg, ab + i, ORDER);
                avg = a.neg().fma(a, s).sqrt().add(eps);
            } else {
                avg = s.sqrt().add(eps);
            }
            if (buf != null) {
                FloatVector b = FloatVector.fromMemorySegment(F, buf, bb + i, ORDER).mul(momentum).add(gv.div(avg));
                b.intoMemorySegment(buf, bb + i, ORDER);
                pv = b.lanewise(jdk.incubator.vector.VectorOperators.FMA, -lr, pv);
            } else {
                pv = pv.add(gv.mul(-lr).div(avg));
            }
            pv.intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                gv = Math.fma(pv, weightDecay, gv);
            }
            float s = Math.fma(gv * oneMinusA, gv, sq.get(FLOAT, sb + i) * alpha);
            sq.set(FLOAT, sb + i, s);
            float avg;
            if (gavg != null) {
                float a = Math.fma(gv, oneMinusA, gavg.get(FLOAT, ab + i) * alpha);
                gavg.set(FLOAT, ab + i, a);
                avg = (float) Math.sqrt(Math.fma(-a, a, s)) + eps;
            } else {
                avg = (float) Math.sqrt(s) + eps;
            }
            if (buf != null) {
                float b = buf.get(FLOAT, bb + i) * momentum + gv / avg;
                buf.set(FLOAT, bb + i, b);
                pv = Math.fma(b, -lr, pv);
            } else {
                pv = pv + (-lr * gv) / avg;
            }
            p.set(FLOAT, pb + i, pv);
        }
    }

    /*
     * Adagrad, Adamax, NAdam and RAdam: torch 1.13's _single_tensor_* formulas, each tensor op in torch's order with
     * its rounding (add with alpha = one FMA, addcmul = fma(value t1, t2, self), addcdiv = self + (value t1) / t2,
     * tensor / scalar a true division by the float scalar, scalar / tensor torch's reciprocal() * scalar); the scalars
     * (clr, bias corrections, step sizes) are computed in double by OptimizerUpdates and rounded to float once, as
     * torch's Python floats become float32 kernel scalars. The scalar tails use the same expressions.
     */

    /**
     * Adagrad: {@code g = fma(p, wd, g)}, {@code sum = fma(g, g, sum)}, {@code p = p + (negClr g) / (sqrt(sum) + eps)}
     * ({@code negClr} = -lr / (1 + (step - 1) lr_decay)).
     */
    public static void adagrad(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment sum, long sb, long n, float negClr, float eps,
                               float weightDecay) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                gv = pv.lanewise(VectorOperators.FMA, weightDecay, gv);
            }
            FloatVector sv = gv.fma(gv, FloatVector.fromMemorySegment(F, sum, sb + i, ORDER));
            sv.intoMemorySegment(sum, sb + i, ORDER);
            pv.add(gv.mul(negClr).div(sv.sqrt().add(eps))).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                gv = Math.fma(pv, weightDecay, gv);
            }
            float sv = Math.fma(gv, gv, sum.get(FLOAT, sb + i));
            sum.set(FLOAT, sb + i, sv);
            p.set(FLOAT, pb + i, pv + (negClr * gv) / ((float) Math.sqrt(sv) + eps));
        }
    }

    /**
     * Adamax: {@code g = fma(p, wd, g)}, {@code m = fma(g, 1 - b1, m b1)}, {@code u = max(u b2, |g| + eps)},
     * {@code p = p + (negClr m) / u} ({@code negClr} = -lr / (1 - b1^step)). NaN propagates through the max, as torch's amax.
     */
    public static void adamax(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment u, long ub, long n,
                              float beta1, float oneMinusB1, float beta2, float eps, float weightDecay, float negClr) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                gv = pv.lanewise(VectorOperators.FMA, weightDecay, gv);
            }
            FloatVector mv = gv.lanewise(VectorOperators.FMA, oneMinusB1, FloatVector.fromMemorySegment(F, m, mb + i, ORDER).mul(beta1));
            FloatVector uv = FloatVector.fromMemorySegment(F, u, ub + i, ORDER).mul(beta2).max(gv.abs().add(eps));
            mv.intoMemorySegment(m, mb + i, ORDER);
            uv.intoMemorySegment(u, ub + i, ORDER);
            pv.add(mv.mul(negClr).div(uv)).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                gv = Math.fma(pv, weightDecay, gv);
            }
            float mv = Math.fma(gv, oneMinusB1, m.get(FLOAT, mb + i) * beta1);
            float uv = Math.max(u.get(FLOAT, ub + i) * beta2, Math.abs(gv) + eps);
            m.set(FLOAT, mb + i, mv);
            u.set(FLOAT, ub + i, uv);
            p.set(FLOAT, pb + i, pv + (negClr * mv) / uv);
        }
    }

    /**
     * NAdam: {@code g = fma(p, wd, g)}, {@code m = fma(g, 1 - b1, m b1)}, {@code v = fma((1 - b2) g, g, v b2)},
     * {@code denom = sqrt(v / bc2) + eps}, then two addcdivs: {@code p = p + (gradCoef g) / denom},
     * {@code p = p + (avgCoef m) / denom}.
     */
    public static void nadam(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb, long n,
                             float beta1, float oneMinusB1, float beta2, float oneMinusB2, float eps, float weightDecay, float bc2,
                             float gradCoef, float avgCoef) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                gv = pv.lanewise(VectorOperators.FMA, weightDecay, gv);
            }
            FloatVector mv = gv.lanewise(VectorOperators.FMA, oneMinusB1, FloatVector.fromMemorySegment(F, m, mb + i, ORDER).mul(beta1));
            FloatVector vv = gv.mul(oneMinusB2).fma(gv, FloatVector.fromMemorySegment(F, v, vb + i, ORDER).mul(beta2));
            mv.intoMemorySegment(m, mb + i, ORDER);
            vv.intoMemorySegment(v, vb + i, ORDER);
            FloatVector denom = vv.div(bc2).sqrt().add(eps);
            pv = pv.add(gv.mul(gradCoef).div(denom));
            pv.add(mv.mul(avgCoef).div(denom)).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                gv = Math.fma(pv, weightDecay, gv);
            }
            float mv = Math.fma(gv, oneMinusB1, m.get(FLOAT, mb + i) * beta1);
            float vv = Math.fma(gv * oneMinusB2, gv, v.get(FLOAT, vb + i) * beta2);
            m.set(FLOAT, mb + i, mv);
            v.set(FLOAT, vb + i, vv);
            float denom = (float) Math.sqrt(vv / bc2) + eps;
            pv = pv + (gradCoef * gv) / denom;
            p.set(FLOAT, pb + i, pv + (avgCoef * mv) / denom);
        }
    }

    /**
     * RAdam: {@code g = fma(p, wd, g)}, {@code m = fma(g, 1 - b1, m b1)}, {@code v = fma((1 - b2) g, g, v b2)},
     * {@code mhat = m / bc1}; with {@code rectify} {@code p = p - ((mhat lr) (1 / (sqrt(v) + eps) sqrtBc2)) rect},
     * else {@code p = p - mhat lr}.
     */
    public static void radam(MemorySegment p, long pb, MemorySegment g, long gb, MemorySegment m, long mb, MemorySegment v, long vb, long n,
                             float beta1, float oneMinusB1, float beta2, float oneMinusB2, float eps, float weightDecay, float bc1, float lr,
                             boolean rectify, float sqrtBc2, float rect) {
        long bytes = n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector pv = FloatVector.fromMemorySegment(F, p, pb + i, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
            if (weightDecay != 0f) {
                gv = pv.lanewise(VectorOperators.FMA, weightDecay, gv);
            }
            FloatVector mv = gv.lanewise(VectorOperators.FMA, oneMinusB1, FloatVector.fromMemorySegment(F, m, mb + i, ORDER).mul(beta1));
            FloatVector vv = gv.mul(oneMinusB2).fma(gv, FloatVector.fromMemorySegment(F, v, vb + i, ORDER).mul(beta2));
            mv.intoMemorySegment(m, mb + i, ORDER);
            vv.intoMemorySegment(v, vb + i, ORDER);
            FloatVector step = mv.div(bc1).mul(lr);
            if (rectify) {
                FloatVector adaptive = vv.sqrt().add(eps);
                adaptive = FloatVector.broadcast(F, 1f).div(adaptive).mul(sqrtBc2);
                step = step.mul(adaptive).mul(rect);
            }
            pv.sub(step).intoMemorySegment(p, pb + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            float pv = p.get(FLOAT, pb + i);
            float gv = g.get(FLOAT, gb + i);
            if (weightDecay != 0f) {
                gv = Math.fma(pv, weightDecay, gv);
            }
            float mv = Math.fma(gv, oneMinusB1, m.get(FLOAT, mb + i) * beta1);
            float vv = Math.fma(gv * oneMinusB2, gv, v.get(FLOAT, vb + i) * beta2);
            m.set(FLOAT, mb + i, mv);
            v.set(FLOAT, vb + i, vv);
            float step = mv / bc1 * lr;
            if (rectify) {
                float adaptive = 1f / ((float) Math.sqrt(vv) + eps) * sqrtBc2;
                step = step * adaptive * rect;
            }
            p.set(FLOAT, pb + i, pv - step);
        }
    }
}
