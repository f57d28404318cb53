package dev.lanes.kernels;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Constants shared by the kernels: the lane count, the preferred float species and unaligned scalar layouts. */
public final class Simd {
    /**
     * Floats per vector (16 with AVX-512): the preferred shape's size, read without initialising {@code FloatVector}
     * ({@link Preferred#F} is that shape's species and checks the two agree). FloatVector's initialiser makes every float
     * species (10-15 ms in a fresh JVM); the plans need only LANES to size their buffers, and a process's first
     * predictions take the scalar forms ({@link ColdStart}).
     */
    public static final int LANES = VectorShape.preferredShape().vectorBitSize() / Float.SIZE;
    /** Bytes per vector. */
    public static final long VBYTES = LANES * (long) Float.BYTES;
    /**
     * Vector registers the tiles may plan for. The Vector API does not say, so: 32 on AArch64 (NEON, SVE) and with
     * 512-bit lanes (AVX-512), 16 otherwise (AVX2, and SSE or AVX-512 capped at narrower lanes: the safe guess).
     * {@code -Dlanes.vectorRegisters=16|32} overrides it.
     */
    public static final int VECTOR_REGISTERS = vectorRegisters();
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Whether this JVM runs on x86-64 (the only architecture some kernel paths were measured on). */
    public static final boolean X86 = System.getProperty("os.arch").equals("amd64") || System.getProperty("os.arch").equals("x86_64");
    /**
     * Whether gathers ({@code FloatVector.fromArray} with an index map) run as one instruction: on x86-64 (AVX2 and
     * AVX-512 gather in hardware). Elsewhere (NEON has none) the Vector API emulates them lane by lane, so kernels move
     * such data element by element instead. {@code -Dlanes.noGather=true} forces that (for measurements).
     */
    public static final boolean HARDWARE_GATHER = Simd.X86 && !Boolean.getBoolean("lanes.noGather");
    /** Scalar float access without the alignment test (VECTOR-NOTES.md, rule 5). */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    /**
     * The same bits at every width (issue 13): a vector reduction keeps a fixed number of partial sums, 16 or 32,
     * whatever the lane count, and folds them in one fixed order. Element {@code i} of a run goes into partial
     * {@code i mod P}; the partials fold pairwise ({@code p[i] += p[i + P/2]}, then {@code P/4}, ... 1); the elements
     * past the last whole group of P are added one by one afterwards. At 16 lanes P = 16 is one vector, at 8 lanes
     * two, at 4 lanes four: {@code GROUP} vectors, each kernel has a variant per group size. 0 means the lane count
     * is not 4, 8 or 16 (64-bit vectors, SVE above 512 bits): such a JVM runs the scalar form of the same order.
     */
    public static final int GROUP = LANES == 4 || LANES == 8 || LANES == 16 ? 16 / LANES : 0;

    private Simd() {
    }

    /** The preferred float species, made when a vector path first needs it (see {@link #LANES}). */
    public static final class Preferred {
        private Preferred() {
        }

        public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

        static {
            if (F.length() != LANES) {
                throw new IllegalStateException("Lanes: the preferred float species has " + F.length() + " lanes, the preferred shape "
                        + VectorShape.preferredShape() + " says " + LANES);
            }
        }
    }

    private static int vectorRegisters() {
        String forced = System.getProperty("lanes.vectorRegisters");
        if (forced != null && !forced.isBlank()) {
            int r = Integer.parseInt(forced.trim());
            if (r != 16 && r != 32) {
                throw new IllegalArgumentException("lanes.vectorRegisters must be 16 or 32, got " + forced);
            }
            return r;
        }
        String arch = System.getProperty("os.arch", "");
        return arch.equals("aarch64") || arch.equals("arm64") || LANES >= 16 ? 32 : 16;
    }

    private static jdk.incubator.vector.VectorShuffle<Float> fold(int bit) {
        return LANES > bit ? jdk.incubator.vector.VectorShuffle.fromOp(Preferred.F, i -> i ^ bit) : null;
    }

    @SuppressWarnings("unchecked")
    private static jdk.incubator.vector.VectorShuffle<Float>[] wideFolds() {
        int steps = Math.max(0, Integer.numberOfTrailingZeros(LANES) - 4);
        jdk.incubator.vector.VectorShuffle<Float>[] s = new jdk.incubator.vector.VectorShuffle[steps];
        for (int k = 0; k < steps; k++) {
            int bit = LANES >> (k + 1);
            s[k] = jdk.incubator.vector.VectorShuffle.fromOp(Preferred.F, i -> i ^ bit);
        }
        return s;
    }

    /**
     * The vector constants, made when a vector path first needs them: building shuffles and vectors sets up much of the
     * Vector API (the byte species behind every shuffle, their lambdas), 17 of the 27 ms Simd's initialiser took in a
     * fresh JVM when they were its own fields, and a process's first predictions take the scalar forms
     * ({@link ColdStart}), which need none of them. Static finals of their own class: C2 folds them as it did.
     */
    static final class Vectors {
        private Vectors() {
        }

        /**
         * The pairwise folds of {@link Simd#sumLanes}: lane i takes lane {@code i ^ 8}, {@code i ^ 4}, ... (null where the vector
         * has no such lanes). Constants of their own, not an array walked by a loop: a vector carried through that loop was
         * compiled boxed in some JVMs and not others (a fresh JVM's LeNet training step allocated 900 KB a step in 4 of 6
         * runs, in sumLanes under Sgemm's dot kernels; 180 KB with this straight form, until those kernels stopped passing
         * vectors to it: Sgemm.foldLanes).
         */
        private static final jdk.incubator.vector.VectorShuffle<Float> FOLD_8 = fold(8);
        private static final jdk.incubator.vector.VectorShuffle<Float> FOLD_4 = fold(4);
        private static final jdk.incubator.vector.VectorShuffle<Float> FOLD_2 = fold(2);
        private static final jdk.incubator.vector.VectorShuffle<Float> FOLD_1 = fold(1);
        /** Lane counts past 16 (SVE above 512 bits): the leading folds, {@code i ^ LANES / 2} down to {@code i ^ 16}. */
        private static final jdk.incubator.vector.VectorShuffle<Float>[] WIDE_FOLDS = wideFolds();

        /**
         * The lane indices 0, 1, ... LANES - 1 as floats (exact): {@code LANE_INDEX.compare(LT, n)} is the mask of lanes
         * {@code [0, n)} in one compare. Hot loops compare in place rather than call a helper: a mask returned by a call
         * C2 did not inline is boxed (48 bytes at 16 lanes; seen as 8 KB per LeNet plan call from a helper called in a
         * large method). {@code F.indexInRange} profiled slower in col2im's per-tap loop.
         */
        static final FloatVector LANE_INDEX = FloatVector.fromArray(Preferred.F, laneIndices(), 0);

        private static float[] laneIndices() {
            float[] idx = new float[LANES];
            for (int i = 0; i < LANES; i++) {
                idx[i] = i;
            }
            return idx;
        }
    }

    /**
     * The sum of all lanes in a fixed pairwise order (halves, then quarters, ...). {@code reduceLanes(ADD)} may add
     * in a different order once C2 compiles it than in the interpreter, which made results depend on timing.
     * Straight-line code on constant shuffles (the tests on LANES fold away), see {@link Vectors#FOLD_8}.
     */
    public static float sumLanes(FloatVector v) {
        if (LANES > 16) {
            for (jdk.incubator.vector.VectorShuffle<Float> s : Vectors.WIDE_FOLDS) {
                v = v.add(v.rearrange(s));
            }
        }
        if (LANES > 8) {
            v = v.add(v.rearrange(Vectors.FOLD_8));
        }
        if (LANES > 4) {
            v = v.add(v.rearrange(Vectors.FOLD_4));
        }
        if (LANES > 2) {
            v = v.add(v.rearrange(Vectors.FOLD_2));
        }
        if (LANES > 1) {
            v = v.add(v.rearrange(Vectors.FOLD_1));
        }
        return v.lane(0);
    }

    // ---- the canonical folds (see GROUP): the same additions at 16, 8 and 4 lanes ----

    /** 16 partial sums in one 16-lane vector. */
    public static float fold16(FloatVector p) {
        return sumLanes(p);
    }

    /** 16 partial sums as p[0..8), p[8..16) in 8-lane vectors: the first fold (+8) adds the halves. */
    public static float fold16(FloatVector lo, FloatVector hi) {
        return sumLanes(lo.add(hi));
    }

    /** 16 partial sums as four 4-lane vectors: +8 pairs q0 with q2 and q1 with q3, +4 adds those. */
    public static float fold16(FloatVector q0, FloatVector q1, FloatVector q2, FloatVector q3) {
        return sumLanes(q0.add(q2).add(q1.add(q3)));
    }

    /** 32 partial sums as two 16-lane vectors (p[0..16), p[16..32)). */
    public static float fold32(FloatVector a0, FloatVector a1) {
        return fold16(a0.add(a1));
    }

    /** 32 partial sums as four 8-lane vectors. */
    public static float fold32(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        return fold16(a0.add(a2), a1.add(a3));
    }

    /** 32 partial sums as eight 4-lane vectors. */
    public static float fold32(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3,
                               FloatVector a4, FloatVector a5, FloatVector a6, FloatVector a7) {
        return fold16(a0.add(a4), a1.add(a5), a2.add(a6), a3.add(a7));
    }

    /** The scalar form of the canonical fold of {@code p[off .. off + count)} (count a power of two); p is overwritten. */
    public static float fold(float[] p, int off, int count) {
        for (int h = count / 2; h >= 1; h /= 2) {
            for (int i = 0; i < h; i++) {
                p[off + i] = p[off + i] + p[off + i + h];
            }
        }
        return p[off];
    }
}
