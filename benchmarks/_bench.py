"""What every benchmark shares: its command line with ``--threads``, applied before NumPy loads,
this checkout's minigen first on the path, and a description of NumPy's BLAS.

    import _bench as bench              # before numpy: puts this checkout on sys.path

    def parse_args():
        parser = bench.parser(__doc__)  # --threads is already there
        parser.add_argument("--repeats", type=int, default=10)
        return bench.parse(parser)

Files whose name starts with an underscore are helpers, not benchmarks.
"""
import argparse
import contextlib
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

# OpenBLAS reads these when NumPy loads it, and minigen sizes its unfolding blocks by them
# (ops/im2col.py), so --threads must be applied before the first import of numpy
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parser(doc):
    """An argument parser described by the first line of ``doc``, with --threads."""
    result = argparse.ArgumentParser(description=doc.split("\n")[0])
    result.add_argument("--threads", type=int, default=None,
                        help="BLAS and torch threads (default: NumPy's BLAS default)")
    return result


def parse(parser):
    """The parsed arguments, with --threads written to the BLAS variables (call before numpy)."""
    args = parser.parse_args()
    if args.threads is not None:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(args.threads)
    return args


def blas_info():
    """(threads, description) of NumPy's BLAS, from threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threads = int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count()))
        return threads, "threadpoolctl not installed; assuming OPENBLAS_NUM_THREADS or one " \
                        "thread per core"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    pools.sort(key=lambda p: "numpy" not in p.get("filepath", ""))  # NumPy's own BLAS first
    if not pools:
        return os.cpu_count(), "no BLAS pool found by threadpoolctl"
    pool = pools[0]
    return pool["num_threads"], (f"{pool['internal_api']} {pool.get('version')}, kernel "
                                 f"{pool.get('architecture')}, {pool['num_threads']} threads")


# ---------------------------------------------------------------------------- twins and timing
# (called after numpy, minigen and torch are loaded; they import nothing before that)

def torch_state(torch, module):
    """``module``'s state_dict as torch tensors (copies): what a twin's load_state_dict takes."""
    return {k: torch.from_numpy(v.numpy().copy()) for k, v in module.state_dict().items()}


def torch_layer(torch, module):
    """The torch layer that ``module``, a minigen layer of torch's name, stands for: the same
    settings, the parameters still to be loaded (``torch_state``)."""
    nn, kind = torch.nn, type(module).__name__
    if kind == "Linear":
        return nn.Linear(module.in_features, module.out_features)
    if kind == "Conv2d":
        return nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                         module.stride, module.padding, padding_mode=module.padding_mode)
    if kind == "ConvTranspose2d":
        return nn.ConvTranspose2d(module.in_channels, module.out_channels,
                                  module.kernel_size, module.stride, module.padding)
    if kind == "BatchNorm2d":
        return nn.BatchNorm2d(module.num_features)
    if kind == "LayerNorm":
        return nn.LayerNorm(module.normalized_shape)
    if kind == "GroupNorm":
        return nn.GroupNorm(module.num_groups, module.num_channels, module.eps, module.affine)
    if kind == "Unflatten":
        return nn.Unflatten(module.dim, module.unflattened_size)
    if kind == "LeakyReLU":
        return nn.LeakyReLU(module.negative_slope)
    if kind == "Upsample":
        return nn.Upsample(module.size, module.scale_factor, module.mode, module.align_corners)
    simple = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Flatten": nn.Flatten, "Identity": nn.Identity}
    if kind not in simple:
        raise TypeError(f"torch_layer: no torch twin for minigen layer {kind}; write one in "
                        f"the benchmark")
    return simple[kind]()


def check_close(what, mine, theirs, rtol=1e-3, floor=1e-3):
    """Exit non-zero unless ||mine[k] - theirs[k]|| <= rtol max(||theirs[k]||, floor ||theirs||)
    for every key k of two dicts of arrays, ||theirs|| the norm of all of them together (None: no
    gradient, which must then be None on both sides). The floor keeps a gradient that is exactly
    zero in exact arithmetic (a bias before a normalization) from being compared to its own
    rounding error. Returns the largest relative difference."""
    import numpy as np
    if set(mine) != set(theirs):
        raise SystemExit(f"{what}: minigen and torch differ in names: only minigen "
                         f"{sorted(set(mine) - set(theirs))}, only torch "
                         f"{sorted(set(theirs) - set(mine))}")
    total = np.sqrt(sum(np.sum(np.square(v, dtype=np.float64)) for v in theirs.values()
                        if v is not None))
    worst, bad = 0.0, []
    for key in mine:
        a, b = mine[key], theirs[key]
        if a is None or b is None:
            if (a is None) != (b is None):
                bad.append(f"{key}: {'minigen' if a is None else 'torch'} has no gradient")
            continue
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            bad.append(f"{key}: shapes {a.shape} (minigen) and {b.shape} (torch)")
            continue
        relative = np.linalg.norm(a - b) / max(np.linalg.norm(b), floor * total, 1e-30)
        worst = max(worst, relative)
        if not relative <= rtol:
            bad.append(f"{key}: ||minigen - torch|| / ||torch|| = {relative:.2e}")
    if bad:
        raise SystemExit(f"{what}: minigen and torch disagree beyond rtol {rtol} (relative to "
                         f"the norm):\n  " + "\n  ".join(bad))
    return float(worst)


def check_step(what, losses, grads, ref_losses, ref_grads, rtol):
    """``check_close`` of a step's losses (dicts name -> float; rtol at most 1e-4) and then of its
    gradients; returns the largest relative difference of a gradient."""
    check_close(f"{what}: losses", {k: [v] for k, v in losses.items()},
                {k: [v] for k, v in ref_losses.items()},
                rtol=min(rtol, 1e-4))
    return check_close(f"{what}: gradients", grads, ref_grads, rtol)


def named_gradients(grad, loss, player, prefix):
    """{prefix.name: gradient array or None} of ``loss`` for ``player``'s parameters, ``grad``
    being mg.autograd.grad or torch.autograd.grad."""
    names, params = zip(*player.named_parameters())
    return {f"{prefix}.{name}": None if g is None else g.numpy()
            for name, g in zip(names, grad(loss, list(params), allow_unused=True))}


def torch_step_player(torch, player, optimizer, loss):
    """minigen's step_player (models/adversarial.py) in torch: the gradients of this player's
    weights only (the other player's are neither computed nor touched), then its step."""
    params = list(player.parameters())
    for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True)):
        p.grad = g
    optimizer.step()


@contextlib.contextmanager
def float64(*modules):
    """The ``modules`` (minigen's or torch's) in float64 inside the block, in float32 after it
    (exactly as before: every float32 is a float64). An agreement check in float64 is not blurred
    by float32 rounding, which the kinks of ReLU can amplify to a percent of a gradient."""
    for module in modules:
        module.double()
    try:
        yield
    finally:
        for module in modules:
            module.float()


def alternate(pair, repeats):
    """Time the calls of ``pair`` = (minigen_fn, torch_fn) alternately, after one warm-up call of
    each (first calls pay for allocations): median seconds of each over ``repeats`` and their
    ratio, by the wall clock and by this process's CPU time. On a shared machine the CPU time of
    a one-thread run is the fair measure: a busy neighbour stretches wall time, not CPU time."""
    import statistics
    import time
    clocks = {"wall": time.perf_counter, "cpu": time.process_time}
    times = {k: ([], []) for k in clocks}
    for fn in pair:
        fn()
    for _ in range(repeats):
        for i, fn in enumerate(pair):
            start = {k: clock() for k, clock in clocks.items()}
            fn()
            for k, clock in clocks.items():
                times[k][i].append(clock() - start[k])
    result = {}
    for k in clocks:
        mine, ref = statistics.median(times[k][0]), statistics.median(times[k][1])
        result[k] = {"minigen_s": round(mine, 4), "torch_s": round(ref, 4),
                     "ratio": round(mine / ref, 2)}
    return result


def top_ops(fn, steps=2, top=8):
    """minigen's ``top`` ops by CPU time per call of ``fn`` (mg.profile, forward and backward
    together), with their share of the call's CPU time."""
    import minigen as mg
    prof = mg.profile(fn, steps=steps, clock="cpu")
    total = prof.wall_s / prof.steps
    rows = [{"op": r.op, "cpu_ms": round(1e3 * (r.forward_s + r.backward_s), 1),
             "share": round((r.forward_s + r.backward_s) / total, 3)}
            for r in prof.rows()[:top]]
    outside = total - prof.ops_seconds()
    return rows + [{"op": "(outside ops)", "cpu_ms": round(1e3 * outside, 1),
                    "share": round(outside / total, 3)}]


def torch_top_ops(torch, fn, steps=2, top=8):
    """torch's ``top`` aten ops by own CPU time per call of ``fn`` (torch.profiler), beside
    ``top_ops``: which of torch's kernels the minigen ops above are up against."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            fn()
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:top]
    return [{"op": e.key, "cpu_ms": round(e.self_cpu_time_total / 1e3 / steps, 1)} for e in rows]
