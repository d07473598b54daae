"""mg.save / mg.load: checkpoints as .npz files, without pickle.

What can be saved: nested dicts (str or int keys), lists and tuples of minigen Tensors, NumPy
arrays, numbers, bools, strings and None -- a model's state_dict, an optimizer's, a step count:
``mg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 7}, path)``.

The file is an ordinary .npz: each array is an entry ("a0", "a1", ...) and the entry
"__structure__" holds the nested structure as JSON text, with every array replaced by a reference
to its entry. Nothing is pickled (``allow_pickle=False`` on both sides), so loading a checkpoint
cannot run code. What comes back:

  Tensor    -> Tensor (on the CPU, or on ``map_location``), with its requires_grad;
               a Parameter comes back as a Parameter
  ndarray   -> NumPy array;  numbers, strings, None, dicts, lists, tuples -> themselves
An .npz written by anything else (e.g. ``np.savez``) loads as a dict of entry name -> Tensor.

``save`` to a path is atomic: it writes a temporary file in the same directory and renames it over
the target with os.replace, so a crash or an error mid-write leaves the previous file intact.
"""
import contextlib
import json
import os
import tempfile

import numpy as np

from . import backend
from .tensor import Tensor

STRUCTURE = "__structure__"
FORMAT = "minigen-checkpoint-1"


def _encode(obj, arrays, where):
    """A JSON-able description of ``obj``; its arrays are added to ``arrays``."""
    if isinstance(obj, Tensor):
        from .nn import Parameter
        kind = "parameter" if isinstance(obj, Parameter) else "tensor"
        return {"__array__": _add(arrays, obj.numpy(), where), "kind": kind,
                "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
        return {"__array__": _add(arrays, backend.to_numpy(obj), where), "kind": "ndarray"}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"mg.save: dict keys must be str or int, got {key!r} at {where}")
            items.append([key, _encode(value, arrays, f"{where}[{key!r}]")])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        tag = "__list__" if isinstance(obj, list) else "__tuple__"
        return {tag: [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(f"mg.save cannot store {type(obj).__name__!r} objects (at {where}); it "
                    "stores dicts, lists, tuples, Tensors, arrays, numbers, strings and None")


def _add(arrays, array, where):
    if array.dtype.hasobject:
        raise TypeError(f"mg.save cannot store an array of Python objects (at {where})")
    name = f"a{len(arrays)}"
    arrays[name] = array
    return name


def _decode(node, arrays, device):
    if isinstance(node, list):  # JSON has only lists; tuples and dicts are tagged
        raise ValueError("malformed structure: an untagged list")
    if not isinstance(node, dict):
        return node
    if "__array__" in node:
        array = arrays[node["__array__"]]
        if node["kind"] == "ndarray":
            return array
        t = Tensor(backend.to_device(array, device))
        if node["kind"] == "parameter":
            from .nn import Parameter
            return Parameter(t, requires_grad=node["requires_grad"])
        return t.requires_grad_(bool(node["requires_grad"]) and array.dtype.kind == "f")
    if "__dict__" in node:
        return {key: _decode(value, arrays, device) for key, value in node["__dict__"]}
    if "__list__" in node:
        return [_decode(v, arrays, device) for v in node["__list__"]]
    if "__tuple__" in node:
        return tuple(_decode(v, arrays, device) for v in node["__tuple__"])
    raise ValueError(f"malformed structure: unknown node with keys {sorted(node)}")


def _write(file, arrays, structure):
    np.savez(file, **{STRUCTURE: np.array(json.dumps({"format": FORMAT, "root": structure}))},
             **arrays)


def save(obj, f):
    """Write ``obj`` (see the module docstring) to the path ``f`` atomically, or to an open
    binary file object."""
    arrays = {}
    structure = _encode(obj, arrays, "obj")
    if hasattr(f, "write"):
        _write(f, arrays, structure)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    # checked here so the error names the user's path, not the temporary file written first
    if os.path.isdir(path):
        raise IsADirectoryError(f"mg.save: {path!r} is a folder; give a file name such as "
                                f"{os.path.join(path, 'checkpoint.npz')!r}")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"mg.save: cannot write {path!r}: the folder {directory!r} does "
                                "not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(handle, arrays, structure)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal rights
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(f, map_location=None):
    """Read what ``save`` wrote (see the module docstring); ``map_location`` ('cpu' or 'cuda')
    puts the Tensors on that device. A missing file raises FileNotFoundError and an unreadable
    one RuntimeError, both naming the path."""
    name = getattr(f, "name", f) if hasattr(f, "read") else os.fspath(f)
    if not hasattr(f, "read") and not os.path.exists(name):
        raise FileNotFoundError(f"mg.load: no such file: {name!r}")
    device = backend.check_device(map_location)
    try:
        with np.load(f, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        if STRUCTURE not in arrays:
            return {key: Tensor(backend.to_device(a, device)) for key, a in arrays.items()}
        header = json.loads(str(arrays.pop(STRUCTURE)))
        if header.get("format") != FORMAT:
            raise ValueError(f"unknown format {header.get('format')!r}, expected {FORMAT!r}")
        return _decode(header["root"], arrays, device)
    except Exception as exc:
        raise RuntimeError(f"mg.load: cannot read {name!r} as a checkpoint (.npz written by "
                           f"mg.save): {type(exc).__name__}: {exc}") from exc
