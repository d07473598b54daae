"""Where the time goes: a profiler of minigen's ops, per op class, forward and backward.

    import minigen as mg
    prof = mg.profile(train_step, steps=3, warmup=1)   # run train_step() 1 + 3 times
    print(prof.table())

    with mg.profile() as prof:                          # or around any block of code
        loss = model(x).sum()
        loss.backward()
    print(prof.table(by_shape=True))                    # one row per op and input shapes

``minigen train MODEL --profile`` prints the table of a whole training run.

What is counted, so that the rows add up to the wall time:

- forward: each call of an op (``Function.apply``: the array kernel and the bookkeeping of the
  graph) made outside a backward pass.
- backward: each call of an op's ``backward`` (its gradient formula, including the ops that
  formula calls, e.g. Conv2dOp's backward running ConvTranspose2dOp and Conv2dWeightGradOp), and
  the ops that the backward walk itself calls outside any formula (summing the gradients that
  meet at a tensor, AddOp; casting one to its input's dtype).
- outside ops: everything else in the profiled code, e.g. Python in the model's forward, the
  optimizer's update on raw arrays, data loading.

Times are per measured step (``steps``), wall-clock by default; ``clock="cpu"`` counts this
process's CPU time instead (on a machine shared with other jobs, the time this process was
actually running; with several BLAS threads it adds up their time). On a GPU the profiler waits for the device at
the end of each op, so the times are the ops' own, not the launch of asynchronous kernels (and
the profiled code runs slower than without it).

How it works: while active it wraps ``Function.apply`` and, on first use of each op class, that
class's ``backward``, and restores both on exit; nothing is changed while no profiler runs.
"""
import collections
import time

from . import autograd, backend
from .autograd import Function

_Row = collections.namedtuple("_Row", "op shapes forward_calls forward_s backward_calls "
                                      "backward_s")


class Profile:
    """Collects op timings while active (a context manager); ``table()`` prints them."""

    def __init__(self, clock="wall"):
        if clock not in _CLOCKS:
            raise ValueError(f"profile: clock must be 'wall' or 'cpu', got {clock!r}")
        self.clock = clock
        self._now = _CLOCKS[clock]
        self.calls = collections.defaultdict(int)    # (op, shapes, phase) -> calls
        self.seconds = collections.defaultdict(float)
        self.wall_s = 0.0
        self.steps = 1
        self._depth = 0          # > 0 inside a recorded region: nested ops are not recorded
        self._walks = 0          # > 0 inside a backward walk
        self._patched = {}       # class -> its own backward, as it was before
        self._saved_apply = None
        self._saved_walk = None

    # ------------------------------------------------------------------------- recording
    def __enter__(self):
        if _active[0] is not None:
            raise RuntimeError("a minigen profiler is already running; profiles cannot nest")
        _active[0] = self
        self._saved_apply = Function.__dict__["apply"]
        self._saved_walk = autograd.run_backward
        apply, profile = self._saved_apply.__func__, self

        def profiled_apply(cls, *inputs, **params):
            profile._patch_backward(cls)
            if profile._depth:
                return apply(cls, *inputs, **params)
            phase = "backward" if profile._walks else "forward"
            with profile._region(cls.__name__, inputs, phase):
                return apply(cls, *inputs, **params)

        def profiled_walk(*args, **kwargs):
            profile._walks += 1
            try:
                return profile._saved_walk(*args, **kwargs)
            finally:
                profile._walks -= 1

        Function.apply = classmethod(profiled_apply)
        autograd.run_backward = profiled_walk
        self._start = self._now()
        return self

    def __exit__(self, *exc):
        _synchronize()
        self.wall_s += self._now() - self._start
        Function.apply = self._saved_apply
        autograd.run_backward = self._saved_walk
        for cls, original in self._patched.items():
            cls.backward = original
        self._patched.clear()
        _active[0] = None
        return False

    def _patch_backward(self, cls):
        owner = next((k for k in cls.__mro__ if "backward" in k.__dict__), None)
        if owner is None or owner is Function or owner in self._patched:
            return
        original, profile = owner.__dict__["backward"], self

        def profiled_backward(fn, g):
            if profile._depth:
                return original(fn, g)
            with profile._region(type(fn).__name__, fn.inputs, "backward"):
                return original(fn, g)

        self._patched[owner] = original
        owner.backward = profiled_backward

    def _region(self, op, inputs, phase):
        return _Region(self, op, tuple(tuple(t.shape) for t in inputs), phase)

    # ------------------------------------------------------------------------- reporting
    def rows(self, by_shape=False):
        """One row per op class (per op and input shapes with ``by_shape``), seconds per step,
        the most expensive first."""
        merged = collections.defaultdict(lambda: [0, 0.0, 0, 0.0])
        for (op, shapes, phase), calls in self.calls.items():
            key = (op, shapes if by_shape else None)
            column = 0 if phase == "forward" else 2
            merged[key][column] += calls
            merged[key][column + 1] += self.seconds[(op, shapes, phase)]
        rows = [_Row(op, shapes, fc / self.steps, fs / self.steps, bc / self.steps,
                     bs / self.steps) for (op, shapes), (fc, fs, bc, bs) in merged.items()]
        return sorted(rows, key=lambda r: -(r.forward_s + r.backward_s))

    def ops_seconds(self):
        """Seconds per step spent in ops (forward and backward)."""
        return sum(self.seconds.values()) / self.steps

    def table(self, by_shape=False, limit=None):
        """The rows as a text table, with totals, the time outside ops and the wall time."""
        rows = self.rows(by_shape)[:limit]
        wall = self.wall_s / self.steps
        width = max([len(_label(r, by_shape)) for r in rows] + [len("outside ops")]) + 2
        head = (f"{'op':<{width}}{'fwd calls':>10}{'fwd ms':>10}{'bwd calls':>10}{'bwd ms':>10}"
                f"{'total ms':>10}{'%':>7}")
        clock = "wall-clock" if self.clock == "wall" else "CPU"
        lines = [f"minigen profile: {self.steps} step(s), {clock} ms per step", head, "-" * len(head)]
        for r in rows:
            total = r.forward_s + r.backward_s
            lines.append(f"{_label(r, by_shape):<{width}}{_count(r.forward_calls):>10}"
                         f"{1e3 * r.forward_s:>10.1f}{_count(r.backward_calls):>10}"
                         f"{1e3 * r.backward_s:>10.1f}{1e3 * total:>10.1f}"
                         f"{_percent(total, wall):>7}")
        fwd = sum(s for (_, _, p), s in self.seconds.items() if p == "forward") / self.steps
        bwd = self.ops_seconds() - fwd
        lines.append("-" * len(head))
        lines.append(f"{'ops':<{width}}{'':>10}{1e3 * fwd:>10.1f}{'':>10}{1e3 * bwd:>10.1f}"
                     f"{1e3 * (fwd + bwd):>10.1f}{_percent(fwd + bwd, wall):>7}")
        outside = wall - fwd - bwd
        lines.append(f"{'outside ops':<{width}}{'':>40}{1e3 * outside:>10.1f}"
                     f"{_percent(outside, wall):>7}")
        lines.append(f"{'wall':<{width}}{'':>40}{1e3 * wall:>10.1f}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


class _Region:
    """Times one op call (or one backward) and records it unless it runs inside another."""

    __slots__ = ("profile", "key", "start")

    def __init__(self, profile, op, shapes, phase):
        self.profile, self.key = profile, (op, shapes, phase)

    def __enter__(self):
        self.profile._depth += 1
        self.start = self.profile._now()

    def __exit__(self, *exc):
        _synchronize()
        elapsed = self.profile._now() - self.start
        profile = self.profile
        profile._depth -= 1
        profile.calls[self.key] += 1
        profile.seconds[self.key] += elapsed
        return False


_active = [None]
_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def profile(fn=None, *args, steps=1, warmup=0, clock="wall", **kwargs):
    """Profile minigen's ops. ``profile()`` returns a context manager; ``profile(fn, *args,
    steps=S, warmup=W, **kwargs)`` calls fn W times unmeasured (first calls pay for allocations),
    then S times measured, and returns the Profile, whose ``table()`` gives ms per call of fn.
    ``clock`` is 'wall' (time.perf_counter) or 'cpu' (time.process_time)."""
    prof = Profile(clock)
    if fn is None:
        return prof
    if steps < 1 or warmup < 0:
        raise ValueError(f"profile: steps must be at least 1 and warmup at least 0, got "
                         f"steps={steps}, warmup={warmup}")
    for _ in range(warmup):
        fn(*args, **kwargs)
    with prof:
        for _ in range(steps):
            fn(*args, **kwargs)
    prof.steps = steps
    return prof


def _synchronize():
    if backend.cupy_loaded():
        backend.synchronize()


def _label(row, by_shape):
    if not by_shape or row.shapes is None:
        return row.op
    return f"{row.op} " + " ".join("x".join(map(str, s)) or "()" for s in row.shapes)


def _count(calls):
    return f"{calls:g}" if calls else ""


def _percent(part, whole):
    return f"{100 * part / whole:.1f}" if whole > 0 else ""
