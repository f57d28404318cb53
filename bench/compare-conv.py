#!/usr/bin/python3
"""ResNet's 3 x 3 64 -> 64 convolution on 56 x 56 (ImageNet's first stage), Lanes against PyTorch, side by side.

  /usr/bin/python3 bench/compare-conv.py [--width native|avx2] [--quick]

Lanes: JMH's Conv2dBench (forward, and forward + backward with the input, weight and bias gradients, the gradients
closed after each step as Optimizer.zeroGrad does) on [32, 64, 56, 56] and [1, 64, 56, 56], one and two threads, forked
JVMs (bench/jmh). PyTorch: F.conv2d the same way (no_grad for the forward; y.backward(ones_like(y)) and the gradients
dropped for the backward), torch.set_num_threads per row, the median of five 2-second rounds after three warm-up calls.
--width avx2 on an AVX-512 machine compares 256-bit code on both sides (Lanes -XX:UseAVX=2; PyTorch's OpenBLAS Haswell
kernel, ATEN_CPU_CAPABILITY=avx2 and oneDNN capped at AVX2: bench/machine.py). GFLOP/s: 2 N O oH oW C kH kW a pass,
three passes for forward + backward.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import machine  # noqa: E402

WIDTH = sys.argv[sys.argv.index('--width') + 1] if '--width' in sys.argv else 'native'
QUICK = '--quick' in sys.argv
machine.configure(WIDTH)  # before torch: OpenBLAS and oneDNN read their settings when they load
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

LAYERS = {'resnet3x3': 32, 'resnet3x3b1': 1}


def lanes():
    path = os.path.join(ROOT, 'target', 'compare-conv-' + WIDTH + '.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opts = ['-f', '1', '-wi', '2', '-i', '3', '-w', '2', '-r', '2'] if QUICK else ['-f', '2', '-wi', '3', '-i', '5', '-w', '2', '-r', '2']
    width = ['-jvmArgsAppend', '-XX:UseAVX=2'] if WIDTH == 'avx2' else []
    cmd = [os.path.join(ROOT, 'bench', 'jmh'), 'Conv2dBench', '-p', 'layer=' + ','.join(LAYERS), '-p', 'threads=1,2'] + opts + width \
        + ['-rf', 'json', '-rff', path]
    print('running', ' '.join(cmd[1:]), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        results = json.load(f)
    out = {}
    for r in results:
        bench = r['benchmark'].rsplit('.', 1)[1]
        out[(r['params']['layer'], int(r['params']['threads']), bench)] = r['secondaryMetrics']['GFLOPs']['score']
    return out


def rate(fn, flops, rounds=5, seconds=2.0):
    for _ in range(3):
        fn()
    rates = []
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            fn()
            n += 1
        rates.append(n * flops / (time.perf_counter() - t0) / 1e9)
    return sorted(rates)[len(rates) // 2]


def pytorch():
    out = {}
    torch.manual_seed(0)
    for layer, n in LAYERS.items():
        x = torch.randn(n, 64, 56, 56, requires_grad=True)
        w = torch.randn(64, 64, 3, 3, requires_grad=True)
        b = torch.randn(64, requires_grad=True)
        flops = 2.0 * n * 64 * 56 * 56 * 64 * 9

        def forward():
            with torch.no_grad():
                F.conv2d(x, w, b, padding=1)

        def forward_backward():
            y = F.conv2d(x, w, b, padding=1)
            y.backward(torch.ones_like(y))
            x.grad = w.grad = b.grad = None

        for threads in (1, 2):
            torch.set_num_threads(threads)
            out[(layer, threads, 'forward')] = rate(forward, flops)
            out[(layer, threads, 'forwardBackward')] = rate(forward_backward, 3 * flops)
    return out


def main():
    lr = lanes()
    pt = pytorch()
    print(machine.banner(WIDTH))
    print()
    print('| convolution (GFLOP/s) | Lanes | PyTorch | ratio |')
    print('|---|---:|---:|---:|')
    for layer, n in LAYERS.items():
        for bench, name in (('forward', 'forward'), ('forwardBackward', 'forward + backward')):
            for threads in (1, 2):
                a, b = lr.get((layer, threads, bench)), pt[(layer, threads, bench)]
                ratio = f'{a / b:.2f}x' if a else 'n/a'
                print(f'| [{n},64,56,56] {name}, {threads} thread{"s" if threads > 1 else ""} | {a or float("nan"):.1f} | {b:.1f} | {ratio} |')


if __name__ == '__main__':
    main()
