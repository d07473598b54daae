"""What every adversarial model shares: the two players' losses, the gradient penalty, and the one
step of one player (lecture §4.4-§4.6, §5.2; CycleGAN's least squares, §5.4).

Losses are written on the players' raw outputs. D(x) = sigmoid(l(x)) for a GAN discriminator with
logit l; a WGAN critic f(x) is a real number. With softplus(t) = log(1 + exp(t)), computed stably,

    log D(x)       = -softplus(-l(x))          log(1 - D(x)) = -softplus(l(x))

so no loss takes the log of a probability that rounded to 0 or 1:

  discriminator_loss     -E log D(x) - E log(1 - D(G(z)))  = E softplus(-l(x)) + E softplus(l(G(z)))
                         (minus the value function V(D, G) of §4.4, minimized by D)
  generator_loss         'minimax'        E log(1 - D(G(z))) = -E softplus(l(G(z)))   (§4.4)
                         'nonsaturating'  -E log D(G(z))     =  E softplus(-l(G(z)))   (§4.6)
      With D(G(z)) -> 0 (l -> -inf, early in training) the minimax loss's gradient in l is
      -sigmoid(l) -> 0: G learns nothing. The non-saturating one's is -(1 - sigmoid(l)) -> -1.
  critic_loss            E f(G(z)) - E f(x), minimized by the critic; -critic_loss is its estimate
                         of the Wasserstein-1 distance W(p_data, p_g) (§5.2)
  wasserstein_generator_loss   -E f(G(z))
  least_squares_discriminator_loss   ((D(x) - 1)^2 + D(G(z))^2) / 2, averaged (LSGAN, CycleGAN)
  least_squares_generator_loss       E (D(G(z)) - 1)^2

The gradient penalty of WGAN-GP (Gulrajani et al. 2017) replaces the critic's weight clipping:

  x_hat = eps x + (1 - eps) x_fake,  eps ~ U(0, 1) one per example
  GP    = lambda E (||grad_x_hat f(x_hat)||_2 - 1)^2

with the norm over all non-batch dimensions (C, H, W of an image), and the gradient computed with
create_graph=True so that GP itself can be differentiated with respect to the critic's weights.

``step_player`` is the only place where a GAN-family model zeroes, back-propagates and steps: the
gradient is taken with respect to this player's parameters alone (mg.autograd.grad), so the other
player's parameters and their ``.grad`` stay exactly as they were.
"""
import contextlib

import minigen as mg
from minigen import backend, optim
from minigen.ops import activation as primitives

G_LOSSES = ("minimax", "nonsaturating")


def _flat_scores(scores, who):
    """Scores of shape (N,) or (N, 1) as (N,); anything else is a mistake of the caller."""
    if scores.ndim == 2 and scores.shape[1] == 1:
        return scores.reshape(scores.shape[0])
    if scores.ndim != 1:
        raise ValueError(f"{who}: expected one score per example, shape (N,) or (N, 1), got "
                         f"{tuple(scores.shape)}")
    return scores


# ---------------------------------------------------------------------------- GAN (§4.4, §4.6)

def discriminator_loss(real_logits, fake_logits):
    """E softplus(-l(x)) + E softplus(l(G(z))) = -E log D(x) - E log(1 - D(G(z))) (a scalar)."""
    real = _flat_scores(real_logits, "discriminator_loss")
    fake = _flat_scores(fake_logits, "discriminator_loss")
    return primitives.softplus(-real).mean() + primitives.softplus(fake).mean()


def generator_loss(fake_logits, kind="nonsaturating"):
    """The generator's loss from the logits l(G(z)): 'minimax' E log(1 - D(G(z))) (§4.4) or
    'nonsaturating' -E log D(G(z)) (§4.6)."""
    fake = _flat_scores(fake_logits, "generator_loss")
    if kind == "minimax":
        return -primitives.softplus(fake).mean()
    if kind == "nonsaturating":
        return primitives.softplus(-fake).mean()
    raise ValueError(f"generator loss must be one of {', '.join(G_LOSSES)}, got {kind!r}")


# ---------------------------------------------------------------------------- WGAN (§5.2)

def critic_loss(real_scores, fake_scores):
    """E f(G(z)) - E f(x): the critic minimizes it; its negative estimates W(p_data, p_g)."""
    real = _flat_scores(real_scores, "critic_loss")
    fake = _flat_scores(fake_scores, "critic_loss")
    return fake.mean() - real.mean()


def wasserstein_generator_loss(fake_scores):
    """-E f(G(z)): the generator moves its samples up the critic's slope."""
    return -_flat_scores(fake_scores, "wasserstein_generator_loss").mean()


def interpolate(real, fake):
    """x_hat = eps x + (1 - eps) x_fake with eps ~ U(0, 1) drawn once per example, detached from
    both inputs and requiring grad (the point where the penalty measures the critic's slope)."""
    if real.shape != fake.shape:
        raise ValueError(f"gradient penalty: real batch of shape {tuple(real.shape)} and fake "
                         f"batch of shape {tuple(fake.shape)} differ")
    eps = mg.rand(real.shape[0], *([1] * (real.ndim - 1)), dtype=real.dtype, device=real.device)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).detach()
    return x_hat.requires_grad_(True)


def gradient_norms(critic, x):
    """||grad_x f(x)||_2 per example, the norm over all non-batch dimensions; differentiable with
    respect to the critic's weights (create_graph=True). ``critic`` maps x to scores (N,) or (N, 1).

    A tiny constant under the square root keeps the norm's gradient finite where the input
    gradient is exactly zero (a dead ReLU critic); it shifts the norm by less than 1e-12 / ||g||.
    """
    scores = _flat_scores(critic(x), "gradient penalty")
    (g,) = mg.autograd.grad(scores.sum(), x, create_graph=True)
    squares = (g * g).reshape(g.shape[0], -1).sum(dim=1)
    return (squares + 1e-24).sqrt()


def gradient_penalty(critic, real, fake, weight=10.0):
    """lambda E (||grad_x_hat f(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) x_fake (WGAN-GP).

    ``critic`` is any callable x -> scores, e.g. ``lambda x: model.discriminator(x, y)`` for a
    conditional critic. Returns a scalar Tensor whose gradient reaches the critic's weights by
    double back-propagation.
    """
    if not weight >= 0:
        raise ValueError(f"gradient penalty weight lambda must be >= 0, got {weight}")
    norms = gradient_norms(critic, interpolate(real, fake))
    return weight * ((norms - 1.0) ** 2).mean()


def clip_weights_(module, c):
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN's crude Lipschitz bound)."""
    if not c > 0:
        raise ValueError(f"weight clipping bound c must be > 0, got {c}")
    for p in module.parameters():
        xp = backend.get_array_module(p.data)
        xp.clip(p.data, -c, c, out=p.data)


# ---------------------------------------------------------------------------- least squares (§5.4)

def least_squares_discriminator_loss(real_scores, fake_scores):
    """(E (D(x) - 1)^2 + E D(G(z))^2) / 2: LSGAN's discriminator, as CycleGAN trains it."""
    # any shape: a patch discriminator's (N, 1, h, w) map is averaged over all its entries
    return 0.5 * (((real_scores - 1.0) ** 2).mean() + (fake_scores ** 2).mean())


def least_squares_generator_loss(fake_scores):
    """E (D(G(z)) - 1)^2: the generator pushes the discriminator's output on its samples to 1."""
    return ((fake_scores - 1.0) ** 2).mean()


# ---------------------------------------------------------------------------- one player's step

@contextlib.contextmanager
def buffers_kept(player):
    """Run ``player`` (in training mode) without changing its buffers: batch norm's running
    statistics are put back afterwards, so the player the other one trains against stays fixed,
    bit for bit (e.g. G producing fakes for D's step)."""
    saved = [(b, b.data.copy()) for b in player.buffers()]
    try:
        yield player
    finally:
        for b, data in saved:
            b.data = data


def _optimized_parameters(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def step_player(player, optimizer, compute_loss, max_grad_norm=None):
    """One update of one player: zero its gradients, compute the loss, back-propagate to its own
    parameters only, clip the gradient norm (optional), step its optimizer.

    player          the Module whose parameters ``optimizer`` updates (the generator or the
                    discriminator / critic)
    compute_loss    callable() -> scalar Tensor, or (scalar Tensor, anything): the extra value is
                    handed back unchanged (e.g. a dict of numbers for the log)
    max_grad_norm   None, or the norm the player's gradient is clipped to

    Returns what ``compute_loss`` returned. The gradient is mg.autograd.grad of the loss with
    respect to the player's parameters: the other player's parameters and their ``.grad`` are not
    touched, and no work is spent on gradients nobody will use.
    """
    params = [p for p in player.parameters() if p.requires_grad]
    own = {id(p) for p in params}
    foreign = [p for p in _optimized_parameters(optimizer) if id(p) not in own]
    if foreign:
        raise ValueError(f"step_player: the optimizer holds {len(foreign)} parameter(s) that do "
                         f"not belong to the {type(player).__name__} it is asked to update")
    for p in params:
        p.grad = None
    result = compute_loss()
    loss = result[0] if isinstance(result, tuple) else result
    if not isinstance(loss, mg.Tensor) or loss.numel() != 1:
        raise ValueError(f"step_player: compute_loss must return a scalar Tensor, got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    grads = mg.autograd.grad(loss, params, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = g      # None for a parameter the loss did not use: the optimizer skips it
    if max_grad_norm is not None:
        optim.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()
    return result
