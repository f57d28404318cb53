#!/usr/bin/python3
"""Golden file of the tensor formatter, computed by PyTorch (Debian's python3-torch 1.13), and the record format
every generator here writes (the op table's goldens: gen_op_table_golden.py).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_tensor_golden.py
Writes src/test/resources/golden/format.txt. The Java tests only read these files.

Format (one record per block, blank-line separated):
  case <name>
  dtype float32|int64
  shape <d0> <d1> ...      (empty for 0-d)
  data <v0> <v1> ...       (row-major; each float32 value with 9 significant digits, which round-trips exactly)
  [repr <line>]...         (format.txt: the tensor's repr, line by line)
  [expr <text>]            (op_table.txt: the output's grad_fn name)
"""
import math
import os
import torch

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden')


def record(f, name, t, extra):
    t = t.detach()
    f.write(f'case {name}\n')
    dtype = {torch.int64: 'int64', torch.bool: 'bool'}.get(t.dtype, 'float32')
    f.write(f'dtype {dtype}\n')
    f.write('shape ' + ' '.join(str(s) for s in t.shape) + '\n')
    vals = t.reshape(-1).tolist()
    # %.9g round-trips every float32 exactly and keeps the files small; bools as 0 and 1
    f.write('data ' + ' '.join(('%.9g' % v) if dtype == 'float32' else str(int(v)) for v in vals) + '\n')
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


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    format_cases()
