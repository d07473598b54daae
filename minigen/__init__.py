"""minigen: a from-scratch deep-learning framework on NumPy (CuPy on a GPU), built to hold clear,
tested implementations of the generative models of the lecture.

    import minigen as mg
    x = mg.randn(4, 3, requires_grad=True)
    (x.tanh() ** 2).sum().backward()
    x.grad
"""
from . import autograd  # noqa: F401  (first: tensor.py and ops import from it)
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled  # noqa: F401
from .tensor import (Tensor, float16, float32, float64, int32, int64, long, uint8,  # noqa: F401
                     bool_, get_default_dtype, set_default_dtype)
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full,  # noqa: F401
                       zeros_like, ones_like, full_like, randn, rand, randn_like, rand_like,
                       randint, randperm, arange, linspace, eye, manual_seed, get_rng_state,
                       set_rng_state)
from .ops.piecewise import where, maximum, minimum, clamp  # noqa: F401
from .ops.join import cat, stack, split, chunk  # noqa: F401
from .ops.index import gather, scatter, scatter_add, index_select, masked_fill  # noqa: F401
from .ops.rearrange import flip, roll, tril, triu, sort, topk  # noqa: F401
from .ops.scan import cumsum, cumprod, prod  # noqa: F401
from .ops.linalg import matmul, einsum  # noqa: F401
from .backend import cuda_available  # noqa: F401
from .profiler import profile  # noqa: F401
from . import nn  # noqa: F401
from .nn.functional import logsumexp, softmax, log_softmax, var, std  # noqa: F401
from .serialization import save, load  # noqa: F401
from . import optim  # noqa: F401
from . import models  # noqa: F401  (the registry; model files are imported on first use)

__version__ = "0.1.0"


def exp(x): return x.exp()
def log(x): return x.log()
def sqrt(x): return x.sqrt()
def tanh(x): return x.tanh()
def sigmoid(x): return x.sigmoid()
def relu(x): return x.relu()
def abs(x): return x.abs()
def sin(x): return x.sin()
def cos(x): return x.cos()
def sign(x): return x.sign()
def floor(x): return x.floor()
def ceil(x): return x.ceil()
def round(x): return x.round()
def trunc(x): return x.trunc()
def isnan(x): return x.isnan()
def isinf(x): return x.isinf()
def isfinite(x): return x.isfinite()
def sum(x, dim=None, keepdim=False): return x.sum(dim, keepdim)
def mean(x, dim=None, keepdim=False): return x.mean(dim, keepdim)
def amax(x, dim=None, keepdim=False): return x.amax(dim, keepdim)
def amin(x, dim=None, keepdim=False): return x.amin(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return x.argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return x.argmin(dim, keepdim)
def all(x, dim=None, keepdim=False): return x.all(dim, keepdim)
def any(x, dim=None, keepdim=False): return x.any(dim, keepdim)
def reshape(x, shape): return x.reshape(shape)
def flatten(x, start_dim=0, end_dim=-1): return x.flatten(start_dim, end_dim)
def unsqueeze(x, dim): return x.unsqueeze(dim)
def squeeze(x, dim=None): return x.squeeze(dim)
def permute(x, dims): return x.permute(dims)
def transpose(x, dim0, dim1): return x.transpose(dim0, dim1)
def pow(x, exponent): return x ** exponent
