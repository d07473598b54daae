"""PixelCNN++ (lecture §2.5; Salimans, Karpathy, Chen and Kingma 2017, "PixelCNN++: Improving the
PixelCNN with Discretized Logistic Mixture Likelihood and Other Modifications").

The chain rule of §2.1 again, log p(x) = sum_i log p(x_i | x_<i), with two changes to PixelCNN:

The likelihood. Instead of a 256-way softmax per channel, each pixel gets a mixture of K
logistics, discretized to the pixel levels (minigen/distributions.py):

    p(x_i | x_<i) = sum_k pi_k prod_c [sigma((x_c + h - m_kc) / s_kc) - sigma((x_c - h - m_kc) / s_kc)]

with the edge levels 0 and 255 taking the whole tails, log s clamped at -7, and for colour the
means of G and B shifted by the channels before them (m_G = mu_G + c_0 x_R, ...). Neighbouring
levels now share probability mass, which a softmax has to learn level by level; 3K numbers per
grey pixel replace 256.

The network. Two streams replace the masked convolutions, built from convolutions whose inputs
are shifted so that they never look down (and the second never looks right in its own row):
    u    "up" stream: 2x3 kernels over the row above and the current row, the input shifted
         down one row at the start: it sees every row above the pixel
    ul   "up-left" stream: 2x2 kernels over the rows above and the pixels to the left, fed the
         u stream at every block: it sees the whole past, with no blind spot
Both pass through three resolutions (H, H/2, H/4): an up pass of gated resnet blocks and strided
shifted convolutions, then a down pass of blocks and transposed convolutions, in which each block
also reads the matching block of the up pass (shortcut connections between resolutions). A gated
resnet block is x + a . sigmoid(b) with (a, b) = conv(dropout(elu(conv(elu(x)) + 1x1(elu(aux))))).
A channel of ones joins the input so the network can tell the zero padding from the image.
(This version applies elu where the paper's concat_elu doubles the channels, to halve the cost.)
The output, 1x1(elu(ul)), gives the mixture's parameters at every pixel.
"""
import minigen as mg
from minigen import nn
from minigen.nn import functional as F

from . import register
from .autoregressive import AutoregressiveModel, PixelHead, check_options, train_defaults_by_data
from .gated_pixelcnn import shift_down


def elu(x):
    """elu(x) = x for x > 0, exp(x) - 1 otherwise, written as relu(x) + exp(min(x, 0)) - 1: the
    same values as nn.functional.elu without its where(), about 4x faster forward and backward
    (ELU runs on every activation of both streams)."""
    return x.relu() + (x.clamp(max=0.0).exp() - 1.0)


def shift_right(x):
    """Each column moved one to the right (a zero column on the left)."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


class DownShiftedConv2d(nn.Module):
    """A kh x kw convolution over the kh - 1 rows above and the current row, centred in width
    (kw odd), so its output never depends on rows below; ``stride`` 2 halves H and W."""

    def __init__(self, in_channels, out_channels, kernel=(2, 3), stride=1):
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride)

    def forward(self, x):
        kh, kw = self.kernel
        return self.conv(F.pad(x, ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)))


class DownRightShiftedConv2d(nn.Module):
    """A kh x kw convolution over the kh - 1 rows above and the kw - 1 columns to the left (and
    the pixel), so its output never depends on rows below or on columns to the right."""

    def __init__(self, in_channels, out_channels, kernel=(2, 2), stride=1):
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride)

    def forward(self, x):
        kh, kw = self.kernel
        return self.conv(F.pad(x, (kw - 1, 0, kh - 1, 0)))


class DownShiftedDeconv2d(nn.Module):
    """Doubles H and W: a 2x3 transposed convolution (stride 2) cropped so that output rows 2i
    and 2i + 1 come from input row i only (never from a lower one)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, (2, 3), stride=2)

    def forward(self, x):
        return self.deconv(x)[:, :, :, 1:]


class DownRightShiftedDeconv2d(nn.Module):
    """Doubles H and W: a 2x2 transposed convolution (stride 2); output (2i + a, 2j + b) comes
    from input (i, j) alone, which saw only pixels before (2i, 2j)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, (2, 2), stride=2)

    def forward(self, x):
        return self.deconv(x)


class GatedResnet(nn.Module):
    """x + a . sigmoid(b), (a, b) = conv(dropout(elu(conv(elu(x)) + 1x1(elu(aux))))); the two
    convolutions are of the stream's shifted kind."""

    def __init__(self, channels, conv, aux_channels=0, dropout=0.0):
        super().__init__()
        self.conv_in = conv(channels, channels)
        self.aux = nn.Conv2d(aux_channels, channels, 1) if aux_channels else None
        self.dropout = nn.Dropout(dropout)
        self.conv_out = conv(channels, 2 * channels)

    def forward(self, x, aux=None):
        c = self.conv_in(elu(x))
        if aux is not None:
            c = c + self.aux(elu(aux))
        a, b = self.conv_out(self.dropout(elu(c))).chunk(2, 1)
        return x + a * b.sigmoid()


def _u_conv(i, o):
    return DownShiftedConv2d(i, o, (2, 3))


def _ul_conv(i, o):
    return DownRightShiftedConv2d(i, o, (2, 2))


class PixelCNNPlusPlus(AutoregressiveModel):
    """PixelCNN++ over images ``shape`` (C, H, W), H and W divisible by 4, with a 'dlml' head."""

    row_multiple = 4            # two halvings of the height

    def __init__(self, shape, head, channels=32, blocks=1, dropout=0.0):
        super().__init__(shape, head)
        c, h, w = shape
        if h % 4 or w % 4:
            raise ValueError(f"PixelCNN++ halves the image twice; it needs H and W divisible by 4, "
                             f"got {h}x{w}")
        f = channels
        self.blocks = blocks
        self.u_init = DownShiftedConv2d(c + 1, f, (2, 3))
        self.ul_init_up = DownShiftedConv2d(c + 1, f, (1, 3))
        self.ul_init_left = DownRightShiftedConv2d(c + 1, f, (2, 1))

        def stream(kind, aux, count):
            conv = _u_conv if kind == "u" else _ul_conv
            return nn.ModuleList([GatedResnet(f, conv, aux, dropout) for _ in range(count)])
        # up pass: `blocks` per resolution; the ul blocks read u
        self.up_u = nn.ModuleList([stream("u", 0, blocks) for _ in range(3)])
        self.up_ul = nn.ModuleList([stream("ul", f, blocks) for _ in range(3)])
        self.down_sample_u = nn.ModuleList([DownShiftedConv2d(f, f, (2, 3), 2) for _ in range(2)])
        self.down_sample_ul = nn.ModuleList([DownRightShiftedConv2d(f, f, (2, 2), 2)
                                             for _ in range(2)])
        # down pass: one more block per resolution below the lowest, each reading its shortcut
        counts = [blocks, blocks + 1, blocks + 1]
        self.down_u = nn.ModuleList([stream("u", f, n) for n in counts])
        self.down_ul = nn.ModuleList([stream("ul", 2 * f, n) for n in counts])
        self.up_sample_u = nn.ModuleList([DownShiftedDeconv2d(f, f) for _ in range(2)])
        self.up_sample_ul = nn.ModuleList([DownRightShiftedDeconv2d(f, f) for _ in range(2)])
        self.output = nn.Conv2d(f, head.out_channels, 1)

    def network(self, x, y=None):
        ones = mg.ones(x.shape[0], 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
        x = mg.cat([x, ones], 1)
        u = shift_down(self.u_init(x))
        ul = shift_down(self.ul_init_up(x)) + shift_right(self.ul_init_left(x))
        us, uls = [u], [ul]
        for level in range(3):
            for block_u, block_ul in zip(self.up_u[level], self.up_ul[level]):
                u = block_u(u)
                ul = block_ul(ul, u)
                us.append(u)
                uls.append(ul)
            if level < 2:
                u, ul = self.down_sample_u[level](u), self.down_sample_ul[level](ul)
                us.append(u)
                uls.append(ul)
        u, ul = us.pop(), uls.pop()
        for level in range(3):
            for block_u, block_ul in zip(self.down_u[level], self.down_ul[level]):
                u = block_u(u, us.pop())
                ul = block_ul(ul, mg.cat([u, uls.pop()], 1))
            if level < 2:
                u, ul = self.up_sample_u[level](u), self.up_sample_ul[level](ul)
        return self.output(elu(ul))


# On digits-binary the test NLL is lowest near 300 steps of 32 images with dropout 0.1 and rises
# fast after it (overfitting 1,497 images with 300k parameters): dropout 0.5 and 400 steps.
DEFAULTS = {
    "digits": dict(channels=32, blocks=1, mixtures=5, dropout=0.5, steps=400, batch_size=32,
                   lr=2e-3),
    "mnist5k": dict(channels=32, blocks=1, mixtures=5, dropout=0.5, steps=1000, batch_size=32,
                    lr=1e-3),
}
OPTIONS = {
    "channels": (None, "channels of both streams (default 32)", (1, 1024)),
    "blocks": (None, "gated resnet blocks per resolution in the up pass (default 1; the down "
                     "pass has one more below full resolution)", (0, 32)),
    "mixtures": (None, "K, logistic components per pixel (default 5)", (1, 100)),
    "dropout": (None, "dropout inside each gated resnet block (default 0.5)"),
}


@register("pixelcnn++", help="PixelCNN++: discretized logistic mixture likelihood, two shifted "
                             "streams over three resolutions with shortcuts, gated resnet blocks "
                             "(§2.5)",
          options=OPTIONS, train=lambda data: train_defaults_by_data(DEFAULTS, data))
def build(dataset, channels, blocks, mixtures, dropout):
    size = train_defaults_by_data(DEFAULTS, dataset, model=True)
    values = {key: size[key] if value is None else value
              for key, value in dict(channels=channels, blocks=blocks, mixtures=mixtures,
                                     dropout=dropout).items()}
    check_options("pixelcnn++", dataset, **values)
    head = PixelHead(dataset.shape[0], dataset.levels, "dlml", num_mixtures=values["mixtures"])
    return PixelCNNPlusPlus(dataset.shape, head, channels=values["channels"],
                            blocks=values["blocks"], dropout=values["dropout"])
