"""The graph walk and its modes, against torch where torch defines the behaviour: accumulation,
retain_graph, no_grad/enable_grad, detach, autograd.grad's options, anomaly detection, deep
graphs and freeing the graph after backward."""
import gc
import weakref

import numpy as np
import pytest
import torch

import minigen as mg
from minigen.autograd import Function
from oracle import assert_close, torch_from

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4))
W = rng.standard_normal((4, 2))


def _loss(lib, x, w):
    """The same small computation in minigen or torch: a tanh layer and a squared sum."""
    h = (x @ w).tanh()
    return (h * h).sum() + lib.exp(x).mean()


def _pair():
    ours = mg.tensor(X, requires_grad=True), mg.tensor(W, requires_grad=True)
    theirs = torch_from(X), torch_from(W)
    return ours, theirs


# --------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_in_leaves_across_backward_calls_as_in_torch():
    (x, w), (tx, tw) = _pair()
    for _ in range(2):
        _loss(mg, x, w).backward()
        _loss(torch, tx, tw).backward()
    assert_close([x.grad, w.grad], [tx.grad, tw.grad])


def test_a_tensor_used_twice_gets_the_sum_of_both_paths():
    (x, _), (tx, _) = _pair()
    (x * x + x).sum().backward()
    (tx * tx + tx).sum().backward()
    assert_close(x.grad, tx.grad)


def test_leaf_gradients_do_not_share_memory_with_each_other_or_with_the_given_gradient():
    a, b = mg.tensor(X, requires_grad=True), mg.tensor(X, requires_grad=True)
    g = mg.tensor(np.ones_like(X))
    (a + b).backward(g)
    a.grad.mul_(3.0)
    g.zero_()
    assert_close(b.grad, np.ones_like(X))


def test_leaf_gradients_are_separate_tensors_under_create_graph_too():
    a, b = mg.tensor(X, requires_grad=True), mg.tensor(X, requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    a.grad.mul_(3.0)
    assert_close(b.grad, np.ones_like(X))


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    (x, w), (tx, tw) = _pair()
    h, th = x @ w, tx @ tw
    h.retain_grad()
    th.retain_grad()
    (h.tanh() ** 2).sum().backward()
    (th.tanh() ** 2).sum().backward()
    assert_close(h.grad, th.grad)


# --------------------------------------------------------------------------- retain_graph
def test_second_backward_through_a_freed_graph_asks_for_retain_graph():
    (x, w), _ = _pair()
    loss = _loss(mg, x, w)
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_that_adds_the_same_gradient():
    (x, w), _ = _pair()
    loss = _loss(mg, x, w)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    assert_close(x.grad, 2 * first)


def test_backward_frees_the_tensors_the_graph_saved():
    x = mg.tensor(X, requires_grad=True)
    hidden = x.exp() * 2.0
    loss = hidden.tanh().sum()
    ref = weakref.ref(hidden)
    del hidden
    gc.collect()
    assert ref() is not None  # the graph keeps it alive for backward
    loss.backward()
    gc.collect()
    assert ref() is None


def test_retain_graph_keeps_the_saved_tensors():
    x = mg.tensor(X, requires_grad=True)
    hidden = x.exp()
    loss = hidden.tanh().sum()
    ref = weakref.ref(hidden)
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


# --------------------------------------------------------------------------- grad modes
def test_no_grad_records_nothing_and_enable_grad_turns_recording_back_on():
    x = mg.tensor(X, requires_grad=True)
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            z = x * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_and_enable_grad_work_as_decorators_and_restore_the_mode():
    @mg.no_grad()
    def evaluate(x):
        return x * 2, mg.is_grad_enabled()

    @mg.enable_grad()
    def train(x):
        return x * 2

    x = mg.tensor(X, requires_grad=True)
    y, enabled = evaluate(x)
    assert not enabled and not y.requires_grad and mg.is_grad_enabled()
    with mg.no_grad():
        assert train(x).requires_grad
        assert not mg.is_grad_enabled()


def test_grad_mode_is_restored_when_the_block_raises():
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError("inside")
    assert mg.is_grad_enabled()


def test_detach_keeps_the_values_and_stops_the_gradient():
    x, tx = mg.tensor(X, requires_grad=True), torch_from(X)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert_close(d, X)
    (x * x.detach()).sum().backward()
    (tx * tx.detach()).sum().backward()
    assert_close(x.grad, tx.grad)


def test_requires_grad_on_an_integer_tensor_raises_naming_the_dtype():
    with pytest.raises(RuntimeError, match="int64"):
        mg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="int32"):
        mg.tensor(np.arange(3, dtype=np.int32)).requires_grad_()


# --------------------------------------------------------------------------- autograd.grad
def test_grad_with_create_graph_gives_a_differentiable_gradient_as_in_torch():
    # a gradient penalty: the squared norm of d loss / d x, differentiated again
    (x, w), (tx, tw) = _pair()
    (gx,) = mg.autograd.grad(_loss(mg, x, w), x, create_graph=True)
    (tgx,) = torch.autograd.grad(_loss(torch, tx, tw), tx, create_graph=True)
    assert_close(gx, tgx)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    assert_close([x.grad, w.grad], [tx.grad, tw.grad])


def test_grad_returns_a_tuple_and_leaves_dot_grad_untouched():
    (x, w), (tx, tw) = _pair()
    grads = mg.autograd.grad(_loss(mg, x, w), [x, w])
    assert isinstance(grads, tuple) and x.grad is None and w.grad is None
    assert_close(grads, torch.autograd.grad(_loss(torch, tx, tw), [tx, tw]))


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    (x, w), _ = _pair()
    unused = mg.tensor(W, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        mg.autograd.grad(_loss(mg, x, w), [x, unused])
    gx, gu = mg.autograd.grad(_loss(mg, x, w), [x, unused], allow_unused=True)
    assert gu is None and gx.shape == x.shape


def test_grad_with_respect_to_a_non_leaf_stops_there():
    (x, w), (tx, tw) = _pair()
    h, th = x @ w, tx @ tw
    grads = mg.autograd.grad((h.tanh() ** 2).sum() + x.sum(), [h, x])
    tgrads = torch.autograd.grad((th.tanh() ** 2).sum() + tx.sum(), [th, tx])
    assert_close(grads, tgrads)


def test_grad_outputs_weight_a_non_scalar_output():
    (x, w), (tx, tw) = _pair()
    v = rng.standard_normal((3, 2))
    ours = mg.autograd.grad((x @ w).sin(), [x, w], grad_outputs=mg.tensor(v))
    theirs = torch.autograd.grad((tx @ tw).sin(), [tx, tw], grad_outputs=torch.from_numpy(v))
    assert_close(ours, theirs)


def test_backward_of_a_non_scalar_needs_a_gradient_of_its_shape():
    (x, w), _ = _pair()
    with pytest.raises(RuntimeError, match=r"\(3, 2\)"):
        (x @ w).backward()
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        (x @ w).backward(mg.zeros(2, 3, dtype=mg.float64))


# --------------------------------------------------------------------------- anomaly mode
# (NumPy warns about the NaN and inf these tests make on purpose)
numpy_warnings_expected = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@numpy_warnings_expected
def test_detect_anomaly_names_the_forward_op_that_made_a_nan():
    x = mg.tensor(np.array([1.0, -1.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="Log.*NaN"), mg.autograd.detect_anomaly():
        (x * 2).log()
    assert np.isnan(x.log().numpy()[1])  # outside the block NaN passes silently, as in torch


@numpy_warnings_expected
def test_detect_anomaly_names_the_backward_op_that_made_an_inf():
    x = mg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="backward of Sqrt.*inf"), \
            mg.autograd.detect_anomaly():
        (x.sqrt() * 3).sum().backward()


@numpy_warnings_expected
def test_detect_anomaly_works_as_a_decorator():
    @mg.autograd.detect_anomaly()
    def step(x):
        return x.log()

    with pytest.raises(RuntimeError, match="Log"):
        step(mg.tensor([-1.0]))
    assert not mg.autograd.is_anomaly_enabled()


# --------------------------------------------------------------------------- deep graphs
def test_a_chain_of_5000_ops_backpropagates_without_recursion_errors():
    x = mg.tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    assert_close(x.grad, np.array([1.0001 ** 5000]), rtol=1e-9)


def test_a_deep_graph_that_is_never_backpropagated_is_freed_without_errors():
    x = mg.tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(20000):
        y = y.tanh()
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None


def test_double_backward_through_a_deep_chain():
    x, tx = mg.tensor(np.array([0.3]), requires_grad=True), torch_from(np.array([0.3]))
    y, ty = x, tx
    for _ in range(1000):
        y, ty = (y * 0.999).sin(), (ty * 0.999).sin()
    (g,) = mg.autograd.grad(y.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    g.sum().backward()
    tg.sum().backward()
    assert_close(x.grad, tx.grad)


class _OnceDifferentiable(Function):
    """An op whose backward works on raw arrays, so it declares it cannot be differentiated."""

    differentiable_backward = False

    def forward(self, x):
        return x ** 3

    def backward(self, g):
        return mg.Tensor(g.data * 3.0 * self.inputs[0].data ** 2)


def test_an_op_without_a_differentiable_backward_refuses_create_graph_by_name():
    x = mg.tensor(X, requires_grad=True)
    (g,) = mg.autograd.grad(_OnceDifferentiable.apply(x).sum(), x)
    assert_close(g, 3 * X ** 2)
    with pytest.raises(RuntimeError, match="_OnceDifferentiable does not support double backward"):
        mg.autograd.grad(_OnceDifferentiable.apply(x).sum(), x, create_graph=True)


# ------------------------------------------------------------------------------ engine messages (from the acceptance review)
def test_negating_a_bool_tensor_says_to_invert_it_with_tilde():
    with pytest.raises(TypeError, match="~mask"):
        -mg.tensor(np.array([True, False]))


def test_backward_takes_a_numpy_gradient_of_the_outputs_shape_as_one_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2).backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2, 20, 200])
    with pytest.raises(ValueError, match=r"gradient has shape \(4,\) but the output has shape"):
        (x * 2).backward(np.ones(4))
