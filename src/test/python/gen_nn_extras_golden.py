#!/usr/bin/python3
"""Golden values for the small torch.nn pieces (distances, pairwise / ranking / regression losses, logsigmoid, softmin,
softsign, tanhshrink, threshold, adaptive_max_pool2d, bilinear, selu, celu, hardshrink, softshrink, prelu) from PyTorch (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_nn_extras_golden.py
Writes ../resources/golden/nn_extras.txt (format of gen_tensor_golden.py); for each case <name>:
  <name>/a0, <name>/a1, ... (the operands), <name>/gy (the output's incoming gradient), <name>/out and <name>/d<i> (the
  gradient of each operand that requires grad). NnExtrasTest maps each name to a call.
"""
import os
import warnings
import torch
import torch.nn.functional as F

from gen_tensor_golden import record, OUT

torch.manual_seed(101)
warnings.filterwarnings('ignore')
nan = float('nan')
inf = float('inf')


def cases():
    r = torch.randn
    c = {}
    # (operands, which need grad, fn)
    x = r(3, 4)
    c['normalize_default'] = ([x], [True], lambda a: F.normalize(a))
    c['normalize_p1_dim0'] = ([x], [True], lambda a: F.normalize(a, p=1.0, dim=0))
    xz = x.clone()
    xz[1] = 0
    c['normalize_zero_row'] = ([xz], [True], lambda a: F.normalize(a, dim=1))
    c['normalize_p3_eps'] = ([r(2, 3, 2)], [True], lambda a: F.normalize(a, p=3.0, dim=-1, eps=0.5))
    c['normalize_inf'] = ([x], [True], lambda a: F.normalize(a, p=float('inf'), dim=1))
    c['normalize_empty'] = ([r(0, 4)], [True], lambda a: F.normalize(a))
    c['normalize_nan'] = ([torch.tensor([[1., nan], [3., 4.]])], [True], lambda a: F.normalize(a))
    c['cos_default'] = ([r(4, 5), r(4, 5)], [True, True], lambda a, b: F.cosine_similarity(a, b))
    c['cos_broadcast'] = ([r(3, 1, 5), r(4, 5)], [True, True], lambda a, b: F.cosine_similarity(a, b, dim=-1))
    c['cos_dim0'] = ([r(6, 2), r(6, 2)], [True, True], lambda a, b: F.cosine_similarity(a, b, dim=0))
    c['cos_tiny'] = ([torch.tensor([[1e-9, 0.], [3e-9, 4e-9], [0., 0.]]), torch.tensor([[1., 0.], [1., 1.], [2., 1.]])], [True, True],
                     lambda a, b: F.cosine_similarity(a, b))
    c['cos_eps'] = ([r(3, 4) * 0.1, r(3, 4)], [True, True], lambda a, b: F.cosine_similarity(a, b, dim=1, eps=0.5))
    c['cos_1d'] = ([r(5), r(5)], [True, True], lambda a, b: F.cosine_similarity(a, b, dim=0))
    c['pdist_default'] = ([r(4, 5), r(4, 5)], [True, True], lambda a, b: F.pairwise_distance(a, b))
    c['pdist_p1_keepdim'] = ([r(4, 5), r(4, 5)], [True, True], lambda a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True))
    c['pdist_broadcast'] = ([r(2, 3, 4), r(4)], [True, True], lambda a, b: F.pairwise_distance(a, b, p=3.0, eps=0.0))
    c['pdist_inf'] = ([r(3, 4), r(3, 4)], [True, True], lambda a, b: F.pairwise_distance(a, b, p=float('inf')))
    c['pdist_1d'] = ([r(5), r(5)], [True, True], lambda a, b: F.pairwise_distance(a, b))
    c['pdist_empty'] = ([r(0, 3), r(0, 3)], [True, True], lambda a, b: F.pairwise_distance(a, b))
    # ---- losses ----
    i1, i2 = r(6), r(6)
    y = torch.tensor([1., -1., 1., 1., -1., -1.])
    for red in ['mean', 'sum', 'none']:
        c[f'mrl_{red}'] = ([i1, i2, y], [True, True, False], lambda a, b, t, red=red: F.margin_ranking_loss(a, b, t, margin=0.3, reduction=red))
    c['mrl_broadcast'] = ([r(3, 1), r(1, 4), torch.sign(r(3, 4))], [True, True, False], lambda a, b, t: F.margin_ranking_loss(a, b, t))
    c['mrl_empty'] = ([r(0), r(0), r(0)], [True, True, False], lambda a, b, t: F.margin_ranking_loss(a, b, t))
    e1, e2 = r(5, 4), r(5, 4)
    ye = torch.tensor([1., -1., -1., 1., -1.])
    for red in ['mean', 'sum', 'none']:
        c[f'cel_{red}'] = ([e1, e2, ye], [True, True, False], lambda a, b, t, red=red: F.cosine_embedding_loss(a, b, t, margin=0.1, reduction=red))
    c['cel_0d'] = ([r(4), r(4), torch.tensor(-1.)], [True, True, False], lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin=-0.5))
    c['cel_other_target'] = ([e1, e2, torch.tensor([1., 0., -1., 2., 1.])], [True, True, False], lambda a, b, t: F.cosine_embedding_loss(a, b, t, reduction='none'))
    ta, tp, tn = r(5, 4), r(5, 4), r(5, 4)
    for red in ['mean', 'sum', 'none']:
        c[f'tml_{red}'] = ([ta, tp, tn], [True, True, True], lambda a, p, n, red=red: F.triplet_margin_loss(a, p, n, margin=1.5, reduction=red))
    c['tml_p1_swap'] = ([ta, tp, tn], [True, True, True], lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1.0, swap=True, reduction='none'))
    c['tml_p3_eps'] = ([ta, tp, tn], [True, True, True], lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=0.5, p=3.0, eps=0.01, reduction='sum'))
    c['tml_1d'] = ([r(4), r(4), r(4)], [True, True, True], lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0))
    sx = torch.cat([r(7) * 3, torch.tensor([0., 30., -30.])])
    sy = torch.sign(r(10))
    for red in ['mean', 'sum', 'none']:
        c[f'sml_{red}'] = ([sx, sy], [True, False], lambda a, t, red=red: F.soft_margin_loss(a, t, reduction=red))
    mx, my = r(4, 5) * 2, (r(4, 5) > 0).float()
    mw = torch.rand(5) + 0.5
    for red in ['mean', 'sum', 'none']:
        c[f'mlsml_{red}'] = ([mx, my], [True, True], lambda a, t, red=red: F.multilabel_soft_margin_loss(a, t, reduction=red))
    c['mlsml_weight'] = ([mx, my, mw], [True, True, False], lambda a, t, w: F.multilabel_soft_margin_loss(a, t, weight=w))
    c['mlsml_3d_none'] = ([r(2, 3, 4), torch.rand(2, 3, 4)], [True, True], lambda a, t: F.multilabel_soft_margin_loss(a, t, reduction='none'))
    px = r(3, 4)
    pt = torch.tensor([[0., 1., 2., 5.], [0.5, 3., 1., 0.], [7., 2.5, 1.5, 4.]])
    for red in ['mean', 'sum', 'none']:
        c[f'pnll_{red}'] = ([px, pt], [True, True], lambda a, t, red=red: F.poisson_nll_loss(a, t, reduction=red))
    c['pnll_rate_none'] = ([px.abs() + 0.1, pt], [True, True], lambda a, t: F.poisson_nll_loss(a, t, log_input=False, reduction='none'))
    c['pnll_full_mean'] = ([px, pt], [True, False], lambda a, t: F.poisson_nll_loss(a, t, full=True))
    c['pnll_rate_full_eps_sum'] = ([px.abs(), pt], [True, False], lambda a, t: F.poisson_nll_loss(a, t, log_input=False, full=True, eps=0.1, reduction='sum'))
    gx, gt = r(4, 3), r(4, 3)
    gv = torch.rand(4, 3) + 0.1
    for red in ['mean', 'sum', 'none']:
        c[f'gnll_{red}'] = ([gx, gt, gv], [True, True, True], lambda a, t, v, red=red: F.gaussian_nll_loss(a, t, v, reduction=red))
    c['gnll_homo_full'] = ([gx, gt, torch.rand(4) + 0.1], [True, True, True], lambda a, t, v: F.gaussian_nll_loss(a, t, v, full=True, reduction='none'))
    c['gnll_homo1_sum'] = ([gx, gt, torch.rand(4, 1) + 0.1], [True, True, True], lambda a, t, v: F.gaussian_nll_loss(a, t, v, reduction='sum'))
    gvc = gv.clone()
    gvc[0, 0] = 0.
    gvc[1, 2] = 1e-8
    c['gnll_clamped_eps'] = ([gx, gt, gvc], [True, False, True], lambda a, t, v: F.gaussian_nll_loss(a, t, v, eps=0.01, reduction='none'))
    # ---- activations ----
    ax = torch.cat([r(12) * 4, torch.tensor([0., -0., 25., -25., 100., -100., nan, inf, -inf])])
    c['logsigmoid'] = ([ax], [True], lambda a: F.logsigmoid(a))
    c['softsign'] = ([ax], [True], lambda a: F.softsign(a))
    c['tanhshrink'] = ([ax[:16]], [True], lambda a: F.tanhshrink(a))
    c['threshold'] = ([ax], [True], lambda a: F.threshold(a, 0.5, -2.0))
    c['threshold_at'] = ([torch.tensor([1., 0.999, 1.001, -1., nan])], [True], lambda a: F.threshold(a, 1.0, 20.0))
    c['softmin_dim1'] = ([r(3, 5)], [True], lambda a: F.softmin(a, dim=1))
    c['softmin_dim0'] = ([r(3, 5)], [True], lambda a: F.softmin(a, dim=0))
    # ---- adaptive_max_pool2d ----
    c['amp_3x3_of_7x5'] = ([r(2, 3, 7, 5)], [True], lambda a: F.adaptive_max_pool2d(a, (3, 3)))
    c['amp_2_of_4x6'] = ([r(1, 2, 4, 6)], [True], lambda a: F.adaptive_max_pool2d(a, 2))
    c['amp_5x4_of_3x3'] = ([r(2, 3, 3)], [True], lambda a: F.adaptive_max_pool2d(a, (5, 4)))
    c['amp_1_global'] = ([r(2, 2, 3, 4)], [True], lambda a: F.adaptive_max_pool2d(a, 1))
    ties = torch.tensor([[[[1., 3., 3.], [3., 2., 1.], [0., 3., 3.]]]])
    c['amp_ties'] = ([ties], [True], lambda a: F.adaptive_max_pool2d(a, 2))
    nanx = r(1, 1, 4, 4)
    nanx[0, 0, 1, 2] = nan
    c['amp_nan'] = ([nanx], [True], lambda a: F.adaptive_max_pool2d(a, 2))
    c['amp_empty_batch'] = ([r(0, 2, 4, 4)], [True], lambda a: F.adaptive_max_pool2d(a, 2))
    # ---- bilinear ----
    bl = torch.nn.Bilinear(3, 4, 5)
    W, b = bl.weight.detach().clone(), bl.bias.detach().clone()
    c['bilinear_2d'] = ([r(6, 3), r(6, 4), W, b], [True, True, True, True], lambda a, b2, w, bb: F.bilinear(a, b2, w, bb))
    c['bilinear_3d'] = ([r(2, 3, 3), r(2, 3, 4), W, b], [True, True, True, True], lambda a, b2, w, bb: F.bilinear(a, b2, w, bb))
    c['bilinear_nobias_1d'] = ([r(3), r(4), W], [True, True, True], lambda a, b2, w: F.bilinear(a, b2, w))
    c['bilinear_empty'] = ([r(0, 3), r(0, 4), W, b], [True, True, True, True], lambda a, b2, w, bb: F.bilinear(a, b2, w, bb))
    # ---- selu, celu, hardshrink, softshrink, prelu (after the rest: the earlier cases' random draws stay as they were) ----
    # finite: without the NaN, whose gradient in celu and softshrink differs by torch's kernel's branch order (see NnExtrasTest)
    fin = torch.cat([ax[:18], ax[19:]])
    c['selu'] = ([ax], [True], lambda a: F.selu(a))
    c['celu_default'] = ([fin], [True], lambda a: F.celu(a))
    c['celu_alpha2'] = ([fin], [True], lambda a: F.celu(a, alpha=2.0))
    c['celu_alpha_small'] = ([fin], [True], lambda a: F.celu(a, alpha=0.1))
    c['hardshrink_default'] = ([ax], [True], lambda a: F.hardshrink(a))
    c['hardshrink_at'] = ([torch.tensor([0.3, -0.3, 0.29999, 0.30001, -0.30001, 0., 1.])], [True], lambda a: F.hardshrink(a, 0.3))
    c['softshrink_default'] = ([fin], [True], lambda a: F.softshrink(a))
    c['softshrink_at'] = ([torch.tensor([0.3, -0.3, 0.29999, 0.30001, -0.30001, 0., 1.])], [True], lambda a: F.softshrink(a, 0.3))
    c['softshrink_zero'] = ([fin], [True], lambda a: F.softshrink(a, 0.0))
    c['prelu_one'] = ([r(2, 3, 4), torch.tensor([0.25])], [True, True], lambda a, w: F.prelu(a, w))
    c['prelu_channels'] = ([r(2, 3, 4, 5), torch.tensor([0.1, -0.5, 2.0])], [True, True], lambda a, w: F.prelu(a, w))
    c['prelu_2d'] = ([r(5, 3), r(3)], [True, True], lambda a, w: F.prelu(a, w))
    c['prelu_1d'] = ([ax, torch.tensor([0.3])], [True, True], lambda a, w: F.prelu(a, w))
    c['prelu_zero_dim_weight'] = ([r(4, 2), torch.tensor(0.2)], [True, True], lambda a, w: F.prelu(a, w))
    return c


def main():
    with open(os.path.join(OUT, 'nn_extras.txt'), 'w') as f:
        for name, (args, grads, fn) in cases().items():
            ins = [a.clone().requires_grad_(g) for a, g in zip(args, grads)]
            out = fn(*ins)
            gy = torch.randn_like(out) if out.dim() > 0 else torch.tensor(1.0)
            out.backward(gy)
            for i, a in enumerate(args):
                record(f, f'{name}/a{i}', a, [])
            record(f, f'{name}/gy', gy, [])
            record(f, f'{name}/out', out, [])
            for i, (a, g) in enumerate(zip(ins, grads)):
                if g:
                    record(f, f'{name}/d{i}', a.grad if a.grad is not None else torch.zeros_like(a), [])


if __name__ == '__main__':
    main()
