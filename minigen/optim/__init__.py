"""Optimizers, learning-rate schedules, parameter averaging and gradient clipping.

Names, defaults and update rules are PyTorch's (``torch.optim``), so that a training loop reads the
same and torch can check every step:

    opt = mg.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    sched = mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10_000)
    ema = mg.optim.EMA(model, decay=0.999)
    for x in loader:
        opt.zero_grad()
        loss = model.loss(x)
        loss.backward()
        mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step(); sched.step(); ema.update()
"""
from . import lr_scheduler  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .ema import EMA  # noqa: F401
from .clip import clip_grad_norm_, clip_grad_value_  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler", "EMA",
           "clip_grad_norm_", "clip_grad_value_"]
