"""Matrix product with NumPy's batch broadcasting and 1-D operands.

  C = A @ B:   dL/dA = dL/dC @ B^T,   dL/dB = A^T @ dL/dC   (then summed over broadcast batch dims)
A 1-D operand is promoted to a matrix (a row on the left, a column on the right) and the added
dim is removed afterwards, both with reshape, so the primitive only sees operands of 2 or more dims.
"""
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import as_tensor_like
from .shape import broadcast_shapes, reshape, sum_to, transpose


class MatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        ga = sum_to(g @ transpose(b, -1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(transpose(a, -1, -2) @ g, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b)
    if not isinstance(b, Tensor):
        b = as_tensor_like(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs tensors of at least 1 dimension, got shapes {a.shape} "
                         f"and {b.shape}; use * for scalars")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul of shapes {a.shape} and {b.shape}: the inner dimensions "
                         f"{k_a} and {k_b} differ")
    if a.ndim > 2 and b.ndim > 2:
        try:
            broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul of shapes {a.shape} and {b.shape}: the batch dimensions "
                             f"{a.shape[:-2]} and {b.shape[:-2]} cannot be broadcast") from None
    if a.ndim == 1:
        out = matmul(reshape(a, (1, k_a)), b)
        return reshape(out, out.shape[:-2] + out.shape[-1:] if b.ndim > 1 else ())
    if b.ndim == 1:
        return reshape(MatMul.apply(a, reshape(b, (k_b, 1))), a.shape[:-1])
    return MatMul.apply(a, b)
