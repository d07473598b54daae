"""relu at the values where x * [x > 0] goes wrong: its output is torch's bit for bit (+0 for
negatives and -inf, -0 kept, NaN and inf passed through), and its gradient and second-order
gradient are torch's there too (g passes unless x <= 0, so it passes at NaN)."""
import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigen as mg
import minigen.nn.functional as F
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_function
from oracle import torch_from

SPECIAL = [-np.inf, -1e30, -2.5, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 3.0, np.inf, np.nan]
RELUS = [lambda x: x.relu(), mg.relu, F.relu, lambda x: mg.nn.ReLU()(x)]


def special_arrays(dtype):
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                      elements=st.sampled_from(SPECIAL).map(dtype))


def assert_same_values(actual, expected, signed_zeros=True):
    """Equal values, NaN where torch has NaN, and (``signed_zeros``) the sign of every zero."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    if signed_zeros:
        np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))
    np.testing.assert_array_equal(np.nan_to_num(actual), np.nan_to_num(expected))


@given(st.sampled_from([np.float64, np.float32]).flatmap(special_arrays),
       st.sampled_from(range(len(RELUS))))
def test_relu_output_has_torchs_bits_at_infinities_nans_and_signed_zeros(x, which):
    with np.errstate(invalid="raise"):  # no 0 * inf on the way
        y = RELUS[which](mg.tensor(x)).numpy()
    assert y.dtype == x.dtype
    assert_same_values(y, torch.relu(torch.from_numpy(x)).numpy())


def test_relu_of_minus_inf_and_negatives_is_plus_zero():
    y = mg.relu(mg.tensor(np.array([-np.inf, -3.0, -1e-300]))).numpy()
    assert not np.signbit(y).any() and (y == 0).all()


@given(special_arrays(np.float64))
def test_relu_gradient_and_second_order_gradient_match_torch_at_special_values(x):
    mg_x, th_x = mg.tensor(x, requires_grad=True), torch_from(x)
    v = np.random.default_rng(0).standard_normal(x.shape)
    (g,) = mg.autograd.grad(mg.relu(mg_x), [mg_x], [mg.tensor(v)], create_graph=True)
    (th_g,) = torch.autograd.grad(torch.relu(th_x), [th_x], [torch.from_numpy(v)],
                                  create_graph=True)
    # the zeros of the gradient are g * 0, whose sign follows g's (torch's are all +0)
    assert_same_values(g.numpy(), th_g.detach().numpy(), signed_zeros=False)
    (gg,) = mg.autograd.grad(g, [mg_x], [mg.tensor(np.ones(x.shape))], allow_unused=True)
    assert gg is None or not gg.numpy().any()  # zero almost everywhere, as torch's


@given(hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=4),
                  elements=st.integers(-5, 5)))
def test_relu_of_integers_matches_torch(x):
    y = mg.relu(mg.tensor(x))
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), torch.relu(torch.from_numpy(x)).numpy())


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                  elements=st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3)))
def test_relu_away_from_its_kink_passes_gradcheck_and_matches_torch(x):
    t = mg.tensor(x, requires_grad=True)
    assert gradcheck(mg.relu, [t]) and gradgradcheck(mg.relu, [t])
    check_function(mg.relu, torch.relu, [x])
