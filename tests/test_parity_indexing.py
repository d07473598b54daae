"""Indexing as torch parses it, for reading (value and gradient) and writing: ints, slices, None
and Ellipsis mixed with integer sequences (tuples and lists inside an index, int arrays) and
boolean masks. torch applies the ints first and indexes what is left with the arrays, so an int
among arrays does not move the result's dims as it would in NumPy; and a tuple inside an index
is an integer sequence (x[1, (2, 1, 0)] means x[1, [2, 1, 0]])."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from minigen.testing import arrays, shapes
from oracle import assert_close, torch_from


def _torch_index(index):
    return tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)


def _mg_index(index, wrap):
    return tuple(mg.tensor(i) if isinstance(i, np.ndarray) and wrap else i for i in index)


def _read_value_and_gradient(a, index, wrap=True):
    """x[index] and the gradient of sum(x[index] * w), in minigen and in torch."""
    x, t = mg.tensor(a, requires_grad=True), torch_from(a)
    out, expected = x[_mg_index(index, wrap)], t[_torch_index(index)]
    assert_close(out, expected, what=f"x{list(index)}")
    w = np.random.default_rng(0).standard_normal(tuple(expected.shape))
    (g,) = mg.autograd.grad((out * mg.tensor(w)).sum(), [x])
    (tg,) = torch.autograd.grad((expected * torch.from_numpy(w)).sum(), [t])
    assert_close(g, tg, what="gradient")


def test_ints_tuples_none_and_arrays_give_torchs_shape_values_and_gradient():
    a = np.random.default_rng(1).standard_normal((2, 5, 6, 5, 3, 4))
    c = np.array([3, 0, 5, 1]).reshape(1, 1, 4, 1, 1, 1)
    e = np.array([2, 0, 1, 1, 0, 2]).reshape(1, 1, 1, 1, 6, 1)
    index = (1, (2, 1, 0), None, c, (2, 1, 0), e)
    assert tuple(mg.tensor(a)[_mg_index(index, True)].shape) == (1, 1, 4, 1, 6, 3, 1, 4)
    _read_value_and_gradient(a, index)


@pytest.mark.parametrize("index", [(1, (2, 0)), ((0, 2), 1), ((1,), slice(None), 0),
                                   (Ellipsis, (2, 2, 0)), (None, (1, 0), (0, 3))])
def test_a_tuple_inside_an_index_means_the_list_of_its_ints(index):
    a = np.arange(48.0).reshape(3, 4, 4)
    as_list = tuple(list(i) if isinstance(i, tuple) else i for i in index)
    assert_close(mg.tensor(a)[index], mg.tensor(a)[as_list])
    _read_value_and_gradient(a, index)


def test_an_ellipsis_that_stands_for_no_dims_keeps_two_arrays_adjacent_as_torch():
    a = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    index = (slice(None), slice(None), np.array([0, 3]), Ellipsis, np.array([4, 1]))
    assert mg.tensor(a)[index].shape == (2, 3, 2)
    _read_value_and_gradient(a, index)


@st.composite
def mixed_index(draw):
    """An index for a small shape mixing ints, slices, None, at most one Ellipsis and either
    integer sequences (tuples, lists and int arrays that broadcast together, repeats allowed)
    or one boolean mask over one or more dims."""
    shape = draw(shapes(1, 4, max_side=4))
    ndim = len(shape)
    use_mask = draw(st.booleans())
    common = draw(shapes(1, 2, max_side=3))  # the broadcast shape of the integer sequences
    index, d = [], 0
    ellipsis_at = draw(st.one_of(st.none(), st.integers(0, ndim)))
    mask_placed = has_ellipsis = False
    while d < ndim:
        if d == ellipsis_at:
            skip = draw(st.integers(0, ndim - d))
            index.append(Ellipsis)
            d += skip
            has_ellipsis, ellipsis_at = True, None
            continue
        size = shape[d]
        advanced = "mask" if use_mask else "sequence"
        kind = draw(st.sampled_from(["int", "int", "slice", "none", "stop", advanced, advanced]))
        if kind == "stop" and not has_ellipsis:
            break
        if kind == "int":
            index.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            index.append(slice(draw(st.one_of(st.none(), st.integers(-size, size))),
                               draw(st.one_of(st.none(), st.integers(-size, size))),
                               draw(st.sampled_from([None, 1, 2]))))
        elif kind == "none":
            index.append(None)
            continue
        elif kind == "mask" and not mask_placed:
            width = draw(st.integers(1, ndim - d))
            index.append(draw(arrays(shape[d:d + width], np.bool_)))
            mask_placed = True
            d += width
            continue
        elif kind == "sequence":
            tail = common[draw(st.integers(0, len(common) - 1)):]
            own = tuple(draw(st.sampled_from([1, s])) for s in tail)
            ints = draw(arrays(own, np.int64, st.integers(-size, size - 1)))
            form = draw(st.sampled_from(["array", "tuple", "list"])) if ints.ndim == 1 \
                else "array"
            index.append(ints if form == "array" else
                         tuple(int(i) for i in ints) if form == "tuple" else ints.tolist())
        else:
            index.append(slice(None))
        d += 1
    if ellipsis_at is not None and draw(st.booleans()):
        index.append(Ellipsis)
    return shape, tuple(index)


@given(case=mixed_index(), wrap=st.booleans())
def test_mixed_indices_read_as_in_torch_with_the_same_gradient(case, wrap):
    shape, index = case
    _read_value_and_gradient(np.random.default_rng(2).standard_normal(shape), index, wrap)


@given(case=mixed_index())
def test_mixed_indices_write_as_in_torch(case):
    """x[index] = v with v of torch's result shape (when no position repeats) or a number."""
    shape, index = case
    target = torch.zeros(shape, dtype=torch.float64)
    positions = torch.arange(target.numel()).reshape(shape)[_torch_index(index)]
    if positions.unique().numel() == positions.numel():
        value = np.arange(1.0, positions.numel() + 1).reshape(tuple(positions.shape))
    else:
        value = 7.0
    x = mg.zeros(shape, dtype=mg.float64)
    x[_mg_index(index, True)] = mg.tensor(value) if isinstance(value, np.ndarray) else value
    target[_torch_index(index)] = torch.from_numpy(value) if isinstance(value, np.ndarray) \
        else value
    assert_close(x, target, what=f"x after x{list(index)} = v")


def test_writing_through_an_int_and_a_tuple_apart_puts_values_where_torch_does():
    """NumPy reads x[1, :, [0, 2, 1]] with its dims swapped (the int counts as an array there);
    a write must follow torch's order."""
    value = np.arange(9.0).reshape(3, 3)
    x, t = mg.zeros(2, 3, 4, dtype=mg.float64), torch.zeros(2, 3, 4, dtype=torch.float64)
    x[1, :, (0, 2, 1)] = mg.tensor(value)
    t[1, :, (0, 2, 1)] = torch.from_numpy(value)
    assert_close(x, t)
