#!/usr/bin/python3
"""An upsampling decoder exported by PyTorch (Debian's python3-torch 1.13, torch.onnx.export), for OnnxDecoderTest.

Run from the repository root:  /usr/bin/python3 src/test/python/gen_onnx_decoder.py
Writes src/test/resources/onnx/decoder<opset>.onnx and src/test/resources/golden/onnx_decoder.txt (Golden.java's
format): per model <name>/x (the input) and <name>/y (PyTorch's output for it, eval mode). The decoder runs the ops a
segmentation or generator head exports to: ConvTranspose (stride, padding, output_padding, groups, dilation),
Resize (bilinear with and without align_corners, nearest up and down, from scales and from sizes), Pad (reflect),
CumSum and ReduceProd. Opset 11 passes Resize's scales and sizes as inputs after an roi, opset 13 the same with empty ones.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_tensor_golden import record

ROOT = os.path.join(os.path.dirname(__file__), '..', 'resources')


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.up3 = nn.ConvTranspose2d(4, 4, 3, padding=2, dilation=2, bias=False)
        self.conv = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.up1(x))  # [N, 6, 16, 16]
        y = F.interpolate(y, scale_factor=1.5, mode='bilinear', align_corners=False)  # 24 x 24, pytorch_half_pixel
        y = self.up2(y)  # [N, 4, 48, 48]
        y = F.interpolate(y, size=(20, 30), mode='nearest')  # down, asymmetric floor
        y = self.up3(F.pad(y, (1, 2, 0, 1), mode='reflect'))  # Pad, reflect
        y = F.interpolate(y, scale_factor=2, mode='bilinear', align_corners=True)  # 40 x 60
        y = self.conv(y)
        return torch.cumsum(y, dim=2) * 0.1 + y.prod(dim=1, keepdim=True)


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
    with open(os.path.join(ROOT, 'golden', 'onnx_decoder.txt'), 'w') as f:
        torch.manual_seed(5)
        decoder = Decoder()
        x = torch.randn(2, 4, 8, 8)
        export(f, 'decoder11', decoder, x, 11)
        export(f, 'decoder13', decoder, x, 13)


if __name__ == '__main__':
    main()
