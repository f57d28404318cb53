package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The rows of a golden file written by a {@code write_row} generator (gen_attention_golden.py's format): the module's
 * PyTorch state dict ({@code <row>/param/<name>}), the inputs, the output, the incoming gradient and the gradients of
 * every input and parameter.
 */
final class GoldenRows {
    private final String file;
    private final Map<String, TestGolden.Case> cases = new LinkedHashMap<>();
    private final double tol;

    GoldenRows(String file, String generator, double tol) {
        this.file = file + " (" + generator + ")";
        this.tol = tol;
        for (TestGolden.Case c : TestGolden.read(file)) {
            cases.put(c.name(), c);
        }
    }

    /** A fresh tensor of the golden's values (an input's gradient starts from nothing each time). */
    Tensor get(String name) {
        TestGolden.Case c = cases.get(name);
        if (c == null) {
            throw new IllegalStateException("no golden " + name + " in " + file);
        }
        return c.tensor();
    }

    /** The golden's tensor, or null where the row has none of that name (an absent mask). */
    Tensor optional(String name) {
        return cases.containsKey(name) ? get(name) : null;
    }

    /** PyTorch's state dict of {@code row}, in PyTorch's order. */
    Map<String, Tensor> stateDict(String row) {
        String prefix = row + "/param/";
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (Map.Entry<String, TestGolden.Case> e : cases.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                state.put(e.getKey().substring(prefix.length()), e.getValue().tensor());
            }
        }
        return state;
    }

    /**
     * Runs {@code row}: loads PyTorch's state dict into {@code module} strictly (its keys, in PyTorch's order, are the
     * module's), calls fn on the inputs (requiring grad), then checks the output and every input and parameter gradient.
     */
    void check(String row, Module module, String[] inputs, Function<Map<String, Tensor>, Tensor> fn) {
        if (module != null) {
            Map<String, Tensor> state = stateDict(row);
            assertThat(new ArrayList<>(module.stateDict().keySet())).as(row + " state dict keys").containsExactlyElementsOf(state.keySet());
            module.loadStateDict(state);
            module.zeroGrad(true);
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String k : inputs) {
            in.put(k, get(row + "/in/" + k).requiresGrad(true));
        }
        Tensor y = fn.apply(in);
        assertClose(y, get(row + "/y"), row + " output");
        y.backward(get(row + "/g"));
        for (String k : inputs) {
            assertClose(in.get(k).grad(), get(row + "/d/" + k), row + " d" + k);
        }
        if (module != null) {
            for (Map.Entry<String, Tensor> p : module.namedParameters().entrySet()) {
                assertClose(p.getValue().grad(), get(row + "/grad/" + p.getKey()), row + " grad of " + p.getKey());
            }
        }
    }

    void assertClose(Tensor got, Tensor want, String what) {
        assertThat(got).as(what + ": no gradient").isNotNull();
        assertThat(got.shape()).as(what).isEqualTo(want.shape());
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < g.length; i++) {
            boolean ok = Float.isNaN(w[i]) ? Float.isNaN(g[i]) : Math.abs(g[i] - w[i]) <= (float) (tol + tol * Math.abs(w[i]));
            if (!ok && bad.size() < 5) {
                bad.add("element " + i + ": got " + g[i] + " want " + w[i]);
            }
        }
        assertThat(bad).as("%s (tolerance %s absolute and relative)", what, tol).isEmpty();
    }
}
