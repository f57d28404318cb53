#!/usr/bin/python3
"""ONNX models exported by PyTorch (Debian's python3-torch 1.13, torch.onnx.export) and their outputs, for OnnxModelTest.

Run from the repository root:  /usr/bin/python3 src/test/python/gen_onnx_models.py
Writes src/test/resources/onnx/<name>.onnx and src/test/resources/golden/onnx.txt (Golden.java's format): per model
<name>/x (the input) and <name>/y (PyTorch's output for it, eval mode).

- lenet: the LeNet of examples/LeNet.java (conv 5x5, max-pool, ReLU, three Linears), opset 13;
- resnet20: ResNet-20 (BatchNorm with random running statistics, folded into the convolutions by the exporter), opset 13;
- mlp_gelu_ln13: Linear, GELU, LayerNorm, Linear, softmax at opset 13, where GELU and LayerNorm export as their
  decomposed patterns (Erf, ReduceMean, Pow, Sqrt, ...);
- mlp_gelu_ln17: the same at opset 17, where LayerNorm is one LayerNormalization node;
- char_gpt14: a character GPT (token and position embeddings, 2 pre-norm nn.TransformerEncoderLayer blocks with a
  causal mask from triu, GELU, LayerNorm, a Linear head), d_model 64, 4 heads, context 16, opset 14; input int64
  token ids [2, 16].
- activations13 / activations17: the pointwise activations and predicates (see Activations);
- top5_10 / top5_13: a classifier's top-5 scores (torch.topk(logits, 5): TopK with k an input; opset 10 without the
  largest / sorted attributes), logits with ties and a NaN;
- topk_gather13: the 3 smallest logits' indices (TopK largest = 0, axis -1) gathered from an embedding table (Gather
  with int64 indices computed in the graph) and weighted by their values.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_tensor_golden import record

ROOT = os.path.join(os.path.dirname(__file__), '..', 'resources')


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


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
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class ResNet20(nn.Module):
    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16, 1)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 16, 1), BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32, 1), BasicBlock(32, 32, 1))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MlpGeluLn(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.ln = nn.LayerNorm(64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return F.softmax(self.fc2(self.ln(F.gelu(self.fc1(x)))), dim=-1)


class CharGPT(nn.Module):
    def __init__(self, vocab=65, context=16, d=64, heads=4, layers=2):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Embedding(context, d)
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(d, heads, 4 * d, 0.0, 'gelu', 1e-5, batch_first=True, norm_first=True)
                                     for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t))
        mask = torch.triu(torch.full((t, t), float('-inf')), 1)
        for block in self.blocks:
            x = block(x, src_mask=mask)
        return self.head(self.ln_f(x))


class Activations(nn.Module):
    """The pointwise activations and predicates PyTorch exports as PRelu (a per-channel slope), Selu, Celu, Softsign, Floor,
    Ceil, Round, Sign, IsNaN, IsInf (and hardshrink / softshrink / mish as torch 1.13 decomposes them)."""

    def __init__(self, channels=4):
        super().__init__()
        self.prelu = nn.PReLU(channels)
        self.prelu.weight.data.uniform_(-0.5, 0.5)
        self.selu = nn.SELU()
        self.celu = nn.CELU(0.7)
        self.softsign = nn.Softsign()

    def forward(self, x):
        bad = torch.isnan(x) | torch.isinf(x)
        v = torch.where(bad, torch.zeros_like(x), x)
        y = self.selu(self.prelu(v)) + self.celu(v) + self.softsign(v) + F.hardshrink(v, 0.3) + F.softshrink(v, 0.2) + F.mish(v)
        y = y + torch.floor(v * 3) + torch.ceil(v * 2) + torch.round(v * 4) + torch.sign(v)
        return torch.where(torch.isinf(x), torch.full_like(x, 7.0), y)


class Top5(nn.Module):
    """A classifier returning its top-5 scores; flooring to halves makes ties, and a NaN logit is the largest."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 20)

    def forward(self, x):
        logits = torch.floor(self.fc(x) * 2) / 2
        return torch.topk(logits, 5).values


class TopkGather(nn.Module):
    """Ranking: the 3 smallest logits pick rows of an embedding table, weighted by their values."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 20)
        self.table = nn.Embedding(20, 6)

    def forward(self, x):
        v, i = torch.topk(self.fc(x), 3, dim=-1, largest=False)
        return (self.table(i) * v.unsqueeze(-1)).sum(1)


def export(f, name, model, x, opset):
    model.eval()
    path = os.path.join(ROOT, 'onnx', name + '.onnx')
    # the batch dim symbolic, as a serving export has it (ONNX Runtime enforces declared dims; Lanes plans take any batch)
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=['x'], output_names=['y'], do_constant_folding=True,
                      dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}})
    with torch.no_grad():
        y = model(x)
    record(f, name + '/x', x, [])
    record(f, name + '/y', y, [])
    print(name, os.path.getsize(path), 'bytes')


def main():
    os.makedirs(os.path.join(ROOT, 'onnx'), exist_ok=True)
    with open(os.path.join(ROOT, 'golden', 'onnx.txt'), 'w') as f:
        torch.manual_seed(0)
        export(f, 'lenet', LeNet(), torch.randn(4, 1, 32, 32), 13)
        torch.manual_seed(1)
        net = ResNet20()
        for m in net.modules():  # random running statistics and affine terms, so the folding has something to fold
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        export(f, 'resnet20', net, torch.randn(2, 3, 32, 32), 13)
        torch.manual_seed(2)
        mlp = MlpGeluLn()
        x = torch.randn(8, 32)
        export(f, 'mlp_gelu_ln13', mlp, x, 13)
        export(f, 'mlp_gelu_ln17', mlp, x, 17)
        torch.manual_seed(3)
        export(f, 'char_gpt14', CharGPT(), torch.randint(0, 65, (2, 16)), 14)
        torch.manual_seed(4)
        act = Activations()
        xa = torch.randn(3, 4, 5) * 2
        xa[0, 1, 2] = float('nan')
        xa[1, 2, 3] = float('inf')
        xa[2, 0, 4] = float('-inf')
        xa[2, 3, 0] = 0.125  # round(0.5): a half, to even
        xa[2, 3, 1] = 0.375  # round(1.5)
        export(f, 'activations13', act, xa, 13)
        export(f, 'activations17', act, xa, 17)
        torch.manual_seed(5)
        top5 = Top5()
        xt = torch.randn(6, 16)
        xt[2, 3] = float('nan')  # a NaN through the Linear: row 2's logits are all NaN, every one the largest
        export(f, 'top5_10', top5, xt, 10)
        export(f, 'top5_13', top5, xt, 13)
        torch.manual_seed(6)
        export(f, 'topk_gather13', TopkGather(), torch.randn(5, 16), 13)


if __name__ == '__main__':
    main()
