"""F.conv1d, and max_pool2d / avg_pool2d with ceil_mode=True, against finite differences and torch
over drawn geometries: batched and unbatched inputs, groups, stride, dilation, int, 'valid' and
'same' padding, with and without bias; pooling windows whose last one overhangs the input (torch
keeps it when it starts inside the input or its left padding), count_include_pad and
divisor_override. minigen has no 1-d pooling."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigen as mg
import minigen.nn.functional as F
from minigen.testing import grid
from oracle import assert_close
from test_ops_harness import OpSpec, spec_tests


@st.composite
def conv1d_case(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding = draw(st.one_of(st.integers(0, 2), st.sampled_from(["valid", "same"])))
    stride = 1 if padding == "same" else draw(st.integers(1, 2))
    pad = padding if isinstance(padding, int) else 0
    length = max(1, dilation * (k - 1) + 1 - 2 * pad) + draw(st.integers(0, 3))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    shapes = (batch + (c_in, length), (c_out, c_in // groups, k))
    if draw(st.booleans()):
        shapes += ((c_out,),)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if draw(st.booleans()):  # torch also takes 1-tuples
        params.update({name: (params[name],) for name in ("stride", "dilation")})
    return shapes, params


@st.composite
def ceil_pool_case(draw, average):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    hw = tuple(max(1, kernel[i] - 2 * padding[i]) + draw(st.integers(0, 3)) for i in range(2))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    params = {"kernel_size": kernel, "stride": draw(st.sampled_from([stride, None])),
              "padding": padding, "ceil_mode": True}
    if average:
        params["count_include_pad"] = draw(st.booleans())
        params["divisor_override"] = draw(st.sampled_from([None, None, 3]))
    return (batch + (draw(st.integers(1, 2)),) + hw,), params


SPECS = [
    OpSpec("conv1d", lambda *xs, **p: F.conv1d(*xs, **p), lambda *xs, **p: TF.conv1d(*xs, **p),
           conv1d_case()),
    # distinct elements: a tie in a window is a kink of the maximum
    OpSpec("max_pool2d_ceil_mode", lambda x, **p: F.max_pool2d(x, **p),
           lambda x, **p: TF.max_pool2d(x, **p), ceil_pool_case(average=False), grid(),
           unique=True),
    OpSpec("avg_pool2d_ceil_mode", lambda x, **p: F.avg_pool2d(x, **p),
           lambda x, **p: TF.avg_pool2d(x, **p), ceil_pool_case(average=True)),
]
test_conv1d_pool_gradients_match_finite_differences, test_conv1d_pool_agrees_with_torch = \
    spec_tests(SPECS)


@pytest.mark.parametrize("length,padding,windows", [(5, 0, 3), (5, 1, 3)])
def test_ceil_mode_keeps_a_last_window_only_where_it_starts_inside_as_torch_does(
        length, padding, windows):
    # kernel 2, stride 2: with no padding the third window overhangs by one and is kept (floor
    # would give 2); with padding 1 a fourth would start at the right padding and is dropped
    x = np.arange(float(length)).reshape(1, 1, 1, length)
    for ours, theirs in ((F.max_pool2d, TF.max_pool2d), (F.avg_pool2d, TF.avg_pool2d)):
        args = ((1, 2), (1, 2), (0, padding))
        y = ours(mg.tensor(x), *args, ceil_mode=True)
        expected = theirs(torch.from_numpy(x), *args, ceil_mode=True)
        assert y.shape == tuple(expected.shape) == (1, 1, 1, windows)
        assert_close(y, expected)
