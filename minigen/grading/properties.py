"""Model properties a submission must have, checked by their definitions (lecture §2-§6).

autoregressive networks (§2.3)   dependency_map(net, shape, pixel): which input pixels the output
    at ``pixel`` depends on, from the Jacobian (exact zeros, several random inputs); drawn as text
    with ``x`` for the pixel, ``o`` for a pixel it sees and ``.`` for one it does not (``X``: it
    sees itself). Causality: no output sees its own pixel or a later one in raster order. Blind
    spot: every pixel's map equals the reference network's (or covers every earlier pixel).
gradient penalty (§5.2)          lambda E (||grad_x_hat f(x_hat)||_2 - 1)^2, norm over all
    non-batch dims. With real == fake the interpolate x_hat is the batch itself whatever eps was
    drawn, so the value can be compared exactly with the reference's.
DDPM (§6.1)                      x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps per
    example, and the loss || eps - eps_theta(x_t, t) ||^2 (mean), on the same t and eps.
ELBO (§3.6)                      E_q log p(x|z) - KL(q(z|x) || N(0, I)) with z = mu + exp(logvar/2)
    eps on a given eps (Bernoulli decoder logits, Gaussian encoder): the same number as the
    reference (minigen's VAE on the same eps), and gradients that reach mu and logvar through
    the sample.
GAN step (§4.5)                  one step of one player leaves the other player's parameters and
    their .grad exactly as they were, and is the reference's SGD step on the reference loss.
"""
import numpy as np

import minigen as mg
from .. import backend, nn
from ..nn import functional as F
from .core import CheckFailed
from .functions import format_array, mismatch

RTOL, ATOL = 1e-6, 1e-9


def _np(t):
    return backend.to_numpy(t.data)


# ----------------------------------------------------------------------------- autoregressive

def jacobian_support(net, input_shape, trials=3, seed=0):
    """S[p, q] (H*W x H*W, bool): the output at pixel p depends on the input at pixel q, for
    some channel, on at least one of ``trials`` random inputs of shape (1, *input_shape)."""
    c, h, w = input_shape
    if isinstance(net, nn.Module):
        net = net.double()
    rng = np.random.default_rng(seed)
    support = np.zeros((h * w, h * w), dtype=bool)
    for _ in range(trials):
        x = mg.tensor(rng.standard_normal((1, c, h, w)), requires_grad=True)
        out = net(x)
        if tuple(out.shape[-2:]) != (h, w):
            raise CheckFailed(f"the network's output must end in the image's (H, W) = {(h, w)}; "
                              f"got shape {tuple(out.shape)}")
        flat = out.reshape(-1, h * w)
        for p in range(h * w):
            (g,) = mg.autograd.grad(flat[:, p].sum(), x, retain_graph=True, allow_unused=True)
            if g is not None:
                support[p] |= (np.abs(_np(g)).reshape(c, h * w) > 0).any(axis=0)
    return support


def draw_map(seen, pixel, width):
    """The dependency map of one output pixel as text: x the pixel, o seen, . not seen."""
    rows = []
    for i in range(len(seen) // width):
        row = []
        for j in range(width):
            q = i * width + j
            if q == pixel:
                row.append("X" if seen[q] else "x")
            else:
                row.append("o" if seen[q] else ".")
        rows.append(" ".join(row))
    return "\n".join(rows)


def dependency_map(net, input_shape, pixel=None, trials=3):
    """The text map of the pixels that the output at ``pixel`` (row, col; default the centre)
    depends on."""
    _, h, w = input_shape
    i, j = (h // 2, w // 2) if pixel is None else pixel
    return draw_map(jacobian_support(net, input_shape, trials)[i * w + j], i * w + j, w)


def check_causal(net, input_shape):
    """No output pixel depends on its own input pixel or a later one (raster order)."""
    _, h, w = input_shape
    support = jacobian_support(net, input_shape)
    leaks = [p for p in range(h * w) if support[p, p:].any()]
    if leaks:
        centre = (h // 2) * w + w // 2       # shown when it leaks: its map is the clearest
        p = centre if centre in leaks else leaks[0]
        q = p + int(np.nonzero(support[p, p:])[0][0])
        raise CheckFailed(
            f"not causal: {len(leaks)} of {h * w} output pixels see their own input pixel or "
            f"a later one (raster order); the output at pixel {divmod(p, w)} depends on "
            f"the input at pixel {divmod(q, w)}, {'itself' if q == p else 'a later pixel'}. "
            f"Its dependency map (x the pixel, o seen, . not seen, X it sees itself):\n"
            + draw_map(support[p], p, w))


def check_receptive_field(net, input_shape, reference=None, pixel=None):
    """Each output pixel (or only ``pixel``, (row, col)) sees exactly the input pixels that the
    reference network's does (blind spot included); without a reference, every earlier pixel
    (no blind spot). A failure draws the map of the pixel that differs most."""
    _, h, w = input_shape
    got = jacobian_support(net, input_shape)
    if reference is None:
        want = np.tril(np.ones((h * w, h * w), dtype=bool), -1)     # q < p: the whole past
        label = "every earlier pixel (no blind spot)"
    else:
        want = jacobian_support(reference, input_shape)
        label = "the reference network"
    pixels = range(h * w) if pixel is None else [pixel[0] * w + pixel[1]]
    wrong = [p for p in pixels if not np.array_equal(got[p], want[p])]
    if wrong:
        p = max(wrong, key=lambda p: int((got[p] != want[p]).sum()))
        missing, extra = int((want[p] & ~got[p]).sum()), int((got[p] & ~want[p]).sum())
        raise CheckFailed(
            f"{len(wrong)} of {len(pixels)} output pixels see a different set of input pixels "
            f"than {label}; the output at pixel {divmod(p, w)} misses {missing} and has "
            f"{extra} extra.\nstudent:\n{draw_map(got[p], p, w)}\n"
            f"expected:\n{draw_map(want[p], p, w)}")


# ----------------------------------------------------------------------------- gradient penalty

class _Critic(nn.Module):
    """A small smooth critic on any input shape: tanh(flatten(x) W1 + b1) w2, float64. It
    remembers every input it is called with (to check where the penalty is evaluated)."""

    def __init__(self, shape, hidden=6, seed=0):
        super().__init__()
        d = int(np.prod(shape))
        rng = np.random.default_rng(seed)
        self.hidden = nn.Linear(d, hidden).double()
        self.out = nn.Linear(hidden, 1).double()
        self.load_state_dict({k: rng.standard_normal(v.shape) * 0.7
                              for k, v in self.state_dict().items()})
        self.seen = []

    def forward(self, x):
        self.seen.append(_np(x).copy())
        return self.out(self.hidden(x.reshape(x.shape[0], -1)).tanh())


def _penalty(fn, critic, real, fake, weight):
    value = fn(critic, real, fake, weight)
    if not isinstance(value, mg.Tensor) or value.numel() != 1:
        raise CheckFailed(f"the penalty must be a scalar Tensor, got "
                          f"{getattr(value, 'shape', type(value).__name__)}")
    return value


def _norm_variants(critic, x, weight):
    """What common mistakes give: {description: value} of the penalty with other norms."""
    xt = mg.tensor(_np(x), requires_grad=True)
    (g,) = mg.autograd.grad(critic(xt).sum(), xt)
    g = _np(g)
    n = g.shape[0]
    variants = {"the norm over the last dim only": np.sqrt((g ** 2).sum(-1)),
                "the norm over the whole batch": np.sqrt((g ** 2).sum()),
                "the squared norm": (g ** 2).reshape(n, -1).sum(1)}
    return {k: weight * float(((v - 1.0) ** 2).mean()) for k, v in variants.items()}


class PenaltyCheck:
    """The parts of grading a gradient penalty fn(critic, real, fake, weight) -> scalar."""

    def __init__(self, student, reference, weight=10.0):
        self.student, self.reference, self.weight = student, reference, weight
        self.rng = np.random.default_rng(0)

    def _batch(self, shape):
        return mg.tensor(self.rng.standard_normal(shape))

    def _compare_on(self, shape, what):
        x = self._batch(shape)
        critic = _Critic(shape[1:])
        expected = _penalty(self.reference, critic, x, x, self.weight).item()
        actual = _penalty(self.student, critic, x, x, self.weight).item()
        if not np.isclose(actual, expected, rtol=RTOL, atol=ATOL):
            hints = [name for name, v in _norm_variants(critic, x, self.weight).items()
                     if np.isclose(actual, v, rtol=1e-6)]
            hint = f" (that is what {hints[0]} gives)" if hints else ""
            raise CheckFailed(f"{what}: on a batch of shape {shape} with real == fake (so "
                              f"x_hat = x) the penalty is {actual!r}, expected {expected!r}"
                              f"{hint}")

    def vectors(self):
        self._compare_on((5, 3), "value")

    def all_dims(self):
        self._compare_on((4, 2, 3, 3), "the norm must run over all non-batch dims")

    def interpolates(self):
        real, fake = self._batch((8, 3)), self._batch((8, 3))
        critic = _Critic((3,))
        mg.manual_seed(1)
        _penalty(self.student, critic, real, fake, self.weight)
        r, f = _np(real), _np(fake)
        for x_hat in critic.seen:
            if x_hat.shape != r.shape:
                continue
            # x_hat_n = e_n r_n + (1 - e_n) f_n  <=>  x_hat_n - f_n = e_n (r_n - f_n)
            d = r - f
            e = ((x_hat - f) * d).sum(1) / (d * d).sum(1)
            on_segment = np.allclose(f + e[:, None] * d, x_hat, atol=1e-8)
            if on_segment and (e >= -1e-9).all() and (e <= 1 + 1e-9).all():
                if np.ptp(e) < 1e-12:
                    raise CheckFailed(f"x_hat uses one eps = {e[0]:.4f} for the whole batch; "
                                      "WGAN-GP draws eps ~ U(0, 1) once per example")
                return
        raise CheckFailed("the critic was never evaluated at points x_hat = eps x + (1 - eps) "
                          "x_fake with eps in [0, 1] per example (inputs seen: "
                          f"{[s.shape for s in critic.seen]})")

    def critic_gradient(self):
        x = self._batch((5, 3))
        grads = []
        for fn in (self.reference, self.student):
            critic = _Critic((3,))
            value = _penalty(fn, critic, x, x, self.weight)
            params = list(critic.parameters())
            if not value.requires_grad:
                raise CheckFailed("the penalty has no gradient with respect to the critic's "
                                  "weights: compute grad_x with create_graph=True")
            got = mg.autograd.grad(value, params, allow_unused=True)
            grads.append([np.zeros(p.shape) if g is None else _np(g)
                          for p, g in zip(params, got)])
        names = [n for n, _ in _Critic((3,)).named_parameters()]
        for name, e, a in zip(names, *grads):
            message = mismatch(f"the gradient of the penalty in the critic's {name}",
                               [_np(x)], e, a, RTOL, ATOL)
            if message:
                raise CheckFailed(message + "\n  (the gradient of the input gradient needs "
                                            "create_graph=True)")


def reference_gradient_penalty(critic, real, fake, weight=10.0):
    """minigen's WGAN-GP penalty (minigen.models.adversarial)."""
    from ..models.adversarial import gradient_penalty
    return gradient_penalty(critic, real, fake, weight)


# ----------------------------------------------------------------------------- DDPM

def _ddpm_reference(timesteps):
    from ..models.ddpm import DDPM
    return DDPM(nn.Identity(), (1,), timesteps=timesteps).double()


class DiffusionCheck:
    """q_sample(x0, t, noise, alphas_cumprod) and loss(eps_theta, x0, t, noise, alphas_cumprod)."""

    def __init__(self, timesteps=1000):
        self.model = _ddpm_reference(timesteps)
        self.alpha_bar = self.model.alphas_cumprod
        self.rng = np.random.default_rng(0)

    def _batch(self, shape):
        x0 = mg.tensor(self.rng.standard_normal(shape), requires_grad=True)
        noise = mg.tensor(self.rng.standard_normal(shape), requires_grad=True)
        t_values = [0, self.model.num_timesteps - 1] + list(
            self.rng.integers(0, self.model.num_timesteps, shape[0] - 2))
        return x0, mg.tensor(np.array(t_values, dtype=np.int64)), noise

    def q_sample(self, student):
        for shape in [(4, 3), (3, 1, 2, 2)]:
            x0, t, noise = self._batch(shape)
            actual = student(x0, t, noise, self.alpha_bar)
            expected = self.model.q_sample(x0, t, noise)
            message = mismatch(f"x_t for t = {_np(t).tolist()} (one t per example)", [_np(x0)],
                               _np(expected), _np(actual) if isinstance(actual, mg.Tensor)
                               else np.asarray(actual), RTOL, ATOL)
            if message:
                raise CheckFailed(message)
            if not actual.requires_grad:
                raise CheckFailed("x_t has no gradient with respect to x0 and noise")

    def loss(self, student):
        x0, t, noise = self._batch((4, 3))
        eps_theta = nn.Linear(3, 3).double()

        def net(x_t, t):
            return eps_theta(x_t) + (t.double() / self.model.num_timesteps).reshape(-1, 1)

        expected = F.mse_loss(net(self.model.q_sample(x0, t, noise), t), noise)
        actual = student(net, x0, t, noise, self.alpha_bar)
        if not isinstance(actual, mg.Tensor) or actual.numel() != 1:
            raise CheckFailed("the loss must be a scalar Tensor")
        if not np.isclose(actual.item(), expected.item(), rtol=RTOL, atol=ATOL):
            raise CheckFailed(f"the loss is {actual.item()!r}, expected {expected.item()!r} = "
                              f"mean over batch and coordinates of (eps - eps_theta(x_t, t))^2")
        params = list(eps_theta.parameters())
        e = mg.autograd.grad(expected, params)
        a = mg.autograd.grad(actual, params, allow_unused=True)
        for (name, _), ge, ga in zip(eps_theta.named_parameters(), e, a):
            message = mismatch(f"the loss's gradient in eps_theta's {name}", [_np(x0)], _np(ge),
                               np.zeros(ge.shape) if ga is None else _np(ga), RTOL, ATOL)
            if message:
                raise CheckFailed(message)


# ----------------------------------------------------------------------------- ELBO

def reference_elbo(x, mu, logvar, eps, decode):
    """log p(x | z) - KL(q(z|x) || N(0, I)) per example with z = mu + exp(logvar/2) eps, built
    from the pieces minigen's VAE uses (minigen.distributions, lecture §3.6): q = N(mu,
    exp(logvar)), p(x | z) Bernoulli with logits decode(z), x in {0, 1}."""
    from ..distributions import Bernoulli, Normal, kl_divergence
    from ..models.vae import standard_normal
    q = Normal.from_logvar(mu, logvar)
    z = mu + q.scale * eps                      # q.rsample() with this eps
    n = x.shape[0]
    log_px = Bernoulli(decode(z)).log_prob(x).reshape(n, -1).sum(dim=1)
    return log_px - kl_divergence(q, standard_normal(mu)).sum(dim=1)


class ElboCheck:
    """elbo(x, mu, logvar, eps, decode) -> (N,), against the definition on the same eps."""

    def __init__(self, reference=None):
        self.reference = reference or reference_elbo
        rng = np.random.default_rng(0)
        self.x = mg.tensor((rng.random((4, 1, 2, 3)) < 0.5).astype(np.float64))
        self.mu = rng.standard_normal((4, 2))
        self.logvar = rng.standard_normal((4, 2)) * 0.5
        self.eps = mg.tensor(rng.standard_normal((4, 2)))
        self.decoder = nn.Linear(2, 6).double()

    def _run(self, fn):
        mu = mg.tensor(self.mu.copy(), requires_grad=True)
        logvar = mg.tensor(self.logvar.copy(), requires_grad=True)
        out = fn(self.x, mu, logvar, self.eps, lambda z: self.decoder(z).reshape(-1, 1, 2, 3))
        if not isinstance(out, mg.Tensor) or tuple(out.shape) != (4,):
            raise CheckFailed(f"the ELBO must be a Tensor of shape (N,) = (4,), one value per "
                              f"example; got {getattr(out, 'shape', type(out).__name__)}")
        return mu, logvar, out

    def value(self, student):
        _, _, expected = self._run(self.reference)
        _, _, actual = self._run(student)
        message = mismatch("the ELBO per example (same eps)", [self.mu], _np(expected),
                           _np(actual), RTOL, ATOL)
        if message:
            raise CheckFailed(message)

    def gradient(self, student):
        grads = []
        for fn in (self.reference, student):
            mu, logvar, out = self._run(fn)
            if not out.requires_grad:
                raise CheckFailed("the ELBO has no gradient with respect to mu and logvar")
            got = mg.autograd.grad(out.sum(), [mu, logvar], allow_unused=True)
            grads.append([np.zeros(self.mu.shape) if g is None else _np(g) for g in got])
        for name, e, a in zip(("mu", "logvar"), *grads):
            message = mismatch(f"the ELBO's gradient with respect to {name} (it flows through "
                               f"z = mu + exp(logvar / 2) eps)", [self.mu], e, a, RTOL, ATOL)
            if message:
                raise CheckFailed(message)


# ----------------------------------------------------------------------------- GAN step

def _players(seed):
    rng = np.random.default_rng(seed)
    generator = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    discriminator = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    for m in (generator, discriminator):
        m.load_state_dict({k: rng.standard_normal(v.shape) * 0.5
                           for k, v in m.state_dict().items()})
    return generator, discriminator


def reference_step(player):
    """The reference step of ``player`` fn(G, D, opt_g, opt_d, real, z): the losses of
    minigen.models.adversarial (non-saturating generator), through step_player."""
    from ..models import adversarial as adv

    def step(G, D, opt_g, opt_d, real, z):
        if player == "discriminator":
            return adv.step_player(D, opt_d, lambda: adv.discriminator_loss(
                D(real), D(G(z).detach())))
        return adv.step_player(G, opt_g, lambda: adv.generator_loss(D(G(z))))
    return step


class GanStepCheck:
    """A step of ``player`` ('generator' or 'discriminator'): fn(G, D, opt_g, opt_d, real, z)."""

    def __init__(self, student, player, reference=None, lr=0.1):
        if player not in ("generator", "discriminator"):
            raise ValueError(f"player must be 'generator' or 'discriminator', got {player!r}")
        self.student, self.player, self.lr = student, player, lr
        self.reference = reference or reference_step(player)
        rng = np.random.default_rng(1)
        self.real, self.z = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))

    def _run(self, fn, poison=True):
        G, D = _players(0)
        opt_g, opt_d = mg.optim.SGD(G.parameters(), lr=self.lr), mg.optim.SGD(D.parameters(),
                                                                              lr=self.lr)
        other = D if self.player == "generator" else G
        if poison:   # the other player holds a gradient of its own, which must survive the step
            for p in other.parameters():
                p.grad = mg.tensor(np.full(p.shape, 0.25))
        fn(G, D, opt_g, opt_d, mg.tensor(self.real), mg.tensor(self.z))
        return G, D, other

    def only_own(self):
        G0, D0 = _players(0)
        before = {n: _np(p).copy() for n, p in (D0 if self.player == "generator"
                                                 else G0).named_parameters()}
        _, _, other = self._run(self.student)
        other_name = "discriminator" if self.player == "generator" else "generator"
        for name, p in other.named_parameters():
            if not np.array_equal(_np(p), before[name]):
                raise CheckFailed(f"the {self.player} step changed the {other_name}'s parameter "
                                  f"{name!r}")
            if p.grad is None or not np.array_equal(_np(p.grad), np.full(p.shape, 0.25)):
                raise CheckFailed(f"the {self.player} step changed the {other_name}'s gradient "
                                  f"{name!r} (.grad), e.g. by backward() through both players "
                                  f"or by zero_grad() on the other optimizer: take the gradient "
                                  f"with respect to the {self.player}'s parameters only")

    def matches_reference(self):
        G_r, D_r, _ = self._run(self.reference, poison=False)
        G_s, D_s, _ = self._run(self.student, poison=False)
        own_r, own_s = (G_r, G_s) if self.player == "generator" else (D_r, D_s)
        for (name, p_r), (_, p_s) in zip(own_r.named_parameters(), own_s.named_parameters()):
            message = mismatch(f"the {self.player}'s parameter {name!r} after one SGD step "
                               f"(lr {self.lr})", [self.real], _np(p_r), _np(p_s), RTOL, ATOL)
            if message:
                raise CheckFailed(message)
