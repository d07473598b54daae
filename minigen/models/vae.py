"""The variational autoencoder (lecture §3; Kingma and Welling 2014), with the IWAE bound
(Burda, Grosse and Salakhutdinov 2016).

A latent z ~ p(z) = N(0, I) generates x through the decoder p_theta(x|z) (§3.1-3.2); the encoder
q_phi(z|x) = N(mu(x), diag(exp(logvar(x)))) approximates the intractable posterior (§3.4).
Training maximizes the evidence lower bound of §3.6,

    log p(x) >= ELBO(x) = E_{z ~ q(z|x)} log p_theta(x|z) - KL(q_phi(z|x) || p(z)),

with one reparametrized sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (§3.7), so that the
gradient reaches mu and logvar through z, and the KL to N(0, I) in closed form,

    KL = 1/2 sum_j (exp(logvar_j) + mu_j^2 - 1 - logvar_j).

``beta`` weights the KL in the training loss (beta = 1 is the ELBO; reported bounds always use
beta = 1). Sampling (§3.8) decodes z ~ N(0, I) and draws x ~ p_theta(x|z).

The ELBO is a bound; the importance-weighted bound with k samples z_i ~ q(z|x),

    IWAE_k(x) = log (1/k) sum_i p_theta(x|z_i) p(z_i) / q(z_i|x),

is tighter: ELBO = IWAE_1 <= IWAE_k <= IWAE_{k+1} <= log p(x) in expectation, and IWAE_k tends
to log p(x) as k grows, which makes it the VAE's likelihood estimate (nll_nats = -IWAE_1000).

The decoder's p(x|z) fits the data: Bernoulli(logits) on binarized images (pixels -1/1 stand for
0/1), a discretized logistic on grey levels (the mass of each level, as PixelCNN++), or a
Gaussian density; the Gaussian is trained and scored on dequantized images x + u, u uniform
over one level, plus D log(level width), which bounds the discrete log P(x) from below, so all
three report nats of the same discrete likelihood.
"""
import math

import numpy as np

import minigen as mg
from minigen import backend, nn
from minigen.distributions import Bernoulli, DiscretizedLogistic, Normal, kl_divergence

from . import register
from .autoregressive import train_defaults_by_data
from .base import GenerativeModel, LatentVariableModel, SamplingModel

LIKELIHOODS = ("bernoulli", "logistic", "gaussian")
ARCHS = ("mlp", "conv")


def mlp_encoder(shape, hidden, latent_dim):
    dim = int(np.prod(shape))
    return nn.Sequential(nn.Flatten(), nn.Linear(dim, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))


def mlp_decoder(shape, hidden, latent_dim, params):
    dim = int(np.prod(shape))
    return nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, params * dim))


def standard_normal(like):
    """p(z) = N(0, I) as a Normal of 0-d parameters in ``like``'s dtype and device (broadcasts)."""
    zero = mg.zeros((), dtype=like.dtype, device=like.device)
    return Normal(zero, zero + 1.0)


class Unflatten(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def conv_encoder(shape, hidden, latent_dim):
    """Two stride-2 4x4 convolutions (H/4 x W/4 maps of 2 * width channels), then a linear map."""
    c, h, w = shape
    width = max(hidden // 8, 8)
    return nn.Sequential(nn.Conv2d(c, width, 4, 2, 1), nn.ReLU(),
                         nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * width * (h // 4) * (w // 4), 2 * latent_dim))


def conv_decoder(shape, hidden, latent_dim, params):
    """The encoder's mirror: a linear map to H/4 x W/4 maps, two stride-2 transposed convs."""
    c, h, w = shape
    width = max(hidden // 8, 8)
    return nn.Sequential(nn.Linear(latent_dim, 2 * width * (h // 4) * (w // 4)), nn.ReLU(),
                         Unflatten((2 * width, h // 4, w // 4)),
                         nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(width, params * c, 4, 2, 1))


class VAE(LatentVariableModel, SamplingModel, GenerativeModel):
    """q_phi(z|x) = N(mu, exp(logvar)) by ``encoder``; p_theta(x|z) by ``decoder``; p(z) = N(0, I).

    shape       (C, H, W) of one image; levels its number of pixel levels (2 for binarized)
    likelihood  'bernoulli', 'logistic' or 'gaussian' (see the module docstring)
    """

    # a tenth of the train split held out: -ELBO there every tenth of the run, and the best
    # checkpoint is what `minigen evaluate` scores (small data overfits, see DEFAULTS)
    validation_fraction = 0.1

    def __init__(self, shape, levels, latent_dim=16, hidden=256, arch="mlp",
                 likelihood="bernoulli", beta=1.0):
        super().__init__()
        self.shape, self.levels = tuple(int(s) for s in shape), int(levels)
        self.latent_dim, self.arch, self.likelihood, self.beta = latent_dim, arch, likelihood, beta
        params = 1 if likelihood == "bernoulli" else 2     # logits; or mean and log-scale
        if arch == "mlp":
            self.encoder = mlp_encoder(self.shape, hidden, latent_dim)
            self.decoder = mlp_decoder(self.shape, hidden, latent_dim, params)
        else:
            self.encoder = conv_encoder(self.shape, hidden, latent_dim)
            self.decoder = conv_decoder(self.shape, hidden, latent_dim, params)
        self.logged = {}    # the last training step's ELBO terms, for the log

    def extra_repr(self):
        return (f"shape={self.shape}, latent_dim={self.latent_dim}, arch={self.arch!r}, "
                f"likelihood={self.likelihood!r}, beta={self.beta}")

    def _check(self, x):
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"this VAE models images of shape {self.shape}, got a batch of "
                             f"shape {tuple(x.shape)}")

    # ----------------------------------------------------------------- the two networks
    def encode(self, x):
        """q_phi(z|x): (mu, logvar), each (N, latent_dim)."""
        self._check(x)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z):
        """The parameters of p_theta(x|z), (N, P * C, H, W): P = 1 logits (Bernoulli), or P = 2
        means then log-scales (logistic, Gaussian)."""
        out = self.decoder(z)
        return out.reshape(out.shape[0], -1, *self.shape[1:])

    def distribution(self, out):
        """p_theta(x|z) as a distribution over images, from the decoder's output."""
        if self.likelihood == "bernoulli":
            return Bernoulli(logits=out)
        mean, log_scale = out.chunk(2, dim=1)
        if self.likelihood == "logistic":
            return DiscretizedLogistic(mean, log_scale, self.levels)
        return Normal(mean, log_scale.exp(), log_scale=log_scale)

    def _target(self, x):
        """What p_theta(x|z) is a distribution over: 0/1 for Bernoulli, x + uniform noise of one
        level for the Gaussian (with the log-width that makes it a bound on log P(x)), x."""
        if self.likelihood == "bernoulli":
            return (x + 1.0) * 0.5, 0.0
        if self.likelihood == "gaussian":
            width = 2.0 / (self.levels - 1)
            noise = (mg.rand(*x.shape, dtype=x.dtype, device=x.device) - 0.5) * width
            return x + noise, float(np.prod(self.shape)) * math.log(width)
        return x, 0.0

    def log_likelihood(self, x, z):
        """log p_theta(x|z) per example (N,): the decoder's log-mass of x, summed over pixels."""
        target, offset = self._target(x)
        return self.distribution(self.decode(z)).log_prob(target).sum(dim=(1, 2, 3)) + offset

    # ----------------------------------------------------------------- bounds
    def elbo_terms(self, x):
        """(E_q log p(x|z) with one reparametrized z, KL(q(z|x) || N(0, I))), each (N,)."""
        mu, logvar = self.encode(x)
        q = Normal.from_logvar(mu, logvar)
        z = q.rsample()                                   # mu + exp(logvar / 2) * eps
        kl = kl_divergence(q, standard_normal(mu)).sum(dim=1)
        return self.log_likelihood(x, z), kl

    def elbo(self, x):
        """ELBO(x) in nats per example (N,), a lower bound on log p(x)."""
        reconstruction, kl = self.elbo_terms(x)
        return reconstruction - kl

    def iwae(self, x, k, chunk=None):
        """IWAE_k(x) = logsumexp_i log w_i - log k, log w_i = log p(x|z_i) + log p(z_i) -
        log q(z_i|x), z_i ~ q(z|x); (N,) nats. The k samples are taken ``chunk`` at a time
        (default: about 50,000 decoder rows per pass), so k = 1000 fits in memory."""
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"iwae needs a number of samples k >= 1, got {k!r}")
        mu, logvar = self.encode(x)
        q = Normal.from_logvar(mu, logvar)
        prior = standard_normal(mu)
        n = x.shape[0]
        chunk = chunk or max(1, min(k, 50_000 // max(n, 1)))
        log_w = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            z = q.rsample((m,))                                       # (m, N, latent)
            log_qz = q.log_prob(z).sum(dim=2)
            log_pz = prior.log_prob(z).sum(dim=2)
            xs = x.unsqueeze(0).expand(m, *x.shape).reshape(m * n, *self.shape)
            log_px = self.log_likelihood(xs, z.reshape(m * n, self.latent_dim)).reshape(m, n)
            log_w.append(log_px + log_pz - log_qz)
        return mg.logsumexp(mg.cat(log_w, dim=0), dim=0) - math.log(k)

    # ----------------------------------------------------------------- training and sampling
    def loss(self, x, y=None):
        """-(E_q log p(x|z) - beta KL), averaged over the batch; the terms are kept for the log."""
        reconstruction, kl = self.elbo_terms(x)
        self.logged = {"reconstruction": -reconstruction.mean().item(), "kl": kl.mean().item()}
        return -(reconstruction - self.beta * kl).mean()

    def training_step(self, batch, optimizers, step):
        """The default step; the log also gets -E log p(x|z) and the KL in nats (their sum
        is -ELBO when beta = 1)."""
        losses = super().training_step(batch, optimizers, step)
        return {**losses, **self.logged}

    def sample(self, n, y=None, mean=False):
        """n images from the prior (§3.8): z ~ N(0, I), x ~ p_theta(x|z); with ``mean=True``
        the decoder's mean instead of a draw (the smooth image the VAE has in mind)."""
        if y is not None:
            raise ValueError("this VAE is unconditional; sample it without labels (y=None)")
        z = mg.randn(n, self.latent_dim, device=self.decoder_device())
        return self.images_from(self.decode(z), mean)

    def images_from(self, out, mean=False):
        """A backend array of images in the data's scale from the decoder's output: its mean,
        or a draw from p_theta(x|z)."""
        p = self.distribution(out)
        if self.likelihood == "bernoulli":
            x01 = p.probs if mean else p.sample()
            return (x01 * 2.0 - 1.0).data
        if mean:
            return p.mean.clamp(-1.0, 1.0).data
        draw = p.sample()
        return draw.clamp(-1.0, 1.0).data

    def figures(self, run_dir, dataset):
        """The run's pictures of a VAE beyond reconstructions.png (which the trainer draws from
        ``reconstruct``): interpolation.png (decoder means between the codes of two test
        images, one pair per row) and latent.png (the codes mu of the test images by label)."""
        import os
        from minigen import data as datasets
        test = datasets.load(dataset.name, "test")
        device = self.decoder_device()
        x = mg.tensor(test.x[:500], device=device)
        with mg.no_grad():
            path = backend.to_numpy(self.interpolate(x[:6], x[6:12], steps=10))
            mu = backend.to_numpy(self.encode(x)[0].data)
        _save_grid(path.reshape(-1, *self.shape), 10, os.path.join(run_dir, FIGURES[0]),
                   "decoder means from mu(x_a) to mu(x_b)")
        _save_latent(mu, None if test.y is None else test.y[:500],
                     os.path.join(run_dir, FIGURES[1]))
        return list(FIGURES)

    def decoder_device(self):
        return next(iter(self.decoder.parameters())).device

    def reconstruct(self, x, mean=True):
        """x_hat: x encoded to mu (no noise) and decoded (the decoder's mean by default)."""
        mu, _ = self.encode(x)
        return self.images_from(self.decode(mu), mean)

    def interpolate(self, x_a, x_b, steps=8):
        """Decoder means along the straight line between the codes mu(x_a) and mu(x_b):
        (len(x_a), steps, C, H, W)."""
        mu_a, _ = self.encode(x_a)
        mu_b, _ = self.encode(x_b)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
        rows = [self.images_from(self.decode(mu_a * (1.0 - s) + mu_b * float(s)), True)
                for s in t]
        xp = backend.get_array_module(rows[0])
        return xp.stack(rows, axis=1)


FIGURES = ("interpolation.png", "latent.png")   # reconstructions.png: the trainer draws it


def _save_grid(images, ncols, path, title):
    """A grid of images in [-1, 1] (ncols per row) with a title, written to ``path``."""
    from minigen.train.plots import _figure, image_grid   # drawing is the run's business
    grid = image_grid(images, ncols)
    figure = _figure(0.4 + grid.shape[1] * 6.0 / max(grid.shape), 0.6 + grid.shape[0] * 6.0 /
                     max(grid.shape))
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    figure.tight_layout()
    figure.savefig(path)


def _save_latent(mu, labels, path):
    """mu of the test images coloured by label: the plane itself for a 2-D latent, else the
    first two principal components of mu."""
    from minigen.train.plots import _figure
    what = ("mu_1", "mu_2")
    if mu.shape[1] > 2:
        centred = mu - mu.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        mu, what = centred @ vt[:2].T, ("principal component 1 of mu", "principal component 2")
    figure = _figure(5.8, 5.0)
    ax = figure.add_subplot(1, 1, 1)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=6)
    ax.set_xlabel(what[0])
    ax.set_ylabel(what[1])
    ax.set_title("codes mu(x) of the test images, by label")
    if labels is not None:
        figure.colorbar(points, ax=ax, label="label")
    figure.tight_layout()
    figure.savefig(path)


# Tested defaults by image size. With 1,497 (digits) or 4,500 (mnist5k) training images the
# test ELBO peaks and then falls while the training ELBO keeps rising (measured on a held-out
# part of the train split: digits peaks near 2,000 steps, mnist5k near 3,000); the step counts
# stop there.
DEFAULTS = {
    "digits": dict(latent_dim=8, hidden=128, steps=2000, batch_size=128, lr=1e-3),
    "mnist5k": dict(latent_dim=16, hidden=256, steps=3000, batch_size=128, lr=1e-3),
}


@register("vae", help="variational autoencoder: ELBO with reparametrization, IWAE bound (§3)",
          options={"latent_dim": (None, "size of z (default 8 on 8x8 images, 16 on 28x28)",
                                   (1, 4096)),
                   "hidden": (None, "width of the MLP's hidden layers, conv: 8 x its channels "
                                    "(default 128 on 8x8 images, 256 on 28x28)", (1, 8192)),
                   "arch": ("mlp", "encoder and decoder: mlp or conv"),
                   "likelihood": ("auto", "p(x|z): auto (bernoulli on binarized data, logistic "
                                          "otherwise), bernoulli, logistic or gaussian"),
                   "beta": (1.0, "weight of the KL term in the training loss")},
          train=lambda data: train_defaults_by_data(DEFAULTS, data))
def build(dataset, latent_dim, hidden, arch, likelihood, beta):
    if dataset.levels is None or len(dataset.shape) != 3:
        raise ValueError(f"the VAE models images; dataset {dataset.name!r} has examples of shape "
                         f"{dataset.shape}")
    size = train_defaults_by_data(DEFAULTS, dataset, model=True)
    latent_dim = size["latent_dim"] if latent_dim is None else latent_dim
    hidden = size["hidden"] if hidden is None else hidden
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    if likelihood == "auto":
        likelihood = "bernoulli" if dataset.levels == 2 else "logistic"
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be auto or one of {', '.join(LIKELIHOODS)}, got "
                         f"{likelihood!r}")
    if likelihood == "bernoulli" and dataset.levels != 2:
        raise ValueError(f"a Bernoulli decoder needs binarized data (2 levels); dataset "
                         f"{dataset.name!r} has {dataset.levels} (use digits-binary or "
                         f"mnist5k-binary, or likelihood=logistic)")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
               for v in (latent_dim, hidden)):
        raise ValueError(f"latent_dim and hidden must be positive integers, got {latent_dim!r} "
                         f"and {hidden!r}")
    if not beta >= 0:
        raise ValueError(f"beta must be a number >= 0, got {beta}")
    _, h, w = dataset.shape
    if arch == "conv" and (h % 4 or w % 4):
        raise ValueError(f"arch=conv halves the image twice and needs H and W divisible by 4, "
                         f"got {h}x{w}")
    return VAE(dataset.shape, dataset.levels, latent_dim, hidden, arch, likelihood, beta)
