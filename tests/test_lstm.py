"""The fused LSTM gates (minigen/ops/lstm.py) and the LSTM layers built on it.

The op is checked as every primitive is: gradcheck and gradgradcheck in float64 on drawn shapes
(the gate axis anywhere, size-1 and broadcast dims, non-contiguous inputs), and against the same
math composed of torch ops for the forward value, the gradient and the gradient of the gradient.
nn.LSTMCell and nn.LSTM, which use it, must match torch's layers loaded with the same state_dict.
"""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import minigen as mg
from minigen.ops.lstm import LSTMGatesOp, lstm_gates, lstm_layer, unbind
from minigen.testing import shapes

torch = pytest.importorskip("torch")
from oracle import assert_close, torch_from  # noqa: E402
from test_ops_harness import OpSpec, spec_tests  # noqa: E402


@st.composite
def gates_case(draw):
    """Shapes of (gates, c_prev) and the gate axis: the block shape with H along ``dim``; gates
    has 4 H there; either input may have size 1 in another dim (broadcasting)."""
    base = list(draw(shapes(1, 3, max_side=3)))
    dim = draw(st.integers(0, len(base) - 1))
    ones = [draw(st.lists(st.booleans(), min_size=len(base), max_size=len(base)))
            for _ in range(2)]
    gates, c_prev = ([1 if one and k != dim else s for k, (s, one) in enumerate(zip(base, m))]
                     for m in ones)
    gates[dim] *= 4
    return (tuple(gates), tuple(c_prev)), {"dim": draw(st.sampled_from([dim, dim - len(base)]))}


def torch_lstm_gates(gates, c_prev, dim):
    i, f, g, o = gates.chunk(4, dim=dim)
    c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


@st.composite
def unbind_case(draw):
    shape = draw(shapes(1, 3, max_side=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    # a weight per step, so that every step's gradient differs
    return (shape,), {"dim": dim, "weights": tuple(range(1, shape[dim] + 1))}


def weighted_steps(unbind_fn):
    return lambda x, dim, weights: tuple(s * (w * s) for s, w in zip(unbind_fn(x, dim), weights))


@st.composite
def layer_case(draw):
    """x (L, N, I), h0 and c0 (N, H), W_ih (4H, I), W_hh (4H, H), and both biases or none."""
    length, batch, inputs, hidden = (draw(st.integers(1, n)) for n in (3, 2, 3, 2))
    shapes_ = [(length, batch, inputs), (batch, hidden), (batch, hidden),
               (4 * hidden, inputs), (4 * hidden, hidden)]
    if draw(st.booleans()):
        shapes_ += [(4 * hidden,), (4 * hidden,)]
    return tuple(shapes_), {}


def torch_lstm_layer(x, h, c, weight_ih, weight_hh, *biases):
    steps = []
    for x_t in x.unbind(0):
        gates = x_t @ weight_ih.T + h @ weight_hh.T + sum(biases)
        h, c = torch_lstm_gates(gates, c, 1)
        steps.append(torch.cat([h, c], 1))
    return torch.stack(steps)


SPECS = [OpSpec("lstm_gates", lstm_gates, torch_lstm_gates, gates_case()),
         OpSpec("lstm_layer", lstm_layer, torch_lstm_layer, layer_case()),
         OpSpec("unbind", weighted_steps(unbind), weighted_steps(torch.unbind), unbind_case())]
test_lstm_gates_match_finite_differences, test_lstm_gates_agree_with_torch = spec_tests(SPECS)


def test_lstm_gates_is_one_node_and_the_cell_state_of_a_saturated_forget_gate_passes_through():
    gates = mg.tensor(np.array([[-30.0, 30.0, 0.3, 0.0]]), requires_grad=True)  # i ~ 0, f ~ 1
    c_prev = mg.tensor(np.array([[0.7]]), requires_grad=True)
    h, c = lstm_gates(gates, c_prev, dim=1)
    assert isinstance(c._ctx.inputs[0]._ctx.inputs[0]._ctx, LSTMGatesOp)   # through unbind
    np.testing.assert_allclose(c.numpy(), [[0.7]], atol=1e-12)
    np.testing.assert_allclose(h.numpy(), [[0.5 * np.tanh(0.7)]], atol=1e-12)
    c.sum().backward()
    np.testing.assert_allclose(c_prev.grad.numpy(), [[1.0]], atol=1e-12)


def test_unbind_gradients_of_unused_steps_are_zero_and_a_retained_graph_gives_the_same_twice():
    x = mg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    steps = unbind(x, 1)
    loss = (steps[1] * steps[1]).sum() + steps[3].sum()
    loss.backward(retain_graph=True)
    expected = np.zeros((3, 4))
    expected[:, 1], expected[:, 3] = 2 * x.numpy()[:, 1], 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * expected)


@pytest.mark.parametrize("gates, c_prev, match", [
    ((2, 7), (2, 2), "4 times"),
    ((2, 8), (3, 2), "broadcast"),
    ((2, 8), (2, 2, 1), "same number of dims"),
])
def test_lstm_gates_rejects_mismatched_shapes_with_a_sentence(gates, c_prev, match):
    with pytest.raises(ValueError, match=match):
        lstm_gates(mg.zeros(*gates), mg.zeros(*c_prev), dim=-1)


def _torch_twin(mine, cls, *args, **kwargs):
    theirs = getattr(torch.nn, cls)(*args, **kwargs)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in mine.state_dict().items()})
    return theirs


@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_matches_torch_with_the_same_state_dict_to_float32_tolerance(num_layers):
    mg.manual_seed(0)
    mine = mg.nn.LSTM(5, 6, num_layers=num_layers, batch_first=True)
    theirs = _torch_twin(mine, "LSTM", 5, 6, num_layers=num_layers, batch_first=True)
    x = np.random.default_rng(0).standard_normal((3, 7, 5)).astype(np.float32)
    h0 = np.random.default_rng(1).standard_normal((2, num_layers, 3, 6)).astype(np.float32)
    xm, xt = mg.tensor(x, requires_grad=True), torch_from(x)
    out, (h, c) = mine(xm, (mg.tensor(h0[0]), mg.tensor(h0[1])))
    out_t, (h_t, c_t) = theirs(xt, (torch.from_numpy(h0[0]), torch.from_numpy(h0[1])))
    assert_close((out, h, c), (out_t, h_t, c_t))
    weights = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    ((out * mg.tensor(weights)).sum() + c.sum()).backward()
    ((out_t * torch.from_numpy(weights)).sum() + c_t.sum()).backward()
    assert_close(xm.grad, xt.grad)
    for name, p in mine.named_parameters():
        assert_close(p.grad, dict(theirs.named_parameters())[name].grad, what=name)


def test_lstm_cell_matches_torch_and_its_gradient_is_differentiable_again():
    mg.manual_seed(1)
    mine = mg.nn.LSTMCell(3, 4).double()
    theirs = _torch_twin(mine, "LSTMCell", 3, 4).double()
    rng = np.random.default_rng(3)
    x, h0, c0 = (rng.standard_normal((2, n)) for n in (3, 4, 4))
    xm, xt = mg.tensor(x, requires_grad=True), torch_from(x)
    h, c = mine(xm, (mg.tensor(h0), mg.tensor(c0)))
    h_t, c_t = theirs(xt, (torch.from_numpy(h0), torch.from_numpy(c0)))
    assert_close((h, c), (h_t, c_t))
    # a gradient penalty through the cell: the first-order gradient must itself have a gradient
    (g,) = mg.autograd.grad((h * h).sum() + c.sum(), xm, create_graph=True)
    (g_t,) = torch.autograd.grad((h_t * h_t).sum() + c_t.sum(), xt, create_graph=True)
    (g * g).sum().backward()
    (g_t * g_t).sum().backward()
    assert_close(g, g_t)
    assert_close(mine.weight_hh.grad, theirs.weight_hh.grad)
    assert_close(xm.grad, xt.grad)
