"""Grids of values: logspace, and meshgrid (differentiable, as PyTorch's); the
Tensor.new_* methods (new tensors with self's dtype)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepgrad.devices import check_device
from deepgrad.ops.shape import expand, reshape
from deepgrad.tensor import (
    Tensor,
    _as_dtype,
    _shape_args,
    get_default_dtype,
    tensor,
)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values from base**start to base**end, evenly spaced in the exponent."""
    if not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(
            f"logspace: steps must be a non-negative integer, received {steps!r}"
        )
    values = np.logspace(start, end, steps, base=base)
    return Tensor(
        values.astype(_as_dtype(dtype) or get_default_dtype()),
        requires_grad=requires_grad,
    )


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: output i repeats tensor i along every
    other dimension.

    ``indexing="ij"`` (the default, without PyTorch's warning) gives shape
    (len(t0), len(t1), ...); ``"xy"`` swaps the first two, as NumPy's default.
    Each grid is a reshape and an expand of its tensor, so gradients sum back.
    """
    if len(tensors) == 1 and isinstance(tensors[0], Sequence):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(
            f"meshgrid: indexing must be 'ij' or 'xy', received {indexing!r}"
        )
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.ndim > 1:
            received = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(
                f"meshgrid: expected 0-d or 1-D tensors, received {received} at "
                f"position {i}"
            )
    # axis of each input in the output: "xy" swaps the first two
    position = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        position[0], position[1] = 1, 0
    sizes = [0] * len(tensors)
    for i, t in enumerate(tensors):
        sizes[position[i]] = t.numel()
    grids = []
    for i, t in enumerate(tensors):
        shape = [1] * len(tensors)
        shape[position[i]] = t.numel()
        grids.append(expand(reshape(t, shape), sizes))
    return tuple(grids)


def _new_filled(name: str, fill):
    def new(
        self: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        check_device(device, f"Tensor.{name}")
        array = fill(_shape_args(size), _as_dtype(dtype) or self.dtype)
        return Tensor(array, requires_grad=requires_grad)

    new.__name__ = new.__qualname__ = name
    new.__doc__ = (
        f"A tensor of the given size like ``{name[4:]}``, with self's dtype unless "
        "``dtype`` is given."
    )
    return new


new_zeros = _new_filled("new_zeros", np.zeros)
new_ones = _new_filled("new_ones", np.ones)
new_empty = _new_filled("new_empty", np.zeros)  # zeros, not garbage


def new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, with self's dtype unless
    ``dtype`` is given."""
    check_device(device, "Tensor.new_full")
    shape = _shape_args((size,))
    array = np.full(shape, fill_value, dtype=_as_dtype(dtype) or self.dtype)
    return Tensor(array, requires_grad=requires_grad)


def new_tensor(
    self: Tensor,
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A copy of ``data`` as a new leaf, with self's dtype unless ``dtype`` is given."""
    return tensor(data, dtype or self.dtype, device, requires_grad)


NEW_METHODS = {
    "new_zeros": new_zeros,
    "new_ones": new_ones,
    "new_empty": new_empty,
    "new_full": new_full,
    "new_tensor": new_tensor,
}
