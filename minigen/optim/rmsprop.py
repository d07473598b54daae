"""RMSprop: torch.optim.RMSprop's update rule (Hinton's lecture 6e; centered as in Graves, 2013).

For each parameter theta with gradient g (gamma the learning rate, lambda the weight decay, v the
running mean of squared gradients, g_avg the running mean of gradients, b the momentum buffer,
all starting at zero):

    g <- -g                                    if maximize
    g <- g + lambda * theta                    if weight_decay != 0
    v <- alpha * v + (1 - alpha) * g * g
    g_avg <- alpha * g_avg + (1 - alpha) * g   if centered
    d <- sqrt(v - g_avg**2) + eps              if centered (a variance estimate), else sqrt(v) + eps
    b <- mu * b + g / d;  theta <- theta - gamma * b      if momentum mu > 0
    theta <- theta - gamma * g / d                        otherwise

WGAN (lecture §5.1) trains its critic with RMSprop(lr=5e-5).
"""
from .. import backend
from .optimizer import Optimizer, check_nonnegative, lerp_


class RMSprop(Optimizer):
    """RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    *, maximize=False), with torch's defaults and update rule (see the module docstring).

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_nonnegative(group["lr"], "learning rate")
        check_nonnegative(group["eps"], "epsilon value")
        check_nonnegative(group["momentum"], "momentum value")
        check_nonnegative(group["weight_decay"], "weight_decay value")
        check_nonnegative(group["alpha"], "alpha value")

    def _update(self, param, grad, state, group):
        xp = backend.get_array_module(param)
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
        # created on first use, so that turning momentum or centering on later still works
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param

        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = lerp_(state["grad_avg"], grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps

        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * (grad / avg)
