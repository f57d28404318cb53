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

    private Simd() {
    }
}
