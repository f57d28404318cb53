#!/usr/bin/python3
"""Golden file of the indexing and normalisation cases beyond the op table's rows (IndexNormOpsTest: padding_idx, indices
smaller than the input, one_hot's int64 output, layer_norm with a bias only), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_index_norm_golden.py
Writes src/test/resources/golden/index_norm.txt in Golden.java's format: for each row its inputs (<row>/x, /w, /b,
/idx, /src), the output <row>/y (its expr line holds the grad_fn name PyTorch gives it), the incoming gradient
<row>/g, and the gradients of sum(y * g) with respect to each float input (<row>/dx, /dw, /db, /dsrc).

Row lengths of 37 and 61 floats are not multiples of any vector width: every kernel's scalar tail runs.
"""
import os

import torch

torch.manual_seed(2026)
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


def row(f, name, fn, floats, ints=None):
    """floats: name -> tensor (gradients taken for each); ints: name -> int64 tensor."""
    ints = ints or {}
    leaves = {k: v.clone().requires_grad_(True) for k, v in floats.items()}
    y = fn(**leaves, **ints)
    for k, v in list(floats.items()) + list(ints.items()):
        record(f, f'{name}/{k}', v)
    record(f, f'{name}/y', y, ['expr ' + (type(y.grad_fn).__name__ if y.grad_fn is not None else 'None')])
    if y.dtype != torch.float32:
        return
    g = torch.randn(y.shape)
    record(f, f'{name}/g', g)
    grads = torch.autograd.grad(y, list(leaves.values()), g, allow_unused=True)
    for k, d in zip(leaves.keys(), grads):
        record(f, f'{name}/d{k}', d if d is not None else torch.zeros_like(floats[k]))


def main():
    with open(os.path.join(OUT, 'index_norm.txt'), 'w') as f:
        row(f, 'layer_norm_plain', lambda x: F.layer_norm(x, (61,), None, None, 1e-3),
            {'x': torch.randn(4, 61) * 3})
        row(f, 'layer_norm_bias_only', lambda x, b: F.layer_norm(x, (8,), None, b, 1e-5),
            {'x': torch.randn(5, 8), 'b': torch.randn(8)})
        idx = torch.tensor([[1, 3, 3], [0, 9, 1]])
        row(f, 'embedding_padding', lambda w, idx: F.embedding(idx, w, padding_idx=3), {'w': torch.randn(10, 7)}, {'idx': idx})
        row(f, 'gather_smaller', lambda x, idx: x.gather(0, idx), {'x': torch.randn(4, 6)}, {'idx': torch.randint(0, 4, (2, 3))})
        row(f, 'scatter_add_smaller', lambda x, src, idx: x.scatter_add(0, idx, src),
            {'x': torch.randn(4, 6), 'src': torch.randn(2, 3)}, {'idx': torch.randint(0, 4, (2, 3))})
        row(f, 'one_hot', lambda idx: F.one_hot(idx, 6), {}, {'idx': torch.tensor([0, 5, 2, 2, 1])})
        row(f, 'one_hot_inferred', lambda idx: F.one_hot(idx), {}, {'idx': torch.tensor([[3, 0], [1, 1]])})


if __name__ == '__main__':
    main()
