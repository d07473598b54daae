"""Elementwise ops against finite differences and torch: arithmetic with broadcasting and Python
scalars, unary math, maximum/minimum, clamp, where; round/floor/ceil/trunc/sign (zero gradients);
comparisons, isnan/isinf/isfinite and rounding of integers (forward only)."""
import operator

import hypothesis.strategies as st
import numpy as np
import torch
from hypothesis import given

import minigen as mg
from minigen.testing import (arrays, away_from_zero, broadcastable_shapes, floats, grid,
                             positive)
from oracle import assert_close, torch_from
from test_ops_harness import OpSpec, broadcast, forward_tests, spec_tests, unary

scalars = st.sampled_from([-2.5, -1.0, 0.5, 2.0, 3])
bases = st.sampled_from([0.5, 2.0, 3])  # c ** x needs c > 0


def _method(name):
    return lambda x: getattr(x, name)()


UNARY = [
    OpSpec(name, _method(name), _method(name), unary(), elements)
    for name, elements in [("exp", None), ("tanh", None), ("sigmoid", floats(-8, 8)),
                           ("sin", None), ("cos", None), ("log", positive()),
                           ("sqrt", positive()), ("relu", away_from_zero()),
                           ("abs", away_from_zero())]
] + [
    OpSpec("neg", operator.neg, operator.neg, unary()),
    OpSpec("sigmoid_saturated", _method("sigmoid"), _method("sigmoid"), unary(),
           st.sampled_from([-40.0, -20.0, 20.0, 40.0])),
]

BINARY = [
    OpSpec(name, op, op, broadcast(), elements)
    for name, op, elements in [
        ("add", operator.add, None), ("sub", operator.sub, None), ("mul", operator.mul, None),
        ("div", operator.truediv, (floats(), away_from_zero(0.5))),
        # exponent 0 is left out: there torch's second derivative in the exponent is 0
        # (its gradient masks exponent == 0), while minigen's is the true value a^-1 (gradcheck)
        ("pow", operator.pow, (positive(), away_from_zero(0.1, 2))),
        ("maximum", lambda a, b: a.maximum(b), (grid(0.013), grid(0.037))),
        ("minimum", lambda a, b: a.minimum(b), (grid(0.013), grid(0.037))),
    ]
]

# x op c and c op x with a Python number c: the number takes the tensor's dtype
SCALAR = [
    OpSpec(f"{name}_scalar", lambda x, c, op=op: op(x, c), lambda x, c, op=op: op(x, c),
           unary(c=scalars), elements)
    for name, op, elements in [("add", operator.add, None), ("sub", operator.sub, None),
                               ("mul", operator.mul, None), ("div", operator.truediv, None)]
] + [
    OpSpec(f"r{name}_scalar", lambda x, c, op=op: op(c, x), lambda x, c, op=op: op(c, x),
           unary(c=constants), elements)
    for name, op, constants, elements in [
        ("add", operator.add, scalars, None), ("sub", operator.sub, scalars, None),
        ("mul", operator.mul, scalars, None),
        ("div", operator.truediv, scalars, away_from_zero(0.5)),
        ("pow", operator.pow, bases, floats(-2, 2))]
]

POW = [
    OpSpec("pow_integer_exponent", lambda x, c: x ** c, lambda x, c: x ** c,
           unary(c=st.sampled_from([0, 1, 2, 3, 2.0])), floats(-2, 2)),
    OpSpec("pow_negative_exponent", lambda x, c: x.pow(c), lambda x, c: x.pow(c),
           unary(c=st.sampled_from([-1, -2, -1.0])), away_from_zero(0.5)),
    OpSpec("pow_fractional_exponent", lambda x, c: mg.pow(x, c), lambda x, c: torch.pow(x, c),
           unary(c=st.sampled_from([0.5, 1.5, -0.5, -1.5])), positive()),
]

def _full_first(case):
    shapes, params = case
    return (np.broadcast_shapes(*shapes),) + shapes[1:], params


# bounds are multiples of 0.05; grid elements never equal them (clamp has kinks there)
bounds = st.sampled_from([(None, 0.5), (-0.5, None), (-0.5, 0.5), (0.25, 1.0), (1.0, 1.0)])
CLAMP = [
    OpSpec("clamp", lambda x, b: x.clamp(*b), lambda x, b: x.clamp(*b), unary(b=bounds),
           grid(), unique=True),
    # torch broadcasts tensor bounds to x's shape (not x to theirs), so x has the full shape
    OpSpec("clamp_tensor_bounds", lambda x, lo, hi: x.clamp(lo, hi),
           lambda x, lo, hi: x.clamp(lo, hi), broadcast(3).map(_full_first),
           (grid(0.013), grid(0.037), grid(0.029))),
    OpSpec("clamp_min_tensor", lambda x, lo: mg.clamp(x, min=lo),
           lambda x, lo: torch.clamp(x, min=lo), broadcast(2).map(_full_first),
           (grid(0.013), grid(0.037))),
]


@st.composite
def where_case(draw):
    """a, b and the condition, all three broadcast together."""
    a, b, c = draw(broadcastable_shapes(3, max_dims=3, max_side=3))
    return (a, b), {"cond": draw(arrays(c, np.bool_, st.booleans()))}


WHERE = [
    OpSpec("where", lambda a, b, cond: mg.where(mg.tensor(cond), a, b),
           lambda a, b, cond: torch.where(torch.from_numpy(cond), a, b), where_case()),
    OpSpec("where_scalar_other", lambda a, cond: mg.where(mg.tensor(cond), a, 0.5),
           lambda a, cond: torch.where(torch.from_numpy(cond), a, 0.5),
           where_case().map(lambda case: (case[0][:1], case[1]))),
]

# gradient zero, as in torch: grid elements keep 0.013 or more from every kink (integers, halves)
STEPS = [
    OpSpec(name, _method(name), _method(name), unary(), grid())
    for name in ("round", "floor", "ceil", "trunc", "sign")
] + [
    OpSpec("round_function", lambda x: mg.round(x), torch.round, unary(), grid()),
    OpSpec("sign_function", lambda x: mg.sign(x) * x, lambda x: torch.sign(x) * x, unary(),
           grid()),  # |x|: the zero gradient of sign times x, and its second derivative
]

SPECS = UNARY + BINARY + SCALAR + POW + CLAMP + WHERE + STEPS
test_elementwise_gradients_match_finite_differences, test_elementwise_agrees_with_torch = \
    spec_tests(SPECS)


# --------------------------------------------------------------------------- no gradient
special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.5])
whole = st.sampled_from([-2.0, 0.0, 1.0, 3.0])
exact = (np.int64, np.int32, np.bool_)
NO_GRADIENT = [
    OpSpec(name, _method(name), _method(name), unary(), special) for name in
    ("isnan", "isinf", "isfinite")
] + [
    OpSpec(f"{name}_function", lambda x, name=name: getattr(mg, name)(x),
           lambda x, name=name: getattr(torch, name)(x), unary(), whole, dtypes=exact)
    for name in ("isnan", "isinf", "isfinite")
] + [  # integer tensors are already whole: returned as they are, as in torch
    OpSpec(f"{name}_int", _method(name), _method(name), unary(), whole,
           dtypes=(np.int64, np.int32))
    for name in ("round", "floor", "ceil", "trunc", "sign")
] + [
    OpSpec("sign_bool", _method("sign"), _method("sign"), unary(), whole, dtypes=(np.bool_,)),
]
test_elementwise_without_gradient_agrees_with_torch = forward_tests(NO_GRADIENT)


# --------------------------------------------------------------------------- comparisons
COMPARISONS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@given(shapes=broadcastable_shapes(2, max_dims=3), data=st.data(),
       op=st.sampled_from(COMPARISONS))
def test_comparisons_agree_with_torch_and_give_bool_tensors_without_graph(shapes, data, op):
    # few distinct values, so that equal pairs are common
    a, b = (data.draw(arrays(s, np.float64, st.sampled_from([-1.0, 0.0, 2.0]))) for s in shapes)
    out = op(mg.tensor(a, requires_grad=True), mg.tensor(b))
    assert out.dtype == np.bool_ and not out.requires_grad
    assert_close(out, op(torch_from(a), torch_from(b)))
    assert_close(op(mg.tensor(a), 0.0), op(torch_from(a), 0.0))


def test_comparing_with_a_python_number_on_the_left_is_reflected():
    x = np.array([-1.0, 0.0, 2.0])
    assert_close(0.0 < mg.tensor(x), 0.0 < torch_from(x))


def test_sigmoid_keeps_relative_precision_in_the_tails():
    # 1 / (1 + e^-x) computed naively (or through tanh) rounds to 0 for x below about -18 in
    # float64 and -9 in float32, and log(sigmoid(x)) becomes -inf
    x = np.linspace(-80, 80, 321)
    for dtype in (np.float64, np.float32):
        ours = mg.tensor(x.astype(dtype)).sigmoid()
        theirs = torch.sigmoid(torch_from(x.astype(dtype), requires_grad=False))
        assert_close(ours, theirs, rtol=1e-6 if dtype == np.float64 else 1e-5, atol=0)
