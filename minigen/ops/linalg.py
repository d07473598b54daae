"""Matrix products: matmul with NumPy's batch broadcasting and 1-D operands, the fused linear
layer, and einsum.

  C = A @ B:   dL/dA = dL/dC @ B^T,   dL/dB = A^T @ dL/dC   (then summed over broadcast batch dims)
A 1-D operand is promoted to a matrix (a row on the left, a column on the right) and the added
dim is removed afterwards, both with reshape, so the primitive only sees operands of 2 or more dims.

  linear(x, W, b) = x W^T + b for 2-D x, one node instead of three (transpose, matmul, add)
      dx = g W,   dW = g^T x,   db = sum of g over the batch
      (the composite spends its time on Python bookkeeping for small layers; the fused node is
      20-40% faster for an MLP's layers, measured forward + backward)

  einsum("ij,jk->ik", A, B): the gradient of operand k is the einsum of g with the other operands
      into operand k's subscripts (so it is an einsum again, differentiable to any order);
      subscripts of operand k that appear nowhere else were summed away and come back by
      broadcasting; a dim of size 1 that broadcast against a larger one is summed back to 1.
"""
from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import as_tensor_like
from .shape import broadcast_shapes, broadcast_to, reshape, sum_to, transpose


class MatMulOp(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        ga = sum_to(g @ transpose(b, -1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(transpose(a, -1, -2) @ g, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    """The matrix product a @ b (torch.matmul): 1-D operands are vectors, leading dims broadcast
    as a batch. An integer tensor with a floating one raises, as in torch."""
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b)
    if not isinstance(b, Tensor):
        b = as_tensor_like(b, a)
    if (a.dtype.kind in "fc") != (b.dtype.kind in "fc"):
        raise RuntimeError(f"matmul of an {a.dtype} tensor (shape {a.shape}) and an {b.dtype} "
                           f"tensor (shape {b.shape}): integer and floating tensors are not "
                           "multiplied together (as in torch); convert with .float() first")
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
        return reshape(MatMulOp.apply(a, reshape(b, (k_b, 1))), a.shape[:-1])
    return MatMulOp.apply(a, b)


class LinearOp(Function):
    def forward(self, x, w, b=None):
        y = x @ w.T
        if b is not None:
            y += b  # in place: y is a fresh array
        return y

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        grads = (g @ w if need[0] else None, g.t() @ x if need[1] else None)
        if len(self.inputs) == 3:
            grads += (g.sum(0) if need[2] else None,)
        return grads


def linear(x, w, b=None):
    """x W^T + b for x (N, in), W (out, in), b (out,) or None: one node."""
    return LinearOp.apply(x, w) if b is None else LinearOp.apply(x, w, b)


class EinsumOp(Function):
    """einsum over explicit subscripts ``self.ins`` (one string per operand) -> ``self.out``."""

    def forward(self, *arrays):
        xp = backend.get_array_module(*arrays)
        return xp.einsum(",".join(self.ins) + "->" + self.out, *arrays)

    def backward(self, g):
        grads = []
        for k, (x, subs) in enumerate(zip(self.inputs, self.ins)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(t, s) for j, (t, s) in enumerate(zip(self.inputs, self.ins)) if j != k]
            seen = set(self.out).union(*[set(s) for _, s in others])
            kept = "".join(c for c in subs if c in seen)
            gk = EinsumOp.apply(g, *[t for t, _ in others], ins=(self.out,) + tuple(
                s for _, s in others), out=kept)
            if kept != subs:  # subscripts summed away in the forward come back by broadcasting
                gk = reshape(gk, tuple(gk.shape[kept.index(c)] if c in seen else 1
                                       for c in subs))
            if gk.shape != x.shape:  # a size-1 dim of x that broadcast, or of the others
                gk = sum_to(broadcast_to(gk, broadcast_shapes(gk.shape, x.shape)), x.shape)
            grads.append(gk)
        return tuple(grads)


def einsum(equation, *operands):
    """torch.einsum: a sum of products of the operands over the subscripts that the output
    leaves out.

    ``equation`` names each dim of each operand with a letter ("ij,jk->ik" is a matrix
    product); "..." stands for leading dims, which broadcast; without "->" the output is the
    letters used once, in alphabetical order. A letter's sizes must agree across operands or be
    1 (which broadcasts). The operands may also come as one list. The gradient of each operand
    is an einsum of g with the other operands. A letter repeated within one operand (a diagonal
    or trace) is not supported.

        >>> mg.einsum("bij,bjk->bik", mg.ones(2, 3, 4), mg.ones(2, 4, 5)).shape
        (2, 3, 5)
        >>> mg.einsum("i,i", mg.tensor([1., 2.]), mg.tensor([3., 4.]))
        tensor(11.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ins, out = _parse_einsum(equation.replace(" ", ""), operands)
    dtypes = {t.dtype for t in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum needs operands of one dtype, got {sorted(map(str, dtypes))}")
    return EinsumOp.apply(*operands, ins=ins, out=out)


def _parse_einsum(equation, operands):
    """Explicit subscripts, one letter per dim: "..." becomes spare capital letters, aligned from
    the right across operands (so the dims it stands for broadcast)."""
    lhs, arrow, out = equation.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} names {len(ins)} operands but "
                         f"{len(operands)} were given")
    widths = [t.ndim - (len(s) - 3) if "..." in s else 0 for s, t in zip(ins, operands)]
    if min(widths, default=0) < 0:
        raise ValueError(f"einsum: an operand of {equation!r} has more subscripts than dims")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    batch = "".join(spare[:max(widths, default=0)])
    explicit = [s.replace("...", batch[len(batch) - n:] if n else "")
                for s, n in zip(ins, widths)]
    for subs, t in zip(explicit, operands):
        if len(subs) != t.ndim or not subs.isalpha():
            raise ValueError(f"einsum: subscripts {subs!r} do not match an operand of shape "
                             f"{t.shape}")
        if len(set(subs)) != len(subs):
            raise ValueError(f"einsum: the subscripts {subs!r} repeat a letter within one "
                             "operand (a diagonal or trace), which minigen's einsum does not "
                             "support; take the diagonal first")
    sizes = {}
    for subs, t in zip(explicit, operands):
        for c, n in zip(subs, t.shape):
            if sizes.setdefault(c, n) == 1:  # size 1 broadcasts against any size, as in torch
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ValueError(f"einsum: subscript {c!r} of {equation!r} has sizes "
                                 f"{sizes[c]} and {n} in different operands (shapes "
                                 f"{[tuple(o.shape) for o in operands]}); they must agree "
                                 "or be 1")
    if arrow:
        out = out.replace("...", batch)
    else:
        letters = "".join(explicit)
        out = batch + "".join(sorted(c for c in set(letters)
                                     if letters.count(c) == 1 and c not in batch))
    if not set(out) <= set("".join(explicit)) or len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscripts {out!r} must be distinct letters of the "
                         f"inputs in {equation!r}")
    return tuple(explicit), out
