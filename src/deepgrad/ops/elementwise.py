"""Elementwise math: trigonometry, hyperbolic functions, logarithms and powers,
rounding, and atan2.

Each smooth op is one line of a table: the NumPy function that computes it and
its derivative, written with the input x or with the output y, whichever the
backward keeps (sin' = cos x keeps x; exp2' = y ln 2 keeps y). The backward is
then ``grad_output * derivative``, the chain rule for an elementwise function.
Integer and bool inputs give the default float dtype, as in PyTorch
(``torch.sin(torch.tensor([1]))`` is float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from deepgrad.ops._common import (
    OUTPUT_SAVED,
    check_broadcast,
    float_data,
    lift,
    promote,
    require_float,
    saved,
    unbroadcast,
)
from deepgrad.tensor import Tensor, get_default_dtype

_Derivative = Callable[[np.ndarray], np.ndarray]
# Python floats, which keep float32 float32 (a NumPy float64 scalar would not)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _backward_name(name: str) -> str:
    return name.capitalize() + "Backward"


def _with_input_derivative(
    name: str, forward: _Derivative, derivative: _Derivative, formula: str
):
    """An op whose backward reads its input: dL/dx = dL/dy * derivative(x)."""

    def op(input: Tensor) -> Tensor:
        x = float_data(input)
        with np.errstate(all="ignore"):  # nan and inf outside the domain, as torch
            out = forward(x)

        def backward(grad_output):
            with np.errstate(all="ignore"):
                return (grad_output * derivative(x),)

        return Tensor._make(out, (input,), backward, _backward_name(name), saved(input))

    _name(op, name, formula)
    return op


def _with_output_derivative(
    name: str, forward: _Derivative, derivative: _Derivative, formula: str
):
    """An op whose backward reads its output: dL/dx = dL/dy * derivative(y)."""

    def op(input: Tensor) -> Tensor:
        with np.errstate(all="ignore"):
            out = forward(float_data(input))

        def backward(grad_output):
            with np.errstate(all="ignore"):
                return (grad_output * derivative(out),)

        return Tensor._make(out, (input,), backward, _backward_name(name), OUTPUT_SAVED)

    _name(op, name, formula)
    return op


def _name(op: Callable[..., Tensor], name: str, formula: str) -> None:
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name}(x), elementwise. Its derivative is {formula}."


# each op: its name, the NumPy function, and its derivative (as code and as maths)
sin = _with_input_derivative("sin", np.sin, np.cos, "cos x")
cos = _with_input_derivative("cos", np.cos, lambda x: -np.sin(x), "-sin x")
tan = _with_output_derivative("tan", np.tan, lambda y: 1 + y * y, "1 + tan^2 x")
asin = _with_input_derivative(
    "asin", np.arcsin, lambda x: 1 / np.sqrt(1 - x * x), "1 / sqrt(1 - x^2)"
)
acos = _with_input_derivative(
    "acos", np.arccos, lambda x: -1 / np.sqrt(1 - x * x), "-1 / sqrt(1 - x^2)"
)
atan = _with_input_derivative(
    "atan", np.arctan, lambda x: 1 / (1 + x * x), "1 / (1 + x^2)"
)
sinh = _with_input_derivative("sinh", np.sinh, np.cosh, "cosh x")
cosh = _with_input_derivative("cosh", np.cosh, np.sinh, "sinh x")
asinh = _with_input_derivative(
    "asinh", np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1), "1 / sqrt(x^2 + 1)"
)
acosh = _with_input_derivative(
    "acosh", np.arccosh, lambda x: 1 / np.sqrt(x * x - 1), "1 / sqrt(x^2 - 1)"
)
atanh = _with_input_derivative(
    "atanh", np.arctanh, lambda x: 1 / (1 - x * x), "1 / (1 - x^2)"
)
log2 = _with_input_derivative("log2", np.log2, lambda x: 1 / (x * _LN2), "1 / (x ln 2)")
log10 = _with_input_derivative(
    "log10", np.log10, lambda x: 1 / (x * _LN10), "1 / (x ln 10)"
)
log1p = _with_input_derivative("log1p", np.log1p, lambda x: 1 / (1 + x), "1 / (1 + x)")
expm1 = _with_output_derivative("expm1", np.expm1, lambda y: y + 1, "e^x")
exp2 = _with_output_derivative("exp2", np.exp2, lambda y: y * _LN2, "2^x ln 2")
reciprocal = _with_output_derivative(
    "reciprocal", np.reciprocal, lambda y: -y * y, "-1 / x^2"
)
rsqrt = _with_output_derivative(
    "rsqrt", lambda x: 1 / np.sqrt(x), lambda y: -0.5 * y * y * y, "-x^(-3/2) / 2"
)


def square(input: Tensor) -> Tensor:
    """x * x; integers stay integers, as ``torch.square``."""
    x = input.array if input.array.dtype != np.bool_ else input.array.astype(np.int64)

    def backward(grad_output):  # d x^2/dx = 2x
        return (grad_output * (2 * x),)

    return Tensor._make(x * x, (input,), backward, "SquareBackward", saved(input))


def frac(input: Tensor) -> Tensor:
    """The fractional part x - trunc(x), with the sign of x; its derivative is 1."""
    require_float(input, "frac")
    x = input.array

    def backward(grad_output):
        return (grad_output,)

    return Tensor._make(x - np.trunc(x), (input,), backward, "FracBackward")


def _zero_backward(grad_output):
    """Rounding and sign are flat between their jumps: their gradient is 0."""
    return (np.zeros_like(grad_output),)


def _rounding(name: str, forward: np.ufunc):
    """floor, ceil, trunc: integer and bool tensors come back unchanged
    (``torch.floor`` of an int64 tensor is int64)."""

    def op(input: Tensor) -> Tensor:
        x = input.array
        out = forward(x) if x.dtype.kind in "fc" else x.copy()
        return Tensor._make(out, (input,), _zero_backward, _backward_name(name))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name}(x), elementwise. Its gradient is 0."
    return op


floor = _rounding("floor", np.floor)
ceil = _rounding("ceil", np.ceil)
trunc = _rounding("trunc", np.trunc)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 in the input's dtype (bool stays bool). Its gradient is 0."""
    x = input.array
    out = x.copy() if x.dtype == np.bool_ else np.sign(x)
    return Tensor._make(out, (input,), _zero_backward, "SignBackward")


def round(input: Tensor, decimals: int = 0) -> Tensor:
    """Round half to even (2.5 -> 2, as ``torch.round``); ``decimals`` digits after
    the point (negative: to tens, hundreds, ...). Its gradient is 0."""
    if not isinstance(decimals, int | np.integer):
        raise TypeError(f"round: decimals must be an integer, received {decimals!r}")
    x = input.array
    if x.dtype.kind not in "fc":
        if decimals:
            raise TypeError(
                f"round: decimals={decimals} needs a floating point tensor, received "
                f"dtype {x.dtype}. Convert it with .float() or .double()."
            )
        out = x.copy()
    else:
        out = np.round(x, decimals)
    return Tensor._make(out, (input,), _zero_backward, "RoundBackward")


def atan2(input: Tensor, other: Any) -> Tensor:
    """The angle of the point (other, input), in (-pi, pi]; inputs broadcast.

    d atan2(y, x)/dy = x / (x^2 + y^2),  d atan2(y, x)/dx = -y / (x^2 + y^2).
    """
    other = lift(other, input)
    check_broadcast(input, other, "atan2")
    y, x = promote(input, other)
    if y.dtype.kind not in "fc":
        y, x = y.astype(get_default_dtype()), x.astype(get_default_dtype())
    out = np.arctan2(y, x)

    def backward(grad_output):
        with np.errstate(all="ignore"):
            scale = grad_output / (x * x + y * y)
        return (
            unbroadcast(scale * x, y.shape) if input._requires_grad else None,
            unbroadcast(-scale * y, x.shape) if other._requires_grad else None,
        )

    return Tensor._make(
        out, (input, other), backward, "Atan2Backward", saved(input, other)
    )
