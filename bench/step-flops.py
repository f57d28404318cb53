#!/usr/bin/python3
"""The multiply-add work in one training step of compare-pytorch's four workloads, and the ceiling it puts on speed.

  /usr/bin/python3 bench/step-flops.py [--peak GFLOPS]

Counts the forward multiply-adds of every convolution and matrix product (nn.Conv2d and nn.Linear by forward hooks,
the attention's projections and its two batched products from the shapes), then a training step as forward +
input gradient + weight gradient: 3 x the forward's products, less the first layer's input gradient, which no one
needs. Everything else in a step (pooling, BatchNorm, LayerNorm, softmax, GELU, the optimizer) is memory-bound
work on top and is not counted, so the ceiling below is generous.

With --peak (the single-core FMA peak in GFLOP/s: `bench/jmh FmaPeakBench`, the :GFLOPs row) it prints, per
workload, the samples/s a step could reach if its products alone ran at that peak and nothing else took any time.
Divide by PyTorch's measured samples/s (bench/compare-models.py, bench/compare-lenet.py) for the highest ratio any
implementation could show on this core.
"""
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
loader = importlib.machinery.SourceFileLoader('compare_pytorch', os.path.join(HERE, 'compare-pytorch'))
cp = importlib.util.module_from_spec(importlib.util.spec_from_loader('compare_pytorch', loader))
loader.exec_module(cp)
torch, nn = cp.torch, cp.nn
PEAK = float(sys.argv[sys.argv.index('--peak') + 1]) if '--peak' in sys.argv else None


def forward_macs(net, x):
    """(all forward multiply-adds for input x, those of the first layer that sees the input)."""
    macs = []

    def conv(m, inp, out):
        macs.append(out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1])

    def linear(m, inp, out):
        macs.append(out.numel() * m.in_features)

    def attention(m, inp, out):
        b, t, d = inp[0].shape  # batch_first
        # in-projection (q, k, v), out-projection, scores q k^T and their weighted sum of v (every head, all t keys)
        macs.append(b * t * (3 * d * d + d * d) + 2 * b * t * t * d)

    hooks = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(attention))
        elif isinstance(m, nn.Linear) and not isinstance(m, nn.modules.linear.NonDynamicallyQuantizableLinear):
            hooks.append(m.register_forward_hook(linear))  # the attention's out_proj is counted with the attention
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    first = macs[0] if isinstance(net, (cp.LeNet, cp.ResNet20)) else 0  # the GPT's first layer is an embedding lookup
    return sum(macs), first


WORKLOADS = [
    ('LeNet, batch 64', cp.LeNet(), torch.randn(64, 1, 32, 32), 64, 'images'),
    ('ResNet-20, batch 128', cp.ResNet20(), torch.randn(128, 3, 32, 32), 128, 'images'),
    ('MLP 784-1024-1024-10, batch 256', nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                                                      nn.Linear(1024, 10)), torch.randn(256, 784), 256, 'samples'),
    ('char GPT, batch 32 x 64', cp.CharGPT(), torch.randint(0, 65, (32, 64)), 32 * 64, 'tokens'),
]

print('| training step | forward GFLOP | step GFLOP (products only) | GFLOP per sample |'
      + (' samples/s at %.1f GFLOP/s |' % PEAK if PEAK else ''))
print('|---|---|---|---|' + ('---|' if PEAK else ''))
for name, net, x, n, unit in WORKLOADS:
    total, first = forward_macs(net, x)
    step = 2.0 * (3 * total - first) / 1e9
    row = '| %s | %.3f | %.3f | %.5f |' % (name, 2.0 * total / 1e9, step, step / n)
    if PEAK:
        row += ' %.0f %s/s |' % (PEAK / step * n, unit)
    print(row)
