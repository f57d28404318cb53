#!/usr/bin/python3
"""Goldens of the op table (OpTableTest, rows in OpInfo.java), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_op_table_golden.py
Writes src/test/resources/golden/op_table.txt in Golden.java's format (described in gen_tensor_golden.py). Per row:
  <row>/in0, <row>/in1, ...  the sample inputs, in the order the Java row's lambda takes them (float32)
  <row>/y                    the output; its expr line is PyTorch's grad_fn name for it, or None (forward-only rows)
  <row>/g                    differentiable rows: the incoming gradient, random, of y's shape
  <row>/d0, <row>/d1, ...    differentiable rows: the gradient of sum(y * g) with respect to each input

Adding an op: add a row to ROWS below, named like its Java row in OpInfo.java and computing the same thing with the
same inputs (same shapes, same order), then run this script. Each row draws its inputs from a generator seeded by
its own name, so adding or changing a row leaves every other row's values (and its lines in op_table.txt) unchanged.

Shapes are small (at most 64 elements a tensor) but several elementwise rows have 61 or 57 elements, or rows of 19:
not a multiple of any vector width, so the vector loop and the scalar tail both run at 4, 8 and 16 float lanes.
"""
import os
import zlib

import torch

from gen_tensor_golden import OUT, record

F = torch.nn.functional


# ---- sample inputs: each is a function of the row's random generator ----

def randn(*shape):
    return lambda gen: torch.randn(*shape, generator=gen)


def uniform(lo, hi, *shape):
    """Uniform in [lo, hi): positive-only operands (log, sqrt, a divisor, a pow base)."""
    return lambda gen: torch.rand(*shape, generator=gen) * (hi - lo) + lo


def grid(lo, hi, extra=()):
    """The pointwise rows' 61 values: an even grid over the row's domain plus points of interest (tails, zero)."""
    return lambda gen: torch.cat([torch.linspace(lo, hi, 61 - len(extra)), torch.tensor(extra, dtype=torch.float32)])


def integers(lo, hi, *shape, nan_at=None):
    """Small integers as floats, so comparisons see equal elements (and a NaN, which equals nothing)."""
    def make(gen):
        t = torch.randint(lo, hi, shape, generator=gen).float()
        if nan_at is not None:
            t.view(-1)[nan_at] = float('nan')
        return t
    return make


def fixed(values):
    return lambda gen: torch.tensor(values, dtype=torch.float32)


# ties and a NaN for the reductions that return an index: PyTorch's choice among equal values, and NaN wins
TIES = fixed([[1., 3., 3., 2.], [5., 5., float('nan'), 0.], [-1., -1., -1., -1.]])


# an index into dim 1 of a [3, 5] tensor, with repeats (gather reads one element twice; scatter_add adds twice)
IDX_3x4 = torch.tensor([[0, 4, 4, 2], [1, 3, 2, 2], [0, 1, 1, 4]])


class Row:
    def __init__(self, name, fn, *inputs, grad=True):
        self.name, self.fn, self.inputs, self.grad = name, fn, inputs, grad


def in_place(op):
    """An in-place op on a non-leaf (x * 1), so autograd must rebase its history, like the Java rows."""
    def fn(x, *rest):
        y = x * 1
        op(y, *rest)
        return y
    return fn


def add_into_buffer(x):
    buf = torch.ones(3)
    buf.add_(x)
    return buf * x


def copy_into_buffer(x):
    buf = torch.zeros(2, 3)
    buf.copy_(x)
    return buf * buf


NINF = float('-inf')
INF = float('inf')
NAN = float('nan')
# halves (round: to even), signed zeros, +-0.3, past 2^23 (every float an integer), infinities, NaN
ROUNDING = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 0.0, 0.3, -0.3, -0.7, 8388609.0, -12582913.0, 1e10, INF, NINF, NAN]

# a NaN in each row, no ties: where sort and topk put NaN (the largest value)
NANS_2x4 = fixed([[3., float('nan'), 1., 2.], [0.5, -1., 4., float('nan')]])
# ties (signed zeros among them), two NaNs in a row, a row all equal: torch.sort(stable=True)'s order, the lower
# index first among equals ascending and descending alike, which Lanes' sort, argsort and topk follow
SORT_TIES_3x8 = fixed([[2., 1., 2., -0., 1., 0., 2., 1.], [NAN, 1., NAN, -1., 1., 3., NAN, 3.], [4., 4., 4., 4., 4., 4., 4., 4.]])

def specials_3x19(gen):
    """Normal values with NaN, +-inf and zeros in rows 0 and 1; row 2 all finite and nonzero."""
    t = torch.randn(3, 19, generator=gen)
    t[0, 3], t[0, 7], t[1, 0], t[1, 18], t[0, 12] = NAN, INF, NINF, 0.0, -0.0
    t[:, 5] = 0.0
    t[2, 5] = 1.5
    return t


SPECIALS_3x19 = specials_3x19

EXTREMES = [-12.0, -9.0, -5.0, -3.0, 3.0, 5.0, 9.0]
NAN, INF = float('nan'), float('inf')

ROWS = [
    # unary pointwise: 61 values, the domain's grid plus tails
    Row('neg', torch.neg, grid(-4, 4)),
    Row('exp', torch.exp, grid(-4, 4, [-20.0, 10.0])),
    Row('log', torch.log, grid(0.1, 4, [1.0, 1e-3])),
    Row('sqrt', torch.sqrt, grid(0.1, 4, [1.0, 1e-3])),
    Row('abs', torch.abs, grid(-4, 4, [-1e-3])),
    Row('sin', torch.sin, grid(-7, 7, [-0.0, 1e-20, 1.5707964, 3.1415927, 100.0, -1000.5, 123456.0])),
    Row('cos', torch.cos, grid(-7, 7, [-0.0, 1e-20, 1.5707964, 3.1415927, 100.0, -1000.5, 123456.0])),
    Row('pow_2_5', lambda x: x.pow(2.5), grid(0.1, 4, [1.0])),
    Row('relu', torch.relu, grid(-4, 4, [-1e-3, 1e-3])),
    Row('sigmoid', torch.sigmoid, grid(-4, 4, [-30.0, 30.0])),
    Row('tanh', torch.tanh, grid(-4, 4, [-12.0, 12.0])),
    Row('gelu', F.gelu, grid(-6, 6, EXTREMES)),
    Row('gelu_tanh', lambda x: F.gelu(x, approximate='tanh'), grid(-6, 6, EXTREMES)),
    Row('silu', F.silu, grid(-6, 6, [-30.0, -12.0, 12.0, 30.0])),
    Row('mish', F.mish, grid(-6, 6, [-30.0, -12.0, 12.0, 19.5, 21.0, 30.0, 50.0])),
    Row('erf', torch.erf, grid(-4, 4, [-1e-3, 1e-20, 0.49999997, 0.5, -6.0, 12.0])),
    # the activations PyTorch has beyond relu/gelu/silu/mish: kinks (0, the bounds, +-3) on the grid and in the
    # extras, large and tiny magnitudes, NaN and +-inf (their gradients too: which side of a kink NaN takes)
    Row('expm1', torch.expm1, grid(-4, 4, [0.0, -0.0, 1e-3, -1e-3, 1e-7, -1e-7, 1e-30, -20.0, 80.0, 89.0, NAN, -INF])),
    Row('log1p', torch.log1p, grid(-0.9, 4, [0.0, -0.0, 1e-3, -1e-3, 1e-7, -1e-7, 1e-30, -0.999999, 1e6, INF, NAN])),
    Row('leaky_relu', lambda x: F.leaky_relu(x, 0.01), grid(-4, 4, [0.0, -0.0, -1e-3, 1e-3, -1e-30, 1e30, -1e30, NAN, INF, -INF])),
    Row('leaky_relu_0_2', lambda x: F.leaky_relu(x, 0.2), grid(-4, 4, [-1e-3, 1e-3])),
    Row('elu', F.elu, grid(-6, 6, [0.0, -0.0, -1e-3, 1e-3, -1e-6, -30.0, -100.0, 50.0, NAN, INF, -INF])),
    Row('elu_alpha_0_5', lambda x: F.elu(x, 0.5), grid(-6, 6, [0.0, -1e-3, 1e-3])),
    Row('softplus', F.softplus, grid(-6, 6, [-30.0, -100.0, 19.9, 20.0, 20.5, 30.0, 1e-3, NAN, INF, -INF])),
    Row('softplus_beta_2_threshold_10', lambda x: F.softplus(x, 2, 10), grid(-6, 6, [4.9, 5.0, 5.1, -30.0])),
    Row('hardtanh', F.hardtanh, grid(-4, 4, [0.0, -0.0, -1.0, 1.0, -1e-3, 1e-3, NAN, INF, -INF])),
    Row('hardtanh_m2_3', lambda x: F.hardtanh(x, -2.0, 3.0), grid(-4, 4, [-2.0, 3.0])),
    Row('relu6', F.relu6, grid(-4, 8, [0.0, 6.0, -1e-3, 6.001, NAN, INF, -INF])),
    Row('hardsigmoid', F.hardsigmoid, grid(-6, 6, [-3.0, 3.0, -3.001, 2.999, NAN, INF, -INF])),
    Row('hardswish', F.hardswish, grid(-6, 6, [-3.0, 3.0, -3.001, 2.999, 0.0, 1e30, NAN, INF, -INF])),
    Row('rsqrt', torch.rsqrt, grid(0.1, 4, [1.0, 1e-3, 0.0, 1e30])),
    Row('square', torch.square, grid(-4, 4, [-0.0, 1e20, -1e-30])),
    Row('reciprocal', torch.reciprocal, grid(0.2, 4, [-1.0, -0.25, 0.0, -0.0, 3e38])),
    Row('sign', torch.sign, grid(-4, 4, [-0.0, 0.0, 1e-30, -1e-30, INF, NINF, NAN])),
    Row('floor', torch.floor, grid(-4, 4, ROUNDING)),
    Row('ceil', torch.ceil, grid(-4, 4, ROUNDING)),
    Row('round', torch.round, grid(-4, 4, ROUNDING)),
    Row('trunc', torch.trunc, grid(-4, 4, ROUNDING)),
    Row('clamp', lambda x: x.clamp(-0.5, 0.5), randn(61)),
    Row('clamp_min', lambda x: x.clamp(min=-0.5), randn(61)),
    Row('clamp_max', lambda x: x.clamp(max=0.5), randn(61)),

    # scalar arithmetic
    Row('add_scalar', lambda x: x + 2.5, randn(61)),
    Row('sub_scalar', lambda x: x - 1.5, randn(61)),
    Row('mul_scalar', lambda x: x * -3, randn(61)),
    Row('div_scalar', lambda x: x / 7, randn(61)),
    Row('rsub_scalar', lambda x: 1 - x, randn(61)),
    Row('rdiv_scalar', lambda x: 2 / x, uniform(0.5, 2, 61)),
    Row('pow_scalar_2', lambda x: x.pow(2), randn(61)),
    Row('pow_scalar_0_5', lambda x: x.pow(0.5), uniform(0.1, 2, 61)),

    # binary arithmetic, broadcasting (rows of 19: a vector and a tail at every width)
    Row('add', torch.add, randn(3, 19), randn(19)),
    Row('add_same_shape', torch.add, randn(61), randn(61)),
    Row('add_outer', torch.add, randn(3, 1), randn(1, 19)),
    Row('add_alpha', lambda a, b: torch.add(a, b, alpha=2.5), randn(3, 19), randn(19)),
    Row('sub', torch.sub, randn(3, 19), randn(19)),
    Row('sub_column', torch.sub, randn(3, 19), randn(3, 1)),
    Row('mul', torch.mul, randn(3, 19), randn(19)),
    Row('mul_column', torch.mul, randn(3, 19), randn(3, 1)),
    Row('div', torch.div, randn(3, 19), uniform(0.5, 1.5, 3, 19)),
    Row('div_broadcast', torch.div, randn(3, 19), uniform(0.5, 1.5, 19)),
    Row('pow', torch.pow, uniform(0.5, 2, 3, 19), randn(19)),
    Row('maximum', torch.maximum, randn(3, 19), randn(19)),
    Row('minimum', torch.minimum, randn(3, 19), randn(3, 1)),

    # comparisons: forward only (a float 0/1 mask in Lanes, bool in PyTorch)
    Row('eq', torch.eq, integers(-2, 3, 3, 19, nan_at=5), integers(-2, 3, 19), grad=False),
    Row('gt', torch.gt, integers(-2, 3, 3, 19, nan_at=5), integers(-2, 3, 19), grad=False),
    Row('lt', torch.lt, integers(-2, 3, 3, 19, nan_at=5), integers(-2, 3, 3, 1), grad=False),
    Row('eq_scalar', lambda x: x.eq(0), integers(-2, 3, 61, nan_at=5), grad=False),
    Row('gt_scalar', lambda x: x.gt(0), integers(-2, 3, 61, nan_at=5), grad=False),
    Row('lt_scalar', lambda x: x.lt(0), integers(-2, 3, 61, nan_at=5), grad=False),
    Row('ne', torch.ne, integers(-2, 3, 3, 19, nan_at=5), integers(-2, 3, 19), grad=False),
    Row('ge', torch.ge, integers(-2, 3, 3, 19, nan_at=5), integers(-2, 3, 19), grad=False),
    Row('le_scalar', lambda x: x.le(1), integers(-2, 3, 61, nan_at=5), grad=False),
    Row('logical_and', torch.logical_and, integers(-1, 2, 3, 19, nan_at=5), integers(-1, 2, 19), grad=False),
    Row('logical_or', torch.logical_or, integers(-1, 2, 3, 19, nan_at=5), integers(-1, 2, 19), grad=False),
    Row('logical_xor', torch.logical_xor, integers(-1, 2, 3, 19, nan_at=5), integers(-1, 2, 19), grad=False),
    Row('logical_not', torch.logical_not, integers(-1, 2, 61, nan_at=5), grad=False),

    # reductions
    Row('sum', lambda x: x.sum(), randn(3, 19)),
    Row('sum_dim0', lambda x: x.sum(0), randn(3, 19)),
    Row('sum_dim1_keepdim', lambda x: x.sum(1, keepdim=True), randn(3, 19)),
    Row('sum_3d_dim1', lambda x: x.sum(1), randn(2, 3, 4)),
    Row('mean', lambda x: x.mean(), randn(3, 19)),
    Row('mean_dim1', lambda x: x.mean(1), randn(3, 19)),
    Row('mean_3d_last_keepdim', lambda x: x.mean(-1, keepdim=True), randn(2, 3, 4)),
    Row('max', lambda x: x.max(), randn(61)),
    Row('min', lambda x: x.min(), randn(61)),
    Row('max_dim_values', lambda x: x.max(1).values, TIES),
    Row('max_dim_indices', lambda x: x.max(1).indices, TIES, grad=False),
    Row('min_dim_values', lambda x: x.min(1).values, TIES),
    Row('min_dim_indices', lambda x: x.min(1).indices, TIES, grad=False),
    Row('min_dim0_keepdim_values', lambda x: x.min(0, keepdim=True).values, TIES),
    Row('max_dim0_keepdim_indices', lambda x: x.max(0, keepdim=True).indices, TIES, grad=False),
    Row('argmax', lambda x: x.argmax(), randn(3, 19), grad=False),
    Row('argmax_dim1', lambda x: x.argmax(1), randn(3, 19), grad=False),
    Row('argmin_dim0', lambda x: x.argmin(0), randn(3, 19), grad=False),
    Row('var', lambda x: x.var(), randn(3, 19)),
    Row('var_dim1', lambda x: x.var(1), randn(3, 19)),
    Row('var_dim0_biased_keepdim', lambda x: x.var(0, unbiased=False, keepdim=True), randn(3, 19)),
    Row('var_3d_dim1_keepdim', lambda x: x.var(1, unbiased=True, keepdim=True), randn(2, 3, 4)),
    Row('std', lambda x: x.std(), randn(3, 19)),
    Row('std_dim1', lambda x: x.std(1), randn(3, 19)),
    Row('std_dim0_biased', lambda x: x.std(0, unbiased=False), randn(3, 19)),

    # matrix products
    Row('mm', torch.mm, randn(3, 19), randn(19, 2)),
    Row('t_mm', lambda a, b: a.t().mm(b), randn(4, 3), randn(4, 5)),
    Row('bmm', torch.bmm, randn(2, 3, 4), randn(2, 4, 5)),
    Row('matmul_dot', torch.matmul, randn(19), randn(19)),
    Row('matmul_mv', torch.matmul, randn(3, 19), randn(19)),
    Row('matmul_vm', torch.matmul, randn(4), randn(4, 2)),
    Row('matmul_3d_2d', torch.matmul, randn(2, 3, 4), randn(4, 2)),
    Row('matmul_3d_1d', torch.matmul, randn(2, 3, 4), randn(4)),
    Row('matmul_2d_3d', torch.matmul, randn(3, 4), randn(2, 4, 5)),
    Row('matmul_batch_broadcast', torch.matmul, randn(1, 3, 4), randn(2, 4, 5)),
    Row('addmm', torch.addmm, randn(5), randn(3, 4), randn(4, 5)),
    Row('addmm_linear', lambda b, x, w: torch.addmm(b, x, w.t()), randn(5), randn(3, 4), randn(5, 4)),
    Row('addmm_beta_alpha', lambda c, x, m: torch.addmm(c, x, m, beta=0.5, alpha=2), randn(3, 1), randn(3, 4), randn(4, 5)),
    # the Java row gives mat2 a transposed layout (m.t().contiguous().t()): same values
    Row('addmm_transposed_mat2', torch.addmm, randn(2), randn(3, 4), randn(4, 2)),
    Row('mlp', lambda x, w, b: x.mm(w).add(b).relu().sum(1), randn(4, 5), randn(5, 3), randn(3)),

    # softmax
    Row('softmax', lambda x: x.softmax(1), randn(3, 19)),
    Row('log_softmax', lambda x: x.log_softmax(-1), randn(3, 19)),
    Row('log_softmax_dim0', lambda x: x.log_softmax(0), randn(2, 3, 4)),

    # convolution and pooling
    Row('conv2d', lambda x, w, b: F.conv2d(x, w, b, padding=1), randn(1, 2, 5, 5), randn(3, 2, 3, 3), randn(3)),
    Row('conv2d_strided_groups', lambda x, w: F.conv2d(x, w, None, stride=2, groups=2), randn(1, 2, 5, 5), randn(4, 1, 3, 3)),
    Row('max_pool2d', lambda x: F.max_pool2d(x, 2), randn(1, 2, 5, 5)),
    Row('avg_pool2d', lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), randn(1, 2, 5, 5)),

    # F.linear of a [B, T, C] input: one GEMM over B * T rows, viewed back
    Row('linear_3d', lambda x, w, b: F.linear(x, w, b), randn(2, 3, 4), randn(5, 4), randn(5)),

    # normalisation and indexing (the int64 indices are constants of the call, in the Java rows too)
    Row('batch_norm_train', lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5), randn(4, 3, 5), randn(3), randn(3)),
    Row('batch_norm_eval', lambda x, w, b: F.batch_norm(x, torch.tensor([0.5, -1.0, 0.0]), torch.tensor([2.0, 0.5, 1.0]), w, b, False, 0.1, 1e-5),
        randn(2, 3, 2, 4), randn(3), randn(3)),
    Row('layer_norm', lambda x, w, b: F.layer_norm(x, (19,), w, b, 1e-5), randn(3, 19), randn(19), randn(19)),
    Row('layer_norm_2d_plain', lambda x: F.layer_norm(x, (3, 4)), randn(2, 3, 4)),
    Row('embedding', lambda w: F.embedding(torch.tensor([[1, 3, 3], [0, 9, 1]]), w), randn(10, 5)),
    Row('index_select', lambda x: x.index_select(1, torch.tensor([4, 0, 4])), randn(3, 5, 4)),
    Row('index_negative', lambda x: x[:, torch.tensor([[-1, 0], [2, -5]])], randn(3, 5, 4)),
    Row('gather', lambda x: x.gather(1, IDX_3x4), randn(3, 5)),
    Row('scatter_add', lambda x, s: x.scatter_add(1, IDX_3x4, s), randn(3, 5), randn(3, 4)),

    # views feeding an op (the Java rows' lambdas spell out the same chain)
    Row('view', lambda x, y: x.view(3, 2) * y, randn(2, 3), randn(2)),
    Row('reshape_noncontiguous', lambda x, y: x.t().reshape(6) * y, randn(2, 3), randn(6)),
    Row('unsqueeze_squeeze', lambda x, y: (x.unsqueeze(1) * y).squeeze(), randn(3), randn(1, 4)),
    Row('transpose_permute', lambda x, y: x.transpose(0, 2).permute(1, 2, 0) * y, randn(2, 3, 4), randn(4)),
    Row('t', lambda x, y: x.t() * y, randn(2, 3), randn(2)),
    Row('narrow_slice_select', lambda x: x.narrow(1, 1, 2)[0:3:2] + x.select(1, 0).narrow(0, 0, 2).unsqueeze(1), randn(3, 4)),
    Row('expand', lambda x, y: x.expand(3, 4) * y, randn(1, 4), randn(3, 4)),
    Row('flatten_clone', lambda x, y: x.flatten().clone() * y, randn(2, 3), randn(6)),
    Row('t_contiguous', lambda x: x.t().contiguous(), randn(3, 19)),
    Row('slice_step_contiguous', lambda x: x[:, 1:4:2].contiguous(), randn(3, 4)),
    Row('permute_sum', lambda x: x.permute(2, 0, 1).sum(2), randn(2, 3, 4)),
    Row('transpose_add', lambda x: x.transpose(0, 2) + 1, randn(2, 3, 4)),
    # the Java row gives its first input a transposed layout: same values
    Row('mul_noncontiguous_sum', lambda x, y: (x * y).sum(0), randn(4, 3), randn(4, 3)),

    # in place, on a non-leaf so the history is rebased
    Row('add_', in_place(lambda y, o: y.add_(o)), randn(3, 19), randn(19)),
    Row('sub_scalar_', in_place(lambda y: y.sub_(2)), randn(61)),
    Row('mul_', in_place(lambda y, o: y.mul_(o)), randn(2, 3), randn(3)),
    Row('div_', in_place(lambda y, o: y.div_(o)), randn(61), uniform(0.5, 1.5, 61)),
    Row('div_scalar_', in_place(lambda y: y.div_(3)), randn(61)),
    Row('clamp_', in_place(lambda y: y.clamp_(-0.5, 0.5)), randn(61)),
    Row('relu_', in_place(lambda y: y.relu_()), randn(61)),
    Row('add_into_buffer', add_into_buffer, randn(3)),
    Row('copy_', copy_into_buffer, randn(3)),

    # scans and products
    Row('cumsum_dim1', lambda x: x.cumsum(1), randn(3, 19)),
    Row('cumsum_3d_neg_dim', lambda x: x.cumsum(-2), randn(2, 3, 4)),
    Row('logsumexp_dim1', lambda x: x.logsumexp(1), randn(3, 19)),
    Row('logsumexp_3d_dim0_keepdim', lambda x: x.logsumexp(0, keepdim=True), randn(2, 3, 4)),
    Row('logsumexp_inf', lambda x: x.logsumexp(1), fixed([[NINF, NINF, NINF, NINF], [1000., 1001., 999.5, NINF], [0.5, -1., 2., 3.]])),
    Row('prod', lambda x: x.prod(), randn(3, 4)),
    Row('prod_dim1', lambda x: x.prod(1), randn(3, 5)),
    Row('prod_dim0_keepdim', lambda x: x.prod(0, keepdim=True), randn(3, 5)),
    Row('prod_zeros_dim1', lambda x: x.prod(1), fixed([[1.5, 0., 2., -1.], [0., 3., 0., 2.], [0.5, -2., 1.5, 3.]])),
    Row('prod_one_zero', lambda x: x.prod(), fixed([[1.5, 0.5, 2., -1.], [0.75, 3., 0., 2.], [0.5, -2., 1.5, 1.25]])),
    Row('prod_two_zeros', lambda x: x.prod(), fixed([[1.5, 0.5, 0., -1.], [0.75, 3., 0., 2.], [0.5, -2., 1.5, 1.25]])),

    # sort, topk, argsort: inputs without ties (PyTorch's unstable order is then the stable one)
    Row('sort_dim1_values', lambda x: x.sort(1).values, randn(3, 5)),
    Row('sort_dim1_indices', lambda x: x.sort(1).indices, randn(3, 5), grad=False),
    Row('sort_dim0_descending_values', lambda x: x.sort(0, descending=True).values, randn(4, 3)),
    Row('sort_dim0_descending_indices', lambda x: x.sort(0, descending=True).indices, randn(4, 3), grad=False),
    Row('sort_nan_values', lambda x: x.sort(1).values, NANS_2x4),
    Row('sort_nan_indices', lambda x: x.sort(1).indices, NANS_2x4, grad=False),
    Row('sort_nan_descending_indices', lambda x: x.sort(-1, descending=True).indices, NANS_2x4, grad=False),
    Row('topk_values', lambda x: x.topk(3, 1).values, randn(3, 6)),
    Row('topk_indices', lambda x: x.topk(3, 1).indices, randn(3, 6), grad=False),
    Row('topk_smallest_dim0_values', lambda x: x.topk(2, 0, largest=False).values, randn(5, 3)),
    Row('topk_smallest_dim0_indices', lambda x: x.topk(2, 0, largest=False).indices, randn(5, 3), grad=False),
    Row('topk_nan_smallest_indices', lambda x: x.topk(3, 1, largest=False).indices, NANS_2x4, grad=False),
    Row('argsort', lambda x: x.argsort(1), randn(3, 5), grad=False),
    Row('argsort_dim0_descending', lambda x: x.argsort(0, descending=True), randn(4, 3), grad=False),
    # ties and NaNs: torch's stable sort (its default unstable sort and topk may order ties otherwise); topk's k
    # largest / smallest are the first k of that order, so their golden is the stable sort's first k
    # (torch names the stable overload's node SortBackward1; Lanes' sort, always stable, reports SortBackward0)
    Row('sort_stable_ties_values', lambda x: x.sort(dim=1, stable=True).values, SORT_TIES_3x8),
    Row('sort_stable_ties_indices', lambda x: x.sort(dim=1, stable=True).indices, SORT_TIES_3x8, grad=False),
    Row('sort_stable_ties_descending_values', lambda x: x.sort(dim=1, descending=True, stable=True).values, SORT_TIES_3x8),
    Row('sort_stable_ties_descending_indices', lambda x: x.sort(dim=1, descending=True, stable=True).indices, SORT_TIES_3x8, grad=False),
    Row('topk_ties_indices', lambda x: x.sort(dim=1, descending=True, stable=True).indices[:, :3], SORT_TIES_3x8, grad=False),
    Row('topk_ties_smallest_indices', lambda x: x.sort(dim=1, stable=True).indices[:, :5], SORT_TIES_3x8, grad=False),

    # flip, roll, repeat (the _transposed rows: the Java input has a transposed layout, same values)
    Row('flip_dim0', lambda x: x.flip(0), randn(3, 19)),
    Row('flip_3d_two_dims', lambda x: x.flip(0, -1), randn(2, 3, 4)),
    Row('flip_transposed', lambda x: x.flip(1), randn(4, 3)),
    Row('roll_dim1', lambda x: x.roll(2, 1), randn(3, 19)),
    Row('roll_two_dims_negative', lambda x: x.roll((-1, 5), (0, 2)), randn(2, 3, 4)),
    Row('roll_flattened', lambda x: x.roll(5), randn(3, 4)),
    Row('roll_same_dim_twice', lambda x: x.roll((1, 2), (1, -1)), randn(2, 5)),
    Row('repeat', lambda x: x.repeat(2, 3), randn(2, 3)),
    Row('repeat_more_sizes_than_dims', lambda x: x.repeat(2, 1, 3), randn(2, 3)),
    Row('repeat_transposed', lambda x: x.repeat(1, 2), randn(3, 4)),

    # isnan / isinf / isfinite and any / all, on rows with NaN, infinities and zeros
    Row('isnan', torch.isnan, SPECIALS_3x19, grad=False),
    Row('isinf', torch.isinf, SPECIALS_3x19, grad=False),
    Row('isfinite', torch.isfinite, SPECIALS_3x19, grad=False),
    Row('any', lambda x: x.gt(1).any(), randn(3, 19), grad=False),
    Row('all_dim1', lambda x: x.isfinite().all(1), SPECIALS_3x19, grad=False),
    Row('any_dim0_keepdim', lambda x: x.isinf().any(0, keepdim=True), SPECIALS_3x19, grad=False),
    Row('all_float_dim1', lambda x: x.all(1), SPECIALS_3x19, grad=False),
    Row('any_float_dim0', lambda x: x.any(0), SPECIALS_3x19, grad=False),

    # norms (x.norm: grad_fn NormBackward1; the values are torch.linalg.vector_norm's)
    Row('norm', lambda x: x.norm(), randn(3, 19)),
    Row('norm_2_dim1', lambda x: x.norm(2, 1), randn(3, 19)),
    Row('norm_2_zero_row_keepdim', lambda x: x.norm(2, 1, keepdim=True), fixed([[0.5, -1., 2., 0.], [0., 0., 0., 0.], [3., 4., 0., -1.5]])),
    Row('norm_1_dim0', lambda x: x.norm(1, 0), randn(3, 19)),
    Row('norm_inf_dim1', lambda x: x.norm(INF, 1), randn(3, 19)),
    Row('norm_inf_ties', lambda x: x.norm(INF, 1), fixed([[3., -3., 1., 0.5], [0., 0., 0., 0.], [-2., 1., 2., -2.]])),
    Row('norm_neg_inf_dim0', lambda x: x.norm(NINF, 0), randn(3, 5)),
    Row('norm_3_dim1', lambda x: x.norm(3, 1), randn(3, 19)),
    Row('norm_1_5_all', lambda x: x.norm(1.5), randn(3, 4)),
    Row('norm_0_5_dim1', lambda x: x.norm(0.5, 1), uniform(0.2, 2, 3, 5)),
    Row('norm_0_dim1', lambda x: x.norm(0, 1), fixed([[0.5, 0., 2., 0.], [0., 0., 0., 0.], [3., 4., -1., -1.5]])),
]


def main():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names)), 'duplicate row names'
    with open(os.path.join(OUT, 'op_table.txt'), 'w') as f:
        for row in ROWS:
            gen = torch.Generator().manual_seed(zlib.crc32(row.name.encode()))
            xs = [make(gen) for make in row.inputs]
            assert all(x.numel() <= 64 for x in xs), row.name + ': keep the goldens small'
            for k, x in enumerate(xs):
                record(f, f'{row.name}/in{k}', x, [])
            if row.grad:
                xs = [x.clone().requires_grad_(True) for x in xs]
            y = row.fn(*xs)
            grad_fn = type(y.grad_fn).__name__ if y.grad_fn is not None else 'None'
            record(f, row.name + '/y', y, ['expr ' + grad_fn])
            if row.grad:
                g = torch.randn(y.shape, generator=gen)
                dxs = torch.autograd.grad(y, xs, g, allow_unused=True)
                record(f, row.name + '/g', g, [])
                for k, (x, dx) in enumerate(zip(xs, dxs)):
                    record(f, f'{row.name}/d{k}', torch.zeros_like(x) if dx is None else dx, [])


if __name__ == '__main__':
    main()
