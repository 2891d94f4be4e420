"""Helpers shared by every op: operand conversion, dtype promotion, unbroadcast."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from deepgrad.tensor import Tensor, _to_array, get_default_dtype

_SCALAR_TYPES = (int, float, bool, np.number, np.bool_)

# Tensor._make's `saved` for an op whose backward reads its own output (sigmoid'
# = s(1 - s)): None stands for the output, whose version starts at 0
OUTPUT_SAVED: tuple[tuple[None, int]] = ((None, 0),)


def saved(*tensors: Tensor | None) -> tuple[tuple[Tensor, int], ...]:
    """Tensor._make's ``saved``: each tensor given (None: not read), with its version."""
    return tuple((tensor, tensor._version) for tensor in tensors if tensor is not None)


def saved_for_product(a: Tensor, b: Tensor) -> tuple[tuple[Tensor, int], ...]:
    """What the backward of a product (a * b, a @ b) reads: b's values for a's
    gradient, a's for b's, as PyTorch saves them."""
    if not a._requires_grad:
        return ((a, a._version),)
    if not b._requires_grad:
        return ((b, b._version),)
    return ((b, b._version), (a, a._version))


def lift(value: Any, like: Tensor) -> Tensor:
    """Turn a Python/NumPy scalar or array into a Tensor next to ``like``.

    Scalars are "weak" as in PyTorch: ``0.1 * x`` keeps x's float32; only a
    float scalar with an integer tensor gives the default float dtype.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _SCALAR_TYPES):
        kind = like.array.dtype.kind
        if kind in "fc":
            dtype = like.array.dtype
        elif isinstance(value, float | np.floating):
            dtype = get_default_dtype()
        elif isinstance(value, bool | np.bool_) and kind == "b":
            dtype = np.dtype(bool)
        else:
            dtype = like.array.dtype if kind in "iu" else np.dtype(np.int64)
        return Tensor(np.asarray(value, dtype=dtype))
    if isinstance(value, np.ndarray | list | tuple):
        return Tensor(_to_array(value))
    raise TypeError(
        f"unsupported operand of type {type(value).__name__}; expected a Tensor, "
        "a number or an array"
    )


def promote(a: Tensor, b: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The two operands' arrays in a common dtype, following PyTorch.

    NumPy turns float32 (op) int64 into float64; PyTorch keeps float32. We cast
    the integer side to the float side's dtype before computing. Within one
    kind, a 0-d tensor takes the dtype of a tensor with dimensions, as in
    PyTorch (float32 tensor + 0-d float64 tensor stays float32).
    """
    x, y = a.array, b.array
    if x.dtype != y.dtype:
        fx, fy = x.dtype.kind in "fc", y.dtype.kind in "fc"
        if fx and not fy:
            y = y.astype(x.dtype)
        elif fy and not fx:
            x = x.astype(y.dtype)
        elif x.ndim == 0 and y.ndim > 0:
            x = x.astype(y.dtype)
        elif y.ndim == 0 and x.ndim > 0:
            y = y.astype(x.dtype)
    return x, y


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back down to the shape of the input that was broadcast.

    Broadcasting copies an input along new leading axes and along axes of size
    1; each copy received gradient, so the input's gradient is their sum.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    # the axes as the second argument: the keyword costs ~0.02 us a call
    if extra == 1:  # the usual case, a bias added to a batch: sum over rows
        grad = np.add.reduce(grad, 0)
    elif extra > 1:
        grad = np.add.reduce(grad, tuple(range(extra)))
    if grad.shape != shape:
        axes = tuple(
            i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1
        )
        grad = np.add.reduce(grad, axis=axes, keepdims=True)
    return grad


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` as a tuple of non-negative axes (None means all axes)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{op}: dimension {d} is out of range for a tensor with {ndim} "
                f"dimension(s) (expected to be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(int(d) % max(ndim, 1))
    return tuple(out)


def require_float(x: Tensor, op: str) -> None:
    if x.array.dtype.kind not in "fc":
        raise TypeError(
            f"{op}: expected a floating point tensor, received dtype {x.array.dtype}. "
            "Convert it with .float() or .double()."
        )


def torch_keywords(function: Callable[..., Any]) -> Callable[..., Any]:
    """Accept PyTorch's keyword names for ``function``'s arguments.

    ``input=`` names the first argument and ``other=`` the second where the
    function has no argument of that name, and ``axis=`` is an alias of ``dim=``, as in
    ``torch.sum(x, axis=0)``. Operators are bound to the undecorated function,
    so ``a + b`` pays nothing for this.
    """
    names = list(inspect.signature(function).parameters)
    renames = {}
    if names and "input" not in names:
        renames["input"] = names[0]
    if len(names) > 1 and "other" not in names:
        renames["other"] = names[1]
    if "dim" in names and "axis" not in names:
        renames["axis"] = "dim"
    if "keepdim" in names and "keepdims" not in names:
        renames["keepdims"] = "keepdim"  # NumPy's spelling, which torch accepts too
    takes_out = "out" not in names

    @functools.wraps(function)
    def with_torch_keywords(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:  # the usual call: it costs one test
            return function(*args)
        for alias, name in renames.items():
            if alias in kwargs:
                if name in kwargs or names.index(name) < len(args):
                    raise TypeError(
                        f"{function.__name__}() got {alias}= and {name}= for "
                        "the same argument; give only one of them"
                    )
                kwargs[name] = kwargs.pop(alias)
        out = kwargs.pop("out", None) if takes_out else None
        result = function(*args, **kwargs)
        return result if out is None else write_out(result, out, function.__name__)

    return with_torch_keywords


def write_out(result: Any, out: Any, op: str) -> Tensor:
    """PyTorch's ``out=``: the result written into ``out`` (resized to the
    result's shape when it differs, as torch does), outside the graph."""
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        raise TypeError(f"{op}(out=...): out must be a Tensor, received {type(out)}")
    if result.requires_grad and out.requires_grad:
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad"
        )
    if out.array.shape == result.array.shape:
        np.copyto(out.array, result.array, casting="same_kind")
    else:
        out.array = result.array.astype(out.array.dtype, copy=True)
    out._version += 1
    return out


def float_data(x: Tensor) -> np.ndarray:
    """x's array, integers and bools turned into the default float dtype, as
    PyTorch's floating point ops (``torch.sin(int_tensor)`` is float32) do."""
    data = x.array
    return data if data.dtype.kind in "fc" else data.astype(get_default_dtype())


def check_broadcast(a: Tensor, b: Tensor, op: str) -> tuple[int, ...]:
    """The shape a and b broadcast to; an error naming the op where they don't."""
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{op}: cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)} "
            "together. Shapes "
            "are compared from the last dimension; each pair must be equal or 1."
        ) from None
