"""Loss layers: Module wrappers of the losses in nn.functional (nn/functional_losses.py),
holding the options so that ``criterion(input, target)`` reads as in torch. Class weights and
pos_weight are buffers, so they move with ``to(device)``.

Each loss computes one value l_n per element (or per example / position) and then reduces them
as ``reduction`` says: 'mean' (the default) averages, 'sum' adds, 'none' returns them all. The
arguments ``size_average`` and ``reduce``, deprecated in torch, are kept only so that positional
calls line up with torch's signatures; passing them raises an error naming ``reduction``.
"""
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            raise ValueError("size_average and reduce are deprecated (also in torch); use "
                             "reduction='mean', 'sum' or 'none'")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{reduction!r} is not a valid value for reduction; use 'mean', "
                             "'sum' or 'none'")
        self.reduction = reduction


class MSELoss(_Loss):
    """The mean squared error between each element of the input x and the target y.

        l_n = (x_n - y_n)^2,   loss = mean(l) ('mean'), sum(l) ('sum') or l ('none')

    Args:
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.

    Shape:
        - Input: (*), any shape.
        - Target: (*), the input's shape (a different shape broadcasts, with a warning).
        - Output: a scalar; (*) with reduction='none'.

    Examples::

        >>> loss = mg.nn.MSELoss()
        >>> x, y = mg.tensor([1., 2., 3.]), mg.tensor([1., 0., 0.])
        >>> loss(x, y)
        tensor(4.3333)
        >>> mg.nn.MSELoss(reduction="none")(x, y)
        tensor([0., 4., 9.])
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """The mean absolute error between each element of the input x and the target y.

        l_n = |x_n - y_n|,   loss = mean(l) ('mean'), sum(l) ('sum') or l ('none')

    Args:
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.

    Shape:
        - Input: (*), any shape.
        - Target: (*), the input's shape (a different shape broadcasts, with a warning).
        - Output: a scalar; (*) with reduction='none'.

    Examples::

        >>> loss = mg.nn.L1Loss(reduction="sum")
        >>> loss(mg.tensor([1., 2., 3.]), mg.tensor([1., 0., 0.]))
        tensor(5.)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """The binary cross-entropy between probabilities x and targets y in [0, 1].

        l_n = -w_n (y_n log x_n + (1 - y_n) log(1 - x_n))

    with each log clamped at -100 (as torch), so x = 0 or 1 gives a finite loss. For logits,
    BCEWithLogitsLoss is the stable choice.

    Args:
        weight (Tensor, optional): w, a rescaling weight broadcast to the input's shape.
            Default: None (w = 1).
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.

    Shape:
        - Input: (*), probabilities in [0, 1].
        - Target: (*), the input's shape.
        - Output: a scalar; (*) with reduction='none'.

    Attributes:
        weight (buffer or None): the ``weight`` argument.

    Examples::

        >>> loss = mg.nn.BCELoss()
        >>> p = mg.nn.Sigmoid()(mg.tensor([0., 2.]))
        >>> loss(p, mg.tensor([1., 0.]))
        tensor(1.41)
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid followed by the binary cross-entropy, computed from the logits x without
    overflow.

        l_n = -w_n (p y_n log sigmoid(x_n) + (1 - y_n) log(1 - sigmoid(x_n)))
            = w_n ((1 - y_n) x_n + (1 + (p - 1) y_n) softplus(-x_n))

    where p is pos_weight (1 if None) and softplus(-x) = -log sigmoid(x) is computed stably
    (finite at x = -100 and 100).

    Args:
        weight (Tensor, optional): w, a rescaling weight broadcast to the input's shape.
            Default: None (w = 1).
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.
        pos_weight (Tensor, optional): p, the weight of positive examples, broadcast to the
            input's shape (e.g. (C,) for C classes along the last dim). Default: None.

    Shape:
        - Input: (*), logits.
        - Target: (*), the input's shape, with values in [0, 1].
        - Output: a scalar; (*) with reduction='none'.

    Attributes:
        weight, pos_weight (buffer or None): the arguments of the same names.

    Examples::

        >>> loss = mg.nn.BCEWithLogitsLoss()
        >>> loss(mg.tensor([0., 2.]), mg.tensor([1., 0.]))   # BCELoss of sigmoid(x)
        tensor(1.41)
        >>> mg.nn.BCEWithLogitsLoss(pos_weight=mg.tensor([3.]))(mg.tensor([0., 2.]),
        ...                                                     mg.tensor([1., 0.]))
        tensor(2.1032)
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """The negative log-likelihood of class indices under log-probabilities.

        l_n = -w_{y_n} x_{n, y_n},   'mean': sum_n l_n / sum_n w_{y_n}

    for input x (N, C) of log-probabilities (e.g. LogSoftmax(dim=1)'s output) and class
    indices y; targets equal to ignore_index contribute neither to the loss nor to the mean's
    denominator. With more dims, (N, C, d1, ..., dK), there is one l per example and position.

    Args:
        weight (Tensor, optional): w, a weight per class, of shape (C,). Default: None (ones).
        ignore_index (int): a target value to ignore. Default: -100.
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.

    Shape:
        - Input: (N, C), (C,), or (N, C, d1, ..., dK).
        - Target: (N,), (), or (N, d1, ..., dK): integer class indices in [0, C).
        - Output: a scalar; the target's shape with reduction='none'.

    Attributes:
        weight (buffer or None): the ``weight`` argument.

    Examples::

        >>> loss = mg.nn.NLLLoss()
        >>> logp = mg.nn.LogSoftmax(dim=1)(mg.zeros(2, 4))   # uniform over 4 classes
        >>> loss(logp, mg.tensor([0, 3]))                      # log 4
        tensor(1.3863)
        >>> mg.nn.NLLLoss(weight=mg.tensor([1., 1., 1., 3.]))(
        ...     mg.tensor([[-1., -2., -3., -4.], [-1., -2., -3., -4.]]), mg.tensor([0, 3]))
        tensor(3.25)
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(NLLLoss):
    """The cross-entropy between softmax(input) over dim 1 and the target classes.

        l_n = -w_{y_n} log(exp(x_{n, y_n}) / sum_c exp(x_{n, c})),   'mean' as in NLLLoss

    that is NLLLoss of log_softmax(x, dim=1). The target may instead hold class probabilities
    (a float tensor of the input's shape): l_n = -sum_c w_c y_{n, c} log softmax(x_n)_c, and
    'mean' divides by the number of examples (and positions). label_smoothing e replaces the
    target by (1 - e) * target + e / C. With (N, C, H, W) scores there is one loss per pixel,
    as for PixelCNN's softmax over pixel values ("Лекция 12: Генеративные модели", §2.3).

    Args:
        weight (Tensor, optional): w, a weight per class, of shape (C,). Default: None (ones).
        ignore_index (int): a target class to ignore (class-index targets). Default: -100.
        reduction (str): 'mean', 'sum' or 'none' (see the module docstring). Default: 'mean'.
        label_smoothing (float): e in [0, 1]. Default: 0.0.

    Shape:
        - Input: (N, C), (C,), or (N, C, d1, ..., dK): unnormalized scores (logits).
        - Target: (N,), (), or (N, d1, ..., dK) integer class indices in [0, C); or class
          probabilities of the input's shape.
        - Output: a scalar; with reduction='none', the target's shape (class indices) or the
          input's shape without C (probabilities).

    Attributes:
        weight (buffer or None): the ``weight`` argument.

    Examples::

        >>> loss = mg.nn.CrossEntropyLoss()
        >>> scores = mg.randn(3, 5, requires_grad=True)
        >>> output = loss(scores, mg.tensor([1, 0, 4]))
        >>> output.backward()
        >>> output.shape, scores.grad.shape
        ((), (3, 5))
        >>> loss(mg.zeros(2, 4), mg.tensor([0, 3]))          # log 4
        tensor(1.3863)
        >>> pixels = mg.nn.CrossEntropyLoss(reduction="none")
        >>> pixels(mg.randn(2, 256, 8, 8), mg.randint(0, 256, (2, 8, 8))).shape
        (2, 8, 8)
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)
