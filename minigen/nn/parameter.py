"""Parameter: a Tensor that a Module learns.

Assigning a Parameter to a Module attribute registers it, so that ``module.parameters()`` hands it
to an optimizer and ``state_dict()`` saves it. It is a leaf that requires a gradient by default.
Ops on a Parameter give plain Tensors: only the leaf itself is a Parameter.
"""
import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A learnable leaf tensor: ``Parameter(data, requires_grad=True)``.

    ``data`` may be a Tensor (its array is shared, not copied, as in torch) or anything that
    NumPy/CuPy turns into an array.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.zeros((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

