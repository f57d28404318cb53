package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Elementwise ops, reductions and matrix products against PyTorch 1.13 on the same inputs
 * (golden/ops.txt). Tolerance: 1e-5 absolute + 1e-5 relative (float32; exp/tanh/pow differ by an ulp or two
 * between SVML and glibc, and matmul sums in a different order).
 */
class OpsGoldenTest {
    static final Map<String, Tensor> IN = new HashMap<>();
    static final Map<String, Function<Map<String, Tensor>, Tensor>> OPS = new HashMap<>();

    static {
        op("x.add(y)", m -> m.get("x").add(m.get("y")));
        op("x.sub(col)", m -> m.get("x").sub(m.get("col")));
        op("x.mul(y)", m -> m.get("x").mul(m.get("y")));
        op("x.div(p)", m -> m.get("x").div(m.get("p")));
        op("col.add(y)", m -> m.get("col").add(m.get("y")));
        op("x.add(2.5)", m -> m.get("x").add(2.5));
        op("x.sub(1.5)", m -> m.get("x").sub(1.5));
        op("x.mul(-3)", m -> m.get("x").mul(-3));
        op("x.div(7)", m -> m.get("x").div(7));
        op("x.rsub(1)", m -> m.get("x").rsub(1));
        op("x.rdiv(2)", m -> m.get("x").rdiv(2));
        op("x.neg()", m -> m.get("x").neg());
        op("x.exp()", m -> m.get("x").exp());
        op("p.log()", m -> m.get("p").log());
        op("p.sqrt()", m -> m.get("p").sqrt());
        op("x.abs()", m -> m.get("x").abs());
        op("x.pow(2)", m -> m.get("x").pow(2));
        op("p.pow(0.5)", m -> m.get("p").pow(0.5));
        op("p.pow(y)", m -> m.get("p").pow(m.get("y")));
        op("x.relu()", m -> m.get("x").relu());
        op("x.sigmoid()", m -> m.get("x").sigmoid());
        op("x.tanh()", m -> m.get("x").tanh());
        op("x.clamp(-0.5,0.5)", m -> m.get("x").clamp(-0.5, 0.5));
        op("x.maximum(y)", m -> m.get("x").maximum(m.get("y")));
        op("x.minimum(col)", m -> m.get("x").minimum(m.get("col")));
        op("x.eq(x)", m -> m.get("x").eq(m.get("x")));
        op("x.gt(y)", m -> m.get("x").gt(m.get("y")));
        op("x.lt(0)", m -> m.get("x").lt(0));
        op("x.sum()", m -> m.get("x").sum());
        op("x.sum(0)", m -> m.get("x").sum(0));
        op("x.sum(1,true)", m -> m.get("x").sum(1, true));
        op("a3.sum(1)", m -> m.get("a3").sum(1));
        op("x.mean()", m -> m.get("x").mean());
        op("x.mean(1)", m -> m.get("x").mean(1));
        op("a3.mean(-1,true)", m -> m.get("a3").mean(-1, true));
        op("x.max()", m -> m.get("x").max());
        op("x.min()", m -> m.get("x").min());
        op("ties.max(1).values", m -> m.get("ties").max(1).values());
        op("ties.max(1).indices", m -> m.get("ties").max(1).indices());
        op("ties.min(1).values", m -> m.get("ties").min(1).values());
        op("ties.min(1).indices", m -> m.get("ties").min(1).indices());
        op("ties.max(0,true).indices", m -> m.get("ties").max(0, true).indices());
        op("x.argmax()", m -> m.get("x").argmax());
        op("x.argmax(1)", m -> m.get("x").argmax(1));
        op("x.argmin(0)", m -> m.get("x").argmin(0));
        op("x.var()", m -> m.get("x").var());
        op("x.var(1)", m -> m.get("x").var(1));
        op("x.std()", m -> m.get("x").std());
        op("x.std(0,false,false)", m -> m.get("x").std(0, false, false));
        op("a3.var(1,true,true)", m -> m.get("a3").var(1, true, true));
        op("x.mm(m)", m -> m.get("x").mm(m.get("m")));
        op("a3.bmm(b3)", m -> m.get("a3").bmm(m.get("b3")));
        op("a3.matmul(m)", m -> m.get("a3").matmul(m.get("m")));
        op("v.matmul(v)", m -> m.get("v").matmul(m.get("v")));
        op("x.matmul(v)", m -> m.get("x").matmul(m.get("v")));
        op("v.matmul(m)", m -> m.get("v").matmul(m.get("m")));
        op("x.t().contiguous()", m -> m.get("x").t().contiguous());
        op("x.t().mm(x)", m -> m.get("x").t().mm(m.get("x")));
        op("a3.permute(2,0,1).sum(2)", m -> m.get("a3").permute(2, 0, 1).sum(2));
        op("a3.transpose(0,2).add(1)", m -> m.get("a3").transpose(0, 2).add(1));
        op("x.slice(1,1,4,2)", m -> m.get("x").slice(1, 1, 4, 2).contiguous());
        op("addmm(b2,x,m)", m -> Tensor.addmm(m.get("b2"), m.get("x"), m.get("m")));
        op("addmm(col,x,m,0.5,2)", m -> Tensor.addmm(m.get("col"), m.get("x"), m.get("m"), 0.5, 2));
        op("addmm(b2,x,m.t().t())", m -> Tensor.addmm(m.get("b2"), m.get("x"), m.get("m").t().contiguous().t()));
        op("softmax(x,1)", m -> m.get("x").softmax(1));
        op("log_softmax(a3,0)", m -> m.get("a3").logSoftmax(0));
    }

    private static void op(String expr, Function<Map<String, Tensor>, Tensor> f) {
        OPS.put(expr, f);
    }

    @BeforeAll
    static void loadInputs() {
        for (Golden.Case c : Golden.read("ops.txt")) {
            if (c.name().startsWith("input ")) {
                IN.put(c.name().substring(6), c.tensor());
            }
        }
    }

    @AfterAll
    static void release() {
        IN.values().forEach(Tensor::close);
    }

    static Stream<Golden.Case> ops() {
        return Golden.read("ops.txt").stream().filter(c -> c.name().equals("op"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ops")
    void matchesPyTorch(Golden.Case c) {
        Function<Map<String, Tensor>, Tensor> f = OPS.get(c.expr());
        assertThat(f).as("no Java mapping for golden op " + c.expr()).isNotNull();
        try (Tensor got = f.apply(IN); Tensor want = c.tensor()) {
            assertThat(got.size()).as(c.expr()).isEqualTo(want.size());
            assertThat(got.dtype()).as(c.expr()).isEqualTo(want.dtype());
            Assertions2.assertClose(got, want, 1e-5, 1e-5, c.expr());
        }
    }

    @Test
    void everyMappedOpHasAGoldenCase() {
        List<String> golden = ops().map(Golden.Case::expr).toList();
        assertThat(golden).containsExactlyInAnyOrderElementsOf(OPS.keySet());
    }
}
