"""Activation layers: Module wrappers of the functions in nn.functional (formulas there).

``inplace`` arguments are accepted for torch compatibility; minigen never modifies the input.
"""
from . import functional as F
from .module import Module


def _inplace(flag):
    return ", inplace=True" if flag else ""


class ReLU(Module):
    """Applies the rectified linear unit elementwise: ReLU(x) = max(x, 0).

    Args:
        inplace (bool): accepted for torch compatibility and ignored. Default: False.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> m = mg.nn.ReLU()
        >>> m(mg.randn(2, 3)).shape
        (2, 3)
        >>> m(mg.tensor([-1., 0., 2.])).tolist() == [0.0, 0.0, 2.0]
        True
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """Applies the leaky rectified linear unit elementwise.

        LeakyReLU(x) = x if x > 0 else negative_slope * x

    Args:
        negative_slope (float): the slope for x < 0 (also the derivative at 0). Default: 0.01.
        inplace (bool): accepted for torch compatibility and ignored. Default: False.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.LeakyReLU(0.1)(mg.tensor([-1., 0., 2.]))
        tensor([-0.1,  0. ,  2. ])
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace(self.inplace)}"


class ELU(Module):
    """Applies the exponential linear unit elementwise.

        ELU(x) = x if x > 0 else alpha * (exp(x) - 1)

    Args:
        alpha (float): the scale of the negative part, which tends to -alpha. Default: 1.0.
        inplace (bool): accepted for torch compatibility and ignored. Default: False.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.ELU()(mg.tensor([-1., 0., 2.]))
        tensor([-0.6321,  0.    ,  2.    ])
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace(self.inplace)}"


class SiLU(Module):
    """Applies the sigmoid linear unit (swish) elementwise: SiLU(x) = x * sigmoid(x).

    Args:
        inplace (bool): accepted for torch compatibility and ignored. Default: False.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.SiLU()(mg.tensor([-1., 0., 2.]))
        tensor([-0.2689,  0.    ,  1.7616])
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """Applies the Gaussian error linear unit elementwise: GELU(x) = x * Phi(x).

    Phi is the standard normal CDF: GELU(x) = 0.5 * x * (1 + erf(x / sqrt(2))). With
    approximate='tanh': 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))).

    Args:
        approximate (str): 'none' (exact) or 'tanh'. Default: 'none'.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.GELU()(mg.tensor([-1., 0., 2.]))
        tensor([-0.1587,  0.    ,  1.9545])
        >>> mg.nn.GELU(approximate="tanh")(mg.tensor([-1., 0., 2.]))
        tensor([-0.1588,  0.    ,  1.9546])
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """Applies the logistic sigmoid elementwise: Sigmoid(x) = 1 / (1 + exp(-x)).

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.Sigmoid()(mg.tensor([-1., 0., 2.]))
        tensor([0.2689, 0.5   , 0.8808])
    """

    def forward(self, input):
        return input.sigmoid()


class Tanh(Module):
    """Applies the hyperbolic tangent elementwise.

        Tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.Tanh()(mg.tensor([-1., 0., 2.]))
        tensor([-0.7616,  0.    ,  0.964 ])
    """

    def forward(self, input):
        return input.tanh()


class Softplus(Module):
    """Applies the softplus function elementwise, a smooth approximation of ReLU.

        Softplus(x) = log(1 + exp(beta * x)) / beta,  and x itself where beta * x > threshold

    (the linear part keeps large inputs exact and finite).

    Args:
        beta (float): the sharpness; larger beta is closer to ReLU. Default: 1.0.
        threshold (float): above this value of beta * x the function is the identity.
            Default: 20.0.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> mg.nn.Softplus()(mg.tensor([-1., 0., 2.]))
        tensor([0.3133, 0.6931, 2.1269])
        >>> mg.nn.Softplus(beta=2)(mg.tensor([-1., 0., 2.]))
        tensor([0.0635, 0.3466, 2.0091])
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Applies softmax along ``dim``, so that the slices along it are positive and sum to 1.

        Softmax(x)_i = exp(x_i) / sum_j exp(x_j)

    (computed after subtracting the maximum along ``dim``, which does not change the result).

    Args:
        dim (int): the dim to normalize along. None chooses one the way torch's deprecated
            implicit choice does (0 for 0-, 1- and 3-D inputs, else 1) and warns.
            Default: None.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> m = mg.nn.Softmax(dim=1)
        >>> m(mg.tensor([[1., 2., 3.], [0., 0., 0.]]))
        tensor([[0.09  , 0.2447, 0.6652],
                [0.3333, 0.3333, 0.3333]])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Applies log(softmax(x)) along ``dim``, computed stably as x - logsumexp(x).

        LogSoftmax(x)_i = x_i - log(sum_j exp(x_j))

    Args:
        dim (int): the dim to normalize along (None as in Softmax). Default: None.

    Shape:
        - Input: (*), any shape.
        - Output: (*), the shape of the input.

    Examples::

        >>> m = mg.nn.LogSoftmax(dim=1)
        >>> m(mg.tensor([[1., 2., 3.], [0., 0., 0.]]))
        tensor([[-2.4076, -1.4076, -0.4076],
                [-1.0986, -1.0986, -1.0986]])
    """

    def forward(self, input):
        return F.log_softmax(input, self.dim)
