"""MLP training step, minigen vs torch-CPU, in the same run.

784-256-256-10 ReLU MLP, batch 128, cross-entropy, forward + backward + SGD step, float32.
Prints the median time per step of each and the ratio minigen / torch.

    python benchmarks/bench_mlp.py [--steps 200]
    python benchmarks/bench_mlp.py --threads 1               # both on one thread
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mlp.py    # the same

With OPENBLAS_NUM_THREADS set, torch is given the same number of threads, so both libraries run
their matrix products with the same parallelism.
"""
import os
import statistics
import time

import _bench as bench


def parse_args():
    parser = bench.parser(__doc__)
    parser.add_argument("--steps", type=int, default=200)
    return bench.parse(parser)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402

import minigen as mg  # noqa: E402

SIZES = (784, 256, 256, 10)
BATCH = 128


def init_weights(seed):
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def minigen_step_fn(weights, lr=0.1):
    model = mg.nn.Sequential(mg.nn.Linear(784, 256), mg.nn.ReLU(), mg.nn.Linear(256, 256),
                             mg.nn.ReLU(), mg.nn.Linear(256, 10))
    state = {}
    for i, (w, b) in zip((0, 2, 4), weights):
        state[f"{i}.weight"], state[f"{i}.bias"] = w, b
    model.load_state_dict(state)
    opt = mg.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = mg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, lambda a: mg.tensor(a)


def torch_step_fn(weights, lr=0.1):
    import torch
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    with torch.no_grad():
        for layer, (w, b) in zip(model[::2], weights):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, torch.from_numpy


def time_alternating(steps, batches, n):
    """Median seconds per step of each library; their steps alternate, so that a change of load
    on a shared machine hits both alike."""
    prepared = [[(convert(x), convert(y)) for x, y in batches] for _, convert in steps]
    times = [[] for _ in steps]
    cpu = [[] for _ in steps]
    losses = [[] for _ in steps]
    for i in range(n + 10):
        for k, (step, _) in enumerate(steps):
            x, y = prepared[k][i % len(batches)]
            t0, c0 = time.perf_counter(), time.process_time()
            loss = step(x, y)
            if i >= 10:  # the first steps warm up caches and allocators
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
                losses[k].append(loss)
    return ([statistics.median(t) for t in times], [statistics.median(t) for t in cpu],
            [l[-1] for l in losses])


def main(args):
    import torch
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((BATCH, 784)).astype(np.float32),
                rng.integers(0, 10, BATCH).astype(np.int64)) for _ in range(20)]
    weights = init_weights(0)
    (t_mg, t_th), (c_mg, c_th), (l_mg, l_th) = time_alternating(
        [minigen_step_fn(weights), torch_step_fn(weights)], batches, args.steps)
    print(f"torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    print(f"minigen: {t_mg * 1e3:.3f} ms/step   torch-CPU: {t_th * 1e3:.3f} ms/step   "
          f"ratio minigen/torch: {t_mg / t_th:.2f}x")
    print(f"CPU time (this process only): minigen {c_mg * 1e3:.3f} ms/step   torch-CPU: "
          f"{c_th * 1e3:.3f} ms/step   ratio {c_mg / c_th:.2f}x")
    print(f"loss after {args.steps} steps: minigen {l_mg:.4f}, torch {l_th:.4f} "
          f"(same weights and batches; they should agree closely)")


if __name__ == "__main__":
    main(ARGS)
