"""Making tensors: from data, filled with constants, and random (seeded with ``manual_seed``).

Random numbers are drawn with NumPy's generator and then moved to the device, so a seed gives the
same numbers on the CPU and on a GPU.
"""
import numpy as np

from . import backend
from .tensor import Tensor, get_default_dtype

_rng = {"generator": np.random.default_rng(0)}


def manual_seed(seed):
    """Seed minigen's random generator (weights init, randn, dropout, sampling)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _rng["generator"] = np.random.default_rng(int(seed))
    return _rng["generator"]


def default_generator():
    return _rng["generator"]


def get_rng_state():
    """The state of minigen's random generator (restore it with set_rng_state)."""
    return _rng["generator"].bit_generator.state


def set_rng_state(state):
    """Restore the random generator to a state from get_rng_state."""
    _rng["generator"].bit_generator.state = state


def _float_dtype(dtype):
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    return dtype


def _make(array, dtype, device, requires_grad):
    if dtype is not None:
        array = array.astype(np.dtype(dtype), copy=False)
    return Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data``.

    NumPy arrays keep their dtype (float64 stays float64, ints and bools stay); Python floats and
    float lists become the default dtype (float32), Python ints int64.
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_cupy_array(data):
        array = data.copy()
        device = device or "cuda"
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)
    else:
        try:
            array = np.array(data)
        except ValueError:
            # NumPy's own message speaks of "inhomogeneous shape"; say it in the user's terms
            raise ValueError(f"cannot make a tensor from {type(data).__name__} data whose "
                             "nested sequences have different lengths; every row must have "
                             "the same length") from None
        if array.dtype == np.float64 and dtype is None:   # a given dtype is cast to once
            with np.errstate(over="ignore"):              # 1e300 -> inf in float32, as torch
                array = array.astype(get_default_dtype())
        elif array.dtype.kind not in "biuf":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} data "
                            f"(NumPy dtype {array.dtype})")
    return _make(array, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but no copy when ``data`` is already a Tensor/array of the right kind."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """torch.from_numpy: a tensor on the array's data, keeping its dtype (float64 stays float64)."""
    return Tensor(np.asarray(array))


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative ints, got {tuple(size)}")
    return tuple(int(s) for s in size)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """torch.full: a tensor of shape ``size`` (an int, tuple or list) filled with ``fill_value``.

    Without ``dtype`` the fill value's kind decides, as in torch: a float gives the default
    float dtype, an int int64, a bool bool. No gradient flows into it (it is a leaf, which may
    require grad).

        >>> mg.full((2, 3), 1.5).shape, mg.full((2,), 7).dtype
        ((2, 3), dtype('int64'))
    """
    if dtype is None and isinstance(fill_value, float):
        dtype = get_default_dtype()
    array = np.full(_shape((size,) if isinstance(size, int) else tuple(size)), fill_value,
                    dtype=dtype)
    return _make(array, None, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """torch.zeros: a tensor of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``; no size
    is 0-d) filled with zeros, in the default float dtype unless ``dtype`` is given."""
    return _make(np.zeros(_shape(size), dtype=_float_dtype(dtype)), None, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """torch.ones: a tensor of shape ``size`` (``ones(2, 3)`` or ``ones((2, 3))``) filled with
    ones, in the default float dtype unless ``dtype`` is given."""
    return _make(np.ones(_shape(size), dtype=_float_dtype(dtype)), None, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """torch.empty: a tensor of shape ``size`` whose values are not to be relied on (here they
    are zeros); only its shape and dtype mean something."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(fn, t, dtype, device, requires_grad):
    return fn(*t.shape, dtype=dtype or t.dtype, device=device or t.device,
              requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    """torch.zeros_like: zeros of ``t``'s shape, and of its dtype and device unless given."""
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    """torch.ones_like: ones of ``t``'s shape, and of its dtype and device unless given."""
    return _like(ones, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    """torch.full_like: ``fill_value`` in the shape of ``t``, with t's dtype and device unless
    given (a float fill of an integer tensor is truncated, as in torch).

        >>> mg.full_like(mg.zeros(2, dtype=mg.int64), 2.7)
        tensor([2, 2])
    """
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples."""
    g = generator or _rng["generator"]
    array = g.standard_normal(_shape(size), dtype=np.float64).astype(_float_dtype(dtype))
    return _make(array, None, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    g = generator or _rng["generator"]
    array = g.random(_shape(size), dtype=np.float64).astype(_float_dtype(dtype))
    return _make(array, None, device, requires_grad)


def randn_like(t, dtype=None, device=None):
    """torch.randn_like: standard normal draws of ``t``'s shape, dtype and device."""
    return randn(*t.shape, dtype=dtype or t.dtype, device=device or t.device)


def rand_like(t, dtype=None, device=None):
    """torch.rand_like: U(0, 1) draws of ``t``'s shape, dtype and device."""
    return rand(*t.shape, dtype=dtype or t.dtype, device=device or t.device)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    """Integers in [low, high) (``randint(high, size=...)`` means low = 0), int64 by default."""
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high     # torch's randint(high, size)
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint needs low < high, got low={low}, high={high}")
    g = generator or _rng["generator"]
    array = g.integers(low, high, size=_shape(tuple(size)), dtype=np.int64)
    return _make(array, dtype, device, False)


def randperm(n, device=None, generator=None):
    """torch.randperm: a random permutation of 0 .. n-1 (int64)."""
    g = generator or _rng["generator"]
    return _make(g.permutation(int(n)).astype(np.int64), None, device, False)


def _integral(dtype):
    return dtype is not None and np.dtype(dtype).kind in "biu"


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """torch.arange: start, start + step, ... up to but not including ``end`` (``arange(n)``
    counts from 0). Int arguments give int64, a float one the default float dtype; with an
    integer ``dtype`` the arguments are truncated to ints first, as torch counts in that dtype."""
    if end is None:
        start, end = 0, start
    if _integral(dtype):  # torch counts in the integer dtype: the bounds and step truncated
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got step={step}")
    array = np.arange(start, end, step)
    if dtype is None and array.dtype == np.float64:
        dtype = get_default_dtype()
    return _make(array, dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """torch.linspace: ``steps`` evenly spaced values from ``start`` to ``end``, both included
    (one value: start; none for steps=0), in the default float dtype unless ``dtype`` is given;
    an integer dtype truncates the ends first and then the values, as torch does.

        >>> mg.linspace(0, 1, 5)
        tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    if _integral(dtype):  # torch truncates the ends to the integer dtype first
        start, end = int(start), int(end)
    return _make(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), None, device,
                 requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """torch.eye: the n x m (n x n when m is None) matrix with ones on the diagonal and zeros
    elsewhere, in the default float dtype unless ``dtype`` is given.

        >>> mg.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), None, device, requires_grad)
