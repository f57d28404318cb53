package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.InferencePlan;
import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.nn.functional.F;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The in-place activations (F.relu(x, inplace=True), x.sigmoid_(), nn.LeakyReLU(0.1, inplace=True), ...) against torch
 * 1.13 (src/test/python/gen_inplace_activations.py): the result is x itself, its values, the leaf's gradient through it
 * and the grad_fn torch records (ReluBackward0 / SigmoidBackward0 / TanhBackward0 / LeakyReluBackward1 / EluBackward1
 * over the result, which a later write breaks; HardtanhBackward0 / HardsigmoidBackward0 / HardswishBackward0 /
 * SiluBackward0 / MishBackward0 over a copy of the input, which it does not). Also the refusals, reprs, Dropout.
 */
class InPlaceActivationsTest {
    private static final float[] X = {-4f, -2.5f, -0.7f, -0.3f, 0f, 0.2f, 0.5f, 1.0f, 2.9f, 3.0f, 4.0f, -3.0f};

    private static final Map<String, UnaryOperator<Tensor>> OPS = Map.ofEntries(
            Map.entry("relu", x -> F.relu(x, true)),
            Map.entry("sigmoid", Tensor::sigmoid_),
            Map.entry("tanh", Tensor::tanh_),
            Map.entry("leakyRelu", x -> F.leakyRelu(x, 0.1, true)),
            Map.entry("elu", x -> F.elu(x, 0.7, true)),
            Map.entry("hardtanh", x -> F.hardtanh(x, -0.5, 0.5, true)),
            Map.entry("relu6", x -> F.relu6(x, true)),
            Map.entry("hardsigmoid", x -> F.hardsigmoid(x, true)),
            Map.entry("hardswish", x -> F.hardswish(x, true)),
            Map.entry("silu", x -> F.silu(x, true)),
            Map.entry("mish", x -> F.mish(x, true)));

    private static Arguments row(String name, float[] out, float[] grad, String gradFn) {
        return Arguments.of(name, out, grad, gradFn);
    }

    static Stream<Arguments> rows() {
        return Stream.of(
            row("relu", new float[] {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.20000000298023224f, 0.5f, 1.0f, 2.9000000953674316f, 3.0f, 4.0f, 0.0f}, new float[] {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.8142857551574707f, 0.9571428894996643f, 1.100000023841858f, 1.2428572177886963f, 1.3857142925262451f, 1.5285714864730835f, 0.0f}, "ReluBackward0"),
            row("sigmoid", new float[] {0.01798621006309986f, 0.07585817575454712f, 0.3318122327327728f, 0.4255574941635132f, 0.5f, 0.5498339533805847f, 0.622459352016449f, 0.7310585975646973f, 0.9478464722633362f, 0.9525741338729858f, 0.9820137619972229f, 0.04742587357759476f}, new float[] {0.0017662706086412072f, 0.017025187611579895f, 0.08551782369613647f, 0.12921367585659027f, 0.16785715520381927f, 0.2015492171049118f, 0.22493211925029755f, 0.21627312898635864f, 0.06143882870674133f, 0.06260193884372711f, 0.026998750865459442f, 0.07550956308841705f}, "SigmoidBackward0"),
            row("tanh", new float[] {-0.9993293285369873f, -0.9866142868995667f, -0.6043677926063538f, -0.29131263494491577f, 0.0f, 0.1973753273487091f, 0.46211716532707214f, 0.7615941762924194f, 0.9939631819725037f, 0.9950547814369202f, 0.9993293285369873f, -0.9950547814369202f}, new float[] {0.0001340893068118021f, 0.006458118092268705f, 0.24482811987400055f, 0.4837152361869812f, 0.6714286208152771f, 0.7825636267662048f, 0.7527428269386292f, 0.4619717299938202f, 0.014960511587560177f, 0.013671431690454483f, 0.0020496509969234467f, 0.016490282490849495f}, "TanhBackward0"),
            row("leakyRelu", new float[] {-0.4000000059604645f, -0.25f, -0.07000000029802322f, -0.030000001192092896f, 0.0f, 0.20000000298023224f, 0.5f, 1.0f, 2.9000000953674316f, 3.0f, 4.0f, -0.30000001192092896f}, new float[] {0.010000000707805157f, 0.02428571693599224f, 0.03857142850756645f, 0.05285714194178581f, 0.06714286655187607f, 0.8142857551574707f, 0.9571428894996643f, 1.100000023841858f, 1.2428572177886963f, 1.3857142925262451f, 1.5285714864730835f, 0.167142853140831f}, "LeakyReluBackward1"),
            row("elu", new float[] {-0.6871790885925293f, -0.642540454864502f, -0.3523902893066406f, -0.1814272552728653f, 0.0f, 0.20000000298023224f, 0.5f, 1.0f, 2.9000000953674316f, 3.0f, 4.0f, -0.6651490330696106f}, new float[] {0.0012820899719372392f, 0.013954458758234978f, 0.1340780258178711f, 0.27410274744033813f, 0.4700000286102295f, 0.8142857551574707f, 0.9571428894996643f, 1.100000023841858f, 1.2428572177886963f, 1.3857142925262451f, 1.5285714864730835f, 0.05825088173151016f}, "EluBackward1"),
            row("hardtanh", new float[] {-0.5f, -0.5f, -0.5f, -0.30000001192092896f, 0.0f, 0.20000000298023224f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f}, new float[] {0.0f, 0.0f, 0.0f, 0.5285714268684387f, 0.6714286208152771f, 0.8142857551574707f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, "HardtanhBackward0"),
            row("relu6", new float[] {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.20000000298023224f, 0.5f, 1.0f, 2.9000000953674316f, 3.0f, 4.0f, 0.0f}, new float[] {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.8142857551574707f, 0.9571428894996643f, 1.100000023841858f, 1.2428572177886963f, 1.3857142925262451f, 1.5285714864730835f, 0.0f}, "HardtanhBackward0"),
            row("hardsigmoid", new float[] {0.0f, 0.0833333358168602f, 0.38333332538604736f, 0.45000001788139343f, 0.5f, 0.5333333611488342f, 0.5833333134651184f, 0.6666666865348816f, 0.9833333492279053f, 1.0f, 1.0f, 0.0f}, new float[] {0.0f, 0.04047619551420212f, 0.06428571790456772f, 0.08809524029493332f, 0.11190477013587952f, 0.13571429252624512f, 0.15952381491661072f, 0.18333333730697632f, 0.2071428745985031f, 0.0f, 0.0f, 0.0f}, "HardsigmoidBackward0"),
            row("hardswish", new float[] {-0.0f, -0.2083333283662796f, -0.2683333158493042f, -0.13500000536441803f, 0.0f, 0.1066666767001152f, 0.2916666567325592f, 0.6666666865348816f, 2.8516666889190674f, 3.0f, 4.0f, -0.0f}, new float[] {0.0f, -0.08095238357782364f, 0.10285713523626328f, 0.21142856776714325f, 0.33571431040763855f, 0.46142858266830444f, 0.6380952596664429f, 0.9166667461395264f, 1.8228572607040405f, 2.078571319580078f, 1.5285714864730835f, -0.8357142806053162f}, "HardswishBackward0"),
            row("silu", new float[] {-0.07194484025239944f, -0.189645454287529f, -0.2322685569524765f, -0.12766724824905396f, 0.0f, 0.10996679961681366f, 0.3112296760082245f, 0.7310585975646973f, 2.7487547397613525f, 2.857722520828247f, 3.9280550479888916f, -0.14227761328220367f}, new float[] {-0.0052664615213871f, -0.024140270426869392f, 0.0681222453713417f, 0.1861734241247177f, 0.33571431040763855f, 0.4880317747592926f, 0.7082485556602478f, 1.0204375982284546f, 1.356210470199585f, 1.5078014135360718f, 1.609073281288147f, -0.14725972712039948f}, "SiluBackward0"),
            row("mish", new float[] {-0.07259175181388855f, -0.19681619107723236f, -0.2678702175617218f, -0.15113317966461182f, 0.0f, 0.13259898126125336f, 0.37524524331092834f, 0.8650983572006226f, 2.8842668533325195f, 2.98653507232666f, 3.997412919998169f, -0.14564746618270874f}, new float[] {-0.005377320572733879f, -0.026652010157704353f, 0.07113189995288849f, 0.21592718362808228f, 0.4028571844100952f, 0.5900513529777527f, 0.8484348058700562f, 1.153939962387085f, 1.2730823755264282f, 1.4149625301361084f, 1.5353471040725708f, -0.15609993040561676f}, "MishBackward0"));
    }

    private static Tensor upstream() {
        float[] g = new float[12];
        for (int i = 0; i < 12; i++) {
            g[i] = i / 7f + 0.1f;
        }
        return Tensor.of(g, 12);
    }

    private static void assertClose(float[] got, float[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("element " + i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5f + 1e-5f * Math.abs(want[i])));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void valuesGradientsAndGradFnAsTorch(String name, float[] out, float[] grad, String gradFn) {
        Tensor a = Tensor.of(X.clone(), 12).requiresGrad(true);
        Tensor x = a.mul(1);
        int before = x.version();
        Tensor y = OPS.get(name).apply(x);
        assertThat(y).isSameAs(x);
        assertThat(x.version()).isEqualTo(before + 1);
        assertClose(y.toFloatArray(), out);
        assertThat(y.gradFn().name()).isEqualTo(gradFn);
        y.backward(upstream());
        assertClose(a.grad().toFloatArray(), grad);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void aLaterWriteBreaksTheBackwardOfThoseThatSaveTheResult(String name, float[] out, float[] grad, String gradFn) {
        Tensor a = Tensor.of(X.clone(), 12).requiresGrad(true);
        Tensor y = OPS.get(name).apply(a.mul(1));
        y.mul_(2);
        boolean savesResult = gradFn.endsWith("Backward1") || name.equals("relu") || name.equals("sigmoid") || name.equals("tanh");
        if (savesResult) {
            assertThatThrownBy(() -> y.backward(upstream())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("one of the variables needed for gradient computation has been modified by an inplace operation")
                    .hasMessageContaining("which is output 0 of " + gradFn + ", is at version 2; expected version 1 instead");
        } else { // torch 1.13 saved a copy of the input: the write changes nothing
            y.backward(upstream());
            float[] twice = grad.clone();
            for (int i = 0; i < twice.length; i++) {
                twice[i] *= 2;
            }
            assertClose(a.grad().toFloatArray(), twice);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void aLeafThatRequiresGradAndItsViewsAreRefusedButNotUnderNoGrad(String name, float[] out, float[] grad, String gradFn) {
        Tensor w = Tensor.of(X.clone(), 12).requiresGrad(true);
        assertThatThrownBy(() -> OPS.get(name).apply(w)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("a leaf Variable that requires grad is being used in an in-place operation");
        assertThatThrownBy(() -> OPS.get(name).apply(w.view(3, 4))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("a view of a leaf Variable that requires grad is being used in an in-place operation");
        assertThatThrownBy(() -> OPS.get(name).apply(w.narrow(0, 1, 5))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("a view of a leaf Variable that requires grad is being used in an in-place operation");
        try (Autograd.Mode m = Autograd.noGrad()) {
            assertThat(OPS.get(name).apply(w)).isSameAs(w);
        }
        assertClose(w.toFloatArray(), out);
        assertThat(w.gradFn()).isNull();
        assertThat(w.requiresGrad()).isTrue();
        Tensor t = Tensor.of(X.clone(), 12);
        assertClose(OPS.get(name).apply(t).toFloatArray(), out);
        assertThat(t.gradFn()).isNull();
    }

    @Test
    void anInPlaceWriteOfATensorAnotherNodeSavedFailsAtBackward() {
        Tensor a = Tensor.of(X.clone(), 12).requiresGrad(true);
        Tensor x = a.mul(1);
        Tensor z = x.mul(x); // saves x at version 0
        x.silu_();
        assertThatThrownBy(() -> z.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has been modified by an inplace operation").hasMessageContaining("is at version 1; expected version 0 instead");
    }

    @Test
    void aNegativeSlopeOrAlphaIsRefusedAtBackwardAsTorch() {
        Tensor a = Tensor.of(X.clone(), 12).requiresGrad(true);
        Tensor y = a.mul(1).leakyRelu_(-0.1);
        assertThat(y.gradFn().name()).isEqualTo("LeakyReluBackward1");
        assertThatThrownBy(() -> y.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("In-place leakyReLu backward calculation is triggered with a negative slope which is not supported");
        Tensor e = a.mul(1).elu_(-1);
        assertThatThrownBy(() -> e.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("In-place elu backward calculation is triggered with a negative slope which is not supported");
    }

    @Test
    void modulesTakeInplaceAndPrintItAsTorch() {
        assertThat(new ReLU(true)).hasToString("ReLU(inplace=True)");
        assertThat(new ReLU()).hasToString("ReLU()");
        assertThat(new LeakyReLU(0.1, true)).hasToString("LeakyReLU(negative_slope=0.1, inplace=True)");
        assertThat(new LeakyReLU(0.1)).hasToString("LeakyReLU(negative_slope=0.1)");
        assertThat(new Hardtanh(-1.0, 1.0, true)).hasToString("Hardtanh(min_val=-1.0, max_val=1.0, inplace=True)");
        assertThat(new ReLU6(true)).hasToString("ReLU6(inplace=True)");
        assertThat(new ELU(1.0, true)).hasToString("ELU(alpha=1.0, inplace=True)");
        assertThat(new ELU(0.5)).hasToString("ELU(alpha=0.5)");
        assertThat(new Hardswish(true)).hasToString("Hardswish()");
        assertThat(new Hardsigmoid(true)).hasToString("Hardsigmoid()");
        assertThat(new SiLU(true)).hasToString("SiLU(inplace=True)");
        assertThat(new Mish(true)).hasToString("Mish(inplace=True)");
        assertThat(new Dropout(0.3, true)).hasToString("Dropout(p=0.3, inplace=True)");
        assertThat(new Dropout2d(0.5, true)).hasToString("Dropout2d(p=0.5, inplace=True)");
        assertThat(new Dropout(0.3)).hasToString("Dropout(p=0.3, inplace=False)");
    }

    @Test
    void inplaceModulesRewriteTheirInputAndTraceOutOfPlace() {
        Module[] modules = {new ReLU(true), new LeakyReLU(0.1, true), new ELU(0.7, true), new Hardtanh(-0.5, 0.5, true), new ReLU6(true),
                new Hardsigmoid(true), new Hardswish(true), new SiLU(true), new Mish(true)};
        Module[] plain = {new ReLU(), new LeakyReLU(0.1), new ELU(0.7), new Hardtanh(-0.5, 0.5), new ReLU6(),
                new Hardsigmoid(), new Hardswish(), new SiLU(), new Mish()};
        for (int m = 0; m < modules.length; m++) {
            Tensor x = Tensor.of(X.clone(), 2, 6);
            float[] want = plain[m].forward(x).toFloatArray();
            assertThat(modules[m].forward(x)).isSameAs(x);
            assertClose(x.toFloatArray(), want);
            Tensor in = Tensor.of(X.clone(), 2, 6);
            try (InferencePlan plan = InferencePlan.trace(modules[m]::forward, 2, 6)) {
                float[] got = new float[12];
                plan.run(in.toFloatArray(), got);
                assertClose(got, want);
            }
            assertClose(in.toFloatArray(), X);
        }
    }

    @Test
    void dropoutInPlaceMultipliesTheInputByTheMask() {
        Lanes.manualSeed(3);
        Tensor a = Tensor.ones(4, 6).requiresGrad(true);
        Tensor x = a.mul(1);
        Tensor y = F.dropout(x, 0.5, true, true);
        assertThat(y).isSameAs(x);
        assertThat(y.gradFn().name()).isEqualTo("MulBackward0");
        float[] v = y.toFloatArray();
        y.sum().backward();
        float[] g = a.grad().toFloatArray();
        int zeros = 0;
        for (int i = 0; i < v.length; i++) {
            assertThat(v[i]).isIn(0f, 2f);
            assertThat(g[i]).isEqualTo(v[i]); // the gradient is the scaled mask
            zeros += v[i] == 0 ? 1 : 0;
        }
        assertThat(zeros).isBetween(1, 23);
        Tensor e = Tensor.ones(3);
        assertThat(F.dropout(e, 0.5, false, true)).isSameAs(e);
        Dropout d = new Dropout(0.5, true);
        Tensor t = Tensor.ones(4, 6);
        assertThat(d.forward(t)).isSameAs(t);
        Tensor c = Tensor.ones(2, 3, 2, 2);
        Tensor r = new Dropout2d(0.5, true).forward(c);
        assertThat(r).isSameAs(c);
        float[] cv = c.toFloatArray();
        for (int ch = 0; ch < 6; ch++) {
            for (int k = 1; k < 4; k++) {
                assertThat(cv[ch * 4 + k]).isEqualTo(cv[ch * 4]);
            }
        }
    }
}
