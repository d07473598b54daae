"""minigen.testing itself: gradcheck and gradgradcheck accept right gradients, reject wrong ones
with a message that locates them, refuse float32; the strategies draw what they promise."""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import minigen as mg
from minigen.autograd import Function
from minigen.testing import (arrays, away_from_zero, broadcastable_shapes, gradcheck,
                             gradgradcheck, grid, non_contiguous, positive, shapes)


class _SquareWithWrongCorner(Function):
    """x^2 whose gradient is wrong at one element only (index (1, 2))."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        mask = np.ones(self.inputs[0].shape)
        mask[1, 2] = 0.5
        return g * 2.0 * self.inputs[0] * mg.tensor(mask)


class _CubeWithConstantBackward(Function):
    """x^3 with the right first derivative held as a constant: no second derivative."""

    def forward(self, x):
        return x ** 3

    def backward(self, g):
        return g * mg.Tensor(3.0 * self.inputs[0].data ** 2)


def _x(shape=(2, 3), seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape) + 2.0,
                     requires_grad=True)


def test_gradcheck_and_gradgradcheck_accept_right_gradients_of_several_inputs_and_outputs():
    a, b = _x(), _x((3,), seed=1)
    fn = lambda a, b: ((a * b).log(), (a @ b).tanh())  # noqa: E731
    assert gradcheck(fn, [a, b])
    assert gradgradcheck(fn, [a, b])


def test_gradcheck_names_the_input_the_element_and_both_values():
    c, x = _x((4,)), _x()
    with pytest.raises(AssertionError, match=r"input 1 \(shape \(2, 3\)\) at element \(1, 2\): "
                                             r"analytic .* vs numeric"):
        gradcheck(lambda c, x: c.sum() + _SquareWithWrongCorner.apply(x), [c, x])


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    assert gradcheck(lambda x: _SquareWithWrongCorner.apply(x), [_x()],
                     raise_exception=False) is False


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = _x()
    assert gradcheck(lambda x: _CubeWithConstantBackward.apply(x), [x])
    with pytest.raises(AssertionError, match="gradgradcheck failed for input 0"):
        gradgradcheck(lambda x: _CubeWithConstantBackward.apply(x), [x])


def test_gradgradcheck_takes_given_grad_outputs():
    x = _x()
    v = mg.tensor(np.ones((2, 3)))
    assert gradgradcheck(lambda x: x.exp() * x, [x], grad_outputs=[v])


def test_gradcheck_refuses_float32_inputs_and_outputs():
    with pytest.raises(TypeError, match="input 0 has dtype float32.*float64"):
        gradcheck(lambda x: x * 2, [mg.ones(3, requires_grad=True)])
    with pytest.raises(TypeError, match="output 0 has dtype float32"):
        gradcheck(lambda x: x.to(mg.float32), [_x()])


def test_gradcheck_passes_non_tensor_arguments_and_constants_through():
    x, idx = _x(), mg.tensor([1, 1, 0])
    assert gradcheck(lambda x, idx, k: x[idx] * k, [x, idx, 3.0])


def test_gradcheck_does_not_change_its_inputs():
    x = _x()
    before = x.numpy().copy()
    gradcheck(lambda x: x.sin(), [x])
    np.testing.assert_array_equal(x.numpy(), before)


# --------------------------------------------------------------------------- strategies
@given(shape=shapes(min_dims=1, max_dims=3, max_side=4, max_numel=20))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(1 <= s <= 4 for s in shape)
    assert np.prod(shape) <= 20


@given(group=broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast_together(group):
    np.broadcast_shapes(*group)


@given(a=arrays(shapes(0, 3), np.float64))
def test_non_contiguous_keeps_the_values_in_strided_memory(a):
    b = non_contiguous(a)
    np.testing.assert_array_equal(a, b)
    assert b.size <= 1 or not b.flags.c_contiguous  # NumPy calls any 1-element array contiguous


@given(a=arrays((5, 4), np.float64, grid(), unique=True), b=arrays((5, 4), np.float64, grid(0.037)))
def test_grid_elements_are_apart_from_each_other_and_from_multiples_of_the_step(a, b):
    gaps = np.abs(a.reshape(-1, 1) - a.reshape(1, -1)) + np.eye(20)
    assert gaps.min() >= 0.05 - 1e-9
    assert np.abs(a - b).min() > 0.02
    assert np.abs(a / 0.05 - np.round(a / 0.05)).min() > 0.2


@given(x=st.lists(positive(), min_size=1), y=st.lists(away_from_zero(), min_size=1))
def test_safe_domains_stay_away_from_zero(x, y):
    assert min(x) >= 0.5 and min(np.abs(y)) >= 0.2
