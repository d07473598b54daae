"""Array backends: NumPy on the CPU, CuPy on a GPU.

Every op computes on raw arrays through ``xp``, the array module of its inputs, so the same code
runs on both devices. This is the only module that imports cupy, and it does so lazily: minigen
imports and works without cupy installed.
"""
import ctypes
import os
import sys

import numpy as np

DEVICES = ("cpu", "cuda")

_cupy = None


def _load_cupy():
    """Import cupy on first use; say clearly what is missing when it is not there."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:
            raise RuntimeError(
                "device 'cuda' needs CuPy; install minigen with the gpu extra "
                "(pip install 'minigen[gpu]')") from exc
        _cupy = cupy
    return _cupy


def check_device(device):
    """Return the canonical device name ('cpu' or 'cuda'), or raise naming the bad value."""
    if device is None:
        return "cpu"
    name = str(device)
    if name.startswith("cuda"):
        return "cuda"
    if name == "cpu":
        return "cpu"
    raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")


def xp_for(device):
    """The array module that holds arrays on ``device``."""
    return _load_cupy() if check_device(device) == "cuda" else np


def cupy_loaded():
    """True once device 'cuda' has been used (only then can arrays live on two devices)."""
    return _cupy is not None


def is_cupy_array(a):
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def get_array_module(*arrays):
    """numpy or cupy, whichever holds the given arrays (numpy when none is a cupy array)."""
    for a in arrays:
        if is_cupy_array(a):
            return _cupy
    return np


def device_of(array):
    return "cuda" if is_cupy_array(array) else "cpu"


def to_device(array, device):
    """Move a raw array to ``device`` (a no-op when it is already there)."""
    device = check_device(device)
    if device == "cuda":
        return _load_cupy().asarray(array)
    if is_cupy_array(array):
        return array.get()
    return np.asarray(array)


def to_numpy(array):
    return array.get() if is_cupy_array(array) else np.asarray(array)


def synchronize():
    """Wait until the GPU has finished the work queued so far (nothing to wait for on the CPU)."""
    if _cupy is not None:
        _cupy.cuda.get_current_stream().synchronize()


def cuda_available():
    """Whether CuPy is installed and sees a GPU (then ``device='cuda'`` works)."""
    try:
        return _load_cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def is_writable(array):
    """False for read-only views such as the results of broadcast_to."""
    flags = getattr(array, "flags", None)
    return bool(getattr(flags, "writeable", True)) if flags is not None else True


def keep_freed_memory():
    """Ask glibc's allocator to keep freed arrays for reuse instead of returning them to the OS.

    A training step allocates and frees the same few-megabyte activations and gradients every
    step. By default glibc hands allocations above a threshold straight to the OS (mmap) and
    takes them back on free, so every new array is fresh memory that the kernel maps and zeroes
    page by page on first touch: a GroupNorm forward + backward at 64x32x28x28 took 32 ms that
    way and 15 ms with freed memory kept (the arrays' own arithmetic is about 4 ms). This keeps
    blocks up to 32 MB (glibc's largest threshold) in the heap and does not trim it, as torch's
    CPU caching allocator does for its own tensors. The process keeps its peak memory.
    Set MINIGEN_MALLOC=default to leave the allocator alone. Returns True when it was applied.
    """
    if os.environ.get("MINIGEN_MALLOC", "").strip().lower() == "default" \
            or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # not glibc (musl, ...): nothing to tune
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20) and mallopt(m_trim_threshold, 1 << 30)
                and mallopt(m_top_pad, 64 << 20))


keep_freed_memory()


def special_functions(xp):
    """The special-functions module for the array module ``xp``: scipy.special for NumPy,
    cupyx.scipy.special for CuPy (imported on first use)."""
    if xp is np:
        import scipy.special as special
    else:
        import cupyx.scipy.special as special
    return special


SMALL_REDUCTION = 16   # reduced elements per output element up to which slices are added


def array_sum(x, axes, keepdims=False):
    """``x.sum(axis=axes, keepdims=keepdims)``, faster on the CPU when the reduced dims hold only
    a few elements per output element (a pooling's 2x2 tiles, a gradient summed over a size-2
    dim). NumPy then runs a loop of two or four steps per output element: a 2x2 mean over
    32x64x28x28 took 10 ms, against 1 ms for adding the four strided slices, which is what
    this does (in row order of the reduced positions, so the result is deterministic)."""
    axes = tuple(axes)
    sizes = [x.shape[a] for a in axes]
    count = int(np.prod(sizes)) if axes else 1
    if is_cupy_array(x) or x.dtype not in (np.float32, np.float64) \
            or not 2 <= count <= SMALL_REDUCTION \
            or x.size < 8 * count * 1024:
        return x.sum(axis=axes, keepdims=keepdims)
    index = [slice(None)] * x.ndim
    total = None
    for position in np.ndindex(*sizes):
        for axis, p in zip(axes, position):
            index[axis] = p
        part = x[tuple(index)]
        total = part.copy() if total is None else np.add(total, part, out=total)
    if keepdims:
        total = total.reshape(tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return total
