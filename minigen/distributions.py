"""Probability distributions with differentiable log-densities (lecture §1, §2.4, §2.5, §3).

    from minigen.distributions import Normal, Bernoulli, Categorical, kl_divergence
    q = Normal.from_logvar(mu, logvar)          # q(z|x) of a VAE (§3.6)
    z = q.rsample()                             # z = mu + sigma * eps, differentiable in mu, logvar
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum(dim=1)
    nll = -Bernoulli(logits=out).log_prob(x01).sum(dim=(1, 2, 3))

Every ``log_prob``, ``entropy`` and ``kl_divergence`` is built from minigen Tensor ops, so it has
gradients of any order (a gradient penalty or a Hessian-vector product passes through it), and
each is written in a form that stays finite where the textbook formula overflows:

  Normal(loc, scale)       log p(x) = -(x - mu)^2 / (2 s^2) - log s - log(2 pi) / 2
                           (kept in log s, so tiny and huge scales keep their digits)
  Bernoulli(logits=l)      log p(x) = x l - softplus(l),   x in {0, 1}
  Categorical(logits=l)    log p(k) = l_k - logsumexp_j l_j
  DiscretizedLogistic(mu, log_s, levels)
                           the mass of one pixel level under a logistic (Salimans et al. 2017):
                           level k of L has centre c_k = 2k / (L - 1) - 1 and half-width
                           h = 1 / (L - 1); with a = (c_k - h - mu) / s, b = (c_k + h - mu) / s,
                           P(k) = sigmoid(b) - sigmoid(a) for inner levels, while the edge levels
                           take the tails: P(0) = sigmoid(b), P(L - 1) = 1 - sigmoid(a)
  DiscretizedLogisticMixture(logits, means, log_scales, coeffs, levels)
                           PixelCNN++'s pixel model: sum_k pi_k prod_c DL(x_c | mu_kc, s_kc), with
                           the colour channels coupled through the means (below)

The difference of two sigmoids loses every digit when both are close to 0 or 1 (a mean far from
the level, or a tiny scale), which Salimans et al. patch with a branch that falls back to the
density at the centre. Here the exact identity

    sigmoid(b) - sigmoid(a) = sigmoid(b) sigmoid(-a) (1 - exp(-(b - a)))

gives, in logs, log P(k) = -softplus(-b) - softplus(a) + log(1 - exp(-d)) with d = b - a = 2h / s:
three terms that are each finite and accurate for any mean and scale, so no branch is needed
(log(1 - exp(-d)) is taken from a series in d when d is small, i.e. when the scale is huge).
The log-scale is clamped below at -7 as in PixelCNN++, since a narrower logistic on one level
gives a likelihood that nothing else on the image can balance.

Samples are drawn from minigen's seeded generator (mg.rand, mg.randn), so a sampler is
reproducible with mg.manual_seed; ``sample()`` returns a Tensor outside the graph and
``Normal.rsample()`` the reparametrized sample that gradients flow through.
"""
import math

import numpy as np

from . import backend
from .creation import rand, randn
from .data.dataset import to_levels
from .nn import functional as F
from .ops.elementwise import where
from .ops.index import stack
from .tensor import Tensor

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "DiscretizedLogistic",
           "DiscretizedLogisticMixture", "kl_divergence", "LOG_SCALE_MIN"]

LOG_SCALE_MIN = -7.0            # PixelCNN++'s clamp of the logistic log-scale
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def _tensor(value, like=None):
    """``value`` as a Tensor (numbers take the dtype and device of ``like``, else float32)."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        xp = backend.get_array_module(like.data)
        return Tensor(xp.asarray(value, dtype=like.dtype))
    array = np.asarray(value)
    return Tensor(array if array.dtype.kind == "f" else array.astype(np.float32))


def _uniform(shape, like):
    """U(0, 1) in float64 (a float32 draw can round up to exactly 1), on ``like``'s device."""
    u = rand(*shape, dtype=np.float64, device=like.device).data
    return u


class Distribution:
    """What every distribution here offers: ``log_prob(value)``, ``sample(shape=())``, and
    ``entropy()`` where it is closed-form. ``batch_shape`` is the shape of one log_prob."""

    batch_shape = ()

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no log_prob")

    def sample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no sample")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    def __repr__(self):
        return f"{type(self).__name__}(batch_shape={tuple(self.batch_shape)})"


class Normal(Distribution):
    """N(loc, scale^2) elementwise. ``Normal.from_logvar(mu, logvar)`` keeps log sigma exactly
    (a VAE's encoder predicts logvar; exp then log would round it)."""

    def __init__(self, loc, scale, log_scale=None):
        self.loc = _tensor(loc, scale if isinstance(scale, Tensor) else None)
        self.scale = _tensor(scale, self.loc)
        if not isinstance(scale, Tensor) and np.any(np.asarray(scale) <= 0):
            raise ValueError(f"Normal needs scale > 0, got {scale!r}")
        self.log_scale = self.scale.log() if log_scale is None else log_scale
        self.batch_shape = np.broadcast_shapes(tuple(self.loc.shape), tuple(self.scale.shape))

    @classmethod
    def from_logvar(cls, mu, logvar):
        """N(mu, exp(logvar)): scale exp(logvar / 2), log-scale logvar / 2 without rounding."""
        log_scale = _tensor(logvar, _tensor(mu)) * 0.5
        return cls(mu, log_scale.exp(), log_scale=log_scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale * self.scale

    def log_prob(self, value):
        z = (_tensor(value, self.loc) - self.loc) / self.scale
        return -0.5 * z * z - self.log_scale - _HALF_LOG_TWO_PI

    def rsample(self, sample_shape=()):
        """loc + scale * eps with eps ~ N(0, I): differentiable in loc and scale (§3.6)."""
        shape = tuple(sample_shape) + tuple(self.batch_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * eps

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def entropy(self):
        """1/2 + log(2 pi)/2 + log sigma per element."""
        return self.log_scale + (0.5 + _HALF_LOG_TWO_PI) + self.loc * 0.0


class Bernoulli(Distribution):
    """Bernoulli over {0, 1} with P(1) = sigmoid(logits), computed from the logits throughout."""

    def __init__(self, logits):
        self.logits = _tensor(logits)
        self.batch_shape = tuple(self.logits.shape)

    @property
    def probs(self):
        return self.logits.sigmoid()

    @property
    def mean(self):
        return self.probs

    def log_prob(self, value):
        """x l - softplus(l): -softplus(-l) for x = 1 and -softplus(l) for x = 0, finite at
        logits of +-100 and beyond."""
        x = _tensor(value, self.logits)
        return x * self.logits - F.softplus(self.logits)

    def sample(self, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape
        p = self.probs.data
        return Tensor((_uniform(shape, self.logits) < p).astype(p.dtype))

    def entropy(self):
        """softplus(l) - l sigmoid(l), the entropy in nats."""
        return F.softplus(self.logits) - self.logits * self.logits.sigmoid()


class Categorical(Distribution):
    """A categorical over K classes with probabilities softmax(logits) along ``dim``.

    ``dim`` defaults to the last axis, as in torch; a network that outputs (N, K, H, W) passes
    ``dim=1`` and gets log_prob of integer values (N, H, W) without a transpose.
    """

    def __init__(self, logits, dim=-1):
        self.logits = _tensor(logits)
        if self.logits.ndim == 0:
            raise ValueError("Categorical needs logits with a class dimension, got a 0-d tensor")
        self.dim = dim % self.logits.ndim
        self.num_classes = int(self.logits.shape[self.dim])
        self.log_probs = self.logits.log_softmax(self.dim)
        self.batch_shape = tuple(s for i, s in enumerate(self.logits.shape) if i != self.dim)

    @property
    def probs(self):
        return self.log_probs.exp()

    def _one_hot(self, value):
        """The indicator of ``value`` (batch-shaped integers) laid out like the logits."""
        k = value.data if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.logits.data)
        k = xp.asarray(k)
        if k.dtype.kind not in "iu":
            raise TypeError(f"Categorical.log_prob needs integer class indices, got dtype "
                            f"{k.dtype}")
        if k.size and (int(k.min()) < 0 or int(k.max()) >= self.num_classes):
            raise ValueError(f"Categorical.log_prob: class indices must lie in 0.."
                             f"{self.num_classes - 1}, got values in {int(k.min())}.."
                             f"{int(k.max())}")
        classes = xp.arange(self.num_classes).reshape(
            (-1,) + (1,) * (self.logits.ndim - 1 - self.dim))
        return Tensor((xp.expand_dims(k, self.dim) == classes).astype(self.logits.dtype))

    def log_prob(self, value):
        """log softmax(logits)[value] for integer ``value`` of the batch shape."""
        return (self.log_probs * self._one_hot(value)).sum(self.dim)

    def sample(self, sample_shape=()):
        """Integer classes by inversion: the first k whose cumulative probability exceeds u."""
        xp = backend.get_array_module(self.logits.data)
        p = xp.moveaxis(self.probs.data.astype(np.float64), self.dim, -1)
        cdf = xp.cumsum(p, axis=-1)
        u = _uniform(tuple(sample_shape) + self.batch_shape, self.logits) * cdf[..., -1]
        k = (cdf < u[..., None]).sum(axis=-1)
        return Tensor(xp.minimum(k, self.num_classes - 1).astype(np.int64))

    def entropy(self):
        return -(self.probs * self.log_probs).sum(self.dim)


def _log1mexp(d, log_d):
    """log(1 - exp(-d)) for d > 0, given log d too: a series in d below 0.1 (where 1 - exp(-d)
    cancels), the direct formula above; each branch only ever sees its own d, so neither gives
    an infinite gradient that ``where`` would turn into NaN."""
    small = d.data < 0.1
    ds = where(small, d, 0.0)
    dl = where(small, 0.1, d)
    series = log_d + ds * (-0.5 + ds * (1.0 / 24 - ds * ds / 2880.0))  # log d + log((1-e^-d)/d)
    direct = (1.0 - (-dl).exp()).log()
    return where(small, series, direct)


def _check_levels(levels):
    if not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")


def _level_values(k, levels, dtype):
    """The values 2k / (levels - 1) - 1 of integer levels k, computed in ``dtype`` (from_levels
    gives float32, whose rounding float64 likelihoods would inherit)."""
    return (k.astype(np.float64) * (2.0 / (levels - 1)) - 1.0).astype(dtype, copy=False)


def _log_level_mass(k, mean, log_scale, levels):
    """log P(level k) under logistic(mean, exp(log_scale)) discretized to ``levels`` levels on
    [-1, 1], edge levels taking the tails (see the module docstring); k an integer array."""
    h = 1.0 / (levels - 1)
    centre = Tensor(_level_values(k, levels, mean.dtype))
    inv_s = (-log_scale).exp()
    a = (centre - h - mean) * inv_s
    b = (centre + h - mean) * inv_s
    log_cdf_b = -F.softplus(-b)                     # log sigmoid(b): mass below the upper edge
    log_sf_a = -F.softplus(a)                       # log(1 - sigmoid(a)): mass above the lower
    log_width = _log1mexp(inv_s * (2 * h), math.log(2 * h) - log_scale)
    inner = log_cdf_b + log_sf_a + log_width
    xp = backend.get_array_module(centre.data)
    kb = xp.broadcast_to(k, inner.shape)
    return where(kb == 0, log_cdf_b, where(kb == levels - 1, log_sf_a, inner))


def _logistic_levels(mean, log_scale, levels, like):
    """Integer levels drawn from the discretized logistic: a continuous draw mean + s logit(u),
    rounded to the nearest level and clipped, which gives each level exactly its mass."""
    xp = backend.get_array_module(mean)
    u = _uniform(mean.shape, like)
    u = xp.clip(u, 1e-12, 1 - 1e-12)
    y = mean + xp.exp(log_scale) * (xp.log(u) - xp.log1p(-u))
    return to_levels(xp.clip(y, -2.0, 2.0), levels)


class DiscretizedLogistic(Distribution):
    """A logistic(mean, exp(log_scale)) discretized to ``levels`` levels of [-1, 1], elementwise;
    values are images in the loader's scale (2k / (levels - 1) - 1), rounded to their level."""

    def __init__(self, mean, log_scale, levels=256):
        _check_levels(levels)
        self.mean = _tensor(mean)
        self.log_scale = _tensor(log_scale, self.mean).clamp(min=LOG_SCALE_MIN)
        self.levels = int(levels)
        self.batch_shape = np.broadcast_shapes(tuple(self.mean.shape), tuple(self.log_scale.shape))

    def log_prob(self, value):
        k = to_levels(value.data if isinstance(value, Tensor) else value, self.levels)
        return _log_level_mass(k, self.mean, self.log_scale, self.levels)

    def sample(self, sample_shape=()):
        shape = tuple(sample_shape) + tuple(self.batch_shape)
        xp = backend.get_array_module(self.mean.data)
        mean = xp.broadcast_to(self.mean.data, shape)
        log_scale = xp.broadcast_to(self.log_scale.data, shape)
        k = _logistic_levels(mean, log_scale, self.levels, self.mean)
        return Tensor(_level_values(k, self.levels, self.mean.dtype))


class DiscretizedLogisticMixture(Distribution):
    """PixelCNN++'s likelihood of one pixel with C channels (Salimans et al. 2017, lecture §2.5):

        p(x) = sum_k pi_k prod_c DL(x_c | m_kc, s_kc),    pi = softmax(logits)

    Shapes (pixel dims ``...`` are usually (H, W)): logits (N, K, ...), means and log_scales
    (N, C, K, ...), coeffs (N, C(C-1)/2, K, ...) or None; values x are (N, C, ...) in [-1, 1],
    and log_prob(x) is (N, ...), the joint log-probability of all channels of each pixel.
    For colour (C = 3) the means depend on the channels before them within the pixel:
        m_R = mu_R,  m_G = mu_G + c_0 x_R,  m_B = mu_B + c_1 x_R + c_2 x_G
    (so the mixture models the correlation of R, G and B without a network pass per channel).
    ``from_output(out, channels, K, levels)`` splits a network's (N, n_params, ...) output.
    """

    def __init__(self, logits, means, log_scales, coeffs=None, levels=256):
        _check_levels(levels)
        self.logits = _tensor(logits)
        self.means = _tensor(means, self.logits)
        self.log_scales = _tensor(log_scales, self.logits).clamp(min=LOG_SCALE_MIN)
        n, k = self.logits.shape[:2]
        if self.means.ndim != self.logits.ndim + 1 or self.means.shape[2] != k \
                or self.log_scales.shape != self.means.shape:
            raise ValueError(f"DiscretizedLogisticMixture: means {tuple(self.means.shape)} and "
                             f"log_scales {tuple(self.log_scales.shape)} must both be (N, C, K, "
                             f"...) for logits {tuple(self.logits.shape)} (N, K, ...)")
        self.channels = int(self.means.shape[1])
        pairs = self.channels * (self.channels - 1) // 2
        if pairs and (coeffs is None or tuple(coeffs.shape) != (n, pairs, k)
                      + tuple(self.means.shape[3:])):
            raise ValueError(f"DiscretizedLogisticMixture with {self.channels} channels needs "
                             f"coeffs of shape {(n, pairs, k) + tuple(self.means.shape[3:])}, "
                             f"got {None if coeffs is None else tuple(coeffs.shape)}")
        self.coeffs = coeffs if pairs else None
        self.levels, self.num_mixtures = int(levels), int(k)
        self.batch_shape = (n,) + tuple(self.logits.shape[2:])

    @staticmethod
    def num_params(channels, num_mixtures):
        """Output channels a network needs: K logits, and per channel K means and K log-scales,
        plus K coefficients per channel pair."""
        return num_mixtures * (1 + 2 * channels + channels * (channels - 1) // 2)

    @classmethod
    def from_output(cls, out, channels, num_mixtures, levels=256):
        """Split a network output (N, num_params, ...) into logits, means, log_scales and coeffs
        (tanh, as in PixelCNN++, so that each coupling lies in (-1, 1))."""
        k, c = num_mixtures, channels
        if out.ndim < 2 or out.shape[1] != cls.num_params(c, k):
            raise ValueError(f"a mixture of {k} logistics over {c} channels needs "
                             f"{cls.num_params(c, k)} output channels, got shape "
                             f"{tuple(out.shape)}")
        rest = tuple(out.shape[2:])
        n = out.shape[0]
        logits = out[:, :k]
        means = out[:, k:k + c * k].reshape((n, c, k) + rest)
        log_scales = out[:, k + c * k:k + 2 * c * k].reshape((n, c, k) + rest)
        pairs = c * (c - 1) // 2
        coeffs = out[:, k + 2 * c * k:].reshape((n, pairs, k) + rest).tanh() if pairs else None
        return cls(logits, means, log_scales, coeffs, levels)

    def _coupled_means(self, x):
        """m_kc(x): the means shifted by the coefficients times the earlier channels' values."""
        if self.coeffs is None:
            return self.means
        xs = [x[:, c:c + 1] for c in range(self.channels)]            # each (N, 1, ...)
        means, pair = [self.means[:, 0]], 0
        for c in range(1, self.channels):
            m = self.means[:, c]
            for earlier in range(c):
                m = m + self.coeffs[:, pair] * xs[earlier]
                pair += 1
            means.append(m)
        return stack(means, 1)

    def log_prob(self, value):
        raw = value.data if isinstance(value, Tensor) else value
        k = to_levels(raw, self.levels)                              # (N, C, ...)
        x = Tensor(_level_values(k, self.levels, self.means.dtype))
        xp = backend.get_array_module(k)
        k = xp.expand_dims(k, 2)                                     # (N, C, 1, ...)
        per_channel = _log_level_mass(k, self._coupled_means(x), self.log_scales, self.levels)
        return (self.logits.log_softmax(1) + per_channel.sum(1)).logsumexp(1)

    def sample(self, sample_shape=()):
        """One draw per pixel: a component from pi, then the channels in order (each one's value
        feeds the later channels' means); images in [-1, 1], shape (N, C, ...)."""
        if tuple(sample_shape):
            raise ValueError("DiscretizedLogisticMixture.sample draws one image per batch row; "
                             f"sample_shape must be (), got {tuple(sample_shape)}")
        xp = backend.get_array_module(self.means.data)
        component = Categorical(self.logits, dim=1).sample().data       # (N, ...)
        pick = xp.expand_dims(component, 1) == xp.arange(self.num_mixtures).reshape(
            (-1,) + (1,) * (component.ndim - 1))                       # (N, K, ...)

        def chosen(a):                                                 # (N, C', K, ...) -> (N, C', ...)
            return (a * xp.expand_dims(pick, 1)).sum(axis=2)
        means, log_scales = chosen(self.means.data), chosen(self.log_scales.data)
        coeffs = chosen(self.coeffs.data) if self.coeffs is not None else None
        x, pair = [], 0
        for c in range(self.channels):
            m = means[:, c]
            for earlier in range(c):
                m = m + coeffs[:, pair] * x[earlier]
                pair += 1
            k = _logistic_levels(m, log_scales[:, c], self.levels, self.means)
            x.append(_level_values(k, self.levels, self.means.dtype))
        return Tensor(xp.stack(x, axis=1))


def kl_divergence(p, q):
    """KL(p || q) elementwise, in nats, for two distributions of the same family:

    Normal:      log(s_q / s_p) + (s_p^2 + (mu_p - mu_q)^2) / (2 s_q^2) - 1/2
    Bernoulli:   sum over x of p(x) (log p(x) - log q(x)), from the logits
    Categorical: sum_k p_k (log p_k - log q_k) along the class dim
    """
    if isinstance(p, Normal) and isinstance(q, Normal):
        ratio = (p.log_scale - q.log_scale) * 2.0
        z = (p.loc - q.loc) / q.scale
        return 0.5 * (ratio.exp() + z * z - 1.0) - (p.log_scale - q.log_scale)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        prob = p.probs
        # log p(1) - log q(1) = softplus(-lq) - softplus(-lp), and the same for x = 0
        one = F.softplus(-q.logits) - F.softplus(-p.logits)
        zero = F.softplus(q.logits) - F.softplus(p.logits)
        return prob * one + (1.0 - prob) * zero
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        if p.logits.shape != q.logits.shape or p.dim != q.dim:
            raise ValueError(f"kl_divergence of Categoricals needs logits of one shape and class "
                             f"dim, got {tuple(p.logits.shape)} (dim {p.dim}) and "
                             f"{tuple(q.logits.shape)} (dim {q.dim})")
        return (p.probs * (p.log_probs - q.log_probs)).sum(p.dim)
    raise NotImplementedError(f"kl_divergence is defined for Normal, Bernoulli and Categorical "
                              f"pairs of one family, got {type(p).__name__} and "
                              f"{type(q).__name__}")
