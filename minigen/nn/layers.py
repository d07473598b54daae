"""Basic layers: Identity, Flatten, Unflatten, Linear, Embedding, Dropout, Upsample.

Parameter shapes, names and default initializations are torch's, so a torch state_dict loads
into the same layers and a freshly built layer starts from the same distribution.
"""
import math

import numpy as np

from .. import backend
from ..tensor import get_default_dtype
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def empty_parameter(*shape, device=None, dtype=None):
    """An uninitialized (zero) Parameter of ``shape``, to be filled by an init function."""
    dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
    return Parameter(backend.to_device(np.zeros(shape, dtype=dtype), device or "cpu"))


def reset_fan_in_uniform(weight, bias, fan_in=None):
    """torch's default for Linear and Conv: weight ~ kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = fan_in or init._calculate_fan_in_and_fan_out(weight)[0]
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """A placeholder layer that returns its input unchanged: y = x.

    Useful where a layer is optional (``Conv2d(...) if use_conv else Identity()``).

    Args:
        args, kwargs: any arguments, accepted and ignored (as torch's).

    Shape:
        - Input: (*), any shape.
        - Output: (*), the input itself.

    Examples::

        >>> m = mg.nn.Identity(54, unused_argument=0.1)
        >>> m(mg.randn(128, 20)).shape
        (128, 20)
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flattens the contiguous range of dims ``start_dim`` .. ``end_dim`` into one dim.

    Args:
        start_dim (int): the first dim to flatten. Default: 1 (keeps the batch dim).
        end_dim (int): the last dim to flatten. Default: -1.

    Shape:
        - Input: (*, S_start, ..., S_end, *), any number of dims.
        - Output: (*, S_start * ... * S_end, *).

    Examples::

        >>> x = mg.randn(32, 1, 5, 5)
        >>> mg.nn.Flatten()(x).shape
        (32, 25)
        >>> mg.nn.Flatten(0, 2)(x).shape
        (160, 5)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into the dims ``unflattened_size`` (the inverse of Flatten).

    Args:
        dim (int): the dim to expand (negative counts from the end).
        unflattened_size (tuple of ints): the new dims; their product must be the size of
            ``dim``.

    Shape:
        - Input: (*, S_dim, *).
        - Output: (*, U_1, ..., U_n, *), where (U_1, ..., U_n) = unflattened_size and
          U_1 * ... * U_n = S_dim.

    Examples::

        >>> m = mg.nn.Unflatten(1, (2, 5, 5))
        >>> m(mg.randn(2, 50)).shape
        (2, 2, 5, 5)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        d = self.dim % input.ndim
        return input.reshape(input.shape[:d] + self.unflattened_size + input.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Linear(Module):
    """Applies an affine map to the last dim of the input: y = x A^T + b.

    Args:
        in_features (int): size of each input sample.
        out_features (int): size of each output sample.
        bias (bool): if False, the layer learns no additive bias. Default: True.
        device, dtype: where and in which floating dtype the parameters are created.
            Default: the CPU and the default dtype (float32).

    Shape:
        - Input: (*, H_in), where * is any number of dims (none included) and
          H_in = in_features.
        - Output: (*, H_out), where H_out = out_features.

    Attributes:
        weight (Parameter): A, of shape (out_features, in_features), initialized from
            U(-sqrt(k), sqrt(k)) with k = 1 / in_features.
        bias (Parameter or None): b, of shape (out_features,), from the same distribution.

    Examples::

        >>> m = mg.nn.Linear(20, 30)
        >>> m(mg.randn(128, 20)).shape
        (128, 30)
        >>> m.weight.shape, m.bias.shape
        ((30, 20), (30,))
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = empty_parameter(out_features, in_features, device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(out_features, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_fan_in_uniform(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table of embedding vectors: y = weight[x], row x of ``weight`` per index x.

    Args:
        num_embeddings (int): the size of the table (indices lie in [0, num_embeddings)).
        embedding_dim (int): the size of each embedding vector.
        padding_idx (int, optional): the row at this index starts at zero and gets no gradient,
            so it stays a fixed "padding" vector. Negative values count from the end.
            Default: None.
        device, dtype: where and in which floating dtype the weight is created.

    Shape:
        - Input: (*), an integer tensor of any shape holding the indices.
        - Output: (*, H), where H = embedding_dim.

    Attributes:
        weight (Parameter): of shape (num_embeddings, embedding_dim), initialized from N(0, 1)
            (the row at ``padding_idx`` with zeros).

    Examples::

        >>> m = mg.nn.Embedding(10, 3)
        >>> m(mg.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        (2, 4, 3)
        >>> mg.nn.Embedding(10, 3, padding_idx=0).weight[0].tolist()
        [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"padding_idx {padding_idx} must lie within num_embeddings "
                             f"{num_embeddings}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = empty_parameter(num_embeddings, embedding_dim, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            row = self.weight.numpy()
            row[self.padding_idx] = 0
            init._fill(self.weight, row)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """In training mode, zeroes each element with probability ``p`` and scales the rest by
    1 / (1 - p).

    y = x * m / (1 - p) with m ~ Bernoulli(1 - p) drawn per element, so E[y] = x; in
    evaluation mode y = x.

    The mask is drawn from minigen's seeded generator (``mg.manual_seed``).

    Args:
        p (float): the probability of zeroing an element. Default: 0.5.
        inplace (bool): accepted for torch compatibility; minigen never modifies the input.
            Default: False.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> m = mg.nn.Dropout(p=0.5)
        >>> y = m(mg.ones(100))
        >>> ((y == 0) | (y == 2)).all()
        tensor(True)
        >>> m.eval()(mg.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Upsample(Module):
    """Resizes images to ``size`` or by ``scale_factor``.

    ``F.interpolate`` computes it and lists the source coordinates of each mode.

    Args:
        size (int or (int, int), optional): the output size (H_out, W_out).
        scale_factor (float or (float, float), optional): the multiplier of H and W. Give
            exactly one of ``size`` and ``scale_factor``.
        mode (str): 'nearest', 'nearest-exact' or 'bilinear'. Default: 'nearest'.
        align_corners (bool, optional): for 'bilinear' only: if True, the corner pixels of
            input and output are aligned. Default: None (False).

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where, with ``scale_factor``,

          H_out = floor(H_in * scale_factor[0])
          W_out = floor(W_in * scale_factor[1])

          and with ``size``, (H_out, W_out) = size.

    Examples::

        >>> x = mg.arange(4.).reshape(1, 1, 2, 2)
        >>> mg.nn.Upsample(scale_factor=2)(x)
        tensor([[[[0., 0., 1., 1.],
                  [0., 0., 1., 1.],
                  [2., 2., 3., 3.],
                  [2., 2., 3., 3.]]]])
        >>> mg.nn.Upsample(scale_factor=1.5, mode="bilinear")(mg.randn(1, 1, 5, 3)).shape
        (1, 1, 7, 4)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None \
            else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"
