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
from .ops.rearrange import flip, roll, tril, triu, sort, argsort, topk  # noqa: F401
from .ops.scan import cumsum, cumprod, prod  # noqa: F401
from .ops.linalg import matmul, einsum  # noqa: F401
from .backend import cuda_available  # noqa: F401
from .profiler import profile  # noqa: F401
from . import nn  # noqa: F401
from .nn.functional import logsumexp, softmax, log_softmax, var, std  # noqa: F401
from .serialization import save, load  # noqa: F401
from . import optim  # noqa: F401
from . import models  # noqa: F401  (the registry; model files are imported on first use)
from .functions import (exp, log, sqrt, tanh, sigmoid, sin, cos, pow, relu, abs,  # noqa: F401
                        sign, floor, ceil, round, trunc, isnan, isinf, isfinite, sum, mean,
                        amax, amin, argmax, argmin, all, any, reshape, flatten, unsqueeze,
                        squeeze, permute, transpose)

__version__ = "0.1.0"
