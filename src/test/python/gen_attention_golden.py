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


if __name__ == '__main__':
    main()
