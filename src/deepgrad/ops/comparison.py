"""Comparisons, logical and bitwise ops, all/any, isnan/isinf/isfinite, masked_fill.

Everything here but masked_fill gives a bool tensor outside the graph: a
comparison is flat almost everywhere, so PyTorch gives it no gradient either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.ops._common import check_broadcast, lift, normalize_dims, unbroadcast
from deepgrad.tensor import Tensor


def _comparison(name: str, ufunc: np.ufunc, symbol: str):
    def compare(input: Tensor, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            check_broadcast(input, other, name)
            other = other.array
        try:
            return Tensor(np.asarray(ufunc(input.array, other)))
        except ValueError:
            raise ValueError(
                f"{name}: cannot compare shapes {tuple(input.shape)} and "
                f"{np.shape(other)}; they do not broadcast together"
            ) from None

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = (
        f"input {symbol} other, elementwise with broadcasting: a bool tensor."
    )
    return compare


eq = _comparison("eq", np.equal, "==")
ne = _comparison("ne", np.not_equal, "!=")
lt = _comparison("lt", np.less, "<")
le = _comparison("le", np.less_equal, "<=")
gt = _comparison("gt", np.greater, ">")
ge = _comparison("ge", np.greater_equal, ">=")


def _logical(name: str, ufunc: np.ufunc):
    def logical(input: Tensor, other: Any) -> Tensor:
        other = lift(other, input)
        check_broadcast(input, other, name)
        return Tensor(np.asarray(ufunc(input.array != 0, other.array != 0)))

    logical.__name__ = logical.__qualname__ = name
    logical.__doc__ = (
        f"{name.removeprefix('logical_')} of the truth values (nonzero is True): "
        "a bool tensor."
    )
    return logical


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)


def logical_not(input: Tensor) -> Tensor:
    """True where the input is 0 (or False): a bool tensor."""
    return Tensor(np.asarray(input.array == 0))


def _truth_reduction(name: str, reduce):
    def reduction(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes = normalize_dims(dim, input.ndim, name)
        if input.ndim == 0:
            axes = None
        out = reduce(input.array != 0, axis=axes, keepdims=keepdim)
        return Tensor(np.asarray(out))

    reduction.__name__ = reduction.__qualname__ = name
    return reduction


all = _truth_reduction("all", np.all)
all.__doc__ = "Whether every element (along ``dim``) is nonzero: a bool tensor."
any = _truth_reduction("any", np.any)
any.__doc__ = "Whether some element (along ``dim``) is nonzero: a bool tensor."


def isnan(input: Tensor) -> Tensor:
    """True where the value is NaN."""
    return Tensor(np.asarray(np.isnan(input.array)))


def isinf(input: Tensor) -> Tensor:
    """True where the value is +inf or -inf."""
    return Tensor(np.asarray(np.isinf(input.array)))


def isfinite(input: Tensor) -> Tensor:
    """True where the value is neither NaN nor infinite."""
    return Tensor(np.asarray(np.isfinite(input.array)))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``input`` with ``value`` where the bool ``mask`` is True; they broadcast.

    The input gets the gradient where the mask is False; a 0-d tensor value gets
    the sum of the gradient over the elements it filled.
    """
    mask_array = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if mask_array.dtype != np.bool_:
        raise TypeError(
            f"masked_fill: the mask must be a bool tensor, received dtype "
            f"{mask_array.dtype}. Build it with a comparison (x > 0) or .bool()."
        )
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(
            f"masked_fill: value must be a number or a 0-d tensor, received a "
            f"tensor of shape {tuple(value.shape)}"
        )
    value_tensor = value if isinstance(value, Tensor) else None
    fill = value.array if isinstance(value, Tensor) else value
    x = input.array
    shape = check_broadcast(input, Tensor(mask_array), "masked_fill")
    out = np.where(mask_array, np.asarray(fill).astype(x.dtype), x)
    out = np.broadcast_to(out, shape).copy()

    def backward(grad_output):
        grad_input = unbroadcast(np.where(mask_array, 0, grad_output), x.shape)
        if value_tensor is None:
            return (grad_input,)
        grad_value = np.where(mask_array, grad_output, 0).sum()
        return grad_input, grad_value.astype(value_tensor.dtype)

    parents = (input,) if value_tensor is None else (input, value_tensor)
    return Tensor._make(out, parents, backward, "MaskedFillBackward")


def _bitwise(name: str, ufunc: np.ufunc, symbol: str):
    def bitwise(input: Tensor, other: Any) -> Tensor:
        other = lift(other, input)
        for tensor in (input, other):
            if tensor.array.dtype.kind not in "biu":
                raise TypeError(
                    f"{name}: expected bool or integer tensors, received dtype "
                    f"{tensor.array.dtype}"
                )
        check_broadcast(input, other, name)
        return Tensor(np.asarray(ufunc(input.array, other.array)))

    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__doc__ = f"input {symbol} other for bool or integer tensors."
    return bitwise


bitwise_and = _bitwise("bitwise_and", np.bitwise_and, "&")
bitwise_or = _bitwise("bitwise_or", np.bitwise_or, "|")
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor, "^")


def bitwise_not(input: Tensor) -> Tensor:
    """~x: logical not for bool tensors, bitwise not for integers."""
    if input.array.dtype.kind not in "biu":
        raise TypeError(
            f"bitwise_not: expected a bool or integer tensor, received dtype "
            f"{input.array.dtype}"
        )
    return Tensor(np.asarray(np.invert(input.array)))


def _check_close_operands(input: Tensor, other: Any, op: str) -> np.ndarray:
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{op}(): argument 'other' must be a Tensor, received "
            f"{type(other).__name__}; wrap it with dg.tensor(...)"
        )
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"{op}(): input ({input.dtype}) and other ({other.dtype}) must have the "
            "same dtype; convert one with .to(other.dtype)"
        )
    check_broadcast(input, other, op)
    return other.array


def _isclose(
    input: Tensor, other: Tensor, rtol: float, atol: float, equal_nan: bool, op: str
) -> np.ndarray:
    other_array = _check_close_operands(input, other, op)
    if rtol < 0 or atol < 0:
        raise ValueError(
            f"{op}(): rtol and atol must be non-negative, received rtol={rtol}, "
            f"atol={atol}"
        )
    return np.isclose(input.array, other_array, rtol, atol, equal_nan)


def isclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise: a bool tensor.

    Infinities are close only to themselves; NaN to NaN only with ``equal_nan``.
    """
    return Tensor(np.asarray(_isclose(input, other, rtol, atol, equal_nan, "isclose")))


def allclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether ``isclose`` holds for every element: a Python bool."""
    return bool(_isclose(input, other, rtol, atol, equal_nan, "allclose").all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same elements (NaN is
    never equal to itself): a Python bool."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"equal(): argument 'other' must be a Tensor, received "
            f"{type(other).__name__}"
        )
    return input.shape == other.shape and bool(np.all(input.array == other.array))
