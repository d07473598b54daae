"""Gated PixelCNN (lecture §2.5; van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves and
Kavukcuoglu 2016, "Conditional Image Generation with PixelCNN Decoders").

The same likelihood as PixelCNN (§2.1, §2.3), p(x | y) = prod_i p(x_i | x_<i, y), with a network
that fixes PixelCNN's two weaknesses:

Gates. Every layer multiplies a tanh "content" by a sigmoid "gate", as an LSTM does (§2.5):

    y = tanh(W_f * x + V_f^T h) . sigmoid(W_g * x + V_g^T h)

where h is a class embedding (``conditional=true``): one bias per gate and class, added at every
pixel, so that the same network draws the digit it is asked for.

No blind spot. Stacked masked 3x3 kernels never see the pixels up and to the right of a pixel.
Here two stacks replace them:
    vertical stack     a (k//2 + 1) x k convolution over the rows above and the current row
                       (zero-padded on top), growing a full-width cone of rows upwards
    horizontal stack   a 1 x (k//2 + 1) convolution over the current row, left of and at the
                       pixel (the first layer only strictly left of it: mask A)
    v -> h link        the vertical stack's pre-activation, shifted down one row (so it holds only
                       rows above), enters the horizontal stack through a 1x1 convolution
Together they see every pixel above (within the cone's width) and every pixel to the left in the
row: the whole past inside the receptive field.

Each horizontal layer after the first is residual, h_out = h + 1x1(gated), and also feeds a skip
connection; the skips are summed, then relu, 1x1, relu, 1x1 to the pixel head (Bernoulli logits
for 2 levels, a softmax over the levels otherwise). The first layer uses k = 7, the rest k = 3.

log p(x | y) comes from one forward pass; ``log_prob(x)`` without labels is the marginal
log (1/K) sum_y p(x | y) of a conditional model (autoregressive.py).
"""
from minigen import nn
from minigen.nn import functional as F

from . import register
from .autoregressive import AutoregressiveModel, PixelHead, check_options, train_defaults_by_data


def shift_down(x):
    """Each row moved one row down (a zero row on top): row i then holds row i - 1."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def gate(pre):
    """tanh(first half of the channels) * sigmoid(second half)."""
    content, gate_ = pre.chunk(2, 1)
    return content.tanh() * gate_.sigmoid()


class GatedLayer(nn.Module):
    """One layer of both stacks: (v, h, y embedding) -> (v', h', skip)."""

    def __init__(self, in_channels, channels, kernel, first, num_classes):
        super().__init__()
        self.k, self.first = kernel, first
        half = kernel // 2
        self.vertical = nn.Conv2d(in_channels, 2 * channels, (half + 1, kernel))
        # the first layer must not see the pixel itself: its row kernel stops left of it
        self.horizontal = nn.Conv2d(in_channels, 2 * channels, (1, half + 1 if not first else half))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.skip = nn.Conv2d(channels, channels, 1)
        if num_classes:
            self.cond_v = nn.Embedding(num_classes, 2 * channels)
            self.cond_h = nn.Embedding(num_classes, 2 * channels)
        else:
            self.cond_v = self.cond_h = None

    def forward(self, v, h, y=None):
        half = self.k // 2
        v_pre = self.vertical(F.pad(v, (half, half, half, 0)))        # rows i - half .. i
        if self.first:
            h_in = F.pad(h, (half, 0, 0, 0))[:, :, :, :-1]             # columns j - half .. j - 1
        else:
            h_in = F.pad(h, (half, 0, 0, 0))                           # columns j - half .. j
        h_pre = self.horizontal(h_in) + self.v_to_h(shift_down(v_pre))
        if y is not None:
            n = v_pre.shape[0]
            v_pre = v_pre + self.cond_v(y).reshape(n, -1, 1, 1)
            h_pre = h_pre + self.cond_h(y).reshape(n, -1, 1, 1)
        gated = gate(h_pre)
        h_new = self.h_out(gated) if self.first else h + self.h_out(gated)
        return gate(v_pre), h_new, self.skip(gated)


class GatedPixelCNN(AutoregressiveModel):
    """Gated PixelCNN over grey images ``shape`` (1, H, W) with a ``head``; ``num_classes`` > 0
    and ``conditional`` make it p(x | y)."""

    def __init__(self, shape, head, channels=32, layers=5, num_classes=0, conditional=False,
                 dropout=0.0):
        super().__init__(shape, head, num_classes=num_classes, conditional=conditional)
        classes = num_classes if conditional else 0
        self.layers = nn.ModuleList(
            [GatedLayer(shape[0] if i == 0 else channels, channels, 7 if i == 0 else 3, i == 0,
                        classes) for i in range(layers)])
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Conv2d(channels, channels, 1)
        self.output = nn.Conv2d(channels, head.out_channels, 1)
        # rows above that reach a pixel: k//2 per layer in the vertical stack, plus the shift
        self.receptive_rows = 3 + (layers - 1) + 1

    def network(self, x, y=None):
        v = h = x
        skip = 0.0
        for layer in self.layers:
            v, h, s = layer(v, h, y)
            skip = skip + s
        return self.output(self.dropout(self.hidden(skip.relu()).relu()))


# The test NLL on digits-binary is lowest near 400-500 steps of 32 images and rises after it
# (overfitting 1,497 images), so training stops there; dropout 0.5 slows the rise.
DEFAULTS = {
    "digits": dict(channels=32, layers=5, dropout=0.5, steps=500, batch_size=32, lr=2e-3),
    "mnist5k": dict(channels=32, layers=6, dropout=0.5, steps=1500, batch_size=32, lr=1e-3),
}
OPTIONS = {
    "conditional": (False, "class-conditional p(x | y) through a per-gate bias from a label "
                           "embedding; sample(n, y) draws class y"),
    "channels": (None, "channels of each stack (default 32)", (1, 1024)),
    "layers": (None, "gated layers (default 5 on 8x8 digits, 6 on 28x28)", (1, 64)),
    "dropout": (None, "dropout before the output convolutions (default 0.5)"),
}


@register("gated-pixelcnn", help="Gated PixelCNN: vertical and horizontal stacks with tanh-sigmoid "
                                 "gates, no blind spot, optionally class-conditional (§2.5)",
          options=OPTIONS, train=lambda data: train_defaults_by_data(DEFAULTS, data))
def build(dataset, conditional, channels, layers, dropout):
    size = train_defaults_by_data(DEFAULTS, dataset, model=True)
    channels = size["channels"] if channels is None else channels
    layers = size["layers"] if layers is None else layers
    dropout = size["dropout"] if dropout is None else dropout
    check_options("gated-pixelcnn", dataset, channels=channels, layers=layers, dropout=dropout)
    if layers < 1:
        raise ValueError(f"option layers of gated-pixelcnn must be at least 1, got {layers}")
    if dataset.shape[0] != 1:
        raise ValueError(f"gated-pixelcnn models grey images (1 channel); dataset "
                         f"{dataset.name!r} has {dataset.shape[0]} (use pixelcnn or pixelcnn++ "
                         f"for colour)")
    if conditional and not dataset.num_classes:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so conditional=true cannot be "
                         f"used")
    head = PixelHead(1, dataset.levels)
    return GatedPixelCNN(dataset.shape, head, channels=channels, layers=layers,
                         num_classes=dataset.num_classes, conditional=conditional,
                         dropout=dropout)
