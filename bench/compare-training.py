#!/usr/bin/python3
"""Issue 16's training targets, PyTorch's side: the same recipes as TrainGPT and TrainResNet, in PyTorch 1.13, so the
final losses and accuracies can be put beside Lanes'. Run the Lanes example with the same flags at the same time (one
thread each on a 2-core machine) or one after the other.

  /usr/bin/python3 bench/compare-training.py gpt [--steps 2000] [--threads 1]
      # Lanes: TrainGPT --steps 2000 --threads 1 (default text: examples/data/jargon.txt.gz)
  /usr/bin/python3 bench/compare-training.py resnet --data DIR [--epochs 5] [--threads 1]
      # Lanes: TrainResNet --data DIR --epochs 5 --threads 1 (DIR: Fashion-MNIST IDX files, e.g. Debian's
      # dataset-fashion-mnist in /usr/share/datasets/fashion-mnist)

Same recipe, own random streams (initial weights, batch order, dropout): the figures agree statistically, not bit for
bit. Prints the same evaluation lines and a final result: line like the Java examples.
"""
import gzip
import math
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


class CharGPT(nn.Module):
    def __init__(self, vocab, context=64, d=128, heads=4, layers=4, dropout=0.1):
        super().__init__()
        self.tok_emb, self.pos_emb = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(d, heads, 4 * d, dropout, 'gelu', batch_first=True, norm_first=True)
                                     for _ in range(layers)])
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t))
        mask = torch.triu(torch.full((t, t), float('-inf')), 1)
        for block in self.blocks:
            x = block(x, src_mask=mask)
        return self.head(self.ln_f(x))


def gpt():
    steps, batch, context, warmup, lr_max, lr_min = arg('--steps', 2000), 32, 64, 100, 1e-3, 1e-4
    with gzip.open(os.path.join(ROOT, 'examples', 'data', 'jargon.txt.gz'), 'rt', encoding='utf-8') as f:
        text = f.read()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.int64)
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    gen = torch.Generator().manual_seed(0)
    model = CharGPT(len(vocab))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}], lr=lr_max,
                            betas=(0.9, 0.95), eps=1e-8)

    def batch_of(d, g):
        ix = torch.randint(len(d) - context, (batch,), generator=g)
        return torch.stack([d[i:i + context] for i in ix]), torch.stack([d[i + 1:i + 1 + context] for i in ix])

    def evaluate(d, seed):
        model.eval()
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            losses = [F.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1)).item() for x, y in (batch_of(d, g) for _ in range(20))]
        return sum(losses) / len(losses)

    t0, tokens = time.perf_counter(), 0
    for step in range(steps):
        lr = lr_max * (step + 1) / warmup if step < warmup else \
            lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))
        for g in opt.param_groups:
            g['lr'] = lr
        model.train()
        x, y = batch_of(train, gen)
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += batch * context
        if (step + 1) % 200 == 0 or step + 1 == steps:
            elapsed = time.perf_counter() - t0
            tr, va = evaluate(train, 1), evaluate(val, 2)
            print(f'step {step + 1}/{steps}: train loss {tr:.4f} | val loss {va:.4f} | lr {lr:.2e} | {tokens / elapsed:.0f} tokens/s', flush=True)
            t0, tokens = time.perf_counter(), 0
    print(f'result: steps={steps} train_loss={tr:.4f} val_loss={va:.4f}')


def idx(path):
    with (gzip.open(path) if path.endswith('.gz') else open(path, 'rb')) as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(d, stem):
    for name in (stem, stem + '.gz'):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit(f'no {stem} in {d}')


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, cin=1, classes=10):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        layers, c = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                layers.append(BasicBlock(c, cout, stride if i == 0 else 1))
                c = cout
        self.layers, self.fc = nn.Sequential(*layers), nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layers(F.relu(self.bn(self.conv(x)))), 1).flatten(1))


def resnet():
    d, epochs, batch = arg('--data', '/usr/share/datasets/fashion-mnist'), arg('--epochs', 5), 128
    def load(prefix):
        x = torch.from_numpy(idx(find(d, prefix + '-images-idx3-ubyte')).astype(np.float32) / 255.0)
        return ((x - 0.2860) / 0.3530).unsqueeze(1), torch.from_numpy(idx(find(d, prefix + '-labels-idx1-ubyte')).astype(np.int64))
    (xtr, ytr), (xte, yte) = load('train'), load('t10k')
    torch.manual_seed(0)
    model = ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(1, epochs + 1):
        model.train()
        perm, t0, seen = torch.randperm(len(xtr)), time.perf_counter(), 0
        for i in range(0, len(xtr), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            F.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
            seen += len(b)
        rate = seen / (time.perf_counter() - t0)
        sched.step()
        model.eval()
        with torch.no_grad():
            correct, loss = 0, 0.0
            for i in range(0, len(xte), 500):
                out = model(xte[i:i + 500])
                loss += F.cross_entropy(out, yte[i:i + 500], reduction='sum').item()
                correct += (out.argmax(1) == yte[i:i + 500]).sum().item()
        print(f'epoch {epoch}: test loss {loss / len(xte):.4f} accuracy {correct / len(xte):.4f} | {rate:.0f} images/s', flush=True)
    print(f'result: epochs={epochs} test_accuracy={correct / len(xte):.4f} test_loss={loss / len(xte):.4f}')


if __name__ == '__main__':
    torch.set_num_threads(arg('--threads', 1))
    {'gpt': gpt, 'resnet': resnet}[sys.argv[1]]()
