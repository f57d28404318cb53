package dev.lanes.examples;

import dev.lanes.Tensor;
import dev.lanes.optim.AdamW;
import dev.lanes.optim.Optimizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Trains a character-level GPT ({@link CharGPT}) with AdamW, linear warm-up then cosine decay, and gradient clipping.
 */
public final class TrainGPT {
    private TrainGPT() {
    }

    /**
     * AdamW (betas 0.9, 0.95, eps 1e-8) with weight decay {@code weightDecay} on the matrices and embeddings (2 or more
     * dims) and none on biases and LayerNorm parameters, as nanoGPT does.
     */
    static Optimizer optimizer(CharGPT model, double lr, double weightDecay) {
        List<Tensor> decay = new ArrayList<>();
        List<Tensor> rest = new ArrayList<>();
        for (Tensor p : model.parameters()) {
            (p.dim() >= 2 ? decay : rest).add(p);
        }
        AdamW opt = new AdamW(decay, lr, 0.9, 0.95, 1e-8, weightDecay, false);
        opt.addParamGroup(rest, Map.of("weight_decay", 0.0));
        return opt;
    }

    /** {@code max * (step + 1) / warmup} during the warm-up, then a cosine from max down to min at {@code total}. */
    static double learningRate(int step, int warmup, int total, double max, double min) {
        if (step < warmup) {
            return max * (step + 1) / warmup;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, total - warmup));
        return min + 0.5 * (max - min) * (1 + Math.cos(Math.PI * progress));
    }
}
