"""Creation functions against torch over drawn arguments: full, full_like, zeros, ones, empty,
zeros_like, ones_like, eye, linspace and arange give torch's values, dtype (the fill value's kind
or the default float dtype when none is given), shape and requires_grad."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import assume, given

import minigen as mg
from minigen.testing import shapes
from oracle import assert_close, numpy_dtype

DTYPES = ["float32", "float64", "int64", "int32", "bool"]
dtypes = st.one_of(st.none(), st.sampled_from(DTYPES))
fills = st.one_of(st.integers(-3, 3), st.sampled_from([-2.7, 0.0, 0.5, 3.25]), st.booleans())


def _dtypes(name):
    """The dtype argument for minigen and for torch (None stays None)."""
    return (None, None) if name is None else (np.dtype(name), getattr(torch, name))


def assert_same_tensor(ours, theirs, values=True):
    assert ours.dtype == numpy_dtype(theirs.dtype), \
        f"dtype {ours.dtype}, torch gives {theirs.dtype}"
    assert ours.shape == tuple(theirs.shape), f"shape {ours.shape}, torch gives {theirs.shape}"
    assert ours.requires_grad == theirs.requires_grad
    if values:
        assert_close(ours, theirs)


def _grad_flag(dtype, draw):
    """requires_grad=True for floating results only (torch refuses it for the others)."""
    return draw(st.booleans()) if dtype in (None, "float32", "float64") else False


@given(size=shapes(0, 3, max_side=3), form=st.sampled_from(["tuple", "list"]), fill=fills,
       dtype=dtypes, data=st.data())
def test_full_agrees_with_torch(size, form, fill, dtype, data):
    # without a dtype, an int fill gives int64 and a bool fill bool, as in torch
    grad = _grad_flag(dtype, data.draw) and (dtype is not None or isinstance(fill, float))
    ours_dtype, torch_dtype = _dtypes(dtype)
    size = list(size) if form == "list" else size
    assert_same_tensor(mg.full(size, fill, dtype=ours_dtype, requires_grad=grad),
                       torch.full(size, fill, dtype=torch_dtype, requires_grad=grad))


@given(shape=shapes(0, 3, max_side=3), like=st.sampled_from(DTYPES), fill=fills, dtype=dtypes)
def test_full_like_agrees_with_torch(shape, like, fill, dtype):
    x = np.zeros(shape, dtype=like)
    ours_dtype, torch_dtype = _dtypes(dtype)
    assert_same_tensor(mg.full_like(mg.tensor(x), fill, dtype=ours_dtype),
                       torch.full_like(torch.from_numpy(x), fill, dtype=torch_dtype))


@given(size=shapes(0, 3, max_side=3), varargs=st.booleans(), dtype=dtypes, data=st.data(),
       name=st.sampled_from(["zeros", "ones", "empty"]))
def test_zeros_ones_and_empty_agree_with_torch(size, varargs, dtype, data, name):
    grad = _grad_flag(dtype, data.draw)
    ours_dtype, torch_dtype = _dtypes(dtype)
    args = size if varargs and size else (size,)  # torch.zeros() takes no empty varargs
    ours = getattr(mg, name)(*args, dtype=ours_dtype, requires_grad=grad)
    theirs = getattr(torch, name)(*args, dtype=torch_dtype, requires_grad=grad)
    assert_same_tensor(ours, theirs, values=name != "empty")  # empty: any values


@given(shape=shapes(0, 3, max_side=3), like=st.sampled_from(DTYPES), dtype=dtypes,
       name=st.sampled_from(["zeros_like", "ones_like"]))
def test_zeros_like_and_ones_like_agree_with_torch(shape, like, dtype, name):
    x = np.full(shape, 7, dtype=like)
    ours_dtype, torch_dtype = _dtypes(dtype)
    assert_same_tensor(getattr(mg, name)(mg.tensor(x), dtype=ours_dtype),
                       getattr(torch, name)(torch.from_numpy(x), dtype=torch_dtype))


@given(n=st.integers(0, 4), m=st.one_of(st.none(), st.integers(0, 4)), dtype=dtypes)
def test_eye_agrees_with_torch(n, m, dtype):
    ours_dtype, torch_dtype = _dtypes(dtype)
    extra = () if m is None else (m,)
    assert_same_tensor(mg.eye(n, *extra, dtype=ours_dtype),
                       torch.eye(n, *extra, dtype=torch_dtype))


ends = st.one_of(st.integers(-5, 5), st.sampled_from([-2.5, 0.0, 0.75, 4.0]))


@given(start=ends, end=ends, steps=st.integers(0, 7),
       dtype=st.one_of(st.none(), st.sampled_from(["float32", "float64", "int64"])))
def test_linspace_agrees_with_torch(start, end, steps, dtype):
    # integer dtypes truncate the ends, then the points; where the points are not whole, the
    # last bit of torch's arithmetic (fused multiply-adds in its build) decides the truncation
    assume(dtype != "int64" or steps < 2 or (int(end) - int(start)) % (steps - 1) == 0)
    ours_dtype, torch_dtype = _dtypes(dtype)
    assert_same_tensor(mg.linspace(start, end, steps, dtype=ours_dtype),
                       torch.linspace(start, end, steps, dtype=torch_dtype))


@given(start=ends, end=ends, step=st.sampled_from([1, 2, -1, 0.5, -0.75]),
       dtype=st.one_of(st.none(), st.sampled_from(["float32", "float64", "int64"])))
def test_arange_agrees_with_torch(start, end, step, dtype):
    assume((end - start) * step >= 0)  # torch refuses a step away from the end
    assume(dtype != "int64" or float(step).is_integer())  # and a step that rounds to 0
    ours_dtype, torch_dtype = _dtypes(dtype)
    assert_same_tensor(mg.arange(start, end, step, dtype=ours_dtype),
                       torch.arange(start, end, step, dtype=torch_dtype))


@pytest.mark.parametrize("values", [[-1e-300], [1e300, 1 + 2 ** -40], [[0.1, 1e-320]]])
def test_tensor_from_a_list_with_a_dtype_is_cast_once_as_torch_does(values):
    """float64 lists given dtype=float64 must not round through the default float32."""
    assert_close(mg.tensor(values, dtype=np.float64), torch.tensor(values, dtype=torch.float64))
    assert_close(mg.tensor(values), torch.tensor(values))   # the default dtype: float32
