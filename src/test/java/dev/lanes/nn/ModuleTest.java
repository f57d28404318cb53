package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.examples.SeedWalkthrough;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.Adam;
import dev.lanes.optim.SGD;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Module system, layer reprs and behaviours, and the bad inputs of the nn/optim issue. */
class ModuleTest {
    /**
     * torch 1.13's answers where Lanes differed: Sequential(bn, bn).named_buffers() lists the shared buffers once
     * (state_dict keeps both names); Linear(0, 4) and Conv2d(0, ...) build (a zero-element weight's init is a no-op,
     * the bias zeros; the infinite kaiming bound threw); flatten of a 0-d tensor checks its dims against [-1, 0];
     * normal_ refuses a negative or NaN std; a refused OneCycleLR leaves the optimizer's groups as they were (its
     * initial_lr stayed, so a CosineAnnealingLR after it annealed from the wrong rate).
     */
    @Test
    void sharedBuffersOnceEmptyLayersAndRefusalsThatChangeNothing() {
        BatchNorm2d bn = new BatchNorm2d(2);
        Sequential twice = new Sequential(bn, bn);
        assertThat(twice.namedBuffers().keySet()).containsExactly("0.running_mean", "0.running_var", "0.num_batches_tracked");
        assertThat(twice.buffers()).hasSize(3);
        assertThat(twice.stateDict()).hasSize(10);
        Linear empty = new Linear(0, 4);
        assertThat(empty.weight.size().toString()).isEqualTo("Size([4, 0])");
        assertThat(empty.bias.toFloatArray()).containsExactly(0f, 0f, 0f, 0f);
        assertThat(empty.forward(Tensor.zeros(3, 0)).toFloatArray()).containsOnly(0f).hasSize(12);
        assertThat(new Conv2d(0, 2, 3).parameters()).hasSize(2);
        assertThat(empty.forward(Tensor.zeros(5, 2, 0)).shape()).containsExactly(5, 2, 4); // torch 1.13; reshape(-1, 0) threw
        Tensor a = Tensor.zeros(2, 3, 0).requiresGrad(true);
        Tensor b = Tensor.zeros(0, 4).requiresGrad(true);
        Tensor ab = a.matmul(b);
        assertThat(ab.shape()).containsExactly(2, 3, 4);
        ab.sum().backward();
        assertThat(a.grad().shape()).containsExactly(2, 3, 0);
        assertThat(b.grad().shape()).containsExactly(0, 4);
        assertThat(Tensor.scalar(3f).flatten(0, 0).size().toString()).isEqualTo("Size([1])");
        assertThat(Tensor.scalar(3f).flatten(-1, -1).size().toString()).isEqualTo("Size([1])");
        assertThatThrownBy(() -> Tensor.scalar(3f).flatten(0, 1)).hasMessageContaining("Dimension out of range");
        assertThatThrownBy(() -> new Flatten().forward(Tensor.scalar(3f))).hasMessageContaining("Dimension out of range");
        assertThatThrownBy(() -> Init.normal_(Tensor.zeros(3), 0, -1)).hasMessageContaining("std >= 0.0");
        assertThatThrownBy(() -> Init.normal_(Tensor.zeros(3), 0, Double.NaN)).hasMessageContaining("std >= 0.0");
        Tensor p = Tensor.ones(1).requiresGrad(true);
        SGD sgd = new SGD(List.of(p), 0.1);
        assertThatThrownBy(() -> new dev.lanes.optim.OneCycleLR(sgd, 1.0, 100, 1.5, true, 0.85, 0.95, 25, 1e4))
                .hasMessageContaining("pct_start");
        assertThatThrownBy(() -> new dev.lanes.optim.OneCycleLR(sgd, 1.0, 0)).hasMessageContaining("total_steps");
        assertThat(sgd.paramGroups().get(0).options()).doesNotContainKey("initial_lr");
        dev.lanes.optim.CosineAnnealingLR cosine = new dev.lanes.optim.CosineAnnealingLR(sgd, 2, 0);
        double[] lrs = new double[4];
        for (int i = 0; i < 4; i++) {
            sgd.step();
            cosine.step();
            lrs[i] = cosine.getLastLr()[0];
        }
        assertThat(lrs).containsExactly(new double[] {0.05, 0.0, 0.05, 0.1}, org.assertj.core.data.Offset.offset(1e-12)); // torch 1.13
    }

    @Test
    void walkthroughExamplePrintsWhatPyTorchPrints() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            SeedWalkthrough.main(new String[0]);
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).startsWith("""
                Net(
                  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
                  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
                  (fc1): Linear(in_features=400, out_features=120, bias=True)
                  (fc2): Linear(in_features=120, out_features=84, bias=True)
                  (fc3): Linear(in_features=84, out_features=10, bias=True)
                )
                10
                conv1.weight : Size([6, 1, 5, 5])
                conv1.bias : Size([6])
                conv2.weight : Size([16, 6, 5, 5])
                conv2.bias : Size([16])
                fc1.weight : Size([120, 400])
                fc1.bias : Size([120])
                fc2.weight : Size([84, 120])
                fc2.bias : Size([84])
                fc3.weight : Size([10, 84])
                fc3.bias : Size([10])
                Size([1, 10])
                """);
        assertThat(out).containsPattern("tensor\\(\\d+\\.\\d{4}, grad_fn=<MseLossBackward0>\\)");
        assertThat(out).contains("before backward, conv1.bias.grad\ntensor([0., 0., 0., 0., 0., 0.])\nafter backward, conv1.bias.grad\ntensor([");
        assertThat(out).endsWith("tensor([[-0.1719, -3.1719, -6.1719, -2.1719],\n        [-0.2780, -2.2780, -3.2780, -2.2780]])\n");
    }

    @Test
    void layerReprsMatchPyTorch() {
        assertThat(new Conv2d(3, 8, new int[] {3}, new int[] {2}, new int[] {1}, new int[] {1}, 1, false).toString())
                .isEqualTo("Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)");
        assertThat(new Conv2d(4, 8, new int[] {3, 1}, new int[] {1}, "same", new int[] {2}, 2, true).toString())
                .isEqualTo("Conv2d(4, 8, kernel_size=(3, 1), stride=(1, 1), padding=same, dilation=(2, 2), groups=2)");
        assertThat(new MaxPool2d(2).toString()).isEqualTo("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
        assertThat(new AvgPool2d(3).toString()).isEqualTo("AvgPool2d(kernel_size=3, stride=3, padding=0)");
        assertThat(new AdaptiveAvgPool2d(1, 1).toString()).isEqualTo("AdaptiveAvgPool2d(output_size=(1, 1))");
        assertThat(new BatchNorm2d(16).toString()).isEqualTo("BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
        assertThat(new Dropout(0.25).toString()).isEqualTo("Dropout(p=0.25, inplace=False)");
        assertThat(new LogSoftmax(1).toString()).isEqualTo("LogSoftmax(dim=1)");
        assertThat(new Flatten().toString()).isEqualTo("Flatten(start_dim=1, end_dim=-1)");
        assertThat(new Sequential(new Linear(2, 3), new ReLU(), new Sequential(new Identity(), new Tanh())).toString()).isEqualTo("""
                Sequential(
                  (0): Linear(in_features=2, out_features=3, bias=True)
                  (1): ReLU()
                  (2): Sequential(
                    (0): Identity()
                    (1): Tanh()
                  )
                )""");
        assertThat(new CrossEntropyLoss().toString()).isEqualTo("CrossEntropyLoss()");
    }

    /**
     * GELU and SiLU as modules and functionals give the Tensor methods' bits (the methods themselves are rows of
     * OpTableTest), with PyTorch's reprs and GELU's argument check.
     */
    @Test
    void geluAndSiluModulesAndFunctionalFormsMatchTheTensorMethods() {
        try (Tensor x = Tensor.of(new float[] {-2f, -0.5f, 0f, 0.5f, 2f});
             Tensor exact = x.gelu();
             Tensor tanh = x.gelu("tanh");
             Tensor m1 = new GELU().forward(x);
             Tensor m2 = new GELU("tanh").forward(x);
             Tensor f1 = F.gelu(x);
             Tensor f2 = F.gelu(x, "none")) {
            assertThat(m1.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(f1.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(f2.toFloatArray()).containsExactly(exact.toFloatArray());
            assertThat(m2.toFloatArray()).containsExactly(tanh.toFloatArray());
            assertThat(tanh.toFloatArray()).isNotEqualTo(exact.toFloatArray());
        }
        try (Tensor x = Tensor.of(new float[] {-2f, 0f, 3f}); Tensor s = x.silu(); Tensor m = new SiLU().forward(x); Tensor f = F.silu(x)) {
            assertThat(m.toFloatArray()).containsExactly(s.toFloatArray());
            assertThat(f.toFloatArray()).containsExactly(s.toFloatArray());
        }
        assertThat(new SiLU().toString()).isEqualTo("SiLU()");
        assertThat(new GELU().toString()).isEqualTo("GELU(approximate='none')");
        assertThat(new GELU("tanh").toString()).isEqualTo("GELU(approximate='tanh')");
        assertThatThrownBy(() -> new GELU("erf")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'erf'");
        try (Tensor x = Tensor.ones(2)) {
            assertThatThrownBy(() -> x.gelu("fast")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("approximate must be 'none' or 'tanh'");
            // null is refused as GELU(null) refuses it (it was a NullPointerException from a switch on the string)
            String module = org.assertj.core.api.Assertions.catchThrowableOfType(IllegalArgumentException.class, () -> new GELU(null)).getMessage();
            String reason = module.substring(module.indexOf(':')); // after the "GELU" / "gelu" prefix
            assertThat(reason).isEqualTo(": approximate must be 'none' or 'tanh', got 'null'");
            assertThatThrownBy(() -> F.gelu(x, null)).isInstanceOf(IllegalArgumentException.class).hasMessage("gelu" + reason);
            assertThatThrownBy(() -> x.gelu(null)).isInstanceOf(IllegalArgumentException.class).hasMessage("gelu" + reason);
        }
    }

    /**
     * The activation modules beyond ReLU / GELU: reprs as PyTorch 1.13 prints them (ints printed as ints, as Python does),
     * each module and F twin computing the Tensor method's values, and Hardtanh refusing max_val <= min_val as
     * torch.nn.Hardtanh's assert does (F.hardtanh does not refuse: it clamps like torch.clamp).
     */
    @Test
    void pyTorchsOtherActivationModulesPrintAndComputeLikeTheirOps() {
        assertThat(new LeakyReLU().toString()).isEqualTo("LeakyReLU(negative_slope=0.01)");
        assertThat(new LeakyReLU(0.2).toString()).isEqualTo("LeakyReLU(negative_slope=0.2)");
        assertThat(new ELU().toString()).isEqualTo("ELU(alpha=1.0)");
        assertThat(new ELU(0.5).toString()).isEqualTo("ELU(alpha=0.5)");
        assertThat(new Softplus().toString()).isEqualTo("Softplus(beta=1, threshold=20)");
        assertThat(new Softplus(2, 10).toString()).isEqualTo("Softplus(beta=2, threshold=10)");
        assertThat(new Softplus(0.5, 15.0).toString()).isEqualTo("Softplus(beta=0.5, threshold=15.0)");
        assertThat(new Hardtanh().toString()).isEqualTo("Hardtanh(min_val=-1.0, max_val=1.0)");
        assertThat(new Hardtanh(-2, 3).toString()).isEqualTo("Hardtanh(min_val=-2, max_val=3)");
        assertThat(new Hardtanh(-0.5, 0.5).toString()).isEqualTo("Hardtanh(min_val=-0.5, max_val=0.5)");
        assertThat(new ReLU6().toString()).isEqualTo("ReLU6()");
        assertThat(new Hardsigmoid().toString()).isEqualTo("Hardsigmoid()");
        assertThat(new Hardswish().toString()).isEqualTo("Hardswish()");
        assertThatThrownBy(() -> new Hardtanh(1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Hardtanh: max_val must be greater than min_val, got min_val=1.0, max_val=1.0");
        assertThatThrownBy(() -> new Hardtanh(2.0, 1.0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_val must be greater");
        float[] v = {-7f, -3f, -1.5f, -0.5f, -0f, 0f, 0.5f, 1f, 3f, 6f, 7f, 25f, Float.NaN};
        try (Tensor x = Tensor.of(v)) {
            assertSameValues(new LeakyReLU().forward(x), x.leakyRelu(0.01), F.leakyRelu(x), F.leakyRelu(x, 0.01));
            assertSameValues(new LeakyReLU(0.2).forward(x), x.leakyRelu(0.2), F.leakyRelu(x, 0.2));
            assertSameValues(new ELU().forward(x), x.elu(1), F.elu(x), F.elu(x, 1));
            assertSameValues(new ELU(0.5).forward(x), x.elu(0.5), F.elu(x, 0.5));
            assertSameValues(new Softplus().forward(x), x.softplus(1, 20), F.softplus(x), F.softplus(x, 1, 20));
            assertSameValues(new Softplus(2, 10).forward(x), x.softplus(2, 10), F.softplus(x, 2, 10));
            assertSameValues(new Hardtanh().forward(x), x.hardtanh(-1, 1), F.hardtanh(x), F.hardtanh(x, -1, 1));
            assertSameValues(new Hardtanh(-2, 3).forward(x), x.hardtanh(-2, 3), F.hardtanh(x, -2, 3));
            assertSameValues(new ReLU6().forward(x), x.relu6(), F.relu6(x), x.hardtanh(0, 6));
            assertSameValues(new Hardsigmoid().forward(x), x.hardsigmoid(), F.hardsigmoid(x));
            assertSameValues(new Hardswish().forward(x), x.hardswish(), F.hardswish(x));
            // F.hardtanh with min_val > max_val clamps like torch.clamp: max_val everywhere (NaN stays NaN), as PyTorch 1.13 gives
            try (Tensor h = F.hardtanh(x, 2, 1)) {
                float[] got = h.toFloatArray();
                for (int i = 0; i < v.length - 1; i++) {
                    assertThat(got[i]).as("hardtanh(%s, 2, 1)", v[i]).isEqualTo(1f);
                }
                assertThat(got[v.length - 1]).isNaN();
            }
        }
    }

    private static void assertSameValues(Tensor want, Tensor... others) {
        for (Tensor t : others) {
            assertThat(t.toFloatArray()).containsExactly(want.toFloatArray());
        }
    }

    @Test
    void defaultInitialisationBoundsFollowPyTorch() {
        Lanes.manualSeed(5);
        Linear fc = new Linear(400, 120);
        double bound = 1 / Math.sqrt(400);
        try (Tensor w = fc.weight.abs().max(); Tensor b = fc.bias.abs().max()) {
            assertThat(w.item()).isLessThanOrEqualTo((float) bound).isGreaterThan((float) (0.95 * bound));
            assertThat(b.item()).isLessThanOrEqualTo((float) bound);
        }
        Conv2d conv = new Conv2d(6, 16, 5);
        assertThat(conv.weight.abs().max().item()).isLessThanOrEqualTo((float) (1 / Math.sqrt(150)));
        assertThat(fc.weight.requiresGrad()).isTrue();
        assertThat(fc.weight.isLeaf()).isTrue();
    }

    /** A user's module registers parameters like nn.Parameter, with no scope of its own, inside a caller's scope. */
    static final class Scaled extends Module {
        final Tensor scale = registerParameter("scale", Tensor.ones(3).mul(2)); // the temporary ones(3) stays scoped
        final Tensor steps = registerBuffer("steps", Tensor.zerosLong(1));

        @Override
        public Tensor forward(Tensor x) {
            return x.mul(scale);
        }
    }

    @Test
    void parametersRegisteredInsideAScopeBelongToTheModule() {
        Scaled m;
        try (dev.lanes.memory.MemoryScope s = dev.lanes.memory.MemoryScope.open()) {
            m = new Scaled();
        }
        assertThat(m.scale.isReleased()).isFalse();
        assertThat(m.steps.isReleased()).isFalse();
        try (Tensor x = Tensor.ones(3); Tensor y = m.forward(x)) {
            assertThat(y.toFloatArray()).containsExactly(2f, 2f, 2f);
        }
        assertThat(m.namedParameters().keySet()).containsExactly("scale");
        assertThat(m.scale.requiresGrad()).isTrue();
    }

    @Test
    void traversalModesAndZeroGrad() {
        Sequential seq = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Dropout(0.5), new Linear(4, 2));
        assertThat(seq.namedParameters().keySet()).containsExactly("0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias");
        assertThat(seq.namedBuffers().keySet()).containsExactly("1.running_mean", "1.running_var", "1.num_batches_tracked");
        assertThat(seq.stateDict().keySet()).containsExactly("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                "1.num_batches_tracked", "3.weight", "3.bias");
        assertThat(seq.children()).hasSize(4);
        assertThat(seq.modules()).hasSize(5);
        assertThat(seq.isTraining()).isTrue();
        seq.eval();
        assertThat(seq.modules()).allMatch(m -> !m.isTraining());
        seq.train();
        Tensor x = Tensor.randn(8, 3);
        seq.forward(x).sum().backward();
        assertThat(seq.parameters()).allMatch(p -> p.grad() != null);
        seq.zeroGrad(false);
        assertThat(seq.parameters()).allMatch(p -> p.grad() != null && p.grad().abs().sum().item() == 0f);
        seq.zeroGrad();
        assertThat(seq.parameters()).allMatch(p -> p.grad() == null);
        int[] count = {0};
        seq.apply(m -> count[0]++);
        assertThat(count[0]).isEqualTo(5);
    }

    @Test
    void dropoutAndBatchNormFollowTrainAndEval() {
        Lanes.manualSeed(9);
        Dropout d = new Dropout(0.5);
        Tensor x = Tensor.ones(10_000);
        float[] y = d.forward(x).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            assertThat(v).isIn(0f, 2f);
            zeros += v == 0f ? 1 : 0;
        }
        assertThat(zeros).isBetween(4_700, 5_300);
        d.eval();
        assertThat(d.forward(x)).isSameAs(x);

        BatchNorm1d bn = new BatchNorm1d(2);
        Tensor b = Tensor.of(new float[] {1, 10, 3, 20, 5, 30}, 3, 2);
        float[] out = bn.forward(b).toFloatArray();
        // column 0: mean 3, biased var 8/3 -> (1 - 3) / sqrt(8/3 + 1e-5)
        assertThat((double) out[0]).isCloseTo(-2 / Math.sqrt(8.0 / 3 + 1e-5), org.assertj.core.data.Offset.offset(1e-5));
        // running stats: momentum 0.1 with the unbiased variance (4 and 100)
        assertThat(bn.runningMean.toFloatArray()).containsExactly(0.3f, 2.0f);
        assertThat((double) bn.runningVar.toFloatArray()[0]).isCloseTo(0.9 + 0.4, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(bn.numBatchesTracked.longItem()).isEqualTo(1L);
        bn.eval();
        float[] ev = bn.forward(b).toFloatArray();
        assertThat((double) ev[0]).isCloseTo((1 - 0.3) / Math.sqrt(1.3 + 1e-5), org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void stateDictRoundTripAndClearErrors() {
        SeedWalkthrough.Net a = new SeedWalkthrough.Net();
        SeedWalkthrough.Net b = new SeedWalkthrough.Net();
        b.loadStateDict(a.stateDict());
        assertThat(b.fc1.weight.toFloatArray()).containsExactly(a.fc1.weight.toFloatArray());

        Map<String, Tensor> bad = new LinkedHashMap<>(a.stateDict());
        bad.put("fc1.weight", Tensor.zeros(10, 10));
        bad.remove("fc3.bias");
        bad.put("fc4.weight", Tensor.zeros(1));
        float[] before = b.fc2.weight.toFloatArray();
        assertThatThrownBy(() -> b.loadStateDict(bad, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size mismatch for fc1.weight: copying a param with shape torch.Size([10, 10]) from checkpoint,"
                        + " the shape in current model is torch.Size([120, 400]).")
                .hasMessageContaining("Missing key(s) in state_dict: \"fc3.bias\".")
                .hasMessageContaining("Unexpected key(s) in state_dict: \"fc4.weight\".");
        assertThat(b.fc2.weight.toFloatArray()).as("nothing mutated by a failed load").containsExactly(before);
        Map<String, Tensor> partial = new LinkedHashMap<>();
        partial.put("fc3.bias", Tensor.zeros(10));
        b.loadStateDict(partial, false);
        assertThat(b.fc3.bias.toFloatArray()).containsOnly(0f);
    }

    /**
     * F.linear(x, w[4], None) is PyTorch's matmul(x, w.t()) = matmul(x, w): shape [3] for x [3, 4], [3, 1] for
     * [3, 1, 4], [] for [4] (torch 1.13; x.mm(w.t()) threw for the vector weight).
     */
    @Test
    void linearWithAVectorWeightAndNoBiasIsAMatrixVectorProduct() {
        Tensor w = Tensor.of(new float[] {0.5f, -1.25f, 2f, 0.75f}, 4);
        Tensor x = Tensor.arange(0.0, 12.0, 1.0).reshape(3, 4).div(7);
        Tensor y = F.linear(x, w, null);
        assertThat(y.shape()).containsExactly(3);
        float[] want = {0.7142857313156128f, 1.8571429252624512f, 3.000000238418579f}; // torch 1.13
        float[] got = y.toFloatArray();
        for (int i = 0; i < 3; i++) {
            assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-6f));
        }
        assertThat(F.linear(Tensor.ones(3, 4), Tensor.ones(4), null).toFloatArray()).containsExactly(4f, 4f, 4f);
        assertThat(F.linear(x.reshape(3, 1, 4), w, null).shape()).containsExactly(3, 1);
        assertThat(F.linear(Tensor.ones(4), Tensor.ones(4), null).shape()).isEmpty();
        Tensor xg = x.detach().requiresGrad(true);
        F.linear(xg, w, null).sum().backward();
        assertThat(xg.grad().toFloatArray()).containsExactly(0.5f, -1.25f, 2f, 0.75f, 0.5f, -1.25f, 2f, 0.75f, 0.5f, -1.25f, 2f, 0.75f);
    }

    @Test
    void badInputsGetClearMessages() {
        Conv2d conv = new Conv2d(1, 6, 5);
        assertThatThrownBy(() -> conv.forward(Tensor.randn(1, 32, 32))).hasMessageContaining("unsqueeze(0)");
        assertThatThrownBy(() -> conv.forward(Tensor.randn(1, 3, 32, 32))).hasMessageContaining("expected input[1, 3, 32, 32] to have 1 channels");
        Linear fc = new Linear(400, 120);
        assertThatThrownBy(() -> fc.forward(Tensor.randn(2, 300))).hasMessageContaining("expected input with last dimension 400 (in_features) but got shape Size([2, 300])");
        CrossEntropyLoss ce = new CrossEntropyLoss();
        assertThatThrownBy(() -> ce.forward(Tensor.randn(2, 10), Tensor.of(new long[] {3, 10}))).hasMessageContaining("Target 10 is out of bounds");
        assertThatThrownBy(() -> ce.forward(Tensor.randn(2, 10), Tensor.of(new long[] {3}))).hasMessageContaining("Expected input batch_size (2) to match target batch_size (1)");
        assertThatThrownBy(() -> ce.forward(Tensor.randn(2, 10), Tensor.of(new float[] {3, 1}))).hasMessageContaining("expected target of dtype int64");
        assertThatThrownBy(() -> ce.forward(Tensor.randn(2, 10))).hasMessageContaining("needs the target too");
        assertThatThrownBy(() -> new MSELoss().forward(Tensor.randn(2, 3), Tensor.randn(3))).hasMessageContaining("target size Size([3]) is different to the input size Size([2, 3])");
        assertThatThrownBy(() -> new SGD(List.of(), 0.1)).hasMessageContaining("optimizer got an empty parameter list");
        Tensor p = Tensor.zeros(3).requiresGrad(true);
        assertThatThrownBy(() -> new SGD(List.of(p), -0.1)).hasMessageContaining("Invalid learning rate: -0.1");
        assertThatThrownBy(() -> new SGD(List.of(p), 0.1, 0, 0, 0, true)).hasMessageContaining("Nesterov momentum requires a momentum and zero dampening");
        assertThatThrownBy(() -> new Adam(List.of(p), 0.1, 1.0, 0.999, 1e-8, 0, false)).hasMessageContaining("Invalid beta parameter at index 0: 1.0");
        assertThatThrownBy(() -> new BatchNorm2d(3).forward(Tensor.randn(2, 3, 4))).hasMessageContaining("expected 4D input (got 3D input");
        assertThatThrownBy(() -> new Dropout(1.5)).hasMessageContaining("dropout probability has to be between 0 and 1, but got 1.5");
    }

    @Test
    void optimizerStateDictRoundTrip() {
        Tensor p = Tensor.randn(4).requiresGrad(true);
        Adam a = new Adam(List.of(p), 0.01);
        p.setGrad(Tensor.ones(4));
        a.step();
        Map<String, Object> sd = a.stateDict();
        Tensor q = Tensor.of(p.toFloatArray()).requiresGrad(true);
        Adam b = new Adam(List.of(q), 0.5);
        b.loadStateDict(sd);
        assertThat(b.paramGroups().get(0).lr()).isEqualTo(0.01);
        p.setGrad(Tensor.ones(4));
        q.setGrad(Tensor.ones(4));
        a.step();
        b.step();
        assertThat(q.toFloatArray()).containsExactly(p.toFloatArray());
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertThat(p.grad()).isNotNull();
        }
    }

    @Test
    void trainingLoopTakesNoNewOffHeapMemoryOnceWarm() {
        Lanes.manualSeed(3);
        dev.lanes.examples.LeNet net = new dev.lanes.examples.LeNet();
        SGD opt = new SGD(net.parameters(), 0.01, 0.9);
        CrossEntropyLoss ce = new CrossEntropyLoss();
        Tensor x = Tensor.randn(16, 1, 32, 32);
        Tensor y = Tensor.randint(0, 10, 16);
        dev.lanes.memory.MemoryPool pool = dev.lanes.memory.MemoryPool.global();
        float first = 0;
        float last = 0;
        long allocations = 0;
        long inUse = 0;
        for (int step = 0; step < 60; step++) {
            try (dev.lanes.memory.MemoryScope s = dev.lanes.memory.MemoryScope.open()) {
                opt.zeroGrad();
                Tensor loss = ce.forward(net.forward(x), y);
                loss.backward();
                opt.step();
                last = loss.item();
                if (step == 0) {
                    first = last;
                }
            }
            if (step == 10) {
                allocations = pool.systemAllocations();
                inUse = pool.bytesInUse();
            }
        }
        assertThat(pool.systemAllocations()).as("blocks taken from the system after warm-up").isEqualTo(allocations);
        assertThat(pool.bytesInUse()).as("bytes held after each step").isLessThanOrEqualTo(inUse);
        assertThat(last).as("the loss goes down on a fixed batch").isLessThan(first * 0.9f);
    }

    /** A module registered twice is visited once by modules() and apply(), as PyTorch's (an init over it drew its weights twice). */
    @Test
    void aSharedSubmoduleIsVisitedOnce() {
        Linear l = new Linear(2, 2);
        Sequential twice = new Sequential(l, l);
        org.assertj.core.api.Assertions.assertThat(twice.modules()).containsExactly(twice, l);
        java.util.List<Module> applied = new java.util.ArrayList<>();
        twice.apply(applied::add);
        org.assertj.core.api.Assertions.assertThat(applied).containsExactly(l, twice);
    }

    /** loadStateDict(strict = false) returns the keys it did not load, as PyTorch's _IncompatibleKeys (it said nothing). */
    @Test
    void nonStrictLoadingReportsMissingAndUnexpectedKeys() {
        Linear l = new Linear(2, 3);
        java.util.Map<String, Tensor> prefixed = new java.util.LinkedHashMap<>();
        l.stateDict().forEach((k, v) -> prefixed.put("module." + k, v.clone()));
        Module.IncompatibleKeys keys = l.loadStateDict(prefixed, false);
        org.assertj.core.api.Assertions.assertThat(keys.missingKeys()).containsExactly("weight", "bias");
        org.assertj.core.api.Assertions.assertThat(keys.unexpectedKeys()).containsExactly("module.weight", "module.bias");
        org.assertj.core.api.Assertions.assertThat(l.loadStateDict(l.stateDict(), true).missingKeys()).isEmpty();
    }

    @Test
    void optionFloatsPrintAsPythonsRepr() {
        // Python switches to exponent form below 1e-4 and from 1e16 (Java's Double.toString below 1e-3 and from 1e7)
        org.assertj.core.api.Assertions.assertThat(new BatchNorm2d(3, 1e-4, 0.1, true, true).toString())
                .isEqualTo("BatchNorm2d(3, eps=0.0001, momentum=0.1, affine=True, track_running_stats=True)");
        org.assertj.core.api.Assertions.assertThat(new BatchNorm1d(3, 5e-4, 0.0001, true, true).toString())
                .isEqualTo("BatchNorm1d(3, eps=0.0005, momentum=0.0001, affine=True, track_running_stats=True)");
        org.assertj.core.api.Assertions.assertThat(new LayerNorm(new int[] {8}, 1e-4, true).toString())
                .isEqualTo("LayerNorm((8,), eps=0.0001, elementwise_affine=True)");
        org.assertj.core.api.Assertions.assertThat(new Dropout(5e-5).toString()).isEqualTo("Dropout(p=5e-05, inplace=False)");
        double[] values = {1e-5, 1e-4, 0.1, 0.5, 1.0, 3.0, 12345678.5, 1e16, 1.5e16, 123456789012345.6, -2.5e-7, 1e22, -0.0, Double.NaN,
                Double.NEGATIVE_INFINITY};
        String[] python = {"1e-05", "0.0001", "0.1", "0.5", "1.0", "3.0", "12345678.5", "1e+16", "1.5e+16", "123456789012345.6", "-2.5e-07",
                "1e+22", "-0.0", "nan", "-inf"}; // repr() of each in Python 3
        for (int i = 0; i < values.length; i++) {
            org.assertj.core.api.Assertions.assertThat(Repr.pyFloat(values[i])).as("repr(%s)", values[i]).isEqualTo(python[i]);
        }
    }

    @Test
    void stateDictValuesAreDetachedSoAnEmaCanEditThemInPlace() throws Exception {
        // torch: e = ema.state_dict(); e[k].mul_(0.99).add_(c[k] * 0.01) works (detached, same storage); Lanes threw
        // "a leaf Variable that requires grad is being used in an in-place operation"
        Lanes.manualSeed(2);
        Linear ema = new Linear(2, 2);
        Linear cur = new Linear(2, 2);
        float w0 = ema.weight.toFloatArray()[0];
        float c0 = cur.weight.toFloatArray()[0];
        try (dev.lanes.memory.MemoryScope scope = dev.lanes.memory.MemoryScope.open()) {
            Map<String, Tensor> e = ema.stateDict();
            Map<String, Tensor> c = cur.stateDict();
            assertThat(e.get("weight").requiresGrad()).isFalse();
            for (String k : e.keySet()) {
                e.get(k).mul_(0.99).add_(c.get(k).mul(0.01));
            }
        }
        assertThat(ema.weight.toFloatArray()[0]).isEqualTo(w0 * 0.99f + c0 * 0.01f); // written through to the module
        assertThat(ema.weight.requiresGrad()).isTrue();
    }

    @Test
    void aLoadThatFailsOnAValueChangesNothingAndTheModulesOrderDecidesSharedNames() {
        Linear l = new Linear(2, 2);
        float[] before = l.weight.toFloatArray();
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("weight", Tensor.full(new int[] {2, 2}, 42f));
        Tensor closed = Tensor.zeros(2);
        closed.close();
        bad.put("bias", closed);
        assertThatThrownBy(() -> l.loadStateDict(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias")
                .hasMessageContaining("released");
        assertThat(l.weight.toFloatArray()).as("the weight was written before the bias failed").containsExactly(before);
        // Sequential(lin, lin) given {"1.weight": 1, "0.weight": 0}: torch's module order loads "1.weight" last -> 1
        Linear shared = new Linear(1, 1, false);
        Sequential twice = new Sequential(shared, shared);
        Map<String, Tensor> both = new LinkedHashMap<>();
        both.put("1.weight", Tensor.ones(1, 1));
        both.put("0.weight", Tensor.zeros(1, 1));
        twice.loadStateDict(both);
        assertThat(shared.weight.toFloatArray()).containsExactly(1f);
        // loading a module's own state dict back, and a swap of two layers' weights through views, read no overwritten value
        Sequential pair = new Sequential(new Linear(2, 2, false), new Linear(2, 2, false));
        float[] a = ((Linear) pair.get(0)).weight.toFloatArray();
        float[] b = ((Linear) pair.get(-1)).weight.toFloatArray();
        pair.loadStateDict(pair.stateDict());
        Map<String, Tensor> swapped = new LinkedHashMap<>();
        swapped.put("0.weight", ((Linear) pair.get(1)).weight.detach());
        swapped.put("1.weight", ((Linear) pair.get(0)).weight.detach());
        pair.loadStateDict(swapped);
        assertThat(((Linear) pair.get(0)).weight.toFloatArray()).containsExactly(b);
        assertThat(((Linear) pair.get(1)).weight.toFloatArray()).containsExactly(a);
    }

    @Test
    void oldCheckpointsLoadAsInPyTorchAndErrorsReadAsPyTorchs() {
        // torch: a dict without num_batches_tracked loads it as 0; a [1] value loads into a 0-d buffer
        BatchNorm1d bn = new BatchNorm1d(3);
        bn.numBatchesTracked.copy_(Tensor.of(new long[] {5}).squeeze(0));
        Map<String, Tensor> old = new LinkedHashMap<>();
        old.put("weight", Tensor.ones(3));
        old.put("bias", Tensor.zeros(3));
        old.put("running_mean", Tensor.zeros(3));
        old.put("running_var", Tensor.ones(3));
        assertThat(bn.loadStateDict(old, true).missingKeys()).isEmpty();
        assertThat(bn.numBatchesTracked.toLongArray()).containsExactly(0L);
        old.put("num_batches_tracked", Tensor.of(new long[] {7}, 1));
        bn.loadStateDict(old, true);
        assertThat(bn.numBatchesTracked.toLongArray()).containsExactly(7L);
        // torch's message: missing, unexpected, then the size mismatches, torch.Size
        Linear fc = new Linear(3, 2);
        Map<String, Tensor> wrong = new LinkedHashMap<>();
        wrong.put("weight", Tensor.zeros(4, 3));
        wrong.put("extra", Tensor.zeros(1));
        assertThatThrownBy(() -> fc.loadStateDict(wrong)).hasMessage("Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: \"bias\". "
                + "\n\tUnexpected key(s) in state_dict: \"extra\". \n\tsize mismatch for weight: copying a param with shape torch.Size([4, 3]) from"
                + " checkpoint, the shape in current model is torch.Size([2, 3]).");
        assertThat(new Sequential(new Linear(1, 1), new ReLU()).get(-1)).isInstanceOf(ReLU.class); // torch: seq[-1]
    }
}
