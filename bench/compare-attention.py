#!/usr/bin/python3
"""PyTorch's side of AttentionBench: causal self-attention of [8, 4, T, 32], one thread, forward without a graph and
a training step (forward + backward of q, k, v).

  /usr/bin/python3 bench/compare-attention.py [--width avx2]
  bench/jmh AttentionBench                     # Lanes' side (-jvmArgsAppend -XX:UseAVX=2 for 256 bits)

PyTorch 1.13 has no F.scaled_dot_product_attention (2.0 added it); its attention (nn.MultiheadAttention) is the
composite below: bmm, scale, mask, softmax, bmm, which is what Lanes' `simple` path does too. Median of repeated calls
after warm-up, in ms.
"""
import math
import sys
import machine

width = sys.argv[sys.argv.index('--width') + 1] if '--width' in sys.argv else 'native'
machine.configure(width)  # before torch: OpenBLAS reads its settings when it loads
import torch


def median_ms(fn):
    return machine.median_s(fn, min_time=2.0) * 1e3


def attend(q, k, v, mask):
    return ((q @ k.transpose(-2, -1)) * (1 / math.sqrt(q.size(-1))) + mask).softmax(-1) @ v


def main():
    print(machine.banner(width))
    print(f'torch {torch.__version__}')
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for t in (64, 256, 1024):
        q, k, v, g = (torch.randn(8, 4, t, 32) for _ in range(4))
        mask = torch.triu(torch.full((t, t), float('-inf')), 1)

        def forward():
            with torch.no_grad():
                return attend(q, k, v, mask).sum().item()

        def train():
            leaves = [x.detach().requires_grad_(True) for x in (q, k, v)]
            attend(*leaves, mask).backward(g)
            return sum(x.grad.sum().item() for x in leaves)

        print(f'attention causal [8, 4, {t}, 32] 1 thread: forward {median_ms(forward):.3f} ms, train {median_ms(train):.3f} ms')


if __name__ == '__main__':
    main()
