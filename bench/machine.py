"""What machine a benchmark ran on, and OpenBLAS set up for it. Import before torch or numpy.

  import machine                        # picks OpenBLAS's kernel from this CPU's flags
  machine.configure(width)              # width 'native' (default) or 'avx2' (OpenBLAS's Haswell kernel, PyTorch's
                                        # AVX2 code paths: the counterpart of Lanes under -XX:UseAVX=2)
  print(machine.banner(width))          # CPU model, architecture, cores, vector width: above every table

OpenBLAS's SkylakeX kernel is only safe where /proc/cpuinfo lists avx512f: elsewhere it dies of SIGILL (exit 132).
On other CPUs OpenBLAS detects Zen and Haswell by itself, so OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE, which some
machines set beside it) are removed rather than guessed.
"""
import os
import platform


def _cpuinfo():
    try:
        with open('/proc/cpuinfo') as f:
            return f.read()
    except OSError:
        return ''


def flags():
    for line in _cpuinfo().splitlines():
        if line.startswith(('flags', 'Features')):
            return set(line.split(':', 1)[1].split())
    return set()


def model():
    for line in _cpuinfo().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()


def native_bits():
    """The widest float vectors this CPU runs (what Lanes' FloatVector.SPECIES_PREFERRED becomes)."""
    f = flags()
    arch = platform.machine()
    if arch in ('x86_64', 'AMD64'):
        return 512 if 'avx512f' in f else 256 if 'avx2' in f else 128
    return 128  # AArch64 NEON (SVE machines may give more; Lanes is width-tested at 128 there)


def configure(width='native'):
    """Sets OpenBLAS (and PyTorch's CPU capability) for `width`; call before importing torch or numpy."""
    if width not in ('native', 'avx2'):
        raise SystemExit(f'width must be native or avx2, not {width}')
    for var in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'):
        os.environ.pop(var, None)
    f = flags()
    if width == 'avx2':
        if 'avx2' not in f:
            raise SystemExit('--width avx2 needs a CPU with AVX2')
        os.environ['OPENBLAS_CORETYPE'] = 'Haswell'
        os.environ['ATEN_CPU_CAPABILITY'] = 'avx2'
        # PyTorch's convolutions run in oneDNN, which picks its own ISA: without this cap they stayed AVX-512 under
        # --width avx2 (Xeon, [32,64,56,56] 3 x 3 forward: 101.7 GFLOP/s uncapped against 69.8 capped; stop 54)
        os.environ['ONEDNN_MAX_CPU_ISA'] = 'AVX2'
        os.environ['DNNL_MAX_CPU_ISA'] = 'AVX2'
    elif 'avx512f' in f:
        os.environ['OPENBLAS_CORETYPE'] = 'SkylakeX'
    os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')


def banner(width='native'):
    bits = native_bits() if width == 'native' else 256
    how = 'native' if width == 'native' else 'AVX2 (Lanes: -XX:UseAVX=2; OpenBLAS: Haswell kernel; oneDNN: ONEDNN_MAX_CPU_ISA=AVX2)'
    kernel = os.environ.get('OPENBLAS_CORETYPE', 'auto-detected')
    return (f'CPU: {model()} ({platform.machine()}, {os.cpu_count()} cores); vector width {bits} bits, {how}; '
            f'OpenBLAS kernel: {kernel}')


def median_s(fn, min_time=1.0, warm=3):
    """Seconds per call of fn: the median of repeated calls (at least 5, at least min_time in all) after warm-up."""
    import time
    for _ in range(warm):
        fn()
    ts = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(ts) < 5:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]
