package dev.lanes.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.functional.F;
import dev.lanes.nn.utils.ClipGrad;
import dev.lanes.optim.Optimizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's parity run for TrainGPT's model: the recipe of {@code src/test/python/gen_gpt_parity.py} (its docstring
 * spells it out) replayed in Lanes, with TrainGPT's own optimizer groups and learning-rate schedule. Initial weights
 * and batches come from integer generators both sides share, so nothing but PyTorch's 50 losses and final parameter
 * norms is stored. Every step's loss must agree within 1e-3 relative, every parameter's final L2 norm too.
 */
class GptParityTest {
    private static final int VOCAB = 65;
    private static final int CONTEXT = 64;
    private static final int BATCH = 8;
    private static final int STEPS = 50;

    /** The 64-bit LCG of the script (Knuth's MMIX constants), wrapping like Python's masked arithmetic. */
    static final class Lcg {
        private long state;

        Lcg(long seed) {
            state = seed;
        }

        long next() {
            state = state * 6364136223846793005L + 1442695040888963407L;
            return state;
        }
    }

    static long fnv1a(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    /** LayerNorms stay 1 and 0; every other parameter uniform in [-b, b) from the LCG seeded by its name's hash. */
    static void initWeights(CharGPT model) {
        try (Autograd.Mode g = Autograd.noGrad()) {
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                String name = e.getKey();
                Tensor p = e.getValue();
                if (name.contains("norm") || name.startsWith("ln_f")) {
                    continue;
                }
                int fan = p.dim() >= 2 ? p.size(1) : p.size(0);
                float bound = (float) (1 / Math.sqrt(fan));
                Lcg lcg = new Lcg(fnv1a(name));
                float[] w = new float[p.numel()];
                for (int i = 0; i < w.length; i++) {
                    float u = (float) ((lcg.next() >>> 40) * 0x1p-24);
                    w[i] = (2f * u - 1f) * bound;
                }
                p.copyFrom(w, 0);
            }
        }
    }

    /** Step s's batch: BATCH sequences of CONTEXT + 1 tokens of the script's Markov chain; x and y shifted by one. */
    static long[][] batch(Lcg lcg) {
        long[] x = new long[BATCH * CONTEXT];
        long[] y = new long[BATCH * CONTEXT];
        for (int b = 0; b < BATCH; b++) {
            long t = Long.remainderUnsigned(lcg.next() >>> 33, VOCAB);
            for (int i = 0; i < CONTEXT; i++) {
                long next = (5 * t + 1 + Long.remainderUnsigned(lcg.next() >>> 33, 3)) % VOCAB;
                x[b * CONTEXT + i] = t;
                y[b * CONTEXT + i] = next;
                t = next;
            }
        }
        return new long[][] {x, y};
    }

    @Test
    void fiftyStepsMatchPyTorchWithinFloatNoise() throws IOException {
        List<Double> want = new ArrayList<>();
        Map<String, Double> wantNorms = new LinkedHashMap<>();
        try (InputStream in = GptParityTest.class.getResourceAsStream("/golden/gpt_parity.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.split(" ");
                if (f[0].equals("loss")) {
                    want.add(Double.parseDouble(f[2]));
                } else if (f[0].equals("norm")) {
                    wantNorms.put(f[1], Double.parseDouble(f[2]));
                }
            }
        }
        CharGPT model = new CharGPT(new CharGPT.Config(VOCAB, CONTEXT, 128, 4, 4, 0.0, false));
        initWeights(model);
        assertThat(model.namedParameters().keySet()).containsExactlyElementsOf(wantNorms.keySet());
        Optimizer opt = TrainGPT.optimizer(model, 1e-3, 0.1);
        Lcg data = new Lcg(12345);
        double worst = 0;
        for (int step = 0; step < STEPS; step++) {
            long[][] xy = batch(data);
            double lr = TrainGPT.learningRate(step, 10, STEPS, 1e-3, 1e-4);
            opt.paramGroups().forEach(g -> g.setLr(lr));
            opt.zeroGrad();
            double loss;
            try (MemoryScope s = MemoryScope.open()) {
                Tensor x = Tensor.of(xy[0], BATCH, CONTEXT);
                Tensor y = Tensor.of(xy[1], BATCH * CONTEXT);
                Tensor logits = model.forward(x);
                Tensor l = F.crossEntropy(logits.reshape(-1, VOCAB), y);
                l.backward();
                ClipGrad.clipGradNorm_(model.parameters(), 1.0);
                opt.step();
                loss = l.item();
            }
            double rel = Math.abs(loss - want.get(step)) / Math.abs(want.get(step));
            worst = Math.max(worst, rel);
            assertThat(rel).as("step %d: Lanes %s, PyTorch %s", step, loss, want.get(step)).isLessThanOrEqualTo(1e-3);
        }
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            double norm = 0;
            for (float v : e.getValue().toFloatArray()) {
                norm += (double) v * v;
            }
            norm = Math.sqrt(norm);
            double w = wantNorms.get(e.getKey());
            assertThat(Math.abs(norm - w) / w).as("final L2 norm of %s: Lanes %s, PyTorch %s", e.getKey(), norm, w).isLessThanOrEqualTo(1e-3);
        }
        System.out.printf("GPT parity: worst relative loss difference over %d steps %.2e (last loss %.4f)%n", STEPS, worst, want.get(STEPS - 1));
    }
}
