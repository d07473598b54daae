"""The Tensor's in-place methods, for leaf tensors outside the graph only: ``x[i] = v``,
``zero_``, ``fill_``, ``copy_``, ``add_`` ... ``normal_``, and the refusal of ``x += y`` on a leaf
that requires grad (torch's rule: an in-place change would make the recorded graph wrong).

Tensor inherits them from ``InPlaceMethods``; they change ``self.data`` and never record an op.
"""
import numpy as np

from . import autograd, backend


class InPlaceMethods:
    """Mixed into Tensor (minigen/tensor.py)."""

    __slots__ = ()   # Tensor's own slots hold the state

    def _raw(self, value):
        return value.data if isinstance(value, type(self)) else value

    def _check_inplace(self, what):
        if self._ctx is not None:
            raise RuntimeError(f"{what}: in-place changes are allowed only on leaf tensors outside "
                               "the graph; this tensor was computed by an op")
        if self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"{what}: a leaf tensor that requires grad cannot be changed in "
                               "place while gradients are recorded; wrap it in mg.no_grad()")

    def _set(self, what, values):
        self._check_inplace(what)
        xp = backend.get_array_module(self.data)
        values = values.data if isinstance(values, type(self)) else values
        self.data[...] = xp.asarray(values, dtype=self.dtype)
        return self

    def _augmented(self, symbol, result):
        """``x += y`` and the like: torch changes x in place, which a leaf that requires grad
        refuses; here the same refusal, and otherwise the new value (as before)."""
        if self._ctx is None and self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"x {symbol}= ...: a leaf tensor that requires grad is being used "
                               f"in an in-place operation; write x = x {symbol} ... for a new "
                               f"tensor, or change it under mg.no_grad()")
        return result()

    def __iadd__(self, other):
        return self._augmented("+", lambda: self + other)

    def __isub__(self, other):
        return self._augmented("-", lambda: self - other)

    def __imul__(self, other):
        return self._augmented("*", lambda: self * other)

    def __itruediv__(self, other):
        return self._augmented("/", lambda: self / other)

    def zero_(self):
        """Fill with zeros in place (leaf tensors outside the graph only); returns this tensor."""
        return self._set("zero_", 0)

    def fill_(self, value):
        """Fill with the number ``value`` in place (leaf tensors outside the graph only)."""
        return self._set("fill_", value)

    def copy_(self, src):
        """Copy ``src`` (a tensor or array, broadcast to this shape) into this tensor in place."""
        src = src.data if isinstance(src, type(self)) else src
        if tuple(np.shape(src)) != self.shape:
            src = backend.get_array_module(self.data).broadcast_to(src, self.shape)
        return self._set("copy_", backend.to_device(src, self.device))

    def add_(self, other, alpha=1):
        """In place: self += alpha * other (leaf tensors outside the graph only)."""
        return self._set("add_", self.data + alpha * self._raw(other))

    def sub_(self, other, alpha=1):
        """In place: self -= alpha * other (leaf tensors outside the graph only)."""
        return self._set("sub_", self.data - alpha * self._raw(other))

    def mul_(self, other):
        """In place: self *= other (leaf tensors outside the graph only)."""
        return self._set("mul_", self.data * self._raw(other))

    def div_(self, other):
        """In place: self /= other (leaf tensors outside the graph only)."""
        return self._set("div_", self.data / self._raw(other))

    def clamp_(self, min=None, max=None):
        """In place: clamp each element into [min, max] (leaf tensors outside the graph only)."""
        xp = backend.get_array_module(self.data)
        return self._set("clamp_", xp.clip(self.data, min, max))

    def uniform_(self, a=0.0, b=1.0):
        """In place: fill with draws from U(a, b) (minigen's seeded generator)."""
        from . import creation
        return self._set("uniform_", creation.rand(*self.shape, dtype=self.dtype,
                                                   device=self.device).data * (b - a) + a)

    def normal_(self, mean=0.0, std=1.0):
        """In place: fill with draws from N(mean, std^2) (minigen's seeded generator)."""
        from . import creation
        return self._set("normal_", creation.randn(*self.shape, dtype=self.dtype,
                                                   device=self.device).data * std + mean)

    def __setitem__(self, index, value):
        from . import ops
        self._check_inplace("__setitem__")
        ops.index.setitem(self.data, index, self._raw(value))
