package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scalar forms a young process runs ({@link ColdStart}) give the vector forms' bits: max-pooling (values and argmax
 * positions, NaNs, signed zeros and ties included), the canonical dot product, and every element-wise unary op over
 * special values. Each case runs once with the gate shut (vector) and once open (scalar).
 */
class ColdStartTest {
    private final SplittableRandom rnd = new SplittableRandom(17);
    private final Arena arena = Arena.ofAuto();

    @AfterEach
    void warm() {
        ColdStart.poolPlanes = 0;
        ColdStart.dots = 0;
        ColdStart.unaryRows = 0;
    }

    private static final float[] SPECIAL = {0f, -0f, 1f, -1f, Float.NaN, Float.intBitsToFloat(0x7fc00123), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, 88.7f, -103.9f, 1e-30f, 0.5f, 3f};

    private MemorySegment values(int n, boolean special) {
        MemorySegment s = arena.allocate(4L * Math.max(n, 1) + 256, 64);
        for (int i = 0; i < n; i++) {
            float v = special && rnd.nextInt(4) == 0 ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (float) rnd.nextInt(-3, 4) * 0.5f;
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
        return s;
    }

    private static int[] bits(MemorySegment s, long n) {
        return s.asSlice(0, 4 * n).toArray(ValueLayout.JAVA_INT);
    }

    @Test
    void maxPoolingScalarFormGivesTheVectorBits() {
        int[][] shapes = {{6, 28, 28}, {16, 10, 10}, {3, 32, 32}, {2, 9, 13}, {4, 64, 64}, {1, 2, 2}};
        Pooling.Window win = new Pooling.Window(2, 2, 2, 2, 0, 0, 1, 1);
        for (int[] s : shapes) {
            for (boolean withIndices : new boolean[] {false, true}) {
                int planes = s[0];
                int h = s[1];
                int w = s[2];
                int oh = h / 2;
                int ow = w / 2;
                MemorySegment in = values(planes * h * w, true);
                MemorySegment[] out = new MemorySegment[2];
                MemorySegment[] idx = new MemorySegment[2];
                for (int scalar = 0; scalar < 2; scalar++) {
                    ColdStart.poolPlanes = scalar == 1 ? 1 << 20 : 0;
                    out[scalar] = arena.allocate(4L * planes * oh * ow, 64);
                    idx[scalar] = withIndices ? arena.allocate(4L * planes * oh * ow, 64) : null;
                    Pooling.maxPool2d(in, 0, planes, h, w, win, out[scalar], 0, idx[scalar], 0, oh, ow);
                }
                long n = (long) planes * oh * ow;
                assertThat(bits(out[1], n)).as("%dx%dx%d values, indices %s", planes, h, w, withIndices).containsExactly(bits(out[0], n));
                if (withIndices) {
                    assertThat(bits(idx[1], n)).as("%dx%dx%d indices", planes, h, w).containsExactly(bits(idx[0], n));
                }
            }
        }
        ColdStart.poolPlanes = 3;
        Pooling.maxPool2d(values(6 * 28 * 28, false), 0, 6, 28, 28, win, arena.allocate(4L * 6 * 14 * 14), 0, null, 0, 14, 14);
        assertThat(ColdStart.poolPlanes).as("one plane of the count a plane").isZero();
    }

    @Test
    void theDotProductsScalarFormGivesTheVectorBits() {
        for (int iter = 0; iter < 300; iter++) {
            int k = iter < 3 ? new int[] {400, 120, 84}[iter] : rnd.nextInt(0, 700);
            MemorySegment x = values(k, iter % 5 == 0);
            MemorySegment y = values(k, false);
            for (int i = 0; i < k; i++) { // products of many magnitudes: the order of the sums shows in the bits
                y.setAtIndex(ValueLayout.JAVA_FLOAT, i, y.getAtIndex(ValueLayout.JAVA_FLOAT, i) * (float) Math.pow(2, rnd.nextInt(-20, 20)) + 0.1f);
            }
            ColdStart.dots = 0;
            float vector = Sgemm.dot(x, 0, y, 0, k);
            ColdStart.dots = 1 << 20;
            float scalar = Sgemm.dot(x, 0, y, 0, k);
            assertThat(Float.floatToRawIntBits(scalar)).as("k %d", k).isEqualTo(Float.floatToRawIntBits(vector));
        }
    }

    @Test
    void everyUnaryOpsScalarFormGivesTheVectorBits() {
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : new int[] {1, 15, 16, 17, 100, 1000}) {
                MemorySegment x = values(n, true);
                for (int i = 0; i < n; i++) { // and a spread of magnitudes for the transcendental ones
                    if (rnd.nextInt(3) == 0) {
                        x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-30, 30));
                    }
                }
                float p = op == UnaryOp.CLAMP ? -0.5f : 0.75f;
                float q = op == UnaryOp.CLAMP ? 2.5f : 1.5f;
                MemorySegment vector = arena.allocate(4L * n, 64);
                MemorySegment scalar = arena.allocate(4L * n, 64);
                ColdStart.unaryRows = 0;
                Elementwise.unaryContiguous(op, p, q, x, 0, vector, 0, n);
                ColdStart.unaryRows = 1 << 20;
                Elementwise.unaryContiguous(op, p, q, x, 0, scalar, 0, n);
                assertThat(bits(scalar, n)).as("%s over %d", op, n).containsExactly(bits(vector, n));
            }
        }
    }
}
