package dev.lanes.nn.utils;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Linear;
import dev.lanes.nn.ModuleList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * clip_grad_norm_ (issue 16) against PyTorch 1.13 (clip/... cases of golden/shape_ops.txt, gen_shape_ops_golden.py):
 * the returned total norm and the clipped gradients for the 2-, 1-, 3- and inf-norms, clipped and not; PyTorch's
 * handling of NaN and infinite norms, parameters without gradients, and bad input.
 */
class ClipGradTest {
    private static final Map<String, TestGolden.Case> GOLDEN = new LinkedHashMap<>();

    static {
        for (TestGolden.Case c : TestGolden.read("shape_ops.txt")) {
            GOLDEN.put(c.name(), c);
        }
    }

    static Stream<String> cases() {
        return GOLDEN.keySet().stream().filter(k -> k.startsWith("clip/") && k.endsWith("/total")).map(k -> k.split("/")[1]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void totalNormAndClippedGradientsMatchPyTorch(String name) {
        TestGolden.Case total = GOLDEN.get("clip/" + name + "/total");
        String[] args = total.repr().get(0).split(" "); // max_norm norm_type, as Python printed them
        double maxNorm = Double.parseDouble(args[0]);
        double normType = args[1].equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(args[1]);
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; GOLDEN.containsKey("clip/" + name + "/p" + i + "/grad"); i++) {
            Tensor grad = GOLDEN.get("clip/" + name + "/p" + i + "/grad").tensor();
            Tensor p = Tensor.zeros(grad.shape()).requiresGrad(true);
            p.setGrad(grad);
            params.add(p);
        }
        params.add(Tensor.zeros(3).requiresGrad(true)); // without a gradient: skipped
        double got = ClipGrad.clipGradNorm_(params, maxNorm, normType);
        float want = total.tensor().item();
        assertThat(got).as("total norm").isCloseTo(want, org.assertj.core.data.Offset.offset(Math.abs(want) * 2e-6));
        for (int i = 0; i < params.size() - 1; i++) {
            TestGolden.assertClose(params.get(i).grad(), GOLDEN.get("clip/" + name + "/p" + i + "/clipped").tensor(), 1e-7, 2e-6,
                    name + " p" + i);
        }
        assertThat(params.get(params.size() - 1).grad()).isNull();
        if (maxNorm < want) { // clipped: the new total is max_norm (up to the 1e-6 and rounding)
            assertThat(ClipGrad.clipGradNorm_(params, 1e30, normType)).isCloseTo(maxNorm, org.assertj.core.data.Offset.offset(maxNorm * 1e-5));
        }
    }

    @Test
    void nonFiniteNormsScaleLikePyTorchUnlessAskedToFail() {
        // PyTorch 1.13: grads [1, inf, -2], [3, 4, 0] -> norm inf, grads [0, nan, -0], [0, 0, 0] for the 2- and inf-norms
        for (double normType : new double[] {2.0, Double.POSITIVE_INFINITY}) {
            Tensor a = withGrad(1, Float.POSITIVE_INFINITY, -2);
            Tensor b = withGrad(3, 4, 0);
            assertThat(ClipGrad.clipGradNorm_(List.of(a, b), 1.0, normType)).isEqualTo(Double.POSITIVE_INFINITY);
            assertThat(a.grad().toFloatArray()).containsExactly(0f, Float.NaN, -0f);
            assertThat(b.grad().toFloatArray()).containsExactly(0f, 0f, 0f);
        }
        Tensor n = withGrad(Float.NaN, 1, 2);
        Tensor m = withGrad(3, 4, 5);
        assertThat(ClipGrad.clipGradNorm_(List.of(n, m), 1.0)).isNaN();
        assertThat(m.grad().toFloatArray()).containsOnly(Float.NaN);
        Tensor e = withGrad(Float.NaN, 1, 2);
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(List.of(e), 1.0, 2.0, true)).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped.");
        assertThat(e.grad().toFloatArray()[1]).isEqualTo(1f); // nothing scaled
        Tensor i = withGrad(Float.NEGATIVE_INFINITY);
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(List.of(i), 1.0, Double.POSITIVE_INFINITY, true))
                .hasMessageContaining("order inf");
    }

    /**
     * A list of contiguous float32 gradients takes the path straight on their memory (no temporaries: a compiled
     * step clips every step); any other Iterable takes the tensor composition. Both must give the same bits: sizes
     * across sumRow's 4,096-float blocks and its 32-float groups, a non-contiguous gradient (general path), clipped
     * and not.
     */
    @Test
    void theDirectPathGivesTheBitsOfTheTensorPath() {
        Lanes.manualSeed(11);
        int[] sizes = {1, 31, 32, 33, 4095, 4096, 4097, 10_000, 70_001};
        for (double maxNorm : new double[] {0.5, 1e9}) {
            List<Tensor> direct = new ArrayList<>();
            List<Tensor> general = new ArrayList<>();
            for (int n : sizes) {
                Tensor g = Tensor.randn(n).mul(0.01);
                direct.add(withGradTensor(g.clone()));
                general.add(withGradTensor(g.clone()));
            }
            Tensor strided = Tensor.randn(6, 5);
            direct.add(withGradTensor(strided.t())); // not contiguous: the whole call takes the general path
            general.add(withGradTensor(strided.t().contiguous()));
            List<Tensor> directOnly = direct.subList(0, sizes.length);
            List<Tensor> generalOnly = general.subList(0, sizes.length);
            double a = ClipGrad.clipGradNorm_(new ArrayList<>(directOnly), maxNorm);
            double b = ClipGrad.clipGradNorm_(() -> generalOnly.iterator(), maxNorm); // an Iterable, not a List
            assertThat(a).as("total norm, max %s", maxNorm).isEqualTo(b);
            for (int i = 0; i < sizes.length; i++) {
                assertThat(directOnly.get(i).grad().toFloatArray()).as("grad %d", sizes[i])
                        .containsExactly(generalOnly.get(i).grad().toFloatArray());
            }
            assertThat(ClipGrad.clipGradNorm_(direct, maxNorm)).isEqualTo(ClipGrad.clipGradNorm_(general, maxNorm));
        }
    }

    private static Tensor withGradTensor(Tensor grad) {
        Tensor p = Tensor.zeros(grad.shape()).requiresGrad(true);
        p.setGrad(grad);
        return p;
    }

    @Test
    void noGradientsGiveZeroAndSmallNormsAreLeftAlone() {
        assertThat(ClipGrad.clipGradNorm_(List.of(), 1.0)).isZero();
        assertThat(ClipGrad.clipGradNorm_(List.of(Tensor.ones(2).requiresGrad(true)), 1.0)).isZero();
        Tensor p = withGrad(0.3f, 0.4f);
        assertThat(ClipGrad.clipGradNorm_(List.of(p), 1.0)).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-7));
        assertThat(p.grad().toFloatArray()).containsExactly(0.3f, 0.4f); // coefficient above 1: untouched
        Tensor empty = Tensor.zeros(0).requiresGrad(true);
        empty.setGrad(Tensor.zeros(0));
        assertThat(ClipGrad.clipGradNorm_(List.of(empty, p), 0.25, Double.POSITIVE_INFINITY)).isCloseTo(0.4, org.assertj.core.data.Offset.offset(1e-7));
    }

    /** The training loop's use: a model's parameters after backward, every step, without growing the pool. */
    @Test
    void clipsAModelsGradientsInATrainingLoopWithoutLeaking() {
        Lanes.manualSeed(3);
        ModuleList net = new ModuleList(new Linear(8, 16), new Linear(16, 1));
        Runnable step = () -> {
            net.zeroGrad();
            try (MemoryScope s = MemoryScope.open()) {
                net.get(1).forward(net.get(0).forward(Tensor.randn(4, 8).mul(100))).sum().backward();
            }
            double before = ClipGrad.clipGradNorm_(net.parameters(), 0.5);
            assertThat(before).isGreaterThan(0.5);
            double after = ClipGrad.clipGradNorm_(net.parameters(), 1e9);
            assertThat(after).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-5));
        };
        for (int k = 0; k < 3; k++) {
            step.run();
        }
        long inUse = MemoryPool.global().bytesInUse();
        for (int k = 0; k < 20; k++) {
            step.run();
        }
        assertThat(MemoryPool.global().bytesInUse()).isLessThanOrEqualTo(inUse);
    }

    @Test
    void badInputIsRefusedWithAClearMessage() {
        List<Tensor> ps = List.of(withGrad(1, 2));
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(ps, -1.0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxNorm")
                .hasMessageContaining("-1.0");
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(ps, Double.NaN)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxNorm");
        for (double bad : new double[] {0.0, -1.0, Double.NaN, Double.NEGATIVE_INFINITY}) {
            assertThatThrownBy(() -> ClipGrad.clipGradNorm_(ps, 1.0, bad)).as("normType %s", bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("normType");
        }
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(null, 1.0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(Arrays.asList(withGrad(1), null), 1.0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("null");
        Tensor released = withGrad(1, 2);
        released.grad().close();
        assertThatThrownBy(() -> ClipGrad.clipGradNorm_(List.of(released), 1.0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("released");
    }

    private static Tensor withGrad(float... grad) {
        Tensor p = Tensor.zeros(grad.length).requiresGrad(true);
        p.setGrad(Tensor.of(grad));
        return p;
    }
}
