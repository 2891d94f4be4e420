"""dot, outer, mv, mm, bmm: matmul with the fixed shapes PyTorch requires of each.

Each checks its operands' dimensions, then is ``matmul`` (or ``*`` for outer),
whose backward gives the gradients: dL/dA = G B^T, dL/dB = A^T G.
"""

from __future__ import annotations

from deepgrad.ops.arithmetic import matmul, mul
from deepgrad.ops.shape import reshape
from deepgrad.tensor import Tensor


def _require_dims(op: str, **operands: tuple[Tensor, int]) -> None:
    for name, (tensor, ndim) in operands.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"{op}: {name} must be a Tensor, received {type(tensor).__name__}"
            )
        if tensor.ndim != ndim:
            raise ValueError(
                f"{op}: {name} must have {ndim} dimension(s), received shape "
                f"{tuple(tensor.shape)}"
            )


def _require_same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise TypeError(
            f"{op}: expected both operands to have the same dtype, received "
            f"{a.dtype} and {b.dtype}; convert one with .float() or .double()"
        )


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """The inner product sum_i a_i b_i of two 1-D tensors of equal length."""
    _require_dims("dot", input=(input, 1), tensor=(tensor, 1))
    _require_same_dtype("dot", input, tensor)
    if input.shape != tensor.shape:
        raise ValueError(
            f"dot: the two vectors must have the same length, received shapes "
            f"{tuple(input.shape)} and {tuple(tensor.shape)}"
        )
    return matmul(input, tensor)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product a_i b_j of two 1-D tensors: a (len(a), len(b)) matrix."""
    _require_dims("outer", input=(input, 1), vec2=(vec2, 1))
    return mul(reshape(input, -1, 1), vec2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,): a vector (n,)."""
    _require_dims("mv", input=(input, 2), vec=(vec, 1))
    _require_same_dtype("mv", input, vec)
    return matmul(input, vec)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix (n, m) times matrix (m, p), both 2-D (``matmul`` also broadcasts)."""
    _require_dims("mm", input=(input, 2), mat2=(mat2, 2))
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """A batch of matrix products: (b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting."""
    _require_dims("bmm", input=(input, 3), mat2=(mat2, 3))
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(
            f"bmm: the batch sizes differ: shapes {tuple(input.shape)} and "
            f"{tuple(mat2.shape)}"
        )
    return matmul(input, mat2)
