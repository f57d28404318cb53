#!/usr/bin/python3
"""Golden file of the transformer family (TransformerTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_transformer_golden.py
Writes src/test/resources/golden/transformer.txt in Golden.java's format, rows as gen_attention_golden.py's
(write_row): <row>/param/<name> the torch module's state dict, loaded into the Lanes module; <row>/in/<k> the inputs;
<row>/y the output; <row>/g the incoming gradient; <row>/d/<k> and <row>/grad/<name> the gradients of sum(y * g).
<row>/<mask name> are the masks both are given. No row pairs a float key_padding_mask with an attn_mask (1.13
mishandles that pair; see gen_attention_golden.py).

Modules run in eval (dropout 0.1 off). With inputs that require grad PyTorch 1.13 skips its inference fast paths
(MultiheadAttention's, TransformerEncoderLayer's and TransformerEncoder's nested tensors), so every row is the
ordinary computation. Parameters are perturbed after construction: PyTorch starts the biases at zero and LayerNorm at
ones, and TransformerEncoder / TransformerDecoder deep-copy one layer, so every layer would start the same.
"""
import os

import torch

from gen_tensor_golden import OUT, record
from gen_attention_golden import write_row

nn = torch.nn


def causal(l, s):
    return torch.triu(torch.full((l, s), float('-inf')), 1)


def padding(b, s):
    m = torch.rand(b, s) > 0.6
    m[:, 0] = False  # no batch fully masked
    return m


def perturb(m):
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return m.eval()


def main():
    torch.manual_seed(2027)
    with open(os.path.join(OUT, 'transformer.txt'), 'w') as f:
        def masks(name, **ms):
            for k, v in ms.items():
                if v is not None:
                    record(f, f'{name}/{k}', v, [])
            return ms

        # MultiheadAttention with kdim / vdim (separate q/k/v_proj_weight), add_bias_kv, add_zero_attn
        def mha_row(name, m, inputs, kpm=None, mask=None, need_weights=False, average=True):
            masks(name, kpm=kpm, mask=mask)

            def run(**ins):
                q = ins.get('x', ins.get('query'))
                k = ins.get('x', ins.get('key'))
                v = ins.get('x', ins.get('value'))
                return m(q, k, v, key_padding_mask=kpm, attn_mask=mask, need_weights=need_weights, average_attn_weights=average)

            def weights(f, ins):
                record(f, f'{name}/weights', run(**ins)[1], [])
            write_row(f, name, lambda **ins: run(**ins)[0], inputs, m, weights if need_weights else None)

        kv = perturb(nn.MultiheadAttention(8, 2, kdim=6, vdim=5, batch_first=True))
        bool_mask = torch.rand(4, 6) > 0.7
        bool_mask[:, 0] = False
        mha_row('mha_kvdim_bf', kv, {'query': torch.randn(2, 4, 8), 'key': torch.randn(2, 6, 6), 'value': torch.randn(2, 6, 5)},
                padding(2, 6), bool_mask, need_weights=True)
        mha_row('mha_kvdim_unbatched', kv, {'query': torch.randn(4, 8), 'key': torch.randn(6, 6), 'value': torch.randn(6, 5)},
                need_weights=True, average=False)
        kv_sf = perturb(nn.MultiheadAttention(8, 2, bias=False, kdim=3, vdim=8))
        mha_row('mha_kvdim_sf_nobias', kv_sf, {'query': torch.randn(3, 2, 8), 'key': torch.randn(5, 2, 3), 'value': torch.randn(5, 2, 8)},
                mask=torch.randn(3, 5))
        both = perturb(nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True))
        self_mask = torch.rand(5, 5) > 0.7
        self_mask[:, 0] = False
        mha_row('mha_bias_kv_zero_attn', both, {'x': torch.randn(5, 3, 8)}, padding(3, 5), self_mask, need_weights=True)
        bias_kv = perturb(nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=6, vdim=6, batch_first=True))
        mha_row('mha_bias_kv_kvdim', bias_kv, {'query': torch.randn(2, 4, 8), 'key': torch.randn(2, 6, 6), 'value': torch.randn(2, 6, 6)},
                padding(2, 6), torch.randn(2 * 2, 4, 6))
        zero = perturb(nn.MultiheadAttention(8, 4, add_zero_attn=True, batch_first=True))
        mha_row('mha_zero_attn_causal', zero, {'x': torch.randn(2, 5, 8)}, mask=causal(5, 5), need_weights=True)  # Lanes: isCausal
        mha_row('mha_bias_kv_unbatched', both, {'x': torch.randn(5, 8)}, padding(1, 5)[0], need_weights=True)

        # TransformerDecoderLayer: forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)
        def dec_row(name, m, tgt, memory, **ms):
            masks(name, **ms)
            write_row(f, name, lambda tgt, memory: m(tgt, memory, **ms), {'tgt': tgt, 'memory': memory}, m)

        post = perturb(nn.TransformerDecoderLayer(8, 2, 16))
        dec_row('decoder_postnorm_relu_sf', post, torch.randn(5, 3, 8), torch.randn(6, 3, 8), tgt_mask=causal(5, 5),
                memory_key_padding_mask=torch.randn(3, 6))  # a float padding mask: added to the scores
        pre = perturb(nn.TransformerDecoderLayer(8, 2, 16, activation='gelu', batch_first=True, norm_first=True))
        tgt_bool = torch.rand(4, 4) > 0.7
        tgt_bool[:, 0] = False
        dec_row('decoder_prenorm_gelu_bf', pre, torch.randn(2, 4, 8), torch.randn(2, 7, 8), tgt_mask=tgt_bool, memory_mask=torch.randn(4, 7),
                tgt_key_padding_mask=padding(2, 4), memory_key_padding_mask=padding(2, 7))
        post_bf = perturb(nn.TransformerDecoderLayer(8, 4, 12, activation='gelu', layer_norm_eps=1e-3, batch_first=True))
        dec_row('decoder_postnorm_gelu_bf_nomask', post_bf, torch.randn(3, 4, 8), torch.randn(3, 2, 8))
        pre_sf = perturb(nn.TransformerDecoderLayer(8, 2, 16, norm_first=True))
        dec_row('decoder_prenorm_relu_unbatched', pre_sf, torch.randn(5, 8), torch.randn(6, 8), tgt_mask=causal(5, 5),
                tgt_key_padding_mask=padding(1, 5)[0], memory_key_padding_mask=padding(1, 6)[0])

        # TransformerEncoder / TransformerDecoder: deep copies of the layer (perturbed apart), an optional final norm
        def enc_stack_row(name, m, src, **ms):
            masks(name, **ms)
            write_row(f, name, lambda src: m(src, **ms), {'src': src}, m)

        enc = perturb(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 3, nn.LayerNorm(8)))
        enc_stack_row('encoder_stack_bf_norm', enc, torch.randn(2, 5, 8), mask=causal(5, 5), src_key_padding_mask=padding(2, 5))
        enc_pre = perturb(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, activation='gelu', norm_first=True), 2))
        enc_stack_row('encoder_stack_sf_prenorm', enc_pre, torch.randn(5, 3, 8), src_key_padding_mask=padding(3, 5))
        dec = perturb(nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True, norm_first=True), 2, nn.LayerNorm(8)))
        dec_row('decoder_stack_bf_prenorm_norm', dec, torch.randn(2, 4, 8), torch.randn(2, 6, 8), tgt_mask=causal(4, 4),
                memory_key_padding_mask=padding(2, 6))
        dec_sf = perturb(nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2))
        dec_row('decoder_stack_sf', dec_sf, torch.randn(4, 2, 8), torch.randn(5, 2, 8), tgt_key_padding_mask=padding(2, 4))

        # nn.Transformer: encoder (final LayerNorm) then decoder (final LayerNorm), xavier-uniform matrices
        def transformer_row(name, m, src, tgt, **ms):
            masks(name, **ms)
            write_row(f, name, lambda src, tgt: m(src, tgt, **ms), {'src': src, 'tgt': tgt}, m)

        t = perturb(nn.Transformer(8, 2, 2, 1, 16, batch_first=True))
        transformer_row('transformer_bf', t, torch.randn(2, 6, 8), torch.randn(2, 4, 8),
                        tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), src_key_padding_mask=padding(2, 6),
                        memory_key_padding_mask=padding(2, 6))
        t_sf = perturb(nn.Transformer(8, 4, 1, 2, 12, activation='gelu', norm_first=True))
        transformer_row('transformer_sf_prenorm_gelu', t_sf, torch.randn(5, 2, 8), torch.randn(3, 2, 8), src_mask=torch.randn(5, 5),
                        tgt_mask=nn.Transformer.generate_square_subsequent_mask(3), memory_mask=torch.randn(3, 5),
                        tgt_key_padding_mask=padding(2, 3))
        record(f, 'square_subsequent_mask_5', nn.Transformer.generate_square_subsequent_mask(5), [])


if __name__ == '__main__':
    main()
