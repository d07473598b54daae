"""The op profiler: rows per op class that add up to the wall time, forward and backward kept
apart, the engine restored afterwards, and the CLI's --profile table."""
import subprocess
import sys

import numpy as np
import pytest

import minigen as mg
from minigen import autograd
from minigen.autograd import Function
from minigen.ops.conv import Conv2dOp


def _conv_step():
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32),
                  requires_grad=True)
    w = mg.tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
    y = mg.nn.functional.conv2d(x, w, padding=1).tanh()
    y.sum().backward()
    return x, w


def test_profile_counts_forward_and_backward_calls_per_op_class():
    prof = mg.profile(_conv_step, steps=2, warmup=1)
    rows = {r.op: r for r in prof.rows()}
    conv = rows["Conv2dOp"]
    assert conv.forward_calls == 1 and conv.backward_calls == 1   # per step
    assert conv.forward_s > 0 and conv.backward_s > 0
    # the ops of Conv2dOp's backward formula are counted inside it, not as rows of their own
    assert "ConvTranspose2dOp" not in rows and "Conv2dWeightGradOp" not in rows
    tanh = type(mg.ones(1, requires_grad=True).tanh()._ctx).__name__   # TanhOp (or Tanh)
    assert rows[tanh].forward_calls == 1


def test_profile_rows_add_up_to_no_more_than_the_wall_time():
    prof = mg.profile(_conv_step, steps=3)
    total = sum(r.forward_s + r.backward_s for r in prof.rows())
    assert total == pytest.approx(prof.ops_seconds())
    assert 0 < total <= prof.wall_s / prof.steps
    table = prof.table()
    for word in ("Conv2dOp", "outside ops", "wall", "fwd ms", "bwd ms"):
        assert word in table


def test_profile_by_shape_splits_rows_by_input_shapes():
    def tanh_sum(n):
        y = mg.ones(n, 3, requires_grad=True).tanh()
        y.sum().backward()
        return type(y._ctx).__name__

    with mg.profile() as prof:
        op = [tanh_sum(n) for n in (1, 2)][0]
    shapes = sorted(r.shapes for r in prof.rows(by_shape=True) if r.op == op)
    assert shapes == [((1, 3),), ((2, 3),)]
    assert f"{op} 1x3" in prof.table(by_shape=True)
    assert [r.shapes for r in prof.rows() if r.op == op] == [None]


def test_profile_leaves_the_engine_as_it_found_it():
    apply, walk = Function.__dict__["apply"], autograd.run_backward
    backward = Conv2dOp.__dict__["backward"]
    with pytest.raises(ZeroDivisionError):
        with mg.profile():
            _conv_step()
            1 / 0
    assert Function.__dict__["apply"] is apply and autograd.run_backward is walk
    assert Conv2dOp.__dict__["backward"] is backward
    x, w = _conv_step()                                     # still differentiable, unprofiled
    assert x.grad is not None and w.grad.shape == w.shape


def test_profile_keeps_second_order_gradients_working():
    x = mg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    with mg.profile() as prof:
        (g,) = mg.autograd.grad((x.tanh() ** 2).sum(), x, create_graph=True)
        g.sum().backward()
    expected = 2 * (1 - 3 * np.tanh(x.numpy()) ** 2) * (1 - np.tanh(x.numpy()) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10)
    assert any(r.backward_calls for r in prof.rows())


def test_cpu_clock_counts_this_process_only():
    import time
    with mg.profile(clock="cpu") as prof:
        time.sleep(0.2)                 # waiting is no CPU time
        _conv_step()
    assert prof.wall_s < 0.15 and "CPU ms per step" in prof.table()
    with pytest.raises(ValueError, match="clock must be"):
        mg.profile(clock="gpu")


def test_profiles_do_not_nest_and_bad_steps_are_refused():
    with mg.profile():
        with pytest.raises(RuntimeError, match="already running"):
            with mg.profile():
                pass
    with pytest.raises(ValueError, match="steps must be at least 1"):
        mg.profile(_conv_step, steps=0)


def test_train_profile_prints_the_table_on_stderr(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "minigen", "train", "gaussian", "--data", "ring8", "--steps", "2",
         "--out", str(tmp_path / "run"), "--quiet", "--profile"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "minigen profile" in result.stderr and "outside ops" in result.stderr
