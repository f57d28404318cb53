#!/usr/bin/python3
"""Golden file of the CNN building blocks (CnnTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_cnn_golden.py
Writes src/test/resources/golden/cnn.txt, rows as gen_attention_golden.py's (write_row): <row>/param/<name> the torch
module's state dict, loaded into the Lanes module; <row>/in/<k> the inputs; <row>/y the output; <row>/g the incoming
gradient; <row>/d/<k> and <row>/grad/<name> the gradients of sum(y * g). Each family seeds its own generator, so a
family added later leaves the rows before it unchanged.
"""
import os

import torch

from gen_tensor_golden import OUT
from gen_attention_golden import write_row

nn = torch.nn
F = torch.nn.functional


def conv_transpose(f):
    torch.manual_seed(3001)
    rows = [
        ('ct_a', nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (3, 4, 5, 7), None),
        ('ct_b', nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(0, 1), groups=2, dilation=(1, 2), bias=False), (1, 4, 4, 5), None),
        ('ct_unbatched', nn.ConvTranspose2d(3, 2, 2, stride=2), (3, 3, 4), None),
        ('ct_output_size', nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1), (2, 2, 3, 4), (8, 11)),
        ('ct_e', nn.ConvTranspose2d(6, 3, 3, stride=3, padding=2, output_padding=(2, 1), groups=3, dilation=2), (3, 6, 4, 3), None),
    ]
    for name, m, shape, size in rows:
        write_row(f, name, (lambda x, m=m, size=size: m(x, output_size=size)), {'x': torch.randn(shape)}, m)


def conv1d_pool1d(f):
    torch.manual_seed(3002)
    convs = [
        ('c1_a', nn.Conv1d(4, 6, 3), (3, 4, 11)),
        ('c1_b', nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False), (1, 4, 12)),
        ('c1_same', nn.Conv1d(3, 4, 4, padding='same', dilation=2), (2, 3, 9)),
        ('c1_valid', nn.Conv1d(3, 2, 5, padding='valid'), (2, 3, 9)),
        ('c1_unbatched', nn.Conv1d(3, 5, 2, stride=3, padding=1), (3, 10)),
    ]
    for name, m, shape in convs:
        write_row(f, name, lambda x, m=m: m(x), {'x': torch.randn(shape)}, m)
    # F.conv2d with string padding, for Conv2d's 'same' against torch (even kernel, dilation)
    m2 = nn.Conv2d(3, 4, (4, 3), padding='same', dilation=(1, 2))
    write_row(f, 'c2_same', lambda x: m2(x), {'x': torch.randn(2, 3, 7, 6)}, m2)
    pools = [
        ('mp1_a', nn.MaxPool1d(3), (3, 4, 11)),
        ('mp1_b', nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (1, 2, 12)),
        ('mp1_unbatched', nn.MaxPool1d(2, stride=1), (3, 7)),
        ('ap1_a', nn.AvgPool1d(3), (3, 4, 11)),
        ('ap1_b', nn.AvgPool1d(4, stride=3, padding=2, ceil_mode=True, count_include_pad=False), (1, 2, 13)),
        ('ap1_unbatched', nn.AvgPool1d(2, stride=1, padding=1), (3, 7)),
    ]
    for name, m, shape in pools:
        write_row(f, name, lambda x, m=m: m(x), {'x': torch.randn(shape)})


def interpolate(f):
    torch.manual_seed(3003)
    rows = [
        ('up_nearest_s2', dict(scale_factor=2, mode='nearest'), (3, 2, 3, 4)),
        ('up_nearest_s17', dict(scale_factor=(1.7, 2.4), mode='nearest'), (1, 2, 5, 3)),  # not (x, 2.3): see F.interpolate's note
        ('up_nearest_size', dict(size=(7, 5), mode='nearest'), (2, 3, 3, 4)),
        ('up_nearest_down', dict(size=(3, 2), mode='nearest'), (1, 2, 7, 5)),
        ('up_bilinear_s2', dict(scale_factor=2, mode='bilinear'), (3, 2, 3, 4)),
        ('up_bilinear_ac', dict(scale_factor=(1.5, 2.5), mode='bilinear', align_corners=True), (1, 2, 4, 3)),
        ('up_bilinear_size', dict(size=(6, 9), mode='bilinear', align_corners=False), (2, 1, 4, 5)),
        ('up_bilinear_size_ac', dict(size=(5, 1), mode='bilinear', align_corners=True), (1, 2, 3, 4)),
        ('up_bilinear_down', dict(size=(3, 4), mode='bilinear'), (1, 2, 7, 9)),
        ('up_bilinear_s07', dict(scale_factor=0.7, mode='bilinear'), (1, 1, 9, 7)),
        ('up_nearest_1d', dict(scale_factor=2.5, mode='nearest'), (2, 3, 5)),
        ('up_linear_1d', dict(size=8, mode='linear', align_corners=True), (2, 3, 5)),
    ]
    for name, kw, shape in rows:
        write_row(f, name, lambda x, kw=kw: F.interpolate(x, **kw), {'x': torch.randn(shape)})


def shuffle_pad(f):
    torch.manual_seed(3004)
    rows = [
        ('ps_2', lambda x: F.pixel_shuffle(x, 2), (2, 8, 3, 4)),
        ('ps_3_unbatched', lambda x: F.pixel_shuffle(x, 3), (9, 2, 3)),
        ('pu_2', lambda x: F.pixel_unshuffle(x, 2), (1, 3, 4, 6)),
        ('pu_3_5d', lambda x: F.pixel_unshuffle(x, 3), (2, 1, 2, 3, 6)),
        ('pad_const', lambda x: F.pad(x, (1, 2, 0, 3), 'constant', 0.5), (2, 3, 4, 5)),
        ('pad_crop', lambda x: F.pad(x, (-1, 2, 1, -2)), (1, 2, 5, 4)),
        ('pad_3dims', lambda x: F.pad(x, (1, 0, 2, 1, 1, 1)), (2, 3, 4)),
        ('pad_reflect', lambda x: F.pad(x, (2, 1, 1, 2), 'reflect'), (2, 3, 4, 5)),
        ('pad_reflect_1d', lambda x: F.pad(x, (3, 2), 'reflect'), (2, 3, 5)),
        ('pad_replicate', lambda x: F.pad(x, (3, 0, 1, 2), 'replicate'), (1, 2, 3, 4)),
        ('unflatten', lambda x: nn.Unflatten(1, (2, -1, 3))(x), (3, 12, 2)),
    ]
    for name, fn, shape in rows:
        write_row(f, name, fn, {'x': torch.randn(shape)})


def main():
    with open(os.path.join(OUT, 'cnn.txt'), 'w') as f:
        conv_transpose(f)
        conv1d_pool1d(f)
        interpolate(f)
        shuffle_pad(f)


if __name__ == '__main__':
    main()
