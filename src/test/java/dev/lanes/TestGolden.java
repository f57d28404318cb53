package dev.lanes;

import java.util.List;

/** Public access to the golden-file reader and comparisons for tests in other packages. */
public final class TestGolden {
    private TestGolden() {
    }

    /** One record of a golden file. */
    public record Case(String name, List<String> repr, Golden.Case raw) {
        public Tensor tensor() {
            return raw.tensor();
        }
    }

    public static List<Case> read(String resource) {
        return Golden.read(resource).stream().map(c -> new Case(c.name(), c.repr(), c)).toList();
    }

    public static void assertClose(Tensor got, Tensor want, double atol, double rtol, String what) {
        Assertions2.assertClose(got, want, atol, rtol, what);
    }
}
