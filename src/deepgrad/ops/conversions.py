"""``Tensor.to(...)`` and ``Tensor.type(...)``: PyTorch's conversions, on the CPU.

Both are the differentiable ``cast`` (``ops.arithmetic``) when the dtype
changes, and the tensor itself when nothing changes, as in PyTorch; ``copy=True``
always gives a new tensor (``clone``, whose gradient is the identity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.ops.arithmetic import cast, clone
from deepgrad.tensor import TENSOR_TYPES, Tensor, TensorType, _as_dtype, parse_to


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """This tensor with another dtype (or on the CPU, where it is).

    ``to(dtype)``, ``to("cpu")``, ``to(device, dtype)``, ``to(other)`` (its
    dtype), each with ``non_blocking=`` (ignored) and ``copy=``. Returns the
    tensor itself when neither the dtype changes nor ``copy=True``.
    """
    dtype, copy = parse_to(args, kwargs, "Tensor.to")
    if dtype is None or dtype == self.array.dtype:
        return clone(self) if copy else self
    return cast(self, dtype)


def type_(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """Without an argument, the type's name (``'torch.FloatTensor'``, as PyTorch
    writes it); with one (``dg.DoubleTensor``, ``dg.float64`` or the name), the
    tensor cast to it."""
    if dtype is None:
        kind = TENSOR_TYPES.get(self.array.dtype)
        if kind is None:
            raise TypeError(f"type(): no tensor type has dtype {self.array.dtype}")
        return f"torch.{kind.__name__}"
    if isinstance(dtype, str):
        dtype = _type_named(dtype)
    elif not isinstance(dtype, TensorType):
        dtype = _as_dtype(dtype)
    return to(self, dtype)


def _type_named(name: str) -> TensorType:
    short = name.rpartition(".")[2]
    for kind in TENSOR_TYPES.values():
        if kind.__name__ == short:
            return kind
    raise ValueError(
        f"type(): invalid type '{name}'; expected a name such as "
        "'torch.FloatTensor' or 'torch.LongTensor'"
    )


def _caster(dtype: type[np.generic]):
    def convert(self: Tensor) -> Tensor:
        return cast(self, dtype)

    convert.__doc__ = f"This tensor as {np.dtype(dtype)} (itself if it is already)."
    return convert


METHODS = {
    "to": to,
    "type": type_,
    "float": _caster(np.float32),
    "double": _caster(np.float64),
    "half": _caster(np.float16),
    "long": _caster(np.int64),
    "int": _caster(np.int32),
    "short": _caster(np.int16),
    "char": _caster(np.int8),
    "byte": _caster(np.uint8),
    "bool": _caster(np.bool_),
}
