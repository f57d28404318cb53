#!/usr/bin/python3
"""PyTorch's side of one training-step workload of bench/compare-pytorch, alone: so it can be alternated with
bench/step-timer (Lanes' side of the same step) on a noisy machine, instead of waiting for the whole comparison.

  /usr/bin/python3 bench/compare-models.py resnet20|mlp|gpt THREADS [--width avx2]
  bench/step-timer resnet20 - THREADS compiled          # Lanes, the same model, batch and optimizer

The models, batches and optimizers are compare-pytorch's (ModelTrainBench's twins): ResNet-20 batch 128 with SGD
nesterov + weight decay, MLP 784-1024-1024-10 batch 256 with SGD momentum, char GPT batch 32 x 64 with AdamW and
gradient clipping. PyTorch gets compare-pytorch's configuration for the CPU (bench/machine.py). Prints samples/s
(images, or tokens for the GPT): the median of five 3-second rounds after ten warm-up steps.
"""
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) < 3 or sys.argv[1] not in ('resnet20', 'mlp', 'gpt'):
    sys.exit(__doc__)
which, threads = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, HERE)
loader = importlib.machinery.SourceFileLoader('compare_pytorch', os.path.join(HERE, 'compare-pytorch'))
cp = importlib.util.module_from_spec(importlib.util.spec_from_loader('compare_pytorch', loader))
loader.exec_module(cp)  # configures OpenBLAS for --width before importing torch; main() only runs as a script
torch, nn, F = cp.torch, cp.nn, cp.F
torch.set_num_threads(threads)
torch.manual_seed(0)
if which == 'resnet20':
    net = cp.ResNet20()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    x, y, n = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,)), 128
elif which == 'mlp':
    net = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y, n = torch.randn(256, 784), torch.randint(0, 10, (256,)), 256
else:
    net = cp.CharGPT()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    x, y, n = torch.randint(0, 65, (32, 64)), torch.randint(0, 65, (32 * 64,)), 32 * 64


def step():
    opt.zero_grad()
    out = net(x)
    F.cross_entropy(out.reshape(-1, 65) if which == 'gpt' else out, y).backward()
    if which == 'gpt':
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()


print('%s, %d thread(s), PyTorch %s: %.1f samples/s' % (which, threads, torch.__version__, cp.rate(step, n, seconds=3.0, rounds=5)))
