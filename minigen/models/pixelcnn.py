"""PixelCNN: the chain rule over pixels with masked convolutions (lecture §2.3; van den Oord,
Kalchbrenner and Kavukcuoglu 2016, "Pixel Recurrent Neural Networks", section 3.5).

    p(x) = prod_i p(x_i | x_<i)                     raster order (§2.1)
    log p(x) = sum_i log p(x_i | f(x)_i)            f causal: f(x)_i sees only x_<i (§2.4)

f is a stack of masked convolutions (minigen.nn.MaskedConv2d): every kernel is multiplied by a
0/1 mask that keeps the rows above the centre and the positions left of it in the centre row.

    first layer   7x7, mask A: the centre is excluded, so f(x)_i never sees x_i itself
    blocks        residual blocks (the paper's Figure 5): h = x + W_3 relu(W_2 relu(W_1 relu(x)))
                  with W_1, W_3 1x1 convolutions (2h -> h -> 2h channels) and W_2 a 3x3 mask-B
                  convolution (mask B includes the centre: position i of a hidden layer already
                  holds only information about x_<i)
    head          relu, 1x1 conv, relu, 1x1 conv to the pixel head's parameters: Bernoulli logits
                  for 2 levels, a softmax over all levels otherwise (17 for digits, 256 for MNIST)

For colour images the masks also order R, G, B within a pixel (``color_groups=3``), so the head
predicts R from the pixels above and to the left, G also from R, and B from both.

The stacked 3x3 masks have a blind spot: a pixel's receptive field is a cone that misses the
pixels up and to the right of it (demos/pixelcnn.py draws it). Gated PixelCNN (gated_pixelcnn.py)
removes it with two stacks. Training is one pass over the whole image; sampling is one pass per
pixel, fed only the 3 + blocks rows that can reach the current row.
"""
from minigen import nn

from . import register
from .autoregressive import AutoregressiveModel, PixelHead, check_options, train_defaults_by_data


class ResidualBlock(nn.Module):
    """x + 1x1(relu(3x3 mask B(relu(1x1(relu(x)))))), halving the channels inside."""

    def __init__(self, channels, color_groups, dropout):
        super().__init__()
        inner = channels // 2
        self.reduce = nn.MaskedConv2d(channels, inner, 1, "B", color_groups=color_groups)
        self.conv = nn.MaskedConv2d(inner, inner, 3, "B", color_groups=color_groups)
        self.expand = nn.MaskedConv2d(inner, channels, 1, "B", color_groups=color_groups)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h = self.reduce(x.relu()).relu()
        h = self.conv(h).relu()
        return x + self.expand(self.dropout(h))


class PixelCNN(AutoregressiveModel):
    """PixelCNN over images ``shape`` (C, H, W) with a ``head`` (autoregressive.PixelHead)."""

    def __init__(self, shape, head, channels=64, blocks=5, dropout=0.0):
        super().__init__(shape, head)
        c = shape[0]
        groups = c if c > 1 else 1
        self.input_conv = nn.MaskedConv2d(c, channels, 7, "A", color_groups=groups)
        self.blocks = nn.Sequential(*[ResidualBlock(channels, groups, dropout)
                                      for _ in range(blocks)])
        self.hidden = nn.MaskedConv2d(channels, channels, 1, "B", color_groups=groups)
        self.output = nn.MaskedConv2d(channels, head.out_channels, 1, "B", color_groups=groups)
        # a pixel's output sees 3 rows up through the 7x7 layer and one more per 3x3 block
        self.receptive_rows = 3 + blocks

    def network(self, x, y=None):
        h = self.blocks(self.input_conv(x))
        return self.output(self.hidden(h.relu()).relu())


# Tested defaults (tests/test_pixelcnn.py trains each briefly; README lists the full runs).
# Small data overfits: on digits-binary the test NLL bottoms out near 500 steps of 64 images
# (about 20 epochs of 1,497) and rises after it while the training loss keeps falling, so the
# step counts stop there and dropout 0.5 slows the rise.
DEFAULTS = {
    "digits": dict(channels=64, blocks=4, dropout=0.5, steps=500, batch_size=64, lr=2e-3),
    "mnist5k": dict(channels=64, blocks=5, dropout=0.5, steps=1500, batch_size=32, lr=1e-3),
}
OPTIONS = {
    "channels": (None, "hidden channels (default 64; divisible by 6 for colour images)", (1, 1024)),
    "blocks": (None, "residual blocks of mask-B 3x3 convolutions (default 4 on 8x8 digits, "
                     "5 on 28x28)", (0, 64)),
    "dropout": (None, "dropout inside each residual block (default 0.5)"),
}


@register("pixelcnn", help="PixelCNN: 7x7 mask-A convolution, residual mask-B blocks, 1x1 head; "
                           "Bernoulli or softmax pixels (§2.3)",
          options=OPTIONS, train=lambda data: train_defaults_by_data(DEFAULTS, data))
def build(dataset, channels, blocks, dropout):
    size = train_defaults_by_data(DEFAULTS, dataset, model=True)
    channels = size["channels"] if channels is None else channels
    blocks = size["blocks"] if blocks is None else blocks
    dropout = size["dropout"] if dropout is None else dropout
    check_options("pixelcnn", dataset, channels=channels, blocks=blocks, dropout=dropout,
                  channel_multiple=2 * (dataset.shape[0] if dataset.shape[0] > 1 else 1))
    head = PixelHead(dataset.shape[0], dataset.levels)
    return PixelCNN(dataset.shape, head, channels=channels, blocks=blocks, dropout=dropout)
