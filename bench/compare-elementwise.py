#!/usr/bin/python3
"""PyTorch's side of ElementwiseBench: add and relu on 16M float32, out-of-place, out=, and in place.

  sudo apt install python3-torch libopenblas0-pthread
  /usr/bin/python3 bench/compare-elementwise.py [threads]

Prints the median time of 30 calls and GB/s (bytes the op must move per second), like ElementwiseBench.
"""
import sys
import time
import machine

machine.configure()  # before torch: OpenBLAS reads its settings when it loads
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
n = 16 * 1024 * 1024
a, b, out = torch.randn(n), torch.randn(n), torch.empty(n)


def bench(name, fn, nbytes):
    for _ in range(5):
        fn()
    ts = []
    for _ in range(30):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    med = ts[len(ts) // 2]
    print(f'{name:18s} {med * 1e3:8.3f} ms  {nbytes / med / 1e9:6.1f} GB/s')


print(machine.banner())
print(f'torch {torch.__version__}, {threads} thread(s), n={n}')
bench('addOutOfPlace', lambda: a + b, 12 * n)
bench('addPreallocated', lambda: torch.add(a, b, out=out), 12 * n)
bench('addInPlace', lambda: out.add_(b), 12 * n)
bench('reluOutOfPlace', lambda: torch.relu(a), 8 * n)
bench('reluPreallocated', lambda: torch.relu(a, out=out) if False else torch.clamp_min(a, 0, out=out), 8 * n)
bench('reluInPlace', lambda: out.relu_(), 8 * n)
