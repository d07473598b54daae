"""Weight initializations (torch.nn.init): each fills a tensor in place and returns it.

fan_in / fan_out of a weight (out, in, *kernel) are in * prod(kernel) and out * prod(kernel).
  xavier (Glorot): std = gain * sqrt(2 / (fan_in + fan_out)); uniform bound = sqrt(3) * std
  kaiming (He):    std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a);
                   uniform bound = sqrt(3) * std
torch's Linear and Conv layers use kaiming_uniform_(w, a=sqrt(5)), which works out to the bound
1 / sqrt(fan_in). All random numbers come from minigen's seeded generator (mg.manual_seed).
"""
import math

import numpy as np

from .. import backend, creation
from ..autograd import no_grad


def _fill(tensor, values):
    """Copy ``values`` (a NumPy array or a number) into ``tensor`` without recording a graph."""
    with no_grad():
        tensor.copy_(backend.to_device(np.asarray(values, dtype=tensor.dtype), tensor.device))
    return tensor


def _rng(generator):
    return generator if generator is not None else creation.default_generator()


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance stable through a layer with this nonlinearity."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (shape {tensor.shape})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """torch.nn.init.uniform_: fill ``tensor`` in place with draws from U(a, b); returns it."""
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """torch.nn.init.normal_: fill ``tensor`` in place with draws from N(mean, std^2)."""
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def constant_(tensor, val):
    """torch.nn.init.constant_: fill ``tensor`` in place with the number ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    """torch.nn.init.ones_: fill ``tensor`` in place with ones."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """torch.nn.init.zeros_: fill ``tensor`` in place with zeros."""
    return _fill(tensor, 0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """torch.nn.init.xavier_uniform_ (Glorot): U(-b, b) with b = gain * sqrt(6 / (fan_in +
    fan_out)), so that the variance is gain^2 * 2 / (fan_in + fan_out)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """torch.nn.init.xavier_normal_ (Glorot): N(0, std^2) with std = gain * sqrt(2 / (fan_in +
    fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """torch.nn.init.kaiming_uniform_ (He): U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain
    = calculate_gain(nonlinearity, a) and fan the fan_in or fan_out (``mode``)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """torch.nn.init.kaiming_normal_ (He): N(0, std^2) with std = gain / sqrt(fan), gain =
    calculate_gain(nonlinearity, a) and fan the fan_in or fan_out (``mode``)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix, the weight flattened to (rows, cols): the Q of a QR
    decomposition of a Gaussian matrix, signs fixed so that Q is uniformly distributed."""
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape "
                         f"{tensor.shape})")
    rows = tensor.shape[0]
    cols = tensor.numel() // max(rows, 1)
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
