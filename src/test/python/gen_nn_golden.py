#!/usr/bin/python3
"""Golden values for the nn/optim issue from PyTorch (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_nn_golden.py
Writes ../resources/golden/nn.txt (format of gen_tensor_golden.py):
  walk/...   the seed walkthrough's LeNet with PyTorch's weights: input, output, MSE loss, every gradient,
             and the parameters after 3 SGD(lr=0.1, momentum=0.5) steps
  loss/<case>/...  input, target, (weight), loss and input gradient for each loss configuration
  optim/<case>/... a start value, 5 gradients and the value after each step for each optimizer configuration
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_tensor_golden import record, OUT

torch.manual_seed(2024)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.relu(self.fc3(x))


def walkthrough(f):
    net = Net()
    for name, p in net.named_parameters():
        record(f, f'walk/param/{name}', p, [])
    x = torch.randn(1, 1, 32, 32)
    record(f, 'walk/input', x, [])
    out = net(x)
    record(f, 'walk/output', out, ['repr ' + line for line in repr(out).split('\n')])
    net.zero_grad()
    out.backward(torch.ones_like(out))
    for name, p in net.named_parameters():
        record(f, f'walk/ones_grad/{name}', p.grad, [])
    target = torch.arange(0, 10).view(1, 10).float()
    criterion = nn.MSELoss()
    loss = criterion(net(x), target)
    record(f, 'walk/loss', loss, ['repr ' + repr(loss)])
    net.zero_grad()
    loss.backward()
    for name, p in net.named_parameters():
        record(f, f'walk/loss_grad/{name}', p.grad, [])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
    for _ in range(3):
        opt.zero_grad()
        loss = criterion(net(x), target)
        loss.backward()
        opt.step()
    for name, p in net.named_parameters():
        record(f, f'walk/after_sgd/{name}', p, [])


def losses(f):
    x = torch.randn(6, 5) * 2
    t = torch.tensor([0, 4, 2, 2, 1, 3])
    t_ign = torch.tensor([0, 4, -100, 2, 1, -100])
    t_ign7 = torch.tensor([0, 7, 2, 7, 1, 3])
    w = torch.rand(5) + 0.5
    y = torch.randn(6, 5)
    yb = torch.rand(6, 5)
    pw = torch.rand(5) + 0.5
    ew = torch.rand(6, 5)
    cases = {
        'ce': (lambda x: F.cross_entropy(x, t), t, None),
        'ce_weight': (lambda x: F.cross_entropy(x, t, weight=w), t, w),
        'ce_ignore': (lambda x: F.cross_entropy(x, t_ign), t_ign, None),
        'ce_ignore7_weight': (lambda x: F.cross_entropy(x, t_ign7, weight=w, ignore_index=7), t_ign7, w),
        'ce_smooth': (lambda x: F.cross_entropy(x, t, label_smoothing=0.2), t, None),
        'ce_smooth_weight_ignore': (lambda x: F.cross_entropy(x, t_ign, weight=w, label_smoothing=0.1), t_ign, w),
        'ce_sum': (lambda x: F.cross_entropy(x, t, reduction='sum'), t, None),
        'ce_none_smooth': (lambda x: F.cross_entropy(x, t_ign, label_smoothing=0.3, reduction='none'), t_ign, None),
        'nll': (lambda x: F.nll_loss(x.log_softmax(1), t), t, None),
        'nll_weight_ignore': (lambda x: F.nll_loss(x.log_softmax(1), t_ign, weight=w), t_ign, w),
        'nll_none': (lambda x: F.nll_loss(x, t, reduction='none'), t, None),
        'mse': (lambda x: F.mse_loss(x, y), y, None),
        'mse_sum': (lambda x: F.mse_loss(x, y, reduction='sum'), y, None),
        'mse_none': (lambda x: F.mse_loss(x, y, reduction='none'), y, None),
        'l1': (lambda x: F.l1_loss(x, y), y, None),
        'l1_none': (lambda x: F.l1_loss(x, y, reduction='none'), y, None),
        'bce': (lambda x: F.binary_cross_entropy_with_logits(x, yb), yb, None),
        'bce_weight_pos': (lambda x: F.binary_cross_entropy_with_logits(x, yb, weight=ew, pos_weight=pw), yb, None),
        'bce_sum': (lambda x: F.binary_cross_entropy_with_logits(x, yb, reduction='sum'), yb, None),
    }
    record(f, 'loss/input', x, [])
    record(f, 'loss/class_weight', w, [])
    record(f, 'loss/pos_weight', pw, [])
    record(f, 'loss/elem_weight', ew, [])
    for name, (fn, target, _) in cases.items():
        xi = x.clone().requires_grad_(True)
        loss = fn(xi)
        g = torch.randn_like(loss) if loss.dim() > 0 else torch.tensor(1.0)
        loss.backward(g)
        record(f, f'loss/{name}/target', target, [])
        record(f, f'loss/{name}/gy', g, [])
        record(f, f'loss/{name}/loss', loss, ['repr ' + line for line in repr(loss).split('\n')])
        record(f, f'loss/{name}/dx', xi.grad, [])


def optimizers(f):
    start = torch.randn(3, 7)
    grads = [torch.randn(3, 7) for _ in range(5)]
    record(f, 'optim/start', start, [])
    for i, g in enumerate(grads):
        record(f, f'optim/grad{i}', g, [])
    cases = {
        'sgd': lambda p: torch.optim.SGD(p, lr=0.1),
        'sgd_momentum': lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        'sgd_nesterov_wd': lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
        'sgd_dampening': lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3),
        'adam': lambda p: torch.optim.Adam(p, lr=0.01),
        'adam_amsgrad_wd': lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True),
        'adamw': lambda p: torch.optim.AdamW(p, lr=0.01),
        'adamw_amsgrad': lambda p: torch.optim.AdamW(p, lr=0.03, weight_decay=0.05, amsgrad=True),
        'rmsprop': lambda p: torch.optim.RMSprop(p, lr=0.01),
        'rmsprop_centered_momentum_wd': lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1),
    }
    for name, make in cases.items():
        p = start.clone().requires_grad_(True)
        opt = make([p])
        for i, g in enumerate(grads):
            opt.zero_grad()
            p.grad = g.clone()
            opt.step()
            record(f, f'optim/{name}/step{i}', p, [])


def schedulers(f):
    """lr (and momentum) after construction and after each of 24 steps."""
    def run(name, make_opt, make_sched, steps=24, momentum_key=None):
        p = torch.zeros(2, requires_grad=True)
        opt = make_opt([p])
        sched = make_sched(opt)
        lrs, moms = [opt.param_groups[0]['lr']], []
        if momentum_key:
            moms.append(momentum_key(opt.param_groups[0]))
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]['lr'])
            if momentum_key:
                moms.append(momentum_key(opt.param_groups[0]))
        record(f, f'sched/{name}/lr', torch.tensor(lrs, dtype=torch.float64).float(), [])
        if momentum_key:
            record(f, f'sched/{name}/momentum', torch.tensor(moms, dtype=torch.float64).float(), [])

    sgd = lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)
    run('step', sgd, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    run('multistep', sgd, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5, 11], gamma=0.1))
    run('cosine', sgd, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01))
    run('onecycle_sgd', sgd, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=25),
        momentum_key=lambda g: g['momentum'])
    run('onecycle_adam', lambda p: torch.optim.Adam(p, lr=0.01),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=30, pct_start=0.25),
        momentum_key=lambda g: g['betas'][0])


def batchnorm(f):
    """BatchNorm2d and BatchNorm1d: two training steps (output, input/weight/bias gradients, running stats), then eval."""
    for name, bn, x1, x2 in (('bn2d', nn.BatchNorm2d(3, momentum=0.2), torch.randn(4, 3, 5, 5) * 2 + 1, torch.randn(4, 3, 5, 5)),
                             ('bn1d', nn.BatchNorm1d(5, eps=1e-3, affine=True), torch.randn(8, 5) * 3, torch.randn(8, 5))):
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
        record(f, f'{name}/weight', bn.weight, [])
        record(f, f'{name}/bias', bn.bias, [])
        for step, x in enumerate((x1, x2)):
            xi = x.clone().requires_grad_(True)
            y = bn(xi)
            gy = torch.randn_like(y)
            bn.zero_grad()
            y.backward(gy)
            record(f, f'{name}/x{step}', x, [])
            record(f, f'{name}/gy{step}', gy, [])
            record(f, f'{name}/y{step}', y, [])
            record(f, f'{name}/dx{step}', xi.grad, [])
            record(f, f'{name}/dweight{step}', bn.weight.grad, [])
            record(f, f'{name}/dbias{step}', bn.bias.grad, [])
            record(f, f'{name}/running_mean{step}', bn.running_mean, [])
            record(f, f'{name}/running_var{step}', bn.running_var, [])
        bn.eval()
        record(f, f'{name}/eval_y', bn(x1), [])


def main():
    with open(os.path.join(OUT, 'nn.txt'), 'w') as f:
        walkthrough(f)
        losses(f)
        optimizers(f)
        schedulers(f)
        batchnorm(f)


if __name__ == '__main__':
    main()
