"""Moved: the primitives that were here live in minigen/ops (ops/activation.py: ErfOp, SoftplusOp,
SiLUOp; ops/linalg.py: LinearOp). These names remain only for modules written before the move
(ops/lstm.py imports Linear from here); new code imports from minigen.ops."""
from ..ops.activation import erf, silu, softplus  # noqa: F401
from ..ops.linalg import LinearOp as Linear, linear  # noqa: F401
