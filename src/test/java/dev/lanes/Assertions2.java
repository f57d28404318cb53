package dev.lanes;

import static org.assertj.core.api.Assertions.fail;

/** Tensor comparisons for tests: NaN matches NaN, infinities must match exactly. */
final class Assertions2 {
    private Assertions2() {
    }

    static void assertClose(Tensor got, Tensor want, double atol, double rtol, String what) {
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        if (g.length != w.length) {
            fail(what + ": " + g.length + " elements, expected " + w.length);
        }
        for (int i = 0; i < g.length; i++) {
            if (!close(g[i], w[i], atol, rtol)) {
                fail(what + ": element " + i + " is " + g[i] + ", expected " + w[i] + " (atol " + atol + ", rtol " + rtol + ")\n got " + got + "\nwant " + want);
            }
        }
    }

    static boolean close(double g, double w, double atol, double rtol) {
        if (Double.isNaN(w)) {
            return Double.isNaN(g);
        }
        if (Double.isInfinite(w)) {
            return g == w;
        }
        return Math.abs(g - w) <= atol + rtol * Math.abs(w);
    }
}
