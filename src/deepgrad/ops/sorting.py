"""sort, argsort and topk: values with the indices they came from.

Sorting only moves values, so the gradient of each sorted value goes back to
the position it came from (``indices``), as for indexing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from deepgrad.ops._common import normalize_dims
from deepgrad.tensor import Tensor


class SortResult(NamedTuple):
    """What ``sort`` returns, as torch.return_types.sort."""

    values: Tensor
    indices: Tensor


class TopkResult(NamedTuple):
    """What ``topk`` returns, as torch.return_types.topk."""

    values: Tensor
    indices: Tensor


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """The indices that sort ``data`` along ``axis``, stably: equal values keep
    their order, NaN counts as the largest value (first when descending)."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    # sort the reversed slices ascending, then read that order backwards: the
    # largest first, and equal values back in their original order
    reversed_order = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
    return data.shape[axis] - 1 - np.flip(reversed_order, axis)


def _sort_axis(input: Tensor, dim: int, op: str) -> int:
    (axis,) = normalize_dims(dim, input.ndim, op)
    return axis


def _gathered(input: Tensor, index: np.ndarray, axis: int, op: str) -> Tensor:
    """input's values at ``index`` along ``axis``; each one's gradient goes back
    to the position it was taken from."""
    if input.ndim == 0:
        return Tensor._make(input.array.copy(), (input,), _identity, op)

    def backward(grad_output):
        grad = np.zeros_like(input.array)
        np.put_along_axis(grad, index, grad_output, axis=axis)
        return (grad,)

    values = np.take_along_axis(input.array, index, axis=axis)
    return Tensor._make(values, (input,), backward, op)


def _identity(grad_output):
    return (grad_output,)


def sort(
    input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
) -> SortResult:
    """(values, indices) sorted along ``dim``, ascending unless ``descending``.

    The sort is always stable (equal values keep their order), which is what
    ``stable=True`` asks PyTorch for.
    """
    axis = _sort_axis(input, dim, "sort")
    index = (
        np.zeros((), np.int64)
        if input.ndim == 0
        else _order(input.array, axis, descending)
    )
    values = _gathered(input, index, axis, "SortBackward")
    return SortResult(values, Tensor(index.astype(np.int64)))


def argsort(
    input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable, as ``sort``)."""
    return sort(input, dim, descending, stable).indices


def topk(
    input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> TopkResult:
    """The ``k`` largest (or smallest) values along ``dim`` and their indices,
    largest first (smallest first for ``largest=False``); ``sorted=False``
    returns them in that order too."""
    axis = _sort_axis(input, dim, "topk")
    size = 1 if input.ndim == 0 else input.shape[axis]
    if not isinstance(k, int | np.integer) or not 0 <= k <= size:
        raise ValueError(
            f"topk: k must be an integer in [0, {size}] (the size of dimension "
            f"{dim}), received {k!r}"
        )
    if input.ndim == 0:
        index = np.zeros((), np.int64)
    else:
        index = np.take(_order(input.array, axis, largest), np.arange(k), axis=axis)
    values = _gathered(input, index, axis, "TopkBackward")
    return TopkResult(values, Tensor(index.astype(np.int64)))
