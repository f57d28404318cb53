#!/usr/bin/python3
"""PyTorch's side of SgemmBench, Conv2dBench and MaxPoolBench, same shapes, same thread counts.

  sudo apt install python3-torch libopenblas0-pthread
  /usr/bin/python3 bench/compare-kernels.py    # OpenBLAS's kernel and one OpenBLAS thread: bench/machine.py

Median of repeated calls after warm-up; GFLOP/s counted like the JMH benchmarks (2 M N K; conv 2 N O oH oW C kH kW,
forward + backward = 3 passes). OpenBLAS is held to 1 thread and torch's own pool set per row, the best setting here.
"""
import sys
import machine

machine.configure()  # before torch: OpenBLAS reads its settings when it loads
import torch
import torch.nn.functional as F


median_s = machine.median_s


def main():
    print(machine.banner())
    print(f'torch {torch.__version__}')
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (64, 128, 256, 512, 1024, 2048):
            a, b = torch.randn(n, n), torch.randn(n, n)
            s = median_s(lambda: a.mm(b))
            print(f'sgemm {n}x{n}x{n} threads={threads}: {2 * n ** 3 / s / 1e9:.1f} GFLOP/s')
        for m, n, k in ((6, 50176, 25), (16, 6400, 150), (64, 120, 400)):
            a, b = torch.randn(m, k), torch.randn(k, n)
            s = median_s(lambda: a.mm(b))
            print(f'sgemm {m}x{n}x{k} threads={threads}: {2 * m * n * k / s / 1e9:.1f} GFLOP/s')
        for name, xs, ws, pad in (('resnet3x3', (32, 64, 56, 56), (64, 64, 3, 3), 1), ('lenet1', (64, 1, 32, 32), (6, 1, 5, 5), 0),
                                  ('lenet2', (64, 6, 14, 14), (16, 6, 5, 5), 0)):
            x = torch.randn(*xs, requires_grad=True)
            w = torch.randn(*ws, requires_grad=True)
            b = torch.randn(ws[0], requires_grad=True)
            with torch.no_grad():
                y = F.conv2d(x, w, b, padding=pad)
            flops = 2 * y.numel() * ws[1] * ws[2] * ws[3]

            def fwd():
                with torch.no_grad():
                    F.conv2d(x, w, b, padding=pad)

            def fwd_bwd():
                out = F.conv2d(x, w, b, padding=pad)
                out.backward(torch.ones_like(out))
                x.grad = w.grad = b.grad = None

            s1 = median_s(fwd)
            s2 = median_s(fwd_bwd)
            print(f'conv {name} threads={threads}: forward {flops / s1 / 1e9:.1f} GFLOP/s, forward+backward {3 * flops / s2 / 1e9:.1f} GFLOP/s')
        x = torch.randn(64, 6, 28, 28)
        with torch.no_grad():
            s = median_s(lambda: F.max_pool2d(x, 2))
        xg = x.clone().requires_grad_(True)
        s2 = median_s(lambda: F.max_pool2d(xg, 2))
        print(f'maxpool [64,6,28,28] k2 threads={threads}: inference {s * 1e6:.0f} us, with indices {s2 * 1e6:.0f} us')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
