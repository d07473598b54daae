"""torch-style functions that are the Tensor methods of the same name (``mg.floor(x)`` is
``x.floor()``), documented here; and the Tensor methods that call a documented function share
its docstring, so ``help(x.cumsum)`` reads ``help(mg.cumsum)``.
"""
from .tensor import Tensor


# --------------------------------------------------------------------------- smooth math
def exp(x):
    """torch.exp: e^x elementwise (int and bool inputs give the default float dtype)."""
    return x.exp()


def log(x):
    """torch.log: the natural logarithm elementwise; the gradient is g / x."""
    return x.log()


def sqrt(x):
    """torch.sqrt: the square root elementwise; the gradient is g / (2 sqrt(x))."""
    return x.sqrt()


def tanh(x):
    """torch.tanh elementwise; the gradient is g (1 - tanh(x)^2)."""
    return x.tanh()


def sigmoid(x):
    """torch.sigmoid: 1 / (1 + e^-x) elementwise, accurate in the tails."""
    return x.sigmoid()


def sin(x):
    """torch.sin: the sine elementwise, in radians; same shape, int and bool inputs give the
    default float dtype. The gradient is g cos(x).

        >>> mg.sin(mg.tensor([0., 1.5707964]))
        tensor([0., 1.])
    """
    return x.sin()


def cos(x):
    """torch.cos: the cosine elementwise, in radians; same shape, int and bool inputs give the
    default float dtype. The gradient is -g sin(x)."""
    return x.cos()


def pow(x, exponent):
    """torch.pow: x ** exponent (a tensor that broadcasts with x, or a number)."""
    return x ** exponent


# --------------------------------------------------------------------------- piecewise
def relu(x):
    """torch.relu: max(x, 0) elementwise; the gradient at 0 is 0."""
    return x.relu()


def abs(x):
    """torch.abs: |x| elementwise; the gradient is g sign(x) (0 at 0)."""
    return x.abs()


def sign(x):
    """torch.sign: -1, 0 or 1 elementwise, in x's dtype (a bool tensor is its own sign). Its
    gradient is zero, as in torch.

        >>> mg.sign(mg.tensor([-2., 0., 3.]))
        tensor([-1.,  0.,  1.])
    """
    return x.sign()


def floor(x):
    """torch.floor: the largest whole number <= x elementwise, in x's dtype (integer tensors
    are returned as they are). Its gradient is zero, as in torch.

        >>> mg.floor(mg.tensor([-1.5, 1.5]))
        tensor([-2.,  1.])
    """
    return x.floor()


def ceil(x):
    """torch.ceil: the smallest whole number >= x elementwise, in x's dtype (integer tensors are
    returned as they are). Its gradient is zero.

        >>> mg.ceil(mg.tensor([-1.5, 1.5]))
        tensor([-1.,  2.])
    """
    return x.ceil()


def round(x):
    """torch.round: the nearest whole number elementwise, halves to the even one (0.5 -> 0,
    1.5 -> 2) as in torch; x's dtype, integer tensors are returned as they are. Its gradient is
    zero.

        >>> mg.round(mg.tensor([0.5, 1.5, 2.7]))
        tensor([0., 2., 3.])
    """
    return x.round()


def trunc(x):
    """torch.trunc: x with its fractional part dropped (rounded toward 0) elementwise, in x's
    dtype. Its gradient is zero.

        >>> mg.trunc(mg.tensor([-1.7, 1.7]))
        tensor([-1.,  1.])
    """
    return x.trunc()


# --------------------------------------------------------------------------- tests of values
def isnan(x):
    """torch.isnan: a bool tensor of x's shape, True where x is NaN (never for integer or bool
    x). No gradient.

        >>> mg.isnan(mg.tensor([1., float("nan")]))
        tensor([False,  True])
    """
    return x.isnan()


def isinf(x):
    """torch.isinf: a bool tensor of x's shape, True where x is +inf or -inf (never for integer
    or bool x). No gradient."""
    return x.isinf()


def isfinite(x):
    """torch.isfinite: a bool tensor of x's shape, True where x is neither NaN nor infinite
    (always for integer and bool x). No gradient."""
    return x.isfinite()


# --------------------------------------------------------------------------- reductions
def sum(x, dim=None, keepdim=False):
    """torch.sum over ``dim`` (an int, a tuple, or None for all dims); bools count in int64."""
    return x.sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    """torch.mean over ``dim`` (an int, a tuple, or None for all dims) of a float tensor."""
    return x.mean(dim, keepdim)


def amax(x, dim=None, keepdim=False):
    """torch.amax: the largest value over ``dim``; tied elements share the gradient evenly."""
    return x.amax(dim, keepdim)


def amin(x, dim=None, keepdim=False):
    """torch.amin: the smallest value over ``dim``; tied elements share the gradient evenly."""
    return x.amin(dim, keepdim)


def argmax(x, dim=None, keepdim=False):
    """torch.argmax: the int64 index of the largest element along ``dim`` (an int, negative
    counting from the end), or in the flattened x when dim is None.

    Ties give the first index; NaN counts as the largest. The dim is dropped unless
    ``keepdim`` (with dim None, keepdim gives x's number of dims, each 1). No gradient.

        >>> mg.argmax(mg.tensor([[1., 9.], [7., 3.]]), dim=1)
        tensor([1, 0])
    """
    return x.argmax(dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    """torch.argmin: the int64 index of the smallest element along ``dim`` (or in the flattened
    x), the first one on ties; see argmax. No gradient."""
    return x.argmin(dim, keepdim)


def all(x, dim=None, keepdim=False):
    """torch.all: whether every element is nonzero (True), over ``dim`` (an int, a tuple, or
    None for all dims); a bool tensor, the reduced dims dropped unless ``keepdim``. No
    gradient.

        >>> mg.all(mg.tensor([[1, 0], [1, 1]]), dim=1)
        tensor([False,  True])
    """
    return x.all(dim, keepdim)


def any(x, dim=None, keepdim=False):
    """torch.any: whether some element is nonzero (True), over ``dim`` (an int, a tuple, or None
    for all dims); a bool tensor, as all. No gradient.

        >>> mg.any(mg.tensor([[0., 0.], [0., 2.]]), dim=1)
        tensor([False,  True])
    """
    return x.any(dim, keepdim)


# --------------------------------------------------------------------------- shape
def reshape(x, shape):
    """torch.reshape: x's elements in row-major order in a new ``shape`` (one size may be -1)."""
    return x.reshape(shape)


def flatten(x, start_dim=0, end_dim=-1):
    """torch.flatten: dims start_dim..end_dim merged into one."""
    return x.flatten(start_dim, end_dim)


def unsqueeze(x, dim):
    """torch.unsqueeze: a new dim of size 1 at ``dim``."""
    return x.unsqueeze(dim)


def squeeze(x, dim=None):
    """torch.squeeze: the size-1 dims removed (only those in ``dim`` when given)."""
    return x.squeeze(dim)


def permute(x, dims):
    """torch.permute: x's dims in the order ``dims``."""
    return x.permute(dims)


def transpose(x, dim0, dim1):
    """torch.transpose: dims dim0 and dim1 swapped."""
    return x.transpose(dim0, dim1)


# --------------------------------------------------------------------------- Tensor methods
def _share_docstrings():
    from . import nn
    from .ops import index, join, piecewise, rearrange, scan
    sources = {name: getattr(module, name) for module, names in [
        (scan, ("cumsum", "cumprod", "prod")),
        (rearrange, ("flip", "roll", "tril", "triu", "sort", "argsort", "topk")),
        (index, ("gather", "scatter", "scatter_add", "index_select", "masked_fill")),
        (join, ("split", "chunk")), (piecewise, ("maximum", "minimum")),
        (nn.functional, ("std", "var", "logsumexp", "softmax", "log_softmax")),
    ] for name in names}
    here = globals()
    for name in dir(Tensor):
        method = getattr(Tensor, name)
        source = sources.get(name, here.get(name) if not name.startswith("_") else None)
        if callable(method) and callable(source) and not method.__doc__ and source.__doc__:
            method.__doc__ = source.__doc__


_share_docstrings()
