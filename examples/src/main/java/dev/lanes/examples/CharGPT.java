package dev.lanes.examples;

import dev.lanes.Tensor;
import dev.lanes.nn.Embedding;
import dev.lanes.nn.LayerNorm;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.ModuleList;
import dev.lanes.nn.TransformerEncoderLayer;
import dev.lanes.nn.functional.F;

/**
 * A character-level GPT: token and learned position embeddings, {@code layers} pre-norm transformer blocks with causal
 * self-attention and a GELU MLP (4x), a final LayerNorm and a linear head to the vocabulary, optionally tied to the
 * token embedding. Submodule names match the PyTorch twin in {@code src/test/python/gen_gpt_parity.py}.
 */
public final class CharGPT extends Module {
    /** The model's sizes. */
    public record Config(int vocab, int context, int dModel, int heads, int layers, double dropout, boolean tieWeights) {
        public Config {
            if (vocab <= 0 || context <= 0 || dModel <= 0 || heads <= 0 || layers <= 0) {
                throw new IllegalArgumentException("CharGPT: sizes must be positive, got " + this);
            }
            if (dModel % heads != 0) {
                throw new IllegalArgumentException("CharGPT: d_model " + dModel + " is not divisible by heads " + heads);
            }
        }

        /** The model: context 64, d_model 128, 4 heads, 4 layers. */
        public static Config small(int vocab) {
            return new Config(vocab, 64, 128, 4, 4, 0.1, false);
        }
    }

    public final Config config;
    public final Embedding tokEmb;
    public final Embedding posEmb;
    public final ModuleList blocks;
    public final LayerNorm lnF;
    /** Null when the head is tied to {@link #tokEmb}'s weight. */
    public final Linear head;

    public CharGPT(Config config) {
        this.config = config;
        this.tokEmb = register("tok_emb", new Embedding(config.vocab(), config.dModel()));
        this.posEmb = register("pos_emb", new Embedding(config.context(), config.dModel()));
        ModuleList list = new ModuleList();
        for (int i = 0; i < config.layers(); i++) {
            list.append(new TransformerEncoderLayer(config.dModel(), config.heads(), 4 * config.dModel(), config.dropout(), "gelu", 1e-5, true, true));
        }
        this.blocks = register("blocks", list);
        this.lnF = register("ln_f", new LayerNorm(config.dModel()));
        this.head = config.tieWeights() ? null : register("head", new Linear(config.dModel(), config.vocab(), false));
    }

    /** Logits {@code [B, T, vocab]} for the int64 token ids {@code idx [B, T]}, T at most the context. */
    @Override
    public Tensor forward(Tensor idx) {
        if (idx.dim() != 2 || idx.size(1) > config.context()) {
            throw new IllegalArgumentException("CharGPT: expected token ids [B, T] with T <= " + config.context() + ", got " + idx.size());
        }
        int t = idx.size(1);
        Tensor x;
        try (Tensor positions = Tensor.arange(t)) {
            x = tokEmb.forward(idx).add(posEmb.forward(positions));
        }
        for (Module block : blocks) {
            x = ((TransformerEncoderLayer) block).forward(x, null, true);
        }
        x = lnF.forward(x);
        return head != null ? head.forward(x) : F.linear(x, tokEmb.weight, null);
    }
}
