"""Subtly wrong: exp(x) without subtracting the max first. Right for moderate logits; at
x = 1e4 exp overflows to inf and inf / inf is nan. Loses exactly 'extreme values' (1 point)."""
import numpy as np

from minigen.autograd import Function


class SoftmaxOp(Function):
    def forward(self, x):
        e = np.exp(x)
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, grad):
        s = self.output
        return s * (grad - (grad * s).sum(dim=self.dim, keepdim=True))


def softmax(x, dim=-1):
    return SoftmaxOp.apply(x, dim=dim)
