"""Benchmark: conv2d forward + backward in minigen against torch on the CPU, in one run.

    python benchmarks/bench_conv.py                 the default shape: batch 64, 64 -> 64
                                                    channels, 28x28, 3x3 kernel, padding 1, float32
    python benchmarks/bench_conv.py --approaches    also time the alternative array kernels that
                                                    the implementation chose between
    python benchmarks/bench_conv.py --threads 1     NumPy's BLAS and torch on one thread
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv.py
                                                    the same without those OpenBLAS overrides

One iteration is y = conv2d(x, w, b) and y.backward(g), with gradients for x, w and b. torch runs
with as many threads as NumPy's BLAS (read with threadpoolctl when it is installed), so that both
use the same cores. minigen and torch iterations alternate, so that a load change on a shared
machine hits both; the median over the repeats is reported. The memory peak is minigen's peak of
traced (NumPy) allocations during one iteration, above what was allocated before it.
"""
import os
import statistics
import time
import tracemalloc

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--approaches", action="store_true",
                        help="also time the candidate array kernels")
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from _bench import blas_info  # noqa: E402
from minigen.ops import im2col  # noqa: E402
from minigen.ops.conv import conv2d  # noqa: E402


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def minigen_step(x, w, b, g):
    def step():
        for t in (x, w, b):
            t.grad = None
        conv2d(x, w, b, padding=1).backward(g)
    return step


def torch_step(torch, x, w, b, g):
    def step():
        for t in (x, w, b):
            t.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=1).backward(g)
    return step


def sgemm_rate(clock=time.perf_counter, repeats=5, size=2048):
    """NumPy's float32 matrix product in GFLOP/s on a large square product (the ceiling that an
    im2col + GEMM convolution can reach), median over the repeats."""
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))
    a @ b
    times = []
    for _ in range(repeats):
        start = clock()
        a @ b
        times.append(clock() - start)
    return 2 * size ** 3 / statistics.median(times) / 1e9


def memory_peak(step):
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


# ----------------------------------------------------------------------------- kernel alternatives
def offsets_forward(x, w, pad):
    """The alternative to im2col: accumulate kh*kw GEMMs (N*H*W, C) @ (C, C_out), one per kernel
    offset, on a channels-last copy of the padded input (stride 1)."""
    n, c, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xh = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ho, wo = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n * ho * wo, c_out), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            y += xh[:, a:a + ho, b:b + wo, :].reshape(-1, c) @ w[:, :, a, b].T
    return y.reshape(n, ho, wo, c_out).transpose(0, 3, 1, 2)


def offsets_weight_grad(x, g, kernel, pad):
    """dW[:, :, a, b] = g^T (C_out, N*H*W) @ shifted x (N*H*W, C), one GEMM per kernel offset."""
    n, c, h, wd = x.shape
    c_out, ho, wo = g.shape[1:]
    xh = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    g_mat = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(c_out, -1)
    dw = np.empty((c_out, c) + tuple(kernel), dtype=x.dtype)
    for a in range(kernel[0]):
        for b in range(kernel[1]):
            dw[:, :, a, b] = g_mat @ xh[:, a:a + ho, b:b + wo, :].reshape(-1, c)
    return dw


def compare_approaches(x, w, g, repeats):
    """Time the array kernels alone (no autograd) for each candidate, and check they agree."""
    geom = im2col.ConvGeometry((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    blocked = dict(im2col._BLOCK_BYTES)

    def whole(fn):  # one block: the whole batch unfolded at once
        return _with_block(fn, 1 << 40)

    candidates = {
        "forward": {
            "im2col, blocks (chosen)": lambda: im2col.conv2d_forward(x, w, geom),
            "im2col, whole batch": whole(lambda: im2col.conv2d_forward(x, w, geom)),
            "kernel offsets": lambda: offsets_forward(x, w, 1),
        },
        "input grad": {
            "conv of flipped kernel, blocks (chosen)":
                lambda: im2col.conv_transpose2d_forward(g, w, geom, x.shape[2:]),
            "col2im, blocks": lambda: im2col._col2im(g, w, geom, x.shape[2:]),
            "conv of flipped kernel, whole batch":
                whole(lambda: im2col.conv_transpose2d_forward(g, w, geom, x.shape[2:])),
        },
        "weight grad": {
            "im2col, blocks (chosen)": lambda: im2col.conv2d_weight_grad(x, g, w.shape[2:], geom),
            "im2col, whole batch":
                whole(lambda: im2col.conv2d_weight_grad(x, g, w.shape[2:], geom)),
            "kernel offsets": lambda: offsets_weight_grad(x, g, w.shape[2:], 1),
        },
    }
    for what, fns in candidates.items():
        results = [fn() for fn in fns.values()]
        for r in results[1:]:
            np.testing.assert_allclose(r, results[0], rtol=1e-3, atol=1e-3)
        print(f"  {what}:")
        for name, fn in fns.items():
            fn()
            t = timed(fn, repeats)
            print(f"    {name:42s} median {1e3 * statistics.median(t):7.1f} ms   "
                  f"min {1e3 * min(t):7.1f} ms")
    assert im2col._BLOCK_BYTES == blocked


def _with_block(fn, budget):
    def run():
        saved = im2col._BLOCK_BYTES["cpu"]
        im2col._BLOCK_BYTES["cpu"] = budget
        try:
            return fn()
        finally:
            im2col._BLOCK_BYTES["cpu"] = saved
    return run


def main(args):
    import torch  # the reference only; minigen never imports it
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    n, c, s = args.batch, args.channels, args.size
    print(f"conv2d forward+backward: x ({n}, {c}, {s}, {s}), w ({c}, {c}, 3, 3), padding 1, "
          "float32")
    print(f"numpy {np.__version__} BLAS: {blas}")
    print("OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)")
          + "  OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))
    print(f"torch {torch.__version__}: get_num_threads() = {torch.get_num_threads()}")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other processes "
          "competing for the cores slow multi-threaded BLAS calls most); minigen unfolds "
          f"{im2col._BLOCK_BYTES['cpu'] >> 20} MB blocks")

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((n, c, s, s), (c, c, 3, 3), (c,), (n, c, s, s))]
    mx, mw, mb = (mg.tensor(a, requires_grad=True) for a in arrays[:3])
    mgo = mg.tensor(arrays[3])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    tgo = torch.tensor(arrays[3])
    ours, theirs = minigen_step(mx, mw, mb, mgo), torch_step(torch, tx, tw, tb, tgo)

    ours()
    theirs()
    for mine, ref in ((mx, tx), (mw, tw), (mb, tb)):
        err = np.abs(mine.grad.numpy() - ref.grad.numpy()).max() / np.abs(ref.grad.numpy()).max()
        assert err < 1e-4, f"minigen and torch gradients differ (relative error {err:.2e})"
        assert mine.grad.dtype == np.float32, "float32 must stay float32"
    t_ours, t_theirs, cpu_ours, cpu_theirs = [], [], [], []
    for _ in range(args.repeats):  # alternate, so that both see the same machine load
        for fn, wall, cpu in ((ours, t_ours, cpu_ours), (theirs, t_theirs, cpu_theirs)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    mine, ref = statistics.median(t_ours), statistics.median(t_theirs)
    print(f"minigen: median {1e3 * mine:7.1f} ms/iter   min {1e3 * min(t_ours):7.1f} ms")
    print(f"torch:   median {1e3 * ref:7.1f} ms/iter   min {1e3 * min(t_theirs):7.1f} ms")
    print(f"ratio minigen/torch: {mine / ref:.2f} (median), "
          f"{min(t_ours) / min(t_theirs):.2f} (min)")
    cpu_mine, cpu_ref = statistics.median(cpu_ours), statistics.median(cpu_theirs)
    print(f"CPU time (this process only; on a busy machine the fairer clock with one thread): "
          f"minigen {1e3 * cpu_mine:.1f} ms, torch {1e3 * cpu_ref:.1f} ms, ratio "
          f"{cpu_mine / cpu_ref:.2f}")
    # forward, input gradient and weight gradient: three products of 2 N H W C_out C_in 9 flops
    flops = 3 * 2 * n * s * s * c * c * 9
    for clock, (rate, mine_s, ref_s) in (("wall", (sgemm_rate(), mine, ref)),
                                         ("CPU", (sgemm_rate(time.process_time), cpu_mine,
                                                  cpu_ref))):
        print(f"sgemm ceiling ({clock} clock): {rate:.0f} GFLOP/s; the iteration is "
              f"{flops / 1e9:.1f} GFLOP, {1e3 * flops / rate / 1e9:.0f} ms at the ceiling; "
              f"minigen reaches {flops / mine_s / 1e9:.0f} GFLOP/s = "
              f"{100 * flops / mine_s / 1e9 / rate:.0f}% of it, torch {flops / ref_s / 1e9:.0f}")
    peak = memory_peak(ours)
    print(f"minigen memory peak of one iteration: {peak / 2**20:.1f} MiB above the inputs "
          f"(input x: {arrays[0].nbytes / 2**20:.1f} MiB)")
    if args.approaches:
        print("array kernels alone:")
        compare_approaches(arrays[0], arrays[1], arrays[3], args.repeats)


if __name__ == "__main__":
    main(ARGS)
