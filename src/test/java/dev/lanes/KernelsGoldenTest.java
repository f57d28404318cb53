package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * conv2d, conv_transpose2d, pooling and softmax against PyTorch 1.13 (golden/kernels.txt from gen_kernels_golden.py): the output
 * and every input's gradient for the same upstream gradient. Tolerance 1e-4 absolute + 1e-4 relative (float32
 * sums of up to a few hundred products in a different order).
 */
class KernelsGoldenTest {
    private static final Map<String, Function<Map<String, Tensor>, Tensor>> CASES = new LinkedHashMap<>();

    private static int[] ints(int... v) {
        return v;
    }

    static {
        CASES.put("conv_lenet1", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b")));
        CASES.put("conv_lenet2", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b")));
        CASES.put("conv_stride_pad", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b"), ints(2), ints(1), null, 1));
        CASES.put("conv_pair_args", t -> Tensor.conv2d(t.get("x"), t.get("w"), null, ints(1, 2), ints(2, 0), ints(2, 1), 1));
        CASES.put("conv_groups", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b"), null, ints(1), null, 2));
        CASES.put("conv_depthwise", t -> Tensor.conv2d(t.get("x"), t.get("w"), null, null, ints(0), null, 3));
        CASES.put("conv_1x1", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b")));
        CASES.put("conv_same_even", t -> Tensor.conv2d(t.get("x"), t.get("w"), null, null, "same", null, 1));
        CASES.put("conv_same_odd", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b"), null, "same", ints(2), 1));
        CASES.put("conv_valid", t -> Tensor.conv2d(t.get("x"), t.get("w"), null, null, "valid", null, 1));
        CASES.put("convT_basic", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), t.get("b")));
        CASES.put("convT_stride_pad_outpad", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), t.get("b"), ints(2), ints(1), ints(1), 1, null));
        CASES.put("convT_pair_args", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), null, ints(3, 2), ints(2, 0), ints(1, 0), 1, ints(2, 1)));
        CASES.put("convT_groups", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), t.get("b"), ints(2), ints(1), null, 2, null));
        CASES.put("convT_depthwise_dilated", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), null, null, ints(2), null, 3, ints(2)));
        CASES.put("convT_1x1", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), t.get("b")));
        CASES.put("convT_1x1_outpad", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), null, null, null, ints(1), 1, ints(2)));
        CASES.put("conv_asym_pad", t -> Tensor.conv2d(t.get("x"), t.get("w"), t.get("b"), ints(2), ints(1, 2, 3, 0), null, 1));
        CASES.put("convT_large", t -> Tensor.convTranspose2d(t.get("x"), t.get("w"), t.get("b"), ints(2), ints(1), ints(1), 1, null));
        CASES.put("maxpool_lenet", t -> Tensor.maxPool2d(t.get("x"), 2));
        CASES.put("maxpool_pad_stride", t -> Tensor.maxPool2d(t.get("x"), ints(3), ints(2), ints(1), null, false));
        CASES.put("maxpool_dilation_ceil", t -> Tensor.maxPool2d(t.get("x"), ints(2, 3), ints(2, 2), null, ints(2, 1), true));
        CASES.put("maxpool_3d_input", t -> Tensor.maxPool2d(t.get("x"), ints(2), null, null, null, true));
        CASES.put("avgpool_basic", t -> Tensor.avgPool2d(t.get("x"), 2));
        CASES.put("avgpool_pad_include", t -> Tensor.avgPool2d(t.get("x"), ints(3), ints(2), ints(1), false, true));
        CASES.put("avgpool_pad_exclude_ceil", t -> Tensor.avgPool2d(t.get("x"), ints(3), ints(2), ints(1), true, false));
        CASES.put("adaptive_avg", t -> Tensor.adaptiveAvgPool2d(t.get("x"), 3, 2));
        CASES.put("adaptive_avg_global", t -> Tensor.adaptiveAvgPool2d(t.get("x"), 1));
        CASES.put("softmax_last", t -> t.get("x").softmax(1));
        CASES.put("softmax_mid", t -> t.get("x").softmax(1));
        CASES.put("softmax_first", t -> t.get("x").softmax(0));
        CASES.put("log_softmax_last", t -> t.get("x").logSoftmax(-1));
        CASES.put("log_softmax_mid", t -> t.get("x").logSoftmax(1));
        CASES.put("log_softmax_seed", t -> t.get("x").logSoftmax(1));
    }

    private record GoldenCase(String name, Map<String, Golden.Case> tensors) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<GoldenCase> cases() {
        Map<String, Map<String, Golden.Case>> byCase = new LinkedHashMap<>();
        for (Golden.Case c : Golden.read("kernels.txt")) {
            String[] parts = c.name().split("/");
            byCase.computeIfAbsent(parts[0], k -> new LinkedHashMap<>()).put(parts[1], c);
        }
        return byCase.entrySet().stream().map(e -> new GoldenCase(e.getKey(), e.getValue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBackwardMatchPyTorch(GoldenCase gc) {
        Function<Map<String, Tensor>, Tensor> fn = CASES.get(gc.name());
        assertThat(fn).as("no Lanes call for golden case " + gc.name()).isNotNull();
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (var e : gc.tensors().entrySet()) {
            if (!e.getKey().equals("y") && !e.getKey().equals("gy") && !e.getKey().startsWith("d")) {
                inputs.put(e.getKey(), e.getValue().tensor().requiresGrad(true));
            }
        }
        Tensor y = fn.apply(inputs);
        Assertions2.assertClose(y, gc.tensors().get("y").tensor(), 1e-4, 1e-4, gc.name() + " output");
        y.backward(gc.tensors().get("gy").tensor());
        for (var e : inputs.entrySet()) {
            Golden.Case want = gc.tensors().get("d" + e.getKey());
            assertThat(e.getValue().grad()).as(gc.name() + " d" + e.getKey()).isNotNull();
            Assertions2.assertClose(e.getValue().grad(), want.tensor(), 1e-4, 1e-4, gc.name() + " d" + e.getKey());
        }
    }

    @Test
    void everyGoldenCaseIsMapped() {
        List<String> golden = cases().map(GoldenCase::name).toList();
        assertThat(golden).containsExactlyInAnyOrderElementsOf(CASES.keySet());
    }

    @Test
    void gradFnNamesMatchPyTorch() {
        Tensor x = Tensor.randn(1, 1, 6, 6).requiresGrad(true);
        Tensor w = Tensor.randn(2, 1, 3, 3).requiresGrad(true);
        assertThat(Tensor.conv2d(x, w, null).gradFn().name()).isEqualTo("ConvolutionBackward0");
        assertThat(Tensor.conv2d(x, w, null).gradFn().nextFunctions()).hasSize(3);
        assertThat(Tensor.convTranspose2d(x, w.transpose(0, 1), null).gradFn().name()).isEqualTo("ConvolutionBackward0");
        assertThat(Tensor.maxPool2d(x, 2).gradFn().name()).isEqualTo("MaxPool2DWithIndicesBackward0");
        assertThat(Tensor.avgPool2d(x, 2).gradFn().name()).isEqualTo("AvgPool2DBackward0");
        assertThat(Tensor.adaptiveAvgPool2d(x, 2).gradFn().name()).isEqualTo("AdaptiveAvgPool2DBackward0");
        assertThat(x.softmax(-1).gradFn().name()).isEqualTo("SoftmaxBackward0");
        assertThat(x.logSoftmax(-1).gradFn().name()).isEqualTo("LogSoftmaxBackward0");
    }
}
