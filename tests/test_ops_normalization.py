"""GroupNorm and LayerNorm as fused primitives (ops/normalization.py) as specifications: one graph
node each; value, gradient and second-order gradient equal torch's (float64 to 1e-7, float32 to
1e-4) on drawn shapes with and without the affine parameters; gradcheck and gradgradcheck pass;
float32 stays float32; bad arguments are refused by sentences."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigen as mg
import minigen.nn.functional as F
from minigen.ops.normalization import NormalizeOp
from minigen.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
from nn_oracle import check_function  # noqa: E402


def _arrays(rng, shape, affine_shape, weight, bias):
    arrays = [rng.standard_normal(shape) * 2 + 0.5]
    if weight:
        arrays.append(rng.standard_normal(affine_shape) + 1.0)
    if bias:
        arrays.append(rng.standard_normal(affine_shape))
    return arrays


def _with_affine(fn, weight, bias):
    """fn(x, w, b) as a function of the arrays actually passed (x, [w], [b])."""
    def call(x, *affine):
        w = affine[0] if weight else None
        b = affine[-1] if bias else None
        return fn(x, w, b)
    return call


@st.composite
def group_norm_cases(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    if c // groups * int(np.prod(spatial)) == 1:
        spatial += (2,)  # torch refuses groups of one number (minigen gives 0 there)
    return (draw(st.integers(1, 3)), c) + spatial, groups


# torch's double backward of group_norm and layer_norm fails for a bias without a weight, so the
# oracle sees (no affine), (weight) and (weight, bias); gradgradcheck below covers a bias alone
AFFINE = st.sampled_from([(False, False), (True, False), (True, True)])


@settings(max_examples=8)
@given(case=group_norm_cases(), affine=AFFINE, seed=st.integers(0, 99))
def test_group_norm_matches_torch_to_second_order(case, affine, seed):
    (shape, groups), (weight, bias) = case, affine
    arrays = _arrays(np.random.default_rng(seed), shape, (shape[1],), weight, bias)
    fns = (_with_affine(lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-3), weight, bias),
           _with_affine(lambda x, w, b: TF.group_norm(x, groups, w, b, eps=1e-3), weight, bias))
    check_function(*fns, arrays)
    check_function(*fns, arrays, second_order=False)   # the first-order backward on arrays


@st.composite
def layer_norm_cases(draw):
    normalized = tuple(draw(st.lists(st.integers(2, 4), min_size=1, max_size=2)))
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    return lead + normalized, normalized


@settings(max_examples=8)
@given(case=layer_norm_cases(), affine=AFFINE, seed=st.integers(0, 99))
def test_layer_norm_matches_torch_to_second_order(case, affine, seed):
    (shape, normalized), (weight, bias) = case, affine
    arrays = _arrays(np.random.default_rng(seed), shape, normalized, weight, bias)
    fns = (_with_affine(lambda x, w, b: F.layer_norm(x, normalized, w, b), weight, bias),
           _with_affine(lambda x, w, b: TF.layer_norm(x, normalized, w, b), weight, bias))
    check_function(*fns, arrays)
    check_function(*fns, arrays, second_order=False)   # the first-order backward on arrays


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_float32_stays_float32_and_agrees_with_torch(norm):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((4, 16, 5, 5)), rng.standard_normal(16) + 1,
              rng.standard_normal(16)]
    if norm == "group":
        fns = (lambda x, w, b: F.group_norm(x, 4, w, b), lambda x, w, b: TF.group_norm(x, 4, w, b))
    else:
        arrays[0] = arrays[0].reshape(4, 25, 16)
        fns = (lambda x, w, b: F.layer_norm(x, 16, w, b),
               lambda x, w, b: TF.layer_norm(x, (16,), w, b))
    check_function(*fns, arrays, dtype=np.float32)
    x, w, b = (mg.tensor(a.astype(np.float32), requires_grad=True) for a in arrays)
    y = fns[0](x, w, b)
    y.sum().backward()
    assert y.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in (x, w, b))


@pytest.mark.parametrize("affine", [True, False])
def test_gradients_that_arrive_transposed_are_handled(affine):
    """A transposed gradient (attention reads the normalized map as (N, HW, C)) makes gd * weight
    keep the transposed memory order; the row view of it must not be a silent copy."""
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((2, 4, 3, 5))] + ([rng.standard_normal(4) + 1,
                                                    rng.standard_normal(4)] if affine else [])
    v = rng.standard_normal((2, 15, 4))

    def mg_fn(x, *wb):
        y = F.group_norm(x, 2, *wb).reshape(2, 4, 15).transpose(1, 2)
        return y * mg.tensor(v.astype(x.dtype))

    def th_fn(x, *wb):
        y = TF.group_norm(x, 2, *wb).reshape(2, 4, 15).transpose(1, 2)
        return y * torch.from_numpy(v).to(x.dtype)
    check_function(mg_fn, th_fn, arrays)
    # first order alone: the backward on arrays (with second_order the Tensor formula runs)
    check_function(mg_fn, th_fn, arrays, second_order=False)
    check_function(mg_fn, th_fn, arrays, dtype=np.float32, second_order=False)


def test_gradcheck_and_gradgradcheck_with_and_without_affine():
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal(4) + 1, requires_grad=True)
    b = mg.tensor(rng.standard_normal(4), requires_grad=True)
    for fn, args in ((lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b]),
                     (lambda x: F.group_norm(x, 4), [x]),
                     (lambda x, b: F.group_norm(x, 1, None, b), [x, b]),
                     (lambda x, w: F.layer_norm(x, (4, 3), w.reshape(4, 1).expand(4, 3)), [x, w]),
                     (lambda x: F.layer_norm(x, 3), [x]),
                     (lambda x, b: F.layer_norm(x, 3, None, b[:3]), [x, b])):
        assert gradcheck(fn, args) and gradgradcheck(fn, args)


def test_one_node_per_normalization():
    x = mg.randn(2, 4, 3, 3, requires_grad=True)
    y = mg.nn.GroupNorm(2, 4)(x)
    assert isinstance(y._ctx, NormalizeOp) and y._ctx.inputs[0] is x
    z = mg.nn.LayerNorm(3)(x)
    assert isinstance(z._ctx, NormalizeOp)


def test_only_requested_gradients_flow():
    x = mg.randn(2, 4, 3, requires_grad=True)
    w = mg.ones(4, requires_grad=True)
    (gw,) = mg.autograd.grad(F.group_norm(x, 2, w).pow(2).sum(), w)
    assert gw.shape == (4,)
    assert x.grad is None and w.grad is None
    y = F.group_norm(x.detach(), 2, w)
    y.sum().backward()
    assert w.grad is not None and x.grad is None


def test_the_output_is_normalized():
    x = mg.tensor(np.random.default_rng(5).standard_normal((3, 6, 4)) * 5 + 3)
    y = F.group_norm(x, 3).numpy().reshape(3, 3, -1)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-3)


def test_bad_arguments_are_refused_by_sentences():
    with pytest.raises(ValueError, match="5 channels.*3 groups"):
        F.group_norm(mg.zeros(2, 5, 3), 3)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.group_norm(mg.zeros(2, 4, 3), 2, mg.ones(3))
    with pytest.raises(TypeError, match="float64"):
        F.group_norm(mg.zeros(2, 4, 3), 2, mg.ones(4, dtype=mg.float64))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(mg.zeros(2, 4), (3,))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        F.layer_norm(mg.zeros(2, 4), 4, None, mg.zeros(2, 2))
    with pytest.raises(TypeError, match="floating point"):
        F.layer_norm(mg.tensor(np.zeros((2, 4), np.int64)), 4)
