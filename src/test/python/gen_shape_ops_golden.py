#!/usr/bin/python3
"""Golden file of cat, stack, split, chunk, tril, triu, masked_fill, where and clip_grad_norm_ (ShapeOpsTest,
ClipGradTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_shape_ops_golden.py
Writes src/test/resources/golden/shape_ops.txt in Golden.java's format (record() of gen_tensor_golden.py).

Op cases, for each case <name>:
  <name>/in<i>   the inputs, as stored (a case's function may transpose one first: the Java test does the same);
                 masks and conditions are float32 0/1 records, turned into bool tensors for PyTorch
  <name>/out<j>  the outputs (split and chunk have several); the expr line holds PyTorch's grad_fn name
  <name>/g<j>    the gradient fed to output j
  <name>/d<i>    the gradient of sum_j(out_j * g_j) with respect to differentiable input i
clip_grad_norm_ cases, clip/<name>/...: p<i>/grad (the gradients before), p<i>/clipped (after), total (the returned
  norm; its repr line holds max_norm and norm_type as Python prints them).

Sizes are odd (7, 9, 13, 37 elements per row) so vector loops run their scalar tails at every width.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_tensor_golden import record  # noqa: E402

torch.manual_seed(1613)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'golden')


def mask(*shape, p=0.5):
    return (torch.rand(*shape) < p).float()


# name -> (function of the inputs, inputs, which inputs are differentiable)
def cases():
    r = torch.randn
    c = {}
    c['cat_dim0'] = (lambda a, b: torch.cat([a, b], 0), [r(2, 3), r(4, 3)], [True, True])
    # a transposed (strided) third input, a negative dim
    c['cat_neg_dim'] = (lambda a, b, t: torch.cat([a, b, t.transpose(1, 2)], -2), [r(2, 3, 5), r(2, 1, 5), r(2, 5, 4)], [True, True, True])
    c['cat_last_dim'] = (lambda a, b: torch.cat((a, b), -1), [r(3, 7), r(3, 9)], [True, True])
    c['cat_skips_empty'] = (lambda e, a: torch.cat([e, a], 1), [torch.zeros(0), r(2, 3)], [False, True])
    c['cat_one_input_no_grad'] = (lambda a, b: torch.cat([a, b], 1), [r(2, 2), r(2, 3)], [False, True])
    c['stack_dim0'] = (lambda a, b, d: torch.stack([a, b, d]), [r(2, 3), r(2, 3), r(2, 3)], [True, True, True])
    c['stack_last_dim'] = (lambda a, t: torch.stack([a, t.t()], -1), [r(3, 13), r(13, 3)], [True, True])
    c['stack_middle'] = (lambda a, b: torch.stack([a, b], 1), [r(2, 3, 4), r(2, 3, 4)], [True, True])
    c['split_2'] = (lambda x: x.split(2), [r(5, 4)], [True])
    c['split_sizes_dim1'] = (lambda x: x.split([2, 5], 1), [r(3, 7)], [True])
    c['split_larger_than_dim'] = (lambda x: x.split(10, -1), [r(2, 7)], [True])
    c['chunk_3_dim1'] = (lambda x: x.chunk(3, 1), [r(4, 5)], [True])
    c['chunk_more_than_size'] = (lambda x: x.chunk(6), [r(4, 3)], [True])
    c['tril'] = (lambda x: x.tril(), [r(2, 4, 5)], [True])
    c['tril_minus_1'] = (lambda x: x.tril(-1), [r(3, 6)], [True])
    c['tril_plus_2'] = (lambda x: x.tril(2), [r(6, 3)], [True])
    c['tril_wide_rows'] = (lambda x: x.tril(1), [r(3, 37)], [True])
    c['tril_transposed'] = (lambda t: t.transpose(0, 1).tril(), [r(5, 4)], [True])
    c['triu'] = (lambda x: x.triu(), [r(2, 4, 5)], [True])
    c['triu_plus_1'] = (lambda x: x.triu(1), [r(3, 6)], [True])
    c['triu_minus_2'] = (lambda x: x.triu(-2), [r(2, 2, 6, 3)], [True])
    c['triu_wide_rows'] = (lambda x: x.triu(-1), [r(3, 37)], [True])
    c['triu_beyond'] = (lambda x: x.triu(9), [r(3, 4)], [True])
    c['masked_fill'] = (lambda x, m: x.masked_fill(m.bool(), 2.5), [r(4, 37), mask(4, 37)], [True, False])
    c['masked_fill_neg_inf'] = (lambda x, m: x.masked_fill(m.bool(), float('-inf')), [r(3, 9), mask(3, 9)], [True, False])
    # causal attention scores: the mask is broadcast over a batch dim
    c['masked_fill_causal'] = (lambda x, m: x.masked_fill(m.bool(), float('-inf')).softmax(-1),
                               [r(2, 5, 5), torch.ones(5, 5).triu(1)], [True, False])
    c['masked_fill_broadcast_both'] = (lambda x, m: x.masked_fill(m.bool(), -1.0), [r(2, 1, 7), mask(3, 7)], [True, False])
    c['where'] = (lambda cnd, x, y: torch.where(cnd.bool(), x, y), [mask(4, 37), r(4, 37), r(4, 37)], [False, True, True])
    c['where_broadcast'] = (lambda cnd, x, y: torch.where(cnd.bool(), x, y), [mask(3, 1), r(1, 9), r(3, 9)], [False, True, True])
    c['where_scalar_like'] = (lambda cnd, x, y: torch.where(cnd.bool(), x, y), [mask(5, 13), r(5, 13), r(1)], [False, True, True])
    c['where_row_condition'] = (lambda cnd, x, y: torch.where(cnd.bool(), x, y), [mask(4, 1), r(4, 9), r(1, 9)], [False, True, True])
    return c


def write_case(f, name, fn, inputs, diff):
    ins = [t.clone().requires_grad_(d) for t, d in zip(inputs, diff)]
    outs = fn(*ins)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    for i, t in enumerate(ins):
        record(f, f'{name}/in{i}', t, [])
    gs = [torch.randn(o.shape) for o in outs]
    for j, o in enumerate(outs):
        record(f, f'{name}/out{j}', o, ['expr ' + type(o.grad_fn).__name__])
        record(f, f'{name}/g{j}', gs[j], [])
    wrt = [t for t, d in zip(ins, diff) if d]
    grads = torch.autograd.grad(outs, wrt, gs, allow_unused=True)
    k = 0
    for i, d in enumerate(diff):
        if d:
            g = grads[k] if grads[k] is not None else torch.zeros_like(ins[i])
            record(f, f'{name}/d{i}', g, [])
            k += 1


# name -> (gradient shapes, max_norm, norm_type, scale of the gradients)
CLIP = {
    'l2_clipped': ([(3, 4), (5,), (2, 3, 3)], 1.0, 2.0, 1.0),
    'l2_not_clipped': ([(3, 4), (5,)], 100.0, 2.0, 1.0),
    'inf_clipped': ([(3, 4), (7,)], 0.5, math.inf, 1.0),
    'l1_clipped': ([(3, 4), (7,)], 2.0, 1.0, 1.0),
    'l3_clipped': ([(9,), (2, 5)], 0.25, 3.0, 1.0),
    'l2_large_values': ([(37,), (4, 4)], 1.0, 2.0, 1e15),
}


def write_clip(f, name, shapes, max_norm, norm_type, scale):
    params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape) * scale
    for i, p in enumerate(params):
        record(f, f'clip/{name}/p{i}/grad', p.grad, [])
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    for i, p in enumerate(params):
        record(f, f'clip/{name}/p{i}/clipped', p.grad, [])
    record(f, f'clip/{name}/total', total, [f'repr {max_norm!r} {norm_type!r}'])


def main():
    with open(os.path.join(OUT, 'shape_ops.txt'), 'w') as f:
        for name, (fn, inputs, diff) in cases().items():
            write_case(f, name, fn, inputs, diff)
        for name, (shapes, max_norm, norm_type, scale) in CLIP.items():
            write_clip(f, name, shapes, max_norm, norm_type, scale)


if __name__ == '__main__':
    main()
