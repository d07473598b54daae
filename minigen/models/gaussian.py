"""The baseline: one full-covariance Gaussian fitted by maximum likelihood (lecture §1).

Every later model is compared with this floor. The density is parametrized by its mean mu and a
lower-triangular factor P of the precision matrix, Sigma^-1 = P P^T, with a positive diagonal
(P = strict_lower(A) + diag(exp(log_diag))). Then, for x in R^D,

    z        = P^T (x - mu)                  (whitened data: z ~ N(0, I) under the model)
    log p(x) = -1/2 ||z||^2 + sum_i log_diag_i - D/2 log(2 pi)

since log det Sigma^-1 = 2 sum_i log P_ii. Training minimizes the negative log-likelihood
-mean_x log p(x) by gradient descent, so only matmul, exp and sums are needed; every value of
the parameters is a valid Gaussian. Sampling inverts the whitening: x = mu + P^-T z, z ~ N(0, I).

On images the Gaussian sees the flattened pixels. Pixels take discrete levels (the corner pixels
of the digits are always -1), where a density could grow without bound, so training adds uniform
noise of one level's width (dequantization, Theis et al. 2016); the evaluator then reports the
bound -log P(k) <= -E_u log p(x + u) - D log(width) in nats per image.
"""
import math

import numpy as np

import minigen as mg
from minigen import backend
from minigen.nn import Parameter

from . import register, train_split
from .base import GenerativeModel, LikelihoodModel, SamplingModel


class Gaussian(LikelihoodModel, SamplingModel, GenerativeModel):
    """N(mu, (P P^T)^-1) over examples of shape ``shape`` (flattened to D numbers).

    ``levels``: when given (images), training adds U(-w/2, w/2) noise with w = 2 / (levels - 1),
    the spacing of the pixel levels in [-1, 1].
    """

    continuous = True

    def __init__(self, shape, levels=None):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.dim = int(np.prod(self.shape))
        self.levels = levels
        d = self.dim
        self.mu = Parameter(np.zeros(d, dtype=np.float32))
        self.lower = Parameter(np.zeros((d, d), dtype=np.float32))   # strict lower part used
        self.log_diag = Parameter(np.zeros(d, dtype=np.float32))
        self.register_buffer("strict_lower_mask",
                             mg.tensor(np.tril(np.ones((d, d), np.float32), -1)), persistent=False)
        self.register_buffer("identity", mg.tensor(np.eye(d, dtype=np.float32)), persistent=False)

    def extra_repr(self):
        return f"shape={self.shape}, levels={self.levels}"

    def precision_factor(self):
        """P = strict_lower(A) + diag(exp(log_diag)), so that Sigma^-1 = P P^T."""
        return self.lower * self.strict_lower_mask + self.identity * self.log_diag.exp()

    def _flat(self, x):
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"Gaussian over examples of shape {self.shape} got a batch of shape "
                             f"{tuple(x.shape)}")
        return x.reshape(x.shape[0], self.dim)

    def log_prob(self, x):
        """log p(x) in nats per example, shape (N,):
        -1/2 ||P^T (x - mu)||^2 + sum_i log P_ii - D/2 log(2 pi)."""
        z = (self._flat(x) - self.mu) @ self.precision_factor()      # row n is (P^T (x_n - mu))^T
        return (-0.5 * (z * z).sum(dim=1) + self.log_diag.sum()
                - 0.5 * self.dim * math.log(2 * math.pi))

    def forward(self, x):
        return self.log_prob(x)

    def dequantize(self, x):
        """x + U(-w/2, w/2) per pixel with w the level spacing (unchanged when levels is None)."""
        if self.levels is None:
            return x
        width = 2.0 / (self.levels - 1)
        return x + (mg.rand(*x.shape, dtype=x.dtype, device=x.device) - 0.5) * width

    def loss(self, x, y=None):
        """Negative log-likelihood per example, averaged over the batch (nats)."""
        return -self.log_prob(self.dequantize(x)).mean()

    def covariance(self):
        """Sigma = (P P^T)^-1 as a backend array (for inspection and tests)."""
        with mg.no_grad():
            p = self.precision_factor().data
        xp = backend.get_array_module(p)
        return xp.linalg.inv(p @ p.T)

    def sample(self, n, y=None):
        """n draws x = mu + P^-T z, z ~ N(0, I), as a backend array of shape (n, *shape)."""
        if y is not None:
            raise ValueError("the Gaussian baseline is unconditional; sample it without labels "
                             "(y=None)")
        with mg.no_grad():
            p = self.precision_factor().data
            z = mg.randn(n, self.dim, dtype=p.dtype, device=self.mu.device).data
        xp = backend.get_array_module(p)
        x = self.mu.data + xp.linalg.solve(p.T, z.T).T     # solves P^T (x - mu) = z
        return x.reshape((n,) + self.shape)


def _train_defaults(data):
    dataset = train_split(data)
    if dataset is not None and not dataset.is_image:     # 2-D toys
        return {"steps": 500, "batch_size": 256, "lr": 0.05}
    return {"steps": 1000, "batch_size": 128, "lr": 0.01}


@register("gaussian",
          help="full-covariance Gaussian fitted by maximum likelihood (§1), the baseline",
          options={"dequantize": (True, "add uniform noise of one pixel level to images while "
                                        "training (ignored on 2-D toys)")},
          train=_train_defaults)
def build(dataset, dequantize):
    levels = dataset.levels if dequantize else None
    return Gaussian(dataset.shape, levels=levels)
