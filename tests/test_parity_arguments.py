"""Arguments at their edges, against torch: F.pad with negative widths (a crop) in every mode,
mg.where with Python numbers, F.interpolate's 'nearest-exact' (and 1-D inputs), the zero
gradient of sign, integer max pooling, integer powers, reductions over dim=(), matmul of mixed
dtypes, and view against reshape on non-contiguous tensors."""
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given

import minigen as mg
import minigen.nn.functional as F
from minigen.testing import arrays, shapes
from nn_oracle import check_function
from oracle import assert_close, numpy_dtype, torch_from


def _same_outcome(ours, theirs):
    """Run both; if torch raises, minigen must raise too, else return both results."""
    try:
        expected = theirs()
    except (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError):
        with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
            ours()
        return None
    return ours(), expected


# ----------------------------------------------------------------------------- pad
@st.composite
def pad_case(draw):
    """A mode, an input of 2-4 dims (the batch and channel dims first) and widths, negative
    ones included, for one to three trailing dims (two for reflect/replicate/circular on 3-D)."""
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    spatial = draw(st.integers(1, 3 if mode == "constant" else 2))
    lead = draw(st.integers(1 if mode == "constant" else 2, 2))
    shape = draw(shapes(lead, lead, min_side=1, max_side=2)) + tuple(
        draw(st.integers(1, 5)) for _ in range(spatial))
    widths = tuple(draw(st.integers(-3, 4)) for _ in range(2 * draw(st.integers(1, spatial))))
    return shape, widths, mode


def _beyond_the_crop(shape, widths):
    """Whether circular padding would wrap more than once around what the crops leave, or a
    crop takes more than there is: torch raises there, or reads memory outside the input (it
    returns garbage for F.pad(x, (-4, 1), mode="circular") of 4 elements); minigen raises."""
    pairs = [(widths[2 * j], widths[2 * j + 1]) for j in range(len(widths) // 2)]
    for n, (lo, hi) in zip(reversed(shape), pairs):
        kept = n + min(lo, 0) + min(hi, 0)
        if kept < 0 or max(lo, hi) > kept:
            return True
    return False


@given(case=pad_case())
def test_pad_with_negative_widths_crops_as_torch_in_every_mode(case):
    shape, widths, mode = case
    a = np.random.default_rng(sum(shape)).standard_normal(shape)
    if mode == "circular" and _beyond_the_crop(shape, widths):
        with pytest.raises((ValueError, NotImplementedError), match="crop|wrap around|needs a"):
            F.pad(mg.tensor(a), widths, mode=mode)
        return
    outcome = _same_outcome(lambda: F.pad(mg.tensor(a), widths, mode=mode),
                            lambda: TF.pad(torch.from_numpy(a), widths, mode=mode))
    if outcome is not None and 0 not in outcome[1].shape:
        check_function(lambda x: F.pad(x, widths, mode=mode),
                       lambda x: TF.pad(x, widths, mode=mode), [a])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", [(-1, 2, -2, -1), (2, -3, 0, 0), (-3, 2, 1, -4),
                                    (-4, 3, 0, 0)])
def test_pad_negative_widths_crop_each_side(mode, widths):
    """Reflect and replicate pad one side from the uncropped input ((2, -3) of 1 2 3 4 5 is
    3 2 1 2 under reflect); constant and circular pad what the crops leave."""
    a = np.arange(2 * 3 * 6 * 5.0).reshape(2, 3, 6, 5)
    if mode == "circular" and _beyond_the_crop(a.shape, widths):
        return  # torch's circular result is undefined there (see _beyond_the_crop)
    check_function(lambda x: F.pad(x, widths, mode=mode),
                   lambda x: TF.pad(x, widths, mode=mode), [a])


def test_circular_padding_wider_than_the_input_raises_as_torch():
    a = np.zeros((1, 2, 3))
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        TF.pad(torch.from_numpy(a), (4, 0), mode="circular")
    with pytest.raises(ValueError, match="would wrap around dim 2 of size 3"):
        F.pad(mg.tensor(a), (4, 0), mode="circular")
    check_function(lambda x: F.pad(x, (3, 3), mode="circular"),  # as wide as the input: fine
                   lambda x: TF.pad(x, (3, 3), mode="circular"), [a + np.arange(3.0)])


# ----------------------------------------------------------------------------- where
@pytest.mark.parametrize("a, b", [(4, 2), (4.0, 2), (1, 0.5), (True, False), (True, 2),
                                  (2.5, True), ("float64", 3), (3, "int32"), (0.5, "int64"),
                                  ("int32", True), ("float32", 2.0)])
def test_where_with_python_numbers_gives_torchs_values_and_dtype(a, b):
    cond = np.array([[True, False, True], [False, False, True]])
    tensor = lambda d, lib: (mg.tensor if lib is mg else torch.from_numpy)(  # noqa: E731
        np.arange(6).reshape(2, 3).astype(d))
    args = lambda lib: [tensor(v, lib) if isinstance(v, str) else v for v in (a, b)]  # noqa
    ours = mg.where(mg.tensor(cond), *args(mg))
    theirs = torch.where(torch.from_numpy(cond), *args(torch))
    assert ours.dtype == numpy_dtype(theirs.dtype), f"where(c, {a!r}, {b!r}): {ours.dtype}"
    assert_close(ours, theirs)


# ----------------------------------------------------------------------------- interpolate
@pytest.mark.parametrize("mode", ["nearest-exact", "nearest"])
@pytest.mark.parametrize("resize", [{"scale_factor": 0.5}, {"scale_factor": 1.5},
                                    {"scale_factor": 1.7}, {"scale_factor": 2},
                                    {"scale_factor": 3}, {"scale_factor": (0.6, 2.5)},
                                    {"size": 4}, {"size": (3, 8)}, {"size": (7, 2)}])
def test_nearest_exact_interpolation_of_images_matches_torch(mode, resize):
    a = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    check_function(lambda x: F.interpolate(x, mode=mode, **resize),
                   lambda x: TF.interpolate(x, mode=mode, **resize), [a])


@pytest.mark.parametrize("mode, extra", [("nearest-exact", {}), ("nearest", {}),
                                         ("linear", {}), ("linear", {"align_corners": True})])
@pytest.mark.parametrize("resize", [{"scale_factor": 0.6}, {"scale_factor": 1.7},
                                    {"scale_factor": 2}, {"size": 9}, {"size": (3,)}])
def test_interpolation_of_sequences_resizes_their_length_as_torch(mode, extra, resize):
    a = np.random.default_rng(1).standard_normal((2, 3, 5))
    check_function(lambda x: F.interpolate(x, mode=mode, **resize, **extra),
                   lambda x: TF.interpolate(x, mode=mode, **resize, **extra), [a])


@pytest.mark.parametrize("shape, mode", [((2, 3, 5), "bilinear"), ((1, 2, 3, 5), "linear"),
                                         ((3, 5), "nearest")])
def test_interpolate_refuses_a_mode_or_rank_that_torch_refuses(shape, mode):
    a = np.zeros(shape)
    with pytest.raises((ValueError, NotImplementedError, RuntimeError)):
        TF.interpolate(torch.from_numpy(a), scale_factor=2, mode=mode)
    with pytest.raises(ValueError, match="interpolate"):
        F.interpolate(mg.tensor(a), scale_factor=2, mode=mode)


# ----------------------------------------------------------------------------- small rules
def test_sign_has_a_zero_gradient_as_in_torch():
    a = np.array([-2.0, 0.0, 3.0, -0.0])
    x = mg.tensor(a, requires_grad=True)
    (g,) = mg.autograd.grad((x.sign() * mg.tensor(np.arange(4.0))).sum(), [x])
    t = torch_from(a)
    (tg,) = torch.autograd.grad((t.sign() * torch.arange(4.0)).sum(), [t])
    assert_close(g, tg)
    assert not g.numpy().any()


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int16"])
@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2,
                                                          "padding": 1},
                                     {"kernel_size": 2, "stride": 1, "dilation": 2}])
def test_max_pool2d_takes_integer_input_and_keeps_its_dtype_as_torch(dtype, options):
    a = np.random.default_rng(2).integers(0, 100, (2, 3, 6, 5)).astype(dtype)
    ours, theirs = F.max_pool2d(mg.tensor(a), **options), TF.max_pool2d(torch.from_numpy(a),
                                                                           **options)
    assert ours.dtype == numpy_dtype(theirs.dtype)
    assert_close(ours, theirs)


@pytest.mark.parametrize("exponent", [-2, -1])
def test_an_integer_tensor_to_a_negative_int_power_raises_as_torch(exponent):
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        torch.tensor([2, 3]) ** exponent
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        mg.tensor(np.array([2, 3])) ** exponent
    assert_close(mg.tensor(np.array([2, 3])) ** float(exponent),
                 torch.tensor([2, 3]) ** float(exponent))


@given(shape=shapes(0, 4, max_side=3), keepdim=st.booleans(),
       name=st.sampled_from(["sum", "mean", "amax", "amin", "std", "var", "all", "any"]))
def test_a_reduction_over_dim_empty_tuple_follows_torch(shape, keepdim, name):
    """sum, mean, amax, amin, std and var over dim=() reduce every dim (as dim=None); all and
    any over dim=() reduce none (they test each element)."""
    a = np.random.default_rng(3).standard_normal(shape)
    if name in ("all", "any"):
        a = np.asarray(a > 0)
    ours = getattr(mg.tensor(a), name)(dim=(), keepdim=keepdim)
    theirs = getattr(torch.from_numpy(a), name)(dim=(), keepdim=keepdim)
    assert_close(ours, theirs, what=f"{name}(dim=(), keepdim={keepdim})")
    if name in ("sum", "mean") and a.size:
        x, t = mg.tensor(a, requires_grad=True), torch_from(a)
        assert_close(mg.autograd.grad(getattr(x, name)(dim=()), [x]),
                     torch.autograd.grad(getattr(t, name)(dim=()), [t]))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64", "bool", "float32"])
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dim", [None, 1, (0, 1), ()])
def test_all_and_any_give_torchs_dtype_bool_or_uint8_for_uint8(dtype, name, dim):
    a = np.array([[0, 3], [1, 2]]).astype(dtype)
    kwargs = {} if dim is None else {"dim": dim}
    ours = getattr(mg.tensor(a), name)(**kwargs)
    theirs = getattr(torch.from_numpy(a), name)(**kwargs)
    assert ours.dtype == numpy_dtype(theirs.dtype), f"{name} of {dtype}: {ours.dtype}"
    assert_close(ours, theirs)


@pytest.mark.parametrize("shapes_", [((2, 3), (3, 4)), ((3,), (3,)), ((2, 2, 3), (3,))])
@pytest.mark.parametrize("int_side", [0, 1])
def test_matmul_of_an_integer_and_a_float_tensor_raises_as_torch(shapes_, int_side):
    arrays_ = [np.ones(s) for s in shapes_]
    arrays_[int_side] = arrays_[int_side].astype(np.int64)
    with pytest.raises(RuntimeError):
        torch.from_numpy(arrays_[0]) @ torch.from_numpy(arrays_[1])
    with pytest.raises(RuntimeError, match="integer and floating"):
        mg.tensor(arrays_[0]) @ mg.tensor(arrays_[1])
    ints = [a.astype(np.int64) for a in arrays_]  # integers with integers multiply, as in torch
    assert_close(mg.tensor(ints[0]) @ mg.tensor(ints[1]),
                 torch.from_numpy(ints[0]) @ torch.from_numpy(ints[1]))


# ----------------------------------------------------------------------------- view and reshape
@st.composite
def strided_case(draw):
    """A shape, a sequence of layout changes (transpose, permute, strided slice, expand of a
    size-1 dim) and a target shape that splits or merges the dims of the result."""
    base = draw(shapes(1, 4, max_side=4))
    shape, steps = list(base), []
    for _ in range(draw(st.integers(0, 3))):
        n = len(shape)
        kind = draw(st.sampled_from(["transpose", "permute", "slice", "expand"]))
        if kind == "transpose":
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            steps.append(("transpose", i, j))
            shape[i], shape[j] = shape[j], shape[i]
        elif kind == "permute":
            order = draw(st.permutations(range(n)))
            steps.append(("permute", tuple(order)))
            shape = [shape[k] for k in order]
        elif kind == "slice":
            d, step = draw(st.integers(0, n - 1)), draw(st.integers(1, 2))
            steps.append(("slice", d, step))
            shape[d] = len(range(0, shape[d], step))
        elif 1 in shape:
            shape[shape.index(1)] = draw(st.integers(1, 3))
            steps.append(("expand", tuple(shape)))
    numel = int(np.prod(shape))
    targets = [(-1,), (numel,), tuple(shape) + (1,), (1,) + tuple(shape)]
    for d in range(len(shape) - 1):  # merge two neighbours
        targets.append(tuple(shape[:d]) + (shape[d] * shape[d + 1],) + tuple(shape[d + 2:]))
    for d, s in enumerate(shape):  # split one dim
        targets += [tuple(shape[:d]) + (f, s // f) + tuple(shape[d + 1:])
                    for f in range(2, s + 1) if s % f == 0]
    return base, steps, draw(st.sampled_from(targets))


def _apply_layout(x, steps):
    for step in steps:
        if step[0] == "transpose":
            x = x.transpose(step[1], step[2])
        elif step[0] == "permute":
            x = x.permute(*step[1])
        elif step[0] == "slice":
            x = x[(slice(None),) * step[1] + (slice(None, None, step[2]),)]
        else:
            x = x.expand(*step[1])
    return x


@given(case=strided_case())
def test_view_raises_exactly_where_torch_does_and_reshape_then_copies(case):
    base, steps, target = case
    a = np.random.default_rng(4).standard_normal(base)
    x, t = mg.tensor(a, requires_grad=True), torch_from(a)
    xs, ts = _apply_layout(x, steps), _apply_layout(t, steps)
    assert xs.shape == tuple(ts.shape)
    try:
        expected = ts.view(target)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            xs.view(target)
        viewable = False
    else:
        assert_close(xs.view(target), expected, what=f"view {target}")
        viewable = True
    ours, theirs = xs.reshape(target), ts.reshape(target)
    assert_close(ours, theirs, what=f"reshape {target}")
    if not viewable:
        assert not np.shares_memory(ours.data, x.data), "reshape did not copy"
    w = np.random.default_rng(5).standard_normal(tuple(theirs.shape))
    assert_close(mg.autograd.grad((ours * mg.tensor(w)).sum(), [x]),
                 torch.autograd.grad((theirs * torch.from_numpy(w)).sum(), [t]))
