#!/usr/bin/python3
"""Golden values for the optimizers and LR schedules added after the first optim issue (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_optim_golden.py
Writes ../resources/golden/optim.txt, one record a line:
  sched <case> <group> <lr0> <lr1> ...   each group's lr after construction and after each of 30 steps, repr()
                                         (the shortest string that parses back to the same double)
  metric <m1> ... <m30>                  the metric ReduceLROnPlateau's cases step with
  optim <case> <param> <step> <v...>     a parameter after each of 8 steps (foreach=False), '%.9g' (float32 exact)
The Java side is OptimizerGoldenTest; the parameters and gradients are rebuilt there from the same integer formulas.
"""
import os
import torch
from torch.optim import lr_scheduler as L

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'golden', 'optim.txt')
STEPS = 30
METRICS = [1.0, 0.9, 0.85, 0.86, 0.84, 0.845, 0.8455, 0.83, 0.9, 0.95, 0.829, 0.828, 0.7, 0.71, 0.72,
           0.73, 0.69, 0.5, 0.5, 0.5, 0.5, 0.6, 0.4, 0.41, 0.42, 0.43, 0.44, 0.3999, 0.45, 0.46]


def two_groups():
    p = torch.zeros(2, requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    return torch.optim.SGD([{'params': [p]}, {'params': [q], 'lr': 0.05}], lr=0.1, momentum=0.9)


def sched_cases():
    return {
        'lambda': lambda o: L.LambdaLR(o, [lambda e: 1.0 / (1 + e), lambda e: 0.5 if e % 4 < 2 else 1.0]),
        'lambda_single': lambda o: L.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.1 * e)),
        'multiplicative': lambda o: L.MultiplicativeLR(o, lambda e: 0.95),
        'multiplicative_groups': lambda o: L.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 1.0 - 0.01 * e]),
        'exponential': lambda o: L.ExponentialLR(o, 0.9),
        'linear': lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8),
        'linear_down': lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
        'linear_default': lambda o: L.LinearLR(o),
        'constant': lambda o: L.ConstantLR(o, factor=0.5, total_iters=4),
        'constant_default': lambda o: L.ConstantLR(o),
        'warm_restarts': lambda o: L.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
        'warm_restarts_mult': lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
        'sequential': lambda o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)], milestones=[2]),
        'sequential_warmup_cosine': lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5), L.CosineAnnealingLR(o, T_max=10, eta_min=0.001)], milestones=[5]),
        'sequential_three': lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.5, total_iters=3), L.StepLR(o, 4, 0.5), L.CosineAnnealingWarmRestarts(o, 4, eta_min=0.002)],
            milestones=[3, 10]),
        'sequential_multistep': lambda o: L.SequentialLR(
            o, [L.ExponentialLR(o, 0.8), L.MultiStepLR(o, [3, 6], 0.5)], milestones=[4]),
    }


def plateau_cases():
    return {
        'plateau_default': lambda o: L.ReduceLROnPlateau(o),
        'plateau_min_rel': lambda o: L.ReduceLROnPlateau(o, 'min', factor=0.5, patience=2, threshold=0.01, threshold_mode='rel',
                                                         cooldown=1, min_lr=[0.01, 0.0], eps=1e-8),
        'plateau_max_abs': lambda o: L.ReduceLROnPlateau(o, 'max', factor=0.3, patience=1, threshold=0.05, threshold_mode='abs',
                                                         cooldown=2, min_lr=0.005),
        'plateau_min_abs_eps': lambda o: L.ReduceLROnPlateau(o, 'min', factor=0.9, patience=0, threshold=0.0, threshold_mode='abs',
                                                             min_lr=0.09, eps=0.004),
        'plateau_max_rel': lambda o: L.ReduceLROnPlateau(o, 'max', factor=0.5, patience=3, threshold=0.1, threshold_mode='rel'),
    }


def write_lrs(f, name, lrs):
    for g in range(len(lrs[0])):
        f.write(f'sched {name} {g} ' + ' '.join(repr(float(step[g])) for step in lrs) + '\n')


def schedules(f):
    for name, make in sched_cases().items():
        opt = two_groups()
        s = make(opt)
        lrs = [[g['lr'] for g in opt.param_groups]]
        for _ in range(STEPS):
            opt.step()
            s.step()
            lrs.append([g['lr'] for g in opt.param_groups])
            assert s.get_last_lr() == lrs[-1], name
        write_lrs(f, name, lrs)
    # fractional epochs: step(epoch) with epoch = 0.25 k
    for name, t0, mult in (('warm_restarts_fractional', 2, 2), ('warm_restarts_fractional_mult1', 3, 1)):
        opt = two_groups()
        s = L.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=mult, eta_min=0.01)
        lrs = [[g['lr'] for g in opt.param_groups]]
        for k in range(1, STEPS + 1):
            opt.step()
            s.step(0.25 * k * (3 if k > 20 else 1))
            lrs.append([g['lr'] for g in opt.param_groups])
        write_lrs(f, name, lrs)
    f.write('metric ' + ' '.join(repr(m) for m in METRICS) + '\n')
    for name, make in plateau_cases().items():
        opt = two_groups()
        s = make(opt)
        lrs = [[g['lr'] for g in opt.param_groups]]
        for m in METRICS:
            opt.step()
            s.step(m)
            lrs.append([g['lr'] for g in opt.param_groups])
        write_lrs(f, name, lrs)


OPT_STEPS = 8


def optim_cases():
    O = torch.optim
    return {
        'adagrad': lambda p, q: O.Adagrad([p, q], lr=0.1),
        'adagrad_full': lambda p, q: O.Adagrad([{'params': [p]}, {'params': [q], 'lr': 0.05, 'weight_decay': 0.0, 'lr_decay': 0.0}],
                                               lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6),
        'adamax': lambda p, q: O.Adamax([p, q], lr=0.01),
        'adamax_full': lambda p, q: O.Adamax([{'params': [p]}, {'params': [q], 'lr': 0.02, 'weight_decay': 0.0}],
                                             lr=0.01, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.05),
        'nadam': lambda p, q: O.NAdam([p, q], lr=0.01),
        'nadam_full': lambda p, q: O.NAdam([{'params': [p]}, {'params': [q], 'lr': 0.005, 'weight_decay': 0.0, 'momentum_decay': 0.1}],
                                           lr=0.02, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.02, momentum_decay=0.006),
        'radam': lambda p, q: O.RAdam([p, q], lr=0.01),
        'radam_full': lambda p, q: O.RAdam([{'params': [p]}, {'params': [q], 'lr': 0.03, 'weight_decay': 0.0, 'betas': (0.7, 0.9)}],
                                           lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1),
    }


def start_p():
    return torch.tensor([((i % 17) - 8) / 16 for i in range(37)], dtype=torch.float32)


def start_q():
    return torch.tensor([((j % 5) - 2) / 4 for j in range(13)], dtype=torch.float32)


def grad_p(t):
    return torch.tensor([(((7 * i + 3 * t) % 23) - 11) / 8 for i in range(37)], dtype=torch.float32)


def grad_q(t):
    return torch.tensor([(((5 * j + 2 * t) % 11) - 5) / 4 for j in range(13)], dtype=torch.float32)


def optimizers(f):
    for name, make in optim_cases().items():
        p = start_p().requires_grad_(True)
        q = start_q().requires_grad_(True)
        opt = make(p, q)
        for g in opt.param_groups:
            g['foreach'] = False
        for t in range(OPT_STEPS):
            p.grad = grad_p(t)
            q.grad = grad_q(t)
            opt.step()
            for pname, x in (('p', p), ('q', q)):
                f.write(f'optim {name} {pname} {t} ' + ' '.join('%.9g' % v for v in x.detach().tolist()) + '\n')


def main():
    with open(OUT, 'w') as f:
        f.write('# torch ' + torch.__version__ + ', gen_optim_golden.py\n')
        schedules(f)
        optimizers(f)


if __name__ == '__main__':
    main()
