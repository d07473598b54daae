"""max_pool2d, avg_pool2d, adaptive_avg_pool2d and interpolate (minigen/ops/pool.py) against torch.

Each is checked on its own (value and input gradient, float64 and float32, odd sizes, batch 1,
one channel) and inside a small conv critic conv -> tanh -> op -> conv, whose gradient-penalty
gradients (lecture §5.2) go through the op's backward twice; max pooling routes the gradient to the
first maximum of each window on ties, as torch does; gradcheck and gradgradcheck pass.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import minigen as mg
from minigen.ops.conv import conv2d
from minigen.nn.functional_pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from minigen.testing import gradcheck, gradgradcheck
from oracle import assert_close, torch_from
from test_conv import check_against_torch

TF = torch.nn.functional
rng = np.random.default_rng(0)

OPS = {  # name: (minigen op, torch op); options are passed as keywords to both
    "max_pool2d": (max_pool2d, TF.max_pool2d),
    "avg_pool2d": (avg_pool2d, TF.avg_pool2d),
    "adaptive_avg_pool2d": (adaptive_avg_pool2d, TF.adaptive_avg_pool2d),
    "interpolate": (interpolate, TF.interpolate),
}

CASES = [  # (op, input shape, options)
    ("max_pool2d", (2, 3, 8, 8), {"kernel_size": 2}),
    ("max_pool2d", (2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool2d", (1, 1, 9, 8), {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0)}),
    ("max_pool2d", (2, 2, 9, 9), {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2}),
    ("max_pool2d", (2, 2, 5, 5), {"kernel_size": 5}),
    ("avg_pool2d", (2, 3, 8, 8), {"kernel_size": 2}),
    ("avg_pool2d", (2, 3, 7, 9), {"kernel_size": 2}),
    ("avg_pool2d", (2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", (1, 1, 6, 7), {"kernel_size": (2, 3), "stride": 1, "padding": (1, 1)}),
    ("avg_pool2d", (2, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1,
                                  "count_include_pad": False}),
    ("adaptive_avg_pool2d", (2, 3, 7, 10), {"output_size": 1}),
    ("adaptive_avg_pool2d", (2, 3, 8, 10), {"output_size": (4, 5)}),
    ("adaptive_avg_pool2d", (2, 3, 7, 10), {"output_size": (3, 4)}),
    ("adaptive_avg_pool2d", (1, 1, 5, 6), {"output_size": (None, 4)}),
    ("interpolate", (2, 3, 5, 7), {"scale_factor": 2}),
    ("interpolate", (2, 3, 5, 7), {"scale_factor": 3}),
    ("interpolate", (2, 3, 5, 7), {"size": (11, 13)}),
    ("interpolate", (2, 3, 8, 9), {"size": (4, 3)}),
    ("interpolate", (1, 1, 5, 7), {"scale_factor": (1.7, 0.6)}),
    ("interpolate", (2, 3, 5, 7), {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
    ("interpolate", (2, 3, 5, 7), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ("interpolate", (1, 2, 6, 5), {"size": (9, 4), "mode": "bilinear", "align_corners": False}),
    ("interpolate", (1, 2, 6, 5), {"size": (9, 4), "mode": "bilinear", "align_corners": True}),
    ("interpolate", (1, 2, 6, 5), {"size": (1, 1), "mode": "bilinear", "align_corners": True}),
    ("interpolate", (2, 1, 4, 7), {"scale_factor": 1.5, "mode": "bilinear"}),
]
IDS = [f"{op}{shape}{options}" for op, shape, options in CASES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,shape,options", CASES, ids=IDS)
def test_value_and_input_gradient_match_torch(name, shape, options, dtype):
    ours, theirs = OPS[name]
    x = rng.standard_normal(shape).astype(dtype)
    xt, tx = mg.tensor(x, requires_grad=True), torch_from(x)
    y, ty = ours(xt, **options), theirs(tx, **options)
    assert y.dtype == np.dtype(dtype)
    assert_close(y, ty, what="value")
    v = rng.standard_normal(ty.shape).astype(dtype)
    y.backward(mg.tensor(v))
    ty.backward(torch.from_numpy(v))
    assert_close(xt.grad, tx.grad, what="input gradient")


def critic(op, conv, options):
    """conv -> tanh -> op -> conv: the gradient penalty of this critic differentiates op twice."""
    def fn(x, w1, w2):
        return conv(op(conv(x, w1, padding=1).tanh(), **options), w2, padding=1)
    return fn


@pytest.mark.parametrize("name,shape,options", CASES, ids=IDS)
def test_gradient_penalty_through_the_op_matches_torch(name, shape, options):
    ours, theirs = OPS[name]
    arrays = [rng.standard_normal(shape), rng.standard_normal((3, shape[1], 3, 3)),
              rng.standard_normal((2, 3, 3, 3))]
    check_against_torch(critic(ours, conv2d, options), critic(theirs, TF.conv2d, options), arrays)


@pytest.mark.parametrize("name,shape,options", [CASES[1], CASES[3], CASES[7], CASES[9],
                                                CASES[12], CASES[18], CASES[21]],
                         ids=[IDS[i] for i in (1, 3, 7, 9, 12, 18, 21)])
def test_ops_pass_gradcheck_and_gradgradcheck(name, shape, options):
    ours = OPS[name][0]
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)  # distinct values: no ties
    w = mg.tensor(rng.standard_normal((2, shape[1], 3, 3)), requires_grad=True)

    def fn(x, w):  # squared, so that the second derivative in x is not zero for max pooling
        return conv2d(ours(x, **options) ** 2, w, padding=1)
    assert gradcheck(fn, [x, w])
    assert gradgradcheck(fn, [x, w])


# --------------------------------------------------------------------------- max pooling ties
@pytest.mark.parametrize("stride,padding", [(2, 0), (1, 1), (2, 1)])
def test_max_pool_sends_the_gradient_to_the_first_maximum_on_ties_like_torch(stride, padding):
    x = rng.integers(0, 3, size=(2, 2, 7, 8)).astype(np.float64)  # many equal values
    xt, tx = mg.tensor(x, requires_grad=True), torch_from(x)
    y, ty = max_pool2d(xt, 3, stride, padding), TF.max_pool2d(tx, 3, stride, padding)
    v = rng.standard_normal(ty.shape)
    y.backward(mg.tensor(v))
    ty.backward(torch.from_numpy(v))
    assert_close(y, ty)
    assert_close(xt.grad, tx.grad, what="gradient on ties")


def test_max_pool_of_a_constant_image_sends_each_gradient_to_the_window_corner():
    xt = mg.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(xt, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    assert np.array_equal(xt.grad.numpy()[0, 0], expected)


def test_max_pool_never_sends_the_gradient_to_padding_when_real_pixels_are_minus_inf():
    x = rng.standard_normal((1, 2, 5, 6))
    x[0, 0, :2, :2] = -np.inf                # the top-left windows hold -inf and padding only
    x[0, 1] = -np.inf
    xt, tx = mg.tensor(x, requires_grad=True), torch_from(x)
    y, ty = max_pool2d(xt, 3, 2, 1), TF.max_pool2d(tx, 3, 2, 1)
    v = rng.standard_normal(ty.shape)
    y.backward(mg.tensor(v))
    ty.backward(torch.from_numpy(v))
    assert_close(y, ty)
    assert_close(xt.grad, tx.grad)


def test_a_dilated_window_over_padding_alone_gives_minus_inf_and_no_gradient():
    xt = mg.tensor(rng.standard_normal((1, 1, 2, 1)), requires_grad=True)
    y = max_pool2d(xt, 2, 1, (0, 1), (1, 2))   # columns -1 and 1 of a one-column image
    assert y.shape == (1, 1, 1, 1) and y.item() == -np.inf
    y.sum().backward()
    assert np.all(xt.grad.numpy() == 0)


# --------------------------------------------------------------------------- drawn geometries
@given(st.data())
def test_pooling_output_sizes_and_values_match_torch_for_drawn_geometries(data):
    kernel = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = (data.draw(st.integers(0, kernel[0] // 2)), data.draw(st.integers(0, kernel[1] // 2)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i])
                 + data.draw(st.integers(0, 5)) for i in range(2))
    x = rng.standard_normal((data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))) + size)
    for ours, theirs, extra in ((max_pool2d, TF.max_pool2d, {"dilation": dilation}),
                                (avg_pool2d, TF.avg_pool2d, {}),
                                (avg_pool2d, TF.avg_pool2d, {"count_include_pad": False})):
        xt, tx = mg.tensor(x, requires_grad=True), torch_from(x)
        y, ty = ours(xt, kernel, stride, padding, **extra), theirs(tx, kernel, stride, padding,
                                                                   **extra)
        assert_close(y, ty)
        v = rng.standard_normal(ty.shape)
        y.backward(mg.tensor(v))
        # a dilated window over padding alone gives -inf and no gradient (torch: a stray pixel)
        ty.backward(torch.from_numpy(v * np.isfinite(ty.detach().numpy())))
        assert_close(xt.grad, tx.grad)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 17), st.integers(1, 17),
       st.sampled_from(["nearest", "bilinear-false", "bilinear-true"]),
       st.sampled_from([np.float32, np.float64]))
def test_resizing_to_drawn_sizes_matches_torch(h, w, out_h, out_w, mode, dtype):
    mode, _, corners = mode.partition("-")
    options = {"mode": mode}
    if corners:
        options["align_corners"] = corners == "true"
    x = rng.standard_normal((1, 2, h, w)).astype(dtype)
    assert_close(interpolate(mg.tensor(x), (out_h, out_w), **options),
                 TF.interpolate(torch.from_numpy(x), (out_h, out_w), **options))


@given(st.integers(1, 9), st.floats(0.3, 4.0), st.sampled_from(["nearest", "bilinear"]))
def test_resizing_by_drawn_scale_factors_matches_torch(size, scale, mode):
    x = rng.standard_normal((1, 1, size, size + 2)).astype(np.float32)
    if int(np.floor(size * scale)) < 1:
        return
    assert_close(interpolate(mg.tensor(x), scale_factor=scale, mode=mode),
                 TF.interpolate(torch.from_numpy(x), scale_factor=scale, mode=mode))


def test_unbatched_inputs_are_pooled_like_torch():
    x = rng.standard_normal((3, 6, 7))
    assert_close(max_pool2d(mg.tensor(x), 2), TF.max_pool2d(torch.from_numpy(x), 2))
    assert_close(avg_pool2d(mg.tensor(x), 3, 1, 1), TF.avg_pool2d(torch.from_numpy(x), 3, 1, 1))


# --------------------------------------------------------------------------- errors
def _t(*shape):
    return mg.tensor(np.zeros(shape))


@pytest.mark.parametrize("call,message", [
    (lambda: max_pool2d(_t(1, 1, 8, 8), 3, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: avg_pool2d(_t(1, 1, 8, 8), 2, padding=(0, 2)), r"at most half of kernel_size"),
    (lambda: max_pool2d(_t(1, 1, 2, 8), 3), r"input \(1, 1, 2, 8\) is too small for "
                                             r"kernel_size \(3, 3\)"),
    (lambda: max_pool2d(_t(8, 8), 2), r"4-D input .* got shape \(8, 8\)"),
    (lambda: avg_pool2d(_t(1, 1, 8, 8), 0), r"kernel_size must be at least 1"),
    (lambda: adaptive_avg_pool2d(_t(1, 1, 8, 8), (2, 2, 2)),
     r"output_size must be an int or a pair"),
    (lambda: interpolate(_t(1, 1, 4, 4)), r"exactly one of size and scale_factor"),
    (lambda: interpolate(_t(1, 1, 4, 4), 8, 2.0), r"exactly one of size and scale_factor"),
    (lambda: interpolate(_t(1, 1, 4, 4), 8, mode="bicubic"), r"'nearest-exact' or 'bilinear'"),
    (lambda: interpolate(_t(1, 1, 4, 4), 8, align_corners=True), r"align_corners can only"),
    (lambda: interpolate(_t(1, 1, 4, 4), scale_factor=0.1), r"shrinks the input"),
])
def test_bad_arguments_raise_errors_that_name_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.skipif(not mg.cuda_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("name,shape,options", CASES, ids=IDS)
def test_on_the_gpu_values_and_gradients_equal_the_cpu_results(name, shape, options):
    op = OPS[name][0]
    x = rng.standard_normal(shape)
    results = {}
    for device in ("cpu", "cuda"):
        xt = mg.tensor(x, requires_grad=True, device=device)
        y = op(xt, **options)
        (y * y).sum().backward()
        results[device] = [y.numpy(), xt.grad.numpy()]
    assert_close(results["cuda"], results["cpu"])
