"""Generative adversarial networks (lecture §4) and conditional GANs (§5.1).

A generator G maps noise z ~ N(0, I) to x_gen = G(z); a discriminator D(x) = sigmoid(l(x)) tells
real from generated. They play the minimax game of §4.4,

    min_G max_D V(D, G) = E_(x ~ p_data) log D(x) + E_(z ~ p_z) log(1 - D(G(z))),

by alternating updates (§4.5): k steps of gradient ascent on V for D with G fixed (here one
step per training step, on a fresh batch), then one step for G with D fixed. G's objective is
either the minimax one, min E log(1 - D(G(z))), or the non-saturating max E log D(G(z)) of
§4.6, whose gradient does not vanish when D rejects G's samples (D(G(z)) ~ 0, early in
training): ``--set g_loss=minimax|nonsaturating``. Both are computed from the logits l, so neither
saturates numerically (adversarial.py). For a fixed G the best D is
D*(x) = p_data(x) / (p_data(x) + p_g(x)) (§4.8), which the tests check.

Conditional GAN (§5.1, ``cgan``): G(z, y) and D(x, y) both see the label,

    min_G max_D E_((x, y) ~ p_data) log D(x, y) + E_(z ~ p_z, y ~ p_y) log(1 - D(G(z, y), y)),

with y for G drawn from the labels' distribution p_y of the training set. G gets a learned
embedding e(y) concatenated to z; D is a projection discriminator (Miyato and Koyama 2018),
l(x, y) = w^T h(x) + b + e_D(y)^T h(x) on its features h(x), which makes D check that x fits y.

Networks: MLPs for the 2-D toys; DCGAN-style convnets (Radford et al. 2016) for 1xHxW images,
H = W divisible by 4: G upsamples from (H/4)x(H/4) with two stride-2 transposed convolutions and
batch norm, tanh output; D downsamples with two stride-2 convolutions and leaky ReLUs.

The WGANs (wgan.py) are this model with other losses: they override ``d_objective``,
``g_objective``, ``after_d_step`` and the optimizers.
"""
import numpy as np

import minigen as mg
from minigen import backend, nn, optim

from . import register
from .adversarial import (G_LOSSES, buffers_kept, discriminator_loss, generator_loss,
                          step_player)
from .base import AdversarialModel, GenerativeModel, SamplingModel

TOYS = ("ring8", "grid25", "swissroll", "moons")
LR_SCHEDULES = ("constant", "linear")


# ---------------------------------------------------------------------------- the two players

class Generator(nn.Module):
    """x = body([z, e(y)]): noise z (N, latent_dim), with labels y the embedding e(y) appended."""

    def __init__(self, body, latent_dim, num_classes=0, embed_dim=0):
        super().__init__()
        self.body, self.latent_dim, self.num_classes = body, int(latent_dim), int(num_classes)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None

    def forward(self, z, y=None):
        if self.embed is not None:
            if y is None:
                raise ValueError("this generator is conditional: call it as G(z, y) with labels")
            z = mg.cat([z, self.embed(y)], dim=1)
        return self.body(z)


class Discriminator(nn.Module):
    """One raw score per example, l(x, y) = w^T h(x) + b (+ e(y)^T h(x) with labels): a logit for a
    GAN, the critic's value f(x) for a WGAN. ``features`` maps x to h(x) of size feature_dim."""

    def __init__(self, features, feature_dim, num_classes=0):
        super().__init__()
        self.features, self.num_classes = features, int(num_classes)
        self.head = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if self.embed is not None:       # start the projection at the head's scale, not N(0, 1)
            bound = 1.0 / np.sqrt(feature_dim)
            nn.init.uniform_(self.embed.weight, -bound, bound)

    def forward(self, x, y=None):
        h = self.features(x)
        score = self.head(h).reshape(h.shape[0])
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is conditional: call it as D(x, y) with "
                                 "labels")
            score = score + (self.embed(y) * h).sum(dim=1)
        return score


def _norm(kind, shape):
    """The discriminator's normalization after a hidden layer of ``shape`` (C, H, W) or (F,)."""
    if kind == "none":
        return nn.Identity()
    if kind == "layer":
        return nn.LayerNorm(shape)
    if kind == "batch":
        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
    raise ValueError(f"d_norm must be none, layer or batch, got {kind!r}")


def mlp_players(dim, latent_dim, hidden, depth, num_classes=0, d_norm="none"):
    """(G, D) for points in R^dim: ReLU MLPs with ``depth`` hidden layers of ``hidden`` units
    (leaky ReLU in D, so its gradient reaches G from everywhere)."""
    embed_dim = latent_dim if num_classes else 0
    g_layers, width = [], latent_dim + embed_dim
    for _ in range(depth):
        g_layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    generator = Generator(nn.Sequential(*g_layers, nn.Linear(hidden, dim)), latent_dim,
                          num_classes, embed_dim)
    d_layers, width = [], dim
    for _ in range(depth):
        d_layers += [nn.Linear(width, hidden), _norm(d_norm, (hidden,)), nn.LeakyReLU(0.2)]
        width = hidden
    return generator, Discriminator(nn.Sequential(*d_layers), hidden, num_classes)


def dcgan_players(shape, latent_dim, channels, num_classes=0, d_norm="none"):
    """(G, D) for images of ``shape`` (C, H, H), H divisible by 4 (DCGAN, Radford et al. 2016)."""
    c, h, w = shape
    if h != w or h % 4:
        raise ValueError(f"the DCGAN networks need square images with a side divisible by 4, "
                         f"got {h}x{w}")
    s, ch = h // 4, int(channels)
    embed_dim = 16 if num_classes else 0
    body = nn.Sequential(
        nn.Linear(latent_dim + embed_dim, 2 * ch * s * s), nn.Unflatten(1, (2 * ch, s, s)),
        nn.BatchNorm2d(2 * ch), nn.ReLU(),
        nn.ConvTranspose2d(2 * ch, ch, 4, stride=2, padding=1), nn.BatchNorm2d(ch), nn.ReLU(),
        nn.ConvTranspose2d(ch, c, 4, stride=2, padding=1), nn.Tanh())
    features = nn.Sequential(
        nn.Conv2d(c, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1), _norm(d_norm, (2 * ch, s, s)),
        nn.LeakyReLU(0.2), nn.Flatten())
    return (Generator(body, latent_dim, num_classes, embed_dim),
            Discriminator(features, 2 * ch * s * s, num_classes))


# ---------------------------------------------------------------------------- the model

class GAN(AdversarialModel, SamplingModel, GenerativeModel):
    """A generator and a discriminator trained by alternating steps (lecture §4.5).

    latent_dim     size of z ~ N(0, I)
    label_probs    p_y, the training labels' frequencies (conditional models), or None
    g_loss         'nonsaturating' (max E log D(G(z)), §4.6) or 'minimax' (min E log(1 - D(G(z))))
    d_steps        k: discriminator steps per generator step; each training step is one D step
                   on its batch, and G steps after every k-th
    betas          Adam's (beta1, beta2) for both players
    lr_schedule    'constant', or 'linear' decay of both learning rates to 0 over the run
    ema_decay      None, or the decay of the generator's weight average used for sampling
    """

    def __init__(self, generator, discriminator, shape, latent_dim, label_probs=None,
                 g_loss="nonsaturating", d_steps=1, betas=(0.5, 0.999), lr_schedule="constant",
                 ema_decay=None):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.shape, self.latent_dim = tuple(int(s) for s in shape), int(latent_dim)
        self.conditional = label_probs is not None
        if self.conditional:
            cdf = np.cumsum(np.asarray(label_probs, np.float64))
            self.register_buffer("label_cdf", mg.tensor(cdf / cdf[-1]), persistent=False)
            self.num_classes = len(cdf)
        else:
            self.num_classes = 0
        self.g_loss, self.d_steps, self.betas = g_loss, int(d_steps), tuple(betas)
        self.lr_schedule, self.ema_decay = lr_schedule, ema_decay

    # -------------------------------------------------------------- training

    def configure_optimizers(self, lr):
        """One Adam per player: each step updates one player with the other's weights fixed."""
        return {"discriminator": optim.Adam(self.discriminator.parameters(), lr=lr,
                                            betas=self.betas),
                "generator": optim.Adam(self.generator.parameters(), lr=lr, betas=self.betas)}

    def configure_schedulers(self, optimizers, steps):
        if self.lr_schedule == "constant" or not steps:
            return {}
        return {name: optim.lr_scheduler.LambdaLR(opt, lambda t: max(0.0, 1.0 - t / steps))
                for name, opt in optimizers.items()}

    def noise(self, n, device=None):
        return mg.randn(n, self.latent_dim, device=device)

    def draw_labels(self, n, device=None):
        """n labels from p_y (the training labels' distribution, §5.1); None if unconditional."""
        if not self.conditional:
            return None
        # u on the device of the buffer label_cdf, so that searchsorted sees one device
        u = mg.rand(n, dtype=np.float64, device=self.label_cdf.device).data
        xp = backend.get_array_module(u)
        y = xp.minimum(xp.searchsorted(self.label_cdf.data, u, side="right"), self.num_classes - 1)
        return mg.tensor(y.astype(np.int64), device=device)

    def d_objective(self, x, fake, y=None):
        """(D's loss, numbers for the log): -V(D, G) on a real and a generated batch, both with
        labels y when conditional."""
        real_logits = self.discriminator(x, y)
        fake_logits = self.discriminator(fake, y)
        loss = discriminator_loss(real_logits, fake_logits)
        return loss, {"d_loss": loss.item(),
                      "d_of_g_z": float(fake_logits.detach().sigmoid().mean().item())}

    def g_objective(self, fake_scores):
        return generator_loss(fake_scores, self.g_loss)

    def after_d_step(self):
        """Called after every discriminator step (WGAN clips the critic's weights here)."""

    def discriminator_step(self, x, y, optimizer):
        """One step of D (G fixed) on the real batch (x, y); returns the numbers for the log.

        D's fakes carry the batch's labels (a draw from p_y), so that a penalty interpolates
        within a class; no graph is recorded through G, and G's batch-norm statistics are kept."""
        with mg.no_grad(), buffers_kept(self.generator):
            fake = self.generator(self.noise(x.shape[0], x.device), y)
        _, logs = step_player(self.discriminator, optimizer, lambda: self.d_objective(x, fake, y))
        self.after_d_step()
        return logs

    def generator_step(self, n, optimizer, device=None):
        """One step of G (D fixed) on n fresh z and y ~ p_y (§5.1); returns G's loss."""
        def loss():
            y = self.draw_labels(n, device)
            fake = self.generator(self.noise(n, device), y)
            return self.g_objective(self.discriminator(fake, y))
        return step_player(self.generator, optimizer, loss).item()

    def training_step(self, batch, optimizers, step):
        """One D step on ``batch``; after every k-th, one G step on as many fresh z (§4.5)."""
        x = batch[0]
        y = batch[1] if self.conditional and len(batch) > 1 else None
        if self.conditional and y is None:
            raise ValueError("a conditional GAN trains on labelled batches (x, y); the dataset "
                             "has no labels")
        logs = self.discriminator_step(x, y, optimizers["discriminator"])
        if (step + 1) % self.d_steps == 0:
            logs["g_loss"] = self.generator_step(x.shape[0], optimizers["generator"], x.device)
        return logs

    # -------------------------------------------------------------- sampling

    def check_labels(self, n, y):
        """y as an int64 Tensor (n,) of valid labels (drawn from p_y when None), or None."""
        if not self.conditional:
            if y is not None:
                raise ValueError(f"this {type(self).__name__} is unconditional; sample it without "
                                 f"labels (y=None) or train it with conditional=true")
            return None
        if y is None:
            return self.draw_labels(n)
        y = y if isinstance(y, mg.Tensor) else mg.tensor(np.asarray(y, dtype=np.int64))
        if y.shape != (n,) or y.dtype.kind not in "iu":
            raise ValueError(f"labels for {n} samples must be {n} integers, got {y.dtype} of "
                             f"shape {y.shape}")
        if n and (int(y.data.min()) < 0 or int(y.data.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got "
                             f"{int(y.data.min())}..{int(y.data.max())}")
        return y.long()

    def sample(self, n, y=None):
        """n samples G(z, y), z ~ N(0, I), as a backend array (n, *shape) in the data's scale;
        y: labels (n,) for a conditional model (None: drawn from p_y)."""
        with mg.no_grad():
            y = self.check_labels(n, y)
            return self.generator(self.noise(n), y).data


# ---------------------------------------------------------------------------- the registry

def check_options(dataset, opts):
    """Raise ValueError with a sentence for an option value that cannot work; shared by the GAN
    family's factories; fills in the dataset-dependent defaults. Returns the labels'
    distribution p_y (conditional) or None."""
    if opts.get("latent_dim", 0) is None:
        opts["latent_dim"] = 64 if dataset.is_image else 2
    for key in ("latent_dim", "hidden", "depth", "channels", "d_steps"):
        if key in opts and not (isinstance(opts[key], (int, np.integer)) and opts[key] >= 1):
            raise ValueError(f"{key} must be a positive integer, got {opts[key]!r}")
    if "g_loss" in opts and opts["g_loss"] not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {', '.join(G_LOSSES)}, got {opts['g_loss']!r}")
    betas = opts.get("betas", (0.5, 0.999))
    betas = tuple(betas) if isinstance(betas, (tuple, list)) else (betas,)
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1) (Adam's beta1, beta2), got "
                         f"{tuple(betas)}")
    if opts.get("lr_schedule", "constant") not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got "
                         f"{opts['lr_schedule']!r}")
    if not 0.0 <= opts.get("ema_decay", 0.0) < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1) (0 turns the average off), got "
                         f"{opts['ema_decay']}")
    if not opts.get("conditional"):
        return None
    if not dataset.num_classes or dataset.y is None:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so a conditional model "
                         f"(conditional=true) cannot be trained on it")
    counts = np.bincount(dataset.y, minlength=dataset.num_classes).astype(np.float64)
    return counts / counts.sum()


def build_players(dataset, opts, num_classes, d_norm):
    """(G, D) for ``dataset``: MLPs for 2-D points, DCGAN convnets for images."""
    if dataset.is_image:
        return dcgan_players(dataset.shape, opts["latent_dim"], opts["channels"], num_classes,
                             d_norm)
    return mlp_players(dataset.shape[0], opts["latent_dim"], opts["hidden"], opts["depth"],
                       num_classes, d_norm)


def train_defaults(toys, digits, mnist):
    """A ``train=`` function of the registry from the defaults for the toys, digits and mnist5k."""
    def defaults(data):
        if data in TOYS:
            return toys
        if data == "digits":
            return digits
        return mnist if (data == "mnist5k" or data.startswith("mnist")) else digits
    return defaults


GAN_OPTIONS = {
    "g_loss": ("nonsaturating", "generator objective: nonsaturating (max log D(G(z)), §4.6) or "
                                "minimax (min log(1 - D(G(z))), §4.4)"),
    "d_steps": (1, "k, discriminator steps per generator step (§4.5)", (1, 100)),
    "latent_dim": (None, "size of the noise z (none: 2 on 2-D toys, 64 on images)", (1, 4096)),
    "hidden": (256, "width of the MLPs (2-D toys)", (1, 8192)),
    "depth": (3, "hidden layers of each MLP (2-D toys)", (1, 32)),
    "channels": (64, "width of the DCGAN convnets' first level (images)", (1, 512)),
    "d_norm": ("none", "normalization in D: none, layer or batch"),
    "betas": ((0.5, 0.999), "Adam's (beta1, beta2) for both players"),
    "lr_schedule": ("linear", "learning rates over the run: constant or linear decay to 0 (the "
                              "small last steps sharpen the modes)"),
    "ema_decay": (0.999, "decay of the generator's weight average used for sampling (0: off)"),
}


def _gan_factory(conditional):
    def build(dataset, **opts):
        opts["conditional"] = conditional
        label_probs = check_options(dataset, opts)
        num_classes = 0 if label_probs is None else len(label_probs)
        generator, discriminator = build_players(dataset, opts, num_classes, opts["d_norm"])
        return GAN(generator, discriminator, dataset.shape, opts["latent_dim"], label_probs,
                   opts["g_loss"], opts["d_steps"], opts["betas"], opts["lr_schedule"],
                   opts["ema_decay"] or None)
    return build


GAN_TRAIN = train_defaults(toys={"steps": 6000, "batch_size": 256, "lr": 5e-4},
                           digits={"steps": 3000, "batch_size": 64, "lr": 2e-4},
                           mnist={"steps": 6000, "batch_size": 64, "lr": 2e-4})

register("gan", help="generative adversarial network: MLPs on 2-D toys, DCGAN convnets on images; "
                     "minimax or non-saturating G loss (§4)",
         options=GAN_OPTIONS, train=GAN_TRAIN)(_gan_factory(conditional=False))
register("cgan", help="conditional GAN: label embedding into G, projection discriminator; "
                      "sample(n, y) (§5.1)",
         options=GAN_OPTIONS, train=GAN_TRAIN)(_gan_factory(conditional=True))
