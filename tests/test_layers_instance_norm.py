"""InstanceNorm2d as a specification: for drawn shapes (size-1 batch and channel dims, unbatched
inputs), eps, momentum, affine and track_running_stats it gives torch's outputs and gradients
(of the input, gamma and beta) through training steps and then in evaluation mode, with the same
running estimates; its state_dict loads into torch and torch's into it; its gradients pass
gradcheck in both modes; its repr and errors are torch's."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigen as mg
import minigen.nn as nn
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_layer
from oracle import assert_close, torch_from

rng = np.random.default_rng(0)


@st.composite
def instance_norm_cases(draw):
    settings = dict(num_features=draw(st.integers(1, 4)),
                    eps=draw(st.sampled_from([1e-5, 1e-3, 0.5])),
                    momentum=draw(st.sampled_from([0.1, 0.5, None])),
                    affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    hw = draw(st.sampled_from([(1, 2), (2, 1), (3, 3), (4, 5)]))
    batch = draw(st.sampled_from([(), (1,), (3,)]))
    return settings, batch + (settings["num_features"],) + hw


def randomize(torch_layer):
    """Move gamma, beta and the running estimates off their initial values."""
    with torch.no_grad():
        for value in torch_layer.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, tuple(value.shape))))


@given(instance_norm_cases(), st.sampled_from([np.float64, np.float32]))
def test_instance_norm2d_matches_torch_in_training_then_evaluation(case, dtype):
    settings, shape = case
    mine, theirs = nn.InstanceNorm2d(**settings), torch.nn.InstanceNorm2d(**settings)
    assert repr(mine) == repr(theirs)
    randomize(theirs)
    for step in range(2):
        x = 3 * rng.standard_normal(shape) + 1
        check_layer(mine, theirs, x, dtype)  # loads torch's state_dict, then runs both
        for name, buffer in theirs.named_buffers():
            assert_close(dict(mine.named_buffers())[name], buffer, what=f"{name}, step {step}")
    mine.eval(), theirs.eval()
    check_layer(mine, theirs, rng.standard_normal(shape), dtype)


@given(instance_norm_cases())
def test_instance_norm2d_state_dict_loads_into_torch(case):
    settings, shape = case
    mine = nn.InstanceNorm2d(**settings).double()
    x = rng.standard_normal(shape)
    mine(mg.tensor(x))  # moves the running estimates
    for p in mine.parameters():
        p.data[...] = rng.uniform(0.5, 2.0, p.shape)
    theirs = torch.nn.InstanceNorm2d(**settings).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in mine.state_dict().items()}, strict=True)
    for train in (True, False):
        mine.train(train), theirs.train(train)
        assert_close(mine(mg.tensor(x)), theirs(torch_from(x)), what=f"train={train}")


@pytest.mark.parametrize("train", [True, False])
def test_instance_norm2d_passes_gradcheck_and_gradgradcheck(train):
    layer = nn.InstanceNorm2d(3, affine=True, track_running_stats=True).double().train(train)
    for p in layer.parameters():
        p.data[...] = rng.uniform(0.5, 2.0, p.shape)
    x = mg.tensor(rng.standard_normal((2, 3, 3, 4)), requires_grad=True)
    assert gradcheck(layer, [x]) and gradgradcheck(layer, [x])


def test_instance_norm2d_normalizes_each_channel_of_each_image():
    x = mg.tensor(rng.standard_normal((4, 3, 5, 6)) * rng.uniform(1, 5, (4, 3, 1, 1)) + 2)
    y = nn.InstanceNorm2d(3)(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1, atol=1e-3)
    assert_close(nn.InstanceNorm2d(3)(x), nn.GroupNorm(3, 3, affine=False)(x))


def test_instance_norm2d_without_running_stats_uses_the_input_statistics_in_eval():
    x = mg.tensor(rng.standard_normal((2, 3, 4, 4)))
    layer = nn.InstanceNorm2d(3)
    assert layer.running_mean is None and list(layer.state_dict()) == []
    assert_close(layer.eval()(x), layer.train()(x))


def test_instance_norm2d_errors_and_warnings_are_torchs():
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.InstanceNorm2d(3)(mg.randn(2, 3))
    with pytest.raises(ValueError, match="has 4 channels .* num_features is 3"):
        nn.InstanceNorm2d(3, affine=True)(mg.randn(2, 4, 3, 3))
    with pytest.warns(UserWarning, match="num_features is not used with affine=False"):
        nn.InstanceNorm2d(3)(mg.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        nn.InstanceNorm2d(3)(mg.randn(2, 3, 1, 1))
    with pytest.raises(ValueError, match="more than 1 spatial element"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.nn.InstanceNorm2d(3)(torch.randn(2, 3, 1, 1))
    layer = nn.InstanceNorm2d(3, track_running_stats=True).eval()
    assert layer(mg.randn(2, 3, 1, 1)).shape == (2, 3, 1, 1)  # the running estimates: fine
