"""A NumPy-backed stand-in for CuPy, for tests only: device discipline without a GPU.

Its arrays (``cupy.ndarray`` here) hold a NumPy array and behave like CuPy's where a program that
works on the CPU can break on a GPU:

- implicit conversion to NumPy raises TypeError (``np.asarray(a)``, ``np.array(a)``, a NumPy
  array's ``x[...] = a``), as CuPy's ``__array__`` does; NumPy functions and ufuncs given only
  device arrays run on the device (``np.exp(a)``), as CuPy's ``__array_ufunc__`` and
  ``__array_function__`` make them;
- mixing with NumPy arrays raises TypeError: ``a + numpy_array``, ``cupy.exp(numpy_array)``,
  ``a[...] = numpy_array`` (NumPy and Python scalars are fine, as in CuPy);
- the only crossings are ``a.get()`` / ``cupy.asnumpy(a)`` (device -> host) and
  ``cupy.asarray`` / ``cupy.array`` (host -> device);
- reductions return 0-d arrays, not NumPy scalars; ``float(a)``, ``int(a)``, ``bool(a)`` and
  ``a.item()`` work on one-element arrays (a synchronizing copy in CuPy);
- special functions come from ``cupyx.scipy.special``.

``install()`` puts the modules ``cupy``, ``cupyx``, ``cupyx.scipy`` and ``cupyx.scipy.special``
into ``sys.modules`` and returns the ``cupy`` module; ``uninstall()`` removes them.
"""
import operator
import sys
import types

import numpy as np
import scipy.special

_MESSAGE_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` "
                     "to construct a NumPy array explicitly.")


def _refuse_host(value, where):
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)} in {where}: a NumPy array met a "
                        "(stand-in) CuPy array; move it with cupy.asarray first")
    if isinstance(value, (list, tuple)):
        for v in value:
            _refuse_host(v, where)


def _unwrap(value, where, allow_host=False):
    """Device arrays -> their NumPy arrays (recursively in lists, tuples and dicts)."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where, allow_host) for k, v in value.items()}
    if not allow_host and isinstance(value, np.ndarray):
        _refuse_host(value, where)
    return value


def _wrap(value):
    """NumPy results -> device arrays (NumPy scalars too: CuPy reductions give 0-d arrays)."""
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_function(fn, where):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, where), **_unwrap(kwargs, where)))
    call.__name__ = getattr(fn, "__name__", where)
    return call


class _Flags:
    """CuPy's flags: no ``writeable`` (every CuPy array can be written)."""

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key):
        return getattr(self, key.lower())


class ndarray:
    """A device array: a NumPy array that refuses to meet NumPy."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, array):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"the stand-in ndarray wraps NumPy arrays, got {type(array)}")
        self._a = array

    # ------------------------------------------------------------------ the crossings
    def get(self, stream=None, order="C", out=None):
        return np.array(self._a, order=order)

    def __array__(self, *args, **kwargs):
        raise TypeError(_MESSAGE_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # as CuPy (NEP 13): np.exp(a) runs the device ufunc; a NumPy array among the inputs
        # raises there
        return getattr(_UFunc(ufunc), method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        # as CuPy (NEP 18): np.concatenate([a, b]) runs on the device when all are device arrays
        return _device_function(func, f"numpy.{func.__name__}")(*args, **kwargs)

    # ------------------------------------------------------------------ attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: ndarray(self._a.T))
    real = property(lambda self: ndarray(self._a.real))
    imag = property(lambda self: ndarray(self._a.imag))

    @property
    def base(self):
        return None if self._a.base is None else ndarray(np.asarray(self._a.base))

    @property
    def device(self):
        return _cuda.Device(0)

    def __getattr__(self, name):
        if name.startswith("__"):          # __array_interface__ and the like: not on a GPU
            raise AttributeError(name)
        attr = getattr(self._a, name)      # methods: reshape, sum, astype, transpose, ...
        if callable(attr):
            return _device_function(attr, f"ndarray.{name}")
        return _wrap(attr)

    # ------------------------------------------------------------------ Python protocols
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return f"cupy-stand-in {self._a!r}"

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing", allow_host=True)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise TypeError("non-scalar numpy.ndarray cannot be assigned into a (stand-in) CuPy "
                            "array; move it with cupy.asarray first")
        self._a[_unwrap(key, "indexing", allow_host=True)] = _unwrap(value, "assignment")

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        raise TypeError("pickling a (stand-in) CuPy array would copy it to the host silently; "
                        "call .get() first")


def _binary(op, reflected=False, inplace=False):
    def method(self, other):
        _refuse_host(other, f"operator {op.__name__}")
        if isinstance(other, ndarray):
            other = other._a
        if inplace:
            op(self._a, other)
            return self
        return _wrap(op(other, self._a) if reflected else op(self._a, other))
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    _op = getattr(operator, _name + "_") if _name in ("and", "or") else getattr(operator, _name)
    setattr(ndarray, f"__{_name}__", _binary(_op))
    setattr(ndarray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(ndarray, f"__i{_name}__", _binary(getattr(operator, f"i{_name}"), inplace=True))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", (lambda op: lambda self: _wrap(op(self._a)))(
        getattr(operator, _name)))
ndarray.__hash__ = None


class _UFunc:
    """A ufunc of the stand-in: call, ``at``, ``reduce``, ``outer`` on device arrays."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _device_function(self._ufunc, self.__name__)(*args, **kwargs)

    __call__.__name__ = "__call__"

    def __getattr__(self, name):
        return _device_function(getattr(self._ufunc, name), f"{self.__name__}.{name}")


# ---------------------------------------------------------------------- the cupy module
def asarray(a, dtype=None, order=None):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else ndarray(a._a.astype(dtype))
    return ndarray(np.array(a, dtype=dtype, order=order or "K"))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    host = a._a if isinstance(a, ndarray) else a
    return ndarray(np.array(host, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asnumpy(a, stream=None):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def get_array_module(*args):
    return _cupy if any(isinstance(a, ndarray) for a in args) else np


def _cupy_getattr(name):
    if name.startswith("__"):
        raise AttributeError(name)
    attr = getattr(np, name)
    if isinstance(attr, np.ufunc):
        return _UFunc(attr)
    if isinstance(attr, (type, int, float)) or attr is None:   # dtypes, constants, newaxis
        return attr
    if callable(attr):
        return _device_function(attr, f"cupy.{name}")
    raise AttributeError(f"the CuPy stand-in has no {name!r}")


def _submodule(name, source):
    """A module whose functions are ``source``'s on device arrays (ufuncs keep .at, .reduce)."""
    module = types.ModuleType(name)

    def attribute(n):
        if n.startswith("__"):
            raise AttributeError(n)
        attr = getattr(source, n)
        if isinstance(attr, np.ufunc):
            return _UFunc(attr)
        return _device_function(attr, f"{name}.{n}") if callable(attr) else attr

    module.__getattr__ = attribute
    return module


class _Stream:
    def synchronize(self):
        pass


class _Device:
    def __init__(self, id=0):
        self.id = id

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_cuda = types.SimpleNamespace(
    Device=_Device, runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    get_current_stream=lambda: _Stream(), Stream=_Stream)

_cupy = types.ModuleType("cupy")
_cupy.__doc__ = "A NumPy-backed stand-in for CuPy (tests/fakecupy)."
_cupy.ndarray = ndarray
_cupy.asarray = asarray
_cupy.array = array
_cupy.asnumpy = asnumpy
_cupy.get_array_module = get_array_module
_cupy.cuda = _cuda
_cupy.lib = types.SimpleNamespace(stride_tricks=_submodule("cupy.lib.stride_tricks",
                                                           np.lib.stride_tricks))
_cupy.linalg = _submodule("cupy.linalg", np.linalg)
_cupy.fft = _submodule("cupy.fft", np.fft)
_cupy.__getattr__ = _cupy_getattr

_cupyx = types.ModuleType("cupyx")
_cupyx_scipy = types.ModuleType("cupyx.scipy")
_special = _submodule("cupyx.scipy.special", scipy.special)
_cupyx.scipy = _cupyx_scipy
_cupyx_scipy.special = _special

_MODULES = {"cupy": _cupy, "cupyx": _cupyx, "cupyx.scipy": _cupyx_scipy,
            "cupyx.scipy.special": _special}


def install():
    """Put the stand-in into sys.modules (``import cupy`` then finds it); returns ``cupy``."""
    sys.modules.update(_MODULES)
    return _cupy


def uninstall():
    for name in _MODULES:
        if sys.modules.get(name) is _MODULES[name]:
            del sys.modules[name]
