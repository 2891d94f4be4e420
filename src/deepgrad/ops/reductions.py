"""Reductions (sum, mean, var, std, max, min, amax, amin, median, prod, norms,
logsumexp), running sums and differences (cumsum, diff), and their
vector-Jacobian products."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from deepgrad.ops._common import (
    OUTPUT_SAVED,
    float_data,
    normalize_dims,
    require_float,
    saved,
)
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
        return (_expand_back(grad_output, axes, keepdim, a.array.shape),)

    return Tensor._make(out, (a,), backward, "SumBackward")


def mean(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    require_float(a, "mean")
    axes = _reduced_axes(a, dim, "mean")
    count = a.array.size if axes is None else int(np.prod([a.shape[d] for d in axes]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(a.array.mean(axis=axes, keepdims=keepdim))

    def backward(grad_output):  # each element contributes 1/count of the mean
        return (_expand_back(grad_output / count, axes, keepdim, a.array.shape),)

    return Tensor._make(
        out.astype(a.array.dtype, copy=False), (a,), backward, "MeanBackward"
    )


def _variance(a: Tensor, dim: Any, unbiased: bool, correction: Any, op: str):
    """(x - mean, the divisor n - correction, the axes reduced), for var and std.

    ``var(x, False)`` is torch's older ``var(input, unbiased)``: a bool in dim's
    place is ``unbiased``.
    """
    require_float(a, op)
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    ddof = correction if correction is not None else int(bool(unbiased))
    axes = _reduced_axes(a, dim, op)
    count = a.array.size if axes is None else int(np.prod([a.shape[d] for d in axes]))
    centered = a.array - a.array.mean(axis=axes, keepdims=True)
    return centered, builtins.max(count - ddof, 0), axes  # torch's max(0, n - ddof)


def var(
    a: Tensor,
    dim: Any = None,
    unbiased: bool = True,
    keepdim: bool = False,
    correction: int | None = None,
) -> Tensor:
    """Variance with Bessel's correction by default, as ``torch.var``."""
    centered, divisor, axes = _variance(a, dim, unbiased, correction, "var")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(
            (centered * centered).sum(axis=axes, keepdims=keepdim) / divisor
        )

    def backward(grad_output):  # d var/dx_i = 2 (x_i - mean) / (n - correction)
        g = _expand_back(grad_output, axes, keepdim, a.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (g * (2.0 * centered / divisor),)

    return Tensor._make(
        out.astype(a.array.dtype, copy=False), (a,), backward, "VarBackward"
    )


def std(
    a: Tensor,
    dim: Any = None,
    unbiased: bool = True,
    keepdim: bool = False,
    correction: int | None = None,
) -> Tensor:
    """Standard deviation sqrt(var), with ``torch.std``'s arguments.

    d std/dx_i = d var/dx_i / (2 std) = (x_i - mean) / ((n - correction) std);
    where std is 0 (a constant input) the gradient is 0, as in PyTorch.
    """
    centered, divisor, axes = _variance(a, dim, unbiased, correction, "std")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sqrt((centered * centered).sum(axis=axes, keepdims=keepdim) / divisor)
    out = np.asarray(out).astype(a.array.dtype, copy=False)

    def backward(grad_output):
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = np.where(out == 0, 0, grad_output / (2 * out))
            g = _expand_back(scaled, axes, keepdim, a.shape)
            return (g * (2.0 * centered / divisor),)

    return Tensor._make(out, (a,), backward, "StdBackward", OUTPUT_SAVED)


class MaxResult(NamedTuple):
    """What ``max(dim=...)`` returns, as torch.return_types.max."""

    values: Tensor
    indices: Tensor


class MinResult(NamedTuple):
    """What ``min(dim=...)`` returns, as torch.return_types.min."""

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
            f"{name}(): the input is empty (shape {tuple(a.shape)}); "
            "there is no value to return"
        )
    op = name.capitalize() + "Backward"
    result = MaxResult if name == "max" else MinResult
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

        return result(
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
    return result(values_tensor, Tensor(indices.astype(np.int64)))


def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmax(a.array), dtype=np.int64))
    return Tensor(np.argmax(a.array, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmin(a.array), dtype=np.int64))
    return Tensor(np.argmin(a.array, axis=dim, keepdims=keepdim).astype(np.int64))


def amax(a: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The largest value along ``dim`` (all dimensions when ``dim=()``).

    Ties share the gradient evenly, as ``torch.amax``: with k maxima in a
    slice, each gets 1/k of its gradient.
    """
    return _extreme_values(a, dim, keepdim, np.max, "amax")


def amin(a: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The smallest value along ``dim``; ties share the gradient evenly."""
    return _extreme_values(a, dim, keepdim, np.min, "amin")


def _extreme_values(a: Tensor, dim: Any, keepdim: bool, reduce, name: str) -> Tensor:
    axes = _reduced_axes(a, None if dim == () else dim, name)
    if a.array.size == 0:
        raise ValueError(f"{name}: the input is empty (shape {tuple(a.shape)})")
    kept = reduce(a.array, axis=axes, keepdims=True)
    out = np.asarray(kept if keepdim or a.ndim == 0 else reduce(a.array, axis=axes))

    def backward(grad_output):
        winners = a.array == kept
        count = winners.sum(axis=axes, keepdims=True)
        g = _expand_back(grad_output, axes, keepdim, a.shape)
        return (g * winners / count,)

    return Tensor._make(out, (a,), backward, name.capitalize() + "Backward", saved(a))


def _int64_if_integral(data: np.ndarray) -> np.ndarray:
    """Sums and products of integers and bools are int64, as in PyTorch."""
    return data if data.dtype.kind in "fc" else data.astype(np.int64)


def prod(
    a: Tensor, dim: int | None = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """The product of all elements, or along one ``dim``.

    d prod/dx_i is the product of the other elements. It is computed as
    (product of those before i) * (product of those after i), not prod / x_i,
    so zeros in the input give exact gradients, as in PyTorch. ``dtype``
    converts the input first.
    """
    if dtype is not None:
        a = _converted(a, dtype)
    data = _int64_if_integral(a.array)
    if dim is not None:
        if not isinstance(dim, int | np.integer):
            raise TypeError(f"prod: dim must be one integer, received {dim!r}")
        (axis,) = normalize_dims(dim, a.ndim, "prod")
    if a.ndim == 0:
        return Tensor._make(data.copy(), (a,), _identity_backward, "ProdBackward")
    if dim is None:  # the product of all elements, as one slice of the flat tensor
        axis, data = 0, data.reshape(-1)
    out = np.asarray(np.prod(data, axis=axis, keepdims=keepdim))
    if dim is None:
        out = out.reshape((1,) * a.ndim if keepdim else ())

    def backward(grad_output):
        g = grad_output.reshape(-1) if dim is None else grad_output
        if dim is not None and not keepdim:
            g = np.expand_dims(g, axis)
        return ((g * _product_of_the_others(data, axis)).reshape(a.shape),)

    return Tensor._make(out, (a,), backward, "ProdBackward", saved(a))


def _product_of_the_others(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the other elements along ``axis``."""
    x = np.moveaxis(x, axis, -1)
    ones = np.ones_like(x[..., :1])
    before = np.concatenate([ones, np.cumprod(x[..., :-1], axis=-1)], axis=-1)
    after = np.flip(np.cumprod(np.flip(x[..., 1:], -1), axis=-1), -1)
    after = np.concatenate([after, ones], axis=-1)
    return np.moveaxis(before * after, -1, axis)


def cumsum(a: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """Running sums along ``dim``: out_i = x_0 + ... + x_i.

    x_j appears in every out_i with i >= j, so its gradient is the sum of the
    output gradient from j to the end: a cumulative sum taken backwards.
    ``dtype`` converts the input first.
    """
    if dtype is not None:
        a = _converted(a, dtype)
    (axis,) = normalize_dims(dim, a.ndim, "cumsum")
    data = _int64_if_integral(a.array)
    if a.ndim == 0:
        return Tensor._make(data.copy(), (a,), _identity_backward, "CumsumBackward")

    def backward(grad_output):
        reversed_sums = np.cumsum(np.flip(grad_output, axis), axis=axis)
        return (np.flip(reversed_sums, axis),)

    return Tensor._make(np.cumsum(data, axis=axis), (a,), backward, "CumsumBackward")


def _converted(a: Tensor, dtype: Any) -> Tensor:
    """a in ``dtype``, differentiably (a reduction's ``dtype=`` argument)."""
    from deepgrad.ops.arithmetic import cast

    return cast(a, dtype)


def _identity_backward(grad_output):
    return (grad_output,)


def logsumexp(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along ``dim``, computed as m + log(sum(exp(x - m))) with
    m the maximum, so large values do not overflow.

    d logsumexp/dx_i = exp(x_i) / sum(exp(x)) = exp(x_i - out): the softmax.
    """
    x = float_data(a)
    axes = _reduced_axes(a, dim, "logsumexp")
    shift = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim)
    shift = np.where(np.isinf(shift), 0, shift)  # all -inf (or +inf): shift by 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kept = np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True)) + shift
    out = kept if keepdim or axes is None and a.ndim == 0 else np.squeeze(kept, axes)
    out = np.asarray(out.astype(x.dtype, copy=False))

    def backward(grad_output):
        g = _expand_back(grad_output, axes, keepdim, a.shape)
        with np.errstate(invalid="ignore", over="ignore"):
            return (g * np.exp(x - kept),)

    return Tensor._make(out, (a,), backward, "LogsumexpBackward", saved(a))


class MedianResult(NamedTuple):
    """What ``median(dim=...)`` returns, as torch.return_types.median."""

    values: Tensor
    indices: Tensor


def median(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median: the ((n - 1) // 2)-th smallest value, as ``torch.median``.

    Without ``dim`` a tensor (a NaN anywhere makes it NaN), whose gradient is
    shared evenly by the elements equal to it; with ``dim`` (values, indices),
    the gradient going to the index returned.
    """
    if a.array.size == 0:
        raise ValueError(f"median: the input is empty (shape {tuple(a.shape)})")
    if dim is None:
        flat = np.sort(a.array.reshape(-1), kind="stable")
        out = np.asarray(flat[(flat.size - 1) // 2])
        if a.array.dtype.kind in "fc" and np.isnan(flat[-1]):
            out = np.asarray(np.nan, dtype=a.array.dtype)

        def backward(grad_output):
            picked = (a.array == out) | (np.isnan(a.array) & np.isnan(out))
            return (picked * (grad_output / picked.sum()),)

        return Tensor._make(out, (a,), backward, "MedianBackward", saved(a))

    (axis,) = normalize_dims(dim, a.ndim, "median")
    if a.ndim == 0:
        return MedianResult(
            Tensor._make(a.array.copy(), (a,), _identity_backward, "MedianBackward"),
            Tensor(np.zeros((), dtype=np.int64)),
        )
    order = np.argsort(a.array, axis=axis, kind="stable")
    index = np.take(order, [(a.shape[axis] - 1) // 2], axis=axis)
    values, indices = _pick(a, index, axis, keepdim, "MedianBackward")
    return MedianResult(values, indices)


class ModeResult(NamedTuple):
    """What ``mode`` returns, as torch.return_types.mode."""

    values: Tensor
    indices: Tensor


def mode(a: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """The most frequent value along ``dim`` (the smallest of equally frequent
    ones) and the index of its last occurrence, as ``torch.mode``; the gradient
    goes to that index."""
    if a.array.size == 0:
        raise ValueError(f"mode: the input is empty (shape {tuple(a.shape)})")
    (axis,) = normalize_dims(dim, a.ndim, "mode")
    if a.ndim == 0:
        return ModeResult(
            Tensor._make(a.array.copy(), (a,), _identity_backward, "ModeBackward"),
            Tensor(np.zeros((), dtype=np.int64)),
        )
    rows = np.moveaxis(a.array, axis, -1).reshape(-1, a.shape[axis])
    picked = np.empty(len(rows), dtype=np.int64)
    for r, row in enumerate(rows):
        values, counts = np.unique(row, return_counts=True)
        most_frequent = values[np.argmax(counts)]  # unique sorts: the smallest first
        picked[r] = np.flatnonzero(row == most_frequent)[-1]
    shape = np.moveaxis(a.array, axis, -1).shape[:-1]
    index = np.expand_dims(picked.reshape(shape), axis)
    values, indices = _pick(a, index, axis, keepdim, "ModeBackward")
    return ModeResult(values, indices)


def _pick(a: Tensor, index: np.ndarray, axis: int, keepdim: bool, op: str):
    """(a's values at ``index`` along ``axis``, the indices): a reduction that
    selects one element per slice; the gradient goes to that element."""
    values = np.take_along_axis(a.array, index, axis=axis)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)

    def backward(grad_output):
        grad = np.zeros_like(a.array)
        g = grad_output if keepdim else np.expand_dims(grad_output, axis)
        picked = index if keepdim else np.expand_dims(index, axis)
        np.put_along_axis(grad, picked, g, axis=axis)
        return (grad,)

    return Tensor._make(values, (a,), backward, op), Tensor(index.astype(np.int64))


def vector_norm(
    a: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """The p-norm (sum |x_i|^p)^(1/p) over ``dim`` (all elements by default), as
    ``torch.linalg.vector_norm``; ord inf is max |x_i|, -inf min |x_i|, 0 the
    number of nonzero elements.

    Its gradient, as PyTorch's (0 wherever the norm is 0, so the zero vector gets
    the subgradient 0):
    p = 1:          sign(x)
    p = 2:          x / norm
    p = +-inf:      sign(x) / k at the k elements where |x| = norm, else 0
    p = 0:          0
    other p:        sign(x) |x|^(p-1) / norm^(p-1)   (0 at x = 0 when p < 1)
    """
    if isinstance(ord, str) or isinstance(ord, bool):
        raise TypeError(
            f"vector_norm: ord must be a number (1, 2, inf, -inf, 0, ...), received "
            f"{ord!r}; for the Frobenius norm of a matrix use ord=2 or linalg.norm"
        )
    require_float(a, "vector_norm")
    if dtype is not None:
        a = _converted(a, dtype)
    x = a.array
    axes = _reduced_axes(a, dim, "vector_norm")
    magnitude = np.abs(x)
    p = float(ord)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == np.inf:
            kept = np.max(magnitude, axis=axes, keepdims=True)
        elif p == -np.inf:
            kept = np.min(magnitude, axis=axes, keepdims=True)
        elif p == 0:
            kept = np.sum(magnitude != 0, axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            kept = np.sum(magnitude, axis=axes, keepdims=True)
        else:
            # max|x| (sum (|x| / max|x|)^p)^(1/p): the powers of tiny or huge
            # values would underflow or overflow where the norm itself does not
            largest = np.max(magnitude, axis=axes, keepdims=True, initial=0.0)
            scale = np.where((largest == 0) | ~np.isfinite(largest), 1, largest)
            scaled = magnitude / scale
            powers = scaled * scaled if p == 2 else scaled**p
            kept = scale * np.sum(powers, axis=axes, keepdims=True) ** (1 / p)
    kept = kept.astype(x.dtype, copy=False)
    out = kept if keepdim or axes is None and a.ndim == 0 else _squeeze(kept, axes)

    def backward(grad_output):
        g = _expand_back(grad_output, axes, keepdim, a.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p == 0:
                return (np.zeros_like(x),)
            if p == 1:
                return (g * np.sign(x),)
            if p == 2:
                return (g * np.where(kept == 0, 0, x / kept),)
            if np.isinf(p):
                at_norm = magnitude == kept
                count = at_norm.sum(axis=axes, keepdims=True)
                return (g * np.sign(x) * at_norm / count,)
            scaled = np.sign(x) * np.where(x == 0, 0, magnitude ** (p - 1))
            if p < 1:
                return (g * scaled * kept ** (1 - p),)
            return (g * scaled * np.where(kept == 0, 0, 1 / kept ** (p - 1)),)

    return Tensor._make(np.asarray(out), (a,), backward, "NormBackward", saved(a))


def _squeeze(kept: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    return kept.reshape(()) if axes is None else np.squeeze(kept, axes)


def norm(
    a: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """``torch.norm``: the vector p-norm over ``dim`` (all elements by default);
    "fro" (the default) is the 2-norm of the elements, over at most 2 dims."""
    if p is None:
        p = 2
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(
                f"norm: p={p!r} is not supported; use a number, inf, -inf or 'fro'"
            )
        if dim is not None and not isinstance(dim, int | np.integer) and len(dim) > 2:
            raise ValueError(
                f"norm: p='fro' takes at most 2 dims, received dim={dim!r}; use "
                "p=2 for the 2-norm over more dims"
            )
        p = 2
    return vector_norm(a, p, dim, keepdim, dtype)


def diff(
    a: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """Differences of neighbours along ``dim``, ``n`` times: out_i = x_(i+1) - x_i.

    Built from cat, slicing and subtraction, whose backwards give its gradient.
    """
    from deepgrad.ops.arithmetic import sub
    from deepgrad.ops.shape import cat, getitem

    if a.ndim == 0:
        raise ValueError("diff: expected a tensor with at least 1 dimension")
    (axis,) = normalize_dims(dim, a.ndim, "diff")
    parts = [t for t in (prepend, a, append) if t is not None]
    out = cat(parts, axis) if len(parts) > 1 else a
    before = (slice(None),) * axis
    for _ in range(n):
        out = sub(
            getitem(out, (*before, slice(1, None))),
            getitem(out, (*before, slice(None, -1))),
        )
    return out
