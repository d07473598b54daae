"""Second derivatives of piecewise-linear ops, against torch. Between its kinks such an op is
linear, so g = grad(op(x), x, create_graph=True) is constant in x and grad(<g, w>, x) is zero;
it must come out as zeros (torch's value) and never as an error, or a Hessian-vector product
through a ReLU network, or a gradient penalty on a ReLU critic (WGAN-GP, lecture §5.2), breaks.
Inputs are drawn with their kinks (0, the clamp bounds) and ties included."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given

import minigen as mg
import minigen.nn.functional as F
from minigen.testing import arrays, grid, shapes
from nn_oracle import numpy_state
from oracle import assert_close, torch_from

# at the kinks, with ties: 0, the clamp bounds -0.5 and 0.75, and values off the grid
KINKY = st.one_of(st.sampled_from([0.0, -0.5, 0.75, 1.0, -1.0]), grid())

# name: (minigen op, torch op, min dims, unique elements); one input unless named "... (x, y)"
OPS = {
    "relu": (lambda x: x.relu(), torch.relu, 0, False),
    "F.relu": (F.relu, TF.relu, 0, False),
    "abs": (lambda x: x.abs(), torch.abs, 0, False),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), 0, False),
    "clamp": (lambda x: x.clamp(-0.5, 0.75), lambda x: x.clamp(-0.5, 0.75), 0, False),
    "clamp min": (lambda x: x.clamp(min=-0.5), lambda x: x.clamp(min=-0.5), 0, False),
    "clamp max": (lambda x: mg.clamp(x, max=0.75), lambda x: torch.clamp(x, max=0.75), 0, False),
    "sign": (lambda x: x.sign(), torch.sign, 0, False),
    "floor": (lambda x: x.floor(), torch.floor, 0, False),
    "round": (lambda x: x.round(), torch.round, 0, False),
    "amax": (lambda x: x.amax(), torch.amax, 0, False),
    "amax dim": (lambda x: x.amax(dim=-1, keepdim=True),
                 lambda x: x.amax(dim=-1, keepdim=True), 1, False),
    "amin dims": (lambda x: x.amin(dim=(0, -1)), lambda x: x.amin(dim=(0, -1)), 2, False),
    "max": (lambda x: x.max(), torch.max, 0, False),
    "max over dim": (lambda x: x.max(dim=0).values, lambda x: x.max(dim=0).values, 1, True),
    "min over dim": (lambda x: x.min(dim=-1, keepdim=True).values,
                     lambda x: x.min(dim=-1, keepdim=True).values, 1, True),
    "max_pool2d": (lambda x: F.max_pool2d(x.reshape(1, 1, 4, 4), 2, stride=1),
                   lambda x: TF.max_pool2d(x.reshape(1, 1, 4, 4), 2, stride=1), 1, True),
    "max_pool2d padded": (lambda x: F.max_pool2d(x.reshape(1, 2, 2, 4), 3, stride=2, padding=1),
                          lambda x: TF.max_pool2d(x.reshape(1, 2, 2, 4), 3, stride=2, padding=1),
                          1, True),
    "maximum (x, y)": (mg.maximum, torch.maximum, 0, False),
    "minimum (x, y)": (mg.minimum, torch.minimum, 0, False),
    "relu of a product (x, y)": (lambda x, y: (x * y).relu(), lambda x, y: (x * y).relu(), 0,
                                 False),
}
POOLED = ("max_pool2d", "max_pool2d padded")


def _derivatives(lib, fn, inputs, seed):
    """fn(*inputs), g = J^T v (recorded) and grad(<g, w>) for random v, w. torch gives no
    second derivative (None, or an error when g does not depend on x at all, as for sign) where
    it is zero; those count as zeros."""
    grad = mg.autograd.grad if lib is mg else torch.autograd.grad
    make = mg.tensor if lib is mg else torch.from_numpy
    out = fn(*inputs)
    rng = np.random.default_rng(seed)
    v = make(rng.standard_normal(tuple(out.shape)))
    w = [make(rng.standard_normal(tuple(x.shape))) for x in inputs]
    gs = grad(out, inputs, v, create_graph=True, allow_unused=True)
    gs = [mg.zeros_like(x) if g is None and lib is mg else g for g, x in zip(gs, inputs)]
    live = [(g, u) for g, u in zip(gs, w) if g is not None and (lib is mg or g.requires_grad)]
    if live:
        hs = grad(sum((g * u).sum() for g, u in live), inputs, allow_unused=True)
    else:
        hs = [None] * len(inputs)
    zeros = mg.zeros_like if lib is mg else torch.zeros_like
    gs = [zeros(x) if g is None else g for g, x in zip(gs, inputs)]
    return out, gs, [zeros(x) if h is None else h for h, x in zip(hs, inputs)]


@st.composite
def op_case(draw):
    name = draw(st.sampled_from(sorted(OPS)))
    _, _, min_dims, unique = OPS[name]
    n = 2 if name.endswith("(x, y)") else 1
    if name in POOLED:
        shape = (16,)
    else:
        shape = draw(shapes(min_dims, 3, max_side=3))
    elements = grid() if unique else KINKY
    return name, [draw(arrays(shape, np.float64, elements, unique=unique)) for _ in range(n)]


@given(case=op_case(), seed=st.integers(0, 100))
def test_second_derivative_of_piecewise_linear_ops_is_torchs_and_never_raises(case, seed):
    name, values = case
    mg_fn, torch_fn, _, _ = OPS[name]
    ours = _derivatives(mg, mg_fn, [mg.tensor(a, requires_grad=True) for a in values], seed)
    theirs = _derivatives(torch, torch_fn, [torch_from(a) for a in values], seed)
    for what, o, t in zip(("value", "gradient", "second derivative"), ours, theirs):
        assert_close(o, t, what=f"{name}: {what}")
    if name != "relu of a product (x, y)":  # its d2/dx dy is 1 where x y > 0
        for h in ours[2]:
            assert not h.numpy().any(), f"{name}: a nonzero second derivative {h}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_is_checked_at_a_kink(name):
    """The same check on a fixed input with a zero, both clamp bounds and a tie."""
    mg_fn, torch_fn, _, unique = OPS[name]
    a = np.array([0.0, -0.5, 0.75, 0.75, 2.0, -1.5, 0.3, -0.2] * 2)
    if unique:
        a = a + np.arange(16) * 1e-3
    values = [a, a[::-1].copy()] if name.endswith("(x, y)") else [a]
    if name not in POOLED:
        values = [v.reshape(4, 4) for v in values]
    ours = _derivatives(mg, mg_fn, [mg.tensor(v, requires_grad=True) for v in values], 3)
    theirs = _derivatives(torch, torch_fn, [torch_from(v) for v in values], 3)
    for what, o, t in zip(("value", "gradient", "second derivative"), ours, theirs):
        assert_close(o, t, what=f"{name}: {what}")


def test_gradient_penalty_through_a_relu_critic_matches_torch():
    """WGAN-GP's penalty, (||grad_x D(x_hat)|| - 1)^2 at interpolates x_hat, and its gradient
    w.r.t. the critic's parameters and x_hat: a double backward through Linear and ReLU."""
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                               torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1)).double()
    critic = mg.nn.Sequential(mg.nn.Linear(3, 16), mg.nn.ReLU(), mg.nn.Linear(16, 16),
                              mg.nn.LeakyReLU(0.2), mg.nn.Linear(16, 1)).double()
    critic.load_state_dict(numpy_state(twin))
    x_hat = np.random.default_rng(4).standard_normal((8, 3))

    def penalty(lib, net, x):
        grad = mg.autograd.grad if lib is mg else torch.autograd.grad
        (g,) = grad(net(x).sum(), [x], create_graph=True)
        return (((g ** 2).sum(1).sqrt() - 1) ** 2).mean()

    x, t = mg.tensor(x_hat, requires_grad=True), torch_from(x_hat)
    ours, theirs = penalty(mg, critic, x), penalty(torch, twin, t)
    assert_close(ours, theirs, what="penalty")
    params = [p for _, p in critic.named_parameters()] + [x]
    twin_params = [p for _, p in twin.named_parameters()] + [t]
    # the last bias does not change grad_x D: both libraries leave its gradient out (None)
    assert_close(mg.autograd.grad(ours, params, allow_unused=True),
                 list(torch.autograd.grad(theirs, twin_params, allow_unused=True)),
                 what="gradient of the penalty")
