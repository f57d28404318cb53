#!/usr/bin/python3
"""A safetensors file written from PyTorch weights, for the interop test (Debian's python3-torch 1.13).

Run from src/test/python:  /usr/bin/python3 gen_io_golden.py
Writes ../resources/golden/lenet_pytorch.safetensors (the walkthrough LeNet's state_dict, written by hand
following the format: u64 LE header length, JSON header padded with spaces to 8 bytes, little-endian data) and
../resources/golden/io.txt (the input and PyTorch's output for it).
"""
import json
import os
import struct
import torch

from gen_nn_golden import Net
from gen_tensor_golden import record, OUT


def save_safetensors(tensors, path, metadata=None):
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    offset = 0
    blobs = []
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().astype('<f4').tobytes() if t.dtype == torch.float32 else t.numpy().astype('<i8').tobytes()
        header[name] = {'dtype': 'F32' if t.dtype == torch.float32 else 'I64', 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(77)
    net = Net()
    state = dict(net.state_dict())
    state['step'] = torch.tensor(1234, dtype=torch.int64)  # an int64 entry, like a training step counter
    save_safetensors(state, os.path.join(OUT, 'lenet_pytorch.safetensors'), {'framework': 'pytorch', 'note': 'LeNet walkthrough'})
    x = torch.randn(2, 1, 32, 32)
    with open(os.path.join(OUT, 'io.txt'), 'w') as f:
        record(f, 'input', x, [])
        record(f, 'output', net(x), [])


if __name__ == '__main__':
    main()
