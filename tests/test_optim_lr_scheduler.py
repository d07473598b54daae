"""Learning-rate schedulers against torch.optim.lr_scheduler: the same schedule on an optimizer
with two parameter groups must give the same get_last_lr() and group lrs at every step."""
import math
import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from test_optim_harness import initial_arrays, leaves


def _optimizer(lib, lrs=(0.1, 0.02)):
    params = leaves(lib, initial_arrays())
    return lib.optim.SGD([{"params": params[:2], "lr": lrs[0]}, {"params": params[2:]}], lr=lrs[1])


def _sequence(lib, make_scheduler, steps):
    opt = _optimizer(lib)
    sched = make_scheduler(lib.optim.lr_scheduler, opt)
    out = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == out[-1]
    return out


def assert_same_lrs(make_scheduler, steps=50):
    ours = _sequence(mg, make_scheduler, steps)
    theirs = _sequence(torch, make_scheduler, steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


SCHEDULES = {
    "StepLR": lambda s, o: s.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-default-gamma": lambda s, o: s.StepLR(o, 3),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=20),
    "CosineAnnealingLR-eta_min": lambda s, o: s.CosineAnnealingLR(o, T_max=13, eta_min=1e-3),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda t: 1.0 / (t + 1)),
    "LambdaLR-per-group": lambda s, o: s.LambdaLR(o, [lambda t: 0.9 ** t,
                                                      lambda t: min(1.0, (t + 1) / 10)]),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lambda t: 0.97),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR-warmup": lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=10),
    "LinearLR-decay": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                              total_iters=20),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o, total_iters=30, power=2.0),
    "SequentialLR-warmup-cosine": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.01, total_iters=10), s.CosineAnnealingLR(o, T_max=30)],
        milestones=[10]),
    "SequentialLR-three": lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, 0.1, 3), s.ExponentialLR(o, 0.9), s.StepLR(o, 4)],
        milestones=[5, 20]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_sequence_matches_torch_over_60_steps(name):
    assert_same_lrs(SCHEDULES[name], steps=60)


@given(T_max=st.integers(1, 40), eta_min=st.sampled_from([0.0, 1e-5, 0.01]))
def test_cosine_annealing_matches_torch_over_several_periods(T_max, eta_min):
    assert_same_lrs(lambda s, o: s.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min),
                    steps=5 * T_max + 3)


@given(T_max=st.integers(1, 50))
def test_cosine_annealing_recursion_follows_the_closed_form(T_max):
    eta_min, base = 1e-4, (0.1, 0.02)
    lrs = _sequence(mg, lambda s, o: s.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min),
                    steps=4 * T_max)
    for t, step_lrs in enumerate(lrs):
        for lr, b in zip(step_lrs, base):
            closed = eta_min + (b - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2
            assert lr == pytest.approx(closed, rel=1e-9, abs=1e-13), f"step {t}"


@given(start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total=st.integers(1, 30))
def test_linear_lr_matches_torch_for_drawn_factors(start, end, total):
    assert_same_lrs(lambda s, o: s.LinearLR(o, start_factor=start, end_factor=end,
                                            total_iters=total), steps=total + 5)


def test_optimizer_with_scheduler_trains_like_torch():
    from test_optim_harness import assert_same_trajectory, run
    assert_same_trajectory(*run(lambda lib, p: lib.optim.Adam(p, lr=0.05),
                                make_scheduler=lambda lib, o: lib.optim.lr_scheduler
                                .CosineAnnealingLR(o, T_max=6), steps=15))


def test_scheduler_sets_initial_lr_and_base_lrs():
    opt = _optimizer(mg)
    sched = mg.optim.lr_scheduler.StepLR(opt, 2)
    assert sched.base_lrs == [0.1, 0.02] == [g["initial_lr"] for g in opt.param_groups]
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.02]


def test_stepping_the_scheduler_before_the_optimizer_warns():
    opt = _optimizer(mg)
    sched = mg.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _optimizer(mg)
    sched2 = mg.optim.lr_scheduler.ExponentialLR(opt2, 0.5)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr.*param_groups\\[0\\].*last_epoch=4"):
        mg.optim.lr_scheduler.StepLR(_optimizer(mg), 2, last_epoch=4)


def test_scheduler_arguments_are_checked_like_torchs():
    s = mg.optim.lr_scheduler
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        s.StepLR([], 2)
    with pytest.raises(ValueError, match="Starting multiplicative factor.*start_factor=0"):
        s.LinearLR(_optimizer(mg), start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor.*end_factor=1.5"):
        s.LinearLR(_optimizer(mg), end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        s.LambdaLR(_optimizer(mg), [lambda t: 1.0] * 3)
    with pytest.raises(TypeError, match="lr_lambda should be a function, but got float"):
        s.LambdaLR(_optimizer(mg), 0.5)
    opt = _optimizer(mg)
    with pytest.raises(ValueError, match="number of schedulers 2 and the number of milestones "
                                         "to be equal to 0"):
        s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(_optimizer(mg), 3)], milestones=[3])
