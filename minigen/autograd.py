"""Reverse-mode automatic differentiation: the Function node and the graph walk.

The idea in one paragraph: every op that computes a Tensor from Tensors is a ``Function``. Its
``forward`` works on raw arrays; when gradients are wanted, the Function remembers its inputs and
becomes the ``_ctx`` of the output. ``backward(grad_output)`` returns one gradient per input, written
with Tensor ops, so the backward pass is itself a graph when ``create_graph=True`` (gradients of
gradients, lecture §5.2's gradient penalty). ``run_backward`` sorts the graph topologically and walks
it once from the outputs to the leaves, summing the gradients that meet at each tensor.
"""
import contextlib
import functools
import traceback
import weakref

from . import backend

# in_backward: set while a node's backward runs, so that anomaly mode blames that node (in
# _conform) rather than the Div or Mul inside its backward formula
_state = {"grad_enabled": True, "anomaly": False, "in_backward": False}


def is_grad_enabled():
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
    return _state["anomaly"]


def _check_finite(array, what):
    xp = backend.get_array_module(array)
    if array.dtype.kind in "fc" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "inf"
        raise RuntimeError(f"anomaly detected: {what} produced {kind} values")


class Function:
    """One primitive op. Subclasses define ``forward(*arrays)`` and ``backward(grad_output)``.

    Non-tensor arguments (dims, shapes, constants) are given as keywords to ``apply`` and become
    attributes of the node. In ``backward``, ``self.inputs`` are the input Tensors, ``self.output``
    the output Tensor, and ``self.needs_input_grad`` says which input gradients are wanted, so a
    backward may skip work (return None for those).
    """

    differentiable_backward = True  # set False where backward is not written in Tensor ops

    def __init__(self, **params):
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls(**params)
        arrays = [t.data for t in inputs]
        if len(arrays) > 1 and backend.cupy_loaded():
            _check_same_device(cls, inputs)
        out = Tensor(fn.forward(*arrays))
        # only floating outputs join the graph: x.long() or x > 0 of a tensor needing grad is
        # a constant, as in torch
        if _state["grad_enabled"] and out.data.dtype.kind in "fc" \
                and any(t.requires_grad for t in inputs):
            out._requires_grad = True  # the dtype was checked just above
            out._ctx = fn
            fn.inputs = inputs
            fn._output = weakref.ref(out)
            if _state["anomaly"]:
                fn.created_at = "".join(traceback.format_stack(limit=8)[:-2])
        if _state["anomaly"] and not _state["in_backward"]:
            _check_finite(out.data, f"forward of {cls.__name__}")
        return out

    @property
    def output(self):
        return self._output()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def free(self):
        """Drop what the node holds once backward has used it (unless retain_graph)."""
        self.__dict__.clear()
        self.freed = True

    freed = False


def _check_same_device(cls, inputs):
    devices = {t.device for t in inputs}
    if len(devices) > 1:
        raise RuntimeError(
            f"{cls.__name__} got tensors on different devices: "
            + ", ".join(f"{tuple(t.shape)} on {t.device}" for t in inputs)
            + "; move them to one device with .to(device)")


def _topological_order(roots):
    """Tensors that need a gradient, each after every tensor it was computed from (iterative DFS,
    so that long recurrent graphs do not hit Python's recursion limit)."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        ctx = t._ctx
        if ctx is not None:
            if ctx.freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (its saved values were "
                    "freed by the first backward). Pass retain_graph=True to the first "
                    "backward() or autograd.grad() call if you need to go through it again.")
            for p in ctx.inputs:
                if p.requires_grad and id(p) not in seen:
                    stack.append((p, False))
    return order


def _needed(order, targets):
    """ids of tensors from which some target can be reached: only they need gradients."""
    needed = set(targets)
    for t in order:  # inputs come before outputs
        if t._ctx is not None and any(id(p) in needed for p in t._ctx.inputs):
            needed.add(id(t))
    return needed


def _accumulate(grads, key, g):
    prev = grads.get(key)
    grads[key] = g if prev is None else prev + g


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``inputs=None`` gradients are summed into the ``.grad`` of leaves (and of tensors that
    called ``retain_grad``); otherwise the gradients of ``inputs`` are returned and ``.grad`` is
    left untouched.
    """
    grads = {}
    handed_out = set()  # ids of arrays that a caller holds or a leaf's .grad already owns
    for r, g in zip(roots, root_grads):
        _accumulate(grads, id(r), g)
        handed_out.add(id(g.data))
    order = _topological_order(roots)
    targets = None if inputs is None else {id(t) for t in inputs}
    needed = None if targets is None else _needed(order, targets)
    captured = {}
    with set_grad_enabled(create_graph):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if targets is not None:
                if id(t) in targets:
                    captured[id(t)] = g
            elif t._ctx is None or t._retain_grad:
                _store_grad(t, g, create_graph, handed_out)
            ctx = t._ctx
            if ctx is None:
                continue
            needs = tuple(p.requires_grad and (needed is None or id(p) in needed)
                          for p in ctx.inputs)
            if any(needs):
                if create_graph and not ctx.differentiable_backward:
                    raise RuntimeError(
                        f"{type(ctx).__name__} does not support double backward: its backward is "
                        "not written in differentiable ops, so create_graph=True cannot go through it")
                ctx.needs_input_grad = needs
                outer, _state["in_backward"] = _state["in_backward"], True
                try:
                    in_grads = ctx.backward(g)
                finally:
                    _state["in_backward"] = outer
                if not isinstance(in_grads, tuple):
                    in_grads = (in_grads,)
                for p, gp, need in zip(ctx.inputs, in_grads, needs):
                    if need and gp is not None:
                        _accumulate(grads, id(p), _conform(gp, p, ctx))
            if not retain_graph:
                ctx.free()
    if targets is None:
        return None
    return tuple(captured.get(id(t)) for t in inputs)


def _conform(g, p, ctx):
    """Check a gradient's shape against its input and cast it to the input's dtype."""
    if g.data.shape != p.data.shape:
        raise RuntimeError(
            f"internal error: backward of {type(ctx).__name__} returned a gradient of shape "
            f"{tuple(g.shape)} for an input of shape {tuple(p.shape)}")
    if g.data.dtype != p.data.dtype:
        g = g.to(p.dtype)
    if _state["anomaly"]:
        where = getattr(ctx, "created_at", "")
        try:
            _check_finite(g.data, f"backward of {type(ctx).__name__}")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; the op was called at:\n{where}") from None
    return g


def _store_grad(t, g, create_graph, handed_out):
    if t.grad is not None:
        t.grad = t.grad + g  # a new tensor; with a graph only under create_graph
    elif create_graph and g.requires_grad:
        t.grad = g  # part of the recorded graph, so it cannot be changed in place
    else:
        # .grad is changed in place by optimizers, so it must own its array: copy when g is the
        # caller's gradient, an array another leaf already received (the backward of a + b
        # passes g to both), or a view into some other array
        a = g.data
        if id(a) in handed_out or getattr(a, "base", None) is not None \
                or not backend.is_writable(a):
            a = a.copy()
        handed_out.add(id(a))
        t.grad = Tensor(a)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Sum the gradients of ``tensors`` into the leaves' ``.grad`` (``Tensor.backward``)."""
    tensors, grad_tensors = _roots(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, grad_tensors, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (``.grad`` untouched).

    Like ``torch.autograd.grad``: with ``create_graph=True`` the returned gradients are themselves
    differentiable; an input that the outputs do not depend on raises unless ``allow_unused``.
    """
    outputs, grad_outputs = _roots(outputs, grad_outputs, "grad")
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad; "
                               "create it with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {tuple(inputs[i].shape)}) was not used to "
                "compute the outputs; pass allow_unused=True if that is expected")
    return result


def _roots(tensors, grads, who):
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grads is None:
        grads = (None,) * len(tensors)
    elif isinstance(grads, Tensor) or hasattr(grads, "__array_interface__") \
            or backend.is_cupy_array(grads):
        grads = (grads,)  # one array is one gradient, not a sequence of rows
    grads = tuple(grads)
    if len(grads) != len(tensors):
        raise ValueError(f"{who}: got {len(tensors)} outputs but {len(grads)} gradients for them")
    out = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise RuntimeError(
                f"{who}: a tensor of shape {tuple(t.shape)} does not require grad and has no "
                "graph; did you compute it under no_grad() or from tensors without requires_grad?")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{who}: gradient can be implied only for scalar outputs, but the output has "
                    f"shape {tuple(t.shape)}; pass a gradient of that shape")
            g = Tensor(backend.get_array_module(t.data).ones_like(t.data))
        elif not isinstance(g, Tensor):
            g = Tensor(backend.get_array_module(t.data).asarray(g, dtype=t.data.dtype))
        if g.shape != t.shape:
            raise ValueError(f"{who}: the gradient has shape {tuple(g.shape)} but the output has "
                             f"shape {tuple(t.shape)}")
        out.append(g)
    return tensors, tuple(out)


from .tensor import Tensor  # noqa: E402  (tensor.py imports this module's names at call time)
