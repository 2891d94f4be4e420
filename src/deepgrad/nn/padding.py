"""Padding: ``F.pad``'s four modes and the padding modules (``nn.ReflectionPad2d``...).

``pad`` gives (before, after) counts for the last dimension, then the one before
it, ... (negative counts crop). Constant padding fills the new positions with a
value, and its gradient is the upstream gradient's slice over the input. The
other modes fill them with copies of the input's own elements:

    reflect    ... 2 1 | 0 1 2 3 | 2 1 ...   mirrored about the edge, edge not repeated
    replicate  ... 0 0 | 0 1 2 3 | 3 3 ...   the edge element repeated
    circular   ... 2 3 | 0 1 2 3 | 0 1 ...   the other end, wrapped around

Each output element is a copy of one input element, so for every padded
dimension an index array says which: output[..., j] = input[..., source[j]].
An input element copied k times receives the sum of those k output gradients
(the vector-Jacobian product of a gather is a scatter-add into the sources).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor

__all__ = [
    "pad",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]

MODES = ("constant", "reflect", "replicate", "circular")


def pad(
    input: Tensor, pad: Any, mode: str = "constant", value: float | None = None
) -> Tensor:
    """``input`` padded as PyTorch's ``F.pad``.

    Parameters
    ----------
    input : Tensor
    pad : sequence of int
        (before, after) counts for the last dimension, then for the one before
        it, ...; negative counts crop.
    mode : {"constant", "reflect", "replicate", "circular"}
        "constant" pads any number of trailing dimensions with ``value``
        (default 0). The other modes pad the last dimension of a 2-D or 3-D
        input (2 counts), the last two of a 3-D or 4-D input (4 counts) or the
        last three of a 4-D or 5-D input (6 counts), and take no value.

    Raises
    ------
    TypeError
        ``pad`` is not a sequence of integers.
    ValueError
        An odd number of counts or more than two per dimension, an unknown
        mode, a value for a mode that copies elements, reflect padding of a
        dimension's size or more, circular padding that wraps around more than
        once, or an output dimension of negative size.
    NotImplementedError
        Reflect, replicate or circular padding of dimensions PyTorch does not
        pad (e.g. a 1-D input, or 4 counts for a 2-D input).

    Example
    -------
    >>> F.pad(dg.tensor([[0.0, 1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
    tensor([[2., 1., 0., 1., 2., 3., 2.]])
    """
    widths = _pad_widths(pad, input.ndim)
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, received mode={mode!r}")
    if mode == "constant":
        return _constant_pad(input, widths, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(
            f"pad: mode={mode!r} copies the input's own elements and takes no "
            f"value, received value={value!r}; use mode='constant' to pad with a value"
        )
    padded = len(widths) // 2  # the number of trailing dimensions padded
    if padded not in (1, 2, 3) or input.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(
            f"pad: mode={mode!r} pads the last dimension of a 2-D or 3-D input "
            "(2 counts), the last 2 of a 3-D or 4-D input (4 counts) or the last 3 "
            f"of a 4-D or 5-D input (6 counts); received {len(widths)} counts for "
            f"a {input.ndim}-D input of shape {tuple(input.shape)}: give one pair "
            "of counts per padded dimension, or unsqueeze(0) a batch dimension"
        )
    _CHECKS[mode](input, widths)
    sources = [
        _SOURCES[mode](input.shape[axis], before, after)
        for axis, before, after in _pairs(widths, input.ndim)
    ]
    # the padded dimensions are the trailing ones, in order; the others are kept
    key = (slice(None),) * (input.ndim - padded) + np.ix_(*sources)
    out = input.array[key]

    def backward(grad_output):
        # output[key] is a copy of input: each input element sums the gradients
        # of its copies (np.add.at accumulates repeated indices; += would not)
        grad = np.zeros_like(input.array)
        np.add.at(grad, key, grad_output)
        return (grad,)

    return Tensor._make(out, (input,), backward, _OP_NAMES[mode].format(padded))


def _pad_widths(pad: Any, ndim: int) -> list[int]:
    """``pad`` as a list of ints, checked: pairs, at most one per dimension."""
    try:
        widths = [operator.index(count) for count in pad]
    except TypeError:
        raise TypeError(
            f"pad: pad must be a sequence of integers (before, after, ...), "
            f"received: {pad!r}"
        ) from None
    if len(widths) % 2 or len(widths) > 2 * ndim:
        raise ValueError(
            f"pad: padding length must be even and at most 2 * input.ndim "
            f"({2 * ndim}), received {len(widths)} values: {widths}"
        )
    return widths


def _pairs(widths: list[int], ndim: int) -> list[tuple[int, int, int]]:
    """(axis, before, after) for each padded axis, from the first padded axis on
    (``pad``'s pairs go from the last dimension back)."""
    pairs = [
        (ndim - 1 - i, widths[2 * i], widths[2 * i + 1])
        for i in range(len(widths) // 2)
    ]
    return pairs[::-1]


# ---------------------------------------------------------------------------
# constant
# ---------------------------------------------------------------------------
def _constant_pad(input: Tensor, widths: list[int], value: float) -> Tensor:
    """``value`` around ``input`` (any number of trailing dimensions); the
    input's elements keep their gradient, the padding has none."""
    source_key = [slice(None)] * input.ndim
    target_key = [slice(None)] * input.ndim
    shape = list(input.shape)
    for axis, before, after in _pairs(widths, input.ndim):
        size = input.shape[axis] + before + after
        if size < 0:
            raise ValueError(
                f"pad: padding ({before}, {after}) would give dimension {axis} "
                f"(size {input.shape[axis]}) a negative size {size}"
            )
        kept = max(input.shape[axis] - max(-before, 0) - max(-after, 0), 0)
        source_key[axis] = slice(max(-before, 0), max(-before, 0) + kept)
        target_key[axis] = slice(max(before, 0), max(before, 0) + kept)
        shape[axis] = size
    out = np.full(shape, value, dtype=input.dtype)
    out[tuple(target_key)] = input.array[tuple(source_key)]

    def backward(grad_output):
        grad = np.zeros_like(input.array)
        grad[tuple(source_key)] = grad_output[tuple(target_key)]
        return (grad,)

    return Tensor._make(out, (input,), backward, "ConstantPadNdBackward")


# ---------------------------------------------------------------------------
# reflect, replicate, circular: which input element each output position copies
# ---------------------------------------------------------------------------
def _reflect_source(size: int, before: int, after: int) -> np.ndarray:
    # position p in the input's coordinates; -p left of 0, 2(n-1) - p right of n-1
    position = np.abs(np.arange(-before, size + after))
    return np.where(position > size - 1, 2 * (size - 1) - position, position)


def _replicate_source(size: int, before: int, after: int) -> np.ndarray:
    return np.clip(np.arange(-before, size + after), 0, size - 1)


def _circular_source(size: int, before: int, after: int) -> np.ndarray:
    # as torch: negative counts crop first, then the padding wraps around the
    # elements kept (so (2, -1) on 0 1 2 3 gives 1 2 | 0 1 2)
    start = max(-before, 0)
    kept = size - start - max(-after, 0)
    position = np.arange(-max(before, 0), kept + max(after, 0))
    return start + position % kept if kept > 0 else position


_SOURCES: dict[str, Callable[[int, int, int], np.ndarray]] = {
    "reflect": _reflect_source,
    "replicate": _replicate_source,
    "circular": _circular_source,
}
# torch's grad_fn names (circular is a copy into slices of a new tensor there)
_OP_NAMES = {
    "reflect": "ReflectionPad{}DBackward",
    "replicate": "ReplicationPad{}DBackward",
    "circular": "CopySlices",
}


def _check_copied(input: Tensor, widths: list[int], mode: str) -> None:
    """reflect and replicate, as torch: no empty dimension but the batch one,
    and no output dimension of negative size, nor all of size 0."""
    padded = len(widths) // 2
    batched = input.ndim == padded + 2
    if 0 in input.shape[int(batched) :]:
        raise ValueError(
            f"pad: mode={mode!r} copies elements of dimensions that must not be "
            f"empty (only a batch dimension may have size 0), received an input of "
            f"shape {tuple(input.shape)}"
        )
    sizes = [input.shape[a] + b + e for a, b, e in _pairs(widths, input.ndim)]
    if min(sizes) < 0 or max(sizes) < 1:
        raise ValueError(
            f"pad: padding {tuple(widths)} of an input of shape {tuple(input.shape)} "
            f"gives padded dimensions of sizes {sizes}; negative counts may crop a "
            "dimension to 0 but no further, and not every padded dimension"
        )


def _check_reflect(input: Tensor, widths: list[int]) -> None:
    _check_copied(input, widths, "reflect")
    for axis, before, after in _pairs(widths, input.ndim):
        size = input.shape[axis]
        if before >= size or after >= size:
            raise ValueError(
                f"pad: reflect padding must be less than the size of the dimension "
                f"it pads, received padding ({before}, {after}) for dimension "
                f"{axis} of size {size} (input of shape {tuple(input.shape)}); pad "
                f"by at most {size - 1}, or use mode='replicate' or 'circular'"
            )


def _check_replicate(input: Tensor, widths: list[int]) -> None:
    _check_copied(input, widths, "replicate")


def _check_circular(input: Tensor, widths: list[int]) -> None:
    for axis, before, after in _pairs(widths, input.ndim):
        size = input.shape[axis]
        out_size = size + before + after
        if out_size < 0:
            raise ValueError(
                f"pad: padding ({before}, {after}) would give dimension {axis} "
                f"(size {size}) a negative size {out_size}"
            )
        # torch: never more than the dimension's size; and, with something to fill,
        # never more than the elements kept after cropping (torch reads memory it
        # has not written there, or raises)
        kept = max(size - max(-before, 0) - max(-after, 0), 0)
        limit = kept if out_size > 0 else size
        if before > limit or after > limit:
            raise ValueError(
                f"pad: circular padding ({before}, {after}) of dimension {axis} "
                f"(size {size}, {kept} after cropping) wraps around more than "
                f"once; pad by at most the number of elements kept"
            )


_CHECKS: dict[str, Callable[[Tensor, list[int]], None]] = {
    "reflect": _check_reflect,
    "replicate": _check_replicate,
    "circular": _check_circular,
}


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------
class _PadNd(Module):
    """A thin module over ``pad``: ``padding`` is an int (the same count on every
    side) or ``2 * dims`` ints (left, right, top, bottom, front, back)."""

    mode = "constant"
    dims = 1

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__()
        name = type(self).__name__
        count = 2 * self.dims
        if isinstance(padding, int | np.integer):
            padding = (int(padding),) * count
        try:
            self.padding = tuple(operator.index(p) for p in padding)
        except TypeError:
            raise TypeError(
                f"{name}: padding must be an int or {count} ints, received {padding!r}"
            ) from None
        if len(self.padding) != count:
            # torch keeps any length and pads fewer dimensions than the name says
            raise ValueError(
                f"{name}: padding must be an int or {count} ints, received "
                f"{len(self.padding)}: {padding!r}"
            )

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self.dims + 1}D or "
                f"{self.dims + 2}D input (got {input.ndim}D input)"
            )
        return pad(input, self.padding, self.mode)


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | tuple[int, ...], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirror the last dimension about its edges (edges not repeated)."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the last 2 dimensions about their edges (edges not repeated)."""

    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the last 3 dimensions about their edges (edges not repeated)."""

    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge elements of the last dimension."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the edge elements of the last 2 dimensions."""

    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the edge elements of the last 3 dimensions."""

    mode, dims = "replicate", 3


class CircularPad1d(_CircularPadNd):
    """Wrap the last dimension around (of a 2-D or 3-D input)."""

    dims = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last 2 dimensions around (of a 3-D or 4-D input)."""

    dims = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last 3 dimensions around (of a 4-D or 5-D input)."""

    dims = 3


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dimensions with ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dimensions with ``value``."""

    dims = 3


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dimension with zeros."""

    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dimensions with zeros."""

    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dimensions with zeros."""

    dims = 3
