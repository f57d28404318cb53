#!/usr/bin/python3
"""Structural ops exported by PyTorch (Debian's python3-torch 1.13, torch.onnx.export), for OnnxModelTest.

Run from the repository root:  /usr/bin/python3 src/test/python/gen_onnx_structural.py
Writes src/test/resources/onnx/<name>.onnx and src/test/resources/golden/onnx_structural.txt (Golden.java's format):
per model <name>/x (the input) and <name>/y (PyTorch's output for it, eval mode).

- pixel_shuffle13: nn.PixelShuffle(2) (DepthToSpace, mode CRD) after a conv, then nn.PixelUnshuffle(2) (exported as
  Reshape / Transpose / Reshape) and x.repeat(1, 2, 1, 3) (Tile, repeats a folded constant), opset 13;
- instance_norm13: nn.InstanceNorm2d(affine=True) with random scale and bias (InstanceNormalization), opset 13;
- einsum13: torch.einsum "bij,bjk->bik", "ij,jk->ik" (on a weight), "bhid,bhjd->bhij" and "ij->ji", opset 13;
- upsample9: nn.Upsample(scale_factor=(2, 3)) nearest at opset 9, which exports the deprecated Upsample (scales a
  folded Constant input). Bilinear is not exported here: torch 1.13 warns its opset-9 Upsample "linear" (ONNX's
  asymmetric coordinates) does not match PyTorch's half-pixel bilinear.
"""
import os

import torch
import torch.nn as nn

from gen_tensor_golden import record

ROOT = os.path.join(os.path.dirname(__file__), '..', 'resources')


class PixelShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)

    def forward(self, x):
        y = self.shuffle(self.conv(x))  # [N, 3, 2H, 2W]
        z = self.unshuffle(y * 2)  # [N, 12, H, W]
        return z.repeat(1, 2, 1, 3)  # Tile


class InstanceNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.InstanceNorm2d(5, affine=True, eps=1e-3)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.norm(x) + 0.5


class EinsumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 6))

    def forward(self, x):  # x [2, 3, 4, 8]: batch, heads, tokens, features
        scores = torch.einsum('bhid,bhjd->bhij', x, x)  # [2, 3, 4, 4]
        flat = x.reshape(6, 4, 8)
        mixed = torch.einsum('bij,bjk->bik', scores.reshape(6, 4, 4), flat)  # [6, 4, 8]
        proj = torch.einsum('ij,jk->ik', mixed.reshape(24, 8), self.w)  # [24, 6]
        return torch.einsum('ij->ji', proj)  # [6, 24]


class UpsampleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.nearest = nn.Upsample(scale_factor=(2, 3), mode='nearest')

    def forward(self, x):
        return torch.relu(self.nearest(self.conv(x)))


def export(f, name, model, x, opset):
    model.eval()
    path = os.path.join(ROOT, 'onnx', name + '.onnx')
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=['x'], output_names=['y'], do_constant_folding=True)
    with torch.no_grad():
        y = model(x)
    record(f, name + '/x', x, [])
    record(f, name + '/y', y, [])
    print(name, os.path.getsize(path), 'bytes')


def main():
    os.makedirs(os.path.join(ROOT, 'onnx'), exist_ok=True)
    with open(os.path.join(ROOT, 'golden', 'onnx_structural.txt'), 'w') as f:
        torch.manual_seed(11)
        export(f, 'pixel_shuffle13', PixelShuffleNet(), torch.randn(2, 3, 5, 4), 13)
        torch.manual_seed(12)
        export(f, 'instance_norm13', InstanceNormNet(), torch.randn(2, 5, 6, 7) * 3 + 1, 13)
        torch.manual_seed(13)
        export(f, 'einsum13', EinsumNet(), torch.randn(2, 3, 4, 8), 13)
        torch.manual_seed(14)
        export(f, 'upsample9', UpsampleNet(), torch.randn(2, 3, 4, 5), 9)


if __name__ == '__main__':
    main()
