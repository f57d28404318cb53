#!/usr/bin/python3
"""Parity run of TrainGPT's model (GptParityTest): 50 AdamW steps of the char GPT in PyTorch 1.13 (Debian's
python3-torch), from initial weights and batches both frameworks derive from the same integer generators, so no
weights or data need to be stored.

Run from the repository root:  /usr/bin/python3 src/test/python/gen_gpt_parity.py
Writes src/test/resources/golden/gpt_parity.txt: "loss <step> <value>" for each step and "norm <name> <value>" (the
L2 norm of each parameter after the last step). The Java test replays the same steps and compares.

The shared recipe (GptParityTest spells out the same):
  model     CharGPT(vocab 65, context 64, d_model 128, 4 heads, 4 layers, dropout 0, untied head): pre-norm
            TransformerEncoderLayer blocks (GELU, 4x MLP), causal mask, learned positions
  weights   LayerNorms 1 and 0; every other parameter uniform in [-b, b), b = 1 / sqrt(fan) (fan: the second size of a
            matrix, the length of a vector), drawn from LCG64 seeded with the FNV-1a hash of its name, in float32:
            u = (state >> 40) * 2^-24, w = (2u - 1) * float32(b)
  batches   8 sequences of 65 tokens per step from LCG64 seeded 12345: t0 = r % 65, t[i+1] = (5 t[i] + 1 + r % 3) % 65,
            r = state >> 33; x = t[:64], y = t[1:]
  optimizer AdamW(betas 0.9, 0.95, eps 1e-8), weight decay 0.1 on parameters of 2 or more dims and 0 on the rest;
            lr 1e-3 * (step + 1) / 10 for the first 10 steps, then cosine down to 1e-4 at step 50; gradients clipped
            to norm 1.0; cross entropy over all B * T positions.
"""
import math
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'golden', 'gpt_parity.txt')
MASK = (1 << 64) - 1
VOCAB, CONTEXT, D, HEADS, LAYERS = 65, 64, 128, 4, 4
BATCH, STEPS, WARMUP, LR_MAX, LR_MIN = 8, 50, 10, 1e-3, 1e-4


class Lcg:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK
        return self.state


def fnv1a(name):
    h = 0xcbf29ce484222325
    for b in name.encode('utf-8'):
        h = ((h ^ b) * 0x100000001b3) & MASK
    return h


class CharGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, D)
        self.pos_emb = nn.Embedding(CONTEXT, D)
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(D, HEADS, 4 * D, 0.0, 'gelu', 1e-5, batch_first=True, norm_first=True)
                                     for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t))
        mask = torch.triu(torch.full((t, t), float('-inf')), 1)
        for block in self.blocks:
            x = block(x, src_mask=mask)
        return self.head(self.ln_f(x))


def init_weights(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'norm' in name or name.startswith('ln_f'):
                continue
            fan = p.shape[1] if p.dim() >= 2 else p.shape[0]
            bound = np.float32(1 / math.sqrt(fan))
            lcg = Lcg(fnv1a(name))
            u = np.array([(lcg.next() >> 40) for _ in range(p.numel())], dtype=np.float64) * 2.0 ** -24
            w = (np.float32(2) * u.astype(np.float32) - np.float32(1)) * bound
            p.copy_(torch.from_numpy(w.astype(np.float32)).view(p.shape))


def batches():
    lcg = Lcg(12345)
    for _ in range(STEPS):
        seqs = []
        for _ in range(BATCH):
            t = [(lcg.next() >> 33) % VOCAB]
            for _ in range(CONTEXT):
                t.append((5 * t[-1] + 1 + (lcg.next() >> 33) % 3) % VOCAB)
            seqs.append(t)
        s = torch.tensor(seqs, dtype=torch.int64)
        yield s[:, :CONTEXT], s[:, 1:]


def lr_at(step):
    if step < WARMUP:
        return LR_MAX * (step + 1) / WARMUP
    progress = (step - WARMUP) / (STEPS - WARMUP)
    return LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1 + math.cos(math.pi * progress))


def main():
    torch.manual_seed(0)
    model = CharGPT()
    init_weights(model)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}],
                            lr=LR_MAX, betas=(0.9, 0.95), eps=1e-8)
    lines = []
    for step, (x, y) in enumerate(batches()):
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lines.append(f'loss {step} {loss.item():.9g}')
    for name, p in model.named_parameters():
        lines.append(f'norm {name} {p.detach().double().norm().item():.12g}')
    with open(OUT, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(lines[0], lines[STEPS - 1])


if __name__ == '__main__':
    main()
