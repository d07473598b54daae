"""Subtly wrong: the backward is right but computed on NumPy arrays, so create_graph=True has
nothing to record and the gradient of the gradient comes out zero. Loses exactly 'gradgrad'."""
import numpy as np

from minigen.autograd import Function
from minigen.tensor import Tensor


class SoftmaxOp(Function):
    def forward(self, x):
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, grad):
        s, g = self.output.data, grad.data
        return Tensor(s * (g - (g * s).sum(axis=self.dim, keepdims=True)))


def softmax(x, dim=-1):
    return SoftmaxOp.apply(x, dim=dim)
