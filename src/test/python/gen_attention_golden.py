#!/usr/bin/python3
"""Golden file of attention (AttentionTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_attention_golden.py
Writes src/test/resources/golden/attention.txt in Golden.java's format. Per row:
  <row>/param/<name>   the module's state dict as PyTorch initialised it (seeded), loaded into the Lanes module
  <row>/in/<k>         the inputs (q, k, v for the functional rows; x or query/key/value for the modules)
  <row>/y              the output; <row>/g the incoming gradient; <row>/d/<k> and <row>/grad/<name> the gradients of
                       sum(y * g) with respect to the inputs and the parameters
  <row>/weights        need_weights rows: the attention weights averaged over heads

PyTorch 1.13 has no F.scaled_dot_product_attention (2.0 added it): the functional rows compute its definition,
softmax(q k^T / sqrt(E) + mask) v, which is what 1.13's multi-head attention does too. Causal masks are the float
mask 0 / -inf of torch.triu(.., 1), PyTorch 2's is_causal convention.
"""
import math
import os

import torch

from gen_tensor_golden import OUT, record

torch.manual_seed(2026)
nn = torch.nn


def causal(l, s):
    return torch.triu(torch.full((l, s), float('-inf')), 1)


def sdpa(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores + mask
    return scores.softmax(-1) @ v


def write_row(f, name, fn, inputs, module=None, extra=None):
    ins = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    if module is not None:
        for pname, p in module.state_dict().items():
            record(f, f'{name}/param/{pname}', p, [])
    for k, v in inputs.items():
        record(f, f'{name}/in/{k}', v, [])
    y = fn(**ins)
    record(f, f'{name}/y', y, ['expr ' + type(y.grad_fn).__name__])
    g = torch.randn(y.shape)
    record(f, f'{name}/g', g, [])
    params = list(module.named_parameters()) if module is not None else []
    grads = torch.autograd.grad(y, list(ins.values()) + [p for _, p in params], g, allow_unused=True)
    for k, d in zip(ins.keys(), grads[:len(ins)]):
        record(f, f'{name}/d/{k}', d, [])
    for (pname, p), d in zip(params, grads[len(ins):]):
        record(f, f'{name}/grad/{pname}', torch.zeros_like(p) if d is None else d, [])
    if extra is not None:
        extra(f, ins)


def main():
    with open(os.path.join(OUT, 'attention.txt'), 'w') as f:
        write_row(f, 'sdpa', lambda q, k, v: sdpa(q, k, v),
                  {'q': torch.randn(2, 2, 5, 8), 'k': torch.randn(2, 2, 7, 8), 'v': torch.randn(2, 2, 7, 3)})
        write_row(f, 'sdpa_causal', lambda q, k, v: sdpa(q, k, v, causal(5, 5)),
                  {'q': torch.randn(3, 5, 8), 'k': torch.randn(3, 5, 8), 'v': torch.randn(3, 5, 8)})
        mask = torch.randn(5, 7)
        record(f, 'sdpa_mask/mask', mask, [])
        write_row(f, 'sdpa_mask', lambda q, k, v: sdpa(q, k, v, mask),
                  {'q': torch.randn(2, 5, 4), 'k': torch.randn(2, 7, 4), 'v': torch.randn(2, 7, 6)})

        mha = nn.MultiheadAttention(16, 4, batch_first=True)
        with torch.no_grad():  # PyTorch starts both biases at zero: random ones test that they are applied
            mha.in_proj_bias.normal_()
            mha.out_proj.bias.normal_()
        write_row(f, 'mha_causal', lambda x: mha(x, x, x, attn_mask=causal(5, 5), need_weights=False)[0],
                  {'x': torch.randn(2, 5, 16)}, mha)

        def weights(f, ins):
            _, w = mha(ins['x'], ins['x'], ins['x'], need_weights=True)
            record(f, 'mha_weights/weights', w, [])
        write_row(f, 'mha_weights', lambda x: mha(x, x, x, need_weights=True)[0], {'x': torch.randn(2, 5, 16)}, mha, weights)

        cross = nn.MultiheadAttention(8, 2)  # [L, B, E] inputs, PyTorch's default
        write_row(f, 'mha_cross_seq_first', lambda query, key, value: cross(query, key, value, need_weights=False)[0],
                  {'query': torch.randn(4, 3, 8), 'key': torch.randn(6, 3, 8), 'value': torch.randn(6, 3, 8)}, cross)

        pre = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)
        write_row(f, 'encoder_prenorm_gelu_causal', lambda x: pre(x, src_mask=causal(5, 5)), {'x': torch.randn(2, 5, 16)}, pre)
        post = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0)
        post.eval = None  # keep train mode (dropout 0): PyTorch's fast path only runs in eval
        write_row(f, 'encoder_postnorm_relu', lambda x: post(x), {'x': torch.randn(5, 2, 16)}, post)

        # the tiled ("flash") kernel's rows (Tensor.flashAttention): key counts across several blocks of 64 with a
        # tail, causal with L = S, causal with more queries than keys (the rows past S see every key), and a scale
        # other than 1/sqrt(E) (PyTorch 2.1's scale=)
        write_row(f, 'flash', lambda q, k, v: sdpa(q, k, v),
                  {'q': torch.randn(2, 70, 8), 'k': torch.randn(2, 130, 8), 'v': torch.randn(2, 130, 6)})
        write_row(f, 'flash_causal', lambda q, k, v: sdpa(q, k, v, causal(131, 131)),
                  {'q': torch.randn(1, 131, 8), 'k': torch.randn(1, 131, 8), 'v': torch.randn(1, 131, 5)})
        write_row(f, 'flash_causal_tall', lambda q, k, v: sdpa(q, k, v, causal(90, 67)),
                  {'q': torch.randn(2, 90, 4), 'k': torch.randn(2, 67, 4), 'v': torch.randn(2, 67, 3)})
        write_row(f, 'flash_scale', lambda q, k, v: (q @ k.transpose(-2, -1) * 0.3).softmax(-1) @ v,
                  {'q': torch.randn(1, 9, 5), 'k': torch.randn(1, 200, 5), 'v': torch.randn(1, 200, 7)})

        # unbatched input: query, key and value [L, E] (PyTorch adds the batch dim, runs, and removes it), with a 2-D
        # float attn_mask [L, S] or a 3-D bool one [num_heads, L, S]; the encoder layer on [L, E]
        def random_biases(m):
            with torch.no_grad():
                m.in_proj_bias.normal_()
                m.out_proj.bias.normal_()
        unbatched = nn.MultiheadAttention(8, 2)
        random_biases(unbatched)
        float_mask = torch.randn(5, 5)
        record(f, 'mha_unbatched/mask', float_mask, [])

        def unbatched_weights(f, ins):
            _, w = unbatched(ins['x'], ins['x'], ins['x'], attn_mask=float_mask, need_weights=True)
            record(f, 'mha_unbatched/weights', w, [])
        write_row(f, 'mha_unbatched', lambda x: unbatched(x, x, x, attn_mask=float_mask, need_weights=True)[0],
                  {'x': torch.randn(5, 8)}, unbatched, unbatched_weights)
        unbatched_bf = nn.MultiheadAttention(8, 2, batch_first=True)
        random_biases(unbatched_bf)
        bool_mask = torch.rand(2, 4, 6) > 0.6
        bool_mask[..., 0] = False  # no row fully masked
        record(f, 'mha_unbatched_cross/mask', bool_mask, [])
        write_row(f, 'mha_unbatched_cross', lambda query, key, value: unbatched_bf(query, key, value, attn_mask=bool_mask,
                                                                                    need_weights=False)[0],
                  {'query': torch.randn(4, 8), 'key': torch.randn(6, 8), 'value': torch.randn(6, 8)}, unbatched_bf)
        enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
        write_row(f, 'encoder_unbatched', lambda x: enc(x), {'x': torch.randn(5, 8)}, enc)
        enc_pre = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)
        write_row(f, 'encoder_unbatched_prenorm_causal', lambda x: enc_pre(x, src_mask=causal(5, 5)), {'x': torch.randn(5, 8)}, enc_pre)

        # key_padding_mask [B, S] ([S] unbatched): bool, True = ignore that key, or float, added to the scores; merged
        # with attn_mask into one mask per batch and head. <row>/kpm and <row>/mask are the masks Lanes gets. PyTorch
        # 1.13 mishandles a float key_padding_mask together with an attn_mask (a float attn_mask ignores it, a bool one
        # masks every nonzero entry): those rows give PyTorch the sum of the two as one [B * num_heads, L, S] mask, as
        # PyTorch 2 merges them. Causal rows (Lanes' is_causal) give PyTorch the float causal mask.
        def padding(b, s):
            m = torch.rand(b, s) > 0.6
            m[:, 0] = False  # no batch fully masked
            return m

        def kpm_row(name, m, inputs, kpm, mask=None, need_weights=False, average=True, torch_mask=None, torch_kpm=True):
            record(f, f'{name}/kpm', kpm, [])
            if mask is not None:
                record(f, f'{name}/mask', mask, [])
            tm = mask if torch_mask is None else torch_mask
            tk = kpm if torch_kpm else None

            def run(**ins):
                q = ins.get('x', ins.get('query'))
                k = ins.get('x', ins.get('key'))
                v = ins.get('x', ins.get('value'))
                return m(q, k, v, key_padding_mask=tk, attn_mask=tm, need_weights=need_weights, average_attn_weights=average)

            def weights(f, ins):
                record(f, f'{name}/weights', run(**ins)[1], [])
            write_row(f, name, lambda **ins: run(**ins)[0], inputs, m, weights if need_weights else None)

        def merged(mask, kpm, heads):  # PyTorch 2's merge of a float attn_mask [L, S] and key_padding_mask [B, S]
            b, s = kpm.shape
            return (mask.view(1, 1, -1, s) + kpm.view(b, 1, 1, s)).expand(b, heads, -1, s).reshape(b * heads, -1, s)

        mha_bf = nn.MultiheadAttention(8, 2, batch_first=True)
        random_biases(mha_bf)
        mha_sf = nn.MultiheadAttention(8, 2)
        random_biases(mha_sf)
        kpm_row('mha_kpm_bf', mha_bf, {'x': torch.randn(3, 5, 8)}, padding(3, 5), need_weights=True, average=False)
        kpm_row('mha_kpm_float_attn_sf', mha_sf, {'query': torch.randn(4, 3, 8), 'key': torch.randn(6, 3, 8), 'value': torch.randn(6, 3, 8)},
                padding(3, 6), torch.randn(4, 6))
        bool_attn = torch.rand(6, 5, 5) > 0.7
        bool_attn[..., 1] = False
        kpm_row('mha_kpm_bool_attn3d_sf', mha_sf, {'x': torch.randn(5, 3, 8)}, padding(3, 5), bool_attn, need_weights=True)
        kpm_row('mha_kpm_float', mha_bf, {'x': torch.randn(2, 5, 8)}, torch.randn(2, 5))
        float_kpm = torch.randn(2, 5)
        float_attn = torch.randn(5, 5)
        kpm_row('mha_kpm_float_float_attn', mha_bf, {'x': torch.randn(2, 5, 8)}, float_kpm, float_attn, need_weights=True,
                torch_mask=merged(float_attn, float_kpm, 2), torch_kpm=False)
        kpm_row('mha_kpm_causal', mha_bf, {'x': torch.randn(2, 5, 8)}, padding(2, 5), torch_mask=causal(5, 5))
        unbatched_attn = torch.randn(2, 5, 5)
        kpm_row('mha_kpm_unbatched', mha_sf, {'x': torch.randn(5, 8)}, padding(1, 5)[0], unbatched_attn, need_weights=True, average=False)
        full = padding(2, 4)
        full[1] = True  # every key of batch 1 ignored: its rows are NaN, as PyTorch's softmax of -inf everywhere
        kpm_row('mha_kpm_full', mha_bf, {'x': torch.randn(2, 4, 8)}, full, need_weights=True)

        def enc_row(name, m, x, kpm, mask=None, torch_mask=None):
            record(f, f'{name}/kpm', kpm, [])
            if mask is not None:
                record(f, f'{name}/mask', mask, [])
            tm = mask if torch_mask is None else torch_mask
            write_row(f, name, lambda x: m(x, src_mask=tm, src_key_padding_mask=kpm), {'x': x}, m)
        enc_pre_bf = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)
        src_mask = torch.rand(5, 5) > 0.7
        src_mask[:, 0] = False
        enc_row('encoder_kpm_bf_prenorm', enc_pre_bf, torch.randn(3, 5, 8), padding(3, 5), src_mask)
        enc_sf = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
        enc_row('encoder_kpm_sf_float', enc_sf, torch.randn(5, 2, 8), torch.randn(2, 5))
        enc_post_bf = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        enc_row('encoder_kpm_causal', enc_post_bf, torch.randn(2, 5, 8), padding(2, 5), torch_mask=causal(5, 5))
        enc_row('encoder_kpm_unbatched', enc_sf, torch.randn(5, 8), padding(1, 5)[0])


if __name__ == '__main__':
    main()
