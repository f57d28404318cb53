#!/usr/bin/python3
"""Golden file of nn.Embedding's remaining options and nn.EmbeddingBag (EmbeddingOptionsTest), computed by PyTorch
(Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_embedding_golden.py
Writes src/test/resources/golden/embedding.txt in Golden.java's format: for each row its inputs (<row>/w, the table,
as it was before the call; /psw, per-sample weights; /idx, /off, int64), the output <row>/y (its expr line holds the
grad_fn name PyTorch gives it), the incoming gradient <row>/g, the gradients of sum(y * g) with respect to the float
inputs (<row>/dw, /dpsw), and for max_norm rows the table after the call's in-place renormalisation (<row>/w_after).

Tables of 19 columns: not a multiple of any vector width, so every kernel's scalar tail runs. max_norm tables get
rows scaled to norms on both sides of max_norm, and their indices repeat rows (renormalised once).
"""
import math
import os

import torch

torch.manual_seed(1107)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden')
F = torch.nn.functional


def record(f, name, t, extra=()):
    t = t.detach()
    dtype = 'int64' if t.dtype == torch.int64 else 'float32'
    f.write(f'case {name}\ndtype {dtype}\nshape {" ".join(str(s) for s in t.shape)}\n')
    values = t.reshape(-1).tolist()
    f.write('data ' + ' '.join(str(v) if dtype == 'int64' else '%.9g' % v for v in values) + '\n')
    for line in extra:
        f.write(line + '\n')
    f.write('\n')


def row(f, name, fn, floats, ints, renorms=False, by_freq=False):
    """floats: name -> tensor (gradients taken for each); ints: name -> int64 tensor; fn(**floats, **ints).

    by_freq: an embedding_bag row with scale_grad_by_freq, whose fn runs without it; the table's gradient is then
    divided by each index's count (torch.bincount over the input), what the documentation and F.embedding's
    scale_grad_by_freq do. torch 1.13's own CPU embedding_bag backward divides the i-th distinct index's rows by the
    count of the index at the i-th position of the sorted input instead (counts[indices_data[i]] where it means
    counts[indices_data[start]]): here row 2 of the 2-d case got half its gradient, its sorted neighbour 1 occurring twice.
    """
    leaves = {k: v.clone().requires_grad_(True) for k, v in floats.items()}
    y = fn(**leaves, **ints)
    for k, v in list(floats.items()) + list(ints.items()):
        record(f, f'{name}/{k}', v)
    record(f, f'{name}/y', y, ['expr ' + type(y.grad_fn).__name__])
    if renorms:
        record(f, f'{name}/w_after', leaves['w'])
    g = torch.randn(y.shape)
    record(f, f'{name}/g', g)
    grads = torch.autograd.grad(y, list(leaves.values()), g, allow_unused=True)
    for k, d in zip(leaves.keys(), grads):
        if by_freq and k == 'w':
            counts = torch.bincount(ints['idx'].reshape(-1), minlength=d.shape[0]).clamp(min=1)
            d = d / counts.unsqueeze(1).to(d.dtype)
        record(f, f'{name}/d{k}', d if d is not None else torch.zeros_like(floats[k]))


def table(n, norms=None):
    """An n x 19 table; with norms, row i rescaled to 2-norm norms[i] (rows above and below a max_norm)."""
    w = torch.randn(n, 19)
    if norms is not None:
        w = w / w.norm(dim=1, keepdim=True) * torch.tensor(norms).unsqueeze(1)
    return w


def main():
    idx = torch.tensor([[1, 3, 3, 7], [0, 9, 1, 3]])
    norms = [0.5, 2.0, 0.9, 3.0, 1.0, 0.2, 4.0, 1.5, 0.7, 2.5]
    with open(os.path.join(OUT, 'embedding.txt'), 'w') as f:
        # nn.Embedding's options
        row(f, 'emb_freq', lambda w, idx: F.embedding(idx, w, scale_grad_by_freq=True), {'w': table(10)}, {'idx': idx})
        row(f, 'emb_freq_pad', lambda w, idx: F.embedding(idx, w, padding_idx=3, scale_grad_by_freq=True), {'w': table(10)}, {'idx': idx})
        row(f, 'emb_max_norm', lambda w, idx: F.embedding(idx, w, max_norm=1.2), {'w': table(10, norms)}, {'idx': idx}, True)
        row(f, 'emb_max_norm_p1', lambda w, idx: F.embedding(idx, w, max_norm=6.0, norm_type=1.0), {'w': table(10, norms)}, {'idx': idx}, True)
        row(f, 'emb_max_norm_p3', lambda w, idx: F.embedding(idx, w, max_norm=0.8, norm_type=3.0), {'w': table(10, norms)}, {'idx': idx}, True)
        row(f, 'emb_max_norm_pinf', lambda w, idx: F.embedding(idx, w, max_norm=0.4, norm_type=math.inf), {'w': table(10, norms)}, {'idx': idx},
            True)
        row(f, 'emb_max_norm_freq_pad', lambda w, idx: F.embedding(idx, w, padding_idx=1, max_norm=1.2, scale_grad_by_freq=True),
            {'w': table(10, norms)}, {'idx': idx}, True)

        # nn.EmbeddingBag: [B, N] inputs
        x2 = torch.tensor([[1, 3, 3, 7, 2], [0, 9, 1, 3, 11], [5, 5, 5, 6, 4]])
        for mode in ('sum', 'mean', 'max'):
            row(f, f'bag_{mode}_2d', lambda w, idx, mode=mode: F.embedding_bag(idx, w, mode=mode), {'w': table(12)}, {'idx': x2})
        row(f, 'bag_sum_2d_psw', lambda w, psw, idx: F.embedding_bag(idx, w, mode='sum', per_sample_weights=psw),
            {'w': table(12), 'psw': torch.randn(3, 5)}, {'idx': x2})
        row(f, 'bag_mean_2d_freq', lambda w, idx: F.embedding_bag(idx, w, mode='mean'), {'w': table(12)}, {'idx': x2}, by_freq=True)
        for mode in ('sum', 'mean', 'max'):
            row(f, f'bag_{mode}_2d_pad', lambda w, idx, mode=mode: F.embedding_bag(idx, w, mode=mode, padding_idx=3), {'w': table(12)},
                {'idx': x2})

        # 1-d input with offsets: an empty bag (offsets 3, 3) and bags of several lengths
        x1 = torch.tensor([1, 3, 3, 7, 2, 0, 9, 1, 3, 11, 5])
        off = torch.tensor([0, 3, 3, 7])
        for mode in ('sum', 'mean', 'max'):
            row(f, f'bag_{mode}_off', lambda w, idx, off, mode=mode: F.embedding_bag(idx, w, off, mode=mode), {'w': table(12)},
                {'idx': x1, 'off': off})
            # include_last_offset: offsets end with the last bag's end, the input's length (CSR; torch 1.13 with a shorter
            # last offset leaves the rest out of the forward but not of the backward, and max mode corrupts its heap: refused)
            row(f, f'bag_{mode}_last', lambda w, idx, off, mode=mode: F.embedding_bag(idx, w, off, mode=mode, include_last_offset=True),
                {'w': table(12)}, {'idx': x1, 'off': torch.tensor([0, 2, 2, 6, 11])})
            # padding_idx 3: left out of every mode; bag [3, 3] holds only padding
            row(f, f'bag_{mode}_off_pad', lambda w, idx, off, mode=mode: F.embedding_bag(idx, w, off, mode=mode, padding_idx=3),
                {'w': table(12)}, {'idx': torch.tensor([1, 3, 3, 3, 3, 0, 9, 3, 3, 11, 5]), 'off': torch.tensor([0, 1, 3, 5, 5])})
        row(f, 'bag_sum_off_psw', lambda w, psw, idx, off: F.embedding_bag(idx, w, off, mode='sum', per_sample_weights=psw),
            {'w': table(12), 'psw': torch.randn(11)}, {'idx': x1, 'off': off})
        row(f, 'bag_sum_off_freq', lambda w, idx, off: F.embedding_bag(idx, w, off, mode='sum'),
            {'w': table(12)}, {'idx': x1, 'off': off}, by_freq=True)
        bag_norms = norms + [0.3, 5.0]
        row(f, 'bag_mean_off_max_norm', lambda w, idx, off: F.embedding_bag(idx, w, off, mode='mean', max_norm=1.2),
            {'w': table(12, bag_norms)}, {'idx': x1, 'off': off}, True)
        row(f, 'bag_max_2d_max_norm', lambda w, idx: F.embedding_bag(idx, w, mode='max', max_norm=1.2, norm_type=1.0),
            {'w': table(12, bag_norms)}, {'idx': x2}, True)


if __name__ == '__main__':
    main()
