"""Convolution layers as specifications: Conv2d and ConvTranspose2d match torch for every option;
Conv1d matches torch for drawn options and its state_dict loads into torch;
MaskedConv2d is causal in raster order (checked through its Jacobian, computed with minigen's
autograd), channel by channel with colour groups; a torch Conv2d/BatchNorm2d/LSTM network's
state_dict, converted to NumPy arrays, loads and gives torch's outputs; and a conv critic's
gradient penalty (WGAN-GP, lecture §5.2) and its gradient match torch's."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigen as mg
import minigen.nn as nn
import minigen.nn.functional as F
from minigen.testing import gradcheck, gradgradcheck
from nn_oracle import check_layer, numpy_state
from oracle import assert_close, to_numpy, torch_from

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's perf note
DTYPES = [np.float64, np.float32]
rng = np.random.default_rng(0)

CONV_OPTIONS = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)},
    {"groups": 2, "bias": False},
    {"padding": "same", "dilation": 2},
    {"padding": "same", "kernel_size": (2, 4)},
    {"padding": "valid"},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": (2, 1), "padding_mode": "replicate"},
    {"padding": 1, "padding_mode": "circular", "stride": 2},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": 4},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CONV_OPTIONS, ids=[str(o) for o in CONV_OPTIONS])
def test_conv2d_layer_matches_torch(options, dtype):
    options = dict(options)
    kernel = options.pop("kernel_size", 3)
    mine, theirs = nn.Conv2d(4, 6, kernel, **options), torch.nn.Conv2d(4, 6, kernel, **options)
    check_layer(mine, theirs, rng.standard_normal((2, 4, 7, 6)), dtype)
    assert repr(mine) == repr(theirs)


TRANSPOSE_OPTIONS = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": (3, 2), "dilation": (1, 2), "output_padding": (2, 1)},
    {"groups": 2, "bias": False, "stride": 2},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", TRANSPOSE_OPTIONS, ids=[str(o) for o in TRANSPOSE_OPTIONS])
def test_conv_transpose2d_layer_matches_torch(options, dtype):
    mine, theirs = nn.ConvTranspose2d(4, 6, 3, **options), torch.nn.ConvTranspose2d(4, 6, 3,
                                                                                   **options)
    check_layer(mine, theirs, rng.standard_normal((2, 4, 5, 4)), dtype)
    assert repr(mine) == repr(theirs)


def test_conv_transpose2d_output_size_picks_torchs_output_padding():
    mine = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = rng.standard_normal((1, 2, 4, 4))
    for size in ([7, 7], [8, 8], [7, 8]):
        check_layer(mine, theirs, x, call=lambda m, x: m(x, output_size=size))
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        mine(mg.tensor(x), output_size=[9, 9])


@pytest.mark.parametrize("size", [[7, 7], [8, 8], [7, 8], (3, 7, 8)])
def test_conv_transpose2d_output_size_on_an_unbatched_input_matches_torch(size):
    # the sizes are read from the last two dims: (C, H, W) has no dim 3
    mine = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    out, _ = check_layer(mine, theirs, rng.standard_normal((2, 4, 4)),
                         call=lambda m, x: m(x, output_size=size))
    assert out[0].shape == (3,) + tuple(size[-2:])
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        mine(mg.randn(2, 4, 4).double(), output_size=[7, 9])


# --------------------------------------------------------------------------- Conv1d

@st.composite
def conv1d_settings(draw):
    """(arguments of Conv1d, input shape): any option torch's Conv1d takes, on an input long
    enough for the kernel (and for reflect padding, which needs padding < L)."""
    groups = draw(st.sampled_from([1, 2]))
    kernel, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    padding = draw(st.one_of(st.integers(0, 3), st.just((2,)), st.sampled_from(["same",
                                                                                "valid"])))
    stride = 1 if padding == "same" else draw(st.one_of(st.integers(1, 3), st.just((2,))))
    pad = {"same": dilation * (kernel - 1), "valid": 0}.get(padding, None)
    pad = (pad // 2 + pad % 2) if pad is not None else (padding[0] if isinstance(padding, tuple)
                                                        else padding)
    length = max(1, dilation * (kernel - 1) + 1 - 2 * pad, pad + 1) + draw(st.integers(0, 5))
    batch = draw(st.sampled_from([(), (1,), (3,)]))
    settings = dict(in_channels=2 * groups, out_channels=draw(st.sampled_from([1, 3])) * groups,
                    kernel_size=draw(st.sampled_from([kernel, (kernel,)])), stride=stride,
                    padding=padding, dilation=dilation, groups=groups, bias=draw(st.booleans()),
                    padding_mode=mode)
    return settings, batch + (2 * groups, length)


@given(conv1d_settings(), st.sampled_from(DTYPES))
def test_conv1d_layer_matches_torch_and_its_state_dict_loads_into_torch(case, dtype):
    settings, shape = case
    mine, theirs = nn.Conv1d(**settings), torch.nn.Conv1d(**settings)
    assert repr(mine) == repr(theirs)
    x = rng.standard_normal(shape)
    check_layer(mine, theirs, x, dtype)  # torch's weights loaded into minigen
    mine = nn.Conv1d(**settings).to(dtype=dtype)  # and minigen's, fresh, into torch
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in mine.state_dict().items()}, strict=True)
    assert_close(mine(mg.tensor(x.astype(dtype))), theirs(torch_from(x.astype(dtype))))


def test_conv1d_weight_has_torchs_shape_and_initial_range():
    mine = nn.Conv1d(4, 6, 5, groups=2)
    assert mine.weight.shape == (6, 2, 5) and mine.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 5)
    assert np.abs(mine.weight.numpy()).max() <= bound and np.abs(mine.bias.numpy()).max() <= bound
    assert np.abs(mine.weight.numpy()).max() > bound / 2  # drawn from the range, not zeros


def test_conv1d_passes_gradcheck_and_gradgradcheck_through_reflect_padding():
    layer = nn.Conv1d(2, 3, 3, stride=2, padding=2, dilation=2, padding_mode="reflect").double()
    x = mg.tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    fn = lambda x, w, b: F.conv1d(F.pad(x, (2, 2), mode="reflect"), w, b, 2, 0, 2)  # noqa
    assert_close(layer(x), fn(x, layer.weight, layer.bias))
    assert gradcheck(fn, [x, layer.weight, layer.bias])
    assert gradgradcheck(fn, [x, layer.weight, layer.bias])


def test_conv1d_rejects_bad_options_with_their_names():
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 1 int"):
        nn.Conv1d(2, 2, (3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 2, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be"):
        nn.Conv1d(2, 2, 3, padding_mode="mirror")


# --------------------------------------------------------------------------- MaskedConv2d

def input_jacobian(layer, x):
    """d out[o, i, j] / d x[c, r, s] for a single example, shape (O, H, W, C, H, W), computed
    with minigen's autograd (one backward per output element)."""
    x = mg.tensor(x, requires_grad=True)
    out = layer(x)
    jac = np.zeros(out.shape[1:] + x.shape[1:])
    for index in np.ndindex(*out.shape[1:]):
        (g,) = mg.autograd.grad(out[(0,) + index], x, retain_graph=True)
        jac[index] = g.numpy()[0]
    return jac


def raster_allowed(h, w, include_centre):
    """allowed[i, j, r, s]: pixel (r, s) comes before (i, j) in raster order (or is (i, j))."""
    order = np.arange(h * w).reshape(h, w)
    before = order[None, None, :, :] < order[:, :, None, None]
    same = order[None, None, :, :] == order[:, :, None, None]
    return before | (same & include_centre)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_output_never_depends_on_later_pixels(mask_type):
    layer = nn.MaskedConv2d(2, 3, 5, mask_type=mask_type).double()
    h, w = 5, 6
    jac = input_jacobian(layer, rng.standard_normal((1, 2, h, w)))
    depends = np.abs(jac).sum(axis=(0, 3)) > 0  # (H, W, H, W): output pixel -> input pixel
    allowed = raster_allowed(h, w, include_centre=mask_type == "B")
    assert not (depends & ~allowed).any()
    # and it does see what it may: every earlier pixel inside the 5x5 window
    i, j = 2, 3
    assert depends[i, j, i - 2:i, j - 2:j + 3].all() and depends[i, j, i, j - 2:j].all()
    assert depends[i, j, i, j] == (mask_type == "B")


def test_a_stack_of_masked_convs_stays_causal():
    net = nn.Sequential(nn.MaskedConv2d(1, 4, 3, "A"), nn.ReLU(), nn.MaskedConv2d(4, 4, 3, "B"),
                        nn.ReLU(), nn.MaskedConv2d(4, 2, 3, "B")).double()
    jac = input_jacobian(net, rng.standard_normal((1, 1, 5, 5)))
    depends = np.abs(jac).sum(axis=(0, 3)) > 0
    assert not (depends & ~raster_allowed(5, 5, include_centre=False)).any()
    assert depends[4, 4, 0:4, 2:].any()  # the receptive field grows upwards through the stack


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_colour_groups_order_the_channels_of_the_current_pixel(mask_type):
    layer = nn.MaskedConv2d(3, 6, 3, mask_type=mask_type, color_groups=3).double()
    jac = input_jacobian(layer, rng.standard_normal((1, 3, 4, 4)))
    i, j = 2, 1
    centre = np.abs(jac[:, i, j, :, i, j]) > 0  # (out channel, in channel) at the same pixel
    out_group = np.arange(6) // 2  # R R G G B B
    in_group = np.arange(3)  # R G B
    if mask_type == "A":
        expected = out_group[:, None] > in_group[None, :]
    else:
        expected = out_group[:, None] >= in_group[None, :]
    np.testing.assert_array_equal(centre, expected)
    later = ~raster_allowed(4, 4, include_centre=True)[i, j]
    assert not np.abs(jac[:, i, j][:, :, later]).any()
    earlier = raster_allowed(4, 4, include_centre=False)[i, j]
    assert (np.abs(jac[:, i, j][:, :, earlier]).sum(axis=-1) > 0).all()  # all channels, earlier


def test_masked_conv_equals_a_conv_with_the_masked_kernel_and_masks_the_gradient():
    layer = nn.MaskedConv2d(2, 3, 3, mask_type="A", stride=1)
    theirs = torch.nn.Conv2d(2, 3, 3, padding=1)
    state = numpy_state(theirs)
    layer.load_state_dict({**state, "mask": layer.mask.numpy()})
    with torch.no_grad():
        theirs.weight.mul_(torch.from_numpy(layer.mask.numpy()))
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    out = layer(mg.tensor(x))
    assert_close(out, theirs(torch.from_numpy(x)))
    out.sum().backward()
    assert (layer.weight.grad.numpy()[layer.mask.numpy() == 0] == 0).all()
    assert list(layer.state_dict()) == ["weight", "bias", "mask"]


def test_masked_conv_passes_gradcheck_and_gradgradcheck():
    layer = nn.MaskedConv2d(2, 2, 3, "B", color_groups=2).double()
    x = mg.tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    w = mg.tensor(layer.weight.numpy(), requires_grad=True)
    fn = lambda x, w: F.conv2d(x, w * layer.mask, padding=1)  # noqa: E731
    assert gradcheck(fn, [x, w]) and gradgradcheck(fn, [x, w])


def test_masked_conv_rejects_bad_options():
    with pytest.raises(ValueError, match="mask_type"):
        nn.MaskedConv2d(1, 1, 3, mask_type="C")
    with pytest.raises(ValueError, match="divisible by color_groups"):
        nn.MaskedConv2d(3, 4, 3, "B", color_groups=3)


# --------------------------------------------------------------------------- acceptance


def make_net(lib):
    """A conv + batch-norm + LSTM network, the same in minigen.nn and torch.nn."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4),
                                           lib.ReLU(), lib.Conv2d(4, 2, 3, stride=2, padding=1),
                                           lib.BatchNorm2d(2), lib.Tanh())
            self.rows = lib.LSTM(2 * 3, 5, num_layers=2, batch_first=True)
            self.head = lib.Linear(5, 3)

        def forward(self, x):
            f = self.features(x)  # (N, 2, 3, 3): each of the 3 rows is a step of 2 * 3 values
            seq = f.permute(0, 2, 1, 3).reshape(x.shape[0], 3, 6)
            out, (h, c) = self.rows(seq)
            return self.head(out[:, -1]) + h.sum(0)[:, :3] + c.sum(0)[:, :3]

    return Net()


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_torch_conv_batchnorm_lstm_state_dict_as_numpy_loads_and_gives_torchs_outputs(mode):
    torch.manual_seed(0)
    theirs, mine = make_net(torch.nn), make_net(nn)
    theirs.train()
    with torch.no_grad():  # give the running statistics non-default values
        for _ in range(2):
            theirs(torch.randn(8, 1, 6, 6))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    mine.load_state_dict(state)
    getattr(mine, mode)(), getattr(theirs, mode)()
    x = rng.standard_normal((4, 1, 6, 6)).astype(np.float32)
    assert_close(mine(mg.tensor(x)), theirs(torch.from_numpy(x)))
    if mode == "train":  # the running statistics moved the same way
        for key, value in theirs.state_dict().items():
            assert_close(mine.state_dict()[key], value, what=key)


def make_critic(lib):
    return lib.Sequential(lib.Conv2d(1, 4, 3, stride=2, padding=1), lib.LeakyReLU(0.2),
                          lib.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
                          lib.LeakyReLU(0.2), lib.Conv2d(3, 2, 3), lib.LeakyReLU(0.2),
                          lib.Flatten(), lib.Linear(2 * 4 * 4, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_penalty_of_a_conv_critic_and_its_weight_gradients_match_torch(dtype):
    """penalty = mean over the batch of (||grad_x D(x)||_2 - 1)^2, the norm over C, H, W; its
    gradient with respect to the critic's weights needs double backward through conv2d,
    conv_transpose2d, leaky_relu and linear."""
    torch.manual_seed(1)
    theirs, mine = make_critic(torch.nn), make_critic(nn)
    if dtype == np.float64:
        theirs.double(), mine.double()
    mine.load_state_dict(numpy_state(theirs))
    x = rng.standard_normal((3, 1, 6, 6)).astype(dtype)

    xm = mg.tensor(x, requires_grad=True)
    (gm,) = mg.autograd.grad(mine(xm).sum(), xm, create_graph=True)
    penalty_m = ((gm.reshape(3, -1) ** 2).sum(1).sqrt() - 1.0) ** 2
    penalty_m = penalty_m.mean()
    penalty_m.backward()

    xt = torch_from(x)
    (gt,) = torch.autograd.grad(theirs(xt).sum(), xt, create_graph=True)
    penalty_t = ((gt.reshape(3, -1).norm(dim=1) - 1.0) ** 2).mean()
    penalty_t.backward()

    assert_close(penalty_m, penalty_t, what="penalty")
    # biases and x do not reach grad_x (the critic is piecewise linear), so either library may
    # leave their gradients None rather than zero
    def grad(t):
        return np.zeros(t.shape, dtype) if t.grad is None else to_numpy(t.grad)

    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        assert_close(grad(p), grad(q), what=f"gradient of {name}")
    assert_close(grad(xm), grad(xt), what="gradient of the input")
    assert np.abs(grad(mine[0].weight)).max() > 1e-3  # the penalty does reach the weights


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{"scale_factor": 2}, {"size": (5, 7)},
                                     {"scale_factor": 2, "mode": "bilinear"},
                                     {"scale_factor": (2, 3), "mode": "bilinear",
                                      "align_corners": True}], ids=str)
def test_upsample_matches_torch(options, dtype):
    mine, theirs = nn.Upsample(**options), torch.nn.Upsample(**options)
    check_layer(mine, theirs, rng.standard_normal((2, 3, 3, 4)), dtype)
    assert repr(mine) == repr(theirs)


@given(kernel=st.sampled_from([3, 5, 7, (1, 3), (3, 1), (1, 5)]), mask_type=st.sampled_from("AB"),
       dilation=st.integers(1, 2), stride=st.integers(1, 2), color=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_masked_conv_skips_the_kernel_rows_its_mask_zeroes_without_changing_anything(
        kernel, mask_type, dilation, stride, color, seed):
    """MaskedConv2d convolves only the rows/columns its mask leaves, with per-side padding:
    output, input gradient, weight gradient and double backward equal those of the full
    masked kernel with the symmetric padding."""
    mg.manual_seed(seed)
    cin, groups = (3, 3) if color else (2, 1)
    m = nn.MaskedConv2d(cin, 6, kernel, mask_type, stride=stride, dilation=dilation,
                        color_groups=groups).double()
    x = mg.randn(2, cin, 9, 8, dtype=np.float64, requires_grad=True)
    full = m._conv_forward(x, m.weight * m.mask)     # the plain path, every tap
    y = m(x)
    assert y.shape == full.shape
    g = mg.randn(*y.shape, dtype=np.float64)
    mine = mg.autograd.grad((y * g).sum(), [x, m.weight], create_graph=True)
    plain = mg.autograd.grad((full * g).sum(), [x, m.weight], create_graph=True)
    assert_close(y, full.numpy())
    assert_close(list(mine), [p.numpy() for p in plain])
    second = mg.autograd.grad((mine[0] ** 2).sum(), m.weight)[0]
    assert_close(second, mg.autograd.grad((plain[0] ** 2).sum(), m.weight)[0].numpy())


def test_conv2d_takes_per_side_padding_as_pad_then_conv():
    x, w = mg.randn(2, 3, 7, 6, requires_grad=True), mg.randn(4, 3, 2, 3)
    pads = ((1, 0), (2, -1))
    y = F.conv2d(x, w, padding=pads)
    expected = F.conv2d(F.pad(x, (2, -1, 1, 0)), w)
    assert_close(y, expected.numpy())
