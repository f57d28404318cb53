#!/usr/bin/python3
"""SGEMM n x n x n on one thread, Lanes against OpenBLAS (through PyTorch), taking turns round by round in one run.

  sudo apt install python3-torch libopenblas0-pthread
  bench/jmh -h >/dev/null    # builds jmh/target/benchmarks.jar (or: ./mvnw install -DskipTests && ./mvnw -f jmh/pom.xml package)
  /usr/bin/python3 bench/compare-sgemm.py [--width native|avx2] [--rounds 15] [--seconds 1] [--n 1024]

Issue 13's SGEMM target is a ratio measured side by side; on a shared VM the speed drifts 10-20% from minute to
minute, so separate runs of JMH and of PyTorch can disagree by more than the difference being measured. Here a
Lanes JVM (dev.lanes.bench.SgemmRounds) and OpenBLAS alternate rounds of `--seconds`, each round timed by the
calling thread's CPU time (steal time left out) and by wall time, and the ratio is taken per pair of neighbouring
rounds: the median of those ratios is the figure to quote. --width avx2 runs Lanes with -XX:UseAVX=2 (AVX2 code, 16
vector registers) against OpenBLAS's Haswell kernel (bench/machine.py). C = A B into the same C on both sides.
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
import machine  # noqa: E402


def arg(name, default, kind=str):
    return kind(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


WIDTH = arg('--width', 'native')
ROUNDS = arg('--rounds', 15, int)
SECONDS = arg('--seconds', 1.0, float)
N = arg('--n', 1024, int)
machine.configure(WIDTH)  # before torch: OpenBLAS reads its settings when it loads
try:
    import torch
except ImportError:
    sys.exit('PyTorch is missing: sudo apt install python3-torch libopenblas0-pthread, then run with /usr/bin/python3')
from importlib.machinery import SourceFileLoader  # noqa: E402

find_java = SourceFileLoader('step_timer', os.path.join(ROOT, 'bench', 'step-timer')).load_module().find_java


def openblas_round(a, b, c, seconds):
    calls = 0
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    while True:
        torch.mm(a, b, out=c)
        calls += 1
        if time.perf_counter() - wall0 >= seconds:
            break
    flops = 2.0 * N ** 3 * calls
    return flops / (time.thread_time() - cpu0) / 1e9, flops / (time.perf_counter() - wall0) / 1e9


def main():
    jar = os.path.join(ROOT, 'jmh', 'target', 'benchmarks.jar')
    if not os.path.exists(jar):
        sys.exit(f'{jar} is missing: build it with bench/jmh -h (or ./mvnw install -DskipTests && ./mvnw -f jmh/pom.xml package)')
    print(machine.banner(WIDTH))
    print(f'torch {torch.__version__}, SGEMM {N}x{N}x{N}, one thread, {ROUNDS} alternating rounds of {SECONDS:g} s')
    torch.set_num_threads(1)
    jvm = [find_java(), '--add-modules', 'jdk.incubator.vector'] + (['-XX:UseAVX=2'] if WIDTH == 'avx2' else [])
    lanes = subprocess.Popen(jvm + ['-cp', jar, 'dev.lanes.bench.SgemmRounds', str(N)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)

    def lanes_round(seconds):
        lanes.stdin.write(f'round {seconds}\n')
        lanes.stdin.flush()
        line = lanes.stdout.readline().split()
        if not line or line[0] != 'gflops':
            sys.exit(f'SgemmRounds answered {line!r}')
        return float(line[1]), float(line[2])

    try:
        if lanes.stdout.readline().strip() != 'ready':
            sys.exit('SgemmRounds did not start')
        gen = torch.Generator().manual_seed(1)
        a, b = torch.rand(N, N, generator=gen) * 2 - 1, torch.rand(N, N, generator=gen) * 2 - 1
        c = torch.empty(N, N)
        for _ in range(3):  # warm-up: C2 compiles the kernels (the first seconds ran at 2/3 speed)
            lanes_round(SECONDS)
            openblas_round(a, b, c, SECONDS)
        rows = []
        for r in range(ROUNDS):
            # alternate which side goes first, so a drift within a pair favours neither
            if r % 2 == 0:
                l, o = lanes_round(SECONDS), openblas_round(a, b, c, SECONDS)
            else:
                o, l = openblas_round(a, b, c, SECONDS), lanes_round(SECONDS)
            rows.append((l, o))
            print(f'round {r + 1:2d}: Lanes {l[0]:6.1f} GFLOP/s (wall {l[1]:6.1f})   OpenBLAS {o[0]:6.1f} (wall {o[1]:6.1f})'
                  f'   ratio {l[0] / o[0]:.3f}', flush=True)
    finally:
        lanes.stdin.close()
        lanes.wait(timeout=30)
    med = statistics.median
    print()
    print('| SGEMM %d^3, 1 thread | Lanes GFLOP/s | OpenBLAS GFLOP/s | Lanes / OpenBLAS |' % N)
    print('|---|---|---|---|')
    print(f'| {WIDTH}, CPU time (median of {ROUNDS}) | {med(l[0] for l, _ in rows):.1f} | {med(o[0] for _, o in rows):.1f} '
          f'| {med(l[0] / o[0] for l, o in rows):.3f} (rounds {min(l[0] / o[0] for l, o in rows):.3f}-{max(l[0] / o[0] for l, o in rows):.3f}) |')
    print(f'| {WIDTH}, wall time | {med(l[1] for l, _ in rows):.1f} | {med(o[1] for _, o in rows):.1f} '
          f'| {med(l[1] / o[1] for l, o in rows):.3f} |')


if __name__ == '__main__':
    main()
