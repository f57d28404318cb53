package dev.lanes.io.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import dev.lanes.DType;

import dev.lanes.InferencePlan;
import dev.lanes.Tensor;
import dev.lanes.TestGolden;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Models exported by PyTorch 1.13 ({@code src/test/python/gen_onnx_models.py}) run by Lanes, eagerly and as an
 * inference plan, against PyTorch's outputs; and ONNX files attacked: mutated, truncated, nested without end, pointing
 * their external data outside their folder. A hostile file may only be refused with IllegalArgumentException (or
 * UnsupportedOperationException for a well-formed model Lanes cannot run).
 */
class OnnxModelTest {
    static byte[] resource(String name) throws IOException {
        try (InputStream in = OnnxModelTest.class.getResourceAsStream("/onnx/" + name)) {
            assertThat(in).as("resource /onnx/" + name + " (run src/test/python/gen_onnx_models.py)").isNotNull();
            return in.readAllBytes();
        }
    }

    static Map<String, Tensor> golden() {
        Map<String, Tensor> m = new HashMap<>();
        for (TestGolden.Case c : TestGolden.read("onnx.txt")) {
            m.put(c.name(), c.tensor());
        }
        return m;
    }

    /**
     * PyTorch's exports match PyTorch's outputs within 1e-4 relative, eagerly and in a plan (plan and eager alike).
     * activations13/17: PRelu (per-channel slope), Selu, Celu, Floor, Ceil, Round (halves to even), Sign, IsNaN and IsInf
     * as torch exports them, on an input holding NaN, +inf and -inf.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lenet", "resnet20", "mlp_gelu_ln13", "mlp_gelu_ln17", "activations13", "activations17"})
    void pytorchExportsMatchPytorch(String name) throws IOException {
        Map<String, Tensor> g = golden();
        Tensor x = g.get(name + "/x");
        Tensor want = g.get(name + "/y");
        try (OnnxModel m = OnnxModel.parse(resource(name + ".onnx"))) {
            Tensor eager = m.forward(x);
            TestGolden.assertClose(eager, want, 1e-5, 1e-4, name + " eager");
            try (InferencePlan plan = m.plan(x.shape())) {
                Tensor planned = plan.run(x);
                TestGolden.assertClose(planned, want, 1e-5, 1e-4, name + " plan");
                assertThat(plan.run(x).toFloatArray()).as("a second call of the plan").containsExactly(planned.toFloatArray());
                // plan(shape) traces without computing and checks nothing; plan(example) runs the eager forward and checks
                // the plan against it: the same plan either way (a checked plan whose Winograd rounding drifted would
                // have gone back to the direct form, and these do not)
                try (InferencePlan checked = m.plan(x)) {
                    assertThat(checked.toString()).isEqualTo(plan.toString());
                    assertThat(checked.run(x).toFloatArray()).as("the checked plan").containsExactly(planned.toFloatArray());
                }
                if (name.equals("resnet20")) { // each of the 9 blocks' relu(conv(..) + shortcut) is one pass
                    String listing = plan.toString();
                    long adds = listing.lines().filter(l -> l.contains("= add ") && l.endsWith("-> relu")).count();
                    // or in the convolution itself, which runs by Winograd (the same bits on every machine),
                    // its shortcut computed before it (all 9: the two strided 1 x 1 shortcuts moved before it)
                    long fused = listing.lines().filter(l -> l.contains("= conv2d ") && l.matches(".* \\+ %\\d+ -> relu -> .*")).count();
                    assertThat(adds + fused).as(listing).isEqualTo(9);
                    assertThat(listing.lines().filter(l -> l.contains("winograd") && l.matches(".* \\+ %\\d+ -> relu -> .*")).count()).as(listing)
                            .isEqualTo(dev.lanes.kernels.Winograd.ENABLED ? 9 : 0);
                    assertThat(listing.lines().filter(l -> l.contains("= relu ")).count()).as(listing).isZero();
                }
            }
        }
    }

    /**
     * PyTorch's exports of its recurrent modules ({@code src/test/python/gen_onnx_rnn_models.py}: a 2-layer bidirectional
     * batch-first LSTM, a GRU, a tanh RNN, each followed by a Linear) match PyTorch within 1e-4 relative, eagerly and as
     * a plan: ONNX's LSTM, GRU and RNN nodes with their gate blocks put back in torch's order.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lstm2_bidir_bf", "gru", "rnn_tanh"})
    void pytorchRecurrentExportsMatchPytorch(String name) throws IOException {
        Map<String, Tensor> g = new HashMap<>();
        for (TestGolden.Case c : TestGolden.read("onnx_rnn.txt")) {
            g.put(c.name(), c.tensor());
        }
        Tensor x = g.get(name + "/x");
        Tensor want = g.get(name + "/y");
        try (OnnxModel m = OnnxModel.parse(resource(name + ".onnx"))) {
            TestGolden.assertClose(m.forward(x), want, 1e-5, 1e-4, name + " eager");
            TestGolden.assertClose(m.forward(x), want, 1e-5, 1e-4, name + " eager, the converted weights reused");
            try (InferencePlan plan = m.plan(x.shape())) {
                Tensor planned = plan.run(x);
                TestGolden.assertClose(planned, want, 1e-5, 1e-4, name + " plan");
                assertThat(plan.run(x).toFloatArray()).as("a second call of the plan").containsExactly(planned.toFloatArray());
            }
        }
    }

    /**
     * nn.PixelShuffle / PixelUnshuffle with x.repeat (DepthToSpace CRD, Tile), nn.InstanceNorm2d(affine=True), torch.einsum
     * (batched matmul, plain matmul on a weight, attention scores, a transpose) and opset 9's nn.Upsample (the
     * deprecated Upsample, routed to the fused nearest kernel) as PyTorch 1.13 exports them
     * ({@code gen_onnx_structural.py}): within 1e-4 relative of PyTorch eagerly and as a plan, and a warm plan call
     * allocates nothing on the heap (measured in a fresh JVM, {@link dev.lanes.PlanHeapProbe}).
     */
    @ParameterizedTest
    @ValueSource(strings = {"pixel_shuffle13", "instance_norm13", "einsum13", "upsample9"})
    void pytorchStructuralExportsMatchPytorch(String name) throws Exception {
        Map<String, Tensor> g = new HashMap<>();
        for (TestGolden.Case c : TestGolden.read("onnx_structural.txt")) {
            g.put(c.name(), c.tensor());
        }
        Tensor x = g.get(name + "/x");
        Tensor want = g.get(name + "/y");
        try (OnnxModel m = OnnxModel.parse(resource(name + ".onnx"))) {
            TestGolden.assertClose(m.forward(x), want, 1e-5, 1e-4, name + " eager");
            try (InferencePlan plan = m.plan(x.shape())) {
                TestGolden.assertClose(plan.run(x), want, 1e-5, 1e-4, name + " plan");
                if (name.equals("upsample9")) {
                    assertThat(plan.toString()).contains("upsample_nearest2d");
                }
                // in a JVM of its own, as PlanHeapProbe explains (this suite's JVM may keep a vector loop's boxed fallback)
                String shape = java.util.Arrays.toString(x.shape()).replaceAll("[\\[\\] ]", "");
                assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx:" + name + ".onnx:" + shape)).as(name + ": heap bytes per warm plan call")
                        .isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
            }
        }
    }

    /**
     * A warm ResNet-20 plan call allocates nothing on the heap, in a fresh JVM (see PlanHeapProbe): its direct stem
     * written channels-last (Conv2dDriver.forwardChannelsLast), the Winograd layers, the stride-2 layers with their fused
     * shortcuts.
     */
    @Test
    void resNet20PlanDoesNotAllocate() throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx:resnet20.onnx:1,3,32,32")).as("resnet20: heap bytes per warm plan call")
                .isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
    }

    /**
     * Warm plan calls of torch's exports through Where, the comparisons, Softplus (Mish's decomposition), Erf (GELU at
     * opsets 13 and 17) and a char GPT's causal mask allocate nothing on the heap, in a fresh JVM (see PlanHeapProbe).
     * Before: activations17 5,736 B a call and activations13 6,248 (a StridedLoop and offset arrays per Where and
     * comparison step, and log1p's vectors boxed under the Softplus row), mlp_gelu_ln13/17 8,192 (erf's vectors boxed).
     */
    @ParameterizedTest
    @ValueSource(strings = {"activations17.onnx:2,4,5", "activations13.onnx:3,4,5", "mlp_gelu_ln13.onnx:8,32", "mlp_gelu_ln17.onnx:8,32",
        "char_gpt14.onnx:2,16"})
    void selectComparisonAndActivationPlansDoNotAllocate(String spec) throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx:" + spec)).as(spec + ": heap bytes per warm plan call")
                .isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
    }

    /** A warm call of the bidirectional LSTM's plan allocates nothing on the heap (in a fresh JVM: see PlanHeapProbe). */
    @Test
    void recurrentPlanDoesNotAllocate() throws Exception {
        assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx:lstm2_bidir_bf.onnx:2,7,8")).as("bytes allocated per warm call").isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
    }

    /**
     * PyTorch's export of a character GPT (embeddings of int64 token ids, two pre-norm TransformerEncoderLayers with a
     * causal mask from triu, GELU and LayerNorm decomposed at opset 14) matches PyTorch within 1e-4 relative.
     */
    /**
     * Each single-input case of ONNX's node tests for the pointwise activations and predicates (Celu, Selu, Softsign,
     * ThresholdedRelu, Shrink, Floor, Ceil, Round, Sign, IsNaN, IsInf with its detect_* attributes) traced into a plan
     * on the case's input: the plan's output matches ONNX's expected one (OnnxConformanceTest's tolerance) on that input
     * and on its second call. Skipped without libonnx-testdata; the PRelu cases take the slope as a second input, which
     * a one-input plan cannot, so PRelu is planned through the torch export above.
     */
    @ParameterizedTest
    @ValueSource(strings = {"test_celu", "test_selu", "test_selu_default", "test_selu_example", "test_softsign", "test_softsign_example",
            "test_thresholdedrelu", "test_thresholdedrelu_default", "test_thresholdedrelu_example", "test_shrink_hard", "test_shrink_soft",
            "test_floor", "test_floor_example", "test_ceil", "test_ceil_example", "test_round", "test_sign", "test_isnan", "test_isinf",
            "test_isinf_negative", "test_isinf_positive"})
    void pointwiseNodeTestsRunAsPlans(String name) throws IOException {
        java.nio.file.Path dir = OnnxConformanceTest.NODE_TESTS.resolve(name);
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(dir), "ONNX test data not installed: " + dir);
        java.nio.file.Path set = dir.resolve("test_data_set_0");
        try (OnnxModel m = OnnxModel.load(dir.resolve("model.onnx"))) {
            Tensor x = OnnxModel.toTensor(OnnxFormat.parseTensor(java.nio.file.Files.readAllBytes(set.resolve("input_0.pb"))));
            OnnxFormat.TensorData want = OnnxFormat.parseTensor(java.nio.file.Files.readAllBytes(set.resolve("output_0.pb")));
            // a plan returns float32 or int64: IsNaN's and IsInf's bool answers are traced with a cast to float after them
            boolean bool = want.dataType() == OnnxFormat.BOOL;
            try (InferencePlan plan = bool ? InferencePlan.trace(t -> m.forward(t).toType(dev.lanes.DType.FLOAT32), x) : m.plan(x)) {
                assertThat(OnnxConformanceTest.compare(want, plan.run(x))).as(name + " plan\n" + plan).isNull();
                assertThat(OnnxConformanceTest.compare(want, plan.run(x))).as(name + " plan, second call").isNull();
            }
        }
    }

    /** IsInf with neither sign to detect answers false everywhere (ONNX's reference ORs two empty tests). */
    @Test
    void isInfDetectingNeitherSignIsAllFalse() {
        byte[] isinf = OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("IsInf", List.of("x"), List.of("y"),
                        intAttr("detect_negative", 0), intAttr("detect_positive", 0))),
                List.of(), List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.BOOL)));
        try (OnnxModel m = OnnxModel.parse(isinf)) {
            Tensor x = Tensor.of(new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1f}, 4);
            assertThat(m.run(x).get(0).toType(dev.lanes.DType.INT64).toLongArray()).containsExactly(0L, 0L, 0L, 0L);
        }
    }

    /** Sign of integers known at trace time (shape arithmetic) folds exactly: Shape [2, 3] - [5, 3] = [-3, 0], Sign [-1, 0]. */
    @Test
    void signOfKnownIntegersFolds() {
        byte[] sign = OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("Shape", List.of("x"), List.of("s")),
                        OnnxHostileGraphTest.node("Sub", List.of("s", "c"), List.of("d")), OnnxHostileGraphTest.node("Sign", List.of("d"), List.of("y"))),
                List.of(OnnxHostileGraphTest.int64Init("c", new long[] {2}, 5, 3)),
                List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 2, 3)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel m = OnnxModel.parse(sign)) {
            assertThat(m.run(Tensor.randn(2, 3)).get(0).toLongArray()).containsExactly(-1L, 0L);
        }
    }

    /**
     * ONNX's attribute and shape rules of the new pointwise operators: a slope that would widen PRelu's input, Celu's
     * alpha 0; and a Cast to double that feeds anything but IsInf / IsNaN stays refused (torch's isinf export is the
     * one pattern let through, in activations13/17).
     */
    @Test
    void pointwiseOperatorsRefuseBadAttributesAndShapes() {
        byte[] cast = OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("Cast", List.of("x"), List.of("d"), intAttr("to", OnnxFormat.DOUBLE)),
                        OnnxHostileGraphTest.node("IsInf", List.of("d"), List.of("inf")), OnnxHostileGraphTest.node("Add", List.of("d", "d"), List.of("y"))),
                List.of(), List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 3)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel m = OnnxModel.parse(cast)) {
            assertThatThrownBy(() -> m.forward(Tensor.randn(4, 3))).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("Cast to double");
        }
        byte[] prelu = OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("PRelu", List.of("x", "slope"), List.of("y"))),
                List.of(new OnnxHostileGraphTest.W().varint(1, 2).varint(1, 3).varint(2, OnnxFormat.FLOAT).str(8, "slope")
                        .bytes(9, new byte[24])),
                List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 3)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel m = OnnxModel.parse(prelu)) {
            assertThatThrownBy(() -> m.forward(Tensor.randn(4, 3))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("PRelu: slope of shape [2, 3] does not broadcast to the input's shape [4, 3]");
            assertThatThrownBy(() -> m.forward(Tensor.randn(4, 3).toType(dev.lanes.DType.INT64))).isInstanceOf(RuntimeException.class);
        }
        byte[] celu = OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("Celu", List.of("x"), List.of("y"),
                        OnnxHostileGraphTest.floatAttr("alpha", 0f))),
                List.of(), List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 3)), List.of(OnnxHostileGraphTest.valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel m = OnnxModel.parse(celu)) {
            assertThatThrownBy(() -> m.forward(Tensor.randn(4, 3))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Celu: alpha must be nonzero");
        }
    }

    /**
     * torch.topk as PyTorch 1.13 exports it ({@code gen_onnx_models.py}): a classifier's top-5 scores at opset 10 (k an
     * input, no largest / sorted attributes) and 13, on logits with ties and an all-NaN row, and the 3 smallest logits'
     * indices gathering rows of an embedding table (TopK largest = 0 on axis -1, then Gather of the int64 indices):
     * PyTorch's outputs within 1e-4 relative, eagerly and as a plan whose TopK is one step, and a warm call of that plan
     * allocates nothing (in a fresh JVM, {@link dev.lanes.PlanHeapProbe}).
     */
    @ParameterizedTest
    @ValueSource(strings = {"top5_10", "top5_13", "topk_gather13"})
    void pytorchTopkExportsMatchPytorch(String name) throws Exception {
        Map<String, Tensor> g = golden();
        Tensor x = g.get(name + "/x");
        Tensor want = g.get(name + "/y");
        try (OnnxModel m = OnnxModel.parse(resource(name + ".onnx"))) {
            TestGolden.assertClose(m.forward(x), want, 1e-5, 1e-4, name + " eager");
            try (InferencePlan plan = m.plan(x.shape())) {
                assertThat(plan.toString()).contains(name.startsWith("top5") ? "= topk(5) descending" : "= topk(3) ascending");
                Tensor planned = plan.run(x);
                TestGolden.assertClose(planned, want, 1e-5, 1e-4, name + " plan");
                assertThat(planned.toFloatArray()).as("plan and eager, bit for bit").containsExactly(m.forward(x).toFloatArray());
            }
        }
        if (name.equals("topk_gather13")) {
            assertThat(dev.lanes.PlanHeapProbe.inFreshJvm("onnx:topk_gather13.onnx:5,16")).as("heap bytes per warm plan call")
                    .isLessThan(dev.lanes.PlanHeapProbe.ALLOCATION_LIMIT);
        }
    }

    /** x [4, 10] -> TopK(k) on {@code axis} -> (values, indices), the graph's outputs {@code outputs}; k an initializer. */
    private static byte[] topK(int opset, long[] k, List<String> outputs, int outType, OnnxHostileGraphTest.W... attrs) {
        return OnnxHostileGraphTest.model(opset, List.of(OnnxHostileGraphTest.node("TopK", List.of("x", "k"), outputs, attrs).str(3, "rank")),
                List.of(OnnxHostileGraphTest.int64Init("k", new long[] {k.length}, k)),
                List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 10)),
                outputs.stream().filter(o -> !o.isEmpty()).map(o -> OnnxHostileGraphTest.valueInfo(o, o.equals("i") ? OnnxFormat.INT64 : outType)).toList());
    }

    /**
     * TopK's attributes and outputs: the Indices output alone as an int64 plan (the ids equal to the eager graph's,
     * ties by lower index as ONNX specifies), largest = 0, sorted = 0 (sorted anyway), axis 0; opset 10's form has no
     * largest attribute to read (always the largest), and before it k is an attribute; k out of range, negative or not one value is refused with the node
     * named.
     */
    @Test
    void topKAttributesIndicesAndRefusals() {
        float[] xs = new float[40];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (i * 7 % 5) - 2; // five distinct values, each repeated: ties everywhere
        }
        Tensor x = Tensor.of(xs, 4, 10);
        try (OnnxModel m = OnnxModel.parse(topK(13, new long[] {4}, List.of("", "i"), OnnxFormat.FLOAT, intAttr("axis", 1)));
             InferencePlan plan = m.plan(4, 10)) {
            assertThat(plan.outputType()).isEqualTo(DType.INT64);
            long[] ids = new long[16];
            plan.run(xs, ids);
            assertThat(ids).containsExactly(m.run(x).get(0).toLongArray());
            assertThat(java.util.Arrays.copyOf(ids, 4)).containsExactly(x.topk(4, 1).indices().narrow(0, 0, 1).toLongArray());
        }
        try (OnnxModel m = OnnxModel.parse(topK(11, new long[] {3}, List.of("v", "i"), OnnxFormat.FLOAT, intAttr("axis", 0),
                intAttr("largest", 0), intAttr("sorted", 0)))) {
            List<Tensor> r = m.run(x);
            assertThat(r.get(0).toFloatArray()).containsExactly(x.topk(3, 0, false, true).values().toFloatArray());
            assertThat(r.get(1).toLongArray()).containsExactly(x.topk(3, 0, false, true).indices().toLongArray());
        }
        try (OnnxModel m = OnnxModel.parse(topK(10, new long[] {2}, List.of("v", "i"), OnnxFormat.FLOAT, intAttr("axis", -1), intAttr("largest", 0)))) {
            assertThat(m.run(x).get(0).toFloatArray()).as("opset 10 has no largest attribute: the largest")
                    .containsExactly(x.topk(2, 1).values().toFloatArray());
        }
        byte[] opset9 = OnnxHostileGraphTest.model(9, List.of(OnnxHostileGraphTest.node("TopK", List.of("x"), List.of("v", "i"), intAttr("k", 3))),
                List.of(), List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 10)),
                List.of(OnnxHostileGraphTest.valueInfo("v", OnnxFormat.FLOAT), OnnxHostileGraphTest.valueInfo("i", OnnxFormat.INT64)));
        try (OnnxModel m = OnnxModel.parse(opset9)) {
            assertThat(m.run(x).get(1).toLongArray()).as("before opset 10, k is an attribute").containsExactly(x.topk(3, 1).indices().toLongArray());
        }
        for (long[] k : new long[][] {{11}, {-1}, {1, 2}}) {
            try (OnnxModel m = OnnxModel.parse(topK(13, k, List.of("v", "i"), OnnxFormat.FLOAT))) {
                assertThatThrownBy(() -> m.run(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank")
                        .hasMessageContaining("TopK").hasMessageContaining(k.length == 1 ? "k = " + k[0] + " is out of range for axis 1 of size 10"
                                : "K must hold exactly one value, has 2");
            }
        }
    }

    /** x [4, 10] -> MatMul(w [10, 6]) -> {@code head} (ArgMax, Hardmax, ...) -> y: a classifier's last node, built in the test. */
    private static byte[] classifier(String head, int yType, OnnxHostileGraphTest.W... attrs) {
        java.nio.ByteBuffer w = java.nio.ByteBuffer.allocate(4 * 60).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < 60; i++) {
            w.putFloat((float) r.nextDouble(-1, 1));
        }
        OnnxHostileGraphTest.W weight = new OnnxHostileGraphTest.W().varint(1, 10).varint(1, 6).varint(2, OnnxFormat.FLOAT).str(8, "w").bytes(9, w.array());
        return OnnxHostileGraphTest.model(13, List.of(OnnxHostileGraphTest.node("MatMul", List.of("x", "w"), List.of("logits")),
                        OnnxHostileGraphTest.node(head, List.of("logits"), List.of("y"), attrs)), List.of(weight),
                List.of(OnnxHostileGraphTest.valueInfo("x", OnnxFormat.FLOAT, 4, 10)), List.of(OnnxHostileGraphTest.valueInfo("y", yType)));
    }

    private static OnnxHostileGraphTest.W intAttr(String name, long v) {
        return new OnnxHostileGraphTest.W().str(1, name).varint(20, OnnxFormat.ATTR_INT).varint(3, v);
    }

    /**
     * A classifier ending in ArgMax plans with an int64 output (the class ids, equal to the eager graph's), and one
     * ending in Hardmax (a one-hot of the first maximum) as a float plan; PreparedModel, which serves scores, refuses
     * the int64 one with a message that says what to use instead.
     */
    @Test
    void argMaxAndHardmaxClassifiersRunAsPlans() {
        // the first maximum's ids, and with select_last_index = 1 the last one's (ids turned around on the reversed axis:
        // a float round trip, exact)
        byte[][] argMaxes = {classifier("ArgMax", OnnxFormat.INT64, intAttr("axis", 1), intAttr("keepdims", 0)),
                classifier("ArgMax", OnnxFormat.INT64, intAttr("axis", 1), intAttr("select_last_index", 1))};
        for (byte[] graph : argMaxes) {
            try (OnnxModel m = OnnxModel.parse(graph); InferencePlan plan = m.plan(4, 10)) {
                assertThat(plan.outputType()).isEqualTo(DType.INT64);
                for (int seed = 0; seed < 3; seed++) {
                    try (Tensor x = Tensor.randn(4, 10)) {
                        long[] ids = new long[4];
                        plan.run(x.toFloatArray(), ids);
                        List<Tensor> eager = m.run(x);
                        assertThat(ids).containsExactly(eager.get(0).toLongArray());
                        eager.forEach(Tensor::close);
                    }
                }
            }
        }
        try (OnnxModel m = OnnxModel.parse(classifier("Hardmax", OnnxFormat.FLOAT, intAttr("axis", -1)));
             InferencePlan plan = m.plan(4, 10); Tensor x = Tensor.randn(4, 10)) {
            assertThat(plan.outputType()).isEqualTo(DType.FLOAT32);
            float[] out = new float[24];
            plan.run(x.toFloatArray(), out);
            List<Tensor> eager = m.run(x);
            assertThat(out).containsExactly(eager.get(0).toFloatArray());
            eager.forEach(Tensor::close);
            float ones = 0;
            for (float v : out) {
                ones += v;
            }
            assertThat(ones).as("one 1 per row").isEqualTo(4f);
        }
        assertThatThrownBy(() -> dev.lanes.serve.PreparedModel.loadOnnx(classifier("ArgMax", OnnxFormat.INT64, intAttr("axis", 1)), "argmax.onnx", 4, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("argmax.onnx returns int64 [4, 1]")
                .hasMessageContaining("long[] output");
    }

    @Test
    void charGptExportMatchesPytorch() throws IOException {
        Map<String, Tensor> g = golden();
        try (OnnxModel m = OnnxModel.parse(resource("char_gpt14.onnx"))) {
            Tensor logits = m.forward(g.get("char_gpt14/x"));
            TestGolden.assertClose(logits, g.get("char_gpt14/y"), 1e-5, 1e-4, "char_gpt14");
        }
    }

    /**
     * The same export as a plan over int64 token ids: traced on PyTorch's input, or by shape alone (on zeros), it
     * gives PyTorch's logits and refuses an id past the vocabulary on the run (InferencePlanTest measures an int64
     * plan's heap per call).
     */
    @Test
    void charGptExportRunsAsAnInt64Plan() throws IOException {
        Map<String, Tensor> g = golden();
        Tensor x = g.get("char_gpt14/x");
        int[] shape = x.shape();
        try (OnnxModel m = OnnxModel.parse(resource("char_gpt14.onnx")); InferencePlan traced = m.plan(x); InferencePlan byShape = m.plan(shape)) {
            for (InferencePlan plan : List.of(traced, byShape)) {
                assertThat(plan.inputType()).isEqualTo(DType.INT64);
                TestGolden.assertClose(plan.run(x), g.get("char_gpt14/y"), 1e-5, 1e-4, "char_gpt14 plan");
            }
            long[] ids = x.toLongArray();
            float[] out = new float[traced.outputSize()];
            int vocab = g.get("char_gpt14/y").size(2);
            ids[3] = vocab;
            assertThatThrownBy(() -> traced.run(ids, out)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("index " + vocab).hasMessageContaining("size " + vocab);
        }
        // served: warmUp runs an int64 model on valid ids (zeros), predict(long[]) gives PyTorch's logits
        try (dev.lanes.serve.PreparedModel served = dev.lanes.serve.PreparedModel.loadOnnx(resource("char_gpt14.onnx"), "char_gpt14.onnx", shape)) {
            float[] logits = new float[served.outputSize()];
            served.warmUp(java.time.Duration.ZERO).predict(x.toLongArray(), logits);
            TestGolden.assertClose(Tensor.of(logits, g.get("char_gpt14/y").shape()), g.get("char_gpt14/y"), 1e-5, 1e-4, "char_gpt14 served");
        }
    }

    /** The plan folds the exporter's shape arithmetic and fuses LeNet's bias + ReLU into its GEMMs and convolutions. */
    @Test
    void lenetPlanFusesItsActivations() throws IOException {
        try (OnnxModel m = OnnxModel.parse(resource("lenet.onnx")); InferencePlan plan = m.plan(1, 1, 32, 32)) {
            String steps = plan.toString();
            assertThat(steps).as(steps).contains("-> relu");
            assertThat(plan.stepCount()).as(steps).isLessThan(m.format().graph().nodes().size());
        }
    }

    @Test
    void unsupportedOperatorsAreRefusedAtLoadWithTheirNodeAndOpset() throws IOException {
        byte[] model = resource("mlp_gelu_ln17.onnx");
        // rename the LayerNormalization node's op type to one Lanes does not have (same length: the bytes stay valid)
        byte[] renamed = replace(model, "LayerNormalization", "LayerNormalizatioX");
        assertThatThrownBy(() -> OnnxModel.parse(renamed)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("LayerNormalizatioX").hasMessageContaining("opset 17");
    }

    private static byte[] replace(byte[] b, String from, String to) {
        byte[] f = from.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] t = to.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] out = b.clone();
        boolean found = false;
        outer:
        for (int i = 0; i + f.length <= out.length; i++) {
            for (int j = 0; j < f.length; j++) {
                if (out[i + j] != f[j]) {
                    continue outer;
                }
            }
            System.arraycopy(t, 0, out, i, t.length); // every occurrence: node names may repeat the op type
            found = true;
        }
        if (!found) {
            throw new AssertionError(from + " not found");
        }
        return out;
    }

    /** Thousands of mutated files: each loads and runs, or is refused with IllegalArgumentException / UnsupportedOperationException. */
    @Test
    void mutatedFilesAreRefusedCleanly() throws IOException {
        byte[] model = resource("mlp_gelu_ln13.onnx");
        Tensor x = Tensor.randn(2, 32);
        SplittableRandom rnd = new SplittableRandom(20);
        int loaded = 0;
        for (int iter = 0; iter < 3000; iter++) {
            byte[] b = model.clone();
            int edits = 1 + rnd.nextInt(4);
            for (int e = 0; e < edits; e++) {
                int at = rnd.nextInt(b.length);
                switch (rnd.nextInt(4)) {
                    case 0 -> b[at] = (byte) rnd.nextInt(256);
                    case 1 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                    case 2 -> b[at] = (byte) (rnd.nextBoolean() ? 0xff : 0x80); // varint continuation bits, huge lengths
                    default -> b = java.util.Arrays.copyOf(b, at); // truncation
                }
                if (b.length == 0) {
                    break;
                }
            }
            byte[] mutated = b;
            try (OnnxModel m = OnnxModel.parse(mutated)) {
                loaded++;
                try {
                    m.run(x);
                } catch (IllegalArgumentException | UnsupportedOperationException ok) {
                    // refused while running: a mutated weight shape or attribute
                }
            } catch (IllegalArgumentException | UnsupportedOperationException ok) {
                // refused while reading
            }
        }
        assertThat(loaded).as("some mutations leave a loadable model (e.g. changed weights)").isGreaterThan(0);
    }

    @Test
    void everyTruncationIsRefused() throws IOException {
        byte[] model = resource("mlp_gelu_ln17.onnx");
        for (int len = 0; len < model.length; len += 7) {
            byte[] cut = java.util.Arrays.copyOf(model, len);
            assertThatThrownBy(() -> OnnxModel.parse(cut).close()).as("the first " + len + " bytes")
                    .isInstanceOfAny(IllegalArgumentException.class, UnsupportedOperationException.class);
        }
    }

    @Test
    void deepNestingAndHugeLengthsAreRefused() {
        // 100 nested graph fields (ModelProto.graph = 7, length-delimited), each claiming the rest of the file
        byte[] nested = new byte[200];
        for (int i = 0; i < 100; i++) {
            nested[2 * i] = (byte) (7 << 3 | 2);
            nested[2 * i + 1] = (byte) (200 - 2 * i - 2 > 127 ? 127 : 200 - 2 * i - 2);
        }
        assertThatThrownBy(() -> OnnxFormat.parse(nested, null)).isInstanceOf(IllegalArgumentException.class);
        // a raw_data length of 2^62
        byte[] huge = {(byte) (7 << 3 | 2), 12, (byte) (5 << 3 | 2), 10, (byte) (9 << 3 | 2), (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
            (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40};
        assertThatThrownBy(() -> OnnxFormat.parse(huge, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("past the end");
        // dims whose product overflows
        ProtoWriter t = new ProtoWriter().varint(1, 1L << 40).varint(1, 1L << 40).varint(2, OnnxFormat.FLOAT);
        assertThatThrownBy(() -> OnnxFormat.parseTensor(t.bytes())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("elements");
        ProtoWriter t2 = new ProtoWriter().varint(1, 2).varint(1, 1L << 62).varint(2, OnnxFormat.FLOAT);
        assertThatThrownBy(() -> OnnxFormat.parseTensor(t2.bytes())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("elements");
    }

    @Test
    void externalDataMustStayInTheModelsFolder(@TempDir Path dir) throws IOException {
        Path outside = dir.resolve("secret.bin");
        Files.write(outside, new byte[16]);
        Path models = Files.createDirectory(dir.resolve("models"));
        for (String location : List.of("../secret.bin", outside.toString(), "missing.bin")) {
            ProtoWriter tensor = new ProtoWriter().varint(1, 4).varint(2, OnnxFormat.FLOAT).string(8, "w")
                    .message(13, new ProtoWriter().string(1, "location").string(2, location)).varint(14, 1);
            ProtoWriter graph = new ProtoWriter().message(5, tensor);
            byte[] model = new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().string(1, "").varint(2, 13)).bytes();
            Path file = models.resolve("m.onnx");
            Files.write(file, model);
            assertThatThrownBy(() -> OnnxFormat.read(file)).as(location).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tensor 'w'");
        }
        // inside the folder, with the right length: read
        Files.write(models.resolve("w.bin"), new byte[16]);
        ProtoWriter tensor = new ProtoWriter().varint(1, 4).varint(2, OnnxFormat.FLOAT).string(8, "w")
                .message(13, new ProtoWriter().string(1, "location").string(2, "w.bin")).varint(14, 1);
        byte[] model = new ProtoWriter().varint(1, 8).message(7, new ProtoWriter().message(5, tensor))
                .message(8, new ProtoWriter().string(1, "").varint(2, 13)).bytes();
        Files.write(models.resolve("ok.onnx"), model);
        assertThat(OnnxFormat.read(models.resolve("ok.onnx")).graph().initializers().get(0).floats()).containsExactly(0f, 0f, 0f, 0f);
    }

    /** An initializer {@code name} of {@code floats} floats in external file {@code location} at {@code offset}. */
    private static ProtoWriter externalTensor(String name, String location, long offset, int floats) {
        return new ProtoWriter().varint(1, floats).varint(2, OnnxFormat.FLOAT).string(8, name)
                .message(13, new ProtoWriter().string(1, "location").string(2, location))
                .message(13, new ProtoWriter().string(1, "offset").string(2, Long.toString(offset))).varint(14, 1);
    }

    private static Path externalModel(Path models, String file, ProtoWriter... tensors) throws IOException {
        ProtoWriter graph = new ProtoWriter();
        for (ProtoWriter t : tensors) {
            graph.message(5, t);
        }
        byte[] model = new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().string(1, "").varint(2, 13)).bytes();
        return Files.write(models.resolve(file), model);
    }

    /**
     * Links: one inside the folder is read; a link out, to an existing file or to nothing, and a link to a directory
     * outside with a missing or an existing file under it get the same answer (a model cannot probe which paths exist
     * outside); a range past the file's end is refused; and tensors that all name the
     * same range of one file are refused once their sum passes the read limit (each alone is within it).
     */
    @Test
    void externalDataLinksRangesAndTheirSum(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("secret.bin"), new byte[16]);
        Path models = Files.createDirectory(dir.resolve("models"));
        Files.write(models.resolve("w.bin"), new byte[8192]);
        Files.createSymbolicLink(models.resolve("inside.bin"), models.resolve("w.bin"));
        Files.createSymbolicLink(models.resolve("out.bin"), dir.resolve("secret.bin"));
        Files.createSymbolicLink(models.resolve("nowhere.bin"), dir.resolve("no-such-file.bin"));
        assertThat(OnnxFormat.read(externalModel(models, "a.onnx", externalTensor("w", "inside.bin", 16, 4))).graph().initializers()).hasSize(1);
        String outExisting = catchMessage(() -> OnnxFormat.read(externalModel(models, "b.onnx", externalTensor("w", "out.bin", 0, 4))));
        String outMissing = catchMessage(() -> OnnxFormat.read(externalModel(models, "c.onnx", externalTensor("w", "nowhere.bin", 0, 4))));
        assertThat(outExisting).contains("not a file inside the model's folder");
        assertThat(outMissing).isEqualTo(outExisting.replace("out.bin", "nowhere.bin"));
        Files.createSymbolicLink(models.resolve("sub"), dir);
        String underExisting = catchMessage(() -> OnnxFormat.read(externalModel(models, "f.onnx", externalTensor("w", "sub/secret.bin", 0, 4))));
        String underMissing = catchMessage(() -> OnnxFormat.read(externalModel(models, "g.onnx", externalTensor("w", "sub/none.bin", 0, 4))));
        assertThat(underMissing).isEqualTo(underExisting.replace("secret.bin", "none.bin"));
        assertThat(catchMessage(() -> OnnxFormat.read(externalModel(models, "d.onnx", externalTensor("w", "w.bin", 8180, 4))))).contains("runs past the end");
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "10k"); // one tensor (4 KB) fits; three of the same range do not
        try {
            Path aliased = externalModel(models, "e.onnx", externalTensor("w1", "w.bin", 0, 1024), externalTensor("w2", "w.bin", 0, 1024),
                    externalTensor("w3", "w.bin", 0, 1024));
            assertThat(catchMessage(() -> OnnxFormat.read(aliased))).contains("adds up to 12288 bytes with tensor 'w3'");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
    }

    private static String catchMessage(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(call);
        assertThat(t).isInstanceOf(IllegalArgumentException.class);
        return t.getMessage();
    }

    /** Packed varints decode to 8 bytes each from 1: a list is bounded by the read limit in decoded bytes, not in file bytes. */
    @Test
    void packedValuesAreBoundedByTheirDecodedSize() {
        byte[] ones = new byte[200];
        java.util.Arrays.fill(ones, (byte) 1);
        ProtoWriter t = new ProtoWriter().varint(1, 200).varint(2, OnnxFormat.INT64).string(8, "w").bytes(7, ones);
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "1k"); // 200 bytes of file, 1,600 decoded
        try {
            assertThatThrownBy(() -> OnnxFormat.parseTensor(t.bytes())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read limit");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
        assertThat(OnnxFormat.parseTensor(t.bytes()).longs()).hasSize(200).containsOnly(1L); // within the default limit
        // typed integer fields hold 64-bit varints: a value outside the tensor's type is refused (it was taken as it came)
        ProtoWriter int8 = new ProtoWriter().varint(1, 2).varint(2, OnnxFormat.INT8).string(8, "b").varint(5, 3).varint(5, 300);
        assertThatThrownBy(() -> OnnxFormat.parseTensor(int8.bytes())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("value 300");
        ProtoWriter int32 = new ProtoWriter().varint(1, 1).varint(2, OnnxFormat.INT32).string(8, "i").varint(5, -5);
        assertThat(OnnxFormat.parseTensor(int32.bytes()).longs()).containsExactly(-5L);
        // a lone tensor read from bytes has no folder: its external data is refused with the reason (a NullPointerException before)
        assertThatThrownBy(() -> OnnxFormat.parseTensor(externalTensor("w", "w.bin", 0, 4).bytes())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read from bytes");
    }

    /** A minimal protobuf writer for hand-made test files. */
    static final class ProtoWriter {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        private void raw(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }

        ProtoWriter varint(int field, long v) {
            raw((long) field << 3);
            raw(v);
            return this;
        }

        ProtoWriter bytes(int field, byte[] b) {
            raw((long) field << 3 | 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        ProtoWriter string(int field, String s) {
            return bytes(field, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        ProtoWriter message(int field, ProtoWriter m) {
            return bytes(field, m.bytes());
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
