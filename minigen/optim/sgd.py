"""Stochastic gradient descent, with optional (Nesterov) momentum: torch.optim.SGD's rule.

For each parameter theta with gradient g, at step t (b is the momentum buffer, mu the momentum,
tau the dampening, lambda the weight decay, gamma the learning rate):

    g <- -g                       if maximize
    g <- g + lambda * theta       if weight_decay != 0
    b <- g                        at the first step (t = 1)
    b <- mu * b + (1 - tau) * g   later
    g <- g + mu * b               if nesterov, else g <- b      (when momentum != 0)
    theta <- theta - gamma * g
"""
from .optimizer import Optimizer, check_nonnegative


class SGD(Optimizer):
    """SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False), with torch's defaults and update rule (see the module docstring).

    State per parameter (only when momentum != 0): ``momentum_buffer``."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_nonnegative(group["lr"], "learning rate")
        check_nonnegative(group["momentum"], "momentum value")
        check_nonnegative(group["weight_decay"], "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, param, grad, state, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - float(group["dampening"])) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
