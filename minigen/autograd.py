"""Reverse-mode automatic differentiation: the Function node and the backward walk.

Every op that computes a Tensor from Tensors is a ``Function``. Its ``forward`` works on raw
arrays; when gradients are wanted, the Function remembers its inputs and becomes the ``_ctx`` of
its output. ``backward(g)`` returns one gradient per input (the vector-Jacobian product g^T J),
written with Tensor ops, so that with ``create_graph=True`` the backward pass is itself recorded
and can be differentiated again (lecture §5.2's gradient penalty).

``run_backward`` is the whole algorithm: sort the graph topologically, then walk it once from the
outputs to the leaves, handing each node the sum of the gradients that reached its output. What
the walk needs besides (which tensors grad() wants, how a leaf's ``.grad`` owns its array, the
checks around each backward call) sits in small functions after it; grad mode and anomaly mode
are in ``modes.py``.
"""
import weakref

from . import backend, modes
from .modes import (detect_anomaly, enable_grad, is_anomaly_enabled,  # noqa: F401  (re-exported)
                    is_grad_enabled, no_grad, set_grad_enabled)


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
        if len(inputs) > 1 and backend.cupy_loaded():
            _check_same_device(cls, inputs)
        out = Tensor(fn.forward(*[t.data for t in inputs]))
        # only floating outputs join the graph: x.long() or x > 0 of a tensor needing grad is
        # a constant, as in torch
        if modes.is_grad_enabled() and out.data.dtype.kind in "fc" \
                and any(t.requires_grad for t in inputs):
            out._requires_grad = True  # the dtype was checked just above
            out._ctx = fn
            fn.inputs = inputs
            fn._output = weakref.ref(out)
            if modes.is_anomaly_enabled():
                modes.remember_call_site(fn)
        if modes.is_anomaly_enabled():
            modes.check_forward(fn, out)
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
        if t._ctx is not None:
            _check_not_freed(t._ctx)
            stack.extend((p, False) for p in t._ctx.inputs
                         if p.requires_grad and id(p) not in seen)
    return order


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``inputs=None`` gradients are summed into the ``.grad`` of leaves (and of tensors that
    called ``retain_grad``); otherwise the gradients of ``inputs`` are returned and ``.grad`` is
    left untouched.
    """
    order = _topological_order(roots)
    wanted = _wanted(order, inputs)
    grads = _Gradients(roots, root_grads, inputs)
    with set_grad_enabled(create_graph):
        for t in reversed(order):               # outputs first, leaves last
            g = grads.pop(t)                    # the sum of what reached t
            if g is None:
                continue
            grads.deliver(t, g, create_graph)   # a leaf's .grad, or a result of grad()
            fn = t._ctx
            if fn is None:
                continue
            for x, gx in zip(fn.inputs, _vector_jacobian_products(fn, g, wanted, create_graph)):
                if gx is not None:
                    grads.add(x, gx)
            if not retain_graph:
                fn.free()
    return grads.results()


# ----------------------------------------------------------------------------- beside the walk
def _wanted(order, inputs):
    """Which tensors need a gradient: all that require one for backward(); for grad(inputs) only
    those from which some input can be reached (the rest of the graph is pruned)."""
    if inputs is None:
        return None
    wanted = {id(t) for t in inputs}
    for t in order:  # inputs come before outputs
        if t._ctx is not None and any(id(p) in wanted for p in t._ctx.inputs):
            wanted.add(id(t))
    return wanted


def _vector_jacobian_products(fn, g, wanted, create_graph):
    """The gradients ``fn.backward(g)`` gives its inputs, checked (shape, dtype, anomaly mode);
    None for an input that needs none."""
    needs = tuple(p.requires_grad and (wanted is None or id(p) in wanted) for p in fn.inputs)
    if not any(needs):
        return ()
    if create_graph and not fn.differentiable_backward:
        raise RuntimeError(
            f"{type(fn).__name__} does not support double backward: its backward is not written "
            "in differentiable ops, so create_graph=True cannot go through it")
    fn.needs_input_grad = needs
    with modes.inside_backward():
        in_grads = fn.backward(g)
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    return tuple(_conform(gp, p, fn) if need and gp is not None else None
                 for p, gp, need in zip(fn.inputs, in_grads, needs))


def _conform(g, p, fn):
    """Check a gradient's shape against its input and cast it to the input's dtype."""
    if g.data.shape != p.data.shape:
        raise RuntimeError(
            f"internal error: backward of {type(fn).__name__} returned a gradient of shape "
            f"{tuple(g.shape)} for an input of shape {tuple(p.shape)}")
    if g.data.dtype != p.data.dtype:
        g = g.to(p.dtype)
    if modes.is_anomaly_enabled():
        modes.check_backward(fn, g)
    return g


class _Gradients:
    """The gradients in flight during one walk, keyed by tensor, and where they end up."""

    def __init__(self, roots, root_grads, inputs):
        self.pending = {}
        self.inputs = inputs
        self.targets = None if inputs is None else {id(t) for t in inputs}
        self.captured = {}
        # ids of arrays that a caller holds or a leaf's .grad already owns (see _store_grad)
        self.handed_out = set()
        for r, g in zip(roots, root_grads):
            self.add(r, g)
            self.handed_out.add(id(g.data))

    def add(self, t, g):
        prev = self.pending.get(id(t))
        self.pending[id(t)] = g if prev is None else prev + g

    def pop(self, t):
        return self.pending.pop(id(t), None)

    def deliver(self, t, g, create_graph):
        if self.targets is not None:
            if id(t) in self.targets:
                self.captured[id(t)] = g
        elif t._ctx is None or t._retain_grad:
            _store_grad(t, g, create_graph, self.handed_out)

    def results(self):
        if self.inputs is None:
            return None
        return tuple(self.captured.get(id(t)) for t in self.inputs)


def _store_grad(t, g, create_graph, handed_out):
    """Sum ``g`` into ``t.grad``. Optimizers change ``.grad`` in place, so a new ``.grad`` must own
    its array: it is copied when it is the caller's gradient, an array another leaf already
    received (the backward of a + b passes g to both), or a view into some other array."""
    if t.grad is not None:
        t.grad = t.grad + g  # a new tensor; with a graph only under create_graph
    elif create_graph and g.requires_grad:
        t.grad = g  # part of the recorded graph, so it cannot be changed in place
    else:
        a = g.data
        if id(a) in handed_out or getattr(a, "base", None) is not None \
                or not backend.is_writable(a):
            a = a.copy()
        handed_out.add(id(a))
        t.grad = Tensor(a)


def _check_same_device(cls, inputs):
    devices = {t.device for t in inputs}
    if len(devices) > 1:
        raise RuntimeError(
            f"{cls.__name__} got tensors on different devices: "
            + ", ".join(f"{tuple(t.shape)} on {t.device}" for t in inputs)
            + "; move them to one device with .to(device)")


def _check_not_freed(fn):
    if fn.freed:
        raise RuntimeError(
            "Trying to backward through the graph a second time (its saved values were freed by "
            "the first backward). Pass retain_graph=True to the first backward() or "
            "autograd.grad() call if you need to go through it again.")


# ----------------------------------------------------------------------------- the public calls
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
