"""Prints the expected values of InPlaceActivationsTest (torch 1.13): for each in-place activation on x = a * 1,
the result, a's gradient for the upstream gradient G, and the grad_fn name. Run with /usr/bin/python3."""
import torch
import torch.nn.functional as F

X = [-4., -2.5, -0.7, -0.3, 0., 0.2, 0.5, 1.0, 2.9, 3.0, 4.0, -3.0]
G = (torch.arange(12.) / 7 + 0.1)
OPS = [
    ("relu", lambda x: F.relu(x, inplace=True)),
    ("sigmoid", lambda x: x.sigmoid_()),
    ("tanh", lambda x: x.tanh_()),
    ("leakyRelu", lambda x: F.leaky_relu(x, 0.1, inplace=True)),
    ("elu", lambda x: F.elu(x, 0.7, inplace=True)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.5, inplace=True)),
    ("relu6", lambda x: F.relu6(x, inplace=True)),
    ("hardsigmoid", lambda x: F.hardsigmoid(x, inplace=True)),
    ("hardswish", lambda x: F.hardswish(x, inplace=True)),
    ("silu", lambda x: F.silu(x, inplace=True)),
    ("mish", lambda x: F.mish(x, inplace=True)),
]


def arr(t):
    return "new float[] {" + ", ".join(repr(float(v)) + "f" for v in t.tolist()) + "}"


for name, f in OPS:
    a = torch.tensor(X, requires_grad=True)
    x = a * 1
    y = f(x)
    assert y is x
    y.backward(G)
    print('            row("%s", %s, %s, "%s"),' % (name, arr(y.detach()), arr(a.grad), y.grad_fn.name()))
