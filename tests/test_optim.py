"""Optimizers against torch.optim: the same model, initial weights and data in both libraries, and
the parameters must agree after every step (float64 to ~1e-10 relative, float32 to ~1e-5), for
every optimizer and option; plus parameter groups, zero_grad, closures and the hot-path contract."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from test_optim_harness import (assert_same_trajectory, data_arrays, initial_arrays, leaves,
                                loss_of, run, train)

# (name, keyword arguments): each important option of each optimizer, alone and combined
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.9))),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.0, 0.99), maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, maximize=True, eps=1e-4)),
]


def _ids(configs):
    return [f"{name}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for name, kw in configs]


def _maker(name, **kwargs):
    return lambda lib, params: getattr(lib.optim, name)(params, **kwargs)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=_ids(CONFIGS))
def test_trajectory_matches_torch_in_float64(name, kwargs):
    ours, theirs = run(_maker(name, **kwargs), steps=15)
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name,kwargs", CONFIGS[1::3], ids=_ids(CONFIGS[1::3]))
def test_trajectory_matches_torch_in_float32_and_stays_float32(name, kwargs):
    ours, theirs = run(_maker(name, **kwargs), steps=10, dtype=np.float32)
    assert_same_trajectory(ours, theirs, rtol=2e-5, atol=2e-6)


@given(lr=st.floats(1e-3, 0.3), momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       dampening=st.floats(0.0, 0.9), weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
       nesterov=st.booleans(), maximize=st.booleans())
def test_sgd_matches_torch_for_drawn_hyperparameters(lr, momentum, dampening, weight_decay,
                                                     nesterov, maximize):
    if nesterov:  # torch's rule: Nesterov needs momentum and no dampening
        momentum, dampening = max(momentum, 0.5), 0.0
    kw = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
              nesterov=nesterov, maximize=maximize)
    assert_same_trajectory(*run(_maker("SGD", **kw), steps=12))


@given(name=st.sampled_from(["Adam", "AdamW"]), lr=st.floats(1e-4, 0.1),
       beta1=st.floats(0.0, 0.99), beta2=st.floats(0.5, 0.9999), eps=st.sampled_from([1e-8, 1e-4]),
       weight_decay=st.sampled_from([0.0, 0.01, 0.2]), amsgrad=st.booleans(),
       maximize=st.booleans())
def test_adam_and_adamw_match_torch_for_drawn_hyperparameters(name, lr, beta1, beta2, eps,
                                                              weight_decay, amsgrad, maximize):
    kw = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
              maximize=maximize)
    assert_same_trajectory(*run(_maker(name, **kw), steps=12))


@given(lr=st.floats(1e-4, 0.03), alpha=st.floats(0.5, 0.999), eps=st.sampled_from([1e-8, 1e-3]),
       weight_decay=st.sampled_from([0.0, 0.05]), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       centered=st.booleans(), maximize=st.booleans())
def test_rmsprop_matches_torch_for_drawn_hyperparameters(lr, alpha, eps, weight_decay, momentum,
                                                         centered, maximize):
    kw = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
              centered=centered, maximize=maximize)
    assert_same_trajectory(*run(_maker("RMSprop", **kw), steps=12))


def test_defaults_equal_torchs():
    params = leaves(mg, initial_arrays())
    tparams = leaves(torch, initial_arrays())
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        ours = getattr(mg.optim, name)(params).param_groups[0]
        theirs = getattr(torch.optim, name)(tparams).param_groups[0]
        for key, value in ours.items():
            if key != "params":
                assert theirs[key] == value, f"{name}: default {key}={value}, torch {theirs[key]}"


def test_param_groups_with_their_own_hyperparameters_match_torch():
    def make(lib, p):
        return lib.optim.SGD([{"params": p[:2], "lr": 0.2, "nesterov": True},
                              {"params": p[2:], "momentum": 0.5}], lr=0.05, momentum=0.9)
    assert_same_trajectory(*run(make, steps=12))


def test_named_parameters_are_accepted_and_their_names_kept():
    params = leaves(mg, initial_arrays())
    opt = mg.optim.Adam([(f"p{i}", p) for i, p in enumerate(params)])
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], params))
    assert opt.param_groups[0]["param_names"] == ["p0", "p1", "p2", "p3"]


def test_add_param_group_midway_matches_torch():
    def hook(step, params, opt):
        if step == 4:
            opt.add_param_group({"params": [params[2]], "lr": 0.3})

    def make(lib, p):
        return lib.optim.Adam(p[:2], lr=0.05)
    assert_same_trajectory(*run(make, steps=10, hook=hook))


def test_changing_lr_between_steps_matches_torch():
    def hook(step, params, opt):
        for g in opt.param_groups:
            g["lr"] = 0.1 / (step + 1)
    assert_same_trajectory(*run(_maker("RMSprop", momentum=0.9), steps=10, hook=hook))


def test_parameter_without_gradient_is_skipped_and_gets_no_state():
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        params = leaves(mg, initial_arrays())
        unused_before = params[3].numpy().copy()
        opt = getattr(mg.optim, name)(params, **({"momentum": 0.9} if name == "SGD" else {}))
        train(mg, params, opt, 3, data_arrays())
        assert params[3].grad is None
        np.testing.assert_array_equal(params[3].numpy(), unused_before)
        assert params[3] not in opt.state and len(opt.state) == 3


def test_state_keys_equal_torchs():
    for name, kw in CONFIGS:
        states = []
        for lib in (mg, torch):
            params = leaves(lib, initial_arrays())
            opt = getattr(lib.optim, name)(params, **kw)
            train(lib, params, opt, 2, data_arrays())
            states.append(opt.state_dict())
        ours, theirs = states
        assert sorted(ours["state"]) == sorted(theirs["state"]), name
        for k in ours["state"]:
            assert sorted(ours["state"][k]) == sorted(theirs["state"][k]), (name, kw)
        assert [g["params"] for g in ours["param_groups"]] == \
               [g["params"] for g in theirs["param_groups"]]


def test_zero_grad_sets_none_by_default_and_zeros_in_place_when_asked():
    params = leaves(mg, initial_arrays())
    opt = mg.optim.SGD(params, lr=0.1)
    loss_of(mg, params, data_arrays()).backward()
    grad = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is grad and not grad.numpy().any()
    assert params[3].grad is None
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_with_closure_returns_its_loss_and_uses_its_gradients():
    params = leaves(mg, initial_arrays())
    opt = mg.optim.SGD(params, lr=0.1)
    expected = params[0].numpy().copy()

    def closure():
        opt.zero_grad()
        loss = loss_of(mg, params, data_arrays())
        loss.backward()
        return loss
    with mg.no_grad():  # the closure turns recording back on for itself
        loss = opt.step(closure)
    assert isinstance(loss, mg.Tensor)
    assert not np.array_equal(params[0].numpy(), expected)
    np.testing.assert_allclose(params[0].numpy(), expected - 0.1 * params[0].grad.numpy())


def test_step_updates_in_place_and_creates_no_tensors(monkeypatch):
    params = leaves(mg, initial_arrays(np.float32))
    arrays = [p.data for p in params]
    opts = [mg.optim.SGD(params, momentum=0.9, nesterov=True, weight_decay=0.1),
            mg.optim.Adam(params, amsgrad=True, weight_decay=0.1),
            mg.optim.AdamW(params, maximize=True),
            mg.optim.RMSprop(params, centered=True, momentum=0.9, weight_decay=0.1)]
    loss_of(mg, params, data_arrays(np.float32)).backward()
    created = []
    original = mg.Tensor.__init__

    def counting_init(self, *args, **kwargs):
        created.append(1)
        original(self, *args, **kwargs)
    monkeypatch.setattr(mg.Tensor, "__init__", counting_init)
    for opt in opts:
        opt.step()
        opt.step()
    assert created == [], "an optimizer step should work on raw arrays only"
    assert all(p.data is a for p, a in zip(params, arrays))  # views of the params see updates
    assert all(p.dtype == np.float32 for p in params)


def test_numpy_scalar_hyperparameters_keep_float32_parameters_bitwise():
    results = []
    for lr in (0.01, np.float64(0.01)):
        params = leaves(mg, initial_arrays(np.float32))
        opt = mg.optim.Adam(params, lr=lr, betas=(np.float64(0.9), 0.999))
        traj = train(mg, params, opt, 3, data_arrays(np.float32))
        assert all(a.dtype == np.float32 for a in traj[-1])
        results.append(traj[-1])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_read_only_parameter_array_is_given_its_own_memory():
    p = mg.tensor(np.zeros(3), requires_grad=True)
    p.data = np.broadcast_to(np.ones(1), (3,))  # not writable
    p.grad = mg.tensor(np.array([1.0, 2.0, 3.0]))
    mg.optim.SGD([p], lr=0.5).step()
    np.testing.assert_array_equal(p.numpy(), [0.5, 0.0, -0.5])


def test_repr_lists_each_group_and_its_hyperparameters():
    params = leaves(mg, initial_arrays())
    text = repr(mg.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}]))
    assert text.startswith("Adam (") and "Parameter Group 1" in text and "lr: 0.5" in text


@pytest.mark.skipif(not mg.cuda_available(), reason="needs CuPy and a GPU")
def test_optimizers_clipping_and_ema_on_the_gpu_follow_the_cpu():
    X, Y = data_arrays()
    finals = []
    for device in ("cpu", "cuda"):
        params = [mg.tensor(a, requires_grad=True, device=device) for a in initial_arrays()]
        Xd, Yd = mg.tensor(X, device=device), mg.tensor(Y, device=device)
        opts = [mg.optim.SGD(params[:1], lr=0.1, momentum=0.9, nesterov=True),
                mg.optim.Adam(params[1:2], lr=0.05, amsgrad=True),
                mg.optim.RMSprop(params[2:], lr=0.01, centered=True, momentum=0.5)]
        ema = mg.optim.EMA(params, decay=0.9)
        for _ in range(5):
            for opt in opts:
                opt.zero_grad()
            W, b, V, _ = params
            (((Xd @ W + b).tanh() @ V - Yd) ** 2).mean().backward()
            mg.optim.clip_grad_norm_(params, 0.5)
            for opt in opts:
                opt.step()
            ema.update()
        assert all(p.device == device for p in params)
        with ema.average_parameters():
            finals.append([p.numpy().copy() for p in params])
        sd = opts[1].state_dict()
        opts[1].load_state_dict(sd)
    for a, b in zip(*finals):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
