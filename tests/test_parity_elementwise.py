"""Elementwise ops at their edges, against torch: a ** b where the derivative formulas meet
0 * inf (a = 0, b = 0, negative bases), and the bitwise operators & | ^ ~, which are bitwise on
integer tensors and logical on bool tensors, with torch's result dtypes."""
import itertools
import operator

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from minigen.ops.elementwise import PowOp
from minigen.testing import broadcastable_shapes
from oracle import assert_close, numpy_dtype

BASES = [0.0, 0.5, 2.0, -0.5, -2.0]
EXPONENTS = [-2.0, -1.5, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def _pow_derivatives(lib, a, b, form, dtype):
    """a ** b and its first and second derivatives (d/da, d/db; d2 of each w.r.t. the inputs),
    with ``form`` "tensor ** tensor", "tensor ** number" or "number ** tensor"."""
    if lib is mg:
        make, grad = (lambda v: mg.tensor(np.array(v, dtype=dtype), requires_grad=True),
                      mg.autograd.grad)
    else:
        make, grad = (lambda v: torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True),
                      torch.autograd.grad)
    x, y = make(a), make(b)
    if form == "tensor ** tensor":
        out, inputs = x ** y, [x, y]
    elif form == "tensor ** number":
        out, inputs = x ** b, [x]
    else:
        out, inputs = a ** y, [y]
    first = grad(out, inputs, create_graph=True)
    second = []
    for g in first:
        if g.requires_grad:
            second += grad(g, inputs, retain_graph=True, allow_unused=True)
        else:
            second += [None] * len(inputs)
    as_float = lambda v: 0.0 if v is None else float(v)  # noqa: E731
    return [float(out)] + [as_float(g) for g in first], [as_float(g) for g in second]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("form", ["tensor ** tensor", "tensor ** number", "number ** tensor"])
@pytest.mark.parametrize("a, b", list(itertools.product(BASES, EXPONENTS)))
def test_pow_value_and_gradients_follow_torch_at_zero_and_negative_bases(a, b, form, dtype):
    """Value and first derivatives equal torch's everywhere, inf, -inf and NaN included (0 ** -1
    is inf, d/db 0 ** b is -inf for b < 0 and 0 for b >= 0, d/db of a negative base is NaN).
    Second derivatives equal torch's wherever torch's are numbers; at a = 0, b >= 0 torch's
    chain rule forms 0 * log(0) = NaN for d2/db2, while 0 ** b is flat there, and minigen says 0."""
    ours, ours2 = _pow_derivatives(mg, a, b, form, dtype)
    theirs, theirs2 = _pow_derivatives(torch, a, b, form, dtype)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True,
                               err_msg=f"{a} ** {b}: value, d/da, d/db")
    for k, (o, t) in enumerate(zip(ours2, theirs2)):
        if np.isnan(t) and not np.isnan(o):
            assert a == 0 and b >= 0 and o == 0, \
                f"second derivative {k} of {a} ** {b}: {o}, torch gives NaN"
        else:
            np.testing.assert_allclose(o, t, rtol=1e-6, equal_nan=True,
                                       err_msg=f"second derivative {k} of {a} ** {b}")


def test_pow_boundary_values_at_zero_in_the_exponent_gradient():
    a = mg.tensor(np.zeros(4), requires_grad=True)
    b = mg.tensor(np.array([-1.0, 0.0, 0.5, 2.0]), requires_grad=True)
    _, gb = mg.autograd.grad((a ** b).sum(), [a, b])
    np.testing.assert_array_equal(gb.numpy(), [-np.inf, 0.0, 0.0, 0.0])


def test_pow_docstring_states_the_boundary_values():
    doc = PowOp.__doc__
    for words in ("0 ** 0", "a == 0 and b >= 0", "-inf", "NaN"):
        assert words in doc, f"PowOp's docstring does not say {words!r}"


# ----------------------------------------------------------------------------- bitwise
INT_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]


def _values(dtype, shape, rng):
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    info = np.iinfo(dtype)
    return np.asarray(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype))


@st.composite
def bitwise_operands(draw):
    """Two operands: tensors of integer or bool dtypes with broadcastable shapes (0-d
    included), or a tensor and a Python int or bool on either side."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    sa, sb = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    da, db = draw(st.sampled_from(INT_DTYPES)), draw(st.sampled_from(INT_DTYPES))
    a = _values(da, sa, rng)
    kind = draw(st.sampled_from(["tensor", "int", "bool"]))
    if kind == "tensor":
        b = _values(db, sb, rng)
    elif kind == "int":
        b = draw(st.integers(0, 100) if da in ("bool", "uint8") else st.integers(-100, 100))
    else:
        b = draw(st.booleans())
    return (a, b) if draw(st.booleans()) else (b, a)


def _wrap(value, lib):
    if not isinstance(value, np.ndarray):
        return value
    return mg.tensor(value) if lib is mg else torch.from_numpy(value.copy())


@given(operands=bitwise_operands(), op=st.sampled_from([operator.and_, operator.or_,
                                                         operator.xor]))
def test_and_or_xor_are_bitwise_on_ints_logical_on_bools_with_torchs_dtype(operands, op):
    a, b = operands
    ours, theirs = op(_wrap(a, mg), _wrap(b, mg)), op(_wrap(a, torch), _wrap(b, torch))
    assert ours.dtype == numpy_dtype(theirs.dtype), \
        f"{op.__name__} of {np.asarray(a).dtype} and {np.asarray(b).dtype}: {ours.dtype}, " \
        f"torch gives {theirs.dtype}"
    assert_close(ours, theirs)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_invert_is_bitwise_not_on_ints_and_logical_not_on_bools(dtype):
    a = _values(dtype, (7,), np.random.default_rng(0))
    ours, theirs = ~mg.tensor(a), ~torch.from_numpy(a)
    assert ours.dtype == numpy_dtype(theirs.dtype)
    assert_close(ours, theirs)


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor, operator.invert])
def test_bitwise_operators_refuse_float_tensors_as_torch_does(op):
    args = [2.5] if op is operator.invert else [np.array([1.5]), np.array([3])]
    with pytest.raises((RuntimeError, TypeError)):  # NotImplementedError for &, TypeError for ~
        op(*[torch.tensor(np.atleast_1d(v)) for v in args])
    with pytest.raises(TypeError, match="integer or bool tensors"):
        op(*[mg.tensor(np.atleast_1d(v)) for v in args])
