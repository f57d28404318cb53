package dev.lanes.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A convolution's weight gradient at 2 float lanes ({@code -XX:MaxVectorSize=8}, where {@link Simd#GROUP} is 0) has
 * the bits of every other width. {@link Conv2dDriver#dotsWeightGradient} used to refuse the dot products when GROUP
 * was 0, so such a JVM took the register-tiled GEMM, which adds in another order (the repro's dW[0]: 3f24e674 at
 * 2 lanes against 3f24e6d9 at 4, 8 and 16); {@link Conv2dDriver#weightGradientDots} now runs its scalar form there.
 */
class TwoLaneWeightGradientTest {
    /** n, c, h, w, output channels, kernel, padding, groups: geometries that take {@link Conv2dDriver#weightGradientDots}. */
    private static final int[][] CASES = {
            {1, 1, 16, 16, 1, 3, 1, 1},  // the repro
            {2, 3, 17, 19, 4, 3, 1, 1},
            {2, 1, 28, 28, 6, 5, 0, 1},  // LeNet's first layer
            {3, 2, 28, 28, 6, 5, 2, 1},
            {2, 4, 20, 21, 8, 3, 1, 2},  // two groups of 4 output channels
    };

    /** The child: its lane count, then each case's weight- and input-gradient bits. */
    public static void main(String[] args) {
        System.out.println("lanes " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() + " " + Simd.LANES + " " + Simd.GROUP);
        for (String line : results()) {
            System.out.println(line);
        }
    }

    private static List<String> results() {
        List<String> out = new ArrayList<>();
        for (int[] s : CASES) {
            out.add("grads " + String.join(",", java.util.Arrays.stream(s).mapToObj(Integer::toString).toList()) + " " + gradients(s));
        }
        return out;
    }

    /** The raw bits of w.grad() and x.grad() of sum(conv2d(x, w)) (no bias, stride 1). */
    private static String gradients(int[] s) {
        int n = s[0], c = s[1], h = s[2], w = s[3], o = s[4], k = s[5], pad = s[6], groups = s[7];
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i * 0.37 + 0.1);
        }
        float[] kw = new float[o * (c / groups) * k * k];
        for (int i = 0; i < kw.length; i++) {
            kw[i] = (float) Math.cos(i * 0.71);
        }
        Tensor xt = Tensor.of(x, n, c, h, w).requiresGrad(true);
        Tensor wt = Tensor.of(kw, o, c / groups, k, k).requiresGrad(true);
        Tensor.conv2d(xt, wt, null, new int[] {1, 1}, new int[] {pad, pad}, new int[] {1, 1}, groups).sum().backward();
        return "dW " + hex(wt.grad().toFloatArray()) + " dX " + hex(xt.grad().toFloatArray());
    }

    private static String hex(float[] v) {
        StringBuilder b = new StringBuilder();
        for (float f : v) {
            b.append(String.format("%08x", Float.floatToRawIntBits(f)));
        }
        return b.length() > 4096 ? HexFormat.of().formatHex(sha256(b.toString())) : b.toString();
    }

    private static byte[] sha256(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void casesTakeTheDotProducts() {
        for (int[] s : CASES) {
            int oH = s[2] + 2 * s[6] - s[5] + 1;
            int oW = s[3] + 2 * s[6] - s[5] + 1;
            Im2col.Geometry g = new Im2col.Geometry(s[1] / s[7], s[2], s[3], s[5], s[5], 1, 1, s[6], s[6], 1, 1, oH, oW);
            assertThat(Conv2dDriver.dotsWeightGradient(g, s[4] / s[7], s[7])).as("dot path for %s", java.util.Arrays.toString(s)).isTrue();
        }
    }

    @Test
    void theSameBitsAtTwoLanes() throws Exception {
        List<String> flags = List.of("-XX:MaxVectorSize=8");
        String out;
        try {
            out = dev.lanes.ChildJvm.output(TwoLaneWeightGradientTest.class, flags, List.of(), 120);
        } catch (AssertionError e) {
            String m = String.valueOf(e.getMessage());
            Assumptions.assumeFalse(m.contains("Could not create the Java Virtual Machine") || m.contains("MaxVectorSize"),
                    "this JVM does not accept -XX:MaxVectorSize=8: " + m);
            throw e;
        }
        List<String> lines = out.lines().toList();
        String lanes = lines.stream().filter(l -> l.startsWith("lanes ")).findFirst()
                .orElseThrow(() -> new AssertionError("child printed no lane count:\n" + out));
        if (Simd.X86) {
            // 64-bit vectors on x86-64: 2 float lanes, no GROUP (the case the scalar form is for)
            assertThat(lanes).as("lanes (species, Simd.LANES, Simd.GROUP) of a child with %s", flags).isEqualTo("lanes 2 2 0");
        }
        List<String> child = lines.stream().filter(l -> l.startsWith("grads ")).toList();
        assertThat(child).as("weight and input gradients in a JVM with %s (%s) vs this JVM (%d lanes)", flags, lanes, Simd.LANES)
                .containsExactlyElementsOf(results());
    }
}
