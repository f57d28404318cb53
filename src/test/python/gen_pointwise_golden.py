#!/usr/bin/python3
"""Golden file of the pointwise op table (PointwiseOpTableTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_pointwise_golden.py
Writes src/test/resources/golden/pointwise.txt in Golden.java's format: for each op row four records,
<row>/x (input), <row>/y (output), <row>/g (incoming gradient) and <row>/dx (the gradient of sum(y * g) with
respect to x); the x record's expr line holds the grad_fn name PyTorch gives the output.

Inputs: 61 values per row (not a multiple of any vector width, so every row has a scalar tail): an even grid over
the row's domain plus points of interest (tails, zero).
"""
import os

import torch

torch.manual_seed(2026)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden')
F = torch.nn.functional

# row -> (function, low, high, extra points)
ROWS = {
    'neg': (torch.neg, -4, 4, []),
    'exp': (torch.exp, -4, 4, [-20.0, 10.0]),
    'log': (torch.log, 0.1, 4, [1.0, 1e-3]),
    'sqrt': (torch.sqrt, 0.1, 4, [1.0, 1e-3]),
    'abs': (torch.abs, -4, 4, [-1e-3]),
    'pow_2_5': (lambda x: torch.pow(x, 2.5), 0.1, 4, [1.0]),
    'relu': (torch.relu, -4, 4, [-1e-3, 1e-3]),
    'sigmoid': (torch.sigmoid, -4, 4, [-30.0, 30.0]),
    'tanh': (torch.tanh, -4, 4, [-12.0, 12.0]),
    'gelu': (F.gelu, -6, 6, [-12.0, -9.0, -5.0, -3.0, 3.0, 5.0, 9.0]),
    'gelu_tanh': (lambda x: F.gelu(x, approximate='tanh'), -6, 6, [-12.0, -9.0, -5.0, -3.0, 3.0, 5.0, 9.0]),
    'silu': (F.silu, -6, 6, [-30.0, -12.0, 12.0, 30.0]),
}
N = 61


def record(f, name, t, extra=()):
    t = t.detach().reshape(-1)
    f.write(f'case {name}\ndtype float32\nshape {t.numel()}\n')
    f.write('data ' + ' '.join('%.9g' % v for v in t.tolist()) + '\n')
    for line in extra:
        f.write(line + '\n')
    f.write('\n')


def main():
    with open(os.path.join(OUT, 'pointwise.txt'), 'w') as f:
        for name, (fn, lo, hi, extra) in ROWS.items():
            grid = torch.linspace(lo, hi, N - len(extra))
            x = torch.cat([grid, torch.tensor(extra, dtype=torch.float32)]).requires_grad_(True)
            y = fn(x)
            g = torch.randn(N)
            (dx,) = torch.autograd.grad(y, x, g)
            record(f, name + '/x', x, ['expr ' + type(y.grad_fn).__name__])
            record(f, name + '/y', y)
            record(f, name + '/g', g)
            record(f, name + '/dx', dx)


if __name__ == '__main__':
    main()
