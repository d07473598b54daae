"""Pooling layers as specifications: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d give torch's
outputs (and max pooling's indices), gradients and second-order gradients for drawn kernel sizes,
strides, paddings, dilations, ceil_mode, count_include_pad and divisor_override, on batched and
unbatched inputs with size-1 dims; their gradients pass gradcheck; their reprs are torch's."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import minigen as mg
import minigen.nn as nn
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_function

rng = np.random.default_rng(0)


def int_or_pair(lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


@st.composite
def pool_cases(draw, kind):
    """(settings of the layer, input shape): the (dilated) window fits into the padded input."""
    kernel = draw(int_or_pair(1, 3))
    settings = {"kernel_size": kernel, "stride": draw(st.one_of(st.none(), int_or_pair(1, 3))),
                "ceil_mode": draw(st.booleans())}
    padding = tuple(draw(st.integers(0, k // 2)) for k in pair(kernel))
    settings["padding"] = padding if draw(st.booleans()) or padding[0] != padding[1] \
        else padding[0]
    dilation = (1, 1)
    if kind == "max":
        settings["dilation"] = draw(int_or_pair(1, 2))
        settings["return_indices"] = draw(st.booleans())
        dilation = pair(settings["dilation"])
    else:
        settings["count_include_pad"] = draw(st.booleans())
        settings["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 4)))
    hw = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
               for k, d, p in zip(pair(kernel), dilation, padding))
    batch = draw(st.sampled_from([(), (1,), (2,)]))  # () is an unbatched (C, H, W) input
    return settings, batch + (draw(st.integers(1, 3)),) + hw


def check_pool(mg_layer, torch_layer, shape, dtype=np.float64):
    check_function(mg_layer, torch_layer, [rng.standard_normal(shape)], dtype)


@given(pool_cases("max"), st.sampled_from([np.float64, np.float32]))
def test_max_pool2d_layer_matches_torch(case, dtype):
    settings, shape = case
    theirs = torch.nn.MaxPool2d(**settings)
    # a dilated window that reads only padding: its output is -inf in both, but torch sends
    # its gradient to a pixel outside the window (F.max_pool2d's docstring), minigen nowhere
    out = theirs(torch.ones(shape))
    assume(not torch.isinf(out[0] if settings["return_indices"] else out).any())
    check_pool(nn.MaxPool2d(**settings), theirs, shape, dtype)


@given(pool_cases("avg"), st.sampled_from([np.float64, np.float32]))
def test_avg_pool2d_layer_matches_torch(case, dtype):
    settings, shape = case
    check_pool(nn.AvgPool2d(**settings), torch.nn.AvgPool2d(**settings), shape, dtype)


@st.composite
def adaptive_cases(draw):
    hw = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    sizes = [draw(st.one_of(st.none(), st.integers(1, 2 * n))) for n in hw]
    output_size = sizes[0] if sizes[0] is not None and draw(st.booleans()) else tuple(sizes)
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return output_size, batch + (draw(st.integers(1, 3)),) + hw


@given(adaptive_cases(), st.sampled_from([np.float64, np.float32]))
def test_adaptive_avg_pool2d_layer_matches_torch(case, dtype):
    output_size, shape = case
    check_pool(nn.AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size),
               shape, dtype)


@given(st.integers(1, 6), st.integers(1, 6))
def test_adaptive_avg_pool2d_of_one_is_the_mean_over_height_and_width(h, w):
    x = mg.tensor(rng.standard_normal((2, 3, h, w)))
    y = nn.AdaptiveAvgPool2d(1)(x)
    assert y.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(y.numpy()[..., 0, 0], x.numpy().mean(axis=(2, 3)), rtol=1e-12)


@pytest.mark.parametrize("layer", [
    nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    nn.MaxPool2d((2, 3), dilation=2),
    nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    nn.AvgPool2d((2, 3), divisor_override=3),
    nn.AdaptiveAvgPool2d((3, 2)),
], ids=repr)
def test_pooling_layer_gradients_pass_gradcheck(layer):
    x = mg.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    assert gradcheck(layer, [x]) and gradgradcheck(layer, [x])


REPRS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3),), dict(stride=1, padding=1, dilation=2, ceil_mode=True)),
    ("MaxPool2d", (3, 2, 1), dict(return_indices=True)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 1, 1, True, False, 2), {}),
    ("AvgPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 0))),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
]


@pytest.mark.parametrize("name, args, kwargs", REPRS, ids=[f"{n}{a}{k}" for n, a, k in REPRS])
def test_pooling_layer_repr_is_torchs(name, args, kwargs):
    mine, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    assert mine.state_dict() == {} and not list(mine.parameters())


def test_pooling_layers_name_a_wrong_input_in_their_errors():
    with pytest.raises(ValueError, match="max_pool2d.*4-D input"):
        nn.MaxPool2d(2)(mg.randn(4, 4))
    with pytest.raises(ValueError, match="padding .* at most half of kernel_size"):
        nn.AvgPool2d(2, padding=2)(mg.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match="output_size must be positive"):
        nn.AdaptiveAvgPool2d(0)(mg.randn(1, 1, 4, 4))
