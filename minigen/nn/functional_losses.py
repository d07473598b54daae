"""Loss functions of nn.functional (re-exported there), with torch's names and semantics.

Every loss first computes one value per element (or per example) and then reduces it:
reduction='mean' (the default) averages, 'sum' adds, 'none' returns the unreduced values.

  mse_loss = (x - y)^2              l1_loss = |x - y|
  binary_cross_entropy(p, y) = -(y log p + (1 - y) log(1 - p)), each log clamped at -100 (torch)
  binary_cross_entropy_with_logits(x, y) = (1 - y) x + softplus(-x)
      = max(x, 0) - x y + log(1 + exp(-|x|)), computed by a stable softplus (finite at x = +-100);
      with pos_weight w: (1 - y) x + (1 + (w - 1) y) softplus(-x)
  nll_loss(logp, c) = -weight[c] logp[c]; 'mean' divides by the sum of weight[c] over the
      targets that are not ignore_index
  cross_entropy(x, c) = nll_loss(log_softmax(x, dim=1), c)   (class dim 1, so (N, C, H, W) scores
      give a loss per pixel, as PixelCNN needs); float targets of x's shape are probabilities
  gaussian_kl(mu, logvar) = KL(N(mu, diag exp(logvar)) || N(0, I)) per example
      = 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over all non-batch dims   (lecture §3.6)
"""
import warnings

from .. import backend
from ..ops import activation as _activation
from ..ops.piecewise import where
from ..tensor import Tensor


def _no_legacy(size_average, reduce):
    """torch's deprecated size_average/reduce arguments are kept only so that positional calls
    line up with torch's signatures; use reduction instead."""
    if size_average is not None or reduce is not None:
        raise ValueError("size_average and reduce are deprecated (also in torch); use "
                         "reduction='mean', 'sum' or 'none'")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction!r} is not a valid value for reduction; use 'mean', 'sum' or "
                     "'none'")


def _check_same_shape(input, target, name, strict):
    if input.shape == target.shape:
        return
    message = (f"{name}: using a target size ({target.shape}) that is different to the input "
               f"size ({input.shape})")
    if strict:
        raise ValueError(message + "; please ensure they have the same size")
    warnings.warn(message + ". This will likely lead to incorrect results due to broadcasting.",
                  stacklevel=3)


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """torch.nn.functional.mse_loss: (input - target)^2, averaged ('mean'), summed ('sum') or
    kept elementwise ('none'); input and target broadcast together (torch warns when they
    differ in shape)."""
    _no_legacy(size_average, reduce)
    _check_same_shape(input, target, "mse_loss", strict=False)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """torch.nn.functional.l1_loss: |input - target|, averaged ('mean'), summed ('sum') or
    kept elementwise ('none'); the gradient is g * sign(input - target)."""
    _no_legacy(size_average, reduce)
    _check_same_shape(input, target, "l1_loss", strict=False)
    return _reduce((input - target).abs(), reduction)


def _log_clamped(p):
    """max(log p, -100); p == 0 gives -100 with a zero (not NaN) gradient."""
    positive = p.data > 0
    logs = where(positive, p, 1.0).log()
    return where(positive, logs, -100.0).clamp(min=-100.0)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p = input in [0, 1]."""
    _no_legacy(size_average, reduce)
    _check_same_shape(input, target, "binary_cross_entropy", strict=True)
    xp = backend.get_array_module(input.data)
    if input.numel() and not bool(xp.all((input.data >= 0) & (input.data <= 1))):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(pass logits to binary_cross_entropy_with_logits instead)")
    loss = -(target * _log_clamped(input) + (1.0 - target) * _log_clamped(1.0 - input))
    return _reduce(_weighted(loss, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input), computed from the logits without overflow."""
    _no_legacy(size_average, reduce)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits", strict=True)
    soft = _activation.softplus(-input)  # -log sigmoid(x)
    if pos_weight is not None:
        soft = soft * (1.0 + (pos_weight - 1.0) * target)
    loss = (1.0 - target) * input + soft
    return _reduce(_weighted(loss, weight), reduction)


def _class_inputs(input, target, name):
    """Add the batch dim to unbatched input (C,) / target (); check the shapes."""
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.reshape(1, -1), target.reshape(1)
    if input.ndim < 2 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"{name}: class scores of shape {input.shape} (N, C, d1, ...) need "
                         f"targets of shape {input.shape[:1] + input.shape[2:]}, got "
                         f"{target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be an integer tensor, got dtype "
                        f"{target.dtype}")
    return input, target, unbatched


def _pick_targets(input, target, ignore_index):
    """input[n, target[n, ...], ...] for every example and position, as an (N, d1, ...) tensor,
    and the bool mask of the positions whose target is ignore_index."""
    xp = backend.get_array_module(input.data)
    t = target.data
    ignored = t == ignore_index
    t = xp.where(ignored, 0, t)
    c = input.shape[1]
    if t.size and (int(t.min()) < 0 or int(t.max()) >= c):
        bad = int(t.max()) if int(t.max()) >= c else int(t.min())
        raise IndexError(f"Target {bad} is out of bounds for {c} classes")
    # one flat index into the flattened input: NumPy's scatter-add (the backward) is fast for a
    # 1-D index and far slower for a tuple of index arrays
    n, positions = t.shape[0], t.size // max(t.shape[0], 1)
    flat = (xp.arange(n).reshape(-1, 1) * (c * positions) + t.reshape(n, positions) * positions
            + xp.arange(positions).reshape(1, -1))
    return input.reshape(-1)[flat.reshape(-1)].reshape(t.shape), ignored


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities input (N, C, d1, ...)."""
    _no_legacy(size_average, reduce)
    input, target, unbatched = _class_inputs(input, target, "nll_loss")
    picked, ignored = _pick_targets(input, target, ignore_index)
    xp = backend.get_array_module(input.data)
    t = xp.where(ignored, 0, target.data)
    w = xp.ones(t.shape, input.dtype) if weight is None \
        else _data(weight).astype(input.dtype, copy=False)[t]
    w = xp.where(ignored, 0, w).astype(input.dtype, copy=False)
    loss = -picked * Tensor(w)
    if reduction == "mean":
        return loss.sum() / Tensor(w.sum())
    if reduction == "none" and unbatched:
        return loss.reshape(())
    return _reduce(loss, reduction)


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy over dim 1 of (N, C, d1, ...) scores (dim 0 of unbatched (C,)).

    ``target`` holds class indices (N, d1, ...) or, as a float tensor of the input's shape,
    class probabilities. ``label_smoothing`` eps mixes the target with the uniform distribution:
    (1 - eps) * loss + eps * (mean over classes of -weight_c log p_c), as torch.
    """
    _no_legacy(size_average, reduce)
    class_dim = 0 if input.ndim == 1 else 1
    logp = input.log_softmax(class_dim)
    c = input.shape[class_dim]
    w_shape = (c,) + (1,) * (input.ndim - class_dim - 1)
    w = None if weight is None else weight.reshape(w_shape)
    if target.dtype.kind == "f":  # class probabilities
        _check_same_shape(input, target, "cross_entropy", strict=True)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        loss = -_weighted(logp * target, w).sum(class_dim)
        if reduction == "mean":
            return loss.sum() / float(max(input.numel() // c, 1))
        return _reduce(loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return nll
    ignored = target.data == ignore_index
    smooth = where(ignored, 0.0, -_weighted(logp, w).sum(class_dim))
    if reduction == "mean":
        xp = backend.get_array_module(ignored)
        kept = xp.where(ignored, 0, target.data)
        norm = float((~ignored).sum()) if weight is None \
            else float(_data(weight)[kept][~ignored].sum())
        smooth = smooth.sum() / norm
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example (lecture §3.6), shape (N,):
    0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) over all dims but the first."""
    if mu.shape != logvar.shape or mu.ndim == 0:
        raise ValueError(f"gaussian_kl: mu {mu.shape} and logvar {logvar.shape} must have the same "
                         "shape, with the batch first")
    terms = mu * mu + logvar.exp() - 1.0 - logvar
    return terms.sum(tuple(range(1, mu.ndim))) * 0.5 if mu.ndim > 1 else terms * 0.5
