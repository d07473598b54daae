"""Grading a function or a layer against minigen's reference on hypothesis-drawn inputs.

A function is checked in float64 in up to four parts, each on its own drawn inputs:

  forward          student(x) == reference(x): shape, dtype float64, values, also on inputs
                   in strided (non-contiguous) memory
  gradient         J_s^T v == J_r^T v for a random cotangent v (one backward pass each)
  gradgrad         d/dx <J^T v, u>: the gradient's own gradient (it exists only when the
                   student's backward is written in differentiable Tensor ops)
  extreme values   forward and gradient at large and tiny magnitudes of the op's domain
                   (an overflowing exp, a log of 1e-300): finite where the reference is finite

Inputs have broadcast-compatible shapes with size-1 dims and 0-d tensors (minigen.testing's
strategies). When a part fails, hypothesis shrinks the failing input, and the message shows the
smallest failing input with the expected and actual values.

A layer is checked against minigen's layer with the same weights (the reference's state_dict
loaded into the student's): state_dict keys and shapes, outputs, input gradients, parameter
gradients.
"""
import numpy as np

from .. import autograd, backend
from .. import testing as mt
from ..tensor import Tensor
from .core import CheckFailed

FUNCTION_PARTS = ("forward", "gradient", "gradgrad", "extreme values")
MODULE_PARTS = ("state_dict", "forward", "input gradient", "parameter gradients")


def _st():
    import hypothesis.strategies as st
    return st


# ----------------------------------------------------------------------------- input domains

def domain_elements(domain, extreme=False):
    """Element strategy of a domain: 'real', 'positive', 'nonzero', 'unit' (0 < x < 1), or a
    hypothesis strategy (used as is). ``extreme``: large and tiny magnitudes of that domain."""
    st = _st()
    if not isinstance(domain, str):
        return domain
    if extreme:
        big = [1e4, 1e3, 100.0, 30.0]
        if domain == "real":
            return st.sampled_from([-1e4, -1e3, -100.0, -30.0, 0.0, 1e-8, 30.0, 100.0, 1e3, 1e4])
        if domain == "positive":
            return st.sampled_from([1e-12, 1e-8, 1e-4] + big)
        if domain == "nonzero":
            return st.sampled_from([-1e4, -1e-6, 1e-6, 1e4, -100.0, 100.0])
        if domain == "unit":
            return st.sampled_from([1e-12, 1e-8, 1 - 1e-8, 1 - 1e-12, 0.5])
    else:
        if domain == "real":
            return mt.floats()
        if domain == "positive":
            return mt.positive()
        if domain == "nonzero":
            return mt.away_from_zero()
        if domain == "unit":
            return mt.floats(0.05, 0.95)
    raise ValueError(f"unknown domain {domain!r}; use 'real', 'positive', 'nonzero', 'unit' or a "
                     "hypothesis strategy of floats")


def input_arrays(nargs, domains, min_dims, max_dims, extreme=False):
    """A strategy of ``nargs`` float64 arrays of broadcast-compatible shapes."""
    st = _st()
    domains = list(domains) if isinstance(domains, (list, tuple)) else [domains] * nargs
    if len(domains) != nargs:
        raise ValueError(f"{len(domains)} domains given for {nargs} arguments")

    @st.composite
    def draw_inputs(draw):
        shapes = draw(mt.broadcastable_shapes(nargs, min_dims=min_dims, max_dims=max_dims))
        # every argument must keep min_dims dims after the drop of leading dims
        shapes = tuple(s if len(s) >= min_dims else (1,) * (min_dims - len(s)) + s
                       for s in shapes)
        return tuple(draw(mt.arrays(s, np.float64, domain_elements(d, extreme)))
                     for s, d in zip(shapes, domains))

    return draw_inputs()


def hypothesis_settings(max_examples):
    from hypothesis import HealthCheck, Phase, settings
    return settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=False,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])


def search(strategy, prop, max_examples, seed):
    """Run ``prop(example)`` on drawn examples; on a failure raise CheckFailed with the message
    of the shrunk (smallest) failing example. ``prop`` raises CheckFailed (or anything else)."""
    import hypothesis
    last = {}

    @hypothesis.seed(seed)          # the same inputs on every run: grades are reproducible
    @hypothesis_settings(max_examples)
    @hypothesis.given(strategy)
    def run(example):
        try:
            prop(example)
        except CheckFailed as exc:
            last["message"] = str(exc)
            raise
        except Exception as exc:
            last["message"] = (f"on input {format_inputs(example)}: raised "
                               f"{type(exc).__name__}: {exc}")
            raise

    try:
        run()
    except Exception as exc:
        # hypothesis replays the minimal failing example last, so ``last`` holds its message
        raise CheckFailed(last.get("message") or f"{type(exc).__name__}: {exc}") from None


# ----------------------------------------------------------------------------- formatting

def format_array(a, limit=6):
    a = np.asarray(a)
    text = np.array2string(a, precision=6, threshold=limit, edgeitems=3, separator=", ")
    return text if a.ndim == 0 else f"{text} (shape {a.shape})"


def format_inputs(arrays):
    return ", ".join(f"x{i} = {format_array(a)}" for i, a in enumerate(arrays))


def mismatch(what, inputs, expected, actual, rtol, atol):
    """None when ``actual`` matches ``expected``, else the message that says where and how."""
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual)
    if actual.shape != expected.shape:
        return (f"{what}: expected shape {expected.shape}, got {actual.shape} on input "
                f"{format_inputs(inputs)}")
    finite = np.isfinite(expected)
    ok = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    ok &= ~(finite & ~np.isfinite(actual))
    if ok.all():
        return None
    j = tuple(int(k) for k in np.argwhere(~ok)[0])
    return (f"{what} differs on input {format_inputs(inputs)}\n"
            f"  expected {format_array(expected)}\n  actual   {format_array(actual)}\n"
            f"  first difference at index {j}: expected {float(expected[j])!r}, got "
            f"{float(actual[j])!r} "
            f"({int((~ok).sum())} of {ok.size} elements differ; rtol {rtol}, atol {atol})")


def as_numpy(value, who):
    if not isinstance(value, Tensor):
        raise CheckFailed(f"{who} must return a minigen Tensor, got {type(value).__name__}")
    return backend.to_numpy(value.data)


def _grads(out, xs, cotangent, create_graph=False):
    """J^T v of ``out`` for every x (zeros for an x it does not use)."""
    if not out.requires_grad:
        return [None] * len(xs)
    return list(autograd.grad(out, xs, grad_outputs=Tensor(cotangent), allow_unused=True,
                              create_graph=create_graph))


def _zeros_for_none(grads, xs):
    return [np.zeros(x.shape) if g is None else backend.to_numpy(g.data) for g, x in zip(grads, xs)]


# ----------------------------------------------------------------------------- function parts

class FunctionCheck:
    """The four parts of grading ``student`` against ``reference`` (both Tensors -> Tensor)."""

    def __init__(self, student, reference, nargs, kwargs, rtol, atol):
        self.student, self.reference = student, reference
        self.nargs, self.kwargs = nargs, dict(kwargs or {})
        self.rtol, self.atol = rtol, atol

    def _call(self, fn, arrays, requires_grad, strided=False):
        copy = mt.non_contiguous if strided else np.copy
        xs = [Tensor(copy(a), requires_grad=requires_grad) for a in arrays]
        return xs, fn(*xs, **self.kwargs)

    def forward(self, arrays):
        _, expected = self._call(self.reference, arrays, False)
        expected = backend.to_numpy(expected.data)
        # twice: C-ordered inputs, then the same values in strided memory (an op that reads
        # its array's buffer as if it were C-ordered gets the second wrong)
        for strided, memory in ((False, ""), (True, " (non-contiguous memory)")):
            _, actual = self._call(self.student, arrays, False, strided)
            actual_np = as_numpy(actual, "the function")
            if actual.dtype != np.float64:
                raise CheckFailed(f"float64 inputs must give a float64 output, got "
                                  f"{actual.dtype} on input {format_inputs(arrays)}")
            message = mismatch(f"the output{memory}", arrays, expected, actual_np, self.rtol,
                               self.atol)
            if message:
                raise CheckFailed(message)

    def _cotangent(self, shape, salt=0):
        rng = np.random.default_rng(abs(hash((tuple(shape), salt))) % 2**32)
        return rng.standard_normal(shape)

    def gradient(self, arrays):
        xs_r, out_r = self._call(self.reference, arrays, True)
        v = self._cotangent(out_r.shape)
        expected = _zeros_for_none(_grads(out_r, xs_r, v), xs_r)
        xs_s, out_s = self._call(self.student, arrays, True)
        as_numpy(out_s, "the function")
        if tuple(out_s.shape) != tuple(out_r.shape):
            raise CheckFailed(f"the output has shape {tuple(out_s.shape)}, expected "
                              f"{tuple(out_r.shape)}, on input {format_inputs(arrays)}")
        actual = _zeros_for_none(_grads(out_s, xs_s, v), xs_s)
        for i, (e, a) in enumerate(zip(expected, actual)):
            message = mismatch(f"the gradient with respect to x{i} (cotangent v = "
                               f"{format_array(v)})", arrays, e, a, self.rtol, self.atol)
            if message:
                raise CheckFailed(message)

    def _second(self, fn, arrays):
        xs, out = self._call(fn, arrays, True)
        v = self._cotangent(out.shape)
        first = _grads(out, xs, v, create_graph=True)
        us = [self._cotangent(x.shape, salt=i + 1) for i, x in enumerate(xs)]
        total = None
        for g, u in zip(first, us):
            if g is not None and g.requires_grad:
                term = (g * Tensor(u)).sum()
                total = term if total is None else total + term
        if total is None:
            return [np.zeros(x.shape) for x in xs]
        return _zeros_for_none(autograd.grad(total, xs, allow_unused=True), xs)

    def gradgrad(self, arrays):
        expected = self._second(self.reference, arrays)
        actual = self._second(self.student, arrays)
        for i, (e, a) in enumerate(zip(expected, actual)):
            message = mismatch(f"the gradient of the gradient with respect to x{i}", arrays,
                               e, a, self.rtol, self.atol)
            if message:
                if not np.any(a) and np.any(e):
                    message += ("\n  the student's second derivative is zero everywhere: is "
                                "backward written in Tensor ops (not NumPy), so that "
                                "create_graph=True can record it?")
                raise CheckFailed(message)

    def extreme(self, arrays):
        self.forward(arrays)
        self.gradient(arrays)


# ----------------------------------------------------------------------------- module parts

class ModuleCheck:
    """Grading a student's layer against a reference layer with the same weights (float64)."""

    def __init__(self, student, reference, input_shape, rtol, atol):
        self.student = student.double()
        self.reference = reference.double()
        self.input_shape = tuple(input_shape)
        self.rtol, self.atol = rtol, atol

    def state_dict(self):
        ref = {k: tuple(v.shape) for k, v in self.reference.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in self.student.state_dict().items()}
        problems = [f"missing key {k!r} (shape {s})" for k, s in ref.items() if k not in got]
        problems += [f"unexpected key {k!r} (shape {s})" for k, s in got.items() if k not in ref]
        problems += [f"key {k!r} has shape {got[k]}, expected {s}" for k, s in ref.items()
                     if k in got and got[k] != s]
        if problems:
            raise CheckFailed("the state_dict differs from the reference's: " +
                              "; ".join(problems))

    def load(self):
        """The reference's weights copied into the student's layer."""
        state = {k: backend.to_numpy(v.data).copy()
                 for k, v in self.reference.state_dict().items()}
        try:
            self.student.load_state_dict(state)
        except Exception as exc:
            raise CheckFailed(f"cannot load the reference's state_dict into the student's "
                              f"layer ({type(exc).__name__}: {exc}), so its outputs cannot be "
                              f"compared") from None

    def inputs(self):
        st = _st()
        return st.integers(1, 3).flatmap(
            lambda n: mt.arrays((n,) + self.input_shape, np.float64, mt.floats()))

    def _run(self, module, x, v):
        module.zero_grad()
        xt = Tensor(x.copy(), requires_grad=True)
        out = module(xt)
        out_np = as_numpy(out, "the layer")
        if not out.requires_grad:
            return out_np, np.zeros(x.shape), {}
        out.backward(Tensor(v))
        grads = {name: (np.zeros(p.shape) if p.grad is None else backend.to_numpy(p.grad.data))
                 for name, p in module.named_parameters()}
        gx = np.zeros(x.shape) if xt.grad is None else backend.to_numpy(xt.grad.data)
        return out_np, gx, grads

    def compare(self, part, x):
        self.load()
        with autograd.no_grad():
            shape = tuple(self.reference(Tensor(x.copy())).shape)
        v = np.random.default_rng(0).standard_normal(shape)
        out_r, gx_r, grads_r = self._run(self.reference, x, v)
        out_s, gx_s, grads_s = self._run(self.student, x, v)
        if part == "forward":
            pairs = [("the output", out_r, out_s)]
        elif part == "input gradient":
            pairs = [("the gradient with respect to the input", gx_r, gx_s)]
        else:
            pairs = [(f"the gradient of parameter {name!r}", g, grads_s.get(name))
                     for name, g in grads_r.items()]
        for what, expected, actual in pairs:
            if actual is None:
                raise CheckFailed(f"{what}: the student's layer has no such parameter")
            message = mismatch(what, [x], expected, actual, self.rtol, self.atol)
            if message:
                raise CheckFailed(message)
