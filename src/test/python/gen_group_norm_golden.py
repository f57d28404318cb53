#!/usr/bin/python3
"""Golden file of group_norm and instance_norm (GroupNormTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_group_norm_golden.py
Writes src/test/resources/golden/group_norm.txt in Golden.java's format (gen_index_norm_golden.py's rows): for each row
its inputs (<row>/x, /w, /b), the output <row>/y (its expr line holds the grad_fn name PyTorch gives it), the incoming
gradient <row>/g, and the gradients of sum(y * g) with respect to each float input (<row>/dx, /dw, /db).

The large-mean row (x around 1e4) records float64 results of the same float32 inputs: torch's own float32 group_norm is
up to 2e-3 off in y and 2e-2 in dweight there (its backward's E[g x] - mean E[g] cancels), so the exact answer is the
reference. The instance_norm module rows record the running statistics after each training step and an eval output.
Spatial sizes of 25, 7 and 61 floats are not multiples of any vector width: every kernel's scalar tail runs.
"""
import os

import torch

torch.manual_seed(2027)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden')
F = torch.nn.functional


def record(f, name, t, extra=()):
    t = t.detach()
    dtype = 'int64' if t.dtype == torch.int64 else 'float32'
    t = t.float() if dtype == 'float32' else t
    f.write(f'case {name}\ndtype {dtype}\nshape {" ".join(str(s) for s in t.shape)}\n')
    values = t.reshape(-1).tolist()
    f.write('data ' + ' '.join(str(v) if dtype == 'int64' else '%.9g' % v for v in values) + '\n')
    for line in extra:
        f.write(line + '\n')
    f.write('\n')


def row(f, name, fn, floats, double=False, expr=None):
    """floats: name -> tensor (gradients taken for each); double: compute in float64 from the float32 inputs; expr: the
    grad_fn name to record instead of y's."""
    leaves = {k: (v.double() if double else v).clone().requires_grad_(True) for k, v in floats.items()}
    y = fn(**leaves)
    for k, v in floats.items():
        record(f, f'{name}/{k}', v)
    record(f, f'{name}/y', y, ['expr ' + (expr or type(y.grad_fn).__name__)])
    g = torch.randn(y.shape)
    record(f, f'{name}/g', g)
    grads = torch.autograd.grad(y, list(leaves.values()), g.double() if double else g, allow_unused=True)
    for k, d in zip(leaves.keys(), grads):
        record(f, f'{name}/d{k}', d if d is not None else torch.zeros_like(floats[k]))


def group_rows(f):
    x = torch.randn(2, 6, 5, 5) * 2 + 0.5
    w = torch.randn(6)
    b = torch.randn(6)
    for groups in (1, 2, 3, 6):
        row(f, f'gn_2x6x5x5_g{groups}', lambda x, w, b, groups=groups: F.group_norm(x, groups, w, b, 1e-5), {'x': x, 'w': w, 'b': b})
    row(f, 'gn_3x4x7_g2', lambda x, w, b: F.group_norm(x, 2, w, b, 1e-5),
        {'x': torch.randn(3, 4, 7) * 3 - 1, 'w': torch.randn(4), 'b': torch.randn(4)})
    row(f, 'gn_2x4_g2', lambda x, w, b: F.group_norm(x, 2, w, b, 1e-5), {'x': torch.randn(2, 4), 'w': torch.randn(4), 'b': torch.randn(4)})
    row(f, 'gn_2x6x61_g3_plain_eps1e-2', lambda x: F.group_norm(x, 3, None, None, 1e-2), {'x': torch.randn(2, 6, 61) * 0.2})
    # torch 1.13's backward of group_norm with a bias and no weight fails ('tensor does not have a device'): the same
    # function as group_norm without affine plus the bias per channel
    row(f, 'gn_3x8x3x3_g4_bias_only_eps0.5', lambda x, b: F.group_norm(x, 4, None, None, 0.5) + b[:, None, None],
        {'x': torch.randn(3, 8, 3, 3), 'b': torch.randn(8)}, expr='NativeGroupNormBackward0')
    row(f, 'gn_2x4x2x3x5_g2_weight_only', lambda x, w: F.group_norm(x, 2, w, None, 1e-5), {'x': torch.randn(2, 4, 2, 3, 5), 'w': torch.randn(4)})
    row(f, 'gn_large_mean_f64', lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5),
        {'x': torch.randn(2, 6, 5, 5) + 1e4, 'w': torch.randn(6), 'b': torch.randn(6)}, double=True)
    row(f, 'in_3x4x7', lambda x, w, b: F.instance_norm(x, None, None, w, b, True, 0.1, 1e-5),
        {'x': torch.randn(3, 4, 7) * 2 + 1, 'w': torch.randn(4), 'b': torch.randn(4)})
    row(f, 'in_2x3x5x5_plain', lambda x: F.instance_norm(x), {'x': torch.randn(2, 3, 5, 5)})


def module_rows(f):
    """InstanceNorm2d(4, affine=True, track_running_stats=True): two training steps, then eval; InstanceNorm1d unbatched."""
    m = torch.nn.InstanceNorm2d(4, eps=1e-4, momentum=0.3, affine=True, track_running_stats=True)
    with torch.no_grad():
        m.weight.copy_(torch.randn(4))
        m.bias.copy_(torch.randn(4))
    record(f, 'in2d/w', m.weight)
    record(f, 'in2d/b', m.bias)
    m.train()
    for step in range(2):
        x = (torch.randn(3, 4, 5, 6) * (step + 1) + step).requires_grad_(True)
        y = m(x)
        record(f, f'in2d/train{step}/x', x)
        record(f, f'in2d/train{step}/y', y)
        g = torch.randn(y.shape)
        record(f, f'in2d/train{step}/g', g)
        dx, dw, db = torch.autograd.grad(y, [x, m.weight, m.bias], g)
        record(f, f'in2d/train{step}/dx', dx)
        record(f, f'in2d/train{step}/dw', dw)
        record(f, f'in2d/train{step}/db', db)
        record(f, f'in2d/train{step}/running_mean', m.running_mean)
        record(f, f'in2d/train{step}/running_var', m.running_var)
    record(f, 'in2d/num_batches_tracked', m.num_batches_tracked)
    m.eval()
    x = torch.randn(2, 4, 5, 6) * 2
    record(f, 'in2d/eval/x', x)
    record(f, 'in2d/eval/y', m(x))
    record(f, 'in2d/eval_unbatched/x', x[1])
    record(f, 'in2d/eval_unbatched/y', m(x[1]))
    u = torch.nn.InstanceNorm1d(3, track_running_stats=True)
    xu = torch.randn(3, 9) * 3 + 2
    record(f, 'in1d_unbatched/x', xu)
    record(f, 'in1d_unbatched/y', u(xu))
    record(f, 'in1d_unbatched/running_mean', u.running_mean)
    record(f, 'in1d_unbatched/running_var', u.running_var)


def main():
    with open(os.path.join(OUT, 'group_norm.txt'), 'w') as f:
        group_rows(f)
        module_rows(f)


if __name__ == '__main__':
    main()
