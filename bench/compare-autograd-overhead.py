#!/usr/bin/python3
"""PyTorch's side of AutogradOverheadBench: 100 chained adds on 16 floats, then sum().backward().

  /usr/bin/python3 bench/compare-autograd-overhead.py

Prints the median ns per op over 200 repetitions (forward + backward, and forward only under no_grad).
"""
import time
import machine

machine.configure()  # before torch: OpenBLAS reads its settings when it loads
import torch

torch.set_num_threads(1)
CHAIN = 100
x = torch.randn(16, requires_grad=True)
one = torch.ones(16)


def chain_fb():
    y = x
    for _ in range(CHAIN):
        y = y + one
    y.sum().backward()
    x.grad = None


def chain_f():
    with torch.no_grad():
        y = x
        for _ in range(CHAIN):
            y = y + one
        y.sum().item()


def median_ns(fn):
    for _ in range(50):
        fn()
    ts = []
    for _ in range(200):
        t0 = time.perf_counter_ns()
        fn()
        ts.append(time.perf_counter_ns() - t0)
    ts.sort()
    return ts[len(ts) // 2] / CHAIN


print(machine.banner())


print(f'torch {torch.__version__}: chainForwardBackward {median_ns(chain_fb):.0f} ns/op, '
      f'forwardOnlyNoGrad {median_ns(chain_f):.0f} ns/op')
