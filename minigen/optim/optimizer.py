"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, and state_dict.

An optimizer holds ``param_groups``, a list of dicts. Each dict has ``"params"`` (a list of leaf
Tensors) and the hyper-parameters of that group (``lr``, ``weight_decay``, ...); the constructor's
arguments are the defaults for every group, and a group may override them, exactly as in PyTorch:

    opt = mg.optim.Adam([{"params": encoder_params, "lr": 1e-4},
                         {"params": decoder_params}], lr=1e-3)

``step()`` visits every parameter that has a gradient (a parameter whose ``.grad`` is None is
skipped) and calls the subclass's ``_update(param_array, grad_array, state, group)``, which changes
the parameter's array in place. Updates work on raw backend arrays (NumPy or CuPy), not on Tensors:
this is the innermost loop of every training run, so it records no graph and makes no Tensors.
``state`` is a dict per parameter (moment estimates, step counts) that the subclass fills lazily.

``state_dict()`` has torch's structure, so a training run can stop and resume exactly:

    {"state": {0: {"step": 10, "exp_avg": array, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}

Parameters are numbered in order through all groups; arrays are copies (a state_dict taken now does
not change when training goes on). A torch optimizer's state_dict with its tensors turned into NumPy
arrays loads too, since the state names are torch's.
"""
import copy
import warnings

from .. import autograd, backend
from ..tensor import Tensor


class _Required:
    """Marks a hyper-parameter that every parameter group must set (none has a default)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_nonnegative(value, what):
    """Raise torch's message, e.g. 'Invalid learning rate: -1', for a negative hyper-parameter."""
    if not value >= 0.0:  # also catches NaN
        raise ValueError(f"Invalid {what}: {value}")


def lerp_(a, b, weight):
    """a <- a + weight * (b - a), in place, rounded as torch.lerp_ rounds it (which form it uses
    depends on the weight), so that moving averages agree with torch's to the last bit."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)
    return a


def check_beta(value, index):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid beta parameter at index {index}: {value} (expected 0 <= beta < 1)")


class Optimizer:
    """Base class of all optimizers. Subclasses give ``defaults`` and define ``_update``.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts defining
            parameter groups (each with a ``"params"`` entry).
        defaults: the default hyper-parameters of every group.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a single Tensor of shape {params.shape}; wrap it in a list: [param]")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got one dict; wrap it in a list: [group]")
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        self._opt_called = False

    # ----------------------------------------------------------------- parameter groups
    def add_param_group(self, param_group):
        """Add a group (a dict with ``"params"`` and optional hyper-parameters) to optimize,
        e.g. layers that were frozen until now. Missing hyper-parameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            group["param_names"] = names
            params = [p[1] for p in params]
        for i, p in enumerate(params):
            _check_param(p, i)
        group["params"] = params

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)

        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "each duplicate would be updated twice per step", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate a group's hyper-parameters (subclasses check theirs; groups can override
        the constructor's values, so the check runs per group)."""

    # ----------------------------------------------------------------- the step
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        ``closure`` re-evaluates the model and returns the loss (it runs with gradients on)."""
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                data = p.data
                if not backend.is_writable(data):  # e.g. a broadcast view: give it its own memory
                    data = p.data = data.copy()
                state = self.state.get(p)
                if state is None:  # kept only if the update stores something (as torch does)
                    state = {}
                    self._update(data, grad.data, state, group)
                    if state:
                        self.state[p] = state
                else:
                    self._update(data, grad.data, state, group)
        self._opt_called = True  # lr schedulers check that step() ran before theirs
        return loss

    def _update(self, param, grad, state, group):
        """Change the raw array ``param`` in place, given its gradient ``grad``, its ``state``
        dict and its group's hyper-parameters. Must not change ``grad``."""
        raise NotImplementedError

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set ``.grad`` to None (default), or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is None and backend.is_writable(p.grad.data):
                    p.grad.data[...] = 0
                else:  # a gradient with a graph (create_graph=True) is replaced, as torch detaches it
                    p.grad = Tensor(backend.get_array_module(p.grad.data).zeros_like(p.grad.data))

    # ----------------------------------------------------------------- saving and loading
    def state_dict(self):
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are referred to by their index in the order of ``param_groups``; state arrays
        are copies on the parameters' device."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: _copy_value(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state from ``state_dict()`` (of this optimizer class, same group sizes).

        State arrays are copied onto each parameter's device; floating state is cast to the
        parameter's dtype (``step`` is kept as a number). Hyper-parameters, including the learning
        rates, are replaced by the saved ones."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, {len(self.param_groups)} in this optimizer")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: group {i} has {len(s['params'])} saved parameters, "
                    f"{len(g['params'])} here")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        state = {}
        for key, values in state_dict["state"].items():
            if key not in id_map:
                raise KeyError(f"loaded state dict has state for parameter {key!r}, which is in "
                               "none of its parameter groups")
            p = id_map[key]
            state[p] = {k: _cast_value(v, p, k) for k, v in values.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_param(p, i):
    if not isinstance(p, Tensor):
        raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a "
                        f"{type(p).__name__}")
    if not p.is_leaf:
        raise ValueError(f"can't optimize a non-leaf Tensor: parameter {i} (shape {p.shape}) was "
                         "computed by an op; optimize the leaf it came from, or .detach() it and "
                         "set requires_grad=True")
    if p.dtype.kind != "f":
        raise TypeError(f"optimizer can only optimize floating point tensors, but parameter {i} "
                        f"(shape {p.shape}) has dtype {p.dtype}")


def _copy_value(v):
    if isinstance(v, Tensor):
        return v.data.copy()
    if hasattr(v, "copy") and hasattr(v, "dtype"):  # numpy / cupy arrays and numpy scalars
        return v.copy()
    return copy.deepcopy(v)


def _cast_value(v, param, key):
    """A saved state value on the parameter's device; floating arrays in its dtype (not 'step')."""
    if isinstance(v, Tensor):
        v = v.data
    if key == "step":
        return int(backend.to_numpy(v)) if hasattr(v, "dtype") else int(v)
    if hasattr(v, "dtype") and hasattr(v, "shape"):
        a = backend.to_device(v, param.device)  # may return its input: the copies below matter
        return a.astype(param.dtype) if a.dtype.kind == "f" else a.copy()
    return copy.deepcopy(v)
