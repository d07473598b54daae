"""conv2d and conv_transpose2d (minigen/ops/conv.py) as specifications, with torch as the oracle.

For every geometry (stride, padding, dilation, groups, output_padding, odd sizes, batch 1, one
channel) the forward value, the input, weight and bias gradients, and the gradients of the
WGAN-GP penalty ||d out / d x||^2 with respect to the weight and the input (lecture §5.2) agree
with torch; gradcheck and gradgradcheck pass in float64; float32 stays float32 and agrees to 1e-4;
third derivatives work (the three conv ops are closed under differentiation); bad arguments give
errors that name the shapes.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import minigen as mg
from minigen.ops.conv import conv2d, conv_transpose2d
from minigen.testing import gradcheck, gradgradcheck
from oracle import assert_close, torch_from

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's performance note
TF = torch.nn.functional
rng = np.random.default_rng(0)


def _arrays(x_shape, w_shape, bias_size, dtype, seed=0):
    """Standard normal input, weight and (unless bias_size is None) bias arrays."""
    r = np.random.default_rng(seed)
    shapes = [x_shape, w_shape] + ([(bias_size,)] if bias_size else [])
    return [r.standard_normal(shape).astype(dtype) for shape in shapes]


def check_against_torch(fn, torch_fn, arrays, dtype=np.float64, seed=1):
    """Forward, all first-order gradients, and the WGAN-GP double backward: the gradient of
    ||d<out, v>/dx||^2 (x = the first array) with respect to every input."""
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch_from(a) for a in arrays]
    y, ty = fn(*ours), torch_fn(*theirs)
    assert y.dtype == np.dtype(dtype), f"{dtype} input gave a {y.dtype} output"
    assert_close(y, ty, what="forward")
    v = np.random.default_rng(seed).standard_normal(ty.shape).astype(dtype)
    grads = mg.autograd.grad(y, ours, mg.tensor(v), create_graph=True)
    tgrads = torch.autograd.grad(ty, theirs, torch.from_numpy(v), create_graph=True)
    assert all(g.dtype == np.dtype(dtype) for g in grads)
    assert_close(list(grads), list(tgrads), what="gradient")
    penalty, tpenalty = (grads[0] ** 2).sum(), (tgrads[0] ** 2).sum()
    second = mg.autograd.grad(penalty, ours, allow_unused=True)
    tsecond = torch.autograd.grad(tpenalty, theirs, allow_unused=True)
    # an input the penalty does not depend on (the bias): None in minigen, None or 0 in torch
    second = [np.zeros(a.shape, dtype) if g is None else g for g, a in zip(second, arrays)]
    tsecond = [np.zeros(a.shape, dtype) if g is None else g for g, a in zip(tsecond, arrays)]
    assert_close(second, tsecond, what="gradient of the penalty ||dout/dx||^2")


# --------------------------------------------------------------------------- conv2d, a fixed grid
CONV_CASES = [  # (x shape, weight shape, options)
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"padding": 1}),
    ((1, 1, 9, 7), (1, 1, 3, 2), {"stride": 2, "padding": (1, 0)}),
    ((2, 4, 9, 11), (6, 2, 3, 3), {"groups": 2, "stride": (2, 3), "padding": 1}),
    ((2, 4, 10, 9), (4, 1, 3, 3), {"groups": 4, "padding": 2, "dilation": 2}),
    ((3, 2, 7, 9), (5, 2, 2, 4), {"dilation": (2, 1), "stride": (1, 2)}),
    ((1, 3, 5, 5), (2, 3, 1, 1), {}),
    ((2, 3, 6, 5), (2, 3, 1, 1), {"padding": 1, "stride": 2}),
    ((2, 2, 6, 7), (3, 2, 4, 2), {"padding": "same"}),
    ((2, 2, 6, 7), (3, 2, 3, 3), {"padding": "same", "dilation": 2}),
    ((2, 2, 6, 7), (3, 2, 3, 3), {"padding": "valid"}),
    ((1, 2, 5, 5), (3, 2, 5, 5), {}),
    ((2, 3, 5, 4), (3, 3, 3, 3), {"padding": 3, "stride": 3}),
]


@pytest.mark.parametrize("x_shape,w_shape,options", CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_conv2d_value_gradients_and_penalty_gradients_match_torch(x_shape, w_shape, options):
    arrays = _arrays(x_shape, w_shape, w_shape[0], np.float64)
    check_against_torch(lambda x, w, b: conv2d(x, w, b, **options),
                        lambda x, w, b: TF.conv2d(x, w, b, **options), arrays)


def test_conv2d_without_bias_and_an_unbatched_input_match_torch():
    arrays = _arrays((3, 6, 5), (2, 3, 3, 3), None, np.float64)
    check_against_torch(lambda x, w: conv2d(x, w, padding=1),
                        lambda x, w: TF.conv2d(x, w, padding=1), arrays)


# --------------------------------------------------------------------------- drawn geometries
@st.composite
def conv_geometries(draw):
    """A valid conv2d geometry: groups, channels per group, kernel, stride, padding, dilation and
    an input just large enough for the dilated kernel, plus a few rows/columns more."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i])
                 + draw(st.integers(0, 4)) for i in range(2))
    x_shape = (draw(st.integers(1, 2)), c_in) + size
    w_shape = (c_out, c_in // groups) + kernel
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return x_shape, w_shape, options


@given(conv_geometries())
def test_conv2d_matches_torch_for_drawn_geometries(geometry):
    x_shape, w_shape, options = geometry
    arrays = _arrays(x_shape, w_shape, w_shape[0], np.float64)
    check_against_torch(lambda x, w, b: conv2d(x, w, b, **options),
                        lambda x, w, b: TF.conv2d(x, w, b, **options), arrays)


@given(conv_geometries(), st.data())
def test_conv_transpose2d_matches_torch_for_drawn_geometries(geometry, data):
    x_shape, w_shape, options = geometry
    # the transposed conv maps the conv's output shape back; its weight is (C_in, C_out/groups, ...)
    groups = options["groups"]
    n, c_in = x_shape[:2]
    c_out = w_shape[0]
    size = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    limit = [max(options["stride"][i], options["dilation"][i]) - 1 for i in range(2)]
    options["output_padding"] = (data.draw(st.integers(0, limit[0])),
                                 data.draw(st.integers(0, limit[1])))
    out_size = [(size[i] - 1) * options["stride"][i] - 2 * options["padding"][i]
                + options["dilation"][i] * (w_shape[2 + i] - 1) + options["output_padding"][i] + 1
                for i in range(2)]
    if min(out_size) < 1:
        options["padding"] = (0, 0)
    arrays = _arrays((n, c_out) + size, (c_out, c_in // groups) + w_shape[2:],
                     c_in, np.float64)
    check_against_torch(lambda x, w, b: conv_transpose2d(x, w, b, **options),
                        lambda x, w, b: TF.conv_transpose2d(x, w, b, **options), arrays)


# --------------------------------------------------------------------------- conv_transpose2d grid
TRANSPOSE_CASES = [  # (x shape, weight shape, options) -- weight (C_in, C_out/groups, kH, kW)
    ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    ((2, 3, 4, 5), (3, 2, 4, 4), {"stride": 2, "padding": 1}),
    ((1, 1, 3, 3), (1, 1, 3, 3), {"stride": 2, "output_padding": 1}),
    ((2, 4, 3, 4), (4, 3, 3, 2), {"stride": (3, 2), "padding": (1, 0), "output_padding": (2, 1),
                                  "groups": 2}),
    ((2, 2, 4, 4), (2, 2, 3, 3), {"dilation": 2, "output_padding": 1}),
    ((2, 2, 5, 4), (2, 1, 3, 3), {"padding": 2, "dilation": 2, "stride": 2, "groups": 2}),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"padding": 1}),
    ((2, 2, 3, 3), (2, 3, 1, 1), {"stride": 2, "output_padding": 1}),
]


@pytest.mark.parametrize("x_shape,w_shape,options", TRANSPOSE_CASES,
                         ids=[str(c) for c in TRANSPOSE_CASES])
def test_conv_transpose2d_value_gradients_and_penalty_gradients_match_torch(x_shape, w_shape,
                                                                            options):
    arrays = _arrays(x_shape, w_shape, w_shape[1] * options.get("groups", 1), np.float64)
    check_against_torch(lambda x, w, b: conv_transpose2d(x, w, b, **options),
                        lambda x, w, b: TF.conv_transpose2d(x, w, b, **options), arrays)


def test_conv_transpose2d_with_output_padding_is_the_input_gradient_of_conv2d():
    # 9x8 inputs, stride 2, padding 1, 3x3: 5x4 outputs, and 5x4 -> 9x7 or 9x8 going back; the
    # conv's input gradient is the transposed conv with output_padding (0, 1)
    x, w = _arrays((2, 4, 9, 8), (6, 2, 3, 3), None, np.float64)
    v = rng.standard_normal((2, 6, 5, 4))
    xt = mg.tensor(x, requires_grad=True)
    y = conv2d(xt, mg.tensor(w), stride=2, padding=1, groups=2)
    gx, = mg.autograd.grad(y, xt, mg.tensor(v))
    direct = conv_transpose2d(mg.tensor(v), mg.tensor(w), stride=2, padding=1, groups=2,
                              output_padding=(0, 1))
    assert direct.shape == x.shape
    assert_close(gx, direct)


def test_input_rows_that_no_window_reads_get_zero_gradient():
    # 10 rows, 3x3 windows with stride 2 start at rows 0, 2, 4, 6: row 9 is never read
    xt = mg.tensor(rng.standard_normal((1, 2, 10, 10)), requires_grad=True)
    conv2d(xt, mg.tensor(rng.standard_normal((3, 2, 3, 3))), stride=2).sum().backward()
    assert np.all(xt.grad.numpy()[:, :, 9, :] == 0) and np.all(xt.grad.numpy()[:, :, :, 9] == 0)
    assert np.all(xt.grad.numpy()[:, :, 8, :8] != 0)


# --------------------------------------------------------------------------- higher orders
def test_third_derivatives_of_conv2d_match_torch():
    x, w = _arrays((2, 2, 6, 5), (3, 2, 3, 3), None, np.float64)
    ours = [mg.tensor(a, requires_grad=True) for a in (x, w)]
    theirs = [torch_from(a) for a in (x, w)]

    def third(conv, grad, xs):
        y = conv(*xs)
        y = (y * y * y).sum()          # cubic, so that the third derivative is not zero
        gx, = grad(y, xs[0], create_graph=True)
        gw, = grad((gx * gx).sum(), xs[1], create_graph=True)
        return grad((gw * gw).sum(), xs)

    ours = third(lambda a, b: conv2d(a, b, stride=2, padding=1),
                 lambda *a, **k: mg.autograd.grad(*a, **k), ours)
    theirs = third(lambda a, b: TF.conv2d(a, b, stride=2, padding=1),
                   lambda *a, **k: torch.autograd.grad(*a, **k), theirs)
    assert_close(list(ours), list(theirs), what="third-order gradient")


GRADCHECK_CASES = {
    "conv2d": (lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
               ((2, 4, 5, 6), (4, 2, 3, 2), 4)),
    "conv_transpose2d": (lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1,
                                                          output_padding=1, groups=2).tanh(),
                         ((2, 4, 3, 3), (4, 1, 3, 2), 2)),
}


@pytest.mark.parametrize("name", GRADCHECK_CASES)
def test_conv_ops_pass_gradcheck_and_gradgradcheck(name):
    fn, (x_shape, w_shape, bias) = GRADCHECK_CASES[name]
    inputs = [mg.tensor(a, requires_grad=True) for a in _arrays(x_shape, w_shape, bias, np.float64)]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_only_the_requested_gradients_are_computed(monkeypatch):
    from minigen.ops import conv as conv_module
    x, w = (mg.tensor(a, requires_grad=True)
            for a in _arrays((1, 2, 5, 5), (3, 2, 3, 3), None, np.float64))

    def must_not_run(self, *arrays):
        raise AssertionError(f"{type(self).__name__} ran although its result is not needed")

    with monkeypatch.context() as m:
        m.setattr(conv_module.Conv2dWeightGradOp, "forward", must_not_run)
        mg.autograd.grad(conv2d(x, w, padding=1).sum(), x)
        with pytest.raises(AssertionError, match="Conv2dWeightGradOp ran"):  # the spy works
            mg.autograd.grad(conv2d(x, w, padding=1).sum(), w)
    with monkeypatch.context() as m:
        m.setattr(conv_module.ConvTranspose2dOp, "forward", must_not_run)
        mg.autograd.grad(conv2d(x, w, padding=1).sum(), w)
        conv2d(x.detach(), w, padding=1).sum().backward()


# --------------------------------------------------------------------------- float32
def test_float32_stays_float32_and_agrees_with_torch_to_1e_4():
    arrays = _arrays((4, 8, 13, 11), (16, 8, 3, 3), 16, np.float32)
    check_against_torch(lambda x, w, b: conv2d(x, w, b, padding=1),
                        lambda x, w, b: TF.conv2d(x, w, b, padding=1), arrays, dtype=np.float32)
    arrays = _arrays((4, 8, 7, 6), (8, 4, 4, 4), 4, np.float32)
    check_against_torch(lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1),
                        lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=1),
                        arrays, dtype=np.float32)


@pytest.mark.parametrize("stride", [1, 2])
def test_unfolding_one_image_at_a_time_gives_torchs_results(monkeypatch, stride):
    from minigen.ops import im2col
    monkeypatch.setitem(im2col._BLOCK_BYTES, "cpu", 1)     # blocks of one image
    arrays = _arrays((5, 3, 8, 7), (4, 3, 3, 3), None, np.float64)
    check_against_torch(lambda x, w: conv2d(x, w, stride=stride, padding=1),
                        lambda x, w: TF.conv2d(x, w, stride=stride, padding=1), arrays)
    arrays = _arrays((5, 3, 4, 3), (3, 2, 3, 3), None, np.float64)
    check_against_torch(lambda x, w: conv_transpose2d(x, w, stride=stride),
                        lambda x, w: TF.conv_transpose2d(x, w, stride=stride), arrays)


# --------------------------------------------------------------------------- errors
def _t(*shape, dtype=np.float64):
    return mg.tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call,message", [
    (lambda: conv2d(_t(2, 3, 8, 8), _t(8, 4, 3, 3)),
     r"conv2d: input \(2, 3, 8, 8\) has 3 channels but weight \(8, 4, 3, 3\) expects 4"),
    (lambda: conv2d(_t(2, 3, 8, 8), _t(8, 2, 3, 3), groups=2),
     r"has 3 channels but weight \(8, 2, 3, 3\) expects 4 \(2 per group x 2 groups\)"),
    (lambda: conv2d(_t(3, 8, 8, 1, 1), _t(8, 3, 3, 3)),
     r"4-D input .* got shape \(3, 8, 8, 1, 1\)"),
    (lambda: conv2d(_t(8, 8), _t(8, 3, 3, 3)), r"4-D input .* got shape \(8, 8\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3)), r"4-D weight .* got shape \(8, 3, 3\)"),
    (lambda: conv2d(_t(1, 3, 2, 8), _t(8, 3, 3, 3)), r"kernel \(3, 3\) .* spans \(3, 3\), more "
                                                       r"than the padded input \(2, 8\)"),
    (lambda: conv2d(_t(1, 3, 4, 4), _t(8, 3, 3, 3), dilation=2, padding=0),
     r"spans \(5, 5\), more than the padded input \(4, 4\)"),
    (lambda: conv2d(_t(1, 4, 8, 8), _t(6, 1, 3, 3), groups=4), r"6 output channels.*groups=4"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3, 3), _t(4)), r"bias must have shape \(8,\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3, 3), stride=0), r"stride must be at least 1"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3, 3), padding=-1), r"padding must be at least 0"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3, 3), padding="same", stride=2),
     r"padding='same' is not supported for strided"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 3, 3, 3), padding="full"), r"'valid' or 'same'"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(4, 2, 3, 3)),
     r"conv_transpose2d: input \(1, 3, 4, 4\) has 3 channels but weight \(4, 2, 3, 3\) expects 4"),
    (lambda: conv_transpose2d(_t(1, 4, 4, 4), _t(4, 2, 3, 3), stride=2, output_padding=2),
     r"output_padding \(2, 2\) must be smaller than either stride \(2, 2\) or dilation \(1, 1\)"),
    (lambda: conv_transpose2d(_t(1, 4, 1, 1), _t(4, 2, 1, 1), padding=1), r"empty output"),
])
def test_bad_arguments_raise_errors_that_name_the_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mixed_dtypes_raise_instead_of_upcasting():
    with pytest.raises(TypeError, match="input has dtype float32 but weight has dtype float64"):
        conv2d(_t(1, 3, 8, 8, dtype=np.float32), _t(8, 3, 3, 3))
    with pytest.raises(TypeError, match="weight must be a Tensor"):
        conv2d(_t(1, 3, 8, 8), np.zeros((8, 3, 3, 3)))


@pytest.mark.skipif(not mg.cuda_available(), reason="needs CuPy and a GPU")
def test_on_the_gpu_conv_ops_and_their_gradients_equal_the_cpu_results():
    arrays = _arrays((2, 4, 9, 8), (6, 2, 3, 3), 6, np.float64)
    results = {}
    for device in ("cpu", "cuda"):
        x, w, b = (mg.tensor(a, requires_grad=True, device=device) for a in arrays)
        y = conv2d(x, w, b, stride=2, padding=1, groups=2)
        z = conv_transpose2d(y, w, stride=2, padding=1, groups=2, output_padding=(0, 1))
        gx, = mg.autograd.grad((z * z).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        results[device] = [t.numpy() for t in (y, z, gx, x.grad, w.grad, b.grad)]
    assert_close(results["cuda"], results["cpu"])
