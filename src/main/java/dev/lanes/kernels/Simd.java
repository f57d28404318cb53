package dev.lanes.kernels;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Constants shared by the kernels: the preferred float species and unaligned scalar layouts. */
public final class Simd {
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector (16 with AVX-512). */
    public static final int LANES = F.length();
    /** Bytes per vector. */
    public static final long VBYTES = F.vectorByteSize();
    /**
     * Vector registers the tiles may plan for. The Vector API does not say, so: 32 on AArch64 (NEON, SVE) and with
     * 512-bit lanes (AVX-512), 16 otherwise (AVX2, and SSE or AVX-512 capped at narrower lanes: the safe guess).
     * {@code -Dlanes.vectorRegisters=16|32} overrides it.
     */
    public static final int VECTOR_REGISTERS = vectorRegisters();
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Scalar float access without the alignment test (VECTOR-NOTES.md, rule 5). */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private static final jdk.incubator.vector.VectorShuffle<Float>[] FOLD = folds();

    private Simd() {
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

    @SuppressWarnings("unchecked")
    private static jdk.incubator.vector.VectorShuffle<Float>[] folds() {
        int steps = Integer.numberOfTrailingZeros(LANES);
        jdk.incubator.vector.VectorShuffle<Float>[] s = new jdk.incubator.vector.VectorShuffle[steps];
        for (int k = 0; k < steps; k++) {
            int bit = LANES >> (k + 1);
            s[k] = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> i ^ bit);
        }
        return s;
    }

    /**
     * The sum of all lanes in a fixed pairwise order (halves, then quarters, ...). {@code reduceLanes(ADD)} may add
     * in a different order once C2 compiles it than in the interpreter, which made results depend on timing.
     */
    public static float sumLanes(FloatVector v) {
        for (jdk.incubator.vector.VectorShuffle<Float> s : FOLD) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }
}
