#!/usr/bin/python3
"""Golden file of the recurrent modules (RecurrentTest), computed by PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_rnn_golden.py
Writes src/test/resources/golden/rnn.txt in Golden.java's format, rows as gen_attention_golden.py's (write_row):
<row>/param/<name> the torch module's state dict, loaded into the Lanes module; <row>/in/<k> the inputs (x, and h0 /
c0 where the row passes them); <row>/y the output; <row>/g the incoming gradient; <row>/d/<k> and <row>/grad/<name>
the gradients of sum(y * g). For RNN / LSTM / GRU, y is output, h_n (and c_n) flattened and concatenated, so their
values and the gradients flowing into each are all checked. Modules run in eval (no dropout); torch's own
uniform(-1/sqrt(H), 1/sqrt(H)) initialisation (biases included) gives nonzero parameters everywhere.
"""
import os

import torch

from gen_tensor_golden import OUT
from gen_attention_golden import write_row

nn = torch.nn


def flat(out, hidden):
    parts = [out]
    parts += list(hidden) if isinstance(hidden, tuple) else [hidden]
    return torch.cat([p.reshape(-1) for p in parts])


def main():
    torch.manual_seed(2031)
    with open(os.path.join(OUT, 'rnn.txt'), 'w') as f:
        def seq_row(name, m, x, h0=None, c0=None):
            m.eval()
            ins = {'x': x}
            if h0 is not None:
                ins['h0'] = h0
            if c0 is not None:
                ins['c0'] = c0

            def run(x, h0=None, c0=None):
                if c0 is not None:
                    return flat(*m(x, (h0, c0)))
                return flat(*m(x, h0))
            write_row(f, name, run, ins, m)

        r = torch.randn
        seq_row('rnn_tanh', nn.RNN(4, 5), r(6, 3, 4), r(1, 3, 5))
        seq_row('rnn_relu_2l_bidir_bf_nobias', nn.RNN(4, 5, 2, nonlinearity='relu', bias=False, batch_first=True, bidirectional=True),
                r(3, 6, 4))
        seq_row('rnn_unbatched_2l_bidir', nn.RNN(4, 5, 2, bidirectional=True), r(6, 4), r(4, 5))
        seq_row('lstm', nn.LSTM(4, 5), r(6, 3, 4), r(1, 3, 5), r(1, 3, 5))
        seq_row('lstm_2l_bidir_bf', nn.LSTM(4, 5, 2, batch_first=True, bidirectional=True), r(3, 6, 4), r(4, 3, 5), r(4, 3, 5))
        seq_row('lstm_unbatched_2l', nn.LSTM(4, 5, 2), r(6, 4), r(2, 5), r(2, 5))
        seq_row('lstm_unbatched_bf_nohx', nn.LSTM(4, 5, batch_first=True), r(6, 4))
        seq_row('lstm_proj_2l_bidir', nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3), r(5, 2, 4), r(4, 2, 3), r(4, 2, 6))
        seq_row('lstm_nobias_bf_nohx', nn.LSTM(4, 5, bias=False, batch_first=True), r(2, 5, 4))
        seq_row('gru', nn.GRU(4, 5), r(6, 3, 4), r(1, 3, 5))
        seq_row('gru_2l_bidir', nn.GRU(4, 5, 2, bidirectional=True), r(6, 3, 4), r(4, 3, 5))
        seq_row('gru_unbatched_bf_nobias_nohx', nn.GRU(4, 5, bias=False, batch_first=True), r(6, 4))
        seq_row('gru_2l_bf_nohx', nn.GRU(3, 4, 2, batch_first=True), r(2, 7, 3))

        def cell_row(name, m, x, h=None, c=None):
            ins = {'x': x}
            if h is not None:
                ins['h'] = h
            if c is not None:
                ins['c'] = c

            def run(x, h=None, c=None):
                if c is not None:
                    return torch.cat([t.reshape(-1) for t in m(x, (h, c))])
                y = m(x, h)
                return torch.cat([t.reshape(-1) for t in y]) if isinstance(y, tuple) else y
            write_row(f, name, run, ins, m)

        cell_row('rnncell_relu', nn.RNNCell(4, 5, nonlinearity='relu'), r(3, 4), r(3, 5))
        cell_row('rnncell_unbatched_nobias', nn.RNNCell(4, 5, bias=False), r(4), r(5))
        cell_row('lstmcell', nn.LSTMCell(4, 5), r(3, 4), r(3, 5), r(3, 5))
        cell_row('lstmcell_unbatched_nohx', nn.LSTMCell(4, 5), r(4))
        cell_row('grucell', nn.GRUCell(4, 5), r(3, 4), r(3, 5))
        cell_row('grucell_unbatched_nobias', nn.GRUCell(4, 5, bias=False), r(4), r(5))
        cell_row('grucell_nohx', nn.GRUCell(4, 5), r(2, 4))


if __name__ == '__main__':
    main()
