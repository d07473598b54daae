"""A tiny model trained the same way in minigen and in torch, for comparing optimizers step by step.

The model is a one-hidden-layer net, loss = mean((tanh(X W + b) V - Y)^2), with four parameters:
W (3, 4), b (4,), V (4, 2) and ``unused`` (2,), which takes no part in the loss, so its gradient
stays None and every optimizer must skip it. ``lib`` is either the minigen or the torch module:
both spell the model the same way, so one function trains both. An optimizer with
``maximize=True`` is given the negated loss: ascent on it is the same well-conditioned descent, while
ascent on the loss itself would amplify the two libraries' last-bit rounding differences.
"""
import numpy as np
import torch

import minigen as mg

SHAPES = [(3, 4), (4,), (4, 2), (2,)]


def initial_arrays(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def data_arrays(dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 2)).astype(dtype)


def leaves(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def numpy_of(t):
    return t.detach().numpy().copy() if isinstance(t, torch.Tensor) else t.numpy().copy()


def loss_of(lib, params, data):
    W, b, V, _ = params
    X, Y = (lib.tensor(a) for a in data)
    return (((X @ W + b).tanh() @ V - Y) ** 2).mean()


def train(lib, params, optimizer, steps, data, scheduler=None, hook=None):
    """Run ``steps`` steps; return the parameter values after each step (a list of lists)."""
    trajectory = []
    for i in range(steps):
        optimizer.zero_grad()
        loss = loss_of(lib, params, data)
        if optimizer.param_groups[0].get("maximize"):
            loss = -loss  # gradient ascent on -loss: a stable path, so rounding is not amplified
        loss.backward()
        if hook is not None:
            hook(i, params, optimizer)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([numpy_of(p) for p in params])
    return trajectory


def run(make_optimizer, steps=15, dtype=np.float64, make_scheduler=None, hook=None, seed=0):
    """Train the model in both libraries with ``make_optimizer(lib, params)``; return both
    trajectories (minigen first)."""
    data = data_arrays(dtype)
    out = []
    for lib in (mg, torch):
        params = leaves(lib, initial_arrays(dtype, seed))
        opt = make_optimizer(lib, params)
        sched = make_scheduler(lib, opt) if make_scheduler else None
        out.append(train(lib, params, opt, steps, data, sched, hook))
    return out


def assert_same_trajectory(ours, theirs, rtol=1e-10, atol=1e-12):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for k, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype, f"step {step}, parameter {k}: dtype {x.dtype} vs {y.dtype}"
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"step {step + 1}, parameter {k}")
