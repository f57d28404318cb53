#!/usr/bin/python3
"""ResNet-20 training parity goldens (issue 16, item 6), for ResNetParityTest (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_resnet_parity.py
Builds He et al.'s CIFAR ResNet-20 with torchvision's names (the twin of examples/.../ResNet20.java) for 1 input
channel and 10 classes, seeds it, and trains it for 50 SGD steps (lr 0.1, momentum 0.9, weight decay 5e-4,
Nesterov, BatchNorm in train mode) on batches of 16 images drawn by index from the shipped Fashion-MNIST sample
(examples/data/fashion-mnist-t10k, normalised like TrainLeNet: x / 255, then (x - 0.2860) / 0.3530, in float32).
Writes
  ../resources/golden/resnet20_init.safetensors  the initial state dict (float32, num_batches_tracked int64), with a
                                                  hand-written safetensors writer (no pip packages)
  ../resources/golden/resnet_parity.txt          the SGD settings, the batch indices, the loss at every step, the L2
                                                  norm of every state-dict tensor after the first update and after
                                                  the last one (and their total), and in its header how far the same
                                                  run in float64 ends up from this float32 one
With --spread N it writes nothing and prints how far PyTorch's float64 run and N float32 runs from perturbed initial
weights end up from the goldens' run: the scale ResNetParityTest's 50-step tolerances are set from.
The batches themselves are not stored: the test rebuilds them from the shipped file by index. One thread, so the
files come out the same on every run.
"""
import gzip
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_io_golden import save_safetensors  # the same writer as the io goldens (8-byte length, JSON header, data)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
OUT = os.path.join(ROOT, 'src', 'test', 'resources', 'golden')
SAMPLE = os.path.join(ROOT, 'examples', 'data', 'fashion-mnist-t10k')

SEED = 16
STEPS = 50
BATCH = 16
LR, MOMENTUM, WEIGHT_DECAY, NESTEROV = 0.1, 0.9, 5e-4, True
MEAN, STD = 0.2860, 0.3530


def conv3x3(cin, cout, stride):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:  # option B: a projection where the shape changes
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class ResNet20(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16, 1)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 16, 1), BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32, 1), BasicBlock(32, 32, 1))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():  # torchvision's resnet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def batches():
    """The batch indices and the normalised images/labels of the whole sample, float32 as Lanes computes them."""
    images = read_idx(os.path.join(SAMPLE, 't10k-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(SAMPLE, 't10k-labels-idx1-ubyte.gz'))
    x = (images.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)  # ToTensor, Normalize
    order = np.random.RandomState(SEED).permutation(len(labels))[:STEPS * BATCH].reshape(STEPS, BATCH)
    return order, x, labels.astype(np.int64)


def train(net, order, x, labels, dtype=torch.float32):
    """50 steps; returns the losses and the norms of the state after the first update."""
    net = net.to(dtype)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, nesterov=NESTEROV)
    net.train()
    losses = []
    first = None
    for idx in order:
        xb = torch.from_numpy(x[idx]).to(dtype).unsqueeze(1)
        yb = torch.from_numpy(labels[idx])
        opt.zero_grad()
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if first is None:
            first = norms(net)
    return losses, first


def norms(net):
    return {k: v.double().norm().item() for k, v in net.state_dict().items() if v.is_floating_point()}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    net = ResNet20(1, 10)
    init = {k: v.clone() for k, v in net.state_dict().items()}
    order, x, labels = batches()
    losses, first = train(net, order, x, labels)
    final = net.state_dict()

    # The same run in float64: how far PyTorch's own float32 run drifts from it. ReLU nets' gradients jump where a
    # pre-activation crosses zero, and float32 rounding moves some across within the first steps; at lr 0.1 the
    # trajectories then separate (recorded below; ResNetParityTest's tolerances are set from these figures).
    net64 = ResNet20(1, 10)
    net64.load_state_dict(init)
    losses64, _ = train(net64, order, x, labels, torch.float64)
    rel = [abs(a - b) / abs(b) for a, b in zip(losses, losses64)]
    final64 = norms(net64)

    def total(n, keep):
        return sum(v * v for k, v in n.items() if keep(k)) ** 0.5

    def weights(k):
        return not k.endswith(('running_mean', 'running_var'))

    os.makedirs(OUT, exist_ok=True)
    save_safetensors(init, os.path.join(OUT, 'resnet20_init.safetensors'),
                     {'framework': 'pytorch', 'note': 'ResNet-20, 1 channel, 10 classes, torch.manual_seed(%d)' % SEED})
    with open(os.path.join(OUT, 'resnet_parity.txt'), 'w') as f:
        f.write('# ResNet-20 parity run written by src/test/python/gen_resnet_parity.py (PyTorch %s, float32, 1 thread);'
                ' read by ResNetParityTest\n' % torch.__version__)
        f.write('# batch <step> <%d indices into examples/data/fashion-mnist-t10k t10k>, images normalised (x / 255 - %r) / %r\n'
                % (BATCH, MEAN, STD))
        f.write('# loss <step> <loss of that step, before its update>; after1 <name> <L2 norm after the first update>;\n')
        f.write('# norm <name> <L2 norm after step %d>; count: num_batches_tracked; total: L2 norm of all float tensors\n' % STEPS)
        f.write('# the same run in float64: max relative loss difference %.3g (step %d), steps 0-1 %.3g;'
                ' mean loss %.4f vs %.4f; total weight norm %.3g relative;'
                ' largest per-tensor norm difference %.3g\n'
                % (max(rel), int(np.argmax(rel)), max(rel[:2]), np.mean(losses64), np.mean(losses),
                   abs(total(final64, weights) - total(norms(net), weights)) / total(norms(net), weights),
                   max(abs(final64[k] - v) / max(v, 1e-30) for k, v in norms(net).items())))
        f.write('sgd %r %r %r %s\n' % (LR, MOMENTUM, WEIGHT_DECAY, 'nesterov' if NESTEROV else 'plain'))
        f.write('steps %d\n' % STEPS)
        for s, idx in enumerate(order):
            f.write('batch %d %s\n' % (s, ' '.join(str(int(i)) for i in idx)))
        for s, l in enumerate(losses):
            f.write('loss %d %r\n' % (s, l))
        for k, v in first.items():
            f.write('after1 %s %r\n' % (k, v))
        sq = 0.0
        for k, v in final.items():
            if k.endswith('num_batches_tracked'):
                f.write('count %s %d\n' % (k, v.item()))
                continue
            n = v.double().norm().item()
            sq += n * n
            f.write('norm %s %r\n' % (k, n))
        f.write('total %r\n' % (sq ** 0.5))


def spread(runs):
    """PyTorch against itself: the float64 run and `runs` float32 runs with the initial weights scaled by 1 + 1e-7 N(0, 1),
    each compared with the float32 run the goldens hold, in the figures ResNetParityTest checks over the 50 steps."""
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    init = ResNet20(1, 10).state_dict()
    order, x, labels = batches()

    def run(dtype=torch.float32, seed=None):
        net = ResNet20(1, 10)
        net.load_state_dict(init)
        if seed is not None:
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for p in net.parameters():
                    p.mul_(1 + 1e-7 * torch.randn(p.shape, generator=g))
        losses, _ = train(net, order, x, labels, dtype)
        n = norms(net)
        return np.array(losses), sum(v * v for k, v in n.items() if not k.endswith(('running_mean', 'running_var'))) ** 0.5

    ref, ref_w = run()
    print('run        first-2-steps  mean-loss  last10/first10  all-parameters-norm   (reference: last10/first10 %.3f)'
          % (ref[-10:].mean() / ref[:10].mean()))
    for name, (l, w) in [('float64', run(torch.float64))] + [('seed %d' % s, run(seed=s)) for s in range(runs)]:
        print('%-10s %.1e        %.4f     %.3f           %.2e' % (name, max(abs(l[:2] - ref[:2]) / ref[:2]), abs(l.mean() - ref.mean()) / ref.mean(),
                                                       l[-10:].mean() / l[:10].mean(), abs(w - ref_w) / ref_w))


if __name__ == '__main__':
    import sys
    if len(sys.argv) > 2 and sys.argv[1] == '--spread':
        spread(int(sys.argv[2]))
    else:
        main()
