"""Shape ops against finite differences and torch: reshape/view, permute, transpose, unsqueeze,
squeeze, flatten, expand, repeat, .T/.mT; and dtype casts (.float(), .double(), .long(), .int(),
.bool(), .to(dtype)) between float, int and bool tensors."""
import math

import hypothesis.strategies as st
import numpy as np
import torch

import minigen as mg
from minigen.testing import shapes
from test_ops_harness import OpSpec, dims_of, forward_tests, spec_tests, unary

small = shapes(0, 4, max_side=3, max_numel=36)
casts = st.sampled_from([-2.7, -1.0, 0.0, 0.4, 3.0])
all_dtypes = (np.float64, np.float32, np.int64, np.int32, np.bool_)


@st.composite
def reshape_case(draw):
    """A new shape with the same number of elements: the sizes shuffled, neighbours merged,
    ones inserted, and sometimes one size left to -1."""
    shape = draw(small)
    sizes = list(draw(st.permutations(shape)))
    if len(sizes) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(sizes) - 2))
        sizes[i:i + 2] = [sizes[i] * sizes[i + 1]]
    for _ in range(draw(st.integers(0, 2))):
        sizes.insert(draw(st.integers(0, len(sizes))), 1)
    if sizes and draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return (shape,), {"shape": tuple(sizes)}


@st.composite
def permute_case(draw):
    shape = draw(small)
    dims = draw(st.permutations(range(len(shape))))
    return (shape,), {"dims": tuple(d - len(shape) if draw(st.booleans()) else d for d in dims)}


@st.composite
def dim_case(draw, name="dim", extra=0, count=1, min_dims=0):
    """``count`` int dims for a tensor of the drawn shape (``extra``: a dim may point one past
    the end, as unsqueeze's does)."""
    shape = draw(shapes(min_dims, 4, max_side=3, max_numel=36))
    n = max(len(shape) + extra, 1)
    dims = [draw(st.integers(-n, n - 1)) for _ in range(count)]
    return (shape,), {name: dims[0]} if count == 1 else {name: tuple(dims)}


@st.composite
def squeeze_case(draw):
    shape = draw(shapes(0, 4, max_side=2))
    return (shape,), {"dim": draw(dims_of(len(shape), allow_none=True, allow_tuple=True))}


@st.composite
def flatten_case(draw):
    shape = draw(small)
    n = max(len(shape), 1)
    start = draw(st.integers(0, n - 1))
    end = draw(st.integers(start, n - 1))
    return (shape,), {"start_dim": start - n if draw(st.booleans()) else start,
                      "end_dim": end - n if draw(st.booleans()) else end}


@st.composite
def expand_case(draw):
    """Size-1 dims grow, other dims keep their size (or say -1), new leading dims appear."""
    shape = draw(shapes(0, 3, max_side=3))
    sizes = [draw(st.integers(1, 3)) if s == 1 else draw(st.sampled_from([s, -1])) for s in shape]
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    return (shape,), {"sizes": tuple(lead + sizes)}


@st.composite
def repeat_case(draw):
    shape = draw(shapes(0, 3, max_side=2))
    extra = draw(st.integers(0, 2))
    return (shape,), {"repeats": tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + extra))}


SPECS = [
    OpSpec("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
           reshape_case()),
    OpSpec("reshape_varargs", lambda x, shape: x.reshape(*shape),
           lambda x, shape: x.reshape(shape), reshape_case()),
    # the harness draws non-contiguous inputs, which view may refuse (as torch's does): made
    # contiguous first, as torch code does
    OpSpec("view", lambda x, shape: x.contiguous().view(shape),
           lambda x, shape: x.contiguous().view(shape), reshape_case()),
    OpSpec("permute", lambda x, dims: x.permute(*dims), lambda x, dims: x.permute(dims),
           permute_case()),
    OpSpec("transpose", lambda x, dims: x.transpose(*dims), lambda x, dims: x.transpose(*dims),
           dim_case("dims", count=2)),
    OpSpec("T", lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim)))), unary()),
    OpSpec("mT", lambda x: x.mT, lambda x: x.mT, unary(min_dims=2)),
    OpSpec("unsqueeze", lambda x, dim: x.unsqueeze(dim), lambda x, dim: x.unsqueeze(dim),
           dim_case(extra=1)),
    OpSpec("squeeze", lambda x, dim: x.squeeze(dim),
           lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim), squeeze_case()),
    OpSpec("flatten", lambda x, **p: x.flatten(**p), lambda x, **p: x.flatten(**p),
           flatten_case()),
    OpSpec("expand", lambda x, sizes: x.expand(*sizes), lambda x, sizes: x.expand(sizes),
           expand_case()),
    OpSpec("repeat", lambda x, repeats: x.repeat(*repeats),
           lambda x, repeats: x.repeat(repeats), repeat_case()),
    OpSpec("contiguous_clone", lambda x: x.contiguous().clone() * 1.0,
           lambda x: x.contiguous().clone() * 1.0, unary()),
]
test_shape_gradients_match_finite_differences, test_shape_agrees_with_torch = spec_tests(SPECS)


# --------------------------------------------------------------------------- dtype casts
CAST_METHODS = ("float", "double", "long", "int", "bool")
DTYPES = ("float32", "float64", "int64", "int32", "bool")
# through float32 and back: the gradient of a cast is g cast back to the input's dtype. Finite
# differences cannot see through float32's rounding, so these are checked against torch only
CASTS = [
    OpSpec("float_then_double", lambda x: x.float().double(), lambda x: x.float().double(),
           unary()),
    OpSpec("to_dtype_and_back", lambda x, dtype: x.to(np.dtype(dtype)).to(x.dtype),
           lambda x, dtype: x.to(getattr(torch, dtype)).to(x.dtype),
           unary(dtype=st.sampled_from(["float32", "float64"]))),
]
_, test_cast_gradients_agree_with_torch = spec_tests(CASTS)

# values and dtypes of every cast between float, int and bool (floats truncate toward 0)
CAST_VALUES = [
    OpSpec(name, lambda x, name=name: getattr(x, name)(),
           lambda x, name=name: getattr(x, name)(), unary(), casts, dtypes=all_dtypes)
    for name in CAST_METHODS
] + [
    OpSpec("to", lambda x, dtype: x.to(np.dtype(dtype)),
           lambda x, dtype: x.to(getattr(torch, dtype)), unary(dtype=st.sampled_from(DTYPES)),
           casts, dtypes=all_dtypes),
    OpSpec("to_keyword", lambda x, dtype: x.to(dtype=np.dtype(dtype)),
           lambda x, dtype: x.to(dtype=getattr(torch, dtype)),
           unary(dtype=st.sampled_from(DTYPES)), casts, dtypes=all_dtypes),
]
test_cast_values_and_dtypes_agree_with_torch = forward_tests(CAST_VALUES)


def test_cast_round_trip_agrees_with_torch_in_value_gradient_and_dtype():
    x64 = np.random.default_rng(0).standard_normal((3, 4))
    for inner in (mg.float32, mg.float64):
        x = mg.tensor(x64, requires_grad=True)
        y = x.to(inner)
        assert y.dtype == inner
        (y * y).sum().backward()
        t = torch.from_numpy(x64).requires_grad_()
        (t.to(getattr(torch, str(np.dtype(inner)))) ** 2).sum().backward()
        assert x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(),
                                   rtol=1e-6 if inner == mg.float32 else 1e-12)


def test_float_to_int_cast_of_a_tensor_requiring_grad_gives_a_constant():
    x = mg.tensor(np.array([1.7, -2.2]), requires_grad=True)
    for dtype in (mg.int64, mg.bool_):
        y = x.to(dtype)
        assert y.dtype == dtype and not y.requires_grad
    assert math.isclose(x.long().sum().item(), torch.tensor([1.7, -2.2]).long().sum().item())
