"""Checking gradients: finite-difference gradcheck / gradgradcheck, and hypothesis strategies.

gradcheck(fn, inputs) compares the gradient that autograd computes with a numerical one. With a
random cotangent v for the outputs, the scalar L(x) = sum_k <fn(x)_k, v_k> has the gradient
dL/dx = J^T v, which autograd gives in one backward pass; numerically, every element x_j of every
input is moved by +-eps and

    dL/dx_j  ~  (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)      (error O(eps^2), in float64)

so every element of every input gradient is checked, and a wrong entry of J shows up for almost
every v. gradgradcheck applies the same check to the first-order map (x, v) -> J(x)^T v built with
create_graph=True, which checks the gradients of gradients (e.g. a gradient penalty, lecture §5.2).

The strategies at the end (``shapes``, ``broadcastable_shapes``, ``arrays``, ``non_contiguous`` and
the element strategies ``positive``, ``away_from_zero``, ``grid``) draw the inputs that find edge
cases: 0-d and size-1 dims, broadcasting, strided memory, ties, and domains where log, sqrt and
division are defined.

    from minigen.testing import gradcheck
    x = mg.tensor(np.random.rand(3, 4) + 0.5, requires_grad=True)     # float64
    gradcheck(lambda x: (x.log() * x).sum(dim=1), [x])
"""
import numpy as np

from . import autograd, backend
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "shapes", "broadcastable_shapes", "arrays",
           "non_contiguous", "floats", "positive", "away_from_zero", "grid"]


# --------------------------------------------------------------------------- gradient checks
def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check fn's gradients against central finite differences, for every input requiring grad.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; ``inputs`` is a Tensor or a sequence
    of Tensors (and other values, passed through). Every input that requires grad, and every
    floating output, must be float64: in float32 the differences are swamped by rounding. An
    element passes when |analytic - numeric| <= atol + rtol * |numeric|. Returns True, or raises
    an AssertionError naming the input, the worst element and both values (returns False instead
    when ``raise_exception`` is False).
    """
    return _check(fn, _as_inputs(inputs), eps, atol, rtol, raise_exception, seed, "gradcheck")


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of (x, v) -> grad(fn(x), x, grad_outputs=v).

    The first-order gradient is built with create_graph=True and checked, by finite differences
    of itself, with respect to both the inputs and the cotangent v (its derivative in v is J^T,
    in x the Hessian-vector products). ``grad_outputs`` gives v (one float64 Tensor per output);
    by default it is random.
    """
    inputs = _as_inputs(inputs)
    _require_float64(inputs, "gradgradcheck")
    outputs = _as_outputs(fn(*inputs))
    _require_float64_outputs(outputs, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor(_like(o.data, rng.standard_normal(o.shape))) for o in outputs]
    else:
        grad_outputs = list(_as_inputs(grad_outputs))
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"gradgradcheck: fn has {len(outputs)} outputs but "
                             f"{len(grad_outputs)} grad_outputs were given")
    vs = [Tensor(v.data.copy(), requires_grad=o.requires_grad)
          for v, o in zip(grad_outputs, outputs)]
    n = len(inputs)
    diff = [i for i, x in enumerate(inputs) if _requires_grad(x)]

    def first_order(*args):
        xs, vs_ = args[:n], args[n:]
        outs = _as_outputs(fn(*xs))
        pairs = [(o, v) for o, v in zip(outs, vs_) if o.requires_grad]
        if not pairs or not diff:
            return tuple(Tensor(xs[i].data * 0) for i in diff)
        grads = autograd.grad([o for o, _ in pairs], [xs[i] for i in diff],
                              grad_outputs=[v for _, v in pairs], create_graph=True,
                              allow_unused=True)
        return tuple(g if g is not None else Tensor(xs[i].data * 0) for i, g in zip(diff, grads))

    return _check(first_order, list(inputs) + vs, eps, atol, rtol, raise_exception, seed,
                  "gradgradcheck", grad_while_differencing=True)


def _check(fn, inputs, eps, atol, rtol, raise_exception, seed, who,
           grad_while_differencing=False):
    _require_float64(inputs, who)
    diff = [i for i, x in enumerate(inputs) if _requires_grad(x)]
    if not diff:
        raise ValueError(f"{who}: no input requires grad, so there is nothing to check")
    outputs = _as_outputs(fn(*inputs))
    _require_float64_outputs(outputs, who)
    rng = np.random.default_rng(seed)
    cotangents = [_like(o.data, rng.standard_normal(o.shape)) for o in outputs]

    analytic = _analytic(outputs, [inputs[i] for i in diff], cotangents)
    for i, g in zip(diff, analytic):
        message = _compare(g, _numeric(fn, inputs, i, cotangents, eps, grad_while_differencing),
                           inputs[i], i, atol, rtol, who)
        if message is not None:
            if raise_exception:
                raise AssertionError(message)
            return False
    return True


def _analytic(outputs, xs, cotangents):
    """J^T v for every input in xs, by one backward pass (zeros where an input is unused)."""
    pairs = [(o, Tensor(v)) for o, v in zip(outputs, cotangents) if o.requires_grad]
    if pairs:
        grads = autograd.grad([o for o, _ in pairs], xs, grad_outputs=[v for _, v in pairs],
                              allow_unused=True)
    else:
        grads = (None,) * len(xs)
    out = []
    for x, g in zip(xs, grads):
        if g is None:
            out.append(np.zeros(x.shape))
            continue
        if g.shape != x.shape or g.dtype != x.dtype:
            raise AssertionError(f"the gradient has shape {g.shape} and dtype {g.dtype} but its "
                                 f"input has shape {x.shape} and dtype {x.dtype}")
        out.append(backend.to_numpy(g.data))
    return out


def _numeric(fn, inputs, i, cotangents, eps, grad_while_differencing):
    """(L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for every element j of input i."""
    x = inputs[i]
    moved = x.data.copy()  # contiguous copy: the same values; the caller's array is untouched
    flat = moved.reshape(-1)
    numeric = np.empty(x.numel())

    def objective():
        args = list(inputs)
        args[i] = Tensor(moved, requires_grad=grad_while_differencing)
        if grad_while_differencing:
            outs = _as_outputs(fn(*args))
        else:
            with autograd.no_grad():
                outs = _as_outputs(fn(*args))
        return sum(float((backend.to_numpy(o.data) * backend.to_numpy(v)).sum())
                   for o, v in zip(outs, cotangents))

    for j in range(x.numel()):
        original = flat[j].copy()
        flat[j] = original + eps
        plus = objective()
        flat[j] = original - eps
        minus = objective()
        flat[j] = original
        numeric[j] = (plus - minus) / (2 * eps)
    return numeric.reshape(x.shape)


def _compare(analytic, numeric, x, i, atol, rtol, who):
    """None when every element passes, else a message about the worst one."""
    excess = np.abs(analytic - numeric) / (atol + rtol * np.abs(numeric))
    if x.numel() == 0 or (np.isfinite(excess).all() and excess.max() <= 1):
        return None
    bad = np.where(np.isfinite(excess), excess, np.inf)
    j = np.unravel_index(int(np.argmax(bad)), x.shape)
    n_bad = int((~(excess <= 1)).sum())
    return (f"{who} failed for input {i} (shape {x.shape}) at element {tuple(int(k) for k in j)}: "
            f"analytic {float(analytic[j])!r} vs numeric {float(numeric[j])!r} "
            f"(tolerance atol {atol} + rtol {rtol} * |numeric|; {n_bad} of {x.numel()} "
            f"elements fail)")


def _as_inputs(inputs):
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _as_outputs(out):
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"the checked function must return Tensors, got {type(o).__name__}")
    return outs


def _requires_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


def _require_float64(inputs, who):
    for i, x in enumerate(inputs):
        if _requires_grad(x) and x.dtype != np.float64:
            raise TypeError(f"{who}: input {i} has dtype {x.dtype}; finite differences need "
                            "float64 inputs (make them with dtype=mg.float64 or .double())")


def _require_float64_outputs(outputs, who):
    for k, o in enumerate(outputs):
        if o.dtype != np.float64:
            raise TypeError(f"{who}: output {k} has dtype {o.dtype}; finite differences need "
                            "float64 outputs")


def _like(array, values):
    """``values`` as an array of ``array``'s dtype on its device."""
    xp = backend.get_array_module(array)
    return xp.asarray(np.asarray(values, dtype=array.dtype))


# --------------------------------------------------------------------------- hypothesis strategies
def _st():
    import hypothesis.strategies as st  # hypothesis is a test dependency, imported on demand
    return st


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5, max_numel=None):
    """Tensor shapes, 0-d included; size-1 dims are drawn often (they are where broadcasting and
    squeezing go wrong). ``max_numel`` bounds the number of elements."""
    st = _st()
    side = st.one_of(st.just(1), st.integers(min_side, max_side)) if min_side <= 1 \
        else st.integers(min_side, max_side)
    out = st.lists(side, min_size=min_dims, max_size=max_dims).map(tuple)
    if max_numel is not None:
        out = out.filter(lambda s: int(np.prod(s)) <= max_numel)
    return out


def broadcastable_shapes(n=2, min_dims=0, max_dims=4, max_side=4):
    """Groups of ``n`` shapes that broadcast together: each drops some leading dims of a common
    shape and turns some of the rest into size 1."""
    st = _st()

    @st.composite
    def group(draw):
        full = draw(shapes(min_dims, max_dims, 1, max_side))
        out = []
        for _ in range(n):
            lead = draw(st.integers(0, len(full)))
            ones = draw(st.lists(st.booleans(), min_size=len(full) - lead,
                                 max_size=len(full) - lead))
            out.append(tuple(1 if one else s for s, one in zip(full[lead:], ones)))
        return tuple(out)

    return group()


def floats(low=-3.0, high=3.0):
    """Finite floats in [low, high] (float32 numbers, so float32 copies hold the same values)."""
    low, high = float(np.float32(low)), float(np.float32(high))
    return _st().floats(low, high, allow_nan=False, allow_infinity=False, width=32)


def positive(low=0.5, high=3.0):
    """Elements for log, sqrt, a divisor or a fractional power's base: away from 0 and its kink."""
    return floats(low, high)


def away_from_zero(low=0.2, high=3.0):
    """Elements of either sign with |x| in [low, high] (for 1/x, abs, relu: no kink at 0)."""
    st = _st()
    return st.tuples(floats(low, high), st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


def grid(offset=0.013, step=0.05, steps=60):
    """Elements on the grid k * step + offset, |k| <= steps. With ``unique=True`` in ``arrays``
    they are distinct and at least ``step`` apart (no ties for amax, no equal pairs for maximum),
    and never closer than min(offset, step - offset) to a multiple of ``step`` (0, or a clamp
    bound like 0.5). Two inputs drawn with different offsets never share a value."""
    return _st().integers(-steps, steps).map(lambda k: round(k * step + offset, 12))


def arrays(shape, dtype=np.float64, elements=None, unique=False):
    """NumPy arrays of ``shape`` (a shape or a strategy of shapes) with ``elements`` (default:
    floats in [-3, 3] for float dtypes, any value of other dtypes). Built on
    hypothesis.extra.numpy, so values shrink and often repeat (ties)."""
    from hypothesis.extra import numpy as hnp
    dtype = np.dtype(dtype)
    if elements is None and dtype.kind == "f":
        elements = floats()
    return hnp.arrays(dtype, shape, elements=elements, unique=unique)


def non_contiguous(array):
    """The same values in strided, non-contiguous memory (axes reversed, every other element of a
    larger buffer), to catch ops that assume C order. 0-d arrays are returned unchanged."""
    a = np.asarray(array)
    if a.ndim == 0:
        return a.copy()
    buffer = np.empty(a.shape[::-1] + (2,), dtype=a.dtype)
    view = buffer[..., 0].transpose(tuple(reversed(range(a.ndim))))
    view[...] = a
    return view
