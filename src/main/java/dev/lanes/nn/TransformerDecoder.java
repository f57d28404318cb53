package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A stack of decoder layers, like {@code torch.nn.TransformerDecoder(decoder_layer, num_layers, norm)}: {@code numLayers}
 * deep copies of {@code decoderLayer} (PyTorch's {@code _get_clones}: each with parameters of its own, starting from the
 * layer's values; the layer given is not itself a submodule), each attending to the same {@code memory}, then
 * {@code norm} if given. State dict keys are PyTorch's: {@code layers.0.*}, ..., {@code norm.*}.
 */
public class TransformerDecoder extends Module {
    public final ModuleList layers;
    /** The final normalisation, or null. */
    public final Module norm;
    public final int numLayers;

    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers) {
        this(decoderLayer, numLayers, null);
    }

    /** @param norm the final normalisation (PyTorch's: a LayerNorm(d_model)), or null */
    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers, Module norm) {
        if (decoderLayer == null) {
            throw new IllegalArgumentException("TransformerDecoder: decoder_layer is null");
        }
        if (numLayers <= 0) {
            throw new IllegalArgumentException("TransformerDecoder: num_layers must be positive, got " + numLayers);
        }
        ModuleList clones = new ModuleList();
        for (int i = 0; i < numLayers; i++) {
            clones.append(decoderLayer.copy());
        }
        this.layers = register("layers", clones);
        this.norm = norm == null ? null : register("norm", norm);
        this.numLayers = numLayers;
    }

    /** Layer {@code i}. */
    public TransformerDecoderLayer layer(int i) {
        return (TransformerDecoderLayer) layers.get(i);
    }

    /** A decoder needs the encoder's output too: call {@link #forward(Tensor, Tensor)}. */
    @Override
    public Tensor forward(Tensor tgt) {
        throw new IllegalArgumentException("TransformerDecoder needs the memory too: call forward(tgt, memory)");
    }

    public Tensor forward(Tensor tgt, Tensor memory) {
        return forward(tgt, memory, null, null, null, null, false);
    }

    /**
     * PyTorch's {@code forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)}, the
     * masks given to every layer; see {@link TransformerDecoderLayer#forward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)}.
     */
    public Tensor forward(Tensor tgt, Tensor memory, Tensor tgtMask, Tensor memoryMask, Tensor tgtKeyPaddingMask, Tensor memoryKeyPaddingMask) {
        return forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, false);
    }

    /** As above, with the target's self-attention causal ({@code tgtIsCausal}, instead of a {@code tgtMask}: not both). */
    public Tensor forward(Tensor tgt, Tensor memory, Tensor tgtMask, Tensor memoryMask, Tensor tgtKeyPaddingMask, Tensor memoryKeyPaddingMask,
                          boolean tgtIsCausal) {
        Tensor x = tgt;
        for (Module layer : layers) {
            x = ((TransformerDecoderLayer) layer).forward(x, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal);
        }
        return norm == null ? x : norm.forward(x);
    }
}
