"""Saving and resuming: an optimizer (and its scheduler) saved mid-run and loaded into a fresh one
continues exactly (bitwise, float32) as the uninterrupted run; state dicts have torch's structure,
are snapshots, and a torch optimizer's state loads into minigen's."""
import copy
import pickle

import numpy as np
import pytest
import torch

import minigen as mg
from test_optim_harness import (assert_same_trajectory, data_arrays, initial_arrays, leaves,
                                numpy_of, train)

RESUMABLE = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


def _make(name, kwargs, params):
    opt = getattr(mg.optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.003}],
                                  **kwargs)
    sched = mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=1e-4)
    return opt, sched


@pytest.mark.parametrize("name,kwargs", RESUMABLE, ids=[r[0] for r in RESUMABLE])
def test_resuming_from_a_pickled_state_dict_continues_bitwise(name, kwargs):
    data = data_arrays(np.float32)
    params = leaves(mg, initial_arrays(np.float32))
    opt, sched = _make(name, kwargs, params)
    train(mg, params, opt, 10, data, sched)
    checkpoint = pickle.dumps({"params": [p.numpy().copy() for p in params],
                               "opt": opt.state_dict(), "sched": sched.state_dict()})
    uninterrupted = train(mg, params, opt, 10, data, sched)

    saved = pickle.loads(checkpoint)
    params2 = leaves(mg, saved["params"])
    opt2, sched2 = _make(name, kwargs, params2)  # as torch advises: scheduler first, then load
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    resumed = train(mg, params2, opt2, 10, data, sched2)
    for a, b in zip(uninterrupted, resumed):
        for x, y in zip(a, b):
            assert x.dtype == np.float32
            np.testing.assert_array_equal(x, y)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_state_dict_is_a_snapshot_that_later_steps_do_not_change():
    params = leaves(mg, initial_arrays())
    opt = mg.optim.Adam(params, lr=0.1)
    train(mg, params, opt, 2, data_arrays())
    sd = opt.state_dict()
    before = copy.deepcopy(sd)
    train(mg, params, opt, 2, data_arrays())
    assert sd["state"][0]["step"] == before["state"][0]["step"] == 2
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
    assert sd["state"][0]["exp_avg"] is not opt.state[params[0]]["exp_avg"]


def test_loaded_state_is_copied_and_cast_to_the_parameter_dtype():
    params = leaves(mg, initial_arrays(np.float32))
    opt = mg.optim.RMSprop(params, momentum=0.5)
    train(mg, params, opt, 2, data_arrays(np.float32))
    sd = opt.state_dict()
    sd["state"][0]["square_avg"] = sd["state"][0]["square_avg"].astype(np.float64)
    opt.load_state_dict(sd)
    loaded = opt.state[params[0]]["square_avg"]
    assert loaded.dtype == np.float32 and not np.shares_memory(loaded, sd["state"][0]["square_avg"])
    assert opt.state[params[0]]["step"] == 2


def test_state_dict_numbers_parameters_through_all_groups_like_torch():
    sds = []
    for lib in (mg, torch):
        params = leaves(lib, initial_arrays())
        opt = lib.optim.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:]}], lr=0.1,
                            momentum=0.9)
        train(lib, params, opt, 1, data_arrays())
        sds.append(opt.state_dict())
    ours, theirs = sds
    assert [g["params"] for g in ours["param_groups"]] == [[0], [1, 2, 3]]
    assert [g["params"] for g in theirs["param_groups"]] == [[0], [1, 2, 3]]
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0, 1, 2]
    for k in ours["state"]:
        np.testing.assert_allclose(ours["state"][k]["momentum_buffer"],
                                   theirs["state"][k]["momentum_buffer"].numpy(), rtol=1e-12)
    for g, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert all(tg[k] == v for k, v in g.items())


@pytest.mark.parametrize("name,kwargs", RESUMABLE, ids=[r[0] for r in RESUMABLE])
def test_a_torch_optimizer_state_dict_converted_to_numpy_loads_and_continues_like_torch(name,
                                                                                      kwargs):
    data = data_arrays()
    tparams = leaves(torch, initial_arrays())
    topt = getattr(torch.optim, name)(tparams, **kwargs)
    train(torch, tparams, topt, 5, data)
    sd = topt.state_dict()
    converted = {"state": {k: {n: v.numpy().copy() if torch.is_tensor(v) else v
                               for n, v in s.items()} for k, s in sd["state"].items()},
                 "param_groups": sd["param_groups"]}
    params = leaves(mg, [numpy_of(p) for p in tparams])
    opt = getattr(mg.optim, name)(params, **kwargs)
    opt.load_state_dict(converted)
    assert_same_trajectory(train(mg, params, opt, 5, data), train(torch, tparams, topt, 5, data))


def test_adamw_keeps_decoupled_weight_decay_after_loading_an_adam_state():
    params = leaves(mg, initial_arrays())
    sd = mg.optim.Adam(params).state_dict()
    opt = mg.optim.AdamW(params)
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_load_state_dict_rejects_a_different_group_structure():
    params = leaves(mg, initial_arrays())
    sd = mg.optim.SGD(params).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups: 1 saved, 2"):
        mg.optim.SGD([{"params": params[:2]}, {"params": params[2:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 4 saved parameters, 3 here"):
        mg.optim.SGD(params[:3]).load_state_dict(sd)


def test_scheduler_state_dict_resumes_the_lr_sequence_exactly():
    def make(params):
        opt = mg.optim.SGD(params, lr=0.1)
        sched = mg.optim.lr_scheduler.SequentialLR(
            opt, [mg.optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=5),
                  mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)], milestones=[5])
        return opt, sched

    def lrs(opt, sched, n):
        out = []
        for _ in range(n):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out
    params = leaves(mg, initial_arrays())
    opt, sched = make(params)
    lrs(opt, sched, 12)
    saved = pickle.loads(pickle.dumps((opt.state_dict(), sched.state_dict())))
    expected = lrs(opt, sched, 30)
    opt2, sched2 = make(params)
    opt2.load_state_dict(saved[0])
    sched2.load_state_dict(saved[1])
    assert lrs(opt2, sched2, 30) == expected


def test_lambda_lr_state_dict_holds_no_function_but_restores_a_callable_objects_attributes():
    class Warmup:
        def __init__(self, n):
            self.n = n

        def __call__(self, t):
            return min(1.0, (t + 1) / self.n)

    params = leaves(mg, initial_arrays())
    opt = mg.optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    sched = mg.optim.lr_scheduler.LambdaLR(opt, [lambda t: 0.9 ** t, Warmup(10)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"n": 10}]
    pickle.dumps(sd)  # saveable: no function inside
    other = Warmup(3)
    sched2 = mg.optim.lr_scheduler.LambdaLR(opt, [lambda t: 0.9 ** t, other])
    sched2.load_state_dict(sd)
    assert other.n == 10 and sched2.last_epoch == sched.last_epoch
