package dev.lanes.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.BCELoss;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.HuberLoss;
import dev.lanes.nn.KLDivLoss;
import dev.lanes.nn.SmoothL1Loss;
import dev.lanes.optim.SGD;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A compiled training step through each loss of LossGoldenTest (a 1 x 1 convolution's [4, 4, 5, 6] scores) gives
 * the eager step's losses and parameters: the spatial cross-entropy's class-dim moves, the probability
 * targets' composition and the fused elementwise nodes all replay.
 */
class LossTrainStepTest {
    private static final int STEPS = 4;

    static Stream<String> losses() {
        return Stream.of("ce_spatial", "ce_probabilities", "bce", "smooth_l1", "huber", "kl_batchmean");
    }

    private static BiFunction<Tensor, Tensor, Tensor> criterion(String name) {
        Tensor w = Tensor.of(new float[] {0.5f, 1.5f, 1f, 2f}, 4);
        return switch (name) {
            case "ce_spatial" -> new CrossEntropyLoss(w, 2, 0.1, "mean")::forward;
            case "ce_probabilities" -> new CrossEntropyLoss(w, -100, 0.2, "mean")::forward;
            case "bce" -> (out, y) -> new BCELoss().forward(out.sigmoid(), y);
            case "smooth_l1" -> new SmoothL1Loss("mean", 0.5)::forward;
            case "huber" -> new HuberLoss("sum", 0.7)::forward;
            case "kl_batchmean" -> (out, y) -> new KLDivLoss("batchmean", false).forward(out.logSoftmax(1), y);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static Tensor target(String name, java.util.Random r) {
        int[] shape = {4, 4, 5, 6};
        if (name.equals("ce_spatial")) {
            long[] t = new long[4 * 5 * 6];
            for (int i = 0; i < t.length; i++) {
                t[i] = r.nextInt(4);
            }
            return Tensor.of(t, 4, 5, 6);
        }
        float[] y = new float[4 * 4 * 5 * 6];
        for (int i = 0; i < y.length; i++) {
            y[i] = name.equals("smooth_l1") || name.equals("huber") ? (float) r.nextGaussian() : r.nextFloat();
        }
        Tensor t = Tensor.of(y, shape);
        return name.equals("ce_probabilities") || name.equals("kl_batchmean") ? t.softmax(1) : t;
    }

    @ParameterizedTest
    @MethodSource("losses")
    void compiledStepMatchesEager(String name) {
        float[][] params = new float[2][];
        float[][] losses = new float[2][STEPS];
        for (int mode = 0; mode < 2; mode++) {
            Lanes.manualSeed(11);
            Conv2d net = new Conv2d(3, 4, 1);
            SGD opt = new SGD(net.parameters(), 0.1);
            BiFunction<Tensor, Tensor, Tensor> loss = criterion(name);
            TrainStep step = mode == 1 ? TrainStep.compile(net::forward, loss, opt) : null;
            java.util.Random r = new java.util.Random(5);
            for (int s = 0; s < STEPS; s++) {
                try (MemoryScope scope = MemoryScope.open()) {
                    float[] x = new float[4 * 3 * 5 * 6];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian();
                    }
                    Tensor xt = Tensor.of(x, 4, 3, 5, 6);
                    Tensor yt = target(name, r);
                    if (step != null) {
                        losses[mode][s] = step.run(xt, yt);
                    } else {
                        opt.zeroGrad();
                        Tensor l = loss.apply(net.forward(xt), yt);
                        l.backward();
                        opt.step();
                        losses[mode][s] = l.item();
                    }
                }
            }
            params[mode] = net.weight.toFloatArray();
            if (step != null) {
                step.close();
            }
        }
        for (int s = 0; s < STEPS; s++) {
            assertThat(losses[1][s]).as("%s step %d loss", name, s).isCloseTo(losses[0][s], Offset.offset(1e-5f));
        }
        for (int i = 0; i < params[0].length; i++) {
            assertThat(params[1][i]).as("%s weight element %d", name, i).isCloseTo(params[0][i], Offset.offset(1e-5f));
        }
    }
}
