"""The noise predictors eps_theta(x_t, t, y) of DDPM (lecture §6.1): a U-Net for images and a
residual MLP for the 2-D toys.

Both see the timestep through a sinusoidal embedding (the Transformer's position code, Vaswani et
al. 2017) passed through a small MLP,

    emb(t) = MLP([cos(t w_0), ..., cos(t w_(d/2-1)), sin(t w_0), ..., sin(t w_(d/2-1))]),
    w_i = 10000^(-i / (d/2)),

and, for the class-conditional model (the last point of §6.1), a learned class vector is added:
emb = emb(t) + E[y]. Row E[K] (one past the K classes) is the "null" label: classifier-free
guidance trains the same network with y replaced by it some of the time, so eps_theta(x_t, t, null)
is an unconditional model.

The U-Net (Ronneberger et al. 2015, in the form of Ho et al. 2020) is an encoder that halves the
resolution level by level and a decoder that doubles it back, each decoder block also seeing the
encoder's activations of the same resolution (skip connections), so the output keeps the input's
fine detail and the input's shape. Its blocks are residual: GroupNorm, SiLU, 3x3 convolution, the
embedding added per channel, GroupNorm, SiLU, 3x3 convolution; optional self-attention mixes all
positions at the lowest resolution. The last convolution starts at zero, so training starts from
eps_theta = 0.
"""
import math

import minigen as mg
from minigen import backend, nn
from minigen.nn import functional as F


def timestep_embedding(t, dim, max_period=10000.0):
    """Sinusoidal code of integer timesteps ``t`` (Tensor (N,)) -> float32 Tensor (N, dim)."""
    if dim % 2:
        raise ValueError(f"the timestep embedding needs an even dimension, got {dim}")
    xp = backend.get_array_module(t.data)
    half = dim // 2
    freqs = xp.exp(-math.log(max_period) * xp.arange(half, dtype=xp.float32) / half)
    args = t.data.astype(xp.float32)[:, None] * freqs[None, :]
    return mg.tensor(xp.concatenate([xp.cos(args), xp.sin(args)], axis=1))


def norm_groups(channels):
    """GroupNorm's number of groups: 8 where the width divides by 8 (as 32 groups of a 128-wide
    layer in Ho et al., scaled to our narrower layers)."""
    return math.gcd(channels, 8)


class ConditionEmbedding(nn.Module):
    """emb(t, y) = MLP(sinusoidal(t)) + E[y]; y = None (or an unconditional model) adds nothing.

    ``num_classes`` > 0 makes a table of num_classes + 1 rows, the last being the null label.
    """

    def __init__(self, base_dim, emb_dim, num_classes=0):
        super().__init__()
        self.base_dim, self.num_classes = base_dim, num_classes
        self.time_mlp = nn.Sequential(nn.Linear(base_dim, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.class_embedding = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None

    def forward(self, t, y=None):
        emb = self.time_mlp(timestep_embedding(t, self.base_dim).to(t.device))
        if y is not None:
            if self.class_embedding is None:
                raise ValueError("labels were given to an unconditional noise predictor; build "
                                 "it with num_classes > 0 (conditional=true)")
            emb = emb + self.class_embedding(y)
        return emb


class ResidualBlock(nn.Module):
    """x + F(x, emb): two GroupNorm-SiLU-conv3x3 stages with the embedding added in between."""

    def __init__(self, in_channels, out_channels, emb_dim, dropout=0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, out_channels)
        self.norm2 = nn.GroupNorm(norm_groups(out_channels), out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        # A 1x1 convolution matches the channels of the shortcut when they change.
        self.skip = (nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels
                     else nn.Identity())

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """x + proj(softmax(Q K^T / sqrt(C)) V) over the H*W positions, one head."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.GroupNorm(norm_groups(channels), channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x):
        n, c, h, w = x.shape
        tokens = self.norm(x).reshape(n, c, h * w).transpose(1, 2)          # (N, HW, C)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)
        weights = (q @ k.transpose(1, 2) * (1.0 / math.sqrt(c))).softmax(dim=-1)
        out = self.proj(weights @ v)                                          # (N, HW, C)
        return x + out.transpose(1, 2).reshape(n, c, h, w)


class Downsample(nn.Module):
    """Halve H and W with a stride-2 3x3 convolution."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    """Double H and W (nearest neighbour), then a 3x3 convolution."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        n, c, h, w = x.shape
        # each pixel doubled along W, then each row along H: the backward adds two halves twice,
        # where the gradient of an expand over the (2, 2) blocks is a sum over two small strided
        # axes, which NumPy reduces about six times slower
        x = mg.stack([x, x], dim=-1).reshape(n, c, h, 2 * w)
        x = mg.stack([x, x], dim=3).reshape(n, c, 2 * h, 2 * w)
        return self.conv(x)


class UNet(nn.Module):
    """eps_theta for images: (N, C, H, W), t (N,), y (N,) or None -> (N, C, H, W).

    channels        width of the first level; level i has channels * channel_mult[i]
    channel_mult    one entry per resolution (H, H/2, H/4, ...); H must divide by 2^(levels - 1)
    num_res_blocks  residual blocks per level in the encoder (the decoder has one more, for the
                    skip taken after the downsampling)
    attention       self-attention in the middle, at the lowest resolution
    num_classes     > 0 for the class-conditional model (with a null label for guidance)
    """

    def __init__(self, in_channels, image_size, channels=32, channel_mult=(1, 2), num_res_blocks=1,
                 attention=True, num_classes=0, dropout=0.0):
        super().__init__()
        levels = len(channel_mult)
        if levels < 1 or image_size % 2 ** (levels - 1):
            raise ValueError(f"a U-Net with {levels} levels (channel_mult={tuple(channel_mult)}) "
                             f"halves the size {levels - 1} times, which needs an image size "
                             f"divisible by {2 ** (levels - 1)}; got {image_size}")
        emb_dim = 4 * channels
        self.embedding = ConditionEmbedding(channels, emb_dim, num_classes)
        self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)

        self.down = nn.ModuleList()
        skips, ch = [channels], channels
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                self.down.append(ResidualBlock(ch, channels * mult, emb_dim, dropout))
                ch = channels * mult
                skips.append(ch)
            if level < levels - 1:
                self.down.append(Downsample(ch))
                skips.append(ch)

        self.mid = nn.ModuleList([ResidualBlock(ch, ch, emb_dim, dropout),
                                  SelfAttention(ch) if attention else nn.Identity(),
                                  ResidualBlock(ch, ch, emb_dim, dropout)])

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for _ in range(num_res_blocks + 1):
                self.up.append(ResidualBlock(ch + skips.pop(), channels * mult, emb_dim, dropout))
                ch = channels * mult
            if level > 0:
                self.up.append(Upsample(ch))

        self.norm_out = nn.GroupNorm(norm_groups(ch), ch)
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t, y=None):
        emb = self.embedding(t, y)
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            h = block(h, emb) if isinstance(block, ResidualBlock) else block(h)
            skips.append(h)
        for block in self.mid:
            h = block(h, emb) if isinstance(block, ResidualBlock) else block(h)
        for block in self.up:
            if isinstance(block, ResidualBlock):
                h = block(mg.cat([h, skips.pop()], dim=1), emb)
            else:
                h = block(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class MLPBlock(nn.Module):
    """h + Linear(SiLU(Linear(SiLU(h)) + emb)): the residual block of the toy network."""

    def __init__(self, hidden, emb_dim):
        super().__init__()
        self.fc1 = nn.Linear(hidden, hidden)
        self.emb_proj = nn.Linear(emb_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h, emb):
        z = self.fc1(F.silu(h)) + self.emb_proj(emb)
        return h + self.fc2(F.silu(z))


def fourier_features(x, octaves):
    """[x, sin(2^k pi x), cos(2^k pi x) for k < octaves] per coordinate: (N, D) -> (N, D (1 + 2K)).

    An MLP on raw coordinates learns sharp functions of x slowly (spectral bias, Tancik et al.
    2020); near the end of sampling eps_theta of a mixture with narrow modes is such a function.
    """
    if not octaves:
        return x
    xp = backend.get_array_module(x.data)
    freqs = mg.tensor(math.pi * 2.0 ** xp.arange(octaves, dtype=xp.float32))
    angles = (x[:, :, None] * freqs).reshape(x.shape[0], -1)
    return mg.cat([x, angles.sin(), angles.cos()], dim=1)


class MLPDenoiser(nn.Module):
    """eps_theta for points (N, D): a residual MLP conditioned on emb(t, y) in every block, fed
    the coordinates and ``octaves`` octaves of their Fourier features."""

    def __init__(self, dim=2, hidden=128, depth=3, num_classes=0, octaves=0):
        super().__init__()
        self.octaves = octaves
        self.embedding = ConditionEmbedding(hidden, hidden, num_classes)
        self.input = nn.Linear(dim * (1 + 2 * octaves), hidden)
        self.blocks = nn.ModuleList([MLPBlock(hidden, hidden) for _ in range(depth)])
        self.output = nn.Linear(hidden, dim)

    def forward(self, x, t, y=None):
        emb = F.silu(self.embedding(t, y))
        h = self.input(fourier_features(x, self.octaves))
        for block in self.blocks:
            h = block(h, emb)
        return self.output(F.silu(h))
