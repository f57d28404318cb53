package dev.lanes.nn;

import dev.lanes.Tensor;

/**
 * A stack of encoder layers, like {@code torch.nn.TransformerEncoder(encoder_layer, num_layers, norm)}: {@code numLayers}
 * deep copies of {@code encoderLayer} (PyTorch's {@code _get_clones}: each with parameters of its own, starting from the
 * layer's values; the layer given is not itself a submodule), run in turn, then {@code norm} if given (as it is, not
 * copied). State dict keys are PyTorch's: {@code layers.0.*}, {@code layers.1.*}, ..., {@code norm.*}.
 *
 * <p>PyTorch's inference fast path (eval, no grad, a src_key_padding_mask: nested tensors) returns zeros at the padded
 * positions; Lanes computes them as PyTorch's ordinary path does (training, or any input requiring grad).
 */
public class TransformerEncoder extends Module {
    public final ModuleList layers;
    /** The final normalisation, or null. */
    public final Module norm;
    public final int numLayers;

    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers) {
        this(encoderLayer, numLayers, null);
    }

    /** @param norm the final normalisation (PyTorch's: a LayerNorm(d_model)), or null */
    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers, Module norm) {
        if (encoderLayer == null) {
            throw new IllegalArgumentException("TransformerEncoder: encoder_layer is null");
        }
        if (numLayers <= 0) {
            throw new IllegalArgumentException("TransformerEncoder: num_layers must be positive, got " + numLayers);
        }
        ModuleList clones = new ModuleList();
        for (int i = 0; i < numLayers; i++) {
            clones.append(encoderLayer.copy());
        }
        this.layers = register("layers", clones);
        this.norm = norm == null ? null : register("norm", norm);
        this.numLayers = numLayers;
    }

    /** Layer {@code i}. */
    public TransformerEncoderLayer layer(int i) {
        return (TransformerEncoderLayer) layers.get(i);
    }

    @Override
    public Tensor forward(Tensor src) {
        return forward(src, null, null, false);
    }

    /** PyTorch's {@code forward(src, mask, src_key_padding_mask)}; see {@link TransformerEncoderLayer#forward(Tensor, Tensor, Tensor)}. */
    public Tensor forward(Tensor src, Tensor mask, Tensor srcKeyPaddingMask) {
        return forward(src, mask, srcKeyPaddingMask, false);
    }

    /** With a {@code mask} or {@code isCausal} (not both) and a {@code srcKeyPaddingMask}, given to every layer; any may be absent. */
    public Tensor forward(Tensor src, Tensor mask, Tensor srcKeyPaddingMask, boolean isCausal) {
        Tensor x = src;
        for (Module layer : layers) {
            x = ((TransformerEncoderLayer) layer).forward(x, mask, srcKeyPaddingMask, isCausal);
        }
        return norm == null ? x : norm.forward(x);
    }
}
