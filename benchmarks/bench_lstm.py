"""Benchmark: nn.LSTM forward + backward in minigen against torch, in one run.

    python benchmarks/bench_lstm.py --threads 1          seq 28, batch 64, 128 -> 128

One call is the LSTM over the whole sequence, then the backward pass of the sum of its outputs
(the gradients of all weights; the input needs none, as for a first layer). Both libraries hold
the same state_dict; the benchmark first checks that they give the same outputs and weight
gradients, then times them alternately (so that a change of load on a shared machine hits both)
and prints medians and ratios as JSON.

torch's CPU LSTM runs oneDNN's fused RNN kernel (one call for the whole sequence, its own
matrix products); with oneDNN turned off it runs step by step over ATen ops, as minigen does.
Both torch timings are reported: `ratio` against torch's default, `ratio_no_onednn` against the
step-by-step path.
"""
import json
import os
import statistics
import time
import warnings

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--seq", type=int, default=28)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--input", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402
from _bench import blas_info  # noqa: E402


def time_alternating(fns, repeats, warmup=3):
    """Median seconds of each callable in ``fns`` (a dict name -> fn), called in turn."""
    times = {name: [] for name in fns}
    for k in range(warmup + repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if k >= warmup:   # the first calls pay for allocations and caches
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def check_close(what, ours, theirs, rtol=1e-3, atol=1e-4):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def main(args):
    import torch
    threads, blas = blas_info()
    torch.set_num_threads(threads)
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(args.input, args.hidden)
    twin = torch.nn.LSTM(args.input, args.hidden)
    twin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in lstm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((args.seq, args.batch, args.input))
    x = x.astype(np.float32)
    xm, xt = mg.tensor(x), torch.from_numpy(x)

    def mg_call():
        lstm.zero_grad()
        out, _ = lstm(xm)
        out.sum().backward()
        return out

    def th_call():
        twin.zero_grad()
        out, _ = twin(xt)
        out.sum().backward()
        return out

    def th_call_no_onednn():
        with warnings.catch_warnings(), torch.backends.mkldnn.flags(enabled=False):
            warnings.simplefilter("ignore")   # a note about TF32 on Intel GPUs
            return th_call()

    check_close("output", mg_call().numpy(), th_call().detach().numpy())
    grads = {n: p.grad.numpy() for n, p in lstm.named_parameters()}
    for name, p in twin.named_parameters():
        check_close(f"gradient of {name}", grads[name], p.grad.numpy(), atol=1e-3)

    t = time_alternating({"minigen": mg_call, "torch": th_call,
                          "torch_no_onednn": th_call_no_onednn}, args.repeats)
    print(json.dumps({
        "shape": f"seq {args.seq}, batch {args.batch}, {args.input} -> {args.hidden}",
        "threads": threads, "blas": blas, "load_average": round(os.getloadavg()[0], 2),
        "minigen_ms": round(t["minigen"] * 1e3, 2), "torch_ms": round(t["torch"] * 1e3, 2),
        "torch_no_onednn_ms": round(t["torch_no_onednn"] * 1e3, 2),
        "ratio": round(t["minigen"] / t["torch"], 2),
        "ratio_no_onednn": round(t["minigen"] / t["torch_no_onednn"], 2)}, indent=2))


if __name__ == "__main__":
    main(ARGS)
