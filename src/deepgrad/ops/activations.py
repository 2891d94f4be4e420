"""Activation functions in numerically stable forms, with their derivatives.

Each backward reuses the forward's output where the derivative can be written
with it (sigmoid' = s(1-s), tanh' = 1-t^2), as a hand-written network would.
"""

from __future__ import annotations

import math

import numpy as np

from deepgrad.ops._common import OUTPUT_SAVED, normalize_dims, require_float, saved
from deepgrad.tensor import Tensor, constant


def stable_sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + e^-x) without overflow, for any x (into ``out`` when given).

    Small arrays: exp(-log(1 + e^-x)), in place (logaddexp never overflows),
    since per-call overhead dominates there. Large arrays: e = e^-|x| <= 1, then
    1/(1+e) for x >= 0 and e/(1+e) below, which is cheaper per element.
    """
    if x.size <= 1024:
        zero = constant(0, x.dtype)  # an int: no -0.0 to tell apart
        if out is None:
            return np.exp(-np.logaddexp(zero, -x))
        np.negative(x, out=out)  # the same four ufuncs, in place
        np.logaddexp(zero, out, out=out)
        np.negative(out, out=out)
        return np.exp(out, out=out)
    e = np.exp(-np.abs(x))
    result = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    if out is None:
        return result
    out[...] = result
    return out


def sigmoid(a: Tensor) -> Tensor:
    x = a.array
    if x.dtype.kind != "f":  # require_float, inline: the lab calls this 3 times a step
        require_float(a, "sigmoid")
    out = stable_sigmoid(x)
    one = constant(1.0, out.dtype)

    def backward(grad_output):  # sigmoid'(z) = s (1 - s)
        return (grad_output * out * (one - out),)

    return Tensor._make(out, (a,), backward, "SigmoidBackward", OUTPUT_SAVED)


def tanh(a: Tensor) -> Tensor:
    require_float(a, "tanh")
    out = np.tanh(a.array)

    def backward(grad_output):  # tanh'(z) = 1 - tanh(z)^2
        return (grad_output * (1 - out * out),)

    return Tensor._make(out, (a,), backward, "TanhBackward", OUTPUT_SAVED)


def relu(a: Tensor) -> Tensor:
    out = np.maximum(a.array, 0)

    def backward(grad_output):  # relu'(z) = 1 where z > 0, else 0
        return (grad_output * (out > 0),)

    return Tensor._make(out, (a,), backward, "ReluBackward", OUTPUT_SAVED)


def leaky_relu(a: Tensor, negative_slope: float = 0.01) -> Tensor:
    positive = a.array > 0
    out = np.where(positive, a.array, a.array * negative_slope)

    def backward(grad_output):  # 1 where z > 0, else negative_slope
        return (np.where(positive, grad_output, grad_output * negative_slope),)

    return Tensor._make(out, (a,), backward, "LeakyReluBackward")


# NumPy has no erf; the core imports nothing but NumPy, so the exact gelu takes
# Python's correctly rounded math.erf element by element (~0.1 us an element)
_elementwise_erf = np.frompyfunc(math.erf, 1, 1)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(_elementwise_erf(x), dtype=x.dtype)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


def gelu(a: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), exactly with erf (default) or with PyTorch's tanh approximation."""
    require_float(a, "gelu")
    x = a.array
    if approximate == "none":
        cdf = 0.5 * (1 + _erf(x * math.sqrt(0.5)))
        out = x * cdf

        def backward(grad_output):  # d/dx x Phi(x) = Phi(x) + x phi(x)
            pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
            return (grad_output * (cdf + x * pdf),)

    elif approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + _GELU_KAPPA * x * x * x)
        tanh_inner = np.tanh(inner)
        out = 0.5 * x * (1 + tanh_inner)

        def backward(grad_output):
            left_derivative = 0.5 * (1 + tanh_inner)
            right_derivative = (
                0.5
                * x
                * (1 - tanh_inner * tanh_inner)
                * _SQRT_2_OVER_PI
                * (1 + 3 * _GELU_KAPPA * x * x)
            )
            return (grad_output * (left_derivative + right_derivative),)

    else:
        raise ValueError(
            f"gelu: approximate must be 'none' or 'tanh', received: {approximate!r}"
        )
    return Tensor._make(
        out.astype(x.dtype, copy=False), (a,), backward, "GeluBackward", saved(a)
    )


def _softmax_axis(a: Tensor, dim: int | None, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if a.ndim in (0, 1, 3) else 1
    (axis,) = normalize_dims(dim, a.ndim, op)
    return axis


def softmax(a: Tensor, dim: int | None = None) -> Tensor:
    require_float(a, "softmax")
    axis = _softmax_axis(a, dim, "softmax")
    shifted = a.array - a.array.max(axis=axis, keepdims=True)  # exp never overflows
    e = np.exp(shifted)
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(grad_output):  # J^T g = s * (g - sum(g * s))
        return (
            out * (grad_output - (grad_output * out).sum(axis=axis, keepdims=True)),
        )

    return Tensor._make(out, (a,), backward, "SoftmaxBackward", OUTPUT_SAVED)


def log_softmax(a: Tensor, dim: int | None = None) -> Tensor:
    require_float(a, "log_softmax")
    axis = _softmax_axis(a, dim, "log_softmax")
    out = log_softmax_array(a.array, axis)

    def backward(grad_output):  # g - softmax * sum(g)
        return (grad_output - np.exp(out) * grad_output.sum(axis=axis, keepdims=True),)

    return Tensor._make(out, (a,), backward, "LogSoftmaxBackward", OUTPUT_SAVED)


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """log softmax = x - max - log(sum(exp(x - max))): finite for any finite x."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
