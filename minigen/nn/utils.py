"""``nn.utils`` as in torch: gradient clipping lives in ``minigen.optim.clip`` and is shown here
too, so ``nn.utils.clip_grad_norm_(model.parameters(), 1.0)`` works as PyTorch users write it."""
from ..optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401
