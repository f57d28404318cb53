package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.lanes.autograd.Autograd;
import dev.lanes.nn.BatchNorm1d;
import dev.lanes.nn.functional.F;
import org.junit.jupiter.api.Test;

/**
 * Where PyTorch 1.13's own operation order decides the bits (or the accuracy), Lanes makes the same operations:
 * values printed by torch 1.13, or its formula over Lanes' own inputs where an input (a sigmoid) is Lanes' own.
 */
class TorchArithmeticOrderTest {
    private static void assertBits(float got, float want, String what) {
        assertThat(Float.floatToIntBits(got)).as("%s: %s against PyTorch's %s", what, got, want).isEqualTo(Float.floatToIntBits(want));
    }

    @Test
    void bceWithLogitsKeepsTheSmallTermOfAConfidentNegative() {
        Tensor x = Tensor.of(new float[] {-15, -10, -5, -0.3f, 0, 2.5f, 12, 20}, 8);
        // F.binary_cross_entropy_with_logits(x, t, reduction='none'), torch 1.13; before, x = -15, t = 0 gave 0
        float[] wantZero = {3.576278118089249e-07f, 4.541770613286644e-05f, 0.006715348921716213f, 0.554355263710022f, 0.6931471824645996f,
                2.578889846801758f, 12.000005722045898f, 20.0f};
        float[] wantOne = {15.0f, 10.000045776367188f, 5.006715297698975f, 0.8543552756309509f, 0.6931471824645996f, 0.07888974994421005f,
                6.198863957251888e-06f, 0.0f};
        float[] zero = F.binaryCrossEntropyWithLogits(x, Tensor.zeros(8), null, null, "none").toFloatArray();
        float[] one = F.binaryCrossEntropyWithLogits(x, Tensor.ones(8), null, null, "none").toFloatArray();
        for (int i = 0; i < 8; i++) { // exp and log are Lanes' own (within 2 ulp): a relative bound, far below the old error
            assertThat(zero[i]).as("target 0, x = %s", x.toFloatArray()[i]).isCloseTo(wantZero[i], within(Math.abs(wantZero[i]) * 1e-6f));
            assertThat(one[i]).as("target 1, x = %s", x.toFloatArray()[i]).isCloseTo(wantOne[i], within(Math.abs(wantOne[i]) * 1e-6f));
        }
    }

    @Test
    void bceWithLogitsGradientIsPyTorchsProductsInPyTorchsOrderThenDividedByTheCount() {
        int n = 3000;
        float[] xv = new float[n];
        float[] yv = new float[n];
        float[] wv = new float[n];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < n; i++) {
            xv[i] = (float) r.nextGaussian() * 3;
            yv[i] = r.nextFloat();
            wv[i] = 0.5f + r.nextFloat();
        }
        Tensor x = Tensor.of(xv, n).requiresGrad(true);
        Tensor y = Tensor.of(yv, n);
        Tensor w = Tensor.of(wv, n);
        F.binaryCrossEntropyWithLogits(x, y, w, null, "mean").mul(1.7).backward();
        float[] sig;
        try (Autograd.Mode g = Autograd.noGrad()) {
            sig = Tensor.of(xv, n).sigmoid().toFloatArray();
        }
        float[] got = x.grad().toFloatArray();
        float up = 1.7f; // the upstream gradient: 1.7 (mul's backward of the 1 from backward())
        for (int i = 0; i < n; i++) { // binary_cross_entropy_with_logits_backward: ((sigmoid(x) - y) g) w / n
            assertBits(got[i], (sig[i] - yv[i]) * up * wv[i] / n, "dx[" + i + "]");
        }
    }

    @Test
    void meanBackwardDividesByTheCountAsPyTorch() {
        int rows = 1000;
        float[] xv = new float[rows * 3];
        float[] cv = new float[rows];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < rows; i++) {
            cv[i] = 0.5f + r.nextFloat();
        }
        Tensor x = Tensor.of(xv, rows, 3).requiresGrad(true);
        x.mean(1).mul(Tensor.of(cv, rows)).sum().backward();
        float[] got = x.grad().toFloatArray();
        for (int i = 0; i < rows * 3; i++) { // mean_backward: grad / n (g times fl(1/3) differed in a third of them)
            assertBits(got[i], cv[i / 3] / 3f, "dx[" + i + "]");
        }
    }

    @Test
    void batchNormTrainingAddsEpsInDoubleAndFoldsTheRunningStatisticsAsPyTorch() {
        // channel c holds +-(c + 1) / 64: its mean (0) and variance are exact in any summation order, so only the
        // arithmetic after the sums decides the bits
        int c = 512;
        float[] xv = new float[2 * c];
        for (int ch = 0; ch < c; ch++) {
            xv[ch] = (ch + 1) / 64f;
            xv[c + ch] = -(ch + 1) / 64f;
        }
        BatchNorm1d bn = new BatchNorm1d(c);
        float[] y = bn.forward(Tensor.of(xv, 2, c)).toFloatArray();
        // torch.nn.BatchNorm1d(512)(x): outputs and running_var of channels 2, 8, 18, 32, 36, 37 (eps added in float
        // changed 74 of the 512 outputs)
        int[] picks = {2, 8, 18, 32, 36, 37};
        float[] wantY = {0.9977322220802307f, 0.9997472763061523f, 0.9999432563781738f, 0.9999812245368958f, 0.9999850988388062f,
                0.9999858736991882f};
        float[] wantVar = {0.900439441204071f, 0.9039550423622131f, 0.9176269173622131f, 0.953173816204071f, 0.966845691204071f,
                0.970507800579071f};
        float[] runningVar = bn.runningVar.toFloatArray();
        for (int i = 0; i < picks.length; i++) {
            assertBits(y[picks[i]], wantY[i], "y[0, " + picks[i] + "]");
            assertBits(runningVar[picks[i]], wantVar[i], "running_var[" + picks[i] + "]");
            assertThat(bn.runningMean.toFloatArray()[picks[i]]).isEqualTo(0f);
        }
    }

    @Test
    void batchNormEvalComputesTheInverseStdInFloatAsPyTorch() {
        int c = 512;
        float[] rv = new float[c];
        for (int ch = 0; ch < c; ch++) {
            rv[ch] = (float) (0.01 + (ch * 0.37) % 10);
        }
        BatchNorm1d bn = new BatchNorm1d(c);
        bn.runningVar.copy_(Tensor.of(rv, c));
        bn.eval();
        float[] y = bn.forward(Tensor.ones(1, c)).toFloatArray();
        // torch: 1 / sqrt(running_var + eps) in float (through double it differed in 124 of 512)
        int[] picks = {8, 12, 13, 16, 21, 29};
        float[] want = {0.5802578330039978f, 0.47404491901397705f, 0.4554870128631592f, 0.41065046191215515f, 0.3585171103477478f,
                1.162468433380127f};
        for (int i = 0; i < picks.length; i++) {
            assertThat(rv[picks[i]]).isEqualTo(new float[] {2.9700000286102295f, 4.449999809265137f, 4.820000171661377f, 5.929999828338623f,
                    7.78000020980835f, 0.7400000095367432f}[i]);
            assertBits(y[picks[i]], want[i], "y[0, " + picks[i] + "]");
        }
    }

    @Test
    void batchNormOfAnEmptyBatchInTrainingNormalisesNothingAndKeepsTheRunningStatistics() {
        // torch: BatchNorm1d(3)(torch.zeros(0, 3)) -> size (0, 3); running stats unchanged; num_batches_tracked 1
        BatchNorm1d bn = new BatchNorm1d(3);
        Tensor x = Tensor.zeros(0, 3).requiresGrad(true);
        Tensor y = bn.forward(x);
        assertThat(y.shape()).containsExactly(0, 3);
        assertThat(bn.runningMean.toFloatArray()).containsExactly(0, 0, 0);
        assertThat(bn.runningVar.toFloatArray()).containsExactly(1, 1, 1);
        assertThat(bn.numBatchesTracked.toLongArray()).containsExactly(1L);
        y.sum().backward();
        assertThat(bn.weight.grad().toFloatArray()).containsExactly(0, 0, 0);
        assertThat(bn.bias.grad().toFloatArray()).containsExactly(0, 0, 0);
        assertThat(x.grad().shape()).containsExactly(0, 3);
    }

    @Test
    void powByThreeAndMinusTwoAreProductsAsPyTorch() {
        Tensor x = Tensor.of(new float[] {3.299999952316284f, 0.017054079100489616f, -1.7000000476837158f, 12.345000267028809f}, 4);
        // torch.pow(x, 3) == x * x * x and torch.pow(x, -2) == 1 / (x * x) (the rounded powers: 35.937 and 3438.2969)
        float[] cube = {35.93699645996094f, 4.9600362217461225e-06f, -4.913000106811523f, 1881.3660888671875f};
        float[] inverseSquare = {0.09182737022638321f, 3438.29736328125f, 0.34602075815200806f, 0.006561721675097942f};
        float[] gotCube = x.pow(3).toFloatArray();
        float[] gotInverseSquare = x.pow(-2).toFloatArray();
        for (int i = 0; i < 4; i++) {
            assertBits(gotCube[i], cube[i], "pow(x, 3)[" + i + "]");
            assertBits(gotInverseSquare[i], inverseSquare[i], "pow(x, -2)[" + i + "]");
        }
    }

    @Test
    void dropoutScalesKeptElementsByOneOverTheFloatOfOneMinusP() {
        // torch: F.dropout(torch.ones(1000), p).max() is 1.1764705 at p = 0.15 and 1.8181818 at 0.45 (1 / (1 - p) in
        // double, rounded once, is an ulp higher at both)
        double[] ps = {0.15, 0.45};
        float[] want = {1.1764705181121826f, 1.8181817531585693f};
        for (int i = 0; i < ps.length; i++) {
            Lanes.manualSeed(1);
            float max = 0;
            for (float v : Tensor.ones(1000).dropout(ps[i], true).toFloatArray()) {
                max = Math.max(max, v);
            }
            assertBits(max, want[i], "dropout(p = " + ps[i] + ")");
        }
    }
}
