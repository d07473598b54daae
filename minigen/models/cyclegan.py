"""CycleGAN: image translation learned from unpaired examples (lecture §5.4; Zhu et al. 2017).

Two domains A (mnist5k) and B (e.g. mnist5k-inverted), two generators and two discriminators:

    G: A -> B,  F: B -> A          residual generators (conv, one stride-2 step down,
                                   residual blocks, one step up, conv, tanh)
    D_A, D_B                       PatchGAN discriminators: one score per overlapping patch

The generators minimize, with the least-squares adversarial loss (LSGAN, Mao et al. 2017),

    L_GAN(G, D_B) = E_a (D_B(G(a)) - 1)^2,    L_GAN(F, D_A) = E_b (D_A(F(b)) - 1)^2
    L_cyc(G, F)   = E_a ||F(G(a)) - a||_1 + E_b ||G(F(b)) - b||_1        (cycle consistency)
    L_idt(G, F)   = E_b ||G(b) - b||_1 + E_a ||F(a) - a||_1              (identity)
    L             = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc + 0.5 lambda L_idt,  lambda = 10

(the L1 norms averaged over pixels) and each discriminator minimizes
(E (D(real) - 1)^2 + E D(fake)^2) / 2, where the fakes come from an image pool of the 50 last
translations (Shrivastava et al. 2017): once the pool is full, each new fake is shown with
probability 1/2, otherwise a stored one is shown and the new one takes its place. The
discriminators then see a history of generators, which damps oscillation.

Unpaired: the stored pairs share an index (example i of mnist5k-inverted is example i of mnist5k
inverted), and training must not use that. ``training_arrays`` re-indexes domain B by a random
derangement sigma (sigma(i) != i), so a batch holds a_i beside b_sigma(i), never beside b_i; no
loss couples an a with a b anyway. The pairing is used only by ``evaluate``: class_accuracy asks
the shipped classifier of domain B whether G(a) still shows a's digit.
"""
import numpy as np

import minigen as mg
import minigen.nn.functional as F
from minigen import optim
from minigen.nn import Conv2d, GroupNorm, LeakyReLU, Module, ModuleDict, ReLU, Sequential, Tanh
from minigen.nn import Upsample

from . import register
from .adversarial import (least_squares_discriminator_loss, least_squares_generator_loss,
                          step_player)
from .base import AdversarialModel, GenerativeModel, TranslationModel
from .dann import batched, derangement, pair_of

DIRECTIONS = ("AB", "BA")


def instance_norm(channels):
    """Instance normalization: GroupNorm with one group per channel (statistics of each image's
    channel over its positions)."""
    return GroupNorm(channels, channels)


class ResidualBlock(Module):
    """x + conv3x3(ReLU(IN(conv3x3(x)))) with instance norm: the generator's body."""

    def __init__(self, channels):
        super().__init__()
        self.body = Sequential(Conv2d(channels, channels, 3, padding=1), instance_norm(channels),
                               ReLU(), Conv2d(channels, channels, 3, padding=1),
                               instance_norm(channels))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(Module):
    """c x H x W -> c x H x W: conv k x k, a stride-2 conv down to H/2, ``blocks`` residual blocks,
    nearest upsampling + conv 3x3 back to H, conv k x k, tanh (the data's [-1, 1]).

    The paper's outer convolutions are 7x7 (k = 7) for 256x256 photographs; for 28x28 digits
    k = 3 sees enough and costs a fifth (im2col copies k^2 values per pixel).
    """

    def __init__(self, channels, base=16, blocks=3, kernel=3):
        super().__init__()
        wide, pad = 2 * base, kernel // 2
        self.net = Sequential(
            Conv2d(channels, base, kernel, padding=pad), instance_norm(base), ReLU(),
            Conv2d(base, wide, 3, stride=2, padding=1), instance_norm(wide), ReLU(),
            *[ResidualBlock(wide) for _ in range(blocks)],
            Upsample(scale_factor=2), Conv2d(wide, base, 3, padding=1), instance_norm(base), ReLU(),
            Conv2d(base, channels, kernel, padding=pad), Tanh())

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(Module):
    """PatchGAN: c x H x W -> 1 x H/4 x W/4 scores, each seeing one patch of the image (about
    18 x 18 pixels at 28 x 28): it judges local texture and leaves the content to L_cyc."""

    def __init__(self, channels, base=32):
        super().__init__()
        self.net = Sequential(
            Conv2d(channels, base, 4, stride=2, padding=1), LeakyReLU(0.2),
            Conv2d(base, 2 * base, 4, stride=2, padding=1), instance_norm(2 * base),
            LeakyReLU(0.2),
            Conv2d(2 * base, 2 * base, 3, padding=1), instance_norm(2 * base), LeakyReLU(0.2),
            Conv2d(2 * base, 1, 3, padding=1))

    def forward(self, x):
        return self.net(x)


class ImagePool(Module):
    """The last ``size`` fakes shown to a discriminator, as buffers (so checkpoints hold them).

    ``query(fakes)`` returns a batch of the same shape: while the pool fills, each fake is stored
    and returned; once it is full, each fake is, with probability 1/2, returned as it is, and
    otherwise swapped for a random stored image, which is returned instead.
    """

    def __init__(self, shape, size=50):
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", mg.zeros(self.size, *shape))
        self.register_buffer("count", mg.tensor(np.zeros((), dtype=np.int64)))

    def query(self, fakes):
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        n = fakes.shape[0]
        # the same random draws whatever the pool holds, so the stream does not depend on it
        coin = mg.rand(n).data
        slot = mg.randint(0, self.size, (n,)).data
        stored, out = self.images.data, fakes.data.copy()
        count = int(self.count.data)
        for i in range(n):
            if count < self.size:
                stored[count] = fakes.data[i]
                count += 1
            elif coin[i] < 0.5:
                out[i], stored[slot[i]] = stored[slot[i]].copy(), fakes.data[i]
        self.count.data[...] = count
        return mg.tensor(out)


def cycle_loss(a, b, G, F_, fake_b=None, fake_a=None):
    """L_cyc = E ||F(G(a)) - a||_1 + E ||G(F(b)) - b||_1 (means over pixels); ``fake_b`` = G(a)
    and ``fake_a`` = F(b) when they are at hand already."""
    fake_b = G(a) if fake_b is None else fake_b
    fake_a = F_(b) if fake_a is None else fake_a
    return F.l1_loss(F_(fake_b), a) + F.l1_loss(G(fake_a), b)


def identity_loss(a, b, G, F_):
    """L_idt = E ||G(b) - b||_1 + E ||F(a) - a||_1: a generator leaves its target domain alone."""
    return F.l1_loss(G(b), b) + F.l1_loss(F_(a), a)


class CycleGAN(TranslationModel, AdversarialModel, GenerativeModel):
    """G, F (``generator``), D_A, D_B (``discriminator``) and the two image pools."""

    directions = DIRECTIONS

    def __init__(self, shape_a, shape_b, base=16, blocks=3, disc_base=32, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, decay_start=0.5):
        super().__init__()
        if tuple(shape_a) != tuple(shape_b):
            raise ValueError(f"CycleGAN needs both domains of one shape, got {tuple(shape_a)} "
                             f"and {tuple(shape_b)}")
        c = shape_a[0]
        self.generator = ModuleDict({"G": ResnetGenerator(c, base, blocks),
                                     "F": ResnetGenerator(c, base, blocks)})
        self.discriminator = ModuleDict({"D_A": PatchDiscriminator(c, disc_base),
                                         "D_B": PatchDiscriminator(c, disc_base)})
        self.pool_a, self.pool_b = ImagePool(shape_a, pool_size), ImagePool(shape_b, pool_size)
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.decay_start = float(decay_start)

    @property
    def G(self):
        return self.generator["G"]

    @property
    def F(self):
        return self.generator["F"]

    # ------------------------------------------------------------------ training
    def training_arrays(self, dataset):
        source, target = pair_of(dataset)
        return source.x, target.x[derangement(len(target.x))]

    def configure_optimizers(self, lr):
        return {name: optim.Adam(player.parameters(), lr=lr, betas=(0.5, 0.999))
                for name, player in (("generator", self.generator),
                                     ("discriminator", self.discriminator))}

    def configure_schedulers(self, optimizers, steps):
        """Constant lr, then linear decay to 0 from ``decay_start`` of the steps (as the paper's
        100 + 100 epochs)."""
        start = self.decay_start * (steps or 0)

        def factor(step):
            if not steps or step < start:
                return 1.0
            return max(0.0, 1.0 - (step - start) / max(1.0, steps - start))
        return {name: optim.lr_scheduler.LambdaLR(o, factor) for name, o in optimizers.items()}

    def generator_loss(self, a, b):
        """The generators' loss and its parts; also the translations G(a), F(b) for D's step."""
        fake_b, fake_a = self.G(a), self.F(b)
        adversarial = (least_squares_generator_loss(self.discriminator["D_B"](fake_b))
                       + least_squares_generator_loss(self.discriminator["D_A"](fake_a)))
        cycle = cycle_loss(a, b, self.G, self.F, fake_b, fake_a)
        loss = adversarial + self.cycle_weight * cycle
        parts = {"G_adv": adversarial.item(), "cycle": cycle.item()}
        if self.identity_weight:
            identity = identity_loss(a, b, self.G, self.F)
            loss = loss + self.identity_weight * self.cycle_weight * identity
            parts["identity"] = identity.item()
        return loss, (parts, fake_a, fake_b)

    def discriminator_loss(self, a, b, fake_a, fake_b):
        D_A, D_B = self.discriminator["D_A"], self.discriminator["D_B"]
        return (least_squares_discriminator_loss(D_B(b), D_B(self.pool_b.query(fake_b)))
                + least_squares_discriminator_loss(D_A(a), D_A(self.pool_a.query(fake_a))))

    def training_step(self, batch, optimizers, step):
        a, b = batch
        _, (parts, fake_a, fake_b) = step_player(self.generator, optimizers["generator"],
                                                 lambda: self.generator_loss(a, b))
        d_loss = step_player(self.discriminator, optimizers["discriminator"],
                             lambda: self.discriminator_loss(a, b, fake_a, fake_b))
        return {**parts, "D": d_loss.item()}

    # ------------------------------------------------------------------ the capability
    def translate(self, x, direction):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)} (A = source, "
                             f"B = target), got {direction!r}")
        return (self.G if direction == "AB" else self.F)(x)

    def extra_metrics(self, test):
        """cycle_error (mean |F(G(a)) - a| and |G(F(b)) - b| over the test split, both
        directions averaged) and class_accuracy: the fraction of G(a) that domain B's shipped
        classifier labels with a's digit (class_accuracy_BA: F(b) read by A's classifier)."""
        from minigen.metrics import classifier
        source, target = pair_of(test)
        out = {}
        for direction, x, other in (("AB", source, target), ("BA", target, source)):
            there, back = direction, direction[::-1]
            translated = batched(lambda t: self.translate(t, there).data, x.x, self)
            returned = batched(lambda t: self.translate(t, back).data, translated, self)
            out[f"cycle_error_{direction}"] = float(np.mean(np.abs(returned - x.x)))
            judge = classifier.for_dataset(other.name)
            if judge is not None:
                if translated.shape[1] == 3 and judge.image_shape[0] == 1:
                    # the grey side of the mnistm5k pair is stored over 3 channels: read it grey
                    translated = translated.mean(axis=1, keepdims=True)
                accuracy = float(np.mean(judge.predict(translated) == x.y))
                out["class_accuracy" if direction == "AB" else "class_accuracy_BA"] = accuracy
        out["cycle_error"] = (out["cycle_error_AB"] + out["cycle_error_BA"]) / 2
        return out


# Training steps per pair where 1,000 (about 4 minutes) is not enough. Grey to colour texture
# is the hard direction: after 1,000 steps G(a) hides the digit in high-frequency noise that F
# can still decode (class accuracy 0.49, the steganography of Chu et al. 2017), after 4,000 it
# reads 0.80 and after 7,000 0.93 (README; about 27 minutes at one BLAS thread).
STEPS = {"mnistm5k": 7000}

OPTIONS = {
    "base": (16, "channels of the generators' outer layers (2x in the residual blocks)", (1, 256)),
    "blocks": (3, "residual blocks per generator", (1, 32)),
    "disc_base": (32, "channels of the PatchGAN discriminators' first layer", (1, 512)),
    "cycle_weight": (10.0, "lambda, the weight of the cycle-consistency loss"),
    "identity_weight": (0.5, "weight of the identity loss, in units of lambda (0: off)"),
    "pool_size": (50, "fakes kept in each image pool (0: no pool)", (0, 10000)),
    "decay_start": (0.5, "fraction of the steps after which the lr decays linearly to 0"),
}


@register("cyclegan", help="unpaired image translation: two residual generators, two PatchGAN "
                           "discriminators, cycle loss, image pool (§5.4)",
          options=OPTIONS, train=lambda data: {"steps": STEPS.get(data, 1000), "batch_size": 8,
                                               "lr": 2e-4})
def build(dataset, base, blocks, disc_base, cycle_weight, identity_weight, pool_size,
          decay_start):
    if dataset.pair_of is None or not dataset.is_image:
        raise ValueError(f"cyclegan trains on a domain pair; dataset {dataset.name!r} is not one "
                         f"(use --data mnist5k-inverted, mnist5k-bold or mnistm5k)")
    c, h, w = dataset.shape
    if h % 4 or w % 4:
        raise ValueError(f"cyclegan needs image sides divisible by 4, got {h}x{w}")
    for name, value in (("base", base), ("blocks", blocks), ("disc_base", disc_base)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if not cycle_weight >= 0 or not identity_weight >= 0 or pool_size < 0:
        raise ValueError(f"need cycle_weight >= 0, identity_weight >= 0 and pool_size >= 0; got "
                         f"{cycle_weight}, {identity_weight}, {pool_size}")
    if not 0 <= decay_start <= 1:
        raise ValueError(f"decay_start must lie in [0, 1], got {decay_start}")
    return CycleGAN(dataset.shape, dataset.shape, base, blocks, disc_base, cycle_weight,
                    identity_weight, pool_size, decay_start)
