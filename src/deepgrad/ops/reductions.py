"""Reductions (sum, mean, max, min, var) and their vector-Jacobian products."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from deepgrad.ops._common import OUTPUT_SAVED, normalize_dims, require_float, saved
from deepgrad.tensor import Tensor


def _reduced_axes(a: Tensor, dim: Any, op: str) -> tuple[int, ...] | None:
    """The axes a reduction sums over; for a 0-d tensor, dim 0 or -1 names its value."""
    axes = normalize_dims(dim, a.ndim, op)
    return None if a.ndim == 0 else axes


def _expand_back(grad_output: np.ndarray, axes, keepdim: bool, shape) -> np.ndarray:
    """Broadcast a reduced gradient back over the axes that were reduced away."""
    if axes is not None and not keepdim:
        grad_output = np.expand_dims(grad_output, axes)
    return np.broadcast_to(grad_output, shape)


def sum(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    axes = _reduced_axes(a, dim, "sum")
    data = a.array if a.array.dtype.kind in "fc" else a.array.astype(np.int64)
    out = np.asarray(data.sum(axis=axes, keepdims=keepdim))

    def backward(grad_output):  # every summed element gets the output's gradient
        return (_expand_back(grad_output, axes, keepdim, a.shape),)

    return Tensor._make(out, (a,), backward, "SumBackward")


def mean(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    require_float(a, "mean")
    axes = _reduced_axes(a, dim, "mean")
    count = a.array.size if axes is None else int(np.prod([a.shape[d] for d in axes]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(a.array.mean(axis=axes, keepdims=keepdim))

    def backward(grad_output):  # each element contributes 1/count of the mean
        return (_expand_back(grad_output / count, axes, keepdim, a.shape),)

    return Tensor._make(
        out.astype(a.array.dtype, copy=False), (a,), backward, "MeanBackward"
    )


def var(
    a: Tensor,
    dim: Any = None,
    unbiased: bool = True,
    keepdim: bool = False,
    correction: int | None = None,
) -> Tensor:
    """Variance with Bessel's correction by default, as ``torch.var``."""
    require_float(a, "var")
    ddof = correction if correction is not None else int(bool(unbiased))
    axes = _reduced_axes(a, dim, "var")
    count = a.array.size if axes is None else int(np.prod([a.shape[d] for d in axes]))
    centered = a.array - a.array.mean(axis=axes, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(
            (centered * centered).sum(axis=axes, keepdims=keepdim) / (count - ddof)
        )

    def backward(grad_output):  # d var/dx_i = 2 (x_i - mean) / (n - ddof)
        g = _expand_back(grad_output, axes, keepdim, a.shape)
        return (g * (2.0 * centered / (count - ddof)),)

    return Tensor._make(
        out.astype(a.array.dtype, copy=False), (a,), backward, "VarBackward"
    )


class MaxResult(NamedTuple):
    """What ``max(dim=...)``/``min(dim=...)`` return, as torch.return_types."""

    values: Tensor
    indices: Tensor


def max(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The largest value, or (values, indices) along ``dim``.

    ``max(a, other_tensor)`` is the elementwise maximum, as in PyTorch.
    """
    if isinstance(dim, Tensor):
        from deepgrad.ops.arithmetic import maximum

        return maximum(a, dim)
    return _extreme(a, dim, keepdim, np.argmax, "max")


def min(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The smallest value, or (values, indices) along ``dim``."""
    if isinstance(dim, Tensor):
        from deepgrad.ops.arithmetic import minimum

        return minimum(a, dim)
    return _extreme(a, dim, keepdim, np.argmin, "min")


def _extreme(a: Tensor, dim: Any, keepdim: bool, arg, name: str) -> Any:
    if a.array.size == 0:
        raise ValueError(
            f"{name}(): the input is empty (shape {a.shape}); "
            "there is no value to return"
        )
    op = name.capitalize() + "Backward"
    if dim is None:
        out = np.asarray(a.array.max() if name == "max" else a.array.min())

        def backward(grad_output):
            # ties share the gradient evenly, as torch.max() without dim does
            winners = a.array == out
            return (winners * (grad_output / winners.sum()),)

        return Tensor._make(out, (a,), backward, op, saved(a) + OUTPUT_SAVED)

    (axis,) = normalize_dims(dim, a.ndim, name)
    if a.ndim == 0:  # as PyTorch: the value itself, at index 0

        def backward_0d(grad_output):
            return (grad_output,)

        return MaxResult(
            Tensor._make(a.array.copy(), (a,), backward_0d, op),
            Tensor(np.zeros((), dtype=np.int64)),
        )
    index = np.expand_dims(arg(a.array, axis=axis), axis)
    values = np.take_along_axis(a.array, index, axis=axis)
    if not keepdim:
        values = values.squeeze(axis)

    def backward_dim(grad_output):  # the whole gradient goes to the chosen element
        grad = np.zeros_like(a.array)
        g = grad_output if keepdim else np.expand_dims(grad_output, axis)
        np.put_along_axis(grad, index, g, axis=axis)
        return (grad,)

    values_tensor = Tensor._make(values, (a,), backward_dim, op)
    indices = index if keepdim else index.squeeze(axis)
    return MaxResult(values_tensor, Tensor(indices.astype(np.int64)))


def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmax(a.array), dtype=np.int64))
    return Tensor(np.argmax(a.array, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmin(a.array), dtype=np.int64))
    return Tensor(np.argmin(a.array, axis=dim, keepdims=keepdim).astype(np.int64))
