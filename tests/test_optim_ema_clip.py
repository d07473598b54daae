"""EMA of parameters against a hand computation, and gradient clipping against torch.nn.utils."""
import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from oracle import assert_close

# ---------------------------------------------------------------------------------------- EMA


def _params():
    return [mg.tensor(np.array([1.0, -2.0]), requires_grad=True),
            mg.tensor(np.array([[4.0]]), requires_grad=True)]


def _set(params, values):
    with mg.no_grad():
        for p, v in zip(params, values):
            p.copy_(np.asarray(v, dtype=np.float64))


def test_ema_update_is_decay_times_shadow_plus_one_minus_decay_times_param():
    params = _params()
    ema = mg.optim.EMA(params, decay=0.9)
    _set(params, [[2.0, 0.0], [[0.0]]])
    ema.update()
    # 0.9 * 1 + 0.1 * 2 = 1.1;  0.9 * -2 + 0.1 * 0 = -1.8;  0.9 * 4 + 0.1 * 0 = 3.6
    np.testing.assert_allclose(ema.shadow_params[0], [1.1, -1.8], rtol=1e-15)
    np.testing.assert_allclose(ema.shadow_params[1], [[3.6]], rtol=1e-15)
    _set(params, [[0.0, 1.0], [[1.0]]])
    ema.update()
    # 0.9 * 1.1 = 0.99;  0.9 * -1.8 + 0.1 = -1.52;  0.9 * 3.6 + 0.1 = 3.34
    np.testing.assert_allclose(ema.shadow_params[0], [0.99, -1.52], rtol=1e-15)
    np.testing.assert_allclose(ema.shadow_params[1], [[3.34]], rtol=1e-15)
    assert ema.num_updates == 2


def test_ema_warmup_uses_min_of_decay_and_one_plus_n_over_ten_plus_n():
    p = mg.tensor(np.array([0.0]), requires_grad=True)
    ema = mg.optim.EMA([p], decay=0.5, use_num_updates=True)
    expected, shadow = [], 0.0
    for n in range(1, 8):
        decay = min(0.5, (1 + n) / (10 + n))  # 2/11, 3/12, 4/13, 5/14, then 0.5
        assert ema.current_decay() == pytest.approx(decay, rel=1e-15)
        _set([p], [[float(n)]])
        ema.update()
        shadow = decay * shadow + (1 - decay) * n
        expected.append(shadow)
        assert ema.shadow_params[0][0] == pytest.approx(shadow, rel=1e-14)


def test_ema_follows_a_training_run_step_by_step():
    from test_optim_harness import data_arrays, initial_arrays, leaves, train
    params = leaves(mg, initial_arrays())
    opt = mg.optim.Adam(params, lr=0.05)
    ema = mg.optim.EMA(params, decay=0.8)
    shadows = [a.copy() for a in initial_arrays()]
    for _ in range(6):
        values = train(mg, params, opt, 1, data_arrays())[-1]
        ema.update()
        shadows = [0.8 * s + 0.2 * v for s, v in zip(shadows, values)]
    for s, e in zip(shadows, ema.shadow_params):
        np.testing.assert_allclose(e, s, rtol=1e-13, atol=1e-15)


def test_average_parameters_swaps_ema_weights_in_and_restores_them_in_place():
    params = _params()
    arrays = [p.data for p in params]
    ema = mg.optim.EMA(params, decay=0.5)
    _set(params, [[3.0, 0.0], [[0.0]]])
    ema.update()  # shadows: [2, -1], [[2]]
    with ema.average_parameters():
        np.testing.assert_array_equal(params[0].numpy(), [2.0, -1.0])
        np.testing.assert_array_equal(params[1].numpy(), [[2.0]])
        assert all(p.data is a for p, a in zip(params, arrays))
    np.testing.assert_array_equal(params[0].numpy(), [3.0, 0.0])
    with pytest.raises(ZeroDivisionError):
        with ema.average_parameters():
            1 / 0
    np.testing.assert_array_equal(params[0].numpy(), [3.0, 0.0])  # restored after an error too


def test_ema_copy_to_other_parameters_and_store_restore():
    params = _params()
    ema = mg.optim.EMA(params, decay=0.0)
    _set(params, [[5.0, 6.0], [[7.0]]])
    ema.update()
    target = _params()
    ema.copy_to(target)
    np.testing.assert_array_equal(target[0].numpy(), [5.0, 6.0])
    with pytest.raises(ValueError, match="holds 2 averaged parameters, but 1 parameters were"):
        ema.copy_to(target[:1])
    with pytest.raises(RuntimeError, match="needs a store"):
        ema.restore()


def test_ema_accepts_any_object_with_a_parameters_method():
    class Model:
        def __init__(self):
            self.w = mg.tensor(np.ones(3), requires_grad=True)

        def parameters(self):
            yield self.w
    model = Model()
    ema = mg.optim.EMA(model, decay=0.5)
    _set([model.w], [[3.0, 3.0, 3.0]])
    ema.update()
    np.testing.assert_array_equal(ema.shadow_params[0], [2.0, 2.0, 2.0])


def test_ema_state_dict_round_trip_continues_bitwise():
    rng = np.random.default_rng(0)
    params = [mg.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)]
    ema = mg.optim.EMA(params, decay=0.99, use_num_updates=True)
    steps = [rng.standard_normal((3, 2)).astype(np.float32) for _ in range(10)]
    for v in steps[:5]:
        _set(params, [v])
        ema.update()
    sd = ema.state_dict()
    ema2 = mg.optim.EMA(params, decay=0.5)
    ema2.load_state_dict(sd)
    for v in steps[5:]:
        _set(params, [v])
        ema.update()
        ema2.update()
    assert ema2.num_updates == 10 and ema2.decay == 0.99 and ema2.use_num_updates
    np.testing.assert_array_equal(ema.shadow_params[0], ema2.shadow_params[0])
    assert ema2.shadow_params[0].dtype == np.float32


def test_ema_errors_name_the_problem():
    with pytest.raises(ValueError, match="Invalid decay value: 1.5"):
        mg.optim.EMA(_params(), decay=1.5)
    with pytest.raises(TypeError, match="parameter 1 is a list"):
        mg.optim.EMA([_params()[0], [1.0]])
    ema = mg.optim.EMA(_params())
    with pytest.raises(ValueError, match="averaged parameter 0 has shape \\(3,\\), the parameter "
                                         "has shape \\(2,\\)"):
        ema.load_state_dict({"decay": 0.9, "num_updates": 0,
                             "shadow_params": [np.zeros(3), np.zeros((1, 1))]})


# ---------------------------------------------------------------------------------------- clipping

def _grads_pair(dtype, scale=1.0, seed=0):
    """The same parameters and gradients in both libraries; the third parameter has no gradient."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2,)]
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [scale * rng.standard_normal(s).astype(dtype) for s in shapes[:2]] + [None]
    out = []
    for lib in (mg, torch):
        params = [lib.tensor(v.copy(), requires_grad=True) for v in values]
        for p, g in zip(params, grads):
            if g is not None:
                p.grad = lib.tensor(g.copy())
        out.append(params)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    ours, theirs = _grads_pair(dtype)
    total = mg.optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, mg.Tensor) and total.shape == () and total.dtype == dtype
    assert_close(total, expected)
    assert_close([p.grad for p in ours], [p.grad for p in theirs])


@given(max_norm=st.floats(1e-3, 10.0), norm_type=st.sampled_from([0.5, 1.0, 2.0, 4.0, math.inf]),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), seed=st.integers(0, 100))
def test_clip_grad_norm_matches_torch_for_drawn_sizes(max_norm, norm_type, scale, seed):
    ours, theirs = _grads_pair(np.float64, scale, seed)
    assert_close(mg.optim.clip_grad_norm_(ours, max_norm, norm_type),
                 torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type))
    assert_close([p.grad for p in ours], [p.grad for p in theirs])


def test_clipped_gradients_have_norm_max_norm_and_keep_their_tensor_objects():
    ours, _ = _grads_pair(np.float64, scale=10.0)
    grads = [p.grad for p in ours]
    mg.optim.clip_grad_norm_(ours, 1.0)
    assert all(p.grad is g for p, g in zip(ours, grads))
    flat = np.concatenate([p.grad.numpy().ravel() for p in ours[:2]])
    assert np.linalg.norm(flat) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_accepts_a_single_tensor_and_returns_zero_without_gradients():
    p = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    assert mg.optim.clip_grad_norm_(p, 1.0).item() == 0.0
    p.grad = mg.tensor(np.array([3.0, 4.0]))
    assert mg.optim.clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_refuses_a_nonfinite_norm_when_asked():
    p = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    p.grad = mg.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite \\(inf\\)"):
        mg.optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor([np.inf, 1.0], dtype=torch.float64)
    with np.errstate(invalid="ignore"):  # inf * 0: without the flag it scales anyway, as torch
        total = mg.optim.clip_grad_norm_([p], 1.0)
    assert_close(total, torch.nn.utils.clip_grad_norm_([t], 1.0))
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())  # NaN where torch has NaN


@pytest.mark.parametrize("clip_value", [0.1, 1.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _grads_pair(np.float32)
    assert mg.optim.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_close([p.grad for p in ours], [p.grad for p in theirs])
