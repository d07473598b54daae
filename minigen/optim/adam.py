"""Adam and AdamW: torch.optim.Adam's and torch.optim.AdamW's update rules.

For each parameter theta with gradient g, at step t = 1, 2, ... (gamma the learning rate, lambda the
weight decay, m and v the first and second moment estimates, both starting at zero):

    g <- -g                                     if maximize
    theta <- theta * (1 - gamma * lambda)       AdamW (decoupled weight decay, Loshchilov & Hutter)
    g <- g + lambda * theta                     Adam (L2 penalty folded into the gradient)
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g * g
    v_max <- max(v_max, v)                      if amsgrad, and v_max replaces v below
    theta <- theta - gamma / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The two bias corrections undo the pull of m and v toward their zero start.
"""
import math

from .. import backend
from .optimizer import Optimizer, check_beta, check_nonnegative, lerp_


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False), with torch's defaults and update rule.

    State per parameter: ``step`` (an int), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad,
    ``max_exp_avg_sq``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_nonnegative(group["lr"], "learning rate")
        check_nonnegative(group["eps"], "epsilon value")
        if len(group["betas"]) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {group['betas']!r}")
        check_beta(group["betas"][0], 0)
        check_beta(group["betas"][1], 1)
        check_nonnegative(group["weight_decay"], "weight_decay value")

    def _update(self, param, grad, state, group):
        xp = backend.get_array_module(param)
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad

        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        second = exp_avg_sq
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            xp.maximum(second, exp_avg_sq, out=second)
        denom = xp.sqrt(second)
        denom /= bias_correction2_sqrt
        denom += eps
        update = exp_avg / denom
        update *= step_size
        param -= update


class AdamW(Adam):
    """AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False): Adam with decoupled weight decay, theta <- theta * (1 - lr * weight_decay)
    before the Adam step, so the decay is not rescaled by the adaptive denominator."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # as torch: an AdamW always decays decoupled
            group["decoupled_weight_decay"] = True
