"""DDPM speed: one training step, and sampling with DDPM-1000 (ancestral) against DDIM-50.

The network's weights do not change the cost, so an untrained model with the registry's defaults
for the dataset is timed (``--set KEY=VALUE`` changes options). Prints the median training step,
and for each sampler the wall and CPU time (they differ when other processes share the cores),
the samples per second and the network calls per second.

    python benchmarks/bench_ddpm.py --data digits [--n 64] [--ddim 50] [--set channels=16]
    python benchmarks/bench_ddpm.py --data grid25 --n 2000

On a shared machine set OPENBLAS_NUM_THREADS=1 (or the number of free cores): OpenBLAS threads
that wait for busy cores make small matrix products many times slower.
"""
import argparse
import json
import statistics
import time

import numpy as np

import minigen as mg
from minigen import data as datasets
from minigen import models


def time_training_step(model, dataset, batch_size, lr, repeats):
    opt = model.configure_optimizers(lr)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats + 1):
        idx = rng.integers(0, len(dataset), batch_size)
        batch = tuple(mg.tensor(a[idx]) for a in dataset.arrays())
        start = time.perf_counter()
        model.training_step(batch, opt, 0)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])          # the first step pays for allocations


def time_sampler(model, n, steps, labels):
    mg.manual_seed(0)
    model.eval()
    start, cpu_start = time.perf_counter(), time.process_time()
    model.sample(n, y=labels, steps=steps)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    calls = model.num_timesteps if steps is None else steps
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
            "samples_per_second": round(n / seconds, 3),
            "network_calls_per_second": round(calls / seconds, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n", type=int,
                        help="samples per sampler (default 64 images, 2000 points)")
    parser.add_argument("--ddim", type=int, default=50, help="DDIM steps (default 50)")
    parser.add_argument("--repeats", type=int, default=5, help="training steps timed")
    parser.add_argument("--skip-ancestral", action="store_true", help="time DDIM only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    options = {}
    for item in args.set:
        key, _, value = item.partition("=")
        options[key] = models.parse_option("ddpm", key, value)
    dataset = datasets.load(args.data, "train")
    mg.manual_seed(0)
    model = models.create("ddpm", dataset, **options)
    train = models.train_defaults("ddpm", args.data)
    n = args.n or (64 if dataset.is_image else 2000)
    labels = mg.tensor(np.arange(n) % dataset.num_classes) if model.conditional else None

    result = {"data": args.data, "options": options, "n": n,
              "parameters": sum(p.numel() for p in model.parameters()),
              "batch_size": train["batch_size"],
              "train_step_seconds": round(time_training_step(model, dataset, train["batch_size"],
                                                             train["lr"], args.repeats), 4)}
    result[f"ddim{args.ddim}"] = time_sampler(model, n, args.ddim, labels)
    if not args.skip_ancestral:
        result[f"ddpm{model.num_timesteps}"] = time_sampler(model, n, None, labels)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
