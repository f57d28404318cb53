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
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Scalar float access without the alignment test (VECTOR-NOTES.md, rule 5). */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private static final jdk.incubator.vector.VectorShuffle<Float>[] FOLD = folds();

    private Simd() {
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
