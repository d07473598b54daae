"""Gradient reversal R_lambda (lecture §5.5): identity forward, -lambda times the gradient
backward, differentiable again; and DANN's schedule lambda_p = 2 / (1 + exp(-10 p)) - 1."""
import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigen as mg
from minigen.models.dann import reversal_weight
from minigen.ops.reversal import GradientReversalOp, gradient_reversal
from minigen.testing import arrays, gradgradcheck, shapes

lambdas = st.sampled_from([0.0, 0.3, 1.0, 2.5])


@settings(max_examples=20, deadline=None)
@given(x=shapes(0, 3, max_side=4).flatmap(arrays), lambd=lambdas,
       dtype=st.sampled_from([np.float32, np.float64]))
def test_reversal_forward_is_the_identity(x, lambd, dtype):
    t = mg.tensor(x.astype(dtype), requires_grad=True)
    y = gradient_reversal(t, lambd)
    assert y.dtype == t.dtype and y.shape == t.shape
    np.testing.assert_array_equal(y.numpy(), t.numpy())
    assert not np.shares_memory(y.data, t.data)      # an update of x in place leaves y alone


def _h(x):
    """A nonlinear scalar function with a gradient that depends on x."""
    return (x.tanh() * x + 0.5 * x ** 3).sum()


def _numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(mg.tensor(up)).item() - f(mg.tensor(down)).item()) / (2 * eps)
    return grad


@settings(max_examples=15, deadline=None)
@given(x=shapes(0, 3, max_side=3).flatmap(lambda s: arrays(s)), lambd=lambdas)
def test_reversal_gradient_is_minus_lambda_times_the_finite_difference_gradient(x, lambd):
    t = mg.tensor(x, requires_grad=True)
    (g,) = mg.autograd.grad(_h(gradient_reversal(t, lambd)), t)
    np.testing.assert_allclose(g.numpy(), -lambd * _numerical_gradient(_h, x), rtol=1e-6,
                               atol=1e-8)


@settings(max_examples=15, deadline=None)
@given(x=shapes(0, 3, max_side=3).flatmap(arrays), lambd=lambdas)
def test_reversal_backward_is_differentiable(x, lambd):
    """gradgradcheck differentiates (x, v) -> J^T v of x -> R(x * x), whose value is
    -2 lambda x v, by finite differences in x and in v: a second-order pass through the op's
    backward, which is the Tensor op -lambda g."""
    t = mg.tensor(x, requires_grad=True)
    gradgradcheck(lambda t: gradient_reversal(t * t, lambd), [t])
    v = mg.tensor(np.ones_like(x) * 0.7)
    (g,) = mg.autograd.grad(gradient_reversal(t * t, lambd), t, grad_outputs=v, create_graph=True)
    np.testing.assert_allclose(g.numpy(), -lambd * 2 * x * 0.7, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(x=shapes(1, 3, max_side=3).flatmap(arrays), lambd=lambdas)
def test_reversal_in_a_double_backward_reverses_every_pass_through_it(x, lambd):
    """A penalty on the gradient of h(R(x)): the first gradient is -lambda h'(x); its derivative
    passes through R again, so d/dx sum(grad) = (-lambda)^2 h''(x), and torch gives the same."""
    torch = pytest.importorskip("torch")
    t = mg.tensor(x, requires_grad=True)
    (g,) = mg.autograd.grad(_h(gradient_reversal(t, lambd)), t, create_graph=True)
    (gg,) = mg.autograd.grad(g.sum(), t)

    def torch_reversal(a):   # a torch twin: value a, gradient -lambda
        return (1 + lambd) * a.detach() - lambd * a
    a = torch.tensor(x, requires_grad=True)
    b = torch_reversal(a)
    (tg,) = torch.autograd.grad((b.tanh() * b + 0.5 * b ** 3).sum(), a, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), a)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-10, atol=1e-12)
    second = lambda y: (1 - np.tanh(y) ** 2) * (2 - 2 * y * np.tanh(y)) + 3 * y  # noqa: E731  h''
    np.testing.assert_allclose(gg.numpy(), lambd ** 2 * second(x), rtol=1e-9, atol=1e-12)


def test_reversal_rejects_a_negative_lambda_and_integer_input():
    with pytest.raises(ValueError, match="lambda must be a number >= 0"):
        gradient_reversal(mg.randn(3), -1.0)
    with pytest.raises(TypeError, match="floating tensor"):
        gradient_reversal(mg.tensor(np.arange(3)), 1.0)


def test_reversal_is_exported_as_an_op():
    assert mg.ops.GradientReversalOp is GradientReversalOp


def test_schedule_starts_at_zero_rises_and_tends_to_one():
    assert reversal_weight(0.0) == 0.0
    values = [reversal_weight(p) for p in np.linspace(0, 1, 11)]
    assert all(b > a for a, b in zip(values, values[1:]))
    assert reversal_weight(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    assert 0.9999 < reversal_weight(1.0) < 1.0 and reversal_weight(5.0) == pytest.approx(1.0)
    assert reversal_weight(0.1) == pytest.approx(2 / (1 + math.exp(-1)) - 1)
