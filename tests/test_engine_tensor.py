"""Tensor semantics: dtypes on creation and under mixed-dtype arithmetic (torch's promotion),
in-place rules, and errors that name the shapes, dims and dtypes involved."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from oracle import assert_close


# --------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("data, dtype", [
    (np.zeros(3, dtype=np.float64), np.float64),
    (np.zeros(3, dtype=np.float32), np.float32),
    (np.zeros(3, dtype=np.int32), np.int32),
    (np.zeros(3, dtype=np.bool_), np.bool_),
    (np.float64(1.5), np.float64),
    (1.5, np.float32),
    ([1.5, 2.0], np.float32),
    ([[1, 2]], np.int64),
    (3, np.int64),
    ([True, False], np.bool_),
])
def test_tensor_keeps_numpy_dtypes_and_makes_python_floats_float32(data, dtype):
    numpy_data = isinstance(data, (np.ndarray, np.generic))
    theirs = torch.from_numpy(np.asarray(data)) if numpy_data else torch.tensor(data)
    assert mg.tensor(data).dtype == dtype == theirs.numpy().dtype


DTYPES = ["bool", "int32", "int64", "float32", "float64"]
OPS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}


def _make(dtype, zero_dim, lib):
    a = np.array(2 if zero_dim else [1, 2], dtype=dtype)
    return mg.tensor(a) if lib is mg else torch.from_numpy(a)


@given(a=st.sampled_from(DTYPES), b=st.sampled_from(DTYPES), a0=st.booleans(),
       b0=st.booleans(), op=st.sampled_from(["add", "mul", "div"]))
def test_mixed_dtypes_promote_as_in_torch(a, b, a0, b0, op):
    # torch: a higher category (bool < int < float) wins; in a category a tensor with dims
    # beats a 0-d one; int / int is the default float dtype
    ours = OPS[op](_make(a, a0, mg), _make(b, b0, mg))
    theirs = OPS[op](_make(a, a0, torch), _make(b, b0, torch))
    assert ours.dtype == theirs.numpy().dtype
    assert_close(ours, theirs)


@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_python_numbers_take_the_tensors_dtype_as_in_torch(scalar, dtype):
    ops = [OPS["add"], OPS["mul"], OPS["div"], lambda a, c: c * a]
    if dtype != "bool" and scalar is not True:
        ops.append(lambda a, c: c - a)  # torch refuses subtraction with bools
    for op in ops:
        ours, theirs = op(_make(dtype, False, mg), scalar), op(_make(dtype, False, torch), scalar)
        assert ours.dtype == theirs.numpy().dtype, (dtype, scalar)
        assert_close(ours, theirs)


def test_mixed_float32_float64_promotes_and_returns_each_gradient_in_its_inputs_dtype():
    a = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert_close(a.grad, np.array([3.0, 4.0], dtype=np.float32))


def test_a_float64_zero_d_tensor_does_not_promote_float32_data():
    # e.g. a schedule entry alpha_bar[t] (float64) times a float32 image stays float32
    x = mg.ones(2, 3, requires_grad=True)
    c = mg.tensor(np.array([0.5, 0.25]), requires_grad=True)[1]
    y = c * x
    assert y.dtype == np.float32
    y.sum().backward()
    assert c.grad is None and x.grad.dtype == np.float32
    assert_close(x.grad, np.full((2, 3), 0.25, dtype=np.float32))


def test_integer_division_gives_the_default_float_dtype():
    assert (mg.tensor([3, 4]) / mg.tensor([2, 2])).dtype == np.float32
    assert_close(mg.tensor([3, 4]) / 2, np.array([1.5, 2.0], dtype=np.float32))


def test_sum_of_bools_counts_in_int64_as_torch():
    mask = np.array([True, False, True])
    assert_close(mg.tensor(mask).sum(), torch.from_numpy(mask).sum())


def test_float_to_int_cast_and_comparisons_do_not_join_the_graph():
    x = mg.tensor(np.array([1.7, -2.2]), requires_grad=True)
    for out in (x.long(), x.bool(), x > 0, x.argmax()):
        assert not out.requires_grad and out.grad_fn is None


def test_zero_d_results_hold_arrays_that_can_change_in_place():
    s = mg.tensor(np.array([1.0, 2.0])).sum()
    assert isinstance(s.data, np.ndarray)
    s.add_(1.0)
    assert s.item() == 4.0


# --------------------------------------------------------------------------- in place
def test_in_place_on_a_computed_tensor_raises():
    y = mg.tensor(np.ones(3), requires_grad=True) * 2
    for change in (lambda: y.zero_(), lambda: y.add_(1.0), lambda: y.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="in-place"):
            change()


def test_in_place_on_a_leaf_requiring_grad_needs_no_grad():
    w = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.sub_(0.5)
    with mg.no_grad():
        w.sub_(0.5)
        w[0] = 2.0
    assert_close(w, np.array([2.0, 0.5, 0.5]))


def test_in_place_on_a_plain_tensor_is_allowed():
    t = mg.zeros(3)
    t.fill_(2.0)
    t[1] = 7.0
    assert t.tolist() == [2.0, 7.0, 2.0]


# --------------------------------------------------------------------------- error messages
@pytest.mark.parametrize("make, error, pattern", [
    (lambda: mg.ones(2, 3) @ mg.ones(4, 5), ValueError, r"\(2, 3\).*\(4, 5\)"),
    (lambda: mg.ones(2, 3, 4) @ mg.ones(5, 4, 2), ValueError, r"\(2, 3, 4\).*\(5, 4, 2\)"),
    (lambda: mg.ones(3) @ mg.ones(()), ValueError, r"\(3,\).*\(\)"),
    (lambda: mg.ones(2, 3).sum(dim=2), IndexError, r"dim 2 .* 2 dimensions"),
    (lambda: mg.ones(2, 3).softmax(dim=-3), IndexError, r"dim -3 .* 2 dimensions"),
    (lambda: mg.ones(2, 3).transpose(0, 5), IndexError, r"dim 5 .* 2 dimensions"),
    (lambda: mg.ones(2, 3) + mg.ones(4), ValueError, r"\(2, 3\).*\(4,\)"),
    (lambda: mg.where(mg.ones(2) > 0, mg.ones(3), 0.0), ValueError, r"\(2,\).*\(3,\)"),
    (lambda: mg.ones(2, 3).reshape(4, 2), ValueError, r"\(2, 3\).*\(4, 2\)"),
    (lambda: mg.ones(2, 3).view(-1, -1), ValueError, r"\(2, 3\).*\(-1, -1\)"),
    (lambda: mg.ones(2, 3).expand(3, 3), ValueError, r"\(2, 3\).*\(3, 3\)"),
    (lambda: mg.ones(2, 3).permute(1), ValueError, r"\(2, 3\)"),
    (lambda: mg.cat([mg.ones(2, 3), mg.ones(3, 2)]), ValueError, r"\(3, 2\).*\(2, 3\)"),
    (lambda: mg.stack([mg.ones(2), mg.ones(3)]), ValueError, r"\(3,\).*\(2,\)"),
    (lambda: mg.ones(2, 3)[2], IndexError, r"\(2, 3\)"),
    (lambda: mg.ones(2, 3)[mg.tensor([0.5])], IndexError, "float32"),
    (lambda: mg.ones(2, 3).split(4, dim=1), None, None),
    (lambda: mg.ones(2, 3).split([1, 1], dim=1), ValueError, r"\[1, 1\].*3"),
    (lambda: mg.tensor([1, 2]).mean(), TypeError, "int64"),
    (lambda: mg.ones(4).chunk(0), ValueError, "got 0"),
    (lambda: mg.ones(4).split(0), ValueError, "got 0"),
])
def test_errors_name_the_shapes_dims_and_dtypes_involved(make, error, pattern):
    if error is None:
        make()  # a split size larger than the dim is allowed, as in torch
        return
    with pytest.raises(error, match=pattern):
        make()


# ------------------------------------------------------------------------------ creation and dtypes (from the acceptance review)
def test_a_ragged_nested_list_is_refused_in_a_sentence():
    with pytest.raises(ValueError, match="nested sequences have different lengths"):
        mg.tensor([[1.0, 2.0], [3.0]])


def test_arange_with_step_zero_is_a_value_error_naming_the_step():
    with pytest.raises(ValueError, match="step must be nonzero"):
        mg.arange(0, 5, 0)


def test_randint_takes_torchs_high_and_size_form():
    mg.manual_seed(0)
    x = mg.randint(5, (200,))
    assert x.shape == tuple(torch.randint(5, (200,)).shape) and x.dtype == np.int64
    assert x.numpy().min() >= 0 and x.numpy().max() <= 4 and len(set(x.numpy())) == 5


# ------------------------------------------------------------------------------ dtypes as torch
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_unary_math_of_an_integer_or_bool_tensor_is_float32_as_in_torch(name, dtype):
    a = np.array([1, 2, 3]).astype(dtype)
    ours, theirs = getattr(mg.tensor(a), name)(), getattr(torch.from_numpy(a), name)()
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    assert_close(ours.numpy(), theirs.numpy(), np.dtype(np.float32), what="forward")


def test_clamp_of_an_integer_tensor_with_float_bounds_is_float32_as_in_torch():
    a = np.array([-2, 0, 1, 3])
    ours, theirs = mg.tensor(a).clamp(-0.5, 2.5), torch.from_numpy(a).clamp(-0.5, 2.5)
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert mg.tensor(a).clamp(0, 2).dtype == np.int64  # integer bounds keep the integer dtype


@pytest.mark.parametrize("first, second", [(np.int64, np.float32), (np.bool_, np.int64),
                                           (np.float32, np.float64), (np.int32, np.int64)])
def test_cat_of_mixed_dtypes_promotes_as_torch(first, second):
    a, b = np.arange(3).astype(first), np.arange(2).astype(second)
    ours = mg.cat([mg.tensor(a), mg.tensor(b)])
    theirs = torch.cat([torch.from_numpy(a), torch.from_numpy(b)])
    assert ours.dtype == theirs.numpy().dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cat_of_mixed_float_dtypes_returns_each_gradient_in_its_inputs_dtype():
    a = mg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = mg.tensor(np.ones(3), requires_grad=True)
    (mg.cat([a, b]) * mg.tensor(np.arange(5.0))).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), [0, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [2, 3, 4])




def test_augmented_assignment_on_a_leaf_that_requires_grad_is_refused_as_in_torch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad .* in-place"):
        x += 1
    with pytest.raises(RuntimeError, match="in-place"):
        x *= 2
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        t += 1
    y = x * 1                     # not a leaf: a new value, recorded in the graph
    y += 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    with mg.no_grad():
        x += 1                    # outside the graph it is allowed
    np.testing.assert_array_equal(x.numpy(), [2.0, 3.0])
