"""What every autoregressive image model shares (lecture §2.1, §2.4): the pixel heads, the exact
likelihood in one pass, and the raster-order sampler. PixelCNN, Gated PixelCNN, PixelCNN++ and
the PixelRNNs are subclasses that only build their causal network.

The chain rule over the pixels in raster order (rows top to bottom, each row left to right, and
within a pixel the channels R, G, B) is exact for any image distribution (§2.1):

    p(x) = prod_{i=1}^{D} p(x_i | x_1, ..., x_{i-1})

A causal network f_theta maps the whole image x to the parameters of every conditional at once,
with f(x)_i depending on x_<i only (masked convolutions, §2.3; recurrences, §2.2). Then

    log p(x) = sum_i log p(x_i | f(x)_i)          one forward pass: training is parallel (§2.4)

while sampling needs D passes: x_i ~ p(. | f(x)_i), each pass seeing the pixels drawn so far.

The pieces, for a model author:

  PixelHead(channels, levels, kind, num_mixtures)   what the network's output channels mean
      'bernoulli'    levels = 2: one logit per channel, P(x = 1) = sigmoid(logit)
      'categorical'  a softmax over all levels per channel (17 for digits, 256 for MNIST);
                     the output is (N, C * levels, H, W), channel c's logits in block c
      'dlml'         PixelCNN++'s discretized logistic mixture over the whole pixel (§2.5)
    head.out_channels, head.log_prob_pixels(out, x) -> (N, H, W), head.log_prob(out, x) -> (N,)

  AutoregressiveModel(shape, head, num_classes=0)   the base class (LikelihoodModel,
      SamplingModel, GenerativeModel). A subclass defines ``network(x, y)`` -> the head's
      parameters (N, head.out_channels, H, W), causal in raster order, and may set
        receptive_rows  how many rows above a pixel its output can see (None: all), so the
                        sampler feeds the network only those rows (exact, and cheaper)
        row_multiple    the network needs heights divisible by this (2 per down-sampling)
      and gets forward(x, y) (the parameters), log_prob(x, y=None), loss(x, y),
      sample(n, y=None) and sample_with_log_probs(n, y=None).

  A conditional model (``conditional=True``, labels y (N,)) models p(x | y). Called without
  labels, log_prob(x) is the marginal log p(x) = log sum_y p(y) p(x | y) with p(y) uniform over
  the classes, so its NLL reads on the same scale as an unconditional model's.

The sampler draws all n images together, one step per pixel (per pixel and channel for the
per-channel heads), and records log p(x_i | x_<i) of every draw: their sum is log p(x) of the
sample, which the tests check against one forward pass.
"""
import math

import numpy as np

import minigen as mg
from minigen import backend
from minigen.data import from_levels, to_levels
from minigen.distributions import Bernoulli, Categorical, DiscretizedLogisticMixture

from .base import GenerativeModel, LikelihoodModel, SamplingModel

HEAD_KINDS = ("bernoulli", "categorical", "dlml")


class PixelHead:
    """The per-pixel output distribution of an autoregressive image model (see module doc)."""

    def __init__(self, channels, levels, kind=None, num_mixtures=5):
        if kind is None:
            kind = "bernoulli" if levels == 2 else "categorical"
        if kind not in HEAD_KINDS:
            raise ValueError(f"unknown pixel head {kind!r}; expected one of {HEAD_KINDS}")
        if not isinstance(levels, (int, np.integer)) or levels < 2:
            raise ValueError(f"a pixel head needs integer levels >= 2, got {levels!r}")
        if kind == "bernoulli" and levels != 2:
            raise ValueError(f"a Bernoulli head models 2 levels, but the data has {levels}; use "
                             f"'categorical' or 'dlml'")
        if kind == "dlml" and (not isinstance(num_mixtures, int) or num_mixtures < 1):
            raise ValueError(f"num_mixtures must be a positive integer, got {num_mixtures!r}")
        self.kind, self.channels, self.levels = kind, int(channels), int(levels)
        self.num_mixtures = num_mixtures if kind == "dlml" else None
        # the per-channel heads draw R, then G given R, ... (one step each); the mixture couples
        # the channels of a pixel itself and draws them in one step
        self.per_channel = kind != "dlml"

    @property
    def out_channels(self):
        if self.kind == "bernoulli":
            return self.channels
        if self.kind == "categorical":
            return self.channels * self.levels
        return DiscretizedLogisticMixture.num_params(self.channels, self.num_mixtures)

    def __repr__(self):
        extra = f", num_mixtures={self.num_mixtures}" if self.kind == "dlml" else ""
        return f"PixelHead({self.kind!r}, channels={self.channels}, levels={self.levels}{extra})"

    def distribution(self, out):
        """The distribution of every pixel given the network output ``out`` (N, P, H, W)."""
        if out.ndim != 4 or out.shape[1] != self.out_channels:
            raise ValueError(f"{self!r} needs network output (N, {self.out_channels}, H, W), got "
                             f"shape {tuple(out.shape)}")
        if self.kind == "bernoulli":
            return Bernoulli(out)
        if self.kind == "categorical":
            n, _, h, w = out.shape
            return Categorical(out.reshape(n, self.channels, self.levels, h, w), dim=2)
        return DiscretizedLogisticMixture.from_output(out, self.channels, self.num_mixtures,
                                                      self.levels)

    def value(self, x):
        """What the distribution's log_prob takes for images ``x`` in the loader's scale: 0/1
        floats (Bernoulli), integer levels (categorical) or the images themselves (mixture)."""
        raw = x.data if isinstance(x, mg.Tensor) else x
        if self.kind == "bernoulli":
            return mg.Tensor(to_levels(raw, 2).astype(raw.dtype))
        if self.kind == "categorical":
            return to_levels(raw, self.levels)
        return raw

    def log_prob_pixels(self, out, x):
        """log p(x_i | x_<i) of every pixel, all its channels together: (N, H, W)."""
        lp = self.distribution(out).log_prob(self.value(x))
        return lp.sum(1) if self.per_channel else lp

    def log_prob(self, out, x):
        """log p(x) per image (N,): the sum of the pixel conditionals."""
        return self.log_prob_pixels(out, x).sum((1, 2))

    def draw(self, out, channel):
        """Draw from the pixel distributions ``out`` (n, P, 1, 1): the values (n, C', 1, 1) in the
        loader's scale, C' = 1 for channel ``channel`` of a per-channel head, all C for the
        mixture, and their log-probabilities (n,)."""
        dist = self.distribution(out)
        draw = dist.sample().data
        if self.kind == "dlml":
            return draw, dist.log_prob(draw).data.reshape(-1)
        lp = dist.log_prob(mg.Tensor(draw) if self.kind == "bernoulli" else draw)[:, channel]
        mine = draw[:, channel:channel + 1]
        value = 2.0 * mine - 1.0 if self.kind == "bernoulli" else from_levels(mine, self.levels)
        return value, lp.data.reshape(-1)


class AutoregressiveModel(LikelihoodModel, SamplingModel, GenerativeModel):
    """The base of the causal image models: see the module docstring for what a subclass adds."""

    receptive_rows = None
    row_multiple = 1

    def __init__(self, shape, head, num_classes=0, conditional=False):
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} models images (C, H, W), got examples of "
                             f"shape {shape}")
        if head.channels != shape[0]:
            raise ValueError(f"the pixel head has {head.channels} channels but the images have "
                             f"{shape[0]}")
        if conditional and num_classes < 1:
            raise ValueError(f"{type(self).__name__}: conditional=True needs labelled data "
                             f"(num_classes >= 1), got num_classes={num_classes}")
        self.shape, self.head = shape, head
        self.num_classes, self.conditional = int(num_classes), bool(conditional)

    # ---------------------------------------------------------------- the network
    def network(self, x, y=None):
        raise NotImplementedError(f"{type(self).__name__} must define network(x, y) -> "
                                  f"(N, {self.head.out_channels}, H, W)")

    def _check_input(self, x, y):
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"{type(self).__name__} models images of shape {self.shape}, got a "
                             f"batch of shape {tuple(x.shape)}")
        if self.conditional:
            if y is None:
                raise ValueError(f"the conditional {type(self).__name__} needs labels y (N,)")
            labels = y.data if isinstance(y, mg.Tensor) else np.asarray(y)
            if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
                raise ValueError(f"labels y must be integers of shape ({x.shape[0]},), got "
                                 f"{labels.dtype} of shape {labels.shape}")
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got "
                                 f"{int(labels.min())}..{int(labels.max())}")
            return mg.Tensor(backend.to_device(labels.astype(np.int64), x.device))
        return None

    def forward(self, x, y=None):
        """The parameters of every pixel's conditional, (N, head.out_channels, H, W)."""
        return self.network(x, self._check_input(x, y))

    # ---------------------------------------------------------------- likelihood (§2.4)
    def log_prob(self, x, y=None):
        """log p(x) in nats per image (N,), exact, from one forward pass (log p(x | y) with
        labels; a conditional model without labels gives the marginal over uniform labels)."""
        if self.conditional and y is None:
            return self._marginal_log_prob(x)
        return self.head.log_prob(self(x, y), x)

    def _marginal_log_prob(self, x):
        n = x.shape[0]
        per_class = [self.log_prob(x, mg.tensor(np.full(n, c, dtype=np.int64), device=x.device))
                     for c in range(self.num_classes)]
        return mg.stack(per_class, 1).logsumexp(1) - math.log(self.num_classes)

    def loss(self, x, y=None):
        """Negative log-likelihood in nats per image, averaged over the batch."""
        return -self.log_prob(x, y if self.conditional else None).mean()

    # ---------------------------------------------------------------- sampling (§2.4)
    def sample(self, n, y=None):
        """n images (n, C, H, W) in the loader's scale, drawn pixel by pixel in raster order."""
        return self.sample_with_log_probs(n, y)[0]

    def _rows(self, i, height):
        """The rows [lo, hi) the network needs to give exact outputs for row i."""
        lo = 0 if self.receptive_rows is None else max(0, i - self.receptive_rows)
        m = self.row_multiple
        hi = min(height, lo + -(-(i + 1 - lo) // m) * m)
        return lo, hi

    def sample_with_log_probs(self, n, y=None):
        """(images (n, C, H, W), log p(x_i | x_<i) of every step (n, steps)) as backend arrays.

        One network pass per step on all n images at once, fed only the rows that can reach the
        current one (``receptive_rows``). Steps are pixels in raster order, and within a pixel
        the channels in order for the per-channel heads.
        """
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the number of samples must be a positive integer, got {n!r}")
        c, h, w = self.shape
        device = next(iter(self.parameters())).device
        dtype = next(iter(self.parameters())).dtype
        xp = backend.xp_for(device)
        x = xp.zeros((n, c, h, w), dtype=dtype)
        labels = None
        if self.conditional:
            if y is None:
                raise ValueError(f"the conditional {type(self).__name__} samples given labels y "
                                 f"(n,)")
            labels = self._check_input(mg.Tensor(x), y)
        elif y is not None:
            raise ValueError(f"{type(self).__name__} is unconditional; sample it without labels "
                             f"(or train it with --set conditional=true)")
        steps = []
        channels = range(c) if self.head.per_channel else [None]
        with mg.no_grad():
            for i in range(h):
                lo, hi = self._rows(i, h)
                for j in range(w):
                    for ch in channels:
                        out = self.network(mg.Tensor(x[:, :, lo:hi]), labels)
                        value, lp = self.head.draw(out[:, :, i - lo:i - lo + 1, j:j + 1],
                                                   0 if ch is None else ch)
                        target = slice(None) if ch is None else slice(ch, ch + 1)
                        x[:, target, i:i + 1, j:j + 1] = value
                        steps.append(lp)
        return x, xp.stack(steps, axis=1)


# -------------------------------------------------------------------- defaults and options
def size_class(data):
    """'digits' for 8x8-sized images, 'mnist5k' for larger ones: the key of a model's tested
    defaults. ``data`` is a Dataset or a dataset name (its train split is read for the shape)."""
    if isinstance(data, str):
        from minigen import data as datasets
        data = datasets.load(data, "train")
    return "digits" if data.is_image and max(data.shape[1:]) <= 16 else "mnist5k"


def train_defaults_by_data(defaults, data, model=False):
    """The entry of ``defaults`` ({'digits': {...}, 'mnist5k': {...}}) for ``data``: its training
    keys (steps, batch_size, lr), or with ``model=True`` the rest (the network's size)."""
    from . import TRAIN_KEYS
    entry = defaults[size_class(data)]
    return {k: v for k, v in entry.items() if (k in TRAIN_KEYS) != model}


def check_options(model, dataset, channel_multiple=1, **values):
    """ValueError with a sentence when ``dataset`` is not discrete images or an option of
    ``model`` is out of range: counts (channels, blocks, ...) positive integers (blocks may be 0),
    dropout in [0, 1), channels divisible by ``channel_multiple``."""
    if not dataset.is_image or dataset.levels is None:
        raise ValueError(f"{model} models images with discrete pixel levels; dataset "
                         f"{dataset.name!r} has examples of shape {dataset.shape}")
    for key, value in values.items():
        if key == "dropout":
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"option dropout of {model} must be in [0, 1), got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"option {key} of {model} must be an integer, got {value!r}")
        smallest = 0 if key in ("blocks", "layers") else 1
        if value < smallest:
            raise ValueError(f"option {key} of {model} must be at least {smallest}, got {value}")
        if key == "channels" and value % channel_multiple:
            raise ValueError(f"option channels of {model} must be divisible by "
                             f"{channel_multiple} for images with {dataset.shape[0]} channel(s), "
                             f"got {value}")


# -------------------------------------------------------------------- inspection
def receptive_field(model, x, row, col, channels=None, y=None):
    """|d out[:, channels, row, col] / d x| summed over the batch: a (C, H, W) NumPy array that is
    non-zero exactly where the output at pixel (row, col) depends on the input (the Jacobian's
    row for that pixel). ``channels`` selects output channels (default all). A causal model has
    zeros at (row, col) and every later pixel; a blind spot shows as zeros among earlier ones."""
    was_training = model.training
    model.eval()
    try:
        xin = mg.tensor(x.data if isinstance(x, mg.Tensor) else x, requires_grad=True)
        out = model(xin, y)
        picked = out[:, :, row, col] if channels is None else out[:, channels, row, col]
        # a random cotangent, so that no dependency cancels by accident in a sum
        weights = np.random.default_rng(row * 1000 + col).uniform(0.5, 1.5, picked.shape)
        (g,) = mg.autograd.grad((picked * mg.tensor(weights.astype(picked.dtype))).sum(), [xin])
    finally:
        model.train(was_training)
    return np.abs(backend.to_numpy(g.data)).sum(0)
