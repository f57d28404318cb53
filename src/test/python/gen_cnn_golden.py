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


def main():
    with open(os.path.join(OUT, 'cnn.txt'), 'w') as f:
        conv_transpose(f)


if __name__ == '__main__':
    main()
