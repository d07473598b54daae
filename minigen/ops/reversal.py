"""Gradient reversal (lecture §5.5; Ganin and Lempitsky 2015): the one op of adversarial domain
adaptation.

    forward   R_lambda(x) = x
    backward  dL/dx = -lambda dL/dR

Placed between the feature extractor G_f and the domain classifier G_d, it lets one backward pass
train G_d to *minimize* the domain loss while G_f receives the reversed gradient and so
*maximizes* it: the features become ones from which the domain cannot be told.

R_lambda is not the derivative of any function (the forward's true Jacobian is +I), so a finite
difference test checks it through a function without the op: grad of h(R(x)) equals -lambda
times the numerical gradient of h. The backward is -lambda g, itself a Tensor op, so gradients of
gradients flow through it (a gradient penalty on a network behind the reversal, say).
"""
from ..autograd import Function


class GradientReversalOp(Function):
    """Identity forward; the incoming gradient times -``lambd`` backward (differentiable)."""

    def forward(self, x):
        # a copy, not x itself: the output must not alias a leaf that an optimizer updates in place
        return x.copy()

    def backward(self, g):
        return g * (-self.lambd)


def gradient_reversal(x, lambd=1.0):
    """R_lambda(x): ``x`` unchanged forward, gradient multiplied by -lambd backward."""
    lambd = float(lambd)
    if not lambd >= 0.0:
        raise ValueError(f"gradient reversal: lambda must be a number >= 0, got {lambd}")
    if x.dtype.kind != "f":
        raise TypeError(f"gradient reversal needs a floating tensor, got dtype {x.dtype}")
    return GradientReversalOp.apply(x, lambd=lambd)
