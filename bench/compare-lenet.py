#!/usr/bin/python3
"""PyTorch's side of LeNetTrainBench: the same LeNet (logits free), CrossEntropyLoss, SGD(lr 0.01, momentum 0.9),
one full step on a fixed random batch. Prints images/s (median of 1 s windows) per batch size and thread count.

  sudo apt install python3-torch libopenblas0-pthread
  /usr/bin/python3 bench/compare-lenet.py      # OpenBLAS's kernel and one OpenBLAS thread: bench/machine.py
  /usr/bin/python3 bench/compare-lenet.py --width avx2   # OpenBLAS's Haswell kernel and PyTorch's AVX2 paths: the
                                                          # counterpart of Lanes under -XX:UseAVX=2
"""
import sys
import time
import machine

WIDTH = sys.argv[sys.argv.index('--width') + 1] if '--width' in sys.argv else 'native'
machine.configure(WIDTH)  # before torch: OpenBLAS reads its settings when it loads
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 400)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main():
    print(machine.banner(WIDTH))
    print(f'torch {torch.__version__}')
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (64, 256):
            torch.manual_seed(0)
            net = LeNet()
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
            crit = nn.CrossEntropyLoss()
            x = torch.randn(batch, 1, 32, 32)
            y = torch.randint(0, 10, (batch,))

            def step():
                opt.zero_grad()
                loss = crit(net(x), y)
                loss.backward()
                opt.step()

            for _ in range(20):
                step()
            rates = []
            for _ in range(7):
                n = 0
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < 1.0:
                    step()
                    n += 1
                rates.append(n * batch / (time.perf_counter() - t0))
            rates.sort()
            print(f'LeNet train batch={batch} threads={threads}: {rates[len(rates) // 2]:.0f} images/s')


if __name__ == '__main__':
    main()
