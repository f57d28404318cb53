package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import dev.lanes.nn.functional.F;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Spatial cross_entropy / nll_loss, cross_entropy against class probabilities, BCELoss, SmoothL1Loss, HuberLoss and
 * KLDivLoss against PyTorch 1.13 (golden/losses.txt, gen_loss_golden.py): the loss (values and repr, grad_fn
 * included), the input's gradient and, where PyTorch's target takes part in the graph, the target's. Tolerance
 * 1e-5 absolute + 1e-5 relative, as NnGoldenTest's losses.
 */
class LossGoldenTest {
    private static Map<String, TestGolden.Case> golden;

    @BeforeAll
    static void load() {
        golden = new LinkedHashMap<>();
        for (TestGolden.Case c : TestGolden.read("losses.txt")) {
            golden.put(c.name(), c);
        }
    }

    private static Tensor g(String name) {
        TestGolden.Case c = golden.get(name);
        assertThat(c).as("golden " + name).isNotNull();
        return c.tensor();
    }

    /** One configuration: the loss of (input, target, weight or null). */
    interface Call {
        Tensor apply(Tensor x, Tensor t, Tensor w);
    }

    static final Map<String, Call> CASES = new LinkedHashMap<>();

    static {
        // spatial cross_entropy / nll_loss
        CASES.put("ce2d_mean", (x, t, w) -> new CrossEntropyLoss().forward(x, t));
        CASES.put("ce2d_ignore_mean", (x, t, w) -> F.crossEntropy(x, t));
        CASES.put("ce2d_weight_ignore_mean", (x, t, w) -> new CrossEntropyLoss(w, -100, 0, "mean").forward(x, t));
        CASES.put("ce2d_weight_ignore3_mean", (x, t, w) -> F.crossEntropy(x, t, w, 3, 0, "mean"));
        CASES.put("ce2d_weight_none", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0, "none"));
        CASES.put("ce2d_sum", (x, t, w) -> new CrossEntropyLoss(null, -100, 0, "sum").forward(x, t));
        CASES.put("ce2d_smooth_mean", (x, t, w) -> new CrossEntropyLoss(null, -100, 0.2, "mean").forward(x, t));
        CASES.put("ce2d_smooth_weight_sum", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0.1, "sum"));
        CASES.put("ce2d_smooth_none", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0.3, "none"));
        CASES.put("ce2d_transposed_weight_mean", (x, t, w) -> F.crossEntropy(x.transpose(2, 3), t, w, -100, 0, "mean"));
        CASES.put("ce1d_mean", (x, t, w) -> F.crossEntropy(x, t));
        CASES.put("ce1d_none", (x, t, w) -> F.crossEntropy(x, t, null, -100, 0, "none"));
        CASES.put("ce3d_weight_mean", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0, "mean"));
        CASES.put("ce3d_none", (x, t, w) -> F.crossEntropy(x, t, null, -100, 0, "none"));
        CASES.put("nll2d_weight_ignore_mean", (x, t, w) -> new NLLLoss(w, -100, "mean").forward(x.logSoftmax(1), t));
        CASES.put("nll2d_none", (x, t, w) -> F.nllLoss(x, t, null, -100, "none"));
        CASES.put("nll1d_sum", (x, t, w) -> new NLLLoss(null, -100, "sum").forward(x, t));
        CASES.put("ce2d_empty_mean", (x, t, w) -> F.crossEntropy(x, t));
        CASES.put("ce2d_empty_sum", (x, t, w) -> F.crossEntropy(x, t, null, -100, 0, "sum"));
        // class probabilities
        CASES.put("ceprob_mean", (x, t, w) -> new CrossEntropyLoss().forward(x, t));
        CASES.put("ceprob_weight_smooth_sum", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0.2, "sum"));
        CASES.put("ceprob_none", (x, t, w) -> F.crossEntropy(x, t, null, -100, 0, "none"));
        CASES.put("ceprob2d_weight_none", (x, t, w) -> new CrossEntropyLoss(w, -100, 0, "none").forward(x, t));
        CASES.put("ceprob2d_smooth_mean", (x, t, w) -> F.crossEntropy(x, t, null, -100, 0.1, "mean"));
        CASES.put("ceprob2d_weight_mean", (x, t, w) -> F.crossEntropy(x, t, w, -100, 0, "mean"));
        CASES.put("ceprob_unbatched_mean", (x, t, w) -> F.crossEntropy(x, t));
        CASES.put("ceprob_empty_mean", (x, t, w) -> F.crossEntropy(x, t));
        // binary_cross_entropy
        CASES.put("bce_mean", (x, t, w) -> new BCELoss().forward(x, t));
        CASES.put("bce_weight_none", (x, t, w) -> new BCELoss(w, "none").forward(x, t));
        CASES.put("bce_weight_sum", (x, t, w) -> F.binaryCrossEntropy(x, t, w, "sum"));
        CASES.put("bce_edges_none", (x, t, w) -> F.binaryCrossEntropy(x, t, null, "none"));
        CASES.put("bce_empty_mean", (x, t, w) -> F.binaryCrossEntropy(x, t));
        // smooth_l1_loss, huber_loss
        CASES.put("sl1_mean", (x, t, w) -> new SmoothL1Loss().forward(x, t));
        CASES.put("sl1_beta05_none", (x, t, w) -> new SmoothL1Loss("none", 0.5).forward(x, t));
        CASES.put("sl1_beta0_sum", (x, t, w) -> F.smoothL1Loss(x, t, "sum", 0.0));
        CASES.put("sl1_beta10_mean", (x, t, w) -> F.smoothL1Loss(x, t, "mean", 10.0));
        CASES.put("huber_mean", (x, t, w) -> new HuberLoss().forward(x, t));
        CASES.put("huber_delta05_none", (x, t, w) -> new HuberLoss("none", 0.5).forward(x, t));
        CASES.put("huber_delta2_sum", (x, t, w) -> F.huberLoss(x, t, "sum", 2.0));
        CASES.put("sl1_empty_mean", (x, t, w) -> F.smoothL1Loss(x, t));
        // kl_div
        CASES.put("kl_mean", (x, t, w) -> new KLDivLoss().forward(x, t));
        CASES.put("kl_batchmean", (x, t, w) -> new KLDivLoss("batchmean", false).forward(x, t));
        CASES.put("kl_zeros_none", (x, t, w) -> F.klDiv(x, t, "none", false));
        CASES.put("kl_zeros_sum", (x, t, w) -> F.klDiv(x, t, "sum", false));
        CASES.put("kl_logtarget_batchmean", (x, t, w) -> new KLDivLoss("batchmean", true).forward(x, t));
        CASES.put("kl_logtarget_none", (x, t, w) -> F.klDiv(x, t, "none", true));
        CASES.put("kl_scalar_batchmean", (x, t, w) -> F.klDiv(x, t, "batchmean", false));
        CASES.put("kl_empty_batchmean", (x, t, w) -> F.klDiv(x, t, "batchmean", false));
    }

    static Stream<String> cases() {
        return CASES.keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void lossAndGradientsMatchPyTorch(String name) {
        Tensor x = g(name + "/input").requiresGrad(true);
        boolean targetGrad = golden.containsKey(name + "/dt");
        Tensor t = targetGrad ? g(name + "/target").requiresGrad(true) : g(name + "/target");
        Tensor w = golden.containsKey(name + "/weight") ? g(name + "/weight") : null;
        Tensor loss = CASES.get(name).apply(x, t, w);
        TestGolden.assertClose(loss, g(name + "/loss"), 1e-5, 1e-5, name + " loss");
        assertThat(loss.toString()).isEqualTo(String.join("\n", golden.get(name + "/loss").repr()));
        loss.backward(g(name + "/gy"));
        TestGolden.assertClose(x.grad(), g(name + "/dx"), 1e-5, 1e-5, name + " input grad");
        if (targetGrad) {
            TestGolden.assertClose(t.grad(), g(name + "/dt"), 1e-5, 1e-5, name + " target grad");
        }
    }

    @Test
    void everyGoldenCaseIsMapped() {
        List<String> names = golden.keySet().stream().filter(k -> k.endsWith("/loss")).map(k -> k.substring(0, k.length() - 5)).toList();
        assertThat(names).containsExactlyInAnyOrderElementsOf(CASES.keySet());
    }
}
