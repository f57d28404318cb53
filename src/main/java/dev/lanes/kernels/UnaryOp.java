package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.Preferred.F;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Elementwise float operations of one input, with up to two scalar parameters ({@code p}, {@code q}): each op is
 * written here, in one place. {@link #apply} is the scalar definition; an op whose vector form is more than one
 * Every op carries its own vector loop ({@link #vectorRow}) in its constant's body, and an op with a fused backward
 * carries that too ({@link #backwardRow}, {@link #backward(float, float)}).
 *
 * <p>Why each op has a loop of its own rather than a per-vector method called from one shared loop: a shared loop
 * calls many ops, so C2 does not inline the call, and every vector crossing a call that is not inlined is boxed
 * (measured: ReLU at 1/4 of add's speed; 300 MB of garbage per char-GPT step). A row method takes segments and
 * offsets, which cost nothing to pass un-inlined, and gets its own inlining budget.
 *
 * <p>Adding an activation: its scalar and vector formulas (VectorMath, for the transcendental ones), a constant here
 * (listed in {@link #isActivation()} if a GEMM may fuse it), a row in {@code dev.lanes.Pointwise} (name, grad_fn,
 * backward rule) and a {@code Tensor} method; then one row in the tests' op table.
 */
public enum UnaryOp {
    IDENTITY {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    NEG {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.neg().intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    EXP {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.expRow(x, xb, out, ob, vecEnd);
        }
    },
    LOG {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.log(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    SQRT {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector.fromMemorySegment(F, x, xb + i, ORDER).sqrt().intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    ABS {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.abs().intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.sin: VectorMath's reduction and polynomial in double lanes. */
    SIN {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.trigRow(0, x, xb, out, ob, vecEnd);
        }
    },
    /** torch.cos, likewise. */
    COS {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.trigRow(1, x, xb, out, ob, vecEnd);
        }
    },
    /**
     * ReLU, the hottest op of one input: its loop is unrolled 4x (with one load and one store per vector, the plain loop
     * reached half of PyTorch's in-place speed: 40 vs 82 GB/s). compare + blend: 2 instructions (x.max(0) needs ~5 for
     * Math.max's NaN rules; measured 34 vs 44 GB/s). NaN compares false and stays NaN, like torch.relu; LE (not LT)
     * makes -0 a +0 like Math.max in the scalar tail. The GEMM kernels apply it in registers.
     */
    RELU {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            long step = 4 * VBYTES;
            long unrolledEnd = vecEnd - vecEnd % step;
            for (long i = 0; i < unrolledEnd; i += step) {
                FloatVector v0 = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector v1 = FloatVector.fromMemorySegment(F, x, xb + i + VBYTES, ORDER);
                FloatVector v2 = FloatVector.fromMemorySegment(F, x, xb + i + 2 * VBYTES, ORDER);
                FloatVector v3 = FloatVector.fromMemorySegment(F, x, xb + i + 3 * VBYTES, ORDER);
                v0.blend(0f, v0.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
                v1.blend(0f, v1.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i + VBYTES, ORDER);
                v2.blend(0f, v2.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i + 2 * VBYTES, ORDER);
                v3.blend(0f, v3.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i + 3 * VBYTES, ORDER);
            }
            for (long i = unrolledEnd; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.blend(0f, v.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    SIGMOID {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.sigmoid(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    TANH {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.tanh(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x Phi(x), PyTorch's gelu (approximate='none'); rows with the formula written out (VectorMath's flat rows). */
    GELU {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.geluRow(x, xb, out, ob, vecEnd);
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x) {
            return VectorMath.geluBackward(g, x);
        }

        @Override
        void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.geluBackwardRow(g, gb, x, xb, out, ob, vecEnd);
        }
    },
    /** x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), gelu(approximate='tanh') */
    GELU_TANH {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.geluTanh(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x) {
            return VectorMath.geluTanhBackward(g, x);
        }

        @Override
        void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.geluTanhBackward(FloatVector.fromMemorySegment(F, g, gb + i, ORDER), FloatVector.fromMemorySegment(F, x, xb + i, ORDER))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x sigmoid(x), PyTorch's silu */
    SILU {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.silu(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x) {
            return VectorMath.siluBackward(g, x);
        }

        @Override
        void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.siluBackward(FloatVector.fromMemorySegment(F, g, gb + i, ORDER), FloatVector.fromMemorySegment(F, x, xb + i, ORDER))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x tanh(softplus(x)), PyTorch's mish; rows with exp written out (VectorMath's flat rows). */
    MISH {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.mishRow(x, xb, out, ob, vecEnd);
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x) {
            return VectorMath.mishBackward(g, x);
        }

        @Override
        void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.mishBackwardRow(g, gb, x, xb, out, ob, vecEnd);
        }
    },
    /** the error function, torch.erf */
    ERF {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.erfRow(x, xb, out, ob, vecEnd); // one loop body (VectorMath's flat rows)
        }
    },
    /** e^x - 1, torch.expm1 (accurate near 0: VectorMath.expm1) */
    EXPM1 {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.expm1(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** log(1 + x), torch.log1p (accurate near 0: VectorMath.log1p) */
    LOG1P {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.log1pRow(x, xb, out, ob, vecEnd);
        }
    },
    /**
     * x > 0 ? x : p x, leaky_relu with negative_slope p (NaN and -0 take the p x side, as in PyTorch). Backward
     * x > 0 ? g : g p: PyTorch's gradient at 0 is the slope's.
     */
    LEAKY_RELU {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.mul(p).blend(v, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            return x > 0f ? g : g * p;
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector xv = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                gv.mul(p).blend(gv, xv.compare(VectorOperators.GT, 0f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /**
     * x > 0 ? x : p expm1(x), elu with alpha p (PyTorch's CPU kernel: expm1 from 2.1 on, exp(x) - 1 in 1.13, the same
     * but near 0). Backward x > 0 ? g : g p e^x (NaN takes the g side, 0 the other, like PyTorch).
     */
    ELU {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                VectorMath.expm1(v).mul(p).blend(v, v.compare(VectorOperators.GT, 0f).or(v.compare(VectorOperators.NE, v)))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            return x <= 0f ? g * p * VectorMath.exp(x) : g;
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector xv = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                gv.blend(gv.mul(p).mul(VectorMath.exp(xv)), xv.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /**
     * p x > q ? x : log1p(exp(p x)) / p, softplus with beta p and threshold q (PyTorch's formula). Backward
     * p x > q ? g : g z / (z + 1), z = exp(p x).
     */
    SOFTPLUS {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            VectorMath.softplusRow(p, q, x, xb, out, ob, vecEnd); // exp and log1p written out (VectorMath's flat rows)
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            float bx = x * p;
            if (bx > q) {
                return g;
            }
            float z = VectorMath.exp(bx);
            return g * z / (z + 1f);
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector bx = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).mul(p);
                FloatVector z = VectorMath.exp(bx);
                gv.mul(z).div(z.add(1f)).blend(gv, bx.compare(VectorOperators.GT, q)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /**
     * hardtanh with min p and max q, as torch.clamp computes it: y = x < p ? p : x, then y > q ? q : y (NaN stays NaN,
     * -0 stays -0, p > q gives q everywhere). relu6 is hardtanh(0, 6). Backward x <= p || x >= q ? 0 : g (0 at the bounds).
     */
    HARDTANH {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v = v.blend(p, v.compare(VectorOperators.LT, p));
                v.blend(q, v.compare(VectorOperators.GT, q)).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            return x <= p || x >= q ? 0f : g;
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector xv = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                gv.blend(0f, xv.compare(VectorOperators.LE, p).or(xv.compare(VectorOperators.GE, q))).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** min(max(x + 3, 0), 6) / 6, PyTorch's hardsigmoid (NaN stays NaN). Backward -3 < x < 3 ? g / 6 : 0. */
    HARDSIGMOID {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER).add(3f);
                v = v.blend(0f, v.compare(VectorOperators.LT, 0f));
                v.blend(6f, v.compare(VectorOperators.GT, 6f)).div(6f).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            return x > -3f && x < 3f ? g * ONE_SIXTH : 0f;
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector xv = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                gv.broadcast(0f).blend(gv.mul(ONE_SIXTH), xv.compare(VectorOperators.GT, -3f).and(xv.compare(VectorOperators.LT, 3f)))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /**
     * x min(max(x + 3, 0), 6) / 6, PyTorch's hardswish (its order: the product, then / 6). Backward x < -3 ? 0 :
     * x <= 3 ? g (x / 3 + 0.5) : g: PyTorch's -0.5 at x = -3 and 1.5 at x = 3; NaN takes g.
     */
    HARDSWISH {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector c = v.add(3f);
                c = c.blend(0f, c.compare(VectorOperators.LT, 0f));
                v.mul(c.blend(6f, c.compare(VectorOperators.GT, 6f))).div(6f).intoMemorySegment(out, ob + i, ORDER);
            }
        }

        @Override
        boolean hasFusedBackward() {
            return true;
        }

        @Override
        float backward(float g, float x, float p, float q) {
            return x < -3f ? 0f : x <= 3f ? g * (x / 3f + 0.5f) : g;
        }

        @Override
        void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector gv = FloatVector.fromMemorySegment(F, g, gb + i, ORDER);
                FloatVector xv = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector mid = gv.blend(gv.mul(xv.div(3f).add(0.5f)), xv.compare(VectorOperators.LE, 3f));
                mid.blend(0f, xv.compare(VectorOperators.LT, -3f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** 1 / sqrt(x), torch.rsqrt: a correctly rounded square root, then a division (PyTorch's vector form too). */
    RSQRT {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(1f).div(v.sqrt()).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x * x, torch.square */
    SQUARE {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.mul(v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.sign: 1, -1 or 0 (+0 for -0 and NaN, as PyTorch: (x > 0) - (x < 0)). */
    SIGN {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector zero = v.broadcast(0f);
                zero.blend(1f, v.compare(VectorOperators.GT, 0f)).sub(zero.blend(1f, v.compare(VectorOperators.LT, 0f)))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.floor: rint (below), less 1 where it rounded up, with x's sign (floor(-0.0) is -0). */
    FLOOR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector r = rint(v);
                withSignOf(r.sub(r.broadcast(0f).blend(1f, r.compare(VectorOperators.GT, v))), v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.ceil: rint, plus 1 where it rounded down, with x's sign (ceil(-0.5) is -0, as Math.ceil). */
    CEIL {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector r = rint(v);
                // ceil(x) has x's sign: ceil(-0.7) is -0, not the +0 that -1 + 1 gives
                withSignOf(r.add(r.broadcast(0f).blend(1f, r.compare(VectorOperators.LT, v))), v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.round: to the nearest integer, halves to even (Math.rint). */
    ROUND {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                rint(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** torch.trunc: toward zero, floor of |x| with x's sign. */
    TRUNC {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                FloatVector a = v.abs();
                FloatVector r = rint(a);
                FloatVector f = r.sub(r.broadcast(0f).blend(1f, r.compare(VectorOperators.GT, a)));
                withSignOf(f, v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** 1 / x, torch.reciprocal */
    RECIPROCAL {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(1f).div(v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x + p */
    ADD_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.add(p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x - p */
    SUB_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.sub(p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** p - x */
    RSUB_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(p).sub(v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x * p */
    MUL_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.mul(p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x / p */
    DIV_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.div(p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** p / x */
    RDIV_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(p).div(v).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x ^ p */
    POW_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.pow(FloatVector.fromMemorySegment(F, x, xb + i, ORDER), p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** min(max(x, p), q): NaN stays NaN (max/min follow Math.max/min, like torch.clamp) */
    CLAMP {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.max(p).min(q).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x == p ? 1 : 0 */
    EQ_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(0f).blend(1f, v.eq(p)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x > p ? 1 : 0 */
    GT_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(0f).blend(1f, v.compare(VectorOperators.GT, p)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x < p ? 1 : 0 */
    LT_SCALAR {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(0f).blend(1f, v.compare(VectorOperators.LT, p)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** x > 0 ? p : 0 (ReLU backward mask scaled) */
    STEP_SCALED {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                v.broadcast(0f).blend(p, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    },
    /** fills p, ignoring x */
    FILL {
        @Override
        void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector.broadcast(F, p).intoMemorySegment(out, ob + i, ORDER);
            }
        }
    };

    private static final float TWO_23 = 8388608f;

    /**
     * Math.rint of each lane, halves to even: below 2^23 adding and subtracting 2^23 rounds |x| to an integer in the
     * current (nearest-even) mode; from 2^23 on a float is an integer already (NaN and infinities pass through).
     */
    private static FloatVector rint(FloatVector v) {
        FloatVector a = v.abs();
        FloatVector r = a.add(TWO_23).sub(TWO_23);
        return withSignOf(a.blend(r, a.compare(VectorOperators.LT, TWO_23)), v);
    }

    /** |m| with the sign bit of s (so rint(-0.4) is -0, as Math.rint). */
    private static FloatVector withSignOf(FloatVector m, FloatVector s) {
        return m.abs().reinterpretAsInts().or(s.reinterpretAsInts().and(0x80000000)).reinterpretAsFloats();
    }

    /**
     * Whether a GEMM or convolution may apply this op to its outputs while they are in registers
     * ({@code Sgemm.Epilogue}): the activations that follow a linear layer.
     */
    public boolean isActivation() {
        return switch (this) {
            case RELU, GELU, GELU_TANH, SILU, MISH, SIGMOID, TANH, LEAKY_RELU, ELU, SOFTPLUS, HARDTANH, HARDSIGMOID, HARDSWISH -> true;
            default -> false;
        };
    }

    public float apply(float x, float p, float q) {
        return switch (this) {
            case IDENTITY -> x;
            case NEG -> -x;
            case EXP -> VectorMath.exp(x);
            case LOG -> VectorMath.log(x);
            case SQRT -> (float) Math.sqrt(x);
            case ABS -> Math.abs(x);
            case SIN -> VectorMath.sin(x);
            case COS -> VectorMath.cos(x);
            case RELU -> Math.max(x, 0f);
            case SIGMOID -> VectorMath.sigmoid(x);
            case TANH -> VectorMath.tanh(x);
            case GELU -> VectorMath.gelu(x);
            case GELU_TANH -> VectorMath.geluTanh(x);
            case SILU -> VectorMath.silu(x);
            case MISH -> VectorMath.mish(x);
            case ERF -> VectorMath.erf(x);
            case EXPM1 -> VectorMath.expm1(x);
            case LOG1P -> VectorMath.log1p(x);
            case LEAKY_RELU -> x > 0f ? x : x * p;
            case ELU -> x > 0f || x != x ? x : VectorMath.expm1(x) * p;
            case SOFTPLUS -> x * p > q ? x : VectorMath.log1p(VectorMath.exp(x * p)) / p;
            case HARDTANH -> {
                float y = x < p ? p : x;
                yield y > q ? q : y;
            }
            case HARDSIGMOID -> {
                float y = x + 3f;
                y = y < 0f ? 0f : y;
                yield (y > 6f ? 6f : y) / 6f;
            }
            case HARDSWISH -> {
                float c = x + 3f;
                c = c < 0f ? 0f : c;
                yield x * (c > 6f ? 6f : c) / 6f;
            }
            case RSQRT -> 1f / (float) Math.sqrt(x);
            case SQUARE -> x * x;
            case SIGN -> x > 0 ? 1f : x < 0 ? -1f : 0f;
            case FLOOR -> (float) Math.floor(x);
            case CEIL -> (float) Math.ceil(x);
            case ROUND -> (float) Math.rint(x);
            case TRUNC -> (float) (x < 0 ? Math.ceil(x) : Math.floor(x));
            case RECIPROCAL -> 1f / x;
            case ADD_SCALAR -> x + p;
            case SUB_SCALAR -> x - p;
            case RSUB_SCALAR -> p - x;
            case MUL_SCALAR -> x * p;
            case DIV_SCALAR -> x / p;
            case RDIV_SCALAR -> p / x;
            case POW_SCALAR -> VectorMath.powScalarExponent(x, p);
            case CLAMP -> Math.min(Math.max(x, p), q);
            case EQ_SCALAR -> x == p ? 1f : 0f;
            case GT_SCALAR -> x > p ? 1f : 0f;
            case LT_SCALAR -> x < p ? 1f : 0f;
            case STEP_SCALED -> x > 0 ? p : 0f;
            case FILL -> p;
        };
    }

    /**
     * {@code out = op(x)} over whole vectors up to byte {@code vecEnd} (byte offsets; {@link Elementwise} does the
     * tail with {@link #apply}): every op writes its own loop (abstract, so a new op cannot forget it).
     */
    abstract void vectorRow(float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd);

    /** Whether {@link #backward()} exists: the gradient {@code g * op'(x)} in one pass, from the saved input x. */
    boolean hasFusedBackward() {
        return false;
    }

    /** Scalar definition of the fused backward: {@code g * op'(x)}. */
    float backward(float g, float x) {
        throw new UnsupportedOperationException(this + " has no fused backward kernel");
    }

    /** {@link #backward(float, float)} of an op with parameters p, q (leaky_relu's slope, hardtanh's bounds, ...). */
    float backward(float g, float x, float p, float q) {
        return backward(g, x);
    }

    /** {@code out = g * op'(x)} over whole vectors up to byte {@code vecEnd}; the same bits as {@link #backward(float, float)}. */
    void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        throw new UnsupportedOperationException(this + " has no fused backward kernel");
    }

    /** {@link #backwardRow(MemorySegment, long, MemorySegment, long, MemorySegment, long, long)} with the op's parameters. */
    void backwardRow(float p, float q, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        backwardRow(g, gb, x, xb, out, ob, vecEnd);
    }

    /** This op's fused backward as a two-operand kernel (gradient, saved input): what autograd and plans launch. */
    public Backward backward() {
        return new Backward(this, 0f, 0f);
    }

    /** The fused backward of this op with parameters p, q (the forward's). */
    public Backward backwardWith(float p, float q) {
        return new Backward(this, p, q);
    }

    /** 1/6 as PyTorch's hardsigmoid backward multiplies by it. */
    private static final float ONE_SIXTH = 1f / 6f;

    /** The fused backward kernel of {@link #op} with the forward's parameters: {@code apply(g, x) = g * op'(x)}. */
    public record Backward(UnaryOp op, float p, float q) implements BinaryKernel {
        public Backward {
            if (!op.hasFusedBackward()) {
                throw new UnsupportedOperationException(op + " has no fused backward kernel");
            }
        }

        public Backward(UnaryOp op) {
            this(op, 0f, 0f);
        }

        @Override
        public float apply(float g, float x) {
            return op.backward(g, x, p, q);
        }

        /** The row: {@code out = g * op'(x)} over whole vectors up to byte {@code vecEnd}. */
        void row(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
            op.backwardRow(p, q, g, gb, x, xb, out, ob, vecEnd);
        }

        @Override
        public String name() {
            return op.name() + "_BACKWARD";
        }
    }
}
