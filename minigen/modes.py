"""The two switches the engine reads: grad mode (record the graph or not) and anomaly mode (check
every value for NaN and inf). They are module state, set by context managers, as in torch.

    with mg.no_grad():                  ops record nothing (evaluation, sampling, optimizer steps)
    with mg.autograd.detect_anomaly():  the first op whose forward or backward produces NaN or
                                        inf raises, naming the op and where it was called
"""
import contextlib
import functools
import traceback

from . import backend

# in_backward: set while a node's backward runs, so that anomaly mode blames that node rather
# than the Div or Mul inside its backward formula
_state = {"grad_enabled": True, "anomaly": False, "in_backward": False}


def is_grad_enabled():
    """Whether ops record the graph now (False inside ``mg.no_grad()``)."""
    return _state["grad_enabled"]


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets whether ops record the graph."""

    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        self.prev = _state["grad_enabled"]
        _state["grad_enabled"] = self.enabled

    def __exit__(self, *exc):
        _state["grad_enabled"] = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)
        return wrapper


def no_grad():
    """Ops inside ``with mg.no_grad():`` record nothing (evaluation, sampling, optimizer steps)."""
    return _GradMode(False)


def enable_grad():
    """Turn recording back on inside a ``no_grad`` block."""
    return _GradMode(True)


def set_grad_enabled(mode):
    """Turn recording on or off, as a context manager or decorator: ``with
    mg.set_grad_enabled(training):``."""
    return _GradMode(bool(mode))


class detect_anomaly(contextlib.ContextDecorator):
    """Inside this block every op checks its output, and every backward its gradients, for NaN or
    inf, and the first op that produces one raises a RuntimeError naming it and where it was called."""

    def __enter__(self):
        self.prev = _state["anomaly"]
        _state["anomaly"] = True

    def __exit__(self, *exc):
        _state["anomaly"] = self.prev
        return False


def is_anomaly_enabled():
    """Whether ``detect_anomaly`` is on (each op's forward and backward checked for NaN/inf)."""
    return _state["anomaly"]


def check_finite(array, what):
    """Raise a RuntimeError when a floating ``array`` holds NaN or inf."""
    xp = backend.get_array_module(array)
    if array.dtype.kind in "fc" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "inf"
        raise RuntimeError(f"anomaly detected: {what} produced {kind} values")


def remember_call_site(fn):
    """Anomaly mode: keep where ``fn`` was called, to name it if its backward goes wrong."""
    fn.created_at = "".join(traceback.format_stack(limit=9)[:-3])


def check_forward(fn, out):
    """Anomaly mode: the forward of ``fn`` must give finite values."""
    if not _state["in_backward"]:
        check_finite(out.data, f"forward of {type(fn).__name__}")


def check_backward(fn, grad):
    """Anomaly mode: the backward of ``fn`` must give finite gradients."""
    try:
        check_finite(grad.data, f"backward of {type(fn).__name__}")
    except RuntimeError as exc:
        where = getattr(fn, "created_at", "")
        raise RuntimeError(f"{exc}; the op was called at:\n{where}") from None


@contextlib.contextmanager
def inside_backward():
    """Mark that a node's backward is running (anomaly mode then blames that node)."""
    outer, _state["in_backward"] = _state["in_backward"], True
    try:
        yield
    finally:
        _state["in_backward"] = outer
