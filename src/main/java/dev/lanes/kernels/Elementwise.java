package dev.lanes.kernels;

import static dev.lanes.kernels.Simd.F;
import static dev.lanes.kernels.Simd.FLOAT;
import static dev.lanes.kernels.Simd.ORDER;
import static dev.lanes.kernels.Simd.VBYTES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Elementwise kernels over float segments with arbitrary strides (0 = broadcast).
 *
 * <p>Every call is reduced by {@link StridedLoop} to rows; a row whose operands all have stride 1 (or a
 * broadcast scalar) runs the vector loop, any other row the scalar loop. The output may alias an input
 * with the same layout (in-place ops).
 */
public final class Elementwise {
    private Elementwise() {
    }

    /**
     * {@code out[i] = op(x[i], p, q)} over {@code shape}.
     *
     * @param xOff   element offset of x
     * @param xStr   element strides of x (0 = broadcast)
     */
    public static void unary(UnaryOp op, float p, float q,
                             MemorySegment x, long xOff, int[] xStr,
                             MemorySegment out, long oOff, int[] oStr, int[] shape) {
        StridedLoop loop = new StridedLoop(shape, xStr, oStr);
        int n = loop.rowLength();
        long sx = loop.rowStride(0);
        long so = loop.rowStride(1);
        if (op == UnaryOp.IDENTITY && loop.dims >= 2 && so == 1 && sx != 1 && loop.strides[0][loop.dims - 2] == 1) {
            transposedCopy(x, xOff, out, oOff, loop);
            return;
        }
        long rows = loop.rows();
        int[] idx = new int[loop.dims];
        long[] off = {xOff, oOff};
        for (long r = 0; r < rows; r++) {
            if (sx == 1 && so == 1) {
                unaryContiguous(op, p, q, x, off[0] << 2, out, off[1] << 2, n);
            } else {
                for (int i = 0; i < n; i++) {
                    float v = x.get(FLOAT, (off[0] + i * sx) << 2);
                    out.set(FLOAT, (off[1] + i * so) << 2, op.apply(v, p, q));
                }
            }
            loop.advance(idx, off);
        }
    }

    /** Side of the square blocks of {@link #transposedCopy}: 16 rows of 16 floats (one 64-byte line each) per side. */
    private static final int TRANSPOSE_BLOCK = 16;

    /**
     * A copy whose innermost output dim reads the input across rows while the next dim out reads it contiguously: a
     * transpose, e.g. {@code w.t().contiguous()}. Element by element along output rows, every read lands on another
     * input line (measured ~0.3 GB/s for 1024 x 1024); by 16 x 16 blocks, both sides stay within 16 cache lines.
     * Outer dims, if any, run one after the other. A copy: the bits of every element are kept.
     */
    private static void transposedCopy(MemorySegment x, long xOff, MemorySegment out, long oOff, StridedLoop loop) {
        int d = loop.dims;
        int rowsN = loop.shape[d - 2];
        int colsN = loop.shape[d - 1];
        long xCol = loop.strides[0][d - 1];     // input stride along an output row
        long oRow = loop.strides[1][d - 2];     // output stride between output rows (input stride there is 1)
        int outer = 1;
        for (int k = 0; k < d - 2; k++) {
            outer *= loop.shape[k];
        }
        int[] idx = new int[Math.max(1, d - 2)];
        long xBase = xOff;
        long oBase = oOff;
        for (int o = 0; o < outer; o++) {
            for (int r0 = 0; r0 < rowsN; r0 += TRANSPOSE_BLOCK) {
                int r1 = Math.min(rowsN, r0 + TRANSPOSE_BLOCK);
                for (int c0 = 0; c0 < colsN; c0 += TRANSPOSE_BLOCK) {
                    int c1 = Math.min(colsN, c0 + TRANSPOSE_BLOCK);
                    for (int c = c0; c < c1; c++) {
                        long xb = (xBase + c * xCol) << 2;
                        long ob = (oBase + c) << 2;
                        for (int r = r0; r < r1; r++) {
                            out.set(FLOAT, ob + ((r * oRow) << 2), x.get(FLOAT, xb + ((long) r << 2)));
                        }
                    }
                }
            }
            for (int k = d - 3; k >= 0; k--) { // next outer index
                idx[k]++;
                xBase += loop.strides[0][k];
                oBase += loop.strides[1][k];
                if (idx[k] < loop.shape[k]) {
                    break;
                }
                xBase -= loop.strides[0][k] * loop.shape[k];
                oBase -= loop.strides[1][k] * loop.shape[k];
                idx[k] = 0;
            }
        }
    }

    /** {@code out[i] = op(a[i], b[i])} over {@code shape}; a and b carry broadcast strides. */
    public static void binary(BinaryOp op,
                              MemorySegment a, long aOff, int[] aStr,
                              MemorySegment b, long bOff, int[] bStr,
                              MemorySegment out, long oOff, int[] oStr, int[] shape) {
        StridedLoop loop = new StridedLoop(shape, aStr, bStr, oStr);
        int n = loop.rowLength();
        long sa = loop.rowStride(0);
        long sb = loop.rowStride(1);
        long so = loop.rowStride(2);
        long rows = loop.rows();
        int[] idx = new int[loop.dims];
        long[] off = {aOff, bOff, oOff};
        for (long r = 0; r < rows; r++) {
            if (so == 1 && sa == 1 && sb == 1) {
                binaryContiguous(op, a, off[0] << 2, b, off[1] << 2, out, off[2] << 2, n);
            } else if (so == 1 && sa == 1 && sb == 0) {
                binaryVectorScalar(op, a, off[0] << 2, b.get(FLOAT, off[1] << 2), out, off[2] << 2, n);
            } else if (so == 1 && sa == 0 && sb == 1) {
                binaryScalarVector(op, a.get(FLOAT, off[0] << 2), b, off[1] << 2, out, off[2] << 2, n);
            } else {
                for (int i = 0; i < n; i++) {
                    float va = a.get(FLOAT, (off[0] + i * sa) << 2);
                    float vb = b.get(FLOAT, (off[1] + i * sb) << 2);
                    out.set(FLOAT, (off[2] + i * so) << 2, op.apply(va, vb));
                }
            }
            loop.advance(idx, off);
        }
    }

    // ---- contiguous rows (byte offsets) ----

    /**
     * Vectorized unary row. The ops are split into small switch groups, each with its own loop, and the
     * VectorMath functions get a loop each: one switch over all ops is too large for C2 to inline into the
     * loop, and a call that is not inlined boxes every vector (measured: ReLU at 1/4 of the speed of add).
     */
    /** {@code out = op(x)} over n contiguous floats; byte offsets. */
    public static void unaryContiguous(UnaryOp op, float p, float q, MemorySegment x, long xb, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        if (op == UnaryOp.RELU) {
            reluContiguous(x, xb, out, ob, bytes);
            return;
        }
        switch (op) {
            case EXP -> expRow(x, xb, out, ob, vecEnd);
            case LOG -> logRow(x, xb, out, ob, vecEnd);
            case SIGMOID -> sigmoidRow(x, xb, out, ob, vecEnd);
            case TANH -> tanhRow(x, xb, out, ob, vecEnd);
            case GELU -> geluRow(x, xb, out, ob, vecEnd);
            case GELU_TANH -> geluTanhRow(x, xb, out, ob, vecEnd);
            case SILU -> siluRow(x, xb, out, ob, vecEnd);
            case ERF -> erfRow(x, xb, out, ob, vecEnd);
            case POW_SCALAR -> powRow(p, x, xb, out, ob, vecEnd);
            case SQRT -> {
                for (long i = 0; i < vecEnd; i += VBYTES) {
                    FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                    vectorTranscendental(op, v, p).intoMemorySegment(out, ob + i, ORDER);
                }
            }
            case EQ_SCALAR, GT_SCALAR, LT_SCALAR, STEP_SCALED -> {
                for (long i = 0; i < vecEnd; i += VBYTES) {
                    FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                    vectorCompare(op, v, p).intoMemorySegment(out, ob + i, ORDER);
                }
            }
            default -> {
                for (long i = 0; i < vecEnd; i += VBYTES) {
                    FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
                    vectorArithmetic(op, v, p, q).intoMemorySegment(out, ob + i, ORDER);
                }
            }
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(x.get(FLOAT, xb + i), p, q));
        }
    }

    // ---- VectorMath rows: a loop each, in a method of its own ----
    // C2 inlines a call of this size only where it is frequent. Behind the shared transcendental switch each
    // function's call site became rare once several functions ran (measured: exp, log, tanh, sigmoid and pow
    // all left out of line, every vector boxed). Here each call is hot in its own loop, and each method has
    // its own inlining budget.

    private static void expRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        VectorMath.expRow(x, xb, out, ob, vecEnd); // exp written out in one loop: see VectorMath's flat rows
    }

    private static void logRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.log(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void sigmoidRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.sigmoid(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void tanhRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.tanh(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void geluRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        VectorMath.geluRow(x, xb, out, ob, vecEnd); // the formula written out in one loop: see VectorMath's flat rows
    }

    private static void geluTanhRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.geluTanh(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void siluRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.silu(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void erfRow(MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.erf(FloatVector.fromMemorySegment(F, x, xb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void powRow(float p, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.pow(FloatVector.fromMemorySegment(F, x, xb + i, ORDER), p).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /**
     * ReLU has its own loop, unrolled 4x: it is the hottest unary op and, with one load and one store per
     * vector, the shared loop left it at half of PyTorch's in-place speed (measured 40 vs 82 GB/s).
     */
    private static void reluContiguous(MemorySegment x, long xb, MemorySegment out, long ob, long bytes) {
        long step = 4 * VBYTES;
        long unrolledEnd = bytes - bytes % step;
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
        long vecEnd = bytes - bytes % VBYTES;
        for (long i = unrolledEnd; i < vecEnd; i += VBYTES) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, xb + i, ORDER);
            v.blend(0f, v.compare(VectorOperators.LE, 0f)).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, Math.max(x.get(FLOAT, xb + i), 0f));
        }
    }

    /** {@code out = op(a, b)} over n contiguous floats; byte offsets. */
    public static void binaryContiguous(BinaryOp op, MemorySegment a, long ab, MemorySegment b, long bb,
                                 MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        if (op == BinaryOp.GELU_BACKWARD || op == BinaryOp.GELU_TANH_BACKWARD) {
            geluBackwardRow(op == BinaryOp.GELU_TANH_BACKWARD, a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.SILU_BACKWARD) {
            siluBackwardRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.ADD) {
            addRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.MUL) {
            mulRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.MASK_POSITIVE) {
            maskPositiveRow(a, ab, b, bb, out, ob, vecEnd);
        } else if (op == BinaryOp.POW) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.pow(FloatVector.fromMemorySegment(F, a, ab + i, ORDER), FloatVector.fromMemorySegment(F, b, bb + i, ORDER))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        } else {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
                FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
                vectorBinary(op, va, vb).intoMemorySegment(out, ob + i, ORDER);
            }
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(a.get(FLOAT, ab + i), b.get(FLOAT, bb + i)));
        }
    }

    /*
     * The hottest binary ops (residual adds and gradient sums, products, ReLU's backward) get loops of their own, with
     * no call inside: measured on Zen 3 (AVX2), a ResNet-20 training step allocated 1.1 GB of boxed vectors per step
     * when these went through vectorBinary, which C2 did not inline into the loop.
     */
    private static void addRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, a, ab + i, ORDER).add(FloatVector.fromMemorySegment(F, b, bb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    private static void mulRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector.fromMemorySegment(F, a, ab + i, ORDER).mul(FloatVector.fromMemorySegment(F, b, bb + i, ORDER)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /** {@code out = b > 0 ? a : 0}: ReLU's backward (a the gradient, b the forward's output). */
    private static void maskPositiveRow(MemorySegment a, long ab, MemorySegment b, long bb, MemorySegment out, long ob, long vecEnd) {
        FloatVector zero = FloatVector.zero(F);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
            zero.blend(va, vb.compare(VectorOperators.GT, 0f)).intoMemorySegment(out, ob + i, ORDER);
        }
    }

    /** GELU's backward rows: VectorMath calls in loops of their own, like the forward rows. */
    private static void geluBackwardRow(boolean tanhForm, MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob,
                                        long vecEnd) {
        if (tanhForm) {
            for (long i = 0; i < vecEnd; i += VBYTES) {
                VectorMath.geluTanhBackward(FloatVector.fromMemorySegment(F, g, gb + i, ORDER), FloatVector.fromMemorySegment(F, x, xb + i, ORDER))
                        .intoMemorySegment(out, ob + i, ORDER);
            }
        } else {
            VectorMath.geluBackwardRow(g, gb, x, xb, out, ob, vecEnd);
        }
    }

    /** SiLU's backward row: its VectorMath call in a method of its own, kept out of binaryContiguous's inlining budget. */
    private static void siluBackwardRow(MemorySegment g, long gb, MemorySegment x, long xb, MemorySegment out, long ob, long vecEnd) {
        for (long i = 0; i < vecEnd; i += VBYTES) {
            VectorMath.siluBackward(FloatVector.fromMemorySegment(F, g, gb + i, ORDER), FloatVector.fromMemorySegment(F, x, xb + i, ORDER))
                    .intoMemorySegment(out, ob + i, ORDER);
        }
    }

    static void binaryVectorScalar(BinaryOp op, MemorySegment a, long ab, float s, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        FloatVector vs = FloatVector.broadcast(F, s);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, ab + i, ORDER);
            vectorBinary(op, va, vs).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(a.get(FLOAT, ab + i), s));
        }
    }

    static void binaryScalarVector(BinaryOp op, float s, MemorySegment b, long bb, MemorySegment out, long ob, int n) {
        long bytes = (long) n << 2;
        long vecEnd = bytes - bytes % VBYTES;
        FloatVector vs = FloatVector.broadcast(F, s);
        for (long i = 0; i < vecEnd; i += VBYTES) {
            FloatVector vb = FloatVector.fromMemorySegment(F, b, bb + i, ORDER);
            vectorBinary(op, vs, vb).intoMemorySegment(out, ob + i, ORDER);
        }
        for (long i = vecEnd; i < bytes; i += 4) {
            out.set(FLOAT, ob + i, op.apply(s, b.get(FLOAT, bb + i)));
        }
    }

    // ---- the vector forms of UnaryOp / BinaryOp; kept small so C2 inlines them into each loop ----

    static FloatVector vectorArithmetic(UnaryOp op, FloatVector x, float p, float q) {
        return switch (op) {
            case IDENTITY -> x;
            case NEG -> x.neg();
            case ABS -> x.abs();
            // compare + blend: 2 instructions (x.max(0) needs ~5 for Math.max NaN rules; measured 34 vs 44 GB/s).
            // NaN compares false and stays NaN, like torch.relu; LE (not LT) makes -0 a +0 like Math.max in the scalar
            // tail (with LT the sign of a zero depended on whether it fell in the tail, i.e. on the vector width)
            case RELU -> x.blend(0f, x.compare(VectorOperators.LE, 0f));
            case ADD_SCALAR -> x.add(p);
            case SUB_SCALAR -> x.sub(p);
            case RSUB_SCALAR -> x.broadcast(p).sub(x);
            case MUL_SCALAR -> x.mul(p);
            case DIV_SCALAR -> x.div(p);
            case RDIV_SCALAR -> x.broadcast(p).div(x);
            // max/min follow Math.max/min: a NaN input stays NaN, like torch.clamp
            case CLAMP -> x.max(p).min(q);
            case FILL -> x.broadcast(p);
            default -> throw new IllegalArgumentException(op + " is not an arithmetic op");
        };
    }

    /** The vector form of each transcendental op; rows of EXP, LOG, SIGMOID, TANH and POW_SCALAR run their own loops. */
    static FloatVector vectorTranscendental(UnaryOp op, FloatVector x, float p) {
        return switch (op) {
            case EXP -> VectorMath.exp(x);
            case LOG -> VectorMath.log(x);
            case SQRT -> x.sqrt();
            case SIGMOID -> VectorMath.sigmoid(x);
            case TANH -> VectorMath.tanh(x);
            case GELU -> VectorMath.gelu(x);
            case GELU_TANH -> VectorMath.geluTanh(x);
            case SILU -> VectorMath.silu(x);
            case ERF -> VectorMath.erf(x);
            case POW_SCALAR -> VectorMath.pow(x, p);
            default -> throw new IllegalArgumentException(op + " is not a transcendental op");
        };
    }

    static FloatVector vectorCompare(UnaryOp op, FloatVector x, float p) {
        return switch (op) {
            case EQ_SCALAR -> x.broadcast(0f).blend(1f, x.eq(p));
            case GT_SCALAR -> x.broadcast(0f).blend(1f, x.compare(VectorOperators.GT, p));
            case LT_SCALAR -> x.broadcast(0f).blend(1f, x.compare(VectorOperators.LT, p));
            case STEP_SCALED -> x.broadcast(0f).blend(p, x.compare(VectorOperators.GT, 0f));
            default -> throw new IllegalArgumentException(op + " is not a comparison op");
        };
    }

    static FloatVector vectorBinary(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MAXIMUM -> a.max(b);
            case MINIMUM -> a.min(b);
            case POW -> powVectors(a, b);
            case EQ -> a.broadcast(0f).blend(1f, a.eq(b));
            case GT -> a.broadcast(0f).blend(1f, a.compare(VectorOperators.GT, b));
            case LT -> a.broadcast(0f).blend(1f, a.compare(VectorOperators.LT, b));
            case MASK_POSITIVE -> a.broadcast(0f).blend(a, b.compare(VectorOperators.GT, 0f));
            case GELU_BACKWARD, GELU_TANH_BACKWARD, SILU_BACKWARD -> heavyBinary(op, a, b);
        };
    }

    /** The polynomial-heavy binary ops, out of {@link #vectorBinary}'s inlining budget (their rows call VectorMath directly). */
    private static FloatVector heavyBinary(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case GELU_BACKWARD -> VectorMath.geluBackward(a, b);
            case GELU_TANH_BACKWARD -> VectorMath.geluTanhBackward(a, b);
            default -> VectorMath.siluBackward(a, b);
        };
    }

    private static FloatVector powVectors(FloatVector a, FloatVector b) {
        return VectorMath.pow(a, b);
    }
}
