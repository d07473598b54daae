"""PixelRNN (lecture §2.2; van den Oord, Kalchbrenner and Kavukcuoglu 2016): the Row LSTM and
the Diagonal BiLSTM.

Like PixelCNN (§2.3), PixelRNN factors an image by the chain rule of §2.1 in raster order,

    log p(x) = sum_i log p(x_i | x_1, ..., x_{i-1}),

but the context x_<i reaches pixel i through LSTM states that scan the image instead of through
a stack of masked convolutions. Both variants compute an LSTM update at every pixel,

    [i, f, g, o] = sigmoid/tanh(K_is * x + K_ss * h_prev)        (one fused node, ops/lstm.py)
    c = f * c_prev + i * g,     h = o * tanh(c),

where K_is * x, the input-to-state part, depends only on the layer's input and is computed for
the whole image at once, and K_ss * h_prev, the state-to-state part, waits for the previous step.

Row LSTM: one step per row (H steps, each a whole row in parallel). K_is is a 1 x k convolution
of the current row masked to the pixels left of and at the current one (mask B); K_ss is a 1-D
convolution of width k over the previous row's h. The context of a pixel is a triangle above it
(it misses pixels far to the upper right).

Diagonal BiLSTM: the input map is skewed (row r shifted right by r), so that each diagonal of
the image becomes a column; one step per column, K_is a 1 x 1 convolution, K_ss a 2 x 1
convolution over the previous column's h, which holds each pixel's upper and left neighbours.
A second LSTM scans the mirrored image (right to left); its output is shifted down one row
before the two are added, so that it brings the rows above from the right without seeing the
current row. Together they see the whole past: no blind spot (given the input the first
right-to-left stream reads, see PixelRNN).

Both models start with a 7 x 7 convolution under mask A (a pixel never sees itself), add each
LSTM layer's output (through a 1 x 1 convolution) to its input (residual connections), and end
in 1 x 1 convolutions to the per-pixel distribution of minigen/models/autoregressive.py.
"""
from minigen import creation, nn
from minigen.nn import functional as F
from minigen.ops.index import cat, stack
from minigen.ops.lstm import lstm_gates, unbind

from . import register
from .autoregressive import AutoregressiveModel, PixelHead, check_options, train_defaults_by_data


def skew(x):
    """(N, C, H, W) -> (N, C, H, W + H - 1) with row r moved right by r (zeros elsewhere), so
    that the diagonal r + j = d becomes column d.

    Done by padding each row to W + H and reading the flat image back with rows of W + H - 1:
    the element at flat position r (W + H) + j then lands in row r, column r + j.
    """
    n, ch, h, w = x.shape
    flat = F.pad(x, (0, h)).reshape(n, ch, h * (w + h))
    return flat[:, :, :h * (w + h - 1)].reshape(n, ch, h, w + h - 1)


def unskew(x, width):
    """The inverse of ``skew``: (N, C, H, W + H - 1) -> (N, C, H, W) with W = ``width``."""
    n, ch, h, skewed = x.shape
    if skewed != width + h - 1:
        raise ValueError(f"unskew: a skewed map of height {h} and width {width} has "
                         f"{width + h - 1} columns, got shape {tuple(x.shape)}")
    flat = F.pad(x.reshape(n, ch, h * skewed), (0, h))
    return flat.reshape(n, ch, h, width + h)[:, :, :, :width]


def kernel_matrix(weight):
    """A convolution kernel (out, in, kH, kW) with one of kH, kW equal to 1, as the matrix
    (out, k * in) that multiplies the k shifted copies of a line of states stacked along the
    channels (shift t in block t).

    The state-to-state convolutions run once per step on one row or diagonal; written as one
    matrix product they cost a fraction of a convolution's unfolding, forward and backward.
    """
    out, channels = weight.shape[:2]
    k = weight.shape[2] * weight.shape[3]
    return weight.reshape(out, channels, k).permute(0, 2, 1).reshape(out, k * channels)


def scan(x_gates, dim, state_to_state):
    """Run the LSTM along ``dim`` of the input-to-state map ``x_gates`` (N, 4h, ...).

    Step t reads slice t of x_gates (through ``unbind``, so that the backward pass gathers the
    steps' gradients once); ``state_to_state(h_prev)`` maps the previous step's h to its share
    of the gates. The initial h and c are zero. Returns the h of all steps stacked along ``dim``.
    """
    hidden = x_gates.shape[1] // 4
    c = creation.zeros(1, hidden, 1, dtype=x_gates.dtype, device=x_gates.device)  # broadcasts
    h, outputs = None, []
    for gates in unbind(x_gates, dim):
        if h is not None:
            gates = gates + state_to_state(h)
        h, c = lstm_gates(gates, c, dim=1)
        outputs.append(h)
    return stack(outputs, dim)


class RowLSTM(nn.Module):
    """Row LSTM layer: (N, C, H, W) -> h (N, hidden, H, W), one LSTM step per row.

    ``input_to_state``: 1 x k convolution, mask B (left of and at the pixel), to the 4 gates;
    ``state_to_state``: 1 x k convolution of the previous row's h (no bias; the input's has one).
    """

    def __init__(self, in_channels, hidden, kernel_size=3):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"RowLSTM needs an odd kernel_size, got {kernel_size}")
        self.hidden = hidden
        self.input_to_state = nn.MaskedConv2d(in_channels, 4 * hidden, (1, kernel_size), "B")
        self.state_to_state = nn.Conv2d(hidden, 4 * hidden, (1, kernel_size),
                                        padding=(0, kernel_size // 2), bias=False)

    def forward(self, x):
        k = self.state_to_state.kernel_size[1]
        half, width = k // 2, x.shape[3]
        weight = kernel_matrix(self.state_to_state.weight)

        def state_to_state(h):           # h (N, hidden, W) of the row above
            padded = F.pad(h, (half, half))
            return weight @ cat([padded[:, :, t:t + width] for t in range(k)], 1)

        return scan(self.input_to_state(x), 2, state_to_state)


class DiagonalLSTM(nn.Module):
    """One direction of the Diagonal BiLSTM: (N, C, H, W) -> h (N, hidden, H, W), one LSTM
    step per diagonal (a column of the skewed map), left to right.

    ``input_to_state``: 1 x 1 convolution (a single colour channel needs no mask there);
    ``state_to_state``: 2 x 1 convolution over the previous column of the skewed h: for the
    pixel in row r it reads rows r - 1 (the pixel above) and r (the pixel to the left).
    """

    def __init__(self, in_channels, hidden):
        super().__init__()
        self.hidden = hidden
        self.input_to_state = nn.Conv2d(in_channels, 4 * hidden, 1)
        self.state_to_state = nn.Conv2d(hidden, 4 * hidden, (2, 1), bias=False)

    def forward(self, x):
        height = x.shape[2]
        weight = kernel_matrix(self.state_to_state.weight)

        def state_to_state(h):           # h (N, hidden, H): the previous diagonal
            above = F.pad(h, (1, 0))[:, :, :height]          # row r - 1 beside row r
            return weight @ cat([above, h], 1)

        # the 1 x 1 convolution commutes with the skew; applied first, it sees W columns, not
        # W + H - 1
        h = scan(skew(self.input_to_state(x)), 3, state_to_state)
        return unskew(h, x.shape[3])


class DiagonalBiLSTM(nn.Module):
    """Diagonal BiLSTM layer: the left-to-right DiagonalLSTM plus the right-to-left one (the
    same on the mirrored image) shifted down one row, so that no output sees its own row to the
    right. ``above`` is what the right-to-left stream reads (default: the same input x); since
    it only ever reaches the rows below, it may hold each pixel itself (see PixelRNN)."""

    def __init__(self, in_channels, hidden):
        super().__init__()
        self.hidden = hidden
        self.left_to_right = DiagonalLSTM(in_channels, hidden)
        self.right_to_left = DiagonalLSTM(in_channels, hidden)

    def forward(self, x, above=None):
        above = x if above is None else above
        mirrored = self.right_to_left(above[:, :, :, ::-1])[:, :, :, ::-1]
        shifted = F.pad(mirrored, (0, 0, 1, 0))[:, :, :x.shape[2]]
        return self.left_to_right(x) + shifted


class ResidualLSTM(nn.Module):
    """An LSTM layer with a residual connection: x + conv1x1(lstm(x, ...)), channels kept."""

    def __init__(self, lstm, channels):
        super().__init__()
        self.lstm = lstm
        self.out = nn.Conv2d(lstm.hidden, channels, 1)

    def forward(self, x, *extra):
        return x + self.out(self.lstm(x, *extra))


class PixelRNN(AutoregressiveModel):
    """PixelRNN over single-channel images ``shape`` (1, H, W) with a pixel ``head``
    (autoregressive.PixelHead): 7 x 7 mask-A convolution to ``channels`` maps, ``layers``
    residual Row LSTM or Diagonal BiLSTM layers of ``hidden`` units, then relu, 1 x 1, relu,
    1 x 1 to the head's parameters."""

    VARIANTS = ("row", "diagonal")
    # a tenth of the train split held out: its NLL every tenth of the run, and the best
    # checkpoint is what `minigen evaluate` scores (small data overfits, see DEFAULTS)
    validation_fraction = 0.1

    def __init__(self, shape, head, variant="row", channels=32, hidden=16, layers=2,
                 kernel_size=3):
        super().__init__(shape, head)
        if variant not in self.VARIANTS:
            raise ValueError(f"PixelRNN variant must be 'row' or 'diagonal', got {variant!r}")
        if shape[0] != 1:
            raise ValueError(f"this PixelRNN models single-channel images (its 1 x 1 and "
                             f"state-to-state convolutions carry no colour masks), got shape "
                             f"{tuple(shape)}")
        self.variant = variant
        self.input_conv = nn.MaskedConv2d(shape[0], channels, 7, "A")
        if variant == "diagonal":
            # The features of a pixel behind mask A hold only the pixels before it, so no
            # feature in row r - 1 holds that row's last pixel, and in the 7 x 7 window only
            # row r's features at the right edge do: a pixel further left would never see it
            # (a one-pixel blind spot, which tests/test_pixelrnn.py finds). The first
            # right-to-left stream reaches only the rows below its input, so it may read
            # features that include each pixel itself: a second 7 x 7 convolution, mask B.
            self.input_conv_above = nn.MaskedConv2d(shape[0], channels, 7, "B")

        def lstm():
            if variant == "row":
                return RowLSTM(channels, hidden, kernel_size)
            return DiagonalBiLSTM(channels, hidden)

        self.layers = nn.Sequential(*[ResidualLSTM(lstm(), channels) for _ in range(layers)])
        self.hidden = nn.Conv2d(channels, channels, 1)
        self.output = nn.Conv2d(channels, head.out_channels, 1)

    def extra_repr(self):
        return f"variant={self.variant!r}"

    def network(self, x, y=None):
        h = self.input_conv(x)
        layers = list(self.layers)
        if self.variant == "diagonal" and layers:
            h = layers.pop(0)(h, self.input_conv_above(x))
        for layer in layers:
            h = layer(h)
        return self.output(self.hidden(h.relu()).relu())


# Tested defaults (tests/test_pixelrnn.py trains each briefly; the README lists the full runs).
# On the 1,497 binarized training digits the NLL of a held-out part of the train split is
# lowest near 500 steps (Row LSTM: 23.9 nats at 500, 24.4 at 1,000, 27.3 at 2,000 while the
# training NLL keeps falling to 18.9), so the digits default stops there.
DEFAULTS = {
    "digits": dict(channels=32, hidden=16, layers=2, steps=500, batch_size=64, lr=2e-3),
    "mnist5k": dict(channels=32, hidden=16, layers=2, steps=2000, batch_size=32, lr=1e-3),
}
OPTIONS = {
    "channels": (None, "feature maps between the LSTM layers (default 32)", (1, 1024)),
    "hidden": (None, "LSTM units per pixel, per direction (default 16)", (1, 1024)),
    "layers": (None, "residual LSTM layers (default 2)", (0, 32)),
}


def _build(variant):
    def build(dataset, **given):
        size = train_defaults_by_data(DEFAULTS, dataset, model=True)
        options = {k: size[k] if v is None else v for k, v in given.items()}
        name = f"pixelrnn-{'row' if variant == 'row' else 'diag'}"
        check_options(name, dataset, **options)
        if dataset.shape[0] != 1:
            raise ValueError(f"{name} models single-channel images; dataset {dataset.name!r} "
                             f"has {dataset.shape[0]} channels")
        head = PixelHead(dataset.shape[0], dataset.levels)
        return PixelRNN(dataset.shape, head, variant, **options)
    return build


register("pixelrnn-row", help="PixelRNN Row LSTM: row-by-row LSTM with 1x3 input-to-state and "
                              "state-to-state convolutions, residual layers (§2.2)",
         options=OPTIONS, train=lambda data: train_defaults_by_data(DEFAULTS, data))(_build("row"))
register("pixelrnn-diag", help="PixelRNN Diagonal BiLSTM: skewed diagonal LSTMs in two "
                               "directions, no blind spot, residual layers (§2.2)",
         options=OPTIONS, train=lambda data: train_defaults_by_data(DEFAULTS, data))(
    _build("diagonal"))
