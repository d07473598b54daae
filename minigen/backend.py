"""Array backends: NumPy on the CPU, CuPy on a GPU.

Every op computes on raw arrays through ``xp``, the array module of its inputs, so the same code
runs on both devices. This is the only module that imports cupy, and it does so lazily: minigen
imports and works without cupy installed.
"""
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
    try:
        return _load_cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def is_writable(array):
    """False for read-only views such as the results of broadcast_to."""
    flags = getattr(array, "flags", None)
    return bool(getattr(flags, "writeable", True)) if flags is not None else True
