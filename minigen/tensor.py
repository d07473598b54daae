"""The Tensor: an array on a device, plus the graph edge (``_ctx``) that produced it.

Arithmetic and methods are thin calls into ``minigen.ops``, where each primitive op is a
``Function`` with its forward and backward. Names and semantics follow PyTorch.
"""
import numpy as np

from . import autograd, backend
from .tensor_inplace import InPlaceMethods

float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
long = int64

_default_dtype = {"float": float32}


def get_default_dtype():
    """The dtype of tensors made from Python floats (float32 unless set_default_dtype says)."""
    return _default_dtype["float"]


def set_default_dtype(dtype):
    """Make ``dtype`` (a floating dtype) the default for Python floats and creation functions."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"the default dtype must be a floating point type, got {dtype}")
    _default_dtype["float"] = dtype


class Tensor(InPlaceMethods):
    """A multi-dimensional array that can record how it was computed, for gradients."""

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retain_grad", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    def __init__(self, data, requires_grad=False):
        # NumPy scalars (what NumPy returns for 0-d results) become 0-d arrays: they have no
        # memory to change in place and would break .data[...] = and .zero_()
        # (CuPy arrays before v14 have no __array_namespace__, hence the explicit check)
        if type(data) is not np.ndarray and (isinstance(data, np.generic) or not (
                isinstance(data, np.ndarray) or hasattr(data, "__array_namespace__")
                or backend.is_cupy_array(data))):
            data = np.asarray(data)
        self.data = data
        self.grad = None
        self._ctx = None
        self._retain_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ----------------------------------------------------------------- gradient bookkeeping
    @property
    def requires_grad(self):
        """Whether gradients are computed for this tensor (settable on leaves; only floating
        tensors can require them)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only floating point tensors can require gradients, but this tensor has dtype "
                f"{self.data.dtype}; convert it with .float() first")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; "
                               "use .detach() to get a tensor without a graph")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return this tensor, as torch's ``requires_grad_``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True for a tensor made by the user rather than by an op (its ``.grad`` is kept after
        backward)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op node (a ``Function``) that computed this tensor, or None for a leaf."""
        return self._ctx

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor too after backward."""
        self._retain_grad = True

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Add the gradients of this tensor to the ``.grad`` of the leaves that require grad.

        ``gradient`` (the cotangent) may be omitted for a one-element tensor; ``create_graph``
        records the backward pass, so that the gradients can be differentiated again (a
        gradient penalty); see ``mg.autograd.backward``.
        """
        autograd.backward(self, gradient, retain_graph, create_graph)

    def detach(self):
        """The same data with no graph: gradients stop here."""
        return Tensor(self.data)

    def detach_(self):
        """Cut this tensor from its graph in place (it becomes a leaf without gradients)."""
        self._ctx = None
        self._requires_grad = False
        return self

    # ----------------------------------------------------------------- array properties
    @property
    def shape(self):
        """The size of each dim, as a tuple of ints (torch's ``torch.Size``)."""
        return tuple(self.data.shape)

    @property
    def ndim(self):
        """The number of dims."""
        return self.data.ndim

    def dim(self):
        """The number of dims (``ndim``), as torch's ``Tensor.dim()``."""
        return self.data.ndim

    @property
    def dtype(self):
        """The NumPy dtype of the data (``mg.float32``, ``mg.int64``, ``mg.bool_`` ...)."""
        return self.data.dtype

    @property
    def device(self):
        """'cpu' or 'cuda': where the data lives."""
        return backend.device_of(self.data)

    @property
    def is_cuda(self):
        """Whether the data lives on the GPU."""
        return self.device == "cuda"

    def size(self, dim=None):
        """The shape, or with ``dim`` the size of that dim, as torch's ``Tensor.size``."""
        if dim is None:
            return self.shape
        return self.shape[ops.shape.normalize_dim(dim, self.ndim)]

    def numel(self):
        """The number of elements."""
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ----------------------------------------------------------------- conversions
    def numpy(self):
        """The data as a NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(-1)[0].item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                               "use .any() or .all()")
        return bool(self.item())

    def to(self, *args, **kwargs):
        """Tensor.to: this tensor in another dtype and/or on another device: ``to(dtype)``,
        ``to(device)``, ``to(device, dtype)`` or the keywords ``dtype=``, ``device=``.

        Returns self when nothing changes. Float casts truncate toward 0 into integers and give
        True for nonzero into bool, as in torch. Differentiable between floating dtypes (the
        gradient is g cast back to this tensor's dtype); a cast to an integer or bool dtype
        gives a tensor outside the graph.

            >>> mg.tensor([1.7, -1.7, 0.0]).to(mg.int64)
            tensor([ 1, -1,  0])
        """
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, str):
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = ops.elementwise.CastOp.apply(out, dtype=np.dtype(dtype))
        if device is not None and backend.check_device(device) != self.device:
            out = ops.elementwise.ToDeviceOp.apply(out, device=backend.check_device(device))
        return out

    def cpu(self):
        """This tensor on the CPU (``to('cpu')``); differentiable."""
        return self.to("cpu")

    def cuda(self):
        """This tensor on the GPU (``to('cuda')``, needs CuPy); differentiable."""
        return self.to("cuda")

    def float(self):
        """self.to(mg.float32) (see Tensor.to): differentiable from a floating dtype."""
        return self.to(float32)

    def double(self):
        """self.to(mg.float64) (see Tensor.to): differentiable from a floating dtype."""
        return self.to(float64)

    def long(self):
        """self.to(mg.int64) (see Tensor.to): floats truncate toward 0; no gradient."""
        return self.to(int64)

    def int(self):
        """self.to(mg.int32) (see Tensor.to): floats truncate toward 0; no gradient."""
        return self.to(int32)

    def bool(self):
        """self.to(mg.bool_) (see Tensor.to): True where nonzero; no gradient."""
        return self.to(bool_)

    def type_as(self, other):
        """This tensor cast to ``other``'s dtype (see Tensor.to)."""
        return self.to(other.dtype)

    def clone(self):
        """A copy of this tensor with its own memory; differentiable (the gradient passes
        through)."""
        return ops.elementwise.CloneOp.apply(self)

    def contiguous(self):
        """This tensor if its array is in C order, else a C-ordered copy (differentiable)."""
        return self if self.is_contiguous() else ops.elementwise.CloneOp.apply(self)

    def is_contiguous(self):
        """Whether the data is laid out in C order (so that ``view`` can merge any dims)."""
        return bool(self.data.flags.c_contiguous)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=200,
                               prefix="tensor(")
        extra = "" if self.dtype == get_default_dtype() or self.dtype.kind in "biu" \
            else f", dtype={self.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- operators
    def __add__(self, o): return ops.elementwise.add(self, o)
    def __radd__(self, o): return ops.elementwise.add(o, self)
    def __sub__(self, o): return ops.elementwise.sub(self, o)
    def __rsub__(self, o): return ops.elementwise.sub(o, self)
    def __mul__(self, o): return ops.elementwise.mul(self, o)
    def __rmul__(self, o): return ops.elementwise.mul(o, self)
    def __truediv__(self, o): return ops.elementwise.div(self, o)
    def __rtruediv__(self, o): return ops.elementwise.div(o, self)
    def __pow__(self, o): return ops.elementwise.pow(self, o)
    def __rpow__(self, o): return ops.elementwise.pow(o, self)
    def __matmul__(self, o): return ops.linalg.matmul(self, o)
    def __rmatmul__(self, o): return ops.linalg.matmul(o, self)
    def __neg__(self): return ops.elementwise.neg(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()
    def __lt__(self, o): return ops.elementwise.compare("less", self, o)
    def __le__(self, o): return ops.elementwise.compare("less_equal", self, o)
    def __gt__(self, o): return ops.elementwise.compare("greater", self, o)
    def __ge__(self, o): return ops.elementwise.compare("greater_equal", self, o)
    def __eq__(self, o): return ops.elementwise.compare("equal", self, o)
    def __ne__(self, o): return ops.elementwise.compare("not_equal", self, o)
    def __invert__(self): return ops.elementwise.bitwise("not", self)
    def __and__(self, o): return ops.elementwise.bitwise("and", self, o)
    def __rand__(self, o): return ops.elementwise.bitwise("and", o, self)
    def __or__(self, o): return ops.elementwise.bitwise("or", self, o)
    def __ror__(self, o): return ops.elementwise.bitwise("or", o, self)
    def __xor__(self, o): return ops.elementwise.bitwise("xor", self, o)
    def __rxor__(self, o): return ops.elementwise.bitwise("xor", o, self)
    def __getitem__(self, index): return ops.index.getitem(self, index)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ----------------------------------------------------------------- elementwise math
    def add(self, o):
        """self + o, with broadcasting and torch's type promotion; the gradient is g to each
        (summed over broadcast dims)."""
        return self + o
    def sub(self, o):
        """self - o, with broadcasting and torch's type promotion; the gradients are g and -g."""
        return self - o
    def mul(self, o):
        """self * o, with broadcasting and torch's type promotion; the gradients are g o and g
        self."""
        return self * o
    def div(self, o):
        """self / o (true division: integers give the default float dtype); the gradients are g
        / o and -g self / o^2."""
        return self / o
    def neg(self):
        """-self; the gradient is -g. A bool tensor raises (use ~mask)."""
        return -self
    def pow(self, exponent): return ops.elementwise.pow(self, exponent)
    def exp(self): return ops.elementwise.float_unary(ops.elementwise.ExpOp, self)
    def log(self): return ops.elementwise.float_unary(ops.elementwise.LogOp, self)
    def sqrt(self): return ops.elementwise.float_unary(ops.elementwise.SqrtOp, self)
    def rsqrt(self):
        """1 / sqrt(self), elementwise; differentiable."""
        return 1.0 / self.sqrt()
    def square(self):
        """self * self, elementwise; the gradient is 2 g self."""
        return self * self
    def tanh(self): return ops.elementwise.float_unary(ops.elementwise.TanhOp, self)
    def sigmoid(self): return ops.elementwise.float_unary(ops.elementwise.SigmoidOp, self)
    def sin(self): return ops.elementwise.float_unary(ops.elementwise.SinOp, self)
    def cos(self): return ops.elementwise.float_unary(ops.elementwise.CosOp, self)
    def relu(self): return ops.piecewise.relu(self)
    def abs(self): return ops.piecewise.abs(self)
    def sign(self): return ops.piecewise.sign(self)
    def floor(self): return ops.piecewise.rounding("floor", self)
    def ceil(self): return ops.piecewise.rounding("ceil", self)
    def round(self): return ops.piecewise.rounding("round", self)
    def trunc(self): return ops.piecewise.rounding("trunc", self)
    def clamp(self, min=None, max=None):
        """torch.clamp: each element limited to [min, max] (either may be None); the gradient
        is g inside the bounds (bounds included) and 0 outside."""
        return ops.piecewise.clamp(self, min, max)
    clip = clamp
    def maximum(self, o): return ops.piecewise.maximum(self, o)
    def minimum(self, o): return ops.piecewise.minimum(self, o)
    def where(self, condition, other):
        """torch.Tensor.where: self where ``condition`` holds, else ``other`` (see mg.where)."""
        return ops.piecewise.where(condition, self, other)
    def masked_fill(self, mask, value): return ops.index.masked_fill(self, mask, value)
    def isnan(self): return ops.elementwise.logical("isnan", self)
    def isinf(self): return ops.elementwise.logical("isinf", self)
    def isfinite(self): return ops.elementwise.logical("isfinite", self)
    def logical_not(self):
        """The bool tensor ``self == 0`` (``~`` of a bool tensor); no gradient."""
        return ops.elementwise.logical("logical_not", self)

    # ----------------------------------------------------------------- reductions and scans
    def sum(self, dim=None, keepdim=False): return ops.reduce.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return ops.reduce.mean(self, dim, keepdim)
    def prod(self, dim=None, keepdim=False): return ops.scan.prod(self, dim, keepdim)
    def cumsum(self, dim): return ops.scan.cumsum(self, dim)
    def cumprod(self, dim): return ops.scan.cumprod(self, dim)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return _functional().var(self, dim, unbiased if correction is None else correction,
                                 keepdim)

    def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return _functional().std(self, dim, unbiased if correction is None else correction,
                                 keepdim)

    def amax(self, dim=None, keepdim=False): return ops.reduce.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return ops.reduce.amin(self, dim, keepdim)
    def max(self, dim=None, keepdim=False):
        """torch.max: with no ``dim``, the largest element (ties share the gradient, as amax);
        with ``dim``, the named tuple (values, indices) over that dim, the gradient going to
        the returned indices."""
        return ops.reduce.max_or_min(self, dim, keepdim, True)
    def min(self, dim=None, keepdim=False):
        """torch.min: with no ``dim``, the smallest element; with ``dim``, the named tuple
        (values, indices) over that dim (see Tensor.max)."""
        return ops.reduce.max_or_min(self, dim, keepdim, False)
    def argmax(self, dim=None, keepdim=False): return ops.reduce.argext(self, dim, keepdim, True)
    def argmin(self, dim=None, keepdim=False): return ops.reduce.argext(self, dim, keepdim, False)
    def all(self, dim=None, keepdim=False): return ops.reduce.all_or_any(self, dim, keepdim, True)
    def any(self, dim=None, keepdim=False): return ops.reduce.all_or_any(self, dim, keepdim, False)
    def logsumexp(self, dim, keepdim=False): return _functional().logsumexp(self, dim, keepdim)
    def softmax(self, dim): return _functional().softmax(self, dim)
    def log_softmax(self, dim): return _functional().log_softmax(self, dim)

    def sort(self, dim=-1, descending=False, stable=False):
        return ops.rearrange.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.rearrange.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.rearrange.topk(self, k, dim, largest, sorted)

    # ----------------------------------------------------------------- indexing
    def gather(self, dim, index): return ops.index.gather(self, dim, index)
    def scatter(self, dim, index, src=None, value=None):
        return ops.index.scatter(self, dim, index, src, value)
    def scatter_add(self, dim, index, src): return ops.index.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return ops.index.index_select(self, dim, index)
    def flip(self, *dims): return ops.rearrange.flip(self, _shape_args(dims))
    def roll(self, shifts, dims=None): return ops.rearrange.roll(self, shifts, dims)
    def tril(self, diagonal=0): return ops.rearrange.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.rearrange.triu(self, diagonal)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape): return ops.shape.reshape(self, _shape_args(shape))
    def view(self, *shape):
        """torch.Tensor.view: the same data with another shape (one dim may be -1), without
        copying; raises where the memory layout would need a copy (a transposed tensor), as
        torch; use reshape there."""
        return ops.shape.view(self, _shape_args(shape))
    def view_as(self, other):
        """view(other.shape)."""
        return ops.shape.view(self, other.shape)
    def reshape_as(self, other):
        """reshape(other.shape)."""
        return ops.shape.reshape(self, other.shape)
    def permute(self, *dims): return ops.shape.permute(self, _shape_args(dims))
    def transpose(self, dim0, dim1): return ops.shape.transpose(self, dim0, dim1)
    def t(self):
        """The transpose of a 2-D tensor (a tensor of fewer dims is returned as is)."""
        return ops.shape.transpose(self, 0, 1) if self.ndim == 2 else self
    def unsqueeze(self, dim): return ops.shape.unsqueeze(self, dim)
    def squeeze(self, dim=None): return ops.shape.squeeze(self, dim)
    def flatten(self, start_dim=0, end_dim=-1): return ops.shape.flatten(self, start_dim, end_dim)
    def expand(self, *sizes):
        """torch.Tensor.expand: a broadcast view with size-1 dims repeated to ``sizes`` (-1
        keeps a dim); the gradient sums over the expanded dims."""
        return ops.shape.expand(self, _shape_args(sizes))
    def expand_as(self, other):
        """expand(other.shape)."""
        return ops.shape.expand(self, other.shape)
    def broadcast_to(self, shape):
        """torch.broadcast_to: expand to ``shape`` by NumPy's broadcasting rules."""
        return ops.shape.expand(self, tuple(shape))
    def repeat(self, *repeats):
        """torch.Tensor.repeat: the tensor tiled ``repeats`` times along each dim (a copy); the
        gradient sums the tiles."""
        return ops.shape.repeat(self, _shape_args(repeats))
    def chunk(self, chunks, dim=0): return ops.join.chunk(self, chunks, dim)
    def split(self, size, dim=0): return ops.join.split(self, size, dim)
    def matmul(self, o):
        """torch.matmul (the @ operator): matrix product with batch broadcasting, 1-D operands
        as vectors; integer and floating operands are not mixed, as in torch."""
        return ops.linalg.matmul(self, o)

    @property
    def T(self):
        """All dims reversed (``permute(n-1, ..., 0)``)."""
        return ops.shape.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        """The last two dims swapped (a batch of transposed matrices)."""
        return ops.shape.transpose(self, -2, -1)


def _shape_args(args):
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _functional():
    """nn.functional, for the Tensor methods that torch has but that are composites here (var,
    std, logsumexp, softmax): they live with the other composites, one layer up, and are
    imported when first called."""
    from .nn import functional
    return functional


from . import ops  # noqa: E402  (ops need the Tensor class defined above)
