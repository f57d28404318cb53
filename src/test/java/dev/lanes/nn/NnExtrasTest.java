package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.autograd.Autograd;
import dev.lanes.nn.functional.F;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * F.normalize / cosineSimilarity / pairwiseDistance, MarginRankingLoss, CosineEmbeddingLoss, TripletMarginLoss,
 * SoftMarginLoss, MultiLabelSoftMarginLoss, PoissonNLLLoss, GaussianNLLLoss, LogSigmoid, Softsign, Tanhshrink,
 * Threshold, Softmin, AdaptiveMaxPool2d, SELU, CELU, Hardshrink, Softshrink and PReLU against PyTorch 1.13 (golden/nn_extras.txt, gen_nn_extras_golden.py):
 * values, shapes and every operand's gradient, 1e-5 absolute + 1e-5 relative. Also reprs, messages, plan tracing.
 */
class NnExtrasTest {
    private static Map<String, TestGolden.Case> golden;

    @BeforeAll
    static void load() {
        golden = new LinkedHashMap<>();
        for (TestGolden.Case c : TestGolden.read("nn_extras.txt")) {
            golden.put(c.name(), c);
        }
    }

    private static Tensor g(String name) {
        TestGolden.Case c = golden.get(name);
        assertThat(c).as("golden " + name).isNotNull();
        return c.tensor();
    }

    static final Map<String, Function<Tensor[], Tensor>> CASES = new LinkedHashMap<>();

    static {
        CASES.put("normalize_default", a -> F.normalize(a[0]));
        CASES.put("normalize_p1_dim0", a -> F.normalize(a[0], 1.0, 0, 1e-12));
        CASES.put("normalize_zero_row", a -> F.normalize(a[0], 2.0, 1, 1e-12));
        CASES.put("normalize_p3_eps", a -> F.normalize(a[0], 3.0, -1, 0.5));
        CASES.put("normalize_inf", a -> F.normalize(a[0], Double.POSITIVE_INFINITY, 1, 1e-12));
        CASES.put("normalize_empty", a -> F.normalize(a[0]));
        CASES.put("normalize_nan", a -> F.normalize(a[0]));
        CASES.put("cos_default", a -> new CosineSimilarity().forward(a[0], a[1]));
        CASES.put("cos_broadcast", a -> F.cosineSimilarity(a[0], a[1], -1, 1e-8));
        CASES.put("cos_dim0", a -> new CosineSimilarity(0, 1e-8).forward(a[0], a[1]));
        CASES.put("cos_tiny", a -> F.cosineSimilarity(a[0], a[1]));
        CASES.put("cos_eps", a -> F.cosineSimilarity(a[0], a[1], 1, 0.5));
        CASES.put("cos_1d", a -> F.cosineSimilarity(a[0], a[1], 0, 1e-8));
        CASES.put("pdist_default", a -> new PairwiseDistance().forward(a[0], a[1]));
        CASES.put("pdist_p1_keepdim", a -> new PairwiseDistance(1.0, 1e-6, true).forward(a[0], a[1]));
        CASES.put("pdist_broadcast", a -> F.pairwiseDistance(a[0], a[1], 3.0, 0.0, false));
        CASES.put("pdist_inf", a -> F.pairwiseDistance(a[0], a[1], Double.POSITIVE_INFINITY, 1e-6, false));
        CASES.put("pdist_1d", a -> F.pairwiseDistance(a[0], a[1]));
        CASES.put("pdist_empty", a -> F.pairwiseDistance(a[0], a[1]));
        for (String red : List.of("mean", "sum", "none")) {
            CASES.put("mrl_" + red, a -> new MarginRankingLoss(0.3, red).forward(a[0], a[1], a[2]));
            CASES.put("cel_" + red, a -> new CosineEmbeddingLoss(0.1, red).forward(a[0], a[1], a[2]));
            CASES.put("tml_" + red, a -> new TripletMarginLoss(1.5, 2.0, 1e-6, false, red).forward(a[0], a[1], a[2]));
            CASES.put("sml_" + red, a -> new SoftMarginLoss(red).forward(a[0], a[1]));
            CASES.put("mlsml_" + red, a -> new MultiLabelSoftMarginLoss(null, red).forward(a[0], a[1]));
            CASES.put("pnll_" + red, a -> new PoissonNLLLoss(true, false, 1e-8, red).forward(a[0], a[1]));
            CASES.put("gnll_" + red, a -> new GaussianNLLLoss(false, 1e-6, red).forward(a[0], a[1], a[2]));
        }
        CASES.put("mrl_broadcast", a -> F.marginRankingLoss(a[0], a[1], a[2]));
        CASES.put("mrl_empty", a -> new MarginRankingLoss().forward(a[0], a[1], a[2]));
        CASES.put("cel_0d", a -> F.cosineEmbeddingLoss(a[0], a[1], a[2], -0.5, "mean"));
        CASES.put("cel_other_target", a -> F.cosineEmbeddingLoss(a[0], a[1], a[2], 0, "none"));
        CASES.put("tml_p1_swap", a -> F.tripletMarginLoss(a[0], a[1], a[2], 1.0, 1.0, 1e-6, true, "none"));
        CASES.put("tml_p3_eps", a -> F.tripletMarginLoss(a[0], a[1], a[2], 0.5, 3.0, 0.01, false, "sum"));
        CASES.put("tml_1d", a -> new TripletMarginLoss(3.0, 2.0, 1e-6, false, "mean").forward(a[0], a[1], a[2]));
        CASES.put("mlsml_weight", a -> new MultiLabelSoftMarginLoss(a[2], "mean").forward(a[0], a[1]));
        CASES.put("mlsml_3d_none", a -> F.multilabelSoftMarginLoss(a[0], a[1], null, "none"));
        CASES.put("pnll_rate_none", a -> F.poissonNllLoss(a[0], a[1], false, false, 1e-8, "none"));
        CASES.put("pnll_full_mean", a -> new PoissonNLLLoss(true, true, 1e-8, "mean").forward(a[0], a[1]));
        CASES.put("pnll_rate_full_eps_sum", a -> F.poissonNllLoss(a[0], a[1], false, true, 0.1, "sum"));
        CASES.put("gnll_homo_full", a -> new GaussianNLLLoss(true, 1e-6, "none").forward(a[0], a[1], a[2]));
        CASES.put("gnll_homo1_sum", a -> F.gaussianNllLoss(a[0], a[1], a[2], false, 1e-6, "sum"));
        CASES.put("gnll_clamped_eps", a -> F.gaussianNllLoss(a[0], a[1], a[2], false, 0.01, "none"));
        CASES.put("logsigmoid", a -> new LogSigmoid().forward(a[0]));
        CASES.put("softsign", a -> new Softsign().forward(a[0]));
        CASES.put("tanhshrink", a -> new Tanhshrink().forward(a[0]));
        CASES.put("threshold", a -> new Threshold(0.5, -2.0).forward(a[0]));
        CASES.put("threshold_at", a -> F.threshold(a[0], 1.0, 20.0));
        CASES.put("softmin_dim1", a -> new Softmin(1).forward(a[0]));
        CASES.put("softmin_dim0", a -> F.softmin(a[0], 0));
        CASES.put("amp_3x3_of_7x5", a -> new AdaptiveMaxPool2d(3, 3).forward(a[0]));
        CASES.put("amp_2_of_4x6", a -> new AdaptiveMaxPool2d(2).forward(a[0]));
        CASES.put("amp_5x4_of_3x3", a -> F.adaptiveMaxPool2d(a[0], 5, 4));
        CASES.put("amp_1_global", a -> F.adaptiveMaxPool2d(a[0], 1));
        CASES.put("amp_ties", a -> F.adaptiveMaxPool2d(a[0], 2));
        CASES.put("amp_nan", a -> F.adaptiveMaxPool2d(a[0], 2));
        CASES.put("amp_empty_batch", a -> F.adaptiveMaxPool2d(a[0], 2));
        CASES.put("bilinear_2d", a -> F.bilinear(a[0], a[1], a[2], a[3]));
        CASES.put("bilinear_3d", a -> F.bilinear(a[0], a[1], a[2], a[3]));
        CASES.put("bilinear_nobias_1d", a -> F.bilinear(a[0], a[1], a[2], null));
        CASES.put("bilinear_empty", a -> F.bilinear(a[0], a[1], a[2], a[3]));
        CASES.put("selu", a -> new SELU().forward(a[0]));
        CASES.put("celu_default", a -> new CELU().forward(a[0]));
        CASES.put("celu_alpha2", a -> new CELU(2.0).forward(a[0]));
        CASES.put("celu_alpha_small", a -> F.celu(a[0], 0.1));
        CASES.put("hardshrink_default", a -> new Hardshrink().forward(a[0]));
        CASES.put("hardshrink_at", a -> F.hardshrink(a[0], 0.3));
        CASES.put("softshrink_default", a -> new Softshrink().forward(a[0]));
        CASES.put("softshrink_at", a -> F.softshrink(a[0], 0.3));
        CASES.put("softshrink_zero", a -> new Softshrink(0).forward(a[0]));
        CASES.put("prelu_one", a -> F.prelu(a[0], a[1]));
        CASES.put("prelu_channels", a -> F.prelu(a[0], a[1]));
        CASES.put("prelu_2d", a -> F.prelu(a[0], a[1]));
        CASES.put("prelu_1d", a -> F.prelu(a[0], a[1]));
        CASES.put("prelu_zero_dim_weight", a -> F.prelu(a[0], a[1]));
    }

    static Stream<String> cases() {
        return CASES.keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void valuesAndGradientsMatchPyTorch(String name) {
        int n = 0;
        while (golden.containsKey(name + "/a" + n)) {
            n++;
        }
        Tensor[] a = new Tensor[n];
        for (int i = 0; i < n; i++) {
            a[i] = g(name + "/a" + i);
            if (golden.containsKey(name + "/d" + i)) {
                a[i].requiresGrad(true);
            }
        }
        Tensor out = CASES.get(name).apply(a);
        Tensor want = g(name + "/out");
        assertThat(out.shape()).as(name + " shape").containsExactly(want.shape());
        TestGolden.assertClose(out, want, 1e-5, 1e-5, name + " value");
        out.backward(g(name + "/gy"));
        for (int i = 0; i < n; i++) {
            if (golden.containsKey(name + "/d" + i)) {
                Tensor grad = a[i].grad() != null ? a[i].grad() : Tensor.zerosLike(a[i]);
                TestGolden.assertClose(grad, g(name + "/d" + i), 1e-5, 1e-5, name + " grad of operand " + i);
            }
        }
    }

    @Test
    void everyGoldenCaseIsMapped() {
        List<String> names = golden.keySet().stream().filter(k -> k.endsWith("/out")).map(k -> k.substring(0, k.length() - 4)).toList();
        assertThat(names).containsExactlyInAnyOrderElementsOf(CASES.keySet());
    }

    @Test
    void reprsAsTorchPrintsThem() {
        assertThat(new CosineSimilarity().toString()).isEqualTo("CosineSimilarity()");
        assertThat(new PairwiseDistance().toString()).isEqualTo("PairwiseDistance()");
        assertThat(new MarginRankingLoss(0.5, "mean").toString()).isEqualTo("MarginRankingLoss()");
        assertThat(new CosineEmbeddingLoss().toString()).isEqualTo("CosineEmbeddingLoss()");
        assertThat(new TripletMarginLoss().toString()).isEqualTo("TripletMarginLoss()");
        assertThat(new SoftMarginLoss().toString()).isEqualTo("SoftMarginLoss()");
        assertThat(new MultiLabelSoftMarginLoss().toString()).isEqualTo("MultiLabelSoftMarginLoss()");
        assertThat(new PoissonNLLLoss().toString()).isEqualTo("PoissonNLLLoss()");
        assertThat(new GaussianNLLLoss().toString()).isEqualTo("GaussianNLLLoss()");
        assertThat(new LogSigmoid().toString()).isEqualTo("LogSigmoid()");
        assertThat(new Softsign().toString()).isEqualTo("Softsign()");
        assertThat(new Tanhshrink().toString()).isEqualTo("Tanhshrink()");
        assertThat(new Softmin(1).toString()).isEqualTo("Softmin(dim=1)");
        assertThat(new Softmin().toString()).isEqualTo("Softmin(dim=None)");
        assertThat(new Threshold(0.1, 20).toString()).isEqualTo("Threshold(threshold=0.1, value=20.0)");
        assertThat(new Threshold(1, 2).toString()).isEqualTo("Threshold(threshold=1, value=2)");
        assertThat(new SELU().toString()).isEqualTo("SELU()");
        assertThat(new CELU().toString()).isEqualTo("CELU(alpha=1.0)");
        assertThat(new CELU(0.5).toString()).isEqualTo("CELU(alpha=0.5)");
        assertThat(new Hardshrink().toString()).isEqualTo("Hardshrink(0.5)");
        assertThat(new Softshrink(2).toString()).isEqualTo("Softshrink(2.0)");
        assertThat(new PReLU().toString()).isEqualTo("PReLU(num_parameters=1)");
        assertThat(new PReLU(3).toString()).isEqualTo("PReLU(num_parameters=3)");
        assertThat(new AdaptiveMaxPool2d(2).toString()).isEqualTo("AdaptiveMaxPool2d(output_size=2)");
        assertThat(new AdaptiveMaxPool2d(2, 3).toString()).isEqualTo("AdaptiveMaxPool2d(output_size=(2, 3))");
    }

    @Test
    void bilinearModuleAsTorch() {
        Bilinear m = new Bilinear(2, 3, 4);
        assertThat(m.toString()).isEqualTo("Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)");
        assertThat(new Bilinear(2, 3, 4, false).toString()).isEqualTo("Bilinear(in1_features=2, in2_features=3, out_features=4, bias=False)");
        assertThat(m.stateDict().keySet()).containsExactly("weight", "bias");
        assertThat(m.weight.shape()).containsExactly(4, 2, 3);
        double bound = 1 / Math.sqrt(2);
        for (float v : m.weight.toFloatArray()) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) bound);
        }
        for (float v : m.bias.toFloatArray()) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) bound);
        }
        Tensor x1 = Tensor.randn(5, 2);
        Tensor x2 = Tensor.randn(5, 3);
        TestGolden.assertClose(m.forward(x1, x2), F.bilinear(x1, x2, m.weight, m.bias), 0, 0, "module = functional");
        assertThatThrownBy(() -> m.forward(Tensor.randn(5, 3), x2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bilinear(): input1 size does not match weight size: got 3 but expected 2");
        assertThatThrownBy(() -> m.forward(x1, Tensor.randn(4, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bilinear(): input batch dimensions do not match: got 5 and 4");
        assertThatThrownBy(() -> m.forward(x1, Tensor.randn(3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bilinear(): input dimensions do not match: got 2 and 1");
        assertTracesLikeEager(x -> m.forward(x, x.slice(1, 0, 1).expand(5, 3).mul(x.slice(1, 1, 2))), 5, 2);
    }

    @Test
    void embeddingFromPretrained() {
        Tensor w = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Embedding e = Embedding.fromPretrained(w);
        assertThat(e.toString()).isEqualTo("Embedding(3, 2)");
        assertThat(e.weight.requiresGrad()).isFalse();
        assertThat(e.forward(Tensor.of(new long[] {2, 0}, 2)).toFloatArray()).containsExactly(5, 6, 1, 2);
        Embedding t = Embedding.fromPretrained(w, false, 1);
        assertThat(t.toString()).isEqualTo("Embedding(3, 2, padding_idx=1)");
        assertThat(t.weight.requiresGrad()).isTrue();
        assertThat(t.weight.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6); // the padding row kept, as torch
        t.forward(Tensor.of(new long[] {1, 2, 2}, 3)).sum().backward();
        assertThat(t.weight.grad().toFloatArray()).containsExactly(0, 0, 0, 0, 2, 2);
        assertThatThrownBy(() -> Embedding.fromPretrained(Tensor.ones(3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Embeddings parameter is expected to be 2-dimensional");
    }

    @Test
    void softminWithoutDimUsesTorchsLegacyChoice() {
        Tensor x = Tensor.randn(3, 4);
        TestGolden.assertClose(new Softmin().forward(x), x.neg().softmax(1), 0, 0, "2-d: dim 1");
        Tensor y = Tensor.randn(2, 3, 4);
        TestGolden.assertClose(new Softmin().forward(y), y.neg().softmax(0), 0, 0, "3-d: dim 0");
    }

    @Test
    void badInputMessagesAsTorch() {
        Tensor a = Tensor.randn(3);
        assertThatThrownBy(() -> F.marginRankingLoss(a, Tensor.randn(3, 1), a))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([3]), "
                        + "input2: torch.Size([3, 1]), target: torch.Size([3]) ");
        assertThatThrownBy(() -> F.cosineSimilarity(Tensor.randn(2, 3), Tensor.randn(2, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
        assertThatThrownBy(() -> F.tripletMarginLoss(Tensor.randn(2, 3), Tensor.randn(3), Tensor.randn(2, 3), 1, 2, 1e-6, false, "mean"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: "
                        + "anchor 2D, positive 1D, and negative 2D inputs");
        assertThatThrownBy(() -> F.cosineEmbeddingLoss(Tensor.randn(2, 3), Tensor.randn(2, 3), Tensor.ones(2, 1), 0, "mean"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("0D or 1D target tensor expected, multi-target not supported");
        assertThatThrownBy(() -> F.cosineEmbeddingLoss(Tensor.randn(3), Tensor.randn(3), Tensor.ones(3), 0, "mean"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("1D target tensor expects 2D input tensors, but found inputs with sizes [3] and [3].");
        assertThatThrownBy(() -> F.gaussianNllLoss(Tensor.randn(4, 3), Tensor.randn(4, 3), Tensor.ones(3), false, 1e-6, "mean"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("var is of incorrect size");
        assertThatThrownBy(() -> F.gaussianNllLoss(Tensor.randn(4, 3), Tensor.randn(4, 3), Tensor.ones(4, 3).neg(), false, 1e-6, "mean"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("var has negative entry/entries");
        assertThatThrownBy(() -> F.gaussianNllLoss(Tensor.randn(4, 3), Tensor.randn(4, 3), Tensor.ones(4, 3), false, 1e-6, "avg"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("avg is not valid");
        assertThatThrownBy(() -> F.softMarginLoss(a, a, "avg"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("avg is not a valid value for reduction");
        assertThatThrownBy(() -> new PoissonNLLLoss(true, false, 1e-8, "avg"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> F.adaptiveMaxPool2d(Tensor.randn(4, 4), 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [4, 4]");
        assertThatThrownBy(() -> F.adaptiveMaxPool2d(Tensor.randn(1, 2, 0, 4), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 2, 0, 4] "
                        + "with dimension 2 being empty");
        assertThatThrownBy(() -> new TripletMarginLoss().forward(a, a))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forward(anchor, positive, negative)");
    }

    @Test
    void preluModuleAsTorch() {
        PReLU m = new PReLU(3, 0.1);
        assertThat(m.stateDict().keySet()).containsExactly("weight");
        assertThat(m.weight.shape()).containsExactly(3);
        assertThat(m.weight.toFloatArray()).containsExactly(0.1f, 0.1f, 0.1f);
        assertThat(new PReLU().weight.toFloatArray()).containsExactly(0.25f);
        Tensor x = Tensor.randn(2, 3, 4);
        TestGolden.assertClose(m.forward(x), F.prelu(x, m.weight), 0, 0, "module = functional");
        Tensor y = m.forward(x).sum();
        y.backward();
        assertThat(m.weight.grad().shape()).containsExactly(3);
        assertThatThrownBy(() -> new PReLU(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("num_parameters");
    }

    @Test
    void badActivationArgumentsAreRefused() {
        Tensor x = Tensor.randn(2, 3, 4);
        assertThatThrownBy(() -> F.prelu(x, Tensor.ones(4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prelu: mismatch of parameter numbers and input channel size: weight has 4 values, input torch.Size([2, 3, 4]) has 3 channels");
        assertThatThrownBy(() -> F.prelu(x, Tensor.ones(3, 1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scalar or 1D tensor");
        assertThatThrownBy(() -> F.prelu(Tensor.scalar(1), Tensor.ones(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("zero-dim input");
        assertThatThrownBy(() -> F.prelu(x, Tensor.ones(1).toType(dev.lanes.DType.INT64))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("float32");
        assertThatThrownBy(() -> F.softshrink(x, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("softshrink: lambda must be greater or equal to 0, but found to be -1.0");
        assertThatThrownBy(() -> new Softshrink(-0.5)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lambda");
        assertThatThrownBy(() -> F.celu(x, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("alpha cannot be 0");
        assertThatThrownBy(() -> new CELU(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("alpha cannot be 0");
        assertThatThrownBy(() -> F.selu(x.toType(dev.lanes.DType.INT64))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("float32");
    }

    /** The plan traced from {@code f} on {@code shape} gives f's eager output. */
    private static void assertTracesLikeEager(Function<Tensor, Tensor> f, int... shape) {
        try (Autograd.Mode m = Autograd.noGrad(); Tensor x = Tensor.randn(shape); Tensor want = f.apply(x);
             InferencePlan plan = InferencePlan.trace(f::apply, shape)) {
            float[] got = new float[want.numel()];
            plan.run(x.toFloatArray(), got);
            float[] w = want.toFloatArray();
            for (int i = 0; i < w.length; i++) {
                assertThat(Math.abs(got[i] - w[i])).as("element %d of\n%s", i, plan).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(w[i]));
            }
        }
    }

    @Test
    void unevenAdaptiveMaxPoolIsRefusedByTheTrace() {
        assertThatThrownBy(() -> InferencePlan.trace(new AdaptiveMaxPool2d(3, 2)::forward, 2, 3, 7, 5))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("has no plan step");
    }

    @Test
    void activationsAndPoolingTraceIntoAPlan() {
        assertTracesLikeEager(new LogSigmoid()::forward, 3, 7);
        assertTracesLikeEager(new Softsign()::forward, 3, 7);
        assertTracesLikeEager(new Tanhshrink()::forward, 3, 7);
        assertTracesLikeEager(new Threshold(0.1, -1.0)::forward, 3, 7);
        assertTracesLikeEager(new Softmin(1)::forward, 3, 7);
        assertTracesLikeEager(new SELU()::forward, 3, 7);
        assertTracesLikeEager(new CELU(0.5)::forward, 3, 7);
        assertTracesLikeEager(new Hardshrink(0.4)::forward, 3, 7);
        assertTracesLikeEager(new Softshrink()::forward, 3, 7);
        assertTracesLikeEager(new PReLU(3, -0.2)::forward, 2, 3, 5);
        assertTracesLikeEager(new PReLU()::forward, 11);
        assertTracesLikeEager(new AdaptiveMaxPool2d(3, 2)::forward, 2, 3, 9, 4);
        assertTracesLikeEager(new AdaptiveMaxPool2d(1)::forward, 3, 5, 6);
    }

    /** The distances reduce by Tensor.norm, which has no plan step: the trace refuses them by name. */
    @Test
    void distancesAreRefusedByTheTrace() {
        assertThatThrownBy(() -> InferencePlan.trace(x -> F.normalize(x), 4, 6))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("norm has no plan step");
        assertThatThrownBy(() -> InferencePlan.trace(x -> new CosineSimilarity().forward(x, x.mul(2).add(1)), 4, 6))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("norm has no plan step");
        assertThatThrownBy(() -> InferencePlan.trace(x -> new PairwiseDistance().forward(x, x.mul(2)), 4, 6))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("norm has no plan step");
    }
}
