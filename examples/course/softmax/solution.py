"""A correct submission: softmax as a primitive op with a differentiable backward."""
import numpy as np

from minigen.autograd import Function


class SoftmaxOp(Function):
    def forward(self, x):
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))   # no overflow for large logits
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, grad):
        s = self.output
        return s * (grad - (grad * s).sum(dim=self.dim, keepdim=True))


def softmax(x, dim=-1):
    return SoftmaxOp.apply(x, dim=dim)
