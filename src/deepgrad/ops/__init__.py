"""Differentiable ops. Importing this package gives Tensor its operators and methods,
the in-place ones (``add_``, ``-=``, ``t[i] = v``, ...) included."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.ops.activations import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from deepgrad.ops.arithmetic import (
    abs,
    add,
    cast,
    clamp,
    clone,
    div,
    exp,
    linear,
    log,
    matmul,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    rdiv,
    rpow,
    rsub,
    sqrt,
    sub,
    where,
)
from deepgrad.ops.conversions import METHODS as CONVERSION_METHODS
from deepgrad.ops.inplace import METHODS as INPLACE_METHODS
from deepgrad.ops.reductions import MaxResult, argmax, argmin, max, mean, min, sum, var
from deepgrad.ops.shape import (
    T,
    cat,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from deepgrad.tensor import Tensor

__all__ = [
    "MaxResult",
    "abs",
    "add",
    "argmax",
    "argmin",
    "cast",
    "cat",
    "clamp",
    "clone",
    "div",
    "exp",
    "expand",
    "flatten",
    "gelu",
    "getitem",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]


def _compare(ufunc: np.ufunc):
    def compare(self: Tensor, other: Any) -> Tensor:
        value = other.array if isinstance(other, Tensor) else other
        return Tensor(ufunc(self.array, value))  # comparisons are outside the graph

    return compare


_METHODS = {
    "__add__": add,
    "__radd__": add,
    "__sub__": sub,
    "__rsub__": rsub,
    "__mul__": mul,
    "__rmul__": mul,
    "__truediv__": div,
    "__rtruediv__": rdiv,
    "__pow__": pow,
    "__rpow__": rpow,
    "__neg__": neg,
    "__matmul__": matmul,
    "__rmatmul__": lambda self, other: matmul(Tensor(other), self),
    "__getitem__": getitem,
    "__abs__": abs,
    "__gt__": _compare(np.greater),
    "__ge__": _compare(np.greater_equal),
    "__lt__": _compare(np.less),
    "__le__": _compare(np.less_equal),
    "__eq__": _compare(np.equal),
    "__ne__": _compare(np.not_equal),
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "pow": pow,
    "neg": neg,
    "matmul": matmul,
    "mm": matmul,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "clamp": clamp,
    "clip": clamp,
    "sum": sum,
    "mean": mean,
    "var": var,
    "max": max,
    "min": min,
    "argmax": argmax,
    "argmin": argmin,
    "maximum": maximum,
    "minimum": minimum,
    "reshape": reshape,
    "view": reshape,
    "flatten": flatten,
    "transpose": transpose,
    "permute": permute,
    "unsqueeze": unsqueeze,
    "squeeze": squeeze,
    "expand": expand,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "any": lambda self: Tensor(np.asarray(self.array.any())),
    "all": lambda self: Tensor(np.asarray(self.array.all())),
}
for _name, _fn in (_METHODS | INPLACE_METHODS | CONVERSION_METHODS).items():
    setattr(Tensor, _name, _fn)
Tensor.T = property(T)  # type: ignore[attr-defined]
Tensor.mT = property(lambda self: transpose(self, -2, -1))  # type: ignore[attr-defined]
