#!/usr/bin/python3
"""Golden values for the losses beyond nn.txt's from PyTorch (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_loss_golden.py
Writes ../resources/golden/losses.txt (format of gen_tensor_golden.py); for each case <name>:
  <name>/input, <name>/target, (<name>/weight), <name>/gy (the loss's incoming gradient), <name>/loss (with its repr),
  <name>/dx (the input's gradient) and, where the target takes part in the graph, <name>/dt (the target's gradient).
Cases: spatial cross_entropy / nll_loss ([N, C, d1, ..., dK] against [N, d1, ..., dK]), cross_entropy against class
probabilities, binary_cross_entropy, smooth_l1_loss, huber_loss, kl_div. LossGoldenTest maps each name to a call.
"""
import os
import warnings
import torch
import torch.nn.functional as F

from gen_tensor_golden import record, OUT

torch.manual_seed(94)
warnings.filterwarnings('ignore')


def with_ignored(t, ignore, every=5):
    t = t.clone()
    t.view(-1)[::every] = ignore
    return t


def cases():
    r = torch.randn
    c = {}
    # ---- spatial cross_entropy / nll_loss ----
    x4 = r(2, 5, 3, 4) * 2
    t4 = torch.randint(0, 5, (2, 3, 4))
    t4i = with_ignored(t4, -100)
    t4i3 = t4.clone()  # ignore_index 3, a real class
    w5 = torch.rand(5) + 0.5
    c['ce2d_mean'] = (x4, t4, None, lambda x, t, w: F.cross_entropy(x, t), False)
    c['ce2d_ignore_mean'] = (x4, t4i, None, lambda x, t, w: F.cross_entropy(x, t), False)
    c['ce2d_weight_ignore_mean'] = (x4, t4i, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w), False)
    c['ce2d_weight_ignore3_mean'] = (x4, t4i3, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=3), False)
    c['ce2d_weight_none'] = (x4, t4i, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction='none'), False)
    c['ce2d_sum'] = (x4, t4i, None, lambda x, t, w: F.cross_entropy(x, t, reduction='sum'), False)
    c['ce2d_smooth_mean'] = (x4, t4i, None, lambda x, t, w: F.cross_entropy(x, t, label_smoothing=0.2), False)
    c['ce2d_smooth_weight_sum'] = (x4, t4i, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction='sum'), False)
    c['ce2d_smooth_none'] = (x4, t4i, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.3, reduction='none'), False)
    # a non-contiguous input: the golden input is [2, 5, 4, 3], the loss reads its transpose(2, 3)
    xt = r(2, 5, 4, 3)
    c['ce2d_transposed_weight_mean'] = (xt, t4i, w5, lambda x, t, w: F.cross_entropy(x.transpose(2, 3), t, weight=w), False)
    x3 = r(3, 4, 5)
    t3 = with_ignored(torch.randint(0, 4, (3, 5)), -100, 4)
    c['ce1d_mean'] = (x3, t3, None, lambda x, t, w: F.cross_entropy(x, t), False)
    c['ce1d_none'] = (x3, t3, None, lambda x, t, w: F.cross_entropy(x, t, reduction='none'), False)
    x5 = r(2, 3, 2, 3, 2)
    t5 = with_ignored(torch.randint(0, 3, (2, 2, 3, 2)), -100, 7)
    w3 = torch.rand(3) + 0.5
    c['ce3d_weight_mean'] = (x5, t5, w3, lambda x, t, w: F.cross_entropy(x, t, weight=w), False)
    c['ce3d_none'] = (x5, t5, None, lambda x, t, w: F.cross_entropy(x, t, reduction='none'), False)
    c['nll2d_weight_ignore_mean'] = (x4, t4i, w5, lambda x, t, w: F.nll_loss(x.log_softmax(1), t, weight=w), False)
    c['nll2d_none'] = (x4, t4i, None, lambda x, t, w: F.nll_loss(x, t, reduction='none'), False)
    c['nll1d_sum'] = (x3, t3, None, lambda x, t, w: F.nll_loss(x, t, reduction='sum'), False)
    c['ce2d_empty_mean'] = (r(0, 5, 3), torch.zeros(0, 3, dtype=torch.long), None, lambda x, t, w: F.cross_entropy(x, t), False)
    c['ce2d_empty_sum'] = (r(2, 5, 0), torch.zeros(2, 0, dtype=torch.long), None, lambda x, t, w: F.cross_entropy(x, t, reduction='sum'), False)
    # ---- cross_entropy against class probabilities ----
    xp = r(4, 5)
    tp = r(4, 5).softmax(1)
    c['ceprob_mean'] = (xp, tp, None, lambda x, t, w: F.cross_entropy(x, t), True)
    c['ceprob_weight_smooth_sum'] = (xp, tp, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, reduction='sum'), True)
    c['ceprob_none'] = (xp, tp, None, lambda x, t, w: F.cross_entropy(x, t, reduction='none'), True)
    tp4 = r(2, 5, 3, 4).softmax(1)
    c['ceprob2d_weight_none'] = (x4, tp4, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction='none'), True)
    c['ceprob2d_smooth_mean'] = (x4, tp4, None, lambda x, t, w: F.cross_entropy(x, t, label_smoothing=0.1), True)
    c['ceprob2d_weight_mean'] = (x4, tp4, w5, lambda x, t, w: F.cross_entropy(x, t, weight=w), True)
    c['ceprob_unbatched_mean'] = (r(5), r(5).softmax(0), None, lambda x, t, w: F.cross_entropy(x, t), True)
    c['ceprob_empty_mean'] = (r(0, 5), torch.zeros(0, 5), None, lambda x, t, w: F.cross_entropy(x, t), False)
    # ---- binary_cross_entropy ----
    xb = r(3, 4).sigmoid()
    yb_soft = torch.rand(3, 4)
    yb = (torch.rand(3, 4) > 0.5).float()
    w4 = torch.rand(4) + 0.5
    c['bce_mean'] = (xb, yb_soft, None, lambda x, t, w: F.binary_cross_entropy(x, t), True)
    c['bce_weight_none'] = (xb, yb, w4, lambda x, t, w: F.binary_cross_entropy(x, t, weight=w, reduction='none'), False)
    c['bce_weight_sum'] = (xb, yb_soft, torch.rand(3, 4), lambda x, t, w: F.binary_cross_entropy(x, t, weight=w, reduction='sum'), True)
    # exact 0 and 1: each log clamped at -100, the gradient's denominator at 1e-12
    c['bce_edges_none'] = (torch.tensor([0., 1., 0., 1., 1e-30, 0.5]), torch.tensor([1., 0., 0., 1., 1., 0.25]), None,
                           lambda x, t, w: F.binary_cross_entropy(x, t, reduction='none'), False)
    c['bce_empty_mean'] = (torch.zeros(0), torch.zeros(0), None, lambda x, t, w: F.binary_cross_entropy(x, t), False)
    # ---- smooth_l1_loss / huber_loss: differences exactly at beta / delta, and exactly 0 ----
    xs = torch.cat([r(10) * 2, torch.tensor([0.5, -0.5, 0., 1., -1., 2.])])
    ys = torch.cat([r(10), torch.tensor([0., 0., 0., 0., 0., 0.])])
    c['sl1_mean'] = (xs, ys, None, lambda x, t, w: F.smooth_l1_loss(x, t), True)
    c['sl1_beta05_none'] = (xs, ys, None, lambda x, t, w: F.smooth_l1_loss(x, t, beta=0.5, reduction='none'), True)
    c['sl1_beta0_sum'] = (xs, ys, None, lambda x, t, w: F.smooth_l1_loss(x, t, beta=0.0, reduction='sum'), True)
    c['sl1_beta10_mean'] = (xs.view(4, 4), ys.view(4, 4), None, lambda x, t, w: F.smooth_l1_loss(x, t, beta=10.0), True)
    c['huber_mean'] = (xs, ys, None, lambda x, t, w: F.huber_loss(x, t), True)
    c['huber_delta05_none'] = (xs, ys, None, lambda x, t, w: F.huber_loss(x, t, delta=0.5, reduction='none'), True)
    c['huber_delta2_sum'] = (xs.view(2, 8), ys.view(2, 8), None, lambda x, t, w: F.huber_loss(x, t, delta=2.0, reduction='sum'), True)
    c['sl1_empty_mean'] = (torch.zeros(0, 3), torch.zeros(0, 3), None, lambda x, t, w: F.smooth_l1_loss(x, t), False)
    # ---- kl_div ----
    xk = r(3, 5).log_softmax(1)
    yk = r(3, 5).softmax(1)
    yk0 = yk.clone()
    yk0[0, 1] = 0
    yk0[2, 4] = 0
    c['kl_mean'] = (xk, yk, None, lambda x, t, w: F.kl_div(x, t), True)
    c['kl_batchmean'] = (xk, yk, None, lambda x, t, w: F.kl_div(x, t, reduction='batchmean'), True)
    c['kl_zeros_none'] = (xk, yk0, None, lambda x, t, w: F.kl_div(x, t, reduction='none'), False)
    c['kl_zeros_sum'] = (xk, yk0, None, lambda x, t, w: F.kl_div(x, t, reduction='sum'), False)
    c['kl_logtarget_batchmean'] = (xk, yk.log(), None, lambda x, t, w: F.kl_div(x, t, reduction='batchmean', log_target=True), True)
    c['kl_logtarget_none'] = (xk, yk.log(), None, lambda x, t, w: F.kl_div(x, t, reduction='none', log_target=True), True)
    c['kl_scalar_batchmean'] = (torch.tensor(-0.7), torch.tensor(0.3), None, lambda x, t, w: F.kl_div(x, t, reduction='batchmean'), True)
    c['kl_empty_batchmean'] = (torch.zeros(0, 4), torch.zeros(0, 4), None, lambda x, t, w: F.kl_div(x, t, reduction='batchmean'), False)
    return c


def main():
    with open(os.path.join(OUT, 'losses.txt'), 'w') as f:
        for name, (x, t, w, fn, target_grad) in cases().items():
            xi = x.clone().requires_grad_(True)
            ti = t.clone().requires_grad_(target_grad)
            loss = fn(xi, ti, w)
            g = torch.randn_like(loss) if loss.dim() > 0 else torch.tensor(1.0)
            loss.backward(g)
            record(f, f'{name}/input', x, [])
            record(f, f'{name}/target', t, [])
            if w is not None:
                record(f, f'{name}/weight', w, [])
            record(f, f'{name}/gy', g, [])
            record(f, f'{name}/loss', loss, ['repr ' + line for line in repr(loss).split('\n')])
            record(f, f'{name}/dx', xi.grad, [])
            if target_grad:
                record(f, f'{name}/dt', ti.grad, [])


if __name__ == '__main__':
    main()
