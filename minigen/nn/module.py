"""Module: the base class of every layer and model.

A Module holds three ordered registries, filled automatically by attribute assignment:

  _parameters  name -> Parameter   (``self.weight = Parameter(...)``): what an optimizer trains
  _buffers     name -> Tensor      (``self.register_buffer("running_mean", t)``): state that is
                                   saved but not trained (BatchNorm's statistics, a conv mask)
  _modules     name -> Module      (``self.encoder = Linear(...)``): sub-modules, recursively

Everything else (``parameters()``, ``state_dict()``, ``to(device)``, ``train()``) walks these
registries. Names are joined with dots, so the keys of ``state_dict()`` are exactly torch's for the
same module tree (``0.weight``, ``bn.running_mean``, ``lstm.weight_ih_l0``), and a torch
state_dict converted to NumPy arrays loads with ``load_state_dict``.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict(strict=False)`` could not match (as torch's ``_IncompatibleKeys``)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _as_array(value, key):
    """A checkpoint entry as an array: a minigen Tensor, a NumPy/CuPy array, a number, or any
    object with ``detach().cpu().numpy()`` (a torch tensor, used without importing torch)."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    try:
        return np.asarray(value)
    except Exception as exc:
        raise TypeError(f"state_dict entry {key!r} is a {type(value).__name__}, which is not an "
                        "array, a Tensor or a number") from exc


class Module:
    """Base class for all layers and models.

    A subclass calls ``super().__init__()`` first in its ``__init__``, then assigns its
    Parameters and sub-modules as attributes (which registers them, see the module docstring),
    and defines ``forward``; calling the module, ``model(x)``, runs ``forward(x)``. Modules start
    in training mode; ``eval()`` and ``train()`` switch it for the whole tree.

    Examples::

        >>> class Model(mg.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv1 = mg.nn.Conv2d(1, 20, 5)
        ...         self.conv2 = mg.nn.Conv2d(20, 20, 5)
        ...
        ...     def forward(self, x):
        ...         return self.conv2(self.conv1(x).relu()).relu()
        >>> model = Model()
        >>> model(mg.randn(1, 1, 28, 28)).shape
        (1, 20, 20, 20)
        >>> list(model.state_dict())
        ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias']
        >>> model.eval().training, model.conv1.training
        (False, False)
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        """The computation of the module, defined by every subclass; call the module, not this."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def _registry(self, name):
        registry = self.__dict__.get(name)
        if registry is None:
            raise AttributeError(f"cannot assign parameters, buffers or modules to "
                                 f"{type(self).__name__} before Module.__init__() is called")
        return registry

    def _check_new_name(self, name, kind):
        self._registry("_parameters")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        if name in self.__dict__:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def _forget(self, name):
        """Remove ``name`` from every registry (a name lives in at most one)."""
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def register_parameter(self, name, param):
        """Add a Parameter (or None, a declared but absent parameter such as a missing bias)."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register a {type(param).__name__} as parameter {name!r}: "
                            "wrap it in nn.Parameter (or pass None)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a Tensor that is state but not trained; ``persistent=False`` keeps it out of the
        state_dict."""
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register a {type(tensor).__name__} as buffer {name!r}: "
                            "a Tensor (or None) is required")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a sub-module under ``name`` (the same as assigning it as an attribute)."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"cannot add a {type(module).__name__} as sub-module {name!r}: "
                            "it is not a Module")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter) or (isinstance(value, Module) and params is not None):
            self._registry("_parameters")
            self.__dict__.pop(name, None)
            self._forget(name)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif isinstance(value, Module):
            self._registry("_modules")
        elif params is not None and (name in params or name in self._modules):
            if value is not None:
                kind = "parameter" if name in params else "sub-module"
                raise TypeError(f"cannot assign a {type(value).__name__} to {kind} {name!r}: "
                                f"a {'Parameter' if name in params else 'Module'} or None is "
                                "required")
            (params if name in params else self._modules)[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r}: "
                                "a Tensor or None is required")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails, i.e. for registered names
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                self._forget(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every sub-module, depth first, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, _join(prefix, name), remove_duplicate)

    def modules(self):
        """This module and every sub-module, depth first, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for each direct sub-module, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        """The direct sub-modules, each once."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        owners = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for owner_prefix, owner in owners:
            for name, value in getattr(owner, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield _join(owner_prefix, name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a Parameter shared by two modules is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """The Parameters of this module and (``recurse``) its sub-modules, each once: what an
        optimizer is given."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Tensor) pairs of the buffers (None entries left out)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """The buffers of this module and (``recurse``) its sub-modules, each once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The sub-module at a dotted path such as ``"encoder.0"`` ("" is the module itself)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no sub-module {part!r} "
                                     f"(looking up {target!r})")
            module = child
        return module

    def apply(self, fn):
        """Call ``fn`` on every sub-module and then on this one (e.g. a custom initialization)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode=True):
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise TypeError(f"train() takes a bool, got {mode!r}")
        self.training = mode
        for module in self.children():  # through train(), so a subclass may override it
            module.train(mode)
        return self

    def eval(self):
        """Set evaluation mode here and below (``train(False)``); returns the module."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of every parameter (False freezes the module); returns it."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the parameters' gradients: to None (default, as torch) or to zeros."""
        for p in self.parameters():
            if p.grad is not None:
                p.grad = None if set_to_none else Tensor(
                    backend.get_array_module(p.data).zeros_like(p.data))

    # ------------------------------------------------------------------ device and dtype
    def _apply_to_arrays(self, fn):
        """Replace the array of every parameter, gradient and buffer by ``fn(array)`` in place,
        so Parameters keep their identity (an optimizer built before ``to`` still holds them)."""
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for t in registry.values():
                    if t is not None:
                        t.data = fn(t.data)
                        if t.grad is not None:
                            t.grad = Tensor(fn(t.grad.data))
        return self

    def to(self, *args, device=None, dtype=None):
        """``to(device)``, ``to(dtype)`` or both; dtype casts floating point tensors only."""
        for a in args:
            if isinstance(a, str):
                device = a
            else:
                dtype = a
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to() only casts to floating point dtypes, got {dtype}")
            self._apply_to_arrays(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)
        if device is not None:
            device = backend.check_device(device)
            self._apply_to_arrays(lambda a: backend.to_device(a, device))
        return self

    def cpu(self):
        """Move every parameter and buffer to the CPU (``to("cpu")``)."""
        return self.to("cpu")

    def cuda(self):
        """Move every parameter and buffer to the GPU (``to("cuda")``, through CuPy)."""
        return self.to("cuda")

    def float(self):
        """Cast the floating point parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self):
        """Cast the floating point parameters and buffers to float64."""
        return self.to(np.float64)

    # ------------------------------------------------------------------ state dict
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered dict of dotted name -> Tensor: this module's parameters, then its persistent
        buffers, then each sub-module's entries (torch's order and keys). The tensors are
        detached but share their arrays with the module unless ``keep_vars``."""
        destination = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy a state_dict's values (minigen Tensors, NumPy arrays or numbers) into this
        module's parameters and buffers, casting to their dtype and moving to their device.

        Every problem is collected first and reported in one RuntimeError, as torch does:
        missing and unexpected keys (when ``strict``) and shape mismatches (always). Unlike torch
        nothing is copied when there is an error, so a failed load leaves the module unchanged.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict expects a mapping from names to arrays (what "
                            f"state_dict() or mg.load returns), got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, updates = [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key], key)
            if tuple(value.shape) != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(value.shape)} from checkpoint, the shape in current model "
                              f"is {target.shape}.")
            updates.append((target, value))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, value in updates:
                target.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (its settings)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_indent(repr(m), 2)}" for name, m in self._modules.items()]
        body = lines + children
        if not body:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


def _indent(text, spaces):
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])
