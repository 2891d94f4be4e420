"""Elementwise arithmetic and matmul, each forward next to its vector-Jacobian product.

Every ``backward(grad_output)`` returns one gradient per input (None where the
input needs none), already summed back to that input's shape.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from deepgrad.ops._common import (
    OUTPUT_SAVED,
    lift,
    promote,
    require_float,
    saved,
    saved_for_product,
    unbroadcast,
)
from deepgrad.tensor import Tensor, constant, get_default_dtype

_QUIET = {"divide": "ignore", "over": "ignore", "invalid": "ignore"}


def _checked(ufunc, x: np.ndarray, y: np.ndarray, a: Tensor, b: Tensor, op: str):
    """Apply a binary ufunc; a shape mismatch gets an error that names the op."""
    try:
        return ufunc(x, y)
    except ValueError:
        raise _broadcast_error(a, b, op) from None


def _broadcast_error(a: Tensor, b: Tensor, op: str) -> ValueError:
    return ValueError(
        f"{op}: cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)} "
        "together. Shapes "
        "are compared from the last dimension; each pair must be equal or 1."
    )


def _is_weak_scalar(a: Tensor, b: Any) -> bool:
    """A Python number applied to a float tensor: the fast path, no graph edge for b.

    The number is then applied as ``constant(b, dtype)``: the same values as NumPy's
    weak Python scalar (rounded to a's dtype), without its per-call cost.
    """
    return (type(b) is float or type(b) is int) and a.array.dtype.kind == "f"


def _operands(a: Tensor, b: Any) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """(b as a Tensor, a's array, b's array) in a common dtype."""
    if isinstance(b, Tensor) and a.array.dtype == b.array.dtype:
        return b, a.array, b.array  # the usual case, checked first
    b = lift(b, a)
    return (b, *promote(a, b))


def add(a: Tensor, b: Any) -> Tensor:
    x = a.array
    if isinstance(b, Tensor) and x.dtype == b.array.dtype:  # _operands, inline
        y = b.array
    elif _is_weak_scalar(a, b):
        return Tensor._make(
            x + constant(b, x.dtype), (a,), _identity_backward, "AddBackward"
        )
    else:
        b, x, y = _operands(a, b)

    def backward(grad_output):  # d(a+b)/da = d(a+b)/db = 1
        return (
            unbroadcast(grad_output, x.shape) if a._requires_grad else None,
            unbroadcast(grad_output, y.shape) if b._requires_grad else None,
        )

    try:  # _checked, inline: the lab's three layers add their bias every step
        out = np.add(x, y)
    except ValueError:
        raise _broadcast_error(a, b, "add") from None
    return Tensor._make(out, (a, b), backward, "AddBackward")


def _identity_backward(grad_output):
    return (grad_output,)


def sub(a: Tensor, b: Any) -> Tensor:
    if _is_weak_scalar(a, b):
        x = a.array
        return Tensor._make(
            x - constant(b, x.dtype), (a,), _identity_backward, "SubBackward"
        )
    b, x, y = _operands(a, b)

    def backward(grad_output):  # d(a-b)/da = 1, d(a-b)/db = -1
        return (
            unbroadcast(grad_output, x.shape) if a._requires_grad else None,
            unbroadcast(-grad_output, y.shape) if b._requires_grad else None,
        )

    return Tensor._make(
        _checked(np.subtract, x, y, a, b, "sub"), (a, b), backward, "SubBackward"
    )


def rsub(a: Tensor, b: Any) -> Tensor:
    if _is_weak_scalar(a, b):
        x = a.array
        return Tensor._make(
            constant(b, x.dtype) - x, (a,), _negate_backward, "RsubBackward"
        )
    return sub(lift(b, a), a)


def _negate_backward(grad_output):
    return (-grad_output,)


def mul(a: Tensor, b: Any) -> Tensor:
    x = a.array
    # _is_weak_scalar, inline: lr * p.grad, for each parameter of every update
    if (type(b) is float or type(b) is int) and x.dtype.kind == "f":

        def scalar_backward(grad_output):  # d(ab)/da = b, in grad_output's dtype
            return (grad_output * b,)

        return Tensor._make(
            x * constant(b, x.dtype), (a,), scalar_backward, "MulBackward"
        )
    b, x, y = _operands(a, b)

    def backward(grad_output):  # d(ab)/da = b, d(ab)/db = a
        return (
            unbroadcast(grad_output * y, x.shape) if a._requires_grad else None,
            unbroadcast(grad_output * x, y.shape) if b._requires_grad else None,
        )

    return Tensor._make(
        _checked(np.multiply, x, y, a, b, "mul"),
        (a, b),
        backward,
        "MulBackward",
        saved_for_product(a, b),
    )


def div(a: Tensor, b: Any) -> Tensor:
    if _is_weak_scalar(a, b) and b != 0:
        x = a.array

        def scalar_backward(grad_output):  # d(a/b)/da = 1/b, in grad_output's dtype
            return (grad_output / b,)

        return Tensor._make(
            x / constant(b, x.dtype), (a,), scalar_backward, "DivBackward"
        )
    b = lift(b, a)
    x, y = promote(a, b)
    if x.dtype.kind not in "fc" and y.dtype.kind not in "fc":
        x, y = x.astype(np.float32), y.astype(np.float32)  # true division, as torch
    with np.errstate(**_QUIET):
        out = _checked(np.divide, x, y, a, b, "div")

    def backward(grad_output):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        with np.errstate(**_QUIET):
            return (
                unbroadcast(grad_output / y, x.shape) if a._requires_grad else None,
                unbroadcast(-grad_output * x / (y * y), y.shape)
                if b._requires_grad
                else None,
            )

    # a's gradient reads b, b's reads both
    return Tensor._make(
        out, (a, b), backward, "DivBackward", saved(b, a if b._requires_grad else None)
    )


def rdiv(a: Tensor, b: Any) -> Tensor:
    return div(lift(b, a), a)


def neg(a: Tensor) -> Tensor:  # d(-a)/da = -1
    return Tensor._make(-a.array, (a,), _negate_backward, "NegBackward")


def pow(a: Tensor, exponent: Any) -> Tensor:
    """``a ** exponent`` for a scalar or tensor exponent."""
    if isinstance(exponent, Tensor):
        return _pow_tensor(a, exponent)
    if isinstance(exponent, np.generic):
        exponent = exponent.item()  # a NumPy scalar would upcast float32 to float64
    x = a.array
    if x.dtype.kind in "iu" and isinstance(exponent, float):
        x = x.astype(np.float32)
    with np.errstate(**_QUIET):
        out = x**exponent

    def backward(grad_output):  # d(a^p)/da = p * a^(p-1)
        if exponent == 0:
            return (np.zeros_like(x),)
        with np.errstate(**_QUIET):
            return (grad_output * (exponent * x ** (exponent - 1)),)

    return Tensor._make(out, (a,), backward, "PowBackward", saved(a))


def _pow_tensor(a: Tensor, b: Tensor) -> Tensor:
    x, y = promote(a, b)
    with np.errstate(**_QUIET):
        out = _checked(np.power, x, y, a, b, "pow")

    def backward(grad_output):
        # d(a^b)/da = b * a^(b-1); d(a^b)/db = a^b * log(a), taken as 0 where
        # a == 0 and b >= 0 (the limit PyTorch uses)
        with np.errstate(**_QUIET):
            grad_a = grad_b = None
            if a._requires_grad:
                grad_a = np.where(y == 0, 0.0, grad_output * y * x ** (y - 1))
                grad_a = unbroadcast(grad_a.astype(out.dtype, copy=False), a.shape)
            if b._requires_grad:
                grad_b = np.where(
                    (x == 0) & (y >= 0), 0.0, grad_output * out * np.log(x)
                )
                grad_b = unbroadcast(grad_b.astype(out.dtype, copy=False), b.shape)
        return grad_a, grad_b

    # a's gradient reads both, b's both and the output
    return Tensor._make(
        out,
        (a, b),
        backward,
        "PowBackward",
        saved(a, b) + (OUTPUT_SAVED if b._requires_grad else ()),
    )


def rpow(a: Tensor, base: Any) -> Tensor:
    return _pow_tensor(lift(base, a), a)


def _raise_matmul_shape_error(a: Tensor, b: Tensor) -> NoReturn:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            "matmul: both arguments need at least 1 dimension, received shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}; use * for multiplication "
            "by a scalar"
        )
    inner = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != inner:
        raise ValueError(
            f"matmul: cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: "
            f"the inner dimensions {a.shape[-1]} and {inner} differ. (For a layer Z = "
            "X @ W, W needs shape (in_features, out_features).)"
        )
    raise ValueError(  # batch dimensions that do not broadcast
        f"matmul: cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: their "
        "batch dimensions cannot be broadcast together"
    )


def matrix_product(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None):
    """``x @ y`` for two matrices, by the faster of NumPy's two routes to BLAS.

    ``ndarray.dot`` costs ~0.3 us less per call (a third of a matmul on the lab's
    4x4 arrays) and is 5x faster for an outer product (inner dimension 1, the
    weight gradient of a one-sample batch), where ``np.matmul`` skips BLAS;
    ``np.matmul`` is up to 4% faster on large operands (e.g. 256x128 @ 128x784).
    Both give the same values for contiguous and transposed operands.
    """
    if x.size + y.size <= _SMALL_PRODUCT or x.shape[1] == 1:
        if out is None:
            return x.dot(y)
        # np.dot writes only into a C-ordered out of the result's own dtype
        if out.flags.c_contiguous and out.dtype == x.dtype == y.dtype:
            return np.dot(x, y, out=out)
    return np.matmul(x, y, out=out)


_SMALL_PRODUCT = 4096  # elements of the operands: the per-call cost dominates


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's/PyTorch's rules for 1-D and batched operands."""
    if not isinstance(b, Tensor):
        b = lift(b, a)
    x, y = a.array, b.array
    if x.dtype != y.dtype:
        raise TypeError(
            f"matmul: expected both operands to have the same dtype, received "
            f"{x.dtype} and {y.dtype}; convert one with .float() or .double()"
        )
    matrices = x.ndim == 2 and y.ndim == 2
    try:
        # ndarray.dot: see matrix_product. Always, here: this is the op of the
        # lab's hand-written layers, whose 4x4 products it runs ~0.3 us sooner
        out = x.dot(y) if matrices else x @ y
    except ValueError:
        _raise_matmul_shape_error(a, b)

    if matrices:

        def backward(grad_output):  # dL/dA = G B^T, dL/dB = A^T G
            return (
                grad_output.dot(y.T) if a._requires_grad else None,
                x.T.dot(grad_output) if b._requires_grad else None,
            )

        return Tensor._make(
            out, (a, b), backward, "MmBackward", saved_for_product(a, b)
        )

    def backward_general(grad_output):
        # Promote 1-D operands to matrices, apply the 2-D rule on the last two
        # axes, sum over broadcast batch axes, then drop the promoted axes.
        xm = x[None, :] if x.ndim == 1 else x
        ym = y[:, None] if y.ndim == 1 else y
        g = grad_output
        if y.ndim == 1:  # first, so that a 0-d dot-product gradient becomes (1, 1)
            g = np.expand_dims(g, -1)
        if x.ndim == 1:
            g = np.expand_dims(g, -2)
        grad_a = grad_b = None
        if a._requires_grad:
            grad_a = unbroadcast(g @ np.swapaxes(ym, -1, -2), xm.shape).reshape(x.shape)
        if b._requires_grad:
            grad_b = unbroadcast(np.swapaxes(xm, -1, -2) @ g, ym.shape).reshape(y.shape)
        return grad_a, grad_b

    return Tensor._make(
        out, (a, b), backward_general, "MatmulBackward", saved_for_product(a, b)
    )


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op (weight is (out_features, in_features))."""
    if x.array.shape[-1:] != weight.array.shape[-1:] or weight.ndim != 2:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} does not fit a weight of shape "
            f"{tuple(weight.shape)}: the input's last dimension must equal in_features "
            f"= {weight.shape[-1] if weight.ndim else '?'}"
        )
    if x.array.dtype != weight.array.dtype:
        raise TypeError(
            f"linear: input has dtype {x.array.dtype} but the weight has "
            f"{weight.array.dtype}; convert the input (x.float()) or the model "
            "(model.double())"
        )
    inputs = x.array
    flat = inputs.reshape(-1, inputs.shape[-1]) if inputs.ndim != 2 else inputs
    with np.errstate(over="ignore", invalid="ignore"):  # inf/nan, silently, as torch
        out = matrix_product(flat, weight.array.T)
        if bias is not None:
            out += bias.array
    if inputs.ndim != 2:
        out = out.reshape(*inputs.shape[:-1], weight.shape[0])

    def backward(grad_output):
        # Z = X W^T + b:  dL/dX = G W,  dL/dW = G^T X,  dL/db = sum of G over rows
        g = grad_output.reshape(-1, weight.array.shape[0])
        grad_x = (
            matrix_product(g, weight.array).reshape(inputs.shape)
            if x._requires_grad
            else None
        )
        grad_w = matrix_product(g.T, flat) if weight._requires_grad else None
        if bias is None:
            return grad_x, grad_w
        grad_b = g.sum(axis=0) if bias._requires_grad else None
        return grad_x, grad_w, grad_b

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(
        out, parents, backward, "LinearBackward", saved_for_product(x, weight)
    )


def exp(a: Tensor) -> Tensor:
    require_float(a, "exp")
    with np.errstate(over="ignore"):
        out = np.exp(a.array)

    def backward(grad_output):  # d exp(a)/da = exp(a)
        return (grad_output * out,)

    return Tensor._make(out, (a,), backward, "ExpBackward", OUTPUT_SAVED)


def log(a: Tensor) -> Tensor:
    require_float(a, "log")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(a.array)

    def backward(grad_output):  # d log(a)/da = 1/a
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad_output / a.array,)

    return Tensor._make(out, (a,), backward, "LogBackward", saved(a))


def sqrt(a: Tensor) -> Tensor:
    require_float(a, "sqrt")
    with np.errstate(invalid="ignore"):
        out = np.sqrt(a.array)

    def backward(grad_output):  # d sqrt(a)/da = 1 / (2 sqrt(a))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad_output / (2 * out),)

    return Tensor._make(out, (a,), backward, "SqrtBackward", OUTPUT_SAVED)


def abs(a: Tensor) -> Tensor:
    def backward(grad_output):  # d|a|/da = sign(a), 0 at a = 0
        return (grad_output * np.sign(a.array),)

    return Tensor._make(np.abs(a.array), (a,), backward, "AbsBackward", saved(a))


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max] (numbers or tensors); the gradient passes where
    min <= a <= max."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_to_tensors(a, min, max)
    data = a.array
    if data.dtype.kind in "iub" and any(isinstance(v, float) for v in (min, max)):
        data = data.astype(get_default_dtype())  # a float bound gives floats, as torch
    out = np.clip(data, min, max)

    def backward(grad_output):
        inside = np.ones(a.shape, dtype=bool)
        if min is not None:
            inside &= a.array >= min
        if max is not None:
            inside &= a.array <= max
        return (grad_output * inside,)

    return Tensor._make(
        out.astype(data.dtype, copy=False), (a,), backward, "ClampBackward", saved(a)
    )


def _clamp_to_tensors(a: Tensor, min: Any, max: Any) -> Tensor:
    """clamp with tensor bounds, which broadcast: minimum(maximum(a, min), max).

    The gradient goes where the output came from, with PyTorch's rule where
    the bounds cross or tie: to a where min <= a <= max; to min where a < min
    < max; to max where a > max or max < min (the output is then max).
    """
    low = None if min is None else lift(min, a)
    high = None if max is None else lift(max, a)
    x = a.array
    out = x
    for bound, pick, name in ((low, np.maximum, "min"), (high, np.minimum, "max")):
        if bound is not None:
            y = bound.array.astype(x.dtype)
            out = _checked(pick, out, y, a, bound, f"clamp ({name})")
    inside = np.ones(x.shape, bool)
    from_low = from_high = np.zeros(x.shape, bool)
    if low is not None:
        inside = inside & (x >= low.array)
        from_low = x < low.array
    if high is not None:
        inside = inside & (x <= high.array)
        from_high = x > high.array
    if low is not None and high is not None:
        from_low = from_low & (low.array < high.array)
        from_high = from_high | (high.array < low.array)

    def backward(grad_output):
        return tuple(
            unbroadcast(np.where(picked, grad_output, 0), tensor.shape)
            for picked, tensor in ((inside, a), (from_low, low), (from_high, high))
            if tensor is not None
        )

    parents = tuple(t for t in (a, low, high) if t is not None)
    return Tensor._make(out, parents, backward, "ClampBackward", saved(*parents))


def maximum(a: Tensor, b: Any) -> Tensor:
    """Elementwise maximum; where a == b the gradient is split in half, as PyTorch."""
    return _extremum(a, lift(b, a), np.maximum, np.greater, "MaximumBackward")


def minimum(a: Tensor, b: Any) -> Tensor:
    """Elementwise minimum; where a == b the gradient is split in half, as PyTorch."""
    return _extremum(a, lift(b, a), np.minimum, np.less, "MinimumBackward")


def _extremum(a: Tensor, b: Tensor, pick, wins, op: str) -> Tensor:
    x, y = promote(a, b)

    def backward(grad_output):
        share_a = np.where(x == y, 0.5, wins(x, y)).astype(grad_output.dtype)
        return (
            unbroadcast(grad_output * share_a, a.shape) if a._requires_grad else None,
            unbroadcast(grad_output * (1 - share_a), b.shape)
            if b._requires_grad
            else None,
        )

    out = _checked(pick, x, y, a, b, pick.__name__)
    return Tensor._make(out, (a, b), backward, op, saved(a, b))


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where condition holds, else ``other``; each gets the gradient of
    its picks."""
    a, b = input, other
    mask = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    mask = mask.astype(bool, copy=False)
    if not isinstance(a, Tensor):
        a = lift(a, b) if isinstance(b, Tensor) else Tensor(a)
    b = lift(b, a)
    x, y = promote(a, b)

    def backward(grad_output):
        return (
            unbroadcast(np.where(mask, grad_output, 0), a.shape)
            if a._requires_grad
            else None,
            unbroadcast(np.where(mask, 0, grad_output), b.shape)
            if b._requires_grad
            else None,
        )

    # the condition picks the gradients; it may share its array with a tensor
    condition_saved = saved(condition) if isinstance(condition, Tensor) else ()
    return Tensor._make(
        np.where(mask, x, y), (a, b), backward, "WhereBackward", condition_saved
    )


def cast(a: Tensor, dtype: Any) -> Tensor:
    """Convert to another dtype; differentiable between floating point dtypes."""
    dtype = np.dtype(dtype)
    if a.array.dtype == dtype:
        return a
    out = a.array.astype(dtype)
    if dtype.kind not in "fc":
        return Tensor(out)  # integer and bool tensors never carry gradients

    def backward(grad_output):  # the identity, back in the input's dtype
        return (grad_output.astype(a.array.dtype),)

    return Tensor._make(out, (a,), backward, "ToCopyBackward")


def clone(a: Tensor) -> Tensor:  # the identity: the gradient passes unchanged
    return Tensor._make(a.array.copy(), (a,), _identity_backward, "CloneBackward")
