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
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.erf(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
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

    /**
     * Whether a GEMM or convolution may apply this op to its outputs while they are in registers
     * ({@code Sgemm.Epilogue}): the activations that follow a linear layer.
     */
    public boolean isActivation() {
        return switch (this) {
            case RELU, GELU, GELU_TANH, SILU, MISH, SIGMOID, TANH -> true;
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

    /** {@code out = g * op'(x)} over whole vectors up to byte {@code vecEnd}; the same bits as {@link #backward(float, float)}. */
    void backwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        throw new UnsupportedOperationException(this + " has no fused backward kernel");
    }

    /** This op's fused backward as a two-operand kernel (gradient, saved input): what autograd and plans launch. */
    public Backward backward() {
        return new Backward(this);
    }

    /** The fused backward kernel of {@link #op}: {@code apply(g, x) = g * op'(x)}. */
    public record Backward(UnaryOp op) implements BinaryKernel {
        public Backward {
            if (!op.hasFusedBackward()) {
                throw new UnsupportedOperationException(op + " has no fused backward kernel");
            }
        }

        @Override
        public float apply(float g, float x) {
            return op.backward(g, x);
        }

        @Override
        public String name() {
            return op.name() + "_BACKWARD";
        }
    }
}
