"""Progressive growing of GANs, ProGAN (lecture §5.3; Karras et al. 2018).

Generator and critic start at a low resolution and grow by doubling it: 7 -> 14 -> 28 on mnist5k
(2 -> 4 -> 8 on the 8x8 digits). The global layout of a digit is learnt at 7x7, where it is
cheap, and each new block only has to add detail.

Growing from stage s - 1 to stage s, a new block fades in with alpha rising linearly 0 -> 1:

    G_s(z)  = (1 - alpha) up(to_image_(s-1)(h_(s-1)))  +  alpha to_image_s(block_s(h_(s-1)))
    D_s(x)  = D_rest((1 - alpha) from_image_(s-1)(down(x))  +  alpha down(block_s(from_image_s(x))))

(h_(s-1) the generator's features at the old resolution, up = nearest-neighbour upsampling,
down = 2x2 average pooling), and the real images shown to the critic are faded the same way,
x_s = (1 - alpha) up(down(x)) + alpha x at the stage's resolution. At alpha = 0 the grown
networks compute exactly what the old ones did; at alpha = 1 the old path is gone. Each stage
then trains at alpha = 1 (stabilize) before the next fade begins:

    stage 0: stabilize | stage 1: fade, stabilize | stage 2: fade, stabilize

with the steps of the run split evenly over these five phases. The stage and alpha are a
function of the step alone, so a run resumed mid-fade continues exactly; they are also kept as
buffers (``stage``, ``alpha``), so the checkpoint says where the growth stood.

Loss: WGAN-GP (§5.2) plus ProGAN's drift term, which keeps the critic's scores near 0:

    L_D = E f(G(z)) - E f(x) + lambda E (||grad f(x_hat)||_2 - 1)^2 + 0.001 E f(x)^2
    L_G = -E f(G(z))

The tricks of the paper, each in a few lines below:
  pixel norm          b = a / sqrt(mean_c a^2 + 1e-8) after every generator conv: each pixel's
                      feature vector has unit length, so the two players cannot escalate
  minibatch stddev    the critic's last block gets one more channel, the standard deviation of
                      the features over the batch averaged to one number: a batch of identical
                      samples (mode collapse) is then easy to reject
  equalized lr        weights drawn from N(0, 1) and scaled by c = sqrt(2 / fan_in) at every
                      use, not at initialization: Adam's steps are then the same size for every
                      layer relative to its weights
"""
import math
import os

import numpy as np

import minigen as mg
import minigen.nn.functional as F
from minigen import optim
from minigen.nn import Module, ModuleList, Parameter

from . import register
from .adversarial import critic_loss, gradient_penalty, step_player, wasserstein_generator_loss
from .base import AdversarialModel, GenerativeModel, SamplingModel

PHASES_PER_GROWTH = 2      # fade, stabilize
STAGES = "stages.png"


# ---------------------------------------------------------------------------- the three tricks

def pixel_norm(a, eps=1e-8):
    """a / sqrt(mean over channels of a^2 + eps), at every pixel of (N, C, H, W) (or (N, C))."""
    return a / ((a * a).mean(dim=1, keepdim=True) + eps).sqrt()


def minibatch_stddev(x, eps=1e-8):
    """x with one more channel: the standard deviation of each feature over the batch, averaged
    over features and positions to one number, broadcast over the image."""
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"minibatch standard deviation needs at least 2 examples, got {n}")
    mean = x.mean(dim=0, keepdim=True)
    std = (((x - mean) ** 2).mean(dim=0) + eps).sqrt().mean()
    return mg.cat([x, std * mg.ones(n, 1, *x.shape[2:], dtype=x.dtype, device=x.device)], dim=1)


class EqualizedConv2d(Module):
    """Conv2d with weights w ~ N(0, 1) used as c w, c = sqrt(2 / fan_in) (He's constant)."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0):
        super().__init__()
        self.weight = Parameter(mg.randn(out_channels, in_channels, kernel_size, kernel_size).data)
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32))
        self.scale = math.sqrt(2.0 / (in_channels * kernel_size * kernel_size))
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(Module):
    """Linear with weights w ~ N(0, 1) used as c w, c = gain * sqrt(1 / fan_in)."""

    def __init__(self, in_features, out_features, gain=math.sqrt(2.0)):
        super().__init__()
        self.weight = Parameter(mg.randn(out_features, in_features).data)
        self.bias = Parameter(np.zeros(out_features, dtype=np.float32))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def upsample(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample(x):
    return F.avg_pool2d(x, 2)


# ---------------------------------------------------------------------------- the players

class Generator(Module):
    """z -> image at the resolution of ``stage``, the newest block faded in by ``alpha``."""

    def __init__(self, latent_dim, channels, base_size, out_channels):
        super().__init__()
        self.latent_dim, self.base_size = latent_dim, base_size
        c0 = channels[0]
        self.first = EqualizedLinear(latent_dim, c0 * base_size * base_size,
                                     gain=math.sqrt(2.0) / 4)   # the paper's 4x4 "conv" gain
        self.first_conv = EqualizedConv2d(c0, c0, 3, padding=1)
        self.blocks = ModuleList([_GeneratorBlock(channels[s - 1], channels[s])
                                  for s in range(1, len(channels))])
        self.to_image = ModuleList([EqualizedConv2d(c, out_channels, 1) for c in channels])

    @property
    def stages(self):
        return len(self.to_image)

    def features(self, z, stage):
        """h_stage: the features at the resolution of ``stage`` (all blocks at full strength)."""
        c0 = self.first_conv.weight.shape[0]
        h = lrelu(self.first(pixel_norm(z))).reshape(z.shape[0], c0, self.base_size,
                                                      self.base_size)
        h = pixel_norm(lrelu(self.first_conv(pixel_norm(h))))
        for block in self.blocks[:stage]:
            h = block(h)
        return h

    def forward(self, z, stage, alpha=1.0):
        _check_stage(stage, alpha, self.stages)
        if stage == 0 or alpha >= 1.0:
            return self.to_image[stage](self.features(z, stage))
        h_old = self.features(z, stage - 1)
        old = upsample(self.to_image[stage - 1](h_old))
        new = self.to_image[stage](self.blocks[stage - 1](h_old))
        return (1.0 - alpha) * old + alpha * new


class _GeneratorBlock(Module):
    """Upsample 2x -> conv 3x3 -> LReLU -> pixel norm, twice."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = EqualizedConv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, h):
        h = pixel_norm(lrelu(self.conv1(upsample(h))))
        return pixel_norm(lrelu(self.conv2(h)))


class Critic(Module):
    """Image at the resolution of ``stage`` -> one score, the newest block faded in by alpha."""

    def __init__(self, channels, base_size, in_channels):
        super().__init__()
        c0 = channels[0]
        self.from_image = ModuleList([EqualizedConv2d(in_channels, c, 1) for c in channels])
        self.blocks = ModuleList([_CriticBlock(channels[s], channels[s - 1])
                                  for s in range(1, len(channels))])
        self.last_conv = EqualizedConv2d(c0 + 1, c0, 3, padding=1)     # + the stddev channel
        self.dense = EqualizedLinear(c0 * base_size * base_size, c0)
        self.score = EqualizedLinear(c0, 1, gain=1.0)

    @property
    def stages(self):
        return len(self.from_image)

    def forward(self, x, stage, alpha=1.0):
        _check_stage(stage, alpha, self.stages)
        h = lrelu(self.from_image[stage](x))
        if stage > 0:
            h = self.blocks[stage - 1](h)
            if alpha < 1.0:
                old = lrelu(self.from_image[stage - 1](downsample(x)))
                h = (1.0 - alpha) * old + alpha * h
        for s in range(stage - 1, 0, -1):
            h = self.blocks[s - 1](h)
        h = lrelu(self.last_conv(minibatch_stddev(h)))
        return self.score(lrelu(self.dense(h.flatten(1)))).reshape(-1)


class _CriticBlock(Module):
    """conv 3x3 -> LReLU, twice, then 2x2 average pooling."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = EqualizedConv2d(in_channels, in_channels, 3, padding=1)
        self.conv2 = EqualizedConv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, h):
        return downsample(lrelu(self.conv2(lrelu(self.conv1(h)))))


def _check_stage(stage, alpha, stages):
    if not (isinstance(stage, (int, np.integer)) and 0 <= stage < stages):
        raise ValueError(f"stage must be an integer in 0..{stages - 1}, got {stage!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")


# ---------------------------------------------------------------------------- the model

def growth_schedule(step, steps, stages):
    """(stage, alpha) at ``step`` of ``steps``: stage 0 stabilizes, then each later stage fades
    in (alpha 0 -> 1 linearly) and stabilizes, each of the 1 + 2 (stages - 1) phases taking an
    equal share of the steps."""
    phases = 1 + PHASES_PER_GROWTH * (stages - 1)
    position = phases * min(max(step, 0), steps) / max(steps, 1)   # in phases, 0 .. phases
    if position < 1 or stages == 1:
        return 0, 1.0
    stage, within = divmod(position - 1, PHASES_PER_GROWTH)
    stage = min(int(stage) + 1, stages - 1)
    return stage, min(1.0, float(within)) if position < phases else 1.0


class ProGAN(SamplingModel, AdversarialModel, GenerativeModel):
    """Progressively grown WGAN-GP; ``stage``/``alpha`` buffers follow the growth schedule."""

    def __init__(self, shape, latent_dim=64, channels=(64, 64, 32), gp_weight=10.0,
                 drift=0.001, n_samples_per_stage=16):
        super().__init__()
        c, h, w = shape
        stages = len(channels)
        self.shape, self.latent_dim = tuple(shape), latent_dim
        self.base_size = h // 2 ** (stages - 1)
        if h != w or self.base_size * 2 ** (stages - 1) != h or self.base_size < 2:
            raise ValueError(f"ProGAN with {stages} stages ({stages - 1} doublings from at least "
                             f"2x2) needs square images whose side is a multiple of "
                             f"{2 ** (stages - 1)} and at least {2 ** stages}; got {h}x{w}")
        self.generator = Generator(latent_dim, channels, self.base_size, c)
        self.discriminator = Critic(channels, self.base_size, c)
        self.gp_weight, self.drift = float(gp_weight), float(drift)
        self.total_steps = None            # set by configure_schedulers
        self.register_buffer("stage", mg.tensor(np.zeros((), np.int64)))
        self.register_buffer("alpha", mg.tensor(np.ones((), np.float32)))
        # a fixed z, and the samples it gave at the end of each stage (for the figure)
        self.register_buffer("z_fixed", mg.randn(n_samples_per_stage, latent_dim))
        for s in range(stages):
            side = self.base_size * 2 ** s
            self.register_buffer(f"stage_samples_{s}",
                                 mg.zeros(n_samples_per_stage, c, side, side))

    @property
    def stages(self):
        return self.generator.stages

    def resolution(self, stage):
        return self.base_size * 2 ** stage

    # ------------------------------------------------------------------ training
    def configure_optimizers(self, lr):
        # Adam(0, 0.99) as in the paper; a block's parameters get their first step when the
        # block starts to fade in (step_player leaves parameters without gradient untouched)
        return {name: optim.Adam(player.parameters(), lr=lr, betas=(0.0, 0.99), eps=1e-8)
                for name, player in (("generator", self.generator),
                                     ("discriminator", self.discriminator))}

    def configure_schedulers(self, optimizers, steps):
        self.total_steps = steps
        return {}

    def growth(self, step):
        """(stage, alpha) of training step ``step``."""
        return growth_schedule(step, self.total_steps or 0, self.stages)

    def real_at(self, x, stage, alpha):
        """The real images at the resolution of ``stage``, faded like the generator's output:
        (1 - alpha) up(down(x_s)) + alpha x_s."""
        for _ in range(self.stages - 1 - stage):
            x = downsample(x)
        if stage > 0 and alpha < 1.0:
            x = (1.0 - alpha) * upsample(downsample(x)) + alpha * x
        return x

    def critic_loss(self, real, fake, stage, alpha):
        f = lambda x: self.discriminator(x, stage, alpha)   # noqa: E731
        real_scores, fake_scores = f(real), f(fake.detach())
        wasserstein = critic_loss(real_scores, fake_scores)
        penalty = gradient_penalty(f, real, fake, self.gp_weight)
        drift = self.drift * (real_scores ** 2).mean()
        return wasserstein + penalty + drift, {"W_estimate": -wasserstein.item(),
                                               "gp": penalty.item()}

    def training_step(self, batch, optimizers, step):
        x = batch[0]
        stage, alpha = self.growth(step)
        self.stage.data[...] = stage
        self.alpha.data[...] = alpha
        real = self.real_at(x, stage, alpha)
        z = mg.randn(x.shape[0], self.latent_dim, device=x.device)
        with mg.no_grad():
            fake = self.generator(z, stage, alpha)
        d_loss, parts = step_player(self.discriminator, optimizers["discriminator"],
                                    lambda: self.critic_loss(real, fake, stage, alpha))
        z = mg.randn(x.shape[0], self.latent_dim, device=x.device)
        g_loss = step_player(self.generator, optimizers["generator"],
                             lambda: wasserstein_generator_loss(
                                 self.discriminator(self.generator(z, stage, alpha), stage, alpha)))
        if self._stage_ends(step):
            with mg.no_grad():
                samples = self.generator(self.z_fixed, stage, 1.0)
            getattr(self, f"stage_samples_{stage}").data[...] = samples.data
        # growth: 0 during stage 0, then s - 1 + alpha while stage s fades in (loss.png's timeline)
        growth = 0.0 if stage == 0 else stage - 1 + alpha
        return {"D": d_loss.item(), "G": g_loss.item(), **parts, "growth": growth}

    def _stage_ends(self, step):
        stage, _ = self.growth(step)
        return self.growth(step + 1)[0] != stage or step + 1 == self.total_steps

    # ------------------------------------------------------------------ sampling
    def sample(self, n, y=None, stage=None):
        """n images from the grown generator (``stage``: a lower resolution, upsampled to the
        full size so every stage's samples share the data's shape); clipped to [-1, 1]."""
        stage = self.stages - 1 if stage is None else int(stage)
        x = self.generator(mg.randn(n, self.latent_dim, device=self.z_fixed.device), stage)
        for _ in range(self.stages - 1 - stage):
            x = upsample(x)
        return x.data.clip(-1.0, 1.0)

    def figures(self, run_dir, dataset):
        """stages.png: the fixed z's samples as each stage ended, one row per resolution."""
        plot_stage_samples(self, os.path.join(run_dir, STAGES))
        return [STAGES]

    def stage_samples(self):
        """The samples of the fixed z at the end of each stage: a list of arrays, one per
        resolution (all zeros for a stage not reached yet)."""
        return [getattr(self, f"stage_samples_{s}").data for s in range(self.stages)]


def plot_stage_samples(model, path):
    """One row of samples per resolution, each as the generator drew it when its stage ended."""
    from minigen.train.plots import _figure, image_grid
    rows = model.stage_samples()
    figure = _figure(1.2 + 0.6 * rows[0].shape[0], 0.4 + 1.0 * len(rows))
    for s, images in enumerate(rows):
        ax = figure.add_subplot(len(rows), 1, s + 1)
        grid = image_grid(images, ncols=len(images))
        ax.imshow(grid[..., 0] if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        side = model.resolution(s)
        ax.set_ylabel(f"{side}x{side}", rotation=0, labelpad=24)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    figure.savefig(path)
    return path


OPTIONS = {
    "latent_dim": (64, "size of z", (1, 4096)),
    "channels": ((64, 64, 32), "channels per stage, lowest resolution first (3 stages: "
                               "side/4 -> side/2 -> side)", (1, 1024)),
    "gp_weight": (10.0, "lambda of the gradient penalty"),
    "drift": (0.001, "weight of the drift term E f(x)^2"),
}


def _train_defaults(data):
    # five phases of equal length; two of them run at the full resolution, the costly ones
    if data in ("digits", "digits-binary"):
        return {"steps": 2000, "batch_size": 64, "lr": 1e-3}
    return {"steps": 2000, "batch_size": 32, "lr": 1e-3}


@register("progan", help="progressively grown WGAN-GP: fade-in, pixel norm, minibatch stddev, "
                         "equalized lr (§5.3)",
          options=OPTIONS, train=_train_defaults)
def build(dataset, latent_dim, channels, gp_weight, drift):
    if not dataset.is_image:
        raise ValueError(f"progan grows images; dataset {dataset.name!r} has examples of shape "
                         f"{dataset.shape}")
    if latent_dim < 1 or not channels or min(channels) < 1:
        raise ValueError(f"latent_dim and every entry of channels must be at least 1, got "
                         f"latent_dim={latent_dim}, channels={channels}")
    if not gp_weight >= 0 or not drift >= 0:
        raise ValueError(f"gp_weight and drift must be >= 0, got {gp_weight} and {drift}")
    return ProGAN(dataset.shape, latent_dim, tuple(channels), gp_weight, drift)
