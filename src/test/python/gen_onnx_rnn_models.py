#!/usr/bin/python3
"""Recurrent models exported by PyTorch (Debian's python3-torch 1.13, torch.onnx.export) and their outputs, for
OnnxModelTest: ONNX's LSTM, GRU and RNN operators as torch writes them (gate blocks in ONNX's order, the initial states
built from the input's shape, bidirectional layers' outputs reshaped into the next layer's input).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_onnx_rnn_models.py
Writes src/test/resources/onnx/<name>.onnx and src/test/resources/golden/onnx_rnn.txt (Golden.java's format): per
model <name>/x (the input) and <name>/y (PyTorch's output for it, eval mode).

- lstm2_bidir_bf: nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True), then Linear(32, 5) on every
  step's output; x [2, 7, 8], opset 14, batch dim symbolic;
- gru: nn.GRU(8, 12) (time-major), then Linear(12, 4); x [6, 3, 8], opset 13;
- rnn_tanh: nn.RNN(8, 10, nonlinearity='tanh'), then Linear(10, 3) on the last step's output; x [5, 2, 8], opset 17.
"""
import os

import torch
import torch.nn as nn

from gen_tensor_golden import record

ROOT = os.path.join(os.path.dirname(__file__), '..', 'resources')


class LstmHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class GruHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(8, 12)
        self.head = nn.Linear(12, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class RnnHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(8, 10, nonlinearity='tanh')
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[-1])


def export(f, name, model, x, opset, dynamic_axes=None):
    model.eval()
    path = os.path.join(ROOT, 'onnx', name + '.onnx')
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=['x'], output_names=['y'], do_constant_folding=True,
                      dynamic_axes=dynamic_axes)
    with torch.no_grad():
        y = model(x)
    record(f, name + '/x', x, [])
    record(f, name + '/y', y, [])
    print(name, os.path.getsize(path), 'bytes')


def main():
    os.makedirs(os.path.join(ROOT, 'onnx'), exist_ok=True)
    with open(os.path.join(ROOT, 'golden', 'onnx_rnn.txt'), 'w') as f:
        torch.manual_seed(10)
        export(f, 'lstm2_bidir_bf', LstmHead(), torch.randn(2, 7, 8), 14, {'x': {0: 'batch'}, 'y': {0: 'batch'}})
        torch.manual_seed(11)
        export(f, 'gru', GruHead(), torch.randn(6, 3, 8), 13)
        torch.manual_seed(12)
        export(f, 'rnn_tanh', RnnHead(), torch.randn(5, 2, 8), 17)


if __name__ == '__main__':
    main()
