#!/usr/bin/python3
"""Golden files for the tensor core, computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_tensor_golden.py
Writes src/test/resources/golden/{format,ops}.txt. The Java tests only read these files.

Format (one record per block, blank-line separated):
  case <name>
  dtype float32|int64
  shape <d0> <d1> ...      (empty for 0-d)
  data <v0> <v1> ...       (row-major; each float32 value with 9 significant digits, which round-trips exactly)
  [repr <line>]...         (format.txt: the tensor's repr, line by line)
  [expr <text>]            (ops.txt: the operation, see OpsGoldenTest)
"""
import math
import os
import torch

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden')


def record(f, name, t, extra):
    t = t.detach()
    f.write(f'case {name}\n')
    f.write(f'dtype {"int64" if t.dtype == torch.int64 else "float32"}\n')
    f.write('shape ' + ' '.join(str(s) for s in t.shape) + '\n')
    vals = t.reshape(-1).tolist()
    # %.9g round-trips every float32 exactly and keeps the files small
    f.write('data ' + ' '.join(('%.9g' % v) if t.dtype != torch.int64 else str(v) for v in vals) + '\n')
    for line in extra:
        f.write(line + '\n')
    f.write('\n')


def format_cases():
    r = torch.randn
    cases = {
        'fixed_2x4': torch.tensor([[5., 2., -1., 3.], [0., -2., -3., -2.]]).log_softmax(1),
        'int_mode': torch.tensor([0., 0., 0., 0., 0., 0.]),
        'int_mode_mixed': torch.tensor([1., -20., 300., 0.]),
        'grad_like': torch.tensor([-0.0193, -0.0510, -0.0725, -0.0509, -0.0630, -0.0162]),
        'scalar': torch.tensor(28.3205),
        'scalar_int': torch.tensor(3.),
        'sci_small': torch.tensor([1e-5, 0.5, 2.0]),
        'sci_ratio': torch.tensor([1.0, 12345.678]),
        'sci_big': torch.tensor([1.5e9, -2.0]),
        'int_sci': torch.tensor([1., 1e9]),
        'nonfinite': torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5]),
        'nonfinite_int': torch.tensor([float('nan'), 2., -3.]),
        'all_nan': torch.tensor([float('nan'), float('nan')]),
        'rounding_ties': torch.tensor([0.00005, 0.00015, 1.00005, 0.12345, 2.5]),
        'neg_zero': torch.tensor([-0.0, 1.5]),
        'randn_3d': r(2, 3, 4),
        'wide_row': r(30),
        'wide_2d': r(3, 25),
        'summarized_1d': torch.arange(2000, dtype=torch.float32) / 7,
        'summarized_2d': r(40, 50),
        'summarized_3d': r(11, 12, 13),
        'summarized_short_dim': r(2, 1001),
        'column': r(5, 1),
        'long_1d': torch.arange(0, 10),
        'long_2d': torch.tensor([[1, -200], [30000, 4]]),
        'long_scalar': torch.tensor(7),
        'long_summarized': torch.arange(0, 3000),
        'empty_1d': torch.zeros(0),
        'empty_2d': torch.zeros(0, 3),
        'empty_3d': torch.zeros(2, 0, 4),
        'one_element': torch.tensor([0.25]),
        'big_values': torch.tensor([123456.0, 654321.0]),
    }
    with open(os.path.join(OUT, 'format.txt'), 'w') as f:
        for name, t in cases.items():
            record(f, name, t, ['repr ' + line for line in repr(t).split('\n')])


def ops_cases():
    x = torch.randn(3, 4)
    y = torch.randn(4)
    col = torch.randn(3, 1)
    p = torch.rand(3, 4) + 0.1
    a3 = torch.randn(2, 3, 4)
    b3 = torch.randn(2, 4, 5)
    m = torch.randn(4, 2)
    v = torch.randn(4)
    ties = torch.tensor([[1., 3., 3., 2.], [5., 5., float('nan'), 0.], [-1., -1., -1., -1.]])
    b2 = torch.randn(2)
    inputs = {'x': x, 'y': y, 'col': col, 'p': p, 'a3': a3, 'b3': b3, 'm': m, 'v': v, 'ties': ties, 'b2': b2}
    ops = {
        'x.add(y)': x + y, 'x.sub(col)': x - col, 'x.mul(y)': x * y, 'x.div(p)': x / p,
        'col.add(y)': col + y, 'x.add(2.5)': x + 2.5, 'x.sub(1.5)': x - 1.5, 'x.mul(-3)': x * -3,
        'x.div(7)': x / 7, 'x.rsub(1)': 1 - x, 'x.rdiv(2)': 2 / x,
        'x.neg()': -x, 'x.exp()': x.exp(), 'p.log()': p.log(), 'p.sqrt()': p.sqrt(), 'x.abs()': x.abs(),
        'x.pow(2)': x.pow(2), 'p.pow(0.5)': p.pow(0.5), 'p.pow(y)': p.pow(y), 'x.relu()': x.relu(),
        'x.sigmoid()': x.sigmoid(), 'x.tanh()': x.tanh(), 'x.clamp(-0.5,0.5)': x.clamp(-0.5, 0.5),
        'x.maximum(y)': torch.maximum(x, y), 'x.minimum(col)': torch.minimum(x, col),
        'x.eq(x)': x.eq(x).float(), 'x.gt(y)': x.gt(y).float(), 'x.lt(0)': x.lt(0).float(),
        'x.sum()': x.sum(), 'x.sum(0)': x.sum(0), 'x.sum(1,true)': x.sum(1, keepdim=True),
        'a3.sum(1)': a3.sum(1), 'x.mean()': x.mean(), 'x.mean(1)': x.mean(1), 'a3.mean(-1,true)': a3.mean(-1, keepdim=True),
        'x.max()': x.max(), 'x.min()': x.min(), 'ties.max(1).values': ties.max(1).values,
        'ties.max(1).indices': ties.max(1).indices, 'ties.min(1).values': ties.min(1).values,
        'ties.min(1).indices': ties.min(1).indices, 'ties.max(0,true).indices': ties.max(0, keepdim=True).indices,
        'x.argmax()': x.argmax(), 'x.argmax(1)': x.argmax(1), 'x.argmin(0)': x.argmin(0),
        'x.var()': x.var(), 'x.var(1)': x.var(1), 'x.std()': x.std(), 'x.std(0,false,false)': x.std(0, unbiased=False),
        'a3.var(1,true,true)': a3.var(1, unbiased=True, keepdim=True),
        'x.mm(m)': x.mm(m), 'a3.bmm(b3)': a3.bmm(b3), 'a3.matmul(m)': a3.matmul(m), 'v.matmul(v)': v.matmul(v),
        'x.matmul(v)': x.matmul(v), 'v.matmul(m)': v.matmul(m), 'x.t().contiguous()': x.t().contiguous(),
        'x.t().mm(x)': x.t().mm(x), 'a3.permute(2,0,1).sum(2)': a3.permute(2, 0, 1).sum(2),
        'a3.transpose(0,2).add(1)': a3.transpose(0, 2) + 1, 'x.slice(1,1,4,2)': x[:, 1:4:2].contiguous(),
        'addmm(b2,x,m)': torch.addmm(b2, x, m), 'addmm(col,x,m,0.5,2)': torch.addmm(col, x, m, beta=0.5, alpha=2),
        'addmm(b2,x,m.t().t())': torch.addmm(b2, x, m.t().contiguous().t()),
        'softmax(x,1)': x.softmax(1), 'log_softmax(a3,0)': a3.log_softmax(0),
    }
    with open(os.path.join(OUT, 'ops.txt'), 'w') as f:
        for name, t in inputs.items():
            record(f, 'input ' + name, t, [])
        for expr, t in ops.items():
            record(f, 'op', t, ['expr ' + expr])


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    format_cases()
    ops_cases()
