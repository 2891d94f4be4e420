"""``deepgrad.linalg``: vector and matrix norms, as ``torch.linalg``.

The vector norm is ``ops.reductions.vector_norm`` (where its gradient is); the
matrix norms are built from it and from differentiable reductions.
"""

from __future__ import annotations

from typing import Any

from deepgrad.ops import amax, amin, squeeze, sum
from deepgrad.ops._common import normalize_dims, torch_keywords
from deepgrad.ops.arithmetic import abs
from deepgrad.ops.reductions import vector_norm as _vector_norm
from deepgrad.tensor import Tensor

__all__ = ["matrix_norm", "norm", "vector_norm"]

vector_norm = torch_keywords(_vector_norm)

_INF = float("inf")


@torch_keywords
def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False
) -> Tensor:
    """A matrix norm over the two dimensions ``dim``, as ``torch.linalg.matrix_norm``.

    "fro": sqrt(sum a_ij^2); 1 / -1: the largest / smallest column sum of |a_ij|;
    inf / -inf: the largest / smallest row sum. (2, -2 and "nuc" need singular
    values, which deepgrad does not compute.)
    """
    if A.ndim < 2:
        raise ValueError(
            f"matrix_norm: expected a tensor with at least 2 dimensions, received "
            f"shape {tuple(A.shape)}"
        )
    rows, columns = normalize_dims(dim, A.ndim, "matrix_norm")
    if ord == "fro":
        return _vector_norm(A, 2, (rows, columns), keepdim)
    sums_over = {1: rows, -1: rows, _INF: columns, -_INF: columns}
    if isinstance(ord, str) or ord not in sums_over:
        raise ValueError(
            f"matrix_norm: ord={ord!r} is not supported; use 'fro', 1, -1, inf or "
            "-inf (2, -2 and 'nuc' need singular values)"
        )
    summed = sum(abs(A), sums_over[ord], keepdim=True)
    pick = amax if ord > 0 else amin
    out = pick(summed, (rows, columns), keepdim=True)
    return out if keepdim else squeeze(out, (rows, columns))


@torch_keywords
def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """``torch.linalg.norm``: a vector norm, or a matrix norm when ``dim`` names
    two dimensions (or, with ``dim=None`` and ``ord`` given, A is 2-D).

    ``ord=None`` is the 2-norm of all elements (the Frobenius norm of a matrix).
    """
    if ord is None:
        return _vector_norm(A, 2, dim, keepdim)
    two_dims = (dim is None and A.ndim == 2) or (
        dim is not None and not isinstance(dim, int) and len(dim) == 2
    )
    if two_dims:
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim)
    if dim is None and A.ndim != 1:
        raise ValueError(
            f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or "
            f"2-D, received shape {tuple(A.shape)}; give dim, or flatten it"
        )
    return _vector_norm(A, ord, dim, keepdim)
